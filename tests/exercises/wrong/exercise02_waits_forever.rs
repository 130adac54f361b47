//! WRONG on purpose (exercise02): no read timeout, so a lost reply blocks it
//! forever. Expected diagnosis: "hung", with the advice to set a timeout.
use std::io::BufRead;
use std::net::UdpSocket;

fn main() -> std::io::Result<()> {
    let server = std::env::var("SOCKET_LESSONS_ADDR").unwrap_or_else(|_| "127.0.0.1:8888".into());
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        if line.is_empty() {
            continue;
        }
        socket.send_to(line.as_bytes(), &server)?;
        let mut buf = vec![0u8; 65536];
        let (n, _) = socket.recv_from(&mut buf)?;
        println!("the server says: {}", String::from_utf8_lossy(&buf[..n]));
    }
    Ok(())
}
