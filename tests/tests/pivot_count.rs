//! End-to-end tests of pivot-count: the built binary, real files, real pipes.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::Stdio;

use onebox_tests::{assert_lines_accounted, gzip, ok_stdout, run_with_input, sh, stats, tool};

const FIELDS: &str = "App.Version,Region.Country";

/// A telemetry-like record.
fn rec(version: &str, country: &str) -> String {
    format!(
        "{{\"Request\":{{\"uuid\":\"x\"}},\"App\":{{\"Version\":\"{version}\",\"Build\":\"b\"}},\"Region\":{{\"Country\":\"{country}\"}}}}\n"
    )
}

fn sample(n: usize, seed: usize) -> String {
    let mut s = String::from("#Type: telemetry\n#Format: ndjson\n");
    for i in 0..n {
        let v = format!("2.{}", (i * 7 + seed) % 5);
        let c = ["IT", "FR", "US", "D\\\"E", "a,b"][(i * 3 + seed) % 5];
        s.push_str(&rec(&v, c));
    }
    s
}

#[test]
fn counts_groups_sorted_by_count_then_key() {
    let input = format!(
        "{}{}{}{}",
        rec("1", "IT"),
        rec("2", "FR"),
        rec("1", "IT"),
        rec("0", "FR")
    );
    let out = run_with_input(tool("pivot-count").args(["-f", FIELDS]), input.as_bytes());
    assert_eq!(
        ok_stdout(&out),
        "App.Version,Region.Country,count\n1,IT,2\n0,FR,1\n2,FR,1\n"
    );
    assert!(out.stderr.is_empty());
}

#[test]
fn empty_input_gives_just_the_header() {
    let out = run_with_input(tool("pivot-count").args(["-f", FIELDS]), b"");
    assert_eq!(ok_stdout(&out), "App.Version,Region.Country,count\n");
}

#[test]
fn crlf_no_trailing_newline_and_a_line_longer_than_a_block() {
    let long = "x".repeat(10_000);
    let input = format!(
        "{}\r\n{}{}",
        rec("1", "IT").trim_end(),
        rec(&long, "FR"),
        rec("1", "IT").trim_end()
    );
    let out = run_with_input(
        tool("pivot-count").args(["-f", FIELDS, "--block-size", "1K", "-j2"]),
        input.as_bytes(),
    );
    let text = ok_stdout(&out);
    assert!(text.contains("\n1,IT,2\n"), "{text}");
    assert!(text.contains(&format!("\n{long},FR,1\n")));
}

#[test]
fn accounting_invariant_with_bad_lines_and_reject_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut input = sample(100, 0).into_bytes();
    input.extend_from_slice(b"not json\n\n{\"App\":\n[1,2]\n");
    input.extend_from_slice(b"{\"App\":{\"Version\":\"\xff\"}}\n");
    std::fs::write(dir.path().join("in.ndjson"), &input).unwrap();
    let out = sh(
        dir.path(),
        &format!("pivot-count -f {FIELDS} --stats st.json --reject rej.txt in.ndjson"),
    );
    ok_stdout(&out);
    let st = stats(&dir.path().join("st.json"));
    assert_lines_accounted(&st, "records_counted");
    assert_eq!(st["rejected_invalid_json"], 2);
    assert_eq!(st["rejected_not_object"], 1);
    assert_eq!(st["rejected_invalid_utf8"], 1);
    assert_eq!(st["skipped_comment"], 2);
    assert_eq!(st["skipped_blank"], 1);
    let rejects =
        String::from_utf8_lossy(&std::fs::read(dir.path().join("rej.txt")).unwrap()).into_owned();
    assert!(
        rejects.starts_with("in.ndjson:103\tinvalid_json\tnot json\n"),
        "{rejects}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("4 lines rejected"));
}

#[test]
fn missing_fields_are_empty_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("in.ndjson"),
        "{\"App\":{\"Version\":\"1\"}}\n{\"App\":{\"Version\":\"1\"},\"Region\":{\"Country\":{\"a\": [1, 2]}}}\n",
    )
    .unwrap();
    let out = sh(
        dir.path(),
        &format!("pivot-count -f {FIELDS} --stats st.json in.ndjson"),
    );
    assert_eq!(
        ok_stdout(&out),
        "App.Version,Region.Country,count\n1,,1\n1,\"{\"\"a\"\":[1,2]}\",1\n"
    );
    assert_eq!(
        stats(&dir.path().join("st.json"))["missing_Region.Country"],
        1
    );
}

#[test]
fn ndjson_with_a_torn_first_line_is_read_as_tsv_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("torn.ndjson"),
        "rsion\":\"1\"}}\n{\"a\":1}\n{\"a\":2}\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("one.tsv"), "payload\n{x}\n").unwrap();
    // A one-column table whose first row is empty is no JSON, and no trouble.
    std::fs::write(dir.path().join("empty_row.tsv"), "payload\n\n{x}\n").unwrap();
    let out = sh(dir.path(), "pivot-count -f payload empty_row.tsv");
    assert_eq!(ok_stdout(&out), "payload,count\n,1\n{x},1\n");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("read as TSV"));
    let out = sh(dir.path(), "pivot-count -f a torn.ndjson");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(ok_stdout(&out), "a,count\n,2\n");
    assert!(
        err.contains("torn.ndjson: read as TSV with the one-column header at line 1")
            && err.contains("read it with -i ndjson"),
        "{err}"
    );
    let out = sh(dir.path(), "pivot-count -i ndjson -f a torn.ndjson");
    assert_eq!(ok_stdout(&out), "a,count\n1,1\n2,1\n");
    // Forced TSV is taken at its word.
    let out = sh(dir.path(), "pivot-count -i tsv -f payload one.tsv");
    assert_eq!(ok_stdout(&out), "payload,count\n{x},1\n");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("read as TSV"));
}

#[test]
fn strict_stops_at_the_first_bad_line() {
    let input = format!("{}garbage\n{}", rec("1", "IT"), rec("2", "FR"));
    let out = run_with_input(
        tool("pivot-count").args(["-f", FIELDS, "--strict"]),
        input.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("-:2: rejected line (invalid_json)"), "{err}");
}

#[test]
fn usage_errors_exit_2() {
    let out = run_with_input(&mut tool("pivot-count"), b"");
    assert_eq!(out.status.code(), Some(2));
    let out = run_with_input(tool("pivot-count").args(["-f", "a..b"]), b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("empty segment"));
}

#[test]
fn gzip_multi_member_truncated_and_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut multi = gzip(sample(50, 1).as_bytes());
    multi.extend(gzip(sample(50, 2).as_bytes()));
    std::fs::write(dir.path().join("multi.log"), multi).unwrap();
    let big: String = (0..20_000).map(|i| rec(&i.to_string(), "IT")).collect();
    let whole = gzip(big.as_bytes());
    std::fs::write(dir.path().join("cut.gz"), &whole[..whole.len() / 2]).unwrap();
    let out = sh(
        dir.path(),
        &format!("pivot-count -f {FIELDS} --stats st.json multi.log cut.gz nope.gz > out.csv"),
    );
    assert_eq!(out.status.code(), Some(1), "a failed input makes exit 1");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cut.gz: truncated input"), "{err}");
    assert!(err.contains("nope.gz: No such file"), "{err}");
    let st = stats(&dir.path().join("st.json"));
    assert_eq!(st["files_failed"], 2);
    let counted = st["records_counted"].as_u64().unwrap();
    assert!(
        counted >= 100,
        "both members of multi.log are read: {counted}"
    );
}

#[test]
fn nul_separated_file_lists_and_directories() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("d/sub")).unwrap();
    std::fs::write(dir.path().join("d/a b.ndjson"), sample(10, 0)).unwrap();
    std::fs::write(
        dir.path().join("d/sub/c.ndjson"),
        gzip(sample(10, 1).as_bytes()),
    )
    .unwrap();
    let listed = sh(
        dir.path(),
        &format!("find d -type f -print0 | pivot-count -0 --files-from - -f {FIELDS}"),
    );
    let walked = sh(dir.path(), &format!("pivot-count -f {FIELDS} d"));
    let listed = ok_stdout(&listed);
    assert_eq!(listed, ok_stdout(&walked));
    let total: u64 = listed
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, 20);
}

#[test]
fn threads_do_not_change_the_output() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..4 {
        std::fs::write(dir.path().join(format!("f{i}.ndjson")), sample(3000, i)).unwrap();
    }
    let one = sh(
        dir.path(),
        &format!("pivot-count -j1 -f {FIELDS} --sum App.Version ."),
    );
    let two = sh(
        dir.path(),
        &format!("pivot-count -j2 --block-size 4K -f {FIELDS} --sum App.Version ."),
    );
    let cat = sh(
        dir.path(),
        &format!("cat f*.ndjson | pivot-count -j2 --block-size 4K -f {FIELDS} --sum App.Version"),
    );
    assert_eq!(ok_stdout(&one), ok_stdout(&two));
    assert_eq!(ok_stdout(&one), ok_stdout(&cat));
}

#[test]
fn merge_of_partial_counts_equals_one_run_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("a")).unwrap();
    std::fs::create_dir_all(dir.path().join("b")).unwrap();
    std::fs::write(dir.path().join("a/1.ndjson"), sample(500, 0)).unwrap();
    std::fs::write(dir.path().join("b/2.ndjson"), sample(700, 3)).unwrap();
    let whole = ok_stdout(&sh(
        dir.path(),
        &format!("pivot-count -f {FIELDS} --sum App.Version a b"),
    ));
    for fmt in ["csv", "tsv", "ndjson"] {
        let merged = sh(
            dir.path(),
            &format!(
                "pivot-count -o {fmt} -f {FIELDS} --sum App.Version a > a.out && \
                 pivot-count -o {fmt} -f {FIELDS} --sum App.Version b > b.out && \
                 pivot-count --merge a.out b.out"
            ),
        );
        assert_eq!(ok_stdout(&merged), whole, "merge of {fmt} partials");
    }
    // A merge with -f rolls groups up.
    let rolled = ok_stdout(&sh(
        dir.path(),
        "pivot-count --merge -f App.Version a.out b.out",
    ));
    let direct = ok_stdout(&sh(dir.path(), "pivot-count -f App.Version a b"));
    assert_eq!(rolled, direct);
}

#[test]
fn merge_with_sum_alone_keeps_every_field_and_only_the_sums_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.csv"),
        "host,path,count,sum_b,sum_t\nh,/x,2,10,1.5\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("b.csv"),
        "host,path,count,sum_b,sum_t\nh,/x,1,5,0.25\nh,/y,1,7,1\n",
    )
    .unwrap();
    let all = ok_stdout(&sh(dir.path(), "pivot-count --merge a.csv b.csv"));
    assert_eq!(
        all,
        "host,path,count,sum_b,sum_t\nh,/x,3,15,1.75\nh,/y,1,7,1\n"
    );
    let one_sum = ok_stdout(&sh(dir.path(), "pivot-count --merge --sum t a.csv b.csv"));
    assert_eq!(one_sum, "host,path,count,sum_t\nh,/x,3,1.75\nh,/y,1,1\n");
    let missing = sh(dir.path(), "pivot-count --merge --sum nope a.csv");
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no column \"sum_nope\""));
}

#[test]
fn a_tiny_mem_limit_spills_and_gives_the_same_answer() {
    let dir = tempfile::tempdir().unwrap();
    let many: String = (0..30_000)
        .map(|i| rec(&(i % 9000).to_string(), "IT"))
        .collect();
    std::fs::write(dir.path().join("in.ndjson"), many).unwrap();
    let plain = ok_stdout(&sh(
        dir.path(),
        &format!("pivot-count -f {FIELDS} in.ndjson"),
    ));
    let spilled = ok_stdout(&sh(
        dir.path(),
        &format!("pivot-count -f {FIELDS} --mem-limit 64K in.ndjson"),
    ));
    assert_eq!(plain.lines().count(), 9001);
    assert_eq!(plain, spilled);
}

#[test]
fn top_min_count_and_output_formats() {
    let input = format!(
        "{}{}{}{}",
        rec("1", "IT"),
        rec("1", "IT"),
        rec("2", "F\\tR"),
        rec("3", "X")
    );
    let top = run_with_input(
        tool("pivot-count").args(["-f", FIELDS, "--top", "1"]),
        input.as_bytes(),
    );
    assert_eq!(
        ok_stdout(&top),
        "App.Version,Region.Country,count\n1,IT,2\n"
    );
    let min = run_with_input(
        tool("pivot-count").args(["-f", FIELDS, "--min-count", "2", "--no-header"]),
        input.as_bytes(),
    );
    assert_eq!(ok_stdout(&min), "1,IT,2\n");
    let tsv = run_with_input(
        tool("pivot-count").args(["-f", FIELDS, "-o", "tsv"]),
        input.as_bytes(),
    );
    assert!(ok_stdout(&tsv).contains("\n2\tF\\tR\t1\n"));
    let nd = run_with_input(
        tool("pivot-count").args(["-f", FIELDS, "-o", "ndjson"]),
        input.as_bytes(),
    );
    let first: serde_json::Value =
        serde_json::from_str(ok_stdout(&nd).lines().next().unwrap()).unwrap();
    assert_eq!(first["Region.Country"], "IT");
    assert_eq!(first["count"], 2);
}

#[test]
fn tsv_input_counts_by_column_name() {
    let input = "App.Version\tRegion.Country\tother\n1\tIT\tx\n1\tIT\ty\n2\tFR\tz\n";
    let out = run_with_input(tool("pivot-count").args(["-f", FIELDS]), input.as_bytes());
    assert_eq!(
        ok_stdout(&out),
        "App.Version,Region.Country,count\n1,IT,2\n2,FR,1\n"
    );
}

#[test]
fn head_closing_the_pipe_is_a_quiet_success() {
    let dir = tempfile::tempdir().unwrap();
    let many: String = (0..200_000).map(|i| rec(&i.to_string(), "IT")).collect();
    std::fs::write(dir.path().join("in.ndjson"), many).unwrap();
    let out = sh(
        dir.path(),
        &format!("pivot-count -f {FIELDS} in.ndjson | head -1"),
    );
    assert_eq!(ok_stdout(&out), "App.Version,Region.Country,count\n");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn metrics_endpoint_answers_while_running() {
    let mut child = tool("pivot-count")
        .args(["-f", FIELDS, "--metrics-addr", "127.0.0.1:0", "-j2"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(sample(1000, 0).as_bytes()).unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .rsplit("http://")
        .next()
        .and_then(|s| s.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("no metrics address in {line:?}"))
        .to_string();
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    conn.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut body = String::new();
    conn.read_to_string(&mut body).unwrap();
    assert!(body.starts_with("HTTP/1.0 200 OK"), "{body}");
    assert!(
        body.contains("onebox_lines_in_total{tool=\"pivot-count\"}"),
        "{body}"
    );
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
}

#[test]
fn progress_is_drawn_only_on_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.ndjson"), sample(20_000, 0)).unwrap();
    // Not a terminal: nothing on stderr.
    let piped = sh(
        dir.path(),
        &format!("pivot-count --progress -f {FIELDS} in.ndjson"),
    );
    ok_stdout(&piped);
    assert!(piped.stderr.is_empty());
    // `script` gives the tool a pseudo-terminal; the live line ends with a final redraw.
    let tty = sh(
        dir.path(),
        &format!(
            "command -v script > /dev/null || exit 0; \
             script -qec 'pivot-count --progress -f {FIELDS} in.ndjson > /dev/null' /dev/null"
        ),
    );
    let text = ok_stdout(&tty);
    if !text.is_empty() {
        assert!(text.contains("\r\x1b[Kpivot-count: 1 files"), "{text:?}");
        assert!(text.contains("20002 lines"), "{text:?}");
    }
}

#[test]
fn a_sum_past_the_largest_double_is_an_error_never_inf() {
    let input = "{\"a\":\"x\",\"n\":1e308}\n{\"a\":\"x\",\"n\":1e308}\n{\"a\":\"y\",\"n\":1}\n";
    for fmt in ["csv", "tsv", "ndjson"] {
        let out = run_with_input(
            tool("pivot-count").args(["-f", "a", "--sum", "n", "-o", fmt]),
            input.as_bytes(),
        );
        assert_eq!(out.status.code(), Some(1), "-o {fmt}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "pivot-count: sum_n of group \"x\" passes the largest double (about 1.8e308)\n"
        );
        assert!(!String::from_utf8_lossy(&out.stdout).contains("inf"));
    }
}

#[test]
fn a_field_named_like_another_output_column_is_a_usage_error() {
    for (args, clash) in [
        (
            &["-f", "count"][..],
            "\"count\" would come from both -f count and the count column",
        ),
        (
            &["-f", "a,sum_n", "--sum", "n"][..],
            "\"sum_n\" would come from both -f sum_n and --sum n",
        ),
        (
            &["-f", "a,a"][..],
            "\"a\" would come from both -f a and -f a",
        ),
        (
            &["--merge", "-f", "count"][..],
            "both -f count and the count column",
        ),
    ] {
        let out = run_with_input(tool("pivot-count").args(args), b"{\"count\":\"a\"}\n");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(clash), "{args:?}: {err}");
    }
}

#[test]
fn merging_ndjson_partials_keeps_every_digit() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("big.ndjson"),
        "{\"a\":\"x\",\"n\":123456789012.123456789}\n\
         {\"a\":\"y\",\"n\":18446744073709551615}\n{\"a\":\"y\",\"n\":18446744073709551615}\n",
    )
    .unwrap();
    let expected = "a,count,sum_n\ny,2,36893488147419103230\nx,1,123456789012.123456789\n";
    let one_run = ok_stdout(&sh(dir.path(), "pivot-count -f a --sum n big.ndjson"));
    assert_eq!(one_run, expected);
    let merged = sh(
        dir.path(),
        "pivot-count -f a --sum n -o ndjson big.ndjson > big.out && pivot-count --merge big.out",
    );
    assert_eq!(ok_stdout(&merged), expected);
}

#[test]
fn sums_do_not_depend_on_threads_blocks_or_split() {
    let dir = tempfile::tempdir().unwrap();
    let values = ["0.1000000001", "1e-10", "123456.0000000007", "2.5e3"];
    let rows: String = (0..100_000)
        .map(|i| format!("{{\"a\":\"g\",\"n\":{}}}\n", values[i % 4]))
        .collect();
    std::fs::write(dir.path().join("g.ndjson"), rows).unwrap();
    let expected = "a,count,sum_n\ng,100000,3148902500.0000225\n";
    for opts in ["-j1", "-j2", "-j2 --block-size 16k", "-j2 --mem-limit 1k"] {
        let out = sh(
            dir.path(),
            &format!("pivot-count -f a --sum n {opts} g.ndjson"),
        );
        assert_eq!(ok_stdout(&out), expected, "{opts}");
    }
    let split = sh(
        dir.path(),
        "split -l 33333 g.ndjson part. && for p in part.*; do pivot-count -f a --sum n -o ndjson $p > $p.out; done && \
         pivot-count --merge part.*.out",
    );
    assert_eq!(ok_stdout(&split), expected);

    // An integer total prints the same whether reached from 1e2 or from a merged "100".
    std::fs::write(dir.path().join("e1.ndjson"), "{\"a\":\"x\",\"n\":1e2}\n").unwrap();
    std::fs::write(dir.path().join("e2.ndjson"), "{\"a\":\"x\",\"n\":1}\n").unwrap();
    let one_run = ok_stdout(&sh(
        dir.path(),
        "cat e1.ndjson e2.ndjson | pivot-count -f a --sum n",
    ));
    assert_eq!(one_run, "a,count,sum_n\nx,2,101\n");
    let merged = sh(
        dir.path(),
        "pivot-count -f a --sum n e1.ndjson > e1.csv && pivot-count -f a --sum n e2.ndjson > e2.csv && \
         pivot-count --merge e1.csv e2.csv",
    );
    assert_eq!(ok_stdout(&merged), one_run);
}

#[test]
fn many_spill_runs_finish_under_a_low_open_files_limit() {
    let dir = tempfile::tempdir().unwrap();
    let rows: String = (0..60_000)
        .map(|i| format!("{{\"k\":\"key{}\",\"n\":{}}}\n", i % 50_000, i % 7))
        .collect();
    std::fs::write(dir.path().join("hc.ndjson"), rows).unwrap();
    let plain = ok_stdout(&sh(dir.path(), "pivot-count -f k --sum n hc.ndjson"));
    // About a hundred runs per worker, merged at most 8 (half of ulimit -n) at a time.
    let limited = sh(
        dir.path(),
        "ulimit -n 16 && pivot-count -j2 -f k --sum n --mem-limit 64k hc.ndjson",
    );
    let limited = ok_stdout(&limited);
    assert_eq!(limited.lines().count(), 50_001);
    assert!(
        limited.starts_with("k,count,sum_n\nkey0,2,6\nkey1,2,1\n"),
        "{}",
        &limited[..60]
    );
    assert_eq!(limited, plain);
}
