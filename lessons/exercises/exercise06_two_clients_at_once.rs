//! # Exercise 06 (lesson 03 -> lesson 11): serve two clients at once
//!
//! This is lesson 03's kind of server: an echo server that serves clients
//! one after another. It works — until a second client connects while the
//! first is still talking. The kernel completes B's connection (it is
//! queued), but nobody answers B until A hangs up: the server is busy in
//! `serve_one_client` and nobody calls `accept()`.
//!
//! Make it serve every client at the same time, each in its own thread.
//!
//! YOU MAY CHANGE: the code marked TODO in `serve_forever`.
//! DO NOT CHANGE: the command line (`--host`, `--port`) and what one client
//! gets (an echo of everything it sends).
//!
//! Check it:  cargo run -- check exercise06      Hint: cargo run -- hint exercise06

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;

use clap::Parser;
use socket_lessons::cli::NetArgs;
use socket_lessons::transcript::{self, Speaker};
use socket_lessons::{Context, Result, explain, finish};

/// Exercise 06: an echo server for many clients at once.
#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    net: NetArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    finish(cli.net.addr().and_then(serve_forever))
}

fn serve_forever(addr: SocketAddr) -> Result<()> {
    let say = transcript::server();
    // Python: server.bind(addr); server.listen() — std does both.
    let listener = TcpListener::bind(addr).context(format!("bind {addr}"))?;
    say.say(format!("listening on {addr}"));

    loop {
        // Python: conn, addr = server.accept()
        let (conn, peer) = listener.accept().context("accept()")?;
        say.say(format!("a client connected from {peer}"));
        // TODO: while this client is served, the next one waits. Serve it
        // in a thread of its own (std::thread::spawn) instead.
        if let Err(failure) = serve_one_client(conn, &say) {
            // One client's trouble is not the server's: say so, go on.
            say.warn(explain::one_line(&failure));
        }
    }
}

/// Echo everything this client sends until it hangs up.
fn serve_one_client(mut conn: TcpStream, say: &Speaker) -> Result<()> {
    let mut buf = [0u8; 4096];
    loop {
        // Python: data = conn.recv(4096); if not data: break
        let n = conn.read(&mut buf).context("recv(4096)")?;
        if n == 0 {
            say.say("the client hung up");
            return Ok(());
        }
        // Python: conn.sendall(data) — every byte, however many writes it takes.
        conn.write_all(&buf[..n]).context("sendall the echo")?;
    }
}
