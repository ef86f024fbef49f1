//! The bounded working directory (`--disk`): a tmpfs of the run's own,
//! made before fork and kept by descriptor, is the upper layer of an
//! overlay on the working directory (src/isolate/mounts.rs). The program
//! writes there whatever the directory's permissions; the tmpfs bounds the
//! total size and the number of files; a full tmpfs is an Output Limit
//! Exceeded; and when the run ends, what the program wrote is handed back
//! into the directory with the caller's rights (owned by the caller),
//! never through a symlink.

use std::ffi::{CString, OsStr};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::{Result, SandboxError};
use crate::sys;

/// Deepest directory level handed back.
const MAX_DEPTH: usize = 64;
/// Most entries of one directory handed back (the tmpfs's inodes bound
/// them anyway).
const MAX_ENTRIES: usize = 1 << 20;

/// The run's bounded working directory.
pub(crate) struct Disk {
    /// The tmpfs (a mount descriptor) with `upper/` and `work/`.
    pub fd: OwnedFd,
    /// The caller's working directory (canonical, for messages).
    pub wd: PathBuf,
    /// (st_dev, st_ino) of the working directory opened before the fork.
    pub wd_id: (u64, u64),
    /// The working directory as opened once before the fork (with the
    /// caller's rights): the hand-back writes through it, never by path.
    wd_fd: OwnedFd,
}

/// Makes the tmpfs: `size_kib`, one inode per 4 KiB (at least 64), with
/// `upper/` (the overlay's root takes its owner and mode) and `work/` for
/// the overlay. When the run's uid may enter the directory (it is
/// searchable by others), `upper/` belongs to the run's ids, with write and
/// search for them and read only when others may read it (a directory
/// others may enter but not list stays unlisted), so the program may
/// create files there; otherwise it keeps the directory's owner and mode,
/// and the run cannot enter it, as without the layer.
pub(crate) fn prepare(
    wd: &crate::caller::Held,
    size_kib: u64,
    (uid, gid): (u32, u32),
) -> Result<Disk> {
    use std::os::unix::fs::MetadataExt;
    let wd_fd = wd
        .fd
        .try_clone()
        .map_err(|e| SandboxError::Internal(format!("dup: {e}")))?;
    let md =
        std::fs::metadata(format!("/proc/self/fd/{}", wd_fd.as_raw_fd())).map_err(|source| {
            SandboxError::Path {
                what: "working directory",
                path: wd.real.clone(),
                source,
            }
        })?;
    let (owner, mode) = if md.mode() & 0o001 != 0 {
        let others = md.mode() & 0o007;
        let owner = 0o300 | if others & 0o004 != 0 { 0o400 } else { 0 };
        (
            (uid, gid),
            (md.mode() & 0o7077 & !0o070) | owner | (others << 3),
        )
    } else {
        ((md.uid(), md.gid()), md.mode() & 0o7777)
    };
    let inodes = (size_kib / 4).max(64);
    let fd = sys::disk::detached_tmpfs(size_kib, inodes)
        .map_err(|e| SandboxError::sys(format!("fsopen(tmpfs, size={size_kib}k)"), e))?;
    for (name, mode) in [("upper", 0o755), ("work", 0o700)] {
        let c = CString::new(name).expect("no NUL");
        sys::disk::mkdir_beneath(fd.as_raw_fd(), &c, mode)
            .map_err(|e| SandboxError::sys(format!("mkdirat(run's tmpfs, {name})"), e))?;
    }
    sys::disk::chown_at(fd.as_raw_fd(), c"upper", owner.0, owner.1)
        .map_err(|e| SandboxError::sys(format!("fchownat(upper, {owner:?})"), e))?;
    sys::disk::chmod_at(fd.as_raw_fd(), c"upper", mode)
        .map_err(|e| SandboxError::sys(format!("fchmodat(upper, {mode:o})"), e))?;
    Ok(Disk {
        fd,
        wd: wd.real.clone(),
        wd_id: wd.id,
        wd_fd,
    })
}

impl Disk {
    /// The tmpfs has no block or no inode left: the program hit the bound.
    pub fn full(&self) -> bool {
        matches!(sys::disk::free_space(&self.fd), Ok((b, i)) if b == 0 || i == 0)
    }

    /// Copies what the program wrote (regular files and directories of the
    /// upper layer) into the working directory with `caller`'s rights
    /// (None: safeexec's own, root). Returns a line for the report's
    /// warnings when something was not handed back.
    pub fn hand_back(&self, caller: Option<(u32, u32)>) -> Option<String> {
        let mut h = HandBack::default();
        let upper = match sys::disk::open_beneath(
            self.fd.as_raw_fd(),
            c"upper",
            libc::O_RDONLY | libc::O_DIRECTORY,
            0,
        ) {
            Ok(f) => f,
            Err(e) => return Some(format!("hand-back: cannot open the run's layer: {e}")),
        };
        let dst = match self.wd_fd.try_clone() {
            Ok(f) => f,
            Err(e) => {
                return Some(format!(
                    "hand-back: cannot use the descriptor of {}: {e}",
                    self.wd.display()
                ))
            }
        };
        h.copy_dir(upper, &dst, Path::new(""), caller, 0);
        log::debug!(
            "hand-back into {}: {} files, {} bytes, {} skipped",
            self.wd.display(),
            h.files,
            h.bytes,
            h.skipped.len()
        );
        (!h.skipped.is_empty()).then(|| {
            let mut list = h.skipped[..h.skipped.len().min(5)].join(", ");
            if h.skipped.len() > 5 {
                list.push_str(&format!(", and {} more", h.skipped.len() - 5));
            }
            format!(
                "hand-back into {}: {} files handed back; not handed back: {list}",
                self.wd.display(),
                h.files
            )
        })
    }
}

#[derive(Default)]
struct HandBack {
    files: u64,
    bytes: u64,
    skipped: Vec<String>,
}

impl HandBack {
    fn skip(&mut self, rel: &Path, why: impl std::fmt::Display) {
        self.skipped.push(format!("{} ({why})", rel.display()));
    }

    /// Copies the entries of `src` (a directory of the upper layer) into
    /// `dst` (the caller's, opened with its rights).
    fn copy_dir(
        &mut self,
        src: OwnedFd,
        dst: &OwnedFd,
        rel: &Path,
        caller: Option<(u32, u32)>,
        depth: usize,
    ) {
        let src_raw: RawFd = src.as_raw_fd();
        let names = match sys::disk::list_dir(&src, MAX_ENTRIES) {
            Ok(n) => n,
            Err(e) => return self.skip(rel, e),
        };
        for name in names {
            let here = rel.join(OsStr::from_bytes(name.as_bytes()));
            let (st_mode, rdev) = match sys::disk::stat_at(src_raw, &name) {
                Ok(s) => s,
                Err(e) => {
                    self.skip(&here, e);
                    continue;
                }
            };
            let mode = st_mode & 0o777;
            match st_mode & libc::S_IFMT {
                libc::S_IFREG => self.copy_file(src_raw, dst, &name, &here, mode, caller),
                libc::S_IFDIR if depth < MAX_DEPTH => {
                    let made = {
                        let _fs = sys::setuid::CallerFs::enter(caller);
                        sys::disk::mkdir_beneath(dst.as_raw_fd(), &name, mode | 0o700).and_then(
                            |_| {
                                sys::disk::open_beneath(
                                    dst.as_raw_fd(),
                                    &name,
                                    libc::O_PATH | libc::O_DIRECTORY,
                                    0,
                                )
                            },
                        )
                    };
                    let sub = sys::disk::open_beneath(
                        src_raw,
                        &name,
                        libc::O_RDONLY | libc::O_DIRECTORY,
                        0,
                    );
                    match (made, sub) {
                        (Ok(d), Ok(s)) => self.copy_dir(s, &d, &here, caller, depth + 1),
                        (Err(e), _) | (_, Err(e)) => self.skip(&here, e),
                    }
                }
                libc::S_IFDIR => self.skip(&here, "too deep"),
                // A whiteout: the program removed one of the caller's
                // files; the caller's file stays.
                libc::S_IFCHR if rdev == 0 => {}
                libc::S_IFLNK => self.skip(&here, "a symlink"),
                _ => self.skip(&here, "not a regular file or directory"),
            }
        }
    }

    fn copy_file(
        &mut self,
        src_dir: RawFd,
        dst: &OwnedFd,
        name: &CString,
        here: &Path,
        mode: u32,
        caller: Option<(u32, u32)>,
    ) {
        let src = match sys::disk::open_beneath(src_dir, name, libc::O_RDONLY, 0) {
            Ok(f) => std::fs::File::from(f),
            Err(e) => return self.skip(here, e),
        };
        let out = {
            let _fs = sys::setuid::CallerFs::enter(caller);
            sys::disk::open_beneath(
                dst.as_raw_fd(),
                name,
                libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC,
                mode | 0o600,
            )
        };
        let mut out = match out {
            Ok(f) => std::fs::File::from(f),
            Err(e) => return self.skip(here, e),
        };
        let mut src = src;
        match std::io::copy(&mut src, &mut out) {
            Ok(n) => {
                self.files += 1;
                self.bytes += n;
            }
            Err(e) => self.skip(here, e),
        }
    }
}
