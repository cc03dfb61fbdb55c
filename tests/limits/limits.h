/* SPDX-License-Identifier: MIT */
/* What the limits tests share: a state directory per test, its server
 * ended at teardown even after a failure, and the check that a thread is
 * whole: every record against the kernel, every child of the server
 * recorded, the server's fds what it owns.  The kernel's view comes from
 * /proc directly (libpersist/tests/proc_view.h), not from the library
 * under test. */
#ifndef PERSIST_TESTS_LIMITS_H
#define PERSIST_TESTS_LIMITS_H

#include <errno.h>
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
#include <persist/session.h>
#include "clock.h"
#include "proc_view.h"

/* Under valgrind (VALGRIND=1 traces children) a server takes seconds to
 * start: bounds stretch, and the big numbers shrink. */
static inline int lim_valgrind(void)
{
	return getenv("PERSIST_VALGRIND") != NULL;
}

static inline int lim_slow(int ms)
{
	return lim_valgrind() ? ms * 12 : ms;
}

static char lim_base[64], lim_sdir[128];
/* Where state directories are made: /tmp, or a tmpfs for a test about
 * the thread rather than the disk (a commit there costs no fsync). */
static const char *lim_tmp = "/tmp";
static int lim_server; /* ended at teardown */

/* Before the tests: the servers detach to us (we are their subreaper),
 * and under valgrind (--trace-children=yes) the system programs the
 * server runs are not traced: seconds each, and a /proc cmdline of
 * valgrind's, not their argv. */
static inline void lim_init(void)
{
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	if (lim_valgrind()) {
		const char *old = getenv("VALGRIND_OPTS");
		char opts[1024];
		snprintf(opts, sizeof opts, "%s%s--trace-children-skip=*/sleep,*/sh,*/dash,*/bash,"
			 "*/true", old ? old : "", old ? " " : "");
		setenv("VALGRIND_OPTS", opts, 1);
	}
}


static inline int lim_setup(void **state)
{
	(void)state;
	snprintf(lim_base, sizeof lim_base, "%s/persist-limits-XXXXXX", lim_tmp);
	if (!mkdtemp(lim_base))
		return -1;
	snprintf(lim_sdir, sizeof lim_sdir, "%s/state", lim_base);
	lim_server = 0;
	return 0;
}

static inline int lim_teardown(void **state)
{
	char cmd[128];

	(void)state;
	proc_kill_tree(lim_server, lim_slow(5000));
	lim_server = 0;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", lim_base);
	return system(cmd) == 0 ? 0 : -1;
}

static inline struct persist_session *lim_open(unsigned flags)
{
	struct persist_session *s = NULL;
	char why[512] = "";
	int r = persist_session_open(lim_sdir, flags, &s, why, sizeof why);

	if (r < 0)
		fail_msg("open %s: %s (%s)", lim_sdir, strerror(-r), why);
	lim_server = persist_session_thread_rec(s)->pid;
	return s;
}

/* Our live children, zombies reaped: once the controllers are done, the
 * servers (a server detaches to its subreaper, us) and orphans of dead
 * ones.  Returns: how many (up to 8 into out). */
static inline int stray_count(int *out)
{
	int kids[64], n = 0;
	size_t nk = proc_children(getpid(), kids, 64);

	for (size_t i = 0; i < nk; i++) {
		char st = proc_state(kids[i], NULL);
		if (st == 'Z' || st == 'X')
			waitpid(kids[i], NULL, WNOHANG);
		else if (st && n < 8)
			out[n++] = kids[i];
	}
	return n;
}

/* What a fresh server holds of its own while a session is connected
 * (stdio, its socket, the connection), measured on one started for it
 * in lim_base/fresh and stopped again.  Returns: the count. */
static inline int lim_fds_fresh(void)
{
	struct persist_session *s = NULL;
	char dir[128], why[512] = "";
	int n, pid;

	snprintf(dir, sizeof dir, "%s/fresh", lim_base);
	if (persist_session_open(dir, PERSIST_SESSION_START, &s, why, sizeof why) < 0)
		fail_msg("open %s: %s", dir, why);
	pid = persist_session_thread_rec(s)->pid;
	n = fd_count(pid);
	if (persist_session_stop(s, 1000, why, sizeof why) < 0)
		fail_msg("stop %s: %s", dir, why);
	persist_session_close(s);
	for (int i = 0; i < lim_slow(5000) && kill(pid, 0) == 0; i++) {
		waitpid(pid, NULL, WNOHANG);
		nap_ms(1);
	}
	return n;
}

/* Is the thread whole?  Through s (connected: its recovery has just
 * run): no intent; each running record a live child of the server with
 * its start time and argv; a lost record never had a pid; every child of
 * the server has a running record; the server holds fds_own fds of its
 * own plus one per kept fd that still names its file.
 * Returns: the number of running records. */
static inline size_t lim_whole(struct persist_session *s, int fds_own)
{
	static int kids[8192];
	struct persist_child_rec *recs = NULL;
	struct persist_fd_rec *fds = NULL;
	int server = persist_session_thread_rec(s)->pid;
	size_t n = 0, nf = 0, nk, running = 0, verified = 0;
	const struct persist_recover_report *rep = persist_session_report(s);

	for (size_t i = 0; i < rep->n; i++)
		if (rep->entries[i].error)
			fail_msg("recovery: child %lld (pid %d): %s: %s",
				 (long long)rep->entries[i].child_id, rep->entries[i].pid,
				 strerror(-rep->entries[i].error),
				 rep->entries[i].detail ? rep->entries[i].detail : "");
	assert_int_equal(persist_store_children(persist_session_store(s),
						persist_session_thread_rec(s)->id, &recs, &n), 0);
	nk = proc_children(server, kids, 8192);
	for (size_t i = 0; i < n; i++) {
		const struct persist_child_rec *c = &recs[i];
		unsigned long long start = 0;
		int mine = 0;

		if (c->state == PERSIST_CHILD_INTENT)
			fail_msg("child %lld is left in state intent", (long long)c->id);
		if (c->state == PERSIST_CHILD_LOST && c->pid != 0)
			fail_msg("child %lld (pid %d) ran and is lost: %s", (long long)c->id, c->pid,
				 c->lost_reason ? c->lost_reason : "");
		if (c->state != PERSIST_CHILD_RUNNING)
			continue;
		running++;
		for (size_t k = 0; k < nk; k++)
			mine |= kids[k] == c->pid;
		if (!proc_state(c->pid, &start) || start != c->starttime || !mine ||
		    !cmdline_is(c->pid, c->argv))
			fail_msg("running child %lld (pid %d) is not the server's child it says",
				 (long long)c->id, c->pid);
	}
	for (size_t k = 0; k < nk; k++) {
		unsigned long long start = 0;
		int known = 0;
		proc_state(kids[k], &start);
		for (size_t i = 0; i < n; i++)
			known |= recs[i].state == PERSIST_CHILD_RUNNING && recs[i].pid == kids[k] &&
				 recs[i].starttime == start;
		if (!known)
			fail_msg("the server's child %d has no running record", kids[k]);
	}
	persist_child_recs_free(recs, n);
	assert_int_equal(persist_store_fd_list(persist_session_store(s),
					       persist_session_thread_rec(s)->id, &fds, &nf), 0);
	for (size_t i = 0; i < nf; i++) {
		char path[64];
		struct stat st;
		snprintf(path, sizeof path, "/proc/%d/fd/%d", server, fds[i].fd);
		verified += stat(path, &st) == 0 && (uint64_t)st.st_ino == fds[i].ino &&
			    (uint64_t)st.st_dev == fds[i].dev;
	}
	persist_fd_recs_free(fds, nf);
	if (fd_count(server) != fds_own + (int)verified) {
		show_fds(server);
		fail_msg("the server holds %d fds; its own %d and %zu kept would be %d",
			 fd_count(server), fds_own, verified, fds_own + (int)verified);
	}
	return running;
}

#endif
