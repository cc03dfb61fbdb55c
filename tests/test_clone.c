// SPDX-License-Identifier: MIT
/* The same controller against the server loop running in a CLONE_VM child
 * of the test: shared memory, shared thread pointer, its own fd table. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <near/syscall.h>
#include <pserver/pserver.h>
#include "harness.h"

#define STACK_SIZE (256 * 1024)

struct child {
	struct pserver srv;
	void *stack;
	pid_t pid;
};

/* Start the loop in a CLONE_VM child serving conn_fd, then listen_fd. */
static void child_start(struct child *ch, int conn_fd, int listen_fd)
{
	pserver_init(&ch->srv);
	ch->srv.conn_fd = conn_fd;
	ch->srv.listen_fd = listen_fd;
	ch->stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	assert_true(ch->stack != MAP_FAILED);
	ch->pid = (pid_t)near_clone(CLONE_VM | SIGCHLD, (char *)ch->stack + STACK_SIZE,
				    pserver_clone_main, &ch->srv);
	assert_true(ch->pid > 0);
}

static int child_reap(struct child *ch)
{
	int status = -1;

	assert_int_equal(waitpid(ch->pid, &status, 0), ch->pid);
	munmap(ch->stack, STACK_SIZE);
	return status;
}

static void serves_over_socketpair(void **state)
{
	static struct child ch; /* the child writes into it: keep it off our stack */
	static char shared[64];
	static const char msg[] = "written by the child into our memory";
	enum { N = 1000 };
	static struct near_request reqs[N];
	static int64_t rets[N];
	struct ctl c;
	int sv[2];
	char back[sizeof msg];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	child_start(&ch, sv[1], -1);
	close(sv[1]); /* the child has its own copy of the fd table */
	assert_int_equal(ctl_attach(&c, sv[0]), 0);
	assert_int_equal(c.hello.pid, ch.pid);
	assert_int_equal(ctl_call(&c, __NR_getpid, 0, 0, 0, 0, 0, 0), ch.pid);
	assert_int_equal(ctl_call(&c, __NR_getppid, 0, 0, 0, 0, 0, 0), getpid());

	/* The address space is shared: a write to our buffer through the
	 * child shows up here without being copied back. */
	assert_int_equal(ctl_write_mem(&c, (uint64_t)(uintptr_t)shared, msg, sizeof msg),
			 sizeof msg);
	assert_string_equal(shared, msg);
	assert_int_equal(ctl_read_mem(&c, (uint64_t)(uintptr_t)shared, back, sizeof back),
			 sizeof back);
	assert_memory_equal(back, msg, sizeof msg);

	/* The child copied our fd table at clone time, so it holds our end
	 * too; close its copy (or it would never see end of file) and check
	 * that the tables are separate: ours stays open. */
	assert_int_equal(ctl_call(&c, __NR_close, sv[0], 0, 0, 0, 0, 0), 0);
	assert_int_equal(ctl_call(&c, __NR_fcntl, sv[0], F_GETFD, 0, 0, 0, 0), -EBADF);
	assert_true(fcntl(sv[0], F_GETFD) >= 0);

	for (int i = 0; i < N; i++)
		near_request_set(&reqs[i], __NR_getpid, 0, 0, 0, 0, 0, 0);
	assert_int_equal(ctl_send(&c, reqs, N), 0);
	assert_int_equal(ctl_recv(&c, rets, N), 0);
	for (int i = 0; i < N; i++)
		assert_int_equal(rets[i], ch.pid);

	ctl_close(&c); /* EOF and no listener: the loop returns 0 */
	assert_int_equal(child_reap(&ch), 0);
}

static void persists_across_connections(void **state)
{
	static struct child ch;
	struct server dirs = { 0 };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ctl c;
	int lfd, status;
	int64_t epoch;

	(void)state;
	strcpy(dirs.dir, "/tmp/persist-clone-XXXXXX");
	assert_non_null(mkdtemp(dirs.dir));
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s/sock", dirs.dir);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(lfd, 8), 0);
	child_start(&ch, -1, lfd);
	close(lfd);

	must_connect(&c, sa.sun_path);
	epoch = (int64_t)c.hello.epoch;
	assert_int_equal(ctl_call(&c, __NR_getpid, 0, 0, 0, 0, 0, 0), ch.pid);
	ctl_close(&c);
	must_connect(&c, sa.sun_path);
	assert_true((int64_t)c.hello.epoch > epoch);
	assert_int_equal(ctl_call(&c, __NR_getpid, 0, 0, 0, 0, 0, 0), ch.pid);
	/* Ending the thread is an ordinary syscall: exit(7), no answer. */
	{
		struct near_request req;
		int64_t ret;
		near_request_set(&req, __NR_exit, 7, 0, 0, 0, 0, 0);
		assert_int_equal(ctl_send(&c, &req, 1), 0);
		assert_int_equal(ctl_recv(&c, &ret, 1), -EPIPE);
	}
	ctl_close(&c);
	status = child_reap(&ch);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 7);
	unlink(sa.sun_path);
	rmdir(dirs.dir);
}

int main(void)
{
	if (getenv("PERSIST_VALGRIND")) {
		/* valgrind cannot run a CLONE_VM child that is not a thread. */
		printf("test_clone: skipped under valgrind\n");
		return 0;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(serves_over_socketpair),
		cmocka_unit_test(persists_across_connections),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
