// SPDX-License-Identifier: MIT
/* A listening socket made in the thread and kept under a name: what a
 * service restarted with zero downtime takes up again (connections queue
 * in its backlog while no process accepts). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <asm/unistd.h>
#include <handle/ptr.h>
#include <handle/socket.h>
#include <transport/mem.h>
#include "session_internal.h"

union addr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
	struct sockaddr_un un;
};

/* PORT as 0..65535.  Returns: 0; -EINVAL. */
static int parse_port(const char *p, uint16_t *port)
{
	char *end;
	unsigned long v;

	if (!*p || *p < '0' || *p > '9')
		return -EINVAL;
	v = strtoul(p, &end, 10);
	if (*end || v > 65535)
		return -EINVAL;
	*port = htons((uint16_t)v);
	return 0;
}

/* Returns: 0 with *a and *len; -EINVAL. */
static int parse_address(const char *s, union addr *a, socklen_t *len)
{
	char host[64];
	const char *colon;
	size_t hl;

	memset(a, 0, sizeof *a);
	if (strncmp(s, "unix:", 5) == 0) {
		if (!s[5] || strlen(s + 5) >= sizeof a->un.sun_path)
			return -EINVAL;
		a->un.sun_family = AF_UNIX;
		strcpy(a->un.sun_path, s + 5);
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(s + 5) + 1);
		return 0;
	}
	if (strncmp(s, "tcp6:[", 6) == 0) {
		const char *close = strchr(s + 6, ']');
		if (!close || close[1] != ':' || (hl = (size_t)(close - s - 6)) >= sizeof host)
			return -EINVAL;
		memcpy(host, s + 6, hl);
		host[hl] = 0;
		a->in6.sin6_family = AF_INET6;
		*len = sizeof a->in6;
		if (inet_pton(AF_INET6, host, &a->in6.sin6_addr) != 1)
			return -EINVAL;
		return parse_port(close + 2, &a->in6.sin6_port);
	}
	if (strncmp(s, "tcp:", 4) != 0 || !(colon = strrchr(s + 4, ':')))
		return -EINVAL;
	hl = (size_t)(colon - s - 4);
	if (hl >= sizeof host)
		return -EINVAL;
	memcpy(host, s + 4, hl);
	host[hl] = 0;
	a->in.sin_family = AF_INET;
	*len = sizeof a->in;
	if (strcmp(host, "*") == 0)
		a->in.sin_addr.s_addr = htonl(INADDR_ANY);
	else if (strcmp(host, "localhost") == 0)
		a->in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else if (inet_pton(AF_INET, host, &a->in.sin_addr) != 1)
		return -EINVAL;
	return parse_port(colon + 1, &a->in.sin_port);
}

/* The address as persistctl shows it, with the real port. */
static void describe(const union addr *a, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (a->sa.sa_family == AF_UNIX)
		snprintf(buf, len, "unix:%s", a->un.sun_path);
	else if (a->sa.sa_family == AF_INET6)
		snprintf(buf, len, "tcp6:[%s]:%u",
			 inet_ntop(AF_INET6, &a->in6.sin6_addr, host, sizeof host),
			 ntohs(a->in6.sin6_port));
	else
		snprintf(buf, len, "tcp:%s:%u", inet_ntop(AF_INET, &a->in.sin_addr, host, sizeof host),
			 ntohs(a->in.sin_port));
}

PERSIST_EXPORT int persist_session_listen(struct persist_session *s, const char *name,
					  const char *address, char *why, size_t whylen)
{
	struct handle_task *t = &s->t.task;
	struct handle_fd fd = { 0 };
	struct handle_ptr p;
	union addr a;
	socklen_t len;
	uint64_t at = 0;
	char desc[160];
	const char *step = "socket";
	int one = 1, r;

	if (why && whylen)
		*why = 0;
	if (!s->connected)
		return -ENOTCONN;
	if (!address || parse_address(address, &a, &len) < 0) {
		persist__say(why, whylen, "'%s' is not an address: give tcp:HOST:PORT, "
			     "tcp6:[HOST]:PORT or unix:PATH (port 0 picks one)", address ? address : "");
		return -EINVAL;
	}
	/* The address and an int for the option travel in the thread's memory. */
	r = transport_alloc(s->t.conn, sizeof a + sizeof(socklen_t) + sizeof one, &at);
	if (r == 0)
		r = handle_ptr_init(&p, t, at, sizeof a);
	if (r == 0)
		r = (int)handle_socket(&fd, t, a.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (r == 0 && a.sa.sa_family != AF_UNIX) {
		struct handle_ptr o;
		step = "SO_REUSEADDR";
		r = handle_ptr_init(&o, t, at + sizeof a + sizeof(socklen_t), sizeof one);
		if (r == 0)
			r = handle_ptr_write(&o, t, 0, &one, sizeof one);
		if (r == 0)
			r = (int)handle_setsockopt(&fd, SOL_SOCKET, SO_REUSEADDR, &o);
	}
	if (r == 0) {
		struct handle_ptr bp;
		step = "bind";
		r = handle_ptr_write(&p, t, 0, &a, len);
		if (r == 0)
			r = handle_ptr_init(&bp, t, at, len);
		if (r == 0)
			r = (int)handle_bind(&fd, &bp);
	}
	if (r == 0) {
		step = "listen";
		r = (int)handle_listen(&fd, 128);
	}
	if (r == 0 && a.sa.sa_family != AF_UNIX) {
		/* The real port, when 0 asked for any. */
		struct near_sysif *sys = t->sysif;
		struct near_request q;
		struct handle_ptr lp;
		socklen_t l = sizeof a;
		int64_t res;
		step = "getsockname";
		r = handle_ptr_init(&lp, t, at + sizeof a, sizeof l);
		if (r == 0)
			r = handle_ptr_write(&lp, t, 0, &l, sizeof l);
		res = r ? r : sys->ops->syscall(sys, near_request_set(&q, __NR_getsockname, fd.fd,
							(int64_t)at, (int64_t)(at + sizeof a), 0, 0, 0));
		r = res < 0 ? (int)res : handle_ptr_read(&p, t, 0, &a, sizeof a);
	}
	if (at)
		transport_free(s->t.conn, at);
	if (r < 0) {
		persist__say(why, whylen, "cannot listen on %s in the thread: %s: %s", address, step,
			     strerror(-r));
		if (handle_fd_valid(&fd))
			handle_fd_close(&fd);
		return r;
	}
	describe(&a, desc, sizeof desc);
	r = persist_session_fd_keep(s, name, &fd, desc, why, whylen);
	if (r < 0)
		handle_fd_close(&fd);
	return r;
}
