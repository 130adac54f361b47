//! Lesson 07: short writes, the byte stream, a split character, framing —
//! the demo snapshot, each behaviour asserted on its own, the echo server
//! against Python (`sendall` + `struct.pack`) and nc, and hostile framing.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::Command;

use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_lesson07_send_and_sendall");

fn server(framing: &str, extra: &[&str]) -> Server {
    Server::start(
        Command::new(BIN)
            .args(["server", "--port", "0", "--framing", framing])
            .args(extra),
    )
}

/// A length-prefixed frame as the Python peer builds it.
fn frame(payload: &[u8]) -> Vec<u8> {
    let mut bytes = (payload.len() as u32).to_be_bytes().to_vec();
    bytes.extend_from_slice(payload);
    bytes
}

#[test]
fn demo_transcript() {
    let out = demo_output(BIN);
    let mut settings = snapshot_settings();
    // How much a short write takes depends on the kernel's buffer sizes.
    settings.add_filter(
        r"-> \d+: the kernel took \d+ of",
        "-> [N]: the kernel took [N] of",
    );
    settings.bind(|| insta::assert_snapshot!("lesson07_send_and_sendall", out));
}

#[test]
fn the_demo_shows_a_real_short_write_and_no_loss() {
    let out = demo_output(BIN);
    let line = out
        .lines()
        .find(|l| l.contains("the kernel took"))
        .unwrap_or_else(|| panic!("no short write line:\n{out}"));
    let took: usize = line
        .split("the kernel took ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number in {line:?}"));
    assert!(
        took > 0 && took < 16 * 1024 * 1024,
        "send() took {took}: not a short write"
    );
    for expected in [
        "WouldBlock (os error 11, EAGAIN",
        "recv() in a loop -> 16777216 bytes in total",
        "every byte arrived, in order",
    ] {
        assert!(out.contains(expected), "missing {expected:?}:\n{out}");
    }
}

#[test]
fn the_demo_shows_the_byte_stream_and_the_split_character() {
    let out = demo_output(BIN);
    for expected in [
        // Three sends, one recv.
        "recv(1024) -> b'helloworld!' (11 bytes): three sends, one recv",
        // One send, three recvs.
        "recv(4) -> b'0123'",
        "recv(4) -> b'4567'",
        "recv(4) -> b'89'",
        // The seed's decode breaks; Rust says what Python says.
        "String::from_utf8 -> Err: incomplete utf-8 byte sequence from index 3",
        "\"你�\"",
        // The fix.
        "Utf8Decoder.push -> \"你\", keeping 1 byte",
        "together \"你好\"",
        // Framing puts the messages back together however they were sent.
        "read_line() -> \"hello\"",
        "read_line() -> \"你好\"",
        "read_frame() -> \"two\\nlines, 两行\"",
        "refused: frame of 4294967295 bytes exceeds the cap of 65536",
        "recv -> 0 bytes: the server hung up on us",
    ] {
        assert!(out.contains(expected), "missing {expected:?}:\n{out}");
    }
}

#[test]
fn python_sendall_client_against_the_length_server() {
    if !tool("python3") {
        return;
    }
    let server = server("length", &["--max-clients", "1"]);
    let out = run(
        python("framing_length_client.py").arg(server.port()),
        "hello\n你好，世界\n".as_bytes(),
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, "收到回应：hello\n收到回应：你好，世界\n");
    let (status, printed, _) = server.wait();
    assert!(status.success(), "{printed}");
    assert!(
        printed.contains("read_frame() -> \"你好，世界\""),
        "{printed}"
    );
}

#[test]
fn netcat_against_the_line_server() {
    if !tool("nc") {
        return;
    }
    let server = server("line", &["--max-clients", "1"]);
    let out = run(
        Command::new("nc").args(["-N", "127.0.0.1", &server.port()]),
        "hello\n你好\r\n".as_bytes(),
    );
    // The \r of a telnet-style line ending is dropped; each echo ends in \n.
    assert_eq!(out.stdout, "hello\n你好\n");
    let (status, printed, _) = server.wait();
    assert!(status.success(), "{printed}");
}

#[test]
fn our_client_with_each_framing_and_an_empty_line() {
    for framing in ["line", "length"] {
        let server = server(framing, &["--max-clients", "1"]);
        let out = run(
            Command::new(BIN).args(["client", "--framing", framing, "--port", &server.port()]),
            "one\n\n两\n".as_bytes(),
        );
        assert!(out.status.success(), "{framing}: {out:?}");
        assert!(out.stdout.contains("echo \"one\""), "{}", out.stdout);
        assert!(out.stdout.contains("echo \"两\""), "{}", out.stdout);
        assert!(out.stdout.contains("empty line not sent"), "{}", out.stdout);
        assert!(
            out.stdout.contains("the server closed the connection too"),
            "{}",
            out.stdout
        );
        let (status, _, _) = server.wait();
        assert!(status.success());
    }
}

#[test]
fn a_frame_sent_one_byte_at_a_time_arrives_whole() {
    let server = server("length", &["--max-clients", "1"]);
    let mut conn = TcpStream::connect(server.addr()).unwrap();
    // No Nagle: every 1-byte write goes out as its own segment.
    conn.set_nodelay(true).unwrap();
    let wire = frame("分开发送".as_bytes());
    for byte in &wire {
        conn.write_all(&[*byte]).unwrap();
    }
    let mut echo = vec![0u8; wire.len()];
    conn.read_exact(&mut echo).unwrap();
    assert_eq!(echo, wire);
    conn.shutdown(Shutdown::Write).unwrap();
    let (status, printed, _) = server.wait();
    assert!(status.success());
    assert!(
        printed.contains("read_frame() -> \"分开发送\""),
        "{printed}"
    );
}

/// After each bad client the server must serve a good one, intact.
fn then_a_good_client_is_served(server: Server, framing: &str) {
    let mut conn = TcpStream::connect(server.addr()).unwrap();
    let wire = if framing == "line" {
        b"good\n".to_vec()
    } else {
        frame(b"good")
    };
    conn.write_all(&wire).unwrap();
    let mut echo = vec![0u8; wire.len()];
    conn.read_exact(&mut echo).unwrap();
    assert_eq!(echo, wire);
    drop(conn);
    let (status, printed, _) = server.wait();
    assert!(status.success(), "{printed}");
}

#[test]
fn a_lying_length_prefix_is_refused_without_allocating() {
    let mut server = server("length", &["--max-clients", "2"]);
    let mut conn = TcpStream::connect(server.addr()).unwrap();
    conn.write_all(&[0xff, 0xff, 0xff, 0xff]).unwrap();
    // The server hangs up (a read returns 0), it does not wait for 4 GiB.
    let mut rest = Vec::new();
    conn.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
    server.wait_for("refused: frame of 4294967295 bytes exceeds the cap of 65536");
    then_a_good_client_is_served(server, "length");
}

#[test]
fn a_line_longer_than_the_limit_is_refused() {
    let mut server = server("line", &["--max-clients", "2"]);
    let mut conn = TcpStream::connect(server.addr()).unwrap();
    // 64 KiB + 2 bytes and no newline: the limit is passed before any end.
    let endless = vec![b'a'; 64 * 1024 + 2];
    // The server may hang up while we are still writing: ignore that.
    let _ = conn.write_all(&endless);
    server.wait_for("refused: line longer than 65536 bytes");
    drop(conn);
    then_a_good_client_is_served(server, "line");
}

#[test]
fn hanging_up_mid_frame_is_named() {
    let mut server = server("length", &["--max-clients", "2"]);
    let mut conn = TcpStream::connect(server.addr()).unwrap();
    // Announces 10 bytes, sends 1, hangs up.
    conn.write_all(&[0, 0, 0, 10, b'a']).unwrap();
    conn.shutdown(Shutdown::Write).unwrap();
    server.wait_for("refused: peer hung up mid-frame: got 5 of 14 bytes");
    drop(conn);
    then_a_good_client_is_served(server, "length");
}

#[test]
fn invalid_utf8_is_echoed_as_bytes_not_a_crash() {
    let mut server = server("line", &["--max-clients", "1"]);
    let mut conn = TcpStream::connect(server.addr()).unwrap();
    conn.write_all(b"caf\xe9\n").unwrap();
    let mut echo = [0u8; 5];
    conn.read_exact(&mut echo).unwrap();
    assert_eq!(&echo, b"caf\xe9\n");
    server.wait_for(r"read_line() -> b'caf\xe9'");
}
