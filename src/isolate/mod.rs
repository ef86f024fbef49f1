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
pub(crate) mod plan;
pub mod profiles;

pub use crate::config::{Bind, IsolationConfig, Net};

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
