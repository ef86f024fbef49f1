//! The child's steps after fork, in the order security needs, as one
//! function. Everything it uses is prepared before fork ([`ChildPlan`]), so
//! the child never allocates. A failing step sends (step, errno) over a
//! close-on-exec pipe; the supervisor turns it into a clear message.

use std::ffi::CString;
use std::os::fd::RawFd;

use nix::errno::Errno;

use crate::isolate::mounts::{MountOp, MountPlan};
use crate::isolate::NsPlan;
use crate::sys::{self, child, ns, ExecArgs, SockFilter};

/// Signals the init passes on to the program.
const FORWARDED: [libc::c_int; 6] = [
    libc::SIGTERM,
    libc::SIGINT,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
];

/// Declares [`Step`] and the table that decodes it, from one list.
macro_rules! steps {
    ($($name:ident),* $(,)?) => {
        /// One step of the child's setup; its number travels over the pipe.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(u8)]
        pub enum Step {
            $($name),*
        }

        impl Step {
            const ALL: &'static [Step] = &[$(Step::$name),*];
        }
    };
}

steps!(
    ProcessGroup,
    ParentDeath,
    ErrorFile,
    CloseFds,
    Chroot,
    Groups,
    Gid,
    Uid,
    WorkDir,
    Rlimit,
    Nice,
    NoNewPrivs,
    WaitSeize,
    Seccomp,
    Exec,
    Cgroup,
    Namespaces,
    Mount,
    Hostname,
    InitFork,
    UserNs,
    Caps,
    Landlock,
    WorkDirMoved,
);

impl Step {
    /// The byte sent over the pipe (never 0).
    pub fn code(self) -> u8 {
        self as u8 + 1
    }

    pub fn from_u8(b: u8) -> Option<Step> {
        Step::ALL.get(usize::from(b).checked_sub(1)?).copied()
    }
}

/// Everything the child needs, built before fork.
pub struct ChildPlan {
    pub exec: ExecArgs,
    pub chroot: Option<CString>,
    pub workdir: Option<CString>,
    /// (st_dev, st_ino) the working directory must have once entered: the
    /// one opened and checked before the fork.
    pub workdir_id: Option<(u64, u64)>,
    /// The program's descriptor, opened and checked before the fork:
    /// executed with execveat (None: by path).
    pub exec_fd: Option<RawFd>,
    /// Descriptors used only for the mounts and the chroot (detached
    /// trees, the caller's opened directories): closed right after, so the
    /// program's RLIMIT_NOFILE has its low numbers for itself.
    pub close_after_setup: Vec<RawFd>,
    pub uid: u32,
    pub gid: u32,
    /// (resource, soft, hard), applied in order.
    pub rlimits: Vec<(libc::__rlimit_resource_t, u64, u64)>,
    pub niceness: i32,
    /// Descriptor to put on the program's stderr (--error).
    pub stderr_fd: Option<RawFd>,
    /// Write end of the setup-error pipe (close-on-exec).
    pub error_pipe: RawFd,
    /// Paranoid mode: read end of the pipe the supervisor writes one byte to
    /// once it has seized the child.
    pub go_pipe: Option<RawFd>,
    /// Paranoid mode: the seccomp program and its flags.
    pub seccomp: Option<(Vec<SockFilter>, libc::c_ulong)>,
    /// The supervisor's pid, to detect that it died before we set
    /// PR_SET_PDEATHSIG.
    pub supervisor: i32,
    /// Namespaces: made by clone (then this process is the init) or unshare.
    pub ns: NsPlan,
    /// Mount steps in the new mount namespace (a fresh /proc, or the jail).
    pub mounts: Option<MountPlan>,
    /// cgroup.procs files to join (written "0") before anything else.
    pub cgroup_procs: Vec<std::ffi::CString>,
    /// The init writes the program's wait status (i32) and the number of
    /// processes it reaped (u32) here before it exits.
    pub status_pipe: Option<RawFd>,
    /// The run's private tmpfs mounts: the init reports what they hold when
    /// the program ends (tmpfs pages are RAM no process maps).
    pub tmpfs_probe: Vec<CString>,
    /// Rootless mode: (read end, write end) of the pipe the supervisor
    /// writes one byte to once the child's uid_map and gid_map are written.
    pub userns_gate: Option<(RawFd, RawFd)>,
    /// Paranoid mode with path rules: the Landlock ruleset to fill and enforce.
    pub landlock: Option<ChildLandlock>,
}

/// The child's part of Landlock: a ruleset created before fork (its
/// handled rights), and the rules to add once the run's mounts and working
/// directory are in place.
pub struct ChildLandlock {
    /// The ruleset descriptor (close-on-exec).
    pub ruleset: RawFd,
    /// (path, rights) per rule; a relative path starts at the working directory.
    pub rules: Vec<(CString, u64)>,
    /// Rights a rule on a file that is not a directory may keep.
    pub file_access: u64,
}

/// The setup-error record: step code, errno (i32 LE), index (u16 LE) of the
/// failing entry of the step's list (mount op, rlimit, cgroup file), 0 for
/// steps without one. On the stack: the child must not allocate.
fn failure_record(step: Step, e: Errno, index: u16) -> [u8; 7] {
    let mut rec = [0u8; 7];
    rec[0] = step.code();
    rec[1..5].copy_from_slice(&(e as i32).to_le_bytes());
    rec[5..7].copy_from_slice(&index.to_le_bytes());
    rec
}

fn fail_rec(fd: RawFd, step: Step, e: Errno, index: u16) -> ! {
    child::write_all(fd, &failure_record(step, e, index));
    child::exit(127)
}

/// Walks the mount plan; a failing step reports its index.
fn do_mounts(plan: &ChildPlan, m: &MountPlan) {
    for (i, op) in m.ops.iter().enumerate() {
        let r = match op {
            MountOp::Mkdir(d) => ns::mkdir(d, 0o755),
            MountOp::Touch(p) => ns::touch(p),
            MountOp::Symlink { target, path } => ns::symlink(target, path),
            MountOp::Mount {
                src,
                dst,
                fstype,
                flags,
                data,
            } => ns::mount(
                src.as_deref(),
                dst,
                fstype.as_deref(),
                *flags,
                data.as_deref(),
            ),
            MountOp::PivotRoot { new_root, put_old } => ns::pivot_root(new_root, put_old),
            MountOp::Chdir(d) => child::chdir(d),
            MountOp::Detach(d) => ns::umount_detach(d),
            MountOp::Hostname(h) => ns::sethostname(h),
            MountOp::KeepDir { path, fd } => ns::keep_dir(path, *fd),
            MountOp::KeepPath { path, fd, id } => ns::keep_path(path, *fd, *id),
            MountOp::MoveMount { fd, dst } => crate::sys::disk::move_mount_to(*fd, dst),
            MountOp::Attach {
                tree,
                root,
                parts,
                dir,
            } => attach(*tree, root, parts, *dir),
        };
        if let Err(e) = r {
            fail_rec(plan.error_pipe, Step::Mount, e, i as u16)
        }
    }
}

/// Opens `root` + `parts` one component at a time, never following a
/// symlink nor leaving `root`, creating what is missing (directories; the
/// last entry a file unless `dir`), and attaches `tree` there.
fn attach(tree: RawFd, root: &std::ffi::CStr, parts: &[CString], dir: bool) -> Result<(), Errno> {
    use sys::fdops;
    let mut cur = fdops::child_open_dir(root)?;
    for (i, name) in parts.iter().enumerate() {
        let want_dir = dir || i + 1 < parts.len();
        let next = match fdops::child_open_component(cur, name, want_dir) {
            Err(Errno::ENOENT) => {
                let made = if want_dir {
                    fdops::child_mkdirat(cur, name)
                } else {
                    fdops::child_create_file(cur, name)
                };
                made.and_then(|()| fdops::child_open_component(cur, name, want_dir))
            }
            r => r,
        };
        fdops::child_close(cur);
        cur = next?;
    }
    let r = fdops::child_attach(tree, cur);
    fdops::child_close(cur);
    r
}

/// pid 1 of the run's PID namespace: forward the stop signals to the
/// program, reap every process, and when the program ends report its wait
/// status and exit (which kills whatever is left in the namespace).
fn init_loop(plan: &ChildPlan, program: libc::pid_t) -> ! {
    let mut wanted = [0; 7];
    wanted[..6].copy_from_slice(&FORWARDED);
    wanted[6] = libc::SIGCHLD;
    let mut reaped: u32 = 0;
    // Bounded by the run: the supervisor kills this process at the latest
    // when a limit is reached, and the program's end ends the loop.
    loop {
        let sig = ns::sigwait(&wanted);
        if sig != libc::SIGCHLD {
            ns::kill(program, sig);
            continue;
        }
        while let Ok(Some((pid, status))) = ns::reap_one() {
            reaped += 1;
            if pid == program {
                if let Some(fd) = plan.status_pipe {
                    let tmpfs: u64 = plan.tmpfs_probe.iter().map(|p| ns::fs_used_kib(p)).sum();
                    let mut rec = [0u8; 16];
                    rec[..4].copy_from_slice(&status.to_le_bytes());
                    rec[4..8].copy_from_slice(&reaped.to_le_bytes());
                    rec[8..].copy_from_slice(&tmpfs.to_le_bytes());
                    child::write_all(fd, &rec);
                }
                child::exit(0)
            }
        }
    }
}

/// Runs in the child right after fork; never returns.
pub fn child_main(plan: &ChildPlan) -> ! {
    let step = |s: Step, r: Result<(), Errno>| {
        if let Err(e) = r {
            fail_rec(plan.error_pipe, s, e, 0)
        }
    };

    // The supervisor blocks its stop signals; the program starts with none blocked.
    sys::unblock_all_signals();
    // Ignored signals survive exec: give the program the default actions
    // (the supervisor's runtime ignores SIGPIPE).
    sys::default_all_signals();
    // Into the run's cgroups first, so every later allocation and process
    // counts. A failure reports which file (its index in the plan).
    for (i, f) in plan.cgroup_procs.iter().enumerate() {
        if let Err(e) = ns::write_file(f, b"0") {
            fail_rec(plan.error_pipe, Step::Cgroup, e, i as u16)
        }
    }
    // Its own process group, so terminal signals to the caller's group do not
    // reach it and it cannot be confused with the supervisor's group.
    step(Step::ProcessGroup, child::setpgid_self());
    // Die with the supervisor (set again after setuid, which clears it).
    step(Step::ParentDeath, child::parent_death_signal(libc::SIGKILL));
    // As the init of a new PID namespace our parent is outside it: getppid() is 0.
    let expected_parent = if plan.ns.has_init() {
        0
    } else {
        plan.supervisor
    };
    if child::getppid() != expected_parent {
        child::exit(127);
    }
    // Rootless: in a new user namespace, nothing works until the supervisor
    // has mapped our ids; EOF means it died or gave up.
    if let Some((r, w)) = plan.userns_gate {
        ns::close(w);
        if let Err(e) = child::read_byte(r) {
            fail_rec(plan.error_pipe, Step::UserNs, e, 0)
        }
        ns::close(r);
    }
    // --error: the program's stderr goes to the file the supervisor opened.
    if let Some(fd) = plan.stderr_fd {
        step(Step::ErrorFile, child::dup2(fd, 2));
    }
    // Nothing but 0, 1, 2 may reach the program.
    step(Step::CloseFds, child::cloexec_from(3));
    // Namespaces that need no fork (--no-ns: network, and a mount
    // namespace for a jail; no init and no PID namespace).
    if plan.ns.unshare_flags != 0 {
        step(Step::Namespaces, ns::unshare(plan.ns.unshare_flags));
    }
    if (plan.ns.clone_flags | plan.ns.unshare_flags) & libc::CLONE_NEWUTS != 0 {
        step(Step::Hostname, ns::sethostname(c"safeexec"));
    }
    // Mounts as root, in the new mount namespace (/ made private first).
    if let Some(m) = &plan.mounts {
        // The plan parks descriptors at 899 and up (mounts::KEEP_FD_BASE):
        // room for them during the mounts, the caller's limits back after.
        let old = child::raise_nofile(1024);
        do_mounts(plan, m);
        child::restore_nofile(old);
    }
    // chroot while still root, and enter it so no directory outside stays open.
    if let Some(root) = &plan.chroot {
        step(Step::Chroot, child::chroot(root));
        step(Step::Chroot, child::chdir(c"/"));
    }
    for &fd in &plan.close_after_setup {
        ns::close(fd);
    }
    if plan.ns.has_init() {
        // Block what the init waits for before the program exists.
        let mut wanted = [0; 7];
        wanted[..6].copy_from_slice(&FORWARDED);
        wanted[6] = libc::SIGCHLD;
        step(Step::InitFork, ns::block(&wanted));
        match sys::fork_into(0) {
            Err(e) => step(Step::InitFork, Err(e)),
            Ok(sys::Fork::Child) => program_main(plan, 1),
            Ok(sys::Fork::Parent(pid)) => {
                // The program's copy closes at exec: EOF tells the supervisor.
                ns::close(plan.error_pipe);
                // Paranoid: the supervisor waits for the program to seize
                // it; one byte says it exists (instead of polling /proc).
                if plan.go_pipe.is_some() {
                    if let Some(fd) = plan.status_pipe {
                        child::write_all(fd, b"f");
                    }
                }
                init_loop(plan, pid.as_raw())
            }
        }
    }
    program_main(plan, plan.supervisor)
}

/// The program's own steps: drop every privilege, limits, exec.
fn program_main(plan: &ChildPlan, parent: i32) -> ! {
    let fail =
        |step: Step, e: Errno, index: u16| -> ! { fail_rec(plan.error_pipe, step, e, index) };
    let step = |s: Step, r: Result<(), Errno>| {
        if let Err(e) = r {
            fail(s, e, 0)
        }
    };
    if plan.ns.has_init() {
        sys::unblock_all_signals();
        step(Step::ParentDeath, child::parent_death_signal(libc::SIGKILL));
    }
    // Drop every privilege: groups first, then gid, then uid (the last step
    // that needs root).
    if !plan.ns.has_userns() {
        step(Step::Groups, child::drop_groups());
    }
    // Rootless: the groups stay the caller's (setgroups is denied in the
    // user namespace, as the kernel requires for an unprivileged gid_map).
    step(Step::Gid, child::set_gid(plan.gid));
    step(Step::Uid, child::set_uid(plan.uid));
    if plan.ns.has_userns() {
        // The namespace's capabilities survive a setresuid between ids that
        // are never 0: drop them all, before anything else runs.
        step(Step::Caps, sys::userns::drop_capabilities());
    }
    step(Step::ParentDeath, child::parent_death_signal(libc::SIGKILL));
    if child::getppid() != parent {
        child::exit(127);
    }
    // The working directory is entered as the run's uid: it must be reachable by it.
    if let Some(dir) = &plan.workdir {
        step(Step::WorkDir, child::chdir(dir));
        if let Some(id) = plan.workdir_id {
            match sys::fdops::child_cwd_id() {
                Ok(now) if now == id => {}
                Ok(_) => fail(Step::WorkDirMoved, Errno::ESTALE, 0),
                Err(e) => fail(Step::WorkDir, e, 0),
            }
        }
    }
    // A failure reports which limit (its index in the plan).
    for (i, &(res, soft, hard)) in plan.rlimits.iter().enumerate() {
        if let Err(e) = child::setrlimit(res, soft, hard) {
            fail(Step::Rlimit, e, i as u16)
        }
    }
    step(Step::Nice, child::set_nice(plan.niceness));
    // No setuid binary or file capability can give the run privileges back.
    step(Step::NoNewPrivs, child::no_new_privs());
    // Landlock after the mounts and the chdir (the paths are the run's own,
    // /proc/self is the program), before seccomp: from here on the kernel
    // checks every file access of every thread and process of the run on
    // the object it resolved, whatever the supervisor was shown.
    if let Some(ll) = &plan.landlock {
        for (i, (path, access)) in ll.rules.iter().enumerate() {
            if let Err(e) = sys::landlock::add_path_rule(ll.ruleset, path, *access, ll.file_access)
            {
                fail_rec(plan.error_pipe, Step::Landlock, e, i as u16)
            }
        }
        if let Err(e) = sys::landlock::add_stdin_rule(ll.ruleset) {
            fail_rec(plan.error_pipe, Step::Landlock, e, ll.rules.len() as u16)
        }
        if let Err(e) = sys::landlock::restrict_self(ll.ruleset) {
            fail_rec(plan.error_pipe, Step::Landlock, e, u16::MAX)
        }
        ns::close(ll.ruleset);
    }
    if let Some(fd) = plan.go_pipe {
        // Wait until the supervisor has seized us with every ptrace option.
        match child::read_byte(fd) {
            Ok(_) => {}
            Err(e) => fail(Step::WaitSeize, e, 0),
        }
    }
    if let Some((prog, flags)) = &plan.seccomp {
        // Last: from here on every call, execve included, meets the filter.
        step(Step::Seccomp, child::seccomp_install(prog, *flags));
    }
    if let Some(fd) = plan.exec_fd {
        // ENOENT: a script (its interpreter cannot open a close-on-exec
        // /dev/fd/N): run by path, as the run's uid.
        let e = sys::fdops::child_execveat(fd, &plan.exec);
        if e != Errno::ENOENT {
            fail(Step::Exec, e, 0)
        }
    }
    let e = child::execve(&plan.exec);
    fail(Step::Exec, e, 0)
}

/// Decodes a setup-error record into a message naming the step.
pub fn describe_failure(rec: &[u8], plan_desc: &PlanDescription) -> (String, Errno) {
    let step = rec.first().and_then(|b| Step::from_u8(*b));
    let errno = rec
        .get(1..5)
        .and_then(|b| b.try_into().ok())
        .map(|b| Errno::from_raw(i32::from_le_bytes(b)))
        .unwrap_or(Errno::UnknownErrno);
    let index = rec
        .get(5..7)
        .and_then(|b| b.try_into().ok())
        .map(u16::from_le_bytes)
        .unwrap_or(0) as usize;
    let what = match step {
        Some(Step::Mount) => plan_desc
            .mounts
            .get(index)
            .cloned()
            .unwrap_or_else(|| "mount".into()),
        Some(Step::Cgroup) => match plan_desc.cgroup_files.get(index) {
            Some(f) => format!("joining the run's cgroup: write({f}, \"0\")"),
            None => "joining the run's cgroup".into(),
        },
        Some(Step::Namespaces) => "unshare(namespaces)".into(),
        Some(Step::InitFork) => "fork of the program by the namespace's init".into(),
        Some(Step::Exec) => format!("execve({})", plan_desc.program),
        Some(Step::Chroot) => format!("chroot({})", plan_desc.chroot),
        Some(Step::WorkDirMoved) => format!(
            "the working directory {} is no longer the directory checked (replaced meanwhile)",
            plan_desc.workdir
        ),
        Some(Step::WorkDir) => format!("chdir({}) as uid {}", plan_desc.workdir, plan_desc.uid),
        Some(Step::Uid) => format!("setresuid({})", plan_desc.uid),
        Some(Step::Gid) => format!("setresgid({})", plan_desc.gid),
        Some(Step::Groups) => "setgroups([])".into(),
        Some(Step::Rlimit) => plan_desc
            .rlimits
            .get(index)
            .cloned()
            .unwrap_or_else(|| "setrlimit".into()),
        Some(Step::Nice) => format!("setpriority({})", plan_desc.niceness),
        Some(Step::Seccomp) => "seccomp(SECCOMP_SET_MODE_FILTER)".into(),
        Some(Step::WaitSeize) => "waiting for the supervisor".into(),
        Some(Step::UserNs) => "waiting for the user namespace's id maps".into(),
        Some(Step::Caps) => "capset(empty) in the user namespace".into(),
        Some(Step::Landlock) => match plan_desc.landlock.get(index) {
            Some(p) => format!("landlock_add_rule({p})"),
            None if index == plan_desc.landlock.len() => "landlock_add_rule(standard input)".into(),
            None => "landlock_restrict_self".into(),
        },
        Some(s) => format!("{s:?}"),
        None => "child setup".into(),
    };
    (what, errno)
}

/// Strings for error messages about the plan (kept out of [`ChildPlan`],
/// which must stay allocation-free for the child).
#[derive(Debug, Default, Clone)]
pub struct PlanDescription {
    pub program: String,
    pub chroot: String,
    pub workdir: String,
    pub uid: u32,
    pub gid: u32,
    pub niceness: i32,
    /// One description per mount step.
    pub mounts: Vec<String>,
    /// One `setrlimit(RLIMIT_X, ...)` per entry of [`ChildPlan::rlimits`]
    /// ([`describe_rlimits`]).
    pub rlimits: Vec<String>,
    /// The path of each of [`ChildPlan::cgroup_procs`] ([`describe_files`]).
    pub cgroup_files: Vec<String>,
    /// One path per Landlock rule.
    pub landlock: Vec<String>,
}

/// The name of an rlimit resource as in <sys/resource.h>.
fn rlimit_name(res: libc::__rlimit_resource_t) -> String {
    let name = match res {
        libc::RLIMIT_CPU => "RLIMIT_CPU",
        libc::RLIMIT_FSIZE => "RLIMIT_FSIZE",
        libc::RLIMIT_DATA => "RLIMIT_DATA",
        libc::RLIMIT_STACK => "RLIMIT_STACK",
        libc::RLIMIT_CORE => "RLIMIT_CORE",
        libc::RLIMIT_RSS => "RLIMIT_RSS",
        libc::RLIMIT_NPROC => "RLIMIT_NPROC",
        libc::RLIMIT_NOFILE => "RLIMIT_NOFILE",
        libc::RLIMIT_MEMLOCK => "RLIMIT_MEMLOCK",
        libc::RLIMIT_AS => "RLIMIT_AS",
        libc::RLIMIT_LOCKS => "RLIMIT_LOCKS",
        libc::RLIMIT_SIGPENDING => "RLIMIT_SIGPENDING",
        libc::RLIMIT_MSGQUEUE => "RLIMIT_MSGQUEUE",
        libc::RLIMIT_NICE => "RLIMIT_NICE",
        libc::RLIMIT_RTPRIO => "RLIMIT_RTPRIO",
        libc::RLIMIT_RTTIME => "RLIMIT_RTTIME",
        other => return format!("resource {other}"),
    };
    name.to_string()
}

/// One description per rlimit of the plan, in its order: the call as made,
/// `setrlimit(RLIMIT_NPROC, 11)` (soft = hard) or
/// `setrlimit(RLIMIT_CPU, 2 soft, 3 hard)`.
pub fn describe_rlimits(rlimits: &[(libc::__rlimit_resource_t, u64, u64)]) -> Vec<String> {
    let value = |v: u64| {
        if v == libc::RLIM_INFINITY {
            "unlimited".to_string()
        } else {
            v.to_string()
        }
    };
    rlimits
        .iter()
        .map(|&(res, soft, hard)| {
            let name = rlimit_name(res);
            if soft == hard {
                format!("setrlimit({name}, {})", value(soft))
            } else {
                format!(
                    "setrlimit({name}, {} soft, {} hard)",
                    value(soft),
                    value(hard)
                )
            }
        })
        .collect()
}

/// The paths of files the child writes to, for error messages.
pub fn describe_files(files: &[CString]) -> Vec<String> {
    files
        .iter()
        .map(|f| String::from_utf8_lossy(f.as_bytes()).into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc() -> PlanDescription {
        let rlimits = [
            (libc::RLIMIT_CPU, 2, 3),
            (libc::RLIMIT_NOFILE, 64, 64),
            (libc::RLIMIT_NPROC, 11, 11),
            (libc::RLIMIT_STACK, libc::RLIM_INFINITY, libc::RLIM_INFINITY),
        ];
        let files = [
            CString::new("/sys/fs/cgroup/memory/safeexec/run-42/cgroup.procs").unwrap(),
            CString::new("/sys/fs/cgroup/pids/safeexec/run-42/cgroup.procs").unwrap(),
        ];
        PlanDescription {
            rlimits: describe_rlimits(&rlimits),
            cgroup_files: describe_files(&files),
            ..PlanDescription::default()
        }
    }

    #[test]
    fn a_failing_rlimit_names_the_limit_and_its_value() {
        let d = desc();
        let rec = failure_record(Step::Rlimit, Errno::EPERM, 2);
        assert_eq!(
            describe_failure(&rec, &d),
            ("setrlimit(RLIMIT_NPROC, 11)".to_string(), Errno::EPERM)
        );
        let rec = failure_record(Step::Rlimit, Errno::EINVAL, 0);
        assert_eq!(
            describe_failure(&rec, &d).0,
            "setrlimit(RLIMIT_CPU, 2 soft, 3 hard)"
        );
        let rec = failure_record(Step::Rlimit, Errno::EINVAL, 3);
        assert_eq!(
            describe_failure(&rec, &d).0,
            "setrlimit(RLIMIT_STACK, unlimited)"
        );
        // An index the plan does not have still names the step.
        let rec = failure_record(Step::Rlimit, Errno::EPERM, 9);
        assert_eq!(describe_failure(&rec, &d).0, "setrlimit");
    }

    #[test]
    fn a_failing_cgroup_join_names_the_file() {
        let d = desc();
        let rec = failure_record(Step::Cgroup, Errno::ENOSPC, 1);
        assert_eq!(
            describe_failure(&rec, &d),
            (
                "joining the run's cgroup: write(/sys/fs/cgroup/pids/safeexec/run-42/cgroup.procs, \"0\")"
                    .to_string(),
                Errno::ENOSPC
            )
        );
    }

    #[test]
    fn a_short_record_still_decodes() {
        let d = desc();
        assert_eq!(
            describe_failure(&[], &d),
            ("child setup".into(), Errno::UnknownErrno)
        );
        let rec = failure_record(Step::Cgroup, Errno::EACCES, 0);
        // Without the index bytes: the first entry.
        assert!(describe_failure(&rec[..5], &d)
            .0
            .contains("memory/safeexec/run-42"));
    }

    #[test]
    fn every_step_round_trips_through_its_code() {
        for s in Step::ALL {
            assert_eq!(Step::from_u8(s.code()), Some(*s));
        }
        assert_eq!(Step::from_u8(0), None);
        assert_eq!(Step::from_u8(200), None);
    }
}
