//! A stable-toolchain fuzz loop for the two parsers that read untrusted-ish
//! text: policy files (`Policy::parse`) and the command line
//! (`safeexec::cli::parse`). Inputs are random and mutated, seeded from the
//! committed corpus (fuzz/corpus/) and the shipped policies. Properties: no
//! panic; every policy error is a diagnostic `file:line:col: ...` with line
//! and column inside the input; a policy that parses also compiles without
//! panicking.
//!
//! `cargo test --release --test fuzz_parsers` runs 100 000 inputs (a debug
//! build runs 10 000). The long mode runs
//! for `SAFEEXEC_FUZZ_SECS` seconds (default 600) and prints its figures:
//! `SAFEEXEC_FUZZ_SECS=600 cargo test --release --test fuzz_parsers -- --ignored --nocapture`.
//! The libFuzzer targets in fuzz/ check the same properties under
//! `cargo fuzz` (nightly).

use std::ffi::OsString;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::time::{Duration, Instant};

use safeexec::policy::{Policy, PolicyError};

/// xorshift64*: small, seedable, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
}

const POLICY_TOKENS: &[&str] = &[
    "default",
    "allow",
    "deny",
    "kill",
    "log",
    "include",
    "path",
    "limit",
    "on-path-violation",
    "read",
    "write",
    "stat",
    "exec",
    "if",
    "arg0",
    "arg1",
    "arg5",
    "arg6",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "&",
    "|",
    "&&",
    "||",
    "EPERM",
    "EACCES",
    "ENOSYS",
    "E2BIG",
    "0",
    "1",
    "-1",
    "0x7fffffffffffffff",
    "18446744073709551615",
    "18446744073709551616",
    "1e309",
    "NaN",
    "inf",
    "0.0000001",
    "cpu",
    "memory",
    "clock",
    "nproc",
    "fsize",
    "nfile",
    "stack",
    "core",
    "space",
    "@startup",
    "@network",
    "@dangerous",
    "@privileged",
    "@threads",
    "@process",
    "@nope",
    "@",
    "socket",
    "clone",
    "clone3",
    "ioctl",
    "TCGETS",
    "FIONREAD",
    "CLONE_VM",
    "CLONE_THREAD",
    "PR_SET_NAME",
    "base",
    "default",
    "java",
    "python3",
    "audit",
    "\"",
    "#",
    "\\",
    "/**",
    "./**",
    "**",
    "*",
    "?",
    "[",
    "]",
    "{",
    "}",
    "/",
    "..",
    "./",
    "\t",
    "\n",
    " ",
    "\r\n",
    "\u{0}",
    "é",
    "🦀",
    "\u{202e}",
    "((",
    "))",
    "=",
    "!",
];

fn corpus() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut v = Vec::new();
    for dir in ["fuzz/corpus/policy", "policies"] {
        let mut files: Vec<_> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        files.sort();
        for f in files {
            v.push(std::fs::read_to_string(f).unwrap());
        }
    }
    assert!(v.len() >= 8, "corpus missing");
    v
}

/// One mutated policy text.
fn mutate_policy(rng: &mut Rng, corpus: &[String]) -> String {
    let mut s: Vec<u8> = rng.pick(corpus).clone().into_bytes();
    for _ in 0..1 + rng.below(6) {
        let at = rng.below(s.len() + 1);
        match rng.below(8) {
            0 => {
                // insert a token
                let t = rng.pick(POLICY_TOKENS);
                s.splice(at..at, t.bytes());
            }
            1 if !s.is_empty() => {
                // delete a range
                let end = (at + 1 + rng.below(16)).min(s.len());
                let at = at.min(end);
                s.drain(at..end);
            }
            2 if !s.is_empty() => {
                // flip a byte
                let i = at.min(s.len() - 1);
                s[i] ^= 1 << rng.below(8);
            }
            3 => {
                // splice a line of another input
                let other = rng.pick(corpus);
                let lines: Vec<&str> = other.lines().collect();
                if !lines.is_empty() {
                    let l = format!("{}\n", rng.pick(&lines));
                    s.splice(at..at, l.bytes());
                }
            }
            4 => {
                // a random byte
                s.insert(at, rng.next() as u8);
            }
            5 => {
                // a line of random tokens
                let n = 1 + rng.below(8);
                let mut l = String::new();
                for _ in 0..n {
                    let t: &&str = rng.pick(POLICY_TOKENS);
                    l.push_str(t);
                    l.push(' ');
                }
                l.push('\n');
                s.splice(at..at, l.bytes());
            }
            6 if !s.is_empty() => {
                // duplicate a chunk
                let end = (at + rng.below(64)).min(s.len());
                let chunk: Vec<u8> = s[at.min(end)..end].to_vec();
                s.splice(at..at, chunk);
            }
            _ => {
                // a long run of one character
                let c = *rng.pick(b"a*/\"#9 &");
                let n = rng.below(5000);
                s.splice(at..at, std::iter::repeat_n(c, n));
            }
        }
    }
    String::from_utf8_lossy(&s).into_owned()
}

thread_local! {
    static PARSE_NS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    static COMPILE_NS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    static LAST_PANIC: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// Checks one policy input: Ok(parsed?), or Err describing a violation.
fn check_policy(text: &str) -> Result<bool, String> {
    // Keep includes away from devices and /proc (endless or blocking reads).
    if (text.contains("/dev/") || text.contains("/proc/") || text.contains("/sys/"))
        && text.contains("include")
    {
        return Ok(false);
    }
    let r = catch_unwind(AssertUnwindSafe(|| {
        let t = Instant::now();
        let res = Policy::parse(text, "fuzz.policy");
        PARSE_NS.with(|c| c.set(c.get() + t.elapsed().as_nanos() as u64));
        if let Ok(p) = &res {
            let t = Instant::now();
            let _ = p.compile();
            let _ = p.show();
            COMPILE_NS.with(|c| c.set(c.get() + t.elapsed().as_nanos() as u64));
        }
        res.err()
    }));
    let err = match r {
        Err(_) => {
            let msg = LAST_PANIC.with(|m| m.borrow().clone());
            return Err(format!("Policy::parse or compile panicked: {msg}"));
        }
        Ok(None) => return Ok(true),
        Ok(Some(e)) => e,
    };
    let PolicyError::Parse(d) = &err else {
        return Err(format!("an error without a position: {err}"));
    };
    if d.0.is_empty() {
        return Err("a parse error with no diagnostics".into());
    }
    let nlines = text.split('\n').count() as u32;
    for diag in &d.0 {
        let shown = diag.to_string();
        let prefix = format!("{}:{}:{}: ", diag.file, diag.line, diag.col);
        if diag.line == 0 || diag.col == 0 || !shown.starts_with(&prefix) {
            return Err(format!("bad position: {shown}"));
        }
        if diag.file == "fuzz.policy" && diag.line > nlines {
            return Err(format!("line beyond the input ({nlines} lines): {shown}"));
        }
    }
    Ok(false)
}

const CLI_OPTS: &[&str] = &[
    "--cpu",
    "--mem",
    "--memory",
    "--space",
    "--clock",
    "--nproc",
    "--fsize",
    "--nfile",
    "--stack",
    "--core",
    "--niceness",
    "--uidplus",
    "--gid",
    "--chroot_dir",
    "--chroot",
    "--exec_dir",
    "--rundir",
    "--env_vars",
    "--usage",
    "--error",
    "--silent",
    "--report",
    "--policy",
    "--paranoid",
    "-v",
    "-vvv",
    "--exec",
    "-e",
    "--help",
    "--version",
    "policy",
    "check",
    "show",
    "--",
    "-",
    "--cpu=1",
    "--mem=",
    "--bogus",
];
const CLI_VALUES: &[&str] = &[
    "0",
    "1",
    "-1",
    "0.5",
    "1e3",
    "1e309",
    "NaN",
    "inf",
    "-0",
    "18446744073709551615",
    "18446744073709551616",
    "4294967295",
    "4294967296",
    "99999999999999999999",
    "0x10",
    "",
    " ",
    "json",
    "classic",
    "default",
    "java",
    "/tmp",
    "/",
    "../..",
    "A=1,B",
    ",,,",
    "=",
    "A=",
    "1=2",
    "é",
    "🦀",
    "--exec",
    "1.",
    ".5",
    "1.5s",
    "+1",
    "00000000000000000001",
];

fn random_cli(rng: &mut Rng, corpus: &[Vec<String>]) -> Vec<OsString> {
    let mut v: Vec<String> = if rng.below(2) == 0 {
        rng.pick(corpus).clone()
    } else {
        Vec::new()
    };
    for _ in 0..rng.below(8) {
        let at = rng.below(v.len() + 1);
        let tok = match rng.below(4) {
            0 | 1 => rng.pick(CLI_OPTS).to_string(),
            2 => rng.pick(CLI_VALUES).to_string(),
            _ => format!("{}={}", rng.pick(CLI_OPTS), rng.pick(CLI_VALUES)),
        };
        v.insert(at, tok);
    }
    if !v.is_empty() && rng.below(4) == 0 {
        let i = rng.below(v.len());
        v.remove(i);
    }
    std::iter::once("safeexec".to_string())
        .chain(v)
        .map(OsString::from)
        .collect()
}

fn check_cli(args: Vec<OsString>) -> Result<(), String> {
    let r = catch_unwind(AssertUnwindSafe(|| {
        if let Ok(p) = safeexec::cli::parse(args.clone()) {
            if let Some((prog, rest)) = p.program {
                // Policies are not loaded here (no files read): the rest resolves.
                let _ = p.cli.run.to_request(prog, rest, None).and_then(|mut r| {
                    r.policy = safeexec::resolve::PolicyRequest::None;
                    r.resolve_with(safeexec::adminconf::AdminConf::default())
                });
            }
        }
    }));
    r.map_err(|_| {
        let msg = LAST_PANIC.with(|m| m.borrow().clone());
        format!("cli::parse panicked on {args:?}: {msg}")
    })
}

fn cli_corpus() -> Vec<Vec<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/cli");
    let mut files: Vec<_> = std::fs::read_dir(root)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .split_whitespace()
                .map(String::from)
                .collect()
        })
        .collect()
}

struct Figures {
    policies: u64,
    clis: u64,
    parsed_ok: u64,
    failures: Vec<String>,
}

/// Runs until `n` inputs or `until`, whichever comes first.
fn fuzz(seed: u64, n: u64, until: Instant) -> Figures {
    // A panic inside catch_unwind still prints; keep the output readable.
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|info| {
        LAST_PANIC.with(|m| *m.borrow_mut() = info.to_string());
    }));
    let corpus = corpus();
    let clis = cli_corpus();
    let mut rng = Rng(seed | 1);
    let mut f = Figures {
        policies: 0,
        clis: 0,
        parsed_ok: 0,
        failures: Vec::new(),
    };
    // The corpus itself first.
    for t in &corpus {
        if let Err(e) = check_policy(t) {
            if !t.contains("default kil\n") {
                f.failures.push(format!("{e}\n--- input:\n{t}"));
            }
        }
    }
    let mut i = 0u64;
    while i < n && Instant::now() < until && f.failures.len() < 10 {
        if i.is_multiple_of(2) {
            let t = mutate_policy(&mut rng, &corpus);
            match check_policy(&t) {
                Ok(true) => f.parsed_ok += 1,
                Ok(false) => {}
                Err(e) => f.failures.push(format!("{e}\n--- input:\n{t:?}")),
            }
            f.policies += 1;
        } else {
            if let Err(e) = check_cli(random_cli(&mut rng, &clis)) {
                f.failures.push(e);
            }
            f.clis += 1;
        }
        i += 1;
    }
    std::panic::set_hook(prev);
    f
}

/// 100 000 with `--release` (about 20 s); a debug build parses about 100
/// times slower (the suggestion search for unknown names), so it runs 10 000.
const INPUTS: u64 = if cfg!(debug_assertions) {
    10_000
} else {
    100_000
};

#[test]
fn parsers_survive_100k_random_and_mutated_inputs() {
    let t0 = Instant::now();
    let f = fuzz(0x5afe_e8ec, INPUTS, t0 + Duration::from_secs(3600));
    eprintln!(
        "fuzz: {} policies ({} parsed), {} command lines in {:?} (parse {} ms, compile {} ms)",
        f.policies,
        f.parsed_ok,
        f.clis,
        t0.elapsed(),
        PARSE_NS.with(|c| c.get()) / 1_000_000,
        COMPILE_NS.with(|c| c.get()) / 1_000_000
    );
    assert!(f.failures.is_empty(), "{}", f.failures.join("\n\n"));
    assert_eq!(f.policies + f.clis, INPUTS);
}

#[test]
#[ignore = "long mode: SAFEEXEC_FUZZ_SECS seconds (default 600)"]
fn parsers_survive_a_long_fuzz_run() {
    let secs: u64 = std::env::var("SAFEEXEC_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let t0 = Instant::now();
    let f = fuzz(seed, u64::MAX, t0 + Duration::from_secs(secs));
    eprintln!(
        "fuzz long mode: seed {seed:#x}, {} inputs ({} policies, {} parsed; {} command lines) in {:.0?}, {} failures",
        f.policies + f.clis,
        f.policies,
        f.parsed_ok,
        f.clis,
        t0.elapsed(),
        f.failures.len()
    );
    assert!(f.failures.is_empty(), "{}", f.failures.join("\n\n"));
}
