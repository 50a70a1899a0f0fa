//! kv-join end to end: TSV, CSV and NDJSON tables (gzip too), hits and misses, duplicate
//! keys, the missing-key policies, TSV headers, ordering and counters.

use onebox_tests::{assert_lines_accounted, gzip, ok_stdout, run_with_input, sh, stats, tool};
use serde_json::Value;

fn join(dir: &std::path::Path, args: &[&str], input: &str) -> (String, Value) {
    let st = dir.join("stats.json");
    let mut cmd = tool("kv-join");
    cmd.current_dir(dir).args(args).arg("--stats").arg(&st);
    let out = run_with_input(&mut cmd, input.as_bytes());
    let text = ok_stdout(&out);
    let s = stats(&st);
    assert_lines_accounted(&s, "records_out");
    (text, s)
}

const TABLE: &str = "id\tcreator_id\tname\nm1\tc1\tAnn\nm2\t\tBo\\tB\n42\tc42\tNum\n";

const INPUT: &str = concat!(
    "{\"model_id\":\"m1\",\"n\":1}\n",
    "{\"model_id\":42,\"n\":2}\n",
    "{\"model_id\":\"zz\",\"n\":3}\n",
    "{}\n",
    "# comment\n",
    "{\"model_id\":\"m2\",\"n\":5}\n",
    "{\"model_id\":null,\"n\":6}\n",
    "not json\n",
);

#[test]
fn hits_and_misses_in_ndjson() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("t.tsv"), TABLE).unwrap();
    let args = ["--table", "t.tsv", "--key", "model_id", "--table-key", "id"];
    let (text, st) = join(d.path(), &args, INPUT);
    assert_eq!(
        text,
        concat!(
            "{\"model_id\":\"m1\",\"n\":1,\"creator_id\":\"c1\",\"name\":\"Ann\"}\n",
            "{\"model_id\":42,\"n\":2,\"creator_id\":\"c42\",\"name\":\"Num\"}\n",
            "{\"model_id\":\"zz\",\"n\":3,\"creator_id\":null,\"name\":null}\n",
            "{\"creator_id\":null,\"name\":null}\n",
            "{\"model_id\":\"m2\",\"n\":5,\"creator_id\":null,\"name\":\"Bo\\tB\"}\n",
            "{\"model_id\":null,\"n\":6,\"creator_id\":null,\"name\":null}\n",
        )
    );
    assert_eq!(st["found"], 3);
    assert_eq!(st["not_found"], 3);
    assert_eq!(st["rejected_invalid_json"], 1);
    assert_eq!(st["table_rows"], 3);
}

#[test]
fn missing_keys_can_be_dropped_or_rejected() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("t.tsv"), TABLE).unwrap();
    let base = [
        "--table",
        "t.tsv",
        "--key",
        "model_id",
        "--table-key",
        "id",
        "--add",
        "creator_id",
    ];
    let (text, st) = join(d.path(), &[&base[..], &["--drop-missing"]].concat(), INPUT);
    assert_eq!(text.lines().count(), 3);
    assert_eq!(st["filtered_missing"], 3);
    // Each missing key is counted once, as what became of its record.
    let not_found = |st: &Value| st["not_found"].as_u64().unwrap_or(0);
    assert_eq!((st["found"].as_u64(), not_found(&st)), (Some(3), 0));
    let (text, st) = join(
        d.path(),
        &[&base[..], &["--reject-missing"]].concat(),
        INPUT,
    );
    assert_eq!(text.lines().count(), 3);
    assert_eq!(st["rejected_not_found"], 3);
    assert_eq!(not_found(&st), 0);
}

#[test]
fn a_new_field_the_record_already_has_is_not_written_twice() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("t.tsv"), TABLE).unwrap();
    let args = ["--table", "t.tsv", "--key", "model_id", "--table-key", "id"];
    let input = concat!(
        "{\"model_id\":\"m1\",\"name\":\"mine\"}\n",
        "{\"model_id\":\"m1\",\"x\":{\"name\":1}}\n",
        "{\"model_id\":\"m1\",\"creator_id\":null}\n",
    );
    let (text, st) = join(d.path(), &args, input);
    // Only the record without a top-level name or creator_id passes; a nested one is no clash.
    assert_eq!(
        text,
        "{\"model_id\":\"m1\",\"x\":{\"name\":1},\"creator_id\":\"c1\",\"name\":\"Ann\"}\n"
    );
    assert_eq!(st["rejected_field_exists"], 2);
    let (text, _) = join(d.path(), &[&args[..], &["--prefix", "t_"]].concat(), input);
    assert_eq!(text.lines().count(), 3);
    // A TSV input whose header has the column stops with a one-line error.
    let tsv = run_with_input(
        tool("kv-join").current_dir(d.path()).args(args),
        b"model_id\tname\nm1\tmine\n",
    );
    assert_eq!(tsv.status.code(), Some(1));
    let err = String::from_utf8_lossy(&tsv.stderr);
    assert!(err.contains("already has a column 'name'"), "{err}");
    // A new field over the key itself is a usage error.
    let over = run_with_input(
        tool("kv-join")
            .current_dir(d.path())
            .args(["--table", "t.tsv", "--key", "id", "--add", "id"]),
        b"{}\n",
    );
    assert_eq!(over.status.code(), Some(2));
}

#[test]
fn csv_ndjson_and_gzip_tables() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::write(
        p.join("t.csv"),
        "id,owner,note\nm1,\"o,1\",\"say \"\"hi\"\"\"\nm2,,x\n",
    )
    .unwrap();
    std::fs::write(
        p.join("t.csv.gz"),
        gzip(&std::fs::read(p.join("t.csv")).unwrap()),
    )
    .unwrap();
    std::fs::write(
        p.join("t.ndjson"),
        "{\"id\":\"m1\",\"owner\":{\"id\":7},\"tier\":2}\n{\"id\":\"m2\",\"owner\":null}\n",
    )
    .unwrap();
    let input = "{\"k\":\"m1\"}\n{\"k\":\"m2\"}\n";
    for table in ["t.csv", "t.csv.gz"] {
        let (text, _) = join(
            p,
            &["--table", table, "--key", "k", "--table-key", "id"],
            input,
        );
        assert_eq!(
            text,
            "{\"k\":\"m1\",\"owner\":\"o,1\",\"note\":\"say \\\"hi\\\"\"}\n{\"k\":\"m2\",\"owner\":null,\"note\":\"x\"}\n"
        );
    }
    let args = [
        "--table",
        "t.ndjson",
        "--key",
        "k",
        "--table-key",
        "id",
        "--add",
        "owner.id,tier",
        "--prefix",
        "t_",
    ];
    let (text, _) = join(p, &args, input);
    assert_eq!(
        text,
        "{\"k\":\"m1\",\"t_owner.id\":7,\"t_tier\":2}\n{\"k\":\"m2\",\"t_owner.id\":null,\"t_tier\":null}\n"
    );
}

#[test]
fn duplicate_keys_are_an_error_unless_first_or_last() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("t.tsv"), "id\tv\na\t1\nb\t2\na\t3\n").unwrap();
    let out = run_with_input(
        tool("kv-join")
            .current_dir(d.path())
            .args(["--table", "t.tsv", "--key", "id"]),
        b"{\"id\":\"a\"}\n",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("duplicate key \"a\"") && err.contains("lines 2 and 4"),
        "{err}"
    );
    for (flag, v) in [("--first", "1"), ("--last", "3")] {
        let (text, _) = join(
            d.path(),
            &["--table", "t.tsv", "--key", "id", flag],
            "{\"id\":\"a\"}\n",
        );
        assert_eq!(text, format!("{{\"id\":\"a\",\"v\":\"{v}\"}}\n"));
    }
}

#[test]
fn bad_tables_fail_before_reading_input() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::write(p.join("short.tsv"), "id\tv\na\n").unwrap();
    std::fs::write(p.join("t.tsv"), "id\tv\na\t1\n").unwrap();
    std::fs::write(p.join("in.ndjson"), "{\"id\":\"a\"}\n").unwrap();
    for args in [
        vec!["--table", "missing.tsv", "--key", "id"],
        vec!["--table", "short.tsv", "--key", "id"],
        vec!["--table", "t.tsv", "--key", "id", "--add", "nope"],
        vec!["--table", "t.tsv", "--key", "id", "--table-key", "nope"],
    ] {
        let out = tool("kv-join")
            .current_dir(p)
            .args(&args)
            .args(["--stats", "st.json", "in.ndjson"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(out.stdout.is_empty());
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).lines().count(),
            1,
            "{args:?}"
        );
        assert!(!p.join("st.json").exists(), "{args:?}: input was read");
    }
}

#[test]
fn a_csv_table_with_an_unterminated_quote_fails_naming_its_line() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("unterm.csv"),
        "id,owner\nm1,\"alice\nm2,bob\nm3,carol\n",
    )
    .unwrap();
    let out = run_with_input(
        tool("kv-join").current_dir(d.path()).args([
            "--table",
            "unterm.csv",
            "--key",
            "k",
            "--table-key",
            "id",
        ]),
        b"{\"k\":\"m2\"}\n{\"k\":\"m3\"}\n",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "kv-join: --table unterm.csv:2: unterminated quoted field (its closing quote is missing)\n"
    );
}

#[test]
fn tsv_table_keys_may_start_with_a_hash() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("t.tsv"),
        "# owners\nid\towner\n#a\tx\n\nb\ty\n",
    )
    .unwrap();
    let args = ["--table", "t.tsv", "--key", "k", "--table-key", "id"];
    let (text, st) = join(d.path(), &args, "{\"k\":\"#a\"}\n{\"k\":\"b\"}\n");
    assert_eq!(
        text,
        "{\"k\":\"#a\",\"owner\":\"x\"}\n{\"k\":\"b\",\"owner\":\"y\"}\n"
    );
    assert_eq!(st["table_rows"], 2);
    assert_eq!(st["found"], 2);
}

#[test]
fn tsv_records_get_columns_and_one_header() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::write(p.join("t.tsv"), TABLE).unwrap();
    std::fs::write(p.join("a.tsv"), "model_id\tx\nm1\t1\nzz\t2\n").unwrap();
    std::fs::write(p.join("b.tsv"), "model_id\tx\n42\t3\n").unwrap();
    for j in ["1", "2"] {
        let out = tool("kv-join")
            .current_dir(p)
            .args([
                "--table",
                "t.tsv",
                "--key",
                "model_id",
                "--table-key",
                "id",
                "-j",
                j,
                "a.tsv",
                "b.tsv",
            ])
            .output()
            .unwrap();
        assert_eq!(
            ok_stdout(&out),
            "model_id\tx\tcreator_id\tname\nm1\t1\tc1\tAnn\nzz\t2\t\t\n42\t3\tc42\tNum\n"
        );
    }
}

fn big(n: usize) -> (String, String) {
    let mut table = String::from("id\towner\n");
    for i in 0..n / 2 {
        table.push_str(&format!("m{i}\towner-{}\n", i % 97));
    }
    let mut input = String::new();
    for i in 0..n {
        input.push_str(&format!(
            "{{\"i\":{i},\"model\":\"m{}\"}}\n",
            (i * 7919) % n
        ));
    }
    (table, input)
}

#[test]
fn one_and_two_threads_write_the_same_bytes() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let (table, input) = big(40_000);
    std::fs::write(p.join("t.tsv"), table).unwrap();
    std::fs::write(p.join("in.ndjson"), input).unwrap();
    let run = |j: &str| {
        let out = tool("kv-join")
            .current_dir(p)
            .args([
                "--table",
                "t.tsv",
                "--key",
                "model",
                "--table-key",
                "id",
                "--block-size",
                "16K",
                "-j",
                j,
                "in.ndjson",
            ])
            .output()
            .unwrap();
        ok_stdout(&out)
    };
    let one = run("1");
    assert_eq!(one.lines().count(), 40_000);
    assert_eq!(one, run("2"));
    for (i, line) in one.lines().enumerate() {
        let v: Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["i"], i);
        let m: usize = v["model"].as_str().unwrap()[1..].parse().unwrap();
        let want = if m < 20_000 {
            Value::from(format!("owner-{}", m % 97))
        } else {
            Value::Null
        };
        assert_eq!(v["owner"], want, "{line}");
    }
}

#[test]
fn broken_pipe_is_quiet_and_usage_errors_exit_2() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let (table, input) = big(400_000);
    std::fs::write(p.join("t.tsv"), table).unwrap();
    std::fs::write(p.join("in.ndjson"), input).unwrap();
    let out = sh(
        p,
        "kv-join --table t.tsv --key model --table-key id in.ndjson | head -1",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for args in [
        vec!["--table", "t.tsv"],
        vec!["--key", "x"],
        vec!["--table", "t.tsv", "--key", "x", "--first", "--last"],
        vec![
            "--table",
            "t.tsv",
            "--key",
            "x",
            "--drop-missing",
            "--reject-missing",
        ],
        vec!["--table", "t.tsv", "--key", "x", "--add", ""],
        vec!["--table", "t.tsv", "--key", "x", "--add", "v,w, v"],
    ] {
        let out = tool("kv-join").current_dir(p).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}
