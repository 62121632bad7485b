/* SPDX-License-Identifier: MIT */
#include "openspans.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/limits.h"
#include "openspans_layout.h"

#define OPEN_PREFIX "open-"

static void file_name(char *buf, size_t n, const char *ring, bool tmp)
{
	snprintf(buf, n, OPEN_PREFIX "%s%s", ring, tmp ? ".tmp" : "");
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = write(fd, c, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int sr_openspans_save(int dirfd, const char *ring, struct sr_asm_ring *r,
		      bool sync)
{
	char name[SR_RING_NAME_MAX + 16], tmp[SR_RING_NAME_MAX + 16];
	size_t n = sr_asm_ring_open_count(r);
	int fd, rc;

	file_name(name, sizeof(name), ring, false);
	if (!n) {
		if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
			return -errno;
		sr_asm_ring_saved(r);
		return 0;
	}
	file_name(tmp, sizeof(tmp), ring, true);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	rc = write_all(fd, SR_OPEN_MAGIC, sizeof(struct sr_open_header));
	for (size_t i = 0; i < n && !rc; i++) {
		struct sr_open_entry e;
		struct sr_open_entry_header h;

		sr_asm_ring_entry(r, i, &e);
		h.len = e.len;
		h.seq = e.seq;
		rc = write_all(fd, &h, sizeof(h));
		if (!rc)
			rc = write_all(fd, e.payload, e.len);
	}
	if (!rc && sync && fdatasync(fd) < 0)
		rc = -errno;
	close(fd);
	if (!rc && renameat(dirfd, tmp, dirfd, name) < 0)
		rc = -errno;
	if (rc)
		unlinkat(dirfd, tmp, 0);
	else
		sr_asm_ring_saved(r);
	return rc;
}

int sr_openspans_parse(const uint8_t *buf, size_t len, struct sr_asm_ring *r)
{
	struct sr_open_header fh;
	size_t off = sizeof(fh);
	int rc = 0;

	if (len < sizeof(fh))
		return -EBADMSG;
	memcpy(&fh, buf, sizeof(fh));
	if (memcmp(fh.magic, SR_OPEN_MAGIC, sizeof(fh.magic)))
		return -EBADMSG;
	while (len - off >= sizeof(struct sr_open_entry_header) && !rc) {
		struct sr_open_entry_header h;

		memcpy(&h, buf + off, sizeof(h));
		off += sizeof(h);
		/* a length beyond the file ends it */
		if (h.len > len - off)
			break;
		rc = sr_asm_ring_restore(r, buf + off, h.len, h.seq);
		if (rc == -EBADMSG)
			rc = 0; /* that entry alone */
		off += h.len;
	}
	return rc;
}

int sr_openspans_load(int dirfd, const char *ring, struct sr_asm_ring *r)
{
	char name[SR_RING_NAME_MAX + 16];
	uint8_t *buf;
	struct stat st;
	size_t len;
	int fd, rc;

	file_name(name, sizeof(name), ring, false);
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st) < 0 || st.st_size > SR_OPEN_FILE_MAX) {
		close(fd);
		return -EFBIG;
	}
	len = (size_t)st.st_size;
	buf = malloc(len + 1);
	if (!buf || read(fd, buf, len) != (ssize_t)len) {
		free(buf);
		close(fd);
		return -EBADMSG;
	}
	close(fd);
	rc = sr_openspans_parse(buf, len, r);
	free(buf);
	if (rc != -EBADMSG)
		sr_asm_ring_saved(r);
	return rc;
}

void sr_openspans_remove(int dirfd, const char *ring)
{
	char name[SR_RING_NAME_MAX + 16];

	file_name(name, sizeof(name), ring, false);
	unlinkat(dirfd, name, 0);
}

void sr_openspans_sweep(int dirfd, bool (*exists)(void *ctx, const char *ring),
			void *ctx)
{
	int fd = dup(dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	const size_t plen = strlen(OPEN_PREFIX);
	struct dirent *e;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);

		if (strncmp(e->d_name, OPEN_PREFIX, plen))
			continue;
		/* a ring removed before its open-span file was, or a
		 * temporary left by a crash */
		if ((n > 4 && !strcmp(e->d_name + n - 4, ".tmp")) ||
		    !exists(ctx, e->d_name + plen))
			unlinkat(dirfd, e->d_name, 0);
	}
	closedir(d);
}
