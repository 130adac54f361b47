//! # Exercise 04 (lesson 07): fix the client — reference solution
//!
//! The fix: `write_all` instead of one `write` whose count was ignored.

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

    // Python: client.sendall(data) — write_all loops until every byte is
    // handed to the kernel (each write gets the full timeout again).
    stream.write_all(&data).context("send the data")?;
    say.say(format!("sent {} bytes", data.len()));

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
