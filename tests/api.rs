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

/// The built example `name` (cargo builds examples for `cargo test`).
fn example(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/api-HASH -> target/<profile>/examples/NAME
    exe.parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join(name)
}

#[test]
fn the_examples_run_and_report() {
    if !common::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let out = std::process::Command::new(example("run_under_limits"))
        .args(["/bin/echo", "from the example"])
        .output()
        .expect("examples/run_under_limits.rs is built by cargo test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("from the example"), "{stdout}");
    assert!(stdout.contains("verdict OK"), "{stdout}");
    assert!(stderr.starts_with("OK\n"), "classic report: {stderr}");
    // A program over its CPU limit: the example says so and exits 1.
    let out = std::process::Command::new(example("run_under_limits"))
        .args(["/bin/sh", "-c", "while :; do :; done"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("Time Limit Exceeded"), "{stdout}");

    let out = std::process::Command::new(example("policy_from_string"))
        .output()
        .expect("examples/policy_from_string.rs is built by cargo test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("verdict OK (mode paranoid)"), "{stdout}");
}
