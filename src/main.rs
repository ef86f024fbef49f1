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

fn real_main() -> i32 {
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
            let line = text.lines().next().unwrap_or("bad command line");
            eprintln!("safeexec: {}", line.trim_start_matches("error: "));
            return EXIT_USAGE;
        }
    };
    let a = &parsed.cli.run;
    let level = if a.verbose > 0 { "debug" } else { "warn" };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(level))
        .format_timestamp(None)
        .init();

    if let Some(Command::Policy(cmd)) = &parsed.cli.command {
        return policy_command(cmd);
    }
    let Some((program, args)) = parsed.program.clone() else {
        return fail(&SandboxError::Usage(
            "missing --exec PROGRAM [ARGS...] (it must come last)".into(),
        ));
    };
    let policy = match (&a.policy, a.paranoid) {
        (Some(name), _) => match load_policy(name) {
            Ok(p) => Some(p),
            Err(e) => return fail(&e),
        },
        (None, true) => match load_policy("default") {
            Ok(p) => Some(p),
            Err(e) => return fail(&e),
        },
        (None, false) => None,
    };
    let limits = policy.as_ref().map(policy_limits);
    let mut cfg = match a.to_config(program, args, limits.as_ref()) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    cfg.policy = policy;

    // The report file is opened before the run, so a bad path fails early.
    let mut usage = match &a.usage {
        Some(p) if !a.silent => match safeexec::supervisor::open_output("report file", p) {
            Ok(f) => Some(f),
            Err(e) => return fail(&e),
        },
        _ => None,
    };
    let report = match safeexec::run(&cfg) {
        Ok(r) => r,
        Err(e) => {
            if let (Some(f), SandboxError::ChildSetup { .. }) = (usage.as_mut(), &e) {
                let _ = writeln!(f, "Internal Error\nelapsed time: 0 seconds\nmemory usage: 0 kbytes\ncpu usage: 0.000 seconds");
            }
            return fail(&e);
        }
    };
    if !a.silent {
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
            return fail(&SandboxError::Output {
                what: "report file",
                path,
                source,
            });
        }
    }
    if report.verdict.is_internal() {
        EXIT_INTERNAL
    } else if report.verdict == safeexec::Verdict::OK {
        EXIT_OK
    } else {
        EXIT_PROGRAM_FAILED
    }
}

/// A policy by path, or by shipped name when no such file exists.
fn load_policy(name: &str) -> Result<Policy, SandboxError> {
    let path = Path::new(name);
    let looks_like_path = name.contains('/') || name.ends_with(".policy");
    if !looks_like_path || !path.exists() {
        if let Some(p) = Policy::builtin(name) {
            return p.map_err(|e| SandboxError::Policy(e.to_string()));
        }
    }
    Policy::load(path).map_err(|e| SandboxError::Policy(e.to_string()))
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
        PolicyCmd::Check { file } => load_policy(file).and_then(|p| {
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
        PolicyCmd::Show { file } => load_policy(file).map(|p| p.show()),
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
