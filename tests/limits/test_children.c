// SPDX-License-Identifier: MIT
/* 1000 live children in one thread (40 under valgrind): run them, and a
 * new session recovers every one with no error, each record a live child
 * of the server with its argv; the listing shows them all; stop ends them
 * all and the server, every record final, nothing left running.  The
 * times are printed (not asserted: the machine may be loaded). */
#include "limits.h"

static const char *const SLEEPER[] = { "sleep", "1000", NULL };

static void thousand_children(void **state)
{
	int n = lim_valgrind() ? 40 : 1000, fds_own, left[16];
	struct persist_session *s = lim_open(PERSIST_SESSION_START);
	struct persist_child_rec *recs = NULL;
	const struct persist_recover_report *rep;
	struct persist_spawn sp = { .argv = SLEEPER };
	char why[512] = "";
	size_t nr = 0, running = 0;
	long t0 = now_ms(), t1, t2;
	int64_t *ids = calloc((size_t)n, sizeof *ids);

	(void)state;
	assert_non_null(ids);
	fds_own = fd_count(lim_server);
	for (int i = 0; i < n; i++) {
		int r = persist_session_run(s, NULL, &sp, &ids[i], why, sizeof why);
		if (r < 0)
			fail_msg("run %d of %d: %s: %s", i + 1, n, strerror(-r), why);
	}
	t1 = now_ms();
	persist_session_close(s);

	/* A new session: its recovery finds every one. */
	s = lim_open(0);
	t2 = now_ms();
	rep = persist_session_report(s);
	assert_true(rep->thread_alive);
	assert_int_equal(rep->running, n);
	assert_int_equal(rep->lost, 0);
	assert_int_equal(lim_whole(s, fds_own), (size_t)n);

	/* The listing (what persistctl ps shows): every one, running, with
	 * its argv and the pid the kernel shows. */
	assert_int_equal(persist_store_children(persist_session_store(s),
						persist_session_thread_rec(s)->id, &recs, &nr), 0);
	assert_int_equal(nr, (size_t)n);
	for (size_t i = 0; i < nr; i++) {
		assert_int_equal(recs[i].id, ids[i]);
		assert_int_equal(recs[i].state, PERSIST_CHILD_RUNNING);
		assert_int_equal(recs[i].argc, 2);
		assert_string_equal(recs[i].argv[1], "1000");
		running += cmdline_is(recs[i].pid, recs[i].argv);
	}
	assert_int_equal(running, (size_t)n);
	persist_child_recs_free(recs, nr);
	printf("    %d children: run in %.1f s, a new session recovered them in %.2f s\n", n,
	       (t1 - t0) / 1000.0, (t2 - t1) / 1000.0);

	/* Stop ends them all, and the server. */
	t1 = now_ms();
	if (persist_session_stop(s, lim_slow(10000), why, sizeof why) < 0)
		fail_msg("stop: %s", why);
	printf("    stop ended them in %.1f s\n", (now_ms() - t1) / 1000.0);
	assert_int_equal(persist_store_children(persist_session_store(s),
						persist_session_thread_rec(s)->id, &recs, &nr), 0);
	for (size_t i = 0; i < nr; i++)
		if (recs[i].state != PERSIST_CHILD_KILLED || recs[i].signal != SIGTERM)
			fail_msg("after stop, child %lld is %s %d, not killed by SIGTERM",
				 (long long)recs[i].id, persist_child_state_name(recs[i].state),
				 recs[i].state == PERSIST_CHILD_EXITED ? recs[i].exit_code
								       : recs[i].signal);
	persist_child_recs_free(recs, nr);
	persist_session_close(s);
	/* Nothing left: the server (our child: we are its subreaper) has
	 * ended, and no orphan came to us. */
	for (int i = 0; i < lim_slow(5000) && kill(lim_server, 0) == 0; i++) {
		waitpid(lim_server, NULL, WNOHANG);
		nap_ms(1);
	}
	assert_int_equal(kill(lim_server, 0), -1);
	assert_int_equal(proc_children(getpid(), left, 16), 0);
	lim_server = 0;
	free(ids);
}

int main(void)
{
	struct stat st;

	/* 1000 runs are 3000 commits: on a disk each is an fsync, and the
	 * test is about the thread, not the disk. */
	if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0)
		lim_tmp = "/dev/shm";
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(thousand_children, lim_setup, lim_teardown),
	};

	lim_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
