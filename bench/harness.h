// SPDX-License-Identifier: MIT
/* The harness of make bench (harness.c): what a benchmark is, how a layer
 * file hands its benchmarks and its peers over, and what the layer files
 * share (blocking I/O, the memory buffers, the floors and targets used by
 * more than one layer).  Kept in one header so that a layer file needs
 * nothing from another layer file. */
#ifndef PERSIST_BENCH_HARNESS_H
#define PERSIST_BENCH_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#define RUNS 7
#define MIB (1u << 20)
#define KIB4 4096u

/* One timed loop: do iters iterations.  Returns: 0 or -errno. */
typedef int (*loop_fn)(const void *arg, long iters);

enum unit { NS_PER_OP, GB_PER_S, US_PER_OP, MS_PER_OP, KIB };

/* A few values are not timings (an RSS in KiB) or are single operations
 * that consume their input (recovery), measured without calibration: hence
 * fixed and prep here, and custom in struct bench. */
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
	/* Set by the layer's setup: not measured, shown with this reason (no
	 * double quotes: it goes into the JSON as is). */
	const char *skipped;
	int watchdog_s; /* 0: the harness's; more for rows of seconds an op */
};

/* One side of a timed benchmark, as the rows of every layer spell it. */
#define SIDE(f, a, u) { .fn = f, .arg = a, .per_iter = u }

/* A layer file's benchmarks, in table order, and the peer processes they
 * talk to.  The peers are named by the address of their pid so that the
 * harness sees a peer started late (by a benchmark's setup) or stopped:
 * after setup it pins those that run (BENCH_PIN), and the watchdog kills
 * those that run. */
#define LAYER_PEERS 4
struct layer {
	void (*setup)(void);   /* starts the peers; dies on failure */
	void (*cleanup)(void); /* stops what runs; also after a partial setup */
	struct bench *rows;
	int n;
	const pid_t *peers[LAYER_PEERS]; /* unused slots NULL */
};

/* Sets up the layers in order, measures their benchmarks (BENCH_ONLY may
 * pick some), prints the table and writes the JSON to out (may be NULL).
 * Returns: 0; a failure exits with status 1 through die(). */
int bench_main(const struct layer *const *layers, int n, const char *out);
/* Reports what failed and why, stops every peer, exits with status 1. */
_Noreturn void die(const char *what, int err);

/* Blocking I/O on a socket or a pipe.  All of iov / buf; returns: 0;
 * -ETIMEDOUT (SO_*TIMEO expired); -EPIPE at end of file; or another -errno. */
int io_all(int fd, struct iovec *iov, int n, int wr);
int read_full(int fd, void *buf, size_t len);
int write_full(int fd, const void *buf, size_t len);
/* Deadlines through SO_RCVTIMEO/SO_SNDTIMEO, which cost nothing per call
 * (a poll before every read would be charged to the peer measured).
 * Returns: 0 or -errno. */
int set_timeouts(int fd);

/* Sorts v.  Returns: the median of its n values; *spread = slowest /
 * fastest - 1. */
double median_of(double *v, int n, double *spread);

/* MIB each, here: what the memory benchmarks write (a fixed pattern) and
 * read into.  The read benchmarks check dst against src. */
extern unsigned char *src, *dst;

/* The shape of a memory benchmark: batch ops of size bytes per iteration
 * (batch * size <= MIB); also the shape of its stream floor. */
struct mem {
	unsigned size, batch;
};

/* Floors that more than one layer measures against.  The ping-pong and the
 * streams talk to a helper child of the harness, the other process of those
 * floors, started before any layer's peer so that it holds none of their
 * sockets. */
#define FLOOR_RAW "local raw syscall"
#define FLOOR_STREAM_1MIB "unix stream, 1 MiB chunks"
/* 8 bytes to the helper and back; arg unused. */
int floor_pingpong(const void *arg, long iters);
/* getpid right here, no transport at all; arg unused. */
int floor_raw_syscall(const void *arg, long iters);
/* The bytes of a struct mem (arg) to / from the helper. */
int floor_stream_out(const void *arg, long iters);
int floor_stream_in(const void *arg, long iters);

/* The same floors to the helper's protocol served on another socket fd
 * (helper_serve), e.g. through an ssh forward.  Returns: 0 or -errno. */
int pingpong_fd(int fd, long iters);
int stream_out_fd(int fd, const struct mem *m, long iters);
/* Serves the helper's protocol on fd until end of file.  Returns: 0 at end
 * of file; -EPROTO (a bad command) or the I/O's -errno. */
int helper_serve(int fd);
/* *w getpid requests kept in flight through c, refilled as answers come,
 * each checked against pid; iters * w requests in all (bench_transport.c).
 * Returns: 0 or -errno (-EPROTO: a wrong answer). */
struct transport_conn;
int tp_pipelined(struct transport_conn *c, int64_t pid, unsigned w, long iters);

/* Targets that more than one layer sets: the text shown and its test. */
#define TARGET_PIPELINED "ratio <= 1.3"
int met_pipelined(const struct bench *b);
/* A row of getpid calls, n kept in flight and refilled as answers come,
 * n per iteration (fn gets a pointer to n)
 * against one local syscall, as the raw protocol and libtransport both
 * measure it; tgt and ok may be NULL. */
#define PIPELINED_ROW(nm, fn, n, tgt, ok)                                   \
	{ .name = nm, .unit = NS_PER_OP,                                    \
	  .val = SIDE(fn, &(const unsigned){ n }, n),                        \
	  .floor = SIDE(floor_raw_syscall, NULL, 1), .floor_name = FLOOR_RAW, \
	  .target = tgt, .met = ok }
/* posix_spawn + waitpid of /bin/true right here; arg unused. */
#define FLOOR_SPAWN "local posix_spawn + waitpid of /bin/true"
int floor_spawn(const void *arg, long iters);
/* Fork a peer that runs serve on its end of a new socketpair and exits
 * with it (status 1 if it returned < 0); *pid gets the peer, *fd our end
 * (with set_timeouts).  Returns: 0 or -errno. */
int peer_fork(int (*serve)(int fd), pid_t *pid, int *fd);
/* SIGKILL *pid if > 0, reap it, set it to 0: for forked peers that never
 * exit on their own. */
void kill_reap(pid_t *pid);
/* Returns: the field (e.g. "Pss") of /proc/PID/FILE (e.g. smaps_rollup,
 * status) in KiB, or -errno. */
long proc_kib(pid_t pid, const char *file, const char *field);
/* Spawn /bin/true in t and reap it there, iters times (bench_persist.c).
 * Returns: 0 or -errno. */
struct persist_thread;
int spawn_true(struct persist_thread *t, long iters);
#define TARGET_MEM "ratio >= 0.8"
int met_mem(const struct bench *b);

#endif
