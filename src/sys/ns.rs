use std::ffi::CStr;

use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags};

pub fn unshare(flags: libc::c_int) -> Result<(), Errno> {
    nix::sched::unshare(nix::sched::CloneFlags::from_bits_retain(flags))
}

pub fn mount(
    src: Option<&CStr>,
    dst: &CStr,
    fstype: Option<&CStr>,
    flags: libc::c_ulong,
    data: Option<&CStr>,
) -> Result<(), Errno> {
    nix::mount::mount(src, dst, fstype, MsFlags::from_bits_retain(flags), data)
}

pub fn umount_detach(dir: &CStr) -> Result<(), Errno> {
    nix::mount::umount2(dir, MntFlags::MNT_DETACH)
}

pub fn pivot_root(new_root: &CStr, put_old: &CStr) -> Result<(), Errno> {
    nix::unistd::pivot_root(new_root, put_old)
}

/// mkdir; an existing entry is fine.
/// Opens `dir` as an O_PATH descriptor and moves it to `fd`
/// (close-on-exec), so it stays reachable as /proc/self/fd/FD after a
/// mount hides its path.
pub fn keep_dir(dir: &CStr, fd: i32) -> Result<(), Errno> {
    // SAFETY: `dir` is a borrowed CStr, NUL-terminated and alive for the
    // call, which only reads it; the descriptor returned is closed below.
    // Async-signal-safe (runs in the child after fork).
    let o = unsafe {
        libc::open(
            dir.as_ptr(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if o < 0 {
        return Err(Errno::last());
    }
    // SAFETY: integers only. `fd` is a number the mount plan reserves
    // for this (above the program's 0-2, and no OwnedFd of the child
    // holds it), so replacing it invalidates nothing.
    let r = unsafe { libc::dup3(o, fd, libc::O_CLOEXEC) };
    // SAFETY: `o` was opened just above, is owned by nothing else and is
    // not used after this close.
    unsafe { libc::close(o) };
    if r < 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// Opens `path` (a file or a directory) as an O_PATH descriptor with
/// openat2(RESOLVE_NO_SYMLINKS) and moves it to `fd` (close-on-exec):
/// the path was resolved before fork (canonical, checked with the
/// caller's rights), so a symlink met now was planted since and fails
/// the open (ELOOP) instead of binding what it points to. With `id`, the
/// object opened must be that one (st_dev, st_ino): another is ESTALE.
pub fn keep_path(path: &CStr, fd: i32, id: Option<(u64, u64)>) -> Result<(), Errno> {
    use super::fdops::{openat2_raw, RESOLVE_NO_SYMLINKS};
    let o = openat2_raw(
        libc::AT_FDCWD,
        path,
        libc::O_PATH | libc::O_CLOEXEC | libc::O_NOFOLLOW,
        0,
        RESOLVE_NO_SYMLINKS,
    )?;
    if let Some(want) = id {
        // SAFETY: `stat` is plain integers: all-zero bytes are a valid value.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: `o` was opened just above and is still open; `st` is a
        // local stat that fstat writes. Async-signal-safe.
        let r = unsafe { libc::fstat(o, &mut st) };
        if r < 0 || (st.st_dev, st.st_ino) != want {
            let e = if r < 0 { Errno::last() } else { Errno::ESTALE };
            // SAFETY: `o` is owned by nothing else and not used after this.
            unsafe { libc::close(o) };
            return Err(e);
        }
    }
    // SAFETY: integers only. `fd` is a number the mount plan reserves for
    // this (no OwnedFd of the child holds it), so replacing it invalidates
    // nothing.
    let r = unsafe { libc::dup3(o, fd, libc::O_CLOEXEC) };
    // SAFETY: `o` was opened just above, is owned by nothing else and is
    // not used after this close.
    unsafe { libc::close(o) };
    if r < 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// Space in use on the tmpfs at `path`, KiB (0 on error, and 0 when
/// `path` is not on a tmpfs: sampled before the run's private tmpfs
/// is mounted, /proc/PID/root/tmp is the host's disk).
pub fn fs_used_kib(path: &CStr) -> u64 {
    // SAFETY: statfs is plain integers: all-zero bytes are a valid value.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is a borrowed CStr, NUL-terminated and alive for the
    // call; `st` is a local statfs the kernel writes. Both the
    // supervisor and the init (after fork) call this: statfs allocates
    // nothing and is async-signal-safe.
    if unsafe { libc::statfs(path.as_ptr(), &mut st) } < 0 {
        return 0;
    }
    if st.f_type != libc::TMPFS_MAGIC {
        return 0;
    }
    let used = (st.f_blocks as u64).saturating_sub(st.f_bfree as u64);
    used.saturating_mul(st.f_bsize as u64) / 1024
}

pub fn mkdir(dir: &CStr, mode: libc::mode_t) -> Result<(), Errno> {
    // SAFETY: `dir` is a borrowed CStr, NUL-terminated and alive for the
    // call, which only reads it. Async-signal-safe.
    if unsafe { libc::mkdir(dir.as_ptr(), mode) } < 0 && Errno::last() != Errno::EEXIST {
        return Err(Errno::last());
    }
    Ok(())
}

/// Creates an empty file (a mount point for a file bind).
pub fn touch(path: &CStr) -> Result<(), Errno> {
    // SAFETY: `path` is a borrowed CStr, NUL-terminated and alive for the
    // call, which only reads it; the descriptor is closed right below.
    let fd = unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_CLOEXEC | libc::O_NOFOLLOW,
            0o644,
        )
    };
    if fd < 0 {
        return Err(Errno::last());
    }
    // SAFETY: `fd` was opened just above, is owned by nothing else and is
    // not used after this close.
    unsafe { libc::close(fd) };
    Ok(())
}

pub fn symlink(target: &CStr, path: &CStr) -> Result<(), Errno> {
    // SAFETY: `target` and `path` are borrowed CStrs, NUL-terminated and
    // alive for the call, which only reads them. Async-signal-safe.
    if unsafe { libc::symlink(target.as_ptr(), path.as_ptr()) } < 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// Writes `data` into an existing file (cgroup.procs, tasks).
pub fn write_file(path: &CStr, data: &[u8]) -> Result<(), Errno> {
    // SAFETY: `path` is a borrowed CStr, NUL-terminated and alive for the
    // call, which only reads it; the descriptor is closed below. open,
    // write and close are async-signal-safe (the child joins its cgroup
    // with this after fork).
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(Errno::last());
    }
    // SAFETY: pointer and length come from the live slice `data`, which
    // the kernel only reads; `fd` was opened just above.
    let n = unsafe { libc::write(fd, data.as_ptr() as *const libc::c_void, data.len()) };
    let e = Errno::last();
    // SAFETY: `fd` was opened above, is owned by nothing else and is not
    // used after this close.
    unsafe { libc::close(fd) };
    if n < 0 {
        return Err(e);
    }
    Ok(())
}

pub fn sethostname(name: &CStr) -> Result<(), Errno> {
    // SAFETY: pointer and length describe the bytes of `name` (without
    // its NUL), a borrowed CStr alive for the call, which only reads it.
    if unsafe { libc::sethostname(name.as_ptr(), name.to_bytes().len()) } < 0 {
        return Err(Errno::last());
    }
    Ok(())
}

fn sigset(sigs: &[libc::c_int]) -> libc::sigset_t {
    // SAFETY: sigset_t is a plain bit array: all-zero bytes are a valid
    // (empty) value.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a local sigset_t that sigemptyset writes; it only
    // touches that memory and is async-signal-safe.
    unsafe { libc::sigemptyset(&mut set) };
    for &s in sigs {
        // SAFETY: as above, on the same local; an invalid signal number
        // only makes it return EINVAL.
        unsafe { libc::sigaddset(&mut set, s) };
    }
    set
}

/// Blocks `sigs` in the calling thread.
pub fn block(sigs: &[libc::c_int]) -> Result<(), Errno> {
    let set = sigset(sigs);
    // SAFETY: `set` is an initialised local sigset_t that the call only
    // reads; the old-set pointer is null, which is allowed. The init
    // is single-threaded, so the process mask is this thread's.
    let r = unsafe { libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    Errno::result(r).map(drop)
}

/// Waits for one of `sigs` (which must be blocked); returns its number.
pub fn sigwait(sigs: &[libc::c_int]) -> libc::c_int {
    let set = sigset(sigs);
    loop {
        // SAFETY: `set` is an initialised local sigset_t that the call
        // only reads; a null siginfo pointer is allowed (nothing written).
        let r = unsafe { libc::sigwaitinfo(&set, std::ptr::null_mut()) };
        if r > 0 {
            return r;
        }
    }
}

/// waitpid(-1, WNOHANG | __WALL): Some((pid, status)), or None when no
/// child has changed state (or none is left: Err(ECHILD)).
pub fn reap_one() -> Result<Option<(libc::pid_t, libc::c_int)>, Errno> {
    let mut status = 0;
    loop {
        // SAFETY: `status` is a local c_int, alive for the call, that the
        // kernel writes. Async-signal-safe.
        let r = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG | libc::__WALL) };
        if r < 0 {
            if Errno::last() == Errno::EINTR {
                continue;
            }
            return Err(Errno::last());
        }
        return Ok((r > 0).then_some((r, status)));
    }
}

pub fn kill(pid: libc::pid_t, sig: libc::c_int) {
    // SAFETY: integers only, no memory passed. The target is the init's
    // own child (the program), never a pid it has reaped.
    unsafe { libc::kill(pid, sig) };
}

pub fn close(fd: std::os::fd::RawFd) {
    // SAFETY: the callers (the child after fork) pass a pipe end that
    // the ChildPlan lent them as a RawFd: no OwnedFd in the child owns
    // it, and it is not used after this close.
    unsafe { libc::close(fd) };
}
