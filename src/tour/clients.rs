//! Reference peers for the exercises where the student writes the client:
//! the checker is the server, plays it straight and adversarially, and judges
//! what crossed the socket and what the program printed.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::report::Check;
use super::runner::{Ended, Finished, Running};
use super::wire::{self, printed, shown};
use super::{Ctx, tcp_address};

/// Seed 002's homework server says exactly this, then hangs up.
pub const THIS_IS_SOCKET: &str = "This is socket!";

/// What the reference server saw of the student's client.
#[derive(Default)]
struct PeerSaw {
    /// Bytes the client sent us.
    received: Vec<u8>,
    /// Did the client close its end (we read 0 bytes) before we gave up?
    closed: bool,
}

/// One run of a TCP client against a reference server. `None` from
/// `peer_result` means nothing connected.
struct ClientRun<T> {
    finished: Finished,
    peer: Option<T>,
    addr: SocketAddr,
}

/// Start the program under test as a client of a fresh listener, run `peer`
/// on the accepted connection, wait for both (bounded).
fn run_tcp_client<T: Send + 'static>(
    ctx: &Ctx,
    listener: TcpListener,
    stdin: &[u8],
    peer: impl FnOnce(TcpStream, Instant) -> T + Send + 'static,
) -> Result<ClientRun<T>, String> {
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let (args, env) = tcp_address(addr);
    let deadline = Instant::now() + ctx.limit;
    let mut program = ctx.spawn(&args, &env, stdin.to_vec())?;
    let Some(stream) = wire::accept_until(&listener, &mut program, deadline) else {
        let finished = program.wait_until(deadline);
        return Ok(ClientRun {
            finished,
            peer: None,
            addr,
        });
    };
    // The peer gives up a little before the program is killed: the kill
    // closes the program's socket, which must not pass for a clean close.
    let peer_deadline = deadline - (ctx.limit / 4).min(Duration::from_secs(1));
    let server = thread::spawn(move || peer(stream, peer_deadline));
    let finished = program.wait_until(deadline);
    // The peer's own waits end at the deadline, so this join is bounded.
    let peer = server.join().ok();
    Ok(ClientRun {
        finished,
        peer,
        addr,
    })
}

/// Read until the client closes or the deadline passes.
fn read_until_closed(stream: &mut TcpStream, deadline: Instant, saw: &mut PeerSaw) {
    let mut buf = [0u8; 65536];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match stream.read(&mut buf) {
            Ok(0) => {
                saw.closed = true;
                return;
            }
            Ok(n) => saw.received.extend_from_slice(&buf[..n]),
            // A reset is a close too, just a rude one.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                saw.closed = true;
                return;
            }
            Err(_) => return,
        }
    }
}

/// The usual verdict on a client run, most fundamental problem first.
fn judge_client(name: &str, run: &ClientRun<PeerSaw>, must_print: &[&str], ok: &str) -> Check {
    let f = &run.finished;
    let Some(saw) = &run.peer else {
        return Check::fail(
            name,
            format!(
                "nothing connected to {} (passed as --host/--port); {}",
                run.addr,
                f.how_it_ended()
            ),
        );
    };
    if let Some(msg) = f.panic_message() {
        return Check::fail(name, format!("it panicked: {msg}"));
    }
    for want in must_print {
        if !f.stdout.contains(want) {
            return Check::fail(
                name,
                format!(
                    "expected its output to contain {want:?} (whole, on one line)\ngot:\n{}\n{}",
                    printed(&f.stdout),
                    f.how_it_ended()
                ),
            );
        }
    }
    if !saw.closed {
        return Check::fail(
            name,
            format!(
                "did not close: the server hung up, but the client kept the connection open ({}); \
                 a read that returns 0 bytes means the peer is done: close and exit",
                f.how_it_ended()
            ),
        );
    }
    if !f.succeeded() {
        return Check::fail(name, f.how_it_ended());
    }
    Check::pass(name, ok)
}

// ---------------------------------------------------------------- homework01

/// Homework 01 (seed 002): the server sends `This is socket!` and closes.
pub fn homework01(ctx: &Ctx) -> Vec<Check> {
    let mut checks = Vec::new();
    let msg = THIS_IS_SOCKET.as_bytes();

    let name = "the server sends the message in one piece and hangs up";
    checks.push(
        match listen().and_then(|l| {
            run_tcp_client(ctx, l, b"", move |mut s, deadline| {
                let mut saw = PeerSaw::default();
                let _ = s.write_all(msg);
                let _ = s.shutdown(Shutdown::Write);
                read_until_closed(&mut s, deadline, &mut saw);
                saw
            })
        }) {
            Ok(run) => judge_client(
                name,
                &run,
                &[THIS_IS_SOCKET],
                "printed \"This is socket!\", closed, exited 0",
            ),
            Err(e) => Check::fail(name, e),
        },
    );

    let name = "the message arrives in 15 pieces of 1 byte";
    checks.push(
        match listen().and_then(|l| {
            run_tcp_client(ctx, l, b"", move |mut s, deadline| {
                let mut saw = PeerSaw::default();
                let _ = s.set_nodelay(true);
                for byte in msg.chunks(1) {
                    // Each byte is read before the next is sent: the client's
                    // reads really do return 1 byte each.
                    if s.write_all(byte).is_err()
                        || !wire::wait_until_read(&s, Duration::from_secs(2))
                    {
                        break;
                    }
                }
                let _ = s.shutdown(Shutdown::Write);
                read_until_closed(&mut s, deadline, &mut saw);
                saw
            })
        }) {
            Ok(run) => judge_client(
                name,
                &run,
                &[THIS_IS_SOCKET],
                "read until the server hung up and printed the message whole",
            ),
            Err(e) => Check::fail(name, e),
        },
    );

    let name = "the server resets the connection mid-message";
    checks.push(
        match listen().and_then(|l| {
            run_tcp_client(ctx, l, b"", move |mut s, _| {
                let _ = s.write_all(&msg[..7]);
                wire::wait_until_read(&s, Duration::from_secs(2));
                // SO_LINGER 0: close() sends RST instead of FIN.
                let _ = socket2::SockRef::from(&s).set_linger(Some(Duration::ZERO));
                drop(s);
                PeerSaw {
                    closed: true,
                    ..PeerSaw::default()
                }
            })
        }) {
            Ok(run) => judge_reset(name, &run),
            Err(e) => Check::fail(name, e),
        },
    );
    checks
}

/// After a reset the client cannot print the message; it must end by
/// itself with an error it explains, not a panic and not a hang.
fn judge_reset<T>(name: &str, run: &ClientRun<T>) -> Check {
    let f = &run.finished;
    if run.peer.is_none() {
        return Check::fail(
            name,
            format!("nothing connected to {}; {}", run.addr, f.how_it_ended()),
        );
    }
    if let Some(msg) = f.panic_message() {
        return Check::fail(
            name,
            format!(
                "it panicked: {msg}\na reset is something a network program must expect: report it and exit, don't unwrap()"
            ),
        );
    }
    if f.ended == Ended::Killed {
        return Check::fail(name, f.how_it_ended());
    }
    Check::pass(
        name,
        format!(
            "ended by itself without panicking ({})",
            f.how_it_ended().trim_start_matches("it ")
        ),
    )
}

fn listen() -> Result<TcpListener, String> {
    TcpListener::bind("127.0.0.1:0").map_err(|e| format!("the checker could not listen: {e}"))
}

// ---------------------------------------------------------------- exercise02

/// Exercise 02 (lesson 04): a UDP client. Each non-empty stdin line is one
/// datagram; the reply is printed.
pub fn exercise02(ctx: &Ctx) -> Vec<Check> {
    let big: String = "0123456789".repeat(400);
    vec![
        udp_scenario(
            ctx,
            "one line, one datagram, one reply",
            b"hello\n",
            Reply::Echo,
            &[b"hello"],
            &["echo: hello"],
            true,
        ),
        udp_scenario(
            ctx,
            "several lines: an empty one (not sent) and UTF-8 text",
            "你好\n\nbye\n".as_bytes(),
            Reply::Echo,
            &["你好".as_bytes(), b"bye"],
            &["echo: 你好", "echo: bye"],
            true,
        ),
        udp_scenario(
            ctx,
            "a 4000-byte reply in one datagram",
            b"big\n",
            Reply::Big,
            &[b"big"],
            &[&big],
            true,
        ),
        udp_scenario(
            ctx,
            "a server that never answers (the reply is lost)",
            b"anyone?\n",
            Reply::Never,
            &[b"anyone?"],
            &[],
            false,
        ),
    ]
}

#[derive(Clone, Copy)]
enum Reply {
    Echo,
    Big,
    Never,
}

fn udp_scenario(
    ctx: &Ctx,
    name: &str,
    stdin: &[u8],
    reply: Reply,
    expect_sent: &[&[u8]],
    must_print: &[&str],
    must_succeed: bool,
) -> Check {
    let socket = match UdpSocket::bind("127.0.0.1:0") {
        Ok(s) => s,
        Err(e) => return Check::fail(name, format!("the checker could not bind UDP: {e}")),
    };
    let addr = match socket.local_addr() {
        Ok(a) => a,
        Err(e) => return Check::fail(name, e.to_string()),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let server = {
        let stop = stop.clone();
        thread::spawn(move || {
            let mut got: Vec<Vec<u8>> = Vec::new();
            let _ = socket.set_read_timeout(Some(Duration::from_millis(20)));
            let mut buf = vec![0u8; 65536];
            while !stop.load(Ordering::SeqCst) {
                let Ok((n, from)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                got.push(buf[..n].to_vec());
                let answer = match reply {
                    Reply::Echo => [b"echo: ".as_slice(), &buf[..n]].concat(),
                    Reply::Big => "0123456789".repeat(400).into_bytes(),
                    Reply::Never => continue,
                };
                let _ = socket.send_to(&answer, from);
            }
            got
        })
    };
    let (args, env) = tcp_address(addr);
    let finished = match ctx.spawn(&args, &env, stdin.to_vec()) {
        Ok(p) => p.wait_until(Instant::now() + ctx.limit),
        Err(e) => return Check::fail(name, e),
    };
    stop.store(true, Ordering::SeqCst);
    let got = server.join().unwrap_or_default();
    let f = &finished;
    if let Some(msg) = f.panic_message() {
        return Check::fail(name, format!("it panicked: {msg}"));
    }
    if got.is_empty() {
        return Check::fail(
            name,
            format!(
                "no datagram arrived at {addr} (passed as --host/--port); {}",
                f.how_it_ended()
            ),
        );
    }
    let expected: Vec<String> = expect_sent.iter().map(|d| shown(d)).collect();
    let sent: Vec<String> = got.iter().map(|d| shown(d)).collect();
    if expected != sent {
        return Check::fail(
            name,
            format!(
                "sent the wrong datagrams (one per non-empty line, without the newline)\nexpected: [{}]\ngot:      [{}]",
                expected.join(", "),
                sent.join(", ")
            ),
        );
    }
    for want in must_print {
        if !f.stdout.contains(want) {
            let extra = if want.len() > 1024 {
                format!(
                    "\nthe reply was {} bytes: a receive buffer smaller than the datagram cuts it off silently",
                    want.len()
                )
            } else {
                String::new()
            };
            return Check::fail(
                name,
                format!(
                    "expected its output to contain {}\ngot:\n{}{extra}\n{}",
                    shown(want.as_bytes()),
                    printed(&f.stdout),
                    f.how_it_ended()
                ),
            );
        }
    }
    if f.ended == Ended::Killed {
        return Check::fail(
            name,
            format!(
                "hung: {}\nUDP has no connection: a lost reply never arrives. Set a read timeout and give up with a message",
                f.how_it_ended()
            ),
        );
    }
    if must_succeed && !f.succeeded() {
        return Check::fail(name, f.how_it_ended());
    }
    Check::pass(
        name,
        format!(
            "sent [{}]; {}",
            sent.join(", "),
            f.how_it_ended().trim_start_matches("it ")
        ),
    )
}

// ---------------------------------------------------------------- exercise04

/// Exercise 04 (lesson 07): send all of stdin, then half-close, then print
/// the server's reply. The server reads slowly, so one `write` is short.
pub fn exercise04(ctx: &Ctx) -> Vec<Check> {
    let small = b"a short message that fits in any buffer\n".to_vec();
    // Large enough to fill both socket buffers many times over.
    let big: Vec<u8> = (0..16 * 1024 * 1024u32)
        .map(|i| b"0123456789abcdef"[(i % 16) as usize])
        .collect();
    vec![
        send_all_scenario(ctx, "40 bytes to a server that reads at once", small, false),
        send_all_scenario(
            ctx,
            "16 MiB to a server that reads slowly (a write comes back short)",
            big,
            true,
        ),
    ]
}

fn send_all_scenario(ctx: &Ctx, name: &str, data: Vec<u8>, slow: bool) -> Check {
    let listener = match slow_listener(slow) {
        Ok(l) => l,
        Err(e) => return Check::fail(name, format!("the checker could not listen: {e}")),
    };
    let len = data.len();
    let run = run_tcp_client(ctx, listener, &data, move |mut s, deadline| {
        let mut saw = PeerSaw::default();
        // At most 8 KiB per read and a pause between reads: the slow reader
        // takes well over a second for 16 MiB, longer than the client's
        // 1-second write timeout, whatever the machine's speed.
        let mut buf = vec![0u8; 8 * 1024];
        let started = Instant::now();
        loop {
            if slow {
                // A reader that takes its time: the client's buffers fill up
                // and its blocking write waits (and times out) part-way.
                thread::sleep(if started.elapsed() < Duration::from_millis(300) {
                    Duration::from_millis(300)
                } else {
                    Duration::from_millis(1)
                });
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || s.set_read_timeout(Some(left)).is_err() {
                break;
            }
            match s.read(&mut buf) {
                Ok(0) => {
                    saw.closed = true;
                    break;
                }
                Ok(n) => saw.received.extend_from_slice(&buf[..n]),
                Err(_) => break,
            }
        }
        if saw.closed {
            // The client half-closed: it is done sending. Answer, hang up.
            let _ = s.write_all(format!("received {} bytes\n", saw.received.len()).as_bytes());
            let _ = s.shutdown(Shutdown::Write);
        }
        saw
    });
    let run = match run {
        Ok(r) => r,
        Err(e) => return Check::fail(name, e),
    };
    if let Some(saw) = &run.peer {
        if saw.received != data {
            let at = saw.received.iter().zip(&data).position(|(a, b)| a != b);
            let msg = match at {
                Some(i) => format!(
                    "sent the wrong bytes: they differ at offset {i}\nexpected: {}\ngot:      {}",
                    shown(&data[i..(i + 20).min(data.len())]),
                    shown(&saw.received[i..(i + 20).min(saw.received.len())])
                ),
                None if saw.received.is_empty() => {
                    "connected but sent nothing: the server received 0 bytes".to_string()
                }
                None if saw.received.len() < len => format!(
                    "the server received only {} of {len} bytes before {}\n\
                     write() may send only part of the buffer (a short write) and returns how much; \
                     write_all() loops until everything is sent",
                    saw.received.len(),
                    if saw.closed {
                        "the client hung up"
                    } else {
                        "it gave up waiting"
                    }
                ),
                None => format!(
                    "sent {} bytes, but stdin had only {len}",
                    saw.received.len()
                ),
            };
            return Check::fail(name, format!("{msg}\n{}", run.finished.how_it_ended()));
        }
        if !saw.closed {
            return Check::fail(
                name,
                format!(
                    "all {len} bytes arrived, but the client never said it was done sending: the server waits for \
                     end-of-file before it answers. shutdown(Write) after sending\n{}",
                    run.finished.how_it_ended()
                ),
            );
        }
    }
    let reply = format!("received {len} bytes");
    let mut check = judge_client(name, &run, &[&reply], "");
    if check.outcome == super::report::Outcome::Pass {
        check.message = format!("the server got all {len} bytes and the client printed {reply:?}");
    }
    check
}

/// A listener whose accepted sockets have a small receive buffer, so a slow
/// reader makes the sender wait (set before listen: accepted sockets inherit it).
fn slow_listener(slow: bool) -> std::io::Result<TcpListener> {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    if slow {
        s.set_recv_buffer_size(16 * 1024)?;
    }
    let addr: SocketAddr = ([127, 0, 0, 1], 0).into();
    s.bind(&addr.into())?;
    s.listen(8)?;
    Ok(s.into())
}

// ---------------------------------------------------------------- exercise05

/// Exercise 05 (lesson 05): an AF_UNIX client that prints the greeting and
/// the server's credentials (SO_PEERCRED) as `pid=P uid=U gid=G`.
pub fn exercise05(ctx: &Ctx) -> Vec<Check> {
    vec![
        unix_scenario(ctx, "greeting and the server's credentials", true),
        unix_scenario(ctx, "a server that hangs up without a greeting", false),
    ]
}

pub const GREETING: &str = "你好, unix socket!";

fn unix_scenario(ctx: &Ctx, name: &str, greet: bool) -> Check {
    let dir = std::env::temp_dir().join(format!(
        "sl-check-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("server.sock");
    let check = unix_run(ctx, name, greet, &path);
    let _ = std::fs::remove_dir_all(&dir);
    check
}

static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn unix_run(ctx: &Ctx, name: &str, greet: bool, path: &std::path::Path) -> Check {
    let listener = match UnixListener::bind(path) {
        Ok(l) => l,
        Err(e) => {
            return Check::fail(
                name,
                format!("the checker could not bind {}: {e}", path.display()),
            );
        }
    };
    let shown_path = path.display().to_string();
    let args = vec!["--path".to_string(), shown_path.clone()];
    let env = vec![("SOCKET_LESSONS_PATH".to_string(), shown_path.clone())];
    let deadline = Instant::now() + ctx.limit;
    let mut program = match ctx.spawn(&args, &env, Vec::new()) {
        Ok(p) => p,
        Err(e) => return Check::fail(name, e),
    };
    let client_pid = program.id();
    let conn = accept_unix(&listener, &mut program, deadline);
    let connected = conn.is_some();
    let server = thread::spawn(move || {
        if let Some(mut s) = conn {
            if greet {
                let _ = s.write_all(GREETING.as_bytes());
            }
            let _ = s.shutdown(Shutdown::Write);
            let mut sink = Vec::new();
            let left = deadline
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1));
            let _ = s.set_read_timeout(Some(left));
            return s.read_to_end(&mut sink).is_ok();
        }
        false
    });
    let f = program.wait_until(deadline);
    let closed = server.join().unwrap_or(false);
    if !connected {
        return Check::fail(
            name,
            format!(
                "nothing connected to {shown_path} (passed as --path); {}",
                f.how_it_ended()
            ),
        );
    }
    if let Some(msg) = f.panic_message() {
        return Check::fail(name, format!("it panicked: {msg}"));
    }
    if greet && !f.stdout.contains(GREETING) {
        return Check::fail(
            name,
            format!(
                "expected its output to contain {GREETING:?}\ngot:\n{}",
                printed(&f.stdout)
            ),
        );
    }
    // Our own credentials as the kernel reports them for a socket we hold:
    // the two ends of a socketpair both belong to this process.
    let want = match UnixStream::pair()
        .map(|(a, _b)| nix::sys::socket::getsockopt(&a, nix::sys::socket::sockopt::PeerCredentials))
    {
        Ok(Ok(c)) => format!("pid={} uid={} gid={}", c.pid(), c.uid(), c.gid()),
        _ => return Check::fail(name, "the checker could not read its own credentials"),
    };
    if !f.stdout.contains(&want) {
        let own = format!("pid={client_pid}");
        let why = if f.stdout.contains(&format!("{own} ")) || f.stdout.trim_end().ends_with(&own) {
            format!(
                "\n{own} is the client's own pid: ask the socket for its peer's credentials (SO_PEERCRED)"
            )
        } else {
            String::new()
        };
        return Check::fail(
            name,
            format!(
                "expected its output to contain {want:?} (the server's credentials)\ngot:\n{}{why}",
                printed(&f.stdout)
            ),
        );
    }
    if !closed {
        return Check::fail(
            name,
            format!(
                "did not close: the client kept the connection open; {}",
                f.how_it_ended()
            ),
        );
    }
    if !f.succeeded() {
        return Check::fail(name, f.how_it_ended());
    }
    Check::pass(name, format!("printed {want:?}"))
}

fn accept_unix(
    listener: &UnixListener,
    program: &mut Running,
    deadline: Instant,
) -> Option<UnixStream> {
    listener.set_nonblocking(true).ok()?;
    loop {
        if let Ok((s, _)) = listener.accept() {
            s.set_nonblocking(false).ok()?;
            return Some(s);
        }
        if program.has_exited() || Instant::now() >= deadline {
            return listener
                .accept()
                .ok()
                .and_then(|(s, _)| s.set_nonblocking(false).ok().map(|_| s));
        }
        thread::sleep(Duration::from_millis(2));
    }
}
