//! The run's uid: claimed for the whole run, never shared.
//!
//! A uid is used only if no account of any name service has it (nor its
//! gid a group, [`crate::accounts`]), no process has it as real, effective,
//! saved or file-system uid (nor the gid as a gid), and this run holds its
//! lock file `uid-N.lock` in [`RUN_DIR`] (root-owned, mode 0700). The lock
//! is held by the supervisor and by the guard process (which inherits it),
//! so it is released only after the guard's last sweep of the uid: two
//! runs never share a uid, and a sweep of the uid (`kill(-1)` as that uid)
//! reaches only the run's processes.
//!
//! Callers other than root do not choose the uid: it comes from
//! `uid_min..uid_max` of /etc/safeexec.conf, the first free one from
//! `uid_min + pid mod (the range's size)` on (with the default range,
//! `10000 + pid` as before, when it is free). Root keeps `--uidplus + pid`.

use std::collections::HashSet;
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::PathBuf;

use crate::adminconf::AdminConf;
use crate::error::{Result, SandboxError};
use crate::sys;

/// The root-owned directory of the per-uid lock files.
pub const RUN_DIR: &str = "/run/safeexec";

/// How many uids of the range are tried before giving up.
const MAX_TRIES: u32 = 4096;

/// A uid (and gid) held for one run; dropping it removes the lock file
/// (the lock itself ends when the guard's copy is closed too).
#[derive(Debug)]
pub struct RunUid {
    pub uid: u32,
    pub gid: u32,
    lock: File,
    path: PathBuf,
}

impl RunUid {
    /// The lock file's descriptor, for the guard to inherit.
    pub fn lock_fd(&self) -> RawFd {
        self.lock.as_raw_fd()
    }
}

impl Drop for RunUid {
    fn drop(&mut self) {
        // Removed while still locked: a run that opened the old file before
        // the unlink sees it is no longer the path's file and tries again.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Creates [`RUN_DIR`] if needed and checks it is root's alone (a real
/// directory, owner root, not writable by group or others): the lock files
/// are then named by path inside it.
fn run_dir() -> Result<()> {
    match std::fs::DirBuilder::new().mode(0o700).create(RUN_DIR) {
        // A setuid start has the caller's gid as its effective gid: give
        // the new directory to root's group.
        Ok(()) => {
            let _ = std::os::unix::fs::chown(RUN_DIR, Some(0), Some(0));
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(SandboxError::Internal(format!("mkdir {RUN_DIR}: {e}"))),
    }
    let md = std::fs::symlink_metadata(RUN_DIR)
        .map_err(|e| SandboxError::Internal(format!("stat {RUN_DIR}: {e}")))?;
    if !md.is_dir() || md.uid() != 0 || md.mode() & 0o022 != 0 {
        return Err(SandboxError::Internal(format!(
            "{RUN_DIR} is not a directory of root's alone (owner {}, mode {:04o}): remove it",
            md.uid(),
            md.mode() & 0o7777
        )));
    }
    Ok(())
}

/// Every uid and gid some process that can still run has (real,
/// effective, saved, fs).
///
/// On the run's critical path, once per run, over every process of the
/// machine: the `Uid:`/`Gid:` lines of each `/proc/PID/status` (the only
/// place the four ids are all shown), read into one reused buffer (the two
/// lines are near its start) rather than a String per process. A process
/// without memory of its own, a kernel thread (most entries of /proc: 61
/// of 78 here, more with more CPUs) or a zombie, runs no code of a user
/// and is skipped after a readlink of its `exe` (ENOENT), which costs a
/// third of reading its status. Measured with 78 processes: 0.6 ms before,
/// 0.2 ms this way.
fn ids_in_use() -> (HashSet<u32>, HashSet<u32>) {
    let (mut uids, mut gids) = (HashSet::new(), HashSet::new());
    let mut buf = [0u8; 2048];
    for pid in crate::measure::proc_pids() {
        if std::fs::read_link(format!("/proc/{pid}/exe"))
            .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
        {
            continue;
        }
        let Ok(path) = std::ffi::CString::new(format!("/proc/{pid}/status")) else {
            continue;
        };
        let Some(n) = sys::read_small(&path, &mut buf) else {
            continue;
        };
        status_ids(&buf[..n], &mut uids, &mut gids);
    }
    (uids, gids)
}

/// Adds the ids of a `/proc/PID/status` text ([`sys::setuid::status_ids`])
/// to the sets.
fn status_ids(text: &[u8], uids: &mut HashSet<u32>, gids: &mut HashSet<u32>) {
    let (u, g) = sys::setuid::status_ids(text);
    uids.extend(u);
    gids.extend(g);
}

/// Why `uid`/`gid` cannot be used because a process has them (the
/// accounts are checked before the lock, the processes under it); None
/// when no process has them.
fn in_use(uid: u32, gid: u32, check_gid_procs: bool) -> Option<SandboxError> {
    let (uids, gids) = ids_in_use();
    if uids.contains(&uid) {
        return Some(SandboxError::UidInUse {
            uid,
            why: "a process has it".into(),
        });
    }
    if check_gid_procs && gids.contains(&gid) {
        return Some(SandboxError::UidInUse {
            uid,
            why: format!("a process has gid {gid}"),
        });
    }
    None
}

/// Takes the lock of `uid`: Ok(None) when another run holds it.
fn lock(uid: u32) -> Result<Option<(File, PathBuf)>> {
    let path = PathBuf::from(format!("{RUN_DIR}/uid-{uid}.lock"));
    // Bounded: a retry happens only when the file was replaced meanwhile.
    for _ in 0..16 {
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
            .map_err(|e| SandboxError::Internal(format!("open {}: {e}", path.display())))?;
        let _ = std::os::unix::fs::fchown(&f, Some(0), Some(0));
        if !sys::fdops::try_lock(f.as_fd()).map_err(|e| SandboxError::sys("flock", e))? {
            return Ok(None);
        }
        // Still the file at that name (not unlinked by a run that ended)?
        if let (Ok(a), Ok(b)) = (f.metadata(), std::fs::symlink_metadata(&path)) {
            if a.ino() == b.ino() && a.dev() == b.dev() {
                return Ok(Some((f, path)));
            }
        }
    }
    Ok(None)
}

/// Claims exactly `uid` and `gid` (root's `--uidplus + pid`, `--gid`).
/// The accounts are checked once, before the lock (the name services'
/// answer does not change in between; asking them twice cost ~0.3 ms a
/// run), the processes (a scan of every /proc/PID/status, the costly part
/// on the run's critical path) once, under it.
pub fn claim_exact(uid: u32, gid: u32) -> Result<RunUid> {
    if let Err(name) = crate::accounts::check_uid(uid) {
        return Err(SandboxError::UidTaken { uid, name });
    }
    if let Err(name) = crate::accounts::check_gid(gid) {
        return Err(SandboxError::GidTaken { gid, name });
    }
    run_dir()?;
    let Some((lock, path)) = lock(uid)? else {
        return Err(SandboxError::UidInUse {
            uid,
            why: "another run holds it".into(),
        });
    };
    // Under the lock: a process that has it.
    if let Some(e) = in_use(uid, gid, false) {
        let _ = std::fs::remove_file(&path);
        return Err(e);
    }
    Ok(RunUid {
        uid,
        gid,
        lock,
        path,
    })
}

/// Claims a free uid of `uid_min..=uid_max` for a caller other than root
/// (its gid is the same number): the first free one from
/// `uid_min + pid mod size` on, at most `MAX_TRIES` (4096) tried.
pub fn claim_from_range(conf: &AdminConf, pid: u32) -> Result<RunUid> {
    let (min, max) = (conf.uid_min, conf.uid_max);
    let size = u64::from(max - min) + 1;
    let first = u64::from(pid) % size;
    run_dir()?;
    let tries = u64::from(MAX_TRIES).min(size);
    for i in 0..tries {
        let uid = (u64::from(min) + (first + i) % size) as u32;
        // Accounts first (once); the processes only under the lock (one scan).
        if crate::accounts::check_uid(uid).is_err() || crate::accounts::check_gid(uid).is_err() {
            continue;
        }
        let Some((lock, path)) = lock(uid)? else {
            continue;
        };
        if in_use(uid, uid, true).is_some() {
            let _ = std::fs::remove_file(&path);
            drop(lock);
            continue;
        }
        log::debug!("the run's uid and gid: {uid} (free in {min}..{max}, locked)");
        return Ok(RunUid {
            uid,
            gid: uid,
            lock,
            path,
        });
    }
    Err(SandboxError::NoFreeUid {
        min,
        max,
        tried: tries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_ids_reads_all_four_ids_of_both_lines() {
        let text = b"Name:\tx\nUmask:\t0022\nUid:\t1\t2\t3\t4\nGid:\t5\t6\t7\t8\nGroups:\t9\n";
        let (mut u, mut g) = (HashSet::new(), HashSet::new());
        status_ids(text, &mut u, &mut g);
        // A second process: its lines are read although both sets are
        // already non-empty.
        status_ids(
            b"Uid:\t10\t10\t10\t11\nGid:\t12\t12\t12\t12\n",
            &mut u,
            &mut g,
        );
        assert_eq!(u, HashSet::from([1, 2, 3, 4, 10, 11]));
        assert_eq!(g, HashSet::from([5, 6, 7, 8, 12]));
    }

    #[test]
    fn ids_in_use_sees_this_process() {
        let (u, g) = ids_in_use();
        assert!(u.contains(&nix::unistd::getuid().as_raw()));
        assert!(g.contains(&nix::unistd::getgid().as_raw()));
    }
}
