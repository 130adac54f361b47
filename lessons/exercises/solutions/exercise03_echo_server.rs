//! # Exercise 03 (seed 004, lesson 03): write the echo server — reference solution

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use socket_lessons::cli::{NetArgs, WRITE_TIMEOUT};
use socket_lessons::transcript::{self, Speaker};
use socket_lessons::{Context, Result, explain, finish};

/// Exercise 03: an echo server for seed 004's client.
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
        if let Err(failure) = serve_one_client(conn, &say) {
            // One client's trouble is not the server's: say so, go on.
            say.warn(explain::one_line(&failure));
        }
    }
}

/// Echo everything this client sends until it hangs up.
fn serve_one_client(mut conn: TcpStream, say: &Speaker) -> Result<()> {
    // A client that goes silent, or never reads its echo, must not hold the
    // server (or this thread) forever.
    conn.set_read_timeout(Some(Duration::from_secs(60)))
        .context("set the idle timeout")?;
    conn.set_write_timeout(Some(WRITE_TIMEOUT))
        .context("set the write timeout")?;
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
