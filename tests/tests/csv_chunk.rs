//! csv-chunk end to end, in shell pipelines: row counts, stdout and manifest listing exactly the
//! finished files, counters, `-j` identity, `| head`, usage errors and output failures.
//! (Value-level round trips through a CSV reader are in tools/csv-chunk/tests/round_trip.rs.)

use std::collections::BTreeSet;
use std::fs;
use std::io::Read;
use std::path::Path;
use std::process::Output;

use onebox_tests::{assert_lines_accounted, ok_stdout, sh, stats};

/// `n` flat records, one family value out of `families`, about 120 bytes each, no newlines.
fn records(n: usize, families: &[&str]) -> String {
    let mut s = String::new();
    for i in 0..n {
        let ev = families[i % families.len()];
        s.push_str(&format!(
            "{{\"ts\":\"2024-05-01T12:{:02}:{:02}Z\",\"event\":\"{ev}\",\"c_ip\":\"10.0.{}.{}\",\
             \"uri\":\"/v/{i}/x,y\",\"ua\":\"Mozilla/5.0 \\\"test\\\"\",\"bytes\":{}}}\n",
            i / 60 % 60,
            i % 60,
            i / 256 % 256,
            i % 256,
            i * 37 % 100_000
        ));
    }
    s
}

fn gunzip(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(fs::File::open(path).unwrap())
        .read_to_end(&mut out)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    out
}

fn lines(out: &Output) -> Vec<String> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn dir_names(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn no_temp_files(dir: &Path) {
    let temps: Vec<_> = dir_names(dir)
        .into_iter()
        .filter(|n| n.contains(".tmp."))
        .collect();
    assert!(temps.is_empty(), "temporary files left: {temps:?}");
}

#[test]
fn rows_files_stdout_manifest_and_counters_agree() {
    let dir = tempfile::tempdir().unwrap();
    let mut input = records(10_007, &["views", "downloads", "views"]);
    input.push_str("# a comment\n\nnot json\n{\"ts\":1,\"event\":\"views\",\"extra\":1}\n[1]\n");
    fs::write(dir.path().join("in.ndjson"), input).unwrap();
    let out = sh(
        dir.path(),
        "csv-chunk --out out/ev.csv.gz --rows 1000 --by event --manifest out/ev.manifest \
         --url-prefix s3://bucket/load --stats stats.json in.ndjson",
    );
    let listed = lines(&out);
    ok_stdout(&out);
    let st = stats(&dir.path().join("stats.json"));
    assert_lines_accounted(&st, "records_out");
    assert_eq!(st["records_out"], 10_007);
    assert_eq!(st["rejected_invalid_json"], 1);
    assert_eq!(st["rejected_new_field"], 1);
    assert_eq!(st["rejected_not_object"], 1);
    assert_eq!(st["files_out"], listed.len());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("3 lines rejected"), "{stderr}");

    // 6671 views rows (7 files) and 3336 downloads rows (4 files); header + rows each.
    assert_eq!(listed.len(), 11);
    let mut total = 0;
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.path().join("out/ev.manifest")).unwrap())
            .unwrap();
    let entries = manifest["entries"].as_array().unwrap();
    assert_eq!(entries.len(), listed.len());
    let mut bytes_out = 0;
    for (path, entry) in listed.iter().zip(entries) {
        let p = dir.path().join(path);
        let name = p.file_name().unwrap().to_str().unwrap();
        assert_eq!(entry["url"], format!("s3://bucket/load/{name}"));
        assert_eq!(entry["mandatory"], true);
        let size = fs::metadata(&p).unwrap().len();
        assert_eq!(entry["meta"]["content_length"], size);
        bytes_out += size;
        let text = gunzip(&p);
        let n = text.iter().filter(|&&c| c == b'\n').count() - 1;
        assert!(text.starts_with(b"ts,event,c_ip,uri,ua,bytes\n"));
        let last_of_family = matches!(
            name,
            "ev-views-000007.csv.gz" | "ev-downloads-000004.csv.gz"
        );
        assert_eq!(n, if last_of_family { n.min(999) } else { 1000 }, "{name}");
        total += n;
    }
    assert_eq!(total, 10_007, "rows in files = records in");
    assert_eq!(st["bytes_out"], bytes_out);
    // The directory holds exactly the listed files and the manifest: no temporary names.
    let mut want: BTreeSet<String> = listed
        .iter()
        .map(|l| l.trim_start_matches("out/").to_string())
        .collect();
    want.insert("ev.manifest".into());
    assert_eq!(dir_names(&dir.path().join("out")), want);
    // Files are valid for gzip(1) too.
    let check = sh(
        dir.path(),
        "gzip -t out/*.csv.gz && zcat out/ev-views-*.csv.gz | grep -c '^20'",
    );
    assert_eq!(ok_stdout(&check).trim(), "6671");
}

#[test]
fn a_rerun_with_fewer_files_notes_the_earlier_runs_leftovers() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("in.ndjson"), records(5, &["view"])).unwrap();
    fs::create_dir(dir.path().join("out")).unwrap();
    fs::write(dir.path().join("out/other-000009.csv"), "x\n").unwrap();
    let first = sh(dir.path(), "csv-chunk --rows 1 --out out/v.csv in.ndjson");
    assert_eq!(lines(&first).len(), 5);
    assert!(!String::from_utf8_lossy(&first.stderr).contains("not written by it"));
    let again = sh(
        dir.path(),
        "csv-chunk --rows 2 --out out/v.csv --manifest out/v.manifest in.ndjson",
    );
    assert_eq!(
        lines(&again),
        ["out/v-000001.csv", "out/v-000002.csv", "out/v-000003.csv"]
    );
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        err.contains(
            "out: 2 file(s) named like this run's output were not written by it \
                      (first: out/v-000004.csv)"
        ),
        "{err}"
    );
    assert_eq!(again.status.code(), Some(0));
}

#[test]
fn threads_and_inputs_do_not_change_a_byte() {
    let dir = tempfile::tempdir().unwrap();
    // About 4 MB per 30000-row file: several 1 MiB pieces per file, compressed on any thread.
    let input = records(100_000, &["a", "b", "a", "a", "c"]);
    fs::write(dir.path().join("in.ndjson"), &input).unwrap();
    let lines_of: Vec<&str> = input.lines().collect();
    for (i, part) in lines_of.chunks(30_001).enumerate() {
        fs::write(
            dir.path().join(format!("part{i}.ndjson")),
            part.join("\n") + "\n",
        )
        .unwrap();
    }
    let runs = [
        (
            "j1",
            "csv-chunk -j1 --out j1/x.csv.gz --rows 30000 --by event < in.ndjson",
        ),
        (
            "j2",
            "csv-chunk -j2 --block-size 64K --out j2/x.csv.gz --rows 30000 --by event in.ndjson",
        ),
        (
            "j3",
            "csv-chunk -j3 --out j3/x.csv.gz --rows 30000 --by event part*.ndjson",
        ),
        (
            "gz",
            "gzip -c in.ndjson | csv-chunk -j2 --out gz/x.csv.gz --rows 30000 --by event",
        ),
    ];
    let mut first: Option<(Vec<String>, Vec<Vec<u8>>)> = None;
    for (name, script) in runs {
        let out = sh(dir.path(), script);
        ok_stdout(&out);
        let listed: Vec<String> = lines(&out)
            .iter()
            .map(|l| l.trim_start_matches(&format!("{name}/")).to_string())
            .collect();
        let contents: Vec<Vec<u8>> = listed
            .iter()
            .map(|l| fs::read(dir.path().join(name).join(l)).unwrap())
            .collect();
        match &first {
            None => first = Some((listed, contents)),
            Some((l0, c0)) => {
                assert_eq!(&listed, l0, "{name}: same files in the same order");
                assert!(&contents == c0, "{name}: files differ from -j1");
            }
        }
    }
    let (listed, _) = first.unwrap();
    assert_eq!(
        listed.len(),
        2 + 1 + 1,
        "a: 60000 rows, b and c: 20000 each"
    );
}

#[test]
fn head_closing_stdout_is_quiet_and_leaves_no_temporary_files() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("in.ndjson"), records(50_000, &["a"])).unwrap();
    for j in ["-j1", "-j2"] {
        let out = sh(
            dir.path(),
            &format!("csv-chunk {j} --out o{j}/x.csv.gz --rows 100 in.ndjson | head -1"),
        );
        assert_eq!(out.status.code(), Some(0), "{j}");
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(lines(&out), [format!("o{j}/x-000001.csv.gz")]);
        no_temp_files(&dir.path().join(format!("o{j}")));
    }
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        "",
        "--out o/x --rows 0",
        "--out o/x --level 12 --gzip",
        "--out o/x --delimiter ab",
        "--out o/x --delimiter '\"'",
        "--out o/x --url-prefix s3://b/",
        "--out o/",
        "--out o/x --null-as a,b",
        "--out o/x --max-open 0",
        "--out o/x --columns ''",
        "--out o/x - in.ndjson",
    ] {
        fs::write(dir.path().join("in.ndjson"), "{\"a\":1}\n").unwrap();
        let out = sh(
            dir.path(),
            &format!("echo '{{\"a\":1}}' | csv-chunk {args}"),
        );
        assert_eq!(out.status.code(), Some(2), "csv-chunk {args}");
        assert!(!out.stderr.is_empty());
        assert!(!dir.path().join("o").exists(), "{args} wrote files");
    }
}

/// Checks a failed run: exit 1, one clear message, listed files complete, no temporary file,
/// no manifest.
fn assert_failed_cleanly(dir: &Path, out_dir: &Path, out: &Output, message: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(message), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    for listed in lines(out) {
        let text = gunzip(&dir.join(&listed));
        assert_eq!(
            text.iter().filter(|&&c| c == b'\n').count(),
            1001,
            "{listed}"
        );
    }
    no_temp_files(out_dir);
    assert!(
        !out_dir.join("m.json").exists(),
        "manifest written after a failure"
    );
}

#[test]
fn unwritable_output_directory_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("in.ndjson"), records(100, &["a"])).unwrap();
    fs::write(dir.path().join("file"), "").unwrap();
    let out = sh(
        dir.path(),
        "csv-chunk --out file/sub/x.csv.gz --manifest m.json in.ndjson",
    );
    assert_failed_cleanly(dir.path(), dir.path(), &out, "file/sub");
    assert!(out.stdout.is_empty());

    // A read-only directory (root ignores permission bits, so a read-only mount; skipped where
    // mounting is not allowed).
    let ro = dir.path().join("ro");
    fs::create_dir(&ro).unwrap();
    if mount(&ro, "ro,size=1m") {
        let out = sh(
            dir.path(),
            "csv-chunk --out ro/x.csv.gz --manifest ro/m.json in.ndjson",
        );
        umount(&ro);
        assert_failed_cleanly(dir.path(), &ro, &out, "Read-only file system");
    }
}

#[test]
fn file_size_limit_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("in.ndjson"), records(20_000, &["a"])).unwrap();
    for j in ["-j1", "-j2"] {
        // ulimit -f caps every file at 64 KiB; plain CSV files of 5000 rows are about 600 KB.
        let out = sh(
            dir.path(),
            &format!(
                "ulimit -f 64; csv-chunk {j} --out o{j}/x.csv --rows 5000 --manifest o{j}/m.json in.ndjson"
            ),
        );
        assert_failed_cleanly(
            dir.path(),
            &dir.path().join(format!("o{j}")),
            &out,
            "File too large",
        );
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn full_disk_fails_cleanly_after_listing_only_complete_files() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("in.ndjson"), records(200_000, &["a"])).unwrap();
    for j in ["-j1", "-j2"] {
        let small = dir.path().join(format!("small{j}"));
        fs::create_dir(&small).unwrap();
        if !mount(&small, "size=256k") {
            return;
        }
        let out = sh(
            dir.path(),
            &format!(
                "csv-chunk {j} --out small{j}/x.csv.gz --rows 1000 --level 1 \
                 --manifest small{j}/m.json in.ndjson"
            ),
        );
        let result = std::panic::catch_unwind(|| {
            assert!(
                !lines(&out).is_empty(),
                "some files fit before the disk filled"
            );
            assert_failed_cleanly(dir.path(), &small, &out, "No space left on device");
            let on_disk = dir_names(&small);
            let listed: BTreeSet<String> = lines(&out)
                .iter()
                .map(|l| l.rsplit('/').next().unwrap().to_string())
                .collect();
            assert_eq!(on_disk, listed, "exactly the listed files are on disk");
        });
        umount(&small);
        if let Err(panic) = result {
            std::panic::resume_unwind(panic);
        }
    }
}

#[test]
fn strict_stops_at_a_bad_line_without_leftovers() {
    let dir = tempfile::tempdir().unwrap();
    let mut input = records(5000, &["a"]);
    input.push_str("{broken\n");
    input.push_str(&records(10, &["a"]));
    fs::write(dir.path().join("in.ndjson"), input).unwrap();
    let out = sh(
        dir.path(),
        "csv-chunk --strict --out o/x.csv.gz --rows 1000 --manifest o/m.json in.ndjson",
    );
    assert_failed_cleanly(dir.path(), &dir.path().join("o"), &out, "invalid_json");
}

#[test]
fn columns_come_from_the_first_input_that_has_records() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("0.ndjson"), "# nothing yet\n").unwrap();
    fs::write(dir.path().join("1.ndjson"), "{\"a\":1,\"b\":2}\n").unwrap();
    fs::write(dir.path().join("2.ndjson"), "{\"b\":3}\n{\"c\":4}\n").unwrap();
    let out = sh(
        dir.path(),
        "csv-chunk --out o/x --stats s.json 0.ndjson 1.ndjson 2.ndjson && cat o/x-000001.csv",
    );
    assert_eq!(ok_stdout(&out), "o/x-000001.csv\na,b\n1,2\n,3\n");
    let st = stats(&dir.path().join("s.json"));
    assert_eq!(st["rejected_new_field"], 1);
    assert_lines_accounted(&st, "records_out");
}

#[test]
fn tsv_rows_of_empty_cells_or_starting_with_a_hash_are_rows() {
    // Past a TSV header every line is a row: all cells empty, or a first cell starting with
    // `#` (a decoded `%23`), as cflog-parse -o tsv writes them. Only an empty line of a table
    // of several columns is no row (skipped as blank); with one column it is an empty cell.
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("two.tsv"), "a\tb\n1\t2\n\t\n#x\t3\n\n").unwrap();
    fs::write(dir.path().join("one.tsv"), "a\n1\n\n#2\n").unwrap();
    let out = sh(
        dir.path(),
        "csv-chunk --out o/two --stats two.json two.tsv && csv-chunk --out o/one --stats one.json one.tsv \
         && cat o/two-000001.csv o/one-000001.csv",
    );
    assert_eq!(
        ok_stdout(&out),
        "o/two-000001.csv\no/one-000001.csv\na,b\n1,2\n,\n#x,3\na\n1\n\n#2\n"
    );
    let two = stats(&dir.path().join("two.json"));
    assert_eq!(two["records_out"], 3);
    assert_eq!(two["skipped_blank"], 1);
    assert_lines_accounted(&two, "records_out");
    let one = stats(&dir.path().join("one.json"));
    assert_eq!(one["records_out"], 3);
    assert_lines_accounted(&one, "records_out");
}

fn mount(dir: &Path, options: &str) -> bool {
    let ok = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", options, "tmpfs"])
        .arg(dir)
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipping: cannot mount a tmpfs at {}", dir.display());
    }
    ok
}

fn umount(dir: &Path) {
    let _ = std::process::Command::new("umount").arg(dir).status();
}

#[test]
fn a_tsv_header_naming_a_column_twice_stops_with_its_name() {
    // Mapping such rows by name would lose one of the values: stop, for the first input (whose
    // header gives the columns), a later one, and with --columns alike.
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("dup.tsv"), "a\tb\ta\n1\t2\t3\n").unwrap();
    fs::write(dir.path().join("ok.tsv"), "a\tb\n1\t2\n").unwrap();
    let message = "csv-chunk: dup.tsv: the header (line 1) names the column \"a\" more than once\n";
    for args in ["dup.tsv", "ok.tsv dup.tsv", "--columns b dup.tsv"] {
        let out = sh(dir.path(), &format!("csv-chunk --out o/r.csv {args}"));
        assert_eq!(out.status.code(), Some(1), "{args}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), message, "{args}");
        assert_eq!(lines(&out), Vec::<String>::new(), "{args}");
        assert_eq!(dir_names(&dir.path().join("o")), BTreeSet::new(), "{args}");
    }
}

#[test]
fn an_ndjson_record_holding_a_key_twice_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("in.ndjson"),
        "{\"a\":1,\"b\":2}\n{\"a\":3,\"b\":4,\"a\":5}\n{\"b\":6}\n",
    )
    .unwrap();
    let out = sh(
        dir.path(),
        "csv-chunk --out o/r --stats s.json --reject rej.txt in.ndjson && cat o/r-000001.csv",
    );
    assert_eq!(ok_stdout(&out), "o/r-000001.csv\na,b\n1,2\n,6\n");
    let st = stats(&dir.path().join("s.json"));
    assert_eq!(st["rejected_duplicate_key"], 1);
    assert_lines_accounted(&st, "records_out");
    assert_eq!(
        fs::read_to_string(dir.path().join("rej.txt")).unwrap(),
        "in.ndjson:2\tduplicate_key\t{\"a\":3,\"b\":4,\"a\":5}\n"
    );
}

#[test]
fn by_values_that_look_sanitized_keep_families_of_their_own() {
    // `a/b` is written as a_b-3a8e75c1 and null as _: the literal values `a_b-3a8e75c1` and
    // `_` must not join those families.
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("c.ndjson"),
        "{\"ev\":\"a/b\",\"v\":1}\n{\"ev\":\"a_b-3a8e75c1\",\"v\":2}\n{\"ev\":null,\"v\":3}\n\
         {\"ev\":\"_\",\"v\":4}\n",
    )
    .unwrap();
    let out = sh(
        dir.path(),
        "csv-chunk --out o/p.csv --by ev c.ndjson >/dev/null && for f in o/*; do echo \"$f\"; tail -n +2 \"$f\"; done",
    );
    assert_eq!(
        ok_stdout(&out),
        "o/p-_-000001.csv\n,3\n\
         o/p-_-da0c196e-000001.csv\n_,4\n\
         o/p-a_b-3a8e75c1-000001.csv\na/b,1\n\
         o/p-a_b-3a8e75c1-26fbce43-000001.csv\na_b-3a8e75c1,2\n"
    );
}
