//! # Homework 01 (seed 002): write the client
//!
//! Seed 002 ends with a server that accepts a connection, sends the 15 bytes
//! `This is socket!` and closes — and asks you to write the client. Yours
//! connects, reads until the server hangs up, and prints the message whole.
//!
//! The catch: one `read()` returns whatever has arrived *so far*. The checker
//! sometimes sends the message one byte at a time, so a client that reads
//! once prints `T`. Only a read that returns 0 bytes says "that was all".
//!
//! YOU MAY CHANGE: the body of `read_the_message` (the two `todo!()`s).
//! DO NOT CHANGE: the command line (`--host`, `--port`), `main`, or what
//! `main` prints — the checker relies on them.
//!
//! The `allow` lines below silence the warnings the `todo!()`s cause; delete
//! it when you are done.
//!
//! Check it:  cargo run -- check homework01      Hint: cargo run -- hint homework01
#![allow(unused_imports, unused_mut, unused_variables, unreachable_code)]
#![allow(clippy::diverging_sub_expression)]

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
    // TODO 1: connect to `server` (Python: client.connect((host, port))),
    // saying what failed: `.context(format!("connect to {server}"))?`
    let mut stream: TcpStream = todo!("connect to {server}");

    let mut message: Vec<u8> = Vec::new();
    let mut buf = [0u8; 1024];
    // TODO 2: read into `buf` until read() returns 0 bytes (the server hung
    // up), appending each piece to `message` (Python: client.recv(1024)).
    todo!("read until the server hangs up");

    // Decode once, at the end: a character split across reads stays whole.
    Ok(String::from_utf8_lossy(&message).into_owned())
}
