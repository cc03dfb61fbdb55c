/* libFuzzer harness for libtransport's client against a hostile server.
 *
 * The fuzz input (fuzz_client.h) is what a fake server sends (its hello,
 * answers and READ_MEM data, each answer's size twisted or not, some writes
 * carrying fds) plus a short script of what the controller does with the
 * connection: blocking calls, pipelines, the non-blocking API, memory reads
 * and writes in-band (and the memory transport's probe), allocations,
 * take_fd, fork, exec, batches, the sysif.  libtransport's sources are
 * compiled into this harness with the fuzzer's instrumentation.
 *
 * The fake server is a thread on the other end of a socketpair.  It sends
 * each answer when its request has arrived (never ahead: the controller
 * rightly takes bytes nobody asked for as a protocol error), and more only
 * when the controller waits with nothing to read: its thread is blocked in
 * a read (/proc/self/task/TID/syscall) and no request is pending.  That state lasts until the server
 * acts, so runs are the same every time, and no wait outlasts the input:
 * once the stream is used up, the server shuts its sending side.  The
 * thread lives across inputs, and the process runs on one CPU: handing
 * the turn between two threads there costs microseconds, not the
 * millisecond of a wakeup across CPUs (and the fuzzer takes one core).
 *
 * What aborts (besides ASan, UBSan, leaks, -timeout and -malloc_limit_mb):
 *   - a result that is neither success nor a -errno (-4095..-1), or not the
 *     one the API documents where it is certain (-EBUSY, -EAGAIN);
 *   - a request from the controller that is malformed, or that it should
 *     never have sent (only those of the script may appear);
 *   - bytes sent after the connection was found broken;
 *   - a call's result read from bytes the server had sent before the call
 *     started (an extra answer, the rest of a READ_MEM, waiting in the
 *     socket): a stale answer taken for a fresh one.  (An extra answer that
 *     comes while later requests are outstanding cannot be told from
 *     theirs: the protocol has no request ids; the controller finds out
 *     when it next goes idle if what it is owed has come by then, which
 *     in this harness it always has: the answers to one batch of requests
 *     go out in one write.)
 *   - an fd left open in this process once the connection is closed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <time.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
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

/* ---- the fake server (its own thread) ---------------------------------- */

struct server {
	int fd;                 /* its end of the socketpair */
	const uint8_t *s;       /* the stream, pos of n bytes sent */
	size_t n, pos;
	size_t plan;            /* answers decided, not yet sent: pos..plan */
	int plan_fds;
	const uint8_t *tw;      /* twists */
	size_t ntw;
	unsigned answers;       /* sent so far, the hello included */
	unsigned nfds;          /* per write that carries fds */
	int eof;                /* nothing more to send: shut once asked */
	int shut;
	int statfd;             /* /proc/self/task/<controller>/syscall */
	/* The controller's requests, parsed as they come. */
	unsigned char req[sizeof(struct near_request)];
	size_t have;            /* bytes of req so far */
	uint64_t skip;          /* WRITE_MEM payload still to come */
	size_t cpos;            /* bytes of the controller's parsed (atomic) */
	size_t cur;             /* where the request being parsed starts */
	unsigned nreq;          /* requests received */
	size_t rq_start[512];   /* where request i starts in the controller's bytes */
	pthread_mutex_t lock;   /* taking bytes and counting them; sending and
				 * moving pos */
	size_t received;
};

static int devnull = -1;
static int trace; /* FUZZ_CLIENT_TRACE=1: print every result to stderr */

NOCOV static void put(struct server *v, size_t len, int fds)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} ctl;
	struct iovec iov = { (void *)(v->s + v->pos), len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t r;

	if (fds) {
		struct cmsghdr *cm;
		int fd[4] = { devnull, devnull, devnull, devnull };

		memset(&ctl, 0, sizeof ctl);
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(v->nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(v->nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fd, v->nfds * sizeof(int));
	}
	if (trace)
		fprintf(stderr, "fuzz_client: server: bytes %zu..%zu%s\n", v->pos, v->pos + len,
			fds ? " with fds" : "");
	/* At most FC_MAX_LEN bytes, into an empty socket: never blocks. */
	pthread_mutex_lock(&v->lock);
	r = sendmsg(v->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (r < 0 && (errno == EPIPE || errno == ECONNRESET))
		r = (ssize_t)len; /* the controller is gone: nobody to tell */
	if (r != (ssize_t)len)
		fail("the fake server's write: %zd of %zu bytes (%s)", r, len,
		     r < 0 ? strerror(errno) : "short");
	v->pos += len;
	pthread_mutex_unlock(&v->lock);
}

NOCOV static void shut(struct server *v)
{
	if (trace && !v->shut)
		fprintf(stderr, "fuzz_client: server: end of file at %zu\n", v->pos);
	if (!v->shut && shutdown(v->fd, SHUT_WR) < 0 && errno != ENOTCONN)
		fail("shutdown: %s", strerror(errno));
	v->shut = 1;
}

/* Decide the next answer, expect bytes as the request expects, twisted;
 * flush sends the answers of a batch of requests in one write, so that the
 * controller sees all of them or none: which it sees before its next step
 * is then not a matter of timing. */
NOCOV static void answer(struct server *v, size_t expect)
{
	unsigned k = v->answers++;
	uint8_t t = k < v->ntw ? v->tw[k] : 0;
	size_t len, left = v->n - v->plan;

	if (v->eof)
		return;
	switch (t & 7) {
	case FC_TW_EXACT: len = expect; break;
	case FC_TW_PLUS8: len = expect + 8; break;
	case FC_TW_PLUS1: len = expect + 1; break;
	case FC_TW_MINUS4: len = expect > 4 ? expect - 4 : 0; break;
	case FC_TW_MINUS1: len = expect - 1; break;
	case FC_TW_DOUBLE: len = 2 * expect; break;
	case FC_TW_REST: len = left; break;
	default: len = 0; break;
	}
	if (len > left)
		len = left;
	v->plan += len;
	if (len && (t & FC_TW_FDS))
		v->plan_fds = 1;
	/* End of file comes when the controller waits for more: shut now,
	 * and whether it sees the end before its next step would be timing. */
	if ((t & FC_TW_EOF) || v->plan == v->n)
		v->eof = 1;
}

NOCOV static void flush(struct server *v)
{
	if (v->plan > v->pos)
		put(v, v->plan - v->pos, v->plan_fds);
	v->plan_fds = 0;
}

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

/* A request has come whole: note where, then answer it. */
NOCOV static void request(struct server *v, int64_t nr, size_t expect)
{
	if (trace)
		fprintf(stderr, "fuzz_client: server: request %u (nr %lld) at %zu\n", v->nreq + 1,
			(long long)nr, v->pos);
	if (v->nreq < sizeof v->rq_start / sizeof *v->rq_start)
		v->rq_start[v->nreq] = v->cur;
	v->nreq++;
	answer(v, expect);
}

/* Parse the controller's bytes; answer each request once it is whole. */
NOCOV static void feed(struct server *v, const unsigned char *b, size_t n)
{
	size_t at = v->cpos;

	while (n) {
		size_t k;
		if (v->skip) {
			k = v->skip < n ? (size_t)v->skip : n;
			v->skip -= k;
			at += k;
			if (v->skip == 0)
				request(v, NEAR_OP_WRITE_MEM, 8); /* payload and all */
		} else {
			struct near_request q;
			if (v->have == 0)
				v->cur = at;
			k = sizeof v->req - v->have < n ? sizeof v->req - v->have : n;
			memcpy(v->req + v->have, b, k);
			v->have += k;
			at += k;
			if (v->have == sizeof v->req) {
				memcpy(&q, v->req, sizeof q);
				check_request(&q);
				v->have = 0;
				if (q.nr == NEAR_OP_WRITE_MEM && q.args[1])
					v->skip = (uint64_t)q.args[1];
				else if (q.nr == NEAR_OP_READ_MEM)
					request(v, q.nr, (size_t)q.args[1] + 8);
				else
					request(v, q.nr, 8);
			}
		}
		b += k;
		n -= k;
	}
	flush(v);
	__atomic_store_n(&v->cpos, at, __ATOMIC_RELEASE);
}

/* Is the controller's thread blocked in a syscall that reads (not, say,
 * on the harness's lock)?  With no request pending, it waits for us. */
NOCOV static int controller_waits(struct server *v)
{
	char buf[256];
	ssize_t n = pread(v->statfd, buf, sizeof buf - 1, 0);
	long nr;

	if (n <= 0)
		fail("reading the controller's /proc syscall: %s", n < 0 ? strerror(errno) : "empty");
	buf[n] = '\0';
	if (buf[0] < '0' || buf[0] > '9')
		return 0; /* "running" */
	nr = strtol(buf, NULL, 10);
	return nr == __NR_recvfrom || nr == __NR_recvmsg || nr == __NR_ppoll || nr == __NR_poll;
}

NOCOV static int pending(struct server *v)
{
	int q = 0;

	if (ioctl(v->fd, FIONREAD, &q) < 0)
		fail("FIONREAD: %s", strerror(errno));
	return q;
}

/* Serve one input, until the controller closes. */
NOCOV static void serve(struct server *v)
{
	static unsigned char buf[1 << 16];
	unsigned idle = 0;

	answer(v, sizeof(struct near_hello));
	flush(v);
	for (;;) {
		struct pollfd p = { v->fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, 0) == 1) {
			pthread_mutex_lock(&v->lock);
			n = recv(v->fd, buf, sizeof buf, MSG_DONTWAIT);
			if (n > 0)
				v->received += (size_t)n;
			pthread_mutex_unlock(&v->lock);
			if (n == 0 || (n < 0 && errno == ECONNRESET))
				return; /* the controller closed */
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				fail("recv: %s", strerror(errno));
			if (n > 0)
				feed(v, buf, (size_t)n);
			idle = 0;
			continue;
		}
		/* In this order: waiting first, then nothing pending. */
		if (!v->shut && controller_waits(v) && pending(v) == 0) {
			size_t len = v->n - v->pos < FC_WAKE ? v->n - v->pos : FC_WAKE;
			if (v->eof || len == 0) {
				shut(v);
			} else {
				put(v, len, 0);
				v->plan = v->pos;
			}
			idle = 0;
			continue;
		}
		if (++idle < 16) {
			sched_yield();
		} else {
			struct timespec ts = { 0, 100 * 1000 };
			ppoll(&p, 1, &ts, NULL);
		}
	}
}

static sem_t go, done;

NOCOV static void *server_main(void *arg)
{
	for (;;) {
		while (sem_wait(&go) < 0)
			;
		serve(arg);
		sem_post(&done);
	}
	return NULL;
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
	if (trace)
		fprintf(stderr, "fuzz_client: %s: %ld\n", what, r);
	if (r > 0 || r < -4095)
		fail("%s returned %ld: neither 0 nor a -errno", what, r);
}

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

static struct server v;

/* What the controller has sent so far: taken by the server, or waiting. */
NOCOV static size_t sent_so_far(struct server *w)
{
	size_t n;

	pthread_mutex_lock(&w->lock);
	n = w->received + (size_t)pending(w);
	pthread_mutex_unlock(&w->lock);
	return n;
}

NOCOV static size_t server_pos(void)
{
	size_t pos;

	pthread_mutex_lock(&v.lock);
	pos = v.pos;
	pthread_mutex_unlock(&v.lock);
	return pos;
}

/* A call whose request started at byte from of the controller's stream
 * returned a result: it must come from bytes the server sent after the
 * call started, at stream position pos0 (the controller reads exactly 8
 * bytes for a lone call). */
NOCOV static void check_fresh(struct transport_conn *c, size_t from, size_t pos0)
{
	size_t sent, read_to;
	unsigned i;
	int unread = 0;

	/* Let the server parse all that was sent. */
	while (__atomic_load_n(&v.cpos, __ATOMIC_ACQUIRE) != (sent = sent_so_far(&v)))
		sched_yield();
	for (i = 0; i < v.nreq && i < sizeof v.rq_start / sizeof *v.rq_start; i++)
		if (v.rq_start[i] == from)
			break;
	if (i == v.nreq)
		fail("a call returned a result, and its request never reached the server");
	if (i == sizeof v.rq_start / sizeof *v.rq_start)
		return;
	pthread_mutex_lock(&v.lock);
	if (ioctl(transport_fd(c), FIONREAD, &unread) < 0)
		fail("FIONREAD: %s", strerror(errno));
	read_to = v.pos - (size_t)unread;
	pthread_mutex_unlock(&v.lock);
	if (read_to < pos0 + 8)
		fail("request %u's result was read from stream bytes %zu..%zu, sent before the call "
		     "(at %zu): a stale answer", i + 1, read_to - 8, read_to, pos0);
}

NOCOV static void run_op(struct transport_conn *c, uint8_t op)
{
	static unsigned char mem[(1 << 16) + 16];
	unsigned p = op >> 4;
	struct near_request q;
	int64_t res;
	int r;

	switch (op & 15) {
	case FC_OP_CALL: {
		size_t from = sent_so_far(&v), pos0 = server_pos();
		near_request_set(&q, __NR_getpid, 0, 0, 0, 0, 0, 0);
		r = transport_call(c, &q, &res);
		check_ret("transport_call", r);
		if (r == 0)
			check_fresh(c, from, pos0);
		break;
	}
	case FC_OP_EXIT:
		near_request_set(&q, __NR_exit_group, 0, 0, 0, 0, 0, 0);
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
		/* An event loop of the program's own; its poll waits (the
		 * server answers a controller blocked in it), so the number
		 * of rounds does not depend on timing. */
		submit_n(c, p % 4 + 1);
		for (int i = 0; i < 64 && transport_outstanding(c); i++) {
			struct pollfd pf = { transport_fd(c), transport_events(c), 0 };
			int k = 1;
			/* (libFuzzer's SIGALRM for -timeout interrupts it) */
			while (pf.events && (k = poll(&pf, 1, 10000)) < 0 && errno == EINTR)
				;
			if (k != 1)
				fail("poll of the connection: %s", k ? strerror(errno) : "nothing in 10 s");
			r = transport_io(c);
			if (r > 0 || r < -4095)
				fail("transport_io returned %d", r);
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
		transport_set_timeout(c, p & 1 ? 1000 : -1);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct transport_conn *c = NULL;
	size_t nops, ntw, head;
	static pthread_t th;
	char path[64];
	int sv[2], fds, r;

	if (size < FC_HEADER || size > FC_MAX_LEN)
		return -1;
	if (devnull < 0) {
		cpu_set_t one;
		int cpu = sched_getcpu();

		trace = getenv("FUZZ_CLIENT_TRACE") && *getenv("FUZZ_CLIENT_TRACE") != '0';
		if ((devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
			fail("open /dev/null: %s", strerror(errno));
		/* The controller is this thread: its syscall, read by the server. */
		snprintf(path, sizeof path, "/proc/self/task/%ld/syscall", (long)syscall(__NR_gettid));
		if ((v.statfd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			fail("open %s: %s", path, strerror(errno));
		CPU_ZERO(&one);
		CPU_SET(cpu < 0 ? 0 : cpu, &one);
		sched_setaffinity(0, sizeof one, &one); /* best effort */
		if (sem_init(&go, 0, 0) < 0 || sem_init(&done, 0, 0) < 0)
			fail("sem_init: %s", strerror(errno));
		pthread_mutex_init(&v.lock, NULL);
		if ((r = pthread_create(&th, NULL, server_main, &v)) != 0)
			fail("pthread_create: %s", strerror(r));
	}
	nops = data[1] % (FC_MAX_OPS + 1);
	ntw = data[2] % (FC_MAX_TWISTS + 1);
	head = FC_HEADER + nops + ntw;
	if (size < head)
		return -1;
	probe = !!(data[0] & FC_PROBE);
	fds = fd_count();
	if (trace)
		fprintf(stderr, "fuzz_client: an input of %zu bytes\n", size);

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		fail("socketpair: %s", strerror(errno));
	v.pos = v.plan = v.answers = v.shut = v.eof = v.plan_fds = 0;
	v.have = v.skip = v.cpos = v.cur = v.nreq = v.received = 0;
	v.fd = sv[1];
	v.s = data + head;
	v.n = size - head;
	v.tw = data + FC_HEADER + nops;
	v.ntw = ntw;
	v.nfds = 1 + (data[3] & 3);
	sem_post(&go);

	r = transport_attach(sv[0], data[0] & FC_TIMEOUT ? 1000 : -1, &c, NULL, 0);
	check_ret("transport_attach", r);
	if (r == 0) {
		tame(c);
		for (size_t i = 0; i < nops; i++) {
			int broken = c->broken;
			size_t before = sent_so_far(&v);

			if (trace)
				fprintf(stderr, "fuzz_client: op %zu: %#x\n", i, data[FC_HEADER + i]);
			run_op(c, data[FC_HEADER + i]);
			if (broken && sent_so_far(&v) != before)
				fail("op %zu (%#x) sent %zu bytes on a broken connection", i,
				     data[FC_HEADER + i], sent_so_far(&v) - before);
		}
		transport_close(c);
	}
	while (sem_wait(&done) < 0)
		;
	close(sv[1]);
	if (fd_count() != fds)
		fail("%d fds open after the connection was closed, %d before", fd_count(), fds);
	return 0;
}
