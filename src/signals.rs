//! Stopping a server cleanly on Ctrl-C (SIGINT) or `kill` (SIGTERM).
//!
//! By default either signal kills the process on the spot: an AF_UNIX
//! server leaves its socket file behind (the next run then fails with
//! "Address already in use"), and nobody says goodbye. A signal handler in
//! the C sense may do almost nothing safely, so we use the classic trick
//! instead: *block* the two signals in every thread, and let one dedicated
//! thread wait for them with `sigwait()`. That thread runs ordinary Rust
//! code — remove the socket file, print a closing line — and exits with
//! status 0.

use std::io::Write;

use nix::sys::signal::{SigSet, Signal};

use crate::explain::{Context, Result};
use crate::transcript::Speaker;

/// From now on, SIGINT or SIGTERM runs `cleanup`, prints a closing line as
/// `speaker`, and exits 0. Call it from `main`'s thread *before* starting
/// any other thread: threads inherit the blocked-signal mask from the thread
/// that creates them, and a thread that does not block the signals would be
/// killed by them.
pub fn stop_cleanly_on_signals(
    speaker: &Speaker,
    cleanup: impl FnOnce() + Send + 'static,
) -> Result<()> {
    let mut signals = SigSet::empty();
    signals.add(Signal::SIGINT);
    signals.add(Signal::SIGTERM);
    signals.thread_block().context("block SIGINT and SIGTERM")?;
    let speaker = speaker.clone();
    std::thread::Builder::new()
        .name("signal waiter".into())
        .spawn(move || {
            let Ok(signal) = signals.wait() else { return };
            cleanup();
            speaker.say(format!("{signal} received: stopped cleanly"));
            let _ = std::io::stdout().flush();
            std::process::exit(0);
        })
        .context("start the signal-waiting thread")?;
    Ok(())
}
