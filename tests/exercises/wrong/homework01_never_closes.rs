//! WRONG on purpose (homework01): reads exactly 15 bytes, prints them, and
//! then keeps the connection open forever instead of closing. Expected
//! diagnosis: "did not close".
use std::io::Read;
use std::net::TcpStream;

fn main() -> std::io::Result<()> {
    let addr = std::env::var("SOCKET_LESSONS_ADDR").unwrap_or_else(|_| "127.0.0.1:37777".into());
    let mut stream = TcpStream::connect(addr)?;
    let mut buf = [0u8; 15];
    stream.read_exact(&mut buf)?;
    println!("{}", String::from_utf8_lossy(&buf));
    // Holding on to `stream` while waiting for nothing.
    loop {
        std::thread::park();
    }
}
