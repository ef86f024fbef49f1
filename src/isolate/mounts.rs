//! The mount plan: the list of mount steps the child walks as root in its
//! new mount namespace, built (paths as CStrings) before fork.
//!
//! Jail layout: `/` is made private (nothing propagates to the host), a
//! tmpfs is mounted over /tmp and pivoted to (the old root stays reachable
//! at /oldroot, /tmp included, so binds may come from anywhere), the jail is
//! assembled in /newroot from binds, then pivoted to while the old root is
//! detached. The tmpfs lives only in the namespace: when the run's last
//! process ends it is gone, and nothing written outside the binds survives.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use super::Bind;

const MS_BIND: libc::c_ulong = libc::MS_BIND;
const MS_REC: libc::c_ulong = libc::MS_REC;
const NOSUID_NODEV: libc::c_ulong = libc::MS_NOSUID | libc::MS_NODEV;

/// One mount step.
#[derive(Debug)]
pub enum MountOp {
    Mkdir(CString),
    Touch(CString),
    Symlink {
        target: CString,
        path: CString,
    },
    Mount {
        src: Option<CString>,
        dst: CString,
        fstype: Option<CString>,
        flags: libc::c_ulong,
        data: Option<CString>,
    },
    PivotRoot {
        new_root: CString,
        put_old: CString,
    },
    Chdir(CString),
    Detach(CString),
    Hostname(CString),
    /// Open a directory as O_PATH and keep it at this descriptor number.
    KeepDir {
        path: CString,
        fd: i32,
    },
}

/// Descriptor numbers for directories kept across a private tmpfs mount.
pub const KEEP_FD_BASE: i32 = 900;

/// The steps, and a description of each for error messages.
#[derive(Debug, Default)]
pub struct MountPlan {
    pub ops: Vec<MountOp>,
    pub desc: Vec<String>,
}

/// What a jail is built from, after the profile was expanded.
#[derive(Debug, Default, Clone)]
pub struct JailSpec {
    pub binds: Vec<Bind>,
    pub tmpfs: Vec<PathBuf>,
    /// Top-level symlinks to recreate (e.g. /lib -> usr/lib).
    pub symlinks: Vec<(PathBuf, PathBuf)>,
    /// Mount a fresh /proc; hidepid=2 when the run has no PID namespace.
    pub hidepid: bool,
    /// Size of each tmpfs in `tmpfs`, KiB (the run's --mem; at least 64).
    pub tmpfs_kib: u64,
}

fn cs(p: &Path) -> Result<CString, String> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| format!("{}: path contains a NUL byte", p.display()))
}

/// `root` + absolute `p` (`..` components are refused by the parser).
fn under(root: &str, p: &Path) -> PathBuf {
    let mut out = PathBuf::from(root);
    for c in p.components() {
        if let Component::Normal(n) = c {
            out.push(n);
        }
    }
    out
}

/// The lockable flags (read-only, nosuid, nodev, noexec) of the mount that
/// holds `path`, as mount(2) flags; none when it cannot be read.
fn source_flags(path: &Path) -> libc::c_ulong {
    use nix::sys::statvfs::{statvfs, FsFlags};
    let Ok(st) = statvfs(path) else {
        return 0;
    };
    let f = st.flags();
    let mut out = 0;
    for (st_flag, ms_flag) in [
        (FsFlags::ST_RDONLY, libc::MS_RDONLY),
        (FsFlags::ST_NOSUID, libc::MS_NOSUID),
        (FsFlags::ST_NODEV, libc::MS_NODEV),
        (FsFlags::ST_NOEXEC, libc::MS_NOEXEC),
    ] {
        if f.contains(st_flag) {
            out |= ms_flag;
        }
    }
    out
}

impl MountPlan {
    fn push(&mut self, op: MountOp, desc: String) {
        self.ops.push(op);
        self.desc.push(desc);
    }

    fn mount(
        &mut self,
        src: Option<&Path>,
        dst: &Path,
        fstype: Option<&str>,
        flags: libc::c_ulong,
        data: Option<&str>,
    ) -> Result<(), String> {
        let desc = format!(
            "mount({}, {}, {}, {:#x}, {})",
            src.map(|s| s.display().to_string())
                .unwrap_or("NULL".into()),
            dst.display(),
            fstype.unwrap_or("NULL"),
            flags,
            data.unwrap_or("NULL")
        );
        let c = |s: &str| CString::new(s).map_err(|_| "NUL byte".to_string());
        self.push(
            MountOp::Mount {
                src: src.map(cs).transpose()?,
                dst: cs(dst)?,
                fstype: fstype.map(c).transpose()?,
                flags,
                data: data.map(c).transpose()?,
            },
            desc,
        );
        Ok(())
    }

    fn mkdir_p(&mut self, root: &str, p: &Path) -> Result<(), String> {
        let mut cur = PathBuf::from(root);
        for c in p.components() {
            if let Component::Normal(n) = c {
                cur.push(n);
                self.push(
                    MountOp::Mkdir(cs(&cur)?),
                    format!("mkdir({})", cur.display()),
                );
            }
        }
        Ok(())
    }

    /// A mount namespace without a jail: / private, a private tmpfs on
    /// each of `private` (/tmp, /var/tmp, /dev/shm), a fresh /proc.
    ///
    /// The tmpfs mounts end with the run, so nothing it writes there
    /// survives it (a later run may get the same uid). Directories of the
    /// run under them (`keep`: its working directory, its program's) are
    /// opened first and bound back at their place on the new tmpfs.
    pub fn proc_only(
        hidepid: bool,
        private: &[PathBuf],
        size_kib: u64,
        keep: &[PathBuf],
    ) -> Result<MountPlan, String> {
        let mut m = MountPlan::default();
        m.mount(None, Path::new("/"), None, MS_REC | libc::MS_PRIVATE, None)?;
        for (i, k) in keep.iter().enumerate() {
            m.push(
                MountOp::KeepDir {
                    path: cs(k)?,
                    fd: KEEP_FD_BASE + i as i32,
                },
                // Both calls, so an EBADF from dup3 (the caller's
                // RLIMIT_NOFILE at or below the fd) is not blamed on open.
                format!(
                    "open({}, O_PATH) and dup3 to fd {}",
                    k.display(),
                    KEEP_FD_BASE + i as i32
                ),
            );
        }
        let data = format!("mode=1777,size={}k,nr_inodes=16384", size_kib.max(64));
        for t in private {
            m.mount(
                Some(Path::new("tmpfs")),
                t,
                Some("tmpfs"),
                NOSUID_NODEV,
                Some(&data),
            )?;
        }
        for (i, k) in keep.iter().enumerate() {
            m.mkdir_p("/", k)?;
            let src = PathBuf::from(format!("/proc/self/fd/{}", KEEP_FD_BASE + i as i32));
            m.mount(Some(&src), k, None, libc::MS_BIND | MS_REC, None)?;
        }
        m.mount(
            Some(Path::new("proc")),
            Path::new("/proc"),
            Some("proc"),
            NOSUID_NODEV | libc::MS_NOEXEC,
            hidepid.then_some("hidepid=2"),
        )?;
        Ok(m)
    }

    /// The whole jail. Sources are checked by the caller (they exist).
    ///
    /// `keep_source_flags` (rootless mode): in a user namespace the kernel
    /// locks the read-only, nosuid, nodev and noexec flags of mounts that
    /// came from the host, and a bind remount that would clear one fails
    /// with EPERM; each bind then keeps its source mount's flags on top of
    /// its own.
    pub fn jail(spec: &JailSpec, keep_source_flags: bool) -> Result<MountPlan, String> {
        let mut m = MountPlan::default();
        // Nothing mounted below may propagate to the host.
        m.mount(None, Path::new("/"), None, MS_REC | libc::MS_PRIVATE, None)?;
        // The scaffolding tmpfs; the old root stays reachable at /oldroot.
        m.mount(
            Some(Path::new("tmpfs")),
            Path::new("/tmp"),
            Some("tmpfs"),
            NOSUID_NODEV,
            Some("mode=0755,size=1m"),
        )?;
        m.mkdir_p("/tmp", Path::new("/oldroot"))?;
        m.push(
            MountOp::PivotRoot {
                new_root: cs(Path::new("/tmp"))?,
                put_old: cs(Path::new("/tmp/oldroot"))?,
            },
            "pivot_root(/tmp, /tmp/oldroot)".into(),
        );
        m.push(MountOp::Chdir(cs(Path::new("/"))?), "chdir(/)".into());
        // The jail's root: a tmpfs of its own, so it can be made read-only.
        m.mkdir_p("/", Path::new("/newroot"))?;
        m.mount(
            Some(Path::new("tmpfs")),
            Path::new("/newroot"),
            Some("tmpfs"),
            NOSUID_NODEV,
            Some("mode=0755,size=1m"),
        )?;
        for (path, target) in &spec.symlinks {
            let p = under("/newroot", path);
            if let Some(parent) = path.parent() {
                m.mkdir_p("/newroot", parent)?;
            }
            m.push(
                MountOp::Symlink {
                    target: cs(target)?,
                    path: cs(&p)?,
                },
                format!("symlink({} -> {})", p.display(), target.display()),
            );
        }
        let devices = ["null", "zero", "full", "random", "urandom"].map(|d| Bind {
            src: PathBuf::from("/dev").join(d),
            dst: PathBuf::from("/dev").join(d),
            writable: true,
        });
        for b in spec.binds.iter().chain(devices.iter()) {
            let dst = under("/newroot", &b.dst);
            let src = under("/oldroot", &b.src);
            let is_dir = std::fs::metadata(&b.src)
                .map(|md| md.is_dir())
                .unwrap_or(false);
            if is_dir {
                m.mkdir_p("/newroot", &b.dst)?;
            } else {
                if let Some(parent) = b.dst.parent() {
                    m.mkdir_p("/newroot", parent)?;
                }
                m.push(
                    MountOp::Touch(cs(&dst)?),
                    format!("create {}", dst.display()),
                );
            }
            m.mount(Some(&src), &dst, None, MS_BIND | MS_REC, None)?;
            let mut flags = MS_BIND | libc::MS_REMOUNT | libc::MS_NOSUID;
            if keep_source_flags {
                flags |= source_flags(&b.src);
            }
            if !b.writable {
                flags |= libc::MS_RDONLY | libc::MS_NODEV;
            } else if b.src.starts_with("/dev") {
                flags |= libc::MS_NOEXEC;
            } else {
                flags |= libc::MS_NODEV;
            }
            m.mount(None, &dst, None, flags, None)?;
        }
        let data = format!("mode=1777,size={}k,nr_inodes=16384", spec.tmpfs_kib.max(64));
        for t in &spec.tmpfs {
            m.mkdir_p("/newroot", t)?;
            m.mount(
                Some(Path::new("tmpfs")),
                &under("/newroot", t),
                Some("tmpfs"),
                NOSUID_NODEV,
                Some(&data),
            )?;
        }
        m.mkdir_p("/newroot", Path::new("/proc"))?;
        m.mount(
            Some(Path::new("proc")),
            Path::new("/newroot/proc"),
            Some("proc"),
            NOSUID_NODEV | libc::MS_NOEXEC,
            spec.hidepid.then_some("hidepid=2"),
        )?;
        // Everything not bound is read-only.
        m.mount(
            None,
            Path::new("/newroot"),
            None,
            libc::MS_REMOUNT | libc::MS_RDONLY | NOSUID_NODEV,
            None,
        )?;
        // Enter the jail; the scaffolding with the old root goes away.
        m.push(
            MountOp::Chdir(cs(Path::new("/newroot"))?),
            "chdir(/newroot)".into(),
        );
        m.push(
            MountOp::PivotRoot {
                new_root: cs(Path::new("."))?,
                put_old: cs(Path::new("."))?,
            },
            "pivot_root(., .)".into(),
        );
        m.push(
            MountOp::Detach(cs(Path::new("."))?),
            "umount2(old root, MNT_DETACH)".into(),
        );
        m.push(MountOp::Chdir(cs(Path::new("/"))?), "chdir(/)".into());
        Ok(m)
    }
}
