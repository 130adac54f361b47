//! The hostile-peer suite: every lesson server against every kind of bad
//! client, and after each bad client a good one that must be served intact.
//!
//! The seeds' servers die on the first invalid byte (`decode('utf-8')`
//! raises), on a client that resets, and stall forever on a client that says
//! nothing. Ours must hold. Each (server, case) pair gets a fresh server
//! process; the case plays the bad client; then a well-behaved client sends
//! `good-<n>` and must get a reply that contains it, whole. The suite prints
//! one summary line and fails if any pair failed.
//!
//! To prove it *can* fail, the same cases run against a deliberately naive
//! server in the seeds' style (`tests/peers/naive_echo_server.py`), and that
//! run must fail exactly where the seeds would.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::Command;
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use common::*;

/// A server under attack: how to start it (on port 0, with a short idle
/// timeout so a silent client costs seconds, not minutes).
struct Target {
    name: &'static str,
    command: fn() -> Command,
}

fn lesson(bin: &'static str, extra: &'static [&'static str]) -> Command {
    let mut cmd = Command::new(bin);
    cmd.args(["server", "--port", "0", "--idle-timeout", "2"])
        .args(extra);
    cmd
}

/// Every TCP lesson server. (lesson02's server answers exactly one call by
/// design — the seed's single-shot template — so "keeps serving" does not
/// apply; its bad-input tests are in tests/lesson02_tcp_once.rs.)
fn targets() -> Vec<Target> {
    vec![Target {
        name: "lesson03_tcp_loop",
        command: || lesson(env!("CARGO_BIN_EXE_lesson03_tcp_loop"), &[]),
    }]
}

/// A bad client. Returns Err(why) if the server misbehaved *during* the case
/// (e.g. a half-closed client got no reply).
struct Case {
    name: &'static str,
    run: fn(&mut Server) -> Result<(), String>,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "invalid UTF-8",
            run: invalid_utf8,
        },
        Case {
            name: "character split across writes",
            run: split_character,
        },
        Case {
            name: "empty line",
            run: empty_line,
        },
        Case {
            name: "1 MiB without a newline",
            run: one_mebibyte,
        },
        Case {
            name: "connect and close x50",
            run: connect_close_50,
        },
        Case {
            name: "200 connections at once",
            run: two_hundred_at_once,
        },
        Case {
            name: "reset mid-message",
            run: reset_mid_message,
        },
        Case {
            name: "half-close, reply still arrives",
            run: half_close,
        },
        Case {
            name: "sends a lot, never reads",
            run: never_reads,
        },
        Case {
            name: "connects, sends nothing",
            run: silent,
        },
    ]
}

fn connect(server: &Server) -> Result<TcpStream, String> {
    let c = TcpStream::connect_timeout(&server.addr(), PATIENCE)
        .map_err(|e| format!("connect: {e}"))?;
    c.set_read_timeout(Some(PATIENCE))
        .map_err(|e| e.to_string())?;
    c.set_write_timeout(Some(PATIENCE))
        .map_err(|e| e.to_string())?;
    Ok(c)
}

/// Read until the reply contains `expected` (case-insensitively: some
/// servers shout), the peer hangs up, or the deadline passes.
fn read_reply_containing(c: &mut TcpStream, expected: &str) -> Result<String, String> {
    let deadline = Instant::now() + PATIENCE;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&got).to_lowercase();
        if text.contains(&expected.to_lowercase()) {
            return Ok(text);
        }
        if Instant::now() > deadline {
            return Err(format!(
                "no reply containing {expected:?} in time; got {:?}",
                text
            ));
        }
        match c.read(&mut buf) {
            Ok(0) => {
                return Err(format!(
                    "hung up before replying {expected:?}; got {text:?}"
                ));
            }
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => {
                return Err(format!(
                    "reading the reply to {expected:?}: {e}; got {text:?}"
                ));
            }
        }
    }
}

/// The well-behaved client: one message, its reply intact.
fn good_client(server: &Server, tag: &str) -> Result<(), String> {
    let mut c = connect(server)?;
    c.write_all(format!("{tag}\n").as_bytes())
        .map_err(|e| format!("send: {e}"))?;
    read_reply_containing(&mut c, tag).map(|_| ())
}

fn invalid_utf8(s: &mut Server) -> Result<(), String> {
    let mut c = connect(s)?;
    c.write_all(b"bad \xff\xfe\xc0 bytes\n")
        .map_err(|e| e.to_string())?;
    let mut buf = [0u8; 256];
    let _ = c.read(&mut buf); // whatever the server answers (or not)
    Ok(())
}

fn split_character(s: &mut Server) -> Result<(), String> {
    let mut c = connect(s)?;
    c.set_nodelay(true).map_err(|e| e.to_string())?;
    let message = "我是客户端\n".as_bytes();
    for piece in [&message[..1], &message[1..2], &message[2..4], &message[4..]] {
        c.write_all(piece).map_err(|e| e.to_string())?;
        // The pause *is* the attack (pieces arrive as separate reads); no
        // readiness is being waited for.
        thread::sleep(Duration::from_millis(30));
    }
    read_reply_containing(&mut c, "我是客户端").map(|_| ())
}

fn empty_line(s: &mut Server) -> Result<(), String> {
    let mut c = connect(s)?;
    c.write_all(b"\n").map_err(|e| e.to_string())?;
    c.write_all(b"after-empty\n").map_err(|e| e.to_string())?;
    read_reply_containing(&mut c, "after-empty").map(|_| ())
}

fn one_mebibyte(s: &mut Server) -> Result<(), String> {
    let before = rss_kib(s.pid());
    let mut c = connect(s)?;
    c.set_write_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    // The server may cut us off part-way (that is allowed: it must say why
    // or just hang up); it must not buffer the whole flood.
    let _ = c.write_all(&vec![b'a'; 1 << 20]);
    let _ = c.shutdown(Shutdown::Write);
    let mut sink = Vec::new();
    let _ = c.read_to_end(&mut sink);
    let after = rss_kib(s.pid());
    match (before, after) {
        (Some(b), Some(a)) if a > b + 4096 => {
            Err(format!("server memory grew from {b} KiB to {a} KiB"))
        }
        _ => Ok(()),
    }
}

fn connect_close_50(s: &mut Server) -> Result<(), String> {
    for _ in 0..50 {
        drop(connect(s)?);
    }
    Ok(())
}

fn two_hundred_at_once(s: &mut Server) -> Result<(), String> {
    // Non-blocking connects: all 200 handshakes start at once, then every
    // socket is closed. (Blocking connects would wait in turn once the
    // accept queue is full, which is a different, slower test.)
    let mut socks = Vec::new();
    for _ in 0..200 {
        let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .map_err(|e| e.to_string())?;
        sock.set_nonblocking(true).map_err(|e| e.to_string())?;
        match sock.connect(&s.addr().into()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(nix::errno::Errno::EINPROGRESS as i32) => {}
            Err(e) => return Err(format!("connect: {e}")),
        }
        socks.push(sock);
    }
    drop(socks);
    Ok(())
}

fn reset_mid_message(s: &mut Server) -> Result<(), String> {
    let c = connect(s)?;
    socket2::SockRef::from(&c)
        .set_linger(Some(Duration::ZERO))
        .map_err(|e| e.to_string())?;
    (&c).write_all("half a mess".as_bytes())
        .map_err(|e| e.to_string())?;
    drop(c); // SO_LINGER 0: RST instead of FIN
    Ok(())
}

fn half_close(s: &mut Server) -> Result<(), String> {
    let mut c = connect(s)?;
    c.write_all(b"half-closed\n").map_err(|e| e.to_string())?;
    c.shutdown(Shutdown::Write).map_err(|e| e.to_string())?;
    read_reply_containing(&mut c, "half-closed").map(|_| ())
}

fn never_reads(s: &mut Server) -> Result<(), String> {
    let mut c = connect(s)?;
    socket2::SockRef::from(&c)
        .set_recv_buffer_size(4096)
        .map_err(|e| e.to_string())?;
    c.set_write_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    // Many small messages, each of which earns a reply we never read: the
    // server's writes must eventually time out instead of blocking forever.
    let line = b"flood flood flood flood flood flood flood flood flood flood\n";
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if c.write_all(line).is_err() {
            break; // the server gave up on us: that is the point
        }
    }
    Ok(())
}

fn silent(s: &mut Server) -> Result<(), String> {
    let c = connect(s)?;
    // Keep the silent client connected while the good client is served:
    // the server's idle timeout must free it.
    let result = good_client(s, "despite-silence");
    drop(c);
    result
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Run every case against every target, in parallel; return the failures
/// and the good-reply count.
fn attack(targets: &[Target]) -> (usize, Vec<String>, usize) {
    let cases = cases();
    let runs: Vec<(&Target, &Case)> = targets
        .iter()
        .flat_map(|t| cases.iter().map(move |c| (t, c)))
        .collect();
    let failures = Mutex::new(Vec::new());
    let good = Mutex::new(0usize);
    let next = std::sync::atomic::AtomicUsize::new(0);
    // 8 workers take runs from the list: 2 cores, and a run may hold 200
    // fds; most runs are quick, a few wait out a server's timeout.
    thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some((target, case)) = runs.get(i) else {
                        break;
                    };
                    let started = Instant::now();
                    let mut server = Server::start(&mut (target.command)());
                    let tag = format!("good-{i}");
                    let outcome = (case.run)(&mut server)
                        .map_err(|e| format!("during the case: {e}"))
                        .and_then(|()| {
                            good_client(&server, &tag)
                                .map_err(|e| format!("good client afterwards: {e}"))
                        });
                    eprintln!(
                        "  {:>6.2}s  {} / {}",
                        started.elapsed().as_secs_f64(),
                        target.name,
                        case.name
                    );
                    match outcome {
                        Ok(()) => *good.lock().unwrap() += 1,
                        Err(e) => {
                            let printed = server.output_so_far();
                            let tail: Vec<&str> = printed.lines().rev().take(4).collect();
                            failures.lock().unwrap().push(format!(
                                "{} / {}: {e}\n    server's last lines: {:?}",
                                target.name, case.name, tail
                            ))
                        }
                    }
                }
            });
        }
    });
    (
        runs.len(),
        failures.into_inner().unwrap(),
        good.into_inner().unwrap(),
    )
}

#[test]
fn every_lesson_server_survives_every_hostile_client() {
    let targets = targets();
    let (runs, failures, good) = attack(&targets);
    println!(
        "hostile suite: {} cases x {} servers = {runs} runs, {} passed, good replies served {good}/{runs}",
        cases().len(),
        targets.len(),
        runs - failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {runs} runs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_suite_fails_a_naive_server_in_the_seeds_style() {
    if !tool("python3") {
        return;
    }
    let naive = [Target {
        name: "naive seed-style server",
        command: || {
            let mut cmd = python("naive_echo_server.py");
            cmd.arg("0");
            cmd
        },
    }];
    let (runs, failures, _) = attack(&naive);
    println!(
        "naive server: {} of {runs} runs failed, as they must",
        failures.len()
    );
    // The seeds' decode('utf-8') crashes on the first bad byte, and its
    // blocking loop has no idle timeout: both must be caught.
    for must_fail in ["invalid UTF-8", "connects, sends nothing"] {
        assert!(
            failures.iter().any(|f| f.contains(must_fail)),
            "the suite did not catch the naive server on {must_fail:?}:\n{}",
            failures.join("\n")
        );
    }
}
