// SPDX-License-Identifier: MIT
/* The raw protocol: a real persist-server driven by the minimal controller
 * of tests/lib, for round trips, pipelined syscalls and in-band memory.
 *
 * The timed loops talk to the server with plain blocking read/write on the
 * connection (after ctl_connect has read the hello), exactly as the floors
 * do on their socketpair: ctl_call polls before every read to enforce its
 * deadline, which would charge controller-side syscalls to the server.
 * Deadlines come from SO_RCVTIMEO/SO_SNDTIMEO instead (set_timeouts). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <near/proto.h>
#include <near/syscall.h>
#include "../tests/lib/ctl.h"
#include "../tests/lib/spawn.h"
#include "harness.h"

#define MEM_WIN 16       /* 4 KiB memory ops per batch; two batches in flight */

static struct server srv;
static struct ctl ctl = { .fd = -1 };
static int64_t srv_pid;  /* what getpid answers in the server */
static uint64_t remote;  /* MIB bytes mapped in the server */

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

/* w getpid requests in flight on fd, refilled as answers come (as many
 * requests go out as answers came in each read), each answer checked
 * against pid; iters * w requests in all.  With w = 1 this is a blocking
 * round trip at a time.  Returns: 0 or -errno (-EPROTO: a wrong answer). */
static int pipelined(int fd, int64_t pid, unsigned w, long iters)
{
	struct near_request q[64];
	unsigned char buf[64 * 8];
	long total = iters * (long)w, sent, got = 0;
	size_t have = 0; /* bytes of an answer read in part */
	int r;

	if (w > 64 || w == 0)
		return -EINVAL;
	for (unsigned j = 0; j < w; j++)
		near_request_set(&q[j], __NR_getpid, 0, 0, 0, 0, 0, 0);
	sent = total < w ? total : w;
	r = write_full(fd, q, (size_t)sent * sizeof q[0]);
	while (r == 0 && got < total) {
		ssize_t k = read(fd, buf + have, (size_t)(sent - got) * 8 - have);
		long more;

		if (k <= 0) {
			r = k == 0 ? -EPIPE : errno == EINTR ? 0 : -errno;
			continue;
		}
		have += (size_t)k;
		for (size_t off = 0; off + 8 <= have && r == 0; off += 8) {
			int64_t ret;
			memcpy(&ret, buf + off, 8);
			if (ret != pid)
				r = -EPROTO;
			got++;
		}
		memmove(buf, buf + (have & ~(size_t)7), have & 7);
		have &= 7;
		more = total - sent < got + w - sent ? total - sent : got + w - sent;
		if (r == 0 && more > 0) {
			r = write_full(fd, q, (size_t)more * sizeof q[0]);
			sent += more;
		}
	}
	return r;
}

/* Value: pipelined getpids to persist-server, *arg in flight. */
static int val_pipelined(const void *arg, long iters)
{
	return pipelined(ctl.fd, srv_pid, *(const unsigned *)arg, iters);
}

/* The bare server: what any server of two processes on this placement
 * costs, and no more.  It reads whatever requests came (blocking), runs
 * each as a raw syscall with no checks, and answers them in one write: no
 * poll, no takeover, no protocol beyond the request and its answer.
 * bare_pipelined_64 shows, in the same run, how near pipelined_64 is to
 * that; the gap between it and the floor is the cost of the wakeups and
 * context switches themselves (docs/design.md, Targets). */
static pid_t bare_pid;
static int bare_fd = -1;

static int bare_serve(int fd)
{
	static struct near_request q[64];
	static int64_t ret[64];
	size_t have = 0;

	for (;;) {
		ssize_t n = read(fd, (char *)q + have, sizeof q - have);
		size_t k;

		if (n <= 0)
			return n < 0 ? -1 : 0;
		have += (size_t)n;
		k = have / sizeof q[0];
		for (size_t i = 0; i < k; i++)
			ret[i] = near_syscall6(q[i].nr, q[i].args[0], q[i].args[1], q[i].args[2],
					       q[i].args[3], q[i].args[4], q[i].args[5]);
		if (k && write_full(fd, ret, k * sizeof ret[0]) < 0)
			return -1;
		have -= k * sizeof q[0];
		memmove(q, (char *)q + k * sizeof q[0], have);
	}
}

/* Value: pipelined getpids to the bare server, *arg in flight. */
static int val_bare_pipelined(const void *arg, long iters)
{
	return pipelined(bare_fd, bare_pid, *(const unsigned *)arg, iters);
}

/* A memory benchmark (struct mem): a batch of 1 is one blocking operation
 * at a time (what "write 1 MiB into remote memory" means).  Batches of
 * MEM_WIN small ops go out in one writev while the previous batch's answers
 * come back, so the server always has work queued and small ops are
 * measured as throughput, not as round trips. */
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

static int met_roundtrip(const struct bench *b)
{
	return b->ratio <= 1.15;
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

static void near_setup(void)
{
	int64_t addr;
	int r;

	if ((r = server_start(&srv, NULL)) < 0)
		die(server_exe(), r);
	if ((r = ctl_connect(&ctl, srv.path)) < 0) {
		fprintf(stderr, "bench: %s\n", ctl.why);
		die("connect", r);
	}
	if ((r = set_timeouts(ctl.fd)) < 0)
		die("SO_RCVTIMEO", r);
	srv_pid = ctl_call(&ctl, __NR_getpid, 0, 0, 0, 0, 0, 0);
	if (srv_pid != ctl.hello.pid || srv_pid != srv.pid)
		die("getpid in the server", srv_pid < 0 ? (int)srv_pid : -EPROTO);
	addr = ctl_call(&ctl, __NR_mmap, 0, MIB, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (addr < 0 && addr > -4096)
		die("mmap in the server", (int)addr);
	remote = (uint64_t)addr;
	if ((r = peer_fork(bare_serve, &bare_pid, &bare_fd)) < 0)
		die("the bare server", r);
}

static void near_cleanup(void)
{
	if (ctl.fd > 0)
		ctl_close(&ctl);
	if (srv.pid > 0)
		server_stop(&srv);
	if (bare_fd >= 0)
		close(bare_fd);
	kill_reap(&bare_pid);
}

static const struct mem m1 = { MIB, 1 }, m4 = { KIB4, MEM_WIN };
#define S4K "unix stream, 4 KiB chunks"

static struct bench rows[] = {
	{ .name = "roundtrip_blocking", .unit = NS_PER_OP,
	  .val = SIDE(val_roundtrip, NULL, 1),
	  .floor = SIDE(floor_pingpong, NULL, 1), .floor_name = "socketpair 8-byte ping-pong",
	  .target = "ratio <= 1.15", .met = met_roundtrip },
	PIPELINED_ROW("pipelined_1", val_pipelined, 1, NULL, NULL),
	PIPELINED_ROW("pipelined_8", val_pipelined, 8, NULL, NULL),
	PIPELINED_ROW("pipelined_64", val_pipelined, 64, TARGET_PIPELINED, met_pipelined),
	/* No target: the reference that shows what pipelined_64 could be. */
	PIPELINED_ROW("bare_pipelined_64", val_bare_pipelined, 64, NULL, NULL),
	{ .name = "write_mem_1MiB", .unit = GB_PER_S,
	  .val = SIDE(val_write_mem, &m1, MIB),
	  .floor = SIDE(floor_stream_out, &m1, MIB), .floor_name = FLOOR_STREAM_1MIB,
	  .target = TARGET_MEM, .met = met_mem },
	{ .name = "read_mem_1MiB", .unit = GB_PER_S,
	  .val = SIDE(val_read_mem, &m1, MIB),
	  .floor = SIDE(floor_stream_in, &m1, MIB), .floor_name = FLOOR_STREAM_1MIB,
	  .target = TARGET_MEM, .met = met_mem, .check = check_read },
	/* No target of their own: they show what small ops cost. */
	{ .name = "write_mem_4KiB", .unit = GB_PER_S,
	  .val = SIDE(val_write_mem, &m4, KIB4 * MEM_WIN),
	  .floor = SIDE(floor_stream_out, &m4, KIB4 * MEM_WIN), .floor_name = S4K },
	{ .name = "read_mem_4KiB", .unit = GB_PER_S,
	  .val = SIDE(val_read_mem, &m4, KIB4 * MEM_WIN),
	  .floor = SIDE(floor_stream_in, &m4, KIB4 * MEM_WIN), .floor_name = S4K,
	  .check = check_read },
};

const struct layer near_layer = {
	.setup = near_setup, .cleanup = near_cleanup,
	.rows = rows, .n = sizeof rows / sizeof rows[0],
	.peers = { &srv.pid, &bare_pid },
};
