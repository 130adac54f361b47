//! Helpers shared by the integration tests.
//!
//! * Programs under test run as real subprocesses, exactly as a learner runs
//!   them; a [`Server`] is started on port 0 and we learn its address from
//!   the "listening on ADDR" line it prints (readiness by signal, not sleep).
//! * Every wait has a deadline ([`PATIENCE`]); a hang becomes a failure with
//!   the output so far, never a stuck test run.
//! * Peers nobody here wrote (`python3`, `nc`, `socat`) are found with
//!   [`tool`]: a missing one skips the test loudly, except under `CI=true`,
//!   where `.ci/run` installed it and its absence is a failure.
#![allow(dead_code)] // each test binary uses a different subset

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// The longest any single step of a test may take before it counts as hung.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// The directory of the seeds' Python programs (lightly adapted: the port
/// comes from argv so tests can run in parallel).
pub fn peers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers")
}

/// insta settings shared by every snapshot: the book includes these files,
/// so everything that changes from run to run is replaced by a placeholder.
pub fn snapshot_settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s.set_omit_expression(true);
    let tmp = regex_escape(&std::env::temp_dir().display().to_string());
    for (re, with) in [
        // 127.0.0.1:40123, [::1]:40123, [::ffff:127.0.0.1]:40123
        (
            r"(\d+\.\d+\.\d+\.\d+|\[[0-9a-f:.]+\]|localhost):\d{1,5}\b",
            "$1:[PORT]",
        ),
        (r"\b(port|ports) \d{1,5}\b", "$1 [PORT]"),
        (r"--port \d{1,5}\b", "--port [PORT]"),
        (&format!("{tmp}/?"), "[TMP]/"),
        (r"\bpid[ =]\d+", "pid [PID]"),
        (r"\bfd \d+\b", "fd [FD]"),
        (r"socket:\[\d+\]", "socket:[INODE]"),
        (r"\buid[ =]\d+", "uid [UID]"),
        (r"\bgid[ =]\d+", "gid [GID]"),
    ] {
        s.add_filter(re, with);
    }
    s
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if "\\.+*?()|[]{}^$".contains(c) {
                vec!['\\', c]
            } else {
                vec![c]
            }
        })
        .collect()
}

/// Run a lesson's demo (no arguments) and return its plain output. Fails the
/// test if it exits non-zero or writes to stderr.
pub fn demo_output(bin: &str) -> String {
    let out = run(&mut Command::new(bin), b"");
    assert!(
        out.status.success(),
        "{bin} exited with {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        out.stdout,
        out.stderr
    );
    assert_eq!(out.stderr, "", "{bin}'s demo wrote to stderr");
    out.stdout
}

/// What a finished program printed.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Run a program to completion with `stdin` piped in, colour off, bounded
/// by [`PATIENCE`].
pub fn run(cmd: &mut Command, stdin: &[u8]) -> Output {
    let child = cmd
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    finish(child, stdin, &format!("{cmd:?}"))
}

/// Feed `stdin` to a started child, wait (bounded), collect its output.
pub fn finish(mut child: Child, stdin: &[u8], what: &str) -> Output {
    let mut input = child.stdin.take();
    let stdin = stdin.to_vec();
    // Write in a thread: a child that does not read its stdin must not block us.
    let writer = thread::spawn(move || {
        if let Some(mut input) = input.take() {
            let _ = input.write_all(&stdin);
        }
    });
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(PATIENCE) {
        Ok(out) => out.expect("wait for child"),
        Err(_) => {
            kill(pid);
            let out = rx
                .recv_timeout(PATIENCE)
                .expect("child killed")
                .expect("output");
            panic!(
                "{what} hung for {PATIENCE:?}; stdout so far:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    };
    let _ = writer.join();
    Output {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn kill(pid: u32) {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    );
}

/// A program running in the background whose stdout we read line by line.
/// Killed when dropped, so a failing test leaves nothing behind.
pub struct Server {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    stderr: mpsc::Receiver<String>,
    /// The address from its "listening on ADDR" line, if it is an IP address.
    pub addr: Option<SocketAddr>,
    /// Whatever followed "listening on " (an IP address, or a socket path).
    pub listening_on: String,
    /// Feed the program's stdin (for `--reply-from-stdin` and the like).
    pub stdin: Option<ChildStdin>,
}

impl Server {
    /// Start `cmd` and wait until it prints "listening on ADDR".
    pub fn start(cmd: &mut Command) -> Server {
        let mut s = Server::spawn(cmd);
        let line = s.wait_for("listening on ");
        let addr = line
            .split("listening on ")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap();
        s.addr = addr.parse().ok();
        s.listening_on = addr.to_string();
        s
    }

    /// Start `cmd` without waiting for anything.
    pub fn spawn(cmd: &mut Command) -> Server {
        let mut child = cmd
            .env("NO_COLOR", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        let lines = pipe_lines(child.stdout.take().unwrap());
        let stderr = pipe_lines(child.stderr.take().unwrap());
        let stdin = child.stdin.take();
        Server {
            child,
            lines,
            seen: Vec::new(),
            stderr,
            addr: None,
            listening_on: String::new(),
            stdin,
        }
    }

    /// The address it listens on (panics if it printed none).
    pub fn addr(&self) -> SocketAddr {
        self.addr.expect("the server printed its address")
    }

    /// The port it listens on, as a string for command lines.
    pub fn port(&self) -> String {
        self.addr().port().to_string()
    }

    /// Wait (bounded) for a stdout line containing `needle`; return it.
    pub fn wait_for(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "waited {PATIENCE:?} for a line containing {needle:?}; it printed:\n{}\nstderr:\n{}",
                    self.seen.join("\n"),
                    self.drain_stderr()
                ),
            }
        }
    }

    /// Everything printed to stdout so far (including lines not yet waited for).
    pub fn output_so_far(&mut self) -> String {
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
        self.seen.join("\n")
    }

    /// If the program exits within `limit` (its stderr pipe closes), all it
    /// wrote to stderr; `None` if it is still running by then.
    pub fn stderr_if_exits_within(&mut self, limit: Duration) -> Option<String> {
        let deadline = Instant::now() + limit;
        let mut lines = Vec::new();
        loop {
            match self
                .stderr
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(line) => lines.push(line),
                Err(mpsc::RecvTimeoutError::Disconnected) => return Some(lines.join("\n")),
                Err(mpsc::RecvTimeoutError::Timeout) => return None,
            }
        }
    }

    fn drain_stderr(&self) -> String {
        self.stderr.try_iter().collect::<Vec<_>>().join("\n")
    }

    /// The process id (for /proc/PID/status and signals).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Is the program still running?
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Send a signal (e.g. SIGINT) and wait (bounded) for the exit; returns
    /// the exit status and all of stdout and stderr.
    pub fn signal_and_wait(self, signal: nix::sys::signal::Signal) -> (ExitStatus, String, String) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, signal).expect("send signal");
        self.wait()
    }

    /// Wait (bounded) for the program to exit by itself.
    pub fn wait(mut self) -> (ExitStatus, String, String) {
        drop(self.stdin.take());
        // The signal that the program has exited: its stdout pipe closes,
        // and the reading thread's channel disconnects. Until then, collect.
        let deadline = Instant::now() + PATIENCE;
        let mut out = self.seen.clone();
        loop {
            match self
                .lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(line) => out.push(line),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => panic!(
                    "the program did not exit within {PATIENCE:?}; it printed:\n{}",
                    out.join("\n")
                ),
            }
        }
        let status = self.child.wait().expect("wait for the exited program");
        let err: Vec<String> = self.stderr.iter().collect();
        (status, out.join("\n"), err.join("\n"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pipe_lines(pipe: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Is the external tool `name` available? Missing: skip loudly, or under
/// `CI=true` fail, because CI installs every tool the tests use.
pub fn tool(name: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("`{name}` is not installed, and CI=true: .ci/run must install it");
        }
        eprintln!(
            "\n*** SKIPPED: `{name}` is not installed; install it to run this test (apt-get install {name}) ***\n"
        );
    }
    found
}

/// A command for a seed-style Python program in tests/peers.
pub fn python(script: &str) -> Command {
    let mut cmd = Command::new("python3");
    cmd.arg("-u").arg(peers_dir().join(script));
    cmd
}

/// A unique, empty temporary directory (removed on drop), for AF_UNIX paths.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("sl-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A TCP port on 127.0.0.1 where nobody listens, without a race: the socket
/// is bound (so no one else can take the port) but never listens, so a
/// connection attempt is refused. Keep the returned socket alive.
pub fn refusing_port() -> (socket2::Socket, u16) {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    s.bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    let port = s.local_addr().unwrap().as_socket().unwrap().port();
    (s, port)
}
