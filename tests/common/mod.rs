//! The one harness of the integration tests: victim programs built from
//! tests/victims/*.c, one runner for the built `safeexec` binary (timeout,
//! bounded output, optional wrapper such as `setpriv`, extra environment,
//! working directory), report parsers, working directories, and the oracles
//! that judge a run from outside the program (a scan of /proc for the run's
//! uid, a TCP listener, canary files, a process of another uid that must
//! survive).
//!
//! Every test file does `mod common;` and uses what it needs. Tables: a
//! [`Case`] is one row of a verdict table, run by [`check_case`];
//! `table_tests!` declares one #[test] per row (of a `Case` or of a file's
//! own row type), so every case keeps its name in the test list and in its
//! failure message.
//!
//! Tests written against the former tests/common/oracles.rs move over as:
//! `workdir()` -> `work_dir()`; `run(args)` (which added `--report json`) ->
//! `run_json(args)` (plain `run` adds nothing); `run_env(args, env)` ->
//! `run_json_env(args, env)`; `r.stdout` (a
//! String) -> `r.stdout_str()`; `r.status` (an i32) -> `r.status` (an
//! `Option<i32>`, None when killed by a signal) or `r.code_or_signal()`.
//! `r.code()`, `r.uid()`, `r.syscall()`, `r.report`, `assert_nothing_left`,
//! `procs_of_uid`, `Listener`, `Sleeper`, `Canary`, `policy` and
//! `procs_policy` keep their names.
#![allow(dead_code, unused_imports, unused_macros)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
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

/// The built binary installed as graders install it: a copy owned by root,
/// mode 4755, in `/tmp/safeexec-<name>-bin-<checkout>` (a fixed directory
/// emptied at first use: a static TempDir is never dropped, so a random
/// name would leave one directory per test run). One per test file (`name`).
pub fn setuid_install(name: &str) -> PathBuf {
    let d = PathBuf::from(format!("/tmp/safeexec-{name}-bin-{}", checkout_tag()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir(&d).unwrap();
    chmod(&d, 0o755);
    let p = d.join("safeexec");
    std::fs::copy(SAFEEXEC, &p).unwrap();
    std::os::unix::fs::chown(&p, Some(0), Some(0)).unwrap();
    chmod(&p, 0o4755);
    p
}

/// The administrator's configuration file the setuid tests write.
pub const ADMIN_CONF: &str = "/etc/safeexec.conf";

/// Exclusive use of /etc/safeexec.conf for one test, restoring what was
/// there (or its absence) afterwards; a lock file keeps tests of every
/// file apart.
pub struct ConfGuard {
    _lock: std::fs::File,
    saved: Option<(Vec<u8>, u32)>,
}

impl ConfGuard {
    /// Writes `text` (mode 0644) as the configuration, or removes it.
    pub fn with(text: Option<&str>) -> ConfGuard {
        let lock = std::fs::File::create("/tmp/safeexec-setuid-tests.lock").unwrap();
        lock.lock().unwrap();
        let saved = std::fs::read(ADMIN_CONF).ok().map(|b| {
            let mode = std::fs::metadata(ADMIN_CONF)
                .map(|m| m.mode())
                .unwrap_or(0o644);
            (b, mode)
        });
        match text {
            Some(t) => {
                std::fs::write(ADMIN_CONF, t).unwrap();
                chmod(Path::new(ADMIN_CONF), 0o644);
            }
            None => {
                let _ = std::fs::remove_file(ADMIN_CONF);
            }
        }
        ConfGuard { _lock: lock, saved }
    }
}

impl Drop for ConfGuard {
    fn drop(&mut self) {
        match &self.saved {
            Some((b, mode)) => {
                std::fs::write(ADMIN_CONF, b).unwrap();
                chmod(Path::new(ADMIN_CONF), *mode);
            }
            None => {
                let _ = std::fs::remove_file(ADMIN_CONF);
            }
        }
    }
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

/// Skips a test that needs root when not running as root (CI runs as root).
macro_rules! need_root {
    () => {
        if !$crate::common::is_root() {
            eprintln!("skipped: needs root");
            return;
        }
    };
}
pub(crate) use need_root;

/// True when the tests run as root.
pub fn is_root() -> bool {
    nix_geteuid() == 0
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    /// Exit status; None when killed by a signal.
    pub status: Option<i32>,
    /// The program's stdout (at most the first [`KEEP`] bytes).
    pub stdout: Vec<u8>,
    /// safeexec's stderr (at most the first [`KEEP`] bytes).
    pub stderr: Vec<u8>,
    /// The pid safeexec ran as (its run's uid is uidplus + this).
    pub pid: u32,
    pub elapsed: Duration,
    /// The JSON report found in stderr (Null when there is none).
    pub report: serde_json::Value,
}

/// Bytes of each output stream a run keeps; the rest is read and dropped.
pub const KEEP: usize = 4 << 20;

impl Run {
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
    /// The exit status, -1 when killed by a signal.
    pub fn code_or_signal(&self) -> i32 {
        self.status.unwrap_or(-1)
    }
    /// The run's uid with the default --uidplus.
    pub fn run_uid(&self) -> u32 {
        DEFAULT_UIDPLUS + self.pid
    }
    /// The verdict code of the JSON report ("?" without one).
    pub fn code(&self) -> &str {
        self.report["verdict"]["code"].as_str().unwrap_or("?")
    }
    /// The uid the JSON report names.
    pub fn uid(&self) -> u32 {
        self.report["uid"]
            .as_u64()
            .unwrap_or_else(|| panic!("the report has no uid\n{self}")) as u32
    }
    /// The system call the verdict names ("" without one).
    pub fn syscall(&self) -> &str {
        self.report["verdict"]["syscall"].as_str().unwrap_or("")
    }
    /// The JSON report, panicking with the run when there is none.
    pub fn json_report(&self) -> &serde_json::Value {
        assert!(self.report.is_object(), "no JSON report in stderr\n{self}");
        &self.report
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "status {:?} verdict {} syscall `{}` after {:?}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.status,
            self.code(),
            self.syscall(),
            self.elapsed,
            self.stdout_str().chars().take(2000).collect::<String>(),
            self.stderr_str().chars().take(8000).collect::<String>(),
        )
    }
}

/// Options of [`run_with`].
pub struct Opts<'a> {
    pub stdin: &'a [u8],
    pub timeout: Duration,
    /// Extra environment for safeexec itself.
    pub env: Vec<(&'a str, &'a str)>,
    /// Variables removed from safeexec's environment.
    pub env_remove: Vec<&'a str>,
    /// Run through this wrapper (e.g. setpriv ...) instead of directly; the
    /// wrapper must exec safeexec so that the pid stays safeexec's.
    pub wrapper: Vec<String>,
    /// Binary to run instead of [`SAFEEXEC`].
    pub binary: Option<PathBuf>,
    /// Working directory of safeexec.
    pub cwd: Option<PathBuf>,
}

impl Default for Opts<'_> {
    fn default() -> Self {
        Opts {
            stdin: b"",
            timeout: MAX_RUN,
            env: Vec::new(),
            env_remove: Vec::new(),
            wrapper: Vec::new(),
            binary: None,
            cwd: None,
        }
    }
}

/// Runs safeexec with `args`, empty stdin and a 60 s timeout.
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

/// Runs safeexec with `--report json` before `args`.
pub fn run_json<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Run {
    run_json_with(args, Opts::default())
}

/// [`run_with`] with `--report json` before `args`.
pub fn run_json_with<S: AsRef<std::ffi::OsStr>>(args: &[S], o: Opts<'_>) -> Run {
    let mut a: Vec<std::ffi::OsString> = vec!["--report".into(), "json".into()];
    a.extend(args.iter().map(|s| s.as_ref().to_owned()));
    run_with(&a, o)
}

/// [`run_json`] with `env` added to safeexec's environment.
pub fn run_json_env<S: AsRef<std::ffi::OsStr>>(args: &[S], env: &[(&str, &str)]) -> Run {
    run_json_with(
        args,
        Opts {
            env: env.to_vec(),
            ..Opts::default()
        },
    )
}

/// Spawns a thread reading `r` to the end, keeping the first [`KEEP`] bytes.
fn reader<R: Read + Send + 'static>(mut r: R) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut buf = [0u8; 65536];
        loop {
            match r.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let room = KEEP.saturating_sub(kept.len());
                    kept.extend_from_slice(&buf[..n.min(room)]);
                }
            }
        }
        let _ = tx.send(kept);
    });
    rx
}

/// Runs safeexec (or `o.binary`) with `args`; kills it by pid if it runs past
/// the timeout (capped at [`MAX_RUN`]) and panics then. A process of the run
/// that still holds safeexec's stdout or stderr 5 s after safeexec exited is
/// a failure of the sandbox and panics too.
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
    for k in &o.env_remove {
        cmd.env_remove(k);
    }
    if let Some(d) = &o.cwd {
        cmd.current_dir(d);
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
    let show = || {
        args.iter()
            .map(|a| a.as_ref().to_owned())
            .collect::<Vec<_>>()
    };
    let status = loop {
        match child.try_wait().expect("wait for safeexec") {
            Some(s) => break s,
            None if start.elapsed() > timeout => {
                // SIGKILL to safeexec's pid; its run dies with it (PDEATHSIG).
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "safeexec {:?} ran longer than {timeout:?}; killed pid {pid}",
                    show()
                );
            }
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    };
    let elapsed = start.elapsed();
    let _ = writer.join();
    let grace = Duration::from_secs(5);
    let stdout = out.recv_timeout(grace).unwrap_or_else(|_| {
        panic!(
            "stdout still open after safeexec {:?} exited: a process of the run survived",
            show()
        )
    });
    let stderr = err.recv_timeout(grace).unwrap_or_else(|_| {
        panic!(
            "stderr still open after safeexec {:?} exited: a process of the run survived",
            show()
        )
    });
    use std::os::unix::process::ExitStatusExt;
    if let Some(sig) = status.signal() {
        eprintln!("safeexec was killed by signal {sig}");
    }
    let report = find_json(&String::from_utf8_lossy(&stderr));
    Run {
        status: status.code(),
        stdout,
        stderr,
        pid,
        elapsed,
        report,
    }
}

/// Waits for `child` at most `limit`, killing it (and failing) after that;
/// returns its exit status (-1 when killed by a signal).
pub fn wait_deadline(child: &mut Child, limit: Duration, what: &str) -> i32 {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st.code().unwrap_or(-1);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("safeexec did not finish in {limit:?}: {what}");
        }
        std::thread::sleep(Duration::from_millis(10));
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
    parse_classic(&r.stderr_str()).unwrap_or_else(|e| panic!("{e}\nrun: {r}"))
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

/// The JSON report in `text`: the whole text, or what follows the last line
/// that starts with `{` (a one-line message may precede the report).
/// Null when there is none.
pub fn find_json(text: &str) -> serde_json::Value {
    if let Ok(v) = parse_json(text) {
        return v;
    }
    let starts = text
        .match_indices('{')
        .map(|(i, _)| i)
        .filter(|&i| i == 0 || text.as_bytes()[i - 1] == b'\n');
    for i in starts {
        if let Ok(v) = parse_json(&text[i..]) {
            return v;
        }
    }
    serde_json::Value::Null
}

/// The JSON report from a run's stderr, where stderr holds nothing else;
/// panics with the text otherwise.
pub fn json(r: &Run) -> serde_json::Value {
    parse_json(&r.stderr_str()).unwrap_or_else(|e| panic!("{e}\nrun: {r}"))
}

// ---------------------------------------------------------------------------
// Directories and files
// ---------------------------------------------------------------------------

fn temp_dir_in(parent: &Path, mode: u32) -> tempfile::TempDir {
    let d = tempfile::Builder::new()
        .prefix("safeexec-test-")
        .tempdir_in(parent)
        .expect("create temp dir");
    chmod(d.path(), mode);
    d
}

/// A fresh root-owned 0755 directory outside /tmp, /var/tmp and /dev/shm
/// (under /run), whatever the checkout's location: a canary there is seen
/// by a run as it is on the host, with its own permissions (under /tmp it
/// would be the private tmpfs's, or, named on the command line, kept
/// read-only). Removed when dropped.
pub fn outside_private_tmp() -> tempfile::TempDir {
    temp_dir_in(Path::new("/run"), 0o755)
}

/// [`work_dir`] outside /tmp (under /run, see [`outside_private_tmp`]),
/// mode 0777, whatever the checkout's location.
pub fn work_dir_outside_tmp() -> tempfile::TempDir {
    temp_dir_in(Path::new("/run"), 0o777)
}

/// A fresh directory under /tmp with mode 0777, so the run's unprivileged
/// uid can create files there. Removed when dropped.
pub fn work_dir() -> tempfile::TempDir {
    temp_dir_in(Path::new("/tmp"), 0o777)
}

/// A fresh 0777 directory under `parent` (e.g. outside /tmp, which a run
/// may see as a private tmpfs).
pub fn work_dir_in(parent: &Path) -> tempfile::TempDir {
    temp_dir_in(parent, 0o777)
}

/// A fresh directory under /tmp with mode 0755 (readable and searchable by
/// everyone, writable by root only).
pub fn public_dir() -> tempfile::TempDir {
    temp_dir_in(Path::new("/tmp"), 0o755)
}

pub fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {mode:o} {}: {e}", p.display()));
}

/// The path of victim NAME as a string.
pub fn vpath(name: &str) -> String {
    victim(name).display().to_string()
}

/// Writes `dir`/NAME.policy and returns its path.
pub fn policy(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(format!("{name}.policy"));
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// Processes, threads and signals on top of the default policy.
pub fn procs_policy(dir: &Path) -> String {
    policy(
        dir,
        "procs",
        "include default\nallow @process @threads @signals\nlimit nproc 300\n",
    )
}

// ---------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------

/// True while `pid` exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => !s
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

/// Pids of processes with any of their uids (real, effective, saved, fs)
/// equal to `uid`; zombies only when `zombies` is true.
fn uid_procs(uid: u32, zombies: bool) -> Vec<i32> {
    let mut v = Vec::new();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return v;
    };
    for e in rd.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(st) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
            continue;
        };
        let zombie = st
            .lines()
            .any(|l| l.starts_with("State:") && l.contains('Z'));
        let ours = st.lines().any(|l| {
            l.starts_with("Uid:")
                && l.split_whitespace()
                    .skip(1)
                    .any(|x| x.parse::<u32>() == Ok(uid))
        });
        if ours && (zombies || !zombie) {
            v.push(pid);
        }
    }
    v
}

/// Live (non-zombie) processes with any of their uids equal to `uid`.
pub fn procs_of_uid(uid: u32) -> Vec<i32> {
    uid_procs(uid, false)
}

/// Processes with any of their uids equal to `uid`, zombies included.
pub fn procs_of_uid_or_zombies(uid: u32) -> Vec<i32> {
    uid_procs(uid, true)
}

/// Live processes (not this one) whose command line contains `marker`.
pub fn procs_naming(marker: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let hit = cmd.windows(marker.len()).any(|w| w == marker.as_bytes());
        if hit && pid != me && alive(pid) {
            out.push(pid);
        }
    }
    out
}

/// Asserts that no live process of the run's uid (from its JSON report) is
/// left.
pub fn assert_nothing_left(r: &Run) {
    let uid = r.uid();
    let left = procs_of_uid(uid);
    assert!(
        left.is_empty(),
        "processes of uid {uid} left: {left:?}\n{r}"
    );
}

/// Waits until `cond` holds, polling every 10 ms up to `limit`; true if it did.
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

// ---------------------------------------------------------------------------
// Outside oracles
// ---------------------------------------------------------------------------

/// A TCP listener on 127.0.0.1 that must receive nothing.
pub struct Listener {
    l: TcpListener,
}

impl Listener {
    pub fn new() -> Listener {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        Listener { l }
    }
    pub fn port(&self) -> String {
        self.l.local_addr().unwrap().port().to_string()
    }
    /// True if a connection arrived (polled for `limit`).
    pub fn got_connection_within(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            match self.l.accept() {
                Ok(_) => return true,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("accept: {e}"),
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    /// True if a connection arrived (polled for 300 ms).
    pub fn got_connection(&self) -> bool {
        self.got_connection_within(Duration::from_millis(300))
    }
}

/// `sleep 30` as uid 65534, killed by its pid when dropped.
pub struct Sleeper {
    child: Child,
}

impl Sleeper {
    pub fn start() -> Sleeper {
        let child = Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "sleep",
                "30",
            ])
            .spawn()
            .expect("setpriv runs");
        let s = Sleeper { child };
        assert!(eventually(Duration::from_secs(2), || {
            std::fs::read_to_string(format!("/proc/{}/status", s.pid()))
                .map(|t| t.contains("\nUid:\t65534"))
                .unwrap_or(false)
        }));
        s
    }
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }
    pub fn alive(&self) -> bool {
        alive(self.pid())
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A root-owned file in /tmp with `mode` and a unique secret; removed on drop.
pub struct Canary {
    pub path: PathBuf,
    pub secret: String,
}

impl Canary {
    pub fn new(tag: &str, mode: u32) -> Canary {
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let path = PathBuf::from(format!("/tmp/safeexec-{tag}-{pid}-{n}"));
        let secret = format!("SECRET-{tag}-{pid}-{n}-7f3a9c");
        std::fs::write(&path, format!("{secret}\n")).unwrap();
        chmod(&path, mode);
        Canary { path, secret }
    }
    pub fn p(&self) -> &str {
        self.path.to_str().unwrap()
    }
    pub fn unchanged(&self) -> bool {
        let Ok(m) = std::fs::symlink_metadata(&self.path) else {
            return false;
        };
        m.uid() == 0
            && std::fs::read_to_string(&self.path).ok() == Some(format!("{}\n", self.secret))
    }
}

impl Drop for Canary {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

// ---------------------------------------------------------------------------
// Tables
// ---------------------------------------------------------------------------

/// One #[test] per row of a table: `table_tests! { check; name => row, ... }`
/// declares `fn name() { check("name", row) }` for every row, so each case
/// keeps its own name in the test list and in failure messages.
macro_rules! table_tests {
    ($check:path; $($name:ident => $row:expr),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                $check(stringify!($name), $row)
            }
        )*
    };
}
pub(crate) use table_tests;

/// Which report a [`Case`] asks for and judges.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Report {
    /// `--report json`: `verdict` is the verdict code ("OK", "TLE", ...).
    Json,
    /// The classic 4-line report: `verdict` is its first line.
    Classic,
}

/// One row of a verdict table: safeexec `opts` `--exec` `victim` `args`,
/// judged by its exit status, its verdict and `check` (the outside oracle:
/// files, processes, listeners). In `opts` and `args`, `{dir}` stands for
/// the row's own fresh 0777 working directory, `{procs}` for a policy file
/// there that allows processes and threads ([`procs_policy`]), `{me}` for
/// the test process's pid.
#[derive(Clone, Copy)]
pub struct Case {
    pub opts: &'static [&'static str],
    pub victim: &'static str,
    pub args: &'static [&'static str],
    pub report: Report,
    /// safeexec's exit status.
    pub status: Option<i32>,
    pub verdict: &'static str,
    /// Further assertions on the run and its working directory.
    pub check: fn(&Run, &Path),
}

/// The defaults of a [`Case`]: `Case { victim: "ok", ..CASE }`.
pub const CASE: Case = Case {
    opts: &[],
    victim: "ok",
    args: &[],
    report: Report::Json,
    status: Some(0),
    verdict: "OK",
    check: |_, _| {},
};

/// Runs one row of a verdict table (see [`Case`]); every failure message
/// starts with the row's name. Returns the run.
pub fn check_case(name: &str, c: Case) -> Run {
    let dir = work_dir();
    let d = dir.path().display().to_string();
    let procs = if c.opts.contains(&"{procs}") {
        procs_policy(dir.path())
    } else {
        String::new()
    };
    let me = std::process::id().to_string();
    let sub = |s: &&str| {
        s.replace("{dir}", &d)
            .replace("{procs}", &procs)
            .replace("{me}", &me)
    };
    let mut a: Vec<String> = Vec::new();
    if c.report == Report::Json {
        a.extend(["--report".to_string(), "json".to_string()]);
    }
    a.extend(c.opts.iter().map(sub));
    a.extend(["--exec".to_string(), vpath(c.victim)]);
    a.extend(c.args.iter().map(sub));
    let r = run(&a);
    assert_eq!(r.status, c.status, "{name}: exit status\n{r}");
    match c.report {
        Report::Json => {
            let j = json(&r);
            assert_eq!(
                j["verdict"]["code"].as_str(),
                Some(c.verdict),
                "{name}: verdict\n{r}"
            );
        }
        Report::Classic => {
            assert_eq!(classic(&r).status, c.verdict, "{name}: report\n{r}");
        }
    }
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (c.check)(&r, dir.path())));
    if let Err(e) = res {
        let msg = e
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        panic!("{name}: {msg}");
    }
    r
}

// ---------------------------------------------------------------------------
// Measuring a process
// ---------------------------------------------------------------------------

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
