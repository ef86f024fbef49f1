//! What the judge shows and writes: a progress bar on a terminal, one line
//! per test otherwise, a table at the end, and the JSON document.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::shard::Shard;
use super::verdict::{Code, CompileResult, SubmissionResult, TestResult};
use super::{JudgeError, Mode};

/// The JSON format's name and version.
pub const FORMAT: &str = "safeexec-judge/1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProblemInfo {
    pub name: String,
    pub path: String,
}

/// The problem's limits in force (before language multipliers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProblemLimits {
    pub time_limit_s: f64,
    pub memory_mib: u64,
    pub output_mib: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub submissions: usize,
    pub tests: usize,
    /// Tests per verdict.
    pub test_verdicts: BTreeMap<String, usize>,
    /// Submissions per verdict.
    pub submission_verdicts: BTreeMap<String, usize>,
    /// --verify: submissions whose verdict is not their directory's.
    pub mismatches: usize,
}

/// The whole judging (docs/judge.md, "JSON").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    pub format: String,
    pub problem: ProblemInfo,
    pub mode: Mode,
    pub all: bool,
    pub verify: bool,
    pub limits: ProblemLimits,
    /// `default` or the output validator's directory.
    pub validator: String,
    pub validator_flags: Vec<String>,
    /// This document's slice, or null for a whole judging (or a merge).
    pub shard: Option<Shard>,
    pub submissions: Vec<SubmissionResult>,
    pub summary: Summary,
}

impl Document {
    /// Same problem, options and submissions (what shards must share).
    pub fn same_judging(&self, o: &Document) -> bool {
        self.format == o.format
            && self.problem == o.problem
            && self.mode == o.mode
            && self.all == o.all
            && self.verify == o.verify
            && self.limits == o.limits
            && self.validator == o.validator
            && self.validator_flags == o.validator_flags
            && self.submissions.len() == o.submissions.len()
            && self.submissions.iter().zip(&o.submissions).all(|(a, b)| {
                a.source == b.source
                    && a.language == b.language
                    && a.expected == b.expected
                    && a.limits == b.limits
            })
    }

    pub fn summarise(&mut self) {
        let mut s = Summary {
            submissions: self.submissions.len(),
            ..Default::default()
        };
        for sub in &self.submissions {
            for t in &sub.tests {
                s.tests += 1;
                *s.test_verdicts.entry(t.verdict.to_string()).or_default() += 1;
            }
            if let Some(v) = sub.verdict {
                *s.submission_verdicts.entry(v.to_string()).or_default() += 1;
            }
            if sub.matches_expected == Some(false) {
                s.mismatches += 1;
            }
        }
        self.summary = s;
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
            + "\n"
    }

    /// 0 all accepted (or, with --verify, every verdict as expected); 1 a
    /// verdict other than AC (a mismatch); the status of a judge error.
    pub fn exit_status(&self) -> i32 {
        let errors = self.submissions.iter().flat_map(|s| {
            s.tests
                .iter()
                .filter_map(|t| t.error_status)
                .chain(s.compile.iter().filter_map(|c| c.error_status))
        });
        if let Some(code) = errors.max() {
            return code;
        }
        let bad = if self.verify {
            self.summary.mismatches > 0
        } else {
            self.submissions
                .iter()
                .any(|s| s.verdict.is_some_and(|v| v != Code::AC))
        };
        if bad {
            super::EXIT_NOT_ACCEPTED
        } else {
            0
        }
    }
}

/// Opens (creates, truncates) the JSON file: before judging, so a bad
/// path fails first.
pub fn open_json(path: &Path) -> Result<std::fs::File, JudgeError> {
    Ok(crate::files::open_output("JSON file", path)?)
}

pub fn write_json(path: &Path, text: &str) -> Result<(), JudgeError> {
    write_json_to(open_json(path)?, path, text)
}

pub fn write_json_to(mut f: std::fs::File, path: &Path, text: &str) -> Result<(), JudgeError> {
    f.write_all(text.as_bytes())
        .and_then(|_| f.flush())
        .map_err(|e| JudgeError::Output(format!("cannot write JSON file {}: {e}", path.display())))
}

fn secs(ms: f64) -> String {
    format!("{:.3}s", ms / 1000.0)
}

/// Progress while judging: a bar on a terminal, else one line per test.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    tally: BTreeMap<Code, usize>,
    slowest_ms: f64,
}

impl Progress {
    pub fn new(total: u64) -> Progress {
        let bar = std::io::stdout().is_terminal().then(|| {
            let b = indicatif::ProgressBar::with_draw_target(
                Some(total),
                indicatif::ProgressDrawTarget::stderr(),
            );
            b.set_style(
                indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} tests {msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            b
        });
        Progress {
            bar,
            tally: BTreeMap::new(),
            slowest_ms: 0.0,
        }
    }

    pub fn compiled(&mut self, source: &str, c: &CompileResult) {
        if c.ok {
            return;
        }
        let first = c.message.lines().next().unwrap_or("");
        let line = format!(
            "{source}: compile: {} {first}",
            if c.error_status.is_some() { "JE" } else { "CE" }
        );
        match &self.bar {
            Some(b) => b.println(line),
            None => println!("{line}"),
        }
    }

    pub fn test(&mut self, source: &str, t: &TestResult) {
        *self.tally.entry(t.verdict).or_default() += 1;
        self.slowest_ms = self.slowest_ms.max(t.figures.cpu_ms);
        match &self.bar {
            Some(b) => {
                let tally: Vec<String> =
                    self.tally.iter().map(|(c, n)| format!("{c} {n}")).collect();
                b.set_message(format!(
                    "| {} | slowest {}",
                    tally.join(" "),
                    secs(self.slowest_ms)
                ));
                b.inc(1);
            }
            None => {
                println!(
                    "{source} {} {} {} {}KiB{}",
                    t.name,
                    t.verdict,
                    secs(t.figures.cpu_ms),
                    t.figures.memory_kib,
                    if t.verdict == Code::AC {
                        String::new()
                    } else {
                        format!(" {}", t.message)
                    }
                );
            }
        }
    }

    /// `n` tests will not run (a group stopped, a compile failed).
    pub fn skip(&mut self, n: u64) {
        if let Some(b) = &self.bar {
            b.set_length(b.length().unwrap_or(0).saturating_sub(n));
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// The final table: per submission, each test's verdict, time, memory and
/// message.
pub fn table(doc: &Document) -> String {
    let mut out = String::new();
    for s in &doc.submissions {
        let Some(v) = s.verdict else { continue };
        let expect = match (s.expected, s.matches_expected) {
            (Some(e), Some(false)) => format!("  MISMATCH: expected {e}"),
            (Some(e), _) => format!("  (expected {e})"),
            _ => String::new(),
        };
        out += &format!("{} [{}]: {v}{expect}\n", s.source, s.language);
        if let Some(c) = s.compile.as_ref().filter(|c| !c.ok) {
            for l in c.message.lines().take(10) {
                out += &format!("    {l}\n");
            }
            continue;
        }
        let w = s
            .tests
            .iter()
            .map(|t| t.name.len())
            .max()
            .unwrap_or(4)
            .max(4);
        out += &format!(
            "  {:w$}  {:7}  {:>8}  {:>10}  message\n",
            "test", "verdict", "time", "memory"
        );
        for t in &s.tests {
            let mut msg = t.message.clone();
            if let Some(r) = &t.rule {
                msg = format!("{msg} [{r}]");
            }
            out += &format!(
                "  {:w$}  {:7}  {:>8}  {:>7}KiB  {}\n",
                t.name,
                t.verdict.as_str(),
                secs(t.figures.cpu_ms),
                t.figures.memory_kib,
                msg.lines().next().unwrap_or("")
            );
        }
    }
    let s = &doc.summary;
    let tally: Vec<String> = s
        .test_verdicts
        .iter()
        .map(|(c, n)| format!("{c} {n}"))
        .collect();
    out += &format!(
        "{} submission(s), {} test run(s){}{}\n",
        s.submissions,
        s.tests,
        if tally.is_empty() {
            String::new()
        } else {
            format!(": {}", tally.join(", "))
        },
        if doc.verify {
            format!("; {} mismatch(es)", s.mismatches)
        } else {
            String::new()
        }
    );
    out
}

/// Where a submission's label comes from: its path as given.
pub fn label(p: &Path) -> String {
    p.display().to_string()
}
