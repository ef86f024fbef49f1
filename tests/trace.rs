//! Syscall audit: --trace records, --trace-level denied, `audit`, `policy
//! learn`, and a trace that cannot be written. Runs the built binary as root.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{need_root, procs_of_uid_or_zombies, Opts, Run};
use safeexec::trace::{Event, Record, SyscallRecord};

/// The directory the runs start in and the traces are written to.
fn tmp() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("trace-tests");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Victim t_NAME of tests/victims, built by the shared builder.
fn victim(name: &str) -> PathBuf {
    common::victim(&format!("t_{name}"))
}

/// safeexec `args`, started in `dir`, through the shared runner.
fn run(args: &[&str], dir: &Path) -> Run {
    common::run_with(
        args,
        Opts {
            cwd: Some(dir.to_path_buf()),
            ..Opts::default()
        },
    )
}

fn records(path: &Path) -> Vec<Record> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .map(|l| serde_json::from_str::<Record>(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn syscalls(recs: &[Record]) -> Vec<&SyscallRecord> {
    recs.iter()
        .filter_map(|r| match r {
            Record::Syscall(s) => Some(s),
            _ => None,
        })
        .collect()
}

#[test]
fn trace_full_records_open_socket_exit_and_verdict() {
    need_root!();
    let exe = victim("opener");
    let dir = tmp();
    let trace = dir.join("full.jsonl");
    // Under the default policy: the socket call is killed by a base rule.
    let out = run(
        &[
            "--paranoid",
            "--trace",
            trace.to_str().unwrap(),
            "--exec",
            exe.to_str().unwrap(),
            "net",
        ],
        &dir,
    );
    assert_eq!(out.status, Some(1), "{}", out.stderr_str());
    let recs = records(&trace);
    assert!(matches!(
        recs.first(),
        Some(Record::Event(Event::Start { .. }))
    ));
    let calls = syscalls(&recs);
    let open = calls
        .iter()
        .find(|c| {
            c.syscall == "openat" && c.args.get(1).and_then(|a| a.as_str()) == Some("/etc/hostname")
        })
        .expect("the open of /etc/hostname");
    assert_eq!(open.args[2], "O_RDONLY|O_CLOEXEC");
    assert_eq!(open.paths[0].op, "read");
    // /etc/hostname is outside the default policy's read rules.
    assert_eq!(open.decision, "deny");
    assert_eq!(open.errno.as_deref(), Some("EACCES"));
    let sock = calls
        .iter()
        .find(|c| c.syscall == "socket")
        .expect("socket");
    assert_eq!(sock.args[0], "AF_INET");
    assert_eq!(sock.decision, "kill");
    assert!(sock.rule.starts_with("builtin:base:"), "{}", sock.rule);
    // An allowed call has its return value and duration.
    let brk = calls.iter().find(|c| c.syscall == "brk").expect("brk");
    assert!(brk.ret.is_some() && brk.dur_us.is_some());
    assert!(recs
        .iter()
        .any(|r| matches!(r, Record::Event(Event::Exit { .. }))));
    match recs.last() {
        Some(Record::Event(Event::Verdict { report, .. })) => {
            assert_eq!(report["verdict"]["code"], "RF");
            assert_eq!(report["verdict"]["syscall"], "socket");
        }
        other => panic!("last record {other:?}"),
    }

    // Under the audit policy (the default for --trace) it runs to the end.
    let trace2 = dir.join("audit.jsonl");
    let out = run(
        &[
            "--trace",
            trace2.to_str().unwrap(),
            "--exec",
            exe.to_str().unwrap(),
        ],
        &dir,
    );
    assert_eq!(out.status, Some(0));
    let recs = records(&trace2);
    let calls = syscalls(&recs);
    let open = calls
        .iter()
        .find(|c| c.syscall == "openat")
        .expect("openat");
    assert_eq!(open.decision, "log");
    assert!(open.ret.is_some_and(|r| r >= 0));
    let read = calls.iter().find(|c| c.syscall == "read").expect("read");
    assert!(read.args[1].is_string());
    let exit = recs.iter().find_map(|r| match r {
        Record::Event(Event::Exit { status, .. }) => Some(*status),
        _ => None,
    });
    assert_eq!(exit, Some(Some(0)));

    // audit: text and JSON
    let out = run(&["audit", trace.to_str().unwrap()], &dir);
    assert_eq!(out.status, Some(0));
    let text = out.stdout_str();
    assert!(text.contains("% time"), "{text}");
    assert!(text.contains("/etc/hostname"), "{text}");
    assert!(text.contains("network attempts: 1"), "{text}");
    assert!(
        text.contains("socket(AF_INET, SOCK_STREAM, 0) -> kill [builtin:base:"),
        "{text}"
    );
    let out = run(&["audit", "--json", trace.to_str().unwrap()], &dir);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "Restricted Function (socket)");
    assert_eq!(v["denied"][1]["syscall"], "socket");
    assert!(v["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["syscall"] == "openat"));
    assert_eq!(v["processes"][0]["execs"][0]["path"], exe.to_str().unwrap());
}

#[test]
fn trace_denied_level_has_exactly_the_denied_call() {
    need_root!();
    let exe = victim("socketer");
    let dir = tmp();
    let trace = dir.join("denied.jsonl");
    let policy = dir.join("deny-net.policy");
    std::fs::write(&policy, "include default\ndeny EACCES socket\n").unwrap();
    let out = run(
        &[
            "--policy",
            policy.to_str().unwrap(),
            "--trace-level",
            "denied",
            "--trace",
            trace.to_str().unwrap(),
            "--exec",
            exe.to_str().unwrap(),
        ],
        &dir,
    );
    assert_eq!(out.status, Some(0), "{}", out.stderr_str());
    let recs = records(&trace);
    let calls = syscalls(&recs);
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].syscall, "socket");
    assert_eq!(calls[0].decision, "deny");
    assert_eq!(calls[0].errno.as_deref(), Some("EACCES"));
    assert_eq!(calls[0].rule, format!("{}:2", policy.display()));
}

#[test]
fn trace_bad_path_fails_early() {
    need_root!();
    let out = run(
        &["--trace", "/nonexistent-dir/t.jsonl", "--exec", "/bin/true"],
        &tmp(),
    );
    assert_eq!(out.status, Some(6));
    assert!(out.stderr_str().contains("cannot write trace file"));
}

#[test]
fn trace_full_disk_is_internal_error_and_leaves_nothing() {
    need_root!();
    let exe = victim("writer");
    let dir = tmp();
    let mnt = dir.join("small");
    std::fs::create_dir_all(&mnt).unwrap();
    let st = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&mnt)
        .status()
        .unwrap();
    assert!(st.success());
    let trace = mnt.join("t.jsonl");
    let out = run(
        &[
            "--trace",
            trace.to_str().unwrap(),
            "--clock",
            "30",
            "--cpu",
            "20",
            "--report",
            "json",
            "--exec",
            exe.to_str().unwrap(),
        ],
        &dir,
    );
    let _ = Command::new("umount").arg(&mnt).status();
    assert_eq!(out.status, Some(7), "{}", out.stderr_str());
    // stderr holds the one-line message before the report.
    let rep = out.json_report().clone();
    assert_eq!(rep["verdict"]["code"], "IE");
    assert!(rep["verdict"]["message"]
        .as_str()
        .unwrap()
        .contains("No space left on device"));
    let uid = rep["uid"].as_u64().unwrap() as u32;
    // Nothing of the run is left.
    let left = procs_of_uid_or_zombies(uid);
    assert!(left.is_empty(), "processes of the run are left: {left:?}");
}

fn learn_and_check(name: &str, program: &[&str], refused: &[&str]) {
    let dir = tmp();
    let policy = dir.join(format!("{name}.policy"));
    let mut args = vec!["policy", "learn", "-o", policy.to_str().unwrap(), "--exec"];
    args.extend_from_slice(program);
    let out = run(&args, &dir);
    assert_eq!(out.status, Some(0), "{}", out.stderr_str());
    let text = std::fs::read_to_string(&policy).unwrap();
    assert!(text.contains("default kill"), "{text}");
    assert!(!text.contains("include"), "{text}");
    assert!(text.contains("kill ptrace"), "{text}");
    // Each rule says what needed it.
    for l in text
        .lines()
        .filter(|l| l.starts_with("allow ") || l.starts_with("path "))
    {
        assert!(l.contains("  # "), "no comment: {l}");
    }
    let out = run(&["policy", "check", policy.to_str().unwrap()], &dir);
    assert_eq!(out.status, Some(0), "{}\n{text}", out.stderr_str());
    let mut args = vec!["--policy", policy.to_str().unwrap(), "--exec"];
    args.extend_from_slice(program);
    let out = run(&args, &dir);
    assert_eq!(out.status, Some(0), "{}\n{text}", out.stderr_str());
    assert!(out.stderr_str().starts_with("OK\n"));
    let mut args = vec!["--policy", policy.to_str().unwrap(), "--exec"];
    args.extend_from_slice(refused);
    let out = run(&args, &dir);
    assert_eq!(out.status, Some(1), "{}\n{text}", out.stderr_str());
    assert!(
        out.stderr_str().starts_with("Restricted Function"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn learn_from_a_c_program() {
    need_root!();
    let exe = victim("opener");
    let e = exe.to_str().unwrap();
    learn_and_check("learned-c", &[e], &[e, "net"]);
    // From a trace too.
    let dir = tmp();
    let trace = dir.join("learn-c.jsonl");
    let out = run(&["--trace", trace.to_str().unwrap(), "--exec", e], &dir);
    assert_eq!(out.status, Some(0));
    let out = run(
        &["policy", "learn", "--from", trace.to_str().unwrap()],
        &dir,
    );
    assert_eq!(out.status, Some(0));
    let text = out.stdout_str();
    // It only read: openat with read-only flags, no write rule at all
    // (no placeholder such as `path write /dev/null`).
    assert!(
        text.contains("allow openat if arg2 & 0x400643 == 0  # "),
        "{text}"
    );
    assert!(text.contains("kill socket"), "{text}");
    assert!(text.contains("path read /etc/hostname"), "{text}");
    assert!(!text.contains("path write"), "{text}");
    assert!(!text.contains("/dev/null  #"), "{text}");
    assert!(
        text.contains("# no write of a path in the learned run"),
        "{text}"
    );
}

#[test]
fn learn_from_python() {
    if !common::is_root() || !Path::new("/usr/bin/python3").exists() {
        return;
    }
    let code = "import json; print(json.dumps([1]))";
    // The refused variant opens an Internet socket.
    let bad = "import json, socket; socket.socket(socket.AF_INET); print(json.dumps([1]))";
    learn_and_check(
        "learned-py",
        &["/usr/bin/python3", "-c", code],
        &["/usr/bin/python3", "-c", bad],
    );
}

/// A program that opens a 3.8 KiB path in a loop makes records of several
/// KiB each: the trace stops at its bound (--trace-limit, or --fsize by
/// default) with a final `truncated` record, the run goes on to its end
/// with an unchanged verdict, and `audit` still reads the trace.
#[test]
fn trace_of_a_long_path_loop_stays_under_its_bound() {
    need_root!();
    let exe = common::victim("longpaths");
    let dir = tmp();
    std::fs::create_dir_all(&dir).unwrap();
    // A policy that allows the opens (and everything the program needs).
    let policy = dir.join("longpaths.policy");
    std::fs::write(
        &policy,
        "include default\nallow open openat\npath read /**\n",
    )
    .unwrap();
    for (name, bound_opts, bound_kib) in [
        ("explicit", vec!["--trace-limit", "256"], 256u64),
        ("fsize", vec!["--fsize", "512"], 512),
    ] {
        let trace = dir.join(format!("longpaths-{name}.jsonl"));
        let _ = std::fs::remove_file(&trace);
        let mut args = vec![
            "--policy",
            policy.to_str().unwrap(),
            "--report",
            "json",
            "--clock",
            "60",
            "--cpu",
            "30",
            "--trace",
            trace.to_str().unwrap(),
        ];
        args.extend(&bound_opts);
        args.extend(["--exec", exe.to_str().unwrap(), "2000"]);
        let out = run(&args, &dir);
        let err = out.stderr_str();
        // The run went on to its end: verdict OK, every open made.
        assert_eq!(out.status, Some(0), "{name}: {err}");
        assert_eq!(out.stdout_str(), "done 2000 2000\n", "{name}");
        let report = out.json_report();
        assert_eq!(report["verdict"]["code"], "OK", "{name}: {err}");
        let warning = report["warnings"][0].as_str().unwrap_or("");
        assert!(warning.contains("reached its bound"), "{name}: {err}");
        // Under the bound, and it ends with the truncated record.
        let size = std::fs::metadata(&trace).unwrap().len();
        assert!(
            size <= bound_kib * 1024,
            "{name}: trace of {size} bytes over its bound of {bound_kib} KiB"
        );
        // Not cut absurdly early either: most of the bound is used.
        assert!(size > bound_kib * 1024 / 2, "{name}: {size} bytes");
        let recs = records(&trace);
        match recs.last() {
            Some(Record::Event(Event::Truncated { limit, records, .. })) => {
                assert_eq!(*limit, bound_kib * 1024, "{name}");
                assert_eq!(*records as usize, recs.len() - 1, "{name}");
            }
            other => panic!("{name}: last record {other:?}"),
        }
        // Some of the long opens are in it, each a record of several KiB.
        let opens = syscalls(&recs)
            .into_iter()
            .filter(|c| c.paths.first().is_some_and(|p| p.path.len() > 3800))
            .count();
        assert!(opens > 10 && opens < 2000, "{name}: {opens} long opens");
        // audit reads it and says it was cut.
        let out = run(&["audit", trace.to_str().unwrap()], &dir);
        let text = out.stdout_str();
        assert_eq!(out.status, Some(0), "{name}: {text}");
        assert!(
            text.contains("truncated: the trace reached its bound of"),
            "{text}"
        );
        let out = run(&["audit", "--json", trace.to_str().unwrap()], &dir);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["truncated"], bound_kib * 1024, "{name}");
        // A policy learned from it says the trace was cut.
        let out = run(
            &["policy", "learn", "--from", trace.to_str().unwrap()],
            &dir,
        );
        let text = out.stdout_str();
        assert_eq!(out.status, Some(0), "{name}: {text}");
        assert!(
            text.contains("# WARNING: the trace was cut at its bound"),
            "{text}"
        );
    }
}

/// `audit` of a file that is not a trace: an error with its own status
/// (9) and one line, not an empty summary; a FIFO or a device at once.
#[test]
fn audit_of_a_non_trace_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.txt");
    std::fs::write(&junk, "hello\nworld\n").unwrap();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "").unwrap();
    let fifo = dir.path().join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    for (p, want) in [
        (
            junk.as_path(),
            "is not a trace: none of its 2 line(s) is a trace record",
        ),
        (empty.as_path(), "is not a trace: it has no record"),
        (
            fifo.as_path(),
            "is not a trace: not a regular file (a FIFO)",
        ),
        (
            Path::new("/dev/zero"),
            "is not a trace: not a regular file (a character device)",
        ),
    ] {
        for cmd in [
            vec!["audit", p.to_str().unwrap()],
            vec!["policy", "learn", "--from", p.to_str().unwrap()],
        ] {
            let t = std::time::Instant::now();
            let out = run(&cmd, dir.path());
            let err = out.stderr_str();
            assert_eq!(out.status, Some(10), "{cmd:?}: {err}");
            assert!(t.elapsed() < std::time::Duration::from_secs(2), "{cmd:?}");
            assert_eq!(err.lines().count(), 1, "{cmd:?}: {err}");
            assert!(
                err.starts_with("safeexec: ") && err.contains(want),
                "{cmd:?}: {err}"
            );
            assert!(out.stdout.is_empty(), "{cmd:?}");
        }
    }
}
