//! # Lesson 10: a socket is a file
//!
//! Seed 002 says it plainly: in Unix "everything is a file", and a socket is
//! a special file you open, read, write and close. Seed 001 lists the two
//! calls that make this visible: `fileno()` gives the socket's *file
//! descriptor*, the small number the kernel knows it by, and `makefile()`
//! wraps the socket in a file object so you can read it line by line.
//!
//! * **fileno** is `as_raw_fd()` in Rust. `/proc/self/fd/N` shows what the
//!   number stands for: `socket:[INODE]`, and the same inode is in the row of
//!   `/proc/net/tcp` that describes the connection.
//! * **makefile** is `BufReader::new(&stream)` and `BufWriter::new(&stream)`.
//!   A `BufReader` reads big chunks and hands out lines (`read_until`,
//!   `lines()`), so a *line protocol* — one request line, one reply line —
//!   takes a few lines of code. A `BufWriter` collects small writes and sends
//!   them together, which is why it must be **flushed**: until then, the
//!   bytes sit in your process and the peer waits for nothing.
//! * **shutdown(Write)** is a half-close: "I am done sending", while still
//!   reading. The peer's read returns 0 (end of file), and it can still
//!   answer. Writing after your own shutdown fails with EPIPE.
//!
//! The server here is a line service: for each line it answers the line in
//! capitals and its word count, and when the client is done it answers with
//! a total. A line may be at most 64 KiB: a client that sends a megabyte
//! without a newline is told why and cut off, instead of making the server
//! buffer it all.

use std::io::{self, BufRead, BufReader, BufWriter, Cursor, IsTerminal, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use socket_lessons::cli::{NetArgs, Ready, ServerArgs, WRITE_TIMEOUT, client_args_for};
use socket_lessons::explain::{Failure, one_line};
use socket_lessons::signals::stop_cleanly_on_signals;
use socket_lessons::text::{bytes_repr, quoted};
use socket_lessons::transcript::{self, Causality, Link, Speaker, name_of};
use socket_lessons::{Context, Result, demo, finish};

/// Lesson 10: a socket is a file — its descriptor (fileno) and
/// /proc/self/fd, BufReader/BufWriter over a stream (makefile), a line
/// protocol with a maximum line length, why a BufWriter must be flushed,
/// and shutdown(Write): the half-close.
///
/// With no subcommand, runs the demo: the server and clients in one process.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server and clients in one process and print the conversation (the default).
    Demo,
    /// Answer each line in capitals with its word count; a total at the end.
    Server {
        #[command(flatten)]
        server: ServerArgs,
        /// The longest line accepted, in bytes (without the newline).
        #[arg(long, default_value_t = MAX_LINE)]
        max_line: usize,
    },
    /// Send every line of stdin, half-close, then print every reply until the server hangs up.
    Client {
        #[command(flatten)]
        net: NetArgs,
    },
}

/// The longest line the server accepts by default (64 KiB).
const MAX_LINE: usize = 64 * 1024;

/// After an overlong line, how much more of the client's input the server
/// reads and throws away (so the client can finish sending and read why it
/// was cut off) before it simply closes.
const DISCARD_AT_MOST: u64 = 16 * 1024 * 1024;

fn main() -> ExitCode {
    finish(match Cli::parse().command.unwrap_or(Command::Demo) {
        Command::Demo => run_demo(),
        Command::Server { server, max_line } => {
            let say = transcript::server();
            stop_cleanly_on_signals(&say, || {}).and_then(|()| {
                serve_lines(&server, max_line, Ready::by_hand(env!("CARGO_BIN_NAME")))
            })
        }
        Command::Client { net } => {
            let say = transcript::client();
            if io::stdin().is_terminal() {
                say.note("type lines; Ctrl-D sends them all and half-closes");
            }
            net.addr()
                .and_then(|addr| send_all_then_read_replies(addr, io::stdin().lock(), &say))
        }
    })
}

fn run_demo() -> Result<()> {
    transcript::note("1. a line service: BufReader/BufWriter over the socket, then a half-close");
    let args = ServerArgs {
        max_clients: Some(2),
        ..ServerArgs::default()
    };
    demo::run(
        move |ready| serve_lines(&args, MAX_LINE, ready),
        |addr| {
            send_all_then_read_replies(
                addr,
                Cursor::new("hello world\nthe quick brown fox\n"),
                &Speaker::new("client A"),
            )?;
            // One megabyte and no newline: more than the server will hold.
            transcript::note("client B sends a 1 MiB line with no newline");
            let huge = vec![b'x'; 1024 * 1024];
            send_all_then_read_replies(addr, Cursor::new(huge), &Speaker::new("client B"))
        },
    )?;

    transcript::note("2. a BufWriter keeps what you write until you flush it");
    let (written_tx, written_rx) = mpsc::channel();
    let (checked_tx, checked_rx) = mpsc::channel();
    demo::run(
        move |ready| reply_with_a_late_flush(ready, written_tx, checked_rx),
        move |addr| look_for_the_reply_before_and_after_flush(addr, written_rx, checked_tx),
    )?;

    demo::by_hand(env!("CARGO_BIN_NAME"), "", "");
    transcript::note(
        "type lines in the client; Ctrl-D sends them and half-closes; try `nc -N 127.0.0.1 8888` too",
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// The line server
// ---------------------------------------------------------------------------

/// The server: the accept loop.
fn serve_lines(args: &ServerArgs, max_line: usize, ready: Ready<SocketAddr>) -> Result<()> {
    let say = transcript::server();
    let addr = args.net.server_addr()?;
    let listener = TcpListener::bind(addr).context(format!("bind {addr}"))?;
    let local = listener.local_addr().context("getsockname()")?;
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
        // Python: conn.fileno(), server.fileno()
        say.accepted(
            &conn,
            format!(
                "accept() -> client #{served} from {peer}, on fd {} (the listener is fd {})",
                conn.as_raw_fd(),
                listener.as_raw_fd()
            ),
        );
        if let Err(failure) = serve_one_client(&conn, args, max_line, &say) {
            say.warn(format!("client #{served}: {}", one_line(&failure)));
        }
        say.closing(&conn, "close()");
        drop(conn);
    }
    say.say(format!(
        "served {served} clients; closing the listening socket"
    ));
    Ok(())
}

// ANCHOR: serve_one_client
/// One request line in, one reply line out, until the client is done
/// sending; then a total, though the client will send nothing more.
fn serve_one_client(
    conn: &TcpStream,
    args: &ServerArgs,
    max_line: usize,
    say: &Speaker,
) -> Result<()> {
    conn.set_read_timeout(Some(args.idle_timeout()))
        .context("set the idle timeout")?;
    conn.set_write_timeout(Some(WRITE_TIMEOUT))
        .context("set the write timeout")?;

    // Python: reader = conn.makefile('rb'); writer = conn.makefile('wb')
    // `&TcpStream` is both Read and Write, so one socket can lend itself to
    // a reader and a writer at once; both are the same file descriptor.
    let mut reader = BufReader::new(conn);
    let mut writer = BufWriter::new(conn);

    let (mut lines, mut words) = (0, 0);
    let mut line = Vec::new();
    loop {
        match read_line_at_most(&mut reader, max_line, &mut line).context("read a line")? {
            Line::Complete | Line::Unterminated => {
                say.received(conn, line.len(), format!("line {}", bytes_repr(&line)));
                let text = String::from_utf8_lossy(&line);
                if let std::borrow::Cow::Owned(_) = text {
                    say.warn("not valid UTF-8: shown with � in the reply");
                }
                let text = text.trim_end_matches(['\n', '\r']);
                let count = text.split_whitespace().count();
                lines += 1;
                words += count;
                let reply = format!("{} ({count} words)\n", text.to_uppercase());
                // Into the BufWriter: nothing is sent yet...
                writer
                    .write_all(reply.as_bytes())
                    .context("write a reply")?;
                // ...until the flush. One flush per reply keeps this simple;
                // a busy server would flush only when `reader.buffer()` is
                // empty, i.e. before it waits for more input.
                writer.flush().context("flush the reply")?;
                say.sent(
                    conn,
                    reply.len(),
                    format!("reply {}", quoted(reply.trim_end())),
                );
            }
            Line::TooLong => {
                say.received(
                    conn,
                    line.len(),
                    format!(
                        "{} bytes and no newline: over the {max_line}-byte limit",
                        line.len()
                    ),
                );
                return cut_off(&mut reader, &mut writer, max_line, say);
            }
            Line::End => {
                // Python: if not reader.readline(): ...
                say.hung_up(
                    conn,
                    "read -> 0 bytes: end of file, the client is done sending",
                );
                break;
            }
        }
    }
    // The client half-closed, but its receiving side is open: answer.
    let total = format!("total: {lines} lines, {words} words\n");
    writer
        .write_all(total.as_bytes())
        .context("write the total")?;
    writer.flush().context("flush the total")?;
    say.sent(
        conn,
        total.len(),
        format!("reply {} after the client's EOF", quoted(total.trim_end())),
    );
    Ok(())
}
// ANCHOR_END: serve_one_client

// ANCHOR: read_line_at_most
/// What one bounded line read found.
enum Line {
    /// A line ending in `\n` (kept in the buffer).
    Complete,
    /// The last bytes before end of file, with no `\n`.
    Unterminated,
    /// More than the limit without a `\n`: the buffer holds limit + 1 bytes.
    TooLong,
    /// End of file: nothing more will come.
    End,
}

/// `read_until(b'\n')` on a leash. Plain `read_until` (or `lines()`) keeps
/// reading until it sees a newline, however many bytes that takes; `take`
/// stops it after `max + 1` bytes, so memory stays bounded.
fn read_line_at_most(
    reader: &mut impl BufRead,
    max: usize,
    line: &mut Vec<u8>,
) -> io::Result<Line> {
    line.clear();
    let n = reader.take(max as u64 + 1).read_until(b'\n', line)?;
    Ok(if n == 0 {
        Line::End
    } else if line.ends_with(b"\n") {
        Line::Complete
    } else if n > max {
        Line::TooLong
    } else {
        Line::Unterminated
    })
}
// ANCHOR_END: read_line_at_most

// ANCHOR: cut_off
/// Tell a client why it is cut off, in a way it can actually read.
fn cut_off(
    reader: &mut BufReader<&TcpStream>,
    writer: &mut BufWriter<&TcpStream>,
    max_line: usize,
    say: &Speaker,
) -> Result<()> {
    let conn = *writer.get_ref();
    let why = format!("error: line longer than {max_line} bytes; hanging up\n");
    writer
        .write_all(why.as_bytes())
        .context("write the error")?;
    writer.flush().context("flush the error")?;
    say.sent(conn, why.len(), format!("reply {}", quoted(why.trim_end())));
    // Closing now, with the client's bytes still unread, would make the
    // kernel send a reset (RST), and the client could lose our message. So:
    // half-close our side, then read and throw away the rest of its input
    // (bounded in bytes and by the idle timeout) until it is done.
    say.closing(
        conn,
        "shutdown(Write), then discard the rest of the client's input",
    );
    conn.shutdown(Shutdown::Write).context("shutdown(Write)")?;
    let discarded = io::copy(&mut reader.take(DISCARD_AT_MOST), &mut io::sink());
    match discarded {
        Ok(n) if n < DISCARD_AT_MOST => {
            say.hung_up(conn, format!("discarded {n} more bytes, then end of file"))
        }
        Ok(n) => say.warn(format!(
            "discarded {n} bytes and the client is still sending: closing"
        )),
        Err(e) => say.warn(format!("stopped discarding: {}", Failure::from(e))),
    }
    Ok(())
}
// ANCHOR_END: cut_off

// ---------------------------------------------------------------------------
// The client
// ---------------------------------------------------------------------------

// ANCHOR: client
/// Send every input line, half-close, then read every reply until EOF.
fn send_all_then_read_replies(
    server: SocketAddr,
    mut input: impl BufRead,
    say: &Speaker,
) -> Result<()> {
    // Python: client = socket.socket(); client.connect(addr)
    let stream = TcpStream::connect(server).context(format!("connect to {server}"))?;
    say.connected(&stream, format!("connect({server}) -> connected"));
    show_what_the_fd_is(&stream, say);
    // Once both sides have closed, the kernel forgets the peer's name, so
    // we note now how the transcript names the server-to-us direction.
    let from_server = link_from_peer(&stream)?;

    // Python: writer = client.makefile('wb')
    let mut writer = BufWriter::new(&stream);
    let mut line = Vec::new();
    let mut buffered = 0;
    loop {
        line.clear();
        // Our own input may be long too; it is ours, so no limit here.
        if input.read_until(b'\n', &mut line).context("read stdin")? == 0 {
            break;
        }
        if line.trim_ascii().is_empty() {
            say.warn("empty line not sent: the service has nothing to say about it");
            continue;
        }
        writer.write_all(&line).context("write a line")?;
        buffered += line.len();
        if writer.buffer().is_empty() {
            // A write larger than the buffer bypasses it.
            say.say(format!(
                "write {}: bigger than the BufWriter's {} bytes, so it went straight to the socket",
                bytes_repr(&line),
                writer.capacity()
            ));
        } else {
            say.say(format!(
                "write {} into the BufWriter: {} bytes buffered, none sent",
                bytes_repr(&line),
                writer.buffer().len()
            ));
        }
    }
    // Python: writer.flush()
    writer.flush().context("flush")?;
    say.sent(
        &stream,
        buffered,
        format!("flush() -> all {buffered} bytes handed to the kernel"),
    );
    drop(writer);

    // ANCHOR: half_close
    // Python: client.shutdown(socket.SHUT_WR)
    // "I am done sending": the server's read returns 0 (end of file), yet
    // we can still read its answers.
    say.closing(&stream, "shutdown(Write): done sending, still reading");
    stream
        .shutdown(Shutdown::Write)
        .context("shutdown(Write)")?;
    // Writing after our own shutdown is refused locally, by our kernel.
    match (&stream).write(b"one more\n") {
        Ok(n) => say.warn(format!("write after shutdown(Write) -> {n} bytes?!")),
        Err(e) => say.say(format!(
            "write after shutdown(Write) -> {}",
            Failure::from(e)
        )),
    }
    // ANCHOR_END: half_close

    // Python: for line in client.makefile('rb'): ...
    // Bounded like the server's reads: a server is a peer like any other.
    let mut reader = BufReader::new(&stream);
    let mut reply = Vec::new();
    loop {
        match read_line_at_most(&mut reader, MAX_LINE, &mut reply).context("read a reply")? {
            Line::Complete | Line::Unterminated => say.event(
                format!(
                    "read line -> {}",
                    quoted(String::from_utf8_lossy(&reply).trim_end())
                ),
                Causality::NeedsSent(from_server.clone(), reply.len()),
            ),
            Line::TooLong => {
                return Err(Failure::new(
                    "read a reply",
                    io::ErrorKind::InvalidData,
                    format!("a reply line longer than {MAX_LINE} bytes"),
                ));
            }
            Line::End => {
                say.event(
                    "read -> 0 bytes: the server hung up",
                    Causality::NeedsClose(from_server),
                );
                break;
            }
        }
    }
    say.say("close()");
    Ok(())
}
// ANCHOR_END: client

/// (server, us): the direction of the replies, named as the transcript does.
fn link_from_peer(stream: &TcpStream) -> Result<Link> {
    let peer = stream.peer_addr().context("getpeername()")?;
    let local = stream.local_addr().context("getsockname()")?;
    Ok((name_of(&peer.into()), name_of(&local.into())))
}

// ANCHOR: fileno
/// fileno(): the number, and what the kernel says it stands for.
fn show_what_the_fd_is(stream: &TcpStream, say: &Speaker) {
    // Python: client.fileno()
    let fd = stream.as_raw_fd();
    // A symlink per open file: for a socket it reads `socket:[INODE]`.
    let target = std::fs::read_link(format!("/proc/self/fd/{fd}"))
        .map(|t| t.display().to_string())
        .unwrap_or_else(|e| format!("unreadable ({e})"));
    say.say(format!(
        "as_raw_fd() -> fd {fd}, and /proc/self/fd says it is {target}"
    ));
    // The same inode names the connection in /proc/net/tcp (and `ss -e`).
    let inode = target
        .strip_prefix("socket:[")
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or("?");
    if let Some((local, remote)) = tcp_row_with_inode(inode) {
        say.say(format!(
            "/proc/net/tcp row of socket:[{inode}]: {local} -> {remote}, the connection itself"
        ));
    }
}

/// The local and remote address of the /proc/net/tcp row with this inode.
fn tcp_row_with_inode(inode: &str) -> Option<(SocketAddr, SocketAddr)> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let addr = |field: &str| -> Option<SocketAddr> {
        let (ip, port) = field.split_once(':')?;
        let ip = u32::from_str_radix(ip, 16).ok()?;
        Some(SocketAddr::from((
            Ipv4Addr::from(ip.to_ne_bytes()),
            u16::from_str_radix(port, 16).ok()?,
        )))
    };
    table.lines().skip(1).find_map(|row| {
        let f: Vec<&str> = row.split_whitespace().collect();
        if f.get(9) == Some(&inode) {
            Some((addr(f.get(1)?)?, addr(f.get(2)?)?))
        } else {
            None
        }
    })
}
// ANCHOR_END: fileno

// ---------------------------------------------------------------------------
// Part 2: the flush
// ---------------------------------------------------------------------------

// ANCHOR: late_flush
/// Write a reply into a BufWriter, let the client look for it, then flush.
fn reply_with_a_late_flush(
    ready: Ready<SocketAddr>,
    written: mpsc::Sender<()>,
    checked: mpsc::Receiver<()>,
) -> Result<()> {
    let say = transcript::server();
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("bind 127.0.0.1:0")?;
    let local = listener.local_addr().context("getsockname()")?;
    ready.listening(&say, local, "");
    let (conn, peer) = listener.accept().context("accept()")?;
    say.accepted(&conn, format!("accept() -> a connection from {peer}"));

    let mut writer = BufWriter::new(&conn);
    writer.write_all(b"hello\n").context("write")?;
    say.say(format!(
        "write b'hello\\n' into the BufWriter: {} bytes wait in our process",
        writer.buffer().len()
    ));
    // The demo's two threads take turns here, so the order is certain.
    let _ = written.send(());
    checked.recv_timeout(demo::PATIENCE).map_err(|_| {
        Failure::new(
            "wait for the client",
            io::ErrorKind::TimedOut,
            "it did not look",
        )
    })?;

    say.event(
        "the client has looked; now flush()",
        Causality::NeedsSent(looked(), 1),
    );
    // Python: writer.flush()
    writer.flush().context("flush")?;
    say.sent(
        &conn,
        6,
        "flush() -> the 6 bytes go to the kernel, and on to the client",
    );
    // Dropping a BufWriter flushes too, but silently ignores any error:
    // flush explicitly.
    drop(writer);
    say.closing(&conn, "close()");
    Ok(())
}

/// Peek without blocking before the flush (nothing there), then after.
fn look_for_the_reply_before_and_after_flush(
    server: SocketAddr,
    written: mpsc::Receiver<()>,
    checked: mpsc::Sender<()>,
) -> Result<()> {
    let say = transcript::client();
    let stream = TcpStream::connect(server).context(format!("connect to {server}"))?;
    say.connected(&stream, format!("connect({server}) -> connected"));
    written.recv_timeout(demo::PATIENCE).map_err(|_| {
        Failure::new(
            "wait for the server",
            io::ErrorKind::TimedOut,
            "it did not write",
        )
    })?;

    // Python: client.setblocking(False); client.recv(16, socket.MSG_PEEK)
    let mut buf = [0u8; 16];
    stream.set_nonblocking(true).context("set_nonblocking")?;
    match stream.peek(&mut buf) {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => say.event(
            "peek (non-blocking) -> WouldBlock: nothing has arrived, though the server wrote",
            Causality::Sends(looked(), 1),
        ),
        Ok(n) => say.warn(format!("peek -> {n} bytes arrived before the flush?!")),
        Err(e) => return Err(e).context("peek"),
    }
    stream.set_nonblocking(false).context("set_nonblocking")?;
    let _ = checked.send(());

    // Blocking now (bounded): returns once the flushed bytes are here.
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .context("set the read timeout")?;
    let n = stream.peek(&mut buf).context("peek")?;
    say.received(
        &stream,
        n,
        format!("peek (blocking) -> {}", bytes_repr(&buf[..n])),
    );
    let mut rest = Vec::new();
    (&stream).read_to_end(&mut rest).context("read")?;
    say.hung_up(&stream, "read to the end -> the server hung up");
    say.say("close()");
    Ok(())
}
// ANCHOR_END: late_flush

/// Not a socket: the demo's "the client has looked" hand-over, so the
/// transcript shows the peek before the flush, as it happened.
fn looked() -> Link {
    ("client's peek".into(), "server's flush".into())
}
