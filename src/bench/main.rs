//! # `cargo bench`: how fast is a socket?
//!
//! Drives each of lesson 11's servers (iterative, threads, epoll), a
//! minimal Rust echo server (the baseline: what loopback allows on this
//! machine) and two Python echo servers (the seeds' blocking style, and
//! `selectors`) with 1, 10, 100 and 1,000 concurrent ping-pong clients, then
//! holds 1,000 and 10,000 idle connections and reads each server's memory,
//! then times a burst of connects against listen(128) and listen(4096).
//!
//! Every result is reported as a ratio to the baseline measured in the same
//! run: absolute numbers depend on the machine and on what else it is doing.
//!
//! ```text
//! cargo bench --bench servers                    one run (about 20 s), the ratio tables
//! cargo bench --bench servers -- --runs 5        five runs; every cell is the median of five
//! cargo bench --bench servers -- --smoke         a few hundred round trips per server (CI)
//! cargo bench --bench servers -- --runs 5 --write-chart book/src/performance.svg
//! ```
//!
//! (`--bench servers` matters when passing options: a plain `cargo bench --
//! --smoke` would hand `--smoke` to the library's and binaries' test
//! harnesses too, which reject it. Plain `cargo bench` works.)
//!
//! The servers run as separate processes: the lesson's release binary
//! (cargo builds a package's binaries before running its benchmarks and
//! passes the path in `CARGO_BIN_EXE_<name>`), this program itself for the
//! baseline (`--serve-baseline`), and `python3` with the scripts in `tests/peers/`.
//! Only loopback traffic; every wait is bounded; the servers are killed at
//! the end.

mod load;
mod report;
mod servers;

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use servers::{BACKLOG, Kind, Programs};

/// What to run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub smoke: bool,
    pub runs: usize,
    pub clients: Vec<usize>,
    /// Round trips per scenario, shared out among its clients.
    pub round_trips: usize,
    pub idle: Vec<usize>,
    /// The burst of connects for the backlog measurement.
    pub burst: usize,
    pub patience: Duration,
}

impl Plan {
    fn new(smoke: bool, runs: usize) -> Plan {
        if smoke {
            Plan {
                smoke,
                runs,
                clients: vec![1, 10, 100],
                round_trips: 300,
                idle: vec![100],
                burst: 100,
                patience: Duration::from_secs(20),
            }
        } else {
            Plan {
                smoke,
                runs,
                clients: vec![1, 10, 100, 1000],
                round_trips: 60_000,
                idle: vec![1000, 10_000],
                burst: 1000,
                patience: Duration::from_secs(60),
            }
        }
    }
}

/// One scenario's numbers.
#[derive(Debug, Clone, Copy)]
pub struct Speed {
    pub per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
    /// The slowest round trip: for a server that serves one client at a
    /// time, the wait of the client served last.
    pub max: Duration,
    /// The server's CPU time (user + system) per round trip, µs. When the
    /// load generator, not the server, limits the rate, this still shows
    /// what each round trip costs the server.
    pub cpu_per_round_trip: f64,
    /// The part of it spent in the server's own code, not in the kernel.
    pub user_per_round_trip: f64,
    pub timed_out: bool,
}

/// Memory while holding idle connections.
#[derive(Debug, Clone)]
pub enum Memory {
    Held { rss_kib: u64, before_kib: u64 },
    Skipped(&'static str),
}

/// Everything one run measured.
#[derive(Debug, Default, Clone)]
pub struct Run {
    pub speed: BTreeMap<(usize, usize), Speed>,
    pub memory: BTreeMap<(usize, usize), Memory>,
    /// (backlog, connected, seconds) for the burst of connects.
    pub burst: Vec<(u32, usize, f64)>,
}

fn kind_index(kind: Kind) -> usize {
    Kind::ALL.iter().position(|k| *k == kind).unwrap_or(0)
}

const USAGE: &str = "\
usage: cargo bench --bench servers [-- OPTIONS]
  --smoke              a few hundred round trips per server (CI): proves it works
  --runs N             repeat the whole measurement N times; report medians (default 1)
  --write-chart PATH   write the results as an SVG chart
  --help               this text";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--serve-baseline") {
        let backlog = args.get(1).and_then(|b| b.parse().ok()).unwrap_or(128);
        return match servers::serve_baseline(backlog) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("baseline server: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let mut smoke = false;
    let mut runs = 1;
    let mut chart: Option<PathBuf> = None;
    let mut it = args.iter();
    let mut as_bench = false;
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--smoke" => smoke = true,
            // `cargo bench` passes --bench; `cargo test --benches` does not.
            "--bench" => as_bench = true,
            "--runs" => match it.next().and_then(|n| n.parse().ok()) {
                Some(n) if n >= 1 => runs = n,
                _ => return usage("--runs needs a number, 1 or more"),
            },
            "--write-chart" => match it.next() {
                Some(p) => chart = Some(PathBuf::from(p)),
                None => return usage("--write-chart needs a path"),
            },
            "--help" | "-h" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => return usage(&format!("unknown option {other:?}")),
        }
    }
    if !as_bench && !smoke {
        println!("(not run by `cargo bench`: running the smoke test only)");
        smoke = true;
    }
    match run_all(&Plan::new(smoke, runs), chart.as_deref()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("benchmark failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("{problem}\n{USAGE}");
    ExitCode::from(2)
}

/// Returns whether every scenario ran to the end.
fn run_all(plan: &Plan, chart: Option<&Path>) -> io::Result<bool> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fd_soft = raise_own_fd_limit()?;
    let need = plan.idle.iter().max().copied().unwrap_or(0) + 200;
    let programs = Programs {
        lesson: servers::lesson_binary()?,
        bench: std::env::current_exe()?,
        peers: manifest.join("tests/peers"),
    };
    let machine = report::Machine::describe(plan);
    println!("{}", machine.summary());
    if fd_soft < need as u64 {
        println!(
            "note: this process may open only {fd_soft} files (ulimit -n); idle rows above that are skipped"
        );
    }
    let mut results = Vec::new();
    let mut complete = true;
    for r in 1..=plan.runs {
        println!("\nrun {r} of {}:", plan.runs);
        let run = measure(plan, &programs, fd_soft, &mut complete)?;
        results.push(run);
    }
    let machine = machine.finish();
    let tables = report::Tables::new(plan, &results);
    println!("\n{}", tables.markdown(&machine));
    if let Some(path) = chart {
        std::fs::write(path, report::svg(plan, &tables, &machine))?;
        println!("chart written to {}", path.display());
    }
    if !complete {
        println!("some scenarios did not finish in time: see the lines marked (timed out)");
    }
    Ok(complete)
}

/// One full pass over every server and scenario.
fn measure(plan: &Plan, programs: &Programs, fd_soft: u64, complete: &mut bool) -> io::Result<Run> {
    let mut run = Run::default();
    for kind in Kind::ALL {
        let server = servers::start(kind, programs, BACKLOG)?;
        // Warm up: page in the code, let the first connection's costs pass.
        let deadline = Instant::now() + plan.patience;
        let warm = load::connect_many(server.addr, 1, deadline)?;
        let out = load::ping_pong(warm, 200, deadline, false)?;
        load::close_all(out.streams);
        for &n in &plan.clients {
            let rounds = (plan.round_trips / n).max(2);
            let deadline = Instant::now() + plan.patience;
            let streams = load::connect_many(server.addr, n, deadline)?;
            // One client: both ends on one core. Left to the scheduler, the
            // result depends on whether it happens to put the two processes
            // on the same core (a round trip of ~12 µs here) or not (~65 µs),
            // not on the server.
            let pinned = n == 1 && servers::pin(server.pid(), std::process::id(), Some(0));
            let cpu_before = servers::cpu_micros(server.pid())?;
            let out = load::ping_pong(streams, rounds, deadline, false)?;
            let cpu_after = servers::cpu_micros(server.pid())?;
            let rts = out.round_trips.max(1) as f64;
            let user = (cpu_after.0 - cpu_before.0) / rts;
            let system = (cpu_after.1 - cpu_before.1) / rts;
            if pinned {
                servers::pin(server.pid(), std::process::id(), None);
            }
            let speed = Speed {
                per_second: out.per_second(),
                p50: out.quantile(0.50),
                p99: out.quantile(0.99),
                max: out.quantile(1.0),
                cpu_per_round_trip: user + system,
                user_per_round_trip: user,
                timed_out: out.timed_out,
            };
            load::close_all(out.streams);
            *complete &= !speed.timed_out;
            println!(
                "  {:<32} {:>5} clients: {:>9.0} round trips/s  p50 {:>9.1?}  p99 {:>9.1?}  max {:>9.1?}  server CPU {:>4.1} µs/rt ({:.1} user){}",
                kind.label(),
                n,
                speed.per_second,
                speed.p50,
                speed.p99,
                speed.max,
                speed.cpu_per_round_trip,
                speed.user_per_round_trip,
                if speed.timed_out { "  (timed out)" } else { "" }
            );
            run.speed.insert((kind_index(kind), n), speed);
        }
        drop(server);
    }
    for kind in Kind::ALL {
        for &n in &plan.idle {
            let memory = if kind.one_at_a_time() {
                Memory::Skipped("serves one connection at a time")
            } else if kind.thread_per_connection() && n > 1000 {
                Memory::Skipped("capped: a thread per connection")
            } else if (n as u64) + 100 > fd_soft {
                Memory::Skipped("open-files limit too low")
            } else {
                hold_idle(kind, programs, n, plan.patience)?
            };
            if let Memory::Held {
                rss_kib,
                before_kib,
            } = memory
            {
                println!(
                    "  {:<32} {:>5} idle connections: RSS {:.1} MiB ({:.1} KiB per connection)",
                    kind.label(),
                    n,
                    rss_kib as f64 / 1024.0,
                    rss_kib.saturating_sub(before_kib) as f64 / n as f64
                );
            }
            run.memory.insert((kind_index(kind), n), memory);
        }
    }
    for backlog in [128, 4096] {
        let server = servers::start(Kind::Epoll, programs, backlog)?;
        let (connected, took) =
            load::connect_burst(server.addr, plan.burst, Instant::now() + plan.patience)?;
        println!(
            "  listen({backlog:<4}): {connected} of {} connects at once took {took:.2?} ({:.0}/s)",
            plan.burst,
            connected as f64 / took.as_secs_f64()
        );
        run.burst.push((backlog, connected, took.as_secs_f64()));
    }
    io::stdout().flush()?;
    Ok(run)
}

/// Open `n` connections, check each one is served (one round trip on every
/// connection at once), then read the server's resident memory.
fn hold_idle(kind: Kind, programs: &Programs, n: usize, patience: Duration) -> io::Result<Memory> {
    let server = servers::start(kind, programs, BACKLOG)?;
    let before_kib = server.rss_kib()?;
    let deadline = Instant::now() + patience;
    let streams = load::connect_many(server.addr, n, deadline)?;
    let out = load::ping_pong(streams, 1, deadline, true)?;
    if out.round_trips < n {
        return Err(io::Error::other(format!(
            "{} answered only {} of {n} idle connections",
            kind.label(),
            out.round_trips
        )));
    }
    let rss_kib = server.rss_kib()?;
    load::close_all(out.streams);
    let _ = server.pid();
    Ok(Memory::Held {
        rss_kib,
        before_kib,
    })
}

/// The soft limit on open files, raised to the hard limit if it is lower
/// than the idle test needs. Without nix's `resource` feature there is no
/// setrlimit here, so we start ourselves again through `sh -c 'ulimit -n'`.
fn raise_own_fd_limit() -> io::Result<u64> {
    let (soft, hard) = fd_limits()?;
    if soft < hard && soft < 10_300 && std::env::var_os("SOCKET_LESSONS_BENCH_ULIMIT").is_none() {
        use std::os::unix::process::CommandExt;
        let err = std::process::Command::new("sh")
            .arg("-c")
            .arg(r#"ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@""#)
            .arg(std::env::current_exe()?)
            .args(std::env::args().skip(1))
            .env("SOCKET_LESSONS_BENCH_ULIMIT", "1")
            .exec();
        return Err(err);
    }
    Ok(soft)
}

fn fd_limits() -> io::Result<(u64, u64)> {
    let limits = std::fs::read_to_string("/proc/self/limits")?;
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .ok_or_else(|| io::Error::other("no 'Max open files' in /proc/self/limits"))?;
    let nums: Vec<u64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    match nums.as_slice() {
        [soft, hard, ..] => Ok((*soft, *hard)),
        _ => Ok((1024, 1024)),
    }
}
