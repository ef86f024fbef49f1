//! The one place where a request (the command line, or a library user's
//! [`RunRequest`]), the policy and the administrator's configuration meet
//! and become the run's final configuration ([`Resolved`]): limits
//! (request over the policy's `limit` lines over the classic defaults), the
//! jail (`--jail`, else the policy's `jail` line), the per-run cgroup, and
//! every administrator bound. The binary and a library user go through
//! here alike, so they get the same run.
//!
//! ```no_run
//! use std::time::Duration;
//! use safeexec::{Sandbox, Verdict};
//!
//! let run = Sandbox::builder("/usr/bin/python3")
//!     .arg("solution.py")
//!     .policy_named("python3") // its `limit` and `jail` lines apply
//!     .cpu(Duration::from_secs(2))
//!     .resolve() // reads /etc/safeexec.conf, loads the policy, checks bounds
//!     .expect("refused");
//! println!("{}", run.effective().json());
//! let report = run.run(None).expect("the sandbox failed");
//! assert_eq!(report.verdict, Verdict::OK);
//! ```

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::adminconf::{AdminConf, RequirePolicy};
use crate::caller::{self, PolicyChoice};
use crate::config::{Limits, RunConfig, DEFAULT_UIDPLUS};
use crate::error::{Result, SandboxError};
use crate::isolate::{Bind, IsolationConfig, Net};
use crate::policy::{Policy, PolicyError};
use crate::report::Report;
use crate::trace::{TraceLevel, TraceWriter};

/// Entry point of the builder API: `Sandbox::builder(program)`.
pub struct Sandbox;

impl Sandbox {
    /// A request to run `program` with everything else at its default.
    pub fn builder(program: impl Into<PathBuf>) -> RunRequest {
        RunRequest::new(program)
    }
}

/// Limits a request sets; the ones left `None` take the policy's `limit`
/// line, then the classic default ([`Limits::default`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LimitRequest {
    pub cpu: Option<Duration>,
    pub memory_kib: Option<u64>,
    pub space_kib: Option<u64>,
    pub clock: Option<Duration>,
    pub nproc: Option<u64>,
    pub fsize_kib: Option<u64>,
    pub nfile: Option<u64>,
    pub stack_kib: Option<u64>,
    pub core_kib: Option<u64>,
    pub disk_kib: Option<u64>,
}

/// Which policy a request asks for.
#[derive(Debug, Clone, Default)]
pub enum PolicyRequest {
    /// Classic mode (unless a trace is asked for: then the shipped `audit`).
    #[default]
    None,
    /// The shipped `default` policy (`--paranoid`).
    Paranoid,
    /// A policy file path, or a shipped name (`--policy NAME`).
    Named(String),
    /// A policy built by the caller: satisfies `require_policy = any` only.
    Given(Box<Policy>),
}

/// What a caller asks for, before the policy and the administrator's
/// configuration are applied. Build it with [`Sandbox::builder`], or fill
/// the fields; [`RunRequest::resolve`] turns it into the run.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub limits: LimitRequest,
    pub niceness: i32,
    pub uidplus: u32,
    pub gid: Option<u32>,
    pub chroot_dir: Option<PathBuf>,
    pub exec_dir: Option<PathBuf>,
    pub env: Vec<(OsString, OsString)>,
    pub error_file: Option<PathBuf>,
    pub policy: PolicyRequest,
    pub net: Net,
    pub namespaces: bool,
    pub jail: Option<String>,
    pub binds: Vec<Bind>,
    pub tmpfs: Vec<PathBuf>,
    /// None: a per-run cgroup only when the run may create processes
    /// (nproc > 0); a single process's figures are exact without one.
    pub cgroup: Option<bool>,
    /// A trace will be written at this level (paranoid mode; the shipped
    /// `audit` policy when no policy is asked for).
    pub trace: Option<TraceLevel>,
    /// Classic mode: the default seccomp filter (`--no-filter`: false).
    pub classic_filter: bool,
    /// Path rules may fall back to the supervisor's ptrace check alone when
    /// the kernel has no Landlock (`--landlock optional`).
    pub landlock_optional: bool,
    /// `--allow-read PATH`: read rules added to the policy's path rules.
    pub allow_read: Vec<PathBuf>,
    /// `--allow-write PATH`: write (and read) rules added to the policy's.
    pub allow_write: Vec<PathBuf>,
}

macro_rules! setter {
    ($(#[$m:meta])* $name:ident, $field:ident, $t:ty) => {
        $(#[$m])*
        pub fn $name(mut self, v: $t) -> Self {
            self.limits.$field = Some(v);
            self
        }
    };
}

impl RunRequest {
    pub fn new(program: impl Into<PathBuf>) -> RunRequest {
        RunRequest {
            program: program.into(),
            args: Vec::new(),
            limits: LimitRequest::default(),
            niceness: 0,
            uidplus: DEFAULT_UIDPLUS,
            gid: None,
            chroot_dir: None,
            exec_dir: None,
            env: Vec::new(),
            error_file: None,
            policy: PolicyRequest::None,
            net: Net::None,
            namespaces: true,
            jail: None,
            binds: Vec::new(),
            tmpfs: Vec::new(),
            cgroup: None,
            trace: None,
            classic_filter: true,
            landlock_optional: false,
            allow_read: Vec::new(),
            allow_write: Vec::new(),
        }
    }

    pub fn arg(mut self, a: impl Into<OsString>) -> Self {
        self.args.push(a.into());
        self
    }
    pub fn args<I: IntoIterator<Item = A>, A: Into<OsString>>(mut self, it: I) -> Self {
        self.args.extend(it.into_iter().map(Into::into));
        self
    }
    setter!(/// CPU time of the whole run.
        cpu, cpu, Duration);
    setter!(/// Wall clock of the whole run.
        clock, clock, Duration);
    setter!(/// Peak resident memory of the whole run, KiB.
        memory_kib, memory_kib, u64);
    setter!(/// Address-space rlimit per process, KiB; 0 = none.
        space_kib, space_kib, u64);
    setter!(/// Processes the program may create besides itself.
        nproc, nproc, u64);
    setter!(/// Largest file the program may write, KiB.
        fsize_kib, fsize_kib, u64);
    setter!(/// Open descriptors per process.
        nfile, nfile, u64);
    setter!(/// Stack per process, KiB; 0 = unlimited.
        stack_kib, stack_kib, u64);
    setter!(/// Core file size, KiB.
        core_kib, core_kib, u64);
    setter!(/// The bounded working directory's size, KiB; 0 = none.
        disk_kib, disk_kib, u64);
    pub fn niceness(mut self, n: i32) -> Self {
        self.niceness = n;
        self
    }
    pub fn uidplus(mut self, n: u32) -> Self {
        self.uidplus = n;
        self
    }
    pub fn gid(mut self, g: u32) -> Self {
        self.gid = Some(g);
        self
    }
    pub fn chroot_dir(mut self, d: impl Into<PathBuf>) -> Self {
        self.chroot_dir = Some(d.into());
        self
    }
    pub fn exec_dir(mut self, d: impl Into<PathBuf>) -> Self {
        self.exec_dir = Some(d.into());
        self
    }
    pub fn env(mut self, k: impl Into<OsString>, v: impl Into<OsString>) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }
    pub fn error_file(mut self, p: impl Into<PathBuf>) -> Self {
        self.error_file = Some(p.into());
        self
    }
    /// A policy file path or a shipped name, loaded with the caller's rights.
    pub fn policy_named(mut self, name: impl Into<String>) -> Self {
        self.policy = PolicyRequest::Named(name.into());
        self
    }
    /// The shipped `default` policy.
    pub fn paranoid(mut self) -> Self {
        self.policy = PolicyRequest::Paranoid;
        self
    }
    /// A policy the caller built.
    pub fn policy(mut self, p: Policy) -> Self {
        self.policy = PolicyRequest::Given(Box::new(p));
        self
    }
    pub fn net(mut self, n: Net) -> Self {
        self.net = n;
        self
    }
    pub fn namespaces(mut self, on: bool) -> Self {
        self.namespaces = on;
        self
    }
    pub fn jail(mut self, profile: impl Into<String>) -> Self {
        self.jail = Some(profile.into());
        self
    }
    pub fn bind(mut self, b: Bind) -> Self {
        self.binds.push(b);
        self
    }
    pub fn tmpfs(mut self, dst: impl Into<PathBuf>) -> Self {
        self.tmpfs.push(dst.into());
        self
    }
    pub fn cgroup(mut self, on: bool) -> Self {
        self.cgroup = Some(on);
        self
    }
    pub fn trace(mut self, level: TraceLevel) -> Self {
        self.trace = Some(level);
        self
    }
    /// `--allow-read PATH` (a directory: its tree).
    pub fn allow_read(mut self, p: impl Into<PathBuf>) -> Self {
        self.allow_read.push(p.into());
        self
    }
    /// `--allow-write PATH` (a directory: its tree).
    pub fn allow_write(mut self, p: impl Into<PathBuf>) -> Self {
        self.allow_write.push(p.into());
        self
    }

    /// [`RunRequest::resolve_with`] the administrator's configuration in
    /// force ([`crate::adminconf::load`]).
    pub fn resolve(self) -> Result<Resolved> {
        let conf = crate::adminconf::load()?;
        self.resolve_with(conf)
    }

    /// The run's final configuration: the policy loaded (with the caller's
    /// rights), its limits and jail line applied under the request's, the
    /// cgroup decided, and every bound of `conf` checked that does not need
    /// the files opened (those are checked by [`Resolved::run`], just
    /// before the fork).
    pub fn resolve_with(self, conf: AdminConf) -> Result<Resolved> {
        // A trace needs paranoid mode: without a policy, the shipped audit
        // policy (every call runs and is recorded).
        let default_policy = match self.policy {
            PolicyRequest::Paranoid => Some("default"),
            PolicyRequest::None if self.trace.is_some() => Some("audit"),
            _ => None,
        };
        let (policy, choice) = match (&self.policy, default_policy) {
            (PolicyRequest::Named(name), _) => {
                let (p, builtin) = load_policy(name)?;
                (Some(p), Some(choice(name, builtin)))
            }
            (_, Some(name)) => {
                let (p, builtin) = load_policy(name)?;
                (Some(p), Some(choice(name, builtin)))
            }
            (PolicyRequest::Given(p), _) => (Some((**p).clone()), Some(given(p))),
            _ => (None, None),
        };
        let caller = caller::unprivileged_caller();
        caller::check_choices(
            &conf,
            choice.as_ref(),
            self.trace.is_some(),
            self.net,
            caller,
        )?;

        // Binds and tmpfs mounts are added to a jail root: without a profile
        // (--jail or the policy's jail line) that root would hold nothing
        // but them, and a dynamic program would not even start.
        let policy_jail = policy.as_ref().and_then(|p| p.jail()).is_some();
        if (!self.binds.is_empty() || !self.tmpfs.is_empty())
            && self.jail.is_none()
            && !policy_jail
            && self.chroot_dir.is_none()
        {
            return Err(SandboxError::Usage(
                "--ro-bind, --bind and --tmpfs add to a jail root: name its profile with \
                 --jail c|python3|java (or use a policy with a `jail` line)"
                    .into(),
            ));
        }
        // The jail profile's limits (`--jail`, else the policy's `jail`
        // line) sit under the policy's `limit` lines, as those sit under
        // the request's.
        let jail = match &self.chroot_dir {
            Some(_) => None,
            None => self
                .jail
                .clone()
                .or_else(|| policy.as_ref().and_then(|p| p.jail().map(String::from))),
        };
        let profile = jail
            .as_deref()
            .map(crate::isolate::profiles::limits)
            .unwrap_or_default();
        let base = match &policy {
            Some(p) => limits_over_defaults(&p.limits().or(&profile)),
            None => limits_over_defaults(&profile),
        };
        let r = &self.limits;
        let limits = Limits {
            cpu: r.cpu.unwrap_or(base.cpu),
            memory_kib: r.memory_kib.unwrap_or(base.memory_kib),
            space_kib: r.space_kib.unwrap_or(base.space_kib),
            clock: r.clock.unwrap_or(base.clock),
            nproc: r.nproc.unwrap_or(base.nproc),
            fsize_kib: r.fsize_kib.unwrap_or(base.fsize_kib),
            nfile: r.nfile.unwrap_or(base.nfile),
            stack_kib: r.stack_kib.unwrap_or(base.stack_kib),
            core_kib: r.core_kib.unwrap_or(base.core_kib),
            disk_kib: r.disk_kib.unwrap_or(base.disk_kib),
        };
        let mut cfg = RunConfig::new(self.program);
        cfg.args = self.args;
        cfg.niceness = self.niceness;
        cfg.uidplus = self.uidplus;
        cfg.gid = self.gid;
        cfg.chroot_dir = self.chroot_dir;
        cfg.exec_dir = self.exec_dir;
        cfg.env = self.env;
        cfg.error_file = self.error_file;
        cfg.isolation = IsolationConfig {
            net: self.net,
            namespaces: self.namespaces,
            jail: self.jail,
            binds: self.binds,
            tmpfs: self.tmpfs,
            // A single process's figures are exact without a cgroup (its
            // VmHWM / ru_maxrss and rusage), and creating and removing the
            // v1 cgroups is most of a run's start-up cost
            // (docs/performance.md): only a tree needs one.
            cgroups: Some(self.cgroup.unwrap_or(limits.nproc > 0)),
            classic_filter: self.classic_filter,
        };
        cfg.limits = limits;
        cfg.policy = policy;
        cfg.allow_read = self.allow_read;
        cfg.allow_write = self.allow_write;
        if self.landlock_optional {
            if let Some(p) = cfg.policy.as_mut() {
                p.set_landlock_optional(true);
            }
        }
        cfg.validate()?;
        let mut resolved = Resolved::new(cfg, conf, choice, self.trace)?;
        if let PolicyRequest::Named(name) = &self.policy {
            if let Some(w) = shadowed_policy_file(name) {
                resolved.warnings.push(w);
            }
        }
        Ok(resolved)
    }
}

fn choice(name: &str, builtin: bool) -> PolicyChoice {
    PolicyChoice {
        name: name.to_string(),
        builtin,
    }
}

/// A policy the caller built is neither a shipped one nor a file the
/// administrator named: only `require_policy = any` accepts it.
fn given(p: &Policy) -> PolicyChoice {
    PolicyChoice {
        name: format!("{} (built by the caller)", p.name()),
        builtin: false,
    }
}

/// A run ready to start: its final configuration, the administrator's
/// configuration it runs under, and what was asked of it.
#[derive(Debug, Clone)]
pub struct Resolved {
    config: RunConfig,
    admin: AdminConf,
    policy: Option<PolicyChoice>,
    trace: Option<TraceLevel>,
    caller: Option<(u32, u32)>,
    /// Said in the report's `warnings` (and on stderr by the binary).
    warnings: Vec<String>,
}

impl Resolved {
    /// A configuration already complete (the [`crate::run_with`] path): the
    /// policy's `jail` line applies when no jail or chroot is set, the
    /// cgroup default is decided, and the bounds are checked. The limits
    /// are taken as they are (a [`RunConfig`] has no "unset" limit).
    pub fn from_config(
        mut config: RunConfig,
        admin: AdminConf,
        trace: Option<TraceLevel>,
    ) -> Result<Resolved> {
        let choice = config.policy.as_ref().map(given);
        let iso = &mut config.isolation;
        iso.cgroups = Some(iso.cgroups.unwrap_or(config.limits.nproc > 0));
        config.validate()?;
        Resolved::new(config, admin, choice, trace)
    }

    fn new(
        mut config: RunConfig,
        admin: AdminConf,
        policy: Option<PolicyChoice>,
        trace: Option<TraceLevel>,
    ) -> Result<Resolved> {
        if let Some(j) = &config.isolation.jail {
            if !crate::isolate::profiles::NAMES.contains(&j.as_str()) {
                return Err(SandboxError::Usage(format!(
                    "--jail: unknown profile `{j}` (known: {})",
                    crate::isolate::profiles::NAMES.join(", ")
                )));
            }
        }
        // A policy's `jail NAME` line selects a profile when --jail is not given.
        if config.isolation.jail.is_none() && config.chroot_dir.is_none() {
            config.isolation.jail = config
                .policy
                .as_ref()
                .and_then(|p| p.jail().map(String::from));
        }
        if trace.is_some() && config.policy.is_none() {
            return Err(SandboxError::Usage(
                "a trace needs paranoid mode (a policy)".into(),
            ));
        }
        let caller = caller::unprivileged_caller();
        // The paths the command line names, with the caller's rights; the
        // policy's `$ARGS` and the --allow-* rules become path rules.
        config.named = crate::named::collect(&config, &admin, caller)?;
        if let Some(p) = config.policy.as_mut() {
            p.add_named_rules(&config.named);
        }
        let r = Resolved {
            config,
            admin,
            policy,
            trace,
            caller,
            warnings: Vec::new(),
        };
        caller::check_request(
            &r.config,
            &r.admin,
            r.policy.as_ref(),
            r.trace.is_some(),
            r.caller,
        )?;
        r.run_ids()?;
        Ok(r)
    }

    /// Root's run: its uid (`--uidplus` + pid) and gid on the host. None in
    /// rootless mode (it keeps the caller's) and for a caller other than
    /// root (a free uid of uid_min..uid_max is claimed when the run starts).
    pub(crate) fn run_ids(&self) -> Result<Option<(u32, u32)>> {
        if caller::is_rootless() || self.caller.is_some() {
            return Ok(None);
        }
        let uid = self.config.run_uid(std::process::id())?;
        Ok(Some((uid, self.config.gid.unwrap_or(uid))))
    }

    pub fn config(&self) -> &RunConfig {
        &self.config
    }
    pub fn admin(&self) -> &AdminConf {
        &self.admin
    }
    pub fn policy_choice(&self) -> Option<&PolicyChoice> {
        self.policy.as_ref()
    }
    pub fn trace_level(&self) -> Option<TraceLevel> {
        self.trace
    }
    /// The setuid caller the bounds apply to (None: root, or rootless).
    pub fn caller(&self) -> Option<(u32, u32)> {
        self.caller
    }

    /// Runs it; `trace` (opened by the caller with [`TraceWriter::open`])
    /// receives the run's records when the request asked for a trace.
    pub fn run(&self, trace: Option<&mut TraceWriter>) -> Result<Report> {
        if trace.is_some() && self.trace.is_none() {
            return Err(SandboxError::Usage(
                "a trace writer was given, but the run was resolved without a trace".into(),
            ));
        }
        // The run's uid depends on this process's pid: checked again in case
        // the run starts in another process than the one that resolved it.
        let ids = self.run_ids()?;
        caller::check_request(
            &self.config,
            &self.admin,
            self.policy.as_ref(),
            self.trace.is_some(),
            self.caller,
        )?;
        let mut report =
            crate::supervisor::run_resolved(&self.config, &self.admin, self.caller, ids, trace)?;
        report.warnings.splice(0..0, self.warnings.iter().cloned());
        Ok(report)
    }

    /// What the run will be, as data (`safeexec --show-config` prints it).
    pub fn effective(&self) -> Effective {
        let c = &self.config;
        let a = &self.admin;
        let iso = &c.isolation;
        Effective {
            program: c.program.clone(),
            args: c
                .args
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
            mode: if c.policy.is_some() {
                "paranoid"
            } else {
                "classic"
            },
            policy: self.policy.clone(),
            policy_name: c.policy.as_ref().map(|p| p.name().to_string()),
            trace: self.trace,
            limits: c.limits.clone(),
            niceness: c.niceness,
            uidplus: c.uidplus,
            gid: c.gid,
            chroot_dir: c.chroot_dir.clone(),
            exec_dir: c.exec_dir.clone(),
            env: c
                .env
                .iter()
                .map(|(k, _)| k.to_string_lossy().into_owned())
                .collect(),
            error_file: c.error_file.clone(),
            net: match iso.net {
                Net::None => "none",
                Net::Host => "host",
            },
            namespaces: iso.namespaces,
            jail: iso.jail.clone(),
            binds: iso
                .binds
                .iter()
                .map(|b| {
                    format!(
                        "{}:{}:{}",
                        b.src.display(),
                        b.dst.display(),
                        if b.writable { "rw" } else { "ro" }
                    )
                })
                .collect(),
            tmpfs: iso.tmpfs.clone(),
            cgroup: iso.cgroups.unwrap_or(false),
            named: c.named.clone(),
            bounds: Bounds {
                apply: self.caller.is_some(),
                source: a.origin(),
                max_cpu_ms: a.max_cpu.as_millis() as u64,
                max_memory_kib: a.max_memory_kib,
                max_clock_ms: a.max_clock.as_millis() as u64,
                max_nproc: a.max_nproc,
                max_fsize_kib: a.max_fsize_kib,
                max_nfile: a.max_nfile,
                uid_min: a.uid_min,
                uid_max: a.uid_max,
                allowed_dirs: a.allowed_dirs.clone(),
                allow_net_host: a.allow_net_host,
                allow_full_trace: a.allow_full_trace,
                require_policy: match &a.require_policy {
                    RequirePolicy::None => vec![],
                    RequirePolicy::Any => vec!["any".into()],
                    RequirePolicy::Names(n) => n.clone(),
                },
            },
        }
    }
}

/// The effective configuration of a run, as `--show-config` prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Effective {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub mode: &'static str,
    /// The policy as asked for (name or path, shipped or not).
    pub policy: Option<PolicyChoice>,
    /// The loaded policy's own name.
    pub policy_name: Option<String>,
    pub trace: Option<TraceLevel>,
    pub limits: Limits,
    pub niceness: i32,
    pub uidplus: u32,
    pub gid: Option<u32>,
    pub chroot_dir: Option<PathBuf>,
    pub exec_dir: Option<PathBuf>,
    /// Names of the program's environment variables (values left out).
    pub env: Vec<String>,
    pub error_file: Option<PathBuf>,
    pub net: &'static str,
    pub namespaces: bool,
    pub jail: Option<String>,
    /// `SRC:DST:ro|rw`.
    pub binds: Vec<String>,
    pub tmpfs: Vec<PathBuf>,
    pub cgroup: bool,
    /// The existing paths the command line names, as the caller resolves
    /// them (kept visible over the private /tmp; `$ARGS`; --allow-*).
    pub named: Vec<crate::config::NamedPath>,
    pub bounds: Bounds,
}

/// The administrator's bounds in force for a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bounds {
    /// Whether they bind this run (a setuid caller other than root).
    pub apply: bool,
    /// The file they came from, or the built-in defaults.
    pub source: String,
    pub max_cpu_ms: u64,
    pub max_memory_kib: u64,
    pub max_clock_ms: u64,
    pub max_nproc: u64,
    pub max_fsize_kib: u64,
    pub max_nfile: u64,
    pub uid_min: u32,
    pub uid_max: u32,
    pub allowed_dirs: Vec<PathBuf>,
    pub allow_net_host: bool,
    pub allow_full_trace: bool,
    /// Empty: none; `any`; or the names and paths allowed.
    pub require_policy: Vec<String>,
}

impl Effective {
    /// One JSON object on one line, with a newline.
    pub fn json(&self) -> String {
        let mut s = serde_json::to_string(self).unwrap_or_else(|_| "{}".into());
        s.push('\n');
        s
    }
}

/// Runs the program as `cfg` says and reports what happened, within the
/// administrator's configuration ([`crate::adminconf::load`]).
pub fn run(cfg: &RunConfig) -> Result<Report> {
    run_traced(cfg, None)
}

/// [`run`], recording the run's system calls and process events in `trace`
/// (which needs a policy: paranoid mode), within the administrator's
/// configuration ([`crate::adminconf::load`]).
pub fn run_traced(cfg: &RunConfig, trace: Option<&mut TraceWriter>) -> Result<Report> {
    let conf = crate::adminconf::load()?;
    run_with(cfg, &conf, trace)
}

/// [`run_traced`] under a configuration already loaded. A trace that cannot
/// be written ends the run with an Internal Error naming the cause. The
/// configuration goes through [`Resolved::from_config`] (policy jail line,
/// cgroup default, every administrator bound) like the command line's.
pub fn run_with(
    cfg: &RunConfig,
    conf: &AdminConf,
    trace: Option<&mut TraceWriter>,
) -> Result<Report> {
    let level = trace.as_ref().map(|t| t.level);
    Resolved::from_config(cfg.clone(), conf.clone(), level)?.run(trace)
}

/// A policy by path, or by shipped name when no such file exists; true
/// when the shipped one was taken. Files are read with the caller's rights,
/// and a missing file reads the same as one the caller may not read.
/// `--policy NAME` takes the shipped policy NAME even when a file of that
/// name is in the current directory (write `./NAME` for the file): say so.
pub fn shadowed_policy_file(name: &str) -> Option<String> {
    let path = Path::new(name);
    if name.contains('/') || name.ends_with(".policy") || Policy::builtin(name).is_none() {
        return None;
    }
    let exists = caller::as_caller(|| Ok(path.exists())).unwrap_or(false);
    exists.then(|| {
        format!(
            "--policy {name}: the shipped policy `{name}` was used, not the file {name} in the \
             current directory (write ./{name} to use the file)"
        )
    })
}

pub fn load_policy(name: &str) -> Result<(Policy, bool)> {
    let caller = caller::unprivileged_caller();
    caller::as_caller(|| {
        let path = Path::new(name);
        let looks_like_path = name.contains('/') || name.ends_with(".policy");
        if !looks_like_path || !path.exists() {
            if let Some(p) = Policy::builtin(name) {
                return p.map(|p| (p, true)).map_err(SandboxError::Policy);
            }
        }
        if caller.is_some() {
            // Open it here first, so a missing and a forbidden file read alike.
            // Without blocking: a FIFO must not hang the open (src/input.rs).
            if let Err(e) = crate::input::open_regular(path, true) {
                if crate::files::hidden(&e) {
                    return Err(SandboxError::Inaccessible {
                        what: "policy file",
                        path: path.to_path_buf(),
                        code: crate::error::EXIT_POLICY,
                    });
                }
            }
        }
        Policy::load(path)
            .map(|p| (p, false))
            .map_err(|e| SandboxError::Policy(if caller.is_some() { hide_errnos(e) } else { e }))
    })
}

/// For a caller other than root, included files read with the same single
/// wording for missing and forbidden.
fn hide_errnos(e: PolicyError) -> PolicyError {
    let hide = |mut text: String| {
        for errno in [
            libc::ENOENT,
            libc::EACCES,
            libc::EPERM,
            libc::ELOOP,
            libc::ENOTDIR,
        ] {
            let os = std::io::Error::from_raw_os_error(errno).to_string();
            text = text.replace(&os, "no such file or not permitted");
        }
        text
    };
    match e {
        PolicyError::Parse(mut d) => {
            for x in &mut d.0 {
                x.message = hide(std::mem::take(&mut x.message));
                x.hint = x.hint.take().map(hide);
            }
            PolicyError::Parse(d)
        }
        PolicyError::Io { path, source } if crate::files::hidden(&source) => PolicyError::Io {
            path,
            source: std::io::Error::other("no such file or not permitted"),
        },
        e => e,
    }
}

/// The policy's limits over the classic defaults.
pub fn policy_limits(p: &Policy) -> Limits {
    limits_over_defaults(p.limits())
}

/// `limit` values (a policy's, a jail profile's) over the classic defaults.
pub fn limits_over_defaults(l: &crate::policy::Limits) -> Limits {
    let d = Limits::default();
    let secs = |v: Option<f64>, d: Duration| v.map(Duration::from_secs_f64).unwrap_or(d);
    Limits {
        cpu: secs(l.cpu, d.cpu),
        memory_kib: l.memory.unwrap_or(d.memory_kib),
        space_kib: l.space.unwrap_or(d.space_kib),
        clock: secs(l.clock, d.clock),
        nproc: l.nproc.unwrap_or(d.nproc),
        fsize_kib: l.fsize.unwrap_or(d.fsize_kib),
        nfile: l.nfile.unwrap_or(d.nfile),
        stack_kib: l.stack.unwrap_or(d.stack_kib),
        core_kib: l.core.unwrap_or(d.core_kib),
        disk_kib: l.disk.unwrap_or(d.disk_kib),
    }
}
