//! The ordered parallel map: sources -> blocks -> N workers -> output in input order.
//!
//! Two shapes of work, one mechanism:
//! * **One source** (a big file, or stdin): the workers take turns reading (decompressing and
//!   cutting) its next block, and each processes the block it read. The block is then still in
//!   that core's cache; a reader thread handing blocks over made every worker fetch each
//!   block's bytes from another core, and cost 10% more CPU at `-j2`.
//! * **Many sources**: each file is a task; the worker that takes it decompresses and processes
//!   it block by block, so gzip decoding runs on every core.
//!
//! The writer (the calling thread) receives, in input order, one channel per task and drains
//! each in turn, so output order equals input order however the tasks finish. All queues are
//! bounded (about 2 x threads tasks in flight), so memory does not grow with the input. File
//! tasks that are not yet being written queue their output in memory up to a shared budget
//! (4 x threads x block size); past it a task spills its further output to an anonymous
//! temporary file instead of waiting, so a slow first file never idles the other workers and
//! memory stays bounded.
//!
//! A worker keeps its own state (a [`Worker`]); reduce tools (pivot-count) get every worker's
//! state back at the end to merge.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};

use crate::chunk::{self, Block, BufferPool, Chunker, Header, HeaderRule};
use crate::cli::{self, RunArgs};
use crate::counters::{Counters, Publishers};
use crate::input::{self, Opened, Source, Sources};
use crate::prefetch::Prefetch;
use crate::s3;

/// Output pieces a file task may queue (the byte budget in [`Shared`] is the real bound).
const FILE_QUEUE: usize = 256;

/// One block of whole lines, as a worker sees it.
pub struct BlockRef<'a> {
    /// The source's name, for reject lines and messages.
    pub source: &'a str,
    /// 1-based number of the first line of `data` in its source.
    pub first_line: u64,
    pub data: &'a [u8],
    /// The header in force at the start of the block (see [`HeaderRule`]).
    pub header: Option<&'a Header>,
}

impl<'a> BlockRef<'a> {
    fn new(source: &'a str, block: &'a Block) -> Self {
        BlockRef {
            source,
            first_line: block.first_line,
            data: &block.data,
            header: block.header.as_deref(),
        }
    }

    /// The block's lines as `(line_number, line)`, line ends removed.
    pub fn lines(&self) -> chunk::Lines<'a> {
        chunk::lines(self.data, self.first_line)
    }
}

/// A tool's per-thread state: turns blocks into output.
pub trait Worker: Send {
    fn process(&mut self, block: &BlockRef<'_>, out: &mut Out) -> anyhow::Result<()>;
}

/// How rejected lines are handled.
#[derive(Debug)]
struct RejectPolicy {
    strict: bool,
    keep: bool,
}

/// What a worker produced from one block: output bytes, reject lines and counter tallies.
pub struct Out {
    /// Bytes for the tool's output, in order (whole lines).
    pub data: Vec<u8>,
    rejects: Vec<u8>,
    tallies: Vec<(&'static str, u64)>,
    policy: Arc<RejectPolicy>,
    /// The block's line count, from a worker that counted them ([`Out::lines_counted`]).
    lines: Option<u64>,
}

impl Out {
    /// The memory this output holds while it waits to be written: its buffers' capacity
    /// (a reused buffer's pages stay resident whatever part of it is filled).
    fn footprint(&self) -> usize {
        self.data.capacity() + self.rejects.capacity()
    }

    fn new(policy: Arc<RejectPolicy>, data: Vec<u8>) -> Out {
        Out {
            data,
            rejects: Vec::new(),
            tallies: Vec::new(),
            policy,
            lines: None,
        }
    }

    /// Reports how many lines the block had, counted as the worker walked them, so the block
    /// reader need not count them too (see [`Pipeline::lines_counted_by_workers`]).
    pub fn lines_counted(&mut self, lines: u64) {
        self.lines = Some(lines);
    }

    /// Adds `n` to the counter `name` (summed locally, published once per block).
    pub fn tally(&mut self, name: &'static str, n: u64) {
        if n == 0 {
            return;
        }
        match self
            .tallies
            .iter_mut()
            .find(|(k, _)| std::ptr::eq(*k, name) || *k == name)
        {
            Some((_, v)) => *v += n,
            None => self.tallies.push((name, n)),
        }
    }

    /// Rejects a line: counted as `rejected_<reason>`, written to `--reject` if asked, and an
    /// error under `--strict` (which the worker returns, stopping the run).
    pub fn reject(
        &mut self,
        block: &BlockRef<'_>,
        line_no: u64,
        reason: &'static str,
        line: &[u8],
    ) -> anyhow::Result<()> {
        self.reject_named(block.source, line_no, reason, line)
    }

    /// [`Out::reject`] for callers that have no [`BlockRef`] at hand.
    pub fn reject_named(
        &mut self,
        source: &str,
        line_no: u64,
        reason: &'static str,
        line: &[u8],
    ) -> anyhow::Result<()> {
        if self.policy.strict {
            anyhow::bail!("{source}:{line_no}: rejected line ({reason}) under --strict");
        }
        self.tally(reason_counter(reason), 1);
        if self.policy.keep {
            // Escaped as a TSV cell: a name holding a TAB or a newline would break the line.
            crate::tsv::escape_into(source.as_bytes(), &mut self.rejects);
            self.rejects.push(b':');
            self.rejects
                .extend_from_slice(itoa::Buffer::new().format(line_no).as_bytes());
            self.rejects.push(b'\t');
            self.rejects.extend_from_slice(reason.as_bytes());
            self.rejects.push(b'\t');
            self.rejects.extend_from_slice(line);
            self.rejects.push(b'\n');
        }
        Ok(())
    }

    fn publish_tallies(&mut self, counters: &Counters) {
        for (name, n) in self.tallies.drain(..) {
            counters.add(name, n);
        }
    }

    fn is_empty(&self) -> bool {
        self.data.is_empty() && self.rejects.is_empty()
    }
}

/// `rejected_<reason>` as a `'static` name, interned once per distinct reason.
fn reason_counter(reason: &'static str) -> &'static str {
    static NAMES: Mutex<Vec<(&'static str, &'static str)>> = Mutex::new(Vec::new());
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, name)) = names.iter().find(|(r, _)| *r == reason) {
        return name;
    }
    let name: &'static str = Box::leak(format!("rejected_{reason}").into_boxed_str());
    names.push((reason, name));
    name
}

/// A job's settings and its counters: start it, run one or more passes, finish it.
pub struct Pipeline {
    pub counters: Arc<Counters>,
    threads: usize,
    block_size: usize,
    rule: HeaderRule,
    policy: Arc<RejectPolicy>,
    stats: Option<PathBuf>,
    /// Set by [`Pipeline::finish`]; a pipeline dropped before (an error, `--strict`, a closed
    /// stdout) still writes `--stats`, with the counts at the stop.
    finished: std::sync::atomic::AtomicBool,
    reject_path: Option<PathBuf>,
    line_buffered: bool,
    /// Recycled input blocks and output buffers.
    blocks: BufferPool,
    outs: BufferPool,
    /// Downloads S3 inputs ahead of the workers, during a run that has any.
    prefetch: Mutex<Option<Arc<Prefetch>>>,
    /// Workers report each block's line count ([`Pipeline::lines_counted_by_workers`]).
    workers_count_lines: bool,
    _publishers: Publishers,
}

impl Drop for Pipeline {
    /// A run that stopped early still leaves its `--stats` (a JSON file that a job's next step
    /// reads), not an empty or missing one. A failure to write it now has nowhere to go.
    fn drop(&mut self) {
        if !self.finished.load(std::sync::atomic::Ordering::Relaxed) {
            let _ = self.write_stats();
        }
    }
}

impl Pipeline {
    /// Sets up counters, `--progress`, `--metrics-addr` and `--reject` for `tool`.
    pub fn start(tool: &'static str, args: &RunArgs, rule: HeaderRule) -> anyhow::Result<Self> {
        let counters = Counters::new(tool);
        let threads = args.thread_count();
        let block_size = args.block_size as usize;
        let publishers = Publishers::start(&counters, args.progress, args.metrics_addr.as_deref())?;
        if let Some(path) = args.stats.as_ref().filter(|p| p.as_os_str() != "-") {
            // Written at the end, but a path that cannot be written is found out now, not
            // after hours of work (an existing file is left as it is until then).
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .open(path)
                .with_context(|| format!("--stats {}", path.display()))?;
        }
        Ok(Pipeline {
            counters,
            threads,
            block_size,
            rule,
            policy: Arc::new(RejectPolicy {
                strict: args.strict,
                keep: args.reject.is_some(),
            }),
            stats: args.stats.clone(),
            finished: std::sync::atomic::AtomicBool::new(false),
            reject_path: args.reject.clone(),
            line_buffered: args.line_buffered,
            blocks: BufferPool::new(4 * threads + 4, 4 * block_size),
            outs: BufferPool::new(4 * threads + 4, 4 * block_size),
            prefetch: Mutex::new(None),
            workers_count_lines: false,
            _publishers: publishers,
        })
    }

    /// Says that the run's workers count the lines of every block they are given and report
    /// the count ([`Out::lines_counted`]), so the block reader skips its own count where a
    /// worker sees all of a source's blocks in order (one thread, or a task per file). A
    /// block a worker gives no count for is counted after it.
    pub fn lines_counted_by_workers(mut self) -> Self {
        self.workers_count_lines = true;
        self
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    pub fn strict(&self) -> bool {
        self.policy.strict
    }

    /// Runs `make()`-built workers over every source, writing their output to `sink` in input
    /// order, and returns the workers (for tools that reduce their state). With `flush_each`
    /// (stdout is a terminal) or `--line-buffered`, `sink` is flushed after every block.
    ///
    /// A source that cannot be read is reported and counted (`files_failed`) and the run goes
    /// on (exit status 1 at the end), unless `--strict`. Errors returned by a worker, and
    /// write errors (a broken pipe among them), stop the run and are returned.
    pub fn run<W, F>(
        &self,
        sources: Sources,
        make: F,
        sink: &mut dyn Write,
        flush_each: bool,
    ) -> anyhow::Result<Vec<W>>
    where
        W: Worker,
        F: Fn() -> anyhow::Result<W> + Sync,
    {
        for err in sources.errors {
            self.source_failed_msg(&format!("{err:#}"))?;
        }
        let mut rejects = match &self.reject_path {
            Some(path) => Some(BufWriter::new(
                File::create(path).with_context(|| format!("--reject {}", path.display()))?,
            )),
            None => None,
        };
        let names: Vec<String> = sources.sources.iter().map(Source::display_name).collect();
        let _prefetch = self.start_prefetch(&sources.sources)?;
        let mut writer = OrderedWriter {
            sink,
            rejects: rejects.as_mut(),
            flush_each: flush_each || self.line_buffered,
            outs: self.outs.clone(),
        };
        let states = if self.threads <= 1 {
            self.run_sequential(&sources.sources, &names, &make, &mut writer)?
        } else {
            self.run_parallel(&sources.sources, &names, &make, &mut writer)?
        };
        writer.sink.flush()?;
        if let Some(r) = rejects.as_mut() {
            r.flush().context("writing --reject file")?;
        }
        Ok(states)
    }

    /// With S3 inputs: publishes the S3 counters and starts downloading ahead. The returned
    /// guard stops the prefetch when the run ends.
    fn start_prefetch(&self, sources: &[Source]) -> anyhow::Result<Option<PrefetchGuard<'_>>> {
        let objects: Vec<s3::S3Uri> = sources
            .iter()
            .filter_map(|s| match s {
                Source::S3(uri) => Some(uri.clone()),
                _ => None,
            })
            .collect();
        if objects.is_empty() {
            return Ok(None);
        }
        let stats = s3::stats();
        self.counters.adopt("retries", stats.retries.clone());
        self.counters.adopt("s3_requests", stats.requests.clone());
        self.counters
            .adopt("s3_bytes_downloaded", stats.bytes_downloaded.clone());
        let prefetch = Prefetch::start(objects)?;
        *self.prefetch.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(prefetch));
        Ok(Some(PrefetchGuard(&self.prefetch)))
    }

    /// Opens a source's stored bytes: S3 objects through the prefetch pool when one runs.
    fn open_raw(&self, source: &Source) -> io::Result<Box<dyn Read + Send>> {
        if let Source::S3(uri) = source {
            let prefetch = self
                .prefetch
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            if let Some(p) = prefetch {
                return p.open(uri);
            }
        }
        input::open_raw(source)
    }

    /// Writes `--stats`, and a one-line summary of rejected lines on stderr.
    pub fn finish(&self) -> anyhow::Result<()> {
        self.finished
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let rejected = self.counters.sum_prefix("rejected_");
        if rejected > 0 {
            let reasons: Vec<String> = self
                .counters
                .snapshot()
                .into_iter()
                .filter(|(k, v)| k.starts_with("rejected_") && *v > 0)
                .map(|(k, v)| format!("{} {v}", &k["rejected_".len()..]))
                .collect();
            let hint = if self.reject_path.is_some() {
                ""
            } else {
                "; --reject FILE keeps them"
            };
            cli::note(&format!(
                "{rejected} lines rejected ({}){hint}",
                reasons.join(", ")
            ));
        }
        self.write_stats()
    }

    fn write_stats(&self) -> anyhow::Result<()> {
        if let Some(path) = &self.stats {
            let json = self.counters.to_json() + "\n";
            if path.as_os_str() == "-" {
                let _ = io::stderr().write_all(json.as_bytes());
            } else {
                std::fs::write(path, json)
                    .with_context(|| format!("--stats {}", path.display()))?;
            }
        }
        Ok(())
    }

    /// Counts and reports an input that could not be read; fatal under `--strict`.
    fn source_failed(&self, name: &str, err: io::Error) -> anyhow::Result<()> {
        self.source_failed_msg(&format!("{name}: {}", describe_io(&err)))
    }

    fn source_failed_msg(&self, msg: &str) -> anyhow::Result<()> {
        self.counters.files_failed.add(1);
        if self.policy.strict {
            anyhow::bail!("{msg}");
        }
        cli::fail(msg);
        Ok(())
    }

    /// Opens a source as blocks; live stdin hands out lines as they arrive. A gzip source of
    /// at most two blocks (compressed and decoded) is decoded whole and becomes one block, so
    /// memory stays within what two blocks take.
    /// `in_order`: one worker processes all of its blocks, in order, and reports their line
    /// counts to the chunker ([`Chunker::lines_done`]), which then need not count them.
    fn chunker(
        &self,
        source: &Source,
        in_order: bool,
    ) -> io::Result<Chunker<Box<dyn Read + Send>>> {
        let raw = self.open_raw(source)?;
        let chunker = |reader| {
            let chunker = Chunker::new(reader, self.block_size, self.rule);
            if in_order && self.workers_count_lines {
                chunker.numbered_by_caller()
            } else {
                chunker
            }
        };
        let live = input::is_live(source);
        let max = 2 * self.block_size;
        if live {
            let reader = input::decompress_if_gzip(raw)?;
            return Ok(chunker(reader).eager(true).pool(self.blocks.clone()));
        }
        let blocks = match input::open_for_blocks(source, raw, max, &self.blocks)? {
            Opened::Stream(reader) => chunker(reader),
            Opened::Decoded(data) => chunker(Box::new(io::empty())).preloaded(data),
        };
        Ok(blocks.pool(self.blocks.clone()))
    }

    /// An output for one block, with a recycled buffer.
    fn new_out(&self) -> Out {
        Out::new(self.policy.clone(), self.outs.get(0))
    }

    /// Counts a block in and runs `state` over it; returns its output, its number of lines
    /// and how that went. The block's buffer goes back to the pool and its tallies are
    /// published either way.
    fn process_block<W: Worker>(
        &self,
        state: &mut W,
        name: &str,
        block: Block,
    ) -> (Out, u64, anyhow::Result<()>) {
        self.counters.bytes_in.add(block.data.len() as u64);
        let mut out = self.new_out();
        let result = state.process(&BlockRef::new(name, &block), &mut out);
        let lines = match (block.lines, out.lines) {
            (Some(n), _) => n,
            (None, Some(n)) if result.is_ok() => {
                debug_assert_eq!(n, chunk::count_lines(&block.data), "a worker's line count");
                n
            }
            // A worker that stopped part way may not have counted them all.
            (None, _) => chunk::count_lines(&block.data),
        };
        self.counters.lines_in.add(lines);
        self.blocks.put(block.data);
        out.publish_tallies(&self.counters);
        (out, lines, result)
    }

    fn run_sequential<W, F>(
        &self,
        sources: &[Source],
        names: &[String],
        make: &F,
        writer: &mut OrderedWriter<'_>,
    ) -> anyhow::Result<Vec<W>>
    where
        W: Worker,
        F: Fn() -> anyhow::Result<W>,
    {
        let mut state = make()?;
        for (source, name) in sources.iter().zip(names) {
            let mut chunker = match self.chunker(source, true) {
                Ok(c) => c,
                Err(e) => {
                    self.source_failed(name, e)?;
                    continue;
                }
            };
            self.counters.files.add(1);
            loop {
                let block = match chunker.next_block() {
                    Ok(Some(block)) => block,
                    Ok(None) => break,
                    Err(e) => {
                        self.source_failed(name, e)?;
                        break;
                    }
                };
                let (out, lines, result) = self.process_block(&mut state, name, block);
                chunker.lines_done(lines);
                result?;
                writer.write(out)?;
            }
        }
        Ok(vec![state])
    }

    fn run_parallel<W, F>(
        &self,
        sources: &[Source],
        names: &[String],
        make: &F,
        writer: &mut OrderedWriter<'_>,
    ) -> anyhow::Result<Vec<W>>
    where
        W: Worker,
        F: Fn() -> anyhow::Result<W> + Sync,
    {
        let n = self.threads;
        let shared = Shared {
            stop: AtomicBool::new(false),
            fatal: Mutex::new(None),
            head: AtomicUsize::new(0),
            queued: AtomicUsize::new(0),
            queue_budget: 4 * n * self.block_size,
        };
        let (order_tx, order_rx) = bounded::<Slot>(2 * n);
        let (job_tx, job_rx) = bounded::<Job>(2 * n);
        let (one_source, order_tx) = match sources {
            [source] => (
                Some(Mutex::new(
                    self.open_one(source, &names[0], order_tx, &shared),
                )),
                None,
            ),
            _ => (None, Some(order_tx)),
        };
        std::thread::scope(|s| {
            let (shared, this) = (&shared, self);
            if let Some(order_tx) = order_tx {
                s.spawn(move || this.produce(sources, order_tx, job_tx, shared));
            } else {
                drop(job_tx);
            }
            let one_source = one_source.as_ref();
            let workers: Vec<_> = (0..n)
                .map(|_| {
                    let job_rx = job_rx.clone();
                    s.spawn(move || this.work(sources, names, make, job_rx, one_source, shared))
                })
                .collect();
            drop(job_rx);
            let written = writer.write_slots(order_rx, &shared.head, &shared.queued);
            if written.is_err() {
                shared.stop.store(true, Ordering::Relaxed);
            }
            let mut states = Vec::with_capacity(n);
            for w in workers {
                match w.join() {
                    Ok(Some(state)) => states.push(state),
                    Ok(None) => {}
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            written?;
            if let Some(err) = shared
                .fatal
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take()
            {
                return Err(err);
            }
            Ok(states)
        })
    }

    /// The producer thread of a run over many sources: a task per file.
    fn produce(
        &self,
        sources: &[Source],
        order_tx: Sender<Slot>,
        job_tx: Sender<Job>,
        shared: &Shared,
    ) {
        for idx in 0..sources.len() {
            let (tx, rx) = bounded(FILE_QUEUE);
            let (spill_tx, spill_rx) = bounded(1);
            let slot = Slot {
                idx,
                rx,
                spill_rx: Some(spill_rx),
            };
            if shared.stopped()
                || order_tx.send(slot).is_err()
                || job_tx.send(Job { idx, tx, spill_tx }).is_err()
            {
                return;
            }
        }
    }

    /// Opens the one source of a parallel run for the workers to read in turn.
    fn open_one(
        &self,
        source: &Source,
        name: &str,
        order_tx: Sender<Slot>,
        shared: &Shared,
    ) -> OneSource {
        let chunker = match self.chunker(source, false) {
            Ok(c) => {
                self.counters.files.add(1);
                Some(c)
            }
            Err(e) => {
                shared.check(self.source_failed(name, e));
                None
            }
        };
        OneSource {
            // No slots come from a source that did not open.
            order_tx: chunker.is_some().then_some(order_tx),
            chunker,
            next_idx: 0,
        }
    }

    /// Reads the one source's next block and queues its slot for the writer, in order (the
    /// lock is held for both). None at the end, or once the run stops.
    fn next_of_one(
        &self,
        one: &Mutex<OneSource>,
        name: &str,
        shared: &Shared,
    ) -> Option<(Block, Sender<Out>)> {
        let mut one = one.lock().unwrap_or_else(|e| e.into_inner());
        let next = self.read_next(&mut one, name, shared);
        if next.is_none() {
            one.close();
        }
        next
    }

    fn read_next(
        &self,
        one: &mut OneSource,
        name: &str,
        shared: &Shared,
    ) -> Option<(Block, Sender<Out>)> {
        if shared.stopped() {
            return None;
        }
        let (chunker, order_tx) = (one.chunker.as_mut()?, one.order_tx.as_ref()?);
        let block = match chunker.next_block() {
            Ok(block) => block?,
            Err(e) => {
                shared.check(self.source_failed(name, e));
                return None;
            }
        };
        let (tx, rx) = bounded(1);
        let slot = Slot {
            idx: one.next_idx,
            rx,
            spill_rx: None,
        };
        one.next_idx += 1;
        // Waits while the writer is 2 x threads slots behind: each queued slot's block is
        // being processed by a worker that does not need this lock, so the writer moves on.
        order_tx.send(slot).ok()?;
        Some((block, tx))
    }

    /// A worker thread; returns its state. With `one_source`, it reads and processes that
    /// source's blocks in turn with the other workers; else it takes file tasks until the
    /// queue closes.
    fn work<W, F>(
        &self,
        sources: &[Source],
        names: &[String],
        make: &F,
        job_rx: Receiver<Job>,
        one_source: Option<&Mutex<OneSource>>,
        shared: &Shared,
    ) -> Option<W>
    where
        W: Worker,
        F: Fn() -> anyhow::Result<W>,
    {
        // However this worker ends (a failed `make`, a panic), no more slots are queued,
        // so the writer is never left waiting for them.
        let _close = one_source.map(CloseOnExit);
        let mut state = match make() {
            Ok(state) => state,
            Err(e) => {
                shared.check(Err(e));
                return None;
            }
        };
        if let Some(one) = one_source {
            while let Some((block, tx)) = self.next_of_one(one, &names[0], shared) {
                let (out, _, result) = self.process_block(&mut state, &names[0], block);
                match result {
                    Ok(()) => {
                        let _ = tx.send(out);
                    }
                    Err(e) => shared.check(Err(e)),
                }
            }
            return Some(state);
        }
        for Job { idx, tx, spill_tx } in job_rx {
            if shared.stopped() {
                continue; // drain the queue so the producer is not left blocked
            }
            let result = self.work_file(&mut state, &sources[idx], &names[idx], idx, &tx, shared);
            match result {
                Ok(Some(spill)) => {
                    let _ = spill_tx.send(spill);
                }
                Ok(None) => {}
                Err(e) => shared.check(Err(e)),
            }
            // `tx` drops here, after the spill is queued: the writer reads the spill when the
            // channel closes.
        }
        Some(state)
    }

    /// Processes one whole file; returns its spill file if its output overflowed the queue.
    fn work_file<W: Worker>(
        &self,
        state: &mut W,
        source: &Source,
        name: &str,
        idx: usize,
        tx: &Sender<Out>,
        shared: &Shared,
    ) -> anyhow::Result<Option<Spill>> {
        let mut chunker = match self.chunker(source, true) {
            Ok(c) => c,
            Err(e) => {
                self.source_failed(name, e)?;
                return Ok(None);
            }
        };
        self.counters.files.add(1);
        let mut spill: Option<Spill> = None;
        while !shared.stopped() {
            let block = match chunker.next_block() {
                Ok(Some(block)) => block,
                Ok(None) => break,
                Err(e) => {
                    self.source_failed(name, e)?;
                    break;
                }
            };
            let (out, lines, result) = self.process_block(state, name, block);
            chunker.lines_done(lines);
            result?;
            if out.is_empty() {
                self.outs.put(out.data);
                continue;
            }
            if let Some(sp) = spill.as_mut() {
                sp.write(&out)?;
                self.outs.put(out.data);
                continue;
            }
            let size = out.footprint();
            if shared.head.load(Ordering::Acquire) == idx {
                shared.queued.fetch_add(size, Ordering::Relaxed);
                if tx.send(out).is_err() {
                    break;
                }
                continue;
            }
            // Not being written yet: queue in memory within the budget, else spill.
            let within =
                shared.queued.fetch_add(size, Ordering::Relaxed) + size <= shared.queue_budget;
            let out = if within {
                match tx.try_send(out) {
                    Ok(()) => continue,
                    Err(TrySendError::Full(out)) => out,
                    Err(TrySendError::Disconnected(_)) => break,
                }
            } else {
                out
            };
            shared.queued.fetch_sub(size, Ordering::Relaxed);
            let mut sp = Spill::new()?;
            sp.write(&out)?;
            self.outs.put(out.data);
            spill = Some(sp);
        }
        Ok(spill)
    }
}

/// Ends a run's prefetch (dropping the pool stops its downloads).
struct PrefetchGuard<'a>(&'a Mutex<Option<Arc<Prefetch>>>);

impl Drop for PrefetchGuard<'_> {
    fn drop(&mut self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take();
    }
}

/// State shared by the threads of one parallel run.
struct Shared {
    stop: AtomicBool,
    fatal: Mutex<Option<anyhow::Error>>,
    /// Index of the task the writer is draining (file tasks block only when they are it).
    head: AtomicUsize,
    /// Bytes of buffer held by file tasks' queued output (see [`Out::footprint`]).
    queued: AtomicUsize,
    /// What `queued` may reach before a task that is not being written spills.
    queue_budget: usize,
}

impl Shared {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Records the first fatal error and stops the run.
    fn check(&self, result: anyhow::Result<()>) {
        if let Err(e) = result {
            let mut fatal = self.fatal.lock().unwrap_or_else(|e| e.into_inner());
            if fatal.is_none() {
                *fatal = Some(e);
            }
            self.stop.store(true, Ordering::Relaxed);
        }
    }
}

/// A file task: the source's index, where its output goes, and where a spill goes.
struct Job {
    idx: usize,
    tx: Sender<Out>,
    spill_tx: Sender<Spill>,
}

/// The one source of a parallel run, which the workers read in turn.
struct OneSource {
    /// None once it ends or fails.
    chunker: Option<Chunker<Box<dyn Read + Send>>>,
    next_idx: usize,
    /// Dropped at the end, which ends the writer's slots.
    order_tx: Option<Sender<Slot>>,
}

impl OneSource {
    /// Reads no more: the writer sees the end of the slots once the sender is gone.
    fn close(&mut self) {
        (self.chunker, self.order_tx) = (None, None);
    }
}

/// Closes the one source when a worker ends, by return or by panic.
struct CloseOnExit<'a>(&'a Mutex<OneSource>);

impl Drop for CloseOnExit<'_> {
    fn drop(&mut self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).close();
    }
}

/// The writer's handle on one task's output, queued in input order.
struct Slot {
    idx: usize,
    rx: Receiver<Out>,
    spill_rx: Option<Receiver<Spill>>,
}

/// Writes outputs and reject lines, in order.
struct OrderedWriter<'a> {
    sink: &'a mut dyn Write,
    rejects: Option<&'a mut BufWriter<File>>,
    flush_each: bool,
    /// Written output buffers go back here for the workers to reuse.
    outs: BufferPool,
}

impl OrderedWriter<'_> {
    fn write(&mut self, out: Out) -> anyhow::Result<()> {
        self.write_parts(&out.data, &out.rejects)?;
        self.outs.put(out.data);
        Ok(())
    }

    fn write_parts(&mut self, data: &[u8], rejects: &[u8]) -> anyhow::Result<()> {
        if !data.is_empty() {
            self.sink.write_all(data)?;
            if self.flush_each {
                self.sink.flush()?;
            }
        }
        if let (Some(r), false) = (self.rejects.as_mut(), rejects.is_empty()) {
            r.write_all(rejects).context("writing --reject file")?;
        }
        Ok(())
    }

    /// Writes every task's output in order; `queued` is [`Shared::queued`], which file tasks'
    /// pieces leave as they are written.
    fn write_slots(
        &mut self,
        order_rx: Receiver<Slot>,
        head: &AtomicUsize,
        queued: &AtomicUsize,
    ) -> anyhow::Result<()> {
        for slot in order_rx {
            head.store(slot.idx, Ordering::Release);
            for out in slot.rx.iter() {
                if slot.spill_rx.is_some() {
                    queued.fetch_sub(out.footprint(), Ordering::Relaxed);
                }
                self.write(out)?;
            }
            if let Some(spill) = slot.spill_rx.and_then(|rx| rx.try_recv().ok()) {
                spill.replay(|data, rejects| self.write_parts(data, rejects))?;
            }
        }
        Ok(())
    }
}

/// Output of a file task that overflowed its queue: length-prefixed pieces in a temp file.
struct Spill {
    file: BufWriter<File>,
}

impl Spill {
    fn new() -> anyhow::Result<Spill> {
        let file = tempfile::tempfile().context("creating a spill file in TMPDIR")?;
        Ok(Spill {
            file: BufWriter::with_capacity(1 << 20, file),
        })
    }

    fn write(&mut self, out: &Out) -> anyhow::Result<()> {
        let f = &mut self.file;
        f.write_all(&(out.data.len() as u64).to_le_bytes())
            .and_then(|_| f.write_all(&(out.rejects.len() as u64).to_le_bytes()))
            .and_then(|_| f.write_all(&out.data))
            .and_then(|_| f.write_all(&out.rejects))
            .context("writing a spill file in TMPDIR")
    }

    fn replay(
        self,
        mut write: impl FnMut(&[u8], &[u8]) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let mut file = self.file.into_inner().map_err(|e| e.into_error())?;
        file.rewind()?;
        let mut r = BufReader::with_capacity(1 << 20, file);
        let (mut data, mut rejects) = (Vec::new(), Vec::new());
        let mut lens = [0u8; 16];
        loop {
            match r.read_exact(&mut lens) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
                Err(e) => return Err(e).context("reading a spill file"),
            }
            let dl = u64::from_le_bytes(lens[..8].try_into().unwrap()) as usize;
            let rl = u64::from_le_bytes(lens[8..].try_into().unwrap()) as usize;
            data.resize(dl, 0);
            rejects.resize(rl, 0);
            r.read_exact(&mut data)?;
            r.read_exact(&mut rejects)?;
            write(&data, &rejects)?;
        }
    }
}

/// An I/O error as users read it: gzip trouble named as such.
fn describe_io(err: &io::Error) -> String {
    match err.kind() {
        io::ErrorKind::UnexpectedEof => "truncated input (unexpected end of gzip stream)".into(),
        // Said once: "corrupt gzip stream does not have a matching checksum" as it is.
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData
            if err.to_string().contains("corrupt") =>
        {
            err.to_string()
        }
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => {
            format!("corrupt input ({err})")
        }
        _ => err.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Copies lines through, rejecting the ones that say "bad".
    #[derive(Debug)]
    struct Echo;

    impl Worker for Echo {
        fn process(&mut self, block: &BlockRef<'_>, out: &mut Out) -> anyhow::Result<()> {
            let mut kept = 0;
            for (n, line) in block.lines() {
                if line == b"bad" {
                    out.reject(block, n, "bad_line", line)?;
                } else {
                    out.data.extend_from_slice(line);
                    out.data.push(b'\n');
                    kept += 1;
                }
            }
            out.tally("records_out", kept);
            Ok(())
        }
    }

    /// [`Echo`] that counts each block's lines itself, and checks their numbers against
    /// what the lines say (`file F line I` is line I + 1).
    struct CountingEcho;

    impl Worker for CountingEcho {
        fn process(&mut self, block: &BlockRef<'_>, out: &mut Out) -> anyhow::Result<()> {
            let mut lines = 0;
            for (n, line) in block.lines() {
                lines += 1;
                let text = String::from_utf8_lossy(line);
                if let Some(i) = text.split(' ').nth(3) {
                    assert_eq!(i.parse::<u64>().unwrap() + 1, n, "{text}");
                }
            }
            out.lines_counted(lines);
            Echo.process(block, out)
        }
    }

    fn args(threads: usize, block: u64, reject: Option<PathBuf>) -> RunArgs {
        RunArgs {
            threads: Some(threads),
            block_size: block,
            reject,
            ..RunArgs::default()
        }
    }

    /// Writes files of numbered lines (some "bad"); returns them and the expected output.
    fn files(dir: &std::path::Path, sizes: &[usize]) -> (Sources, Vec<u8>) {
        let mut expected = Vec::new();
        let mut sources = Sources::default();
        for (f, &n) in sizes.iter().enumerate() {
            let path = dir.join(format!("f{f}"));
            let mut file = File::create(&path).unwrap();
            for i in 0..n {
                if i % 97 == 5 {
                    writeln!(file, "bad").unwrap();
                } else {
                    let line = format!("file {f} line {i} {}", "x".repeat(i % 50));
                    writeln!(file, "{line}").unwrap();
                    expected.extend_from_slice(line.as_bytes());
                    expected.push(b'\n');
                }
            }
            sources.sources.push(Source::Path(path));
        }
        (sources, expected)
    }

    /// `data` as one gzip member.
    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    /// A gzip file `cut.gz` in `dir` of `lines` numbered lines, cut to the first
    /// `keep(compressed length)` bytes, as the sources of a run; and the whole lines a
    /// decoder gets out of it before the error (what a run must still write).
    fn cut_gzip(
        dir: &std::path::Path,
        lines: usize,
        keep: impl FnOnce(usize) -> usize,
    ) -> (Sources, Vec<u8>) {
        let data: Vec<u8> = (0..lines)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .collect();
        let gz = gzip(&data);
        let cut = &gz[..keep(gz.len())];
        std::fs::write(dir.join("cut.gz"), cut).unwrap();
        let mut decoded = Vec::new();
        let mut decoder = flate2::read::GzDecoder::new(cut);
        let mut piece = [0u8; 4096];
        while let Ok(n @ 1..) = decoder.read(&mut piece) {
            decoded.extend_from_slice(&piece[..n]);
        }
        let whole = memchr::memrchr(b'\n', &decoded).map_or(0, |i| i + 1);
        decoded.truncate(whole);
        assert!(data.starts_with(&decoded));
        (only(dir.join("cut.gz")), decoded)
    }

    /// Just `path`, as the sources of a run.
    fn only(path: PathBuf) -> Sources {
        Sources {
            sources: vec![Source::Path(path)],
            errors: Vec::new(),
        }
    }

    #[test]
    fn io_errors_say_what_went_wrong_once() {
        let say = |kind, msg: &str| describe_io(&io::Error::new(kind, msg.to_string()));
        assert_eq!(
            say(
                io::ErrorKind::InvalidData,
                "corrupt gzip stream does not have a matching checksum"
            ),
            "corrupt gzip stream does not have a matching checksum"
        );
        assert_eq!(
            say(io::ErrorKind::InvalidInput, "invalid gzip header"),
            "corrupt input (invalid gzip header)"
        );
        assert_eq!(
            say(io::ErrorKind::UnexpectedEof, "x"),
            "truncated input (unexpected end of gzip stream)"
        );
    }

    #[test]
    fn reject_lines_escape_a_source_name_holding_tabs_or_newlines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a\tb\nc.log");
        std::fs::write(&path, "ok\nbad\n").unwrap();
        let reject = dir.path().join("rejects");
        let p =
            Pipeline::start("t", &args(1, 1024, Some(reject.clone())), HeaderRule::None).unwrap();
        p.run(only(path), || Ok(Echo), &mut Vec::new(), false)
            .unwrap();
        let rejects = std::fs::read_to_string(&reject).unwrap();
        assert_eq!(rejects.lines().count(), 1, "{rejects:?}");
        assert!(
            rejects.ends_with("/a\\tb\\nc.log:2\tbad_line\tbad\n"),
            "{rejects:?}"
        );
    }

    #[test]
    fn output_keeps_input_order_in_every_shape() {
        let dir = tempfile::tempdir().unwrap();
        for sizes in [&[0usize][..], &[5000], &[3000, 10, 0, 4000, 1], &[2000; 9]] {
            for threads in [1, 2, 3] {
                // Lines counted by the block reader, then by workers that report them (where
                // a worker sees a whole source: one source at two threads is cut into blocks
                // for both workers, and its lines are counted by the block reader).
                for counting in [false, true] {
                    let (sources, expected) = files(dir.path(), sizes);
                    let reject = dir.path().join("rejects");
                    let mut p = Pipeline::start(
                        "t",
                        &args(threads, 1024, Some(reject.clone())),
                        HeaderRule::None,
                    )
                    .unwrap();
                    let mut out = Vec::new();
                    if counting {
                        p = p.lines_counted_by_workers();
                        p.run(sources, || Ok(CountingEcho), &mut out, false)
                            .map(drop)
                    } else {
                        p.run(sources, || Ok(Echo), &mut out, false).map(drop)
                    }
                    .unwrap();
                    let shape = format!("sizes {sizes:?} threads {threads} counting {counting}");
                    assert!(out == expected, "{shape}");
                    let lines: u64 = sizes.iter().map(|&n| n as u64).sum();
                    let bad = p.counters.counter("rejected_bad_line").get();
                    assert_eq!(p.counters.lines_in.get(), lines, "{shape}");
                    assert_eq!(p.counters.counter("records_out").get() + bad, lines);
                    // Reject lines come in input order too, with file and line: every 97th
                    // line from the sixth is "bad", in each file.
                    let rejects = std::fs::read_to_string(&reject).unwrap();
                    let numbers: Vec<&str> = rejects
                        .lines()
                        .map(|r| r.split('\t').next().unwrap().rsplit(':').next().unwrap())
                        .collect();
                    let want: Vec<String> = sizes
                        .iter()
                        .flat_map(|&n| (5..n).step_by(97).map(|i| (i + 1).to_string()))
                        .collect();
                    assert_eq!(numbers, want, "{shape}");
                }
            }
        }
    }

    #[test]
    fn gzip_files_read_the_same_whole_or_streamed() {
        let dir = tempfile::tempdir().unwrap();
        // With 1 KiB blocks, files up to 2 KiB (compressed and decoded) are decoded whole.
        let (plain, expected) = files(dir.path(), &[10, 60, 400, 3000, 40, 40]);
        let mut sources = Sources::default();
        for (i, source) in plain.sources.iter().enumerate() {
            let Source::Path(path) = source else { panic!() };
            let data = std::fs::read(path).unwrap();
            // File 4 is two members; file 5 three, the last empty.
            let cuts: &[usize] = match i {
                4 => &[data.len() / 3],
                5 => &[data.len() / 2, data.len()],
                _ => &[],
            };
            let mut gz = Vec::new();
            let mut start = 0;
            for &end in cuts.iter().chain([&data.len()]) {
                gz.extend(gzip(&data[start..end]));
                start = end;
            }
            let gz_path = path.with_extension("gz");
            std::fs::write(&gz_path, gz).unwrap();
            sources.sources.push(Source::Path(gz_path));
        }
        let p = Pipeline::start("t", &args(2, 1024, None), HeaderRule::None).unwrap();
        let mut out = Vec::new();
        p.run(sources, || Ok(Echo), &mut out, false).unwrap();
        assert!(out == expected);
        assert_eq!(p.counters.files_failed.get(), 0);

        // A truncated small file: every whole line before the cut (the last block's too),
        // then a failed input; with blocks larger than the file, as the default ones are.
        for block in [1024, 1 << 20] {
            let (cut, before) = cut_gzip(dir.path(), 300, |len| len - 6);
            let p = Pipeline::start("t", &args(1, block, None), HeaderRule::None).unwrap();
            let mut out = Vec::new();
            p.run(cut, || Ok(Echo), &mut out, false).unwrap();
            assert_eq!(p.counters.files_failed.get(), 1);
            assert!(
                out == before,
                "block {block}: the lines before the cut are kept"
            );
        }
    }

    #[test]
    fn a_stats_path_that_cannot_be_written_fails_at_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = args(1, 1024, None);
        a.stats = Some(dir.path().join("missing/st.json"));
        let err = Pipeline::start("t", &a, HeaderRule::None).err().unwrap();
        assert!(err.to_string().starts_with("--stats "), "{err}");
        // A writable one is kept as it is until the end writes it.
        let path = dir.path().join("st.json");
        std::fs::write(&path, "old").unwrap();
        a.stats = Some(path.clone());
        let p = Pipeline::start("t", &a, HeaderRule::None).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        p.finish().unwrap();
        assert!(std::fs::read_to_string(&path)
            .unwrap()
            .contains("\"lines_in\":0"));
    }

    #[test]
    fn a_pipeline_stopped_early_still_writes_its_stats() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = args(1, 1024, None);
        let path = dir.path().join("st.json");
        a.stats = Some(path.clone());
        let p = Pipeline::start("t", &a, HeaderRule::None).unwrap();
        p.counters.files.add(3);
        drop(p);
        assert!(std::fs::read_to_string(&path)
            .unwrap()
            .contains("\"files\":3"));
    }

    #[test]
    fn strict_turns_a_reject_into_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let (sources, _) = files(dir.path(), &[100, 100]);
        let mut a = args(2, 4096, None);
        a.strict = true;
        let p = Pipeline::start("t", &a, HeaderRule::None).unwrap();
        let err = p
            .run(sources, || Ok(Echo), &mut Vec::new(), false)
            .unwrap_err();
        assert!(
            err.to_string().contains(":6: rejected line (bad_line)"),
            "{err}"
        );
    }

    #[test]
    fn a_failed_source_is_counted_and_the_rest_still_run() {
        let dir = tempfile::tempdir().unwrap();
        let (mut sources, expected) = files(dir.path(), &[50]);
        sources
            .sources
            .insert(0, Source::Path(dir.path().join("missing")));
        let p = Pipeline::start("t", &args(2, 4096, None), HeaderRule::None).unwrap();
        let mut out = Vec::new();
        p.run(sources, || Ok(Echo), &mut out, false).unwrap();
        assert_eq!(out, expected);
        assert_eq!(p.counters.files_failed.get(), 1);
        assert_eq!(p.counters.files.get(), 1);
    }

    #[test]
    fn one_source_read_in_turns_ends_cleanly_however_it_ends() {
        let dir = tempfile::tempdir().unwrap();
        for threads in [2, 3] {
            // Missing: counted, nothing written, no thread left waiting for slots.
            let p = Pipeline::start("t", &args(threads, 1024, None), HeaderRule::None).unwrap();
            let mut out = Vec::new();
            let missing = only(dir.path().join("missing"));
            p.run(missing, || Ok(Echo), &mut out, false).unwrap();
            assert!(out.is_empty());
            assert_eq!(p.counters.files_failed.get(), 1);

            // Cut off after many blocks: the lines before the cut, in order, then a failure.
            let (cut, data) = cut_gzip(dir.path(), 40_000, |len| len * 2 / 3);
            let p = Pipeline::start("t", &args(threads, 1024, None), HeaderRule::None).unwrap();
            let mut out = Vec::new();
            p.run(cut, || Ok(Echo), &mut out, false).unwrap();
            assert_eq!(p.counters.files_failed.get(), 1);
            assert!(out == data, "every whole line before the cut, in order");

            // A worker's error (--strict and a rejected line) stops the run and is returned.
            let (sources, _) = files(dir.path(), &[5000]);
            let mut a = args(threads, 1024, None);
            a.strict = true;
            let p = Pipeline::start("t", &a, HeaderRule::None).unwrap();
            let err = p
                .run(sources, || Ok(Echo), &mut Vec::new(), false)
                .unwrap_err();
            assert!(err.to_string().contains(":6: rejected line"), "{err}");

            // Workers that cannot start: their error, not a writer waiting for slots.
            let (sources, _) = files(dir.path(), &[5000]);
            let p = Pipeline::start("t", &args(threads, 1024, None), HeaderRule::None).unwrap();
            let err = p
                .run(
                    sources,
                    || -> anyhow::Result<Echo> { anyhow::bail!("no worker") },
                    &mut Vec::new(),
                    false,
                )
                .unwrap_err();
            assert_eq!(err.to_string(), "no worker");

            // A closed pipe stops the workers reading.
            let (sources, _) = files(dir.path(), &[60_000]);
            let p = Pipeline::start("t", &args(threads, 1024, None), HeaderRule::None).unwrap();
            let err = p
                .run(sources, || Ok(Echo), &mut ClosedPipe(10_000), false)
                .unwrap_err();
            assert!(cli::is_broken_pipe(&err), "{err:#}");
            assert!(p.counters.lines_in.get() < 60_000, "stopped early");
        }
    }

    /// A writer that fails like a closed pipe after some bytes.
    struct ClosedPipe(usize);

    impl Write for ClosedPipe {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.0 < buf.len() {
                return Err(io::Error::from(io::ErrorKind::BrokenPipe));
            }
            self.0 -= buf.len();
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_broken_pipe_stops_every_thread() {
        let dir = tempfile::tempdir().unwrap();
        let (sources, _) = files(dir.path(), &[20_000, 20_000, 20_000]);
        let p = Pipeline::start("t", &args(2, 1024, None), HeaderRule::None).unwrap();
        let err = p
            .run(sources, || Ok(Echo), &mut ClosedPipe(10_000), false)
            .unwrap_err();
        assert!(cli::is_broken_pipe(&err), "{err:#}");
    }
}
