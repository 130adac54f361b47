//! # Lesson 05: sockets with a name in the file system (AF_UNIX)
//!
//! Seed 001 says there are two families of sockets: the network family
//! (AF_INET, named by an IP address and a port) and the *file-based* family,
//! AF_UNIX (基于文件类型的套接字家族), for processes on the same machine. An
//! AF_UNIX server binds a **path** instead of a port, and `bind()` creates a
//! special file there — `ls -l` shows it with the type letter `s`. A client
//! connects to that path. Everything else is the socket API you know:
//! socket, bind, listen, accept, connect, send, recv, close.
//!
//! The seed adds that these sockets "use the file system to fetch the data"
//! (调用的就是底层的文件系统来取数据). That is not so, and this lesson shows
//! it: the file is only a *name* where the two ends meet. Its size stays 0;
//! the bytes travel through kernel memory, never through the disk. Because
//! the name is a file, it behaves like one:
//!
//! * it outlives the server: a server that is killed leaves it behind, and
//!   the next `bind()` fails with "Address already in use". We find out
//!   whether anybody still listens (connect: refused means nobody) and only
//!   then remove it; a live server's path is never stolen, and a regular
//!   file is never deleted;
//! * its permissions decide who may connect (connecting needs write
//!   permission on the file), so we create it `rw-------`: owner only;
//! * Linux also has an *abstract namespace*: a name with no file at all.
//!
//! Two things AF_INET cannot do are shown as well: the server asks the
//! kernel who connected (`SO_PEERCRED`: the client's pid, uid and gid), and
//! `socketpair()` makes two already-connected sockets with no name at all.

use std::fmt;
use std::fs::{self, Permissions};
use std::io::{self, BufRead, Read, Write};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{SocketAddr, UnixDatagram, UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use nix::sys::socket::{getsockopt, sockopt};
use socket_lessons::cli::{Ready, WRITE_TIMEOUT};
use socket_lessons::explain::{self, Failure};
use socket_lessons::text::{Utf8Decoder, bytes_repr, quoted};
use socket_lessons::transcript::{self, Causality, Speaker};
use socket_lessons::{Context, Result, demo, finish, signals};
use socket2::{Domain, SockAddr, Socket, Type};

/// Lesson 05: AF_UNIX sockets — a server on a file-system path (the socket
/// file: its type `s`, its permissions, stale files and cleanup), the Linux
/// abstract namespace, datagrams, socketpair, and peer credentials
/// (SO_PEERCRED: which process connected).
///
/// With no subcommand, runs the demo: every part in one process.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Show every part in one process (the default).
    Demo,
    /// Listen on a socket file (or an abstract name); acknowledge every
    /// message; a client's `exit` ends its connection.
    Server {
        #[command(flatten)]
        place: PlaceArgs,
        /// Permissions of the socket file, in octal. Anyone who may write
        /// the file may connect, so the default lets only you in.
        #[arg(long, default_value = "0600", value_parser = parse_mode)]
        mode: u32,
        /// Stop after serving this many clients (default: serve until Ctrl-C).
        #[arg(long, value_name = "N")]
        max_clients: Option<usize>,
        /// Hang up on a client that sends nothing for this many seconds.
        #[arg(long, value_name = "SECS", default_value_t = 60)]
        idle_timeout: u64,
    },
    /// Connect, send each line read from stdin, print each reply.
    Client {
        #[command(flatten)]
        place: PlaceArgs,
    },
}

/// Where the server listens and the client connects.
#[derive(Args, Debug, Clone)]
struct PlaceArgs {
    /// The socket file's path (at most 107 bytes).
    #[arg(long, default_value_os_t = default_path())]
    path: PathBuf,
    /// Use this name in Linux's abstract namespace instead of a file
    /// (`socat - ABSTRACT-CONNECT:NAME` reaches it).
    #[arg(long = "abstract", value_name = "NAME", conflicts_with = "path")]
    abstract_name: Option<String>,
}

impl PlaceArgs {
    fn place(self) -> Place {
        match self.abstract_name {
            Some(name) => Place::Abstract(name),
            None => Place::File(self.path),
        }
    }
}

fn default_path() -> PathBuf {
    std::env::temp_dir().join("socket-lessons.sock")
}

fn parse_mode(text: &str) -> std::result::Result<u32, String> {
    let digits = text.trim_start_matches("0o");
    match u32::from_str_radix(digits, 8) {
        Ok(mode) if mode <= 0o777 => Ok(mode),
        _ => Err(format!(
            "{text:?} is not a file mode: give 3 or 4 octal digits, e.g. 0600 or 0660"
        )),
    }
}

/// An AF_UNIX address: a path in the file system, or a name in the abstract
/// namespace (shown `@name`, as `ss -x` shows it).
#[derive(Debug, Clone)]
enum Place {
    File(PathBuf),
    Abstract(String),
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::File(path) => write!(f, "{}", path.display()),
            Place::Abstract(name) => write!(f, "@{name}"),
        }
    }
}

impl Place {
    /// The client flags that reach this place.
    fn client_args(&self) -> String {
        match self {
            Place::File(path) if *path == default_path() => String::new(),
            Place::File(path) => format!("--path {}", path.display()),
            Place::Abstract(name) => format!("--abstract {name}"),
        }
    }
}

/// The server's settings.
#[derive(Debug, Clone)]
struct ServerOptions {
    mode: u32,
    max_clients: Option<usize>,
    idle_timeout: Duration,
}

fn main() -> ExitCode {
    finish(match Cli::parse().command.unwrap_or(Command::Demo) {
        Command::Demo => run_demo(),
        Command::Server {
            place,
            mode,
            max_clients,
            idle_timeout,
        } => {
            let options = ServerOptions {
                mode,
                max_clients,
                idle_timeout: Duration::from_secs(idle_timeout.max(1)),
            };
            serve_until_stopped(place.place(), options)
        }
        Command::Client { place } => talk(&place.place(), io::stdin().lock().lines()),
    })
}

/// The `server` subcommand: what the demo runs, plus a clean stop on Ctrl-C.
fn serve_until_stopped(place: Place, options: ServerOptions) -> Result<()> {
    let say = transcript::server();
    let our_file = OurSocketFile::default();
    // ANCHOR: cleanup_on_signal
    // Killed by Ctrl-C, the server would leave its socket file behind and
    // the next run would have to clean up after it. So SIGINT and SIGTERM
    // remove the file first (if we created it — never anybody else's).
    let on_signal = our_file.clone();
    let says = say.clone();
    signals::stop_cleanly_on_signals(&say, move || {
        if let Some(path) = on_signal.remove() {
            says.say(format!(
                "unlink({}): removed our socket file",
                path.display()
            ));
        }
    })?;
    // ANCHOR_END: cleanup_on_signal
    serve(
        place,
        &options,
        Ready::by_hand(env!("CARGO_BIN_NAME")),
        our_file,
    )
}

/// The socket file this server created, if any: the one file cleanup may
/// remove. Shared with the signal thread, which may remove it at any moment.
#[derive(Debug, Clone, Default)]
struct OurSocketFile(Arc<Mutex<Option<PathBuf>>>);

impl OurSocketFile {
    fn claim(&self, path: &Path) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(path.to_path_buf());
    }

    /// Remove the file if we created it and it is still there.
    fn remove(&self) -> Option<PathBuf> {
        let path = self.0.lock().unwrap_or_else(|p| p.into_inner()).take()?;
        fs::remove_file(&path).ok().map(|()| path)
    }
}

/// The server: listen, then serve clients one after the other. The socket
/// file is removed however this ends.
fn serve(
    place: Place,
    options: &ServerOptions,
    ready: Ready<Place>,
    our_file: OurSocketFile,
) -> Result<()> {
    let say = transcript::server();
    let result = listen_and_serve(&place, options, ready, &our_file, &say);
    // ANCHOR: cleanup
    // Python: os.unlink(path) — close() does not remove the file; if we
    // forget, it stays there, stale, until someone deletes it.
    if let Some(path) = our_file.remove() {
        say.say(format!(
            "unlink({}): removed our socket file",
            path.display()
        ));
    }
    // ANCHOR_END: cleanup
    result
}

fn listen_and_serve(
    place: &Place,
    options: &ServerOptions,
    ready: Ready<Place>,
    our_file: &OurSocketFile,
    say: &Speaker,
) -> Result<()> {
    let listener = match place {
        Place::File(path) => listen_on_path(path, options.mode, our_file, say)?,
        Place::Abstract(name) => listen_on_abstract_name(name, say)?,
    };
    ready.listening(say, place.clone(), &place.client_args());

    let mut served = 0;
    loop {
        // ANCHOR: accept
        // Python: conn, addr = server.accept()
        // `addr` is the client's name: for AF_UNIX almost always none at
        // all, because a client does not need to bind a path to connect.
        let (mut conn, peer) = listener.accept().context("accept()")?;
        say.accepted(
            &conn,
            format!("accept() -> a connection from {}", name_of(&peer)),
        );
        // ANCHOR_END: accept
        show_who_connected(&conn, say);
        // One silent or stuck client must not hold the server forever.
        let timeouts = conn
            .set_read_timeout(Some(options.idle_timeout))
            .and_then(|()| conn.set_write_timeout(Some(WRITE_TIMEOUT)))
            .context("set the connection's timeouts");
        let served_well =
            timeouts.and_then(|()| serve_one_client(&mut conn, options.idle_timeout, say));
        if let Err(failure) = served_well {
            say.warn(explain::one_line(&failure));
        }
        drop(conn);
        served += 1;
        if options.max_clients.is_some_and(|max| served >= max) {
            break;
        }
    }
    if let Place::File(path) = place {
        // The bytes went through kernel memory, not through this file.
        if let Ok(meta) = fs::symlink_metadata(path) {
            say.say(format!(
                "the socket file is still {} bytes: the messages never touched the disk",
                meta.len()
            ));
        }
    }
    say.closing(&listener, "close() the listening socket");
    drop(listener);
    Ok(())
}

/// socket, bind, chmod, listen on a path — after making sure the path is
/// ours to take.
fn listen_on_path(
    path: &Path,
    mode: u32,
    our_file: &OurSocketFile,
    say: &Speaker,
) -> Result<UnixListener> {
    // ANCHOR: path_checks
    check_path_fits(path)?;
    check_directory_exists(path)?;
    clear_stale_socket_file(path, say)?;
    // ANCHOR_END: path_checks

    // ANCHOR: bind_path
    // Python: server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    // socket2 rather than std's UnixListener::bind, because std does
    // socket + bind + listen in one call and we need a step in between.
    let socket = Socket::new(Domain::UNIX, Type::STREAM, None).context("socket()")?;
    say.say("socket(AF_UNIX, SOCK_STREAM, 0) -> a socket whose addresses are paths");

    // Python: server.bind('/tmp/socket-lessons.sock')
    // bind() creates the socket file. It fails with "Address already in use"
    // if *any* file is there already — even a stale socket file.
    let addr = SockAddr::unix(path).context(format!("make an address of {}", path.display()))?;
    socket
        .bind(&addr)
        .context(format!("bind {}", path.display()))?;
    our_file.claim(path);
    say.say(format!(
        "bind({}) -> the kernel created the socket file",
        path.display()
    ));
    // ANCHOR_END: bind_path

    // ANCHOR: permissions
    // Python: os.chmod(path, 0o600)
    // Connecting needs write permission on the socket file, so its mode is
    // the lock on the door: 0600 lets in only processes of our own user.
    // bind() created the file with 0777 minus the umask (often 0755), and
    // for the moment until this chmod the file had that mode. That moment is
    // harmless *because we have not called listen() yet*: until then every
    // connect() is refused whatever the mode. (The other way, setting the
    // umask around bind(), changes it for every thread of the process.)
    // The strongest protection is a directory only you can enter, as the
    // demo uses: then nobody else can even reach the file.
    fs::set_permissions(path, Permissions::from_mode(mode))
        .context(format!("chmod {mode:04o} {}", path.display()))?;
    say.say(format!("chmod({}, {mode:04o})", path.display()));
    say.say(ls_l(path)?);
    if mode & 0o022 != 0 {
        say.warn(format!(
            "mode {mode:04o} lets other users write the file, so they can connect"
        ));
    }

    // Python: server.listen(5)
    // Only now can clients connect.
    socket.listen(5).context("listen(5)")?;
    say.say("listen(5)");
    // ANCHOR_END: permissions
    Ok(socket.into())
}

// ANCHOR: path_fits
/// `struct sockaddr_un` holds the path in `char sun_path[108]`, and the
/// kernel wants a terminating NUL in it: 107 bytes at most. Python says
/// "AF_UNIX path too long", std "path must be shorter than SUN_LEN". Deep
/// directories (a long $TMPDIR) hit this sooner than you think.
const SUN_PATH_MAX: usize = 107;

fn check_path_fits(path: &Path) -> Result<()> {
    let len = path.as_os_str().len();
    if len > SUN_PATH_MAX {
        return Err(Failure {
            doing: format!(
                "put {} into sockaddr_un ({len} bytes, but sun_path[108] holds {SUN_PATH_MAX} + NUL)",
                path.display()
            ),
            error: io::Error::from_raw_os_error(nix::errno::Errno::ENAMETOOLONG as i32),
        });
    }
    Ok(())
}
// ANCHOR_END: path_fits

/// bind() creates the socket file, never the directories above it.
fn check_directory_exists(path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if dir.is_dir() {
        return Ok(());
    }
    Err(Failure::new(
        format!("bind {}", path.display()),
        io::ErrorKind::NotFound,
        format!(
            "the directory {} does not exist (bind() creates only the socket file, not the directories above it; create it first)",
            dir.display()
        ),
    ))
}

// ANCHOR: stale
/// Make the path free for bind(), but only by removing a *stale* socket
/// file: one that nobody listens on any more.
fn clear_stale_socket_file(path: &Path, say: &Speaker) -> Result<()> {
    let shown = path.display();
    // symlink_metadata, not metadata: a symbolic link is not ours to follow.
    let meta = match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        other => other.context(format!("look at {shown}"))?,
    };
    if !meta.file_type().is_socket() {
        // Never delete what is not a socket: it may be someone's data.
        return Err(Failure::new(
            format!("bind {shown}"),
            io::ErrorKind::AlreadyExists,
            format!(
                "it is a {}, not a socket: refusing to delete it",
                kind_of_file(&meta)
            ),
        ));
    }
    // Is anybody listening? Asking is the only reliable test: connect().
    match UnixStream::connect(path) {
        Ok(probe) => {
            drop(probe);
            Err(Failure::new(
                format!("bind {shown}"),
                io::ErrorKind::AddrInUse,
                "a server is listening on this path right now (connect() to it succeeded); \
                 refusing to take the path away from it — stop that server or use another --path",
            ))
        }
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            say.say(format!(
                "{shown} exists, and connect() to it -> ECONNREFUSED: nobody listens, \
                 it is a stale file left by a server that did not clean up"
            ));
            // Python: os.unlink(path)
            fs::remove_file(path).context(format!("remove the stale socket file {shown}"))?;
            say.say(format!("unlink({shown}): removed the stale socket file"));
            Ok(())
        }
        Err(e) => Err(e).context(format!(
            "connect to {shown} to find out whether a server still listens there"
        )),
    }
}
// ANCHOR_END: stale

fn kind_of_file(meta: &fs::Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_file() {
        "regular file"
    } else if t.is_dir() {
        "directory"
    } else if t.is_symlink() {
        "symbolic link"
    } else if t.is_fifo() {
        "named pipe"
    } else {
        "special file"
    }
}

// ANCHOR: ls_l
/// What `ls -l` would say about the socket file, read from its metadata.
fn ls_l(path: &Path) -> Result<String> {
    let meta = fs::symlink_metadata(path).context(format!("stat {}", path.display()))?;
    let kind = if meta.file_type().is_socket() {
        's'
    } else {
        '?'
    };
    let mode = meta.permissions().mode() & 0o777;
    let rwx: String = (0..9)
        .map(|i| {
            let bit = 0o400 >> i;
            match (mode & bit != 0, i % 3) {
                (false, _) => '-',
                (true, 0) => 'r',
                (true, 1) => 'w',
                (true, _) => 'x',
            }
        })
        .collect();
    // connect() needs write permission: the w bits say who may connect.
    let who = if mode & 0o002 != 0 {
        "any user may connect"
    } else if mode & 0o020 != 0 {
        "the owner and the file's group may connect"
    } else {
        "only the owner may connect"
    };
    Ok(format!(
        "ls -l: {kind}{rwx} uid {} size {}: type s = a socket; mode {mode:04o} = {who}",
        meta.uid(),
        meta.len(),
    ))
}
// ANCHOR_END: ls_l

// ANCHOR: abstract
/// The Linux abstract namespace: the address is a name that starts with a
/// NUL byte. No file is created, so nothing is left behind, but nothing
/// guards it either: file permissions do not apply, and any process in the
/// same network namespace may connect — check SO_PEERCRED instead.
fn listen_on_abstract_name(name: &str, say: &Speaker) -> Result<UnixListener> {
    // Python: server.bind('\0' + name)
    // (nix spells it UnixAddr::new_abstract(name.as_bytes()).)
    let addr = SocketAddr::from_abstract_name(name).context("make an abstract address")?;
    // std's bind_addr is socket() + bind() + listen(128) in one call; no
    // chmod to squeeze in, since there is no file.
    let listener = UnixListener::bind_addr(&addr).context(format!("bind @{name}"))?;
    say.say(format!(
        "socket(AF_UNIX, SOCK_STREAM, 0) + bind(@{name}) + listen(128): no file is created"
    ));
    Ok(listener)
}
// ANCHOR_END: abstract

// ANCHOR: peer_credentials
/// Ask the kernel which process is on the other end. It recorded the
/// client's pid, uid and gid when the client called connect(), so they
/// cannot be faked. AF_INET can only tell you an address and a port.
fn show_who_connected(conn: &UnixStream, say: &Speaker) {
    // Python: conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize('3i'))
    match getsockopt(conn, sockopt::PeerCredentials) {
        Ok(cred) => {
            let us = if u32::try_from(cred.pid()).ok() == Some(std::process::id()) {
                " — that is this very process"
            } else {
                ""
            };
            say.say(format!(
                "getsockopt(SO_PEERCRED) -> pid {}, uid {}, gid {}{us}",
                cred.pid(),
                cred.uid(),
                cred.gid()
            ));
        }
        Err(e) => say.warn(format!("getsockopt(SO_PEERCRED) failed: {e}")),
    }
}
// ANCHOR_END: peer_credentials

// ANCHOR: serve_one_client
/// Acknowledge every message until the client says `exit` or hangs up.
/// Each recv() is one message, as in the seeds.
fn serve_one_client(conn: &mut UnixStream, idle_timeout: Duration, say: &Speaker) -> Result<()> {
    let mut buf = [0u8; 1024];
    // A character's bytes may be split across two reads: the decoder keeps
    // an unfinished character until the rest arrives, and the message is
    // only complete when no character is left unfinished.
    let mut decoder = Utf8Decoder::new();
    let mut message = String::new();
    loop {
        // Python: data = conn.recv(1024)
        let n = match conn.read(&mut buf) {
            Ok(n) => n,
            // The read timeout set after accept(): Linux reports it as
            // EAGAIN (WouldBlock), not as TimedOut.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                say.warn(format!(
                    "no message for {} s: hanging up on this client",
                    idle_timeout.as_secs()
                ));
                return Ok(());
            }
            Err(e) => return Err(e).context("recv(1024)"),
        };
        if n == 0 {
            // Python: if not data: break
            say.hung_up(conn, "recv(1024) -> 0 bytes: the client hung up");
            if decoder.finish().invalid > 0 {
                say.warn("the client hung up in the middle of a character");
            }
            return Ok(());
        }
        let piece = decoder.push(&buf[..n]);
        say.received(
            conn,
            n,
            format!(
                "recv(1024) -> {n} bytes {} = {}",
                bytes_repr(&buf[..n]),
                quoted(&piece.text)
            ),
        );
        message += &piece.text;
        if piece.invalid > 0 {
            say.warn(format!(
                "{} invalid UTF-8 sequence(s), shown as �: these bytes are not text",
                piece.invalid
            ));
        }
        if piece.pending > 0 {
            say.note(format!(
                "the last {} byte(s) start a character that is not complete: reading on",
                piece.pending
            ));
            continue;
        }
        // One read is one message, as in the seeds. (A stream does not
        // promise that: lesson 07 shows why, and how to mark message ends.)
        let text = std::mem::take(&mut message);
        let text = text.trim_end_matches(['\r', '\n']);
        if text == "exit" {
            say.closing(conn, "\"exit\": close() this connection");
            return Ok(());
        }
        // Python: conn.sendall(f"你好，我已收到你的消息：{message}".encode('utf-8'))
        let reply = format!("你好，我已收到你的消息：{text}");
        conn.write_all(reply.as_bytes())
            .context("send the acknowledgement")?;
        say.sent(
            conn,
            reply.len(),
            format!("send({}) -> {} bytes", quoted(&reply), reply.len()),
        );
    }
}
// ANCHOR_END: serve_one_client

/// Longest line the client sends: the server reads 1024 bytes at a time,
/// and a longer message would arrive in pieces, each acknowledged on its own.
const MAX_MESSAGE: usize = 1024;

// ANCHOR: client
/// The client: connect, then send each line and print the reply.
fn talk(place: &Place, lines: impl IntoIterator<Item = io::Result<String>>) -> Result<()> {
    let say = transcript::client();

    // Python: client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    //         client.connect('/tmp/socket-lessons.sock')
    // A client need not bind: its end of the connection has no name.
    let mut stream = match place {
        Place::File(path) => {
            check_path_fits(path)?;
            UnixStream::connect(path)
        }
        Place::Abstract(name) => {
            SocketAddr::from_abstract_name(name).and_then(|addr| UnixStream::connect_addr(&addr))
        }
    }
    .context(format!("connect to {place}"))?;
    let me = stream.local_addr().context("getsockname()")?;
    say.connected(
        &stream,
        format!("connect({place}) -> connected; our end is {}", name_of(&me)),
    );

    for line in lines {
        let line = line.context("read a line from stdin")?;
        let message = line.trim_end_matches(['\r', '\n']);
        if message.is_empty() {
            say.warn(
                "empty line not sent: send(b'') sends nothing, and we would wait forever for a reply",
            );
            continue;
        }
        if message.len() > MAX_MESSAGE {
            say.warn(format!(
                "line of {} bytes not sent: the server reads {MAX_MESSAGE} bytes at a time \
                 and would answer each piece separately",
                message.len()
            ));
            continue;
        }
        // Python: client.sendall(message.encode('utf-8'))
        stream
            .write_all(message.as_bytes())
            .context("send the message")?;
        say.sent(
            &stream,
            message.len(),
            format!(
                "send({}) -> {} bytes",
                bytes_repr(message.as_bytes()),
                message.len()
            ),
        );
        // After `exit` the only answer is the server hanging up.
        match recv_reply(&mut stream, &say)? {
            Some(reply) => say.say(format!("the server replied {}", quoted(&reply))),
            None => return Ok(()),
        }
    }
    // Python: client.close()
    say.closing(&stream, "no more input: close()");
    drop(stream);
    Ok(())
}

/// One reply: read until the bytes end on a whole character. `None` when
/// the server hung up instead.
fn recv_reply(stream: &mut UnixStream, say: &Speaker) -> Result<Option<String>> {
    // Big enough for the acknowledgement of the longest message we send.
    let mut buf = [0u8; 4096];
    let mut decoder = Utf8Decoder::new();
    let mut reply = String::new();
    loop {
        let n = match stream.read(&mut buf) {
            Ok(n) => n,
            // A server that closes with our bytes still unread resets the
            // connection: the same hang-up, said rudely.
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => 0,
            Err(e) => return Err(e).context("recv(4096)"),
        };
        if n == 0 {
            say.hung_up(stream, "recv(4096) -> 0 bytes: the server hung up");
            say.closing(stream, "close()");
            return Ok(None);
        }
        say.received(stream, n, format!("recv(4096) -> {n} bytes"));
        let piece = decoder.push(&buf[..n]);
        reply += &piece.text;
        if piece.invalid > 0 {
            say.warn(format!(
                "{} invalid UTF-8 sequence(s) in the reply, shown as �",
                piece.invalid
            ));
        }
        if piece.pending == 0 {
            return Ok(Some(reply));
        }
    }
}
// ANCHOR_END: client

/// An AF_UNIX address as the transcript shows it.
fn name_of(addr: &SocketAddr) -> String {
    if let Some(path) = addr.as_pathname() {
        path.display().to_string()
    } else if let Some(name) = addr.as_abstract_name() {
        format!("@{}", String::from_utf8_lossy(name))
    } else {
        "(unnamed)".to_string()
    }
}

fn scripted(lines: &[&str]) -> Vec<io::Result<String>> {
    lines.iter().map(|l| Ok(l.to_string())).collect()
}

fn run_demo() -> Result<()> {
    // A fresh directory per run that only we may enter: the demo never
    // touches a server you started by hand, and nobody else can reach it.
    let dir = std::env::temp_dir().join(format!("socket-lessons-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .context(format!("create the demo directory {}", dir.display()))?;
    let result = run_demo_parts(&dir);
    let _ = fs::remove_dir_all(&dir);
    result?;
    demo::by_hand(env!("CARGO_BIN_NAME"), "", "");
    transcript::note(format!(
        "  (both use --path {}; look at it with `ls -l` while the server runs,",
        default_path().display()
    ));
    transcript::note(format!(
        "   or talk to it with `socat - UNIX-CONNECT:{}`)",
        default_path().display()
    ));
    Ok(())
}

fn run_demo_parts(dir: &Path) -> Result<()> {
    let options = ServerOptions {
        mode: 0o600,
        max_clients: Some(1),
        idle_timeout: Duration::from_secs(60),
    };

    transcript::note("part 1: a stream server whose address is a file");
    refuse_a_regular_file(dir, &options)?;
    let path = dir.join("server.sock");
    leave_a_stale_socket_file(&path)?;
    let opts = options.clone();
    demo::run(
        move |ready| serve(Place::File(path), &opts, ready, OurSocketFile::default()),
        |place| talk(&place, scripted(&["hello", "你好", "", "exit"])),
    )?;
    let gone = !dir.join("server.sock").exists();
    transcript::note(format!(
        "afterwards server.sock exists: {}",
        if gone { "no" } else { "yes (a bug!)" }
    ));

    transcript::note("part 2: the abstract namespace: an address with no file");
    let name = format!("socket-lessons-{}", std::process::id());
    demo::run(
        move |ready| {
            serve(
                Place::Abstract(name),
                &options,
                ready,
                OurSocketFile::default(),
            )
        },
        |place| talk(&place, scripted(&["no file here"])),
    )?;

    transcript::note("part 3: datagrams (SOCK_DGRAM): each message arrives whole and separate");
    exchange_datagrams(dir)?;

    transcript::note("part 4: socketpair(): two connected sockets, no names, no listen");
    talk_over_a_socketpair()
}

/// A path that holds a regular file is refused: the server must never
/// delete a file it did not create.
fn refuse_a_regular_file(dir: &Path, options: &ServerOptions) -> Result<()> {
    let path = dir.join("notes.txt");
    fs::write(&path, "my notes\n").context(format!("write {}", path.display()))?;
    transcript::note("what if --path names a regular file? (here: notes.txt, 9 bytes)");
    let (tx, _rx) = std::sync::mpsc::channel();
    let refused = serve(
        Place::File(path.clone()),
        options,
        Ready::channel(tx),
        OurSocketFile::default(),
    );
    if let Err(failure) = refused {
        transcript::server().warn(explain::one_line(&failure));
    }
    let left = fs::read(&path).map(|b| b.len()).unwrap_or(0);
    transcript::note(format!("notes.txt is untouched: still {left} bytes"));
    fs::remove_file(&path).context(format!("remove {}", path.display()))?;
    Ok(())
}

/// What a killed server leaves behind: a socket file nobody listens on.
fn leave_a_stale_socket_file(path: &Path) -> Result<()> {
    let old = UnixListener::bind(path).context(format!("bind {}", path.display()))?;
    drop(old);
    transcript::note(
        "first, a server that was killed: it bound server.sock and never removed it; the file stays",
    );
    Ok(())
}

// ANCHOR: datagrams
/// Two datagram sockets, each bound to its own file: no listen, no accept,
/// no connection — every send_to names the receiver's path.
fn exchange_datagrams(dir: &Path) -> Result<()> {
    let receiver_says = Speaker::new("receiver");
    let sender_says = Speaker::new("sender");
    let receiver_path = dir.join("receiver.sock");
    let sender_path = dir.join("sender.sock");
    let there = (
        sender_path.display().to_string(),
        receiver_path.display().to_string(),
    );
    let back = (there.1.clone(), there.0.clone());

    // Python: r = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); r.bind(path)
    let receiver =
        UnixDatagram::bind(&receiver_path).context(format!("bind {}", receiver_path.display()))?;
    receiver_says.say(format!(
        "socket(AF_UNIX, SOCK_DGRAM, 0) + bind({})",
        receiver_path.display()
    ));
    // The sender binds a path too: an unnamed sender could send, but the
    // receiver would have no address to answer to.
    let sender =
        UnixDatagram::bind(&sender_path).context(format!("bind {}", sender_path.display()))?;
    sender_says.say(format!(
        "socket(AF_UNIX, SOCK_DGRAM, 0) + bind({}), so that it can be answered",
        sender_path.display()
    ));

    for message in ["第一条", "second"] {
        // Python: s.sendto(message.encode('utf-8'), receiver_path)
        let n = sender
            .send_to(message.as_bytes(), &receiver_path)
            .context("sendto()")?;
        sender_says.event(
            format!(
                "sendto({}, {}) -> {n} bytes",
                bytes_repr(message.as_bytes()),
                receiver_path.display()
            ),
            Causality::Sends(there.clone(), 1),
        );
    }
    let mut buf = [0u8; 1024];
    let mut answer_to = None;
    for _ in 0..2 {
        // Python: data, addr = r.recvfrom(1024)
        let (n, from) = receiver.recv_from(&mut buf).context("recvfrom()")?;
        receiver_says.event(
            format!(
                "recvfrom(1024) -> {n} bytes {} from {}",
                quoted(&String::from_utf8_lossy(&buf[..n])),
                name_of(&from)
            ),
            Causality::NeedsSent(there.clone(), 1),
        );
        answer_to = from.as_pathname().map(Path::to_path_buf);
    }
    receiver_says.note("two sends, two receives: a datagram socket keeps message boundaries");
    if let Some(to) = answer_to {
        let n = receiver.send_to(b"got 2", &to).context("sendto()")?;
        receiver_says.event(
            format!("sendto(b'got 2', {}) -> {n} bytes", to.display()),
            Causality::Sends(back.clone(), 1),
        );
        let (n, from) = sender.recv_from(&mut buf).context("recvfrom()")?;
        sender_says.event(
            format!(
                "recvfrom(1024) -> {} from {}",
                bytes_repr(&buf[..n]),
                name_of(&from)
            ),
            Causality::NeedsSent(back, 1),
        );
    }
    // Datagram sockets leave their files behind just the same.
    drop((receiver, sender));
    for path in [&receiver_path, &sender_path] {
        fs::remove_file(path).context(format!("remove {}", path.display()))?;
    }
    receiver_says.say("close() both, unlink() both files");
    Ok(())
}
// ANCHOR_END: datagrams

// ANCHOR: socketpair
/// socketpair() returns two sockets already connected to each other — no
/// path, no listen, no accept. A parent process keeps one end and gives
/// the other to a child (or, here, to a thread).
fn talk_over_a_socketpair() -> Result<()> {
    let main_says = Speaker::new("main");
    let worker_says = Speaker::new("worker");
    // Both ends are unnamed, so the transcript cannot tell the directions
    // apart by address; name them ourselves.
    let to_worker: (String, String) = ("main's end".into(), "worker's end".into());
    let to_main = (to_worker.1.clone(), to_worker.0.clone());

    // The two threads print at once; record, then print in causal order.
    transcript::start_recording();
    // Python: a, b = socket.socketpair()
    let (mut main_end, mut worker_end) = UnixStream::pair().context("socketpair()")?;
    main_says.say("socketpair(AF_UNIX, SOCK_STREAM, 0) -> two connected sockets");
    let (in_worker, back_to_main) = (to_worker.clone(), to_main.clone());
    let worker = thread::spawn(move || -> Result<()> {
        let mut buf = [0u8; 1024];
        let n = worker_end.read(&mut buf).context("recv(1024)")?;
        worker_says.event(
            format!(
                "recv(1024) -> {n} bytes {}",
                quoted(&String::from_utf8_lossy(&buf[..n]))
            ),
            Causality::NeedsSent(in_worker.clone(), n),
        );
        worker_end.write_all(b"pong").context("send")?;
        worker_says.event(
            "send(b'pong') -> 4 bytes",
            Causality::Sends(back_to_main, 4),
        );
        let n = worker_end.read(&mut buf).context("recv(1024)")?;
        if n == 0 {
            worker_says.event(
                "recv(1024) -> 0 bytes: main closed its end",
                Causality::NeedsClose(in_worker),
            );
        }
        Ok(())
    });
    main_says.say("handed one end to a worker thread");

    let ping = "ping 你好";
    let talked = main_end
        .write_all(ping.as_bytes())
        .context("send")
        .and_then(|()| {
            main_says.event(
                format!("send({}) -> {} bytes", quoted(ping), ping.len()),
                Causality::Sends(to_worker.clone(), ping.len()),
            );
            let mut buf = [0u8; 1024];
            let n = main_end.read(&mut buf).context("recv(1024)")?;
            main_says.event(
                format!("recv(1024) -> {n} bytes {}", bytes_repr(&buf[..n])),
                Causality::NeedsSent(to_main, n),
            );
            main_says.event("close() our end", Causality::Closes(to_worker));
            drop(main_end);
            Ok(())
        });
    let worked = worker.join().unwrap_or_else(|_| {
        Err(Failure::new(
            "run the worker thread",
            io::ErrorKind::Other,
            "the worker thread panicked (a bug in the lesson: please report it)",
        ))
    });
    for line in transcript::stop_recording() {
        transcript::print_line(&line);
    }
    talked.and(worked)
}
// ANCHOR_END: socketpair
