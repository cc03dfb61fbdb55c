// SPDX-License-Identifier: MIT
/* Calls whose answers are not plain results: an fd attached to the answer,
 * and a hello in place of execve's answer. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <asm/unistd.h>
#include "internal.h"

static int send_request(struct transport_conn *c, const struct near_request *req)
{
	int r;

	if (c->q_count)
		return -EBUSY;
	r = transport__queue(c, req, NULL, 0, NULL, 0);
	if (r == 0)
		r = transport__send_only(c);
	if (r < 0)
		return r;
	/* This call reads its answer itself: take it off the pipeline. */
	c->q_head = c->q_count = c->q_recv = 0;
	return 0;
}

TRANSPORT_EXPORT int transport_take_fd(struct transport_conn *c, int remote_fd,
				       int *local_fd)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct near_request req;
	int64_t res;
	struct iovec iov = { &res, sizeof res };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf };
	struct cmsghdr *cm;
	long n;
	int r, fd = -1;

	near_request_set(&req, NEAR_OP_SEND_FD, remote_fd, 0, 0, 0, 0, 0);
	transport__arm(c);
	r = send_request(c, &req);
	if (r < 0)
		return r;
	r = transport__poll(c, POLLIN);
	if (r < 0) {
		transport__break(c, r);
		return r;
	}
	do
		n = near_syscall3(__NR_recvmsg, c->fd, (long)&mh, MSG_CMSG_CLOEXEC);
	while (n == -EINTR);
	if (n <= 0) {
		transport__break(c, n == 0 ? -ECONNRESET : (int)n);
		return c->broken;
	}
	/* The buffer has room for two fds (CMSG_SPACE rounds up), and a
	 * server may attach more: keep the first, close every other one the
	 * kernel gave us (it closes those that did not fit). */
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; CMSG_LEN((i + 1) * sizeof(int)) <= cm->cmsg_len; i++) {
			int got;
			memcpy(&got, CMSG_DATA(cm) + i * sizeof(int), sizeof got);
			if (fd < 0)
				fd = got;
			else
				near_syscall1(__NR_close, got);
		}
	}
	if (n < (long)sizeof res) {
		r = transport__read_exact(c, (char *)&res + n, sizeof res - (size_t)n);
		if (r < 0) {
			if (fd >= 0)
				near_syscall1(__NR_close, fd);
			transport__break(c, r);
			return r;
		}
	}
	transport__traced(c, &req, res);
	if (res < 0 || fd < 0) {
		if (fd >= 0)
			near_syscall1(__NR_close, fd);
		return res < 0 ? transport__errno(res) : -EPROTO;
	}
	*local_fd = fd;
	return 0;
}

TRANSPORT_EXPORT int transport_fork(struct transport_conn *c, int sock, int *pid)
{
	struct near_request req;
	int64_t res;
	int r = transport_call(c, near_request_set(&req, NEAR_OP_FORK, sock, 0, 0, 0, 0, 0),
			       &res);

	if (r < 0)
		return r;
	if (res < 0)
		return transport__errno(res);
	if (res == 0 || res > INT32_MAX)
		return -EPROTO; /* no pid */
	*pid = (int)res;
	return 0;
}

TRANSPORT_EXPORT int transport_exec(struct transport_conn *c,
				    const struct near_request *req, int64_t *result)
{
	struct near_hello h;
	int r;

	transport__arm(c);
	r = send_request(c, req);
	if (r < 0)
		return r;
	/* execve never returns a value with the magic's bit pattern: the
	 * first 8 bytes say whether this is a failure or a new hello. */
	r = transport__read_exact(c, &h, 8);
	if (r < 0) {
		transport__break(c, r);
		return r;
	}
	if (h.magic != NEAR_PROTO_MAGIC) {
		int64_t v;
		memcpy(&v, &h, 8);
		if (transport__errno(v) != v) {
			/* Neither a hello nor execve's -errno: a success
			 * without a hello would leave us speaking to a program
			 * that does not speak the protocol. */
			transport__break(c, -EPROTO);
			return -EPROTO;
		}
		*result = v;
		transport__traced(c, req, *result);
		return 0;
	}
	r = transport__read_exact(c, (char *)&h + 8, sizeof h - 8);
	if (r == 0)
		r = transport__hello_ok(&h, NULL, 0);
	if (r < 0) {
		transport__break(c, r);
		return r;
	}
	transport__traced(c, req, 0);
	c->hello = h;
	*result = 0;
	transport__forget_memory(c);
	return 0;
}
