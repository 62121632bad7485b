/* SPDX-License-Identifier: MIT */
/* The ring directory: safety checks, names, caps and the refused count. */
#include "tests/lib/harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "common/limits.h"
#include "common/ringdir.h"

static int open_dir(const char *path, bool create, char *why)
{
	return sr_dir_open(path, create, why, 256);
}

static void assert_has(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("expected \"%s\" in \"%s\"", needle, hay);
}

/* A symlink to a good directory is refused: another user could point it
 * anywhere. */
static void ringdir_symlink_refused(void **state)
{
	char *base = sr_tmpdir("rdlink"), *real = sr_strf("%s/real", base),
	     *link = sr_strf("%s/link", base), why[256];

	(void)state;
	assert_int_equal(mkdir(real, 0700), 0);
	assert_int_equal(symlink(real, link), 0);
	assert_int_equal(open_dir(link, false, why), -ELOOP);
	assert_has(why, "symlink");
	assert_int_equal(open_dir(link, true, why), -ELOOP);
	free(real);
	free(link);
	sr_tmpdir_free(base);
}

/* Writable by anyone (an emptyDir, sticky or not): a producer never
 * writes into it directly but into its own uid-<euid>/, made 0700 (the
 * umask ignored), or 2770 of the volume's group when it belongs to it. */
static void ringdir_volume_uses_own_subdir(void **state)
{
	static const mode_t modes[] = { 0777, 01777 };
	char *base = sr_tmpdir("rdvol"), *d = sr_strf("%s/d", base), why[256];
	char *sub = sr_strf("%s/d/uid-%u", base, (unsigned)geteuid());
	struct sr_dir dir;
	struct stat st;

	(void)state;
	assert_int_equal(mkdir(d, 0700), 0);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(chmod(d, modes[i]), 0);
		rmdir(sub);
		assert_int_equal(sr_dir_open_as(d, SR_DIR_PRODUCER, &dir, why,
						256),
				 0);
		assert_int_equal(dir.kind, SR_DIR_VOLUME);
		assert_true(dir.volfd >= 0 && dir.fd >= 0);
		assert_int_equal(fstat(dir.fd, &st), 0);
		assert_int_equal(st.st_uid, geteuid());
		/* the volume's group (ours: it is made by us) shares it */
		if ((st.st_mode & 07777) != 02770 || dir.ring_mode != 0660)
			fail_msg("mode %o: expected uid dir 2770 and rings 660, got "
				 "%o and %o",
				 (unsigned)modes[i],
				 (unsigned)(st.st_mode & 07777), dir.ring_mode);
		sr_dir_close(&dir);
		/* a consumer serves the volume itself */
		assert_int_equal(sr_dir_open_as(d, SR_DIR_CONSUMER, &dir, why,
						256),
				 0);
		assert_int_equal(dir.volfd, -1);
		sr_dir_close(&dir);
	}
	/* a group the process is not in: private 0700, rings 0600 */
	if (geteuid() == 0 && chown(d, 0, 4242) == 0) {
		rmdir(sub);
		assert_int_equal(sr_dir_open_as(d, SR_DIR_PRODUCER, &dir, why,
						256),
				 0);
		assert_int_equal(fstat(dir.fd, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0700);
		assert_int_equal(dir.ring_mode, 0600);
		sr_dir_close(&dir);
	}
	free(sub);
	free(d);
	sr_tmpdir_free(base);
}

/* A uid-<euid>/ planted by someone else (a symlink, or a directory owned
 * by another uid) is refused: the process runs untraced and counts it in
 * the volume's untraced.count. */
static void ringdir_planted_subdir_refused(void **state)
{
	char *base = sr_tmpdir("rdplant"), *d = sr_strf("%s/d", base), why[256];
	char *sub = sr_strf("%s/uid-%u", d, (unsigned)geteuid());
	struct sr_dir dir;
	int fd;

	(void)state;
	assert_int_equal(mkdir(d, 0777), 0);
	assert_int_equal(chmod(d, 0777), 0);
	assert_int_equal(symlink(base, sub), 0);
	assert_int_equal(sr_dir_open_as(d, SR_DIR_PRODUCER, &dir, why, 256),
			 -ELOOP);
	assert_has(why, "symlink");
	assert_int_equal(dir.fd, -1);
	assert_int_equal(unlink(sub), 0);
	if (geteuid() == 0) {
		assert_int_equal(mkdir(sub, 0700), 0);
		assert_int_equal(chown(sub, 4242, 4242), 0);
		assert_int_equal(sr_dir_open_as(d, SR_DIR_PRODUCER, &dir, why,
						256),
				 -EPERM);
		assert_has(why, "not this uid's own directory (owner 4242");
	}
	sr_dir_count_untraced(d);
	sr_dir_count_untraced(d);
	fd = open(d, O_RDONLY | O_DIRECTORY);
	assert_int_equal(sr_dir_untraced(fd), 2);
	close(fd);
	free(sub);
	free(d);
	sr_tmpdir_free(base);
}

/* Group-writable, not by others: shared with the group when the process
 * is in it (rings 0660 of that group), refused when it is not; a root
 * consumer reads it anyway. */
static void ringdir_group_shared(void **state)
{
	char *base = sr_tmpdir("rdgrp"), *d = sr_strf("%s/d", base), why[256];
	struct sr_dir dir;

	(void)state;
	assert_int_equal(mkdir(d, 0700), 0);
	assert_int_equal(chmod(d, 02770), 0);
	assert_int_equal(sr_dir_open_as(d, SR_DIR_PRODUCER, &dir, why, 256), 0);
	assert_int_equal(dir.kind, SR_DIR_GROUP);
	assert_int_equal(dir.ring_mode, 0660);
	assert_false(dir.ring_chgrp); /* setgid: rings inherit the group */
	sr_dir_close(&dir);
	assert_int_equal(chmod(d, 0770), 0);
	assert_int_equal(sr_dir_open_as(d, SR_DIR_PRODUCER, &dir, why, 256), 0);
	assert_true(dir.ring_chgrp);
	sr_dir_close(&dir);
	if (geteuid() == 0 && chown(d, 0, 4242) == 0) {
		assert_int_equal(sr_dir_open_as(d, SR_DIR_PRODUCER, &dir, why,
						256),
				 -EPERM);
		assert_has(why,
			   "writable by group 4242 (mode 770), which uid 0 is not in");
		assert_int_equal(sr_dir_open_as(d, SR_DIR_CONSUMER, &dir, why,
						256),
				 0);
		sr_dir_close(&dir);
	}
	free(d);
	sr_tmpdir_free(base);
}

/* Owned by someone else (only root can make one to test with). */
static void ringdir_wrong_owner_refused(void **state)
{
	char *base = sr_tmpdir("rdowner"), *d = sr_strf("%s/d", base), why[256];

	(void)state;
	assert_int_equal(mkdir(d, 0700), 0);
	if (geteuid() != 0 || chown(d, 4242, 4242) != 0) {
		free(d);
		sr_tmpdir_free(base);
		skip();
	}
	assert_int_equal(open_dir(d, false, why), -EPERM);
	assert_has(why, "owned by uid 4242");
	/* a root sidecar reads the app's own 0700 directory */
	{
		struct sr_dir dir;

		assert_int_equal(sr_dir_open_as(d, SR_DIR_CONSUMER, &dir, why,
						256),
				 0);
		assert_int_equal(dir.kind, SR_DIR_PRIVATE);
		sr_dir_close(&dir);
	}
	free(d);
	sr_tmpdir_free(base);
}

/* Missing: an error without create, a private 0700 directory with it. */
static void ringdir_missing_created_only_when_asked(void **state)
{
	char *base = sr_tmpdir("rdmiss"), *d = sr_strf("%s/new", base),
	     why[256];
	struct stat st;
	int fd;

	(void)state;
	assert_int_equal(open_dir(d, false, why), -ENOENT);
	assert_has(why, "new");
	assert_int_equal(stat(d, &st), -1);
	fd = open_dir(d, true, why);
	sr_assert_cmp(fd, >=, 0);
	close(fd);
	assert_int_equal(stat(d, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 077, 0);
	/* its parent must exist: nothing is created recursively */
	free(d);
	d = sr_strf("%s/a/b", base);
	sr_assert_cmp(open_dir(d, true, why), <, 0);
	free(d);
	sr_tmpdir_free(base);
}

/* Not a directory at all. */
static void ringdir_file_refused(void **state)
{
	char *base = sr_tmpdir("rdfile"), *f = sr_strf("%s/f", base), why[256];
	int fd = open(f, O_WRONLY | O_CREAT, 0600);

	(void)state;
	close(fd);
	sr_assert_cmp(open_dir(f, true, why), <, 0);
	free(f);
	sr_tmpdir_free(base);
}

static void touch(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT, 0600);

	sr_assert_cmp(fd, >=, 0);
	close(fd);
}

static bool on_tmpfs(int fd)
{
	struct statfs sf;

	return fstatfs(fd, &sf) == 0 && sf.f_type == TMPFS_MAGIC;
}

/* On tmpfs the cap counts the directory's entries, read from its size:
 * a directory where rings piled up refuses without being read. */
static void ringdir_tmpfs_cap_counts_entries(void **state)
{
	char base[] = "/dev/shm/spanring-test-rdtmpfs-XXXXXX";
	char name[SR_RING_NAME_MAX], why[256];
	uint8_t nonce[8] = { 0 };
	struct sr_dir d;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(base));
	fd = open_dir(base, false, why);
	sr_assert_cmp(fd, >=, 0);
	if (!on_tmpfs(fd)) {
		close(fd);
		rmdir(base);
		print_message("[  SKIPPED ] /dev/shm is not a tmpfs here\n");
		skip();
	}
	for (uint32_t i = 0; i < 3; i++) {
		nonce[0] = (uint8_t)i;
		sr_ring_name(name, 100 + i, nonce, 1000);
		touch(fd, name);
	}
	touch(fd, SR_DIR_UNTRACED_FILE);
	assert_false(sr_dir_has_room(fd, 1000, 4)); /* 4 entries */
	assert_true(sr_dir_has_room(fd, 1000, 5));
	/* the same through a directory just opened (its size as checked) */
	assert_int_equal(sr_dir_open_as(base, SR_DIR_PRODUCER, &d, why, 256),
			 0);
	assert_false(sr_dir_open_has_room(&d, 1000, 4));
	assert_true(sr_dir_open_has_room(&d, 1000, 5));
	sr_dir_close(&d);
	for (uint32_t i = 0; i < 3; i++) {
		nonce[0] = (uint8_t)i;
		sr_ring_name(name, 100 + i, nonce, 1000);
		assert_int_equal(unlinkat(fd, name, 0), 0);
		/* a ring gone: room again */
		assert_true(sr_dir_has_room(fd, 1000, 4));
	}
	unlinkat(fd, SR_DIR_UNTRACED_FILE, 0);
	close(fd);
	assert_int_equal(rmdir(base), 0);
}

/* Caps on count and bytes (as the names state); beyond them there is no
 * room, and every refused ring grows the count file by one byte. */
static void ringdir_cap_reached_refuses_and_counts(void **state)
{
	char *base = sr_tmpdir("rdcap"), name[SR_RING_NAME_MAX], why[256];
	uint8_t nonce[8] = { 0 };
	uint32_t rings;
	uint64_t bytes;
	int fd;

	(void)state;
	fd = open_dir(base, false, why);
	sr_assert_cmp(fd, >=, 0);
	for (uint32_t i = 0; i < 3; i++) {
		nonce[0] = (uint8_t)i;
		sr_ring_name(name, 100 + i, nonce, 1000);
		touch(fd, name);
	}
	touch(fd, "not-a-ring.txt");
	touch(fd, ".spanringd.lock");
	assert_int_equal(sr_dir_usage(fd, &rings, &bytes), 0);
	assert_int_equal(rings, 3);
	assert_int_equal(bytes, 3000);
	/* the count: of rings (3 here), or on tmpfs of entries (5) */
	assert_true(sr_dir_has_room(fd, 1000, on_tmpfs(fd) ? 6 : 4));
	assert_false(sr_dir_has_room(fd, 1000, on_tmpfs(fd) ? 5 : 3));
	/* free space: more than any filesystem has is refused */
	assert_false(sr_dir_has_room(fd, UINT64_MAX, 0));
	assert_int_equal(sr_dir_refused(fd), 0);
	sr_dir_count_refused(fd);
	sr_dir_count_refused(fd);
	sr_dir_count_refused(fd);
	assert_int_equal(sr_dir_refused(fd), 3);
	/* a name stating an absurd size cannot wrap the byte sum */
	touch(fd, "sr-9-00000000000000ff-18446744073709551000.ring");
	assert_int_equal(sr_dir_usage(fd, &rings, &bytes), 0);
	assert_int_equal(bytes, UINT64_MAX);
	close(fd);
	sr_tmpdir_free(base);
}

/* Names round-trip and anything else is not a ring name. */
static void ringdir_names_parse_strictly(void **state)
{
	const char *bad[] = { "sr-1-0123456789abcdef-16384",
			      "sr--0123456789abcdef-1.ring",
			      "sr-1-0123456789ABCDEF-1.ring",
			      "sr-1-0123-1.ring",
			      "sr-99999999999-0123456789abcdef-1.ring",
			      "x.ring",
			      "sr-1-0123456789abcdef-.ring",
			      "sr-1-0123456789abcdef-1x.ring" };
	uint8_t nonce[8] = { 1, 2, 3, 4, 5, 6, 7, 0xef };
	char name[SR_RING_NAME_MAX];
	uint64_t bytes;
	uint32_t pid;

	(void)state;
	sr_ring_name(name, 4242, nonce, 69632);
	assert_string_equal(name, "sr-4242-01020304050607ef-69632.ring");
	assert_true(sr_ring_name_parse(name, &pid, &bytes));
	assert_int_equal(pid, 4242);
	assert_int_equal(bytes, 69632);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (sr_ring_name_parse(bad[i], NULL, NULL))
			fail_msg("%s parsed as a ring name", bad[i]);
}

SR_TEST_MAIN(cmocka_unit_test(ringdir_symlink_refused),
	     cmocka_unit_test(ringdir_volume_uses_own_subdir),
	     cmocka_unit_test(ringdir_planted_subdir_refused),
	     cmocka_unit_test(ringdir_group_shared),
	     cmocka_unit_test(ringdir_wrong_owner_refused),
	     cmocka_unit_test(ringdir_missing_created_only_when_asked),
	     cmocka_unit_test(ringdir_file_refused),
	     cmocka_unit_test(ringdir_cap_reached_refuses_and_counts),
	     cmocka_unit_test(ringdir_tmpfs_cap_counts_entries),
	     cmocka_unit_test(ringdir_names_parse_strictly))
