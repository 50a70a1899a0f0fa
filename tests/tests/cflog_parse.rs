//! End-to-end tests of cflog-parse: the built binary on generated log files, in real pipes.
//!
//! Fixtures are written here from hand-made lines. With ONEBOX_CONFORMANCE_DIR set, the
//! conformance test also parses the real public samples in `$ONEBOX_CONFORMANCE_DIR/cloudfront`.

use std::path::Path;

use onebox_tests::{assert_lines_accounted, gzip, ok_stdout, run_with_input, sh, stats, tool};
use serde_json::{json, Value};

const V: &str = "#Version: 1.0\n";
const FIELDS_33: &str = "#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) \
cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type \
x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol \
ssl-cipher x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port \
time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start \
sc-range-end\n";
const FIELDS_24: &str = "#Fields:\tdate\ttime\tx-edge-location\tsc-bytes\tc-ip\tcs-method\t\
cs(Host)\tcs-uri-stem\tsc-status\tcs(Referer)\tcs(User-Agent)\tcs-uri-query\tcs(Cookie)\t\
x-edge-result-type\tx-edge-request-id\tx-host-header\tcs-protocol\tcs-bytes\ttime-taken\t\
x-forwarded-for\tssl-protocol\tssl-cipher\tx-edge-response-result-type\tcs-protocol-version \n";
const RTMP: &str = "#Fields: date time x-edge-location c-ip x-event sc-bytes x-cf-status \
x-cf-client-id cs-uri-stem cs-uri-query c-referrer x-page-url c-user-agent x-sname \
x-sname-query x-file-ext x-sid\n";

const PATHS: [&str; 8] = [
    "/models/abc-123/resolve/main/model.bin",
    "/assets/app.css",
    "/models/def-456",
    "/img/logo.PNG",
    "/search",
    "/js/app.js",
    "/models/a%20b/tree/main",
    "/favicon.ico",
];
const STATUS: [&str; 5] = ["200", "304", "404", "200", "206"];
const METHODS: [&str; 3] = ["GET", "GET", "POST"];

/// Data line number `i` of a 33-field log: a deterministic mix of paths, statuses, methods.
fn line33(i: usize) -> String {
    let path = PATHS[i % PATHS.len()];
    let status = STATUS[i % STATUS.len()];
    let method = METHODS[i % METHODS.len()];
    let ip = if i.is_multiple_of(4) {
        "2001:db8::1".to_string()
    } else {
        format!("192.0.2.{}", i % 250)
    };
    let ua = if i.is_multiple_of(2) {
        "Mozilla/5.0%20(X11;%20Linux)"
    } else {
        "curl/8.0+x"
    };
    format!(
        "2024-10-11\t22:{:02}:{:02}\tSEA900-P3\t{}\t{ip}\t{method}\td1.cloudfront.net\t{path}\t{status}\t-\t{ua}\tn={i}\t-\tHit\treq{i}==\texample.com\thttps\t200\t0.{:03}\t-\tTLSv1.3\tTLS_AES_128_GCM_SHA256\tHit\tHTTP/2.0\t-\t-\t{}\t0.001\tHit\ttext/html\t{}\t-\t-\n",
        (i / 60) % 60,
        i % 60,
        1000 + i,
        i % 1000,
        40000 + i % 20000,
        500 + i
    )
}

/// A 33-field log file with `n` data lines starting at line number `from`.
fn log33(from: usize, n: usize) -> String {
    let mut s = format!("{V}{FIELDS_33}");
    for i in from..from + n {
        s.push_str(&line33(i));
    }
    s
}

/// A 24-field line (the 2017 layout), double-encoded user agent, `-` in cs-bytes.
fn line24(i: usize) -> String {
    format!(
        "2014-05-23\t01:13:{:02}\tFRA2\t182\t192.0.2.10\tGET\td1.cloudfront.net\t/view/{i}.html\t200\twww.example.com\tMozilla/5.0%2520(iPhone;%2520CPU)\t-\tzip=98101\tRefreshHit\tid{i}==\td1.cloudfront.net\thttp\t-\t0.001\t-\t-\t-\tRefreshHit\tHTTP/1.1\n",
        i % 60
    )
}

fn records(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("valid JSON line"))
        .collect()
}

fn write(dir: &Path, name: &str, data: &[u8]) {
    std::fs::write(dir.join(name), data).unwrap();
}

#[test]
fn gzip_plain_and_multi_member_inputs() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.log.gz", &gzip(log33(0, 10).as_bytes()));
    write(dir.path(), "b.log", log33(10, 5).as_bytes());
    let mut multi = gzip(log33(15, 3).as_bytes());
    multi.extend(gzip(log33(18, 4).as_bytes()));
    write(dir.path(), "c.gz", &multi);
    let out = sh(
        dir.path(),
        "cflog-parse --fields cs_uri_query,c_ip --stats st.json a.log.gz b.log c.gz",
    );
    let recs = records(&ok_stdout(&out));
    let queries: Vec<String> = recs
        .iter()
        .map(|r| r["cs_uri_query"].as_str().unwrap().to_string())
        .collect();
    let want: Vec<String> = (0..22).map(|i| format!("n={i}")).collect();
    assert_eq!(queries, want, "every line of every member, in input order");
    assert_eq!(recs[0]["c_ip"], "2001:db8::1");
    let st = stats(&dir.path().join("st.json"));
    assert_eq!(st["files"], 3);
    assert_eq!(st["records_out"], 22);
    assert_eq!(st["skipped_header"], 4);
    assert_lines_accounted(&st, "records_out");
    // stdin works too, gzip recognised by its magic bytes.
    let out = run_with_input(
        tool("cflog-parse").args(["--fields", "cs_uri_query"]),
        &gzip(log33(0, 2).as_bytes()),
    );
    assert_eq!(
        ok_stdout(&out),
        "{\"cs_uri_query\":\"n=0\"}\n{\"cs_uri_query\":\"n=1\"}\n"
    );
}

#[test]
fn mixed_layouts_in_one_run_and_in_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let old = format!("{V}{FIELDS_24}{}{}", line24(1), line24(2));
    write(dir.path(), "old.log", old.as_bytes());
    // Concatenated logs: a 33-field block, then a 24-field block, in one file.
    let cat = format!("{}{V}{FIELDS_24}{}", log33(0, 1), line24(3));
    write(dir.path(), "cat.log", cat.as_bytes());
    // Data before any header uses the 33-field layout.
    write(dir.path(), "bare.log", line33(5).as_bytes());
    let out = sh(
        dir.path(),
        "cflog-parse --fields timestamp,cs_user_agent,cs_bytes,c_port old.log cat.log bare.log",
    );
    let recs = records(&ok_stdout(&out));
    assert_eq!(recs.len(), 5);
    assert_eq!(
        recs[0],
        json!({"timestamp": "2014-05-23T01:13:01Z", "cs_user_agent": "Mozilla/5.0 (iPhone; CPU)",
               "cs_bytes": null, "c_port": null})
    );
    assert_eq!(recs[2]["c_port"], 40000);
    assert_eq!(recs[2]["cs_user_agent"], "Mozilla/5.0 (X11; Linux)");
    assert_eq!(recs[3]["timestamp"], "2014-05-23T01:13:03Z");
    assert_eq!(recs[3]["c_port"], Value::Null);
    assert_eq!(recs[4]["c_port"], 40005);
}

#[test]
fn filters_and_their_counters() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.log", log33(0, 400).as_bytes());
    let out = sh(
        dir.path(),
        "cflog-parse --drop-static --status 2xx --method get --fields cs_uri_stem,sc_status,cs_method --stats st.json a.log",
    );
    let recs = records(&ok_stdout(&out));
    let st = stats(&dir.path().join("st.json"));
    assert_lines_accounted(&st, "records_out");
    // Count what each filter should drop, in the order they apply.
    let (mut stat, mut status, mut method, mut kept) = (0, 0, 0, 0);
    for i in 0..400 {
        let path = PATHS[i % 8];
        if [".css", ".PNG", ".js", ".ico"]
            .iter()
            .any(|e| path.ends_with(e))
        {
            stat += 1;
        } else if !STATUS[i % 5].starts_with('2') {
            status += 1;
        } else if METHODS[i % 3] != "GET" {
            method += 1;
        } else {
            kept += 1;
        }
    }
    assert_eq!(
        (
            &st["filtered_static"],
            &st["filtered_status"],
            &st["filtered_method"]
        ),
        (&json!(stat), &json!(status), &json!(method))
    );
    assert_eq!(recs.len(), kept);
    assert!(recs.iter().all(|r| r["cs_method"] == "GET"));
    assert!(recs
        .iter()
        .any(|r| r["cs_uri_stem"] == "/models/a b/tree/main"));

    // Path, time, result type, extraction and events.
    let out = sh(
        dir.path(),
        "cflog-parse --path '^/models/' --exclude-path 'tree' --since 2024-10-11T22:01 --until '2024-10-11 22:05:00Z' \
         --result-type hit --fields timestamp --extract '^/models/(?P<model_id>[^/]+)' \
         --extract 'cs_uri_query:^n=(?P<n>[0-9]+)$' --event 'download=/resolve/' --event 'view=.' \
         --events-only --stats st2.json a.log",
    );
    let recs = records(&ok_stdout(&out));
    let st = stats(&dir.path().join("st2.json"));
    assert_lines_accounted(&st, "records_out");
    assert!(st["filtered_time"].as_u64().unwrap() > 0);
    assert!(st["filtered_path"].as_u64().unwrap() > 0);
    assert!(st["filtered_exclude_path"].as_u64().unwrap() > 0);
    assert_eq!(st["filtered_result_type"], Value::Null, "all are Hit");
    let first = &recs[0];
    assert_eq!(
        first,
        &json!({"timestamp": "2024-10-11T22:01:04Z", "model_id": "abc-123", "n": "64", "event": "download"})
    );
    assert!(recs
        .iter()
        .all(|r| r["timestamp"].as_str().unwrap() < "2024-10-11T22:05:00Z"));
    assert!(recs.iter().any(|r| r["event"] == "view"));
}

#[test]
fn every_line_accounted_with_injected_faults_and_reject_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = log33(0, 50);
    let good = line33(50);
    let short = good.rsplit_once('\t').unwrap().0.to_string() + "\n";
    let bad_number = good.replacen("\t1050\t", "\t10x0\t", 1);
    text.push_str(&short);
    text.push('\n');
    text.push_str("#Comment: between blocks\n");
    text.push_str(&bad_number);
    text.push_str(&good.replace('\n', "\t\n")); // trailing TAB: accepted
    text.push_str(&good.replace('\n', "\r\n")); // CRLF: accepted
    write(dir.path(), "a.log.gz", &gzip(text.as_bytes()));
    let rtmp = format!("{V}{RTMP}2010-03-12\t23:51:20\tSEA4\t192.0.2.147\tconnect\t2014\tOK\tbfd8\trtmp://s/cfx/st\tkey=value\thttp://p\thttp://q\tLNX%2010\t-\t-\t-\t-\n2010-03-12\t23:51:21\tSEA4\t192.0.2.222\tplay\t3914\tOK\tbfd8\trtmp://s/cfx/st\tkey=value\thttp://p\thttp://q\tLNX%2010\tmyvideo\tp=2\tflv\t1\n");
    write(dir.path(), "rtmp.log", rtmp.as_bytes());
    let out = sh(
        dir.path(),
        "cflog-parse --drop-static --stats st.json --reject rej.txt a.log.gz rtmp.log > out.ndjson",
    );
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.matches("not_web_log").count(),
        2,
        "one note for the file plus the summary: {stderr}"
    );
    assert!(stderr.contains("rtmp.log: the #Fields line at line 2 is an RTMP streaming log"));
    let st = stats(&dir.path().join("st.json"));
    assert_lines_accounted(&st, "records_out");
    assert_eq!(st["rejected_field_count"], 1);
    assert_eq!(st["rejected_bad_number"], 1);
    assert_eq!(st["rejected_not_web_log"], 2);
    assert_eq!(st["skipped_blank"], 1);
    assert_eq!(st["skipped_comment"], 3);
    assert_eq!(st["skipped_header"], 2);
    let rej = std::fs::read_to_string(dir.path().join("rej.txt")).unwrap();
    let lines: Vec<&str> = rej.lines().collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(
        lines[0],
        format!("a.log.gz:53\tfield_count\t{}", short.trim_end())
    );
    assert_eq!(
        lines[1],
        format!("a.log.gz:56\tbad_number\t{}", bad_number.trim_end())
    );
    assert!(lines[2].starts_with("rtmp.log:3\tnot_web_log\t2010-03-12\t23:51:20\tSEA4"));
    assert!(lines[3].starts_with("rtmp.log:4\tnot_web_log\t"));
    let recs = records(&std::fs::read_to_string(dir.path().join("out.ndjson")).unwrap());
    let last = &recs[recs.len() - 1];
    assert_eq!(
        (&last["sc_range_end"], &recs[recs.len() - 2]["sc_range_end"]),
        (&Value::Null, &Value::Null)
    );
    assert_eq!(last["cs_uri_query"], "n=50");
}

#[test]
fn strict_stops_at_the_first_reject() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("{}short\tline\n{}", log33(0, 3), line33(9));
    write(dir.path(), "a.log", text.as_bytes());
    let out = sh(dir.path(), "cflog-parse --strict a.log > /dev/null");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("a.log:6: rejected line (field_count)"),
        "{stderr}"
    );
}

#[test]
fn broken_pipe_is_quiet() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "big.gz", &gzip(log33(0, 200_000).as_bytes()));
    for j in ["-j1", "-j2"] {
        let out = sh(dir.path(), &format!("cflog-parse {j} big.gz | head -1"));
        assert_eq!(out.status.code(), Some(0), "{j}");
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    }
}

#[test]
fn usage_errors_exit_2() {
    let cases: [&[&str]; 11] = [
        &["--fields", "timestamp,nope"],
        &["--status", "2x"],
        &["--status", ""],
        &["--method", " , "],
        &["--result-type", ""],
        &["--since", "yesterday"],
        &["--until", "2017-02-30"],
        &["--extract", "^/models/([0-9]+)"],
        &["--path", "("],
        &["--events-only"],
        &["--bogus"],
    ];
    for args in cases {
        let out = run_with_input(tool("cflog-parse").args(args), b"");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
    }
    let out = run_with_input(tool("cflog-parse").args(["--fields", "nope"]), b"");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unknown field 'nope'") && stderr.contains("cs_user_agent"),
        "lists the valid names: {stderr}"
    );
}

#[test]
fn threads_1_and_2_give_identical_bytes() {
    let dir = tempfile::tempdir().unwrap();
    for f in 0..6 {
        let text = log33(f * 1000, 1000 + f * 300);
        let data = if f.is_multiple_of(2) {
            gzip(text.as_bytes())
        } else {
            text.into_bytes()
        };
        write(dir.path(), &format!("E1.2024-10-11-0{f}.abcd.gz"), &data);
    }
    write(dir.path(), "one.gz", &gzip(log33(0, 20_000).as_bytes()));
    for (inputs, extra) in [(".", ""), ("one.gz", "--block-size 4K")] {
        let run = |j: &str, o: &str| {
            let out = sh(
                dir.path(),
                &format!("cflog-parse {j} {extra} --drop-static {o} {inputs} | sha256sum"),
            );
            ok_stdout(&out)
        };
        for o in ["", "-o tsv"] {
            assert_eq!(run("-j1", o), run("-j2", o), "{inputs} {o}");
        }
    }
}

#[test]
fn tsv_output_has_a_header_and_escaped_cells() {
    let dir = tempfile::tempdir().unwrap();
    let line = line33(1).replacen("\tn=1\t", "\tq=a%09b%5C\t", 1);
    write(
        dir.path(),
        "a.log",
        format!("{V}{FIELDS_33}{line}").as_bytes(),
    );
    let out = sh(
        dir.path(),
        "cflog-parse -o tsv --fields timestamp,c_ip,cs_uri_query,cs_referer,sc_bytes,time_taken,cs_user_agent a.log",
    );
    assert_eq!(
        ok_stdout(&out),
        "timestamp\tc_ip\tcs_uri_query\tcs_referer\tsc_bytes\ttime_taken\tcs_user_agent\n\
         2024-10-11T22:00:01Z\t192.0.2.1\tq=a\\tb\\\\\t\t1001\t0.001\tcurl/8.0+x\n"
    );
}

#[test]
fn list_fields_shows_names_and_types() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "old.gz",
        &gzip(format!("{V}{FIELDS_24}{}", line24(0)).as_bytes()),
    );
    let out = sh(dir.path(), "cflog-parse --list-fields old.gz");
    let text = ok_stdout(&out);
    assert!(text.starts_with("position\tlogged\tfield\ttype\n1\tdate\tdate\tstring\n"));
    assert!(text.contains("\n11\tcs(User-Agent)\tcs_user_agent\tstring (free text)\n"));
    assert!(text.contains("\n24\tcs-protocol-version\tcs_protocol_version\tstring\n"));
    assert!(text.contains("\n4\tsc-bytes\tsc_bytes\tinteger\n"));
}

#[test]
fn columns_without_a_field_are_named_not_dropped_silently() {
    let dir = tempfile::tempdir().unwrap();
    let header = FIELDS_24.trim_end_matches('\n').to_string() + "\tX-Extra\n";
    let line = line24(0).trim_end_matches('\n').to_string() + "\tsecret\n";
    write(
        dir.path(),
        "x.log",
        format!("{V}{header}{line}{line}").as_bytes(),
    );
    let out = sh(dir.path(), "cflog-parse -f cs_uri_stem x.log");
    assert_eq!(
        ok_stdout(&out),
        "{\"cs_uri_stem\":\"/view/0.html\"}\n".repeat(2)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.matches("x.log: the #Fields line at line 2 names columns cflog-parse has no field for (X-Extra)").count(),
        1,
        "{err}"
    );
    let list = ok_stdout(&sh(dir.path(), "cflog-parse --list-fields x.log"));
    assert!(
        list.contains("\n25\tX-Extra\tx_extra\t(no such field: left out of the output)\n"),
        "{list}"
    );
}

/// Conformance: every sample in $ONEBOX_CONFORMANCE_DIR/cloudfront parses without a crash, and
/// lines are rejected only in files that SOURCES.md (or the file name) marks as malformed or
/// not a web log. Where `<sample>.expected.ndjson` exists beside a sample, its Nth object's
/// fields must equal those of the Nth output record.
#[test]
fn conformance_with_public_samples() {
    let Some(root) = std::env::var_os("ONEBOX_CONFORMANCE_DIR") else {
        return;
    };
    let dir = Path::new(&root).join("cloudfront");
    let sources = std::fs::read_to_string(dir.join("SOURCES.md")).unwrap_or_default();
    let mut samples: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.is_file()
                && matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("log" | "gz" | "txt")
                )
                && !p.to_string_lossy().ends_with("s3-key-examples.txt")
        })
        .collect();
    samples.sort();
    assert!(!samples.is_empty(), "no samples in {}", dir.display());
    let work = tempfile::tempdir().unwrap();
    for sample in &samples {
        let name = sample.file_name().unwrap().to_string_lossy().to_string();
        let st_path = work.path().join("st.json");
        let out = tool("cflog-parse")
            .arg("--stats")
            .arg(&st_path)
            .arg(sample)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: exit {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        let st = stats(&st_path);
        assert_lines_accounted(&st, "records_out");
        let row = sources
            .lines()
            .find(|l| l.starts_with('|') && l.contains(&format!("`{name}`")))
            .unwrap_or("")
            .to_lowercase();
        let lname = name.to_lowercase();
        let may_reject = ["malformed", "not-web", "not a web", "rtmp"]
            .iter()
            .any(|w| row.contains(w) || lname.contains(w));
        let rejected: u64 = st
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| k.starts_with("rejected_"))
            .map(|(_, v)| v.as_u64().unwrap())
            .sum();
        if !may_reject {
            assert_eq!(rejected, 0, "{name}: unexpected rejects: {st}");
        }
        if lname.contains("rtmp") {
            assert_eq!(
                st["records_out"], 0,
                "{name}: RTMP lines are not web records"
            );
        } else {
            assert!(
                st["records_out"].as_u64().unwrap() > 0,
                "{name}: no records"
            );
        }
        let recs = records(&String::from_utf8(out.stdout).unwrap());
        for r in &recs {
            // Decoded once: no encoded spaces or double encodings are left in the free text.
            let ua = r["cs_user_agent"].as_str().unwrap_or("");
            assert!(!ua.contains("%20") && !ua.contains("%2520"), "{name}: {ua}");
            assert!(r["timestamp"].as_str().unwrap().ends_with('Z'));
            assert!(r["sc_status"].is_u64(), "{name}: {r}");
        }
        let expected = dir.join(format!("{name}.expected.ndjson"));
        if let Ok(text) = std::fs::read_to_string(&expected) {
            for (i, want) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
                let want: Value = serde_json::from_str(want).unwrap();
                for (k, v) in want.as_object().unwrap() {
                    assert_eq!(&recs[i][k], v, "{name} record {i} field {k}");
                }
            }
        }
    }
}

#[test]
fn headers_stay_in_force_across_blocks_in_every_run_shape() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = log33(0, 1500);
    text.push_str(&format!("{V}{FIELDS_24}"));
    for i in 0..1500 {
        text.push_str(&line24(i));
    }
    write(dir.path(), "cat.log", text.as_bytes());
    write(dir.path(), "copy.log.gz", &gzip(text.as_bytes()));
    let mut outputs = Vec::new();
    for (j, inputs) in [
        ("-j1", "cat.log"),
        ("-j2", "cat.log"),
        ("-j2", "cat.log copy.log.gz"),
    ] {
        let out = sh(
            dir.path(),
            &format!(
                "cflog-parse {j} --block-size 4K --fields cs_protocol_version,c_port --stats st.json {inputs}"
            ),
        );
        let text = ok_stdout(&out);
        let st = stats(&dir.path().join("st.json"));
        assert_lines_accounted(&st, "records_out");
        assert_eq!(
            st["records_out"].as_u64().unwrap() % 3000,
            0,
            "{j} {inputs}: {st}"
        );
        assert!(out.stderr.is_empty(), "{j} {inputs}: no rejects");
        let first_file: String = text.lines().take(3000).collect::<Vec<_>>().join("\n");
        outputs.push(first_file);
    }
    assert_eq!(outputs[0], outputs[1]);
    assert_eq!(outputs[0], outputs[2]);
    assert!(outputs[0].ends_with("{\"cs_protocol_version\":\"HTTP/1.1\",\"c_port\":null}"));
}

#[test]
fn generated_broken_files_fail_alone_and_the_rest_is_parsed() {
    let dir = tempfile::tempdir().unwrap();
    let gen = onebox_tests::sh(
        dir.path(),
        "onebox-gen cloudfront --out logs --files 3 --size 512K --gzip --broken-files 2> gen.txt",
    );
    onebox_tests::ok_stdout(&gen);
    let notes = std::fs::read_to_string(dir.path().join("gen.txt")).unwrap();
    let broken: Vec<&str> = notes
        .lines()
        .filter_map(|l| l.split("broken file ").nth(1))
        .collect();
    assert_eq!(broken.len(), 2, "{notes}");
    let (truncated, not_gzip) = (broken[0], broken[1]);
    let out = onebox_tests::sh(dir.path(), "cflog-parse --stats st.json logs > out.ndjson");
    assert_eq!(out.status.code(), Some(1), "a truncated input makes exit 1");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(truncated) && err.contains("truncated"),
        "{err}"
    );
    let st = onebox_tests::stats(&dir.path().join("st.json"));
    assert_eq!(st["files_failed"], 1);
    onebox_tests::assert_lines_accounted(&st, "records_out");
    // The plain file named .gz is read as the plain text it is.
    let plain = onebox_tests::sh(dir.path(), &format!("cflog-parse {not_gzip} | wc -l"));
    let plain_records: u64 = onebox_tests::ok_stdout(&plain).trim().parse().unwrap();
    assert!(plain_records > 100, "{plain_records}");
}
