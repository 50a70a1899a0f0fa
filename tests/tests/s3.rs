//! End-to-end tests of S3: s3ls-logs, s3:// inputs and csv-chunk --to, against moto's S3
//! server on loopback, directly and through a fault-injecting proxy written here.
//!
//! moto_server comes from the test venv (`scripts/install-test-deps.sh` installs
//! `moto[server]`); without it these tests print a notice and pass without running (the
//! local-directory test at the end needs no server).
//!
//! The bucket holds 2,592 gzip'd CloudFront log objects (2 distributions x 3 days x 24 hours
//! x 18), so listings need several ListObjectsV2 pages. The same files are kept in a local
//! directory, so every S3 result is compared with the same command on local files.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use onebox_tests::{bin_dir, gzip, ok_stdout, stats};

const BUCKET: &str = "cf-logs";
const DISTS: [&str; 2] = ["E1AAAAAAAAAAAA", "E2BBBBBBBBBBBB"];
const DAYS: [&str; 3] = ["2017-01-14", "2017-01-15", "2017-01-16"];
const PER_HOUR: usize = 18;
const TOTAL_OBJECTS: usize = DISTS.len() * DAYS.len() * 24 * PER_HOUR;
const SECRET: &str = "s3cr3t-test-key-do-not-print";

const FIELDS_24: &str = "#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) \
cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type \
x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol \
ssl-cipher x-edge-response-result-type cs-protocol-version\n";

/// A running moto server; killed when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The shared fixture: a server with the bucket filled, and the same files on disk.
struct Fixture {
    server: Server,
    /// Local copy of the bucket's objects (key = file name under `dir/logs/`).
    dir: tempfile::TempDir,
    proxy: Arc<Proxy>,
}

fn moto_server() -> Option<PathBuf> {
    let venv_bin = match std::env::var_os("ONEBOX_TEST_PYTHON") {
        Some(py) => PathBuf::from(py).parent()?.to_path_buf(),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-venv/bin"),
    };
    let path = venv_bin.join("moto_server");
    path.exists().then_some(path)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_moto(exe: &Path, auth: bool) -> Server {
    let port = free_port();
    let mut cmd = Command::new(exe);
    cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if auth {
        // Every request must be signed with a key moto's IAM knows (none are made).
        cmd.env("INITIAL_NO_AUTH_ACTION_COUNT", "0");
    }
    let server = Server {
        child: cmd.spawn().expect("start moto_server"),
        port,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "moto_server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

/// The fixture, made once for all tests of this file; `None` (with a notice) without moto.
fn fixture() -> Option<&'static Fixture> {
    static FIXTURE: OnceLock<Option<Fixture>> = OnceLock::new();
    FIXTURE
        .get_or_init(|| {
            let Some(exe) = moto_server() else {
                eprintln!(
                    "NOTICE: moto_server not found (run scripts/install-test-deps.sh); \
                     S3 tests skipped"
                );
                return None;
            };
            let server = start_moto(&exe, false);
            let dir = tempfile::tempdir().unwrap();
            write_logs(&dir.path().join("logs"));
            upload_logs(server.port, &dir.path().join("logs"));
            let proxy = Proxy::start(server.port);
            cleanup_at_exit(server.child.id(), dir.path());
            Some(Fixture { server, dir, proxy })
        })
        .as_ref()
}

/// A static is never dropped: at exit, stop the fixture's server and remove its files, so no
/// moto_server outlives the test run.
fn cleanup_at_exit(pid: u32, dir: &Path) {
    static PID: OnceLock<u32> = OnceLock::new();
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    extern "C" fn cleanup() {
        if let Some(&pid) = PID.get() {
            // SAFETY: kill(2) on the pid of our own child; no memory is touched.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
        }
        if let Some(dir) = DIR.get() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
    let _ = PID.set(pid);
    let _ = DIR.set(dir.to_path_buf());
    // SAFETY: registers a plain function with no arguments, as atexit(3) requires.
    unsafe { libc::atexit(cleanup) };
}

/// Writes the log files: a few lines each, some objects with two `#Fields` blocks.
fn write_logs(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let mut n = 0usize;
    for dist in DISTS {
        for day in DAYS {
            for hour in 0..24 {
                for k in 0..PER_HOUR {
                    n += 1;
                    let mut text = format!("#Version: 1.0\n{FIELDS_24}");
                    for i in 0..(3 + n % 7) {
                        text.push_str(&log_line(day, hour, n * 10 + i));
                    }
                    let name = format!("{dist}.{day}-{hour:02}.{n:06x}{k:02}.gz");
                    std::fs::write(dir.join(name), gzip(text.as_bytes())).unwrap();
                }
            }
        }
    }
}

fn log_line(day: &str, hour: usize, i: usize) -> String {
    let path = ["/index.html", "/img/a.png", "/api/v1/items", "/a%20b"][i % 4];
    format!(
        "{day}\t{hour:02}:{:02}:{:02}\tSEA19-C1\t{}\t192.0.2.{}\tGET\td1.cloudfront.net\t{path}\t{}\t-\tcurl/8.0\tn={i}\t-\tHit\treq{i}==\texample.com\thttps\t120\t0.0{:02}\t-\tTLSv1.3\tTLS_AES_128_GCM_SHA256\tHit\tHTTP/2.0\n",
        i % 60,
        (i / 60) % 60,
        500 + i,
        i % 250,
        ["200", "404", "304"][i % 3],
        i % 100,
    )
}

/// Uploads the local files with boto3 (from the same venv as moto), 16 at a time.
fn upload_logs(port: u16, dir: &Path) {
    let python = moto_server().unwrap().parent().unwrap().join("python");
    let script = r#"
import os, sys, boto3
from concurrent.futures import ThreadPoolExecutor
endpoint, bucket, root = sys.argv[1], sys.argv[2], sys.argv[3]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id="testing", aws_secret_access_key="testing")
s3.create_bucket(Bucket=bucket)
s3.create_bucket(Bucket="uploads")
def put(name):
    with open(os.path.join(root, name), "rb") as f:
        s3.put_object(Bucket=bucket, Key="logs/" + name, Body=f.read())
with ThreadPoolExecutor(16) as pool:
    list(pool.map(put, sorted(os.listdir(root))))
s3.put_object(Bucket=bucket, Key="logs/README.txt", Body=b"not a log\n")
"#;
    let out = Command::new(python)
        .args([
            "-c",
            script,
            &format!("http://127.0.0.1:{port}"),
            BUCKET,
            dir.to_str().unwrap(),
        ])
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "upload failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs a bash script with the tools on PATH and test credentials in the environment.
fn s3sh(dir: &Path, script: &str) -> Output {
    s3sh_env(dir, script, &[])
}

fn s3sh_env(dir: &Path, script: &str, env: &[(&str, &str)]) -> Output {
    let path = format!(
        "{}:{}",
        bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("bash");
    cmd.args(["-o", "pipefail", "-c", script])
        .current_dir(dir)
        .env("PATH", path)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
    for var in [
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "CLICOLOR_FORCE",
        "FORCE_COLOR",
        "PARALLEL_SEQ",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("bash")
}

fn endpoint(port: u16) -> String {
    format!("--endpoint-url http://127.0.0.1:{port}")
}

#[test]
fn listing_follows_pages_and_filters_by_hour_and_distribution() {
    let Some(fx) = fixture() else { return };
    let ep = endpoint(fx.server.port);
    let dir = fx.dir.path();

    // No range: every log object under the prefix (README.txt is not a log name).
    let all = ok_stdout(&s3sh(dir, &format!("s3ls-logs {ep} s3://{BUCKET}/logs/")));
    assert_eq!(all.lines().count(), TOTAL_OBJECTS, "pagination");
    let mut sorted: Vec<&str> = all.lines().collect();
    sorted.sort();
    assert_eq!(sorted, all.lines().collect::<Vec<_>>(), "key order");

    // A day, both distributions; the same filter on the local directory.
    for args in [
        "--date 2017-01-15",
        "--from 2017-01-15T00 --to 2017-01-16T06",
        "--date 2017-01-16 --distribution E2BBBBBBBBBBBB",
        "--from 2017-01-14T23 --to 2017-01-15T01 --distribution E2BBBBBBBBBBBB,E1AAAAAAAAAAAA",
        "--from 2017-01-16T20",
        "--date 2017-01-20",
    ] {
        let s3 = ok_stdout(&s3sh(
            dir,
            &format!("s3ls-logs {ep} s3://{BUCKET}/logs/ {args}"),
        ));
        let local = ok_stdout(&s3sh(dir, &format!("s3ls-logs logs/ {args}")));
        let strip = |text: &str| -> Vec<String> {
            text.lines()
                .map(|l| l.rsplit('/').next().unwrap().to_string())
                .collect()
        };
        assert_eq!(strip(&s3), strip(&local), "{args}");
        let expected = match args {
            "--date 2017-01-15" => 2 * 24 * PER_HOUR,
            "--from 2017-01-15T00 --to 2017-01-16T06" => 2 * 31 * PER_HOUR,
            "--date 2017-01-16 --distribution E2BBBBBBBBBBBB" => 24 * PER_HOUR,
            "--from 2017-01-16T20" => 2 * 4 * PER_HOUR,
            "--date 2017-01-20" => 0,
            _ => 2 * 3 * PER_HOUR,
        };
        assert_eq!(s3.lines().count(), expected, "{args}");
        assert!(s3
            .lines()
            .all(|l| l.starts_with(&format!("s3://{BUCKET}/logs/E"))));
    }
}

#[test]
fn output_forms_and_totals() {
    let Some(fx) = fixture() else { return };
    let ep = endpoint(fx.server.port);
    let dir = fx.dir.path();
    let base = format!(
        "s3ls-logs {ep} s3://{BUCKET}/logs/ --date 2017-01-15 --distribution E1AAAAAAAAAAAA"
    );

    let lines = ok_stdout(&s3sh(dir, &base));
    let nul = s3sh(dir, &format!("{base} -0"));
    assert!(nul.status.success());
    assert_eq!(nul.stdout, lines.replace('\n', "\0").into_bytes());

    let long = ok_stdout(&s3sh(dir, &format!("{base} --long")));
    let records: Vec<serde_json::Value> = long
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 24 * PER_HOUR);
    let first = &records[0];
    let key = first["key"].as_str().unwrap();
    assert_eq!(first["uri"], format!("s3://{BUCKET}/{key}"));
    let local_size = std::fs::metadata(dir.join(key)).unwrap().len();
    assert_eq!(first["size"], local_size);
    assert!(first["last_modified"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        first["etag"].as_str().unwrap().len(),
        32,
        "MD5 etag, unquoted"
    );

    let tsv = ok_stdout(&s3sh(dir, &format!("{base} --long -o tsv")));
    assert_eq!(
        tsv.lines().next().unwrap(),
        "uri\tkey\tsize\tlast_modified\tetag"
    );
    assert_eq!(tsv.lines().count(), 24 * PER_HOUR + 1);

    let total = s3sh(dir, &format!("{base} --total > /dev/null"));
    let bytes: u64 = records.iter().map(|r| r["size"].as_u64().unwrap()).sum();
    let total = String::from_utf8_lossy(&total.stderr);
    assert!(
        total.starts_with(&format!(
            "s3ls-logs: {} objects, {bytes} bytes (",
            24 * PER_HOUR
        )),
        "{total}"
    );
    assert_eq!(total.lines().count(), 1);

    // Usage errors exit 2.
    let bad = s3sh(dir, &format!("{base} --from 2017-01-15T00"));
    assert_eq!(bad.status.code(), Some(2));
    let bad = s3sh(dir, "s3ls-logs logs/ --from 2017-01-15T30");
    assert_eq!(bad.status.code(), Some(2));
}

/// Parses with cflog-parse: the S3 list through the proxy (or directly), or local files.
fn parse_day(fx: &Fixture, via: &str, extra: &str, stats_file: &str) -> Output {
    let dir = fx.dir.path();
    let list = "--date 2017-01-15 --distribution E1AAAAAAAAAAAA";
    let script = match via {
        "local" => format!(
            "s3ls-logs logs/ {list} | cflog-parse --files-from - -j2 {extra} --stats {stats_file}"
        ),
        _ => {
            let port = if via == "proxy" {
                fx.proxy.port
            } else {
                fx.server.port
            };
            format!(
                "s3ls-logs {} s3://{BUCKET}/logs/ {list} | cflog-parse {} --files-from - -j2 \
                 --fetch-threads 8 {extra} --stats {stats_file}",
                endpoint(fx.server.port),
                endpoint(port)
            )
        }
    };
    s3sh(dir, &script)
}

#[test]
fn s3_inputs_parse_like_local_files_even_with_faults() {
    let Some(fx) = fixture() else { return };
    let dir = fx.dir.path();
    let local = ok_stdout(&parse_day(fx, "local", "", "local.stats"));
    assert!(local.lines().count() > 1000, "{}", local.lines().count());

    let direct = parse_day(fx, "direct", "", "direct.stats");
    assert_eq!(ok_stdout(&direct), local);
    let st = stats(&dir.join("direct.stats"));
    assert_eq!(st["files"], 24 * PER_HOUR);
    assert_eq!(st["retries"], 0);
    assert_eq!(st["files_failed"], 0);

    // 10% of requests answered with 503 SlowDown, reset, or a body cut short.
    fx.proxy.set(100, None);
    let faulted = parse_day(fx, "proxy", "", "faulted.stats");
    let injected = fx.proxy.faults.load(Ordering::SeqCst);
    let ranged = fx.proxy.ranged.load(Ordering::SeqCst);
    fx.proxy.set(0, None);
    assert_eq!(ok_stdout(&faulted), local, "byte-identical under faults");
    let st = stats(&dir.join("faulted.stats"));
    eprintln!("faulted run: {injected} faults injected; stats {st}");
    assert!(injected > 10, "faults injected: {injected}");
    assert_eq!(st["retries"], injected, "every fault retried once: {st}");
    assert_eq!(st["files_failed"], 0);
    // Cut bodies were resumed from the byte reached, not fetched again.
    eprintln!("faulted run: {ranged} ranged GETs");
    assert!(ranged > 0, "no ranged GET: {st}");
    let direct_bytes = stats(&dir.join("direct.stats"))["s3_bytes_downloaded"].clone();
    assert_eq!(st["s3_bytes_downloaded"], direct_bytes);
    assert!(
        faulted.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&faulted.stderr)
    );
}

#[test]
fn a_permanently_failing_object_is_named_and_the_rest_processed() {
    let Some(fx) = fixture() else { return };
    let dir = fx.dir.path();
    let names = ok_stdout(&s3sh(
        dir,
        "s3ls-logs logs/ --date 2017-01-15 --distribution E1AAAAAAAAAAAA",
    ));
    let names: Vec<&str> = names.lines().collect();
    let bad = names[names.len() / 2]
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let rest: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !n.ends_with(&bad))
        .collect();
    std::fs::write(dir.join("rest.list"), rest.join("\n") + "\n").unwrap();
    let expected = ok_stdout(&s3sh(dir, "cflog-parse --files-from rest.list -j2"));

    fx.proxy.set(0, Some(bad.clone()));
    let out = parse_day(fx, "proxy", "--retries 2", "failing.stats");
    fx.proxy.set(0, None);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), expected);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!("s3://{BUCKET}/logs/{bad}")) && stderr.contains("SlowDown"),
        "{stderr}"
    );
    let st = stats(&dir.join("failing.stats"));
    assert_eq!(st["files_failed"], 1);
    assert_eq!(st["files"], 24 * PER_HOUR - 1);
}

#[test]
fn csv_chunk_uploads_files_and_lists_s3_urls() {
    let Some(fx) = fixture() else { return };
    let dir = fx.dir.path();
    let ep = endpoint(fx.server.port);
    let script = format!(
        "cflog-parse logs/E2BBBBBBBBBBBB.2017-01-14-0* | csv-chunk {ep} --out stage/v.csv.gz \
         --rows 500 --to s3://uploads/load/ --manifest v.manifest"
    );
    let listed = ok_stdout(&s3sh(dir, &script));
    let uris: Vec<&str> = listed.lines().collect();
    assert!(uris.len() >= 2, "{listed}");
    assert_eq!(uris[0], "s3://uploads/load/v-000001.csv.gz");
    // The local copies are gone; the objects are in S3 and read back the same rows.
    assert!(!dir.join("stage/v-000001.csv.gz").exists());
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("v.manifest")).unwrap()).unwrap();
    let urls: Vec<&str> = manifest["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["url"].as_str().unwrap())
        .collect();
    assert_eq!(urls, uris);
    // The uploaded objects hold every parsed record (one header row per file).
    let script = r#"
import sys, gzip, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                  aws_access_key_id="testing", aws_secret_access_key="testing")
n = 0
for uri in sys.argv[2:]:
    key = uri.split("/", 3)[3]
    body = s3.get_object(Bucket="uploads", Key=key)["Body"].read()
    n += len(gzip.decompress(body).splitlines()) - 1
print(n)
"#;
    let python = moto_server().unwrap().parent().unwrap().join("python");
    let rows = Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(format!("http://127.0.0.1:{}", fx.server.port))
        .args(&uris)
        .output()
        .unwrap();
    let rows = ok_stdout(&rows);
    let parsed = ok_stdout(&s3sh(
        dir,
        "cflog-parse logs/E2BBBBBBBBBBBB.2017-01-14-0* | wc -l",
    ));
    assert_eq!(rows.trim(), parsed.trim());
}

#[test]
fn wrong_credentials_and_missing_buckets_give_one_clear_line() {
    let Some(fx) = fixture() else { return };
    let dir = fx.dir.path();
    let ep = endpoint(fx.server.port);

    let missing = s3sh(dir, &format!("s3ls-logs {ep} s3://no-such-bucket/logs/"));
    assert_eq!(missing.status.code(), Some(1));
    let err = String::from_utf8(missing.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("s3://no-such-bucket/logs/") && err.contains("NoSuchBucket"),
        "{err}"
    );

    let missing = s3sh(
        dir,
        &format!("cflog-parse {ep} s3://no-such-bucket/logs/x.gz"),
    );
    assert_eq!(missing.status.code(), Some(1));
    let err = String::from_utf8(missing.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("s3://no-such-bucket/logs/x.gz") && err.contains("NoSuchBucket"),
        "{err}"
    );

    // A server that checks signatures, and a key it does not know.
    let auth = start_moto(&moto_server().unwrap(), true);
    for cmd in [
        format!(
            "s3ls-logs {} s3://{BUCKET}/logs/ --date 2017-01-15",
            endpoint(auth.port)
        ),
        format!("cflog-parse {} s3://{BUCKET}/logs/", endpoint(auth.port)),
        format!(
            "cflog-parse {} s3://{BUCKET}/logs/a.gz",
            endpoint(auth.port)
        ),
    ] {
        let out = s3sh_env(dir, &cmd, &[("AWS_ACCESS_KEY_ID", "AKIAWRONGWRONGWRONG")]);
        assert_eq!(out.status.code(), Some(1), "{cmd}");
        let err = String::from_utf8(out.stderr).unwrap();
        eprintln!("{cmd}: {err}");
        assert_eq!(err.lines().count(), 1, "{cmd}: {err}");
        assert!(
            err.contains("InvalidAccessKeyId") || err.contains("403"),
            "{cmd}: {err}"
        );
        assert!(!err.contains(SECRET), "the secret key leaked: {err}");
    }
}

/// Fault-injecting HTTP proxy in front of moto: one request per connection (it asks both
/// sides to close), and at `rate` per mille answers 503 SlowDown, resets the connection, or
/// sends the response with its body cut in half. Requests for `fail_key` always get 503.
struct Proxy {
    port: u16,
    upstream: u16,
    rate: AtomicU64,
    seq: AtomicU64,
    faults: AtomicU64,
    /// Requests that asked for a byte range (resumed downloads).
    ranged: AtomicU64,
    fail_key: Mutex<Option<String>>,
}

impl Proxy {
    fn start(upstream: u16) -> Arc<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let proxy = Arc::new(Proxy {
            port: listener.local_addr().unwrap().port(),
            upstream,
            rate: AtomicU64::new(0),
            seq: AtomicU64::new(0),
            faults: AtomicU64::new(0),
            ranged: AtomicU64::new(0),
            fail_key: Mutex::new(None),
        });
        let p = proxy.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let p = p.clone();
                std::thread::spawn(move || {
                    let _ = p.handle(conn);
                });
            }
        });
        proxy
    }

    /// Sets the fault rate (per mille) and the always-failing key; resets the fault count.
    fn set(&self, rate: u64, fail_key: Option<String>) {
        self.rate.store(rate, Ordering::SeqCst);
        self.faults.store(0, Ordering::SeqCst);
        self.ranged.store(0, Ordering::SeqCst);
        *self.fail_key.lock().unwrap() = fail_key;
    }

    fn handle(&self, mut client: TcpStream) -> std::io::Result<()> {
        let n = self.seq.fetch_add(1, Ordering::SeqCst);
        let roll = splitmix(n);
        let fault = (roll % 1000 < self.rate.load(Ordering::SeqCst)).then_some((roll >> 20) % 3);
        if fault == Some(0) {
            // Reset: close with the request unread, so the kernel answers with RST.
            let mut first = [0u8; 8];
            client.read_exact(&mut first)?;
            self.faults.fetch_add(1, Ordering::SeqCst);
            return Ok(());
        }
        let request = read_request(&mut client)?;
        let line_end = request.iter().position(|&b| b == b'\n').unwrap_or(0);
        let request_line = String::from_utf8_lossy(&request[..line_end]).to_string();
        if String::from_utf8_lossy(&request)
            .to_ascii_lowercase()
            .contains("\r\nrange: bytes=")
        {
            self.ranged.fetch_add(1, Ordering::SeqCst);
        }
        let always_fail = self
            .fail_key
            .lock()
            .unwrap()
            .as_ref()
            .is_some_and(|k| request_line.contains(k.as_str()));
        if always_fail || fault == Some(1) {
            if !always_fail {
                self.faults.fetch_add(1, Ordering::SeqCst);
            }
            let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
            let resp = format!(
                "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            client.write_all(resp.as_bytes())?;
            let _ = client.shutdown(Shutdown::Write);
            return Ok(());
        }
        let mut upstream = TcpStream::connect(("127.0.0.1", self.upstream))?;
        upstream.write_all(&with_connection_close(&request))?;
        let mut response = Vec::new();
        upstream.read_to_end(&mut response)?;
        let head_end = find(&response, b"\r\n\r\n").map_or(response.len(), |i| i + 4);
        if fault == Some(2) && response.len() - head_end >= 2 {
            let cut = head_end + (response.len() - head_end) / 2;
            self.faults.fetch_add(1, Ordering::SeqCst);
            client.write_all(&response[..cut])?;
        } else {
            if fault == Some(2) {
                // Nothing to cut (an empty body): not a fault after all.
            }
            client.write_all(&response)?;
        }
        let _ = client.shutdown(Shutdown::Write);
        Ok(())
    }
}

fn splitmix(n: u64) -> u64 {
    let mut z = n
        .wrapping_add(0x9e37_79b9_7f4a_7c15)
        .wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 30)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Reads one HTTP request: the head, then a Content-Length body.
fn read_request(conn: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        let n = conn.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = conn.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(buf)
}

/// The request with its Connection header replaced by `Connection: close`.
fn with_connection_close(request: &[u8]) -> Vec<u8> {
    let head_end = find(request, b"\r\n\r\n").map_or(request.len(), |i| i + 4);
    let head = String::from_utf8_lossy(&request[..head_end]);
    let mut out = String::new();
    for line in head.split("\r\n").filter(|l| !l.is_empty()) {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&request[head_end..]);
    bytes
}

// Local directories: these need no S3 server.

#[test]
fn a_local_listing_follows_links_and_prints_names_as_their_bytes() {
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let logs = dir.join("L");
    std::fs::create_dir_all(logs.join("real")).unwrap();
    std::fs::write(logs.join("real/E1AAA.2017-01-15-00.aaa.gz"), "linked\n").unwrap();
    let odd = std::ffi::OsStr::from_bytes(b"E1AAA.2017-01-15-02.\xff.gz");
    std::fs::write(logs.join(odd), "odd\n").unwrap();
    std::os::unix::fs::symlink(
        "real/E1AAA.2017-01-15-00.aaa.gz",
        logs.join("E1AAA.2017-01-15-01.bbb.gz"),
    )
    .unwrap();
    std::os::unix::fs::symlink("gone", logs.join("E1AAA.2017-01-15-03.ccc.gz")).unwrap();
    let listed: &[u8] = b"L/E1AAA.2017-01-15-01.bbb.gz\nL/E1AAA.2017-01-15-02.\xff.gz\n";
    let nul_listed: &[u8] = b"L/E1AAA.2017-01-15-01.bbb.gz\0L/E1AAA.2017-01-15-02.\xff.gz\0";
    let broken = "s3ls-logs: L/E1AAA.2017-01-15-03.ccc.gz: a symbolic link to nothing; left out\n";
    // Each mode prints the two readable files, the next tool can open them, and the broken
    // link is named on stderr (exit status 1).
    for (script, stdout) in [
        ("s3ls-logs L/", listed.to_vec()),
        ("s3ls-logs L/ -0", nul_listed.to_vec()),
        ("s3ls-logs L/ -0 | xargs -0 cat", b"linked\nodd\n".to_vec()),
    ] {
        let out = onebox_tests::sh(dir, script);
        assert_eq!(out.status.code(), Some(1), "{script}");
        assert_eq!(out.stdout, stdout, "{script}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), broken, "{script}");
    }
    let out = onebox_tests::sh(dir, "s3ls-logs L/ --total 2>&1 >/dev/null");
    assert!(
        String::from_utf8_lossy(&out.stdout).ends_with("s3ls-logs: 2 objects, 11 bytes (11 B)\n"),
        "{out:?}"
    );
}
