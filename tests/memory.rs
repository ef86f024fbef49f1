//! Memory the run pins beyond its resident set: page tables, its private
//! tmpfs (/tmp, /var/tmp, /dev/shm of the run) and a jail's `--tmpfs`
//! mounts count against `--mem` (MLE, with the reported figure over the
//! limit), while an ordinary run's figure stays what it was. Each attack is
//! first shown to reach (under a larger limit it holds what it claims, and
//! the figure says so). These tests need root (CI runs as root).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use common::*;

macro_rules! need_root {
    () => {
        if !is_root() {
            eprintln!("skipped: needs root");
            return;
        }
    };
}

fn v(name: &str) -> String {
    victim(name).display().to_string()
}

fn code(j: &serde_json::Value) -> &str {
    j["verdict"]["code"].as_str().unwrap_or("<none>")
}

fn kib(j: &serde_json::Value) -> u64 {
    j["memory_kib"].as_u64().unwrap_or(0)
}

/// Runs with `--report json` in a scratch working directory.
fn run_json(args: &[&str]) -> (Run, serde_json::Value) {
    let d = work_dir();
    let mut a = vec!["--report", "json", "--exec_dir", d.path().to_str().unwrap()];
    a.extend_from_slice(args);
    let r = run(&a);
    let j = json(&r);
    (r, j)
}

const CLASSIC: &[&str] = &["--nproc", "0"];
const PARANOID: &[&str] = &["--paranoid", "--nproc", "0"];

#[test]
fn page_tables_count_as_memory() {
    need_root!();
    // 320 MiB of page tables (one read per 2 MiB of a 160 GiB mapping),
    // almost nothing resident.
    let pt = v("ptables");
    // With a cgroup too: its figures hold no page tables on v1 (VmPTE).
    for mode in [CLASSIC, PARANOID, &["--cgroup"][..]] {
        // It reaches: under 1 GiB it holds them, and the figure shows them.
        let mut a = mode.to_vec();
        a.extend(["--mem", "1048576", "--exec", &pt, "320"]);
        let (r, j) = run_json(&a);
        assert_eq!(code(&j), "OK", "{mode:?}: {j}\n{}", r.stderr_str());
        assert!(
            kib(&j) >= 300 << 10,
            "{mode:?}: figure {} KiB: {j}",
            kib(&j)
        );
        // Under 256 MiB: MLE, the figure over the limit.
        let mut a = mode.to_vec();
        a.extend(["--mem", "262144", "--exec", &pt, "320"]);
        let (r, j) = run_json(&a);
        assert_eq!(code(&j), "MLE", "{mode:?}: {j}\n{}", r.stderr_str());
        assert!(kib(&j) > 262_144, "{mode:?}: figure {} KiB: {j}", kib(&j));
    }
}

/// 256 MiB into the run's private /tmp, in /tmp/hsperfdata_x (which the
/// java policy lets a program write: the case of the report).
#[test]
fn private_tmpfs_counts_as_memory() {
    need_root!();
    let java: &[&str] = &["--policy", "java", "--nproc", "0"];
    let fill = v("fill");
    for mode in [CLASSIC, java] {
        // It reaches: under 512 MiB the files are written and counted.
        let mut a = mode.to_vec();
        a.extend([
            "--mem",
            "524288",
            "--exec",
            &fill,
            "256",
            "/tmp/hsperfdata_x",
        ]);
        let (r, j) = run_json(&a);
        assert_eq!(code(&j), "OK", "{mode:?}: {j}\n{}", r.stderr_str());
        assert_eq!(r.stdout_str(), "wrote 256 MiB\n", "{mode:?}");
        assert!(
            kib(&j) >= 256 << 10,
            "{mode:?}: figure {} KiB: {j}",
            kib(&j)
        );
        // Under 256 MiB: MLE, the figure over the limit.
        let mut a = mode.to_vec();
        a.extend([
            "--mem",
            "262144",
            "--exec",
            &fill,
            "256",
            "/tmp/hsperfdata_x",
        ]);
        let (r, j) = run_json(&a);
        assert_eq!(code(&j), "MLE", "{mode:?}: {j}\n{}", r.stderr_str());
        assert!(kib(&j) > 262_144, "{mode:?}: figure {} KiB: {j}", kib(&j));
    }
}

#[test]
fn jail_tmpfs_mounts_count_as_memory_and_are_sized_by_mem() {
    need_root!();
    // Four --tmpfs of 40 MiB each under --mem 65536: 160 MiB of RAM.
    let mut a = vec!["--jail", "c", "--mem", "65536"];
    for t in ["/t1", "/t2", "/t3", "/t4"] {
        a.extend(["--tmpfs", t]);
    }
    let prog = v("fill");
    let mut one = a.clone();
    one.extend(["--exec", &prog, "40", "/t1"]);
    // It reaches: one of them takes 40 MiB, counted.
    let (r, j) = run_json(&one);
    assert_eq!(code(&j), "OK", "{j}\n{}", r.stderr_str());
    assert_eq!(r.stdout_str(), "wrote 40 MiB\n");
    assert!(kib(&j) >= 40 << 10, "figure {} KiB: {j}", kib(&j));
    a.extend(["--exec", &prog, "40", "/t1", "/t2", "/t3", "/t4"]);
    for cgroup in [false, true] {
        // A cgroup charges tmpfs pages to the run: counted there too.
        let mut a = a.clone();
        if cgroup {
            a.insert(0, "--cgroup");
        }
        let (r, j) = run_json(&a);
        assert_eq!(code(&j), "MLE", "cgroup {cgroup}: {j}\n{}", r.stderr_str());
        assert!(
            kib(&j) > 65_536,
            "cgroup {cgroup}: figure {} KiB: {j}",
            kib(&j)
        );
    }
    // The kernel bounds each at --mem: 100 MiB do not fit in one, and the
    // run is MLE whether the watchdog or the full tmpfs stops it.
    let (r, j) = run_json(&[
        "--jail", "c", "--mem", "65536", "--tmpfs", "/t1", "--exec", &prog, "100", "/t1",
    ]);
    assert_eq!(code(&j), "MLE", "{j}\n{}", r.stderr_str());
    assert!(!r.stdout_str().contains("wrote 100"), "{}", r.stdout_str());
}

#[test]
fn an_ordinary_run_is_not_mle() {
    need_root!();
    // 10 MiB under 64 MiB, classic and paranoid, with and without a cgroup:
    // OK, and the figure is the program's, not more.
    let hog = v("hog");
    for mode in [CLASSIC, PARANOID, &["--cgroup"][..]] {
        let mut a = mode.to_vec();
        a.extend(["--mem", "65536", "--exec", &hog, "10"]);
        let (r, j) = run_json(&a);
        assert_eq!(code(&j), "OK", "{mode:?}: {j}\n{}", r.stderr_str());
        let m = kib(&j);
        assert!(
            (10 << 10..20 << 10).contains(&m),
            "{mode:?}: figure {m} KiB: {j}"
        );
    }
}

#[test]
fn python3_under_its_policy_stays_ok() {
    need_root!();
    let d = work_dir();
    let prog = d.path().join("sol.py");
    std::fs::write(&prog, "import json\nprint(json.dumps(list(range(3))))\n").unwrap();
    std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o644)).unwrap();
    let r = run(&[
        "--policy",
        "python3",
        "--mem",
        "65536",
        "--report",
        "json",
        "--exec_dir",
        d.path().to_str().unwrap(),
        "--exec",
        "/usr/bin/python3",
        "sol.py",
    ]);
    let j = json(&r);
    assert_eq!(code(&j), "OK", "{j}\n{}", r.stderr_str());
    assert_eq!(r.stdout_str(), "[0, 1, 2]\n");
    assert!(kib(&j) < 48 << 10, "figure {} KiB: {j}", kib(&j));
}

/// A file of `mib` MiB that is not in the page cache (written, synced, then
/// dropped from the cache with POSIX_FADV_DONTNEED), readable by the run.
fn uncached_file(dir: &std::path::Path, mib: usize) -> PathBuf {
    use std::io::Write;
    use std::os::fd::AsRawFd;
    let p = dir.join("input");
    let mut f = std::fs::File::create(&p).unwrap();
    let block = vec![7u8; 1 << 20];
    for _ in 0..mib {
        f.write_all(&block).unwrap();
    }
    f.sync_all().unwrap();
    // SAFETY: a plain advisory call on our own descriptor.
    let rc = unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    assert_eq!(rc, 0);
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    p
}

#[test]
fn reading_a_large_file_in_a_cgroup_is_not_mle() {
    need_root!();
    if !std::path::Path::new("/sys/fs/cgroup/memory/cgroup.procs").exists()
        && !std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
    {
        eprintln!("skipped: no cgroup hierarchy");
        return;
    }
    // 160 MiB read through the page cache under --mem 65536, in a cgroup
    // whose limit the cache reaches: the kernel reclaims it; it is not the
    // program's memory.
    let d = work_dir();
    let input = uncached_file(d.path(), 160);
    assert!(input.ends_with("input"));
    let r = run(&[
        "--report",
        "json",
        "--exec_dir",
        d.path().to_str().unwrap(),
        "--cgroup",
        "--mem",
        "65536",
        "--exec",
        "/usr/bin/md5sum",
        "input",
    ]);
    let j = json(&r);
    assert_eq!(code(&j), "OK", "{j}\n{}", r.stderr_str());
    // It read the whole file.
    assert!(
        r.stdout_str()
            .starts_with("c9fdef86dc25747a934e84c1733473c5"),
        "{}",
        r.stdout_str()
    );
    assert!(kib(&j) < 32 << 10, "figure {} KiB: {j}", kib(&j));
    assert!(
        j["sources"]["memory"]
            .as_str()
            .unwrap_or("")
            .contains("cgroup"),
        "{j}"
    );
}

/// What a program writes into its bounded working directory (`--disk`) is
/// RAM of the run until it is handed back: 5 files of 7 MB (35 MB, each
/// under --fsize) under --mem 32 MiB are MLE, with the figure over the
/// limit. The attack reaches: with --disk 0 the same files go to the disk
/// of the directory and the run is OK, its figure small.
#[test]
fn the_bounded_working_directory_counts_as_memory() {
    need_root!();
    let script = "for i in 1 2 3 4 5; do head -c 7000000 /dev/zero > f$i; done; sleep 0.5";
    let args = |disk: &'static str| {
        vec![
            "--nproc", "4", "--mem", "32768", "--disk", disk, "--exec", "/bin/sh", "-c", script,
        ]
    };
    let (r, j) = run_json(&args("65536"));
    assert_eq!(code(&j), "MLE", "{r:?}");
    assert!(kib(&j) > 32768, "{j}");
    let (r, j) = run_json(&args("0"));
    assert_eq!(code(&j), "OK", "{r:?}");
    assert!(kib(&j) < 16384, "{j}");
}
