//! Descriptor-based file and mount calls for a setuid safeexec: a path the
//! caller names is resolved once (`openat2`) and from then on used only
//! through the descriptor: mounts are cloned from it (`open_tree`), made
//! private and read-only on the detached copy (`mount_setattr`), attached
//! in the jail (`move_mount`) onto a destination opened one component at a
//! time without following symlinks; the run's uid is claimed with a lock
//! file (`flock`).
//!
//! Functions marked "child" run between fork and exec: no allocation, the
//! raw errno back.

use std::ffi::CStr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

pub const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
pub const RESOLVE_NO_SYMLINKS: u64 = 0x04;
pub const RESOLVE_BENEATH: u64 = 0x08;
pub const RESOLVE_IN_ROOT: u64 = 0x10;

const OPEN_TREE_CLONE: libc::c_uint = 1;
const AT_RECURSIVE: libc::c_uint = 0x8000;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x04;
const MOVE_MOUNT_T_EMPTY_PATH: libc::c_uint = 0x40;

pub const MOUNT_ATTR_RDONLY: u64 = 0x01;
pub const MOUNT_ATTR_NOSUID: u64 = 0x02;
pub const MOUNT_ATTR_NODEV: u64 = 0x04;
pub const MOUNT_ATTR_NOEXEC: u64 = 0x08;

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// The raw openat2; returns the new descriptor number (child-safe). The
/// one openat2 of the crate: every other open with resolve flags goes
/// through it.
pub fn openat2_raw(
    dirfd: RawFd,
    path: &CStr,
    flags: i32,
    mode: u64,
    resolve: u64,
) -> Result<RawFd, Errno> {
    let how = OpenHow {
        flags: flags as u64,
        mode,
        resolve,
    };
    // SAFETY: path is NUL-terminated; `how` is a valid open_how on our stack
    // and its size is passed; the kernel only reads both.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dirfd,
            path.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    if fd < 0 {
        Err(Errno::last())
    } else {
        Ok(fd as RawFd)
    }
}

/// openat2(dirfd, path, O_PATH | O_CLOEXEC [| O_DIRECTORY], resolve).
pub fn open_path(
    dirfd: Option<RawFd>,
    path: &CStr,
    directory: bool,
    resolve: u64,
) -> Result<OwnedFd, Errno> {
    let mut flags = libc::O_PATH | libc::O_CLOEXEC;
    if directory {
        flags |= libc::O_DIRECTORY;
    }
    let fd = openat2_raw(dirfd.unwrap_or(libc::AT_FDCWD), path, flags, 0, resolve)?;
    // SAFETY: the kernel just gave us this descriptor; nobody else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// open_tree(fd, "", OPEN_TREE_CLONE | AT_EMPTY_PATH | AT_RECURSIVE): a
/// detached copy of the mount tree at the opened file or directory, made
/// private (nothing propagates to or from the host) with `attr_set`
/// (MOUNT_ATTR_*) set on every mount of it. It is attached later with
/// [`child_attach`]; closed unattached, it is dissolved.
pub fn clone_tree(fd: &OwnedFd, attr_set: u64) -> Result<OwnedFd, Errno> {
    // SAFETY: an empty NUL-terminated path and a descriptor we own.
    let t = unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            fd.as_raw_fd(),
            c"".as_ptr(),
            OPEN_TREE_CLONE
                | libc::AT_EMPTY_PATH as libc::c_uint
                | AT_RECURSIVE
                | libc::O_CLOEXEC as libc::c_uint,
        )
    };
    if t < 0 {
        return Err(Errno::last());
    }
    // SAFETY: a fresh descriptor from the kernel, owned from here on.
    let tree = unsafe { OwnedFd::from_raw_fd(t as RawFd) };
    let attr = MountAttr {
        attr_set,
        attr_clr: 0,
        propagation: libc::MS_PRIVATE,
        userns_fd: 0,
    };
    // SAFETY: our descriptor, an empty path, a valid mount_attr of the
    // size passed; the kernel only reads it.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH as libc::c_uint | AT_RECURSIVE,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if r < 0 {
        return Err(Errno::last());
    }
    Ok(tree)
}

/// Child: opens `name` (one path component) in `dirfd` as O_PATH, without
/// following any symlink, not even a last one (ELOOP), and not leaving
/// `dirfd` (RESOLVE_IN_ROOT). `directory`: a directory is required.
pub fn child_open_component(dirfd: RawFd, name: &CStr, directory: bool) -> Result<RawFd, Errno> {
    let mut flags = libc::O_PATH | libc::O_CLOEXEC;
    if directory {
        flags |= libc::O_DIRECTORY;
    }
    openat2_raw(
        dirfd,
        name,
        flags,
        0,
        RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    )
}

/// Child: mkdirat(dirfd, name, 0755); an existing entry is fine (it is
/// then opened without following symlinks by the caller of this).
pub fn child_mkdirat(dirfd: RawFd, name: &CStr) -> Result<(), Errno> {
    // SAFETY: a NUL-terminated name and a descriptor the child holds.
    if unsafe { libc::mkdirat(dirfd, name.as_ptr(), 0o755) } < 0 && Errno::last() != Errno::EEXIST {
        return Err(Errno::last());
    }
    Ok(())
}

/// Child: creates the empty file `name` in `dirfd` (a mount point for a
/// file), never through a symlink (O_EXCL | O_NOFOLLOW); an existing entry
/// is fine. Returns nothing: the file is opened afterwards.
pub fn child_create_file(dirfd: RawFd, name: &CStr) -> Result<(), Errno> {
    let r = openat2_raw(
        dirfd,
        name,
        libc::O_CREAT
            | libc::O_EXCL
            | libc::O_RDONLY
            | libc::O_NOFOLLOW
            | libc::O_NONBLOCK
            | libc::O_CLOEXEC,
        0o644,
        RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    );
    match r {
        Ok(fd) => {
            child_close(fd);
            Ok(())
        }
        Err(Errno::EEXIST) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Child: move_mount(tree, "", target, "", F_EMPTY_PATH | T_EMPTY_PATH):
/// attaches a detached tree from [`clone_tree`] on the opened target.
pub fn child_attach(tree: RawFd, target: RawFd) -> Result<(), Errno> {
    // SAFETY: two descriptors the child holds and empty NUL-terminated paths.
    let r = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree,
            c"".as_ptr(),
            target,
            c"".as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    };
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(())
    }
}

/// Child: close(fd).
pub fn child_close(fd: RawFd) {
    // SAFETY: closing a descriptor the child opened itself.
    unsafe { libc::close(fd) };
}

/// flock(fd, LOCK_EX | LOCK_NB): Ok(true) when taken, Ok(false) when
/// another open file description holds it.
pub fn try_lock(fd: std::os::fd::BorrowedFd<'_>) -> Result<bool, Errno> {
    // SAFETY: a descriptor we own, integer flags.
    if unsafe { libc::flock(fd.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(true);
    }
    match Errno::last() {
        Errno::EWOULDBLOCK => Ok(false),
        e => Err(e),
    }
}

/// Child: execveat(fd, "", argv, envp, AT_EMPTY_PATH): runs the file the
/// descriptor was opened on, not whatever its path names now. Returns only
/// on failure.
pub fn child_execveat(fd: RawFd, args: &super::ExecArgs) -> Errno {
    // SAFETY: argv and envp are NULL-terminated arrays of NUL-terminated
    // strings that live in `args`; the path is empty and NUL-terminated.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            fd,
            c"".as_ptr(),
            args.argv.as_ptr(),
            args.envp.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    Errno::last()
}

/// Child: open(path, O_PATH | O_DIRECTORY | O_CLOEXEC) of a directory the
/// child made itself (the jail's scaffolding, `/newroot`, `/`).
pub fn child_open_dir(path: &CStr) -> Result<RawFd, Errno> {
    openat2_raw(
        libc::AT_FDCWD,
        path,
        libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
        0,
        0,
    )
}

/// Child: (st_dev, st_ino) of the current working directory.
pub fn child_cwd_id() -> Result<(u64, u64), Errno> {
    // SAFETY: a zeroed stat is a valid out-parameter.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: a NUL-terminated path and a valid out-pointer.
    if unsafe { libc::stat(c".".as_ptr(), &mut st) } < 0 {
        return Err(Errno::last());
    }
    Ok((st.st_dev, st.st_ino))
}

const FSCONFIG_SET_STRING: libc::c_uint = 1;
const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
const FSMOUNT_CLOEXEC: libc::c_uint = 1;
const FSOPEN_CLOEXEC: libc::c_uint = 1;

/// A new tmpfs, not attached anywhere yet (fsopen, fsconfig, fsmount):
/// `data` is mount(2)'s `key=value,...` string; `attrs` (MOUNT_ATTR_*) are
/// its mount flags. Attached in the jail with [`child_attach`].
pub fn new_tmpfs(data: &str, attrs: u64) -> Result<OwnedFd, Errno> {
    // SAFETY: a NUL-terminated file system name, no flags.
    let fs = unsafe { libc::syscall(libc::SYS_fsopen, c"tmpfs".as_ptr(), FSOPEN_CLOEXEC) };
    if fs < 0 {
        return Err(Errno::last());
    }
    // SAFETY: a fresh descriptor from the kernel, owned from here on.
    let fs = unsafe { OwnedFd::from_raw_fd(fs as RawFd) };
    for kv in data.split(',').filter(|s| !s.is_empty()) {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        let k = std::ffi::CString::new(k).map_err(|_| Errno::EINVAL)?;
        let v = std::ffi::CString::new(v).map_err(|_| Errno::EINVAL)?;
        // SAFETY: our descriptor and NUL-terminated key and value.
        let r = unsafe {
            libc::syscall(
                libc::SYS_fsconfig,
                fs.as_raw_fd(),
                FSCONFIG_SET_STRING,
                k.as_ptr(),
                v.as_ptr(),
                0,
            )
        };
        if r < 0 {
            return Err(Errno::last());
        }
    }
    // SAFETY: our descriptor; null key and value for a command.
    let r = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_void>(),
            0,
        )
    };
    if r < 0 {
        return Err(Errno::last());
    }
    // SAFETY: our configured file system context, integer flags.
    let m = unsafe {
        libc::syscall(
            libc::SYS_fsmount,
            fs.as_raw_fd(),
            FSMOUNT_CLOEXEC,
            attrs as libc::c_uint,
        )
    };
    if m < 0 {
        return Err(Errno::last());
    }
    // SAFETY: a fresh descriptor from the kernel, owned from here on.
    Ok(unsafe { OwnedFd::from_raw_fd(m as RawFd) })
}

/// open(path, O_PATH | O_CLOEXEC), following symlinks: root's own system
/// paths (jail profiles, /dev/null ...), not a caller's.
pub fn open_system_path(path: &CStr) -> Result<OwnedFd, Errno> {
    let fd = openat2_raw(libc::AT_FDCWD, path, libc::O_PATH | libc::O_CLOEXEC, 0, 0)?;
    // SAFETY: a fresh descriptor from the kernel, owned from here on.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
