// SPDX-License-Identifier: MIT
/* A hostile or broken server: the controller trusts bytes from another
 * process (soon another machine), so each case here plays a fake server in a
 * forked child over a real unix socket and checks that libtransport answers
 * with a clean negative errno within its deadline: never a crash, a hang, a
 * stale answer taken for a fresh one, nor an fd left in our table (the suite
 * runs under ASan and valgrind too, which catch leaks and bad accesses).
 *
 * Every fake server ends by reading until the controller hangs up (at most
 * STALL_MAX_MS), so a stall is the server's silence, not a dead socket.  Its
 * exit status says how many requests it received, for the cases where what
 * was *not* sent matters. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>
#include <asm/unistd.h>
#include <cmocka.h>
#include <near/syscall.h>
#include <transport/conn.h>
#include <transport/mem.h>

/* The controller's deadline, and what the test grants beyond it before it
 * calls a wait too long (valgrind included): "well under a few seconds". */
#define TIMEOUT_MS 300
#define SLACK_MS 1500
#define STALL_MAX_MS 20000
/* Where the fake server says it mapped memory. */
#define FAKE_ARENA 0x7f1200000000ull

/* ---- the fake server (in the child) ------------------------------------- */

struct fake {
	pid_t pid;
	char dir[64];
	char path[108];
};

typedef int script_fn(int fd, void *arg);

static void put(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(90); /* the controller went away: the script cannot go on */
		p += n;
		len -= (size_t)n;
	}
}

static void put_answer(int fd, int64_t v)
{
	put(fd, &v, sizeof v);
}

/* Send buf with nfds fds attached (dups of /dev/null). */
static void put_fds(int fd, const void *buf, size_t len, int nfds)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(8 * sizeof(int))];
	} ctl;
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			     .msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int)) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	int fds[8];

	if (nfds < 1 || nfds > 8)
		_exit(91);
	memset(&ctl, 0, sizeof ctl);
	for (int i = 0; i < nfds; i++)
		if ((fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
			_exit(92);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, (size_t)nfds * sizeof(int));
	if (sendmsg(fd, &mh, MSG_NOSIGNAL) != (ssize_t)len)
		_exit(93);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
}

static void nap(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int get_exact(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = recv(fd, p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The next request (a WRITE_MEM's payload is read and dropped).
 * Returns: 0, or -1 at end of file. */
static int get_req(int fd, struct near_request *q)
{
	char sink[4096];

	if (get_exact(fd, q, sizeof *q) < 0)
		return -1;
	if (q->nr == NEAR_OP_WRITE_MEM)
		for (uint64_t left = (uint64_t)q->args[1]; left;) {
			size_t k = left < sizeof sink ? (size_t)left : sizeof sink;
			if (get_exact(fd, sink, k) < 0)
				return -1;
			left -= k;
		}
	return 0;
}

/* What an honest server would answer to what the controller sends on its
 * own (the memory transport's probe: mmap, WRITE_MEM of the nonce). */
static void answer_honestly(int fd, const struct near_request *q)
{
	static const char zeros[4096];

	switch (q->nr) {
	case __NR_mmap:
		put_answer(fd, (int64_t)FAKE_ARENA);
		break;
	case NEAR_OP_WRITE_MEM:
		put_answer(fd, q->args[1]);
		break;
	case NEAR_OP_READ_MEM:
		for (uint64_t left = (uint64_t)q->args[1]; left;) {
			size_t k = left < sizeof zeros ? (size_t)left : sizeof zeros;
			put(fd, zeros, k);
			left -= k;
		}
		put_answer(fd, q->args[1]);
		break;
	case __NR_getpid:
		put_answer(fd, getpid());
		break;
	default:
		put_answer(fd, -ENOSYS);
	}
}

/* Serve honestly until a request numbered nr arrives (left in *q).
 * Returns: how many requests came before it, or -1 at end of file. */
static int serve_until(int fd, int64_t nr, struct near_request *q)
{
	int n = 0;

	for (;;) {
		if (get_req(fd, q) < 0)
			return -1;
		if (q->nr == nr)
			return n;
		answer_honestly(fd, q);
		n++;
	}
}

/* Read and drop until the controller hangs up.  Returns: how many whole
 * requests came meanwhile. */
static int drain(int fd)
{
	struct near_request q;
	int n = 0;
	struct pollfd p = { fd, POLLIN, 0 };

	while (poll(&p, 1, STALL_MAX_MS) == 1 && get_req(fd, &q) == 0)
		n++;
	return n;
}

static void good_hello(struct near_hello *h)
{
	memset(h, 0, sizeof *h);
	h->magic = NEAR_PROTO_MAGIC;
	h->version = NEAR_PROTO_VERSION;
	h->arch = NEAR_ARCH_ID;
	h->epoch = 1;
	h->pid = getpid();
	h->page_size = (uint32_t)sysconf(_SC_PAGESIZE);
}

static void put_hello(int fd)
{
	struct near_hello h;

	good_hello(&h);
	put(fd, &h, sizeof h);
}

/* Listen on a fresh socket path and fork the script's server. */
static void fake_start(struct fake *f, script_fn *fn, void *arg)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int l;

	snprintf(f->dir, sizeof f->dir, "/tmp/persist-hostile-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof f->path, "%s/sock", f->dir);
	memcpy(sa.sun_path, f->path, strlen(f->path) + 1);
	l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(l >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(l, 1), 0);
	f->pid = fork();
	assert_true(f->pid >= 0);
	if (f->pid == 0) {
		int fd = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		close(l);
		if (fd < 0)
			_exit(95);
		_exit(fn(fd, arg));
	}
	close(l);
}

/* Reap the server.  Returns: its exit status (the script's result). */
static int fake_stop(struct fake *f)
{
	int status = -1;

	assert_int_equal(waitpid(f->pid, &status, 0), f->pid);
	unlink(f->path);
	rmdir(f->dir);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* ---- the controller's side -------------------------------------------- */

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own fd */
}

/* One case: the fds we hold before, and when it started. */
struct run {
	struct fake f;
	struct transport_conn *c;
	int fds;
	long t0;
	char why[256];
};

static void run_start(struct run *r, script_fn *fn, void *arg)
{
	r->fds = fd_count();
	fake_start(&r->f, fn, arg);
	r->c = NULL;
	r->why[0] = '\0';
	r->t0 = now_ms();
}

/* Connect with the deadline.  Returns: transport_connect's result. */
static int run_connect(struct run *r)
{
	int e = transport_connect(r->f.path, TIMEOUT_MS, &r->c, r->why, sizeof r->why);

	if (e == 0)
		transport_set_timeout(r->c, TIMEOUT_MS);
	return e;
}

/* The time since the case (or the last run_lap) started was within the
 * deadline and the slack. */
static void run_lap(struct run *r, long at_least_ms)
{
	long t = now_ms(), dt = t - r->t0;

	if (dt < at_least_ms || dt > TIMEOUT_MS + SLACK_MS)
		fail_msg("took %ld ms (expected %ld to %d)", dt, at_least_ms, TIMEOUT_MS + SLACK_MS);
	r->t0 = t;
}

/* Close, reap the server, and check that no fd stayed with us.
 * Returns: the server's exit status. */
static int run_end(struct run *r)
{
	int st;

	transport_close(r->c);
	st = fake_stop(&r->f);
	assert_int_equal(fd_count(), r->fds);
	return st;
}

static int64_t call(struct transport_conn *c, int64_t nr, int *err)
{
	struct near_request q;
	int64_t res = 0;

	*err = transport_call(c, near_request_set(&q, nr, 0, 0, 0, 0, 0, 0), &res);
	return res;
}

/* ---- hellos ------------------------------------------------------------- */

/* A hello with one field changed, then a stall. */
struct bad_hello {
	size_t off, len;
	uint64_t value;
	int fill_reason; /* 72 bytes of 'A', no NUL */
	int32_t refusal;
};

static int send_bad_hello(int fd, void *arg)
{
	const struct bad_hello *b = arg;
	struct near_hello h;

	good_hello(&h);
	if (b->len)
		memcpy((char *)&h + b->off, &b->value, b->len);
	if (b->fill_reason)
		memset(h.reason, 'A', sizeof h.reason);
	h.refusal = b->refusal;
	put(fd, &h, sizeof h);
	return drain(fd);
}

#define FIELD(f, v) \
	.off = offsetof(struct near_hello, f), .len = sizeof(((struct near_hello *)0)->f), \
	.value = (uint64_t)(v)

static void hello_refused(struct bad_hello b, int want, const char *says)
{
	struct run r;

	run_start(&r, send_bad_hello, &b);
	assert_int_equal(run_connect(&r), want);
	assert_null(r.c);
	run_lap(&r, 0);
	if (says && !strstr(r.why, says))
		fail_msg("why is \"%s\", expected it to say \"%s\"", r.why, says);
	assert_true(strlen(r.why) < sizeof r.why);
	assert_int_equal(run_end(&r), 0);
}

static void hello_wrong_magic_version_arch(void **state)
{
	(void)state;
	hello_refused((struct bad_hello){ FIELD(magic, 0x0a54534953524551ull) }, -EPROTO,
		      "not a persist server");
	hello_refused((struct bad_hello){ FIELD(version, 2) }, -EPROTONOSUPPORT, "version 2");
	hello_refused((struct bad_hello){ FIELD(version, UINT32_MAX) }, -EPROTONOSUPPORT, NULL);
	hello_refused((struct bad_hello){ FIELD(arch, NEAR_ARCH_ID + 77) }, -ENOEXEC,
		      "architecture");
}

/* Sizes and numbers no server can have: refused, never used (the page
 * size sizes our arenas, the pid is where process_vm looks). */
static void hello_absurd_values(void **state)
{
	static const uint32_t pages[] = { 0, 1, 3, 4095, 4097, 12288, 1u << 31, UINT32_MAX };
	static const int32_t pids[] = { 0, -1, INT32_MIN };

	(void)state;
	for (size_t i = 0; i < sizeof pages / sizeof *pages; i++)
		hello_refused((struct bad_hello){ FIELD(page_size, pages[i]) }, -EPROTO, "page size");
	for (size_t i = 0; i < sizeof pids / sizeof *pids; i++)
		hello_refused((struct bad_hello){ FIELD(pid, (uint32_t)pids[i]) }, -EPROTO, "pid");
}

/* The refusal's reason comes without its NUL: the why is still a string,
 * and a refusal that is no errno is -ECONNREFUSED. */
static void hello_reason_unterminated(void **state)
{
	struct bad_hello b = { .fill_reason = 1, .refusal = -EACCES };
	struct run r;

	(void)state;
	run_start(&r, send_bad_hello, &b);
	assert_int_equal(run_connect(&r), -EACCES);
	assert_non_null(strstr(r.why, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
	assert_int_equal(run_end(&r), 0);
	hello_refused((struct bad_hello){ .fill_reason = 1, .refusal = 5 }, -ECONNREFUSED, "refused");
	hello_refused((struct bad_hello){ .fill_reason = 1, .refusal = INT32_MIN }, -ECONNREFUSED,
		      "refused");
	/* Accepted, with garbage where no reason is due: what transport_hello
	 * gives is still NUL-terminated. */
	b.refusal = 0;
	run_start(&r, send_bad_hello, &b);
	assert_int_equal(run_connect(&r), 0);
	assert_true(strnlen(transport_hello(r.c)->reason, sizeof transport_hello(r.c)->reason) <
		    sizeof transport_hello(r.c)->reason);
	assert_int_equal(run_end(&r), 0);
}

static int send_half_hello(int fd, void *arg)
{
	struct near_hello h;

	(void)arg;
	good_hello(&h);
	put(fd, &h, 64);
	return 0; /* and end of file */
}

static void hello_cut_short(void **state)
{
	struct run r;

	(void)state;
	run_start(&r, send_half_hello, NULL);
	assert_int_equal(run_connect(&r), -ECONNRESET);
	assert_non_null(strstr(r.why, "before its hello"));
	run_lap(&r, 0);
	assert_int_equal(run_end(&r), 0);
}

static int send_nothing(int fd, void *arg)
{
	(void)arg;
	return drain(fd);
}

/* One byte of hello every 100 ms: 12.8 s in all.  The deadline is for the
 * whole hello, not for each byte. */
static int trickle_hello(int fd, void *arg)
{
	struct near_hello h;

	(void)arg;
	good_hello(&h);
	for (size_t i = 0; i < sizeof h; i++) {
		if (send(fd, (char *)&h + i, 1, MSG_NOSIGNAL) < 0)
			return 0; /* the controller gave up */
		nap(100);
	}
	return drain(fd) == 0 ? 1 : 2;
}

static void hello_stalls(void **state)
{
	struct run r;

	(void)state;
	run_start(&r, send_nothing, NULL);
	assert_int_equal(run_connect(&r), -ETIMEDOUT);
	run_lap(&r, TIMEOUT_MS);
	assert_int_equal(run_end(&r), 0);

	run_start(&r, trickle_hello, NULL);
	assert_int_equal(run_connect(&r), -ETIMEDOUT);
	run_lap(&r, TIMEOUT_MS);
	assert_int_equal(run_end(&r), 0); /* it saw our hangup mid-hello */
}

/* A hello, then silence: a call gets -ETIMEDOUT, and the connection is
 * unusable from then on; pipelined requests all get -ETIMEDOUT. */
static int hello_then_drain(int fd, void *arg)
{
	(void)arg;
	put_hello(fd);
	return drain(fd);
}

static void hello_then_silence(void **state)
{
	struct near_request q;
	struct run r;
	int64_t res;
	int e;

	(void)state;
	run_start(&r, hello_then_drain, NULL);
	assert_int_equal(run_connect(&r), 0);
	call(r.c, __NR_getpid, &e);
	assert_int_equal(e, -ETIMEDOUT);
	run_lap(&r, TIMEOUT_MS);
	call(r.c, __NR_getpid, &e);
	assert_int_equal(e, -ENOTCONN);
	assert_int_equal(run_end(&r), 1);

	run_start(&r, hello_then_drain, NULL);
	assert_int_equal(run_connect(&r), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(transport_submit(r.c, near_request_set(&q, __NR_getpid, 0, 0, 0,
									 0, 0, 0)), 0);
	assert_int_equal(transport_wait(r.c, &res), -ETIMEDOUT);
	run_lap(&r, TIMEOUT_MS);
	assert_int_equal(transport_wait(r.c, &res), -ETIMEDOUT);
	assert_int_equal(transport_wait(r.c, &res), -ETIMEDOUT);
	assert_int_equal(transport_wait(r.c, &res), -EAGAIN);
	run_lap(&r, 0);
	assert_int_equal(run_end(&r), 3);
}

/* ---- answers nobody asked for ------------------------------------------- */

struct extra {
	int unasked_first; /* answers before any request */
	int per_request;   /* answers per request */
};

static int extra_answers(int fd, void *arg)
{
	const struct extra *x = arg;
	struct near_request q;
	int n = 0;

	put_hello(fd);
	for (int i = 0; i < x->unasked_first; i++)
		put_answer(fd, 1000 + i);
	while (get_req(fd, &q) == 0) {
		n++;
		for (int i = 0; i < x->per_request; i++)
			put_answer(fd, getpid() + i);
	}
	return n;
}

/* Two answers to each request: the second is in the socket when the next
 * call starts, which must not take it for its own. */
static void more_answers_than_requests(void **state)
{
	struct extra x = { 0, 2 };
	struct near_request q;
	struct run r;
	int64_t res;
	int e;

	(void)state;
	for (int timed = 0; timed < 2; timed++) {
		run_start(&r, extra_answers, &x);
		assert_int_equal(run_connect(&r), 0);
		if (!timed)
			transport_set_timeout(r.c, -1); /* the two-syscall fast path */
		assert_int_equal(call(r.c, __NR_getpid, &e), r.f.pid);
		assert_int_equal(e, 0);
		usleep(50 * 1000); /* the extra answer is there by now */
		res = call(r.c, __NR_getpid, &e);
		assert_int_equal(e, -EPROTO);
		(void)res;
		/* Not sent, and nothing is sent from now on. */
		assert_int_equal(call(r.c, __NR_getpid, &e), 0);
		assert_int_equal(e, -ENOTCONN);
		assert_int_equal(transport_submit(r.c, near_request_set(&q, __NR_getpid, 0, 0, 0,
									 0, 0, 0)), -ENOTCONN);
		assert_int_equal(run_end(&r), 1);
	}
	/* The same through the pipeline, and through the memory operations. */
	run_start(&r, extra_answers, &x);
	assert_int_equal(run_connect(&r), 0);
	assert_int_equal(transport_submit(r.c, near_request_set(&q, __NR_getpid, 0, 0, 0, 0, 0, 0)), 0);
	assert_int_equal(transport_wait(r.c, &res), 0);
	assert_int_equal(res, r.f.pid);
	usleep(50 * 1000);
	assert_int_equal(transport_submit(r.c, &q), -EPROTO);
	assert_int_equal(transport_outstanding(r.c), 0);
	assert_int_equal(run_end(&r), 1);
}

/* Answers before the first request. */
static void answers_before_any_request(void **state)
{
	struct extra x = { 3, 1 };
	struct run r;
	int e;

	(void)state;
	run_start(&r, extra_answers, &x);
	assert_int_equal(run_connect(&r), 0);
	usleep(50 * 1000);
	call(r.c, __NR_getpid, &e);
	assert_int_equal(e, -EPROTO);
	run_lap(&r, 0);
	assert_int_equal(run_end(&r), 0); /* nothing was sent */
}

/* A server that answers ahead of what it read: a pipeline too large for
 * the socket buffers is still being sent when answers arrive for requests
 * the server cannot have seen.  Some wait must say so (-EPROTO) instead of
 * handing out every answer as its request's. */
static int answer_without_reading(int fd, void *arg)
{
	static int64_t answers[20000];
	struct pollfd p = { fd, POLLIN, 0 };

	(void)arg;
	put_hello(fd);
	for (size_t i = 0; i < sizeof answers / sizeof *answers; i++)
		answers[i] = (int64_t)i;
	/* Once requests come (read none of them), answer them all. */
	if (poll(&p, 1, STALL_MAX_MS) != 1)
		return 1;
	put(fd, answers, sizeof answers);
	nap(1000);
	return drain(fd) > 0 ? 0 : 2;
}

static void answers_ahead_of_requests(void **state)
{
	enum { N = 20000 };
	struct near_request q;
	struct run r;
	int64_t res;
	int i, e = 0;

	(void)state;
	run_start(&r, answer_without_reading, NULL);
	assert_int_equal(run_connect(&r), 0);
	for (i = 0; i < N; i++)
		assert_int_equal(transport_submit(r.c, near_request_set(&q, __NR_getpid, 0, 0, 0,
									 0, 0, 0)), 0);
	for (i = 0; i < N && (e = transport_wait(r.c, &res)) == 0; i++)
		assert_int_equal(res, i);
	/* That request was not (all) sent, or was and may have run. */
	assert_true(i < N);
	assert_true(e == -ENOTCONN || e == -EPROTO);
	/* The rest are settled too: each wait says what became of its request. */
	for (i++; i < N; i++) {
		e = transport_wait(r.c, &res);
		assert_true(e == -EPROTO || e == -ENOTCONN);
	}
	assert_int_equal(transport_wait(r.c, &res), -EAGAIN);
	run_lap(&r, 0);
	run_end(&r);
}

/* A server that stops reading in the middle of a large request and sends
 * a byte: the controller cannot finish sending, and what came is no answer
 * (its request is not all there): the connection is broken (-EPROTO), and
 * the request, not all sent, did not run (-ENOTCONN).  The byte used to
 * keep poll ready for good while nothing could be read nor sent: a busy
 * loop that no timeout ended. */
static int byte_while_unread(int fd, void *arg)
{
	struct near_request q;
	struct pollfd p = { fd, POLLRDHUP, 0 };

	(void)arg;
	put_hello(fd);
	for (;;) {
		if (get_exact(fd, &q, sizeof q) < 0)
			return 1;
		if (q.nr == NEAR_OP_WRITE_MEM && q.args[1] > 4096)
			break;
		if (q.nr == NEAR_OP_WRITE_MEM) {
			char sink[4096];
			if (q.args[1] > 0 && get_exact(fd, sink, (size_t)q.args[1]) < 0)
				return 2;
		}
		answer_honestly(fd, &q);
	}
	put(fd, "x", 1);
	/* Read nothing more: wait for the controller to hang up. */
	return poll(&p, 1, STALL_MAX_MS) == 1 ? 0 : 3;
}

static void answer_while_request_unsent(void **state)
{
	enum { LEN = 4 << 20 };
	char *big = calloc(1, LEN);
	struct run r;

	(void)state;
	assert_non_null(big);
	run_start(&r, byte_while_unread, NULL);
	assert_int_equal(run_connect(&r), 0);
	assert_int_equal(transport_mem_kind(r.c), TRANSPORT_MEM_INBAND);
	r.t0 = now_ms();
	assert_int_equal(transport_write_mem(r.c, FAKE_ARENA, big, LEN), -ENOTCONN);
	run_lap(&r, 0);
	assert_int_equal(transport_io(r.c), -EPROTO); /* why it broke */
	assert_int_equal(run_end(&r), 0);
	free(big);
}

/* ---- memory replies ---------------------------------------------------- */

enum mem_misbehaviour { MEM_SHORT_STALL, MEM_SHORT_EOF, MEM_ENDLESS, MEM_TRICKLE, MEM_BAD_RESULT };

static int bad_read_mem(int fd, void *arg)
{
	enum mem_misbehaviour how = *(enum mem_misbehaviour *)arg;
	static char data[1 << 16];
	struct near_request q;
	uint64_t len;
	long t0 = now_ms();

	put_hello(fd);
	memset(data, 0x5a, sizeof data);
	if (serve_until(fd, NEAR_OP_READ_MEM, &q) < 0)
		return 1;
	len = (uint64_t)q.args[1];
	if (len > sizeof data)
		return 2;
	switch (how) {
	case MEM_SHORT_STALL:
		put(fd, data, len / 2);
		return drain(fd) == 0 ? 0 : 3;
	case MEM_SHORT_EOF:
		put(fd, data, len / 2);
		return 0;
	case MEM_ENDLESS:
		/* The answer, then more bytes for as long as they are taken. */
		put(fd, data, len);
		put_answer(fd, (int64_t)len);
		while (now_ms() - t0 < STALL_MAX_MS) {
			if (send(fd, data, sizeof data, MSG_NOSIGNAL) < 0)
				return 0;
		}
		return 4;
	case MEM_TRICKLE:
		/* 64 bytes every 100 ms: 6.4 s for 4 KiB. */
		for (uint64_t i = 0; i < len; i += 64) {
			if (send(fd, data, 64, MSG_NOSIGNAL) < 0)
				return 0;
			nap(100);
		}
		put_answer(fd, (int64_t)len);
		return drain(fd) == 0 ? 0 : 5;
	case MEM_BAD_RESULT:
		/* Neither len nor an -errno. */
		put(fd, data, len);
		put_answer(fd, -((int64_t)1 << 32) + 1);
		return drain(fd) == 0 ? 0 : 6;
	}
	return 7;
}

static void read_mem_case(enum mem_misbehaviour how, int want, long at_least)
{
	static char buf[4096];
	struct run r;

	run_start(&r, bad_read_mem, &how);
	assert_int_equal(run_connect(&r), 0);
	/* The probe goes in-band and cannot see our nonce in the fake
	 * server's memory: in-band it is. */
	assert_int_equal(transport_mem_kind(r.c), TRANSPORT_MEM_INBAND);
	r.t0 = now_ms();
	assert_int_equal(transport_read_mem(r.c, buf, 0x7f1200000100ull, sizeof buf), want);
	run_lap(&r, at_least);
	if (how == MEM_ENDLESS) {
		/* Exactly len bytes, then the result; the rest is unasked. */
		for (size_t i = 0; i < sizeof buf; i++)
			assert_int_equal(buf[i], 0x5a);
		assert_int_equal(transport_read_mem(r.c, buf, 0x7f1200000100ull, 8), -EPROTO);
	} else {
		assert_int_equal(transport_read_mem(r.c, buf, 0x7f1200000100ull, 8), -ENOTCONN);
	}
	assert_int_equal(run_end(&r), 0);
}

static void read_mem_short_then_stall(void **state)
{
	(void)state;
	read_mem_case(MEM_SHORT_STALL, -ETIMEDOUT, TIMEOUT_MS);
}

static void read_mem_short_then_eof(void **state)
{
	(void)state;
	read_mem_case(MEM_SHORT_EOF, -ECONNRESET, 0);
}

static void read_mem_endless(void **state)
{
	(void)state;
	read_mem_case(MEM_ENDLESS, 0, 0);
}

static void read_mem_trickled(void **state)
{
	(void)state;
	read_mem_case(MEM_TRICKLE, -ETIMEDOUT, TIMEOUT_MS);
}

static void read_mem_result_not_len(void **state)
{
	(void)state;
	read_mem_case(MEM_BAD_RESULT, -EPROTO, 0);
}

/* ---- answers cut, stalled, trickled ------------------------------------ */

enum cut { CUT_STALL, CUT_EOF, CUT_TRICKLE };

static int cut_answer(int fd, void *arg)
{
	enum cut how = *(enum cut *)arg;
	struct near_request q;
	int64_t v;

	put_hello(fd);
	if (get_req(fd, &q) < 0)
		return 1;
	v = getpid();
	switch (how) {
	case CUT_STALL:
		put(fd, &v, 4);
		return drain(fd) == 0 ? 0 : 2;
	case CUT_EOF:
		put(fd, &v, 4);
		return 0;
	case CUT_TRICKLE:
		for (int i = 0; i < 8; i++) {
			if (send(fd, (char *)&v + i, 1, MSG_NOSIGNAL) < 0)
				return 0; /* the controller gave up */
			nap(250); /* 2 s for the answer */
		}
		return drain(fd) == 0 ? 0 : 3;
	}
	return 4;
}

static void cut_case(enum cut how, int pipelined, int want, long at_least)
{
	struct near_request q;
	struct run r;
	int64_t res;

	run_start(&r, cut_answer, &how);
	assert_int_equal(run_connect(&r), 0);
	r.t0 = now_ms();
	near_request_set(&q, __NR_getpid, 0, 0, 0, 0, 0, 0);
	if (pipelined) {
		assert_int_equal(transport_submit(r.c, &q), 0);
		assert_int_equal(transport_wait(r.c, &res), want);
	} else {
		assert_int_equal(transport_call(r.c, &q, &res), want);
	}
	run_lap(&r, at_least);
	assert_int_equal(transport_call(r.c, &q, &res), -ENOTCONN);
	assert_int_equal(run_end(&r), 0);
}

static void stall_mid_answer(void **state)
{
	(void)state;
	cut_case(CUT_STALL, 0, -ETIMEDOUT, TIMEOUT_MS);
	cut_case(CUT_STALL, 1, -ETIMEDOUT, TIMEOUT_MS);
}

static void close_mid_answer(void **state)
{
	(void)state;
	cut_case(CUT_EOF, 0, -ECONNRESET, 0);
	cut_case(CUT_EOF, 1, -ECONNRESET, 0);
}

static void trickled_answer(void **state)
{
	(void)state;
	cut_case(CUT_TRICKLE, 0, -ETIMEDOUT, TIMEOUT_MS);
	cut_case(CUT_TRICKLE, 1, -ETIMEDOUT, TIMEOUT_MS);
}

/* With no deadline, a signal that interrupts the wait (a handler without
 * SA_RESTART) is no hangup: the answer that follows is the call's. */
static int slow_answer(int fd, void *arg)
{
	struct near_request q;

	(void)arg;
	put_hello(fd);
	if (get_req(fd, &q) < 0)
		return 1;
	nap(300);
	put_answer(fd, getpid());
	return drain(fd) == 0 ? 0 : 2;
}

static void on_alarm(int sig)
{
	(void)sig;
}

static void signal_during_call(void **state)
{
	struct sigaction sa = { .sa_handler = on_alarm }, old;
	struct itimerval it = { { 0, 0 }, { 0, 50 * 1000 } };
	struct run r;
	int e;

	(void)state;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGALRM, &sa, &old), 0); /* no SA_RESTART */
	run_start(&r, slow_answer, NULL);
	assert_int_equal(run_connect(&r), 0);
	transport_set_timeout(r.c, -1);
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	assert_int_equal(call(r.c, __NR_getpid, &e), r.f.pid);
	assert_int_equal(e, 0);
	assert_int_equal(sigaction(SIGALRM, &old, NULL), 0);
	assert_int_equal(run_end(&r), 0);
}

/* ---- fds nobody asked for ---------------------------------------------- */

enum fd_case { FD_ON_HELLO, FD_ON_ANSWER, FD_ON_READ_MEM, FD_MANY_ON_SEND_FD,
	       FD_ON_SEND_FD_ERROR, FD_NONE_ON_SEND_FD };

static int attach_fds(int fd, void *arg)
{
	enum fd_case how = *(enum fd_case *)arg;
	struct near_hello h;
	struct near_request q;
	int64_t v;
	static char data[256];

	good_hello(&h);
	if (how == FD_ON_HELLO)
		put_fds(fd, &h, sizeof h, 3);
	else
		put(fd, &h, sizeof h);
	switch (how) {
	case FD_ON_HELLO:
		break;
	case FD_ON_ANSWER:
		/* The call's answer, in two parts, each with fds. */
		if (get_req(fd, &q) < 0)
			return 1;
		v = getpid();
		put_fds(fd, &v, 4, 2);
		put_fds(fd, (char *)&v + 4, 4, 5);
		break;
	case FD_ON_READ_MEM:
		if (serve_until(fd, NEAR_OP_READ_MEM, &q) < 0)
			return 1;
		put_fds(fd, data, sizeof data, 4);
		put_answer(fd, sizeof data);
		break;
	case FD_MANY_ON_SEND_FD:
	case FD_ON_SEND_FD_ERROR:
	case FD_NONE_ON_SEND_FD:
		if (get_req(fd, &q) < 0 || q.nr != NEAR_OP_SEND_FD)
			return 1;
		v = how == FD_ON_SEND_FD_ERROR ? -EBADF : 0;
		if (how == FD_NONE_ON_SEND_FD)
			put_answer(fd, v);
		else
			put_fds(fd, &v, sizeof v, how == FD_MANY_ON_SEND_FD ? 6 : 1);
		break;
	}
	return drain(fd);
}

static void unasked_fds(void **state)
{
	static const enum fd_case cases[] = { FD_ON_HELLO, FD_ON_ANSWER, FD_ON_READ_MEM };
	char buf[256];
	struct run r;
	int e;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		for (int timed = 0; timed < 2; timed++) {
			run_start(&r, attach_fds, (void *)&cases[i]);
			assert_int_equal(run_connect(&r), 0);
			if (!timed)
				transport_set_timeout(r.c, -1);
			switch (cases[i]) {
			case FD_ON_HELLO:
				break;
			case FD_ON_ANSWER:
				assert_int_equal(call(r.c, __NR_getpid, &e), r.f.pid);
				assert_int_equal(e, 0);
				break;
			default:
				assert_int_equal(transport_read_mem(r.c, buf, FAKE_ARENA, sizeof buf), 0);
				break;
			}
			/* Whatever came attached was closed as it came. */
			assert_int_equal(fd_count(), r.fds + 1);
			assert_int_equal(run_end(&r), 0);
		}
	}
}

/* NEAR_OP_SEND_FD answered with six fds: one is ours, the others closed;
 * an error answer's fd is closed; a success without an fd is -EPROTO. */
static void send_fd_answers(void **state)
{
	enum fd_case how;
	struct run r;
	int fd = -1;

	(void)state;
	how = FD_MANY_ON_SEND_FD;
	run_start(&r, attach_fds, &how);
	assert_int_equal(run_connect(&r), 0);
	assert_int_equal(transport_take_fd(r.c, 5, &fd), 0);
	assert_true(fd >= 0);
	assert_int_equal(fd_count(), r.fds + 2); /* the connection and fd */
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	assert_int_equal(run_end(&r), 0);

	how = FD_ON_SEND_FD_ERROR;
	run_start(&r, attach_fds, &how);
	assert_int_equal(run_connect(&r), 0);
	assert_int_equal(transport_take_fd(r.c, 5, &fd), -EBADF);
	assert_int_equal(fd_count(), r.fds + 1);
	assert_int_equal(run_end(&r), 0);

	how = FD_NONE_ON_SEND_FD;
	run_start(&r, attach_fds, &how);
	assert_int_equal(run_connect(&r), 0);
	assert_int_equal(transport_take_fd(r.c, 5, &fd), -EPROTO);
	assert_int_equal(run_end(&r), 0);
}

/* ---- answers no server can give ----------------------------------------- */

enum odd { ODD_WRITE_MEM, ODD_SEND_FD, ODD_FORK_PID, ODD_FORK_ERRNO, ODD_MMAP, ODD_SAME_ARENA,
	   ODD_EXEC_ZERO, ODD_EXEC_POSITIVE, ODD_MMAP_ZERO };

static int odd_answers(int fd, void *arg)
{
	enum odd how = *(enum odd *)arg;
	struct near_request q;
	int n = 0;

	put_hello(fd);
	while (get_req(fd, &q) == 0) {
		switch (q.nr) {
		case NEAR_OP_WRITE_MEM:
			/* (the probe's nonce is 16 bytes: that one is answered) */
			put_answer(fd, how == ODD_WRITE_MEM && q.args[1] == 8 ? -((int64_t)1 << 40) :
									       q.args[1]);
			break;
		case NEAR_OP_SEND_FD:
			put_answer(fd, -((int64_t)1 << 32) - EBADF);
			break;
		case NEAR_OP_FORK:
			put_answer(fd, how == ODD_FORK_PID ? ((int64_t)1 << 32) + 5 :
						-((int64_t)1 << 32) - ENOENT);
			break;
		case __NR_mmap:
			if (how == ODD_MMAP)
				put_answer(fd, -((int64_t)1 << 40));
			else if (how == ODD_MMAP_ZERO)
				put_answer(fd, 0);
			else
				put_answer(fd, (int64_t)FAKE_ARENA); /* every time */
			break;
		case __NR_execve:
			put_answer(fd, how == ODD_EXEC_ZERO ? 0 : 7);
			break;
		default:
			answer_honestly(fd, &q);
		}
		n++;
	}
	return n;
}

static void impossible_answers(void **state)
{
	struct near_request q;
	struct run r;
	enum odd how;
	uint64_t a, b;
	int64_t res;
	int pid, fd;

	(void)state;
	/* A memory write "failed" with no errno: not a success, not -EFAULT. */
	how = ODD_WRITE_MEM;
	run_start(&r, odd_answers, &how);
	assert_int_equal(run_connect(&r), 0);
	assert_int_equal(transport_mem_use(r.c, TRANSPORT_MEM_INBAND), 0);
	assert_int_equal(transport_write_mem(r.c, FAKE_ARENA, "abcdefgh", 8), -EPROTO);
	run_end(&r);

	how = ODD_SEND_FD;
	run_start(&r, odd_answers, &how);
	assert_int_equal(run_connect(&r), 0);
	assert_int_equal(transport_take_fd(r.c, 3, &fd), -EPROTO);
	run_end(&r);

	/* A pid that is no pid (2^32 + 5 would have been pid 5). */
	how = ODD_FORK_PID;
	run_start(&r, odd_answers, &how);
	assert_int_equal(run_connect(&r), 0);
	assert_int_equal(transport_fork(r.c, 3, &pid), -EPROTO);
	run_end(&r);
	how = ODD_FORK_ERRNO;
	run_start(&r, odd_answers, &how);
	assert_int_equal(run_connect(&r), 0);
	assert_int_equal(transport_fork(r.c, 3, &pid), -EPROTO);
	run_end(&r);

	/* mmap answered with no address nor errno, with 0, and with the same
	 * arena twice (the second would overlap the first). */
	how = ODD_MMAP;
	run_start(&r, odd_answers, &how);
	assert_int_equal(run_connect(&r), 0);
	assert_int_equal(transport_alloc(r.c, 64, &a), -EPROTO);
	run_end(&r);
	how = ODD_MMAP_ZERO;
	run_start(&r, odd_answers, &how);
	assert_int_equal(run_connect(&r), 0);
	assert_int_equal(transport_alloc(r.c, 64, &a), -EPROTO);
	run_end(&r);
	how = ODD_SAME_ARENA;
	run_start(&r, odd_answers, &how);
	assert_int_equal(run_connect(&r), 0);
	assert_int_equal(transport_alloc(r.c, 64, &a), 0);
	assert_int_equal(a, FAKE_ARENA);
	assert_int_equal(transport_alloc(r.c, 2 << 20, &b), -EPROTO);
	assert_int_equal(transport_free(r.c, a), 0);
	run_end(&r);

	/* execve "succeeded" without a hello, or answered a positive number. */
	for (how = ODD_EXEC_ZERO; how <= ODD_EXEC_POSITIVE; how++) {
		run_start(&r, odd_answers, &how);
		assert_int_equal(run_connect(&r), 0);
		res = 12345;
		assert_int_equal(transport_exec(r.c, near_request_set(&q, __NR_execve, 0, 0, 0, 0,
								     0, 0), &res), -EPROTO);
		assert_int_equal(res, 12345);
		run_end(&r);
	}
}

/* A batch that fails leaves nothing queued: the next call says what
 * became of the connection, not -EBUSY. */
static int batch_then_hangup(int fd, void *arg)
{
	struct near_request q;

	(void)arg;
	put_hello(fd);
	/* The probe, the first batch (two writes and a getpid), then the
	 * second batch's first write, and a hangup. */
	for (int i = 0; i < 2 + 3 + 1; i++) {
		if (get_req(fd, &q) < 0)
			return 1;
		answer_honestly(fd, &q);
	}
	return 0;
}

static void failed_batch_leaves_nothing_queued(void **state)
{
	static const char data[8] = "abcdefg";
	struct transport_buf b[2] = { { FAKE_ARENA, data, sizeof data },
				      { FAKE_ARENA + 64, data, sizeof data } };
	struct near_request q;
	struct run r;
	int64_t res;

	(void)state;
	run_start(&r, batch_then_hangup, NULL);
	assert_int_equal(run_connect(&r), 0);
	assert_int_equal(transport_mem_kind(r.c), TRANSPORT_MEM_INBAND);
	near_request_set(&q, __NR_getpid, 0, 0, 0, 0, 0, 0);
	/* Too large a buffer: refused before anything is queued. */
	b[1].len = NEAR_PROTO_MEM_MAX + 1;
	assert_int_equal(transport_batch(r.c, b, 2, &q, &res), -EMSGSIZE);
	assert_int_equal(transport_outstanding(r.c), 0);
	b[1].len = sizeof data;
	assert_int_equal(transport_batch(r.c, b, 2, &q, &res), 0);
	assert_int_equal(res, r.f.pid);
	/* The server hangs up after the first write's answer. */
	assert_int_equal(transport_batch(r.c, b, 2, &q, &res), -ECONNRESET);
	assert_int_equal(transport_outstanding(r.c), 0);
	assert_int_equal(transport_call(r.c, &q, &res), -ENOTCONN);
	run_lap(&r, 0);
	assert_int_equal(run_end(&r), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hello_wrong_magic_version_arch),
		cmocka_unit_test(hello_absurd_values),
		cmocka_unit_test(hello_reason_unterminated),
		cmocka_unit_test(hello_cut_short),
		cmocka_unit_test(hello_stalls),
		cmocka_unit_test(hello_then_silence),
		cmocka_unit_test(more_answers_than_requests),
		cmocka_unit_test(answers_before_any_request),
		cmocka_unit_test(answers_ahead_of_requests),
		cmocka_unit_test(answer_while_request_unsent),
		cmocka_unit_test(read_mem_short_then_stall),
		cmocka_unit_test(read_mem_short_then_eof),
		cmocka_unit_test(read_mem_endless),
		cmocka_unit_test(read_mem_trickled),
		cmocka_unit_test(read_mem_result_not_len),
		cmocka_unit_test(stall_mid_answer),
		cmocka_unit_test(close_mid_answer),
		cmocka_unit_test(trickled_answer),
		cmocka_unit_test(signal_during_call),
		cmocka_unit_test(unasked_fds),
		cmocka_unit_test(send_fd_answers),
		cmocka_unit_test(impossible_answers),
		cmocka_unit_test(failed_batch_leaves_nothing_queued),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
