//! Paranoid mode end to end: the built binary runs hostile victims under the
//! shipped policies; each test judges from outside the program (its verdict
//! from the report, a canary file, /proc entries of the run's pids).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;
#[path = "common/oracles.rs"]
mod oracles;

use common::victim;
use oracles::{alive, procs_policy, workdir};

/// Runs safeexec with `args`, killing it after 60 s.
fn safeexec(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_safeexec"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("safeexec starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("safeexec did not finish in 60 s: {args:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs with `--report json` and returns (exit status, report, stdout).
fn run_json(args: &[&str]) -> (i32, serde_json::Value, String) {
    let mut a = vec!["--report", "json"];
    a.extend_from_slice(args);
    let out = safeexec(&a);
    let err = String::from_utf8_lossy(&out.stderr);
    let start = err
        .find('{')
        .unwrap_or_else(|| panic!("no JSON report in stderr: {err}"));
    let v: serde_json::Value =
        serde_json::from_str(&err[start..]).unwrap_or_else(|e| panic!("{e}: {err}"));
    (
        out.status.code().unwrap_or(-1),
        v,
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn code(v: &serde_json::Value) -> &str {
    v["verdict"]["code"].as_str().unwrap_or("?")
}

#[test]
fn correct_program_is_ok() {
    let v = victim("p_threads");
    let d = workdir();
    let pol = procs_policy(d.path());
    let (st, r, out) = run_json(&["--policy", &pol, "--exec", v.to_str().unwrap()]);
    assert_eq!(code(&r), "OK", "{r}");
    assert_eq!(st, 0);
    assert_eq!(out, "threads done\n");
    assert_eq!(r["mode"], "paranoid");
}

#[test]
fn dynamic_c_program_runs_under_default_policy() {
    let out = safeexec(&["--paranoid", "--exec", "/bin/echo", "hi"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"hi\n");
}

#[test]
fn i386_entry_kills_the_run() {
    let (st, r, out) = run_json(&["--paranoid", "--exec", victim("p_int80").to_str().unwrap()]);
    assert_eq!(code(&r), "RF", "{r}");
    assert_eq!(st, 1);
    assert!(!out.contains("returned"), "the call returned: {out}");
}

#[test]
fn x32_numbers_kill_the_run() {
    let (_, r, out) = run_json(&["--paranoid", "--exec", victim("p_x32").to_str().unwrap()]);
    assert_eq!(code(&r), "RF", "{r}");
    assert!(!out.contains("returned"), "the call returned: {out}");
}

#[test]
fn clone_untraced_is_refused_and_clone3_answers_enosys() {
    let d = workdir();
    let pol = procs_policy(d.path());
    for v in ["p_untraced", "p_clone3"] {
        let (st, r, out) = run_json(&["--policy", &pol, "--exec", victim(v).to_str().unwrap()]);
        assert_eq!(code(&r), "OK", "{v}: {r} {out}");
        assert_eq!(st, 0, "{v}: {out}");
    }
}

#[test]
fn io_uring_is_refused() {
    let (_, r, out) = run_json(&[
        "--paranoid",
        "--exec",
        victim("p_iouring").to_str().unwrap(),
    ]);
    assert_eq!(code(&r), "RF", "{r} {out}");
    assert_eq!(r["verdict"]["syscall"], "io_uring_setup");
}

#[test]
fn socket_is_restricted_function_with_rule() {
    let src = "#include <sys/socket.h>\nint main(void){return socket(2,1,0) < 0 ? 0 : 9;}\n";
    let d = workdir();
    let c = d.path().join("sock.c");
    std::fs::write(&c, src).unwrap();
    let bin = d.path().join("sock");
    assert!(Command::new("gcc")
        .arg("-o")
        .arg(&bin)
        .arg(&c)
        .status()
        .unwrap()
        .success());
    let out = safeexec(&["--paranoid", "--exec", bin.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("Restricted Function (socket)\n"), "{err}");
    assert_eq!(out.status.code(), Some(1));
    let (_, r, _) = run_json(&["--paranoid", "--exec", bin.to_str().unwrap()]);
    assert_eq!(r["verdict"]["syscall"], "socket");
    assert_eq!(r["verdict"]["args"][0], "2");
    assert!(
        r["verdict"]["rule"]
            .as_str()
            .unwrap()
            .starts_with("builtin:base:"),
        "{r}"
    );
}

#[test]
fn ptrace_of_the_supervisor_is_refused() {
    let me = std::process::id().to_string();
    let (_, r, _) = run_json(&[
        "--paranoid",
        "--exec",
        victim("p_ptrace").to_str().unwrap(),
        &me,
    ]);
    assert_eq!(code(&r), "RF", "{r}");
    assert_eq!(r["verdict"]["syscall"], "ptrace");
}

#[test]
fn proc_entries_of_other_processes_are_refused() {
    let me = std::process::id().to_string();
    let (st, r, out) = run_json(&[
        "--paranoid",
        "--exec",
        victim("p_procmem").to_str().unwrap(),
        &me,
    ]);
    assert_eq!(code(&r), "OK", "{r} {out}");
    assert_eq!(st, 0, "an open succeeded: {out}");
}

#[test]
fn fork_is_killed_when_the_policy_forbids_it() {
    let v = victim("p_sleepfork");
    let d = workdir();
    let pids = d.path().join("pids");
    let (_, r, _) = run_json(&[
        "--paranoid",
        "--nproc",
        "5",
        "--exec_dir",
        d.path().to_str().unwrap(),
        "--exec",
        v.to_str().unwrap(),
        pids.to_str().unwrap(),
    ]);
    assert_eq!(code(&r), "RF", "{r}");
}

#[test]
fn write_outside_the_working_directory_is_denied() {
    let d = workdir();
    let canary = Path::new("/tmp").join(format!("safeexec-canary-{}", std::process::id()));
    std::fs::write(&canary, "canary\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    // World-writable: only the policy stands between the program and it.
    std::fs::set_permissions(&canary, std::fs::Permissions::from_mode(0o666)).unwrap();
    let inside = d.path().join("good");
    std::fs::write(&inside, "").unwrap();
    std::fs::set_permissions(&inside, std::fs::Permissions::from_mode(0o666)).unwrap();
    let pol = procs_policy(d.path());
    // Both "paths" are the canary: every open is a write outside the
    // working directory, and every one must be refused.
    let (_, r, _) = run_json(&[
        "--policy",
        &pol,
        "--exec_dir",
        d.path().to_str().unwrap(),
        "--exec",
        victim("p_toctou").to_str().unwrap(),
        canary.to_str().unwrap(),
        canary.to_str().unwrap(),
    ]);
    let after = std::fs::read_to_string(&canary).unwrap();
    let _ = std::fs::remove_file(&canary);
    assert_eq!(code(&r), "OK", "{r}");
    assert_eq!(
        after, "canary\n",
        "a write outside the working directory happened"
    );
    assert_eq!(r["denied_calls"], 2000, "{r}");
    // And inside the working directory the same writes are allowed.
    let (_, r, _) = run_json(&[
        "--policy",
        &pol,
        "--exec_dir",
        d.path().to_str().unwrap(),
        "--exec",
        victim("p_toctou").to_str().unwrap(),
        inside.to_str().unwrap(),
        inside.to_str().unwrap(),
    ]);
    assert_eq!(code(&r), "OK", "{r}");
    assert_eq!(std::fs::metadata(&inside).unwrap().len(), 2000);
}

#[test]
fn toctou_cannot_beat_kernel_permissions() {
    // The forbidden file is root's 0644: whatever the tracer decides, the
    // kernel refuses the run's uid.
    let d = workdir();
    let canary = Path::new("/tmp").join(format!("safeexec-rootcanary-{}", std::process::id()));
    std::fs::write(&canary, "canary\n").unwrap();
    let inside = d.path().join("good");
    std::fs::write(&inside, "").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&inside, std::fs::Permissions::from_mode(0o666)).unwrap();
    let pol = procs_policy(d.path());
    let (_, r, _) = run_json(&[
        "--policy",
        &pol,
        "--exec_dir",
        d.path().to_str().unwrap(),
        "--exec",
        victim("p_toctou").to_str().unwrap(),
        inside.to_str().unwrap(),
        canary.to_str().unwrap(),
    ]);
    let after = std::fs::read_to_string(&canary).unwrap();
    let _ = std::fs::remove_file(&canary);
    assert_eq!(code(&r), "OK", "{r}");
    assert_eq!(after, "canary\n");
}

#[test]
fn group_stop_and_signal_handlers_behave_as_natively() {
    let d = workdir();
    let pol = procs_policy(d.path());
    let (st, r, out) = run_json(&[
        "--policy",
        &pol,
        "--clock",
        "10",
        "--exec",
        victim("p_sigstop").to_str().unwrap(),
    ]);
    assert_eq!(code(&r), "OK", "{r} {out}");
    assert_eq!(st, 0);
    assert_eq!(out, "stopped and continued\n");
}

#[test]
fn killing_the_supervisor_leaves_nothing() {
    let v = victim("p_sleepfork");
    for mode in ["paranoid", "classic --no-ns", "classic"] {
        let d = workdir();
        let pids = d.path().join("pids");
        let pol = procs_policy(d.path());
        let mut args: Vec<String> = vec![];
        match mode {
            "paranoid" => args.extend(["--policy".into(), pol.clone()]),
            "classic --no-ns" => args.push("--no-ns".into()),
            _ => {}
        }
        args.extend(
            [
                "--nproc",
                "5",
                "--clock",
                "30",
                "--exec_dir",
                d.path().to_str().unwrap(),
                "--exec",
                v.to_str().unwrap(),
                pids.to_str().unwrap(),
            ]
            .map(String::from),
        );
        let mut child = Command::new(env!("CARGO_BIN_EXE_safeexec"))
            .args(&args)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Wait until the program wrote its pids (4 lines), at most 10 s.
        let t0 = Instant::now();
        while std::fs::read_to_string(&pids)
            .unwrap_or_default()
            .lines()
            .count()
            < 4
            && t0.elapsed() < Duration::from_secs(10)
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        // The run's processes as the host sees them (inside a PID namespace
        // the victim's own pids mean nothing here): every process whose
        // command line names this run's unique pid file.
        let marker = pids.to_str().unwrap().to_string();
        let list: Vec<i32> = procs_naming(&marker)
            .into_iter()
            .filter(|p| *p != child.id() as i32)
            .collect();
        assert!(
            list.len() >= 4,
            "{mode}: the victim did not start: {list:?}"
        );
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let t1 = Instant::now();
        while list.iter().any(|p| alive(*p)) && t1.elapsed() < Duration::from_secs(1) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let left: Vec<_> = list.iter().filter(|p| alive(**p)).collect();
        assert!(left.is_empty(), "{mode}: still alive after 1 s: {left:?}");
    }
}

/// Host pids whose command line contains `marker`.
fn procs_naming(marker: &str) -> Vec<i32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmd).contains(marker) && alive(pid) {
            out.push(pid);
        }
    }
    out
}

#[test]
fn shipped_policies_check_and_bad_ones_report_positions() {
    for name in ["default", "python3", "java", "audit"] {
        let out = safeexec(&["policy", "check", name]);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let d = workdir();
    let bad = d.path().join("bad.policy");
    std::fs::write(&bad, "default kill\nallow opne\nlimit cpu x\nbogus line\n").unwrap();
    let out = safeexec(&["policy", "check", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(4));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.policy:2:"), "{err}");
    assert!(err.contains("open"), "no suggestion: {err}");
    assert!(err.contains("bad.policy:3:"), "{err}");
    assert!(err.contains("bad.policy:4:"), "{err}");
    assert!(!err.contains("panicked"));
    // A bad policy given to a run: exit 4, nothing run.
    let out = safeexec(&["--policy", bad.to_str().unwrap(), "--exec", "/bin/true"]);
    assert_eq!(out.status.code(), Some(4));
    let out = safeexec(&["--policy", "/nonexistent.policy", "--exec", "/bin/true"]);
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
}

#[test]
fn policy_show_lists_dispositions() {
    let out = safeexec(&["policy", "show", "default"]);
    assert!(out.status.success());
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("socket"), "{s}");
    assert!(s.contains("kernel: allow"), "{s}");
    assert!(s.contains("supervisor"), "{s}");
}

#[test]
fn python3_runs_under_its_policy() {
    // Debian's interpreter: the run's uid cannot enter /root, where pyenv lives.
    let py = PathBuf::from("/usr/bin/python3");
    assert!(
        py.exists(),
        "/usr/bin/python3 is missing: .ci/run installs python3"
    );
    let d = workdir();
    let prog = d.path().join("sol.py");
    std::fs::write(
        &prog,
        "import sys, json\nprint(json.dumps(sorted(int(x) for x in sys.stdin.read().split())))\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_safeexec"))
        .args([
            "--policy",
            "python3",
            "--exec_dir",
            d.path().to_str().unwrap(),
            "--exec",
            py.to_str().unwrap(),
            "sol.py",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"3 1 2\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("OK\n"), "{err}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "[1, 2, 3]\n");
    // The same interpreter opening a socket is stopped.
    std::fs::write(&prog, "import socket\nsocket.socket()\n").unwrap();
    let (_, r, _) = run_json(&[
        "--policy",
        "python3",
        "--exec_dir",
        d.path().to_str().unwrap(),
        "--exec",
        py.to_str().unwrap(),
        "sol.py",
    ]);
    assert_eq!(code(&r), "RF", "{r}");
}

/// Compiles a Java class in a fresh 0777 directory (None without a JDK).
fn java_class(dir: &Path, src: &str) -> Option<()> {
    std::fs::write(dir.join("Main.java"), src).ok()?;
    let st = Command::new("javac")
        .arg("Main.java")
        .current_dir(dir)
        .status()
        .ok()?;
    assert!(st.success(), "javac failed");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        dir.join("Main.class"),
        std::fs::Permissions::from_mode(0o644),
    )
    .ok()?;
    Some(())
}

const JAVA: &str = "/usr/lib/jvm/java-17-openjdk-amd64/bin/java";

#[test]
fn java_runs_under_its_policy_and_sockets_are_stopped() {
    assert!(
        Path::new(JAVA).exists(),
        "{JAVA} is missing: .ci/run installs openjdk-17-jdk-headless"
    );
    let d = workdir();
    let sum = "import java.util.*;\npublic class Main { public static void main(String[] a) { Scanner s = new Scanner(System.in); long t = 0; while (s.hasNextLong()) t += s.nextLong(); System.out.println(t); } }\n";
    java_class(d.path(), sum).expect("javac");
    let mut child = Command::new(env!("CARGO_BIN_EXE_safeexec"))
        .args([
            "--policy",
            "java",
            "--exec_dir",
            d.path().to_str().unwrap(),
            "--exec",
            JAVA,
            "Main",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"1 2 3\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("OK\n"), "{err}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "6\n");

    let net = "public class Main { public static void main(String[] a) throws Exception { new java.net.Socket(\"127.0.0.1\", 9); } }\n";
    java_class(d.path(), net).expect("javac");
    let (_, r, _) = run_json(&[
        "--policy",
        "java",
        "--exec_dir",
        d.path().to_str().unwrap(),
        "--exec",
        JAVA,
        "Main",
    ]);
    assert_eq!(code(&r), "RF", "{r}");
    assert_eq!(r["verdict"]["syscall"], "socket");
}

#[test]
fn relative_paths_follow_chdir() {
    // /tmp is world-writable: only the path rule keeps the program out, and
    // only if the supervisor resolves "evil" against the new directory.
    let d = workdir();
    let pol = d.path().join("chdir.policy");
    std::fs::write(&pol, "include default\nallow chdir fchdir\n").unwrap();
    let pol = pol.display().to_string();
    let name = format!("safeexec-chdir-{}", std::process::id());
    let outside = Path::new("/tmp").join(&name);
    let _ = std::fs::remove_file(&outside);
    let (st, r, out) = run_json(&[
        "--policy",
        &pol,
        "--exec_dir",
        d.path().to_str().unwrap(),
        "--exec",
        victim("p_chdir").to_str().unwrap(),
        "/tmp",
        &name,
    ]);
    let created = outside.exists();
    let _ = std::fs::remove_file(&outside);
    assert!(
        !created,
        "a file was created outside the working directory: {out}"
    );
    assert_eq!(code(&r), "OK", "{r}");
    assert_eq!(st, 0, "{out}");
}
