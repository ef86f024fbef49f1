//! Files safeexec writes or reads for its caller (report, error file,
//! trace, learned policy): opened with the caller's rights, never through a
//! symbolic link, and with one wording for "missing" and "forbidden".

use std::fs::File;
use std::os::fd::OwnedFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::error::{Result, SandboxError};

/// Opens a file safeexec writes for the caller (created 0644 if missing),
/// never through a symbolic link, close-on-exec, and with the caller's
/// rights when the caller is not root.
pub fn open_output(what: &'static str, path: &Path) -> Result<File> {
    let caller = crate::caller::unprivileged_caller();
    let _fs = crate::sys::setuid::CallerFs::enter(caller)
        .map_err(|e| SandboxError::sys("setfsuid(caller)", e))?;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
        .open(path)
        .map_err(|source| {
            if caller.is_some() && hidden(&source) {
                SandboxError::Inaccessible {
                    what,
                    path: path.to_path_buf(),
                    code: crate::error::EXIT_OUTPUT,
                }
            } else {
                SandboxError::Output {
                    what,
                    path: path.to_path_buf(),
                    source,
                }
            }
        })
}

/// Errors that must read the same for a missing file and a forbidden one.
pub fn hidden(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOENT | libc::EACCES | libc::EPERM | libc::ELOOP | libc::ENOTDIR)
    )
}

/// While alive, the process's stdout goes to its stderr (`policy learn`
/// prints the policy on stdout, so the learning run's program must not);
/// dropping it puts stdout back.
pub struct StdoutToStderr(Option<OwnedFd>);

impl StdoutToStderr {
    pub fn begin() -> StdoutToStderr {
        StdoutToStderr(crate::sys::stdout_to_stderr())
    }
}

impl Drop for StdoutToStderr {
    fn drop(&mut self) {
        if let Some(fd) = self.0.take() {
            crate::sys::restore_stdout(fd);
        }
    }
}
