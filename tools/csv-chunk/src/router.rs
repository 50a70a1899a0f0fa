//! The chunk router: takes the workers' framed rows in input order and cuts each family's row
//! stream into files of exactly `--rows` rows (fewer when `--bytes` is reached first), and each
//! file into pieces of [`gz::PIECE`] raw bytes for the backend to compress.
//!
//! A family holds at most one partial piece in memory: its rows stream into the open file piece
//! by piece. Open files are limited: opening one more than `--max-open` first closes the least
//! recently used (by input order, so deterministic), and a file idle for `--max-open-secs`
//! (checked as input arrives) is closed too, so a rare family neither pins memory nor keeps a
//! file unfinished for long. A closed family starts its next file when its next row comes.

use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hashbrown::HashMap;

use crate::backend::Backend;
use crate::files::{Completed, PieceMeta};
use crate::frame::{self, Frame};
use crate::gz;
use crate::naming::OutName;

/// How files are cut and named.
pub struct Limits {
    pub out: OutName,
    pub gzip: bool,
    pub rows: u64,
    pub bytes: Option<u64>,
    pub header: bool,
    pub max_open: usize,
    pub idle: Option<Duration>,
}

struct Family {
    name: String,
    /// Number of the last file started.
    seq: u64,
    file: Option<OpenChunk>,
    last_tick: u64,
    last_touch: Instant,
}

/// A file being filled.
struct OpenChunk {
    id: u64,
    path: Arc<PathBuf>,
    rows: u64,
    /// Uncompressed bytes so far, header included.
    bytes: u64,
    /// Raw bytes not yet handed over (less than one piece).
    buf: Vec<u8>,
    sent_any: bool,
}

pub struct Router {
    limits: Limits,
    backend: Backend,
    header: Vec<u8>,
    families: Vec<Family>,
    by_name: HashMap<String, usize>,
    /// Families with an open file, in the order their files were opened.
    open: Vec<usize>,
    next_id: u64,
    tick: u64,
    now: Instant,
    last_idle_scan: Instant,
    /// Bytes of a frame not complete yet.
    partial: Vec<u8>,
    /// The error that stopped output (kept so the caller gets it, not an io::Error copy).
    failure: Option<anyhow::Error>,
}

impl Router {
    pub fn new(limits: Limits, backend: Backend) -> Router {
        let now = Instant::now();
        Router {
            limits,
            backend,
            header: Vec::new(),
            families: Vec::new(),
            by_name: HashMap::new(),
            open: Vec::new(),
            next_id: 0,
            tick: 0,
            now,
            last_idle_scan: now,
            partial: Vec::new(),
            failure: None,
        }
    }

    /// Closes every open file and waits for all output; returns the finished files.
    pub fn finish(mut self) -> anyhow::Result<Vec<Completed>> {
        if let Some(e) = self.failure.take() {
            return Err(self.stop(e));
        }
        if !self.partial.is_empty() {
            return Err(self.stop(anyhow::anyhow!("internal error: truncated frame")));
        }
        while let Some(&f) = self.open.first() {
            if let Err(e) = self.close(f) {
                return Err(self.stop(e));
            }
        }
        self.backend.finish()
    }

    /// Abandons the run after an error elsewhere: unfinished files are removed. Returns the
    /// output side's own error when it has one (the root cause), else `err`.
    pub fn abort(mut self, err: anyhow::Error) -> anyhow::Error {
        let err = self.failure.take().unwrap_or(err);
        self.stop(err)
    }

    fn stop(self, err: anyhow::Error) -> anyhow::Error {
        match self.backend.finish() {
            Err(output_err) => output_err,
            Ok(_) => err,
        }
    }

    fn consume(&mut self, buf: &[u8]) -> anyhow::Result<()> {
        // Stop at the first batch after SIGINT/SIGTERM, before opening or writing more files.
        if let Some(signal) = crate::interrupt::received() {
            return Err(crate::interrupt::error(signal));
        }
        self.now = Instant::now();
        if self.partial.is_empty() {
            let used = self.frames(buf)?;
            self.partial.extend_from_slice(&buf[used..]);
        } else {
            let mut joined = std::mem::take(&mut self.partial);
            joined.extend_from_slice(buf);
            let used = self.frames(&joined)?;
            joined.drain(..used);
            self.partial = joined;
        }
        self.close_idle()
    }

    /// Handles every complete frame in `buf`; returns the bytes used.
    fn frames(&mut self, buf: &[u8]) -> anyhow::Result<usize> {
        let mut pos = 0;
        while let Some((frame, used)) =
            frame::next(&buf[pos..]).map_err(|e| anyhow::anyhow!("internal error: {e}"))?
        {
            match frame {
                Frame::Header(h) => {
                    if self.header.is_empty() {
                        self.header = h.to_vec();
                    }
                }
                Frame::Rows {
                    family,
                    lens,
                    bytes,
                } => self.route(family, &lens, bytes)?,
            }
            pos += used;
        }
        Ok(pos)
    }

    fn route(&mut self, family: &str, lens: &[u32], bytes: &[u8]) -> anyhow::Result<()> {
        let f = match self.by_name.get(family) {
            Some(&f) => f,
            None => {
                self.families.push(Family {
                    name: family.to_string(),
                    seq: 0,
                    file: None,
                    last_tick: 0,
                    last_touch: self.now,
                });
                self.by_name
                    .insert(family.to_string(), self.families.len() - 1);
                self.families.len() - 1
            }
        };
        self.tick += 1;
        self.families[f].last_tick = self.tick;
        self.families[f].last_touch = self.now;
        let (rows_max, bytes_max) = (self.limits.rows, self.limits.bytes);
        let (mut i, mut off) = (0usize, 0usize);
        while i < lens.len() {
            if self.families[f].file.is_none() {
                self.open_file(f)?;
            }
            let chunk = self.families[f].file.as_mut().expect("opened");
            // How many of the next rows fit in this file.
            let (mut take, mut take_bytes) = (0u64, 0u64);
            while i + (take as usize) < lens.len() && chunk.rows + take < rows_max {
                let len = u64::from(lens[i + take as usize]);
                let too_big = bytes_max.is_some_and(|max| {
                    chunk.rows + take > 0 && chunk.bytes + take_bytes + len > max
                });
                if too_big {
                    break;
                }
                take += 1;
                take_bytes += len;
            }
            if take == 0 {
                self.close(f)?;
                continue;
            }
            let end = off + take_bytes as usize;
            append(&mut self.backend, chunk, &bytes[off..end])?;
            chunk.rows += take;
            chunk.bytes += take_bytes;
            i += take as usize;
            off = end;
            let full = chunk.rows >= rows_max || bytes_max.is_some_and(|max| chunk.bytes >= max);
            if full {
                // Close at once, so the file is listed as soon as its last row is in.
                self.close(f)?;
            }
        }
        Ok(())
    }

    fn open_file(&mut self, f: usize) -> anyhow::Result<()> {
        if self.open.len() >= self.limits.max_open {
            let lru = *self
                .open
                .iter()
                .min_by_key(|&&o| self.families[o].last_tick)
                .expect("max_open >= 1");
            self.close(lru)?;
        }
        let fam = &mut self.families[f];
        fam.seq += 1;
        let path = self.limits.out.file(&fam.name, fam.seq, self.limits.gzip);
        self.next_id += 1;
        let mut chunk = OpenChunk {
            id: self.next_id,
            path: Arc::new(path),
            rows: 0,
            bytes: 0,
            buf: Vec::new(),
            sent_any: false,
        };
        if self.limits.header {
            append(&mut self.backend, &mut chunk, &self.header)?;
            chunk.bytes = self.header.len() as u64;
        }
        fam.file = Some(chunk);
        self.open.push(f);
        Ok(())
    }

    fn close(&mut self, f: usize) -> anyhow::Result<()> {
        self.open.retain(|&o| o != f);
        let Some(mut chunk) = self.families[f].file.take() else {
            return Ok(());
        };
        let raw = std::mem::take(&mut chunk.buf);
        let meta = PieceMeta {
            file: chunk.id,
            path: chunk.path,
            first: !chunk.sent_any,
            last: true,
        };
        self.backend.submit(meta, raw)
    }

    fn close_idle(&mut self) -> anyhow::Result<()> {
        let Some(idle) = self.limits.idle else {
            return Ok(());
        };
        if self.now.duration_since(self.last_idle_scan) < idle.min(Duration::from_secs(1)) {
            return Ok(());
        }
        self.last_idle_scan = self.now;
        let stale: Vec<usize> = self
            .open
            .iter()
            .copied()
            .filter(|&f| self.now.duration_since(self.families[f].last_touch) >= idle)
            .collect();
        for f in stale {
            self.close(f)?;
        }
        Ok(())
    }
}

/// Adds raw bytes to an open file, handing over each full piece.
fn append(backend: &mut Backend, chunk: &mut OpenChunk, mut data: &[u8]) -> anyhow::Result<()> {
    while !data.is_empty() {
        let n = (gz::PIECE - chunk.buf.len()).min(data.len());
        chunk.buf.extend_from_slice(&data[..n]);
        data = &data[n..];
        if chunk.buf.len() == gz::PIECE {
            let meta = PieceMeta {
                file: chunk.id,
                path: chunk.path.clone(),
                first: !chunk.sent_any,
                last: false,
            };
            chunk.sent_any = true;
            backend.submit(meta, std::mem::take(&mut chunk.buf))?;
        }
    }
    Ok(())
}

/// The pipeline's sink: frames in, files out.
impl Write for Router {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.failure.is_some() {
            return Err(io::Error::other("output stopped"));
        }
        match self.consume(buf) {
            Ok(()) => Ok(buf.len()),
            Err(e) => {
                self.failure = Some(e);
                Err(io::Error::other("output stopped"))
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
