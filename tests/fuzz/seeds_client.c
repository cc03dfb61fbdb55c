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

static unsigned char buf[FC_MAX_LEN];
static size_t len;

static void bytes(const void *p, size_t n, int fill)
{
	if (len + n > sizeof buf) {
		fprintf(stderr, "seeds_client: seed too long\n");
		exit(1);
	}
	if (p)
		memcpy(buf + len, p, n);
	else
		memset(buf + len, fill, n);
	len += n;
}

/* The header and the script: ops are (op, parameter) pairs, ended by -1. */
static void start(unsigned flags, unsigned chunk, unsigned fd_mask, ...)
{
	va_list ap;
	unsigned char *n;
	int op;

	len = 0;
	buf[len++] = (unsigned char)flags;
	buf[len++] = (unsigned char)chunk;
	buf[len++] = (unsigned char)fd_mask;
	n = &buf[len++];
	*n = 0;
	va_start(ap, fd_mask);
	while ((op = va_arg(ap, int)) >= 0) {
		int p = va_arg(ap, int);
		buf[len++] = (unsigned char)(op | p << 4);
		++*n;
	}
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
	char path[512];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

#define END -1

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "corpus_client";
	const uint64_t magic2 = NEAR_PROTO_MAGIC + 1;
	const uint32_t v2 = 2, arch2 = NEAR_ARCH_ID + 1, zero = 0, odd = 12288;

	/* Honest answers. */
	start(FC_TIMEOUT_NONE, 0, 0, FC_OP_CALL, 0, FC_OP_PIPELINE, 3, FC_OP_CALL, 0, END);
	hello();
	for (int i = 0; i < 6; i++)
		ans(4242);
	save(dir, "calls");
	buf[0] = FC_TIMEOUT_SECOND;
	save(dir, "calls_timed");
	buf[0] = FC_TIMEOUT_ZERO;
	save(dir, "calls_zero_timeout");

	/* More answers than requests. */
	start(FC_TIMEOUT_NONE, 0, 0, FC_OP_CALL, 0, FC_OP_CALL, 0, FC_OP_CALL, 0, END);
	hello();
	ans(1), ans(2), ans(3), ans(4);
	save(dir, "extra_answers");
	start(FC_TIMEOUT_SECOND, 0, 0, FC_OP_PIPELINE, 1, FC_OP_PIPELINE, 1, END);
	hello();
	for (int i = 0; i < 5; i++)
		ans(i);
	save(dir, "extra_answers_pipelined");

	/* Cut answers and hellos. */
	start(FC_TIMEOUT_SECOND, 0, 0, FC_OP_CALL, 0, END);
	hello();
	bytes(NULL, 4, 0x11);
	save(dir, "cut_answer");
	start(FC_TIMEOUT_NONE, 0, 0, FC_OP_CALL, 0, END);
	bytes(NULL, 100, 0x50);
	save(dir, "cut_hello");

	/* Hellos to refuse. */
	start(FC_TIMEOUT_NONE, 0, 0, FC_OP_CALL, 0, END);
	hello_with(0, &magic2, sizeof magic2);
	save(dir, "hello_magic");
	start(FC_TIMEOUT_NONE, 0, 0, FC_OP_CALL, 0, END);
	hello_with(offsetof(struct near_hello, version), &v2, sizeof v2);
	save(dir, "hello_version");
	start(FC_TIMEOUT_NONE, 0, 0, FC_OP_CALL, 0, END);
	hello_with(offsetof(struct near_hello, arch), &arch2, sizeof arch2);
	save(dir, "hello_arch");
	start(FC_TIMEOUT_NONE, 0, 0, FC_OP_ALLOC, 0, END);
	hello_with(offsetof(struct near_hello, page_size), &odd, sizeof odd);
	ans((int64_t)FC_ARENA);
	save(dir, "hello_page_size");
	start(FC_TIMEOUT_NONE, 0, 0, FC_OP_CALL, 0, END);
	hello_with(offsetof(struct near_hello, pid), &zero, sizeof zero);
	save(dir, "hello_pid");
	{
		int32_t refusal = -EACCES;
		start(FC_TIMEOUT_NONE, 0, 0, FC_OP_CALL, 0, END);
		hello_with(offsetof(struct near_hello, refusal), &refusal, sizeof refusal);
		memset(buf + len - 72, 'A', 72);
		save(dir, "hello_refused");
	}

	/* Memory: in-band reads and writes, an endless read, the probe. */
	start(FC_TIMEOUT_NONE, 0, 0, FC_OP_READ_MEM, 5, FC_OP_WRITE_MEM, 7, END);
	hello();
	bytes(NULL, 16, 0x5a), ans(16);
	ans(100);
	save(dir, "mem_inband");
	buf[0] = FC_TIMEOUT_SECOND;
	save(dir, "mem_inband_timed");
	start(FC_TIMEOUT_NONE, 0, 0, FC_OP_READ_MEM, 6, FC_OP_CALL, 0, END);
	hello();
	bytes(NULL, 64, 0x5a), ans(64);
	bytes(NULL, 2000, 0x5b);
	save(dir, "mem_endless");
	start(FC_TIMEOUT_ZERO, 0, 0, FC_OP_READ_MEM, 11, END);
	hello();
	bytes(NULL, 1000, 0x5a);
	save(dir, "mem_cut");
	start(FC_TIMEOUT_NONE, 0, 0, FC_OP_READ_MEM, 3, FC_OP_WRITE_MEM, 3, END);
	hello();
	bytes(NULL, 8, 0), ans(-((int64_t)1 << 32) + 1);
	ans(-((int64_t)1 << 40));
	save(dir, "mem_odd_results");
	start(FC_TIMEOUT_NONE | FC_PROBE, 0, 0, FC_OP_READ_MEM, 3, FC_OP_MEM_USE, 1,
	      FC_OP_MEM_USE, 3, FC_OP_SYSIF, 0, END);
	hello();
	ans((int64_t)FC_ARENA), ans(16); /* the probe: mmap, the nonce */
	bytes(NULL, 8, 0x5a), ans(8);
	ans(4242), bytes(NULL, 16, 0x5a), ans(16);
	save(dir, "mem_probe");

	/* The allocator: the same arena twice, no address, a bad errno. */
	start(FC_TIMEOUT_NONE, 0, 0, FC_OP_ALLOC, 0, FC_OP_ALLOC, 3, FC_OP_ALLOC, 4, END);
	hello();
	ans((int64_t)FC_ARENA), ans((int64_t)FC_ARENA), ans(-((int64_t)1 << 40));
	save(dir, "alloc_same_arena");
	start(FC_TIMEOUT_NONE, 0, 0, FC_OP_ALLOC, 2, FC_OP_ALLOC, 2, FC_OP_ALLOC, 0, END);
	hello();
	ans((int64_t)FC_ARENA), ans((int64_t)FC_ARENA + (3 << 20)), ans(0);
	save(dir, "alloc_arenas");

	/* Fds: asked for, too many, unasked on answers and memory data. */
	start(FC_TIMEOUT_NONE, 8, 0x2, FC_OP_TAKE_FD, 3, FC_OP_TAKE_FD, 4, END);
	hello();
	ans(0);
	ans(-EBADF);
	save(dir, "take_fd");
	start(FC_TIMEOUT_SECOND, 8, 0x6, FC_OP_TAKE_FD, 3, FC_OP_TAKE_FD, 4, END);
	hello();
	ans(0);
	bytes(NULL, 128 - 8, 0);
	ans(-EBADF);
	save(dir, "take_fd_errno_with_fd");
	start(FC_TIMEOUT_NONE, 1, 0xfe, FC_OP_CALL, 0, FC_OP_PIPELINE, 1, FC_OP_READ_MEM, 5, END);
	hello();
	ans(1), ans(2), ans(3);
	bytes(NULL, 16, 0x5a), ans(16);
	save(dir, "unasked_fds");
	buf[0] = FC_TIMEOUT_SECOND;
	save(dir, "unasked_fds_timed");

	/* Exec: a new hello, an errno, a zero. */
	start(FC_TIMEOUT_NONE, 0, 0, FC_OP_EXEC, 0, FC_OP_CALL, 0, FC_OP_EXEC, 0, FC_OP_EXEC, 0,
	      END);
	hello();
	hello();
	ans(4242);
	ans(-ENOENT);
	ans(0);
	save(dir, "exec");

	/* Fork, batch, non-blocking, flush, busy, exit. */
	start(FC_TIMEOUT_NONE, 0, 0, FC_OP_FORK, 3, FC_OP_FORK, 3, FC_OP_FORK, 3, END);
	hello();
	ans(77), ans(-EBADF), ans((int64_t)1 << 32 | 5);
	save(dir, "fork");
	start(FC_TIMEOUT_NONE, 0, 0, FC_OP_BATCH, 2, FC_OP_BATCH, 1, END);
	hello();
	ans(8), ans(8), ans(4242);
	ans(-EFAULT), ans(4242);
	save(dir, "batch");
	start(FC_TIMEOUT_NONE, 0, 0, FC_OP_NONBLOCK, 3, FC_OP_FLUSH, 2, FC_OP_BUSY, 1, END);
	hello();
	for (int i = 0; i < 9; i++)
		ans(i);
	save(dir, "nonblock_flush_busy");
	start(FC_TIMEOUT_NONE, 0, 0, FC_OP_EXIT, 0, FC_OP_CALL, 0, FC_OP_TIMEOUT, 2,
	      FC_OP_CALL, 0, END);
	hello();
	save(dir, "exit");
	return 0;
}
