//! SIGINT / SIGTERM: stop cleanly instead of dying with half-written files.
//!
//! csv-chunk is the one tool that leaves files behind, so it is the one that must not be killed
//! mid-file: the default action of SIGINT and SIGTERM would end the process at once, leaving
//! `NAME.tmp.<pid>` files in the output directory. Instead a handler only records which signal
//! came (an atomic store, the one thing a handler may safely do). The router checks the flag
//! before every batch of rows and stops the run with an error; the normal error path then
//! removes every unfinished temporary file, while files already announced on stdout stay as
//! they are (they were complete when renamed). Last, [`exit_by`] restores the default action
//! and re-raises the signal, so the parent sees the process as killed by that signal (a shell
//! reports status 130 / 143), as it would without the handler.
//!
//! The flag is read where output happens, so a run blocked reading an idle pipe stops at the
//! next data or at end of input (from a terminal, Ctrl-C signals the producer too).

use std::sync::atomic::{AtomicI32, Ordering};

/// The signal received, or 0.
static RECEIVED: AtomicI32 = AtomicI32::new(0);

extern "C" fn record(signal: libc::c_int) {
    RECEIVED.store(signal, Ordering::SeqCst);
}

/// Installs the recording handler for SIGINT and SIGTERM, except for one ignored at start,
/// which stays ignored ([`onebox::cli::signal_ignored`]).
pub fn install() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        if onebox::cli::signal_ignored(signal) {
            continue;
        }
        // SAFETY: `record` only stores to an atomic, which is async-signal-safe; the
        // sigaction struct is fully initialised (zeroed, then the fields we use set).
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = record as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

/// The signal that asked the run to stop, if one came.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}

/// The error that stops the run after a signal.
pub fn error(signal: i32) -> anyhow::Error {
    let name = match signal {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        _ => "a signal",
    };
    anyhow::anyhow!("interrupted by {name}; unfinished files removed")
}

/// After cleaning up: says why on stderr and ends the process by `signal` itself.
pub fn exit_by(signal: i32, err: &anyhow::Error) -> ! {
    onebox::cli::note(&format!("{err:#}"));
    // SAFETY: restoring the default action and raising the signal ends the process; nothing
    // runs after it but the fallback exit below.
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
        libc::raise(signal);
    }
    std::process::exit(128 + signal)
}
