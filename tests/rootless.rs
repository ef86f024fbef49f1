//! Rootless mode: the built binary, without a setuid bit, started by an
//! ordinary user (uid and gid 65534 through `setpriv` when the tests run as
//! root; directly otherwise). Runs get an unprivileged user namespace: the
//! verdicts, paranoid mode, the network namespace and the jail work as with
//! root, and no process of a run outlives it, nor a killed supervisor.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::{eventually, procs_naming, table_tests, Opts, Run};

const CALLER: u32 = 65534;

fn is_root() -> bool {
    common::is_root()
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

/// safeexec as the caller, for a test that must signal the supervisor
/// itself: setpriv execs safeexec, so the process started is safeexec.
fn as_caller(args: &[&str]) -> Command {
    let w = caller_wrapper();
    let mut c = match w.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(bin());
            c
        }
        None => Command::new(bin()),
    };
    c.args(args)
        .current_dir(dir())
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    c
}

/// The setpriv wrapper that makes the run the caller's (none when the tests
/// already run as an ordinary user).
fn caller_wrapper() -> Vec<String> {
    if is_root() {
        vec![
            "setpriv".into(),
            format!("--reuid={CALLER}"),
            format!("--regid={CALLER}"),
            "--clear-groups".into(),
        ]
    } else {
        Vec::new()
    }
}

/// safeexec `args` as the caller, through the shared runner.
fn run_as_caller(args: &[&str]) -> Run {
    common::run_with(
        args,
        Opts {
            wrapper: caller_wrapper(),
            binary: Some(bin()),
            cwd: Some(dir().to_path_buf()),
            env_remove: vec!["RUST_LOG"],
            ..Opts::default()
        },
    )
}

/// One run with a JSON report; `marker` is appended to the program's
/// arguments, and no process holding it may be left afterwards.
fn run(opts: &[&str], program: &[&str]) -> (Run, serde_json::Value) {
    let m = marker();
    let mut args: Vec<&str> = vec!["--report", "json"];
    args.extend_from_slice(opts);
    args.push("--exec");
    args.extend_from_slice(program);
    args.push(&m);
    let out = run_as_caller(&args);
    let left = procs_naming(&m);
    assert!(left.is_empty(), "processes of the run left: {left:?}");
    let json = common::json(&out);
    assert_eq!(json["rootless"], true, "{out}");
    (out, json)
}

fn code(j: &serde_json::Value) -> &str {
    j["verdict"]["code"].as_str().unwrap_or("")
}

#[test]
fn ok_with_stdout_and_the_callers_ids() {
    let (out, j) = run(&[], &[&victim("ok")]);
    assert_eq!(out.status, Some(0), "{j}");
    assert_eq!(code(&j), "OK");
    assert_eq!(out.stdout_str(), "hello\n");
    let me = nix::unistd::getuid().as_raw();
    let want = if is_root() { CALLER } else { me };
    assert_eq!(j["uid"], want, "{j}");
    assert_eq!(j["mode"], "classic");
    for s in ["memory", "cpu"] {
        let text = j["sources"][s].as_str().unwrap_or("");
        assert!(text.contains("rootless: no cgroup"), "{j}");
    }
}

/// One rootless run: options, victim and its arguments, the exit status
/// (None: not checked), the verdict, and what else must hold.
#[derive(Clone, Copy)]
struct Row {
    opts: &'static [&'static str],
    victim: &'static str,
    args: &'static [&'static str],
    status: Option<i32>,
    code: &'static str,
    check: fn(&Run, &serde_json::Value),
}

const ROW: Row = Row {
    opts: &[],
    victim: "ok",
    args: &[],
    status: None,
    code: "OK",
    check: |_, _| {},
};

fn rootless(name: &str, row: Row) {
    let v = victim(row.victim);
    let mut program = vec![v.as_str()];
    program.extend_from_slice(row.args);
    let start = Instant::now();
    let (out, j) = run(row.opts, &program);
    if let Some(st) = row.status {
        assert_eq!(out.status, Some(st), "{name}: {j}");
    }
    assert_eq!(code(&j), row.code, "{name}: {j}");
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (row.check)(&out, &j)));
    if let Err(e) = res {
        let msg = e
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        panic!("{name}: {msg}\n(run took {:?})", start.elapsed());
    }
}

fn cpu_kind(_: &Run, j: &serde_json::Value) {
    assert_eq!(j["verdict"]["kind"], "cpu", "{j}");
}
fn wall_kind_within_10s(r: &Run, j: &serde_json::Value) {
    assert_eq!(j["verdict"]["kind"], "wall", "{j}");
    assert!(r.elapsed < Duration::from_secs(10), "{j}");
}
fn exit_code_3(_: &Run, j: &serde_json::Value) {
    assert_eq!(j["verdict"]["exit_code"], 3, "{j}");
}
fn signal_11(_: &Run, j: &serde_json::Value) {
    assert_eq!(j["verdict"]["signal"], 11, "{j}");
}
fn exit_code_4(_: &Run, j: &serde_json::Value) {
    assert_eq!(j["verdict"]["exit_code"], 4, "fork was refused: {j}");
}
fn socket_in_paranoid_mode(_: &Run, j: &serde_json::Value) {
    assert_eq!(j["verdict"]["syscall"], "socket", "{j}");
    assert_eq!(j["mode"], "paranoid", "{j}");
}
fn hello_in_paranoid_mode(r: &Run, j: &serde_json::Value) {
    assert_eq!(r.stdout_str(), "hello\n", "{j}");
    assert_eq!(j["mode"], "paranoid", "{j}");
}

table_tests! { rootless;
    cpu_time_limit => Row {
        opts: &["--cpu", "0.5"], victim: "spin", status: Some(1), code: "TLE", check: cpu_kind,
        ..ROW },
    wall_time_limit => Row {
        opts: &["--clock", "1"], victim: "sleeper", args: &["30"], code: "TLE",
        check: wall_kind_within_10s, ..ROW },
    memory_limit => Row {
        opts: &["--mem", "32768"], victim: "hog", args: &["100"], code: "MLE", ..ROW },
    runtime_error => Row { victim: "exitcode", args: &["3"], code: "RE", check: exit_code_3, ..ROW },
    signal => Row { victim: "segv", code: "SIG", check: signal_11, ..ROW },
    nproc_0_cannot_fork => Row { opts: &["--nproc", "0"], victim: "forker", ..ROW },
    nproc_2_can_fork => Row {
        opts: &["--nproc", "2"], victim: "forker", code: "RE", check: exit_code_4, ..ROW },
    paranoid_socket_is_restricted => Row {
        opts: &["--paranoid"], victim: "iso_connect", args: &["9"], status: Some(1), code: "RF",
        check: socket_in_paranoid_mode },
    paranoid_correct_program_is_ok => Row {
        opts: &["--paranoid"], check: hello_in_paranoid_mode, ..ROW },
}

#[test]
fn no_ns_is_refused() {
    let out = run_as_caller(&["--no-ns", "--exec", &victim("ok")]);
    let err = out.stderr_str();
    assert_eq!(out.status, Some(2), "{err}");
    assert!(
        err.starts_with("safeexec: --no-ns: a rootless run needs its PID namespace"),
        "{err}"
    );
}

#[test]
fn default_network_reaches_nothing() {
    let listener = common::Listener::new();
    // iso_connect exits 3 when it cannot connect.
    let (_, j) = run(&[], &[&victim("iso_connect"), &listener.port()]);
    assert_eq!(code(&j), "RE", "{j}");
    assert_eq!(j["verdict"]["exit_code"], 3, "{j}");
    assert!(!listener.got_connection(), "the listener got a connection");
}

#[test]
fn jail_c_runs_and_hides_the_host() {
    let (out, j) = run(&["--jail", "c"], &[&victim("ok")]);
    assert_eq!(code(&j), "OK", "{j}");
    assert_eq!(out.stdout_str(), "hello\n");
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
    // setpriv execs safeexec: the process we start is the supervisor.
    let mut child = as_caller(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let sup = child.id();
    assert!(eventually(Duration::from_secs(5), || {
        fs::read_link(format!("/proc/{sup}/exe")).is_ok_and(|e| e == bin())
    }));
    // The init and the supervisor hold the marker too (it is in safeexec's
    // command line); the program and its 3 children make 4 more.
    let up = eventually(Duration::from_secs(10), || procs_naming(&m).len() >= 5);
    let before = procs_naming(&m);
    let _ = child.kill();
    let _ = child.wait();
    assert!(up, "the run did not start: {before:?}");
    let gone = eventually(Duration::from_secs(1), || procs_naming(&m).is_empty());
    assert!(
        gone,
        "left 1 s after the supervisor was killed: {:?}",
        procs_naming(&m)
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
    assert!(eventually(Duration::from_secs(5), || {
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
