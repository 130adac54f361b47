//! # Exercise 04 (lesson 07): fix the client — `write` is not `write_all`
//!
//! This client works on your machine: it sends everything on stdin to the
//! server, says "that's all" (half-close), and prints the server's answer,
//! `received N bytes`. Against a server that reads slowly it loses data —
//! and it never notices. Find the bug and fix it.
//!
//! Why it can happen: `write` (Python's `send`) hands the kernel as much as
//! fits *now* and returns how much that was. Here the socket has a write
//! timeout (so that a dead server cannot hang the client forever), and when
//! it expires part-way, `write` returns early with a short count.
//!
//! YOU MAY CHANGE: the line marked TODO (and only what it needs).
//! DO NOT CHANGE: the write timeout, the half-close, the printing.
//!
//! Check it:  cargo run -- check exercise04      Hint: cargo run -- hint exercise04

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use socket_lessons::cli::NetArgs;
use socket_lessons::transcript;
use socket_lessons::{Context, Result, finish};

/// Exercise 04: send all of stdin to the server, print its answer.
#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    net: NetArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    finish(cli.net.addr().and_then(send_everything))
}

fn send_everything(server: SocketAddr) -> Result<()> {
    let say = transcript::client();
    let mut data = Vec::new();
    std::io::stdin()
        .read_to_end(&mut data)
        .context("read stdin")?;

    let mut stream = TcpStream::connect(server).context(format!("connect to {server}"))?;
    // A server that stops reading must not hang us forever.
    stream
        .set_write_timeout(Some(Duration::from_secs(1)))
        .context("set a write timeout")?;

    // TODO: this sends *some* of `data` (Python: client.send(data)).
    let sent = stream.write(&data).context("send the data")?;
    say.say(format!("sent {sent} bytes"));

    // Python: client.shutdown(socket.SHUT_WR) — "no more data from me";
    // the server sees end-of-file and answers; we can still read.
    stream
        .shutdown(Shutdown::Write)
        .context("shutdown(SHUT_WR)")?;
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .context("read the server's answer")?;
    say.say(format!("the server says: {}", answer.trim_end()));
    Ok(())
}
