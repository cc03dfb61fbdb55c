// SPDX-License-Identifier: MIT
/* Refusing a server we cannot speak to, and saying why. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
#include <near/proto.h>
#include <near/syscall.h>

static struct near_hello good(void)
{
	struct near_hello h;

	memset(&h, 0, sizeof h);
	h.magic = NEAR_PROTO_MAGIC;
	h.version = NEAR_PROTO_VERSION;
	h.arch = NEAR_ARCH_ID;
	h.pid = 42;
	return h;
}

static void layout(void **state)
{
	(void)state;
	assert_int_equal(offsetof(struct near_request, args), 8);
	assert_int_equal(offsetof(struct near_hello, epoch), 16);
	assert_int_equal(offsetof(struct near_hello, refusal), 36);
	assert_int_equal(offsetof(struct near_hello, entry_clone), 40);
	assert_int_equal(offsetof(struct near_hello, reason), 56);
	assert_memory_equal(&(uint64_t){ NEAR_PROTO_MAGIC }, "PERSIST\n", 8);
}

static void accepts_good(void **state)
{
	struct near_hello h = good();
	char why[128] = "x";

	(void)state;
	assert_int_equal(near_hello_check(&h, why, sizeof why), 0);
	assert_string_equal(why, "");
	assert_int_equal(near_hello_check(&h, NULL, 0), 0);
}

static void refuses_each_mismatch(void **state)
{
	struct near_hello h;
	char why[128];

	(void)state;
	h = good();
	h.magic = 0x4854535048; /* "HPSTH": some other protocol */
	assert_int_equal(near_hello_check(&h, why, sizeof why), -EPROTO);
	assert_non_null(strstr(why, "not a persist server"));

	h = good();
	h.version = NEAR_PROTO_VERSION + 1;
	assert_int_equal(near_hello_check(&h, why, sizeof why), -EPROTONOSUPPORT);
	assert_non_null(strstr(why, "version"));

	h = good();
	h.arch = NEAR_ARCH_ID == 1 ? 2 : 1;
	assert_int_equal(near_hello_check(&h, why, sizeof why), -ENOEXEC);
	assert_non_null(strstr(why, "architecture"));
	assert_non_null(strstr(why, NEAR_ARCH_ID == 1 ? "aarch64" : "x86_64"));
}

static void reports_refusal(void **state)
{
	struct near_hello h = good();
	char why[160];

	(void)state;
	h.refusal = -EACCES;
	memcpy(h.reason, "uid 7 may not control this server", 34);
	assert_int_equal(near_hello_check(&h, why, sizeof why), -EACCES);
	assert_non_null(strstr(why, "uid 7 may not"));

	/* A reason without terminator and a nonsense refusal stay safe. */
	memset(h.reason, 'A', sizeof h.reason);
	h.refusal = 12345;
	assert_int_equal(near_hello_check(&h, why, sizeof why), -ECONNREFUSED);
	assert_true(strlen(why) < sizeof why);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(layout),
		cmocka_unit_test(accepts_good),
		cmocka_unit_test(refuses_each_mismatch),
		cmocka_unit_test(reports_refusal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
