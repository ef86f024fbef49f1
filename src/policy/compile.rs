//! Compiling a [`Policy`] to a classic-BPF seccomp program.
//!
//! Layout of the program:
//!
//! 1. `arch != native` → KILL_PROCESS (i386 `int 0x80`, and anything else).
//! 2. `nr == -1` → ALLOW (a tracer's "skip this call"; the kernel does nothing
//!    for it and seccomp re-runs on the changed number).
//! 3. x86_64: `nr >= 0x40000000` (the x32 bit) → KILL_PROCESS.
//! 4. Dispatch on `nr` through a binary tree of `JGE`/`JEQ` tests whose
//!    conditional jumps only skip one instruction; longer jumps are `JA`
//!    (32-bit offset), so no 8-bit offset can overflow. A leaf returns
//!    directly when the result depends on the number only; nothing before
//!    that point loads an argument, so the kernel's action cache (Linux ≥
//!    5.11) can learn the ALLOWed numbers.
//! 5. After the tree, one block per call with conditions: rules are tested
//!    last first (last match wins), each 64-bit comparison as high word then
//!    low word.

use syscalls::Sysno;

use super::model::{Action, CmpOp, Cond, Disposition, Policy};
use super::parser::PolicyError;

/// One classic-BPF instruction; same layout as `libc::sock_filter`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SockFilter {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

pub const BPF_LD_W_ABS: u16 = 0x20;
pub const BPF_ALU_AND_K: u16 = 0x54;
pub const BPF_JMP_JA: u16 = 0x05;
pub const BPF_JMP_JEQ_K: u16 = 0x15;
pub const BPF_JMP_JGT_K: u16 = 0x25;
pub const BPF_JMP_JGE_K: u16 = 0x35;
pub const BPF_JMP_JSET_K: u16 = 0x45;
pub const BPF_RET_K: u16 = 0x06;

pub const SECCOMP_RET_KILL_PROCESS: u32 = 0x8000_0000;
pub const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
pub const SECCOMP_RET_TRACE: u32 = 0x7ff0_0000;
pub const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
pub const SECCOMP_RET_ACTION_FULL: u32 = 0xffff_0000;
pub const SECCOMP_RET_DATA: u32 = 0x0000_ffff;

pub const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
pub const AUDIT_ARCH_AARCH64: u32 = 0xc000_00b7;
pub const AUDIT_ARCH_I386: u32 = 0x4000_0003;

/// The architecture the filter lets through.
#[cfg(target_arch = "x86_64")]
pub const NATIVE_AUDIT_ARCH: u32 = AUDIT_ARCH_X86_64;
#[cfg(target_arch = "aarch64")]
pub const NATIVE_AUDIT_ARCH: u32 = AUDIT_ARCH_AARCH64;
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
pub const NATIVE_AUDIT_ARCH: u32 = 0; // unsupported: every call is killed

/// The x32 ABI marker bit in `nr` on x86_64.
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// Offsets in `struct seccomp_data`.
pub const OFF_NR: u32 = 0;
pub const OFF_ARCH: u32 = 4;
pub const fn off_arg_lo(i: u8) -> u32 {
    16 + 8 * i as u32
}
pub const fn off_arg_hi(i: u8) -> u32 {
    16 + 8 * i as u32 + 4
}

/// Most instructions the kernel accepts (BPF_MAXINSNS).
pub const MAX_INSNS: usize = 4096;

/// clone flags refused whatever the policy says: CLONE_UNTRACED and every
/// namespace flag. All live in the low 32 bits, the only bits clone() reads.
pub const CLONE_FORBIDDEN: u32 = (libc::CLONE_UNTRACED
    | libc::CLONE_NEWNS
    | libc::CLONE_NEWCGROUP
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET) as u32;

/// The calls whose path rules Landlock can enforce exactly (the open
/// family): Landlock checks the opened object's read and write rights (and
/// truncation, creation) on the object the kernel resolved.
#[cfg(target_arch = "x86_64")]
pub const OPEN_FAMILY: &[Sysno] = &[Sysno::open, Sysno::openat, Sysno::openat2, Sysno::creat];
#[cfg(not(target_arch = "x86_64"))]
pub const OPEN_FAMILY: &[Sysno] = &[Sysno::openat, Sysno::openat2];

pub(crate) fn ret_for_errno(e: i32) -> u32 {
    SECCOMP_RET_ERRNO | (e as u32 & SECCOMP_RET_DATA)
}

fn trace_data(rule_index: Option<usize>) -> u32 {
    let d = rule_index.map(|i| i + 1).unwrap_or(0);
    SECCOMP_RET_TRACE
        | if d <= SECCOMP_RET_DATA as usize {
            d as u32
        } else {
            0
        }
}

/// What the filter does for one number.
#[derive(Clone, Debug)]
pub(crate) enum Plan {
    /// Decided by the number alone.
    Ret(u32),
    /// Argument checks: (conditions, result) tested in order, then `fallback`.
    Cond {
        clone_builtin: bool,
        checks: Vec<(Vec<Cond>, u32)>,
        fallback: u32,
    },
}

impl Policy {
    /// The kernel's return value when `action` applies to `s`; `deny_traced`: deny rules stop for the supervisor instead of failing
    /// in the kernel (`--trace-level denied` records them).
    /// `kernel_opens`: Landlock enforces the path rules of the open family
    /// exactly (see [`Policy::opens_checked_by_landlock`]), so an allowed
    /// open runs without a stop.
    fn kernel_ret_with(
        &self,
        s: Sysno,
        action: Action,
        rule_index: Option<usize>,
        deny_traced: bool,
        kernel_opens: bool,
    ) -> u32 {
        match action {
            Action::Deny(_) if deny_traced => trace_data(rule_index),
            Action::Allow if kernel_opens && OPEN_FAMILY.contains(&s) => SECCOMP_RET_ALLOW,
            Action::Allow if self.sys_path_restricted(s) => trace_data(rule_index),
            Action::Allow => SECCOMP_RET_ALLOW,
            Action::Log | Action::Kill => trace_data(rule_index),
            Action::Deny(e) => ret_for_errno(e),
        }
    }

    pub(crate) fn plan(&self, s: Sysno) -> Plan {
        self.plan_with(s, false, false)
    }

    fn plan_with(&self, s: Sysno, deny_traced: bool, kernel_opens: bool) -> Plan {
        if s == Sysno::clone3 {
            return Plan::Ret(ret_for_errno(libc::ENOSYS));
        }
        let mut checks = Vec::new();
        let mut fallback = None;
        for (i, r) in self.rules.iter().enumerate().rev() {
            if !r.names(s) {
                continue;
            }
            let ret = self.kernel_ret_with(s, r.action, Some(i), deny_traced, kernel_opens);
            if r.conds.is_empty() {
                fallback = Some(ret);
                break;
            }
            checks.push((r.conds.clone(), ret));
        }
        let fallback = fallback.unwrap_or_else(|| {
            self.kernel_ret_with(s, self.default, None, deny_traced, kernel_opens)
        });
        let clone_builtin = s == Sysno::clone;
        if checks.is_empty() && !clone_builtin {
            Plan::Ret(fallback)
        } else {
            Plan::Cond {
                clone_builtin,
                checks,
                fallback,
            }
        }
    }

    /// What the filter does with `s` by number alone (for `show`).
    pub fn kernel_disposition(&self, s: Sysno) -> Disposition {
        match self.plan(s) {
            Plan::Ret(r) => disposition_of(r),
            Plan::Cond { .. } => Disposition::Conditional,
        }
    }

    /// The seccomp program enforcing this policy.
    pub fn compile(&self) -> Result<Vec<SockFilter>, PolicyError> {
        self.compile_with(false, false)
    }

    /// Like [`Policy::compile`], for a run whose Landlock ruleset enforces
    /// the path rules of the open family exactly (the caller has checked
    /// [`Policy::opens_checked_by_landlock`]): allowed `open`, `openat`,
    /// `openat2` and `creat` run without a stop; the kernel answers a path
    /// the rules do not allow with EACCES, as the supervisor would. Every
    /// other call with a restricted path still stops.
    pub fn compile_opens_in_kernel(&self) -> Result<Vec<SockFilter>, PolicyError> {
        self.compile_with(false, true)
    }

    /// Like [`Policy::compile`], but calls the policy denies stop for the
    /// supervisor (SECCOMP_RET_TRACE) instead of failing in the kernel, so
    /// `--trace-level denied` can record them; allowed calls still run
    /// without a stop. Built-ins (clone3, clone flags, ABIs) stay in the kernel.
    pub fn compile_denials_traced(&self) -> Result<Vec<SockFilter>, PolicyError> {
        self.compile_with(true, false)
    }

    fn compile_with(
        &self,
        deny_traced: bool,
        kernel_opens: bool,
    ) -> Result<Vec<SockFilter>, PolicyError> {
        // The result for numbers not in the dispatch tree: the default as it
        // applies to a call without paths.
        let generic = match self.default {
            Action::Allow => SECCOMP_RET_ALLOW,
            Action::Log | Action::Kill => trace_data(None),
            Action::Deny(_) if deny_traced => trace_data(None),
            Action::Deny(e) => ret_for_errno(e),
        };
        let mut entries: Vec<(u32, Leaf)> = Vec::new();
        let mut blocks: Vec<(Label, Plan)> = Vec::new();
        let mut b = Builder::default();
        for s in Sysno::iter() {
            let Ok(nr) = u32::try_from(s.id()) else {
                continue;
            };
            match self.plan_with(s, deny_traced, kernel_opens) {
                Plan::Ret(r) if r == generic => {}
                Plan::Ret(r) => entries.push((nr, Leaf::Ret(r))),
                p @ Plan::Cond { .. } => {
                    let l = b.label();
                    entries.push((nr, Leaf::Block(l)));
                    blocks.push((l, p));
                }
            }
        }
        entries.sort_by_key(|e| e.0);
        prologue(&mut b);
        tree(&mut b, &entries, generic);
        for (l, plan) in &blocks {
            b.place(*l);
            if let Plan::Cond {
                clone_builtin,
                checks,
                fallback,
            } = plan
            {
                if *clone_builtin {
                    b.fixed(BPF_LD_W_ABS, 0, 0, off_arg_lo(0));
                    b.fixed(BPF_JMP_JSET_K, 0, 1, CLONE_FORBIDDEN);
                    b.fixed(BPF_RET_K, 0, 0, ret_for_errno(libc::EPERM));
                }
                for (conds, ret) in checks {
                    let next = b.label();
                    for c in conds {
                        cond(&mut b, c, next);
                    }
                    b.fixed(BPF_RET_K, 0, 0, *ret);
                    b.place(next);
                }
                b.fixed(BPF_RET_K, 0, 0, *fallback);
            }
        }
        let prog = b.finish()?;
        if prog.len() > MAX_INSNS {
            return Err(PolicyError::ProgramTooLong { len: prog.len() });
        }
        Ok(prog)
    }

    /// Arch and x32 checks, then RET_TRACE for every native call (the
    /// supervisor calls [`Policy::decide`] on each, built-ins included).
    pub fn compile_trace_all(&self) -> Vec<SockFilter> {
        let mut b = Builder::default();
        prologue(&mut b);
        b.fixed(BPF_RET_K, 0, 0, SECCOMP_RET_TRACE);
        // The prologue has only local jumps: resolution cannot fail.
        b.finish().unwrap_or_default()
    }
}

pub(crate) fn disposition_of(r: u32) -> Disposition {
    match r & SECCOMP_RET_ACTION_FULL {
        SECCOMP_RET_ALLOW => Disposition::Allow,
        SECCOMP_RET_ERRNO => Disposition::Errno((r & SECCOMP_RET_DATA) as i32),
        SECCOMP_RET_TRACE => Disposition::Trace,
        _ => Disposition::Kill,
    }
}

#[derive(Clone, Copy, Debug)]
enum Leaf {
    Ret(u32),
    Block(Label),
}

fn prologue(b: &mut Builder) {
    b.fixed(BPF_LD_W_ABS, 0, 0, OFF_ARCH);
    b.fixed(BPF_JMP_JEQ_K, 1, 0, NATIVE_AUDIT_ARCH);
    b.fixed(BPF_RET_K, 0, 0, SECCOMP_RET_KILL_PROCESS);
    b.fixed(BPF_LD_W_ABS, 0, 0, OFF_NR);
    b.fixed(BPF_JMP_JEQ_K, 0, 1, u32::MAX);
    b.fixed(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW);
    if cfg!(target_arch = "x86_64") {
        b.fixed(BPF_JMP_JGE_K, 0, 1, X32_SYSCALL_BIT);
        b.fixed(BPF_RET_K, 0, 0, SECCOMP_RET_KILL_PROCESS);
    }
}

/// Binary dispatch on the number in A. Every conditional jump skips at most
/// one instruction; subtrees are reached with JA.
fn tree(b: &mut Builder, entries: &[(u32, Leaf)], generic: u32) {
    if entries.len() <= 4 {
        for (nr, leaf) in entries {
            b.fixed(BPF_JMP_JEQ_K, 0, 1, *nr);
            match leaf {
                Leaf::Ret(r) => b.fixed(BPF_RET_K, 0, 0, *r),
                Leaf::Block(l) => b.ja(*l),
            }
        }
        b.fixed(BPF_RET_K, 0, 0, generic);
        return;
    }
    let mid = entries.len() / 2;
    let right = b.label();
    b.fixed(BPF_JMP_JGE_K, 0, 1, entries[mid].0);
    b.ja(right);
    tree(b, &entries[..mid], generic);
    b.place(right);
    tree(b, &entries[mid..], generic);
}

/// Emit a 64-bit test of `c`; falls through when it holds, jumps to `fail`
/// when not.
fn cond(b: &mut Builder, c: &Cond, fail: Label) {
    let (mhi, mlo) = match c.mask {
        Some(m) => ((m >> 32) as u32, m as u32),
        None => (u32::MAX, u32::MAX),
    };
    let (vhi, vlo) = ((c.value >> 32) as u32, c.value as u32);
    let load = |b: &mut Builder, hi: bool| {
        if hi {
            b.fixed(BPF_LD_W_ABS, 0, 0, off_arg_hi(c.arg));
            if mhi != u32::MAX {
                b.fixed(BPF_ALU_AND_K, 0, 0, mhi);
            }
        } else {
            b.fixed(BPF_LD_W_ABS, 0, 0, off_arg_lo(c.arg));
            if mlo != u32::MAX {
                b.fixed(BPF_ALU_AND_K, 0, 0, mlo);
            }
        }
    };
    let pass = b.label();
    use Tgt::{Next, L};
    match c.op {
        CmpOp::Eq => {
            load(b, true);
            b.jcc(BPF_JMP_JEQ_K, vhi, Next, L(fail));
            load(b, false);
            b.jcc(BPF_JMP_JEQ_K, vlo, Next, L(fail));
        }
        CmpOp::Ne => {
            load(b, true);
            b.jcc(BPF_JMP_JEQ_K, vhi, Next, L(pass));
            load(b, false);
            b.jcc(BPF_JMP_JEQ_K, vlo, L(fail), Next);
        }
        CmpOp::Gt | CmpOp::Ge => {
            // hi > vhi: pass; hi < vhi: fail; equal: compare lo.
            load(b, true);
            b.jcc(BPF_JMP_JGT_K, vhi, L(pass), Next);
            b.jcc(BPF_JMP_JEQ_K, vhi, Next, L(fail));
            load(b, false);
            let code = if c.op == CmpOp::Gt {
                BPF_JMP_JGT_K
            } else {
                BPF_JMP_JGE_K
            };
            b.jcc(code, vlo, Next, L(fail));
        }
        CmpOp::Lt | CmpOp::Le => {
            // Negations of Ge / Gt.
            load(b, true);
            b.jcc(BPF_JMP_JGT_K, vhi, L(fail), Next);
            b.jcc(BPF_JMP_JEQ_K, vhi, Next, L(pass));
            load(b, false);
            let code = if c.op == CmpOp::Lt {
                BPF_JMP_JGE_K
            } else {
                BPF_JMP_JGT_K
            };
            b.jcc(code, vlo, L(fail), Next);
        }
    }
    b.place(pass);
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Label(usize);

#[derive(Clone, Copy, Debug)]
enum Tgt {
    Next,
    L(Label),
}

#[derive(Debug)]
enum Ins {
    Fixed(SockFilter),
    Ja(Label),
    Jcc { code: u16, k: u32, jt: Tgt, jf: Tgt },
    Place(Label),
}

/// Emits instructions with symbolic labels and resolves them at the end.
#[derive(Default)]
struct Builder {
    ins: Vec<Ins>,
    labels: usize,
}

impl Builder {
    fn label(&mut self) -> Label {
        self.labels += 1;
        Label(self.labels - 1)
    }
    fn place(&mut self, l: Label) {
        self.ins.push(Ins::Place(l));
    }
    fn fixed(&mut self, code: u16, jt: u8, jf: u8, k: u32) {
        self.ins.push(Ins::Fixed(SockFilter { code, jt, jf, k }));
    }
    fn ja(&mut self, l: Label) {
        self.ins.push(Ins::Ja(l));
    }
    fn jcc(&mut self, code: u16, k: u32, jt: Tgt, jf: Tgt) {
        self.ins.push(Ins::Jcc { code, k, jt, jf });
    }
    fn finish(self) -> Result<Vec<SockFilter>, PolicyError> {
        let mut pos = vec![usize::MAX; self.labels];
        let mut pc = 0usize;
        for i in &self.ins {
            match i {
                Ins::Place(l) => {
                    if let Some(p) = pos.get_mut(l.0) {
                        *p = pc;
                    }
                }
                _ => pc += 1,
            }
        }
        let internal = |m: &str| PolicyError::Compile(m.to_string());
        let target = |l: Label, pc: usize| -> Result<usize, PolicyError> {
            let p = pos.get(l.0).copied().unwrap_or(usize::MAX);
            if p == usize::MAX || p <= pc {
                return Err(internal("jump to an unplaced or earlier label"));
            }
            Ok(p - pc - 1)
        };
        let mut out = Vec::with_capacity(pc);
        for i in &self.ins {
            let pc = out.len();
            match i {
                Ins::Place(_) => {}
                Ins::Fixed(f) => out.push(*f),
                Ins::Ja(l) => {
                    let off = u32::try_from(target(*l, pc)?).map_err(|_| internal("JA offset"))?;
                    out.push(SockFilter {
                        code: BPF_JMP_JA,
                        jt: 0,
                        jf: 0,
                        k: off,
                    });
                }
                Ins::Jcc { code, k, jt, jf } => {
                    let off = |t: &Tgt| -> Result<u8, PolicyError> {
                        match t {
                            Tgt::Next => Ok(0),
                            Tgt::L(l) => u8::try_from(target(*l, pc)?)
                                .map_err(|_| internal("conditional jump longer than 255")),
                        }
                    };
                    out.push(SockFilter {
                        code: *code,
                        jt: off(jt)?,
                        jf: off(jf)?,
                        k: *k,
                    });
                }
            }
        }
        Ok(out)
    }
}

/// A classic-BPF interpreter for exactly the opcodes this module emits, over
/// a `struct seccomp_data`. Used by the tests, and public so the supervisor's
/// tests (and `policy check`) can run a filter without loading it.
pub fn run_filter(prog: &[SockFilter], nr: u32, arch: u32, args: &[u64; 6]) -> Result<u32, String> {
    let mut data = [0u8; 64];
    data[0..4].copy_from_slice(&nr.to_le_bytes());
    data[4..8].copy_from_slice(&arch.to_le_bytes());
    for (i, a) in args.iter().enumerate() {
        data[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_le_bytes());
    }
    let mut acc: u32 = 0;
    let mut pc = 0usize;
    for _ in 0..=prog.len() {
        let Some(ins) = prog.get(pc) else {
            return Err(format!("fell off the program at {pc}"));
        };
        pc += 1;
        let jump = |cond: bool, pc: usize| pc + usize::from(if cond { ins.jt } else { ins.jf });
        match ins.code {
            BPF_LD_W_ABS => {
                let k = ins.k as usize;
                let w = data
                    .get(k..k + 4)
                    .ok_or_else(|| format!("load out of range at {}", pc - 1))?;
                acc = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
            }
            BPF_ALU_AND_K => acc &= ins.k,
            BPF_JMP_JA => pc += ins.k as usize,
            BPF_JMP_JEQ_K => pc = jump(acc == ins.k, pc),
            BPF_JMP_JGT_K => pc = jump(acc > ins.k, pc),
            BPF_JMP_JGE_K => pc = jump(acc >= ins.k, pc),
            BPF_JMP_JSET_K => pc = jump(acc & ins.k != 0, pc),
            BPF_RET_K => return Ok(ins.k),
            c => return Err(format!("unknown opcode {c:#x} at {}", pc - 1)),
        }
    }
    Err("program does not terminate".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Call, Policy};
    use std::path::Path;

    fn pol(text: &str) -> Policy {
        match Policy::parse(text, "t.policy") {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        }
    }

    fn expected(p: &Policy, s: Sysno, args: [u64; 6]) -> u32 {
        let call = Call {
            sysno: s,
            args,
            paths: &[],
            cwd: Path::new("/"),
        };
        let d = p.decide(&call);
        match d.action {
            Action::Deny(e) => ret_for_errno(e),
            Action::Allow if p.sys_path_restricted(s) => SECCOMP_RET_TRACE,
            Action::Allow => SECCOMP_RET_ALLOW,
            Action::Log | Action::Kill => SECCOMP_RET_TRACE,
        }
    }

    fn action_of(r: u32) -> u32 {
        if r & SECCOMP_RET_ACTION_FULL == SECCOMP_RET_TRACE {
            SECCOMP_RET_TRACE
        } else {
            r
        }
    }

    fn run(prog: &[SockFilter], s: Sysno, args: [u64; 6]) -> u32 {
        match run_filter(prog, s.id() as u32, NATIVE_AUDIT_ARCH, &args) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn opens_in_kernel_only_lifts_the_open_family() {
        let p = Policy::builtin("default").unwrap().unwrap();
        let stops = p.compile().unwrap();
        let kernel = p.compile_opens_in_kernel().unwrap();
        let rd = [
            libc::AT_FDCWD as u64,
            0x1000,
            libc::O_RDONLY as u64,
            0,
            0,
            0,
        ];
        let wr = [
            libc::AT_FDCWD as u64,
            0x1000,
            libc::O_WRONLY as u64,
            0,
            0,
            0,
        ];
        for args in [rd, wr] {
            assert_eq!(
                action_of(run(&stops, Sysno::openat, args)),
                SECCOMP_RET_TRACE
            );
            assert_eq!(run(&kernel, Sysno::openat, args), SECCOMP_RET_ALLOW);
        }
        // Calls with paths outside the open family still stop.
        for s in [Sysno::unlink, Sysno::rename, Sysno::mkdirat] {
            assert_eq!(action_of(run(&kernel, s, rd)), SECCOMP_RET_TRACE, "{s}");
        }
        // What the policy kills or denies is unchanged.
        for s in [Sysno::fork, Sysno::ptrace, Sysno::getppid, Sysno::read] {
            assert_eq!(run(&kernel, s, rd), run(&stops, s, rd), "{s}");
        }
    }

    #[test]
    fn policy_compile_builtins() {
        for text in [
            "default allow\n",
            "default kill\nallow clone clone3\n",
            "default log\n",
        ] {
            let p = pol(text);
            let prog = p.compile().unwrap();
            let z = [0u64; 6];
            assert_eq!(
                run_filter(&prog, 0, AUDIT_ARCH_I386, &z),
                Ok(SECCOMP_RET_KILL_PROCESS)
            );
            assert_eq!(
                run_filter(
                    &prog,
                    0,
                    AUDIT_ARCH_AARCH64 ^ NATIVE_AUDIT_ARCH ^ AUDIT_ARCH_X86_64,
                    &z
                ),
                Ok(SECCOMP_RET_KILL_PROCESS)
            );
            #[cfg(target_arch = "x86_64")]
            {
                assert_eq!(
                    run_filter(&prog, X32_SYSCALL_BIT, NATIVE_AUDIT_ARCH, &z),
                    Ok(SECCOMP_RET_KILL_PROCESS)
                );
                assert_eq!(
                    run_filter(&prog, X32_SYSCALL_BIT | 1, NATIVE_AUDIT_ARCH, &z),
                    Ok(SECCOMP_RET_KILL_PROCESS)
                );
            }
            assert_eq!(
                run_filter(&prog, u32::MAX, NATIVE_AUDIT_ARCH, &z),
                Ok(SECCOMP_RET_ALLOW)
            );
            assert_eq!(run(&prog, Sysno::clone3, z), ret_for_errno(libc::ENOSYS));
            let untraced = [libc::CLONE_UNTRACED as u64, 0, 0, 0, 0, 0];
            assert_eq!(
                run(&prog, Sysno::clone, untraced),
                ret_for_errno(libc::EPERM)
            );
            let userns = [(libc::CLONE_NEWUSER | libc::SIGCHLD) as u64, 0, 0, 0, 0, 0];
            assert_eq!(run(&prog, Sysno::clone, userns), ret_for_errno(libc::EPERM));
            let thread = [
                (libc::CLONE_VM | libc::CLONE_THREAD | libc::CLONE_SIGHAND) as u64,
                0,
                0,
                0,
                0,
                0,
            ];
            assert_eq!(
                action_of(run(&prog, Sysno::clone, thread)),
                expected(&p, Sysno::clone, thread)
            );
        }
        let all = pol("default allow\n").compile_trace_all();
        assert_eq!(
            run_filter(&all, 0, AUDIT_ARCH_I386, &[0; 6]),
            Ok(SECCOMP_RET_KILL_PROCESS)
        );
        assert_eq!(run(&all, Sysno::read, [0; 6]), SECCOMP_RET_TRACE);
    }

    /// Deterministic xorshift; no extra dev-dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
            &v[(self.next() % v.len() as u64) as usize]
        }
    }

    const VALUES: &[u64] = &[
        0,
        1,
        2,
        3,
        7,
        0xff,
        0x100,
        0x7fff_ffff,
        0x8000_0000,
        0xffff_ffff,
        0x1_0000_0000,
        0x1_0000_0001,
        0xffff_ffff_0000_0000,
        u64::MAX,
        u64::MAX - 1,
        0x8000_0000_0000_0000,
    ];

    /// The heart of "same decisions in kernel and supervisor": random
    /// policies with conditional rules, random calls, BPF result == decide().
    #[test]
    fn policy_compile_matches_decide() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let names = [
            "read", "write", "socket", "clone", "mmap", "ioctl", "openat", "futex", "kill",
            "getpid",
        ];
        let ops = ["==", "!=", "<", "<=", ">", ">="];
        let actions = ["allow", "log", "kill", "deny", "deny EACCES", "deny 77"];
        for round in 0..200 {
            let mut text = format!(
                "default {}\n",
                rng.pick(&["kill", "allow", "log", "deny ENOSYS"])
            );
            if round % 3 == 0 {
                text.push_str("path write ./**\n");
            }
            for _ in 0..(rng.next() % 12) {
                let mut line = format!("{} {}", rng.pick(&actions), rng.pick(&names));
                if rng.next().is_multiple_of(3) {
                    line.push(' ');
                    let n: &&str = rng.pick(&names);
                    line.push_str(n);
                }
                let nconds = rng.next() % 3;
                for k in 0..nconds {
                    line.push_str(if k == 0 { " if " } else { " && " });
                    let arg = rng.next() % 6;
                    if rng.next().is_multiple_of(2) {
                        line.push_str(&format!("arg{arg} & {:#x} ", rng.pick(VALUES)));
                    } else {
                        line.push_str(&format!("arg{arg} "));
                    }
                    line.push_str(&format!("{} {:#x}", rng.pick(&ops), rng.pick(VALUES)));
                }
                text.push_str(&line);
                text.push('\n');
            }
            let p = pol(&text);
            let prog = match p.compile() {
                Ok(x) => x,
                Err(e) => panic!("{e}\n{text}"),
            };
            for _ in 0..200 {
                let s: Sysno = match names[(rng.next() % names.len() as u64) as usize].parse() {
                    Ok(s) => s,
                    Err(()) => continue,
                };
                let mut args = [0u64; 6];
                for a in args.iter_mut() {
                    *a = *rng.pick(VALUES)
                        ^ if rng.next().is_multiple_of(4) {
                            rng.next()
                        } else {
                            0
                        };
                }
                let got = action_of(run(&prog, s, args));
                let want = expected(&p, s, args);
                assert_eq!(got, want, "policy:\n{text}call {s} {args:x?}");
            }
            // Numbers no rule names follow the default.
            let got = action_of(run(&prog, Sysno::getppid, [0; 6]));
            assert_eq!(got, expected(&p, Sysno::getppid, [0; 6]), "{text}");
        }
    }

    #[test]
    fn policy_compile_64bit_compare() {
        let p = pol("default kill\nallow write if arg2 <= 0x100000000\ndeny EACCES read if arg0 & 0xffffffff00000000 == 0x100000000\n");
        let prog = p.compile().unwrap();
        let w = |n: u64| action_of(run(&prog, Sysno::write, [1, 0, n, 0, 0, 0]));
        assert_eq!(w(0x1_0000_0000), SECCOMP_RET_ALLOW);
        assert_eq!(w(0xffff_ffff), SECCOMP_RET_ALLOW);
        assert_eq!(w(0x1_0000_0001), SECCOMP_RET_TRACE);
        assert_eq!(w(0x2_0000_0000), SECCOMP_RET_TRACE);
        let r = |n: u64| run(&prog, Sysno::read, [n, 0, 0, 0, 0, 0]);
        assert_eq!(r(0x1_dead_beef), ret_for_errno(libc::EACCES));
        assert_eq!(action_of(r(0x2_0000_0000)), SECCOMP_RET_TRACE);
    }

    #[test]
    fn policy_compile_big_policy_fits_and_jumps_resolve() {
        // Every syscall conditional: many blocks, long JA jumps.
        let mut text = String::from("default kill\n");
        for s in Sysno::iter().take(300) {
            text.push_str(&format!("allow {s} if arg0 == 1\n"));
        }
        let p = pol(&text);
        let prog = p.compile().unwrap();
        assert!(prog.len() < MAX_INSNS);
        for s in Sysno::iter().take(300) {
            assert_eq!(
                action_of(run(&prog, s, [1, 0, 0, 0, 0, 0])),
                expected(&p, s, [1, 0, 0, 0, 0, 0]),
                "{s}"
            );
            assert_eq!(
                action_of(run(&prog, s, [2, 0, 0, 0, 0, 0])),
                expected(&p, s, [2, 0, 0, 0, 0, 0]),
                "{s}"
            );
        }
        // Too long: many conditions on every call.
        let mut text = String::from("default kill\n");
        for s in Sysno::iter() {
            text.push_str(&format!(
                "allow {s} if arg0 == 1 && arg1 == 2 && arg2 == 3\n"
            ));
        }
        assert!(matches!(
            pol(&text).compile(),
            Err(PolicyError::ProgramTooLong { .. })
        ));
    }

    #[test]
    fn policy_compile_allowed_numbers_do_not_load_args() {
        // The action cache needs ALLOWed numbers decided without an arg load:
        // walk the program for `read` and check no LD of offset >= 16 happens
        // before the RET.
        let p = pol("default kill\nallow read write\nallow socket if arg0 == AF_UNIX\n");
        let prog = p.compile().unwrap();
        let mut pc = 0usize;
        let nr = Sysno::read.id() as u32;
        let mut acc = 0u32;
        loop {
            let i = prog[pc];
            pc += 1;
            match i.code {
                BPF_LD_W_ABS => {
                    assert!(i.k < 16, "argument load on the path of an allowed call");
                    acc = if i.k == OFF_NR { nr } else { NATIVE_AUDIT_ARCH };
                }
                BPF_JMP_JA => pc += i.k as usize,
                BPF_JMP_JEQ_K => pc += usize::from(if acc == i.k { i.jt } else { i.jf }),
                BPF_JMP_JGE_K => pc += usize::from(if acc >= i.k { i.jt } else { i.jf }),
                BPF_JMP_JGT_K => pc += usize::from(if acc > i.k { i.jt } else { i.jf }),
                BPF_RET_K => {
                    assert_eq!(i.k, SECCOMP_RET_ALLOW);
                    break;
                }
                c => panic!("unexpected opcode {c:#x} before the verdict"),
            }
        }
    }
}
