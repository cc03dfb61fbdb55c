// SPDX-License-Identifier: MIT
/* clone_persistent and make_persistent: a CLONE_VM child running the server
 * loop in our memory, then made independent of us. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <asm/unistd.h>
#include <near/syscall.h>
#include <pserver/pserver.h>
#include "thread_internal.h"

#define STACK_SIZE (256 * 1024)

extern char **environ;

void persist__release_clone(struct persist_thread *t)
{
	if (t->stack_)
		munmap(t->stack_, STACK_SIZE);
	free(t->srv_);
	t->stack_ = NULL;
	t->srv_ = NULL;
}

static int64_t call(struct persist_thread *t, int64_t nr, int64_t a, int64_t b, int64_t c)
{
	return transport_syscall(t->conn, nr, a, b, c, 0, 0, 0);
}

PERSIST_EXPORT int persist_clone_persistent(struct persist_thread *parent, const char *path,
					    struct persist_thread *out, char *why, size_t whylen)
{
	const unsigned long flags = CLONE_VM | CLONE_FS | CLONE_FILES;
	int sv[2] = { -1, -1 }, lfd, r;
	long pid;

	if (parent->conn)
		return -EINVAL;
	memset(out, 0, sizeof *out);
	out->listen_fd_ = out->conn_fd_ = -1;
	if (strlen(path) >= sizeof out->path)
		return -ENAMETOOLONG;
	lfd = pserver_listen(path, why, whylen);
	if (lfd < 0)
		return lfd;
	r = (int)near_syscall4(__NR_socketpair, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, (long)sv);
	out->srv_ = calloc(1, sizeof *out->srv_);
	out->stack_ = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (r < 0 || !out->srv_ || out->stack_ == MAP_FAILED) {
		if (out->stack_ == MAP_FAILED)
			out->stack_ = NULL;
		r = r < 0 ? r : -ENOMEM;
		goto fail;
	}
	pserver_init(out->srv_);
	out->srv_->listen_fd = lfd;
	out->srv_->conn_fd = sv[1];
	pid = near_clone(flags | SIGCHLD, (char *)out->stack_ + STACK_SIZE,
			 pserver_clone_main, out->srv_);
	if (pid < 0) {
		r = (int)pid;
		goto fail;
	}
	out->pid = (int)pid;
	out->listen_fd_ = lfd;
	out->conn_fd_ = sv[1];
	memcpy(out->path, path, strlen(path) + 1);
	r = transport_attach(sv[0], 5000, &out->conn, why, whylen);
	sv[0] = -1;
	if (r < 0)
		goto kill;
	/* The deadline was for the handshake: a remote syscall may block. */
	transport_set_timeout(out->conn, -1);
	r = handle_task_init_child(&out->task, &parent->task, transport_sysif(out->conn),
				   out->pid, flags);
	if (r < 0)
		goto kill;
	/* Its own sockets are what unshare must keep in its table. */
	if ((r = handle_fd_adopt(&out->listen_h_, &out->task, lfd)) < 0 ||
	    (r = handle_fd_adopt(&out->conn_h_, &out->task, out->conn_fd_)) < 0)
		goto kill;
	/* Until it is made persistent, it dies with us. */
	r = (int)call(out, __NR_prctl, PR_SET_PDEATHSIG, SIGKILL, 0);
	if (r < 0)
		goto kill;
	return 0;
kill:
	persist__say(why, whylen, "starting the thread: %s", strerror(-r));
	kill((pid_t)pid, SIGKILL);
	near_syscall4(__NR_wait4, pid, 0, 0, 0);
	handle_task_close(&out->task);
	if (out->conn)
		transport_close(out->conn);
	out->conn = NULL;
fail:
	near_syscall1(__NR_close, lfd);
	if (sv[0] >= 0)
		near_syscall1(__NR_close, sv[0]);
	if (sv[1] >= 0)
		near_syscall1(__NR_close, sv[1]);
	persist__release_clone(out);
	return r;
}

/* persist-server's argv: its two sockets, and every other fd the thread
 * has a handle for, which the server would otherwise close as inherited
 * (docs/design.md, decision 18).  Each kept fd loses close-on-exec.
 * Returns: a new argv whose strings are in the same allocation (free());
 * NULL with *err set. */
static const char **server_argv(struct persist_thread *t, int *err)
{
	size_t n = handle_task_owned_fds(&t->task, NULL, 0), k = 0;
	int *fds = calloc(n ? n : 1, sizeof *fds);
	const char **argv;
	char *p;

	*err = -ENOMEM;
	if (!fds)
		return NULL;
	n = handle_task_owned_fds(&t->task, fds, n);
	argv = malloc((6 + 2 * n) * sizeof *argv + (2 + n) * 16);
	if (!argv) {
		free(fds);
		return NULL;
	}
	p = (char *)(argv + 6 + 2 * n);
	argv[k++] = persist_server_exe();
	argv[k++] = "--listen-fd";
	argv[k++] = p;
	p += sprintf(p, "%d", t->listen_fd_) + 1;
	argv[k++] = "--fd";
	argv[k++] = p;
	p += sprintf(p, "%d", t->conn_fd_) + 1;
	for (size_t i = 0; i < n; i++) {
		if (fds[i] <= 2 || fds[i] == t->listen_fd_ || fds[i] == t->conn_fd_)
			continue;
		*err = (int)call(t, __NR_fcntl, fds[i], F_SETFD, 0);
		if (*err < 0) {
			free(fds);
			free(argv);
			return NULL;
		}
		argv[k++] = "--keep-fd";
		argv[k++] = p;
		p += sprintf(p, "%d", fds[i]) + 1;
	}
	argv[k] = NULL;
	free(fds);
	*err = 0;
	return argv;
}

PERSIST_EXPORT int persist_make_persistent(struct persist_thread *t, char *why, size_t whylen)
{
	const char **argv = NULL;
	const char *step;
	struct near_request q;
	int64_t res;
	int r;

	if (!t->srv_ || !t->conn)
		return -EINVAL;
	/* An fd table of its own holding exactly what it has handles for. */
	step = "unshare(CLONE_FILES)";
	r = handle_task_unshare_files(&t->task);
	if (r >= 0) {
		step = "setsid";
		r = (int)call(t, __NR_setsid, 0, 0, 0);
	}
	if (r >= 0) {
		step = "clearing the parent-death signal";
		r = (int)call(t, __NR_prctl, PR_SET_PDEATHSIG, 0, 0);
	}
	if (r >= 0) {
		step = "keeping its sockets across execve";
		r = (int)call(t, __NR_fcntl, t->listen_fd_, F_SETFD, 0);
		if (r >= 0)
			r = (int)call(t, __NR_fcntl, t->conn_fd_, F_SETFD, 0);
	}
	if (r >= 0) {
		step = "keeping its handled fds across execve";
		argv = server_argv(t, &r);
	}
	if (r < 0) {
		persist__say(why, whylen, "make_persistent: %s: %s", step, strerror(-r));
		return r;
	}
	/* It still shares our memory: the strings can be passed as they are;
	 * the kernel copies them in execve. */
	near_request_set(&q, __NR_execve, (int64_t)(uintptr_t)argv[0], (int64_t)(uintptr_t)argv,
			 (int64_t)(uintptr_t)environ, 0, 0, 0);
	r = transport_exec(t->conn, &q, &res);
	if (r == 0 && res < 0)
		r = (int)res;
	if (r < 0) {
		persist__say(why, whylen, "make_persistent: execve %s: %s", argv[0], strerror(-r));
		free(argv);
		return r;
	}
	free(argv);
	/* Its memory is its own now: ours can go, and so can our copies of
	 * its sockets (its table was unshared from ours). */
	near_syscall1(__NR_close, t->listen_fd_);
	near_syscall1(__NR_close, t->conn_fd_);
	persist__release_clone(t);
	handle_task_close(&t->task);
	r = handle_task_init(&t->task, transport_sysif(t->conn), t->pid);
	if (r == 0)
		r = handle_fd_adopt(&t->listen_h_, &t->task, t->listen_fd_);
	if (r == 0)
		r = handle_fd_adopt(&t->conn_h_, &t->task, t->conn_fd_);
	return r;
}
