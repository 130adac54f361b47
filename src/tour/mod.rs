//! The exercise checker behind `cargo run -- list | hint | check`.
//!
//! A student edits one stub in `lessons/exercises/`; `check` builds it (or
//! takes any command line after `--`), plays the other end of the
//! conversation with a reference peer, and judges only what crosses the
//! socket and what the program prints. So a student may write the program
//! in any language, and the verdict is the same.
//!
//! How the program under test learns where to go (documented in the book's
//! exercises chapter):
//!
//! * TCP and UDP: arguments `--host 127.0.0.1 --port P`, and the environment
//!   variables `SOCKET_LESSONS_HOST`, `SOCKET_LESSONS_PORT` and
//!   `SOCKET_LESSONS_ADDR` (`127.0.0.1:P`). A client connects there; a server
//!   binds there (the checker reserved the free port).
//! * AF_UNIX: `--path P` and `SOCKET_LESSONS_PATH`.

mod clients;
mod report;
mod runner;
mod servers;
mod wire;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

pub use report::{Check, Verdict};
use runner::{Running, Target};

/// The default time limit for one run of the program under test.
pub const DEFAULT_LIMIT: Duration = Duration::from_secs(10);

/// One exercise: where its stub is, what it is tied to, how it is checked.
pub struct Exercise {
    /// What teachers and students type: `check homework01`.
    pub id: &'static str,
    /// The stub's [[bin]] name; the stub is `lessons/exercises/<bin>.rs`.
    pub bin: &'static str,
    /// The lesson or seed it belongs to.
    pub lesson: &'static str,
    /// The task in one line.
    pub task: &'static str,
    /// Stepped questions, not the answer.
    pub hints: &'static [&'static str],
    check: fn(&Ctx) -> Vec<Check>,
}

pub const EXERCISES: &[Exercise] = &[
    Exercise {
        id: "homework01",
        bin: "homework01_write_the_client",
        lesson: "seed 002 homework, lesson02_tcp_once",
        task: "the server sends `This is socket!` and closes: write the client",
        hints: &[
            "Which call gives you a connected TCP socket for --host/--port in one step?",
            "One read() returns whatever has arrived so far — maybe 1 byte. How do you know the server is done? (What does read() return when the server hangs up?)",
            "Collect the bytes until then, and only then turn them into text and print them on one line.",
            "What should your program do if read() returns an error (the server reset the connection)? Not panic: return the error with .context(..).",
        ],
        check: clients::homework01,
    },
    Exercise {
        id: "exercise02",
        bin: "exercise02_udp_client",
        lesson: "lesson04_udp",
        task: "write the UDP client: one datagram per line, print each reply, give up on a lost one",
        hints: &[
            "A UDP client binds a local address too: which one lets the kernel pick the port?",
            "send_to sends one datagram. Does the newline that ended the line belong in it? Should an empty line be sent?",
            "recv_from copies at most your buffer's size and silently drops the rest of the datagram. How large can a UDP datagram be?",
            "No connection means no one tells you a reply was lost. Which socket option makes recv_from give up after 2 seconds?",
        ],
        check: clients::exercise02,
    },
    Exercise {
        id: "exercise03",
        bin: "exercise03_echo_server",
        lesson: "seed 004, lesson03_tcp_loop",
        task: "write the echo server that seed 004's client talks to (including `exit`)",
        hints: &[
            "bind, listen, then accept in a loop: one client after another, until the program is stopped.",
            "For one client: read, write back exactly what you read, repeat. What does a read of 0 bytes mean?",
            "A client may send its message in pieces, or 1 MiB at once: echo each piece as it comes; don't wait for a 'whole message'.",
            "A client may vanish (seed 004's sends `exit` and closes; another resets). An error with one client must end that client, not the server: no unwrap().",
        ],
        check: servers::exercise03,
    },
    Exercise {
        id: "exercise04",
        bin: "exercise04_write_all",
        lesson: "lesson07_send_and_sendall",
        task: "fix the client that uses `write` where it needs `write_all` (the server reads slowly)",
        hints: &[
            "What does write() return? Does the program look at it?",
            "Python has send() and sendall(). Which one is Rust's write(), and which one is write_all()?",
            "After sending everything, how does the server learn that no more is coming, while the client can still read the answer?",
        ],
        check: clients::exercise04,
    },
    Exercise {
        id: "exercise05",
        bin: "exercise05_peer_credentials",
        lesson: "lesson05_unix_sockets",
        task: "write an AF_UNIX client that prints the greeting and the server's pid, uid and gid",
        hints: &[
            "An AF_UNIX stream client connects to a path instead of host and port: which std type does that?",
            "The kernel knows who is at the other end of a local socket. Which socket option (SO_...) asks it?",
            "std::process::id() is *your* pid. You need the peer's: nix::sys::socket::getsockopt(&stream, sockopt::PeerCredentials).",
            "Read the greeting until the server hangs up (it may come in pieces, or not at all), then print `pid=P uid=U gid=G`.",
        ],
        check: clients::exercise05,
    },
    Exercise {
        id: "exercise06",
        bin: "exercise06_two_clients_at_once",
        lesson: "lesson03_tcp_loop -> lesson11_concurrent_server",
        task: "make the lesson 03 echo server serve two clients at once",
        hints: &[
            "While the server is inside serve_one_client for client A, who calls accept() for client B?",
            "std::thread::spawn runs a closure at the same time as the rest of main. What must the closure own (move) to serve its client?",
            "If you join() the thread right away, is anything running at the same time any more?",
        ],
        check: servers::exercise06,
    },
];

/// Find an exercise by id (`homework01`) or stub name.
pub fn find(name: &str) -> Option<&'static Exercise> {
    EXERCISES.iter().find(|e| e.id == name || e.bin == name)
}

/// What a checker needs: the program under test and the time limit.
pub struct Ctx {
    pub target: Target,
    pub limit: Duration,
}

impl Ctx {
    fn spawn(
        &self,
        args: &[String],
        env: &[(String, String)],
        stdin: Vec<u8>,
    ) -> Result<Running, String> {
        self.target
            .spawn(args, env, stdin)
            .map_err(|e| format!("could not start `{}`: {e}", self.target.shown()))
    }
}

/// The arguments and environment that tell a program about a TCP/UDP address.
pub fn tcp_address(addr: SocketAddr) -> (Vec<String>, Vec<(String, String)>) {
    let (host, port) = (addr.ip().to_string(), addr.port().to_string());
    (
        vec!["--host".into(), host.clone(), "--port".into(), port.clone()],
        vec![
            ("SOCKET_LESSONS_HOST".into(), host),
            ("SOCKET_LESSONS_PORT".into(), port),
            ("SOCKET_LESSONS_ADDR".into(), addr.to_string()),
        ],
    )
}

/// Check `exercise` against `command` (or, if empty, the student's built stub).
pub fn check(exercise: &Exercise, command: &[String], json: bool, limit: Duration) -> ExitCode {
    let rust_mode = command.is_empty();
    let verdict = match target_for(exercise, command, json) {
        Ok(target) => {
            if !json {
                println!("checking {} against `{}`\n", exercise.id, target.shown());
            }
            Verdict {
                exercise: exercise.id.into(),
                checks: (exercise.check)(&Ctx { target, limit }),
            }
        }
        Err(failed) => Verdict {
            exercise: exercise.id.into(),
            checks: vec![failed],
        },
    };
    if rust_mode {
        record_status(exercise, verdict.passed());
    }
    if json {
        println!("{}", verdict.to_json());
    } else {
        print!("{}", verdict.to_text());
    }
    if verdict.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The program to check: the command line given, or the stub built by cargo.
fn target_for(exercise: &Exercise, command: &[String], json: bool) -> Result<Target, Check> {
    if let Some((program, args)) = command.split_first() {
        return Ok(Target {
            program: program.clone(),
            args: args.to_vec(),
        });
    }
    let name = "it compiles";
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = manifest_dir().join("Cargo.toml");
    if !json {
        println!(
            "building {} with cargo…",
            relative(&stub_path(exercise)).display()
        );
    }
    // The compiler's messages go to our stderr, rendered for people; stdout
    // carries cargo's JSON, where the path of the built program is.
    let out = Command::new(&cargo)
        .args([
            "build",
            "--quiet",
            "--bin",
            exercise.bin,
            "--message-format=json-render-diagnostics",
            "--manifest-path",
        ])
        .arg(&manifest)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| Check::fail(name, format!("could not run {cargo}: {e}")))?;
    if !out.status.success() {
        return Err(Check::fail(
            name,
            format!(
                "`cargo build --bin {}` failed: the compiler's messages are above (on stderr)",
                exercise.bin
            ),
        ));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let exe = stdout
        .lines()
        .filter(|l| {
            l.contains("\"compiler-artifact\"")
                && l.contains(&format!("\"name\":\"{}\"", exercise.bin))
        })
        .find_map(|l| json_field(l, "executable"))
        .ok_or_else(|| {
            Check::fail(
                name,
                "cargo built the stub but did not say where the program is",
            )
        })?;
    Ok(Target {
        program: exe,
        args: Vec::new(),
    })
}

/// The value of `"field":"..."` in one line of cargo's JSON (paths only:
/// backslash escapes are undone, which is all a path needs).
fn json_field(line: &str, field: &str) -> Option<String> {
    let start = line.find(&format!("\"{field}\":\""))? + field.len() + 4;
    let mut out = String::new();
    let mut chars = line[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => out.push(chars.next()?),
            c => out.push(c),
        }
    }
    None
}

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn stub_path(exercise: &Exercise) -> PathBuf {
    manifest_dir()
        .join("lessons/exercises")
        .join(format!("{}.rs", exercise.bin))
}

fn status_file(exercise: &Exercise) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest_dir().join("target"));
    target.join("socket-lessons-status").join(exercise.id)
}

fn record_status(exercise: &Exercise, passed: bool) {
    let file = status_file(exercise);
    if let Some(dir) = file.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = std::fs::write(file, if passed { "passed" } else { "failed" });
}

/// The status `list` shows: the last check of the student's stub, or what
/// the stub file says.
pub fn status(exercise: &Exercise) -> String {
    let todos = std::fs::read_to_string(stub_path(exercise))
        .map(|s| {
            s.lines()
                .filter(|l| !l.trim_start().starts_with("//") && l.contains("todo!("))
                .count()
        })
        .unwrap_or(0);
    let last = std::fs::read_to_string(status_file(exercise)).ok();
    match (last.as_deref(), todos) {
        (Some("passed"), _) => "PASSED".into(),
        (Some(_), 0) => "failed last check".into(),
        (Some(_), n) => format!("failed last check, {n} todo!() left"),
        (None, 0) => "not checked yet".into(),
        (None, n) => format!("not started ({n} todo!() left)"),
    }
}

/// `cargo run -- hint <exercise>`.
pub fn hint(exercise: &Exercise) -> ExitCode {
    println!("{}: {}", exercise.id, exercise.task);
    println!("file: {}\n", relative(&stub_path(exercise)).display());
    for (i, h) in exercise.hints.iter().enumerate() {
        println!("{}. {h}", i + 1);
    }
    println!("\nthen: cargo run -- check {}", exercise.id);
    ExitCode::SUCCESS
}

fn relative(path: &Path) -> &Path {
    path.strip_prefix(manifest_dir()).unwrap_or(path)
}
