//! # Lesson 07: send, sendall, and where a message ends
//!
//! Seeds 001 and 002 list two ways to send on a TCP socket: `send()` "returns
//! the number of bytes sent", `sendall()` "tries to send everything". Seed 001
//! adds that when the data is larger than the free space in our send buffer,
//! `send` **loses data** ("数据丢失,不会发完"). That is wrong, and the
//! difference matters: `send` never loses a byte. It copies *as much as fits*
//! into the kernel's send buffer and returns how many bytes that was. The
//! rest never left your program; it is still in your buffer, and sending it
//! is your job. `sendall` (Rust: `write_all`) is exactly that job: a loop
//! around `send` until every byte is taken. Ignore `send`'s return value and
//! you drop the tail yourself, which is what the seed mistakes for loss.
//!
//! The receiving side has the mirror-image surprise: TCP is a *byte stream*.
//! It keeps the order of bytes, not the boundaries of your sends. Three
//! sends may arrive as one `recv`, one send as three. So the seeds'
//! `conn.recv(1024).decode('utf-8')` is wrong twice: it may get half a
//! message, or two, and it may cut a Chinese character in half (UTF-8 uses
//! 3 bytes for one), which makes `decode` raise `UnicodeDecodeError`.
//!
//! The cure is *framing*: the two ends agree where a message ends. This
//! lesson shows the two classic ways, a newline after each message and a
//! 4-byte length before it, with an echo server that speaks either
//! (`--framing line|length`). The same readers live in `socket_lessons::framing`
//! for the later lessons, with limits that a hostile peer cannot talk past.
//!
//! The demo runs in four parts:
//!
//! 1. a short write, for real: `send` takes only part of 16 MiB;
//! 2. three sends read as one recv, one send read as three recvs;
//! 3. a character split across two reads: the broken decode, then the fix;
//! 4. the echo server with each framing, including a lying length prefix.

use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::mpsc;

use clap::{Parser, Subcommand, ValueEnum};
use socket_lessons::cli::{NetArgs, Ready, ServerArgs, WRITE_TIMEOUT, client_args_for};
use socket_lessons::explain::{Failure, errno_name, one_line};
use socket_lessons::framing::{
    FrameReader, FramingError, LineReader, MAX_FRAME_LEN, MAX_LINE_LEN, PREFIX_LEN, encode_frame,
    encode_line, framing_error,
};
use socket_lessons::signals::stop_cleanly_on_signals;
use socket_lessons::text::{Utf8Decoder, bytes_repr, quoted};
use socket_lessons::transcript::{self, Speaker};
use socket_lessons::{Context, Result, demo, finish};
use socket2::SockRef;

/// Lesson 07: send vs sendall (write vs write_all), short writes, TCP as a
/// byte stream with no message boundaries, a UTF-8 character split across
/// reads, and framing: newline-delimited or length-prefixed messages.
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
    /// Show short writes, the byte stream and framing in one process (the default).
    Demo,
    /// An echo server that sends every message back, framed the same way.
    Server {
        #[command(flatten)]
        server: ServerArgs,
        /// How a message ends: `line` (a newline after it; try it with nc)
        /// or `length` (a 4-byte big-endian length before it).
        #[arg(long, value_enum, default_value_t = Framing::Line)]
        framing: Framing,
    },
    /// Send each line you type as one message and print the echo.
    Client {
        #[command(flatten)]
        net: NetArgs,
        /// Must match the server's --framing.
        #[arg(long, value_enum, default_value_t = Framing::Line)]
        framing: Framing,
    },
}

/// How the two ends agree where a message ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Framing {
    /// Every message ends with `\n`.
    Line,
    /// Every message starts with its length: 4 bytes, big-endian.
    Length,
}

fn main() -> ExitCode {
    finish(match Cli::parse().command.unwrap_or(Command::Demo) {
        Command::Demo => run_demo(),
        Command::Server { server, framing } => {
            let say = transcript::server();
            stop_cleanly_on_signals(&say, || {})
                .and_then(|()| serve_echo(&server, framing, Ready::by_hand(env!("CARGO_BIN_NAME"))))
        }
        Command::Client { net, framing } => {
            if io::stdin().is_terminal() {
                transcript::client().note("type a message and press Enter; Ctrl-D hangs up");
            }
            net.addr()
                .and_then(|addr| echo_client(addr, framing, io::stdin().lock()))
        }
    })
}

fn run_demo() -> Result<()> {
    let any_port: SocketAddr = "127.0.0.1:0".parse().expect("a literal address");

    transcript::note("part 1: send() may take only part of what you give it");
    // Demo plumbing, not a socket call: the client tells the server thread
    // when to start reading, so the buffers are certainly full before that.
    let (start_reading, wait_for_go) = mpsc::channel();
    demo::run(
        move |ready| read_everything_later(any_port, wait_for_go, ready),
        move |addr| send_more_than_fits(addr, start_reading),
    )?;

    transcript::note("part 2: TCP keeps the order of bytes, not the boundaries of sends");
    demo::run(
        move |ready| read_without_framing(any_port, ready),
        send_without_framing,
    )?;

    transcript::note("part 4: framing - the two ends agree where a message ends");
    let once = ServerArgs {
        max_clients: Some(1),
        ..ServerArgs::default()
    };
    let args = once.clone();
    demo::run(
        move |ready| serve_echo(&args, Framing::Line, ready),
        send_lines_cut_anywhere,
    )?;
    demo::run(
        move |ready| serve_echo(&once, Framing::Length, ready),
        send_frames_and_a_lie,
    )?;
    demo::by_hand(
        env!("CARGO_BIN_NAME"),
        "--framing length",
        "--framing length",
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// Part 1: a short write
// ---------------------------------------------------------------------------

/// 16 MiB: more than any send buffer plus receive buffer on a normal system,
/// and certainly more than the small ones we ask for below.
const BIG: usize = 16 * 1024 * 1024;

/// The byte at offset `i` of the big message: a pattern, so the server can
/// check that every byte arrived in order and none was lost.
fn pattern(i: usize) -> u8 {
    (i % 251) as u8
}

/// The server of part 1: accept, read nothing until told, then read all.
fn read_everything_later(
    addr: SocketAddr,
    wait_for_go: mpsc::Receiver<()>,
    ready: Ready<SocketAddr>,
) -> Result<()> {
    let say = transcript::server();
    let listener = TcpListener::bind(addr).context(format!("bind {addr}"))?;
    // Python: server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    // A small receive buffer (accepted sockets inherit it) fills up sooner.
    SockRef::from(&listener)
        .set_recv_buffer_size(64 * 1024)
        .context("setsockopt(SO_RCVBUF)")?;
    let local = listener.local_addr().context("getsockname()")?;
    ready.listening(&say, local, "");

    let (mut conn, peer) = listener.accept().context("accept()")?;
    say.accepted(&conn, format!("accept() -> a connection from {peer}"));
    say.say("not reading yet: what the client sends piles up in our receive buffer");
    wait_for_go.recv_timeout(demo::PATIENCE).map_err(|_| {
        Failure::new(
            "wait for the client's go-ahead",
            io::ErrorKind::TimedOut,
            "the client never said go",
        )
    })?;

    // ANCHOR: read_everything
    // Python: while data := conn.recv(65536): total += len(data)
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0;
    let mut first_wrong = None;
    loop {
        let n = conn.read(&mut buf).context("recv(65536)")?;
        if n == 0 {
            break;
        }
        for (i, &b) in buf[..n].iter().enumerate() {
            if b != pattern(total + i) && first_wrong.is_none() {
                first_wrong = Some(total + i);
            }
        }
        total += n;
    }
    // ANCHOR_END: read_everything
    say.received(
        &conn,
        total,
        format!("recv() in a loop -> {total} bytes in total"),
    );
    say.hung_up(&conn, "recv() -> 0 bytes: the client hung up");
    match first_wrong {
        None if total == BIG => say.say("every byte arrived, in order: send() lost nothing"),
        None => say.warn(format!("only {total} of {BIG} bytes arrived")),
        Some(at) => say.warn(format!("byte {at} is not what was sent")),
    }
    say.closing(&conn, "close()");
    Ok(())
}

/// The client of part 1: send 16 MiB to a server that is not reading.
fn send_more_than_fits(server: SocketAddr, start_reading: mpsc::Sender<()>) -> Result<()> {
    let say = transcript::client();
    let mut stream = TcpStream::connect(server).context(format!("connect to {server}"))?;
    say.connected(&stream, format!("connect({server})"));

    // ANCHOR: short_write
    // Python: client.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
    // Our side's buffer: `send` returns once the bytes are copied into it.
    SockRef::from(&stream)
        .set_send_buffer_size(64 * 1024)
        .context("setsockopt(SO_SNDBUF)")?;
    // Python: client.setblocking(False)
    // A blocking send would wait for room instead of returning early (and
    // with a write timeout it, too, returns a short count). Non-blocking
    // makes the short write certain: nobody reads on the other side.
    stream.set_nonblocking(true).context("setblocking(False)")?;

    let message: Vec<u8> = (0..BIG).map(pattern).collect();
    // Python: n = client.send(message)
    let n = stream.write(&message).context("send()")?;
    say.sent(
        &stream,
        n,
        format!("send(<{BIG} bytes>) -> {n}: the kernel took {n} of {BIG} bytes"),
    );
    // ANCHOR_END: short_write
    if n == BIG {
        say.warn(
            "the kernel took everything at once (unusually large buffers): no short write to see",
        );
    }

    // ANCHOR: would_block
    // Python: client.send(message[n:])  ->  BlockingIOError: [Errno 11]
    // Call send() again until it refuses: both buffers are full, so the
    // kernel says "try again later" (EAGAIN) instead of taking more.
    let mut taken = n;
    let refusal = loop {
        match stream.write(&message[taken..]) {
            Ok(more) => taken += more,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break e,
            Err(e) => return Err(e).context("send() the rest"),
        }
        if taken == BIG {
            break io::Error::from(io::ErrorKind::WouldBlock);
        }
    };
    say.sent(
        &stream,
        taken - n,
        format!(
            "send(the rest) again -> {:?} (os error {}, {}; Python: BlockingIOError): no room left",
            refusal.kind(),
            refusal.raw_os_error().unwrap_or(0),
            refusal
                .raw_os_error()
                .and_then(errno_name)
                .unwrap_or_default()
        ),
    );
    say.note("nothing is lost: the bytes the kernel did not take are still in our buffer; sending them is our job");
    // ANCHOR_END: would_block

    // ANCHOR: sendall
    start_reading.send(()).ok();
    say.say("(the server starts reading now)");
    // Python: client.setblocking(True); client.sendall(message[taken:])
    // write_all is sendall: it calls write (send) again and again, waiting
    // for room each time, until every byte is taken. In non-blocking mode
    // it would fail with WouldBlock and not tell us how much it had sent:
    // that is why we switch back to blocking first.
    stream.set_nonblocking(false).context("setblocking(True)")?;
    stream
        .set_write_timeout(Some(WRITE_TIMEOUT))
        .context("settimeout()")?;
    stream
        .write_all(&message[taken..])
        .context("sendall() the rest")?;
    say.sent(
        &stream,
        BIG - taken,
        format!("sendall(the rest) -> done: all {BIG} bytes are on their way"),
    );
    // ANCHOR_END: sendall
    say.closing(&stream, "shutdown(SHUT_WR): no more data from us");
    stream.shutdown(Shutdown::Write).context("shutdown()")?;
    // Wait for the server to finish reading and close: then we know it got
    // everything before we drop our end.
    let mut rest = [0u8; 1];
    let n = stream.read(&mut rest).context("recv()")?;
    if n == 0 {
        say.hung_up(&stream, "recv() -> 0 bytes: the server hung up");
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Parts 2 and 3: no framing
// ---------------------------------------------------------------------------

/// Block until at least `n` bytes are waiting in the receive buffer, without
/// taking them (`MSG_PEEK`). Only the demo needs this, to make sure every
/// byte has *arrived* before we `recv`, so what recv returns is decided by
/// the byte stream alone, not by timing.
fn wait_until_arrived(conn: &TcpStream, n: usize) -> Result<()> {
    let mut peek = vec![0u8; n];
    loop {
        // Python: conn.recv(n, socket.MSG_PEEK)
        let seen = conn.peek(&mut peek).context("recv(MSG_PEEK)")?;
        if seen >= n {
            return Ok(());
        }
        if seen == 0 {
            return Err(Failure::new(
                "wait for the client's bytes",
                io::ErrorKind::UnexpectedEof,
                "the client hung up early",
            ));
        }
    }
}

/// The server of parts 2 and 3: plain recv() calls, no framing.
fn read_without_framing(addr: SocketAddr, ready: Ready<SocketAddr>) -> Result<()> {
    let say = transcript::server();
    let listener = TcpListener::bind(addr).context(format!("bind {addr}"))?;
    let local = listener.local_addr().context("getsockname()")?;
    ready.listening(&say, local, "");
    let (mut conn, peer) = listener.accept().context("accept()")?;
    say.accepted(&conn, format!("accept() -> a connection from {peer}"));

    // ANCHOR: three_sends_one_recv
    // The client sent b'hello', b'world' and b'!' with three send() calls.
    wait_until_arrived(&conn, 11)?;
    // Python: data = conn.recv(1024)
    let mut buf = [0u8; 1024];
    let n = conn.read(&mut buf).context("recv(1024)")?;
    say.received(
        &conn,
        n,
        format!(
            "recv(1024) -> {} ({n} bytes): three sends, one recv",
            bytes_repr(&buf[..n])
        ),
    );
    // ANCHOR_END: three_sends_one_recv
    next_please(&mut conn, &say)?;

    // ANCHOR: one_send_three_recvs
    // The client sent b'0123456789' with one send(); we read 4 bytes at a time.
    wait_until_arrived(&conn, 10)?;
    let mut small = [0u8; 4];
    for _ in 0..3 {
        // Python: data = conn.recv(4)
        let n = conn.read(&mut small).context("recv(4)")?;
        say.received(&conn, n, format!("recv(4) -> {}", bytes_repr(&small[..n])));
    }
    say.note("one send, three recvs: a recv returns what has arrived, up to the size you ask for");
    // ANCHOR_END: one_send_three_recvs
    next_please(&mut conn, &say)?;

    // ANCHOR: split_character
    // The client sent "你好", 6 bytes: e4 bd a0 | e5 a5 bd. A 4-byte recv
    // ends one byte into 好.
    wait_until_arrived(&conn, 6)?;
    let n = conn.read(&mut small).context("recv(4)")?;
    let first = &small[..n];
    say.received(&conn, n, format!("recv(4) -> {}", bytes_repr(first)));
    // Python: data.decode('utf-8') raises UnicodeDecodeError: 'utf-8' codec
    // can't decode byte 0xe5 in position 3: unexpected end of data
    match String::from_utf8(first.to_vec()) {
        Ok(text) => say.say(format!("String::from_utf8 -> Ok({})", quoted(&text))),
        Err(e) => {
            say.warn(format!("String::from_utf8 -> Err: {}", e.utf8_error()));
            say.note(format!(
                "decode with replacement instead and you get {}: a character that was never sent",
                quoted(&String::from_utf8_lossy(first))
            ));
        }
    }
    // The fix (lessons 02 and 03 already use it): an incremental decoder
    // that keeps the bytes of an unfinished character for the next read,
    // like Python's codecs.getincrementaldecoder('utf-8')().
    let mut decoder = Utf8Decoder::new();
    let piece = decoder.push(first);
    say.say(format!(
        "Utf8Decoder.push -> {}, keeping {} byte for the next read",
        quoted(&piece.text),
        piece.pending
    ));
    let n = conn.read(&mut small).context("recv(4)")?;
    say.received(&conn, n, format!("recv(4) -> {}", bytes_repr(&small[..n])));
    let rest = decoder.push(&small[..n]);
    say.say(format!(
        "Utf8Decoder.push -> {}: together {}",
        quoted(&rest.text),
        quoted(&(piece.text + &rest.text))
    ));
    // ANCHOR_END: split_character

    let n = conn.read(&mut small).context("recv(4)")?;
    if n == 0 {
        say.hung_up(&conn, "recv(4) -> 0 bytes: the client hung up");
    }
    say.closing(&conn, "close()");
    Ok(())
}

/// Demo plumbing: tell the client the previous experiment is done, so its
/// next bytes cannot mix with this one's.
fn next_please(conn: &mut TcpStream, say: &Speaker) -> Result<()> {
    conn.write_all(b"next").context("send(b'next')")?;
    say.sent(conn, 4, "send(b'next'): ready for the next experiment");
    Ok(())
}

/// The client of parts 2 and 3.
fn send_without_framing(server: SocketAddr) -> Result<()> {
    let say = transcript::client();
    let mut stream = TcpStream::connect(server).context(format!("connect to {server}"))?;
    say.connected(&stream, format!("connect({server})"));

    // Python: client.send(b'hello'); client.send(b'world'); client.send(b'!')
    for piece in [&b"hello"[..], b"world", b"!"] {
        stream.write_all(piece).context("send()")?;
        say.sent(
            &stream,
            piece.len(),
            format!("send({}) -> {}", bytes_repr(piece), piece.len()),
        );
    }
    wait_for_next(&mut stream, &say)?;

    // Python: client.send(b'0123456789')
    stream.write_all(b"0123456789").context("send()")?;
    say.sent(&stream, 10, "send(b'0123456789') -> 10");
    wait_for_next(&mut stream, &say)?;

    say.note("part 3: a character cut in half by a recv() boundary");
    // Python: client.send('你好'.encode('utf-8'))
    let hello = "你好".as_bytes();
    stream.write_all(hello).context("send()")?;
    say.sent(
        &stream,
        hello.len(),
        format!("send({}) -> {} (\"你好\")", bytes_repr(hello), hello.len()),
    );
    say.closing(&stream, "close()");
    stream.shutdown(Shutdown::Write).context("shutdown()")?;
    // Linger until the server has read everything and closed its end.
    let mut rest = [0u8; 1];
    if stream.read(&mut rest).context("recv()")? == 0 {
        say.hung_up(&stream, "recv() -> 0 bytes: the server hung up");
    }
    Ok(())
}

fn wait_for_next(stream: &mut TcpStream, say: &Speaker) -> Result<()> {
    let mut next = [0u8; 4];
    stream.read_exact(&mut next).context("recv(4)")?;
    say.received(stream, 4, format!("recv(4) -> {}", bytes_repr(&next)));
    Ok(())
}

// ---------------------------------------------------------------------------
// Part 4: framing, and the echo server
// ---------------------------------------------------------------------------

/// The echo server: serve clients one after another; each message comes
/// back framed the same way.
fn serve_echo(args: &ServerArgs, framing: Framing, ready: Ready<SocketAddr>) -> Result<()> {
    let say = transcript::server();
    let addr = args.net.server_addr()?;
    // Python: server = socket(); server.bind(addr); server.listen()
    let listener = TcpListener::bind(addr).context(format!("bind {addr}"))?;
    let local = listener.local_addr().context("getsockname()")?;
    say.say(format!("an echo server; a message ends {}", framing.rule()));
    let client_args = format!("--framing {} {}", framing.name(), client_args_for(local));
    ready.listening(&say, local, &client_args);

    let mut served = 0;
    while !args.done_after(served) {
        // Python: conn, addr = server.accept()
        let (conn, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(e) => {
                say.warn(format!("accept() failed: {e}; waiting for the next client"));
                continue;
            }
        };
        served += 1;
        say.accepted(&conn, format!("accept() -> client #{served} from {peer}"));
        if let Err(failure) = echo_messages(&conn, args, framing, &say) {
            say.warn(format!("client #{served}: {}", one_line(&failure)));
        }
    }
    Ok(())
}

// ANCHOR: echo_messages
/// Read whole messages and send each one back, until the client hangs up.
fn echo_messages(
    conn: &TcpStream,
    args: &ServerArgs,
    framing: Framing,
    say: &Speaker,
) -> Result<()> {
    conn.set_read_timeout(Some(args.idle_timeout()))
        .context("set the idle timeout")?;
    conn.set_write_timeout(Some(WRITE_TIMEOUT))
        .context("set the write timeout")?;
    // The reader asks the socket for up to 8 KiB at a time and cuts what
    // arrives into messages: bytes after the end of one message are kept for
    // the next, and a message that has not fully arrived is read on. Its
    // limit keeps a peer from making us store an endless line or frame.
    let mut messages = Messages::new(conn, framing);
    loop {
        let message = match messages.next() {
            Ok(Some(message)) => message,
            Ok(None) => {
                say.hung_up(
                    conn,
                    "the client hung up (recv -> 0 bytes) between messages",
                );
                break;
            }
            // A broken frame or a line without end: the stream is out of
            // step (where would the next message start?). Say why, hang up.
            Err(e) => {
                if let Some(broken) = framing_error(&e) {
                    say.received(conn, bytes_seen(broken), format!("refused: {broken}"));
                    say.warn(broken.why());
                    say.closing(conn, "hanging up on this client");
                    return Ok(());
                }
                // Linux reports a read timeout as WouldBlock (EAGAIN), not
                // TimedOut (lesson 08); accept both.
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) {
                    say.warn(format!(
                        "no message for {} s: hanging up on this client",
                        args.idle_timeout().as_secs()
                    ));
                    return Ok(());
                }
                return Err(e).context("read a message");
            }
        };
        let wire = framing.encode(&message)?;
        say.received(
            conn,
            wire.len(),
            format!(
                "{} -> {} ({} bytes on the wire)",
                framing.read_call(),
                shown_text(&message),
                wire.len()
            ),
        );
        // Python: conn.sendall(frame)
        let mut out = conn;
        out.write_all(&wire).context("sendall() the echo")?;
        say.sent(
            conn,
            wire.len(),
            format!("sendall({}) -> the echo", bytes_repr(&wire)),
        );
    }
    say.closing(conn, "close()");
    Ok(())
}
// ANCHOR_END: echo_messages

/// The messages on one connection, read with the chosen framing.
enum Messages<'a> {
    Lines(LineReader<&'a TcpStream>),
    Frames(FrameReader<&'a TcpStream>),
}

impl<'a> Messages<'a> {
    fn new(conn: &'a TcpStream, framing: Framing) -> Self {
        match framing {
            Framing::Line => Messages::Lines(LineReader::new(conn, MAX_LINE_LEN)),
            Framing::Length => Messages::Frames(FrameReader::new(conn, MAX_FRAME_LEN)),
        }
    }

    /// The next whole message, or `None` when the peer hung up cleanly.
    fn next(&mut self) -> io::Result<Option<Vec<u8>>> {
        match self {
            Messages::Lines(lines) => lines.read_line(),
            Messages::Frames(frames) => frames.read_frame(),
        }
    }
}

impl Framing {
    fn name(self) -> &'static str {
        match self {
            Framing::Line => "line",
            Framing::Length => "length",
        }
    }

    fn read_call(self) -> &'static str {
        match self {
            Framing::Line => "read_line()",
            Framing::Length => "read_frame()",
        }
    }

    fn rule(self) -> &'static str {
        match self {
            Framing::Line => "with a newline (b'\\n')",
            Framing::Length => "where its 4-byte big-endian length prefix says",
        }
    }

    // ANCHOR: encode
    /// The bytes that carry `message`: a newline after it, or its length
    /// before it (Python: `struct.pack('>I', len(data)) + data`).
    fn encode(self, message: &[u8]) -> Result<Vec<u8>> {
        match self {
            Framing::Line => encode_line(message).context("frame the message as a line"),
            Framing::Length => encode_frame(message, MAX_FRAME_LEN).context("frame the message"),
        }
    }
    // ANCHOR_END: encode
}

/// Part 4a: lines whose sends are cut in odd places; the server still
/// sees exactly the two messages.
fn send_lines_cut_anywhere(server: SocketAddr) -> Result<()> {
    let say = transcript::client();
    let mut stream = TcpStream::connect(server).context(format!("connect to {server}"))?;
    say.connected(&stream, format!("connect({server})"));
    // "hello\n你好\n" sent in two pieces: the first ends inside 你.
    let wire = "hello\n你好\n".as_bytes();
    say.note("two messages, cut in the wrong places: the first send ends inside 你");
    for piece in [&wire[..8], &wire[8..]] {
        stream.write_all(piece).context("send()")?;
        say.sent(
            &stream,
            piece.len(),
            format!("send({}) -> {}", bytes_repr(piece), piece.len()),
        );
    }
    let mut echoes = LineReader::new(&stream, MAX_LINE_LEN);
    for _ in 0..2 {
        match echoes.read_line().context("read the echo")? {
            Some(echo) => say.received(
                &stream,
                echo.len() + 1,
                format!("echo {}", shown_text(&echo)),
            ),
            None => break,
        }
    }
    say.closing(&stream, "close()");
    stream.shutdown(Shutdown::Both).ok();
    Ok(())
}

/// Part 4b: length-prefixed frames, then a prefix that lies.
fn send_frames_and_a_lie(server: SocketAddr) -> Result<()> {
    let say = transcript::client();
    let mut stream = TcpStream::connect(server).context(format!("connect to {server}"))?;
    say.connected(&stream, format!("connect({server})"));

    // ANCHOR: length_prefix
    // A newline inside is fine: the length says where the message ends.
    let message = "two\nlines, 两行".as_bytes();
    // Python: client.sendall(struct.pack('>I', len(data)) + data)
    let mut wire = (message.len() as u32).to_be_bytes().to_vec();
    wire.extend_from_slice(message);
    stream.write_all(&wire).context("sendall()")?;
    say.sent(
        &stream,
        wire.len(),
        format!(
            "sendall({}) -> length {} as 4 bytes, then the message",
            bytes_repr(&wire),
            message.len()
        ),
    );
    // ANCHOR_END: length_prefix
    let mut echoes = FrameReader::new(&stream, MAX_FRAME_LEN);
    if let Some(echo) = echoes.read_frame().context("read the echo")? {
        say.received(
            &stream,
            echo.len() + 4,
            format!("echo {}", shown_text(&echo)),
        );
    }

    // ANCHOR: lying_prefix
    // A prefix of ff ff ff ff announces 4 GiB. A reader that trusted it
    // would try to allocate 4 GiB; ours checks the cap first.
    let lie = [0xff, 0xff, 0xff, 0xff];
    (&stream).write_all(&lie).context("sendall()")?;
    say.sent(
        &stream,
        lie.len(),
        format!(
            "sendall({}) -> a prefix that claims 4294967295 bytes",
            bytes_repr(&lie)
        ),
    );
    // ANCHOR_END: lying_prefix
    match echoes.read_frame() {
        Ok(None) => say.hung_up(&stream, "recv -> 0 bytes: the server hung up on us"),
        Ok(Some(echo)) => say.warn(format!("unexpected echo {}", bytes_repr(&echo))),
        Err(e) => say.warn(format!("the server reset the connection: {e}")),
    }
    say.closing(&stream, "close()");
    Ok(())
}

/// How many bytes must have arrived for the reader to find this fault (the
/// demo's transcript orders the line after the bytes that caused it).
fn bytes_seen(broken: &FramingError) -> usize {
    match broken {
        FramingError::LineTooLong { max_len } => max_len + 1,
        FramingError::FrameTooBig { .. } => PREFIX_LEN,
        FramingError::HungUpMidLine { got } | FramingError::HungUpMidFrame { got, .. } => *got,
        FramingError::NewlineInLine => 0,
    }
}

/// A message shown as text when it is UTF-8, as bytes when it is not.
fn shown_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => quoted(text),
        Err(_) => bytes_repr(bytes),
    }
}

// ---------------------------------------------------------------------------
// The client you run by hand
// ---------------------------------------------------------------------------

// ANCHOR: echo_client
/// Send each input line as one message, framed; print each echo.
fn echo_client(server: SocketAddr, framing: Framing, input: impl BufRead) -> Result<()> {
    let say = transcript::client();
    // Python: client = socket(); client.connect(addr)
    let stream = TcpStream::connect(server).context(format!("connect to {server}"))?;
    say.connected(&stream, format!("connect({server})"));
    let mut echoes = Messages::new(&stream, framing);
    for line in input.split(b'\n') {
        let line = line.context("read a line from stdin")?;
        let message = line.strip_suffix(b"\r").unwrap_or(&line);
        if message.is_empty() {
            say.warn("empty line not sent: an empty message would be a frame with nothing in it; type some text");
            continue;
        }
        let wire = framing.encode(message)?;
        // Python: client.sendall(frame)
        (&stream).write_all(&wire).context("sendall()")?;
        say.sent(
            &stream,
            wire.len(),
            format!("sendall({})", bytes_repr(&wire)),
        );
        match echoes.next().context("read the echo")? {
            Some(echo) => say.received(&stream, wire.len(), format!("echo {}", shown_text(&echo))),
            None => {
                say.hung_up(&stream, "the server hung up");
                return Ok(());
            }
        }
    }
    // End of input: tell the server we are done, then wait for its close.
    say.closing(&stream, "shutdown(SHUT_WR): no more messages");
    stream.shutdown(Shutdown::Write).context("shutdown()")?;
    if echoes
        .next()
        .context("wait for the server to close")?
        .is_none()
    {
        say.hung_up(&stream, "the server closed the connection too");
    }
    Ok(())
}
// ANCHOR_END: echo_client
