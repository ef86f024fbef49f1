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

use crate::adminconf::AdminConf;
use crate::config::RunConfig;
use crate::error::{Result, SandboxError};
use crate::jail::{self, ChildPlan, PlanDescription};
use crate::measure::Reaped;
use crate::report::{Report, Restricted, Sources, TimeKind, Verdict};
use crate::sys::{self, Fork};
use crate::trace::{Event, TraceWriter};

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
    /// What the run's private tmpfs held when the program ended, KiB.
    pub tmpfs_end_kib: u64,
    /// Largest ru_maxrss of the processes other than the first (paranoid).
    pub children_max_rss_kib: u64,
    pub restricted: Option<Restricted>,
    pub internal: Option<String>,
    pub denied: u64,
    pub logged: u64,
    /// A run process died of SIGSYS from the kernel's filter (non-native ABI).
    pub seccomp_killed: Option<Pid>,
    /// The guard killed the run at the wall clock (the supervisor was
    /// stopped or far behind).
    pub guard_deadline: bool,
}

/// Runs the program as `cfg` says and reports what happened, within the
/// administrator's configuration ([`crate::adminconf::load`]).
pub fn run(cfg: &RunConfig) -> Result<Report> {
    run_traced(cfg, None)
}

/// [`run`], recording the run's system calls and process events in `trace`
/// (which needs a policy: paranoid mode), within the administrator's
/// configuration ([`crate::adminconf::load`]).
pub fn run_traced(cfg: &RunConfig, trace: Option<&mut TraceWriter>) -> Result<Report> {
    let conf = crate::adminconf::load()?;
    run_with(cfg, &conf, trace)
}

/// The caller when it is not root (a setuid start): its real uid and gid,
/// whose rights apply to every file and directory it names. None when
/// safeexec runs as root, and in rootless mode, where safeexec has no
/// rights but the caller's anyway.
pub fn unprivileged_caller() -> Option<(u32, u32)> {
    if !sys::is_root() {
        return None;
    }
    let (uid, gid) = sys::setuid::real_ids();
    (uid != 0).then_some((uid, gid))
}

/// Rootless mode: started by an ordinary user without a setuid bit (real
/// and effective ids equal, effective uid not 0). A run then gets an
/// unprivileged user namespace instead of a uid of its own.
pub fn is_rootless() -> bool {
    !sys::is_root() && !sys::setuid::is_setid()
}

/// Why the kernel refused an unprivileged user namespace, for the message.
fn userns_refusal(e: Errno) -> String {
    let sysctl = |p: &str| {
        std::fs::read_to_string(p)
            .map(|v| format!("{p} = {}", v.trim()))
            .unwrap_or_default()
    };
    let known: Vec<String> = [
        "/proc/sys/kernel/unprivileged_userns_clone",
        "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
        "/proc/sys/user/max_user_namespaces",
    ]
    .iter()
    .map(|p| sysctl(p))
    .filter(|s| !s.is_empty())
    .collect();
    let why = match e {
        Errno::EPERM => {
            "unprivileged user namespaces are not allowed here (a sysctl, an AppArmor \
             restriction, a container's seccomp filter, or a chroot)"
        }
        Errno::ENOSPC => "the limit on user namespaces is reached (user.max_user_namespaces)",
        Errno::EUSERS => "user namespaces are nested too deeply",
        Errno::EINVAL => "the kernel does not support user namespaces (CONFIG_USER_NS)",
        _ => "the kernel refused",
    };
    if known.is_empty() {
        why.to_string()
    } else {
        format!("{why} ({})", known.join(", "))
    }
}

/// [`run_traced`] under a configuration already loaded. A trace that cannot
/// be written ends the run with an Internal Error naming the cause.
pub fn run_with(
    cfg: &RunConfig,
    conf: &AdminConf,
    trace: Option<&mut TraceWriter>,
) -> Result<Report> {
    cfg.validate()?;
    if trace.is_some() && cfg.policy.is_none() {
        return Err(SandboxError::Usage(
            "a trace needs paranoid mode (a policy)".into(),
        ));
    }
    let rootless = is_rootless();
    if !sys::is_root() && !rootless {
        // Installed setuid, but not to root: nothing to work with.
        return Err(SandboxError::NotRoot {
            euid: nix::unistd::geteuid().as_raw(),
        });
    }
    let caller = unprivileged_caller();
    check_limits(cfg, conf, caller.is_some())?;
    let me = nix::unistd::getpid();
    if rootless {
        if cfg.gid.is_some() {
            return Err(SandboxError::Usage(
                "--gid needs root: a rootless run keeps the caller's gid on the host".into(),
            ));
        }
        let (uid, gid) = sys::setuid::real_ids();
        log::debug!(
            "rootless mode: not root and not setuid, so the run gets an unprivileged user \
             namespace (uid/gid {} inside = {uid}/{gid}, the caller, on the host): no uid of \
             its own, no cgroup, no guard; it is fenced by its user, PID, mount, IPC, UTS \
             and network namespaces, and killed with its PID namespace",
            sys::userns::INSIDE_ID
        );
        return run_prepared(cfg, conf, trace, me, (uid, gid), None, None, true);
    }
    let uid = cfg.run_uid(me.as_raw() as u32)?;
    let gid = cfg.gid.unwrap_or(uid);
    if caller.is_some() {
        for (what, id) in [("uid", uid), ("gid", gid)] {
            if !conf.id_in_range(id) {
                return Err(SandboxError::Usage(format!(
                    "the run's {what} {id} (--uidplus {} + pid {me}{}) is outside uid_min..uid_max \
                     = {}..{} ({})",
                    cfg.uidplus,
                    if what == "gid" && cfg.gid.is_some() { ", or --gid" } else { "" },
                    conf.uid_min,
                    conf.uid_max,
                    conf.origin()
                )));
            }
        }
    }
    crate::accounts::check_uid(uid).map_err(|name| SandboxError::UidTaken { uid, name })?;
    crate::accounts::check_gid(gid).map_err(|name| SandboxError::GidTaken { gid, name })?;

    // The guard kills the run's uid if the supervisor dies before the end.
    let (guard, guard_pipe) = sys::spawn_guard(uid, cfg.limits.clock)
        .map_err(|e| SandboxError::sys(format!("fork(guard for uid {uid})"), e))?;
    let guard = Guard {
        pid: guard,
        pipe: Some(guard_pipe),
    };
    // Until it has taken real uid 0 the caller could kill it: make sure.
    if !sys::setuid::became_root(guard.pid) {
        return Err(SandboxError::Internal(format!(
            "the guard process {} did not start",
            guard.pid
        )));
    }
    run_prepared(cfg, conf, trace, me, (uid, gid), caller, Some(guard), false)
}

/// The run itself, once the ids are decided: `(uid, gid)` are the run's
/// host ids (the caller's in rootless mode), `caller` the setuid caller,
/// `guard` the root path's guard (None in rootless mode).
#[allow(clippy::too_many_arguments)]
fn run_prepared(
    cfg: &RunConfig,
    conf: &AdminConf,
    mut trace: Option<&mut TraceWriter>,
    me: Pid,
    (uid, gid): (u32, u32),
    caller: Option<(u32, u32)>,
    guard: Option<Guard>,
    rootless: bool,
) -> Result<Report> {
    // Root: the directories are checked as before. Another caller: opened
    // with its rights, within allowed_dirs, and the chroot is entered through
    // the opened descriptor so a path swapped after the check cannot move it.
    let mut chroot_path = cfg.chroot_dir.clone();
    let _chroot_fd = match caller {
        None => {
            if let Some(dir) = &cfg.chroot_dir {
                check_dir("chroot directory", dir)?;
            } else if let Some(dir) = &cfg.exec_dir {
                check_dir("working directory", dir)?;
            }
            None
        }
        Some(ids) => {
            let fd = check_as_caller(cfg, conf, ids)?;
            if let Some(fd) = &fd {
                chroot_path = Some(format!("/proc/self/fd/{}", fd.as_raw_fd()).into());
            }
            fd
        }
    };
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
        Some(p) => Some(ptrace::filter_for(p, trace.as_ref().map(|t| t.level))?),
        None => None,
    };
    let iso = isolation_plan(cfg, paranoid, rootless)?;
    let private_tmp = iso.private_tmp.clone();
    // A stale cgroup of a dead supervisor must not linger; ours is removed
    // when `cgroup` drops, whatever way run() returns.
    // Rootless: no cgroup (creating one needs root); wait4 and /proc instead.
    // A caller other than root always gets one: it may stop this process
    // (SIGSTOP), and then only the kernel's limit on the cgroup bounds the
    // run's memory (page tables, tmpfs and pipe pages included).
    let cgroup = if (cfg.isolation.cgroups || caller.is_some()) && !rootless {
        crate::isolate::cgroup::remove_stale();
        let l = &cfg.limits;
        // Slightly above --mem: the kernel stops a runaway tree, while the
        // verdict still comes from the peak compared with --mem.
        let hard = l.memory_kib + (l.memory_kib / 10).max(8192);
        let tasks = l.nproc + 1 + iso.ns.has_init() as u64;
        crate::isolate::cgroup::RunCgroup::create(me.as_raw() as u32, hard, tasks)
    } else {
        None
    };
    let (err_r, err_w) = sys::pipe().map_err(|e| SandboxError::sys("pipe2", e))?;
    let status_pipe = if iso.ns.has_init() {
        Some(sys::pipe().map_err(|e| SandboxError::sys("pipe2", e))?)
    } else {
        None
    };
    let go = if paranoid {
        Some(sys::pipe().map_err(|e| SandboxError::sys("pipe2", e))?)
    } else {
        None
    };
    let gate = if rootless {
        Some(sys::pipe().map_err(|e| SandboxError::sys("pipe2", e))?)
    } else {
        None
    };
    // The ids the program takes: its own host ids, or in rootless mode the
    // unprivileged id its user namespace maps to the caller.
    let (in_uid, in_gid) = if rootless {
        (sys::userns::INSIDE_ID, sys::userns::INSIDE_ID)
    } else {
        (uid, gid)
    };

    let cstr = |p: &std::path::Path| {
        std::ffi::CString::new(p.as_os_str().as_bytes())
            .map_err(|_| SandboxError::Usage(format!("{}: path contains a NUL byte", p.display())))
    };
    let plan = ChildPlan {
        exec,
        chroot: chroot_path.as_deref().map(cstr).transpose()?,
        workdir: iso.workdir.as_deref().map(cstr).transpose()?,
        uid: in_uid,
        gid: in_gid,
        // Rootless with an init: RLIMIT_NPROC counts per (user namespace,
        // uid), and the init has the program's uid there.
        rlimits: {
            let mut r = rlimits(cfg, (rootless && iso.ns.has_init()) as u64);
            if let Some(space) = stopped_memory_backstop(cfg, caller.is_some(), cgroup.is_some()) {
                r.push((libc::RLIMIT_AS, space, space));
            }
            r
        },
        niceness: cfg.niceness,
        stderr_fd: stderr_file.as_ref().map(|f| f.as_raw_fd()),
        error_pipe: err_w.as_raw_fd(),
        go_pipe: go.as_ref().map(|(r, _)| r.as_raw_fd()),
        seccomp,
        supervisor: me.as_raw(),
        ns: iso.ns,
        cgroup_procs: cgroup.as_ref().map(|c| c.procs_files()).unwrap_or_default(),
        status_pipe: status_pipe.as_ref().map(|(_, w)| w.as_raw_fd()),
        tmpfs_probe: private_tmp
            .iter()
            .filter_map(|t| std::ffi::CString::new(t.as_os_str().as_bytes()).ok())
            .collect(),
        mounts: iso.mounts,
        userns_gate: gate.as_ref().map(|(r, w)| (r.as_raw_fd(), w.as_raw_fd())),
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
        uid: in_uid,
        gid: in_gid,
        niceness: cfg.niceness,
        mounts: plan
            .mounts
            .as_ref()
            .map(|m| m.desc.clone())
            .unwrap_or_default(),
    };
    log::debug!("namespaces: {:?}", plan.ns);
    log::debug!(
        "run: uid {uid} gid {gid}{}, chroot {:?}, workdir {:?}, mode {}",
        if rootless {
            format!(" (rootless: {in_uid}/{in_gid} in its user namespace)")
        } else {
            String::new()
        },
        cfg.chroot_dir,
        cfg.exec_dir,
        if paranoid { "paranoid" } else { "classic" }
    );
    log::debug!("limits: {:?}", cfg.limits);

    // Orphans of the run (double forks) are re-parented to us and reaped here.
    sys::set_child_subreaper()
        .map_err(|e| SandboxError::sys("prctl(PR_SET_CHILD_SUBREAPER)", e))?;
    let start = Instant::now();
    // The guard's copy of the wall clock starts now too: it kills the run
    // past --clock even if this process is stopped (SIGSTOP by the caller).
    if let Some(g) = &guard {
        g.start_clock();
    }
    if let Some(t) = trace.as_deref_mut() {
        t.set_start(start);
    }
    let forked = if plan.ns.clone_flags != 0 {
        sys::fork_into(plan.ns.clone_flags).map_err(|e| {
            if rootless
                && matches!(
                    e,
                    Errno::EPERM | Errno::ENOSPC | Errno::EUSERS | Errno::EINVAL
                )
            {
                SandboxError::NoUserNs {
                    errno: e,
                    why: userns_refusal(e),
                }
            } else {
                SandboxError::sys(format!("clone({:#x})", plan.ns.clone_flags), e)
            }
        })?
    } else {
        sys::fork().map_err(|e| SandboxError::sys("fork", e))?
    };
    let mut child = match forked {
        Fork::Child => jail::child_main(&plan),
        Fork::Parent(pid) => pid,
    };
    drop(err_w);
    // Rootless: map the caller to the inside id, then let the child go on.
    let mut userns = 0;
    if let Some((gate_r, gate_w)) = gate {
        drop(gate_r);
        if let Err((call, e)) = sys::userns::write_id_maps(child, uid, gid) {
            reap_all(child);
            return Err(SandboxError::sys(call, e));
        }
        userns = sys::userns::userns_inode(child).unwrap_or(0);
        log::debug!("rootless: wrote the id maps of {child} (user namespace {userns})");
        let _ = nix::unistd::write(&gate_w, b"u");
    }
    // Rootless paranoid: the program is the init's child (pid 2 of the PID
    // namespace); it waits on the go pipe until seized.
    let init = if paranoid && plan.ns.has_init() {
        match find_program(child) {
            Some(p) => Some(std::mem::replace(&mut child, p)),
            None => {
                reap_all(child);
                if let Some(err) = read_setup_error(Some(err_r)) {
                    let (what, errno) = jail::describe_failure(&err, &desc);
                    return Err(SandboxError::ChildSetup { step: what, errno });
                }
                return Err(SandboxError::Internal(
                    "the PID namespace's init did not start the program".into(),
                ));
            }
        }
    } else {
        None
    };
    // Kills and reaps what was started: the init (with it, its namespace) or
    // the program.
    let first = init.unwrap_or(child);
    let status_r = status_pipe.map(|(r, _)| r);
    drop(stderr_file);
    log::debug!("forked the program's process {child}");
    let stop_signals = sys::block_stop_signals();

    // Paranoid: seize with every option before the child may exec.
    if let Some((go_r, go_w)) = go {
        drop(go_r);
        if let Err((call, e)) = sys::ptrace::seize(child, sys::ptrace::SEIZE_OPTIONS) {
            sys::kill_pid(child);
            reap_all(first);
            return Err(SandboxError::sys(call, e));
        }
        log::debug!("seized {child}");
        let _ = nix::unistd::write(&go_w, b"g");
    } else if let Some(err) = read_setup_error(err_r.try_clone().ok()) {
        // Classic: the pipe closes at exec (EOF) or carries the failure.
        reap_all(first);
        let (what, errno) = jail::describe_failure(&err, &desc);
        return Err(SandboxError::ChildSetup { step: what, errno });
    }

    let waiter = match sys::Waiter::new(&stop_signals) {
        Ok(w) => Arc::new(w),
        Err(e) => {
            sys::kill_pid(child);
            reap_all(first);
            return Err(SandboxError::sys("signalfd/eventfd", e));
        }
    };
    let shared = Shared::new(child);
    if let Some(i) = init {
        shared.add_live(i);
    }
    if rootless {
        // The run shares the caller's uid: kills check its user namespace.
        shared.run_userns.store(userns, Ordering::SeqCst);
    } else {
        shared.run_uid.store(uid, Ordering::SeqCst);
    }
    // The namespace's init (ours, not the program): not sampled.
    let ns_init = init.or(plan.ns.has_init().then_some(child));
    let watch = Watch {
        shared: Arc::clone(&shared),
        start,
        cpu_limit: cfg.limits.cpu,
        wall_limit: cfg.limits.clock,
        mem_limit_kib: cfg.limits.memory_kib,
        // With an init the program is not our child: find it by its uid.
        // Rootless: by descent from this supervisor (the uid is the caller's).
        init: ns_init,
        tmpfs: private_tmp.clone(),
        page_tables: cgroup.is_none(),
        cgroup: cgroup.as_ref().and_then(|c| c.memory_probe()),
        scan: (!paranoid && (cfg.limits.nproc > 0 || plan.ns.has_init())).then_some(if rootless {
            watchdog::Scan::Descendants(me)
        } else {
            watchdog::Scan::Uid(uid)
        }),
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
            reap_all(first);
            return Err(e);
        }
    };

    let mut outcome = if let Some(policy) = &cfg.policy {
        ptrace::trace_loop(child, policy, &shared, cfg, trace.as_deref_mut())
    } else {
        classic::wait_loop(child, &shared)
    };

    // The run is over when its first process is: nothing of it may remain.
    // Known pids and the cgroup are killed here; closing the guard's pipe
    // makes it sweep the run's uid with kill(-1), and drain() reaps it all.
    shared.kill_all();
    if let Some(cg) = &cgroup {
        cg.kill_all();
    }
    let guard_pid = guard.map(Guard::finish);
    drain(&mut outcome, &shared, guard_pid, init, trace.as_deref_mut());
    // With an init, the program's own wait status came over the pipe (in
    // paranoid mode the tracer saw the program's status and every process
    // itself: the init may have been killed before it wrote).
    if let Some(rec) = read_setup_error(status_r.filter(|_| !paranoid)) {
        if rec.len() >= 8 {
            let status = i32::from_le_bytes(rec[0..4].try_into().unwrap_or_default());
            let count = u32::from_le_bytes(rec[4..8].try_into().unwrap_or_default());
            outcome.root_status = Some(status);
            outcome.reaped.count = count as u64;
        }
        if rec.len() >= 16 {
            outcome.tmpfs_end_kib = u64::from_le_bytes(rec[8..16].try_into().unwrap_or_default());
        }
    }
    let killed = |s: i32| libc::WIFSIGNALED(s) && libc::WTERMSIG(s) == libc::SIGKILL;
    if outcome.guard_deadline && outcome.root_status.is_none_or(killed) {
        // This process was stopped or far behind: the guard ended the run
        // at the wall clock.
        log::debug!("the guard killed the run at the wall clock");
        shared.set_reason(KillReason::WallTime);
    }
    let tree = cgroup.as_ref().map(|cg| TreeFigures {
        peak_kib: cg.peak_kib(),
        cpu: cg.cpu(),
        hit_limit: cg.hit_memory_limit(),
        source: cg.describe(),
    });
    let wall = start.elapsed();
    shared.done.store(true, Ordering::SeqCst);
    waiter.wake();
    let _ = dog.join();
    // Files left on the run's tmpfs, measured by the watchdog at the end
    // (a run without an init has no one else to measure them).
    outcome.tmpfs_end_kib = outcome
        .tmpfs_end_kib
        .max(shared.tmpfs_end_kib.load(Ordering::SeqCst));

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
    let mut report = build_report(
        cfg,
        &outcome,
        &shared,
        wall,
        paranoid,
        (uid, gid),
        tree,
        rootless,
    );
    if let Some(t) = trace {
        if let Err(message) = write_verdict(t, &report) {
            report.verdict = Verdict::IE { message };
            report.status = report.verdict.to_string();
        }
    }
    Ok(report)
}

/// The trace's last record: the report's fields; then everything is flushed.
fn write_verdict(t: &mut TraceWriter, report: &Report) -> std::result::Result<(), String> {
    if let Some(e) = t.error() {
        return Err(e.to_string());
    }
    let fields = match serde_json::to_value(report) {
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
struct TreeFigures {
    peak_kib: Option<u64>,
    cpu: Option<Duration>,
    hit_limit: bool,
    source: &'static str,
}

/// Namespaces, mounts and the working directory of a run.
struct IsoPlan {
    ns: crate::isolate::NsPlan,
    mounts: Option<crate::isolate::mounts::MountPlan>,
    workdir: Option<std::path::PathBuf>,
    /// Where the run has a private tmpfs (its memory counts as the run's).
    private_tmp: Vec<std::path::PathBuf>,
}

/// The world-writable directories a run gets a private tmpfs on, so that
/// nothing it leaves there outlives it (its uid may come back for a later
/// run): those of /tmp, /var/tmp and /dev/shm that are real directories.
pub(crate) fn private_tmp_dirs() -> Vec<std::path::PathBuf> {
    ["/tmp", "/var/tmp", "/dev/shm"]
        .iter()
        .map(std::path::PathBuf::from)
        .filter(|p| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir()))
        .collect()
}

/// Directories under `private` that the run needs from the host: its
/// working directory and its program's directory (outermost only). A
/// private directory that is itself needed (the program in /tmp) keeps the
/// host's: it is dropped from `private`.
fn kept_dirs(
    cfg: &RunConfig,
    mut private: Vec<std::path::PathBuf>,
) -> (Vec<std::path::PathBuf>, Vec<std::path::PathBuf>) {
    let mut want: Vec<std::path::PathBuf> = Vec::new();
    let wd = cfg
        .exec_dir
        .as_ref()
        .and_then(|d| std::fs::canonicalize(d).ok());
    let base = wd.clone().or_else(|| std::env::current_dir().ok());
    let prog = base
        .map(|b| b.join(&cfg.program))
        .and_then(|p| std::fs::canonicalize(p).ok())
        .and_then(|p| p.parent().map(|d| d.to_path_buf()));
    let cwd = if wd.is_none() {
        std::env::current_dir().ok()
    } else {
        None
    };
    let needed: Vec<_> = [wd, prog, cwd].into_iter().flatten().collect();
    private.retain(|t| !needed.contains(t));
    for d in needed {
        if private.iter().any(|t| d.starts_with(t)) {
            want.push(d);
        }
    }
    want.sort();
    want.dedup();
    // Keep only the outermost: a bind of a parent brings its children.
    let all = want.clone();
    want.retain(|d| !all.iter().any(|o| o != d && d.starts_with(o)));
    (private, want)
}

fn isolation_plan(cfg: &RunConfig, paranoid: bool, rootless: bool) -> Result<IsoPlan> {
    use crate::isolate::{mounts::MountPlan, profiles, Bind, NsPlan};
    let iso = &cfg.isolation;
    // A policy's `jail NAME` line selects a profile when --jail is not given.
    let jail = iso
        .jail
        .clone()
        .or_else(|| cfg.policy.as_ref().and_then(|p| p.jail().map(String::from)))
        .filter(|_| cfg.chroot_dir.is_none());
    let wants_jail = jail.is_some() || !iso.binds.is_empty() || !iso.tmpfs.is_empty();
    let ns = NsPlan::new(iso, paranoid, wants_jail || iso.namespaces, rootless);
    let hidepid = !ns.has_init();
    if rootless && !ns.has_init() {
        // The PID namespace is what kills a rootless run when safeexec dies
        // (no uid of its own to sweep), keeps the caller's other processes
        // out of its reach (same host uid), and lets it mount a fresh /proc.
        return Err(SandboxError::Usage(
            "--no-ns: a rootless run needs its PID namespace (it has the caller's uid; \
             nothing else ends it if safeexec is killed)"
                .into(),
        ));
    }
    if !wants_jail {
        let mounts = if iso.namespaces && cfg.chroot_dir.is_none() {
            let (private, keep) = kept_dirs(cfg, private_tmp_dirs());
            let plan = MountPlan::proc_only(hidepid, &private, cfg.limits.memory_kib, &keep)
                .map_err(SandboxError::Usage)?;
            Some((plan, private))
        } else {
            None
        };
        let (mounts, private_tmp) = match mounts {
            Some((m, p)) => (Some(m), p),
            None => (None, Vec::new()),
        };
        return Ok(IsoPlan {
            ns,
            mounts,
            workdir: cfg.exec_dir.clone(),
            private_tmp,
        });
    }
    let mut binds = match &jail {
        Some(name) => profiles::profile(name)
            .ok_or_else(|| SandboxError::Usage(format!("--jail: unknown profile `{name}`")))?,
        None => Vec::new(),
    };
    let mut tmpfs = iso.tmpfs.clone();
    // The working directory: --exec_dir writable, else the caller's
    // directory read-only with a fresh /tmp for scratch files.
    let workdir = match &cfg.exec_dir {
        Some(d) => {
            let d = std::fs::canonicalize(d).map_err(|source| SandboxError::Path {
                what: "working directory",
                path: d.clone(),
                source,
            })?;
            binds.push(Bind {
                src: d.clone(),
                dst: d.clone(),
                writable: true,
            });
            d
        }
        None => {
            let d = std::env::current_dir()
                .map_err(|e| SandboxError::Internal(format!("getcwd: {e}")))?;
            if d != std::path::Path::new("/") {
                binds.push(Bind {
                    src: d.clone(),
                    dst: d.clone(),
                    writable: false,
                });
            }
            if !d.starts_with("/tmp") && !tmpfs.iter().any(|t| t == std::path::Path::new("/tmp")) {
                tmpfs.push("/tmp".into());
            }
            d
        }
    };
    // The program itself must be inside: its install prefix for a runtime
    // profile, the file alone otherwise.
    let prog = if cfg.program.is_absolute() {
        cfg.program.clone()
    } else {
        workdir.join(&cfg.program)
    };
    let mut all: Vec<Bind> = binds.clone();
    all.extend(iso.binds.iter().cloned());
    if let Some(real) = std::fs::canonicalize(&prog)
        .ok()
        .filter(|r| !all.iter().any(|b| r.starts_with(&b.src) && b.src == b.dst))
    {
        let add = match jail.as_deref() {
            Some("python3") | Some("java") => profiles::program_prefix(&prog, &all).unwrap_or(real),
            _ => real,
        };
        log::debug!("jail: binding the program's {} read-only", add.display());
        binds.push(Bind {
            src: add.clone(),
            dst: add,
            writable: false,
        });
    }
    let mut spec =
        profiles::expand(binds, &iso.binds, &tmpfs, hidepid).map_err(SandboxError::Usage)?;
    // Each tmpfs of the jail is RAM of the run: the kernel bounds it at
    // --mem, and the watchdog counts what it holds (private_tmp).
    spec.tmpfs_kib = cfg.limits.memory_kib;
    log::debug!("jail: {spec:?}");
    Ok(IsoPlan {
        ns,
        mounts: Some(MountPlan::jail(&spec, rootless).map_err(SandboxError::Usage)?),
        workdir: Some(workdir),
        private_tmp: spec.tmpfs.clone(),
    })
}

/// The guard process (see [`sys::spawn_guard`]); dropping it ends it.
struct Guard {
    pid: Pid,
    pipe: Option<OwnedFd>,
}

impl Guard {
    /// Starts the guard's copy of the wall clock.
    fn start_clock(&self) {
        if let Some(p) = &self.pipe {
            let _ = nix::unistd::write(p, b"g");
        }
    }

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

/// Reaps what is left after the kill, until no child remains. The usage of
/// `init` (a paranoid run's PID namespace init, whose rusage repeats its
/// traced children's) is not counted.
fn drain(
    outcome: &mut Outcome,
    shared: &Shared,
    guard: Option<Pid>,
    init: Option<Pid>,
    mut trace: Option<&mut TraceWriter>,
) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match sys::wait4_any(0) {
            Ok(Some(w)) if Some(w.pid) == guard => {
                outcome.guard_deadline = libc::WIFEXITED(w.status)
                    && libc::WEXITSTATUS(w.status) == sys::GUARD_DEADLINE_EXIT;
            }
            Ok(Some(w)) if Some(w.pid) == init => shared.remove_live(w.pid),
            Ok(Some(w)) => {
                if libc::WIFEXITED(w.status) || libc::WIFSIGNALED(w.status) {
                    outcome.reaped.add(&w.usage);
                    shared.remove_live(w.pid);
                    if let Some(t) = trace.as_deref_mut() {
                        // A write failure is already the verdict, or shows at it.
                        let _ = t.write(&Event::Exit {
                            t_us: t.now_us(),
                            pid: w.pid.as_raw(),
                            status: libc::WIFEXITED(w.status).then(|| libc::WEXITSTATUS(w.status)),
                            signal: libc::WIFSIGNALED(w.status)
                                .then(|| signal_name(libc::WTERMSIG(w.status))),
                        });
                    }
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

/// Kills the first process (not reaped yet, so its pid is still ours) and
/// reaps everything, the guardian included (released first, so it exits).
fn reap_all(child: Pid) {
    sys::kill_pid(child);
    // The child only: waiting for any child would also wait for the guard,
    // which ends only when its pipe closes, after this returns (deadlock).
    sys::wait_pid(child);
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

/// Opens a file safeexec writes for the caller (created 0644 if missing),
/// never through a symbolic link, close-on-exec, and with the caller's
/// rights when the caller is not root.
pub fn open_output(what: &'static str, path: &std::path::Path) -> Result<File> {
    let caller = unprivileged_caller();
    let _fs = sys::setuid::CallerFs::enter(caller)
        .map_err(|e| SandboxError::sys("setfsuid(caller)", e))?;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
        .open(path)
        .map_err(|source| {
            if caller.is_some() && hidden(&source) {
                SandboxError::Inaccessible {
                    what,
                    path: path.to_path_buf(),
                    code: crate::error::EXIT_OUTPUT,
                }
            } else {
                SandboxError::Output {
                    what,
                    path: path.to_path_buf(),
                    source,
                }
            }
        })
}

/// Errors that must read the same for a missing file and a forbidden one.
pub fn hidden(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOENT | libc::EACCES | libc::EPERM | libc::ELOOP | libc::ENOTDIR)
    )
}

/// Limits above the administrator's maxima: refused for a caller other than
/// root, logged for root.
fn check_limits(cfg: &RunConfig, conf: &AdminConf, unprivileged: bool) -> Result<()> {
    let mut over = conf.limits_over(&cfg.limits);
    let iso = &cfg.isolation;
    over.extend(conf.counts_over(iso.tmpfs.len(), iso.binds.len(), cfg.args.len()));
    if over.is_empty() {
        return Ok(());
    }
    if unprivileged {
        return Err(SandboxError::Usage(format!(
            "{} ({})",
            over.join("; "),
            conf.origin()
        )));
    }
    log::debug!(
        "root exceeds the administrator's bounds: {}",
        over.join("; ")
    );
    Ok(())
}

/// For a caller other than root: the chroot, the working directory and the
/// program are opened with the caller's rights (O_PATH, the program and
/// working directory resolved inside the chroot as the run will see them),
/// must be searchable / executable by the caller, and the directories must
/// lie under allowed_dirs. Returns the opened chroot directory.
fn check_as_caller(cfg: &RunConfig, conf: &AdminConf, ids: (u32, u32)) -> Result<Option<OwnedFd>> {
    use std::path::Path;
    let _fs = sys::setuid::CallerFs::enter(Some(ids))
        .map_err(|e| SandboxError::sys("setfsuid(caller)", e))?;
    let gone = |what: &'static str, path: &Path| SandboxError::Inaccessible {
        what,
        path: path.to_path_buf(),
        code: crate::error::EXIT_SETUP,
    };
    let not_allowed = |opt: &str, path: &Path| {
        SandboxError::Usage(format!(
            "{opt} {}: not under the administrator's allowed_dirs ({}; {})",
            path.display(),
            if conf.allowed_dirs.is_empty() {
                "none".to_string()
            } else {
                conf.allowed_dirs
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            conf.origin()
        ))
    };
    // A directory outside any chroot: opened, searchable, allowed.
    let host_dir = |opt: &str, what: &'static str, dir: &Path| -> Result<OwnedFd> {
        let fd = sys::setuid::open_path_at(None, dir, true, false).map_err(|_| gone(what, dir))?;
        sys::setuid::access_fd(&fd, libc::X_OK).map_err(|_| gone(what, dir))?;
        let canonical = std::fs::canonicalize(dir).map_err(|_| gone(what, dir))?;
        if !conf.dir_allowed(&canonical) {
            return Err(not_allowed(opt, dir));
        }
        Ok(fd)
    };
    let root = match &cfg.chroot_dir {
        Some(dir) => Some(host_dir("--chroot_dir", "chroot directory", dir)?),
        None => None,
    };
    let root_fd = root.as_ref().map(|f| f.as_raw_fd());
    let in_root = root.is_some();
    if let Some(dir) = &cfg.exec_dir {
        if in_root {
            let fd = sys::setuid::open_path_at(root_fd, dir, true, true)
                .map_err(|_| gone("working directory", dir))?;
            sys::setuid::access_fd(&fd, libc::X_OK).map_err(|_| gone("working directory", dir))?;
        } else {
            host_dir("--exec_dir", "working directory", dir)?;
        }
    }
    // Bind sources: the caller must be able to read them (and write them,
    // for a writable bind), and they must lie under allowed_dirs.
    for b in &cfg.isolation.binds {
        let fd = sys::setuid::open_path_at(None, &b.src, false, false)
            .map_err(|_| gone("bind source", &b.src))?;
        let mode = libc::R_OK | if b.writable { libc::W_OK } else { 0 };
        sys::setuid::access_fd(&fd, mode).map_err(|_| gone("bind source", &b.src))?;
        let canonical = std::fs::canonicalize(&b.src).map_err(|_| gone("bind source", &b.src))?;
        if !conf.dir_allowed(&canonical) {
            let opt = if b.writable { "--bind" } else { "--ro-bind" };
            return Err(not_allowed(opt, &b.src));
        }
    }
    // The program, as execve will find it: relative to the working
    // directory, or to the chroot's root, or to the current directory.
    let prog = match (&cfg.exec_dir, cfg.program.is_relative()) {
        (Some(d), true) => d.join(&cfg.program),
        (None, true) if in_root => Path::new("/").join(&cfg.program),
        _ => cfg.program.clone(),
    };
    let fd = sys::setuid::open_path_at(root_fd, &prog, false, in_root)
        .map_err(|_| gone("program", &cfg.program))?;
    let is_file = File::from(
        fd.try_clone()
            .map_err(|e| SandboxError::Internal(e.to_string()))?,
    )
    .metadata()
    .map(|m| m.is_file())
    .unwrap_or(false);
    if !is_file || sys::setuid::access_fd(&fd, libc::X_OK).is_err() {
        return Err(gone("program", &cfg.program));
    }
    Ok(root)
}

/// For a caller other than root whose run got no cgroup (cgroups not
/// mounted or not writable here): an address-space limit, in bytes, so
/// that the kernel still bounds the run's memory while the caller keeps
/// this process stopped. Generous (twice --mem, at least --mem + 64 MiB)
/// because address space is not memory; it also bounds page tables (at
/// most 1/512 of it). None when --space already sets one, for root, and
/// when the kernel's cgroup limit applies.
fn stopped_memory_backstop(cfg: &RunConfig, unprivileged: bool, cgroup: bool) -> Option<u64> {
    let l = &cfg.limits;
    if !unprivileged || cgroup || l.space_kib > 0 || l.memory_kib == 0 {
        return None;
    }
    let kib = l
        .memory_kib
        .saturating_mul(2)
        .max(l.memory_kib + (64 << 10));
    log::debug!(
        "no cgroup for this caller's run: RLIMIT_AS {kib} KiB bounds its memory if safeexec is stopped"
    );
    Some(kib.saturating_mul(1024))
}

/// `extra`: processes of the run's uid that are not the program's (the
/// rootless init).
fn rlimits(cfg: &RunConfig, extra: u64) -> Vec<(libc::__rlimit_resource_t, u64, u64)> {
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
        // and threads: the program itself plus --nproc more. Rootless, the
        // count is per (user namespace, uid) since Linux 5.14: the run's too.
        (libc::RLIMIT_NPROC, l.nproc + 1 + extra, l.nproc + 1 + extra),
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

/// Rootless runs say why there is no cgroup figure.
fn note_rootless(rootless: bool, mut s: Sources) -> Sources {
    if rootless {
        for f in [&mut s.memory, &mut s.cpu] {
            f.push_str(" (rootless: no cgroup)");
        }
    }
    s
}

/// Rootless paranoid mode: the host pid of the program, the only child the
/// PID namespace's `init` forks. None if the init ended first (a setup
/// failure) or nothing appeared within 5 seconds.
fn find_program(init: Pid) -> Option<Pid> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(p) = crate::measure::children_of(init).first() {
            return Some(*p);
        }
        if !crate::measure::is_running(init) || Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_micros(500));
    }
}

#[allow(clippy::too_many_arguments)]
fn build_report(
    cfg: &RunConfig,
    o: &Outcome,
    shared: &Shared,
    wall: Duration,
    paranoid: bool,
    (uid, gid): (u32, u32),
    tree: Option<TreeFigures>,
    rootless: bool,
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
            _ if memory > l.memory_kib || hit_limit => Verdict::MLE,
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
        sources: note_rootless(
            rootless,
            Sources {
                memory: if let (Some(_), Some(t)) = (tree_peak, &tree) {
                    format!(
                        "{}: the run's cgroup, sampled (its charge less page cache: resident \
                         memory, page tables, tmpfs, pipe buffers), max with {}; its peak if \
                         the kernel's OOM killer acted",
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
mod memory_backstop_tests {
    use super::stopped_memory_backstop;
    use crate::config::RunConfig;

    #[test]
    fn rlimit_as_only_for_callers_without_a_cgroup() {
        let mut cfg = RunConfig::new("/bin/true");
        cfg.limits.memory_kib = 65536;
        // Twice --mem, at least --mem + 64 MiB, in bytes.
        assert_eq!(
            stopped_memory_backstop(&cfg, true, false),
            Some(131072 * 1024)
        );
        cfg.limits.memory_kib = 1 << 20;
        assert_eq!(
            stopped_memory_backstop(&cfg, true, false),
            Some((2 << 20) * 1024)
        );
        cfg.limits.memory_kib = 1024;
        assert_eq!(
            stopped_memory_backstop(&cfg, true, false),
            Some((1024 + 65536) * 1024)
        );
        // Root, a run with a cgroup, or --space given: none.
        assert_eq!(stopped_memory_backstop(&cfg, false, false), None);
        assert_eq!(stopped_memory_backstop(&cfg, true, true), None);
        cfg.limits.space_kib = 4096;
        assert_eq!(stopped_memory_backstop(&cfg, true, false), None);
    }
}
