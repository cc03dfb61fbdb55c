// SPDX-License-Identifier: MIT
/* libFuzzer harness for the server loop's request parser.
 *
 * The loop's own sources are built with -DPSERVER_FUZZ (persist-server/
 * src/sys.h), which routes its two dangerous points here:
 *   - the executor, pserver_fuzz_exec: never runs a syscall, returns a
 *     value derived from the request (and records it);
 *   - every controller address the loop hands to the kernel,
 *     pserver_fuzz_addr: the sandbox if all len bytes fall inside it,
 *     otherwise an inaccessible region, so the kernel answers -EFAULT.
 * The loop's other syscalls (recv, send, process_vm_writev into the sandbox,
 * ppoll, close) are real, on a socketpair.
 *
 * Each input is served by pserver_run() (no listening socket, so it returns
 * when the connection ends) while a thread plays the controller: it writes
 * the input, shuts its sending side, and reads everything back.  A reference
 * model of the protocol, written independently of the loop, predicts the
 * exact output (hello, answers, READ_MEM data), which syscalls run with
 * which arguments, and the sandbox contents; any difference aborts. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <pserver/pserver.h>
#include "sys.h"
#include "fuzz.h"

#define HELLO ((size_t)sizeof(struct near_hello))
#define REQ ((size_t)sizeof(struct near_request))
/* Output one input may ask for: one largest READ_MEM, and some. */
#define OUT_BUDGET ((size_t)NEAR_PROTO_MEM_MAX + 65536)
#define HANG_MS 10000

/* The harness's own code gets no coverage feedback: the fuzzer is steered
 * by the loop's branches (and the hooks', which compare with the sandbox),
 * not by the model's, nor by the timing-dependent ones of the peer thread. */
#define NOCOV __attribute__((no_sanitize("coverage"), noinline))

#define fail(...) \
	do { \
		fprintf(stderr, "fuzz_loop: " __VA_ARGS__); \
		fputc('\n', stderr); \
		abort(); \
	} while (0)

/* ---- the hooks --------------------------------------------------------- */

static unsigned char *sandbox, *noaccess;
static uint64_t n_exec, exec_hash;

NOCOV static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	h *= 0xbf58476d1ce4e5b9ULL;
	return h ^ (h >> 31);
}

/* The "result" of a request: -4095..4095, so errors and values both. */
NOCOV static int64_t fake_result(const int64_t q[7])
{
	uint64_t h = 0;

	for (int i = 0; i < 7; i++)
		h = mix(h, (uint64_t)q[i]);
	return (int64_t)(h % 8191) - 4095;
}

long pserver_fuzz_exec(long nr, long a, long b, long c, long d, long e, long f)
{
	const int64_t q[7] = { nr, a, b, c, d, e, f };

	if (nr < 0 || nr > INT32_MAX)
		fail("the loop executed nr %ld, which is no syscall", nr);
	n_exec++;
	for (int i = 0; i < 7; i++)
		exec_hash = mix(exec_hash, (uint64_t)q[i]);
	return (long)fake_result(q);
}

static int in_sandbox(uint64_t addr, uint64_t len)
{
	return addr >= FUZZ_BASE && addr - FUZZ_BASE <= FUZZ_SANDBOX &&
	       len <= FUZZ_SANDBOX - (addr - FUZZ_BASE);
}

uintptr_t pserver_fuzz_addr(uint64_t addr, uint64_t len)
{
	if (len > NEAR_PROTO_MEM_MAX)
		fail("a length of %llu from the peer reached the kernel unbounded",
		     (unsigned long long)len);
	if (in_sandbox(addr, len))
		return (uintptr_t)(sandbox + (addr - FUZZ_BASE));
	/* Every byte of [noaccess, noaccess + len) is PROT_NONE. */
	return (uintptr_t)noaccess;
}

/* ---- the reference model ----------------------------------------------- */

struct model {
	unsigned char sb[FUZZ_SANDBOX];    /* expected sandbox contents */
	unsigned char known[FUZZ_SANDBOX]; /* 0: a failed write may have hit it */
	unsigned char *out, *care;         /* expected output after the hello */
	size_t len;
	size_t cut;                        /* stream bytes given to the server */
	uint64_t n_exec, exec_hash;
};

NOCOV static void emit(struct model *m, const void *src, const unsigned char *care, size_t n)
{
	if (src)
		memcpy(m->out + m->len, src, n);
	else
		memset(m->out + m->len, 0, n);
	if (care)
		memcpy(m->care + m->len, care, n);
	else
		memset(m->care + m->len, 1, n);
	m->len += n;
}

NOCOV static void emit_ret(struct model *m, int64_t v)
{
	emit(m, &v, NULL, sizeof v);
}

/* A write that failed, or that end of file cut short, may have stored
 * some of its bytes in [addr, addr + len): forget what was there.  If addr
 * itself is outside the sandbox, the first access faults and the rest of
 * the payload is drained, so nothing is stored. */
NOCOV static void forget(struct model *m, uint64_t addr, uint64_t len)
{
	uint64_t end = FUZZ_BASE + FUZZ_SANDBOX;

	if (addr < FUZZ_BASE || addr >= end)
		return;
	if (len < end - addr)
		end = addr + len;
	memset(m->known + (addr - FUZZ_BASE), 0, end - addr);
}

/* What the protocol (near/proto.h) says the server sends for stream s. */
NOCOV static void model_run(struct model *m, const unsigned char *s, size_t n)
{
	size_t pos = 0;

	memset(m->sb, 0, sizeof m->sb);
	memset(m->known, 1, sizeof m->known);
	m->len = 0;
	m->n_exec = m->exec_hash = 0;
	m->cut = n;
	while (n - pos >= REQ) {
		struct near_request q;
		uint64_t addr, len;
		size_t start = pos;

		memcpy(&q, s + pos, REQ);
		pos += REQ;
		addr = (uint64_t)q.args[0];
		len = (uint64_t)q.args[1];
		if (m->len + 8 + (q.nr == NEAR_OP_READ_MEM && len <= NEAR_PROTO_MEM_MAX ?
				  len : 0) > OUT_BUDGET) {
			m->cut = start; /* too much output for one input: stop here */
			return;
		}
		switch (q.nr) {
		case NEAR_OP_WRITE_MEM:
			if (len > NEAR_PROTO_MEM_MAX) {
				emit_ret(m, -EMSGSIZE);
				return; /* and the server hangs up */
			}
			if (n - pos < len) {
				forget(m, addr, len);
				return; /* end of file inside the payload */
			}
			if (len == 0) {
				emit_ret(m, 0);
			} else if (in_sandbox(addr, len)) {
				memcpy(m->sb + (addr - FUZZ_BASE), s + pos, len);
				emit_ret(m, (int64_t)len);
			} else {
				forget(m, addr, len);
				emit_ret(m, -EFAULT);
			}
			pos += len;
			break;
		case NEAR_OP_READ_MEM:
			if (len > NEAR_PROTO_MEM_MAX) {
				emit_ret(m, -EMSGSIZE);
				return;
			}
			if (len == 0) {
				emit_ret(m, 0);
			} else if (in_sandbox(addr, len)) {
				emit(m, m->sb + (addr - FUZZ_BASE), m->known + (addr - FUZZ_BASE), len);
				emit_ret(m, (int64_t)len);
			} else {
				emit(m, NULL, NULL, len); /* zeros */
				emit_ret(m, -EFAULT);
			}
			break;
		case NEAR_OP_TAKEOVER:
			emit_ret(m, 1); /* already served: the epoch, the first one */
			break;
		default:
			if (q.nr < 0 || q.nr > INT32_MAX) {
				emit_ret(m, -ENOSYS);
			} else {
				const int64_t v[7] = { q.nr, q.args[0], q.args[1], q.args[2],
						       q.args[3], q.args[4], q.args[5] };
				m->n_exec++;
				for (int i = 0; i < 7; i++)
					m->exec_hash = mix(m->exec_hash, (uint64_t)v[i]);
				emit_ret(m, fake_result(v));
			}
		}
	}
}

/* ---- the controller thread --------------------------------------------- */

struct peer {
	int fd;
	const unsigned char *in;
	size_t in_len, chunk;
	unsigned char *out;
	size_t out_len, out_cap;
};

NOCOV static void *peer_main(void *arg)
{
	struct peer *p = arg;
	static unsigned char trash[65536];
	size_t sent = 0;
	int shut = 0;

	for (;;) {
		struct pollfd pf;
		int r;

		if (!shut && sent == p->in_len) {
			shutdown(p->fd, SHUT_WR);
			shut = 1;
		}
		pf = (struct pollfd){ p->fd, (short)(POLLIN | (shut ? 0 : POLLOUT)), 0 };
		r = poll(&pf, 1, HANG_MS);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			fail("the server hangs: nothing moved for %d ms (%zu of %zu bytes sent, "
			     "%zu received)", HANG_MS, sent, p->in_len, p->out_len);
		if (pf.revents & (POLLIN | POLLHUP | POLLERR)) {
			size_t room = p->out_cap - p->out_len;
			unsigned char *to = room ? p->out + p->out_len : trash;
			ssize_t k = recv(p->fd, to, room ? room : sizeof trash, MSG_DONTWAIT);

			/* A socket closed with unread data resets its peer. */
			if (k == 0 || (k < 0 && errno == ECONNRESET))
				return NULL;
			if (k < 0 && errno != EAGAIN && errno != EINTR)
				fail("recv: %s", strerror(errno));
			if (k > 0)
				p->out_len += (size_t)k; /* may pass out_cap: too much */
		}
		if (!shut && (pf.revents & POLLOUT)) {
			size_t want = p->in_len - sent;
			ssize_t k;

			if (want > p->chunk)
				want = p->chunk;
			k = send(p->fd, p->in + sent, want, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (k > 0)
				sent += (size_t)k;
			else if (k < 0 && (errno == EPIPE || errno == ECONNRESET))
				shut = 1; /* the server hung up (-EMSGSIZE) */
			else if (k < 0 && errno != EAGAIN && errno != EINTR)
				fail("send: %s", strerror(errno));
		}
	}
}

/* ---- one input ---------------------------------------------------------- */

static struct model model;
static unsigned char *actual;

NOCOV static void setup(void)
{
	size_t noaccess_len = NEAR_PROTO_MEM_MAX + 4096;

	sandbox = mmap(NULL, FUZZ_SANDBOX, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	noaccess = mmap(NULL, noaccess_len, PROT_NONE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	model.out = malloc(OUT_BUDGET);
	model.care = malloc(OUT_BUDGET);
	actual = malloc(HELLO + OUT_BUDGET);
	if (sandbox == MAP_FAILED || noaccess == MAP_FAILED || !model.out ||
	    !model.care || !actual)
		fail("out of memory");
}

/* Returns: the index of the first byte where got differs from want where
 * care is set, or n.  (memcmp/memchr first: this runs for every input.) */
NOCOV static size_t differs(const unsigned char *got, const unsigned char *want,
		      const unsigned char *care, size_t n)
{
	size_t i = 0;

	if (!memchr(care, 0, n) && memcmp(got, want, n) == 0)
		return n;
	while (i < n && (!care[i] || got[i] == want[i]))
		i++;
	return i;
}

NOCOV static void check_output(const struct peer *p)
{
	const struct near_hello *h = (const void *)actual;
	const unsigned char *got = actual + HELLO;
	size_t i;

	if (p->out_len < HELLO)
		fail("%zu bytes instead of a hello", p->out_len);
	if (h->magic != NEAR_PROTO_MAGIC || h->version != NEAR_PROTO_VERSION ||
	    h->arch != NEAR_ARCH_ID || h->epoch != 1 || h->pid != getpid() ||
	    h->flags != 0 || h->refusal != 0)
		fail("bad hello");
	if (p->out_len - HELLO != model.len)
		fail("%zu bytes of answers, the protocol says %zu", p->out_len - HELLO,
		     model.len);
	i = differs(got, model.out, model.care, model.len);
	if (i < model.len)
		fail("answer byte %zu is %#x, the protocol says %#x", i, got[i], model.out[i]);
	if (n_exec != model.n_exec || exec_hash != model.exec_hash)
		fail("%llu syscalls executed, the protocol says %llu (or other arguments)",
		     (unsigned long long)n_exec, (unsigned long long)model.n_exec);
	i = differs(sandbox, model.sb, model.known, FUZZ_SANDBOX);
	if (i < FUZZ_SANDBOX)
		fail("sandbox byte %zu is %#x, the protocol says %#x", i, sandbox[i],
		     model.sb[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pserver srv;
	struct peer p;
	pthread_t th;
	int sv[2], r;

	if (size < 1 || size > FUZZ_MAX_LEN)
		return -1;
	if (!sandbox)
		setup();
	model_run(&model, data + 1, size - 1);
	memset(sandbox, 0, FUZZ_SANDBOX);
	n_exec = exec_hash = 0;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		fail("socketpair: %s", strerror(errno));
	p = (struct peer){ sv[1], data + 1, model.cut, data[0] ? 3u * data[0] : SIZE_MAX,
			   actual, 0, HELLO + OUT_BUDGET };
	r = pthread_create(&th, NULL, peer_main, &p);
	if (r)
		fail("pthread_create: %s", strerror(r));

	pserver_init(&srv);
	srv.conn_fd = sv[0];
	r = pserver_run(&srv);
	if (r != 0)
		fail("pserver_run returned %d", r);
	if (srv.conn_fd != -1 || srv.pending_fd != -1)
		fail("pserver_run returned with a connection open");
	pthread_join(th, NULL);
	close(sv[1]);
	check_output(&p);
	return 0;
}
