//! # Lesson 03: keep the line open
//!
//! Lesson 02 made one call and hung up. Real servers loop twice, as seed 001's
//! "loop template" and seed 004's echo server do:
//!
//! ```text
//! server = socket(); bind(); listen()
//! while True:                      # the accept loop: one client after another
//!     conn = server.accept()
//!     while True:                  # the message loop: one conversation
//!         data = conn.recv(1024)
//!         if not data: break       # 0 bytes: the client hung up
//!         conn.send(reply)
//!     conn.close()
//! ```
//!
//! Three rules make the loops end properly, and each is a bug in some seed:
//!
//! * A `recv` that returns **0 bytes** means the peer hung up. It is not an
//!   error and not an empty message; a loop that does not check for it spins
//!   forever, because every later `recv` returns 0 again.
//! * A client must not send an **empty message**: `send(b"")` sends nothing
//!   at all, so the server's `recv` goes on waiting and the client waits for
//!   a reply that never comes. Seed 001 refuses empty input; seed 004 does
//!   not, and its client hangs on an empty line.
//! * **`exit`** is the polite way to end (seed 004): the client says it, the
//!   server closes this conversation and turns to the next client.
//!
//! The server answers automatically, in the spirit of seed 004 (`你好，我已收到
//! 你的消息：…`), or, with `--reply-from-stdin`, lets you type each reply as in
//! seeds 000 and 001. The client reads lines from standard input, so both
//! `cargo run --bin lesson03_tcp_loop -- client` (you type) and
//! `printf 'hi\nexit\n' | … client` (a script types) work.

use std::io::{BufRead, Cursor, IsTerminal, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use socket_lessons::cli::{NetArgs, Ready, ServerArgs, WRITE_TIMEOUT, client_args_for};
use socket_lessons::explain::{Failure, one_line};
use socket_lessons::signals::stop_cleanly_on_signals;
use socket_lessons::text::{Utf8Decoder, bytes_repr, quoted};
use socket_lessons::transcript::{self, Speaker};
use socket_lessons::{Context, Result, demo, finish};

/// Lesson 03: a TCP server that serves client after client, and talks with
/// each until it hangs up (recv returns 0 bytes) or says `exit` — seed 001's
/// loop templates and seed 004's echo server.
///
/// With no subcommand, runs the demo: the server and two clients in one
/// process.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server and two clients in one process and print the conversation (the default).
    Demo,
    /// Serve clients one after another, replying to every message.
    Server {
        #[command(flatten)]
        server: ServerArgs,
        /// Type each reply yourself (as in seeds 000 and 001) instead of the automatic acknowledgement.
        #[arg(long)]
        reply_from_stdin: bool,
    },
    /// Send each line of standard input and print each reply; `exit` quits.
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
            reply_from_stdin,
        } => {
            let replies = if reply_from_stdin {
                Replies::Typed
            } else {
                Replies::Automatic
            };
            let say = transcript::server();
            stop_cleanly_on_signals(&say, || {}).and_then(|()| {
                serve_forever(&server, replies, Ready::by_hand(env!("CARGO_BIN_NAME")))
            })
        }
        Command::Client { net } => {
            let say = transcript::client();
            if std::io::stdin().is_terminal() {
                say.note("type a message and press Enter; `exit` quits");
            }
            net.addr()
                .and_then(|addr| chat(addr, std::io::stdin().lock(), &say))
        }
    })
}

fn run_demo() -> Result<()> {
    transcript::note(
        "one server, two clients one after the other; the server replies automatically",
    );
    let args = ServerArgs {
        max_clients: Some(2),
        ..ServerArgs::default()
    };
    demo::run(
        move |ready| serve_forever(&args, Replies::Automatic, ready),
        |addr| {
            // The first client types two messages, an empty line, and `exit`.
            chat(
                addr,
                Cursor::new("hello\n\n你好，世界\nexit\n"),
                &Speaker::new("client A"),
            )?;
            // The second one says one thing, then its input ends: it just
            // hangs up, and the server sees a recv of 0 bytes.
            chat(
                addr,
                Cursor::new("second client here\n"),
                &Speaker::new("client B"),
            )
        },
    )?;
    demo::by_hand(env!("CARGO_BIN_NAME"), "", "");
    transcript::note(
        "type lines in the client; `exit` (or Ctrl-D) ends the conversation, Ctrl-C stops the server",
    );
    Ok(())
}

/// Where the server's replies come from.
enum Replies {
    /// `你好，我已收到你的消息：<message>`, like seed 004's server.
    Automatic,
    /// Typed by the operator on standard input, like seeds 000 and 001.
    Typed,
}

/// The server: the accept loop.
fn serve_forever(args: &ServerArgs, replies: Replies, ready: Ready<SocketAddr>) -> Result<()> {
    let say = transcript::server();
    let addr = args.net.server_addr()?;

    // ANCHOR: bind
    // Python: server = socket(); server.bind(addr); server.listen(5)
    // std's TcpListener::bind does all three (and sets SO_REUSEADDR, so a
    // restart does not fail while old connections linger in TIME_WAIT).
    // Its backlog is always 128; lesson 02 shows how to choose it.
    let listener = TcpListener::bind(addr).context(format!("bind {addr}"))?;
    let local = listener.local_addr().context("getsockname()")?;
    // ANCHOR_END: bind
    ready.listening(&say, local, &client_args_for(local));

    // ANCHOR: accept_loop
    let mut served = 0;
    // Python: while True: conn, addr = server.accept()
    while !args.done_after(served) {
        let (conn, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            // A client that gave up while still in the queue, or a full fd
            // table: the listening socket itself is fine, so keep going.
            Err(e) => {
                say.warn(format!("accept() failed: {e}; waiting for the next client"));
                continue;
            }
        };
        served += 1;
        say.accepted(&conn, format!("accept() -> client #{served} from {peer}"));
        // One client's trouble (a reset, garbage, silence) ends that
        // conversation only; the server turns to the next client.
        if let Err(failure) = serve_one_client(conn, args, &replies, &say) {
            say.warn(format!("client #{served}: {}", one_line(&failure)));
        }
    }
    // ANCHOR_END: accept_loop
    say.say(format!(
        "served {served} clients; closing the listening socket"
    ));
    Ok(())
}

// ANCHOR: serve_one_client
/// The message loop: read, reply, until the client hangs up or says `exit`.
fn serve_one_client(
    mut conn: TcpStream,
    args: &ServerArgs,
    replies: &Replies,
    say: &Speaker,
) -> Result<()> {
    // Give up on a client that goes silent, and on one that stops reading
    // our replies: with one client at a time, either would block everyone.
    conn.set_read_timeout(Some(args.idle_timeout()))
        .context("set the idle timeout")?;
    conn.set_write_timeout(Some(WRITE_TIMEOUT))
        .context("set the write timeout")?;

    let mut decoder = Utf8Decoder::new();
    let mut message = String::new();
    let mut buf = [0u8; 1024];
    loop {
        // Python: data = conn.recv(1024)
        let n = match conn.read(&mut buf) {
            Ok(n) => n,
            Err(e) if is_timeout(&e) => {
                say.warn(format!(
                    "no message for {} s: hanging up on this client",
                    args.idle_timeout().as_secs()
                ));
                return Ok(());
            }
            Err(e) => return Err(e).context("recv(1024)"),
        };
        // Python: if not data: break
        if n == 0 {
            say.hung_up(&conn, "recv(1024) -> 0 bytes: the client hung up");
            return Ok(());
        }
        say.received(
            &conn,
            n,
            format!("recv(1024) -> {n} bytes {}", bytes_repr(&buf[..n])),
        );

        // Python: message = data.decode('utf-8') -- which raises on bad
        // bytes, and on a character split across two reads. We carry an
        // unfinished character over to the next read instead.
        let piece = decoder.push(&buf[..n]);
        message += &piece.text;
        if piece.invalid > 0 {
            say.warn(format!(
                "{} invalid UTF-8 sequence(s), shown as �",
                piece.invalid
            ));
        }
        if piece.pending > 0 {
            say.note(format!(
                "the last {} byte(s) start a character that is not complete: reading on",
                piece.pending
            ));
            continue;
        }
        // One read is one message, as in the seeds. (TCP does not promise
        // that: lesson 07 shows why, and how to mark where messages end.)
        let text = std::mem::take(&mut message);
        let text = text.trim_end_matches(['\r', '\n']);
        if text == "exit" {
            say.say("the client said exit: closing this conversation");
            break;
        }

        let Some(reply) = replies.reply_to(text, say)? else {
            say.say("no more typed replies (stdin ended): closing this conversation");
            break;
        };
        // Python: conn.sendall(response.encode('utf-8'))
        conn.write_all(reply.as_bytes()).context("send the reply")?;
        say.sent(
            &conn,
            reply.len(),
            format!("send {} ({} bytes)", quoted(&reply), reply.len()),
        );
    }
    // Python: conn.close()
    say.closing(&conn, "close() this client's socket");
    Ok(())
}
// ANCHOR_END: serve_one_client

impl Replies {
    /// The reply to one message, or None when the operator's input ended.
    fn reply_to(&self, message: &str, say: &Speaker) -> Result<Option<String>> {
        match self {
            Replies::Automatic => Ok(Some(format!("你好，我已收到你的消息：{message}"))),
            Replies::Typed => loop {
                say.say(format!(
                    "message: {}  -- type the reply and press Enter",
                    quoted(message)
                ));
                let mut line = String::new();
                if std::io::stdin()
                    .read_line(&mut line)
                    .context("read a reply from stdin")?
                    == 0
                {
                    return Ok(None);
                }
                // Python: if not send_to_client_msg: continue (seed 001)
                match line.trim() {
                    "" => say.warn("an empty reply would send nothing at all; type some text"),
                    typed => return Ok(Some(typed.to_string())),
                }
            },
        }
    }
}

/// The client: send each input line, print each reply, until `exit` or the
/// end of input.
fn chat(server: SocketAddr, mut input: impl BufRead, say: &Speaker) -> Result<()> {
    // ANCHOR: connect
    // Python: client = socket(); client.connect(addr)
    let mut stream = connect(server, say)?;
    // ANCHOR_END: connect

    // ANCHOR: client_loop
    let mut line = Vec::new();
    loop {
        // Python: message = input('...').strip()
        line.clear();
        if input
            .read_until(b'\n', &mut line)
            .context("read a line from stdin")?
            == 0
        {
            break; // end of input: hang up
        }
        let message = line.trim_ascii();
        // Python (seed 001): if not msg: print('不能为空'); continue
        if message.is_empty() {
            say.warn(
                "empty line not sent: send(b'') sends nothing, so the server would never answer",
            );
            continue;
        }
        // Python: client.sendall(message.encode('utf-8'))
        stream.write_all(message).context("send")?;
        say.sent(
            &stream,
            message.len(),
            format!("send {} ({} bytes)", shown(message), message.len()),
        );
        if message == b"exit" {
            break;
        }
        // Python: data = client.recv(1024)
        match receive_reply(&mut stream, say)? {
            Some(reply) => say.say(format!("reply: {}", quoted(&reply))),
            None => {
                // Seed 001's loop server answers once per connection, then
                // hangs up. Our line reached a closed socket and was lost:
                // call again and repeat it.
                say.note("the server hung up without answering (it takes one message per connection): reconnecting");
                stream = connect(server, say)?;
                stream.write_all(message).context("send again")?;
                say.sent(
                    &stream,
                    message.len(),
                    format!("send {} again ({} bytes)", shown(message), message.len()),
                );
                match receive_reply(&mut stream, say)? {
                    Some(reply) => say.say(format!("reply: {}", quoted(&reply))),
                    None => {
                        return Err(Failure::new(
                            "wait for a reply",
                            std::io::ErrorKind::ConnectionAborted,
                            "the server hung up twice without answering",
                        ));
                    }
                }
            }
        }
    }
    // Python: client.close()
    say.closing(&stream, "close()");
    let _ = stream.shutdown(Shutdown::Both);
    Ok(())
}
// ANCHOR_END: client_loop

fn connect(server: SocketAddr, say: &Speaker) -> Result<TcpStream> {
    let stream = TcpStream::connect(server).context(format!("connect to {server}"))?;
    say.connected(&stream, format!("connect({server}) -> connected"));
    Ok(stream)
}

// ANCHOR: receive_reply
/// One reply: the bytes of one read (reading on only to finish a split
/// character). `None` if the server hung up (0 bytes, or a reset) instead.
fn receive_reply(stream: &mut TcpStream, say: &Speaker) -> Result<Option<String>> {
    let mut buf = [0u8; 1024];
    let mut decoder = Utf8Decoder::new();
    let mut reply = String::new();
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) => {
                say.hung_up(stream, "recv(1024) -> 0 bytes: the server hung up");
                return Ok(None);
            }
            Ok(n) => n,
            // Writing to a socket the server had already closed makes its
            // kernel answer with a reset: the same "hung up", said rudely.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                say.say("recv(1024) -> connection reset: the server had already hung up");
                return Ok(None);
            }
            Err(e) => return Err(e).context("recv(1024)"),
        };
        say.received(stream, n, format!("recv(1024) -> {n} bytes"));
        let piece = decoder.push(&buf[..n]);
        reply += &piece.text;
        if piece.invalid > 0 {
            say.warn(format!(
                "{} invalid UTF-8 sequence(s) in the reply, shown as �",
                piece.invalid
            ));
        }
        if piece.pending == 0 {
            return Ok(Some(reply));
        }
    }
}
// ANCHOR_END: receive_reply

/// A read timeout shows up as WouldBlock on Linux (EAGAIN), TimedOut elsewhere.
fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// A line typed by the user, shown as text (lossily if it is not UTF-8).
fn shown(bytes: &[u8]) -> String {
    quoted(&String::from_utf8_lossy(bytes))
}
