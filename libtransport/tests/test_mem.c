// SPDX-License-Identifier: MIT
/* Memory transports (chosen by proof, each moving real bytes), the remote
 * allocator, and batches of writes plus a syscall in one round trip. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <asm/unistd.h>
#include <cmocka.h>
#include <transport/mem.h>
#include "peer.h"

enum { BIG = 1 << 20 };
static unsigned char out[BIG], in[BIG];

/* 1 MiB there and back, a bad address, and the stream still in step. */
static void round_trip(struct transport_conn *c, int pid)
{
	uint64_t addr;

	for (size_t i = 0; i < BIG; i++)
		out[i] = (unsigned char)(i * 13 + (i >> 12));
	assert_int_equal(transport_alloc(c, BIG, &addr), 0);
	assert_int_equal(transport_write_mem(c, addr, out, BIG), 0);
	memset(in, 0, BIG);
	assert_int_equal(transport_read_mem(c, in, addr, BIG), 0);
	assert_memory_equal(in, out, BIG);
	assert_int_equal(transport_write_mem(c, 8, out, 100), -EFAULT);
	assert_int_equal(transport_read_mem(c, in, 8, 100), -EFAULT);
	assert_int_equal(transport_syscall(c, __NR_getpid, 0, 0, 0, 0, 0, 0), pid);
	assert_int_equal(transport_free(c, addr), 0);
}

static void another_address_space(void **state)
{
	struct peer p;

	(void)state;
	assert_int_equal(peer_start(&p, PEER_FORK), 0);
	/* Our own child, same uid: process_vm is proven valid. */
	assert_int_equal(transport_mem_kind(p.c), TRANSPORT_MEM_PROCESS_VM);
	assert_int_equal(transport_mem_use(p.c, TRANSPORT_MEM_LOCAL), -EXDEV);
	round_trip(p.c, p.pid);
	assert_int_equal(transport_mem_use(p.c, TRANSPORT_MEM_INBAND), 0);
	round_trip(p.c, p.pid);
	assert_string_equal(transport_mem_kind_name(transport_mem_kind(p.c)), "in-band");
	assert_int_equal(peer_stop(&p), 0);
}

static void shared_address_space(void **state)
{
	static char here[32];
	struct peer p;

	(void)state;
	if (getenv("PERSIST_VALGRIND"))
		skip(); /* valgrind cannot run a CLONE_VM non-thread child */
	assert_int_equal(peer_start(&p, PEER_CLONE_VM), 0);
	assert_int_equal(transport_mem_kind(p.c), TRANSPORT_MEM_LOCAL);
	/* Local means ours: a write lands in our variable. */
	assert_int_equal(transport_write_mem(p.c, (uint64_t)(uintptr_t)here, "shared", 7), 0);
	assert_string_equal(here, "shared");
	round_trip(p.c, p.pid);
	assert_int_equal(transport_mem_use(p.c, TRANSPORT_MEM_INBAND), 0);
	round_trip(p.c, p.pid);
	assert_int_equal(peer_stop(&p), 0);
}

static void allocator(void **state)
{
	enum { N = 200 };
	uint64_t a[N], big;
	struct peer p;

	(void)state;
	assert_int_equal(peer_start(&p, PEER_FORK), 0);
	for (int i = 0; i < N; i++) {
		char tag[16];
		assert_int_equal(transport_alloc(p.c, (size_t)(i % 7) * 100 + 1, &a[i]), 0);
		assert_int_equal(a[i] % 16, 0);
		for (int j = 0; j < i; j++)
			assert_true(a[i] != a[j]);
		snprintf(tag, sizeof tag, "block %d", i);
		assert_int_equal(transport_write_mem(p.c, a[i], tag, strlen(tag) + 1), 0);
	}
	for (int i = 0; i < N; i++) {
		char tag[16], back[16];
		snprintf(tag, sizeof tag, "block %d", i);
		assert_int_equal(transport_read_mem(p.c, back, a[i], strlen(tag) + 1), 0);
		assert_string_equal(back, tag); /* no block overlapped another */
	}
	assert_int_equal(transport_free(p.c, a[10]), 0);
	assert_int_equal(transport_free(p.c, a[10]), -EINVAL);
	assert_int_equal(transport_alloc(p.c, 1, &a[10]), 0); /* the gap is reused */
	assert_int_equal(transport_alloc(p.c, 3 << 20, &big), 0); /* its own arena */
	assert_int_equal(transport_write_mem(p.c, big + (3 << 20) - 4, "end", 4), 0);
	assert_int_equal(peer_stop(&p), 0);
}

static void batch_in_one_round_trip(void **state)
{
	static const char path[] = "/nonexistent/persist";
	static const char dev[] = "/dev/null";
	struct transport_buf b;
	struct near_request q;
	uint64_t at;
	int64_t res;
	struct peer p;

	(void)state;
	assert_int_equal(peer_start(&p, PEER_FORK), 0);
	assert_int_equal(transport_mem_use(p.c, TRANSPORT_MEM_INBAND), 0);
	assert_int_equal(transport_alloc(p.c, 64, &at), 0);
	b = (struct transport_buf){ at, path, sizeof path };
	near_request_set(&q, __NR_openat, AT_FDCWD, (int64_t)at, O_RDONLY, 0, 0, 0);
	assert_int_equal(transport_batch(p.c, &b, 1, &q, &res), 0);
	assert_int_equal(res, -ENOENT);
	b = (struct transport_buf){ at, dev, sizeof dev };
	assert_int_equal(transport_batch(p.c, &b, 1, &q, &res), 0);
	assert_true(res >= 0);
	assert_int_equal(transport_syscall(p.c, __NR_close, res, 0, 0, 0, 0, 0), 0);
	/* A bad buffer address: the syscall still runs, the batch says -EFAULT. */
	b = (struct transport_buf){ 8, dev, sizeof dev };
	near_request_set(&q, __NR_getpid, 0, 0, 0, 0, 0, 0);
	assert_int_equal(transport_batch(p.c, &b, 1, &q, &res), -EFAULT);
	assert_int_equal(res, p.pid);
	assert_int_equal(peer_stop(&p), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(another_address_space),
		cmocka_unit_test(shared_address_space),
		cmocka_unit_test(allocator),
		cmocka_unit_test(batch_in_one_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
