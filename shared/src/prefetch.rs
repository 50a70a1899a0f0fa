//! Downloads S3 objects ahead of the threads that parse them, with bounded memory.
//!
//! The pipeline knows its inputs in order. While the CPU workers parse, this pool downloads the
//! next objects (up to `--fetch-threads` at once) into memory, so a worker that reaches an
//! object usually finds it complete. Memory is bounded by `--fetch-buffer`: a download is
//! started only when a share of the buffer (buffer / fetch-threads) is free, and when its size
//! is known it keeps exactly its size if that fits, else it is declined and streamed later.
//! Bytes held for an object are given back when its reader is dropped.
//!
//! Nothing here ever waits for buffer space while a worker waits for it: a worker that reaches
//! an object not yet started (or declined) streams it itself, so the ordered pipeline cannot
//! deadlock however large the objects are.

use std::collections::HashMap;
use std::io::{self, Cursor, Read};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use crate::s3::{self, S3Uri};

/// A prefetched object's state.
enum Slot {
    Waiting,
    Fetching,
    Ready(Vec<u8>),
    Failed(String),
    /// Declined (too big for the buffer) or the fetch was abandoned: stream it.
    Stream,
    /// A reader has it.
    Taken,
}

struct State {
    slots: Vec<Slot>,
    /// Object -> the indices of its slots (an object may be listed twice).
    index: HashMap<S3Uri, Vec<usize>>,
    next: usize,
    /// Buffer bytes held by fetched or fetching objects, in total and per slot.
    reserved: u64,
    reserved_for: Vec<u64>,
    inflight: usize,
    closed: bool,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    budget: u64,
    share: u64,
    max_inflight: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn release(&self, bytes: u64) {
        let mut st = self.lock();
        st.reserved = st.reserved.saturating_sub(bytes);
        drop(st);
        self.changed.notify_all();
    }
}

/// The prefetch pool of one pipeline run; dropping it stops it.
pub struct Prefetch {
    shared: Arc<Shared>,
    objects: Arc<Vec<S3Uri>>,
}

impl Prefetch {
    /// Starts downloading `objects` in order, within the configured buffer.
    pub fn start(objects: Vec<S3Uri>) -> anyhow::Result<Prefetch> {
        let s3 = s3::client()?;
        let settings = s3.settings();
        let max_inflight = settings.fetch_threads.max(1) as usize;
        let budget = settings.fetch_buffer.max(1);
        let mut index: HashMap<S3Uri, Vec<usize>> = HashMap::new();
        for (i, obj) in objects.iter().enumerate() {
            index.entry(obj.clone()).or_default().push(i);
        }
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                slots: objects.iter().map(|_| Slot::Waiting).collect(),
                index,
                next: 0,
                reserved: 0,
                reserved_for: vec![0; objects.len()],
                inflight: 0,
                closed: false,
            }),
            changed: Condvar::new(),
            budget,
            share: (budget / max_inflight as u64).max(1),
            max_inflight,
        });
        let objects = Arc::new(objects);
        let (sh, objs) = (shared.clone(), objects.clone());
        std::thread::Builder::new()
            .name("onebox-prefetch".into())
            .spawn(move || dispatch(sh, objs))?;
        Ok(Prefetch { shared, objects })
    }

    /// Opens an object for reading: its prefetched bytes, or a streaming download.
    pub fn open(&self, uri: &S3Uri) -> io::Result<Box<dyn Read + Send>> {
        let mut st = self.shared.lock();
        let slot_idx = st.index.get(uri).and_then(|idxs| {
            idxs.iter()
                .copied()
                .find(|&i| !matches!(st.slots[i], Slot::Taken))
        });
        let Some(i) = slot_idx else {
            drop(st);
            return stream(uri);
        };
        loop {
            match std::mem::replace(&mut st.slots[i], Slot::Taken) {
                Slot::Fetching => {
                    st.slots[i] = Slot::Fetching;
                    st = self
                        .shared
                        .changed
                        .wait(st)
                        .unwrap_or_else(|e| e.into_inner());
                }
                Slot::Ready(data) => {
                    let held = std::mem::take(&mut st.reserved_for[i]);
                    return Ok(Box::new(Held {
                        data: Cursor::new(data),
                        held,
                        shared: self.shared.clone(),
                    }));
                }
                Slot::Failed(msg) => return Err(io::Error::other(msg)),
                Slot::Waiting | Slot::Stream | Slot::Taken => {
                    drop(st);
                    return stream(&self.objects[i]);
                }
            }
        }
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.changed.notify_all();
    }
}

fn stream(uri: &S3Uri) -> io::Result<Box<dyn Read + Send>> {
    let s3 = s3::client().map_err(|e| io::Error::other(format!("{e:#}")))?;
    Ok(Box::new(s3.open_stream(&uri.bucket, &uri.key)))
}

/// Prefetched bytes; their share of the buffer is given back when the reader is dropped.
struct Held {
    data: Cursor<Vec<u8>>,
    held: u64,
    shared: Arc<Shared>,
}

impl Read for Held {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.data.read(buf)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.shared.release(self.held);
    }
}

/// The dispatcher thread: starts downloads in input order while there is room.
fn dispatch(shared: Arc<Shared>, objects: Arc<Vec<S3Uri>>) {
    let Ok(s3) = s3::client() else { return };
    loop {
        let mut st = shared.lock();
        while !st.closed
            && st.next < st.slots.len()
            && (st.inflight >= shared.max_inflight || st.reserved + shared.share > shared.budget)
        {
            st = shared.changed.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        if st.closed || st.next >= st.slots.len() {
            return;
        }
        let i = st.next;
        st.next += 1;
        if !matches!(st.slots[i], Slot::Waiting) {
            continue; // a reader got there first
        }
        st.slots[i] = Slot::Fetching;
        st.reserved += shared.share;
        st.reserved_for[i] = shared.share;
        st.inflight += 1;
        drop(st);
        let (sh, uri) = (shared.clone(), objects[i].clone());
        s3.spawn(async move {
            let admit_shared = sh.clone();
            let admit = Box::new(move |len: u64| admit_size(&admit_shared, i, len));
            let result = s3.get_to_memory(&uri.bucket, &uri.key, admit).await;
            let mut st = sh.lock();
            st.inflight -= 1;
            let slot = match result {
                Ok(Some(data)) => Slot::Ready(data),
                Ok(None) => Slot::Stream,
                Err(f) => Slot::Failed(f.message),
            };
            if !matches!(slot, Slot::Ready(_)) {
                st.reserved -= std::mem::take(&mut st.reserved_for[i]);
            }
            st.slots[i] = slot;
            drop(st);
            sh.changed.notify_all();
        });
    }
}

/// Turns the provisional share of download `i` into the object's real size, if that fits.
fn admit_size(shared: &Shared, i: usize, len: u64) -> bool {
    let mut st = shared.lock();
    let others = st.reserved - st.reserved_for[i];
    let fits = len <= st.reserved_for[i] || others + len <= shared.budget;
    st.reserved_for[i] = if fits { len } else { 0 };
    st.reserved = others + st.reserved_for[i];
    drop(st);
    shared.changed.notify_all();
    fits
}
