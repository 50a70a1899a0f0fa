//! Writing the chunk files: pieces arrive in order, go to `NAME.tmp.<pid>` in the destination
//! directory, and the file is renamed to NAME when its last piece is in. Only then is its path
//! printed on stdout (flushed at once, so `| xargs` can start on it) and listed for the
//! manifest. Temporary files of files not finished (an error, `| head` closing stdout) are
//! removed when the writer is dropped.

use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use flate2::Crc;
use hashbrown::HashMap;
use onebox::counters::Counter;

use crate::gz::{self, Piece};
use crate::upload::Upload;

/// Where a piece belongs.
#[derive(Clone, Debug)]
pub struct PieceMeta {
    /// Identifies the open file (numbers are never reused within a run).
    pub file: u64,
    /// The file's final path.
    pub path: Arc<PathBuf>,
    pub first: bool,
    pub last: bool,
}

/// A finished file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completed {
    pub path: PathBuf,
    /// Size on disk in bytes.
    pub bytes: u64,
    /// Its s3:// URI, when it was uploaded (`--to`).
    pub url: Option<String>,
}

struct OpenFile {
    temp: PathBuf,
    file: File,
    crc: Crc,
    size: u64,
}

/// Receives pieces in order and turns them into finished files.
pub struct FileWriter {
    gzip: bool,
    open: HashMap<u64, OpenFile>,
    completed: Vec<Completed>,
    stdout: Box<dyn Write + Send>,
    files_out: Counter,
    bytes_out: Counter,
    /// Boxed: the writer moves between threads and enum variants; keep it small.
    upload: Option<Box<Upload>>,
}

impl FileWriter {
    pub fn new(
        gzip: bool,
        stdout: Box<dyn Write + Send>,
        files_out: Counter,
        bytes_out: Counter,
    ) -> FileWriter {
        FileWriter {
            gzip,
            open: HashMap::new(),
            completed: Vec::new(),
            stdout,
            files_out,
            bytes_out,
            upload: None,
        }
    }

    /// Uploads every finished file (`--to`).
    pub fn upload_to(mut self, upload: Option<Upload>) -> FileWriter {
        self.upload = upload.map(Box::new);
        self
    }

    /// Appends a piece to its file; finishes the file after its last piece.
    pub fn write(&mut self, meta: &PieceMeta, piece: Piece) -> anyhow::Result<()> {
        if meta.first {
            let temp = temp_name(&meta.path);
            let file =
                File::create(&temp).with_context(|| format!("creating {}", temp.display()))?;
            // Tracked before the first write, so a failing write still removes it.
            self.open.insert(
                meta.file,
                OpenFile {
                    temp,
                    file,
                    crc: Crc::new(),
                    size: 0,
                },
            );
        }
        let f = self
            .open
            .get_mut(&meta.file)
            .context("internal error: a piece for a file that is not open")?;
        if meta.first && self.gzip {
            f.put(&gz::HEADER)?;
        }
        f.put(&piece.data)?;
        f.crc.combine(&piece.crc);
        if meta.last {
            let mut f = self.open.remove(&meta.file).expect("present");
            if self.gzip {
                let trailer = gz::trailer(&f.crc);
                f.put(&trailer)?;
            }
            if let Err(e) = fs::rename(&f.temp, &*meta.path) {
                let _ = fs::remove_file(&f.temp);
                return Err(e).with_context(|| format!("renaming to {}", meta.path.display()));
            }
            self.finished(&meta.path, f.size)?;
        }
        Ok(())
    }

    fn finished(&mut self, path: &Path, size: u64) -> anyhow::Result<()> {
        let url = match &self.upload {
            Some(upload) => Some(upload.send(path)?),
            None => None,
        };
        self.files_out.add(1);
        self.bytes_out.add(size);
        match &url {
            Some(url) => self.stdout.write_all(url.as_bytes())?,
            None => self.stdout.write_all(path.as_os_str().as_bytes())?,
        }
        self.completed.push(Completed {
            path: path.to_path_buf(),
            bytes: size,
            url,
        });
        self.stdout.write_all(b"\n")?;
        self.stdout.flush()?;
        Ok(())
    }

    /// The finished files, in the order they were finished.
    pub fn into_completed(mut self) -> Vec<Completed> {
        std::mem::take(&mut self.completed)
    }
}

impl Drop for FileWriter {
    fn drop(&mut self) {
        for (_, f) in self.open.drain() {
            drop(f.file);
            let _ = fs::remove_file(&f.temp);
        }
    }
}

impl OpenFile {
    fn put(&mut self, data: &[u8]) -> anyhow::Result<()> {
        self.file
            .write_all(data)
            .with_context(|| format!("writing {}", self.temp.display()))?;
        self.size += data.len() as u64;
        Ok(())
    }
}

/// `NAME.tmp.<pid>`, beside NAME (so the rename stays on one filesystem).
pub fn temp_name(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(format!(".tmp.{}", std::process::id()));
    PathBuf::from(name)
}

/// Writes `bytes` to `path` atomically (temporary name, then rename).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let temp = temp_name(path);
    let result = fs::write(&temp, bytes)
        .and_then(|()| fs::rename(&temp, path))
        .with_context(|| format!("writing {}", path.display()));
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// A broken-pipe-aware standard output for the list of finished files.
pub fn stdout() -> Box<dyn Write + Send> {
    Box::new(io::BufWriter::new(io::stdout()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gz::Deflater;
    use std::io::Read;
    use std::sync::{Arc as StdArc, Mutex};

    /// A `Write` that keeps what it was given, shared with the test.
    #[derive(Clone, Default)]
    struct Shared(StdArc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn counters() -> (Counter, Counter) {
        let c = onebox::counters::Counters::new("test");
        (c.counter("files_out"), c.counter("bytes_out"))
    }

    #[test]
    fn files_appear_only_when_complete_and_temps_go_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let out = Shared::default();
        let (f, b) = counters();
        let mut w = FileWriter::new(true, Box::new(out.clone()), f, b);
        let mut d = Deflater::new(6);
        let done = Arc::new(dir.path().join("a-000001.csv.gz"));
        let dropped = Arc::new(dir.path().join("b-000001.csv.gz"));
        let meta = |path: &Arc<PathBuf>, file, first, last| PieceMeta {
            file,
            path: path.clone(),
            first,
            last,
        };
        w.write(
            &meta(&done, 1, true, false),
            d.piece(b"x,y\n", false).unwrap(),
        )
        .unwrap();
        w.write(
            &meta(&dropped, 2, true, false),
            d.piece(b"z\n", false).unwrap(),
        )
        .unwrap();
        assert!(!done.exists() && temp_name(&done).exists());
        w.write(
            &meta(&done, 1, false, true),
            d.piece(b"1,2\n", true).unwrap(),
        )
        .unwrap();
        assert!(done.exists() && !temp_name(&done).exists());
        let mut text = String::new();
        flate2::read::GzDecoder::new(File::open(&*done).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "x,y\n1,2\n");
        assert_eq!(
            String::from_utf8(out.0.lock().unwrap().clone()).unwrap(),
            format!("{}\n", done.display())
        );
        let completed = {
            let w2 = w;
            // Dropping removes the unfinished file's temporary name.
            let list = w2.completed.clone();
            drop(w2);
            list
        };
        assert_eq!(completed.len(), 1);
        assert!(!temp_name(&dropped).exists() && !dropped.exists());
    }
}
