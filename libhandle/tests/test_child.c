// SPDX-License-Identifier: MIT
/* Child handles: clone3 through the task, waitid WNOWAIT, pidfd signals. */
#include <poll.h>
#include <signal.h>
#include <linux/sched.h>
#include "common.h"

TASK_FIXTURE

/* A child that blocks on a pipe, then exits with code; clone3 through the
 * task, or fork where clone3 is not available (valgrind 3.19). */
static pid_t spawn(int *go, int code)
{
	struct clone_args args = { .exit_signal = SIGCHLD };
	struct handle_ptr ap = local_ptr(&t, &args, sizeof args);
	int p[2];
	long pid;
	char ch;

	assert_int_equal(pipe(p), 0);
	pid = getenv("PERSIST_VALGRIND") ? fork() : handle_clone3(&t, &ap);
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[1]);
		_exit(read(p[0], &ch, 1) == 0 ? code : 99);
	}
	close(p[0]);
	*go = p[1];
	return (pid_t)pid;
}

static void wait_exit_status(void **state)
{
	struct handle_child c;
	struct handle_ptr ip;
	siginfo_t si;
	struct pollfd pfd;
	int go;
	pid_t pid = spawn(&go, 7);

	(void)state;
	ip = local_ptr(&t, &si, sizeof si);
	assert_int_equal(handle_child_init(&c, &t, pid), 0);
	/* valgrind 3.19 has no pidfd_open: the handle falls back to the pid */
	assert_true(c.pidfd >= 0 || getenv("PERSIST_VALGRIND"));
	/* nothing yet */
	memset(&si, 0xff, sizeof si);
	assert_int_equal(handle_child_waitid(&c, &ip, WEXITED | WNOHANG), 0);
	assert_int_equal(si.si_pid, 0);
	assert_false(c.reaped);
	close(go);
	/* the controller's pidfd becomes readable when the child ends */
	pfd.fd = c.pidfd;
	pfd.events = POLLIN;
	if (c.pidfd >= 0)
		assert_int_equal(poll(&pfd, 1, 5000), 1);
	/* WNOWAIT reports and leaves it waitable, twice */
	for (int i = 0; i < 2; i++) {
		memset(&si, 0, sizeof si);
		assert_int_equal(handle_child_waitid(&c, &ip, WEXITED | WNOWAIT), 0);
		assert_int_equal(si.si_pid, pid);
		assert_int_equal(si.si_code, CLD_EXITED);
		assert_int_equal(si.si_status, 7);
		assert_false(c.reaped);
	}
	/* then reap: the pid is no longer ours to name */
	assert_int_equal(handle_child_waitid(&c, &ip, WEXITED), 0);
	assert_int_equal(si.si_status, 7);
	assert_true(c.reaped);
	assert_int_equal(handle_child_waitid(&c, &ip, WEXITED), -ECHILD);
	assert_int_equal(handle_child_signal(&c, SIGKILL), -ESRCH);
	handle_child_close(&c);
	assert_int_equal(c.pidfd, -1);
}

static void signal_through_pidfd(void **state)
{
	struct handle_child c;
	struct handle_ptr ip;
	siginfo_t si;
	int go;
	pid_t pid = spawn(&go, 0);

	(void)state;
	ip = local_ptr(&t, &si, sizeof si);
	assert_int_equal(handle_child_init(&c, &t, pid), 0);
	assert_int_equal(handle_child_signal(&c, SIGTERM), 0);
	assert_int_equal(handle_child_waitid(&c, &ip, WEXITED | WNOWAIT), 0);
	assert_int_equal(si.si_code, CLD_KILLED);
	assert_int_equal(si.si_status, SIGTERM);
	/* a zombie takes signals harmlessly, as kill(2) does */
	assert_int_equal(handle_child_signal(&c, SIGTERM), 0);
	assert_int_equal(handle_child_waitid(&c, &ip, WEXITED), 0);
	assert_true(c.reaped);
	handle_child_close(&c);
	close(go);
	/* and a bad infop is refused before waiting */
	{
		struct handle_ptr small = local_ptr(&t, &si, 8);
		pid = spawn(&go, 0);
		assert_int_equal(handle_child_init(&c, &t, pid), 0);
		assert_int_equal(handle_child_waitid(&c, &small, WEXITED), -EFAULT);
		close(go);
		assert_int_equal(handle_child_waitid(&c, &ip, WEXITED), 0);
		assert_int_equal(si.si_status, 0);
		handle_child_close(&c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(wait_exit_status),
		cmocka_unit_test(signal_through_pidfd),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
