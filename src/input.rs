//! Files safeexec reads on a caller's behalf: policy files and their
//! includes, traces (`audit`, `policy learn --from`) and the
//! administrator's /etc/safeexec.conf.
//!
//! Each is opened without blocking (`O_NONBLOCK`, so a FIFO with no writer
//! or a device cannot hang the open), must then be a regular file by
//! `fstat` of the open descriptor (so `/dev/zero`, `/dev/urandom`, a FIFO,
//! a socket or a directory are refused before one byte is read), and is
//! read with a size bound, so a setuid safeexec never lets a caller make it
//! allocate or spin without limit. The bounds:
//!
//! | file | bound |
//! |---|---|
//! | one policy file | [`MAX_POLICY_BYTES`] (1 MiB) |
//! | a policy with all its includes | [`MAX_POLICY_TOTAL_BYTES`] (4 MiB of text parsed) and [`MAX_POLICY_FILES`] (64 parsed files, shipped ones and repeats counted) |
//! | /etc/safeexec.conf | [`MAX_CONF_BYTES`] (64 KiB) |
//! | a trace | [`MAX_TRACE_BYTES`] (4 GiB, more than any `--trace-limit`), streamed; one record at most [`MAX_TRACE_LINE`] (1 MiB) |

use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// Largest policy file, bytes.
pub const MAX_POLICY_BYTES: u64 = 1 << 20;
/// Largest total of policy text parsed for one policy (the file and every
/// include, shipped policies and repeats counted each time), bytes.
pub const MAX_POLICY_TOTAL_BYTES: u64 = 4 << 20;
/// Most files (and shipped policies) parsed for one policy, repeats
/// counted: keeps a fan-out of includes (a file including another eight
/// times, sixteen levels deep) from costing 8^15 parses.
pub const MAX_POLICY_FILES: usize = 64;
/// Largest /etc/safeexec.conf, bytes.
pub const MAX_CONF_BYTES: u64 = 64 << 10;
/// Largest trace `audit` and `policy learn` read, bytes: the largest
/// `--trace-limit` plus room for the final record.
pub const MAX_TRACE_BYTES: u64 = (crate::trace::MAX_TRACE_LIMIT_KIB << 10) + (64 << 10);
/// Longest trace line (one record), bytes. safeexec's own records stay far
/// below (a record with six 4 KiB paths is under 64 KiB).
pub const MAX_TRACE_LINE: usize = 1 << 20;

/// A size as a person reads it: `1 MiB`, `64 KiB`, `100 bytes`.
pub fn human_size(n: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (u, name) in UNITS {
        if n >= u && n.is_multiple_of(u) {
            return format!("{} {name}", n / u);
        }
    }
    format!("{n} bytes")
}

fn kind_of(meta: &Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
}

/// An error that is not the system's: a message of our own.
fn refused(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// Opens `path` read-only without blocking and checks, on the descriptor,
/// that it is a regular file. `follow`: false refuses a symbolic link as
/// the last component (`O_NOFOLLOW`). Errors of the open are the system's
/// (so callers can tell a missing file); a file of another type is an
/// `InvalidInput` error saying what it is.
pub fn open_regular(path: &Path, follow: bool) -> io::Result<(File, Metadata)> {
    let mut flags = libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC;
    if !follow {
        flags |= libc::O_NOFOLLOW;
    }
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)?;
    let meta = f.metadata()?;
    if !meta.file_type().is_file() {
        return Err(refused(format!(
            "not a regular file ({}): refused",
            kind_of(&meta)
        )));
    }
    Ok((f, meta))
}

/// The "over the bound" error for `what` (e.g. "a policy file").
pub fn too_large(what: &str, limit: u64) -> io::Error {
    refused(format!(
        "larger than {}, the bound for {what}: refused",
        human_size(limit)
    ))
}

/// Reads an open file's text, at most `limit` bytes (the file may grow
/// between `fstat` and the read: the read itself is bounded).
pub fn read_open(f: File, meta: &Metadata, limit: u64, what: &str) -> io::Result<String> {
    if meta.len() > limit {
        return Err(too_large(what, limit));
    }
    let mut buf = Vec::with_capacity(meta.len() as usize);
    f.take(limit + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        return Err(too_large(what, limit));
    }
    String::from_utf8(buf).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
        )
    })
}

/// The one reader of small files safeexec reads for a caller: a regular
/// file, opened without blocking, read whole up to `limit` bytes. `what`
/// names the file's kind in the bound's message ("a policy file").
pub fn read_bounded(path: &Path, limit: u64, what: &str) -> io::Result<String> {
    let (f, meta) = open_regular(path, true)?;
    read_open(f, &meta, limit, what)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn refuses_devices_fifos_and_directories_at_once() {
        let d = tempfile::tempdir().unwrap();
        let fifo = d.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let t = Instant::now();
        for (p, kind) in [
            (Path::new("/dev/zero"), "a character device"),
            (Path::new("/dev/urandom"), "a character device"),
            (fifo.as_path(), "a FIFO"),
            (d.path(), "a directory"),
        ] {
            let e = read_bounded(p, 1 << 20, "a policy file").unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{p:?}: {e}");
            assert!(e.to_string().contains(kind), "{p:?}: {e}");
        }
        assert!(t.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn reads_up_to_the_bound_and_names_it() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        std::fs::write(&p, vec![b'a'; 1024]).unwrap();
        assert_eq!(read_bounded(&p, 1024, "x").unwrap().len(), 1024);
        let e = read_bounded(&p, 1023, "a policy file").unwrap_err();
        assert_eq!(
            e.to_string(),
            "larger than 1023 bytes, the bound for a policy file: refused"
        );
        assert_eq!(human_size(MAX_POLICY_BYTES), "1 MiB");
        // a missing file keeps the system's error (callers tell ENOENT)
        let e = read_bounded(&d.path().join("nope"), 10, "x").unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENOENT));
        // a symbolic link is refused when asked
        let l = d.path().join("l");
        std::os::unix::fs::symlink(&p, &l).unwrap();
        assert_eq!(
            open_regular(&l, false).unwrap_err().raw_os_error(),
            Some(libc::ELOOP)
        );
        assert!(open_regular(&l, true).is_ok());
    }
}
