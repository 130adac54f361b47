//! Command-line pieces every lesson shares.
//!
//! Each lesson binary has the same shape:
//!
//! ```text
//! lessonNN_topic              run the demo: server and client in one process
//! lessonNN_topic demo         the same
//! lessonNN_topic server ...   the real server, until Ctrl-C
//! lessonNN_topic client ...   the real client, reading lines from stdin
//! ```
//!
//! The lesson declares its own `Cli` (so `--help` describes *that* lesson) and
//! flattens these argument groups into its subcommands.

use std::fmt::Display;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::sync::mpsc;
use std::time::Duration;

use clap::Args;

use crate::explain::{Context, Failure, Result};
use crate::transcript::{self, Speaker};

/// The seeds' favourite port; every TCP and UDP lesson uses it by default.
pub const DEFAULT_PORT: u16 = 8888;

/// Where a server listens or a client connects.
#[derive(Args, Debug, Clone)]
pub struct NetArgs {
    /// IP address or host name: the server binds it, the client connects to
    /// it. `::1` is IPv6 loopback. `0.0.0.0` or `::` opens a server to other
    /// machines.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port number. For a server, 0 asks the kernel for any free port; the
    /// server prints the one it got.
    #[arg(long, short, default_value_t = DEFAULT_PORT)]
    pub port: u16,
}

impl NetArgs {
    /// Every address `host:port` resolves to (getaddrinfo), in order.
    pub fn addrs(&self) -> Result<Vec<SocketAddr>> {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        let addrs: Vec<SocketAddr> = (host, self.port)
            .to_socket_addrs()
            .context(format!("look up the address of {:?}", self.host))?
            .collect();
        if addrs.is_empty() {
            return Err(Failure::new(
                format!("look up the address of {:?}", self.host),
                std::io::ErrorKind::NotFound,
                "the name resolved to no address",
            ));
        }
        Ok(addrs)
    }

    /// The first address `host:port` resolves to.
    pub fn addr(&self) -> Result<SocketAddr> {
        Ok(self.addrs()?[0])
    }

    /// The address a server should bind, with a warning when it is reachable
    /// from other machines (the wildcard `0.0.0.0` or `::`).
    pub fn server_addr(&self) -> Result<SocketAddr> {
        let addr = self.addr()?;
        if addr.ip().is_unspecified() {
            transcript::server().warn(format!(
                "binding {} makes this server reachable from other machines on your network; \
                 these lessons are not hardened for that. Use 127.0.0.1 (the default) to stay local.",
                addr.ip()
            ));
        }
        Ok(addr)
    }
}

/// Options every server has.
#[derive(Args, Debug, Clone)]
pub struct ServerArgs {
    #[command(flatten)]
    pub net: NetArgs,
    /// Stop after serving this many clients (default: serve until Ctrl-C).
    /// Tests and scripts use it to end a server cleanly.
    #[arg(long, value_name = "N")]
    pub max_clients: Option<usize>,
    /// Hang up on a client that sends nothing for this many seconds, so one
    /// silent client cannot hold the server hostage.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub idle_timeout: u64,
}

impl ServerArgs {
    /// Has the server served enough clients to stop?
    pub fn done_after(&self, served: usize) -> bool {
        self.max_clients.is_some_and(|max| served >= max)
    }

    /// The read timeout to set on each accepted connection.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout.max(1))
    }
}

/// How long a server waits for a client to take its reply before giving up
/// on that client (a client that never reads must not block the server).
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// The server settings a demo uses (no limits but the demo's own).
impl Default for ServerArgs {
    fn default() -> Self {
        ServerArgs {
            net: NetArgs {
                host: "127.0.0.1".into(),
                port: 0,
            },
            max_clients: None,
            idle_timeout: 60,
        }
    }
}

/// How a server tells the world it is listening.
///
/// In a demo the address goes over a channel to the waiting client, which
/// is how the client knows it may connect — no sleep, no guessing. Run by
/// hand, the server prints how to start the client in another terminal.
pub struct Ready<A> {
    demo: Option<mpsc::Sender<A>>,
    client_command: String,
}

impl<A: Display + Clone> Ready<A> {
    /// Announce readiness by printing (the `server` subcommand). `bin` is the
    /// lesson's binary name, `client_args` what the client needs to find us.
    pub fn by_hand(bin: &str) -> Self {
        Ready {
            demo: None,
            client_command: format!("cargo run --bin {bin} -- client"),
        }
    }

    /// Announce readiness over a channel (the demo runner).
    pub fn channel(tx: mpsc::Sender<A>) -> Self {
        Ready {
            demo: Some(tx),
            client_command: String::new(),
        }
    }

    /// Say "listening on ADDR" and let the client go. `client_args` are the
    /// flags a client run by hand needs (e.g. `--port 8888`).
    pub fn listening(self, speaker: &Speaker, addr: A, client_args: &str) {
        speaker.say(format!("listening on {addr}"));
        match self.demo {
            Some(tx) => {
                // The receiver only goes away if the demo already gave up.
                let _ = tx.send(addr);
            }
            None => {
                let sep = if client_args.is_empty() { "" } else { " " };
                speaker.note(format!(
                    "start a client in another terminal: {}{sep}{client_args}",
                    self.client_command
                ));
                speaker.note("stop the server with Ctrl-C");
            }
        }
    }
}

/// The client flags that reach a TCP/UDP server listening on `addr` (none
/// for the defaults, 127.0.0.1 and port 8888). A
/// server on the wildcard address (`0.0.0.0`, `::`) listens on every
/// interface, so a client on this machine dials loopback.
pub fn client_args_for(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let mut args = Vec::new();
    if ip != IpAddr::V4(Ipv4Addr::LOCALHOST) {
        args.push(format!("--host {ip}"));
    }
    if addr.port() != DEFAULT_PORT {
        args.push(format!("--port {}", addr.port()));
    }
    args.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_is_told_to_dial_loopback_when_the_server_listens_everywhere() {
        assert_eq!(client_args_for("127.0.0.1:8888".parse().unwrap()), "");
        assert_eq!(
            client_args_for("0.0.0.0:8000".parse().unwrap()),
            "--port 8000"
        );
        assert_eq!(client_args_for("[::]:8888".parse().unwrap()), "--host ::1");
        assert_eq!(
            client_args_for("[::1]:9".parse().unwrap()),
            "--host ::1 --port 9"
        );
    }
}
