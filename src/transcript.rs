//! Role-tagged output: who said what, in an order that can be trusted.
//!
//! Every line a lesson prints belongs to a *speaker* (`server`, `client`,
//! `client A`, …) or is a `note` from the narrator:
//!
//! ```text
//! server   │ accept() -> a connection from 127.0.0.1:51234
//! client   │ send(b'hello') -> 5 bytes
//! note     │ a read that returns 0 bytes means the peer hung up
//! ```
//!
//! The tag is coloured (with `colored`) when standard output is a terminal,
//! and plain when it is a pipe or `NO_COLOR` is set.
//!
//! ## Why a demo needs more than `println!`
//!
//! A demo runs the server in one thread and the client in another. Two
//! threads that print as they go produce a different interleaving on every
//! run, because after `connect()` returns, the client and the server's
//! `accept()` both run at once. A transcript that changes from run to run
//! cannot be snapshot-tested, and it would teach nothing reliable.
//!
//! So while a demo runs, lines are *recorded*, not printed. Lines that are
//! socket events say which conversation (link) they belong to: "sent 5 bytes
//! from A to B", "received 5 bytes from A at B", "connected", "closed". When
//! the demo ends, [`merge`] interleaves the speakers' lines so that every
//! effect comes after its cause (nothing is received before it was sent), and
//! where two lines are truly concurrent the earlier-created speaker goes
//! first. The result is the same on every run and true to what happened.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt::Display;
use std::io::Write;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::sync::{Arc, Mutex};

use colored::{Color, Colorize};
use socket2::{SockAddr, SockRef};

/// One direction of one conversation: bytes travel from `.0` to `.1`.
///
/// The names are socket addresses as each end sees them (`127.0.0.1:8888`,
/// a socket file's path, or `(unnamed)`).
pub type Link = (String, String);

/// What a line's event makes true, or needs to be true, in the merge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Causality {
    /// An ordinary line: no ordering constraint besides its own speaker's.
    None,
    /// `connect()` returned on this link (from the client to the server).
    Connects(Link),
    /// `accept()` returned a connection whose other end is this link's source.
    NeedsConnect(Link),
    /// This many units (bytes, or datagrams for UDP) went out on the link.
    Sends(Link, usize),
    /// This many units arrived on the link; they must have been sent first.
    NeedsSent(Link, usize),
    /// The sender closed (or shut down) its side of the link.
    Closes(Link),
    /// A read returned 0: the other side must have closed first.
    NeedsClose(Link),
}

/// A recorded line.
#[derive(Debug, Clone)]
pub struct Line {
    /// The speaker whose order this line keeps (`server`, `client`, …).
    pub speaker: String,
    /// The tag printed in front: the speaker's name, or `note`/`error`.
    pub tag: String,
    /// The text, one line.
    pub text: String,
    /// How this line is ordered against other speakers' lines.
    pub causality: Causality,
}

/// A named voice in the transcript. Cheap to clone; every method prints (or,
/// during a demo, records) one line.
#[derive(Debug, Clone)]
pub struct Speaker {
    name: Arc<str>,
}

/// The server's voice.
pub fn server() -> Speaker {
    Speaker::new("server")
}

/// The client's voice.
pub fn client() -> Speaker {
    Speaker::new("client")
}

/// A narrator's note outside any speaker's flow (between demo phases, or
/// while no demo is recording).
pub fn note(text: impl Display) {
    Speaker::new("note").emit("note", text.to_string(), Causality::None);
}

impl Speaker {
    /// A speaker with any name, e.g. `Speaker::new("client A")`.
    pub fn new(name: &str) -> Speaker {
        Speaker { name: name.into() }
    }

    /// The speaker's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// An ordinary line.
    pub fn say(&self, text: impl Display) {
        self.emit(&self.name, text.to_string(), Causality::None);
    }

    /// An explanation, tagged `note`, kept in this speaker's order.
    pub fn note(&self, text: impl Display) {
        self.emit("note", text.to_string(), Causality::None);
    }

    /// Something that went wrong but is handled (the program goes on).
    pub fn warn(&self, text: impl Display) {
        self.emit("warning", text.to_string(), Causality::None);
    }

    /// `connect()` returned on `sock`.
    pub fn connected(&self, sock: &impl AsFd, text: impl Display) {
        let link = link_of(sock);
        self.emit(&self.name, text.to_string(), Causality::Connects(link));
    }

    /// `accept()` returned `sock`, a connection from a client.
    pub fn accepted(&self, sock: &impl AsFd, text: impl Display) {
        let (local, peer) = link_of(sock);
        self.emit(
            &self.name,
            text.to_string(),
            Causality::NeedsConnect((peer, local)),
        );
    }

    /// `n` bytes were written to the connected `sock`.
    pub fn sent(&self, sock: &impl AsFd, n: usize, text: impl Display) {
        self.emit(
            &self.name,
            text.to_string(),
            Causality::Sends(link_of(sock), n),
        );
    }

    /// `n` bytes (n > 0) were read from the connected `sock`.
    pub fn received(&self, sock: &impl AsFd, n: usize, text: impl Display) {
        let (local, peer) = link_of(sock);
        self.emit(
            &self.name,
            text.to_string(),
            Causality::NeedsSent((peer, local), n),
        );
    }

    /// A read on `sock` returned 0 bytes: the peer closed its side.
    pub fn hung_up(&self, sock: &impl AsFd, text: impl Display) {
        let (local, peer) = link_of(sock);
        self.emit(
            &self.name,
            text.to_string(),
            Causality::NeedsClose((peer, local)),
        );
    }

    /// We are about to close (or shut down for writing) `sock`. Call it
    /// *before* the close, so the peer's "hung up" line can follow it.
    pub fn closing(&self, sock: &impl AsFd, text: impl Display) {
        self.emit(
            &self.name,
            text.to_string(),
            Causality::Closes(link_of(sock)),
        );
    }

    /// A datagram of `n` bytes was sent from `sock` to `to`.
    pub fn sent_to(&self, sock: &impl AsFd, to: SocketAddr, n: usize, text: impl Display) {
        let local = local_name_towards(sock, to);
        let link = (local, name_of_inet(to));
        self.emit(
            &self.name,
            text.to_string(),
            Causality::Sends(link, n.max(1)),
        );
    }

    /// A datagram of `n` bytes from `from` arrived on `sock`.
    pub fn received_from(&self, sock: &impl AsFd, from: SocketAddr, n: usize, text: impl Display) {
        let local = local_name_towards(sock, from);
        let link = (name_of_inet(from), local);
        self.emit(
            &self.name,
            text.to_string(),
            Causality::NeedsSent(link, n.max(1)),
        );
    }

    /// The lowest-level form: a line with explicit causality, for cases the
    /// methods above do not cover (e.g. a `socketpair`, whose ends are both
    /// unnamed).
    pub fn event(&self, text: impl Display, causality: Causality) {
        self.emit(&self.name, text.to_string(), causality);
    }

    fn emit(&self, tag: &str, text: String, causality: Causality) {
        for (i, part) in text.split('\n').enumerate() {
            // Only the first physical line carries the event.
            let causality = if i == 0 {
                causality.clone()
            } else {
                Causality::None
            };
            let line = Line {
                speaker: self.name.to_string(),
                tag: tag.to_string(),
                text: part.to_string(),
                causality,
            };
            let mut recording = RECORDING.lock().unwrap_or_else(|p| p.into_inner());
            match recording.as_mut() {
                Some(lines) => lines.push(line),
                None => {
                    drop(recording);
                    print_line(&line);
                }
            }
        }
    }
}

static RECORDING: Mutex<Option<Vec<Line>>> = Mutex::new(None);

/// Start recording instead of printing (the demo runner calls this).
pub fn start_recording() {
    *RECORDING.lock().unwrap_or_else(|p| p.into_inner()) = Some(Vec::new());
}

/// Stop recording and return the lines in causal order, without printing.
pub fn stop_recording() -> Vec<Line> {
    let lines = RECORDING
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
        .unwrap_or_default();
    merge(lines)
}

/// Stop recording and print what was recorded (used when a demo fails, so
/// the learner sees how far the conversation got before the error).
pub fn flush_recording() {
    for line in stop_recording() {
        print_line(&line);
    }
}

/// Print one line with its coloured tag.
pub fn print_line(line: &Line) {
    let tag = format!("{:<8}", line.tag);
    let tag = match line.tag.as_str() {
        "note" => tag.dimmed(),
        "warning" => tag.yellow().bold(),
        "error" => tag.red().bold(),
        name => tag.color(colour_of(name)).bold(),
    };
    let mut out = std::io::stdout().lock();
    // A closed stdout (e.g. `| head`) must not turn into a panic.
    let _ = writeln!(out, "{tag} │ {}", line.text);
}

/// Tag width is fixed so the bars line up: `client A` is the longest name.
fn colour_of(name: &str) -> Color {
    match name {
        "server" => Color::Cyan,
        "client" | "client A" => Color::Green,
        "client B" => Color::Magenta,
        "client C" => Color::Blue,
        _ => Color::BrightBlue,
    }
}

/// Interleave the speakers' lines so that causes come before effects.
///
/// Each speaker's own lines keep their order. At every step the first
/// speaker (in order of first appearance) whose next line is allowed goes
/// next. If no line is allowed (an event we could not match, e.g. a peer
/// address the kernel no longer reports after a reset), the first waiting
/// speaker goes anyway, so the merge always terminates and loses nothing.
pub fn merge(lines: Vec<Line>) -> Vec<Line> {
    let mut order: Vec<String> = Vec::new();
    let mut queues: HashMap<String, VecDeque<Line>> = HashMap::new();
    for line in lines {
        if !queues.contains_key(&line.speaker) {
            order.push(line.speaker.clone());
        }
        queues
            .entry(line.speaker.clone())
            .or_default()
            .push_back(line);
    }
    let mut connected: HashSet<Link> = HashSet::new();
    let mut closed: HashSet<Link> = HashSet::new();
    let mut sent: HashMap<Link, usize> = HashMap::new();
    let mut taken: HashMap<Link, usize> = HashMap::new();
    let allowed = |line: &Line,
                   connected: &HashSet<Link>,
                   closed: &HashSet<Link>,
                   sent: &HashMap<Link, usize>,
                   taken: &HashMap<Link, usize>| match &line.causality {
        Causality::NeedsConnect(link) => connected.contains(link),
        Causality::NeedsClose(link) => closed.contains(link),
        Causality::NeedsSent(link, n) => {
            sent.get(link).copied().unwrap_or(0) >= taken.get(link).copied().unwrap_or(0) + n
        }
        _ => true,
    };
    let mut merged = Vec::new();
    loop {
        let ready = order.iter().find(|s| {
            queues[*s]
                .front()
                .is_some_and(|l| allowed(l, &connected, &closed, &sent, &taken))
        });
        let speaker = match ready.or_else(|| order.iter().find(|s| !queues[*s].is_empty())) {
            Some(s) => s.clone(),
            None => break,
        };
        let line = queues
            .get_mut(&speaker)
            .and_then(VecDeque::pop_front)
            .expect("chosen queue is not empty");
        match &line.causality {
            Causality::Connects(link) => {
                connected.insert(link.clone());
            }
            Causality::Closes(link) => {
                closed.insert(link.clone());
            }
            Causality::Sends(link, n) => *sent.entry(link.clone()).or_default() += n,
            Causality::NeedsSent(link, n) => *taken.entry(link.clone()).or_default() += n,
            _ => {}
        }
        merged.push(line);
    }
    merged
}

/// How a socket address is shown: `127.0.0.1:8888`, `[::1]:8888`, a socket
/// file's path, `@name` for the abstract namespace, or `(unnamed)`.
pub fn name_of(addr: &SockAddr) -> String {
    if let Some(inet) = addr.as_socket() {
        name_of_inet(inet)
    } else if let Some(path) = addr.as_pathname() {
        path.display().to_string()
    } else if let Some(name) = addr.as_abstract_namespace() {
        format!("@{}", String::from_utf8_lossy(name))
    } else {
        "(unnamed)".to_string()
    }
}

/// An IPv4-mapped IPv6 address (`[::ffff:127.0.0.1]:5`, what a dual-stack
/// listener reports) is shown as the IPv4 address it is, so both ends of one
/// connection name it the same way.
fn name_of_inet(addr: SocketAddr) -> String {
    SocketAddr::new(addr.ip().to_canonical(), addr.port()).to_string()
}

/// `(local, peer)` names of a connected socket, as getsockname/getpeername
/// report them; `?` where the kernel no longer knows (after a reset).
fn link_of(sock: &impl AsFd) -> Link {
    let sock = SockRef::from(sock);
    let local = sock
        .local_addr()
        .map(|a| name_of(&a))
        .unwrap_or_else(|_| "?".into());
    let peer = sock
        .peer_addr()
        .map(|a| name_of(&a))
        .unwrap_or_else(|_| "?".into());
    (local, peer)
}

/// The local name of an unconnected (UDP) socket as its peer sees it: a
/// socket bound to `0.0.0.0` sends to loopback from the loopback address.
fn local_name_towards(sock: &impl AsFd, peer: SocketAddr) -> String {
    match SockRef::from(sock)
        .local_addr()
        .ok()
        .and_then(|a| a.as_socket())
    {
        Some(local) if local.ip().is_unspecified() && peer.ip().is_loopback() => {
            name_of_inet(SocketAddr::new(peer.ip(), local.port()))
        }
        Some(local) => name_of_inet(local),
        None => "?".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(speaker: &str, text: &str, causality: Causality) -> Line {
        Line {
            speaker: speaker.into(),
            tag: speaker.into(),
            text: text.into(),
            causality,
        }
    }

    fn link(a: &str, b: &str) -> Link {
        (a.into(), b.into())
    }

    #[test]
    fn effects_follow_causes_whatever_order_they_were_recorded_in() {
        let c2s = link("c", "s");
        let s2c = link("s", "c");
        // Recorded in a racy order: the server's thread got ahead.
        let recorded = vec![
            line("server", "listening", Causality::None),
            line("server", "accepted", Causality::NeedsConnect(c2s.clone())),
            line("server", "got 5", Causality::NeedsSent(c2s.clone(), 5)),
            line("server", "replied 2", Causality::Sends(s2c.clone(), 2)),
            line(
                "server",
                "client hung up",
                Causality::NeedsClose(c2s.clone()),
            ),
            line("client", "connected", Causality::Connects(c2s.clone())),
            line("client", "sent 5", Causality::Sends(c2s.clone(), 5)),
            line("client", "got 2", Causality::NeedsSent(s2c.clone(), 2)),
            line("client", "closing", Causality::Closes(c2s.clone())),
        ];
        let merged: Vec<_> = merge(recorded).into_iter().map(|l| l.text).collect();
        assert_eq!(
            merged,
            [
                "listening",
                "connected",
                "accepted",
                "sent 5",
                "got 5",
                "replied 2",
                "got 2",
                "closing",
                "client hung up"
            ]
        );
    }

    #[test]
    fn bytes_sent_in_pieces_may_be_received_together() {
        let c2s = link("c", "s");
        let recorded = vec![
            line("server", "got 6", Causality::NeedsSent(c2s.clone(), 6)),
            line("client", "sent 3", Causality::Sends(c2s.clone(), 3)),
            line("client", "sent 3 more", Causality::Sends(c2s.clone(), 3)),
        ];
        let merged: Vec<_> = merge(recorded).into_iter().map(|l| l.text).collect();
        assert_eq!(merged, ["sent 3", "sent 3 more", "got 6"]);
    }

    #[test]
    fn an_unmatched_event_does_not_lose_lines() {
        let recorded = vec![
            line(
                "server",
                "waits forever",
                Causality::NeedsClose(link("x", "y")),
            ),
            line("client", "hello", Causality::None),
        ];
        let merged: Vec<_> = merge(recorded).into_iter().map(|l| l.text).collect();
        assert_eq!(merged, ["hello", "waits forever"]);
    }
}
