//! Judging: prepares the submissions, then runs compile and test jobs,
//! each in a worker process of its own (so each run has its own supervisor
//! pid, hence its own uid, and its own stdin, stdout and CPU), at most
//! `--jobs` at a time.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::{SigSet, Signal};

use crate::adminconf::AdminConf;
use crate::report::Verdict;
use crate::resolve::LimitRequest;
use crate::Limits;

use super::compare::{self, Flags, Judged, Validator};
use super::lang::{self, Language, Languages};
use super::output::{self, Document, ProblemInfo, ProblemLimits, Progress};
use super::package::{self, Problem, TestCase};
use super::sandbox::{self, Spec};
use super::verdict::{Code, CompileResult, RunFigures, SubmissionResult, TestLimits, TestResult};
use super::{JudgeArgs, JudgeError, Mode, EXIT_VALIDATOR};

/// Built program name in a build directory.
const BINARY: &str = "a.out";
/// Lines of a compiler's message kept.
const MESSAGE_LINES: usize = 10;

/// One submission, ready to build.
struct Submission {
    label: String,
    lang_key: String,
    lang: Language,
    expected: Option<Code>,
    /// Source file names (in `build`).
    files: Vec<String>,
    main: String,
    /// Its build directory: sources copied in, compiled there.
    build: PathBuf,
    /// The limits of its tests as the library resolved them (the
    /// document's `limits`).
    limits: Limits,
    /// What its test runs ask for: the judge's limits in paranoid mode
    /// (the others from the policy), every limit in classic mode.
    request: LimitRequest,
    /// The problem's memory limit, MiB ({memory_mib}).
    memory_mib: u64,
    /// The policy of its test runs (paranoid mode).
    policy_name: Option<String>,
}

/// Everything a worker needs, shared read-only (workers are forks).
struct Ctx {
    conf: AdminConf,
    scratch: PathBuf,
    flags: Flags,
    validator_flags: Vec<String>,
    validator: Option<Validator>,
    keep: bool,
    /// The signal mask the judge started with: a worker puts it back.
    mask: SigSet,
}

enum Job {
    Compile(usize),
    Test { unit: usize, local: usize },
}

#[derive(serde::Serialize, serde::Deserialize)]
enum WorkResult {
    Compile(CompileResult),
    Test(TestResult),
}

/// One group of one submission: the unit of sharding and of stopping.
struct Unit {
    sub: usize,
    tests: Vec<(usize, String, TestCase)>,
    next: usize,
    first_fail: Option<usize>,
    results: Vec<Option<TestResult>>,
}

fn mkdir(p: &Path, mode: u32) -> Result<(), JudgeError> {
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
struct StopSignals {
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
fn cpus() -> Vec<usize> {
    let v = crate::sys::allowed_cpus();
    if v.is_empty() {
        vec![0]
    } else {
        v
    }
}

fn limit_range(name: &str, v: f64, max: f64) -> Result<(), JudgeError> {
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
    if scratch.exists() {
        let _ = std::fs::remove_dir_all(&scratch);
    }
    mkdir(&scratch, 0o755)?;
    let result = judge_in(
        a, &problem, &languages, sources, limits, flags, jobs, conf, &scratch, json, &signals,
    );
    if a.keep {
        eprintln!(
            "safeexec: judge: scratch directory kept: {}",
            scratch.display()
        );
    } else {
        let _ = std::fs::remove_dir_all(&scratch);
    }
    result
}

#[allow(clippy::too_many_arguments)]
fn judge_in(
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
        let mut names = Vec::new();
        for f in &files {
            let name = f
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            std::fs::copy(f, build.join(&name))
                .map_err(|e| JudgeError::Source(format!("{}: {e}", f.display())))?;
            let _ =
                std::fs::set_permissions(build.join(&name), std::fs::Permissions::from_mode(0o644));
            names.push(name);
        }
        let main = lang::main_file(&names, &l);
        let ours: Vec<String> = names
            .iter()
            .filter(|n| {
                Path::new(n)
                    .extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| l.extensions.iter().any(|x| x == e))
            })
            .cloned()
            .collect();
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

/// The output validator: a `run` program in its directory, else its
/// sources built like a submission (in the sandbox, classic mode).
fn build_validator(dir: &Path, languages: &Languages, ctx: &Ctx) -> Result<Validator, JudgeError> {
    let run = dir.join("run");
    if run.is_file() {
        return Ok(Validator {
            dir: dir.to_path_buf(),
            command: vec![run.display().to_string()],
        });
    }
    let bad = |m: String| JudgeError::Validator(format!("output validator {}: {m}", dir.display()));
    let files = lang::source_files(dir).map_err(|e| bad(e.to_string()))?;
    let (_, l) = languages
        .detect(&files, None)
        .map_err(|e| bad(e.to_string()))?;
    let build = ctx.scratch.join("validator");
    mkdir(&build, 0o777)?;
    let mut names = Vec::new();
    for f in &files {
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        std::fs::copy(f, build.join(&name)).map_err(|e| bad(format!("{}: {e}", f.display())))?;
        names.push(name);
    }
    let main = lang::main_file(&names, l);
    let ours: Vec<String> = names
        .iter()
        .filter(|n| {
            Path::new(n)
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| l.extensions.iter().any(|x| x == e))
        })
        .cloned()
        .collect();
    let vars = lang::Vars {
        files: &ours,
        main: &main,
        binary: BINARY,
        memory_mib: 1024,
    };
    if let Some(cmd) = &l.compile {
        let spec = compile_spec(
            l,
            cmd,
            &vars,
            &build,
            &ctx.scratch.join("out/validator"),
            None,
        );
        let file = ctx.scratch.join("out/validator.json");
        let c = in_worker(&file, &ctx.mask, || {
            WorkResult::Compile(compile(&spec, ctx))
        })?;
        match c {
            WorkResult::Compile(c) if c.ok => {}
            WorkResult::Compile(CompileResult {
                error_status: Some(code),
                message,
                ..
            }) => {
                return Err(JudgeError::Sandbox(crate::error::SandboxError::Internal(
                    format!(
                        "building the output validator {}: {message} (status {code})",
                        dir.display()
                    ),
                )))
            }
            WorkResult::Compile(c) => {
                return Err(bad(format!(
                    "does not build: {}",
                    c.message.lines().take(3).collect::<Vec<_>>().join(" | ")
                )))
            }
            WorkResult::Test(_) => return Err(bad("internal: unexpected result".into())),
        }
    }
    Ok(Validator {
        dir: build,
        command: lang::expand(&l.run, &vars),
    })
}

fn compile_spec(
    l: &Language,
    cmd: &[String],
    vars: &lang::Vars<'_>,
    build: &Path,
    out: &Path,
    cpu: Option<usize>,
) -> Spec {
    let argv = lang::expand(cmd, vars);
    let mut env: Vec<(String, String)> = vec![("PATH".into(), "/usr/bin:/bin".into())];
    env.extend(l.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    Spec {
        program: argv[0].clone().into(),
        args: argv[1..].to_vec(),
        env,
        workdir: build.to_path_buf(),
        limits: LimitRequest {
            cpu: Some(Duration::from_secs_f64(l.compile_cpu)),
            clock: Some(Duration::from_secs_f64(l.compile_cpu * 2.0 + 5.0)),
            memory_kib: Some(l.compile_memory_mib * 1024),
            nproc: Some(l.compile_nproc),
            fsize_kib: Some(64 * 1024),
            nfile: Some(256),
            ..LimitRequest::default()
        },
        policy: None,
        jail: None,
        stdin: None,
        stdout: out.with_extension("out"),
        stderr: out.with_extension("err"),
        cpu,
    }
}

fn head(path: &Path, lines: usize) -> String {
    let b = std::fs::read(path).unwrap_or_default();
    let s = String::from_utf8_lossy(&b[..b.len().min(16 * 1024)]).into_owned();
    let mut v: Vec<&str> = s.lines().take(lines).collect();
    if s.lines().nth(lines).is_some() {
        v.push("...");
    }
    v.join("\n")
}

fn figures(r: &crate::Report) -> RunFigures {
    RunFigures {
        cpu_ms: (r.cpu_ms * 1000.0).round() / 1000.0,
        wall_ms: r.wall_ms,
        memory_kib: r.memory_kib,
        exit_code: r.exit_code,
        signal: r.signal,
    }
}

/// A compile run (in a worker).
fn compile(spec: &Spec, ctx: &Ctx) -> CompileResult {
    match sandbox::run(spec, &ctx.conf) {
        Err(e) => CompileResult {
            ok: false,
            message: format!("the sandbox failed: {e}"),
            figures: RunFigures::default(),
            error_status: Some(e.exit_code()),
        },
        Ok(r) => {
            let mut msg = head(&spec.stderr, MESSAGE_LINES);
            if msg.trim().is_empty() {
                msg = head(&spec.stdout, MESSAGE_LINES);
            }
            match &r.verdict {
                Verdict::OK => CompileResult {
                    ok: true,
                    message: String::new(),
                    figures: figures(&r),
                    error_status: None,
                },
                Verdict::IE { message } => CompileResult {
                    ok: false,
                    message: format!("the sandbox failed: {message}"),
                    figures: figures(&r),
                    error_status: Some(crate::error::EXIT_INTERNAL),
                },
                Verdict::RE { .. } => CompileResult {
                    ok: false,
                    message: msg,
                    figures: figures(&r),
                    error_status: None,
                },
                _ => CompileResult {
                    ok: false,
                    message: format!("compiler: {}\n{msg}", r.status).trim_end().into(),
                    figures: figures(&r),
                    error_status: None,
                },
            }
        }
    }
}

/// Links (or copies) the build directory's tree into `dst`.
fn populate(src: &Path, dst: &Path) -> std::io::Result<()> {
    for e in std::fs::read_dir(src)? {
        let e = e?;
        let to = dst.join(e.file_name());
        let ft = e.file_type()?;
        if ft.is_dir() {
            std::fs::create_dir(&to)?;
            std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o777))?;
            populate(&e.path(), &to)?;
        } else if ft.is_file() && std::fs::hard_link(e.path(), &to).is_err() {
            std::fs::copy(e.path(), &to)?;
        }
    }
    Ok(())
}

/// Puts the test input in the run directory, under a name no file of the
/// build has, and returns its path there. The run's stdin is opened from
/// that path, so a program that opens `/dev/stdin` (`/proc/self/fd/0`) by
/// name reaches a file inside its working directory, where the policies'
/// `path read ./**` (and Landlock, which resolves the magic link to the
/// path it was opened by) let it read; the package itself stays out of the
/// run's reach. A hard link when the run cannot write the file (not
/// writable by others; the run's uid and gid are its own), else a copy of
/// mode 0444 (a world-writable package file, another file system).
fn place_input(input: &Path, dir: &Path) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut path = dir.join(".stdin");
    let mut k = 0;
    while std::fs::symlink_metadata(&path).is_ok() {
        k += 1;
        if k > 100 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "no free name for the test input",
            ));
        }
        path = dir.join(format!(".stdin.{k}"));
    }
    let md = std::fs::metadata(input)?;
    if md.is_file()
        && md.permissions().mode() & 0o7002 == 0
        && std::fs::hard_link(input, &path).is_ok()
    {
        return Ok(path);
    }
    let mut from = std::fs::File::open(input)?;
    let mut to = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o444)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)?;
    std::io::copy(&mut from, &mut to)?;
    Ok(path)
}

/// One test (in a worker): run, then judge the output.
fn test(
    s: &Submission,
    tc: &(usize, String, TestCase),
    job: usize,
    cpu: Option<usize>,
    ctx: &Ctx,
) -> TestResult {
    let (n, group, t) = tc;
    let mut res = TestResult {
        n: *n,
        group: group.clone(),
        name: t.name.clone(),
        verdict: Code::JE,
        figures: RunFigures::default(),
        rule: None,
        message: String::new(),
        feedback: None,
        error_status: None,
    };
    let je = |mut r: TestResult, m: String, code: i32| {
        r.verdict = Code::JE;
        r.message = m;
        r.error_status = Some(code);
        r
    };
    let dir = ctx.scratch.join(format!("run-{job}"));
    let out = ctx.scratch.join(format!("out/{job}"));
    let stdin = match mkdir(&dir, 0o777).and_then(|_| {
        populate(&s.build, &dir)
            .and_then(|_| place_input(&t.input, &dir))
            .map_err(|e| JudgeError::Output(format!("{}: {e}", dir.display())))
    }) {
        Ok(p) => p,
        Err(e) => return je(res, e.to_string(), crate::error::EXIT_SETUP),
    };
    let vars = lang::Vars {
        files: &s.files,
        main: &s.main,
        binary: BINARY,
        memory_mib: ((s.limits.memory_kib / 1024) as f64 / s.lang.memory_multiplier) as u64
            - s.lang
                .memory_extra_mib
                .min((s.limits.memory_kib / 1024) / 2),
    };
    let argv = lang::expand(&s.lang.run, &vars);
    let spec = Spec {
        program: argv[0].clone().into(),
        args: argv[1..].to_vec(),
        env: s
            .lang
            .env
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        workdir: dir.clone(),
        limits: s.request.clone(),
        policy: s.policy_name.clone(),
        jail: s.lang.jail.clone(),
        stdin: Some(stdin),
        stdout: out.with_extension("out"),
        stderr: out.with_extension("err"),
        cpu,
    };
    let r = sandbox::run(&spec, &ctx.conf);
    let cleanup = || {
        if !ctx.keep {
            let _ = std::fs::remove_dir_all(&dir);
            let _ = std::fs::remove_file(&spec.stdout);
            let _ = std::fs::remove_file(&spec.stderr);
        }
    };
    let r = match r {
        Ok(r) => r,
        Err(e) => {
            cleanup();
            return je(res, format!("the sandbox failed: {e}"), e.exit_code());
        }
    };
    res.figures = figures(&r);
    res.message = r.status.clone();
    res.verdict = match &r.verdict {
        Verdict::OK => Code::AC,
        Verdict::TLE { kind } => {
            res.message = match kind {
                crate::report::TimeKind::Cpu => "Time Limit Exceeded (CPU)".into(),
                crate::report::TimeKind::Wall => "Time Limit Exceeded (wall clock)".into(),
            };
            Code::TLE
        }
        Verdict::MLE => Code::MLE,
        Verdict::OLE => Code::OLE,
        Verdict::RE { .. } | Verdict::SIG { .. } => {
            let err = head(&spec.stderr, 50);
            if s.lang
                .mle_stderr
                .as_ref()
                .is_some_and(|m| err.contains(m.as_str()))
            {
                res.message = format!(
                    "{} ({})",
                    r.status,
                    s.lang.mle_stderr.as_deref().unwrap_or("")
                );
                Code::MLE
            } else {
                Code::RTE
            }
        }
        Verdict::RF(x) => {
            res.rule = Some(format!("{} ({})", x.syscall, x.rule));
            Code::RF
        }
        Verdict::IE { message } => {
            cleanup();
            return je(
                res,
                format!("the sandbox failed: {message}"),
                crate::error::EXIT_INTERNAL,
            );
        }
    };
    if res.verdict == Code::AC {
        let judged = match &ctx.validator {
            None => {
                let answer = std::fs::read(&t.answer);
                let output = std::fs::read(&spec.stdout);
                match (answer, output) {
                    (Ok(a), Ok(o)) => Ok((compare::default_compare(&a, &o, &ctx.flags), None)),
                    (Err(e), _) => Err(JudgeError::Package(format!("{}: {e}", t.answer.display()))),
                    (_, Err(e)) => Err(JudgeError::Output(format!(
                        "{}: {e}",
                        spec.stdout.display()
                    ))),
                }
            }
            Some(v) => compare::run_validator(
                v,
                &t.input,
                &t.answer,
                &spec.stdout,
                &out.with_extension("feedback"),
                &ctx.validator_flags,
            ),
        };
        match judged {
            Ok((Judged::Accepted, fb)) => {
                res.message = "accepted".into();
                res.feedback = fb;
            }
            Ok((Judged::Wrong(m), fb)) => {
                res.verdict = Code::WA;
                res.message = m;
                res.feedback = fb;
            }
            Err(e) => {
                let code = match &e {
                    JudgeError::Validator(_) => EXIT_VALIDATOR,
                    other => other.exit_code(),
                };
                res = je(res, e.to_string(), code);
            }
        }
        if !ctx.keep {
            let _ = std::fs::remove_dir_all(out.with_extension("feedback"));
        }
    }
    cleanup();
    res
}

/// Runs `f` in a worker process and returns what it produced.
fn in_worker(
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
fn spawn(
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

fn collect(file: &Path) -> Result<WorkResult, JudgeError> {
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
struct Pool<'a> {
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
