// SPDX-License-Identifier: MIT
/* Taking over a server that is inside a blocking syscall for another
 * controller (docs/design.md, decision 6), against the persist-server
 * executable this build made (found beside this test):
 *  - SO_PEERCRED on a controller's freshly connected socket names the
 *    server process itself, before it has accepted anything, whether it
 *    made its socket (--listen), made it and then detached (--daemon), or
 *    was handed one that another process made (--listen-fd);
 *  - a controller killed while the server runs a ppoll that never ends
 *    leaves the server deaf: a newcomer gets no hello, until it sends
 *    SIGURG; then the syscall ends, and the newcomer is greeted and served;
 *  - a live controller blocked in such a call is taken over the same way:
 *    the newcomer's SIGURG ends the call (its answer is -EINTR), the busy
 *    hello comes, NEAR_OP_TAKEOVER is answered, and the old controller
 *    sees end of file;
 *  - a controller whose requests never run dry (the server then reads
 *    without polling) is taken over all the same: a newcomer is greeted
 *    and its takeover answered while the old batches go on;
 *  - a controller that closed its connection and connects again is
 *    served anew (no busy hello, no takeover), even when the server sees
 *    the end and the newcomer at once.
 * The server also stays up through every SIGURG. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <asm/unistd.h>
#include <cmocka.h>
#include <pserver/pserver.h>

/* Valgrind follows the server too (VALGRIND=1): every bound stretches. */
static int deadline_ms(void)
{
	return getenv("PERSIST_VALGRIND") ? 60000 : 5000;
}

static void pause_ms(int ms)
{
	struct timespec ts = { 0, ms * 1000L * 1000L };
	nanosleep(&ts, NULL);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct env {
	char dir[64], path[108], exe[4096];
	pid_t starter;  /* our child: the server, or the --daemon launcher */
	pid_t server;
	pid_t ctl;      /* a forked controller, killed at teardown */
};

static struct env the_env;

/* The executable sits beside this test in the same build directory. */
static int setup(void **state)
{
	struct env *e = &the_env;
	ssize_t n;
	char *slash;

	memset(e, 0, sizeof *e);
	n = readlink("/proc/self/exe", e->exe, sizeof e->exe - 32);
	if (n <= 0)
		return -1;
	e->exe[n] = '\0';
	slash = strrchr(e->exe, '/');
	if (!slash)
		return -1;
	strcpy(slash + 1, "persist-server");
	if (access(e->exe, X_OK) < 0) {
		fprintf(stderr, "no executable at %s\n", e->exe);
		return -1;
	}
	snprintf(e->dir, sizeof e->dir, "/tmp/pserver-takeover-XXXXXX");
	if (!mkdtemp(e->dir))
		return -1;
	snprintf(e->path, sizeof e->path, "%s/sock", e->dir);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	if (e->ctl > 0) {
		kill(e->ctl, SIGKILL);
		waitpid(e->ctl, NULL, 0);
	}
	if (e->server > 0)
		kill(e->server, SIGKILL);
	if (e->starter > 0) {
		kill(e->starter, SIGKILL);
		waitpid(e->starter, NULL, 0);
	}
	unlink(e->path);
	rmdir(e->dir);
	return 0;
}

/* Run the server with args (NULL-terminated); our child. */
static void run_server(struct env *e, const char *const *args)
{
	const char *argv[12] = { e->exe };
	int n = 1;

	while (*args && n < 11)
		argv[n++] = *args++;
	e->starter = fork();
	assert_true(e->starter >= 0);
	if (e->starter == 0) {
		execv(argv[0], (char **)argv);
		_exit(127);
	}
	e->server = e->starter;
}

/* Connect to the server's socket, retrying while it is not there yet.
 * Returns: the connected fd; nothing read from it. */
static int dial(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	for (int waited = 0; waited < deadline_ms(); waited += 5) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		assert_true(fd >= 0);
		if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
			return fd;
		assert_true(errno == ENOENT || errno == ECONNREFUSED);
		close(fd);
		pause_ms(5);
	}
	fail_msg("nobody listens at %s", path);
	return -1;
}

static pid_t peer_pid(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof cr;

	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len), 0);
	return cr.pid;
}

/* Whether fd becomes readable within ms. */
static int readable_within(int fd, int ms)
{
	struct pollfd pf = { fd, POLLIN, 0 };
	int r;

	do
		r = poll(&pf, 1, ms);
	while (r < 0 && errno == EINTR);
	assert_true(r >= 0);
	return r;
}

static void read_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n;

		assert_true(readable_within(fd, deadline_ms()));
		n = read(fd, p, len);
		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
}

static void read_hello(int fd, struct near_hello *h)
{
	read_all(fd, h, sizeof *h);
	assert_int_equal(near_hello_check(h, NULL, 0), 0);
}

static void send_req(int fd, int64_t nr, int64_t a4)
{
	struct near_request q = { nr, { 0, 0, 0, 0, a4, 0 } };

	assert_int_equal(write(fd, &q, sizeof q), (ssize_t)sizeof q);
}

static int64_t answer(int fd)
{
	int64_t r;

	read_all(fd, &r, sizeof r);
	return r;
}

/* A syscall that never returns by itself and needs no memory: ppoll on
 * nothing, without a timeout or mask (the sigset size, 8, unused). */
static void send_forever(int fd)
{
	send_req(fd, __NR_ppoll, 8);
}

/* Until the server sleeps in syscall nr (/proc/PID/syscall) run for the
 * controller: one whose first argument is 0, as send_forever's ppoll has,
 * and never the loop's own wait for requests (a ppoll of an array). */
static void await_in_syscall(pid_t pid, long nr)
{
	char path[64], buf[256];
	long now = -1;
	unsigned long arg0 = 1;

	snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
	for (int waited = 0; waited < deadline_ms(); waited += 2) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n;

		assert_true(fd >= 0);
		n = read(fd, buf, sizeof buf - 1);
		close(fd);
		buf[n > 0 ? n : 0] = '\0';
		if (sscanf(buf, "%ld %lx", &now, &arg0) == 2 && now == nr && arg0 == 0)
			return;
		pause_ms(2);
	}
	fail_msg("server %d is not in syscall %ld (%s)", (int)pid, nr, buf);
}

static int alive(pid_t pid)
{
	char path[64], st[256] = "", *paren;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (!fgets(st, sizeof st, f))
		st[0] = '\0';
	fclose(f);
	paren = strrchr(st, ')');
	return paren && paren[1] == ' ' && paren[2] != 'Z';
}

/* --listen: the server made the socket; SO_PEERCRED names it even while
 * it is stopped, so before it accepted us. */
static void peercred_names_the_listening_server(void **state)
{
	struct env *e = *state;
	struct near_hello h;
	int fd;

	run_server(e, (const char *const[]){ "--listen", e->path, NULL });
	fd = dial(e->path);
	read_hello(fd, &h);
	assert_int_equal(h.pid, e->server);
	close(fd);
	assert_int_equal(kill(e->server, SIGSTOP), 0);
	fd = dial(e->path);
	assert_int_equal(peer_pid(fd), e->server);
	assert_false(readable_within(fd, 0)); /* not accepted: no hello yet */
	assert_int_equal(kill(e->server, SIGCONT), 0);
	read_hello(fd, &h);
	close(fd);
}

/* --daemon: the socket was made by the launcher, which exits; the
 * detached server listens again, so it is the one named. */
static void peercred_names_the_daemon_not_its_launcher(void **state)
{
	struct env *e = *state;
	struct near_hello h;
	int fd, status;

	run_server(e, (const char *const[]){ "--listen", e->path, "--daemon", NULL });
	assert_int_equal(waitpid(e->starter, &status, 0), e->starter);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	fd = dial(e->path);
	read_hello(fd, &h);
	e->server = h.pid;
	e->starter = 0;
	assert_int_not_equal(h.pid, 0);
	assert_int_equal(peer_pid(fd), h.pid);
	close(fd);
}

/* --listen-fd: we made and listened on the socket (as a controller does
 * before make_persistent); once the server runs, it is named, not us. */
static void peercred_names_the_server_of_an_inherited_listener(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct env *e = *state;
	struct near_hello h;
	int lfd, fd;

	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", e->path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(lfd, 8), 0);
	fd = dial(e->path);
	assert_int_equal(peer_pid(fd), getpid()); /* the kernel's rule, before */
	close(fd);
	/* The server must not see that connection: a fresh listener. */
	close(lfd);
	unlink(e->path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(lfd, 8), 0);
	/* At a number of its own, clear of whatever this process holds. */
	assert_int_equal(dup2(lfd, 250), 250);
	close(lfd);
	run_server(e, (const char *const[]){ "--listen-fd", "250", NULL });
	close(250);
	/* The first greeting proves the server runs (and has listened). */
	fd = dial(e->path);
	read_hello(fd, &h);
	assert_int_equal(h.pid, e->server);
	close(fd);
	fd = dial(e->path);
	assert_int_equal(peer_pid(fd), e->server);
	close(fd);
}

/* A controller dies while the server runs its endless ppoll.  A newcomer
 * is not even greeted; SIGURG to the pid SO_PEERCRED names ends the ppoll
 * and the newcomer is served at once. */
static void dead_controllers_syscall_is_interrupted(void **state)
{
	struct env *e = *state;
	struct near_hello h;
	int p[2], fd, status;
	long t0;
	char c;

	run_server(e, (const char *const[]){ "--listen", e->path, NULL });
	assert_int_equal(pipe(p), 0);
	e->ctl = fork();
	assert_true(e->ctl >= 0);
	if (e->ctl == 0) {
		int a = dial(e->path);

		read_hello(a, &h);
		send_forever(a);
		(void)!write(p[1], "r", 1);
		pause(); /* until killed */
		_exit(0);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	await_in_syscall(e->server, __NR_ppoll);
	assert_int_equal(kill(e->ctl, SIGKILL), 0);
	assert_int_equal(waitpid(e->ctl, &status, 0), e->ctl);
	e->ctl = 0;

	fd = dial(e->path);
	/* The bug: nobody accepts while the server sleeps for the dead one. */
	assert_false(readable_within(fd, 200));
	assert_int_equal(peer_pid(fd), e->server);
	t0 = now_ms();
	assert_int_equal(kill(peer_pid(fd), SIGURG), 0);
	read_hello(fd, &h);
	printf("hello %ld ms after SIGURG\n", now_ms() - t0);
	assert_int_equal(h.flags & NEAR_HELLO_BUSY, 0); /* the dead one is gone */
	send_req(fd, __NR_getpid, 0);
	assert_int_equal(answer(fd), e->server);
	/* SIGURG while it waits for requests, or between them, is harmless. */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(kill(e->server, SIGURG), 0);
		send_req(fd, __NR_getpid, 0);
		assert_int_equal(answer(fd), e->server);
	}
	assert_true(alive(e->server));
	assert_int_equal(waitpid(e->server, &status, WNOHANG), 0);
	close(fd);
}

/* A live controller waits for its endless ppoll.  A newcomer's SIGURG
 * ends it (answered -EINTR), the newcomer is greeted busy, and its
 * takeover is answered with its epoch; the old controller then sees end
 * of file. */
static void live_controller_is_taken_over_from_its_syscall(void **state)
{
	struct env *e = *state;
	struct near_hello h, old;
	int a, fd, status;

	run_server(e, (const char *const[]){ "--listen", e->path, NULL });
	a = dial(e->path);
	read_hello(a, &old);
	send_forever(a);
	await_in_syscall(e->server, __NR_ppoll);

	fd = dial(e->path);
	assert_false(readable_within(fd, 200));
	assert_int_equal(kill(peer_pid(fd), SIGURG), 0);
	read_hello(fd, &h);
	assert_int_equal(h.flags & NEAR_HELLO_BUSY, NEAR_HELLO_BUSY);
	assert_true(h.epoch > old.epoch);
	send_req(fd, NEAR_OP_TAKEOVER, 0);
	assert_int_equal(answer(fd), (int64_t)h.epoch);
	send_req(fd, __NR_getpid, 0);
	assert_int_equal(answer(fd), e->server);

	assert_int_equal(answer(a), -EINTR); /* the interrupted ppoll's answer */
	assert_true(readable_within(a, deadline_ms()));
	{
		char byte;
		assert_int_equal(read(a, &byte, 1), 0); /* then end of file */
	}
	close(a);
	assert_true(alive(e->server));
	assert_int_equal(waitpid(e->server, &status, WNOHANG), 0);
	close(fd);
}

/* Send a request of six arguments. */
static void send_req6(int fd, int64_t nr, int64_t a0, int64_t a1, int64_t a2, int64_t a3)
{
	struct near_request q = { nr, { a0, a1, a2, a3, 0, 0 } };

	assert_int_equal(write(fd, &q, sizeof q), (ssize_t)sizeof q);
}

/* A controller whose requests never run dry: every read of the server
 * finds the next batch waiting, so the server, which then reads without
 * polling, only accepts a newcomer at the poll it makes now and then
 * regardless.  Made independent of any scheduling: the server holds a
 * copy (fd K) of the controller's own end of the connection, and each
 * batch ends by writing the next batch into it, after draining the
 * answers that came back to it (nobody else reads them, so no send of
 * the server ever blocks either).  The newcomer is greeted, and its
 * takeover answered, while the batches go on. */
static void endless_pipeline_is_taken_over(void **state)
{
	enum { K = 200, C = 201, N = 128, SCRATCH = 8192, DRAIN = 65536 };
	struct env *e = *state;
	struct near_request q[N];
	struct near_hello h, old;
	char kfd[16], cfd[16];
	int sv[2], fd;
	int64_t buf;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(dup2(sv[0], K), K);
	assert_int_equal(dup2(sv[1], C), C);
	close(sv[1]);
	snprintf(kfd, sizeof kfd, "%d", K);
	snprintf(cfd, sizeof cfd, "%d", C);
	run_server(e, (const char *const[]){ "--listen", e->path, "--fd", cfd, "--keep-fd",
					     kfd, NULL });
	close(K);
	close(C);
	read_hello(sv[0], &old);
	send_req6(sv[0], __NR_mmap, 0, SCRATCH + DRAIN, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS);
	buf = answer(sv[0]);
	assert_true(buf > 0);
	q[0] = (struct near_request){ __NR_recvfrom,
				      { K, buf + SCRATCH, DRAIN, MSG_DONTWAIT, 0, 0 } };
	for (int i = 1; i < N - 1; i++)
		q[i] = (struct near_request){ __NR_getpid, { 0 } };
	q[N - 1] = (struct near_request){ __NR_sendto,
					  { K, buf, sizeof q, MSG_DONTWAIT | MSG_NOSIGNAL, 0, 0 } };
	send_req6(sv[0], NEAR_OP_WRITE_MEM, buf, sizeof q, 0, 0);
	assert_int_equal(write(sv[0], q, sizeof q), (ssize_t)sizeof q);
	assert_int_equal(answer(sv[0]), (int64_t)sizeof q);
	/* The first batch; the server writes every next one itself. */
	assert_int_equal(write(sv[0], q, sizeof q), (ssize_t)sizeof q);
	close(sv[0]);

	fd = dial(e->path);
	read_hello(fd, &h);
	assert_int_equal(h.flags & NEAR_HELLO_BUSY, NEAR_HELLO_BUSY);
	send_req(fd, NEAR_OP_TAKEOVER, 0);
	assert_int_equal(answer(fd), (int64_t)h.epoch);
	send_req(fd, __NR_getpid, 0);
	assert_int_equal(answer(fd), e->server);
	assert_true(alive(e->server));
	close(fd);
}

/* Until pid is stopped (SIGSTOP taken: state T in /proc/PID/stat). */
static void await_stopped(pid_t pid)
{
	char path[64], st[256], *paren;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	for (int waited = 0; waited < deadline_ms(); waited += 2) {
		FILE *f = fopen(path, "r");

		assert_non_null(f);
		if (!fgets(st, sizeof st, f))
			st[0] = '\0';
		fclose(f);
		paren = strrchr(st, ')');
		if (paren && paren[1] == ' ' && paren[2] == 'T')
			return;
		pause_ms(2);
	}
	fail_msg("server %d did not stop", (int)pid);
}

/* A controller that closes its connection and connects again at once is
 * served anew, not greeted as busy: the server, stopped meanwhile, finds
 * the old connection at its end and the newcomer in the same poll, and
 * needs no NEAR_OP_TAKEOVER from it (it would cost a round trip). */
static void reconnect_after_close_is_not_busy(void **state)
{
	struct env *e = *state;
	struct near_hello h, old;
	int a, fd;

	run_server(e, (const char *const[]){ "--listen", e->path, NULL });
	a = dial(e->path);
	read_hello(a, &old);
	send_req(a, __NR_getpid, 0);
	assert_int_equal(answer(a), e->server);
	assert_int_equal(kill(e->server, SIGSTOP), 0);
	await_stopped(e->server);
	close(a);
	fd = dial(e->path);
	assert_int_equal(kill(e->server, SIGCONT), 0);
	read_hello(fd, &h);
	assert_int_equal(h.flags & NEAR_HELLO_BUSY, 0);
	assert_true(h.epoch > old.epoch);
	send_req(fd, __NR_getpid, 0);
	assert_int_equal(answer(fd), e->server);
	assert_true(alive(e->server));
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(peercred_names_the_listening_server, setup, teardown),
		cmocka_unit_test_setup_teardown(peercred_names_the_daemon_not_its_launcher, setup,
						teardown),
		cmocka_unit_test_setup_teardown(peercred_names_the_server_of_an_inherited_listener,
						setup, teardown),
		cmocka_unit_test_setup_teardown(dead_controllers_syscall_is_interrupted, setup,
						teardown),
		cmocka_unit_test_setup_teardown(live_controller_is_taken_over_from_its_syscall, setup,
						teardown),
		cmocka_unit_test_setup_teardown(endless_pipeline_is_taken_over, setup, teardown),
		cmocka_unit_test_setup_teardown(reconnect_after_close_is_not_busy, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
