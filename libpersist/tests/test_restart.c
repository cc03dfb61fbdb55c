// SPDX-License-Identifier: MIT
/* persist_session_restart against a real persist-server: a child is started
 * again the way it was started (argv, name, environment, cwd, stdin) as a
 * new child whose record names the old one; a running child is ended first
 * (SIGTERM, SIGKILL after the grace) and its status kept; a second restart
 * of the same child is refused; a controller SIGKILLed at each point of a
 * restart leaves a store that a new one finishes; and the schema step that
 * holds the spec upgrades a store of schema 2.
 *
 * What the kernel shows is read from /proc directly (the test runs on the
 * server's machine), what the child saw from its own output. */
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <persist/session.h>
#include "clock.h"
#include "proc_view.h"
#include "store_fixture.h"

static int slow(int ms)
{
	return getenv("PERSIST_VALGRIND") ? ms * 12 : ms;
}

static char base[64];  /* mkdtemp */
static char sdir[128]; /* base/state */
static int server;

/* 1 if pid exists and is not a zombie. */
static int alive(int pid)
{
	char st = proc_state(pid, NULL);

	return st && st != 'Z';
}

static int setup(void **state)
{
	(void)state;
	snprintf(base, sizeof base, "/tmp/persist-restart-XXXXXX");
	if (!mkdtemp(base))
		return -1;
	snprintf(sdir, sizeof sdir, "%s/state", base);
	server = 0;
	unsetenv("PERSIST_CRASH_AT");
	return 0;
}

static int teardown(void **state)
{
	char cmd[160];

	(void)state;
	if (server > 0) {
		/* Its children first (they would outlive it), then it. */
		FILE *f;
		int kid;
		snprintf(cmd, sizeof cmd, "/proc/%d/task/%d/children", server, server);
		if ((f = fopen(cmd, "r"))) {
			while (fscanf(f, "%d", &kid) == 1) {
				kill(-kid, SIGKILL);
				kill(kid, SIGKILL);
			}
			fclose(f);
		}
		kill(server, SIGKILL);
		for (int i = 0; i < 500 && kill(server, 0) == 0; i++) {
			waitpid(server, NULL, WNOHANG);
			nap_ms(10);
		}
	}
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

static struct persist_session *open_ok(unsigned flags)
{
	struct persist_session *s = NULL;
	char why[512] = "";
	int r = persist_session_open(sdir, flags, &s, why, sizeof why);

	if (r < 0)
		fail_msg("open %s: %s: %s", sdir, strerror(-r), why);
	if (persist_session_connected(s))
		server = persist_session_thread_rec(s)->pid;
	return s;
}

static struct persist_child_rec child(struct persist_session *s, int64_t id)
{
	struct persist_child_rec c = { 0 };

	assert_int_equal(persist_store_child_get(persist_session_store(s), id, &c), 0);
	return c;
}

/* Wait (bounded) until child id's stdout log holds want.  Returns: 1. */
static int log_has(struct persist_session *s, int64_t id, const char *want)
{
	char path[PATH_MAX], buf[4096];
	long deadline = now_ms() + slow(10000);

	assert_int_equal(persist_session_log_path(s, id, 1, path, sizeof path), 0);
	for (;;) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : 0;
		if (fd >= 0)
			close(fd);
		buf[n > 0 ? n : 0] = 0;
		if (strstr(buf, want))
			return 1;
		if (now_ms() > deadline) {
			fprintf(stderr, "log of child %lld: [%s], want [%s]\n", (long long)id, buf,
				want);
			return 0;
		}
		nap_ms(5);
	}
}

static int64_t restart_ok(struct persist_session *s, int64_t id, int grace_ms)
{
	char why[512] = "";
	int64_t nid = 0;
	int r = persist_session_restart(s, id, grace_ms, &nid, why, sizeof why);

	if (r < 0)
		fail_msg("restart %lld: %s: %s", (long long)id, strerror(-r), why);
	assert_true(nid > id);
	return nid;
}

/* The script prints what it was started with, then sleeps until TERM. */
static const char *const SHOW[] = {
	"sh", "-c", "echo \"FOO=$FOO cwd=$(pwd)\"; read line; echo \"stdin=$line\"; "
	"exec sleep 3600", NULL
};

static int64_t run_show(struct persist_session *s, const char *name)
{
	static const char *const env[] = { "FOO=bar baz", "PATH=/usr/bin:/bin", NULL };
	char in[128], why[512] = "";
	struct persist_spawn sp = { .argv = SHOW, .envp = env, .cwd = base, .stdin_path = in,
				    .new_session = 1 };
	int64_t id = 0;
	FILE *f;

	snprintf(in, sizeof in, "%s/input", base);
	f = fopen(in, "w");
	assert_non_null(f);
	fputs("from the file\n", f);
	fclose(f);
	if (persist_session_run(s, name, &sp, &id, why, sizeof why) < 0)
		fail_msg("run: %s", why);
	return id;
}

/* ---- the API ---- */

static void restart_the_same_way(void **state)
{
	struct persist_session *s;
	struct persist_child_rec a, b;
	struct persist_child_spawn sp;
	struct persist_exit st;
	char want[256], why[512] = "";
	int64_t id, nid, nid2 = 0;

	(void)state;
	s = open_ok(PERSIST_SESSION_START);
	id = run_show(s, "svc");
	snprintf(want, sizeof want, "FOO=bar baz cwd=%s\nstdin=from the file\n", base);
	assert_true(log_has(s, id, want));
	a = child(s, id);
	assert_true(alive(a.pid));
	assert_int_equal(a.restart_of, 0);

	nid = restart_ok(s, id, slow(5000));
	/* The old one: ended by SIGTERM, its status kept, reaped. */
	persist_child_rec_clear(&a);
	a = child(s, id);
	assert_int_equal(a.state, PERSIST_CHILD_KILLED);
	assert_int_equal(a.signal, SIGTERM);
	assert_false(alive(a.pid));
	/* The new one: the same name, argv, cwd; it saw the same env and stdin. */
	b = child(s, nid);
	assert_int_equal(b.state, PERSIST_CHILD_RUNNING);
	assert_int_equal(b.restart_of, id);
	assert_string_equal(b.name, "svc");
	assert_int_equal(b.argc, 3);
	assert_string_equal(b.argv[2], SHOW[2]);
	assert_string_equal(b.cwd, base);
	assert_true(alive(b.pid));
	assert_true(log_has(s, nid, want));
	assert_int_equal(persist_store_child_spawn(persist_session_store(s), nid, &sp), 0);
	assert_int_equal(sp.recorded, 1);
	assert_int_equal(sp.nenv, 2);
	assert_string_equal(sp.envp[0], "FOO=bar baz");
	assert_non_null(strstr(sp.stdin_path, "/input"));
	assert_null(sp.stdout_path); /* its own log files */
	assert_int_equal(sp.new_session, 1);
	assert_int_equal(sp.restarted_by, 0);
	persist_child_spawn_clear(&sp);
	assert_int_equal(persist_store_child_spawn(persist_session_store(s), id, &sp), 0);
	assert_int_equal(sp.restarted_by, nid);
	persist_child_spawn_clear(&sp);

	/* Restarted already: refused, naming the newer one. */
	assert_int_equal(persist_session_restart(s, id, 0, &nid2, why, sizeof why), -EALREADY);
	assert_int_equal(nid2, 0);
	assert_non_null(strstr(why, "restart that one"));
	/* A child that ended on its own is started again without a signal. */
	assert_int_equal(persist_session_kill(s, nid, SIGKILL), 0);
	assert_int_equal(persist_session_wait(s, nid, -1, &st), 0);
	assert_int_equal(st.killed, 1);
	nid2 = restart_ok(s, nid, 0);
	persist_child_rec_clear(&b);
	b = child(s, nid2);
	assert_int_equal(b.restart_of, nid);
	assert_true(log_has(s, nid2, want));

	/* What cannot be restarted. */
	assert_int_equal(persist_session_restart(s, 9999, 0, &nid, why, sizeof why), -ENOENT);
	assert_non_null(strstr(why, "no child 9999"));
	persist_child_rec_clear(&a);
	persist_child_rec_clear(&b);
	assert_int_equal(persist_session_stop(s, slow(2000), why, sizeof why), 0);
	assert_int_equal(persist_session_restart(s, id, 0, &nid, why, sizeof why), -ENOTCONN);
	persist_session_close(s);
}

/* A child that ignores SIGTERM gets SIGKILL after the grace. */
static void restart_kills_after_grace(void **state)
{
	static const char *const stubborn[] = {
		"sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done", NULL
	};
	struct persist_spawn sp = { .argv = stubborn, .new_session = 1 };
	struct persist_session *s;
	struct persist_child_rec a;
	char why[512] = "";
	int64_t id, nid;

	(void)state;
	s = open_ok(PERSIST_SESSION_START);
	assert_int_equal(persist_session_run(s, NULL, &sp, &id, why, sizeof why), 0);
	assert_true(log_has(s, id, "ready\n"));
	nid = restart_ok(s, id, 100);
	a = child(s, id);
	assert_int_equal(a.state, PERSIST_CHILD_KILLED);
	assert_int_equal(a.signal, SIGKILL);
	assert_false(alive(a.pid));
	persist_child_rec_clear(&a);
	a = child(s, nid);
	assert_int_equal(a.state, PERSIST_CHILD_RUNNING);
	assert_true(alive(a.pid));
	persist_child_rec_clear(&a);
	assert_int_equal(persist_session_stop(s, 100, why, sizeof why), 0);
	persist_session_close(s);
}

/* A controller SIGKILLed inside a restart: a new one finds the old child
 * settled (or settles it), and one restart more gives exactly one new
 * child, never two. */
static const char *const crash_points[] = {
	"restart:after-term", "restart:after-settle", "run:after-intent", "run:after-spawn",
};

static void crash_in_restart(void **state)
{
	const char *point = *state;
	struct persist_session *s;
	struct persist_child_rec a, *recs;
	char why[512] = "";
	int64_t id, nid = 0;
	size_t n, live = 0;
	int status;
	pid_t pid;

	s = open_ok(PERSIST_SESSION_START);
	id = run_show(s, "svc");
	assert_true(log_has(s, id, "stdin="));
	persist_session_close(s);

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int64_t x;
		setenv("PERSIST_CRASH_AT", point, 1);
		if (persist_session_open(sdir, 0, &s, why, sizeof why) < 0)
			_exit(10);
		persist_session_restart(s, id, slow(5000), &x, why, sizeof why);
		_exit(11); /* the point was never reached */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
		fail_msg("the controller crashing at %s was not SIGKILLed (status %#x)", point,
			 status);

	s = open_ok(0);
	/* Settle whatever the crash left (the old child may still be ending). */
	a = child(s, id);
	if (a.state == PERSIST_CHILD_RUNNING) {
		struct persist_exit st;
		assert_int_equal(persist_session_wait(s, id, slow(10000), &st), 0);
	}
	persist_child_rec_clear(&a);
	a = child(s, id);
	assert_int_equal(a.state, PERSIST_CHILD_KILLED);
	assert_int_equal(a.signal, SIGTERM);
	assert_false(alive(a.pid));
	persist_child_rec_clear(&a);
	/* Once more: a restart the crash did not get to (no new child
	 * exists: the intent is lost, never started) is done now; one it did
	 * is refused. */
	if (strcmp(point, "run:after-spawn") != 0)
		restart_ok(s, id, slow(5000));
	else
		assert_int_equal(persist_session_restart(s, id, 0, &nid, why, sizeof why),
				 -EALREADY);
	assert_int_equal(persist_store_children(persist_session_store(s), 0, &recs, &n), 0);
	for (size_t i = 0; i < n; i++) {
		if (recs[i].restart_of == id && recs[i].state == PERSIST_CHILD_RUNNING) {
			live++;
			assert_true(alive(recs[i].pid));
			assert_string_equal(recs[i].name, "svc");
		}
		assert_true(recs[i].state != PERSIST_CHILD_INTENT);
	}
	if (live != 1)
		fail_msg("crash at %s: %zu running children restart child %lld, not 1", point, live,
			 (long long)id);
	persist_child_recs_free(recs, n);
	assert_int_equal(persist_session_stop(s, slow(2000), why, sizeof why), 0);
	persist_session_close(s);
}

/* ---- the store ---- */

/* A store of schema 2 gets the columns on open; its records read back
 * without a spec (the defaults), and new ones keep theirs. */
static void schema_upgrade_from_2(void **state)
{
	static const char *const argv[] = { "true", NULL };
	static const char *const env[] = { "A=1", NULL };
	static const char *const fdn[] = { "web", "admin" };
	struct fixture *f = *state;
	struct persist_thread_rec t = { .socket_path = "/run/x.sock", .pid = getpid() };
	struct persist_child_spec spec = { .envp = env, .fd_names = fdn, .nfds = 2,
					   .restart_of = 0 };
	struct persist_child_spawn sp;
	struct persist_child_rec c;
	char v[64], err[256] = "";
	int64_t old, nw;

	assert_int_equal(persist_store_thread_put(f->st, &t), 0);
	assert_int_equal(persist_store_intent(f->st, t.id, "old", argv, "/", &old), 0);
	persist_store_close(f->st);
	f->st = NULL;
	raw_query(f->path, "DROP INDEX children_restart_of", v, sizeof v);
	{
		static const char *const v3[] = { "env", "stdin_path", "stdout_path",
						  "stderr_path", "fd_names", "new_session",
						  "restart_of" };
		char q[128];
		for (size_t i = 0; i < sizeof v3 / sizeof v3[0]; i++) {
			snprintf(q, sizeof q, "ALTER TABLE children DROP COLUMN %s", v3[i]);
			raw_query(f->path, q, v, sizeof v);
		}
	}
	/* And what schema 4 added to the threads (test_store_host.c). */
	raw_query(f->path, "ALTER TABLE threads DROP COLUMN host", v, sizeof v);
	raw_query(f->path, "ALTER TABLE threads DROP COLUMN boot_id", v, sizeof v);
	raw_query(f->path, "ALTER TABLE threads DROP COLUMN pidns", v, sizeof v);
	raw_query(f->path, "PRAGMA user_version = 2", v, sizeof v);
	raw_query(f->path, "SELECT count(*) FROM pragma_table_info('children')"
		  " WHERE name = 'restart_of'", v, sizeof v);
	assert_string_equal(v, "0");

	assert_int_equal(persist_store_open(f->path, 0, &f->st, err, sizeof err), 0);
	raw_query(f->path, "PRAGMA user_version", v, sizeof v);
	assert_int_equal(atoi(v), PERSIST_STORE_SCHEMA);
	assert_int_equal(persist_store_child_spawn(f->st, old, &sp), 0);
	assert_int_equal(sp.recorded, 0);
	assert_null(sp.envp);
	assert_int_equal(sp.new_session, 1);
	persist_child_spawn_clear(&sp);

	spec.restart_of = old;
	assert_int_equal(persist_store_intent_spec(f->st, t.id, NULL, argv, NULL, &spec, &nw), 0);
	assert_int_equal(persist_store_child_spawn(f->st, nw, &sp), 0);
	assert_int_equal(sp.recorded, 1);
	assert_int_equal(sp.nenv, 1);
	assert_string_equal(sp.envp[0], "A=1");
	assert_int_equal(sp.nfds, 2);
	assert_string_equal(sp.fd_names[1], "admin");
	assert_null(sp.fd_names[2]);
	assert_int_equal(sp.new_session, 0);
	persist_child_spawn_clear(&sp);
	assert_int_equal(persist_store_child_get(f->st, nw, &c), 0);
	assert_int_equal(c.restart_of, old);
	persist_child_rec_clear(&c);
	assert_int_equal(persist_store_child_spawn(f->st, old, &sp), 0);
	assert_int_equal(sp.restarted_by, nw);
	persist_child_spawn_clear(&sp);
	assert_int_equal(persist_store_child_spawn(f->st, 4242, &sp), -ENOENT);
	/* An empty environment is kept as empty, not as "the controller's". */
	spec.envp = (const char *const[]){ NULL };
	spec.nfds = 0;
	assert_int_equal(persist_store_intent_spec(f->st, t.id, NULL, argv, NULL, &spec, &nw), 0);
	assert_int_equal(persist_store_child_spawn(f->st, nw, &sp), 0);
	assert_non_null(sp.envp);
	assert_int_equal(sp.nenv, 0);
	assert_null(sp.fd_names);
	persist_child_spawn_clear(&sp);
	spec.fd_names = NULL;
	spec.nfds = 1;
	assert_int_equal(persist_store_intent_spec(f->st, t.id, NULL, argv, NULL, &spec, &nw),
			 -EINVAL);
}

int main(void)
{
	enum { NCRASH = sizeof crash_points / sizeof crash_points[0] };
	const struct CMUnitTest api[] = {
		cmocka_unit_test_setup_teardown(restart_the_same_way, setup, teardown),
		cmocka_unit_test_setup_teardown(restart_kills_after_grace, setup, teardown),
		cmocka_unit_test_setup_teardown(schema_upgrade_from_2, fixture_setup,
						fixture_teardown),
	};
	struct CMUnitTest crash[NCRASH];
	static char names[NCRASH][64];
	int r;

	/* A server detaches from whoever starts it: be the subreaper that
	 * gets it, so teardown can wait for it. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	r = cmocka_run_group_tests_name("restart", api, NULL, NULL);
	for (size_t i = 0; i < NCRASH; i++) {
		snprintf(names[i], sizeof names[i], "crash at %s", crash_points[i]);
		crash[i] = (struct CMUnitTest){ names[i], crash_in_restart, setup, teardown,
						(void *)crash_points[i] };
	}
	return r | cmocka_run_group_tests_name("restart crashes", crash, NULL, NULL);
}
