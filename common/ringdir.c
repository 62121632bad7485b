/* SPDX-License-Identifier: MIT */
#include "common/limits.h"
#include "ringdir.h"

#include <dirent.h>
#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dec.h"
#include "ids.h"
#include "why.h"

/* No stdio here: the shim calls this at every start (dec.h says why). */
int sr_dir_default_uid(char *buf, size_t n, uint32_t euid)
{
	static const char base[] = "/dev/shm/spanring-";
	const char *env = getenv("SPANRING_DIR");
	char num[SR_DEC_MAX];
	size_t len, k;

	if (env && *env) {
		len = strlen(env);
		if (len >= n)
			return -ENAMETOOLONG;
		memcpy(buf, env, len + 1);
		return 0;
	}
	k = sr_dec_fmt(num, euid);
	len = sizeof(base) - 1 + k;
	if (len >= n)
		return -ENAMETOOLONG;
	memcpy(buf, base, sizeof(base) - 1);
	memcpy(buf + sizeof(base) - 1, num, k);
	buf[len] = 0;
	return 0;
}

int sr_dir_default(char *buf, size_t n)
{
	return sr_dir_default_uid(buf, n, (uint32_t)geteuid());
}

/* The effective ids to check against: the ones the kernel gave this image
 * at exec (auxiliary vector, no system call) with SR_DIR_EXEC_IDS. */
static uid_t my_euid(unsigned flags)
{
	return flags & SR_DIR_EXEC_IDS ? (uid_t)getauxval(AT_EUID) : geteuid();
}

static gid_t my_egid(unsigned flags)
{
	return flags & SR_DIR_EXEC_IDS ? (gid_t)getauxval(AT_EGID) : getegid();
}

/* true if the process belongs to group g (egid or supplementary). No
 * allocation: the shim calls this at start-up. */
static bool in_group(gid_t g, unsigned flags)
{
	gid_t list[SR_GROUPS_MAX];
	int n;

	if (g == my_egid(flags))
		return true;
	n = getgroups((int)(sizeof(list) / sizeof(list[0])), list);
	for (int i = 0; i < n; i++)
		if (list[i] == g)
			return true;
	return false;
}

/* The kind of the named directory open at fd, or -errno with why. */
static int classify(int fd, const char *path, unsigned flags, struct sr_dir *d,
		    char *why, size_t n)
{
	struct stat st;
	uid_t me = my_euid(flags);
	bool root_reads = (flags & SR_DIR_CONSUMER) && me == 0;

	if (fstat(fd, &st) < 0)
		return sr_why(why, n, -errno, "%s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return sr_why(why, n, -ENOTDIR, "%s: not a directory", path);
	d->size = (uint64_t)st.st_size;
	d->ring_mode = 0600;
	d->ring_chgrp = false;
	d->ring_gid = (uint32_t)st.st_gid;
	if (st.st_mode & S_IWOTH) {
		d->kind = SR_DIR_VOLUME;
		return 0;
	}
	if (st.st_mode & S_IWGRP) {
		if (!in_group(st.st_gid, flags) && !root_reads)
			return sr_why(why, n, -EPERM,
				      "%s: writable by group %u (mode %o), which "
				      "uid %u is not in",
				      path, (unsigned)st.st_gid,
				      (unsigned)(st.st_mode & 07777),
				      (unsigned)me);
		d->kind = SR_DIR_GROUP;
		d->ring_mode = 0660;
		d->ring_chgrp = !(st.st_mode & S_ISGID);
		return 0;
	}
	if (st.st_uid != me && !root_reads)
		return sr_why(why, n, -EPERM, "%s: owned by uid %u, not %u",
			      path, (unsigned)st.st_uid, (unsigned)me);
	d->kind = SR_DIR_PRIVATE;
	return 0;
}

static int open_nofollow(int at, const char *path, const char *shown, char *why,
			 size_t n)
{
	int fd = openat(at, path,
			O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;

	if (fd >= 0)
		return fd;
	if ((errno == ELOOP || errno == ENOTDIR) &&
	    fstatat(at, path, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISLNK(st.st_mode))
		return sr_why(why, n, -ELOOP, "%s: is a symlink, refused",
			      shown);
	return sr_why(why, n, -errno, "%s: %s", shown, strerror(errno));
}

/*
 * The producer's uid-<euid>/ of a VOLUME. mkdirat() never follows a
 * planted symlink, and what is opened is checked by its descriptor: owned
 * by us, not writable by others. A directory we just made gets its mode
 * exactly (the umask would take the group's write bit): 2770 of the
 * volume's group when we belong to it, so a sidecar of that group can
 * read the rings and remove them, else 0700.
 */
static int open_own_sub(struct sr_dir *d, const char *path, unsigned flags,
			char *why, size_t n)
{
	char name[32], shown[PATH_MAX];
	bool group = in_group((gid_t)d->ring_gid, flags), made;
	uid_t me = my_euid(flags);
	struct stat st;
	int fd;

	snprintf(name, sizeof(name), SR_DIR_SUB_PREFIX "%u", (unsigned)me);
	snprintf(shown, sizeof(shown), "%s/%s", path, name);
	made = mkdirat(d->volfd, name, 0700) == 0;
	if (!made && errno != EEXIST)
		return sr_why(why, n, -errno, "%s: cannot create: %s", shown,
			      strerror(errno));
	fd = open_nofollow(d->volfd, name, shown, why, n);
	if (fd < 0)
		return fd;
	if (made && group &&
	    (fchown(fd, (uid_t)-1, (gid_t)d->ring_gid) < 0 ||
	     fchmod(fd, 02770) < 0)) {
		close(fd);
		return sr_why(why, n, -errno,
			      "%s: cannot share with group %u: %s", shown,
			      (unsigned)d->ring_gid, strerror(errno));
	}
	if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != me ||
	    (st.st_mode & S_IWOTH) ||
	    ((st.st_mode & S_IWGRP) && !in_group(st.st_gid, flags))) {
		close(fd);
		return sr_why(why, n, -EPERM,
			      "%s: not this uid's own directory (owner %u, "
			      "mode %o)",
			      shown, (unsigned)st.st_uid,
			      (unsigned)(st.st_mode & 07777));
	}
	d->fd = fd;
	d->size = (uint64_t)st.st_size;
	d->ring_gid = (uint32_t)st.st_gid;
	d->ring_mode = st.st_mode & S_IWGRP ? 0660 : 0600;
	d->ring_chgrp = (st.st_mode & S_IWGRP) && !(st.st_mode & S_ISGID);
	return 0;
}

int sr_dir_open_as(const char *path, unsigned flags, struct sr_dir *d,
		   char *why, size_t whylen)
{
	int fd, rc;

	if (why && whylen)
		why[0] = 0;
	d->fd = d->volfd = -1;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && (flags & SR_DIR_CREATE)) {
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return sr_why(why, whylen, -errno,
				      "%s: cannot create: %s", path,
				      strerror(errno));
	}
	if (fd < 0)
		fd = open_nofollow(AT_FDCWD, path, path, why, whylen);
	if (fd < 0)
		return fd;
	rc = classify(fd, path, flags, d, why, whylen);
	if (rc) {
		close(fd);
		return rc;
	}
	d->fd = fd;
	if (d->kind != SR_DIR_VOLUME || !(flags & SR_DIR_PRODUCER))
		return 0;
	d->volfd = fd;
	d->fd = -1;
	rc = open_own_sub(d, path, flags, why, whylen);
	if (rc)
		sr_dir_close(d);
	return rc;
}

void sr_dir_close(struct sr_dir *d)
{
	if (d->fd >= 0)
		close(d->fd);
	if (d->volfd >= 0)
		close(d->volfd);
	d->fd = d->volfd = -1;
}

int sr_dir_open(const char *path, bool create, char *why, size_t whylen)
{
	struct sr_dir d;
	int rc = sr_dir_open_as(path,
				SR_DIR_PRODUCER | (create ? SR_DIR_CREATE : 0),
				&d, why, whylen),
	    fd;

	if (rc)
		return rc;
	fd = d.fd;
	d.fd = -1;
	sr_dir_close(&d);
	return fd;
}

bool sr_dir_sub_parse(const char *name, uint32_t *uid)
{
	size_t pl = strlen(SR_DIR_SUB_PREFIX);
	unsigned long long v;
	char *end;

	if (strncmp(name, SR_DIR_SUB_PREFIX, pl) != 0 || name[pl] < '0' ||
	    name[pl] > '9' || strlen(name) > pl + 10)
		return false;
	v = strtoull(name + pl, &end, 10);
	if (*end || v > UINT32_MAX)
		return false;
	if (uid)
		*uid = (uint32_t)v;
	return true;
}

int sr_dir_open_sub(int dirfd, const char *name, char *why, size_t whylen)
{
	struct stat st;
	uint32_t uid;
	int fd;

	if (why && whylen)
		why[0] = 0;
	if (!sr_dir_sub_parse(name, &uid))
		return sr_why(why, whylen, -EINVAL, "%s: not a uid-<N> name",
			      name);
	fd = open_nofollow(dirfd, name, name, why, whylen);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0 || (st.st_uid != uid && st.st_uid != 0) ||
	    (st.st_mode & S_IWOTH)) {
		close(fd);
		return sr_why(why, whylen, -EPERM,
			      "%s: owned by uid %u, mode %o: not uid %u's own "
			      "directory",
			      name, (unsigned)st.st_uid,
			      (unsigned)(st.st_mode & 07777), (unsigned)uid);
	}
	return fd;
}

bool sr_ring_name_parse(const char *name, uint32_t *pid, uint64_t *bytes)
{
	const char *p = name;
	char *end;
	unsigned long long v;
	size_t len = strlen(name), slen = strlen(SR_RING_SUFFIX);

	if (len >= SR_RING_NAME_MAX || len <= slen ||
	    strcmp(name + len - slen, SR_RING_SUFFIX) != 0 ||
	    strncmp(p, "sr-", 3) != 0)
		return false;
	p += 3;
	if (*p < '0' || *p > '9')
		return false;
	v = strtoull(p, &end, 10);
	if (*end != '-' || v > UINT32_MAX)
		return false;
	if (pid)
		*pid = (uint32_t)v;
	p = end + 1;
	for (int i = 0; i < 16; i++)
		if (!((p[i] >= '0' && p[i] <= '9') ||
		      (p[i] >= 'a' && p[i] <= 'f')))
			return false;
	p += 16;
	if (*p++ != '-' || *p < '0' || *p > '9')
		return false;
	v = strtoull(p, &end, 10);
	if (end != name + len - slen)
		return false;
	if (bytes)
		*bytes = v;
	return true;
}

void sr_ring_name(char out[SR_RING_NAME_MAX], uint32_t pid,
		  const uint8_t nonce[8], uint64_t bytes)
{
	/* no stdio (dec.h) */
	char *p = out;

	_Static_assert(3 + 10 + 1 + 16 + 1 + SR_DEC_MAX +
				       sizeof(SR_RING_SUFFIX) <=
			       SR_RING_NAME_MAX,
		       "the longest ring name fits SR_RING_NAME_MAX");
	memcpy(p, "sr-", 3);
	p += 3;
	p += sr_dec_fmt(p, pid);
	*p++ = '-';
	sr_hex(p, nonce, 8);
	p += 16;
	*p++ = '-';
	p += sr_dec_fmt(p, bytes);
	memcpy(p, SR_RING_SUFFIX, sizeof(SR_RING_SUFFIX));
}

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static bool is_ring_entry(const struct linux_dirent64 *d)
{
	return sr_ring_name_parse(d->d_name, NULL, NULL);
}

static bool is_sub_entry(const struct linux_dirent64 *d)
{
	return (d->d_type == DT_DIR || d->d_type == DT_UNKNOWN) &&
	       sr_dir_sub_parse(d->d_name, NULL);
}

/* Calls fn for the entries `keep` accepts, at most max (0: no limit), read
 * with getdents64 into a stack buffer. The count seen or -errno. */
static int scan_entries(int dirfd, unsigned max,
			bool (*keep)(const struct linux_dirent64 *),
			void (*fn)(void *ctx, const char *name), void *ctx)
{
	char buf[SR_DIR_READ_CHUNK] __attribute__((aligned(8)));
	int fd, seen = 0;
	long n;

	/* a private descriptor: getdents moves the offset */
	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n;) {
			struct linux_dirent64 *d = (void *)(buf + off);

			off += d->d_reclen;
			if (!keep(d))
				continue;
			if (max && (unsigned)seen >= max)
				goto out;
			seen++;
			if (fn)
				fn(ctx, d->d_name);
		}
	}
	if (n < 0)
		seen = -errno;
out:
	close(fd);
	return seen;
}

int sr_dir_scan(int dirfd, unsigned max_files,
		void (*fn)(void *ctx, const char *name), void *ctx)
{
	return scan_entries(dirfd, max_files, is_ring_entry, fn, ctx);
}

int sr_dir_scan_subs(int dirfd, unsigned max,
		     void (*fn)(void *ctx, const char *name), void *ctx)
{
	/* max 0 would mean "no limit" below: nothing is asked for then */
	return max ? scan_entries(dirfd, max, is_sub_entry, fn, ctx) : 0;
}

struct usage {
	uint32_t rings;
	uint64_t bytes;
};

static void add_usage(void *ctx, const char *name)
{
	struct usage *u = ctx;
	uint64_t b = 0;

	sr_ring_name_parse(name, NULL, &b);
	u->rings++;
	/* names are anyone's to choose: a stated size must not wrap the sum */
	u->bytes = b > UINT64_MAX - u->bytes ? UINT64_MAX : u->bytes + b;
}

int sr_dir_usage(int dirfd, uint32_t *rings, uint64_t *bytes)
{
	struct usage u = { 0, 0 };
	int rc = sr_dir_scan(dirfd, 0, add_usage, &u);

	if (rc < 0)
		return rc;
	*rings = u.rings;
	*bytes = u.bytes;
	return 0;
}

/*
 * Start-up must not scan a directory of a thousand rings (~1.5 us each).
 * On tmpfs a directory's size is 40 + 20 bytes per entry: its entries
 * counted without reading one. They are the rings and the few files kept
 * beside them (the counters, the sidecar's lock and stats), and on tmpfs
 * the cap counts them all: so a full directory, where rings pile up while
 * no sidecar runs, refuses in O(1) too, where counting its rings exactly
 * would scan a thousand entries at every start (~0.5 ms). A directory is
 * full a few rings early that way, never late.
 */
static bool tmpfs_count_ok(uint64_t dir_size, uint32_t max_rings)
{
	return dir_size >= 40 && (dir_size - 40) / 20 < max_rings;
}

/* sr_dir_has_room(); `dir_size` is the directory's st_size, or
 * UINT64_MAX when not known yet (read only on tmpfs, where it counts). */
static bool has_room(int dirfd, uint64_t dir_size, uint64_t need,
		     uint32_t max_rings)
{
	struct statfs sf;
	struct stat st;
	uint32_t rings;
	uint64_t used;

	if (!max_rings)
		max_rings = SR_DIR_MAX_RINGS;
	/* rings are sparse: what matters is the space really left */
	if (fstatfs(dirfd, &sf) < 0 ||
	    (uint64_t)sf.f_bavail * (uint64_t)sf.f_bsize < need)
		return false;
	if (sf.f_type == TMPFS_MAGIC && dir_size == UINT64_MAX &&
	    fstat(dirfd, &st) == 0)
		dir_size = (uint64_t)st.st_size;
	if (sf.f_type == TMPFS_MAGIC)
		return tmpfs_count_ok(dir_size, max_rings);
	if (sr_dir_usage(dirfd, &rings, &used) < 0)
		return false;
	return rings < max_rings;
}

bool sr_dir_has_room(int dirfd, uint64_t need, uint32_t max_rings)
{
	return has_room(dirfd, UINT64_MAX, need, max_rings);
}

bool sr_dir_open_has_room(const struct sr_dir *d, uint64_t need,
			  uint32_t max_rings)
{
	return has_room(d->fd, d->size, need, max_rings);
}

/* One byte appended to a count file of dirfd. An existing file is opened
 * without O_CREAT: in a sticky world-writable directory the kernel
 * (protected_regular) refuses O_CREAT on a file another uid made. */
static void count_byte(int dirfd, const char *name)
{
	int fd = openat(dirfd, name,
			O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0 && errno == ENOENT)
		fd = openat(dirfd, name,
			    O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC |
				    O_NOFOLLOW,
			    0666);
	if (fd < 0)
		return;
	/* O_APPEND makes concurrent appends from many processes exact */
	if (write(fd, "x", 1) < 0) {
		/* best effort: nothing more to do */
	}
	close(fd);
}

static uint64_t count_of(int dirfd, const char *name)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISREG(st.st_mode))
		return 0;
	return (uint64_t)st.st_size;
}

void sr_dir_count_refused(int dirfd)
{
	count_byte(dirfd, SR_DIR_CAPPED_FILE);
}

uint64_t sr_dir_refused(int dirfd)
{
	return count_of(dirfd, SR_DIR_CAPPED_FILE);
}

int sr_dir_remove(int dirfd, const char *name)
{
	if (!sr_ring_name_parse(name, NULL, NULL))
		return -EINVAL;
	return unlinkat(dirfd, name, 0) < 0 ? -errno : 0;
}

void sr_dir_count_untraced(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return;
	count_byte(fd, SR_DIR_UNTRACED_FILE);
	close(fd);
}

uint64_t sr_dir_untraced(int dirfd)
{
	return count_of(dirfd, SR_DIR_UNTRACED_FILE);
}

int sr_dir_untraced_init(int dirfd)
{
	int fd = openat(dirfd, SR_DIR_UNTRACED_FILE,
			O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
			0666);

	if (fd < 0)
		return errno == EEXIST ? 0 : -errno;
	/* the umask would keep other uids from appending */
	if (fchmod(fd, 0666) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	close(fd);
	return 0;
}
