//! Lesson 04: UDP — demo snapshot, the seed's own UDP programs and socat on
//! the other end (both directions), and the datagrams a UDP server must
//! survive: empty, largest, not UTF-8, from two clients at once.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::process::Command;

use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_lesson04_udp");

const ACK: &str = "你好，我已收到你的消息：";

/// Our server on a kernel-chosen port.
fn server(extra: &[&str]) -> Server {
    Server::start(
        Command::new(BIN)
            .args(["server", "--port", "0"])
            .args(extra),
    )
}

/// Our client, talking to `port`, with `stdin` piped in.
fn client(port: &str, extra: &[&str], stdin: &[u8]) -> Output {
    run(
        Command::new(BIN)
            .args(["client", "--port", port])
            .args(extra),
        stdin,
    )
}

/// A test's own UDP socket on loopback, with every wait bounded.
fn udp() -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s
}

/// Send `bytes` to `to` and return the one reply (and who sent it).
fn ask(sock: &UdpSocket, to: SocketAddr, bytes: &[u8]) -> (Vec<u8>, SocketAddr) {
    sock.send_to(bytes, to).unwrap();
    let mut buf = vec![0u8; 65_536];
    let (n, from) = sock.recv_from(&mut buf).expect("a reply within PATIENCE");
    buf.truncate(n);
    (buf, from)
}

/// A UDP port on 127.0.0.1 that is certainly closed, without a race: the
/// returned socket holds the port (no one else can bind it) but is connected
/// to itself, so the kernel gives it no datagram from anyone else and answers
/// them with ICMP "port unreachable". Keep the socket alive.
fn closed_udp_port() -> (UdpSocket, String) {
    let holder = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = holder.local_addr().unwrap();
    holder.connect(addr).unwrap();
    (holder, addr.port().to_string())
}

#[test]
fn demo_transcript() {
    let out = demo_output(BIN);
    snapshot_settings().bind(|| insta::assert_snapshot!("lesson04_udp", out));
}

#[test]
fn help_says_what_the_lesson_teaches() {
    let out = run(Command::new(BIN).arg("--help"), b"");
    assert!(out.status.success());
    for topic in [
        "sendto",
        "recvfrom",
        "no connection",
        "boundaries",
        "truncation",
        "MSG_TRUNC",
        "65,507",
        "connection refused",
    ] {
        assert!(
            out.stdout.contains(topic),
            "--help lacks {topic:?}:\n{}",
            out.stdout
        );
    }
}

// ---------------------------------------------------------------------------
// Real peers
// ---------------------------------------------------------------------------

#[test]
fn seed_client_talks_to_our_server() {
    if !tool("python3") {
        return;
    }
    let server = server(&[]);
    let out = run(
        python("seed001_udp_client.py").arg(server.port()),
        "你好\n\n我是客户端\n".as_bytes(),
    );
    // The seed's client ends with EOFError when its stdin runs out.
    assert!(out.stderr.contains("EOFError"), "{out:?}");
    assert!(
        out.stdout
            .contains(&format!("来自服务器的信息:>>> {ACK}你好")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains(&format!("来自服务器的信息:>>> {ACK}我是客户端")),
        "{}",
        out.stdout
    );
    // The seed refused its empty line itself: our server got two datagrams.
    assert!(out.stdout.contains("当前不能为空"), "{}", out.stdout);
    let (_, printed, _) = server.signal_and_wait(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(printed.matches("recvfrom(65536)").count(), 2, "{printed}");
}

#[test]
fn seed_client_talks_to_our_server_replying_from_stdin() {
    if !tool("python3") {
        return;
    }
    let mut server = server(&["--reply-from-stdin", "--max-datagrams", "2"]);
    // The operator's replies, typed ahead: an empty one is refused first.
    use std::io::Write;
    let mut typed = server.stdin.take().unwrap();
    typed.write_all("\n好的\n收到\n".as_bytes()).unwrap();
    let out = run(
        python("seed001_udp_client.py").arg(server.port()),
        "第一条\n第二条\n".as_bytes(),
    );
    assert!(out.stdout.contains("来自服务器的信息:>>> 好的"), "{out:?}");
    assert!(out.stdout.contains("来自服务器的信息:>>> 收到"), "{out:?}");
    drop(typed);
    let (status, printed, _) = server.wait();
    assert!(status.success(), "{printed}");
    assert!(printed.contains("当前不能为空"), "{printed}");
    assert!(printed.contains(r#""第一条""#), "{printed}");
    assert!(printed.contains(r#""第二条""#), "{printed}");
}

#[test]
fn our_client_talks_to_the_seed_server() {
    if !tool("python3") {
        return;
    }
    let mut seed = Server::start(python("seed001_udp_server.py").arg("0"));
    use std::io::Write;
    let mut typed = seed.stdin.take().unwrap();
    typed.write_all("我是服务端\n再见\n".as_bytes()).unwrap();
    let out = client(&seed.port(), &[], "你好\n我走了\n".as_bytes());
    assert!(out.status.success(), "{out:?}");
    assert!(out.stdout.contains(r#": "我是服务端""#), "{}", out.stdout);
    assert!(out.stdout.contains(r#": "再见""#), "{}", out.stdout);
    // The seed's server loops forever (back in recvfrom, not reading stdin):
    // stop it.
    drop(typed);
    let (_, printed, _) = seed.signal_and_wait(nix::sys::signal::Signal::SIGTERM);
    assert!(printed.contains("来自客户端的信息:>>> 你好"), "{printed}");
    assert!(printed.contains("来自客户端的信息:>>> 我走了"), "{printed}");
}

#[test]
fn the_seeds_1024_byte_buffer_truncates_a_long_reply() {
    if !tool("python3") {
        return;
    }
    let server = server(&[]);
    // 400 × 3 bytes: the acknowledgement is 1236 bytes; the seed's
    // recvfrom(1024) keeps 1024 of them and cuts a character in half, so its
    // decode('utf-8') crashes. Our own client receives all of it.
    let long = "数".repeat(400) + "\n";
    let out = run(
        python("seed001_udp_client.py").arg(server.port()),
        long.as_bytes(),
    );
    assert!(out.stderr.contains("UnicodeDecodeError"), "{out:?}");
    let ours = client(&server.port(), &[], long.as_bytes());
    assert!(ours.status.success(), "{ours:?}");
    assert!(
        ours.stdout.contains("recvfrom(65536) -> 1236 bytes"),
        "{}",
        ours.stdout
    );
}

#[test]
fn socat_as_the_client() {
    if !tool("socat") {
        return;
    }
    let server = server(&[]);
    let mut socat = Server::spawn(
        Command::new("socat").args(["-".to_string(), format!("UDP:127.0.0.1:{}", server.port())]),
    );
    use std::io::Write;
    let mut input = socat.stdin.take().unwrap();
    input.write_all(b"hello from socat\n").unwrap();
    input.flush().unwrap();
    // No sleeps, no socat timeout: we wait for the reply line itself.
    socat.wait_for(&format!("{ACK}hello from socat"));
    input.write_all("第二行\n".as_bytes()).unwrap();
    input.flush().unwrap();
    socat.wait_for(&format!("{ACK}第二行"));
}

#[test]
fn our_client_talks_to_a_socat_echo_server() {
    if !tool("socat") {
        return;
    }
    // UDP-LISTEN on port 0 prints the port the kernel chose ("listening on
    // UDP AF=2 127.0.0.1:PORT", on stderr with -d -d): no port to reserve,
    // no race. After the first datagram socat talks to that one peer only.
    let mut socat = Server::spawn(Command::new("sh").args([
        "-c",
        "exec socat -d -d UDP-LISTEN:0,bind=127.0.0.1 EXEC:cat 2>&1",
    ]));
    let line = socat.wait_for("listening on UDP");
    let port = line.rsplit(':').next().unwrap().trim().to_string();
    let out = client(&port, &[], "one\n你好\n".as_bytes());
    assert!(out.status.success(), "{out:?}");
    assert!(
        out.stdout.contains(r#"-> 3 bytes from 127.0.0.1:"#),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains(r#": "one""#), "{}", out.stdout);
    assert!(out.stdout.contains(r#": "你好""#), "{}", out.stdout);
}

// ---------------------------------------------------------------------------
// What UDP is
// ---------------------------------------------------------------------------

#[test]
fn two_clients_in_flight_at_once_each_get_their_own_reply() {
    let server = server(&["--max-datagrams", "4"]);
    let (a, b) = (udp(), udp());
    // Both send before either reads: two datagrams from two addresses wait
    // in the one server socket's queue, with no connection to tell them apart.
    a.send_to("A1".as_bytes(), server.addr()).unwrap();
    b.send_to("B1".as_bytes(), server.addr()).unwrap();
    a.send_to("A2".as_bytes(), server.addr()).unwrap();
    b.send_to("B2".as_bytes(), server.addr()).unwrap();
    let mut buf = [0u8; 1024];
    for (sock, mine) in [(&b, ["B1", "B2"]), (&a, ["A1", "A2"])] {
        for word in mine {
            let (n, from) = sock.recv_from(&mut buf).unwrap();
            assert_eq!(from, server.addr());
            assert_eq!(
                std::str::from_utf8(&buf[..n]).unwrap(),
                format!("{ACK}{word}")
            );
        }
    }
    let (status, printed, _) = server.wait();
    assert!(status.success(), "{printed}");
    assert!(printed.contains("answered 4 datagram(s)"), "{printed}");
}

#[test]
fn three_sends_are_three_receives() {
    let server = server(&["--max-datagrams", "3"]);
    let sock = udp();
    for word in ["one", "two", "three"] {
        sock.send_to(word.as_bytes(), server.addr()).unwrap();
    }
    let mut buf = [0u8; 1024];
    for word in ["one", "two", "three"] {
        let (n, _) = sock.recv_from(&mut buf).unwrap();
        assert_eq!(
            std::str::from_utf8(&buf[..n]).unwrap(),
            format!("{ACK}{word}")
        );
    }
    let (_, printed, _) = server.wait();
    for (n, word) in [(3, "one"), (3, "two"), (5, "three")] {
        assert!(
            printed.contains(&format!("recvfrom(65536) -> {n} bytes from ")),
            "{printed}"
        );
        assert!(printed.contains(&format!(r#": "{word}""#)), "{printed}");
    }
    assert!(!printed.contains("onetwo"), "{printed}");
}

#[test]
fn the_demo_shows_truncation_and_its_detection() {
    let out = demo_output(BIN);
    assert!(out.contains("recvfrom(1024) -> 1024 bytes"), "{out}");
    assert!(out.contains("recv(1024, MSG_TRUNC) -> 1500"), "{out}");
    assert!(out.contains("476 bytes were lost"), "{out}");
    assert!(out.contains(r#": "next""#), "{out}");
}

#[test]
fn a_connected_client_hears_connection_refused() {
    let (_holder, port) = closed_udp_port();
    // The timeout is far longer than the test's patience: only the ICMP
    // error, not the timeout, can end this client in time.
    let out = client(&port, &["--connect", "--timeout", "60"], b"anyone?\n");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.contains("port unreachable"), "{}", out.stdout);
    assert!(out.stderr.contains("[ECONNREFUSED]"), "{}", out.stderr);
    assert!(!out.stdout.contains("no reply"), "{}", out.stdout);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}

#[test]
fn an_unconnected_client_is_never_told_and_times_out() {
    let (_holder, port) = closed_udp_port();
    let out = client(&port, &["--timeout", "0.2"], b"anyone?\nstill there?\n");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    // Both messages were sent and both waited: a lost reply does not stop
    // the client, it says so and goes on.
    assert_eq!(
        out.stdout.matches("no reply from").count(),
        2,
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("UDP never re-sends"), "{}", out.stdout);
    assert!(out.stdout.contains("try --connect"), "{}", out.stdout);
    assert!(
        out.stderr.contains("2 message(s) got no reply"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_datagram_from_a_stranger_is_not_taken_for_the_reply() {
    // A fake server we control, so we can let a stranger speak first.
    let fake = udp();
    let mut ours = Server::spawn(Command::new(BIN).args([
        "client",
        "--port",
        &fake.local_addr().unwrap().port().to_string(),
    ]));
    use std::io::Write;
    let mut input = ours.stdin.take().unwrap();
    input.write_all(b"hi\n").unwrap();
    let mut buf = [0u8; 64];
    let (_, client_addr) = fake.recv_from(&mut buf).unwrap();
    let stranger = udp();
    stranger.send_to(b"spoofed", client_addr).unwrap();
    fake.send_to(b"real reply", client_addr).unwrap();
    ours.wait_for(r#""real reply""#);
    drop(input);
    let (status, printed, _) = ours.wait();
    assert!(status.success(), "{printed}");
    assert!(printed.contains("not from the server"), "{printed}");
    assert!(printed.contains(": ignored"), "{printed}");
}

/// Bytes waiting in the receive queue of the UDP socket bound to `port`
/// (any address), as /proc/net/udp reports them.
fn queued_bytes(port: u16) -> Option<u64> {
    let table = std::fs::read_to_string("/proc/net/udp").ok()?;
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let local_port = fields.get(1)?.rsplit(':').next()?;
        if u16::from_str_radix(local_port, 16).ok()? != port {
            return None;
        }
        let rx = fields.get(4)?.split(':').nth(1)?;
        u64::from_str_radix(rx, 16).ok()
    })
}

#[test]
fn a_late_reply_is_discarded_not_taken_for_the_next_answer() {
    let fake = udp();
    let mut ours = Server::spawn(Command::new(BIN).args([
        "client",
        "--timeout",
        "0.2",
        "--port",
        &fake.local_addr().unwrap().port().to_string(),
    ]));
    use std::io::Write;
    let mut input = ours.stdin.take().unwrap();
    input.write_all(b"first\n").unwrap();
    let mut buf = [0u8; 64];
    let (_, client_addr) = fake.recv_from(&mut buf).unwrap();
    // Answer only after the client has given up on "first".
    ours.wait_for("no reply from");
    fake.send_to(b"late answer to first", client_addr).unwrap();
    // Wait until the late datagram sits in the client's queue (a condition
    // we can observe, not a sleep), then let the client go on.
    let deadline = std::time::Instant::now() + PATIENCE;
    while queued_bytes(client_addr.port()).unwrap_or(0) == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the late reply never got queued"
        );
        std::thread::yield_now();
    }
    input.write_all(b"second\n").unwrap();
    let (n, _) = fake.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"second");
    fake.send_to(b"answer to second", client_addr).unwrap();
    ours.wait_for(r#""answer to second""#);
    drop(input);
    let (status, printed, _) = ours.wait();
    // One message went unanswered in time: the exit status says so.
    assert_eq!(status.code(), Some(1), "{printed}");
    let late = printed.find("a late reply").expect(&printed);
    let second = printed.find(r#"sendto("second""#).expect(&printed);
    assert!(late < second, "{printed}");
}

// ---------------------------------------------------------------------------
// Bad input: the server answers or reports, and keeps serving
// ---------------------------------------------------------------------------

#[test]
fn an_empty_datagram_is_answered_not_taken_for_a_hangup() {
    let server = server(&["--max-datagrams", "2"]);
    let sock = udp();
    let (reply, _) = ask(&sock, server.addr(), b"");
    assert_eq!(String::from_utf8(reply).unwrap(), ACK);
    let (reply, _) = ask(&sock, server.addr(), b"still here");
    assert_eq!(
        String::from_utf8(reply).unwrap(),
        format!("{ACK}still here")
    );
    let (status, printed, _) = server.wait();
    assert!(status.success(), "{printed}");
    assert!(printed.contains("recvfrom(65536) -> 0 bytes"), "{printed}");
    assert!(printed.contains("0 bytes is not end-of-file"), "{printed}");
}

#[test]
fn the_largest_datagram_gets_a_trimmed_acknowledgement() {
    let server = server(&["--max-datagrams", "2"]);
    let sock = udp();
    let largest = vec![b'x'; 65_507];
    let (reply, _) = ask(&sock, server.addr(), &largest);
    // The acknowledgement fills one datagram exactly and says it was cut.
    assert_eq!(reply.len(), 65_507);
    let reply = String::from_utf8(reply).unwrap();
    assert!(reply.starts_with(&format!("{ACK}xxx")));
    assert!(reply.ends_with("x…"));
    let (reply, _) = ask(&sock, server.addr(), b"next");
    assert_eq!(String::from_utf8(reply).unwrap(), format!("{ACK}next"));
    let (status, printed, _) = server.wait();
    assert!(status.success(), "{printed}");
    assert!(
        printed.contains("recvfrom(65536) -> 65507 bytes"),
        "{printed}"
    );
    assert!(
        printed.contains("echoing only the first 65468 bytes"),
        "{printed}"
    );
}

#[test]
fn an_acknowledgement_never_splits_a_character_when_trimmed() {
    let server = server(&["--max-datagrams", "1"]);
    let sock = udp();
    // 21,835 × 3 bytes = 65,505 bytes of 数: the cut lands inside a character
    // unless the server cuts at a character boundary.
    let big = "数".repeat(21_835);
    let (reply, _) = ask(&sock, server.addr(), big.as_bytes());
    assert!(reply.len() <= 65_507);
    let reply = String::from_utf8(reply).expect("the trimmed reply is valid UTF-8");
    assert!(reply.ends_with("数…"), "{}", &reply[reply.len() - 12..]);
    let (status, _, _) = server.wait();
    assert!(status.success());
}

#[test]
fn invalid_utf8_is_shown_lossily_and_answered() {
    let server = server(&["--max-datagrams", "2"]);
    let sock = udp();
    let (reply, _) = ask(&sock, server.addr(), b"caf\xe9 \xff");
    assert_eq!(String::from_utf8(reply).unwrap(), format!("{ACK}caf� �"));
    let (reply, _) = ask(&sock, server.addr(), "好".as_bytes());
    assert_eq!(String::from_utf8(reply).unwrap(), format!("{ACK}好"));
    let (status, printed, _) = server.wait();
    assert!(status.success(), "{printed}");
    assert!(printed.contains(r"b'caf\xe9 \xff'"), "{printed}");
    assert!(printed.contains("2 invalid UTF-8 sequence(s)"), "{printed}");
}

#[test]
fn our_client_refuses_empty_lines_and_sends_invalid_utf8_as_it_is() {
    let server = server(&["--max-datagrams", "2"]);
    let out = client(&server.port(), &[], b"\n   \ncaf\xe9\nok\n");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        out.stdout.matches("当前不能为空").count(),
        2,
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("not valid UTF-8"), "{}", out.stdout);
    assert!(
        out.stdout.contains(&format!(r#""{ACK}caf�""#)),
        "{}",
        out.stdout
    );
    let (status, printed, _) = server.wait();
    assert!(status.success(), "{printed}");
    // Exactly two datagrams reached the server: the blank lines never left.
    assert_eq!(printed.matches("recvfrom(65536)").count(), 2, "{printed}");
}

#[test]
fn our_client_explains_a_line_too_long_for_one_datagram_and_goes_on() {
    let server = server(&["--max-datagrams", "1"]);
    let mut input = vec![b'x'; 65_508];
    input.extend_from_slice(b"\nshort\n");
    let out = client(&server.port(), &[], &input);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.contains("[EMSGSIZE]"), "{}", out.stdout);
    assert!(out.stdout.contains("nothing was sent"), "{}", out.stdout);
    assert!(
        out.stdout.contains(&format!(r#""{ACK}short""#)),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.contains("too long for one datagram"),
        "{}",
        out.stderr
    );
    let (status, _, _) = server.wait();
    assert!(status.success());
}

#[test]
fn typed_replies_end_cleanly_when_stdin_ends() {
    let mut server = server(&["--reply-from-stdin"]);
    drop(server.stdin.take());
    let sock = udp();
    sock.send_to(b"hello?", server.addr()).unwrap();
    let (status, printed, _) = server.wait();
    assert!(status.success(), "{printed}");
    assert!(printed.contains("stdin ended"), "{printed}");
}

#[test]
fn the_server_stops_cleanly_on_ctrl_c() {
    let server = server(&[]);
    let (status, printed, _) = server.signal_and_wait(nix::sys::signal::Signal::SIGINT);
    assert!(status.success(), "{printed}");
    assert!(printed.contains("stopped cleanly"), "{printed}");
}

#[test]
fn port_already_in_use_is_explained() {
    let holder = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port().to_string();
    let out = run(Command::new(BIN).args(["server", "--port", &port]), b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stderr.contains("[EADDRINUSE]"), "{}", out.stderr);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}

#[test]
fn a_bad_timeout_is_refused_with_a_reason() {
    let out = client("9", &["--timeout", "0"], b"x\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stderr.contains("not a positive number of seconds"),
        "{}",
        out.stderr
    );
}

#[test]
fn ipv6_loopback_works() {
    if UdpSocket::bind("[::1]:0").is_err() {
        eprintln!("*** SKIPPED: this machine has no IPv6 loopback ***");
        return;
    }
    let server = Server::start(Command::new(BIN).args([
        "server",
        "--host",
        "::1",
        "--port",
        "0",
        "--max-datagrams",
        "1",
    ]));
    assert!(server.addr().is_ipv6());
    let out = client(&server.port(), &["--host", "::1"], b"hello v6\n");
    assert!(out.status.success(), "{out:?}");
    assert!(out.stdout.contains("AF_INET6"), "{}", out.stdout);
    assert!(
        out.stdout.contains(&format!(r#""{ACK}hello v6""#)),
        "{}",
        out.stdout
    );
    let (status, _, _) = server.wait();
    assert!(status.success());
}
