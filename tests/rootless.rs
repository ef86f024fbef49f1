//! Rootless mode: the built binary, without a setuid bit, started by an
//! ordinary user (uid and gid 65534 through `setpriv` when the tests run as
//! root; directly otherwise). Runs get an unprivileged user namespace: the
//! verdicts, paranoid mode, the network namespace and the jail work as with
//! root, and no process of a run outlives it, nor a killed supervisor.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const CALLER: u32 = 65534;

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// A 0755 directory under /tmp with the binary (mode 0755, no setuid bit)
/// and the victims, so the caller can execute them.
fn dir() -> &'static Path {
    // A fixed directory, emptied at first use: a static TempDir is never
    // dropped, so a random name would leave one directory per test run.
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = PathBuf::from(format!(
            "/tmp/safeexec-rootless-bin-{}",
            common::checkout_tag()
        ));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir(&d).unwrap();
        fs::set_permissions(&d, fs::Permissions::from_mode(0o755)).unwrap();
        copy_in(Path::new(common::SAFEEXEC), &d.join("safeexec"));
        d
    })
}

/// Copies `from` to `to` (0755) through a temporary name, so that parallel
/// tests never see half a file.
fn copy_in(from: &Path, to: &Path) {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let tmp = to.with_extension(format!(
        "tmp{}.{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::SeqCst)
    ));
    fs::copy(from, &tmp).unwrap();
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o755)).unwrap();
    fs::rename(&tmp, to).unwrap();
}

fn bin() -> PathBuf {
    dir().join("safeexec")
}

/// The victim NAME, copied where the caller can execute it.
fn victim(name: &str) -> String {
    let to = dir().join(name);
    if !to.exists() {
        copy_in(&common::victim(name), &to);
    }
    to.display().to_string()
}

/// A marker argument unique to one run, to find its processes in /proc.
fn marker() -> String {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    format!(
        "rootless-marker-{}-{}-end",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::SeqCst)
    )
}

/// Live processes with `marker` in an argument (zombies have none).
fn with_marker(marker: &str) -> Vec<u32> {
    let me = std::process::id();
    let Ok(rd) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.filter_map(|e| {
        let e = e.ok()?;
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let cmd = fs::read(e.path().join("cmdline")).ok()?;
        let hit = cmd.windows(marker.len()).any(|w| w == marker.as_bytes());
        (hit && pid != me).then_some(pid)
    })
    .collect()
}

/// safeexec as the caller: through setpriv when we are root, directly when
/// we are already an ordinary user. A run longer than 60 s is killed.
fn command(args: &[&str]) -> Command {
    as_caller(args, true)
}

/// [`command`]; without `timeout` in between, the process started is
/// safeexec itself (setpriv execs it).
fn as_caller(args: &[&str], timeout: bool) -> Command {
    let mut c = Command::new(if timeout { "timeout" } else { "env" });
    if timeout {
        c.args(["-s", "KILL", "60"]);
    }
    if is_root() {
        c.arg("setpriv").args([
            format!("--reuid={CALLER}"),
            format!("--regid={CALLER}"),
            "--clear-groups".into(),
        ]);
    }
    c.arg(bin())
        .args(args)
        .current_dir(dir())
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    c
}

/// One run with a JSON report; `marker` is appended to the program's
/// arguments, and no process holding it may be left afterwards.
fn run(opts: &[&str], program: &[&str]) -> (Output, serde_json::Value) {
    let m = marker();
    let mut args: Vec<&str> = vec!["--report", "json"];
    args.extend_from_slice(opts);
    args.push("--exec");
    args.extend_from_slice(program);
    args.push(&m);
    let out = command(&args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let left = with_marker(&m);
    assert!(left.is_empty(), "processes of the run left: {left:?}");
    let json = common::parse_json(&err).unwrap_or_else(|e| panic!("{e}\nstatus {:?}", out.status));
    assert_eq!(json["rootless"], true, "{err}");
    (out, json)
}

fn code(j: &serde_json::Value) -> &str {
    j["verdict"]["code"].as_str().unwrap_or("")
}

#[test]
fn ok_with_stdout_and_the_callers_ids() {
    let (out, j) = run(&[], &[&victim("ok")]);
    assert_eq!(out.status.code(), Some(0), "{j}");
    assert_eq!(code(&j), "OK");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello\n");
    let me = nix::unistd::getuid().as_raw();
    let want = if is_root() { CALLER } else { me };
    assert_eq!(j["uid"], want, "{j}");
    assert_eq!(j["mode"], "classic");
    for s in ["memory", "cpu"] {
        let text = j["sources"][s].as_str().unwrap_or("");
        assert!(text.contains("rootless: no cgroup"), "{j}");
    }
}

#[test]
fn cpu_time_limit() {
    let (out, j) = run(&["--cpu", "0.5"], &[&victim("spin")]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(code(&j), "TLE", "{j}");
    assert_eq!(j["verdict"]["kind"], "cpu");
}

#[test]
fn wall_time_limit() {
    let start = Instant::now();
    let (_, j) = run(&["--clock", "1"], &[&victim("sleeper"), "30"]);
    assert_eq!(code(&j), "TLE", "{j}");
    assert_eq!(j["verdict"]["kind"], "wall");
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
fn memory_limit() {
    let (_, j) = run(&["--mem", "32768"], &[&victim("hog"), "100"]);
    assert_eq!(code(&j), "MLE", "{j}");
}

#[test]
fn runtime_error_and_signal() {
    let (_, j) = run(&[], &[&victim("exitcode"), "3"]);
    assert_eq!(code(&j), "RE", "{j}");
    assert_eq!(j["verdict"]["exit_code"], 3);
    let (_, j) = run(&[], &[&victim("segv")]);
    assert_eq!(code(&j), "SIG", "{j}");
    assert_eq!(j["verdict"]["signal"], 11);
}

#[test]
fn no_ns_is_refused() {
    let out = command(&["--no-ns", "--exec", &victim("ok")])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with("safeexec: --no-ns: a rootless run needs its PID namespace"),
        "{err}"
    );
}

#[test]
fn nproc_counts_the_runs_processes() {
    // forker exits 0 when its fork fails.
    let (_, j) = run(&["--nproc", "0"], &[&victim("forker")]);
    assert_eq!(code(&j), "OK", "fork was allowed: {j}");
    let (_, j) = run(&["--nproc", "2"], &[&victim("forker")]);
    assert_eq!(code(&j), "RE", "fork was refused: {j}");
    assert_eq!(j["verdict"]["exit_code"], 4);
}

#[test]
fn paranoid_socket_is_restricted() {
    let (out, j) = run(&["--paranoid"], &[&victim("iso_connect"), "9"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(code(&j), "RF", "{j}");
    assert_eq!(j["verdict"]["syscall"], "socket");
    assert_eq!(j["mode"], "paranoid");
}

#[test]
fn paranoid_correct_program_is_ok() {
    let (out, j) = run(&["--paranoid"], &[&victim("ok")]);
    assert_eq!(code(&j), "OK", "{j}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello\n");
    assert_eq!(j["mode"], "paranoid");
}

#[test]
fn default_network_reaches_nothing() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    // iso_connect exits 3 when it cannot connect.
    let (_, j) = run(&[], &[&victim("iso_connect"), &port]);
    assert_eq!(code(&j), "RE", "{j}");
    assert_eq!(j["verdict"]["exit_code"], 3, "{j}");
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the listener got a connection: {other:?}"),
    }
}

#[test]
fn jail_c_runs_and_hides_the_host() {
    let (out, j) = run(&["--jail", "c"], &[&victim("ok")]);
    assert_eq!(code(&j), "OK", "{j}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello\n");
    // /etc/passwd is not in the c profile; sh's `test` is a builtin (no fork).
    let (_, j) = run(
        &["--jail", "c"],
        &[
            "/bin/sh",
            "-c",
            "test -e /etc/passwd && exit 5; exit 0",
            "sh",
        ],
    );
    assert_eq!(code(&j), "OK", "/etc/passwd is visible in the jail: {j}");
}

/// Starts a run of p_sleepfork (3 sleeping children) with `opts`, waits
/// until its processes are up, SIGKILLs the supervisor, and checks that
/// nothing of the run is left within 1 s.
fn killed_supervisor_leaves_nothing(opts: &[&str]) {
    let m = marker();
    let mut args: Vec<&str> = vec!["--nproc", "5", "--clock", "30", "--cpu", "30"];
    args.extend_from_slice(opts);
    let v = victim("p_sleepfork");
    let pids_file = format!("/nonexistent/{m}");
    args.extend_from_slice(&["--exec", &v, &pids_file]);
    // No `timeout` in between: env and setpriv exec, so the process we
    // start ends up being the supervisor.
    let mut child = as_caller(&args, false)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let sup = child.id();
    assert!(common::eventually(Duration::from_secs(5), || {
        fs::read_link(format!("/proc/{sup}/exe")).is_ok_and(|e| e == bin())
    }));
    // The init and the supervisor hold the marker too (it is in safeexec's
    // command line); the program and its 3 children make 4 more.
    let up = common::eventually(Duration::from_secs(10), || with_marker(&m).len() >= 5);
    let before = with_marker(&m);
    let _ = child.kill();
    let _ = child.wait();
    assert!(up, "the run did not start: {before:?}");
    let gone = common::eventually(Duration::from_secs(1), || with_marker(&m).is_empty());
    assert!(
        gone,
        "left 1 s after the supervisor was killed: {:?}",
        with_marker(&m)
    );
}

#[test]
fn killing_the_supervisor_kills_the_run() {
    killed_supervisor_leaves_nothing(&[]);
}

#[test]
fn killing_the_paranoid_supervisor_kills_the_run() {
    // The audit policy lets the program fork (and records every call).
    killed_supervisor_leaves_nothing(&["--policy", "audit"]);
}

#[test]
fn without_user_namespaces_it_says_why_and_exits_3() {
    if !is_root() {
        eprintln!("skipped: writing another user namespace's maps needs root");
        return;
    }
    // A user namespace (uid 0 inside = root, so it may set the namespace's
    // sysctl; 1000 inside = 101000 outside) whose own limit on nested user
    // namespaces is 0: safeexec, started as uid 1000 there, cannot get one.
    let script = format!(
        "read go; exec sh -c 'echo 0 > /proc/sys/user/max_user_namespaces && \
         exec setpriv --reuid=1000 --regid=1000 --clear-groups {} --exec {}'",
        bin().display(),
        victim("ok")
    );
    let mut child = Command::new("unshare")
        .args(["-U", "sh", "-c", &script])
        .current_dir(dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    // unshare runs sh in the same process: wait until it is in its namespace.
    let mine = fs::read_link("/proc/self/ns/user").unwrap();
    assert!(common::eventually(Duration::from_secs(5), || {
        fs::read_link(format!("/proc/{pid}/ns/user")).is_ok_and(|l| l != mine)
    }));
    let map = "0 0 1\n1000 101000 1\n";
    fs::write(format!("/proc/{pid}/uid_map"), map).unwrap();
    fs::write(format!("/proc/{pid}/gid_map"), map).unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"go\n").unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("safeexec: ")
            && err.contains("rootless mode is unavailable")
            && err.contains("ENOSPC")
            && err.contains("max_user_namespaces"),
        "{err}"
    );
}
