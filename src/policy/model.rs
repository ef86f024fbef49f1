//! The resolved policy: plain data, no I/O.
//!
//! A [`Policy`] is what the parser produces after includes are inlined and
//! groups expanded. Every rule keeps the [`Origin`] (file, line, text) it came
//! from so that `policy show`, verdicts and error messages can point at it.

use std::fmt;
use std::path::{Path, PathBuf};

use syscalls::Sysno;

pub use super::paths::PathOp;
use super::paths::PathPattern;

/// What happens to a system call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// The call runs.
    Allow,
    /// The call runs, and the supervisor records it.
    Log,
    /// The call fails with this errno (1..=4095) without running.
    Deny(i32),
    /// The whole run ends; verdict "Restricted Function (name)".
    Kill,
}

impl Action {
    /// True for actions that let the call run (allow, log).
    pub fn runs(self) -> bool {
        matches!(self, Action::Allow | Action::Log)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Allow => f.write_str("allow"),
            Action::Log => f.write_str("log"),
            Action::Kill => f.write_str("kill"),
            Action::Deny(e) => write!(f, "deny {}", errno_name(*e)),
        }
    }
}

/// The symbolic name of an errno (`EACCES`), or its number when unknown.
pub fn errno_name(e: i32) -> String {
    match syscalls::Errno::new(e).name() {
        Some(n) => n.to_string(),
        None => e.to_string(),
    }
}

/// Where a rule or setting came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// File name as given to the parser (`builtin:base` for shipped policies).
    pub file: String,
    /// 1-based line number.
    pub line: u32,
    /// The statement's text, without comment and surrounding blanks.
    pub text: String,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// Comparison operator of an argument condition; all comparisons are on
/// unsigned 64-bit values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn holds(self, a: u64, b: u64) -> bool {
        match self {
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// `argN [& MASK] OP VALUE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cond {
    /// Argument index, 0..=5.
    pub arg: u8,
    /// Mask applied before comparing; `None` means all 64 bits.
    pub mask: Option<u64>,
    pub op: CmpOp,
    pub value: u64,
}

impl Cond {
    /// Does the condition hold for these arguments?
    pub fn holds(&self, args: &[u64; 6]) -> bool {
        let a = args.get(usize::from(self.arg)).copied().unwrap_or(0);
        let a = match self.mask {
            Some(m) => a & m,
            None => a,
        };
        self.op.holds(a, self.value)
    }
}

impl fmt::Display for Cond {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.mask {
            Some(m) => write!(
                f,
                "arg{} & {:#x} {} {:#x}",
                self.arg,
                m,
                self.op.as_str(),
                self.value
            ),
            None => write!(f, "arg{} {} {:#x}", self.arg, self.op.as_str(), self.value),
        }
    }
}

/// One `allow|log|deny|kill` statement, groups expanded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// The calls it names (sorted, deduplicated).
    pub syscalls: Vec<Sysno>,
    pub action: Action,
    /// All must hold (joined by `&&`); empty = always.
    pub conds: Vec<Cond>,
    pub origin: Origin,
}

impl Rule {
    pub fn names(&self, s: Sysno) -> bool {
        self.syscalls.binary_search(&s).is_ok()
    }
    pub fn matches(&self, s: Sysno, args: &[u64; 6]) -> bool {
        self.names(s) && self.conds.iter().all(|c| c.holds(args))
    }
}

/// `path OPS PATTERN`: one pattern, for one or more ops.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathRule {
    pub ops: Vec<PathOp>,
    pub pattern: PathPattern,
    pub origin: Origin,
}

/// `net OPS PORT...`: TCP ports a `connect` or `bind` may use, enforced by
/// Landlock (ABI 4). Once a policy has one for an op, TCP on other ports is
/// refused for that op.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetRule {
    /// `connect` and/or `bind`.
    pub connect: bool,
    pub bind: bool,
    pub ports: Vec<u16>,
    pub origin: Origin,
}

/// Resource limits (sizes in KiB, times in seconds). `None` = not set here.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Limits {
    pub cpu: Option<f64>,
    pub memory: Option<u64>,
    pub clock: Option<f64>,
    pub nproc: Option<u64>,
    pub fsize: Option<u64>,
    pub nfile: Option<u64>,
    pub stack: Option<u64>,
    pub space: Option<u64>,
    pub core: Option<u64>,
    /// The working directory's bound, KiB (`--disk`).
    pub disk: Option<u64>,
}

impl Limits {
    /// These values, each unset one taken from `under`.
    pub fn or(&self, under: &Limits) -> Limits {
        Limits {
            cpu: self.cpu.or(under.cpu),
            memory: self.memory.or(under.memory),
            clock: self.clock.or(under.clock),
            nproc: self.nproc.or(under.nproc),
            fsize: self.fsize.or(under.fsize),
            nfile: self.nfile.or(under.nfile),
            stack: self.stack.or(under.stack),
            space: self.space.or(under.space),
            core: self.core.or(under.core),
            disk: self.disk.or(under.disk),
        }
    }
}

/// A resolved policy. Build it with [`Policy::parse`], [`Policy::load`] or
/// [`Policy::builtin`].
#[derive(Clone, Debug)]
pub struct Policy {
    pub(crate) name: String,
    pub(crate) default: Action,
    pub(crate) default_origin: Option<Origin>,
    pub(crate) jail: Option<String>,
    pub(crate) limits: Limits,
    pub(crate) rules: Vec<Rule>,
    pub(crate) path_rules: Vec<PathRule>,
    pub(crate) net_rules: Vec<NetRule>,
    /// `path OPS $ARGS`: the ops, for the paths the command line names
    /// (added as path rules when the run is resolved: [`Policy::add_named_rules`]).
    /// An op named here is restricted even when the command line names nothing.
    pub(crate) args_rules: Vec<(Vec<PathOp>, Origin)>,
    pub(crate) on_path_violation: Action,
    pub(crate) on_path_violation_origin: Option<Origin>,
    /// `landlock optional`: on a kernel without Landlock, run with the
    /// supervisor's path check only (and a warning) instead of refusing.
    pub(crate) landlock_optional: Option<Origin>,
}

impl Policy {
    pub(crate) fn empty(name: &str) -> Policy {
        Policy {
            name: name.to_string(),
            default: Action::Kill,
            default_origin: None,
            jail: None,
            limits: Limits::default(),
            rules: Vec::new(),
            path_rules: Vec::new(),
            net_rules: Vec::new(),
            args_rules: Vec::new(),
            on_path_violation: Action::Deny(libc::EACCES),
            on_path_violation_origin: None,
            landlock_optional: None,
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }
    pub fn jail(&self) -> Option<&str> {
        self.jail.as_deref()
    }
    /// The policy's name: the shipped name, or the top file's stem.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Action for calls no rule matches (also for numbers the `syscalls`
    /// table does not know: the supervisor should apply this to them).
    pub fn default_action(&self) -> Action {
        self.default
    }
    pub fn default_origin(&self) -> Option<&Origin> {
        self.default_origin.as_ref()
    }
    pub fn on_path_violation(&self) -> Action {
        self.on_path_violation
    }
    /// All rules in evaluation order (the last matching one wins).
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }
    pub fn path_rules(&self) -> &[PathRule] {
        &self.path_rules
    }
    /// The `net` rules (TCP ports for connect and bind).
    pub fn net_rules(&self) -> &[NetRule] {
        &self.net_rules
    }
    /// The TCP ports `connect` (or `bind`) is limited to; None when the
    /// policy has no `net` rule for it.
    pub fn net_ports(&self, connect: bool) -> Option<Vec<u16>> {
        let mut ports: Vec<u16> = self
            .net_rules
            .iter()
            .filter(|r| if connect { r.connect } else { r.bind })
            .flat_map(|r| r.ports.iter().copied())
            .collect();
        if !self
            .net_rules
            .iter()
            .any(|r| if connect { r.connect } else { r.bind })
        {
            return None;
        }
        ports.sort_unstable();
        ports.dedup();
        Some(ports)
    }
    /// `path OPS $ARGS` lines: the ops and where each was written.
    pub fn args_rules(&self) -> &[(Vec<PathOp>, Origin)] {
        &self.args_rules
    }

    /// Adds, for one run, the path rules the command line brings: each
    /// `path OPS $ARGS` line for the program and every argument naming an
    /// existing path (a directory: its tree), and `--allow-read` /
    /// `--allow-write` rules for the ops the policy restricts (read; write
    /// and read). They only widen: an op the policy leaves unrestricted
    /// stays so. A path whose name holds a `*` is not added (it would be
    /// read as a glob).
    pub fn add_named_rules(&mut self, named: &[crate::config::NamedPath]) {
        use crate::config::NamedWhat;
        let pattern = |n: &crate::config::NamedPath| {
            let raw = n.path.to_str()?;
            if raw.contains('*') {
                log::debug!("{raw}: a named path with `*` is not added to the path rules");
                return None;
            }
            let raw = if n.dir {
                format!("{}/**", raw.trim_end_matches('/'))
            } else {
                raw.to_string()
            };
            super::paths::PathPattern::parse(&raw).ok()
        };
        let mut add = Vec::new();
        for (ops, origin) in &self.args_rules {
            for n in named
                .iter()
                .filter(|n| matches!(n.what, NamedWhat::Program | NamedWhat::Argument))
            {
                if let Some(pattern) = pattern(n) {
                    add.push(PathRule {
                        ops: ops.clone(),
                        pattern,
                        origin: Origin {
                            text: format!("{} ({})", origin.text, n.path.display()),
                            ..origin.clone()
                        },
                    });
                }
            }
        }
        for n in named {
            let (opt, want): (&str, &[PathOp]) = match n.what {
                NamedWhat::AllowRead => ("--allow-read", &[PathOp::Read]),
                NamedWhat::AllowWrite => ("--allow-write", &[PathOp::Read, PathOp::Write]),
                _ => continue,
            };
            let ops: Vec<PathOp> = want
                .iter()
                .copied()
                .filter(|op| self.op_restricted(*op))
                .collect();
            if ops.is_empty() {
                continue;
            }
            if let Some(pattern) = pattern(n) {
                add.push(PathRule {
                    ops,
                    pattern,
                    origin: Origin {
                        file: "command line".into(),
                        line: 0,
                        text: format!("{opt} {}", n.path.display()),
                    },
                });
            }
        }
        for r in add {
            if !self
                .path_rules
                .iter()
                .any(|o| o.ops == r.ops && o.pattern == r.pattern)
            {
                self.path_rules.push(r);
            }
        }
    }

    /// Whether the policy says `landlock optional`.
    pub fn landlock_optional(&self) -> bool {
        self.landlock_optional.is_some()
    }
    /// `--landlock optional` on the command line: as if the policy said so.
    pub fn set_landlock_optional(&mut self, optional: bool) {
        self.landlock_optional = optional.then(|| Origin {
            file: "command line".into(),
            line: 0,
            text: "--landlock optional".into(),
        });
    }
}

/// A system call as the supervisor sees it.
#[derive(Clone, Copy, Debug)]
pub struct Call<'a> {
    pub sysno: Sysno,
    pub args: [u64; 6],
    /// The call's paths with their op, absolute, as the tracee sees them,
    /// already resolved by the supervisor (see [`super::path_args`]).
    pub paths: &'a [(PathOp, PathBuf)],
    /// The run's working directory, for `./` path rules.
    pub cwd: &'a Path,
}

/// The answer for one call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub action: Action,
    /// The rule (or `default` / `on-path-violation` line) that decided; `None`
    /// for built-ins and for settings left at their implicit value.
    pub origin: Option<Origin>,
    /// Why: a rule, the default, a path rule's violation, or a built-in.
    pub cause: Cause,
}

/// What decided a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cause {
    /// A rule matched (its line is the decision's origin).
    Rule,
    /// No rule matched: the `default` action.
    Default,
    /// A path the path rules do not allow for this op.
    PathViolation { op: PathOp, path: PathBuf },
    /// safeexec's own rule, whatever the policy says; the text says what.
    BuiltIn(String),
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Rule => f.write_str("rule"),
            Cause::Default => f.write_str("default"),
            Cause::PathViolation { op, path } => {
                write!(f, "path {} not allowed for {op}", path.display())
            }
            Cause::BuiltIn(why) => write!(f, "built-in: {why}"),
        }
    }
}

impl Decision {
    /// The cause as a person reads it: "rule", "default",
    /// "path /x not allowed for write", "built-in: ...".
    pub fn reason(&self) -> String {
        self.cause.to_string()
    }
}

/// What the seccomp filter does with a syscall number, without the supervisor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// SECCOMP_RET_ALLOW: runs without a stop.
    Allow,
    /// SECCOMP_RET_ERRNO: fails with this errno without a stop.
    Errno(i32),
    /// SECCOMP_RET_KILL_PROCESS. Only non-native ABIs get this; native
    /// numbers never do (kill rules stop for the supervisor to name the call).
    Kill,
    /// SECCOMP_RET_TRACE: the supervisor decides (kill, log, path rules).
    Trace,
    /// The result depends on argument checks done in the filter.
    Conditional,
}

impl fmt::Display for Disposition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Disposition::Allow => f.write_str("kernel: allow"),
            Disposition::Errno(e) => write!(f, "kernel: fail {}", errno_name(*e)),
            Disposition::Kill => f.write_str("kernel: kill process"),
            Disposition::Trace => f.write_str("stop: supervisor decides"),
            Disposition::Conditional => f.write_str("kernel: argument checks"),
        }
    }
}
