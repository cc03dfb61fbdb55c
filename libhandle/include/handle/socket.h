/* SPDX-License-Identifier: MIT */
/* Typed wrappers: sockets (conventions in <handle/fs.h>), and helpers that
 * lay out a msghdr with one SCM_RIGHTS message in task memory. */
#ifndef HANDLE_SOCKET_H
#define HANDLE_SOCKET_H

#include <handle/fd.h>
#include <handle/ptr.h>

#ifdef __cplusplus
extern "C" {
#endif

HANDLE_EXPORT long handle_socket(struct handle_fd *out, struct handle_task *t, int domain,
				 int type, int protocol);
/* scratch: 8 bytes of task memory for the pair. */
HANDLE_EXPORT long handle_socketpair(struct handle_fd out[2], struct handle_task *t,
				     int domain, int type, int protocol,
				     const struct handle_ptr *scratch);
/* addr: the whole pointer is the sockaddr (its size is the addrlen). */
HANDLE_EXPORT long handle_bind(const struct handle_fd *fd, const struct handle_ptr *addr);
HANDLE_EXPORT long handle_connect(const struct handle_fd *fd, const struct handle_ptr *addr);
HANDLE_EXPORT long handle_listen(const struct handle_fd *fd, int backlog);
/* addr and addrlen (a socklen_t) may both be NULL. */
HANDLE_EXPORT long handle_accept4(struct handle_fd *out, const struct handle_fd *fd,
				  const struct handle_ptr *addr, const struct handle_ptr *addrlen,
				  int flags);
HANDLE_EXPORT long handle_shutdown(const struct handle_fd *fd, int how);
/* len: a socklen_t in task memory, in/out. */
HANDLE_EXPORT long handle_getsockopt(const struct handle_fd *fd, int level, int name,
				     const struct handle_ptr *val, const struct handle_ptr *len);
/* val: the whole pointer is the value. */
HANDLE_EXPORT long handle_setsockopt(const struct handle_fd *fd, int level, int name,
				     const struct handle_ptr *val);
/* msg: a struct msghdr in task memory (see handle_msg_rights).  Fds that
 * recvmsg receives are unowned until handle_msg_take_fds adopts them. */
HANDLE_EXPORT long handle_sendmsg(const struct handle_fd *fd, const struct handle_ptr *msg,
				  int flags);
HANDLE_EXPORT long handle_recvmsg(const struct handle_fd *fd, const struct handle_ptr *msg,
				  int flags);

/* Task memory handle_msg_rights needs for a message carrying nfds fds.
 * Returns: the size in bytes. */
HANDLE_EXPORT size_t handle_msg_size(unsigned nfds);

/* Write into buf (task memory, at least handle_msg_size(nfds) bytes) a
 * msghdr whose one iovec is data, with room for one SCM_RIGHTS control
 * message of nfds fds.  To send, fds holds nfds handles of t's table; to
 * receive, fds is NULL.  The msghdr is at the start of buf.
 * Returns: 0; -EFAULT/-EXDEV for bad pointers; -EBADF/-EXDEV for a bad fd;
 * -EINVAL for nfds over 253 (SCM_MAX_FD); the sysif's -errno. */
HANDLE_EXPORT int handle_msg_rights(struct handle_task *t, const struct handle_ptr *buf,
				    const struct handle_ptr *data,
				    const struct handle_fd *fds, unsigned nfds);

/* After handle_recvmsg into a msghdr built by handle_msg_rights: adopt the
 * fds received as owned handles out[0..max).  If more than max arrived, all
 * are closed.
 * Returns: the number adopted (0 if none came); -EMSGSIZE (more than max,
 * all closed); -EXDEV/-EFAULT; -ENOMEM (the fds not adopted are closed). */
HANDLE_EXPORT int handle_msg_take_fds(struct handle_task *t, const struct handle_ptr *buf,
				      struct handle_fd *out, unsigned max);

#ifdef __cplusplus
}
#endif
#endif
