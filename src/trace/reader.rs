//! Reading a trace back (`safeexec audit`, `safeexec policy learn --from`):
//! one reader for both, streaming record by record, bounded in file size
//! ([`crate::input::MAX_TRACE_BYTES`]) and line length
//! ([`crate::input::MAX_TRACE_LINE`]).

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Take};
use std::path::{Path, PathBuf};

use super::{Event, Record};
use crate::error::SandboxError;
use crate::input::{self, MAX_TRACE_BYTES, MAX_TRACE_LINE};

/// Streams the records of a trace file. Lines that are not records (a last
/// line cut short, a line over the length bound) are counted and skipped;
/// [`TraceReader::finish`] refuses a file with no record at all.
pub struct TraceReader {
    r: BufReader<Take<File>>,
    path: PathBuf,
    line: Vec<u8>,
    read: u64,
    records: u64,
    unreadable: u64,
    truncated: Option<u64>,
}

impl TraceReader {
    /// Opens a trace: a regular file (opened without blocking) of at most
    /// [`MAX_TRACE_BYTES`].
    pub fn open(path: &Path) -> Result<TraceReader, SandboxError> {
        let not_trace = |why: String| SandboxError::NotATrace {
            path: path.to_path_buf(),
            why,
        };
        let (f, meta) = match input::open_regular(path, true) {
            Ok(x) => x,
            Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => {
                return Err(not_trace(e.to_string()))
            }
            Err(source) => {
                return Err(SandboxError::Path {
                    what: "trace file",
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        if meta.len() > MAX_TRACE_BYTES {
            return Err(not_trace(
                input::too_large("a trace", MAX_TRACE_BYTES).to_string(),
            ));
        }
        Ok(TraceReader {
            r: BufReader::with_capacity(64 * 1024, f.take(MAX_TRACE_BYTES + 1)),
            path: path.to_path_buf(),
            line: Vec::new(),
            read: 0,
            records: 0,
            unreadable: 0,
            truncated: None,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records read so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Lines that were not records, so far.
    pub fn unreadable_lines(&self) -> u64 {
        self.unreadable
    }

    /// The bound of a trace that ended with a `truncated` record.
    pub fn truncated(&self) -> Option<u64> {
        self.truncated
    }

    /// Reads one line into `self.line`: Some(true) a line, Some(false) a
    /// line over the length bound (skipped), None at the end.
    fn next_line(&mut self) -> Result<Option<bool>, SandboxError> {
        self.line.clear();
        let mut overlong = false;
        let mut any = false;
        loop {
            let buf = match self.r.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(SandboxError::Path {
                        what: "trace file",
                        path: self.path.clone(),
                        source,
                    })
                }
            };
            if buf.is_empty() {
                if self.read > MAX_TRACE_BYTES {
                    return Err(SandboxError::NotATrace {
                        path: self.path.clone(),
                        why: input::too_large("a trace", MAX_TRACE_BYTES).to_string(),
                    });
                }
                return Ok(any.then_some(!overlong));
            }
            any = true;
            let (take, done) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (i, true),
                None => (buf.len(), false),
            };
            if !overlong {
                if self.line.len() + take > MAX_TRACE_LINE {
                    overlong = true;
                    self.line.clear();
                } else {
                    self.line.extend_from_slice(&buf[..take]);
                }
            }
            let used = if done { take + 1 } else { take };
            self.r.consume(used);
            self.read += used as u64;
            if done {
                return Ok(Some(!overlong));
            }
        }
    }

    /// The next record; Ok(None) at the end of the file.
    pub fn next_record(&mut self) -> Result<Option<Record>, SandboxError> {
        loop {
            match self.next_line()? {
                None => return Ok(None),
                Some(false) => self.unreadable += 1,
                Some(true) => {
                    if self.line.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    match serde_json::from_slice::<Record>(&self.line) {
                        Ok(rec) => {
                            self.records += 1;
                            if let Record::Event(Event::Truncated { limit, .. }) = &rec {
                                self.truncated = Some(*limit);
                            }
                            return Ok(Some(rec));
                        }
                        Err(_) => self.unreadable += 1,
                    }
                }
            }
        }
    }

    /// At the end: an error when the file held no record at all (it is not
    /// a trace), else the count of lines that were not records.
    pub fn finish(&self) -> Result<u64, SandboxError> {
        if self.records == 0 {
            let why = if self.unreadable == 0 {
                "it has no record (a trace is the JSON lines --trace writes)".to_string()
            } else {
                format!(
                    "none of its {} line(s) is a trace record (a trace is the JSON lines --trace writes)",
                    self.unreadable
                )
            };
            return Err(SandboxError::NotATrace {
                path: self.path.clone(),
                why,
            });
        }
        Ok(self.unreadable)
    }
}

impl Iterator for TraceReader {
    type Item = Result<Record, SandboxError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_record().transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader_of(text: &[u8]) -> (tempfile::TempDir, TraceReader) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("t");
        std::fs::write(&p, text).unwrap();
        let r = TraceReader::open(&p).unwrap();
        (d, r)
    }

    #[test]
    fn reads_records_skips_junk_and_refuses_non_traces() {
        let good = br#"{"event":"fork","t_us":1,"pid":2,"child":3}
garbage
{"event":"truncated","t_us":5,"limit":1024,"records":1}
{"t_us":1,"pid":2,"tid":2,"syscall":"read","args":[0],"decision":"allow","rule":"default"#;
        let (_d, mut r) = reader_of(good);
        let recs: Vec<Record> = r.by_ref().map(|x| x.unwrap()).collect();
        assert_eq!(recs.len(), 2);
        assert_eq!(r.truncated(), Some(1024));
        assert_eq!(r.finish().unwrap(), 2);

        let (_d, mut r) = reader_of(b"hello\nworld\n");
        assert!(r.next().is_none());
        let e = r.finish().unwrap_err();
        assert_eq!(e.exit_code(), crate::error::EXIT_NOT_TRACE);
        assert!(e.to_string().contains("is not a trace"), "{e}");

        let (_d, mut r) = reader_of(b"");
        assert!(r.next().is_none());
        assert!(r.finish().is_err());

        // an overlong line is skipped without being held whole
        let mut big = vec![b'x'; MAX_TRACE_LINE + 10];
        big.push(b'\n');
        big.extend_from_slice(br#"{"event":"fork","t_us":1,"pid":2,"child":3}"#);
        let (_d, mut r) = reader_of(&big);
        assert_eq!(r.by_ref().count(), 1);
        assert_eq!(r.unreadable_lines(), 1);

        let e = TraceReader::open(Path::new("/dev/zero")).err().unwrap();
        assert_eq!(e.exit_code(), crate::error::EXIT_NOT_TRACE);
        assert!(e.to_string().contains("character device"), "{e}");
    }
}
