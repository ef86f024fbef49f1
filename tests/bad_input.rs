//! Bad input as a new user types it (issue 14): each case gets a first
//! `safeexec:` line naming the problem, the detail clap or the supervisor
//! knows (the missing name, the allowed values, the option meant, what the
//! program path is), and the exit status of its kind; nothing runs.

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

const SAFEEXEC: &str = env!("CARGO_BIN_EXE_safeexec");

struct Case {
    name: &'static str,
    args: &'static [&'static str],
    code: i32,
    /// Texts the first line must hold.
    first: &'static [&'static str],
    /// Texts somewhere in stderr (the indented detail lines).
    detail: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        name: "policy check without its file names the missing argument",
        args: &["policy", "check"],
        code: 2,
        first: &["required arguments were not provided"],
        detail: &["<FILE>"],
    },
    Case {
        name: "a bad --report value lists the allowed values",
        args: &["--report", "xml", "--exec", "/bin/true"],
        code: 2,
        first: &["invalid value 'xml'", "--report"],
        detail: &["possible values: classic, json"],
    },
    Case {
        name: "a misspelt option suggests the right one",
        args: &["--cpus", "1", "--exec", "/bin/true"],
        code: 2,
        first: &["unexpected argument '--cpus'"],
        detail: &["'--cpu'"],
    },
    Case {
        name: "a negative limit names its option",
        args: &["--cpu", "-1", "--exec", "/bin/true"],
        code: 2,
        first: &["'-1'", "--cpu"],
        detail: &[],
    },
    Case {
        name: "a negative count names its option",
        args: &["--nproc", "-3", "--exec", "/bin/true"],
        code: 2,
        first: &["'-3'", "--nproc"],
        detail: &[],
    },
    Case {
        name: "--trace-level needs --trace",
        args: &["--trace-level", "denied", "--exec", "/bin/true"],
        code: 2,
        first: &["required arguments were not provided"],
        detail: &["--trace <FILE>"],
    },
    Case {
        name: "--ns and --no-ns contradict",
        args: &["--ns", "--no-ns", "--exec", "/bin/true"],
        code: 2,
        first: &["'--ns' cannot be used with '--no-ns'"],
        detail: &[],
    },
    Case {
        name: "--paranoid and --policy contradict",
        args: &["--paranoid", "--policy", "python3", "--exec", "/bin/true"],
        code: 2,
        first: &["'--paranoid' cannot be used with '--policy"],
        detail: &[],
    },
    Case {
        name: "binds without a jail profile are refused",
        args: &["--ro-bind", "/usr", "--exec", "/bin/true"],
        code: 2,
        first: &["--jail c|python3|java"],
        detail: &[],
    },
    Case {
        name: "a directory given as the program",
        args: &["--exec", "adir"],
        code: 5,
        first: &["execve(adir)", "adir is a directory"],
        detail: &[],
    },
    Case {
        name: "a bare program name: no PATH lookup, the path suggested",
        args: &["--exec", "sh"],
        code: 5,
        first: &["execve(sh)", "no PATH lookup", "--exec /"],
        detail: &[],
    },
    Case {
        name: "policy check errors carry the prefix",
        args: &["policy", "check", "/nonexistent/x.policy"],
        code: 4,
        first: &["/nonexistent/x.policy"],
        detail: &[],
    },
];

#[test]
fn bad_input_gets_a_first_line_its_detail_and_its_status() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: runs need root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("adir")).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut failures = Vec::new();
    for c in CASES {
        let out = Command::new(SAFEEXEC)
            .args(c.args)
            .current_dir(dir.path())
            .env("PATH", "/usr/bin:/bin")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        let first = err.lines().next().unwrap_or("");
        let ok = out.status.code() == Some(c.code)
            && first.starts_with("safeexec: ")
            && c.first.iter().all(|t| first.contains(t))
            && c.detail.iter().all(|t| err.contains(t))
            && err.lines().skip(1).all(|l| l.starts_with("  "))
            && out.stdout.is_empty();
        if !ok {
            failures.push(format!(
                "{}: {:?} -> status {:?}, stderr:\n{err}",
                c.name,
                c.args,
                out.status.code()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_local_file_named_like_a_shipped_policy_is_named_in_the_warnings() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: runs need root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(dir.path().join("python3"), "default kill\n").unwrap();
    let out = Command::new(SAFEEXEC)
        .args([
            "--policy",
            "python3",
            "--report",
            "json",
            "--exec",
            "/bin/true",
        ])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("safeexec: warning: --policy python3: the shipped policy"),
        "{err}"
    );
    let json_start = err.find('{').expect("a JSON report");
    let v: serde_json::Value = serde_json::from_str(&err[json_start..]).unwrap();
    let w = v["warnings"].as_array().expect("warnings");
    assert!(
        w.iter().any(|s| s.as_str().unwrap().contains("./python3")),
        "{v}"
    );
    // The file itself, asked for by path, is what runs: its `default kill`
    // kills /bin/true at its first call.
    let out = Command::new(SAFEEXEC)
        .args(["--policy", "./python3", "--exec", "/bin/true"])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!err.contains("warning"), "{err}");
}
