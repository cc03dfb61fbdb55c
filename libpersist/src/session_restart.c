// SPDX-License-Identifier: MIT
/* Restart: start a child again as it was started (argv, name, environment,
 * cwd, stdio, named fds), as a new child that records which one it
 * replaces, once the old one has ended and its status is kept.
 *
 * Crash safety comes from doing it as two steps that are each crash-safe
 * and idempotent in effect: first the old child is ended and settled
 * (signal, waitid WNOWAIT, record, reap: a crash leaves it for recovery),
 * then it is run as persist_session_run runs (intent -> spawn -> record),
 * the intent naming the old child.  A second restart of a child that a
 * newer one restarted already is refused, so a restart retried after a
 * crash never starts the command twice. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <handle/child.h>
#include "session_internal.h"

/* End running child r: SIGTERM (and its group), SIGKILL after grace_ms,
 * then settle it.  Returns: 0 (r final); -EBUSY (it would not end); -errno. */
static int end_child(struct persist_session *s, struct persist_child_rec *r, int grace_ms,
		     char *why, size_t whylen)
{
	struct handle_child hc;
	struct persist_exit e;
	int live, x;

	x = handle_child_init(&hc, &s->t.task, r->pid);
	if (x < 0)
		return x;
	live = persist__signal_child(s, &hc, SIGTERM) == 0;
	if (live) {
		persist__crash_point("restart:after-term");
		persist__wait_all(s, &hc, &live, 1, grace_ms < 0 ? 0 : grace_ms);
		if (persist_child_wait(&s->t, r->pid, 1, 0, &e) == 0 && !e.exited &&
		    persist__signal_child(s, &hc, SIGKILL) == 0)
			persist__wait_all(s, &hc, &live, 1, PERSIST__KILL_WAIT_MS);
	}
	handle_child_close(&hc);
	x = persist__settle(s, r, "restart");
	if (x == 0) {
		persist__say(why, whylen, "child %lld (pid %d) did not end after SIGKILL "
			     "(an uninterruptible sleep?): try again later", (long long)r->id,
			     r->pid);
		return -EBUSY;
	}
	if (x < 0)
		persist__say(why, whylen, "cannot record how child %lld (pid %d) ended: %s",
			     (long long)r->id, r->pid, strerror(-x));
	return x < 0 ? x : 0;
}

PERSIST_EXPORT int persist_session_restart(struct persist_session *s, int64_t id, int grace_ms,
					   int64_t *new_id, char *why, size_t whylen)
{
	struct persist_child_rec r = { 0 };
	struct persist_child_spawn sp = { 0 };
	int x;

	if (why && whylen)
		*why = 0;
	if (new_id)
		*new_id = 0;
	if (!s->connected) {
		persist__say(why, whylen, "no server answers for %s: open the session with "
			     "PERSIST_SESSION_START", s->dir);
		return -ENOTCONN;
	}
	x = persist_store_child_get(s->st, id, &r);
	if (x == 0)
		x = persist_store_child_spawn(s->st, id, &sp);
	if (x == -ENOENT) {
		persist__say(why, whylen, "no child %lld in %s", (long long)id, s->db);
		goto out;
	}
	if (x < 0) {
		persist__say(why, whylen, "cannot read child %lld from %s: %s", (long long)id,
			     s->db, persist_store_errmsg(s->st));
		goto out;
	}
	if (sp.restarted_by) {
		persist__say(why, whylen, "child %lld was restarted already, as child %lld: "
			     "restart that one", (long long)id, (long long)sp.restarted_by);
		x = -EALREADY;
		goto out;
	}
	if (r.state == PERSIST_CHILD_INTENT) {
		persist__say(why, whylen, "child %lld is still being started by another "
			     "controller: try again", (long long)id);
		x = -EAGAIN;
		goto out;
	}
	if (r.state == PERSIST_CHILD_RUNNING && r.thread_id != s->rec.id) {
		persist__say(why, whylen, "child %lld runs in a server this session is not "
			     "connected to", (long long)id);
		x = -ENOTCONN;
		goto out;
	}
	if (r.state == PERSIST_CHILD_RUNNING &&
	    (x = end_child(s, &r, grace_ms, why, whylen)) < 0)
		goto out;
	persist__crash_point("restart:after-settle");
	{
		struct persist_spawn again = {
			.argv = (const char *const *)r.argv,
			.envp = (const char *const *)sp.envp,
			.cwd = r.cwd,
			.stdin_path = sp.stdin_path,
			.stdout_path = sp.stdout_path,
			.stderr_path = sp.stderr_path,
			.new_session = sp.new_session,
			.fd_names = (const char *const *)sp.fd_names,
			.nfds = sp.nfds,
		};
		x = persist__run(s, r.name, &again, id, new_id, why, whylen);
	}
out:
	persist_child_spawn_clear(&sp);
	persist_child_rec_clear(&r);
	return x;
}
