// SPDX-License-Identifier: MIT
/* Typed wrappers: sockets; msghdrs with SCM_RIGHTS in task memory. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include "internal.h"

HANDLE_EXPORT long handle_socket(struct handle_fd *out, struct handle_task *t, int domain,
				 int type, int protocol)
{
	struct handle__call c = { t, 0 };

	return handle__adopt(&c, handle__sys(t, __NR_socket, domain, type, protocol, 0), out);
}

HANDLE_EXPORT long handle_socketpair(struct handle_fd out[2], struct handle_task *t,
				     int domain, int type, int protocol,
				     const struct handle_ptr *scratch)
{
	struct handle__call c = { t, 0 };
	long p = handle__ptrarg(&c, scratch, 2 * sizeof(int));
	long r = handle__run(&c, __NR_socketpair, domain, type, protocol, p, 0, 0);

	return handle__adopt_pair(&c, r, scratch, out);
}

HANDLE_EXPORT long handle_bind(const struct handle_fd *fd, const struct handle_ptr *addr)
{
	return handle__fd_buf(__NR_bind, fd, addr, 0, 0);
}

HANDLE_EXPORT long handle_connect(const struct handle_fd *fd, const struct handle_ptr *addr)
{
	return handle__fd_buf(__NR_connect, fd, addr, 0, 0);
}

HANDLE_EXPORT long handle_listen(const struct handle_fd *fd, int backlog)
{
	return handle__fd_int(__NR_listen, fd, backlog, 0);
}

HANDLE_EXPORT long handle_shutdown(const struct handle_fd *fd, int how)
{
	return handle__fd_int(__NR_shutdown, fd, how, 0);
}

HANDLE_EXPORT long handle_accept4(struct handle_fd *out, const struct handle_fd *fd,
				  const struct handle_ptr *addr, const struct handle_ptr *addrlen,
				  int flags)
{
	struct handle__call c = { NULL, 0 };
	long n = handle__fdarg(&c, fd), a = handle__ptrarg(&c, addr, 0);
	long l = handle__ptrarg(&c, addrlen, sizeof(socklen_t));

	return handle__adopt(&c, handle__run(&c, __NR_accept4, n, a, l, flags, 0, 0), out);
}

HANDLE_EXPORT long handle_getsockopt(const struct handle_fd *fd, int level, int name,
				     const struct handle_ptr *val, const struct handle_ptr *len)
{
	struct handle__call c = { NULL, 0 };
	long n = handle__fdarg(&c, fd), v = handle__ptrarg(&c, val, 0);
	long l = handle__ptrarg(&c, len, sizeof(socklen_t));

	return handle__run(&c, __NR_getsockopt, n, level, name, v, l, 0);
}

HANDLE_EXPORT long handle_setsockopt(const struct handle_fd *fd, int level, int name,
				     const struct handle_ptr *val)
{
	struct handle__call c = { NULL, 0 };
	long n = handle__fdarg(&c, fd), v = handle__ptrarg(&c, val, 0);

	return handle__run(&c, __NR_setsockopt, n, level, name, v, val ? (long)val->size : 0, 0);
}

HANDLE_EXPORT long handle_sendmsg(const struct handle_fd *fd, const struct handle_ptr *msg,
				  int flags)
{
	return handle__fd_ptr(__NR_sendmsg, fd, msg, sizeof(struct msghdr), flags);
}

HANDLE_EXPORT long handle_recvmsg(const struct handle_fd *fd, const struct handle_ptr *msg,
				  int flags)
{
	return handle__fd_ptr(__NR_recvmsg, fd, msg, sizeof(struct msghdr), flags);
}

/* Layout of a message in task memory: msghdr, iovec, control buffer. */
#define SCM_MAX 253
#define IOV_OFF sizeof(struct msghdr)
#define CTL_OFF (IOV_OFF + sizeof(struct iovec))

HANDLE_EXPORT size_t handle_msg_size(unsigned nfds)
{
	return CTL_OFF + CMSG_SPACE(nfds * sizeof(int));
}

HANDLE_EXPORT int handle_msg_rights(struct handle_task *t, const struct handle_ptr *buf,
				    const struct handle_ptr *data,
				    const struct handle_fd *fds, unsigned nfds)
{
	struct handle__call c = { t, 0 };
	size_t size = handle_msg_size(nfds), ctl = size - CTL_OFF;
	struct msghdr *m;
	struct iovec *iov;
	struct cmsghdr *cm;
	char *local;
	long at, d;
	int r;

	if (nfds > SCM_MAX)
		return -EINVAL;
	at = handle__ptrarg(&c, buf, size);
	d = handle__ptrarg(&c, data, 0);
	if (c.err)
		return (int)c.err;
	local = calloc(1, size);
	if (!local)
		return -ENOMEM;
	m = (struct msghdr *)local;
	iov = (struct iovec *)(local + IOV_OFF);
	iov->iov_base = (void *)d;
	iov->iov_len = data ? data->size : 0;
	m->msg_iov = (struct iovec *)(at + IOV_OFF);
	m->msg_iovlen = 1;
	if (nfds) {
		m->msg_control = (void *)(at + CTL_OFF);
		m->msg_controllen = ctl;
		cm = (struct cmsghdr *)(local + CTL_OFF);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		for (unsigned i = 0; fds && i < nfds; i++)
			((int *)CMSG_DATA(cm))[i] = (int)handle__fdarg(&c, &fds[i]);
	}
	r = c.err ? (int)c.err : handle_ptr_write(buf, t, 0, local, size);
	free(local);
	return r;
}

static void close_all(struct handle_task *t, const int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		handle__sys(t, __NR_close, fds[i], 0, 0, 0);
}

HANDLE_EXPORT int handle_msg_take_fds(struct handle_task *t, const struct handle_ptr *buf,
				      struct handle_fd *out, unsigned max)
{
	struct handle__call c = { t, 0 };
	struct msghdr m;
	struct cmsghdr *cm;
	const int *fds;
	char *ctl;
	size_t n, room;
	unsigned i;
	int r;

	r = handle_ptr_read(buf, t, 0, &m, sizeof m);
	if (r < 0)
		return r;
	/* Bound what the task wrote back by the buffer we laid out. */
	room = buf->size - HANDLE__MIN(buf->size, CTL_OFF);
	if (!m.msg_control || m.msg_controllen < CMSG_LEN(0))
		return 0;
	if (m.msg_controllen > room || (uint64_t)m.msg_control != buf->addr + CTL_OFF)
		return -EFAULT;
	ctl = malloc(m.msg_controllen);
	if (!ctl)
		return -ENOMEM;
	r = handle_ptr_read(buf, t, CTL_OFF, ctl, m.msg_controllen);
	m.msg_control = ctl;
	cm = r < 0 ? NULL : CMSG_FIRSTHDR(&m);
	if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
	    cm->cmsg_len < CMSG_LEN(0) || cm->cmsg_len > m.msg_controllen) {
		free(ctl);
		return r < 0 ? r : 0;
	}
	fds = (const int *)CMSG_DATA(cm);
	n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
	r = n > max ? -EMSGSIZE : (int)n;
	if (r < 0)
		close_all(t, fds, n);
	for (i = 0; r >= 0 && i < n; i++) {
		long a = handle__adopt(&c, fds[i], &out[i]);

		if (a < 0) { /* adopt closed fds[i]; the rest go too */
			close_all(t, fds + i + 1, n - i - 1);
			for (unsigned j = i; j--;)
				handle_fd_invalidate(&out[j]);
			r = (int)a;
		}
	}
	free(ctl);
	return r;
}
