//! safeexec::cli::parse on arbitrary arguments (NUL-separated): never a panic.
#![no_main]

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let args: Vec<OsString> = std::iter::once(OsString::from("safeexec"))
        .chain(data.split(|b| *b == 0).map(|a| OsString::from_vec(a.to_vec())))
        .collect();
    if let Ok(p) = safeexec::cli::parse(args) {
        if let Some((prog, rest)) = p.program {
            let _ = p.cli.run.to_config(prog, rest, None);
        }
    }
});
