//! A policy written in a string, checked and used for a paranoid run.
//!
//! `cargo run --example policy_from_string` (as root): runs /bin/true under
//! a policy that includes the shipped default one and kills `socket`, and
//! prints the verdict. A syntax error in the text would be reported as
//! `inline.policy:LINE:COL: ...`.

use safeexec::policy::Policy;
use safeexec::{Sandbox, Verdict};

const POLICY: &str = "\
# Everything the shipped default policy allows, and a rule of our own.
include default
kill socket   # no network for this program
limit cpu 1
";

fn main() {
    let policy = match Policy::parse(POLICY, "inline.policy") {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    println!("{}", policy.show().lines().next().unwrap_or(""));
    let report = match Sandbox::builder("/bin/true")
        .policy(policy)
        .resolve()
        .and_then(|r| r.run(None))
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("the sandbox failed: {e}");
            std::process::exit(2);
        }
    };
    println!("verdict {} (mode {})", report.status, report.mode);
    std::process::exit(if report.verdict == Verdict::OK { 0 } else { 1 });
}
