// SPDX-License-Identifier: MIT
/* Namespaces as identities, checked against the kernel with real processes. */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/kcmp.h>
#include <cmocka.h>
#include <near/syscall.h>
#include <far/far.h>

/* A child that waits on a pipe until we let it go.  With CLONE_FILES the
 * child shares our fd table, so neither side may close an end the other
 * needs: the child only reads, and waits for a byte rather than for end of
 * file (our write end is its write end too). */
struct held {
	pid_t pid;
	int go, wait;
};

static void hold(struct held *h, unsigned long clone_flags)
{
	int p[2];
	char c;

	assert_int_equal(pipe(p), 0);
	h->pid = (pid_t)syscall(SYS_clone, clone_flags | SIGCHLD, 0, 0, 0, 0);
	assert_true(h->pid >= 0);
	if (h->pid == 0) {
		if (!(clone_flags & CLONE_FILES))
			close(p[1]);
		(void)!read(p[0], &c, 1);
		_exit(0);
	}
	h->go = p[1];
	h->wait = p[0];
	if (!(clone_flags & CLONE_FILES)) {
		close(p[0]);
		h->wait = -1;
	}
}

static void release(struct held *h)
{
	assert_int_equal(write(h->go, "", 1), 1);
	assert_int_equal(waitpid(h->pid, NULL, 0), h->pid);
	close(h->go);
	if (h->wait >= 0)
		close(h->wait);
}

static void namespaces(void **state)
{
	struct far_ns self, mine, child, x;
	struct held h;

	(void)state;
	assert_int_equal(far_ns_of(0, FAR_NS_PID, &self), 0);
	assert_int_equal(far_ns_of(getpid(), FAR_NS_PID, &mine), 0);
	assert_true(far_ns_equal(&self, &mine));
	hold(&h, 0);
	assert_int_equal(far_ns_of(h.pid, FAR_NS_NET, &child), 0);
	assert_int_equal(far_ns_of(0, FAR_NS_NET, &x), 0);
	assert_true(far_ns_equal(&child, &x));
	assert_false(far_ns_equal(&child, &self)); /* another kind */
	release(&h);
	for (int k = 0; k < FAR_NS_KINDS; k++) {
		assert_non_null(far_ns_name((enum far_ns_kind)k));
		assert_int_equal(far_ns_of(0, (enum far_ns_kind)k, &x), 0);
	}
	assert_null(far_ns_name(FAR_NS_KINDS));
	assert_int_equal(far_ns_of(0, FAR_NS_KINDS, &x), -EINVAL);
	assert_int_equal(far_ns_of(-1, FAR_NS_PID, &x), -EINVAL);
	assert_int_equal(far_ns_of(h.pid, FAR_NS_PID, &x), -ESRCH); /* reaped */
}

/* Root only: a child in a new network namespace is told apart. */
static void new_namespace_differs(void **state)
{
	struct far_ns a, b;
	struct held h;

	(void)state;
	if (geteuid() != 0)
		skip();
	hold(&h, CLONE_NEWNET | CLONE_NEWUTS);
	assert_int_equal(far_ns_of(h.pid, FAR_NS_NET, &a), 0);
	assert_int_equal(far_ns_of(0, FAR_NS_NET, &b), 0);
	assert_false(far_ns_equal(&a, &b));
	assert_int_equal(far_ns_of(h.pid, FAR_NS_PID, &a), 0);
	assert_int_equal(far_ns_of(0, FAR_NS_PID, &b), 0);
	assert_true(far_ns_equal(&a, &b));
	release(&h);
}

static void fd_tables_and_address_spaces(void **state)
{
	struct far_fd_table t;
	struct far_address_space as;
	struct held copy, shared;

	(void)state;
	far_fd_table_init(&t, getpid());
	far_address_space_init(&as, getpid());
	assert_int_equal(far_fd_table_check(&t, getpid()), 0);
	assert_int_equal(far_address_space_check(&as, getpid()), 0);

	hold(&copy, 0); /* fork: its own copy of both */
	assert_int_equal(far_fd_table_check(&t, copy.pid), -EXDEV);
	assert_int_equal(far_address_space_check(&as, copy.pid), -EXDEV);
	if (!getenv("PERSIST_VALGRIND")) {
		/* valgrind runs no clone(CLONE_FILES) that is not a thread. */
		hold(&shared, CLONE_FILES); /* shares our fd table only */
		assert_int_equal(far_fd_table_check(&t, shared.pid), 0);
		assert_int_equal(far_address_space_check(&as, shared.pid), -EXDEV);
		assert_int_equal(far_kcmp_same(copy.pid, shared.pid, KCMP_FILES), 1);
		release(&shared);
	}
	release(&copy);
	assert_int_equal(far_fd_table_check(&t, copy.pid), -ESRCH);
}

static int vm_child(void *arg)
{
	(void)arg;
	near_syscall1(SYS_pause, 0);
	return 0;
}

static void clone_vm_shares_address_space(void **state)
{
	enum { SZ = 64 * 1024 };
	struct far_address_space as;
	char *stack;
	long pid;

	(void)state;
	if (getenv("PERSIST_VALGRIND"))
		skip(); /* valgrind cannot run a CLONE_VM non-thread child */
	stack = mmap(NULL, SZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pid = near_clone(CLONE_VM | SIGCHLD, stack + SZ, vm_child, NULL);
	assert_true(pid > 0);
	far_address_space_init(&as, getpid());
	assert_int_equal(far_address_space_check(&as, (int)pid), 0);
	kill((pid_t)pid, SIGKILL);
	waitpid((pid_t)pid, NULL, 0);
	munmap(stack, SZ);
}

static void far_identifiers(void **state)
{
	struct far_fd_table t1, t2;
	struct far_address_space a1, a2;
	struct far_fd fd = { &t1, near_fd(5) };
	struct far_ptr p = { &a1, near_addr(0x1000) };
	struct far_pid pid;
	struct far_ns other;
	struct near_fd nfd;
	struct near_addr na;
	struct near_pid np;

	(void)state;
	far_fd_table_init(&t1, getpid());
	far_fd_table_init(&t2, getpid()); /* same task, another identity */
	far_address_space_init(&a1, getpid());
	far_address_space_init(&a2, getpid());
	assert_int_equal(far_fd_to_near(&fd, &t1, &nfd), 0);
	assert_int_equal(nfd.fd, 5);
	assert_int_equal(far_fd_to_near(&fd, &t2, &nfd), -EXDEV);
	assert_int_equal(far_ptr_to_near(&p, &a1, &na), 0);
	assert_int_equal(na.addr, 0x1000);
	assert_int_equal(far_ptr_to_near(&p, &a2, &na), -EXDEV);
	assert_int_equal(far_ns_of(0, FAR_NS_PID, &pid.pidns), 0);
	pid.near = near_pid(getpid());
	assert_int_equal(far_pid_to_near(&pid, &pid.pidns, &np), 0);
	assert_int_equal(np.pid, getpid());
	other = pid.pidns;
	other.ino++;
	assert_int_equal(far_pid_to_near(&pid, &other, &np), -EXDEV);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(namespaces),
		cmocka_unit_test(new_namespace_differs),
		cmocka_unit_test(fd_tables_and_address_spaces),
		cmocka_unit_test(clone_vm_shares_address_space),
		cmocka_unit_test(far_identifiers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
