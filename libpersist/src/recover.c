// SPDX-License-Identifier: MIT
/* Recovery's shell: it reads the store's records and, through the thread,
 * the kernel; the decision is persist__recover_plan's (recover_plan.c); the
 * shell then carries the actions out.
 *
 * Three phases, so no lock is held while the kernel is read or the caller's
 * collect() talks to the thread: (1) read the records and the thread's
 * /proc, decide, collect the zombies' statuses (WNOWAIT: they stay
 * waitable) and kill half-spawned forks; (2) write every decision in one
 * transaction, each UPDATE conditional on the state it was decided from;
 * (3) reap, only after the commit. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <asm/unistd.h>
#include <near/syscall.h>
#include <persist/recover.h>
#include "proc.h"
#include "recover_plan.h"
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
	[PERSIST_FOUND_HALF_SPAWNED] = "half-spawned",
};

PERSIST_EXPORT const char *persist_found_name(enum persist_found f)
{
	return (unsigned)f < sizeof found_names / sizeof found_names[0] ? found_names[f] : NULL;
}

/* How long a killed half-spawned fork may take to become reapable. */
#define KILL_REAP_MS 2000

struct work {
	struct persist_store *st;
	const struct persist_thread_rec *thread;
	const struct persist_recover_ops *ops;
	struct persist_recover_report *rep;
	struct persist__procio io;
	struct persist__snapshot snap;
	struct persist__rec *recs;   /* live ones, then final ones naming a child */
	size_t nrecs, nlive, cap;
	int *pids;                   /* of the running records */
	size_t npids;
	struct persist__plan_in in;  /* what the plan decided from */
	struct persist__action *acts;/* one per report entry, same order */
	size_t nacts;
	char **cwds;                 /* adopted entries: the child's cwd, or NULL */
};

__attribute__((format(printf, 2, 3)))
static int detail(struct persist_recover_entry *e, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	free(e->detail);
	e->detail = NULL;
	return persist__strdup(buf, &e->detail);
}

static struct persist__rec *rec_add(struct work *w)
{
	struct persist__rec *x;

	if (w->nrecs == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 256;
		if (!(x = realloc(w->recs, cap * sizeof *x)))
			return NULL;
		w->recs = x;
		w->cap = cap;
	}
	x = &w->recs[w->nrecs++];
	memset(x, 0, sizeof *x);
	return x;
}

/* The intent and running records of the thread, with what recovery needs
 * of each; the born columns are schema 2's (a store is upgraded on open).
 * In the index's order: an ORDER BY id here made SQLite sort them in a
 * temporary B-tree, a third of the query's time; qsort does it for less. */
#define LIVE_SQL \
	"SELECT id, pid, starttime, state, argv, owner_pid, owner_start, born_pid, born_start" \
	" FROM children WHERE thread_id = ?1 AND state IN ('intent', 'running')"

static int cmp_rec(const void *a, const void *b)
{
	const struct persist__rec *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

/* Phase 1a: the intent and running records of the thread. */
static int load_records(struct work *w)
{
	struct persist_store *st = w->st;
	sqlite3_stmt *s;
	int rc, r = 0;

	/* Prepared here, once per recovery, not cached by the store: its
	 * statement cache is the store's own business. */
	rc = sqlite3_prepare_v2(st->db, LIVE_SQL, -1, &s, NULL);
	if (rc != SQLITE_OK)
		return persist__sqlerr(st, rc, "read children");
	sqlite3_bind_int64(s, 1, w->thread->id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *state = (const char *)sqlite3_column_text(s, 3);
		struct persist__rec *x = rec_add(w);

		if (!x) {
			r = -ENOMEM;
			break;
		}
		x->id = sqlite3_column_int64(s, 0);
		x->pid = sqlite3_column_int(s, 1);
		x->starttime = (unsigned long long)sqlite3_column_int64(s, 2);
		x->state = state && strcmp(state, "intent") == 0 ? PERSIST_CHILD_INTENT
								 : PERSIST_CHILD_RUNNING;
		if (x->state == PERSIST_CHILD_INTENT) {
			int n = sqlite3_column_bytes(s, 4);
			const void *b = sqlite3_column_blob(s, 4);
			char *argv = malloc((size_t)n + 1);

			if (!argv) {
				r = -ENOMEM;
				break;
			}
			if (n)
				memcpy(argv, b, (size_t)n);
			argv[n] = 0;
			x->argv = argv;
			x->argvlen = (size_t)n;
			x->owner = sqlite3_column_int(s, 5);
			/* The writer is a controller, a process beside us, so our
			 * own /proc is the one to ask. */
			x->owner_live = x->owner > 0 && x->owner != st->self_pid &&
					persist__proc_alive(NULL, x->owner,
							    (unsigned long long)sqlite3_column_int64(s, 6)) == 1;
			x->born_pid = sqlite3_column_int(s, 7);
			x->born_start = (unsigned long long)sqlite3_column_int64(s, 8);
		}
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = persist__sqlerr(st, rc, "read children");
	sqlite3_finalize(s);
	w->nlive = w->nrecs;
	if (r < 0)
		return r;
	/* By id: the plan takes intents oldest first. */
	if (w->nrecs > 1)
		qsort(w->recs, w->nrecs, sizeof *w->recs, cmp_rec);
	if (w->nrecs && !(w->pids = malloc(w->nrecs * sizeof *w->pids)))
		return -ENOMEM;
	for (size_t i = 0; i < w->nrecs; i++)
		if (w->recs[i].state == PERSIST_CHILD_RUNNING)
			w->pids[w->npids++] = w->recs[i].pid;
	return 0;
}

/* Phase 1c: the final records of the thread's children, so that one whose
 * end was recorded but not reaped is reaped and none is adopted again. */
static int load_settled_in(struct work *w)
{
	struct persist_store *st = w->st;
	sqlite3_stmt *s;
	int r = 0, rc;

	for (size_t k = 0; k < w->snap.n; k++) {
		const struct persist__kproc *p = &w->snap.procs[k];
		struct persist__rec *x;
		int state;

		if (!p->child || p->err)
			continue;
		if (!(s = persist__stmt(st, ST_REC_BY_PROC, &r)))
			return r;
		sqlite3_bind_int64(s, 1, w->thread->id);
		sqlite3_bind_int(s, 2, p->pid);
		sqlite3_bind_int64(s, 3, (sqlite3_int64)p->st.starttime);
		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW) {
			sqlite3_reset(s);
			if (rc != SQLITE_DONE)
				return persist__sqlerr(st, rc, "find child by pid");
			continue;
		}
		state = persist_child_state_parse((const char *)sqlite3_column_text(s, 1));
		if (state == PERSIST_CHILD_EXITED || state == PERSIST_CHILD_KILLED ||
		    state == PERSIST_CHILD_LOST) {
			if (!(x = rec_add(w))) {
				sqlite3_reset(s);
				return -ENOMEM;
			}
			x->id = sqlite3_column_int64(s, 0);
			x->state = (enum persist_child_state)state;
			x->pid = p->pid;
			x->starttime = p->st.starttime;
		}
		sqlite3_reset(s);
	}
	return 0;
}

/* One read transaction around the look-ups, one per live child: each on
 * its own would take and drop the WAL read lock (two fcntl and a check of
 * the WAL index), which with 1000 children was a third of `persistctl ps`. */
static int load_settled(struct work *w)
{
	int own = sqlite3_get_autocommit(w->st->db), r;

	if (own && (r = persist__exec(w->st, "BEGIN")) < 0)
		return r;
	r = load_settled_in(w);
	if (own && r < 0)
		sqlite3_exec(w->st->db, "ROLLBACK", NULL, NULL, NULL);
	else if (own)
		r = persist__exec(w->st, "COMMIT");
	return r;
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

/* The adopted children's cwds, read in the thread in one go; unknown (a
 * process of another uid, or gone) is not an error. */
static int read_cwds(struct work *w)
{
	struct persist__pfile *f;
	size_t *of, nf = 0;
	int r = 0;

	for (size_t i = 0; i < w->nacts; i++)
		nf += w->acts[i].act == PERSIST__ACT_ADOPT;
	if (!nf)
		return 0;
	if (!(w->cwds = calloc(w->nacts, sizeof *w->cwds)))
		return -ENOMEM;
	f = calloc(nf, sizeof *f);
	of = calloc(nf, sizeof *of);
	if (!f || !of) {
		r = -ENOMEM;
		goto out;
	}
	nf = 0;
	for (size_t i = 0; i < w->nacts; i++) {
		if (w->acts[i].act != PERSIST__ACT_ADOPT)
			continue;
		snprintf(f[nf].path, sizeof f[nf].path, "/proc/%d/cwd", w->acts[i].pid);
		f[nf].kind = PERSIST__PF_LINK;
		f[nf].slot = 4096;
		of[nf++] = i;
	}
	if ((r = persist__read_files(&w->io, f, nf, NULL, NULL, 0)) < 0)
		goto out;
	for (size_t k = 0; k < nf; k++) {
		if (f[k].len > 0) {
			w->cwds[of[k]] = f[k].data;
			f[k].data = NULL;
		}
	}
out:
	for (size_t k = 0; f && k < nf; k++)
		free(f[k].data);
	free(f);
	free(of);
	return r;
}

/* SIGKILL every half-spawned fork, in the thread, in one round trip. */
static int kill_forks(struct work *w)
{
	struct persist_recover_report *rep = w->rep;
	struct near_request *q;
	int64_t *res;
	size_t *of, n = 0;
	int r;

	for (size_t i = 0; i < rep->n; i++)
		n += w->acts[i].act == PERSIST__ACT_KILL;
	if (!n)
		return 0;
	q = malloc(n * sizeof *q);
	res = malloc(n * sizeof *res);
	of = malloc(n * sizeof *of);
	if (!q || !res || !of) {
		r = -ENOMEM;
		goto out;
	}
	n = 0;
	for (size_t i = 0; i < rep->n; i++) {
		if (w->acts[i].act != PERSIST__ACT_KILL)
			continue;
		near_request_set(&q[n], __NR_kill, w->acts[i].pid, SIGKILL, 0, 0, 0, 0);
		of[n++] = i;
	}
	if ((r = persist__pipeline(&w->io, q, res, n)) < 0)
		goto out;
	for (size_t k = 0; k < n; k++) {
		struct persist_recover_entry *e = &rep->entries[of[k]];
		const struct persist__kproc *p = w->acts[of[k]].proc;
		int zombie = p && (p->st.state == 'Z' || p->st.state == 'X');

		if (res[k] < 0) {
			/* -ESRCH: someone reaped it since; there is nothing left. */
			e->error = res[k] == -ESRCH ? 0 : (int)res[k];
			e->reap = 0;
			continue;
		}
		e->signal = zombie ? 0 : SIGKILL;
		e->reap = 1;
	}
out:
	free(q);
	free(res);
	free(of);
	return r;
}

/* Phase 1d: one report entry per action, statuses collected, cwds read,
 * forks killed. */
static int build_entries(struct work *w)
{
	struct persist_recover_report *rep = w->rep;
	int r;

	if (w->nacts && !(rep->entries = calloc(w->nacts, sizeof *rep->entries)))
		return -ENOMEM;
	for (size_t i = 0; i < w->nacts; i++) {
		const struct persist__action *a = &w->acts[i];
		struct persist_recover_entry *e = &rep->entries[rep->n++];
		char words[256];

		e->child_id = a->child_id;
		e->found = a->found;
		e->pid = a->pid;
		e->starttime = a->starttime;
		e->before = a->before;
		e->after = a->after;
		e->exit_code = -1;
		e->error = a->error;
		e->reap = a->act == PERSIST__ACT_REAP;
		persist__action_detail(&w->in, a, words, sizeof words);
		if (words[0] && (r = persist__strdup(words, &e->detail)) < 0)
			return r;
	}
	if ((r = read_cwds(w)) < 0 || (r = kill_forks(w)) < 0)
		return r;
	/* Last, so that no status is collected for a recovery that fails. */
	for (size_t i = 0; i < rep->n; i++)
		if (w->acts[i].zombie)
			collect(w, &rep->entries[i]);
	return 0;
}

static const char *state_name(enum persist_child_state s)
{
	return persist_child_state_name(s);
}

static int adopt(struct work *w, size_t i)
{
	struct persist_store *st = w->st;
	struct persist_recover_entry *e = &w->rep->entries[i];
	const struct persist__kproc *p = w->acts[i].proc;
	const char *cwd = w->cwds ? w->cwds[i] : NULL;
	const char *fallback[2] = { NULL, NULL };
	const void *argv = p ? p->cmdline : NULL;
	size_t argvlen = p ? p->cmdlen : 0;
	char name[80];
	void *blob = NULL;
	sqlite3_stmt *s;
	int r = 0, rc;

	/* A zombie or a kernel-hidden cmdline: name it by its command name. */
	if (!argvlen) {
		snprintf(name, sizeof name, "[%s]", p ? p->st.comm : "?");
		fallback[0] = name;
		if ((r = persist_argv_encode(fallback, &blob, &argvlen)) < 0)
			return r;
		argv = blob;
	}
	if (!(s = persist__stmt(st, ST_REC_ADOPT, &r)))
		goto out;
	rc = sqlite3_bind_int64(s, 1, w->thread->id);
	rc = rc ? rc : sqlite3_bind_blob(s, 2, argv, (int)argvlen, SQLITE_STATIC);
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
	free(blob);
	return r;
}

/* Phase 2: one UPDATE per changed entry, conditional on the state it was
 * decided from; a record changed meanwhile keeps the other writer's word. */
static int write_entry(struct work *w, size_t i)
{
	struct persist_store *st = w->st;
	struct persist_recover_entry *e = &w->rep->entries[i];
	sqlite3_stmt *s;
	int r = 0, rc;

	if (w->acts[i].act == PERSIST__ACT_ADOPT)
		return adopt(w, i);
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
		r = write_entry(w, i);
	if (r == 0)
		r = persist__exec(w->st, "COMMIT");
	if (r < 0)
		sqlite3_exec(w->st->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	near_syscall4(__NR_clock_nanosleep, CLOCK_MONOTONIC, 0, (long)&ts, 0);
}

/* Phase 3: the statuses are on disk; only now may the zombies go.  A fork
 * killed a moment ago may not have become a zombie yet: it gets a little
 * time. */
static void reap_all(struct work *w)
{
	const struct persist_recover_ops *ops = w->ops;
	struct persist_recover_report *rep = w->rep;

	if (!ops || !ops->reap)
		return;
	for (size_t i = 0; i < rep->n; i++) {
		struct persist_recover_entry *e = &rep->entries[i];
		int r;

		if (!e->reap)
			continue;
		r = ops->reap(ops->arg, e->pid);
		for (long waited = 0; r == -EAGAIN && w->acts[i].act == PERSIST__ACT_KILL &&
				      waited < KILL_REAP_MS; waited += 5) {
			nap_ms(5);
			r = ops->reap(ops->arg, e->pid);
		}
		if (r < 0) {
			e->error = r;
		} else {
			e->reap = 0;
			rep->reaped++;
		}
	}
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
		if (e->found == PERSIST_FOUND_HALF_SPAWNED)
			rep->half_spawned++;
		if (e->found == PERSIST_FOUND_UNREAPED || e->found == PERSIST_FOUND_IN_PROGRESS ||
		    e->found == PERSIST_FOUND_HALF_SPAWNED)
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
	int r;

	memset(report, 0, sizeof *report);
	if (!thread || thread->id <= 0 || thread->pid <= 0 || !thread->starttime)
		return persist__fail(st, -EINVAL, "recovery needs the thread's id, pid and start time");
	persist__procio_init(&w.io, ops ? ops->sysif : NULL);
	if ((r = load_records(&w)) < 0)
		goto out;
	/* The thread first, through itself: a pid of a dead thread may now be
	 * some other process, whose children are not ours to adopt. */
	r = persist__snapshot_read(&w.io, thread->pid, thread->starttime, w.pids, w.npids, &w.snap);
	if (r < 0) {
		persist__fail(st, r, "cannot read /proc in the thread (pid %d): %s", thread->pid,
			      strerror(-r));
		goto out;
	}
	/* The argv of every child no running record claims: intents are
	 * matched and strays adopted by it. */
	for (size_t k = 0; k < w.snap.n; k++) {
		struct persist__kproc *p = &w.snap.procs[k];

		for (size_t i = 0; i < w.nrecs && p->cmd_later; i++)
			if (w.recs[i].state == PERSIST_CHILD_RUNNING && w.recs[i].pid == p->pid &&
			    w.recs[i].starttime == p->st.starttime)
				p->cmd_later = 0;
	}
	r = persist__snapshot_cmdlines(&w.io, &w.snap);
	if (r < 0) {
		persist__fail(st, r, "cannot read /proc in the thread (pid %d): %s", thread->pid,
			      strerror(-r));
		goto out;
	}
	report->thread_alive = w.snap.alive;
	report->kernel_children = w.snap.children;
	report->records = w.nlive;
	if ((r = load_settled(&w)) < 0)
		goto out;
	w.in = (struct persist__plan_in){
		.recs = w.recs,
		.nrecs = w.nrecs,
		.thread_alive = w.snap.alive,
		.thread_pid = thread->pid,
		.procs = w.snap.procs,
		.nprocs = w.snap.n,
	};
	if ((r = persist__recover_plan(&w.in, &w.acts, &w.nacts)) < 0)
		goto out;
	if ((r = build_entries(&w)) < 0)
		goto out;
	if ((r = write_all(&w)) < 0)
		goto out;
	reap_all(&w);
	tally(report);
out:
	persist__procio_fini(&w.io);
	persist__snapshot_free(&w.snap);
	for (size_t i = 0; i < w.nlive; i++)
		free((char *)w.recs[i].argv);
	free(w.recs);
	free(w.pids);
	if (w.cwds)
		for (size_t i = 0; i < w.nacts; i++)
			free(w.cwds[i]);
	free(w.cwds);
	free(w.acts);
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
