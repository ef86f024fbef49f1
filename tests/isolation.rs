//! Isolation end to end: network, PID/IPC/UTS namespaces, the jail built
//! from binds, judged from outside the program (per-run cgroups: tests/cgroup.rs).

use std::io::Read;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::victim;

/// Runs safeexec with `args`, killing it after 60 s; also returns its pid.
fn safeexec(args: &[&str]) -> (Output, u32) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_safeexec"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("safeexec starts");
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if child.try_wait().unwrap().is_some() {
            return (child.wait_with_output().unwrap(), pid);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("safeexec did not finish in 60 s: {args:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn json(o: &Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&o.stderr);
    let start = text
        .find('{')
        .unwrap_or_else(|| panic!("no report: {text}"));
    serde_json::from_str(&text[start..]).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    nix::unistd::geteuid().is_root()
}

/// Whether a victim connecting to a real listener on 127.0.0.1 gets through.
fn connects(net: &str) -> bool {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let port = l.local_addr().unwrap().port().to_string();
    let v = victim("iso_connect");
    let (out, _) = safeexec(&[
        "--net",
        net,
        "--nproc",
        "0",
        "--report",
        "json",
        "--exec",
        v.to_str().unwrap(),
        &port,
    ]);
    // Bounded accept: the victim has finished; a connection is queued or not.
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        match l.accept() {
            Ok((mut s, _)) => {
                let mut b = [0u8; 1];
                let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
                let _ = s.read(&mut b);
                assert_eq!(json(&out)["exit_code"], 0);
                return true;
            }
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Err(_) => {
                assert_eq!(json(&out)["exit_code"], 3, "{out:?}");
                return false;
            }
        }
    }
}

#[test]
fn net_none_reaches_nothing_and_net_host_does() {
    if !is_root() {
        return;
    }
    assert!(!connects("none"), "a connection arrived under --net none");
    assert!(connects("host"), "no connection under --net host");
}

#[test]
fn pid_namespace_shows_only_the_run() {
    if !is_root() {
        return;
    }
    let v = victim("iso_ps");
    let (out, _) = safeexec(&["--exec", v.to_str().unwrap()]);
    let pids: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect();
    // The init (1) and the program (2) only.
    assert_eq!(pids, ["1", "2"], "{out:?}");
}

#[test]
fn kill_all_reaches_nothing_outside() {
    if !is_root() {
        return;
    }
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
    let (out, _) = safeexec(&["--report", "json", "--exec", v.to_str().unwrap(), "kill"]);
    std::thread::sleep(Duration::from_millis(100));
    let alive = sleeper.try_wait().unwrap().is_none();
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    assert!(alive, "kill(-1) in the run killed a process outside it");
    // The program itself survives its kill(-1) like outside (not pid 1 semantics needed).
    assert_eq!(json(&out)["verdict"]["code"], "OK", "{out:?}");
}

fn scratch(name: &str) -> PathBuf {
    let d =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("iso-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o777)).unwrap();
    d
}

#[test]
fn jail_writes_only_the_working_directory() {
    if !is_root() {
        return;
    }
    let dir = scratch("write");
    let v = victim("iso_write");
    let inside = dir.join("ok.txt");
    let (out, _) = safeexec(&[
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
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.trim(),
        format!("created {}", inside.display()),
        "{out:?}"
    );
    assert!(inside.exists());
    assert!(!Path::new("/evil").exists() && !Path::new("/etc/evil").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn jail_python3_runs() {
    if !is_root() || !Path::new("/usr/bin/python3").exists() {
        return;
    }
    let dir = scratch("py");
    std::fs::write(
        dir.join("sol.py"),
        "import os\nprint(sorted(os.listdir('/dev')))\n",
    )
    .unwrap();
    let (out, _) = safeexec(&[
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
        String::from_utf8_lossy(&out.stdout).trim(),
        "['full', 'null', 'random', 'urandom', 'zero']",
        "{out:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

// The per-run cgroup tests (both hierarchies) are in tests/cgroup.rs.
