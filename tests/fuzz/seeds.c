// SPDX-License-Identifier: MIT
/* Writes the seed corpus of fuzz_loop into the directory argv[1]: one file
 * per protocol situation the fuzzer should start from (fuzz.h: one byte of
 * write chunking, then the controller's stream). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <asm/unistd.h>
#include <near/proto.h>
#include "fuzz.h"

static unsigned char buf[FUZZ_MAX_LEN];
static size_t len;

static void start(unsigned char chunk)
{
	len = 0;
	buf[len++] = chunk;
}

static void bytes(const void *p, size_t n, int fill)
{
	if (len + n > sizeof buf) {
		fprintf(stderr, "seeds: seed too long\n");
		exit(1);
	}
	if (p)
		memcpy(buf + len, p, n);
	else
		memset(buf + len, fill, n);
	len += n;
}

static void req(int64_t nr, int64_t a, int64_t b, int64_t c)
{
	struct near_request q;

	near_request_set(&q, nr, a, b, c, 0, 0, 0);
	bytes(&q, sizeof q, 0);
}

static void payload(size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char b = (unsigned char)(i * 13 + 5);
		bytes(&b, 1, 0);
	}
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

int main(int argc, char **argv)
{
	const int64_t base = (int64_t)FUZZ_BASE, end = base + FUZZ_SANDBOX;
	const char *dir = argc > 1 ? argv[1] : "corpus";

	start(0); /* syscalls and protocol operations */
	req(__NR_getpid, 0, 0, 0);
	req(__NR_read, 0, base, 16);
	req(NEAR_OP_TAKEOVER, 0, 0, 0);
	req(-77, 1, 2, 3);
	req(((int64_t)1 << 32) + __NR_getpid, 0, 0, 0);
	req(__NR_exit_group, 0, 0, 0);
	req(__NR_getppid, 0, 0, 0);
	save(dir, "syscalls");

	start(0); /* a memory round trip inside the sandbox */
	req(NEAR_OP_WRITE_MEM, base + 100, 300, 0);
	payload(300);
	req(NEAR_OP_READ_MEM, base + 100, 300, 0);
	req(NEAR_OP_READ_MEM, base, FUZZ_SANDBOX, 0);
	req(NEAR_OP_WRITE_MEM, base, 0, 0);
	req(NEAR_OP_READ_MEM, base, 0, 0);
	save(dir, "mem_round_trip");
	buf[0] = 1; /* the same, written 3 bytes at a time */
	save(dir, "mem_round_trip_split");

	start(5); /* accesses across the end of the sandbox */
	req(NEAR_OP_WRITE_MEM, end - 10, 40, 0);
	payload(40);
	req(NEAR_OP_READ_MEM, end - 100, 100, 0);
	req(NEAR_OP_READ_MEM, end - 10, 40, 0);
	req(NEAR_OP_WRITE_MEM, base - 8, 16, 0);
	payload(16);
	save(dir, "mem_straddle");

	start(0); /* bad addresses: payload drained, zeros sent */
	req(NEAR_OP_WRITE_MEM, 8, 5000, 0);
	payload(5000);
	req(NEAR_OP_READ_MEM, 8, 5000, 0);
	req(NEAR_OP_READ_MEM, -4096, 64, 0);
	req(__NR_getpid, 0, 0, 0);
	save(dir, "mem_bad_address");

	start(0); /* a larger read than the sandbox: zeros, -EFAULT */
	req(NEAR_OP_READ_MEM, base, 1 << 20, 0);
	save(dir, "mem_big_read");

	start(0); /* oversized: -EMSGSIZE, then the server hangs up */
	req(__NR_getpid, 0, 0, 0);
	req(NEAR_OP_WRITE_MEM, base, NEAR_PROTO_MEM_MAX + 1ll, 0);
	req(__NR_getpid, 0, 0, 0);
	save(dir, "oversized_write");
	start(0);
	req(NEAR_OP_READ_MEM, base, (int64_t)1 << 62, 0);
	req(__NR_getpid, 0, 0, 0);
	save(dir, "oversized_read");

	start(0); /* end of file inside a payload */
	req(__NR_getpid, 0, 0, 0);
	req(NEAR_OP_WRITE_MEM, base, 1000, 0);
	payload(100);
	save(dir, "eof_in_payload");

	start(0); /* a partial request at the end */
	req(__NR_getpid, 0, 0, 0);
	bytes(NULL, 30, 0x41);
	save(dir, "partial_tail");

	start(7); /* more than one batch, then a payload across the buffer end */
	for (int i = 0; i < 120; i++)
		req(i % 3 ? __NR_getpid : NEAR_OP_TAKEOVER, i, 0, 0);
	req(NEAR_OP_WRITE_MEM, base + 4096, 1000, 0);
	payload(1000);
	req(NEAR_OP_READ_MEM, base + 4096, 1000, 0);
	save(dir, "batches");
	return 0;
}
