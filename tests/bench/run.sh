#!/bin/sh
# Runs every BUILD/bench/bench_* program (and tests/bench/*.sh scripts),
# collects their JSON lines, prints one table and writes
# BUILD/bench/results.json (a JSON array of the rows, with the machine).
#   tests/bench/run.sh [BUILD]
# Builds nothing: `make bench` builds first. SR_BENCH_RUNS: runs per figure;
# SR_BENCH_TIMEOUT: seconds a program may take (default 600).
set -u
build=${1:-build}
here=$(dirname "$0")
out="$build/bench/results.json"
lines=$(mktemp)
# Bench programs that link the shim start traced: their own rings go to a
# private directory, never to the user's default one.
SPANRING_DIR=$(mktemp -d "${TMPDIR:-/tmp}/spanring-bench-XXXXXX")
export SPANRING_DIR
trap 'rm -rf "$lines" "$SPANRING_DIR"' EXIT
mkdir -p "$build/bench"
status=0
for b in "$build"/bench/bench_* "$here"/*.sh; do
	[ -x "$b" ] || continue
	[ "$(basename "$b")" = run.sh ] && continue
	case "$b" in *.d|*.o) continue ;; esac
	echo "running $(basename "$b") ..." >&2
	timeout -k 5 "${SR_BENCH_TIMEOUT:-600}" "$b" >>"$lines"
	rc=$?
	if [ $rc -ne 0 ]; then
		[ $rc -eq 124 ] && echo "  $(basename "$b") timed out" >&2
		echo "  $(basename "$b") failed (exit $rc)" >&2
		status=1
	fi
done
grep '^{' "$lines" >"$lines.rows" || true
mv "$lines.rows" "$lines"
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)
{
	printf '{"machine":{"cpu":"%s","cpus":%s,"kernel":"%s","date":"%s"},"rows":[\n' \
		"$(printf '%s' "$cpu" | tr -d '"\\')" "$(nproc)" "$(uname -r)" \
		"$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	sed '$!s/$/,/' "$lines"
	printf ']}\n'
} >"$out"
# The table: plain awk over the flat JSON rows (no nesting in a row).
awk '
function field(s, k,    m, v) {
	if (match(s, "\"" k "\":(\"([^\"\\\\]|\\\\.)*\"|[^,}]*)")) {
		v = substr(s, RSTART + length(k) + 3, RLENGTH - length(k) - 3)
		gsub(/^"|"$/, "", v)
		return v
	}
	return ""
}
BEGIN {
	printf "%-3s %-46s %28s %-24s %8s %-16s\n", "id", "row", "median [min-max]",
		"baseline", "ratio", "target"
}
{
	med = field($0, "median"); u = field($0, "unit")
	fig = (med == "null") ? "n/a" : sprintf("%s [%s-%s] %s", med,
		field($0, "min"), field($0, "max"), u)
	base = field($0, "baseline"); if (base == "null") base = "-"
	bm = field($0, "baseline_median")
	if (bm != "null" && bm != "") base = base " " bm
	r = field($0, "ratio"); if (r == "null") r = "-"
	else r = sprintf("%.2f", r)
	t = field($0, "target"); if (t == "null") t = "-"
	printf "%-3s %-46s %28s %-24s %8s %-16s\n", field($0, "id"),
		substr(field($0, "row"), 1, 46), fig, substr(base, 1, 24), r, t
	n = field($0, "note"); if (n != "") printf "    note: %s\n", n
}' "$lines"
echo "results: $out" >&2
exit $status
