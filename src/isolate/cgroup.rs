//! One cgroup per run for whole-tree accounting and limits.
//!
//! v2 when the unified hierarchy has the memory and pids controllers (or
//! the administrator delegated a v2 cgroup with `cgroup_root`), else v1 with
//! the memory, pids and cpuacct controllers mounted separately.
//!
//! Where the run's cgroup goes ([`locate`]), so that limits set on safeexec
//! by its caller still hold for the run:
//! - v1: `<own>/safeexec/run-<supervisor pid>` in each hierarchy.
//! - v2, `cgroup_root` set: `<cgroup_root>/run-<pid>`.
//! - v2, safeexec in the root cgroup: `/safeexec/run-<pid>`.
//! - v2, safeexec in another cgroup: that cgroup is delegated to it. cgroup
//!   v2 gives controllers only to the children of a cgroup without
//!   processes of its own, so safeexec first moves itself into the leaf
//!   `<own>/supervisor`, then enables memory, pids and cpu in
//!   `<own>/cgroup.subtree_control`, and makes `<own>/run-<pid>`. This needs
//!   safeexec alone in its cgroup (`systemd-run --scope -p Delegate=yes`).
//!
//! When no cgroup can be had, [`locate`] or [`RunCgroup::create`] says why:
//! the run goes on with a warning, or fails under `require_cgroup`.
//! The [`RunCgroup`] guard kills what is left and removes the directories
//! when dropped, also on early returns.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use procfs::ProcessCGroups;

const ROOT: &str = "/sys/fs/cgroup";
const V1: &[&str] = &["memory", "pids", "cpuacct"];

/// Where safeexec keeps its `favordynmods` hierarchy on a v1 host (see
/// [`fast_join`]).
pub const FAST_JOIN_DIR: &str = "/run/safeexec/cgroup-fastjoin";

/// Makes joining a v1 cgroup cheap for every later run.
///
/// Moving a process into a cgroup takes the kernel's global
/// `cgroup_threadgroup_rwsem` for writing; while that semaphore is in its
/// fast (per-CPU) mode, a writer first waits for an RCU grace period:
/// 12-20 ms on this project's VM for the child's write to
/// `memory/.../cgroup.procs`, the whole cost of a run that may fork. A
/// cgroup hierarchy mounted with `favordynmods` (Linux 6.0) keeps the
/// semaphore in its slow mode for as long as the hierarchy lives, so a
/// write to `cgroup.procs` no longer waits (0.1-0.2 ms here); the price is
/// a few atomic operations more in every fork, exit and exec of the
/// machine (the reader side of that semaphore), which the kernel's
/// documentation calls the trade of the option.
///
/// The v1 controllers' hierarchies cannot change options on remount, so
/// safeexec mounts its own empty named hierarchy (`name=safeexec`, no
/// controller, nothing ever placed in it) with `favordynmods` at
/// [`FAST_JOIN_DIR`] once; later runs find it mounted (one `statfs`). The
/// first run pays the grace period once more for the mount itself. Best
/// effort: on a kernel without the option, or when the mount fails, runs
/// pay the grace period as before. `umount /run/safeexec/cgroup-fastjoin`
/// undoes it (a hierarchy still referenced by the kernel may keep the
/// mode until it is freed).
pub fn fast_join() -> bool {
    let dir = Path::new(FAST_JOIN_DIR);
    if is_cgroup_mount(dir) {
        return true;
    }
    let Some(parent) = dir.parent() else {
        return false;
    };
    // Root-owned directories only: never mount through a path another
    // user could have prepared (a symlink, a directory of theirs).
    for d in [parent, dir] {
        use std::os::unix::fs::{DirBuilderExt, MetadataExt};
        let _ = std::fs::DirBuilder::new().mode(0o755).create(d);
        match std::fs::symlink_metadata(d) {
            Ok(m) if m.is_dir() && m.uid() == 0 && m.mode() & 0o022 == 0 => {}
            _ => {
                log::debug!(
                    "cgroup fast join: {} is not a root-owned directory",
                    d.display()
                );
                return false;
            }
        }
    }
    let r = nix::mount::mount(
        Some("cgroup"),
        dir,
        Some("cgroup"),
        nix::mount::MsFlags::MS_NOSUID
            | nix::mount::MsFlags::MS_NODEV
            | nix::mount::MsFlags::MS_NOEXEC,
        Some("none,name=safeexec,favordynmods"),
    );
    match r {
        Ok(()) => {
            log::debug!("cgroup fast join: mounted {FAST_JOIN_DIR} (favordynmods)");
            true
        }
        Err(e) => {
            log::debug!("cgroup fast join: mount {FAST_JOIN_DIR}: {e}");
            false
        }
    }
}

fn is_cgroup_mount(dir: &Path) -> bool {
    nix::sys::statfs::statfs(dir)
        .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::CGROUP_SUPER_MAGIC)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

/// The run's cgroup directories; removed on drop.
#[derive(Debug)]
pub struct RunCgroup {
    pub version: Version,
    /// (controller, dir); for v2 one entry with controller "unified".
    dirs: Vec<(&'static str, PathBuf)>,
}

/// safeexec's own cgroup path in the hierarchy of `ctl` ("" = v2's line),
/// from /proc/self/cgroup through procfs.
fn own_path(ctl: &str) -> Option<PathBuf> {
    let groups = procfs::process::Process::myself().ok()?.cgroups().ok()?;
    path_in(&groups, ctl)
}

/// The path of the hierarchy of `ctl` ("" = the v2 line, which names no
/// controller) in a process's cgroup list, relative to the mount point.
fn path_in(groups: &ProcessCGroups, ctl: &str) -> Option<PathBuf> {
    groups
        .0
        .iter()
        .find(|g| {
            if ctl.is_empty() {
                g.controllers.is_empty()
            } else {
                g.controllers.iter().any(|c| c == ctl)
            }
        })
        .map(|g| PathBuf::from(g.pathname.trim_start_matches('/')))
}

/// Where this process's run cgroups go: the hierarchy and the parent
/// directory of each controller ("unified" for v2).
#[derive(Debug, Clone)]
pub struct Site {
    pub version: Version,
    parents: Vec<(&'static str, PathBuf)>,
    /// How the site was found, for `safeexec check` and `-v`.
    pub how: String,
}

impl Site {
    /// The parent directories (v1: one per controller).
    pub fn parents(&self) -> Vec<PathBuf> {
        self.parents.iter().map(|(_, d)| d.clone()).collect()
    }
}

/// The v2 hierarchy's mount point, when one is mounted: /sys/fs/cgroup on a
/// unified host, /sys/fs/cgroup/unified on a hybrid one.
pub fn v2_mount() -> Option<PathBuf> {
    [PathBuf::from(ROOT), Path::new(ROOT).join("unified")]
        .into_iter()
        .find(|b| b.join("cgroup.controllers").exists())
}

/// The words of a cgroup v2 list file (cgroup.controllers, subtree_control).
fn words(dir: &Path, file: &str) -> Vec<String> {
    std::fs::read_to_string(dir.join(file))
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// The controllers a run cgroup needs, and the one it uses when present.
const V2_NEEDED: &[&str] = &["memory", "pids"];
const V2_WANTED: &str = "cpu";

/// Whether `d`'s children can get memory and pids: else why not.
fn available_v2(d: &Path) -> Result<(), String> {
    let have = words(d, "cgroup.controllers");
    let missing: Vec<&str> = V2_NEEDED
        .iter()
        .copied()
        .filter(|c| !have.iter().any(|h| h == c))
        .collect();
    if !missing.is_empty() {
        let parent = d.parent().unwrap_or(Path::new(ROOT));
        return Err(format!(
            "the {} controller{} not available in {} (enable {} in {}/cgroup.subtree_control, \
             or delegate a cgroup to safeexec: docs/admin.md)",
            missing.join(" and "),
            if missing.len() > 1 { "s are" } else { " is" },
            d.display(),
            missing
                .iter()
                .map(|m| format!("+{m}"))
                .collect::<Vec<_>>()
                .join(" "),
            parent.display()
        ));
    }
    Ok(())
}

/// Enables memory, pids (and cpu, when available) for the children of `d`.
fn enable_v2(d: &Path) -> Result<(), String> {
    available_v2(d)?;
    let have = words(d, "cgroup.controllers");
    let on = words(d, "cgroup.subtree_control");
    let mut want: Vec<&str> = V2_NEEDED.to_vec();
    if have.iter().any(|h| h == V2_WANTED) {
        want.push(V2_WANTED);
    }
    for c in want {
        if on.iter().any(|o| o == c) {
            continue;
        }
        if let Err(e) = write(d, "cgroup.subtree_control", &format!("+{c}")) {
            let why = if e.raw_os_error() == Some(libc::EBUSY) {
                " (the cgroup holds processes: cgroup v2 gives controllers only to the \
                 children of a cgroup without processes of its own)"
                    .to_string()
            } else {
                String::new()
            };
            return Err(format!(
                "cannot enable +{c} in {}/cgroup.subtree_control: {e}{why}",
                d.display()
            ));
        }
    }
    Ok(())
}

/// The pids in `dir`'s cgroup.procs.
fn members(dir: &Path) -> Vec<i32> {
    std::fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// The leaf safeexec moves itself into to delegate its own cgroup.
pub const SUPERVISOR_LEAF: &str = "supervisor";

/// The v2 parent of run cgroups (see the module's documentation).
fn locate_v2(mount: &Path, cgroup_root: Option<&Path>) -> Result<Site, String> {
    if let Some(root) = cgroup_root {
        if !root.starts_with(mount) || !root.join("cgroup.controllers").exists() {
            return Err(format!(
                "cgroup_root {} is not a directory of the cgroup v2 hierarchy (mounted at {})",
                root.display(),
                mount.display()
            ));
        }
        enable_v2(root)?;
        return Ok(Site {
            version: Version::V2,
            parents: vec![("unified", root.to_path_buf())],
            how: format!("cgroup v2, below cgroup_root {}", root.display()),
        });
    }
    let own = mount.join(own_path("").ok_or("/proc/self/cgroup has no cgroup v2 line")?);
    if own == mount {
        // The root cgroup may hold processes; its children get controllers
        // when the root's subtree_control enables them (systemd does).
        let d = own.join("safeexec");
        std::fs::create_dir_all(&d).map_err(|e| format!("mkdir {}: {e}", d.display()))?;
        enable_v2(&d)?;
        return Ok(Site {
            version: Version::V2,
            parents: vec![("unified", d.clone())],
            how: format!(
                "cgroup v2, safeexec in the root cgroup: below {}",
                d.display()
            ),
        });
    }
    // Already delegated by an earlier run of this process.
    if own.file_name().is_some_and(|n| n == SUPERVISOR_LEAF) {
        if let Some(up) = own.parent() {
            let on = words(up, "cgroup.subtree_control");
            if V2_NEEDED.iter().all(|c| on.iter().any(|o| o == c)) {
                return Ok(Site {
                    version: Version::V2,
                    parents: vec![("unified", up.to_path_buf())],
                    how: format!("cgroup v2, delegated: below {}", up.display()),
                });
            }
        }
    }
    let me = std::process::id() as i32;
    let others: Vec<String> = members(&own)
        .into_iter()
        .filter(|p| *p != me)
        .map(|p| p.to_string())
        .collect();
    if !others.is_empty() {
        return Err(format!(
            "safeexec's cgroup {} also holds other processes (pid {}): cgroup v2 gives \
             controllers only to the children of a cgroup without processes of its own, so \
             safeexec cannot delegate it to itself; start safeexec in a cgroup of its own \
             (systemd-run --scope -p Delegate=yes ...) or set cgroup_root (docs/admin.md)",
            own.display(),
            others.join(", ")
        ));
    }
    // Checked before moving anything.
    available_v2(&own)?;
    let leaf = own.join(SUPERVISOR_LEAF);
    std::fs::create_dir_all(&leaf).map_err(|e| format!("mkdir {}: {e}", leaf.display()))?;
    write(&leaf, "cgroup.procs", &me.to_string())
        .map_err(|e| format!("moving safeexec into {}: {e}", leaf.display()))?;
    if let Err(e) = enable_v2(&own) {
        // Back where it was, and the leaf removed: nothing of ours is left.
        let _ = write(&own, "cgroup.procs", &me.to_string());
        let _ = std::fs::remove_dir(&leaf);
        return Err(e);
    }
    log::debug!(
        "cgroup v2: moved safeexec into {} and enabled controllers in {}",
        leaf.display(),
        own.display()
    );
    Ok(Site {
        version: Version::V2,
        parents: vec![("unified", own.clone())],
        how: format!(
            "cgroup v2, delegated: safeexec moved itself into {} and makes run cgroups below {}",
            leaf.display(),
            own.display()
        ),
    })
}

/// Where this process's run cgroups go, or why there is none. On v2 this
/// may move safeexec into `<own>/supervisor` (see the module's doc): call
/// it before forking helpers that must share the move.
pub fn locate(cgroup_root: Option<&Path>) -> Result<Site, String> {
    if let Some(m) = v2_mount() {
        let c = words(&m, "cgroup.controllers");
        let usable = V2_NEEDED.iter().all(|n| c.iter().any(|w| w == n));
        if usable || cgroup_root.is_some() {
            return locate_v2(&m, cgroup_root);
        }
    } else if let Some(r) = cgroup_root {
        return Err(format!(
            "cgroup_root {} is set, but no cgroup v2 hierarchy is mounted",
            r.display()
        ));
    }
    let mut v = Vec::new();
    for ctl in V1 {
        let base = Path::new(ROOT).join(ctl);
        if !base.join("cgroup.procs").exists() {
            return Err(format!(
                "no cgroup hierarchy offers the memory and pids controllers (cgroup v2 {}, \
                 cgroup v1 {} not mounted)",
                match v2_mount() {
                    Some(m) => format!("at {} without them", m.display()),
                    None => "not mounted".into(),
                },
                ctl
            ));
        }
        let own = own_path(ctl).unwrap_or_default();
        v.push((*ctl, base.join(own).join("safeexec")));
    }
    Ok(Site {
        version: Version::V1,
        how: "cgroup v1 (memory, pids, cpuacct), below safeexec's own cgroup of each".into(),
        parents: v,
    })
}

fn write(dir: &Path, file: &str, val: &str) -> std::io::Result<()> {
    std::fs::write(dir.join(file), val)
}

fn read_u64(dir: &Path, file: &str) -> Option<u64> {
    std::fs::read_to_string(dir.join(file))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Kills every process listed in `dir` until it is empty (bounded).
fn kill_members(dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
        let pids: Vec<i32> = procs
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect();
        if pids.is_empty() || Instant::now() > deadline {
            return;
        }
        for p in pids {
            crate::sys::kill_pid(nix::unistd::Pid::from_raw(p));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn remove(dir: &Path) {
    let _ = write(dir, "cgroup.kill", "1");
    kill_members(dir);
    // rmdir fails with EBUSY while a killed process is not yet reaped.
    for _ in 0..200 {
        match std::fs::remove_dir(dir) {
            Ok(()) => return,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    log::warn!("cgroup {} could not be removed", dir.display());
}

/// Removes `run-<pid>` directories whose supervisor is gone.
pub fn remove_stale(site: &Site) {
    for (_, parent) in &site.parents {
        let Ok(rd) = std::fs::read_dir(parent) else {
            continue;
        };
        for e in rd.flatten() {
            let name = e.file_name();
            let Some(pid) = name
                .to_str()
                .and_then(|n| n.strip_prefix("run-"))
                .and_then(|n| n.parse::<i32>().ok())
            else {
                continue;
            };
            let alive = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok();
            if !alive {
                log::debug!("removing stale cgroup {}", e.path().display());
                remove(&e.path());
            }
        }
    }
}

impl RunCgroup {
    /// Makes the run's cgroup in `site` with its limits, or says why it
    /// cannot (not writable, a limit refused): the caller warns or fails.
    pub fn create(
        site: &Site,
        run: u32,
        mem_limit_kib: u64,
        max_tasks: u64,
    ) -> Result<RunCgroup, String> {
        let version = site.version;
        let mut cg = RunCgroup {
            version,
            dirs: Vec::new(),
        };
        for (ctl, parent) in &site.parents {
            if let Err(e) = std::fs::create_dir_all(parent) {
                return Err(format!("mkdir {}: {e}", parent.display()));
            }
            let dir = parent.join(format!("run-{run}"));
            if dir.exists() {
                remove(&dir);
            }
            if let Err(e) = std::fs::create_dir(&dir) {
                return Err(format!("mkdir {}: {e}", dir.display()));
            }
            cg.dirs.push((ctl, dir));
        }
        let bytes = mem_limit_kib.saturating_mul(1024).to_string();
        let tasks = max_tasks.to_string();
        let r = match version {
            Version::V1 => cg
                .dir("memory")
                .map(|d| {
                    write(d, "memory.limit_in_bytes", &bytes)?;
                    // Swap would hide memory from the limit; fails harmlessly without swap accounting.
                    let _ = write(d, "memory.memsw.limit_in_bytes", &bytes);
                    Ok(())
                })
                .unwrap_or(Ok(()))
                .and_then(|_| match cg.dir("pids") {
                    Some(d) => write(d, "pids.max", &tasks),
                    None => Ok(()),
                }),
            Version::V2 => cg
                .dir("unified")
                .map(|d| {
                    write(d, "memory.max", &bytes)?;
                    let _ = write(d, "memory.swap.max", "0");
                    write(d, "pids.max", &tasks)
                })
                .unwrap_or(Ok(())),
        };
        if let Err(e) = r {
            return Err(format!(
                "setting the limits of {}: {e}",
                cg.dirs
                    .first()
                    .map(|(_, d)| d.display().to_string())
                    .unwrap_or_default()
            ));
        }
        log::debug!("run cgroups: {:?}", cg.dirs);
        Ok(cg)
    }

    /// v2: the run's cgroup directory, opened for `clone3(CLONE_INTO_CGROUP)`.
    pub fn v2_dir_fd(&self) -> Option<std::os::fd::OwnedFd> {
        if self.version != Version::V2 {
            return None;
        }
        let d = self.dir("unified")?;
        std::fs::File::open(d).ok().map(std::os::fd::OwnedFd::from)
    }

    fn dir(&self, ctl: &str) -> Option<&Path> {
        self.dirs
            .iter()
            .find(|(c, _)| *c == ctl || *c == "unified")
            .map(|(_, d)| d.as_path())
    }

    /// One `cgroup.procs` file of the run (they all list the same
    /// processes): what the watchdog reads to find them.
    pub fn procs_path(&self) -> Option<PathBuf> {
        self.dirs.first().map(|(_, d)| d.join("cgroup.procs"))
    }

    /// The `cgroup.procs` files the child writes "0" into to join.
    pub fn procs_files(&self) -> Vec<CString> {
        self.dirs
            .iter()
            .filter_map(|(_, d)| CString::new(d.join("cgroup.procs").as_os_str().as_bytes()).ok())
            .collect()
    }

    /// Peak memory of the whole tree, KiB.
    pub fn peak_kib(&self) -> Option<u64> {
        let d = self.dir("memory")?;
        let b = match self.version {
            Version::V1 => read_u64(d, "memory.max_usage_in_bytes")?,
            Version::V2 => read_u64(d, "memory.peak")?,
        };
        Some(b / 1024)
    }

    /// CPU of the whole tree.
    pub fn cpu(&self) -> Option<Duration> {
        match self.version {
            Version::V1 => {
                read_u64(self.dir("cpuacct")?, "cpuacct.usage").map(Duration::from_nanos)
            }
            Version::V2 => {
                let s = std::fs::read_to_string(self.dir("unified")?.join("cpu.stat")).ok()?;
                let us = s
                    .lines()
                    .find_map(|l| l.strip_prefix("usage_usec "))?
                    .trim()
                    .parse()
                    .ok()?;
                Some(Duration::from_micros(us))
            }
        }
    }

    /// Whether the memory limit was hit: the kernel's OOM killer killed a
    /// process of the run. Reaching the limit alone is not enough (the
    /// kernel then reclaims page cache, which a program reading a large
    /// file fills without using memory of its own): failcnt and the v2
    /// `max` event count those reclaims too. Kernels without an `oom_kill`
    /// count (v1 before Linux 4.13) fall back to failcnt.
    pub fn hit_memory_limit(&self) -> bool {
        let Some(d) = self.dir("memory") else {
            return false;
        };
        let count = |file: &str, key: &str| {
            std::fs::read_to_string(d.join(file)).ok().and_then(|s| {
                s.lines().find_map(|l| {
                    l.strip_prefix(key)
                        .and_then(|v| v.trim().parse::<u64>().ok())
                })
            })
        };
        match self.version {
            Version::V1 => match count("memory.oom_control", "oom_kill ") {
                Some(n) => n > 0,
                None => read_u64(d, "memory.failcnt").is_some_and(|n| n > 0),
            },
            Version::V2 => count("memory.events", "oom_kill ").is_some_and(|n| n > 0),
        }
    }

    /// What the watchdog samples: the run's pinned memory.
    pub fn memory_probe(&self) -> Option<MemoryProbe> {
        Some(MemoryProbe {
            version: self.version,
            dir: self.dir("memory")?.to_path_buf(),
        })
    }

    /// Sends SIGKILL to every process of the run, without waiting: killed
    /// tracees stay members until the supervisor reaps them, so waiting for
    /// an empty cgroup here would only wait out the deadline. Drop waits.
    pub fn kill_all(&self) {
        for (_, d) in &self.dirs {
            let _ = write(d, "cgroup.kill", "1");
            let procs = std::fs::read_to_string(d.join("cgroup.procs")).unwrap_or_default();
            for p in procs.lines().filter_map(|l| l.trim().parse().ok()) {
                crate::sys::kill_pid(nix::unistd::Pid::from_raw(p));
            }
        }
    }

    pub fn describe(&self) -> &'static str {
        match self.version {
            Version::V1 => "cgroup v1",
            Version::V2 => "cgroup v2",
        }
    }

    pub fn dirs(&self) -> Vec<PathBuf> {
        self.dirs.iter().map(|(_, d)| d.clone()).collect()
    }
}

/// Reads the memory the run's cgroup pins now.
#[derive(Debug, Clone)]
pub struct MemoryProbe {
    version: Version,
    dir: PathBuf,
}

impl MemoryProbe {
    /// What the run pins and the kernel cannot reclaim, KiB, from
    /// `memory.stat`: anonymous memory and shmem (tmpfs, shared memory: the
    /// run's private tmpfs mounts are charged to it), and on v2 also kernel
    /// stacks and socket buffers. Not the whole charge: file cache and
    /// kernel caches (slab: dentries, inodes, and the task structures a
    /// thread-churning program leaves to RCU, 20 MiB in 1.5 s here) are
    /// reclaimed at the limit and are not the program's. Page tables are
    /// sampled per process (VmPTE) instead, as v1 has no figure for them.
    /// None when it cannot be read.
    pub fn pinned_kib(&self) -> Option<u64> {
        let stat = std::fs::read_to_string(self.dir.join("memory.stat")).ok()?;
        let keys: &[&str] = match self.version {
            Version::V1 => &["rss", "shmem"],
            Version::V2 => &["anon", "shmem", "kernel_stack", "sock"],
        };
        let bytes: u64 = stat
            .lines()
            .filter_map(|l| {
                let (k, v) = l.split_once(' ')?;
                keys.contains(&k)
                    .then(|| v.trim().parse::<u64>().ok())
                    .flatten()
            })
            .sum();
        Some(bytes / 1024)
    }
}

impl Drop for RunCgroup {
    fn drop(&mut self) {
        for (_, d) in &self.dirs {
            remove(d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use procfs::FromRead;

    fn groups(text: &str) -> ProcessCGroups {
        ProcessCGroups::from_read(text.as_bytes()).expect("parse")
    }

    #[test]
    fn own_path_picks_the_hierarchy_of_the_controller() {
        let v1 = groups(
            "12:pids:/user.slice/a\n\
             4:cpu,cpuacct:/user.slice\n\
             3:memory:/user.slice/m:with:colons\n\
             1:name=systemd:/user.slice/s\n\
             0::/init.scope\n",
        );
        assert_eq!(path_in(&v1, "pids"), Some(PathBuf::from("user.slice/a")));
        assert_eq!(path_in(&v1, "cpuacct"), Some(PathBuf::from("user.slice")));
        assert_eq!(
            path_in(&v1, "memory"),
            Some(PathBuf::from("user.slice/m:with:colons"))
        );
        // The v2 line is the one that names no controller, not name=systemd.
        assert_eq!(path_in(&v1, ""), Some(PathBuf::from("init.scope")));
        assert_eq!(path_in(&v1, "blkio"), None);
        let v2 = groups("0::/\n");
        assert_eq!(path_in(&v2, ""), Some(PathBuf::new()));
        assert_eq!(path_in(&v2, "memory"), None);
    }

    #[test]
    fn own_path_of_this_process() {
        // Every Linux process has a cgroup line; on this machine's unified
        // hierarchy it is the v2 line.
        let text = std::fs::read_to_string("/proc/self/cgroup").unwrap();
        let v2 = text.lines().find_map(|l| l.strip_prefix("0::"));
        if let Some(p) = v2 {
            assert_eq!(own_path(""), Some(PathBuf::from(p.trim_start_matches('/'))));
        } else {
            assert!(own_path("memory").is_some());
        }
    }
}
