/* SPDX-License-Identifier: MIT */
/* The session's state and what its files share; never installed. */
#ifndef PERSIST_SESSION_INTERNAL_H
#define PERSIST_SESSION_INTERNAL_H

#include <limits.h>
#include <persist/session.h>
#include "proc.h"
#include "thread_internal.h"

struct persist_session {
	char dir[PATH_MAX];        /* absolute, checked */
	char sock[108];            /* DIR/sock */
	char db[PATH_MAX + 16];    /* DIR/state.db */
	struct persist_store *st;
	int lock_fd;               /* DIR/lock, flock'ed while we control */
	struct persist_thread t;
	int connected;             /* t is a connection to the server */
	struct persist_thread_rec rec; /* the thread's record (id 0: none) */
	struct persist_recover_report rep;
	char notice[512];
	struct persist__kept *kept; /* handles of named fds made this connection */
	struct persist__procio io;  /* the thread's /proc, read through it */
	int io_ready;
	int local_pidns;            /* 1: the thread is proven to share our pid
				       namespace (our /proc is its /proc) */
	struct handle_fd own[6];    /* the thread's stdio and the server's own
				       sockets, for the fd-table trim */
	int nown;
	char lock_path[PATH_MAX + 32]; /* DIR/lock, or DIR/ssh-HASH.lock */
	char key[PATH_MAX + 300];  /* the thread's name in the store: sock, or
				      HOST:FARDIR/sock */
	char boot_id[40];          /* the thread's host, read through it */
	char pidns[40];            /* its pid namespace, "pid:[INODE]" */
	/* ---- a thread on another host (session_ssh.c) ---- */
	int far;                   /* host is set: sock is our end of a forward */
	char host[256];            /* the ssh destination */
	char rdir[PATH_MAX];       /* the far state directory ("": ask) */
	char far_server[PATH_MAX]; /* persist-server there ("": its PATH's) */
	char ssh_err[PATH_MAX + 32]; /* DIR/ssh-HASH-XXXXXX.err: ssh's stderr */
	int ssh_err_fd;            /* it, open and locked while the session is */
	int ssh_pid, ssh_in, ssh_out; /* the forward's ssh (pid 0: none) */
	int ssh_fwd;               /* that ssh forwards sock (not a relay's) */
	int ssh_killed;            /* the signal that ended the last ssh, or 0 */
	int ssh_relay_fd;          /* >= 0 while spawning a relay: ssh's stdio */
	int ssh_ship_fd;           /* >= 0 while shipping the server: ssh's stdin */
	char ship_name[40];        /* ship-HASH: the far directory's subdirectory
				      our server is shipped to ("": do not ship) */
	int far_noserver;          /* the last setup said persist-noserver */
	int relay;                 /* through ssh's stdio and persist-server
				      --relay, not a forward */
	int start;                 /* this acquire may start the far server */
	int64_t far_nudged_ms;     /* when persist__ssh_nudge last signalled */
};

/* session_ssh.c: sock, lock_path and ssh_err (made, and locked) for host
 * in DIR; what sessions now gone left there is removed.
 * Returns: 0; -ENAMETOOLONG or -errno (the log cannot be made), why set. */
int persist__ssh_paths(struct persist_session *s, char *why, size_t whylen);
/* Stop the ssh and let go of the log (at the session's close). */
void persist__ssh_forget(struct persist_session *s);
/* Set up the far side (the directory, the server when start is set) and
 * the forward to it at s->sock.  Returns: 0; -ENOENT (no persist-server
 * there); -EHOSTUNREACH (ssh failed); -EIO; -ETIMEDOUT; with why set. */
int persist__ssh_connect(struct persist_session *s, int start, char *why, size_t whylen);
/* Whether the forward's ssh set up before (persist__release kept it while
 * a wait slept) still runs; one that ended is reaped and forgotten.
 * Returns: 1 or 0. */
int persist__ssh_forward_alive(struct persist_session *s);
/* The fallback where the forward does not work: ssh running the setup and
 * then persist-server --relay FARDIR/sock, its stdio a socketpair whose
 * other end goes to *fd once the far side said it is ready.
 * Returns: as persist__ssh_connect. */
int persist__ssh_relay(struct persist_session *s, int start, int *fd, char *why, size_t whylen);
/* unlink(path) in the connected far thread (its host's file).
 * Returns: 0; -ENOTCONN; unlink's or the transport's -errno. */
int persist__far_unlink(struct persist_session *s, const char *path);
/* End the forward's ssh (bounded).  Returns: nothing. */
void persist__ssh_stop(struct persist_session *s);
/* Interrupt the far server's blocking syscall on its host (one more ssh);
 * arg is the session.  A persist__far_nudge's fn.  Returns: nothing. */
void persist__ssh_nudge(void *arg);
/* What ssh said about a connection through the forward that was closed
 * before the hello.  Returns: -ECONNREFUSED (nothing listens at the far
 * socket); -EACCES (the far sshd refuses unix-socket forwarding); 0 (it
 * said nothing of it), with why set. */
int persist__ssh_refused(struct persist_session *s, char *why, size_t whylen);

/* session.c: take the lock, connect (starting the server if flags say
 * so), record the thread, settle child settle_first (0: none) with wait's
 * crash points, recover.  Returns: 0; -errno with why set. */
int persist__acquire(struct persist_session *s, unsigned flags, int64_t settle_first,
		     char *why, size_t whylen);
/* Disconnect and let go of the lock; the store stays open.  keep_forward:
 * a far session's forward (its ssh) stays up for the next acquire, which
 * then only connects through it (a wait that sleeps). */
void persist__release(struct persist_session *s, int keep_forward);
/* End the connected thread (exit_group) and see it gone.  Returns: 0;
 * -ETIMEDOUT with why set; the session is offline either way. */
int persist__thread_end(struct persist_session *s, char *why, size_t whylen);
/* Whether a recorded thread's process is alive (pid + start time, not a
 * zombie), for a thread that does not answer: only this process's /proc
 * can be asked then.  Returns: 1 or 0. */
int persist__thread_alive(const struct persist_thread_rec *th);
/* pid's stat as the connected thread's /proc shows it: read through the
 * thread, or directly when it is proven to share our pid namespace.
 * Returns: 0; -ESRCH; the reader's -errno. */
int persist__thread_stat(struct persist_session *s, int pid, struct persist_proc_stat *out);
/* The connected thread's children, through it (as above).
 * Returns: 0 with v; -errno. */
int persist__thread_children(struct persist_session *s, struct persist__pids *v);
int64_t persist__mono_ms(void);

/* session_child.c: settle running child r of the connected thread if it
 * has ended: waitid WNOWAIT, record, reap, with the crash points
 * WHO:after-wnowait and WHO:after-record; r is read again.
 * Returns: 1 settled (r final); 0 still running; -errno. */
int persist__settle(struct persist_session *s, struct persist_child_rec *r, const char *who);
/* persist_session_run, recording that the child restarts child restart_of
 * (0: none).  Returns: as persist_session_run. */
int persist__run(struct persist_session *s, const char *name, const struct persist_spawn *sp,
		 int64_t restart_of, int64_t *id, char *why, size_t whylen);
struct handle_child;
/* Signal a child and, if it leads its own process group, the group.
 * Returns: handle_child_signal's. */
int persist__signal_child(struct persist_session *s, struct handle_child *hc, int sig);
/* Wait until every child hcs[i] with live[i] has ended, or ms pass. */
void persist__wait_all(struct persist_session *s, struct handle_child *hcs, const int *live,
		       size_t n, int64_t ms);
#define PERSIST__KILL_WAIT_MS 10000 /* after SIGKILL: only an uninterruptible sleep delays it */

/* session_fd.c: free the named fds' handles (after the thread's task is
 * closed, which invalidated them). */
void persist__kept_free(struct persist_session *s);
/* The kept fds of thread_id ended with its server (stopped, dead, or
 * replaced by another): forget their records, so that a new server does
 * not show them as stale and their names are free again.  Not one
 * transaction: a crash half way leaves records that the next settling of
 * the old server forgets.  Returns: 0; a store error. */
int persist__fds_forget(struct persist_session *s, int64_t thread_id);
/* Close every fd of the thread it does not own: see session_fd.c.
 * Returns: how many were closed; -errno. */
int persist__fds_trim(struct persist_session *s);

/* statedir.c: resolve, create (0700) and check the state directory, and
 * fill s->dir, s->sock, s->db.  Returns: 0; -errno with why set. */
int persist__statedir(struct persist_session *s, const char *dir, char *why, size_t whylen);
/* mkdir DIR/logs 0700, or check it.  Returns: 0; -errno with why set. */
int persist__logs_dir(struct persist_session *s, char *why, size_t whylen);

/* crash.c: SIGKILL the calling process if PERSIST_CRASH_AT names point
 * (tests of the crash guarantee).  Returns: when it does not. */
void persist__crash_point(const char *point);

#endif
