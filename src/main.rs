//! `socket-lessons`: the tour. Lists the lessons and the exercises, gives
//! hints, and checks a student's exercise against a reference peer.
//!
//! ```text
//! cargo run -- list                          lessons and exercises, with status
//! cargo run -- hint homework01               a few questions that lead the way
//! cargo run -- check homework01 [--json]     build the stub and check it
//! cargo run -- check homework01 -- python3 my_client.py
//!                                            check any program the same way
//! ```

mod tour;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

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
    (
        "lesson04_udp",
        "datagrams: send_to / recv_from, no connection, boundaries kept",
    ),
    (
        "lesson05_unix_sockets",
        "AF_UNIX: a socket file, abstract names, peer credentials",
    ),
    (
        "lesson06_raw_syscalls",
        "the same server with nix syscalls, socket2 and std",
    ),
    (
        "lesson07_send_and_sendall",
        "short writes: write vs write_all; TCP is a byte stream",
    ),
    (
        "lesson08_timeouts_and_blocking",
        "timeouts, WouldBlock, non-blocking sockets",
    ),
    (
        "lesson09_socket_options",
        "SO_REUSEADDR, buffers, TCP_NODELAY, both ends' names",
    ),
    (
        "lesson10_socket_as_file",
        "a socket as a file: buffered reading, lines, shutdown",
    ),
    (
        "lesson11_concurrent_server",
        "the second client waits: threads and poll",
    ),
];

/// The socket-lessons tour: the lessons, and the exercise checker.
///
/// With no subcommand, lists the lessons and the exercises.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// List the lessons and the exercises (with the status of each stub).
    List,
    /// List only the lessons.
    Lessons,
    /// Print a hint for an exercise: a few questions, not the answer.
    Hint {
        /// The exercise, e.g. homework01 (see `list`).
        exercise: String,
    },
    /// Check an exercise: build the stub in lessons/exercises/ and run it
    /// against the reference peer. Exit status 0 only if every check passes.
    ///
    /// After `--`, any command line is checked instead of the stub, e.g.
    /// `check homework01 -- python3 my_client.py`. The program gets the
    /// address as `--host H --port P` (or `--path P` for AF_UNIX) appended
    /// to its arguments, and in SOCKET_LESSONS_HOST, SOCKET_LESSONS_PORT,
    /// SOCKET_LESSONS_ADDR (SOCKET_LESSONS_PATH).
    Check {
        /// The exercise, e.g. homework01 (see `list`).
        exercise: String,
        /// Print one JSON object (exercise, passed, checks) for autograders.
        #[arg(long)]
        json: bool,
        /// Seconds one run of the program may take before it counts as hung.
        #[arg(long, value_name = "SECS", default_value_t = tour::DEFAULT_LIMIT.as_secs())]
        time_limit: u64,
        /// The program to check instead of the stub (after `--`).
        #[arg(last = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
}

fn main() -> ExitCode {
    match Cli::parse().command.unwrap_or(Cmd::List) {
        Cmd::List => {
            lessons();
            exercises();
            ExitCode::SUCCESS
        }
        Cmd::Lessons => {
            lessons();
            ExitCode::SUCCESS
        }
        Cmd::Hint { exercise } => match known(&exercise) {
            Some(e) => tour::hint(e),
            None => ExitCode::FAILURE,
        },
        Cmd::Check {
            exercise,
            json,
            time_limit,
            command,
        } => match known(&exercise) {
            Some(e) => tour::check(e, &command, json, Duration::from_secs(time_limit.max(1))),
            None => ExitCode::from(2),
        },
    }
}

fn lessons() {
    println!("Lessons: run one with `cargo run --bin <lesson>`\n");
    for (bin, what) in LESSONS {
        println!("  {bin:<31} {what}");
    }
}

fn exercises() {
    println!(
        "\nExercises: edit lessons/exercises/<file>.rs, then `cargo run -- check <exercise>`\n"
    );
    for e in tour::EXERCISES {
        println!("  {:<11} {:<31} {}", e.id, e.bin, tour::status(e));
        println!("  {:<11} {} ({})", "", e.task, e.lesson);
    }
    println!("\n`cargo run -- hint <exercise>` asks the questions that lead to the answer.");
}

fn known(name: &str) -> Option<&'static tour::Exercise> {
    let found = tour::find(name);
    if found.is_none() {
        let ids: Vec<&str> = tour::EXERCISES.iter().map(|e| e.id).collect();
        eprintln!(
            "error: no exercise called {name:?}; the exercises are: {}",
            ids.join(", ")
        );
    }
    found
}
