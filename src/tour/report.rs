//! A verdict: the checks of one exercise, printed for a student or as JSON
//! for a teacher's autograder.
//!
//! The JSON shape is part of the interface (book: teacher's guide):
//!
//! ```json
//! {"exercise": "homework01", "passed": false,
//!  "checks": [{"name": "...", "passed": false, "skipped": false, "message": "..."}]}
//! ```

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail,
    /// Could not run here (e.g. python3 missing); does not fail the exercise.
    Skip,
}

/// One thing the checker verified, and what it found.
#[derive(Debug, Clone)]
pub struct Check {
    pub name: String,
    pub outcome: Outcome,
    pub message: String,
}

impl Check {
    pub fn pass(name: &str, message: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            outcome: Outcome::Pass,
            message: message.into(),
        }
    }
    pub fn fail(name: &str, message: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            outcome: Outcome::Fail,
            message: message.into(),
        }
    }
    pub fn skip(name: &str, message: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            outcome: Outcome::Skip,
            message: message.into(),
        }
    }
}

/// The result of checking one exercise.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub exercise: String,
    pub checks: Vec<Check>,
}

impl Verdict {
    /// Passed: at least one check ran, and none failed.
    pub fn passed(&self) -> bool {
        self.checks.iter().any(|c| c.outcome == Outcome::Pass)
            && self.checks.iter().all(|c| c.outcome != Outcome::Fail)
    }

    /// For people: one line per check, the failures explained, then PASS/FAIL.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for c in &self.checks {
            let tag = match c.outcome {
                Outcome::Pass => "ok  ",
                Outcome::Fail => "FAIL",
                Outcome::Skip => "skip",
            };
            out += &format!("{tag} {}\n", c.name);
            for line in c.message.lines() {
                out += &format!("       {line}\n");
            }
        }
        let failed = self
            .checks
            .iter()
            .filter(|c| c.outcome == Outcome::Fail)
            .count();
        if self.passed() {
            out += &format!("PASS {}\n", self.exercise);
        } else {
            out += &format!(
                "FAIL {}: {failed} of {} checks failed (`cargo run -- hint {}` gives a hint)\n",
                self.exercise,
                self.checks.len(),
                self.exercise
            );
        }
        out
    }

    /// For machines: one JSON object (documented in the teacher's guide).
    pub fn to_json(&self) -> String {
        let checks: Vec<String> = self
            .checks
            .iter()
            .map(|c| {
                format!(
                    "{{\"name\": {}, \"passed\": {}, \"skipped\": {}, \"message\": {}}}",
                    json_string(&c.name),
                    c.outcome != Outcome::Fail,
                    c.outcome == Outcome::Skip,
                    json_string(&c.message)
                )
            })
            .collect();
        format!(
            "{{\"exercise\": {}, \"passed\": {}, \"checks\": [{}]}}",
            json_string(&self.exercise),
            self.passed(),
            checks.join(", ")
        )
    }
}

/// A JSON string literal (RFC 8259): quotes, backslashes and control
/// characters escaped; everything else, including non-ASCII, kept as UTF-8.
pub fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out += "\\\"",
            '\\' => out += "\\\\",
            '\n' => out += "\\n",
            '\r' => out += "\\r",
            '\t' => out += "\\t",
            c if (c as u32) < 0x20 => out += &format!("\\u{:04x}", c as u32),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(
            json_string("a\"b\\c\nd\u{1}你"),
            "\"a\\\"b\\\\c\\nd\\u0001你\""
        );
    }

    #[test]
    fn a_verdict_with_a_failure_did_not_pass() {
        let v = Verdict {
            exercise: "x".into(),
            checks: vec![Check::pass("a", "fine"), Check::fail("b", "got \"T\"")],
        };
        assert!(!v.passed());
        assert_eq!(
            v.to_json(),
            "{\"exercise\": \"x\", \"passed\": false, \"checks\": [{\"name\": \"a\", \"passed\": true, \"skipped\": false, \"message\": \"fine\"}, {\"name\": \"b\", \"passed\": false, \"skipped\": false, \"message\": \"got \\\"T\\\"\"}]}"
        );
    }
}
