// SPDX-License-Identifier: MIT
/* All three controller layers together, against the two kinds of remote:
 * a real persist-server process (transport_connect) and a CLONE_VM child of
 * this test running pserver_clone_main on a socketpair (transport_attach).
 * Tasks are libhandle tasks whose sysif is the libtransport connection;
 * their paths and scratch buffers are remote memory from transport_alloc;
 * identities are checked with libfar (kcmp, /proc/PID/ns).  What the remote
 * holds is read from /proc/PID/fd by this process, never taken on trust. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/kcmp.h>
#include <linux/sched.h>
#include <near/syscall.h>
#include <pserver/pserver.h>
#include <far/far.h>
#include <handle/handle.h>
#include <transport/conn.h>
#include <transport/mem.h>
#include "harness.h"

#define STACK_SIZE (256 * 1024)
#define TIMEOUT_MS 20000
#define MAXBASE 64
#define LIVE 32

/* The server's child started by vfork_child, until it is reaped: if a test
 * fails on the way, the teardown kills it (it would otherwise outlive the
 * server, idle on its copy of the listening socket, or keep the server
 * waiting inside clone3). */
static int server_child;

/* The CLONE_VM child running now, for clone_teardown after a failure (a
 * CLONE_FILES child would never see end of file: it shares our end). */
static pid_t vm_child;

static int clone_teardown(void **state)
{
	(void)state;
	if (vm_child > 0) {
		kill(vm_child, SIGKILL);
		waitpid(vm_child, NULL, 0);
	}
	vm_child = 0;
	return 0;
}

static int under_valgrind(void)
{
	return getenv("PERSIST_VALGRIND") != NULL;
}

/* ---- what the kernel says about a process's fd table ---------------- */

/* Entries of /proc/PID/fd; fds (if not NULL) gets up to max of them. */
static int list_fds(int pid, int *fds, int max)
{
	char path[64];
	struct dirent *d;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof path, "/proc/%d/fd", pid);
	dir = opendir(path);
	assert_non_null(dir);
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		if (fds && n < max)
			fds[n] = atoi(d->d_name);
		n++;
	}
	closedir(dir);
	return n;
}

static int count_fds(int pid)
{
	return list_fds(pid, NULL, 0);
}

/* What fd of pid refers to ("" if it is not open). */
static const char *fd_target(int pid, int fd)
{
	static char buf[256];
	char path[64];
	ssize_t n;

	snprintf(path, sizeof path, "/proc/%d/fd/%d", pid, fd);
	n = readlink(path, buf, sizeof buf - 1);
	buf[n < 0 ? 0 : n] = 0;
	return buf;
}

/* The state letter of /proc/PID/stat, or 0 if there is no such process. */
static int proc_state(int pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')'); /* after the command name, which may hold spaces */
	return p && p[1] == ' ' ? p[2] : 0;
}

static int fd_open_in(int pid, int fd)
{
	return fd_target(pid, fd)[0] != 0;
}

/* ---- remote memory ---------------------------------------------------- */

/* len bytes from transport_alloc, as a pointer of t's address space. */
static struct handle_ptr ralloc(struct transport_conn *c, struct handle_task *t, size_t len)
{
	struct handle_ptr p;
	uint64_t a;

	assert_int_equal(transport_alloc(c, len, &a), 0);
	assert_int_equal(handle_ptr_init(&p, t, a, len), 0);
	return p;
}

/* A NUL-terminated copy of s in remote memory. */
static struct handle_ptr rstr(struct transport_conn *c, struct handle_task *t, const char *s)
{
	struct handle_ptr p = ralloc(c, t, strlen(s) + 1);

	assert_int_equal(transport_write_mem(c, p.addr, s, strlen(s) + 1), 0);
	return p;
}

/* ---- a real persist-server process ------------------------------------ */

struct remote {
	struct server srv;
	struct transport_conn *conn;
	struct handle_task t;
	struct handle_fd base[MAXBASE]; /* what the server had: kept from GC */
	int nbase, count0;
	int listen_fd, conn_fd; /* the server's listening socket, our connection */
	struct handle_ptr path, scratch;
};

/* Is sock the server's listening socket (SO_ACCEPTCONN), or the connection
 * whose peer is this process (SO_PEERCRED)?  Asked through the wrappers,
 * with remote memory. */
static void identify_socket(struct remote *r, const struct handle_fd *sock)
{
	struct handle_ptr val, len = r->scratch;
	struct ucred cred;
	socklen_t n = sizeof cred;
	int on = 0;

	handle_ptr_slice(&len, &r->scratch, 0, sizeof n);
	handle_ptr_slice(&val, &r->scratch, 16, sizeof cred);
	assert_int_equal(handle_ptr_write(&len, &r->t, 0, &n, sizeof n), 0);
	assert_int_equal(handle_getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &val, &len), 0);
	assert_int_equal(handle_ptr_read(&val, &r->t, 0, &cred, sizeof cred), 0);
	n = sizeof on;
	assert_int_equal(handle_ptr_write(&len, &r->t, 0, &n, sizeof n), 0);
	assert_int_equal(handle_getsockopt(sock, SOL_SOCKET, SO_ACCEPTCONN, &val, &len), 0);
	assert_int_equal(handle_ptr_read(&val, &r->t, 0, &on, sizeof on), 0);
	if (on)
		r->listen_fd = sock->fd;
	else if (cred.pid == getpid())
		r->conn_fd = sock->fd;
}

static int remote_setup(void **state)
{
	struct remote *r = calloc(1, sizeof *r);
	int fds[MAXBASE];
	char why[160] = "";
	int e;

	assert_non_null(r);
	e = server_start(&r->srv, NULL);
	if (e < 0) {
		fprintf(stderr, "cannot start %s: %d\n", server_exe(), e);
		free(r);
		return -1;
	}
	e = transport_connect(r->srv.path, TIMEOUT_MS, &r->conn, why, sizeof why);
	if (e < 0)
		fail_msg("transport_connect %s: %d (%s)", r->srv.path, e, why);
	transport_set_timeout(r->conn, TIMEOUT_MS);
	/* The server's pid as we see it: it is our child. */
	assert_int_equal(handle_task_init(&r->t, transport_sysif(r->conn), r->srv.pid), 0);
	/* One answered call: we are being served, so the connection is the
	 * server's conn fd and server_start's probe connection is gone. */
	assert_int_equal(handle_getpid(&r->t), r->srv.pid);
	/* Adopt what the server holds now (stdio, its listening socket, our
	 * connection; valgrind's own fds too when it runs under valgrind),
	 * so that a GC leaves them alone. */
	r->nbase = list_fds(r->srv.pid, fds, MAXBASE);
	assert_true(r->nbase <= MAXBASE);
	r->path = rstr(r->conn, &r->t, "/dev/null");
	r->scratch = ralloc(r->conn, &r->t, 8192);
	r->listen_fd = r->conn_fd = -1;
	for (int i = 0; i < r->nbase; i++) {
		assert_int_equal(handle_fd_adopt(&r->base[i], &r->t, fds[i]), 0);
		if (strncmp(fd_target(r->srv.pid, fds[i]), "socket:", 7) == 0)
			identify_socket(r, &r->base[i]);
	}
	/* Both found, by asking the server's own sockets (getsockopt). */
	assert_true(r->listen_fd >= 0 && r->conn_fd >= 0);
	r->count0 = r->nbase;
	*state = r;
	return 0;
}

/* HANDLES: a handle links into its task's list, and the teardown's
 * handle_task_close walks that list.  A failed assert leaves the test's
 * frame, so handles of the fixture's task live in static storage, never on
 * the stack.  Processes go first, so that nothing outlives a crash here. */
static int remote_teardown(void **state)
{
	struct remote *r = *state;

	if (server_child > 0)
		kill(server_child, SIGKILL);
	server_child = 0;
	clone_teardown(state);
	server_stop(&r->srv);
	handle_task_close(&r->t);
	transport_close(r->conn);
	free(r);
	return 0;
}

/* The server as a task: its identity, its table, its address space. */
static void server_task_identity(void **state)
{
	struct remote *r = *state;
	struct far_ns ours;

	assert_int_equal(transport_hello(r->conn)->pid, r->srv.pid);
	assert_int_equal(handle_getppid(&r->t), getpid());
	assert_int_equal(handle_task_is_local(&r->t), 0);
	assert_int_equal(far_fd_table_check(handle_task_fd_table(&r->t), r->srv.pid), 0);
	assert_int_equal(far_fd_table_check(handle_task_fd_table(&r->t), getpid()), -EXDEV);
	assert_int_equal(far_address_space_check(&r->t.as, r->srv.pid), 0);
	assert_int_equal(far_address_space_check(&r->t.as, getpid()), -EXDEV);
	assert_int_equal(far_ns_of(0, FAR_NS_PID, &ours), 0);
	assert_true(far_ns_equal(&ours, &r->t.pidns));
	assert_int_not_equal(transport_mem_kind(r->conn), TRANSPORT_MEM_LOCAL);
}

/* Ownership rules over fds of the remote table. */
static void ownership_over_remote(void **state)
{
	struct remote *r = *state;
	struct near_local_sysif ls;
	struct handle_task t2, self;
	static struct handle_fd a, b, c, d, x, pp[2]; /* static: see HANDLES */
	struct handle_ptr pair = ralloc(r->conn, &r->t, 8), buf = ralloc(r->conn, &r->t, 64);
	static const char msg[] = "through a remote pipe";
	char back[sizeof msg];
	int pid = r->srv.pid;

	/* A second task record of the same server: same table. */
	assert_int_equal(handle_task_init_child(&t2, &r->t, transport_sysif(r->conn), pid,
						CLONE_FILES | CLONE_VM), 0);
	assert_true(handle_task_same_files(&t2, &r->t));
	/* And this process, a task of another table and address space. */
	assert_int_equal(handle_task_init(&self, near_local_sysif_init(&ls), 0), 0);

	assert_int_equal(handle_openat(&a, &r->t, NULL, &r->path, O_RDONLY | O_CLOEXEC, 0), 0);
	assert_string_equal(fd_target(pid, a.fd), "/dev/null");
	assert_int_equal(handle_fd_adopt(&x, &r->t, a.fd), -EEXIST);
	/* Two handles: close is refused and changes nothing. */
	assert_int_equal(handle_fd_for_task(&b, &a, &t2), 0);
	assert_int_equal(handle_fd_refs(&a), 2);
	assert_int_equal(handle_fd_close(&a), -EBUSY);
	assert_int_equal(handle_fd_close(&b), -EBUSY);
	assert_true(fd_open_in(pid, a.fd));
	/* Another table: for_task and move refuse, the source stays valid. */
	assert_int_equal(handle_fd_for_task(&x, &a, &self), -EXDEV);
	assert_int_equal(handle_fd_move(&x, &b, &self), -EXDEV);
	assert_true(handle_fd_valid(&b));
	/* A wrapper given a remote fd and a local task: refused, not run. */
	assert_int_equal(handle_openat(&x, &self, &a, &r->path, O_RDONLY, 0), -EXDEV);
	/* Invalidating one of two keeps the fd; the last one closes it. */
	assert_int_equal(handle_fd_invalidate(&a), 0);
	assert_false(handle_fd_valid(&a));
	assert_true(fd_open_in(pid, b.fd));
	assert_int_equal(handle_fd_refs(&b), 1);
	assert_int_equal(handle_fd_move(&c, &b, &r->t), 0);
	assert_false(handle_fd_valid(&b));
	assert_int_equal(handle_fd_close(&b), -EBADF);
	assert_int_equal(handle_dup(&d, &c, O_CLOEXEC), 0);
	assert_string_equal(fd_target(pid, d.fd), "/dev/null");
	{
		int n = c.fd;
		assert_int_equal(handle_fd_invalidate(&c), 0);
		assert_false(fd_open_in(pid, n));
	}
	assert_int_equal(handle_fd_close(&d), 0);

	/* Data through a remote pipe, in and out of remote memory. */
	assert_int_equal(handle_pipe2(pp, &r->t, &pair, O_CLOEXEC), 0);
	assert_int_equal(transport_write_mem(r->conn, buf.addr, msg, sizeof msg), 0);
	{
		struct handle_ptr m;
		assert_int_equal(handle_ptr_slice(&m, &buf, 0, sizeof msg), 0);
		assert_int_equal(handle_write(&pp[1], &m), sizeof msg);
		assert_int_equal(transport_write_mem(r->conn, buf.addr, "xxxx", 4), 0);
		assert_int_equal(handle_read(&pp[0], &m), sizeof msg);
	}
	assert_int_equal(handle_ptr_read(&buf, &r->t, 0, back, sizeof back), 0);
	assert_memory_equal(back, msg, sizeof msg);
	assert_int_equal(handle_fd_close(&pp[0]), 0);
	assert_int_equal(handle_fd_close(&pp[1]), 0);

	assert_int_equal(count_fds(pid), r->count0);
	handle_task_close(&t2);
	handle_task_close(&self);
}

/* GC of the remote table closes exactly what no handle owns; the server's
 * own sockets, adopted at setup, survive it. */
static void gc_of_remote_table(void **state)
{
	struct remote *r = *state;
	struct near_local_sysif ls;
	struct handle_task self;
	static struct handle_fd h[3]; /* static: see HANDLES */
	struct handle_ptr small, other;
	static char local_scratch[4096];
	int pid = r->srv.pid, loose[4], i;
	uint64_t at;

	for (i = 0; i < 3; i++)
		assert_int_equal(handle_openat(&h[i], &r->t, NULL, &r->path, O_RDONLY, 0), 0);
	assert_int_equal(handle_ptr_addr(&r->path, &r->t, 1, &at), 0);
	for (i = 0; i < 4; i++) {
		loose[i] = (int)transport_syscall(r->conn, __NR_openat, AT_FDCWD, (int64_t)at,
						  O_RDONLY, 0, 0, 0);
		assert_true(loose[i] >= 0);
	}
	assert_int_equal(handle_fd_close(&h[1]), 0); /* owned and unowned interleave */
	assert_int_equal(count_fds(pid), r->count0 + 2 + 4);

	/* Scratch that is too small, local to us, or missing: refused. */
	assert_int_equal(handle_ptr_slice(&small, &r->scratch, 0, 100), 0);
	assert_int_equal(handle_fd_table_gc(&r->t, &small), -EFAULT);
	assert_int_equal(handle_task_init(&self, near_local_sysif_init(&ls), 0), 0);
	assert_int_equal(handle_ptr_local(&other, &self, local_scratch, sizeof local_scratch), 0);
	assert_int_equal(handle_fd_table_gc(&r->t, &other), -EXDEV);
	assert_int_equal(handle_fd_table_gc(&r->t, NULL), -EXDEV);
	handle_task_close(&self);
	assert_int_equal(count_fds(pid), r->count0 + 2 + 4);

	assert_int_equal(handle_fd_table_gc(&r->t, &r->scratch), 4);
	for (i = 0; i < 4; i++)
		assert_false(fd_open_in(pid, loose[i]));
	assert_true(fd_open_in(pid, h[0].fd) && fd_open_in(pid, h[2].fd));
	for (i = 0; i < r->nbase; i++)
		assert_true(fd_open_in(pid, r->base[i].fd));
	assert_true(fd_open_in(pid, r->listen_fd) && fd_open_in(pid, r->conn_fd));
	assert_int_equal(count_fds(pid), r->count0 + 2);
	assert_int_equal(handle_fd_table_gc(&r->t, &r->scratch), 0);
	assert_int_equal(handle_fd_close(&h[0]), 0);
	assert_int_equal(handle_fd_close(&h[2]), 0);
	assert_int_equal(count_fds(pid), r->count0);

	/* Our connection still works, and so does the listening socket: a
	 * second controller is accepted (and told the server is busy). */
	assert_int_equal(handle_getpid(&r->t), pid);
	{
		struct transport_conn *c2;
		char why[160];
		int e = transport_connect(r->srv.path, TIMEOUT_MS, &c2, why, sizeof why);
		if (e < 0)
			fail_msg("second connect: %d (%s)", e, why);
		assert_true(transport_hello(c2)->flags & NEAR_HELLO_BUSY);
		transport_close(c2);
	}
	assert_int_equal(handle_getpid(&r->t), pid);
}

/* ---- CLONE_VM children of this test ------------------------------------ */

struct child {
	struct pserver srv;
	void *stack;
	pid_t pid;
};

static void child_start(struct child *ch, int conn_fd, unsigned long flags)
{
	assert_int_equal(pserver_init(&ch->srv), 0);
	ch->srv.conn_fd = conn_fd;
	ch->srv.listen_fd = -1;
	ch->stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	assert_true(ch->stack != MAP_FAILED);
	ch->pid = (pid_t)near_clone(CLONE_VM | flags | SIGCHLD, (char *)ch->stack + STACK_SIZE,
				    pserver_clone_main, &ch->srv);
	assert_true(ch->pid > 0);
	vm_child = ch->pid;
}

/* The test is the child's parent: a child handle with the test itself as
 * the parent task.  Waits for the exit (the loop returns 0 at EOF),
 * through the pidfd first, then waitid with WNOWAIT, then for real. */
static void child_reap(struct child *ch, struct handle_task *self, struct handle_child *hc)
{
	static siginfo_t si;
	struct handle_ptr ip;
	struct pollfd p;

	assert_int_equal(handle_ptr_local(&ip, self, &si, sizeof si), 0);
	if (hc->pidfd >= 0) {
		p = (struct pollfd){ hc->pidfd, POLLIN, 0 };
		assert_int_equal(poll(&p, 1, TIMEOUT_MS), 1);
	}
	memset(&si, 0, sizeof si);
	assert_int_equal(handle_child_waitid(hc, &ip, WEXITED | WNOWAIT), 0);
	assert_int_equal(si.si_pid, ch->pid);
	assert_int_equal(si.si_code, CLD_EXITED);
	assert_int_equal(si.si_status, 0);
	assert_false(hc->reaped);
	assert_int_equal(handle_child_waitid(hc, &ip, WEXITED), 0);
	assert_true(hc->reaped);
	vm_child = 0;
	assert_int_equal(handle_child_waitid(hc, &ip, WEXITED), -ECHILD);
	assert_int_equal(handle_child_signal(hc, 0), -ESRCH);
	handle_child_close(hc);
	munmap(ch->stack, STACK_SIZE);
}


/* A CLONE_VM child (its own copy of our fd table, made at clone time)
 * serving one end of a socketpair: self is this process, ct the child as a
 * task made from it. */
struct vm {
	struct child ch;
	struct near_local_sysif ls;
	struct handle_task self, ct;
	struct handle_child hc;
	struct handle_fd s0;     /* self: our end; the connection closes it */
	struct handle_fd conn_h; /* ct: its serving end, inherited */
	struct transport_conn *conn;
	int sv[2];
};

static void vm_start(struct vm *v)
{
	struct handle_task wrong;
	struct handle_fd s1, c0;
	char why[160] = "";
	int e;

	assert_int_equal(handle_task_init(&v->self, near_local_sysif_init(&v->ls), 0), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, v->sv), 0);
	/* Owned before the clone, so that the child's copies can be inherited. */
	assert_int_equal(handle_fd_adopt(&v->s0, &v->self, v->sv[0]), 0);
	assert_int_equal(handle_fd_adopt(&s1, &v->self, v->sv[1]), 0);
	child_start(&v->ch, v->sv[1], 0);
	assert_int_equal(handle_child_init(&v->hc, &v->self, v->ch.pid), 0);
	e = transport_attach(v->sv[0], TIMEOUT_MS, &v->conn, why, sizeof why);
	if (e < 0)
		fail_msg("transport_attach: %d (%s)", e, why);
	transport_set_timeout(v->conn, TIMEOUT_MS);
	assert_int_equal(transport_hello(v->conn)->pid, v->ch.pid);
	/* kcmp confirms what the clone flags say, and refuses a false claim. */
	assert_int_equal(handle_task_init_child(&wrong, &v->self, transport_sysif(v->conn),
						v->ch.pid, CLONE_VM | CLONE_FILES), -EXDEV);
	assert_int_equal(handle_task_init_child(&v->ct, &v->self, transport_sysif(v->conn),
						v->ch.pid, CLONE_VM), 0);
	assert_false(handle_task_same_files(&v->ct, &v->self));
	assert_int_equal(handle_task_is_local(&v->ct), 1);
	assert_int_equal(transport_mem_kind(v->conn), TRANSPORT_MEM_LOCAL);
	assert_int_equal(far_fd_table_check(handle_task_fd_table(&v->ct), v->ch.pid), 0);
	assert_int_equal(far_fd_table_check(handle_task_fd_table(&v->self), v->ch.pid), -EXDEV);
	/* Its copies of both ends: it keeps the one it serves, and closes
	 * ours through the connection (or it would never see end of file). */
	assert_int_equal(handle_fd_inherit(&v->conn_h, &s1, &v->ct), 0);
	assert_int_equal(handle_fd_inherit(&c0, &v->s0, &v->ct), 0);
	assert_true(fd_open_in(v->ch.pid, v->sv[0]));
	assert_int_equal(handle_fd_close(&c0), 0);
	assert_false(fd_open_in(v->ch.pid, v->sv[0]));
	assert_true(fcntl(v->sv[0], F_GETFD) >= 0);
	/* Our copy of its end goes; closing it here leaves the child's. */
	assert_int_equal(handle_fd_close(&s1), 0);
	assert_true(fd_open_in(v->ch.pid, v->sv[1]));
	assert_int_equal(handle_getpid(&v->ct), v->ch.pid);
}

static void vm_stop(struct vm *v)
{
	handle_task_close(&v->ct);
	transport_close(v->conn); /* EOF: the loop returns 0 */
	child_reap(&v->ch, &v->self, &v->hc);
	handle_task_close(&v->self); /* drops s0 without closing: already closed */
}

/* The CLONE_VM child through all three layers: its table collected down to
 * its connection, our memory used in it, an unshare that keeps it exact. */
static void clone_child_through_layers(void **state)
{
	static struct vm v; /* the child writes into v.ch.srv: keep it off our stack */
	static char local_path[] = "/dev/null";
	struct handle_fd h;
	struct handle_ptr path, scratch, lp;
	int pid, before, self_before;
	int64_t loose;

	(void)state;
	if (under_valgrind())
		skip(); /* valgrind cannot run a CLONE_VM child that is not a thread */
	memset(&v, 0, sizeof v);
	vm_start(&v);
	pid = v.ch.pid;
	assert_int_equal(handle_getppid(&v.ct), getpid());

	/* GC: the child holds a copy of everything we had open at the clone;
	 * it keeps its connection only, and our table does not change. */
	path = rstr(v.conn, &v.ct, "/dev/null");
	scratch = ralloc(v.conn, &v.ct, 8192);
	self_before = count_fds(getpid());
	before = count_fds(pid);
	assert_int_equal(handle_fd_table_gc(&v.ct, &scratch), before - 1);
	assert_int_equal(count_fds(pid), 1);
	assert_true(fd_open_in(pid, v.conn_h.fd));
	assert_int_equal(count_fds(getpid()), self_before);
	assert_int_equal(handle_fd_table_gc(&v.ct, NULL), 0); /* local: no scratch needed */

	/* The address space is ours: transport_alloc'd memory is readable
	 * here, and our memory is a valid argument there. */
	assert_string_equal((const char *)(uintptr_t)path.addr, "/dev/null");
	assert_int_equal(handle_ptr_local(&lp, &v.ct, local_path, sizeof local_path), 0);
	assert_int_equal(handle_openat(&h, &v.ct, NULL, &lp, O_RDONLY, 0), 0);
	assert_string_equal(fd_target(pid, h.fd), "/dev/null");
	assert_int_equal(count_fds(pid), 2);

	/* unshare_files where the table is already the child's own: the
	 * kernel keeps the table, the handles keep it exact. */
	loose = transport_syscall(v.conn, __NR_openat, AT_FDCWD, (int64_t)path.addr, O_RDONLY,
				  0, 0, 0);
	assert_true(loose >= 0);
	assert_int_equal(count_fds(pid), 3);
	assert_int_equal(handle_task_unshare_files(&v.ct), 0);
	assert_false(fd_open_in(pid, (int)loose));
	assert_int_equal(count_fds(pid), 2);
	assert_int_equal(far_fd_table_check(handle_task_fd_table(&v.ct), pid), 0);
	assert_int_equal(handle_fd_close(&h), 0);
	assert_int_equal(count_fds(pid), 1);
	assert_int_equal(handle_getpid(&v.ct), pid);
	vm_stop(&v);
}

/* A CLONE_VM | CLONE_FILES child shares our table until unshare_files:
 * then it has a table of its own holding exactly its handles' fds, and
 * ours is untouched. */
static void clone_files_child_unshares(void **state)
{
	static struct child ch;
	static char local_path[] = "/dev/null";
	struct near_local_sysif ls;
	struct handle_task self, ct;
	struct handle_child hc;
	struct handle_fd s1, conn_h, h;
	struct transport_conn *conn;
	struct handle_ptr lp;
	char why[160] = "";
	int sv[2], pid, loose, e;

	(void)state;
	if (under_valgrind())
		skip(); /* valgrind cannot run a CLONE_VM child that is not a thread */
	assert_int_equal(handle_task_init(&self, near_local_sysif_init(&ls), 0), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(handle_fd_adopt(&s1, &self, sv[1]), 0);
	child_start(&ch, sv[1], CLONE_FILES);
	pid = ch.pid;
	assert_int_equal(handle_child_init(&hc, &self, pid), 0);
	e = transport_attach(sv[0], TIMEOUT_MS, &conn, why, sizeof why);
	if (e < 0)
		fail_msg("transport_attach: %d (%s)", e, why);
	transport_set_timeout(conn, TIMEOUT_MS);
	assert_int_equal(handle_task_init_child(&ct, &self, transport_sysif(conn), pid,
						CLONE_VM | CLONE_FILES), 0);
	assert_true(handle_task_same_files(&ct, &self));
	assert_int_equal(far_fd_table_check(handle_task_fd_table(&self), pid), 0);
	assert_int_equal(far_kcmp_same(getpid(), pid, KCMP_FILES), 0);

	/* The child owns its serving socket; one fd opened through it; one
	 * opened here that nobody owns.  One table: all are visible here. */
	assert_int_equal(handle_fd_move(&conn_h, &s1, &ct), 0);
	assert_int_equal(handle_ptr_local(&lp, &ct, local_path, sizeof local_path), 0);
	assert_int_equal(handle_openat(&h, &ct, NULL, &lp, O_RDONLY | O_CLOEXEC, 0), 0);
	assert_true(fcntl(h.fd, F_GETFD) >= 0);
	loose = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(loose >= 0 && fd_open_in(pid, loose));

	assert_int_equal(handle_task_unshare_files(&ct), 0);
	assert_false(handle_task_same_files(&ct, &self));
	assert_int_equal(far_fd_table_check(handle_task_fd_table(&self), pid), -EXDEV);
	assert_int_equal(far_fd_table_check(handle_task_fd_table(&ct), pid), 0);
	assert_int_equal(far_kcmp_same(getpid(), pid, KCMP_FILES), 1);
	/* Its new table: its connection and h, nothing else (not our end of
	 * the socketpair, not our stdio, not loose). */
	assert_int_equal(count_fds(pid), 2);
	assert_true(fd_open_in(pid, conn_h.fd) && fd_open_in(pid, h.fd));
	assert_false(fd_open_in(pid, loose));
	assert_false(fd_open_in(pid, sv[0]));
	/* Ours: all still there (the handles went with the child's table). */
	assert_true(fcntl(loose, F_GETFD) >= 0 && fcntl(h.fd, F_GETFD) >= 0);
	assert_true(fcntl(sv[0], F_GETFD) >= 0 && fcntl(sv[1], F_GETFD) >= 0);
	close(loose);
	close(h.fd);
	close(sv[1]);
	assert_int_equal(handle_fd_close(&h), 0); /* the child's copy */
	assert_int_equal(count_fds(pid), 1);
	assert_int_equal(handle_getpid(&ct), pid);

	handle_task_close(&ct);
	transport_close(conn);
	child_reap(&ch, &self, &hc);
	handle_task_close(&self);
}

/* Pointers name one address space: the server's, and ours, which the
 * CLONE_VM child shares. */
static void pointers_refuse_other_address_spaces(void **state)
{
	static struct vm v;
	static char local[64] = "local memory";
	struct remote *r = *state;
	struct handle_ptr sp = ralloc(r->conn, &r->t, 64), lp, cp, sl;
	static struct handle_fd rf, x; /* static: see HANDLES */
	char back[64];

	assert_int_equal(handle_ptr_write(&sp, &r->t, 0, "server memory", 14), 0);
	assert_int_equal(handle_ptr_read(&sp, &r->t, 0, back, 14), 0);
	assert_string_equal(back, "server memory");
	assert_int_equal(handle_ptr_local(&lp, &r->t, local, sizeof local), -EXDEV);
	assert_int_equal(handle_ptr_slice(&sl, &sp, 60, 8), -EFAULT);
	assert_int_equal(handle_ptr_read(&sp, &r->t, 60, back, 8), -EFAULT);
	assert_int_equal(handle_openat(&rf, &r->t, NULL, &r->path, O_RDONLY, 0), 0);

	if (under_valgrind()) {
		/* No CLONE_VM child: this process is the other address space. */
		struct near_local_sysif ls;
		struct handle_task self;
		assert_int_equal(handle_task_init(&self, near_local_sysif_init(&ls), 0), 0);
		assert_int_equal(handle_ptr_read(&sp, &self, 0, back, 8), -EXDEV);
		assert_int_equal(handle_ptr_local(&lp, &self, local, sizeof local), 0);
		assert_int_equal(handle_read(&rf, &lp), -EXDEV);
		handle_task_close(&self);
	} else {
		memset(&v, 0, sizeof v);
		vm_start(&v);
		assert_int_equal(handle_ptr_read(&sp, &v.ct, 0, back, 8), -EXDEV);
		assert_int_equal(handle_ptr_write(&sp, &v.ct, 0, "x", 1), -EXDEV);
		/* ours is the child's: by kcmp, and by the identity it shares */
		assert_int_equal(handle_ptr_local(&lp, &v.ct, local, sizeof local), 0);
		assert_int_equal(handle_ptr_read(&lp, &v.ct, 0, back, 13), 0);
		assert_string_equal(back, "local memory");
		assert_int_equal(handle_ptr_local(&lp, &v.self, local, sizeof local), 0);
		assert_int_equal(handle_ptr_write(&lp, &v.ct, 0, "LOCAL", 5), 0);
		assert_memory_equal(local, "LOCAL memory", 13);
		assert_int_equal(handle_ptr_read(&lp, &r->t, 0, back, 8), -EXDEV);
		assert_int_equal(handle_read(&rf, &lp), -EXDEV);
		/* memory the child's connection allocated is ours too, not the server's */
		cp = rstr(v.conn, &v.ct, "/dev/null");
		assert_int_equal(handle_openat(&x, &r->t, NULL, &cp, O_RDONLY, 0), -EXDEV);
		assert_int_equal(handle_read(&rf, &cp), -EXDEV);
		assert_int_equal(handle_openat(&x, &v.ct, NULL, &sp, O_RDONLY, 0), -EXDEV);
		vm_stop(&v);
	}
	assert_int_equal(handle_fd_close(&rf), 0);
	assert_int_equal(count_fds(r->srv.pid), r->count0);
}

/* ---- a child of the remote ---------------------------------------------
 * The server runs clone3(CLONE_VFORK, exit_signal SIGCHLD).  A plain fork
 * would leave two server loops reading one socket; with CLONE_VFORK the
 * server stays inside clone3 until the child execs or exits, so exactly one
 * process serves the connection at any time: first the child (its answer
 * to clone3 is 0; it runs the requests that follow), then, once the child
 * has exec'd or exited, the server again, whose answer (the child's pid)
 * arrives as the result of that execve or exit.  Only syscalls go to the
 * child: memory transfers would reach the server's pid.  valgrind turns
 * CLONE_VFORK into a plain fork, so this skips under valgrind. */

/* clone_args for a vfork-style child, in t's memory (VER0 size). */
static struct handle_ptr vfork_args(struct transport_conn *c, struct handle_task *t)
{
	struct clone_args ca = { .flags = CLONE_VFORK, .exit_signal = SIGCHLD };
	struct handle_ptr p = ralloc(c, t, CLONE_ARGS_SIZE_VER0);

	assert_int_equal(transport_write_mem(c, p.addr, &ca, CLONE_ARGS_SIZE_VER0), 0);
	return p;
}

/* Run the vfork-style clone3 in t; the connection now talks to the child,
 * recorded in *ct.  Returns: its pid. */
static int vfork_child(struct transport_conn *c, struct handle_task *t,
		       const struct handle_ptr *args, struct handle_task *ct)
{
	struct handle_task wrong;
	int64_t pid;

	assert_int_equal(handle_clone3(t, args), 0); /* the child's answer */
	pid = transport_syscall(c, __NR_getpid, 0, 0, 0, 0, 0, 0);
	assert_true(pid > 0 && pid != t->pid);
	server_child = (int)pid;
	assert_int_equal(transport_syscall(c, __NR_getppid, 0, 0, 0, 0, 0, 0), t->pid);
	assert_int_equal(handle_task_init_child(&wrong, t, t->sysif, (int)pid, CLONE_FILES),
			 -EXDEV);
	assert_int_equal(handle_task_init_child(ct, t, t->sysif, (int)pid, 0), 0);
	assert_int_equal(far_fd_table_check(handle_task_fd_table(t), (int)pid), -EXDEV);
	assert_int_equal(far_address_space_check(&t->as, (int)pid), -EXDEV);
	return (int)pid;
}

static siginfo_t read_siginfo(struct remote *r, const struct handle_ptr *infop)
{
	siginfo_t si;

	assert_int_equal(handle_ptr_read(infop, &r->t, 0, &si, sizeof si), 0);
	return si;
}

/* The remote starts a child: inherited fds used there, a pointer of the
 * parent's address space refused there, execve; then a child handle for it
 * (pidfd in this process, waitid in the server): WNOHANG, a signal through
 * the pidfd, WNOWAIT, the real reap. */
static void remote_child_handle(void **state)
{
	struct remote *r = *state;
	static const char msg[] = "written by the server's child";
	static const char zero[sizeof(siginfo_t)];
	struct handle_task ct;
	struct handle_child ch;
	static struct handle_fd pp[2], cw, x; /* static: see HANDLES */
	struct handle_ptr pair, msgp, args, spath, sarg, argv, infop, inbuf, cmsg, cpath, cargv;
	uint64_t av[3];
	char back[sizeof msg], exe[256], link[64];
	siginfo_t si;
	int cpid;
	long rr;

	if (under_valgrind())
		skip();
	if (access("/bin/sleep", X_OK) < 0)
		skip();
	/* Everything the child will need is in server memory before the
	 * clone: the child gets a copy of it. */
	pair = ralloc(r->conn, &r->t, 8);
	msgp = rstr(r->conn, &r->t, msg);
	spath = rstr(r->conn, &r->t, "/bin/sleep");
	sarg = rstr(r->conn, &r->t, "30");
	argv = ralloc(r->conn, &r->t, sizeof av);
	av[0] = spath.addr, av[1] = sarg.addr, av[2] = 0;
	assert_int_equal(transport_write_mem(r->conn, argv.addr, av, sizeof av), 0);
	args = vfork_args(r->conn, &r->t);
	infop = ralloc(r->conn, &r->t, sizeof(siginfo_t));
	inbuf = ralloc(r->conn, &r->t, sizeof msg);
	assert_int_equal(handle_pipe2(pp, &r->t, &pair, O_CLOEXEC), 0);

	cpid = vfork_child(r->conn, &r->t, &args, &ct);
	/* In the child: its copy of the pipe's write end, inherited. */
	assert_int_equal(handle_fd_inherit(&cw, &pp[1], &ct), 0);
	assert_int_equal(handle_fd_for_task(&x, &cw, &r->t), -EXDEV);
	assert_int_equal(handle_write(&cw, &msgp), -EXDEV); /* the parent's memory */
	assert_int_equal(handle_ptr_init(&cmsg, &ct, msgp.addr, msgp.size), 0);
	assert_int_equal(handle_write(&cw, &cmsg), sizeof msg);
	assert_int_equal(handle_fd_close(&cw), 0); /* the child's copy only */
	assert_int_equal(handle_ptr_init(&cpath, &ct, spath.addr, spath.size), 0);
	assert_int_equal(handle_ptr_init(&cargv, &ct, argv.addr, argv.size), 0);
	rr = handle_execve(&ct, &cpath, &cargv, NULL);
	if (rr < 0) { /* the child is still serving: end it */
		handle_exit(&ct, 127);
		fail_msg("execve in the server's child: %ld", rr);
	}
	assert_int_equal(rr, cpid); /* the server's answer to clone3 */
	handle_task_close(&ct);

	/* The server serves again; the pipe holds what the child wrote, and
	 * its write end is still open in the server. */
	assert_int_equal(handle_getpid(&r->t), r->srv.pid);
	assert_true(fd_open_in(r->srv.pid, pp[1].fd));
	assert_int_equal(handle_read(&pp[0], &inbuf), sizeof msg);
	assert_int_equal(handle_ptr_read(&inbuf, &r->t, 0, back, sizeof back), 0);
	assert_memory_equal(back, msg, sizeof msg);
	snprintf(link, sizeof link, "/proc/%d/exe", cpid);
	for (int i = 0; i < 500; i++) { /* execve has returned in the child */
		ssize_t n = readlink(link, exe, sizeof exe - 1);
		exe[n < 0 ? 0 : n] = 0;
		if (strstr(exe, "sleep"))
			break;
		usleep(10000);
	}
	assert_non_null(strstr(exe, "sleep"));

	assert_int_equal(handle_child_init(&ch, &r->t, cpid), 0);
	assert_int_equal(transport_write_mem(r->conn, infop.addr, zero, sizeof zero), 0);
	assert_int_equal(handle_child_waitid(&ch, &infop, WEXITED | WNOHANG), 0);
	assert_int_equal(read_siginfo(r, &infop).si_pid, 0);
	assert_int_equal(handle_child_signal(&ch, SIGKILL), 0);
	if (ch.pidfd >= 0) {
		struct pollfd p = { ch.pidfd, POLLIN, 0 };
		assert_int_equal(poll(&p, 1, TIMEOUT_MS), 1);
	}
	assert_int_equal(handle_child_waitid(&ch, &infop, WEXITED | WNOWAIT), 0);
	si = read_siginfo(r, &infop);
	assert_int_equal(si.si_pid, cpid);
	assert_int_equal(si.si_code, CLD_KILLED);
	assert_int_equal(si.si_status, SIGKILL);
	assert_false(ch.reaped);
	assert_int_equal(proc_state(cpid), 'Z'); /* not reaped: a zombie */
	assert_int_equal(handle_child_waitid(&ch, &infop, WEXITED), 0);
	assert_true(ch.reaped);
	server_child = 0;
	assert_int_equal(read_siginfo(r, &infop).si_pid, cpid);
	assert_int_equal(proc_state(cpid), 0); /* gone */
	assert_int_equal(handle_child_waitid(&ch, &infop, WEXITED), -ECHILD);
	assert_int_equal(handle_child_signal(&ch, SIGKILL), -ESRCH);
	handle_child_close(&ch);
	assert_int_equal(handle_fd_close(&pp[0]), 0);
	assert_int_equal(handle_fd_close(&pp[1]), 0);
	assert_int_equal(count_fds(r->srv.pid), r->count0);
}

/* ---- no leaks over 10,000 handle operations --------------------------- */

struct churn {
	struct transport_conn *conn;
	struct handle_task *t;
	int pid;                       /* whose /proc/PID/fd is counted */
	struct handle_ptr path, scratch;
	int unshare_every;             /* 0: never (CLONE_VM child only) */
	int fork_every;                /* 0: never (the server, not under valgrind) */
	struct handle_ptr args, infop; /* for the forks */
	int forks, unshares, pipelined;
};

/* Open /dev/null into every invalid slot of live[at .. at+8), pipelined:
 * all requests submitted, then the answers collected and adopted.
 * Returns: how many were opened. */
static int open_pipelined(struct churn *c, struct handle_fd *live, int at)
{
	int slots[8], n = 0;
	struct near_request req;
	uint64_t p;

	assert_int_equal(handle_ptr_addr(&c->path, c->t, 1, &p), 0);
	for (int j = 0; j < 8; j++) {
		int s = (at + j) % LIVE;
		if (handle_fd_valid(&live[s]))
			continue;
		near_request_set(&req, __NR_openat, AT_FDCWD, (int64_t)p, O_RDONLY | O_CLOEXEC,
				 0, 0, 0);
		assert_int_equal(transport_submit(c->conn, &req), 0);
		slots[n++] = s;
	}
	for (int j = 0; j < n; j++) {
		int64_t fd;
		assert_int_equal(transport_wait(c->conn, &fd), 0);
		assert_true(fd >= 0);
		assert_int_equal(handle_fd_adopt(&live[slots[j]], c->t, (int)fd), 0);
	}
	c->pipelined += n > 1;
	return n;
}

/* The server forks (vfork style); the child inherits every live handle,
 * checks each is its copy, and closes it; then exits and is reaped
 * through a child handle.  Returns: the number of handle operations. */
static int fork_inherit(struct churn *c, struct handle_fd *live)
{
	struct handle_task ct;
	struct handle_child ch;
	static struct handle_fd h[LIVE], x; /* static: see HANDLES */
	siginfo_t si;
	int cpid, ops = 0;

	cpid = vfork_child(c->conn, c->t, &c->args, &ct);
	/* All inherited first: live handles may share a number, and once the
	 * child has closed a number, inheriting it is refused (-EBADF). */
	for (int i = 0; i < LIVE; i++) {
		if (!handle_fd_valid(&live[i]))
			continue;
		assert_int_equal(handle_fd_inherit(&h[i], &live[i], &ct), 0);
		assert_int_equal(handle_fd_for_task(&x, &h[i], c->t), -EXDEV);
		ops++;
	}
	for (int i = 0; i < LIVE; i++) {
		if (!handle_fd_valid(&h[i]))
			continue;
		if (handle_fd_refs(&h[i]) > 1) {
			assert_int_equal(handle_fd_close(&h[i]), -EBUSY);
			assert_int_equal(handle_fd_invalidate(&h[i]), 0);
		} else {
			int n = h[i].fd;
			assert_int_equal(handle_fd_close(&h[i]), 0); /* the child's copy */
			assert_false(fd_open_in(cpid, n));
			assert_true(fd_open_in(c->pid, n));
			assert_int_equal(handle_fd_inherit(&x, &live[i], &ct), -EBADF);
		}
		ops++;
	}
	assert_int_equal(handle_exit(&ct, 0), cpid); /* the server's answer to clone3 */
	handle_task_close(&ct);
	for (int i = 0; i < LIVE; i++)
		if (handle_fd_valid(&live[i]))
			assert_true(fd_open_in(c->pid, live[i].fd));
	assert_int_equal(handle_child_init(&ch, c->t, cpid), 0);
	assert_int_equal(handle_child_waitid(&ch, &c->infop, WEXITED), 0);
	assert_int_equal(handle_ptr_read(&c->infop, c->t, 0, &si, sizeof si), 0);
	assert_int_equal(si.si_pid, cpid);
	assert_int_equal(si.si_code, CLD_EXITED);
	assert_int_equal(si.si_status, 0);
	server_child = 0;
	handle_child_close(&ch);
	c->forks++;
	return ops;
}

/* A leak planted, then unshare_files, which must leave exactly the owned
 * fds.  The second task record cannot follow (it stays with the old
 * table), so it is made again. */
static int unshare_cycle(struct churn *c, struct handle_task *t2)
{
	uint64_t p;
	int64_t leak;

	handle_task_close(t2);
	assert_int_equal(handle_ptr_addr(&c->path, c->t, 1, &p), 0);
	leak = transport_syscall(c->conn, __NR_openat, AT_FDCWD, (int64_t)p, O_RDONLY, 0, 0, 0);
	assert_true(leak >= 0);
	assert_int_equal(handle_task_unshare_files(c->t), 0);
	assert_false(fd_open_in(c->pid, (int)leak));
	assert_int_equal(handle_fd_table_gc(c->t, &c->scratch), 0);
	assert_int_equal(handle_task_init_child(t2, c->t, c->t->sysif, c->pid,
						CLONE_FILES | CLONE_VM), 0);
	c->unshares++;
	return 1;
}

static void churn(struct churn *c, int nops)
{
	static struct handle_fd live[LIVE]; /* static: see HANDLES */
	static struct handle_task t2;
	struct timespec t0, t1;
	int start = count_fds(c->pid), ops = 0, i;
	uint64_t p;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(live, 0, sizeof live);
	assert_int_equal(handle_ptr_addr(&c->path, c->t, 1, &p), 0);
	/* A second task record using the same table, for move and for_task. */
	assert_int_equal(handle_task_init_child(&t2, c->t, c->t->sysif, c->pid,
						CLONE_FILES | CLONE_VM), 0);
	for (i = 0; ops < nops; i++) {
		struct handle_fd *h = &live[i % LIVE], *o = &live[(i * 7 + 3) % LIVE], tmp;
		long r;

		switch (i % 10) {
		case 0: /* open */
			if (!handle_fd_valid(h)) {
				assert_int_equal(handle_openat(h, c->t, NULL, &c->path,
							       O_RDONLY | O_CLOEXEC, 0), 0);
				ops++;
			}
			break;
		case 1: /* open, pipelined */
			ops += open_pipelined(c, live, i);
			break;
		case 2: /* dup */
			if (handle_fd_valid(o) && !handle_fd_valid(h)) {
				assert_int_equal(handle_dup(h, o, O_CLOEXEC), 0);
				ops++;
			}
			break;
		case 3: /* move to the other task and back */
			if (handle_fd_valid(h)) {
				assert_int_equal(handle_fd_move(&tmp, h, &t2), 0);
				assert_int_equal(handle_fd_move(h, &tmp, c->t), 0);
				ops += 2;
			}
			break;
		case 4: /* a second owner through the other task */
			if (handle_fd_valid(h) && !handle_fd_valid(o)) {
				assert_int_equal(handle_fd_for_task(o, h, &t2), 0);
				assert_int_equal(handle_fd_move(o, o, c->t), 0);
				ops += 2;
			}
			break;
		case 5: /* close: refused while shared, then invalidate */
			if (handle_fd_valid(h)) {
				r = handle_fd_close(h);
				if (r == -EBUSY) {
					assert_true(fd_open_in(c->pid, h->fd));
					assert_int_equal(handle_fd_invalidate(h), 0);
					ops++;
				} else {
					assert_int_equal(r, 0);
				}
				ops++;
			}
			break;
		case 6: /* a leak behind the handles' back; GC finds exactly it */
			r = transport_syscall(c->conn, __NR_openat, AT_FDCWD, (int64_t)p,
					      O_RDONLY, 0, 0, 0);
			assert_true(r >= 0);
			assert_int_equal(handle_fd_table_gc(c->t, &c->scratch), 1);
			assert_false(fd_open_in(c->pid, (int)r));
			ops++;
			break;
		case 7: /* dup3 over another owned fd: both stay owned */
			if (handle_fd_valid(o) && handle_fd_valid(h) && o->fd != h->fd) {
				assert_int_equal(handle_dup3(o, h, O_CLOEXEC), 0);
				ops++;
			}
			break;
		case 8:
			if (c->unshare_every && i % c->unshare_every == 8)
				ops += unshare_cycle(c, &t2);
			break;
		case 9:
			if (c->fork_every && i % c->fork_every == 9)
				ops += fork_inherit(c, live);
			else if (handle_fd_valid(h)) {
				assert_int_equal(handle_fd_invalidate(h), 0);
				ops++;
			}
			break;
		}
	}
	for (i = 0; i < LIVE; i++)
		if (handle_fd_valid(&live[i]))
			assert_int_equal(handle_fd_invalidate(&live[i]), 0);
	assert_int_equal(handle_fd_table_gc(c->t, &c->scratch), 0);
	assert_int_equal(count_fds(c->pid), start);
	handle_task_close(&t2);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("   %d handle operations on pid %d (%d pipelined opens, %d forks with "
	       "inherit, %d unshares) in %ld ms; fds %d -> %d\n",
	       ops, c->pid, c->pipelined, c->forks, c->unshares,
	       (long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000),
	       start, count_fds(c->pid));
}

/* The count.  Under valgrind too: the churn is mostly round trips
 * to the server, ~1.5 s there (reduce to 1,000 if that ever gets slow). */
static int churn_ops(void)
{
	return 10000;
}

static void no_leak_remote_server(void **state)
{
	struct remote *r = *state;
	struct churn c = {
		.conn = r->conn, .t = &r->t, .pid = r->srv.pid,
		.path = r->path, .scratch = r->scratch,
		/* valgrind turns CLONE_VFORK into a plain fork (see above) */
		.fork_every = under_valgrind() ? 0 : 900,
	};

	c.args = vfork_args(r->conn, &r->t);
	c.infop = ralloc(r->conn, &r->t, sizeof(siginfo_t));
	churn(&c, churn_ops());
	assert_int_equal(count_fds(r->srv.pid), r->count0);
	assert_int_equal(handle_getpid(&r->t), r->srv.pid);
}

static void no_leak_clone_child(void **state)
{
	static struct vm v;
	struct churn c;
	int start;

	(void)state;
	if (under_valgrind())
		skip(); /* valgrind cannot run a CLONE_VM child that is not a thread */
	memset(&v, 0, sizeof v);
	vm_start(&v);
	memset(&c, 0, sizeof c);
	c.conn = v.conn;
	c.t = &v.ct;
	c.pid = v.ch.pid;
	c.path = rstr(v.conn, &v.ct, "/dev/null");
	c.scratch = ralloc(v.conn, &v.ct, 8192);
	c.unshare_every = 450;
	/* Down to its connection first: the rest is our table's copy. */
	assert_true(handle_fd_table_gc(&v.ct, &c.scratch) >= 0);
	start = count_fds(v.ch.pid);
	assert_int_equal(start, 1);
	churn(&c, churn_ops());
	assert_int_equal(count_fds(v.ch.pid), start);
	vm_stop(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(server_task_identity, remote_setup, remote_teardown),
		cmocka_unit_test_setup_teardown(ownership_over_remote, remote_setup, remote_teardown),
		cmocka_unit_test_setup_teardown(gc_of_remote_table, remote_setup, remote_teardown),
		cmocka_unit_test_setup_teardown(pointers_refuse_other_address_spaces, remote_setup,
						remote_teardown),
		cmocka_unit_test_setup_teardown(remote_child_handle, remote_setup, remote_teardown),
		cmocka_unit_test_setup_teardown(no_leak_remote_server, remote_setup, remote_teardown),
		cmocka_unit_test_teardown(clone_child_through_layers, clone_teardown),
		cmocka_unit_test_teardown(clone_files_child_unshares, clone_teardown),
		cmocka_unit_test_teardown(no_leak_clone_child, clone_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
