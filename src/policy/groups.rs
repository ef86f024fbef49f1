//! Named groups of system calls (`@memory`, `@network`, ...).
//!
//! Members are written by name for every architecture; names the `syscalls`
//! crate does not know on the build's architecture (x86_64-only legacy calls
//! such as `open` or `stat` on aarch64) are skipped when a group is expanded.
//! docs/policy.md lists the members; a unit test keeps the two in step.

use std::str::FromStr;

use syscalls::Sysno;

/// (name without `@`, one-line description, members).
#[rustfmt::skip]
pub const GROUPS: &[(&str, &str, &[&str])] = &[
    (
        "basic-io",
        "read and write open descriptors (no ioctl)",
        &[
            "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev",
            "preadv2", "pwritev2", "lseek", "close", "close_range", "dup", "dup2", "dup3",
            "fcntl",
        ],
    ),
    (
        "file-read",
        "open, inspect and list files (path rules decide what may be read)",
        &[
            "open", "openat", "openat2", "stat", "lstat", "fstat", "newfstatat", "statx",
            "access", "faccessat", "faccessat2", "readlink", "readlinkat", "getdents",
            "getdents64", "getcwd", "chdir", "fchdir", "statfs", "fstatfs", "fadvise64",
            "readahead", "getxattr", "lgetxattr", "fgetxattr", "listxattr", "llistxattr",
            "flistxattr", "sendfile",
        ],
    ),
    (
        "file-write",
        "create, change and remove files (path rules decide where)",
        &[
            "creat", "mkdir", "mkdirat", "rmdir", "unlink", "unlinkat", "rename", "renameat",
            "renameat2", "link", "linkat", "symlink", "symlinkat", "chmod", "fchmod", "fchmodat",
            "fchmodat2", "chown", "fchown", "fchownat", "lchown", "truncate", "ftruncate",
            "utime", "utimes", "futimesat", "utimensat", "fsync", "fdatasync", "sync_file_range",
            "fallocate", "flock", "umask", "copy_file_range", "mknod", "mknodat", "setxattr",
            "lsetxattr", "fsetxattr", "removexattr", "lremovexattr", "fremovexattr",
        ],
    ),
    (
        "memory",
        "map, protect and release memory",
        &[
            "brk", "mmap", "munmap", "mprotect", "mremap", "madvise", "msync", "mincore", "mlock",
            "mlock2", "munlock", "mlockall", "munlockall", "pkey_mprotect", "pkey_alloc",
            "pkey_free", "membarrier", "mseal", "map_shadow_stack",
        ],
    ),
    (
        "process",
        "create, run, wait for and signal processes",
        &[
            "fork", "vfork", "clone", "clone3", "execve", "execveat", "wait4", "waitid", "exit",
            "exit_group", "kill", "tgkill", "tkill", "getpid", "getppid", "gettid", "getpgid",
            "getpgrp", "getsid", "setpgid", "setsid", "pidfd_open", "pidfd_send_signal",
        ],
    ),
    (
        "info",
        "read-only facts about the process and the machine",
        &[
            "getpid", "getppid", "gettid", "getuid", "geteuid", "getgid", "getegid",
            "getresuid", "getresgid", "getgroups", "getpgrp", "getpgid", "getsid", "uname",
            "sysinfo", "getrlimit", "prlimit64", "getrusage", "times", "sched_getaffinity",
            "sched_getparam", "sched_getscheduler", "sched_get_priority_max",
            "sched_get_priority_min", "sched_yield", "getcpu", "getpriority",
        ],
    ),
    (
        "threads",
        "threads of one process and their synchronisation",
        &[
            "clone", "futex", "futex_waitv", "set_robust_list", "get_robust_list", "rseq",
            "set_tid_address", "gettid", "tgkill", "tkill", "sched_yield", "sched_getaffinity",
            "exit", "membarrier", "madvise",
        ],
    ),
    (
        "signals",
        "signal handlers, masks and waiting",
        &[
            "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigsuspend", "rt_sigpending",
            "rt_sigtimedwait", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "sigaltstack",
            "signalfd", "signalfd4", "pause", "restart_syscall",
        ],
    ),
    (
        "time",
        "clocks, sleeping and timers",
        &[
            "clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday",
            "time", "getitimer", "setitimer", "alarm", "timer_create", "timer_settime",
            "timer_gettime", "timer_getoverrun", "timer_delete", "timerfd_create",
            "timerfd_settime", "timerfd_gettime", "times",
        ],
    ),
    (
        "poll",
        "waiting on descriptors",
        &[
            "poll", "ppoll", "select", "pselect6", "epoll_create", "epoll_create1", "epoll_ctl",
            "epoll_wait", "epoll_pwait", "epoll_pwait2",
        ],
    ),
    (
        "network",
        "sockets",
        &[
            "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4", "sendto",
            "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg", "shutdown", "getsockname",
            "getpeername", "setsockopt", "getsockopt",
        ],
    ),
    (
        "ipc",
        "pipes, eventfd, System V and POSIX IPC, shared memory files",
        &[
            "pipe", "pipe2", "eventfd", "eventfd2", "msgget", "msgsnd", "msgrcv", "msgctl",
            "semget", "semop", "semtimedop", "semctl", "shmget", "shmat", "shmdt", "shmctl",
            "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive", "mq_notify",
            "mq_getsetattr", "memfd_create",
        ],
    ),
    (
        "privileged",
        "identity changes, mounts, namespaces, modules, machine state",
        &[
            "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setfsuid",
            "setfsgid", "setgroups", "capset", "mount", "umount2", "mount_setattr", "move_mount",
            "open_tree", "fsopen", "fsconfig", "fsmount", "fspick", "pivot_root", "chroot",
            "reboot", "kexec_load", "kexec_file_load", "init_module", "finit_module",
            "delete_module", "unshare", "setns", "swapon", "swapoff", "sethostname",
            "setdomainname", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
            "acct", "quotactl", "quotactl_fd", "syslog", "vhangup", "iopl", "ioperm",
            "sched_setscheduler", "sched_setparam", "sched_setattr",
        ],
    ),
    (
        "dangerous",
        "calls that reach into other processes, the kernel, or around seccomp and ptrace",
        &[
            "ptrace", "process_vm_readv", "process_vm_writev", "bpf", "perf_event_open",
            "keyctl", "add_key", "request_key", "userfaultfd", "io_uring_setup",
            "io_uring_enter", "io_uring_register", "kcmp", "open_by_handle_at",
            "name_to_handle_at", "fanotify_init", "pidfd_getfd", "seccomp", "personality",
            "modify_ldt", "uselib", "process_madvise", "process_mrelease", "mbind",
            "set_mempolicy", "migrate_pages", "move_pages", "lookup_dcookie",
        ],
    ),
    (
        "startup",
        "what glibc's dynamic loader and C start-up need before main",
        &[
            "execve", "brk", "arch_prctl", "mmap", "mprotect", "munmap", "mseal", "open",
            "openat", "read", "pread64", "close", "newfstatat", "fstat", "statx", "access",
            "faccessat", "faccessat2", "readlink", "readlinkat", "lseek", "set_tid_address",
            "set_robust_list", "rseq", "prlimit64", "getrandom", "exit_group",
        ],
    ),
];

/// Names of the groups, without `@`.
pub fn group_names() -> Vec<&'static str> {
    GROUPS.iter().map(|g| g.0).collect()
}

/// Members of a group known on this architecture, or `None` if the group does
/// not exist. `name` is without the `@`.
pub fn expand(name: &str) -> Option<Vec<Sysno>> {
    let (_, _, members) = GROUPS.iter().find(|g| g.0 == name)?;
    let mut v: Vec<Sysno> = members
        .iter()
        .filter_map(|m| Sysno::from_str(m).ok())
        .collect();
    v.sort();
    v.dedup();
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On x86_64 every member must be a real syscall name (catches typos).
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn policy_groups_members_exist() {
        for (g, _, members) in GROUPS {
            for m in *members {
                assert!(Sysno::from_str(m).is_ok(), "@{g}: unknown syscall {m}");
            }
        }
    }

    #[test]
    fn policy_groups_documented() {
        let doc = include_str!("../../docs/policy.md");
        for (g, _, members) in GROUPS {
            let head = format!("- `@{g}`:");
            let Some(at) = doc.find(&head) else {
                panic!("docs/policy.md lacks {head}")
            };
            let rest = &doc[at..];
            let para = rest.split("\n\n").next().unwrap_or("");
            for m in *members {
                assert!(para.contains(m), "docs/policy.md: @{g} lacks {m}");
            }
        }
    }

    #[test]
    fn policy_groups_expand() {
        assert!(expand("memory").is_some_and(|v| v.contains(&Sysno::mmap)));
        assert!(expand("nope").is_none());
    }
}
