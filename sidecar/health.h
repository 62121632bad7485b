/* SPDX-License-Identifier: MIT */
/*
 * health.h - `spanringd --check`: an exec probe for an orchestrator
 * (Kubernetes livenessProbe / readinessProbe, podman healthcheck). It
 * reads the stats file the running sidecar rewrites every second.
 */
#ifndef SR_SD_HEALTH_H
#define SR_SD_HEALTH_H

#include <stdio.h>

/*
 * Checks the sidecar that writes `stats_file` and prints one line to
 * `out`. Returns 0 when it is well: the file is at most `max_age`
 * seconds old and reports no error; 69 (EX_UNAVAILABLE)
 * when the file is missing, unreadable or stale (not running, hung);
 * 77 (EX_NOPERM) when it reports rings or ring directories it cannot
 * read (rings_unreadable, dirs_unreadable); 74 (EX_IOERR) when hand-offs
 * to the spool fail (spool_failing).
 */
int sr_health_check(const char *stats_file, double max_age, FILE *out);

#endif /* SR_SD_HEALTH_H */
