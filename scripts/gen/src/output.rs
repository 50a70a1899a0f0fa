//! The driver shared by all generators: splits the byte budget over files, runs files on
//! worker threads, gzips if asked, and writes each file under a temporary name that is
//! renamed only when complete.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use anyhow::{Context, Result};
use flate2::write::GzEncoder;
use flate2::Compression;

/// A kind of data set. Implementations must be pure functions of (seed, options, file
/// index, byte budget) so that output is the same whatever thread writes which file.
pub trait Generator: Sync {
    type File: FileGen;
    /// Name of file `index` (0-based), without any `.gz` suffix.
    fn file_name(&self, index: usize) -> String;
    /// Fresh state for file `index`, which will receive about `target_bytes` bytes.
    fn file(&self, index: usize, target_bytes: u64) -> Self::File;
}

/// Produces one file's content.
pub trait FileGen {
    /// The comment block at the top of the file.
    fn header(&mut self, out: &mut Vec<u8>);
    /// Append exactly one line, including its `\n`. Returns true when the line is one
    /// of the deliberately malformed ones (`--bad-rate`).
    fn line(&mut self, out: &mut Vec<u8>) -> bool;
}

/// Where output goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dest {
    /// All files one after the other as a single stream (one gzip member with --gzip).
    Stdout,
    /// One file per index in this directory (created if missing).
    Dir(PathBuf),
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub dest: Dest,
    pub files: usize,
    /// Uncompressed bytes over all files, approximately (whole lines, so a file ends a
    /// little past its share).
    pub total_bytes: u64,
    pub gzip: bool,
    pub threads: usize,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub files: usize,
    pub bytes: u64,
    pub lines: u64,
    pub bad_lines: u64,
}

impl Summary {
    fn add(&mut self, o: Summary) {
        self.files += o.files;
        self.bytes += o.bytes;
        self.lines += o.lines;
        self.bad_lines += o.bad_lines;
    }
}

/// Lines are formatted into a buffer of about this size before each write, so that
/// writes (and gzip calls) are few and large.
const CHUNK: usize = 512 * 1024;

/// Byte budget of file `index`: an even share, the remainder going to the first files.
pub fn file_target(total: u64, files: usize, index: usize) -> u64 {
    let files = files as u64;
    total / files + u64::from((index as u64) < total % files)
}

/// Write file `index` of `gen` to `w` (uncompressed).
pub fn write_file<G: Generator, W: Write>(
    gen: &G,
    index: usize,
    target: u64,
    w: &mut W,
) -> io::Result<Summary> {
    let mut f = gen.file(index, target);
    let mut buf = Vec::with_capacity(CHUNK + 64 * 1024);
    let mut sum = Summary {
        files: 1,
        ..Summary::default()
    };
    f.header(&mut buf);
    while sum.bytes + (buf.len() as u64) < target {
        sum.bad_lines += u64::from(f.line(&mut buf));
        sum.lines += 1;
        if buf.len() >= CHUNK {
            w.write_all(&buf)?;
            sum.bytes += buf.len() as u64;
            buf.clear();
        }
    }
    w.write_all(&buf)?;
    sum.bytes += buf.len() as u64;
    Ok(sum)
}

/// Generate everything `plan` asks for.
pub fn run<G: Generator>(gen: &G, plan: &Plan) -> Result<Summary> {
    anyhow::ensure!(plan.files > 0, "--files must be at least 1");
    match &plan.dest {
        Dest::Stdout => run_stdout(gen, plan),
        Dest::Dir(dir) => run_dir(gen, plan, dir),
    }
}

fn run_stdout<G: Generator>(gen: &G, plan: &Plan) -> Result<Summary> {
    let stdout = io::stdout().lock();
    let mut sum = Summary::default();
    if plan.gzip {
        let mut gz = GzEncoder::new(stdout, Compression::default());
        for i in 0..plan.files {
            sum.add(write_file(
                gen,
                i,
                file_target(plan.total_bytes, plan.files, i),
                &mut gz,
            )?);
        }
        gz.finish()?.flush()?;
    } else {
        let mut out = stdout;
        for i in 0..plan.files {
            sum.add(write_file(
                gen,
                i,
                file_target(plan.total_bytes, plan.files, i),
                &mut out,
            )?);
        }
        out.flush()?;
    }
    Ok(sum)
}

fn run_dir<G: Generator>(gen: &G, plan: &Plan, dir: &Path) -> Result<Summary> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // Files are handed out one at a time; content depends only on the index, so the
    // assignment to threads does not matter for the bytes written.
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let total = Mutex::new(Summary::default());
    let first_error: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    let workers = plan.threads.clamp(1, plan.files);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= plan.files || failed.load(Ordering::Relaxed) {
                    break;
                }
                match write_one(gen, plan, dir, i) {
                    Ok(sum) => total.lock().expect("summary lock").add(sum),
                    Err(e) => {
                        failed.store(true, Ordering::Relaxed);
                        first_error.lock().expect("error lock").get_or_insert(e);
                        break;
                    }
                }
            });
        }
    });
    if let Some(e) = first_error.into_inner().expect("error lock") {
        return Err(e);
    }
    Ok(total.into_inner().expect("summary lock"))
}

/// Write file `index` under a temporary name and rename it into place when complete, so
/// that a reader never mistakes a partial file for a finished one.
fn write_one<G: Generator>(gen: &G, plan: &Plan, dir: &Path, index: usize) -> Result<Summary> {
    let mut name = gen.file_name(index);
    if plan.gzip {
        name.push_str(".gz");
    }
    let path = dir.join(&name);
    let tmp = dir.join(format!(".{name}.partial"));
    let result = (|| -> Result<Summary> {
        let file =
            File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        let mut w = BufWriter::with_capacity(256 * 1024, file);
        let target = file_target(plan.total_bytes, plan.files, index);
        let sum = if plan.gzip {
            let mut gz = GzEncoder::new(w, Compression::default());
            let sum = write_file(gen, index, target, &mut gz)?;
            w = gz.finish()?;
            sum
        } else {
            write_file(gen, index, target, &mut w)?
        };
        // No fsync: this is regenerable sample data, and syncing would dominate the time.
        drop(w.into_inner().map_err(|e| e.into_error())?);
        fs::rename(&tmp, &path).with_context(|| format!("cannot rename to {}", path.display()))?;
        Ok(sum)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.with_context(|| format!("writing {}", path.display()))
}

/// Writes two broken inputs beside the `files` good ones, as real log drops sometimes hold:
/// a gzip file cut off in the middle, and a plain-text file whose name ends in `.gz`. They
/// take the names of files `files` and `files + 1`, so they sort among the others. Returns
/// their paths.
pub fn write_broken_files<G: Generator>(gen: &G, dir: &Path, files: usize) -> Result<[PathBuf; 2]> {
    let content = |index: usize| -> io::Result<Vec<u8>> {
        let mut plain = Vec::new();
        write_file(gen, index, 256 * 1024, &mut plain)?;
        Ok(plain)
    };
    let truncated = dir.join(format!("{}.gz", gen.file_name(files)));
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(&content(files)?)?;
    let whole = gz.finish()?;
    fs::write(&truncated, &whole[..whole.len() / 2])
        .with_context(|| format!("writing {}", truncated.display()))?;
    let not_gzip = dir.join(format!("{}.gz", gen.file_name(files + 1)));
    fs::write(&not_gzip, content(files + 1)?)
        .with_context(|| format!("writing {}", not_gzip.display()))?;
    Ok([truncated, not_gzip])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloudfront::{CloudFront, Layout, Options};
    use crate::telemetry::Telemetry;
    use std::io::Read;

    /// Generate into `dir` plain and gzipped; every file must decompress to the plain one.
    fn check_gzip<G: Generator>(gen: &G, files: usize) {
        let dir = tempfile::tempdir().unwrap();
        let plan = |sub: &str, gzip| Plan {
            dest: Dest::Dir(dir.path().join(sub)),
            files,
            total_bytes: 150_000,
            gzip,
            threads: 2,
        };
        let plain = run(gen, &plan("plain", false)).unwrap();
        let gz = run(gen, &plan("gz", true)).unwrap();
        assert_eq!(plain, gz);
        assert_eq!(plain.files, files);
        for i in 0..files {
            let name = gen.file_name(i);
            let want = fs::read(dir.path().join("plain").join(&name)).unwrap();
            let packed = fs::read(dir.path().join("gz").join(format!("{name}.gz"))).unwrap();
            let mut got = Vec::new();
            flate2::read::MultiGzDecoder::new(&packed[..])
                .read_to_end(&mut got)
                .unwrap();
            assert!(got == want, "{name}");
            assert!(packed.len() < want.len() / 2);
        }
        // Nothing but the finished files: no temporary names left behind.
        assert_eq!(fs::read_dir(dir.path().join("gz")).unwrap().count(), files);
    }

    #[test]
    fn gzip_output_decompresses_to_the_plain_output() {
        check_gzip(&Telemetry::new(3, 0.01), 3);
        let o = Options {
            seed: 3,
            bad_rate: 0.01,
            distribution: "E2ABCDEF".into(),
            day: 17_181,
            layout: Layout::F33,
            files: 3,
        };
        check_gzip(&CloudFront::new(&o), 3);
    }

    #[test]
    fn targets_add_up() {
        let t: u64 = (0..7).map(|i| file_target(1000, 7, i)).sum();
        assert_eq!(t, 1000);
        assert_eq!(file_target(10, 3, 0), 4);
        assert_eq!(file_target(10, 3, 2), 3);
    }
}
