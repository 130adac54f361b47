//! Turning an `io::Error` into a sentence a learner can act on.
//!
//! The operating system reports socket failures as a number, `errno`: 111 is
//! ECONNREFUSED, 98 is EADDRINUSE. Python turns those numbers into exceptions
//! (`ConnectionRefusedError`); Rust turns them into an `io::Error` whose
//! `kind()` is a portable category and whose `raw_os_error()` is the number
//! itself. Neither says *why* it happened or what to try next, and that is what
//! a beginner needs at two in the morning. This module supplies both.
//!
//! Every lesson's `main` ends in [`finish`], so no I/O failure ever reaches the
//! learner as a panic backtrace: it arrives as
//!
//! ```text
//! error: connect to 127.0.0.1:8888: Connection refused (os error 111) [ECONNREFUSED]
//!   why: nobody is listening at that address and port ...
//!   try: start the server first ...
//! ```

use std::fmt;
use std::io;
use std::process::ExitCode;

use colored::Colorize;

/// A failed step: what we were doing, and the error the OS gave us.
///
/// Lessons return `Result<T, Failure>` (see [`Result`]) and attach the step
/// with [`Context::context`], so the message says *which* call failed.
#[derive(Debug)]
pub struct Failure {
    /// What we were trying to do, e.g. "bind 127.0.0.1:8888".
    pub doing: String,
    /// What the operating system (or our own check) said.
    pub error: io::Error,
}

/// The result type every lesson function returns.
pub type Result<T, E = Failure> = std::result::Result<T, E>;

impl Failure {
    /// A failure that did not come from a system call, e.g. a peer that sent
    /// bytes we cannot accept.
    pub fn new(doing: impl Into<String>, kind: io::ErrorKind, message: impl Into<String>) -> Self {
        Failure {
            doing: doing.into(),
            error: io::Error::new(kind, message.into()),
        }
    }
}

impl From<io::Error> for Failure {
    fn from(error: io::Error) -> Self {
        Failure {
            doing: String::new(),
            error,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.doing.is_empty() {
            write!(f, "{}: ", self.doing)?;
        }
        write!(f, "{}", self.error)?;
        if let Some(name) = self.error.raw_os_error().and_then(errno_name) {
            write!(f, " [{name}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// Attach "what we were doing" to an `io::Result`, like anyhow's `context`.
pub trait Context<T> {
    /// `listener.bind(addr).context(format!("bind {addr}"))?`
    fn context(self, doing: impl Into<String>) -> Result<T>;
}

impl<T> Context<T> for io::Result<T> {
    fn context(self, doing: impl Into<String>) -> Result<T> {
        self.map_err(|error| Failure {
            doing: doing.into(),
            error,
        })
    }
}

impl<T> Context<T> for nix::Result<T> {
    fn context(self, doing: impl Into<String>) -> Result<T> {
        self.map_err(|errno| Failure {
            doing: doing.into(),
            error: io::Error::from(errno),
        })
    }
}

/// The symbolic name of an errno value, e.g. `111` -> `"ECONNREFUSED"`.
///
/// This is what C programmers and `man` pages call the error; showing it next
/// to Rust's message lets a learner search for it.
pub fn errno_name(code: i32) -> Option<String> {
    let errno = nix::errno::Errno::from_raw(code);
    match errno {
        nix::errno::Errno::UnknownErrno => None,
        known => Some(format!("{known:?}")),
    }
}

/// Why an error happened and what to try next, in one sentence each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// What the error means, in plain words.
    pub why: &'static str,
    /// The next step to try.
    pub next: &'static str,
}

/// Explain an I/O error. The errno is consulted first (it is precise), then
/// the portable `ErrorKind` (it also covers errors that have no errno, like a
/// timeout from `connect_timeout` or invalid UTF-8 from a peer).
pub fn explain(err: &io::Error) -> Explanation {
    use io::ErrorKind as K;
    let e = |why, next| Explanation { why, next };
    // A framing error (lesson 07) carries its own reason; its ErrorKind
    // (InvalidData, UnexpectedEof) alone would be mistaken for bad UTF-8.
    if let Some(framing) = crate::framing::framing_error(err) {
        return e(
            framing.why(),
            "send messages the way the server frames them: see `--framing` and lesson 07.",
        );
    }
    match err.raw_os_error() {
        Some(libc_errno::EADDRINUSE) => {
            return e(
                "another socket already owns this address: a server that is still running, or the previous run of this one (for TCP and UDP the address is the IP and port; for AF_UNIX it is the socket file's path).",
                "stop the other program (`ss -ltnp` lists TCP listeners, `ss -lxp` AF_UNIX ones), or choose another --port (0 lets the kernel pick) or --path.",
            );
        }
        Some(libc_errno::EPERM) => {
            return e(
                "the kernel refused the operation for lack of privilege: raw sockets (SOCK_RAW) need the CAP_NET_RAW capability, which ordinary users do not have.",
                "use SOCK_STREAM or SOCK_DGRAM, or run with the capability (e.g. `sudo`) if you really need raw packets.",
            );
        }
        Some(libc_errno::EACCES) => {
            return e(
                "permission denied: ports below 1024 need privilege, and an AF_UNIX socket file needs write permission on it (and search permission on its directory).",
                "use a port of 1024 or above, or check the socket file's owner and mode with `ls -l`.",
            );
        }
        Some(libc_errno::EAFNOSUPPORT) => {
            return e(
                "this machine does not support that address family (for example IPv6 is switched off).",
                "use an IPv4 address such as 127.0.0.1.",
            );
        }
        Some(libc_errno::ENAMETOOLONG) => {
            return e(
                "the AF_UNIX socket path is too long: sun_path holds at most 107 bytes plus the terminating NUL.",
                "use a shorter path, e.g. under /tmp.",
            );
        }
        Some(libc_errno::ENOTDIR) => {
            return e(
                "a component of the socket path is a regular file, not a directory.",
                "check the path you passed to --path.",
            );
        }
        Some(libc_errno::ENETUNREACH) | Some(libc_errno::EHOSTUNREACH) => {
            return e(
                "there is no route to that address from this machine.",
                "check the address; for these lessons 127.0.0.1 or ::1 always works.",
            );
        }
        _ => {}
    }
    match err.kind() {
        K::ConnectionRefused => e(
            "nobody is listening at that address and port: the kernel answered with a reset (TCP) or an ICMP \"port unreachable\" (UDP).",
            "start the server first, and make sure --host and --port match the address it printed.",
        ),
        K::ConnectionReset => e(
            "the peer reset the connection: it crashed, was killed, or closed its socket while data was still unread.",
            "nothing is wrong on this side; connect again if you want to go on talking.",
        ),
        K::ConnectionAborted => e(
            "the connection was aborted before it could be used.",
            "connect again.",
        ),
        K::BrokenPipe => e(
            "we wrote to a connection the peer had already closed, so the data had nowhere to go.",
            "check for the peer's hang-up (a read that returns 0 bytes) before writing again.",
        ),
        K::PermissionDenied => e(
            "the operating system refused permission for this socket operation.",
            "use a port of 1024 or above, or check the socket file's permissions with `ls -l`.",
        ),
        K::WouldBlock | K::TimedOut => e(
            "nothing arrived in time: a timeout expired, or a non-blocking socket had nothing ready yet.",
            "check that the peer is running and answering; a longer timeout (or a retry) may help.",
        ),
        K::AddrNotAvailable => e(
            "that IP address does not belong to any interface of this machine, so nothing can be bound to it (or no local port was free).",
            "bind 127.0.0.1 (this machine only) or an address that `ip addr` lists.",
        ),
        K::NotFound => e(
            "no such file or directory: a client's AF_UNIX socket path does not exist (the server is not running, or uses another path), or a server's socket file would go in a directory that does not exist.",
            "start the server first and pass the same --path to both ends; a server's --path must be in an existing directory.",
        ),
        K::AlreadyExists => e(
            "a file already exists at that path.",
            "remove it if it is yours, or choose another --path.",
        ),
        K::InvalidData => e(
            "the peer sent bytes that are not valid UTF-8 text, so they cannot be shown as a string.",
            "treat network data as bytes first; decode with String::from_utf8_lossy to see what arrived.",
        ),
        K::UnexpectedEof => e(
            "the peer hung up before sending everything we expected.",
            "check that the peer sends the whole message before closing.",
        ),
        K::InvalidInput => e(
            "an argument was rejected before anything was sent: for example an AF_UNIX path over 107 bytes, or a zero timeout.",
            "check the values you passed.",
        ),
        K::AddrInUse => e(
            "another socket already owns this address (a port, or an AF_UNIX socket file where a server is listening).",
            "stop the other program, or choose another --port or --path.",
        ),
        _ if err.to_string().contains("lookup address") || err.to_string().contains("resolve") => {
            e(
                "the host name could not be turned into an address (the lookup in /etc/hosts and DNS failed).",
                "use a numeric address such as 127.0.0.1 or ::1.",
            )
        }
        _ => e(
            "the operating system reported an error we have no special explanation for.",
            "look the error name up in `man 2` for the call that failed (e.g. `man 2 connect`).",
        ),
    }
}

/// A failure in one line, for a server that reports a client's failure and
/// goes on serving: `recv: Connection reset by peer (os error 104)
/// [ECONNRESET]: the peer reset the connection: …`.
pub fn one_line(failure: &Failure) -> String {
    format!("{failure} — {}", explain(&failure.error).why)
}

/// Print a failure the way every lesson does: the error line, then why and
/// what to try, on standard error.
pub fn report(failure: &Failure) {
    let Explanation { why, next } = explain(&failure.error);
    eprintln!("{} {failure}", "error:".red().bold());
    eprintln!("  {} {why}", "why:".bold());
    eprintln!("  {} {next}", "try:".bold());
}

/// End of every lesson's `main`: exit 0 on success, or explain and exit 1.
pub fn finish(result: Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            crate::transcript::flush_recording();
            report(&failure);
            ExitCode::FAILURE
        }
    }
}

/// The errno values we explain specially, by name (Linux numbering, via nix so
/// that they are right on every architecture).
mod libc_errno {
    use nix::errno::Errno;
    pub const EADDRINUSE: i32 = Errno::EADDRINUSE as i32;
    pub const EPERM: i32 = Errno::EPERM as i32;
    pub const EACCES: i32 = Errno::EACCES as i32;
    pub const EAFNOSUPPORT: i32 = Errno::EAFNOSUPPORT as i32;
    pub const ENAMETOOLONG: i32 = Errno::ENAMETOOLONG as i32;
    pub const ENOTDIR: i32 = Errno::ENOTDIR as i32;
    pub const ENETUNREACH: i32 = Errno::ENETUNREACH as i32;
    pub const EHOSTUNREACH: i32 = Errno::EHOSTUNREACH as i32;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_numbers_get_their_c_names() {
        assert_eq!(errno_name(111).as_deref(), Some("ECONNREFUSED"));
        assert_eq!(errno_name(98).as_deref(), Some("EADDRINUSE"));
        assert_eq!(errno_name(-5), None);
    }

    #[test]
    fn each_common_failure_has_its_own_explanation() {
        let cases = [
            io::Error::from_raw_os_error(98),
            io::Error::from_raw_os_error(111),
            io::Error::from_raw_os_error(104),
            io::Error::from_raw_os_error(32),
            io::Error::from_raw_os_error(1),
            io::Error::from_raw_os_error(13),
            io::Error::from_raw_os_error(11),
            io::Error::from_raw_os_error(99),
            io::Error::from_raw_os_error(2),
            io::Error::new(
                io::ErrorKind::InvalidData,
                "stream did not contain valid UTF-8",
            ),
            io::Error::new(io::ErrorKind::TimedOut, "connection timed out"),
        ];
        let whys: Vec<_> = cases.iter().map(|c| explain(c).why).collect();
        let generic = explain(&io::Error::other("?")).why;
        for (case, why) in cases.iter().zip(&whys) {
            assert_ne!(*why, generic, "no specific explanation for {case:?}");
        }
        // Timeouts and would-block share one explanation on purpose (Linux
        // reports a read timeout as EAGAIN); every other pair must differ.
        let mut distinct = whys.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), whys.len() - 1);
    }

    #[test]
    fn framing_errors_are_explained_as_framing_not_as_utf8() {
        let err: io::Error = crate::framing::FramingError::FrameTooBig {
            len: 1 << 31,
            cap: 16,
        }
        .into();
        assert!(
            explain(&err).why.contains("length prefix"),
            "{:?}",
            explain(&err)
        );
    }

    #[test]
    fn failure_display_names_the_step_and_the_errno() {
        let f = Err::<(), _>(io::Error::from_raw_os_error(111))
            .context("connect to 127.0.0.1:9")
            .unwrap_err();
        let text = f.to_string();
        assert!(text.starts_with("connect to 127.0.0.1:9: "), "{text}");
        assert!(text.ends_with("(os error 111) [ECONNREFUSED]"), "{text}");
    }
}
