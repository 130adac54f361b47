//! # socket-lessons: the scaffolding behind the lessons
//!
//! The lessons in `lessons/` are where the socket calls are; this library
//! holds only what is *not* a lesson's subject, so that a learner reading
//! `lessons/lesson03_tcp_loop.rs` sees `bind`, `listen`, `accept`, `read`
//! and `write` top to bottom without plumbing in the way.
//!
//! | module | what it does |
//! |---|---|
//! | [`cli`] | the shared command line: `demo` (default), `server`, `client`, `--host`, `--port` |
//! | [`demo`] | runs a lesson's server and client in one process, readiness by channel, no sleeps |
//! | [`transcript`] | role-tagged, coloured output, merged in causal order during a demo |
//! | [`explain`] | turns an `io::Error` into a sentence and a next step; `finish` ends every `main` |
//! | [`text`] | bytes shown as Python shows them; a UTF-8 decoder that survives split characters |
//! | [`signals`] | a clean stop on Ctrl-C / SIGTERM: clean up, say goodbye, exit 0 |
//! | [`framing`] | message boundaries on a byte stream: lines and length prefixes (taught in lesson 07) |

pub mod cli;
pub mod demo;
pub mod diagram;
pub mod explain;
pub mod framing;
pub mod signals;
pub mod text;
pub mod transcript;

pub use explain::{Context, Failure, Result, finish};
