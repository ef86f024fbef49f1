//! Isolation end to end: network, PID/IPC/UTS namespaces, the jail built
//! from binds, judged from outside the program (per-run cgroups: tests/cgroup.rs).

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

mod common;

use common::*;

/// Whether a victim connecting to a real listener on 127.0.0.1 gets through.
fn connects(net: &str) -> bool {
    let l = Listener::new();
    let v = victim("iso_connect");
    let out = run(&[
        "--net",
        net,
        "--nproc",
        "0",
        "--report",
        "json",
        "--exec",
        v.to_str().unwrap(),
        &l.port(),
    ]);
    // Bounded accept: the victim has finished; a connection is queued or not.
    if l.got_connection_within(Duration::from_secs(2)) {
        assert_eq!(out.json_report()["exit_code"], 0, "{out}");
        true
    } else {
        assert_eq!(out.json_report()["exit_code"], 3, "{out}");
        false
    }
}

#[test]
fn net_none_reaches_nothing_and_net_host_does() {
    need_root!();
    assert!(!connects("none"), "a connection arrived under --net none");
    assert!(connects("host"), "no connection under --net host");
}

#[test]
fn pid_namespace_shows_only_the_run() {
    need_root!();
    let v = victim("iso_ps");
    let out = run(&["--exec", v.to_str().unwrap()]);
    let pids: Vec<String> = out.stdout_str().lines().map(String::from).collect();
    // The init (1) and the program (2) only.
    assert_eq!(pids, ["1", "2"], "{out}");
}

#[test]
fn kill_all_reaches_nothing_outside() {
    need_root!();
    // A process of another uid; without namespaces the run's uid could not
    // signal it either, so use the run's own uid range trick: the victim is
    // root-free, the sleeper is nobody's.
    let mut sleeper = Command::new("/bin/sleep")
        .arg("30")
        .uid(65534)
        .gid(65534)
        .spawn()
        .unwrap();
    let v = victim("iso_ps");
    let out = run(&["--report", "json", "--exec", v.to_str().unwrap(), "kill"]);
    std::thread::sleep(Duration::from_millis(100));
    let alive = sleeper.try_wait().unwrap().is_none();
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    assert!(alive, "kill(-1) in the run killed a process outside it");
    // The program itself survives its kill(-1) like outside (not pid 1 semantics needed).
    assert_eq!(out.json_report()["verdict"]["code"], "OK", "{out}");
}

/// A 0777 working directory outside /tmp (under /run)
/// (removed when dropped).
fn scratch() -> tempfile::TempDir {
    common::work_dir_outside_tmp()
}

#[test]
fn jail_writes_only_the_working_directory() {
    need_root!();
    let tmp = scratch();
    let dir = tmp.path();
    let v = victim("iso_write");
    let inside = dir.join("ok.txt");
    let out = run(&[
        "--jail",
        "c",
        "--exec_dir",
        dir.to_str().unwrap(),
        "--exec",
        v.to_str().unwrap(),
        "/etc/evil",
        "/usr/evil",
        "/evil",
        "/tmp/evil",
        inside.to_str().unwrap(),
    ]);
    let stdout = out.stdout_str();
    assert_eq!(
        stdout.trim(),
        format!("created {}", inside.display()),
        "{out}"
    );
    assert!(inside.exists());
    assert!(!Path::new("/evil").exists() && !Path::new("/etc/evil").exists());
}

#[test]
fn jail_python3_runs() {
    if !is_root() || !Path::new("/usr/bin/python3").exists() {
        return;
    }
    let tmp = scratch();
    let dir = tmp.path();
    std::fs::write(
        dir.join("sol.py"),
        "import os\nprint(sorted(os.listdir('/dev')))\n",
    )
    .unwrap();
    let out = run(&[
        "--jail",
        "python3",
        "--mem",
        "200000",
        "--exec_dir",
        dir.to_str().unwrap(),
        "--exec",
        "/usr/bin/python3",
        "sol.py",
    ]);
    assert_eq!(
        out.stdout_str().trim(),
        "['full', 'null', 'random', 'urandom', 'zero']",
        "{out}"
    );
}

// The per-run cgroup tests (both hierarchies) are in tests/cgroup.rs.
