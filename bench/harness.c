// SPDX-License-Identifier: MIT
/* The harness of make bench: every cost is measured against a floor taken
 * in the same run on the same machine (docs/design.md, "Targets"): absolute
 * times on a shared 2-core VM mean little, ratios do.
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
 * All processes are pinned to one CPU unless BENCH_PIN says otherwise: see
 * pin() for why.
 *
 * Targets are reported, never enforced: the exit status is non-zero only if
 * a measurement itself failed (no server, a wrong answer, a timeout).
 *
 * Some waits have no deadline (libtransport's: a deadline costs a poll per
 * wait); a watchdog alarm ends a hung run instead. */
#include <errno.h>
#include <spawn.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <near/syscall.h>
#include "harness.h"

extern char **environ;

#define RUN_MS 120       /* one timed run; 27 benchmarks x 2 x 9 runs ~ 60 s */
#define IO_TIMEOUT_S 5   /* a peer silent for this long has failed */
#define WATCHDOG_S 60    /* one benchmark (or the setup) taking longer has hung */

unsigned char *src, *dst;

/* Set by bench_main, for die() and the watchdog. */
static const struct layer *const *layers;
static int nlayers;

static int hfd = -1;     /* our end of the socketpair to the helper child */
static pid_t helper_pid;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int io_all(int fd, struct iovec *iov, int n, int wr)
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

int read_full(int fd, void *buf, size_t len)
{
	struct iovec iov = { buf, len };
	return io_all(fd, &iov, 1, 0);
}

int write_full(int fd, const void *buf, size_t len)
{
	struct iovec iov = { (void *)buf, len };
	return io_all(fd, &iov, 1, 1);
}

int set_timeouts(int fd)
{
	struct timeval tv = { IO_TIMEOUT_S, 0 };

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0)
		return -errno;
	return 0;
}

/* ---- The helper child: the other process of the shared floors ---------- */

enum { H_ECHO = 1, H_SINK, H_SOURCE };

struct hcmd {
	uint64_t op, size, count;
};

/* No timeouts here: the helper idles while the server is measured, and it
 * sees end of file when the benchmark exits, however that happens. */
int helper_serve(int fd)
{
	static unsigned char buf[MIB];
	struct hcmd c;

	memset(buf, 0x5a, sizeof buf); /* fault the pages in before timing */
	while (read_full(fd, &c, sizeof c) == 0) {
		uint64_t v = 0;
		int r = 0;

		if (c.size > sizeof buf)
			return -EPROTO;
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
				return -EPROTO;
			}
		}
		/* A sink acknowledges, so the sender times the whole transfer. */
		if (r == 0 && c.op == H_SINK)
			r = write_full(fd, &c.count, 8);
		if (r < 0)
			return r;
	}
	return 0;
}

int peer_fork(int (*serve)(int fd), pid_t *pid, int *fd)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	*pid = fork();
	if (*pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return -errno;
	}
	if (*pid == 0) {
		close(sv[0]);
		_exit(serve(sv[1]) < 0);
	}
	close(sv[1]);
	*fd = sv[0];
	return set_timeouts(*fd);
}

static int helper_start(void)
{
	return peer_fork(helper_serve, &helper_pid, &hfd);
}

static int helper_cmd(int fd, uint64_t op, uint64_t size, uint64_t count)
{
	struct hcmd c = { op, size, count };
	return write_full(fd, &c, sizeof c);
}

/* ---- The shared floors -------------------------------------------------- */

int floor_pingpong(const void *arg, long iters)
{
	(void)arg;
	return pingpong_fd(hfd, iters);
}

int pingpong_fd(int fd, long iters)
{
	int r = helper_cmd(fd, H_ECHO, 8, (uint64_t)iters);

	for (long i = 0; i < iters && r == 0; i++) {
		uint64_t v = (uint64_t)i;
		r = write_full(fd, &v, 8);
		if (r == 0)
			r = read_full(fd, &v, 8);
		if (r == 0 && v != (uint64_t)i)
			r = -EPROTO;
	}
	return r;
}

int floor_raw_syscall(const void *arg, long iters)
{
	long me = near_syscall0(__NR_getpid);

	(void)arg;
	for (long i = 0; i < iters; i++)
		if (near_syscall0(__NR_getpid) != me)
			return -EPROTO;
	return 0;
}

/* The same bytes per iteration as the value, in chunks of the same size, to
 * the helper (which acknowledges at the end) or from it, one write or read
 * per chunk: the plain way to stream.  (Values that batch small ops into one
 * writev pay fewer syscalls than this side, if anything.) */
int floor_stream_out(const void *arg, long iters)
{
	return stream_out_fd(hfd, arg, iters);
}

int stream_out_fd(int fd, const struct mem *m, long iters)
{
	uint64_t chunks = (uint64_t)iters * m->batch, ack = 0;
	int r = helper_cmd(fd, H_SINK, m->size, chunks);

	for (uint64_t i = 0; i < chunks && r == 0; i++)
		r = write_full(fd, src + (i % m->batch) * m->size, m->size);
	if (r == 0)
		r = read_full(fd, &ack, 8);
	return r == 0 && ack != chunks ? -EPROTO : r;
}

int floor_stream_in(const void *arg, long iters)
{
	const struct mem *m = arg;
	uint64_t chunks = (uint64_t)iters * m->batch;
	int r = helper_cmd(hfd, H_SOURCE, m->size, chunks);

	for (uint64_t i = 0; i < chunks && r == 0; i++)
		r = read_full(hfd, dst + (i % m->batch) * m->size, m->size);
	return r;
}

/* ---- What the libpersist files share ------------------------------------ */

/* Floor: posix_spawn + waitpid of /bin/true right here. */
int floor_spawn(const void *arg, long iters)
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

/* Our forked peers never exit on their own: killed, reaped, forgotten. */
void kill_reap(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
		*pid = 0;
	}
}

long proc_kib(pid_t pid, const char *file, const char *field)
{
	char path[64], line[256];
	size_t len = strlen(field);
	long kib = -ENOENT;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
	if (!(f = fopen(path, "r")))
		return -errno;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, field, len) && line[len] == ':' &&
		    sscanf(line + len + 1, "%ld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* ---- Measuring ---------------------------------------------------------- */

static const char *const unit_names[] = { "ns", "GB/s", "us", "ms", "KiB" };

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

double median_of(double *v, int n, double *spread)
{
	qsort(v, (size_t)n, sizeof v[0], cmp_double);
	*spread = v[0] > 0 ? v[n - 1] / v[0] - 1 : 0;
	return v[n / 2];
}

/* The runs stay in their order: a copy is sorted. */
static double median(const double *v, double *spread)
{
	double s[RUNS];

	memcpy(s, v, sizeof s);
	return median_of(s, RUNS, spread);
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

int met_pipelined(const struct bench *b)
{
	return b->ratio <= 1.3;
}

int met_mem(const struct bench *b)
{
	return b->ratio >= 0.8;
}

/* ---- Placement, watchdog, failure --------------------------------------- */

/* Where the processes run.  Default "same": this process, the servers and
 * the helper all on one CPU.  On the 2-vCPU VM a wakeup across vCPUs costs
 * some 50 us (an IPI, and the host waking a halted vCPU) against some 10 us
 * on one vCPU, and unpinned the scheduler keeps a peer on our CPU or on the
 * other one by chance, for seconds at a time: round trips measured 11 us in
 * one benchmark and 60 us in the next of the same run.  Pinned to one CPU,
 * repeated runs gave ratios within a few percent of each other; every floor
 * runs in the same placement as its value, so the ratios stay fair, though
 * nothing here then measures cross-CPU wakeups or sender/receiver overlap.
 * BENCH_PIN=none leaves placement to the scheduler; BENCH_PIN=split puts
 * this process on one CPU and the peers on another. */
static cpu_set_t peer_cpus; /* where pin() puts the peers */
static int pinned;

/* Put a peer where the others are.  Returns: 0 or -errno. */
static int pin_peer(pid_t pid)
{
	if (!pinned || pid <= 0)
		return 0;
	return sched_setaffinity(pid, sizeof peer_cpus, &peer_cpus) < 0 ? -errno : 0;
}

/* Pins this process and the helper; each layer's peers follow its setup.
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
	if (sched_setaffinity(0, sizeof me, &me) < 0)
		return -errno;
	peer_cpus = peer;
	pinned = 1;
	return pin_peer(helper_pid);
}

/* The watchdog: a benchmark that hangs (a peer that never answers, with no
 * deadline on libtransport's waits) ends the run with status 1.  The peers
 * are killed here; their socket directories stay behind in /tmp. */
static void on_alarm(int sig)
{
	static const char msg[] = "bench: a measurement hung: no progress within the watchdog\n";

	(void)sig;
	if (write(2, msg, sizeof msg - 1) < 0)
		_exit(1);
	if (helper_pid > 0)
		kill(helper_pid, SIGKILL);
	for (int l = 0; l < nlayers; l++)
		for (int i = 0; i < LAYER_PEERS && layers[l]->peers[i]; i++)
			if (*layers[l]->peers[i] > 0)
				kill(*layers[l]->peers[i], SIGKILL);
	_exit(1);
}

/* The layers above first, then the helper. */
static void cleanup(void)
{
	for (int l = nlayers - 1; l >= 0; l--)
		layers[l]->cleanup();
	if (hfd >= 0) {
		close(hfd); /* the helper sees end of file and exits */
		hfd = -1;
	}
	if (helper_pid > 0) {
		waitpid(helper_pid, NULL, 0);
		helper_pid = 0;
	}
}

void die(const char *what, int err)
{
	fprintf(stderr, "bench: %s: %s\n", what,
		err == -EPROTO ? "wrong answer" : strerror(-err));
	cleanup();
	exit(1);
}

/* What every layer needs before its own peers: the buffers, the helper
 * (before any layer's peer, so that it inherits none of our sockets), and
 * the placement. */
static void start(void)
{
	int r;

	src = malloc(MIB);
	dst = malloc(MIB);
	if (!src || !dst)
		die("malloc", -ENOMEM);
	for (unsigned i = 0; i < MIB; i++)
		src[i] = (unsigned char)(i * 131 + (i >> 12));
	memset(dst, 0, MIB);
	if ((r = helper_start()) < 0)
		die("helper process", r);
	if ((r = pin()) < 0)
		die("BENCH_PIN (none, same or split)", r);
}

/* ---- Output ------------------------------------------------------------- */

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

		if (b->skipped) {
			printf("%-24s %10s  %s\n", b->name, "skipped:", b->skipped);
			continue;
		}
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
		if (b->skipped) {
			fprintf(f, "  \"%s\": {\"skipped\": \"%s\"}%s\n", b->name,
				b->skipped, i + 1 < n ? "," : "");
			continue;
		}
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

int bench_main(const struct layer *const *ls, int nl, const char *out)
{
	const char *only = getenv("BENCH_ONLY");
	struct bench *done;
	int total = 0, n = 0, r;

	layers = ls;
	nlayers = nl;
	/* A dead peer must be an error we report, not a signal that kills us. */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
	alarm(WATCHDOG_S);
	start();
	for (int l = 0; l < nl; l++) {
		const struct layer *ly = layers[l];

		ly->setup();
		for (int i = 0; i < LAYER_PEERS && ly->peers[i]; i++)
			if ((r = pin_peer(*ly->peers[i])) < 0)
				die("BENCH_PIN", r);
		total += ly->n;
	}
	/* The measured rows, in table order. */
	if (!(done = malloc((size_t)total * sizeof *done)))
		die("malloc", -ENOMEM);
	/* BENCH_ONLY=name,name: a subset, e.g. to strace the server under one
	 * load.  The read benchmarks need their write benchmark before them. */
	for (int l = 0; l < nl; l++) {
		for (int i = 0; i < layers[l]->n; i++) {
			struct bench *b = &layers[l]->rows[i];

			if (only && !listed(only, b->name))
				continue;
			if (b->skipped) {
				fprintf(stderr, "bench: %s skipped: %s\n", b->name, b->skipped);
				done[n++] = *b;
				continue;
			}
			fprintf(stderr, "bench: %s...\n", b->name);
			alarm(b->watchdog_s ? (unsigned)b->watchdog_s : WATCHDOG_S);
			if ((r = measure(b)) < 0)
				die(b->name, r);
			alarm(0);
			done[n++] = *b;
		}
	}
	print_table(done, n);
	if (out && (r = write_json(out, done, n)) < 0)
		die(out, r);
	cleanup();
	free(done);
	return 0;
}
