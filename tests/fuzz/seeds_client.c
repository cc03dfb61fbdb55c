// SPDX-License-Identifier: MIT
/* Writes the seed corpus of fuzz_client into the directory argv[1]: one
 * file per situation the fuzzer should start from (fuzz_client.h: a header,
 * the controller's script, then what the fake server sends). */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <near/proto.h>
#include <near/syscall.h>
#include "fuzz_client.h"

static unsigned char flags, fdsb, ops[FC_MAX_OPS], tws[FC_MAX_TWISTS], stream[FC_MAX_LEN];
static size_t nops, ntws, len;

static void bytes(const void *p, size_t n, int fill)
{
	if (len + n > sizeof stream) {
		fprintf(stderr, "seeds_client: seed too long\n");
		exit(1);
	}
	if (p)
		memcpy(stream + len, p, n);
	else
		memset(stream + len, fill, n);
	len += n;
}

/* A new seed: the flags, then the script as (op, parameter) pairs ended
 * by END, then the twists ended by END. */
#define END -1
static void start(unsigned f, unsigned fds, ...)
{
	va_list ap;
	int x;

	flags = (unsigned char)f;
	fdsb = (unsigned char)fds;
	nops = ntws = len = 0;
	va_start(ap, fds);
	while ((x = va_arg(ap, int)) != END) {
		int p = va_arg(ap, int);
		ops[nops++] = (unsigned char)(x | p << 4);
	}
	while ((x = va_arg(ap, int)) != END)
		tws[ntws++] = (unsigned char)x;
	va_end(ap);
}

static void hello_with(size_t off, const void *v, size_t n)
{
	struct near_hello h;

	memset(&h, 0, sizeof h);
	h.magic = NEAR_PROTO_MAGIC;
	h.version = NEAR_PROTO_VERSION;
	h.arch = NEAR_ARCH_ID;
	h.epoch = 1;
	h.pid = 4242;
	h.page_size = 4096;
	if (v)
		memcpy((char *)&h + off, v, n);
	bytes(&h, sizeof h, 0);
}

static void hello(void)
{
	hello_with(0, NULL, 0);
}

static void ans(int64_t v)
{
	bytes(&v, sizeof v, 0);
}

static void save(const char *dir, const char *name)
{
	unsigned char head[FC_HEADER] = { flags, (unsigned char)nops, (unsigned char)ntws, fdsb };
	char path[512];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(head, 1, sizeof head, f) != sizeof head ||
	    fwrite(ops, 1, nops, f) != nops || fwrite(tws, 1, ntws, f) != ntws ||
	    fwrite(stream, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "corpus_client";
	const uint64_t magic2 = NEAR_PROTO_MAGIC + 1;
	const uint32_t v2 = 2, arch2 = NEAR_ARCH_ID + 1, zero = 0, odd = 12288;
	const int32_t refusal = -EACCES;

	/* Honest answers, with and without a deadline. */
	start(0, 0, FC_OP_CALL, 0, FC_OP_PIPELINE, 3, FC_OP_CALL, 0, FC_OP_NONBLOCK, 3,
	      FC_OP_FLUSH, 2, FC_OP_BUSY, 1, END, END);
	hello();
	for (int i = 0; i < 16; i++)
		ans(4242 + i);
	save(dir, "calls");
	flags = FC_TIMEOUT;
	save(dir, "calls_timed");

	/* More answers than requests: with the first answer, and in place of
	 * the second one's. */
	start(0, 0, FC_OP_CALL, 0, FC_OP_CALL, 0, FC_OP_CALL, 0, END, FC_TW_EXACT, FC_TW_PLUS8, END);
	hello();
	ans(1), ans(2), ans(3), ans(4);
	save(dir, "extra_answer");
	start(FC_TIMEOUT, 0, FC_OP_PIPELINE, 1, FC_OP_PIPELINE, 1, END,
	      FC_TW_EXACT, FC_TW_EXACT, FC_TW_DOUBLE, END);
	hello();
	for (int i = 0; i < 6; i++)
		ans(i);
	save(dir, "extra_answer_pipelined");
	/* An extra answer inside a pipeline cannot be told from the next
	 * request's; the one owed at the end waits when we next go idle. */
	start(0, 0, FC_OP_PIPELINE, 3, FC_OP_CALL, 0, END, FC_TW_EXACT, FC_TW_EXACT, FC_TW_PLUS8,
	      END);
	hello();
	for (int i = 0; i < 6; i++)
		ans(i);
	save(dir, "extra_answer_in_pipeline");
	start(0, 0, FC_OP_CALL, 0, FC_OP_CALL, 0, END, FC_TW_PLUS1, END);
	hello();
	ans(7), ans(8);
	save(dir, "hello_and_a_byte");

	/* Cut answers and hellos: short, then the rest once we wait; short,
	 * then end of file. */
	start(FC_TIMEOUT, 0, FC_OP_CALL, 0, FC_OP_CALL, 0, END, FC_TW_EXACT, FC_TW_MINUS4, END);
	hello();
	ans(5), ans(6);
	save(dir, "short_answer");
	start(0, 0, FC_OP_CALL, 0, FC_OP_PIPELINE, 2, END,
	      FC_TW_EXACT, FC_TW_MINUS1 | FC_TW_EOF, END);
	hello();
	ans(5), ans(6);
	save(dir, "short_answer_eof");
	start(0, 0, FC_OP_CALL, 0, END, FC_TW_MINUS4, END);
	hello();
	ans(5);
	save(dir, "short_hello");
	start(0, 0, FC_OP_CALL, 0, END, FC_TW_MINUS4 | FC_TW_EOF, END);
	hello();
	save(dir, "short_hello_eof");
	start(0, 0, FC_OP_CALL, 0, FC_OP_CALL, 0, END, FC_TW_EXACT, FC_TW_NONE, END);
	hello();
	ans(9), ans(10);
	save(dir, "late_answer");

	/* Hellos to refuse. */
	start(0, 0, FC_OP_CALL, 0, END, END);
	hello_with(0, &magic2, sizeof magic2);
	save(dir, "hello_magic");
	start(0, 0, FC_OP_CALL, 0, END, END);
	hello_with(offsetof(struct near_hello, version), &v2, sizeof v2);
	save(dir, "hello_version");
	start(0, 0, FC_OP_CALL, 0, END, END);
	hello_with(offsetof(struct near_hello, arch), &arch2, sizeof arch2);
	save(dir, "hello_arch");
	start(0, 0, FC_OP_ALLOC, 0, END, END);
	hello_with(offsetof(struct near_hello, page_size), &odd, sizeof odd);
	ans((int64_t)FC_ARENA);
	save(dir, "hello_page_size");
	start(0, 0, FC_OP_CALL, 0, END, END);
	hello_with(offsetof(struct near_hello, pid), &zero, sizeof zero);
	save(dir, "hello_pid");
	start(0, 0, FC_OP_CALL, 0, END, END);
	hello_with(offsetof(struct near_hello, refusal), &refusal, sizeof refusal);
	memset(stream + len - 72, 'A', 72);
	save(dir, "hello_refused");

	/* Memory: in-band reads and writes, an endless read, the probe. */
	start(0, 0, FC_OP_READ_MEM, 5, FC_OP_WRITE_MEM, 7, FC_OP_READ_MEM, 11, END, END);
	hello();
	bytes(NULL, 16, 0x5a), ans(16);
	ans(100);
	bytes(NULL, 4096, 0x5b), ans(4096);
	save(dir, "mem_inband");
	flags = FC_TIMEOUT;
	save(dir, "mem_inband_timed");
	start(0, 0, FC_OP_READ_MEM, 6, FC_OP_CALL, 0, END, FC_TW_EXACT, FC_TW_REST, END);
	hello();
	bytes(NULL, 64, 0x5a), ans(64);
	bytes(NULL, 2000, 0x5b);
	save(dir, "mem_endless");
	start(FC_TIMEOUT, 0, FC_OP_READ_MEM, 11, END, FC_TW_EXACT, FC_TW_MINUS4 | FC_TW_EOF, END);
	hello();
	bytes(NULL, 1000, 0x5a);
	save(dir, "mem_cut");
	start(0, 0, FC_OP_READ_MEM, 3, FC_OP_WRITE_MEM, 3, FC_OP_WRITE_MEM, 3, END, END);
	hello();
	bytes(NULL, 8, 0), ans(-((int64_t)1 << 32) + 1);
	ans(-EFAULT);
	ans(-((int64_t)1 << 40));
	save(dir, "mem_odd_results");
	start(FC_PROBE, 0, FC_OP_READ_MEM, 3, FC_OP_MEM_USE, 1, FC_OP_MEM_USE, 3, FC_OP_SYSIF, 0,
	      FC_OP_BATCH, 2, END, END);
	hello();
	ans((int64_t)FC_ARENA), ans(16); /* the probe: mmap, the nonce */
	bytes(NULL, 8, 0x5a), ans(8);
	ans(4242), bytes(NULL, 16, 0x5a), ans(16);
	ans(8), ans(8), ans(4242);
	save(dir, "mem_probe");

	/* The allocator: arenas, the same arena twice, no address, 0. */
	start(0, 0, FC_OP_ALLOC, 0, FC_OP_ALLOC, 4, FC_OP_ALLOC, 1, FC_OP_ALLOC, 3, FC_OP_ALLOC, 2,
	      END, END);
	hello();
	ans((int64_t)FC_ARENA), ans((int64_t)FC_ARENA + (4 << 20)), ans(0);
	save(dir, "alloc_arenas");
	start(0, 0, FC_OP_ALLOC, 0, FC_OP_ALLOC, 3, END, END);
	hello();
	ans((int64_t)FC_ARENA), ans((int64_t)FC_ARENA);
	save(dir, "alloc_same_arena");
	start(0, 0, FC_OP_ALLOC, 0, END, END);
	hello();
	ans(-((int64_t)1 << 32));
	save(dir, "alloc_no_errno");

	/* Fds: asked for, too many, with an error, unasked on answers, on
	 * READ_MEM data, on the hello. */
	start(0, 3, FC_OP_TAKE_FD, 3, FC_OP_TAKE_FD, 4, FC_OP_TAKE_FD, 5, END,
	      FC_TW_EXACT, FC_TW_FDS, FC_TW_FDS, FC_TW_EXACT, END);
	hello();
	ans(0), ans(-EBADF), ans(0);
	save(dir, "take_fd");
	start(FC_TIMEOUT, 1, FC_OP_CALL, 0, FC_OP_PIPELINE, 1, FC_OP_READ_MEM, 5, END,
	      FC_TW_FDS, FC_TW_FDS, FC_TW_FDS | FC_TW_MINUS4, FC_TW_FDS, FC_TW_FDS, END);
	hello();
	ans(1), ans(2), ans(3);
	bytes(NULL, 16, 0x5a), ans(16);
	save(dir, "unasked_fds");
	flags = 0;
	save(dir, "unasked_fds_untimed");

	/* Exec: a new hello, an errno, a zero. */
	start(0, 0, FC_OP_EXEC, 0, FC_OP_CALL, 0, FC_OP_EXEC, 0, FC_OP_EXEC, 0, END,
	      FC_TW_EXACT, FC_TW_NONE, END);
	hello();
	hello();
	ans(4242);
	ans(-ENOENT);
	ans(0);
	save(dir, "exec");

	/* Fork, batch, exit. */
	start(0, 0, FC_OP_FORK, 3, FC_OP_FORK, 3, FC_OP_FORK, 3, END, END);
	hello();
	ans(77), ans(-EBADF), ans((int64_t)1 << 32 | 5);
	save(dir, "fork");
	start(0, 0, FC_OP_BATCH, 2, FC_OP_BATCH, 1, FC_OP_BATCH, 1, END, END);
	hello();
	ans(8), ans(8), ans(4242);
	ans(-EFAULT), ans(4242);
	ans(-((int64_t)1 << 40)), ans(4242);
	save(dir, "batch");
	start(0, 0, FC_OP_EXIT, 0, FC_OP_CALL, 0, FC_OP_TIMEOUT, 1, FC_OP_CALL, 0, END, END);
	hello();
	save(dir, "exit");
	return 0;
}
