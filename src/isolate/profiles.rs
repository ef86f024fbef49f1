//! Shipped jail profiles: what each runtime needs, bound read-only.

use std::path::{Path, PathBuf};

use super::mounts::JailSpec;
use super::Bind;

/// The profile names `--jail` accepts.
pub const NAMES: &[&str] = &["c", "python3", "java"];

fn ro(p: &str) -> Bind {
    Bind {
        src: p.into(),
        dst: p.into(),
        writable: false,
    }
}

/// Paths every profile binds (those that exist on this host).
const BASE: &[&str] = &["/usr", "/lib", "/lib64", "/bin", "/etc/ld.so.cache"];

/// The read-only binds of profile `name`; None if there is no such profile.
pub fn profile(name: &str) -> Option<Vec<Bind>> {
    let extra: &[&str] = match name {
        "c" => &[],
        "python3" => &["/etc/alternatives", "/etc/localtime"],
        "java" => &["/etc/alternatives", "/etc/localtime"],
        _ => return None,
    };
    let mut v: Vec<Bind> = BASE.iter().chain(extra).map(|p| ro(p)).collect();
    if name == "java" {
        // Debian keeps the JDK's conf in /etc/java-NN-openjdk.
        if let Ok(rd) = std::fs::read_dir("/etc") {
            let mut dirs: Vec<PathBuf> = rd
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("java"))
                })
                .collect();
            dirs.sort();
            v.extend(dirs.into_iter().map(|p| Bind {
                src: p.clone(),
                dst: p,
                writable: false,
            }));
        }
    }
    Some(v)
}

/// The limits runtime `name` needs, as a policy's `limit` lines give them
/// (None: not set here). A run with `--jail NAME` takes them under the
/// request's and the policy's own (src/resolve.rs), so `--jail java` can
/// start a JVM (its GC and compiler threads count as processes) in classic
/// mode as `--policy java` can. The same values as the shipped policies.
pub fn limits(name: &str) -> crate::policy::Limits {
    use crate::policy::Limits;
    match name {
        "python3" => Limits {
            cpu: Some(2.0),
            clock: Some(10.0),
            memory: Some(262_144),
            // threading.Thread: worker threads count as processes.
            nproc: Some(8),
            ..Limits::default()
        },
        "java" => Limits {
            cpu: Some(4.0),
            clock: Some(15.0),
            memory: Some(1_048_576),
            nproc: Some(64),
            ..Limits::default()
        },
        _ => Limits::default(),
    }
}

/// The install prefix of `program` when it lies outside every bind
/// (`/root/.pyenv/versions/3.12.1/bin/python3.12` -> `/root/.pyenv/versions/3.12.1`).
/// `program` is the canonical path (read from its descriptor).
pub fn program_prefix(program: &Path, binds: &[Bind]) -> Option<PathBuf> {
    let real = program;
    if binds.iter().any(|b| real.starts_with(&b.src)) {
        return None;
    }
    let bin = real.parent()?;
    let prefix = if bin.file_name().is_some_and(|n| n == "bin") {
        bin.parent()?
    } else {
        bin
    };
    (prefix != Path::new("/")).then(|| prefix.to_path_buf())
}

/// Expands a profile plus the user's binds into a jail: a top-level path
/// that is a symlink on the host (/lib -> usr/lib) becomes the same symlink;
/// missing profile paths are skipped; missing user sources are an error.
pub fn expand(
    profile_binds: Vec<Bind>,
    user_binds: &[Bind],
    tmpfs: &[PathBuf],
    hidepid: bool,
) -> Result<JailSpec, String> {
    let mut spec = JailSpec {
        tmpfs: tmpfs.to_vec(),
        hidepid,
        ..Default::default()
    };
    for b in profile_binds {
        match std::fs::symlink_metadata(&b.src) {
            Ok(md) if md.file_type().is_symlink() && b.src == b.dst => {
                if let Ok(t) = std::fs::read_link(&b.src) {
                    if t.is_relative() {
                        spec.symlinks.push((b.dst.clone(), t));
                        continue;
                    }
                }
                spec.binds.push(canonical_src(b));
            }
            Ok(_) => spec.binds.push(canonical_src(b)),
            Err(_) => log::debug!("jail: {} is missing here, not bound", b.src.display()),
        }
    }
    for b in user_binds {
        if let Err(e) = std::fs::metadata(&b.src) {
            return Err(format!("bind source {}: {e}", b.src.display()));
        }
        spec.binds.push(canonical_src(b.clone()));
    }
    Ok(spec)
}

/// The source with its symlinks resolved on the host: inside the namespace
/// an absolute link would point into the scaffolding, not the host.
fn canonical_src(mut b: Bind) -> Bind {
    if let Ok(real) = std::fs::canonicalize(&b.src) {
        b.src = real;
    }
    b
}
