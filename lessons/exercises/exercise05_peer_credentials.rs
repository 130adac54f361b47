//! # Exercise 05 (lesson 05): who is at the other end of an AF_UNIX socket?
//!
//! Two programs on one machine can talk through a socket file. Unlike TCP,
//! the kernel knows exactly which process is at the other end: ask the
//! socket for its peer's credentials (SO_PEERCRED) — the server's pid, uid
//! and gid. Write the client: connect to `--path`, print the server's
//! credentials as `pid=P uid=U gid=G`, then its greeting (read until it hangs
//! up; it may send nothing at all).
//!
//! YOU MAY CHANGE: the lines marked TODO (replace each `todo!()`).
//! DO NOT CHANGE: the command line (`--path`) and the printed lines — the
//! checker relies on them.
//!
//! The `allow` lines below silence the warnings the `todo!()`s cause; delete
//! it when you are done.
//!
//! Check it:  cargo run -- check exercise05      Hint: cargo run -- hint exercise05
#![allow(unused_imports, unused_mut, unused_variables, unreachable_code)]
#![allow(clippy::diverging_sub_expression)]

use std::io::Read;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use nix::sys::socket::{getsockopt, sockopt};
use socket_lessons::transcript;
use socket_lessons::{Context, Result, finish};

/// Exercise 05: connect to an AF_UNIX server; print its credentials and greeting.
#[derive(Parser)]
struct Cli {
    /// The server's socket file.
    #[arg(long, default_value = "/tmp/socket-lessons.sock")]
    path: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    finish(meet_the_server(&cli.path))
}

fn meet_the_server(path: &Path) -> Result<()> {
    let say = transcript::client();
    // TODO 1: connect to the socket file at `path`
    // (Python: socket(AF_UNIX, SOCK_STREAM).connect(path)).
    let mut stream: UnixStream = todo!("connect to {}", path.display());

    // TODO 2: ask the kernel for the peer's credentials (SO_PEERCRED).
    let (pid, uid, gid): (i32, u32, u32) = todo!("the server's pid, uid and gid");
    say.say(format!("the server is pid={pid} uid={uid} gid={gid}"));

    // TODO 3: read the greeting until the server hangs up.
    let greeting: Vec<u8> = todo!("read until the server hangs up");
    if greeting.is_empty() {
        say.say("the server said nothing");
    } else {
        say.say(format!(
            "the server says: {}",
            String::from_utf8_lossy(&greeting)
        ));
    }
    Ok(())
}
