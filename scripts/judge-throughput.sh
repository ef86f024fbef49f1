#!/bin/sh
# Judging throughput: N tests (default 200) of a trivial accepted C program
# (read two numbers, print their sum), judged by `safeexec judge` with
# --jobs 1 and --jobs 2, against the same tests run natively in a shell loop
# (the program compiled once with cc -O2, each test's output compared with
# cmp). Prints tests per second for each and the ratios. One run of each;
# the judge's time includes compiling the submission once, so a 1-test
# judge run is timed too and the marginal rate (N-1 tests over the
# difference) is printed beside the raw one. Needs root and gcc.
#
#   scripts/judge-throughput.sh [N]   (SAFEEXEC=path/to/safeexec; default
#                                      target/release/safeexec, built if missing;
#                                      KEEP=1 keeps the scratch directory)
set -u
N=${1:-200}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${SAFEEXEC:-$ROOT/target/release/safeexec}
[ "$(id -u)" = 0 ] || { echo "judge-throughput: needs root" >&2; exit 2; }
if [ ! -x "$BIN" ]; then
    (cd "$ROOT" && cargo build --release --bin safeexec) || exit 2
fi

TMP=$(mktemp -d /tmp/safeexec-throughput.XXXXXX)
[ -n "${KEEP:-}" ] || trap 'rm -rf "$TMP"' EXIT
chmod 755 "$TMP"
cat > "$TMP/sum.c" <<'EOF'
#include <stdio.h>
int main(void) {
    long a, b;
    if (scanf("%ld %ld", &a, &b) != 2) return 1;
    printf("%ld\n", a + b);
    return 0;
}
EOF
# A plain problem directory of NAME.in + NAME.ans pairs, and one of 1 test.
mkdir -p "$TMP/p" "$TMP/p1"
i=0
while [ $i -lt "$N" ]; do
    name=$(printf 't%04d' $i)
    echo "$i $((i * 7))" > "$TMP/p/$name.in"
    echo $((i + i * 7)) > "$TMP/p/$name.ans"
    i=$((i + 1))
done
cp "$TMP/p/t0000.in" "$TMP/p/t0000.ans" "$TMP/p1/"
chmod -R a+rX "$TMP"

now() { date +%s.%N; }
load=$(cut -d' ' -f1-3 /proc/loadavg)
rate() { awk -v n="$1" -v t="$2" 'BEGIN { printf "%.1f", n / t }'; }

# Native: compile once, then one process per test, output compared.
cc -O2 -o "$TMP/sum" "$TMP/sum.c" || { echo "judge-throughput: cc failed" >&2; exit 2; }
t0=$(now)
for f in "$TMP"/p/*.in; do
    "$TMP/sum" < "$f" > "$TMP/out" && cmp -s "$TMP/out" "${f%.in}.ans" ||
        { echo "judge-throughput: native run wrong on $f" >&2; exit 1; }
done
t1=$(now)
native=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')

judge() { # jobs problem -> seconds
    s=$(now)
    "$BIN" judge --jobs "$1" --all --scratch "$TMP" "$2" "$TMP/sum.c" > "$TMP/judge.out" 2>&1 ||
        { echo "judge-throughput: judge --jobs $1 failed:" >&2; tail -5 "$TMP/judge.out" >&2; exit 1; }
    e=$(now)
    awk -v a="$s" -v b="$e" 'BEGIN { print b - a }'
}
one=$(judge 1 "$TMP/p1")
j1=$(judge 1 "$TMP/p")
j2=$(judge 2 "$TMP/p")
last=$(tail -1 "$TMP/judge.out")

echo "tests: $N; judge --jobs 2 said: $last; binary: $BIN"
echo "load average at start: $load; CPUs: $(nproc)"
printf '%-26s %8s s %10s tests/s\n' "native shell loop" "$native" "$(rate "$N" "$native")"
printf '%-26s %8s s %10s tests/s\n' "judge 1 test (fixed cost)" "$one" "-"
for j in 1 2; do
    eval t=\$j$j
    marg=$(awk -v n="$N" -v t="$t" -v o="$one" 'BEGIN { if (t > o) printf "%.1f", (n - 1) / (t - o); else print "-" }')
    printf '%-26s %8s s %10s tests/s  (marginal %s tests/s)\n' "judge --jobs $j" "$t" "$(rate "$N" "$t")" "$marg"
done
awk -v n="$native" -v a="$j1" -v b="$j2" 'BEGIN {
    printf "ratio judge --jobs 1 / native: %.1fx slower\n", a / n
    printf "ratio judge --jobs 2 / native: %.1fx slower\n", b / n
    printf "speed-up --jobs 2 over --jobs 1: %.2fx\n", a / b
}'
