//! The run's lifecycle around the wait loop: the guard process that kills
//! the run's uid if the supervisor dies, reaping what is left after the
//! kill, the child's setup-error pipe and the init's status record, and the
//! message for a refused user namespace.

use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::unistd::Pid;

use crate::error::{Result, SandboxError};
use crate::sys;
use crate::trace::{Event, TraceWriter};

use super::verdict::signal_name;
use super::watchdog::Shared;
use super::Outcome;

/// Why the kernel refused an unprivileged user namespace, for the message.
pub(crate) fn userns_refusal(e: Errno) -> String {
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

/// The guard process (see [`sys::spawn_guard`]); dropping it ends it.
pub(crate) struct Guard {
    pid: Pid,
    pipe: Option<OwnedFd>,
}

impl Guard {
    /// Starts the guard's copy of the wall clock.
    pub(crate) fn start_clock(&self) {
        if let Some(p) = &self.pipe {
            let _ = nix::unistd::write(p, b"g");
        }
    }

    /// Lets the guard make its last sweep; returns its pid (to be reaped).
    pub(crate) fn finish(mut self) -> Pid {
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
pub(crate) fn drain(
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
pub(crate) fn reap_all(child: Pid) {
    sys::kill_pid(child);
    // The child only: waiting for any child would also wait for the guard,
    // which ends only when its pipe closes, after this returns (deadlock).
    sys::wait_pid(child);
}

/// Reads the child's setup-error record: None at EOF (the exec happened).
pub(crate) fn read_setup_error(r: Option<OwnedFd>) -> Option<Vec<u8>> {
    let mut f = File::from(r?);
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    (!buf.is_empty()).then_some(buf)
}

/// Rootless paranoid mode: the host pid of the program, the only child the
/// PID namespace's `init` forks. None if the init ended first (a setup
/// failure) or nothing appeared within 5 seconds.
///
/// `forked`: the status pipe, on which the init writes one byte once it
/// has forked the program (or which ends when it dies): waited for first,
/// so the program is usually found at the first look.
pub(crate) fn find_program(init: Pid, forked: Option<&OwnedFd>) -> Option<Pid> {
    let deadline = Instant::now() + Duration::from_secs(5);
    if let Some(fd) = forked {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        use std::os::fd::AsFd;
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
        if poll(&mut fds, PollTimeout::from(5000u16)).is_ok_and(|n| n > 0) {
            let mut b = [0u8; 1];
            let _ = nix::unistd::read(fd, &mut b);
        }
    }
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

impl Guard {
    /// Starts the guard for `uid` and waits until it has taken real uid 0
    /// (until then the caller could kill it).
    /// `clock`: the run's wall clock, which the guard enforces too (from
    /// [`Guard::start_clock`]) in case the supervisor is stopped. `lock`:
    /// the run's uid lock, which the guard holds until it exits.
    pub(crate) fn spawn(
        uid: u32,
        clock: Duration,
        lock: Option<std::os::fd::RawFd>,
    ) -> Result<Guard> {
        let (pid, pipe) = sys::spawn_guard(uid, clock, lock)
            .map_err(|e| SandboxError::sys(format!("fork(guard for uid {uid})"), e))?;
        let guard = Guard {
            pid,
            pipe: Some(pipe),
        };
        // A caller whose real uid is root: the guard is root from its fork
        // (nothing to wait for; the check reads and parses /proc/PID/status).
        if !nix::unistd::getuid().is_root() && !sys::setuid::became_root(guard.pid) {
            return Err(SandboxError::Internal(format!(
                "the guard process {} did not start",
                guard.pid
            )));
        }
        Ok(guard)
    }
}

/// With a PID namespace init, the program's own wait status, the number of
/// processes it reaped and what the private tmpfs held at the end come
/// over the status pipe.
pub(crate) fn read_init_status(r: Option<OwnedFd>, outcome: &mut Outcome) {
    if let Some(rec) = read_setup_error(r) {
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
}
