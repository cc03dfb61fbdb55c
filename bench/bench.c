// SPDX-License-Identifier: MIT
/* make bench: the costs of talking to a real persist-server, each measured
 * against a floor taken in the same run on the same machine (DESIGN.md,
 * "Targets"): absolute times on a shared 2-core VM mean little, ratios do.
 *
 * Method, for every benchmark: calibrate the value and its floor to runs of
 * about RUN_MS each (the calibration ramp doubles as the warm-up), do one
 * discarded warm-up run of each, then RUNS rounds of one floor run and one
 * value run back to back, alternating which goes first so that a slow drift
 * of the machine does not favour either.  The value and the floor reported
 * are each the MEDIAN of their RUNS runs: on a noisy VM the median ignores
 * both the runs that a neighbour disturbed and the rare lucky one, so the
 * ratio is stable from one `make bench` to the next; the best run would
 * reward luck.
 *
 * The timed loops talk to the server with plain blocking read/write on the
 * connection (after ctl_connect has read the hello), exactly as the floors
 * do on their socketpair: ctl_call polls before every read to enforce its
 * deadline, which would charge controller-side syscalls to the server.
 * Deadlines come from SO_RCVTIMEO/SO_SNDTIMEO instead, which cost nothing
 * per call.
 *
 * All processes are pinned to one CPU unless BENCH_PIN says otherwise: see
 * pin() for why.
 *
 * Targets are reported, never enforced: the exit status is non-zero only if
 * a measurement itself failed (no server, a wrong answer, a timeout).
 *
 * The benchmarks after the raw-protocol ones go through the libraries an
 * application uses: libtransport (pipelined calls; memory through each of
 * its three transports, forced with transport_mem_use) and libpersist
 * (reconnect, spawn, make_persistent, recovery from the state store).
 * libtransport waits have no deadline (transport_set_timeout -1: a deadline
 * costs a poll per wait); a watchdog alarm ends a hung run instead.
 * A few values are not timings (an RSS in KiB) or are single operations
 * that consume their input (recovery), measured without calibration: see
 * struct side's fixed and prep, and struct bench's custom.
 *
 * Usage: [BENCH_PIN=same|none|split] [BENCH_ONLY=name,...] bench [OUT.json] */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <near/proto.h>
#include <near/syscall.h>
#include <pserver/pserver.h>
#include <transport/conn.h>
#include <transport/mem.h>
#include <persist/thread.h>
#include <persist/store.h>
#include <persist/recover.h>
#include "../tests/lib/ctl.h"
#include "../tests/lib/spawn.h" /* not <spawn.h>: no -I, so both can be included */

extern char **environ;

#define RUNS 7
#define RUN_MS 120       /* one timed run; 27 benchmarks x 2 x 9 runs ~ 60 s */
#define IO_TIMEOUT_S 5   /* a peer silent for this long has failed */
#define MIB (1u << 20)
#define KIB4 4096u
#define MEM_WIN 16       /* 4 KiB memory ops per batch; two batches in flight */
#define WATCHDOG_S 60    /* one benchmark (or the setup) taking longer has hung */
#define PEER_STACK (256 * 1024)

static struct server srv;
static struct ctl ctl;
static int hfd = -1;     /* our end of the socketpair to the helper child */
static pid_t helper_pid;
static int64_t srv_pid;  /* what getpid answers in the server */
static uint64_t remote;  /* MIB bytes mapped in the server */
static unsigned char *src, *dst; /* MIB each, here */

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* All of iov, blocking.  Returns: 0; -ETIMEDOUT (SO_*TIMEO expired);
 * -EPIPE at end of file; or another -errno. */
static int io_all(int fd, struct iovec *iov, int n, int wr)
{
	while (n > 0) {
		ssize_t k = wr ? writev(fd, iov, n) : readv(fd, iov, n);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		}
		if (k == 0 && !wr)
			return -EPIPE;
		while (n > 0 && (size_t)k >= iov->iov_len) {
			k -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + k;
			iov->iov_len -= (size_t)k;
		}
	}
	return 0;
}

static int read_full(int fd, void *buf, size_t len)
{
	struct iovec iov = { buf, len };
	return io_all(fd, &iov, 1, 0);
}

static int write_full(int fd, const void *buf, size_t len)
{
	struct iovec iov = { (void *)buf, len };
	return io_all(fd, &iov, 1, 1);
}

static int set_timeouts(int fd)
{
	struct timeval tv = { IO_TIMEOUT_S, 0 };

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0)
		return -errno;
	return 0;
}

/* ---- The helper child: the other process of every floor ---------------- */

enum { H_ECHO = 1, H_SINK, H_SOURCE };

struct hcmd {
	uint64_t op, size, count;
};

/* No timeouts here: the helper idles while the server is measured, and it
 * sees end of file when the benchmark exits, however that happens. */
static void helper_main(int fd)
{
	static unsigned char buf[MIB];
	struct hcmd c;

	memset(buf, 0x5a, sizeof buf); /* fault the pages in before timing */
	while (read_full(fd, &c, sizeof c) == 0) {
		uint64_t v = 0;
		int r = 0;

		if (c.size > sizeof buf)
			_exit(2);
		for (uint64_t i = 0; i < c.count && r == 0; i++) {
			switch (c.op) {
			case H_ECHO:
				r = read_full(fd, &v, 8);
				if (r == 0)
					r = write_full(fd, &v, 8);
				break;
			case H_SINK:
				r = read_full(fd, buf, c.size);
				break;
			case H_SOURCE:
				r = write_full(fd, buf, c.size);
				break;
			default:
				_exit(2);
			}
		}
		/* A sink acknowledges, so the sender times the whole transfer. */
		if (r == 0 && c.op == H_SINK)
			r = write_full(fd, &c.count, 8);
		if (r < 0)
			_exit(1);
	}
	_exit(0);
}

static int helper_start(void)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	helper_pid = fork();
	if (helper_pid < 0)
		return -errno;
	if (helper_pid == 0) {
		close(sv[0]);
		helper_main(sv[1]);
	}
	close(sv[1]);
	hfd = sv[0];
	return set_timeouts(hfd);
}

static int helper_cmd(uint64_t op, uint64_t size, uint64_t count)
{
	struct hcmd c = { op, size, count };
	return write_full(hfd, &c, sizeof c);
}

/* ---- What is timed ------------------------------------------------------ */

/* One timed loop: do iters iterations.  Returns: 0 or -errno. */
typedef int (*loop_fn)(const void *arg, long iters);

/* Floor: 8 bytes to the echo child and back. */
static int floor_pingpong(const void *arg, long iters)
{
	int r = helper_cmd(H_ECHO, 8, (uint64_t)iters);

	(void)arg;
	for (long i = 0; i < iters && r == 0; i++) {
		uint64_t v = (uint64_t)i;
		r = write_full(hfd, &v, 8);
		if (r == 0)
			r = read_full(hfd, &v, 8);
		if (r == 0 && v != (uint64_t)i)
			r = -EPROTO;
	}
	return r;
}

/* Value: one getpid request, wait for its answer. */
static int val_roundtrip(const void *arg, long iters)
{
	struct near_request q;
	int r = 0;

	(void)arg;
	near_request_set(&q, __NR_getpid, 0, 0, 0, 0, 0, 0);
	for (long i = 0; i < iters && r == 0; i++) {
		int64_t ret;
		r = write_full(ctl.fd, &q, sizeof q);
		if (r == 0)
			r = read_full(ctl.fd, &ret, sizeof ret);
		if (r == 0 && ret != srv_pid)
			r = -EPROTO;
	}
	return r;
}

/* Floor: getpid right here, no transport at all. */
static int floor_raw_syscall(const void *arg, long iters)
{
	long me = near_syscall0(__NR_getpid);

	(void)arg;
	for (long i = 0; i < iters; i++)
		if (near_syscall0(__NR_getpid) != me)
			return -EPROTO;
	return 0;
}

/* Value: *arg getpid requests in one write, then all their answers. */
static int val_pipelined(const void *arg, long iters)
{
	unsigned n = *(const unsigned *)arg;
	struct near_request q[64];
	int64_t ret[64];
	int r = 0;

	if (n > 64)
		return -EINVAL;
	for (unsigned j = 0; j < n; j++)
		near_request_set(&q[j], __NR_getpid, 0, 0, 0, 0, 0, 0);
	for (long i = 0; i < iters && r == 0; i++) {
		r = write_full(ctl.fd, q, n * sizeof q[0]);
		if (r == 0)
			r = read_full(ctl.fd, ret, n * sizeof ret[0]);
		for (unsigned j = 0; j < n && r == 0; j++)
			if (ret[j] != srv_pid)
				r = -EPROTO;
	}
	return r;
}

/* A memory benchmark: batch ops of size bytes per iteration.  A batch of 1
 * is one blocking operation at a time (what "write 1 MiB into remote
 * memory" means).  Batches of MEM_WIN small ops go out in one writev while
 * the previous batch's answers come back, so the server always has work
 * queued and small ops are measured as throughput, not as round trips. */
struct mem {
	unsigned size, batch;
};

static int mem_send(const struct mem *m, int64_t op)
{
	struct near_request q[MEM_WIN];
	struct iovec iov[2 * MEM_WIN];
	int n = 0;

	for (unsigned j = 0; j < m->batch; j++) {
		near_request_set(&q[j], op, (int64_t)(remote + j * m->size),
				 m->size, 0, 0, 0, 0);
		iov[n++] = (struct iovec){ &q[j], sizeof q[j] };
		if (op == NEAR_OP_WRITE_MEM)
			iov[n++] = (struct iovec){ src + j * m->size, m->size };
	}
	return io_all(ctl.fd, iov, n, 1);
}

static int mem_recv(const struct mem *m, int64_t op)
{
	int64_t ret[MEM_WIN];
	struct iovec iov[2 * MEM_WIN];
	int n = 0, r;

	for (unsigned j = 0; j < m->batch; j++) {
		if (op == NEAR_OP_READ_MEM)
			iov[n++] = (struct iovec){ dst + j * m->size, m->size };
		iov[n++] = (struct iovec){ &ret[j], sizeof ret[j] };
	}
	r = io_all(ctl.fd, iov, n, 0);
	for (unsigned j = 0; j < m->batch && r == 0; j++)
		if (ret[j] != (int64_t)m->size)
			r = ret[j] < 0 ? (int)ret[j] : -EPROTO;
	return r;
}

static int mem_loop(const struct mem *m, int64_t op, long iters)
{
	int r = 0;

	if (m->batch > MEM_WIN || m->batch * m->size > MIB)
		return -EINVAL;
	if (m->batch == 1) {
		for (long i = 0; i < iters && r == 0; i++) {
			r = mem_send(m, op);
			if (r == 0)
				r = mem_recv(m, op);
		}
		return r;
	}
	r = mem_send(m, op);
	for (long i = 1; i < iters && r == 0; i++) {
		r = mem_send(m, op);
		if (r == 0)
			r = mem_recv(m, op);
	}
	return r ? r : mem_recv(m, op);
}

static int val_write_mem(const void *arg, long iters)
{
	return mem_loop(arg, NEAR_OP_WRITE_MEM, iters);
}

static int val_read_mem(const void *arg, long iters)
{
	return mem_loop(arg, NEAR_OP_READ_MEM, iters);
}

/* Floors: the same bytes per iteration in chunks of the same size, to the
 * helper (which acknowledges at the end) or from it, one write or read per
 * chunk: the plain way to stream.  (The 4 KiB values batch MEM_WIN ops per
 * writev, so if anything this side pays more syscalls than the value.) */
static int floor_stream_out(const void *arg, long iters)
{
	const struct mem *m = arg;
	uint64_t chunks = (uint64_t)iters * m->batch, ack = 0;
	int r = helper_cmd(H_SINK, m->size, chunks);

	for (uint64_t i = 0; i < chunks && r == 0; i++)
		r = write_full(hfd, src + (i % m->batch) * m->size, m->size);
	if (r == 0)
		r = read_full(hfd, &ack, 8);
	return r == 0 && ack != chunks ? -EPROTO : r;
}

static int floor_stream_in(const void *arg, long iters)
{
	const struct mem *m = arg;
	uint64_t chunks = (uint64_t)iters * m->batch;
	int r = helper_cmd(H_SOURCE, m->size, chunks);

	for (uint64_t i = 0; i < chunks && r == 0; i++)
		r = read_full(hfd, dst + (i % m->batch) * m->size, m->size);
	return r;
}

/* ---- Measuring ---------------------------------------------------------- */

enum unit { NS_PER_OP, GB_PER_S, US_PER_OP, MS_PER_OP, KIB };

static const char *const unit_names[] = { "ns", "GB/s", "us", "ms", "KiB" };

struct side {
	loop_fn fn;
	const void *arg;
	double per_iter; /* operations (*_PER_OP) or bytes (GB_PER_S) */
	long fixed;      /* > 0: always this many iterations, no calibration */
	int (*prep)(void); /* may be NULL: untimed, before every run */
	long iters;
	double runs[RUNS];
};

struct bench {
	const char *name;
	enum unit unit;
	struct side val, floor;
	const char *floor_name;
	const char *target; /* shown; NULL: no target, reported only */
	int (*met)(const struct bench *);
	double value, floor_value, ratio, noise;
	int (*check)(const struct bench *); /* after the runs; may be NULL */
	/* Not a timing: fills value, floor_value, ratio and noise itself. */
	int (*custom)(struct bench *);
	int (*setup)(void); /* may be NULL: once, before the runs, untimed */
};

static int time_once(struct side *s, long iters, double *ns)
{
	double t0;
	int r;

	if (s->prep && (r = s->prep()) < 0)
		return r;
	t0 = now_ns();
	r = s->fn(s->arg, iters);

	*ns = now_ns() - t0;
	return r;
}

static double per_unit(const struct side *s, enum unit u, double ns)
{
	double units = (double)s->iters * s->per_iter;

	switch (u) {
	case GB_PER_S: return units / ns; /* bytes/ns = GB/s */
	case US_PER_OP: return ns / units / 1e3;
	case MS_PER_OP: return ns / units / 1e6;
	default: return ns / units;
	}
}

/* Grow iters until a run lasts a tenth of RUN_MS, then scale to RUN_MS;
 * the ramp also warms caches, the branch predictor and the peer. */
static int calibrate(struct side *s)
{
	double ns = 0, want = RUN_MS * 1e6;
	long it = 1;
	int r;

	if (s->fixed > 0) {
		s->iters = s->fixed;
		return time_once(s, s->iters, &ns); /* the warm-up run */
	}
	for (;;) {
		r = time_once(s, it, &ns);
		if (r < 0)
			return r;
		if (ns >= want / 10 || it > (1L << 40))
			break;
		it *= ns < want / 1000 ? 16 : 4;
	}
	s->iters = (long)((double)it * want / ns);
	if (s->iters < 1)
		s->iters = 1;
	return time_once(s, s->iters, &ns); /* a full-length warm-up run */
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(const double *v, double *spread)
{
	double s[RUNS];

	memcpy(s, v, sizeof s);
	qsort(s, RUNS, sizeof s[0], cmp_double);
	*spread = s[0] > 0 ? s[RUNS - 1] / s[0] - 1 : 0;
	return s[RUNS / 2];
}

static int measure(struct bench *b)
{
	double fspread;
	int r;

	if (b->setup && (r = b->setup()) < 0)
		return r;
	if (b->custom)
		return b->custom(b);
	if ((r = calibrate(&b->floor)) < 0 || (r = calibrate(&b->val)) < 0)
		return r;
	for (int i = 0; i < RUNS; i++) {
		struct side *first = i % 2 ? &b->val : &b->floor;
		struct side *second = i % 2 ? &b->floor : &b->val;
		double ns;

		if ((r = time_once(first, first->iters, &ns)) < 0)
			return r;
		first->runs[i] = per_unit(first, b->unit, ns);
		if ((r = time_once(second, second->iters, &ns)) < 0)
			return r;
		second->runs[i] = per_unit(second, b->unit, ns);
	}
	b->value = median(b->val.runs, &b->noise);
	b->floor_value = median(b->floor.runs, &fspread);
	if (fspread > b->noise)
		b->noise = fspread;
	b->ratio = b->value / b->floor_value;
	return b->check ? b->check(b) : 0;
}

static int met_roundtrip(const struct bench *b)
{
	return b->ratio <= 1.15;
}

static int met_pipelined(const struct bench *b)
{
	return b->value <= 500 || b->ratio <= 5;
}

static int met_mem(const struct bench *b)
{
	return b->ratio >= 0.8;
}

/* The read benchmarks follow the write benchmark of the same shape, which
 * left src's bytes in the server: one more read must bring them back (dst
 * is cleared first, since the floor also reads into it). */
static int check_read(const struct bench *b)
{
	const struct mem *m = b->val.arg;
	size_t len = (size_t)m->size * m->batch;
	int r;

	memset(dst, 0, len);
	r = mem_loop(m, NEAR_OP_READ_MEM, 1);
	if (r == 0 && memcmp(dst, src, len))
		r = -EPROTO;
	return r;
}

static int met_reconnect(const struct bench *b)
{
	return b->ratio <= 2;
}

static int met_spawn(const struct bench *b)
{
	return b->ratio <= 1.3;
}

static int met_rss(const struct bench *b)
{
	return b->value <= 512;
}

static int met_recover(const struct bench *b)
{
	return b->value <= 100;
}

/* ---- What is timed, through libtransport -------------------------------- */

/* Peers of the library benchmarks, each started in setup. */
static struct server srv2;        /* real persist-server: libtransport */
static struct transport_conn *tc; /* to srv2, no deadline */
static uint64_t tremote;          /* MIB mapped in srv2 */
static struct pserver lsrv;       /* the CLONE_VM child's loop, in our memory */
static void *lstack;
static pid_t lpid;                /* the CLONE_VM child */
static struct transport_conn *lc; /* to it */
static uint64_t lremote;          /* MIB it mapped: in our address space */
static struct server srv3;        /* real persist-server: libpersist */
static struct persist_thread pt;  /* connected to srv3 */
static struct {                   /* the floor of reconnect */
	pid_t pid;
	char dir[64], path[108];
} fdsrv;

/* Value: *arg getpid requests with transport_submit, then transport_wait
 * for each answer. */
static int val_tp_pipelined(const void *arg, long iters)
{
	unsigned n = *(const unsigned *)arg;
	struct near_request q;
	int r = 0;

	near_request_set(&q, __NR_getpid, 0, 0, 0, 0, 0, 0);
	for (long i = 0; i < iters && r == 0; i++) {
		for (unsigned j = 0; j < n && r == 0; j++)
			r = transport_submit(tc, &q);
		for (unsigned j = 0; j < n && r == 0; j++) {
			int64_t ret;
			r = transport_wait(tc, &ret);
			if (r == 0 && ret != srv2.pid)
				r = -EPROTO;
		}
	}
	return r;
}

/* Memory through one transport of libtransport, one blocking operation of
 * size bytes per iteration, always the same bytes (as the floors do). */
struct tmem {
	struct transport_conn **c;
	uint64_t *remote;
	enum transport_mem_kind kind;
	unsigned size;
};

static int tmem_loop(const struct tmem *m, int wr, long iters)
{
	struct transport_conn *c = *m->c;
	int r = transport_mem_use(c, m->kind);

	for (long i = 0; i < iters && r == 0; i++)
		r = wr ? transport_write_mem(c, *m->remote, src, m->size)
		       : transport_read_mem(c, dst, *m->remote, m->size);
	/* A transport refused on the way falls back to in-band: not what
	 * this benchmark measures. */
	if (r == 0 && transport_mem_kind(c) != m->kind)
		r = -EXDEV;
	return r;
}

static int val_tmem_write(const void *arg, long iters)
{
	return tmem_loop(arg, 1, iters);
}

static int val_tmem_read(const void *arg, long iters)
{
	return tmem_loop(arg, 0, iters);
}

/* Keeps the compiler from dropping a copy nobody reads. */
#define CLOBBER() __asm__ __volatile__("" ::: "memory")

/* Floors of the local transport: memcpy to / from the same memory. */
static int floor_memcpy_out(const void *arg, long iters)
{
	const struct tmem *m = arg;

	for (long i = 0; i < iters; i++) {
		memcpy((void *)(uintptr_t)lremote, src, m->size);
		CLOBBER();
	}
	return 0;
}

static int floor_memcpy_in(const void *arg, long iters)
{
	const struct tmem *m = arg;

	for (long i = 0; i < iters; i++) {
		memcpy(dst, (void *)(uintptr_t)lremote, m->size);
		CLOBBER();
	}
	return 0;
}

/* Floors of the process_vm transport: the syscalls themselves. */
static int pvm_direct(int wr, void *local, uint64_t remote, size_t len)
{
	struct iovec l = { local, len }, rv = { (void *)(uintptr_t)remote, len };
	ssize_t n = wr ? process_vm_writev(srv2.pid, &l, 1, &rv, 1, 0)
		       : process_vm_readv(srv2.pid, &l, 1, &rv, 1, 0);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EFAULT;
}

static int floor_pvm_out(const void *arg, long iters)
{
	const struct tmem *m = arg;
	int r = 0;

	for (long i = 0; i < iters && r == 0; i++)
		r = pvm_direct(1, src, tremote, m->size);
	return r;
}

static int floor_pvm_in(const void *arg, long iters)
{
	const struct tmem *m = arg;
	int r = 0;

	for (long i = 0; i < iters && r == 0; i++)
		r = pvm_direct(0, dst, tremote, m->size);
	return r;
}

/* Put / get the remote bytes around the transport under test. */
static int tmem_direct(const struct tmem *m, int wr, void *buf)
{
	if (m->kind == TRANSPORT_MEM_LOCAL) {
		if (wr)
			memcpy((void *)(uintptr_t)lremote, buf, m->size);
		else
			memcpy(buf, (void *)(uintptr_t)lremote, m->size);
		return 0;
	}
	return pvm_direct(wr, buf, tremote, m->size);
}

/* One write through the transport must land: cleared first, read back
 * without it. */
static int check_tmem_write(const struct bench *b)
{
	const struct tmem *m = b->val.arg;
	int r;

	memset(dst, 0, m->size);
	r = tmem_direct(m, 1, dst);
	if (r == 0)
		r = tmem_loop(m, 1, 1);
	if (r == 0)
		r = tmem_direct(m, 0, dst);
	if (r == 0 && memcmp(dst, src, m->size))
		r = -EPROTO;
	return r;
}

/* One read through the transport must bring back what was put there. */
static int check_tmem_read(const struct bench *b)
{
	const struct tmem *m = b->val.arg;
	int r = tmem_direct(m, 1, src);

	memset(dst, 0, m->size);
	if (r == 0)
		r = tmem_loop(m, 0, 1);
	if (r == 0 && memcmp(dst, src, m->size))
		r = -EPROTO;
	return r;
}

/* ---- What is timed, through libpersist ---------------------------------- */

#define CONNECT_TIMEOUT_MS 5000 /* what a controller would pass */

/* Value: reconnect to the persistent thread (taking over), and its first
 * syscall answered. */
static int val_reconnect(const void *arg, long iters)
{
	char why[256] = "";
	int r = 0;

	(void)arg;
	for (long i = 0; i < iters && r == 0; i++) {
		int64_t ret;
		struct near_request q;

		r = persist_reconnect(&pt, CONNECT_TIMEOUT_MS, why, sizeof why);
		if (r == 0)
			r = transport_call(pt.conn, near_request_set(&q, __NR_getpid, 0, 0, 0,
								 0, 0, 0), &ret);
		if (r == 0 && ret != srv3.pid)
			r = -EPROTO;
	}
	if (r < 0 && why[0])
		fprintf(stderr, "bench: reconnect: %s\n", why);
	return r;
}

/* The floor's server: on each connection, one byte with an fd (SCM_RIGHTS),
 * then echo 8 bytes: connect + SCM_RIGHTS + reply. */
static void fdsrv_main(int lfd)
{
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);

	for (;;) {
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(sizeof(int))];
		} u;
		char byte = 'f';
		struct iovec iov = { &byte, 1 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = u.buf, .msg_controllen = sizeof u.buf };
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		uint64_t v;
		int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			_exit(1);
		}
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &devnull, sizeof(int));
		if (sendmsg(c, &mh, MSG_NOSIGNAL) == 1 && read_full(c, &v, 8) == 0)
			write_full(c, &v, 8);
		close(c);
	}
}

/* Floor: connect, receive an fd with SCM_RIGHTS, one 8-byte round trip. */
static int floor_connect_rights(const void *arg, long iters)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int r = 0;

	(void)arg;
	memcpy(sa.sun_path, fdsrv.path, strlen(fdsrv.path) + 1);
	for (long i = 0; i < iters && r == 0; i++) {
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(sizeof(int))];
		} u;
		char byte;
		struct iovec iov = { &byte, 1 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = u.buf, .msg_controllen = sizeof u.buf };
		struct cmsghdr *cm;
		uint64_t v = (uint64_t)i;
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), got = -1;

		if (fd < 0)
			return -errno;
		if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
		    recvmsg(fd, &mh, MSG_CMSG_CLOEXEC) != 1)
			r = -errno ? -errno : -EPROTO;
		cm = r == 0 ? CMSG_FIRSTHDR(&mh) : NULL;
		if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
			memcpy(&got, CMSG_DATA(cm), sizeof got);
		if (r == 0 && got < 0)
			r = -EPROTO;
		if (got >= 0)
			close(got);
		if (r == 0)
			r = write_full(fd, &v, 8);
		if (r == 0)
			r = read_full(fd, &v, 8);
		if (r == 0 && v != (uint64_t)i)
			r = -EPROTO;
		close(fd);
	}
	return r;
}

/* Value: spawn /bin/true in the persistent thread, reap it there. */
static int val_spawn(const void *arg, long iters)
{
	static const char *const argv[] = { "/bin/true", NULL };
	struct persist_spawn s = { .argv = argv };
	char why[256] = "";
	int r = 0;

	(void)arg;
	for (long i = 0; i < iters && r == 0; i++) {
		struct persist_exit st;
		int pid;

		r = persist_spawn(&pt, &s, &pid, why, sizeof why);
		if (r == 0)
			r = persist_child_wait(&pt, pid, 0, 1, &st);
		if (r == 0 && (!st.exited || st.killed || st.code != 0))
			r = -EPROTO;
	}
	if (r < 0 && why[0])
		fprintf(stderr, "bench: spawn: %s\n", why);
	return r;
}

/* Floor: posix_spawn + waitpid of /bin/true right here. */
static int floor_spawn(const void *arg, long iters)
{
	static char *const argv[] = { "/bin/true", NULL };

	(void)arg;
	for (long i = 0; i < iters; i++) {
		pid_t pid;
		int status, e = posix_spawn(&pid, argv[0], NULL, NULL, argv, environ);

		if (e)
			return -e;
		if (waitpid(pid, &status, 0) < 0)
			return -errno;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			return -EPROTO;
	}
	return 0;
}

/* Close every fd from 3 up except keep (-1: none). */
static void keep_only(int keep)
{
	if (keep < 0) {
		near_syscall3(__NR_close_range, 3, ~0U, 0);
		return;
	}
	if (keep > 3)
		near_syscall3(__NR_close_range, 3, keep - 1, 0);
	near_syscall3(__NR_close_range, keep + 1, ~0U, 0);
}

/* Returns: the field (e.g. "VmRSS") of /proc/PID/status in KiB, or -errno. */
static long status_kib(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t len = strlen(field);
	long kib = -ENOENT;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if (!(f = fopen(path, "r")))
		return -errno;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, field, len) && line[len] == ':' &&
		    sscanf(line + len + 1, "%ld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static long vmrss_kib(pid_t pid)
{
	return status_kib(pid, "VmRSS");
}

#define RSS_RUNS 3
#define BIG (1UL << 30)

struct rss_report {
	long thread_kib, controller_kib, anon_kib, file_kib;
	int err;
	char why[200];
};

/* In a forked controller: hold BIG touched, clone_persistent +
 * make_persistent, and report the thread's RSS and our own. */
static void rss_controller(int wfd, const char *path)
{
	struct rss_report rep = { 0 };
	struct persist_thread self, t;
	char *big;
	int r;

	keep_only(wfd);
	big = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (big == MAP_FAILED) {
		rep.err = -errno;
		snprintf(rep.why, sizeof rep.why, "mmap of 1 GiB");
		goto out;
	}
	memset(big, 0x5a, BIG);
	r = persist_thread_local(&self);
	if (r == 0)
		r = persist_clone_persistent(&self, path, &t, rep.why, sizeof rep.why);
	if (r == 0) {
		r = persist_make_persistent(&t, rep.why, sizeof rep.why);
		if (r == 0 && transport_syscall(t.conn, __NR_getpid, 0, 0, 0, 0, 0, 0) != t.pid)
			r = -EPROTO;
		rep.thread_kib = vmrss_kib(t.pid);
		rep.anon_kib = status_kib(t.pid, "RssAnon");
		rep.file_kib = status_kib(t.pid, "RssFile");
		rep.controller_kib = vmrss_kib(getpid());
		persist_thread_exit(&t, 0);
	}
	rep.err = r;
out:
	if (write(wfd, &rep, sizeof rep) != sizeof rep)
		_exit(1);
	_exit(0);
}

static double median_of(double *v, int n, double *spread)
{
	qsort(v, (size_t)n, sizeof v[0], cmp_double);
	*spread = v[0] > 0 ? v[n - 1] / v[0] - 1 : 0;
	return v[n / 2];
}

static int bench_rss(struct bench *b)
{
	double val[RSS_RUNS], flo[RSS_RUNS], s1, s2;
	char dir[64], path[108];
	int r = 0;

	snprintf(dir, sizeof dir, "/tmp/persist-bench-XXXXXX");
	if (!mkdtemp(dir))
		return -errno;
	snprintf(path, sizeof path, "%s/sock", dir);
	for (int i = 0; i < RSS_RUNS && r == 0; i++) {
		struct rss_report rep;
		struct server fresh;
		int p[2], status;
		pid_t pid;

		if (pipe2(p, O_CLOEXEC) < 0)
			return -errno;
		pid = fork();
		if (pid == 0)
			rss_controller(p[1], path);
		close(p[1]);
		if (pid < 0 || read_full(p[0], &rep, sizeof rep) < 0)
			r = -ECHILD;
		close(p[0]);
		if (pid > 0)
			waitpid(pid, &status, 0);
		unlink(path);
		if (r == 0 && rep.err < 0) {
			fprintf(stderr, "bench: make_persistent: %s\n", rep.why);
			r = rep.err;
		}
		if (r == 0 && rep.controller_kib < (long)(BIG >> 10))
			r = -EPROTO; /* the controller did not hold its 1 GiB */
		if (r == 0 && rep.thread_kib <= 0)
			r = rep.thread_kib < 0 ? (int)rep.thread_kib : -EPROTO;
		val[i] = (double)rep.thread_kib;
		/* What the RSS is made of: the thread's own pages, and the
		 * pages of its executable and libraries it maps from the page
		 * cache (shared with every process that maps them). */
		if (r == 0 && i == 0)
			fprintf(stderr, "bench: the thread after make_persistent: VmRSS %ld KiB ="
				" RssAnon %ld + RssFile %ld (+ RssShmem); its controller: %ld KiB\n",
				rep.thread_kib, rep.anon_kib, rep.file_kib, rep.controller_kib);
		/* The floor: a standalone server, just started. */
		if (r == 0 && (r = server_start(&fresh, NULL)) == 0) {
			long kib = vmrss_kib(fresh.pid);
			server_stop(&fresh);
			if (kib <= 0)
				r = kib < 0 ? (int)kib : -EPROTO;
			flo[i] = (double)kib;
		}
	}
	rmdir(dir);
	if (r < 0)
		return r;
	b->value = median_of(val, RSS_RUNS, &s1);
	b->floor_value = median_of(flo, RSS_RUNS, &s2);
	b->noise = s1 > s2 ? s1 : s2;
	b->ratio = b->value / b->floor_value;
	return 0;
}

/* Recovery over 10,000 child records: 10 of live children of the thread
 * (a forked process of ours), the rest of processes long gone.  The store
 * is built once through the store's API (on /dev/shm when there is one:
 * 20,000 synchronous commits on a disk take seconds), then every run works
 * on a fresh copy of it in a directory on /tmp, since recovery settles the
 * records it examines. */
#define REC_N 10000
#define REC_LIVE 10

static struct {
	pid_t thread;
	char sdir[64], dir[64], tmpl[128], run[128];
	const char *sock;
} rc = { .sock = "/run/persist-bench/thread.sock" };

static void rthread_main(int wfd)
{
	pid_t me = getpid(), kids[REC_LIVE];

	keep_only(wfd);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (int k = 0; k < REC_LIVE; k++) {
		kids[k] = fork();
		if (kids[k] == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != me)
				_exit(0);
			close(wfd);
			for (;;)
				pause();
		}
	}
	if (write(wfd, kids, sizeof kids) != sizeof kids)
		_exit(1);
	close(wfd);
	for (;;)
		pause();
}

static int copy_file(const char *from, const char *to)
{
	static char buf[1 << 16];
	int in = open(from, O_RDONLY | O_CLOEXEC), out, r = 0;
	ssize_t n;

	if (in < 0)
		return -errno;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0) {
		r = -errno;
		close(in);
		return r;
	}
	while (r == 0 && (n = read(in, buf, sizeof buf)) != 0)
		r = n < 0 ? -errno : write_full(out, buf, (size_t)n);
	if (r == 0 && fsync(out) < 0)
		r = -errno;
	close(in);
	if (close(out) < 0 && r == 0)
		r = -errno;
	return r;
}

static void rm_store(const char *path)
{
	char p[160];

	unlink(path);
	snprintf(p, sizeof p, "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", path);
	unlink(p);
}

static int rec_prep(void)
{
	rm_store(rc.run);
	return copy_file(rc.tmpl, rc.run);
}

static int rec_setup(void)
{
	static const char *const argv[] = { "/bin/sleep", "1000", NULL };
	struct persist_thread_rec t = { 0 };
	struct persist_store *st;
	char err[256] = "";
	pid_t kids[REC_LIVE];
	int p[2], r, next = 300, pid_max = 32768;
	FILE *f;

	if (rc.thread)
		return 0;
	if ((f = fopen("/proc/sys/kernel/pid_max", "r"))) {
		if (fscanf(f, "%d", &pid_max) != 1)
			pid_max = 32768;
		fclose(f);
	}
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	rc.thread = fork();
	if (rc.thread == 0)
		rthread_main(p[1]);
	close(p[1]);
	r = rc.thread < 0 ? -errno : read_full(p[0], kids, sizeof kids);
	close(p[0]);
	if (r < 0)
		return r;
	snprintf(rc.dir, sizeof rc.dir, "/tmp/persist-bench-XXXXXX");
	snprintf(rc.sdir, sizeof rc.sdir, "/dev/shm/persist-bench-XXXXXX");
	if (!mkdtemp(rc.dir))
		return -errno;
	if (!mkdtemp(rc.sdir))
		snprintf(rc.sdir, sizeof rc.sdir, "%s", rc.dir);
	snprintf(rc.tmpl, sizeof rc.tmpl, "%s/template.db", rc.sdir);
	snprintf(rc.run, sizeof rc.run, "%s/run.db", rc.dir);
	r = persist_store_open(rc.tmpl, PERSIST_STORE_CREATE, &st, err, sizeof err);
	if (r < 0) {
		fprintf(stderr, "bench: store: %s\n", err);
		return r;
	}
	t.socket_path = (char *)rc.sock;
	t.pid = rc.thread;
	r = persist_proc_starttime(rc.thread, &t.starttime);
	if (r == 0)
		r = persist_store_thread_put(st, &t);
	for (int i = 0; i < REC_N && r == 0; i++) {
		unsigned long long start = 1;
		int64_t id;
		int pid;

		if (i < REC_LIVE) {
			pid = kids[i];
			r = persist_proc_starttime(pid, &start);
		} else {
			/* A pid no process has now. */
			while (next < pid_max && (kill(next, 0) == 0 || errno != ESRCH))
				next++;
			if (next >= pid_max)
				r = -ENOSPC;
			pid = next++;
		}
		if (r == 0)
			r = persist_store_intent(st, t.id, NULL, argv, "/", &id);
		if (r == 0)
			r = persist_store_started(st, id, pid, start);
	}
	if (r < 0)
		fprintf(stderr, "bench: store: %s\n", persist_store_errmsg(st));
	persist_store_close(st);
	return r;
}

static void rec_cleanup(void)
{
	if (rc.thread > 0) {
		kill(rc.thread, SIGKILL);
		waitpid(rc.thread, NULL, 0);
		rc.thread = 0;
	}
	if (rc.tmpl[0])
		rm_store(rc.tmpl);
	if (rc.run[0])
		rm_store(rc.run);
	if (rc.sdir[0])
		rmdir(rc.sdir);
	if (rc.dir[0])
		rmdir(rc.dir);
}

static int rec_open(struct persist_store **st, struct persist_thread_rec *t)
{
	char err[256] = "";
	int r = persist_store_open(rc.run, 0, st, err, sizeof err);

	if (r < 0) {
		fprintf(stderr, "bench: store: %s\n", err);
		return r;
	}
	r = persist_store_thread_find(*st, rc.sock, t);
	if (r < 0)
		persist_store_close(*st);
	return r;
}

/* Value: open the store, recover the thread's children, close. */
static int val_recover(const void *arg, long iters)
{
	int r = 0;

	(void)arg;
	for (long i = 0; i < iters && r == 0; i++) {
		struct persist_recover_report rep;
		struct persist_thread_rec t = { 0 };
		struct persist_store *st;

		if ((r = rec_open(&st, &t)) < 0)
			return r;
		r = persist_recover(st, &t, NULL, &rep);
		if (r == 0) {
			if (!rep.thread_alive || rep.records != REC_N ||
			    rep.running != REC_LIVE || rep.lost != REC_N - REC_LIVE ||
			    rep.errors)
				r = -EPROTO;
			persist_recover_report_free(&rep);
		}
		persist_thread_rec_clear(&t);
		persist_store_close(st);
	}
	return r;
}

/* Floor: open the store, read the same records, close. */
static int floor_read_records(const void *arg, long iters)
{
	int r = 0;

	(void)arg;
	for (long i = 0; i < iters && r == 0; i++) {
		struct persist_thread_rec t = { 0 };
		struct persist_child_rec *recs;
		struct persist_store *st;
		size_t n;

		if ((r = rec_open(&st, &t)) < 0)
			return r;
		r = persist_store_children(st, t.id, &recs, &n);
		if (r == 0) {
			size_t running = 0;
			for (size_t k = 0; k < n; k++)
				running += recs[k].state == PERSIST_CHILD_RUNNING;
			if (n != REC_N || running != REC_N)
				r = -EPROTO;
			persist_child_recs_free(recs, n);
		}
		persist_thread_rec_clear(&t);
		persist_store_close(st);
	}
	return r;
}

/* ---- Setup, output ------------------------------------------------------ */

/* Where the processes run.  Default "same": this process, the server and
 * the helper all on one CPU.  On the 2-vCPU VM a wakeup across vCPUs costs
 * some 50 us (an IPI, and the host waking a halted vCPU) against some 10 us
 * on one vCPU, and unpinned the scheduler keeps a peer on our CPU or on the
 * other one by chance, for seconds at a time: round trips measured 11 us in
 * one benchmark and 60 us in the next of the same run.  Pinned to one CPU,
 * repeated runs gave ratios within a few percent of each other; every floor
 * runs in the same placement as its value, so the ratios stay fair, though
 * nothing here then measures cross-CPU wakeups or sender/receiver overlap.
 * BENCH_PIN=none leaves placement to the scheduler; BENCH_PIN=split puts
 * this process on one CPU and the server and the helper on another.
 * Returns: 0 or -errno. */
static cpu_set_t peer_cpus; /* where pin() put the peers */
static int pinned;

/* Put a peer started after pin() where the others are.  Returns: 0 or -errno. */
static int pin_peer(pid_t pid)
{
	if (!pinned || pid <= 0)
		return 0;
	return sched_setaffinity(pid, sizeof peer_cpus, &peer_cpus) < 0 ? -errno : 0;
}

static int pin(void)
{
	const char *how = getenv("BENCH_PIN");
	int first = -1, last = -1, split;
	cpu_set_t allowed, me, peer;

	if (how && !strcmp(how, "none"))
		return 0;
	split = how && !strcmp(how, "split");
	if (how && !split && strcmp(how, "same"))
		return -EINVAL;
	/* Only the CPUs we were given (taskset, cgroups). */
	if (sched_getaffinity(0, sizeof allowed, &allowed) < 0)
		return -errno;
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &allowed))
			continue;
		if (first < 0)
			first = c;
		last = c;
	}
	if (last < 0 || (split && first == last))
		return 0;
	CPU_ZERO(&me);
	CPU_ZERO(&peer);
	CPU_SET(last, &peer);
	CPU_SET(split ? first : last, &me);
	if (sched_setaffinity(0, sizeof me, &me) < 0 ||
	    sched_setaffinity(srv.pid, sizeof peer, &peer) < 0 ||
	    sched_setaffinity(helper_pid, sizeof peer, &peer) < 0)
		return -errno;
	peer_cpus = peer;
	pinned = 1;
	return 0;
}

/* The watchdog: a benchmark that hangs (a peer that never answers, with no
 * deadline on libtransport's waits) ends the run with status 1.  The peers
 * are killed here; their socket directories stay behind in /tmp. */
static void on_alarm(int sig)
{
	static const char msg[] = "bench: a measurement hung: no progress within the watchdog\n";
	pid_t peers[] = { srv.pid, helper_pid, srv2.pid, srv3.pid, lpid, fdsrv.pid,
			  rc.thread };

	(void)sig;
	if (write(2, msg, sizeof msg - 1) < 0)
		_exit(1);
	for (unsigned i = 0; i < sizeof peers / sizeof peers[0]; i++)
		if (peers[i] > 0)
			kill(peers[i], SIGKILL);
	_exit(1);
}

static void lib_cleanup(void)
{
	if (tc) {
		transport_close(tc);
		tc = NULL;
	}
	if (srv2.pid > 0)
		server_stop(&srv2);
	if (pt.conn)
		persist_thread_close(&pt);
	if (srv3.pid > 0)
		server_stop(&srv3);
	if (lc) {
		transport_close(lc); /* the CLONE_VM child sees end of file */
		lc = NULL;
	}
	if (lpid > 0) {
		waitpid(lpid, NULL, 0);
		lpid = 0;
	}
	if (fdsrv.pid > 0) {
		kill(fdsrv.pid, SIGKILL);
		waitpid(fdsrv.pid, NULL, 0);
		fdsrv.pid = 0;
	}
	if (fdsrv.path[0])
		unlink(fdsrv.path);
	if (fdsrv.dir[0])
		rmdir(fdsrv.dir);
	fdsrv.path[0] = fdsrv.dir[0] = '\0';
	rec_cleanup();
}

static void cleanup(void)
{
	lib_cleanup();
	if (ctl.fd > 0)
		ctl_close(&ctl);
	if (srv.pid > 0)
		server_stop(&srv);
	if (hfd >= 0) {
		close(hfd); /* the helper sees end of file and exits */
		hfd = -1;
	}
	if (helper_pid > 0) {
		waitpid(helper_pid, NULL, 0);
		helper_pid = 0;
	}
}

static int die(const char *what, int err)
{
	fprintf(stderr, "bench: %s: %s\n", what,
		err == -EPROTO ? "wrong answer" : strerror(-err));
	cleanup();
	exit(1);
}

static int setup(void)
{
	int64_t addr;
	int r;

	src = malloc(MIB);
	dst = malloc(MIB);
	if (!src || !dst)
		return die("malloc", -ENOMEM);
	for (unsigned i = 0; i < MIB; i++)
		src[i] = (unsigned char)(i * 131 + (i >> 12));
	memset(dst, 0, MIB);
	/* Before the server, so that it inherits none of our sockets. */
	if ((r = helper_start()) < 0)
		return die("helper process", r);
	if ((r = server_start(&srv, NULL)) < 0)
		return die(server_exe(), r);
	if ((r = ctl_connect(&ctl, srv.path)) < 0) {
		fprintf(stderr, "bench: %s\n", ctl.why);
		return die("connect", r);
	}
	if ((r = set_timeouts(ctl.fd)) < 0)
		return die("SO_RCVTIMEO", r);
	srv_pid = ctl_call(&ctl, __NR_getpid, 0, 0, 0, 0, 0, 0);
	if (srv_pid != ctl.hello.pid || srv_pid != srv.pid)
		return die("getpid in the server", srv_pid < 0 ? (int)srv_pid : -EPROTO);
	addr = ctl_call(&ctl, __NR_mmap, 0, MIB, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (addr < 0 && addr > -4096)
		return die("mmap in the server", (int)addr);
	remote = (uint64_t)addr;
	if ((r = pin()) < 0)
		return die("BENCH_PIN (none, same or split)", r);
	return 0;
}

/* The local transport's peer: the server loop in a CLONE_VM child, as in
 * libtransport's tests.  Returns: 0 or -errno. */
static int local_start(char *why, size_t whylen)
{
	int sv[2], r;
	int64_t addr;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pserver_init(&lsrv);
	lsrv.conn_fd = sv[1];
	lstack = mmap(NULL, PEER_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		      -1, 0);
	if (lstack == MAP_FAILED)
		return -errno;
	lpid = (pid_t)near_clone(CLONE_VM | SIGCHLD, (char *)lstack + PEER_STACK,
				 pserver_clone_main, &lsrv);
	if (lpid < 0) {
		r = lpid;
		lpid = 0;
		return r;
	}
	close(sv[1]);
	if ((r = transport_attach(sv[0], 5000, &lc, why, whylen)) < 0)
		return r;
	transport_set_timeout(lc, -1);
	/* It copied our fd table: keep only its own connection, so that
	 * our closes are ends of file for our peers. */
	if (sv[1] > 3 &&
	    (r = (int)transport_syscall(lc, __NR_close_range, 3, sv[1] - 1, 0, 0, 0, 0)) < 0)
		return r;
	if ((r = (int)transport_syscall(lc, __NR_close_range, sv[1] + 1, ~0U, 0, 0, 0, 0)) < 0)
		return r;
	if (transport_syscall(lc, __NR_getpid, 0, 0, 0, 0, 0, 0) != lpid)
		return -EPROTO;
	addr = transport_syscall(lc, __NR_mmap, 0, MIB, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (addr < 0 && addr > -4096)
		return (int)addr;
	lremote = (uint64_t)addr;
	memset((void *)(uintptr_t)lremote, 0, MIB); /* ours too: fault it in */
	return transport_mem_use(lc, TRANSPORT_MEM_LOCAL);
}

static int fdsrv_start(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int lfd;

	snprintf(fdsrv.dir, sizeof fdsrv.dir, "/tmp/persist-bench-XXXXXX");
	if (!mkdtemp(fdsrv.dir))
		return -errno;
	snprintf(fdsrv.path, sizeof fdsrv.path, "%s/sock", fdsrv.dir);
	memcpy(sa.sun_path, fdsrv.path, strlen(fdsrv.path) + 1);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 64) < 0)
		return -errno;
	fdsrv.pid = fork();
	if (fdsrv.pid == 0) {
		keep_only(lfd);
		fdsrv_main(lfd);
	}
	close(lfd);
	return fdsrv.pid < 0 ? -errno : 0;
}

/* The peers of the library benchmarks, after setup() (and pin()). */
static int lib_setup(void)
{
	char why[256] = "";
	int64_t addr;
	int r;

	if ((r = local_start(why, sizeof why)) < 0) {
		if (why[0])
			fprintf(stderr, "bench: %s\n", why);
		return die("CLONE_VM server loop (local transport)", r);
	}
	if ((r = server_start(&srv2, NULL)) < 0)
		return die(server_exe(), r);
	if ((r = transport_connect(srv2.path, 5000, &tc, why, sizeof why)) < 0) {
		fprintf(stderr, "bench: %s\n", why);
		return die("transport_connect", r);
	}
	transport_set_timeout(tc, -1);
	if (transport_hello(tc)->pid != srv2.pid ||
	    transport_syscall(tc, __NR_getpid, 0, 0, 0, 0, 0, 0) != srv2.pid)
		return die("getpid through libtransport", -EPROTO);
	addr = transport_syscall(tc, __NR_mmap, 0, MIB, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (addr < 0 && addr > -4096)
		return die("mmap through libtransport", (int)addr);
	tremote = (uint64_t)addr;
	if ((r = transport_mem_use(tc, TRANSPORT_MEM_PROCESS_VM)) < 0)
		return die("process_vm_writev/readv to the server", r);
	if ((r = server_start(&srv3, NULL)) < 0)
		return die(server_exe(), r);
	if ((r = persist_thread_connect(&pt, srv3.path, 1, CONNECT_TIMEOUT_MS, why,
					sizeof why)) < 0) {
		fprintf(stderr, "bench: %s\n", why);
		return die("persist_thread_connect", r);
	}
	if (pt.pid != srv3.pid)
		return die("persist_thread_connect", -EPROTO);
	if ((r = fdsrv_start()) < 0)
		return die("SCM_RIGHTS server", r);
	if ((r = pin_peer(lpid)) < 0 || (r = pin_peer(srv2.pid)) < 0 ||
	    (r = pin_peer(srv3.pid)) < 0 || (r = pin_peer(fdsrv.pid)) < 0)
		return die("BENCH_PIN", r);
	return 0;
}

static void fmt(char *buf, size_t len, double v)
{
	snprintf(buf, len, v >= 100 ? "%.0f" : v >= 10 ? "%.1f" : "%.3g", v);
}

static void print_table(const struct bench *b, int n)
{
	const char *how = getenv("BENCH_PIN");

	printf("\npersist bench: median of %d runs of ~%d ms each, value and floor "
	       "alternating; ratio = value / floor; placement: %s\n\n", RUNS, RUN_MS,
	       how ? how : "same");
	printf("%-24s %10s %-6s %10s %7s  %-24s %-4s %6s  %s\n", "benchmark", "value",
	       "unit", "floor", "ratio", "target", "met", "noise", "floor is");
	for (int i = 0; i < n; i++, b++) {
		char v[32], f[32];

		fmt(v, sizeof v, b->value);
		fmt(f, sizeof f, b->floor_value);
		printf("%-24s %10s %-6s %10s %7.2f  %-24s %-4s %5.0f%%  %s\n", b->name, v,
		       unit_names[b->unit], f, b->ratio,
		       b->target ? b->target : "-",
		       b->target ? (b->met(b) ? "yes" : "NO") : "-", b->noise * 100,
		       b->floor_name);
	}
	printf("\nnoise: (slowest / fastest - 1) over the runs of the value or the "
	       "floor, whichever is larger\n");
}

static int write_json(const char *path, const struct bench *b, int n)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fprintf(f, "{\n");
	for (int i = 0; i < n; i++, b++) {
		fprintf(f, "  \"%s\": {\"value\": %.6g, \"unit\": \"%s\", \"floor\": %.6g, "
			"\"ratio\": %.6g, \"floor_name\": \"%s\"", b->name, b->value,
			unit_names[b->unit], b->floor_value, b->ratio,
			b->floor_name);
		if (b->target)
			fprintf(f, ", \"target\": \"%s\"", b->target);
		fprintf(f, "}%s\n", i + 1 < n ? "," : "");
	}
	fprintf(f, "}\n");
	if (ferror(f) | fclose(f))
		return -EIO;
	return 0;
}

/* Returns: 1 if name is one of the comma-separated names in list. */
static int listed(const char *list, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = list; p; p = strchr(p, ',')) {
		p += *p == ',';
		if (!strncmp(p, name, len) && (p[len] == ',' || !p[len]))
			return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const unsigned p1 = 1, p8 = 8, p64 = 64;
	static const struct mem m1 = { MIB, 1 }, m4 = { KIB4, MEM_WIN };
	static const char *pingpong = "socketpair 8-byte ping-pong";
	static const char *raw = "local raw syscall";
	static const char *s1m = "unix stream, 1 MiB chunks";
	static const char *s4k = "unix stream, 4 KiB chunks";
	static const char *s4k1 = "unix stream, 4 KiB chunks, one per op";
	static const char *pvw = "process_vm_writev";
	static const char *pvr = "process_vm_readv";
	static const struct mem m4x1 = { KIB4, 1 };
#define T(c, r, k, sz) { &c, &r, TRANSPORT_MEM_##k, sz }
	static const struct tmem tl4 = T(lc, lremote, LOCAL, KIB4), tl1 = T(lc, lremote, LOCAL, MIB);
	static const struct tmem tp4 = T(tc, tremote, PROCESS_VM, KIB4), tp1 = T(tc, tremote, PROCESS_VM, MIB);
	static const struct tmem ti4 = T(tc, tremote, INBAND, KIB4), ti1 = T(tc, tremote, INBAND, MIB);
#undef T
#define SIDE(f, a, u) { .fn = f, .arg = a, .per_iter = u }
	struct bench b[] = {
		{ .name = "roundtrip_blocking", .unit = NS_PER_OP,
		  .val = SIDE(val_roundtrip, NULL, 1),
		  .floor = SIDE(floor_pingpong, NULL, 1), .floor_name = pingpong,
		  .target = "ratio <= 1.15", .met = met_roundtrip },
		{ .name = "pipelined_1", .unit = NS_PER_OP,
		  .val = SIDE(val_pipelined, &p1, 1),
		  .floor = SIDE(floor_raw_syscall, NULL, 1), .floor_name = raw },
		{ .name = "pipelined_8", .unit = NS_PER_OP,
		  .val = SIDE(val_pipelined, &p8, 8),
		  .floor = SIDE(floor_raw_syscall, NULL, 1), .floor_name = raw },
		{ .name = "pipelined_64", .unit = NS_PER_OP,
		  .val = SIDE(val_pipelined, &p64, 64),
		  .floor = SIDE(floor_raw_syscall, NULL, 1), .floor_name = raw,
		  .target = "<= 500 ns or ratio <= 5", .met = met_pipelined },
		{ .name = "write_mem_1MiB", .unit = GB_PER_S,
		  .val = SIDE(val_write_mem, &m1, MIB),
		  .floor = SIDE(floor_stream_out, &m1, MIB), .floor_name = s1m,
		  .target = "ratio >= 0.8", .met = met_mem },
		{ .name = "read_mem_1MiB", .unit = GB_PER_S,
		  .val = SIDE(val_read_mem, &m1, MIB),
		  .floor = SIDE(floor_stream_in, &m1, MIB), .floor_name = s1m,
		  .target = "ratio >= 0.8", .met = met_mem, .check = check_read },
		/* No target of their own: they show what small ops cost. */
		{ .name = "write_mem_4KiB", .unit = GB_PER_S,
		  .val = SIDE(val_write_mem, &m4, KIB4 * MEM_WIN),
		  .floor = SIDE(floor_stream_out, &m4, KIB4 * MEM_WIN), .floor_name = s4k },
		{ .name = "read_mem_4KiB", .unit = GB_PER_S,
		  .val = SIDE(val_read_mem, &m4, KIB4 * MEM_WIN),
		  .floor = SIDE(floor_stream_in, &m4, KIB4 * MEM_WIN), .floor_name = s4k,
		  .check = check_read },
		/* Issue 3: the same through libtransport. */
		{ .name = "transport_pipelined_1", .unit = NS_PER_OP,
		  .val = SIDE(val_tp_pipelined, &p1, 1),
		  .floor = SIDE(floor_raw_syscall, NULL, 1), .floor_name = raw },
		{ .name = "transport_pipelined_8", .unit = NS_PER_OP,
		  .val = SIDE(val_tp_pipelined, &p8, 8),
		  .floor = SIDE(floor_raw_syscall, NULL, 1), .floor_name = raw },
		{ .name = "transport_pipelined_64", .unit = NS_PER_OP,
		  .val = SIDE(val_tp_pipelined, &p64, 64),
		  .floor = SIDE(floor_raw_syscall, NULL, 1), .floor_name = raw,
		  .target = "<= 500 ns or ratio <= 5", .met = met_pipelined },
#define TMEM(nm, wr, t, sz, fl, fa, flname, tgt)                                      \
		{ .name = nm, .unit = GB_PER_S,                                       \
		  .val = SIDE(wr ? val_tmem_write : val_tmem_read, &t, sz),           \
		  .floor = SIDE(fl, &fa, sz), .floor_name = flname,                   \
		  .target = tgt ? "ratio >= 0.8" : NULL, .met = met_mem,              \
		  .check = wr ? check_tmem_write : check_tmem_read }
		/* local: no target of its own (DESIGN's is against
		 * process_vm_writev, the next rows); shown against memcpy. */
		TMEM("mem_local_write_4KiB", 1, tl4, KIB4, floor_memcpy_out, tl4, "memcpy", 0),
		TMEM("mem_local_read_4KiB", 0, tl4, KIB4, floor_memcpy_in, tl4, "memcpy", 0),
		TMEM("mem_local_write_1MiB", 1, tl1, MIB, floor_memcpy_out, tl1, "memcpy", 0),
		TMEM("mem_local_read_1MiB", 0, tl1, MIB, floor_memcpy_in, tl1, "memcpy", 0),
		TMEM("mem_pvm_write_4KiB", 1, tp4, KIB4, floor_pvm_out, tp4, pvw, 0),
		TMEM("mem_pvm_read_4KiB", 0, tp4, KIB4, floor_pvm_in, tp4, pvr, 0),
		TMEM("mem_pvm_write_1MiB", 1, tp1, MIB, floor_pvm_out, tp1, pvw, 1),
		TMEM("mem_pvm_read_1MiB", 0, tp1, MIB, floor_pvm_in, tp1, pvr, 1),
		/* In-band 4 KiB is one round trip per operation (the blocking
		 * API): against a stream it shows that cost; no target. */
		TMEM("mem_inband_write_4KiB", 1, ti4, KIB4, floor_stream_out, m4x1, s4k1, 0),
		TMEM("mem_inband_read_4KiB", 0, ti4, KIB4, floor_stream_in, m4x1, s4k1, 0),
		TMEM("mem_inband_write_1MiB", 1, ti1, MIB, floor_stream_out, m1, s1m, 1),
		TMEM("mem_inband_read_1MiB", 0, ti1, MIB, floor_stream_in, m1, s1m, 1),
#undef TMEM
		/* Issue 4: libpersist. */
		{ .name = "reconnect", .unit = US_PER_OP,
		  .val = SIDE(val_reconnect, NULL, 1),
		  .floor = SIDE(floor_connect_rights, NULL, 1),
		  .floor_name = "connect + SCM_RIGHTS + reply",
		  .target = "ratio <= 2", .met = met_reconnect },
		{ .name = "spawn", .unit = US_PER_OP,
		  .val = SIDE(val_spawn, NULL, 1),
		  .floor = SIDE(floor_spawn, NULL, 1),
		  .floor_name = "local posix_spawn + waitpid of /bin/true",
		  .target = "ratio <= 1.3", .met = met_spawn },
		{ .name = "rss_after_make_persistent", .unit = KIB,
		  .floor_name = "ratio vs the RSS of a fresh standalone persist-server",
		  .target = "<= 512 KiB", .met = met_rss, .custom = bench_rss },
		{ .name = "recover_10000", .unit = MS_PER_OP,
		  .val = { .fn = val_recover, .per_iter = 1, .fixed = 1, .prep = rec_prep },
		  .floor = { .fn = floor_read_records, .per_iter = 1, .fixed = 1,
			     .prep = rec_prep },
		  .floor_name = "open + read the 10,000 records, no reconciling",
		  .target = "<= 100 ms", .met = met_recover, .setup = rec_setup },
	};
	int n = (int)(sizeof b / sizeof b[0]), m = 0, r;
	const char *only = getenv("BENCH_ONLY");
	const char *out = argc > 1 ? argv[1] : NULL;

	/* A dead peer must be an error we report, not a signal that kills us. */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
	ctl.fd = -1;
	alarm(WATCHDOG_S);
	setup();
	lib_setup();
	/* BENCH_ONLY=name,name: a subset, e.g. to strace the server under one
	 * load.  The read benchmarks need their write benchmark before them. */
	for (int i = 0, k = 0; i < n; i++) {
		if (only && !listed(only, b[i].name))
			continue;
		fprintf(stderr, "bench: %s...\n", b[i].name);
		alarm(WATCHDOG_S);
		if ((r = measure(&b[i])) < 0)
			die(b[i].name, r);
		alarm(0);
		b[k++] = b[i];
		m = k;
	}
	n = m;
	print_table(b, n);
	if (out && (r = write_json(out, b, n)) < 0)
		die(out, r);
	cleanup();
	return 0;
}
