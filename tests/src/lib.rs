//! Helpers for the end-to-end tests in `tests/tests/`: find the built tool binaries, run them
//! (alone or in `bash -c` pipelines) in a temporary directory, and look at what they did.
//!
//! The binaries are built by `cargo build --workspace --bins` before `cargo test` (as
//! `scripts/test.sh` does); they are found beside the test executable's `deps/` directory, so
//! `CARGO_TARGET_DIR` and `--release` work unchanged.

pub mod mmdb;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The directory holding the built binaries (`target/debug` or `target/release`).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let deps = exe.parent().expect("deps dir");
    deps.parent().expect("profile dir").to_path_buf()
}

/// Path of a built tool binary; panics with a hint when it was not built.
pub fn bin(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(
        path.exists(),
        "{} not found: run `cargo build --workspace --bins` first",
        path.display()
    );
    path
}

/// A command for a tool, with colour-forcing variables removed (clap would honour them).
pub fn tool(name: &str) -> Command {
    let mut cmd = Command::new(bin(name));
    cmd.env_remove("CLICOLOR_FORCE")
        .env_remove("FORCE_COLOR")
        .env_remove("PARALLEL_SEQ");
    cmd
}

/// Runs `cmd` with `stdin` as its input and returns its output.
pub fn run_with_input(cmd: &mut Command, stdin: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let out = child.wait_with_output().expect("wait");
    writer.join().unwrap();
    out
}

/// Runs a `bash -o pipefail -c` script with the tool binaries first on PATH, in `dir`.
pub fn sh(dir: &Path, script: &str) -> Output {
    let path = format!(
        "{}:{}",
        bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new("bash")
        .arg("-o")
        .arg("pipefail")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .env("PATH", path)
        .env_remove("CLICOLOR_FORCE")
        .env_remove("FORCE_COLOR")
        .env_remove("PARALLEL_SEQ")
        .output()
        .expect("bash")
}

/// Stdout of a successful run as text; panics with stderr otherwise.
pub fn ok_stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("utf-8 stdout")
}

/// Gzips `data` as one member.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// Reads a `--stats` JSON file.
pub fn stats(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("stats file");
    serde_json::from_str(&text).expect("stats JSON")
}

/// Checks the accounting invariant of a `--stats` object: every input line is output,
/// filtered, rejected or skipped. `kept` names the counter of kept records.
pub fn assert_lines_accounted(stats: &serde_json::Value, kept: &str) {
    let obj = stats.as_object().expect("stats object");
    let sum_prefix = |p: &str| -> u64 {
        obj.iter()
            .filter(|(k, _)| k.starts_with(p))
            .map(|(_, v)| v.as_u64().unwrap_or(0))
            .sum()
    };
    let lines_in = obj["lines_in"].as_u64().unwrap();
    let accounted = obj[kept].as_u64().unwrap()
        + sum_prefix("filtered_")
        + sum_prefix("rejected_")
        + sum_prefix("skipped_");
    assert_eq!(
        lines_in, accounted,
        "lines_in != {kept} + filtered + rejected + skipped in {stats}"
    );
}
