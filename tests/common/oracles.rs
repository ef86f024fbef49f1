//! Helpers of the attack and fault suites (tests/security.rs,
//! tests/faults.rs): run the built binary with `--report json`, and the
//! oracles that judge a run from outside the program (a TCP listener,
//! canary files, a scan of /proc for the run's uid, a process of another
//! uid that must survive). Victims come from the shared builder in
//! tests/common/mod.rs.
#![allow(dead_code)]

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The shared victim builder (tests/common/mod.rs): tests/victims/NAME.c,
/// built once with `gcc -O2 -static -pthread`.
pub use crate::common::victim;

pub fn vpath(name: &str) -> String {
    victim(name).display().to_string()
}

/// What a run produced.
pub struct Run {
    pub status: i32,
    /// The JSON report (Null when there was none).
    pub report: serde_json::Value,
    /// The program's stdout, at most the first MiB.
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    pub fn code(&self) -> &str {
        self.report["verdict"]["code"].as_str().unwrap_or("?")
    }
    pub fn uid(&self) -> u32 {
        self.report["uid"].as_u64().expect("report has a uid") as u32
    }
    pub fn syscall(&self) -> &str {
        self.report["verdict"]["syscall"].as_str().unwrap_or("")
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "status {} verdict {} syscall `{}`\n--- stdout:\n{}\n--- stderr:\n{}",
            self.status,
            self.code(),
            self.syscall(),
            self.stdout.chars().take(2000).collect::<String>(),
            self.stderr
        )
    }
}

/// Reads a pipe to its end, keeping at most `keep` bytes.
fn drain(mut r: impl Read + Send + 'static, keep: usize) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut buf = [0u8; 65536];
        loop {
            match r.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let room = keep.saturating_sub(kept.len());
                    kept.extend_from_slice(&buf[..n.min(room)]);
                }
            }
        }
        kept
    })
}

/// Waits for `child` at most `limit`, killing it (and failing) after that.
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

/// Runs safeexec with `--report json` and `args` (stdin /dev/null), with
/// `env` added to safeexec's own environment. Stdout is read and discarded
/// beyond the first MiB; the whole run is killed after 60 s.
pub fn run_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_safeexec"));
    cmd.args(["--report", "json"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let t0 = Instant::now();
    let mut child = cmd.spawn().expect("safeexec starts");
    let out = drain(child.stdout.take().unwrap(), 1 << 20);
    let err = drain(child.stderr.take().unwrap(), 1 << 20);
    let status = wait_deadline(&mut child, Duration::from_secs(60), &format!("{args:?}"));
    let elapsed = t0.elapsed();
    let stdout = String::from_utf8_lossy(&out.join().unwrap()).into_owned();
    let stderr = String::from_utf8_lossy(&err.join().unwrap()).into_owned();
    let report = match stderr.rfind("{\n  \"verdict\"") {
        Some(i) => serde_json::from_str(&stderr[i..]).unwrap_or(serde_json::Value::Null),
        None => serde_json::Value::Null,
    };
    Run {
        status,
        report,
        stdout,
        stderr,
        elapsed,
    }
}

pub fn run(args: &[&str]) -> Run {
    run_env(args, &[])
}

/// A 0777 working directory the run's uid can write.
pub fn workdir() -> tempfile::TempDir {
    let d = tempfile::Builder::new()
        .prefix("safeexec-atk")
        .tempdir_in("/tmp")
        .unwrap();
    chmod(d.path(), 0o777);
    d
}

pub fn chmod(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Writes a policy file in `dir` and returns its path.
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

/// Live (non-zombie) processes with any of their uids equal to `uid`.
pub fn procs_of_uid(uid: u32) -> Vec<i32> {
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
        if ours && !zombie {
            v.push(pid);
        }
    }
    v
}

/// Asserts that no process of the run's uid is left.
pub fn assert_nothing_left(r: &Run) {
    let uid = r.uid();
    let left = procs_of_uid(uid);
    assert!(
        left.is_empty(),
        "processes of uid {uid} left: {left:?}\n{r}"
    );
}

/// Polls `cond` for up to `limit`.
pub fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let t0 = Instant::now();
    loop {
        if cond() {
            return true;
        }
        if t0.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

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
    /// True if a connection arrived (polled for 300 ms).
    pub fn got_connection(&self) -> bool {
        let deadline = Instant::now() + Duration::from_millis(300);
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
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
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
        use std::os::unix::fs::MetadataExt;
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
