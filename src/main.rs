//! `socket-lessons`: the tour. Lists the lessons; later, checks exercises.

use std::process::ExitCode;

const LESSONS: &[(&str, &str)] = &[
    (
        "lesson01_what_is_a_socket",
        "the (domain, type, protocol) triple; a socket is a file",
    ),
    (
        "lesson02_tcp_once",
        "the phone call: bind, listen, accept / connect, send, recv, close - once",
    ),
    (
        "lesson03_tcp_loop",
        "serve client after client; talk until the peer hangs up or says exit",
    ),
];

fn main() -> ExitCode {
    println!("socket-lessons: run a lesson with `cargo run --bin <lesson>`\n");
    for (bin, what) in LESSONS {
        println!("  {bin:<28} {what}");
    }
    ExitCode::SUCCESS
}
