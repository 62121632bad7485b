#!/bin/sh
# B9 (tests/bench/sdk_processor.py) under the shim of BUILD (default build):
# the Python processor beside the SDK's BatchTraceProcessor, 4000 spans a
# run, SR_BENCH_RUNS runs (default 7). Lanes of 16 MiB hold every record of
# the runs (about 1.3 MB a run) without a sidecar draining them; the rings
# are on tmpfs (/dev/shm, where spanring keeps them by default: a ring on a
# disk filesystem pays the page cache on every new page).
build=${SR_BUILD:-build}
root=$(cd "$(dirname "$0")/../.." && pwd)
command -v python3 >/dev/null || { echo "sdk_processor: no python3, B9 skipped" >&2; exit 0; }
py=$(python3 -c 'import sys; print(sys.executable)')
dir=$(mktemp -d /dev/shm/spanring-bench-sdk-XXXXXX 2>/dev/null) ||
	dir=$(mktemp -d "${SPANRING_DIR:-/tmp}/spanring-bench-sdk-XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
# 4000 spans a run, fewer when many runs would not fit a lane (about
# 330 bytes of records a span; 16 MiB holds some 48 000 spans)
runs=${SR_BENCH_RUNS:-7}
spans=$((40000 / runs))
[ "$spans" -gt 4000 ] && spans=4000
SPANRING_DIR=$dir SPANRING_LANE_SIZE=16777216 \
	LD_PRELOAD="$root/$build/libspanring.so" \
	PYTHONPATH="$root/tests/python/standin:$root/tools/python" \
	"$py" "$root/tests/bench/sdk_processor.py" "$root/$build/spanring-recv" \
	"$runs" "$spans"
