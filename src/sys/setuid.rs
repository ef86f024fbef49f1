//! System calls for running installed setuid root: acting with the caller's
//! file-system rights, checking access without following the caller's
//! symlinks out of a root, killing only the run's processes, and the
//! guardian that ends the run when the supervisor itself is killed.

use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno;
use nix::unistd::Pid;

/// The real uid and gid: the account that called safeexec.
pub fn real_ids() -> (u32, u32) {
    (
        nix::unistd::getuid().as_raw(),
        nix::unistd::getgid().as_raw(),
    )
}

/// Whether real and effective ids differ (a setuid or setgid start).
pub fn is_setid() -> bool {
    nix::unistd::getuid() != nix::unistd::geteuid()
        || nix::unistd::getgid() != nix::unistd::getegid()
}

/// While alive, the calling thread opens and checks files with the caller's
/// rights (fsuid and fsgid; the supplementary groups a setuid start keeps
/// are the caller's already). Dropping it gives root's rights back.
///
/// setfsuid is per thread: use it on the thread that opens, before other
/// threads start, and keep the guard's scope short.
pub struct CallerFs {
    active: bool,
    /// Not Send: the guard must be dropped on the thread whose fs ids it
    /// changed (setfsuid is per thread).
    _thread: std::marker::PhantomData<*const ()>,
}

fn set_fs_ids(uid: u32, gid: u32) -> Result<(), Errno> {
    // SAFETY: setfsgid/setfsuid take integers, pass no memory and change only
    // the calling thread's credentials (glibc does not broadcast them to
    // other threads), which is what CallerFs documents. They report no
    // error, so each is checked by a second call with an invalid id, which
    // changes nothing and returns the current value.
    unsafe {
        libc::setfsgid(gid);
        if libc::setfsgid(u32::MAX) as u32 != gid {
            return Err(Errno::EPERM);
        }
        libc::setfsuid(uid);
        if libc::setfsuid(u32::MAX) as u32 != uid {
            return Err(Errno::EPERM);
        }
    }
    Ok(())
}

impl CallerFs {
    /// Takes the caller's file-system identity; `None` = keep ours (the
    /// caller is root).
    pub fn enter(caller: Option<(u32, u32)>) -> Result<CallerFs, Errno> {
        match caller {
            Some((uid, gid)) => {
                set_fs_ids(uid, gid)?;
                Ok(CallerFs {
                    active: true,
                    _thread: std::marker::PhantomData,
                })
            }
            None => Ok(CallerFs {
                active: false,
                _thread: std::marker::PhantomData,
            }),
        }
    }
}

impl Drop for CallerFs {
    fn drop(&mut self) {
        if self.active {
            // uid first: setfsgid needs the capability that fsuid 0 restores.
            // SAFETY: as in set_fs_ids: integers only, this thread's
            // credentials only, and it is the thread that entered (CallerFs
            // is not Send).
            unsafe {
                libc::setfsuid(0);
                libc::setfsgid(0);
            }
        }
    }
}

/// faccessat2(fd, "", mode, AT_EMPTY_PATH | AT_EACCESS): whether the current
/// file-system identity (see [`CallerFs`]) may access the opened file.
pub fn access_fd(fd: &OwnedFd, mode: i32) -> Result<(), Errno> {
    // SAFETY: c"" is a static NUL-terminated empty path (AT_EMPTY_PATH); `fd`
    // is a borrowed OwnedFd, open for the whole call. No memory is written.
    let r = unsafe {
        libc::syscall(
            libc::SYS_faccessat2,
            fd.as_raw_fd(),
            c"".as_ptr(),
            mode,
            libc::AT_EMPTY_PATH | libc::AT_EACCESS,
        )
    };
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(())
    }
}

/// SIGKILL to `pid` only if it is a process of the run: its real uid is
/// `uid` (unique to the run). A pidfd pins the process, so a pid reaped and
/// reused by someone else's process meanwhile is never signalled.
pub fn kill_run_process(pid: Pid, uid: u32) {
    super::kill_pinned_if(pid, |p| proc_real_uid(p) == Some(uid));
}

/// The real uid of `pid`, from the `Uid:` line of /proc/PID/status (the
/// real uid, not the owner of /proc/PID, which is root for a process that
/// made itself non-dumpable).
///
/// Parsed by hand, not with procfs: this runs on the kill path, once for
/// each process of a run being ended (up to --nproc of them, twice per
/// watchdog tick), before its SIGKILL, and procfs's `Status` parses all of
/// the ~55 lines into a map. Measured (release build, 20 000 reads of one
/// process's status): 9 us by hand against 34 us through procfs, so a
/// 600-process run's kill pass would take ~40 ms instead of ~11 ms, several
/// ticks during which those processes still run.
fn proc_real_uid(pid: Pid) -> Option<u32> {
    let s = std::fs::read(format!("/proc/{pid}/status")).ok()?;
    status_ids(&s).0.first().copied()
}

/// The ids of the `Uid:` and `Gid:` lines of a /proc/PID/status text, each
/// in the kernel's order: real, effective, saved, file-system. The text
/// after the two lines is not read.
pub fn status_ids(text: &[u8]) -> (Vec<u32>, Vec<u32>) {
    let (mut uids, mut gids) = (Vec::new(), Vec::new());
    for l in text.split(|b| *b == b'\n') {
        let (ids, rest) = if let Some(r) = l.strip_prefix(b"Uid:") {
            (&mut uids, r)
        } else if let Some(r) = l.strip_prefix(b"Gid:") {
            (&mut gids, r)
        } else {
            continue;
        };
        if let Ok(rest) = std::str::from_utf8(rest) {
            ids.extend(
                rest.split_whitespace()
                    .filter_map(|v| v.parse::<u32>().ok()),
            );
        }
        if !uids.is_empty() && !gids.is_empty() {
            break;
        }
    }
    (uids, gids)
}

/// /proc/PID/status through procfs (the path is built from a pid the
/// supervisor holds, never from anything the caller names).
fn proc_status(pid: Pid) -> Option<procfs::process::Status> {
    procfs::process::Process::new(pid.as_raw())
        .ok()?
        .status()
        .ok()
}

/// Whether process `pid` (a guard just forked) has taken real uid 0, so
/// that the caller can no longer signal it; false if it died first. Waits
/// up to one second.
pub fn became_root(pid: Pid) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    loop {
        let Some(status) = proc_status(pid) else {
            return false;
        };
        if status.state.starts_with('Z') {
            return false;
        }
        if status.ruid == 0 {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::yield_now();
    }
}
