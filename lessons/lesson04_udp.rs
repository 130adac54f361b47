//! # Lesson 04: UDP — letters, not phone calls
//!
//! TCP (lessons 02 and 03) is a phone call: dial, talk on a private line,
//! hang up. UDP is the post. There is no call to set up, so a UDP server
//! never calls `listen()` or `accept()`: it binds one socket and reads
//! *datagrams* from it — whole letters, each stamped with its sender's
//! address — and whoever it answers, it answers by writing that address on
//! the envelope. Seed 001's UDP template is exactly this loop:
//!
//! ```text
//! server: socket(SOCK_DGRAM) -> bind -> loop { recvfrom -> sendto(sender) }
//! client: socket(SOCK_DGRAM) --------> loop { sendto(server) -> recvfrom }
//! ```
//!
//! What changes when there is no connection:
//!
//! * **No connection.** One server socket talks to every client in turn;
//!   nothing tells it when a client "comes" or "goes". A read of 0 bytes is
//!   an empty letter, not a hang-up: there is nothing to hang up.
//! * **Boundaries are kept.** Three `sendto()`s arrive as three datagrams,
//!   and each `recvfrom()` returns exactly one of them. TCP is a byte stream
//!   and keeps no boundaries (lesson 07).
//! * **A letter can be cut.** A datagram bigger than the buffer you receive
//!   it into is *truncated*, silently: the rest is thrown away.
//! * **A letter can be lost**, and nobody re-sends it. A client that waits
//!   for a reply must wait with a timeout, or it may wait forever.
//! * **Size has a limit.** One datagram carries at most 65,507 bytes over
//!   IPv4 (65,535 minus the IP and UDP headers).
//! * **"Connected" UDP** is only a default address: `connect()` sends
//!   nothing, but it lets the kernel report "connection refused" when an
//!   ICMP "port unreachable" comes back.

use std::io::{self, BufRead};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use nix::errno::Errno;
use nix::sys::socket::{MsgFlags, recv};
use socket_lessons::cli::{NetArgs, Ready, WRITE_TIMEOUT, client_args_for};
use socket_lessons::explain::{self, Failure};
use socket_lessons::signals::stop_cleanly_on_signals;
use socket_lessons::text::{Utf8Decoder, bytes_repr, quoted};
use socket_lessons::transcript::{self, Speaker};
use socket_lessons::{Context, Result, demo, finish};

/// Lesson 04: UDP, seed 001's datagram loop — sendto / recvfrom with no
/// connection (one server socket answers every client by its address),
/// message boundaries kept (three sends are three receives), truncation of a
/// datagram bigger than the buffer (and how MSG_TRUNC detects it), loss (a
/// client must wait with a timeout: UDP never re-sends), the 65,507-byte
/// limit, an empty datagram that is not end-of-file, and connected UDP
/// reporting "connection refused".
///
/// With no subcommand, runs the demo: server and clients in one process.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server and the clients in one process and print what happens (the default).
    Demo,
    /// Answer every datagram, from anyone, until Ctrl-C.
    Server {
        #[command(flatten)]
        net: NetArgs,
        /// Type each reply on standard input, as in the seed, instead of
        /// acknowledging automatically.
        #[arg(long)]
        reply_from_stdin: bool,
        /// Stop after answering this many datagrams (default: until Ctrl-C).
        /// A UDP server has no clients to count — nobody connects or hangs
        /// up — so it counts datagrams. There is no idle timeout either: no
        /// client can hold a UDP server hostage by staying silent.
        #[arg(long, value_name = "N")]
        max_datagrams: Option<usize>,
    },
    /// Send each line of standard input as one datagram and print the reply.
    Client {
        #[command(flatten)]
        net: NetArgs,
        /// Seconds to wait for each reply before calling it lost. Raise it
        /// for a server whose replies are typed by hand.
        #[arg(long, value_name = "SECS", default_value_t = 5.0)]
        timeout: f64,
        /// connect() the UDP socket to the server first: the kernel then
        /// reports "connection refused" when no one is bound to its port,
        /// instead of letting us wait for the timeout.
        #[arg(long)]
        connect: bool,
    },
}

fn main() -> ExitCode {
    finish(match Cli::parse().command.unwrap_or(Command::Demo) {
        Command::Demo => run_demo(),
        Command::Server {
            net,
            reply_from_stdin,
            max_datagrams,
        } => run_server(&net, reply_from_stdin, max_datagrams),
        Command::Client {
            net,
            timeout,
            connect,
        } => run_client(&net, timeout, connect),
    })
}

/// The most one UDP datagram carries over IPv4: 65,535 bytes (the largest
/// IP packet) minus 20 for the IP header and 8 for the UDP header. IPv6 has
/// 20 more; we keep to the smaller limit so a reply fits either way.
const MAX_DATAGRAM: usize = 65_507;

/// Our receive buffer: bigger than any datagram can be, so `recv_from` can
/// never truncate. The seed's `recvfrom(1024)` can (see the demo).
const RECV_BUFFER: usize = 65_536;

/// The seed's buffer size, used in the demo to show truncation.
const SEED_BUFFER: usize = 1024;

/// The automatic acknowledgement: "Hello, I have received your message: …".
const ACKNOWLEDGEMENT: &str = "你好，我已收到你的消息：";

/// How the server answers.
#[derive(Clone, Copy)]
enum Replies {
    /// `你好，我已收到你的消息：{message}`, at once.
    Acknowledge,
    /// Whatever the operator types on stdin, as in the seed.
    TypedOnStdin,
}

fn run_server(net: &NetArgs, reply_from_stdin: bool, max: Option<usize>) -> Result<()> {
    // Ctrl-C ends the server with a goodbye instead of a dead terminal; a
    // UDP socket leaves nothing behind to clean up.
    stop_cleanly_on_signals(&transcript::server(), || {})?;
    let replies = if reply_from_stdin {
        Replies::TypedOnStdin
    } else {
        Replies::Acknowledge
    };
    let addr = net.server_addr()?;
    serve_datagrams(addr, replies, max, Ready::by_hand(env!("CARGO_BIN_NAME")))
}

fn run_client(net: &NetArgs, timeout: f64, connect: bool) -> Result<()> {
    let timeout = Duration::try_from_secs_f64(timeout)
        .ok()
        .filter(|t| !t.is_zero())
        .ok_or_else(|| {
            Failure::new(
                "read --timeout",
                io::ErrorKind::InvalidInput,
                format!("{timeout} is not a positive number of seconds"),
            )
        })?;
    send_each_line(net.addr()?, timeout, connect)
}

fn run_demo() -> Result<()> {
    transcript::note(
        "UDP: one server socket, no connection; every datagram carries its sender's address",
    );
    // Port 0: the kernel picks a free port, so the demo never collides with
    // a server you started by hand.
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("a literal address");
    // The clients below send the server exactly this many datagrams.
    let datagrams_in_the_demo = 5;
    demo::run(
        move |ready| {
            serve_datagrams(
                addr,
                Replies::Acknowledge,
                Some(datagrams_in_the_demo),
                ready,
            )
        },
        two_clients_one_server,
    )?;
    transcript::note("");
    transcript::note(
        "message boundaries: any UDP socket can send to any other; here A writes straight to B",
    );
    show_boundaries_are_kept()?;
    transcript::note("");
    transcript::note(
        "truncation: the seed receives with recvfrom(1024); what if a datagram is bigger?",
    );
    show_truncation()?;
    transcript::note("");
    transcript::note("connected UDP: connect() to a port where no socket will take our datagram");
    show_connected_udp_is_refused()?;
    transcript::note("");
    demo::by_hand(env!("CARGO_BIN_NAME"), "", "");
    transcript::note(
        "(add --reply-from-stdin to the server to type the replies yourself, as in the seed)",
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------

/// The server: answer every datagram, from whoever sent it, on one socket.
fn serve_datagrams(
    addr: SocketAddr,
    replies: Replies,
    max_datagrams: Option<usize>,
    ready: Ready<SocketAddr>,
) -> Result<()> {
    let say = transcript::server();

    // ANCHOR: server_bind
    // Python: server = socket(AF_INET, SOCK_DGRAM)
    //         server.bind(('127.0.0.1', 8888))
    // std's UdpSocket::bind is socket() + bind() in one call. That is all a
    // UDP server needs: no listen() (there are no calls to queue) and no
    // accept() (there are no connections to pick up).
    let socket = UdpSocket::bind(addr).context(format!("bind {addr}"))?;
    let local = socket.local_addr().context("getsockname()")?;
    say.say(format!(
        "socket({}, SOCK_DGRAM, 0) + bind({local})",
        family(local)
    ));
    say.note("no listen(), no accept(): this one socket will serve every client");
    // sendto() only blocks when our send buffer is full; never for longer.
    socket
        .set_write_timeout(Some(WRITE_TIMEOUT))
        .context("setsockopt(SO_SNDTIMEO)")?;
    // ANCHOR_END: server_bind
    ready.listening(&say, local, &client_args_for(local));

    let mut buf = vec![0u8; RECV_BUFFER];
    let mut answered = 0;
    loop {
        if max_datagrams.is_some_and(|max| answered >= max) {
            say.say(format!(
                "answered {answered} datagram(s), the number asked for: close()"
            ));
            return Ok(());
        }

        // ANCHOR: recv_from
        // Python: data, client_address = server.recvfrom(1024)
        // recvfrom() returns one whole datagram and the address it came
        // from. That address is the only thing that tells clients apart:
        // the next datagram may come from someone else entirely.
        let (n, sender) = match socket.recv_from(&mut buf) {
            Ok(got) => got,
            // A signal interrupted the wait; nothing was lost: wait again.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context("recvfrom(65536)"),
        };
        let datagram = &buf[..n];
        say.received_from(
            &socket,
            sender,
            n,
            format!(
                "recvfrom(65536) -> {n} bytes from {sender}: {}",
                shown(datagram)
            ),
        );
        // ANCHOR_END: recv_from
        answered += 1;

        // ANCHOR: empty_datagram
        if n == 0 {
            // On TCP a read of 0 bytes means the peer hung up (lesson 03).
            // UDP has no connection to hang up: 0 bytes is a datagram that
            // carries nothing, and it gets an answer like any other.
            say.note(
                "an empty datagram: 0 bytes is not end-of-file here, there is no connection to end",
            );
        }
        // ANCHOR_END: empty_datagram
        let message = decode_datagram(datagram, &say);

        let reply = match replies {
            Replies::Acknowledge => fit_in_one_datagram(ACKNOWLEDGEMENT, &message, &say),
            Replies::TypedOnStdin => match typed_reply(sender, &say)? {
                Some(typed) => fit_in_one_datagram("", &typed, &say),
                None => {
                    say.say("stdin ended: nobody is left to type replies; close()");
                    return Ok(());
                }
            },
        };

        // ANCHOR: send_to
        // Python: server.sendto(response_msg.encode('utf-8'), client_address)
        // The reply goes to the address the datagram came from. If that
        // client is gone, the reply is lost without a word: an unconnected
        // socket is never told. A failure here concerns this one client:
        // report it and serve the next.
        match socket.send_to(reply.as_bytes(), sender) {
            Ok(sent) => say.sent_to(
                &socket,
                sender,
                sent,
                format!(
                    "sendto({}, {sender}) -> {sent} bytes",
                    shown(reply.as_bytes())
                ),
            ),
            Err(error) => say.warn(explain::one_line(&Failure {
                doing: format!("sendto {sender}"),
                error,
            })),
        }
        // ANCHOR_END: send_to
    }
}

// ANCHOR: decode_datagram
/// A datagram's bytes as text. Unlike a TCP stream, a datagram arrives
/// whole, so a character can only be "split" if the datagram was cut
/// (truncated) or the sender sent bytes that are not UTF-8: both are shown
/// with `�` and a warning, never a crash (the seed's `decode('utf-8')`
/// raises UnicodeDecodeError and kills the server).
fn decode_datagram(datagram: &[u8], say: &Speaker) -> String {
    let mut decoder = Utf8Decoder::new();
    let mut decoded = decoder.push(datagram);
    let end = decoder.finish();
    decoded.text += &end.text;
    let invalid = decoded.invalid + end.invalid;
    if invalid > 0 {
        say.warn(format!(
            "{invalid} invalid UTF-8 sequence(s), shown as �: these bytes are not text"
        ));
        say.say(format!("decoded as UTF-8: {}", quoted(&decoded.text)));
    }
    decoded.text
}
// ANCHOR_END: decode_datagram

/// A datagram as the transcript shows it: as text when it is valid UTF-8
/// (`"你好"`; on the wire that is 6 bytes), otherwise as Python shows bytes
/// (`b'caf\xe9'`), so nothing that arrived is hidden.
fn shown(datagram: &[u8]) -> String {
    match std::str::from_utf8(datagram) {
        Ok(text) if !text.is_empty() => quoted(text),
        _ => bytes_repr(datagram),
    }
}

// ANCHOR: fit_in_one_datagram
/// `prefix` + `message` as one datagram's worth of text. The seed echoes
/// whatever it got; but an acknowledgement of a 65,507-byte message would be
/// 65,543 bytes, and sendto() would fail with EMSGSIZE ("Message too
/// long"). So the echoed part is cut, at a character boundary, and we say so.
fn fit_in_one_datagram(prefix: &str, message: &str, say: &Speaker) -> String {
    let whole = prefix.len() + message.len();
    if whole <= MAX_DATAGRAM {
        return format!("{prefix}{message}");
    }
    let ellipsis = "…";
    let mut cut = MAX_DATAGRAM - prefix.len() - ellipsis.len();
    while !message.is_char_boundary(cut) {
        cut -= 1;
    }
    say.warn(format!(
        "the reply would be {whole} bytes, more than one UDP datagram carries (65,507 over IPv4): \
         echoing only the first {cut} bytes of the message"
    ));
    format!("{prefix}{}{ellipsis}", &message[..cut])
}
// ANCHOR_END: fit_in_one_datagram

/// The seed's inner loop: ask the operator for a reply until it is not
/// empty. `None` when stdin has ended (the seed would crash with EOFError).
/// While the operator types, datagrams from everyone else wait in the
/// socket's receive buffer — and when it is full, new ones are dropped
/// without a word: UDP has no flow control to slow the senders down.
fn typed_reply(sender: SocketAddr, say: &Speaker) -> Result<Option<String>> {
    let mut line = Vec::new();
    loop {
        say.say(format!(
            "请输入发送的消息 :>>> (type the reply to {sender}, then Enter)"
        ));
        line.clear();
        let n = io::stdin()
            .lock()
            .read_until(b'\n', &mut line)
            .context("read a reply from stdin")?;
        if n == 0 {
            return Ok(None);
        }
        // Python: input().strip()
        let typed = String::from_utf8_lossy(line.trim_ascii()).into_owned();
        if typed.is_empty() {
            say.warn("当前不能为空!请重新输入! (the reply is empty; type some text)");
            continue;
        }
        return Ok(Some(typed));
    }
}

// ---------------------------------------------------------------------------
// The client
// ---------------------------------------------------------------------------

// ANCHOR: client_socket
/// A UDP socket for talking to `server`.
///
/// Python creates it with `socket(AF_INET, SOCK_DGRAM)` and lets the first
/// sendto() bind it implicitly. std binds at creation: we ask for the
/// unspecified address of the server's family (`0.0.0.0` or `::`) and port
/// 0, which is what the implicit bind does — the kernel picks a free port
/// and, per datagram, the right local address.
fn open_client_socket(server: SocketAddr, say: &Speaker) -> Result<UdpSocket> {
    let any: IpAddr = match server {
        SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    };
    let socket = UdpSocket::bind((any, 0)).context(format!("bind {any}, any free port"))?;
    let me = socket.local_addr().context("getsockname()")?;
    say.say(format!(
        "socket({}, SOCK_DGRAM, 0) + bind({any}, any free port) -> {me}",
        family(server)
    ));
    Ok(socket)
}
// ANCHOR_END: client_socket

/// The real client: one datagram per line of stdin, one reply awaited each.
fn send_each_line(server: SocketAddr, timeout: Duration, connect: bool) -> Result<()> {
    let say = transcript::client();
    let socket = open_client_socket(server, &say)?;

    // ANCHOR: connect
    // Python: client.connect(server_address)   (the seed does not)
    // On a UDP socket connect() sends nothing; nobody answers it. It only
    // records a default peer: send() goes there, recv() takes datagrams from
    // there only — and an ICMP "port unreachable" coming back is reported
    // to us as ECONNREFUSED, which an unconnected socket never hears of.
    if connect {
        socket
            .connect(server)
            .context(format!("connect to {server}"))?;
        say.say(format!(
            "connect({server}) -> Ok, but no packet was sent: UDP only remembers the peer"
        ));
    }
    // ANCHOR_END: connect

    say.note("type a message and press Enter; end with Ctrl-D");
    let mut stdin = io::stdin().lock();
    let mut line = Vec::new();
    let (mut unanswered, mut too_big) = (0, 0);
    loop {
        line.clear();
        let n = stdin
            .read_until(b'\n', &mut line)
            .context("read a line from stdin")?;
        if n == 0 {
            break;
        }
        // Python: input(...).strip() — and the seed's check for nothing typed.
        let message = line.trim_ascii();
        if message.is_empty() {
            say.warn("当前不能为空!请重新输入! (an empty line is not sent; type some text)");
            continue;
        }
        if std::str::from_utf8(message).is_err() {
            say.warn("this line is not valid UTF-8; sending its bytes as they are");
        }
        discard_late_replies(&socket, server, &say)?;
        if !send_message(&socket, server, connect, message, &say)? {
            too_big += 1;
            continue;
        }
        if recv_reply(&socket, server, connect, timeout, &say)?.is_none() {
            unanswered += 1;
        }
    }
    say.say("stdin ended: close()");
    drop(socket);

    if unanswered > 0 {
        return Err(Failure::new(
            format!("talk to {server} over UDP"),
            io::ErrorKind::TimedOut,
            format!("{unanswered} message(s) got no reply"),
        ));
    }
    if too_big > 0 {
        return Err(Failure::new(
            format!("talk to {server} over UDP"),
            io::ErrorKind::InvalidInput,
            format!("{too_big} line(s) were too long for one datagram and were not sent"),
        ));
    }
    Ok(())
}

// ANCHOR: client_send
/// Send `bytes` to the server as one datagram. `false` if it is too big for
/// one (nothing was sent then).
fn send_message(
    socket: &UdpSocket,
    server: SocketAddr,
    connected: bool,
    bytes: &[u8],
    say: &Speaker,
) -> Result<bool> {
    // Python: client.sendto(send_to_server_msg.encode('utf-8'), server_address)
    // A successful sendto() means the datagram left *us*. Whether anyone
    // receives it, nobody will ever tell us.
    let (call, sent) = if connected {
        ("send", socket.send(bytes))
    } else {
        ("sendto", socket.send_to(bytes, server))
    };
    match sent {
        Ok(n) => {
            say.sent_to(
                socket,
                server,
                n,
                format!("{call}({}, {server}) -> {n} bytes", shown(bytes)),
            );
            Ok(true)
        }
        // One datagram cannot be split across two; the kernel refuses it
        // whole. (A TCP stream has no such limit: it is not made of messages.)
        Err(e) if e.raw_os_error() == Some(Errno::EMSGSIZE as i32) => {
            say.warn(format!(
                "{call}() of {} bytes -> {e} [EMSGSIZE]: one UDP datagram carries at most \
                 65,507 bytes over IPv4, so nothing was sent; split the message or use TCP",
                bytes.len()
            ));
            Ok(false)
        }
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => Err(refused(server, e, say)),
        Err(e) => Err(e).context(format!("{call} to {server}")),
    }
}
// ANCHOR_END: client_send

// ANCHOR: client_recv
/// Wait (at most `timeout`) for the server's reply; `None` if none came.
fn recv_reply(
    socket: &UdpSocket,
    server: SocketAddr,
    connected: bool,
    timeout: Duration,
    say: &Speaker,
) -> Result<Option<String>> {
    let mut buf = vec![0u8; RECV_BUFFER];
    let deadline = Instant::now() + timeout;
    loop {
        // Python: data, server_response_address = client.recvfrom(1024)
        // The seed waits forever; but a datagram, or the reply to it, can
        // be lost, and then "forever" is what it gets. So: a timeout.
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(no_reply(server, timeout, connected, say));
        }
        socket
            .set_read_timeout(Some(left))
            .context("setsockopt(SO_RCVTIMEO)")?;
        let (n, from) = match socket.recv_from(&mut buf) {
            Ok(got) => got,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(no_reply(server, timeout, connected, say));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                return Err(refused(server, e, say));
            }
            Err(e) => return Err(e).context("recvfrom(65536)"),
        };
        say.received_from(
            socket,
            from,
            n,
            format!(
                "recvfrom(65536) -> {n} bytes from {from}: {}",
                shown(&buf[..n])
            ),
        );
        // An unconnected UDP socket takes datagrams from *anyone* who knows
        // its port. The seed prints whatever comes; we check the envelope.
        if !same_address(from, server) {
            say.warn(format!(
                "that datagram came from {from}, not from the server {server}: ignored"
            ));
            continue;
        }
        return Ok(Some(decode_datagram(&buf[..n], say)));
    }
}
// ANCHOR_END: client_recv

// ANCHOR: late_replies
/// Throw away datagrams that arrived while we were not waiting: a reply
/// that came after we gave up on it would otherwise be taken for the answer
/// to the *next* message, and every answer after it would be off by one.
/// (This shrinks the window; it cannot close it. Real protocols number
/// their messages and match replies to requests by number.)
fn discard_late_replies(socket: &UdpSocket, server: SocketAddr, say: &Speaker) -> Result<()> {
    // Non-blocking for a moment: take what is queued, never wait.
    socket
        .set_nonblocking(true)
        .context("set_nonblocking(true)")?;
    let mut buf = vec![0u8; RECV_BUFFER];
    let drained = loop {
        match socket.recv_from(&mut buf) {
            Ok((n, from)) => {
                say.received_from(
                    socket,
                    from,
                    n,
                    format!(
                        "recvfrom(65536) -> {n} bytes from {from}: {}",
                        shown(&buf[..n])
                    ),
                );
                say.warn("a late reply, after we stopped waiting for it: discarded, so it is not taken for the next answer");
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => break Err(e),
        }
    };
    socket
        .set_nonblocking(false)
        .context("set_nonblocking(false)")?;
    match drained {
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => Err(refused(server, e, say)),
        other => other.context("recvfrom(65536), non-blocking"),
    }
}
// ANCHOR_END: late_replies

/// No reply in time: say what that means for UDP, and go on.
fn no_reply(
    server: SocketAddr,
    timeout: Duration,
    connected: bool,
    say: &Speaker,
) -> Option<String> {
    say.warn(format!(
        "no reply from {server} within {:.1} s: our datagram or its reply may have been lost \
         (UDP never re-sends), or the server is slow or not running{}",
        timeout.as_secs_f64(),
        if connected {
            ""
        } else {
            " — an unconnected socket is never told which (try --connect)"
        }
    ));
    // If the reply is only late, it arrives after we gave up: see
    // discard_late_replies().
    None
}

/// ECONNREFUSED on a connected UDP socket, explained for UDP.
fn refused(server: SocketAddr, error: io::Error, say: &Speaker) -> Failure {
    say.warn(format!(
        "{error}: an ICMP \"port unreachable\" came back for an earlier datagram — no socket \
         at {server} takes our datagrams; the kernel reports it on the next call"
    ));
    Failure {
        doing: format!("talk to {server} over connected UDP"),
        error,
    }
}

/// Is `from` the address we sent to? (An IPv4 address may come back as
/// `::ffff:a.b.c.d` on a dual-stack socket: compare canonically.)
fn same_address(from: SocketAddr, to: SocketAddr) -> bool {
    from.port() == to.port() && from.ip().to_canonical() == to.ip().to_canonical()
}

// ---------------------------------------------------------------------------
// The demo's scenes
// ---------------------------------------------------------------------------

/// Scene 1: client A and client B, each with its own socket, take turns
/// with one server socket. Client B then sends what a careful server must
/// survive: an empty datagram, bytes that are not UTF-8, the largest
/// datagram there is, and one byte more.
fn two_clients_one_server(server: SocketAddr) -> Result<()> {
    let timeout = Duration::from_secs(5);
    let a = Speaker::new("client A");
    let socket_a = open_client_socket(server, &a)?;
    a.note("text travels as its UTF-8 bytes: \"我是客户端A\" is 6 characters, 16 bytes");
    send_message(&socket_a, server, false, "我是客户端A".as_bytes(), &a)?;
    recv_reply(&socket_a, server, false, timeout, &a)?;

    let b = Speaker::new("client B");
    let socket_b = open_client_socket(server, &b)?;
    b.note("another socket, another port; the server reads it on the same socket as A: no accept(), nothing new");
    send_message(&socket_b, server, false, "我是客户端B".as_bytes(), &b)?;
    recv_reply(&socket_b, server, false, timeout, &b)?;

    b.note("the real client refuses empty lines, as the seed does; a raw socket may send 0 bytes:");
    send_message(&socket_b, server, false, b"", &b)?;
    recv_reply(&socket_b, server, false, timeout, &b)?;
    send_message(&socket_b, server, false, b"caf\xe9 au lait", &b)?;
    recv_reply(&socket_b, server, false, timeout, &b)?;
    b.note("the largest datagram IPv4 allows, 65,507 bytes, then one byte more:");
    let largest = vec![b'x'; MAX_DATAGRAM];
    send_message(&socket_b, server, false, &largest, &b)?;
    recv_reply(&socket_b, server, false, timeout, &b)?;
    let too_large = vec![b'x'; MAX_DATAGRAM + 1];
    send_message(&socket_b, server, false, &too_large, &b)?;
    Ok(())
}

// ANCHOR: boundaries
/// Scene 2: three sendto()s, three recvfrom()s, one datagram each.
fn show_boundaries_are_kept() -> Result<()> {
    let (a, b) = (Speaker::new("client A"), Speaker::new("client B"));
    let socket_a = UdpSocket::bind("127.0.0.1:0").context("bind client A")?;
    let socket_b = UdpSocket::bind("127.0.0.1:0").context("bind client B")?;
    let (addr_a, addr_b) = (local(&socket_a)?, local(&socket_b)?);
    a.say(format!("bound to {addr_a}"));
    b.say(format!("bound to {addr_b}"));
    for word in ["one", "two", "three"] {
        let n = socket_a
            .send_to(word.as_bytes(), addr_b)
            .context("sendto client B")?;
        a.sent_to(
            &socket_a,
            addr_b,
            n,
            format!("sendto({}, {addr_b}) -> {n} bytes", shown(word.as_bytes())),
        );
    }
    // All three datagrams are waiting now, 11 bytes in all, and the buffer
    // holds 1024. Still, each recvfrom() returns exactly one datagram.
    bounded(&socket_b)?;
    let mut buf = [0u8; SEED_BUFFER];
    for _ in 0..3 {
        let (n, from) = socket_b.recv_from(&mut buf).context("recvfrom(1024)")?;
        b.received_from(
            &socket_b,
            from,
            n,
            format!(
                "recvfrom(1024) -> {n} bytes from {from}: {}",
                shown(&buf[..n])
            ),
        );
    }
    b.note("three datagrams in, three out, never glued together: UDP keeps message boundaries");
    b.note(
        "(TCP is a byte stream: the same three sends may be read as one b'onetwothree', lesson 07)",
    );
    Ok(())
}
// ANCHOR_END: boundaries

// ANCHOR: truncation
/// Scene 3: a datagram bigger than the receive buffer is cut, silently —
/// and how to find out.
fn show_truncation() -> Result<()> {
    let (a, b) = (Speaker::new("client A"), Speaker::new("client B"));
    let socket_a = UdpSocket::bind("127.0.0.1:0").context("bind client A")?;
    let socket_b = UdpSocket::bind("127.0.0.1:0").context("bind client B")?;
    let (addr_a, addr_b) = (local(&socket_a)?, local(&socket_b)?);
    bounded(&socket_b)?;
    // 500 characters of 3 bytes each: 1500 bytes, more than 1024.
    let big = "数".repeat(500);
    let send_to_b = |bytes: &[u8]| -> Result<()> {
        let n = socket_a.send_to(bytes, addr_b).context("sendto client B")?;
        a.sent_to(
            &socket_a,
            addr_b,
            n,
            format!("sendto({}, {addr_b}) -> {n} bytes", shown(bytes)),
        );
        Ok(())
    };
    let mut buf = [0u8; SEED_BUFFER];

    // Python: data, addr = b.recvfrom(1024)  — 1024 bytes, and no error.
    send_to_b(big.as_bytes())?;
    let (n, from) = socket_b.recv_from(&mut buf).context("recvfrom(1024)")?;
    b.received_from(
        &socket_b,
        from,
        n,
        format!("recvfrom(1024) -> {n} bytes from {from}, and no error: nothing says anything is missing"),
    );
    decode_datagram(&buf[..n], &b);
    b.note("the cut even split a character: 1024 is not a multiple of 3");

    // The rest is not kept for later: the next call gets the next datagram.
    send_to_b(b"next")?;
    let (n, from) = socket_b.recv_from(&mut buf).context("recvfrom(1024)")?;
    b.received_from(
        &socket_b,
        from,
        n,
        format!(
            "recvfrom(1024) -> {n} bytes from {from}: {}",
            shown(&buf[..n])
        ),
    );
    b.note(format!(
        "the other {} bytes of the big datagram are gone for good",
        big.len() - SEED_BUFFER
    ));

    // Detecting it: with the MSG_TRUNC flag, Linux's recv() returns the
    // datagram's real length, even though it still copies only 1024 bytes.
    // (Python: recvmsg() and `flags & socket.MSG_TRUNC`.)
    send_to_b(big.as_bytes())?;
    let real = recv(socket_b.as_raw_fd(), &mut buf, MsgFlags::MSG_TRUNC)
        .context("recv(1024, MSG_TRUNC)")?;
    b.received_from(
        &socket_b,
        addr_a,
        real.min(SEED_BUFFER),
        format!("recv(1024, MSG_TRUNC) -> {real}: the datagram had {real} bytes"),
    );
    if real > SEED_BUFFER {
        b.warn(format!(
            "truncated: {real} > {SEED_BUFFER}, so {} bytes were lost",
            real - SEED_BUFFER
        ));
    }
    b.note("the simplest cure: a 65,536-byte buffer, which no datagram can overflow (our server and client use one)");
    Ok(())
}
// ANCHOR_END: truncation

// ANCHOR: connected_refused
/// Scene 4: connect() a UDP socket to a port where no socket takes our
/// datagram; the ICMP "port unreachable" that comes back turns into
/// ECONNREFUSED on the next call.
fn show_connected_udp_is_refused() -> Result<()> {
    let c = Speaker::new("client C");
    // The port must be closed for sure, with no race. "Bind a socket, drop
    // it, use its port" leaves a moment in which any program may take the
    // port. Instead we keep a socket bound to the port — nobody else can
    // bind it — and connect() that socket to *itself*. The kernel hands an
    // incoming datagram only to a socket whose connected peer is the
    // datagram's sender, so ours matches no socket at all, exactly as if
    // the port were free, and the kernel answers ICMP "port unreachable".
    let holder = UdpSocket::bind("127.0.0.1:0").context("bind the port holder")?;
    let closed = local(&holder)?;
    holder
        .connect(closed)
        .context("connect the port holder to itself")?;

    let socket = UdpSocket::bind("127.0.0.1:0").context("bind client C")?;
    bounded(&socket)?;
    socket
        .connect(closed)
        .context(format!("connect to {closed}"))?;
    c.say(format!(
        "connect({closed}) -> Ok: nothing was sent, so nothing could be refused yet"
    ));
    let hello = b"anyone there?";
    let n = socket.send(hello).context(format!("send to {closed}"))?;
    c.sent_to(
        &socket,
        closed,
        n,
        format!(
            "send({}) -> {n} bytes: it left, that is all we know",
            shown(hello)
        ),
    );
    let mut buf = [0u8; 64];
    // The ICMP error may arrive before or after we call recv(); either way
    // it wakes recv() up, so the outcome does not depend on timing.
    match socket.recv(&mut buf) {
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            c.say(format!("recv() -> {e} [ECONNREFUSED]"));
            c.note("an ICMP \"port unreachable\" came back, and the kernel reports it on the next call on this socket");
            c.note("an unconnected socket (sendto) is never told: it would just wait — try the client with and without --connect");
        }
        Err(e) => c.warn(format!(
            "recv() -> {e}: no ICMP error came back (a firewall may drop them)"
        )),
        Ok(n) => c.warn(format!("recv() -> {n} bytes: someone answered after all")),
    }
    drop(holder);
    Ok(())
}
// ANCHOR_END: connected_refused

/// The address a socket is bound to.
fn local(socket: &UdpSocket) -> Result<SocketAddr> {
    socket.local_addr().context("getsockname()")
}

/// Every wait in the demo is bounded: a datagram that never comes turns
/// into an error after a few seconds, not a hung terminal.
fn bounded(socket: &UdpSocket) -> Result<()> {
    socket
        .set_read_timeout(Some(demo::PATIENCE))
        .context("setsockopt(SO_RCVTIMEO)")
}

fn family(addr: SocketAddr) -> &'static str {
    if addr.is_ipv4() {
        "AF_INET"
    } else {
        "AF_INET6"
    }
}
