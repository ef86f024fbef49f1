//! `safeexec judge`: a small problem package made here under /tmp, with
//! submissions in C, C++, Python 3 and Java for every verdict, judged with
//! --verify and --json; a custom output validator; float tolerance; the
//! same verdicts with --jobs 1 and --jobs 2; two shards merged equal one run;
//! bad input with one line and its own exit status.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

const JAVA: &str = "/usr/lib/jvm/java-17-openjdk-amd64/bin/java";

fn write(p: &Path, text: &str) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// A package for "print the sum of two integers": a sample, two secret
/// groups of two tests each.
fn package(extra_yaml: &str) -> tempfile::TempDir {
    let d = tempfile::Builder::new()
        .prefix("safeexec-judge-test-")
        .tempdir_in("/tmp")
        .unwrap();
    let r = d.path();
    write(
        &r.join("problem.yaml"),
        &format!("name: Sum\nlimits:\n  time_limit: 1\n  memory: 64\n  output: 1\n{extra_yaml}"),
    );
    let tests = [
        ("sample/1", 1, 2),
        ("secret/g1/1", 5, 5),
        ("secret/g1/2", 2, 2),
        ("secret/g2/1", 7, 8),
        ("secret/g2/2", -3, 10),
    ];
    for (name, a, b) in tests {
        write(&r.join(format!("data/{name}.in")), &format!("{a} {b}\n"));
        write(&r.join(format!("data/{name}.ans")), &format!("{}\n", a + b));
    }
    d
}

fn sub(root: &Path, dir: &str, file: &str, text: &str) -> PathBuf {
    let p = root.join("submissions").join(dir).join(file);
    write(&p, text);
    p
}

fn judge<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> common::Run {
    let mut v: Vec<std::ffi::OsString> = vec!["judge".into()];
    v.extend(args.iter().map(|a| a.as_ref().to_owned()));
    common::run_with(
        &v,
        common::Opts {
            timeout: Duration::from_secs(60),
            ..Default::default()
        },
    )
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// The document without what varies from run to run (times, memory).
fn stable(mut v: Value) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                for k in ["cpu_ms", "wall_ms", "memory_kib"] {
                    if m.get(k).is_some_and(|x| !x.is_object()) && !m.contains_key("output_kib") {
                        m.remove(k);
                    }
                }
                for (_, x) in m.iter_mut() {
                    strip(x);
                }
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut v);
    v
}

fn verdicts(doc: &Value) -> Vec<(String, String)> {
    doc["submissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["source"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_string(),
                s["verdict"].as_str().unwrap_or("null").to_string(),
            )
        })
        .collect()
}

const C_AC: &str = "#include <stdio.h>\nint main(void){long a,b;if(scanf(\"%ld %ld\",&a,&b)!=2)return 1;printf(\"%ld\\n\",a+b);return 0;}\n";
const C_WA: &str = "#include <stdio.h>\nint main(void){long a,b;scanf(\"%ld %ld\",&a,&b);printf(\"%ld\\n\",a==b?a*b:a+b);return 0;}\n";
const C_RTE: &str = "#include <stdio.h>\nint main(void){long a,b;scanf(\"%ld %ld\",&a,&b);volatile int *p=0;if(a!=1)*p=1;printf(\"%ld\\n\",a+b);return 0;}\n";

fn c_submissions(root: &Path) {
    sub(root, "accepted", "sum.c", C_AC);
    sub(root, "wrong_answer", "square.c", C_WA);
    sub(
        root,
        "time_limit_exceeded",
        "spin.c",
        "#include <stdio.h>\nint main(void){long a,b;scanf(\"%ld %ld\",&a,&b);volatile unsigned long x=0;for(unsigned long i=0;i<(1UL<<40);i++)x+=i;printf(\"%ld\\n\",a+b);return 0;}\n",
    );
    sub(
        root,
        "memory_limit_exceeded",
        "hog.c",
        "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\nint main(void){long a,b;scanf(\"%ld %ld\",&a,&b);for(int i=0;i<32;i++){char*p=malloc(16<<20);if(!p)return 3;memset(p,1,16<<20);}printf(\"%ld\\n\",a+b);return 0;}\n",
    );
    sub(root, "run_time_error", "segv.c", C_RTE);
    sub(
        root,
        "restricted_function",
        "fork.c",
        "#include <stdio.h>\n#include <unistd.h>\nint main(void){long a,b;scanf(\"%ld %ld\",&a,&b);if(fork()==0)return 0;printf(\"%ld\\n\",a+b);return 0;}\n",
    );
    sub(
        root,
        "output_limit_exceeded",
        "flood.c",
        "#include <stdio.h>\nint main(void){for(long i=0;i<10000000;i++)puts(\"0123456789012345678901234567890\");return 0;}\n",
    );
    sub(
        root,
        "compile_error",
        "typo.c",
        "int main(void){ return undeclared; }\n",
    );
}

#[test]
fn verify_c_submissions_get_the_verdicts_of_their_directories() {
    if !common::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let p = package("");
    c_submissions(p.path());
    let json = p.path().join("out.json");
    let r = judge(&[
        p.path().as_os_str(),
        "--verify".as_ref(),
        "--json".as_ref(),
        json.as_os_str(),
    ]);
    let out = r.stdout_str();
    assert_eq!(r.status, Some(0), "{out}\n{}", r.stderr_str());
    let doc = read_json(&json);
    assert_eq!(doc["summary"]["mismatches"], 0, "{out}");
    let got = verdicts(&doc);
    let want = [
        ("sum.c", "AC"),
        ("square.c", "WA"),
        ("spin.c", "TLE"),
        ("segv.c", "RTE"),
        ("hog.c", "MLE"),
        ("flood.c", "OLE"),
        ("fork.c", "RF"),
        ("typo.c", "CE"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(got, want, "{out}");
    for s in doc["submissions"].as_array().unwrap() {
        assert_eq!(s["matches_expected"], true, "{s}");
        let v = s["verdict"].as_str().unwrap();
        let tests = s["tests"].as_array().unwrap();
        match v {
            "CE" => {
                assert!(tests.is_empty());
                let m = s["compile"]["message"].as_str().unwrap();
                assert!(m.contains("undeclared"), "{m}");
            }
            "RF" => {
                // The policy rule that fired, named.
                let rule = tests[0]["rule"].as_str().unwrap();
                assert!(
                    rule.starts_with("clone") || rule.starts_with("fork"),
                    "{rule}"
                );
                assert!(rule.contains("default"), "{rule}");
            }
            "TLE" => {
                // The CPU limit, unless a busy machine ran the wall clock
                // (4x CPU + 5 s) out first.
                let cpu = tests[0]["cpu_ms"].as_f64().unwrap();
                let msg = tests[0]["message"].as_str().unwrap();
                if msg.contains("CPU") {
                    assert!(cpu >= 900.0, "TLE after {cpu} ms of CPU");
                } else {
                    assert!(msg.contains("wall clock"), "{msg}");
                    assert!(
                        tests[0]["wall_ms"].as_u64().unwrap() >= 9000,
                        "{}",
                        tests[0]
                    );
                }
            }
            "MLE" => assert!(tests[0]["memory_kib"].as_u64().unwrap() > 64 * 1024),
            _ => {}
        }
        if v != "CE" {
            // Stop at the first failure of each group: every group is
            // judged, none past its first failure.
            let groups: Vec<&str> = tests.iter().map(|t| t["group"].as_str().unwrap()).collect();
            for g in ["sample", "secret/g1", "secret/g2"] {
                assert!(groups.contains(&g), "{v}: {groups:?}");
            }
            if v != "AC" {
                for g in ["sample", "secret/g1", "secret/g2"] {
                    let in_g: Vec<&Value> = tests.iter().filter(|t| t["group"] == g).collect();
                    let fail = in_g.iter().position(|t| t["verdict"] != "AC");
                    if let Some(f) = fail {
                        assert_eq!(
                            f + 1,
                            in_g.len(),
                            "{v}: tests after the first failure of {g}"
                        );
                    }
                }
            }
        }
    }
    // The WA submission fails g1/1 (5 5) but not g2; its message says why.
    let wa = &doc["submissions"][1]["tests"];
    let t = wa
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "secret/g1/1")
        .unwrap();
    assert_eq!(t["verdict"], "WA");
    assert!(
        t["message"]
            .as_str()
            .unwrap()
            .contains("expected `10`, got `25`"),
        "{t}"
    );
    // No process of any run is left, and the scratch directory is gone.
    let left: Vec<_> = std::fs::read_dir("/tmp")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy() == format!("safeexec-judge-{}", r.pid))
        .collect();
    assert!(left.is_empty(), "scratch directory left behind");

    // A submission in the wrong directory is a mismatch: exit 1.
    sub(p.path(), "wrong_answer", "also_right.c", C_AC);
    let r = judge(&[
        p.path().as_os_str(),
        "--verify".as_ref(),
        "-j".as_ref(),
        "2".as_ref(),
    ]);
    assert_eq!(r.status, Some(1), "{}", r.stdout_str());
    assert!(
        r.stdout_str().contains("MISMATCH: expected WA"),
        "{}",
        r.stdout_str()
    );
}

#[test]
fn verify_cpp_and_python_submissions() {
    if !common::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let p = package("");
    let r = p.path();
    sub(r, "accepted", "sum.cpp", "#include <iostream>\nint main(){long long a,b;std::cin>>a>>b;std::cout<<a+b<<std::endl;}\n");
    sub(r, "wrong_answer", "diff.cpp", "#include <iostream>\nint main(){long long a,b;std::cin>>a>>b;std::cout<<a-b<<std::endl;}\n");
    sub(r, "restricted_function", "fork.cpp", "#include <iostream>\n#include <unistd.h>\nint main(){long long a,b;std::cin>>a>>b;if(fork()==0)return 0;std::cout<<a+b<<std::endl;}\n");
    sub(
        r,
        "compile_error",
        "bad.cpp",
        "int main(){ std::vector<int> v; }\n",
    );
    sub(
        r,
        "accepted",
        "sum.py",
        "import sys\na, b = map(int, sys.stdin.read().split())\nprint(a + b)\n",
    );
    sub(
        r,
        "wrong_answer",
        "prod.py",
        "a, b = map(int, input().split())\nprint(a * b)\n",
    );
    sub(
        r,
        "run_time_error",
        "raise.py",
        "a, b = map(int, input().split())\nraise SystemExit(3)\n",
    );
    sub(
        r,
        "memory_limit_exceeded",
        "hog.py",
        "x = [b'1' * (1 << 20) for _ in range(512)]\nprint(len(x))\n",
    );
    sub(
        r,
        "restricted_function",
        "fork.py",
        "import os\nos.fork()\nprint(0)\n",
    );
    sub(r, "compile_error", "syntax.py", "print(1 +\n");
    let json = r.join("out.json");
    let run = judge(&[
        r.as_os_str(),
        "--verify".as_ref(),
        "--json".as_ref(),
        json.as_os_str(),
    ]);
    let out = run.stdout_str();
    assert_eq!(run.status, Some(0), "{out}\n{}", run.stderr_str());
    let doc = read_json(&json);
    assert_eq!(doc["summary"]["mismatches"], 0, "{out}");
    let langs: Vec<&str> = doc["submissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["language"].as_str().unwrap())
        .collect();
    assert!(
        langs.contains(&"cpp") && langs.contains(&"python3"),
        "{langs:?}"
    );
    let rf = doc["submissions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"].as_str().unwrap().ends_with("fork.py"))
        .unwrap();
    assert!(
        rf["tests"][0]["rule"].as_str().unwrap().contains("python3"),
        "{rf}"
    );
}

/// Java is slow to start: a few submissions only.
#[test]
fn verify_java_submissions() {
    if !common::is_root() || !Path::new(JAVA).exists() {
        eprintln!("skipped: needs root and OpenJDK 17");
        return;
    }
    let p = package("");
    let r = p.path();
    sub(r, "accepted", "java/Main.java", "import java.util.*;\npublic class Main { public static void main(String[] x) { Scanner s = new Scanner(System.in); long a = s.nextLong(), b = s.nextLong(); System.out.println(a + b); } }\n");
    sub(r, "memory_limit_exceeded", "java/Main.java", "public class Main { public static void main(String[] x) { long[][] k = new long[64][]; for (int i = 0; i < 64; i++) k[i] = new long[1 << 20]; System.out.println(k.length); } }\n");
    sub(
        r,
        "compile_error",
        "java/Main.java",
        "public class Main { public static void main(String[] x) { int y = \"s\"; } }\n",
    );
    let json = r.join("out.json");
    let run = judge(&[
        r.as_os_str(),
        "--verify".as_ref(),
        "--json".as_ref(),
        json.as_os_str(),
    ]);
    let out = run.stdout_str();
    assert_eq!(run.status, Some(0), "{out}\n{}", run.stderr_str());
    let doc = read_json(&json);
    assert_eq!(doc["summary"]["mismatches"], 0, "{out}");
    for s in doc["submissions"].as_array().unwrap() {
        assert_eq!(s["language"], "java");
        assert_eq!(s["limits"]["policy"], "java");
    }
    // The heap limit is the problem's (-Xmx64m): the allocation of 512 MiB
    // is an OutOfMemoryError, judged MLE.
    let mle = &doc["submissions"][1];
    assert_eq!(mle["verdict"], "MLE");
    assert!(
        mle["tests"][0]["message"]
            .as_str()
            .unwrap()
            .contains("OutOfMemoryError"),
        "{mle}"
    );
}

/// Under the shipped policies (paranoid mode: seccomp, the supervisor's
/// path check and Landlock, which the policies' path rules require on this
/// kernel), a judged program reads its own files (a Python module, a second
/// Java class) and its test input by name (`/dev/stdin`, which the kernel
/// resolves to the file the judge opened); it cannot read the answer file
/// the package's permissions would let it read, nor write its input.
#[test]
fn judged_programs_read_their_own_files_and_stdin_by_name_but_not_the_answers() {
    if !common::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let p = package("");
    let r = p.path();
    // Readable and searchable by anyone, the inputs even writable: only the
    // policy stands between a run's uid and the package.
    let mut stack = vec![r.to_path_buf()];
    while let Some(d) = stack.pop() {
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap().path();
            if e.is_dir() {
                stack.push(e);
            } else {
                let mode = if e.extension().is_some_and(|x| x == "in") {
                    0o666
                } else {
                    0o644
                };
                std::fs::set_permissions(&e, std::fs::Permissions::from_mode(mode)).unwrap();
            }
        }
    }
    let inputs: Vec<(PathBuf, Vec<u8>)> = [
        "sample/1",
        "secret/g1/1",
        "secret/g1/2",
        "secret/g2/1",
        "secret/g2/2",
    ]
    .iter()
    .map(|n| {
        let f = r.join(format!("data/{n}.in"));
        let b = std::fs::read(&f).unwrap();
        (f, b)
    })
    .collect();
    let subs = tempfile::Builder::new()
        .prefix("safeexec-judge-subs-")
        .tempdir_in("/tmp")
        .unwrap();
    let s = subs.path();
    write(
        &s.join("py/main.py"),
        "import helper\nprint(helper.add(open('/dev/stdin').read()))\n",
    );
    write(
        &s.join("py/helper.py"),
        "def add(text):\n    return sum(map(int, text.split()))\n",
    );
    write(
        &s.join("stdin.c"),
        "#include <stdio.h>\nint main(void){FILE*f=fopen(\"/dev/stdin\",\"r\");long a,b;if(!f)return 3;if(fscanf(f,\"%ld %ld\",&a,&b)!=2)return 4;printf(\"%ld\\n\",a+b);return 0;}\n",
    );
    // The answer of the sample, by its absolute path: AC only when the open
    // is refused (a leak prints it with a word: WA). EACCES from the
    // supervisor or Landlock, or ENOENT when the opens do not stop and the
    // path does not exist in the run's view (its /tmp is private).
    write(
        &s.join("cheat.py"),
        &format!(
            "import sys\ntry:\n    print(open({:?}).read().strip(), 'leaked')\nexcept (PermissionError, FileNotFoundError):\n    print(sum(map(int, sys.stdin.read().split())))\n",
            r.join("data/sample/1.ans").display().to_string()
        ),
    );
    // Overwrites its input if it can, then answers.
    write(
        &s.join("scribble.py"),
        "import sys\ntry:\n    open('/dev/stdin', 'w').write('1000 1000\\n')\nexcept OSError:\n    pass\nprint(sum(map(int, sys.stdin.read().split())))\n",
    );
    let mut args: Vec<std::ffi::OsString> = vec![
        r.into(),
        s.join("py").into(),
        s.join("stdin.c").into(),
        s.join("cheat.py").into(),
        s.join("scribble.py").into(),
    ];
    let java = Path::new(JAVA).exists();
    if java {
        write(
            &s.join("java/Main.java"),
            "import java.io.*;\npublic class Main { public static void main(String[] x) throws IOException { try (BufferedReader in = new BufferedReader(new FileReader(\"/dev/stdin\"))) { System.out.println(Adder.sum(in.readLine())); } } }\n",
        );
        write(
            &s.join("java/Adder.java"),
            "class Adder { static long sum(String line) { long t = 0; for (String w : line.trim().split(\"\\\\s+\")) t += Long.parseLong(w); return t; } }\n",
        );
        args.push(s.join("java").into());
    } else {
        eprintln!("no {JAVA}: java part skipped");
    }
    let json = r.join("out.json");
    args.extend([
        "--all".into(),
        "--json".into(),
        json.clone().into_os_string(),
    ]);
    let run = judge(&args);
    let out = run.stdout_str();
    assert_eq!(run.status, Some(0), "{out}\n{}", run.stderr_str());
    let doc = read_json(&json);
    let subs_doc = doc["submissions"].as_array().unwrap();
    assert_eq!(subs_doc.len(), if java { 5 } else { 4 }, "{out}");
    for sd in subs_doc {
        assert_eq!(sd["verdict"], "AC", "{sd}");
        assert_eq!(sd["tests"].as_array().unwrap().len(), 5, "{sd}");
        assert!(sd["limits"]["policy"].is_string(), "{sd}");
    }
    for (f, before) in &inputs {
        assert_eq!(
            &std::fs::read(f).unwrap(),
            before,
            "{} was changed",
            f.display()
        );
    }
}

#[test]
fn json_document_and_exit_status_of_a_plain_judging() {
    if !common::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let p = package("");
    let ac = sub(p.path(), "x", "sum.c", C_AC);
    let wa = sub(p.path(), "x", "wa.c", C_WA);
    let json = p.path().join("doc.json");
    let r = judge(&[
        p.path().as_os_str(),
        ac.as_os_str(),
        "--json".as_ref(),
        json.as_os_str(),
    ]);
    assert_eq!(r.status, Some(0), "{}{}", r.stdout_str(), r.stderr_str());
    // Without a terminal: one line per test, then the table.
    let out = r.stdout_str();
    assert_eq!(
        out.lines().filter(|l| l.contains(" AC 0.")).count(),
        5,
        "{out}"
    );
    let doc = read_json(&json);
    assert_eq!(doc["format"], "safeexec-judge/1");
    assert_eq!(doc["mode"], "paranoid");
    assert_eq!(doc["limits"]["time_limit_s"], 1.0);
    assert_eq!(doc["limits"]["memory_mib"], 64);
    let s = &doc["submissions"][0];
    assert_eq!(s["limits"]["cpu_ms"], 1000);
    assert_eq!(s["limits"]["memory_kib"], 65536);
    assert_eq!(s["limits"]["output_kib"], 1024);
    assert_eq!(s["limits"]["policy"], "default");
    assert_eq!(s["tests"].as_array().unwrap().len(), 5);
    for t in s["tests"].as_array().unwrap() {
        assert_eq!(t["verdict"], "AC");
        assert!(t["cpu_ms"].is_number() && t["wall_ms"].is_number());
        assert!(t["memory_kib"].as_u64().unwrap() > 0);
    }
    // A WA among them: exit 1; --all runs every test of the failing group.
    let r = judge(&[
        p.path().as_os_str(),
        ac.as_os_str(),
        wa.as_os_str(),
        "--all".as_ref(),
        "--json".as_ref(),
        json.as_os_str(),
        "--mode".as_ref(),
        "classic".as_ref(),
    ]);
    assert_eq!(r.status, Some(1), "{}", r.stdout_str());
    let doc = read_json(&json);
    assert_eq!(doc["mode"], "classic");
    assert_eq!(doc["submissions"][1]["verdict"], "WA");
    assert_eq!(doc["submissions"][1]["tests"].as_array().unwrap().len(), 5);
    assert!(doc["submissions"][1]["limits"]["policy"].is_null());
}

#[test]
fn custom_output_validator_decides_and_its_failure_is_a_judge_error() {
    if !common::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let p = package("");
    let r = p.path();
    // Accepts an answer within 1 of the judge's; says why otherwise.
    write(
        &r.join("output_validators/near/near.c"),
        "#include <stdio.h>\n#include <stdlib.h>\nint main(int argc,char**argv){if(argc<4)return 1;FILE*a=fopen(argv[2],\"r\");long x,y;if(!a||fscanf(a,\"%ld\",&x)!=1)return 1;char f[4096];snprintf(f,sizeof f,\"%s/judgemessage.txt\",argv[3]);FILE*m=fopen(f,\"w\");if(scanf(\"%ld\",&y)!=1){fprintf(m,\"no number\\n\");return 43;}if(labs(x-y)>1){fprintf(m,\"off by %ld\\n\",labs(x-y));return 43;}fprintf(m,\"close enough\\n\");return 42;}\n",
    );
    let plus1 = sub(r, "x", "plus1.c", "#include <stdio.h>\nint main(void){long a,b;scanf(\"%ld %ld\",&a,&b);printf(\"%ld\\n\",a+b+1);return 0;}\n");
    let plus5 = sub(r, "x", "plus5.c", "#include <stdio.h>\nint main(void){long a,b;scanf(\"%ld %ld\",&a,&b);printf(\"%ld\\n\",a+b+5);return 0;}\n");
    let json = r.join("doc.json");
    let run = judge(&[
        r.as_os_str(),
        plus1.as_os_str(),
        plus5.as_os_str(),
        "--json".as_ref(),
        json.as_os_str(),
    ]);
    assert_eq!(
        run.status,
        Some(1),
        "{}{}",
        run.stdout_str(),
        run.stderr_str()
    );
    let doc = read_json(&json);
    assert!(doc["validator"]
        .as_str()
        .unwrap()
        .ends_with("output_validators/near"));
    assert_eq!(
        doc["submissions"][0]["verdict"],
        "AC",
        "{}",
        run.stdout_str()
    );
    assert_eq!(
        doc["submissions"][0]["tests"][0]["feedback"],
        "close enough"
    );
    let t = &doc["submissions"][1]["tests"][0];
    assert_eq!(t["verdict"], "WA");
    assert_eq!(t["message"], "off by 5"); // sample 1 2 -> 3, printed 8

    // A validator that crashes: JE, and the judge's exit status 22.
    write(
        &r.join("output_validators/near/near.c"),
        "#include <stdlib.h>\nint main(void){abort();}\n",
    );
    let run = judge(&[
        r.as_os_str(),
        plus1.as_os_str(),
        "--json".as_ref(),
        json.as_os_str(),
    ]);
    assert_eq!(
        run.status,
        Some(22),
        "{}{}",
        run.stdout_str(),
        run.stderr_str()
    );
    let doc = read_json(&json);
    assert_eq!(doc["submissions"][0]["verdict"], "JE");

    // A validator that does not build: one line naming it, status 22.
    write(
        &r.join("output_validators/near/near.c"),
        "int main(void){ return nope; }\n",
    );
    let run = judge(&[r.as_os_str(), plus1.as_os_str()]);
    assert_eq!(run.status, Some(22), "{}", run.stderr_str());
    let err = run.stderr_str();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("safeexec: ")
            && err.contains("output_validators/near")
            && err.contains("does not build"),
        "{err}"
    );
}

/// A compiler can be attacked: it runs in the sandbox under its own limits
/// (here lowered with a languages file), and the attack is a CE.
#[test]
fn compiler_attacks_are_compile_errors_within_the_compile_limits() {
    if !common::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let p = package("");
    let r = p.path();
    let langs = r.join("langs.toml");
    write(
        &langs,
        "[c]\nextensions = [\"c\"]\ncompile = [\"/usr/bin/gcc\", \"-O2\", \"-o\", \"{binary}\", \"{files}\"]\nrun = [\"./{binary}\"]\ncompile_cpu = 2\ncompile_memory_mib = 256\n",
    );
    let zero = sub(
        r,
        "x",
        "zero.c",
        "#include \"/dev/zero\"\nint main(void){return 0;}\n",
    );
    let ok = sub(r, "x", "ok.c", C_AC);
    let json = r.join("doc.json");
    let run = judge(&[
        r.as_os_str(),
        zero.as_os_str(),
        ok.as_os_str(),
        "--languages".as_ref(),
        langs.as_os_str(),
        "--json".as_ref(),
        json.as_os_str(),
    ]);
    assert_eq!(
        run.status,
        Some(1),
        "{}{}",
        run.stdout_str(),
        run.stderr_str()
    );
    let doc = read_json(&json);
    let c = &doc["submissions"][0]["compile"];
    assert_eq!(doc["submissions"][0]["verdict"], "CE", "{c}");
    let m = c["message"].as_str().unwrap();
    assert!(m.contains("Limit Exceeded"), "{m}");
    // Within the compile limits: 256 MiB (plus the cgroup's margin).
    assert!(c["memory_kib"].as_u64().unwrap() < 300 * 1024, "{c}");
    // The other submission, compiled by the same languages file, is judged.
    assert_eq!(doc["submissions"][1]["verdict"], "AC");
}

#[test]
fn float_tolerance_from_validator_flags() {
    if !common::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let d = tempfile::Builder::new()
        .prefix("safeexec-judge-test-")
        .tempdir_in("/tmp")
        .unwrap();
    let r = d.path();
    write(
        &r.join("problem.yaml"),
        "name: third\nvalidator_flags: float_tolerance 1e-4\n",
    );
    write(&r.join("data/secret/1.in"), "1\n");
    write(&r.join("data/secret/1.ans"), "0.333333333\n");
    let close = sub(
        r,
        "x",
        "close.c",
        "#include <stdio.h>\nint main(void){printf(\"%.5f\\n\",1.0/3);return 0;}\n",
    );
    let far = sub(
        r,
        "x",
        "far.c",
        "#include <stdio.h>\nint main(void){printf(\"%.2f\\n\",1.0/3);return 0;}\n",
    );
    let json = r.join("doc.json");
    let run = judge(&[
        r.as_os_str(),
        close.as_os_str(),
        far.as_os_str(),
        "--json".as_ref(),
        json.as_os_str(),
    ]);
    assert_eq!(run.status, Some(1), "{}", run.stdout_str());
    let doc = read_json(&json);
    assert_eq!(
        verdicts(&doc),
        vec![
            ("close.c".into(), "AC".into()),
            ("far.c".into(), "WA".into())
        ]
    );
}

#[test]
fn jobs_1_and_2_give_the_same_document_and_two_shards_merge_into_one_run() {
    if !common::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let p = package("");
    let r = p.path();
    let srcs = [
        sub(r, "x", "a_ok.c", C_AC),
        sub(r, "x", "b_wa.c", C_WA),
        sub(r, "x", "c_rte.c", C_RTE),
        sub(r, "x", "d_ce.c", "int main(void){ return nope; }\n"),
    ];
    let run = |extra: &[&str], json: &Path| {
        let mut args: Vec<std::ffi::OsString> = vec![r.into()];
        args.extend(srcs.iter().map(|s| s.clone().into_os_string()));
        args.extend(extra.iter().map(|s| s.into()));
        args.push("--json".into());
        args.push(json.into());
        let out = judge(&args);
        assert_eq!(
            out.status,
            Some(1),
            "{}{}",
            out.stdout_str(),
            out.stderr_str()
        );
        read_json(json)
    };
    let one = run(&["--jobs", "1"], &r.join("j1.json"));
    let two = run(&["--jobs", "2"], &r.join("j2.json"));
    assert_eq!(
        stable(one.clone()),
        stable(two),
        "--jobs 1 and --jobs 2 differ"
    );
    assert_eq!(
        verdicts(&one),
        vec![
            ("a_ok.c".to_string(), "AC".to_string()),
            ("b_wa.c".into(), "WA".into()),
            ("c_rte.c".into(), "RTE".into()),
            ("d_ce.c".into(), "CE".into())
        ]
    );

    let s1 = run(&["--shard", "1/2"], &r.join("s1.json"));
    let s2 = run(&["--shard", "2/2"], &r.join("s2.json"));
    assert_eq!(s1["shard"]["k"], 1);
    // Each shard judged a part only.
    let n = |d: &Value| d["summary"]["tests"].as_u64().unwrap();
    assert!(
        n(&s1) > 0 && n(&s2) > 0 && n(&s1) + n(&s2) == n(&one),
        "{} + {} != {}",
        n(&s1),
        n(&s2),
        n(&one)
    );
    let merged = r.join("merged.json");
    let m = common::run(&[
        "judge".as_ref(),
        "merge".as_ref(),
        r.join("s2.json").as_os_str(),
        r.join("s1.json").as_os_str(),
        "-o".as_ref(),
        merged.as_os_str(),
    ]);
    assert_eq!(m.status, Some(1), "{}", m.stderr_str());
    assert_eq!(
        stable(read_json(&merged)),
        stable(one),
        "merged shards differ from one run"
    );

    // A shard missing, or given twice: refused.
    let m = common::run(&[
        "judge".as_ref(),
        "merge".as_ref(),
        r.join("s1.json").as_os_str(),
    ]);
    assert_eq!(m.status, Some(2), "{}", m.stderr_str());
    assert!(
        m.stderr_str().contains("shard 2/2 is missing"),
        "{}",
        m.stderr_str()
    );
    let m = common::run(&[
        "judge".as_ref(),
        "merge".as_ref(),
        r.join("s1.json").as_os_str(),
        r.join("s1.json").as_os_str(),
    ]);
    assert_eq!(m.status, Some(2), "{}", m.stderr_str());
}

#[test]
fn plain_directory_of_in_and_out_files_with_limits_from_the_command_line() {
    if !common::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let d = tempfile::Builder::new()
        .prefix("safeexec-judge-test-")
        .tempdir_in("/tmp")
        .unwrap();
    write(&d.path().join("a.in"), "1 2\n");
    write(&d.path().join("a.out"), "3\n");
    write(&d.path().join("b.in"), "4 4\n");
    write(&d.path().join("b.ans"), "8\n");
    let src = d.path().join("s").join("sum.c");
    write(&src, C_AC);
    let json = d.path().join("doc.json");
    let r = judge(&[
        d.path().as_os_str(),
        src.as_os_str(),
        "--time-limit".as_ref(),
        "2".as_ref(),
        "--memory-limit".as_ref(),
        "32".as_ref(),
        "--json".as_ref(),
        json.as_os_str(),
    ]);
    assert_eq!(r.status, Some(0), "{}{}", r.stdout_str(), r.stderr_str());
    let doc = read_json(&json);
    assert_eq!(doc["limits"]["time_limit_s"], 2.0);
    assert_eq!(doc["submissions"][0]["limits"]["memory_kib"], 32768);
    assert_eq!(doc["summary"]["tests"], 2);
}

#[test]
fn bad_input_gets_one_line_naming_the_file_and_its_own_status() {
    let d = tempfile::Builder::new()
        .prefix("safeexec-judge-test-")
        .tempdir_in("/tmp")
        .unwrap();
    let r = d.path();
    let src = r.join("sum.c");
    write(&src, C_AC);
    let check = |args: &[&std::ffi::OsStr], status: i32, needle: &str| {
        let out = judge(args);
        let err = out.stderr_str();
        assert_eq!(
            out.status,
            Some(status),
            "{args:?}: {err}{}",
            out.stdout_str()
        );
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("safeexec: ") && err.contains(needle),
            "{needle}: {err}"
        );
        assert!(!out.stdout_str().contains("AC"), "{}", out.stdout_str());
    };
    let pkg = r.join("pkg");
    write(&pkg.join("problem.yaml"), "name: x\n");
    std::fs::create_dir_all(pkg.join("data/secret")).unwrap();
    check(&[pkg.as_os_str(), src.as_os_str()], 20, "no tests");
    write(&pkg.join("data/secret/1.in"), "1 2\n");
    check(
        &[pkg.as_os_str(), src.as_os_str()],
        20,
        "1.in: has no answer file",
    );
    write(&pkg.join("data/secret/1.ans"), "3\n");
    write(&pkg.join("problem.yaml"), "limits: {time_limit: [\n");
    check(
        &[pkg.as_os_str(), src.as_os_str()],
        20,
        "problem.yaml: line",
    );
    write(
        &pkg.join("problem.yaml"),
        "validator_flags: float_tolerance\n",
    );
    check(&[pkg.as_os_str(), src.as_os_str()], 20, "problem.yaml");
    write(&pkg.join("problem.yaml"), "name: x\n");
    check(
        &[
            pkg.as_os_str(),
            src.as_os_str(),
            "--lang".as_ref(),
            "cobol".as_ref(),
        ],
        21,
        "unknown language `cobol`",
    );
    // The JSON file is opened before judging: a bad path fails first.
    check(
        &[
            pkg.as_os_str(),
            src.as_os_str(),
            "--json".as_ref(),
            "/nonexistent-safeexec-dir/x.json".as_ref(),
        ],
        6,
        "JSON file /nonexistent-safeexec-dir/x.json",
    );
    let odd = r.join("prog.xyz");
    write(&odd, "");
    check(&[pkg.as_os_str(), odd.as_os_str()], 21, "prog.xyz");
    check(
        &[pkg.as_os_str(), r.join("missing.c").as_os_str()],
        21,
        "missing.c",
    );
    let langs = r.join("langs.toml");
    write(&langs, "[c]\nrun = 3\n");
    check(
        &[
            pkg.as_os_str(),
            src.as_os_str(),
            "--languages".as_ref(),
            langs.as_os_str(),
        ],
        21,
        "langs.toml",
    );
    check(&[pkg.as_os_str()], 2, "missing SOURCE");
    check(
        &[r.join("nothing").as_os_str(), src.as_os_str()],
        20,
        "nothing",
    );
    check(
        &[
            pkg.as_os_str(),
            src.as_os_str(),
            "--shard".as_ref(),
            "3/2".as_ref(),
        ],
        2,
        "K <= N",
    );
}

/// Processes whose command line holds `marker`.
fn processes_with(marker: &str) -> Vec<u32> {
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmd)
            .replace('\0', " ")
            .contains(marker)
        {
            v.push(pid);
        }
    }
    v
}

/// A scratch base of its own under /tmp, for a judge's `--scratch`.
fn scratch_base() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("safeexec-judge-scratch-")
        .tempdir_in("/tmp")
        .unwrap()
}

/// Starts `safeexec judge` on a submission that sleeps 30 s (its file
/// name carries `marker`, which its run's command line shows) with the
/// scratch base `scratch`, and waits until that run has started. Returns
/// the judge and its scratch directory.
fn judge_a_sleeper(r: &Path, scratch: &Path, marker: &str) -> (std::process::Child, PathBuf) {
    let src = r.join(format!("{marker}.py"));
    write(&src, "import time\ntime.sleep(30)\n");
    let mut child = std::process::Command::new(common::SAFEEXEC)
        .arg("judge")
        .arg(r)
        .arg(&src)
        .arg("--scratch")
        .arg(scratch)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let dir = scratch.join(format!("safeexec-judge-{}", child.id()));
    let started = common::eventually(Duration::from_secs(30), || {
        !processes_with(&format!("/usr/bin/python3 {marker}")).is_empty()
    });
    if !started {
        let _ = child.kill();
    }
    assert!(started, "the run of {marker} never started");
    (child, dir)
}

/// A judge stopped by SIGTERM or SIGINT while a test runs stops its runs,
/// removes its scratch directory, and says so in one line (exit 7, as the
/// run command interrupted by a signal).
#[test]
fn a_judge_stopped_by_a_signal_leaves_no_scratch_directory_and_no_run() {
    if !common::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    use nix::sys::signal::Signal;
    let p = package("");
    let r = p.path();
    let scratch = scratch_base();
    for sig in [Signal::SIGTERM, Signal::SIGINT] {
        // A name no other process has: the run's command line carries it.
        let marker = format!("sleeper_{}_{}", std::process::id(), sig.as_str());
        let (mut child, dir) = judge_a_sleeper(r, scratch.path(), &marker);
        let pid = child.id();
        assert!(dir.is_dir(), "{}", dir.display());
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), sig).unwrap();
        let ended = common::eventually(Duration::from_secs(15), || {
            matches!(child.try_wait(), Ok(Some(_)))
        });
        if !ended {
            let _ = child.kill();
        }
        assert!(ended, "the judge did not end within 15 s of {sig}");
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(7), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with(&format!("safeexec: judge: interrupted by {}", sig.as_str())),
            "{stderr}"
        );
        assert!(!dir.exists(), "{} left behind", dir.display());
        assert!(
            common::eventually(Duration::from_secs(5), || processes_with(&marker)
                .is_empty()),
            "a process of the run is left: {:?}",
            processes_with(&marker)
        );
    }
}

/// A judge killed with SIGKILL cannot remove its scratch directory; the
/// next judge with the same scratch base does (its PID no longer runs),
/// and leaves alone what is kept (`--keep`), what another live judge owns,
/// and what is not a judge's directory.
#[test]
fn the_next_judge_removes_what_a_killed_judge_left() {
    if !common::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let p = package("");
    let r = p.path();
    let scratch = scratch_base();
    let marker = format!("sleeper_{}_kill", std::process::id());
    let (mut child, dir) = judge_a_sleeper(r, scratch.path(), &marker);
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
    assert!(
        dir.is_dir(),
        "SIGKILL left nothing to clean: {}",
        dir.display()
    );
    // Its run ends anyway (the sandbox's guard), the directory stays.
    assert!(
        common::eventually(Duration::from_secs(15), || processes_with(&marker)
            .is_empty()),
        "a process of the run is left: {:?}",
        processes_with(&marker)
    );
    // Left alone: a kept one, a live process's, and a plain directory.
    let kept = scratch.path().join("safeexec-judge-999999999");
    std::fs::create_dir(&kept).unwrap();
    write(&kept.join(".kept"), "");
    let live = scratch
        .path()
        .join(format!("safeexec-judge-{}", std::process::id()));
    std::fs::create_dir(&live).unwrap();
    let other = scratch.path().join("safeexec-judge-notapid");
    std::fs::create_dir(&other).unwrap();

    let ok = r.join("ok.py");
    write(&ok, "print(sum(map(int, input().split())))\n");
    let run = judge(&[
        r.as_os_str(),
        ok.as_os_str(),
        "--scratch".as_ref(),
        scratch.path().as_os_str(),
    ]);
    assert_eq!(run.status, Some(0), "{}", run.stderr_str());
    assert!(!dir.exists(), "{} left behind", dir.display());
    for d in [&kept, &live, &other] {
        assert!(d.is_dir(), "{} was removed", d.display());
    }
}
