//! Accounting: what the run's processes use, from the kernel's own figures.
//!
//! The final figures come from wait4's rusage of every process reaped (the
//! kernel's exact CPU time and high-water mark). While the run goes on, the
//! watchdog samples /proc to enforce the limits between reaps.

use std::ffi::CString;
use std::time::Duration;

use nix::unistd::Pid;
use procfs::process::{Process, Stat};
use procfs::FromRead;

use crate::sys;

/// A live process's figures at one instant.
#[derive(Debug, Clone, Copy, Default)]
pub struct LiveSample {
    /// Resident set, KiB.
    pub rss_kib: u64,
    /// CPU of the process itself (all threads), exact.
    pub cpu: Duration,
    /// CPU of its children that it has reaped itself (cutime + cstime).
    pub reaped_children_cpu: Duration,
}

fn page_kib() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .map(|p| p as u64 / 1024)
        .unwrap_or(4)
}

fn clock_ticks() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .map(|t| t as u64)
        .filter(|t| *t > 0)
        .unwrap_or(100)
}

/// Reads /proc figures with buffers reused across samples.
pub struct Sampler {
    buf: Vec<u8>,
    page_kib: u64,
    ticks: u64,
}

impl Default for Sampler {
    fn default() -> Self {
        Sampler {
            buf: vec![0; 4096],
            page_kib: page_kib(),
            ticks: clock_ticks(),
        }
    }
}

impl Sampler {
    /// Samples one process; None when it is gone.
    ///
    /// The file is read by hand into the reused buffer and parsed by
    /// procfs's `Stat`: this runs for every live process on every watchdog
    /// tick (10 ms), and `Process::new(pid)?.stat()` costs an extra open of
    /// the /proc/PID directory and a fresh buffer per call. Measured (release
    /// build, 20 000 reads of one process's stat, 2 loaded cores): own read +
    /// hand split 4.7 us, own read + procfs parser 5.6 us, procfs
    /// `Process::stat` 7.5 us per read.
    pub fn sample(&mut self, pid: Pid) -> Option<LiveSample> {
        let path = CString::new(format!("/proc/{pid}/stat")).ok()?;
        let n = sys::read_small(&path, &mut self.buf)?;
        let stat = Stat::from_read(&self.buf[..n]).ok()?;
        let ticks = |t: u64| Duration::from_millis(t.saturating_mul(1000) / self.ticks);
        let cpu = sys::process_cpu_time(pid).unwrap_or_else(|| ticks(stat.utime + stat.stime));
        let reaped = stat.cutime.max(0) as u64 + stat.cstime.max(0) as u64;
        Some(LiveSample {
            rss_kib: stat.rss * self.page_kib,
            cpu,
            reaped_children_cpu: ticks(reaped),
        })
    }
}

/// Every process of the system that procfs can open, with its pid. A
/// process that exits during the pass is skipped.
fn all_processes() -> impl Iterator<Item = Process> {
    procfs::process::all_processes()
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
}

/// Every process whose /proc entry belongs to `uid` (the run's unique uid).
///
/// The watchdog calls this every 5 ticks (50 ms). Measured with ~90
/// processes on the machine: 90 us by hand (readdir + stat), 165 us through
/// procfs (an O_PATH open and an fstat per entry), i.e. about 1 us more per
/// /proc entry every 50 ms; kept on procfs.
pub fn pids_of_uid(uid: u32) -> Vec<Pid> {
    all_processes()
        .filter(|p| p.uid().is_ok_and(|u| u == uid))
        .map(|p| Pid::from_raw(p.pid()))
        .collect()
}

/// (pid, parent pid) of every process in /proc, from /proc/PID/stat (which
/// anyone may read).
fn parent_table() -> Vec<(i32, i32)> {
    all_processes()
        .filter_map(|p| Some((p.pid(), p.stat().ok()?.ppid)))
        .collect()
}

/// Every live process descending from `root` (not `root` itself), by the
/// parent links in /proc: in rootless mode the run's processes share the
/// caller's uid, but all descend from the supervisor (orphans are re-parented
/// to the PID namespace's init, or to the supervisor, a subreaper). One
/// pass over /proc; a process forked during the pass is found by the next.
pub fn descendants_of(root: Pid) -> Vec<Pid> {
    let table = parent_table();
    let mut found = vec![root.as_raw()];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        for &(pid, ppid) in &table {
            if ppid == parent && !found.contains(&pid) {
                found.push(pid);
            }
        }
        i += 1;
    }
    found.into_iter().skip(1).map(Pid::from_raw).collect()
}

/// The live children of `parent`.
pub fn children_of(parent: Pid) -> Vec<Pid> {
    parent_table()
        .into_iter()
        .filter(|&(_, ppid)| ppid == parent.as_raw())
        .map(|(pid, _)| Pid::from_raw(pid))
        .collect()
}

/// Whether `pid` exists and is not a zombie.
pub fn is_running(pid: Pid) -> bool {
    Process::new(pid.as_raw()).is_ok_and(|p| p.is_alive())
}

/// Totals over the processes reaped so far.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reaped {
    pub user: Duration,
    pub sys: Duration,
    /// Largest ru_maxrss of any reaped process (its own high-water mark, or a
    /// child's that it reaped).
    pub max_rss_kib: u64,
    pub count: u64,
}

impl Reaped {
    pub fn add(&mut self, u: &sys::Usage) {
        self.user += u.user;
        self.sys += u.sys;
        self.max_rss_kib = self.max_rss_kib.max(u.maxrss_kib);
        self.count += 1;
    }

    pub fn cpu(&self) -> Duration {
        self.user + self.sys
    }
}

/// Space in use on the tmpfs at `path`, KiB (0 when it cannot be read).
pub fn tmpfs_used_kib(path: &std::path::Path) -> u64 {
    use std::os::unix::ffi::OsStrExt;
    CString::new(path.as_os_str().as_bytes())
        .map(|c| sys::ns::fs_used_kib(&c))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `sleep` child of the test process, killed and reaped on drop.
    struct Child(std::process::Child);

    impl Drop for Child {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    fn sleeper() -> (Child, Pid) {
        let c = std::process::Command::new("/bin/sleep")
            .arg("30")
            .spawn()
            .expect("spawn /bin/sleep");
        let pid = Pid::from_raw(c.id() as i32);
        (Child(c), pid)
    }

    #[test]
    fn sample_reads_this_process() {
        // A child that burns CPU, reaped by us: its time shows in our
        // cutime/cstime (kernel ticks, so at least one tick of 10 ms).
        let st = std::process::Command::new("/bin/sh")
            .args(["-c", "i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done"])
            .status()
            .expect("run /bin/sh");
        assert!(st.success());
        let s = Sampler::default()
            .sample(nix::unistd::getpid())
            .expect("own stat");
        assert!(s.rss_kib > 0, "{s:?}");
        assert!(s.cpu > Duration::ZERO, "{s:?}");
        assert!(s.reaped_children_cpu >= Duration::from_millis(10), "{s:?}");
        assert!(Sampler::default().sample(Pid::from_raw(i32::MAX)).is_none());
    }

    #[test]
    fn finds_children_descendants_and_uid() {
        let me = nix::unistd::getpid();
        let (child, pid) = sleeper();
        assert!(children_of(me).contains(&pid));
        assert!(descendants_of(me).contains(&pid));
        assert!(!descendants_of(me).contains(&me));
        let uid = nix::unistd::geteuid().as_raw();
        let of_uid = pids_of_uid(uid);
        assert!(of_uid.contains(&me) && of_uid.contains(&pid));
        assert!(!pids_of_uid(uid.wrapping_add(54_321)).contains(&pid));
        assert!(is_running(pid));
        drop(child);
        // Reaped: gone from /proc.
        assert!(!is_running(pid));
        assert!(!children_of(me).contains(&pid));
    }

    #[test]
    fn a_zombie_is_not_running() {
        let (mut child, pid) = sleeper();
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).unwrap();
        // Not reaped yet: a zombie until wait.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while is_running(pid) && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(!is_running(pid));
        assert!(
            Process::new(pid.as_raw()).is_ok(),
            "still in /proc as a zombie"
        );
        let _ = child.0.wait();
    }
}
