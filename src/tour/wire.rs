//! What the reference peers need beyond the socket calls: waiting for a
//! student's program to connect, to listen, or to read what we sent.
//!
//! "Has the other side read my bytes yet?" is not something a socket tells
//! its owner, but the kernel shows it in `/proc/net/tcp`: the `rx_queue`
//! column of the *student's* socket is how many bytes arrived there and were
//! not read yet. Waiting until it is 0 before sending the next piece makes
//! "the data arrives in 1-byte pieces" a fact, not a timing accident.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use super::runner::Running;

/// How long to poll between looks at kernel state.
const POLL: Duration = Duration::from_millis(2);

/// One row of /proc/net/tcp.
struct TcpRow {
    local: SocketAddrV4,
    remote: SocketAddrV4,
    state: u8,
    rx_queue: u32,
}

fn tcp_rows() -> Option<Vec<TcpRow>> {
    let text = std::fs::read_to_string("/proc/net/tcp").ok()?;
    Some(text.lines().skip(1).filter_map(parse_row).collect())
}

fn parse_row(line: &str) -> Option<TcpRow> {
    let f: Vec<&str> = line.split_whitespace().collect();
    let (tx_rx, state) = (f.get(4)?, f.get(3)?);
    let (_, rx) = tx_rx.split_once(':')?;
    Some(TcpRow {
        local: parse_addr(f.get(1)?)?,
        remote: parse_addr(f.get(2)?)?,
        state: u8::from_str_radix(state, 16).ok()?,
        rx_queue: u32::from_str_radix(rx, 16).ok()?,
    })
}

/// "0100007F:1F90" -> 127.0.0.1:8080 (the address is the raw network-order
/// word printed as a host-order number; the port is plain hex).
fn parse_addr(field: &str) -> Option<SocketAddrV4> {
    let (ip, port) = field.split_once(':')?;
    let ip = u32::from_str_radix(ip, 16).ok()?;
    Some(SocketAddrV4::new(
        Ipv4Addr::from(ip.to_ne_bytes()),
        u16::from_str_radix(port, 16).ok()?,
    ))
}

/// Wait until the program at the other end of `stream` has read everything
/// we sent (or has closed its socket), at most `limit`. Returns false on
/// timeout. Without /proc, waits a short while instead.
pub fn wait_until_read(stream: &TcpStream, limit: Duration) -> bool {
    let (Ok(SocketAddr::V4(me)), Ok(SocketAddr::V4(peer))) =
        (stream.local_addr(), stream.peer_addr())
    else {
        thread::sleep(Duration::from_millis(50));
        return true;
    };
    let deadline = Instant::now() + limit;
    loop {
        let Some(rows) = tcp_rows() else {
            thread::sleep(Duration::from_millis(50));
            return true;
        };
        match rows.iter().find(|r| r.local == peer && r.remote == me) {
            // Gone, or closed by the program: nothing more will be read.
            None => return true,
            Some(r) if r.rx_queue == 0 || r.state != 1 => return true,
            Some(_) => {}
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(POLL);
    }
}

/// A free TCP port on 127.0.0.1 for a student's server to bind. (The port is
/// free when we return; nothing else on a lesson machine races for it.)
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Wait until something listens on 127.0.0.1:`port`, without connecting
/// (a probe connection would count as a client). False if the program
/// exited first or the time ran out.
pub fn wait_for_listener(port: u16, program: &mut Running, deadline: Instant) -> bool {
    loop {
        match tcp_rows() {
            Some(rows) => {
                if rows
                    .iter()
                    .any(|r| r.local.port() == port && r.state == 0x0A)
                {
                    return true;
                }
            }
            // No /proc: fall back to a probe connection.
            None => {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return true;
                }
            }
        }
        if program.has_exited() || Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Accept one connection, giving up when `deadline` passes or the program
/// under test exits (then nobody is coming).
pub fn accept_until(
    listener: &TcpListener,
    program: &mut Running,
    deadline: Instant,
) -> Option<TcpStream> {
    listener.set_nonblocking(true).ok()?;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).ok()?;
                return Some(stream);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => return None,
        }
        if program.has_exited() {
            // It may have connected just before exiting: one last look.
            return listener
                .accept()
                .ok()
                .and_then(|(s, _)| s.set_nonblocking(false).ok().map(|_| s));
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(POLL);
    }
}

/// Bytes for a message: Python's repr, shortened in the middle if long.
pub fn shown(bytes: &[u8]) -> String {
    if bytes.len() <= 80 {
        return socket_lessons::text::bytes_repr(bytes);
    }
    format!(
        "{}…({} bytes in all)…{}",
        socket_lessons::text::bytes_repr(&bytes[..40]),
        bytes.len(),
        socket_lessons::text::bytes_repr(&bytes[bytes.len() - 20..])
    )
}

/// Program output for a message, indented, shortened if long.
pub fn printed(output: &str) -> String {
    let output = output.trim_end();
    if output.is_empty() {
        return "(nothing)".into();
    }
    let chars: Vec<char> = output.chars().collect();
    let text = if chars.len() > 600 {
        format!(
            "{}\n…({} characters in all)…\n{}",
            chars[..300].iter().collect::<String>(),
            chars.len(),
            chars[chars.len() - 200..].iter().collect::<String>()
        )
    } else {
        output.to_string()
    };
    text.lines()
        .map(|l| format!("  | {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_proc_net_tcp_row() {
        let row = parse_row("   0: 0100007F:1F90 0100007F:A2C4 01 00000000:0000000F 00:00000000 00000000     0        0 12345 1 0 20 4 30 10 -1").unwrap();
        if cfg!(target_endian = "little") {
            assert_eq!(row.local, "127.0.0.1:8080".parse().unwrap());
        }
        assert_eq!(row.remote.port(), 0xA2C4);
        assert_eq!((row.state, row.rx_queue), (1, 15));
    }
}
