//! The run's bounded working directory: a detached tmpfs made with the new
//! mount API (fsopen, fsconfig, fsmount) before fork, moved into the child's
//! mount namespace (move_mount) under an overlay, and read back afterwards
//! through the descriptor; plus the no-symlink opens the hand-back uses.

use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;

/// A new tmpfs of `size_kib` KiB and `inodes` inodes, not attached
/// anywhere (nosuid, nodev, noexec): a mount descriptor (close-on-exec).
pub fn detached_tmpfs(size_kib: u64, inodes: u64) -> Result<OwnedFd, Errno> {
    use super::fdops::{new_tmpfs, MOUNT_ATTR_NODEV, MOUNT_ATTR_NOEXEC, MOUNT_ATTR_NOSUID};
    new_tmpfs(
        &format!("size={size_kib}k,nr_inodes={inodes},mode=0755"),
        MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
    )
}

/// Child side (async-signal-safe): attaches the detached mount `fd` at `dst`.
pub fn move_mount_to(fd: RawFd, dst: &CStr) -> Result<(), Errno> {
    let empty = b"\0";
    // SAFETY: NUL-terminated paths; `fd` is a mount descriptor inherited
    // from the supervisor.
    let r = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            fd,
            empty.as_ptr() as *const libc::c_char,
            libc::AT_FDCWD,
            dst.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH,
        )
    };
    if r < 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// (free blocks, free inodes) of the file system `fd` is on.
pub fn free_space(fd: &OwnedFd) -> Result<(u64, u64), Errno> {
    // SAFETY: a zeroed statfs is a valid out-parameter.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: a descriptor we own and a valid out-pointer.
    if unsafe { libc::fstatfs(fd.as_raw_fd(), &mut st) } < 0 {
        return Err(Errno::last());
    }
    Ok((st.f_bfree as u64, st.f_ffree as u64))
}

/// openat2(dir, name, flags, mode) beneath `dir`, without following any
/// symlink or magic link: a name the program turned into a symlink is
/// never followed (ELOOP). `name` is one component.
pub fn open_beneath(dir: RawFd, name: &CStr, flags: i32, mode: u32) -> Result<OwnedFd, Errno> {
    use super::fdops::{openat2_raw, RESOLVE_BENEATH, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS};
    let mode = if flags & libc::O_CREAT != 0 {
        u64::from(mode)
    } else {
        0
    };
    let fd = openat2_raw(
        dir,
        name,
        flags | libc::O_CLOEXEC | libc::O_NOFOLLOW,
        mode,
        RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    )?;
    // SAFETY: the kernel just gave us this descriptor; nobody else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// mkdirat(dir, name, mode); an existing entry is fine (it is opened next,
/// without following a symlink).
pub fn mkdir_beneath(dir: RawFd, name: &CStr, mode: u32) -> Result<(), Errno> {
    // SAFETY: NUL-terminated name, a directory descriptor we hold.
    if unsafe { libc::mkdirat(dir, name.as_ptr(), mode as libc::mode_t) } < 0 {
        let e = Errno::last();
        if e != Errno::EEXIST {
            return Err(e);
        }
    }
    Ok(())
}

/// fchownat(dir, name, uid, gid, AT_SYMLINK_NOFOLLOW).
pub fn chown_at(dir: RawFd, name: &CStr, uid: u32, gid: u32) -> Result<(), Errno> {
    // SAFETY: NUL-terminated name, a directory descriptor we hold.
    if unsafe { libc::fchownat(dir, name.as_ptr(), uid, gid, libc::AT_SYMLINK_NOFOLLOW) } < 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// (st_mode, st_rdev) of `name` in `dir`, without following a symlink.
pub fn stat_at(dir: RawFd, name: &CStr) -> Result<(u32, u64), Errno> {
    // SAFETY: a zeroed stat is a valid out-parameter.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: NUL-terminated name, a directory descriptor, a valid out-pointer.
    if unsafe { libc::fstatat(dir, name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) } < 0 {
        return Err(Errno::last());
    }
    Ok((st.st_mode, st.st_rdev))
}

/// The names in the directory open at `dir` (without `.` and `..`), at
/// most `max`.
pub fn list_dir(dir: &OwnedFd, max: usize) -> Result<Vec<CString>, Errno> {
    // SAFETY: F_DUPFD_CLOEXEC on a descriptor we hold; the copy is handed
    // to fdopendir, which owns it until closedir.
    let dup = unsafe { libc::fcntl(dir.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0) };
    if dup < 0 {
        return Err(Errno::last());
    }
    // SAFETY: a directory descriptor we own; on failure we close it.
    let d = unsafe { libc::fdopendir(dup) };
    if d.is_null() {
        let e = Errno::last();
        // SAFETY: our own descriptor.
        unsafe { libc::close(dup) };
        return Err(e);
    }
    let mut out = Vec::new();
    loop {
        // SAFETY: a valid DIR*; the entry is read before the next call.
        let e = unsafe { libc::readdir(d) };
        if e.is_null() || out.len() >= max {
            break;
        }
        // SAFETY: d_name is NUL-terminated within the entry.
        let name = unsafe { CStr::from_ptr((*e).d_name.as_ptr()) };
        if name.to_bytes() != b"." && name.to_bytes() != b".." {
            out.push(name.to_owned());
        }
    }
    // SAFETY: the DIR* from fdopendir, closed once (closes `dup`).
    unsafe { libc::closedir(d) };
    Ok(out)
}

/// fchmodat(dir, name, mode) (the name is not a symlink: it was just made).
pub fn chmod_at(dir: RawFd, name: &CStr, mode: u32) -> Result<(), Errno> {
    // SAFETY: NUL-terminated name, a directory descriptor we hold.
    if unsafe { libc::fchmodat(dir, name.as_ptr(), mode as libc::mode_t, 0) } < 0 {
        return Err(Errno::last());
    }
    Ok(())
}
