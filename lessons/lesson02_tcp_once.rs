//! # Lesson 02: the phone call, once
//!
//! Seed 001 explains TCP with a telephone. The server is the friend who waits
//! by the phone: it creates a socket (buys a phone), binds it to an address
//! (gets a number), listens (switches the ringer on) and accepts (picks up).
//! The client dials (connect), they talk (send / recv), and both hang up
//! (close). This lesson makes exactly one such call, as the seed's
//! "single-shot template" does:
//!
//! ```text
//! server: socket -> bind -> listen -> accept -> recv -> send -> close
//! client: socket -> connect --------------> send -> recv -> close
//! ```
//!
//! Two things to watch in the output. First, the client's `connect()`
//! returns before the server calls `accept()` finishes: the kernel completes
//! the three-way handshake by itself and queues the connection; `accept()`
//! only takes it off the queue. Second, what travels is bytes, not text:
//! "我是客户端" is 5 characters but 15 bytes of UTF-8. Python 3 makes you
//! `encode` and `decode`; Rust makes the same distinction with `&str`
//! (always valid UTF-8) and `&[u8]` (any bytes).

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use socket_lessons::cli::{NetArgs, Ready, WRITE_TIMEOUT, client_args_for};
use socket_lessons::signals::stop_cleanly_on_signals;
use socket_lessons::text::{Utf8Decoder, bytes_repr, quoted};
use socket_lessons::transcript::{self, Speaker};
use socket_lessons::{Context, Result, demo, finish};
use socket2::{Domain, Socket, Type};

/// Lesson 02: one TCP "phone call" — socket, bind, listen, accept / connect,
/// send, recv, close — exactly once, as in seed 001's single-shot template.
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
    /// Run the server and the client in one process and print the call (the default).
    Demo,
    /// Wait for one client, read its message, reply, hang up.
    Server {
        #[command(flatten)]
        net: NetArgs,
        /// What to answer.
        #[arg(long, default_value = "我是服务端")]
        reply: String,
        /// Give up on a caller that says nothing for this many seconds.
        #[arg(long, value_name = "SECS", default_value_t = 60)]
        idle_timeout: u64,
    },
    /// Call the server once: send a message, print the reply, hang up.
    Client {
        #[command(flatten)]
        net: NetArgs,
        /// What to say.
        #[arg(long, default_value = "我是客户端")]
        message: String,
    },
}

fn main() -> ExitCode {
    finish(match Cli::parse().command.unwrap_or(Command::Demo) {
        Command::Demo => run_demo(),
        Command::Server {
            net,
            reply,
            idle_timeout,
        } => {
            let patience = Duration::from_secs(idle_timeout.max(1));
            stop_cleanly_on_signals(&transcript::server(), || {})
                .and_then(|()| net.server_addr())
                .and_then(|addr| {
                    answer_one_call(
                        addr,
                        &reply,
                        patience,
                        Ready::by_hand(env!("CARGO_BIN_NAME")),
                    )
                })
        }
        Command::Client { net, message } => {
            net.addr().and_then(|addr| make_one_call(addr, &message))
        }
    })
}

fn run_demo() -> Result<()> {
    transcript::note("one TCP call: the server answers once, then both sides hang up");
    // Port 0: the kernel picks a free port, so the demo never collides with
    // a server you started by hand.
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("a literal address");
    demo::run(
        move |ready| answer_one_call(addr, "我是服务端", Duration::from_secs(60), ready),
        |server_addr| make_one_call(server_addr, "我是客户端"),
    )?;
    demo::by_hand(env!("CARGO_BIN_NAME"), "", "");
    Ok(())
}

/// The server: answer exactly one call.
fn answer_one_call(
    addr: SocketAddr,
    reply: &str,
    patience: Duration,
    ready: Ready<SocketAddr>,
) -> Result<()> {
    let say = transcript::server();

    // ANCHOR: server_socket
    // Python: server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    // The (domain, type, protocol) triple of lesson 01; `None` is protocol 0,
    // "the default protocol for this type", which for a stream is TCP.
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None).context("socket()")?;
    say.say(format!(
        "socket({}, SOCK_STREAM, 0) -> a TCP socket, not yet bound",
        family(addr)
    ));

    // Python: server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    // Without it, running the server again right after a call fails with
    // "Address already in use" for a minute (TIME_WAIT, lesson 09).
    socket
        .set_reuse_address(true)
        .context("setsockopt(SO_REUSEADDR)")?;

    // Python: server.bind(('127.0.0.1', 8888))
    socket.bind(&addr.into()).context(format!("bind {addr}"))?;
    say.say(format!("bind({addr})"));

    // Python: server.listen(5)
    // From now on the kernel accepts calls for us and queues up to 5 of them
    // (the backlog) until we pick them up with accept().
    socket.listen(5).context("listen(5)")?;
    let listener: TcpListener = socket.into();
    let local = listener.local_addr().context("getsockname()")?;
    say.say("listen(5)");
    // ANCHOR_END: server_socket
    ready.listening(&say, local, &client_args_for(local));

    // ANCHOR: accept
    // Python: conn, addr = server.accept()
    // accept() blocks until a client has connected, then returns a *new*
    // socket for this one conversation; `listener` goes on listening.
    let (mut conn, peer) = listener.accept().context("accept()")?;
    say.accepted(
        &conn,
        format!("accept() -> a new socket for the call from {peer}"),
    );
    // ANCHOR_END: accept
    // A caller that never speaks, or never reads our answer, must not keep
    // the server waiting forever (Python: conn.settimeout(60)).
    conn.set_read_timeout(Some(patience))
        .context("set the read timeout")?;
    conn.set_write_timeout(Some(WRITE_TIMEOUT))
        .context("set the write timeout")?;

    // ANCHOR: server_recv
    // Python: from_client_msg = conn.recv(1024).decode('utf-8')
    // One recv() may return part of what was sent. The seed assumes it gets
    // everything at once; we at least never cut a character in half.
    let message = recv_text(&mut conn, &say)?;
    say.say(format!("decoded as UTF-8: {}", quoted(&message)));
    // ANCHOR_END: server_recv

    // ANCHOR: server_send
    // Python: conn.send('我是服务端'.encode('utf-8'))
    // `write_all` is Python's sendall(): it loops until every byte is handed
    // to the kernel. A single `write` (Python's send) may take only part.
    let bytes = reply.as_bytes();
    say.say(format!(
        "encode {} -> {} characters, {} bytes of UTF-8",
        quoted(reply),
        reply.chars().count(),
        bytes.len()
    ));
    conn.write_all(bytes).context("send the reply")?;
    say.sent(
        &conn,
        bytes.len(),
        format!("send({}) -> {} bytes", bytes_repr(bytes), bytes.len()),
    );
    // ANCHOR_END: server_send

    // ANCHOR: server_close
    // Python: conn.close(); server.close()
    // In Rust, dropping a socket closes it; we drop explicitly to show when.
    say.closing(
        &conn,
        "close() the call's socket; close() the listening socket",
    );
    drop(conn);
    drop(listener);
    // ANCHOR_END: server_close
    Ok(())
}

/// The client: make exactly one call.
fn make_one_call(server: SocketAddr, message: &str) -> Result<()> {
    let say = transcript::client();

    // ANCHOR: connect
    // Python: client = socket.socket(); client.connect(('127.0.0.1', 8888))
    // std's connect() is socket() + connect() in one call. It returns once
    // the three-way handshake is done: SYN, SYN-ACK, ACK.
    let mut stream = TcpStream::connect(server).context(format!("connect to {server}"))?;
    let me = stream.local_addr().context("getsockname()")?;
    say.connected(
        &stream,
        format!(
            "connect({server}) -> connected; the kernel gave us port {}",
            me.port()
        ),
    );
    // ANCHOR_END: connect

    // ANCHOR: client_send
    // Python: client.send('我是客户端'.encode('utf-8'))
    let bytes = message.as_bytes();
    say.say(format!(
        "encode {} -> {} characters, {} bytes of UTF-8",
        quoted(message),
        message.chars().count(),
        bytes.len()
    ));
    stream.write_all(bytes).context("send the message")?;
    say.sent(
        &stream,
        bytes.len(),
        format!("send({}) -> {} bytes", bytes_repr(bytes), bytes.len()),
    );
    // ANCHOR_END: client_send

    // ANCHOR: client_recv
    // Python: from_server_msg = client.recv(1024).decode('utf-8')
    let reply = recv_text(&mut stream, &say)?;
    say.say(format!("decoded as UTF-8: {}", quoted(&reply)));
    // ANCHOR_END: client_recv

    // Python: client.close()
    say.closing(&stream, "close()");
    // Tell the peer we are done before the socket goes away; dropping alone
    // would do too. (Shutdown can fail if the peer already reset: ignore it.)
    let _ = stream.shutdown(Shutdown::Both);
    Ok(())
}

// ANCHOR: recv_text
/// One `recv(1024)`, turned into text — reading on only while the bytes end
/// in the middle of a character (a multibyte character can be split across
/// two reads; the seed's `decode('utf-8')` would crash on the first half).
fn recv_text(stream: &mut TcpStream, say: &Speaker) -> Result<String> {
    let mut buf = [0u8; 1024];
    let mut decoder = Utf8Decoder::new();
    let mut text = String::new();
    loop {
        let n = stream.read(&mut buf).context("recv(1024)")?;
        if n == 0 {
            // A read of 0 bytes means the peer hung up.
            say.hung_up(stream, "recv(1024) -> 0 bytes: the peer hung up");
            text += &decoder.finish().text;
            return Ok(text);
        }
        say.received(
            stream,
            n,
            format!("recv(1024) -> {n} bytes {}", bytes_repr(&buf[..n])),
        );
        let piece = decoder.push(&buf[..n]);
        text += &piece.text;
        if piece.invalid > 0 {
            say.warn(format!(
                "{} invalid UTF-8 sequence(s), shown as �: these bytes are not text",
                piece.invalid
            ));
        }
        if piece.pending == 0 {
            return Ok(text);
        }
        say.note(format!(
            "the last {} byte(s) start a character that is not complete: reading on",
            piece.pending
        ));
    }
}
// ANCHOR_END: recv_text

fn family(addr: SocketAddr) -> &'static str {
    if addr.is_ipv4() {
        "AF_INET"
    } else {
        "AF_INET6"
    }
}
