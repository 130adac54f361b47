//! # Lesson 09: socket options and socket names
//!
//! Seeds 001 and 002 list four calls without showing them at work:
//! `getsockopt`/`setsockopt` read and change a socket's *options* (knobs the
//! kernel keeps per socket), and `getsockname`/`getpeername` ask for the two
//! *names* of a connection: this end's address and port, and the other end's.
//! This lesson puts each to a use you will meet in real life:
//!
//! * **Both ends' names.** A connection is four numbers: two addresses, two
//!   ports. The client's `getsockname()` is the server's `getpeername()` and
//!   the other way round: the four answers pair up crosswise.
//! * **Options.** `SO_RCVBUF`/`SO_SNDBUF` (the kernel *doubles* what you ask
//!   for), `TCP_NODELAY` (send small writes at once), `SO_KEEPALIVE` (probe a
//!   silent peer).
//! * **"Address already in use".** Stop a server and start it again at once:
//!   its last connections are still in `TIME_WAIT`, holding the port, and the
//!   new `bind()` fails with EADDRINUSE — unless `SO_REUSEADDR` was set on
//!   the old socket *and* the new one. Most servers set it; Python does not
//!   by default (`server.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)`), Rust's
//!   `TcpListener::bind` does.
//! * **Host names.** Seed 002's server binds `socket.gethostname()`. A name
//!   resolves (getaddrinfo) to one address or several, and on Debian your
//!   own host name maps to 127.0.1.1, not 127.0.0.1: a client that dials
//!   127.0.0.1 is refused. A client should try every address in turn.
//! * **IPv6 dual stack.** One socket on `::` with `IPV6_V6ONLY` off also
//!   accepts IPv4 clients, who appear as `::ffff:127.0.0.1`.

use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use socket_lessons::cli::{NetArgs, Ready, ServerArgs, WRITE_TIMEOUT};
use socket_lessons::explain::{Failure, one_line};
use socket_lessons::framing::LineReader;
use socket_lessons::signals::stop_cleanly_on_signals;
use socket_lessons::text::{bytes_repr, quoted};
use socket_lessons::transcript::{self, Causality, Link, Speaker};
use socket_lessons::{Context, Result, demo, finish};
use socket2::{Domain, SockRef, Socket, TcpKeepalive, Type};

/// Lesson 09: socket options and names — getsockopt/setsockopt,
/// getsockname/getpeername; SO_REUSEADDR and "Address already in use" after
/// TIME_WAIT; buffer sizes, TCP_NODELAY, SO_KEEPALIVE; what your host name
/// resolves to; an IPv6 dual-stack listener.
///
/// With no subcommand, runs the demo: servers and clients in one process.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the demo in one process and print what both ends saw (the default).
    Demo,
    /// Tell each client both ends' names, show the options in force, hang up first.
    Server {
        #[command(flatten)]
        server: ServerArgs,
        /// Do not set SO_REUSEADDR: stop the server after a client, start it
        /// again at once, and meet "Address already in use".
        #[arg(long)]
        no_reuseaddr: bool,
        /// Bind the address your host name resolves to, as seed 002's server
        /// does with `socket.gethostname()` (instead of --host).
        #[arg(long)]
        bind_hostname: bool,
    },
    /// For each line of stdin: connect (trying every address the host name
    /// resolves to), send the line, print what the server says about us.
    Client {
        #[command(flatten)]
        net: NetArgs,
    },
}

fn main() -> ExitCode {
    finish(match Cli::parse().command.unwrap_or(Command::Demo) {
        Command::Demo => run_demo(),
        Command::Server {
            server,
            no_reuseaddr,
            bind_hostname,
        } => run_server(&server, !no_reuseaddr, bind_hostname),
        Command::Client { net } => run_client(&net),
    })
}

/// The longest line a client may send; this server wants a short hello.
const MAX_LINE: usize = 1024;

/// What the demo's client asks the kernel for: 64 KiB each way.
const BUFFER_SIZE: usize = 64 * 1024;

fn run_demo() -> Result<()> {
    let localhost = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));

    transcript::note("1. both ends' names, and a few options");
    demo::run(
        move |ready| {
            let say = transcript::server();
            let listener = std_listener(localhost, &say)?;
            let local = listener.local_addr().context("getsockname()")?;
            ready.listening(&say, local, "");
            serve_one_client(&listener, &ServerArgs::default(), &say).map(|_| ())
        },
        |server| ask_who_we_are(&[server], "hello", Detail::Full, &transcript::client()),
    )?;

    transcript::note("2. restart a server while its last connection is in TIME_WAIT");
    for old_reuse in [false, true] {
        demo::run(
            move |ready| restart_after_time_wait(old_reuse, ready),
            |server| ask_who_we_are(&[server], "hello", Detail::Brief, &transcript::client()),
        )?;
    }

    transcript::note("3. host names: a server bound to the address its name resolves to");
    demo::run(serve_on_a_debian_hostname_address, |server| {
        dial_loopback_then_every_address(server)
    })?;

    transcript::note("4. IPv6: one socket on :: for both families, or IPv6 only");
    if TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).is_err() {
        transcript::note("this machine has no IPv6 loopback (::1): skipping part 4");
    } else {
        for v6only in [false, true] {
            demo::run(
                move |ready| serve_once_on_all_ipv6_addresses(v6only, ready),
                |server: SocketAddr| {
                    // The server listens on [::]:P. An IPv4 client dials
                    // 127.0.0.1:P; if that is refused, [::1]:P.
                    let v4 = SocketAddr::from((Ipv4Addr::LOCALHOST, server.port()));
                    let v6 = SocketAddr::from((Ipv6Addr::LOCALHOST, server.port()));
                    ask_who_we_are(&[v4, v6], "hello", Detail::Names, &transcript::client())
                },
            )?;
        }
    }

    demo::by_hand(env!("CARGO_BIN_NAME"), "--max-clients 1", "");
    transcript::note(
        "then start the server again at once with --no-reuseaddr: Address already in use",
    );
    transcript::note("  (`ss -tan state time-wait` shows the connection that holds the port)");
    transcript::note(format!(
        "and try seed 002's way: `cargo run --bin {} -- server --bind-hostname`",
        env!("CARGO_BIN_NAME")
    ));
    Ok(())
}

// ---------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------

/// The `server` subcommand: the accept loop.
fn run_server(args: &ServerArgs, reuse: bool, bind_hostname: bool) -> Result<()> {
    let say = transcript::server();
    stop_cleanly_on_signals(&say, || {})?;
    let (addr, hostname) = if bind_hostname {
        let (addr, name) = resolve_own_hostname(args.net.port, &say)?;
        (addr, Some(name))
    } else {
        (args.net.server_addr()?, None)
    };
    let listener = match open_listener(addr, reuse, &say) {
        Ok(listener) => listener,
        Err(failure) => {
            if failure.error.kind() == io::ErrorKind::AddrInUse {
                explain_what_holds_the_port(addr, &say);
            }
            return Err(failure);
        }
    };
    let local = listener.local_addr().context("getsockname()")?;
    let client_args = match hostname {
        Some(name) => format!("--host {name} --port {}", local.port()),
        None => socket_lessons::cli::client_args_for(local),
    };
    Ready::by_hand(env!("CARGO_BIN_NAME")).listening(&say, local, &client_args);

    let mut served = 0;
    while !args.done_after(served) {
        served += 1;
        // One client's trouble ends that conversation only.
        if let Err(failure) = serve_one_client(&listener, args, &say) {
            say.warn(format!("client #{served}: {}", one_line(&failure)));
        }
    }
    say.say(format!(
        "served {served} clients; closing the listening socket"
    ));
    Ok(())
}

// ANCHOR: open_listener
/// socket, setsockopt(SO_REUSEADDR), bind, listen — with socket2, which
/// (unlike std's `TcpListener::bind`) lets us choose the option.
fn open_listener(addr: SocketAddr, reuse: bool, say: &Speaker) -> Result<TcpListener> {
    // Python: server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None).context("socket()")?;
    // Python: server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    // It must be set *before* bind: bind is where the kernel checks it.
    socket
        .set_reuse_address(reuse)
        .context("setsockopt(SO_REUSEADDR)")?;
    // On `::`, accept IPv4 clients too (dual stack, as Python's
    // create_server(addr, dualstack_ipv6=True) does), whatever the system
    // default in /proc/sys/net/ipv6/bindv6only says. Part 4 of the demo.
    if addr.is_ipv6() && addr.ip().is_unspecified() {
        socket
            .set_only_v6(false)
            .context("setsockopt(IPV6_V6ONLY)")?;
    }
    // Python: server.bind(addr); server.listen(5)
    socket.bind(&addr.into()).context(format!("bind {addr}"))?;
    socket.listen(5).context("listen(5)")?;
    say.say(format!(
        "socket(); setsockopt(SO_REUSEADDR, {}); bind({addr}); listen(5)",
        reuse as u8
    ));
    Ok(socket.into())
}
// ANCHOR_END: open_listener

// ANCHOR: std_listener
/// std's one-call listener, and the option it set without being asked.
fn std_listener(addr: SocketAddr, say: &Speaker) -> Result<TcpListener> {
    let listener = TcpListener::bind(addr).context(format!("bind {addr}"))?;
    // Python: server.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)
    // SockRef lends socket2's option methods to any socket, std's included.
    let reuse = SockRef::from(&listener)
        .reuse_address()
        .context("getsockopt(SO_REUSEADDR)")?;
    say.say(format!(
        "TcpListener::bind({addr}); getsockopt(SO_REUSEADDR) -> {}: std set it for us",
        reuse as u8
    ));
    Ok(listener)
}
// ANCHOR_END: std_listener

// ANCHOR: serve_one_client
/// Accept one client, show both ends' names and the options in force, read
/// its line, tell it who it is — and hang up first. Returns the link the
/// client will close (its address, ours), for whoever waits for that.
fn serve_one_client(listener: &TcpListener, args: &ServerArgs, say: &Speaker) -> Result<Link> {
    // Python: conn, addr = server.accept()
    // accept() already returns the peer's name: it is getpeername().
    let (conn, peer) = listener.accept().context("accept()")?;
    // Python: conn.getsockname()
    // The accepted socket has the listener's address and port: a port is
    // not "used up" by a connection, it is shared by all of them.
    let me = conn.local_addr().context("getsockname()")?;
    say.accepted(
        &conn,
        format!("accept() -> getpeername() {peer}, getsockname() {me}"),
    );
    conn.set_read_timeout(Some(args.idle_timeout()))
        .context("set the idle timeout")?;
    conn.set_write_timeout(Some(WRITE_TIMEOUT))
        .context("set the write timeout")?;

    // The options an accepted socket starts with. SO_REUSEADDR is copied
    // from the listener, and the connection keeps it into TIME_WAIT.
    let sock = SockRef::from(&conn);
    say.say(format!(
        "options in force: SO_REUSEADDR {} (from the listener), TCP_NODELAY {}, SO_KEEPALIVE {}",
        on_off(sock.reuse_address().context("getsockopt(SO_REUSEADDR)")?),
        on_off(sock.tcp_nodelay().context("getsockopt(TCP_NODELAY)")?),
        on_off(sock.keepalive().context("getsockopt(SO_KEEPALIVE)")?),
    ));

    // Read the client's line before answering: closing a socket with unread
    // bytes would send a reset instead of a clean goodbye.
    let mut lines = LineReader::new(&conn, MAX_LINE);
    match lines.read_line().context("recv a line")? {
        Some(line) => say.received(
            &conn,
            line.len() + 1,
            format!("recv -> {}", bytes_repr(&[&line[..], b"\n"].concat())),
        ),
        None => say.hung_up(&conn, "recv -> 0 bytes: the client hung up without a word"),
    }

    let reply = format!("you are {peer}; I am {me}\n");
    (&conn)
        .write_all(reply.as_bytes())
        .context("send the reply")?;
    say.sent(
        &conn,
        reply.len(),
        // Shown whole: an IPv6 reply is longer than `quoted` shows.
        format!("send {:?}", reply.trim_end()),
    );

    // The side that closes first is the one that waits in TIME_WAIT
    // afterwards (about a minute), holding this address and port.
    let link = (transcript_name(peer), transcript_name(me));
    say.closing(&conn, "close() first: TIME_WAIT will be on this side");
    drop(conn);
    Ok(link)
}
// ANCHOR_END: serve_one_client

// ANCHOR: time_wait
/// Serve one client and stop; then try to start again on the same port,
/// with and without SO_REUSEADDR on the new socket.
fn restart_after_time_wait(old_reuse: bool, ready: Ready<SocketAddr>) -> Result<()> {
    let say = transcript::server();
    let listener = open_listener(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), old_reuse, &say)?;
    let addr = listener.local_addr().context("getsockname()")?;
    ready.listening(&say, addr, "");
    let client_side = serve_one_client(&listener, &ServerArgs::default(), &say)?;
    drop(listener);

    // The client's close completes the goodbye; only then is our side in
    // TIME_WAIT. We watch for it in /proc/net/tcp (what `ss` reads).
    let (local, remote) = wait_for_time_wait(addr)?;
    say.event(
        format!("/proc/net/tcp: {local} -> {remote} state 06 = TIME_WAIT; the listener is closed"),
        Causality::NeedsClose(client_side),
    );

    // The restart: a new socket, the same address.
    for new_reuse in [false, true] {
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None).context("socket()")?;
        socket
            .set_reuse_address(new_reuse)
            .context("setsockopt(SO_REUSEADDR)")?;
        // Python: server.bind(('127.0.0.1', port)) -> OSError: [Errno 98]
        let outcome = match socket.bind(&addr.into()) {
            Ok(()) => "ok: the server can start again".to_string(),
            Err(e) => Failure::from(e).to_string(),
        };
        say.say(format!(
            "restart: SO_REUSEADDR {} before, {} now: bind({addr}) -> {outcome}",
            on_off(old_reuse),
            on_off(new_reuse),
        ));
    }
    if old_reuse {
        say.note("both sockets agreed to share the port with TIME_WAIT connections: allowed");
    } else {
        say.note("the TIME_WAIT connection kept the old setting (off), so it refuses to share, whatever the new socket says");
    }
    Ok(())
}

/// Poll /proc/net/tcp until a connection on `addr` is in TIME_WAIT. The
/// client's close is on its way when we start; the wait is bounded.
fn wait_for_time_wait(addr: SocketAddr) -> Result<(SocketAddr, SocketAddr)> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let found = tcp_table()
            .context("read /proc/net/tcp")?
            .into_iter()
            .find(|c| c.local == addr && c.state == TIME_WAIT);
        if let Some(c) = found {
            return Ok((c.local, c.remote));
        }
        if Instant::now() > deadline {
            return Err(Failure::new(
                format!("wait for {addr} to enter TIME_WAIT"),
                io::ErrorKind::TimedOut,
                "it did not within 5 seconds",
            ));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}
// ANCHOR_END: time_wait

/// The TCP state number /proc/net/tcp uses for TIME_WAIT.
const TIME_WAIT: u8 = 0x06;

/// One row of /proc/net/tcp (IPv4 connections and listeners).
struct TcpRow {
    local: SocketAddr,
    remote: SocketAddr,
    state: u8,
}

/// Parse /proc/net/tcp: `sl local_address rem_address st ...`, addresses as
/// `0100007F:1F90` (the IPv4 address in the kernel's byte order, the port in
/// hex).
fn tcp_table() -> io::Result<Vec<TcpRow>> {
    let text = std::fs::read_to_string("/proc/net/tcp")?;
    let parse_addr = |field: &str| -> Option<SocketAddr> {
        let (ip, port) = field.split_once(':')?;
        let ip = u32::from_str_radix(ip, 16).ok()?;
        let port = u16::from_str_radix(port, 16).ok()?;
        Some(SocketAddr::from((Ipv4Addr::from(ip.to_ne_bytes()), port)))
    };
    Ok(text
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            Some(TcpRow {
                local: parse_addr(f.get(1)?)?,
                remote: parse_addr(f.get(2)?)?,
                state: u8::from_str_radix(f.get(3)?, 16).ok()?,
            })
        })
        .collect())
}

/// After "Address already in use": say whether TIME_WAIT is the reason.
fn explain_what_holds_the_port(addr: SocketAddr, say: &Speaker) {
    let waiting = tcp_table()
        .unwrap_or_default()
        .into_iter()
        .filter(|c| c.local.port() == addr.port() && c.state == TIME_WAIT)
        .count();
    if waiting > 0 {
        say.note(format!(
            "{waiting} connection(s) on port {} are in TIME_WAIT (a previous run closed them first); \
             they hold the port for about a minute unless both the old and the new socket set SO_REUSEADDR",
            addr.port()
        ));
    }
}

// ---------------------------------------------------------------------------
// Host names
// ---------------------------------------------------------------------------

// ANCHOR: hostname
/// Seed 002: `host = socket.gethostname(); s.bind((host, port))`.
fn resolve_own_hostname(port: u16, say: &Speaker) -> Result<(SocketAddr, String)> {
    // Python: socket.gethostname() -- the gethostname(2) system call.
    let name = nix::unistd::gethostname()
        .context("gethostname()")?
        .to_string_lossy()
        .into_owned();
    say.say(format!("gethostname() -> {}", quoted(&name)));
    // Python: socket.getaddrinfo(host, port) -- what bind((host, port)) does
    // inside. In Rust, ToSocketAddrs calls getaddrinfo.
    let net = NetArgs {
        host: name.clone(),
        port,
    };
    let addrs = net.addrs()?;
    for addr in &addrs {
        say.say(format!("getaddrinfo({}) -> {}", quoted(&name), addr.ip()));
    }
    // A Python socket() is AF_INET, so bind((host, port)) takes the first
    // IPv4 address: do the same.
    let addr = addrs
        .iter()
        .find(|a| a.is_ipv4())
        .copied()
        .unwrap_or(addrs[0]);
    let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    if addrs.iter().any(|a| a.ip() == loopback.ip()) {
        say.note("127.0.0.1 is among them: a client that dials 127.0.0.1 reaches this server");
    } else {
        say.note(format!(
            "127.0.0.1 is not among them: a client that dials 127.0.0.1 is refused; dial {name:?} instead"
        ));
    }
    Ok((addr, name))
}
// ANCHOR_END: hostname

/// Part 3 of the demo. On Debian, /etc/hosts maps the host name to
/// 127.0.1.1, so seed 002's server ends up there. Every 127.x.y.z address
/// is this machine's loopback on Linux, so we can bind it anywhere.
fn serve_on_a_debian_hostname_address(ready: Ready<SocketAddr>) -> Result<()> {
    let say = transcript::server();
    say.note("on Debian, /etc/hosts maps your host name to 127.0.1.1: bind that, as seed 002's server would there");
    // Keep 127.0.0.1 on the same port bound but *not listening*, so that
    // nothing else can answer there while the demo runs: a connect to it is
    // refused for certain.
    let (held, listener) = hold_loopback_and(|port| {
        open_listener(
            SocketAddr::from((Ipv4Addr::new(127, 0, 1, 1), port)),
            true,
            &say,
        )
    })?;
    let addr = listener.local_addr().context("getsockname()")?;
    ready.listening(&say, addr, "");
    serve_one_client(&listener, &ServerArgs::default(), &say)?;
    drop(held);
    Ok(())
}

/// Bind 127.0.0.1 on a free port P *without listening* (a connect there
/// is then refused for certain: the port is ours), and `bind_other(P)`.
/// Another program may hold the other address on that port number: then
/// try another port, a few times.
fn hold_loopback_and<T>(mut bind_other: impl FnMut(u16) -> Result<T>) -> Result<(Socket, T)> {
    let mut last = None;
    for _ in 0..20 {
        let held = Socket::new(Domain::IPV4, Type::STREAM, None).context("socket()")?;
        held.bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into())
            .context("bind 127.0.0.1:0")?;
        let port = held
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .map(|a| a.port())
            .unwrap_or(0);
        match bind_other(port) {
            Ok(other) => return Ok((held, other)),
            Err(f) if f.error.kind() == io::ErrorKind::AddrInUse => last = Some(f),
            Err(f) => return Err(f),
        }
    }
    Err(last.unwrap_or_else(|| Failure::new("find a free port", io::ErrorKind::AddrInUse, "none")))
}

// ANCHOR: every_address
/// Part 3's clients: the seed's way (one address), then every address.
fn dial_loopback_then_every_address(server: SocketAddr) -> Result<()> {
    let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, server.port()));
    let say = Speaker::new("client A");
    say.note("client A dials 127.0.0.1, the address it assumes the server is on");
    if let Err(failure) = ask_who_we_are(&[loopback], "hello", Detail::Brief, &say) {
        say.say(format!("gives up: {failure}"));
    }
    // What getaddrinfo might return for a name: several addresses. Python's
    // socket.create_connection() and std's TcpStream::connect((name, port))
    // both try them in order; client B writes the loop out.
    let say = Speaker::new("client B");
    say.note("client B tries every address the name resolves to, in turn");
    ask_who_we_are(&[loopback, server], "hello", Detail::Brief, &say)
}

/// Connect to the first address that answers, saying what each attempt did.
fn connect_to_any(addrs: &[SocketAddr], say: &Speaker) -> Result<TcpStream> {
    let mut last = None;
    for (i, &addr) in addrs.iter().enumerate() {
        // Python: client = socket.socket(); client.connect(addr)
        // A socket whose connect failed is not reused: each try is new.
        match TcpStream::connect(addr) {
            Ok(stream) => {
                say.connected(&stream, format!("connect({addr}) -> connected"));
                return Ok(stream);
            }
            Err(e) => {
                let failure = Failure::from(e);
                let next = if i + 1 < addrs.len() {
                    "; trying the next address"
                } else {
                    ""
                };
                say.say(format!("connect({addr}) -> {failure}{next}"));
                last = Some(failure.error);
            }
        }
    }
    let doing = match addrs {
        [one] => format!("connect to {one}"),
        _ => format!("connect to any of {} addresses", addrs.len()),
    };
    Err(Failure {
        doing,
        error: last.unwrap_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address")),
    })
}
// ANCHOR_END: every_address

// ---------------------------------------------------------------------------
// IPv6
// ---------------------------------------------------------------------------

// ANCHOR: dual_stack
/// Part 4: a listener on `[::]`, dual-stack (`v6only` false) or IPv6 only.
fn serve_once_on_all_ipv6_addresses(v6only: bool, ready: Ready<SocketAddr>) -> Result<()> {
    let say = transcript::server();
    let (listener, held) = if v6only {
        // 127.0.0.1:P first, bound but not listening (an IPv4 connect there
        // is refused for certain), then [::]:P: an IPv6-only socket does
        // not care who has the IPv4 side of its port.
        let (held, listener) = hold_loopback_and(|port| open_any_ipv6(port, true))?;
        (listener, Some(held))
    } else {
        (open_any_ipv6(0, false)?, None)
    };
    let addr = listener.local_addr().context("getsockname()")?;
    say.say(format!(
        "socket(AF_INET6); setsockopt(IPV6_V6ONLY, {}); bind({addr}); listen(5)",
        v6only as u8
    ));
    say.warn(":: is every address of this machine, reachable from other machines: kept open for one loopback client only");

    let v4 = SocketAddr::from((Ipv4Addr::LOCALHOST, addr.port()));
    if held.is_some() {
        say.say(format!(
            "{v4} is bound too (by us, not listening): no conflict, IPv4 is not this socket's business"
        ));
    } else {
        // Who owns the IPv4 side of the port? Try to take it.
        let probe = Socket::new(Domain::IPV4, Type::STREAM, None).context("socket()")?;
        match probe.bind(&v4.into()) {
            Err(e) => say.say(format!(
                "bind({v4}) -> {}: the dual-stack socket holds the IPv4 port too",
                Failure::from(e)
            )),
            Ok(()) => say.warn(format!("bind({v4}) -> ok: this socket is not dual-stack?")),
        }
    }
    ready.listening(&say, addr, "");
    serve_one_client(&listener, &ServerArgs::default(), &say)?;
    say.say("close() the [::] listener at once");
    drop(listener);
    drop(held);
    Ok(())
}

/// socket(AF_INET6), IPV6_V6ONLY, bind [::]:port, listen.
fn open_any_ipv6(port: u16, v6only: bool) -> Result<TcpListener> {
    let any = SocketAddr::from((Ipv6Addr::UNSPECIFIED, port));
    // Python: s = socket.socket(socket.AF_INET6)
    //         s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    let socket = Socket::new(Domain::IPV6, Type::STREAM, None).context("socket(AF_INET6)")?;
    // The system default is in /proc/sys/net/ipv6/bindv6only; set it
    // explicitly so the program behaves the same everywhere.
    socket
        .set_only_v6(v6only)
        .context("setsockopt(IPV6_V6ONLY)")?;
    socket.bind(&any.into()).context(format!("bind {any}"))?;
    socket.listen(5).context("listen(5)")?;
    Ok(socket.into())
}
// ANCHOR_END: dual_stack

// ---------------------------------------------------------------------------
// The client
// ---------------------------------------------------------------------------

/// The `client` subcommand: one connection per line of stdin.
fn run_client(net: &NetArgs) -> Result<()> {
    let say = transcript::client();
    // Python: socket.getaddrinfo(host, port): every address of the name.
    let addrs = net.addrs()?;
    for addr in &addrs {
        say.say(format!(
            "getaddrinfo({}) -> {}",
            quoted(&net.host),
            addr.ip()
        ));
    }
    if io::stdin().is_terminal() {
        say.note("type a line and press Enter: each line is one connection; Ctrl-D ends");
    }
    let mut detail = Detail::Full;
    for line in io::stdin().lock().lines() {
        let line = line.context("read a line from stdin")?;
        let line = line.trim();
        if line.is_empty() {
            say.warn("empty line not sent: the server waits for a line, so it would never answer");
            continue;
        }
        ask_who_we_are(&addrs, line, detail, &say)?;
        detail = Detail::Names;
    }
    Ok(())
}

/// How much the client shows of each conversation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Detail {
    /// Options, both ends' names, and the comparison with the server's view.
    Full,
    /// Names and the comparison.
    Names,
    /// Just the conversation.
    Brief,
}

// ANCHOR: ask_who_we_are
/// One conversation: connect, (tune options), send a line, read the answer
/// until the server hangs up, (compare names with what the server sees).
fn ask_who_we_are(
    addrs: &[SocketAddr],
    message: &str,
    detail: Detail,
    say: &Speaker,
) -> Result<()> {
    let mut stream = connect_to_any(addrs, say)?;
    if detail == Detail::Full {
        tune_options(&stream, say)?;
    }
    // Python: client.getsockname(), client.getpeername()
    let me = stream.local_addr().context("getsockname()")?;
    let them = stream.peer_addr().context("getpeername()")?;
    if detail != Detail::Brief {
        say.say(format!(
            "getsockname() -> {me} (port {} chosen by the kernel), getpeername() -> {them}",
            me.port()
        ));
    }

    let line = format!("{message}\n");
    stream.write_all(line.as_bytes()).context("send")?;
    say.sent(
        &stream,
        line.len(),
        format!("send {}", bytes_repr(line.as_bytes())),
    );

    // The server answers and hangs up: read until 0 bytes (at most 4 KiB).
    let mut reply = Vec::new();
    (&stream)
        .take(4096)
        .read_to_end(&mut reply)
        .context("recv the reply")?;
    let text = String::from_utf8_lossy(&reply);
    say.received(
        &stream,
        reply.len(),
        format!("recv -> {:?}", text.trim_end()),
    );
    say.hung_up(&stream, "recv -> 0 bytes: the server hung up");

    // "you are A; I am B": the server's getpeername() and getsockname().
    let seen = text
        .trim_end()
        .strip_prefix("you are ")
        .and_then(|rest| rest.split_once("; I am "))
        .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)));
    match seen {
        _ if detail == Detail::Brief => {}
        Some((their_peer, their_name)) => {
            compare("getpeername()", their_peer, "getsockname()", me, say);
            compare("getsockname()", their_name, "getpeername()", them, say);
        }
        None => say.warn("the reply is not \"you are A; I am B\": not this lesson's server?"),
    }

    // Python: client.close()
    say.closing(&stream, "close()");
    let _ = stream.shutdown(Shutdown::Both);
    Ok(())
}

/// One crosswise pair: the server's view of a name against ours.
fn compare(theirs: &str, seen: SocketAddr, ours: &str, mine: SocketAddr, say: &Speaker) {
    let verdict = if seen == mine {
        "the same".to_string()
    } else if SocketAddr::new(seen.ip().to_canonical(), seen.port()) == mine {
        "the same, written as an IPv4-mapped IPv6 address".to_string()
    } else {
        format!("different from {mine}: something between us rewrote it (NAT)")
    };
    say.say(format!("server's {theirs} {seen} = my {ours}: {verdict}"));
}
// ANCHOR_END: ask_who_we_are

// ANCHOR: tune_options
/// setsockopt, then getsockopt to see what the kernel made of it.
fn tune_options(stream: &TcpStream, say: &Speaker) -> Result<()> {
    let sock = SockRef::from(stream);

    // Python: client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    //         client.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    // Linux doubles the value: half is for data, half for its own
    // bookkeeping (man 7 socket). Ideally set before connect, when the
    // window scale is agreed; shrinking afterwards, as here, is safe.
    sock.set_recv_buffer_size(BUFFER_SIZE)
        .context("setsockopt(SO_RCVBUF)")?;
    let rcv = sock.recv_buffer_size().context("getsockopt(SO_RCVBUF)")?;
    sock.set_send_buffer_size(BUFFER_SIZE)
        .context("setsockopt(SO_SNDBUF)")?;
    let snd = sock.send_buffer_size().context("getsockopt(SO_SNDBUF)")?;
    say.say(format!(
        "setsockopt(SO_RCVBUF, {BUFFER_SIZE}); getsockopt -> {rcv}{}",
        doubled(rcv)
    ));
    say.say(format!(
        "setsockopt(SO_SNDBUF, {BUFFER_SIZE}); getsockopt -> {snd}{}",
        doubled(snd)
    ));

    // Python: client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    // Nagle's algorithm holds a small write back while an earlier one is
    // unacknowledged, to send fewer packets; interactive programs turn it off.
    let before = stream.nodelay().context("getsockopt(TCP_NODELAY)")?;
    stream
        .set_nodelay(true)
        .context("setsockopt(TCP_NODELAY)")?;
    let after = sock.tcp_nodelay().context("getsockopt(TCP_NODELAY)")?;
    say.say(format!(
        "TCP_NODELAY {} -> {}: small writes go out at once",
        on_off(before),
        on_off(after)
    ));

    // Python: client.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    // After 60 s of silence the kernel sends probes; a peer that is gone
    // for good then shows up as an error instead of an endless wait.
    let before = sock.keepalive().context("getsockopt(SO_KEEPALIVE)")?;
    sock.set_tcp_keepalive(&TcpKeepalive::new().with_time(Duration::from_secs(60)))
        .context("setsockopt(SO_KEEPALIVE, TCP_KEEPIDLE)")?;
    let idle = sock
        .tcp_keepalive_time()
        .context("getsockopt(TCP_KEEPIDLE)")?;
    say.say(format!(
        "SO_KEEPALIVE {} -> {}, TCP_KEEPIDLE {} s: a silent peer gets probed",
        on_off(before),
        on_off(sock.keepalive().context("getsockopt(SO_KEEPALIVE)")?),
        idle.as_secs()
    ));
    Ok(())
}
// ANCHOR_END: tune_options

fn doubled(got: usize) -> &'static str {
    if got == 2 * BUFFER_SIZE {
        ": the kernel doubled it"
    } else {
        ": not doubled (capped by net.core.rmem_max / wmem_max?)"
    }
}

fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

/// How the transcript names an address (an IPv4-mapped address as the IPv4
/// address it is), so our hand-made links match its own.
fn transcript_name(addr: SocketAddr) -> String {
    let ip: IpAddr = addr.ip().to_canonical();
    SocketAddr::new(ip, addr.port()).to_string()
}
