//! Path rules the kernel enforces (issue 13): escapes from the path rules
//! that the supervisor's ptrace check of the strings cannot stop, run
//! against the built binary. Each victim (tests/victims/ll_attack.c) works
//! in BASE/wd and goes for BASE/secret, a root-owned 0644 file outside every
//! path rule (readable by the run's uid: only the path rules stand between
//! them; outside /tmp, which a run sees privately). The oracle is outside
//! the program: the canary's secret must not appear in what it printed, and
//! the program must have reached the attack (it prints its attempts).
//!
//! Each attack is also run in ptrace-only mode (a debug build acting as on
//! a kernel without Landlock, `--landlock optional`) and what got through
//! there is printed, not asserted: that is the layer Landlock backs up.

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// BASE (0755) with `secret` (root, 0644) and `wd` (0777), under /var/lib.
struct Base {
    dir: PathBuf,
    secret: String,
}

impl Base {
    fn new(tag: &str) -> Base {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let dir = PathBuf::from(format!("/var/lib/safeexec-ll-{tag}-{pid}-{n}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("wd")).unwrap();
        chmod(&dir, 0o755);
        chmod(&dir.join("wd"), 0o777);
        let secret = format!("SECRET-ll-{tag}-{pid}-{n}-51c0de");
        std::fs::write(dir.join("secret"), format!("{secret}\n")).unwrap();
        chmod(&dir.join("secret"), 0o644);
        Base { dir, secret }
    }
    fn wd(&self) -> String {
        self.dir.join("wd").display().to_string()
    }
    /// The canary's path for the victim, as `@PATH`: a word, not a path the
    /// command line names (those are readable under `path read $ARGS`).
    fn canary(&self) -> String {
        format!("@{}", self.dir.join("secret").display())
    }
}

impl Drop for Base {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Threads, processes, directory changes, renames and symlinks on top of
/// the default policy's path rules (read and write: the working directory).
fn race_policy(dir: &Path) -> String {
    policy(
        dir,
        "races",
        "include default\n\
         allow @process @threads @signals chdir fchdir symlink symlinkat rename renameat renameat2\n\
         allow clone\n\
         limit nproc 50 cpu 10 clock 20\n",
    )
}

fn attempts(out: &str) -> u64 {
    out.lines()
        .find_map(|l| l.strip_prefix("attempts "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// Runs `mode` of the victim under `policy` with Landlock (asserted) and
/// ptrace-only (reported). `min_attempts`: how far the program must get.
fn attack(tag: &str, mode: &str, policy: Option<&str>, min_attempts: u64) {
    let base = Base::new(tag);
    let v = vpath("ll_attack");
    let wd = base.wd();
    let canary = base.canary();
    let pol_file;
    let pol = match policy {
        Some(p) => p,
        None => {
            pol_file = race_policy(&base.dir);
            pol_file.as_str()
        }
    };
    let args = [
        "--policy",
        pol,
        "--exec_dir",
        &wd,
        "--exec",
        &v,
        mode,
        &canary,
    ];
    let r = run_json(&args);
    assert_eq!(r.code(), "OK", "{mode}: {r}");
    assert_eq!(
        r.report["paths"]["layers"], "landlock+ptrace",
        "{mode}: {r}"
    );
    let n = attempts(&r.stdout_str());
    assert!(
        n >= min_attempts,
        "{mode}: the program did not reach the attack ({n} attempts): {r}"
    );
    assert!(
        !r.stdout_str().contains(&base.secret) && !r.stdout_str().contains("LEAK"),
        "{mode}: the canary was read under Landlock: {r}"
    );
    assert_nothing_left(&r);

    // The same attack in a fresh directory, ptrace only.
    let base2 = Base::new(tag);
    let (wd2, canary2) = (base2.wd(), base2.canary());
    let pol2 = match policy {
        Some(p) => p.to_string(),
        None => race_policy(&base2.dir),
    };
    let a = [
        "--landlock",
        "optional",
        "--policy",
        &pol2,
        "--exec_dir",
        &wd2,
        "--exec",
        &v,
        mode,
        &canary2,
    ];
    let old = run_json_env(&a, &[("SAFEEXEC_TEST_NO_LANDLOCK", "1")]);
    assert_eq!(old.report["paths"]["layers"], "ptrace", "{old}");
    eprintln!(
        "{mode}: ptrace only: {} attempts, canary {}; with Landlock: {n} attempts, canary kept",
        attempts(&old.stdout_str()),
        if old.stdout_str().contains(&base2.secret) {
            "READ"
        } else {
            "kept"
        }
    );
}

#[test]
fn magic_links_under_the_java_policy_do_not_reach_the_canary() {
    // /proc/self/root/..., /proc/self/fd/N/.., /dev/fd/N/..: java.policy
    // allows /proc/self/** for reading; the kernel follows the magic link.
    attack("magic", "magic", Some("java"), 4);
}

#[test]
fn symlink_swap_race_does_not_reach_the_canary() {
    attack("swap", "swap", None, 100);
}

#[test]
fn shared_memory_flip_by_a_forked_child_does_not_reach_the_canary() {
    attack("shm", "shmflip", None, 100);
}

#[test]
fn directory_move_under_a_dirfd_does_not_reach_the_canary() {
    attack("dirmove", "dirmove", None, 100);
}

#[test]
fn thread_without_clone_fs_does_not_poison_the_cwd() {
    attack("nofs", "nofs", None, 10);
}

#[test]
fn chdir_race_does_not_reach_the_canary() {
    attack("chdir", "chdirrace", None, 100);
}

#[test]
fn renamed_working_directory_does_not_reach_the_canary() {
    attack("rename", "renamecwd", None, 10);
}

#[test]
fn python3_and_java_run_under_landlock() {
    let base = Base::new("rt");
    let wd = base.wd();
    std::fs::write(
        base.dir.join("wd/s.py"),
        "import json, os\nprint(json.dumps(sorted(os.listdir('.'))))\nopen('out.txt', 'w').write('x')\n",
    )
    .unwrap();
    let r = run_json(&[
        "--policy",
        "python3",
        "--exec_dir",
        &wd,
        "--exec",
        "/usr/bin/python3",
        "s.py",
    ]);
    assert_eq!(r.code(), "OK", "{r}");
    assert_eq!(r.report["paths"]["layers"], "landlock+ptrace", "{r}");
    assert!(r.stdout_str().contains("s.py"), "{r}");
    assert!(base.dir.join("wd/out.txt").exists(), "{r}");
    let java = "/usr/lib/jvm/java-17-openjdk-amd64/bin/java";
    if !Path::new(java).exists() {
        eprintln!("no {java}: java part skipped");
        return;
    }
    let javac = "/usr/lib/jvm/java-17-openjdk-amd64/bin/javac";
    std::fs::write(
        base.dir.join("wd/Main.java"),
        "public class Main { public static void main(String[] a) throws Exception {\n\
         System.out.println(\"sum \" + (Integer.parseInt(\"40\") + 2));\n\
         try (java.io.FileWriter w = new java.io.FileWriter(\"j.txt\")) { w.write(\"y\"); } } }\n",
    )
    .unwrap();
    let st = std::process::Command::new(javac)
        .arg("Main.java")
        .current_dir(base.dir.join("wd"))
        .status()
        .unwrap();
    assert!(st.success());
    let r = run_json(&[
        "--policy",
        "java",
        "--exec_dir",
        &wd,
        "--exec",
        java,
        "-cp",
        ".",
        "Main",
    ]);
    assert_eq!(r.code(), "OK", "{r}");
    assert_eq!(r.report["paths"]["layers"], "landlock+ptrace", "{r}");
    assert!(r.stdout_str().contains("sum 42"), "{r}");
    assert!(base.dir.join("wd/j.txt").exists(), "{r}");
}

#[test]
fn without_landlock_path_rules_refuse_unless_optional() {
    let base = Base::new("nolandlock");
    let wd = base.wd();
    let v = vpath("ok");
    let no = [("SAFEEXEC_TEST_NO_LANDLOCK", "1")];
    let r = run_json_env(&["--paranoid", "--exec_dir", &wd, "--exec", &v], &no);
    assert_eq!(r.status, Some(3), "{r}");
    assert!(
        r.stderr_str().contains("safeexec: ") && r.stderr_str().contains("landlock optional"),
        "{r}"
    );
    assert_eq!(r.stderr_str().lines().count(), 1, "{r}");
    // The command line, or the policy, says optional: ptrace only, with a warning.
    let r = run_json_env(
        &[
            "--paranoid",
            "--landlock",
            "optional",
            "--exec_dir",
            &wd,
            "--exec",
            &v,
        ],
        &no,
    );
    assert_eq!(r.code(), "OK", "{r}");
    assert_eq!(r.report["paths"]["layers"], "ptrace", "{r}");
    assert!(
        r.report["warnings"][0]
            .as_str()
            .unwrap_or("")
            .contains("ptrace"),
        "{r}"
    );
    assert!(r.stderr_str().contains("safeexec: warning: "), "{r}");
    let pol = policy(&base.dir, "opt", "include default\nlandlock optional\n");
    let r = run_json_env(&["--policy", &pol, "--exec_dir", &wd, "--exec", &v], &no);
    assert_eq!(r.code(), "OK", "{r}");
    assert_eq!(r.report["paths"]["layers"], "ptrace", "{r}");
    // With Landlock: no warning.
    let r = run_json(&["--policy", &pol, "--exec_dir", &wd, "--exec", &v]);
    assert_eq!(r.report["paths"]["layers"], "landlock+ptrace", "{r}");
    assert!(r.report.get("warnings").is_none(), "{r}");
}

#[test]
fn policy_show_names_the_layers_and_the_widened_patterns() {
    let s = run(&["policy", "show", "java"]).stdout_str();
    assert!(s.contains("path enforcement: Landlock (kernel ABI"), "{s}");
    assert!(
        s.contains("/tmp/hsperfdata_*") && s.contains("hierarchy /tmp (wider than the pattern)"),
        "{s}"
    );
    let s = run_with(
        &["policy", "show", "java"],
        Opts {
            env: vec![("SAFEEXEC_TEST_NO_LANDLOCK", "1")],
            ..Opts::default()
        },
    )
    .stdout_str();
    assert!(s.contains("path enforcement: a run is refused"), "{s}");
}

#[test]
fn a_root_paranoid_run_cannot_probe_pids_outside_it() {
    // A process of another uid (65534), started here: without a PID
    // namespace sched_getaffinity succeeds and prlimit64 answers EPERM
    // (it exists); inside one both answer ESRCH.
    let s = Sleeper::start();
    let base = Base::new("probe");
    let wd = base.wd();
    let v = vpath("ll_probe");
    let pid = s.pid().to_string();
    let pol = policy(
        &base.dir,
        "probe",
        "include default\nallow prlimit64 sched_getaffinity\n",
    );
    let r = run_json(&["--policy", &pol, "--exec_dir", &wd, "--exec", &v, &pid]);
    assert_eq!(r.code(), "OK", "{r}");
    assert!(
        r.stdout_str().contains("affinity ESRCH\n") && r.stdout_str().contains("prlimit ESRCH\n"),
        "the run could probe pid {pid}: {r}"
    );
    // Without namespaces (--no-ns) the probe works: the test can tell.
    let r = run_json(&[
        "--policy",
        &pol,
        "--no-ns",
        "--exec_dir",
        &wd,
        "--exec",
        &v,
        &pid,
    ]);
    assert!(r.stdout_str().contains("prlimit EPERM\n"), "{r}");
    assert!(s.alive());
}
