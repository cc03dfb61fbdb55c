/* SPDX-License-Identifier: MIT */
/* The session: the whole crash-safe supervisor behind one header.
 *
 * A session is a controller of the persistent thread of one state
 * directory.  The directory holds the thread's listening socket (sock), the
 * state store (state.db, <persist/store.h>), the controller lock (lock) and
 * the children's output (logs/ID.out, logs/ID.err).  It must be a real
 * directory (not a symlink), owned by the caller's effective uid, with no
 * permission for anyone else (mode 0700): whoever can write in it controls
 * every process of the thread.
 *
 * What a session guarantees, whatever instant the program is SIGKILLed at
 *
 *
 *  - open takes the controller lock (one controller per directory; the
 *    others queue on it, oldest first, up to PERSIST_SESSION_DEADLINE_MS),
 *    connects to the thread (proven by a first answered syscall), records
 *    it, and runs recovery (<persist/recover.h>): when open returns, every
 *    child the store or the kernel knows is accounted for, exit statuses of
 *    children that ended meanwhile are recorded, and children the store
 *    never heard of are adopted;
 *  - run commits the intent before the spawn and the pid after it;
 *  - an exit status is read with waitid(WNOWAIT), committed, and only then
 *    reaped: a status is never lost;
 *  - stop leaves every record final (exited, killed or lost).
 *
 * Every function returns 0 (or a documented non-negative value) on success
 * and a negative errno on failure, and never touches the errno global.
 * Where a `why` buffer is taken, it receives one line on failure saying
 * what went wrong and what to do.  A session is used by one thread of the
 * program at a time and not across fork.
 *
 * PERSIST_CRASH_AT=POINT in the environment makes the session SIGKILL its
 * own process when it reaches POINT (tests of the guarantee):
 * open:after-lock, open:after-connect, open:after-record-thread,
 * recover:after-collect, recover:after-record, run:before-intent,
 * run:after-intent, run:after-born, run:after-spawn, wait:after-wnowait, wait:after-record,
 * kill:after-signal, stop:after-term, stop:after-wnowait,
 * stop:after-record. */
#ifndef PERSIST_SESSION_H
#define PERSIST_SESSION_H

#include <stddef.h>
#include <stdint.h>
#include <persist/recover.h>
#include <persist/store.h>
#include <persist/thread.h>
#include <handle/fd.h>

#include <persist/export.h>

#ifdef __cplusplus
extern "C" {
#endif

struct persist_session; /* opaque */

/* persist_session_open flags. */
#define PERSIST_SESSION_START   0x1u /* start the server if none answers */
#define PERSIST_SESSION_OFFLINE 0x2u /* if none answers, open the store alone
					(persist_session_connected() is 0): the
					records can be read, nothing can run */

/* How long open waits for the lock, the server's answer or its start. */
#define PERSIST_SESSION_DEADLINE_MS 60000

/* The state directory a program uses when it names none: $PERSIST_STATE_DIR,
 * else $XDG_RUNTIME_DIR/persist, else /tmp/persist-EUID, into buf.
 * Returns: 0; -ENAMETOOLONG. */
PERSIST_EXPORT int persist_session_default_dir(char *buf, size_t len);

/* Become the controller of the thread of state directory dir (NULL: the
 * default one), creating dir (mode 0700) when it does not exist.  See the
 * top of this file for what it does before it returns.  *out is NULL on
 * failure; close it with persist_session_close.
 * Returns: 0; -EINVAL (bad flags, no out); -ENOENT (no server answers, and
 * neither START nor OFFLINE was given; or dir's parent is missing);
 * -ELOOP (dir is a symlink); -ENOTDIR; -EPERM (dir is not ours, or open to
 * others); -ENAMETOOLONG (dir too long for a socket path); -ETIMEDOUT
 * (the lock, or the server, did not come within the deadline); -EUCLEAN
 * (state.db is not a store: move it away); -ESRCH (the server's pid cannot
 * be seen from here); a store, transport or recovery error. */
PERSIST_EXPORT int persist_session_open(const char *dir, unsigned flags,
					struct persist_session **out,
					char *why, size_t whylen);

/* ---- a thread on another host, over OpenSSH ----
 * The store and the controller lock stay in the local state directory
 * (dir, as above); the thread runs on the far host in that host's own
 * state directory, reached through ssh's unix-socket forwarding (ssh -L,
 * its local end DIR/ssh-HASH-XXXXXX.sock, ssh's messages in
 * DIR/ssh-HASH-XXXXXX.err, both the session's own: a wait keeps its
 * forward while it sleeps, so that its looks need no new ssh login).
 * ssh is $PERSIST_SSH (default "ssh"), run by /bin/sh with its arguments
 * after it, as git runs GIT_SSH_COMMAND: "ssh -F cfg -p 2222" works.
 * Authentication, encryption and access are ssh's.  Across hosts nothing
 * of the thread is ever looked up in this host's /proc, no pidfd is made
 * for its processes, and memory moves in-band; the thread's record keeps
 * the host, its boot id and pid namespace (read through the thread).
 * Where the far sshd refuses unix-socket forwarding (ssh closes every
 * connection to the forward), or with PERSIST_SSH_RELAY=1, the stream goes
 * through ssh's stdio to `persist-server --relay FARDIR/sock` instead.  A
 * far child's logs are on the far host (persist_session_log_path names
 * them there).  docs/design.md, decision 12. */
struct persist_host {
	const char *dest;     /* as ssh takes it: [user@]host, ssh://[user@]host[:port] */
	const char *far_dir;  /* the far state directory; NULL: the one recorded
				 for dest, else the far host's default
				 ($PERSIST_STATE_DIR, $XDG_RUNTIME_DIR/persist or
				 /tmp/persist-UID there) */
	const char *server;   /* persist-server there; NULL: $PERSIST_FAR_SERVER,
				 else the one on its PATH, else ours shipped
				 there (unless $PERSIST_FAR_SHIP is 0) */
};

/* As persist_session_open, for the thread on host->dest: with
 * PERSIST_SESSION_START, persist-server is started there (detached) when
 * none answers.  Where the far host has none, ours (persist_server_exe())
 * is copied to FARDIR/ship-HASH/persist-server there over ssh and used,
 * once it runs there; PERSIST_FAR_SHIP=0 or a named server turns that off.
 * Every wait (ssh included) has PERSIST_SESSION_DEADLINE_MS.
 * Returns: 0; -EINVAL (no host, a bad dest or far_dir, bad flags, no out);
 * -ENOENT (the far host has no persist-server and shipping is off: why
 * names what to install); -ECONNREFUSED (no server answers there, and neither START nor
 * OFFLINE was given); -EACCES (the far sshd refuses unix-socket
 * forwarding); -EHOSTUNREACH (ssh failed: why has its message); -EIO (the
 * far side could not be set up, or our server shipped there does not run
 * there: why says what); -ETIMEDOUT; and
 * persist_session_open's errors about dir and the store. */
PERSIST_EXPORT int persist_session_open_host(const struct persist_host *host, const char *dir,
					     unsigned flags, struct persist_session **out,
					     char *why, size_t whylen);

/* Returns: the ssh destination of a far session; NULL for a local one. */
PERSIST_EXPORT const char *persist_session_host(const struct persist_session *s);
/* Returns: the far state directory of a far session (NULL before it is
 * known, and for a local session). */
PERSIST_EXPORT const char *persist_session_far_dir(const struct persist_session *s);

/* Disconnect and let go of the lock; the thread and its children live on.
 * NULL is allowed.  Returns: nothing. */
PERSIST_EXPORT void persist_session_close(struct persist_session *s);

/* The session's store (owned by the session).  Returns: never NULL. */
PERSIST_EXPORT struct persist_store *persist_session_store(struct persist_session *s);

/* The connected thread (owned by the session), for further syscalls in it
 * through its task.  Returns: the thread; NULL if the session is offline. */
PERSIST_EXPORT struct persist_thread *persist_session_thread(struct persist_session *s);

/* Returns: 1 if connected to the thread, 0 if opened offline (or after
 * stop). */
PERSIST_EXPORT int persist_session_connected(const struct persist_session *s);

/* The thread's record in the store (id 0: the store knows no thread for
 * this directory).  Returns: a record owned by the session. */
PERSIST_EXPORT const struct persist_thread_rec *
persist_session_thread_rec(const struct persist_session *s);

/* Returns: the state directory (absolute, symlinks resolved). */
PERSIST_EXPORT const char *persist_session_dir(const struct persist_session *s);

/* What the recovery of the last open (or of the wait that reconnected)
 * found; entries with after != before are what changed.  Returns: a report
 * owned by the session, valid until its next call. */
PERSIST_EXPORT const struct persist_recover_report *
persist_session_report(const struct persist_session *s);

/* One line about the thread that a person should know, when open found
 * one: the recorded server still runs but does not answer at the socket
 * (its children are out of reach), or it died.  Returns: the line, or NULL. */
PERSIST_EXPORT const char *persist_session_notice(const struct persist_session *s);

/* Where child id's output goes when persist_session_run was given no path:
 * DIR/logs/ID.out (stream 1) or DIR/logs/ID.err (stream 2), into buf.
 * Returns: 0; -EINVAL (stream not 1 or 2); -ENAMETOOLONG. */
PERSIST_EXPORT int persist_session_log_path(const struct persist_session *s, int64_t id,
					    int stream, char *buf, size_t len);

/* The whole of child id's log file (stream 1: stdout, 2: stderr, as
 * persist_session_log_path names it) into a new NUL-terminated buffer
 * *data (free()) of *len bytes: read here for a local thread, through the
 * thread (openat, read, close in it) for a far one, whose logs are on its
 * host.  Returns: 0; -ENOENT (no such file: the child wrote nothing yet,
 * or never started); -ENOTCONN (a far session that is not connected);
 * -ENAMETOOLONG (a log path of PATH_MAX bytes or more); -EINVAL (bad
 * stream); -ENOMEM; the read's or the transport's -errno. */
PERSIST_EXPORT int persist_session_log_read(struct persist_session *s, int64_t id, int stream,
					    char **data, size_t *len);

/* The most persist_session_log_read_from returns in one call: 1 MiB. */
#define PERSIST_SESSION_LOG_CHUNK ((size_t)1 << 20)

/* As persist_session_log_read, from byte offset of child id's log file on,
 * at most PERSIST_SESSION_LOG_CHUNK bytes of it: a caller that follows a
 * log as it grows (or reads a huge one) calls again with offset + *len
 * until *len is 0 (or under the chunk: nothing more for now).  An offset
 * at or past the file's end gives 0 bytes (*data an empty buffer), not an
 * error.  Returns: 0; -ENOENT (no such file: the child wrote nothing yet,
 * or never started); -ENOTCONN (a far session that is not connected);
 * -ENAMETOOLONG (a log path of PATH_MAX bytes or more); -EINVAL (bad
 * stream, an offset beyond INT64_MAX); -ENOMEM; the read's or the
 * transport's -errno. */
PERSIST_EXPORT int persist_session_log_read_from(struct persist_session *s, int64_t id,
						 int stream, uint64_t offset, char **data,
						 size_t *len);

/* Run sp->argv as a new child of the thread, named name (NULL: unnamed;
 * else unique among the live children and not starting with a digit).
 * The intent is committed first, the pid after the spawn.  NULL stdout or
 * stderr paths mean the child's log files (persist_session_log_path), not
 * /dev/null; the other fields are as persist_spawn takes them; sp->cwd is
 * recorded.  *id gets the child's id even when the spawn fails (the record
 * is then lost with the reason).
 * Returns: 0; -EINVAL (no argv, bad name); -EEXIST (name in use);
 * -ENOTCONN (offline session); the spawn's -errno (e.g. -ENOENT: no such
 * program); store errors. */
PERSIST_EXPORT int persist_session_run(struct persist_session *s, const char *name,
				       const struct persist_spawn *sp, int64_t *id,
				       char *why, size_t whylen);

/* Start child id again as a new child, the way it was started: the same
 * argv, name, cwd, environment, stdin/stdout/stderr paths (the log files
 * of the new id where the old one had its own), session and named fds, as
 * recorded by persist_session_run (a record without them, adopted or
 * written before schema 3, gets the defaults: the caller's environment,
 * stdin /dev/null, the log files, a new session).  A running child is
 * first sent SIGTERM (and its process group), SIGKILL after grace_ms, and
 * its status recorded and reaped; then the new child is run as
 * persist_session_run does, its record's restart_of naming id.  A child
 * that a newer child restarted already is refused (unless that one was
 * lost before it started: its spawn failed or never happened), so a
 * restart retried after a crash never starts the command twice; a crash
 * before the new child exists leaves the old one ended and settled (by
 * this call or by the next recovery), and a restart again starts it.  Crash points (tests):
 * restart:after-term, restart:after-settle, then run's.  *new_id gets the
 * new child's id as persist_session_run gives it (0 before the intent).
 * Returns: 0; -ENOENT (no such child); -EALREADY (restarted already: why
 * names the newer child); -EAGAIN (an intent still being spawned);
 * -ENOTCONN (offline, or the child runs in another server); -EBUSY (it did
 * not end after SIGKILL); -EEXIST (its name is taken by another live child
 * now); persist_session_run's errors; store errors. */
PERSIST_EXPORT int persist_session_restart(struct persist_session *s, int64_t id, int grace_ms,
					   int64_t *new_id, char *why, size_t whylen);

/* Wait for child id to end, and return its recorded status: st->code is
 * the exit code, or the signal with st->killed set.  A child that ended
 * earlier is answered from the store (whoever recorded it).  timeout_ms 0
 * just looks, < 0 waits without limit.  The status is committed before the
 * child is reaped.  While it sleeps, the thread is not held: the lock and
 * the connection are let go, so other controllers work meanwhile, and
 * taken back (with recovery) before it returns; a connection that drops
 * while it looks (a killed ssh) is taken back the same way, up to 3 times
 * in one wait.  It sleeps on a pidfd when
 * the thread is proven to share our pid namespace; elsewhere (or without
 * pidfds) it looks again after slices of 50 ms growing to 1 s.  Handles
 * got from the session before (persist_session_thread, fd_get) are stale
 * after a wait that slept: get them again.
 * Returns: 0; -ETIMEDOUT (still running); -ENOENT (no such child);
 * -ENODATA (lost: its status cannot be known, e.g. the server died while
 * we slept; the record says why); -ENOTCONN (no server answers and the
 * child is not final); -EAGAIN (an intent whose spawn is still in flight
 * in another controller); errors of taking the lock back (-ETIMEDOUT
 * included). */
PERSIST_EXPORT int persist_session_wait(struct persist_session *s, int64_t id, int timeout_ms,
					struct persist_exit *st);

/* Send sig to running child id, checked to still be that process (pid and
 * start time).  Returns: 0; -ENOENT (no such child); -ESRCH (not running);
 * -EINVAL (bad signal); -ENOTCONN (offline). */
PERSIST_EXPORT int persist_session_kill(struct persist_session *s, int64_t id, int sig);

/* End every child and the thread: SIGTERM to each running child and its
 * process group, SIGKILL to those still running after grace_ms, every
 * status recorded then reaped, then the server ends.  Every record is then
 * final, the kept fds are forgotten (they ended with the server, as they do
 * when a session finds the recorded server dead or replaced), and the
 * session is offline (the store can still be read).
 * Returns: 0; -EBUSY (a child could not be settled, or the thread has
 * children no record knows: the server stays up, stop again); -ENOTCONN
 * (offline: nothing to stop); -ETIMEDOUT (the server did not end). */
PERSIST_EXPORT int persist_session_stop(struct persist_session *s, int grace_ms,
					char *why, size_t whylen);

/* ---- named fds ----
 * An fd the thread holds, kept under a name: it outlives this program like
 * the thread's children do (a listening socket that a restarted service
 * takes up again, so connections queue meanwhile instead of being
 * refused).  It is recorded with the identity of its open file, and after
 * a crash a handle to it is made only once the thread shows that the
 * number still names that file.  A name is non-empty, without ':', and
 * does not start with a digit.  Pass kept fds to a child by name with
 * persist_spawn's fd_names (persist_session_run looks them up). */

/* Keep fd (an fd of the session's thread, e.g. made through
 * persist_session_thread(s)->task) under name.  The session takes the
 * handle over: *fd becomes invalid.
 * Returns: 0; -EINVAL (bad name); -EEXIST (the name is kept already);
 * -EBADF (fd is not a valid handle of the thread); -ENOTCONN (offline);
 * a transport or store error. */
PERSIST_EXPORT int persist_session_fd_keep(struct persist_session *s, const char *name,
					   struct handle_fd *fd, const char *description,
					   char *why, size_t whylen);

/* A handle to the fd kept as name, made (once per connection) only after
 * the thread has shown that its number still names the recorded file.
 * The handle is the session's: use it for syscalls in the thread, do not
 * close it (persist_session_fd_drop does); it is valid until the session
 * lets go of the thread (close, stop, or a wait that sleeps).
 * Returns: 0 with *out; -ENOENT (no such name); -ESTALE (the number was
 * closed or names another file now: no handle is made; drop the name);
 * -ENOTCONN; a transport or store error. */
PERSIST_EXPORT int persist_session_fd_get(struct persist_session *s, const char *name,
					  const struct handle_fd **out);

/* Close the fd kept as name in the thread (only if it is still the
 * recorded file) and forget it.  Returns: 0; -ENOENT; -ENOTCONN; a
 * transport or store error. */
PERSIST_EXPORT int persist_session_fd_drop(struct persist_session *s, const char *name);

/* The kept fds, by name, into a new array (free with
 * persist_fd_recs_free), each with verified set when the thread has just
 * shown its number still names the recorded file (always 0 offline).
 * Returns: 0; a store error. */
PERSIST_EXPORT int persist_session_fd_list(struct persist_session *s,
					   struct persist_fd_rec **out, size_t *n);

/* Create a listening stream socket in the thread and keep it as name.
 * address: "tcp:HOST:PORT" (HOST an IPv4 address, "localhost", or "*"
 * for any), "tcp6:[HOST]:PORT", or "unix:PATH"; port 0 picks a free one.
 * The description recorded is the address with the real port.
 * Returns: 0; -EINVAL (bad address or name, why says which); -EEXIST; the
 * socket's, bind's or listen's -errno (e.g. -EADDRINUSE); -ENOTCONN. */
PERSIST_EXPORT int persist_session_listen(struct persist_session *s, const char *name,
					  const char *address, char *why, size_t whylen);

#ifdef __cplusplus
}
#endif
#endif
