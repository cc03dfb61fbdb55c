// SPDX-License-Identifier: MIT
/* The store: opening, the schema, errors, statements, threads and named fds. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <asm/unistd.h>
#include <near/syscall.h>
#include "store_internal.h"

/* Version 1 of the schema.  The CHECKs keep the state machine honest even
 * against a writer that bypasses this library (the sqlite3 shell). */
static const char schema_v1[] =
	"CREATE TABLE threads ("
	" id INTEGER PRIMARY KEY,"
	" socket_path TEXT NOT NULL UNIQUE,"
	" pid INTEGER NOT NULL CHECK (pid > 0),"
	" starttime INTEGER NOT NULL CHECK (starttime >= 0),"
	" epoch INTEGER NOT NULL DEFAULT 0,"
	" created INTEGER NOT NULL);"
	"CREATE TABLE children ("
	" id INTEGER PRIMARY KEY,"
	" thread_id INTEGER NOT NULL REFERENCES threads(id) ON DELETE CASCADE,"
	" name TEXT,"
	" argv BLOB NOT NULL,"
	" cwd TEXT,"
	" pid INTEGER CHECK (pid IS NULL OR pid > 0),"
	" starttime INTEGER,"
	/* ORs, not IN (...): SQLite builds a table for an IN list of more
	 * than two values each time the CHECK runs, which tripled the cost
	 * of recovery's 10,000 UPDATEs. */
	" state TEXT NOT NULL CHECK (state = 'intent' OR state = 'running' OR state = 'exited'"
	"        OR state = 'killed' OR state = 'lost'),"
	" exit_code INTEGER CHECK (exit_code IS NULL OR exit_code BETWEEN 0 AND 255),"
	" signal INTEGER CHECK (signal IS NULL OR signal > 0),"
	" started INTEGER NOT NULL,"
	" ended INTEGER,"
	" lost_reason TEXT,"
	/* The controller process that wrote the intent: while it lives, its
	 * spawn may still be in flight, and recovery leaves it alone. */
	" owner_pid INTEGER,"
	" owner_start INTEGER,"
	" CHECK ((pid IS NULL) = (starttime IS NULL)),"
	" CHECK (CASE state WHEN 'intent' THEN pid IS NULL WHEN 'lost' THEN 1"
	"        ELSE pid IS NOT NULL END),"
	" CHECK ((state = 'exited') = (exit_code IS NOT NULL)),"
	" CHECK ((state = 'killed') = (signal IS NOT NULL)),"
	" CHECK ((state = 'lost') = (lost_reason IS NOT NULL)));"
	/* A name stays unique among live children only, so it can be reused
	 * once its child has ended. */
	"CREATE UNIQUE INDEX children_live_name ON children(thread_id, name)"
	" WHERE name IS NOT NULL AND (state = 'intent' OR state = 'running');"
	"CREATE INDEX children_state ON children(thread_id, state);"
	"CREATE INDEX children_pid ON children(thread_id, pid);"
	"CREATE INDEX children_name ON children(name) WHERE name IS NOT NULL;"
	"CREATE TABLE fds ("
	" thread_id INTEGER NOT NULL REFERENCES threads(id) ON DELETE CASCADE,"
	" name TEXT NOT NULL,"
	" fd INTEGER NOT NULL CHECK (fd >= 0),"
	" description TEXT,"
	" PRIMARY KEY (thread_id, name)) WITHOUT ROWID;";

/* Version 2: an intent's child before its execve, and a named fd's identity (docs/design.md, re-acquiring by
 * identity): NULL for a record kept without one. */
static const char schema_v2[] =
	/* The child of an intent once it exists, before its execve (pid and
	 * start time): recovery then finds it by identity, not by argv. */
	"ALTER TABLE children ADD COLUMN born_pid INTEGER;"
	"ALTER TABLE children ADD COLUMN born_start INTEGER;"
	"ALTER TABLE fds ADD COLUMN dev INTEGER;"
	"ALTER TABLE fds ADD COLUMN ino INTEGER;"
	"ALTER TABLE fds ADD COLUMN type INTEGER;";

/* Version 3: how a child was started, beyond argv and cwd, so that it can
 * be started again the same way (persist_session_restart), and which child
 * a restart replaced.  NULL in each for a record written before (an
 * upgraded store) or adopted by recovery: the defaults then. */
static const char schema_v3_children[] =
	/* envp as given to the spawn, encoded as argv is; NULL: the
	 * controller's own environment at the spawn. */
	"ALTER TABLE children ADD COLUMN env BLOB;"
	"ALTER TABLE children ADD COLUMN stdin_path TEXT;"
	"ALTER TABLE children ADD COLUMN stdout_path TEXT;"
	"ALTER TABLE children ADD COLUMN stderr_path TEXT;"
	/* The kept fds passed by name, encoded as argv is; NULL: none. */
	"ALTER TABLE children ADD COLUMN fd_names BLOB;"
	"ALTER TABLE children ADD COLUMN new_session INTEGER"
	" CHECK (new_session IS NULL OR new_session IN (0, 1));"
	/* Not a foreign key: the child restarted may be forgotten with its
	 * thread while the new one lives in a thread recorded anew. */
	"ALTER TABLE children ADD COLUMN restart_of INTEGER;"
	"CREATE INDEX children_restart_of ON children(restart_of) WHERE restart_of IS NOT NULL;";

/* Version 4: the host a thread runs on (the ssh destination; NULL: this
 * one) and its identity read through the thread (docs/design.md, decision
 * on other hosts): the boot id and the pid namespace, without which a pid
 * of the record cannot be told from a pid of ours. */
static const char schema_v4_host[] =
	"ALTER TABLE threads ADD COLUMN host TEXT;"
	"ALTER TABLE threads ADD COLUMN boot_id TEXT;"
	"ALTER TABLE threads ADD COLUMN pidns TEXT;";

/* What thread_row reads, in its order. */
#define THREAD_COLS "id, socket_path, pid, starttime, epoch, created, host, boot_id, pidns"

static const char *const sql[ST_COUNT] = {
	[ST_THREAD_UPD_BY_PATH] =
		"UPDATE threads SET pid = ?2, starttime = ?3, epoch = ?4, host = ?6, boot_id = ?7,"
		" pidns = ?8 WHERE socket_path = ?1",
	[ST_THREAD_INS] =
		"INSERT INTO threads (socket_path, pid, starttime, epoch, created, host, boot_id,"
		" pidns) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[ST_THREAD_UPD_BY_ID] =
		"UPDATE threads SET socket_path = ?1, pid = ?2, starttime = ?3, epoch = ?4,"
		" host = ?6, boot_id = ?7, pidns = ?8 WHERE id = ?5",
	[ST_THREAD_GET] =
		"SELECT " THREAD_COLS " FROM threads WHERE id = ?1",
	[ST_THREAD_FIND] =
		"SELECT " THREAD_COLS " FROM threads WHERE socket_path = ?1",
	[ST_THREAD_DEL] = "DELETE FROM threads WHERE id = ?1",
	[ST_CHILD_INTENT] =
		"INSERT INTO children (thread_id, name, argv, cwd, state, started, owner_pid,"
		" owner_start, env, stdin_path, stdout_path, stderr_path, fd_names, new_session,"
		" restart_of) VALUES (?1, ?2, ?3, ?4, 'intent', ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
		" ?12, ?13, ?14)",
	[ST_CHILD_SPAWN_GET] =
		"SELECT env, stdin_path, stdout_path, stderr_path, fd_names, new_session,"
		/* A restart that never got a child (lost before it started)
		 * does not count: the child may be restarted again. */
		" (SELECT max(n.id) FROM children n WHERE n.restart_of = c.id"
		"  AND NOT (n.state = 'lost' AND n.pid IS NULL))"
		" FROM children c WHERE c.id = ?1",
	[ST_CHILD_STARTED] =
		"UPDATE children SET pid = ?2, starttime = ?3, state = 'running', started = ?4"
		" WHERE id = ?1 AND state = 'intent'",
	[ST_CHILD_BORN] =
		"UPDATE children SET born_pid = ?2, born_start = ?3 WHERE id = ?1 AND state = 'intent'",
	[ST_CHILD_ENDED] =
		"UPDATE children SET state = ?2, exit_code = ?3, signal = ?4, ended = ?5"
		" WHERE id = ?1 AND state = 'running'",
	[ST_CHILD_LOST] =
		"UPDATE children SET state = 'lost', lost_reason = ?2"
		" WHERE id = ?1 AND state IN ('intent', 'running')",
	[ST_CHILD_STATE] = "SELECT state, pid, starttime FROM children WHERE id = ?1",
	[ST_CHILD_GET] = "SELECT " PERSIST__CHILD_COLS " FROM children WHERE id = ?1",
	[ST_CHILD_FIND] =
		"SELECT " PERSIST__CHILD_COLS " FROM children WHERE thread_id = ?1 AND name = ?2"
		" ORDER BY id DESC LIMIT 1",
	[ST_CHILD_FIND_ANY] =
		"SELECT " PERSIST__CHILD_COLS " FROM children WHERE name = ?2"
		" ORDER BY id DESC LIMIT 1",
	[ST_FD_PUT] =
		"INSERT INTO fds (thread_id, name, fd, description) VALUES (?1, ?2, ?3, ?4)"
		" ON CONFLICT (thread_id, name) DO UPDATE SET fd = excluded.fd,"
		" description = excluded.description, dev = NULL, ino = NULL, type = NULL",
	[ST_FD_ADD] =
		"INSERT INTO fds (thread_id, name, fd, description, dev, ino, type)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[ST_FD_DEL] = "DELETE FROM fds WHERE thread_id = ?1 AND name = ?2",
	[ST_FD_LIST] =
		"SELECT name, fd, description, dev, ino, type FROM fds WHERE thread_id = ?1"
		" ORDER BY name",
	[ST_REC_BY_PROC] =
		"SELECT id, state FROM children WHERE thread_id = ?1 AND pid = ?2"
		" AND starttime = ?3 ORDER BY id DESC LIMIT 1",
	[ST_REC_SET_RUNNING] =
		"UPDATE children SET pid = ?2, starttime = ?3, state = 'running', started = ?4"
		" WHERE id = ?1 AND state = 'intent'",
	[ST_REC_SET_ENDED] =
		"UPDATE children SET pid = ?2, starttime = ?3, state = ?4, exit_code = ?5,"
		" signal = ?6, ended = ?7, started = CASE WHEN state = 'intent' THEN ?8"
		" ELSE started END"
		" WHERE id = ?1 AND (state = 'intent' OR (state = 'running' AND pid = ?2))",
	[ST_REC_SET_LOST] =
		"UPDATE children SET state = 'lost', lost_reason = ?3"
		" WHERE id = ?1 AND state = ?2",
	[ST_REC_ADOPT] =
		"INSERT INTO children (thread_id, argv, cwd, pid, starttime, state, exit_code,"
		" signal, started, ended) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
};

int persist__fail(struct persist_store *st, int err, const char *fmt, ...)
{
	va_list ap;

	if (st) {
		va_start(ap, fmt);
		vsnprintf(st->errmsg, sizeof st->errmsg, fmt, ap);
		va_end(ap);
	}
	return err;
}

static int map_rc(sqlite3 *db, int rc)
{
	int sys = db ? sqlite3_system_errno(db) : 0;

	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EUCLEAN;
	case SQLITE_CANTOPEN:
		/* The OS said why: ENOENT, EACCES, EISDIR ... */
		return sys > 0 ? -sys : -EIO;
	case SQLITE_IOERR:
		return sys == ENOSPC || sys == EDQUOT ? -ENOSPC : -EIO;
	case SQLITE_CONSTRAINT:
		switch (rc) {
		case SQLITE_CONSTRAINT_UNIQUE:
		case SQLITE_CONSTRAINT_PRIMARYKEY:
			return -EEXIST;
		case SQLITE_CONSTRAINT_FOREIGNKEY:
			return -ENOENT;
		default:
			return -EINVAL;
		}
	case SQLITE_TOOBIG:
		return -E2BIG;
	case SQLITE_RANGE:
	case SQLITE_MISUSE:
		return -EINVAL;
	case SQLITE_INTERRUPT:
		return -EINTR;
	default:
		return -EIO;
	}
}

int persist__sqlerr(struct persist_store *st, int rc, const char *what)
{
	int sys = sqlite3_system_errno(st->db);

	/* "disk I/O error" alone does not say that the disk is full, or
	 * read-only: the system's words do. */
	if (sys > 0 && ((rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_CANTOPEN ||
			(rc & 0xff) == SQLITE_FULL))
		return persist__fail(st, map_rc(st->db, rc), "%s: %s (%s)", what,
				     sqlite3_errmsg(st->db), strerror(sys));
	return persist__fail(st, map_rc(st->db, rc), "%s: %s", what, sqlite3_errmsg(st->db));
}

sqlite3_stmt *persist__stmt(struct persist_store *st, enum persist__stmt which, int *err)
{
	sqlite3_stmt *s = st->stmt[which];
	int rc;

	if (s) {
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
		return s;
	}
	rc = sqlite3_prepare_v3(st->db, sql[which], -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);
	if (rc != SQLITE_OK) {
		*err = persist__sqlerr(st, rc, "prepare");
		return NULL;
	}
	st->stmt[which] = s;
	return s;
}

int persist__exec(struct persist_store *st, const char *q)
{
	int rc = sqlite3_exec(st->db, q, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : persist__sqlerr(st, rc, q);
}

int64_t persist__now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int persist__strdup(const char *s, char **out)
{
	*out = NULL;
	if (s && !(*out = strdup(s)))
		return -ENOMEM;
	return 0;
}

PERSIST_EXPORT const char *persist_store_errmsg(const struct persist_store *st)
{
	return st ? st->errmsg : "";
}

/* One pragma that answers with one text row (journal_mode, user_version). */
static int pragma_text(struct persist_store *st, const char *q, char *out, size_t len)
{
	sqlite3_stmt *s;
	int rc = sqlite3_prepare_v2(st->db, q, -1, &s, NULL);

	if (rc != SQLITE_OK)
		return persist__sqlerr(st, rc, q);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(s, 0);
		snprintf(out, len, "%s", t ? (const char *)t : "");
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		*out = 0;
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_OK)
		rc = persist__sqlerr(st, rc, q);
	sqlite3_finalize(s);
	return rc;
}

/* Bring the schema to PERSIST_STORE_SCHEMA.  BEGIN IMMEDIATE takes the write
 * lock before user_version is read, so of many first openers exactly one
 * creates the schema and the others see it done. */
static int schema(struct persist_store *st)
{
	char v[32], n[32];
	int r = persist__exec(st, "BEGIN IMMEDIATE");
	long ver;

	if (r < 0)
		return r;
	if ((r = pragma_text(st, "PRAGMA user_version", v, sizeof v)) < 0)
		goto out;
	ver = atol(v);
	if (ver == PERSIST_STORE_SCHEMA)
		goto out;
	if (ver > PERSIST_STORE_SCHEMA) {
		r = persist__fail(st, -EPROTONOSUPPORT,
				  "store schema version %ld is newer than this libpersist's (%d): "
				  "use a newer libpersist", ver, PERSIST_STORE_SCHEMA);
		goto out;
	}
	if (ver >= 1)
		goto upgrade;
	/* Version 0 with tables in it is some other program's database. */
	if ((r = pragma_text(st, "SELECT count(*) FROM sqlite_master", n, sizeof n)) < 0)
		goto out;
	if (atol(n) != 0) {
		r = persist__fail(st, -EUCLEAN, "not a persist store (a database of something else)");
		goto out;
	}
	if ((r = persist__exec(st, schema_v1)) < 0)
		goto out;
	ver = 1;
upgrade:
	/* Each version's step, in order, from the one the file has. */
	if (ver == 1 && (r = persist__exec(st, schema_v2)) < 0)
		goto out;
	if (ver <= 2 && (r = persist__exec(st, schema_v3_children)) < 0)
		goto out;
	if (ver <= 3 && (r = persist__exec(st, schema_v4_host)) < 0)
		goto out;
	r = persist__exec(st, "PRAGMA user_version = 4");
out:
	if (r < 0) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return r;
	}
	return persist__exec(st, "COMMIT");
}

/* Switch a new file to WAL.  The switch needs an exclusive lock, and
 * SQLite answers "locked" at once, without its busy handler, when other
 * processes open the same new file at that moment: so retry here, within
 * the same bound.  A file already in WAL mode needs no switch at all. */
static int wal_mode(struct persist_store *st, char *mode, size_t len)
{
	struct timespec pause = { 0, 2 * 1000 * 1000 };
	int r;

	if ((r = pragma_text(st, "PRAGMA journal_mode", mode, len)) < 0 || strcmp(mode, "wal") == 0)
		return r;
	for (int waited = 0;; waited += 2) {
		r = pragma_text(st, "PRAGMA journal_mode = WAL", mode, len);
		if (r != -EBUSY || waited >= PERSIST_STORE_BUSY_MS)
			return r;
		near_syscall2(__NR_nanosleep, (long)&pause, 0);
	}
}

PERSIST_EXPORT int persist_store_open(const char *path, unsigned flags,
				      struct persist_store **out, char *errbuf, size_t errlen)
{
	struct persist_store *st;
	char mode[32];
	int rc, r;

	*out = NULL;
	if (!path || (flags & ~PERSIST_STORE_CREATE)) {
		if (errlen)
			snprintf(errbuf, errlen, "persist_store_open: bad path or flags");
		return -EINVAL;
	}
	if (!(st = calloc(1, sizeof *st))) {
		if (errlen)
			snprintf(errbuf, errlen, "out of memory");
		return -ENOMEM;
	}
	/* A new file is made 0600 here, not by SQLite (0644 under the usual
	 * umask): its -wal and -shm then get the same mode. */
	if (flags & PERSIST_STORE_CREATE) {
		int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0)
			close(fd);
	}
	/* NOMUTEX: a handle is used by one thread at a time (documented). */
	rc = sqlite3_open_v2(path, &st->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
			     (flags & PERSIST_STORE_CREATE ? SQLITE_OPEN_CREATE : 0), NULL);
	if (rc != SQLITE_OK) {
		r = st->db ? map_rc(st->db, rc) : -ENOMEM;
		persist__fail(st, r, "cannot open the store %s: %s", path,
			      st->db ? sqlite3_errmsg(st->db) : "out of memory");
		goto fail;
	}
	/* SQLite quietly opens read-only a file it cannot write (a read-only
	 * filesystem, a file not ours), and then fails later with words that
	 * do not say so (on a read-only filesystem, "unable to open database
	 * file" and ENOENT, for the -shm it may not create): say it now. */
	if (sqlite3_db_readonly(st->db, "main") == 1) {
		int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
		r = fd >= 0 ? -EACCES : -errno;
		if (fd >= 0)
			close(fd);
		persist__fail(st, r, "the file cannot be written: %s", strerror(-r));
		goto fail;
	}
	sqlite3_extended_result_codes(st->db, 1);
	/* Set first: the pragmas below may already have to wait for other
	 * processes opening the same new file. */
	sqlite3_busy_timeout(st->db, PERSIST_STORE_BUSY_MS);
	if ((r = persist__exec(st, "PRAGMA foreign_keys = ON")) < 0)
		goto fail;
	if ((r = wal_mode(st, mode, sizeof mode)) < 0)
		goto fail;
	if (strcmp(mode, "wal") != 0) {
		r = persist__fail(st, -EOPNOTSUPP,
				  "the store %s refuses WAL mode (journal_mode is %s): "
				  "put it on a local filesystem", path, mode);
		goto fail;
	}
	/* FULL: a commit has reached the disk when the call returns, which is
	 * what "the status was recorded, now reap" relies on. */
	if ((r = persist__exec(st, "PRAGMA synchronous = FULL")) < 0)
		goto fail;
	if ((r = schema(st)) < 0)
		goto fail;
	/* The owner written into intents; a handle is not used across fork. */
	st->self_pid = (int)near_syscall0(__NR_getpid);
	persist_proc_starttime(st->self_pid, &st->self_start);
	st->errmsg[0] = 0;
	*out = st;
	return 0;
fail:
	if (errlen)
		snprintf(errbuf, errlen, "%s", st->errmsg);
	persist_store_close(st);
	return r;
}

PERSIST_EXPORT void persist_store_close(struct persist_store *st)
{
	if (!st)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_close(st->db);
	free(st);
}

/* ---- threads ---- */

static int thread_bind(sqlite3_stmt *s, const struct persist_thread_rec *rec)
{
	int rc = sqlite3_bind_text(s, 1, rec->socket_path, -1, SQLITE_STATIC);

	rc = rc ? rc : sqlite3_bind_int(s, 2, rec->pid);
	rc = rc ? rc : sqlite3_bind_int64(s, 3, (sqlite3_int64)rec->starttime);
	rc = rc ? rc : sqlite3_bind_int64(s, 4, (sqlite3_int64)rec->epoch);
	rc = rc ? rc : sqlite3_bind_text(s, 6, rec->host && *rec->host ? rec->host : NULL, -1,
					 SQLITE_STATIC);
	rc = rc ? rc : sqlite3_bind_text(s, 7, rec->boot_id, -1, SQLITE_STATIC);
	rc = rc ? rc : sqlite3_bind_text(s, 8, rec->pidns, -1, SQLITE_STATIC);
	return rc;
}

/* Step a write statement to its end. */
static int step_done(struct persist_store *st, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : persist__sqlerr(st, rc, what);
}

static int thread_row(sqlite3_stmt *s, struct persist_thread_rec *out)
{
	memset(out, 0, sizeof *out);
	out->id = sqlite3_column_int64(s, 0);
	if (persist__strdup((const char *)sqlite3_column_text(s, 1), &out->socket_path) < 0)
		return -ENOMEM;
	out->pid = sqlite3_column_int(s, 2);
	out->starttime = (unsigned long long)sqlite3_column_int64(s, 3);
	out->epoch = (uint64_t)sqlite3_column_int64(s, 4);
	out->created_ms = sqlite3_column_int64(s, 5);
	/* NULL columns stay NULL (a local thread, an identity never read). */
	if (persist__strdup((const char *)sqlite3_column_text(s, 6), &out->host) < 0 ||
	    persist__strdup((const char *)sqlite3_column_text(s, 7), &out->boot_id) < 0 ||
	    persist__strdup((const char *)sqlite3_column_text(s, 8), &out->pidns) < 0) {
		persist_thread_rec_clear(out);
		return -ENOMEM;
	}
	return 0;
}

/* One row of statement which (bound to key by bind) into out. */
static int thread_read(struct persist_store *st, enum persist__stmt which, int64_t id,
		       const char *path, struct persist_thread_rec *out)
{
	int r = 0, rc;
	sqlite3_stmt *s = persist__stmt(st, which, &r);

	if (!s)
		return r;
	rc = path ? sqlite3_bind_text(s, 1, path, -1, SQLITE_STATIC)
		  : sqlite3_bind_int64(s, 1, id);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		r = thread_row(s, out);
	else if (rc == SQLITE_DONE)
		r = path ? persist__fail(st, -ENOENT, "no thread has the socket %s", path)
			 : persist__fail(st, -ENOENT, "no thread %lld", (long long)id);
	else
		r = persist__sqlerr(st, rc, "read thread");
	sqlite3_reset(s);
	return r;
}

PERSIST_EXPORT int persist_store_thread_put(struct persist_store *st,
					    struct persist_thread_rec *rec)
{
	struct persist_thread_rec back;
	sqlite3_stmt *s;
	int r = 0, rc;

	if (!rec->socket_path || !*rec->socket_path || rec->pid <= 0)
		return persist__fail(st, -EINVAL, "a thread needs a socket path and a pid");
	if (rec->id) {
		if (!(s = persist__stmt(st, ST_THREAD_UPD_BY_ID, &r)))
			return r;
		rc = thread_bind(s, rec);
		rc = rc ? rc : sqlite3_bind_int64(s, 5, rec->id);
		if (rc != SQLITE_OK)
			return persist__sqlerr(st, rc, "bind");
		if ((r = step_done(st, s, "update thread")) < 0)
			return r;
		if (sqlite3_changes(st->db) == 0)
			return persist__fail(st, -ENOENT, "no thread %lld", (long long)rec->id);
		return 0;
	}
	/* Update-or-insert by path in one transaction: a restarted server
	 * keeps its thread id, so the children recorded under it stay its. */
	if ((r = persist__exec(st, "BEGIN IMMEDIATE")) < 0)
		return r;
	if (!(s = persist__stmt(st, ST_THREAD_UPD_BY_PATH, &r)))
		goto fail;
	if ((rc = thread_bind(s, rec)) != SQLITE_OK) {
		r = persist__sqlerr(st, rc, "bind");
		goto fail;
	}
	if ((r = step_done(st, s, "update thread")) < 0)
		goto fail;
	if (sqlite3_changes(st->db) == 0) {
		if (!(s = persist__stmt(st, ST_THREAD_INS, &r)))
			goto fail;
		rc = thread_bind(s, rec);
		rc = rc ? rc : sqlite3_bind_int64(s, 5, rec->created_ms ? rec->created_ms
									: persist__now_ms());
		if (rc != SQLITE_OK) {
			r = persist__sqlerr(st, rc, "bind");
			goto fail;
		}
		if ((r = step_done(st, s, "insert thread")) < 0)
			goto fail;
	}
	if ((r = thread_read(st, ST_THREAD_FIND, 0, rec->socket_path, &back)) < 0)
		goto fail;
	rec->id = back.id;
	rec->created_ms = back.created_ms;
	persist_thread_rec_clear(&back);
	return persist__exec(st, "COMMIT");
fail:
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

PERSIST_EXPORT int persist_store_thread_get(struct persist_store *st, int64_t id,
					    struct persist_thread_rec *out)
{
	return thread_read(st, ST_THREAD_GET, id, NULL, out);
}

PERSIST_EXPORT int persist_store_thread_find(struct persist_store *st, const char *socket_path,
					     struct persist_thread_rec *out)
{
	if (!socket_path)
		return -EINVAL;
	return thread_read(st, ST_THREAD_FIND, 0, socket_path, out);
}

PERSIST_EXPORT int persist_store_thread_list(struct persist_store *st,
					     struct persist_thread_rec **out, size_t *n)
{
	struct persist_thread_rec *a = NULL, *b;
	size_t len = 0, cap = 0;
	sqlite3_stmt *s;
	int rc, r = 0;

	*out = NULL;
	*n = 0;
	rc = sqlite3_prepare_v2(st->db, "SELECT " THREAD_COLS " FROM threads ORDER BY id", -1,
				&s, NULL);
	if (rc != SQLITE_OK)
		return persist__sqlerr(st, rc, "list threads");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap ? 2 * cap : 8;
			if (!(b = realloc(a, cap * sizeof *a))) {
				r = -ENOMEM;
				break;
			}
			a = b;
		}
		if ((r = thread_row(s, &a[len])) < 0)
			break;
		len++;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = persist__sqlerr(st, rc, "list threads");
	sqlite3_finalize(s);
	if (r < 0) {
		persist_thread_recs_free(a, len);
		return r;
	}
	*out = a;
	*n = len;
	return 0;
}

PERSIST_EXPORT int persist_store_thread_del(struct persist_store *st, int64_t id)
{
	int r = 0;
	sqlite3_stmt *s = persist__stmt(st, ST_THREAD_DEL, &r);

	if (!s)
		return r;
	sqlite3_bind_int64(s, 1, id);
	if ((r = step_done(st, s, "delete thread")) < 0)
		return r;
	if (sqlite3_changes(st->db) == 0)
		return persist__fail(st, -ENOENT, "no thread %lld", (long long)id);
	return 0;
}

PERSIST_EXPORT void persist_thread_rec_clear(struct persist_thread_rec *rec)
{
	if (!rec)
		return;
	free(rec->socket_path);
	free(rec->host);
	free(rec->boot_id);
	free(rec->pidns);
	memset(rec, 0, sizeof *rec);
}

PERSIST_EXPORT void persist_thread_recs_free(struct persist_thread_rec *recs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		persist_thread_rec_clear(&recs[i]);
	free(recs);
}

/* ---- named fds ---- */

PERSIST_EXPORT int persist_store_fd_put(struct persist_store *st, int64_t thread_id,
					const char *name, int fd, const char *description)
{
	sqlite3_stmt *s;
	int r = 0, rc;

	if (!name || !*name || fd < 0)
		return persist__fail(st, -EINVAL, "a named fd needs a name and an fd >= 0");
	if (!(s = persist__stmt(st, ST_FD_PUT, &r)))
		return r;
	rc = sqlite3_bind_int64(s, 1, thread_id);
	rc = rc ? rc : sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	rc = rc ? rc : sqlite3_bind_int(s, 3, fd);
	rc = rc ? rc : description ? sqlite3_bind_text(s, 4, description, -1, SQLITE_STATIC)
				   : sqlite3_bind_null(s, 4);
	if (rc != SQLITE_OK)
		return persist__sqlerr(st, rc, "bind");
	r = step_done(st, s, "record named fd");
	if (r == -ENOENT)
		persist__fail(st, r, "no thread %lld", (long long)thread_id);
	return r;
}

PERSIST_EXPORT int persist_store_fd_add(struct persist_store *st, int64_t thread_id,
					const struct persist_fd_rec *rec)
{
	sqlite3_stmt *s;
	int r = 0, rc;

	if (!rec || !rec->name || !*rec->name || rec->fd < 0)
		return persist__fail(st, -EINVAL, "a named fd needs a name and an fd >= 0");
	if (!(s = persist__stmt(st, ST_FD_ADD, &r)))
		return r;
	rc = sqlite3_bind_int64(s, 1, thread_id);
	rc = rc ? rc : sqlite3_bind_text(s, 2, rec->name, -1, SQLITE_STATIC);
	rc = rc ? rc : sqlite3_bind_int(s, 3, rec->fd);
	rc = rc ? rc : rec->description ? sqlite3_bind_text(s, 4, rec->description, -1,
							     SQLITE_STATIC)
					 : sqlite3_bind_null(s, 4);
	rc = rc ? rc : sqlite3_bind_int64(s, 5, (sqlite3_int64)rec->dev);
	rc = rc ? rc : sqlite3_bind_int64(s, 6, (sqlite3_int64)rec->ino);
	rc = rc ? rc : sqlite3_bind_int(s, 7, (int)rec->type);
	if (rc != SQLITE_OK)
		return persist__sqlerr(st, rc, "bind");
	r = step_done(st, s, "record named fd");
	if (r == -ENOENT)
		persist__fail(st, r, "no thread %lld", (long long)thread_id);
	return r;
}

PERSIST_EXPORT int persist_store_fd_del(struct persist_store *st, int64_t thread_id,
					const char *name)
{
	int r = 0;
	sqlite3_stmt *s = persist__stmt(st, ST_FD_DEL, &r);

	if (!s)
		return r;
	if (!name)
		return -EINVAL;
	sqlite3_bind_int64(s, 1, thread_id);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	if ((r = step_done(st, s, "delete named fd")) < 0)
		return r;
	if (sqlite3_changes(st->db) == 0)
		return persist__fail(st, -ENOENT, "thread %lld has no fd named %s",
				     (long long)thread_id, name);
	return 0;
}

PERSIST_EXPORT int persist_store_fd_list(struct persist_store *st, int64_t thread_id,
					 struct persist_fd_rec **out, size_t *n)
{
	struct persist_fd_rec *a = NULL, *b;
	size_t len = 0, cap = 0;
	sqlite3_stmt *s;
	int rc = SQLITE_OK, r = 0;

	*out = NULL;
	*n = 0;
	if (!(s = persist__stmt(st, ST_FD_LIST, &r)))
		return r;
	sqlite3_bind_int64(s, 1, thread_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap ? 2 * cap : 8;
			if (!(b = realloc(a, cap * sizeof *a))) {
				r = -ENOMEM;
				break;
			}
			a = b;
		}
		memset(&a[len], 0, sizeof a[len]);
		a[len].fd = sqlite3_column_int(s, 1);
		a[len].dev = (uint64_t)sqlite3_column_int64(s, 3);
		a[len].ino = (uint64_t)sqlite3_column_int64(s, 4);
		a[len].type = (unsigned)sqlite3_column_int(s, 5);
		if (persist__strdup((const char *)sqlite3_column_text(s, 0), &a[len].name) < 0 ||
		    persist__strdup((const char *)sqlite3_column_text(s, 2),
				    &a[len].description) < 0) {
			len++;
			r = -ENOMEM;
			break;
		}
		len++;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = persist__sqlerr(st, rc, "list named fds");
	sqlite3_reset(s);
	if (r < 0) {
		persist_fd_recs_free(a, len);
		return r;
	}
	*out = a;
	*n = len;
	return 0;
}

PERSIST_EXPORT void persist_fd_recs_free(struct persist_fd_rec *recs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(recs[i].name);
		free(recs[i].description);
	}
	free(recs);
}
