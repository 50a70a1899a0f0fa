//! Writes the MaxMind DB test fixtures (made-up data) for manual runs and benchmarks:
//! `onebox-mmdb-gen DIR` creates DIR/onebox-City-Test.mmdb and DIR/onebox-ASN-Test.mmdb.

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage =
        "usage: onebox-mmdb-gen DIR   (writes onebox-City-Test.mmdb and onebox-ASN-Test.mmdb)";
    let dir = match args.as_slice() {
        [flag] if flag == "-h" || flag == "--help" => {
            let _ = writeln!(std::io::stdout().lock(), "{usage}");
            return ExitCode::SUCCESS;
        }
        [dir] if !dir.starts_with('-') => dir,
        _ => {
            eprintln!("{usage}");
            return ExitCode::from(2);
        }
    };
    let dir = std::path::Path::new(dir);
    if let Err(e) = std::fs::create_dir_all(dir).and_then(|()| onebox_tests::mmdb::write_all(dir)) {
        eprintln!("onebox-mmdb-gen: {}: {e}", dir.display());
        return ExitCode::from(1);
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", dir.join("onebox-City-Test.mmdb").display());
    let _ = writeln!(out, "{}", dir.join("onebox-ASN-Test.mmdb").display());
    ExitCode::SUCCESS
}
