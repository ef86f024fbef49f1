//! Landlock system calls: the kernel's ABI version (supervisor side), and
//! the child's part of building a ruleset (open each path with `O_PATH`,
//! add it to the ruleset, restrict itself), which must not allocate.
//!
//! The ruleset itself (which rights are handled) is created before fork
//! with the `landlock` crate (src/policy/landlock.rs); only the steps that
//! must see the child's mount namespace and working directory are here.

use std::ffi::CStr;
use std::os::fd::RawFd;

use nix::errno::Errno;

/// Same number on every architecture (the unified syscall table).
const SYS_LANDLOCK_CREATE_RULESET: libc::c_long = 444;
const SYS_LANDLOCK_ADD_RULE: libc::c_long = 445;
const SYS_LANDLOCK_RESTRICT_SELF: libc::c_long = 446;
const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
const LANDLOCK_RULE_PATH_BENEATH: libc::c_int = 1;

/// `struct landlock_path_beneath_attr` (packed in the uapi header).
#[repr(C, packed)]
struct PathBeneathAttr {
    allowed_access: u64,
    parent_fd: i32,
}

/// The kernel's Landlock ABI version, or the errno that says why there is
/// none (ENOSYS: not built in; EOPNOTSUPP: built in but not enabled at boot).
pub fn abi_version() -> Result<i32, Errno> {
    // SAFETY: with LANDLOCK_CREATE_RULESET_VERSION the kernel requires a null
    // attribute pointer and size 0 (as passed): it reads and writes no
    // memory of ours and returns a number, not a descriptor.
    let v = unsafe {
        libc::syscall(
            SYS_LANDLOCK_CREATE_RULESET,
            std::ptr::null::<libc::c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    if v < 0 {
        Err(Errno::last())
    } else {
        Ok(v as i32)
    }
}

/// Child side: what happened to one path rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// The rule is in the ruleset.
    Yes,
    /// The path does not exist or is not reachable by the run's uid: there is
    /// nothing to allow (the kernel refuses the run access to it anyway).
    Missing,
}

/// Child side (async-signal-safe): opens `path` with `O_PATH` (relative to
/// the working directory unless absolute) and adds it to `ruleset` with
/// `access`; on a file that is not a directory only `file_access` is kept
/// (the kernel refuses directory rights on files).
pub fn add_path_rule(
    ruleset: RawFd,
    path: &CStr,
    access: u64,
    file_access: u64,
) -> Result<Added, Errno> {
    // SAFETY: `path` is a borrowed CStr, NUL-terminated and alive for the
    // call, which only reads it; the descriptor returned is closed at the end
    // of this function. open is async-signal-safe (this runs after fork).
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
    if fd < 0 {
        let e = Errno::last();
        return match e {
            Errno::ENOENT | Errno::EACCES | Errno::ENOTDIR | Errno::ELOOP | Errno::ENAMETOOLONG => {
                Ok(Added::Missing)
            }
            e => Err(e),
        };
    }
    // SAFETY: `stat` is plain integers: all-zero bytes are a valid value.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `fd` was opened above and is still open; `st` is a local stat
    // that fstat writes, alive for the call. Async-signal-safe.
    let r = unsafe { libc::fstat(fd, &mut st) };
    let mut allowed = access;
    if r == 0 && st.st_mode & libc::S_IFMT != libc::S_IFDIR {
        allowed &= file_access;
    }
    let res = if allowed == 0 {
        Ok(Added::Yes)
    } else {
        add_rule(ruleset, fd, allowed).map(|()| Added::Yes)
    };
    // SAFETY: `fd` was opened above, is owned by nothing else and is not used
    // after this close.
    unsafe { libc::close(fd) };
    res
}

/// landlock_add_rule(PATH_BENEATH) for the object `fd` is open on.
fn add_rule(ruleset: RawFd, fd: RawFd, allowed: u64) -> Result<(), Errno> {
    let attr = PathBeneathAttr {
        allowed_access: allowed,
        parent_fd: fd,
    };
    // SAFETY: `attr` is a local with the uapi's packed layout of
    // landlock_path_beneath_attr, alive for the call, which only reads it;
    // a stale `fd` or `ruleset` only gives EBADF. A raw syscall:
    // async-signal-safe.
    let r = unsafe {
        libc::syscall(
            SYS_LANDLOCK_ADD_RULE,
            ruleset,
            LANDLOCK_RULE_PATH_BENEATH,
            &attr as *const PathBeneathAttr,
            0u32,
        )
    };
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(())
    }
}

/// `LANDLOCK_ACCESS_FS_READ_FILE`.
const ACCESS_READ_FILE: u64 = 1 << 2;

/// Child side: when standard input is a regular file, lets the run read
/// that file again by name (`/dev/stdin`, `/proc/self/fd/0`), read-only.
/// The kernel reopens it by the path it was opened by, which may lie under
/// a mount the run does not see as such (the working directory's overlay
/// covers it): without this rule Landlock would refuse what the program
/// already holds open. Nothing new is readable: the rule names that one
/// file (its inode), and the ptrace check still applies the policy's path
/// rules to the name.
pub fn add_stdin_rule(ruleset: RawFd) -> Result<(), Errno> {
    // SAFETY: `stat` is plain integers: all-zero bytes are a valid value.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fd 0 is only examined; `st` is a local stat that fstat writes,
    // alive for the call. Async-signal-safe.
    if unsafe { libc::fstat(0, &mut st) } != 0 || st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Ok(());
    }
    add_rule(ruleset, 0, ACCESS_READ_FILE)
}

/// Child side: enforces `ruleset` on this thread and everything it starts
/// (no_new_privs must be set first).
pub fn restrict_self(ruleset: RawFd) -> Result<(), Errno> {
    // SAFETY: integers only (the ruleset descriptor and flags 0): the kernel
    // reads no memory of ours. A raw syscall: async-signal-safe.
    let r = unsafe { libc::syscall(SYS_LANDLOCK_RESTRICT_SELF, ruleset, 0u32) };
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(())
    }
}
