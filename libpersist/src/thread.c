// SPDX-License-Identifier: MIT
/* Threads: the local one, connecting (and reconnecting) to a persistent
 * one, starting a standalone server, ending a thread. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <asm/unistd.h>
#include <near/syscall.h>
#include <persist/thread.h>
#include <transport/mem.h>
#include "thread_internal.h"

#ifndef PERSIST_SERVER_DEFAULT
#define PERSIST_SERVER_DEFAULT "persist-server"
#endif

/* How long a server may leave us without its hello, or without the answer
 * to our takeover, before we conclude that it is inside a blocking syscall
 * for another controller and interrupt it; and again each time it has been
 * silent that long since (a signal that lands between two syscalls
 * interrupts nothing).  A server that is merely slow loses nothing by it. */
#define NUDGE_MS 150

/* What persist-server catches to let go of a blocking syscall
 * (persist-server/src/main.c; docs/design.md, decision 6). */
#define TAKEOVER_SIGNAL SIGURG

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77 /* Linux 6.5 */
#endif

extern char **environ;

void persist__say(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!why || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
}

PERSIST_EXPORT int persist_thread_local(struct persist_thread *t)
{
	memset(t, 0, sizeof *t);
	t->listen_fd_ = t->conn_fd_ = -1;
	t->pid = (int)near_syscall0(__NR_getpid);
	return handle_task_init(&t->task, near_local_sysif_init(&t->local_), 0);
}

PERSIST_EXPORT const char *persist_server_exe(void)
{
	const char *e = getenv("PERSIST_SERVER_EXE");

	return e && *e ? e : PERSIST_SERVER_DEFAULT;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left until deadline (< 0: none), at least 0; -1 if none. */
static int left_ms(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - mono_ms();
	return left > 0 ? (int)(left < INT32_MAX ? left : INT32_MAX) : 0;
}

/* The server at the other end of a connection, as something to signal. */
struct server_peer {
	int known;  /* looked up (whether or not it may be signalled) */
	int pid;    /* in our pid namespace; 0: not to be signalled */
	int pidfd;  /* -1 if the kernel gives none */
	const struct persist__far_nudge *far; /* a far server: its own way */
	int was_pidfd; /* persist_reconnect: the server we left (-1: none) */
	int was_gone;  /* 1 once was_pidfd said that process has ended */
};

/* What persist_reconnect knows of the local server it leaves. */
struct server_was {
	int pidfd;     /* -1: none (not local, or the kernel gives none) */
	int peer_pid;  /* in our pid namespace (SO_PEERCRED) */
	int hello_pid; /* in its own */
	struct far_ns pidns;
};

/* Who listens at the other end of the connected unix socket fd.  Connecting
 * copies the credentials of the process that last called listen() on the
 * listener, and persist-server calls it again once it serves
 * (persist-server/src/main.c), so SO_PEERCRED on our end names the server
 * itself even before it has accepted us: after --daemon's fork and after
 * make_persistent, whose socket another process made.  It is signalled
 * only when it is visible in our pid namespace (a pid of 0 says it is not)
 * and its uid is our effective uid (a server of another user that lets us
 * in with --allow-uid is not ours to interrupt).  SO_PEERPIDFD (Linux 6.5)
 * pins that very process, so a pid reused since cannot be hit; without it
 * the pid is used. */
static void find_server(int fd, struct server_peer *p)
{
	struct ucred cr = { 0, (uid_t)-1, (gid_t)-1 };
	socklen_t len = sizeof cr;
	int pidfd = -1;

	p->known = 1;
	p->pid = 0;
	p->pidfd = -1;
	if (near_syscall6(__NR_getsockopt, fd, SOL_SOCKET, SO_PEERCRED, (long)&cr,
			  (long)&len, 0) < 0 || cr.pid <= 0 ||
	    cr.uid != (uid_t)near_syscall0(__NR_geteuid))
		return;
	p->pid = cr.pid;
	len = sizeof pidfd;
	if (near_syscall6(__NR_getsockopt, fd, SOL_SOCKET, SO_PEERPIDFD, (long)&pidfd,
			  (long)&len, 0) == 0 && pidfd >= 0)
		p->pidfd = pidfd;
}

/* Interrupt the server's blocking syscall (TAKEOVER_SIGNAL). */
static void nudge(int fd, struct server_peer *p)
{
	long r = -ENOSYS;

	if (p->far) {
		if (p->far->fn)
			p->far->fn(p->far->arg);
		return;
	}
	if (!p->known)
		find_server(fd, p);
	if (!p->pid)
		return;
	if (p->pidfd >= 0)
		r = near_syscall4(__NR_pidfd_send_signal, p->pidfd, TAKEOVER_SIGNAL, 0, 0);
	/* ESRCH from the pidfd: the process that listened is gone; a pid
	 * could only name another one now. */
	if (r == -ENOSYS)
		near_syscall2(__NR_kill, p->pid, TAKEOVER_SIGNAL);
}

/* Wait until fd is readable (or hung up) or deadline passes, nudging the
 * server whenever it has been silent for NUDGE_MS.
 * Returns: 0 if readable; -ETIMEDOUT; -errno. */
static int await_server(int fd, int64_t deadline, struct server_peer *p)
{
	for (;;) {
		/* The server we left, if any, in the same poll: whether it
		 * still lives when this one answers costs no syscall. */
		struct pollfd pf[2] = { { fd, POLLIN, 0 }, { p->was_pidfd, POLLIN, 0 } };
		int ms = left_ms(deadline), n = p->was_pidfd >= 0 && !p->was_gone ? 2 : 1;
		struct timespec ts;
		long r;

		if (ms == 0)
			return -ETIMEDOUT;
		if (ms < 0 || ms > NUDGE_MS)
			ms = NUDGE_MS;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)ms * 1000000;
		r = near_syscall6(__NR_ppoll, (long)pf, n, (long)&ts, 0, 0, 0);
		if (r > 0 && n == 2 && pf[1].revents)
			p->was_gone = 1;
		if (r > 0 && pf[0].revents)
			return 0;
		if (r > 0)
			continue;
		if (r == 0)
			nudge(fd, p);
		else if (r != -EINTR)
			return (int)r;
	}
}

/* Connect to path and read the hello, interrupting a server stuck in a
 * syscall for another controller: its loop accepts nobody until that
 * returns.  Returns: as transport_connect. */
static int connect_nudging(const char *path, int64_t deadline, struct server_peer *p,
			   struct transport_conn **out, char *why, size_t whylen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	long fd, r;

	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = near_syscall3(__NR_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		persist__say(why, whylen, "cannot make a socket to connect to %s: %s", path,
			     strerror((int)-fd));
		return (int)fd;
	}
	r = near_syscall3(__NR_connect, fd, (long)&sa, sizeof sa);
	if (r == 0)
		r = await_server((int)fd, deadline, p);
	if (r < 0) {
		if (r == -ETIMEDOUT)
			persist__say(why, whylen, "no hello from the server at %s: %s", path,
				     strerror((int)-r));
		else
			persist__say(why, whylen, "cannot connect to %s: %s", path,
				     strerror((int)-r));
		near_syscall1(__NR_close, fd);
		return (int)r;
	}
	return transport_attach((int)fd, left_ms(deadline), out, why, whylen);
}

/* Send NEAR_OP_TAKEOVER and wait for its answer, nudging a server stuck in
 * a syscall for the controller we take over from.  Returns: 0 or a
 * transport error. */
static int take_over(struct transport_conn *c, int64_t deadline, struct server_peer *p)
{
	struct near_request q;
	int64_t epoch;
	int r;

	r = transport_submit(c, near_request_set(&q, NEAR_OP_TAKEOVER, 0, 0, 0, 0, 0, 0));
	if (r == 0)
		r = transport_flush(c);
	/* The flush may already have read the answer: ask before polling. */
	while (r == 0 && (r = transport_result(c, &epoch)) == -EAGAIN) {
		r = await_server(transport_fd(c), deadline, p);
		if (r == 0)
			transport_io(c); /* an end of file makes the result -ECONNRESET */
	}
	return r;
}

/* The task of a thread on another host (far): its pid means nothing
 * here, so nothing of it may be looked up in our /proc (handle_task_init
 * reads /proc/PID/ns/pid, which for a far pid is some local process's, or
 * none).  The task is made as our own and then renamed: pidns gets dev 0,
 * which no mounted nsfs has, so it never equals a namespace of ours (no
 * pidfd is ever opened for its children), and it is never "local". */
static int far_task_init(struct persist_thread *t, struct near_sysif *sysif)
{
	int r = handle_task_init(&t->task, sysif, 0);

	if (r < 0)
		return r;
	t->task.pid = t->pid;
	t->task.as.pid = t->pid;
	t->task.pidns.dev = 0;
	t->task.pidns.ino = 0;
	t->task.local_ = 0;
	return 0;
}

/* The task of a local thread.  When the server is the one persist_reconnect
 * left (was): the same pid in our namespace and in its own (and the two
 * equal: a server that sees itself under another pid is in another pid
 * namespace, where the lookup by its own pid named some other process),
 * and its pidfd, polled with the hello, showed it alive after we connected
 * (a live process's pid names nobody else, and a process never changes
 * pid namespace), the namespace learnt then is kept: no /proc lookup.
 * The pidfd is the listener's (SO_PEERCRED/SO_PEERPIDFD name whoever last
 * called listen()), which persist-server is: it listens again once it
 * serves.
 * Otherwise it is looked up, and a pidfd of the server kept for the next
 * reconnect.  Returns: 0 or -errno (handle_task_init's). */
static int local_task_init(struct persist_thread *t, struct server_peer *p,
			   struct server_was *was)
{
	struct near_sysif *sysif = transport_sysif(t->conn);
	struct ucred cr = { 0, (uid_t)-1, (gid_t)-1 };
	socklen_t len = sizeof cr;
	int fd = transport_fd(t->conn), pidfd = -1, r;

	if (near_syscall6(__NR_getsockopt, fd, SOL_SOCKET, SO_PEERCRED, (long)&cr,
			  (long)&len, 0) < 0)
		cr.pid = 0;
	if (was && was->pidfd >= 0 && !p->was_gone &&
	    cr.pid > 0 && cr.pid == was->peer_pid && t->pid == was->hello_pid &&
	    cr.pid == t->pid) {
		r = handle_task_init_ns(&t->task, sysif, t->pid, &was->pidns);
		if (r == 0) {
			pidfd = was->pidfd;
			was->pidfd = -1;
		}
	} else {
		r = handle_task_init(&t->task, sysif, t->pid);
		if (r == 0 && cr.pid > 0 && p->pidfd >= 0 && p->pid == cr.pid) {
			pidfd = p->pidfd; /* nudging found it already */
			p->pidfd = -1;
		} else if (r == 0 && cr.pid > 0) {
			len = sizeof pidfd;
			if (near_syscall6(__NR_getsockopt, fd, SOL_SOCKET, SO_PEERPIDFD,
					  (long)&pidfd, (long)&len, 0) < 0)
				pidfd = -1;
		}
	}
	if (pidfd >= 0) {
		t->srv_pidfd1_ = pidfd + 1;
		t->srv_peer_pid_ = cr.pid;
	}
	return r;
}

/* fd >= 0: a connected stream to the server (path only names it).  was:
 * what persist_reconnect knows of the server it left, or NULL. */
static int connect_thread(struct persist_thread *t, const char *path, int fd, int takeover,
			  int timeout_ms, const struct persist__far_nudge *far,
			  struct server_was *was, char *why, size_t whylen)
{
	struct server_peer peer = { 0, 0, -1, far, was ? was->pidfd : -1, 0 };
	int64_t deadline = timeout_ms < 0 ? -1 : mono_ms() + timeout_ms;
	struct transport_conn *c;
	int r;

	memset(t, 0, sizeof *t);
	t->listen_fd_ = t->conn_fd_ = -1;
	if (strlen(path) >= sizeof t->path)
		return -ENAMETOOLONG;
	/* Waiting our turn must never cut into the current controller's
	 * syscall: only a takeover interrupts. */
	if (fd >= 0) {
		/* The relay: its server says hello only once it accepts,
		 * which one stuck in a syscall does not: nudge it meanwhile. */
		r = takeover ? await_server(fd, deadline, &peer) : 0;
		if (r < 0) {
			persist__say(why, whylen, "no hello from the server through %s: %s", path,
				     strerror(-r));
			near_syscall1(__NR_close, fd);
		} else {
			r = transport_attach(fd, left_ms(deadline), &c, why, whylen);
		}
	}
	else if (!takeover)
		r = transport_connect(path, timeout_ms, &c, why, whylen);
	else
		r = connect_nudging(path, deadline, &peer, &c, why, whylen);
	if (r == 0 && (transport_hello(c)->flags & NEAR_HELLO_BUSY) && takeover) {
		/* A silent or hung controller must not lock us out. */
		r = take_over(c, deadline, &peer);
		if (r < 0) {
			persist__say(why, whylen, "taking over %s: %s", path, strerror(-r));
			transport_close(c);
		}
	}
	if (r < 0) {
		if (peer.pidfd >= 0)
			near_syscall1(__NR_close, peer.pidfd);
		return r;
	}
	/* As transport_connect leaves it: the deadline bounds the calls too. */
	transport_set_timeout(c, timeout_ms);
	t->conn = c;
	t->pid = transport_hello(c)->pid;
	memcpy(t->path, path, strlen(path) + 1);
	if (far) {
		/* Memory moves in-band: no probe of local or process_vm
		 * access to a pid of another host. */
		transport_mem_use(c, TRANSPORT_MEM_INBAND);
		r = far_task_init(t, transport_sysif(c));
	} else {
		r = local_task_init(t, &peer, was); /* may keep peer.pidfd */
	}
	if (peer.pidfd >= 0)
		near_syscall1(__NR_close, peer.pidfd);
	if (r < 0) {
		persist__say(why, whylen, "thread pid %d: %s", t->pid, strerror(-r));
		transport_close(c);
		t->conn = NULL;
	}
	return r;
}

PERSIST_EXPORT int persist_thread_connect(struct persist_thread *t, const char *path,
					  int takeover, int timeout_ms,
					  char *why, size_t whylen)
{
	return connect_thread(t, path, -1, takeover, timeout_ms, NULL, NULL, why, whylen);
}

/* A far connection always has a nudge (perhaps doing nothing): what
 * makes connect_thread treat the thread as far. */
static const struct persist__far_nudge no_nudge = { NULL, NULL };

int persist__thread_connect_far(struct persist_thread *t, const char *path, int timeout_ms,
				const struct persist__far_nudge *nudge, char *why, size_t whylen)
{
	return connect_thread(t, path, -1, 1, timeout_ms, nudge ? nudge : &no_nudge, NULL,
			      why, whylen);
}

int persist__thread_attach_far(struct persist_thread *t, int fd, const char *name,
			       int timeout_ms, const struct persist__far_nudge *nudge,
			       char *why, size_t whylen)
{
	return connect_thread(t, name, fd, 1, timeout_ms, nudge ? nudge : &no_nudge, NULL,
			      why, whylen);
}

PERSIST_EXPORT int persist_reconnect(struct persist_thread *t, int timeout_ms,
				     char *why, size_t whylen)
{
	char path[sizeof t->path];
	struct server_was was = { t->srv_pidfd1_ - 1, t->srv_peer_pid_, t->pid, t->task.pidns };
	int r;

	memcpy(path, t->path, sizeof path);
	t->srv_pidfd1_ = 0; /* ours now: not closed with the connection */
	persist_thread_close(t);
	r = connect_thread(t, path, -1, 1, timeout_ms, NULL, &was, why, whylen);
	if (was.pidfd >= 0)
		near_syscall1(__NR_close, was.pidfd); /* another server now */
	return r;
}

PERSIST_EXPORT void persist_thread_close(struct persist_thread *t)
{
	if (t->srv_pidfd1_ > 0)
		near_syscall1(__NR_close, t->srv_pidfd1_ - 1);
	t->srv_pidfd1_ = 0;
	handle_task_close(&t->task);
	if (t->conn)
		transport_close(t->conn);
	t->conn = NULL;
	if (t->srv_) {
		/* Not made persistent: it runs on our memory, which is about to
		 * go.  It was meant to die with us anyway (PDEATHSIG). */
		kill(t->pid, SIGKILL);
		near_syscall4(__NR_wait4, t->pid, 0, 0, 0);
	}
	persist__release_clone(t);
}

PERSIST_EXPORT int persist_thread_exit(struct persist_thread *t, int status)
{
	struct near_request q;
	int64_t res;
	int r, ours = t->srv_ != NULL || t->stack_ != NULL || t->listen_fd_ >= 0;

	if (!t->conn)
		return -EINVAL; /* the local thread: exit yourself */
	r = transport_call(t->conn, near_request_set(&q, __NR_exit_group, status, 0, 0, 0, 0, 0),
			   &res);
	if (r == 0 && ours)
		near_syscall4(__NR_wait4, t->pid, 0, 0, 0); /* our child: reap it */
	t->srv_ = NULL; /* it is gone: nothing left to stop */
	persist_thread_close(t);
	return r;
}

/* Reap our child pid within ms (< 0: no limit), polling: it is a short
 * wait, and a pidfd is not available everywhere (valgrind).
 * Returns: 0 with *status, -ETIMEDOUT, or -errno. */
static int wait_exit(pid_t pid, int ms, int *status)
{
	struct timespec step = { 0, 2 * 1000 * 1000 };

	for (long waited = 0;; waited += 2) {
		long r = near_syscall4(__NR_wait4, pid, (long)status, WNOHANG, 0);
		if (r == pid)
			return 0;
		if (r < 0 && r != -EINTR)
			return (int)r;
		if (ms >= 0 && waited >= ms)
			return -ETIMEDOUT;
		near_syscall2(__NR_nanosleep, (long)&step, 0);
	}
}

PERSIST_EXPORT int persist_server_start(const char *path, int timeout_ms, int *pid,
					char *why, size_t whylen)
{
	const char *argv[] = { persist_server_exe(), "--listen", path, "--daemon", NULL };
	posix_spawn_file_actions_t fa;
	struct persist_thread probe;
	char msg[512];
	int p[2], r, status = 0;
	pid_t launcher;
	long n = 0;

	/* Non-blocking: a copy of its write end may outlive the launcher. */
	if (near_syscall2(__NR_pipe2, (long)p, O_CLOEXEC | O_NONBLOCK) < 0)
		return -EMFILE;
	/* The server reports setup errors on stderr before it detaches:
	 * catch them for why (the pipe is large enough for a message). */
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 2);
	r = posix_spawn(&launcher, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	near_syscall1(__NR_close, p[1]);
	if (r != 0) {
		near_syscall1(__NR_close, p[0]);
		persist__say(why, whylen, "cannot run %s: %s", argv[0], strerror(r));
		return -r;
	}
	/* --daemon: the launcher exits once the socket listens.  Wait for that
	 * exit, not for the pipe's end of file: a copy of the pipe may live on
	 * in the detached server (valgrind keeps one, for instance). */
	r = wait_exit(launcher, timeout_ms, &status);
	if (r < 0) {
		kill(launcher, SIGKILL);
		near_syscall4(__NR_wait4, launcher, 0, 0, 0);
		near_syscall1(__NR_close, p[0]);
		persist__say(why, whylen, "%s did not start within %d ms", argv[0], timeout_ms);
		return r;
	}
	n = near_syscall3(__NR_read, p[0], (long)msg, sizeof msg - 1);
	near_syscall1(__NR_close, p[0]);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		msg[n > 0 ? n : 0] = '\0';
		msg[strcspn(msg, "\n")] = '\0';
		persist__say(why, whylen, "%s", n > 0 ? msg : "persist-server failed to start");
		return strstr(msg, "already listening") ? -EADDRINUSE : -EIO;
	}
	/* Its pid is the detached process's: ask it. */
	r = persist_thread_connect(&probe, path, 0, timeout_ms, why, whylen);
	if (r < 0)
		return r;
	*pid = probe.pid;
	persist_thread_close(&probe);
	return 0;
}
