//! Syscall audit records (`--trace FILE`): one JSON object a line.
//!
//! A run's trace starts with a `start` event, holds one [`SyscallRecord`]
//! per system call (or only the calls a rule did not simply allow, with
//! `--trace-level denied`) and the process events ([`Event`]), and ends with
//! a `verdict` event carrying the report's fields. docs/trace.md has the
//! schema with a real excerpt; `safeexec audit` and `safeexec policy learn`
//! read it back line by line.

pub mod decode;
mod reader;

pub use reader::TraceReader;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::error::SandboxError;

/// The version of the trace records' schema, written in the `start`
/// event. Adding a field keeps it; removing or renaming one, or changing
/// its meaning, type or unit, raises it.
pub const SCHEMA_VERSION: u32 = 1;

/// Largest `--trace-limit`, KiB (4 GiB).
pub const MAX_TRACE_LIMIT_KIB: u64 = 4 << 20;

/// The trace's bound when `--trace-limit` is not given, KiB: the run's
/// `--fsize` (what the program may write to one file), at most
/// [`MAX_TRACE_LIMIT_KIB`] and at least 1 KiB.
pub fn default_limit_kib(fsize_kib: u64) -> u64 {
    fsize_kib.clamp(1, MAX_TRACE_LIMIT_KIB)
}

/// Room kept under the bound for the final `truncated` record, bytes.
const TRUNCATED_RESERVE: u64 = 256;

/// What `--trace` records.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum TraceLevel {
    /// Every system call, with its return value: every call stops for the
    /// supervisor (slower, like strace).
    All,
    /// Only calls a rule did not simply allow (deny, kill, log, path
    /// violations), with the fast in-kernel filter: allowed calls never stop.
    Denied,
}

/// One path a call named, resolved as the tracee sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PathUse {
    /// read, write, exec or stat: the operation the path rules check.
    pub op: String,
    pub path: String,
}

/// One system call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SyscallRecord {
    /// Microseconds from the fork of the run's first process to the call's entry.
    pub t_us: u64,
    /// Process (thread group) id.
    pub pid: i32,
    /// Thread id (equal to `pid` for a single-threaded process).
    pub tid: i32,
    pub syscall: String,
    /// Arguments as a person reads them: numbers, symbolic flags, strings.
    pub args: Vec<serde_json::Value>,
    /// Return value (absent when the call did not return: exit, a kill, a
    /// `log` call under `--trace-level denied`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ret: Option<i64>,
    /// The error, by name, instead of `ret` when the call failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errno: Option<String>,
    /// allow, log, deny or kill.
    pub decision: String,
    /// `file:line` of the deciding rule, `default`, or `built-in`.
    pub rule: String,
    /// Why, when it was not simply a rule: a path violation, a built-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The paths the call named, absolute, as the path rules saw them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<PathUse>,
    /// Microseconds from entry to exit (the supervisor's stops included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dur_us: Option<u64>,
}

/// A process event, or the run's start and verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum Event {
    Start {
        /// The version of the trace records' schema (docs/trace.schema.json);
        /// absent (0) in traces written before it existed.
        #[serde(default)]
        schema_version: u32,
        t_us: u64,
        pid: i32,
        program: String,
        argv: Vec<String>,
        /// The run's working directory (what `./` in a policy means).
        cwd: String,
        policy: String,
        level: TraceLevel,
        /// The supervisor's pid: names made from it (the run's cgroup
        /// `run-PID`) differ from run to run. Absent in older traces.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        supervisor: Option<u32>,
    },
    Fork {
        t_us: u64,
        pid: i32,
        child: i32,
    },
    Vfork {
        t_us: u64,
        pid: i32,
        child: i32,
    },
    Clone {
        t_us: u64,
        pid: i32,
        child: i32,
        /// The child is a thread of `pid`.
        thread: bool,
    },
    Exec {
        t_us: u64,
        pid: i32,
        path: String,
        argv: Vec<String>,
    },
    Signal {
        t_us: u64,
        pid: i32,
        signal: String,
    },
    Exit {
        t_us: u64,
        pid: i32,
        /// Exit status, when it exited.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<i32>,
        /// The signal that ended it, when one did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signal: Option<String>,
    },
    /// The trace reached its bound (`--trace-limit`): nothing is recorded
    /// after this line, not even the verdict; the run itself went on.
    Truncated {
        t_us: u64,
        /// The bound, bytes.
        limit: u64,
        /// Records written before this one.
        records: u64,
    },
    Verdict {
        t_us: u64,
        /// The JSON report's fields.
        #[serde(flatten)]
        report: serde_json::Map<String, serde_json::Value>,
    },
}

/// Any line of a trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
#[schemars(
    title = "safeexec trace record",
    description = "One line of a trace written by safeexec --trace: a process event or one system call. Consumers must ignore fields they do not know: later versions may add fields without changing schema_version."
)]
pub enum Record {
    Event(Event),
    Syscall(SyscallRecord),
}

/// Writes records to the trace file. The first write error is kept; the
/// supervisor then ends the run with an Internal Error naming it.
///
/// The file is bounded: a record that would take it past the limit is
/// replaced by a final [`Event::Truncated`] record, and nothing is written
/// after it (writes succeed and are dropped), so the file never exceeds its
/// limit.
pub struct TraceWriter {
    out: BufWriter<File>,
    path: PathBuf,
    start: Instant,
    pub level: TraceLevel,
    error: Option<String>,
    /// The bound, bytes; None until set (the supervisor then applies
    /// [`default_limit_kib`] of the run's `--fsize`).
    limit: Option<u64>,
    written: u64,
    records: u64,
    /// Called with the count after each record (a progress display; it
    /// runs in the supervisor's loop, so no thread exists while it forks).
    progress: Option<Box<dyn FnMut(u64) + Send>>,
    truncated: bool,
    scratch: Vec<u8>,
}

impl TraceWriter {
    /// Creates (truncates) the trace file, before the run, so a bad path
    /// fails early (exit status 6).
    pub fn open(path: &Path, level: TraceLevel) -> Result<TraceWriter, SandboxError> {
        let f = crate::files::open_output("trace file", path)?;
        Ok(TraceWriter {
            out: BufWriter::with_capacity(64 * 1024, f),
            path: path.to_path_buf(),
            start: Instant::now(),
            level,
            error: None,
            limit: None,
            progress: None,
            written: 0,
            records: 0,
            truncated: false,
            scratch: Vec::with_capacity(4096),
        })
    }

    /// Calls `f` with the number of records written after each record (a
    /// progress display; `f` should be cheap and throttle itself).
    pub fn set_progress(&mut self, f: Box<dyn FnMut(u64) + Send>) {
        self.progress = Some(f);
    }

    /// Bounds the file to `bytes` (at least 1 KiB).
    pub fn set_limit(&mut self, bytes: u64) {
        self.limit = Some(bytes.max(1024));
    }

    /// Sets the default bound for a run with this `--fsize`, unless a bound
    /// is already set.
    pub fn default_limit(&mut self, fsize_kib: u64) {
        if self.limit.is_none() {
            self.set_limit(default_limit_kib(fsize_kib) << 10);
        }
    }

    /// The bound, bytes.
    pub fn limit(&self) -> Option<u64> {
        self.limit
    }

    /// True once the bound was reached and recording stopped.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// The report's warning when the trace was cut at its bound.
    pub fn warning(&self) -> Option<String> {
        let limit = self.limit.filter(|_| self.truncated)?;
        Some(format!(
            "trace {} reached its bound of {} (--trace-limit) after {} records: it ends with a `truncated` record; the run went on unrecorded and its verdict is unchanged",
            self.path.display(),
            crate::input::human_size(limit),
            self.records
        ))
    }

    /// Times are counted from here (the fork of the run's first process).
    pub fn set_start(&mut self, start: Instant) {
        self.start = start;
    }

    pub fn start(&self) -> Instant {
        self.start
    }

    /// Microseconds since the start.
    pub fn now_us(&self) -> u64 {
        self.start.elapsed().as_micros() as u64
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record, or, when it would take the file past its bound,
    /// the final `truncated` record instead (later records are dropped).
    /// Err: the message of the (first) write failure.
    pub fn write<T: Serialize>(&mut self, rec: &T) -> Result<(), String> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        if self.truncated {
            return Ok(());
        }
        self.scratch.clear();
        if let Err(e) = serde_json::to_writer(&mut self.scratch, rec) {
            return Err(self.fail(e.into()));
        }
        self.scratch.push(b'\n');
        let len = self.scratch.len() as u64;
        if let Some(limit) = self.limit {
            if self.written + len + TRUNCATED_RESERVE > limit {
                return self.truncate(limit);
            }
        }
        let r = self.out.write_all(&self.scratch);
        self.written += len;
        self.records += 1;
        if let Some(p) = self.progress.as_mut() {
            p(self.records);
        }
        r.map_err(|e| self.fail(e))
    }

    fn truncate(&mut self, limit: u64) -> Result<(), String> {
        self.truncated = true;
        let ev = Event::Truncated {
            t_us: self.now_us(),
            limit,
            records: self.records,
        };
        self.scratch.clear();
        let r = serde_json::to_writer(&mut self.scratch, &ev)
            .map_err(std::io::Error::from)
            .and_then(|_| {
                self.scratch.push(b'\n');
                self.out.write_all(&self.scratch)
            })
            .and_then(|_| self.out.flush());
        self.written += self.scratch.len() as u64;
        r.map_err(|e| self.fail(e))
    }

    /// Writes out what is buffered.
    pub fn flush(&mut self) -> Result<(), String> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let r = self.out.flush();
        r.map_err(|e| self.fail(e))
    }

    fn fail(&mut self, e: std::io::Error) -> String {
        let m = format!("cannot write trace file {}: {e}", self.path.display());
        self.error = Some(m.clone());
        m
    }

    /// The first write failure, if any.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_stops_at_its_bound_with_a_truncated_record() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("t.jsonl");
        let mut w = TraceWriter::open(&p, TraceLevel::All).unwrap();
        w.default_limit(4); // --fsize 4: 4 KiB
        w.set_limit(4096); // an explicit bound wins over the default
        w.default_limit(8192);
        assert_eq!(w.limit(), Some(4096));
        let ev = Event::Exec {
            t_us: 1,
            pid: 2,
            path: "x".repeat(500),
            argv: vec![],
        };
        for _ in 0..100 {
            w.write(&ev).unwrap();
        }
        assert!(w.truncated());
        w.flush().unwrap();
        assert!(w.warning().unwrap().contains("reached its bound of 4 KiB"));
        let size = std::fs::metadata(&p).unwrap().len();
        assert!(size <= 4096 && size > 3000, "{size}");
        let mut r = TraceReader::open(&p).unwrap();
        let recs: Vec<Record> = r.by_ref().map(|x| x.unwrap()).collect();
        assert_eq!(r.truncated(), Some(4096));
        match recs.last() {
            Some(Record::Event(Event::Truncated { records, .. })) => {
                assert_eq!(*records as usize, recs.len() - 1)
            }
            other => panic!("{other:?}"),
        }
        // Unbounded until a bound is set; the smallest bound is 1 KiB.
        let mut w = TraceWriter::open(&p, TraceLevel::All).unwrap();
        assert_eq!(w.limit(), None);
        w.set_limit(10);
        assert_eq!(w.limit(), Some(1024));
        assert_eq!(default_limit_kib(0), 1);
        assert_eq!(default_limit_kib(u64::MAX), MAX_TRACE_LIMIT_KIB);
    }
}
