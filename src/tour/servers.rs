//! Reference peers for the exercises where the student writes the server:
//! the checker starts it on a port it reserved, waits until it listens, then
//! plays clients — the seed's own Python client, and adversarial ones.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::report::Check;
use super::runner::{Running, Target};
use super::wire::{self, printed, shown};
use super::{Ctx, tcp_address};

/// How long one client step waits for an answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);

/// A student's server, running.
struct ServerUnderTest {
    program: Option<Running>,
    port: u16,
    /// Set once it is found dead: how it ended.
    gone: bool,
}

impl ServerUnderTest {
    /// Start it and wait until it listens on the port we gave it.
    fn start(ctx: &Ctx, checks: &mut Vec<Check>) -> Option<ServerUnderTest> {
        let name = "it listens on the port it is given";
        let port = match wire::free_port() {
            Ok(p) => p,
            Err(e) => {
                checks.push(Check::fail(
                    name,
                    format!("the checker found no free port: {e}"),
                ));
                return None;
            }
        };
        let (args, env) = tcp_address(([127, 0, 0, 1], port).into());
        let mut program = match ctx.spawn(&args, &env, Vec::new()) {
            Ok(p) => p,
            Err(e) => {
                checks.push(Check::fail(name, e));
                return None;
            }
        };
        if wire::wait_for_listener(port, &mut program, Instant::now() + ctx.limit) {
            checks.push(Check::pass(name, format!("listening on 127.0.0.1:{port}")));
            Some(ServerUnderTest {
                program: Some(program),
                port,
                gone: false,
            })
        } else {
            let f = program.wait_until(Instant::now());
            checks.push(Check::fail(
                name,
                format!(
                    "nothing listened on 127.0.0.1:{port} (passed as --host/--port) within {:.0} s; {}\nit printed:\n{}",
                    ctx.limit.as_secs_f64(),
                    f.how_it_ended(),
                    printed(&f.stdout)
                ),
            ));
            None
        }
    }

    /// Is it still running? If not: how it ended.
    fn died(&mut self) -> Option<String> {
        if self.gone {
            return Some("the server is gone (see above)".into());
        }
        let program = self.program.as_mut()?;
        if program.has_exited() {
            self.gone = true;
            let f = self.program.take()?.kill();
            return Some(format!("the server is gone: {}", f.how_it_ended()));
        }
        None
    }

    fn connect(&self) -> Result<TcpStream, String> {
        let s = TcpStream::connect(("127.0.0.1", self.port))
            .map_err(|e| format!("connect to the server: {e}"))?;
        let _ = s.set_read_timeout(Some(ANSWER_WITHIN));
        let _ = s.set_write_timeout(Some(ANSWER_WITHIN));
        let _ = s.set_nodelay(true);
        Ok(s)
    }

    /// Run one client step and turn its result into a check; a server that
    /// died during the step is reported as such.
    fn step(
        &mut self,
        checks: &mut Vec<Check>,
        name: &str,
        ok: &str,
        step: impl FnOnce(&Self) -> Result<(), String>,
    ) {
        if let Some(dead) = self.died() {
            checks.push(Check::fail(name, dead));
            return;
        }
        let result = step(self);
        if result.is_err() {
            // A server that crashed on this client may take a moment to go:
            // give it one, so the verdict names the crash, not its symptom.
            let until = Instant::now() + Duration::from_millis(500);
            while Instant::now() < until && self.program.as_mut().is_some_and(|p| !p.has_exited()) {
                thread::sleep(Duration::from_millis(10));
            }
        }
        checks.push(match (result, self.died()) {
            (Ok(()), None) => Check::pass(name, ok),
            (Ok(()), Some(dead)) => Check::fail(name, dead),
            (Err(e), Some(dead)) => Check::fail(name, format!("{e}\n{dead}")),
            (Err(e), None) => Check::fail(name, e),
        });
    }

    /// Stop it; a panic in any of its threads is a failure.
    fn stop(mut self, checks: &mut Vec<Check>) {
        let name = "it never panicked";
        let Some(program) = self.program.take() else {
            return;
        };
        let f = program.kill();
        checks.push(match f.panic_message() {
            Some(msg) => Check::fail(name, format!("a thread of the server panicked: {msg}")),
            None => Check::pass(name, "no panic in its output"),
        });
    }
}

/// Send `data`, expect the same bytes back (in any pieces).
fn echo(s: &mut TcpStream, data: &[u8]) -> Result<(), String> {
    s.write_all(data)
        .map_err(|e| format!("sending {}: {e}", shown(data)))?;
    expect_back(s, data)
}

/// Read exactly `data.len()` bytes (any chunking) and compare.
fn expect_back(s: &mut TcpStream, data: &[u8]) -> Result<(), String> {
    let mut got = Vec::new();
    let mut buf = vec![0u8; 65536];
    while got.len() < data.len() {
        match s.read(&mut buf) {
            Ok(0) => {
                return Err(format!(
                    "sent the wrong bytes: the server hung up early\nexpected: {}\ngot:      {}",
                    shown(data),
                    shown(&got)
                ));
            }
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(format!(
                    "no answer within {} s\nexpected: {}\ngot:      {}",
                    ANSWER_WITHIN.as_secs(),
                    shown(data),
                    shown(&got)
                ));
            }
            Err(e) => return Err(format!("reading the echo: {e}; got so far {}", shown(&got))),
        }
    }
    if got != data {
        return Err(format!(
            "sent the wrong bytes\nexpected: {}\ngot:      {}",
            shown(data),
            shown(&got)
        ));
    }
    Ok(())
}

/// Wait for the server to close the connection (read returns 0).
fn expect_close(s: &mut TcpStream) -> Result<(), String> {
    let mut buf = [0u8; 1024];
    match s.read(&mut buf) {
        Ok(0) => Ok(()),
        Ok(n) => Err(format!(
            "expected the server to hang up, but it sent {}",
            shown(&buf[..n])
        )),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            Err(format!(
                "did not close: the client half-closed (shutdown(Write)) and got its echo, but the server kept the \
             connection open for {} s; a read of 0 bytes means the client is done: close the connection",
                ANSWER_WITHIN.as_secs()
            ))
        }
        Err(e) => Err(format!("waiting for the server to hang up: {e}")),
    }
}

/// Connect, send a little, then reset (SO_LINGER 0 + close sends RST).
fn reset_mid_message(server: &ServerUnderTest) -> Result<(), String> {
    let s = server.connect()?;
    (&s).write_all(b"half a mess").map_err(|e| e.to_string())?;
    wire::wait_until_read(&s, Duration::from_secs(1));
    socket2::SockRef::from(&s)
        .set_linger(Some(Duration::ZERO))
        .map_err(|e| e.to_string())?;
    drop(s);
    Ok(())
}

// ---------------------------------------------------------------- exercise03

/// Exercise 03 (seed 004, lesson 03): an echo server that serves clients one
/// after another, survives `exit`, half-closes and resets.
pub fn exercise03(ctx: &Ctx) -> Vec<Check> {
    let mut checks = Vec::new();
    let Some(mut server) = ServerUnderTest::start(ctx, &mut checks) else {
        return checks;
    };
    seed004_client(&mut server, &mut checks);
    echo_steps(&mut server, &mut checks);
    server.stop(&mut checks);
    checks
}

/// The steps every echo server must survive (exercises 03 and 06).
fn echo_steps(server: &mut ServerUnderTest, checks: &mut Vec<Check>) {
    server.step(
        checks,
        "a client sends 'hello' and gets it back",
        "echoed b'hello'",
        |srv| echo(&mut srv.connect()?, b"hello"),
    );
    server.step(
        checks,
        "a client writes 'ping' in 1-byte pieces",
        "echoed b'ping'",
        |srv| {
            let mut s = srv.connect()?;
            for b in b"ping".chunks(1) {
                s.write_all(b).map_err(|e| e.to_string())?;
                // The server reads each byte before the next one is sent.
                wire::wait_until_read(&s, Duration::from_secs(2));
            }
            expect_back(&mut s, b"ping")
        },
    );
    server.step(
        checks,
        "a client writes 1 MiB in one piece",
        "echoed all 1048576 bytes",
        |srv| {
            let mut s = srv.connect()?;
            let data: Vec<u8> = (0..1024 * 1024u32).map(|i| (i % 251) as u8).collect();
            let mut writer = s.try_clone().map_err(|e| e.to_string())?;
            let copy = data.clone();
            // Write and read at the same time: an echo of 1 MiB does not fit in
            // the socket buffers, so writing everything first would deadlock.
            let w = thread::spawn(move || writer.write_all(&copy));
            let result = expect_back(&mut s, &data);
            let _ = s.shutdown(Shutdown::Both);
            let _ = w.join();
            result
        },
    );
    server.step(
        checks,
        "a client half-closes after 'bye'",
        "echoed b'bye', then hung up",
        |srv| {
            let mut s = srv.connect()?;
            s.write_all(b"bye").map_err(|e| e.to_string())?;
            s.shutdown(Shutdown::Write).map_err(|e| e.to_string())?;
            expect_back(&mut s, b"bye")?;
            expect_close(&mut s)
        },
    );
    server.step(
        checks,
        "a client sends 'exit' and closes, as seed 004's client does",
        "the server went on",
        |srv| {
            let mut s = srv.connect()?;
            s.write_all(b"exit").map_err(|e| e.to_string())?;
            drop(s);
            Ok(())
        },
    );
    server.step(
        checks,
        "a client resets the connection mid-message",
        "the server went on",
        reset_mid_message,
    );
    server.step(
        checks,
        "the next client is still served",
        "echoed b'still there?'",
        |srv| echo(&mut srv.connect()?, b"still there?"),
    );
}

/// Seed 004's own client (Python): messages, then `exit`.
fn seed004_client(server: &mut ServerUnderTest, checks: &mut Vec<Check>) {
    let name = "seed 004's Python client talks to it (hello, 你好, exit)";
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/seed004_client.py");
    let python = Command::new("python3")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !script.exists() || !python.is_ok_and(|s| s.success()) {
        checks.push(Check::skip(
            name,
            "python3 or tests/peers/seed004_client.py is not available here",
        ));
        return;
    }
    let port = server.port;
    server.step(
        checks,
        name,
        "it printed both replies and quit on 'exit'",
        move |_| {
            let client = Target {
                program: "python3".into(),
                args: vec!["-u".into(), script.display().to_string()],
            };
            let run = client
                .spawn(
                    &[port.to_string()],
                    &[],
                    "hello\n你好\nexit\n".as_bytes().to_vec(),
                )
                .map_err(|e| format!("start python3: {e}"))?;
            let f = run.wait_until(Instant::now() + ANSWER_WITHIN * 2);
            for want in ["收到回应：hello", "收到回应：你好"] {
                if !f.stdout.contains(want) {
                    return Err(format!(
                        "expected seed 004's client to print {want:?}\ngot:\n{}\nits stderr:\n{}",
                        printed(&f.stdout),
                        printed(&f.stderr)
                    ));
                }
            }
            if !f.succeeded() {
                return Err(format!(
                    "seed 004's client did not finish cleanly: {}",
                    f.how_it_ended()
                ));
            }
            Ok(())
        },
    );
}

// ---------------------------------------------------------------- exercise06

/// Exercise 06 (lesson 03 -> lesson 11): the echo server, two clients at once.
pub fn exercise06(ctx: &Ctx) -> Vec<Check> {
    let mut checks = Vec::new();
    let Some(mut server) = ServerUnderTest::start(ctx, &mut checks) else {
        return checks;
    };
    let mut a: Option<TcpStream> = None;
    server.step(
        &mut checks,
        "client A connects and is answered",
        "echoed b'A1'",
        |srv| {
            let mut s = srv.connect()?;
            echo(&mut s, b"A1")?;
            a = Some(s);
            Ok(())
        },
    );
    let mut b: Option<TcpStream> = None;
    server.step(
        &mut checks,
        "client B is answered while client A stays connected",
        "both clients are served at the same time",
        |srv| {
            let mut s = srv.connect()?;
            echo(&mut s, b"B1").map_err(|e| {
                format!(
                    "{e}\nclient B connected (the kernel queued it) but got no answer while client A was \
                     still connected: the server is serving one client at a time. \
                     Serve each client in its own thread"
                )
            })?;
            b = Some(s);
            Ok(())
        },
    );
    server.step(
        &mut checks,
        "client A is still answered after B",
        "echoed b'A2'",
        |_| match a.as_mut() {
            Some(s) => echo(s, b"A2"),
            None => Err("client A is not connected (see above)".into()),
        },
    );
    server.step(
        &mut checks,
        "a third client resets mid-message while A and B are connected",
        "the others go on",
        reset_mid_message,
    );
    server.step(
        &mut checks,
        "client B is still answered",
        "echoed b'B2'",
        |_| match b.as_mut() {
            Some(s) => echo(s, b"B2"),
            None => Err("client B is not connected (see above)".into()),
        },
    );
    drop((a, b));
    echo_steps(&mut server, &mut checks);
    server.stop(&mut checks);
    checks
}
