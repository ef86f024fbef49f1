//! Paranoid mode end to end: the built binary runs hostile victims under the
//! shipped policies; each test judges from outside the program (its verdict
//! from the report, a canary file, /proc entries of the run's pids).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::*;

/// Runs with `--report json` and returns (exit status, report, stdout);
/// panics when stderr holds no JSON report.
fn run_json3(args: &[&str]) -> (i32, serde_json::Value, String) {
    let r = run_json(args);
    let rep = r.json_report().clone();
    (r.code_or_signal(), rep, r.stdout_str())
}

fn code(v: &serde_json::Value) -> &str {
    v["verdict"]["code"].as_str().unwrap_or("?")
}

// ---------------------------------------------------------------------------
// Verdicts: one row per victim (options, exit status, verdict, and what else
// must hold)
// ---------------------------------------------------------------------------

fn paranoid_mode(r: &Run, _: &Path) {
    assert_eq!(r.json_report()["mode"], "paranoid", "{r}");
}
fn threads_done(r: &Run, d: &Path) {
    assert_eq!(r.stdout_str(), "threads done\n", "{r}");
    paranoid_mode(r, d);
}
fn the_call_did_not_return(r: &Run, _: &Path) {
    assert!(
        !r.stdout_str().contains("returned"),
        "the call returned: {r}"
    );
}
fn io_uring_setup(r: &Run, _: &Path) {
    assert_eq!(r.syscall(), "io_uring_setup", "{r}");
}
fn ptrace(r: &Run, _: &Path) {
    assert_eq!(r.syscall(), "ptrace", "{r}");
}
fn stopped_and_continued(r: &Run, _: &Path) {
    assert_eq!(r.stdout_str(), "stopped and continued\n", "{r}");
}

const RF: Case = Case {
    opts: &["--paranoid"],
    status: Some(1),
    verdict: "RF",
    ..CASE
};
const PROCS_OK: Case = Case {
    opts: &["--policy", "{procs}"],
    ..CASE
};

table_tests! { check_case_unit;
    correct_program_is_ok => Case { victim: "p_threads", check: threads_done, ..PROCS_OK },
    i386_entry_kills_the_run => Case { victim: "p_int80", check: the_call_did_not_return, ..RF },
    x32_numbers_kill_the_run => Case { victim: "p_x32", check: the_call_did_not_return, ..RF },
    clone_untraced_is_refused => Case { victim: "p_untraced", ..PROCS_OK },
    clone3_answers_enosys => Case { victim: "p_clone3", ..PROCS_OK },
    io_uring_is_refused => Case { victim: "p_iouring", check: io_uring_setup, ..RF },
    ptrace_of_the_supervisor_is_refused => Case {
        victim: "p_ptrace", args: &["{me}"], check: ptrace, ..RF },
    proc_entries_of_other_processes_are_refused => Case {
        opts: &["--paranoid"], victim: "p_procmem", args: &["{me}"], ..CASE },
    fork_is_killed_when_the_policy_forbids_it => Case {
        opts: &["--paranoid", "--nproc", "5", "--exec_dir", "{dir}"],
        victim: "p_sleepfork", args: &["{dir}/pids"], ..RF },
    group_stop_and_signal_handlers_behave_as_natively => Case {
        opts: &["--policy", "{procs}", "--clock", "10"], victim: "p_sigstop",
        check: stopped_and_continued, ..CASE },
}

fn check_case_unit(name: &str, c: Case) {
    check_case(name, c);
}

#[test]
fn dynamic_c_program_runs_under_default_policy() {
    let out = run(&["--paranoid", "--exec", "/bin/echo", "hi"]);
    assert!(
        out.status == Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"hi\n");
}

#[test]
fn socket_is_restricted_function_with_rule() {
    let src = "#include <sys/socket.h>\nint main(void){return socket(2,1,0) < 0 ? 0 : 9;}\n";
    let d = work_dir();
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
    let out = run(&["--paranoid", "--exec", bin.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("Restricted Function (socket)\n"), "{err}");
    assert_eq!(out.status, Some(1));
    let (_, r, _) = run_json3(&["--paranoid", "--exec", bin.to_str().unwrap()]);
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
fn write_outside_the_working_directory_is_denied() {
    let d = work_dir();
    // Not under /tmp: the run has a private /tmp, where the canary would
    // not exist (ENOENT) or, named, be kept read-only, and the attack would
    // not reach the policy.
    let outside = common::outside_private_tmp();
    let canary = outside.path().join("canary");
    std::fs::write(&canary, "canary\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    // World-writable: only the policy stands between the program and it.
    std::fs::set_permissions(&canary, std::fs::Permissions::from_mode(0o666)).unwrap();
    let inside = d.path().join("good");
    std::fs::write(&inside, "").unwrap();
    std::fs::set_permissions(&inside, std::fs::Permissions::from_mode(0o666)).unwrap();
    let pol = procs_policy(d.path());
    // The same rules answering EPERM: Landlock answers EACCES, so every
    // open stops for the supervisor, which refuses and counts it.
    let pol_stops = common::policy(
        d.path(),
        "procs-eperm",
        "include default\nallow @process @threads @signals\nlimit nproc 300\n\
         on-path-violation deny EPERM\n",
    );
    // Both "paths" are the canary: every open is a write outside the
    // working directory, and every one must be refused: by Landlock in the
    // kernel without a stop (EACCES, not counted by the supervisor), or by
    // the supervisor at a stop (EPERM here, counted).
    for (pol, errno, counted) in [(&pol, "eacces", 0), (&pol_stops, "eperm", 2000)] {
        let (_, r, out) = run_json3(&[
            "--policy",
            pol,
            "--exec_dir",
            d.path().to_str().unwrap(),
            "--exec",
            victim("p_toctou").to_str().unwrap(),
            canary.to_str().unwrap(),
            canary.to_str().unwrap(),
        ]);
        let after = std::fs::read_to_string(&canary).unwrap();
        assert_eq!(code(&r), "OK", "{r}");
        assert_eq!(
            after, "canary\n",
            "a write outside the working directory happened"
        );
        assert!(out.contains(&format!(" {errno} 2000")), "{out} {r}");
        assert_eq!(r["denied_calls"], counted, "{r}");
    }
    let _ = std::fs::remove_file(&canary);
    // And inside the working directory the same writes are allowed.
    let (_, r, _) = run_json3(&[
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
    // kernel refuses the run's uid. Not under /tmp: named there, it would be
    // kept visible read-only over the private /tmp, and the mount, not the
    // file's permissions, would refuse the writes.
    let d = work_dir();
    let outside = common::outside_private_tmp();
    let canary = outside.path().join("rootcanary");
    std::fs::write(&canary, "canary\n").unwrap();
    let inside = d.path().join("good");
    std::fs::write(&inside, "").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&inside, std::fs::Permissions::from_mode(0o666)).unwrap();
    let pol = procs_policy(d.path());
    let (_, r, out) = run_json3(&[
        "--policy",
        &pol,
        "--disk",
        "0",
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
    // The attack got going: the flipping thread ran while opens of the
    // allowed file succeeded (its writes are there) ...
    assert!(out.starts_with("done "), "{out}");
    assert!(
        std::fs::metadata(&inside).unwrap().len() > 0,
        "no open got through: {out} {r}"
    );
    // ... and the canary was never written.
    assert_eq!(after, "canary\n");
}

#[test]
fn killing_the_supervisor_leaves_nothing() {
    let v = victim("p_sleepfork");
    for mode in ["paranoid", "classic --no-ns", "classic"] {
        let d = work_dir();
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

#[test]
fn shipped_policies_check_and_bad_ones_report_positions() {
    for name in ["default", "python3", "java", "audit"] {
        let out = run(&["policy", "check", name]);
        assert!(
            out.status == Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let d = work_dir();
    let bad = d.path().join("bad.policy");
    std::fs::write(&bad, "default kill\nallow opne\nlimit cpu x\nbogus line\n").unwrap();
    let out = run(&["policy", "check", bad.to_str().unwrap()]);
    assert_eq!(out.status, Some(4));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.policy:2:"), "{err}");
    assert!(err.contains("open"), "no suggestion: {err}");
    assert!(err.contains("bad.policy:3:"), "{err}");
    assert!(err.contains("bad.policy:4:"), "{err}");
    assert!(!err.contains("panicked"));
    // A bad policy given to a run: exit 4, nothing run.
    let out = run(&["--policy", bad.to_str().unwrap(), "--exec", "/bin/true"]);
    assert_eq!(out.status, Some(4));
    let out = run(&["--policy", "/nonexistent.policy", "--exec", "/bin/true"]);
    assert_eq!(out.status, Some(4));
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
}

#[test]
fn policy_show_lists_dispositions() {
    let out = run(&["policy", "show", "default"]);
    assert!(out.status == Some(0));
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
    let d = work_dir();
    let prog = d.path().join("sol.py");
    std::fs::write(
        &prog,
        "import sys, json\nprint(json.dumps(sorted(int(x) for x in sys.stdin.read().split())))\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = run_stdin(
        &[
            "--policy",
            "python3",
            "--exec_dir",
            d.path().to_str().unwrap(),
            "--exec",
            py.to_str().unwrap(),
            "sol.py",
        ],
        b"3 1 2\n",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("OK\n"), "{err}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "[1, 2, 3]\n");
    // The same interpreter opening a socket is stopped.
    std::fs::write(&prog, "import socket\nsocket.socket()\n").unwrap();
    let (_, r, _) = run_json3(&[
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
    let d = work_dir();
    let sum = "import java.util.*;\npublic class Main { public static void main(String[] a) { Scanner s = new Scanner(System.in); long t = 0; while (s.hasNextLong()) t += s.nextLong(); System.out.println(t); } }\n";
    java_class(d.path(), sum).expect("javac");
    let out = run_stdin(
        &[
            "--policy",
            "java",
            "--exec_dir",
            d.path().to_str().unwrap(),
            "--exec",
            JAVA,
            "Main",
        ],
        b"1 2 3\n",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("OK\n"), "{err}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "6\n");

    let net = "public class Main { public static void main(String[] a) throws Exception { new java.net.Socket(\"127.0.0.1\", 9); } }\n";
    java_class(d.path(), net).expect("javac");
    let (_, r, _) = run_json3(&[
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
    let d = work_dir();
    let pol = d.path().join("chdir.policy");
    std::fs::write(&pol, "include default\nallow chdir fchdir\n").unwrap();
    let pol = pol.display().to_string();
    let name = format!("safeexec-chdir-{}", std::process::id());
    let outside = Path::new("/tmp").join(&name);
    let _ = std::fs::remove_file(&outside);
    let (st, r, out) = run_json3(&[
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
