//! The `safeexec` command: parse the command line, call the library, print
//! the report, pick the exit status.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use safeexec::policy::Policy;
use safeexec::Limits;

use safeexec::cli::{self, Command, PolicyCmd, ReportFormat};
use safeexec::error::{SandboxError, EXIT_INTERNAL, EXIT_OK, EXIT_PROGRAM_FAILED, EXIT_USAGE};
use safeexec::trace::{TraceLevel, TraceWriter};

fn main() -> ExitCode {
    ExitCode::from(real_main() as u8)
}

fn fail(e: &SandboxError) -> i32 {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        let t = s.to_string();
        if !msg.contains(&t) {
            msg.push_str(": ");
            msg.push_str(&t);
        }
        src = s.source();
    }
    eprintln!("safeexec: {msg}");
    e.exit_code()
}

/// Installed setuid (real uid differs from effective): nothing the caller
/// put in the environment may steer the privileged code (RUST_LOG, LD_*,
/// locale paths, TMPDIR, SAFEEXEC_CONF, ...). The environment is captured
/// and cleared before anything reads it; `--env_vars` names get their
/// values back from the capture once the command line is parsed.
fn clean_environment() -> Vec<(std::ffi::OsString, std::ffi::OsString)> {
    let captured: Vec<_> = std::env::vars_os().collect();
    for (k, _) in &captured {
        std::env::remove_var(k);
    }
    captured
}

/// Runs `f` with the caller's file-system rights (a setuid start), so a
/// file the caller names is read as the caller would read it.
fn as_caller<T>(f: impl FnOnce() -> Result<T, SandboxError>) -> Result<T, SandboxError> {
    let _fs = safeexec::sys::setuid::CallerFs::enter(safeexec::supervisor::unprivileged_caller())
        .map_err(|e| SandboxError::sys("setfsuid(caller)", e))?;
    f()
}

fn real_main() -> i32 {
    let setid = safeexec::sys::setuid::is_setid();
    let captured = if setid {
        clean_environment()
    } else {
        Vec::new()
    };
    let parsed = match cli::parse(std::env::args_os().collect()) {
        Ok(p) => p,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                return EXIT_OK;
            }
            // One line: clap's first line names the problem.
            let text = e.render().to_string();
            let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
            let mut line = lines.next().unwrap_or("bad command line").to_string();
            if line.ends_with(':') {
                // "required arguments were not provided:" names them next.
                line = format!("{line} {}", lines.next().unwrap_or(""));
            }
            eprintln!("safeexec: {}", line.trim_start_matches("error: "));
            return EXIT_USAGE;
        }
    };
    let a = &parsed.cli.run;
    let level = if a.verbose > 0 { "debug" } else { "warn" };
    if setid {
        // RUST_LOG is ignored; -v shows safeexec's own setup steps only.
        let mut b = env_logger::Builder::new();
        b.filter_level(log::LevelFilter::Warn);
        if a.verbose > 0 {
            b.filter_module("safeexec", log::LevelFilter::Debug);
        }
        b.format_timestamp(None).init();
    } else {
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(level))
            .format_timestamp(None)
            .init();
    }
    if let Some(list) = &a.env_vars {
        let names: Vec<&str> = list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.contains('='))
            .collect();
        for (k, v) in &captured {
            if names
                .iter()
                .any(|n| k.as_os_str() == std::ffi::OsStr::new(n))
            {
                std::env::set_var(k, v);
            }
        }
    }
    drop(captured);

    match &parsed.cli.command {
        Some(Command::Policy(PolicyCmd::Learn(l))) => {
            return learn_command(l, parsed.program.clone())
        }
        Some(Command::Policy(cmd)) => return policy_command(cmd),
        Some(Command::Audit { trace, json }) => return audit_command(trace, *json),
        Some(Command::Judge(j)) => return safeexec::judge::main(j),
        None => {}
    }
    let Some((program, args)) = parsed.program.clone() else {
        return fail(&SandboxError::Usage(
            "missing --exec PROGRAM [ARGS...] (it must come last)".into(),
        ));
    };
    let trace = a.trace.clone().map(|p| (p, a.trace_level));
    match execute(a, program, args, trace, true) {
        Ok(r) => exit_status(&r),
        Err(code) => code,
    }
}

fn exit_status(report: &safeexec::Report) -> i32 {
    if report.verdict.is_internal() {
        EXIT_INTERNAL
    } else if report.verdict == safeexec::Verdict::OK {
        EXIT_OK
    } else {
        EXIT_PROGRAM_FAILED
    }
}

/// One run: policy, configuration, trace and report files opened before
/// it, the report printed after it. Err: the exit status of a failure.
fn execute(
    a: &cli::RunArgs,
    program: std::ffi::OsString,
    args: Vec<std::ffi::OsString>,
    trace: Option<(std::path::PathBuf, TraceLevel)>,
    print_report: bool,
) -> Result<safeexec::Report, i32> {
    // A trace needs paranoid mode: without a policy, the shipped audit
    // policy (every call runs and is recorded).
    let conf = safeexec::adminconf::load().map_err(|e| fail(&e))?;
    let default_policy = if a.paranoid { "default" } else { "audit" };
    let (policy, chosen) = match (&a.policy, a.paranoid || trace.is_some()) {
        (Some(name), _) => match load_policy(name) {
            Ok((p, builtin)) => (Some(p), Some((name.as_str(), builtin))),
            Err(e) => return Err(fail(&e)),
        },
        (None, true) => match load_policy(default_policy) {
            Ok((p, builtin)) => (Some(p), Some((default_policy, builtin))),
            Err(e) => return Err(fail(&e)),
        },
        (None, false) => (None, None),
    };
    if safeexec::supervisor::unprivileged_caller().is_some() {
        let refuse = |m: String| fail(&SandboxError::Usage(format!("{m} ({})", conf.origin())));
        conf.policy_allowed(chosen).map_err(refuse)?;
        if trace.is_some() && !conf.allow_full_trace {
            return Err(refuse(
                "--trace: the administrator does not allow it (allow_full_trace)".into(),
            ));
        }
        if a.net == cli::NetArg::Host && !conf.allow_net_host {
            return Err(refuse(
                "--net host: the administrator does not allow it (allow_net_host)".into(),
            ));
        }
    }
    let limits = policy.as_ref().map(policy_limits);
    let mut cfg = match a.to_config(program, args, limits.as_ref()) {
        Ok(c) => c,
        Err(e) => return Err(fail(&e)),
    };
    cfg.policy = policy;
    // Like the report file, the trace is opened before the run.
    let mut tracer = match &trace {
        Some((p, level)) => match TraceWriter::open(p, *level) {
            Ok(t) => Some(t),
            Err(e) => return Err(fail(&e)),
        },
        None => None,
    };

    // The report file is opened before the run, so a bad path fails early.
    let mut usage = match &a.usage {
        Some(p) if !a.silent => match safeexec::supervisor::open_output("report file", p) {
            Ok(f) => Some(f),
            Err(e) => return Err(fail(&e)),
        },
        _ => None,
    };
    let report = match safeexec::run_with(&cfg, &conf, tracer.as_mut()) {
        Ok(r) => r,
        Err(e) => {
            if let (Some(f), SandboxError::ChildSetup { .. }) = (usage.as_mut(), &e) {
                let _ = writeln!(f, "Internal Error\nelapsed time: 0 seconds\nmemory usage: 0 kbytes\ncpu usage: 0.000 seconds");
            }
            return Err(fail(&e));
        }
    };
    if let Some(e) = tracer.as_ref().and_then(|t| t.error()) {
        eprintln!("safeexec: {e}");
    }
    if !a.silent && print_report {
        let text = match a.report {
            ReportFormat::Classic => report.classic(),
            ReportFormat::Json => report.json(),
        };
        let written = match usage.as_mut() {
            Some(f) => f.write_all(text.as_bytes()).and_then(|_| f.flush()),
            None => std::io::stderr().write_all(text.as_bytes()),
        };
        if let Err(source) = written {
            let path = a.usage.clone().unwrap_or_else(|| "stderr".into());
            return Err(fail(&SandboxError::Output {
                what: "report file",
                path,
                source,
            }));
        }
    }
    Ok(report)
}

/// `safeexec audit TRACE [--json]`.
fn audit_command(trace: &Path, json: bool) -> i32 {
    match as_caller(|| safeexec::audit::summarise(trace)) {
        Ok(s) => {
            let text = if json { s.json() } else { s.text() };
            print!("{text}");
            EXIT_OK
        }
        Err(e) => fail(&e),
    }
}

/// `safeexec policy learn`: from a trace, or by running the program with a
/// full trace under the audit policy first.
fn learn_command(
    l: &cli::LearnArgs,
    program: Option<(std::ffi::OsString, Vec<std::ffi::OsString>)>,
) -> i32 {
    let (trace, temporary) = match (&l.from, program) {
        (Some(_), Some(_)) => {
            return fail(&SandboxError::Usage(
                "policy learn: give --from TRACE or --exec PROGRAM, not both".into(),
            ))
        }
        (None, None) => {
            return fail(&SandboxError::Usage(
                "policy learn: missing --from TRACE or --exec PROGRAM [ARGS...] (last)".into(),
            ))
        }
        (Some(t), None) => (t.clone(), false),
        (None, Some((program, args))) => {
            let (path, temporary) = match &l.run.trace {
                Some(p) => (p.clone(), false),
                None => (
                    std::env::temp_dir()
                        .join(format!("safeexec-learn-{}.trace", std::process::id())),
                    true,
                ),
            };
            // The policy goes to stdout: the program's stdout goes to stderr.
            let saved = match l.output {
                None => safeexec::sys::stdout_to_stderr(),
                Some(_) => None,
            };
            let r = execute(
                &l.run,
                program,
                args,
                Some((path.clone(), TraceLevel::All)),
                false,
            );
            if let Some(fd) = saved {
                safeexec::sys::restore_stdout(fd);
            }
            match r {
                Ok(r) if r.verdict.is_internal() => {
                    if temporary {
                        let _ = std::fs::remove_file(&path);
                    }
                    eprintln!("safeexec: the learning run failed: {}", r.status);
                    return EXIT_INTERNAL;
                }
                Ok(r) if r.verdict != safeexec::Verdict::OK => {
                    eprintln!(
                        "safeexec: warning: the learning run ended with `{}`; the policy covers what it did until then",
                        r.status
                    );
                }
                Ok(_) => {}
                Err(code) => {
                    if temporary {
                        let _ = std::fs::remove_file(&path);
                    }
                    return code;
                }
            }
            (path, temporary)
        }
    };
    let learned = as_caller(|| safeexec::learn::learn(&trace));
    if temporary {
        let _ = std::fs::remove_file(&trace);
    }
    let text = match learned {
        Ok(t) => t,
        Err(e) => return fail(&e),
    };
    match &l.output {
        Some(p) => {
            let r = safeexec::supervisor::open_output("policy file", p).and_then(|mut f| {
                f.write_all(text.as_bytes())
                    .map_err(|source| SandboxError::Output {
                        what: "policy file",
                        path: p.clone(),
                        source,
                    })
            });
            if let Err(e) = r {
                return fail(&e);
            }
        }
        None => print!("{text}"),
    }
    EXIT_OK
}

/// A policy by path, or by shipped name when no such file exists; true
/// when the shipped one was taken. Files are read with the caller's rights,
/// and a missing file reads the same as one the caller may not read.
fn load_policy(name: &str) -> Result<(Policy, bool), SandboxError> {
    let caller = safeexec::supervisor::unprivileged_caller();
    let _fs = safeexec::sys::setuid::CallerFs::enter(caller)
        .map_err(|e| SandboxError::sys("setfsuid(caller)", e))?;
    let path = Path::new(name);
    let looks_like_path = name.contains('/') || name.ends_with(".policy");
    if !looks_like_path || !path.exists() {
        if let Some(p) = Policy::builtin(name) {
            return p
                .map(|p| (p, true))
                .map_err(|e| SandboxError::Policy(e.to_string()));
        }
    }
    if caller.is_some() {
        // Open it here first, so a missing and a forbidden file read alike.
        if let Err(e) = std::fs::File::open(path) {
            if safeexec::supervisor::hidden(&e) {
                return Err(SandboxError::Inaccessible {
                    what: "policy file",
                    path: path.to_path_buf(),
                    code: safeexec::error::EXIT_POLICY,
                });
            }
        }
    }
    Policy::load(path).map(|p| (p, false)).map_err(|e| {
        let mut text = e.to_string();
        if caller.is_some() {
            // Included files: the same single wording.
            for errno in [
                libc::ENOENT,
                libc::EACCES,
                libc::EPERM,
                libc::ELOOP,
                libc::ENOTDIR,
            ] {
                let os = std::io::Error::from_raw_os_error(errno).to_string();
                text = text.replace(&os, "no such file or not permitted");
            }
        }
        SandboxError::Policy(text)
    })
}

/// The policy's limits over the classic defaults.
fn policy_limits(p: &Policy) -> Limits {
    let l = p.limits();
    let d = Limits::default();
    let secs = |v: Option<f64>, d: Duration| v.map(Duration::from_secs_f64).unwrap_or(d);
    Limits {
        cpu: secs(l.cpu, d.cpu),
        memory_kib: l.memory.unwrap_or(d.memory_kib),
        space_kib: l.space.unwrap_or(d.space_kib),
        clock: secs(l.clock, d.clock),
        nproc: l.nproc.unwrap_or(d.nproc),
        fsize_kib: l.fsize.unwrap_or(d.fsize_kib),
        nfile: l.nfile.unwrap_or(d.nfile),
        stack_kib: l.stack.unwrap_or(d.stack_kib),
        core_kib: l.core.unwrap_or(d.core_kib),
    }
}

fn policy_command(cmd: &PolicyCmd) -> i32 {
    let result = match cmd {
        PolicyCmd::Check { file } => load_policy(file).and_then(|(p, _)| {
            let n = p
                .compile()
                .map_err(|e| SandboxError::Policy(e.to_string()))?
                .len();
            Ok(format!(
                "{file}: ok (policy {}, {} rules, filter of {n} instructions)\n",
                p.name(),
                p.rules().len()
            ))
        }),
        PolicyCmd::Show { file } => load_policy(file).map(|(p, _)| p.show()),
        PolicyCmd::Learn(_) => Ok(String::new()),
    };
    match result {
        Ok(text) => {
            print!("{text}");
            EXIT_OK
        }
        Err(e) => {
            eprintln!("{e}");
            e.exit_code()
        }
    }
}
