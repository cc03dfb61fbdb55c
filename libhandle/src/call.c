// SPDX-License-Identifier: MIT
/* Argument checks shared by the wrappers. */
#include <fcntl.h>
#include "internal.h"

long handle__fdarg(struct handle__call *c, const struct handle_fd *fd)
{
	struct far_fd far;
	struct near_fd n;

	if (!fd || !fd->task)
		return handle__fail(c, -EBADF);
	if (!c->task)
		c->task = fd->task;
	handle_fd_far(fd, &far);
	if (far_fd_to_near(&far, handle_task_fd_table(c->task), &n) < 0)
		return handle__fail(c, -EXDEV);
	return n.fd;
}

long handle__dirarg(struct handle__call *c, const struct handle_fd *fd)
{
	return fd ? handle__fdarg(c, fd) : AT_FDCWD;
}

long handle__ptrarg(struct handle__call *c, const struct handle_ptr *p, size_t need)
{
	uint64_t a;
	int r;

	if (!p)
		return 0;
	if (!c->task)
		return handle__fail(c, -EBADF);
	r = handle_ptr_addr(p, c->task, need, &a);
	return r < 0 ? handle__fail(c, r) : (long)a;
}

long handle__adopt(struct handle__call *c, long r, struct handle_fd *out)
{
	int a;

	out->task = NULL;
	if (r < 0)
		return r;
	a = handle_fd_adopt(out, c->task, (int)r);
	if (a < 0)
		handle__sys(c->task, __NR_close, r, 0, 0, 0);
	return a;
}

long handle__fd_buf(long nr, const struct handle_fd *fd, const struct handle_ptr *buf,
		    size_t need, long a)
{
	struct handle__call c = { NULL, 0 };
	long n = handle__fdarg(&c, fd);
	long p = handle__ptrarg(&c, buf, need);

	return handle__run(&c, nr, n, p, buf ? (long)buf->size : 0, a, 0, 0);
}

long handle__fd_ptr(long nr, const struct handle_fd *fd, const struct handle_ptr *p,
		    size_t need, long a)
{
	struct handle__call c = { NULL, 0 };
	long n = handle__fdarg(&c, fd);
	long addr = handle__ptrarg(&c, p, need);

	return handle__run(&c, nr, n, addr, a, 0, 0, 0);
}

long handle__fd_int(long nr, const struct handle_fd *fd, long a, long b)
{
	struct handle__call c = { NULL, 0 };
	long n = handle__fdarg(&c, fd);

	return handle__run(&c, nr, n, a, b, 0, 0, 0);
}

long handle__at(long nr, struct handle_task *t, const struct handle_fd *dirfd,
		const struct handle_ptr *path, long a, long b)
{
	struct handle__call c = { t, 0 };
	long d = handle__dirarg(&c, dirfd);
	long p = handle__ptrarg(&c, path, 1);

	return handle__run(&c, nr, d, p, a, b, 0, 0);
}

long handle__adopt_pair(struct handle__call *c, long r, const struct handle_ptr *scratch,
			struct handle_fd out[2])
{
	int fds[2];

	out[0].task = out[1].task = NULL;
	if (r < 0)
		return r;
	r = handle_ptr_read(scratch, c->task, 0, fds, sizeof fds);
	if (r < 0)
		return r; /* the fds are beyond reach: handle_fd_table_gc finds them */
	r = handle__adopt(c, fds[0], &out[0]);
	if (r < 0) {
		handle__sys(c->task, __NR_close, fds[1], 0, 0, 0);
		return r;
	}
	r = handle__adopt(c, fds[1], &out[1]);
	if (r < 0)
		handle_fd_invalidate(&out[0]);
	return r;
}
