//! The library API: `safeexec::run` with a `RunConfig`, called in-process.
//! Only refusals that happen before any fork are tested here; runs of
//! programs go through the built binary (tests/classic.rs).

mod common;

use std::path::Path;

use safeexec::{RunConfig, SandboxError};

#[test]
fn uid_of_an_existing_account_is_refused() {
    if !common::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let nobody = safeexec::accounts::name_with_id(Path::new("/etc/passwd"), 65534);
    let Some(name) = nobody else {
        eprintln!("skipped: no account with uid 65534 in /etc/passwd");
        return;
    };
    let pid = std::process::id();
    if pid >= 65534 {
        eprintln!("skipped: pid {pid} too large to reach uid 65534");
        return;
    }
    // The run's uid is uidplus + our pid: make it 65534.
    let mut cfg = RunConfig::new("/bin/true");
    cfg.uidplus = 65534 - pid;
    match safeexec::run(&cfg) {
        Err(SandboxError::UidTaken { uid, name: n }) => {
            assert_eq!(uid, 65534);
            assert_eq!(n, name);
            let e = SandboxError::UidTaken { uid, name: n };
            assert_eq!(e.exit_code(), safeexec::error::EXIT_SETUP);
            assert!(e.to_string().contains(&format!("`{name}`")), "{e}");
        }
        other => panic!("expected UidTaken naming {name}, got {other:?}"),
    }
}

#[test]
fn invalid_config_is_a_usage_error() {
    let mut cfg = RunConfig::new("/bin/true");
    cfg.limits.memory_kib = 0;
    match safeexec::run(&cfg) {
        Err(e @ SandboxError::Usage(_)) => assert_eq!(e.exit_code(), 2),
        other => panic!("expected Usage, got {other:?}"),
    }
}
