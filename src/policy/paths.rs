//! Which system calls take paths, and matching paths against path rules.

use std::ffi::OsStr;
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path};

use syscalls::Sysno;

/// The kind of access a path argument is used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathOp {
    Read,
    Write,
    Exec,
    Stat,
}

impl PathOp {
    pub const ALL: [PathOp; 4] = [PathOp::Read, PathOp::Write, PathOp::Exec, PathOp::Stat];
    pub fn as_str(self) -> &'static str {
        match self {
            PathOp::Read => "read",
            PathOp::Write => "write",
            PathOp::Exec => "exec",
            PathOp::Stat => "stat",
        }
    }
    pub fn parse(s: &str) -> Option<PathOp> {
        match s {
            "read" => Some(PathOp::Read),
            "write" => Some(PathOp::Write),
            "exec" => Some(PathOp::Exec),
            "stat" => Some(PathOp::Stat),
            _ => None,
        }
    }
}

impl fmt::Display for PathOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the op of a path argument is found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathOpSpec {
    /// Always this op.
    Fixed(PathOp),
    /// From the `O_*` flags in this argument (see [`open_flags_op`]).
    FromOpenFlags { flags_arg: usize },
    /// openat2: from the `flags` field (the first u64) of the `struct
    /// open_how` this argument points to; the supervisor reads it.
    FromOpenHow { how_arg: usize },
}

/// One path argument of a system call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PathArg {
    /// Index of the argument holding the `const char *` path.
    pub path_arg: usize,
    /// Index of the directory fd argument the path is relative to (`*at`).
    pub dirfd_arg: Option<usize>,
    pub op: PathOpSpec,
}

impl PathArg {
    /// The op, given the call's arguments; `None` for `FromOpenHow` (the
    /// flags are in tracee memory: use [`open_flags_op`] on them).
    pub fn op_for(&self, args: &[u64; 6]) -> Option<PathOp> {
        match self.op {
            PathOpSpec::Fixed(op) => Some(op),
            PathOpSpec::FromOpenFlags { flags_arg } => {
                args.get(flags_arg).map(|f| open_flags_op(*f))
            }
            PathOpSpec::FromOpenHow { .. } => None,
        }
    }
    /// Every op this argument can have.
    pub fn possible_ops(&self) -> &'static [PathOp] {
        match self.op {
            PathOpSpec::Fixed(PathOp::Read) => &[PathOp::Read],
            PathOpSpec::Fixed(PathOp::Write) => &[PathOp::Write],
            PathOpSpec::Fixed(PathOp::Exec) => &[PathOp::Exec],
            PathOpSpec::Fixed(PathOp::Stat) => &[PathOp::Stat],
            _ => &[PathOp::Read, PathOp::Write],
        }
    }
}

/// Op of an open: write when the access mode is O_WRONLY or O_RDWR, or when
/// O_CREAT, O_TRUNC or O_APPEND (or O_TMPFILE) is set; read otherwise.
pub fn open_flags_op(flags: u64) -> PathOp {
    let f = flags as u32 as i32; // the kernel uses the low 32 bits
                                 // O_TMPFILE contains O_DIRECTORY's bit: test it as a whole, or every
                                 // directory open would count as a write.
    let write_bits = libc::O_CREAT | libc::O_TRUNC | libc::O_APPEND;
    let tmpfile = f & libc::O_TMPFILE == libc::O_TMPFILE;
    if f & libc::O_ACCMODE != libc::O_RDONLY || f & write_bits != 0 || tmpfile {
        PathOp::Write
    } else {
        PathOp::Read
    }
}

const fn fixed(path_arg: usize, dirfd_arg: Option<usize>, op: PathOp) -> PathArg {
    PathArg {
        path_arg,
        dirfd_arg,
        op: PathOpSpec::Fixed(op),
    }
}

use PathOp::{Exec, Read, Stat, Write};

#[test]
fn directory_opens_are_reads() {
    let dir = (libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC | libc::O_NONBLOCK) as u64;
    assert_eq!(open_flags_op(dir), PathOp::Read);
    assert_eq!(
        open_flags_op((libc::O_TMPFILE | libc::O_RDWR) as u64),
        PathOp::Write
    );
}

#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
const P0_R: &[PathArg] = &[fixed(0, None, Read)];
const P0_W: &[PathArg] = &[fixed(0, None, Write)];
const P0_X: &[PathArg] = &[fixed(0, None, Exec)];
const P0_S: &[PathArg] = &[fixed(0, None, Stat)];
const AT1_W: &[PathArg] = &[fixed(1, Some(0), Write)];
const AT1_S: &[PathArg] = &[fixed(1, Some(0), Stat)];
const AT1_X: &[PathArg] = &[fixed(1, Some(0), Exec)];
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
const TWO_W: &[PathArg] = &[fixed(0, None, Write), fixed(1, None, Write)];
const TWO_AT_W: &[PathArg] = &[fixed(1, Some(0), Write), fixed(3, Some(2), Write)];
/// symlinkat(target, newdirfd, linkpath): only the link's own path is
/// touched; the target is just stored text.
const SYMLINKAT_W: &[PathArg] = &[fixed(2, Some(1), Write)];
#[cfg(target_arch = "x86_64")]
const SYMLINK_W: &[PathArg] = &[fixed(1, None, Write)];
#[cfg(target_arch = "x86_64")]
const OPEN: &[PathArg] = &[PathArg {
    path_arg: 0,
    dirfd_arg: None,
    op: PathOpSpec::FromOpenFlags { flags_arg: 1 },
}];
const OPENAT: &[PathArg] = &[PathArg {
    path_arg: 1,
    dirfd_arg: Some(0),
    op: PathOpSpec::FromOpenFlags { flags_arg: 2 },
}];
const OPENAT2: &[PathArg] = &[PathArg {
    path_arg: 1,
    dirfd_arg: Some(0),
    op: PathOpSpec::FromOpenHow { how_arg: 2 },
}];

/// The path arguments of a system call; empty for calls without paths.
///
/// `rename`/`link` family: both paths are `write`. `symlink*`: only the new
/// link's path. Calls that take a path as data of a struct (`bind` with
/// AF_UNIX) are not listed.
pub fn path_args(sysno: Sysno) -> &'static [PathArg] {
    #[cfg(target_arch = "x86_64")]
    {
        let legacy: &'static [PathArg] = match sysno {
            Sysno::open => OPEN,
            Sysno::creat => P0_W,
            Sysno::stat | Sysno::lstat | Sysno::access | Sysno::readlink => P0_S,
            Sysno::unlink | Sysno::mkdir | Sysno::rmdir | Sysno::chmod | Sysno::chown => P0_W,
            Sysno::lchown | Sysno::mknod | Sysno::utime | Sysno::utimes => P0_W,
            Sysno::rename | Sysno::link => TWO_W,
            Sysno::symlink => SYMLINK_W,
            Sysno::futimesat => AT1_W,
            Sysno::uselib => P0_R,
            _ => &[],
        };
        if !legacy.is_empty() {
            return legacy;
        }
    }
    match sysno {
        Sysno::openat => OPENAT,
        Sysno::openat2 => OPENAT2,
        Sysno::execve => P0_X,
        Sysno::execveat => AT1_X,
        Sysno::newfstatat | Sysno::statx | Sysno::faccessat | Sysno::faccessat2 => AT1_S,
        Sysno::readlinkat => AT1_S,
        Sysno::chdir | Sysno::statfs => P0_S,
        Sysno::getxattr | Sysno::lgetxattr | Sysno::listxattr | Sysno::llistxattr => P0_S,
        Sysno::setxattr | Sysno::lsetxattr | Sysno::removexattr | Sysno::lremovexattr => P0_W,
        Sysno::truncate => P0_W,
        Sysno::unlinkat | Sysno::mkdirat | Sysno::mknodat => AT1_W,
        Sysno::fchmodat | Sysno::fchmodat2 | Sysno::fchownat | Sysno::utimensat => AT1_W,
        Sysno::renameat | Sysno::renameat2 | Sysno::linkat => TWO_AT_W,
        Sysno::symlinkat => SYMLINKAT_W,
        _ => &[],
    }
}

/// The kind of a path pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatternKind {
    /// `/etc/ld.so.cache`: that path only.
    Exact,
    /// `/tmp/*`: the directory's direct entries (not the directory itself).
    Children,
    /// `/usr/**`: the directory itself and everything below it.
    Tree,
}

/// A parsed path pattern. Components may contain `*` (any run of characters
/// within one component); `*` or `**` as the last component selects
/// [`PatternKind::Children`] or [`PatternKind::Tree`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathPattern {
    /// As written in the policy.
    pub raw: String,
    /// Relative to the run's working directory (`./...` or `.`).
    pub relative: bool,
    /// Components of the base (before a trailing `*`/`**`).
    pub components: Vec<String>,
    pub kind: PatternKind,
}

impl fmt::Display for PathPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl PathPattern {
    /// Parse a pattern; `Err` is (message, hint).
    pub fn parse(raw: &str) -> Result<PathPattern, (String, String)> {
        let relative = if raw == "." || raw.starts_with("./") {
            true
        } else if raw.starts_with('/') {
            false
        } else {
            return Err((
                "path pattern must start with `/` or `./`".into(),
                "use an absolute pattern like `/usr/lib/**`, or `./**` for the working directory"
                    .into(),
            ));
        };
        let mut comps: Vec<String> = Vec::new();
        for c in raw.split('/') {
            match c {
                "" | "." => continue,
                ".." => {
                    return Err((
                        "`..` is not allowed in a path pattern".into(),
                        "write the directory it names instead".into(),
                    ))
                }
                _ => comps.push(c.to_string()),
            }
        }
        let kind = match comps.last().map(String::as_str) {
            Some("**") => {
                comps.pop();
                PatternKind::Tree
            }
            Some("*") => {
                comps.pop();
                PatternKind::Children
            }
            _ => PatternKind::Exact,
        };
        if comps.iter().any(|c| c.contains("**")) {
            return Err((
                "`**` may only be the last component of a path pattern".into(),
                "use `*` inside a component, e.g. `/usr/lib/python3*/**`".into(),
            ));
        }
        Ok(PathPattern {
            raw: raw.to_string(),
            relative,
            components: comps,
            kind,
        })
    }

    /// `/**`: matches every absolute path.
    pub fn is_everything(&self) -> bool {
        !self.relative && self.components.is_empty() && self.kind == PatternKind::Tree
    }

    /// Does `path` (absolute) match, with relative patterns taken against `cwd`?
    /// The path is normalised lexically first (`.` and empty components
    /// dropped, `..` applied); a path that is not absolute never matches.
    pub fn matches(&self, path: &Path, cwd: &Path) -> bool {
        let Some(p) = normalize(path) else {
            return false;
        };
        let mut base: Vec<Vec<u8>> = Vec::new();
        if self.relative {
            let Some(c) = normalize(cwd) else {
                return false;
            };
            base.extend(c.into_iter().map(|s| s.as_bytes().to_vec()));
        }
        base.extend(self.components.iter().map(|s| s.as_bytes().to_vec()));
        // Base components of relative patterns came from cwd literally: match
        // them exactly, the pattern's own with globs.
        let lit = if self.relative {
            base.len() - self.components.len()
        } else {
            0
        };
        let comp_ok = |i: usize, got: &OsStr| -> bool {
            match base.get(i) {
                Some(want) if i < lit => want.as_slice() == got.as_bytes(),
                Some(want) => glob(want, got.as_bytes()),
                None => false,
            }
        };
        let n = base.len();
        let prefix_ok = p.len() >= n && p.iter().take(n).enumerate().all(|(i, c)| comp_ok(i, c));
        if !prefix_ok {
            return false;
        }
        match self.kind {
            PatternKind::Exact => p.len() == n,
            PatternKind::Children => p.len() == n + 1,
            PatternKind::Tree => true,
        }
    }
}

/// Path rules name the calling process's own /proc entries as `/proc/self/...`
/// (e.g. `path read /proc/self/**`). The supervisor, which resolves paths
/// itself (its own `/proc/self` is not the tracee's), should pass a tracee's
/// `/proc/<its pid>/...`, `/proc/<its tid>/...` and `/proc/thread-self/...`
/// through this before [`super::Policy::decide`], so those rules apply and
/// other processes' entries do not match them.
pub fn proc_self_alias(path: &Path, pid: u32, tid: u32) -> std::path::PathBuf {
    let mut comps = path.components();
    let (Some(Component::RootDir), Some(Component::Normal(p)), Some(Component::Normal(who))) =
        (comps.next(), comps.next(), comps.next())
    else {
        return path.to_path_buf();
    };
    let who = who.to_string_lossy();
    let own = who == "thread-self" || who == pid.to_string() || who == tid.to_string();
    if p != "proc" || !own {
        return path.to_path_buf();
    }
    Path::new("/proc/self").join(comps.as_path())
}

fn normalize(path: &Path) -> Option<Vec<&OsStr>> {
    if !path.is_absolute() {
        return None;
    }
    let mut out: Vec<&OsStr> = Vec::new();
    for c in path.components() {
        match c {
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(s) => out.push(s),
        }
    }
    Some(out)
}

/// `*` matches any run of bytes (within one component); everything else is
/// literal.
fn glob(pat: &[u8], s: &[u8]) -> bool {
    // Iterative wildcard match with backtracking to the last star.
    let (mut p, mut i) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        if p < pat.len() && pat[p] == b'*' {
            star = Some((p, i));
            p += 1;
        } else if p < pat.len() && pat[p] == s[i] {
            p += 1;
            i += 1;
        } else if let Some((sp, si)) = star {
            p = sp + 1;
            i = si + 1;
            star = Some((sp, si + 1));
        } else {
            return false;
        }
    }
    pat[p.min(pat.len())..].iter().all(|&b| b == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pat: &str, path: &str) -> bool {
        PathPattern::parse(pat)
            .map(|p| p.matches(Path::new(path), Path::new("/home/run")))
            .unwrap_or(false)
    }

    #[test]
    fn policy_paths_patterns() {
        assert!(m("/etc/ld.so.cache", "/etc/ld.so.cache"));
        assert!(!m("/etc/ld.so.cache", "/etc/ld.so.cache2"));
        assert!(!m("/etc/ld.so.cache", "/etc"));
        assert!(m("/tmp/*", "/tmp/x"));
        assert!(!m("/tmp/*", "/tmp"));
        assert!(!m("/tmp/*", "/tmp/x/y"));
        assert!(m("/usr/**", "/usr"));
        assert!(m("/usr/**", "/usr/lib/x/y.so"));
        assert!(!m("/usr/**", "/usrx/lib"));
        assert!(m(
            "/usr/lib/python3*/**",
            "/usr/lib/python3.11/json/__init__.py"
        ));
        assert!(!m("/usr/lib/python3*/**", "/usr/lib/python2.7/x"));
        assert!(m("/**", "/anything/at/all"));
        assert!(m("./**", "/home/run/out.txt"));
        assert!(m("./**", "/home/run"));
        assert!(!m("./**", "/home/runner/x"));
        assert!(m(".", "/home/run"));
        assert!(m("./*.txt", "/home/run/a.txt"));
        assert!(!m("./*.txt", "/home/run/a.txt.bak"));
        assert!(m("/usr/**", "/usr/lib/../bin/x"));
        assert!(!m("/usr/**", "/usr/../etc/passwd"));
        assert!(!m("/usr/**", "usr/lib"));
        assert!(PathPattern::parse("usr/lib").is_err());
        assert!(PathPattern::parse("/usr/**/lib").is_err());
        assert!(PathPattern::parse("/usr/../etc").is_err());
        assert_eq!(
            proc_self_alias(Path::new("/proc/42/mountinfo"), 42, 43),
            Path::new("/proc/self/mountinfo")
        );
        assert_eq!(
            proc_self_alias(Path::new("/proc/43/fd/1"), 42, 43),
            Path::new("/proc/self/fd/1")
        );
        assert_eq!(
            proc_self_alias(Path::new("/proc/1/mem"), 42, 43),
            Path::new("/proc/1/mem")
        );
        assert_eq!(
            proc_self_alias(Path::new("/etc/42"), 42, 43),
            Path::new("/etc/42")
        );
    }

    #[test]
    fn policy_paths_glob() {
        assert!(glob(b"a*b*c", b"aXXbYYc"));
        assert!(glob(b"*", b""));
        assert!(!glob(b"a*b", b"a"));
        assert!(glob(b"**x", b"yyx"));
    }

    #[test]
    fn policy_paths_open_flags() {
        assert_eq!(open_flags_op(libc::O_RDONLY as u64), PathOp::Read);
        assert_eq!(
            open_flags_op((libc::O_RDONLY | libc::O_CLOEXEC) as u64),
            PathOp::Read
        );
        assert_eq!(open_flags_op(libc::O_WRONLY as u64), PathOp::Write);
        assert_eq!(open_flags_op(libc::O_RDWR as u64), PathOp::Write);
        assert_eq!(open_flags_op(libc::O_CREAT as u64), PathOp::Write);
        assert_eq!(open_flags_op(libc::O_APPEND as u64), PathOp::Write);
        assert_eq!(path_args(Sysno::openat).len(), 1);
        assert_eq!(path_args(Sysno::renameat2).len(), 2);
        assert!(path_args(Sysno::read).is_empty());
    }
}
