//! Lesson 05: AF_UNIX sockets — demo snapshot, Python's `socket.AF_UNIX`
//! and socat on the other end (both directions), the socket file's life
//! (mode, stale file, live server, regular file, Ctrl-C) and bad input.

mod common;

use std::io::Write;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::process::Command;

use common::*;
use nix::sys::signal::Signal;

const BIN: &str = env!("CARGO_BIN_EXE_lesson05_unix_sockets");

/// Our server on `path`, started and listening.
fn server_on(path: &Path, extra: &[&str]) -> Server {
    Server::start(
        Command::new(BIN)
            .args(["server", "--path"])
            .arg(path)
            .args(extra),
    )
}

fn client_on(path: &Path, stdin: &str) -> Output {
    run(
        Command::new(BIN).args(["client", "--path"]).arg(path),
        stdin.as_bytes(),
    )
}

fn is_socket(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket())
}

#[test]
fn demo_transcript() {
    let out = demo_output(BIN);
    let mut settings = snapshot_settings();
    // The demo's directory and abstract name carry its pid.
    settings.add_filter(r"socket-lessons-\d+", "socket-lessons-[PID]");
    settings.bind(|| insta::assert_snapshot!("lesson05_unix_sockets", out));
}

#[test]
fn demo_leaves_no_files_behind() {
    let out = run(&mut Command::new(BIN), b"");
    assert!(out.status.success(), "{out:?}");
    // Every path the demo used lives in its own directory, which must be gone.
    let dir = out
        .stdout
        .lines()
        .find_map(|l| l.split("listening on ").nth(1))
        .map(|p| Path::new(p.trim()).parent().unwrap().to_owned())
        .expect("the demo says where it listens");
    assert!(
        dir.to_string_lossy().contains("socket-lessons-"),
        "{}",
        dir.display()
    );
    assert!(!dir.exists(), "{} was left behind", dir.display());
}

#[test]
fn python_client_talks_to_our_server() {
    if !tool("python3") {
        return;
    }
    let dir = TempDir::new("l05-pyc");
    let path = dir.path("s.sock");
    let server = server_on(&path, &["--max-clients", "1"]);
    let out = run(
        python("unix_client.py").arg(&path),
        "你好\nexit\n".as_bytes(),
    );
    assert!(out.status.success(), "{out:?}");
    assert!(
        out.stdout
            .contains("收到回应：你好，我已收到你的消息：你好"),
        "{}",
        out.stdout
    );
    let (status, printed, _) = server.wait();
    assert!(status.success(), "{printed}");
    assert!(
        printed.contains(r#""exit": close() this connection"#),
        "{printed}"
    );
    assert!(!path.exists(), "the server left its socket file behind");
}

#[test]
fn our_client_talks_to_the_python_server() {
    if !tool("python3") {
        return;
    }
    let dir = TempDir::new("l05-pys");
    let path = dir.path("s.sock");
    let peer = Server::start(python("unix_server.py").arg(&path));
    let out = client_on(&path, "hello\n我是客户端\n");
    assert!(out.status.success(), "{out:?}");
    assert!(
        out.stdout
            .contains(r#"the server replied "你好，我已收到你的消息：hello""#),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains(r#"the server replied "你好，我已收到你的消息：我是客户端""#),
        "{}",
        out.stdout
    );
    let (status, printed, _) = peer.wait();
    assert!(status.success(), "{printed}");
    assert!(printed.contains("收到消息：我是客户端"), "{printed}");
}

#[test]
fn socat_as_the_client() {
    if !tool("socat") {
        return;
    }
    let dir = TempDir::new("l05-socat");
    let path = dir.path("s.sock");
    let server = server_on(&path, &["--max-clients", "1"]);
    // -t 5: after stdin ends, wait (up to 5 s) for the server's reply and
    // hang-up instead of socat's default half second.
    let out = run(
        Command::new("socat")
            .args(["-t", "5", "-"])
            .arg(format!("UNIX-CONNECT:{}", path.display())),
        "hello\n".as_bytes(),
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, "你好，我已收到你的消息：hello");
    let (status, printed, _) = server.wait();
    assert!(status.success(), "{printed}");
    assert!(printed.contains("the client hung up"), "{printed}");
}

#[test]
fn our_client_talks_to_socat_as_an_echo_server() {
    if !tool("socat") {
        return;
    }
    let dir = TempDir::new("l05-socat-echo");
    let path = dir.path("echo.sock");
    // socat says "listening on ..." on stderr with -d -d: merge it into
    // stdout so we can wait for it.
    let mut echo = Server::spawn(Command::new("sh").arg("-c").arg(format!(
        "exec socat -d -d UNIX-LISTEN:{},unlink-early EXEC:cat 2>&1",
        path.display()
    )));
    echo.wait_for("listening on");
    let out = client_on(&path, "echo 回声\n");
    assert!(out.status.success(), "{out:?}");
    assert!(
        out.stdout.contains(r#"the server replied "echo 回声""#),
        "{}",
        out.stdout
    );
}

#[test]
fn socat_reaches_the_abstract_namespace() {
    if !tool("socat") {
        return;
    }
    let name = format!("sl-test-{}-abstract", std::process::id());
    let server = Server::start(Command::new(BIN).args([
        "server",
        "--abstract",
        &name,
        "--max-clients",
        "1",
    ]));
    let out = run(
        Command::new("socat")
            .args(["-t", "5", "-"])
            .arg(format!("ABSTRACT-CONNECT:{name}")),
        "no file\n".as_bytes(),
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, "你好，我已收到你的消息：no file");
    let (status, printed, _) = server.wait();
    assert!(status.success(), "{printed}");
    assert!(
        printed.contains(&format!("listening on @{name}")),
        "{printed}"
    );
    assert!(printed.contains("no file is created"), "{printed}");
}

#[test]
fn our_client_reaches_the_abstract_namespace() {
    let name = format!("sl-test-{}-abstract-client", std::process::id());
    let server = Server::start(Command::new(BIN).args([
        "server",
        "--abstract",
        &name,
        "--max-clients",
        "1",
    ]));
    let out = run(
        Command::new(BIN).args(["client", "--abstract", &name]),
        b"hi\n",
    );
    assert!(out.status.success(), "{out:?}");
    assert!(
        out.stdout.contains("你好，我已收到你的消息：hi"),
        "{}",
        out.stdout
    );
    assert!(server.wait().0.success());
}

#[test]
fn the_socket_file_is_a_socket_with_mode_0600() {
    let dir = TempDir::new("l05-mode");
    let path = dir.path("s.sock");
    let mut server = server_on(&path, &[]);
    let meta = std::fs::symlink_metadata(&path).expect("the socket file exists");
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o7777, 0o600);
    assert_eq!(meta.len(), 0);
    assert!(
        server.output_so_far().contains("ls -l: srw------- "),
        "{}",
        server.output_so_far()
    );
}

#[test]
fn mode_flag_opens_the_file_to_others_with_a_warning() {
    let dir = TempDir::new("l05-mode666");
    let path = dir.path("s.sock");
    let mut server = server_on(&path, &["--mode", "0666"]);
    let mode = std::fs::symlink_metadata(&path)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o7777, 0o666);
    let printed = server.output_so_far();
    assert!(printed.contains("srw-rw-rw-"), "{printed}");
    assert!(printed.contains("any user may connect"), "{printed}");
    assert!(
        printed.contains("lets other users write the file"),
        "{printed}"
    );
}

#[test]
fn a_bad_mode_is_rejected_by_the_parser() {
    let out = run(Command::new(BIN).args(["server", "--mode", "999"]), b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stderr.contains("is not a file mode"), "{}", out.stderr);
}

#[test]
fn the_server_names_the_connecting_process() {
    let dir = TempDir::new("l05-cred");
    let path = dir.path("s.sock");
    let mut server = server_on(&path, &["--max-clients", "1"]);
    let conn = UnixStream::connect(&path).unwrap();
    // The connecting process is this test binary.
    let me = nix::sys::socket::UnixCredentials::new();
    let line = server.wait_for("SO_PEERCRED");
    assert!(
        line.contains(&format!(
            "pid {}, uid {}, gid {}",
            std::process::id(),
            me.uid(),
            me.gid()
        )),
        "{line}"
    );
    drop(conn);
    assert!(server.wait().0.success());
}

#[test]
fn a_stale_socket_file_is_removed_and_the_server_starts() {
    let dir = TempDir::new("l05-stale");
    let path = dir.path("s.sock");
    // A "killed" server: bound, listened, gone; its file remains.
    drop(UnixListener::bind(&path).unwrap());
    assert!(is_socket(&path));
    let mut server = server_on(&path, &["--max-clients", "1"]);
    let printed = server.output_so_far();
    assert!(
        printed.contains("ECONNREFUSED: nobody listens"),
        "{printed}"
    );
    assert!(
        printed.contains("removed the stale socket file"),
        "{printed}"
    );
    let out = client_on(&path, "after the crash\n");
    assert!(out.status.success(), "{out:?}");
    assert!(
        out.stdout
            .contains("你好，我已收到你的消息：after the crash"),
        "{}",
        out.stdout
    );
    assert!(server.wait().0.success());
}

#[test]
fn a_live_server_keeps_its_path() {
    let dir = TempDir::new("l05-live");
    let path = dir.path("s.sock");
    // 2 clients: the second server's probe (it connects to find out whether
    // anyone listens) is a connection too, then our real client.
    let mut first = server_on(&path, &["--max-clients", "2"]);
    let second = run(Command::new(BIN).args(["server", "--path"]).arg(&path), b"");
    assert_eq!(second.status.code(), Some(1), "{second:?}");
    assert!(
        second
            .stderr
            .contains("a server is listening on this path right now"),
        "{}",
        second.stderr
    );
    assert!(!second.stderr.contains("panicked"), "{}", second.stderr);
    assert!(
        is_socket(&path),
        "the second server removed the first one's file"
    );
    // The first server saw the probe come and go, and serves on.
    first.wait_for("the client hung up");
    let out = client_on(&path, "still there?\n");
    assert!(out.status.success(), "{out:?}");
    assert!(
        out.stdout.contains("你好，我已收到你的消息：still there?"),
        "{}",
        out.stdout
    );
    let (status, printed, _) = first.wait();
    assert!(status.success(), "{printed}");
}

#[test]
fn a_regular_file_is_refused_and_left_untouched() {
    let dir = TempDir::new("l05-regular");
    let path = dir.path("notes.txt");
    std::fs::write(&path, "precious\n").unwrap();
    let out = run(Command::new(BIN).args(["server", "--path"]).arg(&path), b"");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        out.stderr
            .contains("it is a regular file, not a socket: refusing to delete it"),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious\n");
}

#[test]
fn a_path_over_107_bytes_is_explained() {
    let dir = TempDir::new("l05-long");
    let name = "x".repeat(120);
    let path = dir.path(&name);
    for sub in ["server", "client"] {
        let out = run(Command::new(BIN).args([sub, "--path"]).arg(&path), b"");
        assert_eq!(out.status.code(), Some(1), "{sub}: {out:?}");
        assert!(
            out.stderr.contains("[ENAMETOOLONG]"),
            "{sub}: {}",
            out.stderr
        );
        assert!(
            out.stderr.contains("sun_path[108] holds 107 + NUL"),
            "{}",
            out.stderr
        );
        assert!(out.stderr.contains("at most 107 bytes"), "{}", out.stderr);
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    }
    assert!(!path.exists());
}

#[test]
fn a_missing_directory_is_explained() {
    let dir = TempDir::new("l05-nodir");
    let path = dir.path("no/such/dir/s.sock");
    let out = run(Command::new(BIN).args(["server", "--path"]).arg(&path), b"");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        out.stderr
            .contains("does not exist (bind() creates only the socket file"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}

#[test]
fn a_client_with_nobody_there_is_explained() {
    let dir = TempDir::new("l05-nobody");
    // No file at all: ENOENT.
    let out = client_on(&dir.path("nobody.sock"), "hi\n");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stderr.contains("[ENOENT]"), "{}", out.stderr);
    // A stale file: ECONNREFUSED.
    let stale = dir.path("stale.sock");
    drop(UnixListener::bind(&stale).unwrap());
    let out = client_on(&stale, "hi\n");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stderr.contains("[ECONNREFUSED]"), "{}", out.stderr);
}

#[test]
fn sigint_removes_the_socket_file_and_exits_0() {
    let dir = TempDir::new("l05-sigint");
    let path = dir.path("s.sock");
    let server = server_on(&path, &[]);
    assert!(is_socket(&path));
    let (status, printed, stderr) = server.signal_and_wait(Signal::SIGINT);
    assert_eq!(status.code(), Some(0), "{printed}\n{stderr}");
    assert!(printed.contains("removed our socket file"), "{printed}");
    assert!(
        printed.contains("SIGINT received: stopped cleanly"),
        "{printed}"
    );
    assert!(!path.exists(), "the socket file is still there");
}

#[test]
fn sigterm_during_a_conversation_removes_the_file_too() {
    let dir = TempDir::new("l05-sigterm");
    let path = dir.path("s.sock");
    let mut server = server_on(&path, &[]);
    let mut conn = UnixStream::connect(&path).unwrap();
    conn.write_all(b"hello").unwrap();
    server.wait_for("recv(1024) -> 5 bytes");
    let (status, printed, _) = server.signal_and_wait(Signal::SIGTERM);
    assert_eq!(status.code(), Some(0), "{printed}");
    assert!(
        printed.contains("SIGTERM received: stopped cleanly"),
        "{printed}"
    );
    assert!(!path.exists());
}

#[test]
fn a_character_split_across_two_reads_is_shown_whole() {
    let dir = TempDir::new("l05-split");
    let path = dir.path("s.sock");
    let mut server = server_on(&path, &["--max-clients", "1"]);
    let mut conn = UnixStream::connect(&path).unwrap();
    let bytes = "我是".as_bytes();
    // All of 我 and the first byte of 是.
    conn.write_all(&bytes[..4]).unwrap();
    server.wait_for("not complete: reading on");
    conn.write_all(&bytes[4..]).unwrap();
    // Hang up only after the acknowledgement went out.
    server.wait_for(r#"send("你好，我已收到你的消息：我是")"#);
    drop(conn);
    let (status, printed, _) = server.wait();
    assert!(status.success(), "{printed}");
    assert!(
        printed.contains(r#"recv(1024) -> 4 bytes b'\xe6\x88\x91\xe6' = "我""#),
        "{printed}"
    );
    assert!(
        printed.contains(r#"send("你好，我已收到你的消息：我是")"#),
        "{printed}"
    );
    assert!(
        !printed.contains('�'),
        "a broken character was shown:\n{printed}"
    );
}

#[test]
fn invalid_utf8_is_shown_lossily_and_the_server_serves_on() {
    let dir = TempDir::new("l05-utf8");
    let path = dir.path("s.sock");
    let server = server_on(&path, &["--max-clients", "2"]);
    let mut conn = UnixStream::connect(&path).unwrap();
    conn.write_all(b"caf\xe9!").unwrap();
    drop(conn);
    let out = client_on(&path, "fine\n");
    assert!(out.status.success(), "{out:?}");
    let (status, printed, _) = server.wait();
    assert!(status.success(), "{printed}");
    assert!(printed.contains("1 invalid UTF-8 sequence(s)"), "{printed}");
    assert!(printed.contains(r#"= "caf�!""#), "{printed}");
    assert!(printed.contains(r#"= "fine""#), "{printed}");
}

#[test]
fn a_client_that_resets_does_not_stop_the_server() {
    let dir = TempDir::new("l05-reset");
    let path = dir.path("s.sock");
    let server = server_on(&path, &["--max-clients", "2"]);
    // Send a message and vanish without reading the acknowledgement.
    let mut conn = UnixStream::connect(&path).unwrap();
    conn.write_all(b"bye").unwrap();
    drop(conn);
    let out = client_on(&path, "next\n");
    assert!(out.status.success(), "{out:?}");
    assert!(server.wait().0.success());
}

#[test]
fn empty_and_oversized_lines_are_refused_by_the_client() {
    let dir = TempDir::new("l05-empty");
    let path = dir.path("s.sock");
    let server = server_on(&path, &["--max-clients", "1"]);
    let long = "长".repeat(400); // 1200 bytes
    let out = client_on(&path, &format!("\n{long}\nok\n"));
    assert!(out.status.success(), "{out:?}");
    assert!(out.stdout.contains("empty line not sent"), "{}", out.stdout);
    assert!(
        out.stdout.contains("line of 1200 bytes not sent"),
        "{}",
        out.stdout
    );
    assert_eq!(
        out.stdout.matches("client   │ send(").count(),
        1,
        "{}",
        out.stdout
    );
    let (_, printed, _) = server.wait();
    assert!(printed.contains(r#"= "ok""#), "{printed}");
}

#[test]
fn a_silent_client_is_hung_up_on_after_the_idle_timeout() {
    let dir = TempDir::new("l05-idle");
    let path = dir.path("s.sock");
    let mut server = server_on(&path, &["--idle-timeout", "1", "--max-clients", "1"]);
    let _silent = UnixStream::connect(&path).unwrap();
    server.wait_for("no message for 1 s: hanging up on this client");
    let (status, _, _) = server.wait();
    assert!(status.success());
    assert!(!path.exists());
}
