//! safeexec: run an untrusted program under limits and report what happened.
#![deny(unsafe_code)]
pub mod policy;
