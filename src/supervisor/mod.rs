//! The supervisor: prepares the run, forks the jailed child, waits for every
//! process of the run (tracing them in paranoid mode), enforces the limits
//! and turns what happened into a [`Report`].

use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::unistd::Pid;

use crate::adminconf::AdminConf;
use crate::caller::is_rootless;
use crate::config::RunConfig;
use crate::error::{Result, SandboxError};
use crate::isolate::cgroup::RunCgroup;
use crate::isolate::plan;
use crate::jail::{self, ChildPlan, PlanDescription};
use crate::measure::Reaped;
use crate::report::{Report, Restricted, Verdict};
use crate::sys::{self, Fork};
use crate::trace::TraceWriter;

mod classic;
mod disk;
pub mod landlock;
mod lifecycle;
pub mod paths;
mod ptrace;
mod verdict;
pub mod watchdog;

use lifecycle::{
    drain, find_program, read_init_status, read_setup_error, reap_all, userns_refusal, Guard,
};
use verdict::{build_report, write_verdict, TreeFigures};
pub use verdict::{errno_text, signal_name};
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
    /// Every process of the run, from the kernel's fork events (classic
    /// mode as root); None: the processes reaped are the count.
    pub processes: Option<u64>,
}

/// Runs a resolved configuration ([`crate::Resolved::run`]): `caller` is
/// the setuid caller the bounds apply to, `ids` the run's host uid and gid
/// that resolution checked (None in rootless mode).
pub(crate) fn run_resolved(
    cfg: &RunConfig,
    conf: &AdminConf,
    caller: Option<(u32, u32)>,
    ids: Option<(u32, u32)>,
    trace: Option<&mut TraceWriter>,
) -> Result<Report> {
    let rootless = is_rootless();
    if !sys::is_root() && !rootless {
        // Installed setuid, but not to root: nothing to work with.
        return Err(SandboxError::NotRoot {
            euid: nix::unistd::geteuid().as_raw(),
        });
    }
    let me = nix::unistd::getpid();
    log::debug!("configuration resolved; the run starts");
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
        return run_prepared(cfg, conf, trace, me, (uid, gid), None, None, true, None);
    }
    // The run's uid, claimed for the whole run (crate::runuid): a caller
    // other than root gets a free one of the administrator's range; root
    // keeps --uidplus + pid (and --gid). Either way no account, group or
    // process has it and no other run holds its lock.
    let claimed = match caller {
        Some(_) => crate::runuid::claim_from_range(conf, me.as_raw() as u32)?,
        None => {
            let (uid, gid) =
                ids.ok_or_else(|| SandboxError::Internal("the run's ids were not decided".into()))?;
            crate::runuid::claim_exact(uid, gid)?
        }
    };
    let (uid, gid) = (claimed.uid, claimed.gid);
    log::debug!("claimed uid {uid} gid {gid} (accounts, processes, lock)");

    // Where the run's cgroup goes, before the guard exists: on cgroup v2
    // this may move safeexec into a leaf of its own cgroup, which must then
    // hold no other process (crate::isolate::cgroup).
    let site = plan::wants_cgroup(cfg, false, caller.is_some())
        .then(|| crate::isolate::cgroup::locate(conf.cgroup_root.as_deref()));
    // The guard kills the run's uid if the supervisor dies or stops before
    // the end; it holds the uid's lock until its last sweep.
    let guard = Guard::spawn(uid, cfg.limits.clock, Some(claimed.lock_fd()))?;
    log::debug!("guard started");
    let report = run_prepared(
        cfg,
        conf,
        trace,
        me,
        (uid, gid),
        caller,
        Some(guard),
        false,
        site,
    );
    drop(claimed);
    report
}

/// The run itself, once the ids are decided: `(uid, gid)` are the run's
/// host ids (the caller's in rootless mode), `caller` the setuid caller,
/// `guard` the root path's guard (None in rootless mode).
/// plan -> launch -> supervise -> finish.
#[allow(clippy::too_many_arguments)]
fn run_prepared(
    cfg: &RunConfig,
    conf: &AdminConf,
    mut trace: Option<&mut TraceWriter>,
    me: Pid,
    ids: (u32, u32),
    caller: Option<(u32, u32)>,
    guard: Option<Guard>,
    rootless: bool,
    site: Option<std::result::Result<crate::isolate::cgroup::Site, String>>,
) -> Result<Report> {
    let mut prepared = plan(cfg, conf, trace.as_deref(), me, ids, caller, rootless, site)?;
    log::debug!("planned: paths opened, filter compiled, mounts and cgroup made");
    // Classic mode as root: every fork of the run counted from the kernel's
    // events (paranoid mode sees each one itself; rootless cannot listen).
    // Subscribed before the fork, read by a thread started after it.
    let forks = (!prepared.paranoid && !rootless)
        .then(crate::measure::ForkCounter::listen)
        .flatten();
    let launched = launch(&mut prepared, guard.as_ref(), trace.as_deref_mut())?;
    let forks = forks.and_then(|l| l.collect());
    let mut supervised = supervise(cfg, &prepared, &launched, guard, me, trace.as_deref_mut())?;
    log::debug!("the run is over: every process of it reaped, the guard too");
    if let Some(f) = forks {
        // With a PID namespace the first process is the init, which forked
        // the program; without, the first process is the program.
        let own = (!prepared.plan.ns.has_init()) as u64;
        supervised.outcome.processes = f.finish(launched.first).map(|n| n + own);
    }
    finish(cfg, &mut prepared, launched, supervised, trace)
}

/// Everything decided and opened before the fork.
struct Prepared {
    plan: ChildPlan,
    /// The plan in words, for the child's setup-error messages.
    desc: PlanDescription,
    paranoid: bool,
    rootless: bool,
    /// The run's host uid and gid.
    ids: (u32, u32),
    /// Where the run has a private tmpfs (its memory counts as the run's).
    private_tmp: Vec<PathBuf>,
    /// Removed when dropped, whatever way the run ends.
    cgroup: Option<RunCgroup>,
    /// Why a run that should have a cgroup has none (a report warning).
    cgroup_warning: Option<String>,
    /// The caller's paths, opened once: the child enters the chroot and
    /// runs the program through these descriptors.
    _opened: crate::caller::Opened,
    stderr_file: Option<File>,
    /// The child's setup errors (closed at its exec).
    err: (OwnedFd, Option<OwnedFd>),
    /// The init's status record (with a PID namespace).
    status_pipe: Option<(OwnedFd, OwnedFd)>,
    /// Paranoid: the child waits on it until seized.
    go: Option<(OwnedFd, OwnedFd)>,
    /// Rootless: the child waits on it until its id maps are written.
    gate: Option<(OwnedFd, OwnedFd)>,
    /// Landlock for the policy's path rules: the ruleset (closed after the
    /// fork) and what the report says of it.
    landlock: landlock::Prepared,
    /// The bounded working directory (handed back when the run ends).
    disk: Option<disk::Disk>,
    /// The setuid caller (the hand-back's owner).
    caller: Option<(u32, u32)>,
}

/// Plan: the caller's directories checked (with its rights), output files
/// opened, the seccomp filter compiled, namespaces, mounts and cgroup
/// decided, the child's whole setup written down as a [`ChildPlan`].
#[allow(clippy::too_many_arguments)]
fn plan(
    cfg: &RunConfig,
    conf: &AdminConf,
    trace: Option<&TraceWriter>,
    me: Pid,
    (uid, gid): (u32, u32),
    caller: Option<(u32, u32)>,
    rootless: bool,
    site: Option<std::result::Result<crate::isolate::cgroup::Site, String>>,
) -> Result<Prepared> {
    // Root: the directories are checked as before. Another caller: opened
    // with its rights, within allowed_dirs, and the chroot is entered through
    // the opened descriptor so a path swapped after the check cannot move it.
    // Every path the caller named is opened here, once, and used from then
    // on only through its descriptor (caller::open_paths).
    let opened = crate::caller::open_paths(cfg, conf, caller)?;
    let chroot_path = opened
        .chroot
        .as_ref()
        .map(|fd| PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd())));
    let stderr_file = match &cfg.error_file {
        Some(p) => Some(crate::files::open_output("error file", p)?),
        None => None,
    };

    let argv0 = cfg.program.as_os_str();
    let argv = std::iter::once(argv0).chain(cfg.args.iter().map(|a| a.as_os_str()));
    let env = cfg.env.iter().map(|(k, v)| (k.as_os_str(), v.as_os_str()));
    let exec = sys::ExecArgs::new(argv0, argv, env).map_err(SandboxError::Usage)?;

    let paranoid = cfg.policy.is_some();
    // Landlock for the path rules (or a refusal when the kernel lacks it).
    let mut ll = landlock::prepare(cfg)?;
    let seccomp = match &cfg.policy {
        Some(p) => Some(ptrace::filter_for(
            p,
            trace.map(|t| t.level),
            ll.opens_in_kernel,
        )?),
        // Classic mode: user namespaces, keys, perf, bpf, io_uring, ... refused.
        None if cfg.isolation.classic_filter => Some(ptrace::classic_filter()),
        None => None,
    };
    // The bounded working directory: its tmpfs, made here (root only),
    // over the working directory opened once (caller::open_paths).
    let disk = plan::disk_dir(cfg, rootless, &opened)
        .map(|wd| disk::prepare(wd, cfg.limits.disk_kib, (uid, gid)))
        .transpose()?;
    let layer = disk.as_ref().map(|d| crate::isolate::mounts::DiskLayer {
        fd: d.fd.as_raw_fd(),
        wd: d.wd.clone(),
        id: d.wd_id,
    });
    let iso = plan::isolation_plan(cfg, paranoid, rootless, &opened, caller, layer.as_ref())?;
    // A caller other than root always gets one (plan::wants_cgroup): it may
    // stop this process (SIGSTOP), and then only the kernel's limit on the
    // cgroup bounds the run's memory (tmpfs, page tables and pipe buffers
    // are charged to it).
    let (cgroup, cgroup_warning) = plan::run_cgroup(cfg, conf, &iso.ns, me.as_raw() as u32, site)?;
    let pipe = || sys::pipe().map_err(|e| SandboxError::sys("pipe2", e));
    let (err_r, err_w) = pipe()?;
    let status_pipe = iso.ns.has_init().then(pipe).transpose()?;
    let go = paranoid.then(pipe).transpose()?;
    let gate = rootless.then(pipe).transpose()?;
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
        // The directory entered must be the one opened and checked.
        // (Under the bounded working directory the child enters the
        // overlay, whose lower layer was checked the same way when it was
        // opened: MountOp::KeepPath with the id.)
        workdir_id: iso
            .workdir
            .as_ref()
            .filter(|_| layer.is_none())
            .and(opened.workdir())
            .map(|h| h.id),
        // Classic mode runs the opened program itself (execveat); a script
        // (which execveat cannot run from a close-on-exec descriptor) and
        // paranoid mode (the policy's filter knows execve) run by path.
        exec_fd: opened
            .program
            .as_ref()
            .filter(|_| !paranoid)
            .map(|h| h.fd.as_raw_fd()),
        close_after_setup: {
            let o = &opened;
            let mut v: Vec<i32> = o.chroot.iter().map(|f| f.as_raw_fd()).collect();
            v.extend(
                [&o.exec_dir, &o.cwd]
                    .into_iter()
                    .flatten()
                    .chain(&o.binds)
                    .map(|h| h.fd.as_raw_fd()),
            );
            if paranoid {
                v.extend(o.program.iter().map(|h| h.fd.as_raw_fd()));
            }
            if let Some(m) = &iso.mounts {
                v.extend(m.trees.iter().map(|t| t.as_raw_fd()));
            }
            if let Some(l) = &layer {
                v.extend([l.fd, crate::isolate::mounts::DISK_LOWER_FD]);
            }
            v
        },
        uid: in_uid,
        gid: in_gid,
        // Rootless with an init: RLIMIT_NPROC counts per (user namespace,
        // uid), and the init has the program's uid there.
        rlimits: {
            let mut r = plan::rlimits(cfg, (rootless && iso.ns.has_init()) as u64);
            if let Some(space) =
                plan::stopped_memory_backstop(cfg, caller.is_some(), cgroup.is_some())
            {
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
        tmpfs_probe: iso
            .private_tmp
            .iter()
            .filter_map(|t| std::ffi::CString::new(t.as_os_str().as_bytes()).ok())
            .collect(),
        mounts: iso.mounts,
        userns_gate: gate.as_ref().map(|(r, w)| (r.as_raw_fd(), w.as_raw_fd())),
        landlock: ll.child.take(),
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
        rlimits: jail::describe_rlimits(&plan.rlimits),
        cgroup_files: jail::describe_files(&plan.cgroup_procs),
        landlock: std::mem::take(&mut ll.paths),
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
    Ok(Prepared {
        plan,
        desc,
        paranoid,
        rootless,
        ids: (uid, gid),
        private_tmp: iso.private_tmp,
        cgroup,
        cgroup_warning,
        _opened: opened,
        stderr_file,
        err: (err_r, Some(err_w)),
        status_pipe,
        go,
        gate,
        landlock: ll,
        disk,
        caller,
    })
}

/// The run once its first process exists.
struct Launched {
    /// The program's process (traced in paranoid mode).
    child: Pid,
    /// Rootless paranoid: the PID namespace's init, the program's parent.
    init: Option<Pid>,
    /// What kills and reaps the whole run: the init, or the program.
    first: Pid,
    start: Instant,
    /// Rootless: the run's user namespace (kills check it).
    userns: u64,
    stop_signals: nix::sys::signal::SigSet,
    status_r: Option<OwnedFd>,
}

impl Launched {
    /// Kills what was started and reaps it, for an error before the wait.
    fn abandon(&self) {
        sys::kill_pid(self.child);
        reap_all(self.first);
    }
}

/// The child's setup failure, as the error the caller sees.
fn setup_failure(rec: &[u8], desc: &PlanDescription) -> SandboxError {
    let (what, errno) = jail::describe_failure(rec, desc);
    let hint = if what.starts_with("execve") {
        exec_hint(desc, errno)
    } else {
        String::new()
    };
    SandboxError::ChildSetup {
        step: what,
        errno,
        hint,
    }
}

/// What an execve failure most likely means, for root and rootless callers
/// (a setuid caller's program was checked with its rights before the fork,
/// and nothing is looked up for it as root): a directory given as the
/// program, or a bare name (no PATH lookup is done, as in the classic
/// safeexec), with the absolute path PATH would have found.
fn exec_hint(desc: &PlanDescription, errno: Errno) -> String {
    if !desc.chroot.is_empty() || crate::caller::unprivileged_caller().is_some() {
        return String::new();
    }
    let prog = std::path::Path::new(&desc.program);
    let full = if prog.is_relative() && !desc.workdir.is_empty() {
        std::path::Path::new(&desc.workdir).join(prog)
    } else {
        prog.to_path_buf()
    };
    match errno {
        Errno::EACCES | Errno::EISDIR if full.is_dir() => {
            format!("; {} is a directory, not a program", desc.program)
        }
        Errno::ENOENT if !desc.program.contains('/') => {
            let path =
                std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
            let found = std::env::split_paths(&path)
                .filter(|d| d.is_absolute())
                .map(|d| d.join(prog))
                .find(|p| p.is_file());
            match found {
                Some(p) => format!(
                    "; no PATH lookup is done: give the program's path, e.g. --exec {}",
                    p.display()
                ),
                None => "; no PATH lookup is done: give the program's path".into(),
            }
        }
        _ => String::new(),
    }
}

/// Launch: fork the child into its namespaces (it runs [`jail::child_main`]),
/// write a rootless run's id maps, seize the program in paranoid mode, or
/// see a classic child's setup fail.
fn launch(
    p: &mut Prepared,
    guard: Option<&Guard>,
    trace: Option<&mut TraceWriter>,
) -> Result<Launched> {
    let (uid, gid) = p.ids;
    let rootless = p.rootless;
    let ns = p.plan.ns;
    // Orphans of the run (double forks) are re-parented to us and reaped here.
    sys::set_child_subreaper()
        .map_err(|e| SandboxError::sys("prctl(PR_SET_CHILD_SUBREAPER)", e))?;
    let start = Instant::now();
    // The guard's copy of the wall clock starts now too: it kills the run
    // past --clock even if this process is stopped (SIGSTOP by the caller).
    if let Some(g) = guard {
        g.start_clock();
    }
    if let Some(t) = trace {
        t.set_start(start);
    }
    // cgroup v2: the child starts in the run's cgroup (clone3 with
    // CLONE_INTO_CGROUP, Linux 5.7) instead of moving itself there; on an
    // older kernel it joins by writing cgroup.procs, as on v1.
    let cg_fd = p.cgroup.as_ref().and_then(|c| c.v2_dir_fd());
    let mut into_cgroup = None;
    if let Some(fd) = &cg_fd {
        let join = std::mem::take(&mut p.plan.cgroup_procs);
        match sys::fork_into_cgroup(ns.clone_flags, fd.as_raw_fd()) {
            Err(Errno::ENOSYS | Errno::E2BIG | Errno::EINVAL | Errno::EPERM) => {
                log::debug!("clone3(CLONE_INTO_CGROUP) unavailable: the child joins its cgroup");
                p.plan.cgroup_procs = join;
            }
            r => {
                into_cgroup = Some(r.map_err(|e| {
                    SandboxError::sys(
                        format!("clone3({:#x} | CLONE_INTO_CGROUP)", ns.clone_flags),
                        e,
                    )
                })?)
            }
        }
    }
    let forked = if let Some(f) = into_cgroup {
        f
    } else if ns.clone_flags != 0 {
        sys::fork_into(ns.clone_flags).map_err(|e| {
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
                SandboxError::sys(format!("clone({:#x})", ns.clone_flags), e)
            }
        })?
    } else {
        sys::fork().map_err(|e| SandboxError::sys("fork", e))?
    };
    let mut child = match forked {
        Fork::Child => jail::child_main(&p.plan),
        Fork::Parent(pid) => pid,
    };
    drop(cg_fd);
    p.err.1.take();
    drop(p.landlock.ruleset.take());
    // Only the init writes the status pipe from here on (EOF when it ends).
    let status_r = p.status_pipe.take().map(|(r, _)| r);
    // Rootless: map the caller to the inside id, then let the child go on.
    let mut userns = 0;
    if let Some((gate_r, gate_w)) = p.gate.take() {
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
    let init = if p.paranoid && ns.has_init() {
        match find_program(child, status_r.as_ref()) {
            Some(prog) => Some(std::mem::replace(&mut child, prog)),
            None => {
                reap_all(child);
                if let Some(err) = read_setup_error(p.err.0.try_clone().ok()) {
                    return Err(setup_failure(&err, &p.desc));
                }
                return Err(SandboxError::Internal(
                    "the PID namespace's init did not start the program".into(),
                ));
            }
        }
    } else {
        None
    };
    p.stderr_file.take();
    log::debug!("forked the program's process {child}");
    let launched = Launched {
        child,
        init,
        first: init.unwrap_or(child),
        start,
        userns,
        stop_signals: sys::block_stop_signals(),
        status_r,
    };

    // Paranoid: seize with every option before the child may exec.
    if let Some((go_r, go_w)) = p.go.take() {
        drop(go_r);
        if let Err((call, e)) = sys::ptrace::seize(child, sys::ptrace::SEIZE_OPTIONS) {
            launched.abandon();
            return Err(SandboxError::sys(call, e));
        }
        log::debug!("seized {child}");
        let _ = nix::unistd::write(&go_w, b"g");
    } else if let Some(err) = read_setup_error(p.err.0.try_clone().ok()) {
        // Classic: the pipe closes at exec (EOF) or carries the failure.
        reap_all(launched.first);
        return Err(setup_failure(&err, &p.desc));
    } else {
        log::debug!("the child's set-up is done: the program runs (its exec closed the pipe)");
    }
    Ok(launched)
}

/// What supervising the run produced.
struct Supervised {
    outcome: Outcome,
    shared: Arc<Shared>,
    tree: Option<TreeFigures>,
    wall: Duration,
}

/// Supervise: the watchdog thread (limits, signals) and the wait loop
/// (classic, or the tracer in paranoid mode) until the first process ends;
/// then everything of the run is killed and reaped, the guard included.
fn supervise(
    cfg: &RunConfig,
    p: &Prepared,
    l: &Launched,
    guard: Option<Guard>,
    me: Pid,
    mut trace: Option<&mut TraceWriter>,
) -> Result<Supervised> {
    let (uid, _) = p.ids;
    let (child, init) = (l.child, l.init);
    let has_init = p.plan.ns.has_init();
    let waiter = match sys::Waiter::new(&l.stop_signals) {
        Ok(w) => Arc::new(w),
        Err(e) => {
            l.abandon();
            return Err(SandboxError::sys("signalfd/eventfd", e));
        }
    };
    let shared = Shared::new(child);
    if let Some(i) = init {
        shared.add_live(i);
    }
    if p.rootless {
        // The run shares the caller's uid: kills check its user namespace.
        shared.run_userns.store(l.userns, Ordering::SeqCst);
    } else {
        shared.run_uid.store(uid, Ordering::SeqCst);
    }
    // The namespace's init (ours, not the program): not sampled. Pinned by
    // a pidfd now, before the wait loop can reap it.
    let ns_init = init.or(has_init.then_some(child));
    if let Some(fd) = ns_init.and_then(sys::pidfd_open) {
        let _ = shared.init.set(fd);
    }
    let watch = Watch {
        shared: Arc::clone(&shared),
        start: l.start,
        cpu_limit: cfg.limits.cpu,
        wall_limit: cfg.limits.clock,
        mem_limit_kib: cfg.limits.memory_kib,
        // With an init the program is not our child: find it by its uid.
        // Rootless: by descent from this supervisor (the uid is the caller's).
        init: ns_init,
        tmpfs: p.private_tmp.clone(),
        layer: p
            .disk
            .as_ref()
            .and_then(|d| d.fd.try_clone().ok())
            .map(std::fs::File::from),
        page_tables: true,
        cgroup: p.cgroup.as_ref().and_then(|c| c.memory_probe()),
        scan: (!p.paranoid && (cfg.limits.nproc > 0 || has_init)).then_some(if p.rootless {
            watchdog::Scan::Descendants(me)
        } else {
            watchdog::Scan::Uid(uid)
        }),
        single: cfg.limits.nproc == 0,
        waiter: Arc::clone(&waiter),
    };
    let dog = std::thread::Builder::new()
        .name("watchdog".into())
        .spawn(move || watchdog::run(watch))
        .map_err(|e| SandboxError::Internal(format!("cannot start the watchdog thread: {e}")));
    let dog = match dog {
        Ok(d) => d,
        Err(e) => {
            l.abandon();
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
    if let Some(cg) = &p.cgroup {
        cg.kill_all();
    }
    let guard_pid = guard.map(Guard::finish);
    drain(&mut outcome, &shared, guard_pid, init, trace);
    // With an init, the program's own wait status came over the pipe (in
    // paranoid mode the tracer saw the program's status and every process
    // itself: the init may have been killed before it wrote).
    let status_r = l.status_r.as_ref().and_then(|r| r.try_clone().ok());
    read_init_status(status_r.filter(|_| !p.paranoid), &mut outcome);
    let killed = |s: i32| libc::WIFSIGNALED(s) && libc::WTERMSIG(s) == libc::SIGKILL;
    if outcome.guard_deadline && outcome.root_status.is_none_or(killed) {
        // This process was stopped or far behind: the guard ended the run
        // at the wall clock.
        log::debug!("the guard killed the run at the wall clock");
        shared.set_reason(KillReason::WallTime);
    }
    let tree = p.cgroup.as_ref().map(|cg| TreeFigures {
        peak_kib: cg.peak_kib(),
        cpu: cg.cpu(),
        hit_limit: cg.hit_memory_limit(),
        source: cg.describe(),
    });
    let wall = l.start.elapsed();
    shared.done.store(true, Ordering::SeqCst);
    waiter.wake();
    let _ = dog.join();
    // Files left on the run's tmpfs, measured by the watchdog at the end
    // (a run without an init has no one else to measure them).
    outcome.tmpfs_end_kib = outcome
        .tmpfs_end_kib
        .max(shared.tmpfs_end_kib.load(Ordering::SeqCst));
    Ok(Supervised {
        outcome,
        shared,
        tree,
        wall,
    })
}

/// Finish: a late setup failure or an interruption is the sandbox's error;
/// otherwise the verdict and the report, the trace's last record.
fn finish(
    cfg: &RunConfig,
    p: &mut Prepared,
    l: Launched,
    s: Supervised,
    trace: Option<&mut TraceWriter>,
) -> Result<Report> {
    drop(l);
    let o = &s.outcome;
    // A setup failure in paranoid mode shows up only now.
    if p.paranoid
        && o.root_status
            .is_some_and(|st| libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 127)
    {
        if let Some(err) = read_setup_error(p.err.0.try_clone().ok()) {
            return Err(setup_failure(&err, &p.desc));
        }
    }
    if s.shared.reason() == KillReason::Interrupted {
        let sig = s.shared.signal.load(Ordering::SeqCst);
        return Err(SandboxError::Interrupted(signal_name(sig)));
    }
    let disk_full = p.disk.as_ref().is_some_and(|d| d.full());
    let mut report = build_report(
        cfg, o, &s.shared, s.wall, p.paranoid, p.ids, s.tree, p.rootless, disk_full,
    );
    if let Some(d) = &p.disk {
        report.warnings.extend(d.hand_back(p.caller));
    }
    report.paths = p.landlock.enforcement.take();
    report.warnings.extend(p.cgroup_warning.take());
    report.warnings.extend(p.landlock.warning.take());
    if let Some(t) = trace {
        report.warnings.extend(t.warning());
        if let Err(message) = write_verdict(t, &report) {
            report.verdict = Verdict::IE { message };
            report.status = report.verdict.to_string();
        }
    }
    Ok(report)
}
