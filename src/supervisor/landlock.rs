//! The supervisor's side of Landlock: ask the kernel, compile the policy's
//! path rules, refuse a run the kernel cannot protect (unless the policy or
//! the command line says `landlock optional`), and create the ruleset the
//! child fills after its mounts (src/jail.rs).

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use serde::Serialize;

use crate::config::RunConfig;
use crate::error::{Result, SandboxError};
use crate::jail::ChildLandlock;
use crate::policy::KernelLandlock;

/// Which layers enforced a run's path rules (in the JSON report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct PathEnforcement {
    /// `landlock+ptrace`, `ptrace` (Landlock missing, `landlock optional`),
    /// or `none` (no read, write or exec path rules).
    pub layers: String,
    /// The kernel's Landlock ABI when it was used.
    pub landlock_abi: Option<i32>,
}

/// What the run gets.
pub struct Prepared {
    /// The ruleset descriptor; kept open until the child has forked.
    pub ruleset: Option<OwnedFd>,
    pub child: Option<ChildLandlock>,
    /// The rules' paths, for setup error messages.
    pub paths: Vec<String>,
    pub enforcement: Option<PathEnforcement>,
    /// A line for the report when the path rules are weaker than asked.
    pub warning: Option<String>,
    /// Landlock enforces the open family's path rules exactly: the filter
    /// lets allowed opens run without a stop
    /// ([`crate::policy::Policy::opens_checked_by_landlock`]).
    pub opens_in_kernel: bool,
}

/// Decides and prepares Landlock for a run (paranoid mode only).
pub fn prepare(cfg: &RunConfig) -> Result<Prepared> {
    let none = Prepared {
        ruleset: None,
        child: None,
        paths: Vec::new(),
        enforcement: None,
        warning: None,
        opens_in_kernel: false,
    };
    let Some(policy) = &cfg.policy else {
        return Ok(none);
    };
    if !policy.landlock_relevant() {
        return Ok(Prepared {
            enforcement: Some(PathEnforcement {
                layers: "none".into(),
                landlock_abi: None,
            }),
            ..none
        });
    }
    let kernel = KernelLandlock::detect();
    if !policy.net_rules().is_empty() {
        match kernel.abi() {
            Some(abi) if abi >= 4 => {}
            Some(abi) => {
                return Err(SandboxError::NoLandlockNet {
                    why: format!("this kernel's Landlock is ABI {abi}"),
                })
            }
            None => {
                return Err(SandboxError::NoLandlockNet {
                    why: kernel.why().into(),
                })
            }
        }
    }
    let Some(abi) = kernel.abi() else {
        if !policy.landlock_optional() {
            return Err(SandboxError::NoLandlock {
                why: kernel.why().into(),
            });
        }
        let warning = format!(
            "path rules enforced by the supervisor's ptrace check only (landlock optional): {}",
            kernel.why()
        );
        log::debug!("{warning}");
        return Ok(Prepared {
            enforcement: Some(PathEnforcement {
                layers: "ptrace".into(),
                landlock_abi: None,
            }),
            warning: Some(warning),
            ..none
        });
    };
    let base = cfg
        .chroot_dir
        .clone()
        .unwrap_or_else(|| std::path::PathBuf::from("/"));
    let workdir = cfg.exec_dir.clone().unwrap_or_default();
    let loaders = interpreters(&base, &workdir, &cfg.program);
    let Some(plan) = policy.landlock_plan(abi, &cfg.program, &loaders) else {
        return Ok(none);
    };
    for r in &plan.rules {
        log::debug!(
            "landlock: {} {:#x} (from {}{})",
            r.path,
            r.access,
            r.from,
            if r.wider {
                ", wider than the pattern"
            } else {
                ""
            }
        );
    }
    // The path of a rule as the run sees it, on the host.
    let host = |p: &str| {
        let p = Path::new(p);
        let p = if p.is_absolute() {
            p.to_path_buf()
        } else {
            workdir.join(p)
        };
        base.join(p.strip_prefix("/").unwrap_or(&p))
    };
    // Whether a rule's path, as the run sees it with symlinks resolved, is
    // `/`, `/proc` or below a `/proc/PID` (the host's: the supervisor's own
    // /proc/self included, so a path below /proc/self counts too).
    let reaches_proc = |p: &str| {
        let h = host(p);
        let real = std::fs::canonicalize(&h).unwrap_or(h);
        let Ok(view) = real.strip_prefix(&base) else {
            return true; // outside the run's root: do not trust it
        };
        let mut c = view.components().filter_map(|c| match c {
            std::path::Component::Normal(n) => Some(n.to_string_lossy().into_owned()),
            _ => None,
        });
        match (c.next().as_deref(), c.next()) {
            (None, _) => true,
            (Some("proc"), None) => true,
            (Some("proc"), Some(pid)) => pid.bytes().all(|b| b.is_ascii_digit()),
            _ => false,
        }
    };
    let opens_in_kernel = match policy.opens_checked_by_landlock(
        abi,
        |p| host(p).is_dir(),
        // `/proc/self` itself is the program's own directory; a path below
        // it may pass a magic link (`root`, `cwd`, `fd/N`): not trusted.
        |p| p != "/proc/self" && p != "/proc/thread-self" && reaches_proc(p),
    ) {
        Ok(()) => {
            log::debug!("landlock checks the open family: allowed opens do not stop");
            true
        }
        Err(why) => {
            log::debug!("opens stop for the supervisor: {why}");
            false
        }
    };
    let fd = plan.create_ruleset().map_err(SandboxError::Internal)?;
    let rules = plan.child_rules().map_err(SandboxError::Usage)?;
    Ok(Prepared {
        child: Some(ChildLandlock {
            ruleset: fd.as_raw_fd(),
            rules,
            file_access: plan.file_access,
        }),
        ruleset: Some(fd),
        paths: plan.rules.iter().map(|r| r.path.clone()).collect(),
        enforcement: Some(PathEnforcement {
            layers: "landlock+ptrace".into(),
            landlock_abi: Some(abi),
        }),
        warning: None,
        opens_in_kernel,
    })
}

/// The interpreters the kernel executes along with `program` (as the run
/// names them): its ELF interpreter (PT_INTERP), or for a `#!` script the
/// script's interpreter and that one's ELF interpreter. Read before fork
/// from the host (through the chroot when there is one); best effort: a
/// file that cannot be read adds nothing.
pub fn interpreters(
    root: &std::path::Path,
    workdir: &std::path::Path,
    program: &std::path::Path,
) -> Vec<std::path::PathBuf> {
    use std::path::{Path, PathBuf};
    let host = |p: &Path| -> PathBuf {
        let p = if p.is_absolute() {
            p.to_path_buf()
        } else {
            workdir.join(p)
        };
        root.join(p.strip_prefix("/").unwrap_or(&p))
    };
    let mut out = Vec::new();
    let mut next = Some(program.to_path_buf());
    for _ in 0..2 {
        let Some(p) = next.take() else { break };
        // Only files anyone may read: a setuid safeexec reads this as root
        // and must not look into files its caller could not.
        let readable = std::fs::metadata(host(&p))
            .map(|m| {
                use std::os::unix::fs::PermissionsExt;
                m.permissions().mode() & 0o004 != 0
            })
            .unwrap_or(false);
        if !readable {
            break;
        }
        let mut head = vec![0u8; 4096];
        let n = match std::fs::File::open(host(&p)).and_then(|mut f| {
            use std::io::Read;
            f.read(&mut head)
        }) {
            Ok(n) => n,
            Err(_) => break,
        };
        head.truncate(n);
        if let Some(rest) = head.strip_prefix(b"#!") {
            let line = rest.split(|b| *b == b'\n').next().unwrap_or(b"");
            let line = String::from_utf8_lossy(line);
            if let Some(i) = line.split_whitespace().next() {
                out.push(PathBuf::from(i));
                next = Some(PathBuf::from(i));
            }
            continue;
        }
        if let Some(i) = elf_interp(&host(&p)) {
            out.push(i);
        }
        break;
    }
    out
}

/// PT_INTERP of a 64-bit little-endian ELF file.
fn elf_interp(file: &std::path::Path) -> Option<std::path::PathBuf> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(file).ok()?;
    let mut eh = [0u8; 64];
    f.read_exact(&mut eh).ok()?;
    if &eh[..4] != b"\x7fELF" || eh[4] != 2 || eh[5] != 1 {
        return None;
    }
    let u16_at = |b: &[u8], o: usize| u16::from_le_bytes([b[o], b[o + 1]]) as u64;
    let u64_at = |b: &[u8], o: usize| {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[o..o + 8]);
        u64::from_le_bytes(a)
    };
    let (phoff, phentsize, phnum) = (u64_at(&eh, 32), u16_at(&eh, 54), u16_at(&eh, 56));
    if phentsize < 56 || phnum > 256 {
        return None;
    }
    let mut ph = vec![0u8; (phentsize * phnum) as usize];
    f.seek(SeekFrom::Start(phoff)).ok()?;
    f.read_exact(&mut ph).ok()?;
    for i in 0..phnum as usize {
        let e = &ph[i * phentsize as usize..];
        if u32::from_le_bytes([e[0], e[1], e[2], e[3]]) == 3 {
            let (off, size) = (u64_at(e, 8), u64_at(e, 32));
            if size == 0 || size > 4096 {
                return None;
            }
            let mut s = vec![0u8; size as usize];
            f.seek(SeekFrom::Start(off)).ok()?;
            f.read_exact(&mut s).ok()?;
            let s = s.split(|b| *b == 0).next()?;
            return Some(std::path::PathBuf::from(
                String::from_utf8_lossy(s).into_owned(),
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_interpreter_of_a_dynamic_program_is_found() {
        let i = super::interpreters("/".as_ref(), "/".as_ref(), "/usr/bin/python3".as_ref());
        assert!(
            i.iter().any(|p| p.to_string_lossy().contains("ld-linux")),
            "{i:?}"
        );
    }
}
