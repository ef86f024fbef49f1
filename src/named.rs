//! The paths a command line names: the program, each argument that names
//! an existing file or directory (and each entry of a colon-separated
//! argument, such as a class path), `--exec_dir`, `--chroot_dir`,
//! `--allow-read` and `--allow-write`. They are resolved once, when the run
//! is resolved, with the caller's rights ([`crate::caller::as_caller`]), and
//! become:
//!
//! - what the private /tmp keeps visible (src/isolate/plan.rs), read-only
//!   unless it is the working directory or an `--allow-write` path;
//! - what `$ARGS` in a policy's `path` line means (src/policy/model.rs);
//! - for `--allow-read` / `--allow-write`, path rules of their own.
//!
//! An argument that names nothing the caller can read is an ordinary word
//! (it is passed on, nothing more). An `--allow-read` / `--allow-write` path
//! that is missing or that the caller may not read (or write) is a bad
//! start; for a caller other than root it must also lie under the
//! administrator's `allowed_dirs`.

use std::path::{Path, PathBuf};

use crate::adminconf::AdminConf;
use crate::config::{NamedPath, NamedWhat, RunConfig};
use crate::error::{Result, SandboxError, EXIT_SETUP};
use crate::sys;

/// At most this many candidates are looked at (a command line of a
/// hundred thousand arguments costs no more than this many lookups).
pub const MAX_CANDIDATES: usize = 4096;

/// An existing path as the caller resolves it.
struct Found {
    path: PathBuf,
    dir: bool,
    /// The caller may read it (a directory: read and search it), and write
    /// it when `write` was asked.
    usable: bool,
}

/// Resolves `p` with the current file-system identity.
fn probe(p: &Path, write: bool) -> Option<Found> {
    let path = std::fs::canonicalize(p).ok()?;
    let md = std::fs::metadata(&path).ok()?;
    let dir = md.is_dir();
    let mut mode = libc::R_OK;
    if dir {
        mode |= libc::X_OK;
    }
    if write {
        mode |= libc::W_OK;
    }
    let usable = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
        .ok()
        .and_then(|c| sys::fdops::open_path(None, &c, dir, 0).ok())
        .is_some_and(|fd| sys::setuid::access_fd(&fd, mode).is_ok());
    Some(Found { path, dir, usable })
}

/// The words of one argument that may name paths: the argument, and when it
/// holds colons, each non-empty entry of the list.
fn candidates(arg: &std::ffi::OsStr) -> Vec<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let b = arg.as_bytes();
    if b.is_empty() {
        return Vec::new();
    }
    let mut v = vec![PathBuf::from(arg)];
    if b.contains(&b':') {
        v.extend(
            b.split(|c| *c == b':')
                .filter(|e| !e.is_empty())
                .map(|e| PathBuf::from(std::ffi::OsStr::from_bytes(e))),
        );
    }
    v
}

/// The named paths of `cfg`, resolved with the caller's rights; `caller`
/// (a setuid caller other than root) is bound by `allowed_dirs`.
pub fn collect(
    cfg: &RunConfig,
    conf: &AdminConf,
    caller: Option<(u32, u32)>,
) -> Result<Vec<NamedPath>> {
    crate::caller::as_caller(|| collect_here(cfg, conf, caller.is_some()))
}

fn collect_here(cfg: &RunConfig, conf: &AdminConf, bound: bool) -> Result<Vec<NamedPath>> {
    let cwd =
        std::env::current_dir().map_err(|e| SandboxError::Internal(format!("getcwd: {e}")))?;
    let mut out: Vec<NamedPath> = Vec::new();
    let push = |out: &mut Vec<NamedPath>, f: Found, what| {
        let n = NamedPath {
            path: f.path,
            dir: f.dir,
            what,
        };
        if !out.contains(&n) {
            out.push(n);
        }
    };
    for (opt, what, list, write) in [
        ("--allow-read", NamedWhat::AllowRead, &cfg.allow_read, false),
        (
            "--allow-write",
            NamedWhat::AllowWrite,
            &cfg.allow_write,
            true,
        ),
    ] {
        for p in list {
            let gone = || SandboxError::Inaccessible {
                what: if write {
                    "--allow-write path"
                } else {
                    "--allow-read path"
                },
                path: p.clone(),
                code: EXIT_SETUP,
            };
            let f = probe(&cwd.join(p), write).ok_or_else(gone)?;
            if !f.usable {
                return Err(gone());
            }
            if bound && !conf.dir_allowed(&f.path) {
                return Err(conf.not_allowed(opt, p));
            }
            push(&mut out, f, what);
        }
    }
    if let Some(root) = &cfg.chroot_dir {
        // Inside a chroot the program and its arguments are the chroot's
        // paths, not the host's: only the chroot itself is named.
        if let Some(f) = probe(&cwd.join(root), false) {
            push(&mut out, f, NamedWhat::ChrootDir);
        }
        return Ok(out);
    }
    let base = match &cfg.exec_dir {
        Some(d) => match probe(&cwd.join(d), false) {
            Some(f) => {
                let p = f.path.clone();
                push(&mut out, f, NamedWhat::ExecDir);
                p
            }
            // Checked (and refused) where the run opens it.
            None => cwd.join(d),
        },
        None => cwd,
    };
    let mut looked = 0usize;
    let program = std::iter::once((NamedWhat::Program, cfg.program.clone()));
    let args = cfg
        .args
        .iter()
        .flat_map(|a| candidates(a))
        .map(|p| (NamedWhat::Argument, p));
    for (what, p) in program.chain(args) {
        looked += 1;
        if looked > MAX_CANDIDATES {
            log::debug!("named paths: only the first {MAX_CANDIDATES} candidates are looked at");
            break;
        }
        match probe(&base.join(&p), false) {
            Some(f) if f.usable => push(&mut out, f, what),
            Some(f) => log::debug!(
                "named paths: {} is not readable by the caller: not named",
                f.path.display()
            ),
            None => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_class_path_names_each_entry() {
        let c = candidates("/a/b:/c::d".as_ref());
        assert_eq!(
            c,
            vec![
                PathBuf::from("/a/b:/c::d"),
                PathBuf::from("/a/b"),
                PathBuf::from("/c"),
                PathBuf::from("d")
            ]
        );
        assert!(candidates("".as_ref()).is_empty());
    }

    #[test]
    fn existing_arguments_are_named_and_words_are_not() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("main.py");
        std::fs::write(&f, "print(1)\n").unwrap();
        let mut cfg = RunConfig::new("/bin/true");
        cfg.args = vec![
            f.clone().into(),
            "10".into(),
            format!("{}:/nonexistent-x", d.path().display()).into(),
        ];
        let n = collect_here(&cfg, &AdminConf::default(), false).unwrap();
        let canon = |p: &Path| std::fs::canonicalize(p).unwrap();
        assert!(n
            .iter()
            .any(|x| x.path == canon(&f) && !x.dir && x.what == NamedWhat::Argument));
        assert!(n
            .iter()
            .any(|x| x.path == canon(d.path()) && x.dir && x.what == NamedWhat::Argument));
        assert!(n
            .iter()
            .any(|x| x.path == canon(Path::new("/bin/true")) && x.what == NamedWhat::Program));
        assert!(!n.iter().any(|x| x.path.ends_with("10")));
        assert_eq!(n.len(), 3, "{n:?}");
    }

    #[test]
    fn a_missing_allow_read_path_is_a_bad_start() {
        let mut cfg = RunConfig::new("/bin/true");
        cfg.allow_read = vec!["/nonexistent-safeexec-x".into()];
        let e = collect_here(&cfg, &AdminConf::default(), false).unwrap_err();
        assert_eq!(e.exit_code(), EXIT_SETUP, "{e}");
    }
}
