// SPDX-License-Identifier: MIT
/* Fd handle ownership: adopt, for_task, move, inherit, close, invalidate. */
#include <sched.h>
#include <signal.h>
#include "common.h"

TASK_FIXTURE

static void open_null(struct handle_fd *h, struct handle_task *task)
{
	static char path[] = "/dev/null";
	struct handle_ptr p = local_ptr(task, path, sizeof path);

	assert_int_equal(handle_openat(h, task, NULL, &p, O_RDWR | O_CLOEXEC, 0), 0);
	assert_true(is_open(h->fd));
}

static void adopt_and_close(void **state)
{
	struct handle_fd h, again;
	int n;

	(void)state;
	open_null(&h, &t);
	assert_int_equal(handle_fd_refs(&h), 1);
	assert_int_equal(handle_fd_adopt(&again, &t, h.fd), -EEXIST);
	assert_int_equal(handle_fd_adopt(&again, &t, -1), -EBADF);
	n = h.fd;
	assert_int_equal(handle_fd_close(&h), 0);
	assert_false(is_open(n));
	/* An invalid handle is refused everywhere, never undefined. */
	assert_false(handle_fd_valid(&h));
	assert_int_equal(handle_fd_close(&h), -EBADF);
	assert_int_equal(handle_fd_invalidate(&h), -EBADF);
	assert_int_equal(handle_fd_refs(&h), -EBADF);
	assert_int_equal(handle_read(&h, NULL), -EBADF);
	assert_int_equal(handle_fd_for_task(&again, &h, &t), -EBADF);
	assert_int_equal(handle_fd_move(&again, &h, &t), -EBADF);
	memset(&again, 0, sizeof again); /* all-zero is invalid too */
	assert_int_equal(handle_write(&again, NULL), -EBADF);
}

static void shared_table(void **state)
{
	struct handle_task t2;
	struct handle_fd a, b, c;
	int n;

	(void)state;
	/* Another task record of the same table (here: the same process). */
	assert_int_equal(handle_task_init_child(&t2, &t, t.sysif, getpid(),
						CLONE_FILES | CLONE_VM), 0);
	assert_true(handle_task_same_files(&t, &t2));
	open_null(&a, &t);
	n = a.fd;
	assert_int_equal(handle_fd_for_task(&b, &a, &t2), 0);
	assert_ptr_equal(b.task, &t2);
	assert_int_equal(b.fd, n);
	assert_int_equal(handle_fd_refs(&a), 2);
	/* close is refused while another handle owns the fd */
	assert_int_equal(handle_fd_close(&a), -EBUSY);
	assert_true(handle_fd_valid(&a));
	assert_true(is_open(n));
	/* invalidating one of two handles leaves the fd open */
	assert_int_equal(handle_fd_invalidate(&a), 0);
	assert_true(is_open(n));
	assert_int_equal(handle_fd_refs(&b), 1);
	/* move: the source becomes invalid and nothing is closed */
	assert_int_equal(handle_fd_move(&c, &b, &t), 0);
	assert_false(handle_fd_valid(&b));
	assert_ptr_equal(c.task, &t);
	assert_int_equal(handle_fd_refs(&c), 1);
	assert_true(is_open(n));
	/* move in place, to the other task */
	assert_int_equal(handle_fd_move(&c, &c, &t2), 0);
	assert_ptr_equal(c.task, &t2);
	/* invalidating the last handle closes the fd */
	assert_int_equal(handle_fd_invalidate(&c), 0);
	assert_false(is_open(n));
	/* closing a task record invalidates its handles without closing */
	open_null(&a, &t2);
	n = a.fd;
	handle_task_close(&t2);
	assert_false(handle_fd_valid(&a));
	assert_true(is_open(n));
	assert_int_equal(handle_fd_adopt(&a, &t, n), 0);
	assert_int_equal(handle_fd_close(&a), 0);
}

/* A child held on a pipe: a task of another fd table. */
static void other_table(void **state)
{
	struct handle_task other;
	struct handle_fd a, b;
	struct far_fd far;
	struct near_fd near;
	int p[2], status;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(p), 0);
	pid = fork();
	if (pid == 0) {
		char ch;
		close(p[1]);
		_exit(read(p[0], &ch, 1) < 0);
	}
	close(p[0]);
	assert_int_equal(handle_task_init(&other, t.sysif, pid), 0);
	assert_false(handle_task_same_files(&t, &other));
	/* init_child refuses a claim the kernel contradicts */
	{
		struct handle_task bad;
		assert_int_equal(handle_task_init_child(&bad, &t, t.sysif, pid, CLONE_FILES),
				 -EXDEV);
	}
	open_null(&a, &t);
	assert_int_equal(handle_fd_for_task(&b, &a, &other), -EXDEV);
	assert_int_equal(handle_fd_move(&b, &a, &other), -EXDEV);
	assert_true(handle_fd_valid(&a));
	/* inherit wants a copy of a's table, and other is not recorded as one */
	assert_int_equal(handle_fd_inherit(&b, &a, &other), -EXDEV);
	/* far identifiers agree */
	assert_int_equal(handle_fd_far(&a, &far), 0);
	assert_int_equal(far_fd_to_near(&far, handle_task_fd_table(&other), &near), -EXDEV);
	assert_int_equal(far_fd_to_near(&far, handle_task_fd_table(&t), &near), 0);
	assert_int_equal(near.fd, a.fd);
	assert_int_equal(handle_fd_close(&a), 0);
	handle_task_close(&other);
	close(p[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
}

/* In a forked child: the parent's records came along with the memory, so
 * the child records itself as a copy of the parent's table and inherits. */
static struct handle_fd before;

static int inherit_child(void)
{
	struct near_local_sysif cls;
	struct handle_task child, twin;
	struct handle_fd h, h2, after;
	char buf[4] = "";
	struct handle_ptr p;

	CHECK(handle_task_init_child(&child, &t, near_local_sysif_init(&cls), getpid(), 0) == 0);
	CHECK(!handle_task_same_files(&t, &child));
	CHECK(handle_fd_inherit(&h, &before, &child) == 0);
	CHECK(h.task == &child && h.fd == before.fd);
	/* a second inherit of the same number shares the entry */
	CHECK(handle_fd_inherit(&h2, &before, &child) == 0);
	CHECK(handle_fd_refs(&h) == 2);
	CHECK(handle_fd_close(&h) == -EBUSY);
	CHECK(handle_fd_invalidate(&h2) == 0);
	CHECK(handle_ptr_local(&p, &child, buf, 3) == 0);
	CHECK(handle_read(&h, &p) == 3 && memcmp(buf, "abc", 3) == 0);
	/* an fd of the parent's table opened after the copy is refused */
	{
		static char path[] = "/dev/null";
		struct handle_ptr pp;
		CHECK(handle_ptr_local(&pp, &t, path, sizeof path) == 0);
		CHECK(handle_openat(&after, &t, NULL, &pp, O_RDONLY, 0) == 0);
		CHECK(handle_fd_inherit(&h2, &after, &child) == -EBADF);
	}
	CHECK(handle_fd_close(&h) == 0);
	/* the child closed its copy: inheriting that number again is refused */
	CHECK(handle_fd_inherit(&h, &before, &child) == -EBADF);
	/* only into a copy of the source's table */
	CHECK(handle_task_init(&twin, t.sysif, 0) == 0);
	CHECK(handle_fd_inherit(&h, &before, &twin) == -EXDEV);
	handle_task_close(&twin);
	handle_task_close(&child);
	return 0;
}

static void inherit(void **state)
{
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "abcabc", 6), 6);
	assert_int_equal(handle_fd_adopt(&before, &t, p[0]), 0);
	in_child(inherit_child);
	/* the child's close did not touch ours */
	assert_true(is_open(p[0]));
	{
		char buf[8];
		struct handle_ptr b = local_ptr(&t, buf, sizeof buf);
		assert_int_equal(handle_read(&before, &b), 3); /* the child read 3 */
	}
	assert_int_equal(handle_fd_close(&before), 0);
	close(p[1]);
}

/* A task whose pid namespace the caller gives: nothing is read from /proc
 * (a pid that no process has still gets its record), and the task works. */
static void task_with_known_ns(void **state)
{
	struct far_ns ours, mnt = { FAR_NS_MNT, 1, 1 };
	struct handle_task k;
	struct handle_fd h;
	int none = 4194304 + 1; /* above any pid_max (2^22) */

	(void)state;
	assert_int_equal(far_ns_of(0, FAR_NS_PID, &ours), 0);
	assert_int_equal(handle_task_init(&k, t.sysif, none), -ESRCH);
	assert_int_equal(handle_task_init_ns(&k, t.sysif, none, &ours), 0);
	assert_int_equal(k.pid, none);
	assert_true(far_ns_equal(&k.pidns, &ours));
	handle_task_close(&k);
	assert_int_equal(handle_task_init_ns(&k, t.sysif, none, &mnt), -EINVAL);
	assert_int_equal(handle_task_init_ns(&k, t.sysif, 0, &ours), -EINVAL);
	assert_int_equal(handle_task_init_ns(&k, t.sysif, none, NULL), -EINVAL);
	/* Ourselves, named with our namespace: a task like any other. */
	assert_int_equal(handle_task_init_ns(&k, t.sysif, getpid(), &ours), 0);
	open_null(&h, &k);
	assert_int_equal(handle_fd_close(&h), 0);
	handle_task_close(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(adopt_and_close),
		cmocka_unit_test(shared_table),
		cmocka_unit_test(other_table),
		cmocka_unit_test(inherit),
		cmocka_unit_test(task_with_known_ns),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
