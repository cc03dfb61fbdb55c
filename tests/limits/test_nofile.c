// SPDX-License-Identifier: MIT
/* A controller at its own RLIMIT_NOFILE.  The session needs fds of its own
 * (the lock, the socket, SQLite's files, a pidfd to wait on, the log
 * directory): with every fd but N taken, for each N from 0 up to what a
 * whole session needs, each call either works or fails with a negative
 * errno and a line saying why; nothing is lost in the thread (no intent
 * left, no child unrecorded, no fd left in the server); and once the fds
 * are free again, the same session (when it opened) and a new one work.
 *
 *   open_at_the_limit       open, run, wait, fd_get, kill with N fds free
 *   session_at_the_limit    the same calls in a session opened before */
#include <fcntl.h>
#include <sys/resource.h>
#include "limits.h"

static const char *const SLEEPER[] = { "sleep", "1000", NULL };
static const char *const SHORT[] = { "sleep", "0.01", NULL };
static int fds_own;   /* what the server holds of its own while we are connected */
static int64_t sleeper; /* a child that runs through it all */

/* ---- the fds of this process ---- */

static int fillers[1024], nfill;
static struct rlimit saved;

/* Take every fd but leave of them, under a soft limit of 128 (so that
 * the test does not depend on the machine's). */
static void exhaust(int leave)
{
	struct rlimit rl;
	int fd;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
	rl = saved;
	rl.rlim_cur = 128;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	nfill = 0;
	while (nfill < 1024 && (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
		fillers[nfill++] = fd;
	assert_int_equal(errno, EMFILE);
	while (leave-- > 0 && nfill > 0)
		close(fillers[--nfill]);
}

static void set_free(void)
{
	while (nfill > 0)
		close(fillers[--nfill]);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
}

/* A failed test leaves the fds taken: give them back before the next. */
static int teardown(void **state)
{
	if (nfill > 0) {
		while (nfill > 0)
			close(fillers[--nfill]);
		setrlimit(RLIMIT_NOFILE, &saved);
	}
	return lim_teardown(state);
}

static int own_fds(void)
{
	return fd_count(getpid());
}

/* ---- what a failure must say ---- */

/* A call that takes a why: on failure, a line of it.  Each distinct one
 * is shown once, so that a reader of the log sees what users would. */
static void said(const char *call, int leave, int r, const char *why)
{
	static char seen[32][300];
	static int nseen;

	if (r >= 0)
		return;
	if (!why[0])
		fail_msg("%s with %d fds free: %s, and no line saying why", call, leave,
			 strerror(-r));
	/* Clear: it names the cause, not a symptom further on. */
	if (r != -EMFILE || !strstr(why, strerror(EMFILE)))
		fail_msg("%s with %d fds free: %s: %s (not said to be for want of fds)", call,
			 leave, strerror(-r), why);
	for (int i = 0; i < nseen; i++)
		if (strcmp(seen[i], why) == 0)
			return;
	if (nseen < 32)
		snprintf(seen[nseen++], sizeof seen[0], "%s", why);
	printf("    %s with %d fds free: %s: %s\n", call, leave, strerror(-r), why);
}

static int setup(void **state)
{
	struct persist_session *s;
	struct persist_spawn sp = { .argv = SLEEPER };
	char why[512] = "";

	if (lim_setup(state) < 0)
		return -1;
	s = lim_open(PERSIST_SESSION_START);
	fds_own = fd_count(lim_server);
	assert_int_equal(persist_session_listen(s, "l", "tcp:127.0.0.1:0", why, sizeof why), 0);
	assert_int_equal(persist_session_run(s, NULL, &sp, &sleeper, why, sizeof why), 0);
	persist_session_close(s);
	return 0;
}

/* After the fds are free: a new session finds the thread whole, the
 * sleeper running, and everything works. */
static void whole_again(void)
{
	struct persist_session *s = lim_open(0);
	struct persist_spawn sp = { .argv = SHORT };
	struct persist_child_rec c = { 0 };
	struct persist_exit st;
	const struct handle_fd *h;
	char why[512] = "";
	int64_t id;

	lim_whole(s, fds_own);
	assert_int_equal(persist_store_child_get(persist_session_store(s), sleeper, &c), 0);
	assert_int_equal(c.state, PERSIST_CHILD_RUNNING);
	persist_child_rec_clear(&c);
	assert_int_equal(persist_session_run(s, NULL, &sp, &id, why, sizeof why), 0);
	assert_int_equal(persist_session_wait(s, id, -1, &st), 0);
	assert_int_equal(st.code, 0);
	assert_int_equal(persist_session_fd_get(s, "l", &h), 0);
	persist_session_close(s);
}

/* The calls a controller makes, with fds short; each either works or
 * fails clearly.  Returns: nothing. */
static void calls(struct persist_session *s, int leave)
{
	struct persist_spawn sp = { .argv = SHORT };
	struct persist_exit st;
	const struct handle_fd *h;
	char why[512] = "";
	int64_t id = 0;
	int r;

	r = persist_session_run(s, NULL, &sp, &id, why, sizeof why);
	said("run", leave, r, why);
	if (r == 0) {
		r = persist_session_wait(s, id, -1, &st);
		if (r < 0)
			printf("    wait with %d fds free: %s\n", leave, strerror(-r));
		assert_true(r == 0 || r == -EMFILE || r == -ENOTCONN);
	}
	r = persist_session_wait(s, sleeper, 0, &st);
	assert_true(r == -ETIMEDOUT || r == -EMFILE || r == -ENOTCONN);
	r = persist_session_fd_get(s, "l", &h);
	assert_true(r == 0 || r == -EMFILE || r == -ENOTCONN);
	r = persist_session_kill(s, sleeper, 0);
	assert_true(r == 0 || r == -EMFILE || r == -ENOTCONN);
}

static void open_at_the_limit(void **state)
{
	(void)state;
	for (int leave = 0; leave <= 12; leave++) {
		struct persist_session *s = NULL;
		char why[512] = "";
		int before = own_fds(), r;

		exhaust(leave);
		r = persist_session_open(lim_sdir, 0, &s, why, sizeof why);
		said("open", leave, r, why);
		if (r == 0)
			calls(s, leave);
		persist_session_close(s);
		set_free();
		/* Nothing of the session's is left open here either. */
		assert_int_equal(own_fds(), before);
		whole_again();
	}
}

static void session_at_the_limit(void **state)
{
	(void)state;
	for (int leave = 0; leave <= 6; leave++) {
		struct persist_session *s = lim_open(0);
		struct persist_spawn sp = { .argv = SHORT };
		struct persist_exit st;
		char why[512] = "";
		int64_t id;

		exhaust(leave);
		calls(s, leave);
		set_free();
		/* The same session works again. */
		assert_int_equal(persist_session_run(s, NULL, &sp, &id, why, sizeof why), 0);
		assert_int_equal(persist_session_wait(s, id, -1, &st), 0);
		persist_session_close(s);
		whole_again();
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(open_at_the_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(session_at_the_limit, setup, teardown),
	};

	lim_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
