/* SPDX-License-Identifier: MIT */
/* Helpers shared by libhandle's tests. */
#ifndef HANDLE_TEST_COMMON_H
#define HANDLE_TEST_COMMON_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <handle/handle.h>

/* Checks inside forked children, which must not run cmocka's asserts. */
#define CHECK(x)                                                               \
	do {                                                                   \
		if (!(x)) {                                                    \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, \
				__LINE__, #x);                                  \
			return 1;                                              \
		}                                                              \
	} while (0)

/* Is fd open in the calling process? */
static inline int is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* The calling process's open fds below the soft RLIMIT_NOFILE (valgrind
 * keeps its own above it), excluding the listing's own fd.
 * Returns: how many were stored in fds (up to max), or the total if fds is
 * NULL. */
static inline int list_fds(int *fds, int max)
{
	struct rlimit rl;
	struct dirent *d;
	DIR *dir = opendir("/proc/self/fd");
	int n = 0;

	getrlimit(RLIMIT_NOFILE, &rl);
	if (!dir)
		return -1;
	while ((d = readdir(dir))) {
		int fd = atoi(d->d_name);

		if (d->d_name[0] == '.' || fd == dirfd(dir) || (rlim_t)fd >= rl.rlim_cur)
			continue;
		if (fds && n < max)
			fds[n] = fd;
		n++;
	}
	closedir(dir);
	return n;
}

/* Adopt every fd the process has now, so that a GC leaves them alone. */
static inline int adopt_all(struct handle_task *t, struct handle_fd *h, int max)
{
	int fds[256], n = list_fds(fds, 256);

	for (int i = 0; i < n && i < max; i++)
		if (handle_fd_adopt(&h[i], t, fds[i]) < 0)
			return -1;
	return n;
}

/* Run fn in a forked child and require it to exit 0. */
static inline void in_child(int (*fn)(void))
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		fflush(stdout);
		_exit(fn());
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static inline struct handle_ptr local_ptr(struct handle_task *t, void *p, size_t n)
{
	struct handle_ptr r;

	assert_int_equal(handle_ptr_local(&r, t, p, n), 0);
	return r;
}

/* The calling process as task t, for a group's setup and teardown. */
#define TASK_FIXTURE                                                           \
	static struct near_local_sysif ls;                                     \
	static struct handle_task t;                                           \
	static int setup(void **state)                                         \
	{                                                                      \
		(void)state;                                                   \
		return handle_task_init(&t, near_local_sysif_init(&ls), 0);    \
	}                                                                      \
	static int teardown(void **state)                                      \
	{                                                                      \
		(void)state;                                                   \
		handle_task_close(&t);                                         \
		return 0;                                                      \
	}

#endif
