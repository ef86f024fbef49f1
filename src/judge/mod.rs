//! `safeexec judge`: compile a submission, run it on every test of a problem
//! package under the language's policy and limits, judge the output, and
//! report verdicts (docs/judge.md).
//!
//! Layout: [`package`] reads the problem, [`lang`] the languages file,
//! [`sandbox`] is the only caller of the run library, [`compare`] judges an
//! output, [`verdict`] holds the results, [`pool`] runs jobs in parallel,
//! [`shard`] splits and merges work, [`output`] prints and writes JSON.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

pub mod compare;
pub mod lang;
pub mod output;
pub mod package;
pub mod pool;
pub mod sandbox;
pub mod shard;
pub mod verdict;

/// A verdict other than AC (or a --verify mismatch).
pub const EXIT_NOT_ACCEPTED: i32 = crate::error::EXIT_PROGRAM_FAILED;
/// The problem package (or plain test directory) is unreadable or invalid.
pub const EXIT_PACKAGE: i32 = 20;
/// The languages file is invalid, the language is unknown, or a
/// submission's source cannot be read.
pub const EXIT_LANGUAGE: i32 = 21;
/// The output validator does not build, or failed while judging (JE).
pub const EXIT_VALIDATOR: i32 = 22;

/// Errors of the judge before or around judging.
#[derive(Debug, thiserror::Error)]
pub enum JudgeError {
    #[error("{0}")]
    Package(String),
    #[error("{0}")]
    Language(String),
    #[error("{0}")]
    Source(String),
    #[error("{0}")]
    Validator(String),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Output(String),
    /// A stop signal: the workers were stopped, nothing is reported.
    #[error("interrupted by {0}: the running tests were stopped, nothing was judged to the end")]
    Interrupted(String),
    #[error(transparent)]
    Sandbox(#[from] crate::error::SandboxError),
}

impl JudgeError {
    pub fn exit_code(&self) -> i32 {
        match self {
            JudgeError::Package(_) => EXIT_PACKAGE,
            JudgeError::Language(_) | JudgeError::Source(_) => EXIT_LANGUAGE,
            JudgeError::Validator(_) => EXIT_VALIDATOR,
            JudgeError::Usage(_) => crate::error::EXIT_USAGE,
            JudgeError::Output(_) => crate::error::EXIT_OUTPUT,
            // As the run command interrupted by a signal.
            JudgeError::Interrupted(_) => crate::error::EXIT_INTERNAL,
            JudgeError::Sandbox(e) => e.exit_code(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// No policy: rlimits, a unique uid, namespaces.
    Classic,
    /// The language's policy (ptrace + seccomp) on top.
    Paranoid,
}

/// `safeexec judge`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct JudgeArgs {
    #[command(subcommand)]
    pub command: Option<JudgeCmd>,
    /// The problem package (problem.yaml, data/, output_validators/,
    /// submissions/) or a plain directory of NAME.in and NAME.ans/.out
    #[arg(value_name = "PROBLEM", required = true)]
    pub problem: Option<PathBuf>,
    /// Source files, or directories holding one submission each
    #[arg(value_name = "SOURCE")]
    pub sources: Vec<PathBuf>,
    /// The language of every SOURCE (default: from the file extension)
    #[arg(long, value_name = "NAME")]
    pub lang: Option<String>,
    /// A languages file (TOML) whose entries replace the shipped ones by name
    #[arg(long, value_name = "FILE")]
    pub languages: Option<PathBuf>,
    /// classic: limits, uid and namespaces only; paranoid: the language's policy too
    #[arg(long, value_enum, default_value_t = Mode::Paranoid)]
    pub mode: Mode,
    /// Run every test, not only up to the first failure of each group
    #[arg(long)]
    pub all: bool,
    /// Judge every submission under PROBLEM/submissions/ and check that each
    /// gets the verdict of its directory
    #[arg(long)]
    pub verify: bool,
    /// Write every result as one JSON document to FILE (docs/judge.md)
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Runs at a time, each pinned to a CPU of its own [default: CPUs available]
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Judge only the K-th of N slices of the work (1 <= K <= N)
    #[arg(long, value_name = "K/N", value_parser = shard::Shard::parse)]
    pub shard: Option<shard::Shard>,
    /// Time limit in seconds (default: problem.yaml, .timelimit, else 1)
    #[arg(long, value_name = "SECONDS")]
    pub time_limit: Option<f64>,
    /// Memory limit in MiB (default: problem.yaml, else 2048)
    #[arg(long, value_name = "MIB")]
    pub memory_limit: Option<u64>,
    /// Output limit in MiB (default: problem.yaml, else 8)
    #[arg(long, value_name = "MIB")]
    pub output_limit: Option<u64>,
    /// Where build and run directories are made [default: $TMPDIR or /tmp]
    #[arg(long, value_name = "DIR")]
    pub scratch: Option<PathBuf>,
    /// Keep the scratch directory (its path is printed)
    #[arg(long)]
    pub keep: bool,
}

#[derive(Debug, Subcommand)]
pub enum JudgeCmd {
    /// Join the JSON documents of the shards of one judging into the
    /// document an unsharded run writes (to stdout, or --output FILE)
    Merge {
        #[arg(value_name = "SHARD.json", required = true)]
        files: Vec<PathBuf>,
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

/// The subcommand: returns the exit status.
pub fn main(args: &JudgeArgs) -> i32 {
    let r = match &args.command {
        Some(JudgeCmd::Merge { files, output }) => shard::merge_command(files, output.as_deref()),
        None => pool::judge_command(args),
    };
    match r {
        Ok(code) => code,
        Err(e) => {
            eprintln!("safeexec: judge: {e}");
            e.exit_code()
        }
    }
}
