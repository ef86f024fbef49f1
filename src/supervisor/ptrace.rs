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

use nix::errno::Errno;
use nix::unistd::Pid;
use syscalls::Sysno;

use super::paths::{foreign_proc_secret, View};
use super::watchdog::{KillReason, Shared};
use super::Outcome;
use crate::config::RunConfig;
use crate::error::{Result, SandboxError};
use crate::policy::{self, Action, Call, PathOp, PathOpSpec, Policy};
use crate::report::Restricted;
use crate::sys::{self, ptrace as pt, SockFilter};

/// SECCOMP_FILTER_FLAG_SPEC_ALLOW: do not force the speculative-store-bypass
/// mitigation on the program (docs/performance.md explains the trade).
const SECCOMP_FILTER_FLAG_SPEC_ALLOW: libc::c_ulong = 1 << 2;

/// The seccomp program of a policy, in the kernel's layout.
pub(crate) fn filter_for(p: &Policy) -> Result<(Vec<SockFilter>, libc::c_ulong)> {
    let prog = p
        .compile()
        .map_err(|e| SandboxError::Policy(e.to_string()))?;
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

#[derive(Default)]
struct Tracee {
    /// A thread (not the leader of its thread group).
    thread: bool,
    /// Its first stop is the auto-attach stop, to be resumed.
    fresh: bool,
    /// Saw a signal-delivery stop for SIGSYS (a SIGSYS death is then not
    /// the kernel filter's).
    sigsys_seen: bool,
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
}

pub(crate) fn trace_loop(root: Pid, policy: &Policy, shared: &Shared, cfg: &RunConfig) -> Outcome {
    let cwd = run_cwd(cfg);
    let mut t = Tracer {
        policy,
        shared,
        root,
        root_execed: false,
        cwd,
        tracees: HashMap::new(),
        early: HashSet::new(),
        o: Outcome::default(),
    };
    t.tracees.insert(root, Tracee::default());
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
            if !tr.thread {
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
            self.early.insert(pid);
            self.tracees.insert(
                pid,
                Tracee {
                    fresh: true,
                    ..Default::default()
                },
            );
        }
        let res = match event {
            libc::PTRACE_EVENT_SECCOMP => return self.on_seccomp(pid),
            libc::PTRACE_EVENT_FORK | libc::PTRACE_EVENT_VFORK | libc::PTRACE_EVENT_CLONE => {
                let child = Pid::from_raw(pt::geteventmsg(pid) as i32);
                self.on_new(child, event == libc::PTRACE_EVENT_CLONE);
                pt::cont(pid, 0)
            }
            libc::PTRACE_EVENT_EXEC => {
                let former = Pid::from_raw(pt::geteventmsg(pid) as i32);
                if former != pid {
                    self.tracees.remove(&former);
                    self.shared.remove_live(former);
                }
                if pid == self.root {
                    self.root_execed = true;
                }
                pt::cont(pid, 0)
            }
            libc::PTRACE_EVENT_EXIT => {
                if !self.tracees.get(&pid).is_some_and(|t| t.thread) {
                    if let Some(hwm) = vm_hwm_kib(pid) {
                        self.o.max_hwm_kib = self.o.max_hwm_kib.max(hwm);
                    }
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
            0 if sig == (libc::SIGTRAP | 0x80) => pt::cont(pid, 0),
            0 => {
                // Signal-delivery stop: pass the signal on.
                if sig == libc::SIGSYS {
                    if let Some(t) = self.tracees.get_mut(&pid) {
                        t.sigsys_seen = true;
                    }
                }
                pt::cont(pid, sig)
            }
            _ => pt::cont(pid, 0),
        };
        res.map_err(|(call, e)| {
            self.o.internal = Some(format!("{call} => {e}"));
            true
        })
    }

    fn on_new(&mut self, child: Pid, maybe_thread: bool) {
        let thread = maybe_thread && tgid_of(child).is_some_and(|g| g != child);
        let early = self.early.remove(&child);
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
        // Our own exec of the program, before the program runs.
        if pid == self.root && !self.root_execed && matches!(sysno, Sysno::execve | Sysno::execveat)
        {
            return pt::cont(pid, 0).map_err(|_| false);
        }
        let tgid = if self.tracees.get(&pid).is_some_and(|t| t.thread) {
            tgid_of(pid).unwrap_or(pid)
        } else {
            pid
        };
        let paths = self.read_paths(pid, tgid, sysno, &info.args);
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
                decision.reason = format!("built-in: {} belongs to another process", p.display());
            }
        }
        match decision.action {
            Action::Allow => {}
            Action::Log => self.o.logged += 1,
            Action::Deny(e) => {
                log::debug!(
                    "{sysno} by {pid} {paths:?}: deny {} ({})",
                    policy::errno_name(e),
                    decision.reason
                );
                self.o.denied += 1;
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
                    None => decision.reason.clone(),
                };
                log::debug!("{sysno} by {pid}: kill ({rule})");
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

    /// The call's paths, resolved as the tracee sees them. A path that
    /// cannot be read is given as "<unreadable>", which no rule allows.
    fn read_paths(
        &self,
        pid: Pid,
        tgid: Pid,
        sysno: Sysno,
        args: &[u64; 6],
    ) -> Vec<(PathOp, PathBuf)> {
        let specs = policy::path_args(sysno);
        if specs.is_empty() {
            return Vec::new();
        }
        let view = View::of(tgid, pid);
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
        for spec in specs {
            let op = match spec.op {
                PathOpSpec::FromOpenHow { how_arg } => {
                    let flags = read_u64(pid, args[how_arg]).unwrap_or(u64::MAX);
                    policy::open_flags_op(flags)
                }
                _ => spec.op_for(args).unwrap_or(PathOp::Write),
            };
            let dirfd = spec.dirfd_arg.map(|i| args[i] as i32 as i64);
            let nofollow_flag =
                is_open(sysno) && open_flags(sysno, args) & (libc::O_NOFOLLOW as u64) != 0;
            let resolved = pt::read_cstring(pid, args[spec.path_arg], libc::PATH_MAX as usize)
                .and_then(|raw| view.resolve(&raw, dirfd, follow && !nofollow_flag));
            out.push((
                op,
                resolved.unwrap_or_else(|| PathBuf::from("<unreadable>")),
            ));
        }
        out
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

fn read_u64(pid: Pid, addr: u64) -> Option<u64> {
    let mut buf = [0u8; 8];
    let local = [std::io::IoSliceMut::new(&mut buf)];
    let remote = [nix::sys::uio::RemoteIoVec {
        base: addr as usize,
        len: 8,
    }];
    let mut local = local;
    match nix::sys::uio::process_vm_readv(pid, &mut local, &remote) {
        Ok(8) => Some(u64::from_ne_bytes(buf)),
        _ => None,
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

fn proc_status_field(pid: Pid, key: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

fn vm_hwm_kib(pid: Pid) -> Option<u64> {
    proc_status_field(pid, "VmHWM:")
}

fn tgid_of(pid: Pid) -> Option<Pid> {
    proc_status_field(pid, "Tgid:").map(|g| Pid::from_raw(g as i32))
}
