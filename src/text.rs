//! Bytes on the wire, text on the screen.
//!
//! A socket carries bytes. The seeds turn them into text with
//! `data.decode('utf-8')`, which raises on the first invalid byte and — worse
//! — on a perfectly valid character whose bytes happen to be split across two
//! `recv()` calls: `我` is three bytes, `e6 88 91`, and TCP may hand you
//! `e6 88` now and `91` later. This module holds the two tools the lessons
//! use to show bytes honestly:
//!
//! * [`bytes_repr`] shows bytes the way Python does, `b'hello'`,
//!   `b'\xe6\x88\x91'`, so a learner coming from the seeds recognises them;
//! * [`Utf8Decoder`] turns a stream of byte chunks into text, carrying an
//!   incomplete character over to the next chunk (like Python's
//!   `codecs.getincrementaldecoder('utf-8')`) and replacing truly invalid
//!   bytes with `�` while counting them, instead of crashing.

use std::fmt::Write as _;

/// Longest byte string shown in full; longer ones are cut with `…`.
pub const SHOW_AT_MOST: usize = 60;

/// Python's `repr()` of a `bytes` value: `b'hi\n'`, `b'\xff'`. Long values
/// are cut after [`SHOW_AT_MOST`] bytes and their length is given.
pub fn bytes_repr(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(SHOW_AT_MOST)];
    let mut out = String::from("b'");
    for &b in shown {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\'' => out.push_str("\\'"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push('\'');
    if bytes.len() > shown.len() {
        let _ = write!(out, "… ({} bytes)", bytes.len());
    }
    out
}

/// A string shown with quotes and escapes (`"hi\n"`), cut like [`bytes_repr`].
pub fn quoted(text: &str) -> String {
    let count = text.chars().count();
    if count <= SHOW_AT_MOST {
        format!("{text:?}")
    } else {
        let cut: String = text.chars().take(SHOW_AT_MOST).collect();
        format!("{cut:?}… ({count} characters)")
    }
}

/// What one chunk of bytes decoded to.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The complete characters; invalid bytes appear as `�` (U+FFFD).
    pub text: String,
    /// How many invalid byte sequences were replaced in this chunk.
    pub invalid: usize,
    /// How many bytes of an unfinished character wait for the next chunk.
    pub pending: usize,
}

/// An incremental UTF-8 decoder: feed it chunks as they arrive from the
/// socket; it never splits a character and never panics.
#[derive(Debug, Default, Clone)]
pub struct Utf8Decoder {
    carry: Vec<u8>,
}

impl Utf8Decoder {
    /// A decoder with nothing carried over.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decode the next chunk. Bytes that may be the start of a character
    /// completed by the next chunk are kept back.
    pub fn push(&mut self, chunk: &[u8]) -> Decoded {
        self.carry.extend_from_slice(chunk);
        let mut out = Decoded::default();
        let mut rest: &[u8] = &self.carry;
        loop {
            match std::str::from_utf8(rest) {
                Ok(valid) => {
                    out.text.push_str(valid);
                    rest = &[];
                    break;
                }
                Err(e) => {
                    let (valid, after) = rest.split_at(e.valid_up_to());
                    // SAFETY-free: from_utf8 just told us this prefix is valid.
                    out.text
                        .push_str(std::str::from_utf8(valid).unwrap_or_default());
                    match e.error_len() {
                        // An invalid sequence: replace it and go on.
                        Some(bad) => {
                            out.text.push('\u{FFFD}');
                            out.invalid += 1;
                            rest = &after[bad..];
                        }
                        // The chunk ends in the middle of a character: keep it.
                        None => {
                            rest = after;
                            break;
                        }
                    }
                }
            }
        }
        out.pending = rest.len();
        self.carry = rest.to_vec();
        out
    }

    /// The stream has ended: an unfinished character left over is invalid.
    pub fn finish(&mut self) -> Decoded {
        let leftover = std::mem::take(&mut self.carry);
        if leftover.is_empty() {
            Decoded::default()
        } else {
            Decoded {
                text: "\u{FFFD}".into(),
                invalid: 1,
                pending: 0,
            }
        }
    }

    /// Bytes waiting for the rest of their character.
    pub fn pending(&self) -> usize {
        self.carry.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_look_like_python_bytes() {
        assert_eq!(bytes_repr(b"hi\n"), r"b'hi\n'");
        assert_eq!(bytes_repr("我".as_bytes()), r"b'\xe6\x88\x91'");
        assert_eq!(bytes_repr(b"it's"), r"b'it\'s'");
        assert_eq!(
            bytes_repr(&[b'a'; 100]),
            format!("b'{}'… (100 bytes)", "a".repeat(SHOW_AT_MOST))
        );
    }

    #[test]
    fn a_character_split_at_every_point_comes_out_whole() {
        let message = "我是客户端, hello";
        let bytes = message.as_bytes();
        for cut in 0..=bytes.len() {
            let mut d = Utf8Decoder::new();
            let mut text = d.push(&bytes[..cut]).text;
            text += &d.push(&bytes[cut..]).text;
            assert_eq!(text, message, "split at byte {cut}");
            assert_eq!(d.pending(), 0);
        }
    }

    #[test]
    fn one_byte_at_a_time_comes_out_whole() {
        let mut d = Utf8Decoder::new();
        let text: String = "你好".bytes().map(|b| d.push(&[b]).text).collect();
        assert_eq!(text, "你好");
    }

    #[test]
    fn invalid_bytes_are_replaced_and_counted_not_fatal() {
        let mut d = Utf8Decoder::new();
        let out = d.push(b"ok \xff\xfe end");
        assert_eq!(out.text, "ok \u{FFFD}\u{FFFD} end");
        assert_eq!(out.invalid, 2);
    }

    #[test]
    fn an_unfinished_character_at_the_end_is_reported() {
        let mut d = Utf8Decoder::new();
        assert_eq!(d.push(&"我".as_bytes()[..2]).pending, 2);
        assert_eq!(d.finish().invalid, 1);
    }
}
