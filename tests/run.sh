#!/bin/sh
# Runs every test of every test binary alone, with a timeout, and prints
# one line per test and the totals as the last line: "N passed, M failed"
# (", K skipped" when a test skipped itself, saying why). A binary that
# cannot list its tests (--list crashes, fails, times out or prints no
# name) is a failure of its own, "FAIL <binary> --list", counted and named.
#   tests/run.sh [BUILD] [GLOB...]   (globs select test names)
# SR_TEST_TIMEOUT: seconds per test (default 120).
set -u
build=${1:-build}
[ $# -gt 0 ] && shift
timeout_s=${SR_TEST_TIMEOUT:-120}
export SR_BUILD="$build"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}"
pass=0 fail=0 skipped=0 failed=""
log=$(mktemp)
list=$(mktemp)
trap 'rm -f "$log" "$list"' EXIT
for bin in "$build"/tests/test_*; do
	[ -x "$bin" ] || continue
	timeout -k 5 "$timeout_s" "$bin" --list >"$list" 2>"$log"
	rc=$?
	if [ $rc -ne 0 ] || ! grep -q '[^[:space:]]' "$list"; then
		fail=$((fail + 1))
		failed="$failed $(basename "$bin")(--list)"
		if [ $rc -eq 0 ]; then
			why="listed no test"
		elif [ $rc -eq 124 ]; then
			why="timed out after ${timeout_s}s"
		elif [ $rc -gt 128 ]; then
			why="killed by signal $((rc - 128))"
		else
			why="exit $rc"
		fi
		echo "FAIL $(basename "$bin") --list ($why)"
		sed 's/^/    | /' "$log" | tail -60
		continue
	fi
	for name in $(cat "$list"); do
		if [ $# -gt 0 ]; then
			hit=0
			for g in "$@"; do
				# shellcheck disable=SC2254
				case "$name" in $g) hit=1 ;; esac
			done
			[ $hit = 1 ] || continue
		fi
		start=$(date +%s.%N)
		timeout -k 5 "$timeout_s" "$bin" --run "$name" >"$log" 2>&1
		rc=$?
		secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }')
		if [ $rc -eq 0 ] && grep -q '^\[  SKIPPED \]' "$log"; then
			skipped=$((skipped + 1))
			printf 'SKIP %-44s %6ss\n' "$name" "$secs"
		elif [ $rc -eq 0 ]; then
			pass=$((pass + 1))
			printf 'PASS %-44s %6ss\n' "$name" "$secs"
		else
			fail=$((fail + 1))
			failed="$failed $name"
			[ $rc -eq 124 ] && echo "  (timed out after ${timeout_s}s)" >>"$log"
			echo "FAIL $name (exit $rc)"
			sed 's/^/    | /' "$log" | tail -60
		fi
	done
done
[ -n "$failed" ] && echo "failed:$failed"
if [ $skipped -gt 0 ]; then
	echo "$pass passed, $fail failed, $skipped skipped"
else
	echo "$pass passed, $fail failed"
fi
[ $fail -eq 0 ] && [ $pass -gt 0 ]
