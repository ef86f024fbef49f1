//! The validated configuration of one run: limits, identities, paths.
//! Plain data and pure validation; no I/O happens here.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::error::SandboxError;

/// Largest CPU or wall-clock limit accepted, in seconds (one day).
pub const MAX_SECONDS: f64 = 86_400.0;
/// Largest memory, space, file size or stack limit accepted, in KiB (1 TiB).
pub const MAX_KIB: u64 = 1 << 30;
/// Largest process or descriptor count accepted.
pub const MAX_COUNT: u64 = 1 << 20;

/// Resource limits of a run. Sizes are KiB; a size of 0 means "no limit"
/// where the field says so.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Limits {
    /// CPU time of the whole run (all processes together).
    #[serde(serialize_with = "ser_ms")]
    #[schemars(with = "u64", description = "CPU time of the whole run, ms.")]
    pub cpu: Duration,
    /// Peak resident memory of the whole run, KiB.
    pub memory_kib: u64,
    /// Address-space rlimit per process, KiB; 0 = none.
    pub space_kib: u64,
    /// Wall clock of the whole run.
    #[serde(serialize_with = "ser_ms")]
    #[schemars(with = "u64", description = "Wall clock of the whole run, ms.")]
    pub clock: Duration,
    /// Processes (and threads) the program may create besides itself.
    pub nproc: u64,
    /// Largest file the program may write, KiB.
    pub fsize_kib: u64,
    /// Open descriptors per process.
    pub nfile: u64,
    /// Stack size per process, KiB; 0 = unlimited.
    pub stack_kib: u64,
    /// Core file size, KiB.
    pub core_kib: u64,
    /// What the program may leave in its working directory in total, KiB
    /// (the bounded working directory, docs/isolation.md); 0 = writes go
    /// straight into the directory, unbounded, as the run's uid.
    pub disk_kib: u64,
}

fn ser_ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            cpu: Duration::from_secs(1),
            memory_kib: 32_768,
            space_kib: 0,
            clock: Duration::from_secs(10),
            nproc: 0,
            fsize_kib: 8_192,
            nfile: 64,
            stack_kib: 8_192,
            core_kib: 0,
            disk_kib: DEFAULT_DISK_KIB,
        }
    }
}

/// Default `--disk`, KiB.
pub const DEFAULT_DISK_KIB: u64 = 65_536;

/// Default offset added to the supervisor's pid to make the run's uid.
pub const DEFAULT_UIDPLUS: u32 = 10_000;

/// Everything one run needs, validated by [`RunConfig::validate`].
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// The program to execute (as seen inside the chroot, if any).
    pub program: PathBuf,
    /// Its arguments, without `argv[0]` (`argv[0]` is `program`).
    pub args: Vec<OsString>,
    pub limits: Limits,
    /// Added to the program's niceness (0..=19).
    pub niceness: i32,
    /// The run's uid is `uidplus + pid of the supervisor`.
    pub uidplus: u32,
    /// The run's gid; None = the same number as the run's uid (unique too).
    pub gid: Option<u32>,
    pub chroot_dir: Option<PathBuf>,
    /// Working directory (inside the chroot when there is one).
    pub exec_dir: Option<PathBuf>,
    /// The program's whole environment.
    pub env: Vec<(OsString, OsString)>,
    /// Where the program's stderr goes; None = inherited.
    pub error_file: Option<PathBuf>,
    /// The syscall policy; None = classic mode (no ptrace).
    pub policy: Option<crate::policy::Policy>,
    /// Namespaces, jail binds and cgroups.
    pub isolation: IsolationConfig,
    /// `--allow-read PATH`: added to the policy's path rules (a directory:
    /// its tree) and kept visible over the private /tmp.
    pub allow_read: Vec<PathBuf>,
    /// `--allow-write PATH`: as `allow_read`, for writing (and reading).
    pub allow_write: Vec<PathBuf>,
    /// The existing paths the command line names (program, arguments and
    /// the entries of colon-separated arguments, --exec_dir, --chroot_dir,
    /// --allow-read, --allow-write), canonical, as the caller resolves
    /// them. Filled when the run is resolved ([`crate::resolve`]); what
    /// `$ARGS` in a policy and the private /tmp's kept paths come from.
    pub named: Vec<NamedPath>,
}

/// Why a path is named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NamedWhat {
    Program,
    /// An argument, or one entry of a colon-separated argument (a class path).
    Argument,
    ExecDir,
    ChrootDir,
    AllowRead,
    AllowWrite,
}

/// One existing path the command line names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NamedPath {
    /// Canonical (no symlink, no `..`), absolute.
    pub path: PathBuf,
    pub dir: bool,
    pub what: NamedWhat,
}

impl NamedPath {
    /// Visible writable (with the host's permissions) over the private /tmp:
    /// the working directory and --allow-write paths; the rest read-only.
    pub fn writable(&self) -> bool {
        matches!(self.what, NamedWhat::ExecDir | NamedWhat::AllowWrite)
    }
}

impl RunConfig {
    pub fn new(program: impl Into<PathBuf>) -> Self {
        RunConfig {
            program: program.into(),
            args: Vec::new(),
            limits: Limits::default(),
            niceness: 0,
            uidplus: DEFAULT_UIDPLUS,
            gid: None,
            chroot_dir: None,
            exec_dir: None,
            env: Vec::new(),
            error_file: None,
            policy: None,
            isolation: Default::default(),
            allow_read: Vec::new(),
            allow_write: Vec::new(),
            named: Vec::new(),
        }
    }

    /// Checks every value for range; the first problem found is returned.
    pub fn validate(&self) -> Result<(), SandboxError> {
        let bad = |m: String| Err(SandboxError::Usage(m));
        if self.program.as_os_str().is_empty() {
            return bad("--exec needs a program".into());
        }
        let l = &self.limits;
        for (name, d) in [("--cpu", l.cpu), ("--clock", l.clock)] {
            if d.is_zero() || d.as_secs_f64() > MAX_SECONDS {
                return bad(format!(
                    "{name} must be more than 0 and at most {MAX_SECONDS} seconds"
                ));
            }
        }
        if l.memory_kib == 0 || l.memory_kib > MAX_KIB {
            return bad(format!("--mem must be between 1 and {MAX_KIB} KiB"));
        }
        for (name, v) in [
            ("--space", l.space_kib),
            ("--fsize", l.fsize_kib),
            ("--stack", l.stack_kib),
            ("--core", l.core_kib),
            ("--disk", l.disk_kib),
        ] {
            if v > MAX_KIB {
                return bad(format!("{name} must be at most {MAX_KIB} KiB"));
            }
        }
        if l.nproc > MAX_COUNT || l.nfile > MAX_COUNT {
            return bad(format!("--nproc and --nfile must be at most {MAX_COUNT}"));
        }
        if l.nfile < 3 {
            return bad("--nfile must be at least 3 (stdin, stdout, stderr)".into());
        }
        if !(0..=19).contains(&self.niceness) {
            return bad("--niceness must be between 0 and 19".into());
        }
        if self.uidplus == 0 {
            return bad("--uidplus must be at least 1".into());
        }
        if self.gid == Some(0) {
            return bad("--gid 0 is root's group".into());
        }
        for (k, _) in &self.env {
            let k = k.to_string_lossy();
            if k.is_empty() || k.contains('=') || k.contains('\0') {
                return bad(format!("--env_vars: bad variable name `{k}`"));
            }
        }
        let iso = &self.isolation;
        if iso.has_jail() && self.chroot_dir.is_some() {
            return bad(
                "--chroot_dir cannot be combined with --jail, --bind, --ro-bind or --tmpfs".into(),
            );
        }
        for t in &iso.tmpfs {
            if !t.is_absolute() || t.components().any(|c| c.as_os_str() == "..") {
                return bad(format!(
                    "--tmpfs {}: needs an absolute path without `..`",
                    t.display()
                ));
            }
        }
        Ok(())
    }

    /// The run's uid for a supervisor whose pid is `pid`.
    pub fn run_uid(&self, pid: u32) -> Result<u32, SandboxError> {
        self.uidplus
            .checked_add(pid)
            .filter(|u| *u < u32::MAX - 1)
            .ok_or_else(|| SandboxError::Usage(format!("--uidplus {} is too large", self.uidplus)))
    }
}

// The isolation a run asks for: plain data here, planned by
// crate::isolate (which depends on this module, not the reverse).

/// `--net`: the program's network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Net {
    /// A new, empty network namespace (only a down loopback): nothing is reachable.
    #[default]
    None,
    /// The host's network.
    Host,
}

/// One `--bind` / `--ro-bind`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bind {
    pub src: PathBuf,
    pub dst: PathBuf,
    pub writable: bool,
}

impl Bind {
    /// Parses `SRC[:DST]`.
    pub fn parse(s: &str, writable: bool) -> Result<Bind, String> {
        let (src, dst) = match s.split_once(':') {
            Some((a, b)) => (a, b),
            None => (s, s),
        };
        if !src.starts_with('/') || !dst.starts_with('/') {
            return Err(format!("`{s}`: SRC and DST must be absolute paths"));
        }
        if dst.split('/').any(|c| c == "..") {
            return Err(format!("`{s}`: DST may not contain `..`"));
        }
        Ok(Bind {
            src: src.into(),
            dst: dst.into(),
            writable,
        })
    }
}

/// What isolation a run asks for (plain data, validated with the config).
#[derive(Debug, Clone, PartialEq)]
pub struct IsolationConfig {
    pub net: Net,
    /// PID, IPC and UTS namespaces (and a mount namespace with a fresh /proc).
    pub namespaces: bool,
    /// A shipped jail profile (`c`, `python3`, `java`).
    pub jail: Option<String>,
    pub binds: Vec<Bind>,
    pub tmpfs: Vec<PathBuf>,
    /// Per-run cgroups for whole-tree accounting (when root and mounted).
    /// None: decided when the run is resolved (only when nproc > 0: a
    /// single process's figures are exact without one).
    pub cgroups: Option<bool>,
    /// Classic mode: the default seccomp filter (src/policy/baseline.rs);
    /// `--no-filter` turns it off.
    pub classic_filter: bool,
}

impl Default for IsolationConfig {
    fn default() -> Self {
        IsolationConfig {
            net: Net::None,
            namespaces: true,
            jail: None,
            binds: Vec::new(),
            tmpfs: Vec::new(),
            cgroups: None,
            classic_filter: true,
        }
    }
}

impl IsolationConfig {
    /// No namespaces, no jail, no cgroups: the classic behaviour.
    pub fn none() -> Self {
        IsolationConfig {
            net: Net::Host,
            namespaces: false,
            cgroups: Some(false),
            ..Default::default()
        }
    }

    /// Whether the run gets a jail root built from binds.
    pub fn has_jail(&self) -> bool {
        self.jail.is_some() || !self.binds.is_empty() || !self.tmpfs.is_empty()
    }
}

/// Parses a number of seconds with an optional fraction ("0.25", "2").
pub fn parse_seconds(s: &str) -> Result<Duration, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if !v.is_finite() || v <= 0.0 || v > MAX_SECONDS {
        return Err(format!(
            "`{s}`: seconds must be more than 0 and at most {MAX_SECONDS}"
        ));
    }
    Ok(Duration::from_secs_f64(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_parse_fractions_and_reject_nonsense() {
        assert_eq!(parse_seconds("0.25").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_seconds("2").unwrap(), Duration::from_secs(2));
        for bad in ["", "-1", "0", "nan", "inf", "1e9", "abc"] {
            assert!(parse_seconds(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn validate_rejects_out_of_range() {
        let mut c = RunConfig::new("/bin/true");
        assert!(c.validate().is_ok());
        c.limits.memory_kib = 0;
        assert!(c.validate().is_err());
        c.limits.memory_kib = 1024;
        c.niceness = 40;
        assert!(c.validate().is_err());
        c.niceness = 0;
        c.env.push(("A=B".into(), "x".into()));
        assert!(c.validate().is_err());
    }
}
