// SPDX-License-Identifier: MIT
/* The state store against real SQLite files and real processes. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "store_fixture.h"

static struct persist_thread_rec thread(struct persist_store *st, const char *sock)
{
	struct persist_thread_rec t = { .socket_path = (char *)sock, .pid = getpid() };

	assert_int_equal(persist_proc_starttime(getpid(), &t.starttime), 0);
	assert_int_equal(persist_store_thread_put(st, &t), 0);
	assert_true(t.id > 0);
	t.socket_path = NULL; /* not ours to free */
	return t;
}

/* A store written by a libpersist of schema 1 (named fds without their
 * identity) is brought to the current schema on open; its records stay, and a named
 * fd kept without identity is never verifiable (type 0). */
static void test_schema_upgrade_from_1(void **state)
{
	struct fixture *f = *state;
	struct persist_thread_rec t = thread(f->st, "/run/u.sock");
	struct persist_fd_rec *recs;
	struct persist_store *st;
	char err[256] = "", v[64];
	size_t n;

	assert_int_equal(persist_store_fd_put(f->st, t.id, "old", 7, "kept by 0.1"), 0);
	persist_store_close(f->st);
	f->st = NULL;
	raw_query(f->path, "ALTER TABLE children DROP COLUMN born_pid", v, sizeof v);
	raw_query(f->path, "ALTER TABLE children DROP COLUMN born_start", v, sizeof v);
	raw_query(f->path, "ALTER TABLE fds DROP COLUMN dev", v, sizeof v);
	raw_query(f->path, "ALTER TABLE fds DROP COLUMN ino", v, sizeof v);
	raw_query(f->path, "ALTER TABLE fds DROP COLUMN type", v, sizeof v);
	/* And what schema 3 added (test_restart.c tests that step). */
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
	raw_query(f->path, "ALTER TABLE threads DROP COLUMN host", v, sizeof v);
	raw_query(f->path, "ALTER TABLE threads DROP COLUMN boot_id", v, sizeof v);
	raw_query(f->path, "ALTER TABLE threads DROP COLUMN pidns", v, sizeof v);
	raw_query(f->path, "PRAGMA user_version = 1", v, sizeof v);
	raw_query(f->path, "SELECT count(*) FROM pragma_table_info('fds')", v, sizeof v);
	assert_string_equal(v, "4");
	raw_query(f->path, "SELECT count(*) FROM pragma_table_info('children')"
		  " WHERE name LIKE 'born%'", v, sizeof v);
	assert_string_equal(v, "0");

	assert_int_equal(persist_store_open(f->path, 0, &st, err, sizeof err), 0);
	raw_query(f->path, "PRAGMA user_version", v, sizeof v);
	assert_int_equal(atoi(v), PERSIST_STORE_SCHEMA);
	assert_int_equal(persist_store_fd_list(st, t.id, &recs, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(recs[0].name, "old");
	assert_int_equal(recs[0].fd, 7);
	assert_int_equal(recs[0].type, 0);
	persist_fd_recs_free(recs, n);
	f->st = st;
	persist_thread_rec_clear(&t);
}

static void test_schema_create_reopen(void **state)
{
	struct fixture *f = *state;
	struct persist_store *st;
	struct persist_thread_rec t = thread(f->st, "/run/a.sock"), back;
	char err[256] = "", v[64], p[128];
	int fd;

	raw_query(f->path, "PRAGMA user_version", v, sizeof v);
	assert_int_equal(atoi(v), PERSIST_STORE_SCHEMA);
	raw_query(f->path, "PRAGMA journal_mode", v, sizeof v);
	assert_string_equal(v, "wal");
	raw_query(f->path, "SELECT count(*) FROM sqlite_master WHERE type = 'table'", v, sizeof v);
	assert_string_equal(v, "3");

	/* Reopen without CREATE: the record is there, the schema untouched. */
	persist_store_close(f->st);
	assert_int_equal(persist_store_open(f->path, 0, &f->st, err, sizeof err), 0);
	assert_int_equal(persist_store_thread_get(f->st, t.id, &back), 0);
	assert_string_equal(back.socket_path, "/run/a.sock");
	assert_int_equal(back.pid, getpid());
	assert_true(back.created_ms > 0);
	persist_thread_rec_clear(&back);

	/* Missing file without CREATE: -ENOENT, and words saying so. */
	snprintf(p, sizeof p, "%s/missing.db", f->dir);
	assert_int_equal(persist_store_open(p, 0, &st, err, sizeof err), -ENOENT);
	assert_null(st);
	assert_true(strlen(err) > 0);
	assert_int_equal(persist_store_open(p, 0x80, &st, err, sizeof err), -EINVAL);

	/* Garbage: not a database. */
	snprintf(p, sizeof p, "%s/garbage.db", f->dir);
	fd = open(p, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	for (int i = 0; i < 64; i++)
		assert_int_equal(write(fd, "this is not a database, not at all", 32), 32);
	close(fd);
	assert_int_equal(persist_store_open(p, 0, &st, err, sizeof err), -EUCLEAN);

	/* Some other program's database. */
	snprintf(p, sizeof p, "%s/other.db", f->dir);
	{
		sqlite3 *db;
		assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, "CREATE TABLE t (x)", NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(db);
	}
	assert_int_equal(persist_store_open(p, 0, &st, err, sizeof err), -EUCLEAN);
	assert_non_null(strstr(err, "not a persist store"));

	/* A store from the future. */
	raw_query(f->path, "PRAGMA user_version = 99", v, sizeof v);
	assert_int_equal(persist_store_open(f->path, 0, &st, err, sizeof err), -EPROTONOSUPPORT);
	assert_non_null(strstr(err, "newer"));
	raw_query(f->path, "PRAGMA user_version = 1", v, sizeof v);
}

static void test_threads(void **state)
{
	struct fixture *f = *state;
	struct persist_thread_rec a = thread(f->st, "/run/a.sock"), b, *list;
	struct persist_thread_rec r = { .socket_path = "/run/a.sock", .pid = 4242,
					.starttime = 99, .epoch = 3 };
	size_t n;

	/* A restarted server on the same socket keeps its thread id. */
	assert_int_equal(persist_store_thread_put(f->st, &r), 0);
	assert_int_equal(r.id, a.id);
	assert_int_equal(persist_store_thread_find(f->st, "/run/a.sock", &b), 0);
	assert_int_equal(b.pid, 4242);
	assert_int_equal(b.starttime, 99);
	assert_int_equal(b.epoch, 3);
	persist_thread_rec_clear(&b);

	b = thread(f->st, "/run/b.sock");
	assert_int_not_equal(b.id, a.id);
	/* An update by id may not steal another thread's socket. */
	r.id = b.id;
	assert_int_equal(persist_store_thread_put(f->st, &r), -EEXIST);
	r.id = 999;
	assert_int_equal(persist_store_thread_put(f->st, &r), -ENOENT);
	r.id = 0;
	r.pid = 0;
	assert_int_equal(persist_store_thread_put(f->st, &r), -EINVAL);

	assert_int_equal(persist_store_thread_list(f->st, &list, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].socket_path, "/run/a.sock");
	assert_string_equal(list[1].socket_path, "/run/b.sock");
	persist_thread_recs_free(list, n);

	assert_int_equal(persist_store_thread_del(f->st, b.id), 0);
	assert_int_equal(persist_store_thread_del(f->st, b.id), -ENOENT);
	assert_int_equal(persist_store_thread_get(f->st, b.id, &r), -ENOENT);
	assert_int_equal(persist_store_thread_find(f->st, "/nope", &r), -ENOENT);
	assert_non_null(strstr(persist_store_errmsg(f->st), "/nope"));
}

static void test_transitions(void **state)
{
	struct fixture *f = *state;
	struct persist_thread_rec t = thread(f->st, "/run/a.sock");
	const char *argv[] = { "/bin/true", NULL };
	struct persist_child_rec c;
	int64_t id, id2, id3;

	assert_int_equal(persist_store_intent(f->st, t.id, "web", argv, "/srv", &id), 0);
	assert_int_equal(persist_store_child_get(f->st, id, &c), 0);
	assert_int_equal(c.state, PERSIST_CHILD_INTENT);
	assert_int_equal(c.pid, 0);
	assert_int_equal(c.exit_code, -1);
	assert_int_equal(c.ended_ms, 0);
	assert_string_equal(c.name, "web");
	assert_string_equal(c.cwd, "/srv");
	assert_int_equal(c.thread_id, t.id);
	persist_child_rec_clear(&c);

	/* Not running yet: it cannot end. */
	assert_int_equal(persist_store_ended(f->st, id, 0, 0, 0), -EINVAL);
	assert_non_null(strstr(persist_store_errmsg(f->st), "intent"));
	assert_int_equal(persist_store_started(f->st, id, 0, 1), -EINVAL);
	assert_int_equal(persist_store_started(f->st, id, 1234, 5678), 0);
	/* The same record again is a no-op (a retry after a crash)... */
	assert_int_equal(persist_store_started(f->st, id, 1234, 5678), 0);
	/* ... another pid or start time is not. */
	assert_int_equal(persist_store_started(f->st, id, 1235, 5678), -EINVAL);
	assert_int_equal(persist_store_started(f->st, id, 1234, 5679), -EINVAL);

	/* A live name is taken; bad statuses are refused. */
	assert_int_equal(persist_store_intent(f->st, t.id, "web", argv, NULL, &id2), -EEXIST);
	assert_int_equal(persist_store_ended(f->st, id, 256, 0, 0), -EINVAL);
	assert_int_equal(persist_store_ended(f->st, id, 0, 1, 0), -EINVAL);
	assert_int_equal(persist_store_ended(f->st, id, 3, 0, 1700000000123), 0);
	/* Ended twice: refused, and the first status stays. */
	assert_int_equal(persist_store_ended(f->st, id, 4, 0, 0), -EINVAL);
	assert_int_equal(persist_store_lost(f->st, id, "late"), -EINVAL);
	assert_int_equal(persist_store_started(f->st, id, 1, 1), -EINVAL);
	assert_int_equal(persist_store_child_get(f->st, id, &c), 0);
	assert_int_equal(c.state, PERSIST_CHILD_EXITED);
	assert_int_equal(c.exit_code, 3);
	assert_int_equal(c.signal, 0);
	assert_int_equal(c.pid, 1234);
	assert_int_equal(c.starttime, 5678);
	assert_true(c.ended_ms == 1700000000123);
	assert_true(c.started_ms > 0);
	persist_child_rec_clear(&c);

	/* The name is free again once its child ended; find gives the newest. */
	assert_int_equal(persist_store_intent(f->st, t.id, "web", argv, NULL, &id2), 0);
	assert_int_equal(persist_store_child_find(f->st, t.id, "web", &c), 0);
	assert_int_equal(c.id, id2);
	persist_child_rec_clear(&c);
	assert_int_equal(persist_store_child_find(f->st, 0, "web", &c), 0);
	assert_int_equal(c.id, id2);
	persist_child_rec_clear(&c);
	assert_int_equal(persist_store_child_find(f->st, t.id, "db", &c), -ENOENT);

	/* Killed by a signal. */
	assert_int_equal(persist_store_started(f->st, id2, 2000, 1), 0);
	assert_int_equal(persist_store_ended(f->st, id2, SIGKILL, 1, 0), 0);
	assert_int_equal(persist_store_child_get(f->st, id2, &c), 0);
	assert_int_equal(c.state, PERSIST_CHILD_KILLED);
	assert_int_equal(c.signal, SIGKILL);
	assert_int_equal(c.exit_code, -1);
	assert_true(c.ended_ms > 0);
	persist_child_rec_clear(&c);

	/* An intent lost (the spawn failed), then final. */
	assert_int_equal(persist_store_intent(f->st, t.id, NULL, argv, NULL, &id3), 0);
	assert_int_equal(persist_store_lost(f->st, id3, ""), -EINVAL);
	assert_int_equal(persist_store_lost(f->st, id3, "exec failed: ENOENT"), 0);
	assert_int_equal(persist_store_lost(f->st, id3, "again"), -EINVAL);
	assert_int_equal(persist_store_started(f->st, id3, 5, 5), -EINVAL);
	assert_int_equal(persist_store_child_get(f->st, id3, &c), 0);
	assert_int_equal(c.state, PERSIST_CHILD_LOST);
	assert_string_equal(c.lost_reason, "exec failed: ENOENT");
	assert_null(c.name);
	assert_null(c.cwd);
	persist_child_rec_clear(&c);

	/* Unknown ids, unknown threads, no argv. */
	assert_int_equal(persist_store_started(f->st, 9999, 1, 1), -ENOENT);
	assert_int_equal(persist_store_ended(f->st, 9999, 0, 0, 0), -ENOENT);
	assert_int_equal(persist_store_lost(f->st, 9999, "x"), -ENOENT);
	assert_int_equal(persist_store_child_get(f->st, 9999, &c), -ENOENT);
	assert_int_equal(persist_store_intent(f->st, 9999, NULL, argv, NULL, &id3), -ENOENT);
	assert_int_equal(persist_store_intent(f->st, t.id, NULL, (const char *[]){ NULL }, NULL,
					      &id3), -EINVAL);

	/* Deleting the thread takes its children with it. */
	assert_int_equal(persist_store_thread_del(f->st, t.id), 0);
	assert_int_equal(persist_store_child_get(f->st, id, &c), -ENOENT);
}

static void test_argv_roundtrip(void **state)
{
	struct fixture *f = *state;
	struct persist_thread_rec t = thread(f->st, "/run/a.sock");
	const char *argv[] = { "/bin/sh", "-c", "echo \"a b\" 'c d'", "", "with space",
			       "(paren) \\back\\", "", "tab\there", "new\nline", "\xff\xfe", "",
			       NULL };
	const size_t argc = sizeof argv / sizeof argv[0] - 1;
	struct persist_child_rec c, *all;
	char **v;
	void *blob;
	size_t len, n;
	int64_t id;

	assert_int_equal(persist_store_intent(f->st, t.id, NULL, argv, NULL, &id), 0);
	assert_int_equal(persist_store_child_get(f->st, id, &c), 0);
	assert_int_equal(c.argc, argc);
	for (size_t i = 0; i < argc; i++)
		assert_string_equal(c.argv[i], argv[i]);
	assert_null(c.argv[argc]);
	persist_child_rec_clear(&c);

	assert_int_equal(persist_store_children(f->st, t.id, &all, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(all[0].argc, argc);
	assert_string_equal(all[0].argv[2], argv[2]);
	persist_child_recs_free(all, n);

	/* The codec alone: empty argv, empty strings, a blob without its NUL. */
	assert_int_equal(persist_argv_encode((const char *[]){ NULL }, &blob, &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(persist_argv_decode(blob, len, &v, &n), 0);
	assert_int_equal(n, 0);
	assert_null(v[0]);
	free(v);
	free(blob);
	assert_int_equal(persist_argv_encode((const char *[]){ "", "", NULL }, &blob, &len), 0);
	assert_int_equal(len, 2);
	assert_int_equal(persist_argv_decode(blob, len, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0], "");
	assert_string_equal(v[1], "");
	free(v);
	free(blob);
	assert_int_equal(persist_argv_decode("ab\0cd", 5, &v, &n), -EINVAL);
	assert_null(v);
}

static void test_fds(void **state)
{
	struct fixture *f = *state;
	struct persist_thread_rec t = thread(f->st, "/run/a.sock");
	struct persist_fd_rec *l;
	size_t n;

	assert_int_equal(persist_store_fd_put(f->st, t.id, "listen", 3, "the listener"), 0);
	assert_int_equal(persist_store_fd_put(f->st, t.id, "log", 7, NULL), 0);
	assert_int_equal(persist_store_fd_put(f->st, t.id, "listen", 4, "moved"), 0);
	assert_int_equal(persist_store_fd_put(f->st, t.id, "bad", -1, NULL), -EINVAL);
	assert_int_equal(persist_store_fd_put(f->st, 9999, "x", 1, NULL), -ENOENT);
	assert_int_equal(persist_store_fd_list(f->st, t.id, &l, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(l[0].name, "listen");
	assert_int_equal(l[0].fd, 4);
	assert_string_equal(l[0].description, "moved");
	assert_string_equal(l[1].name, "log");
	assert_null(l[1].description);
	persist_fd_recs_free(l, n);
	assert_int_equal(persist_store_fd_del(f->st, t.id, "log"), 0);
	assert_int_equal(persist_store_fd_del(f->st, t.id, "log"), -ENOENT);
	assert_int_equal(persist_store_fd_list(f->st, t.id, &l, &n), 0);
	assert_int_equal(n, 1);
	persist_fd_recs_free(l, n);
}

#define WRITERS 20
#define EACH 50

/* One of the concurrent writers: opens (maybe creates) the store itself,
 * records EACH children from intent to end.  Exit status: 0, or the step
 * that failed. */
static int writer(const char *path, int k)
{
	struct persist_thread_rec t = { .socket_path = "/run/shared.sock", .pid = getpid() };
	struct persist_store *st;
	char err[256], name[32];
	const char *argv[] = { "worker", name, NULL };
	int64_t id;

	if (persist_store_open(path, PERSIST_STORE_CREATE, &st, err, sizeof err) < 0) {
		fprintf(stderr, "writer %d: open: %s\n", k, err);
		return 1;
	}
	if (persist_proc_starttime(getpid(), &t.starttime) < 0 ||
	    persist_store_thread_put(st, &t) < 0) {
		fprintf(stderr, "writer %d: thread: %s\n", k, persist_store_errmsg(st));
		return 2;
	}
	for (int i = 0; i < EACH; i++) {
		snprintf(name, sizeof name, "w%d-%d", k, i);
		if (persist_store_intent(st, t.id, name, argv, "/", &id) < 0 ||
		    persist_store_started(st, id, getpid(), t.starttime) < 0 ||
		    persist_store_ended(st, id, i % 256, 0, 0) < 0) {
			fprintf(stderr, "writer %d: child %d: %s\n", k, i, persist_store_errmsg(st));
			return 3;
		}
	}
	persist_store_close(st);
	return 0;
}

static void test_concurrent_writers(void **state)
{
	struct fixture *f = *state;
	char path[128], v[64];
	pid_t pids[WRITERS];
	int go[2], status, bad = 0;
	char c;

	/* A fresh file: the writers also race to create the schema. */
	snprintf(path, sizeof path, "%s/shared.db", f->dir);
	assert_int_equal(pipe(go), 0);
	for (int k = 0; k < WRITERS; k++) {
		pids[k] = fork();
		assert_true(pids[k] >= 0);
		if (pids[k] == 0) {
			close(go[1]);
			/* All start together when the pipe closes. */
			(void)!read(go[0], &c, 1);
			_exit(writer(path, k));
		}
	}
	close(go[0]);
	close(go[1]);
	/* All of them first: a failed assert must not pull the directory
	 * from under writers still running. */
	for (int k = 0; k < WRITERS; k++) {
		assert_int_equal(waitpid(pids[k], &status, 0), pids[k]);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			bad++;
	}
	assert_int_equal(bad, 0);
	raw_query(path, "SELECT count(*) FROM children WHERE state = 'exited'", v, sizeof v);
	assert_string_equal(v, "1000");
	raw_query(path, "SELECT count(DISTINCT name) FROM children", v, sizeof v);
	assert_string_equal(v, "1000");
	raw_query(path, "SELECT count(*) FROM threads", v, sizeof v);
	assert_string_equal(v, "1");
	raw_query(path, "PRAGMA integrity_check", v, sizeof v);
	assert_string_equal(v, "ok");
	raw_query(path, "PRAGMA foreign_key_check", v, sizeof v);
	assert_string_equal(v, "");
}

static void test_proc_stat(void **state)
{
	struct persist_proc_stat ps, self;
	int p[2], q[2], status;
	unsigned long long ticks;
	pid_t pid;
	char c;

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(pipe(q), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[1]);
		/* A name built to fool a parser that stops at the first ')'. */
		prctl(PR_SET_NAME, "a) (b ) c", 0, 0, 0);
		(void)!write(q[1], "x", 1);
		(void)!read(p[0], &c, 1);
		_exit(0);
	}
	assert_int_equal(read(q[0], &c, 1), 1);
	assert_int_equal(persist_proc_stat(pid, &ps), 0);
	assert_string_equal(ps.comm, "a) (b ) c");
	assert_int_equal(ps.ppid, getpid());
	assert_true(ps.state == 'S' || ps.state == 'R');
	assert_int_equal(persist_proc_stat(getpid(), &self), 0);
	assert_true(ps.starttime >= self.starttime);
	assert_int_equal(persist_proc_starttime(pid, &ticks), 0);
	assert_true(ticks == ps.starttime);

	close(p[1]);
	/* A zombie keeps its start time and says Z. */
	for (int i = 0; i < 2000; i++) {
		assert_int_equal(persist_proc_stat(pid, &ps), 0);
		if (ps.state == 'Z')
			break;
		usleep(1000);
	}
	assert_int_equal(ps.state, 'Z');
	assert_true(ps.starttime == ticks);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(persist_proc_stat(pid, &ps), -ESRCH);
	assert_int_equal(persist_proc_starttime(0x7fffffff, &ticks), -ESRCH);
	assert_int_equal(persist_proc_stat(-1, &ps), -ESRCH);
	close(p[0]);
	close(q[0]);
	close(q[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_schema_upgrade_from_1, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_schema_create_reopen, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_threads, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_transitions, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_argv_roundtrip, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_fds, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_writers, fixture_setup,
						fixture_teardown),
		cmocka_unit_test(test_proc_stat),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
