//! The library and the binary resolve a run alike: for the same inputs,
//! `safeexec --show-config` (the binary's effective configuration, after
//! every check it makes before a run) equals what `Sandbox::builder()`
//! resolves to in-process: limits (request over the policy's `limit` lines
//! over the defaults), cgroup, jail (the policy's `jail` line), bounds.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use safeexec::adminconf::{self, AdminConf};
use safeexec::isolate::Net;
use safeexec::{RunRequest, Sandbox};

mod common;

use common::Opts;

/// The binary's `--show-config` JSON for `args` (then `--exec /bin/true`),
/// under the administrator's configuration `conf` (SAFEEXEC_CONF is honoured
/// for a real uid of 0 only; otherwise the file in force is used).
fn binary(conf: &Path, args: &[&str]) -> Result<serde_json::Value, (i32, String)> {
    let mut a = vec!["--show-config"];
    a.extend_from_slice(args);
    a.extend(["--exec", "/bin/true", "x", "y"]);
    let out = common::run_with(
        &a,
        Opts {
            env: vec![("SAFEEXEC_CONF", conf.to_str().unwrap())],
            ..Opts::default()
        },
    );
    if out.status != Some(0) {
        return Err((out.code_or_signal(), out.stderr_str()));
    }
    Ok(serde_json::from_slice(&out.stdout).expect("one JSON object on stdout"))
}

fn library(conf: &AdminConf, req: RunRequest) -> Result<serde_json::Value, (i32, String)> {
    let req = req.args(["x", "y"]);
    match req.resolve_with(conf.clone()) {
        Ok(r) => Ok(serde_json::to_value(r.effective()).unwrap()),
        Err(e) => Err((e.exit_code(), e.to_string())),
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    conf_path: std::path::PathBuf,
    conf: AdminConf,
    policy: String,
}

/// An administrator's configuration (root-owned, 0644, as it must be) and
/// a policy file with `limit` and `jail` lines.
fn fixture() -> Option<Fixture> {
    if !nix::unistd::getuid().is_root() {
        eprintln!("skipped: SAFEEXEC_CONF is honoured for a real uid of 0 only");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let conf_path = dir.path().join("safeexec.conf");
    std::fs::write(
        &conf_path,
        "max_cpu = 7\nmax_memory = 200M\nmax_nproc = 9\nuid_min = 10000\n\
         allow_full_trace = yes\nrequire_policy = any\n",
    )
    .unwrap();
    std::fs::set_permissions(&conf_path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let conf = adminconf::load_from(&conf_path).unwrap();
    let policy = dir.path().join("mine.policy");
    std::fs::write(
        &policy,
        "include default\njail c\nlimit cpu 2.5 memory 131072\nlimit nfile 20\n",
    )
    .unwrap();
    Some(Fixture {
        policy: policy.display().to_string(),
        _dir: dir,
        conf_path,
        conf,
    })
}

#[test]
fn binary_and_library_resolve_the_same_run() {
    let Some(f) = fixture() else { return };
    let p = f.policy.as_str();
    let b = || Sandbox::builder("/bin/true");
    let cases: Vec<(Vec<&str>, RunRequest)> = vec![
        (vec![], b()),
        (
            vec!["--nproc", "2", "--mem", "4096"],
            b().nproc(2).memory_kib(4096),
        ),
        (
            vec!["--nproc", "2", "--no-cgroup"],
            b().nproc(2).cgroup(false),
        ),
        (vec!["--cgroup"], b().cgroup(true)),
        (vec!["--policy", p], b().policy_named(p)),
        (
            vec!["--policy", p, "--cpu", "1.5"],
            b().policy_named(p).cpu(Duration::from_millis(1500)),
        ),
        (
            vec!["--policy", p, "--jail", "python3"],
            b().policy_named(p).jail("python3"),
        ),
        (
            vec!["--policy", "python3", "--net", "host"],
            b().policy_named("python3").net(Net::Host),
        ),
        (
            vec!["--paranoid", "--no-ns", "--niceness", "3"],
            b().paranoid().namespaces(false).niceness(3),
        ),
        (
            vec!["--trace", "/nonexistent/t", "--trace-level", "denied"],
            b().trace(safeexec::trace::TraceLevel::Denied),
        ),
        (
            vec!["--policy", p, "--chroot_dir", "/srv"],
            b().policy_named(p).chroot_dir("/srv"),
        ),
        (
            vec![
                "--ro-bind",
                "/opt:/o",
                "--tmpfs",
                "/scratch",
                "--env_vars",
                "A=1",
            ],
            b().bind(safeexec::isolate::Bind::parse("/opt:/o", false).unwrap())
                .tmpfs("/scratch")
                .env("A", "1"),
        ),
        // Refused alike: a bad value, a missing policy.
        (vec!["--mem", "0"], b().memory_kib(0)),
        (
            vec!["--policy", "/nonexistent/x.policy"],
            b().policy_named("/nonexistent/x.policy"),
        ),
    ];
    for (args, req) in cases {
        let want = library(&f.conf, req);
        let got = binary(&f.conf_path, &args);
        match (&got, &want) {
            (Ok(g), Ok(w)) => assert_eq!(g, w, "{args:?}"),
            (Err((gc, ge)), Err((wc, we))) => {
                assert_eq!(gc, wc, "{args:?}: {ge} / {we}");
                assert!(
                    ge.contains(we.lines().next().unwrap()),
                    "{args:?}: {ge} / {we}"
                );
            }
            _ => panic!("{args:?}: binary {got:?}, library {want:?}"),
        }
    }
}

/// What the resolution decides, checked on the values themselves.
#[test]
fn policy_limits_jail_cgroup_and_bounds_are_applied() {
    let Some(f) = fixture() else { return };
    let get = |args: &[&str]| binary(&f.conf_path, args).unwrap();
    let v = get(&["--policy", &f.policy]);
    assert_eq!(v["limits"]["cpu"], 2500, "the policy's limit cpu: {v}");
    assert_eq!(v["limits"]["memory_kib"], 131072);
    assert_eq!(v["limits"]["nfile"], 20);
    assert_eq!(
        v["limits"]["clock"], 10_000,
        "the default where the policy is silent"
    );
    assert_eq!(v["jail"], "c", "the policy's jail line");
    assert_eq!(v["mode"], "paranoid");
    assert_eq!(v["policy"]["builtin"], false);
    assert_eq!(v["cgroup"], false, "one process: no cgroup by default");
    assert_eq!(v["bounds"]["source"], f.conf_path.display().to_string());
    assert_eq!(v["bounds"]["max_cpu_ms"], 7000);
    assert_eq!(v["bounds"]["max_nproc"], 9);
    assert_eq!(v["bounds"]["require_policy"], serde_json::json!(["any"]));
    assert_eq!(v["bounds"]["apply"], false, "root is not bound");
    let v = get(&["--policy", &f.policy, "--mem", "1000", "--nproc", "1"]);
    assert_eq!(
        v["limits"]["memory_kib"], 1000,
        "the command line over the policy"
    );
    assert_eq!(v["cgroup"], true, "a run that may fork gets a cgroup");
    let v = get(&["--policy", &f.policy, "--chroot_dir", "/srv"]);
    assert_eq!(
        v["jail"],
        serde_json::Value::Null,
        "no jail line under a chroot"
    );
    let v = get(&["--trace", "/nonexistent/t"]);
    assert_eq!(
        v["policy"]["name"], "audit",
        "a trace without a policy: audit"
    );
    assert_eq!(v["trace"], "all");
}

/// A `RunConfig` run through `run_with` gets the CLI's cgroup default and
/// the policy's jail line too.
#[test]
fn run_config_resolves_like_a_request() {
    let Some(f) = fixture() else { return };
    let mut cfg = safeexec::RunConfig::new("/bin/true");
    cfg.policy = Some(safeexec::policy::Policy::load(Path::new(&f.policy)).unwrap());
    let r = safeexec::Resolved::from_config(cfg.clone(), f.conf.clone(), None).unwrap();
    assert_eq!(r.config().isolation.cgroups, Some(false));
    assert_eq!(r.config().isolation.jail.as_deref(), Some("c"));
    cfg.limits.nproc = 3;
    let r = safeexec::Resolved::from_config(cfg, f.conf, None).unwrap();
    assert_eq!(r.config().isolation.cgroups, Some(true));
}
