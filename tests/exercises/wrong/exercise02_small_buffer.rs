//! WRONG on purpose (exercise02): the seeds' recvfrom(1024). Expected
//! diagnosis: the 4000-byte reply is cut off.
use std::io::BufRead;
use std::net::UdpSocket;
use std::time::Duration;

fn main() -> std::io::Result<()> {
    let server = std::env::var("SOCKET_LESSONS_ADDR").unwrap_or_else(|_| "127.0.0.1:8888".into());
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    socket.set_read_timeout(Some(Duration::from_secs(2)))?;
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        if line.is_empty() {
            continue;
        }
        socket.send_to(line.as_bytes(), &server)?;
        let mut buf = [0u8; 1024];
        let (n, _) = socket.recv_from(&mut buf)?;
        println!("the server says: {}", String::from_utf8_lossy(&buf[..n]));
    }
    Ok(())
}
