//! Property tests ("fuzzing") for every decoder that reads bytes from a peer.
//!
//! A peer can send any bytes, and TCP can cut them into reads at any points.
//! For each decoder, proptest generates arbitrary byte strings and arbitrary
//! split points and checks that:
//!
//! * decoding the pieces gives exactly what decoding the whole gives (the
//!   split points are invisible), and nothing panics;
//! * memory stays bounded: a decoder never holds more than its cap (plus
//!   the chunk just pushed), and a length prefix can never make it allocate
//!   more than the cap, however large the number it announces.
//!
//! Each property runs `CASES` generated cases (and proptest shrinks any
//! failure to a minimal example). The count is printed in the test output.

use proptest::prelude::*;
use socket_lessons::framing::{FrameDecoder, LineDecoder, PREFIX_LEN, encode_frame};
use socket_lessons::text::{Utf8Decoder, bytes_repr};

const CASES: u32 = 4096;

/// Bytes that are often, but not always, valid UTF-8 with multibyte
/// characters and newlines — the interesting inputs — plus raw noise.
fn peer_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        "[a-z\n\r 我是客户端你好😀é]{0,80}".prop_map(String::into_bytes),
        proptest::collection::vec(
            prop_oneof![
                Just(b'\n'),
                Just(0xe6u8),
                Just(0x88u8),
                Just(0x91u8),
                any::<u8>()
            ],
            0..200
        ),
    ]
}

/// Cut `bytes` at the given fractions: every way of splitting is reachable.
fn split(bytes: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    points.sort_unstable();
    let mut pieces = Vec::new();
    let mut last = 0;
    for p in points.into_iter().chain([bytes.len()]) {
        pieces.push(bytes[last..p].to_vec());
        last = p;
    }
    pieces
}

/// What a line decoder yields for a stream: the lines, then how it ended.
fn lines_of(pieces: &[Vec<u8>], max_len: usize) -> (Vec<Vec<u8>>, Result<(), String>) {
    let mut d = LineDecoder::new(max_len);
    let mut lines = Vec::new();
    for piece in pieces {
        d.push(piece);
        // Bounded memory: never more than a line's worth plus this chunk.
        assert!(
            d.pending() <= max_len + 2 + piece.len(),
            "pending {} for max {max_len}",
            d.pending()
        );
        loop {
            match d.next_line() {
                Ok(Some(line)) => lines.push(line),
                Ok(None) => break,
                Err(e) => return (lines, Err(e.to_string())),
            }
        }
    }
    (lines, d.finish().map_err(|e| e.to_string()))
}

/// What a frame decoder yields for a stream.
fn frames_of(pieces: &[Vec<u8>], cap: usize) -> (Vec<Vec<u8>>, Result<(), String>) {
    let mut d = FrameDecoder::new(cap);
    let mut frames = Vec::new();
    for piece in pieces {
        d.push(piece);
        assert!(
            d.pending() <= PREFIX_LEN + cap + piece.len(),
            "pending {} for cap {cap}",
            d.pending()
        );
        loop {
            match d.next_frame() {
                Ok(Some(frame)) => {
                    assert!(frame.len() <= cap);
                    frames.push(frame)
                }
                Ok(None) => break,
                Err(e) => return (frames, Err(e.to_string())),
            }
        }
    }
    (frames, d.finish().map_err(|e| e.to_string()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn utf8_decoding_does_not_depend_on_where_reads_split(bytes in peer_bytes(), cuts in proptest::collection::vec(any::<usize>(), 0..8)) {
        let mut d = Utf8Decoder::new();
        let mut text = String::new();
        for piece in split(&bytes, &cuts) {
            let out = d.push(&piece);
            // Never more than one unfinished character (at most 3 bytes) is held back.
            prop_assert!(out.pending <= 3);
            text += &out.text;
        }
        text += &d.finish().text;
        // The whole stream, decoded at once, the way Rust's lossy decoder does it.
        prop_assert_eq!(text, String::from_utf8_lossy(&bytes).into_owned());
    }

    #[test]
    fn line_framing_does_not_depend_on_where_reads_split(bytes in peer_bytes(), cuts in proptest::collection::vec(any::<usize>(), 0..8), max_len in 1usize..64) {
        let whole = lines_of(std::slice::from_ref(&bytes), max_len);
        let pieces = lines_of(&split(&bytes, &cuts), max_len);
        prop_assert_eq!(whole, pieces);
    }

    #[test]
    fn length_framing_does_not_depend_on_where_reads_split(payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..6), noise in proptest::collection::vec(any::<u8>(), 0..12), cuts in proptest::collection::vec(any::<usize>(), 0..10)) {
        let cap = 32;
        let mut stream = Vec::new();
        for p in &payloads {
            // Payloads over the cap cannot be encoded: the encoder refuses.
            match encode_frame(p, cap) {
                Ok(frame) => stream.extend(frame),
                Err(_) => prop_assert!(p.len() > cap),
            }
        }
        stream.extend(&noise); // a hostile tail: any prefix, any length
        let whole = frames_of(std::slice::from_ref(&stream), cap);
        let pieces = frames_of(&split(&stream, &cuts), cap);
        prop_assert_eq!(&whole, &pieces);
        // Every payload that could be encoded comes back, in order.
        let sent: Vec<&Vec<u8>> = payloads.iter().filter(|p| p.len() <= cap).collect();
        prop_assert!(whole.0.len() >= sent.len());
        for (got, want) in whole.0.iter().zip(sent) {
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn no_length_prefix_makes_us_buffer_more_than_the_cap(len in any::<u32>(), body in proptest::collection::vec(any::<u8>(), 0..64)) {
        let cap = 16;
        let mut d = FrameDecoder::new(cap);
        d.push(&len.to_be_bytes());
        d.push(&body);
        match d.next_frame() {
            Ok(Some(frame)) => prop_assert!(frame.len() <= cap && len as usize <= cap),
            Ok(None) => prop_assert!(len as usize <= cap, "a prefix of {len} over the cap must be refused at once"),
            Err(_) => prop_assert!(len as usize > cap),
        }
        // Refused or not, pushing more never accumulates past the cap.
        d.push(&body);
        prop_assert!(d.pending() <= PREFIX_LEN + cap + body.len());
    }

    #[test]
    fn showing_any_bytes_never_panics_and_is_plain_ascii(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let shown = bytes_repr(&bytes);
        prop_assert!(shown.starts_with("b'"));
        // Escapes only: no raw control bytes or broken characters on screen,
        // except the "…" that marks a cut.
        prop_assert!(shown.chars().all(|c| c.is_ascii_graphic() || c == ' ' || c == '…'));
    }
}

#[test]
fn report_the_number_of_generated_cases() {
    // Five properties above, each with CASES cases.
    println!(
        "fuzz_decoders: 5 properties x {CASES} generated cases = {} cases",
        5 * CASES
    );
}
