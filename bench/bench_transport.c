// SPDX-License-Identifier: MIT
/* libtransport, as an application uses it: pipelined calls (submit, then
 * wait for each answer), and memory through each of its three transports,
 * forced with transport_mem_use: local (the server loop in a CLONE_VM child,
 * which shares our memory), process_vm and in-band (a real persist-server).
 * Its waits have no deadline (transport_set_timeout -1: a deadline costs a
 * poll per wait); the harness's watchdog ends a hung run instead. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <near/proto.h>
#include <near/syscall.h>
#include <pserver/pserver.h>
#include <transport/conn.h>
#include <transport/mem.h>
#include "../tests/lib/spawn.h"
#include "harness.h"

#define PEER_STACK (256 * 1024)

static struct server srv2;        /* real persist-server */
static struct transport_conn *tc; /* to srv2, no deadline */
static uint64_t tremote;          /* MIB mapped in srv2 */
static struct pserver lsrv;       /* the CLONE_VM child's loop, in our memory */
static void *lstack;
static pid_t lpid;                /* the CLONE_VM child */
static struct transport_conn *lc; /* to it */
static uint64_t lremote;          /* MIB it mapped: in our address space */

/* Value: *arg getpid requests kept in flight with transport_submit,
 * refilled as answers come (transport_wait for one, transport_result for
 * the others that came with it), *arg per iteration. */
static int val_tp_pipelined(const void *arg, long iters)
{
	return tp_pipelined(tc, srv2.pid, *(const unsigned *)arg, iters);
}

int tp_pipelined(struct transport_conn *c, int64_t pid, unsigned w, long iters)
{
	long total = iters * (long)w, sent = 0, got = 0;
	struct near_request q;
	int r = 0;

	near_request_set(&q, __NR_getpid, 0, 0, 0, 0, 0, 0);
	while (r == 0 && got < total) {
		int64_t ret;

		/* Refill: as many go out as answers came in. */
		for (; r == 0 && sent < total && sent - got < (long)w; sent++)
			r = transport_submit(c, &q);
		if (r == 0)
			r = transport_wait(c, &ret); /* sends, then reads what came */
		while (r == 0) {
			if (ret != pid)
				r = -EPROTO;
			got++;
			if (r == 0 && (r = transport_result(c, &ret)) == -EAGAIN) {
				r = 0;
				break;
			}
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

static int pvm_loop(const struct tmem *m, int wr, long iters)
{
	void *buf = wr ? src : dst;
	int r = 0;

	for (long i = 0; i < iters && r == 0; i++)
		r = pvm_direct(wr, buf, tremote, m->size);
	return r;
}

static int floor_pvm_out(const void *arg, long iters)
{
	return pvm_loop(arg, 1, iters);
}

static int floor_pvm_in(const void *arg, long iters)
{
	return pvm_loop(arg, 0, iters);
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

static void transport_setup(void)
{
	char why[256] = "";
	int64_t addr;
	int r;

	if ((r = local_start(why, sizeof why)) < 0) {
		if (why[0])
			fprintf(stderr, "bench: %s\n", why);
		die("CLONE_VM server loop (local transport)", r);
	}
	if ((r = server_start(&srv2, NULL)) < 0)
		die(server_exe(), r);
	if ((r = transport_connect(srv2.path, 5000, &tc, why, sizeof why)) < 0) {
		fprintf(stderr, "bench: %s\n", why);
		die("transport_connect", r);
	}
	transport_set_timeout(tc, -1);
	if (transport_hello(tc)->pid != srv2.pid ||
	    transport_syscall(tc, __NR_getpid, 0, 0, 0, 0, 0, 0) != srv2.pid)
		die("getpid through libtransport", -EPROTO);
	addr = transport_syscall(tc, __NR_mmap, 0, MIB, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (addr < 0 && addr > -4096)
		die("mmap through libtransport", (int)addr);
	tremote = (uint64_t)addr;
	if ((r = transport_mem_use(tc, TRANSPORT_MEM_PROCESS_VM)) < 0)
		die("process_vm_writev/readv to the server", r);
}

static void transport_cleanup(void)
{
	if (tc) {
		transport_close(tc);
		tc = NULL;
	}
	if (srv2.pid > 0)
		server_stop(&srv2);
	if (lc) {
		transport_close(lc); /* the CLONE_VM child sees end of file */
		lc = NULL;
	}
	if (lpid > 0) {
		waitpid(lpid, NULL, 0);
		lpid = 0;
	}
}

static const struct mem m1 = { MIB, 1 }, m4x1 = { KIB4, 1 };
#define PVW "process_vm_writev"
#define PVR "process_vm_readv"
#define S4K1 "unix stream, 4 KiB chunks, one per op"
#define T(c, r, k, sz) { &c, &r, TRANSPORT_MEM_##k, sz }
static const struct tmem tl4 = T(lc, lremote, LOCAL, KIB4), tl1 = T(lc, lremote, LOCAL, MIB);
static const struct tmem tp4 = T(tc, tremote, PROCESS_VM, KIB4), tp1 = T(tc, tremote, PROCESS_VM, MIB);
static const struct tmem ti4 = T(tc, tremote, INBAND, KIB4), ti1 = T(tc, tremote, INBAND, MIB);
#undef T

static struct bench rows[] = {
	/* Issue 3: the raw protocol's rows through libtransport. */
	PIPELINED_ROW("transport_pipelined_1", val_tp_pipelined, 1, NULL, NULL),
	PIPELINED_ROW("transport_pipelined_8", val_tp_pipelined, 8, NULL, NULL),
	PIPELINED_ROW("transport_pipelined_64", val_tp_pipelined, 64, TARGET_PIPELINED,
		      met_pipelined),
#define TMEM(nm, wr, t, sz, fl, fa, flname, tgt)                              \
	{ .name = nm, .unit = GB_PER_S,                                       \
	  .val = SIDE(wr ? val_tmem_write : val_tmem_read, &t, sz),           \
	  .floor = SIDE(fl, &fa, sz), .floor_name = flname,                   \
	  .target = tgt ? TARGET_MEM : NULL, .met = met_mem,                  \
	  .check = wr ? check_tmem_write : check_tmem_read }
	/* local: no target of its own (docs/design.md's is against
	 * process_vm_writev, the next rows); shown against memcpy. */
	TMEM("mem_local_write_4KiB", 1, tl4, KIB4, floor_memcpy_out, tl4, "memcpy", 0),
	TMEM("mem_local_read_4KiB", 0, tl4, KIB4, floor_memcpy_in, tl4, "memcpy", 0),
	TMEM("mem_local_write_1MiB", 1, tl1, MIB, floor_memcpy_out, tl1, "memcpy", 0),
	TMEM("mem_local_read_1MiB", 0, tl1, MIB, floor_memcpy_in, tl1, "memcpy", 0),
	TMEM("mem_pvm_write_4KiB", 1, tp4, KIB4, floor_pvm_out, tp4, PVW, 0),
	TMEM("mem_pvm_read_4KiB", 0, tp4, KIB4, floor_pvm_in, tp4, PVR, 0),
	TMEM("mem_pvm_write_1MiB", 1, tp1, MIB, floor_pvm_out, tp1, PVW, 1),
	TMEM("mem_pvm_read_1MiB", 0, tp1, MIB, floor_pvm_in, tp1, PVR, 1),
	/* In-band 4 KiB is one round trip per operation (the blocking
	 * API): against a stream it shows that cost; no target. */
	TMEM("mem_inband_write_4KiB", 1, ti4, KIB4, floor_stream_out, m4x1, S4K1, 0),
	TMEM("mem_inband_read_4KiB", 0, ti4, KIB4, floor_stream_in, m4x1, S4K1, 0),
	TMEM("mem_inband_write_1MiB", 1, ti1, MIB, floor_stream_out, m1, FLOOR_STREAM_1MIB, 1),
	TMEM("mem_inband_read_1MiB", 0, ti1, MIB, floor_stream_in, m1, FLOOR_STREAM_1MIB, 1),
#undef TMEM
};

const struct layer transport_layer = {
	.setup = transport_setup, .cleanup = transport_cleanup,
	.rows = rows, .n = sizeof rows / sizeof rows[0],
	.peers = { &lpid, &srv2.pid },
};
