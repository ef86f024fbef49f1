//! Paths as the tracee sees them (paranoid mode): relative to its cwd or a
//! directory fd, inside its root, symlinks followed as the kernel would, and
//! /proc/self spelled as such so policies can name it.
//!
//! No state is kept between calls: the working directory is the calling
//! thread's own, read from /proc at each relative path; symlinks are read
//! through /proc/TID/root (the tracee's root and mount namespace, not the
//! supervisor's); the tracee's own magic links (/proc/self/fd/N, cwd, root,
//! exe) are followed to what they point at, as the kernel does, and a
//! magic link that is not a path (a pipe, a socket) refuses any path below.
//!
//! This is a check on what the tracee asked for; another thread can change
//! the string or a symlink after the check (docs/security.md). What must
//! hold is also enforced by the kernel: Landlock on the path rules, the
//! uid, permissions, chroot.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use nix::unistd::Pid;

/// Where a magic link leads.
enum Magic {
    Path(PathBuf),
    Object,
}

/// A tracee's view of the filesystem.
pub struct View {
    /// Its root as the supervisor sees it ("/" or the chroot directory).
    pub root: PathBuf,
    pub tgid: Pid,
    pub tid: Pid,
    /// Its working directory (tracee view), when the caller knows it.
    pub cwd: Option<PathBuf>,
}

impl View {
    pub fn of(tgid: Pid, tid: Pid) -> View {
        View {
            root: Self::root_of(tid),
            tgid,
            tid,
            cwd: None,
        }
    }

    /// The root of a process as the supervisor sees it.
    pub fn root_of(tid: Pid) -> PathBuf {
        std::fs::read_link(format!("/proc/{tid}/root")).unwrap_or_else(|_| "/".into())
    }

    /// Its working directory, from /proc (tracee view).
    pub fn read_cwd(&self) -> Option<PathBuf> {
        std::fs::read_link(format!("/proc/{}/cwd", self.tid))
            .ok()
            .map(|p| self.inside(&p))
    }

    /// A path the supervisor can use for a tracee path: through the
    /// tracee's /proc/TID/root, so the lookup happens in its root and
    /// mount namespace (a jail's mounts, its private /tmp).
    fn host(&self, p: &Path) -> PathBuf {
        PathBuf::from(format!("/proc/{}/root", self.tid)).join(p.strip_prefix("/").unwrap_or(p))
    }

    /// Tracee path of a host path (strips the root).
    fn inside(&self, host: &Path) -> PathBuf {
        if self.root == Path::new("/") {
            return host.to_path_buf();
        }
        match host.strip_prefix(&self.root) {
            Ok(rest) => Path::new("/").join(rest),
            Err(_) => host.to_path_buf(),
        }
    }

    /// The directory a relative path starts from: cwd, or the directory fd.
    pub fn base(&self, dirfd: Option<i64>) -> Option<PathBuf> {
        let link = match dirfd {
            None | Some(-100) => match &self.cwd {
                Some(c) => return Some(c.clone()),
                None => format!("/proc/{}/cwd", self.tid),
            },
            Some(fd) if fd >= 0 => format!("/proc/{}/fd/{fd}", self.tid),
            Some(_) => return None,
        };
        std::fs::read_link(link).ok().map(|p| self.inside(&p))
    }

    /// Resolves `raw` (the bytes the tracee passed) to an absolute path in
    /// the tracee's view. `follow_last`: whether a final symlink is followed.
    pub fn resolve(&self, raw: &[u8], dirfd: Option<i64>, follow_last: bool) -> Option<PathBuf> {
        let raw = Path::new(OsStr::from_bytes(raw));
        let start = if raw.is_absolute() {
            PathBuf::from("/")
        } else {
            self.base(dirfd)?
        };
        let mut pending: Vec<PathBuf> = vec![raw.to_path_buf()];
        let mut out = start;
        let mut hops = 0;
        while let Some(p) = pending.pop() {
            let comps: Vec<Component> = p.components().collect();
            for (i, c) in comps.iter().enumerate() {
                match c {
                    Component::RootDir => out = PathBuf::from("/"),
                    Component::CurDir | Component::Prefix(_) => {}
                    Component::ParentDir => {
                        out.pop();
                    }
                    Component::Normal(name) => {
                        out.push(name);
                        let last = i + 1 == comps.len() && pending.is_empty();
                        if last && !follow_last {
                            continue;
                        }
                        let target = if self.is_magic(&out) {
                            match self.magic_target(&out) {
                                Magic::Path(t) => Some(t),
                                // Opened by its own name (a pipe, a socket):
                                // nothing can be below it.
                                Magic::Object if last => None,
                                Magic::Object => return None,
                            }
                        } else {
                            self.symlink(&out)
                        };
                        if let Some(target) = target {
                            hops += 1;
                            if hops > 40 {
                                return None;
                            }
                            out.pop();
                            let rest: PathBuf = comps[i + 1..].iter().collect();
                            if !rest.as_os_str().is_empty() {
                                pending.push(rest);
                            }
                            pending.push(target);
                            break;
                        }
                    }
                }
            }
        }
        Some(self.spell_self(out))
    }

    /// readlink in the tracee's view; /proc/self and /proc/thread-self are
    /// the tracee's, not the supervisor's.
    fn symlink(&self, p: &Path) -> Option<PathBuf> {
        if p == Path::new("/proc/self") {
            return Some(PathBuf::from(format!("/proc/{}", self.tgid)));
        }
        if p == Path::new("/proc/thread-self") {
            return Some(PathBuf::from(format!(
                "/proc/{}/task/{}",
                self.tgid, self.tid
            )));
        }
        // The tracee's own /proc entries are named by host pid here: read
        // them in the supervisor's /proc (in a PID namespace the tracee's
        // /proc knows other numbers).
        if p.starts_with(format!("/proc/{}", self.tgid)) {
            return std::fs::read_link(p).ok();
        }
        std::fs::read_link(self.host(p)).ok()
    }

    /// What one of the tracee's own magic links points at: a path in its
    /// view (followed like a symlink, from its root), or an object without
    /// a path. Another process's entries are not followed (they are refused
    /// by [`foreign_proc_secret`]).
    fn magic_target(&self, p: &Path) -> Magic {
        let own = [self.tgid, self.tid]
            .iter()
            .any(|pid| p.starts_with(format!("/proc/{pid}")));
        if !own {
            return Magic::Object;
        }
        // /proc/<host pid>/... of the tracee, read in the supervisor's /proc.
        match std::fs::read_link(p) {
            Ok(t) if t.is_absolute() && !t.to_string_lossy().ends_with(" (deleted)") => {
                Magic::Path(self.inside(&t))
            }
            _ => Magic::Object,
        }
    }

    /// The magic links of /proc/PID (fd/N, cwd, root, exe, map_files/...).
    fn is_magic(&self, p: &Path) -> bool {
        let mut c = p.components().skip(1);
        let (Some(proc_), Some(pid)) = (c.next(), c.next()) else {
            return false;
        };
        if proc_.as_os_str() != "proc" || !pid.as_os_str().as_bytes().iter().all(u8::is_ascii_digit)
        {
            return false;
        }
        let mut rest: Vec<_> = c.map(|x| x.as_os_str().to_owned()).collect();
        if rest.first().is_some_and(|x| x == "task") && rest.len() >= 2 {
            rest.drain(..2);
        }
        match rest.first().and_then(|x| x.to_str()) {
            Some("cwd" | "root" | "exe") => rest.len() == 1,
            Some("fd" | "map_files") => rest.len() == 2,
            _ => false,
        }
    }

    /// /proc/<tgid>/... of the tracee itself is written /proc/self/...
    fn spell_self(&self, p: PathBuf) -> PathBuf {
        let own = PathBuf::from(format!("/proc/{}", self.tgid));
        match p.strip_prefix(&own) {
            Ok(rest) => Path::new("/proc/self").join(rest),
            Err(_) => p,
        }
    }
}

/// Whether `p` is a /proc entry of another process that exposes its memory,
/// files or root (ANCHORS 8). Such opens are refused whatever the policy.
pub fn foreign_proc_secret(p: &Path) -> bool {
    let mut c = p.components().skip(1);
    let (Some(proc_), Some(pid)) = (c.next(), c.next()) else {
        return false;
    };
    if proc_.as_os_str() != "proc" {
        return false;
    }
    let pid = pid.as_os_str().as_bytes();
    if pid.is_empty() || !pid.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let rest: Vec<_> = c.collect();
    let first = rest
        .first()
        .map(|x| x.as_os_str().as_bytes())
        .unwrap_or(b"");
    matches!(
        first,
        b"mem"
            | b"root"
            | b"cwd"
            | b"fd"
            | b"map_files"
            | b"environ"
            | b"exe"
            | b"task"
            | b"pagemap"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foreign_proc_entries_are_secret() {
        assert!(foreign_proc_secret(Path::new("/proc/1/mem")));
        assert!(foreign_proc_secret(Path::new("/proc/1/fd/3")));
        assert!(foreign_proc_secret(Path::new("/proc/42/root")));
        assert!(!foreign_proc_secret(Path::new("/proc/self/mem")));
        assert!(!foreign_proc_secret(Path::new("/proc/1/stat")));
        assert!(!foreign_proc_secret(Path::new("/etc/passwd")));
    }

    #[test]
    fn resolves_relative_and_dotdot_and_self() {
        let me = Pid::this();
        let v = View::of(me, me);
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(v.resolve(b"a/../b", None, true).unwrap(), cwd.join("b"));
        assert_eq!(
            v.resolve(b"/proc/self/status", None, true).unwrap(),
            Path::new("/proc/self/status")
        );
        assert_eq!(
            v.resolve(b"/proc/self/fd/0", None, false).unwrap(),
            Path::new("/proc/self/fd/0")
        );
        assert_eq!(
            v.resolve(b"/../../etc/./passwd", None, true).unwrap(),
            Path::new("/etc/passwd")
        );
    }

    #[test]
    fn magic_links_are_followed_like_the_kernel() {
        use std::os::fd::AsRawFd;
        let me = Pid::this();
        let v = View::of(me, me);
        let d = tempfile::tempdir().unwrap();
        let sub = d.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        let f = std::fs::File::open(&sub).unwrap();
        let n = f.as_raw_fd();
        let want = d.path().join("secret");
        for p in [
            format!("/proc/self/fd/{n}/../secret"),
            format!("/dev/fd/{n}/../secret"),
            format!("/proc/thread-self/fd/{n}/../secret"),
        ] {
            assert_eq!(v.resolve(p.as_bytes(), None, true).unwrap(), want, "{p}");
        }
        let root = format!("/proc/self/root{}", want.display());
        assert_eq!(v.resolve(root.as_bytes(), None, true).unwrap(), want);
        // A pipe: nothing below it resolves.
        let (r, _w) = nix::unistd::pipe().unwrap();
        let p = format!("/proc/self/fd/{}/x", r.as_raw_fd());
        assert!(v.resolve(p.as_bytes(), None, true).is_none());
    }
}
