// SPDX-License-Identifier: MIT
/* Named fds through the session: a listening TCP socket kept in a real
 * persist-server, passed to a real service as fd 3 with the
 * sd_listen_fds(3) variables, and a zero-downtime restart proven with real
 * TCP clients on 127.0.0.1: connections made while no service runs queue
 * in the kept socket's backlog and are answered by the next one, also
 * after the controller is gone and a new session takes over.  A record
 * whose number no longer names its file is stale, never a handle. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <handle/fd.h>
#include <handle/fs.h>
#include <handle/ptr.h>
#include <transport/mem.h>
#include <persist/session.h>

static char dir[64], self[4096];

/* The service: answers each connection on its first passed fd with its pid,
 * after checking what systemd would have given it. */
static int serve(void)
{
	const char *fds = getenv("LISTEN_FDS"), *pid = getenv("LISTEN_PID"),
		   *names = getenv("LISTEN_FDNAMES");
	char line[32];

	if (!fds || strcmp(fds, "1") != 0 || !pid || atoi(pid) != getpid() || !names ||
	    strcmp(names, "web") != 0)
		return 3;
	if (fcntl(3, F_GETFD) != 0) /* open, and not close-on-exec */
		return 4;
	for (;;) {
		int c = accept(3, NULL, NULL);
		if (c < 0)
			return 5;
		snprintf(line, sizeof line, "%d\n", getpid());
		if (write(c, line, strlen(line)) < 0)
			return 6;
		close(c);
	}
}

static int port_of(struct persist_session *s)
{
	struct persist_fd_rec *recs;
	size_t n;
	int port = -1;

	assert_int_equal(persist_session_fd_list(s, &recs, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(recs[0].name, "web");
	assert_true(recs[0].verified);
	assert_non_null(recs[0].description);
	assert_int_equal(strncmp(recs[0].description, "tcp:127.0.0.1:", 14), 0);
	port = atoi(recs[0].description + 14);
	assert_true(port > 0);
	persist_fd_recs_free(recs, n);
	return port;
}

static int dial(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	return fd;
}

/* The pid a service answered on fd with.  Returns: it. */
static int answer(int fd)
{
	char buf[32] = "";
	ssize_t n = read(fd, buf, sizeof buf - 1);

	assert_true(n > 0);
	close(fd);
	return atoi(buf);
}

static int64_t start(struct persist_session *s)
{
	static const char *const names[] = { "web", NULL };
	const char *argv[] = { self, "serve", NULL };
	struct persist_spawn sp = { .argv = argv, .fd_names = names, .nfds = 1, .new_session = 1 };
	char why[512];
	int64_t id;

	assert_int_equal(persist_session_run(s, "svc", &sp, &id, why, sizeof why), 0);
	return id;
}

static int child_pid(struct persist_session *s, int64_t id)
{
	struct persist_child_rec r = { 0 };
	int pid;

	assert_int_equal(persist_store_child_get(persist_session_store(s), id, &r), 0);
	pid = r.pid;
	persist_child_rec_clear(&r);
	return pid;
}

static void stop_service(struct persist_session *s, int64_t id)
{
	struct persist_exit st;

	assert_int_equal(persist_session_kill(s, id, SIGKILL), 0);
	assert_int_equal(persist_session_wait(s, id, 20000, &st), 0);
	assert_true(st.killed);
}

static void zero_downtime(void **state)
{
	struct persist_session *s;
	struct persist_exit st;
	char why[512];
	int64_t a, b, c;
	int port, queued, pa;

	(void)state;
	assert_int_equal(persist_session_open(dir, PERSIST_SESSION_START, &s, why, sizeof why), 0);
	assert_int_equal(persist_session_listen(s, "web", "tcp:127.0.0.1:0", why, sizeof why), 0);
	assert_int_equal(persist_session_listen(s, "web", "tcp:127.0.0.1:0", why, sizeof why),
			 -EEXIST);
	assert_int_equal(persist_session_listen(s, "bad", "tcp:nowhere", why, sizeof why), -EINVAL);
	port = port_of(s);

	a = start(s);
	pa = child_pid(s, a);
	assert_int_equal(answer(dial(port)), pa);

	/* The service dies; a client connects meanwhile: queued, not refused. */
	stop_service(s, a);
	queued = dial(port);
	b = start(s);
	assert_int_equal(answer(queued), child_pid(s, b));
	assert_true(child_pid(s, b) != pa);

	/* The controller goes away; a client connects; a new controller
	 * restarts the service on the same socket, found by its identity. */
	stop_service(s, b);
	persist_session_close(s);
	queued = dial(port);
	assert_int_equal(persist_session_open(dir, 0, &s, why, sizeof why), 0);
	assert_int_equal(port_of(s), port);
	c = start(s);
	assert_int_equal(answer(queued), child_pid(s, c));
	stop_service(s, c);

	/* Closing forgets it: the port refuses from then on. */
	assert_int_equal(persist_session_fd_drop(s, "web"), 0);
	assert_int_equal(persist_session_fd_drop(s, "web"), -ENOENT);
	{
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), -1);
		assert_int_equal(errno, ECONNREFUSED);
		close(fd);
	}
	assert_int_equal(persist_session_stop(s, 1000, why, sizeof why), 0);
	(void)st;
	persist_session_close(s);
}

/* A kept number that was closed, then reused by another file, is stale:
 * no handle, no fd passed, and the record says so. */
static void stale_record(void **state)
{
	static const char *const names[] = { "web", NULL };
	const char *argv[] = { "true", NULL };
	struct persist_spawn sp = { .argv = argv, .fd_names = names, .nfds = 1 };
	struct persist_session *s;
	const struct handle_fd *h;
	struct persist_fd_rec *recs;
	char why[512], path[64];
	size_t n;
	int64_t id;
	int num;

	(void)state;
	assert_int_equal(persist_session_open(dir, PERSIST_SESSION_START, &s, why, sizeof why), 0);
	assert_int_equal(persist_session_listen(s, "web", "tcp:127.0.0.1:0", why, sizeof why), 0);
	assert_int_equal(persist_session_fd_get(s, "web", &h), 0);
	num = h->fd;
	/* Behind the store's back: close it, and let another file take the
	 * number (open takes the lowest free one). */
	assert_int_equal(handle_fd_close((struct handle_fd *)h), 0);
	persist_session_close(s);
	assert_int_equal(persist_session_open(dir, 0, &s, why, sizeof why), 0);
	/* Another file takes the number: the new controller's connection
	 * often has (accept takes the lowest free one); if not, open
	 * /dev/null in the thread until it lands there. */
	snprintf(path, sizeof path, "/proc/%d/fd/%d", persist_session_thread(s)->pid, num);
	if (access(path, F_OK) != 0) {
		struct persist_thread *t = persist_session_thread(s);
		/* Linked into the task until the session lets it go. */
		static struct handle_fd other[8];
		struct handle_ptr p;
		uint64_t at;
		int k = 0;
		assert_int_equal(transport_alloc(t->conn, 16, &at), 0);
		assert_int_equal(handle_ptr_init(&p, &t->task, at, 16), 0);
		assert_int_equal(handle_ptr_write(&p, &t->task, 0, "/dev/null", 10), 0);
		do
			assert_int_equal(handle_openat(&other[k], &t->task, NULL, &p, O_RDONLY, 0), 0);
		while (other[k].fd != num && ++k < 8);
		assert_true(k < 8);
		transport_free(t->conn, at);
	}
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(persist_session_fd_get(s, "web", &h), -ESTALE);
	assert_int_equal(persist_session_fd_list(s, &recs, &n), 0);
	assert_int_equal(n, 1);
	assert_false(recs[0].verified);
	persist_fd_recs_free(recs, n);
	assert_int_equal(persist_session_run(s, NULL, &sp, &id, why, sizeof why), -ESTALE);
	assert_non_null(strstr(why, "stale"));
	/* Dropping a stale name forgets it without closing the other file:
	 * the session still works over it. */
	assert_int_equal(persist_session_fd_drop(s, "web"), 0);
	assert_int_equal(persist_session_fd_list(s, &recs, &n), 0);
	assert_int_equal(n, 0);
	persist_fd_recs_free(recs, n);
	assert_int_equal(persist_session_stop(s, 1000, why, sizeof why), 0);
	persist_session_close(s);
}

/* How many fds pid holds. */
static int fd_count(int pid)
{
	char path[64];
	struct dirent *d;
	DIR *dd;
	int n = 0;

	snprintf(path, sizeof path, "/proc/%d/fd", pid);
	dd = opendir(path);
	assert_non_null(dd);
	while ((d = readdir(dd)))
		n += d->d_name[0] != '.';
	closedir(dd);
	return n;
}

/* A session that connects brings the thread's fd table back to what it
 * owns: fds a dead controller left (opened in the thread, never kept) are
 * closed; stdio, the server's sockets and the kept fds stay. */
static void table_trimmed(void **state)
{
	struct persist_session *s;
	struct persist_thread *t;
	struct persist_fd_rec *recs;
	const struct handle_fd *h;
	static struct handle_fd left[3];
	struct handle_ptr p;
	char why[512];
	uint64_t at;
	size_t n;
	int pid, base;

	(void)state;
	assert_int_equal(persist_session_open(dir, PERSIST_SESSION_START, &s, why, sizeof why), 0);
	assert_int_equal(persist_session_listen(s, "web", "tcp:127.0.0.1:0", why, sizeof why), 0);
	t = persist_session_thread(s);
	pid = t->pid;
	base = fd_count(pid);
	assert_int_equal(transport_alloc(t->conn, 16, &at), 0);
	assert_int_equal(handle_ptr_init(&p, &t->task, at, 16), 0);
	assert_int_equal(handle_ptr_write(&p, &t->task, 0, "/dev/null", 10), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(handle_openat(&left[i], &t->task, NULL, &p, O_RDONLY, 0), 0);
	transport_free(t->conn, at);
	assert_int_equal(fd_count(pid), base + 3);
	persist_session_close(s); /* as a crash would: nothing closed them */

	assert_int_equal(persist_session_open(dir, 0, &s, why, sizeof why), 0);
	assert_int_equal(fd_count(pid), base);
	assert_int_equal(persist_session_fd_get(s, "web", &h), 0);
	assert_int_equal(persist_session_fd_list(s, &recs, &n), 0);
	assert_int_equal(n, 1);
	assert_true(recs[0].verified);
	persist_fd_recs_free(recs, n);
	assert_int_equal(persist_session_stop(s, 1000, why, sizeof why), 0);
	persist_session_close(s);
}

/* The number of kept fds the store lists for the session's thread. */
static size_t kept(struct persist_session *s)
{
	struct persist_fd_rec *recs;
	size_t n;

	assert_int_equal(persist_session_fd_list(s, &recs, &n), 0);
	persist_fd_recs_free(recs, n);
	return n;
}

/* Kept fds end with their server: after a stop the store lists none (also
 * offline), and a server started anew, or one started after the old one
 * was killed behind our back, neither shows them as stale nor keeps their
 * names taken. */
static void kept_fds_end_with_their_server(void **state)
{
	struct persist_session *s;
	char why[512];
	int pid;

	(void)state;
	assert_int_equal(persist_session_open(dir, PERSIST_SESSION_START, &s, why, sizeof why), 0);
	assert_int_equal(persist_session_listen(s, "web", "tcp:127.0.0.1:0", why, sizeof why), 0);
	assert_int_equal(kept(s), 1);
	assert_int_equal(persist_session_stop(s, 1000, why, sizeof why), 0);
	assert_int_equal(kept(s), 0);
	persist_session_close(s);
	assert_int_equal(persist_session_open(dir, PERSIST_SESSION_OFFLINE, &s, why, sizeof why), 0);
	assert_int_equal(kept(s), 0);
	persist_session_close(s);

	assert_int_equal(persist_session_open(dir, PERSIST_SESSION_START, &s, why, sizeof why), 0);
	assert_int_equal(kept(s), 0);
	assert_int_equal(persist_session_listen(s, "web", "tcp:127.0.0.1:0", why, sizeof why), 0);
	pid = persist_session_thread(s)->pid;
	persist_session_close(s);
	/* Killed behind our back: the next start settles the old server. */
	assert_int_equal(kill(pid, SIGKILL), 0);
	for (int i = 0; i < 5000 && kill(pid, 0) == 0; i++)
		usleep(1000);
	assert_int_equal(persist_session_open(dir, PERSIST_SESSION_START, &s, why, sizeof why), 0);
	assert_true(persist_session_thread(s)->pid != pid);
	assert_int_equal(kept(s), 0);
	assert_int_equal(persist_session_listen(s, "web", "tcp:127.0.0.1:0", why, sizeof why), 0);
	assert_int_equal(kept(s), 1);
	assert_int_equal(persist_session_stop(s, 1000, why, sizeof why), 0);
	persist_session_close(s);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/persist-test-fds-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(zero_downtime, setup, teardown),
		cmocka_unit_test_setup_teardown(stale_record, setup, teardown),
		cmocka_unit_test_setup_teardown(table_trimmed, setup, teardown),
		cmocka_unit_test_setup_teardown(kept_fds_end_with_their_server, setup, teardown),
	};

	if (argc == 2 && strcmp(argv[1], "serve") == 0)
		return serve();
	if (!realpath("/proc/self/exe", self))
		return 1;
#ifdef PERSIST_SERVER_EXE
	setenv("PERSIST_SERVER_EXE", PERSIST_SERVER_EXE, 0);
#endif
	return cmocka_run_group_tests(tests, NULL, NULL);
}
