//! ptrace and process_vm_readv wrappers for the paranoid supervisor: the
//! tracee's memory is read only here.

use super::*;

pub const PTRACE_GET_SYSCALL_INFO: libc::c_uint = 0x420e;
// The kernel's values of `op`, all listed; the tracer tests EXIT only.
#[allow(dead_code)]
pub const SYSCALL_INFO_NONE: u8 = 0;
#[allow(dead_code)]
pub const SYSCALL_INFO_ENTRY: u8 = 1;
pub const SYSCALL_INFO_EXIT: u8 = 2;
#[allow(dead_code)]
pub const SYSCALL_INFO_SECCOMP: u8 = 3;

/// Every option, given at attach time (ANCHORS: attach races).
pub const SEIZE_OPTIONS: libc::c_int = libc::PTRACE_O_EXITKILL
    | libc::PTRACE_O_TRACESYSGOOD
    | libc::PTRACE_O_TRACECLONE
    | libc::PTRACE_O_TRACEFORK
    | libc::PTRACE_O_TRACEVFORK
    | libc::PTRACE_O_TRACEEXEC
    | libc::PTRACE_O_TRACEEXIT
    | libc::PTRACE_O_TRACESECCOMP;

fn check(r: libc::c_long, what: &str, pid: Pid) -> Result<libc::c_long, (String, Errno)> {
    if r < 0 {
        Err((format!("{what}({pid})"), Errno::last()))
    } else {
        Ok(r)
    }
}

pub fn seize(pid: Pid, options: libc::c_int) -> Result<(), (String, Errno)> {
    // SAFETY: PTRACE_SEIZE reads no memory of ours: `addr` must be 0 and
    // `data` carries the option bits by value. A pid we may not trace only
    // makes it fail (EPERM/ESRCH).
    let r = unsafe {
        libc::ptrace(
            libc::PTRACE_SEIZE,
            pid.as_raw(),
            0usize,
            options as libc::c_ulong,
        )
    };
    check(r, "ptrace(PTRACE_SEIZE)", pid).map(drop)
}

/// Resumes a stopped tracee, delivering `sig` (0 = none). ESRCH (the tracee
/// was killed meanwhile) is not an error.
pub fn cont(pid: Pid, sig: i32) -> Result<(), (String, Errno)> {
    resume(libc::PTRACE_CONT, pid, sig)
}

/// Resumes and stops again at the next syscall entry or exit.
pub fn syscall(pid: Pid, sig: i32) -> Result<(), (String, Errno)> {
    resume(libc::PTRACE_SYSCALL, pid, sig)
}

/// Leaves a group-stopped tracee stopped but lets the tracer see the
/// continue (PTRACE_LISTEN).
pub fn listen(pid: Pid) -> Result<(), (String, Errno)> {
    resume(libc::PTRACE_LISTEN, pid, 0)
}

fn resume(req: libc::c_uint, pid: Pid, sig: i32) -> Result<(), (String, Errno)> {
    // SAFETY: CONT, SYSCALL and LISTEN take a signal number by value in
    // `data` and ignore `addr`; no memory of ours is read or written.
    let r = unsafe { libc::ptrace(req, pid.as_raw(), 0usize, sig as libc::c_ulong) };
    if r < 0 && Errno::last() == Errno::ESRCH {
        return Ok(());
    }
    check(r, "ptrace(resume)", pid).map(drop)
}

pub fn geteventmsg(pid: Pid) -> u64 {
    let mut msg: libc::c_ulong = 0;
    // SAFETY: PTRACE_GETEVENTMSG writes one unsigned long to `data`, which
    // points at `msg`, a local c_ulong alive for the call. A pid that is not
    // our stopped tracee only makes it fail, leaving `msg` 0.
    unsafe {
        libc::ptrace(
            libc::PTRACE_GETEVENTMSG,
            pid.as_raw(),
            0usize,
            &mut msg as *mut libc::c_ulong,
        )
    };
    msg as u64
}

/// `struct ptrace_syscall_info` of linux/ptrace.h, the seccomp/entry form.
#[repr(C)]
#[derive(Clone, Copy)]
struct RawSyscallInfo {
    op: u8,
    pad: [u8; 3],
    arch: u32,
    instruction_pointer: u64,
    stack_pointer: u64,
    // entry: nr, args[6]; seccomp: nr, args[6], ret_data; exit: rval, is_error
    nr_or_rval: u64,
    args: [u64; 6],
    ret_data: u32,
    pad2: u32,
}

/// A decoded stop of PTRACE_GET_SYSCALL_INFO (every field the kernel
/// gives; the tracer does not read `arch` and `ret_data` today).
#[derive(Debug, Clone, Copy)]
#[allow(dead_code)]
pub struct SyscallInfo {
    pub op: u8,
    pub arch: u32,
    pub nr: u64,
    pub args: [u64; 6],
    /// The RET_DATA of the filter's SECCOMP_RET_TRACE (seccomp stops).
    pub ret_data: u32,
    /// Return value (exit stops).
    pub rval: i64,
    pub is_error: bool,
}

pub fn get_syscall_info(pid: Pid) -> Result<SyscallInfo, (String, Errno)> {
    // SAFETY: RawSyscallInfo is repr(C) integers only: all-zero bytes are a
    // valid value.
    let mut raw: RawSyscallInfo = unsafe { std::mem::zeroed() };
    // SAFETY: `addr` is the size of `raw` and `data` points at it, a local
    // alive for the call: the kernel writes at most that many bytes (fewer
    // for the shorter forms; the rest stays zero).
    let r = unsafe {
        libc::ptrace(
            PTRACE_GET_SYSCALL_INFO,
            pid.as_raw(),
            std::mem::size_of::<RawSyscallInfo>(),
            &mut raw as *mut RawSyscallInfo,
        )
    };
    check(r, "ptrace(PTRACE_GET_SYSCALL_INFO)", pid)?;
    let is_exit = raw.op == SYSCALL_INFO_EXIT;
    Ok(SyscallInfo {
        op: raw.op,
        arch: raw.arch,
        nr: if is_exit { 0 } else { raw.nr_or_rval },
        args: raw.args,
        ret_data: raw.ret_data,
        rval: raw.nr_or_rval as i64,
        // For exit stops args[0] holds is_error (u8) in the union.
        is_error: is_exit && (raw.args[0] & 0xff) != 0,
    })
}

/// At a seccomp or syscall-entry stop: skip the call and make it return
/// `-errno`, in one register write (ANCHORS 6).
#[cfg(target_arch = "x86_64")]
pub fn fail_syscall(pid: Pid, errno: i32) -> Result<(), (String, Errno)> {
    // SAFETY: user_regs_struct is integers only: all-zero bytes are a valid
    // value.
    let mut regs: libc::user_regs_struct = unsafe { std::mem::zeroed() };
    // SAFETY: PTRACE_GETREGS writes one user_regs_struct to `data`, which
    // points at `regs`, a local of that type alive for the call.
    let r = unsafe {
        libc::ptrace(
            libc::PTRACE_GETREGS,
            pid.as_raw(),
            0usize,
            &mut regs as *mut libc::user_regs_struct,
        )
    };
    check(r, "ptrace(PTRACE_GETREGS)", pid)?;
    regs.orig_rax = u64::MAX; // -1: no syscall
    regs.rax = (-(errno as i64)) as u64;
    // SAFETY: PTRACE_SETREGS reads one user_regs_struct from `data`, which
    // points at `regs`, initialised by GETREGS above; the tracee is stopped
    // (seccomp or syscall-entry stop), so the kernel accepts the write.
    let r = unsafe {
        libc::ptrace(
            libc::PTRACE_SETREGS,
            pid.as_raw(),
            0usize,
            &regs as *const libc::user_regs_struct,
        )
    };
    check(r, "ptrace(PTRACE_SETREGS)", pid).map(drop)
}

#[cfg(target_arch = "aarch64")]
pub fn fail_syscall(pid: Pid, errno: i32) -> Result<(), (String, Errno)> {
    const NT_ARM_SYSTEM_CALL: libc::c_int = 0x404;
    let mut nr: libc::c_int = -1;
    let mut iov = libc::iovec {
        iov_base: &mut nr as *mut _ as *mut libc::c_void,
        iov_len: std::mem::size_of::<libc::c_int>(),
    };
    // SAFETY: `iov` points at `nr`, a local c_int, with its exact size; the
    // kernel reads that many bytes. Both are alive for the call.
    let r = unsafe {
        libc::ptrace(
            libc::PTRACE_SETREGSET,
            pid.as_raw(),
            NT_ARM_SYSTEM_CALL,
            &mut iov,
        )
    };
    check(r, "ptrace(PTRACE_SETREGSET)", pid)?;
    // SAFETY: user_regs_struct is integers only: all-zero bytes are a valid
    // value.
    let mut regs: libc::user_regs_struct = unsafe { std::mem::zeroed() };
    let mut iov = libc::iovec {
        iov_base: &mut regs as *mut _ as *mut libc::c_void,
        iov_len: std::mem::size_of::<libc::user_regs_struct>(),
    };
    // SAFETY: `iov` points at `regs`, a local user_regs_struct, with its
    // exact size: the kernel writes at most that many bytes.
    let r = unsafe {
        libc::ptrace(
            libc::PTRACE_GETREGSET,
            pid.as_raw(),
            libc::NT_PRSTATUS,
            &mut iov,
        )
    };
    check(r, "ptrace(PTRACE_GETREGSET)", pid)?;
    regs.regs[0] = (-(errno as i64)) as u64;
    // SAFETY: `iov` still points at `regs` with its exact size (GETREGSET
    // may only have shortened iov_len): the kernel reads at most that.
    let r = unsafe {
        libc::ptrace(
            libc::PTRACE_SETREGSET,
            pid.as_raw(),
            libc::NT_PRSTATUS,
            &mut iov,
        )
    };
    check(r, "ptrace(PTRACE_SETREGSET)", pid).map(drop)
}

/// Reads a NUL-terminated string of at most `max` bytes from the tracee.
/// None when the memory cannot be read or holds no NUL within `max`.
pub fn read_cstring(pid: Pid, addr: u64, max: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(256);
    let mut addr = addr;
    let mut chunk = [0u8; 256];
    while out.len() < max {
        // Never read across a page boundary in one go: the next page may be unmapped.
        let to_page_end = 4096 - (addr as usize & 4095);
        let want = chunk.len().min(to_page_end).min(max - out.len());
        let local = libc::iovec {
            iov_base: chunk.as_mut_ptr() as *mut libc::c_void,
            iov_len: want,
        };
        let remote = libc::iovec {
            iov_base: addr as *mut libc::c_void,
            iov_len: want,
        };
        // SAFETY: `local` points at `chunk`, a local array, with a length
        // `want` <= chunk.len(): the kernel writes at most that many bytes
        // there. `remote` is an address in the tracee, not ours: the kernel
        // checks it against the tracee's mappings (EFAULT if unmapped) and
        // never dereferences it in this process.
        let n = unsafe { libc::process_vm_readv(pid.as_raw(), &local, 1, &remote, 1, 0) };
        if n <= 0 {
            return None;
        }
        let got = &chunk[..n as usize];
        if let Some(z) = got.iter().position(|&b| b == 0) {
            out.extend_from_slice(&got[..z]);
            return Some(out);
        }
        out.extend_from_slice(got);
        addr += n as u64;
    }
    None
}

/// Reads `len` bytes of the tracee's memory at `addr` (process_vm_readv,
/// split at page boundaries so a readable prefix is still returned).
/// None when nothing can be read.
pub fn read_bytes(pid: Pid, addr: u64, len: usize) -> Option<Vec<u8>> {
    let mut out = vec![0u8; len];
    let mut done = 0usize;
    while done < len {
        let at = addr.wrapping_add(done as u64);
        let to_page_end = 4096 - (at as usize & 4095);
        let want = (len - done).min(to_page_end);
        let mut local = [std::io::IoSliceMut::new(&mut out[done..done + want])];
        let remote = [nix::sys::uio::RemoteIoVec {
            base: at as usize,
            len: want,
        }];
        match nix::sys::uio::process_vm_readv(pid, &mut local, &remote) {
            Ok(n) if n > 0 => done += n,
            _ => break,
        }
    }
    if done == 0 && len > 0 {
        return None;
    }
    out.truncate(done);
    Some(out)
}

/// Reads one native-endian u64 of the tracee's memory at `addr`; None
/// unless all 8 bytes can be read.
pub fn read_u64(pid: Pid, addr: u64) -> Option<u64> {
    let mut buf = [0u8; 8];
    let mut local = [std::io::IoSliceMut::new(&mut buf)];
    let remote = [nix::sys::uio::RemoteIoVec {
        base: addr as usize,
        len: 8,
    }];
    match nix::sys::uio::process_vm_readv(pid, &mut local, &remote) {
        Ok(8) => Some(u64::from_ne_bytes(buf)),
        _ => None,
    }
}
