//! The load generator: many ping-pong clients driven from one thread.
//!
//! One thread with epoll drives every client connection, so the generator
//! costs the same whatever server it measures, and 1,000 clients do not
//! mean 1,000 generator threads fighting the server for two cores.
//!
//! A round trip: write a message, wait until all of its echo has come back,
//! note the time it took, write the next. Every client keeps exactly one
//! message in flight, as a request/response protocol would.

use std::collections::HashMap;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use socket2::{Domain, Socket, Type};

/// The size of one ping (and of its echo).
pub const MESSAGE: usize = 64;

/// What one ping-pong run measured.
#[derive(Debug)]
pub struct PingPong {
    /// Round trips completed.
    pub round_trips: usize,
    /// From the first ping to the last echo.
    pub elapsed: Duration,
    /// Every round trip's latency, sorted, in nanoseconds.
    pub latencies: Vec<u64>,
    /// The run hit its deadline before every client finished.
    pub timed_out: bool,
    /// The connections, still open, for the caller to measure or close.
    pub streams: Vec<TcpStream>,
}

impl PingPong {
    pub fn per_second(&self) -> f64 {
        self.round_trips as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The latency below which `q` (0..1) of the round trips fall.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let i = ((self.latencies.len() as f64 - 1.0) * q).round() as usize;
        Duration::from_nanos(self.latencies[i])
    }
}

struct Client {
    stream: TcpStream,
    /// Bytes of the current ping still to write (a write may be partial).
    to_send: usize,
    /// Bytes of the current echo received so far.
    received: usize,
    rounds_left: usize,
    sent_at: Instant,
}

/// Open `n` connections to `addr` (blocking connects, one after another;
/// the server's backlog must be large enough to queue them).
pub fn connect_many(addr: SocketAddr, n: usize, deadline: Instant) -> io::Result<Vec<TcpStream>> {
    let mut streams = Vec::with_capacity(n);
    for _ in 0..n {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                ErrorKind::TimedOut,
                format!("only {} of {n} connections opened in time", streams.len()),
            ));
        }
        let stream = TcpStream::connect_timeout(&addr, left)?;
        stream.set_nodelay(true)?;
        streams.push(stream);
    }
    Ok(streams)
}

/// Every client in `streams` does `rounds` round trips, all at once. A
/// client that is done hangs up at once (a server that serves one client at
/// a time is waiting for that), unless `keep_open`: then the connections
/// come back open in [`PingPong::streams`].
pub fn ping_pong(
    streams: Vec<TcpStream>,
    rounds: usize,
    deadline: Instant,
    keep_open: bool,
) -> io::Result<PingPong> {
    let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).map_err(io::Error::from)?;
    let mut clients: HashMap<u64, Client> = HashMap::with_capacity(streams.len());
    let total = streams.len() * rounds;
    let mut latencies = Vec::with_capacity(total);
    let ping = [b'x'; MESSAGE];
    let mut buf = [0u8; 4096];
    let started = Instant::now();
    for (i, stream) in streams.into_iter().enumerate() {
        stream.set_nonblocking(true)?;
        epoll
            .add(
                stream.as_fd(),
                EpollEvent::new(EpollFlags::EPOLLIN, i as u64),
            )
            .map_err(io::Error::from)?;
        let mut client = Client {
            stream,
            to_send: MESSAGE,
            received: 0,
            rounds_left: rounds,
            sent_at: Instant::now(),
        };
        send_some(&mut client, &ping)?;
        clients.insert(i as u64, client);
    }
    let mut events = vec![EpollEvent::empty(); 1024];
    let mut timed_out = false;
    let mut done = Vec::with_capacity(clients.len());
    while !clients.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            timed_out = true;
            break;
        }
        let wait = EpollTimeout::from(left.as_millis().min(100) as u16);
        let n = match epoll.wait(&mut events, wait) {
            Ok(n) => n,
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        };
        for event in &events[..n] {
            let id = event.data();
            let Some(client) = clients.get_mut(&id) else {
                continue;
            };
            if client.to_send > 0 {
                send_some(client, &ping)?;
            }
            let mut finished = false;
            loop {
                match client.stream.read(&mut buf) {
                    Ok(0) => {
                        return Err(io::Error::new(
                            ErrorKind::UnexpectedEof,
                            "the server hung up in the middle of the benchmark",
                        ));
                    }
                    Ok(got) => {
                        client.received += got;
                        if client.received > MESSAGE {
                            return Err(io::Error::new(
                                ErrorKind::InvalidData,
                                "the server sent more than it was sent",
                            ));
                        }
                        if client.received == MESSAGE {
                            latencies.push(client.sent_at.elapsed().as_nanos() as u64);
                            client.rounds_left -= 1;
                            client.received = 0;
                            if client.rounds_left == 0 {
                                finished = true;
                                break;
                            }
                            client.to_send = MESSAGE;
                            client.sent_at = Instant::now();
                            send_some(client, &ping)?;
                            // The next echo cannot be here yet: reading
                            // again would only cost a WouldBlock syscall.
                            break;
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            if finished {
                if let Some(client) = clients.remove(&id) {
                    if keep_open {
                        done.push(client.stream);
                    } else {
                        close_all(vec![client.stream]);
                    }
                }
            }
        }
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    done.extend(clients.into_values().map(|c| c.stream));
    Ok(PingPong {
        round_trips: latencies.len(),
        elapsed,
        latencies,
        timed_out,
        streams: done,
    })
}

/// Write what the kernel takes of the current ping. On loopback a 64-byte
/// write into an empty buffer always goes whole; if it ever does not, the
/// rest goes when the echo wakes us (the server cannot echo what it has
/// not got, so a partial ping never deadlocks).
fn send_some(client: &mut Client, ping: &[u8]) -> io::Result<()> {
    while client.to_send > 0 {
        match client.stream.write(&ping[MESSAGE - client.to_send..]) {
            Ok(n) => client.to_send -= n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Close with a reset (SO_LINGER 0) instead of a FIN: a benchmark opens
/// tens of thousands of connections, and each normal close by the client
/// would park its port in TIME_WAIT for a minute, on a machine whose other
/// users need ephemeral ports too.
pub fn close_all<S: AsFd>(sockets: Vec<S>) {
    for s in sockets {
        let _ = socket2::SockRef::from(&s).set_linger(Some(Duration::ZERO));
    }
}

/// How fast `n` clients get connected when they all connect at once: `n`
/// non-blocking connects in a burst, then wait until every handshake is
/// done. A full accept queue drops SYNs, and those clients retry a second
/// later: the backlog decides whether that happens.
pub fn connect_burst(
    addr: SocketAddr,
    n: usize,
    deadline: Instant,
) -> io::Result<(usize, Duration)> {
    let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).map_err(io::Error::from)?;
    let mut pending: HashMap<u64, Socket> = HashMap::with_capacity(n);
    let mut done = Vec::with_capacity(n);
    let started = Instant::now();
    for i in 0..n {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
        socket.set_nonblocking(true)?;
        match socket.connect(&addr.into()) {
            Ok(()) => {
                done.push(socket);
                continue;
            }
            Err(e) if e.raw_os_error() == Some(Errno::EINPROGRESS as i32) => {}
            Err(e) => return Err(e),
        }
        epoll
            .add(
                socket.as_fd(),
                EpollEvent::new(EpollFlags::EPOLLOUT, i as u64),
            )
            .map_err(io::Error::from)?;
        pending.insert(i as u64, socket);
    }
    let mut events = vec![EpollEvent::empty(); 1024];
    while !pending.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let wait = EpollTimeout::from(left.as_millis().min(100) as u16);
        let ready = match epoll.wait(&mut events, wait) {
            Ok(r) => r,
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        };
        for event in &events[..ready] {
            if let Some(socket) = pending.remove(&event.data()) {
                if let Some(e) = socket.take_error()? {
                    return Err(e);
                }
                let _ = epoll.delete(socket.as_fd());
                done.push(socket);
            }
        }
    }
    let connected = done.len();
    let elapsed = started.elapsed();
    close_all(done);
    close_all(pending.into_values().collect());
    Ok((connected, elapsed))
}
