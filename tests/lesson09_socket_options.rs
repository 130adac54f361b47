//! Lesson 09: socket options and names — the demo snapshot, each behaviour
//! the lesson claims (EADDRINUSE after TIME_WAIT without SO_REUSEADDR,
//! success with it on both sockets, the doubled buffer, the dual-stack mapped
//! address, the V6ONLY refusal, host names), and real peers: Python in the
//! seeds' style, seed 002's gethostname() server, nc and socat.

mod common;

use std::net::{SocketAddr, TcpListener};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_lesson09_socket_options");

fn server(extra: &[&str]) -> Server {
    Server::start(
        Command::new(BIN)
            .args(["server", "--port", "0"])
            .args(extra),
    )
}

fn client(port: &str, host: &str, stdin: &str) -> Output {
    run(
        Command::new(BIN).args(["client", "--host", host, "--port", port]),
        stdin.as_bytes(),
    )
}

fn has_ipv6() -> bool {
    let ok = TcpListener::bind("[::1]:0").is_ok();
    if !ok {
        eprintln!("*** SKIPPED: this machine has no IPv6 loopback ***");
    }
    ok
}

/// Is a connection with local address `addr` in TIME_WAIT (state 06 in
/// /proc/net/tcp)? Polled with a deadline: the peer's FIN may still be on
/// its way through the loopback when the peer process exits.
fn wait_for_time_wait(port: u16) {
    let deadline = Instant::now() + PATIENCE;
    let local = format!("0100007F:{port:04X}");
    loop {
        let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
        if table.lines().any(|l| {
            let f: Vec<_> = l.split_whitespace().collect();
            f.get(1) == Some(&local.as_str()) && f.get(3) == Some(&"06")
        }) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no TIME_WAIT connection on port {port}:\n{table}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn demo_transcript() {
    let out = demo_output(BIN);
    snapshot_settings().bind(|| insta::assert_snapshot!("lesson09_socket_options", out));
}

#[test]
fn demo_shows_each_behaviour_it_claims() {
    let out = demo_output(BIN);
    let has = |needle: &str| assert!(out.contains(needle), "missing {needle:?} in:\n{out}");
    // The kernel doubles a buffer size.
    has("setsockopt(SO_RCVBUF, 65536); getsockopt -> 131072: the kernel doubled it");
    has("setsockopt(SO_SNDBUF, 65536); getsockopt -> 131072: the kernel doubled it");
    has("TCP_NODELAY off -> on");
    has("SO_KEEPALIVE off -> on, TCP_KEEPIDLE 60 s");
    // std's listener set SO_REUSEADDR by itself.
    has("getsockopt(SO_REUSEADDR) -> 1: std set it for us");
    // The four names pair up crosswise.
    assert_eq!(
        out.matches("= my getsockname(): the same").count(),
        3,
        "{out}"
    );
    // TIME_WAIT was seen, and the restart table is pitfall #6.
    assert_eq!(out.matches("state 06 = TIME_WAIT").count(), 2, "{out}");
    let in_use = "Address already in use (os error 98) [EADDRINUSE]";
    for (old, new, ok) in [
        ("off", "off", false),
        ("off", "on", false),
        ("on", "off", false),
        ("on", "on", true),
    ] {
        let prefix = format!("restart: SO_REUSEADDR {old} before, {new} now: bind(");
        let line = out
            .lines()
            .find(|l| l.contains(&prefix))
            .unwrap_or_else(|| panic!("no line {prefix:?} in:\n{out}"));
        if ok {
            assert!(
                line.ends_with("-> ok: the server can start again"),
                "{line}"
            );
        } else {
            assert!(line.ends_with(in_use), "{line}");
        }
    }
    // Host names: dialing 127.0.0.1 is refused, trying every address works.
    has("client A │ connect(127.0.0.1:");
    has("-> Connection refused (os error 111) [ECONNREFUSED]; trying the next address");
    has("client B │ connect(127.0.1.1:");
    if TcpListener::bind("[::1]:0").is_ok() {
        // Dual stack: the IPv4 client is seen as an IPv4-mapped address.
        has("accept() -> getpeername() [::ffff:127.0.0.1]:");
        has("the same, written as an IPv4-mapped IPv6 address");
        has("the dual-stack socket holds the IPv4 port too");
        // V6ONLY: the IPv4 connect is refused, [::1] is served.
        has("bind(127.0.0.1:");
        has("is bound too (by us, not listening): no conflict");
        let v6only = out.split("setsockopt(IPV6_V6ONLY, 1)").nth(1).unwrap();
        assert!(
            v6only.contains("[ECONNREFUSED]; trying the next address")
                && v6only.contains("connect([::1]:"),
            "{v6only}"
        );
    }
}

#[test]
fn restart_during_time_wait_fails_without_reuseaddr() {
    // A server without SO_REUSEADDR serves one client and exits; it closed
    // first, so its side of the connection is now in TIME_WAIT.
    let old = server(&["--no-reuseaddr", "--max-clients", "1"]);
    let port = old.port();
    let out = client(&port, "127.0.0.1", "hello\n");
    assert!(out.status.success(), "{out:?}");
    let (status, printed, _) = old.wait();
    assert!(status.success(), "{printed}");
    assert!(
        printed.contains("SO_REUSEADDR off (from the listener)"),
        "{printed}"
    );
    wait_for_time_wait(port.parse().unwrap());

    // Restarting on that port fails, with or without SO_REUSEADDR now: the
    // TIME_WAIT connection kept the old setting.
    for flags in [&["--no-reuseaddr"][..], &[]] {
        let again = run(
            Command::new(BIN)
                .args(["server", "--port", &port, "--max-clients", "1"])
                .args(flags),
            b"",
        );
        assert_eq!(again.status.code(), Some(1), "{again:?}");
        assert!(again.stderr.contains("[EADDRINUSE]"), "{}", again.stderr);
        assert!(
            again
                .stdout
                .contains("are in TIME_WAIT (a previous run closed them first)"),
            "{}",
            again.stdout
        );
        assert!(!again.stderr.contains("panicked"), "{}", again.stderr);
    }
}

#[test]
fn restart_during_time_wait_works_with_reuseaddr_on_both() {
    let old = server(&["--max-clients", "1"]);
    let port = old.port();
    assert!(client(&port, "127.0.0.1", "hello\n").status.success());
    let (status, _, _) = old.wait();
    assert!(status.success());
    wait_for_time_wait(port.parse().unwrap());

    let new =
        Server::start(Command::new(BIN).args(["server", "--port", &port, "--max-clients", "1"]));
    assert_eq!(new.port(), port);
    let out = client(&port, "127.0.0.1", "again\n");
    assert!(out.status.success(), "{out:?}");
    let (status, _, _) = new.wait();
    assert!(status.success());
}

#[test]
fn names_pair_up_crosswise_with_a_python_client() {
    if !tool("python3") {
        return;
    }
    let mut server = server(&["--max-clients", "1"]);
    let out = run(python("names_client.py").arg(server.port()), b"");
    assert!(out.status.success(), "{out:?}");
    // Python sees the kernel's doubling too.
    assert!(out.stdout.contains("SO_RCVBUF: 131072"), "{}", out.stdout);
    let field = |name: &str| -> String {
        out.stdout
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in {}", out.stdout))
            .trim()
            .to_string()
    };
    let py_name = field("getsockname:");
    let py_peer = field("getpeername:");
    let accepted = server.wait_for("accept() -> ");
    // The server's getpeername() is Python's getsockname() and the other way round.
    assert!(
        accepted.ends_with(&format!("getpeername() {py_name}, getsockname() {py_peer}")),
        "{accepted} vs python {py_name} / {py_peer}"
    );
    assert_eq!(
        field("from_server_msg:"),
        format!("you are {py_name}; I am {py_peer}")
    );
    assert_eq!(py_peer, server.addr().to_string());
}

#[test]
fn our_client_finds_seed002s_hostname_server() {
    if !tool("python3") {
        return;
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string();
    let seed = Server::start(python("seed002_hostname_server.py").arg("0"));
    let out = client(&seed.port(), &host, "hello\n");
    // The client resolved the name, tried its addresses in turn and reached
    // the address the seed's server bound, wherever the name points.
    assert!(
        out.stdout.contains(&format!("getaddrinfo({host:?}) -> ")),
        "{out:?}"
    );
    assert!(
        out.stdout
            .contains(&format!("connect({}) -> connected", seed.addr())),
        "{out:?}"
    );
    // The seed's server never reads what we send: it may reset the
    // connection instead of closing it. Either way it is explained.
    if out.status.success() {
        assert!(out.stdout.contains("This is socket!"), "{}", out.stdout);
        assert!(
            out.stdout.contains("not this lesson's server?"),
            "{}",
            out.stdout
        );
    } else {
        assert!(out.stderr.contains("[ECONNRESET]"), "{}", out.stderr);
    }
}

#[test]
fn bind_hostname_binds_what_the_name_resolves_to() {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string();
    let expected: Vec<SocketAddr> = std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), 0))
        .unwrap()
        .collect();
    let mut srv = Server::start(Command::new(BIN).args([
        "server",
        "--bind-hostname",
        "--port",
        "0",
        "--max-clients",
        "1",
    ]));
    let first_v4 = expected
        .iter()
        .find(|a| a.is_ipv4())
        .unwrap_or(&expected[0]);
    assert_eq!(srv.addr().ip(), first_v4.ip());
    let said = srv.output_so_far();
    assert!(
        said.contains(&format!("gethostname() -> {host:?}")),
        "{said}"
    );
    // The client dials the name and tries each address until one answers.
    let out = client(&srv.port(), &host, "hello\n");
    assert!(out.status.success(), "{out:?}");
    assert!(
        out.stdout.contains("= my getsockname(): the same"),
        "{}",
        out.stdout
    );
    let _ = srv.wait();
}

#[test]
fn client_tries_each_address_and_refuses_empty_lines() {
    // "localhost" may resolve to 127.0.0.1 and ::1; whichever the server
    // is not on is refused and the next one is tried.
    let srv = server(&["--max-clients", "1"]);
    let out = client(&srv.port(), "localhost", "\nhello\n");
    assert!(out.status.success(), "{out:?}");
    assert!(out.stdout.contains("empty line not sent"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains(&format!("connect({}) -> connected", srv.addr())),
        "{}",
        out.stdout
    );
    let (status, printed, _) = srv.wait();
    assert!(status.success());
    assert!(printed.contains(r"recv -> b'hello\n'"), "{printed}");
}

#[test]
fn netcat_as_the_client() {
    if !tool("nc") {
        return;
    }
    let srv = server(&["--max-clients", "1"]);
    let out = run(
        Command::new("nc").args(["-N", "127.0.0.1", &srv.port()]),
        b"hi\n",
    );
    let reply = out.stdout.trim();
    let me = format!("; I am 127.0.0.1:{}", srv.port());
    assert!(
        reply.starts_with("you are 127.0.0.1:") && reply.ends_with(&me),
        "{out:?}"
    );
    let (status, _, _) = srv.wait();
    assert!(status.success());
}

#[test]
fn socat_ipv4_client_meets_a_dual_stack_server_as_a_mapped_address() {
    if !has_ipv6() || !tool("socat") {
        return;
    }
    // `::` is every address of the machine: one client, then the server exits.
    let srv = Server::start(Command::new(BIN).args([
        "server",
        "--host",
        "::",
        "--port",
        "0",
        "--max-clients",
        "1",
    ]));
    let out = run(
        Command::new("socat").args(["-", &format!("TCP4:127.0.0.1:{}", srv.port())]),
        b"hi\n",
    );
    let reply = out.stdout.trim();
    assert!(
        reply.starts_with("you are [::ffff:127.0.0.1]:")
            && reply.ends_with(&format!("; I am [::ffff:127.0.0.1]:{}", srv.port())),
        "{out:?}"
    );
    let (status, printed, _) = srv.wait();
    assert!(status.success());
    assert!(
        printed.contains("binding :: makes this server reachable"),
        "{printed}"
    );
}

#[test]
fn ipv6_loopback_works() {
    if !has_ipv6() {
        return;
    }
    let srv = Server::start(Command::new(BIN).args([
        "server",
        "--host",
        "::1",
        "--port",
        "0",
        "--max-clients",
        "1",
    ]));
    let out = client(&srv.port(), "::1", "hello\n");
    assert!(out.status.success(), "{out:?}");
    assert!(
        out.stdout.contains("getpeername() -> [::1]:"),
        "{}",
        out.stdout
    );
    let _ = srv.wait();
}
