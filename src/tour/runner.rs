//! Running the program under test: with a time limit, its output captured,
//! killed (with everything it started) when the time is up.
//!
//! The checker never trusts the program to end by itself: a student's client
//! may block in `read` forever, a server runs until it is stopped. Each run
//! therefore has a deadline, and the program gets its own process group so
//! that `cargo run` or `python3` wrappers die with it.

use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// The program a check runs: a built Rust exercise or any command line.
#[derive(Debug, Clone)]
pub struct Target {
    pub program: String,
    pub args: Vec<String>,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// It exited (or was killed by a signal it did not get from us).
    Exited(ExitStatus),
    /// It was still running at the deadline (or when we were done with it),
    /// and we killed it.
    Killed,
}

/// A run that is over: how it ended and everything it printed.
#[derive(Debug, Clone)]
pub struct Finished {
    pub ended: Ended,
    pub stdout: String,
    pub stderr: String,
    pub took: Duration,
}

/// A program that is running.
pub struct Running {
    child: Child,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    readers: Vec<thread::JoinHandle<()>>,
    started: Instant,
}

impl Target {
    /// Start the program with the address arguments and environment of one
    /// check, `stdin` piped in (then closed).
    pub fn spawn(
        &self,
        extra_args: &[String],
        env: &[(String, String)],
        stdin: Vec<u8>,
    ) -> std::io::Result<Running> {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args)
            .args(extra_args)
            .env("NO_COLOR", "1")
            .env("RUST_BACKTRACE", "0")
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group: on a timeout we kill the whole group.
            .process_group(0);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn()?;
        if let Some(mut input) = child.stdin.take() {
            // In a thread: a program that never reads stdin must not block us.
            thread::spawn(move || {
                let _ = input.write_all(&stdin);
            });
        }
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let mut readers = Vec::new();
        if let Some(pipe) = child.stdout.take() {
            readers.push(collect(pipe, stdout.clone()));
        }
        if let Some(pipe) = child.stderr.take() {
            readers.push(collect(pipe, stderr.clone()));
        }
        Ok(Running {
            child,
            stdout,
            stderr,
            readers,
            started: Instant::now(),
        })
    }

    /// The command line as a student would type it.
    pub fn shown(&self) -> String {
        std::iter::once(self.program.as_str())
            .chain(self.args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn collect(
    mut pipe: impl Read + Send + 'static,
    into: Arc<Mutex<Vec<u8>>>,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => into
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend_from_slice(&buf[..n]),
            }
        }
    })
}

impl Running {
    /// Has it exited? (Does not wait.)
    pub fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Its process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Wait until it exits, at most until `deadline`; kill it after that.
    pub fn wait_until(mut self, deadline: Instant) -> Finished {
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return self.collect_output(Ended::Exited(status));
            }
            if Instant::now() >= deadline {
                return self.kill();
            }
            // std has no "wait with timeout" for a child; this poll is bounded
            // by the deadline and its period only adds a few milliseconds.
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// Stop it now (a server at the end of its checks, or a hung program).
    pub fn kill(mut self) -> Finished {
        if let Ok(Some(status)) = self.child.try_wait() {
            return self.collect_output(Ended::Exited(status));
        }
        let group = nix::unistd::Pid::from_raw(-(self.child.id() as i32));
        let _ = nix::sys::signal::kill(group, nix::sys::signal::Signal::SIGKILL);
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.collect_output(Ended::Killed)
    }

    fn collect_output(mut self, ended: Ended) -> Finished {
        // The pipes close when the process (group) is gone; a grandchild that
        // escaped the group could keep them open, so the wait is bounded.
        let deadline = Instant::now() + Duration::from_secs(2);
        for reader in self.readers.drain(..) {
            while !reader.is_finished() && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(2));
            }
        }
        Finished {
            ended,
            stdout: String::from_utf8_lossy(&self.stdout.lock().unwrap_or_else(|e| e.into_inner()))
                .into_owned(),
            stderr: String::from_utf8_lossy(&self.stderr.lock().unwrap_or_else(|e| e.into_inner()))
                .into_owned(),
            took: self.started.elapsed(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let group = nix::unistd::Pid::from_raw(-(self.child.id() as i32));
            let _ = nix::sys::signal::kill(group, nix::sys::signal::Signal::SIGKILL);
            let _ = self.child.wait();
        }
    }
}

impl Finished {
    /// The panic message, if the program panicked (Rust prints
    /// "thread 'main' panicked at FILE:LINE:COL:" and the message below it).
    pub fn panic_message(&self) -> Option<String> {
        panic_message(&self.stderr)
    }

    /// Did it exit by itself with status 0?
    pub fn succeeded(&self) -> bool {
        matches!(&self.ended, Ended::Exited(s) if s.success())
    }

    /// How it ended, in words: "exited with status 1", "panicked: ...".
    pub fn how_it_ended(&self) -> String {
        if let Some(msg) = self.panic_message() {
            return format!("it panicked: {msg}");
        }
        match &self.ended {
            Ended::Killed => format!(
                "it was still running after {:.1} s and was killed (hung?)",
                self.took.as_secs_f64()
            ),
            Ended::Exited(s) => match (s.code(), s.signal()) {
                (Some(0), _) => "it exited with status 0".into(),
                (Some(code), _) => {
                    // The line that says what went wrong: Rust's `error: ...`
                    // (the lessons' finish()), else the last line (Python).
                    let lines: Vec<&str> = self
                        .stderr
                        .lines()
                        .filter(|l| !l.trim().is_empty())
                        .collect();
                    let last = lines
                        .iter()
                        .find(|l| l.starts_with("error"))
                        .or(lines.last());
                    match last {
                        Some(line) => format!(
                            "it exited with status {code}; its last error line: {}",
                            line.trim()
                        ),
                        None => format!("it exited with status {code}"),
                    }
                }
                (None, Some(sig)) => format!("it was killed by signal {sig}"),
                (None, None) => "it ended without a status".into(),
            },
        }
    }
}

/// Find a Rust panic message in a program's stderr.
pub fn panic_message(stderr: &str) -> Option<String> {
    let at = stderr.find("panicked at")?;
    let rest = &stderr[at..];
    let mut lines = rest.lines();
    let first = lines.next()?;
    if let Some(old) = first.strip_prefix("panicked at '") {
        // Rust before 1.73: panicked at 'MESSAGE', src/main.rs:1:2
        return Some(old.rsplit_once("', ").map_or(old, |(m, _)| m).to_string());
    }
    let message: Vec<&str> = lines
        .take_while(|l| !l.starts_with("note:") && !l.starts_with("stack backtrace"))
        .collect();
    let place = first
        .trim_start_matches("panicked at ")
        .trim_end_matches(':');
    Some(format!("{} (at {place})", message.join(" / ").trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_panic_message() {
        let err = "thread 'main' panicked at lessons/exercises/x.rs:10:5:\nnot yet implemented: connect\nnote: run with `RUST_BACKTRACE=1`\n";
        assert_eq!(
            panic_message(err).as_deref(),
            Some("not yet implemented: connect (at lessons/exercises/x.rs:10:5)")
        );
        assert_eq!(panic_message("Traceback: EOFError"), None);
    }
}
