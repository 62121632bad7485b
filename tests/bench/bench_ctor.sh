#!/bin/sh
# B3: time in the shim's constructor, per traced image of the shell loop
# (`sh -c` looping 300 times over /bin/true, ring directory on tmpfs),
# timed by uprobes on shim_init and on its return (`perf probe`: root and
# linux-perf; skipped with a message otherwise). SR_BENCH_RUNS rounds
# (default 5); with SR_BENCH_SHIM_B (another build of libspanring.so) that
# build's loop runs after this one's in every round, timed the same way:
# before and after under the same load. The figure of a round is the
# median of its ~600 images (sh and true); the row gives the median,
# lowest and highest of the rounds' figures. The probes add their own few
# microseconds to every figure alike.
build=${SR_BUILD:-build}
root=$(cd "$(dirname "$0")/../.." && pwd)
runs=${SR_BENCH_RUNS:-5}
[ "$runs" -ge 1 ] 2>/dev/null || runs=5
if ! command -v perf >/dev/null || [ "$(id -u)" != 0 ]; then
	echo "bench_ctor: needs perf and root (uprobes), skipped" >&2
	exit 0
fi
work=$(mktemp -d /tmp/spanring-bench-ctor-XXXXXX) || exit 1
dir=$(mktemp -d /dev/shm/spanring-bench-ctor-XXXXXX) || exit 1
cleanup() {
	perf probe -q -d 'srbench:*' >/dev/null 2>&1
	rm -rf "$work" "$dir"
}
trap cleanup EXIT
# probe group srbench, events ctor_a (this build) and ctor_b
probe() {
	perf probe -q -x "$1" -a "srbench:ctor_$2=shim_init" \
		-a "srbench:ctor_$2=shim_init%return" >/dev/null 2>&1
}
a=$root/$build/libspanring.so
b=${SR_BENCH_SHIM_B:-}
perf probe -q -d 'srbench:*' >/dev/null 2>&1
probe "$a" a || { echo "bench_ctor: perf probe failed, skipped" >&2; exit 0; }
if [ -n "$b" ] && ! probe "$b" b; then
	echo "bench_ctor: perf probe of $b failed, shim B skipped" >&2
	b=
fi
# shellcheck disable=SC2016 # the shell's script, expanded by it
loop='i=0; while [ $i -lt 300 ]; do /bin/true; i=$((i+1)); done'
# Median in us of one loop's constructors: entry and return paired by pid.
one() {
	rm -f "$dir"/*
	perf record -q -e "srbench:ctor_$2*" -o "$work/p.data" -- env -i \
		PATH=/usr/bin:/bin SPANRING_DIR="$dir" LD_PRELOAD="$1" \
		/bin/sh -c "$loop" >/dev/null 2>&1 || return 1
	perf script -i "$work/p.data" -F pid,time,event 2>/dev/null |
		awk '{ t = $2; sub(/:$/, "", t)
		       if ($3 ~ /__return/) { if ($1 in s) print (t - s[$1]) * 1e6 }
		       else s[$1] = t }' | sort -n |
		awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'
}
r=1
while [ $r -le "$runs" ]; do
	one "$a" a >>"$work/a" || { echo "bench_ctor: perf record failed" >&2; exit 1; }
	[ -n "$b" ] && one "$b" b >>"$work/b"
	r=$((r + 1))
done
# "median min max n" of a file of numbers
stats() {
	sort -n "$1" | awk '{ v[NR] = $1 } END {
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.1f %.1f %.1f %d", m, v[1], v[NR], NR }'
}
# shellcheck disable=SC2046 # four numbers, split on purpose
set -- $(stats "$work/a")
if [ -n "$b" ] && [ -s "$work/b" ]; then
	bm=$(stats "$work/b" | cut -d' ' -f1)
	base="\"shim B\",\"baseline_median\":$bm,\"ratio\":$(awk -v a="$1" -v b="$bm" 'BEGIN { printf "%.3f", a / b }')"
else
	base='null,"baseline_median":null,"ratio":null'
fi
printf '{"id":"B3","row":"time in the shim'"'"'s constructor, images of the sh loop (uprobes)","unit":"us","median":%s,"min":%s,"max":%s,"runs":%s,"baseline":%s,"target":null,"note":"median of each round'"'"'s ~600 images; the probes add their own cost"}\n' \
	"$1" "$2" "$3" "$4" "$base"
if [ -n "$b" ] && [ -s "$work/b" ]; then
	# shellcheck disable=SC2046 # four numbers, split on purpose
	set -- $(stats "$work/b")
	printf '{"id":"B3","row":"the same, shim B (SR_BENCH_SHIM_B)","unit":"us","median":%s,"min":%s,"max":%s,"runs":%s,"baseline":null,"baseline_median":null,"ratio":null,"target":null}\n' \
		"$1" "$2" "$3" "$4"
fi
