// SPDX-License-Identifier: MIT
/* The request loop: read requests in batches, run each with a raw syscall,
 * answer the batch with one write.  Memory travels in-band (NEAR_OP_*_MEM).
 * Everything the kernel is asked to touch on the controller's behalf goes
 * through a syscall, so a bad address is an -EFAULT answer, never a crash. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include "internal.h"

#define REQ_SIZE ((unsigned)sizeof(struct near_request))
#define IN_CAP ((unsigned)sizeof(((struct pserver *)0)->in))
#define FORKED 2 /* run_one/run_batch/serve in a NEAR_OP_FORK child */
#define SPAWN_END 3 /* in a NEAR_OP_SPAWN child: an exit request */

static int serve(struct pserver *s);

static int flush(struct pserver *s)
{
	unsigned long sent;
	int r;

	if (!s->out_n)
		return 0;
	r = pserver__send_all(s, s->out, s->out_n * sizeof s->out[0], &sent);
	if (r == 0)
		s->out_n = 0;
	return r;
}

static int push(struct pserver *s, int64_t ret)
{
	s->out[s->out_n++] = ret;
	return s->out_n == PSERVER_BATCH ? flush(s) : 0;
}

/* How long one blocking send may wait for a controller to read (see
 * pserver__send_all). */
#define SEND_WAIT_MS 50

/* Let blocking sends on fd give up after SEND_WAIT_MS (SO_SNDTIMEO; an
 * option of the socket, so it holds for every later send on it, and only
 * blocking ones care).  Returns: 0 or -errno. */
static int bound_sends(int fd)
{
	struct timeval tv = { 0, SEND_WAIT_MS * 1000 };

	return (int)near_syscall6(__NR_setsockopt, fd, SOL_SOCKET, SO_SNDTIMEO, (long)&tv,
				  sizeof tv, 0);
}

/* The first send never blocks: an answer nearly always fits.  When it
 * does not (a large READ_MEM, a controller behind on reading), the rest
 * goes out in blocking sends bounded by SO_SNDTIMEO, set then: the kernel
 * sleeps and resumes inside one syscall as the controller reads, where
 * MSG_DONTWAIT cost a failed send and a poll each time the socket buffer
 * filled (mem_inband_read_1MiB).  Only a send that stops short (timed out,
 * or cut by a takeover's SIGURG) is followed by a poll, which accepts
 * newcomers and sees a takeover: a controller that stops reading holds
 * the server in a send for at most SEND_WAIT_MS at a time. */
int pserver__send_all(struct pserver *s, const void *buf, unsigned long len,
		      unsigned long *sent)
{
	const char *p = buf;
	int flags = MSG_DONTWAIT | MSG_NOSIGNAL;

	*sent = 0;
	while (*sent < len) {
		long n = sys_send(s->conn_fd, p + *sent, len - *sent, flags);
		int w;

		if (n > 0)
			*sent += (unsigned long)n;
		else if (n < 0 && n != -EAGAIN && n != -EINTR)
			return (int)n;
		if (*sent == len)
			break;
		if ((flags & MSG_DONTWAIT) && bound_sends(s->conn_fd) == 0) {
			flags = MSG_NOSIGNAL; /* the rest in blocking sends */
			continue;
		}
		w = pserver__wait(s, POLLOUT);
		if (w < 0)
			return w;
	}
	return 0;
}

/* NEAR_OP_WRITE_MEM: len bytes follow; some may already be in s->in after
 * *off.  The payload is consumed whatever happens, so the stream stays in
 * step even when the address is bad. */
static int write_mem(struct pserver *s, unsigned *off, uint64_t addr,
		     uint64_t len)
{
	unsigned long have = s->in_len - *off, done;
	long err = 0;

	if (len > NEAR_PROTO_MEM_MAX)
		return -EMSGSIZE;
	if (have > len)
		have = (unsigned long)len;
	if (have) {
		long n = sys_copy_to(s->pid, (void *)CTL_ADDR(addr, have),
				     (char *)s->in + *off, have);
		if (n != (long)have)
			err = n < 0 ? n : -EFAULT;
		*off += (unsigned)have;
	}
	for (done = have; done < len;) {
		unsigned long want = (unsigned long)len - done;
		void *dst = (void *)CTL_ADDR(addr + done, want);
		long n;

		if (err) {
			dst = s->scratch;
			if (want > sizeof s->scratch)
				want = sizeof s->scratch;
		}
		n = sys_recv(s->conn_fd, dst, want, MSG_DONTWAIT);
		if (n > 0) {
			done += (unsigned long)n;
		} else if (n == 0) {
			return -EPIPE;
		} else if (n == -EAGAIN) {
			int w = pserver__wait(s, POLLIN);
			if (w < 0)
				return w;
		} else if (n == -EFAULT) {
			err = n; /* nothing consumed: drain the rest */
		} else if (n != -EINTR) {
			return (int)n;
		}
	}
	return push(s, err ? err : (int64_t)len);
}

/* NEAR_OP_READ_MEM: exactly len bytes (zeros past a fault), then the result. */
static int read_mem(struct pserver *s, uint64_t addr, uint64_t len)
{
	unsigned long sent = 0, pad;
	int r, err = 0;

	if (len > NEAR_PROTO_MEM_MAX)
		return -EMSGSIZE;
	r = flush(s); /* earlier answers go first */
	if (r < 0)
		return r;
	r = pserver__send_all(s, (const void *)CTL_ADDR(addr, len), (unsigned long)len, &sent);
	if (r == -EFAULT) {
		err = r;
		pserver__zero(s->scratch, sizeof s->scratch);
		for (; sent < len; sent += pad) {
			unsigned long n;
			pad = (unsigned long)len - sent;
			if (pad > sizeof s->scratch)
				pad = sizeof s->scratch;
			r = pserver__send_all(s, s->scratch, pad, &n);
			if (r < 0)
				return r;
		}
	} else if (r < 0) {
		return r;
	}
	return push(s, err ? err : (int64_t)len);
}

/* NEAR_OP_FORK: a child of the server that serves fd alone.  In the child
 * this returns FORKED, which unwinds to pserver_run: the rest of the
 * parent's batch is the parent's business, and the child's copies of the
 * parent's sockets are closed so it never reads or answers on them. */
static int fork_serve(struct pserver *s, int64_t fd)
{
	int type = 0;
	socklen_t len = sizeof type;
	long pid;

	if (fd < 0 || fd > INT32_MAX || fd == s->conn_fd || fd == s->listen_fd ||
	    fd == s->pending_fd)
		return push(s, -EBADF);
	if (near_syscall6(__NR_getsockopt, fd, SOL_SOCKET, SO_TYPE, (long)&type,
			  (long)&len, 0) < 0 || type != SOCK_STREAM)
		return push(s, -ENOTSOCK);
	pid = sys_executor6(__NR_clone, SIGCHLD, 0, 0, 0, 0, 0);
	if (pid != 0)
		return push(s, pid); /* the parent: the child's pid, or -errno */
	sys_close(s->conn_fd);
	if (s->listen_fd >= 0)
		sys_close(s->listen_fd);
	if (s->pending_fd >= 0)
		sys_close(s->pending_fd);
	s->conn_fd = (int)fd;
	s->listen_fd = -1;
	s->pending_fd = -1;
	s->in_len = 0;
	s->out_n = 0;
	s->last_epoch = 0;
	s->forked = 1;
	return FORKED;
}

/* What a NEAR_OP_SPAWN child runs on: its own loop state (the server's
 * stays untouched for when it resumes) and its own stack. */
struct spawn_area {
	struct pserver srv;
	unsigned char stack[64 * 1024];
};

/* The NEAR_OP_SPAWN child: answer the SPAWN with our pid, then serve the
 * connection until execve replaces us (the server learns it from end of
 * file on spawn_fd, which is close-on-exec) or something else ends us
 * (we say so on spawn_fd first: 'x', or 'f' when the stream is broken). */
/* Move fd of a spawn child's own table above the low numbers its setup
 * hands to the program (stdio, then named fds from 3 up, as sd_listen_fds
 * expects), so that a dup3 onto 3 + i never cuts the child off.
 * Returns: the new number, or fd where no higher one can be had. */
static int lift(int fd)
{
	static const long floors[] = { 900, 256, 64 };

	for (unsigned i = 0; i < sizeof floors / sizeof floors[0]; i++) {
		long n = near_syscall3(__NR_fcntl, fd, F_DUPFD_CLOEXEC, floors[i]);
		if (n >= 0) {
			sys_close(fd);
			return (int)n;
		}
	}
	return fd;
}

static int spawn_main(void *arg)
{
	struct pserver *s = arg;
	char how;
	int r;

	s->conn_fd = lift(s->conn_fd);
	s->spawn_fd = lift(s->spawn_fd);
	s->pid = (int)near_syscall0(__NR_getpid);
	r = push(s, s->pid);
	if (r == 0)
		r = pserver__run_batch(s); /* the setup pipelined behind the SPAWN */
	while (r == 0)
		r = serve(s);
	if (r == SPAWN_END)
		flush(s);
	how = r == -EMSGSIZE ? 'f' : 'x';
	near_syscall3(__NR_write, s->spawn_fd, (long)&how, 1);
	return 0;
}

/* NEAR_OP_SPAWN (see <near/proto.h>).  The requests after the SPAWN in
 * this batch are the child's: it takes them, and *off moves past them. */
static int spawn(struct pserver *s, unsigned *off)
{
	struct spawn_area *a;
	long n, pid;
	int p[2], r;
	char how = 0;

	if (s->spawned || s->forked)
		return push(s, -EINVAL); /* its children would not be the server's */
	r = flush(s); /* earlier answers go first */
	if (r < 0)
		return r;
	n = near_syscall6(__NR_mmap, 0, sizeof *a, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (n < 0)
		return push(s, n);
	a = (struct spawn_area *)n;
	n = near_syscall2(__NR_pipe2, (long)p, O_CLOEXEC);
	if (n < 0) {
		near_syscall2(__NR_munmap, (long)a, sizeof *a);
		return push(s, n);
	}
	pserver__copy(&a->srv, s, sizeof *s - sizeof s->in - sizeof s->out - sizeof s->scratch);
	a->srv.listen_fd = a->srv.pending_fd = -1; /* not the child's to touch */
	a->srv.on_state = 0;
	a->srv.spawned = 1;
	a->srv.spawn_fd = p[1];
	a->srv.out_n = 0;
	a->srv.in_len = s->in_len - *off;
	pserver__copy(a->srv.in, (unsigned char *)s->in + *off, a->srv.in_len);
	*off = s->in_len;
	/* The server sleeps inside clone until the child execs or ends: one
	 * process serves the connection at any time. */
	pid = near_clone(CLONE_VM | CLONE_VFORK | SIGCHLD, a->stack + sizeof a->stack,
			 spawn_main, &a->srv);
	sys_close(p[1]);
	if (pid >= 0) {
		/* Where vfork is a plain fork (valgrind), this is where we wait. */
		do
			n = near_syscall3(__NR_read, p[0], (long)&how, 1);
		while (n == -EINTR);
	}
	sys_close(p[0]);
	near_syscall2(__NR_munmap, (long)a, sizeof *a);
	if (pid < 0) {
		/* What follows the SPAWN was meant for a child and must not run
		 * here: answer, then hang up. */
		push(s, pid);
		flush(s);
		return -EPIPE;
	}
	if (n == 0)
		return push(s, 0); /* it execs: the execve's answer */
	/* It never ran a program: it is ours to reap, nobody else's (and a
	 * takeover's signal must not leave it a zombie). */
	while (near_syscall4(__NR_wait4, pid, 0, 0, 0) == -EINTR)
		;
	r = push(s, -ECHILD);
	if (how == 'f') {
		flush(s);
		return -EPIPE; /* the stream cannot be resynchronised */
	}
	return r;
}

/* NEAR_OP_SEND_FD: the answer carries a dup of fd as SCM_RIGHTS.  Earlier
 * answers go first, in their own write, so that the rights sit on exactly
 * this answer's bytes. */
static int send_fd(struct pserver *s, int64_t fd)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	int64_t ok = 0;
	struct iovec iov = { &ok, sizeof ok };
	struct msghdr mh;
	struct cmsghdr *cm;
	unsigned long sent;
	int r, nfd = (int)fd;
	long n;

	r = flush(s);
	if (r < 0)
		return r;
	if (fd < 0 || fd > INT32_MAX)
		return push(s, -EBADF);
	pserver__zero(&mh, sizeof mh);
	pserver__zero(&ctl, sizeof ctl);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl.buf;
	mh.msg_controllen = sizeof ctl.buf;
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	pserver__copy(CMSG_DATA(cm), &nfd, sizeof nfd);
	for (;;) {
		n = sys_sendmsg(s->conn_fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n == -EAGAIN) {
			int w = pserver__wait(s, POLLOUT);
			if (w < 0)
				return w;
			continue;
		}
		if (n != -EINTR)
			break;
	}
	if (n == -EBADF)
		return push(s, -EBADF); /* fd is not open: answered without rights */
	if (n < 0)
		return (int)n;
	/* The rights travelled with the first byte; send the rest plainly. */
	return pserver__send_all(s, (char *)&ok + n, sizeof ok - (unsigned long)n, &sent);
}

#ifndef PSERVER_FUZZ
/* One fd of a NEAR_OP_OWN_FDS answer. */
static int64_t own_fd(int fd, unsigned i)
{
	return fd < 0 || fd >= 0x1fffff ? 0 : (int64_t)(fd + 1) << (21 * i);
}
#endif

static int run_one(struct pserver *s, const struct near_request *q, unsigned *off)
{
	int r;

	switch (q->nr) {
	case NEAR_OP_WRITE_MEM:
		return write_mem(s, off, (uint64_t)q->args[0], (uint64_t)q->args[1]);
	case NEAR_OP_READ_MEM:
		return read_mem(s, (uint64_t)q->args[0], (uint64_t)q->args[1]);
	case NEAR_OP_TAKEOVER:
		/* Already served: nothing to take over. */
		return push(s, (int64_t)s->epoch);
#ifndef PSERVER_FUZZ
	/* Not under the fuzzer: they fork and pass fds for real (their tests
	 * are libtransport/tests/test_session.c); there they fall through to
	 * -ENOSYS below, as the fuzzer's model of the protocol expects. */
	case NEAR_OP_FORK:
		return fork_serve(s, q->args[0]);
	case NEAR_OP_SEND_FD:
		return send_fd(s, q->args[0]);
	case NEAR_OP_SPAWN:
		return spawn(s, off);
	case NEAR_OP_OWN_FDS:
		return push(s, own_fd(s->listen_fd, 0) | own_fd(s->conn_fd, 1) |
			       own_fd(s->pending_fd, 2));
#endif
	}
	/* Not a syscall: a negative number, or one wider than 32 bits, whose
	 * upper half the kernel would ignore (x86-64 and arm64 take the number
	 * as an int: 2^32 + __NR_kill would run kill). */
	if (q->nr < 0 || q->nr > INT32_MAX)
		return push(s, -ENOSYS);
	if (s->spawned && (q->nr == __NR_exit || q->nr == __NR_exit_group))
		return SPAWN_END; /* the server reaps us and answers */
	/* The server may never answer again after it (<near/proto.h>): send
	 * what is owed first, so a pipelined "write; exit" still gets the
	 * write's answer. */
	if (near_ends_connection(q->nr) && (r = flush(s)) < 0)
		return r;
	return push(s, sys_executor6(q->nr, q->args[0], q->args[1], q->args[2],
				     q->args[3], q->args[4], q->args[5]));
}

int pserver__run_batch(struct pserver *s)
{
	unsigned char *in = (unsigned char *)s->in;
	unsigned off = 0;

	while (s->in_len - off >= REQ_SIZE) {
		struct near_request q;
		int r;

		/* The buffer may be unaligned after a memory payload. */
		pserver__copy(&q, in + off, REQ_SIZE);
		off += REQ_SIZE;
		r = run_one(s, &q, &off);
		if (r == -EMSGSIZE || r == -EPIPE) {
			/* -EMSGSIZE: the payload cannot be skipped safely: answer
			 * and hang up.  -EPIPE: end of file inside a payload: send
			 * what is owed first, as at any other end of file.  If a
			 * takeover happens while that waits to be sent, conn_fd is
			 * already the new controller: serve it, do not hang up. */
			if (r == -EMSGSIZE)
				s->out[s->out_n++] = -EMSGSIZE;
			if (flush(s) == -ECONNABORTED)
				return -ECONNABORTED;
			return r == -EPIPE ? 1 : r;
		}
		if (r < 0 || r == FORKED || r == SPAWN_END)
			return r;
	}
	s->in_len -= off;
	pserver__copy(in, in + off, s->in_len);
	return 0;
}

/* Batches read without a poll before the server polls anyway: reading
 * first saves the poll whenever requests are already waiting (a pipeline,
 * or a controller on our CPU that sent its next request while we were
 * being preempted in the send), but only the poll accepts newcomers and
 * sees a takeover, so a controller that always keeps requests waiting
 * must not keep them out for longer than this many batches
 * (docs/design.md, decision 6). */
#define POLL_EVERY 16

/* Serve the current connection.  Returns: 1 at its end of file, 0 if another
 * controller took over (s->conn_fd is that one), FORKED in a NEAR_OP_FORK
 * child, -errno on a failure. */
static int serve(struct pserver *s)
{
	/* A controller just greeted (or whose takeover was just answered)
	 * has rarely sent anything yet: poll first. */
	unsigned unpolled = POLL_EVERY;

	for (;;) {
		long n;
		int r = flush(s);

		if (r == -ECONNABORTED)
			return 0;
		if (r < 0)
			return r;
		if (unpolled >= POLL_EVERY) {
			r = pserver__wait(s, POLLIN);
			if (r == -ECONNABORTED)
				return 0;
			if (r < 0)
				return r;
			unpolled = 0;
		}
		n = sys_recv(s->conn_fd, (char *)s->in + s->in_len,
			     IN_CAP - s->in_len, MSG_DONTWAIT);
		if (n == 0)
			return 1;
		if (n == -EAGAIN || n == -EINTR) {
			/* Nothing waiting: sleep in the poll (which accepts
			 * and honours takeovers meanwhile). */
			unpolled = POLL_EVERY;
			continue;
		}
		if (n < 0)
			return (int)n;
		unpolled++;
		s->in_len += (unsigned)n;
		r = pserver__run_batch(s);
		if (r == -ECONNABORTED)
			return 0;
		if (r)
			return r;
	}
}

/* Greet a connection we were handed rather than accepted: the one given
 * to pserver_run, or a NEAR_OP_FORK child's.  The pid is read here, not in
 * pserver_init: a CLONE_VM or forked child has its own. */
static void greet(struct pserver *s)
{
	s->pid = (int)near_syscall0(__NR_getpid);
	if (s->conn_fd < 0)
		return;
	s->epoch = ++s->last_epoch;
	if (pserver__hello(s, s->conn_fd, s->epoch, 0, 0, 0) < 0) {
		sys_close(s->conn_fd);
		s->conn_fd = -1;
	}
}

int pserver_run(struct pserver *s)
{
	greet(s);
	for (;;) {
		int r;

		if (s->conn_fd < 0) {
			r = pserver__next_conn(s);
			if (r == -ENOTCONN && s->forked)
				near_syscall1(__NR_exit_group, 0);
			if (r == -ENOTCONN)
				return 0;
			if (r < 0)
				return r;
		} else if (s->on_state) {
			s->on_state(s, PSERVER_SERVING);
		}
		r = serve(s);
		if (r == FORKED) {
			greet(s);
			continue;
		}
		if (r != 0) {
			/* End of file or a broken connection: wait for the next. */
			sys_close(s->conn_fd);
			s->conn_fd = -1;
			s->in_len = 0;
			s->out_n = 0;
		}
	}
}

int pserver_clone_main(void *s)
{
	return pserver_run(s);
}
