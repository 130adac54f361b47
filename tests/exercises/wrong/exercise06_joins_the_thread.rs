//! WRONG on purpose (exercise06): a thread per client, joined at once, so
//! still one client at a time. Expected diagnosis: "one client at a time".
use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread;

fn main() -> std::io::Result<()> {
    let port = std::env::var("SOCKET_LESSONS_PORT").unwrap_or_else(|_| "8888".into());
    let listener = TcpListener::bind(format!("127.0.0.1:{port}"))?;
    for conn in listener.incoming() {
        let mut conn = conn?;
        let worker = thread::spawn(move || -> std::io::Result<()> {
            let mut buf = [0u8; 4096];
            loop {
                let n = conn.read(&mut buf)?;
                if n == 0 {
                    return Ok(());
                }
                conn.write_all(&buf[..n])?;
            }
        });
        let _ = worker.join();
    }
    Ok(())
}
