//! # Lesson 01: what a socket is
//!
//! Seed 000 starts from the C prototype every socket library wraps:
//!
//! ```text
//! int socket(int domain, int type, int protocol);
//! ```
//!
//! Three numbers choose what kind of socket you get. The *domain* (address
//! family) says what an address looks like: `AF_INET` is an IPv4 address
//! plus a port, `AF_INET6` the same for IPv6, `AF_UNIX` a file path on this
//! machine. The *type* says how data travels: `SOCK_STREAM` is a connected
//! byte stream, `SOCK_DGRAM` separate messages with no connection. The
//! *protocol* picks the protocol that implements that pair; the seeds always
//! pass 0, "the default", and this lesson asks the kernel what 0 turned into.
//!
//! What comes back is an integer, a *file descriptor* — the same kind of
//! number `open()` returns for a file. Seed 002 calls this Unix's
//! "everything is a file": the fd sits in the same table as the process's
//! open files, `/proc/self/fd` lists it, and `read`, `write` and `close`
//! work on it (lesson 06 echoes bytes with exactly those calls).
//!
//! Last, seed 003's question: how does a message find a *process* on another
//! machine? A pid only means something on one machine. On a network the
//! name is IP address + protocol + port, and the kernel lets only one socket
//! own each name — which is why a second `bind` to the same address fails.
//!
//! This lesson has no conversation yet (that starts in lesson 02): it
//! creates sockets and looks at them.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use socket_lessons::explain::{self, errno_name};
use socket_lessons::transcript::{self, Speaker};
use socket_lessons::{Context, Result, finish};
use socket2::{Domain, Protocol, Socket, Type};

/// Lesson 01: what a socket is — the (domain, type, protocol) triple of
/// `socket(2)`, the file descriptor it returns (a socket is a file), why raw
/// sockets need privilege, and how ip + port names a process.
///
/// With no subcommand, runs the demo.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Create one socket of each kind, look at it, and name a process by
    /// ip + port (the default).
    Demo,
}

fn main() -> ExitCode {
    finish(match Cli::parse().command.unwrap_or(Command::Demo) {
        Command::Demo => run_demo(),
    })
}

fn run_demo() -> Result<()> {
    // This lesson has one voice: this process, making system calls.
    let say = Speaker::new("process");
    create_one_of_each_kind(&say)?;
    try_a_raw_socket(&say)?;
    name_a_process_by_ip_and_port(&say)?;
    Ok(())
}

// ANCHOR: kinds
/// The six everyday kinds: three domains times two types.
const KINDS: [(Domain, Type); 6] = [
    (Domain::IPV4, Type::STREAM),
    (Domain::IPV4, Type::DGRAM),
    (Domain::IPV6, Type::STREAM),
    (Domain::IPV6, Type::DGRAM),
    (Domain::UNIX, Type::STREAM),
    (Domain::UNIX, Type::DGRAM),
];
// ANCHOR_END: kinds

/// socket() for each (domain, type), and what the kernel says it made.
fn create_one_of_each_kind(say: &Speaker) -> Result<()> {
    transcript::note(
        "int socket(int domain, int type, int protocol): three numbers choose the kind",
    );
    transcript::note(
        "every fd has an entry in /proc/self/fd; `ls -l` shows a socket's as socket:[inode]",
    );
    // Kept open until the end, so each new socket gets a new fd number.
    let mut open = Vec::new();
    for (domain, ty) in KINDS {
        // ANCHOR: socket
        // Python: s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)   # proto=0
        // `None` is protocol 0: "whatever protocol this domain and type
        // normally use". The result is a file descriptor, a small integer.
        let call = format!("socket({domain:?}, {ty:?}, 0)");
        let socket = match Socket::new(domain, ty, None) {
            Ok(socket) => socket,
            Err(e) => {
                // E.g. EAFNOSUPPORT on a machine with IPv6 switched off:
                // worth a sentence, not the end of the lesson.
                say.warn(format!("{call} -> {}", errno_of(&e)));
                transcript::note(format!("why: {}", explain::explain(&e).why));
                continue;
            }
        };
        // Python: s.fileno()
        let fd = socket.as_raw_fd();
        say.say(format!("{call} -> fd {fd} -> {}", fd_link(fd)?));
        // ANCHOR_END: socket

        // ANCHOR: readback
        // Python: s.family, s.type, s.proto
        // getsockopt(SO_DOMAIN / SO_TYPE / SO_PROTOCOL) asks the kernel what
        // it actually made; SO_PROTOCOL shows what "protocol 0" became.
        let domain_back = socket.domain().context("getsockopt(SO_DOMAIN)")?;
        let type_back = socket.r#type().context("getsockopt(SO_TYPE)")?;
        let chosen = match socket.protocol().context("getsockopt(SO_PROTOCOL)")? {
            Some(p) => format!("{p:?}: protocol 0 meant {}", protocol_name(p)),
            None => "0: AF_UNIX has no protocols to choose from".to_string(),
        };
        say.say(format!(
            "  SO_DOMAIN {domain_back:?}, SO_TYPE {type_back:?}, SO_PROTOCOL {chosen}"
        ));
        // ANCHOR_END: readback
        open.push(socket);
    }

    // ANCHOR: file
    // Python: f = open('/dev/null', 'rb'); f.fileno()
    // An ordinary file lands in the same table, numbered the same way.
    let file = std::fs::File::open("/dev/null").context("open /dev/null")?;
    let fd = file.as_raw_fd();
    say.say(format!(
        "open(\"/dev/null\") -> fd {fd} -> {}",
        fd_link(fd)?
    ));
    transcript::note(
        "sockets and files share one fd table and the calls read(), write() and close(): \
         seed 002's \"everything is a file\"",
    );
    // ANCHOR_END: file

    transcript::note(
        "SOCK_STREAM is a connection carrying a byte stream (TCP); \
         SOCK_DGRAM carries separate messages, no connection (UDP)",
    );
    transcript::note(
        "AF_INET/AF_INET6 addresses are ip + port and reach other machines; \
         AF_UNIX addresses are file paths on this machine only (lesson 05)",
    );
    // Python: s.close()  — in Rust, dropping a socket closes its fd.
    say.say(format!(
        "close() all {} fds: the numbers are free for reuse",
        open.len() + 1
    ));
    drop(open);
    drop(file);
    Ok(())
}

// ANCHOR: raw
/// SOCK_RAW: whole IP packets, with their headers. Forging packets is
/// powerful, so the kernel wants the CAP_NET_RAW capability.
fn try_a_raw_socket(say: &Speaker) -> Result<()> {
    transcript::note(
        "SOCK_RAW hands you whole IP packets (here ICMP, what ping speaks) and lets you forge them",
    );

    // Python: socket.socket(socket.AF_INET, socket.SOCK_RAW)   # proto=0
    // For raw sockets there is no "default protocol": 0 is refused, for
    // everyone, before privilege is even checked.
    match Socket::new(Domain::IPV4, Type::RAW, None) {
        Ok(_) => say.warn("socket(AF_INET, SOCK_RAW, 0) -> a socket (this kernel is unusual)"),
        Err(e) => {
            say.say(format!("socket(AF_INET, SOCK_RAW, 0) -> {}", errno_of(&e)));
            transcript::note(
                "protocol 0 means \"the usual protocol for this type\", and raw sockets have none: \
                 you must name one",
            );
        }
    }

    // Python: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    let has_cap = has_cap_net_raw();
    say.say(format!(
        "CapEff in /proc/self/status: CAP_NET_RAW (bit 13) is {}",
        if has_cap { "set" } else { "not set" }
    ));
    match Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4)) {
        Ok(socket) => {
            let fd = socket.as_raw_fd();
            say.say(format!(
                "socket(AF_INET, SOCK_RAW, IPPROTO_ICMP) -> fd {fd} -> {}",
                fd_link(fd)?
            ));
            transcript::note(
                "allowed, because this process has CAP_NET_RAW (root has it). An ordinary user \
                 gets EPERM here — try it: setpriv --reuid=65534 --regid=65534 --clear-groups \
                 target/debug/lesson01_what_is_a_socket",
            );
        }
        Err(e) => {
            say.say(format!(
                "socket(AF_INET, SOCK_RAW, IPPROTO_ICMP) -> {}",
                errno_of(&e)
            ));
            transcript::note(format!("why: {}", explain::explain(&e).why));
            transcript::note(
                "this is the expected outcome for an ordinary user; root (or a program with \
                 CAP_NET_RAW, like ping) gets a socket",
            );
        }
    }
    Ok(())
}
// ANCHOR_END: raw

/// Seed 003: a pid names a process on one machine; on a network, ip +
/// protocol + port does, and the kernel gives each name one owner.
fn name_a_process_by_ip_and_port(say: &Speaker) -> Result<()> {
    transcript::note(format!(
        "this process is pid {} — but a pid means nothing on another machine (seed 003)",
        std::process::id()
    ));
    transcript::note("on a network, a process is named by ip address + protocol + port");

    // ANCHOR: bind
    // Python: s = socket.socket(); s.bind(('127.0.0.1', 0)); s.getsockname()
    let (tcp, udp, addr) = bind_tcp_and_udp_to_one_port(say)?;
    // ANCHOR_END: bind

    // ANCHOR: addr_in_use
    // Python: s2 = socket.socket(); s2.bind(('127.0.0.1', port))
    //         -> OSError: [Errno 98] Address already in use
    let second = Socket::new(Domain::IPV4, Type::STREAM, None).context("socket()")?;
    let fd = second.as_raw_fd();
    say.say(format!("socket(AF_INET, SOCK_STREAM, 0) -> fd {fd}"));
    match second.bind(&addr.into()) {
        Ok(()) => say.warn(format!(
            "bind(fd {fd}, {addr}) -> ok?! two TCP sockets now share a name"
        )),
        Err(e) => {
            say.say(format!("bind(fd {fd}, {addr}) -> {}", errno_of(&e)));
            transcript::note(format!("why: {}", explain::explain(&e).why));
        }
    }
    transcript::note(
        "one name, one owner: that is what lets ip + protocol + port name a process; \
         `ss -ltnp` shows which pid owns each TCP port",
    );
    // ANCHOR_END: addr_in_use
    say.say("close() all three: the port is free again");
    drop(second);
    drop(udp);
    drop(tcp);
    Ok(())
}

/// Bind a TCP socket to 127.0.0.1, port chosen by the kernel, and a UDP
/// socket to the same ip and port: a different protocol is a different name.
fn bind_tcp_and_udp_to_one_port(say: &Speaker) -> Result<(Socket, Socket, SocketAddr)> {
    let any_port: SocketAddr = "127.0.0.1:0".parse().expect("a literal address");
    // The port the kernel picks for TCP is free for TCP, not necessarily for
    // UDP (another program may hold it): retry with a fresh port rather than
    // show a coincidence. Nothing is printed until an attempt succeeds.
    let mut last_error = None;
    for _ in 0..20 {
        let tcp = Socket::new(Domain::IPV4, Type::STREAM, None).context("socket()")?;
        tcp.bind(&any_port.into()).context("bind 127.0.0.1:0")?;
        let addr = tcp
            .local_addr()
            .context("getsockname()")?
            .as_socket()
            .expect("an AF_INET socket has an inet address");
        tcp.listen(5).context("listen(5)")?;
        let udp = Socket::new(Domain::IPV4, Type::DGRAM, None).context("socket()")?;
        if let Err(e) = udp.bind(&addr.into()) {
            last_error = Some(e);
            continue;
        }
        let (t, u) = (tcp.as_raw_fd(), udp.as_raw_fd());
        say.say(format!("socket(AF_INET, SOCK_STREAM, 0) -> fd {t}"));
        // Shown as Python writes the address: ('127.0.0.1', 0).
        say.say(format!(
            "bind(fd {t}, ('{}', 0)) -> ok: port number 0 asks the kernel to pick a free one",
            any_port.ip()
        ));
        say.say(format!(
            "getsockname(fd {t}) -> {addr}: the kernel picked port {}",
            addr.port()
        ));
        say.say(format!(
            "listen(fd {t}, 5): TCP connections to {addr} now reach pid {}",
            std::process::id()
        ));
        say.say(format!("socket(AF_INET, SOCK_DGRAM, 0) -> fd {u}"));
        say.say(format!(
            "bind(fd {u}, {addr}) -> ok: UDP port {} is another name than TCP port {}",
            addr.port(),
            addr.port()
        ));
        return Ok((tcp, udp, addr));
    }
    Err(last_error.unwrap_or_else(|| io::Error::other("no port was free for both TCP and UDP")))
        .context("bind a TCP and a UDP socket to one port")
}

/// What `/proc/self/fd/N` links to: `socket:[inode]` for a socket, the path
/// for a file. (`readlink` is what `ls -l` shows after the arrow.)
fn fd_link(fd: RawFd) -> Result<String> {
    // Python: os.readlink(f'/proc/self/fd/{s.fileno()}')
    let path = format!("/proc/self/fd/{fd}");
    let target = std::fs::read_link(&path).context(format!("readlink {path}"))?;
    Ok(target.display().to_string())
}

/// Does this process hold CAP_NET_RAW? The kernel lists the effective
/// capabilities as a hex bit mask on the `CapEff:` line of
/// /proc/self/status; CAP_NET_RAW is bit 13 (`man 7 capabilities`).
fn has_cap_net_raw() -> bool {
    const CAP_NET_RAW: u32 = 13;
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        })
        .is_some_and(|mask| mask & (1 << CAP_NET_RAW) != 0)
}

/// An error as C names it: `error EPERM (errno 1): Operation not permitted`.
/// The errno is the precise fact; Rust's `ErrorKind` lumps EPERM and EACCES
/// together as `PermissionDenied`.
fn errno_of(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => {
            let name = errno_name(n).unwrap_or_else(|| "?".into());
            let text = io::Error::from_raw_os_error(n).to_string();
            let text = text.split(" (os error").next().unwrap_or_default();
            format!("error {name} (errno {n}): {text}")
        }
        None => format!("error: {e}"),
    }
}

/// The protocol's everyday name.
fn protocol_name(p: Protocol) -> &'static str {
    match p {
        p if p == Protocol::TCP => "TCP",
        p if p == Protocol::UDP => "UDP",
        p if p == Protocol::ICMPV4 => "ICMP",
        _ => "another protocol",
    }
}
