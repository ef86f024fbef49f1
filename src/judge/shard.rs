//! Splitting the work (submissions x test groups) into N slices, and
//! joining the slices' JSON documents into the one an unsharded run writes.
//!
//! The unit of work is one group of one submission: stopping at the first
//! failure of a group then needs nothing from other shards, so a merged
//! document holds exactly the tests an unsharded run reports.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::output::Document;
use super::JudgeError;

/// `--shard K/N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub k: usize,
    pub n: usize,
}

impl Shard {
    pub fn parse(s: &str) -> Result<Shard, String> {
        let (k, n) = s
            .split_once('/')
            .ok_or_else(|| format!("`{s}` is not K/N"))?;
        let k: usize = k
            .trim()
            .parse()
            .map_err(|_| format!("`{s}`: K is not a number"))?;
        let n: usize = n
            .trim()
            .parse()
            .map_err(|_| format!("`{s}`: N is not a number"))?;
        if n == 0 || k == 0 || k > n || n > 100_000 {
            return Err(format!("`{s}`: needs 1 <= K <= N"));
        }
        Ok(Shard { k, n })
    }

    /// True when unit number `u` (0-based, in submission then group
    /// order) belongs to this shard.
    pub fn owns(&self, u: usize) -> bool {
        u % self.n == self.k - 1
    }
}

fn read(path: &Path) -> Result<Document, JudgeError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| JudgeError::Usage(format!("{}: {e}", path.display())))?;
    serde_json::from_str(&text)
        .map_err(|e| JudgeError::Usage(format!("{}: not a judge document: {e}", path.display())))
}

/// Joins shard documents (in any order) into one.
pub fn merge(docs: Vec<(PathBuf, Document)>) -> Result<Document, JudgeError> {
    let bad = |p: &Path, m: String| JudgeError::Usage(format!("{}: {m}", p.display()));
    let Some((first_path, first)) = docs.first().cloned() else {
        return Err(JudgeError::Usage("merge: no documents".into()));
    };
    let Some(n) = first.shard.map(|s| s.n) else {
        return Err(bad(
            &first_path,
            "not the document of a shard (no `shard`)".into(),
        ));
    };
    let mut seen = vec![false; n];
    for (p, d) in &docs {
        let Some(s) = d.shard else {
            return Err(bad(p, "not the document of a shard (no `shard`)".into()));
        };
        if s.n != n {
            return Err(bad(
                p,
                format!(
                    "shard {}/{} of another split than {}/{n}",
                    s.k,
                    s.n,
                    first.shard.unwrap().k
                ),
            ));
        }
        if std::mem::replace(&mut seen[s.k - 1], true) {
            return Err(bad(p, format!("shard {}/{n} given twice", s.k)));
        }
        if !d.same_judging(&first) {
            return Err(bad(
                p,
                format!(
                    "judges another problem, submissions or options than {}",
                    first_path.display()
                ),
            ));
        }
    }
    if let Some(k) = seen.iter().position(|s| !s) {
        return Err(JudgeError::Usage(format!(
            "merge: shard {}/{n} is missing",
            k + 1
        )));
    }
    let mut out = first.clone();
    out.shard = None;
    for (i, sub) in out.submissions.iter_mut().enumerate() {
        sub.tests.clear();
        sub.compile = None;
        let mut judged = false;
        for (_, d) in &docs {
            let s = &d.submissions[i];
            judged |= s.verdict.is_some();
            if sub.compile.is_none() {
                sub.compile = s.compile.clone();
            }
            sub.tests.extend(s.tests.iter().cloned());
        }
        sub.tests.sort_by_key(|t| t.n);
        sub.decide(judged);
    }
    out.summarise();
    Ok(out)
}

/// `safeexec judge merge A.json B.json ... [-o FILE]`.
pub fn merge_command(files: &[PathBuf], output: Option<&Path>) -> Result<i32, JudgeError> {
    let docs = files
        .iter()
        .map(|p| read(p).map(|d| (p.clone(), d)))
        .collect::<Result<Vec<_>, _>>()?;
    let merged = merge(docs)?;
    let text = merged.to_json();
    match output {
        Some(p) => super::output::write_json(p, &text)?,
        None => print!("{text}"),
    }
    Ok(merged.exit_status())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_parse_and_ownership() {
        let s = Shard::parse("2/3").unwrap();
        assert_eq!((s.k, s.n), (2, 3));
        assert!(s.owns(1) && s.owns(4) && !s.owns(0) && !s.owns(2));
        for bad in ["0/2", "3/2", "1", "a/b", "1/0"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }
}
