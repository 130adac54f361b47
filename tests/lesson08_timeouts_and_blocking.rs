//! Lesson 08: timeouts, non-blocking mode, connect_ex — the demo snapshot,
//! each behaviour asserted on its own, a silent server that must not hang
//! any client (ours, or Python's with settimeout), and connect_timeout
//! against a full accept queue.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_lesson08_timeouts_and_blocking");

fn server(extra: &[&str]) -> Server {
    Server::start(
        Command::new(BIN)
            .args(["server", "--port", "0"])
            .args(extra),
    )
}

#[test]
fn demo_transcript() {
    let out = demo_output(BIN);
    snapshot_settings().bind(|| insta::assert_snapshot!("lesson08_timeouts_and_blocking", out));
}

#[test]
fn the_demo_shows_each_behaviour() {
    let out = demo_output(BIN);
    for expected in [
        // gettimeout before and after settimeout.
        "read_timeout() -> None",
        "set_read_timeout(100ms); read_timeout() -> Some(100ms)",
        // An expired read timeout is EAGAIN on Linux: WouldBlock.
        "recv(1024) -> Err: WouldBlock (os error 11, EAGAIN)",
        // settimeout(0) has no Rust twin.
        "set_read_timeout(0s) -> Err: InvalidInput",
        // Non-blocking read and accept fail at once with EAGAIN.
        "set_nonblocking(true); recv(1024) -> Err at once: WouldBlock (os error 11, EAGAIN)",
        "accept() with nobody calling -> Err at once: WouldBlock (os error 11, EAGAIN)",
        // connect_ex's numbers.
        "-> 111 (ECONNREFUSED): nobody listens there",
        "-> 0: connected",
        // connect_timeout to a full queue: TimedOut, made by Rust.
        "100ms) -> Err: TimedOut (no os error",
    ] {
        assert!(out.contains(expected), "missing {expected:?}:\n{out}");
    }
}

#[test]
fn a_silent_server_does_not_hang_our_client() {
    let server = server(&["--silent", "--max-clients", "1"]);
    let started = Instant::now();
    let out = run(
        Command::new(BIN).args(["client", "--timeout", "0.3", "--port", &server.port()]),
        b"hello?\n",
    );
    // A timeout never fires early (it may fire late on a busy machine).
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        out.stdout.contains("no answer within 300ms"),
        "{}",
        out.stdout
    );
    assert!(out.stderr.contains("[EAGAIN]"), "{}", out.stderr);
    assert!(
        out.stderr.contains("why: nothing arrived in time"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    let (status, printed, _) = server.wait();
    assert!(status.success());
    assert!(printed.contains("no answer, on purpose"), "{printed}");
}

#[test]
fn python_settimeout_client_against_the_silent_server() {
    if !tool("python3") {
        return;
    }
    let server = server(&["--silent", "--max-clients", "1"]);
    let out = run(
        python("timeout_client.py").args([&server.port(), "0.3"]),
        b"hello?\n",
    );
    assert!(out.status.success(), "{out:?}");
    // Where Rust says WouldBlock, Python says TimeoutError.
    assert_eq!(
        out.stdout,
        "gettimeout: 0.3\n超时: TimeoutError('timed out')\n"
    );
    drop(server);
}

#[test]
fn python_settimeout_client_against_the_echo_server() {
    if !tool("python3") {
        return;
    }
    let server = server(&["--max-clients", "1"]);
    let out = run(
        python("timeout_client.py").args([&server.port(), "5"]),
        "你好\n".as_bytes(),
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, "gettimeout: 5.0\n收到回应：你好\n");
    let (status, _, _) = server.wait();
    assert!(status.success());
}

#[test]
fn our_client_and_nc_against_the_echo_server() {
    let server = server(&["--max-clients", "2"]);
    let out = run(
        Command::new(BIN).args(["client", "--timeout", "5", "--port", &server.port()]),
        b"one\n\ntwo\n",
    );
    assert!(out.status.success(), "{out:?}");
    assert!(
        out.stdout.contains("recv(1024) -> b'one'"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("recv(1024) -> b'two'"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("empty line not sent"), "{}", out.stdout);
    if tool("nc") {
        let out = run(
            Command::new("nc").args(["-N", "127.0.0.1", &server.port()]),
            b"ping\n",
        );
        assert_eq!(out.stdout, "ping\n");
    } else {
        TcpStream::connect(server.addr()).unwrap();
    }
    let (status, _, _) = server.wait();
    assert!(status.success());
}

/// A listener with backlog 0 that never accepts, already holding one
/// finished handshake: its queue is full, so new SYNs are dropped.
fn full_queue() -> (socket2::Socket, TcpStream, SocketAddr) {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    s.bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    s.listen(0).unwrap();
    let addr = s.local_addr().unwrap().as_socket().unwrap();
    let first = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    (s, first, addr)
}

#[test]
fn connect_timeout_to_a_full_queue_is_timed_out() {
    let (_listener, _first, addr) = full_queue();
    let e = TcpStream::connect_timeout(&addr, Duration::from_millis(200)).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
    assert_eq!(e.raw_os_error(), None);
    // And our client gives up the same way, explained.
    let out = run(
        Command::new(BIN).args([
            "client",
            "--timeout",
            "0.3",
            "--port",
            &addr.port().to_string(),
        ]),
        b"hello\n",
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stderr.contains("timeout 300ms"), "{}", out.stderr);
    assert!(out.stderr.contains("timed out"), "{}", out.stderr);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}

#[test]
fn connect_ex_numbers_agree_with_python() {
    let (_reserved, port) = refusing_port();
    let out = run(
        Command::new(BIN).args(["client", "--port", &port.to_string()]),
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stderr.contains("(os error 111) [ECONNREFUSED]"),
        "{}",
        out.stderr
    );
    if tool("python3") {
        let out = run(
            Command::new("python3").args([
                "-c",
                &format!(
                    "import socket; s = socket.socket(); print(s.connect_ex(('127.0.0.1', {port})))"
                ),
            ]),
            b"",
        );
        assert_eq!(out.stdout.trim(), "111");
    }
}

#[test]
fn the_server_hangs_up_on_a_silent_client_and_serves_the_next() {
    let mut server = server(&["--idle-timeout", "1", "--max-clients", "2"]);
    let mut quiet = TcpStream::connect(server.addr()).unwrap();
    quiet.set_read_timeout(Some(PATIENCE)).unwrap();
    // We say nothing; after its idle timeout the server hangs up: read -> 0.
    let mut buf = [0u8; 16];
    assert_eq!(quiet.read(&mut buf).unwrap(), 0);
    server.wait_for("nothing from this client for 1 s: hanging up");
    let mut good = TcpStream::connect(server.addr()).unwrap();
    good.write_all(b"still there?").unwrap();
    let mut echo = [0u8; 12];
    good.read_exact(&mut echo).unwrap();
    assert_eq!(&echo, b"still there?");
    drop(good);
    let (status, _, _) = server.wait();
    assert!(status.success());
}

#[test]
fn a_zero_timeout_is_refused_with_an_explanation() {
    let out = run(Command::new(BIN).args(["client", "--timeout", "0"]), b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stderr.contains("0 is not a positive number of seconds"),
        "{}",
        out.stderr
    );
}
