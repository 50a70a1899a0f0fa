//! Line-parser tests on hand-written lines (the layouts, encodings and quirks of FIELDS.md).

use std::sync::Arc;

use serde_json::{json, Value};

use super::*;
use crate::filter::{StaticExt, StatusSet};
use crate::schema::{default_fields, STANDARD_FIELDS};

/// The 24- and 26-field headers (AWS docs 2017-12 and 2018-06).
const FIELDS_24: &str = "#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) \
cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type \
x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol \
ssl-cipher x-edge-response-result-type cs-protocol-version";

fn config_with(names: &[&str], f: impl FnOnce(&mut Config)) -> Arc<Config> {
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let columns = names
        .iter()
        .map(|n| match n.as_str() {
            "timestamp" => Column::Timestamp,
            n => Column::Field {
                name: n.to_string(),
                kind: kind_of(n),
            },
        })
        .collect();
    let mut config = Config {
        names,
        columns,
        format: Format::Ndjson,
        raw: false,
        filters: Filters::default(),
        extracts: Vec::new(),
        events: Events::default(),
        events_only: false,
    };
    f(&mut config);
    Arc::new(config)
}

fn all_fields() -> Arc<Config> {
    let names = default_fields();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    config_with(&names, |_| {})
}

/// Parses `line` under `header` (None: the 33-field layout); the record as JSON, or the outcome.
fn parse_with(config: &Arc<Config>, header: Option<&str>, line: &[u8]) -> Result<Value, Outcome> {
    let columns = Columns::parse(header.unwrap_or(STANDARD_FIELDS).as_bytes());
    let plan = Plan::new(columns, config);
    let mut parser = LineParser::new(config.clone());
    let mut out = Vec::new();
    match parser.parse(&plan, line, &mut out) {
        Outcome::Kept => {
            assert_eq!(out.last(), Some(&b'\n'));
            Ok(serde_json::from_slice(&out).expect("valid JSON"))
        }
        other => {
            assert!(out.is_empty(), "nothing written for {other:?}");
            Err(other)
        }
    }
}

fn parse(line: &[u8]) -> Result<Value, Outcome> {
    parse_with(&all_fields(), None, line)
}

/// A 33-field line from the documented example, with some fields replaced.
fn line33(changes: &[(usize, &str)]) -> Vec<u8> {
    let mut f: Vec<&str> = vec![
        "2019-12-04",
        "21:02:31",
        "LAX1",
        "392",
        "192.0.2.100",
        "GET",
        "d111111abcdef8.cloudfront.net",
        "/index.html",
        "200",
        "-",
        "Mozilla/5.0%20(Windows%20NT%2010.0)",
        "-",
        "-",
        "Hit",
        "SOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==",
        "d111111abcdef8.cloudfront.net",
        "https",
        "23",
        "0.001",
        "-",
        "TLSv1.2",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "Hit",
        "HTTP/2.0",
        "-",
        "-",
        "11040",
        "0.001",
        "Hit",
        "text/html",
        "78",
        "-",
        "-",
    ];
    assert_eq!(f.len(), 33);
    for &(i, v) in changes {
        f[i] = v;
    }
    f.join("\t").into_bytes()
}

#[test]
fn every_field_of_the_33_field_layout() {
    let line = line33(&[
        (9, "https://www.example.com/a%20b"),
        (11, "q=1&r=%E2%82%AC"),
        (12, "session=abc%3B"),
        (19, "198.51.100.7"),
        (24, "Processed"),
        (25, "2"),
        (30, "78"),
        (31, "0"),
        (32, "77"),
    ]);
    let got = parse(&line).unwrap();
    let want = json!({
        "timestamp": "2019-12-04T21:02:31Z",
        "date": "2019-12-04",
        "time": "21:02:31",
        "x_edge_location": "LAX1",
        "sc_bytes": 392,
        "c_ip": "192.0.2.100",
        "cs_method": "GET",
        "cs_host": "d111111abcdef8.cloudfront.net",
        "cs_uri_stem": "/index.html",
        "sc_status": 200,
        "cs_referer": "https://www.example.com/a b",
        "cs_user_agent": "Mozilla/5.0 (Windows NT 10.0)",
        "cs_uri_query": "q=1&r=€",
        "cs_cookie": "session=abc;",
        "x_edge_result_type": "Hit",
        "x_edge_request_id": "SOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==",
        "x_host_header": "d111111abcdef8.cloudfront.net",
        "cs_protocol": "https",
        "cs_bytes": 23,
        "time_taken": 0.001,
        "x_forwarded_for": "198.51.100.7",
        "ssl_protocol": "TLSv1.2",
        "ssl_cipher": "ECDHE-RSA-AES128-GCM-SHA256",
        "x_edge_response_result_type": "Hit",
        "cs_protocol_version": "HTTP/2.0",
        "fle_status": "Processed",
        "fle_encrypted_fields": 2,
        "c_port": 11040,
        "time_to_first_byte": 0.001,
        "x_edge_detailed_result_type": "Hit",
        "sc_content_type": "text/html",
        "sc_content_len": 78,
        "sc_range_start": 0,
        "sc_range_end": 77,
    });
    assert_eq!(got, want);
    // Field order follows the selection.
    let keys: Vec<&String> = got.as_object().unwrap().keys().collect();
    assert_eq!(keys, default_fields().iter().collect::<Vec<_>>());
}

#[test]
fn floats_are_written_as_logged() {
    let config = config_with(&["time_taken"], |_| {});
    let mut parser = LineParser::new(config.clone());
    let plan = Plan::new(Columns::standard(), &config);
    let mut out = Vec::new();
    parser.parse(&plan, &line33(&[(18, "0.000")]), &mut out);
    assert_eq!(out, b"{\"time_taken\":0.000}\n");
}

#[test]
fn numbers_and_text_are_written_exactly_short_long_and_at_the_line_end() {
    // Numbers are copied as logged unless they have leading zeros; text is copied as it is
    // scanned unless it needs decoding. Fields at the end of the line have fewer than 16
    // bytes after their start, which the short-copy paths must not read past.
    let names = [
        "sc_status",
        "sc_bytes",
        "cs_uri_stem",
        "c_ip",
        "sc_range_end",
    ];
    for format in [Format::Ndjson, Format::Tsv] {
        let config = config_with(&names, |c| c.format = format);
        let mut parser = LineParser::new(config.clone());
        let plan = Plan::new(Columns::standard(), &config);
        let cases = [
            (
                ["200", "12345678901234567890", "/a", "1.2.3.4", "7"],
                ["200", "12345678901234567890", "/a", "1.2.3.4", "7"],
            ),
            (
                ["0200", "007", "/%41b%20c", "2001:db8::1", "0"],
                ["200", "7", "/Ab c", "2001:db8::1", "0"],
            ),
            (
                ["000", "0", "/x\\y", "-", "00000000000000000042"],
                ["0", "0", "/x\\y", "", "42"],
            ),
        ];
        for (logged, want) in cases {
            let line = line33(&[
                (8, logged[0]),
                (3, logged[1]),
                (7, logged[2]),
                (4, logged[3]),
                (32, logged[4]),
            ]);
            let mut out = Vec::new();
            assert_eq!(parser.parse(&plan, &line, &mut out), Outcome::Kept);
            let expected = match format {
                Format::Ndjson => {
                    let text = |v: &str| match v {
                        "" => "null".to_string(),
                        v => serde_json::to_string(v).unwrap(),
                    };
                    format!(
                        "{{\"sc_status\":{},\"sc_bytes\":{},\"cs_uri_stem\":{},\"c_ip\":{},\"sc_range_end\":{}}}\n",
                        want[0], want[1], text(want[2]), text(want[3]), want[4]
                    )
                }
                Format::Tsv => format!("{}\n", want.join("\t").replace("x\\y", "x\\\\y")),
            };
            assert_eq!(
                String::from_utf8_lossy(&out),
                expected,
                "{format:?} {logged:?}"
            );
        }
    }
}

#[test]
fn older_layouts_map_by_their_header() {
    let f24: Vec<&str> = vec![
        "2014-05-23",
        "01:13:11",
        "FRA2",
        "182",
        "192.0.2.10",
        "GET",
        "d111111abcdef8.cloudfront.net",
        "/view/my/file.html",
        "200",
        "www.displaymyfiles.com",
        "Mozilla/5.0%2520(iPhone;%2520CPU%2520iPhone%2520OS%252010_2_1)",
        "-",
        "zip=98101",
        "RefreshHit",
        "MRVMF7KydIvxMWfJIglgwHQwZsbG2IhRJ07sn9AkKUFSHS9EXAMPLE==",
        "d111111abcdef8.cloudfront.net",
        "http",
        "-",
        "0.001",
        "-",
        "-",
        "-",
        "RefreshHit",
        "HTTP/1.1",
    ];
    let line = f24.join("\t");
    let got = parse_with(&all_fields(), Some(FIELDS_24), line.as_bytes()).unwrap();
    assert_eq!(got["cs_protocol_version"], "HTTP/1.1");
    assert_eq!(
        got["cs_user_agent"],
        "Mozilla/5.0 (iPhone; CPU iPhone OS 10_2_1)"
    );
    assert_eq!(
        got["cs_bytes"],
        Value::Null,
        "`-` in a numeric field is null"
    );
    assert_eq!(got["cs_cookie"], "zip=98101");
    // Fields the layout does not have are null.
    assert_eq!(got["c_port"], Value::Null);
    assert_eq!(got["fle_status"], Value::Null);
    assert_eq!(got["sc_range_end"], Value::Null);

    let header26 = format!("{FIELDS_24} fle-status fle-encrypted-fields ");
    let line26 = format!("{line}\tProcessed\t1");
    let got = parse_with(&all_fields(), Some(&header26), line26.as_bytes()).unwrap();
    assert_eq!(
        (&got["fle_status"], &got["fle_encrypted_fields"]),
        (&json!("Processed"), &json!(1))
    );
    // A 33-field line under a 24-field header is not mis-assigned.
    let wrong = parse_with(&all_fields(), Some(FIELDS_24), &line33(&[]));
    assert_eq!(wrong.unwrap_err(), Outcome::Rejected("field_count"));
}

#[test]
fn reordered_v2_layout_with_epoch_timestamp() {
    let header = "#Fields: timestamp DistributionId cs-uri-stem sc-status c-ip asn timestamp(ms)";
    let config = config_with(
        &[
            "timestamp",
            "distributionid",
            "cs_uri_stem",
            "asn",
            "timestamp_ms",
        ],
        |_| {},
    );
    let got = parse_with(
        &config,
        Some(header),
        b"1738469045\tEHLMG1T8SOX48\t/x\t200\t192.0.2.1\t16509\t1738469045123",
    )
    .unwrap();
    assert_eq!(
        got,
        json!({"timestamp": "2025-02-02T04:04:05Z", "distributionid": "EHLMG1T8SOX48",
               "cs_uri_stem": "/x", "asn": 16509, "timestamp_ms": 1738469045123u64})
    );
}

#[test]
fn ipv6_client_and_forwarded_for_lists() {
    let got = parse(&line33(&[
        (4, "2a02:cf40:add:4002:91f2:a9b2:e09a:6fc6"),
        (19, "203.0.113.5,%202001:db8::1"),
    ]))
    .unwrap();
    assert_eq!(got["c_ip"], "2a02:cf40:add:4002:91f2:a9b2:e09a:6fc6");
    assert_eq!(got["x_forwarded_for"], "203.0.113.5, 2001:db8::1");
    for (logged, want) in [
        ("1.2.3.4, 5.6.7.8:6969", "1.2.3.4, 5.6.7.8:6969"),
        ("unknown", "unknown"),
        (
            r"0123.045.067.089\x20localhost:8080",
            r"0123.045.067.089\x20localhost:8080",
        ),
    ] {
        let got = parse(&line33(&[(19, logged)])).unwrap();
        assert_eq!(got["x_forwarded_for"], want);
    }
}

#[test]
fn dash_means_null() {
    let got = parse(&line33(&[
        (3, "-"),
        (9, "-"),
        (17, "-"),
        (18, "-"),
        (30, "-"),
    ]))
    .unwrap();
    for k in [
        "sc_bytes",
        "cs_referer",
        "cs_bytes",
        "time_taken",
        "sc_content_len",
        "cs_uri_query",
    ] {
        assert_eq!(got[k], Value::Null, "{k}");
    }
    // A dash inside a value is text.
    let got = parse(&line33(&[(7, "/a-b"), (11, "x=-")])).unwrap();
    assert_eq!(
        (&got["cs_uri_stem"], &got["cs_uri_query"]),
        (&json!("/a-b"), &json!("x=-"))
    );
}

#[test]
fn encoded_and_double_encoded_user_agents_and_queries() {
    let got = parse(&line33(&[
        (
            10,
            "Mozilla/5.0%2520(compatible;%2520%2522Bot%2522%255C1;+https://x.example/bot)",
        ),
        (11, "a=b%2520c&q=%22x%22&p=1+2"),
        (7, "/FA%253D/200x150/http%253A/x%20y.html"),
        (29, "text/html;%20charset=utf-8"),
    ]))
    .unwrap();
    assert_eq!(
        got["cs_user_agent"],
        "Mozilla/5.0 (compatible; \"Bot\"\\1;+https://x.example/bot)"
    );
    // Query and path: decoded exactly once (the client sent `%20`, `%3D`, `%3A`).
    assert_eq!(got["cs_uri_query"], "a=b%20c&q=\"x\"&p=1+2");
    assert_eq!(got["cs_uri_stem"], "/FA%3D/200x150/http%3A/x y.html");
    assert_eq!(got["sc_content_type"], "text/html; charset=utf-8");

    let raw = config_with(&["cs_user_agent", "cs_uri_query"], |c| c.raw = true);
    let got = parse_with(&raw, None, &line33(&[(10, "A%2520B"), (11, "a=b%2520c")])).unwrap();
    assert_eq!(
        got,
        json!({"cs_user_agent": "A%2520B", "cs_uri_query": "a=b%2520c"})
    );
}

#[test]
fn websocket_and_http2_rows() {
    let ws = parse(&line33(&[
        (8, "101"),
        (13, "Miss"),
        (16, "wss"),
        (23, "HTTP/1.1"),
        (22, "Miss"),
        (28, "Miss"),
        (29, "-"),
        (30, "-"),
    ]))
    .unwrap();
    assert_eq!(
        (
            &ws["cs_protocol"],
            &ws["sc_status"],
            &ws["x_edge_result_type"],
            &ws["sc_content_type"]
        ),
        (&json!("wss"), &json!(101), &json!("Miss"), &Value::Null)
    );
    let h2 = parse(&line33(&[(23, "HTTP/2.0")])).unwrap();
    assert_eq!(h2["cs_protocol_version"], "HTTP/2.0");
    let h3 = parse(&line33(&[
        (23, "HTTP/3.0"),
        (21, "TLS_AES_128_GCM_SHA256"),
        (20, "TLSv1.3"),
    ]))
    .unwrap();
    assert_eq!(h3["cs_protocol_version"], "HTTP/3.0");
}

#[test]
fn status_000_is_zero() {
    assert_eq!(parse(&line33(&[(8, "000")])).unwrap()["sc_status"], 0);
}

#[test]
fn trailing_cr_and_trailing_tab() {
    let mut line = line33(&[]);
    line.push(b'\r');
    assert_eq!(parse(&line).unwrap()["sc_range_end"], Value::Null);
    let mut line = line33(&[(32, "99")]);
    line.push(b'\t');
    assert_eq!(
        parse(&line).unwrap()["sc_range_end"],
        99,
        "one empty trailing field is dropped"
    );
    line.push(b'\t');
    assert_eq!(parse(&line).unwrap_err(), Outcome::Rejected("field_count"));
    let mut line = line33(&[]);
    line.extend_from_slice(b"\textra");
    assert_eq!(parse(&line).unwrap_err(), Outcome::Rejected("field_count"));
}

#[test]
fn short_and_long_lines() {
    let line = line33(&[]);
    let cut = line.iter().rposition(|&c| c == b'\t').unwrap();
    assert_eq!(
        parse(&line[..cut]).unwrap_err(),
        Outcome::Rejected("field_count")
    );
    assert_eq!(
        parse(b"2019-12-04").unwrap_err(),
        Outcome::Rejected("field_count")
    );
    // Two fields fused (a missing TAB), as in a real 2024 line.
    let fused = line33(&[(8, "200https://angeloceccato.it/graph")]);
    let fused: Vec<u8> = {
        let s = String::from_utf8(fused).unwrap();
        s.replacen(
            "200https://angeloceccato.it/graph\t-",
            "200https://angeloceccato.it/graph",
            1,
        )
        .into_bytes()
    };
    assert_eq!(parse(&fused).unwrap_err(), Outcome::Rejected("field_count"));

    let long_query = format!("q={}", "%41b".repeat(100_000));
    let got = parse(&line33(&[(11, &long_query)])).unwrap();
    assert_eq!(got["cs_uri_query"].as_str().unwrap().len(), 2 + 200_000);
}

#[test]
fn invalid_utf8_stays_valid_json_and_raw_bytes_in_tsv() {
    let mut line = line33(&[(10, "Bot%FF%FE/1"), (11, "x=%C3%28")]);
    // A raw (unencoded) invalid byte in the path.
    let at = line.windows(11).position(|w| w == b"/index.html").unwrap();
    line[at + 1] = 0xff;
    let got = parse(&line).unwrap();
    assert_eq!(got["cs_user_agent"], "Bot\u{fffd}\u{fffd}/1");
    assert_eq!(got["cs_uri_stem"], "/\u{fffd}ndex.html");
    assert_eq!(got["cs_uri_query"], "x=\u{fffd}(");

    let tsv = config_with(&["cs_user_agent", "cs_uri_stem"], |c| {
        c.format = Format::Tsv
    });
    let plan = Plan::new(Columns::standard(), &tsv);
    let mut out = Vec::new();
    assert_eq!(
        LineParser::new(tsv.clone()).parse(&plan, &line, &mut out),
        Outcome::Kept
    );
    assert_eq!(out, b"Bot\xff\xfe/1\t/\xffndex.html\n");
}

#[test]
fn tsv_escapes_decoded_control_bytes() {
    let tsv = config_with(
        &["timestamp", "cs_uri_query", "sc_bytes", "cs_referer"],
        |c| c.format = Format::Tsv,
    );
    let plan = Plan::new(Columns::standard(), &tsv);
    let mut out = Vec::new();
    LineParser::new(tsv.clone()).parse(&plan, &line33(&[(11, "a%09b%0Ac%5C")]), &mut out);
    assert_eq!(out, b"2019-12-04T21:02:31Z\ta\\tb\\nc\\\\\t392\t\n");
}

#[test]
fn bad_numbers_and_times_are_rejected() {
    assert_eq!(
        parse(&line33(&[(3, "12a")])).unwrap_err(),
        Outcome::Rejected("bad_number")
    );
    assert_eq!(
        parse(&line33(&[(18, "0.")])).unwrap_err(),
        Outcome::Rejected("bad_number")
    );
    assert_eq!(
        parse(&line33(&[(8, "2000000000000000000000")])).unwrap_err(),
        Outcome::Rejected("bad_number")
    );
    assert_eq!(
        parse(&line33(&[(1, "21:02")])).unwrap_err(),
        Outcome::Rejected("bad_timestamp")
    );
    // Only fields that are written are checked.
    let some = config_with(&["c_ip"], |_| {});
    assert!(parse_with(&some, None, &line33(&[(3, "12a"), (1, "x")])).is_ok());
}

#[test]
fn rtmp_lines_are_not_web_log() {
    let header = "#Fields: date time x-edge-location c-ip x-event sc-bytes x-cf-status \
                  x-cf-client-id cs-uri-stem cs-uri-query c-referrer x-page-url c-user-agent \
                  x-sname x-sname-query x-file-ext x-sid";
    let line = "2010-03-12\t23:51:20\tSEA4\t192.0.2.147\tconnect\t2014\tOK\tbfd8\trtmp://s.cloudfront.net/cfx/st\tkey=value\thttp://p/player.swf\thttp://p/page\tLNX%2010,0,32,18\t-\t-\t-\t-";
    assert_eq!(
        parse_with(&all_fields(), Some(header), line.as_bytes()).unwrap_err(),
        Outcome::Rejected("not_web_log")
    );
}

#[test]
fn filters_extraction_and_events() {
    let config = config_with(&["cs_uri_stem"], |c| {
        c.filters.static_ext = Some(StaticExt::parse("css,png").unwrap());
        c.filters.status = Some(StatusSet::parse("2xx").unwrap());
        c.filters.since = Some(*b"2019-12-04T00:00:00Z");
        c.extracts = vec![Extract::parse(
            "^/models/(?P<model_id>[^/]+)(?:/(?P<file>.+))?",
            &["cs_uri_stem".to_string()],
        )
        .unwrap()];
        c.events = Events::parse(&["download=/resolve/".into(), "view=^/models/".into()]).unwrap();
        c.events_only = true;
        c.names
            .extend(["model_id".into(), "file".into(), "event".into()]);
        c.columns.extend([
            Column::Group {
                extract: 0,
                group: 1,
            },
            Column::Group {
                extract: 0,
                group: 2,
            },
            Column::Event,
        ]);
    });
    let p = |changes: &[(usize, &str)]| parse_with(&config, None, &line33(changes));
    assert_eq!(
        p(&[(7, "/a/b.CSS")]).unwrap_err(),
        Outcome::Dropped(Drop::Static)
    );
    assert_eq!(
        p(&[(7, "/models/x"), (8, "404")]).unwrap_err(),
        Outcome::Dropped(Drop::Status)
    );
    assert_eq!(
        p(&[(7, "/models/x"), (0, "2019-12-03")]).unwrap_err(),
        Outcome::Dropped(Drop::Time)
    );
    assert_eq!(
        p(&[(7, "/search")]).unwrap_err(),
        Outcome::Dropped(Drop::NoEvent)
    );
    assert_eq!(
        p(&[(7, "/models/m%201/resolve/main/w.bin")]).unwrap(),
        json!({"cs_uri_stem": "/models/m 1/resolve/main/w.bin", "model_id": "m 1",
               "file": "resolve/main/w.bin", "event": "download"})
    );
    assert_eq!(
        p(&[(7, "/models/m2")]).unwrap(),
        json!({"cs_uri_stem": "/models/m2", "model_id": "m2", "file": null, "event": "view"})
    );
}

/// Parses `line` with `seasoned`, a parser that has seen earlier lines (so answers may come
/// from what it remembers), and with a fresh one: both must give the same outcome and bytes.
fn assert_as_fresh(seasoned: &mut LineParser, plan: &Plan, line: &[u8], what: &str) {
    let (mut fresh_out, mut out) = (Vec::new(), Vec::new());
    let fresh = LineParser::new(seasoned.config.clone()).parse(plan, line, &mut fresh_out);
    let got = seasoned.parse(plan, line, &mut out);
    assert_eq!((got, &out), (fresh, &fresh_out), "{what}");
}

#[test]
fn remembered_paths_give_what_a_fresh_parser_gives() {
    let group = |extract, group| Column::Group { extract, group };
    for events_only in [false, true] {
        let config = config_with(&["cs_uri_stem", "cs_uri_query"], |c| {
            let fields = ["cs_uri_stem".to_string(), "cs_uri_query".to_string()];
            c.extracts = vec![
                Extract::parse("^/models/(?P<model_id>[^/]+)", &fields).unwrap(),
                Extract::parse("cs_uri_query:(?P<q>q=[^&]*)", &fields).unwrap(),
                Extract::parse("(?P<tail>[a-z]*)$", &fields).unwrap(),
            ];
            c.events =
                Events::parse(&["download=/resolve/".into(), "view=^/models/".into()]).unwrap();
            c.events_only = events_only;
            c.names
                .extend(["model_id", "q", "tail", "event"].map(String::from));
            c.columns
                .extend([group(0, 1), group(1, 1), group(2, 1), Column::Event]);
        });
        let plan = Plan::new(Columns::parse(STANDARD_FIELDS.as_bytes()), &config);
        // One parser sees every path several times (so answers come from its memo); each
        // line's output must equal that of a parser seeing the line first.
        let mut seasoned = LineParser::new(config.clone());
        let paths = [
            "/models/a/resolve/x",
            "/models/b",
            "/search",
            "-",
            "/models/c%2Fd",
        ];
        let queries = ["q=1", "-", "x=2&q=3"];
        for round in 0..3 {
            for (i, path) in paths.iter().enumerate() {
                let query = queries[(i + round) % queries.len()];
                let line = line33(&[(7, path), (11, query)]);
                let what = format!("{path} {query} round {round}");
                assert_as_fresh(&mut seasoned, &plan, &line, &what);
            }
        }
    }
}

#[test]
fn remembered_text_gives_what_a_fresh_parser_gives() {
    // The same logged bytes in a free-text and a text column decode differently (`%2520`),
    // so the memo is per column; values repeat so that the second round comes from it.
    for format in [Format::Ndjson, Format::Tsv] {
        let config = config_with(&["cs_user_agent", "cs_uri_query", "cs_referer"], |c| {
            c.format = format;
        });
        let plan = Plan::new(Columns::parse(STANDARD_FIELDS.as_bytes()), &config);
        let mut seasoned = LineParser::new(config.clone());
        let values = [
            "Mozilla/5.0%2520(X11;%2520Linux)",
            "a=b%2520c&q=%22x%22",
            "%E2%82%AC%0A%09tab",
            "%FF%FE-not-utf8",
            "plain",
            "-",
        ];
        for round in 0..3 {
            for (i, value) in values.iter().enumerate() {
                let other = values[(i + round) % values.len()];
                let line = line33(&[(10, value), (11, value), (9, other)]);
                let what = format!("{format:?} {value} round {round}");
                assert_as_fresh(&mut seasoned, &plan, &line, &what);
            }
        }
    }
    let got = parse_with(
        &config_with(&["cs_user_agent", "cs_uri_query"], |_| {}),
        None,
        &line33(&[(10, "A%2520B"), (11, "A%2520B")]),
    )
    .unwrap();
    assert_eq!(
        got,
        json!({"cs_user_agent": "A B", "cs_uri_query": "A%20B"})
    );
}

#[test]
fn remembered_timestamps_give_what_a_fresh_parser_gives() {
    let config = config_with(&["timestamp", "sc_status"], |_| {});
    let plan = Plan::new(Columns::parse(STANDARD_FIELDS.as_bytes()), &config);
    let mut seasoned = LineParser::new(config.clone());
    let times = [
        ("2016-12-31", "23:59:59"),
        ("2016-12-31", "23:59:59"),
        ("2016-12-31", "23:59:60"),
        ("2016-12-31", "23:59:60"),
        ("2017-01-01", "23:59:60"),
        ("2017-02-30", "00:00:00"),
        ("2017-02-28", "24:00:00"),
        ("2017-02-28", "24:00:00"),
        ("2017-02-28", "00:00:0"),
        ("2017-02-28", "00:00:00"),
        ("2017-02-28", "00:00:00"),
    ];
    for (date, time) in times {
        let line = line33(&[(0, date), (1, time)]);
        assert_as_fresh(&mut seasoned, &plan, &line, &format!("{date} {time}"));
    }
}

#[test]
fn the_quick_number_test_agrees_with_the_grammar() {
    // Every string of up to 5 bytes over the bytes that matter, and some longer ones.
    let alphabet = b"0123456789.-+eEx";
    let mut strings: Vec<Vec<u8>> = vec![Vec::new()];
    let mut last = vec![Vec::new()];
    for _ in 0..5 {
        last = last
            .iter()
            .flat_map(|s: &Vec<u8>| alphabet.iter().map(move |&c| [&s[..], &[c]].concat()))
            .collect();
        strings.extend(last.iter().cloned());
    }
    for long in [
        "12345678",
        "1234.678",
        "0.123456",
        "123456789",
        "0.1234567",
        "00000000",
    ] {
        strings.push(long.as_bytes().to_vec());
    }
    strings.push(b"1\xb0".to_vec());
    // The quick test never passes what the grammar refuses...
    for s in &strings {
        if short_decimal(s) {
            assert!(is_json_number_slow(s), "{}", String::from_utf8_lossy(s));
        }
    }
    // ...and passes the values logs hold.
    for logged in ["0.870", "0.000", "12.5", "0", "10", "2.001", "12345678"] {
        assert!(short_decimal(logged.as_bytes()), "{logged}");
    }
}
