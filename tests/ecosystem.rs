//! What safeexec gives the tools around it: the manual page, shell
//! completions, the committed copies the Debian package ships (dist/),
//! and the JSON Schemas of the report and of trace records.
//!
//! The committed copies are regenerated with
//! `SAFEEXEC_BLESS=1 cargo test --test ecosystem`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_safeexec");

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn safeexec(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run safeexec")
}

fn stdout_of(args: &[&str]) -> String {
    let o = safeexec(args);
    assert!(
        o.status.success(),
        "safeexec {args:?}: {:?}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).expect("utf-8 output")
}

/// Every `--long` option (and alias) named in a help text.
fn long_options(help: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in help.lines() {
        let t = line.trim_start();
        // Option lines start with `-`; alias lines read `[alias: --memory]`.
        if !(t.starts_with('-') || t.starts_with("[alias")) {
            continue;
        }
        for w in t.split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == ']') {
            if let Some(name) = w.strip_prefix("--") {
                let name: String = name
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                    .collect();
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        }
    }
    out
}

/// The man page's text with roff's escaped hyphens plain.
fn man_text() -> String {
    stdout_of(&["man"]).replace("\\-", "-")
}

#[test]
fn man_page_names_every_long_option_of_help() {
    let man = man_text();
    let mut checked = 0;
    for cmd in [
        vec!["--help"],
        vec!["policy", "learn", "--help"],
        vec!["policy", "check", "--help"],
        vec!["audit", "--help"],
        vec!["completions", "--help"],
    ] {
        let help = stdout_of(&cmd);
        let opts = long_options(&help);
        assert!(!opts.is_empty(), "no option found in {cmd:?}:\n{help}");
        for o in &opts {
            assert!(
                man.contains(&format!("--{o}")),
                "--{o} (from safeexec {cmd:?}) is not in the man page"
            );
            checked += 1;
        }
    }
    // The top-level help alone has more than 30 options (and 3 aliases).
    let top = long_options(&stdout_of(&["--help"]));
    for o in [
        "cpu",
        "mem",
        "memory",
        "chroot",
        "rundir",
        "exec",
        "trace-level",
    ] {
        assert!(top.contains(o), "the help parser missed --{o}: {top:?}");
    }
    assert!(checked > 35, "only {checked} options checked");
}

#[test]
fn man_page_has_isolate_like_sections_with_defaults_and_exit_statuses() {
    let man = man_text();
    for s in [
        ".SH OPTIONS",
        ".SH REPORTS",
        ".SH \"EXIT STATUS\"",
        ".SH FILES",
        ".SH SECURITY",
        ".SH EXAMPLES",
    ] {
        assert!(man.contains(s), "no {s}");
    }
    // Defaults are shown with their options.
    assert!(man.contains("[default: 32768]"), "no default of --mem");
    assert!(man.contains("[default: classic]"), "no default of --report");
    // Every exit status of src/error.rs, 0 to 8, has an entry.
    let exit = &man[man.find(".SH \"EXIT STATUS\"").unwrap()..man.find(".SH ENVIRONMENT").unwrap()];
    for code in 0..=8 {
        assert!(
            exit.contains(&format!(".TP\n\\fB{code}\\fR")),
            "exit status {code} missing:\n{exit}"
        );
    }
    assert!(man.contains("/etc/safeexec.conf"));
    assert!(man.contains("/usr/share/safeexec/policies"));
    // groff finds nothing to warn about, when it is installed.
    if Path::new("/usr/bin/groff").exists() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("safeexec.1");
        std::fs::write(&f, stdout_of(&["man"])).unwrap();
        let o = Command::new("groff")
            .args(["-man", "-ww", "-z"])
            .arg(&f)
            .output()
            .unwrap();
        assert!(o.status.success());
        assert_eq!(String::from_utf8_lossy(&o.stderr), "", "groff warnings");
    } else {
        eprintln!("SKIP groff check: /usr/bin/groff is not installed");
    }
}

/// A generated file and its committed copy in the repository.
fn check_committed(rel: &str, generated: &[u8]) {
    let path = repo(rel);
    if std::env::var_os("SAFEEXEC_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, generated).unwrap();
        return;
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{rel} is not what safeexec generates: run `SAFEEXEC_BLESS=1 cargo test --test ecosystem` and commit it"
    );
}

#[test]
fn committed_man_page_and_completions_are_current() {
    check_committed("dist/safeexec.1", &safeexec(&["man"]).stdout);
    for (shell, file) in [
        ("bash", "dist/completions/safeexec.bash"),
        ("zsh", "dist/completions/_safeexec"),
        ("fish", "dist/completions/safeexec.fish"),
    ] {
        let o = safeexec(&["completions", shell]);
        assert!(o.status.success());
        check_committed(file, &o.stdout);
    }
}

#[test]
fn completions_for_an_unknown_shell_are_a_usage_error() {
    let o = safeexec(&["completions", "tcsh"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.starts_with("safeexec: "), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(o.stdout.is_empty());
}

/// What bash's completion offers for the words typed so far.
fn bash_complete(script: &Path, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let cword = words.len() - 1;
    let prog = format!(
        "source '{}'\nCOMP_WORDS=({})\nCOMP_CWORD={cword}\nCOMP_LINE='{}'\nCOMP_POINT=${{#COMP_LINE}}\n\
         _safeexec safeexec '{}' '{}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script.display(),
        quoted.join(" "),
        words.join(" "),
        words[cword],
        words[cword.saturating_sub(1)],
    );
    let o = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &prog])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "bash: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn bash_completion_completes_options_subcommands_and_values() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("safeexec.bash");
    std::fs::write(&script, safeexec(&["completions", "bash"]).stdout).unwrap();

    let got = bash_complete(&script, &["safeexec", "--me"]);
    assert!(got.contains(&"--mem".to_string()), "{got:?}");
    assert!(got.contains(&"--memory".to_string()), "{got:?}");
    assert!(!got.contains(&"--cpu".to_string()), "{got:?}");

    let got = bash_complete(&script, &["safeexec", "--report", ""]);
    assert_eq!(got, ["classic", "json"], "values of --report");

    let got = bash_complete(&script, &["safeexec", "policy", "l"]);
    assert_eq!(got, ["learn"], "policy subcommands");

    let got = bash_complete(&script, &["safeexec", "completions", "z"]);
    assert_eq!(got, ["zsh"]);
}

#[test]
fn zsh_and_fish_completions_parse_and_name_the_options() {
    for (shell, check) in [("zsh", vec!["-n"]), ("fish", vec!["--no-execute"])] {
        let text = stdout_of(&["completions", shell]);
        for o in ["mem", "memory", "trace-level", "chroot_dir", "exec"] {
            let written = match shell {
                "fish" => format!("-l {o}"),
                _ => format!("--{o}"),
            };
            assert!(
                text.contains(&written),
                "{shell} completion lacks {written}"
            );
        }
        for sub in ["learn", "audit", "completions"] {
            assert!(text.contains(sub), "{shell} completion lacks {sub}");
        }
        let bin = format!("/usr/bin/{shell}");
        if !Path::new(&bin).exists() {
            eprintln!("SKIP {shell} syntax check: {bin} is not installed (.ci/run installs it)");
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("completion");
        std::fs::write(&f, &text).unwrap();
        let o = Command::new(&bin).args(&check).arg(&f).output().unwrap();
        assert!(
            o.status.success(),
            "{shell} {check:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    // fish really completes an option from the script.
    if Path::new("/usr/bin/fish").exists() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("safeexec.fish");
        std::fs::write(&f, stdout_of(&["completions", "fish"])).unwrap();
        let o = Command::new("fish")
            .args(["--no-config", "-c"])
            .arg(format!(
                "source {}; complete -C 'safeexec --trace-l'",
                f.display()
            ))
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.contains("--trace-level"), "fish offered: {out}");
    }
}
