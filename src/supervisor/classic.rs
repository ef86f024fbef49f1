//! Classic mode: no tracing; the supervisor reaps every process of the run
//! (it is their subreaper) and the watchdog enforces the limits.

use std::sync::atomic::Ordering;

use nix::errno::Errno;
use nix::unistd::Pid;

use super::watchdog::Shared;
use super::Outcome;
use crate::sys;

/// Waits until the run's first process has ended; the caller then kills and
/// reaps the rest.
pub(crate) fn wait_loop(child: Pid, shared: &Shared) -> Outcome {
    let mut o = Outcome::default();
    loop {
        match sys::wait4_any(0) {
            Ok(Some(w)) => {
                if !(libc::WIFEXITED(w.status) || libc::WIFSIGNALED(w.status)) {
                    continue;
                }
                o.reaped.add(&w.usage);
                let ns = (w.usage.user + w.usage.sys).as_nanos() as u64;
                shared.reaped_cpu_ns.fetch_add(ns, Ordering::SeqCst);
                shared.remove_live(w.pid);
                if w.pid == child {
                    o.root_status = Some(w.status);
                    return o;
                }
            }
            Ok(None) => {}
            Err(Errno::ECHILD) => return o,
            Err(e) => {
                o.internal = Some(format!("wait4(-1) => {e}"));
                return o;
            }
        }
    }
}
