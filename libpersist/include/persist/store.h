/* SPDX-License-Identifier: MIT */
/* The crash-safe state store: what a controller must know after a crash.
 *
 * A store is one SQLite file (WAL, synchronous=FULL, foreign keys on) that
 * holds persistent threads (socket path, pid, start time, epoch), the
 * children started in them (argv, cwd, pid, start time, state, exit status)
 * and the fds a thread holds under a name.  Every write is committed before
 * the call returns, so what a call reported as done survives a SIGKILL or a
 * power cut.  Many processes may use one store at once: writers queue on
 * SQLite's lock for up to PERSIST_STORE_BUSY_MS before -EBUSY.
 *
 * A process is named by the pair (pid, start time): the start time (field
 * 22 of /proc/PID/stat, clock ticks since boot) tells a reused pid apart.
 *
 * A child's life in the store:
 *
 *     intent --started--> running --ended--> exited | killed
 *        \                   \
 *         `------lost--------`----> lost   (with the reason)
 *
 * The intent is written BEFORE the spawn, so a controller killed between
 * the spawn and its record leaves a trace that recovery (<persist/recover.h>)
 * resolves against the kernel.  exited, killed and lost are final.
 *
 * Every function returns 0 (or a documented non-negative value) on success
 * and a negative errno on failure; none touches errno.  SQLite's errors map
 * to -EBUSY (locked longer than the timeout), -ENOMEM, -EIO, -ENOSPC,
 * -EROFS, -EACCES, -EUCLEAN (the file is corrupt or not a store), and the
 * words of the failure stay readable through persist_store_errmsg().
 * A struct persist_store is used by one thread of the program at a time,
 * and not across fork: a child process opens its own. */
#ifndef PERSIST_STORE_H
#define PERSIST_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <persist/export.h>

#ifdef __cplusplus
extern "C" {
#endif


/* The schema this library writes, kept in PRAGMA user_version. */
#define PERSIST_STORE_SCHEMA 4
/* How long a write waits for another process's transaction. */
#define PERSIST_STORE_BUSY_MS 30000

/* persist_store_open flags. */
#define PERSIST_STORE_CREATE 0x1u /* create the file and schema if missing */

struct persist_store;

/* Open (with PERSIST_STORE_CREATE: create) the store at path and bring its
 * schema to PERSIST_STORE_SCHEMA inside one transaction, so concurrent
 * first opens create it exactly once.  On failure a message goes to errbuf
 * (if errlen > 0) and *out is NULL.
 * Returns: 0; -EINVAL (bad flags); -ENOENT (missing, no CREATE);
 * -EACCES; -EROFS (a file that can only be read); -EUCLEAN (not a store,
 * or corrupt); -EPROTONOSUPPORT (written
 * by a newer libpersist); -EBUSY; -ENOMEM; -EIO. */
PERSIST_EXPORT int persist_store_open(const char *path, unsigned flags,
				      struct persist_store **out, char *errbuf, size_t errlen);

/* Close the store; NULL is allowed.  Returns: nothing. */
PERSIST_EXPORT void persist_store_close(struct persist_store *st);

/* Returns: the words of the last failure on st ("" if none); valid until
 * the next call on st. */
PERSIST_EXPORT const char *persist_store_errmsg(const struct persist_store *st);

/* ---- threads ---- */

struct persist_thread_rec {
	int64_t id;                   /* 0 before the first put */
	char *socket_path;            /* owned by the record once read back */
	int pid;
	unsigned long long starttime; /* of pid, clock ticks since boot */
	uint64_t epoch;               /* connection epoch last seen */
	int64_t created_ms;           /* unix time; 0 on put: now */
	/* Where the thread runs, kept since schema 4 (NULL: not known, or
	 * this host for host).  A thread on another host has socket_path
	 * "DEST:PATH" (PATH its socket there), so one store tells threads of
	 * many hosts apart. */
	char *host;                   /* the ssh destination; NULL: this host */
	char *boot_id;                /* its /proc/sys/kernel/random/boot_id */
	char *pidns;                  /* its pid namespace, "pid:[INODE]" */
};

/* Record thread rec.  The socket path names a thread: a put with id 0
 * updates the record of that path if there is one (a restarted server)
 * and creates it otherwise; either way rec->id and rec->created_ms are set.
 * A put with an id updates that record, path included.
 * Returns: 0; -EINVAL (no path, pid <= 0); -ENOENT (no such id);
 * -EEXIST (id given and the path belongs to another record); store errors. */
PERSIST_EXPORT int persist_store_thread_put(struct persist_store *st,
					    struct persist_thread_rec *rec);

/* Read thread id / the thread of socket_path into *out (clear it with
 * persist_thread_rec_clear).  Returns: 0; -ENOENT; store errors. */
PERSIST_EXPORT int persist_store_thread_get(struct persist_store *st, int64_t id,
					    struct persist_thread_rec *out);
PERSIST_EXPORT int persist_store_thread_find(struct persist_store *st, const char *socket_path,
					     struct persist_thread_rec *out);

/* All threads, by id, into a new array *out of *n (free with
 * persist_thread_recs_free).  Returns: 0; store errors. */
PERSIST_EXPORT int persist_store_thread_list(struct persist_store *st,
					     struct persist_thread_rec **out, size_t *n);

/* Forget thread id with its children and named fds.
 * Returns: 0; -ENOENT; store errors. */
PERSIST_EXPORT int persist_store_thread_del(struct persist_store *st, int64_t id);

/* Free what a read put into rec / an array from thread_list.  Returns: nothing. */
PERSIST_EXPORT void persist_thread_rec_clear(struct persist_thread_rec *rec);
PERSIST_EXPORT void persist_thread_recs_free(struct persist_thread_rec *recs, size_t n);

/* ---- children ---- */

enum persist_child_state {
	PERSIST_CHILD_INTENT,  /* about to be spawned; no pid yet */
	PERSIST_CHILD_RUNNING, /* spawned: pid and start time known */
	PERSIST_CHILD_EXITED,  /* exit_code */
	PERSIST_CHILD_KILLED,  /* by signal */
	PERSIST_CHILD_LOST,    /* the kernel no longer knows it: lost_reason */
};

/* Returns: "intent", "running", "exited", "killed", "lost"; NULL if bad. */
PERSIST_EXPORT const char *persist_child_state_name(enum persist_child_state s);
/* Returns: the state named name; -EINVAL if none. */
PERSIST_EXPORT int persist_child_state_parse(const char *name);

struct persist_child_rec {
	int64_t id;        /* what persistctl prints */
	int64_t thread_id;
	char *name;        /* NULL: unnamed */
	char **argv;       /* NULL-terminated; one block: free(argv) frees it all */
	size_t argc;
	char *cwd;         /* NULL: unknown */
	int pid;           /* 0: not known yet (intent, or lost before it started) */
	unsigned long long starttime; /* meaningful when pid != 0 */
	enum persist_child_state state;
	int exit_code;     /* exited: 0..255; else -1 */
	int signal;        /* killed: the signal; else 0 */
	int64_t started_ms;/* unix time: of the spawn (of the intent until then) */
	int64_t ended_ms;  /* unix time of the end; 0 while not ended */
	char *lost_reason; /* lost: why; else NULL */
	int64_t restart_of;/* the child this one restarted
			      (persist_session_restart); 0: none */
};

/* Record the intent to spawn argv (argc >= 1, NULL-terminated) with cwd
 * (may be NULL) in thread thread_id, under name (may be NULL; a name is
 * unique among the thread's intent and running children), BEFORE the spawn.
 * Returns: 0 and the new child's id in *child_id; -EINVAL (no argv[0]);
 * -ENOENT (no such thread); -EEXIST (name in use by a live child); store errors. */
PERSIST_EXPORT int persist_store_intent(struct persist_store *st, int64_t thread_id,
					const char *name, const char *const *argv,
					const char *cwd, int64_t *child_id);

/* How a child is started beyond its argv and cwd, recorded with its intent
 * so that it can be started again the same way (persist_session_restart).
 * The strings are the caller's; every field may be NULL / 0. */
struct persist_child_spec {
	const char *const *envp;      /* the whole environment; NULL: the
					 controller's at the spawn */
	const char *stdin_path;       /* NULL: /dev/null */
	const char *stdout_path;      /* NULL: the session's log file */
	const char *stderr_path;      /* NULL: the session's log file */
	const char *const *fd_names;  /* nfds names of kept fds */
	size_t nfds;
	int new_session;
	int64_t restart_of;           /* the child it restarts; 0: none */
};

/* persist_store_intent with spec recorded too (NULL: as intent, nothing
 * more).  The environment is kept in the store as given: the store's file
 * is the caller's alone (mode 0600), like the state directory.
 * Returns: as persist_store_intent; -EINVAL (nfds without fd_names). */
PERSIST_EXPORT int persist_store_intent_spec(struct persist_store *st, int64_t thread_id,
					     const char *name, const char *const *argv,
					     const char *cwd, const struct persist_child_spec *spec,
					     int64_t *child_id);

/* A child's spec as read back: owned strings (clear with
 * persist_child_spawn_clear). */
struct persist_child_spawn {
	int recorded;       /* 0: the record holds no spec (written before
			       schema 3, adopted by recovery, or by
			       persist_store_intent): every field is the default */
	char **envp;        /* NULL-terminated, one block; NULL: not kept */
	size_t nenv;
	char *stdin_path, *stdout_path, *stderr_path; /* NULL: the default */
	char **fd_names;    /* NULL-terminated, one block; NULL if none */
	size_t nfds;
	int new_session;    /* 1 when not recorded (what a session's run does) */
	int64_t restarted_by; /* the newest child that restarted this one, not
				 counting one lost before it started (its spawn
				 failed or never happened); 0: none */
};

/* Read child_id's spec into *out.
 * Returns: 0; -ENOENT (no such child); -EUCLEAN (a bad env or fd_names in
 * the file); -ENOMEM; store errors. */
PERSIST_EXPORT int persist_store_child_spawn(struct persist_store *st, int64_t child_id,
					     struct persist_child_spawn *out);
/* Returns: nothing. */
PERSIST_EXPORT void persist_child_spawn_clear(struct persist_child_spawn *sp);

/* The child of intent child_id exists (pid, start time) and has not yet
 * called execve: recorded before the execve, so that recovery knows it by
 * identity.  If it never execs, the thread reaps it itself (NEAR_OP_SPAWN)
 * and recovery finds the pid gone: the intent is lost, never started.
 * Returns: 0; -EINVAL (pid <= 0, or not an intent); store errors. */
PERSIST_EXPORT int persist_store_born(struct persist_store *st, int64_t child_id, int pid,
				      unsigned long long starttime);

/* The spawn of child_id happened: record its pid and start time, state
 * running.  Recording the same pid and start time again is a no-op, so a
 * controller may retry after a crash that hid whether the commit happened.
 * Returns: 0; -ENOENT; -EINVAL (pid <= 0, or the child is not an intent);
 * store errors. */
PERSIST_EXPORT int persist_store_started(struct persist_store *st, int64_t child_id, int pid,
					 unsigned long long starttime);

/* Running child_id ended: with killed 0 it exited with code_or_signal
 * (0..255), else a signal (1..64) killed it.  ended_ms 0 means now.
 * Returns: 0; -ENOENT; -EINVAL (bad status, or the child is not running,
 * e.g. it ended already); store errors. */
PERSIST_EXPORT int persist_store_ended(struct persist_store *st, int64_t child_id,
				       int code_or_signal, int killed, int64_t ended_ms);

/* An intent or running child_id is lost: the kernel no longer has it (or
 * the spawn failed).  reason is kept for people to read.
 * Returns: 0; -ENOENT; -EINVAL (no reason, or the child's state is final);
 * store errors. */
PERSIST_EXPORT int persist_store_lost(struct persist_store *st, int64_t child_id,
				      const char *reason);

/* Read child_id into *out (clear with persist_child_rec_clear).
 * Returns: 0; -ENOENT; -EUCLEAN (a bad argv in the file); store errors. */
PERSIST_EXPORT int persist_store_child_get(struct persist_store *st, int64_t child_id,
					   struct persist_child_rec *out);

/* The newest child named name in thread thread_id (0: any thread).
 * Returns: 0; -ENOENT; store errors. */
PERSIST_EXPORT int persist_store_child_find(struct persist_store *st, int64_t thread_id,
					    const char *name, struct persist_child_rec *out);

/* Call fn for each child of thread thread_id (0: every thread), by id, in
 * one read transaction.  rec is valid during the call only.  A non-zero
 * return from fn stops the walk and is returned.
 * Returns: 0; fn's non-zero value; -EUCLEAN; store errors. */
PERSIST_EXPORT int persist_store_children_each(struct persist_store *st, int64_t thread_id,
					       int (*fn)(void *arg, const struct persist_child_rec *rec),
					       void *arg);

/* The same into a new array *out of *n (free with persist_child_recs_free).
 * Returns: 0; -ENOMEM; -EUCLEAN; store errors. */
PERSIST_EXPORT int persist_store_children(struct persist_store *st, int64_t thread_id,
					  struct persist_child_rec **out, size_t *n);

/* Returns: nothing. */
PERSIST_EXPORT void persist_child_rec_clear(struct persist_child_rec *rec);
PERSIST_EXPORT void persist_child_recs_free(struct persist_child_rec *recs, size_t n);

/* ---- named fds ---- */

struct persist_fd_rec {
	char *name;
	int fd;            /* in the thread's fd table */
	char *description; /* may be NULL */
	/* The open file's identity when it was kept (fstat in the thread):
	 * after a crash the number is trusted only while it still names this
	 * file.  type 0: recorded without identity (never verifiable). */
	uint64_t dev, ino;
	unsigned type;     /* st_mode & S_IFMT */
	int verified;      /* persist_session_fd_list: 1 if the thread has just
			      shown that fd still names this file; else 0 */
};

/* Record (or replace) that thread thread_id holds fd under name, without
 * its identity.  Returns: 0; -EINVAL (no name, fd < 0); -ENOENT (no such
 * thread); store errors. */
PERSIST_EXPORT int persist_store_fd_put(struct persist_store *st, int64_t thread_id,
					const char *name, int fd, const char *description);

/* Record rec (name, fd, description and identity) for thread thread_id;
 * unlike fd_put, a name already recorded is refused.
 * Returns: 0; -EINVAL (no name, fd < 0); -EEXIST (the name is taken);
 * -ENOENT (no such thread); store errors. */
PERSIST_EXPORT int persist_store_fd_add(struct persist_store *st, int64_t thread_id,
					const struct persist_fd_rec *rec);

/* Returns: 0; -ENOENT (no such name); store errors. */
PERSIST_EXPORT int persist_store_fd_del(struct persist_store *st, int64_t thread_id,
					const char *name);
/* The thread's named fds, by name, into a new array (free with
 * persist_fd_recs_free).  Returns: 0; store errors. */
PERSIST_EXPORT int persist_store_fd_list(struct persist_store *st, int64_t thread_id,
					 struct persist_fd_rec **out, size_t *n);
/* Returns: nothing. */
PERSIST_EXPORT void persist_fd_recs_free(struct persist_fd_rec *recs, size_t n);

/* ---- argv as stored ---- */

/* argv is kept as its strings each followed by a NUL, the layout of
 * /proc/PID/cmdline: exact for any bytes (JSON is not, for non-UTF-8), and
 * comparable with what the kernel shows.
 * Encode NULL-terminated argv into a new buffer *blob of *len bytes (free()).
 * Returns: 0; -ENOMEM. */
PERSIST_EXPORT int persist_argv_encode(const char *const *argv, void **blob, size_t *len);
/* Decode len bytes into a new NULL-terminated *argv of *argc strings, one
 * allocation (free(*argv) frees all).  len 0 gives an empty argv.
 * Returns: 0; -EINVAL (len > 0 and the last byte is not NUL); -ENOMEM. */
PERSIST_EXPORT int persist_argv_decode(const void *blob, size_t len, char ***argv, size_t *argc);

/* ---- processes as the kernel sees them ---- */

struct persist_proc_stat {
	char comm[64];                /* the command name, NUL-terminated */
	char state;                   /* R S D Z T t X I ... */
	int ppid;
	unsigned long long starttime; /* clock ticks since boot */
};

/* Read /proc/PID/stat.  The command name in it may hold spaces and
 * parentheses, so fields are counted after its LAST ')'.
 * Returns: 0; -ESRCH (no such process); -EACCES; -EPROTO (unparsable);
 * another -errno of open/read. */
PERSIST_EXPORT int persist_proc_stat(int pid, struct persist_proc_stat *out);
/* The start time alone.  Returns: as persist_proc_stat. */
PERSIST_EXPORT int persist_proc_starttime(int pid, unsigned long long *ticks);

#ifdef __cplusplus
}
#endif
#endif
