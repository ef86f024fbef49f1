//! safeexec installed setuid root and called by an ordinary user (uid and
//! gid 65534 through `setpriv`): whatever the caller names is used with the
//! caller's rights, the administrator's bounds hold, and killing safeexec
//! kills the whole run. These tests need root (to install the binary); they
//! say so and pass when run without it.

mod common;

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::{alive, need_root, procs_of_uid, Opts, Run};

const CALLER: u32 = 65534;
const CONF: &str = common::ADMIN_CONF;

/// A temporary directory under /tmp that the caller can traverse.
fn tmpdir() -> tempfile::TempDir {
    common::public_dir()
}

/// The built binary, copied, owned by root and setuid (mode 4755).
fn installed() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| common::setuid_install("setuid"))
}

/// setpriv's arguments that make the caller (uid/gid 65534, no groups).
fn caller() -> Vec<String> {
    vec![
        "setpriv".into(),
        format!("--reuid={CALLER}"),
        format!("--regid={CALLER}"),
        "--clear-groups".into(),
    ]
}

/// The setuid binary started by the caller, for a test that signals it
/// (setpriv execs it: same pid), with SAFEEXEC_CONF pointing at an unsafe
/// file to show it is ignored.
fn as_caller(args: &[&str]) -> Command {
    let w = caller();
    let mut c = Command::new(&w[0]);
    c.args(&w[1..])
        .arg(installed())
        .args(args)
        .current_dir("/tmp")
        .env("SAFEEXEC_CONF", "/nonexistent/unsafe.conf")
        .env("RUST_LOG", "trace")
        .stdin(Stdio::null());
    c
}

/// The setuid binary run by the caller through the shared runner, with
/// `env` on top of SAFEEXEC_CONF=/nonexistent/unsafe.conf and RUST_LOG=trace.
fn run_as_caller_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut e = vec![
        ("SAFEEXEC_CONF", "/nonexistent/unsafe.conf"),
        ("RUST_LOG", "trace"),
    ];
    e.extend_from_slice(env);
    common::run_with(
        args,
        Opts {
            wrapper: caller(),
            binary: Some(installed().to_path_buf()),
            cwd: Some(PathBuf::from("/tmp")),
            env: e,
            ..Opts::default()
        },
    )
}

fn run_as_caller(args: &[&str]) -> Run {
    run_as_caller_env(args, &[])
}

/// The installed binary run by root, with `env`.
fn run_as_root(args: &[&str], env: &[(&str, &str)]) -> Run {
    common::run_with(
        args,
        Opts {
            binary: Some(installed().to_path_buf()),
            env: env.to_vec(),
            ..Opts::default()
        },
    )
}

fn stderr(o: &Run) -> String {
    o.stderr_str()
}

/// Fails with the exit status given and one line of error starting with
/// `safeexec: ` and containing `want`.
fn refused(o: &Run, code: i32, want: &str) {
    let e = stderr(o);
    assert_eq!(o.status, Some(code), "stderr: {e}");
    assert_eq!(e.lines().count(), 1, "not one line: {e}");
    assert!(e.starts_with("safeexec: ") && e.contains(want), "{e}");
}

use common::ConfGuard;

#[test]
fn runs_for_an_ordinary_caller() {
    need_root!();
    let _c = ConfGuard::with(None);
    let o = run_as_caller(&["--exec", "/bin/echo", "hi"]);
    assert_eq!(o.status, Some(0), "{}", stderr(&o));
    assert_eq!(o.stdout_str(), "hi\n");
    // RUST_LOG from the caller is ignored: no debug lines without -v.
    assert!(!stderr(&o).contains("DEBUG"), "{}", stderr(&o));
}

#[test]
fn usage_cannot_create_a_file_in_etc() {
    need_root!();
    let _c = ConfGuard::with(None);
    let target = "/etc/safeexec-setuid-test-new";
    let _ = fs::remove_file(target);
    let o = run_as_caller(&["--usage", target, "--exec", "/bin/true"]);
    refused(&o, 6, "no such file or not permitted");
    assert!(!Path::new(target).exists(), "{target} was created");
}

#[test]
fn usage_does_not_follow_a_planted_symlink() {
    need_root!();
    let _c = ConfGuard::with(None);
    let d = tmpdir();
    let victim = d.path().join("root-owned");
    fs::write(&victim, "precious\n").unwrap();
    let mine = d.path().join("mine");
    fs::create_dir(&mine).unwrap();
    std::os::unix::fs::chown(&mine, Some(CALLER), Some(CALLER)).unwrap();
    let link = mine.join("report");
    symlink(&victim, &link).unwrap();
    std::os::unix::fs::lchown(&link, Some(CALLER), Some(CALLER)).unwrap();
    let o = run_as_caller(&["--usage", link.to_str().unwrap(), "--exec", "/bin/true"]);
    refused(&o, 6, "no such file or not permitted");
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious\n");
    assert_eq!(fs::metadata(&victim).unwrap().uid(), 0);
}

#[test]
fn error_file_cannot_go_into_root_home() {
    need_root!();
    let _c = ConfGuard::with(None);
    let target = "/root/safeexec-setuid-test-err";
    let _ = fs::remove_file(target);
    let o = run_as_caller(&["--error", target, "--exec", "/bin/true"]);
    refused(&o, 6, "no such file or not permitted");
    assert!(!Path::new(target).exists());
}

#[test]
fn chroot_to_slash_is_refused() {
    need_root!();
    let _c = ConfGuard::with(None);
    let o = run_as_caller(&["--chroot_dir", "/", "--exec", "/bin/true"]);
    refused(&o, 9, "allowed_dirs");
    // Even when the administrator allows some directories.
    drop(_c);
    let _c = ConfGuard::with(Some("allowed_dirs = /srv/jails\n"));
    let o = run_as_caller(&["--chroot_dir", "/", "--exec", "/bin/true"]);
    refused(&o, 9, "allowed_dirs");
}

/// A caller's --uidplus does not choose the run's uid: it comes from
/// uid_min..uid_max; --gid is refused for a caller.
#[test]
fn a_callers_uidplus_does_not_choose_the_run_uid() {
    need_root!();
    let _c = ConfGuard::with(Some("uid_min = 3000000200\nuid_max = 3000000207\n"));
    let o = run_as_caller(&["--uidplus", "1000000", "--exec", "/usr/bin/id", "-u"]);
    assert_eq!(o.status, Some(0), "{}", stderr(&o));
    let uid: u32 = String::from_utf8_lossy(&o.stdout).trim().parse().unwrap();
    assert!((3_000_000_200..=3_000_000_207).contains(&uid), "{uid}");
    let o = run_as_caller(&["--gid", "3000000201", "--exec", "/bin/true"]);
    refused(&o, 9, "--gid: the run's gid is chosen by safeexec");
}

/// Item 5 of issue 18: the run's uid is never another account's or another
/// run's. The administrator's range holds four uids: one is a live
/// process's (real, effective and saved uid, with a private file), one
/// another process's effective uid only. Two concurrent callers' runs get
/// the other two, distinct; a third finds none free (exit 5). A run that
/// reads the private file and calls kill(-1, SIGKILL) reads nothing and
/// kills nothing but itself: both processes survive.
#[test]
fn the_run_uid_is_never_another_accounts_or_another_runs() {
    need_root!();
    const V0: u32 = 3_000_000_100;
    let _c = ConfGuard::with(Some("uid_min = 3000000100\nuid_max = 3000000103\n"));
    let d = tmpdir();
    let secret = d.path().join("secret");
    fs::write(&secret, "VICTIM-SECRET\n").unwrap();
    std::os::unix::fs::chown(&secret, Some(V0), Some(V0)).unwrap();
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o600)).unwrap();
    let public = d.path().join("public");
    fs::write(&public, "PUBLIC\n").unwrap();
    let spawn_victim = |args: &[String]| {
        Command::new("setpriv")
            .args(args)
            .args(["sleep", "60"])
            .stdin(Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut v0 = spawn_victim(&[
        format!("--reuid={V0}"),
        format!("--regid={V0}"),
        "--clear-groups".into(),
    ]);
    let mut v1 = spawn_victim(&[format!("--euid={}", V0 + 1)]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !(alive(v0.id() as i32) && procs_of_uid(V0).contains(&(v0.id() as i32))) {
        assert!(Instant::now() < deadline, "the victim did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    let script = format!(
        "id -u; cat {} {} 2>&1; sleep 3",
        public.display(),
        secret.display()
    );
    let long = |script: &str| {
        let mut c = as_caller(&[
            "--uidplus",
            &(V0 - 100).to_string(),
            "--nproc",
            "4",
            "--clock",
            "20",
            "--exec",
            "/bin/sh",
            "-c",
            script,
        ]);
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        std::io::BufRead::read_line(&mut out, &mut line).unwrap();
        let uid: u32 = line.trim().parse().unwrap_or_else(|_| panic!("{line:?}"));
        (child, out, uid)
    };
    let (mut r1, mut out1, uid1) = long(&script);
    let (mut r2, mut out2, uid2) = long(&script);
    assert_ne!(uid1, uid2, "two concurrent runs share a uid");
    for u in [uid1, uid2] {
        assert!(u == V0 + 2 || u == V0 + 3, "run uid {u} is taken");
    }
    // All four taken: a third run is refused, nothing started.
    let o = run_as_caller(&["--exec", "/bin/true"]);
    refused(&o, 5, "no free uid for the run");
    for (r, out) in [(&mut r1, &mut out1), (&mut r2, &mut out2)] {
        let mut rest = String::new();
        std::io::Read::read_to_string(out, &mut rest).unwrap();
        let st = r.wait().unwrap();
        assert_eq!(st.code(), Some(0), "{rest}");
        assert!(
            rest.contains("PUBLIC"),
            "the run did not get to the file: {rest}"
        );
        assert!(
            !rest.contains("VICTIM-SECRET"),
            "the private file was read: {rest}"
        );
    }
    // A run that kills every process its uid may signal.
    let o = run_as_caller(&[
        "--nproc",
        "4",
        "--exec",
        "/bin/sh",
        "-c",
        &format!("cat {}; kill -9 -1", secret.display()),
    ]);
    assert!(!String::from_utf8_lossy(&o.stdout).contains("VICTIM-SECRET"));
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        alive(v0.id() as i32) && alive(v1.id() as i32),
        "another account's process was killed"
    );
    let _ = v0.kill();
    let _ = v1.kill();
    let _ = v0.wait();
    let _ = v1.wait();
}

#[test]
fn the_account_check_refuses_existing_accounts() {
    assert_eq!(safeexec::accounts::check_uid(0), Err("root".to_string()));
    assert!(safeexec::accounts::check_gid(0).is_err());
    assert!(safeexec::accounts::check_uid(3_999_999_999).is_ok());
}

#[test]
fn limits_above_the_configured_maximum_are_refused() {
    need_root!();
    let _c = ConfGuard::with(Some("max_cpu = 5\nmax_memory = 64M\nmax_nproc = 2\n"));
    let o = run_as_caller(&["--cpu", "6", "--exec", "/bin/true"]);
    refused(&o, 9, "--cpu 6 s is above max_cpu 5 s");
    let o = run_as_caller(&["--mem", "100000", "--exec", "/bin/true"]);
    refused(&o, 9, "above max_memory 65536 KiB");
    let o = run_as_caller(&["--nproc", "3", "--exec", "/bin/true"]);
    refused(&o, 9, "above max_nproc 2");
    let o = run_as_caller(&["--cpu", "5", "--nproc", "2", "--exec", "/bin/true"]);
    assert_eq!(o.status, Some(0), "{}", stderr(&o));
    // Root is not bounded.
    let o = run_as_root(&["--cpu", "6", "--exec", "/bin/true"], &[]);
    assert_eq!(o.status, Some(0), "{}", stderr(&o));
}

#[test]
fn policy_the_caller_cannot_read_reads_like_a_missing_one() {
    need_root!();
    let _c = ConfGuard::with(None);
    let d = tmpdir();
    let secret = d.path().join("secret.policy");
    fs::write(&secret, "include base\n").unwrap();
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o600)).unwrap();
    let missing = d.path().join("missing.policy");
    let a = run_as_caller(&["--policy", secret.to_str().unwrap(), "--exec", "/bin/true"]);
    let b = run_as_caller(&["--policy", missing.to_str().unwrap(), "--exec", "/bin/true"]);
    refused(&a, 4, "no such file or not permitted");
    refused(&b, 4, "no such file or not permitted");
    assert_eq!(
        stderr(&a).replace("secret", "X"),
        stderr(&b).replace("missing", "X")
    );
    // The same for `policy check`, which prints parse errors.
    let c = run_as_caller(&["policy", "check", secret.to_str().unwrap()]);
    assert_eq!(c.status, Some(4));
    assert!(
        stderr(&c).contains("no such file or not permitted"),
        "{}",
        stderr(&c)
    );
}

/// `--policy /dev/zero` (or /dev/urandom, or a FIFO of the caller's, or an
/// include bomb) through the setuid install: refused within a second, one
/// line, the policy exit status, under 64 MiB of memory (it used to read
/// /dev/zero until the host's OOM killer came); `audit` of them: exit 9.
#[test]
fn policy_or_trace_from_a_device_or_fifo_fails_at_once_for_a_caller() {
    need_root!();
    let _c = ConfGuard::with(None);
    let d = tmpdir();
    let fifo = d.path().join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    std::os::unix::fs::chown(&fifo, Some(CALLER), Some(CALLER)).unwrap();
    let fifo = fifo.to_str().unwrap();
    let bomb = d.path().join("bomb");
    fs::create_dir(&bomb).unwrap();
    for i in 0..10 {
        fs::write(
            bomb.join(format!("f{i}.policy")),
            format!("include ./f{}.policy\n", i + 1).repeat(8),
        )
        .unwrap();
    }
    fs::write(bomb.join("f10.policy"), "include default\n").unwrap();
    let bomb = bomb.join("f0.policy");
    let measured = |args: &[&str]| common::run_measured(as_caller(args), Duration::from_secs(5));
    let check = |m: &common::Measured, code: i32, want: &str| {
        assert_eq!(m.code, Some(code), "{m:?}");
        assert!(m.elapsed < Duration::from_secs(1), "{m:?}");
        assert!(m.max_rss_kib < 64 * 1024, "{m:?}");
        assert_eq!(m.stderr.lines().count(), 1, "{m:?}");
        assert!(
            m.stderr.starts_with("safeexec: ") && m.stderr.contains(want),
            "{m:?}"
        );
    };
    for (p, want) in [
        ("/dev/zero", "not a regular file (a character device)"),
        ("/dev/urandom", "not a regular file (a character device)"),
        (fifo, "not a regular file (a FIFO)"),
        (
            bomb.to_str().unwrap(),
            "more than 64 files parsed for one policy",
        ),
    ] {
        let m = measured(&["--policy", p, "--exec", "/bin/true"]);
        check(&m, 4, want);
    }
    for p in ["/dev/zero", fifo] {
        let m = measured(&["audit", p]);
        check(&m, 10, "is not a trace: not a regular file");
    }
}

#[test]
fn program_the_caller_cannot_execute_is_refused() {
    need_root!();
    let _c = ConfGuard::with(None);
    let d = tmpdir();
    let prog = d.path().join("rootonly");
    fs::copy("/bin/true", &prog).unwrap();
    fs::set_permissions(&prog, fs::Permissions::from_mode(0o700)).unwrap();
    let o = run_as_caller(&["--exec", prog.to_str().unwrap()]);
    refused(&o, 5, "cannot open program");
    let o2 = run_as_caller(&["--exec", d.path().join("nothere").to_str().unwrap()]);
    refused(&o2, 5, "no such file or not permitted");
}

#[test]
fn group_writable_config_is_refused_and_ignored_for_callers() {
    need_root!();
    let d = tmpdir();
    let conf = d.path().join("bad.conf");
    fs::write(&conf, "max_cpu = 5\n").unwrap();
    fs::set_permissions(&conf, fs::Permissions::from_mode(0o664)).unwrap();
    let _c = ConfGuard::with(None);
    // Root may name another file, which is then checked.
    let conf_s = conf.to_str().unwrap();
    let o = run_as_root(&["--exec", "/bin/true"], &[("SAFEEXEC_CONF", conf_s)]);
    refused(&o, 8, "writable by group or others");
    // A caller's SAFEEXEC_CONF is not honoured.
    let o = run_as_caller_env(&["--exec", "/bin/true"], &[("SAFEEXEC_CONF", conf_s)]);
    assert_eq!(o.status, Some(0), "{}", stderr(&o));
    // And the real file, group-writable, stops every run.
    drop(_c);
    let _c = ConfGuard::with(Some("max_cpu = 5\n"));
    fs::set_permissions(CONF, fs::Permissions::from_mode(0o664)).unwrap();
    let o = run_as_caller(&["--exec", "/bin/true"]);
    refused(&o, 8, "writable by group or others");
}

/// A run whose program and its child write their pids and sleep; the caller
/// sends `sig` to safeexec; within 1 s no process of the run is left.
fn killing_safeexec_ends_the_run(sig: &str) {
    let _c = ConfGuard::with(None);
    let d = tmpdir();
    fs::set_permissions(d.path(), fs::Permissions::from_mode(0o1777)).unwrap();
    let pids = d.path().join("pids");
    let script = format!("sleep 30 & echo $$ $! > {}; wait", pids.display());
    // --disk 0: the pids file must show while the run goes on (the working
    // directory, /tmp, would otherwise be handed back only at the end).
    let mut child = as_caller(&[
        "--disk", "0", "--nproc", "4", "--clock", "30", "--cpu", "5", "--exec", "/bin/sh", "-c",
        &script,
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let start = Instant::now();
    let text = loop {
        if let Ok(t) = fs::read_to_string(&pids) {
            if t.ends_with('\n') {
                break t;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the victim did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(text.split_whitespace().count(), 2, "{text}");
    // In a PID namespace those pids are not the host's: find the run's
    // processes by its uid, uidplus (10000 by default) + safeexec's pid.
    let uid = 10_000 + child.id();
    let victims = procs_of_uid(uid);
    assert!(
        victims.len() >= 2,
        "run processes of uid {uid}: {victims:?}"
    );
    assert!(victims.iter().all(|p| alive(*p)));
    // The caller kills safeexec (setpriv exec'd it: same pid).
    let k = Command::new("setpriv")
        .args([
            format!("--reuid={CALLER}"),
            format!("--regid={CALLER}"),
            "--clear-groups".into(),
        ])
        .args(["kill", sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(k.success(), "the caller could not signal safeexec");
    let killed = Instant::now();
    while victims.iter().any(|p| alive(*p)) {
        assert!(
            killed.elapsed() < Duration::from_secs(1),
            "still running 1 s after {sig}: {victims:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.wait();
}

#[test]
fn sigterm_to_safeexec_kills_the_whole_run() {
    need_root!();
    killing_safeexec_ends_the_run("-TERM");
}

#[test]
fn sigkill_to_safeexec_kills_the_whole_run() {
    need_root!();
    killing_safeexec_ends_the_run("-KILL");
}

/// A static program that exits 0, built with the C compiler (None without one).
fn static_true(dest: &Path) -> Option<()> {
    build_nolibc(
        dest,
        "void _start(void){ __asm__ volatile(\"mov $60, %eax\\n xor %edi, %edi\\n syscall\"); }\n",
    )
}

/// Compiles `source` (C without libc) into the static program `dest`; None
/// when the compiler is missing or fails.
fn build_nolibc(dest: &Path, source: &str) -> Option<()> {
    let src = dest.with_extension("c");
    fs::write(&src, source).ok()?;
    let ok = Command::new("cc")
        .args(["-static", "-nostdlib", "-O1", "-fno-stack-protector", "-o"])
        .arg(dest)
        .arg(&src)
        .status()
        .ok()?
        .success();
    ok.then_some(())
}

#[test]
fn chroot_under_allowed_dirs_runs_and_symlinks_out_are_refused() {
    need_root!();
    let d = tmpdir();
    let jail = d.path().join("jails/j");
    fs::create_dir_all(jail.join("work")).unwrap();
    for p in [d.path().join("jails"), jail.clone(), jail.join("work")] {
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    }
    if static_true(&jail.join("prog")).is_none() {
        eprintln!("skipped: no C compiler for a static test program");
        return;
    }
    let conf = format!("allowed_dirs = {}\n", d.path().join("jails").display());
    let _c = ConfGuard::with(Some(&conf));
    let j = jail.to_str().unwrap();
    let o = run_as_caller(&["--chroot_dir", j, "--exec_dir", "/work", "--exec", "/prog"]);
    assert_eq!(o.status, Some(0), "{}", stderr(&o));
    // Relative to the working directory inside the jail.
    let o = run_as_caller(&[
        "--chroot_dir",
        j,
        "--exec_dir",
        "/work",
        "--exec",
        "../prog",
    ]);
    assert_eq!(o.status, Some(0), "{}", stderr(&o));
    // The program path resolves inside the jail: /bin/true is not there.
    let o = run_as_caller(&["--chroot_dir", j, "--exec", "/bin/true"]);
    refused(
        &o,
        5,
        "cannot open program /bin/true: no such file or not permitted",
    );
    // A symlink the caller made, pointing out of allowed_dirs.
    let mine = d.path().join("mine");
    fs::create_dir(&mine).unwrap();
    symlink("/", mine.join("out")).unwrap();
    let o = run_as_caller(&[
        "--chroot_dir",
        mine.join("out").to_str().unwrap(),
        "--exec",
        "/bin/true",
    ]);
    refused(&o, 9, "allowed_dirs");
    // A working directory outside any chroot must be allowed too.
    let o = run_as_caller(&["--exec_dir", "/tmp", "--exec", "/bin/true"]);
    refused(&o, 9, "allowed_dirs");
}

/// A setup failure (here: no such program, as root, so the check happens in
/// the child) ends promptly: the guard is let go before everything is reaped.
#[test]
fn a_setup_failure_does_not_wait_for_the_guard() {
    need_root!();
    let _c = ConfGuard::with(None);
    let mut child = Command::new(env!("CARGO_BIN_EXE_safeexec"))
        .args(["--exec", "/nonexistent/program"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            assert_eq!(st.code(), Some(5));
            break;
        }
        if start.elapsed() > Duration::from_secs(5) {
            let _ = child.kill();
            panic!("safeexec hangs after a setup failure");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The caller sends `sig` to safeexec (setpriv exec'd it: same pid).
fn caller_signals(sig: &str, pid: u32) {
    let k = Command::new("setpriv")
        .args([
            format!("--reuid={CALLER}"),
            format!("--regid={CALLER}"),
            "--clear-groups".into(),
        ])
        .args(["kill", sig, &pid.to_string()])
        .status()
        .unwrap();
    assert!(k.success(), "the caller could not signal safeexec");
}

/// Every /proc entry of `uid`, zombies included.
fn entries_of_uid(uid: u32) -> Vec<i32> {
    fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let pid = e.file_name().to_string_lossy().parse::<i32>().ok()?;
            (e.metadata().ok()?.uid() == uid).then_some(pid)
        })
        .collect()
}

/// Waits for safeexec to end (30 s at most) and returns its stderr.
fn finish(mut child: std::process::Child) -> (Option<i32>, String) {
    let start = Instant::now();
    let st = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("safeexec did not end after SIGCONT");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (st.code(), err)
}

/// The caller stops safeexec (SIGSTOP, which no process can block): the
/// guard, which the caller cannot signal, still ends the run at --clock
/// (plus its grace), and after SIGCONT the report says TLE and nothing of
/// the run is left.
#[test]
fn sigstop_to_safeexec_does_not_stop_the_wall_clock() {
    need_root!();
    let _c = ConfGuard::with(None);
    let d = tmpdir();
    fs::set_permissions(d.path(), fs::Permissions::from_mode(0o1777)).unwrap();
    let pids = d.path().join("pids");
    let script = format!("sleep 30 & echo $$ $! > {}; wait", pids.display());
    // --disk 0: the pids file must show while the run goes on.
    let child = as_caller(&[
        "--disk", "0", "--nproc", "4", "--clock", "2", "--cpu", "5", "--exec", "/bin/sh", "-c",
        &script,
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let start = Instant::now();
    while !fs::read_to_string(&pids).is_ok_and(|t| t.ends_with('\n')) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the victim did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    stopped_safeexec_still_ends_at_the_clock(child, start, 2);
}

/// The same with the paranoid supervisor (a tracer) stopped.
#[test]
fn sigstop_to_paranoid_safeexec_does_not_stop_the_wall_clock() {
    need_root!();
    let _c = ConfGuard::with(None);
    let spin = common::victim("spin");
    let child = as_caller(&[
        "--paranoid",
        "--nproc",
        "0",
        "--clock",
        "2",
        "--cpu",
        "10",
        "--exec",
        spin.to_str().unwrap(),
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let start = Instant::now();
    let uid = 10_000 + child.id();
    // Started: a process of the run's uid that runs the spinner.
    while !procs_of_uid(uid)
        .iter()
        .any(|p| fs::read_link(format!("/proc/{p}/exe")).is_ok_and(|e| e == spin))
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the victim did not start"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    stopped_safeexec_still_ends_at_the_clock(child, start, 1);
}

/// Whether `pid` still runs code: alive, and not a tracee stopped on its
/// way out (a SIGKILLed tracee stops at its exit event until its tracer,
/// here the stopped safeexec, lets it go; it then uses no CPU).
fn runs(pid: i32) -> bool {
    let cpu_and_state = || {
        let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let f: Vec<String> = s[s.rfind(')')? + 2..]
            .split_whitespace()
            .map(String::from)
            .collect();
        let cpu = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
        Some((f.first()?.clone(), cpu))
    };
    let Some((state, cpu)) = cpu_and_state() else {
        return false;
    };
    match state.as_str() {
        "Z" | "X" => false,
        "t" | "T" => {
            std::thread::sleep(Duration::from_millis(300));
            cpu_and_state().is_some_and(|(_, later)| later != cpu)
        }
        _ => true,
    }
}

/// Stops safeexec (its run, of at least `min` processes, is running and
/// started at `start` with --clock 2), checks that the run is gone within
/// the clock plus a little, resumes safeexec and checks its TLE report and
/// that nothing of the run's uid is left.
fn stopped_safeexec_still_ends_at_the_clock(
    child: std::process::Child,
    start: Instant,
    min: usize,
) {
    let uid = 10_000 + child.id();
    let victims = procs_of_uid(uid);
    assert!(
        victims.len() >= min,
        "run processes of uid {uid}: {victims:?}"
    );
    caller_signals("-STOP", child.id());
    let stopped = Instant::now();
    // Still running a moment after the stop: the program does not end by
    // itself, and safeexec is really stopped.
    std::thread::sleep(Duration::from_millis(200));
    let state = fs::read_to_string(format!("/proc/{}/stat", child.id())).unwrap();
    let state = state[state.rfind(')').unwrap() + 2..].chars().next();
    assert_eq!(state, Some('T'), "safeexec is not stopped");
    if start.elapsed() < Duration::from_millis(1500) {
        assert!(victims.iter().all(|p| alive(*p)), "{victims:?} ended early");
    }
    // Gone within the clock (2 s from the start) plus a little.
    while victims.iter().any(|p| runs(*p)) {
        assert!(
            start.elapsed() < Duration::from_millis(3500),
            "still running {:?} after --clock 2 with safeexec stopped: {victims:?}",
            start.elapsed()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(stopped.elapsed() >= Duration::from_millis(200));
    caller_signals("-CONT", child.id());
    let (code, err) = finish(child);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("Time Limit Exceeded"), "{err}");
    assert_eq!(entries_of_uid(uid), Vec::<i32>::new(), "left behind");
}

/// The run's memory cgroup as the tests see it: (max usage, OOM kills),
/// from cgroup v1 or v2 files under safeexec's own cgroup.
fn run_cgroup_memory(safeexec_pid: u32) -> Option<(u64, u64)> {
    let text = fs::read_to_string("/proc/self/cgroup").ok()?;
    let read = |p: PathBuf| fs::read_to_string(p).ok();
    let field = |text: &str, key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.trim().parse::<u64>().ok())
    };
    for line in text.lines() {
        let mut f = line.splitn(3, ':');
        let (_, ctls, path) = (f.next()?, f.next()?, f.next()?);
        let run = format!(
            "{}/safeexec/run-{safeexec_pid}",
            path.trim_start_matches('/')
        );
        if ctls.split(',').any(|c| c == "memory") {
            let d = Path::new("/sys/fs/cgroup/memory").join(&run);
            let max = read(d.join("memory.max_usage_in_bytes"))?
                .trim()
                .parse()
                .ok()?;
            let oom = field(&read(d.join("memory.oom_control"))?, "oom_kill ")?;
            return Some((max, oom));
        }
        if ctls.is_empty() && Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
            let d = Path::new("/sys/fs/cgroup").join(&run);
            if d.exists() {
                let max = read(d.join("memory.peak"))?.trim().parse().ok()?;
                let oom = field(&read(d.join("memory.events"))?, "oom_kill ")?;
                return Some((max, oom));
            }
        }
    }
    None
}

/// The caller stops safeexec before its program allocates 512 MiB under
/// --mem 65536: the kernel's limit on the run's cgroup (every caller's run
/// has one) ends it, however long safeexec stays stopped.
#[test]
fn sigstop_to_safeexec_does_not_lift_the_memory_limit() {
    need_root!();
    let _c = ConfGuard::with(None);
    let hog = common::victim("hog");
    // A single process (--nproc 0): before, such a run had no cgroup.
    let child = as_caller(&[
        "--nproc",
        "0",
        "--mem",
        "65536",
        "--clock",
        "20",
        "--cpu",
        "5",
        "--exec",
        hog.to_str().unwrap(),
        "512",
        "1000",
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let uid = 10_000 + child.id();
    let start = Instant::now();
    while procs_of_uid(uid).is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the run did not start"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    caller_signals("-STOP", child.id());
    assert!(
        start.elapsed() < Duration::from_millis(900),
        "too slow to stop safeexec before the program allocates (loaded machine?)"
    );
    // With safeexec stopped, the kernel ends the hog: an OOM kill in the
    // run's cgroup, whose peak stays near --mem.
    let mut seen = None;
    while start.elapsed() < Duration::from_secs(10) {
        match run_cgroup_memory(child.id()) {
            Some((max, oom)) if oom > 0 => {
                seen = Some(max);
                break;
            }
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    let max = seen.expect("no OOM kill in the run's cgroup while safeexec was stopped");
    assert!(
        max <= 80 << 20,
        "the run's cgroup peaked at {} MiB under --mem 64 MiB",
        max >> 20
    );
    caller_signals("-CONT", child.id());
    let pid = child.id();
    let (code, err) = finish(child);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("Memory Limit Exceeded"), "{err}");
    assert_eq!(entries_of_uid(uid), Vec::<i32>::new(), "left behind");
    assert_eq!(run_cgroup_memory(pid), None, "the run's cgroup is left");
}

/// What a caller makes safeexec set up is bounded by the administrator:
/// `--tmpfs` mounts (each RAM up to --mem), binds, program arguments.
#[test]
fn tmpfs_binds_and_arguments_are_capped_for_callers() {
    need_root!();
    let _c = ConfGuard::with(Some("max_tmpfs = 2\nmax_args = 3\n"));
    let o = run_as_caller(&[
        "--jail",
        "c",
        "--tmpfs",
        "/a",
        "--tmpfs",
        "/b",
        "--tmpfs",
        "/c",
        "--exec",
        "/bin/true",
    ]);
    refused(&o, 9, "3 --tmpfs mounts are more than max_tmpfs 2");
    let o = run_as_caller(&["--exec", "/bin/echo", "1", "2", "3", "4"]);
    refused(&o, 9, "4 program arguments are more than max_args 3");
    // Within the bounds it runs.
    let o = run_as_caller(&["--exec", "/bin/echo", "1", "2", "3"]);
    assert_eq!(o.status, Some(0), "{}", stderr(&o));
    drop(_c);
    // The defaults (no file): 4 --tmpfs, 32 binds.
    let _c = ConfGuard::with(None);
    let mut a = vec!["--jail", "c"];
    for t in ["/a", "/b", "/c", "/d", "/e"] {
        a.extend(["--tmpfs", t]);
    }
    a.extend(["--exec", "/bin/true"]);
    let o = run_as_caller(&a);
    refused(&o, 9, "more than max_tmpfs 4");
    let mut a: Vec<String> = vec!["--jail".into(), "c".into()];
    for i in 0..33 {
        a.extend(["--ro-bind".into(), format!("/usr:/b{i}")]);
    }
    a.extend(["--exec".into(), "/bin/true".into()]);
    let o = run_as_caller(&a.iter().map(String::as_str).collect::<Vec<_>>());
    refused(&o, 9, "33 --bind and --ro-bind are more than max_binds 32");
}

/// The bounds the binary once checked on its own (require_policy,
/// allow_full_trace, allow_net_host) now come from the library's
/// resolution: refused with exit 9, and `--show-config` says they apply.
#[test]
fn policy_trace_and_host_network_bounds_refuse_with_their_own_status() {
    need_root!();
    let _c = ConfGuard::with(Some("require_policy = default\n"));
    let o = run_as_caller(&["--exec", "/bin/true"]);
    refused(&o, 9, "requires one of these policies: default");
    let o = run_as_caller(&["--policy", "python3", "--exec", "/bin/true"]);
    refused(&o, 9, "requires one of these policies: default");
    let o = run_as_caller(&[
        "--paranoid",
        "--trace",
        "/tmp/x.trace",
        "--exec",
        "/bin/true",
    ]);
    refused(&o, 9, "allow_full_trace");
    let o = run_as_caller(&["--paranoid", "--net", "host", "--exec", "/bin/true"]);
    refused(&o, 9, "allow_net_host");
    let o = run_as_caller(&["--paranoid", "--show-config", "--exec", "/bin/true"]);
    assert_eq!(o.status, Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["bounds"]["apply"], true, "{v}");
    assert_eq!(v["bounds"]["source"], CONF, "{v}");
    assert_eq!(v["policy"]["name"], "default", "{v}");
}

/// A directory tree for the path races: `allowed/mine` (the caller's,
/// under allowed_dirs) holding `own/canary` ("MINE"), and `secret/canary`
/// ("CANARY-SECRET", 0644) in `secret/inner` (0755) under the 0700 root
/// directory `secret` the caller cannot enter.
struct RaceDirs {
    d: tempfile::TempDir,
}

impl RaceDirs {
    fn new() -> RaceDirs {
        let d = tmpdir();
        let mine = d.path().join("allowed/mine");
        fs::create_dir_all(mine.join("own")).unwrap();
        fs::set_permissions(d.path().join("allowed"), fs::Permissions::from_mode(0o755)).unwrap();
        fs::write(mine.join("own/canary"), "MINE\n").unwrap();
        for p in [mine.clone(), mine.join("own"), mine.join("own/canary")] {
            std::os::unix::fs::chown(&p, Some(CALLER), Some(CALLER)).unwrap();
        }
        // secret/ is 0700: the caller cannot reach secret/inner/, which
        // is 0755 and would be readable if bound into a run on its own.
        let secret = d.path().join("secret");
        fs::create_dir_all(secret.join("inner")).unwrap();
        fs::write(secret.join("inner/canary"), "CANARY-SECRET\n").unwrap();
        fs::set_permissions(
            secret.join("inner/canary"),
            fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        fs::set_permissions(secret.join("inner"), fs::Permissions::from_mode(0o755)).unwrap();
        fs::set_permissions(&secret, fs::Permissions::from_mode(0o700)).unwrap();
        RaceDirs { d }
    }
    fn allowed(&self) -> PathBuf {
        self.d.path().join("allowed")
    }
    fn mine(&self) -> PathBuf {
        self.d.path().join("allowed/mine")
    }
    /// The 0755 directory inside the 0700 one, holding the canary.
    fn secret(&self) -> PathBuf {
        self.d.path().join("secret/inner")
    }
}

/// Runs `attempt` again and again for `secs` seconds while `flip` (called
/// with true, false, true, ... from another thread) swaps a path the
/// caller named; every output must lack the canary, and at least `min_ok`
/// attempts must have read the caller's own file (the attack got going).
fn race(
    secs: u64,
    min_ok: usize,
    flip: impl Fn(bool) + Send + 'static,
    attempt: impl Fn() -> Run,
) -> (usize, usize) {
    race_for("CANARY-SECRET", "MINE", secs, min_ok, flip, attempt)
}

/// [`race`] with the forbidden and the expected output named.
fn race_for(
    forbidden: &str,
    expected: &str,
    secs: u64,
    min_ok: usize,
    flip: impl Fn(bool) + Send + 'static,
    attempt: impl Fn() -> Run,
) -> (usize, usize) {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let s2 = stop.clone();
    let flipper = std::thread::spawn(move || {
        let mut on = false;
        let mut n = 0u64;
        while !s2.load(std::sync::atomic::Ordering::Relaxed) && n < 50_000_000 {
            flip(on);
            // The caller's own state is held longer than the other, so
            // that under load some attempts still get going; the switch to
            // the other state and back is a tight window, as an attacker's.
            if !on {
                std::thread::sleep(Duration::from_micros(100));
            }
            on = !on;
            n += 1;
        }
    });
    let start = Instant::now();
    let (mut tries, mut ok) = (0, 0);
    while start.elapsed() < Duration::from_secs(secs) {
        let o = attempt();
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            !out.contains(forbidden) && !stderr(&o).contains(forbidden),
            "attempt {tries}: the canary reached the run: {out}"
        );
        tries += 1;
        if out.contains(expected) {
            ok += 1;
        } else if std::env::var_os("RACE_DEBUG").is_some() {
            eprintln!("attempt {tries}: {}", stderr(&o).trim());
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    flipper.join().unwrap();
    assert!(ok >= min_ok, "only {ok} of {tries} attempts got going");
    eprintln!("{tries} attempts, {ok} read the caller's own file, the canary never");
    (tries, ok)
}

/// An atomic symlink swap: `link` points at `a` or `b`.
fn flip_link(link: PathBuf, a: PathBuf, b: PathBuf) -> impl Fn(bool) + Send + 'static {
    move |on| {
        let tmp = link.with_extension("tmp");
        let _ = fs::remove_file(&tmp);
        let _ = symlink(if on { &b } else { &a }, &tmp);
        let _ = fs::rename(&tmp, &link);
    }
}

/// Item 1 of issue 18: `--ro-bind LINK:/data` with LINK flipped between
/// the caller's directory and a root-only one: the source is opened once
/// as the caller and mounted from that descriptor, never resolved again.
#[test]
fn bind_source_flipped_to_a_root_only_directory_never_reaches_the_run() {
    need_root!();
    let r = RaceDirs::new();
    let _c = ConfGuard::with(Some(&format!("allowed_dirs = {}\n", r.allowed().display())));
    let link = r.mine().join("link");
    symlink(r.mine().join("own"), &link).unwrap();
    let flip = flip_link(link.clone(), r.mine().join("own"), r.secret());
    let bind = format!("{}:/data", link.display());
    race(5, 3, flip, || {
        run_as_caller(&[
            "--jail",
            "c",
            "--ro-bind",
            &bind,
            "--exec",
            "/bin/cat",
            "/data/canary",
        ])
    });
}

/// Item 2: `--exec_dir LINK` in a jail (bound writable) with LINK flipped.
#[test]
fn exec_dir_flipped_to_a_root_only_directory_never_reaches_the_run() {
    need_root!();
    let r = RaceDirs::new();
    let _c = ConfGuard::with(Some(&format!("allowed_dirs = {}\n", r.allowed().display())));
    let link = r.mine().join("wlink");
    symlink(r.mine().join("own"), &link).unwrap();
    let flip = flip_link(link.clone(), r.mine().join("own"), r.secret());
    let l = link.to_str().unwrap().to_string();
    race(5, 3, flip, || {
        run_as_caller(&[
            "--jail",
            "c",
            "--exec_dir",
            &l,
            "--exec",
            "/bin/cat",
            "canary",
        ])
    });
}

/// Item 3: a plain run from the caller's working directory under /tmp;
/// the directory is renamed away and replaced by a symlink to the root-only
/// directory and back, over and over. The private /tmp gets the working
/// directory back from the descriptor of safeexec's own working directory,
/// never by its name.
#[test]
fn working_directory_swapped_for_a_symlink_never_reaches_the_run() {
    need_root!();
    let _c = ConfGuard::with(None);
    let r = RaceDirs::new();
    let w = r.mine().join("own");
    let moved = r.mine().join("own.moved");
    let secret = r.secret();
    let (w2, m2) = (w.clone(), moved.clone());
    let flip = move |on: bool| {
        if on {
            if fs::rename(&w2, &m2).is_ok() {
                let _ = symlink(&secret, &w2);
            }
        } else if fs::symlink_metadata(&w2).is_ok_and(|m| m.file_type().is_symlink()) {
            let _ = fs::remove_file(&w2);
            let _ = fs::rename(&m2, &w2);
        }
        // Each state held a little: the caller's `cd` needs the directory.
        std::thread::sleep(Duration::from_micros(500));
    };
    let canary = w.join("canary");
    let bin = installed().to_str().unwrap().to_string();
    race(5, 3, flip, || {
        // cd as the caller (into the symlink it fails: 0700 root), then the
        // setuid binary with that working directory.
        Command::new("setpriv")
            .args([
                format!("--reuid={CALLER}"),
                format!("--regid={CALLER}"),
                "--clear-groups".into(),
                "/bin/sh".into(),
                "-c".into(),
                "cd \"$1\" 2>/dev/null && exec \"$2\" --exec /bin/cat \"$3\"".into(),
                "sh".into(),
            ])
            .arg(&w)
            .arg(&bin)
            .arg(&canary)
            .current_dir("/")
            .stdin(Stdio::null())
            .output()
            .map(|o| Run {
                status: o.status.code(),
                stdout: o.stdout,
                stderr: o.stderr,
                pid: 0,
                elapsed: Duration::ZERO,
                report: serde_json::Value::Null,
            })
            .unwrap()
    });
    // Put things back for the TempDir's removal.
    if fs::symlink_metadata(&w).is_ok_and(|m| m.file_type().is_symlink()) {
        let _ = fs::remove_file(&w);
        let _ = fs::rename(&moved, &w);
    }
}

/// Item 4: a symlink planted in a caller's directory that is bound into
/// the jail, then `--tmpfs` or a bind below it: the destination is opened
/// one component at a time from the jail's root without following
/// symlinks, so the run fails with an error naming the path and nothing is
/// created on the host at the symlink's target.
#[test]
fn mount_destination_through_a_planted_symlink_creates_nothing_on_the_host() {
    need_root!();
    let r = RaceDirs::new();
    let _c = ConfGuard::with(Some(&format!("allowed_dirs = {}\n", r.allowed().display())));
    let victim = r.d.path().join("victim");
    fs::create_dir(&victim).unwrap();
    let own = r.mine().join("own");
    // Relative (up out of the jail's scaffolding to the old root) and absolute.
    let rel = format!("../../../../../../../../oldroot{}", victim.display());
    symlink(&rel, own.join("rel")).unwrap();
    symlink(format!("/oldroot{}", victim.display()), own.join("abs")).unwrap();
    symlink(&victim, own.join("host")).unwrap();
    let src = format!("{}:/data", own.display());
    for link in ["rel", "abs", "host"] {
        for (opt, val) in [
            ("--tmpfs", format!("/data/{link}/made")),
            ("--ro-bind", format!("{}:/data/{link}/made", own.display())),
        ] {
            let o = run_as_caller(&[
                "--jail",
                "c",
                "--ro-bind",
                &src,
                opt,
                &val,
                "--exec",
                "/bin/true",
            ]);
            refused(&o, 5, &format!("/data/{link}/made"));
            assert!(stderr(&o).contains("ELOOP"), "{}", stderr(&o));
            assert!(
                fs::read_dir(&victim).unwrap().next().is_none(),
                "{opt} {val}: created on the host: {:?}",
                fs::read_dir(&victim).unwrap().collect::<Vec<_>>()
            );
        }
    }
    // Without the symlink the same mounts work.
    let o = run_as_caller(&[
        "--jail",
        "c",
        "--ro-bind",
        &src,
        "--tmpfs",
        "/data2/made",
        "--exec",
        "/bin/true",
    ]);
    assert_eq!(o.status, Some(0), "{}", stderr(&o));
}

/// A static program that prints `msg` and exits 0 (None without a C compiler).
fn static_echo(dest: &Path, msg: &str) -> Option<()> {
    build_nolibc(
        dest,
        &format!(
            "static long sc(long n, long a, long b, long c) {{ long r; __asm__ volatile(\"syscall\" : \"=a\"(r) : \"a\"(n), \"D\"(a), \"S\"(b), \"d\"(c) : \"rcx\", \"r11\", \"memory\"); return r; }}\n\
             void _start(void) {{ static const char m[] = \"{msg}\\n\"; sc(1, 1, (long)m, sizeof m - 1); sc(60, 0, 0, 0); for (;;) ; }}\n"
        ),
    )
}

/// Item 2, the chroot: `--chroot_dir LINK` flipped between a jail under
/// allowed_dirs and one outside (both readable by the caller): the
/// directory checked against allowed_dirs is the one opened (its canonical
/// path read from the descriptor), so a run never starts in the outside
/// one.
#[test]
fn chroot_flipped_outside_allowed_dirs_never_runs_there() {
    need_root!();
    let r = RaceDirs::new();
    let inside = r.mine().join("own");
    let outside = r.d.path().join("outside");
    fs::create_dir(&outside).unwrap();
    fs::set_permissions(&outside, fs::Permissions::from_mode(0o755)).unwrap();
    if static_echo(&inside.join("prog"), "MINE").is_none()
        || static_echo(&outside.join("prog"), "OUTSIDE-JAIL").is_none()
    {
        eprintln!("skipped: no C compiler for a static test program");
        return;
    }
    let _c = ConfGuard::with(Some(&format!("allowed_dirs = {}\n", r.allowed().display())));
    let link = r.mine().join("jlink");
    symlink(&inside, &link).unwrap();
    let flip = flip_link(link.clone(), inside.clone(), outside.clone());
    let l = link.to_str().unwrap().to_string();
    race_for("OUTSIDE-JAIL", "MINE", 5, 1, flip, || {
        run_as_caller(&["--chroot_dir", &l, "--exec", "/prog"])
    });
}
