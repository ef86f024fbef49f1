//! The verdict and the report: what the wait loop saw ([`Outcome`]), the
//! watchdog's reason, the run's cgroup figures and the limits become one
//! [`Report`]; the trace's last record repeats it.

use std::sync::atomic::Ordering;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::Signal;

use crate::config::RunConfig;
use crate::report::{Report, Restricted, Sources, TimeKind, Verdict};
use crate::trace::{Event, TraceWriter};

use super::watchdog::{KillReason, Shared};
use super::Outcome;

/// The trace's last record: the report's fields; then everything is flushed.
pub(crate) fn write_verdict(
    t: &mut TraceWriter,
    report: &Report,
) -> std::result::Result<(), String> {
    if let Some(e) = t.error() {
        return Err(e.to_string());
    }
    let fields = match serde_json::to_value(report.versioned()) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    let ev = Event::Verdict {
        t_us: t.now_us(),
        report: fields,
    };
    t.write(&ev)?;
    t.flush()
}

/// Whole-tree figures from the run's cgroup.
pub(crate) struct TreeFigures {
    pub peak_kib: Option<u64>,
    pub cpu: Option<Duration>,
    pub hit_limit: bool,
    pub source: &'static str,
}

pub fn signal_name(sig: i32) -> String {
    Signal::try_from(sig)
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|_| format!("SIG{sig}"))
}

/// Rootless runs say why there is no cgroup figure.
pub(crate) fn note_rootless(rootless: bool, mut s: Sources) -> Sources {
    if rootless {
        for f in [&mut s.memory, &mut s.cpu] {
            f.push_str(" (rootless: no cgroup)");
        }
    }
    s
}

/// What the verdict is decided from.
#[derive(Debug, Clone, Default)]
pub(crate) struct Facts {
    /// The supervisor failed during the run.
    pub internal: Option<String>,
    /// A policy rule ended the run.
    pub restricted: Option<Restricted>,
    /// Why the watchdog (or the tracer) ended the run.
    pub kill: KillReason,
    /// CPU time of the whole run.
    pub cpu: Duration,
    /// Peak memory of the whole run, KiB.
    pub memory_kib: u64,
    /// The cgroup's memory ceiling was hit.
    pub hit_limit: bool,
    /// How the first process ended.
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    /// A process the kernel's filter killed with SIGSYS (non-native ABI).
    pub seccomp_killed: Option<i32>,
    /// The bounded working directory is full (--disk).
    pub disk_full: bool,
}

/// The verdict, in order of precedence: the supervisor's failure, a policy
/// rule, the watchdog's reason, then the figures against the limits, then
/// how the program ended.
pub(crate) fn decide(f: &Facts, l: &crate::config::Limits) -> Verdict {
    let signal = f.signal;
    if let Some(m) = &f.internal {
        return Verdict::IE { message: m.clone() };
    }
    if let Some(r) = &f.restricted {
        return Verdict::RF(r.clone());
    }
    match f.kill {
        KillReason::CpuTime => Verdict::TLE {
            kind: TimeKind::Cpu,
        },
        KillReason::WallTime => Verdict::TLE {
            kind: TimeKind::Wall,
        },
        KillReason::Memory => Verdict::MLE,
        _ if f.cpu > l.cpu || signal == Some(libc::SIGXCPU) => Verdict::TLE {
            kind: TimeKind::Cpu,
        },
        _ if f.memory_kib > l.memory_kib || f.hit_limit => Verdict::MLE,
        _ if signal == Some(libc::SIGXFSZ) || f.disk_full => Verdict::OLE,
        _ if f.seccomp_killed.is_some() && signal == Some(libc::SIGSYS) => {
            Verdict::RF(Restricted {
                syscall: "non-native system call ABI".into(),
                args: vec![],
                rule: "built-in: native ABI only".into(),
                pid: f.seccomp_killed.unwrap_or(0),
            })
        }
        _ => match (f.exit_code, signal) {
            (_, Some(sig)) => Verdict::SIG {
                signal: sig,
                name: signal_name(sig),
            },
            (Some(c), _) if c != 0 => Verdict::RE { exit_code: c },
            (Some(_), _) => Verdict::OK,
            (None, None) => Verdict::IE {
                message: "the program's exit status was not seen".into(),
            },
        },
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn build_report(
    cfg: &RunConfig,
    o: &Outcome,
    shared: &Shared,
    wall: Duration,
    paranoid: bool,
    (uid, gid): (u32, u32),
    tree: Option<TreeFigures>,
    rootless: bool,
    disk_full: bool,
) -> Report {
    let l = &cfg.limits;
    let tree_cpu = tree.as_ref().and_then(|t| t.cpu);
    let tree_peak = tree.as_ref().and_then(|t| t.peak_kib);
    let cpu = tree_cpu.unwrap_or_else(|| o.reaped.cpu());
    let sampled = shared.peak_rss_kib.load(Ordering::SeqCst);
    // The kernel's high-water marks; in paranoid mode the exit-stop VmHWM is
    // the program's own (ru_maxrss also holds the pre-exec image).
    let hwm = if o.max_hwm_kib > 0 {
        o.max_hwm_kib.max(o.children_max_rss_kib)
    } else {
        o.reaped.max_rss_kib
    };
    // The sampled sum (resident memory and page tables of the run's
    // processes plus its private tmpfs, or what its cgroup pins) is an
    // estimate: it is reported when the watchdog ended the run by it, or
    // when it is the only whole-tree figure (a cgroup; several processes).
    // A single process's own high-water mark is exact.
    let judged_by_sample = shared.reason() == KillReason::Memory;
    let hit_limit = tree.as_ref().is_some_and(|t| t.hit_limit);
    let memory = match tree_peak {
        // The kernel's peak holds page cache, which it reclaims at the limit
        // and is not the program's: it is the figure only when the kernel's
        // OOM killer ended the run.
        Some(p) if hit_limit => p.max(hwm).max(sampled),
        Some(_) => hwm.max(sampled),
        None if judged_by_sample || o.reaped.count > 1 => hwm.max(sampled),
        None => hwm,
    }
    // Files left on the private tmpfs are memory the program held at its
    // end, on top of its own peak at most.
    .max(hwm + o.tmpfs_end_kib)
    // Page tables and tmpfs, which no high-water mark sees: the largest sum
    // sampled is memory the run held at that instant.
    .max(shared.peak_unseen_kib.load(Ordering::SeqCst));
    let (exit_code, signal) = match o.root_status {
        Some(s) if libc::WIFEXITED(s) => (Some(libc::WEXITSTATUS(s)), None),
        Some(s) if libc::WIFSIGNALED(s) => (None, Some(libc::WTERMSIG(s))),
        _ => (None, None),
    };
    let verdict = decide(
        &Facts {
            internal: o.internal.clone(),
            restricted: o.restricted.clone(),
            kill: shared.reason(),
            cpu,
            memory_kib: memory,
            hit_limit,
            exit_code,
            signal,
            seccomp_killed: o.seccomp_killed.map(|p| p.as_raw()),
            disk_full,
        },
        l,
    );
    Report {
        status: verdict.to_string(),
        verdict,
        wall_ms: wall.as_millis() as u64,
        cpu_ms: cpu.as_secs_f64() * 1000.0,
        user_ms: o.reaped.user.as_secs_f64() * 1000.0,
        sys_ms: o.reaped.sys.as_secs_f64() * 1000.0,
        memory_kib: memory,
        exit_code,
        signal,
        processes: o.processes.unwrap_or(o.reaped.count),
        limits: l.clone(),
        sources: note_rootless(
            rootless,
            Sources {
                memory: if let (Some(_), Some(t)) = (tree_peak, &tree) {
                    format!(
                        "{}: the run's cgroup, sampled (anonymous memory and tmpfs/shmem, not \
                         its page cache) + VmPTE of each process, max with {}; its peak if the \
                         kernel's OOM killer acted",
                        t.source,
                        if o.max_hwm_kib > 0 {
                            "VmHWM at each exit stop"
                        } else {
                            "wait4 ru_maxrss of each reaped process"
                        }
                    )
                } else if o.max_hwm_kib > 0 {
                    "VmHWM at each exit stop, max with sampled /proc sum (RSS + VmPTE) + private \
                     tmpfs (fstatfs)"
                        .into()
                } else {
                    "wait4 ru_maxrss of each reaped process, max with sampled /proc sum (RSS + \
                     VmPTE) + private tmpfs (fstatfs)"
                        .into()
                },
                cpu: match (tree_cpu, &tree) {
                    (Some(_), Some(t)) => {
                        format!("{}: the run's cgroup CPU usage (whole tree)", t.source)
                    }
                    _ => "wait4 rusage of every reaped process".into(),
                },
            },
        ),
        denied_calls: o.denied,
        paths: None,
        warnings: Vec::new(),
        logged_calls: o.logged,
        mode: if paranoid { "paranoid" } else { "classic" }.into(),
        uid,
        gid,
        rootless,
    }
}

/// Errno as the text a person reads: `ENOENT (No such file or directory)`.
pub fn errno_text(e: Errno) -> String {
    format!("{e:?} ({})", e.desc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Limits;

    fn exited(code: i32) -> Facts {
        Facts {
            exit_code: Some(code),
            ..Facts::default()
        }
    }

    #[test]
    fn clean_exit_is_ok_and_nonzero_is_runtime_error() {
        let l = Limits::default();
        assert_eq!(decide(&exited(0), &l), Verdict::OK);
        assert_eq!(decide(&exited(3), &l), Verdict::RE { exit_code: 3 });
        let seen_nothing = Facts::default();
        assert!(decide(&seen_nothing, &l).is_internal());
    }

    #[test]
    fn limits_are_judged_from_the_figures_and_signals() {
        let l = Limits::default();
        let cpu = Facts {
            cpu: l.cpu + Duration::from_millis(1),
            ..exited(0)
        };
        assert_eq!(
            decide(&cpu, &l),
            Verdict::TLE {
                kind: TimeKind::Cpu
            }
        );
        let xcpu = Facts {
            signal: Some(libc::SIGXCPU),
            exit_code: None,
            ..Facts::default()
        };
        assert_eq!(
            decide(&xcpu, &l),
            Verdict::TLE {
                kind: TimeKind::Cpu
            }
        );
        let mem = Facts {
            memory_kib: l.memory_kib + 1,
            ..exited(0)
        };
        assert_eq!(decide(&mem, &l), Verdict::MLE);
        let at_limit = Facts {
            memory_kib: l.memory_kib,
            ..exited(0)
        };
        assert_eq!(
            decide(&at_limit, &l),
            Verdict::OK,
            "the limit itself is allowed"
        );
        let cg = Facts {
            hit_limit: true,
            ..exited(0)
        };
        assert_eq!(decide(&cg, &l), Verdict::MLE);
        let fsz = Facts {
            signal: Some(libc::SIGXFSZ),
            ..Facts::default()
        };
        assert_eq!(decide(&fsz, &l), Verdict::OLE);
        let segv = Facts {
            signal: Some(libc::SIGSEGV),
            ..Facts::default()
        };
        assert!(
            matches!(decide(&segv, &l), Verdict::SIG { signal, .. } if signal == libc::SIGSEGV)
        );
    }

    #[test]
    fn the_watchdog_reason_and_failures_take_precedence() {
        let l = Limits::default();
        let wall = Facts {
            kill: KillReason::WallTime,
            signal: Some(libc::SIGKILL),
            ..Facts::default()
        };
        assert_eq!(
            decide(&wall, &l),
            Verdict::TLE {
                kind: TimeKind::Wall
            }
        );
        let sampled = Facts {
            kill: KillReason::Memory,
            ..exited(0)
        };
        assert_eq!(decide(&sampled, &l), Verdict::MLE);
        let rf = Restricted {
            syscall: "socket".into(),
            args: vec![],
            rule: "x.policy:3".into(),
            pid: 7,
        };
        let both = Facts {
            restricted: Some(rf.clone()),
            kill: KillReason::CpuTime,
            ..Facts::default()
        };
        assert_eq!(decide(&both, &l), Verdict::RF(rf));
        let ie = Facts {
            internal: Some("waitpid failed".into()),
            kill: KillReason::Memory,
            ..Facts::default()
        };
        assert!(
            decide(&ie, &l).is_internal(),
            "the sandbox failing beats any verdict"
        );
        let abi = Facts {
            signal: Some(libc::SIGSYS),
            seccomp_killed: Some(42),
            ..Facts::default()
        };
        assert!(matches!(decide(&abi, &l), Verdict::RF(r) if r.pid == 42));
        let sigsys = Facts {
            signal: Some(libc::SIGSYS),
            ..Facts::default()
        };
        assert!(
            matches!(decide(&sigsys, &l), Verdict::SIG { .. }),
            "a SIGSYS the program sent itself"
        );
    }
}
