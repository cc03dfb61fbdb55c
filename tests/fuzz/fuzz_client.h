/* SPDX-License-Identifier: MIT */
/* Shared by fuzz_client (libtransport against a fake server) and its seed
 * generator.  A fuzz input is a header, the controller's script, how each
 * answer is sent, then the bytes the fake server sends:
 *
 *   byte 0   flags: FC_TIMEOUT (the connection's timeout is 1000 ms, else
 *            none), FC_PROBE (let the memory transport's probe run;
 *            otherwise in-band is forced)
 *   byte 1   n, the number of script operations (at most FC_MAX_OPS)
 *   byte 2   m, the number of twists (at most FC_MAX_TWISTS)
 *   byte 3   how many fds a write that carries fds carries: 1 + (b & 3)
 *   n bytes  the operations: FC_OP_* in the low 4 bits, a parameter in the
 *            high 4 bits
 *   m bytes  twists: how the server sends answer k (0: the hello; k >= 1:
 *            the answer to the k-th request it receives), FC_TW_*; answers
 *            past m are sent exactly
 *   the rest the server's stream: hello, answers, READ_MEM data, anything,
 *            taken in order as answers are sent
 *
 * The server sends the hello at once, then, as each request arrives, the
 * next answer: as many bytes of the stream as that request expects (8,
 * len + 8 for a READ_MEM, 128 for the hello), changed by its twist, in one
 * write.  When the controller waits with nothing to read (its thread is
 * blocked in a read and no request is pending), the server sends the next
 * FC_WAKE bytes, or shuts its sending side once the stream is used up or a
 * twist said FC_TW_EOF: end of file only ever comes to a controller that
 * waits for more.  So no wait outlasts the input, and a run does not
 * depend on timing: the server never sends ahead of a request
 * unless a twist says so. */
#ifndef PERSIST_FUZZ_CLIENT_H
#define PERSIST_FUZZ_CLIENT_H

#define FC_HEADER 4
#define FC_MAX_OPS 24
#define FC_MAX_TWISTS 32
#define FC_WAKE 4096
#define FC_MAX_LEN 8192 /* -max_len */

enum {
	FC_TIMEOUT = 1 << 0, /* 1000 ms: never reached, since the server answers waits */
	FC_PROBE = 1 << 2,
};

/* Twists: the size (low 3 bits) and what comes with the write. */
enum {
	FC_TW_EXACT = 0,  /* the size the request expects */
	FC_TW_PLUS8 = 1,  /* and one more answer */
	FC_TW_PLUS1 = 2,  /* and one byte */
	FC_TW_MINUS4 = 3, /* four bytes short */
	FC_TW_MINUS1 = 4, /* one byte short */
	FC_TW_DOUBLE = 5, /* twice the size */
	FC_TW_REST = 6,   /* all that is left */
	FC_TW_NONE = 7,   /* nothing (until the controller waits) */
	FC_TW_FDS = 1 << 3, /* the write carries fds */
	FC_TW_EOF = 1 << 4, /* nothing after it: end of file when the controller waits */
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
	FC_OP_TIMEOUT,   /* the timeout: none if p is even, else 1000 ms */
};

static const unsigned fc_lens[16] = { 0, 1, 7, 8, 9, 16, 64, 100, 255, 1000, 4095, 4096,
				      4097, 8000, 16384, 65536 };
static const unsigned fc_sizes[4] = { 16, 4096, (1u << 20) + 1, 3u << 20 };

/* The address the seeds' fake mmap answers: a probe finds no nonce there. */
#define FC_ARENA 0x7f1200000000ull

#endif
