/* SPDX-License-Identifier: MIT */
/*
 * process.c - start and end of a traced image, and a fork child's rebirth.
 *
 * The constructor decides whether this image records (SPANRING_DISABLE,
 * secure execution, a usable ring directory with room), reads the incoming
 * context, creates the ring and writes PROCESS, TRACE (only when no
 * spanring ancestor did) and the process SPAN_START. The process span ends
 * in an on_exit() handler (exit, return from main) or the _exit/_Exit
 * hooks; a crash leaves it open for the sidecar to close.
 */
#include "process.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/context.h"
#include "common/dec.h"
#include "common/ids.h"
#include "common/jsonscan.h"
#include "common/jsonw.h"
#include "common/limits.h"
#include "common/ringdir.h"
#include "real.h"
#include "shim.h"

/* What every start writes, in one block: each first touch of a page of
 * this library's data is a page fault (2-4 us on these VMs). Small fields
 * first, then the texts, of which only the bytes in use are touched: one
 * page for all of it. In .data (SHIM_START_DATA, shim.h says why). */
static struct {
	/* who this image is, read once per image (fork child: again) */
	struct {
		uint32_t pid, ppid, uid;
		uint64_t pidns; /* pid namespace inode, 0 unknown */
	} self;
	uint64_t proc_start_ns;
	uint64_t fork_ns; /* when a fork child that has no ring yet was born */
	_Atomic bool proc_ended; /* the process span was ended */
	const char *trace_argv0; /* of the TRACE record left to write */
	int clock_slot; /* img.carry[] index of SPANRING_CLOCK, -1: none */
	uint32_t cfg_lanes, cfg_lane_size;
	uint32_t cfg_max_rings; /* 0: SR_DIR_MAX_RINGS */
	bool dir_explicit;      /* from SPANRING_DIR: never created */
	unsigned ncarry;
	size_t carry_used;
	char *carry_buf; /* in text, after the directory's path */
	const char *carry[SR_CARRY_MAX];
	char pidns_env[64]; /* "SPANRING_PIDNS=<pid>:<inode>" for children */
	char inherited_tp[128];    /* TRACEPARENT at start, "" if none */
	char exe_path[SR_EXE_MAX]; /* as /proc/self/exe names it */
	char argv_json[SR_ARGV_JSON_MAX];
	/* last: the ring directory's path, then the carried "NAME=value"
	 * texts */
	union {
		char dir_path[PATH_MAX];
		char text[PATH_MAX + SR_CARRY_TEXT_MAX];
	};
} img SHIM_START_DATA;

static char lib_path[PATH_MAX]; /* this library, absolute, if needed */

/* Variables a child needs to be traced the same way (shim_carry_env). */
static const char *const carried[] = {
	"SPANRING_DIR",
	"SPANRING_HOOKS",
	"SPANRING_DEBUG",
	"SPANRING_LANES",
	"SPANRING_LANE_SIZE",
	"SPANRING_MAX_RINGS",
#if defined(__SANITIZE_ADDRESS__)
	/* an ASan build of the shim needs its runtime's options too */
	"ASAN_OPTIONS",
#endif
};

/* --- configuration ------------------------------------------------------ */

static void carry_add(const char *name, const char *val)
{
	size_t need = strlen(name) + strlen(val) + 2;
	char *p = img.carry_buf + img.carry_used;

	if (img.ncarry >= sizeof(img.carry) / sizeof(img.carry[0]) ||
	    img.carry_used + need >
		    (size_t)(img.text + sizeof(img.text) - img.carry_buf))
		return;
	/* no stdio at start (common/dec.h says why) */
	p = stpcpy(p, name);
	*p++ = '=';
	strcpy(p, val);
	img.carry[img.ncarry++] = img.carry_buf + img.carry_used;
	img.carry_used += need;
}

/* The file this library was loaded from, as the loader names it, or "":
 * the object whose loaded segments hold this function. dl_iterate_phdr
 * rather than dladdr, which also searches the symbol table for the
 * nearest symbol (and touches its pages). */
struct self_object {
	uintptr_t addr;
	const char *name;
};

static int find_self(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct self_object *o = arg;

	(void)size;
	for (size_t i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type == PT_LOAD && o->addr >= lo &&
		    o->addr - lo < ph->p_memsz) {
			o->name = info->dlpi_name ? info->dlpi_name : "";
			return 1;
		}
	}
	return 0;
}

/* LD_PRELOAD for children: ours when it names this library, else just
 * this library's absolute path (linked directly, or loaded by another
 * path). */
static void carry_init(void)
{
	const char *pre = getenv("LD_PRELOAD");
	struct self_object o = { (uintptr_t)(void *)carry_init, "" };
	const char *base;

	/* written before anything reads them: a first read of a zero page
	 * would map it only for the first write to fault again */
	img.ncarry = 0;
	img.carry_used = 0;
	/* the carried texts follow the directory's path in img.text */
	img.carry_buf = img.dir_path + strlen(img.dir_path) + 1;
	dl_iterate_phdr(find_self, &o);
	base = strrchr(o.name, '/');
	base = base ? base + 1 : o.name;
	if (pre && *base && strstr(pre, base)) {
		carry_add("LD_PRELOAD", pre);
	} else if (*o.name) {
		if (!realpath(o.name, lib_path))
			snprintf(lib_path, sizeof(lib_path), "%s", o.name);
		carry_add("LD_PRELOAD", lib_path);
	}
	/* the decision, not the request: children need not ask again. Its
	 * value is set when the list is handed out (shim_carry_env): the
	 * clock may not be decided yet. */
	img.clock_slot = (int)img.ncarry;
	carry_add("SPANRING_CLOCK", "realtime");
	if (img.ncarry == (unsigned)img.clock_slot)
		img.clock_slot = -1;
	for (size_t i = 0; i < sizeof(carried) / sizeof(carried[0]); i++) {
		const char *v = getenv(carried[i]);

		/* a descriptor number means nothing in a child */
		if (v && !(strcmp(carried[i], "SPANRING_DEBUG") == 0 &&
			   strncmp(v, "fd:", 3) == 0))
			carry_add(carried[i], v);
	}
}

unsigned shim_carry_env(const char **out, unsigned max)
{
	unsigned n = img.ncarry < max ? img.ncarry : max;

	memcpy(out, img.carry, n * sizeof(*out));
	if (img.clock_slot >= 0 && (unsigned)img.clock_slot < n)
		out[img.clock_slot] = shim_clock_decide()
					      ? "SPANRING_CLOCK=tsc"
					      : "SPANRING_CLOCK=realtime";
	return n;
}

/* Parses a decimal env value; false (and a debug line) if malformed. */
static bool env_u32(const char *name, uint32_t *out)
{
	const char *v = getenv(name);
	char *end;
	unsigned long x;

	if (!v || !*v)
		return true;
	errno = 0;
	x = strtoul(v, &end, 0);
	if (errno || *end || x == 0 || x > UINT32_MAX) {
		shim_debug("%s=%s: not a positive number, ignored", name, v);
		return false;
	}
	*out = (uint32_t)x;
	return true;
}

static unsigned parse_hooks(const char *v)
{
	static const struct {
		const char *name;
		unsigned bit;
	} groups[] = {
		{ "process", SHIM_HOOK_PROCESS }, { "exec", SHIM_HOOK_EXEC },
		{ "net", SHIM_HOOK_NET },         { "dns", SHIM_HOOK_DNS },
		{ "all", SHIM_HOOK_ALL },         { "none", 0 },
	};
	unsigned hooks = 0;

	if (!v)
		return SHIM_HOOK_ALL;
	while (*v) {
		size_t n = strcspn(v, ",");
		bool known = n == 0;

		for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
			if (strlen(groups[i].name) == n &&
			    strncmp(v, groups[i].name, n) == 0) {
				hooks |= groups[i].bit;
				known = true;
			}
		if (!known)
			shim_debug("SPANRING_HOOKS: unknown group '%.*s' ignored",
				   (int)n, v);
		v += n + (v[n] == ',');
	}
	return hooks;
}

static void config_init(void)
{
	uint32_t lanes = SR_RING_DEFAULT_LANES,
		 lane_size = SR_RING_DEFAULT_LANE_SIZE;

	shim.hooks = parse_hooks(getenv("SPANRING_HOOKS"));
	img.dir_explicit = getenv("SPANRING_DIR") && *getenv("SPANRING_DIR");
	/* the constructor runs before the program could change its euid */
	if (sr_dir_default_uid(img.dir_path, sizeof(img.dir_path),
			       (uint32_t)getauxval(AT_EUID)) < 0)
		img.dir_path[0] = 0;
	if (env_u32("SPANRING_LANES", &lanes) &&
	    env_u32("SPANRING_LANE_SIZE", &lane_size) &&
	    sr_ring_geometry_ok(lanes, lane_size)) {
		img.cfg_lanes = lanes;
		img.cfg_lane_size = lane_size;
	} else {
		img.cfg_lanes = SR_RING_DEFAULT_LANES;
		img.cfg_lane_size = SR_RING_DEFAULT_LANE_SIZE;
		shim_debug("SPANRING_LANES/SPANRING_LANE_SIZE out of range "
			   "(lanes %u..%u, lane size a power of two %u..%u): "
			   "defaults used",
			   SR_RING_MIN_LANES, SR_RING_MAX_LANES,
			   SR_RING_MIN_LANE_SIZE, SR_RING_MAX_LANE_SIZE);
	}
	env_u32("SPANRING_MAX_RINGS", &img.cfg_max_rings);
	shim_clock_init();
}

/* --- incoming context --------------------------------------------------- */

struct incoming {
	uint8_t trace[16];
	uint8_t parent[12];
	bool linked;   /* a parent span was given */
	bool ancestor; /* a spanring ancestor wrote the TRACE record */
};

static void incoming_init(struct incoming *in)
{
	const char *cv = getenv("SPANRING_CONTEXT");
	const char *tv = getenv("TRACEPARENT");
	uint8_t ct[16], cs[12], tt[16], ts[8];
	bool c_ok = sr_context_parse(cv, ct, cs);
	bool t_ok = sr_traceparent_parse(tv, tt, ts);

	/* kept to tell it from one the program gives a child (envp.c) */
	if (tv) {
		size_t n = strnlen(tv, sizeof(img.inherited_tp) - 1);

		memcpy(img.inherited_tp, tv, n);
		img.inherited_tp[n] = 0;
	}

	memset(in, 0, sizeof(*in));
	if (cv && !c_ok)
		shim_debug("SPANRING_CONTEXT=%.80s: malformed, ignored", cv);
	if (tv && !t_ok)
		shim_debug("TRACEPARENT=%.80s: malformed, ignored", tv);
	if (c_ok && (!t_ok || memcmp(tt, ct, 16) == 0)) {
		memcpy(in->trace, ct, 16);
		memcpy(in->parent, cs, 12);
		in->linked = in->ancestor = true;
		/* another tool between us and the spanring ancestor made a
		 * span of its own in the same trace: it is our parent */
		if (t_ok && memcmp(ts, cs + 4, 8) != 0)
			memcpy(in->parent + 4, ts, 8), memset(in->parent, 0, 4);
	} else if (t_ok) {
		memcpy(in->trace, tt, 16);
		memcpy(in->parent + 4, ts, 8);
		in->linked = true;
	} else {
		sr_id_random(in->trace, 16);
	}
}

/* --- ring and records --------------------------------------------------- */

static uint64_t pidns_inode(void)
{
	struct stat st;

	return stat("/proc/self/ns/pid", &st) == 0 ? (uint64_t)st.st_ino : 0;
}

/* SPANRING_PIDNS=<pid>:<inode> as written by a spanring image for its
 * exec or spawn: true (and *ino) if it came from this process before an
 * exec (pid = ours) or from our parent (pid = getppid(), which is 0 when
 * the parent is outside our pid namespace). */
static bool pidns_from_env(uint64_t *ino)
{
	const char *v = getenv("SPANRING_PIDNS"), *end;
	uint64_t pid, x;

	if (!v)
		return false;
	end = sr_dec_parse(v, &pid);
	if (!end || *end != ':' || pid == 0 || pid > UINT32_MAX)
		goto bad;
	end = sr_dec_parse(end + 1, &x);
	if (!end || *end || x == 0)
		goto bad;
	if (pid != img.self.pid && pid != img.self.ppid)
		return false;
	*ino = x;
	return true;
bad:
	shim_debug("SPANRING_PIDNS=%.40s: malformed, ignored", v);
	return false;
}

/* Reads the image's identity; true if /proc was used. The pid namespace inode costs a /proc
 * lookup (~15 us, the first in a process), so it is taken from the image
 * that made this one when that is known to share our namespace: a fork
 * child that still sees its parent (getppid() != 0; a child in a new
 * namespace cannot see a parent outside it) keeps the parent's, an exec'd
 * or spawned image reads SPANRING_PIDNS (see pidns_from_env). */
static bool self_init(bool fork_child)
{
	bool proc = false;
	uint64_t ino = 0;

	img.self.pid = (uint32_t)getpid();
	shim.pid = img.self.pid;
	img.self.ppid = (uint32_t)getppid();
	/* an exec'd image's is in the auxiliary vector (no system call);
	 * a fork child may be of a process that changed it since */
	img.self.uid = fork_child ? (uint32_t)getuid()
				  : (uint32_t)getauxval(AT_UID);
	if (fork_child && img.self.ppid != 0 && img.self.pidns != 0)
		ino = img.self.pidns;
	else if (fork_child || !pidns_from_env(&ino))
		ino = pidns_inode(), proc = true;
	img.self.pidns = ino;
	img.pidns_env[0] = 0;
	if (ino) {
		/* "SPANRING_PIDNS=<pid>:<inode>", no stdio (common/dec.h) */
		char *p = stpcpy(img.pidns_env, "SPANRING_PIDNS=");

		p += sr_dec_fmt(p, img.self.pid);
		*p++ = ':';
		p += sr_dec_fmt(p, ino);
		*p = 0;
	}
	return proc;
}

const char *shim_pidns_env(void)
{
	return img.pidns_env[0] ? img.pidns_env : NULL;
}

/* Opens the ring directory and creates this image's ring in it. A
 * directory refused as unsafe is counted where the sidecar reads it.
 * `exec`: the constructor of an exec'd image, whose effective ids are
 * still the ones the kernel put in the auxiliary vector (a fork child's
 * may have changed since its image started). */
static int ring_open(bool exec)
{
	struct sr_ring_params p = {
		.lanes = img.cfg_lanes,
		.lane_size = img.cfg_lane_size,
		.pid = img.self.pid,
		.ppid = img.self.ppid,
		.uid = img.self.uid,
		.start_ns = img.proc_start_ns,
		.pidns = img.self.pidns,
		.exe = img.exe_path,
		.trace_id = shim.trace_id,
		.span_id = shim.proc_span,
		/* undecided: the ring may come to hold TSC stamps */
		.clock_tsc = shim.clock != SHIM_CLOCK_REALTIME,
	};
	char why[256], name[SR_RING_NAME_MAX];
	struct sr_dir d;
	uint8_t nonce[8];
	int rc;

	rc = sr_dir_open_as(img.dir_path,
			    SR_DIR_PRODUCER |
				    (img.dir_explicit ? 0 : SR_DIR_CREATE) |
				    (exec ? SR_DIR_EXEC_IDS : 0),
			    &d, why, sizeof(why));
	if (rc < 0) {
		shim_debug("untraced: ring directory unusable: %s", why);
		if (rc != -ENOENT)
			sr_dir_count_untraced(img.dir_path);
		return rc;
	}
	if (!sr_dir_open_has_room(&d, SR_DIR_MIN_FREE, img.cfg_max_rings)) {
		sr_dir_count_refused(d.fd);
		sr_dir_close(&d);
		shim_debug("untraced: ring directory %s is full (cap reached)",
			   img.dir_path);
		return -ENOSPC;
	}
	p.mode = d.ring_mode;
	p.chgrp = d.ring_chgrp;
	p.gid = d.ring_gid;
	sr_id_random(nonce, sizeof(nonce));
	sr_ring_name(name, p.pid, nonce,
		     sr_ring_file_size(img.cfg_lanes, img.cfg_lane_size,
				       SR_RING_SPILL_SIZE));
	rc = sr_ring_create(&shim.ring, d.fd, name, &p);
	sr_dir_close(&d);
	if (rc < 0) {
		shim_debug("untraced: cannot create ring in %s: %s",
			   img.dir_path, strerror(-rc));
		return rc;
	}
	return 0;
}

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');

	return b ? b + 1 : path;
}

static void write_process_record(void)
{
	struct sr_process_rec pr = {
		.pid = img.self.pid,
		.ppid = img.self.ppid,
		.uid = img.self.uid,
		.start_ns = img.proc_start_ns,
		.exe = { img.exe_path, (uint32_t)strlen(img.exe_path) },
	};
	uint8_t buf[SR_EXE_MAX + 64];
	struct sr_resv rv;
	bool cut = false;
	uint32_t n = sr_process_encode(buf, sizeof(buf), &pr, &cut);
	void *p;

	if (!shim_thr.prod.tid)
		shim_thr.prod.tid = img.self.pid;
	p = sr_ring_reserve(&shim.ring, &shim_thr.prod, n + 8, &rv);
	if (!p)
		return;
	memcpy(p, buf, n);
	sr_ring_commit(&shim.ring, &shim_thr.prod, &rv, SR_REC_PROCESS,
		       cut ? SR_RF_TRUNCATED : 0);
}

/* The TRACE record of a trace this image starts. When nothing is
 * recorded at start (no process span) it waits (img.trace_argv0) for the
 * first span, so a process that records none exports no empty trace
 * object. */

static void write_trace_record(const char *argv0)
{
	const char *wf = getenv("SPANRING_WORKFLOW");
	const char *gid = getenv("SPANRING_GROUP_ID");
	const char *md = getenv("SPANRING_METADATA");
	struct sr_trace_rec t = { .ts_ns = img.proc_start_ns };

	if (!wf || !*wf)
		wf = base_name(argv0 && *argv0 ? argv0 : img.exe_path);
	if (md && !sr_json_object_ok(md, strlen(md))) {
		shim_debug("SPANRING_METADATA: not a JSON object, ignored");
		md = NULL;
	}
	memcpy(t.trace_id, shim.trace_id, 16);
	/* cut like the C API's names: at a character boundary, flagged */
	t.workflow.p = wf;
	t.workflow.n = sr_utf8_prefix(wf, strnlen(wf, SR_API_NAME_MAX + 1),
				      SR_API_NAME_MAX);
	t.cut = wf[t.workflow.n] != 0;
	if (gid) {
		t.group_id.p = gid;
		t.group_id.n = sr_utf8_prefix(gid,
					      strnlen(gid, SR_API_NAME_MAX + 1),
					      SR_API_NAME_MAX);
		t.cut |= gid[t.group_id.n] != 0;
	}
	if (md)
		t.metadata = (struct sr_str){ md, (uint32_t)strlen(md) };
	shim_emit_trace(&t);
}

static void argv_json_init(char **argv)
{
	struct sr_jw w;

	sr_jw_init(&w, img.argv_json, sizeof(img.argv_json));
	shim_jw_argv(&w, argv, sizeof(img.argv_json) - 1);
	sr_jw_cstr(&w);
}

static void write_process_start(void)
{
	char data[SR_ARGV_JSON_MAX + SR_EXE_MAX * 2 + 256];
	struct sr_span_rec s = { .flags = SR_SF_PROCESS,
				 .start_ns = img.proc_start_ns };
	struct sr_jw w;

	sr_jw_init(&w, data, sizeof(data));
	sr_jw_lit(&w, "{");
	sr_jw_member_i64(&w, "process.pid", img.self.pid);
	sr_jw_member_i64(&w, "process.parent_pid", img.self.ppid);
	sr_jw_member_cstr(&w, "process.executable.path", img.exe_path);
	sr_jw_member_cstr(&w, "process.executable.name",
			  base_name(img.exe_path));
	sr_jw_member_lit(&w, "process.command_args", img.argv_json);
	sr_jw_member_i64(&w, "process.owner", img.self.uid);
	sr_jw_lit(&w, "}");
	memcpy(s.trace_id, shim.trace_id, 16);
	memcpy(s.span_id, shim.proc_span, 12);
	memcpy(s.parent_id, shim.self_parent, 12);
	if (sr_id_is_zero(s.parent_id, 12))
		s.flags |= SR_SF_ROOT;
	s.name = (struct sr_str){ "process", 7 };
	s.data = (struct sr_str){ data, (uint32_t)w.len };
	shim_emit_span(SR_REC_SPAN_START, &s);
}

static void write_vfork_span(void);

/* Creates the ring and the records every image starts with. */
static void image_start(bool exec, bool new_trace, const char *argv0,
			uint64_t start_ns)
{
	img.proc_start_ns = start_ns;
	if (shim.hooks & SHIM_HOOK_PROCESS) {
		shim_new_span_id(shim.proc_span);
		memcpy(shim.self_span, shim.proc_span, 12);
	} else {
		memset(shim.proc_span, 0, 12);
		memcpy(shim.self_span, shim.self_parent, 12);
	}
	if (ring_open(exec) < 0)
		return;
	shim.recording = true;
	write_process_record();
	if (new_trace && (shim.hooks & SHIM_HOOK_PROCESS)) {
		write_trace_record(argv0);
	} else if (new_trace) {
		img.trace_argv0 = argv0;
		/* publishes img.trace_argv0; pairs with the exchange (seq_cst) in
		 * process.c:shim_trace_flush */
		atomic_store(&shim.trace_pending, true);
	}
	if (exec)
		write_vfork_span();
	if (shim.hooks & SHIM_HOOK_PROCESS)
		write_process_start();
}

void shim_trace_flush(void)
{
	if (atomic_exchange(&shim.trace_pending, false))
		write_trace_record(img.trace_argv0);
}

/* --- end of the image --------------------------------------------------- */

/* "<sec>.<usec>" of a timeval, as a JSON number. */
static void jw_seconds(struct sr_jw *w, const struct timeval *tv)
{
	char frac[8];
	long us = tv->tv_usec;

	sr_jw_i64(w, tv->tv_sec);
	frac[0] = '.';
	for (int i = 6; i >= 1; i--, us /= 10)
		frac[i] = (char)('0' + us % 10);
	sr_jw_raw(w, frac, 7);
}

static size_t end_data(char *buf, size_t n, int code, int sig)
{
	struct rusage ru;
	struct sr_jw w;

	sr_jw_init(&w, buf, n);
	sr_jw_lit(&w, "{");
	if (sig > 0) {
		sr_jw_member(&w, "process.exit.signal");
		shim_jw_signal(&w, sig);
	} else {
		sr_jw_member_i64(&w, "process.exit.code", code);
	}
	/* no system call once sandboxed: the filter may forbid it */
	if (!shim.sandboxed && getrusage(RUSAGE_SELF, &ru) == 0) {
		sr_jw_member(&w, "process.cpu.user_time");
		jw_seconds(&w, &ru.ru_utime);
		sr_jw_member(&w, "process.cpu.system_time");
		jw_seconds(&w, &ru.ru_stime);
		sr_jw_member_i64(&w, "process.memory.peak_rss",
				 (int64_t)ru.ru_maxrss * 1024);
	}
	sr_jw_lit(&w, "}");
	return w.len;
}

void shim_process_end(int code, int sig, bool from_exit_call)
{
	struct sr_span_rec s = { .flags = SR_SF_PROCESS };
	/* small enough for the lane's reserve (SR_RING_LAST_RESERVE) */
	char data[256];
	int saved = errno;

	/* a vfork child's _exit is not the end of the process it borrowed
	 * its memory from */
	if (from_exit_call && shim_in_shared_child())
		goto out;
	/* a fork child that recorded nothing: its ring and process span now,
	 * so its end (and exit code) is recorded as before */
	if (shim.pending)
		shim_materialize();
	if (!shim.recording || sr_id_is_zero(shim.proc_span, 12) ||
	    atomic_exchange(&img.proc_ended, true))
		goto out;
	memcpy(s.trace_id, shim.trace_id, 16);
	memcpy(s.span_id, shim.proc_span, 12);
	memcpy(s.parent_id, shim.self_parent, 12);
	s.end_ns = sr_now_ns();
	s.name = (struct sr_str){ "process", 7 };
	s.data.p = data;
	s.data.n = (uint32_t)end_data(data, sizeof(data), code, sig);
	shim_thr.guard++;
	shim_emit_span_last(&s);
	shim_thr.guard--;
	/* informational (spanring-dump's copy of the header): no reader
	 * orders anything on it, the end record is published by the
	 * store-release of its lane's head */
	atomic_fetch_or_explicit((_Atomic uint32_t *)&shim.ring.hdr->owner_flags,
				 SR_OWNER_EXITED, memory_order_relaxed);
out:
	errno = saved;
}

static void on_exit_handler(int status, void *arg)
{
	(void)arg;
	shim_process_end(status & 0xff, 0, false);
}

/* --- fork --------------------------------------------------------------- */

/* pthread_atfork child handler: every fork child, whether fork() came
 * through the hook (its span is the parent) or not (the process span is),
 * drops the parent's mapping before anything could write into it. When
 * process spans are recorded, its own ring waits for its first record or
 * its end (shim_materialize): a child that only execs makes none (the
 * exec'd image's process span is the fork span's child, and the pid lives
 * on in it), which halves the rings a shell loop makes. */
static void atfork_child(void)
{
	uint8_t zero[12] = { 0 };
	int saved = errno;

	if (!shim.recording && shim.pending && !shim.sandboxed) {
		/* a child of a child that made no ring yet: same pending
		 * state, its own pid and birth */
		shim.pid = (uint32_t)getpid();
		img.fork_ns = sr_now_ns();
		atomic_store(&img.proc_ended, false);
		goto out;
	}
	if (!shim.recording)
		goto out;
	shim_thr.guard++;
	shim.recording = false;
	if (shim.sandboxed) {
		/* no system call allowed: the child runs untraced, and keeps
		 * the parent's mapping (and its owner lock) until it execs or
		 * exits */
		sr_ring_forget(&shim.ring);
		shim_thr.guard--;
		goto out;
	}
	/* the mapping holds the parent's owner lock: drop it at once */
	sr_ring_close(&shim.ring);
	memset(&shim_thr.prod, 0, sizeof(shim_thr.prod));
	shim_api_reset(false);
	if (memcmp(shim_thr.fork_span, zero, 12) != 0) {
		memcpy(shim.self_parent, shim_thr.fork_span, 12);
		memcpy(shim.trace_id, shim_thr.fork_trace, 16);
	} else
		memcpy(shim.self_parent, shim.self_span, 12);
	memset(shim_thr.fork_span, 0, 12);
	/* the exit handler registered by the parent is inherited: it ends
	 * the new process span, so the once-flag must be fresh */
	atomic_store(&img.proc_ended, false);
	img.fork_ns = sr_now_ns();
	if (shim.hooks & SHIM_HOOK_PROCESS) {
		/* the exec hooks tell a vfork child by its pid */
		shim.pid = (uint32_t)getpid();
		atomic_store(&shim.pending, true);
	} else {
		/* no process span to hang an exec'd image under: the ring
		 * now, for the exec spans */
		self_init(true);
		sr_ids_reseed_pid(img.self.pid);
		image_start(false, false, NULL, img.fork_ns);
	}
	shim_thr.guard--;
out:
	errno = saved;
}

bool shim_materialize(void)
{
	int saved = errno;
	bool expected = true;

	/* not from a vfork child sharing our memory: the ring would be ours,
	 * named after it */
	if ((uint32_t)getpid() != shim.pid) {
		errno = saved;
		return false;
	}
	/* one thread makes it; a record racing on another is not written */
	if (!atomic_compare_exchange_strong(&shim.pending, &expected, false)) {
		errno = saved;
		return shim.recording;
	}
	shim_thr.guard++;
	self_init(true);
	sr_ids_reseed_pid(img.self.pid);
	image_start(false, false, NULL, img.fork_ns);
	shim_thr.guard--;
	errno = saved;
	return shim.recording;
}

const uint8_t *shim_pending_parent(void)
{
	return atomic_load_explicit(&shim.pending, memory_order_relaxed)
		       ? shim.self_parent
		       : NULL;
}

/* --- what children are told -------------------------------------------- */

const char *shim_inherited_traceparent(void)
{
	return img.inherited_tp;
}

bool shim_identity_changed(void)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;

	if (shim.sandboxed)
		return true;
	if (getresuid(&r, &e, &s) < 0 || getresgid(&rg, &eg, &sg) < 0)
		return true;
	return r != getauxval(AT_UID) || e != getauxval(AT_EUID) ||
	       rg != getauxval(AT_GID) || eg != getauxval(AT_EGID);
}

void shim_vfork_env(char *buf, uint32_t pid, uint64_t start_ns,
		    const uint8_t trace[16], const uint8_t span[12],
		    const uint8_t parent[12])
{
	char t[33], s[25], p[25];

	sr_hex(t, trace, 16);
	sr_hex(s, span, 12);
	sr_hex(p, parent, 12);
	snprintf(buf, SHIM_VFORK_ENV_MAX, "SPANRING_VFORK=%u:%llu:%s:%s:%s",
		 pid, (unsigned long long)start_ns, t, s, p);
}

/* An image a vfork child exec'd records the `spawn` span its parent's
 * child could not (SPANRING_VFORK, only when its pid is ours: the variable
 * may have been passed on further), ending now. */
static void write_vfork_span(void)
{
	const char *v = getenv("SPANRING_VFORK");
	char data[SR_ARGV_JSON_MAX + SR_EXE_MAX * 2 + 128];
	struct sr_span_rec s = { 0 };
	const char *end;
	uint64_t pid, start;
	struct sr_jw w;

	if (!v || !(shim.hooks & SHIM_HOOK_EXEC))
		return;
	end = sr_dec_parse(v, &pid);
	if (!end || *end != ':' || pid != img.self.pid)
		return;
	end = sr_dec_parse(end + 1, &start);
	if (!end || *end != ':' || strlen(end) != 1 + 32 + 1 + 24 + 1 + 24 ||
	    !sr_unhex(s.trace_id, end + 1, 16) ||
	    !sr_unhex(s.span_id, end + 34, 12) ||
	    !sr_unhex(s.parent_id, end + 59, 12) || start > img.proc_start_ns) {
		shim_debug("SPANRING_VFORK=%.140s: malformed, ignored", v);
		return;
	}
	sr_jw_init(&w, data, sizeof(data));
	sr_jw_lit(&w, "{");
	sr_jw_member_cstr(&w, "process.executable.path", img.exe_path);
	sr_jw_member_lit(&w, "process.command_args", img.argv_json);
	sr_jw_member_i64(&w, "process.child_pid", img.self.pid);
	sr_jw_lit(&w, "}");
	if (sr_id_is_zero(s.parent_id, 12))
		s.flags |= SR_SF_ROOT;
	s.start_ns = start;
	s.end_ns = img.proc_start_ns;
	s.name = (struct sr_str){ "spawn", 5 };
	s.data = (struct sr_str){ data, (uint32_t)w.len };
	shim_emit_span(SR_REC_SPAN, &s);
}

/* --- constructor -------------------------------------------------------- */

/* true if the file at `path` is the executable the kernel mapped: its
 * ELF header and program headers are those in memory (auxv), at the same
 * load bias. A script (the interpreter was mapped) or a file replaced
 * since the exec is not. */
static bool is_main_image(const char *path)
{
	const ElfW(Phdr) *mem = (const ElfW(Phdr) *)getauxval(AT_PHDR);
	size_t phnum = getauxval(AT_PHNUM), size = phnum * sizeof(*mem);
	union {
		ElfW(Ehdr) eh;
		char b[SR_EXE_HEAD_MAX];
	} u;
	uintptr_t bias = 0;
	bool phdr = false;
	ssize_t n;
	int fd;

	if (!mem || !phnum)
		return false;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = pread(fd, u.b, sizeof(u.b), 0);
	close(fd);
	if (n < (ssize_t)sizeof(u.eh) ||
	    memcmp(u.eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    u.eh.e_phentsize != sizeof(*mem) || u.eh.e_phnum != phnum ||
	    u.eh.e_phoff > (size_t)n || size > (size_t)n - u.eh.e_phoff ||
	    memcmp(u.b + u.eh.e_phoff, mem, size) != 0)
		return false;
	for (size_t i = 0; i < phnum; i++)
		if (mem[i].p_type == PT_PHDR) {
			bias = (uintptr_t)mem - mem[i].p_vaddr;
			phdr = true;
		}
	return phdr && bias + u.eh.e_entry == getauxval(AT_ENTRY);
}

/* The executable's path as /proc/self/exe names it. The first /proc
 * lookup of a process costs ~15 us: unless this image already paid it
 * (`proc_used`), the path the image was executed by (AT_EXECFN), made
 * absolute and free of symbolic links, is used when it names the mapped
 * executable; /proc/self/exe otherwise. */
static void exe_init(bool proc_used)
{
	const char *fn = (const char *)getauxval(AT_EXECFN);
	char real[PATH_MAX];
	ssize_t n;

	if (!proc_used && fn && realpath(fn, real) && is_main_image(real)) {
		/* cut as readlink() below would */
		n = (ssize_t)strnlen(real, sizeof(img.exe_path) - 1);
		memcpy(img.exe_path, real, (size_t)n);
		img.exe_path[n] = 0;
		return;
	}
	n = readlink("/proc/self/exe", img.exe_path, sizeof(img.exe_path) - 1);
	img.exe_path[n > 0 ? n : 0] = 0;
}

static bool tracing_refused(void)
{
	const char *d = getenv("SPANRING_DISABLE");

	if (d && strcmp(d, "1") == 0) {
		shim_debug("untraced: SPANRING_DISABLE=1");
		return true;
	}
	if (getauxval(AT_SECURE)) {
		shim_debug("untraced: secure execution (setuid/setgid)");
		return true;
	}
	return false;
}

__attribute__((constructor)) static void shim_init(int argc, char **argv,
						   char **envp)
{
	struct incoming in;
	int saved = errno;

	(void)envp;
	/* held while starting: hooks reached from here (close) pass through,
	 * closing the shim's own descriptors without resolving libc's close */
	shim_thr.guard++;
	shim_debug_set(getenv("SPANRING_DEBUG"));
	if (tracing_refused())
		goto out;
	config_init();
	carry_init();
	exe_init(self_init(false));
	/* seeded with the pid at hand: no getpid() on first use */
	sr_ids_reseed_pid(img.self.pid);
	argv_json_init(argv);
	incoming_init(&in);
	memcpy(shim.trace_id, in.trace, 16);
	memcpy(shim.self_parent, in.parent, 12);
	image_start(true, !in.ancestor, argc > 0 && argv ? argv[0] : NULL,
		    sr_now_ns());
	if (!shim.recording)
		goto out;
	pthread_atfork(NULL, NULL, atfork_child);
	on_exit(on_exit_handler, NULL);
out:
	shim_thr.guard--;
	errno = saved;
}
