//! # Lesson 08: timeouts, blocking and non-blocking sockets
//!
//! By default every socket call *blocks*: `accept` waits for a client,
//! `recv` waits for bytes, `connect` waits for the handshake — forever, if
//! need be. Seeds 001 and 002 list the three ways out, and this lesson runs
//! each of them:
//!
//! * `settimeout(secs)` — still blocking, but give up after a while. Rust
//!   splits it by direction: `set_read_timeout`, `set_write_timeout`, and
//!   `TcpStream::connect_timeout` for the handshake. `gettimeout()` is
//!   `read_timeout()`.
//! * `setblocking(False)` — never wait: a call that cannot finish at once
//!   fails with "would block" (`EAGAIN`, errno 11) and you try again later.
//!   Rust: `set_nonblocking(true)`.
//! * `connect_ex()` — an error *code* instead of an exception. Rust has no
//!   exceptions to begin with: every call returns a `Result`, and the error's
//!   `raw_os_error()` is the very number `connect_ex` returns.
//!
//! Two surprises for a learner coming from Python. First, when a read
//! timeout expires, Linux reports `EAGAIN` — the same code as a
//! non-blocking socket with nothing to read — so Rust gives you
//! `ErrorKind::WouldBlock`, not `TimedOut` (Python hides this and raises
//! `TimeoutError` for both). Only `connect_timeout`, which Rust implements
//! itself with `poll`, says `TimedOut`. Match both kinds. Second,
//! `settimeout(0)` in Python means non-blocking; in Rust a zero timeout is
//! an error (`InvalidInput`): say `set_nonblocking(true)` instead.
//!
//! The server here can be *silent* (`server --silent`): it accepts, reads,
//! and never answers — the peer every client should be ready for. The
//! client's `--timeout` makes sure it gives up instead of hanging.

use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use socket_lessons::cli::{NetArgs, Ready, ServerArgs, WRITE_TIMEOUT, client_args_for};
use socket_lessons::explain::{Failure, errno_name, one_line};
use socket_lessons::signals::stop_cleanly_on_signals;
use socket_lessons::text::bytes_repr;
use socket_lessons::transcript::{self, Speaker};
use socket_lessons::{Context, Result, demo, finish};
use socket2::{Domain, Socket, Type};

/// Lesson 08: read, write and connect timeouts (settimeout / gettimeout),
/// WouldBlock vs TimedOut, non-blocking mode (setblocking(False)), and
/// connect_ex's error codes — with a server that can stay silent on purpose.
///
/// With no subcommand, runs the demo: server and client in one process.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Show timeouts, non-blocking calls and error codes (the default).
    Demo,
    /// An echo server; with --silent, one that reads and never answers.
    Server {
        #[command(flatten)]
        server: ServerArgs,
        /// Read what clients send and never answer: the peer that makes a
        /// client without a timeout hang forever.
        #[arg(long)]
        silent: bool,
    },
    /// Send each line you type and wait at most --timeout for the answer.
    Client {
        #[command(flatten)]
        net: NetArgs,
        /// Give up on connecting, and on each answer, after this many
        /// seconds (Python: client.settimeout(5)).
        #[arg(long, value_name = "SECS", default_value_t = 5.0)]
        timeout: f64,
    },
}

fn main() -> ExitCode {
    finish(match Cli::parse().command.unwrap_or(Command::Demo) {
        Command::Demo => run_demo(),
        Command::Server { server, silent } => {
            let say = transcript::server();
            stop_cleanly_on_signals(&say, || {})
                .and_then(|()| serve(&server, silent, Ready::by_hand(env!("CARGO_BIN_NAME"))))
        }
        Command::Client { net, timeout } => seconds(timeout).and_then(|timeout| {
            if io::stdin().is_terminal() {
                transcript::client().note("type a message and press Enter; Ctrl-D hangs up");
            }
            net.addr()
                .and_then(|addr| ask_with_timeout(addr, timeout, io::stdin().lock()))
        }),
    })
}

/// The demo's timeouts: short, so the demo stays well under a second, and
/// multiples of 4 ms, which the kernel stores exactly (see `read_timeout`).
const DEMO_TIMEOUT: Duration = Duration::from_millis(100);

fn run_demo() -> Result<()> {
    transcript::note("part 1: a server that never answers, and a client with a read timeout");
    let silent_once = ServerArgs {
        max_clients: Some(1),
        ..ServerArgs::default()
    };
    demo::run(
        move |ready| serve(&silent_once, true, ready),
        |addr| wait_for_an_answer_that_never_comes(addr, DEMO_TIMEOUT),
    )?;

    transcript::note("part 2: non-blocking mode, setblocking(False)");
    accept_without_waiting()?;

    transcript::note("part 3: connect_ex - an error code instead of an exception");
    connect_ex_to_nobody()?;

    transcript::note("part 4: connect_timeout - when the server's queue is full");
    connect_to_a_full_queue(DEMO_TIMEOUT)?;

    demo::by_hand(env!("CARGO_BIN_NAME"), "--silent", "--timeout 2");
    Ok(())
}

// ---------------------------------------------------------------------------
// The server: echo, or silent
// ---------------------------------------------------------------------------

/// Serve clients one after another: echo what they send, or (`silent`)
/// read it and say nothing.
fn serve(args: &ServerArgs, silent: bool, ready: Ready<SocketAddr>) -> Result<()> {
    let say = transcript::server();
    let addr = args.net.server_addr()?;
    let listener = TcpListener::bind(addr).context(format!("bind {addr}"))?;
    let local = listener.local_addr().context("getsockname()")?;
    if silent {
        say.say("a silent server: it reads what you send and never answers");
    }
    ready.listening(&say, local, &client_args_for(local));

    let mut served = 0;
    while !args.done_after(served) {
        let (conn, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(e) => {
                say.warn(format!("accept() failed: {e}; waiting for the next client"));
                continue;
            }
        };
        served += 1;
        say.accepted(&conn, format!("accept() -> client #{served} from {peer}"));
        if let Err(failure) = serve_one_client(conn, args, silent, &say) {
            say.warn(format!("client #{served}: {}", one_line(&failure)));
        }
    }
    Ok(())
}

// ANCHOR: server_timeouts
fn serve_one_client(
    mut conn: TcpStream,
    args: &ServerArgs,
    silent: bool,
    say: &Speaker,
) -> Result<()> {
    // The server protects itself the same way: a client that says nothing
    // for --idle-timeout seconds is hung up on, and one that stops reading
    // our answers cannot block us for more than WRITE_TIMEOUT.
    conn.set_read_timeout(Some(args.idle_timeout()))
        .context("set the idle timeout")?;
    conn.set_write_timeout(Some(WRITE_TIMEOUT))
        .context("set the write timeout")?;
    let mut buf = [0u8; 1024];
    loop {
        let n = match conn.read(&mut buf) {
            Ok(n) => n,
            Err(e) if is_timeout(&e) => {
                say.warn(format!(
                    "nothing from this client for {} s: hanging up",
                    args.idle_timeout().as_secs()
                ));
                return Ok(());
            }
            Err(e) => return Err(e).context("recv(1024)"),
        };
        if n == 0 {
            say.hung_up(&conn, "recv(1024) -> 0 bytes: the client hung up");
            break;
        }
        let data = &buf[..n];
        if silent {
            say.received(
                &conn,
                n,
                format!(
                    "recv(1024) -> {} ... and no answer, on purpose",
                    bytes_repr(data)
                ),
            );
        } else {
            say.received(&conn, n, format!("recv(1024) -> {}", bytes_repr(data)));
            conn.write_all(data).context("sendall() the echo")?;
            say.sent(
                &conn,
                n,
                format!("sendall({}) -> the echo", bytes_repr(data)),
            );
        }
    }
    say.closing(&conn, "close()");
    Ok(())
}
// ANCHOR_END: server_timeouts

// ANCHOR: is_timeout
/// Did a blocking call give up because its timeout expired? On Linux a
/// read or write timeout is EAGAIN (WouldBlock); on Windows it is
/// WSAETIMEDOUT (TimedOut); connect_timeout says TimedOut everywhere.
fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
// ANCHOR_END: is_timeout

/// How an I/O error looks in the transcript: `WouldBlock (os error 11,
/// EAGAIN)`, or `TimedOut (no os error)` for errors Rust made itself.
fn kind_and_errno(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => format!(
            "{:?} (os error {code}, {})",
            e.kind(),
            errno_name(code).unwrap_or_else(|| "?".into())
        ),
        None => format!("{:?} (no os error: {e})", e.kind()),
    }
}

// ---------------------------------------------------------------------------
// Part 1: read timeouts
// ---------------------------------------------------------------------------

fn wait_for_an_answer_that_never_comes(server: SocketAddr, timeout: Duration) -> Result<()> {
    let say = transcript::client();
    let mut stream = TcpStream::connect(server).context(format!("connect to {server}"))?;
    say.connected(&stream, format!("connect({server})"));

    // ANCHOR: gettimeout
    // Python: client.gettimeout()  ->  None: block forever
    let before = stream.read_timeout().context("gettimeout()")?;
    say.say(format!(
        "read_timeout() -> {before:?}: a read may wait forever"
    ));
    // Python: client.settimeout(0.1)
    stream
        .set_read_timeout(Some(timeout))
        .context("settimeout()")?;
    // The kernel keeps the timeout in clock ticks (4 ms at 250 Hz) and
    // rounds up: 1 ms reads back as 4 ms. 100 ms is a whole number of
    // ticks at every usual tick rate, so it reads back as set.
    let after = stream.read_timeout().context("gettimeout()")?;
    if after == Some(timeout) {
        say.say(format!(
            "set_read_timeout({timeout:?}); read_timeout() -> {after:?}"
        ));
    } else {
        say.say(format!(
            "set_read_timeout({timeout:?}); read_timeout() -> about that (the kernel rounds to its clock tick)"
        ));
    }
    // ANCHOR_END: gettimeout

    let question = b"anyone there?";
    stream.write_all(question).context("send()")?;
    say.sent(
        &stream,
        question.len(),
        format!("send({}) -> {}", bytes_repr(question), question.len()),
    );

    // ANCHOR: read_timeout
    // Python: client.recv(1024)  ->  raises TimeoutError('timed out')
    let mut buf = [0u8; 1024];
    match stream.read(&mut buf) {
        Ok(0) => say.hung_up(&stream, "recv(1024) -> 0 bytes: the server hung up"),
        Ok(n) => say.received(
            &stream,
            n,
            format!("recv(1024) -> {}", bytes_repr(&buf[..n])),
        ),
        Err(e) if is_timeout(&e) => {
            say.say(format!("recv(1024) -> Err: {}", kind_and_errno(&e)));
            say.note("no answer in time: Linux reports an expired read timeout as EAGAIN, so Rust says WouldBlock, not TimedOut; Python says TimeoutError");
        }
        Err(e) => return Err(e).context("recv(1024)"),
    }
    // ANCHOR_END: read_timeout

    // ANCHOR: zero_timeout
    // Python: client.settimeout(0) is the same as setblocking(False).
    // Rust refuses a zero timeout: it would be a contradiction ("block, but
    // for no time at all"), so it asks you to say what you mean.
    match stream.set_read_timeout(Some(Duration::ZERO)) {
        Err(e) => {
            say.say(format!("set_read_timeout(0s) -> Err: {:?}: {e}", e.kind()));
            say.note("Python's settimeout(0) means setblocking(False); in Rust say set_nonblocking(true)");
        }
        Ok(()) => say.warn("set_read_timeout(0s) was accepted (not on Linux with std?)"),
    }
    // Python: client.setblocking(False)
    stream.set_nonblocking(true).context("setblocking(False)")?;
    // Python: client.recv(1024)  ->  BlockingIOError: [Errno 11]
    match stream.read(&mut buf) {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => say.say(format!(
            "set_nonblocking(true); recv(1024) -> Err at once: {}",
            kind_and_errno(&e)
        )),
        Ok(n) => say.warn(format!(
            "recv(1024) -> {n} bytes (the server answered after all?)"
        )),
        Err(e) => return Err(e).context("recv(1024)"),
    }
    // ANCHOR_END: zero_timeout

    say.closing(&stream, "close()");
    let _ = stream.shutdown(Shutdown::Both);
    Ok(())
}

// ---------------------------------------------------------------------------
// Part 2: a non-blocking accept
// ---------------------------------------------------------------------------

fn accept_without_waiting() -> Result<()> {
    let say = transcript::server();
    // ANCHOR: nonblocking_accept
    let listener = TcpListener::bind("127.0.0.1:0").context("bind 127.0.0.1:0")?;
    // Python: server.setblocking(False); server.accept()
    //   ->  BlockingIOError: [Errno 11] Resource temporarily unavailable
    listener
        .set_nonblocking(true)
        .context("setblocking(False)")?;
    match listener.accept() {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => say.say(format!(
            "set_nonblocking(true); accept() with nobody calling -> Err at once: {}",
            kind_and_errno(&e)
        )),
        Ok((_, peer)) => say.warn(format!("accept() -> a stranger from {peer}?")),
        Err(e) => return Err(e).context("accept()"),
    }
    // ANCHOR_END: nonblocking_accept
    say.note("a non-blocking program asks poll/epoll which sockets are ready instead (lesson 11)");
    Ok(())
}

// ---------------------------------------------------------------------------
// Part 3: connect_ex
// ---------------------------------------------------------------------------

// ANCHOR: connect_ex
/// Python's `connect_ex`: 0 when connected, else the error number.
/// In Rust the number is in every `io::Error` already: `raw_os_error()`.
fn connect_ex(addr: SocketAddr) -> (i32, Option<TcpStream>) {
    match TcpStream::connect(addr) {
        Ok(stream) => (0, Some(stream)),
        // -1 for an error that did not come from the OS.
        Err(e) => (e.raw_os_error().unwrap_or(-1), None),
    }
}
// ANCHOR_END: connect_ex

fn connect_ex_to_nobody() -> Result<()> {
    let say = transcript::client();
    // A port where nobody listens, without a race: bind it (so no one else
    // can take it) but never listen(). A connect is then refused.
    let reserved = Socket::new(Domain::IPV4, Type::STREAM, None).context("socket()")?;
    let any: SocketAddr = "127.0.0.1:0".parse().expect("a literal address");
    reserved.bind(&any.into()).context("bind 127.0.0.1:0")?;
    let nobody = reserved
        .local_addr()
        .context("getsockname()")?
        .as_socket()
        .unwrap_or(any);

    // Python: code = client.connect_ex(('127.0.0.1', port))
    let (code, _) = connect_ex(nobody);
    say.say(format!(
        "connect_ex({nobody}) -> {code} ({}): nobody listens there",
        errno_name(code).unwrap_or_else(|| "?".into())
    ));
    // And with a listener there: 0.
    let listener = TcpListener::bind(any).context("bind 127.0.0.1:0")?;
    let somebody = listener.local_addr().context("getsockname()")?;
    let (code, _) = connect_ex(somebody);
    say.say(format!("connect_ex({somebody}) -> {code}: connected"));
    Ok(())
}

// ---------------------------------------------------------------------------
// Part 4: connect_timeout
// ---------------------------------------------------------------------------

fn connect_to_a_full_queue(timeout: Duration) -> Result<()> {
    let say = transcript::client();
    // ANCHOR: full_queue
    // Python: server.listen(0)
    // A backlog of 0 lets one finished handshake wait in the queue. The
    // server never accepts, so after the first client the queue is full and
    // the kernel *drops* new SYNs (the client would retry them for minutes).
    let server = Socket::new(Domain::IPV4, Type::STREAM, None).context("socket()")?;
    let any: SocketAddr = "127.0.0.1:0".parse().expect("a literal address");
    server.bind(&any.into()).context("bind 127.0.0.1:0")?;
    server.listen(0).context("listen(0)")?;
    let addr = server
        .local_addr()
        .context("getsockname()")?
        .as_socket()
        .unwrap_or(any);
    let first = TcpStream::connect_timeout(&addr, timeout).context("connect")?;
    say.say("listen(0), never accept(); the first client connects: the queue is now full");

    // Python: client.settimeout(0.1); client.connect(addr)  ->  TimeoutError
    match TcpStream::connect_timeout(&addr, timeout) {
        Err(e) => {
            say.say(format!(
                "connect_timeout({addr}, {timeout:?}) -> Err: {}",
                kind_and_errno(&e)
            ));
            if e.kind() == io::ErrorKind::TimedOut {
                say.note("TimedOut this time, not WouldBlock: Rust waits for the handshake itself (with poll), and made this error; the OS gave no errno");
            }
        }
        Ok(_) => say.warn(
            "the second client connected too (this kernel queues more than the backlog asks)",
        ),
    }
    // ANCHOR_END: full_queue
    drop(first);
    Ok(())
}

// ---------------------------------------------------------------------------
// The client you run by hand
// ---------------------------------------------------------------------------

// ANCHOR: ask_with_timeout
/// Send each line, wait at most `timeout` for an answer; give up, with an
/// explanation, when the server does not answer in time.
fn ask_with_timeout(server: SocketAddr, timeout: Duration, input: impl BufRead) -> Result<()> {
    let say = transcript::client();
    // Python: client.settimeout(5); client.connect(addr)
    // (Python's one timeout covers connect too; Rust asks for each.)
    let mut stream = TcpStream::connect_timeout(&server, timeout)
        .context(format!("connect to {server} (timeout {timeout:?})"))?;
    say.connected(&stream, format!("connect({server})"));
    stream
        .set_read_timeout(Some(timeout))
        .context("settimeout()")?;
    stream
        .set_write_timeout(Some(timeout))
        .context("settimeout()")?;

    let mut buf = [0u8; 1024];
    for line in input.lines() {
        let line = line.context("read a line from stdin")?;
        let message = line.trim_end_matches('\r');
        if message.is_empty() {
            say.warn("empty line not sent: send(b'') sends nothing, so no answer would come");
            continue;
        }
        stream.write_all(message.as_bytes()).context("send()")?;
        say.sent(
            &stream,
            message.len(),
            format!("send({})", bytes_repr(message.as_bytes())),
        );
        match stream.read(&mut buf) {
            Ok(0) => {
                say.hung_up(&stream, "recv(1024) -> 0 bytes: the server hung up");
                return Ok(());
            }
            Ok(n) => say.received(
                &stream,
                n,
                format!("recv(1024) -> {}", bytes_repr(&buf[..n])),
            ),
            Err(e) if is_timeout(&e) => {
                say.warn(format!(
                    "no answer within {timeout:?}: the server is there but silent; giving up"
                ));
                return Err(e).context(format!("wait for the answer (timeout {timeout:?})"));
            }
            Err(e) => return Err(e).context("recv(1024)"),
        }
    }
    say.closing(&stream, "close()");
    let _ = stream.shutdown(Shutdown::Both);
    Ok(())
}
// ANCHOR_END: ask_with_timeout

/// `--timeout` as a Duration: positive and finite (a zero timeout is an
/// error in Rust, see above).
fn seconds(secs: f64) -> Result<Duration> {
    match Duration::try_from_secs_f64(secs) {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err(Failure::new(
            "read --timeout",
            io::ErrorKind::InvalidInput,
            format!("{secs} is not a positive number of seconds"),
        )),
    }
}
