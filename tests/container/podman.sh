#!/usr/bin/env bash
# Real containers: spanringd and a traced program in two podman containers
# sharing a tmpfs volume as the ring directory (2777 of group 2000, as a
# Kubernetes emptyDir with fsGroup), under different uids, read-only root
# file systems, no network. The image is made from the build tree with
# `podman import` (no registry): the binaries and the libraries ldd lists,
# with the settings of sidecar/Dockerfile (user, volumes, environment).
#
#   tests/container/podman.sh [BUILD]      (BUILD defaults to build)
#
# Exits 0 when the test passed or podman cannot run here (a line starting
# with "skipped:" says why), 1 on a failure. Only containers, volumes and
# images it creates itself are touched (names spanring-test-<pid>-…).
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
tag=spanring-test-$$
image=localhost/$tag:latest
work=$(mktemp -d /tmp/$tag.XXXXXX)

skip() { echo "skipped: $*"; exit 0; }
fail() { echo "FAIL podman: $*"; podman logs "$tag-sd" 2>&1 | tail -20 || true; exit 1; }

command -v podman >/dev/null || skip "podman is not installed (apt-get install podman runc)"
command -v runc >/dev/null || skip "runc is not installed (crun fails on hybrid cgroups)"
# podman's default rlimits (nofile 1048576) need CAP_SYS_RESOURCE: the
# containers get at most this shell's open files and 4096 processes (a
# raised or equal nproc is refused here too); runc, not crun
nofile="$(ulimit -Hn)"
[ "$nofile" = unlimited ] || [ "$nofile" -gt 65536 ] && nofile=65536
nofile="$nofile:$nofile"
nproc="4096:4096"
cat > "$work/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$nofile", "nproc=$nproc"]
[engine]
runtime = "runc"
CONF
export CONTAINERS_CONF=$work/containers.conf
podman info >/dev/null 2>"$work/info.err" || skip "podman cannot run here: $(tail -1 "$work/info.err")"

cleanup() {
	podman rm -f "$tag-sd" "$tag-app" >/dev/null 2>&1 || true
	podman volume rm -f "$tag-rings" "$tag-spool" >/dev/null 2>&1 || true
	podman rmi -f "$image" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

# --- the image: binaries and the libraries they load -------------------
root=$work/root
mkdir -p "$root/usr/bin" "$root/usr/lib/spanring" "$root/bin" "$root/tmp" \
	"$root/run/spanring" "$root/var/lib/spanring/spool" "$root/etc"
install -m 0755 "$build/spanringd" "$root/usr/bin/"
install -m 0755 "$build/libspanring.so" "$root/usr/lib/spanring/"
for p in /bin/sh /bin/true /bin/cat; do cp -L "$p" "$root$p"; done
for f in "$build/spanringd" "$build/libspanring.so" /bin/sh /bin/true /bin/cat; do
	ldd "$f" | awk '/=>/ { print $3 } /^\t\// { print $1 }'
done | sort -u | while read -r lib; do
	[ -n "$lib" ] && [ -e "$lib" ] || continue
	mkdir -p "$root$(dirname "$lib")"
	cp -L "$lib" "$root$lib"
done
echo "spanring:x:10001:10001::/nonexistent:/bin/sh" > "$root/etc/passwd"
tar -C "$root" -cf "$work/root.tar" .
podman import \
	--change 'USER=10001:10001' \
	--change 'ENV=SPANRING_DIR=/run/spanring' \
	--change 'ENV=SPANRINGD_SPOOL_DIR=/var/lib/spanring/spool' \
	--change 'ENV=SPANRINGD_SHUTDOWN_TIMEOUT=8' \
	--change 'ENTRYPOINT=["/usr/bin/spanringd"]' \
	--change 'STOPSIGNAL=SIGTERM' \
	"$work/root.tar" "$image" >/dev/null 2>&1

# --- volumes: rings on tmpfs 2777 group 2000, the spool the sidecar's ---
podman volume create --opt type=tmpfs --opt device=tmpfs \
	--opt o=mode=2777,gid=2000 "$tag-rings" >/dev/null
podman volume create --opt type=tmpfs --opt device=tmpfs \
	--opt o=mode=0700,uid=10001,gid=10001 "$tag-spool" >/dev/null

# --- the sidecar: uid 10001, group 2000, read-only root, no network ----
podman run -d --name "$tag-sd" --network none --read-only \
	--user 10001:10001 --group-add 2000 \
	-v "$tag-rings:/run/spanring" -v "$tag-spool:/var/lib/spanring/spool" \
	--stop-timeout 10 "$image" \
	--exporter file --output /var/lib/spanring/spool/out.jsonl \
	--schedule-delay 0.2 >/dev/null

# --- the app: uid 1000, group 2000, its own container ---------------------
set +e
podman run --rm --name "$tag-app" --network none --read-only \
	--user 1000:1000 --group-add 2000 -v "$tag-rings:/run/spanring" \
	-e LD_PRELOAD=/usr/lib/spanring/libspanring.so \
	-e SPANRING_DIR=/run/spanring -e SPANRING_WORKFLOW=podman \
	--entrypoint /bin/sh "$image" -c '/bin/true; exit 3'
rc=$?
set -e
[ "$rc" = 3 ] || fail "app exited $rc, expected 3"

out=""
for _ in $(seq 1 150); do
	out=$(podman exec "$tag-sd" /bin/cat /var/lib/spanring/spool/out.jsonl 2>/dev/null || true)
	case $out in *'"process.exit.code":3'*) break ;; esac
	sleep 0.2 # polling another container's file: no event to wait on
done
case $out in *'"process.exit.code":3'*) ;; *) fail "no process span with exit code 3 exported: $out" ;; esac
case $out in *'"process.pid":1,'*) ;; *) fail "the app's sh is not pid 1 of its container: $out" ;; esac
case $out in *'"process.pid_namespace":"'*) ;; *) fail "no pid namespace in the items: $out" ;; esac
case $out in *'"workflow_name":"podman"'*) ;; *) fail "no trace object: $out" ;; esac

check=$(podman exec "$tag-sd" /usr/bin/spanringd --check) || fail "spanringd --check: $check"
podman stop -t 10 "$tag-sd" >/dev/null
code=$(podman inspect "$tag-sd" --format '{{.State.ExitCode}}')
[ "$code" = 0 ] || fail "spanringd exited $code after SIGTERM, expected 0"
echo "PASS podman: app and spanringd in separate containers (uids 1000/10001, group 2000, tmpfs rings), $(printf '%s\n' "$out" | wc -l) items, --check: $check"
