//! `cargo run -p xtask -- man`: writes man/<tool>.1 for every tool from its clap definition,
//! so help text and man pages never disagree. A test fails when the checked-in pages are stale.

use std::path::{Path, PathBuf};

/// Every installed tool and its clap command.
fn tools() -> Vec<clap::Command> {
    vec![
        cflog_parse::command(),
        csv_chunk::command(),
        geoip_enrich::command(),
        kv_join::command(),
        pivot_count::command(),
        s3ls_logs::command(),
    ]
}

/// Renders one man page.
fn render(cmd: clap::Command) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd).render(&mut out)?;
    Ok(out)
}

fn man_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../man")
}

fn main() -> anyhow::Result<()> {
    let task = std::env::args().nth(1).unwrap_or_default();
    match task.as_str() {
        "man" => {
            std::fs::create_dir_all(man_dir())?;
            for cmd in tools() {
                let path = man_dir().join(format!("{}.1", cmd.get_name()));
                std::fs::write(&path, render(cmd)?)?;
                std::io::Write::write_all(
                    &mut std::io::stderr(),
                    format!("wrote {}\n", path.display()).as_bytes(),
                )?;
            }
            Ok(())
        }
        _ => anyhow::bail!("usage: cargo run -p xtask -- man"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn man_pages_are_fresh() {
        for cmd in tools() {
            let name = cmd.get_name().to_string();
            let path = man_dir().join(format!("{name}.1"));
            let on_disk = std::fs::read(&path).unwrap_or_default();
            assert!(
                on_disk == render(cmd).unwrap(),
                "man/{name}.1 is stale: run `cargo run -p xtask -- man`"
            );
        }
    }
}
