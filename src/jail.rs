//! The child's steps after fork, in the order security needs, as one
//! function. Everything it uses is prepared before fork ([`ChildPlan`]), so
//! the child never allocates. A failing step sends (step, errno) over a
//! close-on-exec pipe; the supervisor turns it into a clear message.

use std::ffi::CString;
use std::os::fd::RawFd;

use nix::errno::Errno;

use crate::sys::{self, child, ExecArgs, SockFilter};

/// One step of the child's setup; its number travels over the pipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Step {
    ProcessGroup = 1,
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
}

impl Step {
    pub fn from_u8(b: u8) -> Option<Step> {
        use Step::*;
        [
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
        ]
        .into_iter()
        .find(|s| *s as u8 == b)
    }
}

/// Everything the child needs, built before fork.
pub struct ChildPlan {
    pub exec: ExecArgs,
    pub chroot: Option<CString>,
    pub workdir: Option<CString>,
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
}

/// Runs in the child right after fork; never returns.
pub fn child_main(plan: &ChildPlan) -> ! {
    let fail = |step: Step, e: Errno| -> ! {
        let mut rec = [0u8; 5];
        rec[0] = step as u8;
        rec[1..].copy_from_slice(&(e as i32).to_le_bytes());
        child::write_all(plan.error_pipe, &rec);
        child::exit(127)
    };
    let step = |s: Step, r: Result<(), Errno>| {
        if let Err(e) = r {
            fail(s, e)
        }
    };

    // The supervisor blocks its stop signals; the program starts with none blocked.
    sys::unblock_all_signals();
    // Its own process group, so terminal signals to the caller's group do not
    // reach it and it cannot be confused with the supervisor's group.
    step(Step::ProcessGroup, child::setpgid_self());
    // Die with the supervisor (set again after setuid, which clears it).
    step(Step::ParentDeath, child::parent_death_signal(libc::SIGKILL));
    if child::getppid() != plan.supervisor {
        child::exit(127);
    }
    // --error: the program's stderr goes to the file the supervisor opened.
    if let Some(fd) = plan.stderr_fd {
        step(Step::ErrorFile, child::dup2(fd, 2));
    }
    // Nothing but 0, 1, 2 may reach the program.
    step(Step::CloseFds, child::cloexec_from(3));
    // chroot while still root, and enter it so no directory outside stays open.
    if let Some(root) = &plan.chroot {
        step(Step::Chroot, child::chroot(root));
        step(Step::Chroot, child::chdir(c"/"));
    }
    // Drop every privilege: groups first, then gid, then uid (the last step
    // that needs root).
    step(Step::Groups, child::drop_groups());
    step(Step::Gid, child::set_gid(plan.gid));
    step(Step::Uid, child::set_uid(plan.uid));
    step(Step::ParentDeath, child::parent_death_signal(libc::SIGKILL));
    if child::getppid() != plan.supervisor {
        child::exit(127);
    }
    // The working directory is entered as the run's uid: it must be reachable by it.
    if let Some(dir) = &plan.workdir {
        step(Step::WorkDir, child::chdir(dir));
    }
    for &(res, soft, hard) in &plan.rlimits {
        step(Step::Rlimit, child::setrlimit(res, soft, hard));
    }
    step(Step::Nice, child::set_nice(plan.niceness));
    // No setuid binary or file capability can give the run privileges back.
    step(Step::NoNewPrivs, child::no_new_privs());
    if let Some(fd) = plan.go_pipe {
        // Wait until the supervisor has seized us with every ptrace option.
        match child::read_byte(fd) {
            Ok(_) => {}
            Err(e) => fail(Step::WaitSeize, e),
        }
    }
    if let Some((prog, flags)) = &plan.seccomp {
        // Last: from here on every call, execve included, meets the filter.
        step(Step::Seccomp, child::seccomp_install(prog, *flags));
    }
    let e = child::execve(&plan.exec);
    fail(Step::Exec, e)
}

/// Decodes a setup-error record into a message naming the step.
pub fn describe_failure(rec: &[u8], plan_desc: &PlanDescription) -> (String, Errno) {
    let step = rec.first().and_then(|b| Step::from_u8(*b));
    let errno = rec
        .get(1..5)
        .and_then(|b| b.try_into().ok())
        .map(|b| Errno::from_raw(i32::from_le_bytes(b)))
        .unwrap_or(Errno::UnknownErrno);
    let what = match step {
        Some(Step::Exec) => format!("execve({})", plan_desc.program),
        Some(Step::Chroot) => format!("chroot({})", plan_desc.chroot),
        Some(Step::WorkDir) => format!("chdir({}) as uid {}", plan_desc.workdir, plan_desc.uid),
        Some(Step::Uid) => format!("setresuid({})", plan_desc.uid),
        Some(Step::Gid) => format!("setresgid({})", plan_desc.gid),
        Some(Step::Groups) => "setgroups([])".into(),
        Some(Step::Rlimit) => "setrlimit".into(),
        Some(Step::Nice) => format!("setpriority({})", plan_desc.niceness),
        Some(Step::Seccomp) => "seccomp(SECCOMP_SET_MODE_FILTER)".into(),
        Some(Step::WaitSeize) => "waiting for the supervisor".into(),
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
}
