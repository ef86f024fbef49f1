//! The judge's only door into the run library. A compile or a test is a
//! [`RunRequest`] resolved by the library ([`RunRequest::resolve_with`]):
//! the policy loaded by name or path, its `limit` and `jail` lines under the
//! limits the judge sets, the cgroup default and every administrator bound
//! applied exactly as for `safeexec --policy NAME ...` on the command line.
//! What is left here is what only a judge worker does: its CPU, its working
//! directory, and its stdin and stdout.

use std::path::PathBuf;

use crate::adminconf::AdminConf;
use crate::error::SandboxError;
use crate::resolve::{LimitRequest, Resolved, RunRequest};
use crate::Report;

/// The administrator's configuration, loaded once.
pub fn admin_conf() -> Result<AdminConf, SandboxError> {
    crate::adminconf::load()
}

/// One run as the judge needs it.
#[derive(Debug, Clone)]
pub struct Spec {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Working directory (absolute): the submission's files are there.
    pub workdir: PathBuf,
    /// The limits the judge sets; the others come from the policy's
    /// `limit` lines, then the run command's defaults.
    pub limits: LimitRequest,
    /// A shipped policy name or a policy file (as `--policy`); None is
    /// classic mode.
    pub policy: Option<String>,
    pub jail: Option<String>,
    pub stdin: Option<PathBuf>,
    pub stdout: PathBuf,
    pub stderr: PathBuf,
    /// The CPU the run (supervisor and program) is pinned to.
    pub cpu: Option<usize>,
}

impl Spec {
    /// The request the command line would make for this run.
    pub fn request(&self) -> RunRequest {
        let mut r = RunRequest::new(&self.program).args(&self.args);
        r.env = self.env.iter().map(|(k, v)| (k.into(), v.into())).collect();
        r.limits = self.limits.clone();
        r.exec_dir = Some(self.workdir.clone());
        r.error_file = Some(self.stderr.clone());
        if let Some(p) = &self.policy {
            r = r.policy_named(p.clone());
        }
        r.jail = self.jail.clone();
        r
    }

    /// The run's final configuration, as the library resolves it.
    pub fn resolve(&self, conf: &AdminConf) -> Result<Resolved, SandboxError> {
        self.request().resolve_with(conf.clone())
    }
}

/// Runs `spec`. Call it in a process of its own (a judge worker): it
/// resolves the run (policy files are read from the judge's working
/// directory), pins the process to the CPU, moves it to the working
/// directory, and points its stdin and stdout at the spec's files, which
/// the program inherits.
pub fn run(spec: &Spec, conf: &AdminConf) -> Result<Report, SandboxError> {
    use std::os::fd::AsRawFd;
    let resolved = spec.resolve(conf)?;
    if let Some(cpu) = spec.cpu {
        crate::sys::pin_to_cpu(cpu)
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
    let output = crate::files::open_output("program output", &spec.stdout)?;
    crate::sys::child::dup2(input.as_raw_fd(), 0)
        .map_err(|e| SandboxError::sys("dup2(stdin)", e))?;
    crate::sys::child::dup2(output.as_raw_fd(), 1)
        .map_err(|e| SandboxError::sys("dup2(stdout)", e))?;
    resolved.run(None)
}

/// Every limit of `l`, set as the command line's options would set them.
pub fn every_limit(l: &crate::Limits) -> LimitRequest {
    LimitRequest {
        cpu: Some(l.cpu),
        memory_kib: Some(l.memory_kib),
        space_kib: Some(l.space_kib),
        clock: Some(l.clock),
        nproc: Some(l.nproc),
        fsize_kib: Some(l.fsize_kib),
        nfile: Some(l.nfile),
        stack_kib: Some(l.stack_kib),
        core_kib: Some(l.core_kib),
        disk_kib: Some(l.disk_kib),
    }
}
