//! The watchdog thread: enforces the wall clock, the whole run's CPU time
//! and memory between reaps, and takes the caller's stop signals. It never
//! traces; the tracing (or reaping) thread is the only one that waits.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::unistd::Pid;

use crate::measure::{self, Sampler};
use crate::sys;

/// Why the watchdog ended the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(u8)]
pub enum KillReason {
    #[default]
    None = 0,
    CpuTime = 1,
    WallTime = 2,
    Memory = 3,
    Interrupted = 4,
    /// The supervisor's own loop asked for it (policy kill, internal error).
    Supervisor = 5,
}

impl KillReason {
    fn from_u8(v: u8) -> KillReason {
        match v {
            1 => KillReason::CpuTime,
            2 => KillReason::WallTime,
            3 => KillReason::Memory,
            4 => KillReason::Interrupted,
            5 => KillReason::Supervisor,
            _ => KillReason::None,
        }
    }
}

/// State shared by the waiting thread and the watchdog.
pub struct Shared {
    /// Processes known to be alive (the tracer's set in paranoid mode; the
    /// first process in classic mode, completed by a scan by uid when the
    /// run may fork).
    pub live: Mutex<Vec<Pid>>,
    /// CPU of every process reaped so far, ns.
    pub reaped_cpu_ns: AtomicU64,
    pub reason: AtomicU8,
    pub signal: AtomicI32,
    /// Largest sum of the run's memory seen by sampling, KiB: resident
    /// memory, page tables and private tmpfs of its processes, or what its
    /// cgroup pins when it has one, whichever is larger.
    pub peak_rss_kib: AtomicU64,
    /// What the run's private tmpfs mounts held at the end, KiB (sampled
    /// once more after the last process, through descriptors kept open).
    pub tmpfs_end_kib: AtomicU64,
    /// Largest sum of the memory that no high-water mark sees (page tables,
    /// private tmpfs), KiB: at that instant the run held at least as much.
    pub peak_unseen_kib: AtomicU64,
    pub done: AtomicBool,
    /// The run's uid (unique to it); 0 until known. Kills by pid check it.
    pub run_uid: AtomicU32,
    /// Rootless mode: the inode of the run's user namespace (0 otherwise).
    /// The run's processes have the caller's uid; kills by pid check that
    /// they are still in this namespace instead.
    pub run_userns: AtomicU64,
    /// A pidfd of the PID namespace's init (safeexec's own, our child):
    /// killing it ends every process of the namespace at once, also those
    /// no scan has found yet (and, on kernels that show a non-dumpable
    /// process's /proc entry as root's, those no scan by uid can find).
    /// Killed when the caller's signal interrupts the run.
    pub init: std::sync::OnceLock<std::os::fd::OwnedFd>,
}

impl Shared {
    pub fn new(first: Pid) -> Arc<Shared> {
        Arc::new(Shared {
            live: Mutex::new(vec![first]),
            reaped_cpu_ns: AtomicU64::new(0),
            reason: AtomicU8::new(0),
            signal: AtomicI32::new(0),
            peak_rss_kib: AtomicU64::new(0),
            tmpfs_end_kib: AtomicU64::new(0),
            peak_unseen_kib: AtomicU64::new(0),
            done: AtomicBool::new(false),
            run_uid: AtomicU32::new(0),
            run_userns: AtomicU64::new(0),
            init: std::sync::OnceLock::new(),
        })
    }

    /// Records the first reason to end the run; later ones are ignored.
    pub fn set_reason(&self, r: KillReason) -> bool {
        self.reason
            .compare_exchange(0, r as u8, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }

    pub fn reason(&self) -> KillReason {
        KillReason::from_u8(self.reason.load(Ordering::SeqCst))
    }

    pub fn live_pids(&self) -> Vec<Pid> {
        self.live.lock().map(|l| l.clone()).unwrap_or_default()
    }

    pub fn add_live(&self, pid: Pid) {
        if let Ok(mut l) = self.live.lock() {
            if !l.contains(&pid) {
                l.push(pid);
            }
        }
    }

    pub fn remove_live(&self, pid: Pid) {
        if let Ok(mut l) = self.live.lock() {
            l.retain(|p| *p != pid);
        }
    }

    /// SIGKILL to every known live process.
    pub fn kill_all(&self) {
        for p in self.live_pids() {
            self.kill(p);
        }
    }

    /// SIGKILL to the PID namespace's init, and so to the whole namespace.
    pub fn kill_init(&self) {
        if let Some(fd) = self.init.get() {
            sys::pidfd_kill(std::os::fd::AsFd::as_fd(fd));
        }
    }

    /// SIGKILL to `pid` if it is still a process of the run: a pid reaped
    /// by the other thread and reused meanwhile is left alone.
    pub fn kill(&self, pid: Pid) {
        let ns = self.run_userns.load(Ordering::SeqCst);
        if ns != 0 {
            return sys::userns::kill_in_userns(pid, ns);
        }
        match self.run_uid.load(Ordering::SeqCst) {
            0 => sys::kill_pid(pid),
            uid => sys::setuid::kill_run_process(pid, uid),
        }
    }
}

/// What the watchdog enforces.
pub struct Watch {
    pub shared: Arc<Shared>,
    pub start: Instant,
    pub cpu_limit: Duration,
    pub wall_limit: Duration,
    pub mem_limit_kib: u64,
    /// How to find the run's processes (classic mode, when it may fork or
    /// has an init): its cgroup every tick, or /proc every few ticks.
    pub scan: Option<Scan>,
    /// The run cannot fork (`--nproc 0`, the uid holds one process): the
    /// scan by uid stops once it has found the program, whose pid is then
    /// only checked to still be the uid's (one stat a tick instead of a
    /// stat of every /proc entry every 5 ticks, ~0.1-0.3 ms each here).
    pub single: bool,
    /// The namespace's init (safeexec's own code, pid 1 of the run): killed
    /// with the run but not counted in its memory or CPU.
    pub init: Option<Pid>,
    /// The run's private tmpfs mounts, as paths inside the run (/tmp,
    /// /var/tmp, /dev/shm, a jail's --tmpfs): their used space counts as the
    /// run's memory, since tmpfs pages are RAM that no process maps. Each
    /// is opened once through `/proc/<pid>/root` of the init or the program
    /// (after its exec, so the mounts are final) and then measured with
    /// fstatfs, also after the run's last process has ended.
    pub tmpfs: Vec<std::path::PathBuf>,
    /// The upper layer of the bounded working directory (`--disk`), a
    /// tmpfs the supervisor made: what the program wrote into its working
    /// directory is RAM until it is handed back, and counts like the rest.
    pub layer: Option<std::fs::File>,
    /// Sample each process's page tables (VmPTE), which no high-water mark
    /// and no cgroup v1 figure shows.
    pub page_tables: bool,
    /// The run's memory cgroup, sampled for what it pins: anonymous memory
    /// and shmem (tmpfs), not its reclaimable caches.
    pub cgroup: Option<crate::isolate::cgroup::MemoryProbe>,
    /// Sleeps between ticks; woken early by a stop signal or by the end of
    /// the run.
    pub waiter: Arc<sys::Waiter>,
}

/// How the watchdog finds the run's processes that are not its children.
#[derive(Debug, Clone)]
pub enum Scan {
    /// Every process of this uid (unique to the run: the root path).
    Uid(u32),
    /// Every descendant of this pid (the supervisor itself, rootless: the
    /// run's processes share the caller's uid).
    Descendants(Pid),
    /// Every process of the run's cgroup, from this `cgroup.procs` file:
    /// one read, every tick, instead of a stat of every /proc entry (0.1 to
    /// 0.3 ms here, more with more processes on the machine) every 5 ticks.
    /// The run cannot leave its cgroup (the directories are root's).
    Cgroup(std::path::PathBuf),
}

/// Longest sleep between two samples: the sampling is what enforces the
/// memory limit of a run without a memory cgroup.
const TICK: Duration = Duration::from_millis(10);
/// Longest sleep between two samples of a run whose memory cgroup has the
/// limit: the kernel enforces the memory (anonymous, tmpfs and page tables
/// are all charged to it), so the samples only add figures; the CPU limit
/// and the wall clock still cut the sleep short (below). A tick of a
/// cgroup run reads its `memory.stat` and `cgroup.procs` besides each
/// process's figures: at 10 ms, 200 ms of CPU took 2 ms longer with a
/// cgroup than without (issue 17's benchmark, cpu200 `--nproc 100` minus
/// `--nproc 0`, paired), at 50 ms no measurable time.
const TICK_CGROUP: Duration = Duration::from_millis(50);
const MIN_TICK: Duration = Duration::from_millis(1);
/// Ticks between two scans of /proc for the run's uid (classic mode with
/// --nproc > 0); new processes are found within 5 ticks.
const SCAN_EVERY: u32 = 5;

pub fn run(w: Watch) {
    let mut sampler = Sampler::default();
    let mut tmpfs = RunTmpfs::new(&w.tmpfs, w.layer.as_ref());
    let mut status_buf = vec![0u8; 8192];
    let deadline = w.start + w.wall_limit;
    let sh = &w.shared;
    // Processes found by the last scan by uid; the scan (a stat of every
    // /proc entry) runs every SCAN_EVERY ticks, the sampling every tick.
    let mut scanned: Vec<Pid> = Vec::new();
    let mut tick: u32 = 0;
    // The first sample waits one tick: at the start the program has only
    // just run its exec, and a run shorter than a tick (most tests of a
    // judge) is then never sampled here, so the scan of /proc does not
    // compete with the program for its CPU (its figures come from wait4 and
    // the init's record at the end). Limits are checked every tick anyway.
    let longest = if w.cgroup.is_some() {
        TICK_CGROUP
    } else {
        TICK
    };
    let mut nap = longest.min(w.cpu_limit / 2).min(w.wall_limit).max(MIN_TICK);
    let mut pids: Vec<Pid> = Vec::new();
    loop {
        if let sys::Wake::Signal(sig) = w.waiter.wait(nap) {
            sh.signal.store(sig, Ordering::SeqCst);
            sh.set_reason(KillReason::Interrupted);
            log::debug!("watchdog: signal {sig} received, ending the run");
            sh.kill_init();
            sh.kill_all();
            for p in &pids {
                sh.kill(*p);
            }
            // Scan now: processes started since the last scan are killed
            // below, not a scan (up to 50 ms) later.
            tick = 0;
            scanned.clear();
        }
        if sh.done.load(Ordering::SeqCst) {
            break;
        }
        // Reaped first, live second: a process reaped in between is missed
        // for one tick rather than counted twice.
        let reaped = Duration::from_nanos(sh.reaped_cpu_ns.load(Ordering::SeqCst));
        pids = sh.live_pids();
        if let Some(scan) = &w.scan {
            match (scan, w.single && !scanned.is_empty()) {
                (Scan::Cgroup(procs), _) => scanned = measure::pids_in_cgroup(procs),
                (Scan::Uid(uid), true) => scanned.retain(|p| measure::pid_has_uid(*p, *uid)),
                _ if tick.is_multiple_of(SCAN_EVERY) => {
                    scanned = match scan {
                        Scan::Uid(uid) => measure::pids_of_uid(*uid),
                        Scan::Descendants(root) => measure::descendants_of(*root),
                        Scan::Cgroup(procs) => measure::pids_in_cgroup(procs),
                    };
                }
                _ => {}
            }
            tick = tick.wrapping_add(1);
            for p in &scanned {
                if !pids.contains(p) {
                    pids.push(*p);
                }
            }
        }
        let (mut rss, mut cpu, mut pte) = (0u64, reaped, 0u64);
        let tmpfs_kib = tmpfs.used_kib(w.init.or_else(|| pids.first().copied()), w.init.is_some());
        for p in &pids {
            if Some(*p) == w.init {
                continue;
            }
            if let Some(s) = sampler.sample(*p) {
                rss += s.rss_kib;
                cpu += s.cpu + s.reaped_children_cpu;
                if w.page_tables {
                    pte += measure::page_tables_kib(*p, &mut status_buf).unwrap_or(0);
                }
            }
        }
        let unseen = tmpfs_kib + pte;
        sh.peak_unseen_kib.fetch_max(unseen, Ordering::SeqCst);
        rss += unseen;
        if let Some(pinned) = w.cgroup.as_ref().and_then(|c| c.pinned_kib()) {
            // The cgroup's anon + shmem covers processes a scan has not
            // found yet and the run's tmpfs; page tables come from VmPTE.
            rss = rss.max(pinned + pte);
        }
        sh.peak_rss_kib.fetch_max(rss, Ordering::SeqCst);
        let now = Instant::now();
        let reason = if cpu > w.cpu_limit {
            KillReason::CpuTime
        } else if rss > w.mem_limit_kib {
            KillReason::Memory
        } else if now >= deadline {
            KillReason::WallTime
        } else {
            KillReason::None
        };
        // Once the run is being ended (this tick, an earlier one, the
        // caller's signal or the supervisor), every process found is killed,
        // also those a later scan finds.
        if reason != KillReason::None || sh.reason() != KillReason::None {
            if reason != KillReason::None && sh.set_reason(reason) {
                log::debug!("watchdog: ending the run: {reason:?} (cpu {cpu:?}, rss {rss} KiB)");
            }
            for p in &pids {
                sh.kill(*p);
            }
            sh.kill_all();
        }
        // Sleep no longer than half the CPU budget left (the run cannot use
        // it faster than on all cores) nor past the wall deadline.
        let cpu_left = w.cpu_limit.saturating_sub(cpu) / 2;
        let wall_left = deadline.saturating_duration_since(now);
        nap = longest.min(cpu_left).min(wall_left).max(MIN_TICK);
    }
    // The run is over: what its tmpfs mounts still hold (files left there)
    // and what its cgroup still pins are memory it used until its end.
    let left = tmpfs.used_kib(None, false);
    sh.tmpfs_end_kib.store(left, Ordering::SeqCst);
    sh.peak_unseen_kib.fetch_max(left, Ordering::SeqCst);
    let pinned = w.cgroup.as_ref().and_then(|c| c.pinned_kib()).unwrap_or(0);
    sh.peak_rss_kib
        .fetch_max(left.max(pinned), Ordering::SeqCst);
}

/// The run's private tmpfs mounts, opened once each when reachable.
struct RunTmpfs<'a> {
    paths: &'a [std::path::PathBuf],
    open: Vec<Option<std::fs::File>>,
    /// The bounded working directory's layer, open from the start.
    layer: Option<&'a std::fs::File>,
}

impl<'a> RunTmpfs<'a> {
    fn new(paths: &'a [std::path::PathBuf], layer: Option<&'a std::fs::File>) -> Self {
        RunTmpfs {
            paths,
            open: paths.iter().map(|_| None).collect(),
            layer,
        }
    }

    /// Space used on every mount opened so far, KiB, after trying to open
    /// the others through `via` (the init, whose mounts are final, or the
    /// program once it has run its exec).
    fn used_kib(&mut self, via: Option<Pid>, via_init: bool) -> u64 {
        if let Some(pid) = via {
            if self.open.iter().any(|o| o.is_none()) && (via_init || measure::has_exec(pid)) {
                for (i, p) in self.paths.iter().enumerate() {
                    if self.open[i].is_none() {
                        self.open[i] = measure::open_run_tmpfs(pid, p);
                    }
                }
            }
        }
        self.open
            .iter()
            .flatten()
            .chain(self.layer)
            .map(measure::tmpfs_fd_used_kib)
            .sum()
    }
}
