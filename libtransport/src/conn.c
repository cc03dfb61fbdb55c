// SPDX-License-Identifier: MIT
/* Making and ending a connection: the server speaks first with its hello. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <asm/unistd.h>
#include "internal.h"

static void say(char *why, size_t len, const char *fmt, const char *arg, int err)
{
	if (why && len)
		snprintf(why, len, fmt, arg, strerror(-err));
}

/* Page sizes Linux has on the architectures the protocol knows. */
#define PAGE_MIN 4096u
#define PAGE_MAX (1u << 20)

int transport__hello_ok(struct near_hello *h, char *why, size_t whylen)
{
	int r = near_hello_check(h, why, whylen);

	if (r < 0)
		return r;
	if (h->pid <= 0) {
		if (why && whylen)
			snprintf(why, whylen, "the server's hello names pid %d, which no process has",
				 h->pid);
		return -EPROTO;
	}
	if (h->page_size < PAGE_MIN || h->page_size > PAGE_MAX ||
	    (h->page_size & (h->page_size - 1))) {
		if (why && whylen)
			snprintf(why, whylen, "the server's hello has a page size of %u bytes, "
				 "which no server has", h->page_size);
		return -EPROTO;
	}
	/* Not for us to print, but a program may: keep it a string. */
	h->reason[sizeof h->reason - 1] = '\0';
	return 0;
}

TRANSPORT_EXPORT int transport_attach(int fd, int timeout_ms,
				      struct transport_conn **out, char *why,
				      size_t whylen)
{
	struct transport_conn *c = calloc(1, sizeof *c);
	int r;

	if (why && whylen)
		why[0] = '\0';
	if (!c) {
		near_syscall1(__NR_close, fd);
		return -ENOMEM;
	}
	c->fd = fd;
	c->timeout_ms = timeout_ms;
	RB_INIT(&c->blocks);
	transport__arm(c); /* the whole hello by the deadline */
	r = transport__read_exact(c, &c->hello, sizeof c->hello);
	if (r == -ECONNRESET) {
		say(why, whylen, "the server closed the connection before its hello%s (%s)", "", r);
		goto fail;
	}
	if (r < 0) {
		say(why, whylen, "no hello from the server%s: %s", "", r);
		goto fail;
	}
	r = transport__hello_ok(&c->hello, why, whylen);
	if (r < 0)
		goto fail;
	transport__sysif_init(c);
	transport__trace_init(c);
	*out = c;
	return 0;
fail:
	near_syscall1(__NR_close, fd);
	free(c);
	return r;
}

TRANSPORT_EXPORT int transport_connect(const char *path, int timeout_ms,
				       struct transport_conn **out, char *why,
				       size_t whylen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	long fd, r;

	if (strlen(path) >= sizeof sa.sun_path) {
		say(why, whylen, "socket path too long: %s (%s)", path, -ENAMETOOLONG);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = near_syscall3(__NR_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return (int)fd;
	r = near_syscall3(__NR_connect, fd, (long)&sa, sizeof sa);
	if (r < 0) {
		say(why, whylen, "cannot connect to %s: %s", path, (int)r);
		near_syscall1(__NR_close, fd);
		return (int)r;
	}
	return transport_attach((int)fd, timeout_ms, out, why, whylen);
}

TRANSPORT_EXPORT void transport_close(struct transport_conn *c)
{
	if (!c)
		return;
	near_syscall1(__NR_close, c->fd);
	transport__forget_memory(c);
	free(c->out);
	free(c->q);
	free(c);
}

TRANSPORT_EXPORT const struct near_hello *transport_hello(const struct transport_conn *c)
{
	return &c->hello;
}

TRANSPORT_EXPORT int transport_fd(const struct transport_conn *c)
{
	return c->fd;
}

TRANSPORT_EXPORT int transport_set_timeout(struct transport_conn *c, int ms)
{
	c->timeout_ms = ms;
	return 0;
}
