//! One cgroup per run for whole-tree accounting and limits.
//!
//! v2 when the unified hierarchy has the memory and pids controllers, else
//! v1 with the memory, pids and cpuacct controllers mounted separately. The
//! run's cgroup is made below safeexec's own cgroup of each hierarchy
//! (`<own>/safeexec/run-<supervisor pid>`), so limits set on safeexec by its
//! caller still hold for the run. The [`RunCgroup`] guard kills what is left
//! and removes the directories when dropped, also on early returns.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use procfs::ProcessCGroups;

const ROOT: &str = "/sys/fs/cgroup";
const V1: &[&str] = &["memory", "pids", "cpuacct"];

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

fn v2_root() -> Option<PathBuf> {
    for base in [ROOT.to_string(), format!("{ROOT}/unified")] {
        let c = std::fs::read_to_string(format!("{base}/cgroup.controllers")).ok();
        if let Some(c) = c {
            let has = |n: &str| c.split_whitespace().any(|w| w == n);
            if has("memory") && has("pids") {
                return Some(PathBuf::from(base));
            }
        }
    }
    None
}

/// The `safeexec` parent directory of each controller (None if unusable).
fn parents() -> Option<(Version, Vec<(&'static str, PathBuf)>)> {
    if let Some(root) = v2_root() {
        let own = own_path("")?;
        return Some((
            Version::V2,
            vec![("unified", root.join(own).join("safeexec"))],
        ));
    }
    let mut v = Vec::new();
    for ctl in V1 {
        let base = Path::new(ROOT).join(ctl);
        if !base.join("cgroup.procs").exists() {
            return None;
        }
        let own = own_path(ctl).unwrap_or_default();
        v.push((*ctl, base.join(own).join("safeexec")));
    }
    Some((Version::V1, v))
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
pub fn remove_stale() {
    let Some((_, parents)) = parents() else {
        return;
    };
    for (_, parent) in parents {
        let Ok(rd) = std::fs::read_dir(&parent) else {
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
    /// Makes the run's cgroup with its limits; None when cgroups cannot be
    /// used here (not mounted, not writable): the caller falls back to /proc.
    pub fn create(run: u32, mem_limit_kib: u64, max_tasks: u64) -> Option<RunCgroup> {
        let (version, parents) = parents()?;
        let mut cg = RunCgroup {
            version,
            dirs: Vec::new(),
        };
        for (ctl, parent) in parents {
            if let Err(e) = std::fs::create_dir_all(&parent) {
                log::debug!("cgroup {}: {e}", parent.display());
                return None;
            }
            if version == Version::V2 {
                let _ = write(&parent, "cgroup.subtree_control", "+memory +pids +cpu");
            }
            let dir = parent.join(format!("run-{run}"));
            if dir.exists() {
                remove(&dir);
            }
            if let Err(e) = std::fs::create_dir(&dir) {
                log::debug!("cgroup {}: {e}", dir.display());
                return None;
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
            log::debug!("cgroup limits: {e}");
            return None;
        }
        log::debug!("run cgroups: {:?}", cg.dirs);
        Some(cg)
    }

    fn dir(&self, ctl: &str) -> Option<&Path> {
        self.dirs
            .iter()
            .find(|(c, _)| *c == ctl || *c == "unified")
            .map(|(_, d)| d.as_path())
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
