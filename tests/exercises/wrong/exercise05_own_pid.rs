//! WRONG on purpose (exercise05): prints its own pid instead of asking the
//! socket for the peer's. Expected diagnosis: "the client's own pid".
use std::io::Read;
use std::os::unix::net::UnixStream;

fn main() -> std::io::Result<()> {
    let path =
        std::env::var("SOCKET_LESSONS_PATH").unwrap_or_else(|_| "/tmp/socket-lessons.sock".into());
    let mut stream = UnixStream::connect(path)?;
    println!("the server is pid={} uid=0 gid=0", std::process::id());
    let mut greeting = String::new();
    stream.read_to_string(&mut greeting)?;
    println!("the server says: {greeting}");
    Ok(())
}
