//! safeexec: run an untrusted program under limits, as a unique unprivileged
//! user, and report what happened.
//!
//! The command-line tool is a thin front end over this library:
//!
//! ```no_run
//! use std::time::Duration;
//! use safeexec::{RunConfig, Verdict};
//!
//! let mut cfg = RunConfig::new("/bin/echo");
//! cfg.args = vec!["hello".into()];
//! cfg.limits.cpu = Duration::from_millis(500);
//! cfg.limits.memory_kib = 65_536;
//! let report = safeexec::run(&cfg).expect("the sandbox failed");
//! assert_eq!(report.verdict, Verdict::OK);
//! print!("{}", report.classic());
//! ```
//!
//! Running needs root (the tool is installed setuid root): the program is
//! started under uid `uidplus + pid` so two runs can never signal each other.
#![deny(unsafe_code)]

pub mod accounts;
pub mod adminconf;
pub mod audit;
pub mod cli;
pub mod config;
pub mod error;
pub mod isolate;
pub mod jail;
pub mod judge;
pub mod learn;
pub mod measure;
pub mod policy;
pub mod report;
pub mod supervisor;
pub mod sys;
pub mod trace;

pub use config::{Limits, RunConfig};
pub use error::SandboxError;
pub use report::{Report, Verdict};
pub use supervisor::{run, run_with};
