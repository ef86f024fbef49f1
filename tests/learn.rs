//! `safeexec policy learn` from real runs: the policy it writes is as
//! narrow as the run (no bare `allow connect`, no placeholder path rule),
//! runs the same program OK, and refuses a variant that connects to another
//! port or writes another file, checked from outside (a listener that got
//! no connection, a canary file untouched). Runs the built binary as root.

mod common;

use std::path::Path;
use std::process::Command;

use common::{need_root, Listener, Opts, Run};

/// A client that reads IN, writes OUT and sends "hello" to 127.0.0.1:PORT.
const CLIENT_C: &str = r#"
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc != 4) return 2;
    char buf[64] = {0};
    int in = open(argv[2], O_RDONLY);
    if (in < 0) { perror("open in"); return 3; }
    if (read(in, buf, sizeof buf - 1) < 0) return 4;
    close(in);
    int out = open(argv[3], O_WRONLY | O_TRUNC);
    if (out < 0) { perror("open out"); return 5; }
    if (write(out, "written\n", 8) != 8) return 6;
    close(out);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) { perror("socket"); return 7; }
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(atoi(argv[1]));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) { perror("connect"); return 8; }
    if (write(s, "hello", 5) != 5) return 9;
    close(s);
    printf("done %s", buf);
    return 0;
}
"#;

/// The same client in Python.
const CLIENT_PY: &str = r#"
import socket, sys
port, src, dst = int(sys.argv[1]), sys.argv[2], sys.argv[3]
with open(src) as f:
    data = f.read()
with open(dst, "r+") as f:
    f.truncate(0)
    f.write("written\n")
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.connect(("127.0.0.1", port))
s.sendall(b"hello")
s.close()
print("done", data.strip())
"#;

fn run_in(args: &[&str], dir: &Path) -> Run {
    common::run_with(
        args,
        Opts {
            cwd: Some(dir.to_path_buf()),
            ..Opts::default()
        },
    )
}

/// A file of `dir` anyone may write (each run has its own uid), with `text`.
fn shared_file(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    common::chmod(&p, 0o666);
    p.display().to_string()
}

/// The statement of a policy line, without its comment.
fn statement(line: &str) -> &str {
    line.split('#').next().unwrap_or("").trim()
}

/// Learns a policy from `program PORT in.txt out.txt` in `dir`, checks it
/// is narrow, runs the same program under it, and runs the two variants.
fn learn_and_refuse_variants(dir: &Path, program: &[&str]) {
    let d = dir.to_str().unwrap();
    shared_file(dir, "in.txt", "data\n");
    let out = shared_file(dir, "out.txt", "");
    let canary = shared_file(dir, "canary.txt", "CANARY-7f3a\n");
    let policy = dir.join("learned.policy");
    let p = policy.to_str().unwrap();
    let learning = Listener::new();
    let port = learning.port();
    let with = |extra: &[&str], args: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        v.extend(["--net", "host", "--exec_dir", d, "--exec"].map(String::from));
        v.extend(program.iter().map(|s| s.to_string()));
        v.extend(args.iter().map(|s| s.to_string()));
        v
    };
    let args = with(&["policy", "learn", "-o", p], &[&port, "in.txt", "out.txt"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = run_in(&args, dir);
    assert_eq!(r.status, Some(0), "{}", r.stderr_str());
    assert!(learning.got_connection(), "the learning run connected");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "written\n");

    let text = std::fs::read_to_string(&policy).unwrap();
    let stmts: Vec<&str> = text.lines().map(statement).collect();
    // Narrow: no bare connect (nor the whole network group), no placeholder
    // path, no tree where the run used one file.
    for s in &stmts {
        assert!(
            *s != "allow connect" && !s.starts_with("allow @network"),
            "bare connect: {s}\n{text}"
        );
        assert!(!s.contains("/dev/null"), "placeholder: {s}\n{text}");
        assert!(
            !s.contains("./**"),
            "the whole working directory: {s}\n{text}"
        );
    }
    assert!(
        stmts.contains(&"allow connect if arg2 == 16"),
        "connect by address length:\n{text}"
    );
    assert!(
        stmts.contains(&format!("net connect {port}").as_str()),
        "the port:\n{text}"
    );
    assert!(
        stmts
            .iter()
            .any(|s| s.starts_with("allow socket if arg0 == AF_INET && arg1 == SOCK_STREAM")),
        "{text}"
    );
    assert!(stmts.contains(&"path write ./out.txt"), "{text}");
    assert!(stmts.contains(&"path read ./in.txt"), "{text}");
    let r = run_in(&["policy", "check", p], dir);
    assert_eq!(r.status, Some(0), "{}\n{text}", r.stderr_str());

    // The same program runs OK under it and reaches the listener again.
    std::fs::write(&out, "").unwrap();
    let args = with(&["--policy", p], &[&port, "in.txt", "out.txt"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = run_in(&args, dir);
    assert_eq!(r.status, Some(0), "{}\n{text}", r.stderr_str());
    assert!(r.stderr_str().starts_with("OK\n"), "{}", r.stderr_str());
    assert!(learning.got_connection(), "the same program connected");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "written\n");

    // Another port: refused, the other listener gets nothing.
    let other = Listener::new();
    let args = with(&["--policy", p], &[&other.port(), "in.txt", "out.txt"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = run_in(&args, dir);
    assert_ne!(r.status, Some(0), "{}\n{text}", r.stderr_str());
    assert!(
        !other.got_connection(),
        "a connection to another port\n{text}"
    );
    // Another file: refused, the canary untouched.
    let args = with(&["--policy", p], &[&port, "in.txt", "canary.txt"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = run_in(&args, dir);
    assert_ne!(r.status, Some(0), "{}\n{text}", r.stderr_str());
    assert_eq!(
        std::fs::read_to_string(&canary).unwrap(),
        "CANARY-7f3a\n",
        "the canary was written\n{text}"
    );

    // Without the learned policy (the audit policy allows everything) the
    // same variants get through: what stopped them was the policy.
    let args = with(
        &["--trace", "/dev/null"],
        &[&other.port(), "in.txt", "canary.txt"],
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = run_in(&args, dir);
    assert_eq!(r.status, Some(0), "{}", r.stderr_str());
    assert!(other.got_connection(), "the variant reaches its port");
    assert_eq!(std::fs::read_to_string(&canary).unwrap(), "written\n");
}

#[test]
fn learned_policy_of_a_c_client_is_narrow() {
    need_root!();
    let dir = common::work_dir();
    let src = dir.path().join("client.c");
    std::fs::write(&src, CLIENT_C).unwrap();
    let exe = dir.path().join("client");
    let st = Command::new("cc")
        .args(["-O", "-o"])
        .arg(&exe)
        .arg(&src)
        .status()
        .expect("cc runs");
    assert!(st.success());
    learn_and_refuse_variants(dir.path(), &[exe.to_str().unwrap()]);
}

#[test]
fn learned_policy_of_a_python_client_is_narrow() {
    if !common::is_root() || !Path::new("/usr/bin/python3").exists() {
        return;
    }
    let dir = common::work_dir();
    let script = dir.path().join("client.py");
    std::fs::write(&script, CLIENT_PY).unwrap();
    common::chmod(&script, 0o644);
    learn_and_refuse_variants(dir.path(), &["/usr/bin/python3", script.to_str().unwrap()]);
}

/// The summary line stays; progress only on a terminal: none in a pipe.
#[test]
fn learn_shows_no_progress_in_a_pipe() {
    need_root!();
    let dir = common::work_dir();
    let policy = dir.path().join("p.policy");
    let r = run_in(
        &[
            "policy",
            "learn",
            "-o",
            policy.to_str().unwrap(),
            "--exec",
            "/bin/true",
        ],
        dir.path(),
    );
    assert_eq!(r.status, Some(0), "{}", r.stderr_str());
    let err = r.stderr_str();
    assert!(!err.contains('\r') && !err.contains('\x1b'), "{err:?}");
    assert!(err.contains("safeexec: learned "), "{err}");
}

/// On a terminal (stderr on a pty), a long learning run shows a spinner
/// with the calls traced so far; the summary line stays.
#[test]
fn learn_shows_progress_on_a_terminal() {
    if !common::is_root() || !Path::new("/usr/bin/python3").exists() {
        return;
    }
    let dir = common::work_dir();
    let policy = dir.path().join("p.policy");
    let pty = nix::pty::openpty(None, None).expect("openpty");
    let slave = std::fs::File::from(pty.slave);
    let mut child = Command::new(common::SAFEEXEC)
        // Calls all along, for longer than the quiet start (2 s) of the
        // spinner: 3000 stats 1 ms apart.
        .args(["policy", "learn", "-o", policy.to_str().unwrap()])
        .args(["--exec", "/usr/bin/python3", "-c"])
        .arg("import os, time\nfor _ in range(3000):\n    os.stat('/'); time.sleep(0.001)\n")
        .current_dir(dir.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(slave)
        .spawn()
        .expect("safeexec runs");
    let master = std::fs::File::from(pty.master);
    let reader = std::thread::spawn(move || {
        let mut master = master;
        let mut b = Vec::new();
        let mut buf = [0u8; 4096];
        // Until EIO: the last holder of the slave (safeexec) is gone.
        while let Ok(n) = std::io::Read::read(&mut master, &mut buf) {
            if n == 0 {
                break;
            }
            b.extend_from_slice(&buf[..n]);
        }
        b
    });
    let code = common::wait_deadline(&mut child, std::time::Duration::from_secs(60), "learn");
    let text = String::from_utf8_lossy(&reader.join().unwrap()).into_owned();
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("learning run of /usr/bin/python3: ") && text.contains(" calls traced"),
        "{text:?}"
    );
    assert!(text.contains("safeexec: learned "), "{text:?}");
    assert!(policy.exists());
}

/// `net` rules have no layer but Landlock (ABI 4): without it the run is
/// refused with one line and exit status 3, `landlock optional` or not,
/// and nothing runs (the listener gets no connection).
#[test]
fn net_rules_refuse_to_run_without_landlock() {
    need_root!();
    let dir = common::work_dir();
    let l = Listener::new();
    for extra in ["", "landlock optional\n"] {
        let p = common::policy(
            dir.path(),
            "net",
            &format!("default allow\n{extra}net connect {}\n", l.port()),
        );
        let r = common::run_with(
            &["--policy", &p, "--net", "host", "--exec", "/bin/true"],
            Opts {
                env: vec![("SAFEEXEC_TEST_NO_LANDLOCK", "1")],
                ..Opts::default()
            },
        );
        assert_eq!(r.status, Some(3), "{}", r.stderr_str());
        let err = r.stderr_str();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("safeexec: the policy's `net` rules (TCP ports) need Landlock ABI 4"),
            "{err}"
        );
    }
    assert!(!l.got_connection());
}
