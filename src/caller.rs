//! The caller: who started safeexec, acting with its rights, and every
//! bound the administrator's configuration ([`crate::adminconf`]) puts on
//! what a caller other than root may ask for. Root is not bound (a bound
//! root exceeds is logged).
//!
//! The bounds that depend only on the request (policy, trace, network,
//! limits, the run's ids) are checked by [`check_request`] when the run is
//! resolved ([`crate::resolve`]); the directory and program bounds
//! (`check_as_caller`) open the files with the caller's rights just before
//! the fork, so the descriptors opened are the ones the run uses.

use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use crate::adminconf::AdminConf;
use crate::config::RunConfig;
use crate::error::{Result, SandboxError};
use crate::sys;

/// The caller when it is not root (a setuid start): its real uid and gid,
/// whose rights apply to every file and directory it names. None when
/// safeexec runs as root, and in rootless mode, where safeexec has no
/// rights but the caller's anyway.
pub fn unprivileged_caller() -> Option<(u32, u32)> {
    if !sys::is_root() {
        return None;
    }
    let (uid, gid) = sys::setuid::real_ids();
    (uid != 0).then_some((uid, gid))
}

/// Rootless mode: started by an ordinary user without a setuid bit (real
/// and effective ids equal, effective uid not 0). A run then gets an
/// unprivileged user namespace instead of a uid of its own.
pub fn is_rootless() -> bool {
    !sys::is_root() && !sys::setuid::is_setid()
}

/// Started through a set-user-id or set-group-id bit (real and effective
/// ids differ): the environment must not steer the privileged code.
pub fn is_setid() -> bool {
    sys::setuid::is_setid()
}

/// Runs `f` with the caller's file-system rights (a setuid start), so a
/// file the caller names is read as the caller would read it.
pub fn as_caller<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    let _fs = sys::setuid::CallerFs::enter(unprivileged_caller())
        .map_err(|e| SandboxError::sys("setfsuid(caller)", e))?;
    f()
}

/// A refusal naming the configuration it comes from.
fn refused(conf: &AdminConf, m: impl std::fmt::Display) -> SandboxError {
    SandboxError::Refused(format!("{m} ({})", conf.origin()))
}

/// The policy a run was asked to use, as `require_policy` judges it: the
/// name or path given, and whether it is a shipped policy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PolicyChoice {
    pub name: String,
    pub builtin: bool,
}

/// Every bound that depends only on the request: require_policy,
/// allow_full_trace, allow_net_host, the limits' maxima and, for `ids`
/// (the run's uid and gid, None in rootless mode), uid_min..uid_max.
/// `caller` None (root): nothing is refused; limits above the maxima are
/// logged.
pub fn check_request(
    cfg: &RunConfig,
    conf: &AdminConf,
    policy: Option<&PolicyChoice>,
    traced: bool,
    caller: Option<(u32, u32)>,
    ids: Option<(u32, u32)>,
) -> Result<()> {
    check_choices(conf, policy, traced, cfg.isolation.net, caller)?;
    let mut over = conf.limits_over(&cfg.limits);
    let iso = &cfg.isolation;
    over.extend(conf.counts_over(iso.tmpfs.len(), iso.binds.len(), cfg.args.len()));
    if caller.is_none() {
        if !over.is_empty() {
            log::debug!(
                "root exceeds the administrator's bounds: {}",
                over.join("; ")
            );
        }
        return Ok(());
    }
    if !over.is_empty() {
        return Err(refused(conf, over.join("; ")));
    }
    if let Some((uid, gid)) = ids {
        let me = std::process::id();
        for (what, id) in [("uid", uid), ("gid", gid)] {
            if !conf.id_in_range(id) {
                return Err(refused(
                    conf,
                    format!(
                        "the run's {what} {id} (--uidplus {} + pid {me}{}) is outside \
                         uid_min..uid_max = {}..{}",
                        cfg.uidplus,
                        if what == "gid" && cfg.gid.is_some() {
                            ", or --gid"
                        } else {
                            ""
                        },
                        conf.uid_min,
                        conf.uid_max,
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The bounds on what the run was asked to use: require_policy,
/// allow_full_trace (`traced`: a trace will be written), allow_net_host.
pub fn check_choices(
    conf: &AdminConf,
    policy: Option<&PolicyChoice>,
    traced: bool,
    net: crate::isolate::Net,
    caller: Option<(u32, u32)>,
) -> Result<()> {
    if caller.is_none() {
        return Ok(());
    }
    conf.policy_allowed(policy.map(|p| (p.name.as_str(), p.builtin)))
        .map_err(|m| refused(conf, m))?;
    if traced && !conf.allow_full_trace {
        return Err(refused(
            conf,
            "--trace: the administrator does not allow it (allow_full_trace)",
        ));
    }
    if net == crate::isolate::Net::Host && !conf.allow_net_host {
        return Err(refused(
            conf,
            "--net host: the administrator does not allow it (allow_net_host)",
        ));
    }
    Ok(())
}

/// Root: the chroot (or else the working directory) must be a directory.
pub(crate) fn check_dir(what: &'static str, dir: &Path) -> Result<()> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(SandboxError::Path {
            what,
            path: dir.to_path_buf(),
            source: std::io::Error::from_raw_os_error(libc::ENOTDIR),
        }),
        Err(e) => Err(SandboxError::Path {
            what,
            path: dir.to_path_buf(),
            source: e,
        }),
    }
}

/// The directories of a run, checked for whoever started it. Root: the
/// chroot or working directory must exist. Another caller: see
/// [`check_as_caller`]. Returns the opened chroot directory (to enter
/// through `/proc/self/fd`, so a path swapped after the check cannot move it).
pub(crate) fn check_dirs(
    cfg: &RunConfig,
    conf: &AdminConf,
    caller: Option<(u32, u32)>,
) -> Result<Option<OwnedFd>> {
    match caller {
        None => {
            if let Some(dir) = &cfg.chroot_dir {
                check_dir("chroot directory", dir)?;
            } else if let Some(dir) = &cfg.exec_dir {
                check_dir("working directory", dir)?;
            }
            Ok(None)
        }
        Some(ids) => check_as_caller(cfg, conf, ids),
    }
}

/// For a caller other than root: the chroot, the working directory and the
/// program are opened with the caller's rights (O_PATH, the program and
/// working directory resolved inside the chroot as the run will see them),
/// must be searchable / executable by the caller, and the directories must
/// lie under allowed_dirs. Returns the opened chroot directory.
pub(crate) fn check_as_caller(
    cfg: &RunConfig,
    conf: &AdminConf,
    ids: (u32, u32),
) -> Result<Option<OwnedFd>> {
    let _fs = sys::setuid::CallerFs::enter(Some(ids))
        .map_err(|e| SandboxError::sys("setfsuid(caller)", e))?;
    let gone = |what: &'static str, path: &Path| SandboxError::Inaccessible {
        what,
        path: path.to_path_buf(),
        code: crate::error::EXIT_SETUP,
    };
    let not_allowed = |opt: &str, path: &Path| {
        SandboxError::Refused(format!(
            "{opt} {}: not under the administrator's allowed_dirs ({}; {})",
            path.display(),
            if conf.allowed_dirs.is_empty() {
                "none".to_string()
            } else {
                conf.allowed_dirs
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            conf.origin()
        ))
    };
    // A directory outside any chroot: opened, searchable, allowed.
    let host_dir = |opt: &str, what: &'static str, dir: &Path| -> Result<OwnedFd> {
        let fd = sys::setuid::open_path_at(None, dir, true, false).map_err(|_| gone(what, dir))?;
        sys::setuid::access_fd(&fd, libc::X_OK).map_err(|_| gone(what, dir))?;
        let canonical = std::fs::canonicalize(dir).map_err(|_| gone(what, dir))?;
        if !conf.dir_allowed(&canonical) {
            return Err(not_allowed(opt, dir));
        }
        Ok(fd)
    };
    let root = match &cfg.chroot_dir {
        Some(dir) => Some(host_dir("--chroot_dir", "chroot directory", dir)?),
        None => None,
    };
    let root_fd = root.as_ref().map(|f| f.as_raw_fd());
    let in_root = root.is_some();
    if let Some(dir) = &cfg.exec_dir {
        if in_root {
            let fd = sys::setuid::open_path_at(root_fd, dir, true, true)
                .map_err(|_| gone("working directory", dir))?;
            sys::setuid::access_fd(&fd, libc::X_OK).map_err(|_| gone("working directory", dir))?;
        } else {
            host_dir("--exec_dir", "working directory", dir)?;
        }
    }
    // Bind sources: the caller must be able to read them (and write them,
    // for a writable bind), and they must lie under allowed_dirs.
    for b in &cfg.isolation.binds {
        let fd = sys::setuid::open_path_at(None, &b.src, false, false)
            .map_err(|_| gone("bind source", &b.src))?;
        let mode = libc::R_OK | if b.writable { libc::W_OK } else { 0 };
        sys::setuid::access_fd(&fd, mode).map_err(|_| gone("bind source", &b.src))?;
        let canonical = std::fs::canonicalize(&b.src).map_err(|_| gone("bind source", &b.src))?;
        if !conf.dir_allowed(&canonical) {
            let opt = if b.writable { "--bind" } else { "--ro-bind" };
            return Err(not_allowed(opt, &b.src));
        }
    }
    // The program, as execve will find it: relative to the working
    // directory, or to the chroot's root, or to the current directory.
    let prog = match (&cfg.exec_dir, cfg.program.is_relative()) {
        (Some(d), true) => d.join(&cfg.program),
        (None, true) if in_root => Path::new("/").join(&cfg.program),
        _ => cfg.program.clone(),
    };
    let fd = sys::setuid::open_path_at(root_fd, &prog, false, in_root)
        .map_err(|_| gone("program", &cfg.program))?;
    let is_file = File::from(
        fd.try_clone()
            .map_err(|e| SandboxError::Internal(e.to_string()))?,
    )
    .metadata()
    .map(|m| m.is_file())
    .unwrap_or(false);
    if !is_file || sys::setuid::access_fd(&fd, libc::X_OK).is_err() {
        return Err(gone("program", &cfg.program));
    }
    Ok(root)
}
