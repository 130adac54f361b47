//! WRONG on purpose (homework01): one read, as if a message arrived whole.
//! Expected diagnosis: with the message in 1-byte pieces it prints "T".
use std::io::Read;
use std::net::TcpStream;

fn main() -> std::io::Result<()> {
    let port = std::env::var("SOCKET_LESSONS_PORT").unwrap_or_else(|_| "37777".into());
    let mut stream = TcpStream::connect(format!("127.0.0.1:{port}"))?;
    let mut buf = [0u8; 1024];
    let n = stream.read(&mut buf)?;
    println!("{}", String::from_utf8_lossy(&buf[..n]));
    Ok(())
}
