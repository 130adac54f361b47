//! Turning runs into ratios: medians, the markdown tables, the SVG chart.

use std::fmt::Write as _;
use std::process::Command;
use std::time::Duration;

use crate::servers::Kind;
use crate::{Memory, Plan, Run, kind_index};

/// The machine the numbers came from, and how busy it was.
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub kernel: String,
    pub rustc: String,
    pub python: String,
    pub date: String,
    pub load_before: String,
    pub load_after: String,
    pub runs: usize,
    pub smoke: bool,
}

fn first_line(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .map(|o| {
            let text = if o.stdout.is_empty() {
                o.stderr
            } else {
                o.stdout
            };
            String::from_utf8_lossy(&text)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        })
        .unwrap_or_else(|| "?".into())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

impl Machine {
    pub fn describe(plan: &Plan) -> Machine {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|c| {
                c.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split(':').nth(1))
                    .map(|m| m.trim().to_string())
            })
            .unwrap_or_else(|| "?".into());
        Machine {
            cpu,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|k| k.trim().to_string())
                .unwrap_or_else(|_| "?".into()),
            rustc: first_line("rustc", &["-V"]),
            python: first_line("python3", &["-V"]),
            date: first_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
            load_before: load_average(),
            load_after: String::new(),
            runs: plan.runs,
            smoke: plan.smoke,
        }
    }

    pub fn finish(mut self) -> Machine {
        self.load_after = load_average();
        self
    }

    pub fn summary(&self) -> String {
        format!(
            "machine: {} ({} cores), Linux {}, {}, {}; load average {}",
            self.cpu, self.cores, self.kernel, self.rustc, self.python, self.load_before
        )
    }

    fn footer(&self) -> String {
        format!(
            "{} | {} cores | Linux {} | {} | {} | {} | {} run(s), medians | load average {} before, {} after",
            self.cpu,
            self.cores,
            self.kernel,
            self.rustc,
            self.python,
            self.date,
            self.runs,
            self.load_before,
            self.load_after
        )
    }
}

/// The median of some numbers (NaN when there are none).
fn median(mut xs: Vec<f64>) -> f64 {
    xs.retain(|x| x.is_finite());
    if xs.is_empty() {
        return f64::NAN;
    }
    xs.sort_by(|a, b| a.total_cmp(b));
    let m = xs.len() / 2;
    if xs.len() % 2 == 1 {
        xs[m]
    } else {
        (xs[m - 1] + xs[m]) / 2.0
    }
}

/// One cell of a ratio table.
#[derive(Clone, Copy)]
pub struct Cell {
    pub ratio: f64,
    pub timed_out: bool,
}

/// Every number the report shows, already reduced to medians over runs.
pub struct Tables {
    pub clients: Vec<usize>,
    pub idle: Vec<usize>,
    /// [kind][client count index]
    pub throughput: Vec<Vec<Cell>>,
    pub p50: Vec<Vec<Cell>>,
    pub p99: Vec<Vec<Cell>>,
    pub max: Vec<Vec<Cell>>,
    pub cpu: Vec<Vec<Cell>>,
    /// The baseline's absolute numbers: round trips/s, p50, p99, max and
    /// server CPU per round trip (µs).
    pub baseline: Vec<(f64, f64, f64, f64, f64)>,
    /// [kind][idle count index]: RSS in MiB and KiB per connection, or why not.
    pub memory: Vec<Vec<Result<(f64, f64), &'static str>>>,
    /// Server CPU per round trip at 100 clients (or the most there are up
    /// to 100): [kind] (user µs, system µs), and that client count.
    pub cpu_split: Vec<(f64, f64)>,
    pub cpu_split_clients: usize,
    /// (backlog, connects per second, seconds)
    pub burst: Vec<(u32, f64, f64)>,
    pub burst_size: usize,
    pub goals: Vec<Goal>,
}

pub struct Goal {
    pub what: String,
    pub measured: String,
    pub met: Option<bool>,
    /// Not a goal: a number that explains one.
    pub info: bool,
}

fn speed_ratio(runs: &[Run], k: usize, n: usize, f: impl Fn(&crate::Speed) -> f64) -> Cell {
    let b = kind_index(Kind::Baseline);
    let ratios = runs
        .iter()
        .filter_map(|r| Some(f(r.speed.get(&(k, n))?) / f(r.speed.get(&(b, n))?)))
        .collect();
    Cell {
        ratio: median(ratios),
        timed_out: runs
            .iter()
            .any(|r| r.speed.get(&(k, n)).is_some_and(|s| s.timed_out)),
    }
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

impl Tables {
    pub fn new(plan: &Plan, runs: &[Run]) -> Tables {
        let clients = plan.clients.clone();
        let table = |f: &dyn Fn(&crate::Speed) -> f64| -> Vec<Vec<Cell>> {
            (0..Kind::ALL.len())
                .map(|k| {
                    clients
                        .iter()
                        .map(|&n| speed_ratio(runs, k, n, f))
                        .collect()
                })
                .collect()
        };
        let throughput = table(&|s| s.per_second);
        let p50 = table(&|s| micros(s.p50));
        let p99 = table(&|s| micros(s.p99));
        let max = table(&|s| micros(s.max));
        let cpu = table(&|s| s.cpu_per_round_trip);
        let b = kind_index(Kind::Baseline);
        let baseline = clients
            .iter()
            .map(|&n| {
                let col = |f: &dyn Fn(&crate::Speed) -> f64| {
                    median(
                        runs.iter()
                            .filter_map(|r| r.speed.get(&(b, n)).map(f))
                            .collect(),
                    )
                };
                (
                    col(&|s| s.per_second),
                    col(&|s| micros(s.p50)),
                    col(&|s| micros(s.p99)),
                    col(&|s| micros(s.max)),
                    col(&|s| s.cpu_per_round_trip),
                )
            })
            .collect();
        let memory = (0..Kind::ALL.len())
            .map(|k| {
                plan.idle
                    .iter()
                    .map(|&n| {
                        let mut why = "not measured";
                        let mut mib = Vec::new();
                        let mut per = Vec::new();
                        for r in runs {
                            match r.memory.get(&(k, n)) {
                                Some(Memory::Held {
                                    rss_kib,
                                    before_kib,
                                }) => {
                                    mib.push(*rss_kib as f64 / 1024.0);
                                    per.push(rss_kib.saturating_sub(*before_kib) as f64 / n as f64);
                                }
                                Some(Memory::Skipped(reason)) => why = reason,
                                None => {}
                            }
                        }
                        if mib.is_empty() {
                            Err(why)
                        } else {
                            Ok((median(mib), median(per)))
                        }
                    })
                    .collect()
            })
            .collect();
        let burst = [128u32, 4096]
            .iter()
            .map(|&backlog| {
                let pick = |f: &dyn Fn(&(u32, usize, f64)) -> f64| {
                    median(
                        runs.iter()
                            .flat_map(|r| r.burst.iter().filter(|b| b.0 == backlog).map(f))
                            .collect(),
                    )
                };
                (backlog, pick(&|b| b.1 as f64 / b.2), pick(&|b| b.2))
            })
            .collect();
        let split_n = clients
            .iter()
            .copied()
            .filter(|&n| n <= 100)
            .max()
            .unwrap_or(1);
        let cpu_split = (0..Kind::ALL.len())
            .map(|k| {
                let of = |f: &dyn Fn(&crate::Speed) -> f64| {
                    median(
                        runs.iter()
                            .filter_map(|r| r.speed.get(&(k, split_n)).map(f))
                            .collect(),
                    )
                };
                let user = of(&|s| s.user_per_round_trip);
                (user, of(&|s| s.cpu_per_round_trip) - user)
            })
            .collect();
        let mut tables = Tables {
            cpu_split,
            cpu_split_clients: split_n,
            clients,
            idle: plan.idle.clone(),
            throughput,
            p50,
            p99,
            max,
            cpu,
            baseline,
            memory,
            burst,
            burst_size: plan.burst,
            goals: Vec::new(),
        };
        tables.goals = goals(plan, runs, &tables);
        tables
    }

    fn column_of(&self, n: usize) -> Option<usize> {
        self.clients.iter().position(|&c| c == n)
    }

    pub fn markdown(&self, machine: &Machine) -> String {
        let mut out = String::new();
        let header = |out: &mut String, first: &str, cols: &[String]| {
            let _ = writeln!(out, "| {first} | {} |", cols.join(" | "));
            let _ = writeln!(out, "|---|{}", "---:|".repeat(cols.len()));
        };
        let cols: Vec<String> = self
            .clients
            .iter()
            .map(|&n| {
                format!(
                    "{} client{}",
                    thousands(n as f64),
                    if n == 1 { "" } else { "s" }
                )
            })
            .collect();
        for (title, table, better) in [
            (
                "Round trips per second",
                &self.throughput,
                "higher is better",
            ),
            ("Median latency (p50)", &self.p50, "lower is better"),
            (
                "99th-percentile latency (p99)",
                &self.p99,
                "lower is better",
            ),
            ("Slowest round trip (max)", &self.max, "lower is better"),
            (
                "Server CPU time per round trip",
                &self.cpu,
                "lower is better",
            ),
        ] {
            let _ = writeln!(out, "**{title}, as a ratio to the baseline** ({better})\n");
            header(&mut out, "server", &cols);
            for (k, kind) in Kind::ALL.iter().enumerate() {
                let cells: Vec<String> = table[k]
                    .iter()
                    .map(|c| {
                        format!(
                            "{}{}",
                            ratio(c.ratio),
                            if c.timed_out { " (timed out)" } else { "" }
                        )
                    })
                    .collect();
                let _ = writeln!(out, "| {} | {} |", kind.label(), cells.join(" | "));
            }
            let absolute: Vec<String> = self
                .baseline
                .iter()
                .map(|&(rate, p50, p99, max, cpu)| match title.chars().next() {
                    Some('R') => format!("{}/s", thousands(rate)),
                    Some('M') => format!("{p50:.0} µs"),
                    Some('9') => format!("{p99:.0} µs"),
                    Some('S') if title.starts_with("Server") => format!("{cpu:.1} µs"),
                    _ => format!("{} µs", thousands(max)),
                })
                .collect();
            let _ = writeln!(
                out,
                "| *the baseline, absolute* | {} |\n",
                absolute.join(" | ")
            );
        }
        let _ = writeln!(
            out,
            "**Where a round trip's server CPU goes, {} clients** (µs; absolute, so machine-dependent)\n",
            self.cpu_split_clients
        );
        header(
            &mut out,
            "server",
            &[
                "in the server's code (user)".into(),
                "in the kernel (system)".into(),
                "total, ratio to the baseline".into(),
            ],
        );
        let base = self.cpu_split[kind_index(Kind::Baseline)];
        for (k, kind) in Kind::ALL.iter().enumerate() {
            let (user, system) = self.cpu_split[k];
            let _ = writeln!(
                out,
                "| {} | {user:.2} | {system:.2} | {} |",
                kind.label(),
                ratio((user + system) / (base.0 + base.1))
            );
        }
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "**Memory while holding idle connections** (server RSS; KiB per connection in brackets)\n"
        );
        let idle_cols: Vec<String> = self
            .idle
            .iter()
            .map(|&n| format!("{} idle", thousands(n as f64)))
            .collect();
        header(&mut out, "server", &idle_cols);
        for (k, kind) in Kind::ALL.iter().enumerate() {
            let cells: Vec<String> = self.memory[k]
                .iter()
                .map(|m| match m {
                    Ok((mib, per)) => format!("{mib:.1} MiB ({per:.1})"),
                    Err(why) => format!("— ({why})"),
                })
                .collect();
            let _ = writeln!(out, "| {} | {} |", kind.label(), cells.join(" | "));
        }
        let _ = writeln!(
            out,
            "\n**{} clients connecting at once** (lesson11 epoll server)\n",
            thousands(self.burst_size as f64)
        );
        header(
            &mut out,
            "listen(backlog)",
            &["connects per second".into(), "all connected after".into()],
        );
        for (backlog, rate, secs) in &self.burst {
            let _ = writeln!(
                out,
                "| listen({backlog}) | {} | {secs:.3} s |",
                thousands(*rate)
            );
        }
        let _ = writeln!(out, "\n**Goals**\n");
        header(&mut out, "goal", &["measured".into(), "met?".into()]);
        for g in &self.goals {
            let met = match (g.info, g.met) {
                (true, _) => "(for comparison)",
                (false, Some(true)) => "yes",
                (false, Some(false)) => "no",
                (false, None) => "not measured",
            };
            let _ = writeln!(out, "| {} | {} | {met} |", g.what, g.measured);
        }
        let _ = writeln!(out, "\n{}", machine.footer());
        if machine.smoke {
            let _ = writeln!(
                out,
                "\n(smoke run: too few round trips for the numbers to mean anything)"
            );
        }
        out
    }
}

fn ratio(r: f64) -> String {
    if !r.is_finite() {
        "—".into()
    } else if r >= 100.0 {
        format!("{}x", thousands(r))
    } else {
        format!("{r:.2}x")
    }
}

/// 12345.6 -> "12,346"
fn thousands(x: f64) -> String {
    if !x.is_finite() {
        return "—".into();
    }
    let digits = format!("{:.0}", x);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn goals(plan: &Plan, runs: &[Run], t: &Tables) -> Vec<Goal> {
    let mut goals = Vec::new();
    let one = t.column_of(1);
    for kind in [Kind::Iterative, Kind::Threads, Kind::Epoll] {
        let r = one.map_or(f64::NAN, |c| t.throughput[kind_index(kind)][c].ratio);
        goals.push(Goal {
            what: format!("{} ≥ 0.9x the baseline, 1 client", kind.short()),
            measured: ratio(r),
            met: r.is_finite().then_some(r >= 0.9),
            info: false,
        });
    }
    let hundred = t.column_of(100);
    let e = hundred.map_or(f64::NAN, |c| t.throughput[kind_index(Kind::Epoll)][c].ratio);
    goals.push(Goal {
        what: "epoll ≥ 0.9x the baseline, 100 clients".into(),
        measured: ratio(e),
        met: e.is_finite().then_some(e >= 0.9),
        info: false,
    });
    // Against the better of the two Python servers, run by run.
    let (ep, pb, ps) = (
        kind_index(Kind::Epoll),
        kind_index(Kind::PythonBlocking),
        kind_index(Kind::PythonSelectors),
    );
    let vs_python = median(
        runs.iter()
            .filter_map(|r| {
                let e = r.speed.get(&(ep, 100))?.per_second;
                let p = r
                    .speed
                    .get(&(pb, 100))?
                    .per_second
                    .max(r.speed.get(&(ps, 100))?.per_second);
                Some(e / p)
            })
            .collect(),
    );
    goals.push(Goal {
        what: "epoll ≥ 3x the best Python server, 100 clients".into(),
        measured: ratio(vs_python),
        met: vs_python.is_finite().then_some(vs_python >= 3.0),
        info: false,
    });
    let per_run = |f: &dyn Fn(&Run) -> Option<f64>| median(runs.iter().filter_map(f).collect());
    let vs_selectors = per_run(&|r| {
        Some(r.speed.get(&(ep, 100))?.per_second / r.speed.get(&(ps, 100))?.per_second)
    });
    goals.push(Goal {
        what: "epoll vs Python selectors, round trips per second, 100 clients".into(),
        measured: ratio(vs_selectors),
        met: None,
        info: true,
    });
    let cpu_vs_selectors = per_run(&|r| {
        Some(
            r.speed.get(&(ps, 100))?.cpu_per_round_trip
                / r.speed.get(&(ep, 100))?.cpu_per_round_trip,
        )
    });
    goals.push(Goal {
        what: "Python selectors' server CPU per round trip ÷ epoll's, 100 clients".into(),
        measured: ratio(cpu_vs_selectors),
        met: None,
        info: true,
    });
    let mem = plan
        .idle
        .iter()
        .position(|&n| n == 10_000)
        .and_then(|i| t.memory[ep][i].ok());
    goals.push(Goal {
        what: "epoll holds 10,000 idle connections in < 10 MiB RSS".into(),
        measured: mem.map_or("—".into(), |(mib, _)| format!("{mib:.1} MiB")),
        met: mem.map(|(mib, _)| mib < 10.0),
        info: false,
    });
    goals
}

// ---------------------------------------------------------------------------
// The chart.

const COLOURS: [&str; 6] = [
    "#7f7f7f", "#e6862a", "#3b75af", "#2ca02c", "#9467bd", "#d6609d",
];
const WIDTH: f64 = 880.0;

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Grouped bars: one group per column label, one bar per server.
/// `values[kind][group]`; `log` draws a log10 axis.
#[allow(clippy::too_many_arguments)]
fn panel(
    svg: &mut String,
    top: f64,
    title: &str,
    groups: &[String],
    values: &[Vec<Option<f64>>],
    unit: &str,
    log: bool,
    reference: Option<f64>,
) -> f64 {
    let (left, height, bottom_pad) = (70.0, 190.0, 40.0);
    let plot_w = WIDTH - left - 20.0;
    let all: Vec<f64> = values
        .iter()
        .flatten()
        .flatten()
        .copied()
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect();
    let max = all.iter().copied().fold(reference.unwrap_or(0.0), f64::max) * 1.15;
    let min = if log {
        all.iter().copied().fold(reference.unwrap_or(1.0), f64::min) / 1.5
    } else {
        0.0
    };
    let (lo, hi) = if log {
        (min.max(1e-3).log10().floor(), max.max(1e-3).log10().ceil())
    } else {
        (0.0, max.max(1e-9))
    };
    let y = |v: f64| -> f64 {
        let f = if log {
            (v.log10() - lo) / (hi - lo)
        } else {
            v / hi
        };
        top + 30.0 + height * (1.0 - f.clamp(0.0, 1.0))
    };
    let _ = writeln!(
        svg,
        r#"<text x="{left}" y="{:.1}" font-size="15" font-weight="bold">{}</text>"#,
        top + 18.0,
        esc(title)
    );
    // Axis and grid.
    let ticks: Vec<f64> = if log {
        (lo as i32..=hi as i32).map(|e| 10f64.powi(e)).collect()
    } else {
        let step = nice_step(hi / 5.0);
        (0..)
            .map(|i| i as f64 * step)
            .take_while(|v| *v <= hi)
            .collect()
    };
    for t in ticks {
        let _ = writeln!(
            svg,
            r##"<line x1="{left}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end">{}{unit}</text>"##,
            left + plot_w,
            y(t),
            y(t),
            left - 6.0,
            y(t) + 4.0,
            short_number(t)
        );
    }
    if let Some(r) = reference {
        let _ = writeln!(
            svg,
            r##"<line x1="{left}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#333" stroke-dasharray="5,3"/>"##,
            left + plot_w,
            y(r),
            y(r)
        );
    }
    let group_w = plot_w / groups.len() as f64;
    let bar_w = (group_w - 20.0) / values.len() as f64;
    for (g, label) in groups.iter().enumerate() {
        let gx = left + g as f64 * group_w + 10.0;
        for (k, series) in values.iter().enumerate() {
            let x = gx + k as f64 * bar_w;
            match series.get(g).copied().flatten() {
                Some(v) if v.is_finite() && v > 0.0 => {
                    let _ = writeln!(
                        svg,
                        r#"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{}: {}{unit}</title></rect>"#,
                        y(v),
                        bar_w - 2.0,
                        (y(min.max(if log { 10f64.powf(lo) } else { 0.0 })) - y(v)).max(0.5),
                        COLOURS[k],
                        esc(Kind::ALL[k].label()),
                        short_number(v)
                    );
                }
                _ => {
                    let _ = writeln!(
                        svg,
                        r##"<text x="{:.1}" y="{:.1}" font-size="9" text-anchor="middle" fill="#999">n/a</text>"##,
                        x + bar_w / 2.0,
                        top + 30.0 + height - 4.0
                    );
                }
            }
        }
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="middle">{}</text>"#,
            gx + (group_w - 20.0) / 2.0,
            top + 30.0 + height + 16.0,
            esc(label)
        );
    }
    top + 30.0 + height + bottom_pad
}

fn nice_step(raw: f64) -> f64 {
    let p = 10f64.powf(raw.max(1e-9).log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if p * m >= raw {
            return p * m;
        }
    }
    p * 10.0
}

fn short_number(v: f64) -> String {
    if v >= 1000.0 {
        thousands(v)
    } else if v >= 10.0 || v == 0.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else if v >= 0.01 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// The whole chart: throughput, p99 latency, memory.
pub fn svg(plan: &Plan, t: &Tables, machine: &Machine) -> String {
    let mut body = String::new();
    // Legend.
    for (k, kind) in Kind::ALL.iter().enumerate() {
        let x = 20.0 + (k % 3) as f64 * 285.0;
        let y = 20.0 + (k / 3) as f64 * 20.0;
        let _ = writeln!(
            body,
            r#"<rect x="{x}" y="{}" width="12" height="12" fill="{}"/><text x="{}" y="{}" font-size="12">{}</text>"#,
            y - 10.0,
            COLOURS[k],
            x + 18.0,
            y,
            esc(kind.label())
        );
    }
    let groups: Vec<String> = plan
        .clients
        .iter()
        .map(|&n| {
            format!(
                "{} client{}",
                thousands(n as f64),
                if n == 1 { "" } else { "s" }
            )
        })
        .collect();
    let cells = |table: &Vec<Vec<Cell>>| -> Vec<Vec<Option<f64>>> {
        table
            .iter()
            .map(|row| row.iter().map(|c| Some(c.ratio)).collect())
            .collect()
    };
    let mut top = 55.0;
    top = panel(
        &mut body,
        top,
        "Round trips per second, ratio to the baseline (higher is better; dashed: 1x)",
        &groups,
        &cells(&t.throughput),
        "x",
        false,
        Some(1.0),
    );
    top = panel(
        &mut body,
        top,
        "Server CPU time per round trip, ratio to the baseline (lower is better)",
        &groups,
        &cells(&t.cpu),
        "x",
        false,
        Some(1.0),
    );
    top = panel(
        &mut body,
        top,
        "p99 latency, ratio to the baseline (lower is better; log scale)",
        &groups,
        &cells(&t.p99),
        "x",
        true,
        Some(1.0),
    );
    top = panel(
        &mut body,
        top,
        "Slowest round trip, ratio to the baseline (lower is better; log scale)",
        &groups,
        &cells(&t.max),
        "x",
        true,
        Some(1.0),
    );
    let idle_groups: Vec<String> = plan
        .idle
        .iter()
        .map(|&n| format!("{} idle connections", thousands(n as f64)))
        .collect();
    let memory: Vec<Vec<Option<f64>>> = t
        .memory
        .iter()
        .map(|row| {
            row.iter()
                .map(|m| m.as_ref().ok().map(|(mib, _)| *mib))
                .collect()
        })
        .collect();
    top = panel(
        &mut body,
        top,
        "Server memory (RSS, MiB) holding idle connections (n/a: one at a time, or capped)",
        &idle_groups,
        &memory,
        "",
        false,
        None,
    );
    let lines = [
        format!(
            "{} | {} cores | Linux {} | {} | {}",
            machine.cpu, machine.cores, machine.kernel, machine.rustc, machine.python
        ),
        format!(
            "{} | median of {} run(s) | load average {} before, {} after (a machine shared with other work)",
            machine.date, machine.runs, machine.load_before, machine.load_after
        ),
    ];
    for line in lines {
        let _ = writeln!(
            body,
            r##"<text x="20" y="{:.1}" font-size="11" fill="#555">{}</text>"##,
            top,
            esc(&line)
        );
        top += 15.0;
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{:.0}\" viewBox=\"0 0 {WIDTH} {:.0}\" font-family=\"sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n{body}</svg>\n",
        top + 15.0,
        top + 15.0
    )
}
