//! # Exercise 05 (lesson 05): peer credentials — reference solution

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
    // Python: s = socket(AF_UNIX, SOCK_STREAM); s.connect(path)
    let mut stream = UnixStream::connect(path).context(format!("connect to {}", path.display()))?;

    // Python: s.getsockopt(SOL_SOCKET, SO_PEERCRED, struct.calcsize('3i'))
    // The kernel recorded who called listen() on the other end.
    let cred = getsockopt(&stream, sockopt::PeerCredentials).context("getsockopt(SO_PEERCRED)")?;
    let (pid, uid, gid) = (cred.pid(), cred.uid(), cred.gid());
    say.say(format!("the server is pid={pid} uid={uid} gid={gid}"));

    // Read until 0 bytes: the greeting may come in pieces, or not at all.
    let mut greeting = Vec::new();
    stream
        .read_to_end(&mut greeting)
        .context("read the greeting")?;
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
