//! # Exercise 02 (lesson 04): write the UDP client
//!
//! Lesson 04's server answers every datagram it receives. Write the client:
//! for each line you type (or pipe in), send the line — without its newline
//! — as one datagram, wait for the reply and print it. Skip empty lines.
//!
//! UDP has no connection. Nobody tells you a reply was lost: wait at most
//! 2 seconds, then give up with a message (return an error). And a datagram
//! is delivered whole or not at all — into a buffer that is big enough.
//!
//! YOU MAY CHANGE: the lines marked TODO (replace each `todo!()`).
//! DO NOT CHANGE: the command line (`--host`, `--port`) and the
//! "the server says: ..." line — the checker relies on them.
//!
//! The `allow` lines below silence the warnings the `todo!()`s cause; delete
//! it when you are done.
//!
//! Check it:  cargo run -- check exercise02      Hint: cargo run -- hint exercise02
#![allow(unused_imports, unused_mut, unused_variables, unreachable_code)]
#![allow(clippy::diverging_sub_expression)]

use std::io::BufRead;
use std::net::{SocketAddr, UdpSocket};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use socket_lessons::cli::NetArgs;
use socket_lessons::transcript;
use socket_lessons::{Context, Result, finish};

/// Exercise 02: send each line to a UDP server as one datagram, print the reply.
#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    net: NetArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    finish(cli.net.addr().and_then(talk_to))
}

fn talk_to(server: SocketAddr) -> Result<()> {
    let say = transcript::client();
    // TODO 1: a UDP socket on any free local port (Python:
    // socket(AF_INET, SOCK_DGRAM)), and a 2-second read timeout on it.
    let socket: UdpSocket = todo!("create the UDP socket");

    for line in std::io::stdin().lock().lines() {
        let line = line.context("read a line from stdin")?;
        if line.is_empty() {
            say.note("empty line: nothing to send");
            continue;
        }
        // TODO 2: send `line` as one datagram to `server` (Python: sendto),
        // then receive the reply (Python: recvfrom) into a buffer large
        // enough for any datagram, and keep the bytes you got in `reply`.
        let reply: Vec<u8> = todo!("send the line, receive the reply");

        say.say(format!(
            "the server says: {}",
            String::from_utf8_lossy(&reply)
        ));
    }
    Ok(())
}
