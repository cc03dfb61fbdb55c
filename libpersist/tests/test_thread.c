// SPDX-License-Identifier: MIT
/* Persistent threads end to end: a standalone server, reconnecting from
 * another process, a thread that dies during the handshake, clone_persistent
 * + make_persistent in a controller holding 1 GiB that is then SIGKILLed,
 * and spawning commands.  Taking over a server stuck in a blocking syscall
 * for a controller that died in it (pause, read, waitid) or that still
 * waits in it; a controller waiting its turn never interrupts; and, against
 * a fake server, the signal when the takeover's answer is late, and never
 * without takeover. */
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
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <asm/unistd.h>
#include <cmocka.h>
#include <near/syscall.h> /* NEAR_ARCH_ID, for the fake server's hello */
#include <persist/thread.h>
#include <transport/mem.h>
#include "clock.h"

static char dir[64], sock[128];

/* Deadlines: a persist-server under valgrind (VALGRIND=1 traces children)
 * takes seconds to start, so every bound is stretched there. */
static int slow(int ms)
{
	return getenv("PERSIST_VALGRIND") ? ms * 12 : ms;
}
#define TO slow(5000)

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/persist-thread-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(sock, sizeof sock, "%s/sock", dir);
	return 0;
}

/* Servers a test started, killed at teardown even when it failed midway
 * (they are detached: nothing else would end them). */
static int started[8], n_started;

static int remember(int pid)
{
	if (n_started < 8)
		started[n_started++] = pid;
	return pid;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	while (n_started)
		kill(started[--n_started], SIGKILL);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Field 4 of /proc/PID/stat: the parent. */
static int parent_of(int pid)
{
	char path[64], buf[512];
	int ppid = -1, fd;
	ssize_t n;

	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	sscanf(strrchr(buf, ')') + 2, "%*c %d", &ppid);
	return ppid;
}

static long rss_kib(int pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static void stop_server(int pid)
{
	kill(pid, SIGKILL);
	for (int i = 0; i < 200 && kill(pid, 0) == 0; i++)
		usleep(10000); /* not our child: wait for it to go */
}

/* Whether pid has ended: gone, or a zombie (its parent, init here, may
 * take its time to reap it). */
static int ended(int pid)
{
	char path[64], buf[512], *paren;
	int fd;
	ssize_t n;

	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 1;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	paren = strrchr(buf, ')');
	return !paren || (paren[1] == ' ' && paren[2] == 'Z');
}

/* Kill a server that is not our child and wait until it has ended. */
static void end_server(int pid)
{
	kill(pid, SIGKILL);
	for (long t0 = now_ms(); !ended(pid) && now_ms() - t0 < TO;)
		usleep(2000);
	assert_true(ended(pid));
}

/* The pid SO_PEERCRED names on a fresh connection to sock: whoever last
 * called listen() on it, which persist_thread_connect signals. */
static int listener_pid(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ucred cr = { 0, 0, 0 };
	socklen_t len = sizeof cr;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof sa.sun_path, "%.107s", sock);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len), 0);
	close(fd);
	return cr.pid;
}

/* Until pid sleeps in syscall nr (/proc/PID/syscall), within the bound. */
static void await_in_syscall(int pid, long nr)
{
	char path[64], buf[256] = "";
	long now = -1;

	snprintf(path, sizeof path, "/proc/%d/syscall", pid);
	for (long t0 = now_ms(); now_ms() - t0 < TO;) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n;

		assert_true(fd >= 0);
		n = read(fd, buf, sizeof buf - 1);
		close(fd);
		buf[n > 0 ? n : 0] = '\0';
		if (sscanf(buf, "%ld", &now) == 1 && now == nr)
			return;
		usleep(2000);
	}
	fail_msg("pid %d is not in syscall %ld (%s)", pid, nr, buf);
}

static void standalone_server_and_reconnect(void **state)
{
	struct persist_thread t, again;
	char why[256];
	int pid, status;
	pid_t other;

	(void)state;
	assert_int_equal(persist_server_start(sock, TO, &pid, why, sizeof why), 0);
	remember(pid);
	assert_int_equal(persist_server_start(sock, TO, &pid, why, sizeof why), -EADDRINUSE);
	assert_int_equal(persist_thread_connect(&t, sock, 0, TO, why, sizeof why), 0);
	assert_int_equal(t.pid, pid);
	assert_int_equal(handle_getpid(&t.task), pid);
	/* The detached server, not its launcher, is the one to signal. */
	assert_int_equal(listener_pid(), pid);
	/* A second controller that waits its turn is served when we leave. */
	other = fork();
	if (other == 0) {
		/* Our copy of the parent's connection would keep it open. */
		close(transport_fd(t.conn));
		int ok = persist_thread_connect(&again, sock, 0, TO, NULL, 0) == 0 &&
			 handle_getpid(&again.task) == pid;
		_exit(ok ? 0 : 1);
	}
	usleep(100000);
	persist_thread_close(&t);
	assert_int_equal(waitpid(other, &status, 0), other);
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(persist_thread_connect(&t, sock, 0, TO, why, sizeof why), 0);
	other = fork();
	if (other == 0) {
		/* A brand-new process reconnects (taking over). */
		int ok = persist_thread_connect(&again, sock, 1, TO, NULL, 0) == 0 &&
			 handle_getpid(&again.task) == pid;
		_exit(ok ? 0 : 1);
	}
	assert_int_equal(waitpid(other, &status, 0), other);
	assert_int_equal(WEXITSTATUS(status), 0);
	/* We were cut by that takeover; reconnect ourselves. */
	assert_true(handle_getpid(&t.task) < 0);
	assert_int_equal(persist_reconnect(&t, TO, why, sizeof why), 0);
	assert_int_equal(handle_getpid(&t.task), pid);
	assert_int_equal(persist_thread_exit(&t, 0), 0);
	for (int i = 0; i < 200 && kill(pid, 0) == 0; i++)
		usleep(10000);
	assert_int_equal(kill(pid, 0), -1);
}

/* Open fds of this process. */
static int open_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77 /* Linux 6.5 */
#endif

/* Whether the kernel gives a pidfd of a unix socket's peer (Linux 6.5):
 * then a connection to a local server keeps one. */
static int peer_pidfds(void)
{
	int sv[2], pidfd = -1, ok;
	socklen_t len = sizeof pidfd;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	ok = getsockopt(sv[0], SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) == 0 && pidfd >= 0;
	if (ok)
		close(pidfd);
	close(sv[0]);
	close(sv[1]);
	return ok;
}

/* persist_reconnect to the very server it left keeps what it learnt of it,
 * reading nothing from /proc (a marked pid namespace survives), and learns
 * anew from a new server at the same path (the mark goes); the pidfd that
 * tells them apart is one fd per thread, gone with the thread. */
static void reconnect_keeps_only_the_same_servers_facts(void **state)
{
	struct far_ns ours, mark = { FAR_NS_PID, 7, 7 };
	struct persist_thread t;
	char why[256];
	int pid, pid2, base;

	(void)state;
	if (!peer_pidfds())
		skip(); /* before Linux 6.5 a reconnect looks the server up again */
	assert_int_equal(far_ns_of(0, FAR_NS_PID, &ours), 0);
	assert_int_equal(persist_server_start(sock, TO, &pid, why, sizeof why), 0);
	remember(pid);
	base = open_fds();
	assert_int_equal(persist_thread_connect(&t, sock, 1, TO, why, sizeof why), 0);
	assert_true(far_ns_equal(&t.task.pidns, &ours));
	t.task.pidns = mark;
	for (int i = 0; i < 20; i++)
		assert_int_equal(persist_reconnect(&t, TO, why, sizeof why), 0);
	assert_true(far_ns_equal(&t.task.pidns, &mark));
	assert_int_equal(handle_getpid(&t.task), pid);
	assert_int_equal(open_fds(), base + 2); /* the connection and the pidfd */
	/* The server ends; another takes its place. */
	kill(pid, SIGKILL);
	for (int i = 0; i < 200 && kill(pid, 0) == 0; i++)
		usleep(10000);
	assert_int_equal(persist_server_start(sock, TO, &pid2, why, sizeof why), 0);
	remember(pid2);
	assert_int_equal(persist_reconnect(&t, TO, why, sizeof why), 0);
	assert_true(far_ns_equal(&t.task.pidns, &ours));
	assert_int_equal(handle_getpid(&t.task), pid2);
	assert_int_equal(open_fds(), base + 2);
	assert_int_equal(persist_thread_exit(&t, 0), 0);
	assert_int_equal(open_fds(), base);
}

/* The thread dies while we wait for its hello: an error, at once. */
static void thread_dies_during_reconnect(void **state)
{
	struct persist_thread t;
	char why[256];
	int pid;
	long t0;
	pid_t killer;

	(void)state;
	assert_int_equal(persist_server_start(sock, TO, &pid, why, sizeof why), 0);
	remember(pid);
	kill(pid, SIGSTOP); /* it accepts nothing now */
	killer = fork();
	if (killer == 0) {
		usleep(200000);
		kill(pid, SIGKILL);
		_exit(0);
	}
	t0 = now_ms();
	assert_true(persist_thread_connect(&t, sock, 1, slow(10000), why, sizeof why) < 0);
	assert_true(now_ms() - t0 < slow(5000));
	waitpid(killer, NULL, 0);
	/* Gone for good: an error at once, not a hang. */
	t0 = now_ms();
	assert_true(persist_thread_connect(&t, sock, 1, slow(10000), why, sizeof why) < 0);
	assert_true(now_ms() - t0 < slow(1000));
	unlink(sock);
}

static void spawning(void **state)
{
	static const char *const echo[] = { "echo", "hello from", "a child", NULL };
	static const char *const missing[] = { "no-such-program-persist", NULL };
	static const char *const code[] = { "sh", "-c", "pwd; exit 3", NULL };
	static const char *const sleeper[] = { "sleep", "30", NULL };
	struct persist_spawn sp = { 0 };
	struct persist_thread t;
	struct persist_exit st;
	char why[256], out[128], buf[256];
	int server, pid;
	FILE *f;

	(void)state;
	assert_int_equal(persist_server_start(sock, TO, &server, why, sizeof why), 0);
	remember(server);
	assert_int_equal(persist_thread_connect(&t, sock, 0, TO, why, sizeof why), 0);
	snprintf(out, sizeof out, "%s/out", dir);

	sp.argv = echo;
	sp.stdout_path = out;
	assert_int_equal(persist_spawn(&t, &sp, &pid, why, sizeof why), 0);
	assert_int_equal(persist_child_wait(&t, pid, 1, 1, &st), 0); /* WNOWAIT */
	assert_true(st.exited);
	assert_int_equal(st.code, 0);
	assert_int_equal(persist_child_wait(&t, pid, 0, 1, &st), 0); /* the real reap */
	assert_int_equal(persist_child_wait(&t, pid, 0, 1, &st), -ECHILD);
	f = fopen(out, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof buf, f));
	fclose(f);
	assert_string_equal(buf, "hello from a child\n");

	sp.argv = missing;
	assert_int_equal(persist_spawn(&t, &sp, &pid, why, sizeof why), -ENOENT);
	assert_non_null(strstr(why, "no-such-program-persist"));
	assert_int_equal(persist_child_wait(&t, pid, 0, 0, &st), -ECHILD); /* reaped */

	sp.argv = code;
	sp.cwd = dir;
	assert_int_equal(persist_spawn(&t, &sp, &pid, why, sizeof why), 0);
	assert_int_equal(persist_child_wait(&t, pid, 0, 1, &st), 0);
	assert_false(st.killed);
	assert_int_equal(st.code, 3);

	sp.argv = sleeper;
	sp.new_session = 1;
	assert_int_equal(persist_spawn(&t, &sp, &pid, why, sizeof why), 0);
	assert_int_equal(parent_of(pid), server); /* the thread's child */
	assert_int_equal(getsid(pid), pid);
	assert_int_equal(persist_child_wait(&t, pid, 1, 0, &st), 0);
	assert_false(st.exited);
	kill(pid, SIGTERM);
	assert_int_equal(persist_child_wait(&t, pid, 0, 1, &st), 0);
	assert_true(st.killed);
	assert_int_equal(st.code, SIGTERM);
	assert_int_equal(persist_thread_exit(&t, 0), 0);
	stop_server(server);
}

/* A controller holding 1 GiB makes a persistent thread, spawns a child in
 * it, and is killed with SIGKILL: the thread and its child live on, small. */
static void clone_persistent_outlives_a_big_controller(void **state)
{
	int p[2], thread = 0, child = 0, status;
	struct persist_thread t;
	struct persist_exit st;
	char why[256];
	pid_t ctl;

	(void)state;
	if (getenv("PERSIST_VALGRIND"))
		skip(); /* valgrind cannot run a CLONE_VM non-thread child */
	assert_int_equal(pipe(p), 0);
	ctl = fork();
	if (ctl == 0) {
		static const char *const sleeper[] = { "sleep", "30", NULL };
		struct persist_spawn sp = { .argv = sleeper };
		struct persist_thread local, th;
		size_t big = (size_t)1 << 30;
		char *mem = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		int ids[3] = { 0, 0, 0 };

		close(p[0]);
		if (mem == MAP_FAILED)
			_exit(2);
		memset(mem, 1, big); /* really resident */
		if (persist_thread_local(&local) < 0 ||
		    persist_clone_persistent(&local, sock, &th, why, sizeof why) < 0 ||
		    persist_make_persistent(&th, why, sizeof why) < 0 ||
		    persist_spawn(&th, &sp, &ids[1], why, sizeof why) < 0) {
			fprintf(stderr, "controller: %s\n", why);
			_exit(3);
		}
		ids[0] = th.pid;
		ids[2] = (int)rss_kib(th.pid);
		if (write(p[1], ids, sizeof ids) != sizeof ids)
			_exit(4);
		raise(SIGKILL);
	}
	close(p[1]);
	{
		int ids[3];
		assert_int_equal(read(p[0], ids, sizeof ids), sizeof ids);
		thread = remember(ids[0]);
		child = remember(ids[1]);
		printf("thread RSS after make_persistent: %d KiB (controller held 1 GiB)\n", ids[2]);
		assert_true(ids[2] > 0 && ids[2] < 16 * 1024);
	}
	close(p[0]);
	assert_int_equal(waitpid(ctl, &status, 0), ctl);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	/* The thread, which listens on the socket the controller made, is
	 * the one a takeover would signal. */
	assert_int_equal(listener_pid(), thread);
	/* A new controller finds the thread and its child. */
	assert_int_equal(persist_thread_connect(&t, sock, 1, TO, why, sizeof why), 0);
	assert_int_equal(t.pid, thread);
	assert_int_equal(parent_of(child), thread);
	assert_int_equal(persist_child_wait(&t, child, 1, 0, &st), 0);
	assert_false(st.exited);
	kill(child, SIGKILL);
	assert_int_equal(persist_child_wait(&t, child, 0, 1, &st), 0);
	assert_true(st.killed);
	assert_int_equal(persist_thread_exit(&t, 0), 0);
	for (int i = 0; i < 200 && kill(thread, 0) == 0; i++)
		usleep(10000);
	assert_int_equal(kill(thread, 0), -1);
}

/* The syscalls a controller can die in, leaving the server inside them. */
enum block { BLOCK_PAUSE, BLOCK_READ, BLOCK_WAITID };

/* A controller (a forked process) that connects, has the server block in
 * `how` and reports {syscall number, child pid or 0} on report; it then
 * waits to be killed. */
__attribute__((noreturn))
static void block_server(enum block how, int report)
{
	struct persist_thread a;
	struct near_request q;
	int64_t info[2] = { 0, 0 };
	uint64_t mem;
	int fds[2], kid;

	if (persist_thread_connect(&a, sock, 0, TO, NULL, 0) < 0)
		_exit(2);
	switch (how) {
	case BLOCK_PAUSE:
#ifdef __NR_pause
		near_request_set(&q, __NR_pause, 0, 0, 0, 0, 0, 0);
#else
		near_request_set(&q, __NR_ppoll, 0, 0, 0, 0, 8, 0); /* no pause here */
#endif
		break;
	case BLOCK_READ: /* a pipe of the server's that never gets data */
		if (transport_alloc(a.conn, 64, &mem) < 0 ||
		    transport_syscall(a.conn, __NR_pipe2, (int64_t)mem, O_CLOEXEC, 0, 0, 0, 0) != 0 ||
		    transport_read_mem(a.conn, fds, mem, sizeof fds) < 0)
			_exit(3);
		near_request_set(&q, __NR_read, fds[0], (int64_t)mem + 8, 1, 0, 0, 0);
		break;
	case BLOCK_WAITID: /* any child of the server, which has one running */
		/* A fork of the server serving a socketpair whose other end stays
		 * in the server: it runs until killed.  (Not persist_spawn:
		 * spawning fails under valgrind.)  The siginfo goes to mem + 64. */
		if (transport_alloc(a.conn, 64 + 128, &mem) < 0 ||
		    transport_syscall(a.conn, __NR_socketpair, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				      (int64_t)mem, 0, 0) != 0 ||
		    transport_read_mem(a.conn, fds, mem, sizeof fds) < 0 ||
		    transport_fork(a.conn, fds[1], &kid) < 0)
			_exit(4);
		info[1] = kid;
		near_request_set(&q, __NR_waitid, P_ALL, 0, (int64_t)mem + 64, WEXITED, 0, 0);
		break;
	}
	info[0] = q.nr;
	if (transport_submit(a.conn, &q) < 0 || transport_flush(a.conn) < 0)
		_exit(5);
	if (write(report, info, sizeof info) != sizeof info)
		_exit(6);
	for (;;)
		pause();
}

/* The issue this guards: a controller killed while the server is inside a
 * blocking syscall for it left the server deaf, and every later controller
 * failed after its deadline with "no hello from the server".  Now one that
 * takes over interrupts the syscall and is served well within a second;
 * the server lives on, and a child of the server is still recorded. */
static void dead_controller_blocked_in(enum block how)
{
	struct persist_thread t;
	struct persist_exit st;
	int64_t info[2];
	char why[256];
	int server, p[2], status;
	long t0, took;
	pid_t ctl;

	assert_int_equal(persist_server_start(sock, TO, &server, why, sizeof why), 0);
	remember(server);
	assert_int_equal(pipe(p), 0);
	ctl = fork();
	if (ctl == 0) {
		close(p[0]);
		block_server(how, p[1]);
	}
	remember(ctl);
	close(p[1]);
	assert_int_equal(read(p[0], info, sizeof info), sizeof info);
	close(p[0]);
	if (info[1])
		remember((int)info[1]);
	await_in_syscall(server, (long)info[0]);
	kill(ctl, SIGKILL);
	assert_int_equal(waitpid(ctl, &status, 0), ctl);

	t0 = now_ms();
	assert_int_equal(persist_thread_connect(&t, sock, 1, TO, why, sizeof why), 0);
	took = now_ms() - t0;
	printf("served %ld ms after connecting (server was in syscall %ld)\n", took,
	       (long)info[0]);
	assert_true(took < slow(1000));
	assert_int_equal(t.pid, server);
	assert_int_equal(handle_getpid(&t.task), server);
	assert_int_equal(kill(server, 0), 0);
	if (info[1]) {
		int kid = (int)info[1];

		assert_int_equal(persist_child_wait(&t, kid, 1, 0, &st), 0);
		assert_false(st.exited);
		kill(kid, SIGKILL);
		assert_int_equal(persist_child_wait(&t, kid, 1, 1, &st), 0); /* WNOWAIT */
		assert_true(st.exited && st.killed);
		assert_int_equal(st.code, SIGKILL);
		assert_int_equal(persist_child_wait(&t, kid, 0, 1, &st), 0);
	}
	assert_int_equal(persist_thread_exit(&t, 0), 0);
	end_server(server);
}

static void takeover_of_a_controller_dead_in_pause(void **state)
{
	(void)state;
	dead_controller_blocked_in(BLOCK_PAUSE);
}

static void takeover_of_a_controller_dead_in_read(void **state)
{
	(void)state;
	dead_controller_blocked_in(BLOCK_READ);
}

static void takeover_of_a_controller_dead_in_waitid(void **state)
{
	(void)state;
	dead_controller_blocked_in(BLOCK_WAITID);
}

/* We connect as a controller and have the server block reading a pipe of
 * its own whose write end we hold in *wr.  Returns the server's pid. */
static int live_reader(struct persist_thread *a, int *wr)
{
	struct near_request q;
	char why[256];
	uint64_t mem;
	int fds[2], server;

	assert_int_equal(persist_server_start(sock, TO, &server, why, sizeof why), 0);
	remember(server);
	assert_int_equal(persist_thread_connect(a, sock, 0, TO, why, sizeof why), 0);
	assert_int_equal(transport_alloc(a->conn, 64, &mem), 0);
	assert_int_equal(transport_syscall(a->conn, __NR_pipe2, (int64_t)mem, O_CLOEXEC, 0, 0, 0,
					   0), 0);
	assert_int_equal(transport_read_mem(a->conn, fds, mem, sizeof fds), 0);
	assert_int_equal(transport_take_fd(a->conn, fds[1], wr), 0);
	assert_int_equal(transport_syscall(a->conn, __NR_close, fds[1], 0, 0, 0, 0, 0), 0);
	assert_int_equal(transport_submit(a->conn, near_request_set(&q, __NR_read, fds[0],
								     (int64_t)mem + 8, 1, 0, 0, 0)),
			 0);
	assert_int_equal(transport_flush(a->conn), 0);
	await_in_syscall(server, __NR_read);
	return server;
}

/* A controller that waits its turn sends no signal: our read is not cut
 * short while it waits (a takeover would have ended it with -EINTR after
 * 150 ms), it is answered with the byte we write, and the waiting
 * controller is served once we leave. */
static void waiting_controller_sends_no_signal(void **state)
{
	struct persist_thread a;
	int64_t res;
	int server, wr, ready[2], status;
	pid_t other;
	char c;

	(void)state;
	server = live_reader(&a, &wr);
	assert_int_equal(pipe(ready), 0);
	other = fork();
	if (other == 0) {
		struct persist_thread b;
		int ok;

		/* Our copies would keep the connection and the pipe open. */
		close(transport_fd(a.conn));
		close(wr);
		(void)!write(ready[1], "c", 1);
		ok = persist_thread_connect(&b, sock, 0, slow(10000), NULL, 0) == 0 &&
		     handle_getpid(&b.task) == server;
		_exit(ok ? 0 : 1);
	}
	remember(other);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	close(ready[1]);
	/* Four nudge periods: the read goes on, and the other one waits. */
	{
		struct pollfd pf = { transport_fd(a.conn), POLLIN, 0 };
		assert_int_equal(poll(&pf, 1, slow(600)), 0);
	}
	assert_int_equal(waitpid(other, &status, WNOHANG), 0);
	await_in_syscall(server, __NR_read);
	assert_int_equal(write(wr, "x", 1), 1);
	assert_int_equal(transport_wait(a.conn, &res), 0);
	assert_int_equal(res, 1);
	close(wr);
	persist_thread_close(&a);
	assert_int_equal(waitpid(other, &status, 0), other);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	end_server(server);
}

/* The same with takeover: our read is answered -EINTR, the newcomer is
 * served within a second, and we are cut off. */
static void takeover_interrupts_a_live_controller(void **state)
{
	struct persist_thread a;
	int64_t res;
	int server, wr, status;
	pid_t other;

	(void)state;
	server = live_reader(&a, &wr);
	other = fork();
	if (other == 0) {
		struct persist_thread b;
		long t0 = now_ms();
		int ok, base;

		close(transport_fd(a.conn));
		close(wr);
		/* After a nudge too, the thread holds its connection and, where
		 * the kernel gives one, a pidfd of the server: open fds, not a
		 * number closed behind its back. */
		base = open_fds();
		ok = persist_thread_connect(&b, sock, 1, slow(10000), NULL, 0) == 0 &&
		     now_ms() - t0 < slow(1000) && handle_getpid(&b.task) == server &&
		     open_fds() == base + 1 + peer_pidfds();
		_exit(ok ? 0 : 1);
	}
	remember(other);
	assert_int_equal(transport_wait(a.conn, &res), 0);
	assert_int_equal(res, -EINTR);
	assert_int_equal(waitpid(other, &status, 0), other);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(handle_getpid(&a.task) < 0);
	close(wr);
	persist_thread_close(&a);
	assert_int_equal(kill(server, 0), 0);
	end_server(server);
}

/* A fake server, to see exactly when a connecting controller signals.
 * SLOW_TAKEOVER: a busy hello at once, then the takeover is answered only
 * after a SIGURG that came once it was received.  SILENT: no hello at all
 * until the controller hangs up.  Either way it reports how many SIGURG it
 * got (those after the takeover, for SLOW_TAKEOVER) on report. */
enum fake { FAKE_SLOW_TAKEOVER, FAKE_SILENT };
static volatile sig_atomic_t urgs;

static void count_urg(int sig)
{
	(void)sig;
	urgs++;
}

__attribute__((noreturn))
static void fake_server(enum fake mode, int report)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct sigaction act = { .sa_handler = count_urg };
	struct near_hello h = { .magic = NEAR_PROTO_MAGIC, .version = NEAR_PROTO_VERSION,
				.arch = NEAR_ARCH_ID, .epoch = 7, .flags = NEAR_HELLO_BUSY };
	struct timespec zero = { 0, 0 };
	struct near_request q;
	sigset_t urg, none;
	int l, fd, n;
	int64_t epoch = 7;
	char c;

	sigemptyset(&urg);
	sigemptyset(&none);
	sigaddset(&urg, SIGURG);
	/* Counted only in sigsuspend: nothing else of ours is cut short. */
	sigprocmask(SIG_BLOCK, &urg, NULL);
	sigaction(SIGURG, &act, NULL);
	snprintf(sa.sun_path, sizeof sa.sun_path, "%.107s", sock);
	l = socket(AF_UNIX, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(l, 4) < 0)
		_exit(2);
	if (write(report, "L", 1) != 1)
		_exit(3);
	fd = accept(l, NULL, NULL);
	if (fd < 0)
		_exit(4);
	if (mode == FAKE_SLOW_TAKEOVER) {
		h.pid = getpid();
		h.page_size = (uint32_t)sysconf(_SC_PAGESIZE);
		if (write(fd, &h, sizeof h) != sizeof h ||
		    recv(fd, &q, sizeof q, MSG_WAITALL) != sizeof q || q.nr != NEAR_OP_TAKEOVER)
			_exit(5);
		/* Only a signal sent for the takeover counts. */
		while (sigtimedwait(&urg, NULL, &zero) == SIGURG)
			;
		urgs = 0;
		while (!urgs)
			sigsuspend(&none);
		if (write(fd, &epoch, sizeof epoch) != sizeof epoch)
			_exit(6);
	}
	/* Until the controller hangs up, counting what it sends us. */
	for (;;) {
		struct pollfd pf = { fd, POLLIN, 0 };
		if (ppoll(&pf, 1, NULL, &none) > 0 && recv(fd, &c, 1, 0) <= 0)
			break;
	}
	n = (int)urgs;
	(void)!write(report, &n, sizeof n);
	_exit(0);
}

static pid_t start_fake(enum fake mode, int *report)
{
	int p[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		fake_server(mode, p[1]);
	}
	remember(pid);
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1); /* it listens */
	*report = p[0];
	return pid;
}

static int fake_count(pid_t fake, int report)
{
	int n = -1, status;

	assert_int_equal(read(report, &n, sizeof n), sizeof n);
	close(report);
	assert_int_equal(waitpid(fake, &status, 0), fake);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return n;
}

/* The busy hello came, the takeover's answer did not: the server is sent
 * SIGURG (after 150 ms) and we are served once it answers. */
static void late_takeover_answer_is_nudged(void **state)
{
	struct persist_thread t;
	char why[256];
	int report;
	long t0, took;
	pid_t fake;

	(void)state;
	fake = start_fake(FAKE_SLOW_TAKEOVER, &report);
	t0 = now_ms();
	assert_int_equal(persist_thread_connect(&t, sock, 1, slow(5000), why, sizeof why), 0);
	took = now_ms() - t0;
	assert_true(took >= 100 && took < slow(1000));
	assert_int_equal(t.pid, fake);
	persist_thread_close(&t);
	assert_true(fake_count(fake, report) >= 1);
}

/* No hello at all: without takeover, the deadline passes and the server
 * got no signal; with it, a signal every 150 ms until the deadline. */
static void silent_server_is_nudged_only_for_a_takeover(void **state)
{
	struct persist_thread t;
	char why[256];
	int report, n;
	long t0;
	pid_t fake;

	(void)state;
	fake = start_fake(FAKE_SILENT, &report);
	t0 = now_ms();
	assert_int_equal(persist_thread_connect(&t, sock, 0, 600, why, sizeof why), -ETIMEDOUT);
	assert_true(now_ms() - t0 >= 600);
	assert_int_equal(fake_count(fake, report), 0);
	unlink(sock);

	fake = start_fake(FAKE_SILENT, &report);
	t0 = now_ms();
	assert_int_equal(persist_thread_connect(&t, sock, 1, 600, why, sizeof why), -ETIMEDOUT);
	assert_true(now_ms() - t0 >= 600);
	assert_non_null(strstr(why, "no hello"));
	n = fake_count(fake, report);
	printf("a silent server got %d SIGURG in 600 ms\n", n);
	assert_true(n >= 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(standalone_server_and_reconnect, setup, teardown),
		cmocka_unit_test_setup_teardown(reconnect_keeps_only_the_same_servers_facts, setup,
						teardown),
		cmocka_unit_test_setup_teardown(thread_dies_during_reconnect, setup, teardown),
		cmocka_unit_test_setup_teardown(spawning, setup, teardown),
		cmocka_unit_test_setup_teardown(clone_persistent_outlives_a_big_controller, setup, teardown),
		cmocka_unit_test_setup_teardown(takeover_of_a_controller_dead_in_pause, setup, teardown),
		cmocka_unit_test_setup_teardown(takeover_of_a_controller_dead_in_read, setup, teardown),
		cmocka_unit_test_setup_teardown(takeover_of_a_controller_dead_in_waitid, setup, teardown),
		cmocka_unit_test_setup_teardown(waiting_controller_sends_no_signal, setup, teardown),
		cmocka_unit_test_setup_teardown(takeover_interrupts_a_live_controller, setup, teardown),
		cmocka_unit_test_setup_teardown(late_takeover_answer_is_nudged, setup, teardown),
		cmocka_unit_test_setup_teardown(silent_server_is_nudged_only_for_a_takeover, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
