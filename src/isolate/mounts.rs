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
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use super::Bind;
use crate::sys::fdops;

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
    /// Attach a detached mount (`tree`, made before the fork from a
    /// descriptor: `sys::fdops::clone_tree` or a new tmpfs) at
    /// `root` + `parts`, the destination opened one component at a time
    /// from `root` without following any symlink (RESOLVE_IN_ROOT |
    /// RESOLVE_NO_SYMLINKS), missing directories (and a last file, unless
    /// `dir`) created on the way.
    Attach {
        tree: i32,
        root: CString,
        parts: Vec<CString>,
        dir: bool,
    },
    /// Open a file or directory as O_PATH without following any symlink
    /// (the path is canonical) and keep it at this descriptor number; with
    /// `id`, it must be that object (st_dev, st_ino), else ESTALE.
    KeepPath {
        path: CString,
        fd: i32,
        id: Option<(u64, u64)>,
    },
    /// Attach the detached mount at descriptor `fd` (made by the
    /// supervisor before fork) at `dst`.
    MoveMount {
        fd: i32,
        dst: CString,
    },
}

/// The bounded working directory of a run: an overlay on the working
/// directory whose upper layer is the detached tmpfs at descriptor `fd`
/// (holding `upper/` and `work/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskLayer {
    pub fd: i32,
    /// The working directory (canonical).
    pub wd: PathBuf,
    /// (st_dev, st_ino) of the working directory opened before the fork:
    /// the lower layer must be that directory.
    pub id: (u64, u64),
}

/// A host path a run keeps visible, at the same place, over its private
/// tmpfs mounts (src/isolate/plan.rs decides which).
#[derive(Debug)]
pub struct Keep {
    /// Canonical host path.
    pub path: PathBuf,
    /// A directory (else a file: bound onto an empty file).
    pub dir: bool,
    /// Bound with the host's permissions (the working directory); else
    /// read-only.
    pub writable: bool,
    /// The path opened once before the fork (root or a setuid caller):
    /// mounted from this descriptor, never from the path again. None in
    /// rootless mode (reopened by path, without symlinks, in the namespace).
    pub fd: Option<OwnedFd>,
}

/// Descriptor numbers for directories kept across a private tmpfs mount.
pub const KEEP_FD_BASE: i32 = 900;
/// The working directory as the lower layer of the bounded working directory.
pub const DISK_LOWER_FD: i32 = 899;

/// The steps, and a description of each for error messages.
#[derive(Debug, Default)]
pub struct MountPlan {
    pub ops: Vec<MountOp>,
    pub desc: Vec<String>,
    /// The detached mounts the `Attach` steps use, open until the run ends.
    pub trees: Vec<OwnedFd>,
}

/// A bind whose source was opened once, before the fork (a path the caller
/// named: `--bind`, the working directory, the program): mounted from the
/// descriptor, never from the path again. `bind.src` is the descriptor's
/// canonical path, for messages.
#[derive(Debug)]
pub struct HeldBind {
    pub bind: Bind,
    pub fd: OwnedFd,
    pub is_dir: bool,
}

/// What a jail is built from, after the profile was expanded.
#[derive(Debug, Default)]
pub struct JailSpec {
    pub binds: Vec<Bind>,
    pub tmpfs: Vec<PathBuf>,
    /// Top-level symlinks to recreate (e.g. /lib -> usr/lib).
    pub symlinks: Vec<(PathBuf, PathBuf)>,
    /// Mount a fresh /proc; hidepid=2 when the run has no PID namespace.
    pub hidepid: bool,
    /// Binds from descriptors opened before the fork.
    pub held: Vec<HeldBind>,
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

    /// An `Attach` step for `tree` at `root` + `dst`; the tree is kept.
    fn attach(
        &mut self,
        tree: OwnedFd,
        root: &str,
        dst: &Path,
        dir: bool,
        what: String,
    ) -> Result<(), String> {
        let parts = dst
            .components()
            .filter_map(|c| match c {
                Component::Normal(n) => Some(cs(Path::new(n))),
                _ => None,
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.push(
            MountOp::Attach {
                tree: tree.as_raw_fd(),
                root: cs(Path::new(root))?,
                parts,
                dir,
            },
            format!(
                "{what} on {} (opened from the jail's root, no symlink followed)",
                dst.display()
            ),
        );
        self.trees.push(tree);
        Ok(())
    }

    /// The overlay of the bounded working directory: the directory as it
    /// is now is kept as the lower layer (descriptor [`DISK_LOWER_FD`],
    /// checked to be the directory opened before the fork), the run's tmpfs
    /// is attached over it, and the overlay over that.
    fn disk_layer(&mut self, d: &DiskLayer) -> Result<(), String> {
        let data = |p: &str| -> Result<(), String> {
            if p.contains([',', ':', '\\']) {
                return Err(format!(
                    "{p}: the bounded working directory needs a path without a comma, colon or backslash (use --disk 0)"
                ));
            }
            Ok(())
        };
        data(&d.wd.display().to_string())?;
        self.push(
            MountOp::KeepPath {
                path: cs(&d.wd)?,
                fd: DISK_LOWER_FD,
                id: Some(d.id),
            },
            format!(
                "open({}, O_PATH, RESOLVE_NO_SYMLINKS) as the directory checked before",
                d.wd.display()
            ),
        );
        self.push(
            MountOp::MoveMount {
                fd: d.fd,
                dst: cs(&d.wd)?,
            },
            format!("move_mount(run's tmpfs, {})", d.wd.display()),
        );
        let opts = format!(
            "lowerdir=/proc/self/fd/{DISK_LOWER_FD},upperdir=/proc/self/fd/{fd}/upper,workdir=/proc/self/fd/{fd}/work",
            fd = d.fd
        );
        self.mount(
            Some(Path::new("overlay")),
            &d.wd,
            Some("overlay"),
            NOSUID_NODEV,
            Some(&opts),
        )
    }

    /// A scratch tmpfs at `t` in the jail being built, of `kib` KiB, by path
    /// (rootless).
    fn jail_tmpfs(&mut self, t: &Path, kib: u64) -> Result<(), String> {
        let data = format!("mode=1777,size={}k,nr_inodes=16384", kib.max(64));
        self.mkdir_p("/newroot", t)?;
        self.mount(
            Some(Path::new("tmpfs")),
            &under("/newroot", t),
            Some("tmpfs"),
            NOSUID_NODEV,
            Some(&data),
        )
    }

    /// A scratch tmpfs at `t` in the jail being built, of `kib` KiB, made
    /// before the fork and attached without following symlinks.
    fn jail_tmpfs_tree(&mut self, t: &Path, kib: u64) -> Result<(), String> {
        let data = format!("mode=1777,size={}k,nr_inodes=16384", kib.max(64));
        let tree = fdops::new_tmpfs(&data, fdops::MOUNT_ATTR_NOSUID | fdops::MOUNT_ATTR_NODEV)
            .map_err(|e| format!("fsmount(tmpfs for {}): {e}", t.display()))?;
        self.attach(tree, "/newroot", t, true, "tmpfs".into())
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
    /// survives it (a later run may get the same uid). Paths of the run
    /// under them (`keep`: its working directory, what its command line
    /// names) are bound back at their place on the new tmpfs, outermost
    /// first; all but the writable ones read-only. Root and setuid callers
    /// (`trees`): each from the descriptor opened before the fork (a
    /// detached copy of its mount tree, attached without following
    /// symlinks). Rootless (no privilege to clone a mount tree from the
    /// host): reopened by path in the namespace, with the caller's own
    /// rights and no symlink followed, each bind keeping its source mount's
    /// locked flags. `disk`: the working directory gets an overlay whose
    /// upper layer is the run's bounded tmpfs, last (over what was kept).
    pub fn proc_only(
        hidepid: bool,
        private: &[PathBuf],
        size_kib: u64,
        keep: Vec<Keep>,
        trees: bool,
        disk: Option<&DiskLayer>,
    ) -> Result<MountPlan, String> {
        let mut m = MountPlan::default();
        m.mount(None, Path::new("/"), None, MS_REC | libc::MS_PRIVATE, None)?;
        let mut kept: Vec<(Keep, Option<OwnedFd>)> = Vec::new();
        for (i, mut k) in keep.into_iter().enumerate() {
            match (trees, k.fd.take()) {
                (true, Some(fd)) => {
                    let attrs = if k.writable {
                        0
                    } else {
                        fdops::MOUNT_ATTR_RDONLY
                            | fdops::MOUNT_ATTR_NOSUID
                            | fdops::MOUNT_ATTR_NODEV
                    };
                    let t = fdops::clone_tree(&fd, attrs)
                        .map_err(|e| format!("open_tree({}): {e}", k.path.display()))?;
                    kept.push((k, Some(t)));
                }
                (true, None) => {
                    return Err(format!("{}: not opened before the fork", k.path.display()))
                }
                (false, _) => {
                    m.push(
                        MountOp::KeepPath {
                            path: cs(&k.path)?,
                            fd: KEEP_FD_BASE + i as i32,
                            id: None,
                        },
                        // Both calls, so an EBADF from dup3 (the caller's
                        // RLIMIT_NOFILE at or below the fd) is not blamed on open.
                        format!(
                            "open({}, O_PATH, RESOLVE_NO_SYMLINKS) and dup3 to fd {}",
                            k.path.display(),
                            KEEP_FD_BASE + i as i32
                        ),
                    );
                    kept.push((k, None));
                }
            }
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
        let paths: Vec<(PathBuf, bool)> =
            kept.iter().map(|(k, _)| (k.path.clone(), k.dir)).collect();
        for (i, (k, tree)) in kept.into_iter().enumerate() {
            if let Some(t) = tree {
                m.attach(
                    t,
                    "/",
                    &k.path,
                    k.dir,
                    format!("bind of {} (kept)", k.path.display()),
                )?;
                continue;
            }
            // Below a path bound already (a writable working directory in a
            // named, read-only directory), the mount point exists.
            let nested = paths[..i]
                .iter()
                .any(|(o, dir)| *dir && k.path.starts_with(o));
            if nested {
            } else if k.dir {
                m.mkdir_p("/", &k.path)?;
            } else {
                if let Some(parent) = k.path.parent() {
                    m.mkdir_p("/", parent)?;
                }
                m.push(
                    MountOp::Touch(cs(&k.path)?),
                    format!("create {}", k.path.display()),
                );
            }
            let src = PathBuf::from(format!("/proc/self/fd/{}", KEEP_FD_BASE + i as i32));
            // A private directory itself (/tmp named on the command line)
            // is bound alone: recursively, the private tmpfs mounted on it
            // would come along on top.
            let rec = if private.contains(&k.path) { 0 } else { MS_REC };
            m.mount(Some(&src), &k.path, None, libc::MS_BIND | rec, None)?;
            if !k.writable {
                let flags = MS_BIND
                    | libc::MS_REMOUNT
                    | libc::MS_RDONLY
                    | NOSUID_NODEV
                    | source_flags(&k.path);
                m.mount(None, &k.path, None, flags, None)?;
            }
        }
        if let Some(d) = disk {
            m.disk_layer(d)?;
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
        // /proc first, while /newroot holds only what root made.
        m.mkdir_p("/newroot", Path::new("/proc"))?;
        m.mount(
            Some(Path::new("proc")),
            Path::new("/newroot/proc"),
            Some("proc"),
            NOSUID_NODEV | libc::MS_NOEXEC,
            spec.hidepid.then_some("hidepid=2"),
        )?;
        let devices = ["null", "zero", "full", "random", "urandom"].map(|d| Bind {
            src: PathBuf::from("/dev").join(d),
            dst: PathBuf::from("/dev").join(d),
            writable: true,
        });
        let attrs = |b: &Bind| {
            let mut a = fdops::MOUNT_ATTR_NOSUID;
            if !b.writable {
                a |= fdops::MOUNT_ATTR_RDONLY | fdops::MOUNT_ATTR_NODEV;
            } else if b.src.starts_with("/dev") {
                a |= fdops::MOUNT_ATTR_NOEXEC;
            } else {
                a |= fdops::MOUNT_ATTR_NODEV;
            }
            a
        };
        // A tmpfs with a bind below it (a program or a named path under
        // /tmp) is mounted first, so it does not hide the bind.
        let (early, late): (Vec<&PathBuf>, Vec<&PathBuf>) = spec.tmpfs.iter().partition(|t| {
            spec.binds.iter().any(|b| b.dst.starts_with(t))
                || spec.held.iter().any(|h| h.bind.dst.starts_with(t))
        });
        if !keep_source_flags {
            for t in &early {
                m.jail_tmpfs_tree(t, spec.tmpfs_kib)?;
            }
            // Root or a setuid caller: every bind is a detached copy of the
            // mount tree at a descriptor (root's own system paths opened
            // now; the caller's paths opened once, before), made private
            // with its flags set, and attached on a destination opened
            // from /newroot without following symlinks.
            for b in spec.binds.iter().chain(devices.iter()) {
                let src = fdops::open_system_path(&cs(&b.src)?)
                    .map_err(|e| format!("open({}): {e}", b.src.display()))?;
                let is_dir = std::fs::File::from(src.try_clone().map_err(|e| e.to_string())?)
                    .metadata()
                    .map(|md| md.is_dir())
                    .unwrap_or(false);
                let tree = fdops::clone_tree(&src, attrs(b))
                    .map_err(|e| format!("open_tree({}): {e}", b.src.display()))?;
                m.attach(
                    tree,
                    "/newroot",
                    &b.dst,
                    is_dir,
                    format!("bind of {}", b.src.display()),
                )?;
            }
            for h in &spec.held {
                let tree = fdops::clone_tree(&h.fd, attrs(&h.bind))
                    .map_err(|e| format!("open_tree({}): {e}", h.bind.src.display()))?;
                m.attach(
                    tree,
                    "/newroot",
                    &h.bind.dst,
                    h.is_dir,
                    format!("bind of {}", h.bind.src.display()),
                )?;
            }
            for t in &late {
                m.jail_tmpfs_tree(t, spec.tmpfs_kib)?;
            }
        } else {
            for t in &early {
                m.jail_tmpfs(t, spec.tmpfs_kib)?;
            }
            let held = spec.held.iter().map(|h| (&h.bind, Some(h.is_dir)));
            let all = spec
                .binds
                .iter()
                .chain(devices.iter())
                .map(|b| (b, None))
                .chain(held);
            for (b, is_dir) in all {
                let dst = under("/newroot", &b.dst);
                let src = under("/oldroot", &b.src);
                let is_dir = is_dir.unwrap_or_else(|| {
                    std::fs::metadata(&b.src)
                        .map(|md| md.is_dir())
                        .unwrap_or(false)
                });
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
                flags |= source_flags(&b.src);
                if !b.writable {
                    flags |= libc::MS_RDONLY | libc::MS_NODEV;
                } else if b.src.starts_with("/dev") {
                    flags |= libc::MS_NOEXEC;
                } else {
                    flags |= libc::MS_NODEV;
                }
                m.mount(None, &dst, None, flags, None)?;
            }
            for t in &late {
                m.jail_tmpfs(t, spec.tmpfs_kib)?;
            }
        }
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
