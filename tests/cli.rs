//! The command line pinned down by examples that run: every tests/cmd/*.toml
//! is one invocation of the built binary with its arguments, its expected
//! exit status, stdout and stderr (trycmd). `[..]` in an expected line
//! matches any text within the line (times, memory, pids), `...` on a line
//! of its own any number of lines. A case's working directory is
//! tests/cmd/NAME.in/ when that exists (fixtures: a bad policy, a trace for
//! `audit`).
//!
//! When you change a message, the help or a report on purpose, refresh the
//! expected output and review the diff before committing:
//!
//! ```text
//! TRYCMD=overwrite cargo test --test cli
//! git diff tests/cmd/
//! ```
//!
//! Overwriting leaves the files of the cases that still pass alone; a case
//! that fails is rewritten with this run's output, wildcards included: put
//! `[..]` back in its lines that vary (elapsed, memory, cpu, uid, gid,
//! wall_ms, ...). A new case starts as NAME.toml (bin.name, args,
//! status.code) with empty NAME.stdout and NAME.stderr for overwrite to fill.
//!
//! Cases named `run-*` start a program, which needs root (CI runs as root);
//! they are skipped otherwise.

#[test]
fn cli_cases() {
    let t = trycmd::TestCases::new();
    t.register_bin(
        "safeexec",
        std::path::Path::new(env!("CARGO_BIN_EXE_safeexec")),
    );
    t.case("tests/cmd/*.toml");
    if !nix::unistd::geteuid().is_root() {
        eprintln!("not root: skipping tests/cmd/run-*.toml");
        t.skip("tests/cmd/run-*.toml");
    }
}
