//! Flags every tool shares, the one exit-status policy, and how messages and output are written.
//!
//! Exit status: 0 success; 1 a runtime or data failure (reported after the other inputs are
//! done); 2 a usage error (clap's own code). A broken pipe on stdout (`tool | head`) is a quiet
//! exit 0: Rust ignores SIGPIPE, so the closed pipe arrives as an `EPIPE` write error, which we
//! recognise anywhere in an error's cause chain. Messages go to stderr as `tool: message`.

use std::ffi::OsString;
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use clap::Args;

static TOOL: OnceLock<&'static str> = OnceLock::new();
static FAILED: AtomicBool = AtomicBool::new(false);

/// Input selection shared by every tool that reads files.
#[derive(Args, Debug, Clone, Default)]
pub struct InputArgs {
    /// Input files or directories (walked recursively, sorted); none or `-` reads stdin.
    /// `s3://bucket/key` reads an S3 object, `s3://bucket/prefix/` every object under the
    /// prefix. gzip is recognised by its magic bytes, whatever the name.
    #[arg(value_name = "FILE")]
    pub files: Vec<OsString>,

    /// Read input names from FILE, one per line (`-` = stdin).
    #[arg(long, value_name = "FILE")]
    pub files_from: Option<PathBuf>,

    /// Names in --files-from are separated by NUL bytes (as `find -print0` writes).
    #[arg(short = '0', long = "null", requires = "files_from")]
    pub null: bool,

    #[command(flatten)]
    pub s3: crate::s3::S3Args,
}

impl InputArgs {
    /// The sources these flags name (S3 settings applied first, for `s3://` inputs).
    pub fn sources(&self) -> anyhow::Result<crate::input::Sources> {
        crate::s3::configure(&self.s3);
        crate::input::collect(&self.files, self.files_from.as_deref(), self.null)
    }
}

/// The input record format flag of every tool that reads records.
#[derive(Args, Debug, Clone, Copy, Default)]
pub struct InputFormatArg {
    /// Input format [default: detected per file from the first line: `{` is NDJSON, else TSV;
    /// a one-column TSV header followed by a `{` line, as a damaged NDJSON file gives, is noted].
    #[arg(short = 'i', long, value_name = "FORMAT")]
    pub input_format: Option<crate::record::Format>,
}

/// Record formats of a tool that writes the records it reads, with fields added (enrichment).
#[derive(Args, Debug, Clone, Default)]
pub struct RecordFormatArgs {
    #[command(flatten)]
    pub input: InputFormatArg,

    /// Output format [default: the input format]. TSV input may be written as NDJSON.
    #[arg(short = 'o', long, value_name = "FORMAT")]
    pub output_format: Option<crate::record::Format>,
}

/// Run-time behaviour shared by every tool: threads, counters, rejects.
#[derive(Args, Debug, Clone, Default)]
pub struct RunArgs {
    /// Worker threads [default: all available cores; 1 under GNU parallel]. `-j1` runs a plain
    /// sequential loop, the right choice when `parallel` or `xargs -P` already fans out.
    #[arg(short = 'j', long, value_name = "N")]
    pub threads: Option<usize>,

    /// Write every counter as one JSON object to FILE (`-` = stderr) at exit.
    #[arg(long, value_name = "FILE")]
    pub stats: Option<PathBuf>,

    /// Draw a live progress line on stderr (only when stderr is a terminal).
    #[arg(long)]
    pub progress: bool,

    /// Serve live counters in Prometheus text format at http://ADDR/metrics while running.
    /// A bare port binds 127.0.0.1; port 0 picks a free one (announced on stderr).
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<String>,

    /// Append rejected input lines to FILE as `source:line<TAB>reason<TAB>line` (the source's
    /// name escaped as a TSV cell: \t, \n, \r, \\).
    #[arg(long, value_name = "FILE")]
    pub reject: Option<PathBuf>,

    /// Stop at the first rejected line or failed input, with exit status 1.
    #[arg(long)]
    pub strict: bool,

    /// Flush output after every block, for live pipelines (`tail -f log | tool`).
    #[arg(long)]
    pub line_buffered: bool,

    /// Block size handed to a worker (e.g. 1M, 4M; 1K to 256M). Memory is about 8 x threads x
    /// SIZE (blocks being read and output waiting to be written).
    #[arg(long, value_name = "SIZE", default_value = "2M", value_parser = parse_block_size)]
    pub block_size: u64,
}

/// The largest `--block-size`.
const MAX_BLOCK_SIZE: u64 = 256 << 20;

fn parse_block_size(s: &str) -> Result<u64, String> {
    let n = crate::size::parse_size(s)?;
    if n < 1024 {
        return Err("block size must be at least 1K".into());
    }
    // Lines longer than a block are read whole anyway, so bigger blocks buy nothing but
    // memory: about 8 x threads of them are in flight.
    if n > MAX_BLOCK_SIZE {
        return Err("block size must be at most 256M".into());
    }
    Ok(n)
}

impl RunArgs {
    /// The thread count to use: `--threads`, else 1 inside a GNU parallel job (`PARALLEL_SEQ`
    /// is set and it already runs one job per core), else every available core.
    pub fn thread_count(&self) -> usize {
        if let Some(n) = self.threads {
            return n.max(1);
        }
        if std::env::var_os("PARALLEL_SEQ").is_some() {
            return 1;
        }
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }
}

/// Marks an error as a usage error (exit status 2).
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Builds a usage error for checks clap cannot express.
pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(msg.into()))
}

/// The first item of `items` that an earlier one equals: a field or column named twice, which
/// would give a record the same key twice. Hashed, as a header read from every input file may
/// have hundreds of columns.
pub fn first_repeated<T: Eq + std::hash::Hash>(items: &[T]) -> Option<&T> {
    let mut seen = std::collections::HashSet::with_capacity(items.len());
    items.iter().find(|&item| !seen.insert(item))
}

/// The tool's name, for messages.
pub fn tool() -> &'static str {
    TOOL.get().copied().unwrap_or("onebox")
}

/// Prints `tool: msg` on stderr. Errors writing to stderr are ignored: there is nowhere left
/// to report them.
pub fn note(msg: &str) {
    let _ = writeln!(io::stderr().lock(), "{}: {msg}", tool());
}

/// Reports a failure that does not stop the run, and makes the exit status 1.
pub fn fail(msg: &str) {
    FAILED.store(true, Ordering::Relaxed);
    note(msg);
}

/// Whether some non-fatal failure was reported.
pub fn failed() -> bool {
    FAILED.load(Ordering::Relaxed)
}

/// True when a broken pipe caused `err` (the reader of our stdout went away).
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Runs a tool's body and turns its result into the exit status (see the module docs).
pub fn main(tool: &'static str, body: impl FnOnce() -> anyhow::Result<()>) -> ExitCode {
    let _ = TOOL.set(tool);
    match body() {
        Ok(()) if failed() => ExitCode::from(1),
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            if let Some(usage) = err.downcast_ref::<UsageError>() {
                note(&format!(
                    "{usage}\nTry '{tool} --help' for more information."
                ));
                return ExitCode::from(2);
            }
            note(&format!("{err:#}"));
            ExitCode::from(1)
        }
    }
}

/// Standard output, block-buffered; `flush_each` is true when it is a terminal, so a person
/// watching sees output as it is produced. A pipe is widened first ([`widen_pipe`]), as is a
/// pipe on standard input when it is read.
pub fn stdout() -> (io::BufWriter<io::Stdout>, bool) {
    let out = io::stdout();
    let tty = out.is_terminal();
    #[cfg(target_os = "linux")]
    widen_pipe(std::os::fd::AsRawFd::as_raw_fd(&out));
    (io::BufWriter::with_capacity(256 * 1024, out), tty)
}

/// The pipe buffer asked for when standard output is a pipe: 1 MiB, the most an unprivileged
/// process may ask for by default (Linux's `fs.pipe-max-size`).
pub const PIPE_SIZE: usize = 1 << 20;

/// Whether `signal` was ignored when the process started, as SIGINT is in a background job
/// of a non-interactive shell: a tool that handles the signal leaves it ignored then, as sort
/// does, so that such a job is not interrupted by the terminal's Ctrl-C.
pub fn signal_ignored(signal: libc::c_int) -> bool {
    // SAFETY: sigaction with a null new action only reads the current one into `old`.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal, std::ptr::null(), &mut old) == 0
            && old.sa_sigaction == libc::SIG_IGN
    }
}

/// Asks for a [`PIPE_SIZE`] buffer on `fd` if it is a pipe; anything else, or a refusal (the
/// user's pipe allowance spent), leaves it as it was. The tools write blocks of megabytes;
/// through Linux's default 64 KiB pipe, writer and reader take turns every 64 KiB, and a
/// pipeline of several tools on few cores left a core idle about a tenth of the time that way
/// (the day job ran 5% faster through 1 MiB pipes).
#[cfg(target_os = "linux")]
pub fn widen_pipe(fd: std::os::fd::RawFd) {
    // SAFETY: fcntl on a descriptor we were given; F_SETPIPE_SZ fails harmlessly (EBADF,
    // EINVAL, EPERM) on what is not a pipe or past the limits, and the result is ignored.
    unsafe {
        libc::fcntl(fd, libc::F_SETPIPE_SZ, PIPE_SIZE as libc::c_int);
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn block_sizes_are_bounded_both_ways() {
        assert_eq!(parse_block_size("1K"), Ok(1024));
        assert_eq!(parse_block_size("256M"), Ok(256 << 20));
        assert!(parse_block_size("1023").is_err());
        for big in ["257M", "64G", "1T", "99999999999999999999"] {
            assert!(
                parse_block_size(big).unwrap_err().contains("at most 256M"),
                "{big}"
            );
        }
    }

    #[test]
    fn pipes_are_widened_and_other_descriptors_left_alone() {
        let mut fds = [0; 2];
        // SAFETY: pipe writes two descriptors into the array, which are closed below.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: F_GETPIPE_SZ reads the size of the pipe just made.
        let size = |fd| unsafe { libc::fcntl(fd, libc::F_GETPIPE_SZ) } as usize;
        let before = size(fds[1]);
        widen_pipe(fds[1]);
        let max: usize = std::fs::read_to_string("/proc/sys/fs/pipe-max-size")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        if max >= PIPE_SIZE {
            assert_eq!(size(fds[1]), PIPE_SIZE, "was {before}");
            assert_eq!(size(fds[0]), PIPE_SIZE, "both ends share the buffer");
        }
        // SAFETY: the pipe's own descriptors, closed once.
        unsafe {
            libc::close(fds[0]);
            libc::close(fds[1]);
        }
        let file = tempfile::tempfile().unwrap();
        widen_pipe(std::os::fd::AsRawFd::as_raw_fd(&file)); // not a pipe: nothing happens
        widen_pipe(-1);
    }
}

#[cfg(test)]
mod names_tests {
    use super::*;

    #[test]
    fn the_first_name_given_again_is_found() {
        assert_eq!(first_repeated(&["a", "b", "c"]), None);
        assert_eq!(first_repeated(&["a", "b", "b", "a"]), Some(&"b"));
        assert_eq!(first_repeated::<String>(&[]), None);
    }
}
