/* SPDX-License-Identifier: MIT */
/* persistctl: what its files share.  Never installed.
 *
 * Every invocation is a new controller: it takes the state directory's
 * controller lock (DIR/lock), connects to the persistent server at
 * DIR/sock (never taking over), and first of all runs recovery
 * (<persist/recover.h>) over that connection, so the crash-recovery path is
 * the everyday path.  The lock queues controllers fairly and keeps a newer
 * one from superseding an older one waiting at the server. */
#ifndef PERSISTCTL_CTL_H
#define PERSISTCTL_CTL_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <persist/recover.h>
#include <persist/store.h>
#include <persist/thread.h>

#ifndef CTL_VERSION
#define CTL_VERSION "0.1.0"
#endif

/* Exit codes. */
#define EXIT_OK      0
#define EXIT_RUNTIME 1
#define EXIT_USAGE   2

/* How long a controller waits for the lock, the server or its start. */
#define CTL_DEADLINE_MS 60000

struct ctl {
	const char *state_opt; /* --state, or NULL */
	char dir[PATH_MAX];   /* absolute, checked: ours, mode 0700 */
	char sock[108];       /* DIR/sock */
	char db[PATH_MAX + 16];    /* DIR/state.db */
	struct persist_store *st;
	int lock_fd;          /* DIR/lock, flock'ed while we control */
	struct persist_thread t;
	int connected;        /* t is a connection to the server */
	struct persist_thread_rec thread; /* its record (id 0 if none) */
	int quiet_notes;      /* do not print recovery notes */
	/* ctl_begin settles this child (ctl_settle) before recovery, so that
	 * wait collects its own child with its own crash points. */
	struct persist_child_rec *settle_first;
	const char *settle_who;
	int settle_result;
};

/* How a command needs the server. */
enum ctl_need {
	CTL_SERVER_START,     /* start it if nothing answers */
	CTL_SERVER_REQUIRED,  /* error if nothing answers */
	CTL_SERVER_OPTIONAL,  /* work from the store if nothing answers */
};

/* ---- util.c ---- */
extern const char *ctl_prog;
__attribute__((format(printf, 2, 3), noreturn))
void ctl_die(int code, const char *fmt, ...);
__attribute__((format(printf, 1, 2)))
void ctl_note(const char *fmt, ...);
/* Raise SIGKILL here if PERSIST_CRASH_AT names this point (tests). */
void crash_point(const char *point);
/* ms since the epoch as "2024-05-01T12:00:00.000Z" (buf >= 32). */
char *ctl_iso8601(int64_t ms, char *buf, size_t len);
int64_t ctl_now_ms(void);
/* "TERM", "SIGTERM", "term", "15", "RTMIN+2".  Returns: 1..64; -1 if bad. */
int ctl_parse_signal(const char *s);
/* "SIGTERM", "SIGRTMIN+2".  buf >= 16. */
const char *ctl_signame(int sig, char *buf, size_t len);
/* A child id: a positive decimal number.  Returns: 0; -1 if bad. */
int ctl_parse_id(const char *s, int64_t *id);
/* A duration in seconds, fractions allowed.  Returns: ms; -1 if bad. */
long ctl_parse_seconds(const char *s);
/* "exited 3", "killed by SIGTERM", "running", "lost (why)". */
const char *ctl_status_words(const struct persist_child_rec *r, char *buf, size_t len);
/* wait's exit code for a final record: its code, 128 + signal, else 1. */
int ctl_status_exit(const struct persist_child_rec *r);
/* pidfd_open / pidfd_send_signal.  Returns: fd, 0; -errno. */
int ctl_pidfd_open(int pid);
int ctl_pidfd_signal(int pidfd, int sig);
/* Wait up to ms (< 0: forever) for pidfd to be readable (the process
 * ended).  Returns: 1 ended; 0 timeout; -errno. */
int ctl_pidfd_wait(int pidfd, long ms);

/* ---- statedir.c ---- */
/* Choose (opt, $PERSIST_STATE_DIR, $XDG_RUNTIME_DIR/persist,
 * /tmp/persist-UID), create 0700 and check it; dies on failure. */
void ctl_statedir(struct ctl *c, const char *opt);
/* DIR/logs/ID.out or .err into buf. */
void ctl_log_path(const struct ctl *c, int64_t id, const char *ext, char *buf, size_t len);
/* mkdir DIR/logs 0700 (or check it).  Dies on failure. */
void ctl_logs_dir(const struct ctl *c);

/* ---- controller.c ---- */
/* Resolve and check the state directory (ctl_statedir), open the store,
 * take the lock, connect (starting the server if need
 * says so), record the thread, run recovery.  Dies on failure.
 * Returns: 1 connected; 0 no server (CTL_SERVER_OPTIONAL only). */
int ctl_begin(struct ctl *c, enum ctl_need need);
/* Disconnect and release the lock (the server lives on). */
void ctl_release(struct ctl *c);
/* ctl_release, then close the store. */
void ctl_end(struct ctl *c);
/* Read child id; dies with "no child ID" if the store has none. */
void ctl_child(struct ctl *c, int64_t id, struct persist_child_rec *r);
/* A child named on the command line: by id, or by name (the newest). */
struct ctl_ref {
	int64_t id;
	const char *name;
};
/* Parse arg (before ctl_begin: a bad one is a usage error of cmd). */
void ctl_child_arg(const char *cmd, const char *arg, struct ctl_ref *ref);
/* Read it; dies with "no child ..." if the store has none. */
void ctl_child_ref(struct ctl *c, const struct ctl_ref *ref, struct persist_child_rec *r);
/* Settle running child r (a child of the connected server) that has ended:
 * waitid WNOWAIT, record the status, then the real reap, with the crash
 * points WHO:after-wnowait and WHO:after-record.  Re-reads r from the
 * store.  Returns: 1 settled (r final); 0 still running; -errno. */
int ctl_settle(struct ctl *c, struct persist_child_rec *r, const char *who);
/* Open a pidfd for running child r and check that it is still r (same
 * start time).  Returns: fd; -ESRCH if it is gone or another process. */
int ctl_child_pidfd(const struct persist_child_rec *r);
/* Print what a recovery report found that a user should know. */
void ctl_report_notes(struct ctl *c, const struct persist_recover_report *rep);
/* Whether a recorded thread's process is alive (pid + start time). */
int ctl_thread_alive(const struct persist_thread_rec *th);

/* ---- json.c ---- */
/* Write s as a JSON string (quoted, escaped; bytes that are not UTF-8
 * become U+FFFD) / null if s is NULL. */
void json_str(FILE *f, const char *s);
void json_time(FILE *f, int64_t ms); /* ISO-8601 string, or null if 0 */

/* ---- the commands: argc/argv start at the command's name ---- */
int cmd_start(struct ctl *c, int argc, char **argv);
int cmd_run(struct ctl *c, int argc, char **argv);
int cmd_ps(struct ctl *c, int argc, char **argv);
int cmd_wait(struct ctl *c, int argc, char **argv);
int cmd_kill(struct ctl *c, int argc, char **argv);
int cmd_logs(struct ctl *c, int argc, char **argv);
int cmd_status(struct ctl *c, int argc, char **argv);
int cmd_stop(struct ctl *c, int argc, char **argv);

/* Command-line helpers (main.c): a usage error (exit 2) pointing at the
 * command's --help; whether argv[i] asks for help. */
__attribute__((format(printf, 2, 3), noreturn))
void ctl_usage_error(const char *cmd, const char *fmt, ...);
/* getopt_long over a command's argv with "+" (stop at the first operand)
 * handling --help (prints help, exits 0) and errors (exit 2).
 * Returns: as getopt_long. */
struct option;
int ctl_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts,
	       const char *cmd, const char *help);

#endif
