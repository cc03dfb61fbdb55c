// SPDX-License-Identifier: MIT
/* Fd-table GC and unshare_files leave exactly the owned fds; 10,000 handle
 * operations leak nothing.  Each test runs in a forked child, which adopts
 * what it has (stdio, cmocka's) before collecting. */
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include "common.h"

#define MAXH 512

static struct near_local_sysif ls;
static struct handle_task t;
static struct handle_fd kept[MAXH];

static int start(void)
{
	if (handle_task_init(&t, near_local_sysif_init(&ls), 0) < 0)
		return -1;
	return adopt_all(&t, kept, MAXH);
}

static int raw_open(void)
{
	return open("/dev/null", O_RDONLY);
}

static int open_owned(struct handle_fd *h)
{
	return handle_fd_adopt(h, &t, raw_open());
}

static int gc_child(void)
{
	struct handle_fd h[3];
	int nkept = start(), loose[4], i;
	char scratch[512];
	struct handle_ptr sp;

	CHECK(nkept >= 3);
	for (i = 0; i < 3; i++)
		CHECK(open_owned(&h[i]) == 0);
	for (i = 0; i < 4; i++)
		CHECK((loose[i] = raw_open()) >= 0);
	/* close the middle owned one, so owned and unowned interleave */
	CHECK(handle_fd_close(&h[1]) == 0);
	CHECK(handle_fd_table_gc(&t, NULL) == 4);
	for (i = 0; i < 4; i++)
		CHECK(!is_open(loose[i]));
	CHECK(is_open(h[0].fd) && is_open(h[2].fd));
	CHECK(list_fds(NULL, 0) == nkept + 2);
	/* with scratch memory given explicitly (the remote way), and a too
	 * small one refused */
	CHECK((loose[0] = raw_open()) >= 0);
	CHECK(handle_ptr_local(&sp, &t, scratch, 100) == 0);
	CHECK(handle_fd_table_gc(&t, &sp) == -EFAULT);
	CHECK(handle_ptr_local(&sp, &t, scratch, sizeof scratch) == 0);
	CHECK(handle_fd_table_gc(&t, &sp) == 1);
	CHECK(!is_open(loose[0]));
	CHECK(handle_fd_table_gc(&t, &sp) == 0);
	handle_task_close(&t);
	return 0;
}

static void gc_closes_exactly_unowned(void **state)
{
	(void)state;
	in_child(gc_child);
}

/* A clone(CLONE_FILES) child shares our table; it unshares and keeps only
 * its own handles' fds, and our table is untouched. */
static struct handle_fd shared;
static int loose;

static int unshare_grandchild(void)
{
	struct near_local_sysif gls;
	struct handle_task g;
	struct handle_fd mine, err;
	const struct far_fd_table *before;

	CHECK(handle_task_init_child(&g, &t, near_local_sysif_init(&gls), getpid(),
				     CLONE_FILES) == 0);
	CHECK(handle_fd_for_task(&mine, &shared, &g) == 0);
	CHECK(handle_fd_for_task(&err, &kept[0], &g) == 0);
	before = handle_task_fd_table(&g);
	(void)before;
	CHECK(handle_task_unshare_files(&g) == 0);
	CHECK(!handle_task_same_files(&g, &t));
	CHECK(handle_fd_valid(&mine) && handle_fd_refs(&mine) == 1);
	CHECK(is_open(mine.fd) && is_open(err.fd));
	CHECK(!is_open(loose));
	CHECK(list_fds(NULL, 0) == 2);
	/* the handles now belong to the new table */
	CHECK(handle_fd_close(&mine) == 0);
	CHECK(!is_open(shared.fd));
	return 0;
}

static int unshare_child(void)
{
	int nkept = start(), status;
	pid_t pid;

	CHECK(nkept >= 3);
	CHECK(open_owned(&shared) == 0);
	CHECK((loose = raw_open()) >= 0);
	/* valgrind cannot follow a clone(CLONE_FILES) that is not a thread */
	if (!getenv("PERSIST_VALGRIND")) {
		pid = (pid_t)syscall(SYS_clone, CLONE_FILES | SIGCHLD, 0, 0, 0, 0);
		CHECK(pid >= 0);
		if (pid == 0)
			_exit(unshare_grandchild());
		CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		      WEXITSTATUS(status) == 0);
	}
	/* ours: still everything, the unowned one too */
	CHECK(is_open(shared.fd) && is_open(loose));
	CHECK(list_fds(NULL, 0) == nkept + 2);
	/* and unsharing here leaves the owned ones only */
	CHECK(handle_task_unshare_files(&t) == 0);
	CHECK(!is_open(loose) && is_open(shared.fd));
	CHECK(list_fds(NULL, 0) == nkept + 1);
	handle_task_close(&t);
	return 0;
}

static void unshare_files_keeps_owned(void **state)
{
	(void)state;
	in_child(unshare_child);
}

/* 10,000 operations, then the fd count is where it started. */
#define OPS 10000
/* A checked operation, counted. */
#define OP(x) do { CHECK(x); ops++; } while (0)
#define LIVE 32

static int inherit_some(struct handle_fd *live, int n)
{
	struct near_local_sysif cls;
	struct handle_task c;
	struct handle_fd h;
	int i;

	CHECK(handle_task_init_child(&c, &t, near_local_sysif_init(&cls), getpid(), 0) == 0);
	for (i = 0; i < MAXH && handle_fd_valid(&kept[i]); i++)
		CHECK(handle_fd_inherit(&h, &kept[i], &c) == 0);
	for (i = 0; i < n; i++) {
		if (!handle_fd_valid(&live[i]))
			continue;
		CHECK(handle_fd_inherit(&h, &live[i], &c) == 0);
		CHECK(handle_fd_invalidate(&h) == 0);
	}
	CHECK(handle_fd_table_gc(&t, NULL) >= 0);
	return 0;
}

static int churn_child(void)
{
	struct near_local_sysif ls2;
	struct handle_task t2;
	struct handle_fd live[LIVE];
	int nkept = start(), i, status, ops = 0;

	CHECK(nkept >= 3);
	memset(live, 0, sizeof live);
	CHECK(handle_task_init_child(&t2, &t, near_local_sysif_init(&ls2), getpid(),
				     CLONE_FILES | CLONE_VM) == 0);
	for (i = 0; ops < OPS; i++) {
		struct handle_fd *h = &live[i % LIVE], tmp;
		struct handle_fd *o = &live[(i * 7 + 3) % LIVE];

		switch (i % 9) {
		case 0: case 1:
			if (!handle_fd_valid(h))
				OP(open_owned(h) == 0);
			break;
		case 2:
			if (handle_fd_valid(o) && !handle_fd_valid(h))
				OP(handle_dup(h, o, O_CLOEXEC) == 0);
			break;
		case 3:
			if (handle_fd_valid(h)) {
				CHECK(handle_fd_move(&tmp, h, &t2) == 0);
				CHECK(handle_fd_move(h, &tmp, &t) == 0);
				ops += 2;
			}
			break;
		case 4:
			if (handle_fd_valid(h) && !handle_fd_valid(o)) {
				CHECK(handle_fd_for_task(o, h, &t2) == 0);
				CHECK(handle_fd_move(o, o, &t) == 0);
				ops += 2;
			}
			break;
		case 5:
			if (handle_fd_valid(h) && handle_fd_close(h) == -EBUSY)
				OP(handle_fd_invalidate(h) == 0);
			ops++;
			break;
		case 6:
			CHECK(raw_open() >= 0);         /* a leak the GC must find */
			OP(handle_fd_table_gc(&t, NULL) == 1);
			break;
		case 7:
			if (i % 450 == 7) {
				/* unshare: t2's record stays with the old table */
				handle_task_close(&t2);
				CHECK(handle_task_unshare_files(&t) == 0);
				CHECK(handle_task_init_child(&t2, &t, &ls2.base, getpid(),
							     CLONE_FILES | CLONE_VM) == 0);
				ops++;
			}
			break;
		case 8:
			if (i % 900 == 8) {
				pid_t pid = fork();
				CHECK(pid >= 0);
				if (pid == 0)
					_exit(inherit_some(live, LIVE));
				CHECK(waitpid(pid, &status, 0) == pid);
				CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
				ops += LIVE;
			} else if (handle_fd_valid(h)) {
				OP(handle_fd_invalidate(h) == 0);
			}
			break;
		}
	}
	for (i = 0; i < LIVE; i++)
		if (handle_fd_valid(&live[i]))
			CHECK(handle_fd_invalidate(&live[i]) == 0);
	CHECK(handle_fd_table_gc(&t, NULL) == 0);
	CHECK(list_fds(NULL, 0) == nkept);
	handle_task_close(&t2);
	handle_task_close(&t);
	return 0;
}

static void no_leak_over_10000_ops(void **state)
{
	(void)state;
	in_child(churn_child);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(gc_closes_exactly_unowned),
		cmocka_unit_test(unshare_files_keeps_owned),
		cmocka_unit_test(no_leak_over_10000_ops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
