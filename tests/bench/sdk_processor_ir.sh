#!/bin/sh
# B9 in instructions: the Python processor and the SDK's BatchTraceProcessor
# + BackendSpanExporter (to a local spanring-recv on loopback), each case in
# a process of its own under valgrind's callgrind, which counts the
# instructions of all its threads. Per span (start + end): the count of a
# run of 3000 spans less that of a run of 1000, over 2000, less the same
# for the SDK without a processor. Where CPU time on a shared VM moves by
# tens of percent between runs, these counts move by a few percent. Needs
# valgrind (DEB_BENCH); about three minutes on 2 vCPUs.
build=${SR_BUILD:-build}
root=$(cd "$(dirname "$0")/../.." && pwd)
row() {
	echo "{\"id\":\"B9\",\"row\":\"Python SDK processor per span, instructions of the process\",\"unit\":\"instructions\",$1,\"baseline\":\"BatchTraceProcessor + BackendSpanExporter\",$2,\"target\":\"<= 0.1x\",\"note\":\"callgrind, all threads, 3000 - 1000 spans, the SDK alone subtracted$3\"}"
}
if ! command -v valgrind >/dev/null || ! command -v python3 >/dev/null; then
	row '"median":null' '"baseline_median":null,"ratio":null' ": needs valgrind and python3"
	exit 0
fi
# the interpreter itself (not a launcher script valgrind would follow)
py=$(python3 -c 'import sys; print(sys.executable)')
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
# instructions of one run: CASE SPANS
ir() {
	dir=$(mktemp -d /dev/shm/spanring-bench-ir-XXXXXX 2>/dev/null) ||
		dir=$(mktemp -d "$tmp/ring-XXXXXX")
	SPANRING_DIR=$dir SPANRING_LANE_SIZE=16777216 \
		PYTHONPATH="$root/tests/python/standin:$root/tools/python" \
		valgrind --tool=callgrind --callgrind-out-file=/dev/null \
		--trace-children=yes --trace-children-skip='*spanring-recv*' \
		env LD_PRELOAD="$root/$build/libspanring.so" "$py" \
		"$root/tests/bench/sdk_processor.py" --one "$1" \
		"$root/$build/spanring-recv" "$2" 2>"$tmp/log"
	rm -rf "$dir"
	grep -o 'Collected : [0-9]*' "$tmp/log" | tail -1 | awk '{ print $3 }'
}
# instructions per span of CASE, the SDK's own included
per_span() {
	a=$(ir "$1" 1000)
	b=$(ir "$1" 3000)
	[ -n "$a" ] && [ -n "$b" ] || { echo "sdk_processor_ir: no count for $1" >&2; exit 1; }
	echo $(((b - a) / 2000))
}
none=$(per_span none) || exit 1
sr=$(per_span spanring) || exit 1
batch=$(per_span batch) || exit 1
ratio=$(awk -v a=$((sr - none)) -v b=$((batch - none)) 'BEGIN { printf "%.3f", a / b }')
row "\"median\":$((sr - none)),\"runs\":1" "\"baseline_median\":$((batch - none)),\"ratio\":$ratio" ", $none for the SDK alone"
