// SPDX-License-Identifier: MIT
/* Fd-table garbage collection and unshare_files: make a table hold exactly
 * the fds that handles own. */
#include <fcntl.h>
#include <sched.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <near/dirent.h>
#include "internal.h"

#define GC_MIN 256
#define GC_CHUNK 4096

static int owned(struct handle_fd_table *t, int fd)
{
	struct handle__entry *e = handle__entry_find(t, fd);

	return e && e->refs;
}

static int parse_fd(const char *s)
{
	long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 0x7fffffff / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return (int)v;
}

/* Close the unowned fds listed in one getdents64 chunk.  Returns: how
 * many were closed; -EIO for a malformed listing; the transport's error
 * if the connection failed (the sweep stops: what is left is unknown). */
static int sweep(struct handle_task *t, const char *buf, long n, int dirfd)
{
	struct near_dirent_walk w;
	struct near_dirent d;
	int closed = 0, r;

	/* The listing may come from another process: the walk bounds every
	 * record. */
	near_dirent_walk_init(&w, buf, (size_t)n);
	while ((r = near_dirent_next(&w, &d)) == 1) {
		int fd = parse_fd(d.name);
		long c;

		if (fd < 0 || fd == dirfd || owned(t->files_, fd))
			continue;
		c = handle__sys(t, __NR_close, fd, 0, 0, 0);
		if (c == 0)
			closed++;
		else if (handle__transport_failed(t, c))
			return (int)c; /* not a refusal to skip: the task is out of reach */
	}
	return r < 0 ? r : closed;
}

static int gc(struct handle_task *t, const struct handle_ptr *scratch, char *dents)
{
	static const char path[] = "/proc/self/fd";
	struct handle_ptr area;
	uint64_t at;
	long dirfd, n;
	int r, closed = 0;

	if (scratch->size < GC_MIN)
		return -EFAULT;
	r = handle_ptr_addr(scratch, t, scratch->size, &at);
	if (r == 0)
		r = handle_ptr_write(scratch, t, 0, path, sizeof path);
	if (r < 0)
		return r;
	handle_ptr_slice(&area, scratch, 64, HANDLE__MIN(scratch->size - 64, GC_CHUNK));
	dirfd = handle__sys(t, __NR_openat, AT_FDCWD, (long)at,
			    O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (dirfd < 0)
		return (int)dirfd;
	while ((n = handle__sys(t, __NR_getdents64, dirfd, (long)area.addr,
				(long)area.size, 0)) > 0) {
		r = handle_ptr_read(&area, t, 0, dents, (size_t)n);
		if (r == 0)
			r = sweep(t, dents, n, (int)dirfd);
		if (r < 0)
			break;
		closed += r;
	}
	handle__sys(t, __NR_close, dirfd, 0, 0, 0);
	if (n < 0)
		return (int)n;
	return r < 0 ? r : closed;
}

HANDLE_EXPORT int handle_fd_table_gc(struct handle_task *t, const struct handle_ptr *scratch)
{
	struct handle_ptr local;
	char *mem;
	int r;

	/* Heap, not stack: 8 KiB frames are unkind to small-stack callers. */
	mem = malloc(2 * GC_CHUNK + 64);
	if (!mem)
		return -ENOMEM;
	if (!scratch) {
		r = handle_task_is_local(t);
		if (r == 0)
			r = -EXDEV;
		if (r < 0)
			goto out;
		handle_ptr_local(&local, t, mem + GC_CHUNK, GC_CHUNK + 64);
		scratch = &local;
	}
	r = gc(t, scratch, mem);
out:
	free(mem);
	return r;
}

static long close_range(struct handle_task *t, unsigned first, unsigned last)
{
	return handle__sys(t, __NR_close_range, first, last, 0, 0);
}

/* Close what lies between the numbers t's table owns. */
static int close_gaps(struct handle_task *t)
{
	struct handle__entry *e;
	unsigned next = 0;
	long r;

	for (e = handle__entry_first(t->files_); e; e = handle__entry_next(e)) {
		if (!e->refs)
			continue;
		if ((unsigned)e->fd > next && (r = close_range(t, next, e->fd - 1)) < 0)
			return (int)r;
		next = (unsigned)e->fd + 1;
	}
	return (int)close_range(t, next, ~0u);
}

HANDLE_EXPORT int handle_task_unshare_files(struct handle_task *t)
{
	struct handle__fdlist *list = (struct handle__fdlist *)&t->fds_;
	struct handle_fd_table *old = t->files_, *fresh;
	struct handle_fd *h;
	long r;

	fresh = handle__table_new(t->pid, NULL);
	if (!fresh)
		return -ENOMEM;
	/* Make every entry first, so that -ENOMEM leaves all as it was. */
	LIST_FOREACH(h, list, link_) {
		if (!handle__entry_get(fresh, h->fd)) {
			handle__table_unref(fresh);
			return -ENOMEM;
		}
	}
	r = handle__sys(t, __NR_unshare, CLONE_FILES, 0, 0, 0);
	if (r < 0) {
		handle__table_unref(fresh);
		return (int)r;
	}
	LIST_FOREACH(h, list, link_) {
		struct handle__entry *e = handle__entry_find(fresh, h->fd);

		handle__entry_put(h->entry_);
		h->entry_ = e;
		e->refs++;
	}
	t->files_ = fresh;
	handle__table_unref(old);
	return close_gaps(t);
}
