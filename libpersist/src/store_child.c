// SPDX-License-Identifier: MIT
/* Child records: the intent before a spawn, its completion, its end. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "store_internal.h"

static const char *const state_names[] = {
	[PERSIST_CHILD_INTENT] = "intent",   [PERSIST_CHILD_RUNNING] = "running",
	[PERSIST_CHILD_EXITED] = "exited",   [PERSIST_CHILD_KILLED] = "killed",
	[PERSIST_CHILD_LOST] = "lost",
};
#define NSTATES (sizeof state_names / sizeof state_names[0])

PERSIST_EXPORT const char *persist_child_state_name(enum persist_child_state s)
{
	return (unsigned)s < NSTATES ? state_names[s] : NULL;
}

PERSIST_EXPORT int persist_child_state_parse(const char *name)
{
	for (unsigned i = 0; name && i < NSTATES; i++)
		if (strcmp(name, state_names[i]) == 0)
			return (int)i;
	return -EINVAL;
}

/* ---- argv ---- */

PERSIST_EXPORT int persist_argv_encode(const char *const *argv, void **blob, size_t *len)
{
	size_t n = 0;
	char *b, *p;

	for (size_t i = 0; argv[i]; i++)
		n += strlen(argv[i]) + 1;
	/* malloc(0) may return NULL; one spare byte keeps "empty" distinct. */
	if (!(b = malloc(n + 1)))
		return -ENOMEM;
	p = b;
	for (size_t i = 0; argv[i]; i++) {
		size_t l = strlen(argv[i]) + 1;
		memcpy(p, argv[i], l);
		p += l;
	}
	*blob = b;
	*len = n;
	return 0;
}

PERSIST_EXPORT int persist_argv_decode(const void *blob, size_t len, char ***argv, size_t *argc)
{
	const char *b = blob;
	size_t n = 0;
	char **v, *p;

	*argv = NULL;
	*argc = 0;
	if (len > 0 && b[len - 1] != 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		n += b[i] == 0;
	/* Pointers and strings in one block: the caller frees one pointer. */
	if (n >= (SIZE_MAX - len) / sizeof *v - 1)
		return -ENOMEM;
	if (!(v = malloc((n + 1) * sizeof *v + len + 1)))
		return -ENOMEM;
	p = (char *)(v + n + 1);
	if (len)
		memcpy(p, b, len);
	for (size_t i = 0; i < n; i++) {
		v[i] = p;
		p += strlen(p) + 1;
	}
	v[n] = NULL;
	*argv = v;
	*argc = n;
	return 0;
}

/* ---- rows ---- */

int persist__child_row(sqlite3_stmt *s, struct persist_child_rec *rec)
{
	const char *state = (const char *)sqlite3_column_text(s, 7);
	int r;

	memset(rec, 0, sizeof *rec);
	rec->id = sqlite3_column_int64(s, 0);
	rec->thread_id = sqlite3_column_int64(s, 1);
	rec->pid = sqlite3_column_int(s, 5);
	rec->starttime = (unsigned long long)sqlite3_column_int64(s, 6);
	r = persist_child_state_parse(state);
	if (r < 0)
		return -EUCLEAN;
	rec->state = (enum persist_child_state)r;
	rec->exit_code = sqlite3_column_type(s, 8) == SQLITE_NULL ? -1 : sqlite3_column_int(s, 8);
	rec->signal = sqlite3_column_int(s, 9);
	rec->started_ms = sqlite3_column_int64(s, 10);
	rec->ended_ms = sqlite3_column_int64(s, 11);
	rec->restart_of = sqlite3_column_int64(s, 13);
	r = persist_argv_decode(sqlite3_column_blob(s, 3), (size_t)sqlite3_column_bytes(s, 3),
				&rec->argv, &rec->argc);
	if (r == 0)
		r = persist__strdup((const char *)sqlite3_column_text(s, 2), &rec->name);
	if (r == 0)
		r = persist__strdup((const char *)sqlite3_column_text(s, 4), &rec->cwd);
	if (r == 0)
		r = persist__strdup((const char *)sqlite3_column_text(s, 12), &rec->lost_reason);
	if (r < 0) {
		persist_child_rec_clear(rec);
		return r == -EINVAL ? -EUCLEAN : r;
	}
	return 0;
}

PERSIST_EXPORT void persist_child_rec_clear(struct persist_child_rec *rec)
{
	if (!rec)
		return;
	free(rec->name);
	free(rec->argv);
	free(rec->cwd);
	free(rec->lost_reason);
	memset(rec, 0, sizeof *rec);
}

PERSIST_EXPORT void persist_child_recs_free(struct persist_child_rec *recs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		persist_child_rec_clear(&recs[i]);
	free(recs);
}

/* ---- transitions ---- */

/* Bind NULL-terminated v (NULL: SQL NULL) encoded as argv is, into
 * *blob (the caller frees it after the step).  Returns: an SQLite rc. */
static int bind_strv(sqlite3_stmt *s, int col, const char *const *v, void **blob)
{
	size_t len;

	*blob = NULL;
	if (!v)
		return sqlite3_bind_null(s, col);
	if (persist_argv_encode(v, blob, &len) < 0)
		return SQLITE_NOMEM;
	/* A non-NULL pointer: an empty list is a zero-length blob, not NULL. */
	return sqlite3_bind_blob(s, col, *blob, (int)len, SQLITE_STATIC);
}

static int bind_text(sqlite3_stmt *s, int col, const char *t)
{
	return t ? sqlite3_bind_text(s, col, t, -1, SQLITE_STATIC) : sqlite3_bind_null(s, col);
}

PERSIST_EXPORT int persist_store_intent(struct persist_store *st, int64_t thread_id,
					const char *name, const char *const *argv,
					const char *cwd, int64_t *child_id)
{
	return persist_store_intent_spec(st, thread_id, name, argv, cwd, NULL, child_id);
}

PERSIST_EXPORT int persist_store_intent_spec(struct persist_store *st, int64_t thread_id,
					     const char *name, const char *const *argv,
					     const char *cwd, const struct persist_child_spec *spec,
					     int64_t *child_id)
{
	const char **names = NULL;
	sqlite3_stmt *s;
	void *blob, *env = NULL, *fdn = NULL;
	size_t len;
	int r = 0, rc;

	if (!argv || !argv[0])
		return persist__fail(st, -EINVAL, "an intent needs argv[0]");
	if (spec && spec->nfds && !spec->fd_names)
		return persist__fail(st, -EINVAL, "%zu fds without their names", spec->nfds);
	if (spec && spec->nfds) {
		/* fd_names need not be NULL-terminated: copy nfds of them. */
		if (!(names = calloc(spec->nfds + 1, sizeof *names)))
			return -ENOMEM;
		memcpy(names, spec->fd_names, spec->nfds * sizeof *names);
	}
	if ((r = persist_argv_encode(argv, &blob, &len)) < 0) {
		free(names);
		return r;
	}
	if (!(s = persist__stmt(st, ST_CHILD_INTENT, &r)))
		goto out;
	rc = sqlite3_bind_int64(s, 1, thread_id);
	rc = rc ? rc : bind_text(s, 2, name);
	rc = rc ? rc : sqlite3_bind_blob(s, 3, blob, (int)len, SQLITE_STATIC);
	rc = rc ? rc : bind_text(s, 4, cwd);
	rc = rc ? rc : sqlite3_bind_int64(s, 5, persist__now_ms());
	rc = rc ? rc : sqlite3_bind_int(s, 6, st->self_pid);
	rc = rc ? rc : sqlite3_bind_int64(s, 7, (sqlite3_int64)st->self_start);
	if (spec) {
		rc = rc ? rc : bind_strv(s, 8, spec->envp, &env);
		rc = rc ? rc : bind_text(s, 9, spec->stdin_path);
		rc = rc ? rc : bind_text(s, 10, spec->stdout_path);
		rc = rc ? rc : bind_text(s, 11, spec->stderr_path);
		rc = rc ? rc : bind_strv(s, 12, names, &fdn);
		rc = rc ? rc : sqlite3_bind_int(s, 13, spec->new_session ? 1 : 0);
		rc = rc ? rc : spec->restart_of > 0 ? sqlite3_bind_int64(s, 14, spec->restart_of)
						    : sqlite3_bind_null(s, 14);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		/* The connection's own last insert: no other writer can race it. */
		*child_id = sqlite3_last_insert_rowid(st->db);
	} else {
		r = persist__sqlerr(st, rc, "record intent");
		if (r == -EEXIST)
			persist__fail(st, r, "the name %s is taken by a live child", name);
		else if (r == -ENOENT)
			persist__fail(st, r, "no thread %lld", (long long)thread_id);
	}
	sqlite3_reset(s);
out:
	free(blob);
	free(env);
	free(fdn);
	free(names);
	return r;
}

/* A column of strings encoded as argv is: NULL stays NULL. */
static int col_strv(sqlite3_stmt *s, int col, char ***v, size_t *n)
{
	*v = NULL;
	*n = 0;
	if (sqlite3_column_type(s, col) == SQLITE_NULL)
		return 0;
	return persist_argv_decode(sqlite3_column_blob(s, col), (size_t)sqlite3_column_bytes(s, col),
				   v, n);
}

PERSIST_EXPORT int persist_store_child_spawn(struct persist_store *st, int64_t child_id,
					     struct persist_child_spawn *out)
{
	int r = 0, rc;
	sqlite3_stmt *s = persist__stmt(st, ST_CHILD_SPAWN_GET, &r);

	memset(out, 0, sizeof *out);
	if (!s)
		return r;
	sqlite3_bind_int64(s, 1, child_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		r = persist__fail(st, -ENOENT, "no child %lld", (long long)child_id);
	} else if (rc != SQLITE_ROW) {
		r = persist__sqlerr(st, rc, "read child spec");
	} else {
		out->recorded = sqlite3_column_type(s, 5) != SQLITE_NULL;
		out->new_session = out->recorded ? sqlite3_column_int(s, 5) : 1;
		out->restarted_by = sqlite3_column_int64(s, 6);
		r = col_strv(s, 0, &out->envp, &out->nenv);
		if (r == 0)
			r = col_strv(s, 4, &out->fd_names, &out->nfds);
		if (r == 0)
			r = persist__strdup((const char *)sqlite3_column_text(s, 1), &out->stdin_path);
		if (r == 0)
			r = persist__strdup((const char *)sqlite3_column_text(s, 2), &out->stdout_path);
		if (r == 0)
			r = persist__strdup((const char *)sqlite3_column_text(s, 3), &out->stderr_path);
		if (r < 0) {
			persist_child_spawn_clear(out);
			r = persist__fail(st, r == -EINVAL ? -EUCLEAN : r,
					  "child %lld: unreadable spec", (long long)child_id);
		}
	}
	sqlite3_reset(s);
	return r;
}

PERSIST_EXPORT void persist_child_spawn_clear(struct persist_child_spawn *sp)
{
	if (!sp)
		return;
	free(sp->envp);
	free(sp->fd_names);
	free(sp->stdin_path);
	free(sp->stdout_path);
	free(sp->stderr_path);
	memset(sp, 0, sizeof *sp);
}

/* After a conditional UPDATE changed nothing: say why.  *same is set when
 * the record already holds pid + starttime in state running. */
static int why_not(struct persist_store *st, int64_t id, const char *want, int pid,
		   unsigned long long starttime, int *same)
{
	int r = 0, rc;
	sqlite3_stmt *s = persist__stmt(st, ST_CHILD_STATE, &r);

	*same = 0;
	if (!s)
		return r;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *state = (const char *)sqlite3_column_text(s, 0);
		*same = state && strcmp(state, "running") == 0 && pid > 0 &&
			sqlite3_column_int(s, 1) == pid &&
			(unsigned long long)sqlite3_column_int64(s, 2) == starttime;
		r = persist__fail(st, -EINVAL, "child %lld is %s, not %s", (long long)id,
				  state ? state : "?", want);
	} else if (rc == SQLITE_DONE) {
		r = persist__fail(st, -ENOENT, "no child %lld", (long long)id);
	} else {
		r = persist__sqlerr(st, rc, "read child state");
	}
	sqlite3_reset(s);
	return r;
}

PERSIST_EXPORT int persist_store_born(struct persist_store *st, int64_t child_id, int pid,
				      unsigned long long starttime)
{
	sqlite3_stmt *s;
	int r = 0, rc;

	if (pid <= 0)
		return persist__fail(st, -EINVAL, "a born child needs a pid");
	if (!(s = persist__stmt(st, ST_CHILD_BORN, &r)))
		return r;
	rc = sqlite3_bind_int64(s, 1, child_id);
	rc = rc ? rc : sqlite3_bind_int(s, 2, pid);
	rc = rc ? rc : sqlite3_bind_int64(s, 3, (sqlite3_int64)starttime);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return persist__sqlerr(st, rc, "record birth");
	if (sqlite3_changes(st->db) == 1)
		return 0;
	return persist__fail(st, -EINVAL, "child %lld is not an intent", (long long)child_id);
}

PERSIST_EXPORT int persist_store_started(struct persist_store *st, int64_t child_id, int pid,
					 unsigned long long starttime)
{
	sqlite3_stmt *s;
	int r = 0, rc, same;

	if (pid <= 0)
		return persist__fail(st, -EINVAL, "a started child needs a pid");
	if (!(s = persist__stmt(st, ST_CHILD_STARTED, &r)))
		return r;
	rc = sqlite3_bind_int64(s, 1, child_id);
	rc = rc ? rc : sqlite3_bind_int(s, 2, pid);
	rc = rc ? rc : sqlite3_bind_int64(s, 3, (sqlite3_int64)starttime);
	rc = rc ? rc : sqlite3_bind_int64(s, 4, persist__now_ms());
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return persist__sqlerr(st, rc, "record start");
	if (sqlite3_changes(st->db) == 1)
		return 0;
	r = why_not(st, child_id, "an intent", pid, starttime, &same);
	return same ? 0 : r;
}

PERSIST_EXPORT int persist_store_ended(struct persist_store *st, int64_t child_id,
				       int code_or_signal, int killed, int64_t ended_ms)
{
	sqlite3_stmt *s;
	int r = 0, rc, same;

	if (killed ? code_or_signal < 1 || code_or_signal > 64
		   : code_or_signal < 0 || code_or_signal > 255)
		return persist__fail(st, -EINVAL, "bad %s %d", killed ? "signal" : "exit code",
				     code_or_signal);
	if (!(s = persist__stmt(st, ST_CHILD_ENDED, &r)))
		return r;
	rc = sqlite3_bind_int64(s, 1, child_id);
	rc = rc ? rc : sqlite3_bind_text(s, 2, killed ? "killed" : "exited", -1, SQLITE_STATIC);
	rc = rc ? rc : killed ? sqlite3_bind_null(s, 3) : sqlite3_bind_int(s, 3, code_or_signal);
	rc = rc ? rc : killed ? sqlite3_bind_int(s, 4, code_or_signal) : sqlite3_bind_null(s, 4);
	rc = rc ? rc : sqlite3_bind_int64(s, 5, ended_ms ? ended_ms : persist__now_ms());
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return persist__sqlerr(st, rc, "record end");
	if (sqlite3_changes(st->db) == 1)
		return 0;
	return why_not(st, child_id, "running", 0, 0, &same);
}

PERSIST_EXPORT int persist_store_lost(struct persist_store *st, int64_t child_id,
				      const char *reason)
{
	sqlite3_stmt *s;
	int r = 0, rc, same;

	if (!reason || !*reason)
		return persist__fail(st, -EINVAL, "a lost child needs a reason");
	if (!(s = persist__stmt(st, ST_CHILD_LOST, &r)))
		return r;
	rc = sqlite3_bind_int64(s, 1, child_id);
	rc = rc ? rc : sqlite3_bind_text(s, 2, reason, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return persist__sqlerr(st, rc, "record loss");
	if (sqlite3_changes(st->db) == 1)
		return 0;
	return why_not(st, child_id, "an intent or running", 0, 0, &same);
}

/* ---- reads ---- */

static int child_read(struct persist_store *st, sqlite3_stmt *s, struct persist_child_rec *out,
		      const char *missing)
{
	int rc = sqlite3_step(s), r;

	if (rc == SQLITE_ROW)
		r = persist__child_row(s, out);
	else if (rc == SQLITE_DONE)
		r = persist__fail(st, -ENOENT, "%s", missing);
	else
		r = persist__sqlerr(st, rc, "read child");
	sqlite3_reset(s);
	return r;
}

PERSIST_EXPORT int persist_store_child_get(struct persist_store *st, int64_t child_id,
					   struct persist_child_rec *out)
{
	int r = 0;
	sqlite3_stmt *s = persist__stmt(st, ST_CHILD_GET, &r);

	if (!s)
		return r;
	sqlite3_bind_int64(s, 1, child_id);
	return child_read(st, s, out, "no such child");
}

PERSIST_EXPORT int persist_store_child_find(struct persist_store *st, int64_t thread_id,
					    const char *name, struct persist_child_rec *out)
{
	int r = 0;
	sqlite3_stmt *s;

	if (!name)
		return -EINVAL;
	if (!(s = persist__stmt(st, thread_id ? ST_CHILD_FIND : ST_CHILD_FIND_ANY, &r)))
		return r;
	sqlite3_bind_int64(s, 1, thread_id);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	return child_read(st, s, out, "no child has that name");
}

/* The walk behind children_each and children: fn may take rec's strings
 * (zeroing the fields it took), since rec is cleared after it. */
static int walk(struct persist_store *st, int64_t thread_id,
		int (*fn)(void *arg, struct persist_child_rec *rec), void *arg)
{
	struct persist_child_rec rec;
	sqlite3_stmt *s;
	int rc, r = 0;

	/* A statement of its own, not the cache: fn may call back into st. */
	rc = sqlite3_prepare_v2(st->db, thread_id
				? "SELECT " PERSIST__CHILD_COLS " FROM children WHERE thread_id = ?1"
				  " ORDER BY id"
				: "SELECT " PERSIST__CHILD_COLS " FROM children ORDER BY id",
				-1, &s, NULL);
	if (rc != SQLITE_OK)
		return persist__sqlerr(st, rc, "list children");
	if (thread_id)
		sqlite3_bind_int64(s, 1, thread_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if ((r = persist__child_row(s, &rec)) < 0) {
			persist__fail(st, r, "child %lld: unreadable record",
				      (long long)sqlite3_column_int64(s, 0));
			break;
		}
		r = fn(arg, &rec);
		persist_child_rec_clear(&rec);
		if (r)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = persist__sqlerr(st, rc, "list children");
	sqlite3_finalize(s);
	return r;
}

struct each {
	int (*fn)(void *arg, const struct persist_child_rec *rec);
	void *arg;
};

static int each_one(void *arg, struct persist_child_rec *rec)
{
	struct each *e = arg;

	return e->fn(e->arg, rec);
}

PERSIST_EXPORT int persist_store_children_each(struct persist_store *st, int64_t thread_id,
					       int (*fn)(void *arg, const struct persist_child_rec *rec),
					       void *arg)
{
	struct each e = { fn, arg };

	return walk(st, thread_id, each_one, &e);
}

struct collect {
	struct persist_child_rec *a;
	size_t n, cap;
};

/* Move rec's strings into the array: the walk clears rec after fn. */
static int collect_one(void *arg, struct persist_child_rec *rec)
{
	struct collect *c = arg;
	struct persist_child_rec *b;

	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 16;
		if (!(b = realloc(c->a, cap * sizeof *b)))
			return -ENOMEM;
		c->a = b;
		c->cap = cap;
	}
	c->a[c->n++] = *rec;
	memset(rec, 0, sizeof *rec);
	return 0;
}

PERSIST_EXPORT int persist_store_children(struct persist_store *st, int64_t thread_id,
					  struct persist_child_rec **out, size_t *n)
{
	struct collect c = { 0 };
	int r = walk(st, thread_id, collect_one, &c);

	if (r) {
		persist_child_recs_free(c.a, c.n);
		*out = NULL;
		*n = 0;
		return r;
	}
	*out = c.a;
	*n = c.n;
	return 0;
}
