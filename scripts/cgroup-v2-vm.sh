#!/usr/bin/env bash
# Runs the cgroup tests on cgroup v2 in a small virtual machine.
#
# The development and CI machines keep the controllers on cgroup v1, so
# this boots Debian's kernel (only cgroup v2 mounted) with virtme-ng, the
# host's root shared read-only, in software emulation (no KVM here), and
# runs the cgroup test binary built on the host:
#   1. from the root cgroup (memory, pids, cpu enabled at the root);
#   2. from a non-root cgroup (/ci.slice/tests), as a systemd service or
#      login session would start it: safeexec delegates a cgroup of its own
#      (tests/cgroup.rs, Scope) and warns in a cgroup it shares;
#   3. on a host without usable controllers (none enabled at the root):
#      a run that should have a cgroup warns, and fails under require_cgroup.
# Plus the unit test of clone3(CLONE_INTO_CGROUP) in src/sys.
#
# Needs (as root): apt-get install qemu-system-x86 linux-image-amd64
# busybox-static; pip install virtme-ng. Prints each part's result and
# exits non-zero when one failed. Nothing is left running: the machine is
# bounded by `timeout` and killed with its process group.
#
# Usage: scripts/cgroup-v2-vm.sh [--install]
#
# tests/cgroup.rs (v2_tests_pass_in_a_cgroup_v2_machine) runs this script
# during `cargo test` with the binaries it already has, given by
# CGROUP_VM_CGBIN (the cgroup test binary) and CGROUP_VM_BIN (safeexec);
# CGROUP_VM_LIBBIN (the library's unit tests) is optional then, and
# CGROUP_VM_VICTIMS names the directory of the test programs when it is not
# under target/tmp (the machine gets a writable copy of it). Exit
# status: 0 all passed, 1 a test failed in the machine, 2 something to run
# it is missing, 3 the machine did not boot.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
LIMIT="${CGROUP_VM_TIMEOUT:-900}"

if [ "${1:-}" = "--install" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update </dev/null
    apt-get install -y --no-install-recommends qemu-system-x86 linux-image-amd64 busybox-static </dev/null
    pip install virtme-ng </dev/null
fi
command -v vng >/dev/null || { echo "cgroup-v2-vm: vng not found (pip install virtme-ng)" >&2; exit 2; }
command -v qemu-system-x86_64 >/dev/null || { echo "cgroup-v2-vm: qemu-system-x86_64 not found" >&2; exit 2; }
kernel="$(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n1)"
[ -n "$kernel" ] || { echo "cgroup-v2-vm: no /boot/vmlinuz-* (apt-get install linux-image-amd64)" >&2; exit 2; }

# Test binaries built on the host; the victims built by one host run of
# the cgroup tests (the guest's copy of target/tmp is a writable overlay).
if [ -n "${CGROUP_VM_CGBIN:-}" ]; then
    cgbin="$CGROUP_VM_CGBIN"
    libbin="${CGROUP_VM_LIBBIN:-}"
    bin="${CGROUP_VM_BIN:?CGROUP_VM_BIN: the safeexec binary}"
else
    exe() { cargo test --no-run "$@" 2>&1 | sed -n 's/.*Executable .*(\(.*\))$/\1/p' | tail -n1; }
    cgbin="$repo/$(exe --test cgroup)"
    libbin="$repo/$(exe --lib)"
    [ -x "$libbin" ] || { echo "cgroup-v2-vm: test binaries not built" >&2; exit 1; }
    "$cgbin" --test-threads=2 >/dev/null 2>&1 || true
    cargo build -q
    bin="$repo/target/debug/safeexec"
fi
[ -x "$cgbin" ] && [ -x "$bin" ] || { echo "cgroup-v2-vm: test binaries not built" >&2; exit 1; }

out="$(mktemp -d /tmp/cgroup-v2-vm.XXXXXX)"
chmod 755 "$out"
cat >"$out/guest.sh" <<EOF
#!/bin/sh
# Runs inside the machine, as root. Results go to $out.
cd "$repo"
# The cgroup test binary must not start another machine from inside this one.
export SAFEEXEC_IN_VM=1
uname -r >"$out/kernel"
mount | grep cgroup >"$out/mounts"
echo "+memory +pids +cpu" >/sys/fs/cgroup/cgroup.subtree_control

# 1. From the root cgroup.
"$cgbin" --test-threads=2 --nocapture >"$out/root.log" 2>&1; echo \$? >"$out/root.rc"
if [ -n "$libbin" ]; then
    "$libbin" clone3 --nocapture >"$out/lib.log" 2>&1; echo \$? >"$out/lib.rc"
fi

# 2. From a non-root cgroup whose parent gives its children the controllers.
mkdir -p /sys/fs/cgroup/ci.slice/tests
echo "+memory +pids +cpu" >/sys/fs/cgroup/ci.slice/cgroup.subtree_control
echo \$\$ >/sys/fs/cgroup/ci.slice/tests/cgroup.procs
"$cgbin" --test-threads=2 --nocapture >"$out/nonroot.log" 2>&1; echo \$? >"$out/nonroot.rc"

# 3. No usable controllers: back to the root, every controller disabled.
echo \$\$ >/sys/fs/cgroup/cgroup.procs
echo "-memory -pids -cpu" >/sys/fs/cgroup/ci.slice/cgroup.subtree_control
rmdir /sys/fs/cgroup/ci.slice/tests /sys/fs/cgroup/ci.slice 2>/dev/null
for d in /sys/fs/cgroup/safeexec/*/ /sys/fs/cgroup/safeexec/; do rmdir "\$d" 2>/dev/null; done
echo "-memory -pids -cpu" >/sys/fs/cgroup/cgroup.subtree_control
cat /sys/fs/cgroup/cgroup.subtree_control >"$out/none.subtree"
"$bin" --nproc 2 --cpu 20 --clock 50 --exec /bin/true >"$out/none.out" 2>&1; echo \$? >"$out/none.rc"
printf 'require_cgroup = yes\n' >/tmp/require.conf
SAFEEXEC_CONF=/tmp/require.conf "$bin" --nproc 2 --cpu 20 --clock 50 --exec /bin/true >"$out/require.out" 2>&1; echo \$? >"$out/require.rc"
echo done >"$out/done"
EOF
chmod 755 "$out/guest.sh"

start=$(date +%s)
# Its own process group, so that the machine dies with it on a timeout.
set +e
setsid timeout --kill-after=10 "$LIMIT" vng --run "$kernel" --disable-kvm --cpus 2 --memory 2G \
    --rwdir="$out" --overlay-rwdir="$repo/target/tmp" ${CGROUP_VM_VICTIMS:+--overlay-rwdir="$CGROUP_VM_VICTIMS"} \
    --exec "$out/guest.sh" </dev/null 2>&1 | cat >"$out/vng.log"
set -e
echo "cgroup-v2-vm: machine ran $(( $(date +%s) - start )) s (kernel $(cat "$out/kernel" 2>/dev/null || echo '?'))"

if [ ! -f "$out/kernel" ]; then
    echo "cgroup-v2-vm: the machine did not boot; see $out/vng.log"
    tail -n 20 "$out/vng.log" || true
    exit 3
fi
fail=0
[ -f "$out/done" ] || { echo "cgroup-v2-vm: the machine did not finish; see $out/vng.log"; fail=1; }
parts="root nonroot"
[ -n "$libbin" ] && parts="root lib nonroot"
for part in $parts; do
    rc="$(cat "$out/$part.rc" 2>/dev/null || echo none)"
    summary="$(grep -E '^test result:' "$out/$part.log" 2>/dev/null | tail -n1)"
    echo "cgroup-v2-vm: $part: exit $rc: $summary"
    { grep -E '^skipped:' "$out/$part.log" 2>/dev/null || true; } | sort | uniq -c | sed 's/^/    /'
    [ "$rc" = 0 ] || { fail=1; grep -E 'panicked|FAILED|assert' "$out/$part.log" | head -n 20 || true; }
done
# 3: the run goes on with the warning; under require_cgroup it is exit 11.
if [ "$(cat "$out/none.rc" 2>/dev/null)" = 0 ] && grep -q '^safeexec: warning: no cgroup for this run' "$out/none.out"; then
    echo "cgroup-v2-vm: no controllers: warning given: ok"
else
    echo "cgroup-v2-vm: no controllers: FAILED"; cat "$out/none.out" 2>/dev/null; fail=1
fi
if [ "$(cat "$out/require.rc" 2>/dev/null)" = 11 ] && grep -q '^safeexec: this run needs a cgroup' "$out/require.out"; then
    echo "cgroup-v2-vm: no controllers, require_cgroup: exit 11: ok"
else
    echo "cgroup-v2-vm: no controllers, require_cgroup: FAILED"; cat "$out/require.out" 2>/dev/null; fail=1
fi
echo "cgroup-v2-vm: logs in $out"
exit $fail
