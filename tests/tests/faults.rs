//! The fault matrix (issue 8): each test puts a real fault in front of the built binaries and
//! checks that nothing crashes, nothing is silently lost, and the exit status tells the truth.
//! RELIABILITY.md records the figures these tests (and their manual, bigger runs) produced.
//!
//! Sizes are chosen to keep the debug-build suite fast on 2 cores; the bigger manual figures
//! (10 million keys, 100,000 files) come from the same scripts with the env knobs below:
//! ONEBOX_FAULT_KEYS (default 2,000,000) and ONEBOX_FAULT_FILES (default 20,000).

use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use onebox_tests::{
    assert_lines_accounted, gzip, mmdb, ok_stdout, run_with_input, sh, stats, tool,
};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ndjson_records(range: std::ops::Range<usize>) -> String {
    range
        .map(|i| {
            format!(
                "{{\"event\":\"e{}\",\"c_ip\":\"81.2.69.{}\",\"n\":{i},\"s\":\"v{}\"}}\n",
                i % 3,
                i % 250,
                i % 7
            )
        })
        .collect()
}

fn names_in(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn gunzip(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(fs::File::open(path).unwrap())
        .read_to_end(&mut out)
        .unwrap_or_else(|e| panic!("{} is not a complete gzip file: {e}", path.display()));
    out
}

// ---------------------------------------------------------------------------------------------
// Signals

/// A tool run on an endless stdin, for tests that signal it mid-run.
struct Fed {
    child: Child,
    producer: std::thread::JoinHandle<()>,
}

impl Fed {
    /// Spawns `cmd` with stdin fed `batch(i)` for i = 0, 1, ... (pausing `pause` between
    /// batches) until the tool goes away (EPIPE) or two minutes pass, stderr piped. SIGINT and
    /// SIGTERM get their default actions, or SIGINT is ignored when `sigint_ignored`: a test
    /// run in the background of a non-interactive shell inherits SIGINT ignored, and the tools
    /// keep an ignored signal ignored, as sort does.
    fn spawn(
        cmd: &mut Command,
        sigint_ignored: bool,
        pause: Duration,
        batch: impl Fn(usize) -> String + Send + 'static,
    ) -> Fed {
        let sigint = if sigint_ignored {
            libc::SIG_IGN
        } else {
            libc::SIG_DFL
        };
        // SAFETY: signal() is async-signal-safe, as the code between fork and exec must be.
        unsafe {
            cmd.pre_exec(move || {
                libc::signal(libc::SIGINT, sigint);
                libc::signal(libc::SIGTERM, libc::SIG_DFL);
                Ok(())
            });
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the tool");
        let mut stdin = child.stdin.take().unwrap();
        let producer = std::thread::spawn(move || {
            let start = Instant::now();
            for i in 0.. {
                if start.elapsed() > Duration::from_secs(120)
                    || stdin.write_all(batch(i).as_bytes()).is_err()
                {
                    break;
                }
                std::thread::sleep(pause);
            }
        });
        Fed { child, producer }
    }

    /// Sends `signal` (a name for kill(1): TERM, INT).
    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the tool and its producer: how it ended and what it said.
    fn wait(mut self) -> (ExitStatus, String) {
        let status = self.child.wait().unwrap();
        let mut stderr = String::new();
        let mut pipe = self.child.stderr.take().unwrap();
        pipe.read_to_string(&mut stderr).unwrap();
        self.producer.join().unwrap();
        (status, stderr)
    }
}

/// Runs csv-chunk on an endless stream, sends `signal` once `files` files are announced, and
/// checks: the announced files are complete, no temporary file is left, and the process ended
/// by that signal.
fn interrupt_csv_chunk(signal: &str, signo: i32) {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let mut cmd = tool("csv-chunk");
    cmd.args(["--out"])
        .arg(out_dir.join("ev.csv.gz"))
        .args([
            "--rows",
            "500",
            "--by",
            "event",
            "-j2",
            "--block-size",
            "16K",
        ])
        .stdout(Stdio::piped());
    let mut fed = Fed::spawn(&mut cmd, false, Duration::from_millis(2), |i| {
        ndjson_records(i * 200..(i + 1) * 200)
    });
    let mut announced = Vec::new();
    let mut stdout = BufReader::new(fed.child.stdout.take().unwrap());
    while announced.len() < 6 {
        let mut line = String::new();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "csv-chunk ended early"
        );
        announced.push(line.trim_end().to_string());
    }
    fed.signal(signal);
    // Whatever else it announces before it stops must be complete too.
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    announced.extend(rest.lines().map(str::to_string));
    let (status, stderr) = fed.wait();

    assert_eq!(
        status.signal(),
        Some(signo),
        "ended by {signal}; status {status:?}, stderr {stderr}"
    );
    assert!(stderr.contains("interrupted"), "says why: {stderr}");
    let left: BTreeSet<String> = names_in(&out_dir);
    assert!(
        left.iter().all(|n| !n.contains(".tmp.")),
        "temporary files left: {left:?}"
    );
    for path in &announced {
        let text = gunzip(Path::new(path));
        let rows = text.iter().filter(|&&b| b == b'\n').count();
        assert_eq!(rows, 501, "{path}: header and 500 rows");
    }
    // Every file on disk was announced (nothing half-done was passed off as finished).
    let announced_names: BTreeSet<String> = announced
        .iter()
        .map(|p| {
            Path::new(p)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(left, announced_names);
}

#[test]
fn sigterm_mid_run_keeps_finished_files_and_removes_temporaries() {
    interrupt_csv_chunk("TERM", 15);
}

#[test]
fn sigint_mid_run_keeps_finished_files_and_removes_temporaries() {
    interrupt_csv_chunk("INT", 2);
}

// ---------------------------------------------------------------------------------------------
// Read errors mid-file

#[test]
fn truncated_gzip_in_the_middle_of_a_multi_file_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("a.gz"), gzip(ndjson_records(0..3000).as_bytes())).unwrap();
    let whole = gzip(ndjson_records(3000..6000).as_bytes());
    fs::write(d.join("b.gz"), &whole[..whole.len() / 2]).unwrap();
    fs::write(d.join("c.gz"), gzip(ndjson_records(6000..9000).as_bytes())).unwrap();

    // pivot-count: the run goes on, the bad file is named, the exit status is 1.
    let out = sh(
        d,
        "pivot-count -f event -o tsv --stats st.json a.gz b.gz c.gz > counts.tsv",
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("b.gz"), "names the broken file: {stderr}");
    let counts = fs::read_to_string(d.join("counts.tsv")).unwrap();
    let total: u64 = counts
        .lines()
        .skip(1)
        .map(|l| l.rsplit('\t').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert!(
        (6000..9000).contains(&total),
        "a and c counted, b partly: {total}"
    );
    let st = stats(&d.join("st.json"));
    assert_lines_accounted(&st, "records_counted");

    // csv-chunk: no temporary files left, exit 1, no manifest claiming a complete run.
    let out = sh(
        d,
        "csv-chunk --out out/x.csv.gz --rows 1000 --manifest out/m.txt a.gz b.gz c.gz > listed.txt",
    );
    assert_eq!(out.status.code(), Some(1));
    let left = names_in(&d.join("out"));
    assert!(left.iter().all(|n| !n.contains(".tmp.")), "{left:?}");
    assert!(!left.contains("m.txt"), "no manifest for a failed run");

    // Every streaming tool: exit 1 and the broken file named.
    for cmd in [
        "cflog-parse a.gz b.gz c.gz > /dev/null",
        "kv-join --table t.tsv --key event --table-key id a.gz b.gz c.gz > /dev/null",
    ] {
        fs::write(d.join("t.tsv"), "id\tname\ne0\tzero\n").unwrap();
        let out = sh(d, cmd);
        assert_eq!(out.status.code(), Some(1), "{cmd}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("b.gz"),
            "{cmd}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Giant lines

#[test]
fn a_100_mb_line_is_processed_whole() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let big = "x".repeat(100 << 20);
    let input = format!(
        "{{\"event\":\"small\"}}\n{{\"event\":\"big\",\"blob\":\"{big}\"}}\n{{\"event\":\"small\"}}\n"
    );
    fs::write(d.join("big.ndjson"), &input).unwrap();
    drop(input);

    let start = Instant::now();
    let out = sh(d, "pivot-count -f event -o tsv --stats st.json big.ndjson");
    let counts = ok_stdout(&out);
    assert_eq!(counts, "event\tcount\nsmall\t2\nbig\t1\n");
    assert_lines_accounted(&stats(&d.join("st.json")), "records_counted");

    // The line goes through a CSV file whole.
    let out = sh(
        d,
        "csv-chunk --out out/x.csv --columns event,blob big.ndjson > /dev/null && wc -c < out/x-000001.csv",
    );
    let size: usize = ok_stdout(&out).trim().parse().unwrap();
    assert!(size > 100 << 20, "the blob is in the CSV: {size}");

    // As a CloudFront line it is one rejected line, not a crash.
    let out = sh(d, "cflog-parse --stats st2.json big.ndjson | wc -l");
    assert_eq!(ok_stdout(&out).trim(), "0");
    let st = stats(&d.join("st2.json"));
    assert_lines_accounted(&st, "records_out");
    eprintln!("100 MB line through three tools: {:?}", start.elapsed());
}

// ---------------------------------------------------------------------------------------------
// Invalid UTF-8

/// Lines with invalid UTF-8 in keys, values, field names and CloudFront fields.
fn invalid_utf8_ndjson() -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(b"{\"event\":\"ok\",\"c_ip\":\"81.2.69.160\"}\n");
    v.extend_from_slice(b"{\"event\":\"bad\xff\xfe\",\"c_ip\":\"81.2.69.160\"}\n");
    v.extend_from_slice(b"{\"ev\xc3\x28nt\":\"x\"}\n");
    v.extend_from_slice(b"\xff\xff\xff\n");
    v.extend_from_slice(b"{\"event\":\"ok\",\"c_ip\":\"1.1.1.\xff\"}\n");
    v
}

#[test]
fn invalid_utf8_through_every_tool() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("in.ndjson"), invalid_utf8_ndjson()).unwrap();
    let mut tsv = b"event\tc_ip\nok\t81.2.69.160\nbad\xff\t1.1.1.1\n\xc3\x28\t\xe2\x82\n".to_vec();
    tsv.extend_from_slice(b"no\ttabs\textra\n");
    fs::write(d.join("in.tsv"), tsv).unwrap();
    let mut cf =
        b"#Version: 1.0\n#Fields: date time cs-uri-stem sc-status cs(User-Agent)\n".to_vec();
    cf.extend_from_slice(b"2024-01-01\t00:00:00\t/a\xff\t200\tMozilla%FF\xfe\n");
    cf.extend_from_slice(b"2024-01-01\t00:00:0\xff\t/b\t2\xff0\t-\n");
    cf.extend_from_slice(b"\xff\xfe\n");
    fs::write(d.join("cf.log"), cf).unwrap();
    fs::write(d.join("t.tsv"), b"id\tname\nok\tz\xff\n").unwrap();
    fs::write(d.join("city.mmdb"), mmdb::city_db()).unwrap();

    let runs = [
        ("cflog-parse --stats st.json cf.log", "records_out", true),
        ("cflog-parse -o tsv --stats st.json cf.log", "records_out", false),
        ("pivot-count -f event --stats st.json in.ndjson", "records_counted", false),
        ("pivot-count -f event -o ndjson --stats st.json in.tsv", "records_counted", true),
        (
            "kv-join --table t.tsv --key event --table-key id --stats st.json in.ndjson",
            "records_out",
            true,
        ),
        (
            "kv-join --table t.tsv --key event --table-key id --stats st.json in.tsv",
            "records_out",
            false,
        ),
        ("geoip-enrich --db city.mmdb --stats st.json in.ndjson", "records_out", true),
        ("geoip-enrich --db city.mmdb --stats st.json in.tsv", "records_out", false),
        (
            "csv-chunk --out out/a.csv --stats st.json --columns event,c_ip in.ndjson && cat out/*.csv",
            "records_out",
            false,
        ),
        (
            "csv-chunk --out out2/a.csv --stats st.json in.tsv && cat out2/*.csv",
            "records_out",
            false,
        ),
    ];
    for (cmd, kept, json_out) in runs {
        let out = sh(d, cmd);
        assert!(
            out.status.success(),
            "{cmd}: exit {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_lines_accounted(&stats(&d.join("st.json")), kept);
        if json_out {
            for line in out.stdout.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                let v: serde_json::Value = serde_json::from_slice(line).unwrap_or_else(|e| {
                    panic!("{cmd}: not JSON ({e}): {}", String::from_utf8_lossy(line))
                });
                assert!(v.is_object(), "{cmd}");
            }
        }
    }
    // The CSV from TSV input is UTF-8: the three cells that were not are repaired and counted.
    let csv = ok_stdout(&sh(d, "cat out2/*.csv"));
    assert!(csv.contains("bad\u{fffd},1.1.1.1\n"), "{csv}");
    let st = stats(&d.join("st.json"));
    assert_eq!(st["utf8_repaired"], 3, "{st}");
}

// ---------------------------------------------------------------------------------------------
// Many distinct keys with little memory

#[test]
fn millions_of_distinct_keys_with_a_small_mem_limit() {
    let keys = env_usize("ONEBOX_FAULT_KEYS", 2_000_000);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let start = Instant::now();
    // Each key twice (in two halves), so spilled partial counts must be merged to be right.
    let out = sh(
        d,
        &format!(
            "T=; [ -x /usr/bin/time ] && T='/usr/bin/time -f %M_KB -o rss.txt'; \
             {{ echo k; seq {keys}; seq {keys}; }} | $T pivot-count -i tsv -f k --mem-limit 8M -o tsv --stats st.json > counts.tsv && \
             awk -F'\\t' 'NR > 1 {{ n++; s += $2; if ($2 != 2) bad++ }} END {{ print n, s, bad + 0 }}' counts.tsv"
        ),
    );
    let summary = ok_stdout(&out);
    assert_eq!(
        summary.trim(),
        format!("{keys} {} 0", 2 * keys),
        "keys, total, wrong counts"
    );
    let st = stats(&d.join("st.json"));
    assert_lines_accounted(&st, "records_counted");
    let rss = fs::read_to_string(d.join("rss.txt")).unwrap_or_default();
    eprintln!(
        "{keys} distinct keys (x2) with --mem-limit 8M: {:?}, peak RSS {}",
        start.elapsed(),
        rss.trim()
    );
}

// ---------------------------------------------------------------------------------------------
// Corrupt databases

#[test]
fn corrupt_mmdb_fails_in_one_line_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = mmdb::city_db();
    let mut flipped = good.clone();
    // Damage the search tree at the start of the file; the metadata at the end stays readable.
    for b in flipped.iter_mut().take(4096).step_by(7) {
        *b ^= 0xA5;
    }
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty.mmdb", Vec::new()),
        ("text.mmdb", b"this is not a database\n".to_vec()),
        ("truncated.mmdb", good[..good.len() / 2].to_vec()),
        ("tail-only.mmdb", good[good.len() - 200..].to_vec()),
        ("flipped.mmdb", flipped),
    ];
    for (name, bytes) in cases {
        fs::write(d.join(name), bytes).unwrap();
        let mut cmd = tool("geoip-enrich");
        cmd.args(["--db", name]).current_dir(d);
        let out = run_with_input(&mut cmd, b"{\"c_ip\":\"81.2.69.160\"}\n");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        assert!(stderr.contains(name), "{name}: names the file: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{name}: one line: {stderr}");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    }
}

// ---------------------------------------------------------------------------------------------
// Empty input

#[test]
fn empty_input_for_every_tool() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("empty"), b"").unwrap();
    fs::write(d.join("empty.gz"), gzip(b"")).unwrap();
    fs::write(d.join("t.tsv"), "id\tname\na\tb\n").unwrap();
    fs::write(d.join("city.mmdb"), mmdb::city_db()).unwrap();
    let tools = [
        "cflog-parse",
        "pivot-count -f a",
        "pivot-count --merge",
        "kv-join --table t.tsv --key a --table-key id",
        "geoip-enrich --db city.mmdb",
        "csv-chunk --out out/x.csv",
    ];
    for cmd in tools {
        for input in ["< empty", "empty", "empty.gz", "< /dev/null"] {
            let out = sh(d, &format!("{cmd} {input}"));
            let stdout = ok_stdout(&out);
            assert!(
                out.stderr.is_empty(),
                "{cmd} {input}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            // No records: nothing, or only a header line.
            assert!(stdout.lines().count() <= 1, "{cmd} {input}: {stdout:?}");
        }
    }
    assert!(
        names_in(&d.join("out")).is_empty(),
        "csv-chunk wrote no file"
    );
}

// ---------------------------------------------------------------------------------------------
// Many tiny files

#[test]
fn a_directory_of_many_tiny_files() {
    let files = env_usize("ONEBOX_FAULT_FILES", 20_000);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let logs = d.join("logs");
    for i in 0..files {
        let sub = logs.join(format!("{:03}", i % 100));
        if i < 100 {
            fs::create_dir_all(&sub).unwrap();
        }
        fs::write(
            sub.join(format!("{i}.ndjson")),
            format!("{{\"k\":\"k{}\"}}\n", i % 10),
        )
        .unwrap();
    }
    let start = Instant::now();
    let out = sh(d, "pivot-count -f k -o tsv --stats st.json logs");
    let text = ok_stdout(&out);
    let total: usize = text
        .lines()
        .skip(1)
        .map(|l| l.rsplit('\t').next().unwrap().parse::<usize>().unwrap())
        .sum();
    assert_eq!(total, files);
    let st = stats(&d.join("st.json"));
    assert_eq!(st["files"], files as u64);
    assert_lines_accounted(&st, "records_counted");
    let took = start.elapsed();
    // The same through a find | --files-from -0 pipeline and through csv-chunk.
    let out = sh(
        d,
        "find logs -type f -print0 | pivot-count -0 --files-from - -f k -o tsv | awk -F'\\t' 'NR > 1 { s += $2 } END { print s }'",
    );
    assert_eq!(ok_stdout(&out).trim(), files.to_string());
    let out = sh(
        d,
        "csv-chunk --out out/x.csv --rows 1000000 --columns k logs | wc -l && wc -l < out/x-000001.csv",
    );
    assert_eq!(
        ok_stdout(&out).split_whitespace().collect::<Vec<_>>(),
        ["1", &(files + 1).to_string()]
    );
    eprintln!("{files} tiny files through pivot-count: {took:?}");
}

// ---------------------------------------------------------------------------------------------
// Security

#[test]
fn metrics_endpoint_on_a_bare_port_binds_loopback() {
    let mut child = tool("pivot-count")
        .args(["-f", "a", "--metrics-addr", "0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|s| s.trim().strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("no metrics address in {line:?}"))
        .to_string();
    let sock: std::net::SocketAddr = addr.parse().unwrap();
    assert!(sock.ip().is_loopback(), "bare port binds loopback: {sock}");
    let mut conn = std::net::TcpStream::connect(sock).unwrap();
    conn.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
    let mut resp = String::new();
    conn.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.0 200"), "{resp}");
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
}

#[test]
fn file_names_from_data_stay_inside_the_output_directory() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut input = String::new();
    for ev in [
        "../../escape",
        "/etc/passwd",
        "..",
        ".hidden",
        "a/b\\\\c",
        "nul\\u0000byte",
        "ok",
    ] {
        input.push_str(&format!("{{\"event\":\"{ev}\",\"n\":1}}\n"));
    }
    fs::write(d.join("in.ndjson"), input).unwrap();
    let out = sh(d, "csv-chunk --out out/ev.csv --by event in.ndjson");
    let listed = ok_stdout(&out);
    assert_eq!(listed.lines().count(), 7, "one file per value: {listed}");
    let out_dir = d.join("out").canonicalize().unwrap();
    for path in listed.lines() {
        let p = Path::new(path);
        let parent = d.join(p.parent().unwrap()).canonicalize().unwrap();
        assert_eq!(parent, out_dir, "{path} is in the output directory");
        let name = p.file_name().unwrap().to_string_lossy();
        assert!(!name.starts_with('.') && !name.contains(".."), "{name}");
    }
    // Nothing was written outside: the temporary directory holds only what we made.
    assert_eq!(
        names_in(d),
        ["in.ndjson", "out"].iter().map(|s| s.to_string()).collect()
    );
}

#[test]
fn a_fifo_whose_writer_finished_early_is_read_not_waited_on() {
    let d = tempfile::tempdir().unwrap();
    // The tool opens first and waits; the writer comes, writes one line and is gone. An input
    // opened a second time would then wait forever for another writer (`timeout` makes that
    // a failure, not a hang).
    let out = sh(
        d.path(),
        "mkfifo f && { (sleep 0.5; printf '{\"a\":9}\\n' > f) & } && \
         timeout 20 pivot-count -f a --stats st.json f",
    );
    assert_eq!(ok_stdout(&out), "a,count\n9,1\n");
    assert_lines_accounted(&stats(&d.path().join("st.json")), "records_counted");
}

/// Interrupts a pivot-count that is spilling (an endless stream of distinct keys, a tiny
/// --mem-limit) once its runs are on disk, and checks that none are left behind.
fn interrupt_spilling_pivot_count(signal: &str, signo: i32) {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("tmp");
    fs::create_dir(&tmp).unwrap();
    let mut cmd = tool("pivot-count");
    cmd.args(["-f", "n,c_ip", "--mem-limit", "64K", "-j2"])
        .env("TMPDIR", &tmp)
        .stdout(Stdio::null());
    let fed = Fed::spawn(&mut cmd, false, Duration::ZERO, |i| {
        ndjson_records(i * 500..(i + 1) * 500)
    });
    let start = Instant::now();
    while names_in(&tmp).len() < 2 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no spill runs appeared"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    fed.signal(signal);
    let (status, stderr) = fed.wait();
    assert_eq!(status.signal(), Some(signo), "{status:?}, stderr {stderr}");
    assert!(stderr.contains("spill files removed"), "{stderr}");
    assert_eq!(names_in(&tmp), BTreeSet::new(), "spill runs left behind");
}

#[test]
fn sigterm_while_spilling_leaves_no_spill_runs() {
    interrupt_spilling_pivot_count("TERM", 15);
}

#[test]
fn sigint_while_spilling_leaves_no_spill_runs() {
    interrupt_spilling_pivot_count("INT", 2);
}

/// A tool started with SIGINT ignored (a background job of a non-interactive shell) keeps it
/// ignored, as sort does, and still stops cleanly on SIGTERM.
#[test]
fn sigint_ignored_at_start_stays_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv_chunk = tool("csv-chunk");
    csv_chunk
        .arg("--out")
        .arg(dir.path().join("out").join("ev.csv.gz"))
        .args(["--rows", "500"]);
    let mut pivot_count = tool("pivot-count");
    pivot_count
        .args(["-f", "n,c_ip", "--mem-limit", "64K"])
        .env("TMPDIR", dir.path());
    for cmd in [&mut csv_chunk, &mut pivot_count] {
        cmd.stdout(Stdio::null());
        let mut fed = Fed::spawn(cmd, true, Duration::from_millis(1), |i| {
            ndjson_records(i * 200..(i + 1) * 200)
        });
        std::thread::sleep(Duration::from_millis(300));
        fed.signal("INT");
        std::thread::sleep(Duration::from_millis(300));
        assert!(fed.child.try_wait().unwrap().is_none(), "SIGINT ended it");
        fed.signal("TERM");
        let (status, stderr) = fed.wait();
        assert_eq!(status.signal(), Some(15), "{status:?}, stderr {stderr}");
    }
}
