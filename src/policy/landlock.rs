//! Compiling a policy's `path` rules into a Landlock ruleset, so the kernel
//! checks every file access of every thread and process of the run on the
//! object it resolved (magic links, symlinks swapped in a race and strings
//! rewritten after the supervisor's check included).
//!
//! Landlock grants rights on whole hierarchies (a directory and everything
//! beneath it) or on one file. A pattern that is not exactly a hierarchy
//! compiles to the smallest hierarchy that covers it:
//!
//! | pattern | Landlock rule |
//! |---|---|
//! | `/usr/lib/**` | the hierarchy `/usr/lib` (exact) |
//! | `/etc/passwd` | that file (a directory: its hierarchy) |
//! | `/tmp/*` | the hierarchy `/tmp` (wider: deeper levels too) |
//! | `/tmp/hsperfdata_*/**` | the hierarchy `/tmp` (wider: a glob inside) |
//!
//! The supervisor's check of the path rules stays as the second, narrower
//! layer and for reporting (the verdict and trace name the path and rule).
//!
//! Ops map to access rights: `read` → read file, read directory (and ioctl
//! on devices, ABI 5); `write` → write file, truncate (ABI 3), create and
//! remove files, directories, symlinks, fifos and sockets, refer (ABI 2;
//! rename and link across directories), ioctl on devices (ABI 5); `exec` →
//! execute. `stat` has no Landlock right (stat, readlink and access are not
//! checked by Landlock). An op without path rules or with `/**` is not
//! handled at all. Device nodes can never be created (mknod is handled with
//! the write rights and never granted).

use std::ffi::CString;
use std::fmt::Write as _;
use std::os::fd::OwnedFd;
use std::path::Path;

use landlock::{
    Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, NetPort, Ruleset, RulesetAttr,
    RulesetCreatedAttr, Scope, ABI,
};
use syscalls::Sysno;

use super::model::{PathOp, PathRule, Policy};
use super::paths::PatternKind;

/// The Landlock ABI this kernel offers, or why it offers none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelLandlock {
    /// Landlock works; its ABI version (1 = Linux 5.13, ... 7 = Linux 6.15).
    Abi(i32),
    /// ENOSYS: the kernel is built without Landlock (older than 5.13 or
    /// CONFIG_SECURITY_LANDLOCK off).
    NotBuilt,
    /// EOPNOTSUPP: built in but not enabled at boot (`lsm=` lacks landlock).
    Disabled,
}

impl KernelLandlock {
    /// Asks the kernel. A debug build (the tests) honours
    /// SAFEEXEC_TEST_NO_LANDLOCK=1 to act as on a kernel without Landlock;
    /// a release build ignores it.
    pub fn detect() -> KernelLandlock {
        if cfg!(debug_assertions) && std::env::var_os("SAFEEXEC_TEST_NO_LANDLOCK").is_some() {
            return KernelLandlock::NotBuilt;
        }
        match crate::sys::landlock::abi_version() {
            Ok(v) if v >= 1 => KernelLandlock::Abi(v),
            Err(nix::errno::Errno::EOPNOTSUPP) => KernelLandlock::Disabled,
            _ => KernelLandlock::NotBuilt,
        }
    }

    pub fn abi(self) -> Option<i32> {
        match self {
            KernelLandlock::Abi(v) => Some(v),
            _ => None,
        }
    }

    /// Why there is no Landlock, for messages.
    pub fn why(self) -> &'static str {
        match self {
            KernelLandlock::Abi(_) => "available",
            KernelLandlock::NotBuilt => {
                "the kernel has no Landlock (Linux older than 5.13, or built without CONFIG_SECURITY_LANDLOCK)"
            }
            KernelLandlock::Disabled => {
                "Landlock is built into the kernel but not enabled (add landlock to the lsm= boot parameter)"
            }
        }
    }
}

/// One Landlock rule of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LlRule {
    /// The path the child opens (`O_PATH`) after its mounts and chdir:
    /// absolute, or relative to the run's working directory (`./x`, `.`).
    pub path: String,
    /// Rights granted beneath it (masked to file rights on a file).
    pub access: u64,
    /// What it comes from (the pattern as written, or `program`).
    pub from: String,
    /// The rule covers more than the pattern (a glob inside, `/x/*`).
    pub wider: bool,
}

/// A policy's path rules as a Landlock ruleset for one kernel ABI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LandlockPlan {
    pub abi: i32,
    /// Filesystem rights the ruleset handles (denied unless a rule grants them).
    pub handled_fs: u64,
    /// TCP bind and connect, handled (and never granted) when the policy
    /// allows no network (ABI 4).
    pub handled_net: u64,
    /// Abstract UNIX sockets and signals scoped to the run (ABI 6).
    pub scoped: u64,
    pub rules: Vec<LlRule>,
    /// TCP ports granted (`net` rules): port and the AccessNet right.
    pub net_ports: Vec<(u16, u64)>,
    /// Rights a rule on a file (not a directory) may carry.
    pub file_access: u64,
}

fn read_rights(abi: ABI) -> BitFlags<AccessFs> {
    let mut r = AccessFs::ReadFile | AccessFs::ReadDir;
    if abi >= ABI::V5 {
        r |= AccessFs::IoctlDev;
    }
    r
}

/// What `write` grants (MakeChar and MakeBlock are handled, never granted).
fn write_rights(abi: ABI) -> BitFlags<AccessFs> {
    let mut w = AccessFs::WriteFile
        | AccessFs::RemoveDir
        | AccessFs::RemoveFile
        | AccessFs::MakeDir
        | AccessFs::MakeReg
        | AccessFs::MakeSock
        | AccessFs::MakeFifo
        | AccessFs::MakeSym;
    if abi >= ABI::V2 {
        w |= AccessFs::Refer;
    }
    if abi >= ABI::V3 {
        w |= AccessFs::Truncate;
    }
    if abi >= ABI::V5 {
        w |= AccessFs::IoctlDev;
    }
    w
}

/// Rights an op grants, for one ABI.
fn op_rights(op: PathOp, abi: ABI) -> BitFlags<AccessFs> {
    match op {
        PathOp::Read => read_rights(abi),
        PathOp::Write => write_rights(abi),
        PathOp::Exec => AccessFs::Execute.into(),
        PathOp::Stat => BitFlags::EMPTY,
    }
}

/// Rights the ruleset handles for a restricted op.
fn op_handled(op: PathOp, abi: ABI) -> BitFlags<AccessFs> {
    match op {
        PathOp::Write => write_rights(abi) | AccessFs::MakeChar | AccessFs::MakeBlock,
        _ => op_rights(op, abi),
    }
}

/// The Landlock path of a rule's pattern: (path to open, wider than the pattern).
pub fn hierarchy(rule: &PathRule) -> (String, bool) {
    let p = &rule.pattern;
    let glob_at = p.components.iter().position(|c| c.contains('*'));
    let comps = match glob_at {
        Some(i) => &p.components[..i],
        None => &p.components[..],
    };
    let joined = comps.join("/");
    let path = match (p.relative, joined.is_empty()) {
        (true, true) => ".".to_string(),
        (true, false) => format!("./{joined}"),
        (false, _) => format!("/{joined}"),
    };
    let wider = glob_at.is_some() || p.kind == PatternKind::Children;
    (path, wider)
}

impl Policy {
    /// Does any path rule restrict an op Landlock can enforce (read, write, exec)?
    /// `net` rules count too: only Landlock enforces them.
    pub fn landlock_relevant(&self) -> bool {
        !self.net_rules.is_empty()
            || [PathOp::Read, PathOp::Write, PathOp::Exec]
                .into_iter()
                .any(|op| self.op_restricted(op))
    }

    /// Does the policy let `connect` or `bind` run (by a rule or the default)?
    pub fn allows_network(&self) -> bool {
        [Sysno::connect, Sysno::bind].into_iter().any(|s| {
            let named: Vec<_> = self.rules.iter().filter(|r| r.names(s)).collect();
            named.iter().any(|r| r.action.runs())
                || (!named.iter().any(|r| r.conds.is_empty()) && self.default.runs())
        })
    }

    /// The policy's path rules as a Landlock ruleset for `abi` (>= 1), plus
    /// read and execute of `program` and of `loaders` (its ELF interpreter
    /// or `#!` interpreter: the kernel reads and maps what it executes,
    /// which the supervisor's exec check never sees).
    /// None when no path rule restricts read, write or exec.
    pub fn landlock_plan(
        &self,
        abi: i32,
        program: &Path,
        loaders: &[std::path::PathBuf],
    ) -> Option<LandlockPlan> {
        if !self.landlock_relevant() || abi < 1 {
            return None;
        }
        let a = ABI::from(abi);
        let mut handled = BitFlags::<AccessFs>::EMPTY;
        for op in [PathOp::Read, PathOp::Write, PathOp::Exec] {
            if self.op_restricted(op) {
                handled |= op_handled(op, a);
            }
        }
        // ioctl on devices belongs to read and write: handled only when both are.
        if !(self.op_restricted(PathOp::Read) && self.op_restricted(PathOp::Write)) {
            handled &= !BitFlags::from(AccessFs::IoctlDev);
        }
        handled &= AccessFs::from_all(a);
        let mut rules = Vec::new();
        for r in &self.path_rules {
            let mut access = BitFlags::<AccessFs>::EMPTY;
            for op in &r.ops {
                access |= op_rights(*op, a);
            }
            let access = access & handled;
            if access.is_empty() {
                continue;
            }
            let (path, wider) = hierarchy(r);
            rules.push(LlRule {
                path,
                access: (access).bits(),
                from: r.pattern.raw.clone(),
                wider,
            });
        }
        let prog = (AccessFs::ReadFile | AccessFs::Execute) & handled;
        if !prog.is_empty() {
            rules.push(LlRule {
                path: program.display().to_string(),
                access: (prog).bits(),
                from: "the program itself".into(),
                wider: false,
            });
            for l in loaders {
                rules.push(LlRule {
                    path: l.display().to_string(),
                    access: (prog).bits(),
                    from: "the program's interpreter".into(),
                    wider: false,
                });
            }
        }
        let mut handled_net = BitFlags::<AccessNet>::EMPTY;
        if abi >= 4 {
            if !self.allows_network() {
                handled_net = AccessNet::BindTcp | AccessNet::ConnectTcp;
            }
            if self.net_ports(true).is_some() {
                handled_net |= AccessNet::ConnectTcp;
            }
            if self.net_ports(false).is_some() {
                handled_net |= AccessNet::BindTcp;
            }
        }
        let mut net_ports = Vec::new();
        for (connect, right) in [(true, AccessNet::ConnectTcp), (false, AccessNet::BindTcp)] {
            if handled_net.contains(right) {
                for port in self.net_ports(connect).unwrap_or_default() {
                    net_ports.push((port, BitFlags::from(right).bits()));
                }
            }
        }
        let handled_net = handled_net.bits();
        let scoped = if abi >= 6 {
            (Scope::AbstractUnixSocket | Scope::Signal).bits()
        } else {
            0
        };
        Some(LandlockPlan {
            abi,
            handled_fs: (handled).bits(),
            handled_net,
            scoped,
            rules,
            net_ports,
            file_access: (AccessFs::from_file(a)).bits(),
        })
    }

    /// Whether a Landlock ruleset of this policy on ABI `abi` enforces the
    /// path rules of the open family exactly as the supervisor's check
    /// does, so that those calls need no stop ([`Policy::compile_opens_in_kernel`]).
    /// `is_dir` tells whether a pattern's path (as [`hierarchy`] gives it)
    /// is a directory in the run's view. Err says why not:
    ///
    /// - a violation must fail with EACCES (what Landlock answers): `on
    ///   path violation kill` or `log` needs the supervisor;
    /// - `stat` must be unrestricted: Landlock does not check `O_PATH`
    ///   opens, which give what a stat gives;
    /// - ABI 3 or later, so `O_TRUNC` on a read-only open is checked;
    /// - every read and write rule must compile to exactly the paths it
    ///   names: no glob inside, no `dir/*`, and an exact pattern must not be
    ///   a directory (Landlock would grant its whole hierarchy).
    ///
    /// Landlock also grants read of the program and its interpreter (rules
    /// "the program itself"): what the kernel maps into the process anyway.
    ///
    /// And the supervisor's built-in refusal of other processes' `/proc`
    /// entries (`/proc/PID/mem`, `fd`, `root`, ...) must hold without it:
    /// `read` and `write` must both be restricted (handled by Landlock), and
    /// no read or write rule may reach another process's `/proc/PID`
    /// (`reaches_proc` says whether a rule's path, in the run's view and with
    /// symlinks resolved, is `/`, `/proc` or below `/proc/PID`; `/proc/self`
    /// is the program's own).
    pub fn opens_checked_by_landlock(
        &self,
        abi: i32,
        is_dir: impl Fn(&str) -> bool,
        reaches_proc: impl Fn(&str) -> bool,
    ) -> Result<(), String> {
        if self.on_path_violation != super::model::Action::Deny(libc::EACCES) {
            return Err(format!(
                "a path violation is `{}`, not a failure with EACCES",
                self.on_path_violation
            ));
        }
        if self.op_restricted(PathOp::Stat) {
            return Err("stat is restricted (Landlock does not check O_PATH opens)".into());
        }
        if abi < 3 {
            return Err(format!("Landlock ABI {abi} does not check truncation"));
        }
        for op in [PathOp::Read, PathOp::Write] {
            if !self.op_restricted(op) {
                return Err(format!(
                    "{op} is unrestricted (Landlock would not refuse other processes' /proc entries)"
                ));
            }
        }
        for r in &self.path_rules {
            let ops: Vec<PathOp> = r
                .ops
                .iter()
                .copied()
                .filter(|op| matches!(op, PathOp::Read | PathOp::Write) && self.op_restricted(*op))
                .collect();
            if ops.is_empty() {
                continue;
            }
            let (path, wider) = hierarchy(r);
            if reaches_proc(&path) {
                return Err(format!(
                    "`{}` reaches other processes' /proc entries",
                    r.pattern.raw
                ));
            }
            // A hierarchy Landlock grants is still exact when another rule
            // allows all of it for the same ops (`/usr/lib/python3*/**`
            // next to `/usr/lib/**`).
            if (wider || r.pattern.kind == PatternKind::Exact) && self.tree_covers(r, &ops) {
                continue;
            }
            if wider {
                return Err(format!(
                    "`{}` compiles to the wider hierarchy {path}",
                    r.pattern.raw
                ));
            }
            if r.pattern.kind == PatternKind::Exact && is_dir(&path) {
                return Err(format!(
                    "`{}` is a directory (Landlock would grant what is beneath it)",
                    r.pattern.raw
                ));
            }
        }
        Ok(())
    }

    /// Does a glob-free `DIR/**` rule allow, for every op of `ops`, the
    /// whole hierarchy Landlock grants for `r`?
    fn tree_covers(&self, r: &PathRule, ops: &[PathOp]) -> bool {
        let p = &r.pattern;
        let base: &[String] = match p.components.iter().position(|c| c.contains('*')) {
            Some(i) => &p.components[..i],
            None => &p.components[..],
        };
        ops.iter().all(|op| {
            self.path_rules.iter().any(|t| {
                let tp = &t.pattern;
                t.ops.contains(op)
                    && tp.kind == PatternKind::Tree
                    && tp.relative == p.relative
                    && !tp.components.iter().any(|c| c.contains('*'))
                    && base.starts_with(&tp.components)
            })
        })
    }

    /// The Landlock section of `policy show` for this kernel.
    pub fn show_landlock(&self, kernel: KernelLandlock) -> String {
        let mut o = String::new();
        if !self.landlock_relevant() {
            let _ = writeln!(
                o,
                "\npath enforcement: no read, write or exec path rules (nothing for Landlock)"
            );
            return o;
        }
        let optional = if self.landlock_optional.is_some() {
            " (landlock optional: ptrace only on kernels without it)"
        } else {
            ""
        };
        match kernel {
            KernelLandlock::Abi(v) => {
                let _ = writeln!(
                    o,
                    "\npath enforcement: Landlock (kernel ABI {v}) and the supervisor's check{optional}"
                );
            }
            other => {
                let _ = writeln!(
                    o,
                    "\npath enforcement: {}: {}",
                    if self.landlock_optional.is_some() {
                        "the supervisor's check only"
                    } else {
                        "a run is refused"
                    },
                    other.why()
                );
            }
        }
        let _ = writeln!(
            o,
            "landlock rules (kernel layer; a pattern that is not a hierarchy compiles to the smallest hierarchy covering it; a path that is a directory covers its hierarchy):"
        );
        for r in &self.path_rules {
            let ops: Vec<&str> = r
                .ops
                .iter()
                .filter(|op| **op != PathOp::Stat && self.op_restricted(**op))
                .map(|op| op.as_str())
                .collect();
            if ops.is_empty() {
                continue;
            }
            let (path, wider) = hierarchy(r);
            let what = match (r.pattern.kind, wider) {
                (_, true) => format!("hierarchy {path} (wider than the pattern)"),
                (PatternKind::Tree, false) => format!("hierarchy {path}"),
                _ => path.clone(),
            };
            let _ = writeln!(o, "  {:<8} {:<36} -> {what}", ops.join(","), r.pattern.raw);
        }
        let _ = writeln!(
            o,
            "  read,exec the program itself and its ELF or #! interpreter (the kernel reads what it executes)"
        );
        let ports = |connect: bool| -> Option<String> {
            self.net_ports(connect).map(|p| {
                let p: Vec<String> = p.iter().map(|p| p.to_string()).collect();
                format!("only to port {} (ABI 4, `net` rules)", p.join(", "))
            })
        };
        for (what, connect) in [("TCP connect", true), ("TCP bind", false)] {
            let how = match ports(connect) {
                Some(p) => p,
                None if self.allows_network() => {
                    "not handled (the policy allows connect or bind)".to_string()
                }
                None => "refused (ABI 4)".to_string(),
            };
            let _ = writeln!(o, "  {what}: {how}");
        }
        let _ = writeln!(
            o,
            "  abstract UNIX sockets and signals: scoped to the run (ABI 6)"
        );
        o
    }
}

impl LandlockPlan {
    /// Creates the ruleset (handled rights only; the child adds the rules
    /// after its mounts and chdir). Uses the crate's hard-requirement
    /// compatibility: every right asked for exists in this ABI.
    pub fn create_ruleset(&self) -> Result<OwnedFd, String> {
        let fs = BitFlags::<AccessFs>::from_bits_truncate(self.handled_fs);
        let mut rs = Ruleset::default().set_compatibility(CompatLevel::HardRequirement);
        if !fs.is_empty() {
            rs = rs
                .handle_access(fs)
                .map_err(|e| format!("landlock ruleset: {e}"))?;
        }
        if self.handled_net != 0 {
            rs = rs
                .handle_access(BitFlags::<AccessNet>::from_bits_truncate(self.handled_net))
                .map_err(|e| format!("landlock ruleset (network): {e}"))?;
        }
        if self.scoped != 0 {
            rs = rs
                .scope(BitFlags::<Scope>::from_bits_truncate(self.scoped))
                .map_err(|e| format!("landlock ruleset (scopes): {e}"))?;
        }
        let mut created = rs
            .create()
            .map_err(|e| format!("landlock_create_ruleset: {e}"))?;
        // Ports need no path: added here, before fork.
        for (port, access) in &self.net_ports {
            created = created
                .add_rule(NetPort::new(
                    *port,
                    BitFlags::<AccessNet>::from_bits_truncate(*access),
                ))
                .map_err(|e| format!("landlock_add_rule (TCP port {port}): {e}"))?;
        }
        let fd: Option<OwnedFd> = created.into();
        fd.ok_or_else(|| "landlock_create_ruleset: no ruleset descriptor".into())
    }

    /// The rules as the child needs them (paths as C strings).
    pub fn child_rules(&self) -> Result<Vec<(CString, u64)>, String> {
        self.rules
            .iter()
            .map(|r| {
                CString::new(r.path.as_bytes())
                    .map(|c| (c, r.access))
                    .map_err(|_| format!("{}: path contains a NUL byte", r.path))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access_of(plan: &LandlockPlan, from: &str) -> Option<(String, u64, bool)> {
        plan.rules
            .iter()
            .find(|r| r.from == from)
            .map(|r| (r.path.clone(), r.access, r.wider))
    }

    #[test]
    fn java_policy_compiles_to_hierarchies() {
        let p = Policy::builtin("java").unwrap().unwrap();
        let plan = p.landlock_plan(7, Path::new("/usr/bin/java"), &[]).unwrap();
        let rf = AccessFs::ReadFile as u64;
        let wf = AccessFs::WriteFile as u64;
        let x = AccessFs::Execute as u64;
        // exec has no path rules: not handled.
        assert_eq!(plan.handled_fs & x, 0);
        assert_ne!(plan.handled_fs & (AccessFs::MakeChar as u64), 0);
        let (path, acc, wider) = access_of(&plan, "/usr/lib/jvm/**").unwrap();
        assert_eq!((path.as_str(), wider), ("/usr/lib/jvm", false));
        assert_ne!(acc & rf, 0);
        assert_eq!(acc & wf, 0);
        let (path, acc, wider) = access_of(&plan, "/tmp/hsperfdata_*").unwrap();
        assert_eq!((path.as_str(), wider), ("/tmp", true));
        assert_ne!(acc & wf, 0);
        let (path, _, _) = access_of(&plan, "./**").unwrap();
        assert_eq!(path, ".");
        let (path, _, wider) = access_of(&plan, "/etc/java-*/**").unwrap();
        assert_eq!((path.as_str(), wider), ("/etc", true));
        let (path, acc, _) = access_of(&plan, "the program itself").unwrap();
        assert_eq!((path.as_str(), acc), ("/usr/bin/java", rf));
        // No network in the java policy: TCP is handled; scopes on ABI 6+.
        assert_ne!(plan.handled_net, 0);
        assert_ne!(plan.scoped, 0);
        // Older ABIs drop what they lack.
        let old = p.landlock_plan(1, Path::new("/usr/bin/java"), &[]).unwrap();
        assert_eq!(old.handled_net, 0);
        assert_eq!(old.scoped, 0);
        assert_eq!(old.handled_fs & (AccessFs::Truncate as u64), 0);
        assert!(p
            .show_landlock(KernelLandlock::Abi(7))
            .contains("hierarchy /tmp (wider"));
    }

    #[test]
    fn opens_are_left_to_landlock_only_when_it_is_exact() {
        let no_dirs = |_: &str| false;
        let no_proc = |p: &str| p == "/" || p == "/proc" || p.starts_with("/proc/1");
        let default = Policy::builtin("default").unwrap().unwrap();
        assert_eq!(
            default.opens_checked_by_landlock(7, no_dirs, no_proc),
            Ok(())
        );
        // /proc, or read left unrestricted: the built-in refusal of other
        // processes' /proc entries needs the supervisor.
        for extra in [
            "path read /proc/**\n",
            "path read /**\n",
            "path write /proc/1/fd\n",
        ] {
            let p = Policy::parse(&format!("include default\n{extra}"), "t.policy").unwrap();
            let e = p
                .opens_checked_by_landlock(7, no_dirs, no_proc)
                .unwrap_err();
            assert!(
                e.contains("/proc") || e.contains("unrestricted"),
                "{extra}: {e}"
            );
        }
        // Before ABI 3 an O_TRUNC on a read-only open is not checked.
        assert!(default
            .opens_checked_by_landlock(2, no_dirs, no_proc)
            .is_err());
        // An exact pattern naming a directory grants its whole hierarchy.
        let e = default
            .opens_checked_by_landlock(7, |p| p == "/etc/localtime", no_proc)
            .unwrap_err();
        assert!(e.contains("/etc/localtime"), "{e}");
        // Globs inside a pattern (the java policy's /tmp/hsperfdata_*).
        let java = Policy::builtin("java").unwrap().unwrap();
        let e = java
            .opens_checked_by_landlock(7, no_dirs, no_proc)
            .unwrap_err();
        assert!(e.contains("wider"), "{e}");
        // A wider rule (or a directory) inside a `DIR/**` rule for the same
        // ops is covered; for another op it is not.
        let p = Policy::parse(
            "include default\npath read /usr/lib/python3*/** /usr/lib/x\n",
            "t.policy",
        )
        .unwrap();
        assert_eq!(
            p.opens_checked_by_landlock(7, |d| d == "/usr/lib/x", no_proc),
            Ok(())
        );
        let p = Policy::parse("include default\npath write /usr/lib/py*/**\n", "t.policy").unwrap();
        assert!(p.opens_checked_by_landlock(7, no_dirs, no_proc).is_err());
        for (extra, why) in [
            ("on-path-violation kill\n", "kill"),
            ("on-path-violation deny EPERM\n", "EPERM"),
            ("path stat ./**\n", "stat"),
            ("path read /tmp/*\n", "wider"),
        ] {
            // `path stat ./**` after the default's `/**`: stat is then still
            // unrestricted; restrict it in a policy of its own.
            let text = if extra.starts_with("path stat") {
                "default kill\npath read ./**\npath stat ./**\n".to_string()
            } else {
                format!("include default\n{extra}")
            };
            let p = Policy::parse(&text, "t.policy").unwrap();
            let e = p
                .opens_checked_by_landlock(7, no_dirs, no_proc)
                .unwrap_err();
            assert!(e.contains(why), "{extra}: {e}");
        }
    }

    #[test]
    fn landlock_statement_parses() {
        let p = Policy::parse("include default\nlandlock optional\n", "t.policy").unwrap();
        assert!(p.landlock_optional());
        let p = Policy::parse("landlock optional\nlandlock required\n", "t.policy").unwrap();
        assert!(!p.landlock_optional());
        for bad in ["landlock\n", "landlock maybe\n", "landlock optional now\n"] {
            let e = Policy::parse(bad, "t.policy").unwrap_err().to_string();
            assert!(e.contains("t.policy:1:"), "{bad}: {e}");
        }
        let mut p = Policy::parse("path read /usr/**\n", "t.policy").unwrap();
        p.set_landlock_optional(true);
        assert!(p.landlock_optional());
        assert!(p
            .show_landlock(KernelLandlock::NotBuilt)
            .contains("the supervisor's check only"));
        assert!(Policy::parse("path read /usr/**\n", "t.policy")
            .unwrap()
            .show_landlock(KernelLandlock::Disabled)
            .contains("a run is refused"));
    }

    #[test]
    fn unrestricted_ops_are_not_handled() {
        let p = Policy::parse("default kill\npath read /usr/**\n", "t.policy").unwrap();
        let plan = p.landlock_plan(7, Path::new("/bin/x"), &[]).unwrap();
        assert_eq!(plan.handled_fs & (AccessFs::WriteFile as u64), 0);
        assert_eq!(plan.handled_fs & (AccessFs::IoctlDev as u64), 0);
        let p = Policy::parse("default kill\npath read /**\npath stat /x\n", "t.policy").unwrap();
        assert!(p.landlock_plan(7, Path::new("/bin/x"), &[]).is_none());
        let p = Policy::parse("default kill\nallow connect\npath write ./*\n", "t.policy").unwrap();
        let plan = p.landlock_plan(7, Path::new("/bin/x"), &[]).unwrap();
        assert_eq!(plan.handled_net, 0);
        let (path, _, wider) = access_of(&plan, "./*").unwrap();
        assert_eq!((path.as_str(), wider), (".", true));
    }

    #[test]
    fn net_rules_compile_to_landlock_ports() {
        let p = Policy::parse(
            "default kill\nallow connect if arg2 == 16\nnet connect 8080 443\nnet connect 8080\n",
            "t.policy",
        )
        .unwrap();
        assert_eq!(p.net_ports(true), Some(vec![443, 8080]));
        assert_eq!(p.net_ports(false), None);
        assert!(p.landlock_relevant());
        let plan = p.landlock_plan(4, Path::new("/bin/x"), &[]).unwrap();
        let c = AccessNet::ConnectTcp as u64;
        assert_eq!(plan.handled_net, c);
        assert_eq!(plan.net_ports, vec![(443, c), (8080, c)]);
        assert_eq!(plan.handled_fs, 0);
        assert!(p
            .show_landlock(KernelLandlock::Abi(7))
            .contains("TCP connect: only to port 443, 8080"));
        for bad in [
            "net\n",
            "net connect\n",
            "net send 80\n",
            "net connect 0\n",
            "net bind 70000\n",
            "net bind x\n",
        ] {
            let e = Policy::parse(bad, "t.policy").unwrap_err().to_string();
            assert!(e.contains("t.policy:1:"), "{bad}: {e}");
        }
    }
}
