/* SPDX-License-Identifier: MIT */
/*
 * identity.h - where spans come from. pids are namespace-local (1 in
 * every container), so every item the sidecar exports says which host,
 * pod and pid namespace it came from (sidecar/README.md, "Identity").
 *
 * The attributes use OpenTelemetry resource attribute names; the OTLP
 * exporter can send sr_identity_attrs() as the resource and
 * process.pid_namespace (and container.id when it applies, see
 * sr_identity_container()) per ring. Read once at start; read-only
 * afterwards, so any thread may use them.
 */
#ifndef SR_SD_IDENTITY_H
#define SR_SD_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "common/limits.h"

struct sr_ident_attr {
	const char *key;                /* e.g. "k8s.pod.name" */
	char value[SR_IDENT_VALUE_MAX]; /* non-empty */
};

/*
 * Reads the identity: host.name ($SPANRING_HOST_NAME or the host name),
 * k8s.pod.name, k8s.namespace.name, k8s.pod.uid, k8s.node.name,
 * k8s.container.name ($SPANRING_K8S_POD_NAME, _NAMESPACE, _POD_UID,
 * _NODE_NAME, _CONTAINER_NAME: the downward API), container.id
 * ($SPANRING_CONTAINER_ID, else found in /proc/self/cgroup or
 * /proc/self/mountinfo) and the sidecar's own pid namespace inode.
 * Never fails: what is unknown is left out.
 */
void sr_identity_init(void);

/* The attributes that hold for every ring (container.id is not among
 * them unless it came from $SPANRING_CONTAINER_ID). Returns the count,
 * *out the array. */
size_t sr_identity_attrs(const struct sr_ident_attr **out);

/* The container id of a ring whose owner lives in pid namespace `pidns`:
 * the sidecar's own when they share it (or the configured one), else
 * NULL (another container: unknown here). */
const char *sr_identity_container(uint64_t pidns);

/*
 * JSON object members (no braces, values are strings) naming where a
 * ring's items come from: the attributes, container.id when known, and
 * "process.pid_namespace" (the owner's pid namespace inode, decimal) when
 * nonzero. Writes at most n bytes; returns the length (0 if nothing, if
 * it would not fit, or before sr_identity_init(): --identity no).
 */
size_t sr_identity_members(char *buf, size_t n, uint64_t pidns);

#endif /* SR_SD_IDENTITY_H */
