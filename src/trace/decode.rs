//! Arguments as a person reads them: paths and short buffers as strings,
//! flags by name (`O_RDONLY|O_CLOEXEC`, `AF_INET`, `PROT_READ|PROT_WRITE`),
//! descriptors and counts as numbers, pointers as hex addresses.

use nix::unistd::Pid;
use serde_json::Value;
use syscalls::Sysno;

use crate::sys::ptrace as pt;

/// The most bytes of a read/write buffer shown.
pub const BUF_SHOWN: usize = 64;

#[derive(Clone, Copy, Debug)]
enum Kind {
    /// A descriptor (AT_FDCWD by name).
    Fd,
    /// A signed number.
    Int,
    /// An unsigned count or size.
    UInt,
    /// A pointer or opaque bits, in hex (NULL for 0).
    Hex,
    Path,
    /// A NULL-terminated array of strings (argv).
    StrArr,
    OpenFlags,
    /// File mode, octal.
    Mode,
    /// A buffer written by the program; its length is argument n.
    WBuf(usize),
    /// A buffer the kernel fills; shown at exit, `ret` bytes of it.
    RBuf,
    Prot,
    MapFlags,
    Af,
    SockType,
    Sig,
    Ioctl,
    /// A socket address the program passes; its length is argument n.
    SockAddr(usize),
}

use Kind::*;

fn signature(s: Sysno) -> Option<&'static [Kind]> {
    #[cfg(target_arch = "x86_64")]
    {
        let legacy: Option<&'static [Kind]> = match s {
            Sysno::open => Some(&[Path, OpenFlags, Mode]),
            Sysno::creat => Some(&[Path, Mode]),
            Sysno::stat | Sysno::lstat => Some(&[Path, Hex]),
            Sysno::access => Some(&[Path, Int]),
            Sysno::readlink => Some(&[Path, Hex, UInt]),
            Sysno::unlink | Sysno::rmdir => Some(&[Path]),
            Sysno::mkdir => Some(&[Path, Mode]),
            Sysno::rename => Some(&[Path, Path]),
            Sysno::dup2 => Some(&[Fd, Fd]),
            Sysno::fork | Sysno::vfork | Sysno::getpgrp => Some(&[]),
            _ => None,
        };
        if legacy.is_some() {
            return legacy;
        }
    }
    Some(match s {
        Sysno::read => &[Fd, RBuf, UInt],
        Sysno::write => &[Fd, WBuf(2), UInt],
        Sysno::pread64 => &[Fd, RBuf, UInt, Int],
        Sysno::pwrite64 => &[Fd, WBuf(2), UInt, Int],
        Sysno::readv | Sysno::writev => &[Fd, Hex, UInt],
        Sysno::openat => &[Fd, Path, OpenFlags, Mode],
        Sysno::openat2 => &[Fd, Path, Hex, UInt],
        Sysno::close => &[Fd],
        Sysno::fstat => &[Fd, Hex],
        Sysno::newfstatat => &[Fd, Path, Hex, Hex],
        Sysno::statx => &[Fd, Path, Hex, Hex, Hex],
        Sysno::faccessat | Sysno::faccessat2 => &[Fd, Path, Int, Hex],
        Sysno::readlinkat => &[Fd, Path, Hex, UInt],
        Sysno::unlinkat => &[Fd, Path, Hex],
        Sysno::mkdirat => &[Fd, Path, Mode],
        Sysno::renameat | Sysno::renameat2 => &[Fd, Path, Fd, Path, Hex],
        Sysno::chdir => &[Path],
        Sysno::fchdir => &[Fd],
        Sysno::truncate => &[Path, Int],
        Sysno::ftruncate => &[Fd, Int],
        Sysno::getcwd => &[Hex, UInt],
        Sysno::mmap => &[Hex, UInt, Prot, MapFlags, Fd, Hex],
        Sysno::mprotect => &[Hex, UInt, Prot],
        Sysno::munmap => &[Hex, UInt],
        Sysno::brk => &[Hex],
        Sysno::mremap => &[Hex, UInt, UInt, Hex, Hex],
        Sysno::madvise => &[Hex, UInt, Int],
        Sysno::socket => &[Af, SockType, Int],
        Sysno::socketpair => &[Af, SockType, Int, Hex],
        Sysno::connect | Sysno::bind => &[Fd, SockAddr(2), UInt],
        Sysno::listen => &[Fd, Int],
        Sysno::accept => &[Fd, Hex, Hex],
        Sysno::accept4 => &[Fd, Hex, Hex, Hex],
        Sysno::sendto => &[Fd, WBuf(2), UInt, Hex, SockAddr(5), UInt],
        Sysno::recvfrom => &[Fd, RBuf, UInt, Hex, Hex, Hex],
        Sysno::execve => &[Path, StrArr, Hex],
        Sysno::execveat => &[Fd, Path, StrArr, Hex, Hex],
        Sysno::lseek => &[Fd, Int, Int],
        Sysno::ioctl => &[Fd, Ioctl, Hex],
        Sysno::dup => &[Fd],
        Sysno::dup3 => &[Fd, Fd, Hex],
        Sysno::fcntl => &[Fd, Int, Hex],
        Sysno::getdents64 => &[Fd, Hex, UInt],
        Sysno::exit | Sysno::exit_group => &[Int],
        Sysno::kill => &[Int, Sig],
        Sysno::tkill => &[Int, Sig],
        Sysno::tgkill => &[Int, Int, Sig],
        Sysno::rt_sigaction => &[Sig, Hex, Hex, UInt],
        Sysno::rt_sigprocmask => &[Int, Hex, Hex, UInt],
        Sysno::rt_sigreturn => &[],
        Sysno::clone => &[Hex, Hex, Hex, Hex, Hex],
        Sysno::clone3 => &[Hex, UInt],
        Sysno::wait4 => &[Int, Hex, Hex, Hex],
        Sysno::getrandom => &[Hex, UInt, Hex],
        Sysno::ptrace => &[Int, Int, Hex, Hex],
        Sysno::arch_prctl => &[Hex, Hex],
        Sysno::set_tid_address => &[Hex],
        Sysno::set_robust_list => &[Hex, UInt],
        Sysno::rseq => &[Hex, UInt, Hex, Hex],
        Sysno::prlimit64 => &[Int, Int, Hex, Hex],
        Sysno::futex => &[Hex, Int, Int, Hex, Hex, Int],
        Sysno::pipe2 => &[Hex, Hex],
        Sysno::uname | Sysno::sysinfo => &[Hex],
        Sysno::clock_gettime => &[Int, Hex],
        Sysno::clock_nanosleep => &[Int, Hex, Hex, Hex],
        Sysno::nanosleep => &[Hex, Hex],
        Sysno::getpid
        | Sysno::gettid
        | Sysno::getppid
        | Sysno::getuid
        | Sysno::geteuid
        | Sysno::getgid
        | Sysno::getegid
        | Sysno::sched_yield
        | Sysno::setsid => &[],
        Sysno::prctl => &[Int, Hex, Hex, Hex, Hex],
        _ => return None,
    })
}

/// Which arguments of the call named `name` hold text (paths, buffers,
/// argv strings): what `safeexec audit --format strace` puts in quotes.
pub fn text_args(name: &str) -> Vec<bool> {
    let Ok(s) = name.parse::<Sysno>() else {
        return Vec::new();
    };
    signature(s)
        .unwrap_or(&[])
        .iter()
        .map(|k| matches!(k, Path | StrArr | WBuf(_) | RBuf))
        .collect()
}

/// The arguments at the call's entry. Kernel-filled buffers are shown as
/// addresses until [`fill_exit`] replaces them.
/// `known`: path arguments the supervisor already read from the tracee
/// (argument index, bytes), so they are not read twice.
pub fn entry_args(pid: Pid, s: Sysno, a: &[u64; 6], known: &[(usize, Vec<u8>)]) -> Vec<Value> {
    match signature(s) {
        Some(kinds) => {
            let mut v: Vec<Value> = kinds
                .iter()
                .enumerate()
                .map(|(i, k)| one(pid, *k, a, i, known))
                .collect();
            // Like strace: an open's mode only matters when it creates.
            let tmpfile = libc::O_TMPFILE as u64;
            let creates = |f: u64| f & libc::O_CREAT as u64 != 0 || f & tmpfile == tmpfile;
            let opens =
                matches!(kinds.last(), Some(Mode)) && kinds.iter().any(|k| matches!(k, OpenFlags));
            if opens && kinds.len() >= 2 && !creates(a[kinds.len() - 2]) {
                v.pop();
            }
            v
        }
        None => a.iter().map(|&v| generic(v)).collect(),
    }
}

/// At the exit of a call that filled a buffer: show what it read.
pub fn fill_exit(pid: Pid, s: Sysno, a: &[u64; 6], ret: i64, args: &mut [Value]) {
    let Some(kinds) = signature(s) else { return };
    for (i, k) in kinds.iter().enumerate() {
        if matches!(k, RBuf) && ret >= 0 {
            if let Some(v) = args.get_mut(i) {
                *v = buffer(pid, a[i], ret as u64);
            }
        }
    }
}

fn one(pid: Pid, k: Kind, a: &[u64; 6], i: usize, known: &[(usize, Vec<u8>)]) -> Value {
    let v = a[i];
    match k {
        Fd => fd(v),
        Int => Value::from(v as i64),
        UInt => Value::from(v),
        Hex | RBuf => hex(v),
        Path => match known.iter().find(|(k, _)| *k == i) {
            Some((_, b)) => Value::from(escape(b)),
            None => match pt::read_cstring(pid, v, libc::PATH_MAX as usize) {
                Some(b) => Value::from(escape(&b)),
                None => hex(v),
            },
        },
        StrArr => str_array(pid, v),
        OpenFlags => Value::from(open_flags(v)),
        Mode if v & 0o7777 == 0 => Value::from("0"),
        Mode => Value::from(format!("0{:o}", v & 0o7777)),
        WBuf(len) => buffer(pid, v, a[len]),
        Prot => Value::from(bits(v, PROT, "PROT_NONE")),
        MapFlags => Value::from(map_flags(v)),
        Af => Value::from(af_name(v)),
        SockType => Value::from(sock_type(v)),
        Sig => Value::from(signal_name(v)),
        Ioctl => Value::from(ioctl_name(v)),
        SockAddr(len) => {
            let len = (a[len] as usize).min(128);
            match (v, len) {
                (0, _) => hex(0),
                (_, 0) => hex(v),
                _ => match pt::read_bytes(pid, v, len) {
                    Some(b) => Value::from(sockaddr(&b)),
                    None => hex(v),
                },
            }
        }
    }
}

/// A socket address the way strace shows it:
/// `{sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("1.1.1.1")}`.
pub fn sockaddr(b: &[u8]) -> String {
    if b.len() < 2 {
        return "{sa_family=???}".to_string();
    }
    let family = u16::from_ne_bytes([b[0], b[1]]);
    let port = |i: usize| b.get(i..i + 2).map(|p| u16::from_be_bytes([p[0], p[1]]));
    match family as i32 {
        libc::AF_INET if b.len() >= 8 => {
            let ip = std::net::Ipv4Addr::new(b[4], b[5], b[6], b[7]);
            format!(
                "{{sa_family=AF_INET, sin_port=htons({}), sin_addr=inet_addr(\"{ip}\")}}",
                port(2).unwrap_or(0)
            )
        }
        libc::AF_INET6 if b.len() >= 24 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(&b[8..24]);
            let ip = std::net::Ipv6Addr::from(a);
            let flow = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
            let scope = b
                .get(24..28)
                .map(|s| u32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
                .unwrap_or(0);
            format!(
                "{{sa_family=AF_INET6, sin6_port=htons({}), sin6_flowinfo=htonl({flow}), \
                 inet_pton(AF_INET6, \"{ip}\", &sin6_addr), sin6_scope_id={scope}}}",
                port(2).unwrap_or(0)
            )
        }
        libc::AF_UNIX => {
            let path = &b[2..];
            if path.first() == Some(&0) && path.len() > 1 {
                // An abstract name: strace writes it with a leading @.
                let name = &path[1..];
                let end = name.iter().position(|&c| c == 0).unwrap_or(name.len());
                format!(
                    "{{sa_family=AF_UNIX, sun_path=@\"{}\"}}",
                    quote(&name[..end])
                )
            } else {
                let end = path.iter().position(|&c| c == 0).unwrap_or(path.len());
                format!(
                    "{{sa_family=AF_UNIX, sun_path=\"{}\"}}",
                    quote(&path[..end])
                )
            }
        }
        _ => format!("{{sa_family={}, sa_data=...}}", af_name(family as u64)),
    }
}

/// [`escape`] with `"` escaped too, for a string inside quotes.
fn quote(b: &[u8]) -> String {
    escape(b).replace('"', "\\\"")
}

fn generic(v: u64) -> Value {
    if v < 4096 || (v as i64) < 0 && (v as i64) > -4096 {
        Value::from(v as i64)
    } else {
        hex(v)
    }
}

fn fd(v: u64) -> Value {
    let n = v as i32;
    if n == libc::AT_FDCWD {
        Value::from("AT_FDCWD")
    } else {
        Value::from(n)
    }
}

fn hex(v: u64) -> Value {
    if v == 0 {
        Value::from("NULL")
    } else {
        Value::from(format!("{v:#x}"))
    }
}

fn buffer(pid: Pid, addr: u64, len: u64) -> Value {
    if addr == 0 {
        return hex(0);
    }
    let want = (len as usize).min(BUF_SHOWN);
    match pt::read_bytes(pid, addr, want) {
        Some(b) => {
            let mut s = escape(&b);
            if len as usize > want {
                s.push_str("...");
            }
            Value::from(s)
        }
        None => hex(addr),
    }
}

fn str_array(pid: Pid, addr: u64) -> Value {
    if addr == 0 {
        return hex(0);
    }
    let mut out = Vec::new();
    for i in 0..32u64 {
        let Some(p) = pt::read_bytes(pid, addr + i * 8, 8) else {
            break;
        };
        let p = u64::from_ne_bytes(p.try_into().unwrap_or([0; 8]));
        if p == 0 {
            return Value::from(out);
        }
        match pt::read_cstring(pid, p, 4096) {
            Some(b) => out.push(Value::from(escape(&b))),
            None => out.push(hex(p)),
        }
    }
    out.push(Value::from("..."));
    Value::from(out)
}

/// Printable ASCII as is, `\n` `\t` `\r` `\\` escaped, other bytes `\xNN`.
pub fn escape(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len());
    for &c in b {
        match c {
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            b'\r' => s.push_str("\\r"),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s
}

fn bits(v: u64, table: &[(&str, u64)], zero: &str) -> String {
    if v == 0 {
        return zero.to_string();
    }
    let mut rest = v;
    let mut parts: Vec<String> = Vec::new();
    for (name, bit) in table {
        if *bit != 0 && rest & bit == *bit {
            parts.push((*name).to_string());
            rest &= !bit;
        }
    }
    if rest != 0 {
        parts.push(format!("{rest:#x}"));
    }
    parts.join("|")
}

const PROT: &[(&str, u64)] = &[
    ("PROT_READ", libc::PROT_READ as u64),
    ("PROT_WRITE", libc::PROT_WRITE as u64),
    ("PROT_EXEC", libc::PROT_EXEC as u64),
];

/// `O_RDONLY|O_CLOEXEC`.
pub fn open_flags(v: u64) -> String {
    let acc = match v & libc::O_ACCMODE as u64 {
        0 => "O_RDONLY",
        1 => "O_WRONLY",
        2 => "O_RDWR",
        _ => "O_ACCMODE",
    };
    let rest = v & !(libc::O_ACCMODE as u64);
    let table: &[(&str, u64)] = &[
        ("O_TMPFILE", libc::O_TMPFILE as u64),
        ("O_SYNC", libc::O_SYNC as u64),
        ("O_CREAT", libc::O_CREAT as u64),
        ("O_EXCL", libc::O_EXCL as u64),
        ("O_NOCTTY", libc::O_NOCTTY as u64),
        ("O_TRUNC", libc::O_TRUNC as u64),
        ("O_APPEND", libc::O_APPEND as u64),
        ("O_NONBLOCK", libc::O_NONBLOCK as u64),
        ("O_DSYNC", libc::O_DSYNC as u64),
        ("O_ASYNC", libc::O_ASYNC as u64),
        ("O_DIRECT", libc::O_DIRECT as u64),
        ("O_LARGEFILE", libc::O_LARGEFILE as u64),
        ("O_DIRECTORY", libc::O_DIRECTORY as u64),
        ("O_NOFOLLOW", libc::O_NOFOLLOW as u64),
        ("O_NOATIME", libc::O_NOATIME as u64),
        ("O_CLOEXEC", libc::O_CLOEXEC as u64),
        ("O_PATH", libc::O_PATH as u64),
    ];
    if rest == 0 {
        acc.to_string()
    } else {
        format!("{acc}|{}", bits(rest, table, ""))
    }
}

fn map_flags(v: u64) -> String {
    let ty = match v & 0x3 {
        1 => "MAP_SHARED",
        2 => "MAP_PRIVATE",
        3 => "MAP_SHARED_VALIDATE",
        _ => "",
    };
    let table: &[(&str, u64)] = &[
        ("MAP_FIXED", libc::MAP_FIXED as u64),
        ("MAP_ANONYMOUS", libc::MAP_ANONYMOUS as u64),
        ("MAP_GROWSDOWN", libc::MAP_GROWSDOWN as u64),
        ("MAP_DENYWRITE", libc::MAP_DENYWRITE as u64),
        ("MAP_EXECUTABLE", libc::MAP_EXECUTABLE as u64),
        ("MAP_LOCKED", libc::MAP_LOCKED as u64),
        ("MAP_NORESERVE", libc::MAP_NORESERVE as u64),
        ("MAP_POPULATE", libc::MAP_POPULATE as u64),
        ("MAP_NONBLOCK", libc::MAP_NONBLOCK as u64),
        ("MAP_STACK", libc::MAP_STACK as u64),
        ("MAP_HUGETLB", libc::MAP_HUGETLB as u64),
        ("MAP_FIXED_NOREPLACE", libc::MAP_FIXED_NOREPLACE as u64),
    ];
    let rest = v & !0x3;
    match (ty.is_empty(), rest == 0) {
        (_, true) if !ty.is_empty() => ty.to_string(),
        (true, true) => "0".to_string(),
        (true, false) => bits(rest, table, ""),
        (false, false) => format!("{ty}|{}", bits(rest, table, "")),
        _ => ty.to_string(),
    }
}

/// `AF_INET`, or the number when unknown.
pub fn af_name(v: u64) -> String {
    let n = match v as i32 {
        libc::AF_UNSPEC => "AF_UNSPEC",
        libc::AF_UNIX => "AF_UNIX",
        libc::AF_INET => "AF_INET",
        libc::AF_INET6 => "AF_INET6",
        libc::AF_NETLINK => "AF_NETLINK",
        libc::AF_PACKET => "AF_PACKET",
        libc::AF_BLUETOOTH => "AF_BLUETOOTH",
        libc::AF_ALG => "AF_ALG",
        libc::AF_VSOCK => "AF_VSOCK",
        _ => return v.to_string(),
    };
    n.to_string()
}

fn sock_type(v: u64) -> String {
    let ty = match v & 0xf {
        1 => "SOCK_STREAM".to_string(),
        2 => "SOCK_DGRAM".to_string(),
        3 => "SOCK_RAW".to_string(),
        4 => "SOCK_RDM".to_string(),
        5 => "SOCK_SEQPACKET".to_string(),
        10 => "SOCK_PACKET".to_string(),
        n => n.to_string(),
    };
    let rest = v & !0xf;
    if rest == 0 {
        ty
    } else {
        let table: &[(&str, u64)] = &[
            ("SOCK_NONBLOCK", libc::SOCK_NONBLOCK as u64),
            ("SOCK_CLOEXEC", libc::SOCK_CLOEXEC as u64),
        ];
        format!("{ty}|{}", bits(rest, table, ""))
    }
}

fn signal_name(v: u64) -> String {
    match nix::sys::signal::Signal::try_from(v as i32) {
        Ok(s) => s.as_str().to_string(),
        Err(_) => v.to_string(),
    }
}

fn ioctl_name(v: u64) -> String {
    let n = match v {
        0x5401 => "TCGETS",
        0x5402 => "TCSETS",
        0x5413 => "TIOCGWINSZ",
        0x541b => "FIONREAD",
        0x5421 => "FIONBIO",
        0x5451 => "FIOCLEX",
        _ => return format!("{v:#x}"),
    };
    n.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_addresses_read_like_strace() {
        let mut v4 = vec![0u8; 16];
        v4[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
        v4[2..4].copy_from_slice(&80u16.to_be_bytes());
        v4[4..8].copy_from_slice(&[1, 1, 1, 1]);
        assert_eq!(
            sockaddr(&v4),
            "{sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr(\"1.1.1.1\")}"
        );
        let mut v6 = vec![0u8; 28];
        v6[..2].copy_from_slice(&(libc::AF_INET6 as u16).to_ne_bytes());
        v6[2..4].copy_from_slice(&443u16.to_be_bytes());
        v6[23] = 1;
        assert_eq!(
            sockaddr(&v6),
            "{sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), \
             inet_pton(AF_INET6, \"::1\", &sin6_addr), sin6_scope_id=0}"
        );
        let mut un = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
        un.extend_from_slice(b"/run/x\"y.sock\0junk");
        assert_eq!(
            sockaddr(&un),
            "{sa_family=AF_UNIX, sun_path=\"/run/x\\\"y.sock\"}"
        );
        let mut abs = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
        abs.extend_from_slice(b"\0name");
        assert_eq!(sockaddr(&abs), "{sa_family=AF_UNIX, sun_path=@\"name\"}");
        assert_eq!(sockaddr(&[1]), "{sa_family=???}");
    }

    #[test]
    fn flags_read_like_strace() {
        assert_eq!(
            open_flags((libc::O_RDONLY | libc::O_CLOEXEC) as u64),
            "O_RDONLY|O_CLOEXEC"
        );
        assert_eq!(
            open_flags((libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC) as u64),
            "O_WRONLY|O_CREAT|O_TRUNC"
        );
        assert_eq!(bits(3, PROT, "PROT_NONE"), "PROT_READ|PROT_WRITE");
        assert_eq!(bits(0, PROT, "PROT_NONE"), "PROT_NONE");
        assert_eq!(
            map_flags((libc::MAP_PRIVATE | libc::MAP_ANONYMOUS) as u64),
            "MAP_PRIVATE|MAP_ANONYMOUS"
        );
        assert_eq!(af_name(libc::AF_INET as u64), "AF_INET");
        assert_eq!(
            sock_type((libc::SOCK_STREAM | libc::SOCK_CLOEXEC) as u64),
            "SOCK_STREAM|SOCK_CLOEXEC"
        );
        assert_eq!(escape(b"hi\n\x01"), "hi\\n\\x01");
        assert_eq!(fd(libc::AT_FDCWD as u32 as u64), Value::from("AT_FDCWD"));
    }
}
