//! Isolation of a run beyond the uid: namespaces (network, PID, IPC, UTS,
//! mount), a jail root built from bind mounts, and cgroup accounting.
//!
//! Everything here is prepared in the supervisor before fork: the child
//! only walks the plans ([`mounts::MountPlan`], cgroup paths) without
//! allocating.
//!
//! Design of the PID namespace (see docs/isolation.md): in classic mode the
//! supervisor clones its child straight into new PID/IPC/UTS/mount (and
//! network) namespaces, so that child is pid 1 there: a tiny init that mounts
//! the jail, forks the program (pid 2, normal signal semantics), forwards
//! the stop signals to it, reaps everything, and reports the program's wait
//! status over a pipe before it exits (its exit kills whatever is left in
//! the namespace). Paranoid runs get the same PID namespace: the supervisor
//! seizes the init's child (the program, pid 2), so no pid outside the run
//! can be named, signalled or probed (sched_getaffinity, prlimit64 answer
//! ESRCH). Rootless runs (no root, no setuid bit) add CLONE_NEWUSER.

pub mod cgroup;
pub mod mounts;
pub mod profiles;

use std::path::PathBuf;

/// `--net`: the program's network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Net {
    /// A new, empty network namespace (only a down loopback): nothing is reachable.
    #[default]
    None,
    /// The host's network.
    Host,
}

/// One `--bind` / `--ro-bind`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bind {
    pub src: PathBuf,
    pub dst: PathBuf,
    pub writable: bool,
}

impl Bind {
    /// Parses `SRC[:DST]`.
    pub fn parse(s: &str, writable: bool) -> Result<Bind, String> {
        let (src, dst) = match s.split_once(':') {
            Some((a, b)) => (a, b),
            None => (s, s),
        };
        if !src.starts_with('/') || !dst.starts_with('/') {
            return Err(format!("`{s}`: SRC and DST must be absolute paths"));
        }
        if dst.split('/').any(|c| c == "..") {
            return Err(format!("`{s}`: DST may not contain `..`"));
        }
        Ok(Bind {
            src: src.into(),
            dst: dst.into(),
            writable,
        })
    }
}

/// What isolation a run asks for (plain data, validated with the config).
#[derive(Debug, Clone, PartialEq)]
pub struct IsolationConfig {
    pub net: Net,
    /// PID, IPC and UTS namespaces (and a mount namespace with a fresh /proc).
    pub namespaces: bool,
    /// A shipped jail profile (`c`, `python3`, `java`).
    pub jail: Option<String>,
    pub binds: Vec<Bind>,
    pub tmpfs: Vec<PathBuf>,
    /// Per-run cgroups for whole-tree accounting (when root and mounted).
    pub cgroups: bool,
    /// Classic mode: the default seccomp filter (src/policy/baseline.rs);
    /// `--no-filter` turns it off.
    pub classic_filter: bool,
}

impl Default for IsolationConfig {
    fn default() -> Self {
        IsolationConfig {
            net: Net::None,
            namespaces: true,
            jail: None,
            binds: Vec::new(),
            tmpfs: Vec::new(),
            cgroups: true,
            classic_filter: true,
        }
    }
}

impl IsolationConfig {
    /// No namespaces, no jail, no cgroups: the classic behaviour.
    pub fn none() -> Self {
        IsolationConfig {
            net: Net::Host,
            namespaces: false,
            cgroups: false,
            ..Default::default()
        }
    }

    /// Whether the run gets a jail root built from binds.
    pub fn has_jail(&self) -> bool {
        self.jail.is_some() || !self.binds.is_empty() || !self.tmpfs.is_empty()
    }
}

/// The namespaces of one run, decided before fork.
#[derive(Debug, Clone, Copy, Default)]
pub struct NsPlan {
    /// Flags for clone(2) of the supervisor's child (CLONE_NEWPID among
    /// them): the child is the namespace's init. CLONE_NEWUSER in rootless
    /// mode: the child then waits until the supervisor has written its maps.
    pub clone_flags: libc::c_int,
    /// Flags for unshare(2) in the child when there is no init (--no-ns).
    pub unshare_flags: libc::c_int,
}

impl NsPlan {
    /// `rootless`: the run gets a user namespace of its own. With
    /// namespaces, every run (paranoid ones included) gets a PID namespace.
    pub fn new(iso: &IsolationConfig, _paranoid: bool, mount_ns: bool, rootless: bool) -> NsPlan {
        let mut flags = 0;
        if iso.net == Net::None {
            flags |= libc::CLONE_NEWNET;
        }
        if iso.namespaces {
            flags |= libc::CLONE_NEWIPC | libc::CLONE_NEWUTS;
        }
        if mount_ns {
            flags |= libc::CLONE_NEWNS;
        }
        let user = if rootless { libc::CLONE_NEWUSER } else { 0 };
        if iso.namespaces {
            NsPlan {
                clone_flags: flags | libc::CLONE_NEWPID | user,
                unshare_flags: 0,
            }
        } else {
            NsPlan {
                clone_flags: user,
                unshare_flags: flags,
            }
        }
    }

    /// The child is pid 1 of a new PID namespace (and runs the init).
    pub fn has_init(&self) -> bool {
        self.clone_flags & libc::CLONE_NEWPID != 0
    }

    /// Rootless: the child is in a new user namespace.
    pub fn has_userns(&self) -> bool {
        self.clone_flags & libc::CLONE_NEWUSER != 0
    }
}
