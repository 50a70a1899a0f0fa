//! Where pieces go once the router has cut them: compressed and written either inline (`-j1`,
//! a plain sequential loop) or by a pool of compressor threads feeding one file-writer thread.
//!
//! The threaded shape keeps output deterministic: the router queues, in the order it cuts
//! them, a slot per piece holding the receiver of that piece's result; the writer thread takes
//! slots in that order and waits for each result. Pieces of one file therefore land in order
//! whichever thread compressed them, and files finish in the same order as with `-j1`. Both
//! queues are bounded, so at most about 3 x threads pieces are in flight.

use std::io;
use std::thread::JoinHandle;

use anyhow::Context;
use crossbeam_channel::{bounded, Receiver, Sender};
use flate2::Crc;

use crate::files::{Completed, FileWriter, PieceMeta};
use crate::gz::{Deflater, Piece};

struct Job {
    raw: Vec<u8>,
    last: bool,
    done: Sender<io::Result<Piece>>,
}

/// The output side of a run (see the module docs).
pub struct Backend(Inner);

enum Inner {
    Inline {
        deflater: Option<Deflater>,
        writer: FileWriter,
    },
    Threads {
        slots: Sender<(PieceMeta, Receiver<io::Result<Piece>>)>,
        jobs: Option<Sender<Job>>,
        pool: Vec<JoinHandle<()>>,
        writer: JoinHandle<anyhow::Result<Vec<Completed>>>,
    },
}

impl Backend {
    /// `level` is None for plain CSV.
    pub fn new(threads: usize, level: Option<u32>, writer: FileWriter) -> anyhow::Result<Backend> {
        if threads <= 1 {
            return Ok(Backend(Inner::Inline {
                deflater: level.map(Deflater::new),
                writer,
            }));
        }
        let (slots, slot_rx) = bounded::<(PieceMeta, Receiver<io::Result<Piece>>)>(2 * threads);
        let writer = std::thread::Builder::new()
            .name("csv-chunk-writer".into())
            .spawn(move || write_slots(writer, slot_rx))
            .context("starting the writer thread")?;
        let mut pool = Vec::new();
        let mut jobs = None;
        if let Some(level) = level {
            let (job_tx, job_rx) = bounded::<Job>(threads);
            for i in 0..threads {
                let rx = job_rx.clone();
                pool.push(
                    std::thread::Builder::new()
                        .name(format!("csv-chunk-gzip-{i}"))
                        .spawn(move || compress_jobs(level, rx))
                        .context("starting a compressor thread")?,
                );
            }
            jobs = Some(job_tx);
        }
        Ok(Backend(Inner::Threads {
            slots,
            jobs,
            pool,
            writer,
        }))
    }

    /// Hands over one piece. An error means output has stopped; [`Backend::finish`] says why.
    pub fn submit(&mut self, meta: PieceMeta, raw: Vec<u8>) -> anyhow::Result<()> {
        match &mut self.0 {
            Inner::Inline { deflater, writer } => {
                let piece = match deflater {
                    Some(d) => d.piece(&raw, meta.last).context("compressing")?,
                    None => plain(raw),
                };
                writer.write(&meta, piece)
            }
            Inner::Threads { slots, jobs, .. } => {
                let (done, result) = bounded(1);
                let last = meta.last;
                slots.send((meta, result)).map_err(|_| stopped())?;
                match jobs {
                    Some(jobs) => jobs.send(Job { raw, last, done }).map_err(|_| stopped()),
                    None => done.send(Ok(plain(raw))).map_err(|_| stopped()),
                }
            }
        }
    }

    /// Waits for every queued piece; returns the finished files in the order they finished,
    /// or the first error of the output side.
    pub fn finish(self) -> anyhow::Result<Vec<Completed>> {
        match self.0 {
            Inner::Inline { writer, .. } => Ok(writer.into_completed()),
            Inner::Threads {
                slots,
                jobs,
                pool,
                writer,
            } => {
                drop(jobs);
                drop(slots);
                for t in pool {
                    if let Err(panic) = t.join() {
                        std::panic::resume_unwind(panic);
                    }
                }
                match writer.join() {
                    Ok(result) => result,
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
        }
    }
}

fn stopped() -> anyhow::Error {
    anyhow::anyhow!("output stopped")
}

fn plain(raw: Vec<u8>) -> Piece {
    Piece {
        data: raw,
        crc: Crc::new(),
    }
}

fn compress_jobs(level: u32, jobs: Receiver<Job>) {
    let mut deflater = Deflater::new(level);
    for job in jobs {
        let _ = job.done.send(deflater.piece(&job.raw, job.last));
    }
}

fn write_slots(
    mut writer: FileWriter,
    slots: Receiver<(PieceMeta, Receiver<io::Result<Piece>>)>,
) -> anyhow::Result<Vec<Completed>> {
    for (meta, result) in slots {
        let piece = result
            .recv()
            .context("internal error: a compressor thread stopped")?
            .context("compressing")?;
        writer.write(&meta, piece)?;
    }
    Ok(writer.into_completed())
}
