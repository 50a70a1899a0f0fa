//! Round trips: records -> csv-chunk -> every listed file read back with the `csv` crate (and
//! flate2, which checks the gzip CRC and length) -> the same values, in order.
//!
//! Shell-level behaviour (failures, `| head`, usage errors, `-j` identity, counters) is tested
//! with the other tools in tests/tests/csv_chunk.rs.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

fn csv_chunk(dir: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_csv-chunk"))
        .args(args)
        .current_dir(dir)
        .env_remove("PARALLEL_SEQ")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    out
}

/// The files listed on stdout of a successful run.
fn listed(dir: &Path, out: &Output) -> Vec<PathBuf> {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| dir.join(l))
        .collect()
}

/// A file's records (header first), decompressed when it ends in .gz.
fn read_csv(path: &Path, delimiter: u8) -> Vec<Vec<String>> {
    let raw = std::fs::read(path).unwrap();
    let text = if path.extension().is_some_and(|e| e == "gz") {
        let mut s = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut s)
            .unwrap();
        s
    } else {
        raw
    };
    csv::ReaderBuilder::new()
        .has_headers(false)
        .delimiter(delimiter)
        .from_reader(&text[..])
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

/// The text csv-chunk writes for a JSON value.
fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

const NASTY: [&str; 10] = [
    "plain",
    "comma, inside",
    "say \"hi\"",
    "two\nlines",
    "cr\r\nlf",
    "tab\there",
    "unicode: café ☕ 日本",
    "",
    " spaces ",
    "\"",
];

fn records(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            json!({
                "id": i,
                "event": (["view", "download", "view"][i % 3]),
                "text": NASTY[i % NASTY.len()],
                "num": if i % 4 == 0 { Value::Null } else { json!(i as f64 / 4.0) },
                "nested": {"a": [1, "x,y"], "b": NASTY[(i + 3) % NASTY.len()]},
                "flag": i % 2 == 0,
            })
        })
        .collect()
}

fn ndjson(recs: &[Value]) -> Vec<u8> {
    recs.iter()
        .map(|r| format!("{r}\n"))
        .collect::<String>()
        .into_bytes()
}

#[test]
fn values_survive_the_round_trip_in_order() {
    let recs = records(1000);
    let dir = tempfile::tempdir().unwrap();
    for (j, out) in [("-j1", "a/x.csv.gz"), ("-j2", "b/x.csv.gz")] {
        let run = csv_chunk(
            dir.path(),
            &["--out", out, "--rows", "70", j],
            &ndjson(&recs),
        );
        let files = listed(dir.path(), &run);
        assert_eq!(files.len(), 15, "1000 rows in files of 70");
        let mut rows = Vec::new();
        for (k, f) in files.iter().enumerate() {
            let mut recs_in = read_csv(f, b',');
            assert_eq!(recs_in[0], ["id", "event", "text", "num", "nested", "flag"]);
            recs_in.remove(0);
            let want = if k + 1 < files.len() { 70 } else { 1000 % 70 };
            assert_eq!(recs_in.len(), want, "{}", f.display());
            rows.extend(recs_in);
        }
        assert_eq!(rows.len(), recs.len());
        for (row, rec) in rows.iter().zip(&recs) {
            let want: Vec<String> = ["id", "event", "text", "num", "nested", "flag"]
                .iter()
                .map(|k| cell(rec.get(*k)))
                .collect();
            assert_eq!(row, &want);
            // Nested values are compact JSON that parses back to the same value.
            let nested: Value = serde_json::from_str(&row[4]).unwrap();
            assert_eq!(nested, rec["nested"]);
        }
    }
}

#[test]
fn null_and_empty_string_stay_apart() {
    let dir = tempfile::tempdir().unwrap();
    let input = b"{\"a\":\"\",\"b\":null}\n{\"a\":\"\\\\N\",\"b\":\"x\"}\n";
    let run = csv_chunk(dir.path(), &["--out", "t.csv", "--no-header"], input);
    let files = listed(dir.path(), &run);
    assert_eq!(
        std::fs::read_to_string(&files[0]).unwrap(),
        "\"\",\n\\N,x\n"
    );
    let run = csv_chunk(
        dir.path(),
        &["--out", "u.csv", "--no-header", "--null-as", "\\N"],
        input,
    );
    let files = listed(dir.path(), &run);
    assert_eq!(
        std::fs::read_to_string(&files[0]).unwrap(),
        ",\\N\n\"\\N\",x\n"
    );
}

#[test]
fn tsv_input_columns_delimiter_and_missing_fields() {
    let dir = tempfile::tempdir().unwrap();
    let tsv = "id\tevent\ttext\n1\tview\ta\\tb\n2\t\tc,d\\ne\n";
    let run = csv_chunk(
        dir.path(),
        &[
            "--out",
            "t",
            "--delimiter",
            "tab",
            "--columns",
            "text,id,nope",
        ],
        tsv.as_bytes(),
    );
    let files = listed(dir.path(), &run);
    assert_eq!(files, [dir.path().join("t-000001.csv")]);
    assert_eq!(
        read_csv(&files[0], b'\t'),
        [
            vec!["text", "id", "nope"],
            vec!["a\tb", "1", ""],
            vec!["c,d\ne", "2", ""]
        ]
    );
    // Without --columns a TSV's columns are its header; an empty cell is null.
    let run = csv_chunk(dir.path(), &["--out", "u"], tsv.as_bytes());
    let files = listed(dir.path(), &run);
    assert_eq!(
        read_csv(&files[0], b','),
        [
            vec!["id", "event", "text"],
            vec!["1", "view", "a\tb"],
            vec!["2", "", "c,d\ne"]
        ]
    );
}

/// TSV text for a cell: backslash escapes for TAB, LF, CR and backslash.
fn tsv_cell(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('\t', "\\t")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}

/// The files of a run, by name, decompressed.
fn contents(dir: &Path, out: &Output) -> BTreeMap<String, Vec<u8>> {
    listed(dir, out)
        .iter()
        .map(|f| {
            let mut text = Vec::new();
            flate2::read::GzDecoder::new(&std::fs::read(f).unwrap()[..])
                .read_to_end(&mut text)
                .unwrap();
            (f.file_name().unwrap().to_string_lossy().into_owned(), text)
        })
        .collect()
}

#[test]
fn tsv_rows_converted_whole_equal_the_cell_by_cell_rows() {
    // A TSV whose header is the columns in order takes the whole-row conversion; the same
    // input with --columns naming them takes the cell-by-cell path. Every cell kind, in
    // every column, including non-UTF-8 bytes and long cells across 16-byte windows.
    let dir = tempfile::tempdir().unwrap();
    let mut tsv = b"id\tevent\ttext\tother\n".to_vec();
    for i in 0..600 {
        let long = "x".repeat(i % 40);
        let cells = [
            i.to_string(),
            ["view", "download", "", "se,arch"][i % 4].to_string(),
            tsv_cell(NASTY[i % NASTY.len()]),
            format!("{long}{}", tsv_cell(NASTY[(i / 3) % NASTY.len()])),
        ];
        tsv.extend_from_slice(cells.join("\t").as_bytes());
        if i % 7 == 0 {
            tsv.extend_from_slice(b"\xff\xfe");
        }
        tsv.push(b'\n');
    }
    let mut runs = Vec::new();
    for (out, columns) in [
        ("a/t.csv.gz", None),
        ("b/t.csv.gz", Some("id,event,text,other")),
    ] {
        let mut args = vec!["--out", out, "--rows", "50", "--by", "event", "-j2"];
        args.extend(columns.iter().flat_map(|c| ["--columns", c]));
        runs.push(contents(dir.path(), &csv_chunk(dir.path(), &args, &tsv)));
    }
    assert_eq!(runs[0].len(), 12, "{:?}", runs[0].keys());
    assert_eq!(runs[0], runs[1]);

    // A row with a cell too few or too many is rejected, not converted.
    let bad = b"id\tevent\n1\tview\n2\n3\tview\textra\n4\tview\n";
    let run = csv_chunk(
        dir.path(),
        &["--out", "c/t.csv", "--reject", "rej.txt"],
        bad,
    );
    let files = listed(dir.path(), &run);
    assert_eq!(
        std::fs::read_to_string(&files[0]).unwrap(),
        "id,event\n1,view\n4,view\n"
    );
    let rejects = std::fs::read_to_string(dir.path().join("rej.txt")).unwrap();
    assert_eq!(rejects.lines().count(), 2, "{rejects}");
    assert!(rejects.contains("field_count"), "{rejects}");
}

#[test]
fn nested_columns_and_by_field_outside_the_columns() {
    let dir = tempfile::tempdir().unwrap();
    let input = b"{\"App\":{\"Name\":\"x\",\"V\":1},\"n\":1}\n{\"App\":{\"Name\":\"y\"},\"n\":2}\n{\"n\":3}\n";
    let run = csv_chunk(
        dir.path(),
        &[
            "--out",
            "o/p.csv.gz",
            "--columns",
            "n,App.V",
            "--by",
            "App.Name",
        ],
        input,
    );
    let files = listed(dir.path(), &run);
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "p-x-000001.csv.gz",
            "p-y-000001.csv.gz",
            "p-_-000001.csv.gz"
        ]
    );
    assert_eq!(
        read_csv(&files[0], b','),
        [vec!["n", "App.V"], vec!["1", "1"]]
    );
    assert_eq!(
        read_csv(&files[1], b','),
        [vec!["n", "App.V"], vec!["2", ""]]
    );
}

#[test]
fn hostile_family_values_stay_in_the_directory_and_apart() {
    let dir = tempfile::tempdir().unwrap();
    let long = "L".repeat(300);
    let longer = "L".repeat(301);
    let values: Vec<Value> = vec![
        json!("../../x"),
        json!("a/b"),
        json!("a_b"),
        json!(""),
        json!(long),
        json!(longer),
        json!(".."),
        json!(".hidden"),
        json!("ctl\u{1}\n"),
        json!("views"),
    ];
    let mut recs = Vec::new();
    for i in 0..200 {
        recs.push(json!({"i": i, "ev": values[i % values.len()]}));
    }
    let run = csv_chunk(
        dir.path(),
        &["--out", "out/f.csv.gz", "--by", "ev", "--rows", "7", "-j2"],
        &ndjson(&recs),
    );
    let files = listed(dir.path(), &run);
    // Every file is directly inside out/, with a safe name.
    let out_dir = dir.path().join("out");
    let mut by_family: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
    for f in &files {
        assert_eq!(f.parent().unwrap(), out_dir);
        let name = f.file_name().unwrap().to_str().unwrap().to_string();
        assert!(!name.starts_with('.') && !name.contains(".."), "{name}");
        assert!(name.bytes().all(|c| c.is_ascii_graphic()), "{name}");
        assert!(name.len() < 100, "{name}");
        let family = name["f-".len()..name.len() - "-000001.csv.gz".len()].to_string();
        let mut rows = read_csv(f, b',');
        rows.remove(0);
        assert!(rows.len() <= 7);
        by_family.entry(family).or_default().extend(rows);
    }
    // Nothing was written anywhere but out/.
    let mut entries: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    entries.sort();
    assert_eq!(entries, ["out"]);
    assert_eq!(std::fs::read_dir(&out_dir).unwrap().count(), files.len());
    // One family per distinct value, each holding exactly that value's rows, in order.
    assert_eq!(by_family.len(), values.len());
    assert!(by_family.contains_key("_") && by_family.contains_key("views"));
    for rows in by_family.values() {
        assert_eq!(rows.len(), 20);
        let ev = &rows[0][1];
        assert!(rows.iter().all(|r| &r[1] == ev));
        let ids: Vec<usize> = rows.iter().map(|r| r[0].parse().unwrap()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }
}

#[test]
fn byte_cap_and_lru_closing_keep_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let recs: Vec<Value> = (0..300)
        .map(|i| json!({"i": i, "ev": (["a", "b", "c"][i % 3]), "pad": "p".repeat(i % 50)}))
        .collect();
    let run = csv_chunk(
        dir.path(),
        &[
            "--out",
            "o/f",
            "--by",
            "ev",
            "--bytes",
            "1K",
            "--max-open",
            "2",
            "-j2",
        ],
        &ndjson(&recs),
    );
    let files = listed(dir.path(), &run);
    let mut ids = Vec::new();
    for f in &files {
        let size = std::fs::metadata(f).unwrap().len();
        let rows = read_csv(f, b',');
        assert!(
            size <= 1024 || rows.len() == 2,
            "{} has {size} bytes",
            f.display()
        );
        ids.extend(rows[1..].iter().map(|r| r[0].parse::<usize>().unwrap()));
    }
    ids.sort_unstable();
    assert_eq!(ids, (0..300).collect::<Vec<_>>());
}
