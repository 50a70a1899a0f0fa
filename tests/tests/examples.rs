//! End-to-end tests of examples/: the CloudFront day as a Makefile and as one pipeline, and the
//! telemetry count fanned out with GNU parallel, xargs, ssh to a loopback host and Spark.
//! Everything runs on small generated data (a few MB).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Output;

use onebox_tests::{assert_lines_accounted, ok_stdout, sh, stats};

const DAY: &str = "2017-01-15";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `make -f examples/cloudfront-day/Makefile ARGS` in `dir`, with the built binaries.
fn make(dir: &Path, args: &str) -> Output {
    let makefile = root().join("examples/cloudfront-day/Makefile");
    let bin = onebox_tests::bin_dir();
    sh(
        dir,
        &format!(
            "make --no-print-directory -f {} BIN={} DAY={DAY} {args}",
            makefile.display(),
            bin.display()
        ),
    )
}

fn fails(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "expected a failure; stderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A small day of logs (20 files: some hours have none; about 13,000 lines, of which 88% are
/// static assets and 775 records are events), GeoIP databases and an owners table.
fn sample(dir: &Path) {
    sample_with(dir, "");
}

fn sample_with(dir: &Path, args: &str) {
    ok_stdout(&make(
        dir,
        &format!("SAMPLE_SIZE=6M SAMPLE_FILES=20 {args} sample"),
    ));
}

/// The `url`s of a Redshift manifest.
fn manifest_urls(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).expect("manifest is JSON");
    json["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["url"].as_str().unwrap().to_string())
        .collect()
}

/// The data rows of gzip'd CSV files with a header row, sorted.
fn csv_rows(dir: &Path, urls: &[String]) -> Vec<String> {
    let mut rows = Vec::new();
    for url in urls {
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(std::fs::File::open(dir.join(url)).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        rows.extend(text.lines().skip(1).map(str::to_string));
    }
    rows.sort();
    rows
}

/// Sum of one counter over the hours' stats files of a tool.
fn sum_stat(out: &Path, tool: &str, counter: &str) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(out).unwrap() {
        let path = entry
            .unwrap()
            .path()
            .join("stats")
            .join(format!("{tool}.json"));
        if path.exists() {
            let st = stats(&path);
            if tool == "cflog-parse" {
                assert_lines_accounted(&st, "records_out");
            }
            total += st[counter].as_u64().unwrap_or(0);
        }
    }
    total
}

/// Modification times of everything under `dir`.
fn mtimes(dir: &Path) -> BTreeMap<PathBuf, std::time::SystemTime> {
    let mut map = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            let meta = entry.metadata().unwrap();
            if meta.is_dir() {
                todo.push(entry.path());
            }
            map.insert(entry.path(), meta.modified().unwrap());
        }
    }
    map
}

fn leftovers(out: &Path) -> Vec<String> {
    std::fs::read_dir(out)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains(".tmp"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn makefile_processes_the_day_by_hour_and_reruns_do_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    sample(dir);
    let out = dir.join("out").join(DAY);

    ok_stdout(&make(dir, "-j2"));
    let urls = manifest_urls(&out.join("manifest.json"));
    assert!(urls.len() >= 3, "{urls:?}");
    for hour in 0..24 {
        assert!(out.join(format!("{hour:02}/manifest.json")).exists());
    }
    // Rows in the CSV files = records kept by cflog-parse = records written by csv-chunk.
    let rows = csv_rows(dir, &urls);
    let kept = sum_stat(&out, "cflog-parse", "records_out");
    assert!(kept > 500, "{kept}");
    assert_eq!(rows.len() as u64, kept);
    assert_eq!(sum_stat(&out, "csv-chunk", "records_out"), kept);
    assert_eq!(leftovers(&out), Vec::<String>::new());

    // A rerun finds everything up to date and touches nothing.
    let before = mtimes(&out);
    ok_stdout(&make(dir, "-q"));
    let again = make(dir, "-j2");
    ok_stdout(&again);
    assert!(
        !String::from_utf8_lossy(&again.stderr).contains("hour "),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(before, mtimes(&out));

    // The same job as one pipeline (run.sh) over the whole directory gives the same rows.
    let script = root().join("examples/cloudfront-day/run.sh");
    ok_stdout(&sh(
        dir,
        &format!(
            "OWNERS=sample/owners.tsv CITY_DB=sample/mmdb/onebox-City-Test.mmdb \
             ASN_DB=sample/mmdb/onebox-ASN-Test.mmdb THREADS=2 {} whole sample/logs",
            script.display()
        ),
    ));
    let whole = manifest_urls(&dir.join("whole/manifest.json"));
    assert_eq!(csv_rows(dir, &whole), rows);

    // clean removes what make made and nothing else.
    std::fs::write(out.join("mine.txt"), "keep").unwrap();
    ok_stdout(&make(dir, "clean"));
    let left: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec!["mine.txt"]);
    assert!(dir.join("sample/logs").is_dir() && dir.join("whole/manifest.json").exists());
}

#[test]
fn a_failed_hour_leaves_no_partial_output_and_a_rerun_finishes_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    sample(dir);
    let out = dir.join("out").join(DAY);
    // Cut one of hour 06's logs in the middle of its gzip stream: cflog-parse fails (exit 1).
    let logs = dir.join("sample/logs");
    let victim = std::fs::read_dir(&logs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains(&format!("{DAY}-06.")))
        .min()
        .expect("a log of hour 06");
    let good = std::fs::read(&victim).unwrap();
    std::fs::write(&victim, &good[..good.len() / 2]).unwrap();

    let stderr = fails(&make(dir, "-j2 -k"));
    assert!(stderr.contains("hour 06"), "{stderr}");
    assert!(!out.join("06").exists(), "hour 06 must not exist");
    assert!(!out.join("manifest.json").exists());
    assert!(out.join("04/manifest.json").exists() && out.join("07/manifest.json").exists());
    assert_eq!(leftovers(&out), Vec::<String>::new());

    // Repaired, the rerun does hour 06 and the day only.
    std::fs::write(&victim, &good).unwrap();
    let rerun = make(dir, "-j2");
    ok_stdout(&rerun);
    let stderr = String::from_utf8_lossy(&rerun.stderr);
    assert_eq!(stderr.matches("hour ").count(), 1, "{stderr}");
    assert!(out.join("06/manifest.json").exists() && out.join("manifest.json").exists());
}

/// Telemetry in three directories (a few MB, with some bad lines).
fn telemetry(dir: &Path) {
    telemetry_with(dir, 0.001);
}

fn telemetry_with(dir: &Path, bad_rate: f64) {
    for seed in 1..=3 {
        ok_stdout(&sh(
            dir,
            &format!(
                "onebox-gen telemetry --out tel/d{seed} --files 3 --size 1M --seed {seed} \
                 --gzip --bad-rate {bad_rate} 2> /dev/null"
            ),
        ));
    }
}

fn count(dir: &Path, mode: &str, env: &str) -> String {
    let script = root().join("examples/telemetry-pivot/count.sh");
    ok_stdout(&sh(
        dir,
        &format!(
            "{env} JOBS=2 {} {mode} {mode}.csv tel/d1 tel/d2 tel/d3",
            script.display()
        ),
    ));
    std::fs::read_to_string(dir.join(format!("{mode}.csv"))).unwrap()
}

#[test]
fn telemetry_fan_out_with_parallel_and_xargs_equals_one_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    telemetry(dir);
    let single = count(dir, "single", "");
    assert!(single.lines().count() > 100, "{single}");
    for mode in ["dirs", "files", "xargs", "pipe"] {
        assert!(count(dir, mode, "") == single, "{mode} differs from single");
    }
}

/// Whether an opt-in test's variable is set to anything but 0.
fn opted_in(var: &str) -> bool {
    std::env::var_os(var).is_some_and(|v| v != "0")
}

/// Opt-in (ONEBOX_SSH_TEST=1, as root, needs openssh-server; scripts/test.sh opts in as root):
/// GNU parallel --sshlogin with a second "host", an sshd on a loopback port started by
/// tests/ssh-loopback.sh.
#[test]
fn telemetry_over_sshlogin_equals_one_run() {
    if !opted_in("ONEBOX_SSH_TEST") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    telemetry(dir);
    let single = count(dir, "single", "");
    let helper = root().join("tests/ssh-loopback.sh");
    let out = sh(
        dir,
        &format!(
            "set -e; source {}; ssh_loopback_start sshd; \
             trap ssh_loopback_stop EXIT; \
             PARALLEL_SSH=\"ssh -F $PWD/sshd/client.conf\" SSHLOGINS=1/:,1/onebox-loopback \
             JOBS=2 {} ssh ssh.csv \"$PWD\"/tel/d1 \"$PWD\"/tel/d2 \"$PWD\"/tel/d3",
            helper.display(),
            root().join("examples/telemetry-pivot/count.sh").display()
        ),
    );
    ok_stdout(&out);
    let remote = std::fs::read_to_string(dir.join("ssh.csv")).unwrap();
    assert!(remote == single, "the ssh run differs from the single run");
    // The loopback host ran jobs: a log-in beyond the one that checked sshd was up.
    let log = std::fs::read_to_string(dir.join("sshd/sshd.log")).unwrap_or_default();
    assert!(log.matches("Accepted publickey").count() >= 2, "{log}");
}

/// Opt-in (ONEBOX_SPARK_TEST=1, needs pyspark and Java 17+; the Python is ONEBOX_SPARK_PYTHON or
/// target/test-venv/bin/python; scripts/test.sh opts in and installs both): the tools as Spark
/// rdd.pipe() stages and pivot-count as mapper and reducer give what the tools give on their own
/// (on input without invalid UTF-8).
#[test]
fn spark_pipe_stages_and_merged_counts_equal_local_runs() {
    if !opted_in("ONEBOX_SPARK_TEST") {
        return;
    }
    let python = std::env::var("ONEBOX_SPARK_PYTHON").unwrap_or_else(|_| {
        root()
            .join("target/test-venv/bin/python")
            .display()
            .to_string()
    });
    let script = root().join("examples/spark/onebox_spark.py");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // No bad lines: Spark's textFile decodes UTF-8 lossily (U+FFFD), so a line the tools reject
    // as invalid UTF-8 reaches them repaired through Spark.
    telemetry_with(dir, 0.0);
    sample_with(dir, "SAMPLE_BAD_RATE=0");
    let fields = "App.Version,Region.Country,Client.OsVersion";
    let single = ok_stdout(&sh(dir, &format!("pivot-count -f {fields} tel")));
    ok_stdout(&sh(
        dir,
        &format!(
            "{python} {} telemetry spark.csv {fields} $(find tel -type f | sort)",
            script.display()
        ),
    ));
    let spark = std::fs::read_to_string(dir.join("spark.csv")).unwrap();
    assert!(spark == single, "spark:\n{spark}\nsingle:\n{single}");

    let dbs = "sample/mmdb/onebox-City-Test.mmdb sample/mmdb/onebox-ASN-Test.mmdb";
    ok_stdout(&sh(
        dir,
        &format!(
            "{python} {} cloudfront spark.ndjson sample/owners.tsv {dbs} $(find sample/logs -type f)",
            script.display()
        ),
    ));
    let local = ok_stdout(&sh(
        dir,
        "cflog-parse --drop-static \
         --fields timestamp,c_ip,cs_method,cs_uri_stem,sc_status,sc_bytes,time_taken,cs_user_agent \
         --extract '^/models/(?P<model_id>[0-9a-f-]+)' \
         --event 'download=^/models/[^/]+/download' --event 'view=^/models/' \
         --event 'search=^/search' --events-only sample/logs 2> /dev/null \
         | kv-join --table sample/owners.tsv --key model_id --add owner_id \
         | geoip-enrich --db sample/mmdb/onebox-City-Test.mmdb --db sample/mmdb/onebox-ASN-Test.mmdb",
    ));
    let sorted = |text: &str| {
        let mut lines: Vec<_> = text.lines().map(str::to_string).collect();
        lines.sort();
        lines
    };
    let spark = std::fs::read_to_string(dir.join("spark.ndjson")).unwrap();
    assert!(sorted(&local).len() > 500);
    assert!(sorted(&spark) == sorted(&local), "spark records differ");
}
