// SPDX-License-Identifier: MIT
/* The syscall connection: blocking, pipelined and non-blocking use, and
 * how the end of a connection is reported. */
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <asm/unistd.h>
#include <cmocka.h>
#include <transport/mem.h>
#include "peer.h"

static void blocking_calls(void **state)
{
	struct peer p;
	struct near_request q;
	int64_t res;

	(void)state;
	assert_int_equal(peer_start(&p, PEER_FORK), 0);
	assert_int_equal(transport_hello(p.c)->pid, p.pid);
	assert_int_equal(transport_call(p.c, near_request_set(&q, __NR_getpid, 0, 0, 0, 0, 0, 0), &res), 0);
	assert_int_equal(res, p.pid);
	assert_int_equal(transport_syscall(p.c, __NR_close, 9999, 0, 0, 0, 0, 0), -EBADF);
	assert_int_equal(transport_syscall(p.c, __NR_getppid, 0, 0, 0, 0, 0, 0), getpid());
	/* Through the generic sysif too. */
	assert_int_equal(near_sysif_syscall(transport_sysif(p.c), __NR_getpid, 0, 0, 0, 0, 0, 0), p.pid);
	assert_int_equal(peer_stop(&p), 0);
}

static void pipelined(void **state)
{
	enum { N = 1000 };
	struct peer p;
	struct near_request q;
	int64_t res;

	(void)state;
	assert_int_equal(peer_start(&p, PEER_FORK), 0);
	for (int i = 0; i < N; i++)
		assert_int_equal(transport_submit(p.c, near_request_set(&q, i % 2 ? __NR_getpid : __NR_getppid,
									 0, 0, 0, 0, 0, 0)), 0);
	assert_int_equal(transport_outstanding(p.c), N);
	/* A blocking call would take an earlier answer: refused. */
	assert_int_equal(transport_call(p.c, &q, &res), -EBUSY);
	for (int i = 0; i < N; i++) {
		assert_int_equal(transport_wait(p.c, &res), 0);
		assert_int_equal(res, i % 2 ? p.pid : getpid());
	}
	assert_int_equal(transport_wait(p.c, &res), -EAGAIN);
	assert_int_equal(peer_stop(&p), 0);
}

/* An event loop of our own: poll the connection's fd for its events. */
static void non_blocking(void **state)
{
	enum { N = 64 };
	struct peer p;
	struct near_request q;
	int64_t res;
	int got = 0, rounds = 0;

	(void)state;
	assert_int_equal(peer_start(&p, PEER_FORK), 0);
	for (int i = 0; i < N; i++)
		assert_int_equal(transport_submit(p.c, near_request_set(&q, __NR_getpid, 0, 0, 0, 0, 0, 0)), 0);
	assert_int_equal(transport_result(p.c, &res), -EAGAIN); /* nothing sent yet */
	assert_true(transport_events(p.c) & POLLOUT);
	while (got < N) {
		struct pollfd pf = { transport_fd(p.c), transport_events(p.c), 0 };
		assert_true(pf.events != 0);
		assert_int_equal(poll(&pf, 1, 5000), 1);
		assert_int_equal(transport_io(p.c), 0);
		while (transport_result(p.c, &res) == 0) {
			assert_int_equal(res, p.pid);
			got++;
		}
		assert_true(++rounds < 10000);
	}
	assert_int_equal(transport_events(p.c), 0);
	assert_int_equal(peer_stop(&p), 0);
}

/* exit_group's hangup is its success; what follows was sent but never
 * answered (unknown), and what comes after the end was never sent. */
static void end_of_connection(void **state)
{
	struct peer p;
	struct near_request q;
	int64_t res;
	int status;

	(void)state;
	assert_int_equal(peer_start(&p, PEER_FORK), 0);
	assert_int_equal(transport_submit(p.c, near_request_set(&q, __NR_getpid, 0, 0, 0, 0, 0, 0)), 0);
	assert_int_equal(transport_submit(p.c, near_request_set(&q, __NR_exit_group, 4, 0, 0, 0, 0, 0)), 0);
	assert_int_equal(transport_submit(p.c, near_request_set(&q, __NR_getpid, 0, 0, 0, 0, 0, 0)), 0);
	assert_int_equal(transport_wait(p.c, &res), 0);
	assert_int_equal(res, p.pid);
	assert_int_equal(transport_wait(p.c, &res), 0);
	assert_int_equal(res, 0);
	assert_int_equal(transport_wait(p.c, &res), -ECONNRESET);
	assert_int_equal(transport_call(p.c, near_request_set(&q, __NR_getpid, 0, 0, 0, 0, 0, 0), &res),
			 -ENOTCONN);
	assert_int_equal(transport_submit(p.c, &q), -ENOTCONN);
	status = peer_stop(&p);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 4);
}

/* The server dies while a syscall runs: an error, not a hang. */
static void server_killed_mid_call(void **state)
{
	struct peer p;
	struct near_request q;
	int64_t res;

	(void)state;
	assert_int_equal(peer_start(&p, PEER_FORK), 0);
	assert_int_equal(transport_submit(p.c, near_request_set(&q, __NR_pause, 0, 0, 0, 0, 0, 0)), 0);
	assert_int_equal(transport_flush(p.c), 0);
	kill(p.pid, SIGKILL);
	assert_int_equal(transport_wait(p.c, &res), -ECONNRESET);
	peer_stop(&p);
}

/* Through the sysif: a syscall's own -ECONNRESET and the connection's
 * are the same number, and only near_sysif_failed tells them apart. */
static void sysif_tells_transport_failure(void **state)
{
	struct peer p;
	struct near_sysif *s;
	uint64_t mem;
	int sv[2], status;
	char b[8];
	pid_t killer;

	(void)state;
	assert_int_equal(peer_start(&p, PEER_FORK), 0);
	s = transport_sysif(p.c);
	assert_int_equal(near_sysif_failed(s), 0);
	assert_int_equal(near_sysif_syscall(s, __NR_close, -1, 0, 0, 0, 0, 0), -EBADF);
	assert_int_equal(near_sysif_failed(s), 0);
	/* A bad address is the server's answer, not a failure. */
	assert_int_equal(s->ops->read_mem(s, b, 8, sizeof b), -EFAULT);
	assert_int_equal(near_sysif_failed(s), 0);
	/* A socket in the server whose peer closed with unread data: its
	 * recv answers -ECONNRESET, and the connection is fine. */
	assert_int_equal(transport_alloc(p.c, 64, &mem), 0);
	assert_int_equal(near_sysif_syscall(s, __NR_socketpair, AF_UNIX, SOCK_STREAM, 0,
					    (int64_t)mem, 0, 0), 0);
	assert_int_equal(s->ops->read_mem(s, sv, mem, sizeof sv), 0);
	assert_int_equal(near_sysif_syscall(s, __NR_write, sv[0], (int64_t)mem, 1, 0, 0, 0), 1);
	assert_int_equal(near_sysif_syscall(s, __NR_close, sv[1], 0, 0, 0, 0, 0), 0);
	assert_int_equal(near_sysif_syscall(s, __NR_recvfrom, sv[0], (int64_t)mem, 1,
					    MSG_DONTWAIT, 0, 0), -ECONNRESET);
	assert_int_equal(near_sysif_failed(s), 0);
	assert_int_equal(near_sysif_syscall(s, __NR_close, sv[0], 0, 0, 0, 0, 0), 0);
	/* The server dies while a syscall runs: sent, and no answer. */
	killer = fork();
	assert_true(killer >= 0);
	if (killer == 0) {
		usleep(100 * 1000);
		kill(p.pid, SIGKILL);
		_exit(0);
	}
	assert_int_equal(near_sysif_syscall(s, __NR_pause, 0, 0, 0, 0, 0, 0), -ECONNRESET);
	assert_int_equal(near_sysif_failed(s), -ECONNRESET);
	assert_int_equal(waitpid(killer, &status, 0), killer);
	/* From now on nothing is sent; the field names each call's fate. */
	assert_int_equal(near_sysif_syscall(s, __NR_close, -1, 0, 0, 0, 0, 0), -ENOTCONN);
	assert_int_equal(near_sysif_failed(s), -ENOTCONN);
	near_sysif_reset(s);
	assert_int_equal(near_sysif_failed(s), 0);
	assert_true(s->ops->write_mem(s, mem, b, sizeof b) < 0);
	assert_true(near_sysif_failed(s) < 0);
	near_sysif_reset(s);
	assert_int_equal(s->ops->submit(s, &(struct near_request){ __NR_getpid, { 0 } }), -ENOTCONN);
	assert_int_equal(near_sysif_failed(s), -ENOTCONN);
	peer_stop(&p);
}

/* exit_group's hangup is its success through the sysif too. */
static void sysif_exit_is_no_failure(void **state)
{
	struct peer p;
	struct near_sysif *s;
	int status;

	(void)state;
	assert_int_equal(peer_start(&p, PEER_FORK), 0);
	s = transport_sysif(p.c);
	assert_int_equal(near_sysif_syscall(s, __NR_exit_group, 3, 0, 0, 0, 0, 0), 0);
	assert_int_equal(near_sysif_failed(s), 0);
	assert_int_equal(near_sysif_syscall(s, __NR_getpid, 0, 0, 0, 0, 0, 0), -ENOTCONN);
	assert_int_equal(near_sysif_failed(s), -ENOTCONN);
	status = peer_stop(&p);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 3);
}

static void deadlines(void **state)
{
	struct transport_conn *c;
	char why[128];
	int sv[2];
	struct peer p;
	struct near_request q;
	int64_t res;

	(void)state;
	/* A peer that never says hello. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(transport_attach(sv[0], 100, &c, why, sizeof why), -ETIMEDOUT);
	assert_non_null(strstr(why, "no hello"));
	close(sv[1]);
	/* No server at all. */
	assert_int_equal(transport_connect("/nonexistent/sock", 100, &c, why, sizeof why), -ENOENT);
	assert_non_null(strstr(why, "/nonexistent/sock"));
	/* A syscall that outlives the connection's deadline. */
	assert_int_equal(peer_start(&p, PEER_FORK), 0);
	transport_set_timeout(p.c, 100);
	assert_int_equal(transport_call(p.c, near_request_set(&q, __NR_pause, 0, 0, 0, 0, 0, 0), &res),
			 -ETIMEDOUT);
	kill(p.pid, SIGKILL);
	peer_stop(&p);
}

struct traced {
	int calls;
	int64_t last_nr, last_result;
};

static void hook(void *arg, const struct transport_conn *c, const struct near_request *req,
		 int64_t result)
{
	struct traced *t = arg;

	(void)c;
	t->calls++;
	t->last_nr = req->nr;
	t->last_result = result;
}

static void tracing(void **state)
{
	struct traced t = { 0 };
	struct peer p;

	(void)state;
	assert_int_equal(peer_start(&p, PEER_FORK), 0);
	transport_set_trace(p.c, hook, &t);
	transport_syscall(p.c, __NR_getpid, 0, 0, 0, 0, 0, 0);
	transport_syscall(p.c, __NR_close, 9999, 0, 0, 0, 0, 0);
	assert_int_equal(t.calls, 2);
	assert_int_equal(t.last_nr, __NR_close);
	assert_int_equal(t.last_result, -EBADF);
	transport_set_trace(p.c, NULL, NULL);
	transport_syscall(p.c, __NR_getpid, 0, 0, 0, 0, 0, 0);
	assert_int_equal(t.calls, 2);
	assert_int_equal(peer_stop(&p), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(blocking_calls),
		cmocka_unit_test(pipelined),
		cmocka_unit_test(non_blocking),
		cmocka_unit_test(end_of_connection),
		cmocka_unit_test(server_killed_mid_call),
		cmocka_unit_test(sysif_tells_transport_failure),
		cmocka_unit_test(sysif_exit_is_no_failure),
		cmocka_unit_test(deadlines),
		cmocka_unit_test(tracing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
