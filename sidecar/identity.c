/* SPDX-License-Identifier: MIT */
#include "identity.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/jsonw.h"

static struct sr_ident_attr attrs[SR_IDENT_ATTRS_MAX];
static size_t nattrs;
static char own_cid[65];    /* the sidecar's container, "" unknown */
static bool cid_configured; /* container.id from the environment */
static uint64_t own_pidns;
static bool enabled; /* sr_identity_init() ran */

static void add(const char *key, const char *v)
{
	if (!v || !*v || nattrs == SR_IDENT_ATTRS_MAX)
		return;
	attrs[nattrs].key = key;
	snprintf(attrs[nattrs].value, SR_IDENT_VALUE_MAX, "%s", v);
	nattrs++;
}

static bool hex64_at(const char *p)
{
	for (int i = 0; i < 64; i++)
		if (!isxdigit((unsigned char)p[i]) ||
		    isupper((unsigned char)p[i]))
			return false;
	return !isxdigit((unsigned char)p[64]);
}

/* The first run of exactly 64 lowercase hex digits in the lines of
 * `path` that contain `near` (docker, containerd, CRI-O and podman name
 * containers so: ".../docker-<id>.scope", "/libpod-<id>", the
 * "containers/<id>/" of a bind-mounted hostname file). */
static bool find_id(const char *path, const char *near, char out[65])
{
	char line[4096];
	FILE *f = fopen(path, "re");
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (near && !strstr(line, near))
			continue;
		for (char *p = line; *p && !found; p++)
			if ((p == line || !isxdigit((unsigned char)p[-1])) &&
			    strlen(p) >= 64 && hex64_at(p)) {
				memcpy(out, p, 64);
				out[64] = 0;
				found = true;
			}
	}
	fclose(f);
	return found;
}

void sr_identity_init(void)
{
	const char *v = getenv("SPANRING_HOST_NAME");
	char host[256] = "";
	struct stat st;

	nattrs = 0;
	enabled = true;
	if (!v || !*v) {
		if (gethostname(host, sizeof(host) - 1) == 0)
			v = host;
	}
	add("host.name", v);
	add("k8s.namespace.name", getenv("SPANRING_K8S_NAMESPACE"));
	add("k8s.pod.name", getenv("SPANRING_K8S_POD_NAME"));
	add("k8s.pod.uid", getenv("SPANRING_K8S_POD_UID"));
	add("k8s.node.name", getenv("SPANRING_K8S_NODE_NAME"));
	add("k8s.container.name", getenv("SPANRING_K8S_CONTAINER_NAME"));
	own_pidns = stat("/proc/self/ns/pid", &st) == 0 ? (uint64_t)st.st_ino
							: 0;
	v = getenv("SPANRING_CONTAINER_ID");
	own_cid[0] = 0;
	cid_configured = v && *v;
	if (cid_configured) {
		add("container.id", v);
	} else if (!find_id("/proc/self/cgroup", NULL, own_cid) &&
		   !find_id("/proc/self/mountinfo", "containers/", own_cid)) {
		own_cid[0] = 0;
	}
}

size_t sr_identity_attrs(const struct sr_ident_attr **out)
{
	*out = attrs;
	return nattrs;
}

const char *sr_identity_container(uint64_t pidns)
{
	if (cid_configured)
		return NULL; /* among the attributes already */
	return own_cid[0] && pidns && pidns == own_pidns ? own_cid : NULL;
}

size_t sr_identity_members(char *buf, size_t n, uint64_t pidns)
{
	const char *cid = sr_identity_container(pidns);
	struct sr_jw w;
	char num[24];

	if (!enabled)
		return 0;
	sr_jw_init(&w, buf, n);
	for (size_t i = 0; i < nattrs; i++)
		sr_jw_member_cstr(&w, attrs[i].key, attrs[i].value);
	if (cid)
		sr_jw_member_cstr(&w, "container.id", cid);
	if (pidns) {
		snprintf(num, sizeof(num), "%llu", (unsigned long long)pidns);
		sr_jw_member_cstr(&w, "process.pid_namespace", num);
	}
	return w.overflow ? 0 : w.len;
}
