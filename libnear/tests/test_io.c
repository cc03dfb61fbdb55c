// SPDX-License-Identifier: MIT
/* Whole reads and writes on sockets, the getdents64 walk, and the rule of
 * which syscalls end a connection. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <asm/unistd.h>
#include <cmocka.h>
#include <near/dirent.h>
#include <near/io.h>
#include <near/proto.h>
#include <near/syscall.h>

/* More than a socket buffer holds, so both sides must wait and loop. */
#define BIG (4u << 20)

static void read_exact_and_write_all(void **state)
{
	int sv[2], status;
	unsigned char *buf = malloc(BIG);
	pid_t pid;

	(void)state;
	assert_non_null(buf);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		for (unsigned i = 0; i < BIG; i++)
			buf[i] = (unsigned char)(i * 7);
		_exit(near_write_all(sv[1], buf, BIG, 5000) == 0 ? 0 : 1);
	}
	close(sv[1]);
	memset(buf, 0, BIG);
	errno = 0;
	assert_int_equal(near_read_exact(sv[0], buf, BIG, 5000), 0);
	assert_int_equal(errno, 0); /* raw syscalls only */
	for (unsigned i = 0; i < BIG; i += 4099)
		assert_int_equal(buf[i], (unsigned char)(i * 7));
	assert_int_equal(buf[BIG - 1], (unsigned char)((BIG - 1) * 7));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* The writer is gone: end of file. */
	assert_int_equal(near_read_exact(sv[0], buf, 1, 5000), -EPIPE);
	assert_int_equal(near_write_all(sv[0], buf, 1, 5000), -EPIPE);
	close(sv[0]);
	free(buf);
}

static void short_stream_and_deadline(void **state)
{
	int sv[2];
	char got[8] = "", big[64];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	/* A length of zero reads nothing, waits for nothing. */
	assert_int_equal(near_read_exact(sv[0], got, 0, 0), 0);
	/* Three bytes of eight, then silence: the deadline ends the wait. */
	assert_int_equal(write(sv[1], "abc", 3), 3);
	assert_int_equal(near_read_exact(sv[0], got, sizeof got, 50), -ETIMEDOUT);
	assert_memory_equal(got, "abc", 3); /* what came is kept */
	/* Three bytes of eight, then end of file. */
	assert_int_equal(write(sv[1], "def", 3), 3);
	close(sv[1]);
	assert_int_equal(near_read_exact(sv[0], big, sizeof big, 5000), -EPIPE);
	assert_memory_equal(big, "def", 3);
	assert_int_equal(near_read_exact(sv[0], got, 1, 0), -EPIPE); /* still */
	close(sv[0]);
	/* Not a socket: the error is recvfrom's. */
	{
		int p[2];
		assert_int_equal(pipe(p), 0);
		assert_int_equal(write(p[1], "x", 1), 1);
		assert_int_equal(near_read_exact(p[0], got, 1, 100), -ENOTSOCK);
		close(p[0]);
		close(p[1]);
	}
}

static void full_socket_deadline(void **state)
{
	int sv[2];
	char chunk[4096] = { 0 };
	int r;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	/* Nobody reads: the socket fills up and the writer's deadline ends it. */
	do
		r = near_write_all(sv[0], chunk, sizeof chunk, 50);
	while (r == 0);
	assert_int_equal(r, -ETIMEDOUT);
	close(sv[0]);
	close(sv[1]);
}

/* Records listed by getdents64 of a directory we fill. */
static void dirent_walk_real(void **state)
{
	char dir[] = "/tmp/near-dirent-XXXXXX", path[64];
	/* Odd offset: the walk must not need an aligned buffer. */
	static unsigned char raw[4096 + 1];
	unsigned char *buf = raw + 1;
	int seen = 0, dots = 0;
	long fd, n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	for (int i = 0; i < 5; i++) {
		snprintf(path, sizeof path, "%s/f%d", dir, i);
		int f = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
		assert_true(f >= 0);
		close(f);
	}
	fd = near_syscall3(__NR_openat, AT_FDCWD, (long)dir, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	while ((n = near_syscall3(__NR_getdents64, fd, (long)buf, 4096)) > 0) {
		struct near_dirent_walk w;
		struct near_dirent d;
		int r;

		near_dirent_walk_init(&w, buf, (size_t)n);
		while ((r = near_dirent_next(&w, &d)) == 1) {
			assert_int_equal(d.namelen, strlen(d.name));
			assert_true(d.ino != 0);
			if (!strcmp(d.name, ".") || !strcmp(d.name, "..")) {
				assert_int_equal(d.type, DT_DIR);
				dots++;
				continue;
			}
			assert_int_equal(d.type, DT_REG);
			assert_int_equal(d.namelen, 2);
			assert_int_equal(d.name[0], 'f');
			seen |= 1 << (d.name[1] - '0');
		}
		assert_int_equal(r, 0);
	}
	assert_int_equal(n, 0);
	assert_int_equal(seen, 0x1f);
	assert_int_equal(dots, 2);
	close((int)fd);
	for (int i = 0; i < 5; i++) {
		snprintf(path, sizeof path, "%s/f%d", dir, i);
		unlink(path);
	}
	rmdir(dir);
}

/* One record of reclen bytes named name at buf. */
static size_t put_rec(unsigned char *buf, unsigned short reclen, const char *name)
{
	struct near_linux_dirent64 h = { 7, 1, reclen, DT_REG };

	memset(buf, 0, reclen);
	memcpy(buf, &h, offsetof(struct near_linux_dirent64, d_name));
	memcpy(buf + offsetof(struct near_linux_dirent64, d_name), name, strlen(name));
	return reclen;
}

/* A listing from another process may be anything: never read past it. */
static void dirent_walk_bounded(void **state)
{
	unsigned char buf[128];
	struct near_dirent_walk w;
	struct near_dirent d;
	size_t len;

	(void)state;
	len = put_rec(buf, 24, "ok");
	/* A record longer than what is left. */
	put_rec(buf + len, 24, "no");
	near_dirent_walk_init(&w, buf, len + 20);
	assert_int_equal(near_dirent_next(&w, &d), 1);
	assert_string_equal(d.name, "ok");
	assert_int_equal(d.ino, 7);
	assert_int_equal(d.off, 1);
	assert_int_equal(near_dirent_next(&w, &d), -EIO);
	assert_int_equal(near_dirent_next(&w, &d), -EIO); /* and stays there */
	/* A header cut short. */
	near_dirent_walk_init(&w, buf, 10);
	assert_int_equal(near_dirent_next(&w, &d), -EIO);
	/* reclen no larger than the header: it would never advance. */
	put_rec(buf, offsetof(struct near_linux_dirent64, d_name), "");
	near_dirent_walk_init(&w, buf, 64);
	assert_int_equal(near_dirent_next(&w, &d), -EIO);
	/* A name with no NUL inside its record (19 + 5 bytes). */
	put_rec(buf, 24, "abcde");
	near_dirent_walk_init(&w, buf, 24);
	assert_int_equal(near_dirent_next(&w, &d), -EIO);
	/* Empty. */
	near_dirent_walk_init(&w, buf, 0);
	assert_int_equal(near_dirent_next(&w, &d), 0);
}

static void ends_connection(void **state)
{
	(void)state;
	assert_true(near_ends_connection(__NR_exit));
	assert_true(near_ends_connection(__NR_exit_group));
	assert_true(near_ends_connection(__NR_execve));
	assert_true(near_ends_connection(__NR_execveat));
	assert_false(near_ends_connection(__NR_getpid));
	assert_false(near_ends_connection(__NR_close));
	assert_false(near_ends_connection(NEAR_OP_FORK));
	assert_false(near_ends_connection(NEAR_OP_TAKEOVER));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(read_exact_and_write_all),
		cmocka_unit_test(short_stream_and_deadline),
		cmocka_unit_test(full_socket_deadline),
		cmocka_unit_test(dirent_walk_real),
		cmocka_unit_test(dirent_walk_bounded),
		cmocka_unit_test(ends_connection),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
