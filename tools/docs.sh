#!/bin/sh
# tools/docs.sh BUILD - rewrites the generated tables of the READMEs: the
# lines between "<!-- begin: PROG --help-markdown ... -->" and
# "<!-- end: PROG --help-markdown -->" become the output of
# BUILD/PROG --help-markdown (today spanringd's option table, in README.md
# and sidecar/README.md). What `make docs` runs; `make test` checks that
# the tables are current (config_docs_current).
set -eu
build=${1:-build}
for md in README.md sidecar/README.md; do
	tmp="$md.tmp.$$"
	awk -v build="$build" '
	/^<!-- begin: [a-z-]+ --help-markdown/ {
		print
		cmd = build "/" $3 " --help-markdown"
		while ((cmd | getline line) > 0)
			print line
		if (close(cmd) != 0) {
			print "docs: " cmd " failed" > "/dev/stderr"
			exit 1
		}
		skip = 1
		next
	}
	/^<!-- end: [a-z-]+ --help-markdown -->/ { skip = 0 }
	!skip { print }
	' "$md" >"$tmp" || { rm -f "$tmp"; exit 1; }
	if cmp -s "$tmp" "$md"; then
		rm -f "$tmp"
	else
		mv "$tmp" "$md"
		echo "docs: $md rewritten"
	fi
done
