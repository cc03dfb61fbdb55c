// SPDX-License-Identifier: MIT
/* Typed wrappers: epoll. */
#include <sys/epoll.h>
#include "internal.h"

HANDLE_EXPORT long handle_epoll_create1(struct handle_fd *out, struct handle_task *t, int flags)
{
	struct handle__call c = { t, 0 };

	return handle__adopt(&c, handle__sys(t, __NR_epoll_create1, flags, 0, 0, 0), out);
}

HANDLE_EXPORT long handle_epoll_ctl(const struct handle_fd *epfd, int op,
				    const struct handle_fd *fd, const struct handle_ptr *event)
{
	struct handle__call c = { NULL, 0 };
	long e = handle__fdarg(&c, epfd), n = handle__fdarg(&c, fd);
	long ev = handle__ptrarg(&c, event, sizeof(struct epoll_event));

	return handle__run(&c, __NR_epoll_ctl, e, op, n, ev, 0, 0);
}

/* epoll_pwait with no mask: aarch64 has no epoll_wait. */
HANDLE_EXPORT long handle_epoll_wait(const struct handle_fd *epfd,
				     const struct handle_ptr *events, int timeout)
{
	struct handle__call c = { NULL, 0 };
	long e = handle__fdarg(&c, epfd), ev = handle__ptrarg(&c, events, 0);
	long max = events ? (long)(events->size / sizeof(struct epoll_event)) : 0;

	return handle__run(&c, __NR_epoll_pwait, e, ev, max, timeout, 0, HANDLE_SIGSET_SIZE);
}
