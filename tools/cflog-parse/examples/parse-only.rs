//! Parses an uncompressed log held in memory, several times, and prints the time per pass:
//! the parser's own cost without I/O or decompression (for profiling changes to it).
//!
//!     target/release/examples/parse-only FILE [cflog-parse flags...]

use std::sync::Arc;
use std::time::Instant;

use cflog_parse::parse::{LineParser, Plan};
use cflog_parse::schema::Columns;
use clap::Parser;

fn main() -> anyhow::Result<()> {
    let mut argv: Vec<String> = std::env::args().collect();
    let data = std::fs::read(argv.remove(1))?;
    let args = cflog_parse::Args::parse_from(argv);
    let config = Arc::new(cflog_parse::build_config(&args)?);
    let plan = Plan::new(Columns::standard(), &config);
    let mut parser = LineParser::new(config);
    let mut out = Vec::with_capacity(4 << 20);
    for _ in 0..5 {
        let started = Instant::now();
        let mut kept = 0;
        for (_, line) in onebox::chunk::lines(&data, 1) {
            if line.first() == Some(&b'#') {
                continue;
            }
            if parser.parse(&plan, line, &mut out) == cflog_parse::parse::Outcome::Kept {
                kept += 1;
            }
            if out.len() > 2 << 20 {
                out.clear();
            }
        }
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "{kept} kept, {:.3} s, {:.0} MB/s",
            secs,
            data.len() as f64 / 1e6 / secs
        );
    }
    Ok(())
}
