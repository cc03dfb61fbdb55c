// SPDX-License-Identifier: MIT
/* The persist-server executable keeps nothing it inherited (docs/design.md,
 * decision 18): started by a process holding a pipe's write end and files
 * at 7 and 251, it holds exactly 0, 1, 2 and the sockets it serves (and
 * the fds --keep-fd names), 0-2 on /dev/null where they were closed, and
 * the pipe's reader sees end of file once the starter lets go of its end.
 * The executable tested is the one this build made (PSERVER_EXE). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <asm/unistd.h>
#include <cmocka.h>
#include <pserver/pserver.h>

#ifndef PSERVER_EXE
#error "PSERVER_EXE: the persist-server executable under test"
#endif

/* Where the starter puts what the server must not keep. */
enum { PIPE_AT = 5, FILE_AT = 7, FILE_HIGH_AT = 251 };
/* Copies made here go above every number a test asks for. */
enum { SCRATCH = 300 };

struct launch {
	char dir[64], path[108]; /* a fresh 0700 directory, its socket */
	pid_t starter;           /* the process that execs the server */
	pid_t pid;               /* the server (the starter, unless --daemon) */
	int pipe_r;              /* the read end of the starter's pipe */
	int moves[8][2];         /* (our fd, its number in the starter) */
	int n_moves;
	int close_stdio;         /* the starter closes 0, 1 and 2 */
	int no_close_range;      /* ... and makes close_range fail with ENOSYS */
	const char *argv0;       /* the server's argv[0] (NULL: PSERVER_EXE) */
};

/* Valgrind follows the server too (VALGRIND=1): slower, and it keeps fds
 * of its own above the limit it shows its client. */
static int under_valgrind(void)
{
	return getenv("PERSIST_VALGRIND") != NULL;
}

static int deadline_ms(void)
{
	return under_valgrind() ? 60000 : 5000;
}

static void pause_ms(int ms)
{
	struct timespec ts = { 0, ms * 1000L * 1000L };
	nanosleep(&ts, NULL);
}

static int above(int fd)
{
	int copy = fcntl(fd, F_DUPFD_CLOEXEC, SCRATCH);

	assert_true(copy >= SCRATCH);
	close(fd);
	return copy;
}

static void prepare(struct launch *l)
{
	char file[128];
	int p[2], f;

	memset(l, 0, sizeof *l);
	snprintf(l->dir, sizeof l->dir, "/tmp/pserver-startup-XXXXXX");
	assert_non_null(mkdtemp(l->dir));
	snprintf(l->path, sizeof l->path, "%s/sock", l->dir);
	snprintf(file, sizeof file, "%s/file", l->dir);
	f = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	assert_true(f >= 0);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	l->pipe_r = p[0];
	l->moves[0][0] = above(p[1]);
	l->moves[0][1] = PIPE_AT;
	l->moves[1][0] = above(f);
	l->moves[1][1] = FILE_AT;
	l->moves[2][0] = l->moves[1][0];
	l->moves[2][1] = FILE_HIGH_AT;
	l->n_moves = 3;
}

/* Give the starter our fd at number at, too (at < 0: only keep it here,
 * out of the way of the numbers tests ask for). */
static void pass(struct launch *l, int fd, int at)
{
	assert_true(l->n_moves < 8);
	l->moves[l->n_moves][0] = above(fd);
	l->moves[l->n_moves][1] = at;
	l->n_moves++;
}

/* From now on close_range fails with ENOSYS, as on Linux < 5.9 (a seccomp
 * filter: execve keeps it).  Returns: 0, or -1. */
static int without_close_range(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_close_range, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof f / sizeof f[0], f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

/* Fork the starter: it puts the fds in place (dup2 leaves them open across
 * execve) and execs the server with args. */
static void start(struct launch *l, const char *const *args)
{
	const char *argv[16] = { PSERVER_EXE };
	int n = 1;

	while (*args)
		argv[n++] = *args++;
	l->starter = fork();
	assert_true(l->starter >= 0);
	if (l->starter == 0) {
		for (int i = 0; i < l->n_moves; i++)
			if (l->moves[i][1] >= 0 && dup2(l->moves[i][0], l->moves[i][1]) < 0)
				_exit(120);
		if (l->close_stdio)
			for (int fd = 0; fd <= 2; fd++)
				close(fd);
		if (l->no_close_range && without_close_range() < 0)
			_exit(121);
		if (l->argv0)
			argv[0] = l->argv0;
		execv(PSERVER_EXE, (char **)argv);
		_exit(127);
	}
	l->pid = l->starter;
}

/* Read a hello from fd, within the deadline. */
static void read_hello(int fd, struct near_hello *h)
{
	struct pollfd pf = { fd, POLLIN, 0 };

	assert_int_equal(poll(&pf, 1, deadline_ms()), 1);
	assert_int_equal(recv(fd, h, sizeof *h, MSG_WAITALL), sizeof *h);
	assert_int_equal(near_hello_check(h, NULL, 0), 0);
}

/* Connect to the socket and read the hello: the server's pid.  The server
 * drops the connection once we close it. */
static pid_t hello_pid(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct near_hello h;
	int fd = -1;

	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	for (int waited = 0; waited < deadline_ms(); waited += 10) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		assert_true(fd >= 0);
		if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
			break;
		close(fd);
		fd = -1;
		pause_ms(10);
	}
	assert_true(fd >= 0);
	read_hello(fd, &h);
	close(fd);
	return h.pid;
}

/* The server's fds, ascending, into fds (at most max).  Returns: how many. */
static int list_fds(pid_t pid, int *fds, int max)
{
	struct rlimit lim = { RLIM_INFINITY, RLIM_INFINITY };
	char path[64];
	struct dirent *e;
	DIR *d;
	int n = 0;

	/* Valgrind keeps fds of its own at and above the limit it shows. */
	if (under_valgrind())
		assert_int_equal(getrlimit(RLIMIT_NOFILE, &lim), 0);
	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	d = opendir(path);
	assert_non_null(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && n < max && (rlim_t)atol(e->d_name) < lim.rlim_cur)
			fds[n++] = atoi(e->d_name);
	closedir(d);
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && fds[j - 1] > fds[j]; j--) {
			int t = fds[j];
			fds[j] = fds[j - 1];
			fds[j - 1] = t;
		}
	return n;
}

static void fd_target(pid_t pid, int fd, char *buf, size_t len)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)pid, fd);
	n = readlink(path, buf, len - 1);
	assert_true(n > 0);
	buf[n] = '\0';
}

static void print_fds(pid_t pid, const int *fds, int n)
{
	char what[256];

	for (int i = 0; i < n; i++) {
		fd_target(pid, fds[i], what, sizeof what);
		fprintf(stderr, "  server fd %d -> %s\n", fds[i], what);
	}
}

/* The server holds exactly the fds in want (ascending), waiting up to the
 * deadline: a connection we just closed may still be on its way out. */
static void holds_exactly(pid_t pid, const int *want, int n_want)
{
	int fds[512], n = 0;

	for (int waited = 0; waited < deadline_ms(); waited += 10) {
		n = list_fds(pid, fds, 512);
		if (n == n_want && memcmp(fds, want, sizeof *want * (size_t)n) == 0)
			return;
		pause_ms(10);
	}
	fprintf(stderr, "server %d holds %d fds, expected %d:\n", (int)pid, n, n_want);
	print_fds(pid, fds, n);
	fail();
}

static int is_socket(pid_t pid, int fd)
{
	char what[256];

	fd_target(pid, fd, what, sizeof what);
	return strncmp(what, "socket:[", 8) == 0;
}

/* Our copies of the pipe's write end are gone (the starter's went with
 * execve into the server): end of file, unless the server kept one. */
static void pipe_reader_sees_eof(struct launch *l)
{
	struct pollfd pf = { l->pipe_r, POLLIN, 0 };
	char c;

	for (int i = 0; i < l->n_moves; i++)
		close(l->moves[i][0]);
	l->n_moves = 0;
	assert_int_equal(poll(&pf, 1, deadline_ms()), 1);
	assert_int_equal(read(l->pipe_r, &c, 1), 0);
}

/* A zombie that init has yet to reap counts as gone. */
static int gone(pid_t pid)
{
	char path[64], st[256] = "", *paren;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 1;
	if (!fgets(st, sizeof st, f))
		st[0] = '\0';
	fclose(f);
	paren = strrchr(st, ')');
	return paren && paren[1] == ' ' && paren[2] == 'Z';
}

/* The starter's exit status, within the deadline. */
static int starter_status(struct launch *l)
{
	int status = 0;

	for (int waited = 0; waited < deadline_ms(); waited += 10) {
		pid_t r = waitpid(l->starter, &status, WNOHANG);
		if (r == l->starter) {
			if (l->pid == l->starter)
				l->pid = 0;
			l->starter = 0;
			return status;
		}
		assert_int_equal(r, 0);
		pause_ms(10);
	}
	fail_msg("the starter %d did not exit", (int)l->starter);
	return -1;
}

/* The server ends on SIGTERM. */
static void stop(struct launch *l)
{
	kill(l->pid, SIGTERM);
	if (l->starter == l->pid) {
		assert_true(WIFSIGNALED(starter_status(l)));
		return;
	}
	/* Detached: not ours to reap. */
	for (int waited = 0; !gone(l->pid) && waited < deadline_ms(); waited += 10)
		pause_ms(10);
	assert_true(gone(l->pid));
	l->pid = 0;
}

static struct launch the_launch;

static int setup(void **state)
{
	prepare(&the_launch);
	*state = &the_launch;
	return 0;
}

/* Whatever a failed test left: its processes, fds and directory. */
static int teardown(void **state)
{
	struct launch *l = *state;
	char file[128];

	if (l->pid > 0)
		kill(l->pid, SIGKILL);
	if (l->starter > 0) {
		kill(l->starter, SIGKILL);
		waitpid(l->starter, NULL, 0);
	}
	for (int i = 0; i < l->n_moves; i++)
		close(l->moves[i][0]);
	close(l->pipe_r);
	unlink(l->path);
	snprintf(file, sizeof file, "%s/file", l->dir);
	unlink(file);
	rmdir(l->dir);
	return 0;
}

/* --listen PATH: 0, 1, 2 and the socket it made, at 3. */
static void listen_path_keeps_nothing_inherited(void **state)
{
	static const int want[] = { 0, 1, 2, 3 };
	struct launch *l = *state;

	start(l, (const char *const[]){ "--listen", l->path, NULL });
	assert_int_equal(hello_pid(l->path), l->pid);
	holds_exactly(l->pid, want, 4);
	assert_true(is_socket(l->pid, 3));
	pipe_reader_sees_eof(l);
	stop(l);
}

/* 0-2 closed by the starter: each is /dev/null in the server, and no other
 * /dev/null is left open. */
static void closed_stdio_becomes_dev_null(void **state)
{
	static const int want[] = { 0, 1, 2, 3 };
	struct launch *l = *state;
	char what[256];

	if (under_valgrind())
		skip(); /* valgrind keeps fd 2 for its log: no client may open it */
	l->close_stdio = 1;
	start(l, (const char *const[]){ "--listen", l->path, NULL });
	assert_int_equal(hello_pid(l->path), l->pid);
	holds_exactly(l->pid, want, 4);
	for (int fd = 0; fd <= 2; fd++) {
		fd_target(l->pid, fd, what, sizeof what);
		assert_string_equal(what, "/dev/null");
	}
	assert_true(is_socket(l->pid, 3));
	pipe_reader_sees_eof(l);
	stop(l);
}

/* Without close_range the server closes what /proc/self/fd lists. */
static void without_close_range_too(void **state)
{
	static const int want[] = { 0, 1, 2, 3 };
	struct launch *l = *state;

	l->no_close_range = 1;
	start(l, (const char *const[]){ "--listen", l->path, NULL });
	assert_int_equal(hello_pid(l->path), l->pid);
	holds_exactly(l->pid, want, 4);
	assert_true(is_socket(l->pid, 3));
	pipe_reader_sees_eof(l);
	stop(l);
}

/* make_persistent's shape: an inherited listening socket and connection,
 * plus an fd named by --keep-fd; all three kept at their numbers, the
 * connection served first, everything else closed. */
static void inherited_sockets_and_keep_fd(void **state)
{
	static const int want[] = { 0, 1, 2, 9, 10, 12 };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct launch *l = *state;
	struct near_hello h;
	struct stat ours;
	char what[256], expect[64];
	int lfd, sv[2], kept;

	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", l->path);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(lfd, 4), 0);
	assert_int_equal(fstat(lfd, &ours), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	kept = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	assert_true(kept >= 0);
	pass(l, lfd, 9);
	pass(l, sv[1], 10);
	pass(l, kept, 12);
	pass(l, sv[0], -1); /* ours: closed with the rest at teardown */
	start(l, (const char *const[]){ "--listen-fd", "9", "--fd", "10", "--keep-fd", "12",
					NULL });
	/* It serves the inherited connection first: its hello comes there. */
	read_hello(l->moves[l->n_moves - 1][0], &h);
	assert_int_equal(h.pid, l->pid);
	holds_exactly(l->pid, want, 6);
	fd_target(l->pid, 9, what, sizeof what);
	snprintf(expect, sizeof expect, "socket:[%lu]", (unsigned long)ours.st_ino);
	assert_string_equal(what, expect);
	assert_true(is_socket(l->pid, 10));
	fd_target(l->pid, 12, what, sizeof what);
	assert_string_equal(what, "/dev/zero");
	pipe_reader_sees_eof(l);
	stop(l);
}

/* --daemon: the detached server holds 0-2 on /dev/null and its socket. */
static void daemon_keeps_nothing_inherited(void **state)
{
	static const int want[] = { 0, 1, 2, 3 };
	struct launch *l = *state;
	char what[256];
	int status;

	start(l, (const char *const[]){ "--listen", l->path, "--daemon", NULL });
	/* The starter returns once the socket listens; the server is its child. */
	status = starter_status(l);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	l->pid = hello_pid(l->path);
	assert_true(l->pid > 0);
	holds_exactly(l->pid, want, 4);
	for (int fd = 0; fd <= 2; fd++) {
		fd_target(l->pid, fd, what, sizeof what);
		assert_string_equal(what, "/dev/null");
	}
	assert_true(is_socket(l->pid, 3));
	pipe_reader_sees_eof(l);
	stop(l);
}

/* An fd to keep must be open, and a socket option is taken once: usage
 * errors (2), not a server holding what it does not serve. */
static void bad_keep_and_twice_given_are_usage_errors(void **state)
{
	struct launch *l = *state;
	int status, sv[2];

	start(l, (const char *const[]){ "--listen", l->path, "--keep-fd", "40", NULL });
	status = starter_status(l);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 2);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	pass(l, sv[0], 10);
	pass(l, sv[1], 11);
	start(l, (const char *const[]){ "--fd", "10", "--fd", "11", NULL });
	status = starter_status(l);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 2);
}

/* /proc/PID/cmdline as ps shows it: NULs to spaces, trailing ones cut. */
static void read_title(pid_t pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	n = read(fd, buf, len - 1);
	close(fd);
	assert_true(n >= 0);
	while (n > 0 && buf[n - 1] == '\0')
		n--;
	buf[n] = '\0';
	for (ssize_t i = 0; i < n; i++)
		if (!buf[i])
			buf[i] = ' ';
}

/* Wait until the server's title is want.  Returns: 1, or 0 past the
 * deadline (got holds the last one). */
static int title_becomes(pid_t pid, const char *want, char *got, size_t len)
{
	for (int waited = 0; waited < deadline_ms(); waited += 10) {
		read_title(pid, got, len);
		if (!strcmp(got, want))
			return 1;
		pause_ms(10);
	}
	return 0;
}

/* ps shows what the server does (README: "persist-server: PATH (idle)" or
 * "(serving)"), in the room of its argv and of the environment strings it
 * moved: the title is longer than "persist-server --listen PATH". */
static void title_says_idle_or_serving(void **state)
{
	struct launch *l = *state;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char want[256], got[512];
	struct near_hello h;
	int fd;

	/* Valgrind's processes show their own command line. */
	if (under_valgrind())
		skip();
	/* So that the title does not fit in argv's room alone. */
	l->argv0 = "persist-server";
	start(l, (const char *const[]){ "--listen", l->path, NULL });
	assert_int_equal(hello_pid(l->path), l->pid);
	snprintf(want, sizeof want, "persist-server: %s (idle)", l->path);
	if (!title_becomes(l->pid, want, got, sizeof got))
		fail_msg("title \"%s\", not \"%s\"", got, want);
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", l->path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	read_hello(fd, &h);
	snprintf(want, sizeof want, "persist-server: %s (serving)", l->path);
	if (!title_becomes(l->pid, want, got, sizeof got))
		fail_msg("title \"%s\", not \"%s\"", got, want);
	close(fd);
	snprintf(want, sizeof want, "persist-server: %s (idle)", l->path);
	if (!title_becomes(l->pid, want, got, sizeof got))
		fail_msg("title \"%s\", not \"%s\"", got, want);
	stop(l);
}

/* --pidfile: the running server's pid is in it, and a second server on
 * the same file is refused (status 1) with the first one's pid. */
static void pidfile_refuses_a_second_server(void **state)
{
	struct launch *l = *state;
	char pidf[128], other[128], buf[64] = "", err[512] = "", want[64];
	int p[2], status, fd;
	pid_t second;
	ssize_t n;

	snprintf(pidf, sizeof pidf, "%s/pid", l->dir);
	snprintf(other, sizeof other, "%s/sock2", l->dir);
	start(l, (const char *const[]){ "--listen", l->path, "--pidfile", pidf, NULL });
	assert_int_equal(hello_pid(l->path), l->pid);
	fd = open(pidf, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_true(read(fd, buf, sizeof buf - 1) > 0);
	close(fd);
	assert_int_equal(atoi(buf), l->pid);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	second = fork();
	assert_true(second >= 0);
	if (second == 0) {
		dup2(p[1], 2);
		execl(PSERVER_EXE, PSERVER_EXE, "--listen", other, "--pidfile", pidf,
		      (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	n = read(p[0], err, sizeof err - 1);
	close(p[0]);
	assert_int_equal(waitpid(second, &status, 0), second);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	err[n > 0 ? n : 0] = '\0';
	snprintf(want, sizeof want, "already running as pid %d", (int)l->pid);
	if (!strstr(err, want))
		fail_msg("the second server said \"%s\"", err);
	stop(l);
	unlink(pidf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(listen_path_keeps_nothing_inherited, setup, teardown),
		cmocka_unit_test_setup_teardown(closed_stdio_becomes_dev_null, setup, teardown),
		cmocka_unit_test_setup_teardown(without_close_range_too, setup, teardown),
		cmocka_unit_test_setup_teardown(inherited_sockets_and_keep_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(daemon_keeps_nothing_inherited, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_keep_and_twice_given_are_usage_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(title_says_idle_or_serving, setup, teardown),
		cmocka_unit_test_setup_teardown(pidfile_refuses_a_second_server, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
