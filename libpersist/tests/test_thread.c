// SPDX-License-Identifier: MIT
/* Persistent threads end to end: a standalone server, reconnecting from
 * another process, a thread that dies during the handshake, clone_persistent
 * + make_persistent in a controller holding 1 GiB that is then SIGKILLed,
 * and spawning commands. */
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <asm/unistd.h>
#include <cmocka.h>
#include <persist/thread.h>

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

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(standalone_server_and_reconnect, setup, teardown),
		cmocka_unit_test_setup_teardown(thread_dies_during_reconnect, setup, teardown),
		cmocka_unit_test_setup_teardown(spawning, setup, teardown),
		cmocka_unit_test_setup_teardown(clone_persistent_outlives_a_big_controller, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
