//! What `safeexec policy learn` adds around the learner (src/learn.rs):
//! the learning run's limits as `limit` lines, whether the run ended OK,
//! and the one line that says what was learned.

use std::io::IsTerminal;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::config::Limits;
use crate::error::SandboxError;
use crate::trace::{Event, Record, TraceReader};

/// Progress of `policy learn` on a terminal: a spinner on stderr while a
/// long learning run goes (shown once it has run for [`QUIET_START`], with
/// the calls traced so far) and while the trace is read (with the calls
/// read). When stderr is not a terminal (a pipe, a file, the tests) it
/// draws nothing at all. It starts no thread: the spinner is drawn from
/// the trace writer's callback, in the supervisor's loop, so no thread
/// exists while the supervisor forks.
pub struct LearnProgress {
    draw: bool,
    bar: Option<indicatif::ProgressBar>,
}

/// A run shorter than this shows no progress (its output stays clean).
pub const QUIET_START: Duration = Duration::from_secs(2);

/// How often the spinner is redrawn at most.
const REDRAW: Duration = Duration::from_millis(100);

fn spinner() -> indicatif::ProgressBar {
    let b = indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
    b.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {elapsed} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    b
}

impl LearnProgress {
    /// A spinner when stderr is a terminal, else nothing.
    pub fn new() -> LearnProgress {
        LearnProgress::drawn(std::io::stderr().is_terminal())
    }

    /// A spinner when `draw`, else nothing.
    pub fn drawn(draw: bool) -> LearnProgress {
        LearnProgress { draw, bar: None }
    }

    /// The learning run of `program` starts: the callback for its trace
    /// writer ([`crate::trace::TraceWriter::set_progress`]), which draws
    /// the spinner with the calls traced once the run has gone on for
    /// [`QUIET_START`]. None when nothing is drawn.
    pub fn running(&mut self, program: &str) -> Option<Box<dyn FnMut(u64) + Send>> {
        if !self.draw {
            return None;
        }
        let bar = spinner();
        self.bar = Some(bar.clone());
        let program = program.to_string();
        let started = Instant::now();
        let mut last: Option<Instant> = None;
        Some(Box::new(move |records: u64| {
            if started.elapsed() < QUIET_START || last.is_some_and(|l| l.elapsed() < REDRAW) {
                return;
            }
            last = Some(Instant::now());
            bar.set_message(format!(
                "learning run of {program}: {} calls traced",
                thousands(records)
            ));
            bar.tick();
        }))
    }

    /// The learning run ended: the spinner is cleared (before its report).
    pub fn run_ended(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }

    /// Reading the trace: `calls` records so far.
    pub fn calls_read(&mut self, calls: u64) {
        if !self.draw {
            return;
        }
        let b = self.bar.get_or_insert_with(spinner);
        b.set_message(format!("learning: {} calls read", thousands(calls)));
        b.tick();
    }

    /// Done: nothing of the spinner is left on the screen.
    pub fn finish(mut self) {
        self.run_ended();
    }
}

impl Default for LearnProgress {
    fn default() -> Self {
        LearnProgress::new()
    }
}

impl Drop for LearnProgress {
    fn drop(&mut self) {
        self.run_ended();
    }
}

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
