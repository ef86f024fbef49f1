//! Paranoid mode: the ptrace + seccomp supervisor loop.
//!
//! The child is seized with every option before it installs the filter and
//! execs (jail.rs). The filter answers most calls in the kernel; calls whose
//! rule needs the supervisor (path rules, log, kill) stop with
//! SECCOMP_RET_TRACE and are decided here with the same [`Policy::decide`]
//! the filter was compiled from. Every process and thread is followed
//! through fork, vfork, clone and exec events, which may arrive in any order.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Instant;

use nix::errno::Errno;
use nix::unistd::Pid;
use syscalls::Sysno;

use super::paths::{foreign_proc_secret, View};
use super::watchdog::{KillReason, Shared};
use super::Outcome;
use crate::config::RunConfig;
use crate::error::{Result, SandboxError};
use crate::policy::{self, Action, Call, Cause, Decision, PathOp, PathOpSpec, Policy};
use crate::report::Restricted;
use crate::sys::{self, ptrace as pt, SockFilter};
use crate::trace::{self, Event, SyscallRecord, TraceLevel, TraceWriter};

/// The paths a call names (op and resolved path), and the raw bytes read
/// from the tracee for each path argument (index, bytes).
type PathsRead = (Vec<(PathOp, PathBuf)>, Vec<(usize, Vec<u8>)>);

/// SECCOMP_FILTER_FLAG_SPEC_ALLOW: do not force the speculative-store-bypass
/// mitigation on the program (docs/performance.md explains the trade).
const SECCOMP_FILTER_FLAG_SPEC_ALLOW: libc::c_ulong = 1 << 2;

/// The seccomp program of a policy, in the kernel's layout. A full trace
/// sends every call to the supervisor; `--trace-level denied` only the
/// calls the policy does not simply allow.
/// `opens_in_kernel`: Landlock enforces the open family's path rules
/// exactly, so allowed opens need no stop (not with a trace, which records
/// them).
pub(crate) fn filter_for(
    p: &Policy,
    level: Option<TraceLevel>,
    opens_in_kernel: bool,
) -> Result<(Vec<SockFilter>, libc::c_ulong)> {
    let prog = match level {
        Some(TraceLevel::All) => Ok(p.compile_trace_all()),
        Some(TraceLevel::Denied) => p.compile_denials_traced(),
        None if opens_in_kernel => p.compile_opens_in_kernel(),
        None => p.compile(),
    }
    .map_err(SandboxError::Policy)?;
    let prog = prog
        .into_iter()
        .map(|i| SockFilter {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        })
        .collect();
    Ok((prog, SECCOMP_FILTER_FLAG_SPEC_ALLOW))
}

/// Classic mode's default filter (src/policy/baseline.rs), with the same
/// flags as a policy's (no speculation mitigations forced by seccomp).
pub(crate) fn classic_filter() -> (Vec<SockFilter>, libc::c_ulong) {
    let prog = crate::policy::classic_filter()
        .into_iter()
        .map(|i| SockFilter {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        })
        .collect();
    (prog, SECCOMP_FILTER_FLAG_SPEC_ALLOW)
}

#[derive(Default)]
struct Tracee {
    /// A thread (not the leader of its thread group).
    thread: bool,
    /// Its first stop is the auto-attach stop, to be resumed.
    fresh: bool,
    /// Saw a signal-delivery stop for SIGSYS (a SIGSYS death is then not
    /// the kernel filter's).
    sigsys_seen: bool,
    /// Its thread group, once looked up (threads only).
    tgid: Option<Pid>,
    /// A full trace: the call it is in, recorded at its exit stop.
    pending: Option<Pending>,
}

/// A call that was allowed to run, waiting for its exit stop.
struct Pending {
    rec: SyscallRecord,
    sysno: Sysno,
    args: [u64; 6],
    at: Instant,
}

struct Tracer<'a> {
    policy: &'a Policy,
    shared: &'a Shared,
    root: Pid,
    root_execed: bool,
    cwd: PathBuf,
    tracees: HashMap<Pid, Tracee>,
    /// Pids whose events came before their creation event.
    early: HashSet<Pid>,
    o: Outcome,
    /// The trace file, if any.
    trace: Option<&'a mut TraceWriter>,
    /// Every call stops and is recorded with its return value.
    all: bool,
    /// The run's root as the supervisor sees it, read once: the program
    /// cannot chroot (no CAP_SYS_CHROOT), so it does not change after exec.
    view_root: Option<PathBuf>,
}

pub(crate) fn trace_loop(
    root: Pid,
    policy: &Policy,
    shared: &Shared,
    cfg: &RunConfig,
    trace: Option<&mut TraceWriter>,
) -> Outcome {
    let cwd = run_cwd(cfg);
    let all = trace.as_ref().is_some_and(|t| t.level == TraceLevel::All);
    let mut t = Tracer {
        policy,
        shared,
        root,
        root_execed: false,
        cwd,
        tracees: HashMap::new(),
        early: HashSet::new(),
        o: Outcome::default(),
        trace,
        all,
        view_root: None,
    };
    t.tracees.insert(root, Tracee::default());
    if let Some(w) = t.trace.as_deref_mut() {
        // Without --trace-limit the trace is bounded like one file the
        // program writes (--fsize).
        w.default_limit(cfg.limits.fsize_kib);
        let start = Event::Start {
            schema_version: crate::trace::SCHEMA_VERSION,
            t_us: w.now_us(),
            pid: root.as_raw(),
            program: cfg.program.display().to_string(),
            argv: std::iter::once(cfg.program.as_os_str())
                .chain(cfg.args.iter().map(|a| a.as_os_str()))
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
            cwd: t.cwd.display().to_string(),
            policy: policy.name().to_string(),
            level: w.level,
            supervisor: Some(std::process::id()),
        };
        if let Err(e) = w.write(&start) {
            t.o.internal = Some(e);
            shared.set_reason(KillReason::Supervisor);
            shared.kill_all();
            sys::kill_pid(root);
        }
    }
    loop {
        let w = match sys::wait4_any(0) {
            Ok(Some(w)) => w,
            Ok(None) => continue,
            Err(Errno::ECHILD) => break,
            Err(e) => {
                t.o.internal = Some(format!("wait4(-1, __WALL) => {e}"));
                break;
            }
        };
        let (pid, status) = (w.pid, w.status);
        if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
            let tr = t.tracees.remove(&pid).unwrap_or_default();
            shared.remove_live(pid);
            if t.trace.is_some() && t.on_gone(pid, status, tr.thread, tr.pending).is_err() {
                break;
            }
            if !tr.thread {
                if pid != root {
                    t.o.children_max_rss_kib = t.o.children_max_rss_kib.max(w.usage.maxrss_kib);
                }
                t.o.reaped.add(&w.usage);
                let ns = (w.usage.user + w.usage.sys).as_nanos() as u64;
                shared.reaped_cpu_ns.fetch_add(ns, Ordering::SeqCst);
            }
            if libc::WIFSIGNALED(status)
                && libc::WTERMSIG(status) == libc::SIGSYS
                && !tr.sigsys_seen
            {
                t.o.seccomp_killed = Some(pid);
            }
            if pid == root {
                t.o.root_status = Some(status);
                break;
            }
            continue;
        }
        if !libc::WIFSTOPPED(status) {
            continue;
        }
        if let Err(stop) = t.on_stop(pid, status) {
            if stop {
                break;
            }
        }
    }
    t.o
}

impl Tracer<'_> {
    /// Handles one stop and resumes the tracee. Err(true) ends the loop.
    fn on_stop(&mut self, pid: Pid, status: i32) -> std::result::Result<(), bool> {
        let sig = libc::WSTOPSIG(status);
        let event = (status >> 16) & 0xffff;
        if !self.tracees.contains_key(&pid) {
            // Its creation event has not arrived yet (any order is possible).
            // Classify it now, while it is stopped and its /proc entry
            // exists: a thread reaped before its creation event would
            // otherwise count as a process, and wait4 reports a thread's
            // whole group's CPU time (a false TLE for thread churn).
            self.early.insert(pid);
            self.tracees.insert(
                pid,
                Tracee {
                    fresh: true,
                    thread: tgid_of(pid).is_some_and(|g| g != pid),
                    ..Default::default()
                },
            );
        }
        let res = match event {
            libc::PTRACE_EVENT_SECCOMP => return self.on_seccomp(pid),
            libc::PTRACE_EVENT_FORK | libc::PTRACE_EVENT_VFORK | libc::PTRACE_EVENT_CLONE => {
                let child = Pid::from_raw(pt::geteventmsg(pid) as i32);
                let thread = self.on_new(child, event == libc::PTRACE_EVENT_CLONE);
                if self.trace.is_some() {
                    let (t_us, parent) = (self.now_us(), self.tgid(pid).as_raw());
                    let child = child.as_raw();
                    let ev = match event {
                        libc::PTRACE_EVENT_FORK => Event::Fork {
                            t_us,
                            pid: parent,
                            child,
                        },
                        libc::PTRACE_EVENT_VFORK => Event::Vfork {
                            t_us,
                            pid: parent,
                            child,
                        },
                        _ => Event::Clone {
                            t_us,
                            pid: parent,
                            child,
                            thread,
                        },
                    };
                    self.emit(&ev)?;
                }
                self.resume(pid, 0)
            }
            libc::PTRACE_EVENT_EXEC => {
                let former = Pid::from_raw(pt::geteventmsg(pid) as i32);
                if former != pid {
                    // A thread exec'ed: it now has the leader's pid, and
                    // its execve is still to return.
                    let pending = self.tracees.remove(&former).and_then(|t| t.pending);
                    if let Some(t) = self.tracees.get_mut(&pid) {
                        t.pending = pending;
                    }
                    self.shared.remove_live(former);
                }
                if pid == self.root {
                    self.root_execed = true;
                }
                if self.trace.is_some() {
                    let ev = exec_event(pid, self.now_us());
                    self.emit(&ev)?;
                }
                self.resume(pid, 0)
            }
            libc::PTRACE_EVENT_EXIT => {
                // The first process's own peak, without the pre-exec image
                // of the forked supervisor that its ru_maxrss also holds.
                // Other processes' ru_maxrss is exact: no /proc read per fork.
                if pid == self.root {
                    if let Some(hwm) = vm_hwm_kib(pid) {
                        self.o.max_hwm_kib = self.o.max_hwm_kib.max(hwm);
                    }
                }
                // exit and exit_group do not return: record them now.
                if let Some(p) = self.tracees.get_mut(&pid).and_then(|t| t.pending.take()) {
                    self.emit(&p.rec)?;
                }
                pt::cont(pid, 0)
            }
            libc::PTRACE_EVENT_STOP => {
                let tr = self.tracees.get_mut(&pid);
                let fresh = tr.as_ref().is_some_and(|t| t.fresh);
                if let Some(t) = tr {
                    t.fresh = false;
                }
                if !fresh
                    && matches!(
                        sig,
                        libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU
                    )
                {
                    // A group-stop: stay stopped until SIGCONT, as natively.
                    pt::listen(pid)
                } else {
                    pt::cont(pid, 0)
                }
            }
            0 if sig == (libc::SIGTRAP | 0x80) => return self.on_syscall_exit(pid),
            0 => {
                // Signal-delivery stop: pass the signal on.
                if sig == libc::SIGSYS {
                    if let Some(t) = self.tracees.get_mut(&pid) {
                        t.sigsys_seen = true;
                    }
                }
                if self.trace.is_some() {
                    let ev = Event::Signal {
                        t_us: self.now_us(),
                        pid: pid.as_raw(),
                        signal: super::signal_name(sig),
                    };
                    self.emit(&ev)?;
                }
                self.resume(pid, sig)
            }
            _ => self.resume(pid, 0),
        };
        res.map_err(|(call, e)| {
            self.o.internal = Some(format!("{call} => {e}"));
            true
        })
    }

    /// Resumes a tracee: to its syscall-exit stop when a full trace waits
    /// for the return value of the call it is in.
    fn resume(&self, pid: Pid, sig: i32) -> std::result::Result<(), (String, Errno)> {
        if self.tracees.get(&pid).is_some_and(|t| t.pending.is_some()) {
            pt::syscall(pid, sig)
        } else {
            pt::cont(pid, sig)
        }
    }

    fn now_us(&self) -> u64 {
        self.trace.as_ref().map(|w| w.now_us()).unwrap_or(0)
    }

    /// The thread group of `pid` (cached for threads).
    fn tgid(&mut self, pid: Pid) -> Pid {
        match self.tracees.get_mut(&pid) {
            Some(t) if t.thread => *t.tgid.get_or_insert_with(|| tgid_of(pid).unwrap_or(pid)),
            _ => pid,
        }
    }

    /// Appends a record to the trace; a write failure ends the run (IE).
    fn emit<T: serde::Serialize>(&mut self, rec: &T) -> std::result::Result<(), bool> {
        let Some(w) = self.trace.as_deref_mut() else {
            return Ok(());
        };
        if let Err(e) = w.write(rec) {
            log::debug!("{e}: ending the run");
            self.o.internal = Some(e);
            self.shared.set_reason(KillReason::Supervisor);
            self.shared.kill_all();
            sys::kill_pid(self.root);
            return Err(true);
        }
        Ok(())
    }

    /// A process or thread is gone: its unfinished call and its exit.
    fn on_gone(
        &mut self,
        pid: Pid,
        status: i32,
        thread: bool,
        pending: Option<Pending>,
    ) -> std::result::Result<(), bool> {
        if let Some(p) = pending {
            self.emit(&p.rec)?;
        }
        if thread {
            return Ok(());
        }
        let ev = Event::Exit {
            t_us: self.now_us(),
            pid: pid.as_raw(),
            status: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
            signal: libc::WIFSIGNALED(status).then(|| super::signal_name(libc::WTERMSIG(status))),
        };
        self.emit(&ev)
    }

    /// A syscall-exit stop (full trace): record the call with its result.
    fn on_syscall_exit(&mut self, pid: Pid) -> std::result::Result<(), bool> {
        let Some(p) = self.tracees.get_mut(&pid).and_then(|t| t.pending.take()) else {
            return pt::cont(pid, 0).map_err(|_| false);
        };
        let info = match pt::get_syscall_info(pid) {
            Ok(i) => i,
            Err((_, Errno::ESRCH)) => return Ok(()),
            Err((call, e)) => {
                self.o.internal = Some(format!("{call} => {e}"));
                return Err(true);
            }
        };
        let mut rec = p.rec;
        if info.op == pt::SYSCALL_INFO_EXIT {
            rec.dur_us = Some(p.at.elapsed().as_micros() as u64);
            if info.is_error {
                rec.errno = Some(policy::errno_name((-info.rval) as i32));
            } else {
                rec.ret = Some(info.rval);
                trace::decode::fill_exit(pid, p.sysno, &p.args, info.rval, &mut rec.args);
            }
        }
        self.emit(&rec)?;
        pt::cont(pid, 0).map_err(|(call, e)| {
            self.o.internal = Some(format!("{call} => {e}"));
            true
        })
    }

    /// The record of one call at its entry.
    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        pid: Pid,
        tgid: Pid,
        sysno: Sysno,
        args: &[u64; 6],
        paths: &[(PathOp, PathBuf)],
        raw: &[(usize, Vec<u8>)],
        d: &Decision,
    ) -> SyscallRecord {
        let origin = |none: &str| {
            d.origin
                .as_ref()
                .map_or_else(|| none.to_string(), |o| o.to_string())
        };
        let (rule, reason) = match &d.cause {
            Cause::BuiltIn(_) => ("built-in".to_string(), Some(d.reason())),
            Cause::Default => ("default".to_string(), None),
            Cause::Rule => (origin("rule"), None),
            Cause::PathViolation { .. } => (origin("on-path-violation"), Some(d.reason())),
        };
        SyscallRecord {
            t_us: self.now_us(),
            pid: tgid.as_raw(),
            tid: pid.as_raw(),
            syscall: sysno.name().to_string(),
            args: trace::decode::entry_args(pid, sysno, args, raw),
            ret: None,
            errno: None,
            decision: match d.action {
                Action::Allow => "allow",
                Action::Log => "log",
                Action::Deny(_) => "deny",
                Action::Kill => "kill",
            }
            .to_string(),
            rule,
            reason,
            paths: paths
                .iter()
                .map(|(op, p)| trace::PathUse {
                    op: op.to_string(),
                    path: p.display().to_string(),
                })
                .collect(),
            dur_us: None,
        }
    }

    /// Returns whether the child is a thread.
    fn on_new(&mut self, child: Pid, maybe_thread: bool) -> bool {
        let early = self.early.remove(&child);
        // A child whose attach stop came first was classified there (and
        // may be gone by now): keep that; otherwise look it up once.
        let thread = if early {
            self.tracees.get(&child).is_some_and(|t| t.thread)
        } else {
            maybe_thread && tgid_of(child).is_some_and(|g| g != child)
        };
        let t = self.tracees.entry(child).or_insert_with(|| Tracee {
            fresh: true,
            ..Default::default()
        });
        t.thread = thread;
        if early {
            // Its attach stop was already seen and resumed.
            t.fresh = false;
        }
        if !thread {
            self.shared.add_live(child);
        }
        thread
    }

    /// A SECCOMP_RET_TRACE stop: decide and apply.
    fn on_seccomp(&mut self, pid: Pid) -> std::result::Result<(), bool> {
        let info = match pt::get_syscall_info(pid) {
            Ok(i) => i,
            // The tracee was killed meanwhile.
            Err((_, Errno::ESRCH)) => return Ok(()),
            Err((call, e)) => {
                self.o.internal = Some(format!("{call} => {e}"));
                return Err(true);
            }
        };
        let Some(sysno) = Sysno::new(info.nr as usize) else {
            let _ = pt::fail_syscall(pid, libc::ENOSYS);
            return pt::cont(pid, 0).map_err(|_| false);
        };
        let tgid = self.tgid(pid);
        // Our own exec of the program, before the program runs.
        if pid == self.root && !self.root_execed && matches!(sysno, Sysno::execve | Sysno::execveat)
        {
            if self.all {
                let d = Decision {
                    action: Action::Allow,
                    origin: None,
                    cause: Cause::BuiltIn("the exec of the program".into()),
                };
                let rec = self.record(pid, tgid, sysno, &info.args, &[], &[], &d);
                self.begin(pid, rec, sysno, &info.args);
            }
            return self.resume(pid, 0).map_err(|_| false);
        }
        let (paths, raw) = self.read_paths(pid, tgid, sysno, &info.args);
        let call = Call {
            sysno,
            args: info.args,
            paths: &paths,
            cwd: &self.cwd,
        };
        let mut decision = self.policy.decide(&call);
        if decision.action.runs() {
            if let Some((_, p)) = paths.iter().find(|(_, p)| foreign_proc_secret(p)) {
                decision.action = Action::Deny(libc::EACCES);
                decision.origin = None;
                decision.cause =
                    Cause::BuiltIn(format!("{} belongs to another process", p.display()));
            }
        }
        // A full trace records every call; `denied` what a rule did not
        // simply allow.
        let rec = (self.all || (self.trace.is_some() && decision.action != Action::Allow))
            .then(|| self.record(pid, tgid, sysno, &info.args, &paths, &raw, &decision));
        match decision.action {
            Action::Allow | Action::Log => {
                if decision.action == Action::Log {
                    self.o.logged += 1;
                }
                if let Some(rec) = rec {
                    if self.all {
                        self.begin(pid, rec, sysno, &info.args);
                        return self.resume(pid, 0).map_err(|(call, e)| {
                            self.o.internal = Some(format!("{call} => {e}"));
                            true
                        });
                    }
                    self.emit(&rec)?;
                }
            }
            Action::Deny(e) => {
                log::debug!(
                    "{sysno} by {pid} {paths:?}: deny {} ({})",
                    policy::errno_name(e),
                    decision.cause
                );
                self.o.denied += 1;
                if let Some(mut rec) = rec {
                    rec.errno = Some(policy::errno_name(e));
                    self.emit(&rec)?;
                }
                if let Err((call, e)) = pt::fail_syscall(pid, e) {
                    if e != Errno::ESRCH {
                        self.o.internal = Some(format!("{call} => {e}"));
                        return Err(true);
                    }
                }
            }
            Action::Kill => {
                let rule = match &decision.origin {
                    Some(o) => format!("{o}"),
                    None => decision.cause.to_string(),
                };
                log::debug!("{sysno} by {pid}: kill ({rule})");
                if let Some(rec) = rec {
                    // The run ends either way; a write failure shows at the verdict.
                    let _ = self.emit(&rec);
                }
                self.o.restricted = Some(Restricted {
                    syscall: sysno.name().to_string(),
                    args: describe_args(sysno, &info.args, &paths),
                    rule,
                    pid: pid.as_raw(),
                });
                self.shared.set_reason(KillReason::Supervisor);
                self.shared.kill_all();
                sys::kill_pid(pid);
                return Err(true);
            }
        }
        pt::cont(pid, 0).map_err(|(call, e)| {
            self.o.internal = Some(format!("{call} => {e}"));
            true
        })
    }

    /// Waits for the call's exit stop to record its result.
    fn begin(&mut self, pid: Pid, rec: SyscallRecord, sysno: Sysno, args: &[u64; 6]) {
        if let Some(t) = self.tracees.get_mut(&pid) {
            t.pending = Some(Pending {
                rec,
                sysno,
                args: *args,
                at: Instant::now(),
            });
        }
    }

    /// The call's paths, resolved as the tracee sees them, and the bytes
    /// read for each (by argument index, for the trace record). A path that
    /// cannot be read is given as "<unreadable>", which no rule allows.
    fn read_paths(&mut self, pid: Pid, tgid: Pid, sysno: Sysno, args: &[u64; 6]) -> PathsRead {
        let specs = policy::path_args(sysno);
        if specs.is_empty() {
            return (Vec::new(), Vec::new());
        }
        let root = self
            .view_root
            .get_or_insert_with(|| View::root_of(pid))
            .clone();
        // No cached working directory: a relative path starts at the
        // calling thread's own cwd, read now (threads without CLONE_FS,
        // chdir by another thread and renamed directories included).
        let view = View {
            root,
            tgid,
            tid: pid,
            cwd: None,
        };
        let follow = !matches!(
            sysno,
            Sysno::unlinkat
                | Sysno::unlink
                | Sysno::rename
                | Sysno::renameat
                | Sysno::renameat2
                | Sysno::symlink
                | Sysno::symlinkat
                | Sysno::readlink
                | Sysno::readlinkat
                | Sysno::lstat
                | Sysno::rmdir
                | Sysno::mkdir
                | Sysno::mkdirat
                | Sysno::lchown
        );
        let mut out = Vec::with_capacity(specs.len());
        let mut raws = Vec::with_capacity(specs.len());
        for spec in specs {
            let op = match spec.op {
                PathOpSpec::FromOpenHow { how_arg } => {
                    let flags = pt::read_u64(pid, args[how_arg]).unwrap_or(u64::MAX);
                    policy::open_flags_op(flags)
                }
                _ => spec.op_for(args).unwrap_or(PathOp::Write),
            };
            let dirfd = spec.dirfd_arg.map(|i| args[i] as i32 as i64);
            let nofollow_flag =
                is_open(sysno) && open_flags(sysno, args) & (libc::O_NOFOLLOW as u64) != 0;
            let raw = pt::read_cstring(pid, args[spec.path_arg], libc::PATH_MAX as usize);
            let resolved = raw
                .as_ref()
                .and_then(|raw| view.resolve(raw, dirfd, follow && !nofollow_flag));
            if let Some(b) = raw {
                raws.push((spec.path_arg, b));
            }
            out.push((
                op,
                resolved.unwrap_or_else(|| PathBuf::from("<unreadable>")),
            ));
        }
        (out, raws)
    }
}

fn is_open(s: Sysno) -> bool {
    matches!(s, Sysno::open | Sysno::openat)
}

fn open_flags(s: Sysno, args: &[u64; 6]) -> u64 {
    match s {
        Sysno::open => args[1],
        Sysno::openat => args[2],
        _ => 0,
    }
}

/// Arguments as a person reads them: paths quoted, the rest in hex.
fn describe_args(sysno: Sysno, args: &[u64; 6], paths: &[(PathOp, PathBuf)]) -> Vec<String> {
    let n = nargs(sysno);
    let specs = policy::path_args(sysno);
    (0..n)
        .map(|i| match specs.iter().position(|s| s.path_arg == i) {
            Some(k) => paths
                .get(k)
                .map(|(_, p)| format!("{:?}", p.display().to_string()))
                .unwrap_or_else(|| format!("{:#x}", args[i])),
            None if args[i] < 4096 => args[i].to_string(),
            None => format!("{:#x}", args[i]),
        })
        .collect()
}

/// How many arguments to show.
fn nargs(s: Sysno) -> usize {
    match s {
        Sysno::socket | Sysno::mprotect => 3,
        Sysno::ptrace | Sysno::kill | Sysno::tgkill => 4,
        _ => 6,
    }
}

/// The run's working directory as the program sees it, for `./` rules.
fn run_cwd(cfg: &RunConfig) -> PathBuf {
    match (&cfg.chroot_dir, &cfg.exec_dir) {
        (_, Some(d)) if d.is_absolute() => d.clone(),
        (Some(_), Some(d)) => Path::new("/").join(d),
        (Some(_), None) => PathBuf::from("/"),
        (None, Some(d)) => std::env::current_dir()
            .map(|c| c.join(d))
            .unwrap_or_else(|_| d.clone()),
        (None, None) => std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")),
    }
}

/// The exec event: the new image's path and argv, from /proc through
/// procfs. argv is split here rather than by `Process::cmdline`, which
/// fails on arguments that are not UTF-8 (they are shown lossily instead).
fn exec_event(pid: Pid, t_us: u64) -> Event {
    use std::io::Read;
    let proc = procfs::process::Process::new(pid.as_raw()).ok();
    let path = proc
        .as_ref()
        .and_then(|p| p.exe().ok())
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let mut raw = Vec::new();
    if let Some(mut f) = proc.as_ref().and_then(|p| p.open_relative("cmdline").ok()) {
        let _ = f.read_to_end(&mut raw);
    }
    let argv = raw
        .split(|&c| c == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    Event::Exec {
        t_us,
        pid: pid.as_raw(),
        path,
        argv,
    }
}

/// The first process's peak resident set (VmHWM, KiB) at its exit stop,
/// once per run.
fn vm_hwm_kib(pid: Pid) -> Option<u64> {
    procfs::process::Process::new(pid.as_raw())
        .ok()?
        .status()
        .ok()?
        .vmhwm
}

/// The thread group of `pid`, from the `Tgid:` line of /proc/PID/status.
///
/// Parsed by hand, not with procfs: the tracer asks this at the first stop
/// of every new tracee (each fork and each thread of the program), on the
/// one thread that resumes every tracee, and procfs's `Status` parses all
/// of the ~55 lines into a map. Measured (release build, 20 000 reads of
/// one process's status): 9 us by hand against 34 us through procfs, i.e.
/// a program that starts 10 000 threads would wait 0.25 s more.
fn tgid_of(pid: Pid) -> Option<Pid> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("Tgid:"))
        .and_then(|v| v.trim().parse().ok())
        .map(Pid::from_raw)
}
