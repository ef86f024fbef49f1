#!/bin/sh
# Stress: N (default 64) runs of safeexec at once, mixed verdicts (OK, TLE,
# MLE, RF, RE) and some programs that kill(-1, SIGKILL). Checks that every
# report is the expected verdict, that no process of any run's uid is left,
# and that no run left files behind. Prints one summary line; exits non-zero
# on any wrong verdict or leftover. Needs root and gcc.
#
#   scripts/stress.sh [N]          (SAFEEXEC=path/to/safeexec to choose the binary)
set -u
N=${1:-64}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${SAFEEXEC:-$ROOT/target/debug/safeexec}
[ -x "$BIN" ] || { echo "stress: no binary at $BIN (cargo build first)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "stress: needs root" >&2; exit 2; }

TMP=$(mktemp -d /tmp/safeexec-stress.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
chmod 755 "$TMP"
for v in a_res a_net a_tree a_reach; do
    gcc -O2 -static -pthread -o "$TMP/$v" "$ROOT/tests/victims/$v.c" 2>/dev/null ||
        { echo "stress: gcc failed for $v" >&2; exit 2; }
done

# kind i -> expected verdict and the program
run_one() {
    i=$1
    wd="$TMP/w$i"; mkdir -p "$wd"; chmod 777 "$wd"
    set -- --report json --usage "$TMP/r$i.json" --exec_dir "$wd" --cpu 1 --clock 8
    case $((i % 6)) in
        0) want=OK;  set -- "$@" --exec "$TMP/a_res" fds ;;
        1) want=TLE; set -- "$@" --exec "$TMP/a_res" sleep ;;
        2) want=MLE; set -- "$@" --mem 65536 --exec "$TMP/a_res" mem ;;
        3) want=RF;  set -- "$@" --paranoid --exec "$TMP/a_net" connect 9 ;;
        4) want=RE;  set -- "$@" --exec "$TMP/a_tree" nonsense ;;
        5) want=OK;  set -- "$@" --exec "$TMP/a_reach" killall ;;
    esac
    echo "$want" > "$TMP/want$i"
    # Bounded: every run (and so the batch) gets at most 300 s.
    timeout 300 "$BIN" "$@" >/dev/null 2>"$TMP/err$i"
    echo $? > "$TMP/status$i"
}

start=$(date +%s)
i=0
while [ $i -lt "$N" ]; do
    run_one $i &
    i=$((i + 1))
done
wait
elapsed=$(( $(date +%s) - start ))

wrong=0; left=0; files=0; counts=""
i=0
while [ $i -lt "$N" ]; do
    want=$(cat "$TMP/want$i")
    got=$(sed -n 's/.*"code": "\([A-Z]*\)".*/\1/p' "$TMP/r$i.json" 2>/dev/null | head -1)
    uid=$(sed -n 's/.*"uid": \([0-9]*\).*/\1/p' "$TMP/r$i.json" 2>/dev/null | head -1)
    if [ "$got" != "$want" ]; then
        wrong=$((wrong + 1))
        echo "run $i: want $want, got ${got:-nothing} (status $(cat "$TMP/status$i" 2>/dev/null); $(head -c 200 "$TMP/err$i"))" >&2
    fi
    if [ -n "$uid" ]; then
        for s in /proc/[0-9]*/status; do
            if awk -v u="$uid" '/^Uid:/ { for (k = 2; k <= 5; k++) if ($k == u) f = 1 } /^State:.*Z/ { z = 1 } END { exit !(f && !z) }' "$s" 2>/dev/null; then
                left=$((left + 1)); echo "run $i: process $s of uid $uid left" >&2
            fi
        done
    fi
    # None of these programs writes a file: every workdir stays empty, and
    # no file of the run's uid exists in the world-writable places.
    if [ -n "$(ls -A "$TMP/w$i")" ]; then files=$((files + 1)); echo "run $i: files left: $(ls -A "$TMP/w$i")" >&2; fi
    if [ -n "$uid" ] && [ -n "$(find /tmp /var/tmp /dev/shm -xdev -uid "$uid" 2>/dev/null | head -1)" ]; then
        files=$((files + 1)); echo "run $i: files of uid $uid left in /tmp, /var/tmp or /dev/shm" >&2
    fi
    counts="$counts $got"
    i=$((i + 1))
done
summary=$(echo "$counts" | tr ' ' '\n' | grep . | sort | uniq -c | awk '{printf "%s=%s ", $2, $1}')
echo "stress: $N runs in ${elapsed}s: ${summary}wrong=$wrong left=$left files=$files"
[ "$wrong" -eq 0 ] && [ "$left" -eq 0 ] && [ "$files" -eq 0 ]
