//! Property tests of the CloudFront line parser and percent-decoding: no input panics, decoding
//! is total and inverts encoding, and every kept line is a valid record.

use std::sync::Arc;

use cflog_parse::decode::{decode_free_text, decode_once};
use cflog_parse::parse::{Config, LineParser, Outcome, Plan};
use cflog_parse::schema::{known_fields, Columns, STANDARD_FIELDS};
use clap::Parser;
use proptest::prelude::*;

fn config(extra: &[&str]) -> Arc<Config> {
    let mut argv = vec!["cflog-parse"];
    argv.extend_from_slice(extra);
    let args = cflog_parse::Args::try_parse_from(argv).unwrap();
    Arc::new(cflog_parse::build_config(&args).unwrap())
}

/// The configurations a run can have that change what a line's bytes go through.
fn configs() -> Vec<Arc<Config>> {
    let all = known_fields().join(",");
    vec![
        config(&[]),
        config(&["--fields", &all]),
        config(&["--fields", &all, "-o", "tsv"]),
        config(&["--fields", &all, "--raw"]),
        config(&["--status", "2xx", "--since", "2020-01-01", "--drop-static"]),
    ]
}

/// One field value: CloudFront-like text with escapes (good and bad), `-`, or any bytes.
fn field() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"-".to_vec()),
        "[a-zA-Z0-9/._+=&%-]{0,12}".prop_map(String::into_bytes),
        "(%25[0-9a-fA-F]{2}|%[0-9a-fA-F]{0,2}|[a-z])*".prop_map(String::into_bytes),
        "20[0-9]{2}-[01][0-9]-[0-3][0-9]".prop_map(String::into_bytes),
        "[0-2][0-9]:[0-5][0-9]:[0-6][0-9]".prop_map(String::into_bytes),
        "[0-9]{1,11}(\\.[0-9]{1,3})?".prop_map(String::into_bytes),
        prop::collection::vec(
            any::<u8>().prop_filter("no TAB or LF", |&b| b != b'\t' && b != b'\n'),
            0..12
        ),
    ]
}

/// A header: the standard layout, a random sample of its names in random order, or an RTMP
/// layout; sometimes with TABs between names.
fn header() -> impl Strategy<Value = Vec<u8>> {
    let names: Vec<String> = STANDARD_FIELDS
        .trim_start_matches("#Fields:")
        .split_ascii_whitespace()
        .map(str::to_string)
        .collect();
    prop_oneof![
        Just(STANDARD_FIELDS.as_bytes().to_vec()),
        (prop::sample::subsequence(names, 0..34), any::<bool>()).prop_flat_map(|(sub, tabs)| {
            Just(sub).prop_shuffle().prop_map(move |sub| {
                let sep = if tabs { "\t" } else { " " };
                format!("#Fields: {} ", sub.join(sep)).into_bytes()
            })
        }),
        Just(b"#Fields: date time x-edge-location c-ip x-event sc-bytes x-cf-status x-cf-client-id cs-uri-stem cs-uri-query c-referrer x-page-url c-user-agent x-sname x-sname-query x-file-ext x-sid".to_vec()),
        prop::collection::vec(any::<u8>(), 0..40),
    ]
}

/// Parses `line`, checks the outcome's invariants; returns the outcome.
fn check_line(parser: &mut LineParser, plan: &Plan, line: &[u8]) -> Result<Outcome, TestCaseError> {
    let mut out = Vec::new();
    let outcome = parser.parse(plan, line, &mut out);
    match outcome {
        Outcome::Kept => {
            prop_assert_eq!(out.last(), Some(&b'\n'), "a kept line is one output line");
            let body = &out[..out.len() - 1];
            prop_assert!(!body.contains(&b'\n'));
            let config = parser.config();
            match config.format {
                onebox::record::Format::Ndjson => {
                    let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
                        TestCaseError::fail(format!(
                            "invalid JSON {e}: {}",
                            String::from_utf8_lossy(body)
                        ))
                    })?;
                    prop_assert_eq!(v.as_object().map(|o| o.len()), Some(config.names.len()));
                }
                onebox::record::Format::Tsv => {
                    prop_assert_eq!(body.split(|&b| b == b'\t').count(), config.names.len());
                }
            }
        }
        Outcome::Dropped(_) => prop_assert!(out.is_empty()),
        Outcome::Rejected(reason) => {
            prop_assert!(out.is_empty());
            prop_assert!(!reason.is_empty());
        }
    }
    Ok(outcome)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn decoding_is_total_and_inverts_encoding(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut scratch = Vec::new();
        // Anything decodes, and never grows.
        prop_assert!(decode_once(&bytes, &mut scratch).len() <= bytes.len());
        prop_assert!(decode_free_text(&bytes, &mut scratch).len() <= bytes.len());
        // Encoding every byte then decoding once gives the bytes back.
        let encoded: Vec<u8> = bytes.iter().flat_map(|b| format!("%{b:02X}").into_bytes()).collect();
        prop_assert_eq!(decode_once(&encoded, &mut scratch), &bytes[..]);
        // Without a `%` the value is returned as it is.
        let plain: Vec<u8> = bytes.iter().copied().filter(|&b| b != b'%').collect();
        prop_assert_eq!(decode_once(&plain, &mut scratch), &plain[..]);
    }

    #[test]
    fn lines_of_the_right_width_parse_to_valid_records(
        mut fields in prop::collection::vec(field(), 33),
        trailing_tab in any::<bool>(),
        crlf in any::<bool>(),
        valid_time in prop::bool::weighted(0.8),
    ) {
        // Mostly a valid date, time and status, so most lines are kept and their output checked.
        if valid_time {
            fields[0] = b"2024-05-01".to_vec();
            fields[1] = b"12:34:56".to_vec();
            fields[8] = b"200".to_vec();
        }
        let mut line = fields.join(&b'\t');
        if trailing_tab {
            line.push(b'\t');
        }
        if crlf {
            line.push(b'\r');
        }
        let columns = Columns::standard();
        let mut outcomes = Vec::new();
        for config in configs() {
            let plan = Plan::new(columns.clone(), &config);
            let mut parser = LineParser::new(config);
            outcomes.push(check_line(&mut parser, &plan, &line)?);
        }
        if valid_time {
            // The unfiltered runs keep the line unless a number field holds no number.
            for outcome in &outcomes[..4] {
                prop_assert!(
                    matches!(outcome, Outcome::Kept | Outcome::Rejected("bad_number")),
                    "{:?}", outcome
                );
            }
        }
    }

    #[test]
    fn any_header_and_any_line_never_panic(
        header in header(),
        fields in prop::collection::vec(field(), 0..40),
        noise in prop::collection::vec(any::<u8>(), 0..80),
    ) {
        let columns = Columns::parse(&header);
        let line = fields.join(&b'\t');
        for config in configs() {
            let plan = Plan::new(columns.clone(), &config);
            let mut parser = LineParser::new(config);
            check_line(&mut parser, &plan, &line)?;
            check_line(&mut parser, &plan, &noise)?;
        }
    }
}
