//! Syscall audit records (`--trace FILE`): one JSON object a line.
//!
//! A run's trace starts with a `start` event, holds one [`SyscallRecord`]
//! per system call (or only the calls a rule did not simply allow, with
//! `--trace-level denied`) and the process events ([`Event`]), and ends with
//! a `verdict` event carrying the report's fields. docs/trace.md has the
//! schema with a real excerpt; `safeexec audit` and `safeexec policy learn`
//! read it back line by line.

pub mod decode;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::error::SandboxError;

/// What `--trace` records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathUse {
    /// read, write, exec or stat: the operation the path rules check.
    pub op: String,
    pub path: String,
}

/// One system call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum Event {
    Start {
        t_us: u64,
        pid: i32,
        program: String,
        argv: Vec<String>,
        /// The run's working directory (what `./` in a policy means).
        cwd: String,
        policy: String,
        level: TraceLevel,
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
    Verdict {
        t_us: u64,
        /// The JSON report's fields.
        #[serde(flatten)]
        report: serde_json::Map<String, serde_json::Value>,
    },
}

/// Any line of a trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Record {
    Event(Event),
    Syscall(SyscallRecord),
}

/// Writes records to the trace file. The first write error is kept; the
/// supervisor then ends the run with an Internal Error naming it.
pub struct TraceWriter {
    out: BufWriter<File>,
    path: PathBuf,
    start: Instant,
    pub level: TraceLevel,
    error: Option<String>,
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
        })
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

    /// Appends one record. Err: the message of the (first) write failure.
    pub fn write<T: Serialize>(&mut self, rec: &T) -> Result<(), String> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let r = serde_json::to_writer(&mut self.out, rec)
            .map_err(std::io::Error::from)
            .and_then(|_| self.out.write_all(b"\n"));
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
