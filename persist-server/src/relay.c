// SPDX-License-Identifier: MIT
/* persist-server --relay SOCK: copy stdin to the server listening at SOCK
 * and its answers to stdout, until either side ends.  What a controller on
 * another host runs through ssh's stdio where the far sshd refuses
 * unix-socket forwarding (libpersist/src/session_ssh.c).  Raw syscalls, no
 * libc calls; both directions are pumped without blocking, so a large
 * pipelined write never waits on an answer we are not reading. */
#include <errno.h>
#include <fcntl.h>
#include <sys/un.h>
#include "relay.h"
#include "sys.h"

#define RELAY_BUF 65536

struct pipe_half {
	int from, to;
	char buf[RELAY_BUF];
	unsigned long head, tail; /* bytes [head, tail) wait to be written */
	int eof;                  /* from ended: shut to down once drained */
	int done;
};

static void say(const char *msg)
{
	unsigned long n = 0;

	while (msg[n])
		n++;
	near_syscall3(__NR_write, 2, L(msg), L(n));
}

static int set_nonblock(int fd)
{
	long fl = near_syscall2(__NR_fcntl, fd, F_GETFL);

	return fl < 0 ? (int)fl : (int)near_syscall3(__NR_fcntl, fd, F_SETFL, fl | O_NONBLOCK);
}

/* One step of a direction, after poll said something happened.
 * Returns: 0; -errno (the relay ends). */
static int pump(struct pipe_half *h, int sock_is_to)
{
	long n;

	if (!h->eof && h->tail < RELAY_BUF) {
		n = near_syscall3(__NR_read, h->from, L(h->buf + h->tail), RELAY_BUF - h->tail);
		if (n == 0)
			h->eof = 1;
		else if (n > 0)
			h->tail += (unsigned long)n;
		else if (n != -EAGAIN && n != -EINTR)
			return (int)n;
	}
	while (h->head < h->tail) {
		n = near_syscall3(__NR_write, h->to, L(h->buf + h->head), h->tail - h->head);
		if (n == -EAGAIN || n == -EINTR)
			break;
		if (n < 0)
			return (int)n;
		h->head += (unsigned long)n;
	}
	if (h->head == h->tail)
		h->head = h->tail = 0;
	if (h->eof && h->head == h->tail && !h->done) {
		h->done = 1;
		/* The server hears of our end (its controller left); stdout
		 * just closes. */
		if (sock_is_to)
			near_syscall2(__NR_shutdown, h->to, SHUT_WR);
		else
			near_syscall1(__NR_close, h->to);
	}
	return 0;
}

int pserver_relay(const char *path)
{
	static struct pipe_half up, down; /* stdin -> sock, sock -> stdout */
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	unsigned long n = 0;
	long fd, r;

	while (path[n])
		n++;
	if (n == 0 || n >= sizeof sa.sun_path) {
		say("persist-server: --relay needs a socket path (at most 107 bytes)\n");
		return 2;
	}
	for (unsigned long i = 0; i <= n; i++)
		sa.sun_path[i] = path[i];
	fd = near_syscall3(__NR_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || (r = near_syscall3(__NR_connect, fd, L(&sa), sizeof sa)) < 0) {
		say("persist-server: --relay: no server answers at ");
		say(path);
		say("\n");
		return 1;
	}
	up.from = 0, up.to = (int)fd;
	down.from = (int)fd, down.to = 1;
	if (set_nonblock(0) < 0 || set_nonblock(1) < 0 || set_nonblock((int)fd) < 0)
		return 1;
	/* Until the server's side ends: what it says last still goes out. */
	while (!down.done) {
		struct pollfd p[4];
		unsigned np = 0;
		int iu = -1, od = -1, is = -1, ou = -1;

		if (!up.eof && up.tail < RELAY_BUF)
			iu = (int)np, p[np++] = (struct pollfd){ 0, POLLIN, 0 };
		if (up.head < up.tail)
			ou = (int)np, p[np++] = (struct pollfd){ (int)fd, POLLOUT, 0 };
		if (!down.eof && down.tail < RELAY_BUF)
			is = (int)np, p[np++] = (struct pollfd){ (int)fd, POLLIN, 0 };
		if (down.head < down.tail)
			od = (int)np, p[np++] = (struct pollfd){ 1, POLLOUT, 0 };
		if (np == 0)
			break;
		r = sys_ppoll(p, np, NULL);
		if (r < 0 && r != -EINTR)
			return 1;
		if (r <= 0)
			continue;
		if (((iu >= 0 && p[iu].revents) || (ou >= 0 && p[ou].revents)) && pump(&up, 1) < 0)
			up.eof = up.done = 1, up.head = up.tail = 0;
		if (((is >= 0 && p[is].revents) || (od >= 0 && p[od].revents)) && pump(&down, 0) < 0)
			return 1;
	}
	return 0;
}
