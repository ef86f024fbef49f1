//! The judge's only door into the run library: policies by name, limits,
//! and one sandboxed run with its stdin, stdout and CPU.
//!
//! Until the library resolves policy limits, administrator bounds and
//! cgroup defaults itself, this does what src/main.rs does for the run
//! command (load_policy, policy_limits, cgroups for runs that may fork).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::adminconf::AdminConf;
use crate::error::SandboxError;
use crate::policy::Policy;
use crate::{Limits, Report, RunConfig};

/// The administrator's configuration, loaded once.
pub fn admin_conf() -> Result<AdminConf, SandboxError> {
    crate::adminconf::load()
}

/// A policy by shipped name, or by path (as the run command's `--policy`).
pub fn load_policy(name: &str) -> Result<Policy, SandboxError> {
    let path = Path::new(name);
    let looks_like_path = name.contains('/') || name.ends_with(".policy");
    if !looks_like_path || !path.exists() {
        if let Some(p) = Policy::builtin(name) {
            return p.map_err(|e| SandboxError::Policy(e.to_string()));
        }
    }
    Policy::load(path).map_err(|e| SandboxError::Policy(e.to_string()))
}

/// The policy's limits over the classic defaults.
pub fn policy_limits(p: &Policy) -> Limits {
    let l = p.limits();
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
    }
}

/// One run as the judge needs it.
#[derive(Debug, Clone)]
pub struct Spec {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Working directory (absolute): the submission's files are there.
    pub workdir: PathBuf,
    pub limits: Limits,
    pub policy: Option<Policy>,
    pub jail: Option<String>,
    pub stdin: Option<PathBuf>,
    pub stdout: PathBuf,
    pub stderr: PathBuf,
    /// The CPU the run (supervisor and program) is pinned to.
    pub cpu: Option<usize>,
}

/// Runs `spec`. Call it in a process of its own (a judge worker): it pins
/// the process to the CPU, moves it to the working directory, and points
/// its stdin and stdout at the spec's files, which the program inherits.
pub fn run(spec: &Spec, conf: &AdminConf) -> Result<Report, SandboxError> {
    use std::os::fd::AsRawFd;
    if let Some(cpu) = spec.cpu {
        let mut set = nix::sched::CpuSet::new();
        set.set(cpu)
            .and_then(|_| nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set))
            .map_err(|e| SandboxError::sys(format!("sched_setaffinity(cpu {cpu})"), e))?;
    }
    std::env::set_current_dir(&spec.workdir).map_err(|source| SandboxError::Path {
        what: "working directory",
        path: spec.workdir.clone(),
        source,
    })?;
    let input = match &spec.stdin {
        Some(p) => std::fs::File::open(p),
        None => std::fs::File::open("/dev/null"),
    }
    .map_err(|source| SandboxError::Path {
        what: "test input",
        path: spec.stdin.clone().unwrap_or_else(|| "/dev/null".into()),
        source,
    })?;
    let output = crate::supervisor::open_output("program output", &spec.stdout)?;
    crate::sys::child::dup2(input.as_raw_fd(), 0)
        .map_err(|e| SandboxError::sys("dup2(stdin)", e))?;
    crate::sys::child::dup2(output.as_raw_fd(), 1)
        .map_err(|e| SandboxError::sys("dup2(stdout)", e))?;

    let mut cfg = RunConfig::new(&spec.program);
    cfg.args = spec.args.iter().map(Into::into).collect();
    cfg.env = spec.env.iter().map(|(k, v)| (k.into(), v.into())).collect();
    cfg.limits = spec.limits.clone();
    cfg.exec_dir = Some(spec.workdir.clone());
    cfg.error_file = Some(spec.stderr.clone());
    cfg.policy = spec.policy.clone();
    cfg.isolation.jail = spec.jail.clone();
    // As the run command: a cgroup for a run that may create processes.
    cfg.isolation.cgroups = spec.limits.nproc > 0;
    crate::run_with(&cfg, conf, None)
}
