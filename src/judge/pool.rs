//! Judging: prepares the submissions, then runs compile and test jobs,
//! each in a worker process of its own (so each run has its own supervisor
//! pid, hence its own uid, and its own stdin, stdout and CPU), at most
//! `--jobs` at a time.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::{SigSet, Signal};

use crate::adminconf::AdminConf;
use crate::resolve::LimitRequest;
use crate::Limits;

use super::compare::{Flags, Validator};
use super::lang::{self, Language, Languages};
use super::output::{self, Document, ProblemInfo, ProblemLimits, Progress};
use super::package::{self, Problem, TestCase};
use super::sandbox::{self, Spec};
use super::steps::*;
use super::verdict::{Code, CompileResult, RunFigures, SubmissionResult, TestLimits, TestResult};
use super::{JudgeArgs, JudgeError, Mode};

/// Built program name in a build directory.
pub(super) const BINARY: &str = "a.out";
/// Lines of a compiler's message kept.
pub(super) const MESSAGE_LINES: usize = 10;

/// One submission, ready to build.
pub(super) struct Submission {
    pub(super) label: String,
    pub(super) lang_key: String,
    pub(super) lang: Language,
    pub(super) expected: Option<Code>,
    /// Source file names (in `build`).
    pub(super) files: Vec<String>,
    pub(super) main: String,
    /// Its build directory: sources copied in, compiled there.
    pub(super) build: PathBuf,
    /// The limits of its tests as the library resolved them (the
    /// document's `limits`).
    pub(super) limits: Limits,
    /// What its test runs ask for: the judge's limits in paranoid mode
    /// (the others from the policy), every limit in classic mode.
    pub(super) request: LimitRequest,
    /// The problem's memory limit, MiB ({memory_mib}).
    pub(super) memory_mib: u64,
    /// The policy of its test runs (paranoid mode).
    pub(super) policy_name: Option<String>,
}

/// Everything a worker needs, shared read-only (workers are forks).
pub(super) struct Ctx {
    pub(super) conf: AdminConf,
    pub(super) scratch: PathBuf,
    pub(super) flags: Flags,
    pub(super) validator_flags: Vec<String>,
    pub(super) validator: Option<Validator>,
    pub(super) keep: bool,
    /// The signal mask the judge started with: a worker puts it back.
    pub(super) mask: SigSet,
}

pub(super) enum Job {
    Compile(usize),
    Test { unit: usize, local: usize },
}

#[derive(serde::Serialize, serde::Deserialize)]
pub(super) enum WorkResult {
    Compile(CompileResult),
    Test(TestResult),
}

/// One group of one submission: the unit of sharding and of stopping.
pub(super) struct Unit {
    pub(super) sub: usize,
    pub(super) tests: Vec<(usize, String, TestCase)>,
    pub(super) next: usize,
    pub(super) first_fail: Option<usize>,
    pub(super) results: Vec<Option<TestResult>>,
}

pub(super) fn mkdir(p: &Path, mode: u32) -> Result<(), JudgeError> {
    std::fs::create_dir(p)
        .and_then(|_| std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)))
        .map_err(|e| JudgeError::Output(format!("cannot create {}: {e}", p.display())))
}

/// The signals that stop the judge (SIGTERM, SIGINT, SIGHUP), blocked
/// with SIGCHLD from before the scratch directory exists until it is gone,
/// so the judge takes them where it waits for its workers ([`Pool::wait`])
/// and, interrupted, stops its workers and removes its scratch directory
/// instead of dying with them half-way. A signal that comes while the judge
/// prepares stays pending until that first wait.
pub(super) struct StopSignals {
    set: SigSet,
    old: SigSet,
}

impl StopSignals {
    fn block() -> StopSignals {
        let mut set = SigSet::empty();
        for sig in [
            Signal::SIGTERM,
            Signal::SIGINT,
            Signal::SIGHUP,
            Signal::SIGCHLD,
        ] {
            set.add(sig);
        }
        let old = set.thread_swap_mask(nix::sys::signal::SigmaskHow::SIG_BLOCK);
        StopSignals {
            set,
            old: old.unwrap_or_else(|_| SigSet::empty()),
        }
    }

    /// The next of the blocked signals (SIGCHLD: a worker ended).
    fn wait(&self) -> Signal {
        loop {
            if let Ok(sig) = self.set.wait() {
                return sig;
            }
        }
    }
}

impl Drop for StopSignals {
    fn drop(&mut self) {
        let _ = self.old.thread_set_mask();
    }
}

/// CPUs this process may run on.
pub(super) fn cpus() -> Vec<usize> {
    let v = crate::sys::allowed_cpus();
    if v.is_empty() {
        vec![0]
    } else {
        v
    }
}

pub(super) fn limit_range(name: &str, v: f64, max: f64) -> Result<(), JudgeError> {
    if v.is_finite() && v > 0.0 && v <= max {
        Ok(())
    } else {
        Err(JudgeError::Usage(format!(
            "--{name}: must be more than 0 and at most {max}"
        )))
    }
}

/// `safeexec judge PROBLEM SOURCE...`.
pub fn judge_command(a: &JudgeArgs) -> Result<i32, JudgeError> {
    if crate::caller::is_setid() {
        return Err(JudgeError::Usage(
            "judge: run it as root or as an ordinary user, not through the setuid bit \
             (it reads the problem package with its own rights)"
                .into(),
        ));
    }
    let Some(root) = &a.problem else {
        return Err(JudgeError::Usage("missing PROBLEM".into()));
    };
    // Workers change directory: every path they use is absolute.
    let root = &std::path::absolute(root).unwrap_or_else(|_| root.clone());
    let problem = package::read(root)?;
    let languages = Languages::load(a.languages.as_deref())?;

    let mut sources: Vec<(Option<Code>, PathBuf)> = Vec::new();
    if a.verify {
        if !a.sources.is_empty() {
            return Err(JudgeError::Usage(
                "--verify judges PROBLEM/submissions/: give no SOURCE".into(),
            ));
        }
        for (v, p) in package::submissions(root)? {
            sources.push((Code::parse(&v), p));
        }
    } else if a.sources.is_empty() {
        return Err(JudgeError::Usage("missing SOURCE (or --verify)".into()));
    } else {
        sources.extend(a.sources.iter().map(|p| (None, p.clone())));
    }

    if let Some(t) = a.time_limit {
        limit_range("time-limit", t, crate::config::MAX_SECONDS)?;
    }
    for (n, v) in [
        ("memory-limit", a.memory_limit),
        ("output-limit", a.output_limit),
    ] {
        if let Some(v) = v {
            limit_range(n, v as f64, (crate::config::MAX_KIB / 1024) as f64)?;
        }
    }
    let limits = ProblemLimits {
        time_limit_s: a.time_limit.or(problem.time_limit).unwrap_or(1.0),
        memory_mib: a.memory_limit.or(problem.memory_mib).unwrap_or(2048),
        output_mib: a.output_limit.or(problem.output_mib).unwrap_or(8),
    };
    let flags = if problem.validator.is_none() {
        Flags::parse(&problem.validator_flags).map_err(|e| {
            JudgeError::Package(format!("{}: {e}", root.join("problem.yaml").display()))
        })?
    } else {
        Flags::default()
    };
    let jobs = a.jobs.unwrap_or_else(|| cpus().len());
    if jobs == 0 || jobs > 1024 {
        return Err(JudgeError::Usage(
            "--jobs: must be between 1 and 1024".into(),
        ));
    }
    let conf = sandbox::admin_conf()?;
    let json = match &a.json {
        Some(p) => Some((output::open_json(p)?, p.clone())),
        None => None,
    };

    // The scratch directory: searchable by the runs' uids, each build and
    // run directory writable by them (the sandbox's working directory).
    let base = a.scratch.clone().unwrap_or_else(std::env::temp_dir);
    let base = std::path::absolute(&base).unwrap_or(base);
    let signals = StopSignals::block();
    let scratch = base.join(format!("safeexec-judge-{}", std::process::id()));
    sweep_stale_scratch(&base);
    if scratch.exists() {
        let _ = std::fs::remove_dir_all(&scratch);
    }
    mkdir(&scratch, 0o755)?;
    let result = judge_in(
        a, &problem, &languages, sources, limits, flags, jobs, conf, &scratch, json, &signals,
    );
    if a.keep {
        // Marked, so that a later judge's sweep leaves it alone.
        let _ = std::fs::write(scratch.join(".kept"), "");
        eprintln!(
            "safeexec: judge: scratch directory kept: {}",
            scratch.display()
        );
    } else {
        let _ = std::fs::remove_dir_all(&scratch);
    }
    result
}

/// Removes the scratch directories that judges killed with SIGKILL left in
/// `base` (nothing else can remove them): `safeexec-judge-PID`, a directory
/// (not a symlink) owned by this effective uid, not kept (`--keep` marks it
/// with `.kept`), whose PID no process has any more. A PID reused since
/// keeps its directory until a later judge finds it free. Best effort.
fn sweep_stale_scratch(base: &Path) {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    let me = nix::unistd::geteuid().as_raw();
    for e in entries.flatten().take(100_000) {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("safeexec-judge-"))
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        if pid <= 1 || pid as u32 == std::process::id() {
            continue;
        }
        let path = e.path();
        let Ok(md) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if !md.is_dir() || md.uid() != me || path.join(".kept").exists() {
            continue;
        }
        let gone = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None)
            == Err(nix::errno::Errno::ESRCH);
        if gone {
            log::debug!("judge: removing {} (its judge is gone)", path.display());
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn judge_in(
    a: &JudgeArgs,
    problem: &Problem,
    languages: &Languages,
    sources: Vec<(Option<Code>, PathBuf)>,
    limits: ProblemLimits,
    flags: Flags,
    jobs: usize,
    conf: AdminConf,
    scratch: &Path,
    json: Option<(std::fs::File, PathBuf)>,
    signals: &StopSignals,
) -> Result<i32, JudgeError> {
    mkdir(&scratch.join("out"), 0o700)?;
    let mut subs = Vec::new();
    for (i, (expected, src)) in sources.into_iter().enumerate() {
        let files = lang::source_files(&src)?;
        let (key, l) = languages.detect(&files, if a.verify { None } else { a.lang.as_deref() })?;
        let l = l.clone();
        let build = scratch.join(format!("build-{i}"));
        mkdir(&build, 0o777)?;
        let names = lang::copy_sources(&files, &build).map_err(JudgeError::Source)?;
        for name in &names {
            let _ =
                std::fs::set_permissions(build.join(name), std::fs::Permissions::from_mode(0o644));
        }
        let main = lang::main_file(&names, &l);
        let ours = lang::own_files(&names, &l);
        let cpu = limits.time_limit_s * l.time_multiplier + l.time_extra;
        let mem_kib =
            ((limits.memory_mib as f64 * l.memory_multiplier) as u64 + l.memory_extra_mib) * 1024;
        // The limits the judge sets; the others come from the language's
        // policy (its `limit` lines), then the run command's defaults, as
        // the library resolves them for `safeexec --policy NAME`.
        let asked = LimitRequest {
            cpu: Some(Duration::from_secs_f64(cpu)),
            // Generous: on a busy machine the wall clock runs ahead of the
            // CPU; the CPU limit is the one that judges a busy program, the
            // wall clock only one that sleeps or waits.
            clock: Some(Duration::from_secs_f64(cpu * 4.0 + 5.0)),
            memory_kib: Some(mem_kib.min(crate::config::MAX_KIB)),
            fsize_kib: Some(limits.output_mib * 1024),
            // As the package format: the stack may use the whole memory.
            stack_kib: Some((limits.memory_mib * 1024).min(crate::config::MAX_KIB)),
            nproc: l.nproc,
            ..LimitRequest::default()
        };
        // Resolved once here: a bad policy or a refused limit fails before
        // anything is judged, and the document shows what the tests run
        // under. Each test run is resolved again the same way (its own
        // working directory and error file).
        let probe = Spec {
            program: l.run.first().cloned().unwrap_or_default().into(),
            args: Vec::new(),
            env: Vec::new(),
            workdir: build.clone(),
            limits: asked.clone(),
            policy: Some(l.policy.clone()),
            jail: l.jail.clone(),
            stdin: None,
            stdout: scratch.join("out/probe.out"),
            stderr: scratch.join("out/probe.err"),
            cpu: None,
        };
        let run_limits = probe.resolve(&conf)?.config().limits.clone();
        // Classic mode: the same limits, without the policy.
        let (request, pname) = match a.mode {
            Mode::Paranoid => (asked, Some(l.policy.clone())),
            Mode::Classic => (sandbox::every_limit(&run_limits), None),
        };
        subs.push(Submission {
            label: output::label(&src),
            lang_key: key.to_string(),
            lang: l,
            expected,
            files: if ours.is_empty() { names.clone() } else { ours },
            main,
            build,
            limits: run_limits,
            request,
            memory_mib: limits.memory_mib,
            policy_name: pname,
        });
    }

    // Units: (submission, group) in order; this shard's share.
    let mut units: Vec<Unit> = Vec::new();
    let mut u = 0;
    for (s, _) in subs.iter().enumerate() {
        let mut n = 0;
        for g in &problem.groups {
            let tests: Vec<(usize, String, TestCase)> = g
                .tests
                .iter()
                .map(|t| {
                    n += 1;
                    (n - 1, g.name.clone(), t.clone())
                })
                .collect();
            if a.shard.is_none_or(|sh| sh.owns(u)) {
                units.push(Unit {
                    sub: s,
                    results: vec![None; tests.len()],
                    tests,
                    next: 0,
                    first_fail: None,
                });
            }
            u += 1;
        }
    }
    let mut wanted = vec![false; subs.len()];
    for un in &units {
        wanted[un.sub] = true;
    }

    let mut ctx = Ctx {
        conf,
        scratch: scratch.to_path_buf(),
        flags,
        validator_flags: problem.validator_flags.clone(),
        validator: None,
        keep: a.keep,
        mask: signals.old,
    };
    let cpus = cpus();
    if let Some(vdir) = problem.validator.as_ref().filter(|_| !units.is_empty()) {
        ctx.validator = Some(build_validator(vdir, languages, &ctx)?);
    }

    let total: usize = units.iter().map(|u| u.tests.len()).sum();
    let mut progress = Progress::new(total as u64);
    let mut compiles: Vec<Option<CompileResult>> = vec![None; subs.len()];

    // Compile every submission this shard judges.
    let mut queue: Vec<Job> = (0..subs.len())
        .filter(|&i| wanted[i] && subs[i].lang.compile.is_some())
        .map(Job::Compile)
        .collect();
    queue.reverse();
    let mut pool = Pool::new(jobs, cpus.clone(), signals);
    while !queue.is_empty() || pool.busy() {
        while pool.has_slot() {
            let Some(job) = queue.pop() else { break };
            pool.start(job, &ctx, &subs, &units)?;
        }
        if let Some((job, r)) = pool.wait(&subs, &units)? {
            if let (Job::Compile(i), WorkResult::Compile(c)) = (job, r) {
                progress.compiled(&subs[i].label, &c);
                compiles[i] = Some(c);
            }
        }
    }
    let compiled_ok = |i: usize| compiles[i].as_ref().is_none_or(|c| c.ok);
    for un in units.iter_mut() {
        if !compiled_ok(un.sub) {
            progress.skip(un.tests.len() as u64);
            un.next = un.tests.len();
        }
    }

    // Tests: in package order per unit; no new test of a unit after a
    // known failure (unless --all).
    loop {
        while pool.has_slot() {
            let next = units
                .iter()
                .position(|u| u.next < u.tests.len() && (a.all || u.first_fail.is_none()));
            let Some(ui) = next else { break };
            let local = units[ui].next;
            units[ui].next += 1;
            pool.start(Job::Test { unit: ui, local }, &ctx, &subs, &units)?;
        }
        if !pool.busy() {
            break;
        }
        if let Some((Job::Test { unit, local }, WorkResult::Test(t))) = pool.wait(&subs, &units)? {
            progress.test(&subs[units[unit].sub].label, &t);
            let un = &mut units[unit];
            if t.verdict != Code::AC {
                if un.first_fail.is_none() && !a.all {
                    progress.skip((un.tests.len() - un.next) as u64);
                }
                un.first_fail = Some(un.first_fail.map_or(local, |f| f.min(local)));
            }
            un.results[local] = Some(t);
        }
    }
    progress.finish();

    // The document: per submission, its units' tests up to each first failure.
    let mut results: Vec<SubmissionResult> = subs
        .iter()
        .enumerate()
        .map(|(i, s)| SubmissionResult {
            source: s.label.clone(),
            language: s.lang_key.clone(),
            expected: s.expected,
            compile: compiles[i].clone(),
            limits: TestLimits {
                cpu_ms: s.limits.cpu.as_millis() as u64,
                wall_ms: s.limits.clock.as_millis() as u64,
                memory_kib: s.limits.memory_kib,
                output_kib: s.limits.fsize_kib,
                nproc: s.limits.nproc,
                policy: s.policy_name.clone(),
            },
            verdict: None,
            matches_expected: None,
            tests: Vec::new(),
        })
        .collect();
    for un in &units {
        let upto = if a.all {
            un.tests.len()
        } else {
            un.first_fail.map_or(un.tests.len(), |f| f + 1)
        };
        let sub = &mut results[un.sub];
        for r in un.results.iter().take(upto).flatten() {
            sub.tests.push(r.clone());
        }
    }
    for (i, r) in results.iter_mut().enumerate() {
        r.tests.sort_by_key(|t| t.n);
        r.decide(wanted[i]);
    }
    let mut doc = Document {
        format: output::FORMAT.into(),
        problem: ProblemInfo {
            name: problem.name.clone(),
            path: problem.root.display().to_string(),
        },
        mode: a.mode,
        all: a.all,
        verify: a.verify,
        limits,
        validator: problem
            .validator
            .as_ref()
            .map(|v| v.display().to_string())
            .unwrap_or_else(|| "default".into()),
        validator_flags: problem.validator_flags.clone(),
        shard: a.shard,
        submissions: results,
        summary: Default::default(),
    };
    doc.summarise();
    print!("{}", output::table(&doc));
    if let Some((f, p)) = json {
        output::write_json_to(f, &p, &doc.to_json())?;
    }
    Ok(doc.exit_status())
}

/// Runs `f` in a worker process and returns what it produced.
pub(super) fn in_worker(
    file: &Path,
    mask: &SigSet,
    f: impl FnOnce() -> WorkResult,
) -> Result<WorkResult, JudgeError> {
    let pid = spawn(file, mask, f)?;
    nix::sys::wait::waitpid(pid, None)
        .map_err(|e| JudgeError::Sandbox(crate::error::SandboxError::sys("waitpid(worker)", e)))?;
    collect(file)
}

/// Forks a worker that runs `f` with the judge's original signal mask (its
/// supervisor takes the stop signals itself) and writes the result to `file`.
pub(super) fn spawn(
    file: &Path,
    mask: &SigSet,
    f: impl FnOnce() -> WorkResult,
) -> Result<nix::unistd::Pid, JudgeError> {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    match crate::sys::fork_worker() {
        Err(e) => Err(JudgeError::Sandbox(crate::error::SandboxError::sys(
            "fork(judge worker)",
            e,
        ))),
        Ok(crate::sys::Fork::Parent(pid)) => Ok(pid),
        Ok(crate::sys::Fork::Child) => {
            let _ = mask.thread_set_mask();
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            let code = match r {
                Ok(res) => {
                    let text = serde_json::to_string(&res).unwrap_or_default();
                    match std::fs::write(file, text) {
                        Ok(()) => 0,
                        Err(_) => 3,
                    }
                }
                Err(_) => 2,
            };
            crate::sys::child::exit(code)
        }
    }
}

pub(super) fn collect(file: &Path) -> Result<WorkResult, JudgeError> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        JudgeError::Sandbox(crate::error::SandboxError::Internal(format!(
            "a judge worker left no result ({}): {e}",
            file.display()
        )))
    })?;
    let _ = std::fs::remove_file(file);
    serde_json::from_str(&text).map_err(|e| {
        JudgeError::Sandbox(crate::error::SandboxError::Internal(format!(
            "a judge worker's result is unreadable: {e}"
        )))
    })
}

/// Worker processes, at most one per slot, each slot pinned to a CPU.
pub(super) struct Pool<'a> {
    slots: Vec<Option<(nix::unistd::Pid, Job, PathBuf)>>,
    cpus: Vec<usize>,
    started: usize,
    signals: &'a StopSignals,
}

impl<'a> Pool<'a> {
    fn new(jobs: usize, cpus: Vec<usize>, signals: &'a StopSignals) -> Pool<'a> {
        Pool {
            slots: (0..jobs).map(|_| None).collect(),
            cpus,
            started: 0,
            signals,
        }
    }

    /// Interrupted: SIGTERM to every worker (its supervisor kills its run
    /// and cleans up), SIGKILL to those still there after 5 s (the run's
    /// guard then kills what the supervisor left), and every one reaped.
    fn stop(&mut self) {
        use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
        let pids = |slots: &[Option<(nix::unistd::Pid, Job, PathBuf)>]| {
            slots
                .iter()
                .flatten()
                .map(|(p, _, _)| *p)
                .collect::<Vec<_>>()
        };
        for pid in pids(&self.slots) {
            let _ = nix::sys::signal::kill(pid, Signal::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut killed = false;
        while self.busy() {
            if !killed && Instant::now() >= deadline {
                for pid in pids(&self.slots) {
                    crate::sys::kill_pid(pid);
                }
                killed = true;
            }
            let flags = (!killed).then_some(WaitPidFlag::WNOHANG);
            match waitpid(None, flags) {
                Ok(WaitStatus::Exited(p, _) | WaitStatus::Signaled(p, _, _)) => {
                    for s in self.slots.iter_mut() {
                        if s.as_ref().is_some_and(|(q, _, _)| *q == p) {
                            *s = None;
                        }
                    }
                }
                Ok(WaitStatus::StillAlive) => std::thread::sleep(Duration::from_millis(20)),
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(_) => break,
            }
        }
        self.slots.iter_mut().for_each(|s| *s = None);
    }

    fn busy(&self) -> bool {
        self.slots.iter().any(|s| s.is_some())
    }

    fn has_slot(&self) -> bool {
        self.slots.iter().any(|s| s.is_none())
    }

    fn start(
        &mut self,
        job: Job,
        ctx: &Ctx,
        subs: &[Submission],
        units: &[Unit],
    ) -> Result<(), JudgeError> {
        let Some(slot) = self.slots.iter().position(|s| s.is_none()) else {
            return Err(JudgeError::Sandbox(crate::error::SandboxError::Internal(
                "no free slot".into(),
            )));
        };
        let cpu = Some(self.cpus[slot % self.cpus.len()]);
        let id = self.started;
        self.started += 1;
        let file = ctx.scratch.join(format!("out/result-{id}.json"));
        let pid = match &job {
            Job::Compile(i) => {
                let s = &subs[*i];
                let cmd = s.lang.compile.clone().unwrap_or_default();
                let vars = lang::Vars {
                    files: &s.files,
                    main: &s.main,
                    binary: BINARY,
                    memory_mib: s.memory_mib,
                };
                let spec = compile_spec(
                    &s.lang,
                    &cmd,
                    &vars,
                    &s.build,
                    &ctx.scratch.join(format!("out/compile-{i}")),
                    cpu,
                );
                spawn(&file, &ctx.mask, || {
                    WorkResult::Compile(compile(&spec, ctx))
                })?
            }
            Job::Test { unit, local } => {
                let un = &units[*unit];
                let s = &subs[un.sub];
                let tc = &un.tests[*local];
                spawn(&file, &ctx.mask, || {
                    WorkResult::Test(test(s, tc, id, cpu, ctx))
                })?
            }
        };
        self.slots[slot] = Some((pid, job, file));
        Ok(())
    }

    /// Waits for one worker; its job and result (a JE result if it died).
    fn wait(
        &mut self,
        subs: &[Submission],
        units: &[Unit],
    ) -> Result<Option<(Job, WorkResult)>, JudgeError> {
        use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
        loop {
            let st = match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) => {
                    // No worker has ended: the next SIGCHLD or stop signal
                    // (blocked, so none is lost between the two calls).
                    match self.signals.wait() {
                        Signal::SIGCHLD => continue,
                        sig => {
                            self.stop();
                            return Err(JudgeError::Interrupted(sig.as_str().into()));
                        }
                    }
                }
                Ok(s) => s,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(nix::errno::Errno::ECHILD) => return Ok(None),
                Err(e) => {
                    return Err(JudgeError::Sandbox(crate::error::SandboxError::sys(
                        "waitpid(workers)",
                        e,
                    )))
                }
            };
            let pid = match st {
                WaitStatus::Exited(p, _) | WaitStatus::Signaled(p, _, _) => p,
                _ => continue,
            };
            let Some(slot) = self
                .slots
                .iter()
                .position(|s| s.as_ref().is_some_and(|(p, _, _)| *p == pid))
            else {
                continue;
            };
            let Some((_, job, file)) = self.slots[slot].take() else {
                continue;
            };
            let r = match collect(&file) {
                Ok(r) => r,
                Err(e) => {
                    let message = format!("{e} (worker {st:?})");
                    match &job {
                        Job::Compile(_) => WorkResult::Compile(CompileResult {
                            ok: false,
                            message,
                            figures: RunFigures::default(),
                            error_status: Some(crate::error::EXIT_INTERNAL),
                        }),
                        Job::Test { unit, local } => {
                            let (n, g, t) = &units[*unit].tests[*local];
                            let _ = subs;
                            WorkResult::Test(TestResult {
                                n: *n,
                                group: g.clone(),
                                name: t.name.clone(),
                                verdict: Code::JE,
                                figures: RunFigures::default(),
                                rule: None,
                                message,
                                feedback: None,
                                error_status: Some(crate::error::EXIT_INTERNAL),
                            })
                        }
                    }
                }
            };
            return Ok(Some((job, r)));
        }
    }
}
