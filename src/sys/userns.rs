//! System calls of rootless mode (an unprivileged user namespace): the
//! identity maps the supervisor writes for its child, dropping the
//! namespace's capabilities in the child, and killing only the run's
//! processes when they all share the caller's uid on the host.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;

use nix::errno::Errno;
use nix::unistd::Pid;

/// The uid and gid the program has inside its user namespace: an ordinary
/// id (never 0), mapped to the caller's own ids on the host.
pub const INSIDE_ID: u32 = 1000;

/// Writes `data` to /proc/PID/`file`; the error names the file and what was written.
/// By hand: procfs reads /proc but has no writer for the id maps, and the
/// kernel takes a map only whole, in a single write(2).
fn write_proc(pid: Pid, file: &str, data: &str) -> Result<(), (String, Errno)> {
    let path = format!("/proc/{pid}/{file}");
    let what = || format!("write({path}, {:?})", data.trim_end());
    let c = CString::new(path.as_str()).map_err(|_| (what(), Errno::EINVAL))?;
    // SAFETY: `c` is a CString (NUL-terminated), alive for the call, which
    // only reads it; the descriptor returned is wrapped in an OwnedFd below.
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err((what(), Errno::last()));
    }
    // SAFETY: `fd` is >= 0, just returned by open: open, and known to nothing
    // else, so the OwnedFd is its only owner.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // One write(2): the kernel takes a map only whole, in a single write.
    // SAFETY: pointer and length come from `data`, a live &str the kernel
    // only reads; `fd` is the OwnedFd above, open for the call.
    let n = unsafe {
        libc::write(
            fd.as_raw_fd(),
            data.as_ptr() as *const libc::c_void,
            data.len(),
        )
    };
    if n < 0 {
        return Err((what(), Errno::last()));
    }
    if n as usize != data.len() {
        return Err((what(), Errno::EIO));
    }
    Ok(())
}

/// Maps the caller (host `uid`/`gid`) to [`INSIDE_ID`] in the user namespace
/// of `child`, one line each, after denying setgroups (which the kernel
/// requires before an unprivileged gid_map). Nothing else is mapped: inside,
/// uid 0 does not exist.
pub fn write_id_maps(child: Pid, uid: u32, gid: u32) -> Result<(), (String, Errno)> {
    write_proc(child, "setgroups", "deny")?;
    write_proc(child, "uid_map", &format!("{INSIDE_ID} {uid} 1\n"))?;
    write_proc(child, "gid_map", &format!("{INSIDE_ID} {gid} 1\n"))
}

/// The inode of the user namespace of `pid` (its identity), if readable.
///
/// A stat of /proc/PID/ns/user by hand, not procfs: procfs only offers
/// `Process::namespaces()`, which stats every namespace of the process and
/// builds a map (measured, release build, 20 000 calls: 110 us against 8 us
/// for this one stat), and it fails whole if any one entry cannot be read.
/// This runs on the kill path, once for each process of a run being ended
/// (up to --nproc of them, twice per watchdog tick), before its SIGKILL.
pub fn userns_inode(pid: Pid) -> Option<u64> {
    std::fs::metadata(format!("/proc/{pid}/ns/user"))
        .ok()
        .map(|m| m.ino())
}

/// SIGKILL to `pid` only if it is still in the run's user namespace (inode
/// `ns`): every process of the run has the caller's uid, so the uid cannot
/// tell them from the caller's other processes, but the namespace can. A
/// pidfd pins the process, so a pid reused meanwhile is never signalled.
pub fn kill_in_userns(pid: Pid, ns: u64) {
    super::kill_pinned_if(pid, |p| userns_inode(p) == Some(ns));
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// Child side (async-signal-safe): empties the effective, permitted and
/// inheritable capability sets (the ambient set follows the permitted one).
/// In a new user namespace the child holds every capability there, whatever
/// its uid; setresuid to an id that was never 0 keeps them, so they are
/// dropped explicitly.
pub fn drop_capabilities() -> Result<(), Errno> {
    let mut hdr = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let data = [CapData {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
    // SAFETY: `hdr` is a v3 header (version, pid 0 = this thread) and `data`
    // holds the two CapData words that the v3 ABI reads (64-bit sets); both
    // are locals alive for the call and repr(C) with the kernel's layout.
    // capset is a raw syscall: async-signal-safe in the child after fork.
    let r = unsafe { libc::syscall(libc::SYS_capset, &mut hdr as *mut CapHeader, data.as_ptr()) };
    if r < 0 {
        return Err(Errno::last());
    }
    // Drop the ambient set too, in case the kernel kept any.
    // SAFETY: PR_CAP_AMBIENT_CLEAR_ALL takes only integers (the unused ones
    // 0, as passed); no memory is read or written. Async-signal-safe.
    unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
            0,
            0,
        )
    };
    Ok(())
}
