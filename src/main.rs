//! The `safeexec` command: parse the command line, call the library, print
//! the report, pick the exit status.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

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

/// When safeexec's main began: `-v` lines show the time since, so the cost
/// of each step of a run's set-up can be read off them.
static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// `-v` (and RUST_LOG) lines: `[+1234us LEVEL module] message`.
fn log_format(buf: &mut env_logger::fmt::Formatter, r: &log::Record) -> std::io::Result<()> {
    use std::io::Write;
    let us = STARTED.get().map_or(0, |t| t.elapsed().as_micros());
    writeln!(buf, "[+{us}us {} {}] {}", r.level(), r.target(), r.args())
}

fn real_main() -> i32 {
    STARTED.get_or_init(std::time::Instant::now);
    let setid = safeexec::caller::is_setid();
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
            eprint!("{}", cli::usage_error_text(&e));
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
        b.format(log_format).init();
    } else {
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(level))
            .format(log_format)
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
        Some(Command::Audit {
            trace,
            json,
            format,
        }) => {
            return match (format, json) {
                (Some(cli::AuditFormat::Strace), _) => audit_strace(trace),
                (Some(f), _) => audit_command(trace, *f == cli::AuditFormat::Json),
                (None, json) => audit_command(trace, *json),
            }
        }
        Some(Command::Man) => {
            print!("{}", safeexec::manual::man_page());
            return EXIT_OK;
        }
        Some(Command::Completions { shell }) => {
            let _ = std::io::stdout().write_all(&safeexec::manual::completions(*shell));
            return EXIT_OK;
        }
        Some(Command::Judge(j)) => return safeexec::judge::main(j),
        Some(Command::Check) => return check_command(),
        None => {}
    }
    let Some((program, args)) = parsed.program.clone() else {
        return fail(&SandboxError::Usage(
            "missing --exec PROGRAM [ARGS...] (it must come last)".into(),
        ));
    };
    let trace = a.trace.clone().map(|p| (p, a.trace_level));
    match execute(a, program, args, trace, true, None) {
        Ok(Some(r)) => exit_status(&r),
        Ok(None) => EXIT_OK,
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

/// One run: the request resolved (policy, administrator's bounds), trace
/// and report files opened before it, the report printed after it.
/// Err: the exit status of a failure.
fn execute(
    a: &cli::RunArgs,
    program: std::ffi::OsString,
    args: Vec<std::ffi::OsString>,
    trace: Option<(std::path::PathBuf, TraceLevel)>,
    print_report: bool,
    mut progress: Option<&mut safeexec::learn_run::LearnProgress>,
) -> Result<Option<safeexec::Report>, i32> {
    let name = program.to_string_lossy().into_owned();
    let resolved = a
        .to_request(program, args, trace.as_ref().map(|(_, l)| *l))
        .and_then(|r| r.resolve())
        .map_err(|e| fail(&e))?;
    if a.show_config {
        print!("{}", resolved.effective().json());
        return Ok(None);
    }
    if trace.is_none() && a.trace_limit.is_some() {
        return Err(fail(&SandboxError::Usage(
            "--trace-limit needs --trace FILE".into(),
        )));
    }
    // Like the report file, the trace is opened before the run.
    let mut tracer = match &trace {
        Some((p, level)) => match TraceWriter::open(p, *level) {
            Ok(mut t) => {
                // Without it, the library bounds the trace by --fsize.
                if let Some(kib) = a.trace_limit {
                    t.set_limit(kib << 10);
                }
                Some(t)
            }
            Err(e) => return Err(fail(&e)),
        },
        None => None,
    };

    // The report file is opened before the run, so a bad path fails early.
    let mut usage = match &a.usage {
        Some(p) if !a.silent => match safeexec::files::open_output("report file", p) {
            Ok(f) => Some(f),
            Err(e) => return Err(fail(&e)),
        },
        _ => None,
    };
    if let (Some(p), Some(t)) = (progress.as_deref_mut(), tracer.as_mut()) {
        if let Some(f) = p.running(&name) {
            t.set_progress(f);
        }
    }
    let run = resolved.run(tracer.as_mut());
    if let Some(p) = progress {
        p.run_ended();
    }
    let report = match run {
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
    for w in &report.warnings {
        eprintln!("safeexec: warning: {w}");
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
    log::debug!("the report is written: safeexec exits");
    Ok(Some(report))
}

/// `safeexec check`.
fn check_command() -> i32 {
    match safeexec::adminconf::load() {
        Ok(conf) => {
            print!("{}", safeexec::hostcheck::check(&conf).text());
            EXIT_OK
        }
        Err(e) => fail(&e),
    }
}

/// `safeexec audit TRACE [--json]`.
fn audit_command(trace: &Path, json: bool) -> i32 {
    match safeexec::caller::as_caller(|| safeexec::audit::summarise(trace)) {
        Ok(s) => {
            let text = if json { s.json() } else { s.text() };
            print!("{text}");
            EXIT_OK
        }
        Err(e) => fail(&e),
    }
}

/// `safeexec audit --format strace TRACE`: streamed, record by record.
fn audit_strace(trace: &Path) -> i32 {
    let mut reader = match safeexec::caller::as_caller(|| safeexec::trace::TraceReader::open(trace))
    {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match safeexec::strace::write_strace(&mut reader, &mut out) {
        Ok(0) => EXIT_OK,
        Ok(n) => {
            eprintln!(
                "safeexec: warning: {n} lines of {} are not trace records (skipped)",
                trace.display()
            );
            EXIT_OK
        }
        Err(safeexec::strace::StraceError::Read(e)) => fail(&e),
        // A closed pipe (`| head`) ends the listing quietly.
        Err(safeexec::strace::StraceError::Write(e))
            if e.kind() == std::io::ErrorKind::BrokenPipe =>
        {
            EXIT_OK
        }
        Err(safeexec::strace::StraceError::Write(source)) => fail(&SandboxError::Output {
            what: "output",
            path: "stdout".into(),
            source,
        }),
    }
}

/// `safeexec policy learn`: from a trace, or by running the program with a
/// full trace under the audit policy first.
fn learn_command(
    l: &cli::LearnArgs,
    program: Option<(std::ffi::OsString, Vec<std::ffi::OsString>)>,
) -> i32 {
    let started = std::time::Instant::now();
    // A spinner on a terminal for long runs and long traces; nothing in a pipe.
    let mut progress = safeexec::learn_run::LearnProgress::new();
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
            let saved = l
                .output
                .is_none()
                .then(safeexec::files::StdoutToStderr::begin);
            let r = execute(
                &l.run,
                program,
                args,
                Some((path.clone(), TraceLevel::All)),
                false,
                Some(&mut progress),
            );
            drop(saved);
            match r {
                Ok(None) => return EXIT_OK,
                Ok(Some(r)) if r.verdict.is_internal() => {
                    if temporary {
                        let _ = std::fs::remove_file(&path);
                    }
                    eprintln!("safeexec: the learning run failed: {}", r.status);
                    return EXIT_INTERNAL;
                }
                Ok(Some(r)) if r.verdict != safeexec::Verdict::OK && !l.accept_failure => {
                    if temporary {
                        let _ = std::fs::remove_file(&path);
                    }
                    eprintln!(
                        "safeexec: the learning run ended with `{}`: a policy learned from it would be incomplete, none written (--accept-failure writes it anyway)",
                        r.status
                    );
                    return EXIT_PROGRAM_FAILED;
                }
                Ok(Some(r)) => {
                    if r.verdict != safeexec::Verdict::OK {
                        eprintln!(
                            "safeexec: warning: the learning run ended with `{}`; the policy covers what it did until then",
                            r.status
                        );
                    }
                }
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
    let learned = safeexec::caller::as_caller(|| {
        let text = safeexec::learn::learn_with_progress(&trace, &mut |n| progress.calls_read(n))?;
        let facts = safeexec::learn_run::trace_facts(&trace)?;
        Ok((text, facts))
    });
    progress.finish();
    if temporary {
        let _ = std::fs::remove_file(&trace);
    }
    let (mut text, facts) = match learned {
        Ok(t) => t,
        Err(e) => return fail(&e),
    };
    // A trace given with --from: the same rule about its run's verdict.
    if l.from.is_some() {
        match &facts.verdict {
            Some((status, false)) if !l.accept_failure => {
                eprintln!(
                    "safeexec: the traced run ended with `{status}`: a policy learned from it would be incomplete, none written (--accept-failure writes it anyway)"
                );
                return EXIT_PROGRAM_FAILED;
            }
            Some(_) => {}
            None => eprintln!(
                "safeexec: warning: {} has no verdict record (the run was cut short?); the policy covers what it recorded",
                trace.display()
            ),
        }
    }
    if let Some(limits) = &facts.limits {
        text.push_str(&safeexec::learn_run::limit_lines(limits));
    }
    match &l.output {
        Some(p) => {
            let r = safeexec::files::open_output("policy file", p).and_then(|mut f| {
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
    eprintln!(
        "safeexec: {}",
        safeexec::learn_run::summary(
            safeexec::learn_run::count_rules(&text),
            facts.calls,
            started.elapsed(),
            l.output.as_deref()
        )
    );
    EXIT_OK
}

fn policy_command(cmd: &PolicyCmd) -> i32 {
    if let PolicyCmd::Check { file } | PolicyCmd::Show { file } = cmd {
        if let Some(w) = safeexec::resolve::shadowed_policy_file(file) {
            eprintln!("safeexec: warning: {w}");
        }
    }
    let result = match cmd {
        PolicyCmd::Check { file } => safeexec::resolve::load_policy(file).and_then(|(p, _)| {
            let n = p.compile().map_err(SandboxError::Policy)?.len();
            Ok(format!(
                "{file}: ok (policy {}, {} rules, filter of {n} instructions)\n",
                p.name(),
                p.rules().len()
            ))
        }),
        PolicyCmd::Show { file } => safeexec::resolve::load_policy(file).map(|(p, _)| p.show()),
        PolicyCmd::Learn(_) => Ok(String::new()),
    };
    match result {
        Ok(text) => {
            print!("{text}");
            EXIT_OK
        }
        Err(e) => fail(&e),
    }
}
