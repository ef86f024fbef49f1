//! `safeexec policy learn`: a policy that allows what one traced run needed
//! and nothing else.
//!
//! The policy is standalone (no `include base`): `default kill`, one
//! `allow` per system call the run made (an `@group` when it made every call
//! of the group), `ioctl` only with the requests it used, path rules with
//! files generalised to their directories and the working directory as
//! `./**`, and `kill socket` / `kill ptrace` said explicitly when the run
//! made none. Every op (read, write, exec, stat) gets at least one path
//! rule, so an op the run never did stays restricted. Each rule has a
//! comment saying what needed it. The trace is streamed record by record
//! ([`TraceReader`]). A trace cut at its bound (`truncated`) gives a policy
//! that says so in its header: calls after the cut are missing.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use syscalls::Sysno;

use crate::error::SandboxError;
use crate::policy::{expand_group, GROUPS};
use crate::trace::{Event, Record, SyscallRecord, TraceReader};

struct Use {
    count: u64,
    first: String,
}

/// The longest comment text kept on a rule.
const COMMENT_MAX: usize = 110;

fn shorten(s: &str) -> String {
    if s.chars().count() <= COMMENT_MAX {
        s.to_string()
    } else {
        s.chars().take(COMMENT_MAX).collect::<String>() + "..."
    }
}

fn call_text(r: &SyscallRecord) -> String {
    let args: Vec<String> = r
        .args
        .iter()
        .map(|a| match a {
            serde_json::Value::String(s) => s.clone(),
            o => o.to_string(),
        })
        .collect();
    format!("{}({})", r.syscall, args.join(", "))
}

/// A pattern as policy text: quoted when it holds blanks or `#`.
fn quote(p: &str) -> Option<String> {
    if p.contains('"') || p.contains('\n') {
        return None;
    }
    if p.contains(char::is_whitespace) || p.contains('#') {
        Some(format!("\"{p}\""))
    } else {
        Some(p.to_string())
    }
}

/// The rule pattern for one path: `./**` inside the working directory,
/// the file itself directly under `/` or a top directory (`/etc/passwd`,
/// `/dev/null`) and under /proc, else its directory's tree.
fn generalise(path: &Path, cwd: &Path) -> String {
    if cwd != Path::new("/") && path.starts_with(cwd) {
        return "./**".into();
    }
    let comps = path.components().count(); // RootDir counts as one
    if path.starts_with("/proc") || path.starts_with("/dev") || comps <= 3 {
        return path.display().to_string();
    }
    match path.parent() {
        Some(d) => format!("{}/**", d.display()),
        None => path.display().to_string(),
    }
}

/// Removes patterns another pattern of the list already covers.
fn collapse(pats: BTreeMap<String, Use>) -> BTreeMap<String, Use> {
    let trees: Vec<PathBuf> = pats
        .keys()
        .filter_map(|p| p.strip_suffix("/**"))
        .filter(|p| p.starts_with('/'))
        .map(PathBuf::from)
        .collect();
    let covered = |p: &str| -> bool {
        let (base, is_tree) = match p.strip_suffix("/**") {
            Some(b) => (b, true),
            None => (p, false),
        };
        if !base.starts_with('/') {
            return false;
        }
        let base = Path::new(base);
        trees
            .iter()
            .any(|t| base.starts_with(t) && (!is_tree || base != t.as_path()))
    };
    let mut out: BTreeMap<String, Use> = BTreeMap::new();
    for (p, u) in pats {
        if covered(&p) {
            continue;
        }
        out.insert(p, u);
    }
    out
}

/// Writes the learned policy of the trace at `path`.
pub fn learn(path: &Path) -> Result<String, SandboxError> {
    let mut reader = TraceReader::open(path)?;
    let mut cwd = PathBuf::from("/");
    let mut program = String::new();
    let mut calls: BTreeMap<String, Use> = BTreeMap::new();
    let mut ioctls: BTreeMap<String, Use> = BTreeMap::new();
    let mut sockets: BTreeMap<String, Use> = BTreeMap::new();
    // op -> pattern -> use
    let mut paths: BTreeMap<String, BTreeMap<String, Use>> = BTreeMap::new();
    let mut records = 0u64;
    let mut std_fd_stat: Option<String> = None;
    while let Some(rec) = reader.next_record()? {
        match rec {
            Record::Event(Event::Start {
                cwd: c, program: p, ..
            }) => {
                cwd = PathBuf::from(c);
                program = p;
            }
            Record::Event(_) => {}
            Record::Syscall(r) => {
                records += 1;
                // Built-ins hold whatever the policy says (the program's
                // own exec, clone3 -> ENOSYS); calls that did not run are
                // not needed.
                if r.rule == "built-in" || !(r.decision == "allow" || r.decision == "log") {
                    continue;
                }
                let text = format!("pid {} {}", r.pid, call_text(&r));
                let u = calls.entry(r.syscall.clone()).or_insert_with(|| Use {
                    count: 0,
                    first: text.clone(),
                });
                u.count += 1;
                if r.syscall == "socket" {
                    if let Some(af) = r.args.first() {
                        let af = match af {
                            serde_json::Value::String(s) => s.clone(),
                            o => o.to_string(),
                        };
                        let u = sockets.entry(af).or_insert_with(|| Use {
                            count: 0,
                            first: text.clone(),
                        });
                        u.count += 1;
                    }
                }
                if r.syscall == "ioctl" {
                    if let Some(req) = r.args.get(1) {
                        let req = match req {
                            serde_json::Value::String(s) => s.clone(),
                            o => o.to_string(),
                        };
                        let u = ioctls.entry(req).or_insert_with(|| Use {
                            count: 0,
                            first: text.clone(),
                        });
                        u.count += 1;
                    }
                }
                // A stat of the descriptors the grader sets up (0-2): what
                // they point at differs from run to run.
                let on_std_fd = |i: usize| {
                    r.args
                        .get(i)
                        .and_then(|v| v.as_i64())
                        .is_some_and(|fd| (0..=2).contains(&fd))
                };
                if matches!(r.syscall.as_str(), "newfstatat" | "statx")
                    && on_std_fd(0)
                    && r.args.get(1).and_then(|v| v.as_str()) == Some("")
                {
                    std_fd_stat.get_or_insert(format!("pid {} {}", r.pid, call_text(&r)));
                    continue;
                }
                for p in &r.paths {
                    // A name with a glob character cannot be written as a
                    // pattern: its directory's tree is used instead.
                    let pat = if p.path.contains('*') {
                        match Path::new(&p.path).parent() {
                            Some(d) if !d.to_string_lossy().contains('*') => {
                                format!("{}/**", d.display())
                            }
                            _ => continue,
                        }
                    } else {
                        generalise(Path::new(&p.path), &cwd)
                    };
                    let u = paths
                        .entry(p.op.clone())
                        .or_default()
                        .entry(pat)
                        .or_insert_with(|| Use {
                            count: 0,
                            first: format!("pid {} {} {}", r.pid, r.syscall, p.path),
                        });
                    u.count += 1;
                }
            }
        }
    }
    reader.finish()?;
    if records == 0 {
        return Err(SandboxError::Usage(format!(
            "{}: no system call records: learn needs a full trace (--trace FILE, level all)",
            path.display()
        )));
    }

    let mut o = String::new();
    let _ = writeln!(
        o,
        "# learned by `safeexec policy learn` from one run of {program}"
    );
    let _ = writeln!(
        o,
        "# working directory of that run: {} (./ below)",
        cwd.display()
    );
    let _ = writeln!(
        o,
        "# It allows what that run needed and nothing else; review before use."
    );
    if let Some(limit) = reader.truncated() {
        let _ = writeln!(
            o,
            "# WARNING: the trace was cut at its bound of {} (--trace-limit): calls after the cut are missing.",
            crate::input::human_size(limit)
        );
    }
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "default kill                    # anything the run did not do ends the run"
    );
    let _ = writeln!(o, "on-path-violation deny EACCES   # a path outside the rules below fails like a permission error");
    let _ = writeln!(o);

    // Whole groups first.
    let used: BTreeSet<Sysno> = calls
        .keys()
        .filter_map(|n| Sysno::from_str(n).ok())
        .collect();
    let mut covered: BTreeSet<Sysno> = BTreeSet::new();
    for (g, _, _) in GROUPS {
        let Some(members) = expand_group(g) else {
            continue;
        };
        if members.is_empty() || !members.iter().all(|m| used.contains(m)) {
            continue;
        }
        let total: u64 = members
            .iter()
            .filter_map(|m| calls.get(m.name()).map(|u| u.count))
            .sum();
        let _ = writeln!(
            o,
            "allow @{g}  # the run used every call of the group ({total} calls)"
        );
        covered.extend(members);
    }
    for (name, u) in &calls {
        if Sysno::from_str(name).is_ok_and(|s| covered.contains(&s)) {
            continue;
        }
        if name == "socket" {
            // Only the address families the run used.
            let _ = writeln!(o, "kill socket  # families the run did not use end the run");
            for (af, su) in &sockets {
                let _ = writeln!(
                    o,
                    "allow socket if arg0 == {af}  # {}",
                    shorten(&format!("{} calls, first {}", su.count, su.first))
                );
            }
            continue;
        }
        if name == "ioctl" {
            // Last match wins: other requests fail, then the ones it used.
            let _ = writeln!(
                o,
                "deny ENOTTY ioctl  # requests the run did not make fail like on a non-terminal"
            );
            for (req, iu) in &ioctls {
                let _ = writeln!(
                    o,
                    "allow ioctl if arg1 == {req}  # {}",
                    shorten(&format!("{} calls, first {}", iu.count, iu.first))
                );
            }
            continue;
        }
        let _ = writeln!(
            o,
            "allow {name}  # {}",
            shorten(&format!(
                "{} call{}, first {}",
                u.count,
                if u.count == 1 { "" } else { "s" },
                u.first
            ))
        );
    }
    let mut explicit = Vec::new();
    for name in ["socket", "ptrace"] {
        if !calls.contains_key(name) {
            explicit.push(name);
        }
    }
    if !explicit.is_empty() {
        let _ = writeln!(o);
        for name in explicit {
            let _ = writeln!(o, "kill {name}  # the learned run made no {name} call");
        }
    }

    let _ = writeln!(o);
    for op in ["read", "write", "exec", "stat"] {
        if op == "stat" {
            if let Some(first) = &std_fd_stat {
                let _ = writeln!(
                    o,
                    "path stat /**  # {}",
                    shorten(&format!(
                        "stat of stdin/out/err, whose files the grader picks: {first}"
                    ))
                );
                continue;
            }
        }
        let pats = collapse(paths.remove(op).unwrap_or_default());
        let mut any = false;
        for (pat, u) in &pats {
            let Some(q) = quote(pat) else { continue };
            any = true;
            let _ = writeln!(
                o,
                "path {op} {q}  # {}",
                shorten(&format!(
                    "{} use{}, first {}",
                    u.count,
                    if u.count == 1 { "" } else { "s" },
                    u.first
                ))
            );
        }
        if !any {
            let _ = writeln!(
                o,
                "path {op} /dev/null  # no {op} in the learned run: keeps {op} restricted"
            );
        }
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_generalise_to_directories() {
        let cwd = Path::new("/home/run");
        assert_eq!(
            generalise(Path::new("/usr/lib/x86_64-linux-gnu/libc.so.6"), cwd),
            "/usr/lib/x86_64-linux-gnu/**"
        );
        assert_eq!(
            generalise(Path::new("/etc/ld.so.cache"), cwd),
            "/etc/ld.so.cache"
        );
        assert_eq!(generalise(Path::new("/dev/null"), cwd), "/dev/null");
        assert_eq!(generalise(Path::new("/home/run/in.txt"), cwd), "./**");
        let mut m = BTreeMap::new();
        for p in ["/usr/lib/**", "/usr/lib/python3/**", "/usr/lib/x", "/etc/x"] {
            m.insert(
                p.to_string(),
                Use {
                    count: 1,
                    first: String::new(),
                },
            );
        }
        let c: Vec<String> = collapse(m).into_keys().collect();
        assert_eq!(c, vec!["/etc/x", "/usr/lib/**"]);
    }
}
