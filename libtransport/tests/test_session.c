// SPDX-License-Identifier: MIT
/* Starting a process inside the server (NEAR_OP_FORK), taking an fd out of
 * it (NEAR_OP_SEND_FD), and an execve that keeps the connection. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <asm/unistd.h>
#include <cmocka.h>
#include <transport/mem.h>
#include "peer.h"

/* A socketpair made in the server.  Returns its two fds through sv. */
static void remote_socketpair(struct transport_conn *c, int sv[2])
{
	uint64_t at;

	assert_int_equal(transport_alloc(c, 2 * sizeof(int), &at), 0);
	assert_int_equal(transport_syscall(c, __NR_socketpair, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC,
					   0, (int64_t)at, 0, 0), 0);
	assert_int_equal(transport_read_mem(c, sv, at, 2 * sizeof(int)), 0);
	transport_free(c, at);
}

/* A child of the server, served on its own connection.  The child's
 * connection is sv[1] in it; it also inherited sv[0], the server's end,
 * which it must close or it would never see our end of file. */
static struct transport_conn *start_child(struct transport_conn *c, int *pid, int sv[2])
{
	struct transport_conn *child;
	int local;

	remote_socketpair(c, sv);
	assert_int_equal(transport_fork(c, sv[1], pid), 0);
	assert_int_equal(transport_syscall(c, __NR_close, sv[1], 0, 0, 0, 0, 0), 0);
	assert_int_equal(transport_take_fd(c, sv[0], &local), 0);
	assert_int_equal(transport_syscall(c, __NR_close, sv[0], 0, 0, 0, 0, 0), 0);
	assert_int_equal(transport_attach(local, 5000, &child, NULL, 0), 0);
	assert_int_equal(transport_syscall(child, __NR_close, sv[0], 0, 0, 0, 0, 0), 0);
	return child;
}

static int64_t reap(struct transport_conn *c, int pid)
{
	uint64_t at;
	int status = -1;

	assert_int_equal(transport_alloc(c, sizeof(int), &at), 0);
	assert_int_equal(transport_syscall(c, __NR_wait4, pid, (int64_t)at, 0, 0, 0, 0), pid);
	assert_int_equal(transport_read_mem(c, &status, at, sizeof status), 0);
	transport_free(c, at);
	return status;
}

static void fork_a_child_and_exec(void **state)
{
	static const char bad[] = "/nonexistent/program", good[] = "/bin/true";
	struct transport_conn *child;
	struct peer p;
	struct near_request q;
	uint64_t path, argv;
	int64_t res;
	int pid, sv[2];

	(void)state;
	assert_int_equal(peer_start(&p, PEER_FORK), 0);
	child = start_child(p.c, &pid, sv);
	assert_int_equal(transport_hello(child)->pid, pid);
	assert_int_equal(transport_syscall(child, __NR_getppid, 0, 0, 0, 0, 0, 0), p.pid);
	assert_int_equal(transport_syscall(child, __NR_getpid, 0, 0, 0, 0, 0, 0), pid);
	/* The server still serves its own controller meanwhile. */
	assert_int_equal(transport_syscall(p.c, __NR_getpid, 0, 0, 0, 0, 0, 0), p.pid);

	/* A failed exec is an answer with its errno, not a hang. */
	assert_int_equal(transport_alloc(child, 64, &path), 0);
	assert_int_equal(transport_alloc(child, 2 * sizeof(uint64_t), &argv), 0);
	assert_int_equal(transport_write_mem(child, path, bad, sizeof bad), 0);
	assert_int_equal(transport_write_mem(child, argv, &(uint64_t[2]){ path, 0 }, 16), 0);
	assert_int_equal(transport_syscall(child, __NR_execve, (int64_t)path, (int64_t)argv, 0, 0, 0, 0),
			 -ENOENT);
	/* A successful one ends the connection (close-on-exec): success. */
	assert_int_equal(transport_write_mem(child, path, good, sizeof good), 0);
	assert_int_equal(transport_call(child, near_request_set(&q, __NR_execve, (int64_t)path,
								 (int64_t)argv, 0, 0, 0, 0), &res), 0);
	assert_int_equal(res, 0);
	transport_close(child);
	assert_int_equal(reap(p.c, pid), 0); /* /bin/true exited 0 */
	assert_int_equal(peer_stop(&p), 0);
}

static void refusals(void **state)
{
	struct peer p;
	int fd, pid;

	(void)state;
	assert_int_equal(peer_start(&p, PEER_FORK), 0);
	assert_int_equal(transport_take_fd(p.c, 999, &fd), -EBADF);
	assert_int_equal(transport_fork(p.c, 999, &pid), -ENOTSOCK);
	assert_int_equal(transport_fork(p.c, -1, &pid), -EBADF);
	/* The connection is still in step. */
	assert_int_equal(transport_syscall(p.c, __NR_getpid, 0, 0, 0, 0, 0, 0), p.pid);
	/* An fd of the server, now ours: a pipe written there, read here. */
	{
		int pipefd[2];
		uint64_t at;
		char buf[8] = "";
		assert_int_equal(transport_alloc(p.c, 8, &at), 0);
		assert_int_equal(transport_syscall(p.c, __NR_pipe2, (int64_t)at, O_CLOEXEC, 0, 0, 0, 0), 0);
		assert_int_equal(transport_read_mem(p.c, pipefd, at, 8), 0);
		assert_int_equal(transport_take_fd(p.c, pipefd[0], &fd), 0);
		assert_int_equal(transport_write_mem(p.c, at, "hello", 6), 0);
		assert_int_equal(transport_syscall(p.c, __NR_write, pipefd[1], (int64_t)at, 6, 0, 0, 0), 6);
		assert_int_equal(read(fd, buf, sizeof buf), 6);
		assert_string_equal(buf, "hello");
		assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
		close(fd);
	}
	assert_int_equal(peer_stop(&p), 0);
}

/* The child execs persist-server on its connection: the connection lives
 * on, greeted by the new program (what make_persistent does). */
static void exec_keeping_the_connection(void **state)
{
	struct transport_conn *child;
	struct near_request q;
	struct peer p;
	uint64_t path, argv, fdarg;
	char num[16];
	int64_t res;
	int pid, sv[2], conn_fd;

	(void)state;
	assert_int_equal(peer_start(&p, PEER_FORK), 0);
	child = start_child(p.c, &pid, sv);
	conn_fd = sv[1];
	assert_int_equal(transport_syscall(child, __NR_fcntl, conn_fd, F_SETFD, 0, 0, 0, 0), 0);
	snprintf(num, sizeof num, "%d", conn_fd);
	assert_int_equal(transport_alloc(child, 256, &path), 0);
	assert_int_equal(transport_alloc(child, 4 * sizeof(uint64_t), &argv), 0);
	assert_int_equal(transport_alloc(child, 16, &fdarg), 0);
	assert_int_equal(transport_write_mem(child, path, PERSIST_SERVER_EXE, sizeof PERSIST_SERVER_EXE), 0);
	assert_int_equal(transport_write_mem(child, fdarg, num, strlen(num) + 1), 0);
	{
		uint64_t opt, v[4];
		assert_int_equal(transport_alloc(child, 8, &opt), 0);
		assert_int_equal(transport_write_mem(child, opt, "--fd", 5), 0);
		v[0] = path, v[1] = opt, v[2] = fdarg, v[3] = 0;
		assert_int_equal(transport_write_mem(child, argv, v, sizeof v), 0);
	}
	assert_int_equal(transport_exec(child, near_request_set(&q, __NR_execve, (int64_t)path,
								 (int64_t)argv, 0, 0, 0, 0), &res), 0);
	assert_int_equal(res, 0);
	assert_int_equal(transport_hello(child)->pid, pid); /* execve keeps the pid */
	assert_int_equal(transport_syscall(child, __NR_getpid, 0, 0, 0, 0, 0, 0), pid);
	assert_int_equal(transport_syscall(child, __NR_getppid, 0, 0, 0, 0, 0, 0), p.pid);
	transport_close(child); /* its end of file ends that server */
	assert_int_equal(reap(p.c, pid), 0);
	assert_int_equal(peer_stop(&p), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fork_a_child_and_exec),
		cmocka_unit_test(refusals),
		cmocka_unit_test(exec_keeping_the_connection),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
