//! The policy text format: line oriented, `#` comments, one statement a line.
//! See docs/policy.md for the reference.
//!
//! The parser never panics; it collects every problem of every file (an
//! included file's problems are reported with that file's name) and returns
//! them together.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use syscalls::Sysno;

use super::groups;
use super::model::{Action, CmpOp, Cond, NetRule, Origin, PathOp, PathRule, Policy, Rule};
use super::paths::PathPattern;
use crate::input::{
    human_size, read_bounded, MAX_POLICY_BYTES, MAX_POLICY_FILES, MAX_POLICY_TOTAL_BYTES,
};

/// Most nested includes allowed.
pub const MAX_INCLUDE_DEPTH: usize = 16;
/// Most conditions one rule may have (keeps every BPF jump short).
pub const MAX_CONDS: usize = 16;
/// Most problems listed for one policy; the parse stops at the next one.
pub const MAX_DIAGNOSTICS: usize = 100;

/// One problem in a policy file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    pub line: u32,
    /// 1-based, in characters.
    pub col: u32,
    pub message: String,
    /// The offending text.
    pub text: String,
    pub hint: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: `{}`",
            self.file, self.line, self.col, self.message, self.text
        )?;
        if let Some(h) = &self.hint {
            write!(f, " (hint: {h})")?;
        }
        Ok(())
    }
}

/// All problems found, in file order; Display prints one per line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

/// Errors of the policy module: one variant per failing step.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The text has problems; every one is listed.
    #[error("{0}")]
    Parse(Diagnostics),
    /// The policy file could not be read.
    #[error("cannot read policy file {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The compiled filter exceeds the kernel's limit.
    #[error("seccomp program has {len} instructions; the kernel accepts at most 4096 (name fewer calls in conditional rules)")]
    ProgramTooLong { len: usize },
    /// A bug in the compiler (a jump it could not encode).
    #[error("internal error compiling the policy: {0}")]
    Compile(String),
}

impl PolicyError {
    /// The diagnostics, if this is a parse error.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            PolicyError::Parse(d) => &d.0,
            _ => &[],
        }
    }
}

/// Shipped policies, embedded in the binary.
pub const BUILTINS: &[(&str, &str)] = &[
    ("base", include_str!("../../policies/base.policy")),
    ("default", include_str!("../../policies/default.policy")),
    ("python3", include_str!("../../policies/python3.policy")),
    ("java", include_str!("../../policies/java.policy")),
    ("audit", include_str!("../../policies/audit.policy")),
];

pub const BUILTIN_NAMES: &[&str] = &["base", "default", "python3", "java", "audit"];

pub fn builtin_text(name: &str) -> Option<&'static str> {
    BUILTINS.iter().find(|b| b.0 == name).map(|b| b.1)
}

/// Syscall names that exist only on x86_64: a policy naming them still loads
/// on other architectures (the names are skipped there).
const X86_64_ONLY: &[&str] = &[
    "open",
    "creat",
    "stat",
    "lstat",
    "access",
    "readlink",
    "unlink",
    "mkdir",
    "rmdir",
    "rename",
    "link",
    "symlink",
    "chmod",
    "chown",
    "lchown",
    "mknod",
    "utime",
    "utimes",
    "futimesat",
    "uselib",
    "poll",
    "select",
    "pipe",
    "dup2",
    "fork",
    "vfork",
    "epoll_wait",
    "epoll_create",
    "inotify_init",
    "eventfd",
    "signalfd",
    "alarm",
    "pause",
    "time",
    "getdents",
    "arch_prctl",
    "modify_ldt",
    "iopl",
    "ioperm",
    "getpgrp",
    "sysfs",
    "ustat",
    "_sysctl",
    "epoll_ctl_old",
    "epoll_wait_old",
    "lookup_dcookie",
    "map_shadow_stack",
];

/// Symbolic constants usable in conditions (values for this architecture).
fn constant(name: &str) -> Option<u64> {
    macro_rules! table {
        ($($n:ident),* $(,)?) => {
            &[$((stringify!($n), libc::$n as i64 as u64)),*]
        };
    }
    const T: &[(&str, u64)] = table![
        AF_UNSPEC,
        AF_UNIX,
        AF_LOCAL,
        AF_INET,
        AF_INET6,
        AF_NETLINK,
        AF_PACKET,
        SOCK_STREAM,
        SOCK_DGRAM,
        SOCK_RAW,
        SOCK_SEQPACKET,
        SOCK_NONBLOCK,
        SOCK_CLOEXEC,
        O_RDONLY,
        O_WRONLY,
        O_RDWR,
        O_ACCMODE,
        O_CREAT,
        O_EXCL,
        O_NOCTTY,
        O_TRUNC,
        O_APPEND,
        O_NONBLOCK,
        O_DIRECTORY,
        O_NOFOLLOW,
        O_CLOEXEC,
        O_TMPFILE,
        O_PATH,
        O_SYNC,
        O_DSYNC,
        O_DIRECT,
        O_NOATIME,
        CLONE_VM,
        CLONE_FS,
        CLONE_FILES,
        CLONE_SIGHAND,
        CLONE_PIDFD,
        CLONE_PTRACE,
        CLONE_VFORK,
        CLONE_PARENT,
        CLONE_THREAD,
        CLONE_NEWNS,
        CLONE_SYSVSEM,
        CLONE_SETTLS,
        CLONE_PARENT_SETTID,
        CLONE_CHILD_CLEARTID,
        CLONE_DETACHED,
        CLONE_UNTRACED,
        CLONE_CHILD_SETTID,
        CLONE_NEWCGROUP,
        CLONE_NEWUTS,
        CLONE_NEWIPC,
        CLONE_NEWUSER,
        CLONE_NEWPID,
        CLONE_NEWNET,
        CLONE_IO,
        PROT_NONE,
        PROT_READ,
        PROT_WRITE,
        PROT_EXEC,
        MAP_SHARED,
        MAP_PRIVATE,
        MAP_FIXED,
        MAP_ANONYMOUS,
        MAP_ANON,
        MAP_NORESERVE,
        MAP_STACK,
        MAP_GROWSDOWN,
        MAP_POPULATE,
        MAP_FIXED_NOREPLACE,
        MAP_HUGETLB,
        AT_FDCWD,
        AT_EMPTY_PATH,
        AT_SYMLINK_NOFOLLOW,
        AT_REMOVEDIR,
        F_OK,
        R_OK,
        W_OK,
        X_OK,
        SEEK_SET,
        SEEK_CUR,
        SEEK_END,
        F_DUPFD,
        F_DUPFD_CLOEXEC,
        F_GETFD,
        F_SETFD,
        F_GETFL,
        F_SETFL,
        F_GETLK,
        F_SETLK,
        F_SETLKW,
        FD_CLOEXEC,
        SIGHUP,
        SIGINT,
        SIGQUIT,
        SIGKILL,
        SIGSEGV,
        SIGPIPE,
        SIGALRM,
        SIGTERM,
        SIGCHLD,
        SIGUSR1,
        SIGUSR2,
        PR_SET_NAME,
        PR_GET_NAME,
        PR_SET_NO_NEW_PRIVS,
        PR_GET_NO_NEW_PRIVS,
        PR_SET_DUMPABLE,
        PR_GET_DUMPABLE,
        PR_SET_PDEATHSIG,
        PR_SET_SECCOMP,
        PR_CAPBSET_READ,
        PR_SET_VMA,
        PR_SET_TIMERSLACK,
        PR_GET_TIMERSLACK,
        MADV_NORMAL,
        MADV_RANDOM,
        MADV_SEQUENTIAL,
        MADV_WILLNEED,
        MADV_DONTNEED,
        MADV_FREE,
        MADV_HUGEPAGE,
        MADV_NOHUGEPAGE,
        MADV_DONTFORK,
        FUTEX_WAIT,
        FUTEX_WAKE,
        FUTEX_PRIVATE_FLAG,
        TCGETS,
        TCSETS,
        TIOCGWINSZ,
        FIONREAD,
        FIOCLEX,
    ];
    #[cfg(target_arch = "x86_64")]
    const ARCH: &[(&str, u64)] = &[
        ("ARCH_SET_FS", 0x1002),
        ("ARCH_GET_FS", 0x1003),
        ("ARCH_SET_GS", 0x1001),
        ("ARCH_GET_GS", 0x1004),
        ("ARCH_GET_CPUID", 0x1011),
        ("ARCH_SET_CPUID", 0x1012),
    ];
    #[cfg(not(target_arch = "x86_64"))]
    const ARCH: &[(&str, u64)] = &[];
    T.iter()
        .chain(ARCH.iter())
        .find(|c| c.0 == name)
        .map(|c| c.1)
}

/// Errno by name (`EACCES`) or number (1..=4095).
pub fn parse_errno(s: &str) -> Option<i32> {
    if let Ok(n) = s.parse::<i32>() {
        return (1..=4095).contains(&n).then_some(n);
    }
    match s {
        "EWOULDBLOCK" => return Some(libc::EWOULDBLOCK),
        "EDEADLOCK" => return Some(libc::EDEADLOCK),
        "ENOTSUP" => return Some(libc::ENOTSUP),
        _ => {}
    }
    (1..4096).find(|&n| syscalls::Errno::new(n).name() == Some(s))
}

fn is_errno_like(s: &str) -> bool {
    s.len() > 1
        && s.starts_with('E')
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        || s.chars().all(|c| c.is_ascii_digit()) && !s.is_empty()
}

/// A token with its place in the line.
#[derive(Clone, Debug)]
struct Tok {
    text: String,
    /// Byte offset in the (comment-free) line.
    start: usize,
    quoted: bool,
}

/// Split a line into whitespace tokens; `"..."` quotes (no escapes); `#`
/// outside quotes ends the line. Err: (byte offset, message).
fn tokenize(line: &str) -> Result<(Vec<Tok>, usize), (usize, String)> {
    let mut toks = Vec::new();
    let mut it = line.char_indices().peekable();
    let mut end = line.len();
    while let Some(&(i, c)) = it.peek() {
        if c.is_whitespace() {
            it.next();
            continue;
        }
        if c == '#' {
            end = i;
            break;
        }
        if c == '"' {
            it.next();
            let mut s = String::new();
            let mut closed = false;
            for (_, c2) in it.by_ref() {
                if c2 == '"' {
                    closed = true;
                    break;
                }
                s.push(c2);
            }
            if !closed {
                return Err((i, "unterminated quote".into()));
            }
            toks.push(Tok {
                text: s,
                start: i,
                quoted: true,
            });
            continue;
        }
        let mut s = String::new();
        while let Some(&(_, c2)) = it.peek() {
            if c2.is_whitespace() || c2 == '#' {
                break;
            }
            s.push(c2);
            it.next();
        }
        toks.push(Tok {
            text: s,
            start: i,
            quoted: false,
        });
    }
    Ok((toks, end))
}

#[derive(Clone, Debug, PartialEq)]
enum CTok {
    Word(String),
    Op(&'static str),
}

/// Lex a condition: words and the operators `== != <= >= < > && & |`.
/// Returns (token, byte offset) pairs; Err: (offset, text, message, hint).
#[allow(clippy::type_complexity)]
fn lex_cond(s: &str, base: usize) -> Result<Vec<(CTok, usize)>, (usize, String, String, String)> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        // Bytes, not a str slice: the next character may be multi-byte.
        let two: &[u8] = if i + 1 < b.len() { &b[i..i + 2] } else { b"" };
        let op: Option<(&'static str, usize)> = match two {
            b"==" => Some(("==", 2)),
            b"!=" => Some(("!=", 2)),
            b"<=" => Some(("<=", 2)),
            b">=" => Some((">=", 2)),
            b"&&" => Some(("&&", 2)),
            b"||" => {
                return Err((
                    base + i,
                    "||".into(),
                    "`||` is not supported".into(),
                    "write one rule per alternative".into(),
                ))
            }
            _ => match c {
                b'<' => Some(("<", 1)),
                b'>' => Some((">", 1)),
                b'&' => Some(("&", 1)),
                b'|' => Some(("|", 1)),
                _ => None,
            },
        };
        if let Some((o, n)) = op {
            out.push((CTok::Op(o), base + i));
            i += n;
            continue;
        }
        if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' {
            let st = i;
            i += 1;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push((CTok::Word(s[st..i].to_string()), base + st));
            continue;
        }
        // Not ASCII-operator or word: report the character.
        let ch: String = s[i..].chars().next().map(String::from).unwrap_or_default();
        let hint = if ch == "=" {
            "compare with `==`"
        } else {
            "conditions look like `arg0 & MASK == VALUE`"
        };
        return Err((
            base + i,
            ch.clone(),
            "unexpected character in condition".into(),
            hint.into(),
        ));
    }
    Ok(out)
}

fn parse_number(w: &str) -> Option<u64> {
    let (neg, w) = match w.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, w),
    };
    let v = if let Some(h) = w.strip_prefix("0x").or_else(|| w.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()?
    } else if w.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        w.parse::<u64>().ok()?
    } else {
        return None;
    };
    if neg {
        // Two's complement, as the kernel sees a negative int passed in a
        // 64-bit register by glibc.
        if v > (i64::MAX as u64) + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg() as u64)
    } else {
        Some(v)
    }
}

/// The parser's state across one top-level parse (including included files).
pub(crate) struct Parser {
    policy: Policy,
    diags: Vec<Diagnostic>,
    /// Identities of files being parsed, outermost first (cycle check).
    stack: Vec<String>,
    /// Files (and shipped policies) parsed so far, repeats counted.
    files: usize,
    /// Bytes of text parsed so far.
    bytes: u64,
    /// A bound of the whole parse was reached: nothing more is parsed.
    exhausted: bool,
}

/// Where a file's text comes from, for resolving its includes.
enum Source<'a> {
    File(&'a Path),
    Builtin,
}

impl Parser {
    pub(crate) fn new(name: &str) -> Parser {
        Parser {
            policy: Policy::empty(name),
            diags: Vec::new(),
            stack: Vec::new(),
            files: 0,
            bytes: 0,
            exhausted: false,
        }
    }

    /// Counts one more file of `len` bytes against the bounds of a whole
    /// policy ([`MAX_POLICY_FILES`], [`MAX_POLICY_TOTAL_BYTES`]); false
    /// (with one diagnostic, and nothing parsed from then on) when over.
    fn budget(&mut self, cx: Option<(&Cx<'_>, &Tok)>, file: &str, len: u64) -> bool {
        if self.exhausted {
            return false;
        }
        self.files += 1;
        self.bytes += len;
        let msg = if self.files > MAX_POLICY_FILES {
            format!("more than {MAX_POLICY_FILES} files parsed for one policy (includes counted each time they are included)")
        } else if self.bytes > MAX_POLICY_TOTAL_BYTES {
            format!(
                "more than {} of policy text with its includes (the bound for one policy)",
                human_size(MAX_POLICY_TOTAL_BYTES)
            )
        } else {
            return true;
        };
        self.exhausted = true;
        let hint = Some("include each file once, not in every file of a chain".to_string());
        match cx {
            Some((cx, arg)) => self.diag(cx, arg.start, &arg.text, msg, hint),
            None => self.diags.push(Diagnostic {
                file: file.to_string(),
                line: 1,
                col: 1,
                message: msg,
                text: String::new(),
                hint,
            }),
        }
        false
    }

    pub(crate) fn finish(self) -> Result<Policy, PolicyError> {
        if self.diags.is_empty() {
            Ok(self.policy)
        } else {
            Err(PolicyError::Parse(Diagnostics(self.diags)))
        }
    }

    pub(crate) fn parse_file_text(&mut self, text: &str, file: &str) {
        if !self.budget(None, file, text.len() as u64) {
            return;
        }
        let id = std::fs::canonicalize(file)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| file.to_string());
        self.stack.push(id);
        self.parse_text(text, file, Source::File(Path::new(file)));
        self.stack.pop();
    }

    pub(crate) fn parse_builtin(&mut self, name: &str, text: &str) {
        let label = format!("builtin:{name}");
        if !self.budget(None, &label, text.len() as u64) {
            return;
        }
        self.stack.push(label.clone());
        self.parse_text(text, &label, Source::Builtin);
        self.stack.pop();
    }

    fn diag(
        &mut self,
        cx: &Cx<'_>,
        at: usize,
        text: &str,
        msg: impl Into<String>,
        hint: Option<String>,
    ) {
        if self.diags.len() > MAX_DIAGNOSTICS {
            return;
        }
        let (msg, hint) = if self.diags.len() == MAX_DIAGNOSTICS {
            // A 1 MiB file of junk would otherwise make half a million
            // diagnostics (a quarter of a GiB, half a minute).
            self.exhausted = true;
            (
                format!(
                    "more than {MAX_DIAGNOSTICS} problems: the rest of the policy was not read"
                ),
                Some("fix the problems above first".to_string()),
            )
        } else {
            (msg.into(), hint)
        };
        let col = cx.raw.get(..at).map(|p| p.chars().count()).unwrap_or(0);
        self.diags.push(Diagnostic {
            file: cx.file.to_string(),
            line: cx.line,
            col: u32::try_from(col).unwrap_or(u32::MAX - 1) + 1,
            message: msg,
            text: text.to_string(),
            hint,
        });
    }

    fn parse_text(&mut self, text: &str, file: &str, src: Source<'_>) {
        for (idx, raw) in text.lines().enumerate() {
            if self.exhausted {
                return;
            }
            let line = u32::try_from(idx + 1).unwrap_or(u32::MAX);
            let (toks, end) = match tokenize(raw) {
                Ok(t) => t,
                Err((at, msg)) => {
                    let t = raw.get(at..).unwrap_or("").to_string();
                    let origin = Origin {
                        file: file.to_string(),
                        line,
                        text: raw.trim().to_string(),
                    };
                    let cx = Cx {
                        file,
                        line,
                        raw,
                        origin,
                    };
                    self.diag(&cx, at, &t, msg, Some("close the `\"`".into()));
                    continue;
                }
            };
            let Some(first) = toks.first() else { continue };
            let stmt = raw.get(..end).unwrap_or(raw).trim();
            let origin = Origin {
                file: file.to_string(),
                line,
                text: stmt.to_string(),
            };
            let cx = Cx {
                file,
                line,
                raw,
                origin,
            };
            match first.text.as_str() {
                "include" => self.st_include(&cx, &toks, &src),
                "default" => {
                    if let Some(a) = self.action_operand(&cx, &toks, "default") {
                        self.policy.default = a;
                        self.policy.default_origin = Some(cx.origin.clone());
                    }
                }
                "on-path-violation" => {
                    if let Some(a) = self.action_operand(&cx, &toks, "on-path-violation") {
                        self.policy.on_path_violation = a;
                        self.policy.on_path_violation_origin = Some(cx.origin.clone());
                    }
                }
                "jail" => self.st_jail(&cx, &toks),
                "limit" => self.st_limit(&cx, &toks),
                "allow" | "log" | "kill" | "deny" => self.st_rule(&cx, &toks),
                "path" => self.st_path(&cx, &toks),
                "landlock" => self.st_landlock(&cx, &toks),
                "net" => self.st_net(&cx, &toks),
                other => {
                    let known = [
                        "include",
                        "default",
                        "jail",
                        "limit",
                        "allow",
                        "deny",
                        "kill",
                        "log",
                        "path",
                        "on-path-violation",
                        "landlock",
                        "net",
                    ];
                    let hint = match nearest(other, known.iter().copied()) {
                        Some(n) => format!("did you mean `{n}`? statements: {}", known.join(", ")),
                        None => format!("statements: {}", known.join(", ")),
                    };
                    let t = first.text.clone();
                    self.diag(&cx, first.start, &t, "unknown statement", Some(hint));
                }
            }
        }
    }

    /// `landlock optional|required`: what a kernel without Landlock means
    /// for a run with path rules (ptrace-only enforcement, or a refusal).
    fn st_landlock(&mut self, cx: &Cx<'_>, toks: &[Tok]) {
        let hint = || Some("write `landlock optional` or `landlock required`".to_string());
        let Some(arg) = toks.get(1) else {
            let end = cx.raw.len();
            self.diag(
                cx,
                end,
                "",
                "`landlock` needs `optional` or `required`",
                hint(),
            );
            return;
        };
        if let Some(extra) = toks.get(2) {
            let t = extra.text.clone();
            self.diag(
                cx,
                extra.start,
                &t,
                "unexpected text after `landlock`",
                hint(),
            );
            return;
        }
        match arg.text.as_str() {
            "optional" => self.policy.landlock_optional = Some(cx.origin.clone()),
            "required" => self.policy.landlock_optional = None,
            _ => {
                let t = arg.text.clone();
                self.diag(cx, arg.start, &t, "unknown `landlock` setting", hint());
            }
        }
    }

    /// `net connect|bind|connect,bind PORT [PORT ...]`: the TCP ports the
    /// op may use (Landlock, ABI 4).
    fn st_net(&mut self, cx: &Cx<'_>, toks: &[Tok]) {
        let hint = || {
            Some(
                "write `net connect PORT...`, `net bind PORT...` or `net connect,bind PORT...`"
                    .to_string(),
            )
        };
        let Some(ops) = toks.get(1) else {
            let end = cx.raw.len();
            self.diag(
                cx,
                end,
                "",
                "`net` needs `connect` or `bind` and ports",
                hint(),
            );
            return;
        };
        let (mut connect, mut bind) = (false, false);
        for op in ops.text.split(',') {
            match op {
                "connect" => connect = true,
                "bind" => bind = true,
                _ => {
                    let t = ops.text.clone();
                    self.diag(cx, ops.start, &t, "unknown `net` op", hint());
                    return;
                }
            }
        }
        if toks.len() < 3 {
            let end = cx.raw.len();
            self.diag(cx, end, "", "`net` needs at least one port", hint());
            return;
        }
        let mut ports = Vec::new();
        for t in &toks[2..] {
            match t.text.parse::<u16>() {
                Ok(p) if p > 0 => ports.push(p),
                _ => {
                    let text = t.text.clone();
                    self.diag(
                        cx,
                        t.start,
                        &text,
                        "not a TCP port",
                        Some("a port is a number 1..65535".into()),
                    );
                    return;
                }
            }
        }
        self.policy.net_rules.push(NetRule {
            connect,
            bind,
            ports,
            origin: cx.origin.clone(),
        });
    }

    fn st_include(&mut self, cx: &Cx<'_>, toks: &[Tok], src: &Source<'_>) {
        let Some(arg) = toks.get(1) else {
            self.diag(
                cx,
                0,
                cx.raw.trim(),
                "`include` needs a policy name or a path",
                Some("e.g. `include base` or `include \"./mine.policy\"`".into()),
            );
            return;
        };
        if let Some(extra) = toks.get(2) {
            self.diag(
                cx,
                extra.start,
                &extra.text,
                "unexpected text after include",
                Some("one include per line".into()),
            );
            return;
        }
        if self.stack.len() > MAX_INCLUDE_DEPTH {
            // One report, then nothing more is parsed: a fan-out of
            // includes would repeat it for every leaf.
            self.exhausted = true;
            self.diag(
                cx,
                arg.start,
                &arg.text,
                format!("includes nested deeper than {MAX_INCLUDE_DEPTH}"),
                Some("is there an include cycle through different spellings of a path?".into()),
            );
            return;
        }
        let is_path = arg.quoted || arg.text.contains('/') || arg.text.ends_with(".policy");
        if !is_path {
            let Some(text) = builtin_text(&arg.text) else {
                let hint = format!(
                    "shipped policies: {}; write a path like `./{}.policy` for a file",
                    BUILTIN_NAMES.join(", "),
                    arg.text
                );
                self.diag(
                    cx,
                    arg.start,
                    &arg.text,
                    "unknown shipped policy",
                    Some(hint),
                );
                return;
            };
            let label = format!("builtin:{}", arg.text);
            if self.stack.contains(&label) {
                self.diag(
                    cx,
                    arg.start,
                    &arg.text,
                    "include cycle",
                    Some(format!("chain: {} -> {label}", self.stack.join(" -> "))),
                );
                return;
            }
            if !self.budget(Some((cx, arg)), &label, text.len() as u64) {
                return;
            }
            self.stack.push(label.clone());
            self.parse_text(text, &label, Source::Builtin);
            self.stack.pop();
            return;
        }
        let dir = match src {
            Source::File(p) => p.parent().map(Path::to_path_buf).unwrap_or_default(),
            Source::Builtin => {
                self.diag(
                    cx,
                    arg.start,
                    &arg.text,
                    "a shipped policy cannot include a file",
                    None,
                );
                return;
            }
        };
        let target = if Path::new(&arg.text).is_absolute() {
            PathBuf::from(&arg.text)
        } else {
            dir.join(&arg.text)
        };
        let id = std::fs::canonicalize(&target)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| target.display().to_string());
        if self.stack.contains(&id) {
            self.diag(
                cx,
                arg.start,
                &arg.text,
                "include cycle",
                Some(format!("chain: {} -> {id}", self.stack.join(" -> "))),
            );
            return;
        }
        match read_bounded(&target, MAX_POLICY_BYTES, "a policy file") {
            Ok(text) => {
                let label = target.display().to_string();
                if !self.budget(Some((cx, arg)), &label, text.len() as u64) {
                    return;
                }
                self.stack.push(id);
                self.parse_text(&text, &label, Source::File(&target));
                self.stack.pop();
            }
            Err(e) => {
                let msg = format!("cannot read included file {}: {e}", target.display());
                self.diag(
                    cx,
                    arg.start,
                    &arg.text,
                    msg,
                    Some("paths are relative to the including file's directory".into()),
                );
            }
        }
    }

    /// `default ACTION`, `on-path-violation ACTION`; ACTION = allow | log |
    /// kill | deny [ERRNO].
    fn action_operand(&mut self, cx: &Cx<'_>, toks: &[Tok], what: &str) -> Option<Action> {
        let hint =
            Some("one of: allow, log, kill, deny, deny ERRNO (e.g. `deny EACCES`)".to_string());
        let Some(a) = toks.get(1) else {
            self.diag(
                cx,
                0,
                cx.raw.trim(),
                format!("`{what}` needs an action"),
                hint,
            );
            return None;
        };
        let (action, used) = match a.text.as_str() {
            "allow" => (Action::Allow, 2),
            "log" => (Action::Log, 2),
            "kill" => (Action::Kill, 2),
            "deny" => match toks.get(2) {
                None => (Action::Deny(libc::EPERM), 2),
                Some(e) => match parse_errno(&e.text) {
                    Some(n) => (Action::Deny(n), 3),
                    None => {
                        self.diag(
                            cx,
                            e.start,
                            &e.text,
                            "unknown errno",
                            Some(errno_hint(&e.text)),
                        );
                        return None;
                    }
                },
            },
            other => {
                self.diag(cx, a.start, other, "unknown action", hint);
                return None;
            }
        };
        if let Some(x) = toks.get(used) {
            self.diag(
                cx,
                x.start,
                &x.text,
                format!("unexpected text after `{what}` action"),
                None,
            );
            return None;
        }
        Some(action)
    }

    fn st_jail(&mut self, cx: &Cx<'_>, toks: &[Tok]) {
        match (toks.get(1), toks.get(2)) {
            (Some(n), None) => self.policy.jail = Some(n.text.clone()),
            (None, _) => self.diag(cx, 0, cx.raw.trim(), "`jail` needs a profile name", None),
            (_, Some(x)) => self.diag(
                cx,
                x.start,
                &x.text,
                "unexpected text after jail name",
                None,
            ),
        }
    }

    /// `limit KEY VALUE [KEY VALUE ...]`.
    fn st_limit(&mut self, cx: &Cx<'_>, toks: &[Tok]) {
        const KEYS: &[&str] = &[
            "cpu", "memory", "mem", "clock", "nproc", "fsize", "nfile", "stack", "space", "core",
            "disk",
        ];
        let rest = toks.get(1..).unwrap_or(&[]);
        if rest.is_empty() {
            self.diag(
                cx,
                0,
                cx.raw.trim(),
                "`limit` needs a name and a value",
                Some(format!("names: {}", KEYS.join(", "))),
            );
            return;
        }
        for pair in rest.chunks(2) {
            let k = &pair[0];
            let Some(v) = pair.get(1) else {
                self.diag(
                    cx,
                    k.start,
                    &k.text,
                    "limit without a value",
                    Some("e.g. `limit cpu 2.5`".into()),
                );
                return;
            };
            let lim = &mut self.policy.limits;
            let secs = |s: &str| s.parse::<f64>().ok().filter(|f| f.is_finite() && *f >= 0.0);
            let int = |s: &str| s.parse::<u64>().ok();
            let ok = match k.text.as_str() {
                "cpu" => secs(&v.text).map(|x| lim.cpu = Some(x)),
                "clock" => secs(&v.text).map(|x| lim.clock = Some(x)),
                "memory" | "mem" => int(&v.text).map(|x| lim.memory = Some(x)),
                "nproc" => int(&v.text).map(|x| lim.nproc = Some(x)),
                "fsize" => int(&v.text).map(|x| lim.fsize = Some(x)),
                "nfile" => int(&v.text).map(|x| lim.nfile = Some(x)),
                "stack" => int(&v.text).map(|x| lim.stack = Some(x)),
                "space" => int(&v.text).map(|x| lim.space = Some(x)),
                "core" => int(&v.text).map(|x| lim.core = Some(x)),
                "disk" => int(&v.text).map(|x| lim.disk = Some(x)),
                other => {
                    let hint = match nearest(other, KEYS.iter().copied()) {
                        Some(n) => format!("did you mean `{n}`? limits: {}", KEYS.join(", ")),
                        None => format!("limits: {}", KEYS.join(", ")),
                    };
                    self.diag(cx, k.start, &k.text, "unknown limit", Some(hint));
                    continue;
                }
            };
            if ok.is_none() {
                let hint = if matches!(k.text.as_str(), "cpu" | "clock") {
                    "seconds, a fraction is fine: `2.5`"
                } else {
                    "a whole number (KiB for sizes, a count for nproc/nfile)"
                };
                self.diag(cx, v.start, &v.text, "bad limit value", Some(hint.into()));
            }
        }
    }

    /// `allow|log|kill NAMES [if CONDS]`, `deny [ERRNO] NAMES [if CONDS]`.
    fn st_rule(&mut self, cx: &Cx<'_>, toks: &[Tok]) {
        let kw = toks[0].text.as_str();
        let mut i = 1;
        let action = match kw {
            "allow" => Action::Allow,
            "log" => Action::Log,
            "kill" => Action::Kill,
            _ => {
                let mut errno = libc::EPERM;
                if let Some(t) = toks.get(1) {
                    if is_errno_like(&t.text) {
                        match parse_errno(&t.text) {
                            Some(n) => errno = n,
                            None => {
                                self.diag(
                                    cx,
                                    t.start,
                                    &t.text,
                                    "unknown errno",
                                    Some(errno_hint(&t.text)),
                                );
                                return;
                            }
                        }
                        i = 2;
                    }
                }
                Action::Deny(errno)
            }
        };
        let if_pos = toks.iter().position(|t| t.text == "if" && !t.quoted);
        let name_toks =
            &toks[i.min(toks.len())..if_pos.unwrap_or(toks.len()).max(i.min(toks.len()))];
        if name_toks.is_empty() {
            let at = toks.get(i).map(|t| t.start).unwrap_or(cx.raw.len());
            self.diag(
                cx,
                at,
                cx.raw.trim(),
                format!("`{kw}` needs system call names or @groups"),
                Some(format!("e.g. `{kw} read write @memory`")),
            );
            return;
        }
        let mut calls: Vec<Sysno> = Vec::new();
        let mut bad = false;
        let mut skipped_any = false;
        for t in name_toks {
            if let Some(g) = t.text.strip_prefix('@') {
                match groups::expand(g) {
                    Some(v) => calls.extend(v),
                    None => {
                        let names = groups::group_names();
                        let hint = match nearest(g, names.iter().copied()) {
                            Some(n) => {
                                format!("did you mean `@{n}`? known groups: @{}", names.join(", @"))
                            }
                            None => format!("known groups: @{}", names.join(", @")),
                        };
                        self.diag(cx, t.start, &t.text, "unknown group", Some(hint));
                        bad = true;
                    }
                }
                continue;
            }
            match Sysno::from_str(&t.text) {
                Ok(s) => calls.push(s),
                Err(()) if X86_64_ONLY.contains(&t.text.as_str()) => skipped_any = true,
                Err(()) => {
                    let hint = match suggest_syscalls(&t.text) {
                        s if s.is_empty() => {
                            "names as in `man 2 syscalls` for this architecture".to_string()
                        }
                        s => format!(
                            "did you mean {}?",
                            s.iter()
                                .map(|n| format!("`{n}`"))
                                .collect::<Vec<_>>()
                                .join(" or ")
                        ),
                    };
                    self.diag(cx, t.start, &t.text, "unknown system call", Some(hint));
                    bad = true;
                }
            }
        }
        let mut conds = Vec::new();
        if let Some(p) = if_pos {
            let start = toks.get(p + 1).map(|t| t.start);
            let endb = tokenize(cx.raw).map(|(_, e)| e).unwrap_or(cx.raw.len());
            match start {
                None => {
                    self.diag(
                        cx,
                        toks[p].start,
                        "if",
                        "`if` without a condition",
                        Some("e.g. `if arg0 == AF_UNIX`".into()),
                    );
                    return;
                }
                Some(st) => {
                    let text = cx.raw.get(st..endb).unwrap_or("");
                    match self.parse_conds(cx, text, st) {
                        Some(c) => conds = c,
                        None => return,
                    }
                }
            }
        }
        if bad {
            return;
        }
        if calls.is_empty() && skipped_any {
            return; // only names absent on this architecture
        }
        calls.sort();
        calls.dedup();
        self.policy.rules.push(Rule {
            syscalls: calls,
            action,
            conds,
            origin: cx.origin.clone(),
        });
    }

    fn parse_conds(&mut self, cx: &Cx<'_>, text: &str, base: usize) -> Option<Vec<Cond>> {
        let toks = match lex_cond(text, base) {
            Ok(t) => t,
            Err((at, t, msg, hint)) => {
                self.diag(cx, at, &t, msg, Some(hint));
                return None;
            }
        };
        let mut conds = Vec::new();
        let mut i = 0;
        let end_at = base + text.len();
        loop {
            match self.parse_one_cond(cx, &toks, &mut i, end_at) {
                Some(c) => conds.push(c),
                None => return None,
            }
            match toks.get(i) {
                None => break,
                Some((CTok::Op("&&"), _)) => i += 1,
                Some((t, at)) => {
                    let s = ctok_text(t);
                    self.diag(
                        cx,
                        *at,
                        &s,
                        "expected `&&` or end of line",
                        Some("join conditions with `&&`".into()),
                    );
                    return None;
                }
            }
        }
        if conds.len() > MAX_CONDS {
            self.diag(
                cx,
                base,
                text,
                format!("more than {MAX_CONDS} conditions in one rule"),
                Some("split the rule".into()),
            );
            return None;
        }
        Some(conds)
    }

    fn parse_one_cond(
        &mut self,
        cx: &Cx<'_>,
        toks: &[(CTok, usize)],
        i: &mut usize,
        end_at: usize,
    ) -> Option<Cond> {
        let shape = Some(
            "conditions look like `arg0 == AF_UNIX` or `arg0 & CLONE_THREAD != 0`".to_string(),
        );
        let arg = match toks.get(*i) {
            Some((CTok::Word(w), at)) => {
                let n = w
                    .strip_prefix("arg")
                    .and_then(|d| d.parse::<u8>().ok())
                    .filter(|n| *n <= 5 && w.len() == 4);
                match n {
                    Some(n) => n,
                    None => {
                        self.diag(cx, *at, w, "expected an argument `arg0`..`arg5`", shape);
                        return None;
                    }
                }
            }
            Some((t, at)) => {
                let s = ctok_text(t);
                self.diag(cx, *at, &s, "expected an argument `arg0`..`arg5`", shape);
                return None;
            }
            None => {
                self.diag(cx, end_at, "", "condition missing", shape);
                return None;
            }
        };
        *i += 1;
        let mut mask = None;
        if let Some((CTok::Op("&"), _)) = toks.get(*i) {
            *i += 1;
            mask = Some(self.parse_value(cx, toks, i, end_at)?);
        }
        let op = match toks.get(*i) {
            Some((CTok::Op(o), at)) => match *o {
                "==" => CmpOp::Eq,
                "!=" => CmpOp::Ne,
                "<" => CmpOp::Lt,
                "<=" => CmpOp::Le,
                ">" => CmpOp::Gt,
                ">=" => CmpOp::Ge,
                other => {
                    self.diag(
                        cx,
                        *at,
                        other,
                        "expected a comparison",
                        Some("one of == != < <= > >=".into()),
                    );
                    return None;
                }
            },
            Some((t, at)) => {
                let s = ctok_text(t);
                self.diag(
                    cx,
                    *at,
                    &s,
                    "expected a comparison",
                    Some("one of == != < <= > >=".into()),
                );
                return None;
            }
            None => {
                self.diag(
                    cx,
                    end_at,
                    "",
                    "expected a comparison",
                    Some("one of == != < <= > >=".into()),
                );
                return None;
            }
        };
        *i += 1;
        let value = self.parse_value(cx, toks, i, end_at)?;
        Some(Cond {
            arg,
            mask,
            op,
            value,
        })
    }

    /// `ATOM ('|' ATOM)*`, ATOM = number or symbolic constant.
    fn parse_value(
        &mut self,
        cx: &Cx<'_>,
        toks: &[(CTok, usize)],
        i: &mut usize,
        end_at: usize,
    ) -> Option<u64> {
        let mut v = 0u64;
        loop {
            match toks.get(*i) {
                Some((CTok::Word(w), at)) => {
                    let x = parse_number(w).or_else(|| constant(w));
                    match x {
                        Some(x) => v |= x,
                        None => {
                            let hint = if w
                                .chars()
                                .next()
                                .is_some_and(|c| c.is_ascii_digit() || c == '-')
                            {
                                "decimal or 0x hex, fitting 64 bits".to_string()
                            } else {
                                "symbolic constants: AF_*, SOCK_*, O_*, CLONE_*, PROT_*, MAP_*, AT_*, F_*, PR_*, MADV_*, FUTEX_*, SIG*; or a number".to_string()
                            };
                            self.diag(cx, *at, w, "unknown value", Some(hint));
                            return None;
                        }
                    }
                }
                Some((t, at)) => {
                    let s = ctok_text(t);
                    self.diag(cx, *at, &s, "expected a number or constant", None);
                    return None;
                }
                None => {
                    self.diag(cx, end_at, "", "expected a number or constant", None);
                    return None;
                }
            }
            *i += 1;
            match toks.get(*i) {
                Some((CTok::Op("|"), _)) => *i += 1,
                _ => return Some(v),
            }
        }
    }

    /// `path OPS PATTERN [PATTERN ...]`, OPS = op[,op...].
    fn st_path(&mut self, cx: &Cx<'_>, toks: &[Tok]) {
        let hint =
            Some("e.g. `path read,stat /usr/lib/**`; ops: read, write, exec, stat".to_string());
        let Some(opt) = toks.get(1) else {
            self.diag(cx, 0, cx.raw.trim(), "`path` needs ops and a pattern", hint);
            return;
        };
        let mut ops = Vec::new();
        for o in opt.text.split(',') {
            match PathOp::parse(o.trim()) {
                Some(op) => {
                    if !ops.contains(&op) {
                        ops.push(op);
                    }
                }
                None => {
                    self.diag(
                        cx,
                        opt.start,
                        &opt.text,
                        format!("unknown path op `{o}`"),
                        hint,
                    );
                    return;
                }
            }
        }
        let pats = toks.get(2..).unwrap_or(&[]);
        if pats.is_empty() {
            self.diag(cx, opt.start, &opt.text, "`path` needs a pattern", hint);
            return;
        }
        for p in pats {
            if p.text == "$ARGS" && !p.quoted {
                self.policy
                    .args_rules
                    .push((ops.clone(), cx.origin.clone()));
                continue;
            }
            match PathPattern::parse(&p.text) {
                Ok(pattern) => self.policy.path_rules.push(PathRule {
                    ops: ops.clone(),
                    pattern,
                    origin: cx.origin.clone(),
                }),
                Err((msg, h)) => self.diag(cx, p.start, &p.text, msg, Some(h)),
            }
        }
    }
}

struct Cx<'a> {
    file: &'a str,
    line: u32,
    raw: &'a str,
    origin: Origin,
}

fn ctok_text(t: &CTok) -> String {
    match t {
        CTok::Word(w) => w.clone(),
        CTok::Op(o) => (*o).to_string(),
    }
}

fn errno_hint(s: &str) -> String {
    let names: Vec<&'static str> = (1..134)
        .filter_map(|n| syscalls::Errno::new(n).name())
        .collect();
    match nearest(s, names.iter().copied()) {
        Some(n) => format!("did you mean `{n}`? an errno name like EACCES, or a number 1..4095"),
        None => "an errno name like EACCES, or a number 1..4095".into(),
    }
}

/// The closest candidate, if close enough to be a plausible typo.
fn nearest<'a>(s: &str, cands: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for c in cands {
        let mut d = strsim::levenshtein(s, c);
        if s.len() >= 2 && (c.starts_with(s) || s.starts_with(c)) {
            d = d.min(1); // `@mem` for `@memory`
        }
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .map(|(_, c)| c)
}

/// Up to three syscall names near `s`.
fn suggest_syscalls(s: &str) -> Vec<&'static str> {
    let mut scored: BTreeMap<usize, Vec<&'static str>> = BTreeMap::new();
    for n in Sysno::iter() {
        let name = n.name();
        let d = strsim::levenshtein(s, name);
        if d <= 2.max(name.len() / 4) {
            scored.entry(d).or_default().push(name);
        }
    }
    scored.into_values().flatten().take(3).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errs(text: &str) -> Vec<Diagnostic> {
        let mut p = Parser::new("t");
        p.parse_file_text(text, "t.policy");
        match p.finish() {
            Ok(_) => Vec::new(),
            Err(e) => e.diagnostics().to_vec(),
        }
    }

    #[test]
    fn policy_parser_tokenize() {
        let (t, end) = tokenize(r#"include "./a b.policy" # c"#).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[1].text, "./a b.policy");
        assert!(t[1].quoted);
        assert_eq!(end, 23);
        assert!(tokenize("include \"x").is_err());
        // A multi-byte character right after an operator's first byte.
        let e = Policy::parse("default kill\nallow ioctl if arg1 =\u{e9}= 1\n", "u.policy")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("u.policy:2:"), "{e}");
    }

    #[test]
    fn policy_parser_values() {
        assert_eq!(parse_number("0x10"), Some(16));
        assert_eq!(parse_number("-1"), Some(u64::MAX));
        assert_eq!(parse_number("18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_number("18446744073709551616"), None);
        assert_eq!(parse_number("-"), None);
        assert_eq!(constant("AF_UNIX"), Some(1));
        assert_eq!(parse_errno("EACCES"), Some(13));
        assert_eq!(parse_errno("ENOSYS"), Some(38));
        assert_eq!(parse_errno("EWOULDBLOCK"), Some(libc::EAGAIN));
        assert_eq!(parse_errno("0"), None);
        assert_eq!(parse_errno("4096"), None);
    }

    #[test]
    fn policy_parser_errors_have_place_and_hint() {
        let e = errs("allow read opne\n");
        assert_eq!(e.len(), 1);
        let s = e[0].to_string();
        assert!(
            s.starts_with("t.policy:1:12: unknown system call: `opne`"),
            "{s}"
        );
        #[cfg(target_arch = "x86_64")]
        assert!(s.contains("`open`"), "{s}");
        let e = errs("allow @mem\n");
        assert!(
            e[0].to_string().contains("did you mean `@memory`"),
            "{}",
            e[0]
        );
        assert!(e[0].to_string().contains("known groups: @"), "{}", e[0]);
    }

    #[test]
    fn policy_parser_collects_all_errors() {
        let e = errs("allow opne\nbogus x\nlimit cpu abc\ndeny EFOO socket\nallow socket if arg9 == 1\npath read usr/lib\n\ndefault maybe\n");
        let lines: Vec<u32> = e.iter().map(|d| d.line).collect();
        assert_eq!(lines, vec![1, 2, 3, 4, 5, 6, 8], "{e:?}");
    }

    #[test]
    fn policy_parser_conditions() {
        let mut p = Parser::new("t");
        p.parse_file_text(
            "allow socket if arg0==AF_UNIX&&arg1 & SOCK_CLOEXEC|SOCK_NONBLOCK != 0x0\n",
            "t",
        );
        let pol = p.finish().unwrap();
        let c = &pol.rules[0].conds;
        assert_eq!(c.len(), 2);
        assert_eq!(
            c[0],
            Cond {
                arg: 0,
                mask: None,
                op: CmpOp::Eq,
                value: 1
            }
        );
        assert_eq!(
            c[1].mask,
            Some((libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK) as u64)
        );
        assert!(!errs("allow socket if arg0 = 1").is_empty());
        assert!(!errs("allow socket if arg0 == 1 || arg0 == 2").is_empty());
        assert!(!errs("allow socket if").is_empty());
        assert!(!errs("allow socket if arg0 ==").is_empty());
        assert!(!errs("allow socket if arg0 & == 1").is_empty());
        assert!(!errs("allow if arg0 == 1").is_empty());
    }

    #[test]
    fn policy_parser_never_panics_on_junk() {
        // A cheap deterministic fuzz: random bytes from a statement-ish alphabet.
        let alphabet: Vec<char> =
            "allow deny kill log path if arg0 == != & && | < > # \" @ . / * ** EACCES 0x -1 \n\t é"
                .chars()
                .collect();
        let mut x: u64 = 0x9e3779b97f4a7c15;
        for _ in 0..3000 {
            let mut s = String::new();
            for _ in 0..(x % 60) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                s.push(alphabet[(x % alphabet.len() as u64) as usize]);
            }
            let mut p = Parser::new("f");
            p.parse_file_text(&s, "/nonexistent/f.policy");
            let _ = p.finish();
        }
    }
}
