//! Overhead and accuracy benchmark of safeexec (issue 6).
//!
//! `cargo bench --bench overhead [-- --quick --pin 1 --modes classic,paranoid --out FILE]`
//!
//! Builds the static workloads of benches/workloads/*.c, runs each natively and under each
//! mode, interleaved round by round, and reports the median of the paired ratios
//! (run i under the mode / run i native). Then checks the accuracy of what safeexec reports
//! (peak memory, CPU and wall-clock limits) against the kernel's own figures.
//! See docs/performance.md. Errors end the run with one line, never a panic.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

const USAGE: &str = "\
usage: cargo bench --bench overhead [-- OPTIONS]
  --quick              5 rounds instead of 15
  --rounds N           number of rounds (each: native, then every mode once)
  --pin CPU            pin the harness and so every command to CPU (inherited affinity,
                       the same as `taskset -c CPU` without its extra exec)
  --pin-taskset        with --pin: prefix every command with `taskset -c CPU` instead
  --modes LIST         comma list of classic,paranoid,trace,strace,strace-seccomp,
                       allow-all,java,classic-nproc,paranoid-nproc,paranoid-stops,
                       classic-nodisk,paranoid-nodisk,isolate (default: all of them)
  --workloads LIST     comma list (default: startup,getppid,write,open,fork,threads,mem10,mem100,cpu200)
  --scale F            multiply the syscall/fork counts of the loop workloads by F (default 1)
  --timeout SECS       cap of one run; the run is killed past it (default 60)
  --no-accuracy        skip the accuracy section
  --accuracy-only      skip the overhead section
  --safeexec PATH      safeexec binary to use (default target/release/safeexec, rebuilt if stale)
  --isolate PATH       isolate binary of the isolate mode (default: $SAFEEXEC_BENCH_ISOLATE,
                       else isolate on PATH; the mode is skipped when there is none)
  --isolate-box N      isolate's --box-id for the isolate mode (default 0)
  --out FILE           also write the Markdown report to FILE
  --keep               keep the temporary working directory";

// ---------------------------------------------------------------------------------------------
// Options

struct Opts {
    rounds: usize,
    pin: Option<usize>,
    pin_taskset: bool,
    modes: Vec<Mode>,
    workloads: Vec<String>,
    scale: f64,
    timeout: Duration,
    overhead: bool,
    accuracy: bool,
    safeexec: Option<PathBuf>,
    isolate: Option<PathBuf>,
    isolate_box: u32,
    out: Option<PathBuf>,
    keep: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Mode {
    Classic,
    Paranoid,
    Trace,
    Strace,
    StraceSeccomp,
    AllowAll,
    Java,
    ClassicNproc,
    ParanoidNproc,
    ParanoidStops,
    ClassicNodisk,
    ParanoidNodisk,
    Isolate,
}

const ALL_MODES: [Mode; 13] = [
    Mode::Classic,
    Mode::Paranoid,
    Mode::Trace,
    Mode::Strace,
    Mode::StraceSeccomp,
    Mode::AllowAll,
    Mode::Java,
    Mode::ClassicNproc,
    Mode::ParanoidNproc,
    Mode::ParanoidStops,
    Mode::ClassicNodisk,
    Mode::ParanoidNodisk,
    Mode::Isolate,
];

/// `--nproc` of the `-nproc` variants (a run that may fork gets a cgroup).
const NPROC_VARIANT: &str = "100";

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Classic => "classic",
            Mode::Paranoid => "paranoid",
            Mode::Trace => "trace",
            Mode::Strace => "strace",
            Mode::StraceSeccomp => "strace-seccomp",
            Mode::AllowAll => "allow-all",
            Mode::Java => "java",
            Mode::ClassicNproc => "classic-nproc",
            Mode::ParanoidNproc => "paranoid-nproc",
            Mode::ParanoidStops => "paranoid-stops",
            Mode::ClassicNodisk => "classic-nodisk",
            Mode::ParanoidNodisk => "paranoid-nodisk",
            Mode::Isolate => "isolate",
        }
    }
    fn parse(s: &str) -> Option<Mode> {
        ALL_MODES
            .iter()
            .copied()
            .find(|m| m.name() == s || (s == "full-trace" && *m == Mode::Trace))
    }
    fn describe(self) -> &'static str {
        match self {
            Mode::Classic => "safeexec limits only (fork, unique uid, rlimits, supervisor)",
            Mode::Paranoid => "safeexec --paranoid (PTRACE_SEIZE + seccomp-bpf policy)",
            Mode::Trace => "safeexec --paranoid --trace FILE (every syscall stops and is logged)",
            Mode::Strace => "strace -f -o FILE (reference: every syscall stops)",
            Mode::StraceSeccomp => {
                "strace -f --seccomp-bpf -e trace=socket -o FILE (reference: filtered)"
            }
            Mode::AllowAll => {
                "allowall PROG: an allow-all seccomp filter, no supervisor (reference: the floor of a filter)"
            }
            Mode::Java => "paranoid under the shipped java policy (--policy java)",
            Mode::ClassicNproc => "classic with --nproc 100 (a run that may fork: per-run cgroup)",
            Mode::ParanoidNproc => "paranoid with --nproc 100 (per-run cgroup)",
            Mode::ParanoidStops => {
                "paranoid with `on-path-violation kill` (every call with a restricted path stops for the supervisor, as before Landlock took the open family)"
            }
            Mode::ClassicNodisk => {
                "classic with --disk 0 (no overlay over the working directory: writes go straight into it)"
            }
            Mode::ParanoidNodisk => "paranoid with --disk 0 (no overlay over the working directory)",
            Mode::Isolate => {
                "isolate --run (reference: the IOI sandbox, without --cg; the workload copied into the box, --init/--cleanup outside the timed runs)"
            }
        }
    }
    /// Whether the mode runs safeexec (which the harness then locates or builds).
    fn uses_safeexec(self) -> bool {
        !matches!(
            self,
            Mode::Strace | Mode::StraceSeccomp | Mode::AllowAll | Mode::Isolate
        )
    }
}

/// The timed workloads, with the iteration count that `--scale` multiplies (None: no loop).
const TIMED: [(&str, Option<u64>); 9] = [
    ("startup", None),
    ("getppid", Some(1_000_000)),
    ("write", Some(200_000)),
    ("open", Some(100_000)),
    ("fork", Some(500)),
    ("threads", Some(100_000)),
    ("mem10", None),
    ("mem100", None),
    ("cpu200", None),
];

fn parse_args() -> Result<Opts, String> {
    let mut o = Opts {
        rounds: 15,
        pin: None,
        pin_taskset: false,
        modes: ALL_MODES.to_vec(),
        workloads: TIMED.iter().map(|(n, _)| n.to_string()).collect(),
        scale: 1.0,
        timeout: Duration::from_secs(60),
        overhead: true,
        accuracy: true,
        safeexec: None,
        isolate: None,
        isolate_box: 0,
        out: None,
        keep: false,
    };
    let mut rounds_set = false;
    let mut quick = false;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        let mut val = |name: &str| -> Result<String, String> {
            i += 1;
            args.get(i)
                .cloned()
                .ok_or_else(|| format!("{name} needs a value (see --help)"))
        };
        match a {
            // cargo passes --bench to harness = false benches
            "--bench" => {}
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            "--quick" => quick = true,
            "--rounds" => {
                let v = val("--rounds")?;
                o.rounds = v
                    .parse()
                    .map_err(|_| format!("--rounds: not a number: {v}"))?;
                if o.rounds == 0 || o.rounds > 1000 {
                    return Err("--rounds must be between 1 and 1000".into());
                }
                rounds_set = true;
            }
            "--pin" => {
                let v = val("--pin")?;
                o.pin = Some(
                    v.parse()
                        .map_err(|_| format!("--pin: not a CPU number: {v}"))?,
                );
            }
            "--pin-taskset" => o.pin_taskset = true,
            "--modes" => {
                let v = val("--modes")?;
                let mut ms = Vec::new();
                for m in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    if m == "native" {
                        continue;
                    }
                    let mode = Mode::parse(m).ok_or_else(|| {
                        format!(
                            "--modes: unknown mode {m} (known: {})",
                            ALL_MODES.map(|m| m.name()).join(",")
                        )
                    })?;
                    if !ms.contains(&mode) {
                        ms.push(mode);
                    }
                }
                o.modes = ms;
            }
            "--workloads" => {
                let v = val("--workloads")?;
                let mut ws = Vec::new();
                for w in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    if !TIMED.iter().any(|(n, _)| *n == w) {
                        return Err(format!("--workloads: unknown workload {w}"));
                    }
                    ws.push(w.to_string());
                }
                o.workloads = ws;
            }
            "--scale" => {
                let v = val("--scale")?;
                o.scale = v
                    .parse()
                    .map_err(|_| format!("--scale: not a number: {v}"))?;
                if !(o.scale > 0.0 && o.scale <= 100.0) {
                    return Err("--scale must be in (0, 100]".into());
                }
            }
            "--timeout" => {
                let v = val("--timeout")?;
                let s: f64 = v
                    .parse()
                    .map_err(|_| format!("--timeout: not a number: {v}"))?;
                if !(s > 0.0 && s <= 3600.0) {
                    return Err("--timeout must be in (0, 3600] seconds".into());
                }
                o.timeout = Duration::from_secs_f64(s);
            }
            "--no-accuracy" => o.accuracy = false,
            "--accuracy-only" => o.overhead = false,
            "--safeexec" => o.safeexec = Some(PathBuf::from(val("--safeexec")?)),
            "--isolate" => o.isolate = Some(PathBuf::from(val("--isolate")?)),
            "--isolate-box" => {
                let v = val("--isolate-box")?;
                o.isolate_box = v
                    .parse()
                    .map_err(|_| format!("--isolate-box: not a box number: {v}"))?;
            }
            "--out" => o.out = Some(PathBuf::from(val("--out")?)),
            "--keep" => o.keep = true,
            other => return Err(format!("unknown option {other} (see --help)")),
        }
        i += 1;
    }
    if quick && !rounds_set {
        o.rounds = 5;
    }
    Ok(o)
}

// ---------------------------------------------------------------------------------------------
// Running one command: wall time around spawn + wait, wait4 rusage, a kill past the cap.

enum WdMsg {
    Arm(i32, Instant),
    Disarm,
}

/// One long-lived thread that kills the armed pid (and its process group) past the deadline.
struct Watchdog {
    tx: mpsc::Sender<WdMsg>,
    fired: Arc<AtomicBool>,
}

impl Watchdog {
    fn start() -> Result<Watchdog, String> {
        let (tx, rx) = mpsc::channel::<WdMsg>();
        let fired = Arc::new(AtomicBool::new(false));
        let f2 = fired.clone();
        thread::Builder::new()
            .name("watchdog".into())
            .spawn(move || {
                while let Ok(msg) = rx.recv() {
                    let WdMsg::Arm(pid, deadline) = msg else {
                        continue;
                    };
                    loop {
                        let left = deadline.saturating_duration_since(Instant::now());
                        // recv_timeout hands over a queued Disarm before it looks at the clock
                        match rx.recv_timeout(left) {
                            Ok(_) => break,
                            Err(mpsc::RecvTimeoutError::Timeout) => {
                                if Instant::now() < deadline {
                                    continue;
                                }
                                f2.store(true, Ordering::SeqCst);
                                // SAFETY: kill(2) has no memory effects; the pid is not reaped
                                // before the main thread sends Disarm (it waits with WNOWAIT),
                                // so it cannot have been reused.
                                unsafe {
                                    libc::kill(-pid, libc::SIGKILL);
                                    libc::kill(pid, libc::SIGKILL);
                                }
                                // wait for the Disarm of this run
                                match rx.recv() {
                                    Ok(_) => break,
                                    Err(_) => return,
                                }
                            }
                            Err(mpsc::RecvTimeoutError::Disconnected) => return,
                        }
                    }
                }
            })
            .map_err(|e| format!("cannot start the watchdog thread: {e}"))?;
        Ok(Watchdog { tx, fired })
    }
}

struct RunOut {
    wall: f64,
    status: i32,
    timed_out: bool,
    ru: libc::rusage,
    stderr: String,
}

impl RunOut {
    fn ok(&self) -> bool {
        !self.timed_out && libc::WIFEXITED(self.status) && libc::WEXITSTATUS(self.status) == 0
    }
    fn describe(&self) -> String {
        if self.timed_out {
            "killed at the time cap".into()
        } else if libc::WIFEXITED(self.status) {
            format!("exit status {}", libc::WEXITSTATUS(self.status))
        } else if libc::WIFSIGNALED(self.status) {
            format!("killed by signal {}", libc::WTERMSIG(self.status))
        } else {
            format!("wait status {:#x}", self.status)
        }
    }
    fn cpu(&self) -> f64 {
        tv(self.ru.ru_utime) + tv(self.ru.ru_stime)
    }
}

fn tv(t: libc::timeval) -> f64 {
    t.tv_sec as f64 + t.tv_usec as f64 / 1e6
}

struct Runner {
    wd: Watchdog,
    timeout: Duration,
    prefix: Vec<String>,
    scratch: PathBuf,
}

impl Runner {
    /// Runs `cmd` in `cwd`; stderr goes to a scratch file when `capture` (read back afterwards),
    /// else to /dev/null. Never waits past the cap.
    fn run(&self, cmd: &[String], cwd: &Path, capture: bool) -> Result<RunOut, String> {
        let full: Vec<&String> = self.prefix.iter().chain(cmd.iter()).collect();
        let (prog, rest) = full.split_first().ok_or("empty command")?;
        let mut c = Command::new(prog);
        c.args(rest)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .process_group(0);
        let errpath = self.scratch.join("stderr.txt");
        if capture {
            let f =
                fs::File::create(&errpath).map_err(|e| format!("{}: {e}", errpath.display()))?;
            c.stderr(Stdio::from(f));
        } else {
            c.stderr(Stdio::null());
        }
        self.wd.fired.store(false, Ordering::SeqCst);
        let t0 = Instant::now();
        let child = c.spawn().map_err(|e| format!("cannot run {prog}: {e}"))?;
        let pid = child.id() as i32;
        let _ = self.wd.tx.send(WdMsg::Arm(pid, t0 + self.timeout));
        // SAFETY: siginfo_t is plain data; waitid only writes into it. WNOWAIT leaves the child a
        // zombie so that its pid stays reserved until the watchdog is disarmed.
        let mut si: libc::siginfo_t = unsafe { std::mem::zeroed() };
        loop {
            // SAFETY: valid pointer to a local siginfo_t.
            let r = unsafe {
                libc::waitid(
                    libc::P_PID,
                    pid as libc::id_t,
                    &mut si,
                    libc::WEXITED | libc::WNOWAIT,
                )
            };
            if r == 0 {
                break;
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                let _ = self.wd.tx.send(WdMsg::Disarm);
                return Err(format!("waitid on {prog}: {e}"));
            }
        }
        let wall = t0.elapsed().as_secs_f64();
        let _ = self.wd.tx.send(WdMsg::Disarm);
        let timed_out = self.wd.fired.load(Ordering::SeqCst);
        let mut status: libc::c_int = 0;
        // SAFETY: rusage is plain data, zero is a valid value; wait4 writes into the locals.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        loop {
            // SAFETY: valid pointers to locals; pid is our own unreaped child.
            let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
            if r == pid {
                break;
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(format!("wait4 on {prog}: {e}"));
            }
        }
        drop(child); // already reaped; dropping a std Child does not wait
        let stderr = if capture {
            fs::read_to_string(&errpath).unwrap_or_default()
        } else {
            String::new()
        };
        Ok(RunOut {
            wall,
            status,
            timed_out,
            ru,
            stderr,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Setup: workloads, safeexec binary, capabilities

fn mtime(p: &Path) -> Option<SystemTime> {
    fs::metadata(p).and_then(|m| m.modified()).ok()
}

fn newest_under(dir: &Path, depth: u32) -> Option<SystemTime> {
    let mut best = mtime(dir);
    if depth == 0 {
        return best;
    }
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            let t = if p.is_dir() {
                newest_under(&p, depth - 1)
            } else {
                mtime(&p)
            };
            if t > best {
                best = t;
            }
        }
    }
    best
}

/// Runs a short helper command (gcc, cargo, --help) with a cap, returning (ok, stdout+stderr).
fn helper(cmd: &mut Command, cap: Duration) -> Result<(bool, String), String> {
    let name = format!("{:?}", cmd.get_program());
    let out_path =
        std::env::temp_dir().join(format!("safeexec-bench-helper-{}.txt", std::process::id()));
    let f = fs::File::create(&out_path).map_err(|e| format!("{}: {e}", out_path.display()))?;
    let f2 = f.try_clone().map_err(|e| e.to_string())?;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::from(f))
        .stderr(Stdio::from(f2))
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot run {name}: {e}"))?;
    let t0 = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if t0.elapsed() > cap => {
                // SAFETY: kill(2) on our own unreaped child's process group.
                unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
                let _ = child.wait();
                break None;
            }
            Ok(None) => thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("waiting for {name}: {e}")),
        }
    };
    let text = fs::read_to_string(&out_path).unwrap_or_default();
    let _ = fs::remove_file(&out_path);
    match status {
        None => Ok((false, format!("{text}\n(killed after {} s)", cap.as_secs()))),
        Some(s) => Ok((s.success(), text)),
    }
}

fn first_line(s: &str) -> String {
    let l = s
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .to_string();
    if l.len() > 160 {
        format!(
            "{}…",
            &l[..l.char_indices().nth(160).map(|(i, _)| i).unwrap_or(l.len())]
        )
    } else {
        l
    }
}

fn build_workloads(root: &Path) -> Result<PathBuf, String> {
    let src = root.join("benches/workloads");
    let out = root.join("target/bench-workloads");
    fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut sources: Vec<PathBuf> = fs::read_dir(&src)
        .map_err(|e| format!("{}: {e}", src.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "c"))
        .collect();
    sources.sort();
    if sources.is_empty() {
        return Err(format!("no workloads in {}", src.display()));
    }
    for s in sources {
        let stem = s
            .file_stem()
            .and_then(|x| x.to_str())
            .ok_or("bad workload file name")?
            .to_string();
        let bin = out.join(&stem);
        if mtime(&bin).is_some() && mtime(&bin) >= mtime(&s) {
            continue;
        }
        eprintln!("building workload {stem}");
        let (ok, text) = helper(
            Command::new("gcc")
                .args(["-O2", "-static", "-pthread", "-o"])
                .arg(&bin)
                .arg(&s),
            Duration::from_secs(120),
        )
        .map_err(|e| format!("{e} (is gcc installed? apt-get install -y gcc libc6-dev)"))?;
        if !ok {
            let _ = fs::remove_file(&bin);
            return Err(format!(
                "gcc -O2 -static failed on {}: {}",
                s.display(),
                first_line(&text)
            ));
        }
    }
    Ok(out)
}

/// Finds (and if stale rebuilds) the safeexec binary. Err: why the safeexec modes are skipped.
fn safeexec_binary(root: &Path, given: &Option<PathBuf>) -> Result<PathBuf, String> {
    if let Some(p) = given {
        return if p.is_file() {
            Ok(p.clone())
        } else {
            Err(format!("--safeexec {}: no such file", p.display()))
        };
    }
    let bin = root.join("target/release/safeexec");
    let src_time = newest_under(&root.join("src"), 8).max(mtime(&root.join("Cargo.toml")));
    if mtime(&bin).is_none() || mtime(&bin) < src_time {
        eprintln!("building safeexec: cargo build --release --bin safeexec");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let (ok, text) = helper(
            Command::new(cargo)
                .args(["build", "--release", "--bin", "safeexec"])
                .current_dir(root),
            Duration::from_secs(900),
        )?;
        if !ok {
            let err = text
                .lines()
                .find(|l| l.starts_with("error"))
                .map(str::to_string)
                .unwrap_or_else(|| first_line(&text));
            return Err(format!(
                "cargo build --release --bin safeexec failed: {err}"
            ));
        }
    }
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(format!("{} not found after the build", bin.display()))
    }
}

/// The isolate binary: `--isolate PATH`, else $SAFEEXEC_BENCH_ISOLATE, else
/// `isolate` on PATH; checked with `isolate --version`. Err: why not (the note).
fn isolate_binary(given: &Option<PathBuf>) -> Result<PathBuf, String> {
    let bin = match (given, std::env::var_os("SAFEEXEC_BENCH_ISOLATE")) {
        (Some(p), _) => p.clone(),
        (None, Some(p)) if !p.is_empty() => PathBuf::from(p),
        _ => std::env::var_os("PATH")
            .and_then(|path| {
                std::env::split_paths(&path)
                    .map(|d| d.join("isolate"))
                    .find(|p| p.is_file())
            })
            .ok_or("no isolate binary (give --isolate PATH or SAFEEXEC_BENCH_ISOLATE, or put isolate on PATH; docs/performance.md says how to build it)")?,
    };
    if !bin.is_file() {
        return Err(format!("{}: no such file", bin.display()));
    }
    let (ok, text) = helper(Command::new(&bin).arg("--version"), Duration::from_secs(10))?;
    if !ok {
        return Err(format!(
            "{} --version failed: {}",
            bin.display(),
            first_line(&text)
        ));
    }
    Ok(bin)
}

struct Caps {
    help: String,
}

impl Caps {
    fn has(&self, flag: &str) -> bool {
        self.help.contains(flag)
    }
}

// ---------------------------------------------------------------------------------------------
// Commands of each mode

struct Ctx {
    root: PathBuf,
    workdir: PathBuf,
    tracedir: PathBuf,
    safeexec: Option<PathBuf>,
    caps: Option<Caps>,
    strace: bool,
    /// the isolate binary of the isolate mode, or why there is none
    isolate: Result<PathBuf, String>,
    isolate_box: u32,
    scale: f64,
}

impl Ctx {
    fn prog(&self, wl: &str) -> String {
        self.workdir
            .join("bin")
            .join(wl)
            .to_string_lossy()
            .into_owned()
    }
    fn wl_args(&self, wl: &str) -> Vec<String> {
        match TIMED.iter().find(|(n, _)| *n == wl) {
            Some((_, Some(n))) if self.scale != 1.0 => {
                vec![(((*n as f64) * self.scale).round().max(1.0) as u64).to_string()]
            }
            _ => vec![],
        }
    }
    fn native(&self, wl: &str) -> Vec<String> {
        let mut v = vec![self.prog(wl)];
        v.extend(self.wl_args(wl));
        v
    }
    /// `nproc`: processes the run may create. Only the fork and threads
    /// workloads need any; a run that may fork also gets a per-run cgroup,
    /// whose join costs an RCU grace period (docs/performance.md), so the
    /// single-process workloads run with the default 0, as a grader would.
    fn safeexec_base(&self, cpu: &str, clock: &str, nproc: &str) -> Vec<String> {
        let bin = self
            .safeexec
            .as_ref()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let wd = self.workdir.to_string_lossy().into_owned();
        [
            bin.as_str(),
            "--cpu",
            cpu,
            "--mem",
            "1048576",
            "--clock",
            clock,
            "--nproc",
            nproc,
            "--exec_dir",
            &wd,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }
    fn policy_file(&self, wl: &str) -> Option<String> {
        let p = self
            .root
            .join("benches/policies")
            .join(format!("{wl}.policy"));
        p.is_file().then(|| p.to_string_lossy().into_owned())
    }
    /// Whether a mode can run at all here; Err: the note that says why not.
    fn available(&self, m: Mode) -> Result<(), String> {
        let need_safeexec = || -> Result<&Caps, String> {
            match (&self.safeexec, &self.caps) {
                (Some(_), Some(c)) if c.has("--exec") => Ok(c),
                (Some(_), Some(_)) => Err("safeexec --help does not mention --exec yet (sandbox not implemented on this branch)".into()),
                _ => Err("no safeexec binary".into()),
            }
        };
        match m {
            Mode::Classic | Mode::ClassicNproc => need_safeexec().map(|_| ()),
            Mode::ClassicNodisk | Mode::ParanoidNodisk => {
                let c = need_safeexec()?;
                if !c.has("--disk") {
                    Err(
                        "safeexec --help has no --disk (no bounded working directory to leave out)"
                            .into(),
                    )
                } else if m == Mode::ParanoidNodisk && !c.has("--paranoid") {
                    Err("safeexec --help has no --paranoid yet".into())
                } else {
                    Ok(())
                }
            }
            Mode::Isolate => self.isolate.as_ref().map(|_| ()).map_err(|e| e.clone()),
            Mode::AllowAll => {
                if Path::new(&self.prog("allowall")).is_file() {
                    Ok(())
                } else {
                    Err("the allowall helper was not built".into())
                }
            }
            Mode::Paranoid | Mode::Java | Mode::ParanoidNproc | Mode::ParanoidStops => {
                let c = need_safeexec()?;
                if c.has("--paranoid") {
                    Ok(())
                } else {
                    Err("safeexec --help has no --paranoid yet (paranoid mode not merged)".into())
                }
            }
            Mode::Trace => {
                let c = need_safeexec()?;
                if !c.has("--paranoid") {
                    Err("safeexec --help has no --paranoid yet".into())
                } else if !c.has("--trace") {
                    Err("safeexec --help has no --trace yet (full trace mode not merged)".into())
                } else {
                    Ok(())
                }
            }
            Mode::Strace | Mode::StraceSeccomp => {
                if self.strace {
                    Ok(())
                } else {
                    Err("strace is not installed (apt-get install -y strace)".into())
                }
            }
        }
    }
    /// `isolate --init` of the box, then the workload (and data.txt) copied
    /// into it: once per cell, outside the timed runs. Err: why not.
    fn isolate_init(&self, wl: &str) -> Result<(), String> {
        let bin = self.isolate.as_ref().map_err(|e| e.clone())?;
        let id = format!("--box-id={}", self.isolate_box);
        // a box left by an interrupted run
        let _ = helper(
            Command::new(bin).args([id.as_str(), "--cleanup"]),
            Duration::from_secs(30),
        );
        let (ok, text) = helper(
            Command::new(bin).args([id.as_str(), "--init"]),
            Duration::from_secs(30),
        )?;
        if !ok {
            return Err(format!("isolate {id} --init failed: {}", first_line(&text)));
        }
        // --init prints the box's directory; the program sees its box/ as /box
        let dir = text
            .lines()
            .map(str::trim)
            .rfind(|l| l.starts_with('/'))
            .map(|l| Path::new(l).join("box"))
            .ok_or_else(|| {
                format!(
                    "isolate {id} --init printed no box directory: {}",
                    first_line(&text)
                )
            })?;
        for (src, name, mode) in [
            (PathBuf::from(self.prog(wl)), wl, 0o755),
            (self.workdir.join("data.txt"), "data.txt", 0o644),
        ] {
            let dst = dir.join(name);
            fs::copy(&src, &dst)
                .and_then(|_| fs::set_permissions(&dst, fs::Permissions::from_mode(mode)))
                .map_err(|e| format!("copying {} into {}: {e}", src.display(), dir.display()))?;
        }
        Ok(())
    }
    fn isolate_cleanup(&self) {
        if let Ok(bin) = &self.isolate {
            let _ = helper(
                Command::new(bin).args([&format!("--box-id={}", self.isolate_box), "--cleanup"]),
                Duration::from_secs(30),
            );
        }
    }
    /// Candidate commands for (workload, mode); the first that runs cleanly in the warm-up is kept.
    fn variants(&self, wl: &str, m: Mode) -> Vec<Vec<String>> {
        let trace = self
            .tracedir
            .join(format!("{wl}.{}.trace", m.name()))
            .to_string_lossy()
            .into_owned();
        let tail = |mut v: Vec<String>| {
            v.push("--exec".into());
            v.extend(self.native(wl));
            v
        };
        let s = |a: &[&str]| a.iter().map(|x| x.to_string()).collect::<Vec<String>>();
        let nproc = if matches!(wl, "fork" | "threads") {
            "600"
        } else {
            "0"
        };
        let nproc = match m {
            Mode::ClassicNproc | Mode::ParanoidNproc if nproc == "0" => NPROC_VARIANT,
            _ => nproc,
        };
        let mut base = self.safeexec_base("30", "60", nproc);
        base.push("--silent".into());
        if matches!(m, Mode::ClassicNodisk | Mode::ParanoidNodisk) {
            base.extend(s(&["--disk", "0"]));
        }
        match m {
            Mode::Classic | Mode::ClassicNproc | Mode::ClassicNodisk => vec![tail(base)],
            Mode::Isolate => {
                let Ok(bin) = &self.isolate else {
                    return vec![];
                };
                // The classic command's limits: 30 s CPU, 60 s wall, 1 GiB of
                // address space, one process unless the workload forks (isolate
                // counts the program itself: --processes=1 is safeexec's
                // --nproc 0). Without --cg, isolate sets these as rlimits.
                let procs = if nproc == "0" { "1" } else { nproc };
                let mut v = vec![
                    bin.to_string_lossy().into_owned(),
                    format!("--box-id={}", self.isolate_box),
                    "--time=30".into(),
                    "--wall-time=60".into(),
                    "--mem=1048576".into(),
                    format!("--processes={procs}"),
                    "--silent".into(),
                    "--run".into(),
                    "--".into(),
                    format!("/box/{wl}"),
                ];
                v.extend(self.wl_args(wl));
                vec![v]
            }
            Mode::AllowAll => {
                let mut v = vec![self.prog("allowall")];
                v.extend(self.native(wl));
                vec![v]
            }
            Mode::Java => {
                let mut v = base.clone();
                v.extend(s(&["--policy", "java"]));
                vec![tail(v)]
            }
            Mode::ParanoidStops => {
                // The workload's policy (or the default) with path violations
                // killing: the filter then stops every call with a restricted path.
                let text = match self.policy_file(wl) {
                    Some(pf) => fs::read_to_string(&pf).unwrap_or_default(),
                    None => "include default\n".into(),
                };
                let pf = self.workdir.join(format!("{wl}.stops.policy"));
                if fs::write(&pf, format!("{text}\non-path-violation kill\n")).is_err() {
                    return vec![];
                }
                let mut v = base.clone();
                v.extend(s(&["--policy", &pf.to_string_lossy()]));
                vec![tail(v)]
            }
            Mode::Paranoid | Mode::ParanoidNproc | Mode::ParanoidNodisk | Mode::Trace => {
                let extra: Vec<String> = if m == Mode::Trace {
                    s(&["--trace", &trace])
                } else {
                    vec![]
                };
                let mut out = Vec::new();
                if let Some(pf) = self.policy_file(wl) {
                    for pre in [s(&["--policy", &pf]), s(&["--paranoid", "--policy", &pf])] {
                        let mut v = base.clone();
                        v.extend(pre);
                        v.extend(extra.clone());
                        out.push(tail(v));
                    }
                }
                let mut v = base.clone();
                v.push("--paranoid".into());
                v.extend(extra);
                out.push(tail(v));
                out
            }
            Mode::Strace => {
                let mut v = s(&["strace", "-f", "-o", &trace]);
                v.extend(self.native(wl));
                vec![v]
            }
            Mode::StraceSeccomp => {
                let mut v = s(&[
                    "strace",
                    "-f",
                    "--seccomp-bpf",
                    "-e",
                    "trace=socket",
                    "-o",
                    &trace,
                ]);
                v.extend(self.native(wl));
                vec![v]
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Statistics and targets

fn sorted(v: &[f64]) -> Vec<f64> {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    s
}

fn quantile(s: &[f64], p: f64) -> f64 {
    if s.is_empty() {
        return f64::NAN;
    }
    let x = p * (s.len() - 1) as f64;
    let (lo, hi) = (x.floor() as usize, x.ceil() as usize);
    s[lo] + (s[hi] - s[lo]) * (x - lo as f64)
}

fn median(v: &[f64]) -> f64 {
    quantile(&sorted(v), 0.5)
}

fn fmt_time(s: f64) -> String {
    if !s.is_finite() {
        "—".into()
    } else if s < 1e-3 {
        format!("{:.0} µs", s * 1e6)
    } else if s < 1.0 {
        format!("{:.2} ms", s * 1e3)
    } else {
        format!("{:.3} s", s)
    }
}

#[derive(Clone, Copy)]
enum Target {
    Max(f64),
    /// at most this factor times the strace -f ratio of the same workload
    Strace(f64),
}

fn target(wl: &str, m: Mode) -> Option<Target> {
    use Target::*;
    match (wl, m) {
        ("startup", Mode::Classic) => Some(Max(2.0)),
        ("startup", Mode::Paranoid) => Some(Max(3.0)),
        ("getppid" | "write", Mode::Classic | Mode::Paranoid) => Some(Max(1.05)),
        ("getppid" | "write", Mode::Trace) => Some(Strace(1.0)),
        ("open", Mode::Classic) => Some(Max(1.05)),
        ("open", Mode::Paranoid) => Some(Strace(0.5)),
        ("open", Mode::Trace) => Some(Strace(1.0)),
        ("fork", Mode::Classic) => Some(Max(1.3)),
        ("fork", Mode::Paranoid) => Some(Max(1.5)),
        ("fork", Mode::Trace) => Some(Strace(1.0)),
        ("threads", Mode::Classic) => Some(Max(1.05)),
        ("threads", Mode::Paranoid) => Some(Max(1.10)),
        ("threads", Mode::Trace) => Some(Strace(1.0)),
        _ => None,
    }
}

#[derive(Default)]
struct Cell {
    /// per round: the mode's wall time, None when that run failed
    times: Vec<Option<f64>>,
    cmd: Vec<String>,
    skipped: Option<String>,
    failures: Vec<String>,
}

struct Overhead {
    unavailable: BTreeMap<Mode, String>,
    native: BTreeMap<String, Vec<Option<f64>>>,
    cells: BTreeMap<(String, Mode), Cell>,
}

impl Overhead {
    fn ratios(&self, wl: &str, m: Mode) -> Vec<f64> {
        self.paired(wl, m, None)
    }
    /// Paired ratios of mode m against `base` (None: native), over rounds where both ran.
    fn paired(&self, wl: &str, m: Mode, base: Option<Mode>) -> Vec<f64> {
        let Some(c) = self.cells.get(&(wl.to_string(), m)) else {
            return vec![];
        };
        if c.skipped.is_some() {
            return vec![];
        }
        let b: &Vec<Option<f64>> = match base {
            None => match self.native.get(wl) {
                Some(n) => n,
                None => return vec![],
            },
            Some(bm) => match self.cells.get(&(wl.to_string(), bm)) {
                Some(bc) if bc.skipped.is_none() => &bc.times,
                _ => return vec![],
            },
        };
        c.times
            .iter()
            .zip(b.iter())
            .filter_map(|(x, y)| match (x, y) {
                (Some(x), Some(y)) if *y > 0.0 => Some(x / y),
                _ => None,
            })
            .collect()
    }
    /// Paired differences (seconds) of mode m minus mode `base`, round by round.
    fn paired_diff(&self, wl: &str, m: Mode, base: Mode) -> Vec<f64> {
        let get = |mm: Mode| {
            self.cells
                .get(&(wl.to_string(), mm))
                .filter(|c| c.skipped.is_none())
        };
        let (Some(a), Some(b)) = (get(m), get(base)) else {
            return vec![];
        };
        a.times
            .iter()
            .zip(b.times.iter())
            .filter_map(|(x, y)| Some((*x)? - (*y)?))
            .collect()
    }
    fn median_ratio(&self, wl: &str, m: Mode) -> Option<f64> {
        let r = self.ratios(wl, m);
        (!r.is_empty()).then(|| median(&r))
    }
}

// ---------------------------------------------------------------------------------------------
// Overhead section

fn run_overhead(o: &Opts, ctx: &Ctx, runner: &Runner, notes: &mut Vec<String>) -> Overhead {
    let mut res = Overhead {
        unavailable: BTreeMap::new(),
        native: BTreeMap::new(),
        cells: BTreeMap::new(),
    };
    let mut unavailable: BTreeMap<Mode, String> = BTreeMap::new();
    for &m in &o.modes {
        if let Err(why) = ctx.available(m) {
            notes.push(format!("mode {} skipped: {why}", m.name()));
            unavailable.insert(m, why);
        }
    }
    for wl in &o.workloads {
        let native_cmd = ctx.native(wl);
        // warm-up: native must work, and each mode picks its first working variant
        match runner.run(&native_cmd, &ctx.workdir, true) {
            Ok(r) if r.ok() => {}
            Ok(r) => {
                notes.push(format!(
                    "workload {wl} skipped: it fails natively ({})",
                    r.describe()
                ));
                continue;
            }
            Err(e) => {
                notes.push(format!("workload {wl} skipped: {e}"));
                continue;
            }
        }
        for &m in &o.modes {
            let mut cell = Cell::default();
            if let Some(why) = unavailable.get(&m) {
                cell.skipped = Some(why.clone());
            } else if let Err(why) = if m == Mode::Isolate {
                ctx.isolate_init(wl)
            } else {
                Ok(())
            } {
                notes.push(format!("{wl} under {}: {why}", m.name()));
                cell.skipped = Some(why);
            } else {
                let mut last = String::new();
                for v in ctx.variants(wl, m) {
                    match runner.run(&v, &ctx.workdir, true) {
                        Ok(r) if r.ok() => {
                            cell.cmd = v;
                            break;
                        }
                        Ok(r) => last = format!("{}: {}", r.describe(), first_line(&r.stderr)),
                        Err(e) => last = e,
                    }
                }
                if cell.cmd.is_empty() {
                    let why = format!("warm-up run failed ({last})");
                    notes.push(format!("{wl} under {}: {why}", m.name()));
                    cell.skipped = Some(why);
                }
            }
            res.cells.insert((wl.clone(), m), cell);
        }
        eprint!("{wl}: {} rounds ", o.rounds);
        let mut native_times = Vec::new();
        for _round in 0..o.rounds {
            native_times.push(match runner.run(&native_cmd, &ctx.workdir, false) {
                Ok(r) if r.ok() => Some(r.wall),
                _ => None,
            });
            for &m in &o.modes {
                let Some(cell) = res.cells.get_mut(&(wl.clone(), m)) else {
                    continue;
                };
                if cell.skipped.is_some() {
                    continue;
                }
                let t = match runner.run(&cell.cmd, &ctx.workdir, false) {
                    Ok(r) if r.ok() => Some(r.wall),
                    Ok(r) => {
                        cell.failures.push(r.describe());
                        if r.timed_out {
                            // no point spending the cap again on every round
                            cell.skipped =
                                Some(format!("a run went past the {} s cap", o.timeout.as_secs()));
                            notes.push(format!(
                                "{wl} under {}: a run went past the {} s cap and was killed; rest of the rounds skipped (try --scale)",
                                m.name(),
                                o.timeout.as_secs()
                            ));
                        }
                        None
                    }
                    Err(e) => {
                        cell.failures.push(e);
                        None
                    }
                };
                cell.times.push(t);
                // trace files can be large: drop them run by run
                let _ = clear_dir(&ctx.tracedir);
            }
            eprint!(".");
        }
        eprintln!();
        if o.modes.contains(&Mode::Isolate) && !unavailable.contains_key(&Mode::Isolate) {
            ctx.isolate_cleanup();
        }
        for &m in &o.modes {
            if let Some(c) = res.cells.get(&(wl.clone(), m)) {
                if !c.failures.is_empty() && c.skipped.is_none() {
                    notes.push(format!(
                        "{wl} under {}: {} failed run(s), e.g. {}",
                        m.name(),
                        c.failures.len(),
                        c.failures[0]
                    ));
                }
            }
        }
        res.native.insert(wl.clone(), native_times);
    }
    res.unavailable = unavailable;
    res
}

fn clear_dir(d: &Path) -> io::Result<()> {
    for e in fs::read_dir(d)?.flatten() {
        let _ = fs::remove_file(e.path());
    }
    Ok(())
}

fn overhead_markdown(o: &Opts, res: &Overhead) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "| workload | mode | native median | mode median | median ratio | spread (min–max) | IQR | n | target | met? |");
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|---:|---|---|");
    for wl in &o.workloads {
        let Some(nat) = res.native.get(wl) else {
            continue;
        };
        let nat_ok: Vec<f64> = nat.iter().flatten().copied().collect();
        let nat_med = if nat_ok.is_empty() {
            f64::NAN
        } else {
            median(&nat_ok)
        };
        for &m in &o.modes {
            let Some(c) = res.cells.get(&(wl.clone(), m)) else {
                continue;
            };
            let tgt = target(wl, m);
            let tgt_s = match tgt {
                None => "—".to_string(),
                Some(Target::Max(x)) => format!("≤ {x:.2}"),
                Some(Target::Strace(1.0)) => "≤ strace -f".to_string(),
                Some(Target::Strace(f)) => format!("≤ {f}× strace -f"),
            };
            let r = res.ratios(wl, m);
            if r.is_empty() && res.unavailable.contains_key(&m) {
                continue; // the mode is missing altogether: said once in the notes
            }
            if r.is_empty() {
                let why = c
                    .skipped
                    .clone()
                    .unwrap_or_else(|| "no successful run".into());
                let _ = writeln!(
                    s,
                    "| {wl} | {} | {} | — | — | — | — | 0 | {tgt_s} | not measured: {why} |",
                    m.name(),
                    fmt_time(nat_med)
                );
                continue;
            }
            let mode_ok: Vec<f64> = c.times.iter().flatten().copied().collect();
            let rs = sorted(&r);
            let med = quantile(&rs, 0.5);
            let met = match tgt {
                None => "—".to_string(),
                Some(Target::Max(x)) => yes_no(med <= x),
                Some(Target::Strace(f)) => match res.median_ratio(wl, Mode::Strace) {
                    Some(sr) => format!("{} (strace -f {:.2})", yes_no(med <= f * sr), sr),
                    None => "? (strace -f not measured)".to_string(),
                },
            };
            let partial = if c.skipped.is_some() {
                " (stopped early)"
            } else {
                ""
            };
            let _ = writeln!(
                s,
                "| {wl} | {} | {} | {} | {:.3} | {:.3}–{:.3} | {:.3}–{:.3} | {}{partial} | {tgt_s} | {met} |",
                m.name(),
                fmt_time(nat_med),
                fmt_time(median(&mode_ok)),
                med,
                rs[0],
                rs[rs.len() - 1],
                quantile(&rs, 0.25),
                quantile(&rs, 0.75),
                rs.len()
            );
        }
    }
    // issue 3 targets
    let mut extra = String::new();
    let pc = res.paired("startup", Mode::Paranoid, Some(Mode::Classic));
    if !pc.is_empty() {
        let med = median(&pc);
        let _ = writeln!(
            extra,
            "| startup: paranoid / classic (paired) | {med:.3} | ≤ 1.50 | {} |",
            yes_no(med <= 1.5)
        );
    }
    if let Some(med) = res.median_ratio("getppid", Mode::Paranoid) {
        let _ = writeln!(
            extra,
            "| getppid: paranoid / native | {med:.3} | ≤ 1.10 | {} |",
            yes_no(med <= 1.10)
        );
    }
    if let Some(med) = res.median_ratio("fork", Mode::Paranoid) {
        let _ = writeln!(
            extra,
            "| fork: paranoid / native | {med:.3} | ≤ 2.00 | {} |",
            yes_no(med <= 2.0)
        );
    }
    let i17 = issue17_targets(res);
    if !i17.is_empty() {
        let _ = writeln!(s, "\nIssue 17 targets:\n\n| comparison | median | target | met? |\n|---|---:|---|---|\n{i17}");
    }
    if !extra.is_empty() {
        let _ = writeln!(s, "\nIssue 3 targets:\n\n| comparison | median ratio | target | met? |\n|---|---:|---|---|\n{extra}");
    }
    s
}

/// Issue 17: the cgroup join, start-up, path rules without stops, the
/// per-call cost against the allow-all floor.
fn issue17_targets(res: &Overhead) -> String {
    let mut x = String::new();
    // one row: the median of the ratios r against a maximum (None: a reference, no target)
    let ratio = |x: &mut String, what: &str, r: Vec<f64>, max: Option<f64>| {
        if r.is_empty() {
            return;
        }
        let med = median(&r);
        let _ = match max {
            Some(max) => writeln!(
                x,
                "| {what} | {med:.3} | ≤ {max:.2} | {} |",
                yes_no(med <= max)
            ),
            None => writeln!(x, "| {what} | {med:.3} | — | — |"),
        };
    };
    for (m, name) in [
        (Mode::Classic, "classic"),
        (Mode::Paranoid, "paranoid"),
        (Mode::ClassicNproc, "classic --nproc 100"),
        (Mode::ParanoidNproc, "paranoid --nproc 100"),
    ] {
        ratio(
            &mut x,
            &format!("startup: {name} / native"),
            res.ratios("startup", m),
            Some(3.0),
        );
    }
    // "below isolate in the same run": each start-up against isolate's, paired
    // round by round (both runs follow the same native run).
    ratio(
        &mut x,
        "startup: isolate / native (reference)",
        res.ratios("startup", Mode::Isolate),
        None,
    );
    for (m, name) in [
        (Mode::Classic, "classic"),
        (Mode::Paranoid, "paranoid"),
        (Mode::ClassicNproc, "classic --nproc 100"),
        (Mode::ParanoidNproc, "paranoid --nproc 100"),
    ] {
        let r = res.paired("startup", m, Some(Mode::Isolate));
        if !r.is_empty() {
            let med = median(&r);
            let _ = writeln!(
                x,
                "| startup: {name} / isolate (paired) | {med:.3} | < 1.00 | {} |",
                yes_no(med < 1.0)
            );
        }
    }
    ratio(
        &mut x,
        "cpu200: classic --nproc 100 / native",
        res.ratios("cpu200", Mode::ClassicNproc),
        Some(1.03),
    );
    ratio(
        &mut x,
        "open: paranoid / native",
        res.ratios("open", Mode::Paranoid),
        Some(1.15),
    );
    ratio(
        &mut x,
        "open: paranoid-nodisk (--disk 0) / native",
        res.ratios("open", Mode::ParanoidNodisk),
        Some(1.15),
    );
    ratio(
        &mut x,
        "open: paranoid / classic (paired; the path rules' cost alone)",
        res.paired("open", Mode::Paranoid, Some(Mode::Classic)),
        Some(1.15),
    );
    ratio(
        &mut x,
        "open: paranoid-nodisk / classic-nodisk (paired; the path rules' cost alone)",
        res.paired("open", Mode::ParanoidNodisk, Some(Mode::ClassicNodisk)),
        Some(1.15),
    );
    for (m, what) in [
        (Mode::ClassicNodisk, "classic-nodisk (--disk 0) / native"),
        (Mode::Isolate, "isolate / native (reference)"),
    ] {
        ratio(
            &mut x,
            &format!("open: {what}"),
            res.ratios("open", m),
            None,
        );
    }
    // Per-call cost against the floor: the workload's time minus the same
    // mode's start-up (medians), so the sandbox's fixed cost (a few ms)
    // does not count as a per-call cost on a 26 ms workload.
    let loop_time = |wl: &str, m: Mode| -> Option<f64> {
        let med = |w: &str| {
            let c = res.cells.get(&(w.to_string(), m))?;
            let t: Vec<f64> = c.times.iter().flatten().copied().collect();
            (c.skipped.is_none() && !t.is_empty()).then(|| median(&t))
        };
        Some(med(wl)? - med("startup")?)
    };
    let mut per_call = String::new();
    for wl in ["getppid", "write", "threads"] {
        for (m, name) in [(Mode::Paranoid, "paranoid"), (Mode::Java, "java policy")] {
            if let (Some(a), Some(b)) = (loop_time(wl, m), loop_time(wl, Mode::AllowAll)) {
                if b > 0.0 {
                    let r = a / b;
                    let _ = writeln!(
                        per_call,
                        "| {wl}: {name} / allow-all, each minus its start-up (medians) | {r:.3} | ≤ 1.03 | {} |",
                        yes_no(r <= 1.03)
                    );
                }
            }
        }
        ratio(
            &mut x,
            &format!("{wl}: paranoid / allow-all (paired, start-up included)"),
            res.paired(wl, Mode::Paranoid, Some(Mode::AllowAll)),
            Some(1.03),
        );
    }
    x.push_str(&per_call);
    for wl in ["startup", "cpu200", "mem100"] {
        for (m, base, name) in [
            (Mode::ClassicNproc, Mode::Classic, "classic"),
            (Mode::ParanoidNproc, Mode::Paranoid, "paranoid"),
        ] {
            let d = res.paired_diff(wl, m, base);
            if !d.is_empty() {
                let med = median(&d) * 1e3;
                let _ = writeln!(
                    x,
                    "| {wl}: {name} --nproc 100 minus --nproc 0 (paired, ms) | {med:+.2} ms | ≤ +2 ms | {} |",
                    yes_no(med <= 2.0)
                );
            }
        }
    }
    x
}

fn yes_no(b: bool) -> String {
    if b {
        "yes".into()
    } else {
        "**no**".into()
    }
}

// ---------------------------------------------------------------------------------------------
// Accuracy section

/// What safeexec reported about one run, read leniently from JSON or the classic 4-line report.
#[derive(Default, Debug)]
struct Report {
    verdict: Option<String>,
    memory_kib: Option<f64>,
    cpu_s: Option<f64>,
    wall_s: Option<f64>,
    /// ("json key" or "classic line") of each figure, for the labels
    source: Vec<String>,
    sup_memory_kib: Option<f64>,
    sup_cpu_s: Option<f64>,
}

fn unit_factor(key: &str) -> f64 {
    let k = key.to_ascii_lowercase();
    if k.ends_with("_ms") || k.ends_with("_msec") {
        1e-3
    } else if k.ends_with("_us") || k.ends_with("_usec") {
        1e-6
    } else if k.ends_with("_ns") {
        1e-9
    } else if k.ends_with("_bytes") || k.ends_with("_b") {
        1.0 / 1024.0
    } else if k.ends_with("_mib") || k.ends_with("_mb") {
        1024.0
    } else {
        1.0
    }
}

/// Depth-first search for the first key of `keys` (in order of preference) with a number,
/// skipping the subtrees named in `skip`.
fn find_num(v: &serde_json::Value, keys: &[&str], skip: &[&str]) -> Option<(String, f64)> {
    fn walk(v: &serde_json::Value, key: &str, skip: &[&str]) -> Option<f64> {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    if k.eq_ignore_ascii_case(key) {
                        let n = match x {
                            serde_json::Value::Number(n) => n.as_f64(),
                            serde_json::Value::String(s) => s.trim().parse().ok(),
                            _ => None,
                        };
                        if n.is_some() {
                            return n;
                        }
                    }
                }
                for (k, x) in m {
                    if skip.iter().any(|s| k.eq_ignore_ascii_case(s)) {
                        continue;
                    }
                    if let Some(n) = walk(x, key, skip) {
                        return Some(n);
                    }
                }
                None
            }
            serde_json::Value::Array(a) => a.iter().find_map(|x| walk(x, key, skip)),
            _ => None,
        }
    }
    keys.iter()
        .find_map(|k| walk(v, k, skip).map(|n| (k.to_string(), n * unit_factor(k))))
}

const MEM_KEYS: &[&str] = &[
    "peak_memory_kib",
    "memory_kib",
    "max_rss_kib",
    "maxrss_kib",
    "peak_rss_kib",
    "memory_bytes",
    "memory",
    "peak_memory",
    "max_rss",
    "maxrss",
];
const CPU_KEYS: &[&str] = &[
    "cpu_seconds",
    "cpu_secs",
    "cpu_s",
    "cpu_ms",
    "cpu_time_ms",
    "cpu_usec",
    "cpu_time",
    "cpu",
    "cpu_usage",
];
const WALL_KEYS: &[&str] = &[
    "wall_ms",
    "elapsed_ms",
    "wall_time_ms",
    "clock_ms",
    "wall_seconds",
    "elapsed_seconds",
    "wall_s",
    "wall",
    "elapsed",
    "elapsed_time",
    "wall_time",
    "clock",
];

fn parse_report(text: &str) -> Report {
    let mut r = Report::default();
    let trimmed = text.trim();
    if let Some(start) = trimmed.find('{') {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&trimmed[start..]) {
            let skip = ["supervisor", "limits", "sources"];
            if let Some((k, x)) = find_num(&v, MEM_KEYS, &skip) {
                r.memory_kib = Some(x);
                r.source.push(format!("memory: JSON `{k}`"));
            }
            if let Some((k, x)) = find_num(&v, CPU_KEYS, &skip) {
                r.cpu_s = Some(x);
                r.source.push(format!("cpu: JSON `{k}`"));
            }
            if let Some((k, x)) = find_num(&v, WALL_KEYS, &skip) {
                r.wall_s = Some(x);
                r.source.push(format!("wall: JSON `{k}`"));
            }
            for key in ["verdict", "status", "result"] {
                if let Some(s) = v.get(key).and_then(|x| x.as_str()) {
                    r.verdict = Some(s.to_string());
                    break;
                }
            }
            if let Some(sup) = v.get("supervisor") {
                r.sup_memory_kib = find_num(sup, MEM_KEYS, &[]).map(|x| x.1);
                r.sup_cpu_s = find_num(sup, CPU_KEYS, &[]).map(|x| x.1);
            }
        }
    }
    // classic 4-line report (also fills what the JSON lacked)
    let num_after = |line: &str, tag: &str| -> Option<f64> {
        let i = line.find(tag)?;
        line[i + tag.len()..]
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    };
    for line in text.lines() {
        let l = line.trim();
        if r.verdict.is_none() && !l.is_empty() && !l.starts_with('{') && !l.contains(':') {
            r.verdict = Some(l.to_string());
        }
        if r.wall_s.is_none() {
            if let Some(x) = num_after(l, "elapsed time:") {
                r.wall_s = Some(x);
                r.source.push("wall: classic `elapsed time`".into());
            }
        }
        if r.memory_kib.is_none() {
            if let Some(x) = num_after(l, "memory usage:") {
                r.memory_kib = Some(x);
                r.source.push("memory: classic `memory usage`".into());
            }
        }
        if r.cpu_s.is_none() {
            if let Some(x) = num_after(l, "cpu usage:") {
                r.cpu_s = Some(x);
                r.source.push("cpu: classic `cpu usage`".into());
            }
        }
    }
    r
}

struct AccRow {
    check: String,
    measured: String,
    reference: String,
    criterion: String,
    met: String,
}

fn run_accuracy(ctx: &Ctx, runner: &Runner, o: &Opts, notes: &mut Vec<String>) -> Vec<AccRow> {
    let mut rows = Vec::new();
    if let Err(why) = ctx.available(Mode::Classic) {
        notes.push(format!("accuracy section skipped: {why}"));
        return rows;
    }
    let Some(caps) = &ctx.caps else { return rows };
    let usage = ctx.tracedir.join("usage.txt");
    let usage_s = usage.to_string_lossy().into_owned();
    let json = caps.has("--report");
    let has_usage = caps.has("--usage");
    if !json {
        notes.push("accuracy: safeexec has no --report yet; reading the classic report".into());
    }
    // one safeexec run with a report; returns the parsed report and the harness' view of the run
    let sandboxed =
        |wl: &str, cpu: &str, clock: &str, extra: &[&str]| -> Result<(Report, RunOut), String> {
            let mut v = ctx.safeexec_base(cpu, clock, "0");
            v.extend(extra.iter().map(|s| s.to_string()));
            if json {
                v.extend(["--report".to_string(), "json".to_string()]);
            }
            if has_usage {
                v.extend(["--usage".to_string(), usage_s.clone()]);
            }
            v.push("--exec".into());
            v.extend(ctx.native(wl));
            let _ = fs::remove_file(&usage);
            let r = runner.run(&v, &ctx.workdir, true)?;
            let text = if has_usage {
                fs::read_to_string(&usage).unwrap_or_default()
            } else {
                String::new()
            };
            let mut rep = parse_report(&text);
            if rep.memory_kib.is_none() && rep.cpu_s.is_none() {
                rep = parse_report(&r.stderr);
            }
            Ok((rep, r))
        };
    let native = |wl: &str| runner.run(&ctx.native(wl), &ctx.workdir, false);
    let reps = if o.rounds >= 5 { 3 } else { 2 };

    // peak memory
    for wl in ["mem10", "mem100"] {
        let mut nat = Vec::new();
        let mut rep = Vec::new();
        let mut src = String::new();
        for _ in 0..reps {
            if let Ok(r) = native(wl) {
                if r.ok() {
                    nat.push(r.ru.ru_maxrss as f64);
                }
            }
            match sandboxed(wl, "30", "60", &[]) {
                Ok((p, _)) => {
                    if let Some(m) = p.memory_kib {
                        rep.push(m);
                        src = p
                            .source
                            .iter()
                            .find(|s| s.starts_with("memory"))
                            .cloned()
                            .unwrap_or_default();
                    }
                }
                Err(e) => notes.push(format!("accuracy {wl}: {e}")),
            }
        }
        let (n, m) = (median_opt(&nat), median_opt(&rep));
        let (measured, met) = match (n, m) {
            (Some(n), Some(m)) => (
                format!("{m:.0} KiB (ratio {:.3}; {src})", m / n),
                yes_no((m / n - 1.0).abs() <= 0.02),
            ),
            (None, _) => ("—".into(), "not measured: native run failed".into()),
            (_, None) => (
                "—".into(),
                "not measured: no memory figure in the report".into(),
            ),
        };
        rows.push(AccRow {
            check: format!("peak memory, {wl}"),
            measured,
            reference: n
                .map(|n| format!("{n:.0} KiB (native wait4 ru_maxrss)"))
                .unwrap_or("—".into()),
            criterion: "within 2%".into(),
            met,
        });
    }

    // CPU limit
    match sandboxed("busy", "0.5", "60", &[]) {
        Ok((p, r)) => {
            let (measured, met) = match p.cpu_s {
                Some(c) => (
                    format!(
                        "{c:.3} s reported ({}, verdict {})",
                        r.describe(),
                        p.verdict.clone().unwrap_or("?".into())
                    ),
                    yes_no((0.50..=0.55).contains(&c)),
                ),
                None => (
                    "—".into(),
                    "not measured: no cpu figure in the report".into(),
                ),
            };
            rows.push(AccRow {
                check: "CPU limit: --cpu 0.5 on busy".into(),
                measured,
                reference: format!("harness wall {}", fmt_time(r.wall)),
                criterion: "0.50–0.55 s".into(),
                met,
            });
        }
        Err(e) => notes.push(format!("accuracy cpu limit: {e}")),
    }

    // wall-clock limit
    match sandboxed("sleeper", "30", "1", &[]) {
        Ok((p, r)) => {
            let (measured, met) = match p.wall_s {
                Some(w) => (
                    format!(
                        "{w:.3} s reported ({}, verdict {})",
                        r.describe(),
                        p.verdict.clone().unwrap_or("?".into())
                    ),
                    yes_no((1.00..=1.05).contains(&w)),
                ),
                None => (
                    "—".into(),
                    "not measured: no elapsed figure in the report".into(),
                ),
            };
            rows.push(AccRow {
                check: "wall limit: --clock 1 on sleeper".into(),
                measured,
                reference: format!("harness wall {}", fmt_time(r.wall)),
                criterion: "1.00–1.05 s".into(),
                met,
            });
            if !p.source.iter().any(|s| s.starts_with("wall: JSON")) && p.wall_s.is_some() {
                notes.push("wall limit: the elapsed figure came from the classic report (whole seconds, coarse)".into());
            }
        }
        Err(e) => notes.push(format!("accuracy wall limit: {e}")),
    }

    // reported CPU of cpu200 vs the kernel's rusage natively
    {
        let mut nat = Vec::new();
        let mut rep = Vec::new();
        for _ in 0..reps {
            if let Ok(r) = native("cpu200") {
                if r.ok() {
                    nat.push(r.cpu());
                }
            }
            if let Ok((p, _)) = sandboxed("cpu200", "30", "60", &[]) {
                if let Some(c) = p.cpu_s {
                    rep.push(c);
                }
            }
        }
        let (n, m) = (median_opt(&nat), median_opt(&rep));
        let (measured, met) = match (n, m) {
            (Some(n), Some(m)) => (
                format!("{m:.3} s reported (diff {:+.1} ms)", (m - n) * 1e3),
                yes_no((m - n).abs() <= 0.010),
            ),
            _ => ("—".into(), "not measured".into()),
        };
        rows.push(AccRow {
            check: "reported CPU, cpu200".into(),
            measured,
            reference: n
                .map(|n| format!("{n:.3} s (native wait4 utime+stime)"))
                .unwrap_or("—".into()),
            criterion: "within 10 ms".into(),
            met,
        });
    }

    // the supervisor's own cost (best effort)
    let mut sup_runs: Vec<(&str, &str, Vec<String>)> = vec![("startup", "classic", vec![])];
    if ctx.available(Mode::Paranoid).is_ok() {
        for wl in ["startup", "getppid"] {
            let extra = match ctx.policy_file(wl) {
                Some(pf) => vec!["--policy".to_string(), pf],
                None => vec!["--paranoid".to_string()],
            };
            sup_runs.push((wl, "paranoid", extra));
        }
    }
    for (wl, mname, extra) in sup_runs {
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        match sandboxed(wl, "30", "60", &extra) {
            Ok((p, r)) => {
                let (mem, cpu, how) = if p.sup_memory_kib.is_some() || p.sup_cpu_s.is_some() {
                    (
                        p.sup_memory_kib,
                        p.sup_cpu_s,
                        "JSON `supervisor` figures".to_string(),
                    )
                } else {
                    let cpu = p.cpu_s.map(|c| (r.cpu() - c).max(0.0));
                    (
                        Some(r.ru.ru_maxrss as f64),
                        cpu,
                        format!(
                            "wait4 on safeexec: maxrss is max(supervisor, program {} KiB); CPU = total {:.3} s − program's reported",
                            p.memory_kib.map(|m| format!("{m:.0}")).unwrap_or("?".into()),
                            r.cpu()
                        ),
                    )
                };
                rows.push(AccRow {
                    check: format!("supervisor cost, {wl} under {mname} (best effort)"),
                    measured: format!(
                        "peak {} KiB, CPU {}",
                        mem.map(|m| format!("{m:.0}")).unwrap_or("?".into()),
                        cpu.map(|c| format!("{:.1} ms", c * 1e3))
                            .unwrap_or("?".into())
                    ),
                    reference: how,
                    criterion: "— (informative)".into(),
                    met: format!(
                        "— ({}, verdict {})",
                        r.describe(),
                        p.verdict.clone().unwrap_or("?".into())
                    ),
                });
            }
            Err(e) => notes.push(format!("supervisor cost {wl}/{mname}: {e}")),
        }
    }
    rows
}

fn median_opt(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| median(v))
}

fn accuracy_markdown(rows: &[AccRow]) -> String {
    let mut s = String::from(
        "| check | safeexec | reference | criterion | met? |\n|---|---|---|---|---|\n",
    );
    for r in rows {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} |",
            r.check, r.measured, r.reference, r.criterion, r.met
        );
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Machine description and main

fn machine() -> String {
    // not available_parallelism(): that follows the harness' own affinity (--pin)
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    let nproc = if n > 0 { n.to_string() } else { "?".into() };
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or("?".into());
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|x| x.trim().to_string())
        })
        .unwrap_or("?".into());
    format!("{nproc} CPUs, kernel {kernel}, {cpu}")
}

fn now_utc() -> String {
    helper(
        Command::new("date").args(["-u", "+%Y-%m-%d %H:%M:%S UTC"]),
        Duration::from_secs(5),
    )
    .map(|(_, t)| t.trim().to_string())
    .unwrap_or_else(|_| "?".into())
}

fn command_line() -> String {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.is_empty() {
        "cargo bench --bench overhead".into()
    } else {
        format!("cargo bench --bench overhead -- {}", args.join(" "))
    }
}

struct Cleanup(Option<PathBuf>);
impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(p) = &self.0 {
            let _ = fs::remove_dir_all(p);
        }
    }
}

fn pin_to(cpu: usize) -> Result<(), String> {
    // SAFETY: cpu_set_t is plain data; CPU_SET writes within it (cpu is checked below the set
    // size); sched_setaffinity(0) affects the calling thread only, and children inherit it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if cpu >= 8 * std::mem::size_of::<libc::cpu_set_t>() {
            return Err(format!("--pin {cpu}: CPU number too large"));
        }
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(format!("--pin {cpu}: {}", io::Error::last_os_error()));
        }
    }
    Ok(())
}

fn real_main() -> Result<(), String> {
    let o = parse_args()?;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let wl_dir = build_workloads(&root)?;
    let mut notes: Vec<String> = Vec::new();

    // temporary working directory, readable by the unprivileged uid the sandbox runs as
    let base = std::env::temp_dir().join(format!("safeexec-bench-{}", std::process::id()));
    let _cleanup = Cleanup((!o.keep).then(|| base.clone()));
    let workdir = base.join("work");
    let tracedir = base.join("out");
    for d in [&base, &workdir, &workdir.join("bin"), &tracedir] {
        fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
        fs::set_permissions(d, fs::Permissions::from_mode(0o755))
            .map_err(|e| format!("{}: {e}", d.display()))?;
    }
    fs::write(workdir.join("data.txt"), "safeexec bench data\n")
        .map_err(|e| format!("data.txt: {e}"))?;
    for e in fs::read_dir(&wl_dir).map_err(|e| e.to_string())?.flatten() {
        let dst = workdir.join("bin").join(e.file_name());
        fs::copy(e.path(), &dst).map_err(|err| format!("copying {}: {err}", e.path().display()))?;
        fs::set_permissions(&dst, fs::Permissions::from_mode(0o755))
            .map_err(|err| err.to_string())?;
    }

    let wants_safeexec = o.accuracy || o.modes.iter().any(|m| m.uses_safeexec());
    let (safeexec, caps) = if wants_safeexec {
        match safeexec_binary(&root, &o.safeexec) {
            Ok(b) => {
                let (_, help) = helper(Command::new(&b).arg("--help"), Duration::from_secs(10))?;
                (Some(b), Some(Caps { help }))
            }
            Err(why) => {
                notes.push(format!("safeexec modes skipped: {why}"));
                (None, None)
            }
        }
    } else {
        (None, None)
    };
    // SAFETY: geteuid has no preconditions.
    if safeexec.is_some() && unsafe { libc::geteuid() } != 0 {
        notes.push("the harness is not root: safeexec must be setuid root to switch uids".into());
    }
    let strace = o
        .modes
        .iter()
        .any(|m| matches!(m, Mode::Strace | Mode::StraceSeccomp))
        && helper(Command::new("strace").arg("-V"), Duration::from_secs(10))
            .map(|r| r.0)
            .unwrap_or(false);

    let isolate = if o.modes.contains(&Mode::Isolate) {
        isolate_binary(&o.isolate)
    } else {
        Err("not asked for".into())
    };

    let wd = Watchdog::start()?;
    if let Some(cpu) = o.pin {
        pin_to(cpu)?;
    }
    let prefix = match (o.pin, o.pin_taskset) {
        (Some(cpu), true) => vec!["taskset".to_string(), "-c".to_string(), cpu.to_string()],
        _ => vec![],
    };
    let runner = Runner {
        wd,
        timeout: o.timeout,
        prefix,
        scratch: tracedir.clone(),
    };
    let ctx = Ctx {
        root: root.clone(),
        workdir,
        tracedir,
        safeexec,
        caps,
        strace,
        isolate,
        isolate_box: o.isolate_box,
        scale: o.scale,
    };

    let date = now_utc();
    let started = Instant::now();
    let overhead = if o.overhead {
        Some(run_overhead(&o, &ctx, &runner, &mut notes))
    } else {
        None
    };
    let accuracy = if o.accuracy {
        run_accuracy(&ctx, &runner, &o, &mut notes)
    } else {
        vec![]
    };

    let mut md = String::new();
    let _ = writeln!(md, "## Overhead: median of paired ratios to native\n");
    let _ = writeln!(
        md,
        "{} round(s), each: native then every mode, back to back; ratio = run i under the mode / run i native.{}{}\n",
        o.rounds,
        match o.pin {
            Some(c) if o.pin_taskset => format!(" Every command under `taskset -c {c}`."),
            Some(c) => format!(" Pinned to CPU {c} (inherited affinity)."),
            None => " Not pinned.".into(),
        },
        if o.scale != 1.0 { format!(" Loop counts scaled by {}.", o.scale) } else { String::new() }
    );
    if let Some(res) = &overhead {
        md.push_str(&overhead_markdown(&o, res));
        let _ = writeln!(md, "\nModes:\n");
        for &m in &o.modes {
            let missing = if res.unavailable.contains_key(&m) {
                " — not measured (see the notes)"
            } else {
                ""
            };
            let _ = writeln!(md, "- {}: {}{missing}", m.name(), m.describe());
        }
        let mut shown: BTreeMap<String, String> = BTreeMap::new();
        for ((wl, m), c) in &res.cells {
            let policy = matches!(m, Mode::Paranoid | Mode::ParanoidNodisk | Mode::Trace)
                && c.cmd.iter().any(|a| a == "--policy");
            // isolate's command (its limits), once: the others differ in PROG and --processes
            let isolate = *m == Mode::Isolate && !shown.keys().any(|k| k.ends_with(" isolate"));
            if !c.cmd.is_empty() && (policy || isolate) {
                shown.insert(format!("{wl} under {}", m.name()), c.cmd.join(" "));
            }
        }
        let wd = ctx.workdir.to_string_lossy().into_owned();
        let rt = format!("{}/", root.to_string_lossy());
        for (k, v) in shown {
            let v = v.replace(&wd, "WORKDIR").replace(&rt, "");
            let _ = writeln!(
                md,
                "- {k} ran as: `{v}` (WORKDIR: the temporary working directory)"
            );
        }
    } else {
        let _ = writeln!(md, "(skipped: --accuracy-only)");
    }
    if o.accuracy {
        let _ = writeln!(md, "\n## Accuracy\n");
        md.push_str(&accuracy_markdown(&accuracy));
    }
    if !notes.is_empty() {
        let _ = writeln!(md, "\n## Notes\n");
        for n in &notes {
            let _ = writeln!(md, "- {n}");
        }
    }
    let _ = writeln!(md, "\n(took {:.0} s)", started.elapsed().as_secs_f64());
    println!("{md}");

    if let Some(out) = &o.out {
        let commit = helper(
            Command::new("git")
                .args(["rev-parse", "--short", "HEAD"])
                .current_dir(&root),
            Duration::from_secs(10),
        )
        .ok()
        .filter(|r| r.0)
        .map(|r| r.1.trim().to_string())
        .unwrap_or("?".into());
        let mut doc = String::new();
        let _ = writeln!(doc, "# safeexec performance results\n");
        let _ = writeln!(doc, "- command: `{}`", command_line());
        let _ = writeln!(doc, "- date: {date}");
        let _ = writeln!(doc, "- machine: {}", machine());
        let _ = writeln!(doc, "- commit: {commit}\n");
        doc.push_str(&md);
        let out = if out.is_absolute() {
            out.clone()
        } else {
            root.join(out)
        };
        if let Some(p) = out.parent() {
            let _ = fs::create_dir_all(p);
        }
        fs::write(&out, doc).map_err(|e| format!("writing {}: {e}", out.display()))?;
        eprintln!("wrote {}", out.display());
    }
    Ok(())
}

fn main() {
    if let Err(e) = real_main() {
        eprintln!("overhead bench: error: {e}");
        std::process::exit(1);
    }
}
