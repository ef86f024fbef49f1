use super::*;

fn check(ret: libc::c_long) -> Result<(), Errno> {
    if ret < 0 {
        Err(Errno::last())
    } else {
        Ok(())
    }
}

pub fn setpgid_self() -> Result<(), Errno> {
    // SAFETY: setpgid(0, 0) takes two integers and touches no memory of
    // ours; it is async-signal-safe (signal-safety(7)).
    check(unsafe { libc::setpgid(0, 0) } as _)
}

/// Marks every descriptor from `first` up close-on-exec.
pub fn cloexec_from(first: u32) -> Result<(), Errno> {
    // SAFETY: close_range takes integers only; with CLOSE_RANGE_CLOEXEC
    // it closes nothing, it only marks descriptors, so no OwnedFd of this
    // process is left dangling. A raw syscall: no libc state involved,
    // safe after fork.
    check(unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    })
}

pub fn dup2(from: RawFd, to: RawFd) -> Result<(), Errno> {
    // SAFETY: dup2 takes two integers. `to` (0, 1 or 2) is replaced on
    // purpose: in the child after fork nothing else uses it, so no
    // OwnedFd is invalidated behind Rust's back. Async-signal-safe.
    check(unsafe { libc::dup2(from, to) } as _)
}

pub fn chroot(dir: &std::ffi::CStr) -> Result<(), Errno> {
    // SAFETY: `dir` is a borrowed CStr, NUL-terminated and alive for the
    // call; the kernel only reads it. A raw syscall wrapper, safe after fork.
    check(unsafe { libc::chroot(dir.as_ptr()) } as _)
}

pub fn chdir(dir: &std::ffi::CStr) -> Result<(), Errno> {
    // SAFETY: `dir` is a borrowed CStr, NUL-terminated and alive for the
    // call; the kernel only reads it. Async-signal-safe.
    check(unsafe { libc::chdir(dir.as_ptr()) } as _)
}

pub fn drop_groups() -> Result<(), Errno> {
    // SAFETY: a count of 0 with a null list: the kernel reads no memory.
    // glibc's setgroups is a raw syscall on this thread only (no setxid
    // broadcast: the child after fork has one thread).
    check(unsafe { libc::setgroups(0, std::ptr::null()) } as _)
}

pub fn set_gid(gid: u32) -> Result<(), Errno> {
    // SAFETY: integers only, no memory passed. In the single-threaded
    // child after fork glibc's setxid broadcast to other threads has no
    // thread to signal, so the call stays async-signal-safe.
    check(unsafe { libc::setresgid(gid, gid, gid) } as _)
}

pub fn set_uid(uid: u32) -> Result<(), Errno> {
    // SAFETY: as in set_gid: integers only, one thread after fork.
    check(unsafe { libc::setresuid(uid, uid, uid) } as _)
}

pub fn setrlimit(resource: libc::__rlimit_resource_t, soft: u64, hard: u64) -> Result<(), Errno> {
    let rl = libc::rlimit64 {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: `rl` is a fully initialised rlimit64 on this stack frame,
    // alive for the call; the kernel only reads it. Async-signal-safe.
    check(unsafe { libc::setrlimit64(resource, &rl) } as _)
}

/// Lets this process hold descriptors up to `want` - 1 (the mount plan
/// parks directories at fixed numbers near 900, whatever RLIMIT_NOFILE the
/// caller started safeexec with): the soft limit is raised to `want`, and
/// the hard one too where the process may (CAP_SYS_RESOURCE); best effort.
/// Returns the limits to put back with [`restore_nofile`] once the mounts
/// are done, so the program's limits start from the caller's as before.
pub fn raise_nofile(want: u64) -> Option<(u64, u64)> {
    let mut rl = libc::rlimit64 {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `rl` is a local rlimit64 the kernel writes, alive for the
    // call. Async-signal-safe.
    if unsafe { libc::getrlimit64(libc::RLIMIT_NOFILE, &mut rl) } != 0 || rl.rlim_cur >= want {
        return None;
    }
    let old = (rl.rlim_cur, rl.rlim_max);
    if setrlimit(libc::RLIMIT_NOFILE, want, rl.rlim_max.max(want)).is_err() {
        let _ = setrlimit(libc::RLIMIT_NOFILE, want.min(rl.rlim_max), rl.rlim_max);
    }
    Some(old)
}

/// Puts back the limits [`raise_nofile`] changed (lowering is always
/// allowed; descriptors open above them stay open).
pub fn restore_nofile(old: Option<(u64, u64)>) {
    if let Some((soft, hard)) = old {
        let _ = setrlimit(libc::RLIMIT_NOFILE, soft, hard);
    }
}

pub fn set_nice(n: i32) -> Result<(), Errno> {
    // SAFETY: integers only (who = 0: the calling process); no memory
    // passed. Async-signal-safe.
    check(unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, n) } as _)
}

pub fn no_new_privs() -> Result<(), Errno> {
    // SAFETY: PR_SET_NO_NEW_PRIVS takes only integers (the unused ones
    // must be 0, as passed); no memory is read or written.
    check(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } as _)
}

pub fn parent_death_signal(sig: i32) -> Result<(), Errno> {
    // SAFETY: PR_SET_PDEATHSIG takes a signal number; no pointer is
    // passed, so no memory is read or written.
    check(unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong, 0, 0, 0) } as _)
}

pub fn getppid() -> i32 {
    // SAFETY: getppid takes nothing, cannot fail and is async-signal-safe.
    unsafe { libc::getppid() }
}

/// Blocks until one byte arrives; EOF is an error (the supervisor died).
pub fn read_byte(fd: RawFd) -> Result<u8, Errno> {
    let mut b = 0u8;
    loop {
        // SAFETY: the buffer is `b`, one byte on this stack frame, and
        // the length passed is 1; `fd` is the caller's pipe end (a bad fd
        // only makes read fail with EBADF). Async-signal-safe.
        let n = unsafe { libc::read(fd, &mut b as *mut u8 as *mut libc::c_void, 1) };
        match n {
            1 => return Ok(b),
            0 => return Err(Errno::EPIPE),
            _ if Errno::last() == Errno::EINTR => continue,
            _ => return Err(Errno::last()),
        }
    }
}

pub fn write_all(fd: RawFd, mut buf: &[u8]) {
    while !buf.is_empty() {
        // SAFETY: pointer and length come from the live slice `buf`,
        // which the kernel only reads; a bad fd only fails with EBADF.
        // Async-signal-safe.
        let n = unsafe { libc::write(fd, buf.as_ptr() as *const libc::c_void, buf.len()) };
        if n <= 0 {
            if n < 0 && Errno::last() == Errno::EINTR {
                continue;
            }
            return;
        }
        buf = &buf[n as usize..];
    }
}

/// Installs a seccomp filter (no_new_privs must be set first).
pub fn seccomp_install(prog: &[SockFilter], flags: libc::c_ulong) -> Result<(), Errno> {
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_ptr() as *mut SockFilter,
    };
    // SAFETY: `fprog` points at `prog`'s instructions, with its length
    // (a u16: policies compile far below 65 536 instructions, and the
    // kernel rejects more than BPF_MAXINSNS anyway); both outlive the
    // call and the kernel copies the program before returning.
    check(unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flags,
            &fprog as *const libc::sock_fprog,
        )
    })
}

/// execve; returns only on failure.
pub fn execve(args: &ExecArgs) -> Errno {
    // SAFETY: `args` owns every string (its `_strings`) that the argv and
    // envp pointer arrays point into, each array ends with a null
    // pointer, and `args` is borrowed for the call; on success nothing
    // of this process is used again. execve is async-signal-safe.
    unsafe { libc::execve(args.path.as_ptr(), args.argv.as_ptr(), args.envp.as_ptr()) };
    Errno::last()
}

pub fn exit(code: i32) -> ! {
    // SAFETY: _exit ends the process at once: no atexit handler, no
    // stdio flush, no destructor runs, which is what a child after fork
    // needs (the parent's buffers must not be flushed twice).
    unsafe { libc::_exit(code) }
}
