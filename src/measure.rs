//! Accounting: what the run's processes use, from the kernel's own figures.
//!
//! The final figures come from wait4's rusage of every process reaped (the
//! kernel's exact CPU time and high-water mark). While the run goes on, the
//! watchdog samples /proc to enforce the limits between reaps.

use std::ffi::CString;
use std::time::Duration;

use nix::unistd::Pid;
use procfs::process::Process;

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

/// The fields of /proc/PID/stat that the watchdog uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct StatFields {
    ppid: i32,
    utime: u64,
    stime: u64,
    cutime: u64,
    cstime: u64,
    rss_pages: u64,
}

/// Parses /proc/PID/stat by hand, without allocating. procfs's `Stat` is the
/// reference (the tests check that both agree on every process of the
/// machine and on a hostile command name), but the watchdog parses this
/// file for every live process of the run on every tick (10 ms) and for
/// every process of the machine on every rootless scan (50 ms), and
/// `Stat::from_read` builds all 52 fields with a buffer and a String per
/// call. Measured, whole supervisor (release build, a run of 50 sleeping
/// processes, ~100 processes on the machine, supervisor CPU per second of
/// run, median of 9): with procfs's parser 59 ms as root and 80 ms
/// rootless, by hand 54 ms and 67 ms (+9% and +20% for the crate).
fn parse_stat(bytes: &[u8]) -> Option<StatFields> {
    let text = std::str::from_utf8(bytes).ok()?;
    // The command name (field 2) may hold spaces and ")": the fields go on
    // after its last ")". `rest` starts at field 3 (state).
    let rest = text.get(text.rfind(')')? + 2..)?;
    let mut f = StatFields {
        ppid: 0,
        utime: 0,
        stime: 0,
        cutime: 0,
        cstime: 0,
        rss_pages: 0,
    };
    let mut seen = 0;
    for (i, v) in rest.split_ascii_whitespace().enumerate() {
        match i + 3 {
            4 => f.ppid = v.parse().ok()?,
            14 => f.utime = v.parse().ok()?,
            15 => f.stime = v.parse().ok()?,
            // cutime and cstime are signed in the kernel's format (never
            // negative in practice).
            16 => f.cutime = v.parse::<i64>().ok()?.max(0) as u64,
            17 => f.cstime = v.parse::<i64>().ok()?.max(0) as u64,
            24 => {
                f.rss_pages = v.parse().ok()?;
                seen += 1;
                break;
            }
            _ => continue,
        }
        seen += 1;
    }
    (seen == 6).then_some(f)
}

impl Sampler {
    /// Samples one process; None when it is gone. One open and read into
    /// the reused buffer (`Process::new(pid)?.stat()` would also open the
    /// /proc/PID directory), parsed by [`parse_stat`].
    pub fn sample(&mut self, pid: Pid) -> Option<LiveSample> {
        let path = CString::new(format!("/proc/{pid}/stat")).ok()?;
        let n = sys::read_small(&path, &mut self.buf)?;
        let stat = parse_stat(&self.buf[..n])?;
        let ticks = |t: u64| Duration::from_millis(t.saturating_mul(1000) / self.ticks);
        let cpu = sys::process_cpu_time(pid).unwrap_or_else(|| ticks(stat.utime + stat.stime));
        Some(LiveSample {
            rss_kib: stat.rss_pages * self.page_kib,
            cpu,
            reaped_children_cpu: ticks(stat.cutime + stat.cstime),
        })
    }
}

/// The pid of every process in /proc (entries named by a number). A plain
/// directory listing: procfs's `all_processes` also opens each /proc/PID
/// (O_PATH), which the watchdog's scans below do not need.
pub(crate) fn proc_pids() -> impl Iterator<Item = i32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
}

/// Every process whose /proc entry belongs to `uid` (the run's unique uid).
///
/// The watchdog calls this every 5 ticks (50 ms), and its cost grows with
/// every process on the machine, not only the run's: a listing and one
/// stat per entry, not procfs's `all_processes` + `Process::uid` (an O_PATH
/// open, an fstat and a close per entry). Measured with ~90 processes on
/// the machine: 90 us per scan this way, 165 us through procfs.
pub fn pids_of_uid(uid: u32) -> Vec<Pid> {
    proc_pids()
        .map(Pid::from_raw)
        .filter(|pid| pid_has_uid(*pid, uid))
        .collect()
}

/// Whether `/proc/PID` exists and belongs to `uid`.
pub fn pid_has_uid(pid: Pid, uid: u32) -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(format!("/proc/{pid}")).is_ok_and(|m| m.uid() == uid)
}

/// (pid, parent pid) of every process in /proc, from /proc/PID/stat (which
/// anyone may read), read into one reused buffer and parsed by
/// [`parse_stat`]: the rootless watchdog builds this table every 5 ticks
/// (50 ms) over every process on the machine. Through procfs
/// (`all_processes` + `Process::stat`) the rootless supervisor used 77 ms
/// of CPU per second of run against 57 ms (same measurement as
/// [`parse_stat`]'s, median of 5).
fn parent_table() -> Vec<(i32, i32)> {
    let mut buf = [0u8; 1024];
    proc_pids()
        .filter_map(|pid| {
            let path = CString::new(format!("/proc/{pid}/stat")).ok()?;
            let n = sys::read_small(&path, &mut buf)?;
            Some((pid, parse_stat(&buf[..n])?.ppid))
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
    /// Closed to wake the reader at once when the run is over (it would
    /// otherwise sleep out its 50 ms poll on a quiet host, on the run's
    /// critical path).
    wake: Option<std::os::fd::OwnedFd>,
    thread: Option<std::thread::JoinHandle<Option<Vec<sys::procev::Event>>>>,
}

impl Drop for ForkCounter {
    /// An abandoned counter (the run failed to start) ends its thread.
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        self.wake.take();
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
        let (wake_r, wake_w) = sys::pipe().ok()?;
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
                    let timeout = if done { 0 } else { 50 };
                    let got = match l.read(timeout, Some(&wake_r), &mut buf, &mut events) {
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
            wake: Some(wake_w),
            thread: Some(thread),
        })
    }
}

impl ForkCounter {
    /// Processes that descend from `first` (not counted), once the run is
    /// over and reaped; None when events were lost.
    pub fn finish(mut self, first: Pid) -> Option<u64> {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        self.wake.take();
        let events = self.thread.take()?.join().ok()??;
        Some(sys::procev::count_descendants(&events, first.as_raw()))
    }
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

    fn from_procfs(s: &procfs::process::Stat) -> StatFields {
        StatFields {
            ppid: s.ppid,
            utime: s.utime,
            stime: s.stime,
            cutime: s.cutime.max(0) as u64,
            cstime: s.cstime.max(0) as u64,
            rss_pages: s.rss,
        }
    }

    #[test]
    fn hand_stat_parser_agrees_with_procfs_on_every_process() {
        use procfs::FromRead;
        let mut compared = 0;
        for p in procfs::process::all_processes().unwrap().flatten() {
            // One read, parsed both ways (the process changes between reads).
            let Ok(bytes) = std::fs::read(format!("/proc/{}/stat", p.pid())) else {
                continue;
            };
            let reference = procfs::process::Stat::from_read(&bytes[..]).unwrap();
            assert_eq!(
                parse_stat(&bytes),
                Some(from_procfs(&reference)),
                "{}",
                String::from_utf8_lossy(&bytes)
            );
            compared += 1;
        }
        assert!(compared > 1, "compared {compared} processes");
    }

    #[test]
    fn hand_stat_parser_survives_a_hostile_command_name() {
        use procfs::FromRead;
        // A command name may hold ") ", spaces and digits (prctl PR_SET_NAME).
        let line = b"4242 (a) 1 2 ) x) S 17 4242 4242 0 -1 4194560 100 0 0 0 \
            7 3 11 5 20 0 1 0 12345 1000000 321 18446744073709551615 1 1 0 0 0 \
            0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
        let reference = procfs::process::Stat::from_read(&line[..]).unwrap();
        assert_eq!(reference.comm, "a) 1 2 ) x");
        let f = parse_stat(line).unwrap();
        assert_eq!(f, from_procfs(&reference));
        assert_eq!((f.ppid, f.utime, f.cutime, f.rss_pages), (17, 7, 11, 321));
        // Truncated or garbled: None, never a panic.
        assert_eq!(parse_stat(&line[..60]), None);
        assert_eq!(parse_stat(b"4242 (a"), None);
        assert_eq!(parse_stat(b")"), None);
        assert_eq!(parse_stat(&[0xff, b')', b' ', b'S']), None);
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
