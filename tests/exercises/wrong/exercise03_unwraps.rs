//! WRONG on purpose (exercise03): an echo server that unwrap()s, so one
//! client's reset kills the whole server. Expected diagnosis: the next
//! client finds the server gone, and it panicked.
use std::io::{Read, Write};
use std::net::TcpListener;

fn main() {
    let port = std::env::var("SOCKET_LESSONS_PORT").unwrap();
    let listener = TcpListener::bind(format!("127.0.0.1:{port}")).unwrap();
    for conn in listener.incoming() {
        let mut conn = conn.unwrap();
        let mut buf = [0u8; 4096];
        loop {
            let n = conn.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            conn.write_all(&buf[..n]).unwrap();
        }
    }
}
