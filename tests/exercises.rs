//! The exercise checker can pass and can fail: every reference solution
//! passes, every untouched stub fails with the message a student will see,
//! every deliberately wrong program (tests/exercises/wrong/) fails with the
//! right diagnosis, and `--json`, `list` and `hint` do what the book says.
//!
//! Solutions and wrong programs are not targets of the package (a teacher
//! may delete lessons/exercises/solutions/). This file builds them once, in
//! a scratch crate under the target directory that depends on the package by
//! path, then checks them with `check <exercise> -- <program>`: exactly the
//! "any program" mode a student uses for a Python client.
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use common::{Output, finish, tool};

const CHECKER: &str = env!("CARGO_BIN_EXE_socket-lessons");
/// A cold build of the scratch crate compiles clap and nix once.
const BUILD_PATIENCE: Duration = Duration::from_secs(600);

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The target directory cargo used for this test run (…/target).
fn target_dir() -> PathBuf {
    Path::new(CHECKER)
        .ancestors()
        .nth(2)
        .expect("target dir")
        .to_path_buf()
}

fn scratch() -> PathBuf {
    target_dir().join("exercise-programs")
}

/// Run a command to completion within `limit` (killed after that); its output.
fn run_within(cmd: &mut Command, limit: Duration) -> Output {
    let child = cmd
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(limit) {
        Ok(out) => out.expect("wait for the command"),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("{cmd:?} did not finish within {limit:?}");
        }
    };
    Output {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Build every solution and wrong program once (all tests wait for it).
/// Returns the directory holding the executables.
fn programs() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = scratch();
        std::fs::create_dir_all(&dir).unwrap();
        let mut manifest = format!(
            "[package]\nname = \"exercise-programs\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
             [workspace]\n\n[dependencies]\nsocket-lessons = {{ path = {:?} }}\n\
             clap = {{ version = \"4.6\", features = [\"derive\"] }}\n\
             nix = {{ version = \"0.31\", features = [\"socket\", \"net\", \"poll\", \"event\", \"signal\"] }}\n\
             socket2 = {{ version = \"0.6\", features = [\"all\"] }}\n",
            repo().display().to_string()
        );
        for (prefix, folder) in [("solution_", "lessons/exercises/solutions"), ("wrong_", "tests/exercises/wrong")] {
            let Ok(entries) = std::fs::read_dir(repo().join(folder)) else { continue };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "rs") {
                    let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
                    manifest += &format!("\n[[bin]]\nname = \"{prefix}{stem}\"\npath = {:?}\n", path.display().to_string());
                }
            }
        }
        std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
        // The package's lock file: the same dependency versions, no network.
        std::fs::copy(repo().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = run_within(
            Command::new(cargo)
                .args(["build", "--offline", "--quiet", "--manifest-path"])
                .arg(dir.join("Cargo.toml"))
                .env("CARGO_TARGET_DIR", dir.join("target")),
            BUILD_PATIENCE,
        );
        assert!(out.status.success(), "building the solutions failed:\n{}", out.stderr);
        dir.join("target/debug")
    })
}

/// A built solution (`solution_<stub>`) or wrong program (`wrong_<name>`).
/// None if a teacher removed the solutions (fails under CI=true).
fn program(name: &str) -> Option<String> {
    let exe = programs().join(name);
    if exe.exists() {
        return Some(exe.display().to_string());
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{name} was not built: is its source missing?");
    }
    eprintln!("\n*** SKIPPED: {name} is not here (solutions removed?) ***\n");
    None
}

/// `socket-lessons check <exercise> [extra] -- <command>`.
fn check(exercise: &str, extra: &[&str], command: &[&str]) -> Output {
    let mut cmd = Command::new(CHECKER);
    cmd.args(["check", exercise])
        .args(extra)
        .arg("--")
        .args(command)
        .current_dir(repo());
    run_within(&mut cmd, Duration::from_secs(120))
}

fn assert_passes(exercise: &str, command: &[&str]) {
    let out = check(exercise, &[], command);
    assert!(
        out.status.success() && out.stdout.contains(&format!("PASS {exercise}")),
        "expected PASS for {command:?}:\n{}\nstderr:\n{}",
        out.stdout,
        out.stderr
    );
}

fn assert_fails_with(
    exercise: &str,
    command: &[&str],
    extra: &[&str],
    diagnosis: &[&str],
) -> String {
    let out = check(exercise, extra, command);
    assert_eq!(
        out.status.code(),
        Some(1),
        "expected exit 1 for {command:?}:\n{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!("FAIL {exercise}")),
        "no FAIL line:\n{}",
        out.stdout
    );
    for d in diagnosis {
        assert!(
            out.stdout.contains(d),
            "expected the diagnosis to mention {d:?}:\n{}",
            out.stdout
        );
    }
    out.stdout
}

fn solution_passes(exercise: &str, stub: &str) {
    if let Some(exe) = program(&format!("solution_{stub}")) {
        assert_passes(exercise, &[&exe]);
    }
}

// ------------------------------------------------------------- solutions pass

#[test]
fn solution_homework01_passes() {
    solution_passes("homework01", "homework01_write_the_client");
}

#[test]
fn solution_homework01_in_python_passes() {
    if !tool("python3") {
        return;
    }
    let script = repo().join("lessons/exercises/solutions/homework01_write_the_client.py");
    if script.exists() {
        assert_passes("homework01", &["python3", &script.display().to_string()]);
    }
}

#[test]
fn solution_exercise02_passes() {
    solution_passes("exercise02", "exercise02_udp_client");
}

#[test]
fn solution_exercise03_passes() {
    solution_passes("exercise03", "exercise03_echo_server");
}

#[test]
fn solution_exercise04_passes() {
    solution_passes("exercise04", "exercise04_write_all");
}

#[test]
fn solution_exercise05_passes() {
    solution_passes("exercise05", "exercise05_peer_credentials");
}

#[test]
fn solution_exercise06_passes() {
    solution_passes("exercise06", "exercise06_two_clients_at_once");
}

// ------------------------------------------------------- untouched stubs fail

#[test]
fn stub_homework01_fails_with_its_todo() {
    let out = assert_fails_with(
        "homework01",
        &[env!("CARGO_BIN_EXE_homework01_write_the_client")],
        &[],
        &[
            "nothing connected",
            "it panicked: not yet implemented: connect to 127.0.0.1:",
        ],
    );
    assert!(out.contains("`cargo run -- hint homework01` gives a hint"));
}

#[test]
fn stub_exercise02_fails_with_its_todo() {
    assert_fails_with(
        "exercise02",
        &[env!("CARGO_BIN_EXE_exercise02_udp_client")],
        &[],
        &["it panicked: not yet implemented: create the UDP socket"],
    );
}

#[test]
fn stub_exercise03_fails_with_its_todo() {
    assert_fails_with(
        "exercise03",
        &[env!("CARGO_BIN_EXE_exercise03_echo_server")],
        &[],
        &[
            "nothing listened on 127.0.0.1:",
            "it panicked: not yet implemented: bind and listen",
        ],
    );
}

#[test]
fn stub_exercise04_fails_with_a_short_write() {
    assert_fails_with(
        "exercise04",
        &[env!("CARGO_BIN_EXE_exercise04_write_all")],
        &[],
        &[
            "ok   40 bytes",
            "FAIL 16 MiB",
            "the server received only",
            "write_all() loops",
        ],
    );
}

#[test]
fn stub_exercise05_fails_with_its_todo() {
    assert_fails_with(
        "exercise05",
        &[env!("CARGO_BIN_EXE_exercise05_peer_credentials")],
        &[],
        &[
            "nothing connected to /",
            "it panicked: not yet implemented: connect to",
        ],
    );
}

#[test]
fn stub_exercise06_fails_serving_one_client_at_a_time() {
    assert_fails_with(
        "exercise06",
        &[env!("CARGO_BIN_EXE_exercise06_two_clients_at_once")],
        &[],
        &[
            "FAIL client B is answered while client A stays connected",
            "one client at a time",
        ],
    );
}

// ------------------------------------- wrong programs fail with the right diagnosis

#[test]
fn wrong_homework01_reading_once_prints_only_the_first_byte() {
    let Some(exe) = program("wrong_homework01_reads_once") else {
        return;
    };
    let out = assert_fails_with(
        "homework01",
        &[&exe],
        &[],
        &[
            "FAIL the message arrives in 15 pieces of 1 byte",
            "expected its output to contain \"This is socket!\"",
            "  | T\n",
        ],
    );
    assert!(
        out.contains("ok   the server sends the message in one piece"),
        "{out}"
    );
}

#[test]
fn wrong_homework01_unwrapping_panics_on_a_reset() {
    let Some(exe) = program("wrong_homework01_unwraps") else {
        return;
    };
    assert_fails_with(
        "homework01",
        &[&exe],
        &[],
        &[
            "FAIL the server resets the connection mid-message",
            "it panicked: called `Result::unwrap()`",
            "don't unwrap()",
        ],
    );
}

#[test]
fn wrong_homework01_keeping_the_connection_open_did_not_close() {
    let Some(exe) = program("wrong_homework01_never_closes") else {
        return;
    };
    assert_fails_with(
        "homework01",
        &[&exe],
        &["--time-limit", "2"],
        &[
            "FAIL the server sends the message in one piece and hangs up",
            "did not close: the server hung up, but the client kept the connection open",
            "was killed (hung?)",
        ],
    );
}

#[test]
fn wrong_exercise02_without_a_timeout_hangs_on_a_lost_reply() {
    let Some(exe) = program("wrong_exercise02_waits_forever") else {
        return;
    };
    let out = assert_fails_with(
        "exercise02",
        &[&exe],
        &["--time-limit", "3"],
        &[
            "FAIL a server that never answers (the reply is lost)",
            "hung: it was still running after",
            "Set a read timeout",
        ],
    );
    assert!(
        out.contains("ok   a 4000-byte reply in one datagram"),
        "{out}"
    );
}

#[test]
fn wrong_exercise02_small_buffer_cuts_the_big_reply() {
    let Some(exe) = program("wrong_exercise02_small_buffer") else {
        return;
    };
    assert_fails_with(
        "exercise02",
        &[&exe],
        &[],
        &[
            "FAIL a 4000-byte reply in one datagram",
            "a receive buffer smaller than the datagram cuts it off",
        ],
    );
}

#[test]
fn wrong_exercise03_unwrapping_server_dies_on_a_reset() {
    let Some(exe) = program("wrong_exercise03_unwraps") else {
        return;
    };
    assert_fails_with(
        "exercise03",
        &[&exe],
        &[],
        // Which client kills it varies: seed 004's (its `exit` echo meets a
        // closed socket) or the one that resets; the diagnosis does not.
        &["the server is gone: it panicked: called `Result::unwrap()`"],
    );
}

#[test]
fn wrong_exercise04_without_shutdown_never_finishes_sending() {
    let Some(exe) = program("wrong_exercise04_no_shutdown") else {
        return;
    };
    assert_fails_with(
        "exercise04",
        &[&exe],
        &["--time-limit", "3"],
        &["never said it was done sending", "shutdown(Write)"],
    );
}

#[test]
fn wrong_exercise05_own_pid_is_not_the_servers() {
    let Some(exe) = program("wrong_exercise05_own_pid") else {
        return;
    };
    assert_fails_with(
        "exercise05",
        &[&exe],
        &[],
        &["is the client's own pid", "SO_PEERCRED"],
    );
}

#[test]
fn wrong_exercise06_joining_the_thread_is_still_one_at_a_time() {
    let Some(exe) = program("wrong_exercise06_joins_the_thread") else {
        return;
    };
    assert_fails_with("exercise06", &[&exe], &[], &["one client at a time"]);
}

#[test]
fn a_program_that_does_not_exist_is_reported() {
    assert_fails_with(
        "homework01",
        &["/nonexistent/program"],
        &[],
        &["could not start `/nonexistent/program`"],
    );
}

// ------------------------------------------------------------ the interface

/// Validate with Python's json module and print the documented fields.
fn json_fields(json: &str) -> String {
    let script = "import json,sys\nv=json.loads(sys.stdin.read())\n\
                  assert set(v)=={'exercise','passed','checks'}, v.keys()\n\
                  assert all(set(c)=={'name','passed','skipped','message'} for c in v['checks'])\n\
                  print(v['exercise'], v['passed'], len(v['checks']), *[c['passed'] for c in v['checks']])";
    let child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    let out = finish(child, json.as_bytes(), "python3 json check");
    assert!(
        out.status.success(),
        "not the documented JSON:\n{json}\n{}",
        out.stderr
    );
    out.stdout.trim().to_string()
}

#[test]
fn json_output_is_valid_and_has_the_documented_fields() {
    if !tool("python3") {
        return;
    }
    // A failing run: exit 1, nothing but the JSON object on stdout.
    let out = check(
        "homework01",
        &["--json"],
        &[env!("CARGO_BIN_EXE_homework01_write_the_client")],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        out.stdout.lines().count(),
        1,
        "one line of JSON:\n{}",
        out.stdout
    );
    assert_eq!(
        json_fields(&out.stdout),
        "homework01 False 3 False False False"
    );
    assert!(out.stdout.contains("not yet implemented"), "{}", out.stdout);
    // A passing run: exit 0.
    let script = repo().join("lessons/exercises/solutions/homework01_write_the_client.py");
    if script.exists() {
        let out = check(
            "homework01",
            &["--json"],
            &["python3", &script.display().to_string()],
        );
        assert_eq!(out.status.code(), Some(0), "{}", out.stdout);
        assert_eq!(json_fields(&out.stdout), "homework01 True 3 True True True");
    }
}

#[test]
fn rust_mode_builds_the_students_stub_and_checks_it() {
    // The student's command: `cargo run -- check homework01`. It runs cargo
    // itself; a separate target dir keeps it off the lock of this test run.
    programs();
    let mut cmd = Command::new(CHECKER);
    cmd.args(["check", "homework01"])
        .current_dir(repo())
        .env("CARGO_TARGET_DIR", scratch().join("target"));
    let out = run_within(&mut cmd, BUILD_PATIENCE);
    assert_eq!(out.status.code(), Some(1), "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("building lessons/exercises/homework01_write_the_client.rs")
            || out.stdout.contains("homework01_write_the_client.rs"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("not yet implemented: connect to"),
        "{}",
        out.stdout
    );
    // `list` now shows the result of that check.
    let list = run_within(
        Command::new(CHECKER)
            .arg("list")
            .env("CARGO_TARGET_DIR", scratch().join("target")),
        Duration::from_secs(20),
    );
    assert!(
        list.stdout.contains("failed last check, 2 todo!() left"),
        "{}",
        list.stdout
    );
}

#[test]
fn list_shows_lessons_and_every_exercise_with_its_status() {
    let out = run_within(Command::new(CHECKER).arg("list"), Duration::from_secs(20));
    assert!(out.status.success());
    for name in [
        "lesson02_tcp_once",
        "homework01",
        "exercise02",
        "exercise03",
        "exercise04",
        "exercise05",
        "exercise06",
        "homework01_write_the_client",
    ] {
        assert!(
            out.stdout.contains(name),
            "list lacks {name}:\n{}",
            out.stdout
        );
    }
    assert!(out.stdout.contains("todo!() left"), "{}", out.stdout);
}

#[test]
fn hint_asks_questions_and_unknown_exercises_are_refused() {
    let out = run_within(
        Command::new(CHECKER).args(["hint", "homework01"]),
        Duration::from_secs(20),
    );
    assert!(out.status.success());
    assert!(
        out.stdout.contains("1. ") && out.stdout.contains("read() returns"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("lessons/exercises/homework01_write_the_client.rs")
    );
    let out = run_within(
        Command::new(CHECKER).args(["hint", "homework99"]),
        Duration::from_secs(20),
    );
    assert!(!out.status.success());
    assert!(
        out.stderr
            .contains("the exercises are: homework01, exercise02"),
        "{}",
        out.stderr
    );
}

#[test]
fn every_stub_says_what_may_change_and_is_a_target() {
    let toml = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    for entry in std::fs::read_dir(repo().join("lessons/exercises"))
        .unwrap()
        .flatten()
    {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("YOU MAY CHANGE:") && text.contains("DO NOT CHANGE:"),
            "{}",
            path.display()
        );
        let rel = path.strip_prefix(repo()).unwrap().display().to_string();
        assert!(
            toml.contains(&format!("path = \"{rel}\"")),
            "{rel} is not a [[bin]]"
        );
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        assert!(
            repo()
                .join("lessons/exercises/solutions")
                .join(format!("{stem}.rs"))
                .exists()
                || std::env::var("CI").is_err(),
            "{stem} has no solution"
        );
    }
}

// ------------------------------------------------------------------ the book

/// Digits vary (ports, line numbers): compare them as `N`.
fn digits_as_n(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            if !out.ends_with('N') {
                out.push('N');
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The fenced block right after `marker` in `page`.
fn blocks_after(page: &str, marker: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (i, _) in page.match_indices(marker) {
        let rest = &page[i + marker.len()..];
        let (what, rest) = rest.split_once("-->").unwrap();
        let body = rest.split_once("```text\n").unwrap().1;
        let body = body.split_once("```").unwrap().0;
        found.push((what.trim().to_string(), body.to_string()));
    }
    found
}

#[test]
fn checker_output_quoted_in_the_book_is_what_it_prints() {
    let page = std::fs::read_to_string(repo().join("book/src/exercises.md")).unwrap();
    let quotes = blocks_after(&page, "<!-- exercises-output:");
    assert!(
        quotes.len() >= 2,
        "the exercises chapter quotes the checker"
    );
    for (what, quoted) in quotes {
        let (kind, name) = what.split_once(' ').unwrap();
        let program = match kind {
            "stub" => env!("CARGO_BIN_EXE_homework01_write_the_client").to_string(),
            "wrong" => match program(&format!("wrong_{name}")) {
                Some(p) => p,
                None => continue,
            },
            other => panic!("unknown quote kind {other}"),
        };
        let exercise = name.split('_').next().unwrap();
        let out = check(exercise, &[], &[&program]);
        let printed: Vec<String> = out.stdout.lines().map(digits_as_n).collect();
        for line in quoted.lines() {
            assert!(
                printed.contains(&digits_as_n(line)),
                "the book quotes a line the checker no longer prints:\n{line}\nit prints:\n{}",
                out.stdout
            );
        }
    }
}

#[test]
fn the_json_example_in_the_teachers_guide_has_the_documented_fields() {
    if !tool("python3") {
        return;
    }
    let page = std::fs::read_to_string(repo().join("book/src/teachers-guide.md")).unwrap();
    let json = page
        .split_once("```json\n")
        .unwrap()
        .1
        .split_once("```")
        .unwrap()
        .0;
    assert_eq!(json_fields(json), "homework01 False 3 True False True");
}
