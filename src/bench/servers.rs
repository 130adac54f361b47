//! The servers under test, each a separate process the benchmark starts,
//! reads the "listening on ADDR" line from, measures, and kills.

use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// Every server listens with this backlog, so a burst of 1,000 connects is
/// queued, not dropped (the backlog has its own measurement).
pub const BACKLOG: u32 = 4096;

/// One kind of server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Baseline,
    Iterative,
    Threads,
    Epoll,
    PythonBlocking,
    PythonSelectors,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Baseline,
        Kind::Iterative,
        Kind::Threads,
        Kind::Epoll,
        Kind::PythonBlocking,
        Kind::PythonSelectors,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Kind::Baseline => "baseline: minimal Rust echo",
            Kind::Iterative => "lesson11 --model iterative",
            Kind::Threads => "lesson11 --model threads",
            Kind::Epoll => "lesson11 --model epoll",
            Kind::PythonBlocking => "Python, seeds' style (blocking)",
            Kind::PythonSelectors => "Python selectors",
        }
    }

    pub fn short(self) -> &'static str {
        match self {
            Kind::Baseline => "baseline",
            Kind::Iterative => "iterative",
            Kind::Threads => "threads",
            Kind::Epoll => "epoll",
            Kind::PythonBlocking => "Py blocking",
            Kind::PythonSelectors => "Py selectors",
        }
    }

    /// Serves one client at a time (the others wait in the accept queue).
    pub fn one_at_a_time(self) -> bool {
        matches!(self, Kind::Iterative | Kind::PythonBlocking)
    }

    /// A thread per connection: 10,000 idle connections would be 10,000
    /// threads on a machine shared with others, so that row is capped.
    pub fn thread_per_connection(self) -> bool {
        matches!(self, Kind::Baseline | Kind::Threads)
    }
}

/// Where the programs are.
pub struct Programs {
    pub lesson: PathBuf,
    pub bench: PathBuf,
    pub peers: PathBuf,
}

/// A running server.
pub struct Running {
    child: Child,
    pub addr: SocketAddr,
}

impl Running {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's resident memory (VmRSS), in KiB.
    pub fn rss_kib(&self) -> io::Result<u64> {
        rss_kib(self.child.id())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start a server of `kind` on 127.0.0.1, port 0, with `backlog`.
pub fn start(kind: Kind, programs: &Programs, backlog: u32) -> io::Result<Running> {
    let backlog = backlog.to_string();
    let mut argv: Vec<String> = match kind {
        Kind::Baseline => vec![
            programs.bench.display().to_string(),
            "--serve-baseline".into(),
            backlog,
        ],
        Kind::Iterative | Kind::Threads | Kind::Epoll => {
            let model = match kind {
                Kind::Iterative => "iterative",
                Kind::Threads => "threads",
                _ => "epoll",
            };
            vec![
                programs.lesson.display().to_string(),
                "server".into(),
                "--port".into(),
                "0".into(),
                "--model".into(),
                model.into(),
                "--backlog".into(),
                backlog,
                "--quiet".into(),
            ]
        }
        Kind::PythonBlocking | Kind::PythonSelectors => {
            let script = if kind == Kind::PythonBlocking {
                "bench_echo_blocking.py"
            } else {
                "bench_echo_selectors.py"
            };
            vec![
                "python3".into(),
                "-u".into(),
                programs.peers.join(script).display().to_string(),
                "0".into(),
                backlog,
            ]
        }
    };
    // Raise the soft limit on open files to the hard limit first: 10,000
    // connections need 10,000 descriptors, and the usual soft limit is 1,024.
    // (A shell does it with `ulimit`; the crate's nix has no `resource`
    // feature for setrlimit.)
    let mut shell = vec![
        "sh".to_string(),
        "-c".into(),
        r#"ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@""#.into(),
        "sh".into(),
    ];
    shell.append(&mut argv);
    let mut child = Command::new(&shell[0])
        .args(&shell[1..])
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().expect("piped stdout");
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = mpsc::channel();
    // Keep draining the server's output for as long as it runs: a full pipe
    // would block the server in the middle of the measurement.
    thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let mut told = false;
        while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
            if !told {
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_string());
                    told = true;
                }
            }
            line.clear();
        }
    });
    let (err_tx, err_rx) = mpsc::channel();
    thread::spawn(move || {
        let mut reader = BufReader::new(stderr);
        let mut text = String::new();
        let _ = (&mut reader).take(64 * 1024).read_to_string(&mut text);
        let _ = err_tx.send(text);
        let _ = io::copy(&mut reader, &mut io::sink());
    });
    match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(addr) => {
            let addr = addr.parse().map_err(|_| {
                io::Error::new(ErrorKind::InvalidData, format!("bad address {addr:?}"))
            })?;
            Ok(Running { child, addr })
        }
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = err_rx
                .recv_timeout(Duration::from_secs(2))
                .unwrap_or_default();
            Err(io::Error::other(format!(
                "{} did not say \"listening on\" within 20 s; stderr:\n{stderr}",
                kind.label()
            )))
        }
    }
}

/// VmRSS of a process, in KiB.
pub fn rss_kib(pid: u32) -> io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| io::Error::other("no VmRSS line"))
}

/// The baseline: the smallest Rust echo server that does the same work —
/// a thread per connection, each copying what it reads back to the writer.
/// Run as `servers --serve-baseline BACKLOG` (the benchmark starts itself).
pub fn serve_baseline(backlog: i32) -> io::Result<()> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())?;
    socket.listen(backlog)?;
    let listener: TcpListener = socket.into();
    println!("listening on {}", listener.local_addr()?);
    io::stdout().flush()?;
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        thread::spawn(move || {
            let _ = io::copy(&mut &stream, &mut &stream);
        });
    }
    Ok(())
}

/// The lesson's server binary. Cargo builds a package's binaries before it
/// runs a benchmark (in the same profile: release) and tells us where.
pub fn lesson_binary() -> io::Result<PathBuf> {
    let path = PathBuf::from(env!("CARGO_BIN_EXE_lesson11_concurrent_server"));
    if path.exists() {
        Ok(path)
    } else {
        Err(io::Error::new(
            ErrorKind::NotFound,
            format!(
                "{} is missing: run the benchmark with `cargo bench --bench servers`",
                path.display()
            ),
        ))
    }
}

/// Pin every thread of the server `server` and this process's main thread
/// (the load generator) to `cpu`, or let them run anywhere again (`None`).
/// Uses `taskset` (util-linux); returns false if that did not work.
pub fn pin(server: u32, me: u32, cpu: Option<usize>) -> bool {
    let cpus = match cpu {
        Some(c) => c.to_string(),
        None => {
            let n = thread::available_parallelism().map_or(1, |n| n.get());
            format!("0-{}", n - 1)
        }
    };
    let run = |args: &[&str]| {
        Command::new("taskset")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    run(&["-a", "-p", "-c", &cpus, &server.to_string()])
        && run(&["-p", "-c", &cpus, &me.to_string()])
}

/// CPU time a process has used (all its threads, living and gone), in µs:
/// (user, system). /proc counts it in clock ticks of 10 ms (USER_HZ = 100),
/// so a measurement needs to run for a good fraction of a second.
pub fn cpu_micros(pid: u32) -> io::Result<(f64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name (field 2) may contain spaces: count after its ')'.
    let after = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| -> io::Result<f64> {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .ok_or_else(|| io::Error::other("unexpected /proc/PID/stat"))
    };
    // Fields 14 (utime) and 15 (stime); fields[0] is field 3.
    Ok((ticks(11)? * 10_000.0, ticks(12)? * 10_000.0))
}
