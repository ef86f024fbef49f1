//! The command line: classic safeexec option names (and their aliases) as
//! clap types. `--exec` comes last: everything after it is the program and
//! its arguments, so it is split off before clap sees the rest.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::{parse_seconds, Limits, RunConfig, DEFAULT_UIDPLUS};
use crate::error::SandboxError;
use crate::trace::TraceLevel;

#[derive(Debug, Parser)]
#[command(
    name = "safeexec",
    version,
    about = "Run an untrusted program under limits as a unique unprivileged user, and report what happened.",
    after_help = "Exit status: 0 OK; 1 a verdict about the program (TLE, MLE, OLE, RE, signal, RF); \
2 bad command line; 3 not root; 4 bad policy; 5 the program could not be started; \
6 an output file could not be written; 7 the supervisor failed during the run; \
8 the administrator's configuration (/etc/safeexec.conf) is unsafe or invalid.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Work with policy files.
    #[command(subcommand)]
    Policy(PolicyCmd),
    /// Summarise a trace written by --trace: calls, errors and time per
    /// system call, the process tree, files, network attempts, denials.
    Audit {
        /// The trace file (JSON lines)
        trace: PathBuf,
        /// Print the summary as one JSON object
        #[arg(long)]
        json: bool,
    },
    /// Judge submissions against a problem package: compile, run every test
    /// under the language's policy, compare, report verdicts (docs/judge.md)
    Judge(Box<crate::judge::JudgeArgs>),
}

#[derive(Debug, Subcommand)]
pub enum PolicyCmd {
    /// Validate a policy file (a path or a shipped name): exit 0, or the errors.
    Check { file: String },
    /// Print the resolved policy: groups expanded, includes merged, and what
    /// the kernel filter or the supervisor does with each system call.
    Show { file: String },
    /// Write a policy that allows what one run needed and nothing else:
    /// from a trace (--from TRACE), or by running the program with a full
    /// trace under the audit policy (limits and options, then --exec
    /// PROGRAM ARGS... last; --trace FILE keeps the learning run's trace).
    Learn(Box<LearnArgs>),
}

#[derive(Debug, Args)]
pub struct LearnArgs {
    /// Learn from this trace instead of running a program
    #[arg(long, value_name = "TRACE")]
    pub from: Option<PathBuf>,
    /// Write the policy to FILE instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NetArg {
    /// A new network namespace: nothing is reachable.
    None,
    /// The host's network.
    Host,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// The classic 4-line report.
    Classic,
    /// One JSON object with full precision.
    Json,
}

/// Options of a run. Limits left out take the policy's value, then the
/// classic default shown.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// CPU time of the whole run, seconds (fractions accepted) [default: 1]
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub cpu: Option<Duration>,
    /// Peak resident memory of the whole run, KiB [default: 32768]
    #[arg(long, visible_alias = "memory", value_name = "KBYTES")]
    pub mem: Option<u64>,
    /// Address-space rlimit per process, KiB; 0 = none [default: 0]
    #[arg(long, value_name = "KBYTES")]
    pub space: Option<u64>,
    /// Wall clock of the whole run, seconds (fractions accepted) [default: 10]
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub clock: Option<Duration>,
    /// Processes (and threads) the program may create; 0 = it cannot fork [default: 0]
    #[arg(long, value_name = "N")]
    pub nproc: Option<u64>,
    /// Largest file the program may write, KiB [default: 8192]
    #[arg(long, value_name = "KBYTES")]
    pub fsize: Option<u64>,
    /// Open descriptors per process [default: 64]
    #[arg(long, value_name = "N")]
    pub nfile: Option<u64>,
    /// Stack per process, KiB; 0 = unlimited [default: 8192]
    #[arg(long, value_name = "KBYTES")]
    pub stack: Option<u64>,
    /// Core file size, KiB [default: 0]
    #[arg(long, value_name = "KBYTES")]
    pub core: Option<u64>,
    /// Niceness added to the program, 0..19
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub niceness: i32,
    /// The run's uid is N + the supervisor's pid
    #[arg(long, value_name = "N", default_value_t = DEFAULT_UIDPLUS)]
    pub uidplus: u32,
    /// The run's gid [default: the run's uid, a number no group has]
    #[arg(long, value_name = "GID")]
    pub gid: Option<u32>,
    /// chroot into DIR before dropping root
    #[arg(long = "chroot_dir", visible_alias = "chroot", value_name = "DIR")]
    pub chroot_dir: Option<PathBuf>,
    /// Working directory (inside the chroot when there is one)
    #[arg(long = "exec_dir", visible_alias = "rundir", value_name = "DIR")]
    pub exec_dir: Option<PathBuf>,
    /// Environment of the program, comma separated: NAME (its value here) or
    /// NAME=VALUE. Nothing else is passed.
    #[arg(long = "env_vars", value_name = "LIST")]
    pub env_vars: Option<String>,
    /// Write the report to FILE instead of stderr
    #[arg(long, value_name = "FILE")]
    pub usage: Option<PathBuf>,
    /// Send the program's stderr to FILE
    #[arg(long, value_name = "FILE")]
    pub error: Option<PathBuf>,
    /// Print no report
    #[arg(long)]
    pub silent: bool,
    /// Report format
    #[arg(long, value_enum, default_value_t = ReportFormat::Classic)]
    pub report: ReportFormat,
    /// Paranoid mode with this policy file (a path, or a shipped name such
    /// as default, python3, java, audit)
    #[arg(long, value_name = "FILE")]
    pub policy: Option<String>,
    /// Paranoid mode with the shipped default policy
    #[arg(long)]
    pub paranoid: bool,
    /// The program's network: none (a new empty network namespace) or host
    #[arg(long, value_enum, default_value_t = NetArg::None)]
    pub net: NetArg,
    /// PID, IPC and UTS namespaces and a fresh /proc (the default when root)
    #[arg(long, overrides_with = "no_ns")]
    pub ns: bool,
    /// No PID, IPC or UTS namespace, no fresh /proc
    #[arg(long = "no-ns", overrides_with = "ns")]
    pub no_ns: bool,
    /// A jail root built from read-only binds for a runtime: c, python3, java
    #[arg(long, value_name = "PROFILE")]
    pub jail: Option<String>,
    /// Bind SRC read-only into the jail (at DST, default the same path)
    #[arg(long = "ro-bind", value_name = "SRC[:DST]")]
    pub ro_bind: Vec<String>,
    /// Bind SRC writable into the jail (at DST, default the same path)
    #[arg(long = "bind", value_name = "SRC[:DST]")]
    pub bind: Vec<String>,
    /// A fresh writable tmpfs at DST in the jail
    #[arg(long = "tmpfs", value_name = "DST")]
    pub tmpfs: Vec<PathBuf>,
    /// A per-run cgroup even for a single-process run (by default only
    /// runs that may create processes, --nproc > 0, get one)
    #[arg(long = "cgroup", overrides_with = "no_cgroup")]
    pub cgroup: bool,
    /// No per-run cgroup: accounting from wait4 and /proc only
    #[arg(long = "no-cgroup", overrides_with = "cgroup")]
    pub no_cgroup: bool,
    /// Record the run's system calls and process events in FILE (JSON
    /// lines; docs/trace.md). Without --policy or --paranoid the shipped
    /// audit policy is used: every call runs and is recorded.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// What --trace records: every call, or only the calls a rule did not
    /// simply allow (fast: allowed calls never stop)
    #[arg(long, value_enum, value_name = "LEVEL", default_value_t = TraceLevel::All)]
    pub trace_level: TraceLevel,
    /// Debug logging of each setup step (RUST_LOG works too, except in a
    /// setuid start, where it is ignored and -v shows safeexec's own lines only)
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// The program and its arguments: must come last
    #[arg(long, value_name = "PROGRAM [ARGS...]")]
    pub exec: Option<OsString>,
}

/// A parsed command line: clap's part plus the program after `--exec`.
pub struct Parsed {
    pub cli: Cli,
    pub program: Option<(OsString, Vec<OsString>)>,
}

/// Splits at the first `--exec` and parses the options before it.
pub fn parse(args: Vec<OsString>) -> Result<Parsed, clap::Error> {
    let pos = args.iter().position(|a| a == "--exec" || a == "-e");
    let (opts, program) = match pos {
        Some(i) => {
            let mut rest = args[i + 1..].to_vec();
            let prog = if rest.is_empty() {
                None
            } else {
                let p = rest.remove(0);
                Some((p, rest))
            };
            (args[..i].to_vec(), prog)
        }
        None => (args, None),
    };
    let cli = Cli::try_parse_from(opts)?;
    let program = match (program, &cli.run.exec) {
        (Some(p), _) => Some(p),
        (None, Some(p)) => Some((p.clone(), Vec::new())),
        (None, None) => None,
    };
    Ok(Parsed { cli, program })
}

/// Parses `--env_vars`: NAME takes the caller's value (skipped if unset),
/// NAME=VALUE sets it.
pub fn parse_env(list: &str) -> Result<Vec<(OsString, OsString)>, SandboxError> {
    let mut out = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (k, v) = match item.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(OsString::from(v))),
            None => (item.to_string(), None),
        };
        if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(SandboxError::Usage(format!(
                "--env_vars: `{item}` is not NAME or NAME=VALUE"
            )));
        }
        let v = match v {
            Some(v) => v,
            None => match std::env::var_os(&k) {
                Some(v) => v,
                None => continue,
            },
        };
        out.push((OsString::from(k), v));
    }
    Ok(out)
}

impl RunArgs {
    /// The run configuration: command line over policy limits over defaults.
    pub fn to_config(
        &self,
        program: OsString,
        args: Vec<OsString>,
        policy_limits: Option<&Limits>,
    ) -> Result<RunConfig, SandboxError> {
        let mut c = RunConfig::new(PathBuf::from(program));
        c.args = args;
        let base = policy_limits.cloned().unwrap_or_default();
        c.limits = Limits {
            cpu: self.cpu.unwrap_or(base.cpu),
            memory_kib: self.mem.unwrap_or(base.memory_kib),
            space_kib: self.space.unwrap_or(base.space_kib),
            clock: self.clock.unwrap_or(base.clock),
            nproc: self.nproc.unwrap_or(base.nproc),
            fsize_kib: self.fsize.unwrap_or(base.fsize_kib),
            nfile: self.nfile.unwrap_or(base.nfile),
            stack_kib: self.stack.unwrap_or(base.stack_kib),
            core_kib: self.core.unwrap_or(base.core_kib),
        };
        c.niceness = self.niceness;
        c.uidplus = self.uidplus;
        c.gid = self.gid;
        c.chroot_dir = self.chroot_dir.clone();
        c.exec_dir = self.exec_dir.clone();
        c.error_file = self.error.clone();
        c.isolation = crate::isolate::IsolationConfig {
            net: match self.net {
                NetArg::None => crate::isolate::Net::None,
                NetArg::Host => crate::isolate::Net::Host,
            },
            namespaces: !self.no_ns,
            jail: self.jail.clone(),
            binds: self
                .ro_bind
                .iter()
                .map(|b| crate::isolate::Bind::parse(b, false))
                .chain(
                    self.bind
                        .iter()
                        .map(|b| crate::isolate::Bind::parse(b, true)),
                )
                .collect::<Result<_, _>>()
                .map_err(|e| SandboxError::Usage(format!("--bind: {e}")))?,
            tmpfs: self.tmpfs.clone(),
            // A single process's figures are exact without a cgroup (its
            // VmHWM / ru_maxrss and rusage), and creating and removing the
            // v1 cgroups is most of a run's start-up cost
            // (docs/performance.md): only a tree needs one.
            cgroups: !self.no_cgroup && (self.cgroup || c.limits.nproc > 0),
        };
        if let Some(list) = &self.env_vars {
            c.env = parse_env(list)?;
        }
        c.validate()?;
        Ok(c)
    }
}
