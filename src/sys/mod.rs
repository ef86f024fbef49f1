//! The only place with `unsafe` and raw libc, ptrace and seccomp calls.
//!
//! Child-side functions (the `child` module) run between fork and exec: they
//! are async-signal-safe (no allocation, no locks) and return the raw errno.
#![allow(unsafe_code)]

use std::ffi::{CString, OsStr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::time::Duration;

use nix::errno::Errno;
use nix::unistd::Pid;

pub mod disk;
pub mod fdops;
pub mod landlock;
pub mod ptrace;
pub mod setuid;
pub mod userns;

/// Result of [`fork`].
pub enum Fork {
    Child,
    Parent(Pid),
}

/// fork(2). The caller must keep the child async-signal-safe.
pub fn fork() -> Result<Fork, Errno> {
    // SAFETY: after fork only the calling thread exists in the child, and
    // other threads' locks (the allocator's included) may be held forever.
    // Every caller's child branch runs only async-signal-safe code that
    // neither allocates nor locks: `crate::jail::child_main` (the `child`
    // and `ns` wrappers below, on data built before fork), or the guard in
    // [`spawn_guard`] (raw libc calls on locals); both end in execve or
    // _exit and never return into Rust code that could unwind or run
    // destructors on state shared with the parent.
    match unsafe { nix::unistd::fork() }? {
        nix::unistd::ForkResult::Child => Ok(Fork::Child),
        nix::unistd::ForkResult::Parent { child } => Ok(Fork::Parent(child)),
    }
}

/// fork(2) for a caller that has one thread only (the judge, whose run
/// workers are whole processes that run ordinary code and end with
/// [`child::exit`]). Refused with EBUSY when the process has other threads:
/// a lock one of them held would stay locked in the child forever.
pub fn fork_worker() -> Result<Fork, Errno> {
    if thread_count() != Some(1) {
        return Err(Errno::EBUSY);
    }
    // SAFETY: single-threaded (checked above), so the child's copy of every
    // lock is in the state this thread left it in, and the child may run
    // anything this process could.
    match unsafe { nix::unistd::fork() }? {
        nix::unistd::ForkResult::Child => Ok(Fork::Child),
        nix::unistd::ForkResult::Parent { child } => Ok(Fork::Parent(child)),
    }
}

/// Threads of this process, from /proc/self/status.
pub fn thread_count() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Pins this process (and what it starts later) to one CPU: the judge's
/// worker slots, so one run has one CPU and its times do not depend on how
/// many run at once.
pub fn pin_to_cpu(cpu: usize) -> Result<(), Errno> {
    let mut set = nix::sched::CpuSet::new();
    set.set(cpu)?;
    nix::sched::sched_setaffinity(Pid::from_raw(0), &set)
}

/// The CPUs this process may run on, in order (empty if unknown).
pub fn allowed_cpus() -> Vec<usize> {
    match nix::sched::sched_getaffinity(Pid::from_raw(0)) {
        Ok(s) => (0..nix::sched::CpuSet::count())
            .filter(|&i| s.is_set(i).unwrap_or(false))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// argv and envp prepared before fork, so the child does not allocate.
pub struct ExecArgs {
    path: CString,
    _strings: Vec<CString>,
    argv: Vec<*const libc::c_char>,
    envp: Vec<*const libc::c_char>,
}

impl ExecArgs {
    /// Fails when a string holds a NUL byte.
    pub fn new<'a>(
        path: &OsStr,
        argv: impl IntoIterator<Item = &'a OsStr>,
        env: impl IntoIterator<Item = (&'a OsStr, &'a OsStr)>,
    ) -> Result<Self, String> {
        let cs = |s: &[u8]| {
            CString::new(s).map_err(|_| {
                format!(
                    "`{}` contains a NUL byte",
                    String::from_utf8_lossy(s).replace('\0', "\\0")
                )
            })
        };
        let path = cs(path.as_bytes())?;
        let mut strings = Vec::new();
        let mut nargs = 0;
        for a in argv {
            strings.push(cs(a.as_bytes())?);
            nargs += 1;
        }
        for (k, v) in env {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            strings.push(cs(&kv)?);
        }
        // The CString heap buffers do not move when the Vec grows, so these
        // pointers stay valid as long as `_strings` lives.
        let mut argv: Vec<_> = strings[..nargs].iter().map(|s| s.as_ptr()).collect();
        argv.push(std::ptr::null());
        let mut envp: Vec<_> = strings[nargs..].iter().map(|s| s.as_ptr()).collect();
        envp.push(std::ptr::null());
        Ok(ExecArgs {
            path,
            _strings: strings,
            argv,
            envp,
        })
    }
}

/// A seccomp program ready to install: the BPF instructions, same layout as
/// `struct sock_filter`.
pub type SockFilter = libc::sock_filter;

/// Wrappers used in the child between fork and exec.
pub mod child;

/// Process rusage returned by [`wait4`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    pub user: Duration,
    pub sys: Duration,
    pub maxrss_kib: u64,
}

fn tv(t: libc::timeval) -> Duration {
    Duration::new(
        t.tv_sec.max(0) as u64,
        (t.tv_usec.clamp(0, 999_999) as u32) * 1000,
    )
}

/// One wait status with the rusage of the process (and its reaped children).
pub struct Waited {
    pub pid: Pid,
    pub status: i32,
    pub usage: Usage,
}

/// wait4(-1, ..., __WALL | flags). Ok(None) with WNOHANG and nothing ready.
pub fn wait4_any(flags: i32) -> Result<Option<Waited>, Errno> {
    let mut status = 0;
    // SAFETY: rusage is plain integers (timevals and longs): all-zero bytes
    // are a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `status` and `ru` are locals of this frame, of the types
        // wait4 writes, alive for the call.
        let pid = unsafe { libc::wait4(-1, &mut status, libc::__WALL | flags, &mut ru) };
        if pid < 0 {
            if Errno::last() == Errno::EINTR {
                continue;
            }
            return Err(Errno::last());
        }
        if pid == 0 {
            return Ok(None);
        }
        return Ok(Some(Waited {
            pid: Pid::from_raw(pid),
            status,
            usage: Usage {
                user: tv(ru.ru_utime),
                sys: tv(ru.ru_stime),
                maxrss_kib: ru.ru_maxrss.max(0) as u64,
            },
        }));
    }
}

/// Makes the caller the reaper of its orphaned descendants, so a program
/// that double-forks still ends up waited for (and its rusage counted).
pub fn set_child_subreaper() -> Result<(), Errno> {
    // SAFETY: PR_SET_CHILD_SUBREAPER takes an integer flag; no pointer is
    // passed, so no memory is read or written.
    let r = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    Errno::result(r).map(drop)
}

/// CPU time consumed so far by process `pid` (all its threads), from its
/// process CPU clock.
pub fn process_cpu_time(pid: Pid) -> Option<Duration> {
    let mut clk: libc::clockid_t = 0;
    // SAFETY: `clk` is a local clockid_t, alive for the call, that the call
    // only writes; a pid that is gone only makes it return ESRCH.
    if unsafe { libc::clock_getcpuclockid(pid.as_raw(), &mut clk) } != 0 {
        return None;
    }
    // SAFETY: timespec is two integers: all-zero bytes are a valid value.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: `ts` is a local timespec, alive for the call, that the call
    // only writes.
    if unsafe { libc::clock_gettime(clk, &mut ts) } != 0 {
        return None;
    }
    Some(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

/// A pidfd of `pid` (None if it is gone): the process stays the one it
/// names, a pid reaped and reused meanwhile is never reached through it.
pub fn pidfd_open(pid: Pid) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags (0) and touches no memory of
    // ours; a pid that is gone only makes it fail.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: `fd` is >= 0, just returned by pidfd_open: an open descriptor
    // that nothing else in this process knows of, so the OwnedFd is its only
    // owner and closes it once.
    Some(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd as RawFd) })
}

/// SIGKILL to the process of a pidfd (nothing if it has ended).
pub fn pidfd_kill(fd: BorrowedFd) {
    // SAFETY: `fd` is a borrowed open descriptor for the whole call; a null
    // siginfo is allowed (the kernel fills in a default one) and flags are 0.
    unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            fd.as_raw_fd(),
            libc::SIGKILL,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
}

/// SIGKILL to `pid` if `belongs(pid)` holds once the process is pinned by a
/// pidfd: a pid reaped and reused meanwhile by someone else's process is
/// never signalled (if the check reads another process's /proc entry, the
/// pinned process is dead and the signal finds nothing).
pub fn kill_pinned_if(pid: Pid, belongs: impl FnOnce(Pid) -> bool) {
    let Some(fd) = pidfd_open(pid) else {
        return;
    };
    if belongs(pid) {
        pidfd_kill(fd.as_fd());
    }
}

/// SIGKILL to one pid (ignored if it is gone).
pub fn kill_pid(pid: Pid) {
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
}

/// Blocks the signals that ask safeexec to stop, in the calling thread (and
/// threads it spawns later), so one thread can take them with sigtimedwait.
pub fn block_stop_signals() -> nix::sys::signal::SigSet {
    use nix::sys::signal::{SigSet, Signal};
    let mut set = SigSet::empty();
    for s in [
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGHUP,
        Signal::SIGQUIT,
    ] {
        set.add(s);
    }
    let _ = set.thread_block();
    set
}

/// Restores the default signal mask (the child does this before exec).
pub fn unblock_all_signals() {
    let _ = nix::sys::signal::SigSet::all().thread_unblock();
}

/// Restores the default action of every signal. Ignored signals survive
/// exec, and the Rust runtime ignores SIGPIPE: without this a program
/// writing to a closed pipe would get EPIPE instead of dying by SIGPIPE as
/// it would natively. Async-signal-safe (called in the child after fork).
pub fn default_all_signals() {
    for sig in 1..=libc::SIGRTMAX() {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: SIG_DFL is always a valid disposition (no handler code
        // is installed); signal(2) is async-signal-safe, so this may run
        // in the child after fork. Errors (signals the C library reserves)
        // are harmless and ignored.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
    }
}

/// Reads the whole of a small /proc file into `buf` without allocating a
/// new buffer each time. Returns the bytes read.
pub fn read_small(path: &CString, buf: &mut [u8]) -> Option<usize> {
    // SAFETY: `path` is a borrowed CString, NUL-terminated and alive for the
    // call, which only reads it. The descriptor returned is closed below.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return None;
    }
    // SAFETY: the kernel writes at most buf.len() bytes into `buf`, a live
    // mutable slice; `fd` was opened just above and is still open.
    let n = unsafe { libc::read(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
    // SAFETY: `fd` was opened above, is not owned by any OwnedFd/File and is
    // not used after this close.
    unsafe { libc::close(fd) };
    (n >= 0).then_some(n as usize)
}

/// Whether the process runs with effective uid 0.
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// A pipe whose ends are close-on-exec.
pub fn pipe() -> Result<(OwnedFd, OwnedFd), Errno> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
}

/// fork(2) into new namespaces: clone(2) with `flags | SIGCHLD` and no new
/// stack, so the child continues like after fork. With CLONE_NEWPID the
/// child is pid 1 of the new PID namespace (fork after unshare would leave
/// the caller outside it). The caller must keep the child async-signal-safe
/// and must not be multithreaded.
pub fn fork_into(flags: libc::c_int) -> Result<Fork, Errno> {
    // SAFETY: a raw clone without CLONE_VM and with a null stack is fork:
    // the child gets a copy of the address space and stack and returns 0
    // here; the four pointer arguments (stack, parent_tid, child_tid, tls)
    // are null, so the kernel writes no memory of ours. No atfork handler
    // runs (a raw syscall), so a lock held by another thread at the clone
    // stays held in the child: the child only runs `crate::jail::child_main`
    // (async-signal-safe wrappers on data built before fork, then execve or
    // _exit), which takes no lock and never allocates, and never relies on
    // glibc's cached pid/tid, which a raw clone does not update.
    let r = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (flags | libc::SIGCHLD) as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    match r {
        r if r < 0 => Err(Errno::last()),
        0 => Ok(Fork::Child),
        pid => Ok(Fork::Parent(Pid::from_raw(pid as i32))),
    }
}

/// `struct clone_args` of clone3(2), as of Linux 5.7 (with `cgroup`).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// `CLONE_INTO_CGROUP` (Linux 5.7): the child starts in the cgroup v2
/// directory `clone_args.cgroup` names, without a migration.
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// Like [`fork_into`], the child starting in the cgroup v2 directory open
/// at `cgroup`: every page and process of the child is the cgroup's from its
/// first instruction, and nothing has to move it there. Fails with ENOSYS
/// (no clone3, Linux < 5.3), E2BIG or EINVAL (no CLONE_INTO_CGROUP, Linux <
/// 5.7): the caller falls back to [`fork_into`] and a write to cgroup.procs.
pub fn fork_into_cgroup(flags: libc::c_int, cgroup: RawFd) -> Result<Fork, Errno> {
    let args = CloneArgs {
        flags: flags as u32 as u64 | CLONE_INTO_CGROUP,
        exit_signal: libc::SIGCHLD as u64,
        cgroup: cgroup as u64,
        ..CloneArgs::default()
    };
    // SAFETY: clone3 without CLONE_VM and without a stack (stack = 0,
    // stack_size = 0) is fork: the child gets a copy of the address space
    // and returns 0 here, on the same stack. `args` is a valid clone_args of
    // the size passed and lives across the call; the kernel only reads it.
    // The child only runs `crate::jail::child_main` (async-signal-safe
    // wrappers, no allocation, then execve or _exit), and never relies on
    // glibc's cached thread id.
    let r = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    match r {
        r if r < 0 => Err(Errno::last()),
        0 => Ok(Fork::Child),
        pid => Ok(Fork::Parent(Pid::from_raw(pid as i32))),
    }
}

/// The kernel's process events connector (NETLINK_CONNECTOR, group
/// CN_IDX_PROC): every fork and exit on the host, as they happen. Needs
/// CAP_NET_ADMIN (root). Used to count every process of a run, including
/// those reaped by their own parent, which the supervisor never sees.
pub mod procev {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    use nix::errno::Errno;

    /// One event: a fork (a thread when `child_pid != child_tgid`) or the
    /// exit of a task.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Event {
        Fork {
            parent_tgid: i32,
            child_pid: i32,
            child_tgid: i32,
        },
        Exit {
            pid: i32,
            tgid: i32,
        },
    }

    const CN_IDX_PROC: u32 = 1;
    const CN_VAL_PROC: u32 = 1;
    const PROC_CN_MCAST_LISTEN: u32 = 1;
    const PROC_EVENT_FORK: u32 = 0x1;
    const PROC_EVENT_EXIT: u32 = 0x8000_0000;
    /// nlmsghdr (16 bytes), cn_msg (20), then proc_event: what, cpu,
    /// timestamp (8), event data at 16.
    const DATA: usize = 16 + 20;
    const EVENT: usize = DATA + 16;

    /// A subscribed connector socket.
    pub struct Listener {
        fd: OwnedFd,
    }

    fn i32_at(b: &[u8], at: usize) -> Option<i32> {
        Some(i32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
    }

    fn u32_at(b: &[u8], at: usize) -> Option<u32> {
        Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
    }

    impl Listener {
        /// Opens the socket and subscribes; events from then on are queued
        /// (a 4 MiB receive buffer; [`Listener::read`] says when some were lost).
        pub fn open() -> Result<Listener, Errno> {
            // SAFETY: socket(2) with constant arguments; the descriptor is
            // owned by the OwnedFd at once.
            let raw = unsafe {
                libc::socket(
                    libc::AF_NETLINK,
                    libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
                    libc::NETLINK_CONNECTOR,
                )
            };
            if raw < 0 {
                return Err(Errno::last());
            }
            // SAFETY: `raw` is a fresh descriptor that nothing else owns.
            let fd = unsafe { OwnedFd::from_raw_fd(raw) };
            let size: libc::c_int = 4 << 20;
            // SAFETY: setsockopt reads `size`, an int that lives across the
            // call, with its size passed. Failure only keeps the default size.
            unsafe {
                libc::setsockopt(
                    fd.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_RCVBUFFORCE,
                    &size as *const libc::c_int as *const libc::c_void,
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                )
            };
            // SAFETY: an all-zero sockaddr_nl is valid; nl_pid 0 lets the
            // kernel pick a unique port.
            let mut sa: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
            sa.nl_family = libc::AF_NETLINK as libc::sa_family_t;
            sa.nl_groups = CN_IDX_PROC;
            // SAFETY: bind reads `sa`, of the size passed, during the call.
            let r = unsafe {
                libc::bind(
                    fd.as_raw_fd(),
                    &sa as *const libc::sockaddr_nl as *const libc::sockaddr,
                    std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
                )
            };
            if r < 0 {
                return Err(Errno::last());
            }
            let mut msg = [0u8; DATA + 4];
            msg[0..4].copy_from_slice(&((DATA + 4) as u32).to_ne_bytes());
            msg[4..6].copy_from_slice(&(libc::NLMSG_DONE as u16).to_ne_bytes());
            msg[16..20].copy_from_slice(&CN_IDX_PROC.to_ne_bytes());
            msg[20..24].copy_from_slice(&CN_VAL_PROC.to_ne_bytes());
            msg[32..34].copy_from_slice(&4u16.to_ne_bytes());
            msg[DATA..DATA + 4].copy_from_slice(&PROC_CN_MCAST_LISTEN.to_ne_bytes());
            // SAFETY: send reads `msg`, of the length passed, during the call.
            let r = unsafe {
                libc::send(
                    fd.as_raw_fd(),
                    msg.as_ptr() as *const libc::c_void,
                    msg.len(),
                    0,
                )
            };
            if r < 0 {
                return Err(Errno::last());
            }
            Ok(Listener { fd })
        }

        /// Waits up to `timeout_ms` for one datagram and appends its fork
        /// and exit events to `out`; true when a datagram (of any event) was
        /// read. Err(ENOBUFS): events were lost. `wake`: a descriptor that
        /// ends the wait early when it becomes readable or hung up (the
        /// read end of a pipe whose write end is closed to stop the reader).
        pub fn read(
            &self,
            timeout_ms: i32,
            wake: Option<&OwnedFd>,
            buf: &mut [u8],
            out: &mut Vec<Event>,
        ) -> Result<bool, Errno> {
            let mut pfd = [
                libc::pollfd {
                    fd: self.fd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    fd: wake.map(|w| w.as_raw_fd()).unwrap_or(-1),
                    events: libc::POLLIN,
                    revents: 0,
                },
            ];
            // SAFETY: poll on two pollfds that live across the call (a
            // negative fd is ignored by the kernel).
            let n = unsafe { libc::poll(pfd.as_mut_ptr(), 2, timeout_ms) };
            if n <= 0 || pfd[0].revents & libc::POLLIN == 0 {
                return if n < 0 && Errno::last() != Errno::EINTR {
                    Err(Errno::last())
                } else {
                    Ok(false)
                };
            }
            // SAFETY: recv writes at most `buf.len()` bytes into `buf`.
            let got = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr() as *mut libc::c_void,
                    buf.len(),
                    libc::MSG_DONTWAIT,
                )
            };
            if got < 0 {
                return match Errno::last() {
                    Errno::EAGAIN | Errno::EINTR => Ok(false),
                    e => Err(e),
                };
            }
            let b = &buf[..got as usize];
            // One proc_event per datagram.
            match u32_at(b, DATA) {
                Some(PROC_EVENT_FORK) => {
                    if let (Some(pt), Some(cp), Some(ct)) = (
                        i32_at(b, EVENT + 4),
                        i32_at(b, EVENT + 8),
                        i32_at(b, EVENT + 12),
                    ) {
                        out.push(Event::Fork {
                            parent_tgid: pt,
                            child_pid: cp,
                            child_tgid: ct,
                        });
                    }
                }
                Some(PROC_EVENT_EXIT) => {
                    if let (Some(p), Some(t)) = (i32_at(b, EVENT), i32_at(b, EVENT + 4)) {
                        out.push(Event::Exit { pid: p, tgid: t });
                    }
                }
                _ => {}
            }
            Ok(true)
        }
    }

    /// Processes that descend from `root` (itself not counted) in `events`,
    /// in order: a fork whose parent is known and whose child is a process
    /// (not a thread) adds one; an exit forgets a pid (it may be reused).
    pub fn count_descendants(events: &[Event], root: i32) -> u64 {
        let mut live = std::collections::HashSet::from([root]);
        let mut n = 0;
        for e in events {
            match *e {
                Event::Fork {
                    parent_tgid,
                    child_pid,
                    child_tgid,
                } if child_pid == child_tgid && live.contains(&parent_tgid) => {
                    live.insert(child_tgid);
                    n += 1;
                }
                Event::Exit { pid, tgid } if pid == tgid && pid != root => {
                    live.remove(&pid);
                }
                _ => {}
            }
        }
        n
    }
}

/// Namespace, mount and init helpers for the child (async-signal-safe, no
/// allocation: every path is a CStr built before fork).
pub mod ns;

/// Starts the guard: a root process that outlives a killed or stopped
/// supervisor. It waits on a pipe whose write end the supervisor keeps:
///
/// - a byte `g` starts the run's wall clock: if the pipe has not closed
///   `clock` (plus [`GUARD_GRACE`]) later, the guard SIGKILLs every process
///   of `uid` (the run's unique uid), and again every 200 ms until the pipe
///   closes. This holds when the caller has stopped the supervisor
///   (SIGSTOP), which it may signal but cannot signal the guard;
/// - EOF (the supervisor closed the pipe at the end of the run, or died
///   however it died, SIGKILL included) makes it SIGKILL every process of
///   `uid` and exit: 0, or [`GUARD_DEADLINE_EXIT`] when it had to kill at
///   the deadline.
///
/// The kills are made by a short-lived child that takes `uid` (kill(-1) then
/// reaches exactly the processes of that uid), so the guard itself keeps
/// real uid 0 throughout and the run can never signal it. Returns the
/// guard's pid and the write end.
///
/// `keep` (the run's uid lock file) stays open in the guard as its fd 1,
/// so the uid stays claimed until the guard's last sweep is done.
pub fn spawn_guard(
    uid: u32,
    clock: Duration,
    keep: Option<RawFd>,
) -> Result<(Pid, OwnedFd), Errno> {
    let (r, w) = pipe()?;
    let rfd = r.as_raw_fd();
    let keep = keep.unwrap_or(-1);
    let clock_ms = clock
        .saturating_add(GUARD_GRACE)
        .as_millis()
        .min(i32::MAX as u128) as i64;
    match fork()? {
        Fork::Child => {
            // SAFETY: this is the child of fork() in a possibly
            // multithreaded supervisor: only async-signal-safe libc calls
            // follow (sigprocmask, setsid, setresuid, dup2, close, close_range,
            // clock_gettime, poll, read, fork, setresgid, kill, waitpid,
            // _exit), on locals of this frame (`all`, `ts`, `pfd`, `st`, the
            // read buffer), on `rfd`, the read end of the pipe made just
            // above, and on `keep`, the run's uid lock descriptor (dup2
            // only); nothing allocates (the closures capture by reference
            // and live on this stack), and every path ends in _exit. The
            // sweep's own fork happens in this single-threaded guard, and
            // its child only calls setres[ug]id, kill and _exit.
            unsafe {
                let mut all: libc::sigset_t = std::mem::zeroed();
                libc::sigfillset(&mut all);
                libc::sigprocmask(libc::SIG_SETMASK, &all, std::ptr::null_mut());
                libc::setsid();
                libc::setresuid(0, 0, 0);
                if libc::dup2(rfd, 0) < 0 {
                    libc::_exit(1);
                }
                // fd 1: the uid lock (or nothing); everything else closed.
                if keep < 0 || libc::dup2(keep, 1) < 0 {
                    libc::close(1);
                }
                libc::syscall(libc::SYS_close_range, 2u32, u32::MAX, 0u32);
                let now_ms = || {
                    let mut ts: libc::timespec = std::mem::zeroed();
                    libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts);
                    ts.tv_sec as i64 * 1000 + ts.tv_nsec as i64 / 1_000_000
                };
                // Kills every process of uid from a child that takes it;
                // true if there was one (kill(-1) fails with ESRCH if not).
                let sweep = || {
                    let pid = libc::fork();
                    if pid == 0 {
                        if libc::setresgid(uid, uid, uid) != 0
                            || libc::setresuid(uid, uid, uid) != 0
                        {
                            libc::_exit(2);
                        }
                        let found = libc::kill(-1, libc::SIGKILL) == 0;
                        for _ in 0..2 {
                            libc::kill(-1, libc::SIGKILL);
                        }
                        libc::_exit(if found { 0 } else { 1 });
                    }
                    let mut st = 1 << 8;
                    if pid > 0 {
                        while libc::waitpid(pid, &mut st, 0) < 0 && Errno::last() == Errno::EINTR {}
                    }
                    libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0
                };
                let mut deadline: Option<i64> = None;
                let mut killed = false;
                loop {
                    let timeout = match deadline {
                        None => -1,
                        Some(d) => (d - now_ms()).clamp(0, i32::MAX as i64) as i32,
                    };
                    let mut pfd = libc::pollfd {
                        fd: 0,
                        events: libc::POLLIN,
                        revents: 0,
                    };
                    let n = libc::poll(&mut pfd, 1, timeout);
                    if n < 0 {
                        if Errno::last() == Errno::EINTR {
                            continue;
                        }
                        break;
                    }
                    if n == 0 {
                        // The wall clock ran out and the run is still there:
                        // the supervisor is stopped or far behind.
                        killed |= sweep();
                        deadline = Some(now_ms() + 200);
                        continue;
                    }
                    let mut b = 0u8;
                    let got = libc::read(0, &mut b as *mut u8 as *mut libc::c_void, 1);
                    if got == 0 || (got < 0 && Errno::last() != Errno::EINTR) {
                        break;
                    }
                    if got == 1 && b == b'g' && deadline.is_none() {
                        deadline = Some(now_ms() + clock_ms);
                    }
                }
                if libc::setresgid(uid, uid, uid) != 0 || libc::setresuid(uid, uid, uid) != 0 {
                    libc::_exit(2);
                }
                for _ in 0..3 {
                    libc::kill(-1, libc::SIGKILL);
                }
                libc::_exit(if killed { GUARD_DEADLINE_EXIT } else { 0 });
            }
        }
        Fork::Parent(pid) => {
            drop(r);
            Ok((pid, w))
        }
    }
}

/// How long past the wall clock the guard waits before it kills the run
/// itself (the supervisor's watchdog normally ends it at the clock).
pub const GUARD_GRACE: Duration = Duration::from_millis(300);

/// The guard's exit status when it killed the run at the wall clock.
pub const GUARD_DEADLINE_EXIT: i32 = 3;

/// Waits for one specific child (the guard), ignoring EINTR.
pub fn wait_pid(pid: Pid) {
    let mut status = 0;
    loop {
        // SAFETY: `status` is a local c_int the kernel writes; `pid` is our
        // own child (the guard), which only we reap.
        let r = unsafe { libc::waitpid(pid.as_raw(), &mut status, libc::__WALL) };
        if r < 0 && Errno::last() == Errno::EINTR {
            continue;
        }
        break;
    }
}

/// What ended a [`Waiter::wait`].
pub enum Wake {
    /// One of the stop signals arrived (its number).
    Signal(i32),
    /// Another thread called [`Waiter::wake`].
    Woken,
    Timeout,
}

/// Lets the watchdog sleep until a timeout, a stop signal, or a wake-up
/// from the waiting thread, whichever comes first (signalfd + eventfd).
pub struct Waiter {
    sigfd: OwnedFd,
    event: OwnedFd,
}

impl Waiter {
    /// `set` must already be blocked in every thread.
    pub fn new(set: &nix::sys::signal::SigSet) -> Result<Waiter, Errno> {
        // SAFETY: `set.as_ref()` points at the caller's initialised sigset_t,
        // borrowed for the call, which only reads it; the descriptor
        // returned is wrapped in an OwnedFd below.
        let s = unsafe { libc::signalfd(-1, set.as_ref(), libc::SFD_CLOEXEC | libc::SFD_NONBLOCK) };
        if s < 0 {
            return Err(Errno::last());
        }
        // SAFETY: `s` is >= 0, just returned by signalfd: open, and known to
        // nothing else, so the OwnedFd is its only owner.
        let sigfd = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(s) };
        // SAFETY: integers only; no memory passed.
        let e = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if e < 0 {
            return Err(Errno::last());
        }
        // SAFETY: `e` is >= 0, just returned by eventfd: open, and known to
        // nothing else, so the OwnedFd is its only owner.
        let event = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(e) };
        Ok(Waiter { sigfd, event })
    }

    pub fn wake(&self) {
        let one: u64 = 1;
        // SAFETY: the buffer is `one`, a local u64 (8 bytes, the size an
        // eventfd write takes), alive for the call; `self.event` is an
        // OwnedFd open as long as `self`.
        unsafe {
            libc::write(
                self.event.as_raw_fd(),
                &one as *const u64 as *const libc::c_void,
                8,
            )
        };
    }

    pub fn wait(&self, timeout: Duration) -> Wake {
        let mut fds = [
            libc::pollfd {
                fd: self.sigfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: self.event.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        let ms = timeout.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
        // SAFETY: `fds` is a local array of exactly 2 initialised pollfds
        // (the count passed), alive for the call; the kernel writes only
        // their `revents`. Both descriptors are OwnedFds of `self`.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, ms) };
        if n <= 0 {
            return Wake::Timeout;
        }
        if fds[0].revents & libc::POLLIN != 0 {
            // SAFETY: signalfd_siginfo is plain integers: all-zero bytes are
            // a valid value.
            let mut si: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
            let sz = std::mem::size_of::<libc::signalfd_siginfo>();
            // SAFETY: the kernel writes at most `sz` bytes, the size of `si`,
            // a local alive for the call; `self.sigfd` is an open OwnedFd.
            let r = unsafe {
                libc::read(
                    self.sigfd.as_raw_fd(),
                    &mut si as *mut _ as *mut libc::c_void,
                    sz,
                )
            };
            if r == sz as isize {
                return Wake::Signal(si.ssi_signo as i32);
            }
        }
        if fds[1].revents & libc::POLLIN != 0 {
            return Wake::Woken;
        }
        Wake::Timeout
    }
}

/// Points fd 1 at what fd 2 is (the supervisor's own stdout, for `policy
/// learn` printing the policy on stdout); returns the saved stdout.
pub fn stdout_to_stderr() -> Option<OwnedFd> {
    // SAFETY: integers only; F_DUPFD_CLOEXEC returns a new descriptor (or
    // -1), which is wrapped in an OwnedFd below.
    let saved = unsafe { libc::fcntl(1, libc::F_DUPFD_CLOEXEC, 3) };
    if saved < 0 {
        return None;
    }
    // SAFETY: `saved` is >= 0, just returned by fcntl: open, and known to
    // nothing else, so the OwnedFd is its only owner.
    let saved = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(saved) };
    // SAFETY: integers only. fd 1 is replaced on purpose: it is the
    // process's stdout, owned by no OwnedFd (std's Stdout uses the number
    // without owning it), and was saved above.
    if unsafe { libc::dup2(2, 1) } < 0 {
        return None;
    }
    Some(saved)
}

/// Puts back the stdout saved by [`stdout_to_stderr`].
pub fn restore_stdout(saved: OwnedFd) {
    // SAFETY: integers only; `saved` is an OwnedFd open for the call, and
    // fd 1 (owned by no OwnedFd) is replaced on purpose.
    unsafe { libc::dup2(saved.as_raw_fd(), 1) };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Processes descending from the root are counted, threads and
    /// strangers are not, and a pid that exited and came back for another
    /// process is not mistaken for the run's.
    #[test]
    fn fork_events_count_the_run_s_processes_only() {
        use procev::{count_descendants, Event};
        let fork = |p, c, t| Event::Fork {
            parent_tgid: p,
            child_pid: c,
            child_tgid: t,
        };
        let exit = |p| Event::Exit { pid: p, tgid: p };
        let ev = [
            fork(1, 10, 10),  // the program
            fork(10, 11, 11), // its child
            fork(10, 12, 10), // a thread of the program
            fork(7, 8, 8),    // a stranger
            fork(11, 13, 13), // a grandchild
            exit(13),
            fork(7, 13, 13),  // pid 13 again, a stranger's
            fork(13, 14, 14), // its child: not the run's
            exit(11),
        ];
        assert_eq!(count_descendants(&ev, 1), 3);
        assert_eq!(count_descendants(&ev, 10), 2);
    }

    /// clone3(CLONE_INTO_CGROUP) puts the child in the cgroup from its
    /// start: read from outside while the child is still blocked on a pipe,
    /// before it could have moved itself. Needs root and a cgroup v2 mount
    /// (the unified hierarchy of a hybrid host will do: no controller is
    /// needed to place a process).
    #[test]
    fn clone3_starts_the_child_in_the_cgroup() {
        if !is_root() {
            eprintln!("skipped: needs root");
            return;
        }
        let Some(mount) = crate::isolate::cgroup::v2_mount() else {
            eprintln!("skipped: no cgroup v2 hierarchy is mounted");
            return;
        };
        let text = std::fs::read_to_string("/proc/self/cgroup").unwrap();
        let own = text
            .lines()
            .find_map(|l| l.strip_prefix("0::"))
            .expect("a cgroup v2 line");
        let rel = format!(
            "{}/clone3-test-{}",
            own.trim_end_matches('/'),
            std::process::id()
        );
        let dir = mount.join(rel.trim_start_matches('/'));
        std::fs::create_dir(&dir).expect("mkdir test cgroup");
        let fd = std::fs::File::open(&dir).unwrap();
        let (r, w) = pipe().unwrap();
        let child = match fork_into_cgroup(0, fd.as_raw_fd()) {
            Err(e) => {
                let _ = std::fs::remove_dir(&dir);
                if matches!(e, Errno::ENOSYS | Errno::E2BIG | Errno::EINVAL) {
                    eprintln!("skipped: no clone3(CLONE_INTO_CGROUP) here: {e}");
                    return;
                }
                panic!("clone3: {e}");
            }
            Ok(Fork::Child) => {
                // Async-signal-safe only: wait for the parent, then leave.
                let _ = child::read_byte(r.as_raw_fd());
                child::exit(0)
            }
            Ok(Fork::Parent(pid)) => pid,
        };
        let seen = std::fs::read_to_string(format!("/proc/{child}/cgroup")).unwrap_or_default();
        let members = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
        // The child holds a copy of `w` too: a byte, not EOF, releases it.
        let _ = nix::unistd::write(&w, b"g");
        wait_pid(child);
        let _ = std::fs::remove_dir(&dir);
        assert!(
            seen.lines().any(|l| l == format!("0::{rel}")),
            "child's cgroup: {seen:?}, wanted 0::{rel}"
        );
        assert_eq!(members.trim(), child.to_string());
        drop(r);
    }
}
