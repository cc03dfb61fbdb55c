// SPDX-License-Identifier: MIT
/* The generated syscall and errno tables. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <asm/unistd.h>
#include <cmocka.h>
#include "internal.h"

static void known_syscalls(void **state)
{
	(void)state;
	assert_int_equal(near_syscall_number("getpid"), __NR_getpid);
	assert_int_equal(near_syscall_number("openat"), __NR_openat);
	assert_int_equal(near_syscall_number("SYS_openat"), __NR_openat);
	assert_int_equal(near_syscall_number("__NR_clone3"), __NR_clone3);
	assert_string_equal(near_syscall_name(__NR_pidfd_open), "pidfd_open");
	assert_string_equal(near_syscall_name(__NR_process_vm_writev), "process_vm_writev");
}

static void unknown_syscalls(void **state)
{
	(void)state;
	assert_int_equal(near_syscall_number("no_such_syscall"), -ENOENT);
	assert_int_equal(near_syscall_number(""), -ENOENT);
	assert_int_equal(near_syscall_number(NULL), -EINVAL);
	assert_null(near_syscall_name(-1));
	assert_null(near_syscall_name(100000));
	/* Markers in the headers are not syscalls. */
	assert_int_equal(near_syscall_number("syscalls"), -ENOENT);
}

/* Every entry round-trips, and the table is as large as the headers say. */
static void table_is_consistent(void **state)
{
	unsigned named = 0;

	(void)state;
	assert_true(near_syscall_count() > 300);
	for (long nr = 0; nr < 1024; nr++) {
		const char *name = near_syscall_name(nr);
		if (!name)
			continue;
		named++;
		assert_int_equal(near_syscall_number(name), nr);
	}
	assert_int_equal(named, near_syscall_count());
}

static void errno_names(void **state)
{
	(void)state;
	assert_string_equal(near_errno_name(ENOENT), "ENOENT");
	assert_string_equal(near_errno_name(-ENOENT), "ENOENT");
	assert_string_equal(near_errno_name(EAGAIN), "EAGAIN");
	assert_string_equal(near_errno_name(EHWPOISON), "EHWPOISON");
	assert_null(near_errno_name(0));
	assert_null(near_errno_name(4095));
	assert_int_equal(near_errno_number("EPERM"), EPERM);
	assert_int_equal(near_errno_number("EWOULDBLOCK"), EAGAIN);
	assert_int_equal(near_errno_number("EDEADLOCK"), EDEADLK);
	assert_int_equal(near_errno_number("ENOTANERRNO"), -ENOENT);
	/* Linux leaves 41 and 58 unused; every other value up to
	 * EHWPOISON has a name that maps back to it. */
	for (int e = 1; e <= EHWPOISON; e++) {
		const char *name = near_errno_name(e);
		if (e == 41 || e == 58) {
			assert_null(name);
			continue;
		}
		assert_non_null(name);
		assert_int_equal(near_errno_number(name), e);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(known_syscalls),
		cmocka_unit_test(unknown_syscalls),
		cmocka_unit_test(table_is_consistent),
		cmocka_unit_test(errno_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
