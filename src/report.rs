//! Verdicts and their two forms: the classic 4-line report that graders
//! already parse, and a JSON object with full precision.

use std::fmt;

use schemars::JsonSchema;
use serde::Serialize;

use crate::config::Limits;

/// Which limit a time verdict came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TimeKind {
    Cpu,
    Wall,
}

/// A call refused by the policy with the `kill` action.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Restricted {
    /// The syscall's name, e.g. `socket`.
    pub syscall: String,
    /// Its arguments as a person reads them.
    pub args: Vec<String>,
    /// The rule that decided, `file:line`, or `default`/`built-in`.
    pub rule: String,
    /// The process that made the call.
    pub pid: i32,
}

/// What happened to the program.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(tag = "code")]
pub enum Verdict {
    OK,
    /// Time Limit Exceeded.
    TLE {
        kind: TimeKind,
    },
    /// Memory Limit Exceeded.
    MLE,
    /// Output Limit Exceeded (a file grew past --fsize: SIGXFSZ).
    OLE,
    /// Runtime error: exited with a non-zero status.
    RE {
        exit_code: i32,
    },
    /// Terminated by a signal.
    SIG {
        signal: i32,
        name: String,
    },
    /// Restricted Function: the policy ended the run.
    RF(Restricted),
    /// The sandbox failed during the run.
    IE {
        message: String,
    },
}

impl Verdict {
    pub fn code(&self) -> &'static str {
        match self {
            Verdict::OK => "OK",
            Verdict::TLE { .. } => "TLE",
            Verdict::MLE => "MLE",
            Verdict::OLE => "OLE",
            Verdict::RE { .. } => "RE",
            Verdict::SIG { .. } => "SIG",
            Verdict::RF(_) => "RF",
            Verdict::IE { .. } => "IE",
        }
    }

    /// True when the sandbox, not the program, failed.
    pub fn is_internal(&self) -> bool {
        matches!(self, Verdict::IE { .. })
    }
}

/// The classic first line.
impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::OK => f.write_str("OK"),
            Verdict::TLE { .. } => f.write_str("Time Limit Exceeded"),
            Verdict::MLE => f.write_str("Memory Limit Exceeded"),
            Verdict::OLE => f.write_str("Output Limit Exceeded"),
            Verdict::RE { exit_code } => {
                write!(f, "Command exited with non-zero status ({exit_code})")
            }
            Verdict::SIG { signal, name } => {
                write!(f, "Command terminated by signal ({signal}: {name})")
            }
            Verdict::RF(r) => write!(f, "Restricted Function ({})", r.syscall),
            Verdict::IE { .. } => f.write_str("Internal Error"),
        }
    }
}

/// Where a figure came from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
pub struct Sources {
    /// e.g. "rusage" (wait4 ru_maxrss of each reaped process, max with the
    /// sampled sum of /proc RSS), or "cgroup".
    pub memory: String,
    /// Where the CPU figures come from (the cgroup, or wait4's rusage).
    pub cpu: String,
}

/// The version of the JSON report's schema (docs/report.schema.json).
/// Adding a field keeps it; a field that is removed, renamed or changes
/// meaning, type or unit raises it (docs/usage.md, "Compatibility").
pub const SCHEMA_VERSION: u32 = 1;

/// The JSON report: the report's fields, then `schema_version` (last, so
/// the report still starts with `{"verdict"` for readers that look for it).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(
    title = "safeexec report",
    description = "The JSON report of one run (safeexec --report json). Consumers must ignore fields they do not know: later versions may add fields without changing schema_version."
)]
pub struct JsonReport<'a> {
    #[serde(flatten)]
    pub report: &'a Report,
    /// The schema's version: changes only when a field is removed, renamed
    /// or changes meaning, type or unit.
    pub schema_version: u32,
}

/// The full report of one run.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Report {
    pub verdict: Verdict,
    /// The classic first line, e.g. "Time Limit Exceeded".
    pub status: String,
    /// Wall time from fork to the last process reaped, ms.
    pub wall_ms: u64,
    /// CPU time (user + system) of every process of the run, ms (fractional).
    pub cpu_ms: f64,
    /// User CPU time of every process of the run, ms (fractional).
    pub user_ms: f64,
    /// System CPU time of every process of the run, ms (fractional).
    pub sys_ms: f64,
    /// Peak resident memory of the run, KiB.
    pub memory_kib: u64,
    /// Exit code of the program's first process, if it exited.
    pub exit_code: Option<i32>,
    /// Signal that ended the program's first process, if any.
    pub signal: Option<i32>,
    /// Processes the run created (its first one included).
    pub processes: u64,
    /// The limits in force.
    pub limits: Limits,
    /// Where the memory and CPU figures come from.
    pub sources: Sources,
    /// Paranoid mode: calls the policy refused with an errno (count).
    pub denied_calls: u64,
    /// Paranoid mode: calls the policy let run and logged (count).
    pub logged_calls: u64,
    /// `classic` or `paranoid`.
    pub mode: String,
    /// The run's unique uid and its gid; in rootless mode the caller's own
    /// host uid and gid (the run has no uid of its own: its processes are
    /// told apart by their user and PID namespaces).
    pub uid: u32,
    /// The run's gid (see `uid`).
    pub gid: u32,
    /// Run without root, in an unprivileged user namespace (see
    /// docs/security.md, "Rootless mode").
    pub rootless: bool,
    /// Paranoid mode: which layers enforced the policy's path rules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paths: Option<crate::supervisor::landlock::PathEnforcement>,
    /// What the caller should know that does not change the verdict: the
    /// trace reached its bound (`--trace-limit`) and was cut, a protection
    /// weaker than asked (path rules without Landlock), ...
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl Report {
    /// The classic 4-line report, byte for byte.
    pub fn classic(&self) -> String {
        format!(
            "{}\nelapsed time: {} seconds\nmemory usage: {} kbytes\ncpu usage: {:.3} seconds\n",
            self.verdict,
            self.wall_ms / 1000,
            self.memory_kib,
            self.cpu_ms / 1000.0
        )
    }

    /// The report as JSON consumers get it: with its `schema_version`.
    pub fn versioned(&self) -> JsonReport<'_> {
        JsonReport {
            report: self,
            schema_version: SCHEMA_VERSION,
        }
    }

    /// The JSON report (docs/report.schema.json).
    pub fn json(&self) -> String {
        // Serialisation of plain data with string keys cannot fail.
        serde_json::to_string_pretty(&self.versioned())
            .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
            + "\n"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(verdict: Verdict) -> Report {
        Report {
            status: verdict.to_string(),
            verdict,
            wall_ms: 1234,
            cpu_ms: 500.4,
            user_ms: 500.0,
            sys_ms: 0.4,
            memory_kib: 1024,
            exit_code: Some(0),
            signal: None,
            processes: 1,
            limits: Limits::default(),
            sources: Sources::default(),
            denied_calls: 0,
            logged_calls: 0,
            mode: "classic".into(),
            uid: 10_001,
            gid: 10_001,
            rootless: false,
            paths: None,
            warnings: Vec::new(),
        }
    }

    #[test]
    fn classic_report_is_four_exact_lines() {
        let r = sample(Verdict::OK);
        assert_eq!(
            r.classic(),
            "OK\nelapsed time: 1 seconds\nmemory usage: 1024 kbytes\ncpu usage: 0.500 seconds\n"
        );
        let r = sample(Verdict::SIG {
            signal: 11,
            name: "SIGSEGV".into(),
        });
        assert!(r
            .classic()
            .starts_with("Command terminated by signal (11: SIGSEGV)\n"));
        let r = sample(Verdict::RE { exit_code: 3 });
        assert!(r
            .classic()
            .starts_with("Command exited with non-zero status (3)\n"));
    }

    #[test]
    fn json_carries_code_and_kind() {
        let r = sample(Verdict::TLE {
            kind: TimeKind::Wall,
        });
        let v: serde_json::Value = serde_json::from_str(&r.json()).unwrap();
        assert_eq!(v["verdict"]["code"], "TLE");
        assert_eq!(v["verdict"]["kind"], "wall");
        assert_eq!(v["limits"]["cpu"], 1000);
        assert_eq!(v["status"], "Time Limit Exceeded");
        assert_eq!(v["schema_version"], SCHEMA_VERSION);
        // The report still starts with the verdict (readers look for it).
        assert!(r.json().starts_with("{\n  \"verdict\": {"), "{}", r.json());
    }
}
