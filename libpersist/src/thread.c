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
#include <sys/wait.h>
#include <unistd.h>
#include <asm/unistd.h>
#include <near/syscall.h>
#include <persist/thread.h>
#include "thread_internal.h"

#ifndef PERSIST_SERVER_DEFAULT
#define PERSIST_SERVER_DEFAULT "persist-server"
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

PERSIST_EXPORT int persist_thread_connect(struct persist_thread *t, const char *path,
					  int takeover, int timeout_ms,
					  char *why, size_t whylen)
{
	struct transport_conn *c;
	int64_t epoch;
	int r;

	memset(t, 0, sizeof *t);
	t->listen_fd_ = t->conn_fd_ = -1;
	if (strlen(path) >= sizeof t->path)
		return -ENAMETOOLONG;
	r = transport_connect(path, timeout_ms, &c, why, whylen);
	if (r < 0)
		return r;
	if ((transport_hello(c)->flags & NEAR_HELLO_BUSY) && takeover) {
		struct near_request q;
		/* A silent or hung controller must not lock us out. */
		r = transport_call(c, near_request_set(&q, NEAR_OP_TAKEOVER, 0, 0, 0, 0, 0, 0),
				   &epoch);
		if (r < 0) {
			persist__say(why, whylen, "taking over %s: %s", path, strerror(-r));
			transport_close(c);
			return r;
		}
	}
	t->conn = c;
	t->pid = transport_hello(c)->pid;
	memcpy(t->path, path, strlen(path) + 1);
	r = handle_task_init(&t->task, transport_sysif(c), t->pid);
	if (r < 0) {
		persist__say(why, whylen, "thread pid %d: %s", t->pid, strerror(-r));
		transport_close(c);
		t->conn = NULL;
	}
	return r;
}

PERSIST_EXPORT int persist_reconnect(struct persist_thread *t, int timeout_ms,
				     char *why, size_t whylen)
{
	char path[sizeof t->path];

	memcpy(path, t->path, sizeof path);
	persist_thread_close(t);
	return persist_thread_connect(t, path, 1, timeout_ms, why, whylen);
}

PERSIST_EXPORT void persist_thread_close(struct persist_thread *t)
{
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
