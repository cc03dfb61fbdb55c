// SPDX-License-Identifier: MIT
/* A program outside the tree that embeds the persist server loop: it
 * includes only <pserver/pserver.h> (and the libnear headers pserver.pc
 * requires) and is built with nothing but `pkg-config --cflags --libs
 * pserver` (or --static).  A forked child serves one end of a socketpair
 * with pserver_run; the parent reads the hello and asks for getpid. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pserver/pserver.h>

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "pserver-consumer: %s:%d: %s\n", \
	__FILE__, __LINE__, #c); if (child > 0) kill(child, SIGKILL); return 1; } } while (0)

static int read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

static struct pserver srv; /* large: not on the stack */

int main(void)
{
	pid_t child = -1;
	int sv[2];

	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		close(sv[0]);
		if (pserver_init(&srv) != 0)
			_exit(3);
		srv.conn_fd = sv[1];
		srv.listen_fd = -1;
		_exit(pserver_run(&srv) == 0 ? 0 : 4);
	}
	close(sv[1]);

	struct near_hello h;
	char why[128] = "";
	CHECK(read_full(sv[0], &h, sizeof h) == 0);
	CHECK(near_hello_check(&h, why, sizeof why) == 0);
	CHECK(h.pid == child);

	struct near_request req;
	struct near_response resp;
	near_request_set(&req, SYS_getpid, 0, 0, 0, 0, 0, 0);
	CHECK(write(sv[0], &req, sizeof req) == (ssize_t)sizeof req);
	CHECK(read_full(sv[0], &resp, sizeof resp) == 0);
	CHECK(resp.ret == child);

	/* Closing the connection leaves the server nothing to serve. */
	close(sv[0]);
	int status;
	CHECK(waitpid(child, &status, 0) == child);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	printf("pserver-consumer: remote getpid() = %lld, the serving child's pid %d\n",
	       (long long)resp.ret, (int)child);
	return 0;
}
