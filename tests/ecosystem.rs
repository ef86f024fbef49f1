//! What safeexec gives the tools around it: the manual page, shell
//! completions, the committed copies the Debian package ships (dist/),
//! and the JSON Schemas of the report and of trace records.
//!
//! The committed copies are regenerated with
//! `SAFEEXEC_BLESS=1 cargo test --test ecosystem`.

mod common;

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
    // Every exit status of src/error.rs, 0 to 11, has an entry.
    let exit = &man[man.find(".SH \"EXIT STATUS\"").unwrap()..man.find(".SH ENVIRONMENT").unwrap()];
    for code in 0..=safeexec::error::EXIT_NO_CGROUP {
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
    // One line naming the problem; clap's detail on indented lines after it.
    let mut lines = err.lines();
    let first = lines.next().unwrap_or("");
    assert!(first.starts_with("safeexec: invalid value 'tcsh'"), "{err}");
    assert!(lines.all(|l| l.starts_with("  ")), "{err}");
    for shell in ["bash", "zsh", "fish"] {
        assert!(err.contains(shell), "{err}");
    }
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

// ---------------------------------------------------------------------------
// JSON Schemas
// ---------------------------------------------------------------------------

fn validator(rel: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(repo(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let schema: serde_json::Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::validator_for(&schema)
        .unwrap_or_else(|e| panic!("{rel} is not a valid schema: {e}"))
}

fn assert_valid(v: &jsonschema::Validator, doc: &serde_json::Value, what: &str) {
    let errors: Vec<String> = v.iter_errors(doc).map(|e| e.to_string()).collect();
    assert!(
        errors.is_empty(),
        "{what} does not match the schema: {errors:?}\n{doc:#}"
    );
}

#[test]
fn committed_schemas_are_current() {
    check_committed(
        "docs/report.schema.json",
        safeexec::schema::report().as_bytes(),
    );
    check_committed(
        "docs/trace.schema.json",
        safeexec::schema::trace().as_bytes(),
    );
}

#[test]
fn schema_rejects_what_breaks_the_contract() {
    // The validator and the schema do reject: a report without a required
    // field, with a wrong type, with an unknown verdict code.
    let v = validator("docs/report.schema.json");
    let good = serde_json::json!({
        "schema_version": 1,
        "verdict": {"code": "RE", "exit_code": 3},
        "status": "Command exited with non-zero status (3)",
        "wall_ms": 3, "cpu_ms": 0.5, "user_ms": 0.2, "sys_ms": 0.3,
        "memory_kib": 1000, "exit_code": 3, "signal": null, "processes": 1,
        "limits": {"cpu": 1000, "memory_kib": 32768, "space_kib": 0, "clock": 10000,
                   "nproc": 0, "fsize_kib": 8192, "nfile": 64, "stack_kib": 8192, "core_kib": 0,
                   "disk_kib": 65536},
        "sources": {"memory": "rusage", "cpu": "rusage"},
        "denied_calls": 0, "logged_calls": 0, "mode": "classic",
        "uid": 10001, "gid": 10001, "rootless": false
    });
    assert_valid(&v, &good, "a hand-made good report");
    // A later version's extra field is allowed (the compatibility promise).
    let mut extra = good.clone();
    extra["io_bytes"] = serde_json::json!(12);
    assert_valid(&v, &extra, "a report with an added field");
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("schema_version");
    assert!(
        !v.is_valid(&missing),
        "a report without schema_version passed"
    );
    let mut wrong = good.clone();
    wrong["wall_ms"] = serde_json::json!("3");
    assert!(!v.is_valid(&wrong), "a string wall_ms passed");
    let mut code = good.clone();
    code["verdict"] = serde_json::json!({"code": "XYZ"});
    assert!(!v.is_valid(&code), "an unknown verdict code passed");
    let mut re = good;
    re["verdict"] = serde_json::json!({"code": "RE"});
    assert!(!v.is_valid(&re), "RE without exit_code passed");
}

/// One real run's JSON report (from --usage FILE).
fn real_report(args: &[&str], program: &[&str]) -> serde_json::Value {
    let dir = common::work_dir();
    let usage = dir.path().join("report.json");
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    all.extend([
        "--report".into(),
        "json".into(),
        "--usage".into(),
        usage.display().to_string(),
        "--exec_dir".into(),
        dir.path().display().to_string(),
        "--exec".into(),
    ]);
    all.extend(program.iter().map(|s| s.to_string()));
    let r = common::run(&all);
    let text = std::fs::read_to_string(&usage).unwrap_or_else(|e| panic!("no report ({e}): {r:?}"));
    common::parse_json(&text).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn real_reports_of_every_verdict_match_the_schema() {
    if !common::is_root() {
        eprintln!("SKIP: needs root");
        return;
    }
    let v = validator("docs/report.schema.json");
    let ok = common::victim("ok");
    let spin = common::victim("spin");
    let hog = common::victim("hog");
    let exitcode = common::victim("exitcode");
    let segv = common::victim("segv");
    let bigfile = common::victim("bigfile");
    let forker = common::victim("forker");
    let p = |b: &PathBuf| b.display().to_string();
    let cases: Vec<(&str, Vec<&str>, Vec<String>)> = vec![
        ("OK", vec![], vec![p(&ok)]),
        ("TLE", vec!["--cpu", "0.3", "--clock", "5"], vec![p(&spin)]),
        ("MLE", vec!["--mem", "32768"], vec![p(&hog), "200".into()]),
        (
            "OLE",
            vec!["--fsize", "16"],
            vec![p(&bigfile), "200".into()],
        ),
        ("RE", vec![], vec![p(&exitcode), "3".into()]),
        ("SIG", vec![], vec![p(&segv)]),
        ("RF", vec!["--paranoid"], vec![p(&forker)]),
        ("OK", vec!["--paranoid"], vec![p(&ok)]),
    ];
    for (code, args, program) in cases {
        let program: Vec<&str> = program.iter().map(String::as_str).collect();
        let report = real_report(&args, &program);
        assert_eq!(
            report["verdict"]["code"], code,
            "{args:?} {program:?}: {report:#}"
        );
        assert_eq!(report["schema_version"], safeexec::report::SCHEMA_VERSION);
        assert_valid(
            &v,
            &report,
            &format!("the {code} report of {args:?} {program:?}"),
        );
    }
}

#[test]
fn real_trace_records_match_the_schema() {
    if !common::is_root() {
        eprintln!("SKIP: needs root");
        return;
    }
    let v = validator("docs/trace.schema.json");
    let dir = common::work_dir();
    let mut kinds = BTreeSet::new();
    // A full trace under the audit policy (a shell that forks, execs and
    // fails an open), and one under the default policy that ends in RF.
    let forker = common::victim("forker").display().to_string();
    for (policy, program) in [
        (
            "audit",
            vec![
                "/bin/sh",
                "-c",
                "/bin/true; cat /nonexistent 2>/dev/null; exit 2",
            ],
        ),
        ("default", vec![forker.as_str()]),
    ] {
        let trace = dir.path().join(format!("{policy}.jsonl"));
        let mut args: Vec<String> = vec![
            "--policy".into(),
            policy.into(),
            "--nproc".into(),
            "5".into(),
            "--trace".into(),
            trace.display().to_string(),
            "--exec".into(),
        ];
        args.extend(program.iter().map(|s| s.to_string()));
        let r = common::run(&args);
        let text = std::fs::read_to_string(&trace).unwrap_or_else(|e| panic!("{e}: {r:?}"));
        let mut lines = 0;
        for line in text.lines() {
            let rec: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            assert_valid(&v, &rec, &format!("trace line {line}"));
            let kind = rec["event"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| format!("syscall:{}", rec["decision"].as_str().unwrap_or("?")));
            if kind == "start" {
                assert_eq!(rec["schema_version"], safeexec::trace::SCHEMA_VERSION);
            }
            if kind == "verdict" {
                assert_eq!(rec["schema_version"], safeexec::report::SCHEMA_VERSION);
            }
            kinds.insert(kind);
            lines += 1;
        }
        assert!(lines > 5, "{policy}: only {lines} lines");
    }
    for k in [
        "start",
        "exec",
        "exit",
        "verdict",
        "syscall:allow",
        "syscall:kill",
    ] {
        assert!(kinds.contains(k), "no {k} record was checked: {kinds:?}");
    }
    assert!(
        ["fork", "vfork", "clone"]
            .iter()
            .any(|k| kinds.contains(*k)),
        "no process creation record was checked: {kinds:?}"
    );
}

// ---------------------------------------------------------------------------
// The Debian package
// ---------------------------------------------------------------------------

/// The shipped /etc/safeexec.conf changes nothing as shipped, and each
/// commented setting, once uncommented, is the default it claims to be.
#[test]
fn shipped_conffile_is_commented_defaults() {
    let text = std::fs::read_to_string(repo("dist/safeexec.conf")).unwrap();
    let defaults = safeexec::adminconf::AdminConf::default();
    let shipped = safeexec::adminconf::parse(&text, "dist/safeexec.conf").expect("parses");
    assert_eq!(
        safeexec::adminconf::AdminConf {
            source: None,
            ..shipped
        },
        defaults
    );
    let mut keys = BTreeSet::new();
    let uncommented: String = text
        .lines()
        .map(|l| match l.strip_prefix('#') {
            Some(rest) if rest.contains(" = ") && !rest.starts_with(' ') => {
                keys.insert(rest.split(" = ").next().unwrap().to_string());
                format!("{rest}\n")
            }
            _ => format!("{l}\n"),
        })
        .collect();
    let all = safeexec::adminconf::parse(&uncommented, "uncommented").expect("parses");
    assert_eq!(
        safeexec::adminconf::AdminConf {
            source: None,
            ..all
        },
        defaults,
        "an uncommented setting is not the default it shows"
    );
    for k in [
        "max_cpu",
        "max_clock",
        "max_memory",
        "max_fsize",
        "max_nproc",
        "max_nfile",
        "uid_min",
        "uid_max",
        "allowed_dirs",
        "require_policy",
        "allow_net_host",
        "allow_full_trace",
    ] {
        assert!(keys.contains(k), "the shipped conffile does not show {k}");
    }
}

/// Whether `cargo deb` can run here.
fn cargo_deb_available() -> bool {
    Command::new(env!("CARGO"))
        .args(["deb", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Builds the Debian package from the binary this test run built (dev
/// profile, no build: fast enough for `cargo test`), lists it with
/// dpkg-deb, unpacks it and checks what an administrator gets: the binary
/// setuid root under /usr/bin and working, the man page, completions,
/// policies equal to the embedded ones, the conffile, the docs and schemas.
#[test]
fn debian_package_installs_a_setuid_binary_man_page_completions_policies_and_conffile() {
    if !cargo_deb_available() {
        eprintln!(
            "SKIP debian package check: cargo-deb is not installed \
             (cargo install --locked cargo-deb; .ci/run does it)"
        );
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "deb",
            "--no-build",
            "--profile",
            "dev",
            "--no-strip",
            "--fast",
            "-o",
        ])
        .arg(out.path())
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "cargo deb: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let deb = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .expect("a .deb was written");
    let name = deb.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with(&format!("safeexec_{}-", env!("CARGO_PKG_VERSION"))),
        "{name}"
    );

    // The listing: modes and owners as dpkg will install them.
    let o = Command::new("dpkg-deb")
        .arg("-c")
        .arg(&deb)
        .output()
        .unwrap();
    assert!(o.status.success());
    let listing = String::from_utf8_lossy(&o.stdout).into_owned();
    let entry = |path: &str| -> (String, String) {
        let line = listing
            .lines()
            .find(|l| l.ends_with(&format!(" .{path}")))
            .unwrap_or_else(|| panic!("{path} is not in the package:\n{listing}"));
        let mut f = line.split_whitespace();
        (f.next().unwrap().to_string(), f.next().unwrap().to_string())
    };
    assert_eq!(
        entry("/usr/bin/safeexec"),
        ("-rwsr-xr-x".to_string(), "0/0".to_string()),
        "the binary is setuid root, mode 4755"
    );
    for p in [
        "/usr/share/man/man1/safeexec.1.gz",
        "/usr/share/bash-completion/completions/safeexec",
        "/usr/share/zsh/vendor-completions/_safeexec",
        "/usr/share/fish/vendor_completions.d/safeexec.fish",
        "/etc/safeexec.conf",
        "/usr/share/doc/safeexec/README.md",
        "/usr/share/doc/safeexec/usage.md",
        "/usr/share/doc/safeexec/admin.md",
        "/usr/share/doc/safeexec/security.md",
        "/usr/share/doc/safeexec/report.schema.json",
        "/usr/share/doc/safeexec/trace.schema.json",
        "/usr/share/doc/safeexec/copyright",
    ] {
        assert_eq!(
            entry(p),
            ("-rw-r--r--".to_string(), "0/0".to_string()),
            "{p}"
        );
    }
    // Nothing in the package but the binary is setuid or writable by others.
    for l in listing.lines() {
        let mode = l.split_whitespace().next().unwrap();
        if !l.ends_with(" ./usr/bin/safeexec") {
            assert!(!mode.contains('s'), "setuid/setgid: {l}");
        }
        assert!(!mode[8..9].contains('w'), "writable by others: {l}");
    }

    // The conffile is declared as one.
    let o = Command::new("dpkg-deb")
        .arg("--info")
        .arg(&deb)
        .arg("conffiles")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "/etc/safeexec.conf"
    );
    let o = Command::new("dpkg-deb")
        .arg("--field")
        .arg(&deb)
        .arg("Package")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "safeexec");

    // Unpacked: each file is what the repository ships.
    let root = tempfile::tempdir().unwrap();
    let o = Command::new("dpkg-deb")
        .arg("-x")
        .arg(&deb)
        .arg(root.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let at = |p: &str| root.path().join(p.trim_start_matches('/'));
    assert_eq!(
        std::fs::read(at("/etc/safeexec.conf")).unwrap(),
        std::fs::read(repo("dist/safeexec.conf")).unwrap()
    );
    for name in safeexec::policy::Policy::builtin_names() {
        let file = at(&format!("/usr/share/safeexec/policies/{name}.policy"));
        let text =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(
            Some(text.as_str()),
            safeexec::policy::Policy::builtin_source(name),
            "{name}.policy differs from the embedded policy"
        );
    }
    let o = Command::new("gzip")
        .arg("-dc")
        .arg(at("/usr/share/man/man1/safeexec.1.gz"))
        .output()
        .unwrap();
    assert_eq!(o.stdout, safeexec(&["man"]).stdout, "packaged man page");
    // The packaged binary runs and says its version.
    let o = Command::new(at("/usr/bin/safeexec"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        format!("safeexec {}", env!("CARGO_PKG_VERSION"))
    );
}

// ---------------------------------------------------------------------------
// audit --format strace
// ---------------------------------------------------------------------------

/// Drops the pid column and strace's padding before ` = `.
fn normalise_strace(line: &str) -> String {
    let rest = line
        .split_once(' ')
        .map(|x| x.1)
        .unwrap_or(line)
        .trim_start();
    match rest.split_once(") ") {
        Some((call, ret)) if ret.trim_start().starts_with("= ") => {
            format!("{call}) {}", ret.trim_start())
        }
        _ => rest.to_string(),
    }
}

#[test]
fn audit_strace_format_reads_like_strace_itself() {
    if !common::is_root() {
        eprintln!("SKIP: needs root");
        return;
    }
    let dir = common::work_dir();
    let trace = dir.path().join("t.jsonl");
    let missing = dir.path().join("missing-file");
    let program = ["/bin/cat", missing.to_str().unwrap()];
    let mut args: Vec<String> = vec![
        "--trace".into(),
        trace.display().to_string(),
        "--exec".into(),
    ];
    args.extend(program.iter().map(|s| s.to_string()));
    let r = common::run(&args);
    assert_eq!(r.status, Some(1), "{r:?}");
    let ours = stdout_of(&["audit", "--format", "strace", trace.to_str().unwrap()]);
    let lines: Vec<&str> = ours.lines().collect();
    assert!(lines.len() > 10, "{ours}");
    // Every line is a call `PID name(args) = ret` or a process event.
    for l in &lines {
        let (pid, rest) = l.split_once(' ').unwrap_or(("", ""));
        assert!(pid.parse::<u32>().is_ok(), "no pid: {l}");
        let rest = rest.trim_start();
        assert!(
            rest.starts_with("+++ ")
                || rest.starts_with("--- ")
                || rest
                    .split_once(" = ")
                    .is_some_and(|(call, _)| call.trim_end().ends_with(')')),
            "not a strace line: {l}"
        );
    }
    let open_line = format!(
        "openat(AT_FDCWD, \"{}\", O_RDONLY) = -1 ENOENT (No such file or directory)",
        missing.display()
    );
    let normal: Vec<String> = lines.iter().map(|l| normalise_strace(l)).collect();
    assert!(normal.contains(&open_line), "no `{open_line}` in:\n{ours}");
    assert_eq!(
        normalise_strace(lines.last().unwrap()),
        "+++ exited with 1 +++"
    );
    assert!(
        normal
            .iter()
            .any(|l| l.starts_with("mmap(") && l.contains(") = 0x")),
        "mmap returns are hex:\n{ours}"
    );
    assert!(
        normal
            .iter()
            .any(|l| l.starts_with("execve(\"/bin/cat\", [\"/bin/cat\", ")),
        "execve with quoted argv:\n{ours}"
    );

    // strace itself prints the same line for the same call.
    if Path::new("/usr/bin/strace").exists() {
        let out = dir.path().join("strace.txt");
        let o = Command::new("strace")
            .arg("-f")
            .arg("-o")
            .arg(&out)
            .args(program)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1));
        let theirs = std::fs::read_to_string(&out).unwrap();
        let theirs: Vec<String> = theirs.lines().map(normalise_strace).collect();
        assert!(theirs.contains(&open_line), "strace wrote:\n{theirs:#?}");
        assert_eq!(
            theirs.last().map(String::as_str),
            Some("+++ exited with 1 +++")
        );
    } else {
        eprintln!("SKIP comparison with strace: /usr/bin/strace is not installed");
    }
}

#[test]
fn audit_strace_format_of_a_missing_trace_is_one_line() {
    let o = safeexec(&["audit", "--format", "strace", "/nonexistent/trace.jsonl"]);
    assert_eq!(o.status.code(), Some(5));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.starts_with("safeexec: trace file /nonexistent/trace.jsonl"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);
    assert!(o.stdout.is_empty());
    let o = safeexec(&["audit", "--format", "strace", "--json", "x"]);
    assert_eq!(o.status.code(), Some(2));
    // A file that is not a trace: exit 10, one line, nothing on stdout.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("notes.txt");
    std::fs::write(&f, "hello\nworld\n").unwrap();
    let o = safeexec(&["audit", "--format", "strace", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(safeexec::error::EXIT_NOT_TRACE));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.starts_with("safeexec: ") && err.contains("is not a trace"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(o.stdout.is_empty());
}

// ---------------------------------------------------------------------------
// policy learn: says what it did, refuses a failed run, writes the limits
// ---------------------------------------------------------------------------

#[test]
fn learn_writes_the_runs_limits_and_says_what_it_did() {
    if !common::is_root() {
        eprintln!("SKIP: needs root");
        return;
    }
    let dir = common::work_dir();
    let policy = dir.path().join("ok.policy");
    let ok = common::victim("ok").display().to_string();
    let r = common::run(&[
        "policy",
        "learn",
        "-o",
        policy.to_str().unwrap(),
        "--cpu",
        "1.5",
        "--mem",
        "65536",
        "--nproc",
        "2",
        "--exec",
        &ok,
    ]);
    assert_eq!(r.status, Some(0), "{}", r.stderr_str());
    let text = std::fs::read_to_string(&policy).unwrap();
    assert!(text.contains("limit cpu 1.5 clock 10\n"), "{text}");
    assert!(
        text.contains("limit memory 65536 space 0 stack 8192\n"),
        "{text}"
    );
    assert!(
        text.contains("limit nproc 2 nfile 64 fsize 8192 core 0 disk 65536\n"),
        "{text}"
    );
    // The learned policy is valid and carries those limits into a run.
    let r = common::run(&["policy", "check", policy.to_str().unwrap()]);
    assert_eq!(r.status, Some(0), "{}", r.stderr_str());
    let r = common::run(&[
        "--policy",
        policy.to_str().unwrap(),
        "--report",
        "json",
        "--exec",
        &ok,
    ]);
    assert_eq!(r.status, Some(0), "{}", r.stderr_str());
    let rep = common::parse_json(r.stderr_str().trim_start_matches("hello\n")).unwrap();
    assert_eq!(rep["limits"]["cpu"], 1500);
    assert_eq!(rep["limits"]["memory_kib"], 65536);
    assert_eq!(rep["limits"]["nproc"], 2);
    // One line says what was learned, from how many calls, where it went.
    let r = common::run(&[
        "policy",
        "learn",
        "-o",
        policy.to_str().unwrap(),
        "--exec",
        &ok,
    ]);
    let err = r.stderr_str();
    let line = err
        .lines()
        .find(|l| l.starts_with("safeexec: learned "))
        .unwrap_or_else(|| panic!("no summary line:\n{err}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    let rules: usize = words[2].parse().unwrap();
    let calls: u64 = words[5].replace(',', "").parse().unwrap();
    let text = std::fs::read_to_string(&policy).unwrap();
    assert_eq!(rules, safeexec::learn_run::count_rules(&text), "{line}");
    assert!(rules > 3 && calls > 3, "{line}");
    assert!(
        line.ends_with(&format!("; wrote {}", policy.display())),
        "{line}"
    );
}

#[test]
fn learn_refuses_a_failed_run_unless_accept_failure() {
    if !common::is_root() {
        eprintln!("SKIP: needs root");
        return;
    }
    let dir = common::work_dir();
    let policy = dir.path().join("re.policy");
    let exitcode = common::victim("exitcode").display().to_string();
    let trace = dir.path().join("re.jsonl");
    let r = common::run(&[
        "policy",
        "learn",
        "-o",
        policy.to_str().unwrap(),
        "--trace",
        trace.to_str().unwrap(),
        "--exec",
        &exitcode,
        "3",
    ]);
    assert_eq!(r.status, Some(1), "{}", r.stderr_str());
    let err = r.stderr_str();
    assert!(
        err.contains("ended with `Command exited with non-zero status (3)`")
            && err.contains("--accept-failure"),
        "{err}"
    );
    assert!(!policy.exists(), "a policy was written from a failed run");

    // The same for a trace of a failed run.
    let r = common::run(&["policy", "learn", "--from", trace.to_str().unwrap()]);
    assert_eq!(r.status, Some(1), "{}", r.stderr_str());
    assert!(r.stdout.is_empty(), "{}", r.stdout_str());
    assert!(r.stderr_str().contains("--accept-failure"));

    // --accept-failure writes it, with a warning.
    let r = common::run(&[
        "policy",
        "learn",
        "--accept-failure",
        "-o",
        policy.to_str().unwrap(),
        "--exec",
        &exitcode,
        "3",
    ]);
    assert_eq!(r.status, Some(0), "{}", r.stderr_str());
    assert!(r
        .stderr_str()
        .contains("warning: the learning run ended with"));
    assert!(std::fs::read_to_string(&policy)
        .unwrap()
        .contains("default kill"));
    let r = common::run(&[
        "policy",
        "learn",
        "--accept-failure",
        "--from",
        trace.to_str().unwrap(),
    ]);
    assert_eq!(r.status, Some(0), "{}", r.stderr_str());
    assert!(r.stdout_str().contains("default kill"));
}
