//! Paranoid mode: the ptrace + seccomp supervisor loop.

use nix::unistd::Pid;

use super::watchdog::Shared;
use super::Outcome;
use crate::config::RunConfig;
use crate::error::{Result, SandboxError};
use crate::policy::Policy;
use crate::sys::SockFilter;

pub(crate) fn filter_for(_p: &Policy) -> Result<(Vec<SockFilter>, libc::c_ulong)> {
    Err(SandboxError::Policy(
        "paranoid mode is not available yet".into(),
    ))
}

pub(crate) fn trace_loop(_child: Pid, _p: &Policy, _s: &Shared, _c: &RunConfig) -> Outcome {
    Outcome {
        internal: Some("paranoid mode is not available yet".into()),
        ..Outcome::default()
    }
}
