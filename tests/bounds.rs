//! Nothing unbounded in what safeexec reads for its caller (issue 14):
//! a policy, an include or the administrator's configuration that is a
//! device, a FIFO or too large fails within a second, with one line and its
//! own exit status, and safeexec's memory stays small. The same through a
//! setuid install is in tests/setuid.rs.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{run_measured, Measured, SAFEEXEC};

const MAX_RSS_KIB: u64 = 64 * 1024;

fn fails_fast(m: &Measured, code: i32, want: &str, what: &str) {
    assert_eq!(m.code, Some(code), "{what}: {m:?}");
    assert!(m.elapsed < Duration::from_secs(1), "{what}: {m:?}");
    assert!(m.max_rss_kib < MAX_RSS_KIB, "{what}: {m:?}");
    assert_eq!(m.stderr.lines().count(), 1, "{what}: {m:?}");
    assert!(m.stderr.contains(want), "{what}: {m:?}");
}

fn safeexec(args: &[&str]) -> Measured {
    let mut c = Command::new(SAFEEXEC);
    c.args(args).current_dir("/tmp");
    run_measured(c, Duration::from_secs(5))
}

fn fifo(dir: &Path) -> String {
    let p = dir.join("policy.fifo");
    nix::unistd::mkfifo(&p, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    p.display().to_string()
}

#[test]
fn policy_that_is_a_device_or_fifo_fails_at_once() {
    let d = tempfile::tempdir().unwrap();
    let fifo = fifo(d.path());
    for (p, kind) in [
        ("/dev/zero", "a character device"),
        ("/dev/urandom", "a character device"),
        (fifo.as_str(), "a FIFO"),
    ] {
        let m = safeexec(&["--policy", p, "--exec", "/bin/true"]);
        let want = format!("safeexec: cannot read policy file {p}: not a regular file ({kind})");
        fails_fast(&m, 4, &want, p);
        assert!(m.stderr.starts_with("safeexec: "), "{m:?}");
        for sub in ["check", "show"] {
            let m = safeexec(&["policy", sub, p]);
            fails_fast(&m, 4, "not a regular file", p);
        }
    }
}

#[test]
fn policy_over_one_mib_and_include_bombs_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let big = d.path().join("big.policy");
    std::fs::write(&big, "# padding\n".repeat(110_000)).unwrap();
    let m = safeexec(&["--policy", big.to_str().unwrap(), "--exec", "/bin/true"]);
    fails_fast(
        &m,
        4,
        "larger than 1 MiB, the bound for a policy file",
        "big",
    );
    // An include of /dev/zero, and of a FIFO.
    let fifo = fifo(d.path());
    for target in ["/dev/zero", fifo.as_str()] {
        let p = d.path().join("inc.policy");
        std::fs::write(&p, format!("include default\ninclude \"{target}\"\n")).unwrap();
        let m = safeexec(&["--policy", p.to_str().unwrap(), "--exec", "/bin/true"]);
        fails_fast(
            &m,
            4,
            &format!("cannot read included file {target}: not a regular file"),
            target,
        );
    }
    // Eight includes of the next file, sixteen levels deep (8^15 parses
    // unbounded): one line for the depth; ten levels deep: one line for the
    // number of files.
    for (levels, want) in [
        (16, "includes nested deeper than 16"),
        (10, "more than 64 files parsed for one policy"),
    ] {
        let sub = d.path().join(format!("fan{levels}"));
        std::fs::create_dir(&sub).unwrap();
        for i in 0..levels {
            std::fs::write(
                sub.join(format!("f{i}.policy")),
                format!("include ./f{}.policy\n", i + 1).repeat(8),
            )
            .unwrap();
        }
        std::fs::write(sub.join(format!("f{levels}.policy")), "include default\n").unwrap();
        let f0 = sub.join("f0.policy");
        let m = safeexec(&["--policy", f0.to_str().unwrap(), "--exec", "/bin/true"]);
        fails_fast(&m, 4, want, want);
    }
}

#[test]
fn admin_conf_that_is_a_fifo_or_too_large_is_refused() {
    if !common::is_root() {
        eprintln!("skipped: SAFEEXEC_CONF is honoured for root only");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let fifo = fifo(d.path());
    let big = d.path().join("big.conf");
    std::fs::write(&big, "# padding\n".repeat(7_000)).unwrap();
    for (p, want) in [
        (fifo.as_str(), "not a regular file (a FIFO)"),
        (
            big.to_str().unwrap(),
            "larger than 64 KiB, the bound for the administrator's configuration",
        ),
    ] {
        let mut c = Command::new(SAFEEXEC);
        c.args(["--exec", "/bin/true"])
            .current_dir("/tmp")
            .env("SAFEEXEC_CONF", p);
        let m = run_measured(c, Duration::from_secs(5));
        fails_fast(&m, 8, want, p);
    }
}

#[test]
fn trace_limit_needs_a_trace_and_a_sane_value() {
    let m = safeexec(&["--trace-limit", "64", "--exec", "/bin/true"]);
    fails_fast(
        &m,
        2,
        "safeexec: --trace-limit needs --trace FILE",
        "no trace",
    );
    for v in ["0", "4194305", "abc"] {
        let m = safeexec(&[
            "--trace-limit",
            v,
            "--trace",
            "/tmp/x",
            "--exec",
            "/bin/true",
        ]);
        assert_eq!(m.code, Some(2), "{v}: {m:?}");
        assert!(m.stderr.contains("--trace-limit"), "{v}: {m:?}");
    }
}
