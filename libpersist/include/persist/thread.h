/* SPDX-License-Identifier: MIT */
/* Persistent threads, and spawning commands in them.
 *
 * A thread is a task (libhandle) with the connection that carries its
 * syscalls (libtransport), or the calling process itself (the local
 * thread).  A persistent thread is a persist server: a process that lives
 * on when its controller dies, holding its fds and children, and that a new
 * controller reconnects to over its unix socket.  Two ways to get one:
 *
 *  - persist_server_start: fork and exec the persist-server executable;
 *  - persist_clone_persistent + persist_make_persistent: a CLONE_VM child of
 *    this process, running the server loop in our memory and sharing our fd
 *    table at first (set it up with ordinary syscalls), then made persistent:
 *    its own fd table holding exactly the fds it has handles for, its own
 *    session, no parent-death signal, and an execve of persist-server that
 *    keeps its listening socket and connection, so that our memory (however
 *    large) is not kept alive by it.
 *
 * Every function returns 0 (or a documented non-negative value) on success
 * and a negative errno on failure; none touches the errno global.  Where a
 * `why` buffer is taken, it receives a one-line explanation on failure. */
#ifndef PERSIST_THREAD_H
#define PERSIST_THREAD_H

#include <stddef.h>
#include <stdint.h>
#include <near/sysif.h>
#include <handle/handle.h>
#include <transport/conn.h>

#include <persist/export.h>

#ifdef __cplusplus
extern "C" {
#endif


struct pserver;

struct persist_thread {
	struct handle_task task;     /* its syscalls go through task.sysif */
	struct transport_conn *conn; /* NULL for the local thread */
	int pid;                     /* as the server reports it */
	char path[108];              /* its listening socket, "" if none */
	/* private */
	struct near_local_sysif local_;
	struct pserver *srv_;        /* a CLONE_VM child's loop state (ours) */
	void *stack_;
	int listen_fd_, conn_fd_;    /* the child's sockets (in its table) */
	struct handle_fd listen_h_, conn_h_;
	int srv_pidfd1_;             /* a pidfd of the local server + 1; 0: none */
	int srv_peer_pid_;           /* its pid in our namespace (SO_PEERCRED) */
};

/* The calling process as a thread.  Returns: 0, or -errno. */
PERSIST_EXPORT int persist_thread_local(struct persist_thread *t);

/* The persist-server executable used: $PERSIST_SERVER_EXE, else the one
 * installed beside this library.  Returns: a path. */
PERSIST_EXPORT const char *persist_server_exe(void);

/* Start a standalone persistent server listening at path (its directory
 * must have mode 0700) and detached from us; *pid gets its pid.
 * Returns: 0; -EADDRINUSE if a server already answers there; -ETIMEDOUT if
 * it did not come up within timeout_ms; -errno. */
PERSIST_EXPORT int persist_server_start(const char *path, int timeout_ms, int *pid,
					char *why, size_t whylen);

/* Connect to the persistent thread at path, from any process (this is also
 * reconnecting after a crash).  If another controller is connected, take
 * over when takeover is set, else wait for our turn.  Every wait, together,
 * has the deadline timeout_ms (< 0: none), which then stays the
 * connection's timeout (transport_set_timeout).
 * Waiting means that our first syscall is answered once the other
 * controller leaves (with the deadline, -ETIMEDOUT).  It never disturbs
 * the server: a controller waiting its turn sends no signal.
 * Taking over works even while the server is inside a blocking syscall for
 * the other controller (which may have died in it: a pause(), a read that
 * never gets data, a waitid): the server neither greets nor answers anyone
 * until that returns.  So when the hello, or the answer to the takeover,
 * has not come within 150 ms, the server is sent SIGURG, and again every
 * 150 ms of silence until the deadline.  persist-server catches SIGURG
 * without SA_RESTART: the syscall ends with -EINTR, which is the other
 * controller's answer, and the server serves us.  Whom to signal comes from
 * SO_PEERCRED on our connected socket, which names the process that last
 * called listen() on the server's socket (persist-server does so itself
 * when it starts, also with --daemon and after persist_make_persistent);
 * it is signalled only if that pid is visible in our pid namespace and its
 * uid is our effective uid, through SO_PEERPIDFD where the kernel has it
 * (Linux 6.5: a reused pid is never hit), else by pid.  SIGURG is ignored
 * by default, so a server without the handler (an older one) or any other
 * process that gets it is unaffected.  What it cannot interrupt: a syscall
 * that sleeps uninterruptibly, one the controller made restart or wait
 * with SIGURG blocked or handled otherwise in the server, a server of
 * another uid or pid namespace, and a thread of persist_clone_persistent
 * not yet made persistent (its listener names the controller that made it,
 * and it dies with that controller anyway).
 * Returns: 0; -ENOENT/-ECONNREFUSED: no server there (or it died);
 * -ECONNRESET: it died during the handshake; -ETIMEDOUT; near_hello_check's
 * errors (-EACCES: refused). */
PERSIST_EXPORT int persist_thread_connect(struct persist_thread *t, const char *path,
					  int takeover, int timeout_ms,
					  char *why, size_t whylen);

/* Drop the connection and connect again to t->path, taking over (and so
 * interrupting a blocking syscall, as persist_thread_connect says).  When
 * the very server process answers again (a pidfd of it, kept since the
 * first connection, shows it alive, and it has the same pid in our
 * namespace and its own), what was learnt of it is kept and nothing is
 * read from /proc.
 * Returns: as persist_thread_connect. */
PERSIST_EXPORT int persist_reconnect(struct persist_thread *t, int timeout_ms,
				     char *why, size_t whylen);

/* Start a CLONE_VM child of the calling process (parent must be the local
 * thread) that shares our fd table and filesystem info, dies with us until
 * made persistent (PDEATHSIG), and serves us on a fresh socketpair and on a
 * listening socket at path (directory mode 0700, socket 0600).
 * Returns: 0; -EINVAL if parent is not local; -errno. */
PERSIST_EXPORT int persist_clone_persistent(struct persist_thread *parent, const char *path,
					    struct persist_thread *out, char *why, size_t whylen);

/* Make a thread from persist_clone_persistent persistent (see above).
 * Afterwards its memory is persist-server's own, its fd table holds its
 * sockets and the fds it has handles for, and our memory may be freed.
 * Returns: 0; the execve's -errno (the thread then still runs the loop in
 * our memory); a transport error. */
PERSIST_EXPORT int persist_make_persistent(struct persist_thread *t, char *why, size_t whylen);

/* End the thread: exit_group(status) in it (and reap it if it is our
 * child).  Returns: 0, or -errno. */
PERSIST_EXPORT int persist_thread_exit(struct persist_thread *t, int status);

/* Disconnect (the thread lives on) and release t.  Returns nothing. */
PERSIST_EXPORT void persist_thread_close(struct persist_thread *t);

/* Spawning a command inside a thread: a child of the thread (NEAR_OP_FORK)
 * set up with ordinary syscalls, then execve.  An exec failure comes back
 * as that error, the child reaped; it never hangs. */
struct persist_spawn {
	const char *const *argv;  /* argv[0] is looked up in PATH if it has no '/' */
	const char *const *envp;  /* NULL: the controller's environment */
	const char *cwd;          /* NULL: the thread's */
	const char *stdin_path;   /* NULL: /dev/null */
	const char *stdout_path;  /* NULL: /dev/null; opened O_APPEND|O_CREAT 0600 */
	const char *stderr_path;  /* NULL: /dev/null */
	int new_session;          /* setsid(): its own session and process group */
	/* fds of the thread passed to the child as 3, 4, ... in the manner of
	 * systemd socket activation (sd_listen_fds(3)): LISTEN_FDS, LISTEN_PID
	 * (the child's own pid) and LISTEN_FDNAMES are set in its environment
	 * (replacing any LISTEN_* there), so a program written for it works
	 * unchanged.  At most PERSIST_SPAWN_MAX_FDS. */
	const int *fds;
	const char *const *fd_names; /* NULL, or nfds names without ':' */
	size_t nfds;
	/* Called (if set) once the child exists and before its execve, with
	 * its pid: a non-zero return ends the spawn with that error (the
	 * child is reaped by the thread).  What a crash-safe caller records. */
	int (*born)(void *arg, int pid);
	void *born_arg;
};
#define PERSIST_SPAWN_MAX_FDS 32

/* The child is born with NEAR_OP_SPAWN (<near/proto.h>): it serves our
 * connection until its execve, and if it never gets there (a failed step,
 * or this process dying at any instant) the thread reaps it itself, so no
 * half-set-up child and no fd is ever left in the thread.
 * Returns: 0 with *pid set (in the thread's pid namespace); the failing
 * setup step's or execve's -errno (e.g. -ENOENT: no such program, -EACCES),
 * *pid then naming the child already reaped (0 if none was born); a
 * transport error.  why says which step failed. */
PERSIST_EXPORT int persist_spawn(struct persist_thread *t, const struct persist_spawn *s,
				 int *pid, char *why, size_t whylen);

/* How a child ended. */
struct persist_exit {
	int exited;   /* 1 if it has ended (else the rest is unset) */
	int killed;   /* 1: killed by signal `code`; 0: exited with `code` */
	int code;
};

/* waitid(P_PID, pid, WEXITED) in the thread, which must be the child's
 * parent.  nowait: WNOWAIT (the child stays waitable: decision 8 of
 * docs/design.md, record the status before the real reap).  block: wait for the
 * end, else WNOHANG.  Returns: 0 with *st set (st->exited 0 if it still
 * runs); -ECHILD if it is not (or no longer) a child of the thread. */
PERSIST_EXPORT int persist_child_wait(struct persist_thread *t, int pid, int nowait,
				      int block, struct persist_exit *st);

#ifdef __cplusplus
}
#endif
#endif
