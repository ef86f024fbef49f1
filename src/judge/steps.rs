//! The steps of one job, as a worker runs them: build the validator, compile
//! a submission, place a test's input, run and judge one test.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::report::Verdict;
use crate::resolve::LimitRequest;

use super::compare::{self, Judged, Validator};
use super::lang::{self, Language, Languages};
use super::package::TestCase;
use super::pool::*;
use super::sandbox::{self, Spec};
use super::verdict::{Code, CompileResult, RunFigures, TestResult};
use super::{JudgeError, EXIT_VALIDATOR};
/// The output validator: a `run` program in its directory, else its
/// sources built like a submission (in the sandbox, classic mode).
pub(super) fn build_validator(
    dir: &Path,
    languages: &Languages,
    ctx: &Ctx,
) -> Result<Validator, JudgeError> {
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
    let names = lang::copy_sources(&files, &build).map_err(bad)?;
    let main = lang::main_file(&names, l);
    let ours = lang::own_files(&names, l);
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

pub(super) fn compile_spec(
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

pub(super) fn head(path: &Path, lines: usize) -> String {
    let b = std::fs::read(path).unwrap_or_default();
    let s = String::from_utf8_lossy(&b[..b.len().min(16 * 1024)]).into_owned();
    let mut v: Vec<&str> = s.lines().take(lines).collect();
    if s.lines().nth(lines).is_some() {
        v.push("...");
    }
    v.join("\n")
}

pub(super) fn figures(r: &crate::Report) -> RunFigures {
    RunFigures {
        cpu_ms: (r.cpu_ms * 1000.0).round() / 1000.0,
        wall_ms: r.wall_ms,
        memory_kib: r.memory_kib,
        exit_code: r.exit_code,
        signal: r.signal,
    }
}

/// A compile run (in a worker).
pub(super) fn compile(spec: &Spec, ctx: &Ctx) -> CompileResult {
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
pub(super) fn populate(src: &Path, dst: &Path) -> std::io::Result<()> {
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
pub(super) fn place_input(input: &Path, dir: &Path) -> std::io::Result<PathBuf> {
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
pub(super) fn test(
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
