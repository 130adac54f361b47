//! The book's sequence diagrams, drawn from the lessons' real demos.
//!
//! For every lesson that has a demo snapshot, run the demo, draw its
//! transcript with `socket_lessons::diagram`, and snapshot the drawing as
//! `tests/snapshots/<bin>.diagram.snap`; the book includes that file. A
//! lesson whose output changes fails both its own snapshot and this one, and
//! accepting the pending snapshots updates the transcript and the picture
//! together, so the picture cannot drift from the program.

mod common;

use std::path::Path;

use common::*;
use socket_lessons::diagram::sequence_diagram;

fn snapshot_file(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(format!("{name}.snap"))
}

fn check_diagram(bin: &str, exe: &str) {
    if !snapshot_file(bin).exists() {
        eprintln!("{bin} has no demo snapshot yet: no diagram to draw");
        return;
    }
    let transcript = demo_output(exe);
    let name = format!("{bin}.diagram");
    match sequence_diagram(&transcript) {
        Some(picture) => snapshot_settings().bind(|| insta::assert_snapshot!(name, picture)),
        None => assert!(
            !snapshot_file(&name).exists(),
            "{bin}'s demo no longer has a conversation to draw: delete {name}.snap and its \
             include in the book"
        ),
    }
}

macro_rules! diagram_tests {
    ($($bin:ident),* $(,)?) => {$(
        #[test]
        fn $bin() {
            check_diagram(stringify!($bin), env!(concat!("CARGO_BIN_EXE_", stringify!($bin))));
        }
    )*};
}

diagram_tests!(
    lesson01_what_is_a_socket,
    lesson02_tcp_once,
    lesson03_tcp_loop,
    lesson04_udp,
    lesson05_unix_sockets,
    lesson06_raw_syscalls,
    lesson07_send_and_sendall,
    lesson08_timeouts_and_blocking,
    lesson09_socket_options,
    lesson10_socket_as_file,
    lesson11_concurrent_server,
);
