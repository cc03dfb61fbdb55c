// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include "harness.h"

int fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	const char *const *extra = *state;
	int r;

	assert_non_null(f);
	r = server_start(&f->srv, extra);
	if (r < 0) {
		fprintf(stderr, "cannot start %s: %d\n", server_exe(), r);
		free(f);
		return -1;
	}
	must_connect(&f->ctl, f->srv.path);
	*state = f;
	return 0;
}

int fixture_teardown(void **state)
{
	struct fixture *f = *state;

	ctl_close(&f->ctl);
	server_stop(&f->srv);
	free(f);
	return 0;
}

void must_connect(struct ctl *c, const char *path)
{
	int r = ctl_connect(c, path);

	if (r < 0)
		fail_msg("connect %s: %d (%s)", path, r, c->why);
}

uint64_t remote_map(struct ctl *c, size_t len)
{
	int64_t addr = ctl_call(c, __NR_mmap, 0, (int64_t)len, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(addr > 0);
	return (uint64_t)addr;
}
