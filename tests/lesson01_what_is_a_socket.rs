//! Lesson 01: what a socket is — demo snapshot, the fds really are sockets,
//! SOCK_RAW refused without privilege, one owner per ip + port.

mod common;

use std::io;
use std::process::Command;

use common::*;
use socket_lessons::explain::explain;

const BIN: &str = env!("CARGO_BIN_EXE_lesson01_what_is_a_socket");

/// Does this (test) process hold CAP_NET_RAW? The lesson run from here
/// inherits the same capabilities.
fn has_cap_net_raw() -> bool {
    status_field("CapEff:")
        .and_then(|hex| u64::from_str_radix(&hex, 16).ok())
        .is_some_and(|mask| mask & (1 << 13) != 0)
}

/// Is the effective uid 0? (`Uid:` lists real, effective, saved, fs.)
fn is_root() -> bool {
    status_field("Uid:").is_some_and(|ids| ids.split_whitespace().nth(1) == Some("0"))
}

fn status_field(name: &str) -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .map(|v| v.trim().to_string())
}

#[test]
fn demo_transcript() {
    let out = demo_output(BIN);
    // The SOCK_RAW line depends on privilege; the book shows the run with
    // CAP_NET_RAW (root, as in CI). Without it, check the other outcome.
    if !has_cap_net_raw() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI runs as root with CAP_NET_RAW; this run has no CAP_NET_RAW");
        }
        eprintln!(
            "\n*** SKIPPED the snapshot comparison: no CAP_NET_RAW here, so the SOCK_RAW lines \
             differ from the book's (root) transcript. Checked the EPERM outcome instead. ***\n"
        );
        assert!(out.contains("error EPERM (errno 1)"), "{out}");
        return;
    }
    snapshot_settings().bind(|| insta::assert_snapshot!("lesson01_what_is_a_socket", out));
}

/// `socket:[123]` -> `123`, for every "-> fd N -> socket:[inode]" line.
fn socket_inodes(out: &str) -> Vec<u64> {
    out.lines()
        .filter(|l| l.contains("-> fd "))
        .filter_map(|l| l.split("socket:[").nth(1))
        .map(|rest| {
            rest.split(']')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("not an inode in {rest:?}"))
        })
        .collect()
}

#[test]
fn every_socket_fd_really_links_to_a_socket_inode() {
    let out = demo_output(BIN);
    let inodes = socket_inodes(&out);
    // Six everyday kinds (AF_INET, AF_INET6, AF_UNIX x STREAM, DGRAM),
    // plus the raw socket when we may make one.
    let expected = if has_cap_net_raw() { 7 } else { 6 };
    assert_eq!(inodes.len(), expected, "{out}");
    // The first six are open at the same time: six different sockets.
    let mut first_six = inodes[..6].to_vec();
    first_six.sort();
    first_six.dedup();
    assert_eq!(
        first_six.len(),
        6,
        "sockets open at once share an inode?\n{out}"
    );
    // The link was read, not typed: the file's fd links to the file.
    assert!(
        out.contains(r#"open("/dev/null") -> fd "#) && out.contains(" -> /dev/null"),
        "{out}"
    );
    // And the kernel's answers came back: protocol 0 became TCP and UDP.
    assert!(
        out.contains("SO_PROTOCOL IPPROTO_TCP: protocol 0 meant TCP"),
        "{out}"
    );
    assert!(
        out.contains("SO_PROTOCOL IPPROTO_UDP: protocol 0 meant UDP"),
        "{out}"
    );
}

#[test]
fn sock_raw_without_cap_net_raw_is_eperm_explained() {
    let out = if is_root() {
        if !tool("setpriv") {
            return;
        }
        // Run the lesson as user nobody: no capabilities at all.
        run(
            Command::new("setpriv")
                .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(BIN),
            b"",
        )
    } else {
        // Not root: the lesson already runs without CAP_NET_RAW.
        run(&mut Command::new(BIN), b"")
    };
    assert!(out.status.success(), "{out:?}");
    assert!(
        out.stdout.contains("CAP_NET_RAW (bit 13) is not set"),
        "{}",
        out.stdout
    );
    // Compare the errno itself: Rust's ErrorKind::PermissionDenied covers
    // both EPERM (no privilege) and EACCES (file permissions).
    assert!(
        out.stdout
            .contains("socket(AF_INET, SOCK_RAW, IPPROTO_ICMP) -> error EPERM (errno 1)"),
        "{}",
        out.stdout
    );
    let why = explain(&io::Error::from_raw_os_error(1)).why;
    assert!(
        out.stdout.contains(&format!("why: {why}")),
        "{}",
        out.stdout
    );
    // Protocol 0 is refused for everyone, privileged or not.
    assert!(
        out.stdout
            .contains("socket(AF_INET, SOCK_RAW, 0) -> error EPROTONOSUPPORT (errno 93)"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_second_bind_to_the_same_address_is_eaddrinuse_explained() {
    let out = demo_output(BIN);
    let bind_lines: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("bind(fd ") && l.contains("127.0.0.1:"))
        .collect();
    // The UDP bind and the second TCP bind use the address getsockname gave.
    let port_of = |l: &str| {
        l.split("127.0.0.1:")
            .nth(1)
            .and_then(|r| r.split(')').next())
            .map(str::to_string)
    };
    assert_eq!(bind_lines.len(), 2, "{out}");
    assert_eq!(port_of(bind_lines[0]), port_of(bind_lines[1]), "{out}");
    assert!(bind_lines[0].contains("-> ok: UDP port"), "{out}");
    assert!(
        bind_lines[1].contains("-> error EADDRINUSE (errno 98): Address already in use"),
        "{out}"
    );
    // The explanation is the library's, whatever its current wording.
    let why = explain(&io::Error::from_raw_os_error(98)).why;
    assert!(out.contains(&format!("why: {why}")), "{out}");
}

#[test]
fn help_says_what_the_lesson_teaches() {
    let out = run(Command::new(BIN).arg("--help"), b"");
    assert!(out.status.success());
    assert!(
        out.stdout.contains("(domain, type, protocol)"),
        "{}",
        out.stdout
    );
}
