//! The command line: classic safeexec option names (and their aliases) as
//! clap types. `--exec` comes last: everything after it is the program and
//! its arguments, so it is split off before clap sees the rest.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::{parse_seconds, DEFAULT_UIDPLUS};
use crate::error::SandboxError;
use crate::resolve::{LimitRequest, PolicyRequest, RunRequest};
use crate::trace::TraceLevel;

#[derive(Debug, Parser)]
#[command(
    name = "safeexec",
    version,
    about = "Run an untrusted program under limits as a unique unprivileged user, and report what happened.",
    after_help = "Exit status: 0 OK; 1 a verdict about the program (TLE, MLE, OLE, RE, signal, RF); \
2 bad command line; 3 not root; 4 bad policy; 5 the program could not be started; \
6 an output file could not be written; 7 the supervisor failed during the run; \
8 the administrator's configuration (/etc/safeexec.conf) is unsafe or invalid; \
9 the administrator's configuration does not allow what was asked; \
10 audit or policy learn --from was given a file that is not a trace; \
11 the administrator requires a cgroup (require_cgroup) and the run cannot get one.",
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
        /// Print the summary as one JSON object (the same as --format json)
        #[arg(long, conflicts_with = "format")]
        json: bool,
        /// text: the summary; json: the summary as one JSON object; strace:
        /// every call as `strace -f` prints it
        #[arg(long, value_enum, value_name = "FORMAT")]
        format: Option<AuditFormat>,
    },
    /// Print what this host offers a sandbox (cgroup version and
    /// controllers, Landlock ABI, user namespaces, seccomp) and what
    /// safeexec will use; as root, a probe run cgroup is made and removed.
    Check,
    /// Print the manual page (roff) on stdout: `safeexec man | man -l -`.
    Man,
    /// Print a completion script for SHELL on stdout.
    Completions {
        /// bash, zsh, fish, elvish or powershell
        shell: clap_complete::Shell,
    },
    /// Judge submissions against a problem package: compile, run every test
    /// under the language's policy, compare, report verdicts (docs/judge.md)
    Judge(Box<crate::judge::JudgeArgs>),
}

#[derive(Debug, Subcommand)]
pub enum PolicyCmd {
    /// Validate a policy file (a path or a shipped name): exit 0, or the errors.
    Check {
        /// A policy file, or a shipped name (default, python3, java, audit, base)
        file: String,
    },
    /// Print the resolved policy: groups expanded, includes merged, and what
    /// the kernel filter or the supervisor does with each system call.
    Show {
        /// A policy file, or a shipped name
        file: String,
    },
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
    /// Write the policy even when the learning run did not end OK (a
    /// policy learned from a failed run covers only what it did until then)
    #[arg(long)]
    pub accept_failure: bool,
    #[command(flatten)]
    pub run: RunArgs,
}

/// What `safeexec audit` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuditFormat {
    /// The summary: calls, errors and time per call, processes, files, network, denials.
    Text,
    /// The summary as one JSON object.
    Json,
    /// One line per call in strace's style (decoded flags, errno names).
    Strace,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NetArg {
    /// A new network namespace: nothing is reachable.
    None,
    /// The host's network.
    Host,
}

/// `--landlock`: what a kernel without Landlock means for path rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LandlockArg {
    /// A policy with read, write or exec path rules refuses to run.
    Required,
    /// The supervisor's ptrace check alone, with a warning.
    Optional,
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
    #[arg(long, allow_negative_numbers = true, value_name = "SECONDS", value_parser = parse_seconds)]
    pub cpu: Option<Duration>,
    /// Peak resident memory of the whole run, KiB [default: 32768]
    #[arg(
        long,
        visible_alias = "memory",
        allow_negative_numbers = true,
        value_name = "KBYTES"
    )]
    pub mem: Option<u64>,
    /// Address-space rlimit per process, KiB; 0 = none [default: 0]
    #[arg(long, allow_negative_numbers = true, value_name = "KBYTES")]
    pub space: Option<u64>,
    /// Wall clock of the whole run, seconds (fractions accepted) [default: 10]
    #[arg(long, allow_negative_numbers = true, value_name = "SECONDS", value_parser = parse_seconds)]
    pub clock: Option<Duration>,
    /// Processes (and threads) the program may create; 0 = it cannot fork [default: 0]
    #[arg(long, allow_negative_numbers = true, value_name = "N")]
    pub nproc: Option<u64>,
    /// Largest file the program may write, KiB [default: 8192]
    #[arg(long, allow_negative_numbers = true, value_name = "KBYTES")]
    pub fsize: Option<u64>,
    /// Open descriptors per process [default: 64]
    #[arg(long, allow_negative_numbers = true, value_name = "N")]
    pub nfile: Option<u64>,
    /// Stack per process, KiB; 0 = unlimited [default: 8192]
    #[arg(long, allow_negative_numbers = true, value_name = "KBYTES")]
    pub stack: Option<u64>,
    /// Core file size, KiB [default: 0]
    #[arg(long, allow_negative_numbers = true, value_name = "KBYTES")]
    pub core: Option<u64>,
    /// What the program may write in its working directory in total, KiB:
    /// it writes into a bounded, run-private layer over the directory, and
    /// what it wrote is handed back into the directory, owned by the caller,
    /// when the run ends; past the bound: Output Limit Exceeded. 0 = write
    /// straight into the directory [default: 65536]
    #[arg(long, value_name = "KBYTES")]
    pub disk: Option<u64>,
    /// Niceness added to the program, 0..19
    #[arg(
        long,
        allow_negative_numbers = true,
        value_name = "N",
        default_value_t = 0
    )]
    pub niceness: i32,
    /// The run's uid is N + the supervisor's pid
    #[arg(long, allow_negative_numbers = true, value_name = "N", default_value_t = DEFAULT_UIDPLUS)]
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
    #[arg(long, conflicts_with = "policy")]
    pub paranoid: bool,
    /// The program's network: none (a new empty network namespace) or host
    #[arg(long, value_enum, default_value_t = NetArg::None)]
    pub net: NetArg,
    /// PID, IPC and UTS namespaces and a fresh /proc (the default when root)
    #[arg(long, conflicts_with = "no_ns")]
    pub ns: bool,
    /// No PID, IPC or UTS namespace, no fresh /proc
    #[arg(long = "no-ns")]
    pub no_ns: bool,
    /// Paranoid mode on a kernel without Landlock: `required` refuses a
    /// policy with path rules, `optional` runs with the supervisor's check
    /// alone and a warning (as `landlock optional` in the policy)
    #[arg(long, value_enum, value_name = "MODE", default_value_t = LandlockArg::Required)]
    pub landlock: LandlockArg,
    /// Classic mode without its default seccomp filter (which refuses user
    /// namespaces, kernel keys, perf events, userfaultfd, bpf, io_uring,
    /// kexec, module loading, ptrace and personality changes)
    #[arg(long = "no-filter")]
    pub no_filter: bool,
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
    /// Let the program read PATH (a directory: its whole tree): added to
    /// the policy's path rules and kept visible over the private /tmp.
    /// Opened with the caller's rights; a setuid caller must name a path
    /// under the administrator's allowed_dirs (repeatable)
    #[arg(long = "allow-read", value_name = "PATH")]
    pub allow_read: Vec<PathBuf>,
    /// Let the program write (and read) PATH (a directory: its whole
    /// tree), as --allow-read; the caller must be able to write it
    /// (repeatable)
    #[arg(long = "allow-write", value_name = "PATH")]
    pub allow_write: Vec<PathBuf>,
    /// A per-run cgroup even for a single-process run (by default only
    /// runs that may create processes, --nproc > 0, get one)
    #[arg(long = "cgroup", overrides_with = "no_cgroup")]
    pub cgroup: bool,
    /// No per-run cgroup: accounting from wait4 and /proc only (a caller of
    /// a setuid install always gets one: the kernel bounds its memory)
    #[arg(long = "no-cgroup", overrides_with = "cgroup")]
    pub no_cgroup: bool,
    /// Record the run's system calls and process events in FILE (JSON
    /// lines; docs/trace.md). Without --policy or --paranoid the shipped
    /// audit policy is used: every call runs and is recorded.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// What --trace records: every call, or only the calls a rule did not
    /// simply allow (fast: allowed calls never stop)
    #[arg(long, requires = "trace", value_enum, value_name = "LEVEL", default_value_t = TraceLevel::All)]
    pub trace_level: TraceLevel,
    /// Print the run's effective configuration (limits, policy, jail,
    /// cgroup, the administrator's bounds) as one JSON object on stdout,
    /// after every check a run makes before it starts, and exit without
    /// running the program
    #[arg(long = "show-config")]
    pub show_config: bool,
    /// Largest --trace file, KiB: past it a final `truncated` record is
    /// written and recording stops (the run goes on, its verdict unchanged)
    /// [default: the --fsize value; at most 4194304]
    #[arg(long, value_name = "KBYTES", value_parser = clap::value_parser!(u64).range(1..=crate::trace::MAX_TRACE_LIMIT_KIB))]
    pub trace_limit: Option<u64>,
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

/// A command-line error as safeexec prints it: one `safeexec:` line naming
/// the problem, then, indented, what clap adds that the reader needs (the
/// missing argument, the allowed values, the option it probably meant),
/// without the usage block.
pub fn usage_error_text(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("bad command line");
    let mut out = format!(
        "safeexec: {}\n",
        first.trim_start_matches("error: ").trim_end()
    );
    let mut in_usage = false;
    for l in lines {
        let t = l.trim();
        // The usage block runs from `Usage:` to the next blank line.
        in_usage = (in_usage || t.starts_with("Usage:")) && !t.is_empty();
        if t.is_empty() || in_usage || t.starts_with("For more information") {
            continue;
        }
        out.push_str("  ");
        out.push_str(t);
        out.push('\n');
    }
    out
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
    /// The request this command line makes (resolved with the policy and
    /// the administrator's configuration by [`crate::resolve`]). `trace`:
    /// the level of the trace that will be written, if any.
    pub fn to_request(
        &self,
        program: OsString,
        args: Vec<OsString>,
        trace: Option<TraceLevel>,
    ) -> Result<RunRequest, SandboxError> {
        let mut r = RunRequest::new(PathBuf::from(program));
        r.args = args;
        r.limits = LimitRequest {
            cpu: self.cpu,
            memory_kib: self.mem,
            space_kib: self.space,
            clock: self.clock,
            nproc: self.nproc,
            fsize_kib: self.fsize,
            nfile: self.nfile,
            stack_kib: self.stack,
            core_kib: self.core,
            disk_kib: self.disk,
        };
        r.niceness = self.niceness;
        r.uidplus = self.uidplus;
        r.gid = self.gid;
        r.chroot_dir = self.chroot_dir.clone();
        r.exec_dir = self.exec_dir.clone();
        r.error_file = self.error.clone();
        r.policy = match (&self.policy, self.paranoid) {
            (Some(name), _) => PolicyRequest::Named(name.clone()),
            (None, true) => PolicyRequest::Paranoid,
            (None, false) => PolicyRequest::None,
        };
        r.net = match self.net {
            NetArg::None => crate::isolate::Net::None,
            NetArg::Host => crate::isolate::Net::Host,
        };
        r.namespaces = !self.no_ns;
        r.jail = self.jail.clone();
        r.binds = self
            .ro_bind
            .iter()
            .map(|b| crate::isolate::Bind::parse(b, false))
            .chain(
                self.bind
                    .iter()
                    .map(|b| crate::isolate::Bind::parse(b, true)),
            )
            .collect::<Result<_, _>>()
            .map_err(|e| SandboxError::Usage(format!("--bind: {e}")))?;
        r.tmpfs = self.tmpfs.clone();
        r.allow_read = self.allow_read.clone();
        r.allow_write = self.allow_write.clone();
        r.cgroup = if self.no_cgroup {
            Some(false)
        } else if self.cgroup {
            Some(true)
        } else {
            None
        };
        r.trace = trace;
        r.classic_filter = !self.no_filter;
        r.landlock_optional = self.landlock == LandlockArg::Optional;
        if let Some(list) = &self.env_vars {
            r.env = parse_env(list)?;
        }
        Ok(r)
    }
}
