// SPDX-License-Identifier: MIT
/* Spawning a command inside a thread.  The thread starts a vfork-style
 * child that serves our connection until its execve (NEAR_OP_SPAWN, see
 * <near/proto.h>); we set the child up with ordinary syscalls pipelined
 * behind the SPAWN and end with execve.  A failed execve is just an answer
 * with its errno; a successful one is answered 0 by the thread.  Whatever
 * instant we die at, nothing is left behind: a child that never exec'd is
 * reaped by the thread itself, and no fd is created in the thread. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <linux/close_range.h>
#include <asm/unistd.h>
#include <handle/process.h>
#include <handle/ptr.h>
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
	size_t listen_pid; /* the LISTEN_PID=... slot, written once the pid is known */
	size_t mask, in, out, err, cwd, argv, envp;
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
	l->mask = b->len; /* the empty signal mask */
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
	if (r == 0) {
		size_t first = b->len;
		r = put_vector(b, base, envp, &l->envp);
		/* The slot is the environment's last string (see child_env). */
		l->listen_pid = 0;
		for (size_t i = 0; s->nfds && envp[i]; i++) {
			if (!envp[i + 1])
				l->listen_pid = first;
			first += strlen(envp[i]) + 1;
		}
	}
	return r;
}

#define LISTEN_PID_SLOT "LISTEN_PID=" "000000000000000000000"

/* The environment of a child given fds: envp without LISTEN_*, then
 * LISTEN_FDS, LISTEN_FDNAMES and, last, a LISTEN_PID slot long enough for
 * any pid.  *out is one allocation (free() it).  Returns: 0; -ENOMEM;
 * -EINVAL (a name with ':' or too many fds). */
static int child_env(const struct persist_spawn *s, const char *const *envp, char ***out)
{
	size_t n = 0, names = 0, k = 0, len;
	char **v, *p;

	if (s->nfds > PERSIST_SPAWN_MAX_FDS)
		return -EINVAL;
	for (; envp[n]; n++)
		;
	for (size_t i = 0; i < s->nfds; i++) {
		const char *nm = s->fd_names && s->fd_names[i] ? s->fd_names[i] : "unknown";
		if (strchr(nm, ':') || !*nm)
			return -EINVAL;
		names += strlen(nm) + 1;
	}
	len = (n + 4) * sizeof *v + 32 + 16 + names + sizeof LISTEN_PID_SLOT;
	v = malloc(len);
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (strncmp(envp[i], "LISTEN_", 7) != 0)
			v[k++] = (char *)envp[i];
	p = (char *)(v + n + 4);
	v[k++] = p;
	p += sprintf(p, "LISTEN_FDS=%zu", s->nfds) + 1;
	v[k++] = p;
	p += sprintf(p, "LISTEN_FDNAMES=");
	for (size_t i = 0; i < s->nfds; i++)
		p += sprintf(p, "%s%s", i ? ":" : "",
			     s->fd_names && s->fd_names[i] ? s->fd_names[i] : "unknown");
	p++;
	v[k++] = memcpy(p, LISTEN_PID_SLOT, sizeof LISTEN_PID_SLOT);
	v[k] = NULL;
	*out = v;
	return 0;
}

/* Run n requests through the thread's sysif, pipelined: one round trip.
 * Returns: 0, or the first failure's -errno with *failed its index (a
 * close that finds nothing to close is no failure); a transport failure
 * as the sysif reports it. */
static int pipeline(struct near_sysif *sys, const struct near_request *q, unsigned n,
		    int64_t *res, unsigned *failed)
{
	int r = 0;

	*failed = 0;
	for (unsigned i = 0; i < n && r == 0; i++)
		r = sys->ops->submit(sys, &q[i]);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < n; i++) {
		int w = sys->ops->complete(sys, &res[i]);
		if (w < 0)
			res[i] = w;
		if (res[i] < 0 && r == 0 && !(q[i].nr == __NR_close && res[i] == -EBADF)) {
			r = (int)res[i];
			*failed = i;
		}
	}
	return r;
}

/* The child's birth and setup, pipelined: NEAR_OP_SPAWN (answered with
 * its pid), then the steps it runs before execve.  stdio lands on 0, 1, 2
 * because open takes the lowest free number right after the close.
 * tmp gets where the fds to pass were moved.
 * Returns: 0 with *pid; the first failing step's -errno with *step naming
 * it (*pid set if the child was born). */
static int birth(struct near_sysif *sys, const struct persist_spawn *s, uint64_t base,
		 const struct layout *l, int *pid, int64_t *tmp, const char **step)
{
	struct near_request q[16 + PERSIST_SPAWN_MAX_FDS];
	const char *what[16 + PERSIST_SPAWN_MAX_FDS];
	int64_t res[16 + PERSIST_SPAWN_MAX_FDS];
	unsigned n = 0, failed = 0;
	int r;

#define STEP(name, nr, a, b, c3, d) \
	(what[n] = (name), near_request_set(&q[n++], (nr), (a), (b), (c3), (d), 0, 0))
	STEP("starting a child in the thread", NEAR_OP_SPAWN, 0, 0, 0, 0);
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
	/* Nothing but stdio across execve: the connection and the server's
	 * own fds are closed by it. */
	STEP("closing inherited fds", __NR_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC, 0);
	/* Fds to pass go out of the way of 3 .. 3 + nfds first (then_pass). */
	for (size_t i = 0; i < s->nfds; i++)
		STEP("a named fd", __NR_fcntl, s->fds[i], F_DUPFD_CLOEXEC, 3 + (int64_t)s->nfds, 0);
#undef STEP
	r = pipeline(sys, q, n, res, &failed);
	*pid = res[0] > 0 ? (int)res[0] : 0;
	if (r < 0)
		*step = what[failed];
	for (size_t i = 0; r == 0 && i < s->nfds; i++)
		tmp[i] = res[n - s->nfds + i];
	return r;
}

/* The passed fds onto 3, 4, ... (dup3 clears close-on-exec there), and
 * the child's pid into its LISTEN_PID slot.  The slot is written in-band,
 * through the child: where its memory is a copy (no vfork), only the
 * child's own copy must hold it.  Returns: 0; -errno with *step. */
static int then_pass(struct persist_thread *t, const struct persist_spawn *s, uint64_t base,
		     const struct layout *l, const int64_t *tmp, int pid, const char **step)
{
	struct near_sysif *sys = t->task.sysif;
	struct near_request q[PERSIST_SPAWN_MAX_FDS];
	int64_t res[PERSIST_SPAWN_MAX_FDS];
	enum transport_mem_kind kind = transport_mem_kind(t->conn);
	char slot[sizeof LISTEN_PID_SLOT];
	unsigned failed;
	int r;

	for (size_t i = 0; i < s->nfds; i++)
		near_request_set(&q[i], __NR_dup3, tmp[i], 3 + (int64_t)i, 0, 0, 0, 0);
	r = pipeline(sys, q, (unsigned)s->nfds, res, &failed);
	if (r < 0) {
		*step = "passing named fds";
		return r;
	}
	memset(slot, 0, sizeof slot);
	snprintf(slot, sizeof slot, "LISTEN_PID=%d", pid);
	r = transport_mem_use(t->conn, TRANSPORT_MEM_INBAND);
	if (r == 0)
		r = transport_write_mem(t->conn, base + l->listen_pid, slot, sizeof slot);
	transport_mem_use(t->conn, kind);
	if (r < 0)
		*step = "LISTEN_PID";
	return r;
}

/* execve in the child, trying each laid-out path as execvp does.
 * Returns: 0 (it runs: the server answered for it), or the most telling
 * -errno (the child still serves us). */
static int exec_child(struct near_sysif *sys, uint64_t base, const struct layout *l)
{
	int err = -ENOENT;

	for (unsigned i = 0; i < l->tries; i++) {
		struct near_request q;
		int64_t res = sys->ops->syscall(sys, near_request_set(&q, __NR_execve,
					(int64_t)(base + l->path[i]), (int64_t)(base + l->argv),
					(int64_t)(base + l->envp), 0, 0, 0));
		if (res == 0)
			return 0;
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
	struct near_sysif *sys = t->task.sysif;
	int64_t tmp[PERSIST_SPAWN_MAX_FDS];
	char **env = NULL;
	struct block b = { 0 };
	struct handle_ptr block;
	struct layout l;
	const char *step = "memory in the thread";
	uint64_t base = 0;
	int r;

	*pid = 0;
	if (!t->conn || !s->argv || !s->argv[0] || (s->nfds && !s->fds))
		return -EINVAL;
	if (s->nfds) {
		r = child_env(s, envp, &env);
		if (r < 0) {
			persist__say(why, whylen, "%s: named fds: %s", s->argv[0],
				     r == -EINVAL ? "too many, or a name with ':'" : strerror(-r));
			return r;
		}
		envp = (const char *const *)env;
	}
	/* Lay the block out once to size it, then at its real address. */
	r = lay_out(&b, 0, s, envp, &l);
	if (r == 0)
		r = transport_alloc(t->conn, b.len, &base);
	if (r == 0)
		r = lay_out(&b, base, s, envp, &l);
	if (r == 0)
		r = handle_ptr_init(&block, &t->task, base, b.len);
	if (r == 0)
		r = handle_ptr_write(&block, &t->task, 0, b.buf, b.len);
	free(b.buf);
	free(env);
	if (r < 0) {
		persist__say(why, whylen, "%s: %s: %s", s->argv[0], step, strerror(-r));
		goto out;
	}
	r = birth(sys, s, base, &l, pid, tmp, &step);
	if (r == 0 && s->born && (r = s->born(s->born_arg, *pid)) != 0)
		step = "recording the child";
	if (r == 0 && s->nfds)
		r = then_pass(t, s, base, &l, tmp, *pid, &step);
	if (r == 0) {
		step = "execve";
		r = exec_child(sys, base, &l);
	}
	if (r < 0) {
		struct near_request q;
		persist__say(why, whylen, "%s: %s: %s", s->argv[0], step, strerror(-r));
		/* A child that did not exec ends here: the server reaps it and
		 * answers for it.  If the connection broke instead, the child
		 * saw end of file and the server reaped it all the same. */
		if (*pid > 0)
			sys->ops->syscall(sys, near_request_set(&q, __NR_exit_group, 127, 0, 0, 0,
								 0, 0));
	}
out:
	if (base)
		transport_free(t->conn, base);
	return r;
}

PERSIST_EXPORT int persist_child_wait(struct persist_thread *t, int pid, int nowait,
				      int block, struct persist_exit *st)
{
	struct handle_ptr info;
	siginfo_t si;
	uint64_t at = 0;
	int r;

	memset(st, 0, sizeof *st);
	memset(&si, 0, sizeof si);
	/* The siginfo lives in the thread's memory: ours when it is local.
	 * It needs no zeroing there first: Linux's waitid writes every field
	 * it reports, si_pid 0 when WNOHANG finds the child still running
	 * (kernel/exit.c), so that is one round trip less per wait. */
	if (t->conn) {
		r = transport_alloc(t->conn, sizeof si, &at);
		if (r == 0)
			r = handle_ptr_init(&info, &t->task, at, sizeof si);
	} else {
		r = handle_ptr_local(&info, &t->task, &si, sizeof si);
	}
	if (r == 0) {
		long w = handle_waitid(&t->task, P_PID, pid, &info,
				       WEXITED | (nowait ? WNOWAIT : 0) | (block ? 0 : WNOHANG));
		r = w < 0 ? (int)w : 0;
	}
	if (r == 0 && t->conn)
		r = handle_ptr_read(&info, &t->task, 0, &si, sizeof si);
	if (at)
		transport_free(t->conn, at);
	if (r < 0)
		return r;
	if (si.si_pid == 0)
		return 0; /* still running */
	st->exited = 1;
	st->killed = si.si_code == CLD_KILLED || si.si_code == CLD_DUMPED;
	st->code = si.si_status;
	return 0;
}
