//! Grading the way graders keep their files (issue 12): submissions stored
//! in a directory under /tmp, run from a separate scratch working
//! directory, interpreters by absolute path, shipped policies. What the
//! command line names is visible (read-only) over the private /tmp, the
//! shipped language policies read it (`path read $ARGS`), and
//! `--allow-read` / `--allow-write` widen the path rules.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{is_root, SAFEEXEC};

const PYTHON: &str = "/usr/bin/python3";
const JAVA: &str = "/usr/lib/jvm/java-17-openjdk-amd64/bin/java";
const JAVAC: &str = "/usr/lib/jvm/java-17-openjdk-amd64/bin/javac";

/// A directory under /tmp with `mode`, removed when dropped.
fn dir_in_tmp(mode: u32) -> tempfile::TempDir {
    let d = tempfile::Builder::new()
        .prefix("safeexec-grading-")
        .tempdir_in("/tmp")
        .unwrap();
    fs::set_permissions(d.path(), fs::Permissions::from_mode(mode)).unwrap();
    d
}

/// Writes `text` to `dir/name` readable by everyone; returns the path.
fn put(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, text).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
    p
}

/// Runs safeexec with `args` from the working directory `cwd` (60 s at most).
fn run_in(cwd: &Path, args: &[&str]) -> Output {
    let mut child = Command::new(SAFEEXEC)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("safeexec ran past 60 s: {args:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The classic report's first line (the last four lines of stderr).
fn status_line(o: &Output) -> String {
    let e = err(o);
    let lines: Vec<&str> = e.lines().collect();
    assert!(lines.len() >= 4, "no report: {e}");
    lines[lines.len() - 4].to_string()
}

macro_rules! need_root {
    () => {
        if !is_root() {
            eprintln!("skipped: needs root (private /tmp, unique uid)");
            return;
        }
    };
}

/// Classic mode and the python3 policy.
const PY_MODES: [&[&str]; 2] = [&[], &["--policy", "python3"]];

/// Runs `args` from `cwd` once under each of `modes` (options put before
/// `args`); each run must be OK and print exactly `want`.
fn ok_in_each_mode(cwd: &Path, modes: &[&[&str]], args: &[&str], want: &str) {
    for mode in modes {
        let mut all: Vec<&str> = mode.to_vec();
        all.extend(args);
        let o = run_in(cwd, &all);
        assert_eq!(status_line(&o), "OK", "{mode:?}: {}", err(&o));
        assert_eq!(out(&o), want, "{mode:?}: {}", err(&o));
    }
}

#[test]
fn a_python_script_under_tmp_runs_from_a_scratch_directory_in_both_modes() {
    need_root!();
    let sub = dir_in_tmp(0o755);
    put(sub.path(), "helper.py", "X = 41\n");
    let main = put(
        sub.path(),
        "main.py",
        &format!(
            "import sys\nsys.path.insert(0, {:?})\nimport helper\nprint(helper.X + 1)\n",
            sub.path().display().to_string()
        ),
    );
    let scratch = common::work_dir();
    let main = main.to_str().unwrap();
    // The helper module is named on the command line too: a directory of
    // modules is named by naming the directory.
    let d = sub.path().to_str().unwrap();
    ok_in_each_mode(
        scratch.path(),
        &PY_MODES,
        &["--exec", PYTHON, main, d],
        "42\n",
    );
}

/// The smoke test graders run first: a script in a fresh `mktemp -d`
/// directory (mode 0700, root's) under /tmp, safeexec started from `/`, the
/// interpreter by absolute path, in both modes with no other option. The
/// script is named on the command line, so it is kept visible (read-only)
/// over the run's private /tmp, though its directory is neither the working
/// directory nor searchable by the run's uid.
#[test]
fn a_script_in_a_private_mktemp_directory_runs_from_the_root_directory() {
    need_root!();
    let sub = dir_in_tmp(0o700);
    let main = put(sub.path(), "main.py", "print('smoke', 6 * 7)\n");
    let main = main.to_str().unwrap();
    ok_in_each_mode(
        Path::new("/"),
        &PY_MODES,
        &["--exec", PYTHON, main],
        "smoke 42\n",
    );
}

#[test]
fn named_paths_are_read_only_and_the_rest_of_tmp_stays_private() {
    need_root!();
    // A world-writable directory the command line names: visible, not writable.
    let named = dir_in_tmp(0o777);
    put(named.path(), "in.txt", "data\n");
    // A directory it does not name: not visible at all.
    let hidden = dir_in_tmp(0o755);
    let canary = put(hidden.path(), "canary", "secret\n");
    let sub = dir_in_tmp(0o755);
    let leftover = format!("/tmp/safeexec-grading-leftover-{}", std::process::id());
    let script = put(
        sub.path(),
        "probe.py",
        &format!(
            r#"import os, sys
named = sys.argv[1]
print(open(os.path.join(named, "in.txt")).read().strip())
try:
    open(os.path.join(named, "new"), "w").write("x")
    print("named writable")
except OSError as e:
    print("named", e.errno == 30 and "EROFS" or e)
print("canary", os.path.exists({canary:?}))
open({leftover:?}, "w").write("x")
open("out.txt", "w").write("mine")
print("done")
"#,
            canary = canary.display().to_string(),
            leftover = leftover,
        ),
    );
    let scratch = common::work_dir();
    let o = run_in(
        scratch.path(),
        &[
            "--exec",
            PYTHON,
            script.to_str().unwrap(),
            named.path().to_str().unwrap(),
        ],
    );
    assert_eq!(status_line(&o), "OK", "{}", err(&o));
    assert_eq!(
        out(&o),
        "data\nnamed EROFS\ncanary False\ndone\n",
        "{}",
        err(&o)
    );
    assert!(!named.path().join("new").exists());
    assert!(
        !Path::new(&leftover).exists(),
        "{leftover} outlived the run"
    );
    // The working directory stays writable.
    assert_eq!(
        fs::read_to_string(scratch.path().join("out.txt")).unwrap(),
        "mine"
    );
    assert_eq!(fs::read_to_string(&canary).unwrap(), "secret\n");
}

#[test]
fn each_entry_of_a_class_path_argument_is_visible() {
    need_root!();
    let a = dir_in_tmp(0o755);
    let b = dir_in_tmp(0o755);
    let c = dir_in_tmp(0o755);
    let sub = dir_in_tmp(0o755);
    let script = put(
        sub.path(),
        "cp.py",
        "import os, sys\nprint([os.path.isdir(p) for p in sys.argv[1:]])\n",
    );
    let list = format!("{}:{}", a.path().display(), b.path().display());
    let scratch = common::work_dir();
    let o = run_in(
        scratch.path(),
        &[
            "--exec",
            PYTHON,
            script.to_str().unwrap(),
            &list,
            a.path().to_str().unwrap(),
            b.path().to_str().unwrap(),
            // Named only as the end of another word: not a path, not kept.
            &format!("-Dx={}", c.path().display()),
            c.path()
                .join("..")
                .join(c.path().file_name().unwrap())
                .to_str()
                .unwrap(),
        ],
    );
    assert_eq!(status_line(&o), "OK", "{}", err(&o));
    // The last argument names c after all (`/tmp/../tmp/c`), so c is kept.
    assert_eq!(out(&o), "[False, True, True, False, True]\n", "{}", err(&o));
}

#[test]
fn show_config_lists_the_named_paths() {
    let sub = dir_in_tmp(0o755);
    let script = put(sub.path(), "main.py", "print(1)\n");
    let data = dir_in_tmp(0o755);
    let scratch = common::work_dir();
    let o = run_in(
        scratch.path(),
        &[
            "--allow-read",
            data.path().to_str().unwrap(),
            "--show-config",
            "--exec",
            PYTHON,
            script.to_str().unwrap(),
            "not-a-path",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let named: Vec<(String, String)> = v["named"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["what"].as_str().unwrap().to_string(),
                n["path"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let canon = |p: &Path| fs::canonicalize(p).unwrap().display().to_string();
    assert!(
        named.contains(&("allow_read".into(), canon(data.path()))),
        "{named:?}"
    );
    assert!(
        named.contains(&("argument".into(), canon(&script))),
        "{named:?}"
    );
    assert!(
        named.contains(&("program".into(), canon(Path::new(PYTHON)))),
        "{named:?}"
    );
    assert_eq!(named.len(), 3, "{named:?}");
}

#[test]
fn allow_read_and_allow_write_widen_the_policy_and_landlock() {
    need_root!();
    let data = dir_in_tmp(0o755);
    put(data.path(), "in.txt", "payload\n");
    let outdir = dir_in_tmp(0o777);
    let sub = dir_in_tmp(0o755);
    let script = put(
        sub.path(),
        "rw.py",
        &format!(
            r#"import errno
try:
    print(open({inp:?}).read().strip())
except OSError as e:
    print("read", errno.errorcode[e.errno])
try:
    open({outp:?}, "w").write("result")
    print("wrote")
except OSError as e:
    print("write", errno.errorcode[e.errno])
"#,
            inp = data.path().join("in.txt").display().to_string(),
            outp = outdir.path().join("res.txt").display().to_string(),
        ),
    );
    let scratch = common::work_dir();
    let s = script.to_str().unwrap();
    // Not named: invisible (the private /tmp).
    let o = run_in(
        scratch.path(),
        &["--policy", "python3", "--exec", PYTHON, s],
    );
    assert!(
        ["read ENOENT\nwrite ENOENT\n", "read EACCES\nwrite EACCES\n"].contains(&out(&o).as_str()),
        "{}{}",
        out(&o),
        err(&o)
    );
    // Named: visible and allowed, Landlock enforcing the rules.
    let o = run_in(
        scratch.path(),
        &[
            "--policy",
            "python3",
            "--report",
            "json",
            "--allow-read",
            data.path().to_str().unwrap(),
            "--allow-write",
            outdir.path().to_str().unwrap(),
            "--exec",
            PYTHON,
            s,
        ],
    );
    assert_eq!(out(&o), "payload\nwrote\n", "{}", err(&o));
    assert_eq!(
        fs::read_to_string(outdir.path().join("res.txt")).unwrap(),
        "result"
    );
    let e = err(&o);
    let j: serde_json::Value = serde_json::from_str(&e[e.find('{').unwrap()..]).unwrap();
    assert_eq!(j["verdict"]["code"], "OK", "{e}");
    assert_eq!(j["paths"]["layers"], "landlock+ptrace", "{e}");
    // --allow-read does not let it write there.
    let _ = fs::remove_file(outdir.path().join("res.txt"));
    let o = run_in(
        scratch.path(),
        &[
            "--policy",
            "python3",
            "--allow-read",
            data.path().to_str().unwrap(),
            "--allow-read",
            outdir.path().to_str().unwrap(),
            "--exec",
            PYTHON,
            s,
        ],
    );
    assert!(
        out(&o).starts_with("payload\nwrite E"),
        "{}{}",
        out(&o),
        err(&o)
    );
    assert!(!outdir.path().join("res.txt").exists());
}

#[test]
fn a_missing_allow_path_is_a_bad_start_with_one_line() {
    let scratch = common::work_dir();
    for opt in ["--allow-read", "--allow-write"] {
        let o = run_in(
            scratch.path(),
            &[opt, "/nonexistent/safeexec-x", "--exec", "/bin/true"],
        );
        let e = err(&o);
        assert_eq!(o.status.code(), Some(5), "{e}");
        assert_eq!(e.lines().count(), 1, "{e}");
        assert!(
            e.starts_with("safeexec: ") && e.contains(opt) && e.contains("/nonexistent/safeexec-x"),
            "{e}"
        );
    }
}

#[test]
fn a_policy_without_args_cannot_read_the_script() {
    need_root!();
    // The same script, under a policy whose read rules do not say $ARGS:
    // the script stays unreadable, so $ARGS is what makes it readable.
    let sub = dir_in_tmp(0o755);
    let script = put(sub.path(), "main.py", "print('hi')\n");
    let pol = dir_in_tmp(0o755);
    let text = Policy::python3_without_args();
    let p = put(pol.path(), "noargs.policy", &text);
    let scratch = common::work_dir();
    let o = run_in(
        scratch.path(),
        &[
            "--policy",
            p.to_str().unwrap(),
            "--exec",
            PYTHON,
            script.to_str().unwrap(),
        ],
    );
    assert!(err(&o).contains("Permission denied"), "{}", err(&o));
    assert_ne!(status_line(&o), "OK");
}

/// The shipped python3 policy's text.
struct Policy;
impl Policy {
    fn python3_without_args() -> String {
        let text = fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/python3.policy"),
        )
        .unwrap();
        assert!(text.contains("$ARGS"), "{text}");
        text.lines()
            .filter(|l| !l.contains("$ARGS"))
            .map(|l| format!("{l}\n"))
            .collect()
    }
}

// ---------------------------------------------------------------------------
// Runtimes: threads with big stacks, in classic (`--jail`) and paranoid
// (`--policy`) mode, with the shipped profiles and policies only.
// ---------------------------------------------------------------------------

const DEEP_PY: &str = r#"import sys, threading
sys.setrecursionlimit(200000)
def depth(n):
    return 0 if n == 0 else 1 + depth(n - 1)
res = []
threading.stack_size(64 * 1024 * 1024)
t = threading.Thread(target=lambda: res.append(depth(100000)))
t.start()
t.join()
print(res[0])
"#;

#[test]
fn a_python_worker_thread_with_a_64_mib_stack_recurses_100000_deep_in_both_modes() {
    need_root!();
    let sub = dir_in_tmp(0o755);
    let script = put(sub.path(), "deep.py", DEEP_PY);
    let scratch = common::work_dir();
    let s = script.to_str().unwrap();
    ok_in_each_mode(
        scratch.path(),
        &[&["--jail", "python3"], &["--policy", "python3"]],
        &["--exec", PYTHON, s],
        "100000\n",
    );
}

#[test]
fn the_python3_policy_still_refuses_processes() {
    need_root!();
    let sub = dir_in_tmp(0o755);
    let script = put(
        sub.path(),
        "fork.py",
        "import os\nprint('before', flush=True)\npid = os.fork()\nprint('forked', pid)\n",
    );
    let scratch = common::work_dir();
    let o = run_in(
        scratch.path(),
        &[
            "--policy",
            "python3",
            "--exec",
            PYTHON,
            script.to_str().unwrap(),
        ],
    );
    // It got as far as the fork, and the fork was the end of it.
    assert_eq!(out(&o), "before\n", "{}", err(&o));
    assert_eq!(
        status_line(&o),
        "Restricted Function (clone)",
        "{}",
        err(&o)
    );
}

/// `Main.class` compiled once into a directory under /tmp (kept for the
/// test process), or None when there is no JDK here.
fn java_class() -> Option<&'static Path> {
    static DIR: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        if !Path::new(JAVAC).exists() {
            return None;
        }
        let d = PathBuf::from(format!(
            "/tmp/safeexec-grading-java-{}-{}",
            common::checkout_tag(),
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        fs::set_permissions(&d, fs::Permissions::from_mode(0o755)).unwrap();
        put(
            &d,
            "Main.java",
            r#"public class Main {
    static int depth(int n) { return n == 0 ? 0 : 1 + depth(n - 1); }
    public static void main(String[] a) throws Exception {
        int[] r = new int[1];
        Thread t = new Thread(null, () -> { r[0] = depth(100000); }, "", 1 << 26);
        t.start();
        t.join();
        System.out.println(r[0]);
    }
}
"#,
        );
        let st = Command::new(JAVAC)
            .arg("Main.java")
            .current_dir(&d)
            .status()
            .unwrap();
        assert!(st.success(), "javac failed");
        fs::set_permissions(d.join("Main.class"), fs::Permissions::from_mode(0o644)).unwrap();
        Some(d)
    })
    .as_deref()
}

#[test]
fn a_java_thread_with_a_64_mib_stack_recurses_100000_deep_in_both_modes() {
    need_root!();
    let Some(cp) = java_class() else {
        eprintln!("skipped: no {JAVAC}");
        return;
    };
    let scratch = common::work_dir();
    let cp = cp.to_str().unwrap();
    ok_in_each_mode(
        scratch.path(),
        &[&["--jail", "java"], &["--policy", "java"]],
        &["--exec", JAVA, "-cp", cp, "Main"],
        "100000\n",
    );
}

#[test]
fn a_jail_profile_brings_its_limits_under_the_request_and_the_policy() {
    let scratch = common::work_dir();
    let limits = |args: &[&str]| -> serde_json::Value {
        let mut a = args.to_vec();
        a.extend(["--show-config", "--exec", "/bin/true"]);
        let o = run_in(scratch.path(), &a);
        assert_eq!(o.status.code(), Some(0), "{}", err(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["limits"].clone()
    };
    let l = limits(&["--jail", "java"]);
    assert_eq!(l["nproc"], 64);
    assert_eq!(l["memory_kib"], 1_048_576);
    // The request's own values win.
    let l = limits(&["--jail", "java", "--nproc", "3", "--mem", "500000"]);
    assert_eq!(l["nproc"], 3);
    assert_eq!(l["memory_kib"], 500_000);
    // A policy's limit lines win over the profile's.
    let l = limits(&["--jail", "java", "--policy", "python3"]);
    assert_eq!(l["memory_kib"], 262_144);
    assert_eq!(l["nproc"], 8);
    assert_eq!(l["cpu"], 2000);
    // No jail: the classic defaults.
    let l = limits(&[]);
    assert_eq!(l["nproc"], 0);
    assert_eq!(l["memory_kib"], 32_768);
}

// ---------------------------------------------------------------------------
// The bounded working directory (--disk): writable whatever the directory's
// permissions, bounded in total, handed back owned by the caller.
// ---------------------------------------------------------------------------

const FILL_PY: &str = r#"n = 0
try:
    for i in range(100):
        with open("f%03d" % i, "wb") as f:
            f.write(b"x" * (1 << 20))
        n += 1
except OSError as e:
    print("stopped", e.errno)
print("wrote", n)
"#;

/// Total size (KiB, rounded up per file) and count of the regular files
/// below `dir`.
fn tree_kib(dir: &Path) -> (u64, u64) {
    let (mut kib, mut n) = (0, 0);
    for e in fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let md = fs::symlink_metadata(e.path()).unwrap();
        if md.is_dir() {
            let (k, c) = tree_kib(&e.path());
            kib += k;
            n += c;
        } else {
            kib += md.len().div_ceil(1024);
            n += 1;
        }
    }
    (kib, n)
}

#[test]
fn a_hundred_files_of_1_mib_past_disk_16384_are_ole_with_nothing_left_beyond_the_bound() {
    need_root!();
    let sub = dir_in_tmp(0o755);
    let script = put(sub.path(), "fill.py", FILL_PY);
    for mode in PY_MODES {
        // Root's 0755 directory: the run's uid could not write here itself.
        let scratch = dir_in_tmp(0o755);
        let mut args: Vec<&str> = mode.to_vec();
        args.extend([
            "--fsize",
            "2048",
            "--disk",
            "16384",
            "--mem",
            "131072",
            "--report",
            "json",
            "--exec",
            PYTHON,
            script.to_str().unwrap(),
        ]);
        let o = run_in(scratch.path(), &args);
        let e = err(&o);
        let j: serde_json::Value = serde_json::from_str(&e[e.find('{').unwrap()..]).unwrap();
        assert_eq!(j["verdict"]["code"], "OLE", "{mode:?}: {e}");
        assert_eq!(j["status"], "Output Limit Exceeded", "{e}");
        assert_eq!(j["limits"]["disk_kib"], 16384, "{e}");
        // It got going: it wrote files until the bound stopped it (ENOSPC).
        assert!(out(&o).starts_with("stopped 28\nwrote 1"), "{}", out(&o));
        let (kib, n) = tree_kib(scratch.path());
        assert!(kib <= 16384, "{mode:?}: {kib} KiB left in the directory");
        assert!((10..100).contains(&n), "{mode:?}: {n} files");
    }
}

#[test]
fn what_the_program_writes_is_handed_back_owned_by_the_caller_without_its_symlinks() {
    use std::os::unix::fs::MetadataExt;
    need_root!();
    // A canary a planted symlink points at.
    let outside = dir_in_tmp(0o755);
    let canary_dir = PathBuf::from(format!(
        "/var/tmp/safeexec-grading-canary-{}",
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&canary_dir);
    fs::create_dir_all(&canary_dir).unwrap();
    let canary = put(&canary_dir, "canary", "untouched\n");
    let script = put(
        outside.path(),
        "w.py",
        &format!(
            r#"import os, sys
open("new.txt", "w").write("hello\n")
os.makedirs("sub/deeper")
open("sub/deeper/f", "w").write("deep\n")
print(open("existing.txt").read().strip())
open("existing.txt", "w").write("changed\n")
if len(sys.argv) == 1:  # the python3 policy has no symlink: classic mode only
    os.symlink({canary:?}, "evil")
os.remove("gone.txt")
print("done")
"#,
            canary = canary.display().to_string()
        ),
    );
    for mode in PY_MODES {
        let scratch = dir_in_tmp(0o755);
        // Others may write it: the program may change it.
        let ex = put(scratch.path(), "existing.txt", "old\n");
        fs::set_permissions(&ex, fs::Permissions::from_mode(0o666)).unwrap();
        put(scratch.path(), "gone.txt", "stays\n");
        let mut args: Vec<&str> = mode.to_vec();
        args.extend([
            "--report",
            "json",
            "--exec",
            PYTHON,
            script.to_str().unwrap(),
        ]);
        let classic_mode = mode.is_empty();
        if !classic_mode {
            args.push("nolink");
        }
        let o = run_in(scratch.path(), &args);
        let e = err(&o);
        assert_eq!(out(&o), "old\ndone\n", "{mode:?}: {e}");
        let j: serde_json::Value = serde_json::from_str(&e[e.find('{').unwrap()..]).unwrap();
        assert_eq!(j["verdict"]["code"], "OK", "{e}");
        let run_uid = j["uid"].as_u64().unwrap() as u32;
        let d = scratch.path();
        assert_eq!(fs::read_to_string(d.join("new.txt")).unwrap(), "hello\n");
        assert_eq!(
            fs::read_to_string(d.join("sub/deeper/f")).unwrap(),
            "deep\n"
        );
        assert_eq!(
            fs::read_to_string(d.join("existing.txt")).unwrap(),
            "changed\n"
        );
        // A file the program removed stays the caller's.
        assert_eq!(fs::read_to_string(d.join("gone.txt")).unwrap(), "stays\n");
        // The symlink it made is not handed back (and was not followed).
        assert!(fs::symlink_metadata(d.join("evil")).is_err(), "{mode:?}");
        if classic_mode {
            assert!(e.contains("evil (a symlink)"), "{e}");
        }
        for f in [
            "new.txt",
            "sub",
            "sub/deeper",
            "sub/deeper/f",
            "existing.txt",
        ] {
            let md = fs::symlink_metadata(d.join(f)).unwrap();
            assert_eq!(md.uid(), 0, "{f} is not the caller's (root's)");
            assert_ne!(md.uid(), run_uid);
        }
    }
    assert_eq!(fs::read_to_string(&canary).unwrap(), "untouched\n");
    let _ = fs::remove_dir_all(&canary_dir);
}

#[test]
fn the_layer_lets_the_run_write_but_not_list_what_others_may_not_list() {
    need_root!();
    let sub = dir_in_tmp(0o755);
    let script = put(
        sub.path(),
        "l.py",
        "import os\ntry:\n    print(os.listdir('.'))\nexcept OSError as e:\n    print('list', e.errno)\nprint(open('hidden-name').read().strip())\nopen('new', 'w').write('x')\nprint('wrote')\n",
    );
    // Others may enter but not list it.
    let scratch = dir_in_tmp(0o711);
    put(scratch.path(), "hidden-name", "known by name\n");
    let o = run_in(
        scratch.path(),
        &["--exec", PYTHON, script.to_str().unwrap()],
    );
    assert_eq!(out(&o), "list 13\nknown by name\nwrote\n", "{}", err(&o));
    assert_eq!(status_line(&o), "OK", "{}", err(&o));
    assert_eq!(fs::read_to_string(scratch.path().join("new")).unwrap(), "x");
    // Others may not even enter it: neither may the run, as without the layer.
    let closed = dir_in_tmp(0o700);
    let o = run_in(closed.path(), &["--exec", PYTHON, script.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(5), "{}", err(&o));
    assert!(err(&o).contains("chdir"), "{}", err(&o));
    assert!(!closed.path().join("new").exists());
}

#[test]
fn disk_0_writes_straight_into_the_directory_as_before() {
    need_root!();
    let sub = dir_in_tmp(0o755);
    let script = put(sub.path(), "w.py", "open('x.txt', 'w').write('1')\n");
    let scratch = dir_in_tmp(0o755);
    let o = run_in(
        scratch.path(),
        &["--disk", "0", "--exec", PYTHON, script.to_str().unwrap()],
    );
    // Root's 0755 directory: the run's uid may not write there.
    assert!(err(&o).contains("Permission denied"), "{}", err(&o));
    assert!(!scratch.path().join("x.txt").exists());
}

// ---------------------------------------------------------------------------
// A setuid safeexec called by an ordinary user (uid/gid 65534): named paths
// are the caller's, bounded by allowed_dirs.
// ---------------------------------------------------------------------------

mod setuid {
    use super::*;
    use std::os::unix::fs::MetadataExt;
    use std::sync::OnceLock;

    const CALLER: u32 = 65534;

    /// The built binary, copied, owned by root and setuid (mode 4755).
    fn installed() -> &'static Path {
        static BIN: OnceLock<PathBuf> = OnceLock::new();
        BIN.get_or_init(|| common::setuid_install("grading"))
    }

    use common::ConfGuard;

    /// Runs the setuid binary as the caller from `cwd`.
    fn as_caller(cwd: &Path, args: &[&str]) -> Output {
        Command::new("setpriv")
            .args([
                format!("--reuid={CALLER}"),
                format!("--regid={CALLER}"),
                "--clear-groups".into(),
            ])
            .arg(installed())
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn refused(o: &Output, code: i32, want: &[&str]) {
        let e = err(o);
        assert_eq!(o.status.code(), Some(code), "{e}");
        assert_eq!(e.lines().count(), 1, "not one line: {e}");
        assert!(e.starts_with("safeexec: "), "{e}");
        for w in want {
            assert!(e.contains(w), "{w:?} missing: {e}");
        }
    }

    /// A directory under /tmp owned by the caller.
    fn callers_dir() -> tempfile::TempDir {
        let d = dir_in_tmp(0o755);
        std::os::unix::fs::chown(d.path(), Some(CALLER), Some(CALLER)).unwrap();
        d
    }

    #[test]
    fn allow_write_outside_allowed_dirs_is_refused_naming_the_bound() {
        need_root!();
        let mine = callers_dir();
        let scratch = common::work_dir();
        let m = mine.path().to_str().unwrap();
        let _c = ConfGuard::with(Some("allowed_dirs = /srv/safeexec-grading-none\n"));
        for opt in ["--allow-write", "--allow-read"] {
            let o = as_caller(scratch.path(), &[opt, m, "--exec", "/bin/true"]);
            refused(
                &o,
                9,
                &[opt, m, "allowed_dirs", "/srv/safeexec-grading-none"],
            );
        }
        drop(_c);
        // Under allowed_dirs: it runs.
        let conf = format!("allowed_dirs = {m}\n");
        let _c = ConfGuard::with(Some(&conf));
        let o = as_caller(scratch.path(), &["--allow-write", m, "--exec", "/bin/true"]);
        assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    }

    #[test]
    fn a_path_the_caller_cannot_read_is_a_bad_start_and_never_shown() {
        need_root!();
        // Root's directory, closed to others, with a readable file inside.
        let closed = dir_in_tmp(0o700);
        let secret = put(closed.path(), "f", "SECRET-grading-7d1\n");
        let scratch = common::work_dir();
        let conf = format!("allowed_dirs = {}\n", closed.path().display());
        let _c = ConfGuard::with(Some(&conf));
        let s = secret.to_str().unwrap();
        let o = as_caller(scratch.path(), &["--allow-read", s, "--exec", "/bin/true"]);
        refused(&o, 5, &["--allow-read", s, "no such file or not permitted"]);
        // Named as an argument: an ordinary word, not kept visible, so the
        // run (which has its own uid) sees no such file either.
        let o = as_caller(scratch.path(), &["--exec", "/bin/cat", s]);
        assert!(!out(&o).contains("SECRET"), "{}", out(&o));
        assert_ne!(status_line(&o), "OK", "{}", err(&o));
        // The caller's own script under /tmp is kept and runs.
        let mine = callers_dir();
        let script = put(mine.path(), "main.py", "print('mine')\n");
        let o = as_caller(
            scratch.path(),
            &[
                "--policy",
                "python3",
                "--exec",
                PYTHON,
                script.to_str().unwrap(),
            ],
        );
        assert_eq!(out(&o), "mine\n", "{}", err(&o));
    }

    #[test]
    fn files_handed_back_belong_to_the_caller() {
        need_root!();
        let mine = callers_dir();
        let sub = dir_in_tmp(0o755);
        let script = put(
            sub.path(),
            "w.py",
            "import os\nopen('a.txt', 'w').write('a')\nos.mkdir('d')\nopen('d/b', 'w').write('b')\n",
        );
        let _c = ConfGuard::with(None);
        let o = as_caller(mine.path(), &["--exec", PYTHON, script.to_str().unwrap()]);
        assert_eq!(status_line(&o), "OK", "{}", err(&o));
        for f in ["a.txt", "d", "d/b"] {
            let md = fs::symlink_metadata(mine.path().join(f)).unwrap();
            assert_eq!((md.uid(), md.gid()), (CALLER, CALLER), "{f}");
        }
        assert_eq!(fs::read_to_string(mine.path().join("d/b")).unwrap(), "b");
    }
}
