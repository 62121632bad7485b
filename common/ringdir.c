/* SPDX-License-Identifier: MIT */
#include "ringdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ids.h"
#include "why.h"

int sr_dir_default(char *buf, size_t n)
{
	const char *env = getenv("SPANRING_DIR");
	int len;

	if (env && *env)
		len = snprintf(buf, n, "%s", env);
	else
		len = snprintf(buf, n, "/dev/shm/spanring-%u", (unsigned)geteuid());
	return len < 0 || (size_t)len >= n ? -ENAMETOOLONG : 0;
}

static int check_dir(int fd, const char *path, char *why, size_t n)
{
	struct stat st;
	uid_t me = geteuid();
	bool sticky;

	if (fstat(fd, &st) < 0)
		return sr_why(why, n, -errno, "%s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return sr_why(why, n, -ENOTDIR, "%s: not a directory", path);
	sticky = st.st_mode & S_ISVTX;
	if (st.st_uid != me && !(st.st_uid == 0 && sticky))
		return sr_why(why, n, -EPERM, "%s: owned by uid %u, not %u", path,
			      (unsigned)st.st_uid, (unsigned)me);
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !sticky)
		return sr_why(why, n, -EPERM,
			      "%s: writable by others (mode %o) without the sticky bit",
			      path, (unsigned)(st.st_mode & 07777));
	return 0;
}

int sr_dir_open(const char *path, bool create, char *why, size_t whylen)
{
	int fd, rc;

	if (why && whylen)
		why[0] = 0;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create) {
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return sr_why(why, whylen, -errno, "%s: cannot create: %s",
				      path, strerror(errno));
		fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0) {
		if (errno == ELOOP || errno == ENOTDIR) {
			struct stat st;

			if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
				return sr_why(why, whylen, -ELOOP,
					      "%s: is a symlink, refused", path);
		}
		return sr_why(why, whylen, -errno, "%s: %s", path, strerror(errno));
	}
	rc = check_dir(fd, path, why, whylen);
	if (rc) {
		close(fd);
		return rc;
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
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
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
	char hex[17];

	sr_hex(hex, nonce, 8);
	snprintf(out, SR_RING_NAME_MAX, "sr-%u-%s-%llu%s", pid, hex,
		 (unsigned long long)bytes, SR_RING_SUFFIX);
}

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

int sr_dir_scan(int dirfd, unsigned max_files,
		void (*fn)(void *ctx, const char *name), void *ctx)
{
	char buf[8192] __attribute__((aligned(8)));
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
			if (!sr_ring_name_parse(d->d_name, NULL, NULL))
				continue;
			if (max_files && (unsigned)seen >= max_files)
				goto out;
			seen++;
			if (fn)
				fn(ctx, d->d_name);
		}
	}
	if (n < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
out:
	close(fd);
	return seen;
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
 * On tmpfs a directory's size is 40 + 20 bytes per entry: an upper bound
 * of the ring count without reading a single entry.
 */
static bool tmpfs_count_ok(int dirfd, const struct statfs *sf,
			   uint32_t max_rings)
{
	struct stat st;

	if (sf->f_type != TMPFS_MAGIC || fstat(dirfd, &st) < 0 ||
	    st.st_size < 40)
		return false;
	return ((uint64_t)st.st_size - 40) / 20 < max_rings;
}

bool sr_dir_has_room(int dirfd, uint64_t need, uint32_t max_rings)
{
	struct statfs sf;
	uint32_t rings;
	uint64_t used;

	if (!max_rings)
		max_rings = SR_DIR_MAX_RINGS;
	/* rings are sparse: what matters is the space really left */
	if (fstatfs(dirfd, &sf) < 0 ||
	    (uint64_t)sf.f_bavail * (uint64_t)sf.f_bsize < need)
		return false;
	if (tmpfs_count_ok(dirfd, &sf, max_rings))
		return true;
	if (sr_dir_usage(dirfd, &rings, &used) < 0)
		return false;
	return rings < max_rings;
}

void sr_dir_count_refused(int dirfd)
{
	int fd = openat(dirfd, SR_DIR_CAPPED_FILE,
			O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return;
	/* O_APPEND makes concurrent appends from many processes exact */
	if (write(fd, "x", 1) < 0) {
		/* nothing more to do: the count is best effort when full */
	}
	close(fd);
}

uint64_t sr_dir_refused(int dirfd)
{
	struct stat st;

	if (fstatat(dirfd, SR_DIR_CAPPED_FILE, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISREG(st.st_mode))
		return 0;
	return (uint64_t)st.st_size;
}

int sr_dir_remove(int dirfd, const char *name)
{
	if (!sr_ring_name_parse(name, NULL, NULL))
		return -EINVAL;
	return unlinkat(dirfd, name, 0) < 0 ? -errno : 0;
}
