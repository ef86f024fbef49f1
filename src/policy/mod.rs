//! Syscall policies: the file format, the resolved model, the seccomp
//! compiler and the userspace decision with the same semantics.
//!
//! ```
//! use safeexec::policy::{Action, Call, Policy};
//! use std::path::Path;
//! use syscalls::Sysno;
//!
//! let p = Policy::parse("default kill\nallow read write\ndeny EACCES socket\n", "demo.policy").unwrap();
//! let call = Call { sysno: Sysno::socket, args: [2, 1, 0, 0, 0, 0], paths: &[], cwd: Path::new("/") };
//! assert_eq!(p.decide(&call).action, Action::Deny(libc::EACCES));
//! let program = p.compile().unwrap(); // load it with seccomp(2) in the child
//! assert!(program.len() < 4096);
//! ```
//!
//! Format reference: docs/policy.md.

mod baseline;
mod compile;
mod groups;
mod landlock;
mod model;
mod parser;
mod paths;

use std::fmt::Write as _;
use std::path::Path;

use syscalls::Sysno;

pub use baseline::{classic_filter, REFUSED as CLASSIC_REFUSED};
pub use compile::{
    run_filter, SockFilter, AUDIT_ARCH_AARCH64, AUDIT_ARCH_I386, AUDIT_ARCH_X86_64,
    CLONE_FORBIDDEN, MAX_INSNS, NATIVE_AUDIT_ARCH, SECCOMP_RET_ALLOW, SECCOMP_RET_DATA,
    SECCOMP_RET_ERRNO, SECCOMP_RET_KILL_PROCESS, SECCOMP_RET_TRACE, X32_SYSCALL_BIT,
};
pub use groups::{expand as expand_group, group_names, GROUPS};
pub use landlock::{hierarchy as landlock_hierarchy, KernelLandlock, LandlockPlan, LlRule};
pub use model::{
    errno_name, Action, Call, Cause, CmpOp, Cond, Decision, Disposition, Limits, NetRule, Origin,
    PathOp, PathRule, Policy, Rule,
};
pub use parser::{parse_errno, Diagnostic, Diagnostics, PolicyError, MAX_INCLUDE_DEPTH};
pub use paths::{
    open_flags_op, path_args, proc_self_alias, PathArg, PathOpSpec, PathPattern, PatternKind,
};

impl Policy {
    /// Parse policy text. `file` names it in errors and origins, and its
    /// directory is where relative includes are looked up.
    pub fn parse(text: &str, file: &str) -> Result<Policy, PolicyError> {
        let name = Path::new(file)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or(file);
        let mut p = parser::Parser::new(name);
        p.parse_file_text(text, file);
        p.finish()
    }

    /// Read and parse a policy file: a regular file of at most
    /// [`crate::input::MAX_POLICY_BYTES`] (1 MiB), opened without blocking;
    /// its includes are bounded too (see [`crate::input`]).
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let text =
            crate::input::read_bounded(path, crate::input::MAX_POLICY_BYTES, "a policy file")
                .map_err(|source| PolicyError::Io {
                    path: path.to_path_buf(),
                    source,
                })?;
        Policy::parse(&text, &path.display().to_string())
    }

    /// A shipped policy by name; `None` if there is no such name.
    pub fn builtin(name: &str) -> Option<Result<Policy, PolicyError>> {
        let text = parser::builtin_text(name)?;
        let mut p = parser::Parser::new(name);
        p.parse_builtin(name, text);
        Some(p.finish())
    }

    /// Names accepted by [`Policy::builtin`].
    pub fn builtin_names() -> &'static [&'static str] {
        parser::BUILTIN_NAMES
    }

    /// The text of a shipped policy (for `policy show --source` and docs).
    pub fn builtin_source(name: &str) -> Option<&'static str> {
        parser::builtin_text(name)
    }

    /// Is `op` restricted by path rules? An op without rules, or with a `/**`
    /// rule, is unrestricted.
    pub fn op_restricted(&self, op: PathOp) -> bool {
        let mut any = self.args_rules.iter().any(|(ops, _)| ops.contains(&op));
        for r in self.path_rules.iter().filter(|r| r.ops.contains(&op)) {
            if r.pattern.is_everything() {
                return false;
            }
            any = true;
        }
        any
    }

    /// Can a call of `s` have a path that path rules restrict?
    pub fn sys_path_restricted(&self, s: Sysno) -> bool {
        path_args(s)
            .iter()
            .any(|a| a.possible_ops().iter().any(|op| self.op_restricted(*op)))
    }

    /// Does some path rule for `op` allow `path`? (True for unrestricted ops.)
    pub fn path_allowed(&self, op: PathOp, path: &Path, cwd: &Path) -> bool {
        !self.op_restricted(op)
            || self
                .path_rules
                .iter()
                .any(|r| r.ops.contains(&op) && r.pattern.matches(path, cwd))
    }

    /// The decision for one call, with the same semantics as the compiled
    /// filter (built-ins, then the last matching rule, else the default),
    /// plus the path rules, which only the supervisor can check.
    pub fn decide(&self, call: &Call<'_>) -> Decision {
        let s = call.sysno;
        if s == Sysno::clone3 {
            return Decision {
                action: Action::Deny(libc::ENOSYS),
                origin: None,
                cause: Cause::BuiltIn("clone3 answers ENOSYS (libc falls back to clone)".into()),
            };
        }
        if s == Sysno::clone && (call.args[0] as u32) & CLONE_FORBIDDEN != 0 {
            return Decision {
                action: Action::Deny(libc::EPERM),
                origin: None,
                cause: Cause::BuiltIn(
                    "clone with CLONE_UNTRACED or a namespace flag answers EPERM".into(),
                ),
            };
        }
        let (action, origin, cause) =
            match self.rules.iter().rev().find(|r| r.matches(s, &call.args)) {
                Some(r) => (r.action, Some(r.origin.clone()), Cause::Rule),
                None => (self.default, self.default_origin.clone(), Cause::Default),
            };
        if action.runs() {
            for (op, path) in call.paths {
                if !self.path_allowed(*op, path, call.cwd) {
                    return Decision {
                        action: self.on_path_violation,
                        origin: self.on_path_violation_origin.clone(),
                        cause: Cause::PathViolation {
                            op: *op,
                            path: path.clone(),
                        },
                    };
                }
            }
        }
        Decision {
            action,
            origin,
            cause,
        }
    }

    fn describe(&self, s: Sysno, action: Action) -> String {
        match action {
            Action::Kill => "stop: supervisor decides (kill)".into(),
            Action::Log => "stop: supervisor decides (log)".into(),
            Action::Allow if self.sys_path_restricted(s) => {
                "stop: supervisor decides (path rules)".into()
            }
            Action::Allow => "kernel: allow".into(),
            Action::Deny(e) => format!("kernel: fail {}", errno_name(e)),
        }
    }

    /// A human listing of the policy: settings, every named call with its
    /// effective rules, kernel disposition and origin, path rules, built-ins.
    pub fn show(&self) -> String {
        let mut o = String::new();
        let at = |x: &Option<Origin>| match x {
            Some(o) => format!("  ({o})"),
            None => "  (implicit)".to_string(),
        };
        let _ = writeln!(o, "policy {}", self.name);
        let _ = writeln!(o, "default: {}{}", self.default, at(&self.default_origin));
        let _ = writeln!(o, "jail: {}", self.jail.as_deref().unwrap_or("(none)"));
        let l = &self.limits;
        let mut lim = Vec::new();
        let mut f = |name: &str, v: Option<String>| {
            if let Some(v) = v {
                lim.push(format!("{name} {v}"));
            }
        };
        f("cpu", l.cpu.map(|x| format!("{x} s")));
        f("clock", l.clock.map(|x| format!("{x} s")));
        f("memory", l.memory.map(|x| format!("{x} KiB")));
        f("stack", l.stack.map(|x| format!("{x} KiB")));
        f("fsize", l.fsize.map(|x| format!("{x} KiB")));
        f("space", l.space.map(|x| format!("{x} KiB")));
        f("core", l.core.map(|x| format!("{x} KiB")));
        f("nproc", l.nproc.map(|x| x.to_string()));
        f("nfile", l.nfile.map(|x| x.to_string()));
        let _ = writeln!(
            o,
            "limits: {}",
            if lim.is_empty() {
                "(none set)".to_string()
            } else {
                lim.join(", ")
            }
        );
        let _ = writeln!(o, "\nbuilt-in, not overridable:");
        let _ = writeln!(
            o,
            "  non-native ABIs (i386 int 0x80, x32 numbers) -> kill process (in kernel)"
        );
        let _ = writeln!(
            o,
            "  clone3 -> fail ENOSYS (in kernel; libc falls back to clone)"
        );
        let _ = writeln!(
            o,
            "  clone with CLONE_UNTRACED or CLONE_NEW* flags -> fail EPERM (in kernel)"
        );
        let _ = writeln!(o, "\nsystem calls (last matching rule wins):");
        for s in Sysno::iter() {
            // Effective rules: from the last unconditional one onwards.
            let named: Vec<&Rule> = self.rules.iter().filter(|r| r.names(s)).collect();
            if named.is_empty() {
                continue;
            }
            let from = named.iter().rposition(|r| r.conds.is_empty()).unwrap_or(0);
            let eff = &named[from..];
            for r in eff.iter().rev() {
                let conds = if r.conds.is_empty() {
                    String::new()
                } else {
                    format!(
                        " if {}",
                        r.conds
                            .iter()
                            .map(|c| c.to_string())
                            .collect::<Vec<_>>()
                            .join(" && ")
                    )
                };
                let _ = writeln!(
                    o,
                    "  {:<18} {:<20} {:<40} {}",
                    s.name(),
                    format!(
                        "{}{}",
                        r.action,
                        if conds.is_empty() { "" } else { " (when)" }
                    ),
                    format!("{}{conds}", self.describe(s, r.action)),
                    r.origin
                );
            }
            if eff.first().is_some_and(|r| !r.conds.is_empty()) {
                let _ = writeln!(
                    o,
                    "  {:<18} {:<20} {:<40} default",
                    s.name(),
                    format!("{} (else)", self.default),
                    self.describe(s, self.default)
                );
            }
        }
        let _ = writeln!(
            o,
            "  {:<18} {:<20} {}",
            "(all others)",
            self.default.to_string(),
            self.describe(Sysno::getpid, self.default)
        );
        let _ = writeln!(
            o,
            "\npaths (a call allowed by its rule must also match a path rule for its op):"
        );
        for op in PathOp::ALL {
            let rules: Vec<&PathRule> = self
                .path_rules
                .iter()
                .filter(|r| r.ops.contains(&op))
                .collect();
            if !self.op_restricted(op) {
                match rules.iter().find(|r| r.pattern.is_everything()) {
                    Some(r) => {
                        let _ = writeln!(o, "  {op}: unrestricted (/** at {})", r.origin);
                    }
                    None => {
                        let _ = writeln!(o, "  {op}: unrestricted (no path rules)");
                    }
                }
                continue;
            }
            let _ = writeln!(o, "  {op}:");
            for r in rules {
                let _ = writeln!(o, "    {:<40} {}", r.pattern.raw, r.origin);
            }
            for (_, origin) in self.args_rules.iter().filter(|(ops, _)| ops.contains(&op)) {
                let _ = writeln!(
                    o,
                    "    {:<40} {}",
                    "$ARGS (paths the command line names)", origin
                );
            }
        }
        let _ = writeln!(
            o,
            "on-path-violation: {}{}",
            self.on_path_violation,
            at(&self.on_path_violation_origin)
        );
        o.push_str(&self.show_landlock(KernelLandlock::detect()));
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn call<'a>(s: Sysno, args: [u64; 6], paths: &'a [(PathOp, PathBuf)]) -> Call<'a> {
        Call {
            sysno: s,
            args,
            paths,
            cwd: Path::new("/home/run"),
        }
    }

    #[test]
    fn args_rules_restrict_even_when_empty_and_expand_to_named_paths() {
        use crate::config::{NamedPath, NamedWhat};
        let mut p = Policy::parse("default allow\npath read $ARGS\n", "t").unwrap();
        assert!(p.op_restricted(PathOp::Read), "$ARGS alone restricts read");
        assert!(!p.op_restricted(PathOp::Write));
        let named = [
            NamedPath {
                path: "/srv/sub/42".into(),
                dir: true,
                what: NamedWhat::Argument,
            },
            NamedPath {
                path: "/srv/main.py".into(),
                dir: false,
                what: NamedWhat::Program,
            },
            NamedPath {
                path: "/srv/wd".into(),
                dir: true,
                what: NamedWhat::ExecDir,
            },
            NamedPath {
                path: "/srv/data".into(),
                dir: true,
                what: NamedWhat::AllowRead,
            },
            NamedPath {
                path: "/srv/out".into(),
                dir: true,
                what: NamedWhat::AllowWrite,
            },
        ];
        p.add_named_rules(&named);
        let cwd = Path::new("/");
        let read = |f: &str| p.path_allowed(PathOp::Read, Path::new(f), cwd);
        assert!(read("/srv/sub/42/Main.class"));
        assert!(read("/srv/sub/42"));
        assert!(read("/srv/main.py"));
        assert!(!read("/srv/main.pyc"), "a file is exact");
        assert!(!read("/srv/wd/x"), "--exec_dir is not $ARGS");
        assert!(read("/srv/data/in.txt"));
        assert!(read("/srv/out/x"));
        // Write stays unrestricted: --allow-write only widens.
        assert!(!p.op_restricted(PathOp::Write));
        assert!(p.path_allowed(PathOp::Write, Path::new("/etc/x"), cwd));
        // Twice is the same as once.
        let n = p.path_rules().len();
        p.add_named_rules(&named);
        assert_eq!(p.path_rules().len(), n);
    }

    #[test]
    fn allow_write_adds_write_rules_where_write_is_restricted() {
        use crate::config::{NamedPath, NamedWhat};
        let mut p = Policy::parse("default allow\npath write ./**\n", "t").unwrap();
        p.add_named_rules(&[NamedPath {
            path: "/srv/out".into(),
            dir: true,
            what: NamedWhat::AllowWrite,
        }]);
        let cwd = Path::new("/home/run");
        assert!(p.path_allowed(PathOp::Write, Path::new("/srv/out/a/b"), cwd));
        assert!(!p.path_allowed(PathOp::Write, Path::new("/srv/outside"), cwd));
        assert!(!p.op_restricted(PathOp::Read));
    }

    #[test]
    fn policy_every_builtin_parses_and_compiles() {
        for name in Policy::builtin_names() {
            let p = match Policy::builtin(name) {
                Some(Ok(p)) => p,
                Some(Err(e)) => panic!("{name}: {e}"),
                None => panic!("{name} missing"),
            };
            assert_eq!(p.name(), *name);
            let prog = p.compile().unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(prog.len() <= MAX_INSNS);
            assert!(!p.show().is_empty());
        }
        assert!(Policy::builtin("nope").is_none());
    }

    #[test]
    fn policy_default_denies_network_and_kills_ptrace() {
        let p = Policy::builtin("default").unwrap().unwrap();
        let prog = p.compile().unwrap();
        let run = |s: Sysno, a: [u64; 6]| {
            run_filter(&prog, s.id() as u32, NATIVE_AUDIT_ARCH, &a).unwrap()
        };
        let z = [0; 6];
        // socket is not allowed: the kernel stops it for the supervisor (kill)
        assert_eq!(
            run(Sysno::socket, [2, 1, 0, 0, 0, 0]) & 0xffff_0000,
            SECCOMP_RET_TRACE
        );
        assert_eq!(
            p.decide(&call(Sysno::socket, [2, 1, 0, 0, 0, 0], &[]))
                .action,
            Action::Kill
        );
        assert_eq!(p.decide(&call(Sysno::ptrace, z, &[])).action, Action::Kill);
        assert_eq!(
            p.decide(&call(Sysno::io_uring_setup, z, &[])).action,
            Action::Kill
        );
        assert_eq!(run(Sysno::read, z), SECCOMP_RET_ALLOW);
        assert_eq!(run(Sysno::write, z), SECCOMP_RET_ALLOW);
        assert_eq!(run(Sysno::mmap, z), SECCOMP_RET_ALLOW);
        assert_eq!(run(Sysno::exit_group, z), SECCOMP_RET_ALLOW);
        assert_eq!(
            p.decide(&call(
                Sysno::clone,
                [libc::SIGCHLD as u64, 0, 0, 0, 0, 0],
                &[]
            ))
            .action,
            Action::Kill
        );
        assert_eq!(p.kernel_disposition(Sysno::read), Disposition::Allow);
        assert_eq!(p.kernel_disposition(Sysno::socket), Disposition::Trace);
        assert_eq!(
            p.kernel_disposition(Sysno::clone3),
            Disposition::Errno(libc::ENOSYS)
        );
        // paths
        let read_lib = [(
            PathOp::Read,
            PathBuf::from("/usr/lib/x86_64-linux-gnu/libc.so.6"),
        )];
        let flags_ro = libc::O_RDONLY as u64;
        assert_eq!(
            p.decide(&call(Sysno::openat, [0, 0, flags_ro, 0, 0, 0], &read_lib))
                .action,
            Action::Allow
        );
        let read_shadow = [(PathOp::Read, PathBuf::from("/etc/shadow"))];
        let d = p.decide(&call(
            Sysno::openat,
            [0, 0, flags_ro, 0, 0, 0],
            &read_shadow,
        ));
        assert_eq!(d.action, Action::Deny(libc::EACCES));
        assert_eq!(d.reason(), "path /etc/shadow not allowed for read");
        let write_cwd = [(PathOp::Write, PathBuf::from("/home/run/out.txt"))];
        assert_eq!(
            p.decide(&call(
                Sysno::openat,
                [0, 0, libc::O_WRONLY as u64, 0, 0, 0],
                &write_cwd
            ))
            .action,
            Action::Allow
        );
        let write_tmp = [(PathOp::Write, PathBuf::from("/tmp/out.txt"))];
        assert_eq!(
            p.decide(&call(
                Sysno::openat,
                [0, 0, libc::O_WRONLY as u64, 0, 0, 0],
                &write_tmp
            ))
            .action,
            Action::Deny(libc::EACCES)
        );
        let stat_any = [(PathOp::Stat, PathBuf::from("/etc/shadow"))];
        assert_eq!(
            p.decide(&call(Sysno::newfstatat, z, &stat_any)).action,
            Action::Allow
        );
        // stat is unrestricted (/**), so newfstatat is allowed in the kernel
        assert_eq!(p.kernel_disposition(Sysno::newfstatat), Disposition::Allow);
        assert_eq!(p.kernel_disposition(Sysno::openat), Disposition::Trace);
        assert!(p.show().contains("stat: unrestricted (/** at"));
        assert!(p.show().contains("exec: unrestricted (no path rules)"));
    }

    #[test]
    fn policy_last_match_wins_and_origins() {
        let p = Policy::parse("include base\nallow socket if arg0 == AF_UNIX\ndeny EAFNOSUPPORT socket if arg0 != AF_UNIX\n", "/x/t.policy").unwrap();
        let d = p.decide(&call(
            Sysno::socket,
            [libc::AF_UNIX as u64, 1, 0, 0, 0, 0],
            &[],
        ));
        assert_eq!(d.action, Action::Allow);
        assert_eq!(
            d.origin.as_ref().map(|o| o.to_string()).as_deref(),
            Some("/x/t.policy:2")
        );
        let d = p.decide(&call(
            Sysno::socket,
            [libc::AF_INET as u64, 1, 0, 0, 0, 0],
            &[],
        ));
        assert_eq!(d.action, Action::Deny(libc::EAFNOSUPPORT));
        let d = p.decide(&call(Sysno::ptrace, [0; 6], &[]));
        assert_eq!(d.action, Action::Kill);
        assert!(
            d.origin.as_ref().is_some_and(|o| o.file == "builtin:base"),
            "{d:?}"
        );
        let d = p.decide(&call(
            Sysno::clone,
            [libc::CLONE_UNTRACED as u64, 0, 0, 0, 0, 0],
            &[],
        ));
        assert_eq!(d.action, Action::Deny(libc::EPERM));
        assert!(matches!(d.cause, Cause::BuiltIn(_)), "{d:?}");
    }

    #[test]
    fn policy_includes_files_cycles_depth() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("a.policy"), "include ./b.policy\nallow read\n").unwrap();
        std::fs::create_dir(d.join("sub")).unwrap();
        std::fs::write(d.join("b.policy"), "include \"sub/c.policy\"\n").unwrap();
        std::fs::write(d.join("sub/c.policy"), "default deny EACCES\n").unwrap();
        let p = Policy::load(&d.join("a.policy")).unwrap();
        assert_eq!(p.default_action(), Action::Deny(libc::EACCES));
        assert_eq!(p.name(), "a");
        // cycle
        std::fs::write(d.join("x.policy"), "include ./y.policy\n").unwrap();
        std::fs::write(
            d.join("y.policy"),
            "include ../{}/x.policy\n".replace("{}", d.file_name().unwrap().to_str().unwrap()),
        )
        .unwrap();
        let e = Policy::load(&d.join("x.policy")).unwrap_err();
        assert!(e.to_string().contains("include cycle"), "{e}");
        // depth: a chain of 20 files
        for i in 0..20 {
            std::fs::write(
                d.join(format!("n{i}.policy")),
                format!("include ./n{}.policy\n", i + 1),
            )
            .unwrap();
        }
        std::fs::write(d.join("n20.policy"), "allow read\n").unwrap();
        let e = Policy::load(&d.join("n0.policy")).unwrap_err();
        assert!(e.to_string().contains("nested deeper"), "{e}");
        // missing file / io error names the path
        let e = Policy::load(&d.join("missing.policy")).unwrap_err();
        assert!(e.to_string().contains("missing.policy"), "{e}");
        let e = Policy::parse(
            "include ./nothere.policy\n",
            &d.join("t.policy").display().to_string(),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("t.policy:1:9: cannot read included file"),
            "{e}"
        );
    }

    #[test]
    fn policy_include_fan_out_and_size_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // f0 includes f1 eight times, f1 includes f2 eight times, ... 16
        // levels: 8^15 parses without a bound on files.
        for i in 0..16 {
            std::fs::write(
                d.join(format!("f{i}.policy")),
                format!("include ./f{}.policy\n", i + 1).repeat(8),
            )
            .unwrap();
        }
        std::fs::write(d.join("f16.policy"), "allow read\n").unwrap();
        let t = std::time::Instant::now();
        let e = Policy::load(&d.join("f0.policy")).unwrap_err();
        assert!(t.elapsed() < std::time::Duration::from_secs(1));
        assert_eq!(e.diagnostics().len(), 1, "{e}");
        assert!(
            e.to_string()
                .contains("more than 64 files parsed for one policy"),
            "{e}"
        );
        // a shipped policy included again and again counts too
        let e = Policy::parse(&"include base\n".repeat(100), "t").unwrap_err();
        assert!(e.to_string().contains("more than 64 files"), "{e}");
        // one file over 1 MiB, as the policy and as an include
        let big = d.join("big.policy");
        std::fs::write(&big, "# padding\n".repeat(110_000)).unwrap();
        let e = Policy::load(&big).unwrap_err();
        assert!(
            e.to_string()
                .contains("larger than 1 MiB, the bound for a policy file"),
            "{e}"
        );
        std::fs::write(d.join("inc.policy"), "include ./big.policy\n").unwrap();
        let e = Policy::load(&d.join("inc.policy")).unwrap_err();
        assert!(e.to_string().contains("larger than 1 MiB"), "{e}");
        // five files of 0.9 MiB: over 4 MiB in total
        std::fs::write(d.join("m.policy"), "# padding\n".repeat(90_000)).unwrap();
        std::fs::write(d.join("m2.policy"), "# padding\n".repeat(90_000)).unwrap();
        std::fs::write(
            d.join("many.policy"),
            "include ./m.policy\ninclude ./m2.policy\n".repeat(3),
        )
        .unwrap();
        let e = Policy::load(&d.join("many.policy")).unwrap_err();
        assert!(
            e.to_string()
                .contains("more than 4 MiB of policy text with its includes"),
            "{e}"
        );
        // a file of junk within the bound: 100 problems listed, then one
        // saying the rest was not read
        std::fs::write(d.join("junk.policy"), "x\n".repeat(500_000)).unwrap();
        let t = std::time::Instant::now();
        let e = Policy::load(&d.join("junk.policy")).unwrap_err();
        assert!(t.elapsed() < std::time::Duration::from_secs(2));
        assert_eq!(e.diagnostics().len(), 101);
        assert!(e.diagnostics()[100]
            .message
            .contains("more than 100 problems"));
        // /dev/zero is refused at once
        let e = Policy::load(Path::new("/dev/zero")).unwrap_err();
        assert!(e.to_string().contains("a character device"), "{e}");
    }

    #[test]
    fn policy_limits_and_settings() {
        let p = Policy::parse("limit cpu 2.5 mem 1024\nlimit clock 10\nlimit nproc 0 fsize 8192 nfile 64 stack 8192 space 0 core 0\njail c\non-path-violation kill\n", "t").unwrap();
        let l = p.limits();
        assert_eq!(
            (l.cpu, l.memory, l.clock, l.nproc, l.fsize, l.nfile),
            (
                Some(2.5),
                Some(1024),
                Some(10.0),
                Some(0),
                Some(8192),
                Some(64)
            )
        );
        assert_eq!(p.jail(), Some("c"));
        assert_eq!(p.on_path_violation(), Action::Kill);
        assert_eq!(p.default_action(), Action::Kill);
    }

    /// The calls strace saw on this project's reference machine (Debian 12,
    /// glibc 2.36): each shipped policy must let them run (not kill).
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn policy_shipped_policies_cover_traced_programs() {
        let cases: &[(&str, &str)] = &[
            ("default", "access arch_prctl brk close execve exit_group futex getrandom lseek mmap mprotect munmap newfstatat openat pread64 prlimit64 read readlink rseq set_robust_list set_tid_address write"),
            ("python3", "newfstatat read openat lseek close mmap rt_sigaction getdents64 mprotect brk munmap fcntl getrandom pread64 gettid getcwd sysinfo set_tid_address set_robust_list rseq readlink prlimit64 getuid getgid geteuid getegid futex exit_group execve arch_prctl access"),
            ("java", "futex mprotect mmap openat newfstatat rt_sigprocmask close read gettid sched_getaffinity rt_sigaction set_robust_list rseq readlink munmap sysinfo lseek pread64 write madvise exit prlimit64 getrusage getpid geteuid getdents64 fcntl fchdir brk sched_yield ftruncate access unlink uname set_tid_address rt_sigreturn mkdir getuid getrandom getcwd flock exit_group execve clock_nanosleep clock_getres arch_prctl"),
        ];
        for (name, calls) in cases {
            let p = Policy::builtin(name).unwrap().unwrap();
            for c in calls.split_whitespace() {
                let s: Sysno = c.parse().unwrap();
                let d = p.decide(&call(s, [0; 6], &[]));
                assert!(
                    d.action.runs(),
                    "{name}: {c} -> {:?} ({})",
                    d.action,
                    d.reason()
                );
            }
            let tcgets = [1, libc::TCGETS, 0, 0, 0, 0];
            assert!(
                p.decide(&call(Sysno::ioctl, tcgets, &[])).action.runs(),
                "{name}: ioctl TCGETS"
            );
            assert_eq!(
                p.decide(&call(Sysno::ioctl, [1, 0x5401 + 0x100, 0, 0, 0, 0], &[]))
                    .action,
                Action::Deny(libc::ENOTTY)
            );
            // every policy: clone3 answers ENOSYS, fork-like clone kills
            assert_eq!(
                p.decide(&call(Sysno::clone3, [0; 6], &[])).action,
                Action::Deny(libc::ENOSYS)
            );
            assert_eq!(
                p.decide(&call(
                    Sysno::clone,
                    [libc::SIGCHLD as u64, 0, 0, 0, 0, 0],
                    &[]
                ))
                .action,
                Action::Kill,
                "{name}"
            );
        }
        let java = Policy::builtin("java").unwrap().unwrap();
        let thread = (libc::CLONE_VM
            | libc::CLONE_FS
            | libc::CLONE_FILES
            | libc::CLONE_SIGHAND
            | libc::CLONE_THREAD
            | libc::CLONE_SYSVSEM
            | libc::CLONE_SETTLS
            | libc::CLONE_PARENT_SETTID
            | libc::CLONE_CHILD_CLEARTID) as u64;
        assert_eq!(
            java.decide(&call(Sysno::clone, [thread, 0, 0, 0, 0, 0], &[]))
                .action,
            Action::Allow
        );
        assert_eq!(
            java.decide(&call(
                Sysno::prctl,
                [libc::PR_SET_NAME as u64, 0, 0, 0, 0, 0],
                &[]
            ))
            .action,
            Action::Allow
        );
        assert_eq!(
            java.decide(&call(
                Sysno::socket,
                [libc::AF_UNIX as u64, 1, 0, 0, 0, 0],
                &[]
            ))
            .action,
            Action::Deny(libc::EACCES)
        );
        assert_eq!(
            java.decide(&call(
                Sysno::socket,
                [libc::AF_INET as u64, 1, 0, 0, 0, 0],
                &[]
            ))
            .action,
            Action::Kill
        );
        let jdk = [(
            PathOp::Read,
            PathBuf::from("/usr/lib/jvm/java-17-openjdk-amd64/lib/modules"),
        )];
        assert_eq!(
            java.decide(&call(Sysno::openat, [0; 6], &jdk)).action,
            Action::Allow
        );
        let cg = [(PathOp::Write, PathBuf::from("/proc/self/coredump_filter"))];
        assert_eq!(
            java.decide(&call(Sysno::openat, [0; 6], &cg)).action,
            Action::Allow
        );
        let py = Policy::builtin("python3").unwrap().unwrap();
        for f in [
            "/usr/lib/python3.11/json/__init__.py",
            "/root/.pyenv/versions/3.11.7/lib/python3.11/re/_parser.py",
            "/usr/local/lib/python3.11/dist-packages/x.pth",
        ] {
            let r = [(PathOp::Read, PathBuf::from(f))];
            assert_eq!(
                py.decide(&call(Sysno::openat, [0; 6], &r)).action,
                Action::Allow,
                "{f}"
            );
        }
        let r = [(PathOp::Read, PathBuf::from("/etc/shadow"))];
        assert_eq!(
            py.decide(&call(Sysno::openat, [0; 6], &r)).action,
            Action::Deny(libc::EACCES)
        );
    }
}
