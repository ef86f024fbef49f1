//! `safeexec audit TRACE`: a summary of a trace for a person (or, with
//! `--json`, for a program): per system call the calls, errors and time
//! (like `strace -c`; time is the sum of entry-to-exit gaps), the process
//! tree with each exec, files opened for reading and for writing, network
//! attempts, and every denied or killed call with its rule.
//!
//! The trace is streamed record by record by [`TraceReader`]; it is never
//! loaded whole. A file with no trace record is an error
//! ([`SandboxError::NotATrace`], exit status 10), not an empty summary.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::error::SandboxError;
use crate::trace::{Event, Record, SyscallRecord, TraceReader};

/// Lists of single calls (network, denied) keep at most this many entries;
/// the counts stay exact.
pub const MAX_LISTED: usize = 1000;

#[derive(Debug, Default, Clone, Serialize)]
pub struct SyscallStat {
    pub syscall: String,
    pub calls: u64,
    pub errors: u64,
    /// Sum of entry-to-exit gaps, µs.
    pub time_us: u64,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct ExecUse {
    pub t_us: u64,
    pub path: String,
    pub argv: Vec<String>,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct Process {
    pub pid: i32,
    /// Its creator, and how (fork, vfork, clone, thread).
    pub parent: Option<i32>,
    pub how: Option<String>,
    pub execs: Vec<ExecUse>,
    /// "exit 0" or "signal SIGKILL", when seen.
    pub end: Option<String>,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct FileUse {
    pub path: String,
    /// Successful opens.
    pub opens: u64,
    /// Failed opens, and the first error.
    pub failed: u64,
    pub first_error: Option<String>,
    /// The process that first opened it.
    pub first_pid: i32,
}

/// One call as listed in the network and denied sections.
#[derive(Debug, Clone, Serialize)]
pub struct CallUse {
    pub t_us: u64,
    pub pid: i32,
    pub syscall: String,
    pub args: Vec<serde_json::Value>,
    /// `ret N`, `errno`, or empty when the call did not return.
    pub result: String,
    pub decision: String,
    pub rule: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct Totals {
    pub calls: u64,
    pub errors: u64,
    pub time_us: u64,
}

/// The summary of one trace.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Summary {
    pub program: Option<String>,
    pub policy: Option<String>,
    pub level: Option<String>,
    /// By time spent, then calls.
    pub syscalls: Vec<SyscallStat>,
    pub total: Totals,
    /// In order of appearance; `parent` links make the tree.
    pub processes: Vec<Process>,
    pub files_read: Vec<FileUse>,
    pub files_written: Vec<FileUse>,
    pub network_calls: u64,
    pub network: Vec<CallUse>,
    pub denied_calls: u64,
    pub denied: Vec<CallUse>,
    pub signals: Vec<(i32, String)>,
    /// The verdict record's `status` and `verdict`, when the trace has one.
    pub status: Option<String>,
    pub verdict: Option<serde_json::Value>,
    /// Lines that were not trace records (e.g. a last line cut short).
    pub unreadable_lines: u64,
    /// The trace reached its bound (`--trace-limit`, bytes) and ends with a
    /// `truncated` record: later calls and the verdict are not in it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated: Option<u64>,
}

/// Network system calls.
pub fn is_network(s: &str) -> bool {
    matches!(
        s,
        "socket"
            | "socketpair"
            | "connect"
            | "bind"
            | "listen"
            | "accept"
            | "accept4"
            | "sendto"
            | "recvfrom"
            | "sendmsg"
            | "recvmsg"
            | "sendmmsg"
            | "recvmmsg"
            | "shutdown"
            | "setsockopt"
            | "getsockopt"
            | "getsockname"
            | "getpeername"
    )
}

/// Calls that open a file (their first path is the file).
pub fn is_open(s: &str) -> bool {
    matches!(s, "open" | "openat" | "openat2" | "creat")
}

fn result_of(r: &SyscallRecord) -> String {
    match (&r.errno, r.ret) {
        (Some(e), _) => e.clone(),
        (None, Some(v)) => format!("ret {v}"),
        (None, None) => String::new(),
    }
}

fn call_use(r: &SyscallRecord) -> CallUse {
    CallUse {
        t_us: r.t_us,
        pid: r.pid,
        syscall: r.syscall.clone(),
        args: r.args.clone(),
        result: result_of(r),
        decision: r.decision.clone(),
        rule: r.rule.clone(),
        reason: r.reason.clone(),
    }
}

/// Reads a trace line by line into a summary.
pub fn summarise(path: &Path) -> Result<Summary, SandboxError> {
    let mut reader = TraceReader::open(path)?;
    let mut s = Summary::default();
    let mut stats: HashMap<String, SyscallStat> = HashMap::new();
    let mut procs: Vec<Process> = Vec::new();
    let mut proc_index: HashMap<i32, usize> = HashMap::new();
    let mut reads: BTreeMap<String, FileUse> = BTreeMap::new();
    let mut writes: BTreeMap<String, FileUse> = BTreeMap::new();
    let mut proc_of = |procs: &mut Vec<Process>, pid: i32| -> usize {
        *proc_index.entry(pid).or_insert_with(|| {
            procs.push(Process {
                pid,
                ..Default::default()
            });
            procs.len() - 1
        })
    };
    while let Some(rec) = reader.next_record()? {
        match rec {
            Record::Syscall(r) => {
                let st = stats
                    .entry(r.syscall.clone())
                    .or_insert_with(|| SyscallStat {
                        syscall: r.syscall.clone(),
                        ..Default::default()
                    });
                st.calls += 1;
                st.time_us += r.dur_us.unwrap_or(0);
                if r.errno.is_some() {
                    st.errors += 1;
                }
                proc_of(&mut procs, r.pid);
                if is_open(&r.syscall) {
                    if let Some(p) = r.paths.first() {
                        let map = match p.op.as_str() {
                            "read" => Some(&mut reads),
                            "write" => Some(&mut writes),
                            _ => None,
                        };
                        if let Some(map) = map {
                            let e = map.entry(p.path.clone()).or_insert_with(|| FileUse {
                                path: p.path.clone(),
                                first_pid: r.pid,
                                ..Default::default()
                            });
                            if r.errno.is_some() || r.decision == "deny" || r.decision == "kill" {
                                e.failed += 1;
                                if e.first_error.is_none() {
                                    e.first_error =
                                        Some(r.errno.clone().unwrap_or_else(|| r.decision.clone()));
                                }
                            } else {
                                e.opens += 1;
                            }
                        }
                    }
                }
                if is_network(&r.syscall) {
                    s.network_calls += 1;
                    if s.network.len() < MAX_LISTED {
                        s.network.push(call_use(&r));
                    }
                }
                if r.decision == "deny" || r.decision == "kill" {
                    s.denied_calls += 1;
                    if s.denied.len() < MAX_LISTED {
                        s.denied.push(call_use(&r));
                    }
                }
            }
            Record::Event(ev) => match ev {
                Event::Start {
                    pid,
                    program,
                    policy,
                    level,
                    ..
                } => {
                    proc_of(&mut procs, pid);
                    s.program = Some(program);
                    s.policy = Some(policy);
                    s.level = Some(format!("{level:?}").to_lowercase());
                }
                Event::Fork { pid, child, .. }
                | Event::Vfork { pid, child, .. }
                | Event::Clone { pid, child, .. } => {
                    let how = match &ev {
                        Event::Fork { .. } => "fork",
                        Event::Vfork { .. } => "vfork",
                        Event::Clone { thread: true, .. } => "thread",
                        _ => "clone",
                    };
                    proc_of(&mut procs, pid);
                    let i = proc_of(&mut procs, child);
                    procs[i].parent = Some(pid);
                    procs[i].how = Some(how.to_string());
                }
                Event::Exec {
                    t_us,
                    pid,
                    path,
                    argv,
                } => {
                    let i = proc_of(&mut procs, pid);
                    procs[i].execs.push(ExecUse { t_us, path, argv });
                }
                Event::Signal { pid, signal, .. } => s.signals.push((pid, signal)),
                Event::Exit {
                    pid,
                    status,
                    signal,
                    ..
                } => {
                    let i = proc_of(&mut procs, pid);
                    procs[i].end = Some(match (status, signal) {
                        (Some(c), _) => format!("exit {c}"),
                        (None, Some(sig)) => format!("signal {sig}"),
                        _ => "gone".into(),
                    });
                }
                Event::Truncated { limit, .. } => s.truncated = Some(limit),
                Event::Verdict { report, .. } => {
                    s.status = report
                        .get("status")
                        .and_then(|v| v.as_str())
                        .map(String::from);
                    s.verdict = report.get("verdict").cloned();
                }
            },
        }
    }
    s.unreadable_lines = reader.finish()?;
    let mut v: Vec<SyscallStat> = stats.into_values().collect();
    v.sort_by(|a, b| {
        b.time_us
            .cmp(&a.time_us)
            .then(b.calls.cmp(&a.calls))
            .then(a.syscall.cmp(&b.syscall))
    });
    s.total = Totals {
        calls: v.iter().map(|x| x.calls).sum(),
        errors: v.iter().map(|x| x.errors).sum(),
        time_us: v.iter().map(|x| x.time_us).sum(),
    };
    s.syscalls = v;
    s.processes = procs;
    s.files_read = reads.into_values().collect();
    s.files_written = writes.into_values().collect();
    Ok(s)
}

fn args_text(args: &[serde_json::Value]) -> String {
    args.iter()
        .map(|a| match a {
            serde_json::Value::String(s) if s.starts_with("0x") || s == "NULL" => s.clone(),
            serde_json::Value::String(s)
                if s.chars().all(|c| {
                    c.is_ascii_uppercase() || c == '_' || c == '|' || c.is_ascii_digit()
                }) && !s.is_empty() =>
            {
                s.clone()
            }
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl Summary {
    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
            + "\n"
    }

    /// The summary for a person.
    pub fn text(&self) -> String {
        let mut o = String::new();
        if let Some(p) = &self.program {
            let _ = writeln!(
                o,
                "program: {p}  (policy {}, trace level {})",
                self.policy.as_deref().unwrap_or("?"),
                self.level.as_deref().unwrap_or("?")
            );
        }
        if let Some(st) = &self.status {
            let _ = writeln!(o, "verdict: {st}");
        }
        if let Some(limit) = self.truncated {
            let _ = writeln!(
                o,
                "truncated: the trace reached its bound of {} (--trace-limit); later calls and the verdict are not recorded",
                crate::input::human_size(limit)
            );
        }
        let _ = writeln!(o, "\nsystem calls:");
        let _ = writeln!(
            o,
            "% time     seconds  usecs/call     calls    errors syscall"
        );
        let rule = "------ ----------- ----------- --------- --------- ----------------";
        let _ = writeln!(o, "{rule}");
        let total = self.total.time_us.max(1) as f64;
        for st in &self.syscalls {
            let _ = writeln!(
                o,
                "{:6.2} {:11.6} {:11} {:9} {:>9} {}",
                st.time_us as f64 * 100.0 / total,
                st.time_us as f64 / 1e6,
                st.time_us / st.calls.max(1),
                st.calls,
                if st.errors > 0 {
                    st.errors.to_string()
                } else {
                    String::new()
                },
                st.syscall
            );
        }
        let _ = writeln!(o, "{rule}");
        let _ = writeln!(
            o,
            "{:6.2} {:11.6} {:11} {:9} {:>9} total",
            100.0,
            self.total.time_us as f64 / 1e6,
            "",
            self.total.calls,
            self.total.errors
        );

        let _ = writeln!(o, "\nprocess tree:");
        let roots: Vec<&Process> = self
            .processes
            .iter()
            .filter(|p| {
                p.parent
                    .map(|pp| !self.processes.iter().any(|q| q.pid == pp))
                    .unwrap_or(true)
            })
            .collect();
        for r in roots {
            self.tree(&mut o, r, 1, 0);
        }

        for (title, list) in [
            ("files opened for reading", &self.files_read),
            ("files opened for writing", &self.files_written),
        ] {
            let _ = writeln!(o, "\n{title}: {}", list.len());
            for f in list {
                let mut extra = format!("{} open{}", f.opens, if f.opens == 1 { "" } else { "s" });
                if f.failed > 0 {
                    let _ = write!(
                        extra,
                        ", {} failed ({})",
                        f.failed,
                        f.first_error.as_deref().unwrap_or("?")
                    );
                }
                let _ = writeln!(o, "  {}  [{extra}; pid {}]", f.path, f.first_pid);
            }
        }
        for (title, n, list) in [
            ("network attempts", self.network_calls, &self.network),
            ("denied or killed calls", self.denied_calls, &self.denied),
        ] {
            let _ = writeln!(o, "\n{title}: {n}");
            for c in list {
                let _ = writeln!(
                    o,
                    "  {:>10.6}s pid {} {}({}){} -> {} [{}{}]",
                    c.t_us as f64 / 1e6,
                    c.pid,
                    c.syscall,
                    args_text(&c.args),
                    if c.result.is_empty() {
                        String::new()
                    } else {
                        format!(" = {}", c.result)
                    },
                    c.decision,
                    c.rule,
                    c.reason
                        .as_ref()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default()
                );
            }
            if (n as usize) > list.len() {
                let _ = writeln!(o, "  ... {} more", n as usize - list.len());
            }
        }
        if !self.signals.is_empty() {
            let _ = writeln!(o, "\nsignals:");
            for (pid, sig) in &self.signals {
                let _ = writeln!(o, "  pid {pid}: {sig}");
            }
        }
        if self.unreadable_lines > 0 {
            let _ = writeln!(
                o,
                "\n{} line(s) were not trace records and were skipped",
                self.unreadable_lines
            );
        }
        o
    }

    fn tree(&self, o: &mut String, p: &Process, depth: usize, guard: usize) {
        if guard > 64 {
            return;
        }
        let ind = "  ".repeat(depth);
        let how = p
            .how
            .as_deref()
            .map(|h| format!(" ({h})"))
            .unwrap_or_default();
        let end = p
            .end
            .as_deref()
            .map(|e| format!(" -> {e}"))
            .unwrap_or_default();
        let _ = writeln!(o, "{ind}{}{how}{end}", p.pid);
        for e in &p.execs {
            let _ = writeln!(o, "{ind}  exec {} {:?}", e.path, e.argv);
        }
        for c in self
            .processes
            .iter()
            .filter(|c| c.parent == Some(p.pid) && c.pid != p.pid)
        {
            self.tree(o, c, depth + 1, guard + 1);
        }
    }
}
