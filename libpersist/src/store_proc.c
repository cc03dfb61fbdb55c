// SPDX-License-Identifier: MIT
/* Processes as the kernel sees them, through /proc, over raw syscalls so the
 * library never touches errno. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <asm/unistd.h>
#include <near/syscall.h>
#include <persist/recover.h>
#include "store_internal.h"

static long sys_open(const char *path, int flags)
{
	return near_syscall4(__NR_openat, AT_FDCWD, (long)path, flags | O_CLOEXEC, 0);
}

static void sys_close(long fd)
{
	near_syscall1(__NR_close, fd);
}

static long sys_read(long fd, void *buf, size_t len)
{
	long r;

	do
		r = near_syscall3(__NR_read, fd, (long)buf, (long)len);
	while (r == -EINTR);
	return r;
}

long persist__read_file(const char *path, char **out, size_t max)
{
	size_t len = 0, cap = 4096;
	char *buf = NULL, *b;
	long fd = sys_open(path, O_RDONLY), r;

	*out = NULL;
	if (fd < 0)
		return fd;
	for (;;) {
		if (!buf || len + 1 >= cap) {
			if (buf)
				cap *= 2;
			if (!(b = realloc(buf, cap))) {
				r = -ENOMEM;
				goto fail;
			}
			buf = b;
		}
		r = sys_read(fd, buf + len, cap - len - 1);
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		len += (size_t)r;
		if (len >= max)
			break;
	}
	sys_close(fd);
	buf[len] = 0;
	*out = buf;
	return (long)len;
fail:
	sys_close(fd);
	free(buf);
	return r;
}

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
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (x > (ULLONG_MAX - 9) / 10)
			return -EPROTO;
		x = x * 10 + (unsigned)(*p - '0');
	}
	*v = neg ? -(long long)x : (long long)x;
	return 0;
}

/* Fields are counted after the LAST ')': the command name between the
 * parentheses is whatever the process set (PR_SET_NAME), spaces and
 * parentheses included, so scanf("%d (%s) %c") would misread it. */
static int parse_stat(const char *b, size_t len, struct persist_proc_stat *out)
{
	const char *open = memchr(b, '(', len), *close = memrchr(b, ')', len);
	const char *p, *end = b + len;
	long long v;
	size_t n;
	int field = 3;

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
			out->state = *t;
		} else if (field == 4) {
			if (field_num(t, p, &v) < 0)
				return -EPROTO;
			out->ppid = (int)v;
		} else if (field == 22) {
			if (field_num(t, p, &v) < 0 || v < 0)
				return -EPROTO;
			out->starttime = (unsigned long long)v;
		}
		field++;
	}
	return 0;
}

PERSIST_EXPORT int persist_proc_stat(int pid, struct persist_proc_stat *out)
{
	/* Big enough for 52 fields of 20 digits and a 64-byte name: no
	 * allocation on recovery's per-record path. */
	char path[48], buf[2048];
	long fd, r;

	if (pid <= 0)
		return -ESRCH;
	memset(out, 0, sizeof *out);
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	fd = sys_open(path, O_RDONLY);
	if (fd < 0)
		return fd == -ENOENT ? -ESRCH : (int)fd;
	r = sys_read(fd, buf, sizeof buf);
	sys_close(fd);
	/* A process that ended between open and read. */
	if (r == 0 || r == -ESRCH)
		return -ESRCH;
	if (r < 0)
		return (int)r;
	return parse_stat(buf, (size_t)r, out);
}

PERSIST_EXPORT int persist_proc_starttime(int pid, unsigned long long *ticks)
{
	struct persist_proc_stat ps;
	int r = persist_proc_stat(pid, &ps);

	if (r == 0)
		*ticks = ps.starttime;
	return r;
}

int persist__proc_cmdline(int pid, char **blob, size_t *len)
{
	char path[48], *b;
	long r;

	snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
	r = persist__read_file(path, &b, 4u << 20);
	if (r < 0)
		return r == -ENOENT ? -ESRCH : (int)r;
	*len = (size_t)r;
	/* A process that rewrote its argv area may leave no final NUL;
	 * read_file keeps a spare byte, which holds one. */
	if (r > 0 && b[r - 1] != 0)
		(*len)++;
	*blob = b;
	return 0;
}

int persist__proc_cwd(int pid, char **cwd)
{
	char path[48], buf[PATH_MAX];
	long r;

	*cwd = NULL;
	snprintf(path, sizeof path, "/proc/%d/cwd", pid);
	r = near_syscall4(__NR_readlinkat, AT_FDCWD, (long)path, (long)buf, sizeof buf - 1);
	if (r < 0)
		return 0; /* unknown (another uid's process, or gone) is not an error */
	buf[r] = 0;
	return persist__strdup(buf, cwd);
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

/* ---- children of a process ---- */

struct ints {
	int *a;
	size_t n, cap;
};

static int ints_push(struct ints *v, int x)
{
	int *b;

	if (v->n == v->cap) {
		size_t cap = v->cap ? 2 * v->cap : 64;
		if (!(b = realloc(v->a, cap * sizeof *b)))
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

/* The layout getdents64 writes; glibc does not declare it. */
struct dirent64_raw {
	unsigned long long d_ino;
	long long d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* Call fn for every all-digits name in directory path. */
static int each_number(const char *path, int (*fn)(void *arg, int n), void *arg)
{
	char buf[8192];
	long fd = sys_open(path, O_RDONLY | O_DIRECTORY), r;
	int ret = 0;

	if (fd < 0)
		return (int)fd;
	while (ret == 0 && (r = near_syscall3(__NR_getdents64, fd, (long)buf, sizeof buf)) > 0) {
		for (long off = 0; off < r && ret == 0;) {
			struct dirent64_raw *d = (struct dirent64_raw *)(buf + off);
			long long v;
			const char *e = d->d_name + strlen(d->d_name);

			off += d->d_reclen;
			if (field_num(d->d_name, e, &v) == 0 && v > 0 && v <= INT_MAX &&
			    d->d_name[0] != '-')
				ret = fn(arg, (int)v);
		}
	}
	if (ret == 0 && r < 0)
		ret = (int)r;
	sys_close(fd);
	return ret;
}

struct kids {
	int pid;
	struct ints v;
	int missing; /* a task without a children file */
};

/* "pid pid pid " from /proc/PID/task/TID/children. */
static int task_children(void *arg, int tid)
{
	struct kids *k = arg;
	char path[64], *b;
	long n;
	int r = 0;

	snprintf(path, sizeof path, "/proc/%d/task/%d/children", k->pid, tid);
	n = persist__read_file(path, &b, 1u << 24);
	if (n == -ENOENT) {
		k->missing = 1; /* the task ended, or no CONFIG_PROC_CHILDREN */
		return 0;
	}
	if (n < 0)
		return n == -ESRCH ? 0 : (int)n;
	for (char *p = b, *e = b + n; p < e && r == 0;) {
		char *t;
		long long v;

		while (p < e && (*p == ' ' || *p == '\n'))
			p++;
		for (t = p; p < e && *p != ' ' && *p != '\n'; p++)
			;
		if (p > t && field_num(t, p, &v) == 0 && v > 0 && v <= INT_MAX)
			r = ints_push(&k->v, (int)v);
	}
	free(b);
	return r;
}

/* Fallback where the children file does not exist: every process whose
 * parent is pid (the parent in /proc/N/stat is the parent's thread group). */
static int by_parent(void *arg, int pid)
{
	struct kids *k = arg;
	struct persist_proc_stat ps;

	if (persist_proc_stat(pid, &ps) == 0 && ps.ppid == k->pid)
		return ints_push(&k->v, pid);
	return 0;
}

PERSIST_EXPORT int persist_proc_children(int pid, int **out, size_t *n)
{
	struct kids k = { .pid = pid };
	char path[48];
	size_t j = 0;
	int r;

	*out = NULL;
	*n = 0;
	if (pid <= 0)
		return -ESRCH;
	snprintf(path, sizeof path, "/proc/%d/task", pid);
	r = each_number(path, task_children, &k);
	if (r == -ENOENT)
		r = -ESRCH;
	if (r == 0 && k.missing && k.v.n == 0 &&
	    near_syscall4(__NR_newfstatat, AT_FDCWD, (long)"/proc/thread-self/children",
			  (long)&(struct stat){ 0 }, 0) == -ENOENT)
		r = each_number("/proc", by_parent, &k);
	if (r < 0) {
		free(k.v.a);
		return r;
	}
	/* Sorted and unique, for bsearch. */
	if (k.v.n) {
		qsort(k.v.a, k.v.n, sizeof *k.v.a, cmp_int);
		for (size_t i = 0; i < k.v.n; i++)
			if (j == 0 || k.v.a[i] != k.v.a[j - 1])
				k.v.a[j++] = k.v.a[i];
	}
	*out = k.v.a;
	*n = j;
	return 0;
}
