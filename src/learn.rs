//! `safeexec policy learn`: a policy that allows what one traced run needed
//! and nothing else.
//!
//! The policy is standalone (no `include base`): `default kill`, one
//! `allow` per system call the run made (an `@group` when it made every call
//! of the group), and each call as narrow as the trace lets it be:
//! `ioctl` only with the requests it used; `socket` only with the exact
//! family, type and protocol it used (UDP, raw and other families are left
//! denied: their traffic cannot be limited by address or port); `connect`
//! and `bind` only with the address length of the TCP addresses used, and
//! `net` rules with the TCP ports (Landlock); a connect to a UNIX address
//! is left denied with a comment; `open`/`openat` with flag conditions when
//! the run only read (or only wrote). Path rules name the files the run
//! used (`./name` in the working directory); only reads and stats under the
//! system trees (/usr, /lib, /etc, ...) are generalised to their directory.
//! Digits that are one of the run's pids, its supervisor's pid or its
//! uid/gid become `*` (the JVM's `/tmp/hsperfdata_UID/PID`, the run's
//! cgroup `run-PID`). `kill socket` / `kill ptrace` are said
//! explicitly when the run made none. There are no placeholder rules: an op
//! with no path rule is one no allowed call can do (a call that did it with
//! no path recorded is left denied, with a comment). Each rule has a
//! comment saying what needed it. The trace is streamed record by record
//! ([`TraceReader`]). A trace cut at its bound (`truncated`) gives a policy
//! that says so in its header: calls after the cut are missing.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use syscalls::Sysno;

use crate::error::SandboxError;
use crate::policy::{expand_group, PathOpSpec, GROUPS};
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

/// Top directories whose files are the system's, not the run's: reads and
/// stats there are generalised to the file's directory.
const SYSTEM_TREES: &[&str] = &[
    "/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin", "/etc", "/opt", "/sys",
    "/proc", "/dev",
];

/// The rule pattern for one path used for `op`: `./NAME` inside the working
/// directory (`.` for itself); for reads and stats under the system trees,
/// the file itself directly under a top directory (`/etc/passwd`), under
/// /proc and /dev, else its directory's tree; the file itself everywhere
/// else and for writes and execs.
fn generalise(op: &str, path: &Path, cwd: &Path) -> String {
    if cwd != Path::new("/") {
        if path == cwd {
            return ".".into();
        }
        if let Ok(rel) = path.strip_prefix(cwd) {
            return format!("./{}", rel.display());
        }
    }
    let system = SYSTEM_TREES.iter().any(|t| path.starts_with(t));
    if !system || !matches!(op, "read" | "stat") {
        return path.display().to_string();
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

/// `path` with every run of digits that is one of `ids` (the run's pids,
/// uid and gid, which differ from run to run) replaced by `*`.
fn unnumber(path: &str, ids: &BTreeSet<String>) -> String {
    let mut out = String::with_capacity(path.len());
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        if !digits.is_empty() {
            if ids.contains(digits.as_str()) {
                out.push('*');
            } else {
                out.push_str(digits);
            }
            digits.clear();
        }
    };
    for c in path.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            flush(&mut digits, &mut out);
            out.push(c);
        }
    }
    flush(&mut digits, &mut out);
    out
}

/// A JSON argument as text.
fn arg_text(v: Option<&serde_json::Value>) -> Option<String> {
    match v? {
        serde_json::Value::String(s) => Some(s.clone()),
        o => Some(o.to_string()),
    }
}

/// Family and port of a socket address as the trace writes it
/// (`{sa_family=AF_INET, sin_port=htons(80), ...}`).
fn sockaddr_parts(s: &str) -> (String, Option<u16>) {
    let family = s
        .strip_prefix("{sa_family=")
        .map(|r| r.split([',', '}']).next().unwrap_or("").to_string())
        .unwrap_or_else(|| "?".into());
    let port = s.find("port=htons(").and_then(|i| {
        let r = &s[i + "port=htons(".len()..];
        r.split(')').next()?.parse::<u16>().ok()
    });
    (family, port)
}

/// Does `text` parse as a condition of a rule (constants the policy
/// language knows)?
fn parses(rule: &str) -> bool {
    crate::policy::Policy::parse(&format!("{rule}\n"), "learned").is_ok()
}

/// One connect or bind: narrowed (TCP: address length and ports) or not.
#[derive(Default)]
struct NetUse {
    /// address length -> (family, use)
    lens: BTreeMap<i64, (String, Use)>,
    /// TCP ports used.
    ports: BTreeMap<u16, Use>,
    /// Uses that cannot be narrowed: why -> first use.
    refused: BTreeMap<String, Use>,
}

impl NetUse {
    fn add(&mut self, r: &SyscallRecord, text: &str, types: &BTreeMap<(i32, i64), String>) {
        let bump = |m: &mut Use| m.count += 1;
        let first = || Use {
            count: 0,
            first: text.to_string(),
        };
        let addr = arg_text(r.args.get(1)).unwrap_or_default();
        let (family, port) = sockaddr_parts(&addr);
        let len = r.args.get(2).and_then(|v| v.as_i64());
        let fd = r.args.first().and_then(|v| v.as_i64()).unwrap_or(-1);
        let ty = types.get(&(r.pid, fd)).map(String::as_str).unwrap_or("");
        let why = match (family.as_str(), port, len) {
            (_, _, None) => Some("its address length is not in the trace".to_string()),
            ("AF_INET" | "AF_INET6", _, _) if !ty.is_empty() && !ty.starts_with("SOCK_STREAM") => {
                Some(format!(
                    "a {family} {ty} socket: not TCP, its address and port cannot be limited"
                ))
            }
            ("AF_INET" | "AF_INET6", Some(0), _) => {
                Some("port 0 (any port): a `net` rule needs a port".to_string())
            }
            ("AF_INET" | "AF_INET6", Some(_), _) => None,
            ("AF_UNIX", _, _) => Some(
                "a UNIX address: neither the filter nor Landlock can limit which one".to_string(),
            ),
            (f, _, _) => Some(format!("family {f}: cannot be limited")),
        };
        match (why, port, len) {
            (None, Some(port), Some(len)) => {
                bump(&mut self.lens.entry(len).or_insert_with(|| (family, first())).1);
                bump(self.ports.entry(port).or_insert_with(first));
            }
            (why, _, _) => {
                let why = why.unwrap_or_default();
                bump(self.refused.entry(why).or_insert_with(first));
            }
        }
    }

    /// The rules for `name` (connect or bind).
    fn write(&self, o: &mut String, name: &str) {
        for (why, u) in &self.refused {
            let _ = writeln!(
                o,
                "deny EACCES {name}  # {}",
                shorten(&format!(
                    "left denied: {why} ({} call{}, first {})",
                    u.count,
                    plural(u.count),
                    u.first
                ))
            );
        }
        for (len, (family, u)) in &self.lens {
            let _ = writeln!(
                o,
                "allow {name} if arg2 == {len}  # {}",
                shorten(&format!(
                    "{family} addresses; TCP ports by the `net {name}` rule ({} call{}, first {})",
                    u.count,
                    plural(u.count),
                    u.first
                ))
            );
        }
        if !self.ports.is_empty() {
            let ports: Vec<String> = self.ports.keys().map(|p| p.to_string()).collect();
            let _ =
                writeln!(
                    o,
                    "net {name} {}  # {}",
                    ports.join(" "),
                    shorten(&format!(
                    "the TCP ports the run used (Landlock; the address is not checked), first {}",
                    self.ports.values().next().map(|u| u.first.as_str()).unwrap_or("")
                ))
                );
        }
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
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
    learn_with_progress(path, &mut |_| {})
}

/// The bits of the open flags that make an open a write (the path rules'
/// rule, src/policy/paths.rs): the access mode, O_CREAT, O_TRUNC, O_APPEND
/// and O_TMPFILE without its O_DIRECTORY bit.
fn open_write_mask() -> u64 {
    (libc::O_WRONLY
        | libc::O_RDWR
        | libc::O_CREAT
        | libc::O_TRUNC
        | libc::O_APPEND
        | (libc::O_TMPFILE & !libc::O_DIRECTORY)) as u64
}

/// [`learn`], calling `progress` with the number of records read every
/// few thousand records (for a progress display).
pub fn learn_with_progress(
    path: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<String, SandboxError> {
    let mut reader = TraceReader::open(path)?;
    let mut cwd = PathBuf::from("/");
    let mut program = String::new();
    let mut calls: BTreeMap<String, Use> = BTreeMap::new();
    let mut ioctls: BTreeMap<String, Use> = BTreeMap::new();
    // (family, type, protocol) -> use
    let mut sockets: BTreeMap<(String, String, String), Use> = BTreeMap::new();
    // (pid, fd) -> socket type, for connects
    let mut socket_types: BTreeMap<(i32, i64), String> = BTreeMap::new();
    let mut connects = NetUse::default();
    let mut binds = NetUse::default();
    // op -> path -> use
    let mut raw_paths: BTreeMap<String, BTreeMap<String, Use>> = BTreeMap::new();
    // The ops each call did with a path.
    let mut call_ops: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut ids: BTreeSet<String> = BTreeSet::new();
    let mut records = 0u64;
    let mut std_fd_stat: Option<String> = None;
    while let Some(rec) = reader.next_record()? {
        match rec {
            Record::Event(Event::Start {
                cwd: c,
                program: p,
                pid,
                supervisor,
                ..
            }) => {
                cwd = PathBuf::from(c);
                program = p;
                ids.insert(pid.to_string());
                if let Some(s) = supervisor {
                    ids.insert(s.to_string());
                }
            }
            Record::Event(
                Event::Fork { child, .. } | Event::Vfork { child, .. } | Event::Clone { child, .. },
            ) => {
                ids.insert(child.to_string());
            }
            Record::Event(Event::Verdict { report, .. }) => {
                for k in ["uid", "gid"] {
                    if let Some(v) = report.get(k).and_then(|v| v.as_u64()) {
                        ids.insert(v.to_string());
                    }
                }
            }
            Record::Event(_) => {}
            Record::Syscall(r) => {
                records += 1;
                if records.is_multiple_of(4096) {
                    progress(records);
                }
                ids.insert(r.pid.to_string());
                ids.insert(r.tid.to_string());
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
                match r.syscall.as_str() {
                    "socket" => {
                        let key = (
                            arg_text(r.args.first()).unwrap_or_default(),
                            arg_text(r.args.get(1)).unwrap_or_default(),
                            arg_text(r.args.get(2)).unwrap_or_default(),
                        );
                        if let Some(fd) = r.ret.filter(|fd| *fd >= 0) {
                            socket_types.insert((r.pid, fd), key.1.clone());
                        }
                        let u = sockets.entry(key).or_insert_with(|| Use {
                            count: 0,
                            first: text.clone(),
                        });
                        u.count += 1;
                    }
                    "connect" => connects.add(&r, &text, &socket_types),
                    "bind" => binds.add(&r, &text, &socket_types),
                    "ioctl" => {
                        if let Some(req) = arg_text(r.args.get(1)) {
                            let u = ioctls.entry(req).or_insert_with(|| Use {
                                count: 0,
                                first: text.clone(),
                            });
                            u.count += 1;
                        }
                    }
                    _ => {}
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
                    call_ops
                        .entry(r.syscall.clone())
                        .or_default()
                        .insert("stat".into());
                    continue;
                }
                for p in &r.paths {
                    call_ops
                        .entry(r.syscall.clone())
                        .or_default()
                        .insert(p.op.clone());
                    let u = raw_paths
                        .entry(p.op.clone())
                        .or_default()
                        .entry(p.path.clone())
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
    progress(records);
    if records == 0 {
        return Err(SandboxError::Usage(format!(
            "{}: no system call records: learn needs a full trace (--trace FILE, level all)",
            path.display()
        )));
    }
    // Patterns, now that every pid of the run is known.
    let mut paths: BTreeMap<String, BTreeMap<String, Use>> = BTreeMap::new();
    for (op, m) in raw_paths {
        for (p, u) in m {
            // A literal `*` in a name cannot be written as a pattern: its
            // directory's tree is used instead.
            let pat = if p.contains('*') {
                match Path::new(&p).parent() {
                    Some(d) if !d.to_string_lossy().contains('*') => format!("{}/**", d.display()),
                    _ => continue,
                }
            } else {
                generalise(&op, Path::new(&unnumber(&p, &ids)), &cwd)
            };
            let e = paths
                .entry(op.clone())
                .or_default()
                .entry(pat)
                .or_insert(Use {
                    count: 0,
                    first: u.first.clone(),
                });
            e.count += u.count;
        }
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

    let has_paths = |op: &str| paths.get(op).is_some_and(|m| !m.is_empty());
    let op_has_rules = |op: &str| has_paths(op) || (op == "stat" && std_fd_stat.is_some());
    // Calls that can do an op with no path rule (the op would be
    // unrestricted): open/openat get flag conditions, the rest stay denied.
    let mut unnarrowable: BTreeMap<String, String> = BTreeMap::new();
    for name in calls.keys() {
        let Ok(sysno) = Sysno::from_str(name) else {
            continue;
        };
        for pa in crate::policy::path_args(sysno) {
            let missing: Vec<&str> = match pa.op {
                PathOpSpec::Fixed(op) => vec![op.as_str()],
                PathOpSpec::FromOpenFlags { .. } => vec![],
                PathOpSpec::FromOpenHow { .. } => vec!["read", "write"],
            }
            .into_iter()
            .filter(|op| !op_has_rules(op))
            .collect();
            if let Some(op) = missing.first() {
                unnarrowable.insert(
                    name.clone(),
                    format!("it can {op} a path and the trace has no {op} path to allow"),
                );
            }
        }
    }
    let open_flags_arg = |name: &str| match name {
        "open" => Some(1),
        "openat" => Some(2),
        _ => None,
    };
    if !has_paths("read") && !has_paths("write") {
        for name in ["open", "openat"] {
            if calls.contains_key(name) {
                unnarrowable.insert(
                    name.into(),
                    "the trace has no path it opened to allow".into(),
                );
            }
        }
    }
    let special = |name: &str| {
        matches!(name, "socket" | "connect" | "bind" | "ioctl")
            || open_flags_arg(name).is_some()
            || unnarrowable.contains_key(name)
    };

    // Whole groups first (never one holding a call narrowed below).
    let used: BTreeSet<Sysno> = calls
        .keys()
        .filter_map(|n| Sysno::from_str(n).ok())
        .collect();
    let mut covered: BTreeSet<Sysno> = BTreeSet::new();
    for (g, _, _) in GROUPS {
        let Some(members) = expand_group(g) else {
            continue;
        };
        if members.is_empty()
            || !members.iter().all(|m| used.contains(m))
            || members.iter().any(|m| special(m.name()))
        {
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
    let uses = |u: &Use| format!("{} call{}, first {}", u.count, plural(u.count), u.first);
    for (name, u) in &calls {
        if Sysno::from_str(name).is_ok_and(|s| covered.contains(&s)) {
            continue;
        }
        if let Some(why) = unnarrowable.get(name) {
            let _ = writeln!(
                o,
                "deny EACCES {name}  # {}",
                shorten(&format!("left denied: {why} ({})", uses(u)))
            );
            continue;
        }
        match name.as_str() {
            "socket" => {
                let _ = writeln!(
                    o,
                    "kill socket  # sockets of a kind the run did not make end the run"
                );
                let mut allows = Vec::new();
                for ((af, ty, proto), su) in &sockets {
                    let cond = format!("arg0 == {af} && arg1 == {ty} && arg2 == {proto}");
                    let tcp = matches!(af.as_str(), "AF_INET" | "AF_INET6")
                        && (ty == "SOCK_STREAM" || ty.starts_with("SOCK_STREAM|"));
                    let why = if !parses(&format!("allow socket if {cond}")) {
                        Some("its arguments are not constants a policy can name")
                    } else if tcp || af == "AF_UNIX" {
                        None
                    } else if matches!(af.as_str(), "AF_INET" | "AF_INET6") {
                        Some("not TCP: neither the filter nor Landlock can limit where its traffic goes")
                    } else {
                        Some("a family the learner does not narrow")
                    };
                    match why {
                        None => {
                            allows.push(format!("allow socket if {cond}  # {}", shorten(&uses(su))))
                        }
                        Some(why) if parses(&format!("deny EACCES socket if {cond}")) => {
                            let _ = writeln!(
                                o,
                                "deny EACCES socket if {cond}  # {}",
                                shorten(&format!("left denied: {why} ({})", uses(su)))
                            );
                        }
                        Some(why) => {
                            let _ = writeln!(
                                o,
                                "# socket({af}, {ty}, {proto}) left to `kill socket`: {}",
                                shorten(&format!("{why} ({})", uses(su)))
                            );
                        }
                    }
                }
                for a in allows {
                    let _ = writeln!(o, "{a}");
                }
                continue;
            }
            "connect" => {
                connects.write(&mut o, "connect");
                continue;
            }
            "bind" => {
                binds.write(&mut o, "bind");
                continue;
            }
            "ioctl" => {
                // Last match wins: other requests fail, then the ones it used.
                let _ = writeln!(
                    o,
                    "deny ENOTTY ioctl  # requests the run did not make fail like on a non-terminal"
                );
                for (req, iu) in &ioctls {
                    let _ = writeln!(o, "allow ioctl if arg1 == {req}  # {}", shorten(&uses(iu)));
                }
                continue;
            }
            _ => {}
        }
        if let Some(arg) = open_flags_arg(name) {
            let (read, write) = (has_paths("read"), has_paths("write"));
            let line = match (read, write) {
                (true, false) => format!(
                    "allow {name} if arg{arg} & {:#x} == 0  # {}",
                    open_write_mask(),
                    shorten(&format!(
                        "opens for reading only (no O_WRONLY O_RDWR O_CREAT O_TRUNC O_APPEND O_TMPFILE): the run wrote no file; {}",
                        uses(u)
                    ))
                ),
                (false, true) => format!(
                    "allow {name} if arg{arg} & {:#x} != 0  # {}",
                    (libc::O_WRONLY | libc::O_RDWR) as u64,
                    shorten(&format!(
                        "opens for writing only: the run read no file; {}",
                        uses(u)
                    ))
                ),
                _ => format!(
                    "allow {name}  # {}",
                    shorten(&format!("files by the path rules below; {}", uses(u)))
                ),
            };
            let _ = writeln!(o, "{line}");
            continue;
        }
        let _ = writeln!(o, "allow {name}  # {}", shorten(&uses(u)));
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
                    plural(u.count),
                    u.first
                ))
            );
        }
        if !any {
            let _ = writeln!(
                o,
                "# no {op} of a path in the learned run: no rule above lets a call {op} one"
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
        let g = |op, p| generalise(op, Path::new(p), cwd);
        assert_eq!(
            g("read", "/usr/lib/x86_64-linux-gnu/libc.so.6"),
            "/usr/lib/x86_64-linux-gnu/**"
        );
        assert_eq!(g("read", "/etc/ld.so.cache"), "/etc/ld.so.cache");
        assert_eq!(g("read", "/dev/null"), "/dev/null");
        // The run's own files: the file itself, for every op.
        assert_eq!(g("read", "/home/run/in.txt"), "./in.txt");
        assert_eq!(g("write", "/home/run/out/x.txt"), "./out/x.txt");
        assert_eq!(g("read", "/home/run"), ".");
        assert_eq!(g("read", "/tmp/data/in.txt"), "/tmp/data/in.txt");
        assert_eq!(g("write", "/usr/lib/x/y/z"), "/usr/lib/x/y/z");
        assert_eq!(g("exec", "/usr/bin/cat"), "/usr/bin/cat");
        let ids: BTreeSet<String> = ["24823", "14824"].iter().map(|s| s.to_string()).collect();
        assert_eq!(
            unnumber("/tmp/hsperfdata_24823/14824", &ids),
            "/tmp/hsperfdata_*/*"
        );
        assert_eq!(unnumber("/tmp/x248231/a1", &ids), "/tmp/x248231/a1");
        assert_eq!(
            sockaddr_parts(
                "{sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr(\"127.0.0.1\")}"
            ),
            ("AF_INET".to_string(), Some(8080))
        );
        assert_eq!(
            sockaddr_parts("{sa_family=AF_UNIX, sun_path=\"/x\"}"),
            ("AF_UNIX".to_string(), None)
        );
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
