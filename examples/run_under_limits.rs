//! Run a program under limits with the builder API and read the report.
//!
//! `cargo run --example run_under_limits -- /bin/echo hello` (as root, or
//! as an ordinary user in rootless mode). Exits 0 when the program's verdict
//! is OK, 1 for another verdict, 2 when the sandbox itself failed.

use std::time::Duration;

use safeexec::{Sandbox, Verdict};

fn main() {
    let mut argv = std::env::args_os().skip(1);
    let program = argv.next().unwrap_or_else(|| "/bin/echo".into());
    let args: Vec<_> = argv.collect();
    let request = Sandbox::builder(program)
        .args(args)
        .cpu(Duration::from_millis(500))
        .clock(Duration::from_secs(5))
        .memory_kib(65_536);
    // Resolution applies the administrator's bounds exactly as the command
    // line does; run() forks, supervises and reports.
    let report = match request.resolve().and_then(|r| r.run(None)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("the sandbox failed: {e}");
            std::process::exit(2);
        }
    };
    eprint!("{}", report.classic());
    println!(
        "verdict {} in {:.1} ms of CPU, {} KiB peak",
        report.status, report.cpu_ms, report.memory_kib
    );
    std::process::exit(if report.verdict == Verdict::OK { 0 } else { 1 });
}
