// SPDX-License-Identifier: MIT
/* The host identity of a thread's record (schema 3): kept, read back,
 * listed, and a store of schema 2 brought to 3 with its records kept. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "store_fixture.h"

static void test_host_roundtrip(void **state)
{
	struct fixture *f = *state;
	struct persist_thread_rec far = { .socket_path = "b.example:/tmp/persist-0/sock",
					  .pid = 7, .starttime = 99, .host = "b.example",
					  .boot_id = "0f4c-boot", .pidns = "pid:[4026532178]" };
	struct persist_thread_rec here = { .socket_path = "/run/a/sock", .pid = 8, .starttime = 1 };
	struct persist_thread_rec back, *all;
	size_t n;

	assert_int_equal(persist_store_thread_put(f->st, &far), 0);
	assert_int_equal(persist_store_thread_put(f->st, &here), 0);
	assert_int_equal(persist_store_thread_get(f->st, far.id, &back), 0);
	assert_string_equal(back.host, "b.example");
	assert_string_equal(back.boot_id, "0f4c-boot");
	assert_string_equal(back.pidns, "pid:[4026532178]");
	persist_thread_rec_clear(&back);
	assert_int_equal(persist_store_thread_find(f->st, "/run/a/sock", &back), 0);
	assert_null(back.host);
	assert_null(back.boot_id);
	persist_thread_rec_clear(&back);
	/* The same far path on another host is another thread. */
	far.id = 0;
	far.socket_path = "c.example:/tmp/persist-0/sock";
	far.host = "c.example";
	assert_int_equal(persist_store_thread_put(f->st, &far), 0);
	assert_int_equal(persist_store_thread_list(f->st, &all, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(all[0].host, "b.example");
	assert_null(all[1].host);
	assert_string_equal(all[2].host, "c.example");
	persist_thread_recs_free(all, n);
}

static void test_upgrade_from_3(void **state)
{
	struct fixture *f = *state;
	struct persist_thread_rec t = { .socket_path = "/run/old/sock", .pid = 9, .starttime = 5 };
	struct persist_thread_rec back;
	struct persist_store *st;
	char err[256] = "", v[64];

	assert_int_equal(persist_store_thread_put(f->st, &t), 0);
	persist_store_close(f->st);
	f->st = NULL;
	raw_query(f->path, "ALTER TABLE threads DROP COLUMN host", v, sizeof v);
	raw_query(f->path, "ALTER TABLE threads DROP COLUMN boot_id", v, sizeof v);
	raw_query(f->path, "ALTER TABLE threads DROP COLUMN pidns", v, sizeof v);
	raw_query(f->path, "PRAGMA user_version = 3", v, sizeof v);
	raw_query(f->path, "SELECT count(*) FROM pragma_table_info('threads')", v, sizeof v);
	assert_string_equal(v, "6");
	assert_int_equal(persist_store_open(f->path, 0, &st, err, sizeof err), 0);
	f->st = st;
	raw_query(f->path, "PRAGMA user_version", v, sizeof v);
	assert_int_equal(atoi(v), PERSIST_STORE_SCHEMA);
	assert_int_equal(persist_store_thread_find(st, "/run/old/sock", &back), 0);
	assert_int_equal(back.pid, 9);
	assert_null(back.host);
	persist_thread_rec_clear(&back);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_host_roundtrip, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_upgrade_from_3, fixture_setup, fixture_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
