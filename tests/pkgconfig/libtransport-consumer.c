// SPDX-License-Identifier: MIT
/* A program outside the tree that uses libtransport: it includes only
 * <transport/conn.h> (which brings the libnear protocol types libtransport.pc
 * requires) and is built with nothing but `pkg-config --cflags --libs
 * libtransport` (or --static).  libtransport has no server of its own (that
 * is persist-server, not one of its dependencies): a forked child plays a
 * minimal one on a socketpair, by hand: a valid hello, then one answer to
 * one getpid request, with its own pid. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <transport/conn.h>

/* The hello's arch field: NEAR_ARCH_ID, which transport_attach checks
 * (-ENOEXEC for another one). */
#if defined(__x86_64__)
#define ARCH_ID 1
#elif defined(__aarch64__)
#define ARCH_ID 2
#else
#error "persist speaks x86_64 and aarch64"
#endif

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "libtransport-consumer: %s:%d: %s\n", \
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

/* The responder: exits 0 after answering one getpid and seeing end of file. */
static int respond(int fd)
{
	struct near_hello h;
	struct near_request req;
	struct near_response resp;
	char c;

	memset(&h, 0, sizeof h);
	h.magic = NEAR_PROTO_MAGIC;
	h.version = NEAR_PROTO_VERSION;
	h.arch = ARCH_ID;
	h.epoch = 1;
	h.pid = getpid();
	h.page_size = (uint32_t)sysconf(_SC_PAGESIZE);
	if (write(fd, &h, sizeof h) != (ssize_t)sizeof h || read_full(fd, &req, sizeof req) < 0)
		return 2;
	if (req.nr != SYS_getpid)
		return 3;
	resp.ret = getpid();
	if (write(fd, &resp, sizeof resp) != (ssize_t)sizeof resp)
		return 4;
	return read(fd, &c, 1) == 0 ? 0 : 5;
}

int main(void)
{
	pid_t child = -1;
	int sv[2], status;
	struct transport_conn *c;
	char why[256] = "";

	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		close(sv[0]);
		_exit(respond(sv[1]));
	}
	close(sv[1]);

	int r = transport_attach(sv[0], 5000, &c, why, sizeof why);
	if (r != 0)
		fprintf(stderr, "libtransport-consumer: transport_attach: %d: %s\n", r, why);
	CHECK(r == 0);
	CHECK(transport_hello(c)->pid == child);
	CHECK(transport_set_timeout(c, 5000) == 0);
	int64_t pid = transport_syscall(c, SYS_getpid, 0, 0, 0, 0, 0, 0);
	CHECK(pid == child);

	/* Closing the connection is the responder's end of file. */
	transport_close(c);
	CHECK(waitpid(child, &status, 0) == child);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	printf("libtransport-consumer: transport_syscall(getpid) = %lld, the responding child's pid %d\n",
	       (long long)pid, (int)child);
	return 0;
}
