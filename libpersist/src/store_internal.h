/* SPDX-License-Identifier: MIT */
/* What the store's and recovery's sources share; never installed. */
#ifndef PERSIST_STORE_INTERNAL_H
#define PERSIST_STORE_INTERNAL_H

#include <sqlite3.h>
#include <persist/store.h>

/* Statements prepared once per open store and reused: recovery runs one
 * UPDATE per child, and preparing each time would cost more than the write. */
enum persist__stmt {
	ST_THREAD_UPD_BY_PATH,
	ST_THREAD_INS,
	ST_THREAD_UPD_BY_ID,
	ST_THREAD_GET,
	ST_THREAD_FIND,
	ST_THREAD_DEL,
	ST_CHILD_INTENT,
	ST_CHILD_STARTED,
	ST_CHILD_ENDED,
	ST_CHILD_LOST,
	ST_CHILD_STATE,
	ST_CHILD_GET,
	ST_CHILD_FIND,
	ST_CHILD_FIND_ANY,
	ST_CHILD_BORN,
	ST_CHILD_SPAWN_GET,
	ST_FD_PUT,
	ST_FD_ADD,
	ST_FD_DEL,
	ST_FD_LIST,
	ST_REC_BY_PROC,
	ST_REC_SET_RUNNING,
	ST_REC_SET_ENDED,
	ST_REC_SET_LOST,
	ST_REC_ADOPT,
	ST_COUNT
};

struct persist_store {
	sqlite3 *db;
	sqlite3_stmt *stmt[ST_COUNT];
	char errmsg[512];
	int self_pid;                  /* who writes intents: the opener */
	unsigned long long self_start;
};

/* The columns every child read selects, in this order; see persist__child_row. */
#define PERSIST__CHILD_COLS \
	"id, thread_id, name, argv, cwd, pid, starttime, state, exit_code, signal, " \
	"started, ended, lost_reason, restart_of"

/* Map SQLite's rc (extended) to a negative errno and keep "what: message". */
int persist__sqlerr(struct persist_store *st, int rc, const char *what);
/* Keep a message of our own; returns err. */
int persist__fail(struct persist_store *st, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The cached statement, reset and unbound; NULL with *err set on failure.
 * The caller resets it after use, so no read snapshot stays open. */
sqlite3_stmt *persist__stmt(struct persist_store *st, enum persist__stmt which, int *err);
/* Run sql that returns no rows ("BEGIN IMMEDIATE", "COMMIT", ...). */
int persist__exec(struct persist_store *st, const char *sql);
/* Current unix time in milliseconds. */
int64_t persist__now_ms(void);
/* Fill rec from a row of PERSIST__CHILD_COLS; 0 or -ENOMEM / -EUCLEAN. */
int persist__child_row(sqlite3_stmt *s, struct persist_child_rec *rec);
/* Duplicate a string (NULL stays NULL); 0 or -ENOMEM. */
int persist__strdup(const char *s, char **out);

#endif
