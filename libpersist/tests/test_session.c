// SPDX-License-Identifier: MIT
/* The session (<persist/session.h>) against a real persist-server in a
 * temporary state directory: open, run, wait, kill, named children, stop,
 * open without a server (refused, or offline), the state directory refused
 * when anyone else could use it, and the crash guarantee: for every crash
 * point the header lists, a controller process is SIGKILLed there
 * (PERSIST_CRASH_AT) and a new session must account for every child, with
 * its real status, no intent left, no zombie left, the server's fd count
 * back where it was, and real argvs.
 *
 * The kernel's view is read here from /proc directly (the test runs on the
 * server's machine), not through the library under test. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <asm/unistd.h>
#include <persist/session.h>
#include <transport/conn.h>
#include <transport/mem.h>
#include "clock.h"
#include "proc_view.h"

/* Deadlines: a persist-server under valgrind (VALGRIND=1 traces children)
 * takes seconds to start, so every bound is stretched there. */
static int slow(int ms)
{
	return getenv("PERSIST_VALGRIND") ? ms * 12 : ms;
}

static char base[64];  /* mkdtemp, mode 0700 */
static char sdir[128]; /* base/state: the state directory, created by open */
static int server;     /* the server a test started, ended at teardown */

/* ---- the kernel's view, from /proc (proc_view.h) ---- */

static int gone_or_zombie(int pid)
{
	char st = proc_state(pid, NULL);

	return st == 0 || st == 'Z' || st == 'X';
}

static int is_child_of(int parent, int pid)
{
	int kids[256];
	size_t n = proc_children(parent, kids, 256);

	for (size_t i = 0; i < n; i++)
		if (kids[i] == pid)
			return 1;
	return 0;
}

/* Wait (bounded) until process pid no longer exists.  A server detaches
 * from whoever starts it, so its parent is the nearest subreaper: main
 * makes this test one, and reaps it here (init may take seconds to).
 * Returns: 1 if it is gone. */
static int await_gone(int pid, int ms)
{
	long deadline = now_ms() + slow(ms);

	for (;;) {
		if (waitpid(pid, NULL, WNOHANG) == pid || kill(pid, 0) < 0)
			return 1;
		if (now_ms() > deadline)
			return 0;
		nap_ms(2);
	}
}

/* Wait (bounded) until pid (a child of the server) is a zombie: it has
 * ended and nobody reaped it.  Returns: 1 if it is one. */
static int await_zombie(int pid)
{
	long deadline = now_ms() + slow(5000);

	while (proc_state(pid, NULL) != 'Z' && now_ms() < deadline)
		nap_ms(2);
	return proc_state(pid, NULL) == 'Z';
}

static void kill_tree(int pid)
{
	proc_kill_tree(pid, slow(2000));
}

/* ---- fixtures and session helpers ---- */

static int setup(void **state)
{
	(void)state;
	snprintf(base, sizeof base, "/tmp/persist-session-XXXXXX");
	if (!mkdtemp(base))
		return -1;
	snprintf(sdir, sizeof sdir, "%s/state", base);
	server = 0;
	unsetenv("PERSIST_CRASH_AT");
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	kill_tree(server);
	server = 0;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

static struct persist_session *open_ok(unsigned flags)
{
	struct persist_session *s = NULL;
	char why[512] = "";
	int r = persist_session_open(sdir, flags, &s, why, sizeof why);

	if (r < 0)
		fail_msg("persist_session_open(%s, %#x): %s: %s", sdir, flags, strerror(-r), why);
	assert_non_null(s);
	if (persist_session_connected(s))
		server = persist_session_thread_rec(s)->pid;
	return s;
}

static int64_t run_ok(struct persist_session *s, const char *name, const char *const *argv,
		      int new_session)
{
	struct persist_spawn sp = { .argv = argv, .new_session = new_session };
	char why[512] = "";
	int64_t id = 0;
	int r = persist_session_run(s, name, &sp, &id, why, sizeof why);

	if (r < 0)
		fail_msg("run %s: %s: %s", argv[0], strerror(-r), why);
	assert_true(id > 0);
	return id;
}

static struct persist_child_rec child(struct persist_session *s, int64_t id)
{
	struct persist_child_rec c = { 0 };

	assert_int_equal(persist_store_child_get(persist_session_store(s), id, &c), 0);
	return c;
}

static const char *const SLEEPER[] = { "sleep", "3600", NULL };  /* lives on */
static const char *const VICTIM[] = { "sleep", "3601", NULL };   /* is killed */
static const char *const EXIT3[] = { "sh", "-c", "exit 3", NULL };

/* A running record names a live child of the server: its pid, its start
 * time, not a zombie, and the argv it was run with. */
static void assert_running(struct persist_session *s, int64_t id)
{
	struct persist_child_rec c = child(s, id);
	unsigned long long start = 0;
	char st;

	assert_int_equal(c.state, PERSIST_CHILD_RUNNING);
	st = proc_state(c.pid, &start);
	assert_true(st != 0 && st != 'Z');
	assert_true(start == c.starttime);
	assert_true(is_child_of(server, c.pid));
	assert_true(cmdline_is(c.pid, c.argv));
	persist_child_rec_clear(&c);
}

/* ---- the API ---- */

static void run_wait_kill(void **state)
{
	static const char *const killself[] = { "sh", "-c", "kill -KILL $$", NULL };
	static const char *const echo[] = { "echo", "to the log", NULL };
	static const char *const missing[] = { "no-such-program-persist", NULL };
	struct persist_session *s;
	struct persist_exit st;
	struct persist_child_rec c;
	struct stat sb;
	char path[PATH_MAX], buf[64] = "", why[512];
	int64_t id, sleeper, victim;
	long t0;
	FILE *f;

	(void)state;
	s = open_ok(PERSIST_SESSION_START);
	/* Created by open, private whatever the umask. */
	assert_int_equal(lstat(sdir, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0700);
	assert_int_equal(persist_session_connected(s), 1);
	assert_non_null(persist_session_thread(s));
	assert_true(persist_session_thread_rec(s)->id > 0);
	assert_true(server > 0);
	assert_int_equal(persist_session_thread(s)->pid, server);
	assert_null(persist_session_notice(s));

	/* An exit code. */
	id = run_ok(s, NULL, EXIT3, 0);
	assert_int_equal(persist_session_wait(s, id, -1, &st), 0);
	assert_int_equal(st.exited, 1);
	assert_int_equal(st.killed, 0);
	assert_int_equal(st.code, 3);
	c = child(s, id);
	assert_int_equal(c.state, PERSIST_CHILD_EXITED);
	assert_int_equal(c.exit_code, 3);
	assert_int_equal(c.argc, 3);
	assert_string_equal(c.argv[2], "exit 3");
	assert_false(is_child_of(server, c.pid)); /* reaped */
	persist_child_rec_clear(&c);
	/* Answered from the store the second time. */
	memset(&st, 0x55, sizeof st);
	assert_int_equal(persist_session_wait(s, id, 0, &st), 0);
	assert_int_equal(st.code, 3);
	assert_int_equal(st.killed, 0);

	/* Killed by a signal. */
	id = run_ok(s, NULL, killself, 0);
	assert_int_equal(persist_session_wait(s, id, -1, &st), 0);
	assert_int_equal(st.exited, 1);
	assert_int_equal(st.killed, 1);
	assert_int_equal(st.code, SIGKILL);

	/* Output goes to the log files when no path is given. */
	id = run_ok(s, NULL, echo, 0);
	assert_int_equal(persist_session_wait(s, id, -1, &st), 0);
	assert_int_equal(st.code, 0);
	assert_int_equal(persist_session_log_path(s, id, 1, path, sizeof path), 0);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof buf, f));
	fclose(f);
	assert_string_equal(buf, "to the log\n");
	assert_int_equal(persist_session_log_path(s, id, 3, path, sizeof path), -EINVAL);

	/* Timeouts while it runs. */
	sleeper = run_ok(s, NULL, SLEEPER, 0);
	assert_running(s, sleeper);
	assert_int_equal(persist_session_wait(s, sleeper, 0, &st), -ETIMEDOUT);
	assert_int_equal(st.exited, 0);
	t0 = now_ms();
	assert_int_equal(persist_session_wait(s, sleeper, 100, &st), -ETIMEDOUT);
	assert_true(now_ms() - t0 >= 95);
	assert_true(now_ms() - t0 < slow(5000));
	t0 = now_ms();
	assert_int_equal(persist_session_wait(s, sleeper, 1, &st), -ETIMEDOUT);
	assert_true(now_ms() - t0 < slow(2000));
	/* The wait let the thread go and took it back: still the controller. */
	assert_int_equal(persist_session_connected(s), 1);
	assert_running(s, sleeper);

	/* Unknown ids. */
	assert_int_equal(persist_session_wait(s, 999999, 0, &st), -ENOENT);
	assert_int_equal(persist_session_wait(s, 999999, -1, &st), -ENOENT);
	assert_int_equal(persist_session_kill(s, 999999, SIGTERM), -ENOENT);

	/* kill. */
	victim = run_ok(s, NULL, VICTIM, 0);
	assert_int_equal(persist_session_kill(s, victim, 65), -EINVAL);
	assert_int_equal(persist_session_kill(s, victim, -1), -EINVAL);
	assert_int_equal(persist_session_kill(s, victim, 0), 0); /* only looks */
	assert_running(s, victim);
	assert_int_equal(persist_session_kill(s, victim, SIGTERM), 0);
	assert_int_equal(persist_session_wait(s, victim, slow(5000), &st), 0);
	assert_int_equal(st.killed, 1);
	assert_int_equal(st.code, SIGTERM);
	c = child(s, victim);
	assert_int_equal(c.state, PERSIST_CHILD_KILLED);
	assert_int_equal(c.signal, SIGTERM);
	persist_child_rec_clear(&c);
	assert_int_equal(persist_session_kill(s, victim, SIGTERM), -ESRCH); /* ended */

	/* A program that does not exist: an id, and a lost record. */
	{
		struct persist_spawn sp = { .argv = missing };
		id = 0;
		assert_int_equal(persist_session_run(s, NULL, &sp, &id, why, sizeof why), -ENOENT);
		assert_true(id > 0);
		assert_non_null(strstr(why, "no-such-program-persist"));
		c = child(s, id);
		assert_int_equal(c.state, PERSIST_CHILD_LOST);
		assert_non_null(c.lost_reason);
		persist_child_rec_clear(&c);
		assert_int_equal(persist_session_wait(s, id, 0, &st), -ENODATA);
	}
	/* No command. */
	{
		static const char *const none[] = { NULL };
		struct persist_spawn sp = { .argv = none };
		assert_int_equal(persist_session_run(s, NULL, &sp, &id, why, sizeof why), -EINVAL);
		assert_int_equal(persist_session_run(s, NULL, NULL, &id, why, sizeof why), -EINVAL);
	}

	/* The sleeper ran all along, and a new session finds it. */
	persist_session_close(s);
	s = open_ok(0);
	assert_running(s, sleeper);
	assert_int_equal(persist_session_kill(s, sleeper, SIGKILL), 0);
	assert_int_equal(persist_session_wait(s, sleeper, -1, &st), 0);
	assert_int_equal(st.killed, 1);
	assert_int_equal(st.code, SIGKILL);
	persist_session_close(s);
}

static void named_children(void **state)
{
	struct persist_spawn sp = { .argv = SLEEPER };
	struct persist_session *s;
	struct persist_child_rec c = { 0 };
	struct persist_exit st;
	char why[512];
	int64_t web, id = 0;

	(void)state;
	s = open_ok(PERSIST_SESSION_START);
	web = run_ok(s, "web", SLEEPER, 0);
	assert_int_equal(persist_session_run(s, "web", &sp, &id, why, sizeof why), -EEXIST);
	assert_non_null(strstr(why, "web"));
	assert_int_equal(persist_session_run(s, "9lives", &sp, &id, why, sizeof why), -EINVAL);
	assert_int_equal(persist_session_run(s, "", &sp, &id, why, sizeof why), -EINVAL);
	/* Neither refusal spawned anything: the server has the one child. */
	{
		int kids[16];
		assert_int_equal(proc_children(server, kids, 16), 1);
	}
	assert_int_equal(persist_store_child_find(persist_session_store(s),
						  persist_session_thread_rec(s)->id, "web", &c), 0);
	assert_int_equal(c.id, web);
	assert_string_equal(c.name, "web");
	persist_child_rec_clear(&c);
	assert_running(s, web);
	/* Once it has ended, the name is free again. */
	assert_int_equal(persist_session_kill(s, web, SIGTERM), 0);
	assert_int_equal(persist_session_wait(s, web, -1, &st), 0);
	id = run_ok(s, "web", EXIT3, 0);
	assert_true(id != web);
	assert_int_equal(persist_session_wait(s, id, -1, &st), 0);
	assert_int_equal(st.code, 3);
	assert_int_equal(persist_store_child_find(persist_session_store(s), 0, "web", &c), 0);
	assert_int_equal(c.id, id); /* the newest */
	persist_child_rec_clear(&c);
	persist_session_close(s);
}

static int all_final(struct persist_session *s, size_t *n)
{
	struct persist_child_rec *recs;
	int ok = 1;

	assert_int_equal(persist_store_children(persist_session_store(s), 0, &recs, n), 0);
	for (size_t i = 0; i < *n; i++)
		if (recs[i].state != PERSIST_CHILD_EXITED && recs[i].state != PERSIST_CHILD_KILLED &&
		    recs[i].state != PERSIST_CHILD_LOST) {
			fprintf(stderr, "child %lld is still %s\n", (long long)recs[i].id,
				persist_child_state_name(recs[i].state));
			ok = 0;
		}
	persist_child_recs_free(recs, *n);
	return ok;
}

/* stop, then the store alone: open without START finds no server, OFFLINE
 * reads the records. */
static void stop_then_offline(void **state)
{
	static const char *const stubborn[] = {
		"sh", "-c", "trap '' TERM; while :; do sleep 1; done", NULL
	};
	struct persist_session *s = NULL;
	struct persist_child_rec c;
	struct persist_exit st;
	char why[512];
	int64_t sleeper, hard, code3;
	size_t n = 0, n2 = 0;
	long t0;
	int pid, sh;

	(void)state;
	/* No server yet: refused without START; OFFLINE opens the empty store. */
	assert_int_equal(persist_session_open(sdir, 0, &s, why, sizeof why), -ENOENT);
	assert_null(s);
	assert_non_null(strstr(why, "no server"));
	s = open_ok(PERSIST_SESSION_OFFLINE);
	assert_int_equal(persist_session_connected(s), 0);
	assert_null(persist_session_thread(s));
	assert_int_equal(persist_session_thread_rec(s)->id, 0);
	persist_session_close(s);

	s = open_ok(PERSIST_SESSION_START);
	pid = server;
	sleeper = run_ok(s, "svc", SLEEPER, 0);
	hard = run_ok(s, NULL, stubborn, 1);   /* needs the SIGKILL, to its group */
	code3 = run_ok(s, NULL, EXIT3, 0);     /* ended, never waited for */
	c = child(s, hard);
	sh = c.pid;
	persist_child_rec_clear(&c);
	c = child(s, code3);
	assert_true(await_zombie(c.pid));      /* its exit 3, not stop's SIGTERM */
	persist_child_rec_clear(&c);
	t0 = now_ms();
	assert_int_equal(persist_session_stop(s, 300, why, sizeof why), 0);
	assert_true(now_ms() - t0 >= 250); /* the grace, for the stubborn one */
	assert_int_equal(persist_session_connected(s), 0);
	assert_null(persist_session_thread(s));
	assert_true(all_final(s, &n));
	assert_int_equal(n, 3);
	c = child(s, sleeper);
	assert_int_equal(c.state, PERSIST_CHILD_KILLED);
	assert_int_equal(c.signal, SIGTERM);
	persist_child_rec_clear(&c);
	c = child(s, hard);
	assert_int_equal(c.state, PERSIST_CHILD_KILLED);
	assert_int_equal(c.signal, SIGKILL);
	persist_child_rec_clear(&c);
	c = child(s, code3);
	assert_int_equal(c.state, PERSIST_CHILD_EXITED);
	assert_int_equal(c.exit_code, 3);
	persist_child_rec_clear(&c);
	/* The server is gone, and so is the shell's group (its sleep). */
	assert_true(await_gone(pid, 5000));
	{
		/* The shell's sleep was orphaned when the group was killed and
		 * came to us (the subreaper): reap it before looking. */
		long deadline = now_ms() + slow(5000);
		while (kill(-sh, 0) == 0 && now_ms() < deadline) {
			while (waitpid(-1, NULL, WNOHANG) > 0)
				;
			nap_ms(2);
		}
		assert_int_equal(kill(-sh, 0), -1);
	}
	assert_int_equal(persist_session_stop(s, 0, why, sizeof why), -ENOTCONN);
	assert_int_equal(persist_session_wait(s, code3, 0, &st), 0); /* from the store */
	assert_int_equal(st.code, 3);
	persist_session_close(s);

	/* No server: refused without START (and nothing started). */
	s = (struct persist_session *)1;
	assert_int_equal(persist_session_open(sdir, 0, &s, why, sizeof why), -ENOENT);
	assert_null(s);
	/* OFFLINE: the records as they were, nothing can run. */
	s = open_ok(PERSIST_SESSION_OFFLINE);
	assert_int_equal(persist_session_connected(s), 0);
	assert_null(persist_session_thread(s));
	assert_int_equal(persist_session_thread_rec(s)->pid, pid);
	assert_true(all_final(s, &n2));
	assert_int_equal(n2, n);
	assert_int_equal(persist_session_wait(s, code3, -1, &st), 0);
	assert_int_equal(st.exited, 1);
	assert_int_equal(st.code, 3);
	assert_int_equal(persist_session_wait(s, sleeper, 0, &st), 0);
	assert_int_equal(st.killed, 1);
	assert_int_equal(st.code, SIGTERM);
	{
		struct persist_spawn sp = { .argv = SLEEPER };
		int64_t id;
		assert_int_equal(persist_session_run(s, NULL, &sp, &id, why, sizeof why), -ENOTCONN);
	}
	assert_int_equal(persist_session_kill(s, sleeper, SIGTERM), -ESRCH);
	assert_int_equal(persist_session_stop(s, 0, why, sizeof why), -ENOTCONN);
	persist_session_close(s);
	/* Still no server: OFFLINE started none. */
	assert_int_equal(persist_session_open(sdir, 0, &s, why, sizeof why), -ENOENT);
	server = 0;
}

/* How many entries dir holds (-1: unreadable). */
static int entries(const char *dir)
{
	struct dirent *d;
	int n = 0;
	DIR *dd = opendir(dir);

	if (!dd)
		return -1;
	while ((d = readdir(dd)))
		n += strcmp(d->d_name, ".") && strcmp(d->d_name, "..");
	closedir(dd);
	return n;
}

static void refused(const char *dir, int want, const char *words)
{
	struct persist_session *s = (struct persist_session *)1;
	char why[512] = "";
	int r = persist_session_open(dir, PERSIST_SESSION_START, &s, why, sizeof why);

	if (r != want)
		fail_msg("open %s: %d (%s), want %d", dir, r, why, want);
	assert_null(s);
	if (words && !strstr(why, words))
		fail_msg("open %s: why \"%s\" does not say \"%s\"", dir, why, words);
}

/* A controller SIGKILLed inside a blocking syscall it asked the server for
 * (pause, a read that never gets data, waitid) does not lock the next one
 * out: the next session takes over at once (the server's syscall ends with
 * EINTR), and a child that ended meanwhile has its status recorded. */
static void killed_inside_a_blocking_syscall(void **state)
{
	static const long calls[] = { __NR_pause, __NR_read, __NR_waitid };
	struct persist_session *s;
	struct persist_exit st;
	int64_t id;

	(void)state;
	for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
		/* It ends after the controller's death and the takeover, so the
		 * waitid blocks until then and its status waits for a record. */
		const char *const exit4[] = { "sh", "-c", "sleep 1.5; exit 4", NULL };
		struct timespec t0, t1;
		pid_t pid;
		int w;

		s = open_ok(PERSIST_SESSION_START);
		id = run_ok(s, NULL, exit4, 1);
		persist_session_close(s);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			struct persist_session *c;
			struct persist_thread *t;
			struct near_request q;
			int64_t fds = 0;
			if (persist_session_open(sdir, 0, &c, NULL, 0) < 0)
				_exit(2);
			t = persist_session_thread(c);
			if (calls[i] == __NR_read) {
				/* a pipe in the server whose write end it keeps */
				uint64_t at;
				if (transport_alloc(t->conn, 8, &at) < 0 ||
				    transport_call(t->conn, near_request_set(&q, __NR_pipe2, (int64_t)at, 0,
									     0, 0, 0, 0), &fds) < 0 ||
				    transport_read_mem(t->conn, &fds, at, 8) < 0)
					_exit(3);
				near_request_set(&q, __NR_read, (int)fds, (int64_t)at, 1, 0, 0, 0);
			} else if (calls[i] == __NR_waitid) {
				uint64_t at;
				if (transport_alloc(t->conn, 256, &at) < 0)
					_exit(3);
				/* WNOWAIT: the status stays for the session to record */
				near_request_set(&q, __NR_waitid, P_ALL, 0, (int64_t)at,
						 WEXITED | WNOWAIT, 0, 0);
			} else {
				near_request_set(&q, __NR_pause, 0, 0, 0, 0, 0, 0);
			}
			/* Blocks, the server inside the call, until we are killed. */
			transport_set_timeout(t->conn, -1);
			transport_call(t->conn, &q, &fds);
			_exit(4);
		}
		/* Let the call reach the server, then kill its controller. */
		usleep(300000);
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &w, 0), pid);
		assert_true(WIFSIGNALED(w));
		clock_gettime(CLOCK_MONOTONIC, &t0);
		s = open_ok(0);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		/* Served within a takeover's grace, not a 60 s deadline. */
		assert_true((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 <
			    (getenv("PERSIST_VALGRIND") ? 20000 : 5000));
		assert_int_equal(persist_session_wait(s, id, 20000, &st), 0);
		assert_false(st.killed);
		assert_int_equal(st.code, 4);
		persist_session_close(s);
	}
}

/* A server that ends while a session connects to it: its controller
 * asked for the exit (as stop does) and was SIGKILLed while the server was
 * stopped, so the exit runs once the next session is connecting.  That
 * session must start a new server, not fail with a reset connection
 * (found by tests/chaos: "taking over ...: Connection reset by peer"). */
static void server_ends_while_connecting(void **state)
{
	struct persist_session *s = open_ok(PERSIST_SESSION_START);
	int old = server, ready[2], go[2], w;
	pid_t a, b;
	char c;

	(void)state;
	persist_session_close(s);
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	fflush(NULL);
	a = fork();
	assert_true(a >= 0);
	if (a == 0) {
		struct persist_session *ctl;
		struct near_request q;
		struct persist_thread *t;
		if (persist_session_open(sdir, 0, &ctl, NULL, 0) < 0)
			_exit(2);
		t = persist_session_thread(ctl);
		if (write(ready[1], "1", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(3);
		/* The exit is sent, never answered: the server is stopped. */
		if (transport_submit(t->conn, near_request_set(&q, __NR_exit_group, 0, 0, 0, 0, 0,
								0)) < 0 ||
		    transport_flush(t->conn) < 0 || write(ready[1], "2", 1) != 1)
			_exit(4);
		pause();
		_exit(5);
	}
	assert_int_equal(read(ready[0], &c, 1), 1);
	kill(old, SIGSTOP);
	assert_int_equal(write(go[1], "g", 1), 1);
	assert_int_equal(read(ready[0], &c, 1), 1);
	kill(a, SIGKILL);
	assert_int_equal(waitpid(a, &w, 0), a);
	b = fork();
	assert_true(b >= 0);
	if (b == 0) {
		struct persist_session *ctl = NULL;
		char why[512] = "";
		int r = persist_session_open(sdir, PERSIST_SESSION_START, &ctl, why, sizeof why);
		if (r < 0)
			fprintf(stderr, "open while the server ends: %s: %s\n", strerror(-r), why);
		persist_session_close(ctl);
		_exit(r < 0);
	}
	/* Let it connect to the stopped server (and nudge it), then let the
	 * server run the exit. */
	nap_ms(slow(300));
	kill(old, SIGCONT);
	assert_int_equal(waitpid(b, &w, 0), b);
	assert_true(WIFEXITED(w));
	assert_int_equal(WEXITSTATUS(w), 0);
	await_gone(old, 5000);
	s = open_ok(0);
	persist_session_close(s);
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
}

static void state_dir_refused(void **state)
{
	char target[128], link[128], other[128], open_[128], file[128], deep[128];
	struct stat sb;
	int fd;

	(void)state;
	/* A symlink (planted by someone, say): refused, never followed. */
	snprintf(target, sizeof target, "%s/target", base);
	snprintf(link, sizeof link, "%s/link", base);
	assert_int_equal(mkdir(target, 0700), 0);
	assert_int_equal(symlink(target, link), 0);
	refused(link, -ELOOP, "symbolic link");
	assert_int_equal(entries(target), 0);
	/* ... also named with a trailing slash, which would follow it. */
	{
		char slashed[160];
		snprintf(slashed, sizeof slashed, "%s//", link);
		refused(slashed, -ELOOP, "symbolic link");
		assert_int_equal(entries(target), 0);
	}
	/* ... even a dangling one, whose target it must not create. */
	assert_int_equal(rmdir(target), 0);
	refused(link, -ELOOP, NULL);
	assert_int_equal(lstat(target, &sb), -1);

	/* Not ours. */
	snprintf(other, sizeof other, "%s/other", base);
	if (geteuid() == 0) {
		assert_int_equal(mkdir(other, 0700), 0);
		assert_int_equal(chown(other, 65534, 65534), 0);
	} else {
		snprintf(other, sizeof other, "/"); /* root's */
	}
	refused(other, -EPERM, "uid");
	if (geteuid() == 0)
		assert_int_equal(entries(other), 0);

	/* Open to others. */
	snprintf(open_, sizeof open_, "%s/open", base);
	assert_int_equal(mkdir(open_, 0700), 0);
	assert_int_equal(chmod(open_, 0755), 0);
	refused(open_, -EPERM, "chmod 700");
	assert_int_equal(entries(open_), 0);
	assert_int_equal(chmod(open_, 0710), 0);
	refused(open_, -EPERM, NULL);

	/* A file. */
	snprintf(file, sizeof file, "%s/file", base);
	fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	close(fd);
	refused(file, -ENOTDIR, NULL);

	/* A missing parent. */
	snprintf(deep, sizeof deep, "%s/no/such", base);
	refused(deep, -ENOENT, NULL);
	/* Bad flags, no out. */
	{
		struct persist_session *s;
		assert_int_equal(persist_session_open(sdir, 0x100, &s, NULL, 0), -EINVAL);
		assert_int_equal(persist_session_open(sdir, 0, NULL, NULL, 0), -EINVAL);
	}
	/* Nothing of all this started a server. */
	assert_int_equal(server, 0);
}

/* ---- the crash guarantee ---- */

/* What the controller that is killed does before it reaches its point. */
enum act { ACT_OPEN, ACT_RUN, ACT_WAIT, ACT_KILL, ACT_STOP };
/* What the test runs before that controller: PRE_STD a sleeper named svc
 * that lives on and an `exit 3` that is never waited for (so recovery has
 * a zombie to collect); PRE_VICTIMS two sleepers stop will end (one named,
 * in its own session) and the `exit 3`. */
enum pre { PRE_STD, PRE_VICTIMS };

struct crash_case {
	const char *point;
	enum pre pre;
	enum act act;
	int more;       /* records the controller adds */
	const char *found; /* a recovery finding the test's session must report, or NULL */
};

static const struct crash_case crash_cases[] = {
	{ "open:after-lock", PRE_STD, ACT_OPEN, 0, "zombie" },
	{ "open:after-connect", PRE_STD, ACT_OPEN, 0, "zombie" },
	{ "open:after-record-thread", PRE_STD, ACT_OPEN, 0, "zombie" },
	{ "recover:after-collect", PRE_STD, ACT_OPEN, 0, "zombie" },
	{ "recover:after-record", PRE_STD, ACT_OPEN, 0, "unreaped" },
	{ "run:before-intent", PRE_STD, ACT_RUN, 0, NULL },
	{ "run:after-intent", PRE_STD, ACT_RUN, 1, "never-started" },
	/* Born, not yet exec'd: the thread reaps the child itself when our
	 * connection ends, so nothing of it is left and its intent never
	 * started. */
	{ "run:after-born", PRE_STD, ACT_RUN, 1, "never-started" },
	{ "run:after-spawn", PRE_STD, ACT_RUN, 1, "matched" },
	{ "wait:after-wnowait", PRE_STD, ACT_WAIT, 1, "zombie" },
	{ "wait:after-record", PRE_STD, ACT_WAIT, 1, "unreaped" },
	{ "kill:after-signal", PRE_STD, ACT_KILL, 1, "zombie" },
	{ "stop:after-term", PRE_VICTIMS, ACT_STOP, 0, "zombie" },
	{ "stop:after-wnowait", PRE_VICTIMS, ACT_STOP, 0, "zombie" },
	{ "stop:after-record", PRE_VICTIMS, ACT_STOP, 0, "unreaped" },
};

/* The controller that dies: a fresh process, PERSIST_CRASH_AT set after
 * the fork, its own session.  Exit codes say where it went wrong. */
static void __attribute__((noreturn)) crashing_controller(const struct crash_case *cc)
{
	struct persist_session *s = NULL;
	struct persist_spawn sp = { 0 };
	struct persist_exit st;
	char why[512] = "";
	int64_t id;
	int r;

	setenv("PERSIST_CRASH_AT", cc->point, 1);
	r = persist_session_open(sdir, PERSIST_SESSION_START, &s, why, sizeof why);
	if (r < 0) {
		fprintf(stderr, "crashing controller (%s): open: %s\n", cc->point, why);
		_exit(10);
	}
	switch (cc->act) {
	case ACT_OPEN:
		break;
	case ACT_RUN:
		sp.argv = SLEEPER;
		r = persist_session_run(s, NULL, &sp, &id, why, sizeof why);
		break;
	case ACT_WAIT:
		sp.argv = EXIT3;
		r = persist_session_run(s, NULL, &sp, &id, why, sizeof why);
		if (r == 0)
			r = persist_session_wait(s, id, -1, &st);
		break;
	case ACT_KILL:
		sp.argv = VICTIM;
		r = persist_session_run(s, NULL, &sp, &id, why, sizeof why);
		if (r == 0)
			r = persist_session_kill(s, id, SIGTERM);
		break;
	case ACT_STOP:
		r = persist_session_stop(s, slow(5000), why, sizeof why);
		break;
	}
	fprintf(stderr, "crashing controller: %s was never reached (last call: %d %s)\n",
		cc->point, r, why);
	_exit(r < 0 ? 12 : 11);
}

/* The status a child's command gives, by its argv; 0 if it keeps running. */
static int expected_end(const struct persist_child_rec *c, int *state, int *code)
{
	if (c->argc == 2 && strcmp(c->argv[0], "sleep") == 0 && strcmp(c->argv[1], "3600") == 0)
		return 0;
	if (c->argc == 2 && strcmp(c->argv[0], "sleep") == 0 && strcmp(c->argv[1], "3601") == 0) {
		*state = PERSIST_CHILD_KILLED;
		*code = SIGTERM;
		return 1;
	}
	if (c->argc == 3 && strcmp(c->argv[0], "sh") == 0 && strcmp(c->argv[2], "exit 3") == 0) {
		*state = PERSIST_CHILD_EXITED;
		*code = 3;
		return 1;
	}
	*state = -1;
	*code = -1;
	return 1;
}

/* Wait (bounded) until every child of the server is a zombie or a sleeper
 * that lives on: what was signalled or ended has ended, so that the next
 * recovery sees the kernel settled. */
static void await_settled(int pid)
{
	long deadline = now_ms() + slow(5000);

	for (;;) {
		int kids[256], busy = 0;
		size_t n = proc_children(pid, kids, 256);
		for (size_t i = 0; i < n; i++)
			busy += !gone_or_zombie(kids[i]) && !cmdline_is(kids[i], (char *const *)SLEEPER);
		if (!busy || now_ms() > deadline)
			return;
		nap_ms(5);
	}
}

/* Everything the guarantee promises, after a new session's recovery.
 * Returns: the number of broken promises (each said on stderr). */
static int accounted(struct persist_session *s, const struct crash_case *cc, size_t want,
		     int fds_before)
{
	const struct persist_recover_report *rep = persist_session_report(s);
	struct persist_child_rec *recs;
	int kids[256], bad = 0, fds;
	size_t n = 0, nk;

#define BAD(...) (bad++, fprintf(stderr, "crash at %s: ", cc->point), fprintf(stderr, __VA_ARGS__), \
		  fputc('\n', stderr))
	assert_int_equal(persist_store_children(persist_session_store(s), 0, &recs, &n), 0);
	if (n != want)
		BAD("the store has %zu children, expected %zu", n, want);
	for (size_t i = 0; i < n; i++) {
		struct persist_child_rec *c = &recs[i];
		int st, code;
		if (c->state == PERSIST_CHILD_INTENT) {
			BAD("child %lld (%s) is left in state intent", (long long)c->id, c->argv[0]);
		} else if (c->state == PERSIST_CHILD_RUNNING) {
			unsigned long long start = 0;
			char ps = proc_state(c->pid, &start);
			if (!ps)
				BAD("running child %lld: pid %d does not exist", (long long)c->id, c->pid);
			else if (ps == 'Z')
				BAD("running child %lld: pid %d is a zombie", (long long)c->id, c->pid);
			else if (start != c->starttime)
				BAD("running child %lld: pid %d has start time %llu, recorded %llu",
				    (long long)c->id, c->pid, start, c->starttime);
			if (!is_child_of(server, c->pid))
				BAD("running child %lld: pid %d is not a child of the server %d",
				    (long long)c->id, c->pid, server);
			if (!cmdline_is(c->pid, c->argv))
				BAD("running child %lld: pid %d's cmdline is not its recorded argv "
				    "(%s ...)", (long long)c->id, c->pid, c->argv[0]);
			if (expected_end(c, &st, &code))
				BAD("child %lld (%s) should have ended, it is running", (long long)c->id,
				    c->argv[0]);
		} else if (c->state == PERSIST_CHILD_LOST) {
			/* Only an intent whose controller died before the execve. */
			if ((strcmp(cc->point, "run:after-intent") != 0 &&
			     strcmp(cc->point, "run:after-born") != 0) || !c->lost_reason ||
			    !strstr(c->lost_reason, "never started"))
				BAD("child %lld (%s) is lost: %s", (long long)c->id, c->argv[0],
				    c->lost_reason ? c->lost_reason : "?");
		} else if (!expected_end(c, &st, &code)) {
			BAD("child %lld (%s %s) ended (%s), it should run", (long long)c->id,
			    c->argv[0], c->argc > 1 ? c->argv[1] : "", persist_child_state_name(c->state));
		} else if ((int)c->state != st ||
			   (st == PERSIST_CHILD_EXITED ? c->exit_code : c->signal) != code) {
			BAD("child %lld (%s): %s %d, but its command gives %s %d", (long long)c->id,
			    c->argv[0], persist_child_state_name(c->state),
			    c->state == PERSIST_CHILD_EXITED ? c->exit_code : c->signal,
			    persist_child_state_name((enum persist_child_state)st), code);
		}
	}
	/* The kernel's side: every child of the server is a running record,
	 * none is a zombie, none is a fork of the server that never exec'd. */
	nk = proc_children(server, kids, 256);
	for (size_t k = 0; k < nk; k++) {
		char comm[64] = "", path[64];
		int fd, known = 0;
		snprintf(path, sizeof path, "/proc/%d/comm", kids[k]);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
			ssize_t l = read(fd, comm, sizeof comm - 1);
			comm[l > 0 ? l - 1 : 0] = 0;
			close(fd);
		}
		for (size_t i = 0; i < n; i++)
			known |= recs[i].state == PERSIST_CHILD_RUNNING && recs[i].pid == kids[k];
		if (proc_state(kids[k], NULL) == 'Z')
			BAD("the server's child %d (%s) is a zombie after recovery", kids[k], comm);
		if (!known)
			BAD("the server's child %d (%s) has no running record", kids[k], comm);
		if (strcmp(comm, "persist-server") == 0)
			BAD("the server's child %d is a fork of the server that never exec'd",
			    kids[k]);
	}
	if (rep->adopted)
		BAD("recovery adopted %zu children (every child was recorded or intended)",
		    rep->adopted);
	if (cc->found) {
		int seen = 0;
		for (size_t i = 0; i < rep->n; i++)
			seen |= strcmp(persist_found_name(rep->entries[i].found), cc->found) == 0;
		if (!seen)
			BAD("the recovery report has no '%s' entry", cc->found);
	}
	fds = fd_count(server);
	if (fds != fds_before) {
		BAD("the server holds %d fds, %d before", fds, fds_before);
		show_fds(server);
	}
	persist_child_recs_free(recs, n);
#undef BAD
	return bad;
}

/* The list above is every point the header names: a point added there
 * without a case here fails this test.  (Run from libpersist/, as make
 * check does; elsewhere the header is not found and this is skipped.) */
static void every_point_is_tested(void **state)
{
	char text[16384], *at, *end;
	size_t n, seen = 0;
	FILE *f = fopen("include/persist/session.h", "r");

	(void)state;
	if (!f)
		skip();
	n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[n] = 0;
	at = strstr(text, "PERSIST_CRASH_AT=POINT");
	assert_non_null(at);
	at = strstr(at, "(tests of the guarantee):");
	assert_non_null(at);
	at += strlen("(tests of the guarantee):");
	end = strstr(at, "*/");
	assert_non_null(end);
	*end = 0;
	while (*at) {
		char point[64];
		size_t len;
		int found = 0;
		at += strspn(at, " \t\n*,.");
		len = strcspn(at, " \t\n*,");
		if (!len)
			break;
		if (at[len - 1] == '.')
			len--;
		snprintf(point, sizeof point, "%.*s", (int)len, at);
		at += len;
		if (!strchr(point, ':'))
			continue;
		for (size_t i = 0; i < sizeof crash_cases / sizeof crash_cases[0]; i++)
			found |= strcmp(crash_cases[i].point, point) == 0;
		if (!found)
			fail_msg("crash point %s (session.h) has no case in test_session.c", point);
		seen++;
	}
	assert_int_equal(seen, sizeof crash_cases / sizeof crash_cases[0]);
}

static void crash_at(void **state)
{
	const struct crash_case *cc = *state;
	struct persist_session *s;
	struct persist_exit st;
	int64_t exit3;
	int fds_before, status, bad;
	size_t want = 3;
	pid_t pid;

	/* The world before the crash. */
	s = open_ok(PERSIST_SESSION_START);
	if (cc->pre == PRE_STD) {
		run_ok(s, "svc", SLEEPER, 0);
	} else {
		run_ok(s, NULL, VICTIM, 0);
		run_ok(s, "svc", VICTIM, 1);
	}
	exit3 = run_ok(s, NULL, EXIT3, 0);
	if (cc->pre == PRE_STD)
		want = 2;
	want += (size_t)cc->more;
	/* The `exit 3` has ended (a zombie recovery will collect), unwaited. */
	{
		struct persist_child_rec c = child(s, exit3);
		assert_true(await_zombie(c.pid));
		persist_child_rec_clear(&c);
	}
	fds_before = fd_count(server);
	assert_true(fds_before > 0);
	persist_session_close(s);

	/* The controller that dies at the point. */
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		crashing_controller(cc);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
		fail_msg("the controller crashing at %s was not killed by SIGKILL (status %#x)",
			 cc->point, status);

	/* A new controller finds everything accounted for. */
	await_settled(server);
	s = open_ok(0);
	assert_int_equal(persist_session_thread_rec(s)->pid, server);
	bad = accounted(s, cc, want, fds_before);
	if (bad)
		fail_msg("crash at %s: %d broken promises (above)", cc->point, bad);
	/* And it goes on: the `exit 3` reads back, stop settles the rest. */
	assert_int_equal(persist_session_wait(s, exit3, 0, &st), 0);
	assert_int_equal(st.code, 3);
	{
		char why[512] = "";
		size_t n;
		int pid_ = server;
		if (persist_session_stop(s, slow(2000), why, sizeof why) < 0)
			fail_msg("crash at %s: stop afterwards: %s", cc->point, why);
		assert_true(all_final(s, &n));
		assert_true(await_gone(pid_, 5000));
		server = 0;
	}
	persist_session_close(s);
}

static const char *self_exe; /* argv[0], for --stop-other */

/* A wait sleeps without the lock; another controller takes it and stops
 * the server meanwhile.  The wait answers from the store (SIGTERM, the
 * stop's) and leaves the session offline; under ASan or valgrind this also
 * proves the record the session held is freed when the offline store
 * replaces it (a leak once, found by the chaos test). */
static void wait_while_another_stops(void **state)
{
	struct persist_session *s;
	struct persist_exit st;
	int64_t sleeper;
	int status;
	pid_t other;

	(void)state;
	s = open_ok(PERSIST_SESSION_START);
	sleeper = run_ok(s, NULL, SLEEPER, 0);
	fflush(NULL);
	other = fork();
	assert_true(other >= 0);
	if (other == 0) {
		/* A program of its own (SQLite forbids using a connection
		 * across fork): stop_other below. */
		execl(self_exe, self_exe, "--stop-other", sdir, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(persist_session_wait(s, sleeper, 60000, &st), 0);
	assert_int_equal(st.exited, 1);
	assert_int_equal(st.killed, 1);
	assert_int_equal(st.code, SIGTERM);
	assert_int_equal(persist_session_connected(s), 0);
	assert_int_equal(waitpid(other, &status, 0), other);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	persist_session_close(s);
	server = 0;
}

/* test_session --stop-other DIR: the other controller of
 * wait_while_another_stops.  Its open blocks on the lock until the wait
 * lets it go.  Returns: the exit status. */
static int stop_other(const char *dir)
{
	struct persist_session *o = NULL;
	char why[512] = "";
	int r = persist_session_open(dir, 0, &o, why, sizeof why);

	if (r == 0)
		r = persist_session_stop(o, 300, why, sizeof why);
	if (r < 0)
		fprintf(stderr, "the other controller: %s: %s\n", strerror(-r), why);
	if (o)
		persist_session_close(o);
	return r < 0;
}

/* A log read here from offsets: the bytes after each only, at most
 * PERSIST_SESSION_LOG_CHUNK per call, nothing (and no error) at or past the
 * end; the whole-file read is its offset-0 case without the cap. */
static void log_read_from_offsets(void **state)
{
	enum { BIG = 2 * (1 << 20) + 12345 };
	struct persist_session *s;
	char path[PATH_MAX], *d, *big;
	uint64_t off = 0;
	size_t n, calls = 0;
	FILE *f;

	(void)state;
	s = open_ok(PERSIST_SESSION_START);
	assert_int_equal(persist_session_log_path(s, 7, 1, path, sizeof path), 0);
	*strrchr(path, '/') = 0;
	assert_true(mkdir(path, 0700) == 0 || errno == EEXIST);
	assert_int_equal(persist_session_log_path(s, 7, 1, path, sizeof path), 0);
	assert_int_equal(persist_session_log_read_from(s, 7, 1, 0, &d, &n), -ENOENT);
	assert_null(d);
	big = malloc(BIG);
	assert_non_null(big);
	for (size_t i = 0; i < BIG; i++)
		big[i] = (char)('a' + i % 23);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fwrite(big, 1, BIG, f), BIG);
	fclose(f);

	assert_int_equal(persist_session_log_read_from(s, 7, 1, 5, &d, &n), 0);
	assert_int_equal(n, PERSIST_SESSION_LOG_CHUNK);
	assert_memory_equal(d, big + 5, n);
	assert_int_equal(d[n], 0);
	free(d);
	/* A follower's loop: every byte once, in order. */
	do {
		assert_int_equal(persist_session_log_read_from(s, 7, 1, off, &d, &n), 0);
		assert_true(n <= PERSIST_SESSION_LOG_CHUNK);
		assert_true(off + n <= BIG);
		assert_memory_equal(d, big + off, n);
		free(d);
		off += n;
		calls++;
	} while (n == PERSIST_SESSION_LOG_CHUNK);
	assert_int_equal(off, BIG);
	assert_int_equal(calls, 3);
	for (uint64_t past = BIG; past <= BIG + 1000000; past += 1000000) {
		assert_int_equal(persist_session_log_read_from(s, 7, 1, past, &d, &n), 0);
		assert_int_equal(n, 0);
		assert_non_null(d);
		assert_int_equal(d[0], 0);
		free(d);
	}
	assert_int_equal(persist_session_log_read_from(s, 7, 1, (uint64_t)INT64_MAX + 1, &d, &n),
			 -EINVAL);
	assert_int_equal(persist_session_log_read_from(s, 7, 3, 0, &d, &n), -EINVAL);
	/* The whole file at once. */
	assert_int_equal(persist_session_log_read(s, 7, 1, &d, &n), 0);
	assert_int_equal(n, BIG);
	assert_memory_equal(d, big, n);
	free(d);
	free(big);
	persist_session_close(s);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest api[] = {
		cmocka_unit_test_setup_teardown(run_wait_kill, setup, teardown),
		cmocka_unit_test_setup_teardown(named_children, setup, teardown),
		cmocka_unit_test_setup_teardown(stop_then_offline, setup, teardown),
		cmocka_unit_test_setup_teardown(wait_while_another_stops, setup, teardown),
		cmocka_unit_test_setup_teardown(state_dir_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(killed_inside_a_blocking_syscall, setup, teardown),
		cmocka_unit_test_setup_teardown(server_ends_while_connecting, setup, teardown),
		cmocka_unit_test_setup_teardown(log_read_from_offsets, setup, teardown),
		cmocka_unit_test(every_point_is_tested),
	};
	enum { NCRASH = sizeof crash_cases / sizeof crash_cases[0] };
	struct CMUnitTest crash[NCRASH];
	static char names[NCRASH][64];

	self_exe = argv[0];
	if (argc == 3 && strcmp(argv[1], "--stop-other") == 0)
		return stop_other(argv[2]);
	int failed;

	/* Detached servers and their orphans come to us, not to init. */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	/* Under valgrind (--trace-children=yes) the server is traced, and so
	 * would be the system programs it runs for us: seconds each, and
	 * their /proc cmdline would be valgrind's (which this test, and
	 * recovery's match of an intent, compare with argv).  Those programs
	 * are not under test: skip them (the servers we start read this). */
	if (getenv("PERSIST_VALGRIND")) {
		const char *old = getenv("VALGRIND_OPTS");
		char opts[1024];
		snprintf(opts, sizeof opts, "%s%s--trace-children-skip=*/sleep,*/sh,*/dash,*/bash,"
			 "*/echo,*/true", old ? old : "", old ? " " : "");
		setenv("VALGRIND_OPTS", opts, 1);
	}
	for (size_t i = 0; i < NCRASH; i++) {
		snprintf(names[i], sizeof names[i], "crash_at %s", crash_cases[i].point);
		crash[i] = (struct CMUnitTest){ .name = names[i], .test_func = crash_at,
						.setup_func = setup, .teardown_func = teardown,
						.initial_state = (void *)&crash_cases[i] };
	}
	failed = cmocka_run_group_tests_name("session", api, NULL, NULL);
	failed += _cmocka_run_group_tests("session crash points", crash, NCRASH, NULL, NULL);
	return failed ? 1 : 0;
}
