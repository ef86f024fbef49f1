#!/usr/bin/env python3
"""The cost of each step of a run's set-up, from safeexec's own `-v` lines.

Usage (as root, from the checkout, after `cargo build --release`):

    scripts/startup-steps.py [--runs 25] [--pin 1] [--safeexec target/release/safeexec]

A static program that returns at once (benches/workloads/startup.c) is run
natively and under each configuration below, interleaved round by round.
Every `-v` line of safeexec starts with the microseconds since its main
began (`[+1234us DEBUG ...]`); the time between two known lines is a step.
`exec + loader + exit` is the wall time of the whole safeexec process
(measured around spawn and wait here) minus the time from main to its last
line: the exec of safeexec, the dynamic loader, and the exit. Medians over
the runs, in microseconds. docs/performance.md shows a table it printed.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

# (the -v line's beginning, the step that ends there), in run order.
MARKERS = [
    ("configuration resolved", "parse + resolve"),
    ("claimed uid", "uid claim"),
    ("guard started", "guard"),
    ("planned:", "plan"),
    ("forked the program", "fork (namespaces)"),
    ("seized", "seize"),
    ("the child's set-up is done", "child set-up + exec"),
    ("the run is over", "run + reap + sweep"),
    ("the report is written", "report + hand-back"),
]

CONFIGS = [
    ("no namespace, no filter, --disk 0", ["--no-ns", "--net", "host", "--no-filter", "--disk", "0"]),
    ("+ classic filter", ["--no-ns", "--net", "host", "--disk", "0"]),
    ("+ PID/IPC/UTS/mount ns", ["--net", "host", "--disk", "0"]),
    ("+ network ns", ["--disk", "0"]),
    ("+ bounded working dir (defaults)", []),
    ("defaults --nproc 100", ["--nproc", "100"]),
    ("--paranoid", ["--paranoid"]),
    ("--paranoid --nproc 100", ["--paranoid", "--nproc", "100"]),
]


def run_once(cmd):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = (time.perf_counter() - t0) * 1e6
    return p.returncode, wall, p.stderr


def steps(stderr, wall):
    """{step: us} from the -v lines of one run."""
    seen = []
    for line in stderr.splitlines():
        if not line.startswith("[+"):
            continue
        us = int(line[2:line.index("us")])
        msg = line[line.index("] ") + 2:]
        for prefix, step in MARKERS:
            if msg.startswith(prefix):
                seen.append((step, us))
    out, last = {}, 0
    for step, us in seen:
        out[step] = us - last
        last = us
    out["exec + loader + exit"] = wall - last
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=25)
    ap.add_argument("--pin", type=int, default=None)
    ap.add_argument("--safeexec", default="target/release/safeexec")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("startup-steps: run as root")
    if a.pin is not None:
        os.sched_setaffinity(0, {a.pin})
    se = os.path.abspath(a.safeexec)
    here = os.path.dirname(os.path.abspath(__file__))
    d = tempfile.mkdtemp(prefix="safeexec-steps-")
    os.chmod(d, 0o755)
    prog = os.path.join(d, "startup")
    src = os.path.join(here, "..", "benches", "workloads", "startup.c")
    subprocess.run(["gcc", "-O2", "-static", src, "-o", prog], check=True)
    try:
        native, per = [], {name: [] for name, _ in CONFIGS}
        for _ in range(a.runs + 1):  # the first round warms up
            t0 = time.perf_counter()
            subprocess.run([prog], check=True)
            native.append((time.perf_counter() - t0) * 1e6)
            for name, flags in CONFIGS:
                cmd = [se, "-v", *flags, "--silent", "--exec", prog]
                rc, wall, err = run_once(cmd)
                if rc != 0:
                    sys.exit(f"startup-steps: {' '.join(cmd)} exited {rc}: {err.strip()}")
                per[name].append((wall, steps(err, wall)))
        native = native[1:]
        names = [s for _, s in MARKERS] + ["exec + loader + exit"]
        print(f"native: {statistics.median(native):.0f} us (median of {a.runs})\n")
        print("| configuration | wall | " + " | ".join(names) + " |")
        print("|---|---:|" + "---:|" * len(names))
        for name, _ in CONFIGS:
            runs = per[name][1:]
            wall = statistics.median(w for w, _ in runs)
            cells = []
            for s in names:
                v = [r[s] for _, r in runs if s in r]
                cells.append(f"{statistics.median(v):.0f}" if v else "—")
            print(f"| {name} | {wall:.0f} | " + " | ".join(cells) + " |")
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
