//! The supervisor: prepares the run, forks the jailed child, waits for every
//! process of the run (tracing them in paranoid mode), enforces the limits
//! and turns what happened into a [`Report`].

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::unistd::Pid;

use crate::config::RunConfig;
use crate::error::{Result, SandboxError};
use crate::jail::{self, ChildPlan, PlanDescription};
use crate::measure::Reaped;
use crate::report::{Report, Restricted, Sources, TimeKind, Verdict};
use crate::sys::{self, Fork};

mod classic;
pub mod paths;
mod ptrace;
pub mod watchdog;

use watchdog::{KillReason, Shared, Watch};

/// What the waiting loop saw.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// wait status of the run's first process.
    pub root_status: Option<i32>,
    pub reaped: Reaped,
    /// VmHWM read at each exit stop (paranoid mode), KiB: the program's own
    /// peak, without the pre-exec image of the forked supervisor.
    pub max_hwm_kib: u64,
    pub restricted: Option<Restricted>,
    pub internal: Option<String>,
    pub denied: u64,
    pub logged: u64,
    /// A run process died of SIGSYS from the kernel's filter (non-native ABI).
    pub seccomp_killed: Option<Pid>,
}

/// Runs the program as `cfg` says and reports what happened.
pub fn run(cfg: &RunConfig) -> Result<Report> {
    cfg.validate()?;
    if !sys::is_root() {
        return Err(SandboxError::NotRoot {
            euid: nix::unistd::geteuid().as_raw(),
        });
    }
    let me = nix::unistd::getpid();
    let uid = cfg.run_uid(me.as_raw() as u32)?;
    let gid = cfg.gid.unwrap_or(uid);
    crate::accounts::check_uid(uid).map_err(|name| SandboxError::UidTaken { uid, name })?;
    crate::accounts::check_gid(gid).map_err(|name| SandboxError::GidTaken { gid, name })?;

    // The guard kills the run's uid if the supervisor dies before the end.
    let (guard, guard_pipe) = sys::spawn_guard(uid)
        .map_err(|e| SandboxError::sys(format!("fork(guard for uid {uid})"), e))?;
    let guard = Guard {
        pid: guard,
        pipe: Some(guard_pipe),
    };

    if let Some(dir) = &cfg.chroot_dir {
        check_dir("chroot directory", dir)?;
    } else if let Some(dir) = &cfg.exec_dir {
        check_dir("working directory", dir)?;
    }
    let stderr_file = match &cfg.error_file {
        Some(p) => Some(open_output("error file", p)?),
        None => None,
    };

    let argv0 = cfg.program.as_os_str();
    let argv = std::iter::once(argv0).chain(cfg.args.iter().map(|a| a.as_os_str()));
    let env = cfg.env.iter().map(|(k, v)| (k.as_os_str(), v.as_os_str()));
    let exec = sys::ExecArgs::new(argv0, argv, env).map_err(SandboxError::Usage)?;

    let paranoid = cfg.policy.is_some();
    let seccomp = match &cfg.policy {
        Some(p) => Some(ptrace::filter_for(p)?),
        None => None,
    };
    let (err_r, err_w) = sys::pipe().map_err(|e| SandboxError::sys("pipe2", e))?;
    let go = if paranoid {
        Some(sys::pipe().map_err(|e| SandboxError::sys("pipe2", e))?)
    } else {
        None
    };

    let cstr = |p: &std::path::Path| {
        std::ffi::CString::new(p.as_os_str().as_bytes())
            .map_err(|_| SandboxError::Usage(format!("{}: path contains a NUL byte", p.display())))
    };
    let plan = ChildPlan {
        exec,
        chroot: cfg.chroot_dir.as_deref().map(cstr).transpose()?,
        workdir: cfg.exec_dir.as_deref().map(cstr).transpose()?,
        uid,
        gid,
        rlimits: rlimits(cfg),
        niceness: cfg.niceness,
        stderr_fd: stderr_file.as_ref().map(|f| f.as_raw_fd()),
        error_pipe: err_w.as_raw_fd(),
        go_pipe: go.as_ref().map(|(r, _)| r.as_raw_fd()),
        seccomp,
        supervisor: me.as_raw(),
    };
    let desc = PlanDescription {
        program: cfg.program.display().to_string(),
        chroot: cfg
            .chroot_dir
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        workdir: cfg
            .exec_dir
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        uid,
        gid,
        niceness: cfg.niceness,
    };
    log::debug!(
        "run: uid {uid} gid {gid}, chroot {:?}, workdir {:?}, mode {}",
        cfg.chroot_dir,
        cfg.exec_dir,
        if paranoid { "paranoid" } else { "classic" }
    );
    log::debug!("limits: {:?}", cfg.limits);

    // Orphans of the run (double forks) are re-parented to us and reaped here.
    sys::set_child_subreaper()
        .map_err(|e| SandboxError::sys("prctl(PR_SET_CHILD_SUBREAPER)", e))?;
    let start = Instant::now();
    let child = match sys::fork().map_err(|e| SandboxError::sys("fork", e))? {
        Fork::Child => jail::child_main(&plan),
        Fork::Parent(pid) => pid,
    };
    drop(err_w);
    drop(stderr_file);
    log::debug!("forked the program's process {child}");
    let stop_signals = sys::block_stop_signals();

    // Paranoid: seize with every option before the child may exec.
    if let Some((go_r, go_w)) = go {
        drop(go_r);
        if let Err((call, e)) = sys::ptrace::seize(child, sys::ptrace::SEIZE_OPTIONS) {
            sys::kill_pid(child);
            reap_all(child);
            return Err(SandboxError::sys(call, e));
        }
        log::debug!("seized {child}");
        let _ = nix::unistd::write(&go_w, b"g");
    } else if let Some(err) = read_setup_error(err_r.try_clone().ok()) {
        // Classic: the pipe closes at exec (EOF) or carries the failure.
        reap_all(child);
        let (what, errno) = jail::describe_failure(&err, &desc);
        return Err(SandboxError::ChildSetup { step: what, errno });
    }

    let waiter = match sys::Waiter::new(&stop_signals) {
        Ok(w) => Arc::new(w),
        Err(e) => {
            sys::kill_pid(child);
            reap_all(child);
            return Err(SandboxError::sys("signalfd/eventfd", e));
        }
    };
    let shared = Shared::new(child);
    let watch = Watch {
        shared: Arc::clone(&shared),
        start,
        cpu_limit: cfg.limits.cpu,
        wall_limit: cfg.limits.clock,
        mem_limit_kib: cfg.limits.memory_kib,
        scan_uid: (!paranoid && cfg.limits.nproc > 0).then_some(uid),
        waiter: Arc::clone(&waiter),
    };
    let dog = std::thread::Builder::new()
        .name("watchdog".into())
        .spawn(move || watchdog::run(watch))
        .map_err(|e| SandboxError::Internal(format!("cannot start the watchdog thread: {e}")));
    let dog = match dog {
        Ok(d) => d,
        Err(e) => {
            sys::kill_pid(child);
            reap_all(child);
            return Err(e);
        }
    };

    let mut outcome = if let Some(policy) = &cfg.policy {
        ptrace::trace_loop(child, policy, &shared, cfg)
    } else {
        classic::wait_loop(child, &shared)
    };

    // The run is over when its first process is: nothing of it may remain.
    let _ = sys::kill_uid(uid);
    shared.kill_all();
    let guard_pid = guard.finish();
    drain(&mut outcome, &shared, guard_pid);
    let wall = start.elapsed();
    shared.done.store(true, Ordering::SeqCst);
    waiter.wake();
    let _ = dog.join();

    // A setup failure in paranoid mode shows up only now.
    if paranoid
        && outcome
            .root_status
            .is_some_and(|s| libc::WIFEXITED(s) && libc::WEXITSTATUS(s) == 127)
    {
        if let Some(err) = read_setup_error(Some(err_r)) {
            let (what, errno) = jail::describe_failure(&err, &desc);
            return Err(SandboxError::ChildSetup { step: what, errno });
        }
    }
    if shared.reason() == KillReason::Interrupted {
        let sig = shared.signal.load(Ordering::SeqCst);
        return Err(SandboxError::Interrupted(signal_name(sig)));
    }
    Ok(build_report(
        cfg,
        &outcome,
        &shared,
        wall,
        paranoid,
        (uid, gid),
    ))
}

/// The guard process (see [`sys::spawn_guard`]); dropping it ends it.
struct Guard {
    pid: Pid,
    pipe: Option<OwnedFd>,
}

impl Guard {
    /// Lets the guard make its last sweep; returns its pid (to be reaped).
    fn finish(mut self) -> Pid {
        self.pipe.take();
        self.pid
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.pipe.take().is_some() {
            sys::wait_pid(self.pid);
        }
    }
}

/// Reaps what is left after the kill, until no child remains.
fn drain(outcome: &mut Outcome, shared: &Shared, guard: Pid) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match sys::wait4_any(0) {
            Ok(Some(w)) if w.pid == guard => {}
            Ok(Some(w)) => {
                if libc::WIFEXITED(w.status) || libc::WIFSIGNALED(w.status) {
                    outcome.reaped.add(&w.usage);
                    shared.remove_live(w.pid);
                } else {
                    // A traced process in a stop: let it die.
                    sys::kill_pid(w.pid);
                    let _ = sys::ptrace::cont(w.pid, 0);
                }
            }
            Ok(None) | Err(_) => break,
        }
        if Instant::now() > deadline {
            log::warn!("processes of the run could not be reaped within 5 s");
            break;
        }
    }
}

fn reap_all(child: Pid) {
    sys::kill_pid(child);
    while let Ok(Some(_)) = sys::wait4_any(0) {}
}

/// Reads the child's setup-error record: None at EOF (the exec happened).
fn read_setup_error(r: Option<OwnedFd>) -> Option<Vec<u8>> {
    let mut f = File::from(r?);
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    (!buf.is_empty()).then_some(buf)
}

fn check_dir(what: &'static str, dir: &std::path::Path) -> Result<()> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(SandboxError::Path {
            what,
            path: dir.to_path_buf(),
            source: std::io::Error::from_raw_os_error(libc::ENOTDIR),
        }),
        Err(e) => Err(SandboxError::Path {
            what,
            path: dir.to_path_buf(),
            source: e,
        }),
    }
}

/// Opens a file safeexec writes for the caller (created 0644 if missing).
pub fn open_output(what: &'static str, path: &std::path::Path) -> Result<File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
        .open(path)
        .map_err(|source| SandboxError::Output {
            what,
            path: path.to_path_buf(),
            source,
        })
}

fn rlimits(cfg: &RunConfig) -> Vec<(libc::__rlimit_resource_t, u64, u64)> {
    let l = &cfg.limits;
    let kib = |v: u64| v.saturating_mul(1024);
    let inf = libc::RLIM_INFINITY;
    // CPU: a per-process backstop one second above the whole-run limit, which
    // the watchdog enforces with sub-second precision.
    let cpu = l.cpu.as_secs_f64().ceil() as u64 + 1;
    let mut v = vec![
        (libc::RLIMIT_CPU, cpu, cpu + 1),
        (libc::RLIMIT_FSIZE, kib(l.fsize_kib), kib(l.fsize_kib)),
        (libc::RLIMIT_NOFILE, l.nfile, l.nfile),
        (libc::RLIMIT_CORE, kib(l.core_kib), kib(l.core_kib)),
        // The uid is unique to the run, so this counts the run's processes
        // and threads: the program itself plus --nproc more.
        (libc::RLIMIT_NPROC, l.nproc + 1, l.nproc + 1),
    ];
    let stack = if l.stack_kib == 0 {
        inf
    } else {
        kib(l.stack_kib)
    };
    v.push((libc::RLIMIT_STACK, stack, stack));
    if l.space_kib > 0 {
        v.push((libc::RLIMIT_AS, kib(l.space_kib), kib(l.space_kib)));
    }
    v
}

pub fn signal_name(sig: i32) -> String {
    Signal::try_from(sig)
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|_| format!("SIG{sig}"))
}

fn build_report(
    cfg: &RunConfig,
    o: &Outcome,
    shared: &Shared,
    wall: Duration,
    paranoid: bool,
    (uid, gid): (u32, u32),
) -> Report {
    let l = &cfg.limits;
    let cpu = o.reaped.cpu();
    let sampled = shared.peak_rss_kib.load(Ordering::SeqCst);
    // The kernel's high-water marks; in paranoid mode the exit-stop VmHWM is
    // the program's own (ru_maxrss also holds the pre-exec image).
    let hwm = if o.max_hwm_kib > 0 {
        o.max_hwm_kib
    } else {
        o.reaped.max_rss_kib
    };
    let memory = hwm.max(sampled);
    let (exit_code, signal) = match o.root_status {
        Some(s) if libc::WIFEXITED(s) => (Some(libc::WEXITSTATUS(s)), None),
        Some(s) if libc::WIFSIGNALED(s) => (None, Some(libc::WTERMSIG(s))),
        _ => (None, None),
    };
    let verdict = if let Some(m) = &o.internal {
        Verdict::IE { message: m.clone() }
    } else if let Some(r) = &o.restricted {
        Verdict::RF(r.clone())
    } else {
        match shared.reason() {
            KillReason::CpuTime => Verdict::TLE {
                kind: TimeKind::Cpu,
            },
            KillReason::WallTime => Verdict::TLE {
                kind: TimeKind::Wall,
            },
            KillReason::Memory => Verdict::MLE,
            _ if cpu > l.cpu || signal == Some(libc::SIGXCPU) => Verdict::TLE {
                kind: TimeKind::Cpu,
            },
            _ if memory > l.memory_kib => Verdict::MLE,
            _ if signal == Some(libc::SIGXFSZ) => Verdict::OLE,
            _ if o.seccomp_killed.is_some() && signal == Some(libc::SIGSYS) => {
                Verdict::RF(Restricted {
                    syscall: "non-native system call ABI".into(),
                    args: vec![],
                    rule: "built-in: native ABI only".into(),
                    pid: o.seccomp_killed.map(|p| p.as_raw()).unwrap_or(0),
                })
            }
            _ => match (exit_code, signal) {
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
    };
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
        processes: o.reaped.count,
        limits: l.clone(),
        sources: Sources {
            memory: if o.max_hwm_kib > 0 {
                "VmHWM at each exit stop, max with sampled /proc RSS sum".into()
            } else {
                "wait4 ru_maxrss of each reaped process, max with sampled /proc RSS sum".into()
            },
            cpu: "wait4 rusage of every reaped process".into(),
        },
        denied_calls: o.denied,
        logged_calls: o.logged,
        mode: if paranoid { "paranoid" } else { "classic" }.into(),
        uid,
        gid,
    }
}

/// Errno as the text a person reads: `ENOENT (No such file or directory)`.
pub fn errno_text(e: Errno) -> String {
    format!("{e:?} ({})", e.desc())
}
