//! Isolation planning, done in the supervisor before fork: which
//! namespaces, which mounts (a jail root from binds and profiles, or only a
//! fresh /proc and private tmp directories), the working directory, the
//! per-run cgroup and its size, and the rlimits the child sets.

use super::mounts::Keep;
use crate::caller::{Held, Opened};
use crate::config::RunConfig;
use crate::error::{Result, SandboxError};

use super::cgroup::{RunCgroup, Site};

/// Whether the run should have a cgroup: it asked for one (or may create
/// processes), or its caller is not root (`unprivileged`: such a caller may
/// stop safeexec, and then only the kernel's limit on the cgroup bounds the
/// run's memory; `--no-cgroup` does not apply to it); never rootless
/// (creating one needs root; a rootless report's sources say it has none).
pub(crate) fn wants_cgroup(cfg: &RunConfig, rootless: bool, unprivileged: bool) -> bool {
    (cfg.isolation.cgroups == Some(true) || unprivileged) && !rootless
}

/// The per-run cgroup in `site` (None: the run should have none). A stale
/// cgroup of a dead supervisor is removed first; this one is removed when
/// it drops, whatever way the run ends. When it cannot be had, the run
/// goes on with the warning returned, or fails under `require_cgroup`.
pub(crate) fn run_cgroup(
    cfg: &RunConfig,
    conf: &crate::adminconf::AdminConf,
    ns: &super::NsPlan,
    supervisor: u32,
    site: Option<std::result::Result<Site, String>>,
) -> Result<(Option<RunCgroup>, Option<String>)> {
    let Some(site) = site else {
        return Ok((None, None));
    };
    let (hard, tasks) = cgroup_size(&cfg.limits, ns.has_init());
    let made = site.and_then(|s| {
        log::debug!("run cgroups: {}", s.how);
        // v1: joining waits for an RCU grace period unless a favordynmods
        // hierarchy exists (v2 creates the child in its cgroup instead).
        if s.version == super::cgroup::Version::V1 && conf.cgroup_fast_join {
            super::cgroup::fast_join();
        }
        super::cgroup::remove_stale(&s);
        RunCgroup::create(&s, supervisor, hard, tasks)
    });
    match made {
        Ok(cg) => Ok((Some(cg), None)),
        Err(why) if conf.require_cgroup => Err(SandboxError::NoCgroup {
            conf: conf.origin(),
            why,
        }),
        Err(why) => Ok((None, Some(no_cgroup_warning(&why)))),
    }
}

/// The report's warning for a run that should have had a cgroup.
pub(crate) fn no_cgroup_warning(why: &str) -> String {
    format!(
        "no cgroup for this run: {why}; the memory and CPU figures come from wait4 and /proc, \
         and the process tree's memory is held only by the watchdog's sampling \
         (require_cgroup = yes in /etc/safeexec.conf makes this an error; `safeexec check` \
         shows what this host offers)"
    )
}

/// The cgroup's memory ceiling (KiB) and task count: slightly above --mem,
/// so the kernel stops a runaway tree while the verdict still comes from
/// the peak compared with --mem; the program, --nproc more, and the init.
pub(crate) fn cgroup_size(l: &crate::config::Limits, has_init: bool) -> (u64, u64) {
    let hard = l.memory_kib + (l.memory_kib / 10).max(8192);
    (hard, l.nproc + 1 + has_init as u64)
}

/// Namespaces, mounts and the working directory of a run.
pub(crate) struct IsoPlan {
    pub ns: crate::isolate::NsPlan,
    pub mounts: Option<crate::isolate::mounts::MountPlan>,
    pub workdir: Option<std::path::PathBuf>,
    /// Where the run has a private tmpfs (its memory counts as the run's).
    pub private_tmp: Vec<std::path::PathBuf>,
}

/// The world-writable directories a run gets a private tmpfs on, so that
/// nothing it leaves there outlives it (its uid may come back for a later
/// run): those of /tmp, /var/tmp and /dev/shm that are real directories.
pub(crate) fn private_tmp_dirs() -> Vec<std::path::PathBuf> {
    ["/tmp", "/var/tmp", "/dev/shm"]
        .iter()
        .map(std::path::PathBuf::from)
        .filter(|p| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir()))
        .collect()
}

/// Paths under `private` that the run needs from the host, kept visible at
/// the same place: its working directory (with the host's permissions), its
/// program's directory, and every existing path its command line names
/// (`cfg.named`: the program, arguments and class-path entries,
/// `--allow-read`, `--allow-write`), read-only unless writable (the working
/// directory, `--allow-write`). A private directory that is itself the
/// working directory or the program's directory (the program in /tmp) keeps
/// the host's: it is dropped from `private`; another one named on the
/// command line is dropped too, and bound read-only over itself.
///
/// Outermost first; a path below a kept one is left out when it would be
/// no more writable than what it lies under (it is visible through it).
///
/// With `descriptors` (root or a setuid caller), each kept path comes with
/// a descriptor opened once before the fork: the working directory's from
/// [`crate::caller::open_paths`], the others opened by their canonical path
/// with the caller's rights and no symlink followed
/// ([`crate::caller::open_derived`]); the run's private tmpfs gets them back
/// from the descriptor, never by path.
fn kept_paths(
    cfg: &RunConfig,
    opened: &Opened,
    caller: Option<(u32, u32)>,
    descriptors: bool,
    mut private: Vec<std::path::PathBuf>,
) -> Result<(Vec<std::path::PathBuf>, Vec<Keep>)> {
    let wd = opened.workdir();
    let prog = opened
        .program
        .as_ref()
        .and_then(|p| p.real.parent().map(|d| d.to_path_buf()));
    let whole: Vec<std::path::PathBuf> = wd
        .map(|h| h.real.clone())
        .into_iter()
        .chain(prog.clone())
        .collect();
    private.retain(|t| !whole.contains(t));
    let mut want: Vec<Keep> = Vec::new();
    let keep = |path: std::path::PathBuf, dir: bool, writable: bool| Keep {
        path,
        dir,
        writable,
        fd: None,
    };
    want.extend(wd.map(|h| keep(h.real.clone(), true, true)));
    want.extend(prog.map(|d| keep(d, true, false)));
    want.extend(
        cfg.named
            .iter()
            .map(|n| keep(n.path.clone(), n.dir, n.writable())),
    );
    let all_private = private.clone();
    want.retain(|k| all_private.iter().any(|t| k.path.starts_with(t)));
    // A private directory named itself (/tmp as an argument) is the host's,
    // bound read-only over itself: no tmpfs under it (what it would hold
    // could not be reached, nor measured through the bind).
    private.retain(|t| !want.iter().any(|k| &k.path == t));
    // Writable first among equal paths, then outermost first.
    want.sort_by(|a, b| a.path.cmp(&b.path).then(b.writable.cmp(&a.writable)));
    want.dedup_by(|b, a| a.path == b.path);
    let mut out: Vec<Keep> = Vec::new();
    for k in want {
        // The innermost kept path above k decides whether k shows already.
        let above = out
            .iter()
            .rev()
            .find(|o| o.dir && k.path.starts_with(&o.path));
        match above {
            Some(o) if o.writable || !k.writable => continue,
            _ => out.push(k),
        }
    }
    if descriptors {
        for k in &mut out {
            let h = match wd.filter(|h| h.real == k.path) {
                Some(h) => {
                    h.fd.try_clone()
                        .map_err(|e| SandboxError::Internal(format!("dup: {e}")))?
                }
                None => crate::caller::open_derived(caller, &k.path, k.dir)?.fd,
            };
            k.fd = Some(h);
        }
    }
    Ok((private, out))
}

/// Whether the run gets the bounded working directory (`--disk` > 0): an
/// overlay over its working directory in the mount namespace without a
/// jail, as root (rootless, in a jail, under --chroot_dir or --no-ns, it
/// writes straight into the directory). Returns the working directory as
/// opened before the fork.
pub(crate) fn disk_dir<'a>(
    cfg: &RunConfig,
    rootless: bool,
    opened: &'a Opened,
) -> Option<&'a Held> {
    let iso = &cfg.isolation;
    if cfg.limits.disk_kib == 0
        || rootless
        || !iso.namespaces
        || cfg.chroot_dir.is_some()
        || iso.jail.is_some()
        || !iso.binds.is_empty()
        || !iso.tmpfs.is_empty()
    {
        return None;
    }
    opened
        .workdir()
        .filter(|h| h.real != std::path::Path::new("/"))
}

/// `opened`: the caller's paths opened once ([`crate::caller::open_paths`]);
/// every bind of a path the caller named is made from those descriptors.
pub(crate) fn isolation_plan(
    cfg: &RunConfig,
    paranoid: bool,
    rootless: bool,
    opened: &Opened,
    caller: Option<(u32, u32)>,
    disk: Option<&super::mounts::DiskLayer>,
) -> Result<IsoPlan> {
    use crate::isolate::{mounts::HeldBind, mounts::MountPlan, profiles, Bind, NsPlan};
    let iso = &cfg.isolation;
    // A policy's `jail NAME` line selects a profile when --jail is not given.
    // The policy's `jail` line is already in it (crate::resolve).
    let jail = iso.jail.clone().filter(|_| cfg.chroot_dir.is_none());
    let wants_jail = jail.is_some() || !iso.binds.is_empty() || !iso.tmpfs.is_empty();
    let ns = NsPlan::new(iso, paranoid, wants_jail || iso.namespaces, rootless);
    let hidepid = !ns.has_init();
    if rootless && !ns.has_init() {
        // The PID namespace is what kills a rootless run when safeexec dies
        // (no uid of its own to sweep), keeps the caller's other processes
        // out of its reach (same host uid), and lets it mount a fresh /proc.
        return Err(SandboxError::Usage(
            "--no-ns: a rootless run needs its PID namespace (it has the caller's uid; \
             nothing else ends it if safeexec is killed)"
                .into(),
        ));
    }
    if !wants_jail {
        let mounts = if iso.namespaces && cfg.chroot_dir.is_none() {
            let (private, keep) = kept_paths(cfg, opened, caller, !rootless, private_tmp_dirs())?;
            log::debug!("private tmp: {private:?}, kept: {keep:?}");
            let plan = MountPlan::proc_only(
                hidepid,
                &private,
                cfg.limits.memory_kib,
                keep,
                !rootless,
                disk,
            )
            .map_err(SandboxError::Usage)?;
            Some((plan, private))
        } else {
            None
        };
        let (mounts, private_tmp) = match mounts {
            Some((m, p)) => (Some(m), p),
            None => (None, Vec::new()),
        };
        // With the bounded working directory the child enters it by path
        // after its mounts (its inherited directory is the one below).
        let workdir = match (&mounts, disk) {
            (Some(_), Some(d)) => Some(d.wd.clone()),
            _ => cfg.exec_dir.clone(),
        };
        return Ok(IsoPlan {
            ns,
            mounts,
            workdir,
            private_tmp,
        });
    }
    let binds = match &jail {
        Some(name) => profiles::profile(name)
            .ok_or_else(|| SandboxError::Usage(format!("--jail: unknown profile `{name}`")))?,
        None => Vec::new(),
    };
    let mut held: Vec<HeldBind> = Vec::new();
    let hold = |h: &Held, dst: &std::path::Path, writable: bool| -> Result<HeldBind> {
        Ok(HeldBind {
            bind: Bind {
                src: h.real.clone(),
                dst: dst.to_path_buf(),
                writable,
            },
            fd: h
                .fd
                .try_clone()
                .map_err(|e| SandboxError::Internal(format!("dup: {e}")))?,
            is_dir: h.is_dir,
        })
    };
    let mut tmpfs = iso.tmpfs.clone();
    // The working directory: --exec_dir writable, else the caller's
    // directory read-only with a fresh /tmp for scratch files; bound from
    // the descriptor opened before, at its canonical path.
    let workdir = match (&cfg.exec_dir, &opened.exec_dir, &opened.cwd) {
        (Some(_), Some(h), _) => {
            held.push(hold(h, &h.real, true)?);
            h.real.clone()
        }
        (None, _, Some(h)) => {
            let d = h.real.clone();
            if d != std::path::Path::new("/") {
                held.push(hold(h, &d, false)?);
            }
            if !d.starts_with("/tmp") && !tmpfs.iter().any(|t| t == std::path::Path::new("/tmp")) {
                tmpfs.push("/tmp".into());
            }
            d
        }
        _ => {
            return Err(SandboxError::Internal(
                "the working directory was not opened".into(),
            ))
        }
    };
    for (b, h) in iso.binds.iter().zip(&opened.binds) {
        held.push(hold(h, &b.dst, b.writable)?);
    }
    // The program itself must be inside: its install prefix for a runtime
    // profile, the file alone otherwise.
    let inside = |r: &std::path::Path| {
        binds
            .iter()
            .any(|b| r.starts_with(&b.src) && b.src == b.dst)
            || held
                .iter()
                .any(|h| h.is_dir && r.starts_with(&h.bind.src) && h.bind.src == h.bind.dst)
    };
    if let Some(p) = opened.program.as_ref().filter(|p| !inside(&p.real)) {
        let prefix = match jail.as_deref() {
            Some("python3") | Some("java") => profiles::program_prefix(&p.real, &binds)
                .and_then(|d| crate::caller::open_derived_dir(caller, &d).ok()),
            _ => None,
        };
        let h = prefix.as_ref().unwrap_or(p);
        log::debug!("jail: binding the program's {} read-only", h.real.display());
        held.push(hold(h, &h.real, false)?);
    }
    // What the command line names (arguments, class-path entries,
    // --allow-read / --allow-write) is bound too, at the same path:
    // read-only, --allow-write writable; opened by its canonical path with
    // the caller's rights, no symlink followed.
    for n in &cfg.named {
        let covered = binds
            .iter()
            .map(|b| (b, b.writable))
            .chain(held.iter().map(|h| (&h.bind, h.bind.writable)))
            .any(|(b, w)| b.src == b.dst && n.path.starts_with(&b.src) && (w || !n.writable()));
        if covered || n.what == crate::config::NamedWhat::ExecDir {
            continue;
        }
        log::debug!("jail: binding the named {}", n.path.display());
        let h = crate::caller::open_derived(caller, &n.path, n.dir)?;
        held.push(hold(&h, &h.real, n.writable())?);
    }
    let mut spec = profiles::expand(binds, &[], &tmpfs, hidepid).map_err(SandboxError::Usage)?;
    spec.held = held;
    // Each tmpfs of the jail is RAM of the run: the kernel bounds it at
    // --mem, and the watchdog counts what it holds (private_tmp).
    spec.tmpfs_kib = cfg.limits.memory_kib;
    log::debug!("jail: {spec:?}");
    Ok(IsoPlan {
        ns,
        mounts: Some(MountPlan::jail(&spec, rootless).map_err(SandboxError::Usage)?),
        workdir: Some(workdir),
        private_tmp: spec.tmpfs.clone(),
    })
}

/// For a caller other than root whose run got no cgroup (cgroups not
/// mounted or not writable here): an address-space limit, in bytes, so
/// that the kernel still bounds the run's memory while the caller keeps
/// safeexec stopped. Generous (twice --mem, at least --mem + 64 MiB)
/// because address space is not memory; it also bounds page tables (at
/// most 1/512 of it). None when --space already sets one, for root, and
/// when the kernel's cgroup limit applies.
pub(crate) fn stopped_memory_backstop(
    cfg: &RunConfig,
    unprivileged: bool,
    cgroup: bool,
) -> Option<u64> {
    let l = &cfg.limits;
    if !unprivileged || cgroup || l.space_kib > 0 || l.memory_kib == 0 {
        return None;
    }
    let kib = l
        .memory_kib
        .saturating_mul(2)
        .max(l.memory_kib + (64 << 10));
    log::debug!(
        "no cgroup for this caller's run: RLIMIT_AS {kib} KiB bounds its memory if safeexec is stopped"
    );
    Some(kib.saturating_mul(1024))
}

/// `extra`: processes of the run's uid that are not the program's (the
/// rootless init).
pub(crate) fn rlimits(cfg: &RunConfig, extra: u64) -> Vec<(libc::__rlimit_resource_t, u64, u64)> {
    let l = &cfg.limits;
    let kib = |v: u64| v.saturating_mul(1024);
    let inf = libc::RLIM_INFINITY;
    // CPU: a per-process backstop one second above the whole-run limit, which
    // the watchdog enforces with sub-second precision.
    let cpu = l.cpu.as_secs_f64().ceil() as u64 + 1;
    let mut v = vec![
        (libc::RLIMIT_CPU, cpu, cpu + 1),
        (libc::RLIMIT_FSIZE, kib(l.fsize_kib), kib(l.fsize_kib)),
        (libc::RLIMIT_NOFILE, l.nfile, l.nfile),
        (libc::RLIMIT_CORE, kib(l.core_kib), kib(l.core_kib)),
        // The uid is unique to the run, so this counts the run's processes
        // and threads: the program itself plus --nproc more. Rootless, the
        // count is per (user namespace, uid) since Linux 5.14: the run's too.
        (libc::RLIMIT_NPROC, l.nproc + 1 + extra, l.nproc + 1 + extra),
    ];
    let stack = if l.stack_kib == 0 {
        inf
    } else {
        kib(l.stack_kib)
    };
    v.push((libc::RLIMIT_STACK, stack, stack));
    if l.space_kib > 0 {
        v.push((libc::RLIMIT_AS, kib(l.space_kib), kib(l.space_kib)));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_is_sized_above_the_memory_limit_and_counts_the_init() {
        let mut l = crate::config::Limits {
            memory_kib: 65_536,
            nproc: 3,
            ..Default::default()
        };
        assert_eq!(cgroup_size(&l, false), (65_536 + 8192, 4));
        l.memory_kib = 1 << 20;
        assert_eq!(cgroup_size(&l, true), ((1 << 20) + (1 << 20) / 10, 5));
    }

    #[test]
    fn rlimit_as_only_for_callers_without_a_cgroup() {
        let mut cfg = RunConfig::new("/bin/true");
        cfg.limits.memory_kib = 65536;
        // Twice --mem, at least --mem + 64 MiB, in bytes.
        assert_eq!(
            stopped_memory_backstop(&cfg, true, false),
            Some(131072 * 1024)
        );
        cfg.limits.memory_kib = 1 << 20;
        assert_eq!(
            stopped_memory_backstop(&cfg, true, false),
            Some((2 << 20) * 1024)
        );
        cfg.limits.memory_kib = 1024;
        assert_eq!(
            stopped_memory_backstop(&cfg, true, false),
            Some((1024 + 65536) * 1024)
        );
        // Root, a run with a cgroup, or --space given: none.
        assert_eq!(stopped_memory_backstop(&cfg, false, false), None);
        assert_eq!(stopped_memory_backstop(&cfg, true, true), None);
        cfg.limits.space_kib = 4096;
        assert_eq!(stopped_memory_backstop(&cfg, true, false), None);
    }

    #[test]
    fn rlimits_follow_the_limits() {
        let mut cfg = RunConfig::new("/bin/true");
        cfg.limits.nproc = 2;
        cfg.limits.space_kib = 0;
        let r = rlimits(&cfg, 1);
        let get = |res| {
            r.iter()
                .find(|(k, _, _)| *k == res)
                .map(|(_, s, h)| (*s, *h))
        };
        assert_eq!(get(libc::RLIMIT_NPROC), Some((4, 4)));
        assert_eq!(
            get(libc::RLIMIT_CPU),
            Some((2, 3)),
            "one second above --cpu 1"
        );
        assert_eq!(
            get(libc::RLIMIT_AS),
            None,
            "--space 0: no address-space limit"
        );
        assert_eq!(get(libc::RLIMIT_NOFILE), Some((64, 64)));
    }
}
