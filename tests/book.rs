//! The book shows only code that compiles and output that the tests produce.
//!
//! These tests read `book/src/` and fail when:
//! * a lesson in `lessons/` (one that is more than a stub) has no chapter, or
//!   its chapter is not in `SUMMARY.md`, or lacks one of the parts every
//!   chapter has (the idea, coming from Python, the code, the run, try it
//!   yourself, what can go wrong, exercises, `man` pages);
//! * a chapter's transcript is not included from its lesson's current insta
//!   snapshot, starting exactly at the line after the snapshot's header;
//! * an `{{#include}}` names a file, an anchor or a line range that does not
//!   exist;
//! * a Rust code block is typed into the book instead of included from a
//!   source file that cargo compiles, or a transcript is typed by hand;
//! * an error message quoted in the book (marked `<!-- stderr-of: … -->`) is
//!   not what the program prints today;
//! * `mdbook build` prints a warning or an error, or the rendered chapter does
//!   not show every line of the current snapshot.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn book_src() -> PathBuf {
    root().join("book/src")
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// `[[bin]]` entries of Cargo.toml: (name, path).
fn cargo_bins() -> Vec<(String, String)> {
    let toml = read(&root().join("Cargo.toml"));
    let mut bins = Vec::new();
    let mut name = None;
    for line in toml.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            name = None;
        }
        let value = |l: &str| {
            l.split_once('=')
                .map(|(_, v)| v.trim().trim_matches('"').to_string())
        };
        if line.starts_with("name") {
            name = value(line);
        }
        if line.starts_with("path")
            && let (Some(n), Some(p)) = (name.clone(), value(line))
        {
            bins.push((n, p));
        }
    }
    bins
}

/// A lesson that exists: a `lessonNN_*` binary whose source is more than
/// the placeholder `fn main() {}`.
fn lessons() -> Vec<String> {
    cargo_bins()
        .into_iter()
        .filter(|(name, _)| name.starts_with("lesson"))
        .filter(|(_, path)| {
            let source = read(&root().join(path));
            let code: String = source
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            !source.contains("Not written yet") && code.trim() != "fn main() {}"
        })
        .map(|(name, _)| name)
        .collect()
}

/// Every markdown file of the book, with its text.
fn pages() -> Vec<(PathBuf, String)> {
    let mut pages: Vec<_> = fs::read_dir(book_src())
        .expect("book/src")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .map(|p| {
            let text = read(&p);
            (p, text)
        })
        .collect();
    pages.sort();
    pages
}

/// One `{{#include path[:anchor | :from:to]}}` in a page.
#[derive(Debug)]
struct Include {
    page: String,
    /// As written, relative to the page.
    path: String,
    /// The part after the first colon: an anchor name or a line range.
    selector: Option<String>,
}

impl Include {
    fn file(&self) -> PathBuf {
        book_src().join(&self.path)
    }
    /// The file relative to the project root, e.g. `lessons/lesson02_tcp_once.rs`.
    fn rel_path(&self) -> String {
        self.path.trim_start_matches("../../").to_string()
    }
}

fn includes_in(page: &str, text: &str) -> Vec<Include> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{#") {
        let after = &rest[start + 3..];
        let end = after.find("}}").expect("an unclosed {{# in the book");
        let directive = after[..end].trim();
        if let Some(arg) = directive.strip_prefix("include ") {
            let arg = arg.trim();
            let (path, selector) = match arg.split_once(':') {
                Some((p, s)) => (p.to_string(), Some(s.to_string())),
                None => (arg.to_string(), None),
            };
            found.push(Include {
                page: page.to_string(),
                path,
                selector,
            });
        }
        rest = &after[end + 2..];
    }
    found
}

fn all_includes() -> Vec<Include> {
    pages()
        .iter()
        .flat_map(|(p, text)| includes_in(&p.file_name().unwrap().to_string_lossy(), text))
        .collect()
}

/// The 1-based number of the first line after an insta header
/// (`---`, metadata lines, `---`).
fn first_line_after_header(snapshot: &str) -> usize {
    let mut dashes = snapshot
        .lines()
        .enumerate()
        .filter(|(_, l)| *l == "---")
        .map(|(i, _)| i);
    let first = dashes.next();
    let second = dashes.next();
    assert_eq!(first, Some(0), "a snapshot starts with its `---` header");
    second.expect("a snapshot header ends with `---`") + 2
}

/// A fenced code block: its info string and its lines.
struct Block {
    info: String,
    body: String,
    /// The line just before the opening fence.
    before: String,
}

fn blocks_in(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut lines = text.lines();
    let mut previous = "";
    while let Some(line) = lines.next() {
        if let Some(info) = line.trim_start().strip_prefix("```") {
            let body: Vec<&str> = lines
                .by_ref()
                .take_while(|l| !l.trim_start().starts_with("```"))
                .collect();
            blocks.push(Block {
                info: info.trim().to_string(),
                body: body.join("\n"),
                before: previous.to_string(),
            });
        }
        previous = line;
    }
    blocks
}

#[test]
fn every_lesson_has_a_chapter_in_the_summary_in_order() {
    let summary = read(&book_src().join("SUMMARY.md"));
    let lessons = lessons();
    assert!(
        lessons.iter().any(|l| l == "lesson02_tcp_once"),
        "lesson02 is the reference lesson; is Cargo.toml readable? {lessons:?}"
    );
    let mut missing = Vec::new();
    for lesson in &lessons {
        let chapter = format!("{lesson}.md");
        if !book_src().join(&chapter).exists() || !summary.contains(&format!("]({chapter})")) {
            missing.push(lesson.clone());
        }
    }
    assert!(
        missing.is_empty(),
        "these lessons have no chapter (book/src/<bin>.md, linked from SUMMARY.md): {missing:?}"
    );
    // The chapters appear in the lessons' order.
    let linked: Vec<&String> = lessons
        .iter()
        .filter(|l| summary.contains(&format!("]({l}.md)")))
        .collect();
    let positions: Vec<usize> = linked
        .iter()
        .map(|l| summary.find(&format!("]({l}.md)")).unwrap())
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "SUMMARY.md lists the lessons out of order: {linked:?}"
    );
    // And every link in the summary leads to a page.
    for link in summary.split("](").skip(1) {
        let target = link.split(')').next().unwrap();
        assert!(
            book_src().join(target).exists(),
            "SUMMARY.md links to {target}, which does not exist"
        );
    }
}

#[test]
fn every_chapter_has_every_part() {
    for lesson in lessons() {
        let path = book_src().join(format!("{lesson}.md"));
        if !path.exists() {
            continue; // reported by the test above
        }
        let text = read(&path);
        for heading in [
            "## The idea",
            "## Coming from Python",
            "## The code",
            "## The run",
            "## Try it yourself",
            "## What can go wrong",
            "## Exercises",
        ] {
            assert!(
                text.lines().any(|l| l.trim() == heading),
                "{lesson}.md has no `{heading}` section"
            );
        }
        assert!(
            text.contains("man 2 ") || text.contains("man 7 "),
            "{lesson}.md names no `man 2` / `man 7` page"
        );
        assert!(
            blocks_in(&text).iter().any(|b| b.info == "python"),
            "{lesson}.md quotes no Python from the seeds"
        );
        let includes = includes_in(&lesson, &text);
        assert!(
            includes
                .iter()
                .any(|i| i.rel_path() == format!("lessons/{lesson}.rs") && i.selector.is_some()),
            "{lesson}.md includes no anchor of lessons/{lesson}.rs"
        );
        // The run: the transcript comes from the snapshot, in that section.
        let run = text
            .split("## The run")
            .nth(1)
            .and_then(|s| s.split("\n## ").next())
            .unwrap_or("");
        assert!(
            includes_in(&lesson, run)
                .iter()
                .any(|i| i.rel_path() == format!("tests/snapshots/{lesson}.snap")),
            "{lesson}.md's `The run` does not include tests/snapshots/{lesson}.snap"
        );
    }
}

#[test]
fn every_chapter_lesson_has_a_demo_snapshot_test() {
    // Without it, a lesson's output could change and the book go on showing
    // the old one.
    for lesson in lessons() {
        let test = root().join(format!("tests/{lesson}.rs"));
        let snap = root().join(format!("tests/snapshots/{lesson}.snap"));
        if !book_src().join(format!("{lesson}.md")).exists() {
            continue;
        }
        assert!(snap.exists(), "{} is missing", snap.display());
        assert!(
            read(&test).contains(&format!("assert_snapshot!(\"{lesson}\"")),
            "tests/{lesson}.rs does not snapshot the demo as \"{lesson}\""
        );
    }
}

#[test]
fn snapshot_includes_start_right_after_the_header() {
    let mut seen = 0;
    for inc in all_includes().iter().filter(|i| i.path.ends_with(".snap")) {
        seen += 1;
        let snapshot = read(&inc.file());
        let first = first_line_after_header(&snapshot);
        assert_eq!(
            inc.selector.as_deref(),
            Some(format!("{first}:").as_str()),
            "{}: include {} from line {first} to the end (`{}:{first}:`): the header is {} lines",
            inc.page,
            inc.path,
            inc.path,
            first - 1
        );
    }
    assert!(seen > 0, "the book includes no snapshot at all");
}

#[test]
fn every_include_resolves() {
    for inc in all_includes() {
        let file = inc.file();
        assert!(
            file.exists(),
            "{}: {{{{#include {}}}}}: no such file",
            inc.page,
            inc.path
        );
        let text = read(&file);
        match inc.selector.as_deref() {
            None => {}
            Some(sel) if sel.starts_with(|c: char| c.is_ascii_digit()) || sel.starts_with(':') => {
                let lines = text.lines().count();
                for n in sel.split(':').filter(|n| !n.is_empty()) {
                    let n: usize = n.parse().expect("a line number");
                    assert!(
                        n <= lines,
                        "{}: {} has {lines} lines, not {n}",
                        inc.page,
                        inc.path
                    );
                }
            }
            Some(anchor) => {
                let has = |marker: &str| {
                    text.lines()
                        .any(|l| l.trim() == format!("// {marker}: {anchor}"))
                };
                assert!(
                    has("ANCHOR") && has("ANCHOR_END"),
                    "{}: anchor `{anchor}` is missing from {} (need `// ANCHOR: {anchor}` and \
                     `// ANCHOR_END: {anchor}`)",
                    inc.page,
                    inc.path
                );
            }
        }
    }
}

/// Source files that cargo compiles: every target's path, the library's
/// modules, and files in the directories of those (modules of a binary).
fn compiled_sources() -> BTreeSet<String> {
    let mut files: BTreeSet<String> = cargo_bins().into_iter().map(|(_, p)| p).collect();
    let lib = read(&root().join("src/lib.rs"));
    files.insert("src/lib.rs".into());
    for line in lib.lines() {
        if let Some(m) = line
            .trim()
            .strip_prefix("pub mod ")
            .or_else(|| line.trim().strip_prefix("mod "))
            .and_then(|m| m.strip_suffix(';'))
        {
            files.insert(format!("src/{m}.rs"));
            files.insert(format!("src/{m}/mod.rs"));
        }
    }
    files
}

#[test]
fn rust_in_the_book_is_included_from_compiled_sources() {
    let compiled = compiled_sources();
    for (page, text) in pages() {
        let page = page.file_name().unwrap().to_string_lossy().to_string();
        for block in blocks_in(&text) {
            let lang = block.info.split(',').next().unwrap_or("");
            if lang == "rust" {
                for line in block.body.lines().filter(|l| !l.trim().is_empty()) {
                    assert!(
                        line.trim().starts_with("{{#include "),
                        "{page}: a Rust block contains typed code ({line:?}); include it from \
                         the source with an anchor instead"
                    );
                }
                for inc in includes_in(&page, &block.body) {
                    assert!(
                        compiled.contains(&inc.rel_path()),
                        "{page}: {} is not a source file cargo compiles ({compiled:?})",
                        inc.rel_path()
                    );
                }
            }
            // A transcript (`tag │ text` lines) must come from a snapshot.
            // (Quoted excerpts are allowed when a test checks them against
            // the program: see `error_texts_in_the_book_are_what_the_programs_print`.)
            let checked = block.before.contains("<!-- stderr-of:")
                || block.before.contains("<!-- output-contains:");
            // Transcript lines are `tag      │ text`: the bar is the tenth character.
            let transcript = block
                .body
                .lines()
                .any(|l| l.chars().nth(9) == Some('│') && !l.starts_with(' '));
            if transcript && !block.body.contains("{{#include") && !checked {
                panic!(
                    "{page}: a transcript is typed into the book; include its snapshot instead:\n{}",
                    block.body
                );
            }
        }
    }
}

/// Replace the numbers that vary from run to run (ports) by `N`.
fn without_ports(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        let after_colon = c == ':' && chars.peek().is_some_and(char::is_ascii_digit);
        let after_word = (out.ends_with("port ") || out.ends_with("fd "))
            && chars.peek().is_some_and(char::is_ascii_digit);
        if after_colon || after_word {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
            out.push('N');
        }
    }
    out
}

macro_rules! lesson_exes {
    ($($bin:ident),* $(,)?) => {
        fn exe(bin: &str) -> &'static str {
            match bin {
                $(stringify!($bin) => env!(concat!("CARGO_BIN_EXE_", stringify!($bin))),)*
                other => panic!("unknown program {other} in a stderr-of comment"),
            }
        }
    };
}

lesson_exes!(
    lesson01_what_is_a_socket,
    lesson02_tcp_once,
    lesson03_tcp_loop,
    lesson04_udp,
    lesson05_unix_sockets,
    lesson06_raw_syscalls,
    lesson07_send_and_sendall,
    lesson08_timeouts_and_blocking,
    lesson09_socket_options,
    lesson10_socket_as_file,
    lesson11_concurrent_server,
);

/// Error texts in the book are marked with the command that prints them,
/// on the line before the fenced block that quotes them:
///
///     <!-- stderr-of: lesson02_tcp_once client --port {refused} -->
///
/// the block is exactly the program's standard error;
///
///     <!-- output-contains: lesson01_what_is_a_socket -->
///
/// every line of the block is a line of its output (stdout and stderr).
/// `CMD <<< text` types `text` and a newline on the program's stdin.
/// `{refused}` is a port where nobody listens, `{busy}` one that is taken,
/// `{tmp}` a fresh temporary directory. Ports and fd numbers compare as `N`.
/// When a program's messages change on purpose, `BOOK_BLESS=1 cargo test
/// --test book` rewrites the stale `stderr-of` quotes.
#[test]
fn error_texts_in_the_book_are_what_the_programs_print() {
    let mut checked = 0;
    for (page, text) in pages() {
        let page = page.file_name().unwrap().to_string_lossy().to_string();
        for block in blocks_in(&text) {
            let marker = block.before.trim();
            let (exact, command) = if let Some(c) = marker.strip_prefix("<!-- stderr-of:") {
                (true, c)
            } else if let Some(c) = marker.strip_prefix("<!-- output-contains:") {
                (false, c)
            } else {
                continue;
            };
            let command = command.trim_end_matches("-->").trim();
            // `cmd <<< text`: `text` and a newline on standard input.
            let (command, stdin) = match command.split_once(" <<< ") {
                Some((c, input)) => (c, format!("{input}\n")),
                None => (command, String::new()),
            };
            let (_reserved, refused) = refusing_port();
            let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let tmp = TempDir::new("book");
            let mut words = command.split_whitespace().map(|w| {
                w.replace("{refused}", &refused.to_string())
                    .replace("{busy}", &busy.local_addr().unwrap().port().to_string())
                    .replace("{tmp}", &tmp.0.display().to_string())
            });
            let bin = words.next().expect("a program name");
            let out = run(Command::new(exe(&bin)).args(words), stdin.as_bytes());
            let tmp_name = tmp.0.display().to_string();
            if exact {
                let printed = out.stderr.replace(&tmp_name, "{tmp}");
                if std::env::var("BOOK_BLESS").is_ok_and(|v| v == "1")
                    && without_ports(printed.trim_end()) != without_ports(block.body.trim_end())
                {
                    bless(&page, &block, &printed);
                    continue;
                }
                assert_eq!(
                    without_ports(printed.trim_end()),
                    without_ports(block.body.trim_end()),
                    "{page}: the error text quoted in the book is not what `{command}` prints"
                );
            } else {
                let printed = without_ports(&format!("{}\n{}", out.stdout, out.stderr))
                    .replace(&tmp_name, "{tmp}");
                let printed: Vec<&str> = printed.lines().map(str::trim_end).collect();
                for line in block.body.lines().filter(|l| !l.trim().is_empty()) {
                    let line = without_ports(line.trim_end());
                    assert!(
                        printed.contains(&line.as_str()),
                        "{page}: `{command}` no longer prints this line quoted in the book:\n{line}\n\nit printed:\n{}",
                        printed.join("\n")
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 0, "the book quotes no error text");
}

/// `BOOK_BLESS=1 cargo test --test book`: replace a stale `stderr-of` quote
/// with what the program prints now (ports shown as 8888).
fn bless(page: &str, block: &Block, printed: &str) {
    let path = book_src().join(page);
    let text = read(&path);
    let marker = format!("{}\n```{}\n", block.before, block.info);
    let old = format!("{marker}{}\n```", block.body);
    let new = format!("{marker}{}\n```", with_port_8888(printed.trim_end()));
    assert!(
        text.contains(&old),
        "{page}: cannot find the block to bless"
    );
    fs::write(&path, text.replacen(&old, &new, 1)).expect("write the blessed page");
    eprintln!("blessed {page}: {}", block.before);
}

/// `127.0.0.1:40123` -> `127.0.0.1:8888`, as the book shows addresses.
fn with_port_8888(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        let after_ip = c == ':'
            && out[..out.len() - 1].ends_with(|p: char| p.is_ascii_digit() || p == ']')
            && chars.peek().is_some_and(char::is_ascii_digit);
        if after_ip {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
            out.push_str("8888");
        }
    }
    out
}

/// `mdbook build` (installed by .ci/run): no ERROR or WARN line, and every
/// chapter's rendered page shows every line of its current snapshot.
#[test]
fn the_book_builds_cleanly_and_shows_the_current_transcripts() {
    if !tool("mdbook") {
        return;
    }
    let dest = TempDir::new("book-html");
    let out = run(
        Command::new("mdbook")
            .arg("build")
            .arg(root().join("book"))
            .arg("--dest-dir")
            .arg(&dest.0),
        b"",
    );
    let log = format!("{}{}", out.stdout, out.stderr);
    assert!(out.status.success(), "mdbook build failed:\n{log}");
    assert!(
        !log.contains("ERROR") && !log.contains("WARN"),
        "mdbook build printed an error or a warning:\n{log}"
    );
    let unescape = |html: &str| {
        html.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&#x27;", "'")
            .replace("&amp;", "&")
    };
    // Snapshots shown as code blocks (transcripts, diagrams) must appear
    // line for line; one included as markdown (a table) is rendered instead.
    let in_code_blocks: Vec<Include> = pages()
        .iter()
        .flat_map(|(path, text)| {
            let page = path.file_name().unwrap().to_string_lossy().to_string();
            blocks_in(text)
                .into_iter()
                .flat_map(move |b| includes_in(&page, &b.body))
        })
        .filter(|i| i.path.ends_with(".snap"))
        .collect();
    assert!(!in_code_blocks.is_empty(), "no transcript in the book?");
    for inc in &in_code_blocks {
        let page = dest.0.join(inc.page.replace(".md", ".html"));
        if !page.exists() {
            continue; // a page that is not in SUMMARY.md is not rendered
        }
        let html = unescape(&read(&page));
        let snapshot = read(&inc.file());
        let first = first_line_after_header(&snapshot);
        for line in snapshot
            .lines()
            .skip(first - 1)
            .filter(|l| !l.trim().is_empty())
        {
            assert!(
                html.contains(line.trim_end()),
                "{} does not show this line of {}:\n{line}",
                page.display(),
                inc.path
            );
        }
    }
}

#[test]
fn the_port_filter_used_for_error_texts_works() {
    assert_eq!(
        without_ports("connect to 127.0.0.1:40123: refused; port 8888, fd 3"),
        "connect to 127.0.0.1:N: refused; port N, fd N"
    );
}

/// Every `socket` method the seeds list (seeds 001 and 002) has a row in the
/// method table, and every Chinese term the lessons rely on is in the
/// glossary.
#[test]
fn the_appendices_cover_the_seeds() {
    let table = read(&book_src().join("method-table.md"));
    for method in [
        "socket.socket(",
        "s.bind(",
        "s.listen(",
        "s.accept(",
        "s.connect(",
        "s.connect_ex(",
        "s.recv(",
        "s.send(",
        "s.sendall(",
        "s.recvfrom(",
        "s.sendto(",
        "s.getpeername(",
        "s.getsockname(",
        "s.getsockopt(",
        "s.setsockopt(",
        "s.close(",
        "s.setblocking(",
        "s.settimeout(",
        "s.gettimeout(",
        "s.fileno(",
        "s.makefile(",
        "socket.gethostname(",
    ] {
        let row = table
            .lines()
            .find(|l| l.starts_with("| `") && l.contains(method))
            .unwrap_or_else(|| panic!("method-table.md has no row for {method}"));
        // Python, std, socket2, nix, C: five cells, and a man page or a C name.
        assert!(
            row.matches(" | ").count() >= 4,
            "the row for {method} has fewer than five columns:\n{row}"
        );
    }
    let glossary = read(&book_src().join("glossary.md"));
    for term in [
        "套接字",
        "地址族",
        "流套接字",
        "数据报套接字",
        "三次握手",
        "阻塞",
        "监听",
        "绑定",
        "端口",
        "文件描述符",
        "一切皆文件",
        "超时",
    ] {
        assert!(
            glossary.lines().any(|l| l.starts_with(&format!("| {term}"))
                || l.starts_with("| ") && l.split(" | ").next().is_some_and(|c| c.contains(term))),
            "glossary.md has no row for {term}"
        );
    }
}
