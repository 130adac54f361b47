//! Running both ends of a conversation in one process.
//!
//! A demo starts the lesson's real server function in a thread, waits until
//! the server says it is listening (a channel carries its address: the
//! client never connects to a server that is not there yet, and nobody
//! sleeps), then runs the lesson's real client function with scripted input.
//! The transcript is recorded meanwhile and printed at the end in causal
//! order (see [`crate::transcript`]), so it is the same on every run.
//!
//! Every wait is bounded: a lesson bug that leaves one end blocked turns into
//! an explained failure after a few seconds, never a hung terminal.

use std::fmt::Display;
use std::io;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use crate::cli::Ready;
use crate::explain::{Failure, Result};
use crate::transcript;

/// How long a demo's server may take to start listening, and to finish
/// after its client is done.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// Run `server` in a thread and `client` here, once the server is ready.
///
/// `server` gets a [`Ready`] to announce its address with; `client` gets
/// that address. Both ends' lines are printed, merged, when both are done.
pub fn run<A, S, C>(server: S, client: C) -> Result<()>
where
    A: Display + Clone + Send + 'static,
    S: FnOnce(Ready<A>) -> Result<()> + Send + 'static,
    C: FnOnce(A) -> Result<()>,
{
    transcript::start_recording();
    let result = run_recorded(server, client);
    for line in transcript::stop_recording() {
        transcript::print_line(&line);
    }
    result
}

fn run_recorded<A, S, C>(server: S, client: C) -> Result<()>
where
    A: Display + Clone + Send + 'static,
    S: FnOnce(Ready<A>) -> Result<()> + Send + 'static,
    C: FnOnce(A) -> Result<()>,
{
    let (ready_tx, ready_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel();
    thread::Builder::new()
        .name("demo server".into())
        .spawn(move || {
            let result = server(Ready::channel(ready_tx));
            let _ = done_tx.send(result);
        })
        .map_err(|e| Failure {
            doing: "start the demo's server thread".into(),
            error: e,
        })?;

    let addr = match ready_rx.recv_timeout(PATIENCE) {
        Ok(addr) => addr,
        // The server ended (or hung) before it listened: its own error is
        // the one worth showing.
        Err(_) => {
            return Err(server_outcome(&done_rx)
                .err()
                .unwrap_or_else(|| stuck("start listening")));
        }
    };
    let client_result = client(addr);
    let server_result = server_outcome(&done_rx);
    client_result.and(server_result)
}

fn server_outcome(done: &mpsc::Receiver<Result<()>>) -> Result<()> {
    match done.recv_timeout(PATIENCE) {
        Ok(result) => result,
        Err(mpsc::RecvTimeoutError::Timeout) => Err(stuck("finish")),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(Failure::new(
            "run the demo's server",
            io::ErrorKind::Other,
            "the server thread panicked (a bug in the lesson: please report it)",
        )),
    }
}

fn stuck(what: &str) -> Failure {
    Failure::new(
        format!("wait for the demo's server to {what}"),
        io::ErrorKind::TimedOut,
        format!("it did not within {} seconds", PATIENCE.as_secs()),
    )
}

/// The closing note of every demo: how to run the two ends yourself.
pub fn by_hand(bin: &str, server_args: &str, client_args: &str) {
    let sp = |a: &str| {
        if a.is_empty() {
            String::new()
        } else {
            format!(" {a}")
        }
    };
    transcript::note("now run the two ends yourself, in two terminals:");
    transcript::note(format!(
        "  cargo run --bin {bin} -- server{}",
        sp(server_args)
    ));
    transcript::note(format!(
        "  cargo run --bin {bin} -- client{}",
        sp(client_args)
    ));
}
