/* SPDX-License-Identifier: MIT */
/* Shared cmocka glue for the integration tests: one persist-server per test
 * in a fresh 0700 directory, a connected controller, clean teardown. */
#ifndef PERSIST_TESTS_HARNESS_H
#define PERSIST_TESTS_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <asm/unistd.h>
#include "ctl.h"
#include "spawn.h"

struct fixture {
	struct server srv;
	struct ctl ctl;
};

/* cmocka setup/teardown: start a server (extra args from *state if set,
 * a NULL-terminated array) and connect to it. */
int fixture_setup(void **state);
int fixture_teardown(void **state);

/* Map a page-aligned scratch region in the server.  Returns: its address. */
uint64_t remote_map(struct ctl *c, size_t len);

/* Connect, failing the test with the server's reason if that fails. */
void must_connect(struct ctl *c, const char *path);

#endif
