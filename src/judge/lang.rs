//! Languages: how a submission is compiled and run, from a TOML file
//! (shipped defaults in `languages.toml`, replaced by name with
//! `--languages FILE`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::JudgeError;

/// The shipped languages file.
pub const SHIPPED: &str = include_str!("languages.toml");

/// One language.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Language {
    /// Shown in reports; defaults to the key.
    #[serde(default)]
    pub name: String,
    /// File extensions (without the dot) that select it.
    pub extensions: Vec<String>,
    /// The compiler command; none for a language run from its source.
    #[serde(default)]
    pub compile: Option<Vec<String>>,
    /// The command that runs the submission.
    pub run: Vec<String>,
    /// The policy of its runs in paranoid mode: a shipped name or a path.
    #[serde(default = "default_policy")]
    pub policy: String,
    /// A jail profile for its runs (`--jail`), if any.
    #[serde(default)]
    pub jail: Option<String>,
    /// The CPU limit of a test is time_limit * time_multiplier + time_extra.
    #[serde(default = "one")]
    pub time_multiplier: f64,
    #[serde(default)]
    pub time_extra: f64,
    /// The memory limit of a test is memory * memory_multiplier + memory_extra_mib.
    #[serde(default = "one")]
    pub memory_multiplier: f64,
    #[serde(default)]
    pub memory_extra_mib: u64,
    /// Processes/threads a test run may create; default: the policy's
    /// `limit nproc` in paranoid mode, else 0.
    #[serde(default)]
    pub nproc: Option<u64>,
    /// The environment of compile and test runs (nothing else is passed).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// A run-time error whose stderr contains this is MLE (a managed
    /// runtime that reports its heap limit as an exception).
    #[serde(default)]
    pub mle_stderr: Option<String>,
    /// Limits of the compile run (classic mode: compilers start processes).
    #[serde(default = "compile_cpu")]
    pub compile_cpu: f64,
    #[serde(default = "compile_memory")]
    pub compile_memory_mib: u64,
    #[serde(default = "compile_nproc")]
    pub compile_nproc: u64,
}

fn default_policy() -> String {
    "default".into()
}
fn one() -> f64 {
    1.0
}
fn compile_cpu() -> f64 {
    30.0
}
fn compile_memory() -> u64 {
    1024
}
fn compile_nproc() -> u64 {
    32
}

/// Languages by key (`c`, `cpp`, `python3`, `java`, ...).
#[derive(Debug, Clone)]
pub struct Languages {
    pub map: BTreeMap<String, Language>,
}

fn parse(text: &str, file: &str) -> Result<BTreeMap<String, Language>, JudgeError> {
    let mut map: BTreeMap<String, Language> = toml::from_str(text)
        .map_err(|e| JudgeError::Language(format!("{file}: {}", one_line(&e))))?;
    for (key, l) in map.iter_mut() {
        if l.name.is_empty() {
            l.name = key.clone();
        }
        if l.run.is_empty() {
            return Err(JudgeError::Language(format!(
                "{file}: [{key}] run: empty command"
            )));
        }
        if l.compile.as_ref().is_some_and(|c| c.is_empty()) {
            return Err(JudgeError::Language(format!(
                "{file}: [{key}] compile: empty command"
            )));
        }
        let positive = |v: f64| v.is_finite() && v > 0.0;
        let all_ok = positive(l.time_multiplier)
            && positive(l.memory_multiplier)
            && positive(l.compile_cpu)
            && l.time_extra.is_finite()
            && l.time_extra >= 0.0;
        if !all_ok {
            return Err(JudgeError::Language(format!(
                "{file}: [{key}] multipliers and compile_cpu must be positive numbers"
            )));
        }
    }
    Ok(map)
}

fn one_line(e: &toml::de::Error) -> String {
    // toml's message spans lines (a caret under the source): keep the
    // position and the reason.
    let text = e.to_string();
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let first = lines.next().unwrap_or("invalid TOML").trim().to_string();
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    if last != first && !last.starts_with('|') && !last.starts_with('^') {
        format!("{first}: {last}")
    } else {
        format!("{first}: {}", e.message())
    }
}

impl Languages {
    /// The shipped languages, with those of `file` replacing them by name.
    pub fn load(file: Option<&Path>) -> Result<Languages, JudgeError> {
        let mut map = parse(SHIPPED, "shipped languages.toml")?;
        if let Some(f) = file {
            let text = std::fs::read_to_string(f)
                .map_err(|e| JudgeError::Language(format!("{}: {e}", f.display())))?;
            map.extend(parse(&text, &f.display().to_string())?);
        }
        Ok(Languages { map })
    }

    pub fn get(&self, key: &str) -> Result<(&str, &Language), JudgeError> {
        self.map
            .get_key_value(key)
            .map(|(k, l)| (k.as_str(), l))
            .ok_or_else(|| {
                JudgeError::Language(format!(
                    "unknown language `{key}` (known: {})",
                    self.map.keys().cloned().collect::<Vec<_>>().join(", ")
                ))
            })
    }

    /// The language of a submission: `--lang`, else the extension of its
    /// file (of the files of its directory).
    pub fn detect(
        &self,
        files: &[PathBuf],
        lang: Option<&str>,
    ) -> Result<(&str, &Language), JudgeError> {
        if let Some(k) = lang {
            return self.get(k);
        }
        for f in files {
            let Some(ext) = f.extension().and_then(|e| e.to_str()) else {
                continue;
            };
            if let Some((k, l)) = self
                .map
                .iter()
                .find(|(_, l)| l.extensions.iter().any(|x| x == ext))
            {
                return Ok((k.as_str(), l));
            }
        }
        let first = files
            .first()
            .map(|f| f.display().to_string())
            .unwrap_or_default();
        Err(JudgeError::Language(format!(
            "{first}: no language for this file's extension (use --lang; known: {})",
            self.map.keys().cloned().collect::<Vec<_>>().join(", ")
        )))
    }
}

/// The files of a submission: the file itself, or the regular files of its
/// directory (not recursive), sorted.
pub fn source_files(source: &Path) -> Result<Vec<PathBuf>, JudgeError> {
    let md = std::fs::metadata(source)
        .map_err(|e| JudgeError::Source(format!("{}: {e}", source.display())))?;
    if md.is_file() {
        return Ok(vec![source.to_path_buf()]);
    }
    let mut v: Vec<PathBuf> = std::fs::read_dir(source)
        .map_err(|e| JudgeError::Source(format!("{}: {e}", source.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    if v.is_empty() {
        return Err(JudgeError::Source(format!(
            "{}: the directory holds no source file",
            source.display()
        )));
    }
    Ok(v)
}

/// Copies the source `files` into `build`; their file names, in order.
/// Err: the file that could not be copied and why.
pub fn copy_sources(files: &[PathBuf], build: &Path) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    for f in files {
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        std::fs::copy(f, build.join(&name)).map_err(|e| format!("{}: {e}", f.display()))?;
        names.push(name);
    }
    Ok(names)
}

/// Those of `names` (file names) with one of the language's extensions.
pub fn own_files(names: &[String], lang: &Language) -> Vec<String> {
    names
        .iter()
        .filter(|n| {
            Path::new(n)
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| lang.extensions.iter().any(|x| x == e))
        })
        .cloned()
        .collect()
}

/// The main file among `names` (file names): the only one, else `main.*`
/// or `Main.*`, else the first.
pub fn main_file(names: &[String], lang: &Language) -> String {
    let ours = own_files(names, lang);
    let pool = if ours.is_empty() { names } else { &ours[..] };
    pool.iter()
        .find(|n| {
            let stem = Path::new(n.as_str())
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("");
            stem == "main" || stem == "Main"
        })
        .or(pool.first())
        .map(|s| s.to_string())
        .unwrap_or_default()
}

/// Values of the placeholders of one submission.
pub struct Vars<'a> {
    pub files: &'a [String],
    pub main: &'a str,
    pub binary: &'a str,
    pub memory_mib: u64,
}

/// `cmd` with its placeholders replaced; `{files}` alone in an argument
/// becomes one argument per file.
pub fn expand(cmd: &[String], v: &Vars<'_>) -> Vec<String> {
    let class = Path::new(v.main)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or(v.main)
        .to_string();
    let mut out = Vec::new();
    for a in cmd {
        if a == "{files}" {
            out.extend(v.files.iter().cloned());
            continue;
        }
        out.push(
            a.replace("{files}", &v.files.join(" "))
                .replace("{mainclass}", &class)
                .replace("{main}", v.main)
                .replace("{binary}", v.binary)
                .replace("{memory_mib}", &v.memory_mib.to_string()),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_languages_parse_and_expand() {
        let l = Languages::load(None).unwrap();
        for k in ["c", "cpp", "python3", "java"] {
            assert!(l.map.contains_key(k), "{k}");
        }
        let (k, java) = l.detect(&[PathBuf::from("x/Main.java")], None).unwrap();
        assert_eq!(k, "java");
        let files = vec!["Main.java".to_string(), "Util.java".to_string()];
        let main = main_file(&files, java);
        let run = expand(
            &java.run,
            &Vars {
                files: &files,
                main: &main,
                binary: "a.out",
                memory_mib: 64,
            },
        );
        assert!(run.contains(&"-Xmx64m".to_string()), "{run:?}");
        assert_eq!(run.last().unwrap(), "Main");
        let c = &l.map["c"];
        let cc = expand(
            c.compile.as_ref().unwrap(),
            &Vars {
                files: &files,
                main: "a.c",
                binary: "a.out",
                memory_mib: 1,
            },
        );
        assert!(
            cc.windows(2).any(|w| w == ["Main.java", "Util.java"]),
            "{cc:?}"
        );
    }

    #[test]
    fn a_languages_file_replaces_by_name_and_errors_name_the_file() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("langs.toml");
        std::fs::write(&f, "[c]\nextensions = [\"c\"]\nrun = [\"./x\"]\n[rust]\nextensions=[\"rs\"]\nrun=[\"./x\"]\n").unwrap();
        let l = Languages::load(Some(&f)).unwrap();
        assert_eq!(l.map["c"].run, vec!["./x"]);
        assert!(l.map["c"].compile.is_none());
        assert!(l.map.contains_key("rust") && l.map.contains_key("java"));
        std::fs::write(&f, "[c]\nextension = [\"c\"]\nrun = [\"./x\"]\n").unwrap();
        let e = Languages::load(Some(&f)).unwrap_err().to_string();
        assert!(e.contains("langs.toml") && e.contains("extension"), "{e}");
        assert!(!e.contains('\n'), "{e}");
        let e = l.get("cobol").unwrap_err().to_string();
        assert!(e.contains("unknown language `cobol`"), "{e}");
    }
}
