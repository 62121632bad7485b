#!/bin/sh
# B9 for JavaScript (tests/bench/sdk_processor.js) under the shim of BUILD
# (default build): the processor of tools/js beside the SDK's
# BatchTraceProcessor, with the @openai/agents and koffi that `make test`
# installs into BUILD/agents-js (without them: a row saying so). Rings on
# tmpfs, lanes of 16 MiB, as sdk_processor.sh.
build=${SR_BUILD:-build}
root=$(cd "$(dirname "$0")/../.." && pwd)
mods="$root/$build/agents-js/node_modules"
if ! command -v node >/dev/null || [ ! -f "$mods/@openai/agents/package.json" ]; then
	echo '{"id":"B9","row":"JS SDK processor per span","unit":"us","median":null,"min":null,"max":null,"runs":0,"baseline":"BatchTraceProcessor","baseline_median":null,"ratio":null,"target":"small fraction","note":"needs node and BUILD/agents-js (make test installs @openai/agents there)"}'
	exit 0
fi
dir=$(mktemp -d /dev/shm/spanring-bench-js-XXXXXX 2>/dev/null) ||
	dir=$(mktemp -d "${SPANRING_DIR:-/tmp}/spanring-bench-js-XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
# 4000 spans a run, fewer when many runs would not fit a lane (about
# 330 bytes of records a span; 16 MiB holds some 48 000 spans)
runs=${SR_BENCH_RUNS:-7}
spans=$((40000 / runs))
[ "$spans" -gt 4000 ] && spans=4000
SPANRING_DIR=$dir SPANRING_LANE_SIZE=16777216 NODE_PATH="$mods" \
	LD_PRELOAD="$root/$build/libspanring.so" \
	node --expose-gc "$root/tests/bench/sdk_processor.js" "$root/$build/spanring-recv" \
	"$runs" "$spans"
