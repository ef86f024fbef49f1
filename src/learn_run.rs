//! What `safeexec policy learn` adds around the learner (src/learn.rs):
//! the learning run's limits as `limit` lines, whether the run ended OK,
//! and the one line that says what was learned.

use std::path::Path;
use std::time::Duration;

use crate::config::Limits;
use crate::error::SandboxError;
use crate::trace::{Event, Record, TraceReader};

/// What a trace says about the run it recorded.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct TraceFacts {
    /// System-call records.
    pub calls: u64,
    /// The verdict event's `status` (the classic first line) and whether
    /// its code was OK; None when the trace has no verdict event (cut short).
    pub verdict: Option<(String, bool)>,
    /// The verdict event's `limits`.
    pub limits: Option<Limits>,
}

/// Reads the trace at `path` once, record by record (the learner reports
/// lines that are not records).
pub fn trace_facts(path: &Path) -> Result<TraceFacts, SandboxError> {
    let mut reader = TraceReader::open(path)?;
    let mut facts = TraceFacts::default();
    while let Some(rec) = reader.next_record()? {
        match rec {
            Record::Syscall(_) => facts.calls += 1,
            Record::Event(Event::Verdict { report, .. }) => {
                let status = report
                    .get("status")
                    .and_then(|v| v.as_str())
                    .unwrap_or("?")
                    .to_string();
                let ok = report.get("verdict").and_then(|v| v.get("code"))
                    == Some(&serde_json::Value::from("OK"));
                facts.verdict = Some((status, ok));
                facts.limits = report.get("limits").and_then(limits_from_json);
            }
            _ => {}
        }
    }
    Ok(facts)
}

fn limits_from_json(v: &serde_json::Value) -> Option<Limits> {
    let n = |k: &str| v.get(k).and_then(|x| x.as_u64());
    Some(Limits {
        cpu: Duration::from_millis(n("cpu")?),
        memory_kib: n("memory_kib")?,
        space_kib: n("space_kib")?,
        clock: Duration::from_millis(n("clock")?),
        nproc: n("nproc")?,
        fsize_kib: n("fsize_kib")?,
        nfile: n("nfile")?,
        stack_kib: n("stack_kib")?,
        core_kib: n("core_kib")?,
        // A trace from before --disk has none: the default.
        disk_kib: n("disk_kib").unwrap_or(crate::config::DEFAULT_DISK_KIB),
    })
}

/// Seconds as a policy writes them: `1`, `0.5`, `2.25`.
fn seconds(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}", ms / 1000)
    } else {
        let s = format!("{}.{:03}", ms / 1000, ms % 1000);
        s.trim_end_matches('0').to_string()
    }
}

/// The limits the learning run had, as policy lines: the program is known
/// to work under them, and a run under the learned policy gets them unless
/// the command line says otherwise.
pub fn limit_lines(l: &Limits) -> String {
    format!(
        "\n# the limits of the learning run (the command line still overrides them)\n\
         limit cpu {} clock {}\n\
         limit memory {} space {} stack {}\n\
         limit nproc {} nfile {} fsize {} core {} disk {}\n",
        seconds(l.cpu),
        seconds(l.clock),
        l.memory_kib,
        l.space_kib,
        l.stack_kib,
        l.nproc,
        l.nfile,
        l.fsize_kib,
        l.core_kib,
        l.disk_kib
    )
}

/// Rules in a policy text: lines that are neither blank, comments,
/// `default`, `on-path-violation` nor `limit`.
pub fn count_rules(policy: &str) -> usize {
    policy
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .filter(|l| {
            let w = l.split_whitespace().next().unwrap_or("");
            !matches!(w, "default" | "on-path-violation" | "limit")
        })
        .count()
}

/// `12345` -> `12,345`.
fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// "learned 37 rules from 12,345 calls in 1.2 s; wrote bash.policy".
pub fn summary(rules: usize, calls: u64, took: Duration, wrote: Option<&Path>) -> String {
    let dest = match wrote {
        Some(p) => format!("wrote {}", p.display()),
        None => "printed it on stdout".to_string(),
    };
    format!(
        "learned {rules} rule{} from {} call{} in {:.1} s; {dest}",
        if rules == 1 { "" } else { "s" },
        thousands(calls),
        if calls == 1 { "" } else { "s" },
        took.as_secs_f64()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_lines_parse_back_to_the_same_limits() {
        let l = Limits {
            cpu: Duration::from_millis(1500),
            clock: Duration::from_secs(10),
            memory_kib: 65536,
            space_kib: 0,
            nproc: 3,
            ..Limits::default()
        };
        let text = format!("default kill\n{}", limit_lines(&l));
        let p = crate::policy::Policy::parse(&text, "learned").expect(&text);
        let pl = p.limits();
        assert_eq!(pl.cpu, Some(1.5));
        assert_eq!(pl.clock, Some(10.0));
        assert_eq!(pl.memory, Some(65536));
        assert_eq!(pl.space, Some(0));
        assert_eq!(pl.nproc, Some(3));
        assert_eq!(pl.nfile, Some(l.nfile));
        assert_eq!(pl.fsize, Some(l.fsize_kib));
        assert_eq!(pl.stack, Some(l.stack_kib));
        assert_eq!(pl.core, Some(l.core_kib));
        assert_eq!(pl.disk, Some(l.disk_kib));
    }

    #[test]
    fn summary_reads_well() {
        assert_eq!(
            summary(
                37,
                12345,
                Duration::from_millis(1234),
                Some(Path::new("bash.policy"))
            ),
            "learned 37 rules from 12,345 calls in 1.2 s; wrote bash.policy"
        );
        assert_eq!(
            summary(1, 1, Duration::ZERO, None),
            "learned 1 rule from 1 call in 0.0 s; printed it on stdout"
        );
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(
            count_rules("# c\ndefault kill\nallow read  # x\n\npath read /x\nlimit cpu 1\n"),
            2
        );
    }
}
