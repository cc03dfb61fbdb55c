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
 * Usage: [BENCH_PIN=same|none|split] [BENCH_ONLY=name,...] bench [OUT.json] */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <near/proto.h>
#include <near/syscall.h>
#include "ctl.h"
#include "spawn.h"

#define RUNS 7
#define RUN_MS 120       /* one timed run; 8 benchmarks x 2 x 9 runs ~ 20 s */
#define IO_TIMEOUT_S 5   /* a peer silent for this long has failed */
#define MIB (1u << 20)
#define KIB4 4096u
#define MEM_WIN 16       /* 4 KiB memory ops per batch; two batches in flight */

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

enum unit { NS_PER_OP, GB_PER_S };

struct side {
	loop_fn fn;
	const void *arg;
	double per_iter; /* operations (NS_PER_OP) or bytes (GB_PER_S) */
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
};

static int time_once(struct side *s, long iters, double *ns)
{
	double t0 = now_ns();
	int r = s->fn(s->arg, iters);

	*ns = now_ns() - t0;
	return r;
}

static double per_unit(const struct side *s, enum unit u, double ns)
{
	double units = (double)s->iters * s->per_iter;
	return u == NS_PER_OP ? ns / units : units / ns; /* bytes/ns = GB/s */
}

/* Grow iters until a run lasts a tenth of RUN_MS, then scale to RUN_MS;
 * the ramp also warms caches, the branch predictor and the peer. */
static int calibrate(struct side *s)
{
	double ns = 0, want = RUN_MS * 1e6;
	long it = 1;
	int r;

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
	return 0;
}

static void cleanup(void)
{
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
	printf("%-20s %10s %-6s %10s %7s  %-24s %-4s %6s  %s\n", "benchmark", "value",
	       "unit", "floor", "ratio", "target", "met", "noise", "floor is");
	for (int i = 0; i < n; i++, b++) {
		char v[32], f[32];

		fmt(v, sizeof v, b->value);
		fmt(f, sizeof f, b->floor_value);
		printf("%-20s %10s %-6s %10s %7.2f  %-24s %-4s %5.0f%%  %s\n", b->name, v,
		       b->unit == NS_PER_OP ? "ns" : "GB/s", f, b->ratio,
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
			b->unit == NS_PER_OP ? "ns" : "GB/s", b->floor_value, b->ratio,
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
	};
	int n = (int)(sizeof b / sizeof b[0]), m = 0, r;
	const char *only = getenv("BENCH_ONLY");
	const char *out = argc > 1 ? argv[1] : NULL;

	/* A dead peer must be an error we report, not a signal that kills us. */
	signal(SIGPIPE, SIG_IGN);
	ctl.fd = -1;
	setup();
	/* BENCH_ONLY=name,name: a subset, e.g. to strace the server under one
	 * load.  The read benchmarks need their write benchmark before them. */
	for (int i = 0, k = 0; i < n; i++) {
		if (only && !listed(only, b[i].name))
			continue;
		fprintf(stderr, "bench: %s...\n", b[i].name);
		if ((r = measure(&b[i])) < 0)
			die(b[i].name, r);
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
