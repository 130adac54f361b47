//! # Homework 01 (seed 002): write the client — reference solution
//!
//! Teachers: solutions live apart from the stubs; students never need them.
//! Connects, reads until the server hangs up (read returns 0), prints the
//! message whole.

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;

use clap::Parser;
use socket_lessons::cli::NetArgs;
use socket_lessons::transcript;
use socket_lessons::{Context, Result, finish};

/// Homework 01: connect to seed 002's server and print what it says.
#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    net: NetArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    finish(cli.net.addr().and_then(|server| {
        let message = read_the_message(server)?;
        transcript::client().say(format!("the server says: {message}"));
        Ok(())
    }))
}

/// Connect to `server`, read until it hangs up, return what it sent as text.
fn read_the_message(server: SocketAddr) -> Result<String> {
    // Python: client = socket.socket(); client.connect((host, port))
    let mut stream = TcpStream::connect(server).context(format!("connect to {server}"))?;

    // Python: while True: data = client.recv(1024); if not data: break
    // One read returns what has arrived so far; 0 bytes means "hung up".
    let mut message = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let n = stream.read(&mut buf).context("recv(1024)")?;
        if n == 0 {
            break;
        }
        message.extend_from_slice(&buf[..n]);
    }
    // Decode once, at the end: a character split across reads stays whole.
    Ok(String::from_utf8_lossy(&message).into_owned())
    // Python: client.close() — dropping `stream` closes it.
}
