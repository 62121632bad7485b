#!/bin/sh
# Runs some of CPython's own regression modules that exercise processes and
# descriptors (subprocess, os, posix, popen, fork, wait, pty) with and
# without libspanring.so preloaded, and fails unless every test has the same
# result in both runs. Needs Debian's python3 and its test suite
# (libpython3.X-testsuite, installed by `make check-cpython`).
#   tests/cpython.sh [BUILD]
set -u
build=${1:-build}
py=/usr/bin/python3
modules="test_subprocess test_popen test_fork1 test_wait3 test_wait4 test_os
test_posix test_pty"
shim=$(realpath "$build/libspanring.so" 2>/dev/null) || {
	echo "cpython: $build/libspanring.so is not built" >&2
	exit 1
}
if ! "$py" -c 'import test.support' 2>/dev/null; then
	echo "skipped: $py has no regression test package (libpython3-testsuite)"
	exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -m 700 "$work/rings"
# one line per test: "test_x (module.Class.test_x) ... ok|skipped …|FAIL"
results() {
	grep -E ' \.\.\. ' | sed -E 's/ \([0-9.]+s\)//' | LC_ALL=C sort
}
# shellcheck disable=SC2086
"$py" -m test -j2 -v $modules >"$work/bare.log" 2>&1
bare=$?
# shellcheck disable=SC2086
LD_PRELOAD="$shim" SPANRING_DIR="$work/rings" \
	"$py" -m test -j2 -v $modules >"$work/shim.log" 2>&1
traced=$?
results <"$work/bare.log" >"$work/bare.txt"
results <"$work/shim.log" >"$work/shim.txt"
rings=$(find "$work/rings" -name '*.ring' | wc -l)
n=$(wc -l <"$work/bare.txt")
if [ "$n" -lt 100 ] || [ "$rings" -eq 0 ]; then
	echo "cpython: FAIL: $n test results bare, $rings rings traced" >&2
	tail -20 "$work/shim.log" >&2
	exit 1
fi
if [ $bare -ne $traced ] || ! cmp -s "$work/bare.txt" "$work/shim.txt"; then
	echo "cpython: FAIL: results differ with the shim (exit $bare bare," \
		"$traced traced)" >&2
	diff "$work/bare.txt" "$work/shim.txt" | head -40 >&2
	exit 1
fi
echo "cpython: $n tests of $(echo $modules | wc -w) modules, same results" \
	"with and without the shim (exit $bare), $rings rings recorded"
