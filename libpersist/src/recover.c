// SPDX-License-Identifier: MIT
/* Recovery: the store's children of a thread against the kernel's.
 *
 * Three phases, so no lock is held while the kernel is read or the caller's
 * collect() talks to the thread: (1) read the records and /proc and decide;
 * (2) write every decision in one transaction, each UPDATE conditional on
 * the state it was decided from; (3) reap, only after the commit. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <asm/unistd.h>
#include <near/syscall.h>
#include <persist/recover.h>
#include "store_internal.h"

static const char *const found_names[] = {
	[PERSIST_FOUND_RUNNING] = "running",
	[PERSIST_FOUND_ZOMBIE] = "zombie",
	[PERSIST_FOUND_GONE] = "gone",
	[PERSIST_FOUND_REUSED] = "reused",
	[PERSIST_FOUND_NOT_CHILD] = "not-child",
	[PERSIST_FOUND_NEVER_STARTED] = "never-started",
	[PERSIST_FOUND_MATCHED] = "matched",
	[PERSIST_FOUND_ADOPTED] = "adopted",
	[PERSIST_FOUND_UNREAPED] = "unreaped",
	[PERSIST_FOUND_IN_PROGRESS] = "in-progress",
};

PERSIST_EXPORT const char *persist_found_name(enum persist_found f)
{
	return (unsigned)f < sizeof found_names / sizeof found_names[0] ? found_names[f] : NULL;
}

/* An intent or running record as read in phase 1. */
struct rec {
	int64_t id;
	int pid;
	unsigned long long starttime;
	enum persist_child_state state;
	char *argv; /* intents only: the stored blob, to match cmdlines */
	size_t argvlen;
	int taken;  /* an intent some child completed */
	int busy;   /* an intent whose writer still lives: a spawn in flight */
	int owner;
};

/* A child of the thread that no record knows. */
struct stray {
	int pid;
	unsigned long long starttime;
	int zombie;
	char comm[64];
	char *cmdline;
	size_t len;
};

struct work {
	struct persist_store *st;
	const struct persist_thread_rec *thread;
	const struct persist_recover_ops *ops;
	struct persist_recover_report *rep;
	size_t cap;
	int alive;
	int *kids;
	unsigned char *claimed;
	size_t nkids;
	struct rec *recs;
	size_t nrecs;
	struct stray *strays;
	size_t nstrays;
	size_t busy; /* intents in flight */
};

static struct persist_recover_entry *entry_add(struct work *w)
{
	struct persist_recover_report *rep = w->rep;
	struct persist_recover_entry *e;

	if (rep->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 64;
		if (!(e = realloc(rep->entries, cap * sizeof *e)))
			return NULL;
		rep->entries = e;
		w->cap = cap;
	}
	e = &rep->entries[rep->n++];
	memset(e, 0, sizeof *e);
	e->exit_code = -1;
	return e;
}

__attribute__((format(printf, 2, 3)))
static int detail(struct persist_recover_entry *e, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	free(e->detail);
	return persist__strdup(buf, &e->detail);
}

static int is_kid(struct work *w, int pid, size_t *idx)
{
	/* Binary search of the sorted pids read once from /proc. */
	size_t lo = 0, hi = w->nkids;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (w->kids[mid] < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < w->nkids && w->kids[lo] == pid) {
		*idx = lo;
		return 1;
	}
	return 0;
}

/* Collect zombie e->pid's status through the caller, into e. */
static void collect(struct work *w, struct persist_recover_entry *e)
{
	int code = 0, killed = 0, r;

	if (!w->ops || !w->ops->collect) {
		e->error = -ENOSYS;
		detail(e, "pid %d ended; its status was not collected (no collect operation)",
		       e->pid);
		return;
	}
	r = w->ops->collect(w->ops->arg, e->pid, &code, &killed);
	if (r < 0) {
		e->error = r;
		detail(e, "pid %d ended; collecting its status failed (%s)", e->pid, strerror(-r));
		return;
	}
	if (killed) {
		e->after = PERSIST_CHILD_KILLED;
		e->signal = code;
		detail(e, "pid %d ended: killed by signal %d", e->pid, code);
	} else {
		e->after = PERSIST_CHILD_EXITED;
		e->exit_code = code;
		detail(e, "pid %d ended: exit code %d", e->pid, code);
	}
	e->reap = 1;
}

/* Phase 1a: the intent and running records of the thread. */
static int load_records(struct work *w)
{
	struct persist_store *st = w->st;
	size_t cap = 0;
	sqlite3_stmt *s;
	int rc, r = 0;

	if (!(s = persist__stmt(st, ST_REC_LIVE, &r)))
		return r;
	sqlite3_bind_int64(s, 1, w->thread->id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct rec *x;
		const char *state = (const char *)sqlite3_column_text(s, 3);

		if (w->nrecs == cap) {
			cap = cap ? 2 * cap : 256;
			if (!(x = realloc(w->recs, cap * sizeof *x))) {
				r = -ENOMEM;
				break;
			}
			w->recs = x;
		}
		x = &w->recs[w->nrecs];
		memset(x, 0, sizeof *x);
		x->id = sqlite3_column_int64(s, 0);
		x->pid = sqlite3_column_int(s, 1);
		x->starttime = (unsigned long long)sqlite3_column_int64(s, 2);
		x->state = state && strcmp(state, "intent") == 0 ? PERSIST_CHILD_INTENT
								 : PERSIST_CHILD_RUNNING;
		w->nrecs++;
		if (x->state == PERSIST_CHILD_INTENT) {
			int n = sqlite3_column_bytes(s, 4);
			const void *b = sqlite3_column_blob(s, 4);
			if (!(x->argv = malloc((size_t)n + 1))) {
				r = -ENOMEM;
				break;
			}
			if (n)
				memcpy(x->argv, b, (size_t)n);
			x->argvlen = (size_t)n;
			x->owner = sqlite3_column_int(s, 5);
			if (x->owner > 0 && x->owner != st->self_pid) {
				struct persist_proc_stat ps;
				x->busy = persist_proc_stat(x->owner, &ps) == 0 &&
					  ps.starttime ==
						  (unsigned long long)sqlite3_column_int64(s, 6) &&
					  ps.state != 'Z' && ps.state != 'X';
				w->busy += x->busy;
			}
		}
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = persist__sqlerr(st, rc, "read children");
	sqlite3_reset(s);
	return r;
}

/* Phase 1b: every running record against /proc. */
static int check_running(struct work *w)
{
	const struct persist_thread_rec *t = w->thread;

	for (size_t i = 0; i < w->nrecs; i++) {
		struct rec *x = &w->recs[i];
		struct persist_recover_entry *e;
		struct persist_proc_stat ps;
		size_t k;
		int r, child;

		if (x->state != PERSIST_CHILD_RUNNING)
			continue;
		if (!(e = entry_add(w)))
			return -ENOMEM;
		e->child_id = x->id;
		e->pid = x->pid;
		e->starttime = x->starttime;
		e->before = e->after = PERSIST_CHILD_RUNNING;
		/* kill(pid, 0) answers "no such process" without a /proc path
		 * lookup, ten times faster: most stale records are of that kind. */
		r = near_syscall2(__NR_kill, x->pid, 0) == -ESRCH ? -ESRCH
								  : persist_proc_stat(x->pid, &ps);
		if (r == -ESRCH) {
			e->found = PERSIST_FOUND_GONE;
			e->after = PERSIST_CHILD_LOST;
			r = detail(e, "pid %d is gone", x->pid);
		} else if (r < 0) {
			/* Not readable: say so, change nothing. */
			e->found = PERSIST_FOUND_RUNNING;
			e->error = r;
			r = detail(e, "pid %d: /proc unreadable (%s)", x->pid, strerror(-r));
		} else if (ps.starttime != x->starttime) {
			e->found = PERSIST_FOUND_REUSED;
			e->after = PERSIST_CHILD_LOST;
			r = detail(e, "pid %d now belongs to another process (start time differs)",
				   x->pid);
		} else {
			/* The children file may skip an entry while other children
			 * exit (proc(5)), so the parent in its own stat counts too. */
			child = w->alive && (is_kid(w, x->pid, &k) || ps.ppid == t->pid);
			if (w->alive && is_kid(w, x->pid, &k))
				w->claimed[k] = 1;
			if (!child) {
				e->found = PERSIST_FOUND_NOT_CHILD;
				e->after = PERSIST_CHILD_LOST;
				r = w->alive ? detail(e, "pid %d is no longer a child of the thread "
						      "(pid %d): its parent is %d", x->pid, t->pid,
						      ps.ppid)
					     : detail(e, "pid %d outlived its thread (pid %d), which "
						      "is gone: its parent is %d", x->pid, t->pid,
						      ps.ppid);
			} else if (ps.state == 'Z' || ps.state == 'X') {
				e->found = PERSIST_FOUND_ZOMBIE;
				collect(w, e);
				r = 0;
			} else {
				e->found = PERSIST_FOUND_RUNNING;
				r = 0;
			}
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* Phase 1c: children of the thread that no intent or running record holds. */
static int find_strays(struct work *w)
{
	struct persist_store *st = w->st;
	sqlite3_stmt *s;
	int r = 0, rc;

	for (size_t k = 0; k < w->nkids; k++) {
		struct persist_proc_stat ps;
		struct stray *y;

		if (w->claimed[k] || persist_proc_stat(w->kids[k], &ps) < 0)
			continue;
		/* Recorded as ended but not reaped yet (a crash between the
		 * record and the reap), or settled in an earlier recovery. */
		if (!(s = persist__stmt(st, ST_REC_BY_PROC, &r)))
			return r;
		sqlite3_bind_int64(s, 1, w->thread->id);
		sqlite3_bind_int(s, 2, w->kids[k]);
		sqlite3_bind_int64(s, 3, (sqlite3_int64)ps.starttime);
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			int64_t id = sqlite3_column_int64(s, 0);
			int state = persist_child_state_parse((const char *)sqlite3_column_text(s, 1));
			sqlite3_reset(s);
			if ((state == PERSIST_CHILD_EXITED || state == PERSIST_CHILD_KILLED) &&
			    (ps.state == 'Z' || ps.state == 'X')) {
				struct persist_recover_entry *e = entry_add(w);
				if (!e)
					return -ENOMEM;
				e->child_id = id;
				e->found = PERSIST_FOUND_UNREAPED;
				e->pid = w->kids[k];
				e->starttime = ps.starttime;
				e->before = e->after = (enum persist_child_state)state;
				e->reap = 1;
				if ((r = detail(e, "pid %d was recorded as ended and is still a "
						"zombie: reaped", e->pid)) < 0)
					return r;
			}
			continue;
		}
		sqlite3_reset(s);
		if (rc != SQLITE_DONE)
			return persist__sqlerr(st, rc, "find child by pid");
		if (w->nstrays % 64 == 0) {
			struct stray *b = realloc(w->strays, (w->nstrays + 64) * sizeof *b);
			if (!b)
				return -ENOMEM;
			w->strays = b;
		}
		y = &w->strays[w->nstrays];
		memset(y, 0, sizeof *y);
		y->pid = w->kids[k];
		y->starttime = ps.starttime;
		y->zombie = ps.state == 'Z' || ps.state == 'X';
		memcpy(y->comm, ps.comm, sizeof y->comm);
		r = persist__proc_cmdline(y->pid, &y->cmdline, &y->len);
		if (r == -ENOMEM)
			return r;
		if (r < 0) {
			y->cmdline = NULL;
			y->len = 0;
		}
		w->nstrays++;
	}
	return 0;
}

static int cmp_stray(const void *a, const void *b)
{
	const struct stray *x = a, *y = b;

	if (x->starttime != y->starttime)
		return x->starttime < y->starttime ? -1 : 1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* A zombie's cmdline is empty; its command name (the executable's base
 * name, cut to 15 bytes) is all that is left to match an intent with. */
static int comm_matches(const struct stray *y, const struct rec *x)
{
	const char *base = strrchr(x->argv, '/');

	base = base ? base + 1 : x->argv;
	return x->argvlen && strncmp(y->comm, base, 15) == 0 && y->comm[0];
}

/* Phase 1d: strays complete intents (oldest child with oldest intent of the
 * same argv), or are adopted; intents left over are lost. */
static int match_intents(struct work *w)
{
	const struct persist_thread_rec *t = w->thread;
	int r = 0;

	if (w->nstrays > 1)
		qsort(w->strays, w->nstrays, sizeof *w->strays, cmp_stray);
	for (size_t j = 0; j < w->nstrays; j++) {
		struct stray *y = &w->strays[j];
		struct persist_recover_entry *e;
		struct rec *x = NULL;

		for (size_t i = 0; i < w->nrecs && !x; i++) {
			struct rec *c = &w->recs[i];
			if (c->state != PERSIST_CHILD_INTENT || c->taken)
				continue;
			if (y->len ? c->argvlen == y->len && memcmp(c->argv, y->cmdline, y->len) == 0
				   : y->zombie && comm_matches(y, c))
				x = c;
		}
		if (!(e = entry_add(w)))
			return -ENOMEM;
		e->pid = y->pid;
		e->starttime = y->starttime;
		if ((x && x->busy) || (!x && w->busy)) {
			/* Its controller will record it; or, unmatched, it may be
			 * a busy intent's child before its exec. */
			if (x)
				x->taken = 1;
			e->child_id = x ? x->id : 0;
			e->found = PERSIST_FOUND_IN_PROGRESS;
			e->before = e->after = x ? PERSIST_CHILD_INTENT : PERSIST_CHILD_RUNNING;
			r = detail(e, "pid %d: no record yet, a spawn is in flight (controller pid %d)",
				   y->pid, x ? x->owner : 0);
			if (r < 0)
				return r;
			continue;
		}
		if (x) {
			x->taken = 1;
			e->child_id = x->id;
			e->found = PERSIST_FOUND_MATCHED;
			e->before = PERSIST_CHILD_INTENT;
			e->after = PERSIST_CHILD_RUNNING;
			r = detail(e, "pid %d completes the intent (its argv matches)", y->pid);
		} else {
			e->found = PERSIST_FOUND_ADOPTED;
			e->before = e->after = PERSIST_CHILD_RUNNING;
			r = detail(e, "pid %d is a child of the thread that no record knew: adopted",
				   y->pid);
		}
		if (r < 0)
			return r;
		if (y->zombie)
			collect(w, e);
	}
	for (size_t i = 0; i < w->nrecs; i++) {
		struct rec *x = &w->recs[i];
		struct persist_recover_entry *e;

		if (x->state != PERSIST_CHILD_INTENT || x->taken)
			continue;
		if (!(e = entry_add(w)))
			return -ENOMEM;
		e->child_id = x->id;
		if (x->busy) {
			e->found = PERSIST_FOUND_IN_PROGRESS;
			e->before = e->after = PERSIST_CHILD_INTENT;
			if ((r = detail(e, "a spawn is in flight (controller pid %d)", x->owner)) < 0)
				return r;
			continue;
		}
		e->found = PERSIST_FOUND_NEVER_STARTED;
		e->before = PERSIST_CHILD_INTENT;
		e->after = PERSIST_CHILD_LOST;
		r = w->alive ? detail(e, "never started: the controller died before spawning")
			     : detail(e, "never started, or out of reach: the thread (pid %d) is "
				      "gone", t->pid);
		if (r < 0)
			return r;
	}
	return 0;
}

static const char *state_name(enum persist_child_state s)
{
	return persist_child_state_name(s);
}

/* The stray behind an adopted entry, for its argv and cwd. */
static struct stray *stray_of(struct work *w, int pid)
{
	for (size_t j = 0; j < w->nstrays; j++)
		if (w->strays[j].pid == pid)
			return &w->strays[j];
	return NULL;
}

static int adopt(struct work *w, struct persist_recover_entry *e)
{
	struct persist_store *st = w->st;
	struct stray *y = stray_of(w, e->pid);
	const char *fallback[2] = { NULL, NULL };
	char name[80], *cwd = NULL;
	void *blob = NULL;
	size_t len = 0;
	sqlite3_stmt *s;
	int r = 0, rc;

	if (!y)
		return -EINVAL;
	/* A zombie or a kernel-hidden cmdline: name it by its command name. */
	if (!y->len) {
		snprintf(name, sizeof name, "[%s]", y->comm);
		fallback[0] = name;
		if ((r = persist_argv_encode(fallback, &blob, &len)) < 0)
			return r;
	}
	if ((r = persist__proc_cwd(y->pid, &cwd)) < 0)
		goto out;
	if (!(s = persist__stmt(st, ST_REC_ADOPT, &r)))
		goto out;
	rc = sqlite3_bind_int64(s, 1, w->thread->id);
	rc = rc ? rc : blob ? sqlite3_bind_blob(s, 2, blob, (int)len, SQLITE_STATIC)
			    : sqlite3_bind_blob(s, 2, y->cmdline, (int)y->len, SQLITE_STATIC);
	rc = rc ? rc : cwd ? sqlite3_bind_text(s, 3, cwd, -1, SQLITE_STATIC)
			   : sqlite3_bind_null(s, 3);
	rc = rc ? rc : sqlite3_bind_int(s, 4, e->pid);
	rc = rc ? rc : sqlite3_bind_int64(s, 5, (sqlite3_int64)e->starttime);
	rc = rc ? rc : sqlite3_bind_text(s, 6, state_name(e->after), -1, SQLITE_STATIC);
	rc = rc ? rc : e->after == PERSIST_CHILD_EXITED ? sqlite3_bind_int(s, 7, e->exit_code)
							 : sqlite3_bind_null(s, 7);
	rc = rc ? rc : e->after == PERSIST_CHILD_KILLED ? sqlite3_bind_int(s, 8, e->signal)
							 : sqlite3_bind_null(s, 8);
	rc = rc ? rc : sqlite3_bind_int64(s, 9, persist__starttime_ms(e->starttime));
	rc = rc ? rc : e->after == PERSIST_CHILD_RUNNING ? sqlite3_bind_null(s, 10)
							  : sqlite3_bind_int64(s, 10,
									       persist__now_ms());
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		r = persist__sqlerr(st, rc, "adopt child");
	else
		e->child_id = sqlite3_last_insert_rowid(st->db);
out:
	free(cwd);
	free(blob);
	return r;
}

/* Phase 2: one UPDATE per changed entry, conditional on the state it was
 * decided from; a record changed meanwhile keeps the other writer's word. */
static int write_entry(struct work *w, struct persist_recover_entry *e)
{
	struct persist_store *st = w->st;
	sqlite3_stmt *s;
	int r = 0, rc;

	if (e->found == PERSIST_FOUND_ADOPTED)
		return adopt(w, e);
	if (e->after == e->before)
		return 0;
	if (e->after == PERSIST_CHILD_LOST) {
		if (!(s = persist__stmt(st, ST_REC_SET_LOST, &r)))
			return r;
		rc = sqlite3_bind_int64(s, 1, e->child_id);
		rc = rc ? rc : sqlite3_bind_text(s, 2, state_name(e->before), -1, SQLITE_STATIC);
		rc = rc ? rc : sqlite3_bind_text(s, 3, e->detail, -1, SQLITE_STATIC);
	} else if (e->after == PERSIST_CHILD_RUNNING) {
		if (!(s = persist__stmt(st, ST_REC_SET_RUNNING, &r)))
			return r;
		rc = sqlite3_bind_int64(s, 1, e->child_id);
		rc = rc ? rc : sqlite3_bind_int(s, 2, e->pid);
		rc = rc ? rc : sqlite3_bind_int64(s, 3, (sqlite3_int64)e->starttime);
		rc = rc ? rc : sqlite3_bind_int64(s, 4, persist__starttime_ms(e->starttime));
	} else {
		if (!(s = persist__stmt(st, ST_REC_SET_ENDED, &r)))
			return r;
		rc = sqlite3_bind_int64(s, 1, e->child_id);
		rc = rc ? rc : sqlite3_bind_int(s, 2, e->pid);
		rc = rc ? rc : sqlite3_bind_int64(s, 3, (sqlite3_int64)e->starttime);
		rc = rc ? rc : sqlite3_bind_text(s, 4, state_name(e->after), -1, SQLITE_STATIC);
		rc = rc ? rc : e->after == PERSIST_CHILD_EXITED ? sqlite3_bind_int(s, 5, e->exit_code)
								 : sqlite3_bind_null(s, 5);
		rc = rc ? rc : e->after == PERSIST_CHILD_KILLED ? sqlite3_bind_int(s, 6, e->signal)
								 : sqlite3_bind_null(s, 6);
		rc = rc ? rc : sqlite3_bind_int64(s, 7, persist__now_ms());
		rc = rc ? rc : sqlite3_bind_int64(s, 8, persist__starttime_ms(e->starttime));
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return persist__sqlerr(st, rc, "record recovery");
	if (sqlite3_changes(st->db) == 0) {
		e->error = -EAGAIN;
		e->after = e->before;
		e->reap = 0;
	}
	return 0;
}

static int write_all(struct work *w)
{
	int r = persist__exec(w->st, "BEGIN IMMEDIATE");

	if (r < 0)
		return r;
	for (size_t i = 0; i < w->rep->n && r == 0; i++)
		r = write_entry(w, &w->rep->entries[i]);
	if (r == 0)
		r = persist__exec(w->st, "COMMIT");
	if (r < 0)
		sqlite3_exec(w->st->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

static void tally(struct persist_recover_report *rep)
{
	for (size_t i = 0; i < rep->n; i++) {
		struct persist_recover_entry *e = &rep->entries[i];

		if (e->error)
			rep->errors++;
		if (e->found == PERSIST_FOUND_MATCHED)
			rep->matched++;
		if (e->found == PERSIST_FOUND_ADOPTED)
			rep->adopted++;
		if (e->found == PERSIST_FOUND_IN_PROGRESS)
			rep->in_progress++;
		if (e->found == PERSIST_FOUND_UNREAPED || e->found == PERSIST_FOUND_IN_PROGRESS)
			continue;
		if (e->after == PERSIST_CHILD_RUNNING)
			rep->running++;
		else if (e->after == PERSIST_CHILD_LOST)
			rep->lost++;
		else if (e->after != e->before || e->found == PERSIST_FOUND_ADOPTED)
			rep->ended++;
	}
}

PERSIST_EXPORT int persist_recover(struct persist_store *st, const struct persist_thread_rec *thread,
				   const struct persist_recover_ops *ops,
				   struct persist_recover_report *report)
{
	struct work w = { .st = st, .thread = thread, .ops = ops, .rep = report };
	struct persist_proc_stat ts;
	int r;

	memset(report, 0, sizeof *report);
	if (!thread || thread->id <= 0 || thread->pid <= 0 || !thread->starttime)
		return persist__fail(st, -EINVAL, "recovery needs the thread's id, pid and start time");
	/* The thread itself first: a pid of a dead thread may now be some
	 * other process, whose children are not ours to adopt. */
	w.alive = persist_proc_stat(thread->pid, &ts) == 0 && ts.starttime == thread->starttime &&
		  ts.state != 'Z' && ts.state != 'X';
	if (w.alive) {
		r = persist_proc_children(thread->pid, &w.kids, &w.nkids);
		if (r == -ESRCH)
			w.alive = 0;
		else if (r < 0)
			goto out;
	}
	if (w.nkids && !(w.claimed = calloc(w.nkids, 1))) {
		r = -ENOMEM;
		goto out;
	}
	report->thread_alive = w.alive;
	report->kernel_children = w.nkids;
	if ((r = load_records(&w)) < 0)
		goto out;
	report->records = w.nrecs;
	if ((r = check_running(&w)) < 0 || (r = find_strays(&w)) < 0 ||
	    (r = match_intents(&w)) < 0)
		goto out;
	if ((r = write_all(&w)) < 0)
		goto out;
	/* Phase 3: the statuses are on disk; only now may the zombies go. */
	for (size_t i = 0; i < report->n; i++) {
		struct persist_recover_entry *e = &report->entries[i];

		if (!e->reap || !ops || !ops->reap)
			continue;
		int rr = ops->reap(ops->arg, e->pid);
		if (rr < 0) {
			e->error = rr;
		} else {
			e->reap = 0;
			report->reaped++;
		}
	}
	tally(report);
out:
	free(w.kids);
	free(w.claimed);
	for (size_t i = 0; i < w.nrecs; i++)
		free(w.recs[i].argv);
	free(w.recs);
	for (size_t j = 0; j < w.nstrays; j++)
		free(w.strays[j].cmdline);
	free(w.strays);
	if (r < 0)
		persist_recover_report_free(report);
	return r;
}

PERSIST_EXPORT void persist_recover_report_free(struct persist_recover_report *report)
{
	if (!report)
		return;
	for (size_t i = 0; i < report->n; i++)
		free(report->entries[i].detail);
	free(report->entries);
	memset(report, 0, sizeof *report);
}

/* ---- the calling process as the thread ---- */

PERSIST_EXPORT int persist_recover_collect_local(void *arg, int pid, int *code, int *killed)
{
	siginfo_t si;
	long r;

	(void)arg;
	memset(&si, 0, sizeof si);
	r = near_syscall6(__NR_waitid, P_PID, pid, (long)&si, WEXITED | WNOWAIT | WNOHANG, 0, 0);
	if (r < 0)
		return (int)r;
	if (si.si_pid == 0)
		return -EAGAIN;
	*killed = si.si_code == CLD_KILLED || si.si_code == CLD_DUMPED;
	*code = si.si_status;
	return 0;
}

PERSIST_EXPORT int persist_recover_reap_local(void *arg, int pid)
{
	siginfo_t si;
	long r;

	(void)arg;
	memset(&si, 0, sizeof si);
	r = near_syscall6(__NR_waitid, P_PID, pid, (long)&si, WEXITED | WNOHANG, 0, 0);
	if (r < 0)
		return (int)r;
	return si.si_pid == 0 ? -EAGAIN : 0;
}
