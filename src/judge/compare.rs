//! Judging one output: the format's default comparison (tokens, with
//! `case_sensitive`, `space_change_sensitive`, `float_relative_tolerance`,
//! `float_absolute_tolerance`, `float_tolerance`), or the package's output
//! validator (`VALIDATOR input answer feedback_dir [flags] < output`, exit
//! 42 accepted, 43 wrong answer, anything else a judge error).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::JudgeError;

/// Options of the default comparison.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Flags {
    pub case_sensitive: bool,
    pub space_change_sensitive: bool,
    pub float_relative: Option<f64>,
    pub float_absolute: Option<f64>,
}

impl Flags {
    /// From `validator_flags` words.
    pub fn parse(words: &[String]) -> Result<Flags, String> {
        let mut f = Flags::default();
        let mut it = words.iter();
        while let Some(w) = it.next() {
            let mut num = |name: &str| -> Result<f64, String> {
                let v = it
                    .next()
                    .ok_or_else(|| format!("validator_flags: {name} needs a number"))?;
                v.parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite() && *x >= 0.0)
                    .ok_or_else(|| format!("validator_flags: {name} `{v}` is not a number >= 0"))
            };
            match w.as_str() {
                "case_sensitive" => f.case_sensitive = true,
                "space_change_sensitive" => f.space_change_sensitive = true,
                "float_relative_tolerance" => f.float_relative = Some(num(w)?),
                "float_absolute_tolerance" => f.float_absolute = Some(num(w)?),
                "float_tolerance" => {
                    let v = num(w)?;
                    f.float_relative = Some(v);
                    f.float_absolute = Some(v);
                }
                other => return Err(format!("validator_flags: unknown flag `{other}`")),
            }
        }
        Ok(f)
    }
}

/// Accepted, or wrong with a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Judged {
    Accepted,
    Wrong(String),
}

fn show(t: &[u8]) -> String {
    let s = String::from_utf8_lossy(&t[..t.len().min(40)]).into_owned();
    if t.len() > 40 {
        format!("{s}...")
    } else {
        s
    }
}

/// Splits into (whitespace before, token) pairs, plus the trailing space.
/// (white space before, token).
type Token<'a> = (&'a [u8], &'a [u8]);

fn tokens(b: &[u8]) -> (Vec<Token<'_>>, &[u8]) {
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        let s = i;
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i == b.len() {
            return (out, &b[s..]);
        }
        let t = i;
        while i < b.len() && !b[i].is_ascii_whitespace() {
            i += 1;
        }
        out.push((&b[s..t], &b[t..i]));
    }
}

fn float(t: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(t).ok()?;
    // Rust accepts "inf" and "nan": the format's checkers do not.
    if !s
        .bytes()
        .all(|c| c.is_ascii_digit() || b"+-.eE".contains(&c))
    {
        return None;
    }
    s.parse().ok()
}

/// The default comparison of the team's `output` with the judge's `answer`.
pub fn default_compare(answer: &[u8], output: &[u8], f: &Flags) -> Judged {
    let (ja, jtail) = tokens(answer);
    let (ta, ttail) = tokens(output);
    let floats = f.float_relative.is_some() || f.float_absolute.is_some();
    for (i, (j, t)) in ja.iter().zip(ta.iter()).enumerate() {
        let n = i + 1;
        if f.space_change_sensitive && j.0 != t.0 {
            return Judged::Wrong(format!("space change before token {n}"));
        }
        if floats {
            if let Some(x) = float(j.1) {
                let Some(y) = float(t.1) else {
                    return Judged::Wrong(format!(
                        "token {n}: expected a number `{}`, got `{}`",
                        show(j.1),
                        show(t.1)
                    ));
                };
                let d = (x - y).abs();
                let abs_ok = f.float_absolute.is_some_and(|e| d <= e);
                let rel_ok = f.float_relative.is_some_and(|e| d <= e * x.abs());
                if !(abs_ok || rel_ok) {
                    return Judged::Wrong(format!(
                        "token {n}: expected `{}`, got `{}` (difference {d:e})",
                        show(j.1),
                        show(t.1)
                    ));
                }
                continue;
            }
        }
        let same = if f.case_sensitive {
            j.1 == t.1
        } else {
            j.1.eq_ignore_ascii_case(t.1)
        };
        if !same {
            return Judged::Wrong(format!(
                "token {n}: expected `{}`, got `{}`",
                show(j.1),
                show(t.1)
            ));
        }
    }
    if ta.len() > ja.len() {
        return Judged::Wrong(format!(
            "trailing output: token {} `{}` after the {} expected",
            ja.len() + 1,
            show(ta[ja.len()].1),
            ja.len()
        ));
    }
    if ja.len() > ta.len() {
        return Judged::Wrong(format!(
            "premature end of output: {} of {} tokens",
            ta.len(),
            ja.len()
        ));
    }
    if f.space_change_sensitive && jtail != ttail {
        return Judged::Wrong("space change at the end of the output".into());
    }
    Judged::Accepted
}

/// An output validator ready to run: its command line.
#[derive(Debug, Clone)]
pub struct Validator {
    /// The directory it was built in (its working directory).
    pub dir: PathBuf,
    pub command: Vec<String>,
}

/// How long a validator may run on one output.
pub const VALIDATOR_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs the validator on one output: Ok(judged, feedback), or Err(judge
/// error message).
pub fn run_validator(
    v: &Validator,
    input: &Path,
    answer: &Path,
    output: &Path,
    feedback_dir: &Path,
    flags: &[String],
) -> Result<(Judged, Option<String>), JudgeError> {
    std::fs::create_dir_all(feedback_dir)
        .map_err(|e| JudgeError::Validator(format!("{}: {e}", feedback_dir.display())))?;
    let stdin = std::fs::File::open(output)
        .map_err(|e| JudgeError::Validator(format!("{}: {e}", output.display())))?;
    let abs = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let mut prog = PathBuf::from(&v.command[0]);
    if prog.is_relative() && v.command[0].contains('/') {
        prog = v.dir.join(prog);
    }
    let mut child = Command::new(&prog)
        .args(&v.command[1..])
        .arg(abs(input))
        .arg(abs(answer))
        .arg(abs(feedback_dir))
        .args(flags)
        .current_dir(&v.dir)
        .stdin(Stdio::from(stdin))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| JudgeError::Validator(format!("output validator {}: {e}", prog.display())))?;
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if start.elapsed() > VALIDATOR_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(JudgeError::Validator(format!(
                    "output validator ran for more than {}s",
                    VALIDATOR_TIMEOUT.as_secs()
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
            Err(e) => {
                return Err(JudgeError::Validator(format!(
                    "output validator: wait: {e}"
                )))
            }
        }
    };
    let feedback = std::fs::read(feedback_dir.join("judgemessage.txt"))
        .ok()
        .map(|b| {
            let s = String::from_utf8_lossy(&b[..b.len().min(2000)]).into_owned();
            s.lines().take(5).collect::<Vec<_>>().join("\n")
        })
        .filter(|s| !s.trim().is_empty());
    match status.code() {
        Some(42) => Ok((Judged::Accepted, feedback)),
        Some(43) => {
            let msg = feedback
                .clone()
                .unwrap_or_else(|| "wrong answer (validator)".into());
            let first = msg.lines().next().unwrap_or("").to_string();
            Ok((Judged::Wrong(first), feedback))
        }
        _ => Err(JudgeError::Validator(format!(
            "output validator ended with {status} (42 accepts, 43 rejects){}",
            feedback.map(|f| format!(": {f}")).unwrap_or_default()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(s: &str) -> Flags {
        Flags::parse(&s.split_whitespace().map(String::from).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn tokens_case_and_space() {
        let f = Flags::default();
        assert_eq!(
            default_compare(b"1 2\n3\n", b"1\n2 3", &f),
            Judged::Accepted
        );
        assert_eq!(default_compare(b"Yes\n", b"yes\n", &f), Judged::Accepted);
        assert!(
            matches!(default_compare(b"1 2", b"1 3", &f), Judged::Wrong(m) if m.contains("token 2"))
        );
        assert!(
            matches!(default_compare(b"1 2", b"1", &f), Judged::Wrong(m) if m.contains("premature"))
        );
        assert!(
            matches!(default_compare(b"1", b"1 2", &f), Judged::Wrong(m) if m.contains("trailing"))
        );
        let cs = flags("case_sensitive");
        assert!(matches!(
            default_compare(b"Yes", b"yes", &cs),
            Judged::Wrong(_)
        ));
        let sp = flags("space_change_sensitive");
        assert_eq!(default_compare(b"1 2\n", b"1 2\n", &sp), Judged::Accepted);
        assert!(matches!(
            default_compare(b"1 2\n", b"1  2\n", &sp),
            Judged::Wrong(_)
        ));
        assert!(matches!(
            default_compare(b"1 2\n", b"1 2", &sp),
            Judged::Wrong(_)
        ));
    }

    #[test]
    fn float_tolerances() {
        let rel = flags("float_relative_tolerance 1e-6");
        assert_eq!(
            default_compare(b"1000000", b"1000000.5", &rel),
            Judged::Accepted
        );
        assert!(matches!(
            default_compare(b"1", b"1.01", &rel),
            Judged::Wrong(_)
        ));
        let abs = flags("float_absolute_tolerance 0.01");
        assert_eq!(default_compare(b"0.5", b"0.505", &abs), Judged::Accepted);
        assert!(matches!(
            default_compare(b"0.5", b"0.52", &abs),
            Judged::Wrong(_)
        ));
        assert!(matches!(
            default_compare(b"0.5", b"nan", &abs),
            Judged::Wrong(_)
        ));
        // Without a tolerance numbers are words.
        assert!(matches!(
            default_compare(b"0.5", b"0.50", &Flags::default()),
            Judged::Wrong(_)
        ));
        // Words among numbers still compare as words.
        assert_eq!(
            default_compare(b"x 0.5", b"X 0.5000001", &flags("float_tolerance 1e-3")),
            Judged::Accepted
        );
        assert!(Flags::parse(&["float_tolerance".into()]).is_err());
        assert!(Flags::parse(&["bogus".into()]).is_err());
    }
}
