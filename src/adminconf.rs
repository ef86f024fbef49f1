//! The administrator's configuration (`/etc/safeexec.conf`): what callers
//! other than root may ask for. Model, parser (errors as `file:line`) and
//! the checks the supervisor applies; see docs/admin.md.
//!
//! The file is read as root, never with the caller's rights, and refused
//! unless root owns it and neither group nor others may write it.

use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use crate::config::Limits;
use crate::error::SandboxError;

/// Where the configuration lives; set another path at build time with
/// `SAFEEXEC_CONF_PATH=/path cargo build`.
pub const DEFAULT_PATH: &str = match option_env!("SAFEEXEC_CONF_PATH") {
    Some(p) => p,
    None => "/etc/safeexec.conf",
};

/// Environment variable naming another configuration file; honoured only
/// when the real uid is 0 (tests and administrators), ignored otherwise.
pub const ENV_OVERRIDE: &str = "SAFEEXEC_CONF";

/// Which policies a caller other than root must run under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequirePolicy {
    /// Classic mode is allowed.
    None,
    /// Any policy (paranoid mode), shipped or the caller's own file.
    Any,
    /// One of these: a shipped policy name, or an absolute path the
    /// administrator controls.
    Names(Vec<String>),
}

/// The bounds and permissions for callers other than root.
#[derive(Debug, Clone, PartialEq)]
pub struct AdminConf {
    /// The file these values came from; None = built-in defaults.
    pub source: Option<PathBuf>,
    pub max_cpu: Duration,
    pub max_memory_kib: u64,
    pub max_clock: Duration,
    pub max_nproc: u64,
    pub max_fsize_kib: u64,
    pub max_nfile: u64,
    /// Most `--tmpfs` mounts of a jail (each is RAM up to --mem).
    pub max_tmpfs: u64,
    /// Most `--bind` and `--ro-bind` together.
    pub max_binds: u64,
    /// Most arguments of the program.
    pub max_args: u64,
    /// The run's uid (uidplus + pid) and gid must lie in uid_min..=uid_max.
    pub uid_min: u32,
    pub uid_max: u32,
    /// Directories under which a chroot, working directory or bind source
    /// may lie. Empty = none.
    pub allowed_dirs: Vec<PathBuf>,
    pub allow_net_host: bool,
    pub allow_full_trace: bool,
    /// Reserved, no effect: a rootless run goes through no privileged
    /// binary, so nothing in this file can bind it (the kernel's settings
    /// on unprivileged user namespaces do). Parsed so existing files stay valid.
    pub allow_rootless: bool,
    pub require_policy: RequirePolicy,
    /// A cgroup v2 directory delegated to safeexec: run cgroups are made
    /// below it (`<cgroup_root>/run-<pid>`) instead of below safeexec's own
    /// cgroup. None = safeexec's own cgroup (docs/isolation.md).
    pub cgroup_root: Option<PathBuf>,
    /// A run that should have a cgroup and cannot get one is an error
    /// (exit 11) instead of a warning. Binds every run that goes through
    /// this file (root and setuid; rootless runs never have a cgroup).
    pub require_cgroup: bool,
    /// cgroup v1: mount the empty `favordynmods` hierarchy that makes
    /// joining a run's cgroup cheap (src/isolate/cgroup.rs, `fast_join`).
    pub cgroup_fast_join: bool,
}

impl Default for AdminConf {
    /// The safe defaults used when no configuration file exists.
    fn default() -> Self {
        AdminConf {
            source: None,
            max_cpu: Duration::from_secs(60),
            max_memory_kib: 4 << 20,
            max_clock: Duration::from_secs(300),
            max_nproc: 256,
            max_fsize_kib: 1 << 20,
            max_nfile: 1024,
            max_tmpfs: 4,
            max_binds: 32,
            max_args: 4096,
            uid_min: 10_000,
            uid_max: 2_000_000_000,
            allowed_dirs: Vec::new(),
            allow_net_host: false,
            allow_full_trace: false,
            allow_rootless: false,
            require_policy: RequirePolicy::None,
            cgroup_root: None,
            require_cgroup: false,
            cgroup_fast_join: true,
        }
    }
}

/// The configuration path in force: the build-time default, or
/// `$SAFEEXEC_CONF` when the real uid is 0.
pub fn config_path() -> PathBuf {
    if crate::sys::setuid::real_ids().0 == 0 {
        if let Some(p) = std::env::var_os(ENV_OVERRIDE).filter(|p| !p.is_empty()) {
            return PathBuf::from(p);
        }
    }
    PathBuf::from(DEFAULT_PATH)
}

/// Loads the configuration in force (defaults when the file is absent).
pub fn load() -> Result<AdminConf, SandboxError> {
    load_from(&config_path())
}

/// Loads `path`: absent = defaults; refused unless a regular file owned by
/// root and not writable by group or others, of at most
/// [`crate::input::MAX_CONF_BYTES`] (64 KiB).
pub fn load_from(path: &Path) -> Result<AdminConf, SandboxError> {
    let bad = |m: String| SandboxError::AdminConf(format!("{}: {m}", path.display()));
    // Opened once, without following a last symbolic link and without
    // blocking (a FIFO cannot hang the start); every check is on this
    // descriptor, and the read is bounded (src/input.rs).
    let (f, meta) = match crate::input::open_regular(path, false) {
        Ok(x) => x,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            log::debug!("no {}: built-in defaults apply", path.display());
            return Ok(AdminConf::default());
        }
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(bad("not a regular file (symbolic links are refused)".into()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => return Err(bad(e.to_string())),
        Err(e) => return Err(bad(format!("cannot read: {e}"))),
    };
    if meta.uid() != 0 {
        return Err(bad(format!(
            "owned by uid {}, not root: refusing to run (chown root {})",
            meta.uid(),
            path.display()
        )));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(bad(format!(
            "writable by group or others (mode {:04o}): refusing to run (chmod go-w {})",
            meta.mode() & 0o7777,
            path.display()
        )));
    }
    let text = crate::input::read_open(
        f,
        &meta,
        crate::input::MAX_CONF_BYTES,
        "the administrator's configuration",
    )
    .map_err(|e| bad(format!("cannot read: {e}")))?;
    let mut c = parse(&text, &path.display().to_string()).map_err(SandboxError::AdminConf)?;
    c.source = Some(path.to_path_buf());
    Ok(c)
}

/// Parses the `key = value` text; `file` names it in errors. All errors are
/// reported, one per line, as `file:line: message`.
pub fn parse(text: &str, file: &str) -> Result<AdminConf, String> {
    let mut c = AdminConf::default();
    let mut errors = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = strip_comment(raw).trim();
        if line.is_empty() {
            continue;
        }
        let at = |m: String| format!("{file}:{}: {m}", i + 1);
        let Some((key, value)) = line.split_once('=') else {
            errors.push(at(format!("expected `key = value`, found `{line}`")));
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        if seen.iter().any(|k| k == key) {
            errors.push(at(format!("`{key}` is set twice")));
            continue;
        }
        seen.push(key.to_string());
        if let Err(m) = set(&mut c, key, value) {
            errors.push(at(m));
        }
    }
    if c.uid_min == 0 || c.uid_min > c.uid_max {
        errors.push(format!(
            "{file}: uid_min ({}) must be at least 1 and at most uid_max ({})",
            c.uid_min, c.uid_max
        ));
    }
    if errors.is_empty() {
        Ok(c)
    } else {
        Err(errors.join("\n"))
    }
}

/// `#` starts a comment at the start of a line or after white space.
fn strip_comment(line: &str) -> &str {
    let b = line.as_bytes();
    for (i, ch) in b.iter().enumerate() {
        if *ch == b'#' && (i == 0 || b[i - 1].is_ascii_whitespace()) {
            return &line[..i];
        }
    }
    line
}

fn set(c: &mut AdminConf, key: &str, v: &str) -> Result<(), String> {
    match key {
        "max_cpu" => c.max_cpu = seconds(v)?,
        "max_clock" => c.max_clock = seconds(v)?,
        "max_memory" => c.max_memory_kib = size_kib(v)?,
        "max_fsize" => c.max_fsize_kib = size_kib(v)?,
        "max_nproc" => c.max_nproc = count(v)?,
        "max_nfile" => c.max_nfile = count(v)?,
        "max_tmpfs" => c.max_tmpfs = count(v)?,
        "max_binds" => c.max_binds = count(v)?,
        "max_args" => c.max_args = count(v)?,
        "uid_min" => c.uid_min = id(v)?,
        "uid_max" => c.uid_max = id(v)?,
        "allowed_dirs" => c.allowed_dirs = dirs(v)?,
        "allow_net_host" => c.allow_net_host = boolean(v)?,
        "allow_full_trace" => c.allow_full_trace = boolean(v)?,
        "allow_rootless" => c.allow_rootless = boolean(v)?,
        "require_policy" => c.require_policy = require(v)?,
        "cgroup_root" => c.cgroup_root = cgroup_root(v)?,
        "require_cgroup" => c.require_cgroup = boolean(v)?,
        "cgroup_fast_join" => c.cgroup_fast_join = boolean(v)?,
        _ => {
            return Err(format!(
                "unknown key `{key}` (known: max_cpu, max_memory, max_clock, max_nproc, \
                 max_fsize, max_nfile, max_tmpfs, max_binds, max_args, uid_min, uid_max, \
                 allowed_dirs, allow_net_host, allow_full_trace, allow_rootless, \
                 require_policy, cgroup_root, require_cgroup, cgroup_fast_join)"
            ))
        }
    }
    Ok(())
}

fn seconds(v: &str) -> Result<Duration, String> {
    let n = v.strip_suffix('s').unwrap_or(v).trim();
    crate::config::parse_seconds(n)
}

/// A size: a number of KiB, or a number with K, KiB, M, MiB, G, GiB, T, TiB.
fn size_kib(v: &str) -> Result<u64, String> {
    let split = v.find(|ch: char| !ch.is_ascii_digit()).unwrap_or(v.len());
    let (num, unit) = (&v[..split], v[split..].trim());
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{v}` is not a size (KiB, or a number with K, M, G or T)"))?;
    let mul: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "k" | "kib" => 1,
        "m" | "mib" => 1 << 10,
        "g" | "gib" => 1 << 20,
        "t" | "tib" => 1 << 30,
        _ => return Err(format!("`{v}`: unknown unit `{unit}` (K, M, G or T)")),
    };
    n.checked_mul(mul)
        .filter(|k| *k > 0)
        .ok_or_else(|| format!("`{v}`: size out of range"))
}

fn count(v: &str) -> Result<u64, String> {
    v.parse()
        .map_err(|_| format!("`{v}` is not a whole number"))
}

fn id(v: &str) -> Result<u32, String> {
    v.parse::<u32>()
        .ok()
        .filter(|n| *n < u32::MAX - 1)
        .ok_or_else(|| format!("`{v}` is not a uid"))
}

fn boolean(v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" => Ok(false),
        _ => Err(format!("`{v}` is not true or false")),
    }
}

fn list(v: &str) -> impl Iterator<Item = &str> {
    v.split(|ch: char| ch == ',' || ch.is_ascii_whitespace())
        .filter(|s| !s.is_empty())
}

fn dirs(v: &str) -> Result<Vec<PathBuf>, String> {
    if v == "none" || v.is_empty() {
        return Ok(Vec::new());
    }
    list(v)
        .map(|d| {
            let p = PathBuf::from(d);
            let clean = p.is_absolute()
                && p.components()
                    .all(|c| matches!(c, Component::RootDir | Component::Normal(_)));
            if !clean {
                return Err(format!(
                    "allowed_dirs: `{d}` must be an absolute path without `.` or `..`"
                ));
            }
            if p == Path::new("/") {
                return Err("allowed_dirs: `/` would allow every directory".into());
            }
            Ok(p)
        })
        .collect()
}

/// `cgroup_root`: `none`, or an absolute path below /sys/fs/cgroup without
/// `.` or `..` (whether it is a usable cgroup is checked at each run).
fn cgroup_root(v: &str) -> Result<Option<PathBuf>, String> {
    if v == "none" || v.is_empty() {
        return Ok(None);
    }
    let p = PathBuf::from(v);
    let clean = p.is_absolute()
        && p.components()
            .all(|c| matches!(c, Component::RootDir | Component::Normal(_)));
    if !clean || !p.starts_with("/sys/fs/cgroup") || p == Path::new("/sys/fs/cgroup") {
        return Err(format!(
            "cgroup_root: `{v}` must be an absolute path below /sys/fs/cgroup (not the root \
             itself), without `.` or `..`"
        ));
    }
    Ok(Some(p))
}

fn require(v: &str) -> Result<RequirePolicy, String> {
    match v {
        "none" | "" => Ok(RequirePolicy::None),
        "any" => Ok(RequirePolicy::Any),
        _ => Ok(RequirePolicy::Names(list(v).map(str::to_string).collect())),
    }
}

impl AdminConf {
    /// Where the values came from, for messages.
    pub fn origin(&self) -> String {
        match &self.source {
            Some(p) => p.display().to_string(),
            None => format!("built-in defaults, no {DEFAULT_PATH}"),
        }
    }

    /// Every limit of `l` above its maximum, as `--cpu 100 s is above max_cpu 60 s`.
    pub fn limits_over(&self, l: &Limits) -> Vec<String> {
        let mut v = Vec::new();
        let secs = |d: Duration| format!("{} s", d.as_secs_f64());
        if l.cpu > self.max_cpu {
            v.push(format!(
                "--cpu {} is above max_cpu {}",
                secs(l.cpu),
                secs(self.max_cpu)
            ));
        }
        if l.clock > self.max_clock {
            v.push(format!(
                "--clock {} is above max_clock {}",
                secs(l.clock),
                secs(self.max_clock)
            ));
        }
        let pairs = [
            (
                "--mem",
                l.memory_kib,
                "max_memory",
                self.max_memory_kib,
                " KiB",
            ),
            (
                "--fsize",
                l.fsize_kib,
                "max_fsize",
                self.max_fsize_kib,
                " KiB",
            ),
            ("--nproc", l.nproc, "max_nproc", self.max_nproc, ""),
            ("--nfile", l.nfile, "max_nfile", self.max_nfile, ""),
        ];
        for (opt, val, key, max, unit) in pairs {
            if val > max {
                v.push(format!("{opt} {val}{unit} is above {key} {max}{unit}"));
            }
        }
        v
    }

    /// Every count of things a caller makes safeexec set up that is above
    /// its maximum: `--tmpfs` mounts, binds, program arguments.
    pub fn counts_over(&self, tmpfs: usize, binds: usize, args: usize) -> Vec<String> {
        [
            ("--tmpfs mounts", tmpfs, "max_tmpfs", self.max_tmpfs),
            ("--bind and --ro-bind", binds, "max_binds", self.max_binds),
            ("program arguments", args, "max_args", self.max_args),
        ]
        .into_iter()
        .filter(|(_, n, _, max)| *n as u64 > *max)
        .map(|(what, n, key, max)| format!("{n} {what} are more than {key} {max}"))
        .collect()
    }

    /// Whether a run uid or gid lies in uid_min..=uid_max.
    pub fn id_in_range(&self, id: u32) -> bool {
        (self.uid_min..=self.uid_max).contains(&id)
    }

    /// Whether a canonical directory lies under one of allowed_dirs.
    pub fn dir_allowed(&self, canonical: &Path) -> bool {
        canonical != Path::new("/") && self.allowed_dirs.iter().any(|d| canonical.starts_with(d))
    }

    /// The refusal of a caller's path (given with option `opt`) that is not
    /// under allowed_dirs ([`AdminConf::dir_allowed`]).
    pub fn not_allowed(&self, opt: &str, path: &Path) -> SandboxError {
        let dirs = if self.allowed_dirs.is_empty() {
            "none".to_string()
        } else {
            self.allowed_dirs
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        SandboxError::Refused(format!(
            "{opt} {}: not under the administrator's allowed_dirs ({dirs}; {})",
            path.display(),
            self.origin()
        ))
    }

    /// Whether the policy chosen (None = classic mode) satisfies
    /// require_policy. `builtin` says the name is a shipped policy; for a
    /// file, `name` is the path as given.
    pub fn policy_allowed(&self, chosen: Option<(&str, bool)>) -> Result<(), String> {
        match (&self.require_policy, chosen) {
            (RequirePolicy::None, _) | (RequirePolicy::Any, Some(_)) => Ok(()),
            (RequirePolicy::Any, None) => {
                Err("the administrator requires a policy (--paranoid or --policy)".into())
            }
            (RequirePolicy::Names(names), chosen) => {
                let ok = chosen.is_some_and(|(n, builtin)| {
                    names.iter().any(|r| {
                        if r.starts_with('/') {
                            !builtin && Path::new(n) == Path::new(r)
                        } else {
                            builtin && n == r
                        }
                    })
                });
                if ok {
                    Ok(())
                } else {
                    Err(format!(
                        "the administrator requires one of these policies: {}",
                        names.join(", ")
                    ))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_root_and_require_cgroup() {
        let c = parse(
            "cgroup_root = /sys/fs/cgroup/safeexec.slice\nrequire_cgroup = yes\n",
            "t.conf",
        )
        .unwrap();
        assert_eq!(
            c.cgroup_root.as_deref(),
            Some(Path::new("/sys/fs/cgroup/safeexec.slice"))
        );
        assert!(c.require_cgroup);
        let d = parse("", "t.conf").unwrap();
        assert!(d.cgroup_root.is_none() && !d.require_cgroup);
        assert!(d.cgroup_fast_join);
        assert!(
            !parse("cgroup_fast_join = no\n", "t.conf")
                .unwrap()
                .cgroup_fast_join
        );
        for bad in [
            "/tmp/x",
            "sys/fs/cgroup/x",
            "/sys/fs/cgroup",
            "/sys/fs/cgroup/../etc",
        ] {
            let e = parse(&format!("cgroup_root = {bad}\n"), "t.conf").unwrap_err();
            assert!(e.starts_with("t.conf:1: cgroup_root:"), "{bad}: {e}");
        }
    }

    #[test]
    fn parses_every_key_with_units_and_comments() {
        let t = "# bounds\nmax_cpu = 2.5\nmax_memory = 512M  # trailing\nmax_clock = 30s\n\
                 max_nproc = 4\nmax_fsize = 1G\nmax_nfile = 128\nuid_min = 20000\nuid_max = 30000\n\
                 allowed_dirs = /srv/jails, /var/grader#1\nallow_net_host = no\n\
                 allow_full_trace = yes\nallow_rootless = false\nrequire_policy = default python3\n";
        let c = parse(t, "t.conf").unwrap();
        assert_eq!(c.max_cpu, Duration::from_millis(2500));
        assert_eq!(c.max_memory_kib, 512 * 1024);
        assert_eq!(c.max_clock, Duration::from_secs(30));
        assert_eq!(
            (c.max_nproc, c.max_fsize_kib, c.max_nfile),
            (4, 1 << 20, 128)
        );
        assert_eq!((c.uid_min, c.uid_max), (20000, 30000));
        assert_eq!(
            c.allowed_dirs,
            vec![PathBuf::from("/srv/jails"), PathBuf::from("/var/grader#1")]
        );
        assert!(c.allow_full_trace && !c.allow_net_host && !c.allow_rootless);
        assert_eq!(
            c.require_policy,
            RequirePolicy::Names(vec!["default".into(), "python3".into()])
        );
    }

    #[test]
    fn reports_every_bad_line_with_file_and_line() {
        let t = "max_cpu = fast\nnonsense\nmax_memory = 3 parsecs\ncolour = red\nallowed_dirs = jails\nmax_cpu = 1\nuid_min = 5\nuid_max = 4\n";
        let e = parse(t, "/etc/x.conf").unwrap_err();
        for want in [
            "/etc/x.conf:1: ",
            "/etc/x.conf:2: expected `key = value`",
            "/etc/x.conf:3: ",
            "/etc/x.conf:4: unknown key `colour`",
            "/etc/x.conf:5: allowed_dirs",
            "/etc/x.conf:6: `max_cpu` is set twice",
            "uid_min (5) must be",
        ] {
            assert!(e.contains(want), "missing {want:?} in\n{e}");
        }
    }

    #[test]
    fn checks_bounds_dirs_ids_and_policies() {
        let c = parse(
            "allowed_dirs = /srv/jails\nuid_min = 100\nuid_max = 200\nrequire_policy = default /etc/p.policy\n",
            "t",
        )
        .unwrap();
        let mut l = Limits::default();
        assert!(c.limits_over(&l).is_empty());
        l.cpu = Duration::from_secs(61);
        l.nproc = 1000;
        let over = c.limits_over(&l);
        assert_eq!(over.len(), 2, "{over:?}");
        assert!(over[0].contains("max_cpu 60 s"));
        let c2 = parse("max_tmpfs = 2\nmax_binds = 0\nmax_args = 3\n", "t").unwrap();
        assert!(c2.counts_over(2, 0, 3).is_empty());
        let over = c2.counts_over(3, 1, 4);
        assert_eq!(over.len(), 3, "{over:?}");
        assert_eq!(over[0], "3 --tmpfs mounts are more than max_tmpfs 2");
        assert!(over[1].contains("max_binds 0") && over[2].contains("max_args 3"));
        assert_eq!(
            AdminConf::default().counts_over(4, 32, 4096),
            Vec::<String>::new()
        );
        assert!(c.dir_allowed(Path::new("/srv/jails/a")));
        assert!(!c.dir_allowed(Path::new("/srv/jailsX")));
        assert!(!c.dir_allowed(Path::new("/")));
        assert!(c.id_in_range(150) && !c.id_in_range(99) && !c.id_in_range(201));
        assert!(c.policy_allowed(Some(("default", true))).is_ok());
        assert!(c.policy_allowed(Some(("default", false))).is_err());
        assert!(c.policy_allowed(Some(("/etc/p.policy", false))).is_ok());
        assert!(c.policy_allowed(None).is_err());
        assert!(AdminConf::default().policy_allowed(None).is_ok());
        assert!(AdminConf::default().allowed_dirs.is_empty());
    }

    #[test]
    fn refuses_files_not_owned_by_root_or_group_writable() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("c.conf");
        std::fs::write(&p, "max_cpu = 5\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o664)).unwrap();
        let e = load_from(&p).unwrap_err().to_string();
        if nix::unistd::geteuid().is_root() {
            assert!(e.contains("writable by group or others"), "{e}");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert_eq!(load_from(&p).unwrap().max_cpu, Duration::from_secs(5));
        } else {
            assert!(e.contains("not root"), "{e}");
        }
        assert_eq!(
            load_from(&d.path().join("none")).unwrap().max_cpu,
            Duration::from_secs(60)
        );
    }
}
