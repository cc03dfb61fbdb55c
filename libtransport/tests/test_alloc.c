// SPDX-License-Identifier: MIT
/* The remote allocator when our own malloc fails: the server must not be
 * left holding a mapping we have no record of (nothing could ever free or
 * reuse it).  Built with -Wl,--wrap=malloc (libtransport/Makefile), so the
 * library objects linked into this test call __wrap_malloc below. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <asm/unistd.h>
#include <cmocka.h>
#include <transport/mem.h>
#include "peer.h"

void *__real_malloc(size_t n);

/* 0: malloc works; N > 0: the Nth malloc from now fails (once). */
static int fail_at;

void *__wrap_malloc(size_t n)
{
	if (fail_at > 0 && --fail_at == 0)
		return NULL;
	return __real_malloc(n);
}

/* The mappings made in the server through the connection and not unmapped
 * since, as the trace hook sees the requests go by. */
struct remote_maps {
	int n;
	uint64_t addr[8];
};

static void log_maps(void *arg, const struct transport_conn *c,
		     const struct near_request *q, int64_t result)
{
	struct remote_maps *m = arg;

	(void)c;
	if (q->nr == __NR_mmap && result >= 0 && m->n < 8)
		m->addr[m->n++] = (uint64_t)result;
	if (q->nr == __NR_munmap && result == 0)
		for (int i = 0; i < m->n; i++)
			if (m->addr[i] == (uint64_t)q->args[0])
				m->addr[i] = m->addr[--m->n];
}

/* Returns: 1 if addr starts a mapping of process pid (/proc/PID/maps). */
static int mapped_at(pid_t pid, uint64_t addr)
{
	char path[64], line[512];
	unsigned long lo, hi;
	int found = 0;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
	f = fopen(path, "r");
	assert_non_null(f);
	while (!found && fgets(line, sizeof line, f))
		found = sscanf(line, "%lx-%lx", &lo, &hi) == 2 && lo <= addr && addr < hi;
	fclose(f);
	return found;
}

/* The arena's own record cannot be allocated: -ENOMEM, and no arena left
 * mapped in the server.  With malloc back, the arena that is mapped is seen
 * both by the hook and in the server's maps. */
static void arena_record_fails(void **state)
{
	struct remote_maps m = { 0 };
	uint64_t at = 0;
	struct peer p;

	(void)state;
	assert_int_equal(peer_start(&p, PEER_FORK), 0);
	transport_set_trace(p.c, log_maps, &m);
	fail_at = 1;
	assert_int_equal(transport_alloc(p.c, 64, &at), -ENOMEM);
	fail_at = 0;
	assert_int_equal(m.n, 0);
	assert_int_equal(transport_alloc(p.c, 64, &at), 0);
	assert_int_equal(m.n, 1);
	assert_true(m.addr[0] == at && mapped_at(p.pid, at));
	assert_int_equal(transport_write_mem(p.c, at, "x", 1), 0);
	assert_int_equal(peer_stop(&p), 0);
}

/* The arena is mapped and recorded, then the block's record cannot be
 * allocated: -ENOMEM, and the next allocation uses that arena instead of
 * mapping another. */
static void block_record_fails(void **state)
{
	struct remote_maps m = { 0 };
	uint64_t at = 0;
	struct peer p;

	(void)state;
	assert_int_equal(peer_start(&p, PEER_FORK), 0);
	transport_set_trace(p.c, log_maps, &m);
	fail_at = 2;
	assert_int_equal(transport_alloc(p.c, 64, &at), -ENOMEM);
	assert_int_equal(fail_at, 0);
	assert_int_equal(m.n, 1);
	assert_true(mapped_at(p.pid, m.addr[0]));
	assert_int_equal(transport_alloc(p.c, 64, &at), 0);
	assert_int_equal(m.n, 1);
	assert_true(at == m.addr[0]);
	assert_int_equal(transport_write_mem(p.c, at, "x", 1), 0);
	assert_int_equal(peer_stop(&p), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(arena_record_fails),
		cmocka_unit_test(block_record_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
