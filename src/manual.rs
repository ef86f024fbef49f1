//! Documentation generated from the command-line definitions: the manual
//! page (`safeexec man`, clap_mangen plus hand-written sections in the
//! shape of isolate(1)) and shell completions (`safeexec completions
//! SHELL`, clap_complete).
//!
//! Both come from [`crate::cli::Cli`], so an option added there appears in
//! them without anyone editing a copy. The Debian package ships copies
//! under `dist/` that a test keeps equal to what these functions produce.

use clap::CommandFactory;
use roff::{bold, italic, roman, Inline, Roff};

use crate::cli::Cli;
use crate::error::{
    EXIT_CONFIG, EXIT_INTERNAL, EXIT_NOT_TRACE, EXIT_NO_CGROUP, EXIT_OK, EXIT_OUTPUT, EXIT_POLICY,
    EXIT_PRIVILEGE, EXIT_PROGRAM_FAILED, EXIT_REFUSED, EXIT_SETUP, EXIT_USAGE,
};

/// Where the Debian package installs the shipped policies (as readable
/// copies: the binary embeds the same files, see [`crate::policy::Policy::builtin`]).
pub const SHARE_POLICIES: &str = "/usr/share/safeexec/policies";
/// Where the Debian package installs the documentation and the schemas.
pub const SHARE_DOC: &str = "/usr/share/doc/safeexec";

/// The command-line definition, as the binary parses it.
pub fn command() -> clap::Command {
    let mut cmd = Cli::command();
    cmd.build();
    cmd
}

/// The manual page, section 1, as roff source.
pub fn man_page() -> String {
    let cmd = command();
    let man = clap_mangen::Man::new(cmd.clone())
        .title("SAFEEXEC")
        .section("1")
        .source(format!("safeexec {}", env!("CARGO_PKG_VERSION")))
        .manual("User Commands");
    let mut out: Vec<u8> = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = man.render_title(&mut out);
    let _ = man.render_name_section(&mut out);
    let _ = man.render_synopsis_section(&mut out);
    let mut r = Roff::new();
    description(&mut r);
    out.extend_from_slice(r.render().as_bytes());
    let _ = man.render_options_section(&mut out);
    let mut r = Roff::new();
    aliases(&mut r, &cmd);
    commands(&mut r, &cmd);
    reports(&mut r);
    exit_status(&mut r);
    environment(&mut r);
    files(&mut r);
    security(&mut r);
    examples(&mut r);
    see_also(&mut r);
    out.extend_from_slice(r.render().as_bytes());
    String::from_utf8_lossy(&out).into_owned()
}

/// A completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut cmd = command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "safeexec", &mut out);
    out
}

fn para(r: &mut Roff, text: impl Into<Vec<Inline>>) {
    r.control("PP", []);
    r.text(text);
}

fn item(r: &mut Roff, tag: impl Into<Vec<Inline>>, text: impl Into<Vec<Inline>>) {
    r.control("TP", []);
    r.text(tag);
    r.text(text);
}

/// A literal block (examples, report excerpts).
fn literal(r: &mut Roff, lines: &[&str]) {
    r.control("PP", []);
    r.control("nf", []);
    r.control("RS", ["4"]);
    for l in lines {
        r.text([roman(*l)]);
    }
    r.control("RE", []);
    r.control("fi", []);
}

fn description(r: &mut Roff) {
    r.control("SH", ["DESCRIPTION"]);
    r.text([
        bold("safeexec"),
        roman(
            " runs an untrusted program (a contestant's solution, a student's submission) \
             under limits on CPU and wall time, memory, processes, file size, descriptors \
             and stack, as a unique unprivileged user, and reports what happened in the \
             classic 4-line form graders parse, or as JSON.",
        ),
    ]);
    para(
        r,
        [roman(
            "Each run gets the uid --uidplus plus the supervisor's pid (no account may own it), \
             and, when root, its own PID, IPC, UTS, mount and network namespaces, private \
             /tmp, /var/tmp and /dev/shm, and a per-run cgroup when it may fork. Nothing of a \
             run outlives it.",
        )],
    );
    para(
        r,
        [
            bold("Paranoid mode"),
            roman(
                " (--paranoid or --policy) adds a system-call policy enforced with seccomp \
                 and ptrace: deny by default, path rules checked by the supervisor. --trace \
                 records every call as JSON lines; ",
            ),
            bold("safeexec audit"),
            roman(" summarises a trace and "),
            bold("safeexec policy learn"),
            roman(" writes a policy from one."),
        ],
    );
    para(
        r,
        [roman(
            "--exec must come last: everything after it is the program and its arguments. \
             Limits left out take the policy's value (paranoid mode), then the default shown \
             below. Started by an ordinary user from a binary without the setuid bit, \
             safeexec runs in rootless mode, in an unprivileged user namespace, with fewer \
             guarantees.",
        )],
    );
}

/// Each subcommand with its own options (the run options of `policy
/// learn` are the ones above and are not repeated).
fn commands(r: &mut Roff, cmd: &clap::Command) {
    r.control("SH", ["COMMANDS"]);
    let run_ids: Vec<String> = cmd
        .get_arguments()
        .map(|a| a.get_id().to_string())
        .collect();
    let mut stack: Vec<(String, &clap::Command)> = cmd
        .get_subcommands()
        .map(|s| (format!("safeexec {}", s.get_name()), s))
        .collect();
    stack.reverse();
    while let Some((path, sub)) = stack.pop() {
        if sub.get_name() == "help" {
            continue;
        }
        let children: Vec<_> = sub
            .get_subcommands()
            .filter(|s| s.get_name() != "help")
            .collect();
        if !children.is_empty() {
            for c in children.into_iter().rev() {
                stack.push((format!("{path} {}", c.get_name()), c));
            }
            continue;
        }
        let mut usage = vec![bold(path.clone())];
        let own: Vec<&clap::Arg> = sub
            .get_arguments()
            .filter(|a| !a.is_hide_set())
            .filter(|a| !matches!(a.get_id().as_str(), "help" | "version"))
            .filter(|a| a.is_positional() || !run_ids.contains(&a.get_id().to_string()))
            .collect();
        let inherits = sub.get_arguments().any(|a| {
            !a.is_positional() && a.get_id() != "help" && run_ids.contains(&a.get_id().to_string())
        });
        for a in &own {
            usage.push(roman(" "));
            if a.is_required_set() {
                usage.extend(arg_synopsis(a));
            } else {
                usage.push(roman("["));
                usage.extend(arg_synopsis(a));
                usage.push(roman("]"));
            }
        }
        if inherits {
            usage.push(roman(" [run options] [--exec PROGRAM [ARGS...]]"));
        }
        r.control("SS", []);
        r.text(usage);
        let about = sub
            .get_long_about()
            .or(sub.get_about())
            .map(|s| s.to_string())
            .unwrap_or_default();
        r.control("PP", []);
        r.text([roman(about)]);
        for a in own {
            let help = a
                .get_long_help()
                .or(a.get_help())
                .map(|s| s.to_string())
                .unwrap_or_default();
            let mut help = help;
            let values: Vec<String> = a
                .get_possible_values()
                .iter()
                .filter(|v| !v.is_hide_set())
                .map(|v| v.get_name().to_string())
                .collect();
            if !values.is_empty() {
                help.push_str(&format!(" [possible values: {}]", values.join(", ")));
            }
            item(r, arg_synopsis(a), [roman(help)]);
        }
    }
}

/// The classic aliases (`--memory` for `--mem`, ...), which clap_mangen
/// leaves out.
fn aliases(r: &mut Roff, cmd: &clap::Command) {
    let pairs: Vec<(String, String)> = cmd
        .get_arguments()
        .filter_map(|a| Some((a.get_long()?, a.get_visible_aliases()?)))
        .flat_map(|(long, al)| {
            al.into_iter()
                .map(move |x| (format!("--{x}"), format!("--{long}")))
        })
        .collect();
    if pairs.is_empty() {
        return;
    }
    let text: Vec<String> = pairs.iter().map(|(a, l)| format!("{a} for {l}")).collect();
    para(
        r,
        [roman(format!(
            "Aliases (the classic names): {}.",
            text.join(", ")
        ))],
    );
}

/// `-o, --output FILE`, `TRACE`, `--json`.
fn arg_synopsis(a: &clap::Arg) -> Vec<Inline> {
    let value = a
        .get_value_names()
        .and_then(|v| v.first())
        .map(|v| v.to_string())
        .unwrap_or_else(|| a.get_id().to_string().to_uppercase());
    if a.is_positional() {
        return vec![italic(value)];
    }
    let mut v = Vec::new();
    if let Some(s) = a.get_short() {
        v.push(bold(format!("-{s}")));
        v.push(roman(", "));
    }
    if let Some(l) = a.get_long() {
        v.push(bold(format!("--{l}")));
    }
    if a.get_num_args().is_some_and(|n| n.takes_values()) {
        v.push(roman(" "));
        v.push(italic(value));
    }
    v
}

fn reports(r: &mut Roff) {
    r.control("SH", ["REPORTS"]);
    r.text([roman(
        "The report goes to stderr, or to the --usage file. The classic report (--report classic, \
         the default) is exactly four lines:",
    )]);
    literal(
        r,
        &[
            "<status>",
            "elapsed time: <whole seconds> seconds",
            "memory usage: <KiB> kbytes",
            "cpu usage: <seconds, 3 decimals> seconds",
        ],
    );
    para(r, [roman("where <status> is one of:")]);
    for (status, meaning) in [
        ("OK", "exited 0 within every limit"),
        ("Time Limit Exceeded", "CPU (--cpu) or wall clock (--clock)"),
        ("Memory Limit Exceeded", "--mem"),
        ("Output Limit Exceeded", "a file grew past --fsize"),
        (
            "Command exited with non-zero status (N)",
            "a runtime error (RE)",
        ),
        (
            "Command terminated by signal (N: SIGNAME)",
            "e.g. (11: SIGSEGV)",
        ),
        (
            "Restricted Function (SYSCALL)",
            "paranoid mode: the policy ended the run (RF)",
        ),
        (
            "Internal Error",
            "the sandbox, not the program, failed during the run (exit status 7)",
        ),
    ] {
        item(r, [bold(status)], [roman(meaning)]);
    }
    para(
        r,
        [
            roman("--report json prints one JSON object with full precision: "),
            bold("schema_version"),
            roman(", "),
            bold("verdict.code"),
            roman(
                " (OK, TLE, MLE, OLE, RE, SIG, RF, IE, with the verdict's details), status (the \
                 classic first line), wall_ms, cpu_ms, user_ms, sys_ms, memory_kib, exit_code, \
                 signal, processes, limits (cpu and clock in ms, sizes in KiB), sources, \
                 denied_calls, logged_calls, mode, uid, gid and rootless. Its JSON Schema is ",
            ),
            italic(format!("{SHARE_DOC}/report.schema.json")),
            roman(
                "; fields may be added in a later version, a field's meaning never changes \
                 without a new schema_version. Trace records (--trace) are described by ",
            ),
            italic(format!("{SHARE_DOC}/trace.schema.json")),
            roman("."),
        ],
    );
}

fn exit_status(r: &mut Roff) {
    r.control("SH", ["EXIT STATUS"]);
    for (code, meaning) in [
        (EXIT_OK, "The program ran and the verdict is OK."),
        (
            EXIT_PROGRAM_FAILED,
            "A verdict about the program: TLE, MLE, OLE, RE (non-zero exit), a signal, RF.",
        ),
        (
            EXIT_USAGE,
            "Bad command line: unknown option, value out of range, missing --exec.",
        ),
        (
            EXIT_PRIVILEGE,
            "No privilege to work with: not root and not setuid root, and no unprivileged \
             user namespace for rootless mode.",
        ),
        (
            EXIT_POLICY,
            "The policy file could not be read or is invalid.",
        ),
        (
            EXIT_SETUP,
            "The program could not be started: missing or not executable, bad chroot or \
             working directory, a uid or gid that an account or group has.",
        ),
        (
            EXIT_OUTPUT,
            "An output file (--usage, --error, --trace) could not be written.",
        ),
        (
            EXIT_INTERNAL,
            "The supervisor failed during the run (Internal Error), or safeexec was killed \
             by a signal and killed the run.",
        ),
        (
            EXIT_CONFIG,
            "The administrator's configuration is unsafe (not owned by root, writable by \
             group or others) or invalid: nothing runs.",
        ),
        (
            EXIT_REFUSED,
            "The administrator's configuration does not allow what a caller other than root \
             asked: a limit above its maximum, a directory outside allowed_dirs, the run's uid \
             or gid outside uid_min..uid_max, classic mode or a policy require_policy does not \
             name, --trace without allow_full_trace, --net host without allow_net_host.",
        ),
        (
            EXIT_NOT_TRACE,
            "The file given to audit or policy learn --from is not a trace: not a regular \
             file, over the bound for a trace, or without one valid record.",
        ),
        (
            EXIT_NO_CGROUP,
            "The administrator requires a cgroup for runs that should have one \
             (require_cgroup = yes) and this run cannot get one; the line says why.",
        ),
    ] {
        item(r, [bold(code.to_string())], [roman(meaning)]);
    }
    para(
        r,
        [roman(
            "For statuses 2 to 11 safeexec prints one line on stderr starting \"safeexec:\" \
             that names the failed step.",
        )],
    );
}

fn environment(r: &mut Roff) {
    r.control("SH", ["ENVIRONMENT"]);
    item(
        r,
        [bold(crate::adminconf::ENV_OVERRIDE)],
        [roman(format!(
            "Another administrator's configuration instead of {}; honoured only when the real \
             uid is 0.",
            crate::adminconf::DEFAULT_PATH
        ))],
    );
    item(
        r,
        [bold("RUST_LOG")],
        [roman(
            "Log filter for a run started by root; ignored in a setuid start, where -v shows \
             safeexec's own lines only.",
        )],
    );
    para(
        r,
        [roman(
            "A setuid start clears the whole environment before anything reads it; the \
             program gets only the variables named in --env_vars.",
        )],
    );
}

fn files(r: &mut Roff) {
    r.control("SH", ["FILES"]);
    item(
        r,
        [italic(crate::adminconf::DEFAULT_PATH)],
        [roman(
            "The administrator's configuration: what callers other than root may ask for \
             (max_cpu, max_clock, max_memory, max_fsize, max_nproc, max_nfile, uid_min, \
             uid_max, allowed_dirs, require_policy, allow_net_host, allow_full_trace), one \
             \"key = value\" a line. It must be a regular file owned by root and writable by \
             root only, or every run stops with exit status 8. Without it, safe defaults \
             apply.",
        )],
    );
    let names = crate::policy::Policy::builtin_names().join(", ");
    item(
        r,
        [italic(format!("{SHARE_POLICIES}/*.policy"))],
        [roman(format!(
            "The shipped policies ({names}), for reading and as a start for your own. The \
             binary embeds the same files: --policy NAME uses the embedded one, whatever is \
             in this directory."
        ))],
    );
    item(
        r,
        [italic(format!("{SHARE_DOC}/"))],
        [roman(
            "The documentation (usage, policy, isolation, trace, security, admin) and the \
             JSON Schemas of the report and of trace records.",
        )],
    );
}

fn security(r: &mut Roff) {
    r.control("SH", ["SECURITY"]);
    r.text([roman(
        "safeexec is installed setuid root (mode 4755, owner root) so that unprivileged \
         accounts can run programs under a fresh uid. When the real uid is not 0:",
    )]);
    for text in [
        "every file or directory the caller names (--usage, --error, --trace, --policy, \
         --chroot_dir, --exec_dir, bind sources, the trace read by audit and policy learn) is \
         opened or checked with the caller's file-system rights, never as root; output files \
         are created with O_NOFOLLOW;",
        "a missing file and one the caller may not use give the same message, so safeexec \
         does not reveal what exists where the caller cannot look;",
        "the limits, the run's uid range, the directories and the policies a caller may use \
         are bounded by /etc/safeexec.conf;",
        "the environment is cleared before anything reads it, and the program inherits only \
         descriptors 0, 1 and 2;",
        "signals go only to the run's processes, and killing safeexec (even with SIGKILL) \
         kills the whole run.",
    ] {
        r.control("IP", ["\\(bu", "2"]);
        r.text([roman(text)]);
    }
    para(
        r,
        [roman(
            "The directory holding the binary and every directory above it must not be \
             writable by callers. Classic mode does not restrict system calls: use paranoid \
             mode (--paranoid or --policy) for programs that must not open sockets or files \
             beyond what their policy allows.",
        )],
    );
}

fn examples(r: &mut Roff) {
    r.control("SH", ["EXAMPLES"]);
    for (what, cmd) in [
        (
            "A solution under half a second of CPU, two seconds of wall clock and 64 MiB:",
            "safeexec --cpu 0.5 --clock 2 --mem 65536 --exec ./solution < in.txt > out.txt",
        ),
        (
            "The JSON report in a file, the program's stderr in another:",
            "safeexec --report json --usage report.json --error stderr.txt --exec ./solution",
        ),
        (
            "Up to five processes, a working directory and a chosen environment:",
            "safeexec --nproc 5 --exec_dir /srv/run/42 --env_vars PATH,LANG=C --exec ./solution",
        ),
        (
            "Paranoid mode with the shipped default policy:",
            "safeexec --paranoid --exec ./solution",
        ),
        (
            "A Python program in a jail of read-only binds, under the python3 policy:",
            "safeexec --policy python3 --jail python3 --exec /usr/bin/python3 sol.py",
        ),
        (
            "Record a trace, summarise it, and learn a policy from it:",
            "safeexec --trace run.jsonl --exec ./solution && safeexec audit run.jsonl",
        ),
        (
            "",
            "safeexec policy learn --from run.jsonl -o solution.policy",
        ),
        ("Check a policy file:", "safeexec policy check my.policy"),
        (
            "Install completions for bash:",
            "safeexec completions bash > /etc/bash_completion.d/safeexec",
        ),
    ] {
        if !what.is_empty() {
            para(r, [roman(what)]);
        }
        literal(r, &[cmd]);
    }
}

fn see_also(r: &mut Roff) {
    r.control("SH", ["SEE ALSO"]);
    r.text([
        bold("isolate"),
        roman("(1), "),
        bold("strace"),
        roman("(1), "),
        bold("seccomp"),
        roman("(2), "),
        bold("ptrace"),
        roman("(2), "),
        bold("namespaces"),
        roman("(7), and "),
        italic(format!("{SHARE_DOC}/")),
        roman("."),
    ]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn man_page_has_the_sections() {
        let m = man_page();
        for s in [
            ".SH NAME",
            ".SH SYNOPSIS",
            ".SH DESCRIPTION",
            ".SH OPTIONS",
            ".SH COMMANDS",
            ".SH REPORTS",
            ".SH \"EXIT STATUS\"",
            ".SH ENVIRONMENT",
            ".SH FILES",
            ".SH SECURITY",
            ".SH EXAMPLES",
        ] {
            assert!(m.contains(s), "no {s} in the man page");
        }
        // The subcommands' own options are in the COMMANDS section.
        let cmds = &m[m.find(".SH COMMANDS").unwrap()..m.find(".SH REPORTS").unwrap()];
        for s in [
            "policy learn",
            "\\-\\-from",
            "\\-\\-output",
            "\\-\\-json",
            "completions",
        ] {
            assert!(cmds.contains(s), "no {s} in COMMANDS:\n{cmds}");
        }
    }
}
