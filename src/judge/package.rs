//! Reading a problem package: the ICPC/Kattis problem package format
//! (`problem.yaml`, `.timelimit`, `data/sample`, `data/secret/**`,
//! `output_validators/NAME/`, `submissions/VERDICT/`), or a plain directory
//! of `NAME.in` and `NAME.ans` (or `NAME.out`) pairs.

use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

use super::JudgeError;

/// One test: its input and the judge's answer.
#[derive(Debug, Clone)]
pub struct TestCase {
    /// The test's name relative to `data/` without extension
    /// (`secret/group1/03`), or the file stem in a plain directory.
    pub name: String,
    pub input: PathBuf,
    pub answer: PathBuf,
}

/// The tests of one directory, in sorted order.
#[derive(Debug, Clone)]
pub struct Group {
    /// `sample`, `secret`, `secret/group1`, ...; `tests` in a plain directory.
    pub name: String,
    pub tests: Vec<TestCase>,
}

/// What `problem.yaml` (or the command line) gives.
#[derive(Debug, Clone, Default)]
pub struct Problem {
    pub root: PathBuf,
    pub name: String,
    /// True for a problem package, false for a plain directory of tests.
    pub is_package: bool,
    /// Seconds, from `problem.yaml` `limits.time_limit` or `.timelimit`.
    pub time_limit: Option<f64>,
    /// MiB, from `limits.memory`.
    pub memory_mib: Option<u64>,
    /// MiB, from `limits.output`.
    pub output_mib: Option<u64>,
    /// `validator_flags`, split on white space.
    pub validator_flags: Vec<String>,
    /// `output_validators/NAME` (the first in sorted order).
    pub validator: Option<PathBuf>,
    pub groups: Vec<Group>,
}

impl Problem {
    pub fn tests(&self) -> impl Iterator<Item = (&Group, &TestCase)> {
        self.groups
            .iter()
            .flat_map(|g| g.tests.iter().map(move |t| (g, t)))
    }
}

fn bad(path: &Path, msg: impl std::fmt::Display) -> JudgeError {
    JudgeError::Package(format!("{}: {msg}", path.display()))
}

/// Reads the package or plain directory at `root`.
pub fn read(root: &Path) -> Result<Problem, JudgeError> {
    let md = std::fs::metadata(root).map_err(|e| bad(root, e))?;
    if !md.is_dir() {
        return Err(bad(root, "not a directory"));
    }
    let yaml = root.join("problem.yaml");
    let data = root.join("data");
    let mut p = Problem {
        root: root.to_path_buf(),
        name: root
            .canonicalize()
            .ok()
            .and_then(|c| c.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| root.display().to_string()),
        ..Default::default()
    };
    p.is_package = yaml.exists() || data.is_dir();
    if !p.is_package {
        let tests = pairs(root, root, true)?;
        if tests.is_empty() {
            return Err(bad(
                root,
                "no tests (neither problem.yaml nor data/, and no NAME.in with NAME.ans or NAME.out)",
            ));
        }
        p.groups.push(Group {
            name: "tests".into(),
            tests,
        });
        return Ok(p);
    }
    if yaml.exists() {
        read_yaml(&yaml, &mut p)?;
    }
    let legacy = root.join(".timelimit");
    if p.time_limit.is_none() && legacy.exists() {
        let text = std::fs::read_to_string(&legacy).map_err(|e| bad(&legacy, e))?;
        let v: f64 = text.trim().parse().map_err(|_| {
            bad(
                &legacy,
                format!("`{}` is not a number of seconds", text.trim()),
            )
        })?;
        if !(v > 0.0 && v <= crate::config::MAX_SECONDS) {
            return Err(bad(&legacy, "the time limit must be more than 0 seconds"));
        }
        p.time_limit = Some(v);
    }
    if !data.is_dir() {
        return Err(bad(
            &data,
            "missing: a problem package keeps its tests in data/",
        ));
    }
    for top in ["sample", "secret"] {
        let d = data.join(top);
        if d.is_dir() {
            walk(&data, &d, &mut p.groups)?;
        }
    }
    if p.groups.iter().all(|g| g.tests.is_empty()) {
        return Err(bad(
            &data,
            "no tests (data/sample and data/secret hold no NAME.in with NAME.ans)",
        ));
    }
    p.groups.retain(|g| !g.tests.is_empty());
    let validators = root.join("output_validators");
    if validators.is_dir() {
        let mut v = sorted_entries(&validators)?;
        v.retain(|e| e.is_dir());
        match v.into_iter().next() {
            Some(d) => p.validator = Some(d),
            None => {
                return Err(bad(
                    &validators,
                    "holds no validator directory (output_validators/NAME/)",
                ))
            }
        }
    }
    Ok(p)
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, JudgeError> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| bad(dir, e))?
        .map(|e| e.map(|e| e.path()).map_err(|e| bad(dir, e)))
        .collect::<Result<_, _>>()?;
    v.sort();
    Ok(v)
}

/// A group per directory that holds tests, depth first in sorted order.
fn walk(data: &Path, dir: &Path, out: &mut Vec<Group>) -> Result<(), JudgeError> {
    let name = dir
        .strip_prefix(data)
        .unwrap_or(dir)
        .to_string_lossy()
        .into_owned();
    out.push(Group {
        name,
        tests: pairs(data, dir, false)?,
    });
    for e in sorted_entries(dir)? {
        if e.is_dir() {
            walk(data, &e, out)?;
        }
    }
    Ok(())
}

/// The `NAME.in` files of `dir` with their answers, sorted by name.
fn pairs(base: &Path, dir: &Path, plain: bool) -> Result<Vec<TestCase>, JudgeError> {
    let mut v = Vec::new();
    for input in sorted_entries(dir)? {
        if input.extension().and_then(|e| e.to_str()) != Some("in") || !input.is_file() {
            continue;
        }
        let mut answers = vec![input.with_extension("ans")];
        if plain {
            answers.push(input.with_extension("out"));
        }
        let Some(answer) = answers.into_iter().find(|a| a.is_file()) else {
            let want = if plain { ".ans or .out" } else { ".ans" };
            return Err(bad(&input, format!("has no answer file ({want})")));
        };
        let rel = input
            .strip_prefix(base)
            .unwrap_or(&input)
            .with_extension("");
        v.push(TestCase {
            name: rel.to_string_lossy().into_owned(),
            input,
            answer,
        });
    }
    Ok(v)
}

fn read_yaml(path: &Path, p: &mut Problem) -> Result<(), JudgeError> {
    let text = std::fs::read_to_string(path).map_err(|e| bad(path, e))?;
    let docs = YamlLoader::load_from_str(&text).map_err(|e| {
        let m = e.marker();
        bad(path, format!("line {}: {}", m.line(), e.info()))
    })?;
    let doc = match docs.into_iter().next() {
        None | Some(Yaml::Null) => return Ok(()),
        Some(d @ Yaml::Hash(_)) => d,
        Some(_) => return Err(bad(path, "is not a mapping of keys to values")),
    };
    let num = |y: &Yaml, key: &str| -> Result<Option<f64>, JudgeError> {
        match y {
            Yaml::BadValue | Yaml::Null => Ok(None),
            Yaml::Integer(i) => Ok(Some(*i as f64)),
            Yaml::Real(r) => r
                .parse()
                .map(Some)
                .map_err(|_| bad(path, format!("{key}: `{r}` is not a number"))),
            other => Err(bad(path, format!("{key}: {other:?} is not a number"))),
        }
    };
    match &doc["name"] {
        Yaml::String(s) => p.name = s.clone(),
        Yaml::Hash(h) => {
            // 2023-07 format: name: {en: ...}
            if let Some(Yaml::String(s)) = h.values().next() {
                p.name = s.clone();
            }
        }
        _ => {}
    }
    let limits = &doc["limits"];
    if !matches!(limits, Yaml::Hash(_) | Yaml::BadValue | Yaml::Null) {
        return Err(bad(path, "limits: is not a mapping"));
    }
    let tl = match num(&limits["time_limit"], "limits.time_limit")? {
        Some(v) => Some(v),
        None => num(&limits["time"], "limits.time")?,
    };
    if let Some(v) = tl {
        if !(v > 0.0 && v <= crate::config::MAX_SECONDS) {
            return Err(bad(
                path,
                "limits: the time limit must be more than 0 seconds",
            ));
        }
        p.time_limit = Some(v);
    }
    for (key, slot) in [("memory", &mut p.memory_mib), ("output", &mut p.output_mib)] {
        if let Some(v) = num(&limits[key], &format!("limits.{key}"))? {
            if !(v >= 1.0 && v <= (crate::config::MAX_KIB / 1024) as f64) {
                return Err(bad(path, format!("limits.{key}: {v} MiB is out of range")));
            }
            *slot = Some(v as u64);
        }
    }
    p.validator_flags = match &doc["validator_flags"] {
        Yaml::String(s) => s.split_whitespace().map(String::from).collect(),
        Yaml::Array(a) => a
            .iter()
            .map(|y| match y {
                Yaml::String(s) => Ok(s.clone()),
                Yaml::Integer(i) => Ok(i.to_string()),
                Yaml::Real(r) => Ok(r.clone()),
                _ => Err(bad(path, "validator_flags: not a list of words")),
            })
            .collect::<Result<_, _>>()?,
        Yaml::BadValue | Yaml::Null => Vec::new(),
        _ => return Err(bad(path, "validator_flags: not a string or a list")),
    };
    Ok(())
}

/// The submissions of a package, `(expected verdict, path)`, sorted: the
/// directories of the format plus `compile_error` (CE) and
/// `restricted_function` (RF), which this judge adds.
pub fn submissions(root: &Path) -> Result<Vec<(String, PathBuf)>, JudgeError> {
    let dir = root.join("submissions");
    if !dir.is_dir() {
        return Err(bad(
            &dir,
            "missing: --verify judges the submissions it holds",
        ));
    }
    let mut out = Vec::new();
    for (sub, verdict) in EXPECTED {
        let d = dir.join(sub);
        if d.is_dir() {
            for e in sorted_entries(&d)? {
                // .gitignore and the like are not submissions.
                let hidden = e
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'));
                if !hidden {
                    out.push((verdict.to_string(), e));
                }
            }
        }
    }
    if out.is_empty() {
        return Err(bad(&dir, "holds no submission"));
    }
    Ok(out)
}

/// Submission directories and the verdict each expects.
pub const EXPECTED: &[(&str, &str)] = &[
    ("accepted", "AC"),
    ("wrong_answer", "WA"),
    ("time_limit_exceeded", "TLE"),
    ("run_time_error", "RTE"),
    ("memory_limit_exceeded", "MLE"),
    ("output_limit_exceeded", "OLE"),
    ("restricted_function", "RF"),
    ("compile_error", "CE"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn write(p: &Path, text: &str) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    #[test]
    fn package_groups_in_sorted_order_with_limits() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        write(
            &r.join("problem.yaml"),
            "name: Sum\nlimits:\n  memory: 64\n  time_limit: 1.5\nvalidator_flags: float_tolerance 1e-6\n",
        );
        for t in [
            "sample/1",
            "secret/b/2",
            "secret/a/10",
            "secret/a/09",
            "secret/0",
        ] {
            write(&r.join(format!("data/{t}.in")), "1\n");
            write(&r.join(format!("data/{t}.ans")), "1\n");
        }
        let p = read(r).unwrap();
        assert_eq!(p.name, "Sum");
        assert_eq!(p.time_limit, Some(1.5));
        assert_eq!(p.memory_mib, Some(64));
        assert_eq!(p.validator_flags, vec!["float_tolerance", "1e-6"]);
        let names: Vec<_> = p
            .tests()
            .map(|(g, t)| (g.name.clone(), t.name.clone()))
            .collect();
        let want = [
            ("sample", "sample/1"),
            ("secret", "secret/0"),
            ("secret/a", "secret/a/09"),
            ("secret/a", "secret/a/10"),
            ("secret/b", "secret/b/2"),
        ];
        let want: Vec<_> = want
            .iter()
            .map(|(g, t)| (g.to_string(), t.to_string()))
            .collect();
        assert_eq!(names, want);
    }

    #[test]
    fn legacy_timelimit_and_plain_directories() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        write(&r.join(".timelimit"), "3\n");
        write(&r.join("data/secret/1.in"), "");
        write(&r.join("data/secret/1.ans"), "");
        assert_eq!(read(r).unwrap().time_limit, Some(3.0));

        let d = tempfile::tempdir().unwrap();
        write(&d.path().join("a.in"), "");
        write(&d.path().join("a.out"), "");
        write(&d.path().join("b.in"), "");
        write(&d.path().join("b.ans"), "");
        let p = read(d.path()).unwrap();
        assert!(!p.is_package);
        assert_eq!(p.groups[0].tests.len(), 2);
    }

    #[test]
    fn bad_packages_name_the_file() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        write(&r.join("problem.yaml"), "limits: [1, 2\n");
        let e = read(r).unwrap_err().to_string();
        assert!(e.contains("problem.yaml: line"), "{e}");

        write(&r.join("problem.yaml"), "limits:\n  time_limit: fast\n");
        let e = read(r).unwrap_err().to_string();
        assert!(e.contains("problem.yaml") && e.contains("fast"), "{e}");

        write(&r.join("problem.yaml"), "name: x\n");
        let e = read(r).unwrap_err().to_string();
        assert!(e.contains("data") && e.contains("missing"), "{e}");

        write(&r.join("data/secret/1.in"), "");
        let e = read(r).unwrap_err().to_string();
        assert!(e.contains("1.in: has no answer file"), "{e}");

        std::fs::remove_file(r.join("data/secret/1.in")).unwrap();
        let e = read(r).unwrap_err().to_string();
        assert!(e.contains("no tests"), "{e}");
        assert_eq!(read(r).unwrap_err().exit_code(), super::super::EXIT_PACKAGE);
    }
}
