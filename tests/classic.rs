//! Classic mode, driven from outside: the built `safeexec` binary runs the
//! victim programs of tests/victims and each test checks the verdict, the
//! report and the exit status, and where it can, the effect on the system.
//!
//! These tests need root (CI runs as root).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use common::*;

fn v(name: &str) -> String {
    victim(name).display().to_string()
}

fn code(j: &serde_json::Value) -> &str {
    j["verdict"]["code"].as_str().unwrap_or("<none>")
}

// ---------------------------------------------------------------------------
// Verdicts
// ---------------------------------------------------------------------------

// ---------------------------------------------------------------------------
// Verdicts: one row per case (victim, limits, report, exit status, verdict,
// and what else must hold, judged from outside where it can be)
// ---------------------------------------------------------------------------

fn verdict(name: &str, c: Case) {
    need_root!();
    check_case(name, c);
}

fn hello_and_memory(r: &Run, _: &Path) {
    assert_eq!(r.stdout_str(), "hello\n");
    let c = classic(r);
    assert!(c.memory_kib > 0, "{c:?}");
}
fn cpu_tle_at_half_a_second(r: &Run, _: &Path) {
    let j = json(r);
    assert_eq!(j["verdict"]["kind"], "cpu", "{j}");
    assert_eq!(j["status"], "Time Limit Exceeded");
    let cpu = j["cpu_ms"].as_f64().unwrap();
    assert!((500.0..=2000.0).contains(&cpu), "cpu_ms {cpu}");
    assert_eq!(j["limits"]["cpu"], 500);
}
fn cpu_at_least_the_limit(r: &Run, _: &Path) {
    let c = classic(r);
    assert!(c.cpu_s >= 0.2, "{c:?}");
}
fn wall_tle_after_1s(r: &Run, _: &Path) {
    let j = json(r);
    assert_eq!(j["verdict"]["kind"], "wall", "{j}");
    let wall = j["wall_ms"].as_u64().unwrap();
    assert!(wall >= 1000, "wall_ms {wall}");
    assert!(r.elapsed < Duration::from_secs(10), "took {:?}", r.elapsed);
}
fn cpu_kind_within_10s(r: &Run, _: &Path) {
    let j = json(r);
    assert_eq!(j["verdict"]["kind"], "cpu", "{j}");
    assert!(r.elapsed < Duration::from_secs(10), "took {:?}", r.elapsed);
}
fn peak_above_64mib(r: &Run, _: &Path) {
    let j = json(r);
    assert_eq!(j["status"], "Memory Limit Exceeded");
    // The reported peak is what the verdict was judged by: above the limit.
    assert!(j["memory_kib"].as_u64().unwrap() > 65_536, "{j}");
}
fn peak_at_least_10mib(r: &Run, _: &Path) {
    let m = json(r)["memory_kib"].as_u64().unwrap();
    assert!(m >= 10240, "memory_kib {m}");
}
fn big_out_at_most_64k(r: &Run, d: &Path) {
    assert_eq!(json(r)["status"], "Output Limit Exceeded");
    let len = std::fs::metadata(d.join("big.out")).unwrap().len();
    assert!(len <= 64 * 1024, "big.out grew to {len} bytes");
}
fn big_out_32k(_: &Run, d: &Path) {
    assert_eq!(
        std::fs::metadata(d.join("big.out")).unwrap().len(),
        32 * 1024
    );
}
fn exit_code_3(r: &Run, _: &Path) {
    let j = json(r);
    assert_eq!(j["verdict"]["exit_code"], 3);
    assert_eq!(j["exit_code"], 3);
}
fn sigsegv(r: &Run, _: &Path) {
    let j = json(r);
    assert_eq!(j["verdict"]["signal"], 11);
    assert_eq!(j["verdict"]["name"], "SIGSEGV");
    assert_eq!(j["signal"], 11);
}
fn files_and_report_carry_the_run_uid(r: &Run, d: &Path) {
    // The program's files are owned by the run's uid (uidplus + safeexec's
    // pid) and the run's gid (the same number by default), with --disk 0.
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(d.join("big.out")).unwrap();
    assert_eq!(m.uid(), r.run_uid());
    assert_eq!(m.gid(), r.run_uid());
    // The JSON report names the same uid and gid.
    let j = json(r);
    assert_eq!(j["uid"].as_u64(), Some(r.run_uid() as u64), "{j}");
    assert_eq!(j["gid"].as_u64(), Some(r.run_uid() as u64), "{j}");
}

const TLE_CPU: Case = Case {
    opts: &["--cpu", "0.5"],
    victim: "spin",
    status: Some(1),
    verdict: "TLE",
    check: cpu_tle_at_half_a_second,
    ..CASE
};
const RE_3: Case = Case {
    victim: "exitcode",
    args: &["3"],
    report: Report::Classic,
    status: Some(1),
    verdict: "Command exited with non-zero status (3)",
    ..CASE
};
const SEGV: Case = Case {
    victim: "segv",
    report: Report::Classic,
    status: Some(1),
    verdict: "Command terminated by signal (11: SIGSEGV)",
    ..CASE
};

table_tests! { verdict;
    ok_prints_hello_and_exits_0 => Case {
        report: Report::Classic, check: hello_and_memory, ..CASE },
    tle_cpu => TLE_CPU,
    tle_cpu_classic_report => Case {
        opts: &["--cpu", "0.2"], report: Report::Classic,
        verdict: "Time Limit Exceeded", check: cpu_at_least_the_limit, ..TLE_CPU },
    tle_wall_on_sleeper => Case {
        opts: &["--clock", "1"], victim: "sleeper", args: &["30"],
        check: wall_tle_after_1s, ..TLE_CPU },
    tle_even_when_sigxcpu_is_ignored => Case {
        opts: &["--cpu", "0.3"], victim: "sigxcpu", check: cpu_kind_within_10s, ..TLE_CPU },
    mle_on_hog_100 => Case {
        opts: &["--mem", "65536"], victim: "hog", args: &["100"], status: Some(1),
        verdict: "MLE", check: peak_above_64mib, ..CASE },
    ok_on_hog_10_counts_its_memory => Case {
        victim: "hog", args: &["10"], check: peak_at_least_10mib, ..CASE },
    ole_on_bigfile => Case {
        opts: &["--fsize", "64", "--exec_dir", "{dir}"], victim: "bigfile", args: &["1024"],
        status: Some(1), verdict: "OLE", check: big_out_at_most_64k, ..CASE },
    bigfile_under_the_limit_is_ok => Case {
        opts: &["--fsize", "64", "--exec_dir", "{dir}"], victim: "bigfile", args: &["32"],
        report: Report::Classic, check: big_out_32k, ..CASE },
    re_on_exit_code_3 => RE_3,
    re_on_exit_code_3_json => Case {
        report: Report::Json, verdict: "RE", check: exit_code_3, ..RE_3 },
    sig_on_segv => SEGV,
    sig_on_segv_json => Case { report: Report::Json, verdict: "SIG", check: sigsegv, ..SEGV },
    nproc_0_cannot_fork => Case {
        opts: &["--nproc", "0"], victim: "forker", report: Report::Classic, ..CASE },
    nproc_5_can_fork => Case {
        opts: &["--nproc", "5"], victim: "forker", report: Report::Classic, status: Some(1),
        verdict: "Command exited with non-zero status (4)", ..CASE },
    // --disk 0: written straight into the directory, as the run (with the
    // bounded working directory it is handed back owned by the caller:
    // tests/grading.rs).
    program_runs_under_the_unique_uid => Case {
        opts: &["--disk", "0", "--exec_dir", "{dir}"], victim: "bigfile", args: &["1"],
        check: files_and_report_carry_the_run_uid, ..CASE },
}

#[test]
fn stdin_passes_through() {
    need_root!();
    let input: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let r = run_stdin(&["--exec", &v("cat")], &input);
    assert_eq!(r.status, Some(0), "{}", r.stderr_str());
    assert_eq!(classic(&r).status, "OK");
    assert!(
        r.stdout == input,
        "cat returned {} bytes of {}",
        r.stdout.len(),
        input.len()
    );
}

#[test]
fn classic_report_is_exactly_four_lines() {
    need_root!();
    for (args, first) in [
        (vec!["--exec".to_string(), v("ok")], "OK"),
        (
            vec!["--exec".to_string(), v("exitcode"), "7".into()],
            "Command exited with non-zero status (7)",
        ),
        (
            vec!["--cpu".into(), "0.1".into(), "--exec".into(), v("spin")],
            "Time Limit Exceeded",
        ),
    ] {
        let r = run(&args);
        let text = r.stderr_str();
        assert_eq!(text.matches('\n').count(), 4, "{text:?}");
        let c = parse_classic(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.status, first);
    }
}

#[test]
fn classic_parser_rejects_wrong_shapes() {
    let good = "OK\nelapsed time: 0 seconds\nmemory usage: 1400 kbytes\ncpu usage: 0.001 seconds\n";
    assert!(parse_classic(good).is_ok());
    for bad in [
        "OK\nelapsed time: 0 seconds\nmemory usage: 1400 kbytes\ncpu usage: 0.001 seconds",
        "OK\nelapsed time: 0.5 seconds\nmemory usage: 1400 kbytes\ncpu usage: 0.001 seconds\n",
        "OK\nelapsed time: 0 seconds\nmemory usage: 1400 KiB\ncpu usage: 0.001 seconds\n",
        "OK\nelapsed time: 0 seconds\nmemory usage: 1400 kbytes\ncpu usage: 0.01 seconds\n",
        "Fine\nelapsed time: 0 seconds\nmemory usage: 1400 kbytes\ncpu usage: 0.001 seconds\n",
        "OK\nelapsed time: 0 seconds\nmemory usage: 1400 kbytes\ncpu usage: 0.001 seconds\nmore\n",
    ] {
        assert!(parse_classic(bad).is_err(), "accepted {bad:?}");
    }
}

// ---------------------------------------------------------------------------
// Output files
// ---------------------------------------------------------------------------

#[test]
fn error_file_gets_the_programs_stderr() {
    need_root!();
    let dir = public_dir();
    let err = dir.path().join("err.txt");
    let r = run(&["--error", err.to_str().unwrap(), "--exec", &v("stderr")]);
    assert_eq!(r.status, Some(0), "{}", r.stderr_str());
    assert_eq!(std::fs::read_to_string(&err).unwrap(), "to stderr\n");
    // Only the report is left on safeexec's own stderr.
    assert_eq!(classic(&r).status, "OK");
    assert!(!r.stderr_str().contains("to stderr"));
}

#[test]
fn usage_file_gets_the_report_and_stderr_stays_clean() {
    need_root!();
    let dir = public_dir();
    let rep = dir.path().join("r.txt");
    let r = run(&["--usage", rep.to_str().unwrap(), "--exec", &v("ok")]);
    assert_eq!(r.status, Some(0));
    assert_eq!(r.stdout_str(), "hello\n");
    assert_eq!(r.stderr_str(), "", "stderr not clean");
    let c = parse_classic(&std::fs::read_to_string(&rep).unwrap()).unwrap();
    assert_eq!(c.status, "OK");
}

#[test]
fn usage_file_takes_json_too() {
    need_root!();
    let dir = public_dir();
    let rep = dir.path().join("r.json");
    let r = run(&[
        "--report",
        "json",
        "--usage",
        rep.to_str().unwrap(),
        "--exec",
        &v("ok"),
    ]);
    assert_eq!(r.status, Some(0));
    assert_eq!(r.stderr_str(), "");
    let j = parse_json(&std::fs::read_to_string(&rep).unwrap()).unwrap();
    assert_eq!(code(&j), "OK");
    assert_eq!(j["mode"], "classic");
}

#[test]
fn silent_prints_no_report() {
    need_root!();
    let r = run(&["--silent", "--exec", &v("exitcode"), "2"]);
    assert_eq!(r.status, Some(1));
    assert_eq!(r.stderr_str(), "");
}

// ---------------------------------------------------------------------------
// Isolation
// ---------------------------------------------------------------------------

#[test]
fn chroot_runs_the_static_binary_inside() {
    need_root!();
    let dir = public_dir();
    std::fs::copy(victim("ok"), dir.path().join("ok")).unwrap();
    std::fs::set_permissions(
        dir.path().join("ok"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let d = dir.path().display().to_string();
    let r = run(&["--chroot_dir", &d, "--exec", "/ok"]);
    assert_eq!(r.status, Some(0), "{}", r.stderr_str());
    assert_eq!(r.stdout_str(), "hello\n");
    assert_eq!(classic(&r).status, "OK");
}

#[test]
fn chroot_hides_the_outside() {
    need_root!();
    // The victim's own absolute path does not exist inside the chroot.
    let dir = public_dir();
    let d = dir.path().display().to_string();
    let r = run(&["--chroot_dir", &d, "--exec", &v("ok")]);
    assert_eq!(r.status, Some(5), "{r:?}");
    assert!(
        r.stderr_str().starts_with("safeexec:"),
        "{}",
        r.stderr_str()
    );
}

#[test]
fn environment_is_empty_by_default() {
    need_root!();
    let r = run_with(
        &["--exec", &v("envdump")],
        Opts {
            env: vec![("FOO", "bar")],
            ..Opts::default()
        },
    );
    assert_eq!(r.status, Some(0), "{}", r.stderr_str());
    assert_eq!(r.stdout_str(), "", "environment leaked");
}

#[test]
fn env_vars_pass_exactly_what_is_named() {
    need_root!();
    let r = run_with(
        &["--env_vars", "FOO,BAR=baz", "--exec", &v("envdump")],
        Opts {
            env: vec![("FOO", "bar"), ("OTHER", "x")],
            ..Opts::default()
        },
    );
    assert_eq!(r.status, Some(0), "{}", r.stderr_str());
    let mut lines: Vec<String> = r.stdout_str().lines().map(String::from).collect();
    lines.sort();
    assert_eq!(lines, ["BAR=baz", "FOO=bar"]);
}

/// Runs A (pidfile: writes its pid, sleeps 2 s) and B (killer: SIGKILLs the
/// pid in A's file) at once in one 0777 directory, with `extra` options.
fn kill_each_other(extra: &[&str]) -> (Run, Run, String) {
    let dir = work_dir();
    let pidfile = dir.path().join("a.pid").display().to_string();
    let errfile = dir.path().join("b.err");
    let d = dir.path().display().to_string();
    let with = |tail: Vec<String>| -> Vec<String> {
        let mut a: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        a.extend(["--clock", "10", "--exec_dir", &d, "--report", "json"].map(String::from));
        a.extend(tail);
        a
    };
    let a_args = with(vec!["--exec".into(), v("pidfile"), pidfile.clone()]);
    let a = std::thread::spawn(move || run(&a_args));
    let mut b_args = with(vec!["--exec".into(), v("killer"), pidfile]);
    b_args.splice(0..0, ["--error".to_string(), errfile.display().to_string()]);
    let b = run(&b_args);
    let a = a.join().unwrap();
    let err = std::fs::read_to_string(&errfile).unwrap_or_default();
    (a, b, err)
}

fn assert_survived(a: &Run) {
    assert_eq!(a.status, Some(0), "A: {}", a.stderr_str());
    let ja = json(a);
    assert_eq!(code(&ja), "OK", "A: {ja}");
    assert_eq!(ja["exit_code"], 0);
    assert!(
        ja["wall_ms"].as_u64().unwrap() >= 1900,
        "A ended early: {ja}"
    );
}

#[test]
fn concurrent_runs_cannot_kill_each_other() {
    need_root!();
    // Without PID namespaces B sees A's real pid: only the unique uids keep
    // B's kill from reaching A.
    let (a, b, err) = kill_each_other(&["--no-ns"]);
    assert_survived(&a);
    // B found A's pid and its kill failed (exit 0; 3 would be a success).
    let jb = json(&b);
    assert_eq!(b.status, Some(0), "B: {jb}");
    assert_eq!(code(&jb), "OK", "B: {jb}");
    assert!(err.contains("Operation not permitted"), "B's kill: {err:?}");
}

#[test]
fn concurrent_runs_cannot_kill_each_other_with_namespaces() {
    need_root!();
    // With the default PID namespaces A's pid means nothing to B (it may even
    // name B itself): whatever B hits, A survives.
    let (a, b, _) = kill_each_other(&[]);
    assert_survived(&a);
    assert_ne!(json(&b)["verdict"]["code"], "IE", "B: {}", b.stderr_str());
    assert_ne!(b.status, Some(3), "B: {}", b.stderr_str());
}

#[test]
fn double_forked_grandchild_does_not_survive() {
    need_root!();
    // --no-ns: the grandchild's pid in gc.pid is then a pid of our /proc.
    double_fork(&["--no-ns"], true);
}

#[test]
fn double_forked_grandchild_does_not_survive_with_namespaces() {
    need_root!();
    double_fork(&[], false);
}

fn double_fork(extra: &[&str], host_pids: bool) {
    let dir = work_dir();
    let d = dir.path().display().to_string();
    let mut args: Vec<&str> = extra.to_vec();
    let dv = v("doublefork");
    args.extend([
        "--nproc",
        "5",
        "--exec_dir",
        &d,
        "--report",
        "json",
        "--exec",
        &dv,
    ]);
    let r = run(&args);
    assert_eq!(r.status, Some(0), "{}", r.stderr_str());
    let j = json(&r);
    assert_eq!(code(&j), "OK", "{j}");
    assert!(
        r.elapsed < Duration::from_secs(10),
        "safeexec waited for the grandchild: {:?}",
        r.elapsed
    );
    let text = std::fs::read_to_string(dir.path().join("gc.pid")).expect("grandchild wrote gc.pid");
    let gc: u32 = text.trim().parse().unwrap();
    let proc_dir = format!("/proc/{gc}");
    let uid = r.run_uid();
    let gone = !host_pids
        || eventually(Duration::from_secs(1), || {
            // Gone, or the pid already reused by a process that is not the run's.
            match std::fs::metadata(&proc_dir) {
                Err(_) => true,
                Ok(m) => std::os::unix::fs::MetadataExt::uid(&m) != uid,
            }
        });
    assert!(gone, "grandchild {gc} survived the run");
    assert!(
        eventually(Duration::from_secs(1), || procs_of_uid_or_zombies(uid)
            .is_empty()),
        "processes of uid {uid} remain: {:?}",
        procs_of_uid_or_zombies(uid)
    );
}

#[test]
fn explicit_gid_is_used() {
    need_root!();
    let dir = work_dir();
    let d = dir.path().display().to_string();
    // A gid no group has (skipped in the unlikely case one does).
    let gid = 3_999_999u32;
    if safeexec::accounts::name_with_id(Path::new("/etc/group"), gid).is_some() {
        return;
    }
    // --disk 0: the file is written straight into the directory, as the run.
    let r = run(&[
        "--disk",
        "0",
        "--gid",
        &gid.to_string(),
        "--exec_dir",
        &d,
        "--exec",
        &v("bigfile"),
        "1",
    ]);
    assert_eq!(r.status, Some(0), "{}", r.stderr_str());
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        std::fs::metadata(dir.path().join("big.out")).unwrap().gid(),
        gid
    );
}

// ---------------------------------------------------------------------------
// Bad input: one `safeexec:` line, the right exit status, no panic
// ---------------------------------------------------------------------------

fn assert_fails(r: &Run, status: i32, what: &str) {
    let err = r.stderr_str();
    assert_eq!(r.status, Some(status), "{what}: stderr {err:?}");
    assert!(err.starts_with("safeexec:"), "{what}: {err:?}");
    // One line naming the problem; clap's detail (allowed values, the
    // option meant, the missing argument) may follow, indented.
    assert!(
        err.lines().skip(1).all(|l| l.starts_with("  ")),
        "{what}: not one line and its indented detail: {err:?}"
    );
    assert!(err.ends_with('\n'), "{what}: {err:?}");
    for p in ["panicked", "RUST_BACKTRACE"] {
        assert!(!err.contains(p), "{what}: {err:?}");
    }
    assert_eq!(r.stdout_str(), "", "{what}: stdout");
}

/// One bad input: the arguments (`{ok}` is the path of victim ok), the exit
/// status, a text the message must contain, and whether it needs root (it
/// gets as far as starting a run).
struct Bad {
    args: &'static [&'static str],
    status: i32,
    contains: &'static str,
    root: bool,
}

const USAGE: Bad = Bad {
    args: &[],
    status: 2,
    contains: "",
    root: false,
};

fn bad_input(name: &str, b: Bad) {
    if b.root && !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let ok = v("ok");
    let args: Vec<String> = b.args.iter().map(|a| a.replace("{ok}", &ok)).collect();
    let r = run(&args);
    assert_fails(&r, b.status, &format!("{name} {args:?}"));
    assert!(
        r.stderr_str().contains(b.contains),
        "{name}: {:?} does not say {:?}",
        r.stderr_str(),
        b.contains
    );
}

table_tests! { bad_input;
    missing_exec_is_a_usage_error => Bad { args: &["--cpu", "1"], ..USAGE },
    exec_without_a_program_is_a_usage_error => Bad { args: &["--exec"], ..USAGE },
    unknown_option_is_a_usage_error => Bad { args: &["--bogus", "--exec", "/bin/true"], ..USAGE },
    bad_value_cpu_negative => Bad { args: &["--cpu", "-1", "--exec", "/bin/true"], ..USAGE },
    bad_value_cpu_not_a_number => Bad { args: &["--cpu", "abc", "--exec", "/bin/true"], ..USAGE },
    bad_value_cpu_zero => Bad { args: &["--cpu", "0", "--exec", "/bin/true"], ..USAGE },
    bad_value_mem_zero => Bad { args: &["--mem", "0", "--exec", "/bin/true"], ..USAGE },
    bad_value_mem_negative => Bad { args: &["--mem", "-5", "--exec", "/bin/true"], ..USAGE },
    bad_value_clock_nan => Bad { args: &["--clock", "nan", "--exec", "/bin/true"], ..USAGE },
    bad_value_niceness_40 => Bad { args: &["--niceness", "40", "--exec", "/bin/true"], ..USAGE },
    bad_value_nfile_2 => Bad { args: &["--nfile", "2", "--exec", "/bin/true"], ..USAGE },
    bad_value_env_vars_name => Bad { args: &["--env_vars", "A-B", "--exec", "/bin/true"], ..USAGE },
    bad_value_report_xml => Bad { args: &["--report", "xml", "--exec", "/bin/true"], ..USAGE },
    gid_0_is_a_usage_error => Bad { args: &["--gid", "0", "--exec", "/bin/true"], ..USAGE },
    missing_program_cannot_start => Bad {
        args: &["--exec", "/nonexistent/program"], status: 5, contains: "ENOENT", root: true },
    missing_chroot_dir_cannot_start => Bad {
        args: &["--chroot_dir", "/nonexistent", "--exec", "/ok"], status: 5, root: true, ..USAGE },
    missing_exec_dir_cannot_start => Bad {
        args: &["--exec_dir", "/nonexistent", "--exec", "{ok}"], status: 5, root: true, ..USAGE },
    unwritable_usage_file_is_an_output_error => Bad {
        args: &["--usage", "/nonexistent/dir/r.txt", "--exec", "{ok}"], status: 6, root: true,
        ..USAGE },
    unwritable_error_file_is_an_output_error => Bad {
        args: &["--error", "/nonexistent/dir/e.txt", "--exec", "{ok}"], status: 6, root: true,
        ..USAGE },
}

#[test]
fn non_executable_file_cannot_start() {
    need_root!();
    let dir = public_dir();
    let f = dir.path().join("notexec");
    std::fs::write(&f, "#!/bin/sh\necho hi\n").unwrap();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
    let r = run(&["--exec", f.to_str().unwrap()]);
    assert_fails(&r, 5, "non-executable file");
    assert!(r.stderr_str().contains("EACCES"), "{}", r.stderr_str());
}

#[test]
fn exec_dir_unreachable_by_the_run_cannot_start() {
    need_root!();
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let d = dir.path().display().to_string();
    let r = run(&["--exec_dir", &d, "--exec", &v("ok")]);
    assert_fails(&r, 5, "--exec_dir 0700");
    assert!(r.stderr_str().contains("chdir"), "{}", r.stderr_str());
}

#[test]
fn existing_group_gid_is_refused() {
    need_root!();
    let groups = std::fs::read_to_string("/etc/group").unwrap();
    let (name, gid) = groups
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some((f.first()?.to_string(), f.get(2)?.parse::<u32>().ok()?))
        })
        .find(|(_, g)| *g != 0)
        .expect("a group other than root in /etc/group");
    let r = run(&["--gid", &gid.to_string(), "--exec", &v("ok")]);
    assert_fails(&r, 5, &format!("--gid {gid}"));
    assert!(r.stderr_str().contains(&name), "{}", r.stderr_str());
}

#[test]
fn setuid_to_another_user_than_root_is_refused() {
    need_root!();
    // An ordinary user running a plain copy gets rootless mode
    // (tests/rootless.rs); a copy installed setuid to an account other than
    // root has neither root nor the caller's plain rights: refused.
    let dir = public_dir();
    let bin = dir.path().join("safeexec");
    std::fs::copy(SAFEEXEC, &bin).unwrap();
    std::os::unix::fs::chown(&bin, Some(1), Some(1)).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o4755)).unwrap();
    let r = run_with(
        &["--exec", "/bin/true"],
        Opts {
            wrapper: [
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
            ]
            .map(String::from)
            .to_vec(),
            binary: Some(bin),
            ..Opts::default()
        },
    );
    assert_fails(&r, 3, "not root");
    assert!(r.stderr_str().contains("root"), "{}", r.stderr_str());
}

#[test]
fn help_and_version_exit_0() {
    let r = run(&["--help"]);
    assert_eq!(r.status, Some(0));
    assert!(r.stdout_str().contains("--exec"));
    let r = run(&["--version"]);
    assert_eq!(r.status, Some(0));
    assert!(r.stdout_str().starts_with("safeexec "));
}

/// A child-setup failure names the limit it could not set: with the
/// caller's hard RLIMIT_NOFILE lowered to 1000, the child (which sets its
/// limits after dropping root) cannot raise it to --nfile N (2000, or the
/// test's own hard limit when lower). (Not lower than 1000: the mount plan
/// parks directories on descriptors from 899 up.) The program never starts
/// (its canary file is not written), the run is a sandbox failure (exit 5,
/// no report), and the message names the call.
#[test]
fn setup_error_names_the_rlimit_and_its_value() {
    need_root!();
    // This process's hard limit: the control run cannot go above it.
    let hard: u64 = std::fs::read_to_string("/proc/self/limits")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(4))
        .and_then(|w| w.parse().ok())
        .unwrap_or(u64::MAX);
    if hard <= 1000 {
        eprintln!("skipped: the test's hard RLIMIT_NOFILE is {hard}, not above 1000");
        return;
    }
    let nfile = hard.min(2000).to_string();
    let d = work_dir();
    let canary = d.path().join("canary");
    let args = [
        "--nfile",
        &nfile,
        "--exec_dir",
        d.path().to_str().unwrap(),
        "--exec",
        "/bin/sh",
        "-c",
        "echo ran > canary",
    ];
    // Control: with the caller's limits the same run starts and writes it.
    let r = run(&args);
    assert_eq!(r.status, Some(0), "{r:?}");
    assert!(canary.exists(), "control run did not write its canary");
    std::fs::remove_file(&canary).unwrap();

    let r = run_with(
        &args,
        Opts {
            wrapper: ["/usr/bin/prlimit", "--nofile=1000:1000", "--"]
                .map(String::from)
                .to_vec(),
            ..Opts::default()
        },
    );
    assert_eq!(r.status, Some(safeexec::error::EXIT_SETUP), "{r:?}");
    let err = r.stderr_str();
    assert!(
        err.contains(&format!("setrlimit(RLIMIT_NOFILE, {nfile})")) && err.contains("EPERM"),
        "{err}"
    );
    assert!(
        r.stdout.is_empty(),
        "a report was printed: {}",
        r.stdout_str()
    );
    assert!(!canary.exists(), "the program ran");
}

/// A caller whose soft RLIMIT_NOFILE is low (256, hard unchanged) still gets
/// its run: the mount plan parks the working directory (the bounded
/// working directory's lower layer) on descriptor 899, and the child raises
/// its own soft limit for the set-up; the program gets --nfile as always.
#[test]
fn a_low_soft_nofile_of_the_caller_still_runs() {
    need_root!();
    let d = work_dir();
    let r = run_with(
        &[
            "--exec_dir",
            d.path().to_str().unwrap(),
            "--exec",
            "/bin/sh",
            "-c",
            "echo ran > canary; ulimit -n",
        ],
        Opts {
            // Only the soft limit: the hard one stays the test's own.
            wrapper: ["/usr/bin/prlimit", "--nofile=256:", "--"]
                .map(String::from)
                .to_vec(),
            ..Opts::default()
        },
    );
    assert_eq!(r.status, Some(0), "{r:?}");
    assert_eq!(r.stdout_str().trim(), "64", "the program's --nfile: {r:?}");
    assert_eq!(
        std::fs::read_to_string(d.path().join("canary")).unwrap(),
        "ran\n",
        "handed back from the bounded working directory"
    );
}

/// `-v` lines carry the microseconds since safeexec's main began, and each
/// step of a run logs one line, in order: scripts/startup-steps.py turns
/// them into the table of docs/performance.md ("the cost of each step").
#[test]
fn verbose_lines_time_each_step_of_the_run() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let r = run(&["-v", "--exec", "/bin/true"]);
    assert_eq!(r.code_or_signal(), 0, "{r}");
    assert!(r.stderr_str().contains("\nOK\n"), "{r}");
    let steps = [
        "configuration resolved",
        "claimed uid",
        "guard started",
        "planned:",
        "forked the program",
        "the child's set-up is done",
        "the run is over",
        "the report is written",
    ];
    let err = r.stderr_str();
    let mut last = (0u64, 0usize);
    for step in steps {
        let (i, line) = err
            .lines()
            .enumerate()
            .find(|(_, l)| l.split_once("] ").is_some_and(|(_, m)| m.starts_with(step)))
            .unwrap_or_else(|| panic!("no -v line for {step:?}:\n{err}"));
        let us: u64 = line
            .strip_prefix("[+")
            .and_then(|l| l.split_once("us "))
            .and_then(|(n, _)| n.parse().ok())
            .unwrap_or_else(|| panic!("no [+Nus ...] prefix: {line}"));
        assert!(
            i > last.1 || last == (0, 0),
            "{step:?} is not after the step before it"
        );
        assert!(us >= last.0, "{step:?} at {us} us, before {} us", last.0);
        last = (us, i);
    }
}
