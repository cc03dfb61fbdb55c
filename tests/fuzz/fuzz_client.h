/* SPDX-License-Identifier: MIT */
/* Shared by fuzz_client (libtransport against a fake server) and its seed
 * generator.  A fuzz input is a header, the controller's script, then the
 * byte stream the fake server sends:
 *
 *   byte 0   flags: FC_TIMEOUT_* in the low two bits (the connection's
 *            timeout), FC_PROBE (let the memory transport's probe run;
 *            otherwise in-band is forced)
 *   byte 1   how the server's stream is cut into writes: 0 one write, n
 *            writes of 16n bytes (fewer, longer writes past FC_MAX_WRITES)
 *   byte 2   write k (k < 8) carries FC_FDS fds (SCM_RIGHTS) if bit k is set
 *   byte 3   n, the number of script operations (at most FC_MAX_OPS)
 *   n bytes  the operations: FC_OP_* in the low 4 bits, a parameter in the
 *            high 4 bits
 *   the rest the server's stream: hello, answers, READ_MEM data, anything
 *
 * The whole stream is written, then the server shuts its sending side, so
 * every wait of the controller ends at once, with bytes or end of file. */
#ifndef PERSIST_FUZZ_CLIENT_H
#define PERSIST_FUZZ_CLIENT_H

#define FC_HEADER 4
#define FC_MAX_OPS 24
#define FC_MAX_WRITES 64
#define FC_FDS 2
#define FC_MAX_LEN 8192 /* -max_len */

enum {
	FC_TIMEOUT_NONE = 0, /* -1: the two-syscall fast path, blocking reads */
	FC_TIMEOUT_ZERO = 1, /* 0 ms: every wait is a look */
	FC_TIMEOUT_SECOND = 2, /* 1000 ms: never reached, since nothing waits */
	FC_TIMEOUT_NONE2 = 3,
	FC_PROBE = 1 << 2,
};

/* The script's operations (parameter p: the high 4 bits). */
enum {
	FC_OP_CALL,      /* transport_call(getpid) */
	FC_OP_EXIT,      /* transport_call(exit_group): a hangup is its success */
	FC_OP_PIPELINE,  /* submit p % 8 + 1 getpids, wait for them all */
	FC_OP_BUSY,      /* submit p % 4 + 1, a call (-EBUSY), wait for them all */
	FC_OP_READ_MEM,  /* transport_read_mem of fc_lens[p] bytes */
	FC_OP_WRITE_MEM, /* transport_write_mem of fc_lens[p] bytes */
	FC_OP_ALLOC,     /* transport_alloc of fc_sizes[p % 4], freed if p & 4 */
	FC_OP_TAKE_FD,   /* transport_take_fd(p) */
	FC_OP_EXEC,      /* transport_exec(execve) */
	FC_OP_BATCH,     /* transport_batch: p % 3 writes of 8 bytes, then getpid */
	FC_OP_NONBLOCK,  /* submit p % 4 + 1, then transport_io / transport_result */
	FC_OP_FORK,      /* transport_fork(p) */
	FC_OP_FLUSH,     /* submit p % 4 + 1, transport_flush, wait for them all */
	FC_OP_SYSIF,     /* through the sysif: a syscall, then a read_mem of 16 */
	FC_OP_MEM_USE,   /* transport_mem_use(p % 4) */
	FC_OP_TIMEOUT,   /* set the timeout to FC_TIMEOUT_* p % 4 */
};

static const unsigned fc_lens[16] = { 0, 1, 7, 8, 9, 16, 64, 100, 255, 1000, 4095, 4096,
				      4097, 8000, 16384, 65536 };
static const unsigned fc_sizes[4] = { 16, 4096, (1u << 20) + 1, 3u << 20 };

/* The address the seeds' fake mmap answers: a probe finds no nonce there. */
#define FC_ARENA 0x7f1200000000ull

#endif
