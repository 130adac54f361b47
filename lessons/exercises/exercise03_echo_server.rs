//! # Exercise 03 (seed 004, lesson 03): write the echo server
//!
//! Seed 004's client sends each line you type and prints the answer; it
//! sends `exit` and closes when you are done. Write the server it talks to:
//! listen on `--host`/`--port`, then serve clients one after another, and
//! send every byte a client sends straight back to it (an echo).
//!
//! The checker runs seed 004's own Python client against your server, then
//! clients that send 1 byte at a time, 1 MiB at once, half-close, or reset
//! the connection mid-message. Your server must answer them all and keep
//! serving the next client: an error with one client ends that client only.
//!
//! YOU MAY CHANGE: the lines marked TODO (replace each `todo!()`).
//! DO NOT CHANGE: the command line (`--host`, `--port`): the checker gives
//! your server the port to listen on.
//!
//! The `allow` lines below silence the warnings the `todo!()`s cause; delete
//! it when you are done.
//!
//! Check it:  cargo run -- check exercise03      Hint: cargo run -- hint exercise03
#![allow(unused_imports, unused_mut, unused_variables, unreachable_code)]
#![allow(clippy::diverging_sub_expression)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;

use clap::Parser;
use socket_lessons::cli::NetArgs;
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
    // TODO 1: listen on `addr` (Python: bind + listen).
    let listener: TcpListener = todo!("bind and listen on {addr}");
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
    let mut buf = [0u8; 4096];
    // TODO 2: loop: read into `buf`; 0 bytes means the client hung up
    // (return Ok); otherwise send those bytes back, all of them.
    todo!("echo until the client hangs up")
}
