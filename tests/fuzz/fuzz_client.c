// SPDX-License-Identifier: MIT
/* libFuzzer harness for libtransport's client against a hostile server.
 *
 * The fuzz input (fuzz_client.h) is what a fake server sends: its hello,
 * answers and READ_MEM data, cut into writes that may carry fds, plus a
 * short script of what the controller does with the connection: blocking
 * calls, pipelines, the non-blocking API, memory reads and writes in-band
 * (and the memory transport's probe), allocations, take_fd, fork, exec,
 * batches, the sysif.  libtransport's sources are compiled into this harness
 * with the fuzzer's instrumentation.
 *
 * The whole stream is written into a socketpair before the controller
 * starts, and the server's side is shut for writing: every wait of the
 * controller ends at once, with bytes or end of file, whatever its timeout,
 * so a run is fast and the same every time.  The server's side is never
 * shut for reading, so the controller's sends succeed; they are drained and
 * parsed after each operation.
 *
 * What aborts (besides ASan, UBSan, leaks, timeouts and -malloc_limit_mb):
 *   - a result that is neither success nor a -errno (-4095..-1), or not the
 *     one the API documents where it is certain (-EBUSY, -EAGAIN);
 *   - a request from the controller that is malformed, or that it should
 *     never have sent (only those of the script may appear);
 *   - bytes sent after the connection was found broken;
 *   - an fd left open in this process once the connection is closed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <asm/unistd.h>
#include "internal.h" /* libtransport's: to force in-band and tame the pid */
#include "fuzz_client.h"

/* The harness's own code gets no coverage feedback: the fuzzer is steered
 * by libtransport's branches. */
#define NOCOV __attribute__((no_sanitize("coverage"), noinline))

#define fail(...) \
	do { \
		fprintf(stderr, "fuzz_client: " __VA_ARGS__); \
		fputc('\n', stderr); \
		abort(); \
	} while (0)

/* A pid no process can have (above PID_MAX_LIMIT): the probe's kcmp and
 * process_vm_readv of it fail the same way every run, and never look into
 * another process. */
#define NO_PID 0x7fffffff

/* ---- the controller's stream, as the server receives it ---------------- */

struct watch {
	int fd;                 /* the server's end */
	unsigned char req[sizeof(struct near_request)];
	size_t have;            /* bytes of req so far */
	uint64_t skip;          /* WRITE_MEM payload still to come */
	size_t total;           /* bytes received in all */
};

NOCOV static void check_request(const struct near_request *q)
{
	switch (q->nr) {
	case __NR_getpid:
	case __NR_exit_group:
	case __NR_execve:
	case __NR_mmap:
	case NEAR_OP_SEND_FD:
	case NEAR_OP_FORK:
		return;
	case NEAR_OP_READ_MEM:
	case NEAR_OP_WRITE_MEM:
		if ((uint64_t)q->args[1] > NEAR_PROTO_MEM_MAX)
			fail("a memory operation of %llu bytes was sent",
			     (unsigned long long)q->args[1]);
		return;
	default:
		fail("the controller sent nr %lld, which the script never asked for",
		     (long long)q->nr);
	}
}

NOCOV static void feed(struct watch *w, const unsigned char *b, size_t n)
{
	w->total += n;
	while (n) {
		size_t k;
		if (w->skip) {
			k = w->skip < n ? (size_t)w->skip : n;
			w->skip -= k;
		} else {
			k = sizeof w->req - w->have < n ? sizeof w->req - w->have : n;
			memcpy(w->req + w->have, b, k);
			w->have += k;
			if (w->have == sizeof w->req) {
				struct near_request q;
				memcpy(&q, w->req, sizeof q);
				check_request(&q);
				w->have = 0;
				if (q.nr == NEAR_OP_WRITE_MEM)
					w->skip = (uint64_t)q.args[1];
			}
		}
		b += k;
		n -= k;
	}
}

/* Take whatever the controller sent. */
NOCOV static void drain(struct watch *w)
{
	static unsigned char buf[1 << 16];

	for (;;) {
		ssize_t n = recv(w->fd, buf, sizeof buf, MSG_DONTWAIT);
		if (n > 0) {
			feed(w, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || errno == EAGAIN || errno == ECONNRESET)
			return;
		fail("recv: %s", strerror(errno));
	}
}

/* ---- the fake server ---------------------------------------------------- */

static int devnull = -1;

/* Write the stream in writes of chunk bytes; those in fd_mask carry fds. */
NOCOV static void serve(int fd, const uint8_t *s, size_t n, size_t chunk, unsigned fd_mask)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(FC_FDS * sizeof(int))];
	} ctl;
	size_t off = 0;

	if (chunk == 0 || chunk > n)
		chunk = n;
	if (chunk && (n + chunk - 1) / chunk > FC_MAX_WRITES)
		chunk = (n + FC_MAX_WRITES - 1) / FC_MAX_WRITES;
	for (unsigned k = 0; off < n; k++) {
		size_t len = n - off < chunk ? n - off : chunk;
		struct iovec iov = { (void *)(s + off), len };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t r;

		if (k < 8 && (fd_mask >> k & 1)) {
			struct cmsghdr *cm;
			int fds[FC_FDS];

			memset(&ctl, 0, sizeof ctl);
			mh.msg_control = ctl.buf;
			mh.msg_controllen = sizeof ctl.buf;
			cm = CMSG_FIRSTHDR(&mh);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof fds);
			for (int i = 0; i < FC_FDS; i++)
				fds[i] = devnull;
			memcpy(CMSG_DATA(cm), fds, sizeof fds);
		}
		r = sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r != (ssize_t)len)
			fail("the fake server's write %u: %zd of %zu bytes (%s)", k, r, len,
			     r < 0 ? strerror(errno) : "short");
		off += len;
	}
	if (shutdown(fd, SHUT_WR) < 0)
		fail("shutdown: %s", strerror(errno));
}

/* ---- the controller ----------------------------------------------------- */

NOCOV static int fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		fail("opendir /proc/self/fd: %s", strerror(errno));
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

NOCOV static void check_ret(const char *what, long r)
{
	if (r > 0 || r < -4095)
		fail("%s returned %ld: neither 0 nor a -errno", what, r);
}

static const int timeouts[4] = { -1, 0, 1000, -1 };
static int probe;

/* After a hello: no pid of another process, and in-band unless the probe
 * is to run. */
NOCOV static void tame(struct transport_conn *c)
{
	if (c->hello.pid > 0)
		c->hello.pid = NO_PID;
	if (!probe)
		c->mem = TRANSPORT_MEM_INBAND;
}

/* Collect every outstanding result: each is 0 or a -errno, then -EAGAIN. */
NOCOV static void collect(struct transport_conn *c)
{
	unsigned n = transport_outstanding(c);
	int64_t res;

	for (unsigned i = 0; i < n; i++)
		check_ret("transport_wait", transport_wait(c, &res));
	if (transport_wait(c, &res) != -EAGAIN || transport_outstanding(c) != 0)
		fail("transport_wait: requests still outstanding after all were collected");
}

NOCOV static unsigned submit_n(struct transport_conn *c, unsigned n)
{
	struct near_request q;
	unsigned ok = 0;

	near_request_set(&q, __NR_getpid, 0, 0, 0, 0, 0, 0);
	for (unsigned i = 0; i < n; i++) {
		int r = transport_submit(c, &q);
		check_ret("transport_submit", r);
		ok += r == 0;
	}
	return ok;
}

NOCOV static void run_op(struct transport_conn *c, uint8_t op)
{
	static unsigned char mem[(1 << 16) + 16];
	unsigned p = op >> 4;
	struct near_request q;
	int64_t res;
	int r;

	switch (op & 15) {
	case FC_OP_CALL:
	case FC_OP_EXIT:
		near_request_set(&q, (op & 15) == FC_OP_CALL ? __NR_getpid : __NR_exit_group,
				 0, 0, 0, 0, 0, 0);
		check_ret("transport_call", transport_call(c, &q, &res));
		break;
	case FC_OP_PIPELINE:
		submit_n(c, p % 8 + 1);
		collect(c);
		break;
	case FC_OP_BUSY:
		if (submit_n(c, p % 4 + 1)) {
			near_request_set(&q, __NR_getpid, 0, 0, 0, 0, 0, 0);
			if ((r = transport_call(c, &q, &res)) != -EBUSY)
				fail("transport_call with requests outstanding: %d, not -EBUSY", r);
		}
		collect(c);
		break;
	case FC_OP_READ_MEM:
		check_ret("transport_read_mem", transport_read_mem(c, mem, FC_ARENA, fc_lens[p]));
		break;
	case FC_OP_WRITE_MEM:
		check_ret("transport_write_mem", transport_write_mem(c, FC_ARENA, mem, fc_lens[p]));
		break;
	case FC_OP_ALLOC: {
		uint64_t at;
		r = transport_alloc(c, fc_sizes[p % 4], &at);
		check_ret("transport_alloc", r);
		if (r == 0 && (p & 4) && transport_free(c, at) != 0)
			fail("transport_free of a fresh allocation failed");
		break;
	}
	case FC_OP_TAKE_FD: {
		int fd = -1;
		r = transport_take_fd(c, (int)p, &fd);
		check_ret("transport_take_fd", r);
		if (r == 0) {
			if (fd < 0 || !(fcntl(fd, F_GETFD) & FD_CLOEXEC))
				fail("transport_take_fd gave fd %d, not an open close-on-exec fd", fd);
			close(fd);
		}
		break;
	}
	case FC_OP_EXEC:
		near_request_set(&q, __NR_execve, 0, 0, 0, 0, 0, 0);
		res = 1;
		r = transport_exec(c, &q, &res);
		check_ret("transport_exec", r);
		if (r == 0) {
			check_ret("transport_exec's result", (long)res);
			tame(c);
		}
		break;
	case FC_OP_BATCH: {
		struct transport_buf b[2] = { { FC_ARENA, mem, 8 }, { FC_ARENA + 64, mem, 8 } };
		near_request_set(&q, __NR_getpid, 0, 0, 0, 0, 0, 0);
		check_ret("transport_batch", transport_batch(c, b, p % 3, &q, &res));
		break;
	}
	case FC_OP_NONBLOCK:
		submit_n(c, p % 4 + 1);
		for (int i = 0; i < 64 && transport_outstanding(c); i++) {
			struct pollfd pf = { transport_fd(c), transport_events(c), 0 };
			if (pf.events)
				poll(&pf, 1, 0);
			check_ret("transport_io", transport_io(c));
			while ((r = transport_result(c, &res)) != -EAGAIN)
				check_ret("transport_result", r);
		}
		collect(c);
		break;
	case FC_OP_FORK: {
		int pid = 0;
		r = transport_fork(c, (int)p, &pid);
		check_ret("transport_fork", r);
		if (r == 0 && pid <= 0)
			fail("transport_fork gave pid %d", pid);
		break;
	}
	case FC_OP_FLUSH:
		submit_n(c, p % 4 + 1);
		check_ret("transport_flush", transport_flush(c));
		collect(c);
		break;
	case FC_OP_SYSIF: {
		struct near_sysif *s = transport_sysif(c);
		near_sysif_syscall(s, __NR_getpid, 0, 0, 0, 0, 0, 0);
		check_ret("near_sysif_failed", near_sysif_failed(s));
		check_ret("sysif read_mem", s->ops->read_mem(s, mem, FC_ARENA, 16));
		near_sysif_reset(s);
		break;
	}
	case FC_OP_MEM_USE:
		r = transport_mem_use(c, (enum transport_mem_kind)(p % 4));
		if (r != 0 && r != -EXDEV)
			fail("transport_mem_use: %d", r);
		break;
	case FC_OP_TIMEOUT:
		transport_set_timeout(c, timeouts[p % 4]);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct transport_conn *c = NULL;
	struct watch w = { 0 };
	size_t nops, head;
	int sv[2], fds, r;

	if (size < FC_HEADER || size > FC_MAX_LEN)
		return -1;
	if (devnull < 0 && (devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
		fail("open /dev/null: %s", strerror(errno));
	nops = data[3] % (FC_MAX_OPS + 1);
	head = FC_HEADER + nops;
	if (size < head)
		return -1;
	probe = !!(data[0] & FC_PROBE);
	fds = fd_count();

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		fail("socketpair: %s", strerror(errno));
	serve(sv[1], data + head, size - head, 16u * data[1], data[2]);
	w.fd = sv[1];

	r = transport_attach(sv[0], timeouts[data[0] & 3], &c, NULL, 0);
	check_ret("transport_attach", r);
	if (r == 0) {
		tame(c);
		for (size_t i = 0; i < nops; i++) {
			int broken = c->broken;
			size_t before;

			drain(&w);
			before = w.total;
			run_op(c, data[FC_HEADER + i]);
			drain(&w);
			if (broken && w.total != before)
				fail("op %zu (%#x) sent %zu bytes on a broken connection", i,
				     data[FC_HEADER + i], w.total - before);
		}
		transport_close(c);
	}
	drain(&w);
	close(sv[1]);
	if (fd_count() != fds)
		fail("%d fds open after the connection was closed, %d before", fd_count(), fds);
	return 0;
}
