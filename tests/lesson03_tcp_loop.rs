//! Lesson 03: the accept loop and the message loop — demo snapshot, the
//! seeds' own loop programs on the other end (both directions), and bad input.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_lesson03_tcp_loop");

fn server(extra: &[&str]) -> Server {
    Server::start(
        Command::new(BIN)
            .args(["server", "--port", "0"])
            .args(extra),
    )
}

fn client(port: &str, stdin: &str) -> Output {
    run(
        Command::new(BIN).args(["client", "--port", port]),
        stdin.as_bytes(),
    )
}

/// Send one message on a fresh connection and return the reply.
fn exchange(server: &Server, message: &str) -> String {
    let mut conn = TcpStream::connect(server.addr()).unwrap();
    conn.set_read_timeout(Some(PATIENCE)).unwrap();
    conn.write_all(message.as_bytes()).unwrap();
    let mut buf = [0u8; 4096];
    let n = conn.read(&mut buf).unwrap();
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

#[test]
fn demo_transcript() {
    let out = demo_output(BIN);
    snapshot_settings().bind(|| insta::assert_snapshot!("lesson03_tcp_loop", out));
}

#[test]
fn our_client_and_server_talk_until_exit() {
    let mut server = server(&[]);
    let out = client(&server.port(), "hello\n你好\nexit\nnever sent\n");
    assert!(out.status.success(), "{out:?}");
    assert!(
        out.stdout
            .contains(r#"reply: "你好，我已收到你的消息：hello""#),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains(r#"reply: "你好，我已收到你的消息：你好""#),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("never sent"),
        "the client went on after exit:\n{}",
        out.stdout
    );
    server.wait_for("the client said exit");
}

#[test]
fn empty_lines_are_refused_by_the_client() {
    let server = server(&[]);
    let out = client(&server.port(), "\n   \nhi\n");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        out.stdout.matches("empty line not sent").count(),
        2,
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("你好，我已收到你的消息：hi"),
        "{}",
        out.stdout
    );
}

#[test]
fn seed001_loop_client_against_our_server() {
    if !tool("python3") {
        return;
    }
    let server = server(&[]);
    // The seed's client opens a new connection for every message and dies
    // with EOFError when its input ends: we judge what it printed.
    let out = run(
        python("seed001_loop_client.py").arg(server.port()),
        "one\n二\n".as_bytes(),
    );
    assert!(
        out.stdout
            .contains("来自服务端: >>>你好，我已收到你的消息：one"),
        "{out:?}"
    );
    assert!(
        out.stdout
            .contains("来自服务端: >>>你好，我已收到你的消息：二"),
        "{out:?}"
    );
    assert!(
        out.stderr.contains("EOFError"),
        "expected the seed's EOFError at the end: {out:?}"
    );
}

#[test]
fn our_client_against_seed001_loop_server_reconnects() {
    if !tool("python3") {
        return;
    }
    let mut seed = Server::start(python("seed001_loop_server.py").arg("0"));
    // The seed server takes its replies from stdin, one per connection.
    seed.stdin
        .as_mut()
        .unwrap()
        .write_all("first reply\nsecond reply\n".as_bytes())
        .unwrap();
    let out = client(&seed.port(), "one\ntwo\n");
    assert!(out.status.success(), "{out:?}");
    assert!(
        out.stdout.contains(r#"reply: "first reply""#),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("the server hung up without answering"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(r#"reply: "second reply""#),
        "{}",
        out.stdout
    );
    seed.wait_for("来自客户端:>>> two");
}

#[test]
fn seed004_client_against_our_server() {
    if !tool("python3") {
        return;
    }
    let mut server = server(&[]);
    let out = run(
        python("seed004_client.py").arg(server.port()),
        "hello\n你好\nexit\n".as_bytes(),
    );
    assert!(out.status.success(), "{out:?}");
    assert!(
        out.stdout
            .contains("收到回应：你好，我已收到你的消息：hello"),
        "{out:?}"
    );
    assert!(
        out.stdout
            .contains("收到回应：你好，我已收到你的消息：你好"),
        "{out:?}"
    );
    server.wait_for("the client said exit");
}

#[test]
fn our_client_against_seed004_server() {
    if !tool("python3") {
        return;
    }
    let mut seed = Server::start(python("seed004_server.py").arg("0"));
    let out = client(&seed.port(), "hello\n世界\nexit\n");
    assert!(out.status.success(), "{out:?}");
    assert!(
        out.stdout
            .contains(r#"reply: "你好，我已收到你的消息：hello""#),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains(r#"reply: "你好，我已收到你的消息：世界""#),
        "{}",
        out.stdout
    );
    seed.wait_for("收到消息：世界");
}

#[test]
fn netcat_as_the_client() {
    if !tool("nc") {
        return;
    }
    let server = server(&[]);
    let out = run(
        Command::new("nc").args(["-N", "127.0.0.1", &server.port()]),
        b"ping\n",
    );
    assert_eq!(out.stdout, "你好，我已收到你的消息：ping");
}

#[test]
fn socat_as_the_client() {
    if !tool("socat") {
        return;
    }
    let server = server(&[]);
    let out = run(
        Command::new("socat").args(["-", &format!("TCP:127.0.0.1:{}", server.port())]),
        b"via socat\n",
    );
    assert_eq!(out.stdout, "你好，我已收到你的消息：via socat");
}

#[test]
fn replies_typed_on_the_servers_stdin() {
    let mut server = server(&["--reply-from-stdin"]);
    // An empty typed reply is refused, as in seed 001; the next line is sent.
    server
        .stdin
        .as_mut()
        .unwrap()
        .write_all(b"\ntyped by hand\n")
        .unwrap();
    assert_eq!(exchange(&server, "question"), "typed by hand");
    server.wait_for("an empty reply would send nothing");
}

#[test]
fn invalid_utf8_is_shown_lossily_and_the_server_goes_on() {
    let mut server = server(&[]);
    let reply = {
        let mut conn = TcpStream::connect(server.addr()).unwrap();
        conn.write_all(b"bad \xff\xfe bytes").unwrap();
        let mut buf = [0u8; 1024];
        let n = conn.read(&mut buf).unwrap();
        String::from_utf8(buf[..n].to_vec()).unwrap()
    };
    assert_eq!(reply, "你好，我已收到你的消息：bad �� bytes");
    server.wait_for("2 invalid UTF-8 sequence(s)");
    assert_eq!(
        exchange(&server, "still there?"),
        "你好，我已收到你的消息：still there?"
    );
}

#[test]
fn a_message_split_inside_a_character_is_one_whole_message() {
    let mut server = server(&[]);
    let mut conn = TcpStream::connect(server.addr()).unwrap();
    conn.set_nodelay(true).unwrap();
    let bytes = "我是客户端".as_bytes();
    conn.write_all(&bytes[..4]).unwrap(); // 我 and the first byte of 是
    server.wait_for("not complete: reading on");
    conn.write_all(&bytes[4..]).unwrap();
    let mut buf = [0u8; 1024];
    let n = conn.read(&mut buf).unwrap();
    assert_eq!(
        std::str::from_utf8(&buf[..n]).unwrap(),
        "你好，我已收到你的消息：我是客户端"
    );
}

#[test]
fn a_reply_split_inside_a_character_is_shown_whole_by_the_client() {
    // A hand-made server sends its reply in two pieces, the second only after
    // the client has read the first.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let mut cmd = Command::new(BIN);
    cmd.args(["client", "--port", &port]);
    let mut client = Server::spawn(&mut cmd);
    client.stdin.as_mut().unwrap().write_all(b"hi\n").unwrap();
    let (mut conn, _) = listener.accept().unwrap();
    conn.set_nodelay(true).unwrap();
    let mut buf = [0u8; 16];
    let _ = conn.read(&mut buf).unwrap();
    let reply = "服务端".as_bytes();
    conn.write_all(&reply[..2]).unwrap();
    client.wait_for("recv(1024) -> 2 bytes");
    conn.write_all(&reply[2..]).unwrap();
    let line = client.wait_for("reply:");
    assert!(line.ends_with(r#"reply: "服务端""#), "{line}");
}

#[test]
fn a_client_that_resets_does_not_stop_the_server() {
    let mut server = server(&[]);
    let conn = TcpStream::connect(server.addr()).unwrap();
    let sock = socket2::SockRef::from(&conn);
    sock.set_linger(Some(Duration::ZERO)).unwrap();
    (&conn).write_all("half a mess".as_bytes()).unwrap();
    drop(conn); // SO_LINGER 0: close sends RST, not FIN
    // The server either read the bytes before the reset (and its reply hit
    // the reset) or saw the reset on recv; either way it says so and goes on.
    let line = server.wait_for("client #1");
    assert!(
        line.contains("reset") || line.contains("accept()"),
        "{line}"
    );
    assert_eq!(exchange(&server, "next"), "你好，我已收到你的消息：next");
}

#[test]
fn a_client_that_vanishes_is_noted_and_the_next_is_served() {
    let mut server = server(&[]);
    drop(TcpStream::connect(server.addr()).unwrap());
    server.wait_for("0 bytes: the client hung up");
    assert_eq!(exchange(&server, "after"), "你好，我已收到你的消息：after");
}

#[test]
fn a_silent_client_is_dropped_after_the_idle_timeout() {
    let mut server = server(&["--idle-timeout", "1"]);
    let silent = TcpStream::connect(server.addr()).unwrap();
    server.wait_for("no message for 1 s: hanging up");
    assert_eq!(
        exchange(&server, "my turn"),
        "你好，我已收到你的消息：my turn"
    );
    drop(silent);
}

#[test]
fn max_clients_ends_the_server_cleanly() {
    let server = server(&["--max-clients", "1"]);
    assert_eq!(
        exchange(&server, "only one"),
        "你好，我已收到你的消息：only one"
    );
    let (status, out, _) = server.wait();
    assert!(status.success());
    assert!(out.contains("served 1 clients"), "{out}");
}

#[test]
fn sigint_stops_the_server_cleanly() {
    let server = server(&[]);
    let (status, out, _) = server.signal_and_wait(nix::sys::signal::Signal::SIGINT);
    assert!(status.success(), "{status:?}");
    assert!(out.contains("SIGINT received: stopped cleanly"), "{out}");
}

#[test]
fn nobody_listening_is_explained() {
    let (_reserved, port) = refusing_port();
    let out = client(&port.to_string(), "hi\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stderr.contains("[ECONNREFUSED]") && out.stderr.contains("why: nobody is listening"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("panicked"));
}

#[test]
fn port_in_use_is_explained() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port().to_string();
    let out = run(Command::new(BIN).args(["server", "--port", &port]), b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stderr.contains("[EADDRINUSE]"), "{}", out.stderr);
    assert!(!out.stderr.contains("panicked"));
}

#[test]
fn the_wildcard_address_warns_about_exposure() {
    let mut server =
        Server::spawn(Command::new(BIN).args(["server", "--host", "0.0.0.0", "--port", "0"]));
    let warning = server.wait_for("reachable from other machines");
    assert!(warning.starts_with("warning"), "{warning}");
}
