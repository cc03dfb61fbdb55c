/* SPDX-License-Identifier: MIT */
/* Typed wrappers: epoll (conventions in <handle/fs.h>). */
#ifndef HANDLE_EPOLL_H
#define HANDLE_EPOLL_H

#include <handle/fd.h>
#include <handle/ptr.h>

#ifdef __cplusplus
extern "C" {
#endif

HANDLE_EXPORT long handle_epoll_create1(struct handle_fd *out, struct handle_task *t, int flags);
/* fd must be in epfd's table; event (a struct epoll_event) may be NULL
 * for EPOLL_CTL_DEL. */
HANDLE_EXPORT long handle_epoll_ctl(const struct handle_fd *epfd, int op,
				    const struct handle_fd *fd, const struct handle_ptr *event);
/* Waits for up to as many events as fit in events (epoll_pwait, no mask).
 * Returns: the number of events, or -errno. */
HANDLE_EXPORT long handle_epoll_wait(const struct handle_fd *epfd,
				     const struct handle_ptr *events, int timeout);

#ifdef __cplusplus
}
#endif
#endif
