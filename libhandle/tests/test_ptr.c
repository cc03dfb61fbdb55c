// SPDX-License-Identifier: MIT
/* Pointers: range checks, and refusal across address spaces. */
#include <sched.h>
#include "common.h"

static void ranges(void **state)
{
	struct near_local_sysif ls;
	struct handle_task t, same;
	struct handle_ptr p, s;
	char buf[16] = "0123456789abcdef", out[16];
	uint64_t a;

	(void)state;
	assert_int_equal(handle_task_init(&t, near_local_sysif_init(&ls), 0), 0);
	assert_int_equal(handle_task_is_local(&t), 1);
	p = local_ptr(&t, buf, sizeof buf);
	assert_int_equal(handle_ptr_write(&p, &t, 4, "XY", 2), 0);
	assert_int_equal(handle_ptr_read(&p, &t, 3, out, 4), 0);
	assert_memory_equal(out, "3XY6", 4);
	/* beyond the size, or wrapping around: -EFAULT, memory untouched */
	assert_int_equal(handle_ptr_read(&p, &t, 15, out, 2), -EFAULT);
	assert_int_equal(handle_ptr_write(&p, &t, 17, "Z", 1), -EFAULT);
	assert_int_equal(handle_ptr_write(&p, &t, 8, "Z", SIZE_MAX), -EFAULT);
	assert_int_equal(handle_ptr_slice(&s, &p, 10, 7), -EFAULT);
	assert_int_equal(handle_ptr_slice(&s, &p, 10, 6), 0);
	assert_int_equal(handle_ptr_read(&s, &t, 0, out, 6), 0);
	assert_memory_equal(out, "abcdef", 6);
	assert_int_equal(handle_ptr_addr(&s, &t, 7, &a), -EFAULT);
	assert_int_equal(handle_ptr_addr(&s, &t, 6, &a), 0);
	assert_true(a == (uint64_t)(uintptr_t)(buf + 10));
	/* a task sharing the address space may use it */
	assert_int_equal(handle_task_init_child(&same, &t, t.sysif, getpid(),
						CLONE_VM | CLONE_FILES), 0);
	assert_int_equal(handle_ptr_read(&p, &same, 0, out, 1), 0);
	handle_task_close(&same);
	handle_task_close(&t);
}

static void other_address_space(void **state)
{
	struct near_local_sysif ls;
	struct handle_task t, other;
	struct handle_ptr p, q;
	char buf[8] = "", out[8];
	int pp[2], status;
	pid_t pid;

	(void)state;
	assert_int_equal(handle_task_init(&t, near_local_sysif_init(&ls), 0), 0);
	assert_int_equal(pipe(pp), 0);
	pid = fork();
	if (pid == 0) {
		close(pp[1]);
		_exit(read(pp[0], buf, 1) < 0);
	}
	close(pp[0]);
	assert_int_equal(handle_task_init(&other, t.sysif, pid), 0);
	assert_int_equal(handle_task_is_local(&other), 0);
	p = local_ptr(&t, buf, sizeof buf);
	assert_int_equal(handle_ptr_read(&p, &other, 0, out, 1), -EXDEV);
	assert_int_equal(handle_ptr_write(&p, &other, 0, "x", 1), -EXDEV);
	assert_int_equal(handle_ptr_local(&q, &other, buf, sizeof buf), -EXDEV);
	/* a wrapper refuses before any syscall */
	assert_int_equal(handle_umask(&t, 022) >= 0, 1);
	assert_int_equal(handle_chdir(&other, &p), -EXDEV);
	assert_int_equal(handle_fd_table_gc(&other, NULL), -EXDEV);
	/* a pointer made for the other task is refused in ours */
	handle_ptr_init(&q, &other, 0x1000, 8);
	assert_int_equal(handle_ptr_read(&q, &t, 0, out, 1), -EXDEV);
	handle_task_close(&other);
	close(pp[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	handle_task_close(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ranges),
		cmocka_unit_test(other_address_space),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
