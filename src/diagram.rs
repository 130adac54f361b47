//! Sequence diagrams drawn from a demo's transcript, for the book.
//!
//! A lesson's demo prints lines like `server   │ listen(5)`. The book shows
//! that transcript, and beside it a picture of the same conversation: one
//! lifeline per speaker, the socket calls on them, and an arrow for every
//! call that puts something on the wire (a connect, a send, a close).
//!
//! ```text
//!           server                        client
//!              │                             │
//!    listen(5) ┤                             │
//!              │<--------- connect ----------├ connect()
//!     accept() ┤                             │
//!              │<--------- 15 bytes ---------├ send(…) -> 15 bytes
//! ```
//!
//! The picture is computed from the transcript text, never drawn by hand,
//! so it cannot drift from what the program does: `tests/diagrams.rs`
//! renders every lesson's demo and snapshots the result, which the book
//! includes. Only the call names and byte counts are shown (no addresses or
//! payloads), so the picture is the same on every run and every machine.

use std::collections::HashMap;

/// One transcript line: who said it (`server`, `client A`, `note`, …) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Said {
    /// The tag in front of the bar.
    pub tag: String,
    /// The text after the bar.
    pub text: String,
}

/// Split a printed transcript (`tag │ text` lines) into its lines. Lines
/// without a bar are ignored.
pub fn parse(transcript: &str) -> Vec<Said> {
    transcript
        .lines()
        .filter_map(|line| {
            let (tag, text) = line.split_once(" │ ").or_else(|| {
                // An empty text leaves "tag │" with nothing after the bar.
                line.strip_suffix(" │").map(|tag| (tag, ""))
            })?;
            Some(Said {
                tag: tag.trim().to_string(),
                text: text.to_string(),
            })
        })
        .collect()
}

/// Tags that are not speakers: the narrator and the problems.
const NOT_SPEAKERS: [&str; 3] = ["note", "warning", "error"];

/// A socket call found at the start of a line: `recv(1024) -> 15 bytes …`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Call {
    /// The last path segment, lower-case: what the call *is* (`connect`).
    kind: String,
    /// What the diagram shows on the lifeline.
    label: String,
    /// The byte count the call reported, if any (`-> 15 bytes`).
    bytes: Option<usize>,
    /// A close of the listening socket alone: nothing goes on the wire.
    listening_only: bool,
    /// The call returned an error.
    failed: bool,
    /// The server's worker thread that made the call (`thread A`), drawn on
    /// the server's lifeline.
    thread: Option<String>,
    /// The whole line, for the names of the speakers it mentions.
    text: String,
}

/// Recognise `name(args) [-> result]` at the start of a line.
fn call_in(text: &str) -> Option<Call> {
    let name_len = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':' || c == '.'))
        .unwrap_or(text.len());
    let name = &text[..name_len];
    if !name.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let kind = name
        .rsplit([':', '.'])
        .next()
        .unwrap_or(name)
        .to_ascii_lowercase();
    let after = &text[name_len..];
    let (shown_args, result) = if after.starts_with('(') {
        let close = name_len + matching_paren(after)?;
        let args = &text[name_len + 1..close];
        // Arguments are shown only when they are short names or numbers
        // (`listen(5)`, `socket(AF_INET, SOCK_STREAM, 0)`): addresses, paths
        // and payloads vary from run to run or would not fit.
        let simple = args.len() <= 32
            && args
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ',' || c == ' ');
        let shown = if args.is_empty() || simple {
            args
        } else {
            "…"
        };
        (shown, &text[close + 1..])
    } else if after.starts_with(' ') && KNOWN.contains(&kind.as_str()) {
        // `send "hello" (5 bytes)`: a call described in words.
        ("…", after)
    } else {
        return None;
    };
    // Only reads and writes count bytes (`bind(..) -> 0` is a status).
    let moves_bytes = SENDS.contains(&kind.as_str()) || RECEIVES.contains(&kind.as_str());
    let bytes = if moves_bytes {
        byte_count(result)
    } else {
        None
    };
    // A descriptor's number varies from run to run: show that it is an fd.
    let shown_args = without_fd_numbers(shown_args);
    let mut label = format!("{name}({shown_args})");
    if let Some(n) = bytes {
        label += &format!(" -> {}", bytes_text(n));
    }
    let listening_only = text.contains("listening") && !text.contains(';');
    // A call that failed (`connect(..) -> Connection refused`) connected
    // nothing and sent nothing: no arrow.
    let failed = result.contains("Err")
        || result.contains("refused")
        || result.contains("error")
        || result.contains("no answer");
    // A write into a BufWriter stays in our process until flush().
    let buffered = text.contains("into the BufWriter");
    Some(Call {
        kind,
        label,
        bytes,
        listening_only,
        failed: failed || buffered,
        thread: None,
        text: text.to_string(),
    })
}

/// `fd 5, 1024` -> `fd, 1024`.
fn without_fd_numbers(args: &str) -> String {
    let mut out = String::new();
    let mut rest = args;
    while let Some(i) = rest.find("fd ") {
        let (before, after) = rest.split_at(i + 2);
        out += before;
        let digits = after[1..].chars().take_while(char::is_ascii_digit).count();
        rest = if digits > 0 {
            &after[1 + digits..]
        } else {
            after
        };
    }
    out + rest
}

/// The calls recognised even when the lesson describes them in words.
const KNOWN: &[&str] = &[
    "socket",
    "bind",
    "listen",
    "accept",
    "connect",
    "close",
    "shutdown",
    "send",
    "sendall",
    "sendto",
    "send_to",
    "sendmsg",
    "write",
    "write_all",
    "recv",
    "recvfrom",
    "recv_from",
    "recvmsg",
    "read",
    "read_line",
    "read_exact",
    "read_frame",
];

fn bytes_text(n: usize) -> String {
    format!("{n} {}", if n == 1 { "byte" } else { "bytes" })
}

/// The first `N bytes` (or `1 byte`) in a call's result.
fn byte_count(result: &str) -> Option<usize> {
    // Quoted payloads may contain digits of their own: skip them.
    let mut plain = String::new();
    let mut quote = None;
    for c in result.chars() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, c) => plain.push(c),
            _ => {}
        }
    }
    // The count a call returned follows its last arrow: `-> 6 bytes`, or a
    // bare `-> 5`. A number followed by anything else there (`-> 3919467:
    // the kernel took 3919467 of 16777216 bytes`) is not a byte count.
    if let Some(at) = plain.rfind("-> ") {
        let after = &plain[at + 3..];
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        if !digits.is_empty() {
            let rest = &after[digits.len()..];
            let counts = rest.is_empty() || rest.starts_with(" byte") || rest.starts_with(" (");
            return counts.then(|| digits.parse().ok()).flatten();
        }
    }
    // Otherwise the first number that is not an fd (`send "hi" (2 bytes)`,
    // `-> sendto(fd 5, 2 bytes)`), if it counts bytes.
    let chars: Vec<(usize, char)> = plain.char_indices().collect();
    for (k, &(i, c)) in chars.iter().enumerate() {
        let starts_number = c.is_ascii_digit()
            && (k == 0 || !chars[k - 1].1.is_ascii_alphanumeric() && chars[k - 1].1 != '\\');
        if !starts_number || plain[..i].ends_with("fd ") {
            continue;
        }
        let digits: String = plain[i..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        return plain[i + digits.len()..]
            .starts_with(" byte")
            .then(|| digits.parse().ok())
            .flatten();
    }
    None
}

/// The index of the `)` that closes the `(` that `text` starts with.
fn matching_paren(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

const SENDS: &[&str] = &[
    "flush",
    "send",
    "sendall",
    "sendto",
    "send_to",
    "sendmsg",
    "write",
    "write_all",
    "writev",
    "send_all",
];
const RECEIVES: &[&str] = &[
    "recv",
    "recvfrom",
    "recv_from",
    "recvmsg",
    "read",
    "read_line",
    "read_to_end",
    "read_exact",
    "read_frame",
];

/// What a call puts on the wire, as an arrow label; `None` for local calls.
fn wire_label(call: &Call, streams: bool) -> Option<String> {
    let kind = call.kind.as_str();
    if call.failed {
        return None;
    }
    if SENDS.contains(&kind) {
        return Some(match call.bytes {
            Some(n) => bytes_text(n),
            None => "data".to_string(),
        });
    }
    if streams && kind == "connect" {
        return Some("connect".to_string());
    }
    if streams && (kind == "close" || kind == "shutdown") && !call.listening_only {
        return Some("FIN".to_string());
    }
    None
}

/// Does `call` (said by someone else) receive what `sent_kind` sent?
fn receives(call: &Call, sent_kind: &str) -> bool {
    let kind = call.kind.as_str();
    match sent_kind {
        "connect" => kind == "accept",
        "close" | "shutdown" => RECEIVES.contains(&kind) && call.bytes == Some(0),
        _ => RECEIVES.contains(&kind) && call.bytes != Some(0),
    }
}

/// A call on a lifeline, with an arrow to another lifeline if it sends.
struct Row {
    column: usize,
    label: String,
    /// The other lifeline and the arrow's label.
    arrow: Option<(usize, String)>,
    /// The arrow points at this row's lifeline instead of away from it.
    incoming: bool,
}

/// The gap between two lifelines.
const MIN_GAP: usize = 22;

/// A call's label longer than this loses its arguments, so that a picture
/// stays within a book page's width (about 85 characters).
const MAX_LABEL: usize = 32;

/// Draw the transcript as a sequence diagram: `None` when there is nothing
/// to draw (fewer than two speakers, or nothing crosses between them).
pub fn sequence_diagram(transcript: &str) -> Option<String> {
    let lines = parse(transcript);
    let has_server = lines.iter().any(|s| s.tag == "server");
    let calls: Vec<(String, Call)> = lines
        .into_iter()
        .filter(|s| !NOT_SPEAKERS.contains(&s.tag.as_str()))
        .filter_map(|s| {
            let mut call = call_in(&s.text)?;
            // A server's worker thread (lesson 11's `thread A`) is the
            // server: its calls go on the server's lifeline, named.
            if has_server && s.tag.starts_with("thread ") {
                call.label = format!("{}: {}", s.tag, call.label);
                call.thread = Some(s.tag);
                return Some(("server".to_string(), call));
            }
            Some((s.tag, call))
        })
        .collect();
    // A demo in several parts with different speakers (lesson 05: a stream
    // server, then datagrams, then a socketpair) gets one picture per part:
    // a new part begins when a new speaker appears and nobody of the part
    // so far speaks again, except the server (lesson 03: one picture per
    // client, the same server in each); and a new server is a new picture.
    let mut parts: Vec<&[(String, Call)]> = Vec::new();
    let mut start = 0;
    for at in 0..calls.len() {
        let speaker = &calls[at].0;
        let mut seen: Vec<&String> = Vec::new();
        for (s, _) in &calls[start..at] {
            if !seen.contains(&s) {
                seen.push(s);
            }
        }
        let new = !seen.contains(&speaker);
        // The server may go on into the next part (it serves client after
        // client); everybody else of this part must be done.
        let host = if seen.iter().any(|s| *s == "server") {
            Some("server")
        } else {
            seen.first().map(|s| s.as_str())
        };
        let part_over = seen.len() > 1
            && !calls[at..]
                .iter()
                .any(|(later, _)| Some(later.as_str()) != host && seen.contains(&later));
        // A server that creates a new socket after it has served somebody
        // is the next server of the demo (lesson 06: the same server three
        // ways): a new picture.
        let (_, call) = &calls[at];
        let next_server = speaker == "server"
            && ["socket", "new", "bind"].contains(&call.kind.as_str())
            && calls[start..at].iter().any(|(_, c)| c.kind == "accept");
        // (Only once something happened in this part: clients that merely
        // queued up, as in lesson 11's backlog, stay in one picture.)
        let something_happened = calls[start..at].iter().any(|(_, c)| {
            c.kind == "accept"
                || SENDS.contains(&c.kind.as_str())
                || RECEIVES.contains(&c.kind.as_str())
        });
        if (new && part_over && something_happened) || next_server {
            parts.push(&calls[start..at]);
            start = at;
        }
    }
    parts.push(&calls[start..]);
    let pictures: Vec<String> = parts.into_iter().filter_map(diagram_of_part).collect();
    if pictures.is_empty() {
        return None;
    }
    Some(pictures.join("\n"))
}

fn diagram_of_part(calls: &[(String, Call)]) -> Option<String> {
    // Columns: the server first (it exists before anyone calls it), then the
    // other speakers in order of appearance.
    let mut columns: Vec<String> = Vec::new();
    for (speaker, _) in calls {
        if !columns.contains(speaker) {
            columns.push(speaker.clone());
        }
    }
    if let Some(i) = columns.iter().position(|c| c == "server") {
        let server = columns.remove(i);
        columns.insert(0, server);
    }
    if columns.len() < 2 {
        return None;
    }
    let index: HashMap<&str, usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    let calls: Vec<(usize, &Call)> = calls
        .iter()
        .map(|(speaker, call)| (index[speaker.as_str()], call))
        .collect();
    // A connection-oriented conversation has an accept() or a stream
    // socket; only then do a connect and a close put packets on the wire.
    let streams = calls
        .iter()
        .any(|(_, c)| c.kind == "accept" || c.label.contains("SOCK_STREAM"));

    let mut rows = Vec::new();
    // Lifelines a FIN arrow has reached and whose `recv -> 0` has not yet
    // been shown.
    let mut fins_pending: Vec<usize> = Vec::new();
    // The client the server talked to last: where its words go when the
    // transcript does not show who received them.
    let mut last_client = 1;
    for (at, (column, call)) in calls.iter().enumerate() {
        if *column != 0 && call.kind == "connect" && !call.failed {
            last_client = *column;
        }
        let peer = if *column == 0 { last_client } else { 0 };
        let arrow = wire_label(call, streams).map(|label| {
            // On connections every client talks to the server; only the
            // server (and datagram sockets) must find out whom it reached.
            // Whom the server addresses: its worker thread's client
            // (`thread A` serves `client A`), or the client the line names
            // (`close() client B's socket`).
            let partner = call
                .thread
                .as_ref()
                .and_then(|t| {
                    let client = t.replacen("thread", "client", 1);
                    columns.iter().position(|c| *c == client)
                })
                .or_else(|| {
                    (1..columns.len())
                        .filter(|&i| call.text.contains(columns[i].as_str()))
                        .max_by_key(|&i| columns[i].len())
                });
            let to = if streams && *column != 0 {
                Some(0)
            } else {
                partner
            };
            let to = to
                .or_else(|| {
                    calls[at + 1..]
                        .iter()
                        .find(|(other, c)| other != column && receives(c, &call.kind))
                        .map(|(other, _)| *other)
                })
                .unwrap_or(peer);
            if label == "FIN" {
                fins_pending.push(to);
            }
            (to, label)
        });
        if call.kind == "accept" || call.kind == "connect" {
            // A new conversation: hang-ups of the last one are history.
            fins_pending.retain(|c| c != column);
        }
        let mut row = Row {
            column: *column,
            label: call.label.clone(),
            arrow,
            incoming: false,
        };
        // A hang-up seen by the reader whose cause the transcript does not
        // show as a call (e.g. `"exit": close() this connection`): draw the
        // FIN arriving here.
        if streams && RECEIVES.contains(&call.kind.as_str()) && call.bytes == Some(0) {
            match fins_pending.iter().position(|c| c == column) {
                Some(i) => {
                    fins_pending.remove(i);
                }
                None => {
                    row.arrow = Some((peer, "FIN".to_string()));
                    row.incoming = true;
                }
            }
        }
        if width(&row.label) > MAX_LABEL {
            row.label = without_arguments(&row.label);
        }
        if columns.len() > 2 {
            // Three lifelines or more: shorter words, so the picture fits a
            // page (`recvfrom(65536) -> 16 bytes` becomes `recvfrom() -> 16
            // bytes`, an arrow's `16 bytes` becomes `16`).
            row.label = without_arguments(&row.label);
            if let Some((_, label)) = row.arrow.as_mut() {
                *label = label
                    .trim_end_matches(" bytes")
                    .trim_end_matches(" byte")
                    .to_string();
            }
        }
        rows.push(row);
    }
    if !rows.iter().any(|r| r.arrow.is_some()) {
        return None;
    }
    Some(render(&columns, &rows))
}

/// `recvfrom(65536) -> 16 bytes` -> `recvfrom() -> 16 bytes`.
fn without_arguments(label: &str) -> String {
    match label
        .find('(')
        .and_then(|open| Some((open, matching_paren(&label[open..])?)))
    {
        Some((open, close)) => format!("{}(){}", &label[..open], &label[open + close + 1..]),
        None => label.to_string(),
    }
}

fn width(s: &str) -> usize {
    s.chars().count()
}

fn render(columns: &[String], rows: &[Row]) -> String {
    let many = columns.len() > 2;
    // Labels of the first column go left of its lifeline, right-aligned;
    // everyone else's go right of the last lifeline (prefixed with the
    // speaker's name when there are several).
    // `client A` is `A` at the right margin: the header names it in full.
    let short = |name: &str| name.rsplit(' ').next().unwrap_or(name).to_string();
    let right_label = |column: usize, label: &str| {
        if many {
            format!("{}: {label}", short(&columns[column]))
        } else {
            label.to_string()
        }
    };
    let left = rows
        .iter()
        .filter(|r| r.column == 0)
        .map(|r| width(&r.label))
        .chain([width(&columns[0]) / 2 + 1])
        .max()
        .unwrap_or(0)
        + 1;
    // Several lifelines sit closer together, so the picture fits a page.
    let (room, min_gap) = if many { (8, 16) } else { (10, MIN_GAP) };
    let gap = rows
        .iter()
        .filter_map(|r| r.arrow.as_ref().map(|(_, l)| width(l) + room))
        .chain(columns.iter().map(|c| width(c) + 4))
        .chain([min_gap])
        .max()
        .unwrap_or(min_gap);
    let x = |column: usize| left + column * gap;
    let last = x(columns.len() - 1);

    let mut out: Vec<String> = Vec::new();
    // Names centred over their lifelines.
    let mut header = vec![' '; last + gap];
    for (i, name) in columns.iter().enumerate() {
        let start = x(i).saturating_sub(width(name) / 2);
        for (k, c) in name.chars().enumerate() {
            header[start + k] = c;
        }
    }
    out.push(header.into_iter().collect::<String>());
    let lifelines = || {
        let mut row = vec![' '; last + 1];
        for i in 0..columns.len() {
            row[x(i)] = '│';
        }
        row
    };
    out.push(lifelines().into_iter().collect());

    for Row {
        column,
        label,
        arrow,
        incoming,
    } in rows
    {
        let mut row = lifelines();
        let mut text_left = String::new();
        let mut text_right = String::new();
        if *column == 0 {
            row[x(0)] = '┤';
            text_left = label.clone();
        } else {
            row[x(*column)] = '├';
            text_right = right_label(*column, label);
        }
        if let Some((to, arrow_label)) = arrow {
            let (mut from_x, mut to_x) = (x(*column), x(*to));
            if *incoming {
                std::mem::swap(&mut from_x, &mut to_x);
            }
            let (lo, hi) = (from_x.min(to_x), from_x.max(to_x));
            for cell in &mut row[lo + 1..hi] {
                *cell = '-';
            }
            if to_x > from_x {
                row[hi - 1] = '>';
            } else {
                row[lo + 1] = '<';
            }
            let text = format!(" {arrow_label} ");
            let start = lo + 1 + (hi - lo - 1).saturating_sub(width(&text)) / 2;
            for (k, c) in text.chars().enumerate() {
                if start + k < hi - 1 {
                    row[start + k] = c;
                }
            }
        }
        let mut line = String::new();
        // Left labels end one space before the first lifeline.
        let pad = x(0).saturating_sub(width(&text_left) + 1);
        let body: String = row.into_iter().collect();
        if text_left.is_empty() {
            line += &body;
        } else {
            line += &" ".repeat(pad);
            line += &text_left;
            line += " ";
            line += &body.chars().skip(x(0)).collect::<String>();
        }
        if !text_right.is_empty() {
            line += " ";
            line += &text_right;
        }
        out.push(line.trim_end().to_string());
    }
    out.push(lifelines().into_iter().collect());
    out.iter()
        .map(|l| l.trim_end())
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    const TCP: &str = "\
note     │ one call
server   │ socket(AF_INET, SOCK_STREAM, 0) -> a TCP socket
server   │ bind(127.0.0.1:[PORT])
server   │ listen(5)
client   │ connect(127.0.0.1:[PORT]) -> connected
server   │ accept() -> a new socket
client   │ send(b'hi') -> 2 bytes
server   │ recv(1024) -> 2 bytes b'hi'
server   │ decoded as UTF-8: \"hi\"
server   │ close()
client   │ recv(1024) -> 0 bytes: the peer hung up
";

    #[test]
    fn calls_are_recognised_with_their_byte_counts() {
        let c = call_in("recv(1024) -> 15 bytes b'\\xe6'").unwrap();
        assert_eq!((c.kind.as_str(), c.bytes), ("recv", Some(15)));
        assert_eq!(c.label, "recv(1024) -> 15 bytes");
        let c = call_in("send(b'hi (x)') -> 2 bytes").unwrap();
        assert_eq!(c.label, "send(…) -> 2 bytes");
        assert_eq!(call_in("decoded as UTF-8: \"hi\""), None);
        assert_eq!(call_in("served 2 clients"), None);
        assert_eq!(
            call_in("send(<9 bytes>) -> 3: the kernel took 3 of 9 bytes")
                .unwrap()
                .bytes,
            None
        );
        assert_eq!(
            call_in("write_all(b'hi') -> sendto(fd 5, 2 bytes)")
                .unwrap()
                .bytes,
            Some(2)
        );
        assert_eq!(call_in("listen(fd 5, 5)").unwrap().label, "listen(fd, 5)");
        let c = call_in("send \"你好\" (6 bytes)").unwrap();
        assert_eq!((c.label.as_str(), c.bytes), ("send(…) -> 6 bytes", Some(6)));
        assert_eq!(call_in("TcpStream::connect(x)").unwrap().kind, "connect");
    }

    #[test]
    fn a_tcp_call_has_arrows_for_connect_data_and_close() {
        let expected = "
                             server                client
                                │                     │
socket(AF_INET, SOCK_STREAM, 0) ┤                     │
                        bind(…) ┤                     │
                      listen(5) ┤                     │
                                │<----- connect ------├ connect(…)
                       accept() ┤                     │
                                │<----- 2 bytes ------├ send(…) -> 2 bytes
          recv(1024) -> 2 bytes ┤                     │
                        close() ┤-------- FIN ------->│
                                │                     ├ recv(1024) -> 0 bytes
                                │                     │
";
        assert_eq!(sequence_diagram(TCP).unwrap(), &expected[1..]);
    }

    #[test]
    fn datagrams_have_no_connect_or_fin_arrows() {
        let udp = "\
server   │ bind(127.0.0.1:[PORT])
client   │ sendto(b'x', 127.0.0.1:[PORT]) -> 1 byte
server   │ recvfrom(1024) -> 1 byte from 127.0.0.1:[PORT]
client   │ close()
";
        let d = sequence_diagram(udp).unwrap();
        assert!(d.contains("1 byte"), "{d}");
        assert!(!d.contains("FIN"), "{d}");
    }

    #[test]
    fn one_speaker_is_not_a_conversation() {
        assert_eq!(sequence_diagram("server   │ socket(AF_INET)\n"), None);
    }
}
