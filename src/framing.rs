//! Message boundaries on a byte stream (taught in lesson 07).
//!
//! TCP delivers bytes, not messages: three `send`s may arrive as one `recv`,
//! and one `send` as several. If the two ends need messages, they must agree
//! on where one ends. The two classic ways, both here:
//!
//! * **Lines**: every message ends with `\n` (a `\r` before it is dropped too,
//!   for telnet). Easy to type with `nc`; a message cannot contain `\n`.
//! * **Length prefix**: every message is preceded by its length as 4 bytes,
//!   big-endian ("network byte order", Python's `struct.pack('>I', n)`).
//!   Any bytes may be inside, including `\n`.
//!
//! Both readers are built to face a hostile peer:
//!
//! * **incremental**: bytes may arrive split at any point (a length prefix
//!   in two pieces, a line in ten); the result is the same as if they came
//!   in one piece. The readers keep their state across `WouldBlock`, so they
//!   also work on non-blocking sockets.
//! * **bounded**: a line may be at most `max_len` bytes and a frame at most
//!   `cap` bytes. The limit is checked *before* the bytes are stored, so a
//!   prefix that announces 4 GiB costs us nothing but an error.
//! * **never panic**, and say plainly what went wrong: "line longer than N
//!   bytes", "frame of N bytes exceeds the cap of M", "peer hung up mid-frame".
//!   The error is an `io::Error` carrying a [`FramingError`], so `?` works and
//!   a caller that cares can tell the cases apart (see [`framing_error`]).
//!
//! | to… | use |
//! |---|---|
//! | read lines from a blocking or non-blocking stream | [`LineReader`] |
//! | read frames from a blocking or non-blocking stream | [`FrameReader`] |
//! | read one frame, reading exactly its bytes and no more (blocking) | [`read_frame`] |
//! | write one message | [`write_line`], [`write_frame`] |
//! | decode bytes you got some other way (poll, epoll) | [`LineDecoder`], [`FrameDecoder`] |
//!
//! After a framing error the stream is out of step (we no longer know where
//! the next message starts): the decoders keep returning the same error, and
//! the right thing to do is to hang up on that peer.

use std::fmt;
use std::io::{self, Read, Write};

/// The longest line the lessons accept by default (64 KiB, not counting `\n`).
pub const MAX_LINE_LEN: usize = 64 * 1024;

/// The largest frame the lessons accept by default (64 KiB of payload).
pub const MAX_FRAME_LEN: usize = 64 * 1024;

/// Bytes of the length prefix: a big-endian `u32`.
pub const PREFIX_LEN: usize = 4;

/// How much a reader asks the socket for at a time.
const CHUNK: usize = 8 * 1024;

/// What went wrong with the framing (as opposed to the socket).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FramingError {
    /// More than `max_len` bytes without a newline.
    LineTooLong { max_len: usize },
    /// A line to send contains a newline, which would end it early.
    NewlineInLine,
    /// A length prefix (or a payload to send) above the cap.
    FrameTooBig { len: u64, cap: usize },
    /// The stream ended after `got` bytes of an unfinished line.
    HungUpMidLine { got: usize },
    /// The stream ended after `got` of the `expected` bytes of a frame
    /// (`expected` is 4 while the prefix itself is incomplete).
    HungUpMidFrame { got: usize, expected: u64 },
}

impl fmt::Display for FramingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FramingError::LineTooLong { max_len } => {
                write!(f, "line longer than {max_len} bytes")
            }
            FramingError::NewlineInLine => {
                write!(
                    f,
                    "a line cannot contain a newline: it would end the message early"
                )
            }
            FramingError::FrameTooBig { len, cap } => {
                write!(f, "frame of {len} bytes exceeds the cap of {cap}")
            }
            FramingError::HungUpMidLine { got } => {
                write!(f, "peer hung up mid-line: {got} bytes without a newline")
            }
            FramingError::HungUpMidFrame { got, expected } => {
                write!(f, "peer hung up mid-frame: got {got} of {expected} bytes")
            }
        }
    }
}

impl std::error::Error for FramingError {}

impl FramingError {
    /// Why it happened and what it means, in one sentence (for a server that
    /// reports a client's failure and goes on).
    pub fn why(&self) -> &'static str {
        match self {
            FramingError::LineTooLong { .. } => {
                "the peer sent more bytes than a line may hold without ending the line; we stop reading rather than store them all"
            }
            FramingError::NewlineInLine => {
                "with line framing a newline marks the end of a message, so a message cannot contain one (length-prefixed frames can)"
            }
            FramingError::FrameTooBig { .. } => {
                "the length prefix announced more bytes than we accept; we refuse before allocating anything (a garbage or hostile prefix can announce up to 4 GiB)"
            }
            FramingError::HungUpMidLine { .. } | FramingError::HungUpMidFrame { .. } => {
                "the peer closed the connection in the middle of a message, so the last message is incomplete and was dropped"
            }
        }
    }

    fn kind(&self) -> io::ErrorKind {
        match self {
            FramingError::LineTooLong { .. } | FramingError::FrameTooBig { .. } => {
                io::ErrorKind::InvalidData
            }
            FramingError::NewlineInLine => io::ErrorKind::InvalidInput,
            FramingError::HungUpMidLine { .. } | FramingError::HungUpMidFrame { .. } => {
                io::ErrorKind::UnexpectedEof
            }
        }
    }
}

impl From<FramingError> for io::Error {
    fn from(e: FramingError) -> io::Error {
        io::Error::new(e.kind(), e)
    }
}

/// The [`FramingError`] inside an `io::Error`, if it is one (and not an
/// error of the socket itself).
pub fn framing_error(err: &io::Error) -> Option<&FramingError> {
    err.get_ref()?.downcast_ref::<FramingError>()
}

// ---------------------------------------------------------------------------
// Lines
// ---------------------------------------------------------------------------

/// Turns bytes, pushed in pieces of any size, into lines.
///
/// Push what a read returned, then call [`next_line`](Self::next_line) until
/// it returns `Ok(None)` ("need more bytes"). Memory held: at most
/// `max_len + 1` bytes of an unfinished line plus the last chunk pushed.
#[derive(Debug, Clone)]
pub struct LineDecoder {
    max_len: usize,
    buf: Vec<u8>,
    /// Where the first undelivered byte is in `buf`.
    start: usize,
    /// How many bytes after `start` are known to hold no `\n` (so each byte
    /// is searched once, however small the pieces).
    scanned: usize,
    failed: Option<FramingError>,
}

impl LineDecoder {
    /// A decoder for lines of at most `max_len` bytes (not counting `\n`).
    pub fn new(max_len: usize) -> Self {
        LineDecoder {
            max_len,
            buf: Vec::new(),
            start: 0,
            scanned: 0,
            failed: None,
        }
    }

    /// Add bytes that arrived. After an error they are ignored.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.failed.is_some() {
            return;
        }
        // Drop what was delivered already, so the buffer does not grow with
        // the length of the conversation.
        self.buf.drain(..self.start);
        self.start = 0;
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete line without its `\n` (or `\r\n`), `Ok(None)` if
    /// more bytes are needed, or an error if the line is too long.
    pub fn next_line(&mut self) -> io::Result<Option<Vec<u8>>> {
        if let Some(e) = &self.failed {
            return Err(e.clone().into());
        }
        let pending = &self.buf[self.start..];
        match pending[self.scanned..].iter().position(|&b| b == b'\n') {
            Some(i) => {
                let end = self.scanned + i;
                let mut line = &pending[..end];
                if let [rest @ .., b'\r'] = line {
                    line = rest;
                }
                if line.len() > self.max_len {
                    return Err(self.fail(FramingError::LineTooLong {
                        max_len: self.max_len,
                    }));
                }
                let line = line.to_vec();
                self.start += end + 1;
                self.scanned = 0;
                Ok(Some(line))
            }
            None => {
                self.scanned = pending.len();
                // Already too long, even if the next byte were the newline?
                // (One extra byte is allowed when it is a `\r`.)
                let too_long = pending.len() > self.max_len.saturating_add(1)
                    || (pending.len() == self.max_len.saturating_add(1)
                        && pending.last() != Some(&b'\r'));
                if too_long {
                    return Err(self.fail(FramingError::LineTooLong {
                        max_len: self.max_len,
                    }));
                }
                Ok(None)
            }
        }
    }

    /// The stream has ended: fine between lines, an error in the middle of one.
    pub fn finish(&self) -> io::Result<()> {
        if let Some(e) = &self.failed {
            return Err(e.clone().into());
        }
        match self.pending() {
            0 => Ok(()),
            got => Err(FramingError::HungUpMidLine { got }.into()),
        }
    }

    /// Bytes received but not yet delivered as a line.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.start
    }

    fn fail(&mut self, e: FramingError) -> io::Error {
        self.buf = Vec::new();
        self.start = 0;
        self.scanned = 0;
        self.failed = Some(e.clone());
        e.into()
    }
}

/// What [`MessageReader`] needs from a decoder: push the bytes a read
/// brought, take complete messages out, and say whether the stream may end
/// here. [`LineDecoder`] and [`FrameDecoder`] are the two kinds.
pub trait Decoder {
    /// Add bytes that arrived.
    fn push(&mut self, bytes: &[u8]);
    /// The next complete message, `Ok(None)` if more bytes are needed.
    fn next_message(&mut self) -> io::Result<Option<Vec<u8>>>;
    /// The stream ended: fine between messages, an error inside one.
    fn finish(&self) -> io::Result<()>;
    /// Bytes received but not yet delivered as a message.
    fn pending(&self) -> usize;
}

impl Decoder for LineDecoder {
    fn push(&mut self, bytes: &[u8]) {
        LineDecoder::push(self, bytes)
    }
    fn next_message(&mut self) -> io::Result<Option<Vec<u8>>> {
        self.next_line()
    }
    fn finish(&self) -> io::Result<()> {
        LineDecoder::finish(self)
    }
    fn pending(&self) -> usize {
        LineDecoder::pending(self)
    }
}

/// Reads messages from a stream (`&TcpStream`, `&UnixStream`, anything
/// `Read`) with a [`Decoder`]: [`LineReader`] for lines, [`FrameReader`] for
/// length-prefixed frames.
///
/// Reads in chunks, so one `read` may bring several messages (they are kept
/// for the next calls) or part of one (it reads on). A `WouldBlock` from a
/// non-blocking socket is returned as is and loses nothing: call again when
/// the socket is readable.
#[derive(Debug)]
pub struct MessageReader<R, D> {
    inner: R,
    decoder: D,
    chunk: Box<[u8]>,
    eof: bool,
}

/// Reads lines; see [`MessageReader`].
pub type LineReader<R> = MessageReader<R, LineDecoder>;

/// Reads length-prefixed frames; see [`MessageReader`].
pub type FrameReader<R> = MessageReader<R, FrameDecoder>;

impl<R: Read, D: Decoder> MessageReader<R, D> {
    /// Read from `inner` with `decoder`.
    pub fn with_decoder(inner: R, decoder: D) -> Self {
        MessageReader {
            inner,
            decoder,
            chunk: vec![0; CHUNK].into_boxed_slice(),
            eof: false,
        }
    }

    /// The next message, or `Ok(None)` when the peer hung up cleanly
    /// between messages.
    pub fn read_message(&mut self) -> io::Result<Option<Vec<u8>>> {
        loop {
            if let Some(message) = self.decoder.next_message()? {
                return Ok(Some(message));
            }
            if self.eof {
                self.decoder.finish()?;
                return Ok(None);
            }
            let n = match self.inner.read(&mut self.chunk) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                self.eof = true;
            } else {
                self.decoder.push(&self.chunk[..n]);
            }
        }
    }

    /// Bytes read from the stream but not yet returned as a message.
    pub fn pending(&self) -> usize {
        self.decoder.pending()
    }

    /// The stream, e.g. to write a reply on it.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The stream, mutably.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }
}

impl<R: Read> LineReader<R> {
    /// Read lines of at most `max_len` bytes from `inner`.
    pub fn new(inner: R, max_len: usize) -> Self {
        Self::with_decoder(inner, LineDecoder::new(max_len))
    }

    /// The next line (without `\n`), or `Ok(None)` when the peer hung up
    /// cleanly between lines.
    pub fn read_line(&mut self) -> io::Result<Option<Vec<u8>>> {
        self.read_message()
    }
}

/// `line` followed by `\n`, ready to send. Refuses a line that contains a
/// newline (it would arrive as two messages).
pub fn encode_line(line: &[u8]) -> io::Result<Vec<u8>> {
    if line.contains(&b'\n') {
        return Err(FramingError::NewlineInLine.into());
    }
    let mut bytes = Vec::with_capacity(line.len() + 1);
    bytes.extend_from_slice(line);
    bytes.push(b'\n');
    Ok(bytes)
}

/// Send `line` and its `\n` in one `write_all` (one segment when small, so
/// the peer does not wait for the newline on its own).
pub fn write_line(w: &mut impl Write, line: &[u8]) -> io::Result<()> {
    w.write_all(&encode_line(line)?)
}

// ---------------------------------------------------------------------------
// Length-prefixed frames
// ---------------------------------------------------------------------------

/// The 4-byte big-endian prefix, then `payload`, ready to send. Refuses a
/// payload over `cap` (the peer would refuse it anyway).
pub fn encode_frame(payload: &[u8], cap: usize) -> io::Result<Vec<u8>> {
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|&len| len as usize <= cap)
        .ok_or_else(|| {
            let e = FramingError::FrameTooBig {
                len: payload.len() as u64,
                cap,
            };
            io::Error::new(io::ErrorKind::InvalidInput, e)
        })?;
    let mut bytes = Vec::with_capacity(PREFIX_LEN + payload.len());
    bytes.extend_from_slice(&len.to_be_bytes());
    bytes.extend_from_slice(payload);
    Ok(bytes)
}

/// Send one frame: prefix and payload in one `write_all`. (Two separate
/// small writes can wait for each other: Nagle's algorithm holds the second
/// until the first is acknowledged, and the peer delays that ACK.)
pub fn write_frame(w: &mut impl Write, payload: &[u8], cap: usize) -> io::Result<()> {
    w.write_all(&encode_frame(payload, cap)?)
}

/// Read one frame from a blocking stream, reading exactly its bytes and not
/// one more (so other reads may follow on the same stream). `Ok(None)` when
/// the peer hung up cleanly before the frame began.
///
/// Not for non-blocking sockets: a `WouldBlock` in the middle would lose the
/// bytes read so far. Use [`FrameReader`] there.
pub fn read_frame(r: &mut impl Read, cap: usize) -> io::Result<Option<Vec<u8>>> {
    let mut prefix = [0u8; PREFIX_LEN];
    let got = read_fully(r, &mut prefix)?;
    if got == 0 {
        return Ok(None);
    }
    if got < PREFIX_LEN {
        return Err(FramingError::HungUpMidFrame {
            got,
            expected: PREFIX_LEN as u64,
        }
        .into());
    }
    let len = u32::from_be_bytes(prefix);
    let len = checked_len(len, cap)?;
    // Safe to allocate: `len` is at most `cap`.
    let mut payload = vec![0u8; len];
    let got = read_fully(r, &mut payload)?;
    if got < len {
        return Err(FramingError::HungUpMidFrame {
            got: PREFIX_LEN + got,
            expected: (PREFIX_LEN + len) as u64,
        }
        .into());
    }
    Ok(Some(payload))
}

/// Fill `buf` unless the stream ends first; the number of bytes read.
fn read_fully(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

fn checked_len(len: u32, cap: usize) -> Result<usize, FramingError> {
    usize::try_from(len)
        .ok()
        .filter(|&len| len <= cap)
        .ok_or(FramingError::FrameTooBig {
            len: u64::from(len),
            cap,
        })
}

/// Turns bytes, pushed in pieces of any size, into length-prefixed frames.
///
/// Push what a read returned, then call [`next_frame`](Self::next_frame)
/// until it returns `Ok(None)`. Memory held: at most one frame (prefix plus
/// `cap`) plus the last chunk pushed.
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    cap: usize,
    buf: Vec<u8>,
    start: usize,
    failed: Option<FramingError>,
}

impl FrameDecoder {
    /// A decoder for frames of at most `cap` bytes of payload.
    pub fn new(cap: usize) -> Self {
        FrameDecoder {
            cap,
            buf: Vec::new(),
            start: 0,
            failed: None,
        }
    }

    /// Add bytes that arrived. After an error they are ignored.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.failed.is_some() {
            return;
        }
        self.buf.drain(..self.start);
        self.start = 0;
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete payload, `Ok(None)` if more bytes are needed, or an
    /// error if the prefix announces more than the cap.
    pub fn next_frame(&mut self) -> io::Result<Option<Vec<u8>>> {
        if let Some(e) = &self.failed {
            return Err(e.clone().into());
        }
        let pending = &self.buf[self.start..];
        let Some((prefix, rest)) = pending.split_first_chunk::<PREFIX_LEN>() else {
            return Ok(None);
        };
        let len = match checked_len(u32::from_be_bytes(*prefix), self.cap) {
            Ok(len) => len,
            Err(e) => return Err(self.fail(e)),
        };
        if rest.len() < len {
            return Ok(None);
        }
        let frame = rest[..len].to_vec();
        self.start += PREFIX_LEN + len;
        Ok(Some(frame))
    }

    /// The stream has ended: fine between frames, an error inside one.
    pub fn finish(&self) -> io::Result<()> {
        if let Some(e) = &self.failed {
            return Err(e.clone().into());
        }
        let pending = &self.buf[self.start..];
        if pending.is_empty() {
            return Ok(());
        }
        let expected = match pending.first_chunk::<PREFIX_LEN>() {
            Some(prefix) => PREFIX_LEN as u64 + u64::from(u32::from_be_bytes(*prefix)),
            None => PREFIX_LEN as u64,
        };
        Err(FramingError::HungUpMidFrame {
            got: pending.len(),
            expected,
        }
        .into())
    }

    /// Bytes received but not yet delivered as a frame.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.start
    }

    fn fail(&mut self, e: FramingError) -> io::Error {
        self.buf = Vec::new();
        self.start = 0;
        self.failed = Some(e.clone());
        e.into()
    }
}

impl Decoder for FrameDecoder {
    fn push(&mut self, bytes: &[u8]) {
        FrameDecoder::push(self, bytes)
    }
    fn next_message(&mut self) -> io::Result<Option<Vec<u8>>> {
        self.next_frame()
    }
    fn finish(&self) -> io::Result<()> {
        FrameDecoder::finish(self)
    }
    fn pending(&self) -> usize {
        FrameDecoder::pending(self)
    }
}

impl<R: Read> FrameReader<R> {
    /// Read frames of at most `cap` bytes of payload from `inner`.
    pub fn new(inner: R, cap: usize) -> Self {
        Self::with_decoder(inner, FrameDecoder::new(cap))
    }

    /// The next payload, or `Ok(None)` when the peer hung up cleanly
    /// between frames.
    pub fn read_frame(&mut self) -> io::Result<Option<Vec<u8>>> {
        self.read_message()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream that returns the given pieces one `read` at a time (a piece
    /// larger than the caller's buffer is returned over several reads).
    struct Pieces {
        pieces: Vec<Vec<u8>>,
        at: usize,
    }

    impl Pieces {
        fn new(pieces: Vec<Vec<u8>>) -> Self {
            Pieces { pieces, at: 0 }
        }
        fn split(bytes: &[u8], cuts: &[usize]) -> Self {
            let mut pieces = Vec::new();
            let mut from = 0;
            for &cut in cuts {
                pieces.push(bytes[from..cut].to_vec());
                from = cut;
            }
            pieces.push(bytes[from..].to_vec());
            pieces.retain(|p| !p.is_empty());
            Pieces::new(pieces)
        }
    }

    impl Read for Pieces {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let Some(piece) = self.pieces.get_mut(self.at) else {
                return Ok(0);
            };
            let n = piece.len().min(buf.len());
            buf[..n].copy_from_slice(&piece[..n]);
            piece.drain(..n);
            if piece.is_empty() {
                self.at += 1;
            }
            Ok(n)
        }
    }

    fn all_lines(r: impl Read, max: usize) -> io::Result<Vec<Vec<u8>>> {
        let mut reader = LineReader::new(r, max);
        let mut out = Vec::new();
        while let Some(line) = reader.read_line()? {
            out.push(line);
        }
        Ok(out)
    }

    fn all_frames_buffered(r: impl Read, cap: usize) -> io::Result<Vec<Vec<u8>>> {
        let mut reader = FrameReader::new(r, cap);
        let mut out = Vec::new();
        while let Some(frame) = reader.read_frame()? {
            out.push(frame);
        }
        Ok(out)
    }

    fn all_frames_exact(mut r: impl Read, cap: usize) -> io::Result<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        while let Some(frame) = read_frame(&mut r, cap)? {
            out.push(frame);
        }
        Ok(out)
    }

    fn describe(r: io::Result<Vec<Vec<u8>>>) -> String {
        match r {
            Ok(v) => format!("{v:?}"),
            Err(e) => format!("{:?}: {e}", e.kind()),
        }
    }

    /// Every way of cutting `bytes` in two, and byte by byte, must give
    /// what one piece gives.
    fn every_split_agrees(bytes: &[u8], decode: impl Fn(Pieces) -> io::Result<Vec<Vec<u8>>>) {
        let whole = describe(decode(Pieces::new(vec![bytes.to_vec()])));
        for cut in 0..=bytes.len() {
            let split = describe(decode(Pieces::split(bytes, &[cut])));
            assert_eq!(split, whole, "cut at byte {cut} of {bytes:?}");
        }
        for a in 0..=bytes.len() {
            for b in a..=bytes.len() {
                let split = describe(decode(Pieces::split(bytes, &[a, b])));
                assert_eq!(split, whole, "cuts at {a} and {b} of {bytes:?}");
            }
        }
        let cuts: Vec<usize> = (1..bytes.len()).collect();
        let one_by_one = describe(decode(Pieces::split(bytes, &cuts)));
        assert_eq!(one_by_one, whole, "one byte at a time: {bytes:?}");
    }

    #[test]
    fn lines_split_anywhere_decode_as_whole() {
        let inputs: [&[u8]; 6] = [
            "hello\n你好\r\n\nlast\n".as_bytes(),
            b"no newline at the end",
            b"12345\n123456\n",
            b"1234567\n",
            b"12345\r\n",
            b"",
        ];
        for input in inputs {
            every_split_agrees(input, |p| all_lines(p, 6));
        }
        assert_eq!(
            all_lines(Pieces::new(vec!["hello\n你好\r\n\nlast\n".into()]), 6).unwrap(),
            [
                b"hello".to_vec(),
                "你好".into(),
                b"".to_vec(),
                b"last".to_vec()
            ]
        );
    }

    #[test]
    fn frames_split_anywhere_decode_as_whole() {
        let mut input = Vec::new();
        for payload in [&b"hello"[..], b"", "两\nlines".as_bytes(), b"x"] {
            input.extend(encode_frame(payload, 16).unwrap());
        }
        let expected = [
            b"hello".to_vec(),
            b"".to_vec(),
            "两\nlines".into(),
            b"x".to_vec(),
        ];
        assert_eq!(
            all_frames_buffered(Pieces::new(vec![input.clone()]), 16).unwrap(),
            expected
        );
        every_split_agrees(&input, |p| all_frames_buffered(p, 16));
        every_split_agrees(&input, |p| all_frames_exact(p, 16));
        // Truncated at every point: the error is the same however it is cut.
        for end in 0..input.len() {
            let truncated = &input[..end];
            every_split_agrees(truncated, |p| all_frames_buffered(p, 16));
            every_split_agrees(truncated, |p| all_frames_exact(p, 16));
        }
    }

    #[test]
    fn a_line_over_the_limit_is_refused_early() {
        // 10 bytes, no newline yet: the limit is 4, so we know already.
        let mut d = LineDecoder::new(4);
        d.push(b"0123456789");
        let e = d.next_line().unwrap_err();
        assert_eq!(e.to_string(), "line longer than 4 bytes");
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert_eq!(
            framing_error(&e),
            Some(&FramingError::LineTooLong { max_len: 4 })
        );
        // Out of step now: it keeps saying so, and holds nothing.
        d.push(b"\nok\n");
        assert!(d.next_line().is_err());
        assert_eq!(d.pending(), 0);
        // Exactly at the limit is fine, with \n or \r\n.
        let mut d = LineDecoder::new(4);
        d.push(b"1234\r");
        assert_eq!(d.next_line().unwrap(), None);
        d.push(b"\n1234\n");
        assert_eq!(d.next_line().unwrap().unwrap(), b"1234");
        assert_eq!(d.next_line().unwrap().unwrap(), b"1234");
    }

    #[test]
    fn a_hostile_prefix_allocates_nothing() {
        let mut d = FrameDecoder::new(1024);
        d.push(&[0xff, 0xff, 0xff, 0xff, b'x']);
        let e = d.next_frame().unwrap_err();
        assert_eq!(
            e.to_string(),
            "frame of 4294967295 bytes exceeds the cap of 1024"
        );
        assert_eq!(d.pending(), 0);
        let e = read_frame(&mut &[0xff, 0xff, 0xff, 0xff][..], 1024).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert_eq!(
            framing_error(&e),
            Some(&FramingError::FrameTooBig {
                len: u32::MAX as u64,
                cap: 1024
            })
        );
        // The cap itself is allowed; one more is not.
        assert!(read_frame(&mut &encode_frame(&[7; 8], 8).unwrap()[..], 8).is_ok());
        assert!(encode_frame(&[7; 9], 8).is_err());
        assert_eq!(
            encode_frame(&[7; 9], 8).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }

    #[test]
    fn hanging_up_mid_message_is_an_error_between_messages_is_not() {
        let e = all_lines(&b"done\nhalf"[..], 64).unwrap_err();
        assert_eq!(
            e.to_string(),
            "peer hung up mid-line: 4 bytes without a newline"
        );
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(all_lines(&b""[..], 64).unwrap(), Vec::<Vec<u8>>::new());

        let e = read_frame(&mut &[0, 0][..], 64).unwrap_err();
        assert_eq!(e.to_string(), "peer hung up mid-frame: got 2 of 4 bytes");
        let e = all_frames_buffered(&[0, 0, 0, 5, b'a'][..], 64).unwrap_err();
        assert_eq!(e.to_string(), "peer hung up mid-frame: got 5 of 9 bytes");
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(read_frame(&mut &b""[..], 64).unwrap(), None);
    }

    #[test]
    fn read_frame_reads_no_further_than_its_frame() {
        let mut bytes = encode_frame(b"one", 64).unwrap();
        bytes.extend_from_slice(b"rest");
        let mut r = &bytes[..];
        assert_eq!(read_frame(&mut r, 64).unwrap().unwrap(), b"one");
        assert_eq!(r, b"rest");
    }

    #[test]
    fn a_line_to_send_may_not_contain_a_newline() {
        let mut out = Vec::new();
        write_line(&mut out, "你好".as_bytes()).unwrap();
        assert_eq!(out, "你好\n".as_bytes());
        let e = write_line(&mut out, b"two\nlines").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(framing_error(&e), Some(&FramingError::NewlineInLine));
    }

    #[test]
    fn would_block_in_the_middle_loses_nothing() {
        /// Gives one piece, then WouldBlock, alternately.
        struct Stuttering(Pieces, bool);
        impl Read for Stuttering {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                self.1 = !self.1;
                if self.1 {
                    Err(io::ErrorKind::WouldBlock.into())
                } else {
                    self.0.read(buf)
                }
            }
        }
        let mut input = encode_frame(b"abc", 64).unwrap();
        input.extend(encode_frame(b"de", 64).unwrap());
        let cuts: Vec<usize> = (1..input.len()).collect();
        let mut r = FrameReader::new(Stuttering(Pieces::split(&input, &cuts), false), 64);
        let mut frames = Vec::new();
        loop {
            match r.read_frame() {
                Ok(Some(f)) => frames.push(f),
                Ok(None) => break,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(frames, [b"abc".to_vec(), b"de".to_vec()]);

        let cuts: Vec<usize> = (1..7).collect();
        let mut r = LineReader::new(Stuttering(Pieces::split(b"abc\nde\n", &cuts), false), 64);
        let mut lines = Vec::new();
        loop {
            match r.read_line() {
                Ok(Some(l)) => lines.push(l),
                Ok(None) => break,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(lines, [b"abc".to_vec(), b"de".to_vec()]);
    }

    #[test]
    fn garbage_never_panics() {
        // A small deterministic pseudo-random generator: no extra crates.
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..300 {
            let len = (next() % 64) as usize;
            let bytes: Vec<u8> = (0..len).map(|_| (next() % 7) as u8).collect();
            let cut = if len == 0 { 0 } else { (next() as usize) % len };
            let _ = all_lines(Pieces::split(&bytes, &[cut]), 8);
            let _ = all_frames_buffered(Pieces::split(&bytes, &[cut]), 8);
            let _ = all_frames_exact(Pieces::split(&bytes, &[cut]), 8);
        }
    }
}
