//! Lesson 02: the single-shot phone call — demo snapshot, the seed's own
//! Python programs on the other end, and what happens when things go wrong.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::process::Command;

use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_lesson02_tcp_once");

fn server() -> Server {
    Server::start(Command::new(BIN).args(["server", "--port", "0"]))
}

#[test]
fn demo_transcript() {
    let out = demo_output(BIN);
    snapshot_settings().bind(|| insta::assert_snapshot!("lesson02_tcp_once", out));
}

#[test]
fn seed_client_talks_to_our_server() {
    if !tool("python3") {
        return;
    }
    let server = server();
    let out = run(python("seed001_once_client.py").arg(server.port()), b"");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout.trim(), "from_server_msg: >>>我是服务端");
    let (status, printed, _) = server.wait();
    assert!(status.success());
    assert!(
        printed.contains(r#"decoded as UTF-8: "我是客户端""#),
        "{printed}"
    );
}

#[test]
fn our_client_talks_to_the_seed_server() {
    if !tool("python3") {
        return;
    }
    let seed = Server::start(python("seed001_once_server.py").arg("0"));
    let out = run(
        Command::new(BIN).args(["client", "--port", &seed.port()]),
        b"",
    );
    assert!(out.status.success(), "{out:?}");
    assert!(
        out.stdout.contains(r#"decoded as UTF-8: "我是服务端""#),
        "{}",
        out.stdout
    );
    let (status, printed, _) = seed.wait();
    assert!(status.success());
    assert!(
        printed.contains("from_to_client_msg:>>> 我是客户端"),
        "{printed}"
    );
}

#[test]
fn netcat_as_the_client() {
    if !tool("nc") {
        return;
    }
    let server = server();
    // -N: send FIN when stdin ends; without it nc never hangs up.
    let out = run(
        Command::new("nc").args(["-N", "127.0.0.1", &server.port()]),
        "你好\n".as_bytes(),
    );
    assert_eq!(out.stdout, "我是服务端");
    let (_, printed, _) = server.wait();
    assert!(
        printed.contains(r#"decoded as UTF-8: "你好\n""#),
        "{printed}"
    );
}

#[test]
fn a_character_split_across_two_reads_is_shown_whole() {
    let mut server = server();
    let mut conn = TcpStream::connect(server.addr()).unwrap();
    conn.set_nodelay(true).unwrap();
    let bytes = "我是客户端".as_bytes();
    // 4 bytes: all of 我 and the first byte of 是.
    conn.write_all(&bytes[..4]).unwrap();
    // The server says it is waiting for the rest: only then send it, so the
    // two halves are certainly two reads.
    server.wait_for("not complete: reading on");
    conn.write_all(&bytes[4..]).unwrap();
    let (status, printed, _) = server.wait();
    assert!(status.success());
    assert!(
        printed.contains(r#"decoded as UTF-8: "我是客户端""#),
        "{printed}"
    );
    assert!(
        !printed.contains('�'),
        "a broken character was shown:\n{printed}"
    );
}

#[test]
fn invalid_utf8_is_shown_lossily_with_a_warning() {
    let server = server();
    let mut conn = TcpStream::connect(server.addr()).unwrap();
    conn.write_all(b"caf\xe9!").unwrap();
    let (status, printed, _) = server.wait();
    assert!(status.success(), "{printed}");
    assert!(printed.contains("1 invalid UTF-8 sequence(s)"), "{printed}");
    assert!(
        printed.contains(r#"decoded as UTF-8: "caf�!""#),
        "{printed}"
    );
}

#[test]
fn nobody_listening_is_explained_not_a_panic() {
    let (_reserved, port) = refusing_port();
    let out = run(
        Command::new(BIN).args(["client", "--port", &port.to_string()]),
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stderr.contains("[ECONNREFUSED]"), "{}", out.stderr);
    assert!(
        out.stderr.contains("why: nobody is listening"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}

#[test]
fn port_already_in_use_is_explained() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port().to_string();
    let out = run(Command::new(BIN).args(["server", "--port", &port]), b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stderr.contains("Address already in use"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("[EADDRINUSE]"), "{}", out.stderr);
    assert!(
        out.stderr.contains("try: stop the other program"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}

#[test]
fn ipv6_loopback_works() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("*** SKIPPED: this machine has no IPv6 loopback ***");
        return;
    }
    let server = Server::start(Command::new(BIN).args(["server", "--host", "::1", "--port", "0"]));
    assert!(server.addr().is_ipv6());
    let out = run(
        Command::new(BIN).args(["client", "--host", "::1", "--port", &server.port()]),
        b"",
    );
    assert!(out.status.success(), "{out:?}");
    assert!(out.stdout.contains("我是服务端"), "{}", out.stdout);
}
