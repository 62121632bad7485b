/* SPDX-License-Identifier: MIT */
/* An empty library: preloaded by bench_startup (B3) to measure what any
 * LD_PRELOAD costs a process start, beside what the shim adds. */
int sr_empty_preload_marker;
int sr_empty_preload_marker = 1;
