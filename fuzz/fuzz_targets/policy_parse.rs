//! Policy::parse on arbitrary text: never a panic; every error is a
//! `file:line:col` diagnostic; a policy that parses also compiles.
#![no_main]

use libfuzzer_sys::fuzz_target;
use safeexec::policy::{Policy, PolicyError};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Includes of devices or /proc could block; they are not what we test.
    if text.contains("include") && (text.contains("/dev/") || text.contains("/proc/")) {
        return;
    }
    match Policy::parse(text, "fuzz.policy") {
        Ok(p) => {
            let _ = p.compile();
            let _ = p.show();
        }
        Err(PolicyError::Parse(d)) => {
            assert!(!d.0.is_empty());
            for diag in &d.0 {
                assert!(diag.line >= 1 && diag.col >= 1, "{diag}");
                let prefix = format!("{}:{}:{}: ", diag.file, diag.line, diag.col);
                assert!(diag.to_string().starts_with(&prefix), "{diag}");
            }
        }
        Err(e) => panic!("an error without a position: {e}"),
    }
});
