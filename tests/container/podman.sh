#!/usr/bin/env bash
# Real containers, from the files spanring ships:
#
#  1. the image: `podman build -f sidecar/Dockerfile` of this tree. No
#     registry is needed: the Dockerfile's base (DEBIAN) is a Debian
#     bookworm minbase made by debootstrap from the package mirror and
#     imported as localhost/spanring-base:bookworm-<key>, kept between
#     runs (<key>: the mirror's bookworm Release date, so a new point
#     release makes a new base; the previous one is removed). The build
#     stage installs its build dependencies from the mirror with apt-get.
#  2. sidecar/deploy/kubernetes.yaml with `podman kube play` (see
#     kube_manifest below for what is changed for podman 4.3): the app's
#     spans reach the sidecar's file exporter, `spanringd --check` and the
#     liveness probe are healthy, stopping the pod (SIGTERM, 30 s grace)
#     drains (spanringd exits 0, the killed app's last span delivered),
#     `podman kube down` removes it.
#  3. sidecar/deploy/compose.yaml's two services with `podman run` (the
#     same flags; podman-compose 1.0.3 of Debian 12 lacks
#     `depends_on: {condition: service_completed_successfully}`): app and
#     spanringd in separate containers, uids 1000 / 10001 sharing group
#     2000 through a tmpfs volume 2777, read-only roots, no network.
#
# When debootstrap or the mirror is not available, the image is made
# from the build tree with `podman import` instead (the binaries and the
# libraries ldd lists, the Dockerfile's settings), said on a "fallback:"
# line; 2 and 3 run on it.
#
#   tests/container/podman.sh [BUILD]      (BUILD defaults to build)
#
# Environment: SPANRING_DEBIAN_MIRROR (default http://deb.debian.org/debian).
# Exits 0 when the test passed or podman cannot run here (a line starting
# with "skipped:" says why), 1 on a failure. Only containers, pods,
# volumes, secrets and images it creates itself are touched (names
# spanring-test-<pid>-…), and the cached base image.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-build}" && pwd)
tag=spanring-test-$$
image=localhost/$tag:latest
mirror=${SPANRING_DEBIAN_MIRROR:-http://deb.debian.org/debian}
work=$(mktemp -d /var/tmp/$tag.XXXXXX)
t0=$SECONDS
times=""
lap() { times="$times $1 $((SECONDS - t0))s"; t0=$SECONDS; }

skip() { echo "skipped: $*"; exit 0; }
fail() {
	echo "FAIL podman: $*"
	for c in "$tag-sd" "$tag-pod-0-spanringd"; do
		podman logs "$c" 2>&1 | tail -20 || true
	done
	exit 1
}

command -v podman >/dev/null || skip "podman is not installed (apt-get install podman runc)"
command -v runc >/dev/null || skip "runc is not installed (crun fails on hybrid cgroups)"
# podman's default rlimits (nofile 1048576) need CAP_SYS_RESOURCE: the
# containers get at most this shell's open files and 4096 processes (a
# raised or equal nproc is refused here too); runc, not crun. `podman
# build` does not read default_ulimits: it gets them as --ulimit.
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

volumes=()  # every volume made for the test, anonymous ones included
cleanup() {
	set +e
	[ -f "$work/kube.yaml" ] && podman kube down "$work/kube.yaml" >/dev/null 2>&1
	for c in "$tag-sd" "$tag-app" "$tag-lib"; do
		podman rm -f --ignore "$c" >/dev/null 2>&1
	done
	podman pod rm -f "$tag-pod-0" >/dev/null 2>&1
	# removed one by one and without -f: `volume rm -f` takes a
	# container's lock while its exit cleanup holds it (podman 4.3 then
	# hangs); by now no container of the test uses them
	for v in "${volumes[@]}"; do podman volume rm "$v" >/dev/null 2>&1; done
	podman secret rm "$tag-openai" >/dev/null 2>&1
	podman rmi "$image" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT
# the anonymous volumes (the image's VOLUMEs) of a container
anon_volumes() {
	local v
	for v in $(podman inspect "$1" --format '{{range .Mounts}}{{.Name}} {{end}}' 2>/dev/null); do
		[ ${#v} = 64 ] && volumes+=("$v")
	done
	return 0
}

# --- 1. the image ------------------------------------------------------
# the base: bookworm minbase, cached under the mirror's Release date
base_image() {
	local key date
	date=$(curl -fsS -m 20 "$mirror/dists/bookworm/InRelease" 2>/dev/null |
		sed -n 's/^Date: //p' | head -1) || date=""
	[ -n "$date" ] || date="week $(date -u +%G-%V)"
	key=$(printf '%s\n' "$date" | sha256sum | cut -c1-12)
	base=localhost/spanring-base:bookworm-$key
	podman image exists "$base" && { base_how="cached"; return 0; }
	command -v debootstrap >/dev/null ||
		{ why="debootstrap is not installed (apt-get install debootstrap)"; return 1; }
	if ! debootstrap --variant=minbase bookworm "$work/base" "$mirror" \
		>"$work/debootstrap.log" 2>&1; then
		why="debootstrap from $mirror failed: $(grep -m1 '^E:' "$work/debootstrap.log" || tail -1 "$work/debootstrap.log")"
		return 1
	fi
	rm -f "$work/base/var/cache/apt/archives/"*.deb
	# one base is kept: older ones go (unless an image still uses them)
	podman images --format '{{.Repository}}:{{.Tag}}' |
		grep '^localhost/spanring-base:' | while read -r old; do
		podman rmi "$old" >/dev/null 2>&1 || true
	done
	tar -C "$work/base" -c . | podman import \
		--change 'ENV=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'CMD=["/bin/bash"]' - "$base" >/dev/null
	rm -rf "$work/base"
	base_how="debootstrap $date"
}

# the fallback: binaries and the libraries they load, the Dockerfile's
# settings
import_image() {
	local root=$work/root f lib p
	mkdir -p "$root/usr/bin" "$root/usr/lib/spanring" "$root/bin" "$root/tmp" \
		"$root/run/spanring" "$root/var/lib/spanring/spool" "$root/etc"
	install -m 0755 "$build/spanringd" "$build/spanring-dump" "$root/usr/bin/"
	install -m 0755 "$build/libspanring.so" "$root/usr/lib/spanring/"
	chown 10001:10001 "$root/run/spanring" "$root/var/lib/spanring/spool"
	for p in /bin/sh /bin/true /bin/cat /bin/cp /bin/sleep /usr/bin/getent /usr/bin/id; do
		cp -L "$p" "$root$p"
	done
	for f in "$build/spanringd" "$build/libspanring.so" /bin/sh /bin/true \
		/bin/cat /bin/cp /bin/sleep /usr/bin/getent /usr/bin/id; do
		ldd "$f" | awk '/=>/ { print $3 } /^\t\// { print $1 }'
	done | sort -u | while read -r lib; do
		[ -n "$lib" ] && [ -e "$lib" ] || continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
	for lib in /lib/x86_64-linux-gnu/libnss_files.so.2; do
		[ -e "$lib" ] && cp -L "$lib" "$root$lib"
	done
	printf 'spanring:x:10001:10001::/nonexistent:/bin/sh\n' > "$root/etc/passwd"
	printf 'hosts: files\n' > "$root/etc/nsswitch.conf"
	printf '127.0.0.1 localhost\n' > "$root/etc/hosts"
	tar -C "$root" -cf "$work/root.tar" .
	podman import -q \
		--change 'USER=10001:10001' \
		--change 'ENV=PATH=/usr/bin:/bin' \
		--change 'ENV=SPANRING_DIR=/run/spanring' \
		--change 'ENV=SPANRINGD_SPOOL_DIR=/var/lib/spanring/spool' \
		--change 'ENV=SPANRINGD_SHUTDOWN_TIMEOUT=8' \
		--change 'VOLUME=/run/spanring' --change 'VOLUME=/var/lib/spanring/spool' \
		--change 'ENTRYPOINT=["/usr/bin/spanringd"]' \
		--change 'STOPSIGNAL=SIGTERM' \
		"$work/root.tar" "$image" >/dev/null
}

how=""
if base_image; then
	lap "base($base_how)"
	# --layers=false: no intermediate images are left behind to prune
	if ! podman build --format docker --layers=false \
		--ulimit "nofile=$nofile" --ulimit "nproc=$nproc" \
		-f "$src/sidecar/Dockerfile" --build-arg "DEBIAN=$base" \
		-t "$image" "$src" >"$work/build.log" 2>&1; then
		tail -30 "$work/build.log"
		fail "podman build -f sidecar/Dockerfile failed (log above)"
	fi
	lap build
	how="built from sidecar/Dockerfile on $base"
	app_image=$base
else
	echo "fallback: the image is imported from $build, not built from sidecar/Dockerfile: $why"
	import_image
	lap import
	how="imported from $build ($why)"
	app_image=$image
	base=""
fi
podman run --rm --network none --read-only --entrypoint /usr/bin/spanringd \
	"$image" --version >/dev/null || fail "the image does not run spanringd"

# --- 2. sidecar/deploy/kubernetes.yaml with podman kube play -------------
# Changed for podman 4.3, the rest is played as shipped:
#  * images: spanring:latest -> the image built above; debian:bookworm-slim
#    -> the base; names (Deployment, volumes, Secret) get the test's prefix
#  * the file exporter in place of openai (no network beyond the pod)
#  * restartPolicy OnFailure: podman applies a Deployment's Always to the
#    init container too (it would copy the library forever and kube play
#    would wait 20 s for it to exit)
#  * supplementalGroups [2000] beside fsGroup 2000 (podman ignores fsGroup)
#  * fieldRef metadata.namespace and spec.nodeName -> fixed values (podman
#    supports metadata.name and .uid only)
#  * emptyDir {medium: Memory} is a disk volume under kube play, owned by
#    the image's user, without fsGroup's group: the rings volume is made
#    beforehand as what Kubernetes gives (tmpfs, 2777, group 2000) and
#    kube play uses it
#  * the API key: a podman secret holding {"api-key": "<base64>"}
kube_manifest() {
	sed -e "s#image: spanring:latest#image: $image#" \
		-e "s#image: debian:bookworm-slim#image: $app_image#" \
		-e "s#^  name: traced-app\$#  name: $tag#" \
		-e "s#{name: \(rings\|spool\|spanring-lib\),#{name: $tag-\1,#" \
		-e "/^      volumes:/,\$ s#- name: \(rings\|spool\|spanring-lib\)\$#- name: $tag-\1#" \
		-e "s#secretKeyRef: {name: openai,#secretKeyRef: {name: $tag-openai,#" \
		-e 's#args: \["--exporter", "openai", #args: ["--exporter", "file", "--output", "/var/lib/spanring/spool/out.jsonl", "--schedule-delay", "0.2", #' \
		-e 's#^\(      terminationGracePeriodSeconds: .*\)$#\1\n      restartPolicy: OnFailure#' \
		-e 's#^\(        fsGroup: 2000\)$#\1\n        supplementalGroups: [2000]#' \
		-e 's#valueFrom: {fieldRef: {fieldPath: metadata.namespace}}#value: podman#' \
		-e 's#valueFrom: {fieldRef: {fieldPath: spec.nodeName}}#value: podman-host#' \
		"$src/sidecar/deploy/kubernetes.yaml"
}
kube_manifest > "$work/kube.yaml"
for want in "$image" "$tag-rings" "$tag-openai" '"--exporter", "file"' \
	"restartPolicy: OnFailure" "supplementalGroups" "name: $tag\$"; do
	grep -q -- "$want" "$work/kube.yaml" ||
		fail "sidecar/deploy/kubernetes.yaml changed: '$want' not substituted"
done
grep -q 'io.podman.annotations.init.container.type: always' "$work/kube.yaml" ||
	fail "sidecar/deploy/kubernetes.yaml lacks the init-container annotation"
printf '{"api-key":"%s"}' "$(printf sk-unused | base64)" > "$work/secret.json"
podman secret create "$tag-openai" "$work/secret.json" >/dev/null
volumes+=("$tag-rings" "$tag-spool" "$tag-spanring-lib")
podman volume create --opt type=tmpfs --opt device=tmpfs \
	--opt o=mode=2777,gid=2000 "$tag-rings" >/dev/null
kpod=$tag-pod-0
podman kube play --network none "$work/kube.yaml" >"$work/play.log" 2>&1 ||
	{ cat "$work/play.log"; fail "podman kube play sidecar/deploy/kubernetes.yaml failed"; }
for c in spanring-lib app spanringd; do anon_volumes "$kpod-$c"; done
lap "kube play"

out=""
for _ in $(seq 1 100); do
	out=$(podman exec "$kpod-spanringd" /bin/cat /var/lib/spanring/spool/out.jsonl 2>/dev/null || true)
	case $out in *'"process.executable.path":"/usr/bin/getent"'*) break ;; esac
	sleep 0.2 # polling another container's file: no event to wait on
done
case $out in *'"process.executable.path":"/usr/bin/getent"'*) ;;
	*) fail "kube: no span of the app's getent exported: $out" ;; esac
case $out in *'"workflow_name":"traced-app"'*) ;; *) fail "kube: no trace object: $out" ;; esac
case $out in *"\"k8s.pod.name\":\"$kpod\""*) ;; *) fail "kube: no pod name in the items: $out" ;; esac
case $out in *'"k8s.container.name":"app"'*) ;; *) fail "kube: no container name in the items: $out" ;; esac
# the app wrote into the volume as the permission model says
lsring=$(podman exec "$kpod-spanringd" /usr/bin/spanring-dump --dir /run/spanring) ||
	fail "kube: spanring-dump over the rings volume: $lsring"
case $lsring in *uid-1000/sr-*) ;; *) fail "kube: no ring in uid-1000/ listed: $lsring" ;; esac
check=$(podman exec "$kpod-spanringd" /usr/bin/spanringd --check) ||
	fail "kube: spanringd --check: $check"
# the livenessProbe, as podman runs it
health=$(podman healthcheck run "$kpod-spanringd" 2>&1) ||
	fail "kube: the liveness probe says: $health"
lap "kube spans"

# Deleting the pod: podman 4.3's `kube down` kills at once (no grace),
# so the pod is stopped first as Kubernetes deletes one: SIGTERM, then
# SIGKILL after terminationGracePeriodSeconds (30). The app ends first
# (SIGKILL: its sh, pid 1 of its container, ignores SIGTERM), so its
# last process span is one the draining sidecar must close and deliver.
case $out in *'"process.pid":1,'*) fail "kube: the app's sh ended before the pod was stopped: $out" ;; esac
podman logs -f "$kpod-spanringd" >"$work/kube-sd.log" 2>&1 &
follower=$!
podman stop -t 0 "$kpod-app" >/dev/null
kd0=$SECONDS
podman pod stop -t 30 "$kpod" >/dev/null || fail "podman pod stop failed"
kdown=$((SECONDS - kd0))
wait "$follower" || true
code=$(podman inspect "$kpod-spanringd" --format '{{.State.ExitCode}}')
[ "$code" = 0 ] || fail "kube: spanringd exit code $code after SIGTERM, expected 0 (a SIGKILL is 137): $(tail -5 "$work/kube-sd.log")"
grep -q 'stopping: draining rings' "$work/kube-sd.log" ||
	fail "kube: spanringd did not drain: $(tail -5 "$work/kube-sd.log")"
[ "$kdown" -lt 30 ] || fail "kube: stopping took ${kdown}s, the grace period is 30 s"
spool=$(podman volume inspect "$tag-spool" --format '{{.Mountpoint}}')
out=$(cat "$spool/out.jsonl")
case $out in *'"process.pid":1,'*) ;; *) fail "kube: the app's sh (pid 1, killed) was not delivered by the drain: $out" ;; esac
kitems=$(printf '%s\n' "$out" | wc -l)
podman kube down "$work/kube.yaml" >"$work/down.log" 2>&1 ||
	{ cat "$work/down.log"; fail "podman kube down failed"; }
lap "kube stop+down"

# --- 3. sidecar/deploy/compose.yaml's services with podman run -----------
volumes+=("$tag-crings" "$tag-cspool" "$tag-clib")
podman volume create --opt type=tmpfs --opt device=tmpfs \
	--opt o=mode=2777,gid=2000 "$tag-crings" >/dev/null
podman volume create "$tag-cspool" >/dev/null
podman volume create "$tag-clib" >/dev/null
# spanring-lib: copies the library into its volume and exits
podman run --name "$tag-lib" --network none --read-only \
	-v "$tag-clib:/spanring-lib" --entrypoint /bin/cp "$image" \
	/usr/lib/spanring/libspanring.so /spanring-lib/ ||
	fail "compose: spanring-lib failed"
anon_volumes "$tag-lib"
podman rm "$tag-lib" >/dev/null
# spanringd: uid 10001, group 2000, read-only root, no network
podman run -d --name "$tag-sd" --network none --read-only \
	--user 10001:10001 --group-add 2000 \
	-v "$tag-crings:/run/spanring" -v "$tag-cspool:/var/lib/spanring/spool" \
	--stop-signal SIGTERM --stop-timeout 10 "$image" \
	--exporter file --output /var/lib/spanring/spool/out.jsonl \
	--schedule-delay 0.2 >/dev/null
# the app: uid 1000, group 2000, its own container
set +e
podman run --rm --name "$tag-app" --network none --read-only \
	--user 1000:1000 --group-add 2000 \
	-v "$tag-crings:/run/spanring" -v "$tag-clib:/spanring-lib:ro" \
	-e LD_PRELOAD=/spanring-lib/libspanring.so \
	-e SPANRING_DIR=/run/spanring -e SPANRING_WORKFLOW=podman \
	--entrypoint /bin/sh "$app_image" -c 'getent hosts localhost; exit 3' >/dev/null
rc=$?
set -e
[ "$rc" = 3 ] || fail "compose: app exited $rc, expected 3"

out=""
for _ in $(seq 1 150); do
	out=$(podman exec "$tag-sd" /bin/cat /var/lib/spanring/spool/out.jsonl 2>/dev/null || true)
	case $out in *'"process.exit.code":3'*) break ;; esac
	sleep 0.2 # polling another container's file: no event to wait on
done
case $out in *'"process.exit.code":3'*) ;; *) fail "compose: no process span with exit code 3 exported: $out" ;; esac
case $out in *'"process.pid":1,'*) ;; *) fail "compose: the app's sh is not pid 1 of its container: $out" ;; esac
case $out in *'"process.pid_namespace":"'*) ;; *) fail "compose: no pid namespace in the items: $out" ;; esac
case $out in *'"workflow_name":"podman"'*) ;; *) fail "compose: no trace object: $out" ;; esac
check2=$(podman exec "$tag-sd" /usr/bin/spanringd --check) || fail "compose: spanringd --check: $check2"
anon_volumes "$tag-sd"
podman stop -t 10 "$tag-sd" >/dev/null
code=$(podman inspect "$tag-sd" --format '{{.State.ExitCode}}')
[ "$code" = 0 ] || fail "compose: spanringd exited $code after SIGTERM, expected 0"
podman rm "$tag-sd" >/dev/null
citems=$(printf '%s\n' "$out" | wc -l)
lap compose

echo "PASS podman: image $how; kube play sidecar/deploy/kubernetes.yaml: $kitems items, --check: $check, probe: ${health:-healthy}, stop ${kdown}s, exit 0; compose services via podman run (uids 1000/10001, group 2000, tmpfs rings): $citems items; times:$times"
