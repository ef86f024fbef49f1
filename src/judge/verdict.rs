//! Verdicts and results of judging, as written to JSON and read back by
//! `judge merge` and from the run workers.

use serde::{Deserialize, Serialize};

/// A test's (or a submission's) verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Code {
    /// Accepted.
    AC,
    /// Wrong answer.
    WA,
    /// Time limit exceeded (CPU or wall clock).
    TLE,
    /// Memory limit exceeded.
    MLE,
    /// Output limit exceeded.
    OLE,
    /// Run-time error: a non-zero exit status or a signal.
    RTE,
    /// Restricted function: the policy ended the run.
    RF,
    /// Compile error.
    CE,
    /// Judge error: the validator or the sandbox failed.
    JE,
}

impl Code {
    pub const ALL: [Code; 9] = [
        Code::AC,
        Code::WA,
        Code::TLE,
        Code::MLE,
        Code::OLE,
        Code::RTE,
        Code::RF,
        Code::CE,
        Code::JE,
    ];

    pub fn parse(s: &str) -> Option<Code> {
        Code::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Code::AC => "AC",
            Code::WA => "WA",
            Code::TLE => "TLE",
            Code::MLE => "MLE",
            Code::OLE => "OLE",
            Code::RTE => "RTE",
            Code::RF => "RF",
            Code::CE => "CE",
            Code::JE => "JE",
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The figures of one sandboxed run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunFigures {
    /// CPU time of the run, ms.
    pub cpu_ms: f64,
    /// Wall time, ms.
    pub wall_ms: u64,
    /// Peak resident memory, KiB.
    pub memory_kib: u64,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
}

/// The result of one test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestResult {
    /// Position of the test in the package order (0-based).
    pub n: usize,
    pub group: String,
    pub name: String,
    pub verdict: Code,
    #[serde(flatten)]
    pub figures: RunFigures,
    /// RF: the refused call and the policy rule that fired (`file:line`).
    pub rule: Option<String>,
    /// What the verdict means here: the checker's message, the sandbox's
    /// status line, the judge error.
    pub message: String,
    /// The output validator's feedback (judgemessage.txt), if any.
    pub feedback: Option<String>,
    /// JE only: the exit status it gives the judge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_status: Option<i32>,
}

/// The result of compiling one submission (or the output validator).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompileResult {
    /// False: CE (or JE when the sandbox failed, see `error_status`).
    pub ok: bool,
    /// The first lines of the compiler's message; the sandbox status on a
    /// limit.
    pub message: String,
    #[serde(flatten)]
    pub figures: RunFigures,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_status: Option<i32>,
}

/// The limits one submission's tests run under.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestLimits {
    /// CPU, ms (problem time limit x multiplier + extra).
    pub cpu_ms: u64,
    /// Wall clock, ms.
    pub wall_ms: u64,
    /// Peak resident memory, KiB.
    pub memory_kib: u64,
    /// Largest output, KiB.
    pub output_kib: u64,
    /// Processes/threads besides the first.
    pub nproc: u64,
    /// The policy (paranoid mode), else null.
    pub policy: Option<String>,
}

/// One submission's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubmissionResult {
    pub source: String,
    pub language: String,
    /// --verify: the verdict of its directory.
    pub expected: Option<Code>,
    /// The compile step (null for a language without one, and in a shard
    /// that judged none of its tests).
    pub compile: Option<CompileResult>,
    pub limits: TestLimits,
    /// CE, else the verdict of the first test (in package order) that was
    /// not AC, else AC. Null in a shard that judged none of its tests.
    pub verdict: Option<Code>,
    /// --verify: verdict == expected.
    pub matches_expected: Option<bool>,
    pub tests: Vec<TestResult>,
}

impl SubmissionResult {
    /// The submission's verdict from its compile result and tests.
    pub fn decide(&mut self, judged: bool) {
        self.verdict = if !judged {
            None
        } else if self.compile.as_ref().is_some_and(|c| !c.ok) {
            Some(
                if self.compile.as_ref().and_then(|c| c.error_status).is_some() {
                    Code::JE
                } else {
                    Code::CE
                },
            )
        } else {
            let mut t: Vec<&TestResult> = self.tests.iter().collect();
            t.sort_by_key(|t| t.n);
            Some(
                t.iter()
                    .map(|t| t.verdict)
                    .find(|v| *v != Code::AC)
                    .unwrap_or(Code::AC),
            )
        };
        self.matches_expected = match (self.expected, self.verdict) {
            (Some(e), Some(v)) => Some(e == v),
            _ => None,
        };
    }
}
