#!/bin/sh
# tools/demo.sh BUILD - runs a small but telling command under
# `spanring run` and shows its trace: a shell pipeline, a python3 that
# starts a subprocess, looks up localhost and connects to a listener of its
# own on 127.0.0.1, and a command that fails. Only loopback, no key.
# Exits 0 when the demo ran as intended: spanring passed on the failing
# command's status and the trace holds what the command did.
set -eu
build=${1:-build}
spanring="$build/spanring"
if [ ! -x "$spanring" ]; then
	echo "demo: $spanring is not built (make all)" >&2
	exit 1
fi
# the distribution's python3 (a version manager's shim would add its own
# processes to the trace)
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3) || {
	echo "demo: python3 is missing (make deps)" >&2
	exit 1
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

cat >"$work/demo.py" <<'EOF'
import socket, subprocess

# a listener of our own on a free loopback port
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.bind(("127.0.0.1", 0))
srv.listen(1)
port = srv.getsockname()[1]

# a subprocess
kernel = subprocess.run(["uname", "-sr"], capture_output=True, text=True).stdout.strip()

# a DNS look-up (answered from /etc/hosts) and a connection
socket.getaddrinfo("localhost", port, type=socket.SOCK_STREAM)
cli = socket.create_connection(("127.0.0.1", port))
conn, _ = srv.accept()
cli.sendall(kernel.encode())
print("python3 received over 127.0.0.1:%d: %s" % (port, conn.recv(256).decode()))
for s in (conn, cli, srv):
    s.close()
EOF

cat <<EOF
== spanring demo: tracing a shell pipeline, python3 and a failing ls
\$ $spanring run -- sh -c '...'
EOF
set +e
"$spanring" run --json "$work/trace.jsonl" -- sh -c \
	'printf "cherry\napple\nbanana\n" | sort | head -n 2; "$1" "$2"; ls /nonexistent-demo-path' \
	demo "$py" "$work/demo.py"
rc=$?
set -e

fail() {
	echo "demo: FAILED: $*" >&2
	exit 1
}
# the last command, ls, fails with 2: spanring must pass that on
[ "$rc" -eq 2 ] || fail "spanring exited $rc, expected 2 (the status of ls)"
for want in '"name":"connect"' '"server.address":"127.0.0.1"' \
	'"name":"getaddrinfo"' '"process.command_args":\["uname"' \
	'"process.command_args":\["sort"' '"process.exit.code":2'; do
	grep -q "$want" "$work/trace.jsonl" || fail "no $want in the trace"
done
echo "demo: ok - spanring exited 2, the status of the failing ls, as intended"
