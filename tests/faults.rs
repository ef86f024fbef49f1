//! Faults around a run: the supervisor killed mid-run, a report file on a
//! full file system, a closed stdout, a stdin that never ends, a program
//! that leaves its process group, and many runs at once. Judged from outside:
//! the exit status and report, and a scan of /proc for the run's uid.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const UIDPLUS: u32 = safeexec::config::DEFAULT_UIDPLUS;

/// Starts safeexec (classic or with `policy`) on a_fault MODE, waits until
/// the program wrote its start file, SIGKILLs the supervisor, and asserts
/// that within 1 s no process of the run's uid is left.
fn kill_supervisor_mid_run(mode: &str, policy: Option<&str>) {
    let d = work_dir();
    let started = d.path().join("started");
    let mut args: Vec<String> = vec![];
    if let Some(p) = policy {
        args.extend(["--policy".into(), p.into()]);
    }
    // --disk 0: the `started` file must show while the run goes on (with
    // the bounded working directory it appears only when the run ends).
    args.extend(
        [
            "--disk",
            "0",
            "--nproc",
            "64",
            "--clock",
            "30",
            "--cpu",
            "30",
            "--exec_dir",
            d.path().to_str().unwrap(),
            "--exec",
            &vpath("a_fault"),
            mode,
            started.to_str().unwrap(),
        ]
        .map(String::from),
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_safeexec"))
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let uid = UIDPLUS + child.id();
    assert!(
        eventually(Duration::from_secs(10), || started.exists()),
        "{mode}: the program did not start"
    );
    std::thread::sleep(Duration::from_millis(300)); // let it fork / spawn threads
    let before = procs_of_uid(uid);
    if before.is_empty() {
        let ps = Command::new("ps")
            .args(["-eo", "pid,ppid,uid,stat,nlwp,cmd"])
            .output()
            .unwrap();
        panic!(
            "{mode}: no process of uid {uid} running (supervisor {}):\n{}",
            child.id(),
            String::from_utf8_lossy(&ps.stdout)
        );
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let gone = eventually(Duration::from_secs(1), || procs_of_uid(uid).is_empty());
    assert!(
        gone,
        "{mode} policy={policy:?}: processes of uid {uid} alive 1 s after the supervisor died: {:?}",
        procs_of_uid(uid)
    );
}

/// One row: the a_fault mode, and whether the run is paranoid (under a
/// policy that allows processes and threads) or classic.
fn killed_supervisor(_row: &str, (mode, paranoid): (&str, bool)) {
    let d = work_dir();
    let procs = procs_policy(d.path());
    kill_supervisor_mid_run(mode, paranoid.then_some(procs.as_str()));
}

table_tests! { killed_supervisor;
    killed_supervisor_leaves_no_fork_heavy_run_classic => ("forky", false),
    killed_supervisor_leaves_no_fork_heavy_run_paranoid => ("forky", true),
    killed_supervisor_leaves_no_threads_classic => ("churn", false),
    killed_supervisor_leaves_no_threads_paranoid => ("churn", true),
}

/// A 16 KiB tmpfs, unmounted (lazily) when dropped, also on panic.
struct SmallFs {
    dir: tempfile::TempDir,
}

impl SmallFs {
    fn new() -> SmallFs {
        let dir = tempfile::Builder::new()
            .prefix("safeexec-fullfs")
            .tempdir_in("/tmp")
            .unwrap();
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=16k", "tmpfs"])
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(st.success(), "mount tmpfs failed");
        SmallFs { dir }
    }
    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

#[test]
fn report_file_on_a_full_file_system_is_a_clear_error() {
    let fs = SmallFs::new();
    // Fill it: writes fail with ENOSPC once the 16 KiB are used.
    let fill: PathBuf = fs.path().join("fill");
    let block = vec![b'f'; 4096];
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&fill).unwrap();
        while f.write_all(&block).is_ok() {}
        let _ = f.sync_all();
    }
    let report = fs.path().join("r.txt");
    let d = work_dir();
    let mut child = Command::new(env!("CARGO_BIN_EXE_safeexec"))
        .args(["--usage", report.to_str().unwrap(), "--exec_dir"])
        .arg(d.path())
        .args(["--exec", &vpath("a_res"), "fds"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let uid = UIDPLUS + child.id();
    let st = wait_deadline(&mut child, Duration::from_secs(30), "full fs");
    let mut err = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(st, 6, "exit status: {err}");
    assert_eq!(err.lines().count(), 1, "not one clear line: {err}");
    assert!(err.contains("r.txt"), "the path is not named: {err}");
    assert!(
        err.to_lowercase().contains("no space"),
        "the cause is not named: {err}"
    );
    assert!(procs_of_uid(uid).is_empty(), "processes of uid {uid} left");
}

fn closed_stdout_is_a_sigpipe_verdict(_row: &str, mode: &[&str]) {
    let d = work_dir();
    let (rd, wr) = std::io::pipe().unwrap();
    drop(rd); // nobody will ever read
    let mut child = Command::new(env!("CARGO_BIN_EXE_safeexec"))
        .args(["--report", "json"])
        .args(mode)
        .arg("--exec_dir")
        .arg(d.path())
        .args(["--exec", &vpath("a_fault"), "stdout"])
        .stdin(Stdio::null())
        .stdout(wr)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let st = wait_deadline(&mut child, Duration::from_secs(20), "closed stdout");
    let mut err = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let v = find_json(&err);
    assert!(v.is_object(), "{mode:?}: no report: {err}");
    assert_eq!(st, 1, "{mode:?}: {err}");
    assert_eq!(v["verdict"]["code"], "SIG", "{mode:?}: {err}");
    assert_eq!(v["verdict"]["signal"], 13, "{mode:?}: {err}");
    let uid = v["uid"].as_u64().unwrap() as u32;
    assert!(procs_of_uid(uid).is_empty());
}

table_tests! { closed_stdout_is_a_sigpipe_verdict;
    closed_stdout_is_a_sigpipe_verdict_classic => &[],
    closed_stdout_is_a_sigpipe_verdict_paranoid => &["--paranoid"],
}

fn stdin_that_never_ends_is_wall_tle(_row: &str, mode: &[&str]) {
    let d = work_dir();
    let (rd, wr) = std::io::pipe().unwrap();
    let t0 = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_safeexec"))
        .args(["--report", "json", "--clock", "1"])
        .args(mode)
        .arg("--exec_dir")
        .arg(d.path())
        .args(["--exec", &vpath("a_fault"), "stdin"])
        .stdin(rd)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let st = wait_deadline(&mut child, Duration::from_secs(20), "endless stdin");
    drop(wr); // held open until the run ended
    let mut err = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let v = find_json(&err);
    assert!(v.is_object(), "{mode:?}: no report: {err}");
    assert_eq!(st, 1, "{err}");
    assert_eq!(v["verdict"]["code"], "TLE", "{mode:?}: {err}");
    assert_eq!(v["verdict"]["kind"], "wall", "{mode:?}: {err}");
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert!(procs_of_uid(v["uid"].as_u64().unwrap() as u32).is_empty());
}

table_tests! { stdin_that_never_ends_is_wall_tle;
    stdin_that_never_ends_is_wall_tle_classic => &[],
    stdin_that_never_ends_is_wall_tle_paranoid => &["--paranoid"],
}

#[test]
fn leaving_the_process_group_is_tle_and_nothing_left() {
    let d = work_dir();
    let procs = procs_policy(d.path());
    for mode in [vec![], vec!["--policy", procs.as_str()]] {
        let mut a = mode.clone();
        a.extend([
            "--nproc",
            "5",
            "--clock",
            "1",
            "--exec_dir",
            d.path().to_str().unwrap(),
        ]);
        a.extend(["--exec", "PROG", "pgrp"]);
        let prog = vpath("a_fault");
        let a: Vec<&str> = a
            .iter()
            .map(|s| if *s == "PROG" { prog.as_str() } else { s })
            .collect();
        let r = run_json(&a);
        assert_eq!(r.code(), "TLE", "{r}");
        assert!(r.elapsed < Duration::from_secs(5), "{r}");
        assert_nothing_left(&r);
    }
}

/// One run of the concurrency mix: (arguments, expected verdict code).
fn mix(i: usize, dir: &Path) -> (Vec<String>, &'static str) {
    let res = vpath("a_res");
    let net = vpath("a_net");
    let reach = vpath("a_reach");
    let tree = vpath("a_tree");
    let wd = dir.display().to_string();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let mut a = s(&["--exec_dir", &wd, "--cpu", "1", "--clock", "4"]);
    let (rest, want): (Vec<String>, &str) = match i % 6 {
        0 => (s(&["--exec", &res, "fds"]), "OK"),
        1 => (s(&["--exec", &res, "sleep"]), "TLE"),
        2 => (s(&["--mem", "65536", "--exec", &res, "mem"]), "MLE"),
        3 => (s(&["--paranoid", "--exec", &net, "connect", "9"]), "RF"),
        4 => (s(&["--exec", &tree, "nonsense"]), "RE"),
        _ => (s(&["--exec", &reach, "killall"]), "OK"),
    };
    a.extend(rest);
    (a, want)
}

#[test]
fn twelve_concurrent_runs_do_not_disturb_each_other() {
    let dirs: Vec<_> = (0..12).map(|_| work_dir()).collect();
    let mut runs = Vec::new();
    for (i, d) in dirs.iter().enumerate() {
        let (a, want) = mix(i, d.path());
        runs.push((
            want,
            std::thread::spawn(move || {
                let a: Vec<&str> = a.iter().map(|s| s.as_str()).collect();
                run_json(&a)
            }),
        ));
    }
    let mut wrong = Vec::new();
    for (i, (want, h)) in runs.into_iter().enumerate() {
        let r = h.join().unwrap();
        if r.code() != want {
            wrong.push(format!("run {i}: want {want}, got {r}"));
        }
        if !procs_of_uid(r.uid()).is_empty() {
            wrong.push(format!("run {i}: processes of uid {} left", r.uid()));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    for d in &dirs {
        let n = std::fs::read_dir(d.path()).unwrap().count();
        assert_eq!(n, 0, "files left in {}", d.path().display());
    }
}
