//! `safeexec check`: what this host offers a sandbox (cgroup hierarchy and
//! controllers, Landlock, user namespaces, seccomp) and what safeexec will
//! use of it, so an administrator sees a missing piece before a run
//! silently lacks it.

use std::path::Path;

use crate::adminconf::AdminConf;
use crate::isolate::cgroup::{self, RunCgroup, Version};
use crate::policy::KernelLandlock;

/// One line of the check: what, what was found, and what safeexec does.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Line {
    pub what: &'static str,
    pub found: String,
}

/// Everything `safeexec check` prints.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HostCheck {
    pub lines: Vec<Line>,
}

impl HostCheck {
    pub fn text(&self) -> String {
        let w = self
            .lines
            .iter()
            .map(|l| l.what.len() + 1)
            .max()
            .unwrap_or(0);
        self.lines
            .iter()
            .map(|l| format!("{:w$}  {}\n", format!("{}:", l.what), l.found))
            .collect()
    }
}

fn read_trim(p: &str) -> Option<String> {
    std::fs::read_to_string(p)
        .ok()
        .map(|s| s.trim().to_string())
}

/// The cgroup hierarchies mounted, with their controllers.
fn hierarchies() -> String {
    let mut v = Vec::new();
    if let Some(m) = cgroup::v2_mount() {
        let c = read_trim(&format!("{}/cgroup.controllers", m.display())).unwrap_or_default();
        let on = read_trim(&format!("{}/cgroup.subtree_control", m.display())).unwrap_or_default();
        v.push(format!(
            "v2 at {} (controllers: {}; enabled for the root's children: {})",
            m.display(),
            if c.is_empty() { "none" } else { &c },
            if on.is_empty() { "none" } else { &on }
        ));
    }
    let v1: Vec<&str> = ["memory", "pids", "cpuacct", "cpu"]
        .into_iter()
        .filter(|c| {
            Path::new("/sys/fs/cgroup")
                .join(c)
                .join("cgroup.procs")
                .exists()
        })
        .collect();
    if !v1.is_empty() {
        v.push(format!("v1 with {}", v1.join(", ")));
    }
    if v.is_empty() {
        "none mounted".into()
    } else {
        v.join("; ")
    }
}

/// Whether the kernel knows clone3's CLONE_INTO_CGROUP (Linux 5.7).
fn kernel_at_least(major: u32, minor: u32) -> bool {
    let rel = read_trim("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut it = rel.split(|c: char| !c.is_ascii_digit());
    let a: u32 = it.next().and_then(|x| x.parse().ok()).unwrap_or(0);
    let b: u32 = it.next().and_then(|x| x.parse().ok()).unwrap_or(0);
    (a, b) >= (major, minor)
}

/// What a run of this process would get: a probe cgroup is made with the
/// run's steps (on cgroup v2 this may delegate safeexec's own cgroup, as a
/// run would) and removed at once.
fn cgroup_use(conf: &AdminConf) -> String {
    if crate::caller::is_rootless() {
        return "none: not root, so runs are rootless (no cgroup; figures from wait4 and /proc)"
            .into();
    }
    let probe = cgroup::locate(conf.cgroup_root.as_deref()).and_then(|site| {
        RunCgroup::create(&site, std::process::id(), 64 << 10, 4).map(|cg| (site, cg))
    });
    match probe {
        Ok((site, cg)) => {
            let join = match cg.version {
                Version::V2 if kernel_at_least(5, 7) => {
                    "the program starts in it (clone3 CLONE_INTO_CGROUP)"
                }
                Version::V2 => "the program joins it by writing cgroup.procs (Linux < 5.7)",
                Version::V1 => "the program joins it by writing cgroup.procs",
            };
            format!("{}; {join}", site.how)
        }
        Err(why) if conf.require_cgroup => {
            format!(
                "none, and require_cgroup = yes: runs that should have one fail (exit 11): {why}"
            )
        }
        Err(why) => format!("none: runs that should have one warn and go on: {why}"),
    }
}

/// Looks at this host. `conf` is the administrator's configuration in
/// force (cgroup_root, require_cgroup).
pub fn check(conf: &AdminConf) -> HostCheck {
    let mut lines = Vec::new();
    let mut add = |what, found: String| lines.push(Line { what, found });
    add(
        "kernel",
        read_trim("/proc/sys/kernel/osrelease").unwrap_or_else(|| "unknown".into()),
    );
    add(
        "started as",
        if crate::sys::is_root() {
            if crate::caller::is_setid() {
                "setuid root".into()
            } else {
                "root".into()
            }
        } else if crate::caller::is_rootless() {
            "an ordinary user: rootless mode".into()
        } else {
            "setuid to an account other than root: runs are refused".into()
        },
    );
    add("configuration", conf.origin());
    add("cgroup hierarchies", hierarchies());
    add(
        "cgroup_root",
        conf.cgroup_root
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "not set (safeexec's own cgroup)".into()),
    );
    add(
        "require_cgroup",
        if conf.require_cgroup { "yes" } else { "no" }.into(),
    );
    add("run cgroups", cgroup_use(conf));
    let ll = KernelLandlock::detect();
    add(
        "Landlock",
        match ll.abi() {
            Some(v) => format!("ABI {v}: paranoid runs' path rules are enforced by the kernel too"),
            None => format!(
                "{}: path rules rely on the supervisor's ptrace check (`landlock optional`)",
                ll.why()
            ),
        },
    );
    let userns = [
        "/proc/sys/user/max_user_namespaces",
        "/proc/sys/kernel/unprivileged_userns_clone",
        "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
    ]
    .iter()
    .filter_map(|p| read_trim(p).map(|v| format!("{} = {v}", p.trim_start_matches("/proc/sys/"))))
    .collect::<Vec<_>>();
    add(
        "user namespaces",
        if Path::new("/proc/self/ns/user").exists() {
            format!(
                "supported ({}); used by rootless runs",
                if userns.is_empty() {
                    "no sysctl found".into()
                } else {
                    userns.join(", ")
                }
            )
        } else {
            "not supported: rootless mode is unavailable".into()
        },
    );
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let seccomp = status.lines().any(|l| l.starts_with("Seccomp:"));
    let actions = read_trim("/proc/sys/kernel/seccomp/actions_avail").unwrap_or_default();
    add(
        "seccomp",
        if seccomp {
            format!(
                "filters supported (actions: {}); classic runs get the default filter, \
                 paranoid runs their policy's",
                if actions.is_empty() {
                    "unknown"
                } else {
                    &actions
                }
            )
        } else {
            "not supported: runs with a filter fail".into()
        },
    );
    add(
        "namespaces",
        ["pid", "net", "mnt", "ipc", "uts"]
            .iter()
            .map(|n| {
                let ok = Path::new("/proc/self/ns").join(n).exists();
                format!("{n} {}", if ok { "yes" } else { "no" })
            })
            .collect::<Vec<_>>()
            .join(", "),
    );
    HostCheck { lines }
}
