//! safeexec: run an untrusted program under limits, as a unique unprivileged
//! user, and report what happened.
//!
//! The command-line tool is a thin front end over this library. A request
//! is resolved with the policy and the administrator's configuration
//! (`/etc/safeexec.conf`) exactly as the command line resolves it
//! ([`resolve`]), then run:
//!
//! ```no_run
//! use std::time::Duration;
//! use safeexec::{Sandbox, Verdict};
//!
//! let run = Sandbox::builder("/bin/echo")
//!     .arg("hello")
//!     .cpu(Duration::from_millis(500))
//!     .memory_kib(65_536)
//!     .resolve()
//!     .expect("refused");
//! let report = run.run(None).expect("the sandbox failed");
//! assert_eq!(report.verdict, Verdict::OK);
//! print!("{}", report.classic());
//! ```
//!
//! A complete [`RunConfig`] can be run with [`run`] / [`run_with`] too; it
//! goes through the same bounds ([`Resolved::from_config`]).
//!
//! Running needs root (the tool is installed setuid root): the program is
//! started under uid `uidplus + pid` so two runs can never signal each other.
#![deny(unsafe_code)]

pub mod accounts;
pub mod adminconf;
pub mod audit;
pub mod caller;
pub mod cli;
pub mod config;
pub mod error;
pub mod files;
pub mod hostcheck;
pub mod input;
pub mod isolate;
pub(crate) mod jail;
pub mod judge;
pub mod learn;
pub mod learn_run;
pub mod manual;
pub(crate) mod measure;
pub mod named;
pub mod policy;
pub mod report;
pub mod resolve;
pub mod runuid;
pub mod schema;
pub mod strace;
pub mod supervisor;
pub(crate) mod sys;
pub mod trace;

pub use config::{Limits, RunConfig};
pub use error::SandboxError;
pub use report::{Report, Verdict};
pub use resolve::{run, run_traced, run_with};
pub use resolve::{Resolved, RunRequest, Sandbox};
