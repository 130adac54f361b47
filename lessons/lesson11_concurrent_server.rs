//! # Lesson 11: the second caller waits — and two ways to fix it
//!
//! Every server in the seeds serves one client at a time. Their loop is
//! `accept()`, then talk to that client until it hangs up, then `accept()`
//! again. While the server talks to client A, client B can still connect:
//! `connect()` returns at once, because the *kernel* finishes the handshake
//! and puts B in the listening socket's queue (the `listen(backlog)` queue).
//! But nobody reads what B sends until A is gone. B is connected and
//! unanswered, which looks exactly like a hung server.
//!
//! This lesson shows that, then fixes it twice:
//!
//! ```text
//! iterative   accept -> serve A until it hangs up -> accept -> serve B ...   (the seeds)
//! threads     accept -> hand A to a new thread -> accept at once -> ...
//! epoll       one thread; the kernel says which sockets are ready; never block
//! ```
//!
//! A thread per client is the smallest change: each conversation keeps its
//! simple blocking loop. The price is a thread per connection (its stack,
//! and the kernel's bookkeeping for it). An event loop (`epoll` on Linux;
//! Python's `selectors` picks it for you) serves every client from one
//! thread. The price there is in the code: sockets are non-blocking, a read
//! or a write may do only part of the job (lesson 07), so every connection
//! keeps its own buffer of bytes still to send.
//!
//! The last part of the demo makes `listen(backlog)` visible: the seeds use
//! `listen(1)` and `listen(5)`, std always uses 128, and when the queue is
//! full Linux drops the new client's SYN, so its `connect()` just waits (a
//! second, then three more, ...). How much all this costs and gains, measured,
//! is the book's chapter "How fast is a socket?" (`cargo bench`).

use std::collections::HashMap;
use std::io::{self, BufRead, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand, ValueEnum};
use nix::errno::Errno;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use socket_lessons::cli::{NetArgs, Ready, ServerArgs, WRITE_TIMEOUT, client_args_for};
use socket_lessons::explain::{self, Failure};
use socket_lessons::text::{Utf8Decoder, bytes_repr, quoted};
use socket_lessons::transcript::{self, Causality, Link, Speaker};
use socket_lessons::{Context, Result, demo, finish, signals};
use socket2::{Domain, Socket, Type};

/// Lesson 11: a server for many clients at once. The seeds' servers serve
/// one client at a time (a second client connects and then waits); this
/// lesson shows that, then serves everyone with a thread per client and with
/// an epoll event loop, and shows what listen(backlog) does.
///
/// With no subcommand, runs the demo: all three servers, two clients each.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the three servers with two clients each and print what happens (the default).
    Demo,
    /// An echo server: every byte a client sends comes back to it.
    Server {
        #[command(flatten)]
        server: ServerArgs,
        /// How to serve several clients: one at a time as the seeds do, a
        /// thread per client, or one thread with epoll.
        #[arg(long, value_enum, default_value_t = Model::Epoll)]
        model: Model,
        /// listen(backlog): how many connections the kernel queues for us
        /// before we accept() them. std always uses 128; the seeds use 1 and 5.
        #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(i32).range(1..=65535))]
        backlog: i32,
        /// Print no line per message, only connections and warnings (the
        /// benchmark uses it: printing a line costs more than echoing it).
        #[arg(long)]
        quiet: bool,
    },
    /// Send each line of stdin to the echo server and print what comes back.
    Client {
        #[command(flatten)]
        net: NetArgs,
    },
}

/// The three ways to serve many clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Model {
    /// One client at a time, as in the seeds: the next one waits.
    Iterative,
    /// A new thread for every client.
    Threads,
    /// One thread, non-blocking sockets, epoll says who is ready.
    Epoll,
}

fn main() -> ExitCode {
    finish(match Cli::parse().command.unwrap_or(Command::Demo) {
        Command::Demo => run_demo(),
        Command::Server {
            server,
            model,
            backlog,
            quiet,
        } => run_server(server, model, backlog, quiet),
        Command::Client { net } => net.addr().and_then(echo_each_line),
    })
}

fn run_server(args: ServerArgs, model: Model, backlog: i32, quiet: bool) -> Result<()> {
    let say = transcript::server();
    // Before any thread starts: they inherit the blocked signals.
    signals::stop_cleanly_on_signals(&say, || {})?;
    let addr = args.net.server_addr()?;
    let listener = listen(addr, backlog, &say)?;
    let local = listener.local_addr().context("getsockname()")?;
    let ready = Ready::by_hand(env!("CARGO_BIN_NAME"));
    ready.listening(&say, local, &client_args_for(local));
    say.note(format!("serving with the {model:?} model"));
    serve(model, listener, &args, quiet, &say)
}

fn serve(
    model: Model,
    listener: TcpListener,
    args: &ServerArgs,
    quiet: bool,
    say: &Speaker,
) -> Result<()> {
    match model {
        Model::Iterative => serve_one_at_a_time(listener, args, quiet, say),
        Model::Threads => serve_each_in_a_thread(listener, args, quiet, say),
        Model::Epoll => serve_all_with_epoll(listener, args, quiet, say),
    }
}

// ANCHOR: listen
/// socket, bind, listen — with the backlog in plain sight.
fn listen(addr: SocketAddr, backlog: i32, say: &Speaker) -> Result<TcpListener> {
    // Python: server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None).context("socket()")?;
    // Python: server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    socket
        .set_reuse_address(true)
        .context("setsockopt(SO_REUSEADDR)")?;
    // Python: server.bind(('127.0.0.1', 8888))
    socket.bind(&addr.into()).context(format!("bind {addr}"))?;
    // Python: server.listen(5)
    // The backlog caps the queue of clients whose handshake the kernel has
    // finished but that we have not accept()ed yet. std's TcpListener::bind
    // always says 128; socket2 (or nix) lets us choose.
    socket
        .listen(backlog)
        .context(format!("listen({backlog})"))?;
    say.say(format!("socket(), bind({addr}), listen({backlog})"));
    Ok(socket.into())
}
// ANCHOR_END: listen

// ANCHOR: iterative
/// The seeds' server: accept one client, serve it until it hangs up, and
/// only then accept the next.
fn serve_one_at_a_time(
    listener: TcpListener,
    args: &ServerArgs,
    quiet: bool,
    say: &Speaker,
) -> Result<()> {
    let mut served = 0;
    while !args.done_after(served) {
        // Python: conn, addr = server.accept()
        let (conn, peer) = match listener.accept() {
            Ok(pair) => pair,
            Err(e) => {
                say.warn(explain::one_line(&failed("accept()", e)));
                continue;
            }
        };
        let name = client_name(served);
        served += 1;
        say.accepted(&conn, format!("accept() -> client {name}, from {peer}"));
        // While this call runs, nobody calls accept(). The next client's
        // connect() succeeds anyway (the kernel queues it), and then it waits.
        if let Err(failure) = echo_until_hangup(conn, &name, args, quiet, say) {
            say.warn(explain::one_line(&failure));
        }
    }
    Ok(())
}
// ANCHOR_END: iterative

// ANCHOR: echo
/// One conversation, blocking: read what arrives, send it back, until the
/// client hangs up. The iterative and the threaded server share it.
fn echo_until_hangup(
    mut conn: TcpStream,
    name: &str,
    args: &ServerArgs,
    quiet: bool,
    say: &Speaker,
) -> Result<()> {
    // A silent client must not hold its thread (or, for the iterative
    // server, everybody) forever; nor may a client that never reads.
    conn.set_read_timeout(Some(args.idle_timeout()))
        .context("set the idle timeout")?;
    conn.set_write_timeout(Some(WRITE_TIMEOUT))
        .context("set the write timeout")?;
    let mut buf = [0u8; 16 * 1024];
    loop {
        // Python: data = conn.recv(16384)
        let n = match conn.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                say.warn(format!(
                    "client {name} said nothing for {} s: hanging up on it",
                    args.idle_timeout().as_secs()
                ));
                return Ok(());
            }
            Err(e) => return Err(e).context(format!("recv() from client {name}")),
        };
        if n == 0 {
            say.hung_up(&conn, format!("recv() -> 0 bytes: client {name} hung up"));
            // Python: conn.close()  (dropping `conn` when we return)
            say.closing(&conn, format!("close() client {name}'s socket"));
            return Ok(());
        }
        if !quiet {
            say.received(&conn, n, format!("recv() -> {}", shown(&buf[..n])));
        }
        // Python: conn.sendall(data)
        conn.write_all(&buf[..n])
            .context(format!("send the echo to client {name}"))?;
        if !quiet {
            say.sent(&conn, n, format!("sendall() -> {n} bytes back to {name}"));
        }
    }
}
// ANCHOR_END: echo

// ANCHOR: threads
/// A thread per client: the accept loop hands each connection to a new
/// thread and goes straight back to accept().
fn serve_each_in_a_thread(
    listener: TcpListener,
    args: &ServerArgs,
    quiet: bool,
    say: &Speaker,
) -> Result<()> {
    let mut accepted = 0;
    let mut threads = Vec::new();
    while !args.done_after(accepted) {
        // Python: conn, addr = server.accept()
        let (conn, peer) = match listener.accept() {
            Ok(pair) => pair,
            Err(e) => {
                say.warn(explain::one_line(&failed("accept()", e)));
                continue;
            }
        };
        let name = client_name(accepted);
        accepted += 1;
        say.accepted(
            &conn,
            format!("accept() -> client {name}, from {peer}; a new thread serves it"),
        );
        // Python: threading.Thread(target=serve, args=(conn,)).start()
        let voice = Speaker::new(&format!("thread {name}"));
        let limits = args.clone();
        let spawned = thread::Builder::new()
            .name(format!("client {name}"))
            .spawn(move || {
                if let Err(failure) = echo_until_hangup(conn, &name, &limits, quiet, &voice) {
                    voice.warn(explain::one_line(&failure));
                }
            });
        match spawned {
            Ok(handle) => threads.push(handle),
            // Out of threads (or memory): that client is hung up on, the
            // others go on.
            Err(e) => say.warn(explain::one_line(&failed("start a thread", e))),
        }
        threads.retain(|t| !t.is_finished());
    }
    say.say(format!(
        "accepted {accepted} clients: waiting for their threads to finish"
    ));
    for t in threads {
        let _ = t.join();
    }
    Ok(())
}
// ANCHOR_END: threads

/// The epoll token of the listening socket; clients get 1, 2, 3, ...
const LISTENER: u64 = 0;
/// Bytes a client may have in flight towards us before we stop reading from
/// it: a client that sends without reading its echoes cannot make the
/// server buffer without limit.
const MAX_UNSENT: usize = 64 * 1024;

// ANCHOR: connection
/// What the event loop remembers about one client between wake-ups. A
/// blocking server keeps this on its stack, inside the loop; here every
/// read or write may stop halfway, so it must live somewhere.
struct Connection {
    stream: TcpStream,
    name: String,
    /// Bytes received and not yet echoed: a write may take only part.
    unsent: Vec<u8>,
    /// The client sent its last byte (recv returned 0): flush, then close.
    finished_sending: bool,
    /// What we asked epoll to watch for.
    interest: EpollFlags,
    /// When this client last moved a byte, for the idle and write timeouts.
    last_progress: Instant,
}
// ANCHOR_END: connection

// ANCHOR: epoll
/// One thread for every client: wait until the kernel says some sockets are
/// ready, do for each what it can without blocking, wait again.
fn serve_all_with_epoll(
    listener: TcpListener,
    args: &ServerArgs,
    quiet: bool,
    say: &Speaker,
) -> Result<()> {
    // Python: listener.setblocking(False)
    listener
        .set_nonblocking(true)
        .context("make the listener non-blocking")?;
    // Python: sel = selectors.DefaultSelector()  (epoll, on Linux)
    let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).context("epoll_create1()")?;
    // Python: sel.register(listener, selectors.EVENT_READ)
    epoll
        .add(&listener, EpollEvent::new(EpollFlags::EPOLLIN, LISTENER))
        .context("epoll_ctl(ADD, the listener)")?;
    say.say("epoll_create1(); epoll_ctl(ADD, listener, EPOLLIN)");

    let mut listener = Some(listener);
    let mut clients: HashMap<u64, Connection> = HashMap::new();
    let mut accepted = 0;
    let mut out_of_fds = false;
    let mut events = vec![EpollEvent::empty(); 256];
    let mut last_sweep = Instant::now();
    while listener.is_some() || !clients.is_empty() {
        // Python: for key, mask in sel.select(timeout=1):
        // Wake at least once a second to hang up on idle clients.
        let ready = match epoll.wait(&mut events, EpollTimeout::from(1000u16)) {
            Ok(n) => n,
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(io::Error::from(e)).context("epoll_wait()"),
        };
        for event in &events[..ready] {
            if event.data() == LISTENER {
                let Some(l) = &listener else { continue };
                out_of_fds = accept_everyone_waiting(l, &epoll, &mut clients, &mut accepted, say);
                if args.done_after(accepted) {
                    // Enough clients: stop listening (closing the socket
                    // also refuses anyone still in the queue).
                    listener = None;
                }
                continue;
            }
            let id = event.data();
            let Some(client) = clients.get_mut(&id) else {
                continue;
            };
            match echo_what_we_can(client, quiet, say) {
                Ok(true) => {
                    let wanted = interest_of(client);
                    if wanted != client.interest {
                        // Python: sel.modify(conn, selectors.EVENT_READ | EVENT_WRITE)
                        let mut change = EpollEvent::new(wanted, id);
                        if let Err(e) = epoll.modify(&client.stream, &mut change) {
                            say.warn(format!("epoll_ctl(MOD) for client {}: {e}", client.name));
                        }
                        client.interest = wanted;
                    }
                }
                Ok(false) => {
                    // Python: sel.unregister(conn); conn.close()
                    // Closing the socket also takes it out of epoll's list.
                    say.closing(
                        &client.stream,
                        format!("close() client {}'s socket", client.name),
                    );
                    clients.remove(&id);
                }
                Err(failure) => {
                    say.warn(explain::one_line(&failure));
                    clients.remove(&id);
                }
            }
        }
        if out_of_fds && clients.len() < accepted {
            out_of_fds = false;
        }
        if last_sweep.elapsed() >= Duration::from_secs(1) {
            last_sweep = Instant::now();
            hang_up_on_stuck_clients(&mut clients, args, say);
        }
    }
    Ok(())
}
// ANCHOR_END: epoll

// ANCHOR: epoll_accept
/// The listener is readable: accept() until the queue is empty (a burst of
/// clients arrives in one wake-up), registering each new socket.
/// Returns true if we ran out of file descriptors.
fn accept_everyone_waiting(
    listener: &TcpListener,
    epoll: &Epoll,
    clients: &mut HashMap<u64, Connection>,
    accepted: &mut usize,
    say: &Speaker,
) -> bool {
    loop {
        // Python: conn, addr = listener.accept(); conn.setblocking(False)
        let (stream, peer) = match listener.accept() {
            Ok(pair) => pair,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) if e.raw_os_error() == Some(Errno::EMFILE as i32) => {
                // The client stays queued; level-triggered epoll will wake
                // us again. Say so once per wake-up, then serve the others.
                say.warn(
                    "accept(): too many open files; raise the limit (ulimit -n) \
                     or wait for a client to leave",
                );
                return true;
            }
            Err(e) => {
                say.warn(explain::one_line(&failed("accept()", e)));
                return false;
            }
        };
        let id = *accepted as u64 + 1;
        let name = client_name(*accepted);
        *accepted += 1;
        if let Err(e) = stream.set_nonblocking(true) {
            say.warn(format!(
                "client {name}: cannot make its socket non-blocking: {e}"
            ));
            continue;
        }
        say.accepted(&stream, format!("accept() -> client {name}, from {peer}"));
        // Python: sel.register(conn, selectors.EVENT_READ)
        if let Err(e) = epoll.add(&stream, EpollEvent::new(EpollFlags::EPOLLIN, id)) {
            say.warn(format!("epoll_ctl(ADD) for client {name}: {e}"));
            continue;
        }
        clients.insert(
            id,
            Connection {
                stream,
                name,
                unsent: Vec::new(),
                finished_sending: false,
                interest: EpollFlags::EPOLLIN,
                last_progress: Instant::now(),
            },
        );
    }
}
// ANCHOR_END: epoll_accept

// ANCHOR: epoll_echo
/// epoll says this client's socket is ready. Read once (the rest, if any,
/// wakes us again: epoll is level-triggered by default, and the other
/// clients get their turn), then send what we can. Never blocks.
/// Returns false when the conversation is over.
fn echo_what_we_can(client: &mut Connection, quiet: bool, say: &Speaker) -> Result<bool> {
    if !client.finished_sending && client.unsent.len() < MAX_UNSENT {
        let mut buf = [0u8; 16 * 1024];
        let room = buf.len().min(MAX_UNSENT - client.unsent.len());
        // Python: data = conn.recv(16384)
        match client.stream.read(&mut buf[..room]) {
            Ok(0) => {
                say.hung_up(
                    &client.stream,
                    format!("recv() -> 0 bytes: client {} hung up", client.name),
                );
                client.finished_sending = true;
            }
            Ok(n) => {
                if !quiet {
                    say.received(&client.stream, n, format!("recv() -> {}", shown(&buf[..n])));
                }
                client.unsent.extend_from_slice(&buf[..n]);
                client.last_progress = Instant::now();
            }
            // Woken, but nothing there after all: fine, wait again.
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
            Err(e) => return Err(e).context(format!("recv() from client {}", client.name)),
        }
    }
    while !client.unsent.is_empty() {
        // Python: sent = conn.send(data)   -- NOT sendall: it would block
        match client.stream.write(&client.unsent) {
            Ok(n) => {
                if !quiet {
                    say.sent(
                        &client.stream,
                        n,
                        format!("send() -> {n} of {} bytes", client.unsent.len()),
                    );
                }
                // Keep the part the kernel did not take, for the next wake-up.
                client.unsent.drain(..n);
                client.last_progress = Instant::now();
            }
            // The client is not reading and the buffers are full: ask epoll
            // to tell us when it can take more (EPOLLOUT).
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context(format!("send() to client {}", client.name)),
        }
    }
    // Done when the client has hung up and has every byte of its echo.
    Ok(!(client.finished_sending && client.unsent.is_empty()))
}

/// Read while there is room in the buffer; ask to write while it is not empty.
fn interest_of(client: &Connection) -> EpollFlags {
    let mut wanted = EpollFlags::empty();
    if !client.finished_sending && client.unsent.len() < MAX_UNSENT {
        wanted |= EpollFlags::EPOLLIN;
    }
    if !client.unsent.is_empty() {
        wanted |= EpollFlags::EPOLLOUT;
    }
    wanted
}
// ANCHOR_END: epoll_echo

/// Blocking sockets have read and write timeouts; non-blocking ones never
/// wait, so the event loop keeps the time itself.
fn hang_up_on_stuck_clients(
    clients: &mut HashMap<u64, Connection>,
    args: &ServerArgs,
    say: &Speaker,
) {
    clients.retain(|_, client| {
        let (limit, why) = if client.unsent.is_empty() {
            (args.idle_timeout(), "said nothing")
        } else {
            (WRITE_TIMEOUT, "took none of its echo")
        };
        let stuck = client.last_progress.elapsed() >= limit;
        if stuck {
            say.warn(format!(
                "client {} {why} for {} s: hanging up on it",
                client.name,
                limit.as_secs()
            ));
        }
        !stuck
    });
}

/// Clients are named in the order they were accepted: A, B, ... Z, 27, 28, ...
fn client_name(index: usize) -> String {
    match u8::try_from(index) {
        Ok(i) if i < 26 => char::from(b'A' + i).to_string(),
        _ => (index + 1).to_string(),
    }
}

/// A message as Python shows bytes, or just its size when it is long.
fn shown(bytes: &[u8]) -> String {
    if bytes.len() <= 64 {
        format!("{} bytes {}", bytes.len(), bytes_repr(bytes))
    } else {
        format!("{} bytes", bytes.len())
    }
}

/// A failed step, for a server that reports it in one line and goes on.
fn failed(doing: &str, error: io::Error) -> Failure {
    Failure {
        doing: doing.to_string(),
        error,
    }
}

// ---------------------------------------------------------------------------
// The client: echo each line of stdin.

/// How long the client waits for an echo before saying so (and waiting on).
const PATIENCE_STEP: Duration = Duration::from_secs(2);
/// How long it waits in all before giving up.
const GIVE_UP_AFTER: Duration = Duration::from_secs(30);

// ANCHOR: client
fn echo_each_line(server: SocketAddr) -> Result<()> {
    let say = transcript::client();
    // Python: client = socket.socket(); client.connect(('127.0.0.1', 8888))
    let mut stream = TcpStream::connect(server).context(format!("connect to {server}"))?;
    say.connected(&stream, format!("connect({server}) -> connected"));
    // An iterative server that is busy with someone else accepted nothing
    // yet: we are connected, and our echo will not come. Say so, not hang.
    stream
        .set_read_timeout(Some(PATIENCE_STEP))
        .context("set a read timeout")?;
    let mut stdin = io::stdin().lock();
    let mut line = Vec::new();
    loop {
        line.clear();
        // Python: msg = input('>>> ')
        if stdin.read_until(b'\n', &mut line).context("read stdin")? == 0 {
            break;
        }
        let text = String::from_utf8_lossy(&line).into_owned();
        if text.trim().is_empty() {
            say.note("empty line: not sent (there would be no echo to wait for)");
            continue;
        }
        // Python: client.sendall(msg.encode('utf-8'))
        stream.write_all(&line).context("send the line")?;
        say.sent(&stream, line.len(), format!("send() -> {}", shown(&line)));
        let echo = read_echo(&mut stream, line.len(), &say)?;
        say.say(format!("echo: {}", quoted(echo.trim_end_matches('\n'))));
    }
    say.closing(&stream, "stdin ended: close()");
    let _ = stream.shutdown(Shutdown::Both);
    Ok(())
}

/// Read until `len` bytes of echo have come back, saying so while we wait.
fn read_echo(stream: &mut TcpStream, len: usize, say: &Speaker) -> Result<String> {
    let mut decoder = Utf8Decoder::new();
    let mut text = String::new();
    let mut got = 0;
    let mut buf = [0u8; 16 * 1024];
    let started = Instant::now();
    while got < len {
        let want = buf.len().min(len - got);
        match stream.read(&mut buf[..want]) {
            Ok(0) => {
                say.hung_up(stream, "recv() -> 0 bytes: the server hung up");
                return Err(Failure::new(
                    "read the echo",
                    ErrorKind::UnexpectedEof,
                    format!("the server hung up after {got} of {len} bytes"),
                ));
            }
            Ok(n) => {
                say.received(stream, n, format!("recv() -> {}", shown(&buf[..n])));
                text += &decoder.push(&buf[..n]).text;
                got += n;
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if started.elapsed() >= GIVE_UP_AFTER {
                    return Err(Failure::new(
                        "wait for the echo",
                        ErrorKind::TimedOut,
                        format!("no echo within {} s", GIVE_UP_AFTER.as_secs()),
                    ));
                }
                say.note(format!(
                    "no echo after {} s: connected, but is the server serving someone else? \
                     (an iterative server is) waiting on",
                    started.elapsed().as_secs()
                ));
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e).context("recv() the echo"),
        }
    }
    text += &decoder.finish().text;
    Ok(text)
}
// ANCHOR_END: client

// ---------------------------------------------------------------------------
// The demo: the same two clients against each server.

fn run_demo() -> Result<()> {
    let loopback: SocketAddr = "127.0.0.1:0".parse().expect("a literal address");
    // Each server stops after two clients, so every part ends by itself.
    let two_clients = ServerArgs {
        max_clients: Some(2),
        ..ServerArgs::default()
    };

    transcript::note("1. one client at a time, as in the seeds: client B connects, then waits");
    let limits = two_clients.clone();
    demo::run(
        move |ready| demo_server(Model::Iterative, loopback, 5, limits, ready),
        b_waits_for_a,
    )?;

    transcript::note("2. a thread per client: B is answered while A is still connected");
    let limits = two_clients.clone();
    demo::run(
        move |ready| demo_server(Model::Threads, loopback, 128, limits, ready),
        both_served_at_once,
    )?;

    transcript::note("3. one thread and epoll: B is answered while A is still connected");
    let limits = two_clients;
    demo::run(
        move |ready| demo_server(Model::Epoll, loopback, 128, limits, ready),
        both_served_at_once,
    )?;

    transcript::note("4. listen(backlog): the queue of clients nobody has accepted yet");
    show_the_backlog(loopback)?;

    demo::by_hand(env!("CARGO_BIN_NAME"), "--model iterative", "");
    transcript::note(
        "  start two clients: the second gets no echo until the first ends (try --model threads, epoll)",
    );
    Ok(())
}

fn demo_server(
    model: Model,
    addr: SocketAddr,
    backlog: i32,
    args: ServerArgs,
    ready: Ready<SocketAddr>,
) -> Result<()> {
    let say = transcript::server();
    let listener = listen(addr, backlog, &say)?;
    let local = listener.local_addr().context("getsockname()")?;
    ready.listening(&say, local, "");
    serve(model, listener, &args, false, &say)
}

/// The demo's script runs clients A and B one after the other in one
/// thread; the transcript only knows the order of network events. This
/// marks "this line of B comes before that line of A" for it.
fn script_order() -> Link {
    ("the demo's script".into(), "the next step".into())
}

// ANCHOR: b_waits
/// Against the iterative server: B connects and sends, and its echo cannot
/// come while A is still connected; it comes as soon as A hangs up.
fn b_waits_for_a(server: SocketAddr) -> Result<()> {
    let (a, b) = (Speaker::new("client A"), Speaker::new("client B"));
    let mut conn_a = connect_as(&a, server)?;
    send_as(&a, &mut conn_a, "hello from A")?;
    expect_echo(&a, &mut conn_a, "hello from A".len())?;

    let mut conn_b = connect_as(&b, server)?;
    b.note("connected, though nobody called accept(): the kernel queued us");
    send_as(&b, &mut conn_b, "hello from B")?;
    // Python: client.setblocking(False); client.recv(1024)
    // A non-blocking read answers at once: is an echo there? It cannot be —
    // the server is inside A's conversation — so this is not a race.
    conn_b
        .set_nonblocking(true)
        .context("make B's socket non-blocking")?;
    let mut buf = [0u8; 64];
    match conn_b.read(&mut buf) {
        Err(e) if e.kind() == ErrorKind::WouldBlock => b.event(
            "recv() -> WouldBlock: no echo; the server is still busy with client A",
            Causality::Sends(script_order(), 1),
        ),
        Ok(n) => {
            return Err(Failure::new(
                "check that B waits",
                ErrorKind::Other,
                format!("B got {n} bytes while A was connected: not an iterative server"),
            ));
        }
        Err(e) => return Err(e).context("recv() for B"),
    }
    conn_b
        .set_nonblocking(false)
        .context("make B's socket blocking again")?;

    a.event("done: hanging up", Causality::NeedsSent(script_order(), 1));
    a.closing(&conn_a, "close()");
    drop(conn_a);
    // Only now does the server call accept() again and read B's message.
    expect_echo(&b, &mut conn_b, "hello from B".len())?;
    b.closing(&conn_b, "close()");
    Ok(())
}
// ANCHOR_END: b_waits

/// Against a concurrent server: B gets its echo while A is still connected.
fn both_served_at_once(server: SocketAddr) -> Result<()> {
    let (a, b) = (Speaker::new("client A"), Speaker::new("client B"));
    let mut conn_a = connect_as(&a, server)?;
    send_as(&a, &mut conn_a, "hello from A")?;
    expect_echo(&a, &mut conn_a, "hello from A".len())?;

    let mut conn_b = connect_as(&b, server)?;
    send_as(&b, &mut conn_b, "hello from B")?;
    expect_echo(&b, &mut conn_b, "hello from B".len())?;
    b.event(
        "answered while client A is still connected",
        Causality::Sends(script_order(), 1),
    );

    a.event("done", Causality::NeedsSent(script_order(), 1));
    // Python: client.shutdown(socket.SHUT_WR)
    // "Nothing more from me" — then wait for the server to close its side,
    // so we know it has seen A go before B goes too.
    // (Once both sides are closed the kernel forgets the peer's address, so
    // name this connection for the transcript now.)
    let server_to_a: Link = (
        conn_a.peer_addr().context("getpeername()")?.to_string(),
        conn_a.local_addr().context("getsockname()")?.to_string(),
    );
    a.closing(&conn_a, "shutdown(SHUT_WR): nothing more to send");
    conn_a
        .shutdown(Shutdown::Write)
        .context("shutdown(SHUT_WR)")?;
    let mut buf = [0u8; 64];
    if conn_a
        .read(&mut buf)
        .context("recv() until the server closes")?
        == 0
    {
        a.event(
            "recv() -> 0 bytes: the server closed its side too",
            Causality::NeedsClose(server_to_a),
        );
    }
    b.closing(&conn_b, "close()");
    Ok(())
}

fn connect_as(say: &Speaker, server: SocketAddr) -> Result<TcpStream> {
    // Python: client = socket.socket(); client.connect(('127.0.0.1', 8888))
    let stream = TcpStream::connect(server).context(format!("connect to {server}"))?;
    say.connected(&stream, format!("connect({server}) -> connected"));
    // Every wait in the demo is bounded.
    stream
        .set_read_timeout(Some(demo::PATIENCE))
        .context("set a read timeout")?;
    Ok(stream)
}

fn send_as(say: &Speaker, stream: &mut TcpStream, text: &str) -> Result<()> {
    // Python: client.sendall(b'hello from A')
    stream.write_all(text.as_bytes()).context("send")?;
    say.sent(
        stream,
        text.len(),
        format!("sendall() -> {}", shown(text.as_bytes())),
    );
    Ok(())
}

fn expect_echo(say: &Speaker, stream: &mut TcpStream, len: usize) -> Result<()> {
    let mut got = 0;
    let mut buf = [0u8; 64];
    while got < len {
        // Python: client.recv(1024)
        let n = stream
            .read(&mut buf[..len - got])
            .context("recv() the echo")?;
        if n == 0 {
            say.hung_up(stream, "recv() -> 0 bytes: the server hung up");
            return Err(Failure::new(
                "read the echo",
                ErrorKind::UnexpectedEof,
                "the server hung up",
            ));
        }
        say.received(stream, n, format!("recv() -> {}", shown(&buf[..n])));
        got += n;
    }
    Ok(())
}

// ANCHOR: backlog
/// listen(1) and never accept(): how many clients does the kernel queue?
fn show_the_backlog(addr: SocketAddr) -> Result<()> {
    let say = transcript::server();
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None).context("socket()")?;
    socket.bind(&addr.into()).context("bind")?;
    // Python: server.listen(1)
    socket.listen(1).context("listen(1)")?;
    let server = socket
        .local_addr()
        .context("getsockname()")?
        .as_socket()
        .ok_or_else(|| {
            Failure::new(
                "read the listener's address",
                ErrorKind::Other,
                "getsockname() gave no IP address",
            )
        })?;
    say.say("socket(), bind(), listen(1), and no accept(): as if busy with a long call");

    // Linux queues backlog + 1 finished handshakes.
    let mut queued = Vec::new();
    for name in ["A", "B"] {
        let client = Speaker::new(&format!("client {name}"));
        let stream = TcpStream::connect(server).context(format!("connect for client {name}"))?;
        queued.push(stream);
        client.say(format!(
            "connect() -> connected at once: the kernel queued us ({} waiting)",
            queued.len()
        ));
    }
    // The queue is full: the kernel drops C's SYN as if it were lost, and
    // the client's kernel will send it again after 1 s, then 3 s, 7 s, ...
    let c = Speaker::new("client C");
    let wait = Duration::from_millis(100);
    match TcpStream::connect_timeout(&server, wait) {
        Err(e) if e.kind() == ErrorKind::TimedOut => c.say(format!(
            "connect() -> no answer in {} ms: the queue is full, our SYN was dropped",
            wait.as_millis()
        )),
        Ok(_) => c.warn("connected: this kernel queues more than backlog + 1"),
        Err(e) => c.warn(format!("connect() -> {e}")),
    }
    c.note("a real client is not refused: it retries the SYN after 1 s, 3 s, 7 s ... and waits");

    // Python: conn, addr = server.accept()
    let (first, _) = socket.accept().context("accept()")?;
    say.say("accept() -> client A: a place in the queue is free again");
    let d = Speaker::new("client D");
    match TcpStream::connect_timeout(&server, demo::PATIENCE) {
        Ok(_) => d.say("connect() -> connected at once"),
        Err(e) => d.warn(format!("connect() -> {e}")),
    }
    say.note(
        "with many clients at once, a small backlog costs each dropped client a second: \
         std's 128 can be too small, listen(4096) is not",
    );
    drop(first);
    Ok(())
}
// ANCHOR_END: backlog
