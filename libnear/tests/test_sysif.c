// SPDX-License-Identifier: MIT
/* Raw syscalls, near_clone, and the local sysif. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <asm/unistd.h>
#include <cmocka.h>
#include <near/sysif.h>
#include <near/syscall.h>
#include <near/types.h>

static void raw_syscalls(void **state)
{
	int p[2];
	char buf[4] = "";

	(void)state;
	errno = 0;
	assert_int_equal(near_syscall0(__NR_getpid), getpid());
	assert_int_equal(near_syscall(__NR_getppid, 0, 0, 0, 0, 0, 0), getppid());
	assert_int_equal(near_syscall4(__NR_openat, AT_FDCWD, (long)"/nonexistent", O_RDONLY, 0),
			 -ENOENT);
	assert_int_equal(errno, 0); /* raw calls never touch errno */
	assert_int_equal(near_syscall2(__NR_pipe2, (long)p, O_CLOEXEC), 0);
	assert_int_equal(near_syscall3(__NR_write, p[1], (long)"abc", 3), 3);
	assert_int_equal(near_syscall3(__NR_read, p[0], (long)buf, 3), 3);
	assert_string_equal(buf, "abc");
	close(p[0]);
	close(p[1]);
}

static int shared_flag;
static int child_fn(void *arg)
{
	/* Raw syscalls only: this runs on our memory with our TLS. */
	shared_flag = *(int *)arg;
	return (int)near_syscall0(__NR_getppid) == *(int *)arg ? 5 : 6;
}

static void clone_vm_child(void **state)
{
	enum { SZ = 64 * 1024 };
	char *stack = mmap(NULL, SZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int me = getpid(), status;
	long pid;

	(void)state;
	if (getenv("PERSIST_VALGRIND"))
		skip(); /* valgrind cannot run a CLONE_VM non-thread child */
	assert_true(stack != MAP_FAILED);
	pid = near_clone(CLONE_VM | SIGCHLD, stack + SZ, child_fn, &me);
	assert_true(pid > 0);
	assert_int_equal(waitpid((pid_t)pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 5);
	assert_int_equal(shared_flag, me); /* the child wrote our memory */
	assert_true(near_clone(~0UL, stack + SZ, child_fn, &me) < 0);
	munmap(stack, SZ);
}

static void local_sysif(void **state)
{
	struct near_local_sysif l;
	struct near_sysif *s = near_local_sysif_init(&l);
	struct near_request req;
	int64_t r;
	char buf[8] = "", src[8] = "payload";

	(void)state;
	assert_int_equal(near_sysif_syscall(s, __NR_getpid, 0, 0, 0, 0, 0, 0), getpid());
	assert_int_equal(s->ops->complete(s, &r), -EAGAIN);
	for (int i = 0; i < NEAR_LOCAL_QUEUE; i++)
		assert_int_equal(s->ops->submit(s, near_request_set(&req, i % 2 ? __NR_getpid : __NR_getppid,
								     0, 0, 0, 0, 0, 0)), 0);
	assert_int_equal(s->ops->submit(s, &req), -EAGAIN);
	for (int i = 0; i < NEAR_LOCAL_QUEUE; i++) {
		assert_int_equal(s->ops->complete(s, &r), 0);
		assert_int_equal(r, i % 2 ? getpid() : getppid());
	}
	assert_int_equal(s->ops->complete(s, &r), -EAGAIN);
	assert_int_equal(s->ops->write_mem(s, (uint64_t)(uintptr_t)buf, src, sizeof src), 0);
	assert_string_equal(buf, "payload");
	memset(src, 0, sizeof src);
	assert_int_equal(s->ops->read_mem(s, src, (uint64_t)(uintptr_t)buf, sizeof buf), 0);
	assert_string_equal(src, "payload");
	assert_int_equal(s->ops->syscall(s, near_request_set(&req, NEAR_OP_READ_MEM, 0, 0, 0, 0, 0, 0)),
			 -ENOSYS);
	/* Errors here are the syscalls' own: the local sysif never fails. */
	assert_int_equal(near_sysif_syscall(s, __NR_close, -1, 0, 0, 0, 0, 0), -EBADF);
	assert_int_equal(near_sysif_failed(s), 0);
	s->ops->close(s);
}

/* A sysif whose transport dies after `alive` calls, to show what the
 * failure field means to a caller. */
struct dying {
	struct near_sysif base;
	int alive;
};

static int64_t dying_syscall(struct near_sysif *s, const struct near_request *r)
{
	struct dying *d = (struct dying *)s;

	if (d->alive-- > 0)
		return near_syscall6(r->nr, r->args[0], r->args[1], r->args[2],
				     r->args[3], r->args[4], r->args[5]);
	/* The transport's own failure, in the same channel as results. */
	return near_sysif_fail(s, d->alive == -1 ? -ECONNRESET : -ENOTCONN);
}

static const struct near_sysif_ops dying_ops = { .syscall = dying_syscall };

static void failure_is_told_apart(void **state)
{
	struct dying d = { { &dying_ops, 0 }, 1 };
	struct near_sysif *s = &d.base;

	(void)state;
	/* recv(2) itself can answer -ECONNRESET: only the field tells. */
	assert_int_equal(near_sysif_syscall(s, __NR_close, -1, 0, 0, 0, 0, 0), -EBADF);
	assert_int_equal(near_sysif_failed(s), 0);
	assert_int_equal(near_sysif_syscall(s, __NR_close, -1, 0, 0, 0, 0, 0), -ECONNRESET);
	assert_int_equal(near_sysif_failed(s), -ECONNRESET);
	/* The latest failure is kept: the next call's request was not sent. */
	assert_int_equal(near_sysif_syscall(s, __NR_getpid, 0, 0, 0, 0, 0, 0), -ENOTCONN);
	assert_int_equal(near_sysif_failed(s), -ENOTCONN);
	near_sysif_reset(s);
	assert_int_equal(near_sysif_failed(s), 0);
	/* Sticky: a success after a failure does not clear it. */
	d.alive = 1;
	assert_int_equal(near_sysif_fail(s, -EBUSY), -EBUSY);
	assert_int_equal(near_sysif_syscall(s, __NR_getpid, 0, 0, 0, 0, 0, 0), getpid());
	assert_int_equal(near_sysif_failed(s), -EBUSY);
}

static void near_types(void **state)
{
	struct near_fd fd = near_fd(3);
	struct near_pid pid = near_pid(77);
	struct near_addr a = near_addr(0x1000);

	(void)state;
	assert_int_equal(near_arg(fd), 3);
	assert_int_equal(near_arg(pid), 77);
	assert_int_equal(near_arg(a), 0x1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(raw_syscalls),
		cmocka_unit_test(clone_vm_child),
		cmocka_unit_test(local_sysif),
		cmocka_unit_test(failure_is_told_apart),
		cmocka_unit_test(near_types),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
