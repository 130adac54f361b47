//! Lesson 11: many clients at once — the demo snapshot; the iterative
//! server makes a second client wait, the threaded and epoll servers do
//! not; the epoll server survives partial reads and writes; real peers.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::Command;
use std::time::Duration;

use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_lesson11_concurrent_server");

fn server(model: &str, extra: &[&str]) -> Server {
    Server::start(
        Command::new(BIN)
            .args(["server", "--port", "0", "--model", model])
            .args(extra),
    )
}

fn connect(server: &Server) -> TcpStream {
    let s = TcpStream::connect(server.addr()).expect("connect");
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s.set_write_timeout(Some(PATIENCE)).unwrap();
    s.set_nodelay(true).unwrap();
    s
}

/// Send `msg` and read exactly its echo back (bounded by PATIENCE).
fn ping(conn: &mut TcpStream, msg: &[u8]) {
    conn.write_all(msg).unwrap();
    let mut echo = vec![0u8; msg.len()];
    conn.read_exact(&mut echo).expect("the echo");
    assert_eq!(echo, msg);
}

#[test]
fn demo_transcript() {
    let out = demo_output(BIN);
    snapshot_settings().bind(|| insta::assert_snapshot!("lesson11_concurrent_server", out));
}

#[test]
fn the_iterative_server_makes_the_second_client_wait() {
    let server = server("iterative", &["--max-clients", "2"]);
    let mut a = connect(&server);
    // A's echo proves the server is inside A's conversation now.
    ping(&mut a, b"hello from A");
    let mut b = connect(&server);
    b.write_all(b"hello from B").unwrap();
    // A concurrent server answers within microseconds; the iterative one
    // cannot answer at all while A is connected, so this is no race.
    b.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut buf = [0u8; 64];
    match b.read(&mut buf) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!("B was answered while A held the server: {other:?}"),
    }
    drop(a);
    b.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut echo = [0u8; 12];
    b.read_exact(&mut echo).expect("B's echo once A has gone");
    assert_eq!(&echo, b"hello from B");
    drop(b);
    // --max-clients 2: the server ends by itself after B.
    let (status, printed, _) = server.wait();
    assert!(status.success(), "{printed}");
    assert!(printed.contains("client A hung up"), "{printed}");
    assert!(printed.contains("client B hung up"), "{printed}");
}

fn two_clients_are_served_at_once(model: &str) {
    let server = server(model, &["--max-clients", "2"]);
    let mut a = connect(&server);
    ping(&mut a, b"hello from A");
    let mut b = connect(&server);
    // B is answered while A is still connected — and A still is after.
    ping(&mut b, b"hello from B");
    ping(&mut a, b"A again");
    ping(&mut b, "B: 你好".as_bytes());
    drop(a);
    drop(b);
    let (status, printed, _) = server.wait();
    assert!(status.success(), "{printed}");
    assert!(printed.contains(r#"b'hello from B'"#), "{printed}");
}

#[test]
fn the_threaded_server_serves_two_clients_at_once() {
    two_clients_are_served_at_once("threads");
}

#[test]
fn the_epoll_server_serves_two_clients_at_once() {
    two_clients_are_served_at_once("epoll");
}

#[test]
fn epoll_server_handles_a_client_that_writes_one_byte_at_a_time() {
    let server = server("epoll", &[]);
    let mut slow = connect(&server);
    let mut other = connect(&server);
    let message = "hi 你好!".as_bytes();
    for (i, byte) in message.iter().enumerate() {
        // Wait for each byte's echo before the next, so the server really
        // gets them in separate reads (a character split across reads too).
        ping(&mut slow, &[*byte]);
        if i == 4 {
            // Meanwhile another client is served normally.
            ping(&mut other, b"meanwhile");
        }
    }
    drop(slow);
    drop(other);
    let mut server = server;
    let printed = server.output_so_far();
    assert!(!printed.contains("warning"), "{printed}");
}

#[test]
fn epoll_server_handles_a_big_message_and_a_client_that_reads_slowly() {
    let server = server("epoll", &[]);
    let mut big = connect(&server);
    // Send without reading until the kernel takes no more: our receive
    // buffer is full of echo, the server holds what it could not send and
    // has stopped reading us, and our send buffer is full too.
    big.set_nonblocking(true).unwrap();
    let pattern = |i: usize| (i % 251) as u8;
    let mut sent = 0usize;
    loop {
        let start = sent % 251;
        let piece: Vec<u8> = (start..start + 65536).map(pattern).collect();
        match big.write(&piece) {
            Ok(n) => sent += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) => panic!("write: {e}"),
        }
        assert!(sent < 256 << 20, "the server never pushed back");
    }
    assert!(sent > 64 * 1024, "only {sent} bytes went out");
    // The server is not stuck on us: another client gets its echo.
    let mut other = connect(&server);
    ping(&mut other, b"still serving others?");
    // Now read the echo slowly, 1000 bytes at a time, and check every byte.
    big.set_nonblocking(false).unwrap();
    big.shutdown(Shutdown::Write).unwrap();
    let mut got = 0usize;
    let mut buf = [0u8; 1000];
    loop {
        let n = big.read(&mut buf).expect("read the echo");
        if n == 0 {
            break;
        }
        for (k, byte) in buf[..n].iter().enumerate() {
            assert_eq!(*byte, pattern(got + k), "byte {} of the echo", got + k);
        }
        got += n;
    }
    assert_eq!(
        got, sent,
        "the whole message came back, then the server closed"
    );
}

#[test]
fn our_client_refuses_empty_lines_and_prints_each_echo() {
    let server = server("epoll", &[]);
    let out = run(
        Command::new(BIN).args(["client", "--port", &server.port()]),
        "hello\n\n你好\n".as_bytes(),
    );
    assert!(out.status.success(), "{out:?}");
    assert!(out.stdout.contains(r#"echo: "hello""#), "{}", out.stdout);
    assert!(out.stdout.contains(r#"echo: "你好""#), "{}", out.stdout);
    assert!(
        out.stdout.contains("empty line: not sent"),
        "{}",
        out.stdout
    );
}

#[test]
fn the_seed_client_talks_to_every_model() {
    if !tool("python3") {
        return;
    }
    for model in ["iterative", "threads", "epoll"] {
        let server = server(model, &[]);
        let out = run(
            python("seed004_client.py").arg(server.port()),
            "你好\nexit\n".as_bytes(),
        );
        assert!(out.status.success(), "{model}: {out:?}");
        assert!(
            out.stdout.contains("收到回应：你好"),
            "{model}: {}",
            out.stdout
        );
    }
}

#[test]
fn netcat_as_the_client() {
    if !tool("nc") {
        return;
    }
    for model in ["iterative", "threads", "epoll"] {
        let server = server(model, &[]);
        // -N: send FIN when stdin ends; the server echoes all, then closes.
        let out = run(
            Command::new("nc").args(["-N", "127.0.0.1", &server.port()]),
            "one\ntwo\n".as_bytes(),
        );
        assert_eq!(out.stdout, "one\ntwo\n", "{model}");
    }
}

#[test]
fn the_backlog_flag_reaches_listen() {
    let server = server("epoll", &["--backlog", "7"]);
    let mut server = server;
    assert!(server.output_so_far().contains("listen(7)"));
    let out = run(Command::new(BIN).args(["server", "--backlog", "0"]), b"");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

#[test]
fn the_python_benchmark_servers_echo() {
    if !tool("python3") {
        return;
    }
    for script in ["bench_echo_blocking.py", "bench_echo_selectors.py"] {
        let server = Server::start(python(script).args(["0", "16"]));
        let mut a = connect(&server);
        ping(&mut a, b"ping");
        ping(&mut a, "你好".as_bytes());
    }
}

#[test]
fn a_silent_client_is_hung_up_on_by_every_model() {
    for model in ["iterative", "threads", "epoll"] {
        let mut server = server(model, &["--idle-timeout", "1"]);
        let mut silent = connect(&server);
        // The epoll server keeps this timeout itself (its sockets never
        // block); the others use the socket's read timeout.
        server.wait_for("said nothing for 1 s: hanging up on it");
        let mut buf = [0u8; 8];
        let n = silent.read(&mut buf).expect("EOF after the hang-up");
        assert_eq!(n, 0, "{model}");
        // And the server goes on serving.
        let mut next = connect(&server);
        ping(&mut next, b"next");
    }
}

#[test]
fn ctrl_c_stops_the_server_cleanly() {
    for model in ["iterative", "threads", "epoll"] {
        let server = server(model, &[]);
        let _client = connect(&server);
        let (status, printed, _) = server.signal_and_wait(nix::sys::signal::Signal::SIGINT);
        assert!(status.success(), "{model}: {printed}");
        assert!(printed.contains("stopped cleanly"), "{model}: {printed}");
    }
}
