//! # Lesson 06: one echo server, three ways
//!
//! Seed 000 shows the C call under every socket library,
//! `int socket(int domain, int type, int protocol)`, and seed 002 says a
//! socket is "a special file" you open, read, write and close. This lesson
//! writes the same small TCP echo server three times, from the bottom up, so
//! you can see that this is literally true and what each layer adds:
//!
//! 1. **nix**: the system calls themselves, on raw file descriptors —
//!    `socket` returns an integer, `bind`/`listen`/`accept` take it, and the
//!    bytes are read with `read(2)`, the very call that reads a file.
//! 2. **socket2**: the same calls as methods on a `Socket` that owns its fd
//!    (closes it when dropped) and speaks Rust types (`SocketAddr`, `Result`).
//! 3. **std**: `TcpListener::bind` is socket + setsockopt(SO_REUSEADDR) +
//!    bind + listen(128) in one call; `TcpStream` implements `Read`/`Write`.
//!
//! Each prints the system calls it makes (`strace -f -e trace=network`
//! shows the same list), and the demo runs one client conversation against
//! all three to show that, on the wire, they are the same server.
//!
//! The echo protocol is `cat` over a socket: every byte that arrives goes
//! straight back, in whatever pieces `read` returned it. No framing, no
//! decoding — so `nc`, `socat` or a Python client can talk to it too.

use std::io::{self, BufRead, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use nix::sys::socket::{
    AddressFamily, Backlog, MsgFlags, SockFlag, SockType, SockaddrLike, SockaddrStorage, accept,
    bind, getpeername, getsockname, listen, send, setsockopt, socket, sockopt,
};
use nix::sys::time::{TimeVal, TimeValLike};
use nix::unistd::{close, read};
use socket_lessons::cli::{NetArgs, Ready, ServerArgs, WRITE_TIMEOUT, client_args_for};
use socket_lessons::explain::{Failure, one_line};
use socket_lessons::text::{Utf8Decoder, bytes_repr, quoted};
use socket_lessons::transcript::{self, Speaker};
use socket_lessons::{Context, Result, demo, finish, signals};
use socket2::{Domain, Protocol, SockRef, Socket, Type};

/// Lesson 06: the same TCP echo server written three ways — raw system
/// calls on file descriptors (nix), socket2, and std::net — so you can see
/// the syscall under each std method. A socket is a file: the nix server
/// reads it with read(2).
///
/// With no subcommand, runs the demo: one client against all three servers.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run one client conversation against all three servers (the default).
    Demo,
    /// An echo server: sends back every byte it receives, like `cat`.
    Server {
        #[command(flatten)]
        server: ServerArgs,
        /// Which of the three implementations to run.
        #[arg(long = "impl", value_enum, default_value_t = Layer::Nix)]
        layer: Layer,
    },
    /// Send each line of stdin to the server and print the echo.
    Client {
        #[command(flatten)]
        net: NetArgs,
    },
}

/// The three layers an echo server can be written at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Layer {
    /// System calls on raw file descriptors, through the nix crate.
    Nix,
    /// The socket2 crate: the same calls as methods, the fd owned.
    Socket2,
    /// The standard library's TcpListener and TcpStream.
    Std,
}

impl Layer {
    fn describe(self) -> &'static str {
        match self {
            Layer::Nix => "server 1 of 3, nix: system calls on raw file descriptors",
            Layer::Socket2 => "server 2 of 3, socket2: the same calls as methods on a Socket",
            Layer::Std => "server 3 of 3, std::net: TcpListener and TcpStream",
        }
    }
}

/// What the demo's client types, one line at a time.
const DEMO_INPUT: &str = "hello\n我是客户端\n";

fn main() -> ExitCode {
    finish(match Cli::parse().command.unwrap_or(Command::Demo) {
        Command::Demo => run_demo(),
        Command::Server { server, layer } => run_server(server, layer),
        Command::Client { net } => net
            .addr()
            .and_then(|addr| echo_each_line(addr, &mut io::stdin().lock()).map(drop)),
    })
}

fn run_demo() -> Result<()> {
    transcript::note("one TCP echo server written three ways; the same client talks to each");
    let mut echoes: Vec<(Layer, Vec<u8>)> = Vec::new();
    for layer in [Layer::Nix, Layer::Socket2, Layer::Std] {
        transcript::note(layer.describe());
        // One client, then the server closes up: the demo moves on.
        let args = ServerArgs {
            max_clients: Some(1),
            ..ServerArgs::default()
        };
        let mut received = Vec::new();
        demo::run(
            move |ready| serve(layer, &args, ready),
            |server| {
                received = echo_each_line(server, &mut io::Cursor::new(DEMO_INPUT))?;
                Ok(())
            },
        )?;
        echoes.push((layer, received));
    }
    // Computed, not claimed: compare what the client got back each time.
    let (_, first) = &echoes[0];
    let differing: Vec<String> = echoes
        .iter()
        .filter(|(_, got)| got != first)
        .map(|(layer, got)| format!("{layer:?} sent back {}", bytes_repr(got)))
        .collect();
    if differing.is_empty() {
        transcript::note(format!(
            "the client received the same {} bytes from all three servers: {}",
            first.len(),
            bytes_repr(first)
        ));
        transcript::note(
            "same syscalls underneath, same bytes on the wire: the layers differ only in \
             what they do for you (own the fd, convert addresses, pick defaults)",
        );
    } else {
        transcript::server().warn(format!(
            "the servers disagree: nix sent back {}, {}",
            bytes_repr(first),
            differing.join(", ")
        ));
    }
    demo::by_hand(env!("CARGO_BIN_NAME"), "--impl nix", "");
    Ok(())
}

/// The `server` subcommand: a clean stop on Ctrl-C, then serve.
fn run_server(args: ServerArgs, layer: Layer) -> Result<()> {
    let say = transcript::server();
    signals::stop_cleanly_on_signals(&say, || {})?;
    say.note(layer.describe());
    serve(layer, &args, Ready::by_hand(env!("CARGO_BIN_NAME")))
}

fn serve(layer: Layer, args: &ServerArgs, ready: Ready<SocketAddr>) -> Result<()> {
    let addr = args.net.server_addr()?;
    match layer {
        Layer::Nix => serve_with_nix(addr, args, ready),
        Layer::Socket2 => serve_with_socket2(addr, args, ready),
        Layer::Std => serve_with_std(addr, args, ready),
    }
}

// ---------------------------------------------------------------------------
// 1. nix: system calls on raw file descriptors
// ---------------------------------------------------------------------------

fn serve_with_nix(addr: SocketAddr, args: &ServerArgs, ready: Ready<SocketAddr>) -> Result<()> {
    let say = transcript::server();

    // ANCHOR: nix_socket
    // C:      int fd = socket(AF_INET, SOCK_STREAM, 0);          socket(2)
    // Python: server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    // nix hands the new descriptor back as an OwnedFd (closed on drop).
    // SOCK_CLOEXEC: a program we might exec() must not inherit the socket;
    // std and socket2 always set it, so we do too.
    let family = match addr {
        SocketAddr::V4(_) => AddressFamily::Inet,
        SocketAddr::V6(_) => AddressFamily::Inet6,
    };
    let listener: OwnedFd =
        socket(family, SockType::Stream, SockFlag::SOCK_CLOEXEC, None).context("socket()")?;
    let lfd = listener.as_raw_fd();
    say.say(format!(
        "socket({}, SOCK_STREAM | SOCK_CLOEXEC, 0) -> fd {lfd}",
        family_name(addr)
    ));
    // ANCHOR_END: nix_socket

    // ANCHOR: nix_setsockopt
    // C:      int one = 1; setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    // Python: server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    // Lets a restarted server bind while old connections sit in TIME_WAIT.
    setsockopt(&listener, sockopt::ReuseAddr, &true).context("setsockopt(SO_REUSEADDR)")?;
    say.say(format!(
        "setsockopt(fd {lfd}, SOL_SOCKET, SO_REUSEADDR, 1) -> 0"
    ));
    // ANCHOR_END: nix_setsockopt

    // ANCHOR: nix_bind
    // C:      bind(fd, (struct sockaddr *)&sin, sizeof sin);     bind(2)
    // Python: server.bind(('127.0.0.1', 8888))
    // nix 0.31 still takes a RawFd (a plain integer) here, as C does.
    let sockaddr = SockaddrStorage::from(addr);
    bind(lfd, &sockaddr).context(format!("bind {addr}"))?;
    say.say(format!("bind(fd {lfd}, {sockaddr}) -> 0"));
    // ANCHOR_END: nix_bind

    // ANCHOR: nix_listen
    // C:      listen(fd, 5);                                     listen(2)
    // Python: server.listen(5)
    // nix checks the backlog range up front (Backlog::new), and listen
    // borrows the fd instead of taking a bare integer.
    let backlog = Backlog::new(5).context("Backlog::new(5)")?;
    listen(&listener, backlog).context("listen(5)")?;
    say.say(format!("listen(fd {lfd}, 5) -> 0"));
    // Python: server.getsockname()
    let local = inet_addr(&getsockname::<SockaddrStorage>(lfd).context("getsockname()")?)?;
    // ANCHOR_END: nix_listen
    ready.listening(&say, local, &client_args_for(local));

    let mut served = 0;
    while !args.done_after(served) {
        // ANCHOR: nix_accept
        // C:      int conn = accept(fd, NULL, NULL);             accept(2)
        // Python: conn, addr = server.accept()
        // accept returns a *new* descriptor for this one conversation. nix
        // 0.31 returns it as a bare RawFd, so we take ownership ourselves.
        // (Plain accept(2) does not set close-on-exec on the new fd; std and
        // socket2 call accept4(…, SOCK_CLOEXEC). This server never execs.)
        let raw = accept(lfd).context("accept()")?;
        // SAFETY: accept() just created `raw`; nothing else in this program
        // owns or will close it, so handing it to one OwnedFd is sound.
        let conn = unsafe { OwnedFd::from_raw_fd(raw) };
        let peer = getpeername::<SockaddrStorage>(raw)
            .map(|a| a.to_string())
            .unwrap_or_else(|_| "a client that already left".into());
        say.accepted(
            &conn,
            format!("accept(fd {lfd}) -> fd {raw}, connected to {peer}"),
        );
        // ANCHOR_END: nix_accept

        if let Err(failure) = echo_with_nix(&conn, args, &say) {
            // One client's trouble is reported; the server goes on.
            say.warn(one_line(&failure));
        }

        // ANCHOR: nix_close
        // C:      close(conn);                                   close(2)
        // Python: conn.close()
        // The very call that closes a file. (Dropping the OwnedFd would do
        // the same; nix's close() lets us see the result.)
        say.closing(&conn, format!("close(fd {raw}) -> 0"));
        if let Err(errno) = close(conn) {
            say.warn(format!("close(fd {raw}) -> {errno}"));
        }
        // ANCHOR_END: nix_close
        served += 1;
    }
    say.say(format!(
        "close(fd {lfd}) -> 0: the listening socket, after {served} client(s)"
    ));
    close(listener).context("close the listening socket")?;
    Ok(())
}

/// Echo until the client hangs up, with read(2) and send(2).
fn echo_with_nix(conn: &OwnedFd, args: &ServerArgs, say: &Speaker) -> Result<()> {
    let fd = conn.as_raw_fd();
    // A silent client must not hold the server forever, nor one that never
    // reads its echoes (the timeouts make read/send fail with EAGAIN).
    let idle = args.idle_timeout();
    setsockopt(
        conn,
        sockopt::ReceiveTimeout,
        &TimeVal::seconds(idle.as_secs() as i64),
    )
    .context("setsockopt(SO_RCVTIMEO)")?;
    let write_ms = WRITE_TIMEOUT.as_millis() as i64;
    setsockopt(conn, sockopt::SendTimeout, &TimeVal::milliseconds(write_ms))
        .context("setsockopt(SO_SNDTIMEO)")?;
    say.say(format!(
        "setsockopt(fd {fd}, SOL_SOCKET, SO_RCVTIMEO, {}s), setsockopt(…, SO_SNDTIMEO, {}s)",
        idle.as_secs(),
        WRITE_TIMEOUT.as_secs()
    ));

    let mut buf = [0u8; 1024];
    loop {
        // ANCHOR: nix_read
        // C:      ssize_t n = read(conn, buf, sizeof buf);       read(2)
        // Python: data = conn.recv(1024)
        // Seed 002's "everything is a file", literally: the call that reads
        // a file reads the socket. 0 bytes means end of file: the client
        // hung up. (EAGAIN here means the idle timeout expired.)
        let n = read(conn, &mut buf).context(format!("read(fd {fd}, 1024)"))?;
        if n == 0 {
            say.hung_up(
                conn,
                format!("read(fd {fd}, 1024) -> 0 bytes: end of file, the client hung up"),
            );
            return Ok(());
        }
        let data = &buf[..n];
        say.received(
            conn,
            n,
            format!("read(fd {fd}, 1024) -> {n} bytes {}", bytes_repr(data)),
        );
        // ANCHOR_END: nix_read

        // ANCHOR: nix_send
        // C:      send(conn, buf, n, MSG_NOSIGNAL);              send(2)
        // Python: conn.sendall(data)
        // write(conn, buf, n) would work exactly as on a file (send with
        // flags 0 *is* write). We use send for one flag: MSG_NOSIGNAL. A
        // write to a connection the peer has closed raises SIGPIPE, whose
        // default action kills the process (exit by signal 13) — Rust's
        // runtime ignores SIGPIPE before main, but code that must not rely
        // on that (a library, a program that restores the default) passes
        // MSG_NOSIGNAL and gets EPIPE, an error it can explain and survive.
        // send may take only part of the bytes: loop until all are gone.
        let mut done = 0;
        while done < n {
            let m = send(fd, &data[done..], MsgFlags::MSG_NOSIGNAL)
                .context(format!("send(fd {fd}, {} bytes, MSG_NOSIGNAL)", n - done))?;
            say.sent(
                conn,
                m,
                format!(
                    "send(fd {fd}, {}, MSG_NOSIGNAL) -> {m} bytes",
                    bytes_repr(&data[done..done + m])
                ),
            );
            done += m;
        }
        // ANCHOR_END: nix_send
    }
}

/// A std address from a nix one (the kernel gave us AF_INET or AF_INET6).
fn inet_addr(addr: &SockaddrStorage) -> Result<SocketAddr> {
    if let Some(v4) = addr.as_sockaddr_in() {
        Ok(SocketAddr::from(*v4))
    } else if let Some(v6) = addr.as_sockaddr_in6() {
        Ok(SocketAddr::from(*v6))
    } else {
        Err(Failure::new(
            "getsockname()",
            io::ErrorKind::InvalidData,
            format!("not an internet address: family {:?}", addr.family()),
        ))
    }
}

// ---------------------------------------------------------------------------
// 2. socket2: the same system calls, as methods on an owning Socket
// ---------------------------------------------------------------------------

fn serve_with_socket2(addr: SocketAddr, args: &ServerArgs, ready: Ready<SocketAddr>) -> Result<()> {
    let say = transcript::server();

    // ANCHOR: socket2_listen
    // Python: server = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    // The triple, spelled with socket2's types. Here we name the protocol
    // instead of passing 0: the kernel would have chosen TCP anyway.
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
        .context("socket()")?;
    let lfd = socket.as_raw_fd();
    say.say(format!(
        "Socket::new({}, STREAM, TCP) -> socket({}, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP) = fd {lfd}",
        domain_name(addr),
        family_name(addr)
    ));
    socket
        .set_reuse_address(true)
        .context("setsockopt(SO_REUSEADDR)")?;
    say.say(format!(
        "set_reuse_address(true) -> setsockopt(fd {lfd}, SOL_SOCKET, SO_REUSEADDR, 1)"
    ));
    socket.bind(&addr.into()).context(format!("bind {addr}"))?;
    say.say(format!("bind({addr}) -> bind(fd {lfd}, {addr})"));
    // Unlike std, socket2 lets us choose the backlog, as the seeds do.
    socket.listen(5).context("listen(5)")?;
    say.say(format!("listen(5) -> listen(fd {lfd}, 5)"));
    let local = socket
        .local_addr()
        .context("getsockname()")?
        .as_socket()
        .expect("an AF_INET or AF_INET6 socket has an inet address");
    // ANCHOR_END: socket2_listen
    ready.listening(&say, local, &client_args_for(local));

    let mut served = 0;
    while !args.done_after(served) {
        // ANCHOR: socket2_accept
        // Python: conn, addr = server.accept()
        let (conn, peer) = socket.accept().context("accept()")?;
        let fd = conn.as_raw_fd();
        let peer = peer
            .as_socket()
            .map(|a| a.to_string())
            .unwrap_or_else(|| "?".into());
        say.accepted(
            &conn,
            format!("accept() -> accept4(fd {lfd}, SOCK_CLOEXEC) = fd {fd}, connected to {peer}"),
        );
        // Into a std type: the same fd, no system call. We write through
        // std from here on, and that matters: socket2's own `send` passes
        // flags 0, so writing to a vanished peer would raise SIGPIPE if the
        // signal were not ignored (pitfall #8). std's write passes
        // MSG_NOSIGNAL.
        let mut conn: TcpStream = conn.into();
        say.say(format!(
            "TcpStream::from(socket): still fd {fd}, now a std TcpStream"
        ));
        // ANCHOR_END: socket2_accept
        if let Err(failure) = echo_with_std(&mut conn, args, &say) {
            say.warn(one_line(&failure));
        }
        say.closing(
            &conn,
            format!("close(fd {fd}): dropping the TcpStream closes it"),
        );
        drop(conn);
        served += 1;
    }
    say.say(format!(
        "close(fd {lfd}): dropping the Socket closes the listening socket, after {served} client(s)"
    ));
    Ok(())
}

// ---------------------------------------------------------------------------
// 3. std::net: the same again, with the defaults chosen for you
// ---------------------------------------------------------------------------

fn serve_with_std(addr: SocketAddr, args: &ServerArgs, ready: Ready<SocketAddr>) -> Result<()> {
    let say = transcript::server();

    // ANCHOR: std_bind
    // Python: socket.create_server(('127.0.0.1', 8888))  — Python's closest match
    // Four system calls in one: socket(), setsockopt(SO_REUSEADDR, 1),
    // bind(), listen(128). You cannot pick the backlog; use socket2 for that.
    let listener = TcpListener::bind(addr).context(format!("bind {addr}"))?;
    let lfd = listener.as_raw_fd();
    let local = listener.local_addr().context("getsockname()")?;
    say.say(format!(
        "TcpListener::bind({addr}) -> fd {lfd}, in four system calls:"
    ));
    say.say(format!(
        "  socket({}, SOCK_STREAM | SOCK_CLOEXEC, 0), setsockopt(SO_REUSEADDR, 1), bind(), listen(128)",
        family_name(addr)
    ));
    // Not taken on trust: ask the kernel whether std really set SO_REUSEADDR.
    let reuse = SockRef::from(&listener)
        .reuse_address()
        .context("getsockopt(SO_REUSEADDR)")?;
    say.say(format!(
        "getsockopt(fd {lfd}, SOL_SOCKET, SO_REUSEADDR) -> {}",
        reuse as u8
    ));
    // ANCHOR_END: std_bind
    ready.listening(&say, local, &client_args_for(local));

    let mut served = 0;
    while !args.done_after(served) {
        // ANCHOR: std_accept
        // Python: conn, addr = server.accept()
        let (mut conn, peer) = listener.accept().context("accept()")?;
        let fd = conn.as_raw_fd();
        say.accepted(
            &conn,
            format!("accept() -> accept4(fd {lfd}, SOCK_CLOEXEC) = fd {fd}, connected to {peer}"),
        );
        // ANCHOR_END: std_accept
        if let Err(failure) = echo_with_std(&mut conn, args, &say) {
            say.warn(one_line(&failure));
        }
        say.closing(
            &conn,
            format!("close(fd {fd}): dropping the TcpStream closes it"),
        );
        drop(conn);
        served += 1;
    }
    say.say(format!(
        "close(fd {lfd}): dropping the TcpListener closes the listening socket, after {served} client(s)"
    ));
    Ok(())
}

/// Echo until the client hangs up, through std's `Read` and `Write`
/// (used by the socket2 and the std server alike).
fn echo_with_std(conn: &mut TcpStream, args: &ServerArgs, say: &Speaker) -> Result<()> {
    let fd = conn.as_raw_fd();
    conn.set_read_timeout(Some(args.idle_timeout()))
        .context("set_read_timeout")?;
    conn.set_write_timeout(Some(WRITE_TIMEOUT))
        .context("set_write_timeout")?;
    say.say(format!(
        "set_read_timeout({}s), set_write_timeout({}s) -> setsockopt(fd {fd}, SO_RCVTIMEO / SO_SNDTIMEO)",
        args.idle_timeout().as_secs(),
        WRITE_TIMEOUT.as_secs()
    ));
    let mut buf = [0u8; 1024];
    loop {
        // ANCHOR: std_read
        // Python: data = conn.recv(1024)
        // std's read() is recv(fd, buf, 1024, 0); strace shows recvfrom.
        let n = conn.read(&mut buf).context("read(1024)")?;
        if n == 0 {
            say.hung_up(
                &*conn,
                format!("read() -> recvfrom(fd {fd}, 1024) -> 0 bytes: the client hung up"),
            );
            return Ok(());
        }
        let data = &buf[..n];
        say.received(
            &*conn,
            n,
            format!(
                "read() -> recvfrom(fd {fd}, 1024) -> {n} bytes {}",
                bytes_repr(data)
            ),
        );
        // ANCHOR_END: std_read

        // ANCHOR: std_write
        // Python: conn.sendall(data)
        // write_all loops over send(fd, …, MSG_NOSIGNAL) until every byte
        // is taken: std passes MSG_NOSIGNAL on every socket write.
        conn.write_all(data).context("write_all")?;
        say.sent(
            &*conn,
            n,
            format!(
                "write_all({}) -> sendto(fd {fd}, {n} bytes, MSG_NOSIGNAL)",
                bytes_repr(data)
            ),
        );
        // ANCHOR_END: std_write
    }
}

// ---------------------------------------------------------------------------
// The client: one for all three servers
// ---------------------------------------------------------------------------

/// Send each line of `input` and wait for its echo. Returns every byte the
/// server sent back, so the demo can compare the three servers.
fn echo_each_line(server: SocketAddr, input: &mut dyn BufRead) -> Result<Vec<u8>> {
    let say = transcript::client();
    // ANCHOR: client
    // Python: client = socket.socket(); client.connect(('127.0.0.1', 8888))
    let mut stream = TcpStream::connect(server).context(format!("connect to {server}"))?;
    say.connected(&stream, format!("connect({server}) -> connected"));

    let mut echoed = Vec::new();
    let mut decoder = Utf8Decoder::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        // Bytes, not a String: a line that is not UTF-8 is sent as it is.
        if input.read_until(b'\n', &mut line).context("read stdin")? == 0 {
            break;
        }
        if line.iter().all(|b| *b == b'\n' || *b == b'\r') {
            say.warn(
                "an empty line is not sent: there would be nothing to echo, \
                 and we would wait for an answer that never comes",
            );
            continue;
        }
        // Python: client.sendall(line)
        stream.write_all(&line).context("send")?;
        say.sent(
            &stream,
            line.len(),
            format!("send({}) -> {} bytes", bytes_repr(&line), line.len()),
        );

        // The echo may come back in several pieces: read until it is all here.
        let mut got = 0;
        let mut text = String::new();
        while got < line.len() {
            let mut buf = [0u8; 1024];
            // Python: client.recv(1024)
            let n = stream.read(&mut buf).context("recv(1024)")?;
            if n == 0 {
                say.hung_up(
                    &stream,
                    "recv(1024) -> 0 bytes: the server hung up before echoing it all",
                );
                return Ok(echoed);
            }
            say.received(
                &stream,
                n,
                format!("recv(1024) -> {n} bytes {}", bytes_repr(&buf[..n])),
            );
            echoed.extend_from_slice(&buf[..n]);
            got += n;
            let piece = decoder.push(&buf[..n]);
            if piece.invalid > 0 {
                say.warn(format!(
                    "{} invalid UTF-8 sequence(s), shown as �: these bytes are not text",
                    piece.invalid
                ));
            }
            text += &piece.text;
        }
        say.say(format!("echo: {}", quoted(&text)));
    }
    // Python: client.close()
    say.closing(&stream, "close()");
    // Shutdown can fail if the server already reset: nothing left to do then.
    let _ = stream.shutdown(Shutdown::Both);
    // ANCHOR_END: client
    Ok(echoed)
}

fn family_name(addr: SocketAddr) -> &'static str {
    if addr.is_ipv4() {
        "AF_INET"
    } else {
        "AF_INET6"
    }
}

fn domain_name(addr: SocketAddr) -> &'static str {
    if addr.is_ipv4() { "IPV4" } else { "IPV6" }
}
