//! Shared helpers of the integration tests: victim programs built from
//! tests/victims/*.c, a runner for the built `safeexec` binary with a
//! timeout, report parsers, and world-writable working directories.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The binary under test.
pub const SAFEEXEC: &str = env!("CARGO_BIN_EXE_safeexec");

/// Longest any single run of the binary may take before it is killed.
pub const MAX_RUN: Duration = Duration::from_secs(60);

/// The default --uidplus: the run's uid is this plus safeexec's pid.
pub const DEFAULT_UIDPLUS: u32 = 10_000;

// ---------------------------------------------------------------------------
// Victims
// ---------------------------------------------------------------------------

fn victims_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/victims")
}

/// True when every directory from `/` down to `dir` lets others search it:
/// the run's unprivileged uid must reach the victims to execute them.
fn reachable_by_others(dir: &Path) -> bool {
    dir.ancestors().all(|d| {
        std::fs::metadata(d)
            .map(|m| m.mode() & 0o001 != 0)
            .unwrap_or(true)
    })
}

/// A name unique to this checkout's target directory, so that test runs of
/// two checkouts on one machine never share a fixture under /tmp.
pub fn checkout_tag() -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    env!("CARGO_TARGET_TMPDIR").hash(&mut h);
    format!("{:016x}", h.finish())
}

/// Where built victims live: `$CARGO_TARGET_TMPDIR/victims`, or, when that
/// path is not searchable by other users (a checkout under a 0700 home), a
/// root-owned directory under /tmp named after the target directory.
pub fn victims_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let dir = if reachable_by_others(&tmp) {
            tmp.join("victims")
        } else {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            tmp.hash(&mut h);
            PathBuf::from(format!("/tmp/safeexec-victims-{:016x}", h.finish()))
        };
        match std::fs::create_dir_all(&dir) {
            Ok(()) => {}
            Err(e) => panic!("cannot create {}: {e}", dir.display()),
        }
        let md = std::fs::symlink_metadata(&dir).expect("stat victims dir");
        assert!(
            md.is_dir() && md.uid() == nix_geteuid(),
            "{} is not a directory owned by us",
            dir.display()
        );
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
            .expect("chmod victims dir");
        dir
    })
}

fn nix_geteuid() -> u32 {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(u32::MAX)
}

fn mtime(p: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// Builds tests/victims/NAME.c with `gcc -O2 -static` once (per process,
/// and across processes: the binary is compiled to a unique temporary name
/// and renamed into place atomically) and returns the binary's path.
/// A binary older than its source is rebuilt.
pub fn victim(name: &str) -> PathBuf {
    static CELLS: OnceLock<Mutex<HashMap<String, Arc<OnceLock<PathBuf>>>>> = OnceLock::new();
    let cell = {
        let mut map = CELLS
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        Arc::clone(map.entry(name.to_string()).or_default())
    };
    cell.get_or_init(|| build_victim(name)).clone()
}

fn build_victim(name: &str) -> PathBuf {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let src = victims_src().join(format!("{name}.c"));
    assert!(src.exists(), "no victim source {}", src.display());
    let out = victims_dir().join(name);
    if let (Some(s), Some(b)) = (mtime(&src), mtime(&out)) {
        if b >= s {
            return out;
        }
    }
    let tmp = victims_dir().join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::SeqCst)
    ));
    let res = Command::new("gcc")
        .args(["-O2", "-static", "-pthread", "-Wall", "-o"])
        .arg(&tmp)
        .arg(&src)
        .output();
    let res = match res {
        Ok(r) => r,
        Err(e) => panic!(
            "cannot run gcc ({e}): install gcc and libc6-dev (see .ci/run) to build the victims"
        ),
    };
    assert!(
        res.status.success(),
        "gcc -O2 -static {} failed:\n{}",
        src.display(),
        String::from_utf8_lossy(&res.stderr)
    );
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).expect("chmod victim");
    std::fs::rename(&tmp, &out).expect("rename victim into place");
    out
}

// ---------------------------------------------------------------------------
// Running the binary
// ---------------------------------------------------------------------------

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    /// Exit status; None when killed by a signal.
    pub status: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// The pid safeexec ran as (its run's uid is uidplus + this).
    pub pid: u32,
    pub elapsed: Duration,
}

impl Run {
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
    /// The run's uid with the default --uidplus.
    pub fn run_uid(&self) -> u32 {
        DEFAULT_UIDPLUS + self.pid
    }
}

/// Options of [`run_with`].
pub struct Opts<'a> {
    pub stdin: &'a [u8],
    pub timeout: Duration,
    /// Extra environment for safeexec itself.
    pub env: Vec<(&'a str, &'a str)>,
    /// Run through this wrapper (e.g. setpriv ...) instead of directly.
    pub wrapper: Vec<String>,
    /// Binary to run instead of [`SAFEEXEC`].
    pub binary: Option<PathBuf>,
}

impl Default for Opts<'_> {
    fn default() -> Self {
        Opts {
            stdin: b"",
            timeout: Duration::from_secs(30),
            env: Vec::new(),
            wrapper: Vec::new(),
            binary: None,
        }
    }
}

/// Runs safeexec with `args`, empty stdin and a 30 s timeout.
pub fn run<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Run {
    run_with(args, Opts::default())
}

/// Runs safeexec with `args` and `stdin`.
pub fn run_stdin<S: AsRef<std::ffi::OsStr>>(args: &[S], stdin: &[u8]) -> Run {
    run_with(
        args,
        Opts {
            stdin,
            ..Opts::default()
        },
    )
}

/// Spawns a thread reading `r` to the end; the result arrives on the channel.
fn reader<R: Read + Send + 'static>(mut r: R) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        let _ = tx.send(buf);
    });
    rx
}

/// Runs safeexec (or `o.binary`) with `args`; kills it by pid if it runs past
/// the timeout (capped at [`MAX_RUN`]) and panics then.
pub fn run_with<S: AsRef<std::ffi::OsStr>>(args: &[S], o: Opts<'_>) -> Run {
    let bin = o.binary.clone().unwrap_or_else(|| PathBuf::from(SAFEEXEC));
    let mut cmd = if o.wrapper.is_empty() {
        Command::new(&bin)
    } else {
        let mut c = Command::new(&o.wrapper[0]);
        c.args(&o.wrapper[1..]).arg(&bin);
        c
    };
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in &o.env {
        cmd.env(k, v);
    }
    let start = Instant::now();
    let mut child = cmd.spawn().expect("spawn safeexec");
    let pid = child.id();
    let mut stdin = child.stdin.take().expect("stdin");
    let input = o.stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
        // dropped here: EOF for the program
    });
    let out = reader(child.stdout.take().expect("stdout"));
    let err = reader(child.stderr.take().expect("stderr"));
    let timeout = o.timeout.min(MAX_RUN);
    let status = loop {
        match child.try_wait().expect("wait for safeexec") {
            Some(s) => break s,
            None if start.elapsed() > timeout => {
                // SIGKILL to safeexec's pid; its run dies with it (PDEATHSIG).
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "safeexec {:?} ran longer than {timeout:?}; killed pid {pid}",
                    args.iter()
                        .map(|a| a.as_ref().to_owned())
                        .collect::<Vec<_>>()
                );
            }
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    };
    let elapsed = start.elapsed();
    let _ = writer.join();
    // A leftover process of the run holding the pipes would block the readers:
    // that is a failure of the sandbox, reported as such.
    let grace = Duration::from_secs(5);
    let stdout = out
        .recv_timeout(grace)
        .expect("stdout still open after safeexec exited: a process of the run survived");
    let stderr = err
        .recv_timeout(grace)
        .expect("stderr still open after safeexec exited: a process of the run survived");
    use std::os::unix::process::ExitStatusExt;
    if let Some(sig) = status.signal() {
        eprintln!("safeexec was killed by signal {sig}");
    }
    Run {
        status: status.code(),
        stdout,
        stderr,
        pid,
        elapsed,
    }
}

// ---------------------------------------------------------------------------
// Reports
// ---------------------------------------------------------------------------

/// The classic 4-line report, parsed strictly.
#[derive(Debug, Clone, PartialEq)]
pub struct Classic {
    /// First line, e.g. "OK" or "Command exited with non-zero status (3)".
    pub status: String,
    pub elapsed_s: u64,
    pub memory_kib: u64,
    pub cpu_s: f64,
}

fn digits(s: &str) -> Option<u64> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// True when `line` is one of the documented first lines.
pub fn is_status_line(line: &str) -> bool {
    const FIXED: [&str; 5] = [
        "OK",
        "Time Limit Exceeded",
        "Memory Limit Exceeded",
        "Output Limit Exceeded",
        "Internal Error",
    ];
    if FIXED.contains(&line) {
        return true;
    }
    if let Some(n) = line
        .strip_prefix("Command exited with non-zero status (")
        .and_then(|r| r.strip_suffix(')'))
    {
        return digits(n).is_some();
    }
    if let Some(r) = line
        .strip_prefix("Command terminated by signal (")
        .and_then(|r| r.strip_suffix(')'))
    {
        return match r.split_once(": SIG") {
            Some((n, name)) => {
                digits(n).is_some()
                    && !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            }
            None => false,
        };
    }
    if let Some(r) = line
        .strip_prefix("Restricted Function (")
        .and_then(|r| r.strip_suffix(')'))
    {
        return !r.is_empty();
    }
    false
}

/// Parses the classic report: exactly four lines, each ending in '\n', of the
/// shapes
/// `<status>` / `elapsed time: N seconds` / `memory usage: N kbytes` /
/// `cpu usage: N.NNN seconds`. Err says which line is wrong.
pub fn parse_classic(text: &str) -> Result<Classic, String> {
    if !text.ends_with('\n') {
        return Err(format!("report does not end with a newline: {text:?}"));
    }
    let lines: Vec<&str> = text[..text.len() - 1].split('\n').collect();
    if lines.len() != 4 {
        return Err(format!("report has {} lines, not 4: {text:?}", lines.len()));
    }
    if !is_status_line(lines[0]) {
        return Err(format!("bad status line {:?}", lines[0]));
    }
    let elapsed_s = lines[1]
        .strip_prefix("elapsed time: ")
        .and_then(|r| r.strip_suffix(" seconds"))
        .and_then(digits)
        .ok_or_else(|| format!("bad elapsed line {:?}", lines[1]))?;
    let memory_kib = lines[2]
        .strip_prefix("memory usage: ")
        .and_then(|r| r.strip_suffix(" kbytes"))
        .and_then(digits)
        .ok_or_else(|| format!("bad memory line {:?}", lines[2]))?;
    let cpu_s = lines[3]
        .strip_prefix("cpu usage: ")
        .and_then(|r| r.strip_suffix(" seconds"))
        .filter(|r| match r.split_once('.') {
            Some((i, f)) => digits(i).is_some() && f.len() == 3 && digits(f).is_some(),
            None => false,
        })
        .and_then(|r| r.parse::<f64>().ok())
        .ok_or_else(|| format!("bad cpu line {:?}", lines[3]))?;
    Ok(Classic {
        status: lines[0].to_string(),
        elapsed_s,
        memory_kib,
        cpu_s,
    })
}

/// Parses the classic report from a run's stderr, panicking with the text.
pub fn classic(r: &Run) -> Classic {
    parse_classic(&r.stderr_str()).unwrap_or_else(|e| panic!("{e}\nrun: {r:?}"))
}

/// Parses `--report json` output (the whole text must be one JSON object).
pub fn parse_json(text: &str) -> Result<serde_json::Value, String> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not JSON ({e}): {text:?}"))?;
    if !v.is_object() {
        return Err(format!("not a JSON object: {text:?}"));
    }
    Ok(v)
}

/// Parses the JSON report from a run's stderr, panicking with the text.
pub fn json(r: &Run) -> serde_json::Value {
    parse_json(&r.stderr_str()).unwrap_or_else(|e| panic!("{e}\nrun: {r:?}"))
}

// ---------------------------------------------------------------------------
// Directories
// ---------------------------------------------------------------------------

/// A fresh temporary directory with mode 0777, so the run's unprivileged uid
/// can create files there. Removed when dropped.
pub fn work_dir() -> tempfile::TempDir {
    let d = tempfile::Builder::new()
        .prefix("safeexec-test-")
        .tempdir()
        .expect("create temp dir");
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o777))
        .expect("chmod 0777 temp dir");
    d
}

/// A fresh temporary directory with mode 0755 (readable by everyone,
/// writable by root only).
pub fn public_dir() -> tempfile::TempDir {
    let d = tempfile::Builder::new()
        .prefix("safeexec-test-")
        .tempdir()
        .expect("create temp dir");
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod 0755 temp dir");
    d
}

/// Pids of live processes owned by `uid` (zombies included).
pub fn pids_of_uid(uid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| {
        let e = e.ok()?;
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        (e.metadata().ok()?.uid() == uid).then_some(pid)
    })
    .collect()
}

/// Skips a test that needs root when not running as root (CI runs as root).
pub fn is_root() -> bool {
    nix_geteuid() == 0
}

/// Waits until `cond` holds, up to `limit`; true if it did.
pub fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if cond() {
            return true;
        }
        if start.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// What a process measured by [`run_measured`] did.
#[derive(Debug)]
pub struct Measured {
    pub code: Option<i32>,
    pub stderr: String,
    pub elapsed: Duration,
    /// Its peak resident memory (wait4's ru_maxrss), KiB.
    pub max_rss_kib: u64,
}

/// Runs `cmd` (stdin and stdout null, stderr captured) and reaps it with
/// wait4 for its own peak resident memory; killed after `limit`. It runs
/// under `prlimit --as=4G` (kept across a setuid exec), so a regression
/// that reads /dev/zero without bound fails the test instead of calling
/// the host's OOM killer.
// The child is reaped by wait4 below (for its rusage), not by std.
#[allow(clippy::zombie_processes)]
pub fn run_measured(cmd: Command, limit: Duration) -> Measured {
    let mut w = Command::new("prlimit");
    w.arg(format!("--as={}", 4u64 << 30))
        .arg("--")
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => w.env(k, v),
            None => w.env_remove(k),
        };
    }
    if let Some(d) = cmd.get_current_dir() {
        w.current_dir(d);
    }
    let start = Instant::now();
    let mut child = w
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let err = reader(child.stderr.take().expect("stderr"));
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills in.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let mut killed = false;
    loop {
        // SAFETY: pid is our own unreaped child (std never waits for it:
        // `child` is only dropped); status and ru are valid for writes.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut ru) };
        if r == pid {
            break;
        }
        assert!(
            r == 0,
            "wait4({pid}) => {}",
            std::io::Error::last_os_error()
        );
        if !killed && start.elapsed() > limit {
            let _ = child.kill();
            killed = true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let elapsed = start.elapsed();
    let stderr = err
        .recv_timeout(Duration::from_secs(5))
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    Measured {
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        stderr,
        elapsed,
        max_rss_kib: ru.ru_maxrss as u64,
    }
}
