//! Spill files that never outlive the run, even when it is stopped by SIGINT or SIGTERM.
//!
//! A spill run is a temporary file in TMPDIR, removed when dropped. A signal's default action
//! ends the process without running any drop, which left tens of megabytes of hidden
//! `.pivot-count-run-*` files behind per interrupted run. So every live run is listed in
//! [`LIVE`], and [`remove_runs_on_signal`] blocks SIGINT and SIGTERM in every thread and waits
//! for them in a thread of its own (no work in a signal handler): it removes the listed files,
//! then ends the process by the same signal, so the parent sees the status it would have seen
//! (130 / 143). Creating a run holds the same lock, so no run is made after the removal.

use std::collections::HashSet;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// The paths of the runs that exist now.
static LIVE: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);

fn live() -> MutexGuard<'static, Option<HashSet<PathBuf>>> {
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// A spill file, removed when dropped (or on a signal, see the module docs).
#[derive(Debug)]
pub struct Run(tempfile::TempPath);

impl Run {
    /// A new, empty run in TMPDIR, open for writing.
    pub fn create() -> io::Result<(File, Run)> {
        let mut live = live();
        let (file, path) = tempfile::Builder::new()
            .prefix(".pivot-count-run-")
            .tempfile()?
            .into_parts();
        live.get_or_insert_with(HashSet::new)
            .insert(path.to_path_buf());
        Ok((file, Run(path)))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if let Some(set) = live().as_mut() {
            set.remove::<Path>(&self.0);
        }
        // The TempPath, dropped next, removes the file.
    }
}

/// Starts the thread that removes the live runs on SIGINT or SIGTERM. Call it before any other
/// thread starts: the threads started after inherit the blocked signals, so only the waiting
/// thread receives them.
pub fn remove_runs_on_signal() {
    let signals: Vec<libc::c_int> = [libc::SIGINT, libc::SIGTERM]
        .into_iter()
        .filter(|&s| !onebox::cli::signal_ignored(s))
        .collect();
    if signals.is_empty() {
        return;
    }
    // SAFETY: the set is initialised by sigemptyset before use; pthread_sigmask changes only
    // this thread's mask.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &s in &signals {
            libc::sigaddset(&mut set, s);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    };
    let spawned = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut signal = 0;
            // SAFETY: `set` is a valid signal set and `signal` a valid place for the result.
            if unsafe { libc::sigwait(&set, &mut signal) } != 0 {
                return;
            }
            // Kept locked until the end: no run is created after this.
            let live = live();
            for path in live.iter().flatten() {
                let _ = std::fs::remove_file(path);
            }
            let name = if signal == libc::SIGINT {
                "SIGINT"
            } else {
                "SIGTERM"
            };
            onebox::cli::note(&format!("interrupted by {name}; spill files removed"));
            // SAFETY: restores the default action and lets the signal through in this thread,
            // which ends the process by it; the exit below is a fallback.
            unsafe {
                libc::signal(signal, libc::SIG_DFL);
                let mut one: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut one);
                libc::sigaddset(&mut one, signal);
                libc::pthread_sigmask(libc::SIG_UNBLOCK, &one, std::ptr::null_mut());
                libc::raise(signal);
            }
            std::process::exit(128 + signal);
        });
    if spawned.is_err() {
        // No waiting thread: let the signals act as they would have.
        // SAFETY: as above, on this thread's own mask.
        unsafe {
            libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        }
    }
}
