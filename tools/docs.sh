#!/bin/sh
# tools/docs.sh BUILD - rewrites the generated blocks of the READMEs: the
# lines between "<!-- begin: PROG --help-markdown ... -->" and
# "<!-- end: PROG --help-markdown -->" become the output of
# BUILD/PROG --help-markdown (spanringd's option table, in README.md and
# sidecar/README.md); between "<!-- begin: PROG --help ... -->" and
# "<!-- end: PROG --help -->", BUILD/PROG --help in a code block (the
# usage of spanring and spanring-dump, in their READMEs). What `make docs`
# runs; `make test` fails while a block is out of date
# (config_docs_current, run_help_documented, dump_help_and_version).
set -eu
build=${1:-build}
for md in README.md sidecar/README.md tools/run/README.md tools/dump/README.md; do
	tmp="$md.tmp.$$"
	awk -v build="$build" '
	/^<!-- begin: [a-z-]+ --help(-markdown)? / {
		print
		cmd = build "/" $3 " " $4
		fenced = $4 == "--help"
		if (fenced)
			print "```text"
		while ((cmd | getline line) > 0)
			print line
		if (close(cmd) != 0) {
			print "docs: " cmd " failed" > "/dev/stderr"
			exit 1
		}
		if (fenced)
			print "```"
		skip = 1
		next
	}
	/^<!-- end: [a-z-]+ --help(-markdown)? -->/ { skip = 0 }
	!skip { print }
	' "$md" >"$tmp" || { rm -f "$tmp"; exit 1; }
	if cmp -s "$tmp" "$md"; then
		rm -f "$tmp"
	else
		mv "$tmp" "$md"
		echo "docs: $md rewritten"
	fi
done
