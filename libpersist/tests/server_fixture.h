/* SPDX-License-Identifier: MIT */
/* What tests that drive a real persist-server share: servers started in a
 * temp dir (and, where the machine allows, in a pid namespace of their
 * own), killed at teardown even after a failure; children made in them;
 * /proc read through them. */
#ifndef PERSIST_TESTS_SERVER_FIXTURE_H
#define PERSIST_TESTS_SERVER_FIXTURE_H

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <asm/unistd.h>
#include <persist/recover.h>
#include <persist/thread.h>
#include <transport/mem.h>
#include "proc.h"

/* A server under valgrind (VALGRIND=1 traces children) takes seconds to
 * start: every bound stretches there. */
static inline int srv_slow(int ms)
{
	return getenv("PERSIST_VALGRIND") ? ms * 12 : ms;
}

static char srv_dir[64];
static int srv_pids[8], srv_n;   /* host pids, killed at teardown */

static inline int srv_setup(void)
{
	snprintf(srv_dir, sizeof srv_dir, "/tmp/persist-srv-XXXXXX");
	return mkdtemp(srv_dir) ? 0 : -1;
}

static inline void srv_teardown(void)
{
	char cmd[128];

	while (srv_n) {
		int pid = srv_pids[--srv_n], *kids = NULL;
		size_t n = 0;

		/* Its children first: they would outlive it (a namespace's
		 * init takes its own along). */
		if (persist_proc_children(pid, &kids, &n) == 0)
			for (size_t i = 0; i < n; i++)
				kill(kids[i], SIGKILL);
		free(kids);
		kill(pid, SIGKILL);
		/* Not always our child: wait for it to go. */
		for (int i = 0; i < 200 && kill(pid, 0) == 0; i++) {
			waitpid(pid, NULL, WNOHANG);
			usleep(10000);
		}
	}
	if (srv_dir[0]) {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", srv_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", srv_dir);
	}
}

static inline void srv_remember(int pid)
{
	if (srv_n < 8)
		srv_pids[srv_n++] = pid;
}

/* A standalone server at srv_dir/NAME, connected as th. */
static inline int srv_start(struct persist_thread *th, const char *name)
{
	char sock[128], why[256];
	int pid, r;

	snprintf(sock, sizeof sock, "%s/%s", srv_dir, name);
	r = persist_server_start(sock, srv_slow(5000), &pid, why, sizeof why);
	if (r < 0) {
		fprintf(stderr, "server: %s\n", why);
		return r;
	}
	srv_remember(pid);
	r = persist_thread_connect(th, sock, 0, srv_slow(5000), why, sizeof why);
	if (r < 0)
		fprintf(stderr, "connect: %s\n", why);
	return r;
}

/* A server that is pid 1 of a pid namespace of its own, connected as th;
 * with own_proc it also has a mount namespace with that pid namespace's
 * /proc, else it sees ours (where its pids are not its own).  *outer gets
 * its pid as we see it.  th is a bare connection (conn, pid and
 * task.sysif only: what spawning, waiting and recovery use; close it with
 * transport_close(th->conn)): persist_thread_connect refuses such a
 * thread, since handle_task_init looks its pid up in OUR /proc (-EACCES or
 * another process's namespace).  Returns: 0; -EPERM (no namespaces here:
 * the caller skips); -errno. */
static inline int srv_start_ns(struct persist_thread *th, const char *name, int own_proc,
			       int *outer)
{
	char sock[128], why[256];
	int p[2], pid = 0, r;
	pid_t mid;

	snprintf(sock, sizeof sock, "%s/%s", srv_dir, name);
	if (pipe(p) < 0)
		return -errno;
	mid = fork();
	if (mid < 0)
		return -errno;
	if (mid == 0) {
		pid_t inner;

		close(p[0]);
		if (unshare(CLONE_NEWPID | (own_proc ? CLONE_NEWNS : 0)) < 0) {
			int e = -errno;
			(void)!write(p[1], &e, sizeof e);
			_exit(1);
		}
		inner = fork();
		if (inner == 0) {
			if (own_proc && (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
					 mount("proc", "/proc", "proc", 0, NULL) < 0))
				_exit(2);
			execl(persist_server_exe(), "persist-server", "--listen", sock, (char *)NULL);
			_exit(127);
		}
		(void)!write(p[1], &inner, sizeof inner);
		/* The namespace's init is our child: stay to reap it. */
		waitpid(inner, NULL, 0);
		_exit(0);
	}
	close(p[1]);
	r = read(p[0], &pid, sizeof pid) == sizeof pid ? 0 : -EIO;
	close(p[0]);
	if (r == 0 && pid < 0)
		r = pid;
	if (r < 0) {
		waitpid(mid, NULL, 0);
		return r;
	}
	srv_remember(pid);
	srv_remember(mid);
	/* It may not listen yet: connect says -ENOENT until it does. */
	memset(th, 0, sizeof *th);
	for (int i = 0; i < srv_slow(500); i++) {
		r = transport_connect(sock, srv_slow(5000), &th->conn, why, sizeof why);
		if (r != -ENOENT && r != -ECONNREFUSED)
			break;
		usleep(10000);
	}
	if (r < 0) {
		fprintf(stderr, "connect: %s\n", why);
		return r;
	}
	th->pid = transport_hello(th->conn)->pid;
	th->task.sysif = transport_sysif(th->conn);
	*outer = pid;
	return 0;
}

/* The stat of pid as the thread's /proc shows it. */
static inline int srv_stat(struct persist_thread *th, int pid, struct persist_proc_stat *ps)
{
	struct persist__procio io;
	int r;

	persist__procio_init(&io, th->task.sysif);
	r = persist__proc_stat_at(&io, pid, ps);
	persist__procio_fini(&io);
	return r;
}

static inline unsigned long long srv_starttime(struct persist_thread *th, int pid)
{
	struct persist_proc_stat ps;

	return srv_stat(th, pid, &ps) == 0 ? ps.starttime : 0;
}

/* Spawn argv in th, in dir; returns its pid (in th's pid namespace). */
static inline int srv_spawn(struct persist_thread *th, const char *const *argv)
{
	struct persist_spawn sp = { .argv = argv, .cwd = srv_dir };
	char why[256];
	int pid = 0, r = persist_spawn(th, &sp, &pid, why, sizeof why);

	if (r < 0) {
		fprintf(stderr, "spawn %s: %s\n", argv[0], why);
		return r;
	}
	return pid;
}

/* Until pid, a child of th, has ended (it stays a zombie: WNOWAIT). */
static inline int srv_await_end(struct persist_thread *th, int pid)
{
	struct persist_exit e;
	int r = persist_child_wait(th, pid, 1, 1, &e);

	return r < 0 ? r : e.exited ? 0 : -EAGAIN;
}

/* A fork of the server that never calls execve (NEAR_OP_FORK, as a spawn
 * begins): it serves a socketpair whose other end stays in the server, in
 * *keep, so that it lives until that is closed.  Returns its pid. */
static inline int srv_half_fork(struct persist_thread *th, int *keep)
{
	uint64_t mem;
	int sv[2], pid = 0, r;

	if ((r = transport_alloc(th->conn, 64, &mem)) < 0)
		return r;
	r = (int)transport_syscall(th->conn, __NR_socketpair, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC,
				   0, (int64_t)mem, 0, 0);
	if (r == 0)
		r = transport_read_mem(th->conn, sv, mem, sizeof sv);
	transport_free(th->conn, mem);
	if (r < 0)
		return r;
	r = transport_fork(th->conn, sv[1], &pid);
	transport_syscall(th->conn, __NR_close, sv[1], 0, 0, 0, 0, 0);
	if (r < 0)
		return r;
	*keep = sv[0];
	return pid;
}

/* A fork of the server that never ran execve and then ended by itself (an
 * exit_group over its own connection, which we take from the server): a
 * zombie of the server until someone reaps it.  Returns its pid. */
static inline int srv_half_fork_exit(struct persist_thread *th)
{
	struct transport_conn *child;
	char why[256];
	int keep = -1, local = -1, pid = srv_half_fork(th, &keep), r;

	if (pid < 0)
		return pid;
	r = transport_take_fd(th->conn, keep, &local);
	transport_syscall(th->conn, __NR_close, keep, 0, 0, 0, 0, 0);
	if (r < 0)
		return r;
	if ((r = transport_attach(local, srv_slow(5000), &child, why, sizeof why)) < 0)
		return r;
	/* The hangup after exit_group is its success. */
	r = (int)transport_syscall(child, __NR_exit_group, 0, 0, 0, 0, 0, 0);
	transport_close(child);
	return r < 0 ? r : pid;
}

/* Recovery's collect and reap through the thread, as a controller has them. */
static inline int srv_collect(void *arg, int pid, int *code, int *killed)
{
	struct persist_exit e;
	int r = persist_child_wait(arg, pid, 1, 0, &e);

	if (r < 0)
		return r;
	if (!e.exited)
		return -EAGAIN;
	*code = e.code;
	*killed = e.killed;
	return 0;
}

static inline int srv_reap(void *arg, int pid)
{
	struct persist_exit e;
	int r = persist_child_wait(arg, pid, 0, 0, &e);

	return r < 0 ? r : e.exited ? 0 : -EAGAIN;
}

#endif
