//! The `safeexec` command: parse the command line, call the library, print
//! the report, pick the exit status.

use std::io::Write;
use std::process::ExitCode;

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
    let mut cfg = match a.to_config(program, args, None) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    if a.policy.is_some() || a.paranoid {
        return fail(&SandboxError::Policy(
            "paranoid mode is not available in this build yet".into(),
        ));
    }
    cfg.policy = None;

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

fn policy_command(_cmd: &PolicyCmd) -> i32 {
    fail(&SandboxError::Policy(
        "policy files are not available in this build yet".into(),
    ))
}
