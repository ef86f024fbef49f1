//! `safeexec audit --format strace TRACE`: a trace (docs/trace.md) as
//! `strace -f` would have printed it, one line per call, so that people and
//! tools used to strace can read it:
//!
//! ```text
//! 4242  openat(AT_FDCWD, "/etc/hostname", O_RDONLY|O_CLOEXEC) = -1 EACCES (Permission denied) (DENIED by builtin:base:7: path /etc/hostname not allowed for read)
//! 4242  mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f3a1c000000
//! 4242  connect(3, {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("1.1.1.1")}, 16) = ? (KILLED by builtin:base:10)
//! 4242  +++ killed by SIGKILL +++
//! ```
//!
//! Texts are quoted (`"..."` after a cut buffer), errors read
//! `= -1 ENAME (message)`, addresses returned by mmap, mremap and brk are
//! hex, prlimit64/getrlimit/setrlimit resources and arch_prctl codes are
//! named. What the policy did is added in strace's manner of `(INJECTED)`:
//! `(DENIED by RULE)`, `(KILLED by RULE)`.

use std::io::Write;

use serde_json::Value;

use crate::error::SandboxError;
use crate::trace::{decode, Event, Record, SyscallRecord, TraceReader};

/// Why writing a trace in strace's format stopped.
#[derive(Debug)]
pub enum StraceError {
    /// Reading the trace failed, or it is not a trace.
    Read(SandboxError),
    /// Writing the output failed (a closed pipe, a full disk).
    Write(std::io::Error),
}

/// Writes the records `reader` streams in strace's format. Returns the
/// number of lines that were not trace records (skipped).
pub fn write_strace(reader: &mut TraceReader, out: &mut impl Write) -> Result<u64, StraceError> {
    while let Some(rec) = reader.next_record().map_err(StraceError::Read)? {
        if let Some(text) = record_line(&rec) {
            writeln!(out, "{text}").map_err(StraceError::Write)?;
        }
    }
    out.flush().map_err(StraceError::Write)?;
    reader.finish().map_err(StraceError::Read)
}

/// One record as a strace line; None for records strace does not print
/// (the start, exec and verdict events, process creation).
pub fn record_line(rec: &Record) -> Option<String> {
    match rec {
        Record::Syscall(r) => Some(call_line(r)),
        Record::Event(Event::Signal { pid, signal, .. }) => {
            Some(format!("{pid:<5} --- {signal} ---"))
        }
        Record::Event(Event::Exit {
            pid,
            status,
            signal,
            ..
        }) => match (status, signal) {
            (_, Some(sig)) => Some(format!("{pid:<5} +++ killed by {sig} +++")),
            (Some(st), None) => Some(format!("{pid:<5} +++ exited with {st} +++")),
            (None, None) => Some(format!("{pid:<5} +++ exited +++")),
        },
        Record::Event(_) => None,
    }
}

/// `tid  name(args) = ret`.
pub fn call_line(r: &SyscallRecord) -> String {
    let text = decode::text_args(&r.syscall);
    let args: Vec<String> = r
        .args
        .iter()
        .enumerate()
        .map(|(i, v)| arg(&r.syscall, i, v, text.get(i).copied().unwrap_or(false)))
        .collect();
    // strace pads the call to column 40 before ` = `.
    let call = format!("{:<5} {}({})", r.tid, r.syscall, args.join(", "));
    let mut line = format!("{call:<39} = {}", ret(r));
    let by = |what: &str| match &r.reason {
        Some(why) => format!(" ({what} by {}: {why})", r.rule),
        None => format!(" ({what} by {})", r.rule),
    };
    match r.decision.as_str() {
        "deny" => line.push_str(&by("DENIED")),
        "kill" => line.push_str(&by("KILLED")),
        // `log` is the audit policy's every call: no mark (the summary counts them).
        _ => {}
    }
    line
}

fn ret(r: &SyscallRecord) -> String {
    if let Some(e) = &r.errno {
        return match errno_text(e) {
            Some(msg) => format!("-1 {e} ({msg})"),
            None => format!("-1 {e}"),
        };
    }
    match r.ret {
        None => "?".to_string(),
        Some(v) if returns_address(&r.syscall) && v >= 0 => format!("{v:#x}"),
        Some(v) => v.to_string(),
    }
}

fn returns_address(name: &str) -> bool {
    matches!(name, "mmap" | "mremap" | "brk" | "shmat")
}

/// The C library's message for an errno name (`ENOENT` -> `No such file
/// or directory`).
fn errno_text(name: &str) -> Option<&'static str> {
    (1..4096)
        .map(nix::errno::Errno::from_raw)
        .find(|e| format!("{e:?}") == name)
        .map(|e| e.desc())
}

fn arg(call: &str, i: usize, v: &Value, text: bool) -> String {
    match (call, i) {
        ("prlimit64", 1) | ("getrlimit" | "setrlimit", 0) => {
            if let Some(name) = v.as_u64().and_then(rlimit_name) {
                return name.to_string();
            }
        }
        // The file offset is a number, not a pointer.
        ("mmap", 5) if v == "NULL" => return "0".to_string(),
        ("arch_prctl", 0) => {
            if let Some(name) = number(v).and_then(arch_prctl_name) {
                return name.to_string();
            }
        }
        _ => {}
    }
    value(v, text)
}

fn value(v: &Value, text: bool) -> String {
    match v {
        Value::String(s) if text && !is_pointer(s) => quoted(s),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let inner: Vec<String> = items
                .iter()
                .map(|x| match x {
                    Value::String(s) if s == "..." => "...".to_string(),
                    other => value(other, true),
                })
                .collect();
            format!("[{}]", inner.join(", "))
        }
        other => other.to_string(),
    }
}

/// A text argument the supervisor could not read is shown as its address.
fn is_pointer(s: &str) -> bool {
    s == "NULL"
        || s.strip_prefix("0x")
            .is_some_and(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit()))
}

/// `"text"`, or `"text"...` for a buffer cut at 64 bytes. The trace's
/// escapes (`\n`, `\xNN`, `\\`) are strace's already; `"` gets one.
fn quoted(s: &str) -> String {
    let (body, cut) = match s.strip_suffix("...") {
        Some(b) => (b, "..."),
        None => (s, ""),
    };
    format!("\"{}\"{cut}", body.replace('"', "\\\""))
}

fn number(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => u64::from_str_radix(s.strip_prefix("0x")?, 16).ok(),
        _ => None,
    }
}

fn rlimit_name(r: u64) -> Option<&'static str> {
    Some(match r {
        0 => "RLIMIT_CPU",
        1 => "RLIMIT_FSIZE",
        2 => "RLIMIT_DATA",
        3 => "RLIMIT_STACK",
        4 => "RLIMIT_CORE",
        5 => "RLIMIT_RSS",
        6 => "RLIMIT_NPROC",
        7 => "RLIMIT_NOFILE",
        8 => "RLIMIT_MEMLOCK",
        9 => "RLIMIT_AS",
        10 => "RLIMIT_LOCKS",
        11 => "RLIMIT_SIGPENDING",
        12 => "RLIMIT_MSGQUEUE",
        13 => "RLIMIT_NICE",
        14 => "RLIMIT_RTPRIO",
        15 => "RLIMIT_RTTIME",
        _ => return None,
    })
}

/// The codes of asm/prctl.h.
fn arch_prctl_name(c: u64) -> Option<&'static str> {
    Some(match c {
        0x1001 => "ARCH_SET_GS",
        0x1002 => "ARCH_SET_FS",
        0x1003 => "ARCH_GET_FS",
        0x1004 => "ARCH_GET_GS",
        0x1011 => "ARCH_GET_CPUID",
        0x1012 => "ARCH_SET_CPUID",
        0x1021 => "ARCH_GET_XCOMP_SUPP",
        0x1022 => "ARCH_GET_XCOMP_PERM",
        0x1023 => "ARCH_REQ_XCOMP_PERM",
        0x1024 => "ARCH_GET_XCOMP_GUEST_PERM",
        0x1025 => "ARCH_REQ_XCOMP_GUEST_PERM",
        0x1031 => "ARCH_XCOMP_TILECFG",
        0x1032 => "ARCH_XCOMP_TILEDATA",
        0x2001 => "ARCH_MAP_VDSO_X32",
        0x2002 => "ARCH_MAP_VDSO_32",
        0x2003 => "ARCH_MAP_VDSO_64",
        0x4001 => "ARCH_GET_UNTAG_MASK",
        0x4002 => "ARCH_ENABLE_TAGGED_ADDR",
        0x4003 => "ARCH_GET_MAX_TAG_BITS",
        0x4004 => "ARCH_FORCE_TAGGED_SVA",
        0x5001 => "ARCH_SHSTK_ENABLE",
        0x5002 => "ARCH_SHSTK_DISABLE",
        0x5003 => "ARCH_SHSTK_LOCK",
        0x5004 => "ARCH_SHSTK_UNLOCK",
        0x5005 => "ARCH_SHSTK_STATUS",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(json: &str) -> String {
        let rec: Record = serde_json::from_str(json).unwrap();
        record_line(&rec).unwrap()
    }

    #[test]
    fn calls_read_like_strace() {
        assert_eq!(
            line(r#"{"t_us":1,"pid":7,"tid":7,"syscall":"openat","args":["AT_FDCWD","/etc/hostname","O_RDONLY|O_CLOEXEC"],"errno":"ENOENT","decision":"allow","rule":"default"}"#),
            "7     openat(AT_FDCWD, \"/etc/hostname\", O_RDONLY|O_CLOEXEC) = -1 ENOENT (No such file or directory)"
        );
        assert_eq!(
            line(r#"{"t_us":1,"pid":7,"tid":8,"syscall":"mmap","args":["NULL",8192,"PROT_READ|PROT_WRITE","MAP_PRIVATE|MAP_ANONYMOUS",-1,"NULL"],"ret":139887554592768,"decision":"allow","rule":"x:1"}"#),
            "8     mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f3a1c000000"
        );
        assert_eq!(
            line(
                r#"{"t_us":1,"pid":7,"tid":7,"syscall":"write","args":[1,"say \"hi\"\\n...",100],"ret":100,"decision":"allow","rule":"x:1"}"#
            ),
            "7     write(1, \"say \\\"hi\\\"\\n\"..., 100)  = 100"
        );
        assert_eq!(
            line(
                r#"{"t_us":1,"pid":7,"tid":7,"syscall":"prlimit64","args":[0,7,"NULL","0x7ffd0000"],"ret":0,"decision":"allow","rule":"x:1"}"#
            ),
            "7     prlimit64(0, RLIMIT_NOFILE, NULL, 0x7ffd0000) = 0"
        );
        assert_eq!(
            line(
                r#"{"t_us":1,"pid":7,"tid":7,"syscall":"arch_prctl","args":["0x1002","0x4c7380"],"ret":0,"decision":"allow","rule":"x:1"}"#
            ),
            "7     arch_prctl(ARCH_SET_FS, 0x4c7380) = 0"
        );
        assert_eq!(
            line(
                r#"{"t_us":1,"pid":7,"tid":7,"syscall":"execve","args":["./a.out",["./a.out","x"],"0x7ffc"],"ret":0,"decision":"allow","rule":"built-in"}"#
            ),
            "7     execve(\"./a.out\", [\"./a.out\", \"x\"], 0x7ffc) = 0"
        );
        assert_eq!(
            line(r#"{"t_us":1,"pid":7,"tid":7,"syscall":"connect","args":[3,"{sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr(\"1.1.1.1\")}",16],"decision":"kill","rule":"builtin:base:10"}"#),
            "7     connect(3, {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr(\"1.1.1.1\")}, 16) = ? (KILLED by builtin:base:10)"
        );
        assert_eq!(
            line(r#"{"t_us":1,"pid":7,"tid":7,"syscall":"openat","args":["AT_FDCWD","/etc/shadow","O_RDONLY"],"errno":"EACCES","decision":"deny","rule":"builtin:base:7","reason":"path /etc/shadow not allowed for read"}"#),
            "7     openat(AT_FDCWD, \"/etc/shadow\", O_RDONLY) = -1 EACCES (Permission denied) (DENIED by builtin:base:7: path /etc/shadow not allowed for read)"
        );
        assert_eq!(
            line(r#"{"event":"exit","t_us":1,"pid":7,"signal":"SIGKILL"}"#),
            "7     +++ killed by SIGKILL +++"
        );
        assert_eq!(
            line(r#"{"event":"exit","t_us":1,"pid":7,"status":0}"#),
            "7     +++ exited with 0 +++"
        );
        assert_eq!(
            line(r#"{"event":"signal","t_us":1,"pid":7,"signal":"SIGSEGV"}"#),
            "7     --- SIGSEGV ---"
        );
    }

    #[test]
    fn unreadable_lines_are_counted_not_printed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.jsonl");
        std::fs::write(
            &p,
            "not json\n{\"event\":\"exit\",\"t_us\":1,\"pid\":3,\"status\":2}\n\n{}\n",
        )
        .unwrap();
        let mut r = TraceReader::open(&p).unwrap();
        let mut out = Vec::new();
        let bad = write_strace(&mut r, &mut out).unwrap();
        assert_eq!(bad, 2);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "3     +++ exited with 2 +++\n"
        );
        // A file without any record is not a trace.
        std::fs::write(&p, "hello\n").unwrap();
        let mut r = TraceReader::open(&p).unwrap();
        assert!(matches!(
            write_strace(&mut r, &mut Vec::new()),
            Err(StraceError::Read(SandboxError::NotATrace { .. }))
        ));
    }
}
