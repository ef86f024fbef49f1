//! The supervisor's side of Landlock: ask the kernel, compile the policy's
//! path rules, refuse a run the kernel cannot protect (unless the policy or
//! the command line says `landlock optional`), and create the ruleset the
//! child fills after its mounts (src/jail.rs).

use std::os::fd::{AsRawFd, OwnedFd};

use serde::Serialize;

use crate::config::RunConfig;
use crate::error::{Result, SandboxError};
use crate::jail::ChildLandlock;
use crate::policy::KernelLandlock;

/// Which layers enforced a run's path rules (in the JSON report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathEnforcement {
    /// `landlock+ptrace`, `ptrace` (Landlock missing, `landlock optional`),
    /// or `none` (no read, write or exec path rules).
    pub layers: String,
    /// The kernel's Landlock ABI when it was used.
    pub landlock_abi: Option<i32>,
}

/// What the run gets.
pub struct Prepared {
    /// The ruleset descriptor; kept open until the child has forked.
    pub ruleset: Option<OwnedFd>,
    pub child: Option<ChildLandlock>,
    /// The rules' paths, for setup error messages.
    pub paths: Vec<String>,
    pub enforcement: Option<PathEnforcement>,
    /// A line for the report when the path rules are weaker than asked.
    pub warning: Option<String>,
}

/// Decides and prepares Landlock for a run (paranoid mode only).
pub fn prepare(cfg: &RunConfig) -> Result<Prepared> {
    let none = Prepared {
        ruleset: None,
        child: None,
        paths: Vec::new(),
        enforcement: None,
        warning: None,
    };
    let Some(policy) = &cfg.policy else {
        return Ok(none);
    };
    if !policy.landlock_relevant() {
        return Ok(Prepared {
            enforcement: Some(PathEnforcement {
                layers: "none".into(),
                landlock_abi: None,
            }),
            ..none
        });
    }
    let kernel = KernelLandlock::detect();
    let Some(abi) = kernel.abi() else {
        if !policy.landlock_optional() {
            return Err(SandboxError::NoLandlock {
                why: kernel.why().into(),
            });
        }
        let warning = format!(
            "path rules enforced by the supervisor's ptrace check only (landlock optional): {}",
            kernel.why()
        );
        log::debug!("{warning}");
        return Ok(Prepared {
            enforcement: Some(PathEnforcement {
                layers: "ptrace".into(),
                landlock_abi: None,
            }),
            warning: Some(warning),
            ..none
        });
    };
    let Some(plan) = policy.landlock_plan(abi, &cfg.program) else {
        return Ok(none);
    };
    for r in &plan.rules {
        log::debug!(
            "landlock: {} {:#x} (from {}{})",
            r.path,
            r.access,
            r.from,
            if r.wider {
                ", wider than the pattern"
            } else {
                ""
            }
        );
    }
    let fd = plan.create_ruleset().map_err(SandboxError::Internal)?;
    let rules = plan.child_rules().map_err(SandboxError::Usage)?;
    Ok(Prepared {
        child: Some(ChildLandlock {
            ruleset: fd.as_raw_fd(),
            rules,
            file_access: plan.file_access,
        }),
        ruleset: Some(fd),
        paths: plan.rules.iter().map(|r| r.path.clone()).collect(),
        enforcement: Some(PathEnforcement {
            layers: "landlock+ptrace".into(),
            landlock_abi: Some(abi),
        }),
        warning: None,
    })
}
