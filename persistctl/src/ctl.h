/* SPDX-License-Identifier: MIT */
/* persistctl: what its files share.  Never installed.
 *
 * persistctl is a thin client of libpersist's session (<persist/session.h>):
 * every invocation opens a session on the state directory, which takes the
 * controller lock, connects to the persistent thread, runs recovery (so the
 * crash-recovery path is the everyday path) and does the crash-safe work
 * (intents, records, waits, signals, stop, PERSIST_CRASH_AT).  What is here
 * is the command line: arguments, the records read back from the session's
 * store, and what is printed. */
#ifndef PERSISTCTL_CTL_H
#define PERSISTCTL_CTL_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <persist/session.h>
#include <persist/store.h>

#ifndef CTL_VERSION
#define CTL_VERSION "0.1.0"
#endif

/* Exit codes. */
#define EXIT_OK      0
#define EXIT_RUNTIME 1
#define EXIT_USAGE   2

struct ctl {
	const char *state_opt;        /* --state, or NULL: the session's default */
	const char *host_opt;         /* --host: the thread on that ssh destination */
	struct persist_session *s;    /* open between ctl_open and ctl_close */
	char dir[PATH_MAX];           /* the state directory, once opened */
	char sock[PATH_MAX + 8];      /* DIR/sock */
	char db[PATH_MAX + 16];       /* DIR/state.db */
	char **said;                  /* notes printed already (ctl_notes) */
	size_t nsaid;
	int quiet;                    /* ctl_open prints no recovery notes */
};

/* ---- util.c ---- */
extern const char *ctl_prog;
__attribute__((format(printf, 2, 3), noreturn))
void ctl_die(int code, const char *fmt, ...);
__attribute__((format(printf, 1, 2)))
void ctl_note(const char *fmt, ...);
/* Die (exit 1) with a message about failure err; when err is a fault of
 * the state directory's filesystem or of its store (full, read-only,
 * corrupt), a second line says what it means for the children and what to
 * do.  c->dir names the directory (as asked, before it is opened). */
__attribute__((format(printf, 3, 4), noreturn))
void ctl_fail(const struct ctl *c, int err, const char *fmt, ...);
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
/* path (NULL: ".") made absolute against directory here; a new string
 * (dies if out of memory). */
char *ctl_abspath(const char *here, const char *path);
/* Our environment with each NAME=VALUE of sets replacing NAME (the last
 * of a name wins): a new array of borrowed strings (free the array). */
char **ctl_environ(char *const *sets, size_t nsets);
/* A child's record and status as the JSON object wait --json prints
 * ({"id", "name", "pid", "state", "exit_code", "signal", "lost_reason"};
 * persistctl(1) documents it). */
void json_status(FILE *f, const struct persist_child_rec *r);

/* ---- session.c ---- */
/* Open the session of the state directory (--state, else the session's
 * default) with flags (PERSIST_SESSION_START or _OFFLINE), and print what
 * its recovery found that a person should know.  Dies on failure. */
void ctl_open(struct ctl *c, unsigned flags);
/* Close the session (the thread lives on). */
void ctl_close(struct ctl *c);
/* The session's store. */
struct persist_store *ctl_store(struct ctl *c);
/* Print the session's notice and the notes of its last recovery, each
 * once per invocation (a wait that slept reconnected and recovered again). */
void ctl_notes(struct ctl *c);
/* Read child id; dies with "no child ID" if the store has none. */
void ctl_child(struct ctl *c, int64_t id, struct persist_child_rec *r);
/* A child named on the command line: by id, or by name (the newest). */
struct ctl_ref {
	int64_t id;
	const char *name;
};
/* Parse arg (before ctl_open: a bad one is a usage error of cmd). */
void ctl_child_arg(const char *cmd, const char *arg, struct ctl_ref *ref);
/* Read it; dies with "no child ..." if the store has none. */
void ctl_child_ref(struct ctl *c, const struct ctl_ref *ref, struct persist_child_rec *r);

/* ---- json.c ---- */
/* Write s as a JSON string (quoted, escaped; bytes that are not UTF-8
 * become U+FFFD) / null if s is NULL. */
void json_str(FILE *f, const char *s);
void json_time(FILE *f, int64_t ms); /* ISO-8601 string, or null if 0 */
/* Write s as one word that sh(1) reads back as s: as is when every byte is
 * safe, else in single quotes (a quote as '\''); first: the command's first
 * word, where '=' needs quoting too.  Control characters are written as
 * '?' (a terminal must not see them), so such a word does not read back. */
void ctl_sh_quote(FILE *f, const char *s, int first);

/* ---- the commands: argc/argv start at the command's name ---- */
int cmd_start(struct ctl *c, int argc, char **argv);
int cmd_run(struct ctl *c, int argc, char **argv);
int cmd_ps(struct ctl *c, int argc, char **argv);
int cmd_wait(struct ctl *c, int argc, char **argv);
int cmd_kill(struct ctl *c, int argc, char **argv);
int cmd_logs(struct ctl *c, int argc, char **argv);
int cmd_status(struct ctl *c, int argc, char **argv);
int cmd_stop(struct ctl *c, int argc, char **argv);
int cmd_listen(struct ctl *c, int argc, char **argv);
int cmd_fds(struct ctl *c, int argc, char **argv);
int cmd_close(struct ctl *c, int argc, char **argv);
int cmd_recover_store(struct ctl *c, int argc, char **argv);
int cmd_restart(struct ctl *c, int argc, char **argv);

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
