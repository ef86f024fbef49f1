//! The caller: who started safeexec, acting with its rights, and every
//! bound the administrator's configuration ([`crate::adminconf`]) puts on
//! what a caller other than root may ask for. Root is not bound (a bound
//! root exceeds is logged).
//!
//! The bounds that depend only on the request (policy, trace, network,
//! limits, the run's ids) are checked by [`check_request`] when the run is
//! resolved ([`crate::resolve`]); the directory and program bounds
//! (`open_paths`) open the files with the caller's rights just before
//! the fork, once: the descriptors opened are the ones the run uses.

use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

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
/// allow_full_trace, allow_net_host, the limits' maxima, and that a caller
/// does not choose the run's gid (its uid is taken from uid_min..uid_max
/// when the run starts, [`crate::runuid`]).
/// `caller` None (root): nothing is refused; limits above the maxima are
/// logged.
pub fn check_request(
    cfg: &RunConfig,
    conf: &AdminConf,
    policy: Option<&PolicyChoice>,
    traced: bool,
    caller: Option<(u32, u32)>,
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
    // The run's uid and gid are not the caller's to choose: safeexec takes
    // a free uid of uid_min..uid_max (crate::runuid), its gid the same
    // number. --uidplus is accepted (classic command lines) and unused.
    if cfg.gid.is_some() {
        return Err(refused(
            conf,
            "--gid: the run's gid is chosen by safeexec for callers other than root \
             (the same number as its uid, from uid_min..uid_max)",
        ));
    }
    if cfg.uidplus != crate::config::DEFAULT_UIDPLUS {
        log::debug!(
            "--uidplus {} is not used for callers other than root: the run's uid comes \
             from uid_min..uid_max = {}..{}",
            cfg.uidplus,
            conf.uid_min,
            conf.uid_max
        );
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

/// A file or directory opened once (O_PATH) for a run: every later use
/// goes through `fd`; `real` is its canonical path, read back from the
/// descriptor (`/proc/self/fd/N`), never from the path string again.
#[derive(Debug)]
pub(crate) struct Held {
    pub fd: OwnedFd,
    pub real: PathBuf,
    /// (st_dev, st_ino) of the opened object.
    pub id: (u64, u64),
    pub is_dir: bool,
}

impl Held {
    fn new(fd: OwnedFd) -> std::io::Result<Held> {
        let real = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))?;
        let md = File::from(fd.try_clone()?).metadata()?;
        Ok(Held {
            fd,
            real,
            id: (md.dev(), md.ino()),
            is_dir: md.is_dir(),
        })
    }
}

/// Every path of a run that its caller named, opened once before the fork
/// (see [`open_paths`]).
#[derive(Debug, Default)]
pub(crate) struct Opened {
    /// --chroot_dir: the child enters it through `/proc/self/fd/N`.
    pub chroot: Option<OwnedFd>,
    /// --exec_dir (inside the chroot when there is one).
    pub exec_dir: Option<Held>,
    /// safeexec's own working directory (the caller's) when there is no
    /// --exec_dir and no chroot: the run starts there.
    pub cwd: Option<Held>,
    /// The program, as execve will find it (None: root, and it cannot be
    /// opened; the child's execve then reports it).
    pub program: Option<Held>,
    /// --bind / --ro-bind sources, in the order of the configuration.
    pub binds: Vec<Held>,
}

impl Opened {
    /// The run's working directory as opened: `--exec_dir`, else
    /// safeexec's own (None inside a chroot without `--exec_dir`).
    pub fn workdir(&self) -> Option<&Held> {
        self.exec_dir.as_ref().or(self.cwd.as_ref())
    }
}

/// Opens `path` (relative to `dirfd`, or the current directory) for a run:
/// O_PATH, no magic links (`/proc/self/fd/N/..` tricks), `extra` resolve
/// flags, with the file-system rights in force (the caller's inside
/// [`sys::setuid::CallerFs`]).
fn open_held(
    dirfd: Option<&OwnedFd>,
    path: &Path,
    directory: bool,
    extra: u64,
) -> std::io::Result<Held> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    let fd = sys::fdops::open_path(
        dirfd.map(|f| f.as_raw_fd()),
        &c,
        directory,
        sys::fdops::RESOLVE_NO_MAGICLINKS | extra,
    )
    .map_err(|e| std::io::Error::from_raw_os_error(e as i32))?;
    Held::new(fd)
}

/// Opens a directory derived from a checked path (the program's install
/// prefix, its directory), by its canonical path with the caller's rights,
/// following no symlink at all: a component swapped for a symlink since
/// is refused (ELOOP). The caller must be able to search it.
pub(crate) fn open_derived_dir(caller: Option<(u32, u32)>, dir: &Path) -> Result<Held> {
    open_derived(caller, dir, true)
}

/// Opens a file or directory by a canonical path resolved before with the
/// caller's rights (a path the command line names, [`crate::named`]), with
/// the caller's rights again, following no symlink at all: a component
/// swapped for a symlink since is refused (ELOOP). The caller must be able
/// to search a directory, to read a file.
pub(crate) fn open_derived(caller: Option<(u32, u32)>, path: &Path, dir: bool) -> Result<Held> {
    let _fs = sys::setuid::CallerFs::enter(caller)
        .map_err(|e| SandboxError::sys("setfsuid(caller)", e))?;
    let gone = |_| SandboxError::Inaccessible {
        what: if dir { "directory" } else { "file" },
        path: path.to_path_buf(),
        code: crate::error::EXIT_SETUP,
    };
    let h = open_held(None, path, dir, sys::fdops::RESOLVE_NO_SYMLINKS).map_err(gone)?;
    if caller.is_some() {
        let mode = if dir { libc::X_OK } else { libc::R_OK };
        sys::setuid::access_fd(&h.fd, mode).map_err(|e| gone(std::io::Error::from(e)))?;
    }
    Ok(h)
}

/// The paths of a run, each opened once, before the fork, and used from
/// then on only through its descriptor.
///
/// A caller other than root: with its rights (fsuid/fsgid), the chroot,
/// working directory and bind sources searchable / readable (writable for
/// `--bind`) by it, their canonical paths (read from the descriptor) under
/// allowed_dirs, the program a regular file it may execute; the program and
/// working directory resolved inside the chroot as the run will see them.
/// Root: the chroot or working directory must exist; a missing program is
/// left to the child's execve; a missing bind source is an error.
pub(crate) fn open_paths(
    cfg: &RunConfig,
    conf: &AdminConf,
    caller: Option<(u32, u32)>,
) -> Result<Opened> {
    let _fs = sys::setuid::CallerFs::enter(caller)
        .map_err(|e| SandboxError::sys("setfsuid(caller)", e))?;
    let checked = caller.is_some();
    let gone = |what: &'static str, path: &Path| SandboxError::Inaccessible {
        what,
        path: path.to_path_buf(),
        code: crate::error::EXIT_SETUP,
    };
    // Root's own paths: the errors it always had.
    let root_err = |what: &'static str, path: &Path, e: std::io::Error| SandboxError::Path {
        what,
        path: path.to_path_buf(),
        source: e,
    };
    // A directory outside any chroot: opened, searchable, allowed (the
    // canonical path of the descriptor, not of the string).
    let host_dir = |opt: &str, what: &'static str, dir: &Path| -> Result<Held> {
        let h = open_held(None, dir, true, 0).map_err(|e| {
            if checked {
                gone(what, dir)
            } else {
                root_err(what, dir, e)
            }
        })?;
        if checked {
            sys::setuid::access_fd(&h.fd, libc::X_OK).map_err(|_| gone(what, dir))?;
            if !conf.dir_allowed(&h.real) {
                return Err(conf.not_allowed(opt, dir));
            }
        }
        Ok(h)
    };
    let mut out = Opened::default();
    if let Some(dir) = &cfg.chroot_dir {
        out.chroot = Some(host_dir("--chroot_dir", "chroot directory", dir)?.fd);
    }
    let in_root = out.chroot.is_some();
    if let Some(dir) = &cfg.exec_dir {
        out.exec_dir = Some(if in_root {
            let h = open_held(out.chroot.as_ref(), dir, true, sys::fdops::RESOLVE_IN_ROOT)
                .map_err(|e| {
                    if checked {
                        gone("working directory", dir)
                    } else {
                        root_err("working directory", dir, e)
                    }
                })?;
            if checked {
                sys::setuid::access_fd(&h.fd, libc::X_OK)
                    .map_err(|_| gone("working directory", dir))?;
            }
            h
        } else {
            host_dir("--exec_dir", "working directory", dir)?
        });
    } else if !in_root {
        // The caller's own working directory (where a relative program is).
        out.cwd = open_held(None, Path::new("."), true, 0).ok();
    }
    // Bind sources: the caller must be able to read them (and write them,
    // for a writable bind), and they must lie under allowed_dirs.
    for b in &cfg.isolation.binds {
        let h = open_held(None, &b.src, false, 0).map_err(|e| {
            if checked {
                gone("bind source", &b.src)
            } else {
                SandboxError::Usage(format!("bind source {}: {e}", b.src.display()))
            }
        })?;
        if checked {
            let mode = libc::R_OK | if b.writable { libc::W_OK } else { 0 };
            sys::setuid::access_fd(&h.fd, mode).map_err(|_| gone("bind source", &b.src))?;
            if !conf.dir_allowed(&h.real) {
                let opt = if b.writable { "--bind" } else { "--ro-bind" };
                return Err(conf.not_allowed(opt, &b.src));
            }
        }
        out.binds.push(h);
    }
    // The program, as execve will find it: inside a chroot from its root
    // (relative: from the working directory there), never leaving it;
    // otherwise relative to the working directory or the current one.
    let (base, prog_path, resolve) = match (&cfg.exec_dir, in_root, cfg.program.is_relative()) {
        (Some(d), true, true) => (
            out.chroot.as_ref(),
            d.join(&cfg.program),
            sys::fdops::RESOLVE_IN_ROOT,
        ),
        (_, true, _) => (
            out.chroot.as_ref(),
            Path::new("/").join(&cfg.program),
            sys::fdops::RESOLVE_IN_ROOT,
        ),
        (Some(_), false, true) => (out.exec_dir.as_ref().map(|h| &h.fd), cfg.program.clone(), 0),
        _ => (None, cfg.program.clone(), 0),
    };
    match open_held(base, &prog_path, false, resolve) {
        Ok(h) => {
            if checked
                && (!File::from(
                    h.fd.try_clone()
                        .map_err(|e| SandboxError::Internal(e.to_string()))?,
                )
                .metadata()
                .map(|m| m.is_file())
                .unwrap_or(false)
                    || sys::setuid::access_fd(&h.fd, libc::X_OK).is_err())
            {
                return Err(gone("program", &cfg.program));
            }
            out.program = Some(h);
        }
        Err(_) if checked => return Err(gone("program", &cfg.program)),
        Err(_) => {}
    }
    Ok(out)
}
