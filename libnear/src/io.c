// SPDX-License-Identifier: MIT
/* Whole reads and writes on stream sockets (<near/io.h>): the one copy of
 * the wait-then-read loop that controllers share. */
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <asm/unistd.h>
#include <near/io.h>
#include "internal.h"

/* Wait until fd reports events.  Returns: 0, -ETIMEDOUT, or ppoll's
 * -errno.  An error condition on fd counts as ready: the read or write
 * that follows reports it. */
static int wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd p = { fd, events, 0 };
	struct timespec ts = { timeout_ms / 1000, (timeout_ms % 1000) * 1000000L };
	long r;

	do
		r = near_syscall6(__NR_ppoll, (long)&p, 1, timeout_ms < 0 ? 0 : (long)&ts,
				  0, 8 /* the kernel's sigset size */, 0);
	while (r == -EINTR);
	if (r < 0)
		return (int)r;
	return r == 0 ? -ETIMEDOUT : 0;
}

NEAR_EXPORT int near_read_exact(int fd, void *buf, size_t len, int timeout_ms)
{
	char *p = buf;

	while (len) {
		long n;
		int r = wait_fd(fd, POLLIN, timeout_ms);

		if (r < 0)
			return r;
		n = near_syscall6(__NR_recvfrom, fd, (long)p, (long)len, MSG_DONTWAIT, 0, 0);
		if (n == 0)
			return -EPIPE;
		if (n == -EAGAIN || n == -EINTR)
			continue;
		if (n < 0)
			return (int)n;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

NEAR_EXPORT int near_write_all(int fd, const void *buf, size_t len, int timeout_ms)
{
	const char *p = buf;

	while (len) {
		long n;
		int r = wait_fd(fd, POLLOUT, timeout_ms);

		if (r < 0)
			return r;
		n = near_syscall6(__NR_sendto, fd, (long)p, (long)len,
				  MSG_DONTWAIT | MSG_NOSIGNAL, 0, 0);
		if (n == -EAGAIN || n == -EINTR)
			continue;
		if (n < 0)
			return (int)n;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
