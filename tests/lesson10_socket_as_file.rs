//! Lesson 10: a socket is a file — the demo snapshot, each behaviour the
//! lesson claims (a BufWriter's reply arrives only after flush, the reply to
//! a half-closed client still arrives, a write after shutdown(Write) is
//! EPIPE, an overlong line is cut off with a message, the fd is a socket
//! inode), and real peers: Python's makefile, nc -N and socat.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::Command;

use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_lesson10_socket_as_file");

fn server(extra: &[&str]) -> Server {
    Server::start(
        Command::new(BIN)
            .args(["server", "--port", "0"])
            .args(extra),
    )
}

/// The lines of `out` said by `speaker`, without the tag.
fn said_by<'a>(out: &'a str, speaker: &str) -> Vec<&'a str> {
    let tag = format!("{speaker:<8} │ ");
    out.lines().filter_map(|l| l.strip_prefix(&tag)).collect()
}

#[test]
fn demo_transcript() {
    let out = demo_output(BIN);
    snapshot_settings().bind(|| insta::assert_snapshot!("lesson10_socket_as_file", out));
}

#[test]
fn demo_shows_each_behaviour_it_claims() {
    let out = demo_output(BIN);
    let has = |needle: &str| assert!(out.contains(needle), "missing {needle:?} in:\n{out}");
    // fileno: a number that /proc calls a socket.
    has("as_raw_fd() -> fd ");
    has("and /proc/self/fd says it is socket:[");
    has("the connection itself");
    // The BufWriter held the reply: nothing arrived before the flush, all after.
    let part2 = out.split("2. a BufWriter keeps").nth(1).unwrap();
    let peek = part2
        .find("peek (non-blocking) -> WouldBlock")
        .expect(part2);
    let flush = part2.find("flush() -> the 6 bytes").expect(part2);
    let got = part2.find(r"peek (blocking) -> b'hello\n'").expect(part2);
    assert!(peek < flush && flush < got, "{part2}");
    // Half-close: the server saw EOF and still answered; the client read it.
    let a = said_by(&out, "client A");
    let shut = a
        .iter()
        .position(|l| l.starts_with("shutdown(Write)"))
        .unwrap();
    let total = a
        .iter()
        .position(|l| *l == r#"read line -> "total: 2 lines, 6 words""#)
        .unwrap_or_else(|| panic!("{out}"));
    assert!(shut < total, "{out}");
    has("read -> 0 bytes: end of file, the client is done sending");
    has(r#"reply "total: 2 lines, 6 words" after the client's EOF"#);
    // Writing after our own shutdown(Write) is EPIPE.
    has("write after shutdown(Write) -> Broken pipe (os error 32) [EPIPE]");
    // The 1 MiB line was cut off, and the client was told why.
    has("65537 bytes and no newline: over the 65536-byte limit");
    has(r#"client B │ read line -> "error: line longer than 65536 bytes; hanging up""#);
    has("discarded 983039 more bytes, then end of file");
}

#[test]
fn python_makefile_client_half_closes_and_reads_every_reply() {
    if !tool("python3") {
        return;
    }
    let srv = server(&["--max-clients", "1"]);
    let out = run(
        python("makefile_client.py").arg(srv.port()),
        "hello world\n你好 世界\n".as_bytes(),
    );
    assert!(out.status.success(), "{out:?}");
    assert!(
        out.stdout
            .contains("send after SHUT_WR: BrokenPipeError(32, 'Broken pipe')"),
        "{}",
        out.stdout
    );
    let replies: Vec<_> = out
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("from_server_msg: "))
        .collect();
    assert_eq!(
        replies,
        [
            "HELLO WORLD (2 words)",
            "你好 世界 (2 words)",
            "total: 2 lines, 4 words"
        ]
    );
    assert!(out.stdout.ends_with("EOF\n"), "{}", out.stdout);
    let (status, printed, _) = srv.wait();
    assert!(status.success());
    assert!(
        printed.contains("end of file, the client is done sending"),
        "{printed}"
    );
}

#[test]
fn netcat_half_closes_with_dash_n_and_gets_the_total() {
    if !tool("nc") {
        return;
    }
    let srv = server(&["--max-clients", "1"]);
    // -N: shutdown(SHUT_WR) when stdin ends, which is a half-close.
    let out = run(
        Command::new("nc").args(["-N", "127.0.0.1", &srv.port()]),
        b"one two three\nfour\n",
    );
    assert_eq!(
        out.stdout,
        "ONE TWO THREE (3 words)\nFOUR (1 words)\ntotal: 2 lines, 4 words\n"
    );
    assert!(srv.wait().0.success());
}

#[test]
fn socat_as_the_client() {
    if !tool("socat") {
        return;
    }
    let srv = server(&["--max-clients", "1"]);
    let out = run(
        Command::new("socat").args(["-", &format!("TCP:127.0.0.1:{}", srv.port())]),
        b"a b\nlast line without newline",
    );
    // The last line, cut short by EOF, is still a line.
    assert_eq!(
        out.stdout, "A B (2 words)\nLAST LINE WITHOUT NEWLINE (4 words)\ntotal: 2 lines, 6 words\n",
        "{out:?}"
    );
    assert!(srv.wait().0.success());
}

#[test]
fn our_client_sends_stdin_half_closes_and_refuses_empty_lines() {
    let srv = server(&["--max-clients", "1"]);
    let out = run(
        Command::new(BIN).args(["client", "--port", &srv.port()]),
        b"alpha beta\n\ngamma\n",
    );
    assert!(out.status.success(), "{out:?}");
    assert!(out.stdout.contains("empty line not sent"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("write after shutdown(Write) -> Broken pipe"),
        "{}",
        out.stdout
    );
    let replies: Vec<_> = out
        .stdout
        .lines()
        .filter_map(|l| l.split("read line -> ").nth(1))
        .collect();
    assert_eq!(
        replies,
        [
            r#""ALPHA BETA (2 words)""#,
            r#""GAMMA (1 words)""#,
            r#""total: 2 lines, 3 words""#
        ]
    );
    assert!(srv.wait().0.success());
}

#[test]
fn an_overlong_line_is_cut_off_with_a_reason_and_the_server_goes_on() {
    let mut srv = server(&["--max-clients", "2", "--max-line", "100"]);
    let mut conn = TcpStream::connect(srv.addr()).unwrap();
    conn.set_read_timeout(Some(PATIENCE)).unwrap();
    // 1 MiB without a newline, written from another thread: the server reads
    // at most 101 bytes of it into memory and throws the rest away.
    let mut writer = conn.try_clone().unwrap();
    let sending = std::thread::spawn(move || {
        writer.write_all(&vec![b'x'; 1024 * 1024]).unwrap();
        writer.shutdown(Shutdown::Write).unwrap();
    });
    let mut reply = String::new();
    conn.read_to_string(&mut reply).unwrap();
    sending.join().unwrap();
    assert_eq!(reply, "error: line longer than 100 bytes; hanging up\n");
    srv.wait_for("101 bytes and no newline: over the 100-byte limit");
    srv.wait_for(&format!("discarded {} more bytes", 1024 * 1024 - 101));

    // The next client is served as usual.
    let out = run(
        Command::new(BIN).args(["client", "--port", &srv.port()]),
        b"still here\n",
    );
    assert!(out.stdout.contains(r#""STILL HERE (2 words)""#), "{out:?}");
    assert!(srv.wait().0.success());
}

#[test]
fn a_silent_client_is_dropped_after_the_idle_timeout() {
    let mut srv = server(&["--max-clients", "1", "--idle-timeout", "1"]);
    let mut conn = TcpStream::connect(srv.addr()).unwrap();
    conn.set_read_timeout(Some(PATIENCE)).unwrap();
    srv.wait_for("client #1: read a line");
    let mut rest = Vec::new();
    // The server hung up on us: EOF (or a reset), within the test's patience.
    let _ = conn.read_to_end(&mut rest);
    assert!(srv.wait().0.success());
}
