//! Accounting: what the run's processes use, from the kernel's own figures.
//!
//! The final figures come from wait4's rusage of every process reaped (the
//! kernel's exact CPU time and high-water mark). While the run goes on, the
//! watchdog samples /proc to enforce the limits between reaps.

use std::ffi::CString;
use std::time::Duration;

use nix::unistd::Pid;

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
    pub fn sample(&mut self, pid: Pid) -> Option<LiveSample> {
        let path = CString::new(format!("/proc/{pid}/stat")).ok()?;
        let n = sys::read_small(&path, &mut self.buf)?;
        let text = std::str::from_utf8(&self.buf[..n]).ok()?;
        // Fields after the command name, which may itself hold ") ".
        let rest = &text[text.rfind(')')? + 2..];
        let f: Vec<&str> = rest.split_ascii_whitespace().collect();
        // rest starts at field 3 (state); field k is f[k - 3].
        let num = |k: usize| f.get(k - 3).and_then(|s| s.parse::<u64>().ok());
        let cutime = num(16)?;
        let cstime = num(17)?;
        let rss_pages = num(24)?;
        let cpu = sys::process_cpu_time(pid).unwrap_or_else(|| {
            Duration::from_millis((num(14).unwrap_or(0) + num(15).unwrap_or(0)) * 1000 / self.ticks)
        });
        Some(LiveSample {
            rss_kib: rss_pages * self.page_kib,
            cpu,
            reaped_children_cpu: Duration::from_millis((cutime + cstime) * 1000 / self.ticks),
        })
    }
}

/// Every process whose /proc entry belongs to `uid` (the run's unique uid).
pub fn pids_of_uid(uid: u32) -> Vec<Pid> {
    use std::os::unix::fs::MetadataExt;
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| {
        let e = e.ok()?;
        let pid: i32 = e.file_name().to_str()?.parse().ok()?;
        let md = e.metadata().ok()?;
        (md.uid() == uid).then(|| Pid::from_raw(pid))
    })
    .collect()
}

/// (pid, parent pid) of every process in /proc, from /proc/PID/stat (which
/// anyone may read).
fn parent_table() -> Vec<(i32, i32)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut buf = [0u8; 1024];
    dir.filter_map(|e| {
        let name = e.ok()?.file_name();
        let pid: i32 = name.to_str()?.parse().ok()?;
        let path = CString::new(format!("/proc/{pid}/stat")).ok()?;
        let n = sys::read_small(&path, &mut buf)?;
        let text = std::str::from_utf8(&buf[..n]).ok()?;
        // After the command name (which may hold ") "): state, then ppid.
        let rest = &text[text.rfind(')')? + 2..];
        let ppid: i32 = rest.split_ascii_whitespace().nth(1)?.parse().ok()?;
        Some((pid, ppid))
    })
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
    let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    text.rfind(')')
        .and_then(|i| text[i + 1..].split_ascii_whitespace().next())
        .is_some_and(|state| state != "Z" && state != "X")
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

/// The page tables of a live process (`VmPTE` in /proc/PID/status), KiB.
/// Neither RSS nor the high-water marks count them, yet a process that
/// maps a large sparse area and reads one byte per 2 MiB holds one 4 KiB
/// table page per read and almost no resident memory. `buf` is reused.
pub fn page_tables_kib(pid: Pid, buf: &mut [u8]) -> Option<u64> {
    let path = CString::new(format!("/proc/{pid}/status")).ok()?;
    let n = sys::read_small(&path, buf)?;
    let text = std::str::from_utf8(&buf[..n]).ok()?;
    let line = text.lines().find(|l| l.starts_with("VmPTE:"))?;
    line.split_ascii_whitespace().nth(1)?.parse().ok()
}

/// Whether `pid` has run its exec: its executable is no longer this
/// supervisor's own (a forked child of safeexec before exec is).
pub fn has_exec(pid: Pid) -> bool {
    use std::os::unix::fs::MetadataExt;
    let id = |p: String| std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()));
    match (id(format!("/proc/{pid}/exe")), id("/proc/self/exe".into())) {
        (Some(theirs), Some(ours)) => theirs != ours,
        _ => false,
    }
}

/// Opens the run's private tmpfs at `path` as the run sees it (through
/// /proc/`pid`/root) with O_PATH, if it is there: a tmpfs on another device
/// than the host's `path`. The descriptor keeps the mount measurable after
/// the run's mount namespace is gone.
pub fn open_run_tmpfs(pid: Pid, path: &std::path::Path) -> Option<std::fs::File> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let inside = std::path::Path::new(&format!("/proc/{pid}/root"))
        .join(path.strip_prefix("/").unwrap_or(path));
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(inside)
        .ok()?;
    let st = nix::sys::statfs::fstatfs(&f).ok()?;
    if st.filesystem_type() != nix::sys::statfs::TMPFS_MAGIC {
        return None;
    }
    let dev = f.metadata().ok()?.dev();
    if std::fs::metadata(path).is_ok_and(|m| m.dev() == dev) {
        return None;
    }
    Some(f)
}

/// Space in use on the tmpfs open at `f`, KiB (0 when it cannot be read).
pub fn tmpfs_fd_used_kib(f: &std::fs::File) -> u64 {
    nix::sys::statfs::fstatfs(f)
        .map(|st| {
            let used = st.blocks().saturating_sub(st.blocks_free());
            used.saturating_mul(st.block_size() as u64) / 1024
        })
        .unwrap_or(0)
}

/// Counts every process of a run from the kernel's fork events (root only:
/// the process events connector needs CAP_NET_ADMIN). The supervisor sees
/// only what it reaps itself; a process reaped by its own parent inside the
/// run shows up here. Started before the run's first fork.
pub struct ForkCounter {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<Option<Vec<sys::procev::Event>>>>,
}

impl Drop for ForkCounter {
    /// An abandoned counter (the run failed to start) ends its thread.
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Events kept at most (a bound on memory under a host-wide fork storm);
/// past it the count is given up.
const MAX_EVENTS: usize = 4 << 20;

/// The subscribed socket, before the run's first fork: events queue in it
/// until [`Listening::collect`] starts reading them after the fork (a thread
/// that allocates must not exist while the supervisor forks).
pub struct Listening(sys::procev::Listener);

impl ForkCounter {
    /// None when the connector cannot be used (not root, no netlink).
    pub fn listen() -> Option<Listening> {
        match sys::procev::Listener::open() {
            Ok(l) => Some(Listening(l)),
            Err(e) => {
                log::debug!("process events connector: {e}: the process count is what was reaped");
                None
            }
        }
    }
}

impl Listening {
    /// Reads the queued and further events on a thread of its own.
    pub fn collect(self) -> Option<ForkCounter> {
        use std::sync::atomic::Ordering;
        let l = self.0;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("forks".into())
            .spawn(move || {
                let mut buf = vec![0u8; 4096];
                let mut events = Vec::new();
                let mut stopped_at: Option<std::time::Instant> = None;
                loop {
                    // Once told to stop (the run is over and reaped, so its
                    // events are queued), what is queued is read without
                    // waiting; other processes of the host may fork on for
                    // ever, so that final read is bounded in time.
                    let done = flag.load(Ordering::SeqCst);
                    if done {
                        let t = *stopped_at.get_or_insert_with(std::time::Instant::now);
                        if t.elapsed() > Duration::from_millis(500) {
                            return Some(events);
                        }
                    }
                    let got = match l.read(if done { 0 } else { 50 }, &mut buf, &mut events) {
                        Ok(g) => g,
                        Err(e) => {
                            log::debug!(
                                "process events lost ({e}): the process count is what was reaped"
                            );
                            return None;
                        }
                    };
                    if events.len() > MAX_EVENTS {
                        return None;
                    }
                    if done && !got {
                        return Some(events);
                    }
                }
            })
            .ok()?;
        Some(ForkCounter {
            stop,
            thread: Some(thread),
        })
    }
}

impl ForkCounter {
    /// Processes that descend from `first` (not counted), once the run is
    /// over and reaped; None when events were lost.
    pub fn finish(mut self, first: Pid) -> Option<u64> {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let events = self.thread.take()?.join().ok()??;
        Some(sys::procev::count_descendants(&events, first.as_raw()))
    }
}
