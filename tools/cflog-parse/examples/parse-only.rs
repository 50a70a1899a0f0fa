//! Parses an uncompressed log held in memory, several times, and prints the time per pass:
//! the parser's own cost without I/O or decompression (for profiling changes to it). `PASSES`
//! sets the number of passes (default 5); a file that fits the L2 cache, parsed many times,
//! shows the cost of the code rather than of memory.
//!
//!     target/release/examples/parse-only FILE [cflog-parse flags...]

use std::sync::Arc;
use std::time::Instant;

use cflog_parse::parse::{LineParser, Outcome, Plan};
use cflog_parse::schema::Columns;
use cflog_parse::split::{split_line, Tabs};
use clap::Parser;

fn main() -> anyhow::Result<()> {
    let mut argv: Vec<String> = std::env::args().collect();
    let data = std::fs::read(argv.remove(1))?;
    let args = cflog_parse::Args::parse_from(argv);
    let config = Arc::new(cflog_parse::build_config(&args)?);
    let plan = Plan::new(Columns::standard(), &config);
    let mut parser = LineParser::new(config);
    let mut out = Vec::with_capacity(4 << 20);
    let mut tabs = Tabs::default();
    let passes = std::env::var("PASSES").ok().and_then(|p| p.parse().ok());
    let out_max: usize = std::env::var("OUTMAX")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(2 << 20);
    // SCAN_ONLY=1: only find each line's end and count its TABs (the scan's own cost).
    let scan_only = std::env::var_os("SCAN_ONLY").is_some_and(|v| v == "1");
    for _ in 0..passes.unwrap_or(5) {
        let started = Instant::now();
        let mut kept = 0;
        // As the pipeline's worker does: each line's end and TABs found in the whole data.
        let mut start = 0;
        while start < data.len() {
            let end = split_line(&data, start, &mut tabs);
            let line = onebox::chunk::trim_cr(&data[start..end]);
            start = end + 1;
            if line.first().is_none_or(|&c| c == b'#') {
                continue;
            }
            if scan_only {
                kept += usize::from(tabs.total() == 32);
                continue;
            }
            if parser.parse_split(&plan, line, &mut tabs, &mut out) == Outcome::Kept {
                kept += 1;
            }
            if out.len() > out_max {
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
