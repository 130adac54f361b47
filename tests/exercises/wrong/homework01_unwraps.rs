//! WRONG on purpose (homework01): reads correctly but unwrap()s, so a reset
//! from the server becomes a panic. Expected diagnosis: "it panicked".
use std::io::Read;
use std::net::TcpStream;

fn main() {
    let addr = std::env::var("SOCKET_LESSONS_ADDR").unwrap();
    let mut stream = TcpStream::connect(addr).unwrap();
    let mut message = Vec::new();
    stream.read_to_end(&mut message).unwrap();
    println!("{}", String::from_utf8_lossy(&message));
}
