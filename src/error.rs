//! Errors of safeexec itself: "the sandbox failed", kept apart from verdicts
//! about the program (those live in [`crate::report::Verdict`]).
//!
//! Each variant is one failing step; its [`SandboxError::exit_code`] is the
//! process exit status the command line uses, one per kind of problem.

use std::path::PathBuf;

/// Exit status for a run whose verdict is OK.
pub const EXIT_OK: i32 = 0;
/// Exit status for any verdict about the program (TLE, MLE, RE, RF, ...).
pub const EXIT_PROGRAM_FAILED: i32 = 1;
/// Bad command line: unknown option, value out of range, missing --exec.
pub const EXIT_USAGE: i32 = 2;
/// safeexec lacks the privilege it needs: not root, not installed setuid,
/// and no unprivileged user namespace for rootless mode.
pub const EXIT_PRIVILEGE: i32 = 3;
/// The policy file could not be read or is invalid.
pub const EXIT_POLICY: i32 = 4;
/// The program could not be started: missing, not executable, bad chroot or
/// working directory, refused uid/gid.
pub const EXIT_SETUP: i32 = 5;
/// A file safeexec must write (report, error file, trace) could not be written.
pub const EXIT_OUTPUT: i32 = 6;
/// The supervisor failed during the run (a system call it relies on failed).
pub const EXIT_INTERNAL: i32 = 7;
/// The administrator's configuration (/etc/safeexec.conf) is unsafe (not
/// owned by root, writable by group or others) or invalid: nothing runs.
pub const EXIT_CONFIG: i32 = 8;
/// The administrator's configuration does not allow what was asked (a limit
/// above its maximum, a directory outside allowed_dirs, the run's uid
/// outside uid_min..uid_max, classic mode where a policy is required,
/// --trace or --net host without the permission).
pub const EXIT_REFUSED: i32 = 9;
/// The file given to `audit` or `policy learn --from` is not a trace: not a
/// regular file, over the bound for a trace, or without one valid record.
pub const EXIT_NOT_TRACE: i32 = 10;
/// The administrator requires a cgroup for every run that should have one
/// (`require_cgroup = yes`) and this run cannot get one on this host.
pub const EXIT_NO_CGROUP: i32 = 11;

/// Everything that can make the sandbox itself fail.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("{0}")]
    Usage(String),

    #[error("safeexec must run as root (install it setuid root: chown root safeexec && chmod u+s safeexec); effective uid is {euid}")]
    NotRoot { euid: u32 },

    /// Rootless mode (not root, not setuid) needs an unprivileged user
    /// namespace, and the kernel refused one.
    #[error("safeexec is not root, and rootless mode is unavailable: clone(CLONE_NEWUSER) => {errno}: {why}; run it as root or install it setuid root (chown root safeexec && chmod u+s safeexec)")]
    NoUserNs {
        errno: nix::errno::Errno,
        why: String,
    },

    #[error("uid {uid} belongs to the existing account `{name}`: choose another --uidplus")]
    UidTaken { uid: u32, name: String },

    #[error("gid {gid} belongs to the existing group `{name}`: choose another --gid")]
    GidTaken { gid: u32, name: String },

    /// The run's uid is in use: a process has it, or another run holds it.
    #[error("uid {uid} is in use ({why}): choose another --uidplus")]
    UidInUse { uid: u32, why: String },

    /// No uid of the administrator's range is free for a caller's run.
    #[error("no free uid for the run: {tried} tried in uid_min..uid_max = {min}..{max}, each an account's, a process's or another run's (ask the administrator for a larger range)")]
    NoFreeUid { min: u32, max: u32, tried: u64 },

    #[error("{0}")]
    Policy(#[source] crate::policy::PolicyError),

    #[error("{what} {path}: {source}")]
    Path {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot start the program: {step}: {errno}{hint}")]
    ChildSetup {
        step: String,
        errno: nix::errno::Errno,
        /// Empty, or `; ` and what the caller probably meant (the program
        /// is a directory; no PATH lookup is done).
        hint: String,
    },

    #[error("cannot write {what} {path}: {source}")]
    Output {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("supervisor: {call} => {errno}")]
    Sys {
        call: String,
        errno: nix::errno::Errno,
    },

    #[error("supervisor: {0}")]
    Internal(String),

    #[error("interrupted by signal {0}: the run was killed")]
    Interrupted(String),

    /// A file or directory the caller named that is missing or that the
    /// caller may not use: one message for both, so a setuid safeexec does
    /// not tell callers which files exist where they cannot look.
    #[error("cannot open {what} {path}: no such file or not permitted")]
    Inaccessible {
        what: &'static str,
        path: PathBuf,
        /// The exit status (setup, policy or output).
        code: i32,
    },

    /// The administrator's configuration does not allow what was asked.
    #[error("{0}")]
    Refused(String),

    #[error("administrator's configuration {0}")]
    AdminConf(String),

    /// `audit` or `policy learn --from` of a file that is not a trace.
    #[error("{} is not a trace: {why}", path.display())]
    NotATrace { path: PathBuf, why: String },
    /// The policy has path rules and the kernel cannot enforce them with
    /// Landlock; the policy or command line did not say `landlock optional`.
    #[error("the policy's path rules need Landlock and {why}; run on Linux 5.13 or later with Landlock enabled, or say `landlock optional` in the policy (or --landlock optional) to rely on the supervisor's ptrace check alone")]
    NoLandlock { why: String },
    /// The policy has `net` rules (TCP ports) and the kernel has no Landlock
    /// network rights (ABI 4, Linux 6.7): nothing else can enforce them, so
    /// `landlock optional` does not apply.
    #[error("the policy's `net` rules (TCP ports) need Landlock ABI 4 (Linux 6.7 or later) and {why}; no other layer can enforce them")]
    NoLandlockNet { why: String },
    /// `require_cgroup = yes` and the run's cgroup cannot be made.
    #[error("this run needs a cgroup (require_cgroup = yes in {conf}) and cannot get one: {why}")]
    NoCgroup { conf: String, why: String },
}

impl SandboxError {
    /// The exit status the command line reports for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            SandboxError::Usage(_) => EXIT_USAGE,
            SandboxError::Refused(_) => EXIT_REFUSED,
            SandboxError::NotRoot { .. }
            | SandboxError::NoUserNs { .. }
            | SandboxError::NoLandlock { .. }
            | SandboxError::NoLandlockNet { .. } => EXIT_PRIVILEGE,
            SandboxError::Policy(_) => EXIT_POLICY,
            SandboxError::UidTaken { .. }
            | SandboxError::GidTaken { .. }
            | SandboxError::UidInUse { .. }
            | SandboxError::NoFreeUid { .. }
            | SandboxError::Path { .. }
            | SandboxError::ChildSetup { .. } => EXIT_SETUP,
            SandboxError::Output { .. } => EXIT_OUTPUT,
            SandboxError::Inaccessible { code, .. } => *code,
            SandboxError::AdminConf(_) => EXIT_CONFIG,
            SandboxError::NotATrace { .. } => EXIT_NOT_TRACE,
            SandboxError::NoCgroup { .. } => EXIT_NO_CGROUP,
            SandboxError::Sys { .. } | SandboxError::Internal(_) | SandboxError::Interrupted(_) => {
                EXIT_INTERNAL
            }
        }
    }

    /// A failed system call, named with its arguments: `setuid(10423) => EPERM`.
    pub fn sys(call: impl Into<String>, errno: nix::errno::Errno) -> Self {
        SandboxError::Sys {
            call: call.into(),
            errno,
        }
    }
}

pub type Result<T, E = SandboxError> = std::result::Result<T, E>;
