//! Lesson 06: one echo server, three ways — demo snapshot; every
//! implementation echoes our client, a Python client and netcat byte for
//! byte; hostile clients (invalid UTF-8, one byte at a time, a reset, a peer
//! that vanishes before its echo) never stop a server.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::process::ExitStatusExt;
use std::process::Command;
use std::time::Duration;

use common::*;
use socket_lessons::explain::explain;

const BIN: &str = env!("CARGO_BIN_EXE_lesson06_raw_syscalls");
const LAYERS: [&str; 3] = ["nix", "socket2", "std"];

/// A server of one implementation on a free port that stops after
/// `clients` clients.
fn server(layer: &str, clients: usize) -> Server {
    Server::start(Command::new(BIN).args([
        "server",
        "--impl",
        layer,
        "--port",
        "0",
        "--max-clients",
        &clients.to_string(),
    ]))
}

/// A plain connection whose reads give up (and fail the test) after PATIENCE.
fn connect(server: &Server) -> TcpStream {
    let conn = TcpStream::connect(server.addr()).unwrap();
    conn.set_read_timeout(Some(PATIENCE)).unwrap();
    conn
}

/// Wait for the server to stop by itself; it must exit 0, not by a signal.
fn stopped_cleanly(server: Server, layer: &str) -> String {
    let (status, printed, stderr) = server.wait();
    assert_eq!(
        status.signal(),
        None,
        "{layer} server killed by a signal\n{printed}"
    );
    assert!(
        status.success(),
        "{layer} server failed: {status:?}\n{printed}\n{stderr}"
    );
    printed
}

#[test]
fn demo_transcript() {
    let out = demo_output(BIN);
    snapshot_settings().bind(|| insta::assert_snapshot!("lesson06_raw_syscalls", out));
}

#[test]
fn the_demo_computes_that_all_three_sent_back_the_same_bytes() {
    let out = demo_output(BIN);
    assert!(
        out.contains("the client received the same 22 bytes from all three servers"),
        "{out}"
    );
    for layer in [
        "server 1 of 3, nix",
        "server 2 of 3, socket2",
        "server 3 of 3, std",
    ] {
        assert!(out.contains(layer), "{out}");
    }
}

#[test]
fn each_server_echoes_our_client() {
    for layer in LAYERS {
        let server = server(layer, 1);
        let out = run(
            Command::new(BIN).args(["client", "--port", &server.port()]),
            "hello\n我是客户端\n".as_bytes(),
        );
        assert!(out.status.success(), "{layer}: {out:?}");
        assert!(
            out.stdout.contains(r#"echo: "hello\n""#),
            "{layer}: {}",
            out.stdout
        );
        assert!(
            out.stdout.contains(r#"echo: "我是客户端\n""#),
            "{layer}: {}",
            out.stdout
        );
        let printed = stopped_cleanly(server, layer);
        assert!(printed.contains("the client hung up"), "{layer}: {printed}");
    }
}

#[test]
fn each_server_echoes_the_python_client() {
    if !tool("python3") {
        return;
    }
    for layer in LAYERS {
        let server = server(layer, 1);
        let out = run(
            python("echo_client.py").arg(server.port()),
            "hello\n我是客户端\n".as_bytes(),
        );
        assert!(out.status.success(), "{layer}: {out:?}");
        assert_eq!(
            out.stdout, "收到回应：hello\n收到回应：我是客户端\n",
            "{layer}"
        );
        stopped_cleanly(server, layer);
    }
}

#[test]
fn each_server_echoes_netcat() {
    if !tool("nc") {
        return;
    }
    let input = "hello\n我是客户端\nno newline at the end";
    for layer in LAYERS {
        let server = server(layer, 1);
        // -N: send FIN when stdin ends, so the server sees the hang-up and
        // closes, and nc exits after printing everything echoed.
        let out = run(
            Command::new("nc").args(["-N", "127.0.0.1", &server.port()]),
            input.as_bytes(),
        );
        assert_eq!(out.stdout, input, "{layer}: {out:?}");
        stopped_cleanly(server, layer);
    }
}

#[test]
fn invalid_utf8_and_one_byte_writes_are_echoed_exactly() {
    for layer in LAYERS {
        let server = server(layer, 2);

        // Not text at all: the server echoes bytes and never decodes them.
        let mut conn = connect(&server);
        let junk = b"caf\xe9 \xff\xfe\x00 \xe6\x88\n";
        conn.write_all(junk).unwrap();
        let mut back = vec![0u8; junk.len()];
        conn.read_exact(&mut back).unwrap();
        assert_eq!(back, junk, "{layer}");
        drop(conn);

        // One byte per write, a multibyte character split across writes.
        let mut conn = connect(&server);
        conn.set_nodelay(true).unwrap();
        let message = "我是客户端, byte by byte\n".as_bytes();
        for byte in message {
            conn.write_all(std::slice::from_ref(byte)).unwrap();
        }
        conn.shutdown(Shutdown::Write).unwrap();
        let mut back = Vec::new();
        conn.read_to_end(&mut back).unwrap();
        assert_eq!(back, message, "{layer}");

        let printed = stopped_cleanly(server, layer);
        assert!(!printed.contains("warning"), "{layer}: {printed}");
    }
}

#[test]
fn a_client_that_resets_mid_message_does_not_stop_the_server() {
    for layer in LAYERS {
        let server = server(layer, 2);

        // SO_LINGER 0: close() sends RST instead of FIN — a client that
        // crashed in the middle of a message.
        let rude = connect(&server);
        (&rude).write_all(b"half a mess").unwrap();
        socket2::SockRef::from(&rude)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(rude);

        // The next client is served as if nothing happened.
        let out = run(
            Command::new(BIN).args(["client", "--port", &server.port()]),
            b"still there?\n",
        );
        assert!(
            out.stdout.contains(r#"echo: "still there?\n""#),
            "{layer}: {out:?}"
        );
        let printed = stopped_cleanly(server, layer);
        assert!(!printed.contains("panicked"), "{layer}: {printed}");
    }
}

#[test]
fn nix_server_writing_to_a_vanished_peer_gets_an_explained_broken_pipe() {
    let mut server = server("nix", 3);

    // Client A keeps the server busy (it serves one client at a time) ...
    let mut a = connect(&server);
    a.write_all(b"a").unwrap();
    let mut one = [0u8; 1];
    a.read_exact(&mut one).unwrap();

    // ... so B's connection waits in the listen queue, unaccepted, while B
    // sends 32 KiB and closes. B has read nothing, so its close is a plain
    // FIN, and B's socket is gone before the server ever sees it.
    let mut b = connect(&server);
    b.write_all(&vec![b'b'; 32 * 1024]).unwrap();
    drop(b);

    // A leaves; the server takes B, reads 1024 bytes and echoes them to a
    // socket that no longer exists. B's kernel answers with a reset, and the
    // next send fails with EPIPE — without MSG_NOSIGNAL, that send would
    // also raise SIGPIPE.
    drop(a);
    let warning = server.wait_for("warning");
    assert!(warning.contains("[EPIPE]"), "{warning}");
    // Explained with the library's sentence for EPIPE, whatever its wording.
    let why = explain(&std::io::Error::from_raw_os_error(32)).why;
    assert!(warning.contains(why), "{warning}");

    // Still alive, still serving.
    let out = run(
        Command::new(BIN).args(["client", "--port", &server.port()]),
        b"after the broken pipe\n",
    );
    assert!(
        out.stdout.contains(r#"echo: "after the broken pipe\n""#),
        "{out:?}"
    );
    stopped_cleanly(server, "nix");
}

#[test]
fn an_empty_line_is_refused_with_an_explanation() {
    let server = server("nix", 1);
    let out = run(
        Command::new(BIN).args(["client", "--port", &server.port()]),
        b"\nreal line\n",
    );
    assert!(out.status.success(), "{out:?}");
    assert!(
        out.stdout.contains("an empty line is not sent"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(r#"echo: "real line\n""#),
        "{}",
        out.stdout
    );
    stopped_cleanly(server, "nix");
}

#[test]
fn ipv6_loopback_works_for_all_three() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("*** SKIPPED: this machine has no IPv6 loopback ***");
        return;
    }
    for layer in LAYERS {
        let server = Server::start(Command::new(BIN).args([
            "server",
            "--impl",
            layer,
            "--host",
            "::1",
            "--port",
            "0",
            "--max-clients",
            "1",
        ]));
        assert!(server.addr().is_ipv6(), "{layer}");
        let out = run(
            Command::new(BIN).args(["client", "--host", "::1", "--port", &server.port()]),
            b"over IPv6\n",
        );
        assert!(
            out.stdout.contains(r#"echo: "over IPv6\n""#),
            "{layer}: {out:?}"
        );
        stopped_cleanly(server, layer);
    }
}
