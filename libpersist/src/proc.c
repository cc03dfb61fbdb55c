// SPDX-License-Identifier: MIT
/* /proc's files parsed (pure functions over bytes, so tests can feed them
 * any line), the one alive test, and the readers of the calling process's
 * own /proc that the public API keeps for programs that want the local
 * view.  Recovery reads a thread's /proc through the thread instead
 * (proc_remote.c).  Raw syscalls throughout: errno is never touched. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <asm/unistd.h>
#include <near/syscall.h>
#include <persist/recover.h>
#include "proc.h"

/* ---- parsers ---- */

/* A decimal field; a leading '-' (nice, tpgid) reads as negative. */
static int field_num(const char *p, const char *end, long long *v)
{
	unsigned long long x = 0;
	int neg = 0;

	if (p < end && *p == '-') {
		neg = 1;
		p++;
	}
	if (p >= end || *p < '0' || *p > '9')
		return -EPROTO;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return -EPROTO;
		if (x > (ULLONG_MAX - 9) / 10)
			return -EPROTO;
		x = x * 10 + (unsigned)(*p - '0');
	}
	if (x > LLONG_MAX)
		return -EPROTO;
	*v = neg ? -(long long)x : (long long)x;
	return 0;
}

int persist__parse_stat(const char *b, size_t len, struct persist_proc_stat *out,
			unsigned long *flags)
{
	const char *open = memchr(b, '(', len), *close = memrchr(b, ')', len);
	const char *p, *end = b + len;
	long long v;
	size_t n;
	int field = 3;

	memset(out, 0, sizeof *out);
	if (!open || !close || close < open)
		return -EPROTO;
	n = (size_t)(close - open - 1);
	if (n >= sizeof out->comm)
		n = sizeof out->comm - 1;
	memcpy(out->comm, open + 1, n);
	out->comm[n] = 0;
	p = close + 1;
	while (field <= 22) {
		const char *t;

		while (p < end && *p == ' ')
			p++;
		if (p >= end || *p == '\n')
			return -EPROTO;
		t = p;
		while (p < end && *p != ' ' && *p != '\n')
			p++;
		if (field == 3) {
			if (p - t != 1)
				return -EPROTO;
			out->state = *t;
		} else if (field == 4) {
			if (field_num(t, p, &v) < 0 || v < 0 || v > INT_MAX)
				return -EPROTO;
			out->ppid = (int)v;
		} else if (field == 9) {
			if (field_num(t, p, &v) < 0 || v < 0)
				return -EPROTO;
			if (flags)
				*flags = (unsigned long)v;
		} else if (field == 22) {
			if (field_num(t, p, &v) < 0 || v < 0)
				return -EPROTO;
			out->starttime = (unsigned long long)v;
		}
		field++;
	}
	return 0;
}

int persist__parse_stat_pid(const char *b, size_t len)
{
	const char *sp = memchr(b, ' ', len);
	long long v;

	if (!sp || field_num(b, sp, &v) < 0 || v <= 0 || v > INT_MAX)
		return -EPROTO;
	return (int)v;
}

int persist__pids_push(struct persist__pids *v, int x)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? 2 * v->cap : 64;
		int *b = realloc(v->a, cap * sizeof *b);
		if (!b)
			return -ENOMEM;
		v->a = b;
		v->cap = cap;
	}
	v->a[v->n++] = x;
	return 0;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

void persist__pids_sort(struct persist__pids *v)
{
	size_t j = 0;

	if (v->n > 1)
		qsort(v->a, v->n, sizeof *v->a, cmp_int);
	for (size_t i = 0; i < v->n; i++)
		if (j == 0 || v->a[i] != v->a[j - 1])
			v->a[j++] = v->a[i];
	v->n = j;
}

void persist__pids_free(struct persist__pids *v)
{
	free(v->a);
	memset(v, 0, sizeof *v);
}

int persist__parse_pids(const char *b, size_t len, struct persist__pids *v)
{
	const char *p = b, *e = b + len;
	int count = 0, r;

	while (p < e) {
		const char *t;
		long long x;

		while (p < e && (*p == ' ' || *p == '\n'))
			p++;
		if (p == e)
			break;
		for (t = p; p < e && *p != ' ' && *p != '\n'; p++)
			;
		/* Strict: a pid we cannot read is not one to skip silently,
		 * since a child missed is a child lost. */
		if (*t == '-' || field_num(t, p, &x) < 0 || x <= 0 || x > INT_MAX)
			return -EPROTO;
		if ((r = persist__pids_push(v, (int)x)) < 0)
			return r;
		count++;
	}
	return count;
}

int persist__parse_cmdline(const char *buf, size_t len, char **blob, size_t *bloblen)
{
	/* A process that rewrote its argv area (setproctitle) may leave its
	 * last string without the NUL: the blob gets one, so that it decodes
	 * and compares as the argv it stands for. */
	size_t n = len && buf[len - 1] != 0 ? len + 1 : len;
	char *b;

	*blob = NULL;
	*bloblen = 0;
	if (!len)
		return 0;
	if (!(b = malloc(n)))
		return -ENOMEM;
	memcpy(b, buf, len);
	b[n - 1] = 0;
	*blob = b;
	*bloblen = n;
	return 0;
}

int persist__stat_alive(const struct persist_proc_stat *ps, unsigned long long starttime)
{
	/* A zombie has ended, whoever reaps it later. */
	return ps->starttime == starttime && ps->state != 'Z' && ps->state != 'X';
}

/* ---- the calling process's /proc ---- */

static long sys_open(const char *path, int flags)
{
	return near_syscall4(__NR_openat, AT_FDCWD, (long)path, flags | O_CLOEXEC, 0);
}

static long sys_read(long fd, void *buf, size_t len)
{
	long r;

	do
		r = near_syscall3(__NR_read, fd, (long)buf, (long)len);
	while (r == -EINTR);
	return r;
}

PERSIST_EXPORT int persist_proc_stat(int pid, struct persist_proc_stat *out)
{
	/* Big enough for 52 fields of 20 digits and a 64-byte name: one read,
	 * no allocation, since tests and tools poll it in loops. */
	char path[48], buf[2048];
	long fd, r;

	memset(out, 0, sizeof *out);
	if (pid <= 0)
		return -ESRCH;
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	fd = sys_open(path, O_RDONLY);
	if (fd < 0)
		return fd == -ENOENT ? -ESRCH : (int)fd;
	r = sys_read(fd, buf, sizeof buf);
	near_syscall1(__NR_close, fd);
	/* A process that ended between open and read. */
	if (r == 0 || r == -ESRCH)
		return -ESRCH;
	if (r < 0)
		return (int)r;
	return persist__parse_stat(buf, (size_t)r, out, NULL);
}

PERSIST_EXPORT int persist_proc_starttime(int pid, unsigned long long *ticks)
{
	struct persist_proc_stat ps;
	int r = persist_proc_stat(pid, &ps);

	if (r == 0)
		*ticks = ps.starttime;
	return r;
}

int persist__proc_alive(struct near_sysif *sys, int pid, unsigned long long starttime)
{
	struct persist_proc_stat ps;
	int r;

	if (pid <= 0)
		return 0;
	if (!sys) {
		/* The local view, read directly: no scratch mapping to set up. */
		r = persist_proc_stat(pid, &ps);
	} else {
		struct persist__procio io;

		persist__procio_init(&io, sys);
		r = persist__proc_stat_at(&io, pid, &ps);
		persist__procio_fini(&io);
	}
	if (r == -ESRCH)
		return 0;
	return r < 0 ? r : persist__stat_alive(&ps, starttime);
}

PERSIST_EXPORT int persist_proc_children(int pid, int **out, size_t *n)
{
	struct persist__procio io;
	struct persist__pids v = { 0 };
	int r;

	*out = NULL;
	*n = 0;
	if (pid <= 0)
		return -ESRCH;
	/* The same reader recovery uses, through a local sysif. */
	persist__procio_init(&io, NULL);
	r = persist__proc_children_at(&io, pid, &v);
	persist__procio_fini(&io);
	if (r < 0) {
		persist__pids_free(&v);
		return r;
	}
	*out = v.a;
	*n = v.n;
	return 0;
}

int64_t persist__starttime_ms(unsigned long long starttime)
{
	struct timespec now, boot;
	long hz = sysconf(_SC_CLK_TCK);

	if (hz <= 0)
		hz = 100;
	clock_gettime(CLOCK_REALTIME, &now);
	clock_gettime(CLOCK_BOOTTIME, &boot);
	return ((int64_t)now.tv_sec - boot.tv_sec) * 1000 +
	       ((int64_t)now.tv_nsec - boot.tv_nsec) / 1000000 +
	       (int64_t)(starttime * 1000 / (unsigned long long)hz);
}
