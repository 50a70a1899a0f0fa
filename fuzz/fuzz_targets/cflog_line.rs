//! The CloudFront line parser: the first line of the input is taken as the `#Fields:` header,
//! every later line is parsed under several configurations; a kept line is one valid record,
//! and parsing the lines a second time, from what the parser remembers, gives the same bytes.
#![no_main]

use std::sync::{Arc, OnceLock};

use cflog_parse::parse::{Config, LineParser, Outcome, Plan};
use cflog_parse::schema::{known_fields, Columns};
use clap::Parser;
use libfuzzer_sys::fuzz_target;

fn configs() -> &'static [Arc<Config>] {
    static CONFIGS: OnceLock<Vec<Arc<Config>>> = OnceLock::new();
    CONFIGS.get_or_init(|| {
        let all = known_fields().join(",");
        let runs: [&[&str]; 4] = [
            &["--fields", &all],
            &["--fields", &all, "-o", "tsv", "--raw"],
            &["--status", "2xx", "--since", "2020-01-01", "--drop-static"],
            // The path rules, and so the path memo.
            &[
                "--event",
                "view=^/m",
                "--extract",
                "^/(?P<top>[a-z]*)/?(?P<id>[0-9a-f-]*)",
                "--events-only",
                "--fields",
                "timestamp,top,id,event,cs_uri_stem",
            ],
        ];
        runs.iter()
            .map(|extra| {
                let argv = std::iter::once("cflog-parse").chain(extra.iter().copied());
                let args = cflog_parse::Args::try_parse_from(argv).unwrap();
                Arc::new(cflog_parse::build_config(&args).unwrap())
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let mut it = data.split(|&b| b == b'\n');
    let header = it.next().unwrap_or_default();
    let columns = if header.starts_with(b"#Fields:") {
        Columns::parse(header)
    } else {
        Columns::standard()
    };
    let lines: Vec<&[u8]> = it.collect();
    for config in configs() {
        let plan = Plan::new(columns.clone(), config);
        let mut parser = LineParser::new(config.clone());
        let mut first_pass = Vec::new();
        for line in lines.iter().copied().chain(std::iter::once(header)) {
            let mut out = Vec::new();
            let outcome = parser.parse(&plan, line, &mut out);
            if outcome == Outcome::Kept {
                let body = out.strip_suffix(b"\n").expect("a record ends its line");
                assert!(!body.contains(&b'\n'));
                if config.format == onebox::record::Format::Ndjson {
                    let v: serde_json::Value = serde_json::from_slice(body).expect("valid JSON");
                    assert_eq!(v.as_object().map(|o| o.len()), Some(config.names.len()));
                }
            }
            first_pass.push((outcome, out));
        }
        // Again with what the parser remembers (paths, encoded values, the last timestamp):
        // the same outcomes and bytes.
        let again = lines.iter().copied().chain(std::iter::once(header));
        for (line, (outcome, out)) in again.zip(&first_pass) {
            let mut out2 = Vec::new();
            assert_eq!(parser.parse(&plan, line, &mut out2), *outcome);
            assert_eq!(&out2, out);
        }
    }
    let mut scratch = Vec::new();
    assert!(cflog_parse::decode::decode_free_text(data, &mut scratch).len() <= data.len());
});
