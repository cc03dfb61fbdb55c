// SPDX-License-Identifier: MIT
/* 50 controllers at once on one state directory (6 under valgrind), with
 * no server running: they race to start it, and each runs a child.  Each
 * must end within the session's deadline, having either run its child or
 * failed with a line saying why; every child run is recorded running with
 * its real argv; there is one server; nothing is lost; stop then ends
 * everything and nothing is left. */
#include <fcntl.h>
#include "limits.h"

/* One controller, in its own process: its result as a line in base/ctl.N
 * ("ok ID" or "failed: WHY"), and exit 0 or 1. */
static void __attribute__((noreturn)) controller(int i)
{
	struct persist_session *s = NULL;
	char arg[16], why[512] = "", path[128], line[600];
	const char *av[] = { "sleep", arg, NULL };
	struct persist_spawn sp = { .argv = av };
	int64_t id = 0;
	int r, fd;

	snprintf(arg, sizeof arg, "%d", 2000 + i); /* its own argv, to tell it by */
	r = persist_session_open(lim_sdir, PERSIST_SESSION_START, &s, why, sizeof why);
	if (r == 0)
		r = persist_session_run(s, NULL, &sp, &id, why, sizeof why);
	persist_session_close(s);
	if (r == 0)
		snprintf(line, sizeof line, "ok %lld\n", (long long)id);
	else
		snprintf(line, sizeof line, "failed: %s: %s\n", strerror(-r), why);
	snprintf(path, sizeof path, "%s/ctl.%d", lim_base, i);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, line, strlen(line)) != (ssize_t)strlen(line))
		_exit(2);
	_exit(r == 0 ? 0 : 1);
}

static void fifty_controllers(void **state)
{
	enum { MAX = 50 };
	int n = lim_valgrind() ? 6 : MAX, ok = 0, failed = 0, status[MAX], done[MAX] = { 0 };
	int64_t ids[MAX] = { 0 };
	pid_t pids[MAX];
	long t0, deadline;
	struct persist_session *s;
	struct persist_child_rec *recs = NULL;
	char why[512] = "";
	int strays[8], live, fds_own;
	size_t nr = 0, running;

	(void)state;
	fds_own = lim_fds_fresh();
	t0 = now_ms();
	fflush(NULL);
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0)
			controller(i);
	}
	/* Each waits for the lock at most the session's deadline. */
	deadline = t0 + lim_slow(PERSIST_SESSION_DEADLINE_MS + 30000);
	do {
		live = 0;
		for (int i = 0; i < n; i++) {
			if (!done[i] && waitpid(pids[i], &status[i], WNOHANG) == pids[i])
				done[i] = 1;
			live += !done[i];
		}
		if (live)
			nap_ms(5);
	} while (live && now_ms() < deadline);
	for (int i = 0; i < n; i++) {
		char path[128], line[600] = "";
		ssize_t l;
		int fd;

		if (!done[i]) {
			kill(pids[i], SIGKILL);
			waitpid(pids[i], NULL, 0);
			fail_msg("controller %d did not end within the session's deadline", i);
		}
		snprintf(path, sizeof path, "%s/ctl.%d", lim_base, i);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		assert_true(fd >= 0);
		l = read(fd, line, sizeof line - 1);
		close(fd);
		line[l > 0 ? l : 0] = 0;
		if (WIFEXITED(status[i]) && WEXITSTATUS(status[i]) == 0 &&
		    sscanf(line, "ok %lld", (long long *)&ids[i]) == 1) {
			ok++;
		} else if (WIFEXITED(status[i]) && WEXITSTATUS(status[i]) == 1 &&
			   strncmp(line, "failed: ", 8) == 0 && strlen(line) > 12) {
			failed++;
			printf("    controller %d failed, saying why: %s", i, line);
		} else {
			fail_msg("controller %d ended with status %#x, saying '%s'", i, status[i],
				 line);
		}
	}
	printf("    %d controllers: %d ran their child, %d failed clearly, in %.1f s\n", n, ok,
	       failed, (now_ms() - t0) / 1000.0);
	assert_true(ok > 0);

	/* One server, and every child it has is one a controller ran. */
	s = lim_open(0);
	assert_int_equal(stray_count(strays), 1);
	assert_int_equal(strays[0], lim_server);
	running = lim_whole(s, fds_own);
	assert_int_equal(running, (size_t)ok);
	for (int i = 0; i < n; i++) {
		struct persist_child_rec c = { 0 };
		char arg[16];
		if (!ids[i])
			continue;
		snprintf(arg, sizeof arg, "%d", 2000 + i);
		assert_int_equal(persist_store_child_get(persist_session_store(s), ids[i], &c), 0);
		assert_int_equal(c.state, PERSIST_CHILD_RUNNING);
		assert_string_equal(c.argv[1], arg);
		assert_true(cmdline_is(c.pid, c.argv));
		persist_child_rec_clear(&c);
	}

	/* Stop: everything ends, nothing is left. */
	if (persist_session_stop(s, lim_slow(10000), why, sizeof why) < 0)
		fail_msg("stop: %s", why);
	assert_int_equal(persist_store_children(persist_session_store(s),
						persist_session_thread_rec(s)->id, &recs, &nr), 0);
	for (size_t i = 0; i < nr; i++)
		assert_true(recs[i].state == PERSIST_CHILD_KILLED ||
			    (recs[i].state == PERSIST_CHILD_LOST && recs[i].pid == 0));
	persist_child_recs_free(recs, nr);
	persist_session_close(s);
	for (int i = 0; i < lim_slow(5000) && stray_count(strays); i++)
		nap_ms(1);
	assert_int_equal(stray_count(strays), 0);
	lim_server = 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(fifty_controllers, lim_setup, lim_teardown),
	};

	lim_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
