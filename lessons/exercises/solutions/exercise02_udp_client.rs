//! # Exercise 02 (lesson 04): write the UDP client — reference solution
//!
//! One datagram per non-empty line; a buffer as large as any datagram; a
//! 2-second read timeout, because a lost reply is never announced.

use std::io::BufRead;
use std::net::{SocketAddr, UdpSocket};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use socket_lessons::cli::NetArgs;
use socket_lessons::transcript;
use socket_lessons::{Context, Result, finish};

/// Exercise 02: send each line to a UDP server as one datagram, print the reply.
#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    net: NetArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    finish(cli.net.addr().and_then(talk_to))
}

fn talk_to(server: SocketAddr) -> Result<()> {
    let say = transcript::client();
    // Python: client = socket(AF_INET, SOCK_DGRAM). Port 0: any free port,
    // on the loopback interface when the server is on loopback.
    let local: SocketAddr = if server.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(local).context("bind a UDP socket")?;
    // Python: client.settimeout(2)
    socket
        .set_read_timeout(Some(Duration::from_secs(2)))
        .context("set a 2-second read timeout")?;

    for line in std::io::stdin().lock().lines() {
        let line = line.context("read a line from stdin")?;
        if line.is_empty() {
            say.note("empty line: nothing to send");
            continue;
        }
        // Python: client.sendto(line.encode(), server_address)
        socket
            .send_to(line.as_bytes(), server)
            .context(format!("sendto {server}"))?;
        // Python: data, addr = client.recvfrom(65535) — 65507 bytes is the
        // largest UDP payload over IPv4; a smaller buffer cuts replies off.
        let mut buf = vec![0u8; 65536];
        let (n, _from) = socket
            .recv_from(&mut buf)
            .context("recvfrom (no reply within 2 seconds: lost, or no server?)")?;
        say.say(format!(
            "the server says: {}",
            String::from_utf8_lossy(&buf[..n])
        ));
    }
    Ok(())
}
