// SPDX-License-Identifier: MIT
/* Hostile peers against a real persist-server process: garbage, truncated
 * and oversized requests, silent and non-reading controllers, a flood of
 * connections.  Every test ends by checking that the server still runs and
 * serves a fresh controller (docs/design.md, "Reliability" and decision 6).
 *
 * The server runs as root and executes the syscalls it is sent, so garbage
 * is shaped to never be one: every request's nr is replaced by a value that
 * is no syscall and no protocol operation on any architecture, in all 64
 * bits *and* in its low 32 bits (the kernel reads only those: 2^32 + 62
 * would be kill).  Every wait has a deadline, so a bug fails a test instead
 * of hanging it. */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "harness.h"

enum { REQ = sizeof(struct near_request) };

/* ---- helpers ---------------------------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

/* A request number that is neither a syscall nor a protocol operation:
 * >= 100000 (beyond every architecture's table, MIPS's 4000-6999 included)
 * with its low 32 bits in the same range, or below -1000. */
static int64_t harmless_nr(uint64_t *rng)
{
	uint64_t r = rng_next(rng);
	int64_t low = 100000 + (int64_t)(r % 900000);

	switch ((r >> 60) & 3) {
	case 0: return low;
	case 1: return (int64_t)(((r >> 20) & 0x3fffffffULL) << 32) | low;
	case 2: return -1001 - (int64_t)((r >> 8) % (1ULL << 40));
	default: return INT64_MIN + (int64_t)((r >> 8) % 1000);
	}
}

/* n random requests with harmless numbers. */
static struct near_request *garbage(size_t n, uint64_t seed)
{
	struct near_request *q = malloc(n * REQ + REQ);
	unsigned char *p = (unsigned char *)q;
	uint64_t rng = seed;

	assert_non_null(q);
	for (size_t i = 0; i < n * REQ + REQ; i++)
		p[i] = (unsigned char)rng_next(&rng);
	for (size_t i = 0; i < n; i++)
		q[i].nr = harmless_nr(&rng);
	return q;
}

static int poll_ms(int fd, short ev, int ms)
{
	struct pollfd p = { fd, ev, 0 };
	int r;

	do
		r = poll(&p, 1, ms);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

/* Send out and receive exactly inlen bytes at the same time (the server
 * answers while we send), half-closing after the last byte if shut.
 * Returns: 0, -ETIMEDOUT if nothing moves for CTL_TIMEOUT_MS, -EPIPE at an
 * early end of file, or another -errno. */
static int pump(int fd, const void *out, size_t outlen, void *in, size_t inlen,
		int shut)
{
	const char *o = out;
	char *i = in;

	if (!outlen && shut)
		shutdown(fd, SHUT_WR);
	while (outlen || inlen) {
		struct pollfd p = { fd, (short)((outlen ? POLLOUT : 0) | (inlen ? POLLIN : 0)), 0 };
		int r = poll(&p, 1, CTL_TIMEOUT_MS);
		ssize_t n;

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		if (inlen && (p.revents & (POLLIN | POLLHUP | POLLERR))) {
			n = recv(fd, i, inlen, MSG_DONTWAIT);
			if (n == 0)
				return -EPIPE;
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				return -errno;
			if (n > 0) {
				i += n;
				inlen -= (size_t)n;
			}
		}
		if (outlen && (p.revents & POLLOUT)) {
			n = send(fd, o, outlen, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				return -errno;
			if (n > 0) {
				o += n;
				outlen -= (size_t)n;
				if (!outlen && shut)
					shutdown(fd, SHUT_WR);
			}
		}
	}
	return 0;
}

/* Read and discard until the server hangs up: end of file, or ECONNRESET
 * (a unix socket closed with unread data resets its peer).  Fails the test
 * if that does not happen within the deadline.  Returns: the bytes
 * discarded before the hangup. */
static size_t expect_hangup(int fd)
{
	static char buf[1 << 16];
	size_t total = 0;

	for (;;) {
		ssize_t n;

		if (poll_ms(fd, POLLIN, CTL_TIMEOUT_MS) <= 0)
			fail_msg("the server did not hang up within %d ms (%zu bytes read)",
				 CTL_TIMEOUT_MS, total);
		n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return total;
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			fail_msg("recv: %s", strerror(errno));
		total += (size_t)n;
	}
}

/* Asserts nothing arrives on fd for ms. */
static void expect_quiet(int fd, int ms)
{
	assert_int_equal(poll_ms(fd, POLLIN, ms), 0);
}

/* Connect without reading anything (a connect timeout bounds a full
 * backlog).  Returns: the fd. */
static int raw_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { CTL_TIMEOUT_MS / 1000, 0 };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv), 0);
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		fail_msg("connect %s: %s", path, strerror(errno));
	return fd;
}

/* Connect and, if someone else is served, take over.  Checks the epoch the
 * takeover answers is the one the hello announced. */
static void connect_served(struct ctl *c, const char *path)
{
	must_connect(c, path);
	if (c->hello.flags & NEAR_HELLO_BUSY)
		assert_int_equal(ctl_takeover(c), (int64_t)c->hello.epoch);
}

/* How every test ends: the server runs, and a fresh good controller is
 * served (taking over from whoever is left). */
static void assert_still_serves(struct fixture *f)
{
	struct ctl c;

	assert_true(server_alive(&f->srv));
	connect_served(&c, f->srv.path);
	assert_int_equal(ctl_call(&c, __NR_getpid, 0, 0, 0, 0, 0, 0), f->srv.pid);
	ctl_close(&c);
	assert_true(server_alive(&f->srv));
}

static int fd_count(pid_t pid)
{
	char path[64];
	struct dirent *e;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	d = opendir(path);
	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Wait (bounded) until the server holds at most max fds.  Returns: the
 * last count seen. */
static int wait_fd_count(pid_t pid, int max)
{
	int n = fd_count(pid);

	for (int i = 0; i < 200 && n > max; i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		n = fd_count(pid);
	}
	return n;
}

static int inq(int fd)
{
	int n = 0;

	assert_int_equal(ioctl(fd, FIONREAD, &n), 0);
	return n;
}

/* Wait up to ms until at least want bytes are queued for reading on fd,
 * without reading them.  Returns: 1 if they are. */
static int wait_inq(int fd, int want, int ms)
{
	for (int i = 0; i <= ms; i++) {
		struct timespec ts = { 0, 1000 * 1000 };
		if (inq(fd) >= want)
			return 1;
		nanosleep(&ts, NULL);
	}
	return 0;
}

static void send_getpid(int fd, size_t n)
{
	struct near_request q[64];

	assert_true(n <= 64);
	for (size_t i = 0; i < n; i++)
		near_request_set(&q[i], __NR_getpid, 0, 0, 0, 0, 0, 0);
	assert_int_equal(ctl_write_all(fd, q, n * REQ), 0);
}

/* ---- (1) garbage ------------------------------------------------------- */

/* 4000 random requests (219 KiB) with harmless numbers: 4000 times -ENOSYS,
 * in order, and the connection is still in step afterwards. */
static void garbage_requests(void **state)
{
	struct fixture *f = *state;
	enum { N = 4000 };
	struct near_request *q = garbage(N, 0x9e3779b97f4a7c15ULL);
	static int64_t rets[N];

	assert_int_equal(pump(f->ctl.fd, q, N * REQ, rets, sizeof rets, 0), 0);
	for (int i = 0; i < N; i++)
		if (rets[i] != -ENOSYS)
			fail_msg("answer %d (nr %lld) is %lld, not -ENOSYS", i,
				 (long long)q[i].nr, (long long)rets[i]);
	assert_int_equal(ctl_call(&f->ctl, __NR_getpid, 0, 0, 0, 0, 0, 0), f->srv.pid);
	free(q);
	assert_still_serves(f);
}

/* Garbage that is not a multiple of 56 bytes, then end of file: every
 * complete request is answered, the partial tail is dropped unexecuted,
 * and the server hangs up. */
static void garbage_with_partial_tail(void **state)
{
	struct fixture *f = *state;
	enum { N = 1500, TAIL = 37 };
	struct near_request *q = garbage(N, 42);
	static int64_t rets[N];

	/* The tail starts like a real getpid request: it must not run either. */
	q[N].nr = __NR_getpid;
	assert_int_equal(pump(f->ctl.fd, q, N * REQ + TAIL, rets, sizeof rets, 1), 0);
	for (int i = 0; i < N; i++)
		assert_int_equal(rets[i], -ENOSYS);
	assert_int_equal(expect_hangup(f->ctl.fd), 0);
	free(q);
	assert_still_serves(f);
}

/* A syscall number wider than 32 bits is no syscall: the kernel would read
 * only its low half (2^32 + __NR_getpid runs getpid). */
static void wide_syscall_numbers(void **state)
{
	struct fixture *f = *state;
	static const int64_t wide[] = {
		((int64_t)1 << 32) + __NR_getpid,
		((int64_t)0x12345 << 32) + __NR_getppid,
		INT64_MAX - 0xffffffffLL + __NR_getpid,
		(int64_t)0x80000000LL + __NR_getpid,
	};

	for (size_t i = 0; i < sizeof wide / sizeof wide[0]; i++)
		assert_int_equal(ctl_call(&f->ctl, wide[i], 0, 0, 0, 0, 0, 0), -ENOSYS);
	assert_int_equal(ctl_call(&f->ctl, __NR_getpid, 0, 0, 0, 0, 0, 0), f->srv.pid);
	assert_still_serves(f);
}

/* ---- (2) truncated ----------------------------------------------------- */

/* 30 bytes of a request, then close: nothing runs, the server goes on. */
static void truncated_request(void **state)
{
	struct fixture *f = *state;
	struct near_request q;

	near_request_set(&q, __NR_getpid, 0, 0, 0, 0, 0, 0);
	assert_int_equal(ctl_write_all(f->ctl.fd, &q, 30), 0);
	ctl_close(&f->ctl);
	assert_still_serves(f);

	/* The same after a complete one, half-closing: the complete one is
	 * answered, then the server hangs up. */
	must_connect(&f->ctl, f->srv.path);
	{
		struct near_request two[2];
		int64_t ret = 0;

		near_request_set(&two[0], __NR_getpid, 0, 0, 0, 0, 0, 0);
		near_request_set(&two[1], __NR_getpid, 0, 0, 0, 0, 0, 0);
		assert_int_equal(pump(f->ctl.fd, two, REQ + 30, &ret, sizeof ret, 1), 0);
		assert_int_equal(ret, f->srv.pid);
		assert_int_equal(expect_hangup(f->ctl.fd), 0);
	}
	assert_still_serves(f);
}

/* End of file inside a NEAR_OP_WRITE_MEM payload: the write is not
 * answered, but what was owed before it is, as at any other end of file. */
static void eof_inside_payload(void **state)
{
	struct fixture *f = *state;
	uint64_t buf = remote_map(&f->ctl, 4096);
	struct {
		struct near_request q[2];
		char payload[50];
	} msg;
	int64_t ret = 0;

	memset(&msg, 'x', sizeof msg);
	near_request_set(&msg.q[0], __NR_getpid, 0, 0, 0, 0, 0, 0);
	near_request_set(&msg.q[1], NEAR_OP_WRITE_MEM, (int64_t)buf, 100, 0, 0, 0, 0);
	assert_int_equal(pump(f->ctl.fd, &msg, sizeof msg, &ret, sizeof ret, 1), 0);
	assert_int_equal(ret, f->srv.pid);
	assert_int_equal(expect_hangup(f->ctl.fd), 0);
	assert_still_serves(f);
}

/* ---- (3) oversized ----------------------------------------------------- */

/* A memory operation longer than NEAR_PROTO_MEM_MAX: the answers owed come
 * first, then -EMSGSIZE, then the server hangs up without running what
 * follows. */
static void oversized_memory_ops(void **state)
{
	struct fixture *f = *state;
	static const struct {
		int64_t op;
		uint64_t len;
	} cases[] = {
		{ NEAR_OP_WRITE_MEM, NEAR_PROTO_MEM_MAX + 1ull },
		{ NEAR_OP_WRITE_MEM, 1ull << 62 },
		{ NEAR_OP_WRITE_MEM, ~0ull },
		{ NEAR_OP_READ_MEM, NEAR_PROTO_MEM_MAX + 1ull },
		{ NEAR_OP_READ_MEM, 1ull << 62 },
		{ NEAR_OP_READ_MEM, ~0ull },
	};
	uint64_t buf = remote_map(&f->ctl, 4096);

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct {
			struct near_request q[3];
			char payload[1000];
		} msg;
		int64_t rets[2] = { 0, 0 };

		if (i)
			connect_served(&f->ctl, f->srv.path);
		memset(&msg, 0, sizeof msg);
		near_request_set(&msg.q[0], __NR_getpid, 0, 0, 0, 0, 0, 0);
		near_request_set(&msg.q[1], cases[i].op, (int64_t)buf, (int64_t)cases[i].len,
				 0, 0, 0, 0);
		/* Must never run: the stream is not resynchronised. */
		near_request_set(&msg.q[2], __NR_getppid, 0, 0, 0, 0, 0, 0);
		assert_int_equal(pump(f->ctl.fd, &msg, sizeof msg, rets, sizeof rets, 0), 0);
		assert_int_equal(rets[0], f->srv.pid);
		assert_int_equal(rets[1], -EMSGSIZE);
		assert_int_equal(expect_hangup(f->ctl.fd), 0);
		ctl_close(&f->ctl);
	}
	assert_still_serves(f);
}

/* ---- (4) silent controller, takeover ---------------------------------- */

static void silent_controller_taken_over(void **state)
{
	struct fixture *f = *state;
	struct ctl c2;
	int64_t x;

	/* f->ctl is served and says nothing. */
	must_connect(&c2, f->srv.path);
	assert_true(c2.hello.flags & NEAR_HELLO_BUSY);
	assert_false(f->ctl.hello.flags & NEAR_HELLO_BUSY);
	assert_true(c2.hello.epoch > f->ctl.hello.epoch);
	assert_int_equal(ctl_takeover(&c2), (int64_t)c2.hello.epoch);
	assert_int_equal(ctl_call(&c2, __NR_getpid, 0, 0, 0, 0, 0, 0), f->srv.pid);
	/* The old controller gets an error: end of file. */
	assert_int_equal(ctl_read_all(f->ctl.fd, &x, sizeof x), -EPIPE);
	assert_int_equal(ctl_call(&f->ctl, __NR_getpid, 0, 0, 0, 0, 0, 0), -EPIPE);
	ctl_close(&c2);
	assert_still_serves(f);
}

/* A served peer that never even read its hello is taken over the same way. */
static void mute_peer_taken_over(void **state)
{
	struct fixture *f = *state;
	int fd;

	ctl_close(&f->ctl);
	fd = raw_connect(f->srv.path);
	assert_int_equal(wait_inq(fd, sizeof(struct near_hello), CTL_TIMEOUT_MS), 1);
	assert_still_serves(f);
	/* Its hello is still there to read, then end of file. */
	assert_int_equal(expect_hangup(fd), sizeof(struct near_hello));
	close(fd);
}

/* ---- (5) pending controller ------------------------------------------- */

/* A controller that connects while another is served and sends ordinary
 * requests waits; once the first leaves, its queued requests are answered.
 * If half_close, it also shuts its sending side after queueing them (a
 * scripted controller: requests, then end of input). */
static void pending_served_later(struct fixture *f, int half_close)
{
	struct ctl c2;
	int64_t rets[3];

	must_connect(&c2, f->srv.path);
	assert_true(c2.hello.flags & NEAR_HELLO_BUSY);
	send_getpid(c2.fd, 3);
	if (half_close)
		assert_int_equal(shutdown(c2.fd, SHUT_WR), 0);
	/* It is not served while the first one is... */
	expect_quiet(c2.fd, 200);
	assert_int_equal(ctl_call(&f->ctl, __NR_getppid, 0, 0, 0, 0, 0, 0), getpid());
	expect_quiet(c2.fd, 100);
	/* ...and is once the first one goes. */
	ctl_close(&f->ctl);
	assert_int_equal(ctl_recv(&c2, rets, 3), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(rets[i], f->srv.pid);
	if (half_close)
		assert_int_equal(expect_hangup(c2.fd), 0);
	else
		assert_int_equal(ctl_call(&c2, __NR_getpid, 0, 0, 0, 0, 0, 0), f->srv.pid);
	ctl_close(&c2);
	assert_still_serves(f);
}

static void pending_controller_served(void **state)
{
	pending_served_later(*state, 0);
}

static void pending_half_closed_controller_served(void **state)
{
	pending_served_later(*state, 1);
}

/* A newer pending controller supersedes an older one, which sees end of
 * file; the newer one can take over. */
static void pending_superseded(void **state)
{
	struct fixture *f = *state;
	struct ctl c2, c3;

	must_connect(&c2, f->srv.path);
	must_connect(&c3, f->srv.path);
	assert_true(c3.hello.epoch > c2.hello.epoch);
	assert_int_equal(expect_hangup(c2.fd), 0);
	assert_int_equal(ctl_takeover(&c3), (int64_t)c3.hello.epoch);
	assert_int_equal(ctl_call(&c3, __NR_getpid, 0, 0, 0, 0, 0, 0), f->srv.pid);
	ctl_close(&c2);
	ctl_close(&c3);
	assert_still_serves(f);
}

/* ---- (6) flood --------------------------------------------------------- */

enum { FLOOD = 300 };

/* 300 connections that never read, kept open: the server holds at most one
 * of them (the pending one) at any time, and a good controller takes over.
 * After they close, the server's fd count is back where it was. */
static void flood_kept_open(void **state)
{
	struct fixture *f = *state;
	static int fds[FLOOD];
	int base = fd_count(f->srv.pid), n; /* stdio, listen, f->ctl */

	for (int i = 0; i < FLOOD; i++)
		fds[i] = raw_connect(f->srv.path);
	/* Each newcomer supersedes the previous pending one. */
	n = wait_fd_count(f->srv.pid, base + 1);
	if (n > base + 1)
		fail_msg("server holds %d fds during the flood, %d before", n, base);
	assert_still_serves(f);
	for (int i = 0; i < FLOOD; i++)
		close(fds[i]);
	ctl_close(&f->ctl);
	n = wait_fd_count(f->srv.pid, base - 1);
	if (n > base - 1)
		fail_msg("server holds %d fds after the flood, %d before with one controller",
			 n, base);
	assert_still_serves(f);
	assert_int_equal(wait_fd_count(f->srv.pid, base - 1), base - 1);
}

/* 300 connections opened and closed at once, nobody served: each is served
 * in turn and dropped at its end of file; then a good controller. */
static void flood_closed(void **state)
{
	struct fixture *f = *state;
	int base, n;

	ctl_close(&f->ctl);
	base = wait_fd_count(f->srv.pid, fd_count(f->srv.pid) - 1);
	for (int i = 0; i < FLOOD; i++)
		close(raw_connect(f->srv.path));
	n = wait_fd_count(f->srv.pid, base);
	if (n > base)
		fail_msg("server holds %d fds after the flood, %d before", n, base);
	assert_still_serves(f);
}

/* 300 connections held open while nobody else is served: the first is
 * served (and silent), the others come and go as pending ones. */
static void flood_while_idle(void **state)
{
	struct fixture *f = *state;
	static int fds[FLOOD];
	int base, n;

	ctl_close(&f->ctl);
	base = wait_fd_count(f->srv.pid, fd_count(f->srv.pid) - 1);
	for (int i = 0; i < FLOOD; i++)
		fds[i] = raw_connect(f->srv.path);
	n = wait_fd_count(f->srv.pid, base + 2);
	if (n > base + 2)
		fail_msg("server holds %d fds during the flood, %d idle", n, base);
	assert_still_serves(f);
	for (int i = 0; i < FLOOD; i++)
		close(fds[i]);
	n = wait_fd_count(f->srv.pid, base);
	if (n > base)
		fail_msg("server holds %d fds after the flood, %d idle", n, base);
	assert_still_serves(f);
}

/* ---- (7) a controller that does not read ------------------------------- */

/* Send getpid requests without reading until nothing moves for 300 ms: the
 * server is blocked sending answers and no longer reads.  Fails the test if
 * that does not happen within the deadline. */
static void fill_until_blocked(int fd)
{
	enum { CHUNK = 128 };
	static struct near_request q[CHUNK];
	struct timespec t0, t;

	for (int i = 0; i < CHUNK; i++)
		near_request_set(&q[i], __NR_getpid, 0, 0, 0, 0, 0, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t off = 0;;) {
		ssize_t n;

		if (poll_ms(fd, POLLOUT, 300) == 0)
			return;
		n = send(fd, (char *)q + off, sizeof q - off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			fail_msg("send: %s", strerror(errno));
		if (n > 0)
			off = (off + (size_t)n) % sizeof q;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > 10)
			fail_msg("the server kept reading a controller that never reads");
	}
}

static void non_reading_controller_taken_over(void **state)
{
	struct fixture *f = *state;
	struct ctl c2;

	fill_until_blocked(f->ctl.fd);
	must_connect(&c2, f->srv.path);
	assert_true(c2.hello.flags & NEAR_HELLO_BUSY);
	assert_int_equal(ctl_takeover(&c2), (int64_t)c2.hello.epoch);
	assert_int_equal(ctl_call(&c2, __NR_getpid, 0, 0, 0, 0, 0, 0), f->srv.pid);
	/* The old controller finds the answers that were sent, then an end. */
	assert_true(expect_hangup(f->ctl.fd) > 0);
	ctl_close(&c2);
	assert_still_serves(f);
}

/* The same while the server is blocked in the middle of a 16 MiB
 * NEAR_OP_READ_MEM answer. */
static void non_reading_controller_mid_read_mem(void **state)
{
	struct fixture *f = *state;
	uint64_t buf = remote_map(&f->ctl, NEAR_PROTO_MEM_MAX);
	struct near_request q;
	struct ctl c2;

	near_request_set(&q, NEAR_OP_READ_MEM, (int64_t)buf, NEAR_PROTO_MEM_MAX, 0, 0, 0, 0);
	assert_int_equal(ctl_send(&f->ctl, &q, 1), 0);
	assert_int_equal(wait_inq(f->ctl.fd, 1, CTL_TIMEOUT_MS), 1);
	must_connect(&c2, f->srv.path);
	assert_true(c2.hello.flags & NEAR_HELLO_BUSY);
	assert_int_equal(ctl_takeover(&c2), (int64_t)c2.hello.epoch);
	assert_int_equal(ctl_call(&c2, __NR_getpid, 0, 0, 0, 0, 0, 0), f->srv.pid);
	assert_true(expect_hangup(f->ctl.fd) < NEAR_PROTO_MEM_MAX);
	ctl_close(&c2);
	assert_still_serves(f);
}

/* The same while the server is blocked sending the -EMSGSIZE answer to an
 * oversized request, after which it hangs up: the hangup must cut the old
 * controller, not the one that just took over.
 *
 * To block exactly there: count how many one-answer sends the server makes
 * before its socket buffer is full (answers are 8-byte sends, so each costs
 * the same), drain, make that many again, then send the oversized request. */
static void takeover_while_refusing_oversized(void **state)
{
	struct fixture *f = *state;
	int fd = f->ctl.fd, fit = 0;
	struct near_request q;
	struct ctl c2;
	int64_t ret;

	for (;; fit++) {
		send_getpid(fd, 1);
		/* Only the last wait runs to its end: long, so a slow server
		 * is not taken for a blocked one. */
		if (!wait_inq(fd, 8 * (fit + 1), 1500))
			break;
		if (fit > 100000)
			fail_msg("the server's answers never filled its socket buffer");
	}
	/* fit answers are queued; answer fit + 1 waits for room. */
	for (int i = 0; i <= fit; i++) {
		assert_int_equal(ctl_recv(&f->ctl, &ret, 1), 0);
		assert_int_equal(ret, f->srv.pid);
	}
	for (int i = 0; i < fit; i++) {
		send_getpid(fd, 1);
		assert_int_equal(wait_inq(fd, 8 * (i + 1), CTL_TIMEOUT_MS), 1);
	}
	near_request_set(&q, NEAR_OP_WRITE_MEM, 0, 1ll << 62, 0, 0, 0, 0);
	assert_int_equal(ctl_send(&f->ctl, &q, 1), 0);
	if (wait_inq(fd, 8 * (fit + 1), 300))
		fail_msg("the server was not blocked sending -EMSGSIZE (%d answers fit)", fit);

	must_connect(&c2, f->srv.path);
	assert_true(c2.hello.flags & NEAR_HELLO_BUSY);
	assert_int_equal(ctl_takeover(&c2), (int64_t)c2.hello.epoch);
	assert_int_equal(ctl_call(&c2, __NR_getpid, 0, 0, 0, 0, 0, 0), f->srv.pid);
	assert_int_equal(expect_hangup(fd), 8 * (size_t)fit);
	ctl_close(&c2);
	assert_still_serves(f);
}

/* ---- (8) half-sent requests, then silence ------------------------------ */

/* A hello-shaped blob, as a confused peer that believes it is the server
 * would send: 128 bytes are two requests (magic and reason text as numbers:
 * no syscalls) and 16 bytes of a third. */
static void confused_hello(struct near_hello *h)
{
	memset(h, 0, sizeof *h);
	h->magic = NEAR_PROTO_MAGIC;
	h->version = NEAR_PROTO_VERSION;
	h->epoch = 1;
	h->pid = 1;
	h->page_size = 4096;
	snprintf(h->reason, sizeof h->reason, "persist hello from a confused peer");
}

static void served_peer_sends_hello_then_silence(void **state)
{
	struct fixture *f = *state;
	struct near_hello h;
	int64_t rets[2];

	confused_hello(&h);
	assert_int_equal(pump(f->ctl.fd, &h, sizeof h, rets, sizeof rets, 0), 0);
	assert_int_equal(rets[0], -ENOSYS);
	assert_int_equal(rets[1], -ENOSYS);
	expect_quiet(f->ctl.fd, 100);
	assert_still_serves(f);
	assert_int_equal(expect_hangup(f->ctl.fd), 0);
}

static void served_peer_write_mem_payload_never_comes(void **state)
{
	struct fixture *f = *state;
	uint64_t buf = remote_map(&f->ctl, 4096);
	struct {
		struct near_request q;
		char payload[100];
	} msg;

	memset(&msg, 'y', sizeof msg);
	near_request_set(&msg.q, NEAR_OP_WRITE_MEM, (int64_t)buf, 4096, 0, 0, 0, 0);
	assert_int_equal(ctl_write_all(f->ctl.fd, &msg, sizeof msg), 0);
	expect_quiet(f->ctl.fd, 100);
	assert_still_serves(f);
	assert_int_equal(expect_hangup(f->ctl.fd), 0);
}

static void pending_peer_sends_hello_then_silence(void **state)
{
	struct fixture *f = *state;
	struct near_hello h;
	int fd = raw_connect(f->srv.path);

	assert_int_equal(wait_inq(fd, sizeof h, CTL_TIMEOUT_MS), 1);
	confused_hello(&h);
	assert_int_equal(ctl_write_all(fd, &h, sizeof h), 0);
	assert_still_serves(f);
	/* Superseded by the good controller: its hello, then end of file. */
	assert_int_equal(expect_hangup(fd), sizeof h);
	close(fd);
}

/* The number the process's next new fd would get. */
static int lowest_free_fd(pid_t pid)
{
	char path[64];
	int fd = 0;

	for (;; fd++) {
		snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)pid, fd);
		if (access(path, F_OK) != 0)
			return fd;
	}
}

/* CPU time (user + system, clock ticks) the process has used. */
static long cpu_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *fp;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	fp = fopen(path, "r");
	assert_non_null(fp);
	assert_non_null(fgets(buf, sizeof buf, fp));
	fclose(fp);
	p = strrchr(buf, ')');
	assert_non_null(p);
	/* Fields 14 and 15, counted from the state (field 3). */
	assert_int_equal(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
				&ut, &st), 2);
	return (long)(ut + st);
}

/* The server runs out of fds: accept fails with EMFILE while the listener
 * stays readable.  It must not spin on it, must keep serving its
 * controller, and must accept the waiting peer once fds are free again. */
static void out_of_fds_does_not_spin(void **state)
{
	struct fixture *f = *state;
	struct rlimit old, tight;
	long before, used;
	struct ctl late;
	int fd;

	if (geteuid() != 0)
		skip(); /* lowering another process's limit needs privilege */
	if (getenv("PERSIST_VALGRIND"))
		skip(); /* valgrind itself needs fds in the server, and CPU */
	assert_int_equal(prlimit(f->srv.pid, RLIMIT_NOFILE, NULL, &old), 0);
	/* No fd number from its lowest free one up: the next accept fails. */
	tight = old;
	tight.rlim_cur = (rlim_t)lowest_free_fd(f->srv.pid);
	assert_int_equal(prlimit(f->srv.pid, RLIMIT_NOFILE, &tight, NULL), 0);
	fd = raw_connect(f->srv.path); /* waits in the backlog */
	before = cpu_ticks(f->srv.pid);
	usleep(1000 * 1000);
	used = cpu_ticks(f->srv.pid) - before;
	/* A spin would burn about a second of CPU (100 ticks). */
	assert_true(used < 20);
	assert_int_equal(ctl_call(&f->ctl, __NR_getpid, 0, 0, 0, 0, 0, 0), f->srv.pid);
	assert_int_equal(prlimit(f->srv.pid, RLIMIT_NOFILE, &old, NULL), 0);
	/* Within its pause the server accepts it: the hello says busy. */
	assert_int_equal(ctl_attach(&late, fd), 0);
	assert_true(late.hello.flags & NEAR_HELLO_BUSY);
	ctl_close(&late);
	assert_still_serves(f);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
	const struct CMUnitTest tests[] = {
		T(garbage_requests),
		T(garbage_with_partial_tail),
		T(wide_syscall_numbers),
		T(truncated_request),
		T(eof_inside_payload),
		T(oversized_memory_ops),
		T(silent_controller_taken_over),
		T(mute_peer_taken_over),
		T(pending_controller_served),
		T(pending_half_closed_controller_served),
		T(pending_superseded),
		T(flood_kept_open),
		T(flood_closed),
		T(flood_while_idle),
		T(non_reading_controller_taken_over),
		T(non_reading_controller_mid_read_mem),
		T(takeover_while_refusing_oversized),
		T(served_peer_sends_hello_then_silence),
		T(served_peer_write_mem_payload_never_comes),
		T(pending_peer_sends_hello_then_silence),
		T(out_of_fds_does_not_spin),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
