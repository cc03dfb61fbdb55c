// SPDX-License-Identifier: MIT
/* Spawning a command inside a thread.  The thread forks a child that serves
 * a connection of its own (NEAR_OP_FORK); we set the child up with ordinary
 * syscalls over that connection and end with execve.  A failed execve is
 * just an answer with its errno; a successful one closes the connection
 * (close-on-exec), which is its success.  Nothing here can hang on a child
 * that died: every step is a syscall with an answer or a hangup. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <linux/close_range.h>
#include <asm/unistd.h>
#include <near/syscall.h>
#include <transport/mem.h>
#include "thread_internal.h"

extern char **environ;

/* Strings and pointer arrays laid out for the thread's memory at base. */
struct block {
	char *buf;
	size_t len, cap;
};

static int put(struct block *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		char *nb;
		while (cap < b->len + n)
			cap *= 2;
		nb = realloc(b->buf, cap);
		if (!nb)
			return -ENOMEM;
		b->buf = nb;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, p, n);
	b->len += n;
	return 0;
}

static int put_str(struct block *b, const char *str, size_t *at)
{
	*at = b->len;
	return put(b, str, strlen(str) + 1);
}

static int align8(struct block *b)
{
	int r = 0;

	while (r == 0 && b->len % 8)
		r = put(b, "", 1);
	return r;
}

/* Append a NULL-terminated vector: the strings, then (8-aligned) the
 * pointers to them as they will be at base.  *at gets the array's offset. */
static int put_vector(struct block *b, uint64_t base, const char *const *v, size_t *at)
{
	size_t n = 0, first = b->len;
	uint64_t zero = 0;
	int r = 0;

	for (; v[n]; n++)
		if ((r = put(b, v[n], strlen(v[n]) + 1)) < 0)
			return r;
	if ((r = align8(b)) < 0)
		return r;
	*at = b->len;
	for (size_t i = 0, off = first; i < n; i++) {
		uint64_t p = base + off;
		if ((r = put(b, &p, sizeof p)) < 0)
			return r;
		off += strlen(v[i]) + 1;
	}
	return put(b, &zero, sizeof zero);
}

/* Everything the spawn needs in the thread's memory, in one block written
 * before the fork: the child inherits it at the same address, so it needs
 * no memory of its own and no memory transport (each would cost round
 * trips).  The paths execve tries are all laid out too, as execvp would
 * try them. */
#define MAX_TRIES 64
struct layout {
	size_t sv, mask, in, out, err, cwd, argv, envp;
	size_t path[MAX_TRIES];
	unsigned tries;
};

/* PATH of envp, for a program name without '/'. */
static const char *search_path(const char *const *envp)
{
	for (; envp && *envp; envp++)
		if (strncmp(*envp, "PATH=", 5) == 0)
			return *envp + 5;
	return "/usr/local/bin:/usr/bin:/bin";
}

static int lay_out(struct block *b, uint64_t base, const struct persist_spawn *s,
		   const char *const *envp, struct layout *l)
{
	const char *name = s->argv[0];
	uint64_t zero = 0;
	int r;

	b->len = 0;
	l->sv = b->len;
	r = put(b, &zero, sizeof zero);
	l->mask = b->len;
	if (r == 0)
		r = put(b, &zero, sizeof zero);
	if (r == 0)
		r = put_str(b, s->stdin_path ? s->stdin_path : "/dev/null", &l->in);
	if (r == 0)
		r = put_str(b, s->stdout_path ? s->stdout_path : "/dev/null", &l->out);
	if (r == 0)
		r = put_str(b, s->stderr_path ? s->stderr_path : "/dev/null", &l->err);
	if (r == 0)
		r = put_str(b, s->cwd ? s->cwd : ".", &l->cwd);
	l->tries = 0;
	if (strchr(name, '/')) {
		if (r == 0)
			r = put_str(b, name, &l->path[l->tries++]);
	} else {
		for (const char *d = search_path(envp); r == 0 && l->tries < MAX_TRIES;) {
			size_t dl = strcspn(d, ":");
			char path[4096];
			snprintf(path, sizeof path, "%.*s%s%s", (int)dl, d, dl ? "/" : "", name);
			r = put_str(b, path, &l->path[l->tries++]);
			if (!d[dl])
				break;
			d += dl + 1;
		}
	}
	if (r == 0)
		r = align8(b);
	if (r == 0)
		r = put_vector(b, base, s->argv, &l->argv);
	if (r == 0)
		r = put_vector(b, base, envp, &l->envp);
	return r;
}

static int64_t sys(struct transport_conn *c, int64_t nr, int64_t a, int64_t b, int64_t c3,
		   int64_t d)
{
	return transport_syscall(c, nr, a, b, c3, d, 0, 0);
}

/* Run n requests pipelined: one round trip.  Returns: 0, or the first
 * failure's -errno with *failed its index (a close that finds nothing to
 * close is no failure). */
static int pipeline(struct transport_conn *c, const struct near_request *q, unsigned n,
		    unsigned *failed)
{
	int r = 0;

	for (unsigned i = 0; i < n && r == 0; i++)
		r = transport_submit(c, &q[i]);
	if (r < 0) {
		*failed = 0;
		return r;
	}
	for (unsigned i = 0; i < n; i++) {
		int64_t res;
		int w = transport_wait(c, &res);
		if (w < 0)
			res = w;
		if (res < 0 && r == 0 && !(q[i].nr == __NR_close && res == -EBADF)) {
			r = (int)res;
			*failed = i;
		}
	}
	return r;
}

/* A child of the thread with a connection of its own (NEAR_OP_FORK).
 * Returns: 0 with *child and *pid, or -errno (why says which step). */
static int fork_child(struct persist_thread *t, uint64_t base, const struct layout *l,
		      struct transport_conn **child, int *pid, int *thread_end,
		      char *why, size_t whylen)
{
	struct near_request q[2];
	unsigned failed;
	int sv[2], local = -1, r;

	r = (int)sys(t->conn, __NR_socketpair, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
		     (int64_t)(base + l->sv));
	if (r == 0)
		r = transport_read_mem(t->conn, sv, base + l->sv, sizeof sv);
	if (r < 0) {
		persist__say(why, whylen, "socketpair in the thread: %s", strerror(-r));
		return r;
	}
	r = transport_fork(t->conn, sv[1], pid);
	if (r == 0)
		r = transport_take_fd(t->conn, sv[0], &local);
	/* The thread keeps neither end. */
	near_request_set(&q[0], __NR_close, sv[1], 0, 0, 0, 0, 0);
	near_request_set(&q[1], __NR_close, sv[0], 0, 0, 0, 0, 0);
	pipeline(t->conn, q, 2, &failed);
	if (r < 0) {
		if (local >= 0)
			near_syscall1(__NR_close, local);
		persist__say(why, whylen, "forking in the thread: %s", strerror(-r));
		return r;
	}
	*thread_end = sv[0];
	r = transport_attach(local, 5000, child, why, whylen);
	if (r == 0)
		transport_set_timeout(*child, -1); /* the deadline was for the hello */
	return r;
}

/* The child's setup, pipelined: one round trip.  stdio lands on 0, 1, 2
 * because open takes the lowest free number right after the close.
 * Returns: 0, or the first failing step's -errno with *step naming it. */
static int set_up(struct transport_conn *c, const struct persist_spawn *s, uint64_t base,
		  const struct layout *l, int thread_end, const char **step)
{
	struct near_request q[16];
	const char *what[16];
	unsigned n = 0, failed = 0;
	int r;

#define STEP(name, nr, a, b, c3, d) \
	(what[n] = (name), near_request_set(&q[n++], (nr), (a), (b), (c3), (d), 0, 0))
	/* It inherited the thread's end of its connection: without closing
	 * it, it would never see our end of file. */
	STEP("closing the thread's end", __NR_close, thread_end, 0, 0, 0);
	STEP("stdin", __NR_close, 0, 0, 0, 0);
	STEP(s->stdin_path ? s->stdin_path : "/dev/null", __NR_openat, AT_FDCWD,
	     (int64_t)(base + l->in), O_RDONLY, 0);
	STEP("stdout", __NR_close, 1, 0, 0, 0);
	STEP(s->stdout_path ? s->stdout_path : "/dev/null", __NR_openat, AT_FDCWD,
	     (int64_t)(base + l->out), O_WRONLY | O_CREAT | O_APPEND, 0600);
	STEP("stderr", __NR_close, 2, 0, 0, 0);
	STEP(s->stderr_path ? s->stderr_path : "/dev/null", __NR_openat, AT_FDCWD,
	     (int64_t)(base + l->err), O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (s->cwd)
		STEP(s->cwd, __NR_chdir, (int64_t)(base + l->cwd), 0, 0, 0);
	if (s->new_session)
		STEP("setsid", __NR_setsid, 0, 0, 0, 0);
	STEP("signal mask", __NR_rt_sigprocmask, SIG_SETMASK, (int64_t)(base + l->mask), 0, 8);
	/* Nothing but stdio across execve; our connection is close-on-exec. */
	STEP("closing inherited fds", __NR_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC, 0);
#undef STEP
	r = pipeline(c, q, n, &failed);
	if (r < 0)
		*step = what[failed];
	return r;
}

/* execve in the child, trying each laid-out path as execvp does.
 * Returns: 0 (it runs: the connection ended), or the most telling -errno. */
static int exec_child(struct transport_conn *c, uint64_t base, const struct layout *l)
{
	int err = -ENOENT;

	for (unsigned i = 0; i < l->tries; i++) {
		struct near_request q;
		int64_t res;
		int r = transport_call(c, near_request_set(&q, __NR_execve, (int64_t)(base + l->path[i]),
							   (int64_t)(base + l->argv),
							   (int64_t)(base + l->envp), 0, 0, 0), &res);
		if (r < 0)
			return r;
		if (res == 0)
			return 0; /* hung up after execve: it runs */
		/* As execvp: keep looking past ENOENT, remember EACCES. */
		if (res != -ENOENT && res != -ENOTDIR && res != -EACCES)
			return (int)res;
		if (err != -EACCES)
			err = (int)res;
	}
	return err;
}

PERSIST_EXPORT int persist_spawn(struct persist_thread *t, const struct persist_spawn *s,
				 int *pid, char *why, size_t whylen)
{
	const char *const *envp = s->envp ? s->envp : (const char *const *)environ;
	struct transport_conn *c = NULL;
	struct block b = { 0 };
	struct layout l;
	const char *step = "memory in the thread";
	uint64_t base = 0;
	int thread_end = -1, r;

	if (!t->conn || !s->argv || !s->argv[0])
		return -EINVAL;
	/* Lay the block out once to size it, then at its real address. */
	r = lay_out(&b, 0, s, envp, &l);
	if (r == 0)
		r = transport_alloc(t->conn, b.len, &base);
	if (r == 0)
		r = lay_out(&b, base, s, envp, &l);
	if (r == 0)
		r = transport_write_mem(t->conn, base, b.buf, b.len);
	free(b.buf);
	if (r < 0) {
		persist__say(why, whylen, "%s: %s: %s", s->argv[0], step, strerror(-r));
		goto out;
	}
	r = fork_child(t, base, &l, &c, pid, &thread_end, why, whylen);
	if (r < 0)
		goto out;
	r = set_up(c, s, base, &l, thread_end, &step);
	if (r == 0) {
		step = "execve";
		r = exec_child(c, base, &l);
	}
	transport_close(c);
	if (r < 0) {
		struct persist_exit st;
		persist__say(why, whylen, "%s: %s: %s", s->argv[0], step, strerror(-r));
		/* Never leave it behind: it is still our server loop (execve
		 * failed), so it ends at our end of file; reap it. */
		persist_child_wait(t, *pid, 0, 1, &st);
	}
out:
	if (base)
		transport_free(t->conn, base);
	return r;
}

PERSIST_EXPORT int persist_child_wait(struct persist_thread *t, int pid, int nowait,
				      int block, struct persist_exit *st)
{
	siginfo_t si;
	uint64_t at;
	int r;

	memset(st, 0, sizeof *st);
	if (!t->conn) {
		/* The local thread. */
		long n = near_syscall6(__NR_waitid, P_PID, pid, (long)&si,
				       WEXITED | (nowait ? WNOWAIT : 0) | (block ? 0 : WNOHANG), 0, 0);
		if (n < 0)
			return (int)n;
	} else {
		r = transport_alloc(t->conn, sizeof si, &at);
		if (r < 0)
			return r;
		memset(&si, 0, sizeof si);
		r = transport_write_mem(t->conn, at, &si, sizeof si);
		if (r == 0)
			r = (int)transport_syscall(t->conn, __NR_waitid, P_PID, pid, (int64_t)at,
						   WEXITED | (nowait ? WNOWAIT : 0) | (block ? 0 : WNOHANG),
						   0, 0);
		if (r == 0)
			r = transport_read_mem(t->conn, &si, at, sizeof si);
		transport_free(t->conn, at);
		if (r < 0)
			return r;
	}
	if (si.si_pid == 0)
		return 0; /* still running */
	st->exited = 1;
	st->killed = si.si_code == CLD_KILLED || si.si_code == CLD_DUMPED;
	st->code = si.si_status;
	return 0;
}
