// SPDX-License-Identifier: MIT
/* The persist-server executable: take 0-2, parse arguments, let go of
 * every fd inherited but those named, set up the socket, make ourselves
 * interruptible by a controller taking over, run the loop.
 * Usage errors exit 2, runtime errors 1. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <asm/unistd.h>
#include <near/syscall.h>
#include <pserver/pserver.h>
#include "pidfile.h"
#include "relay.h"
#include "title.h"

#ifndef PSERVER_VERSION
#define PSERVER_VERSION "unknown"
#endif

/* A copy: title_set writes over the argv strings optarg points into. */
static char title_path[128] = "(inherited connection)";

static void usage(FILE *to)
{
	fprintf(to,
"usage: persist-server (--listen PATH | --listen-fd N | --fd N)... [OPTIONS]\n"
"Serve persist controllers: run the system calls they send, inside this\n"
"process, and keep this process, its fds and its children when they go.\n"
"\n"
"  --listen PATH     listen on a unix socket at PATH (its directory must have\n"
"                    mode 0700 and be ours; the socket gets mode 0600)\n"
"  --listen-fd N     listen on the inherited listening socket N\n"
"  --fd N            serve the inherited connected socket N first\n"
"  --keep-fd N       keep the inherited fd N open (repeatable); every other\n"
"                    inherited fd but 0-2 and the sockets above is closed\n"
"  --allow-uid UID   also accept controllers of UID (repeatable; our own uid\n"
"                    is always accepted)\n"
"  --daemon          detach and run in the background\n"
"  --relay SOCK      (alone) copy stdin to the server at SOCK and its answers\n"
"                    to stdout: a controller's way in through ssh's stdio\n"
"  --pidfile PATH    write our pid to PATH (and refuse to start if a running\n"
"                    server holds it)\n"
"  --help            show this help\n"
"  --version         show the version\n");
}

__attribute__((format(printf, 1, 2), noreturn))
static void die_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "persist-server: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\nTry 'persist-server --help'.\n");
	va_end(ap);
	exit(2);
}

static int socket_type(int fd)
{
	int type = 0;
	socklen_t len = sizeof type;

	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ? -1 : type;
}

/* A decimal number in [0, max], all of arg, as strtonum(3) takes it.
 * Returns: 0 with *v set; -EINVAL. */
static int parse_num(const char *arg, unsigned long max, unsigned long *v)
{
	char *end;

	if (*arg < '0' || *arg > '9')
		return -EINVAL;
	errno = 0;
	*v = strtoul(arg, &end, 10);
	return *end || errno || *v > max ? -EINVAL : 0;
}

static int parse_fd(const char *arg, const char *opt)
{
	unsigned long v;
	int fd;

	if (parse_num(arg, 1 << 20, &v) < 0)
		die_usage("%s: not an fd number: %s", opt, arg);
	fd = (int)v;
	if (fcntl(fd, F_GETFD) < 0)
		die_usage("%s: fd %s is not open", opt, arg);
	if (socket_type(fd) != SOCK_STREAM)
		die_usage("%s: fd %s is not a stream socket", opt, arg);
	return fd;
}

/* --keep-fd: any open fd will do. */
static int parse_keep_fd(const char *arg)
{
	unsigned long v;
	int fd;

	if (parse_num(arg, 1 << 20, &v) < 0)
		die_usage("--keep-fd: not an fd number: %s", arg);
	fd = (int)v;
	if (fcntl(fd, F_GETFD) < 0)
		die_usage("--keep-fd: fd %s is not open", arg);
	return fd;
}

/* Open /dev/null on each of 0, 1 and 2 that is closed (docs/design.md,
 * decision 18): otherwise the sockets a controller makes here would get
 * those numbers, and a child's stdio set up over them would close its own
 * connection.  Going up from 0, the lowest free number open() returns is
 * the one being filled, so no extra /dev/null fd is left behind.
 * Returns: 0, or -errno. */
static int take_stdio(void)
{
	for (int fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) < 0)
			return -errno;
	return 0;
}

static int is_kept(int fd, const int *keep, int n)
{
	for (int i = 0; i < n; i++)
		if (keep[i] == fd)
			return 1;
	return 0;
}

/* Without close_range (Linux < 5.9, some emulators): close what
 * /proc/self/fd lists.  Returns: 0, or -errno. */
static int close_listed(const int *keep, int n)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);

		if (*end || end == e->d_name || fd < 3 || fd == dirfd(d) ||
		    is_kept((int)fd, keep, n))
			continue;
		close((int)fd);
	}
	closedir(d);
	return 0;
}

/* Close every fd from 3 up except the n in keep (docs/design.md, decision
 * 18): a server outlives whoever started it, and must not hold their files,
 * locks or pipe ends (a reader of such a pipe would never see end of file).
 * keep is sorted here.  Returns: 0, or -errno. */
static int close_inherited(int *keep, int n)
{
	unsigned lo = 3;
	long r = 0;

	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			int t = keep[j];
			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	for (int i = 0; i < n && r == 0; i++) {
		unsigned k = (unsigned)keep[i];
		if (k < lo)
			continue;
		if (k > lo)
			r = near_syscall3(__NR_close_range, lo, k - 1, 0);
		lo = k + 1;
	}
	if (r == 0)
		r = near_syscall3(__NR_close_range, lo, ~0u, 0);
	return r == -ENOSYS ? close_listed(keep, n) : (int)r;
}

/* The signal a controller taking over sends us (docs/design.md, decision
 * 6).  SIGURG because its default action is to be ignored: a server older
 * than this handler, or a process that is not a server at all, is unharmed
 * by it, and programs take a stray one in their stride (the kernel sends
 * it only for out-of-band data, to a process that asked with F_SETOWN). */
#define TAKEOVER_SIGNAL SIGURG

/* It does nothing: its whole work is that, being installed without
 * SA_RESTART, its arrival ends the blocking syscall the loop is running for
 * a controller with -EINTR.  That becomes the request's answer, and the loop
 * goes back to waiting, where it accepts the newcomer and honours its
 * takeover.  It touches no state, so it cannot disturb the libc-free loop
 * it interrupts. */
static void takeover_signal(int sig)
{
	(void)sig;
}

/* Returns: 0, or -errno. */
static int catch_takeover_signal(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = takeover_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: interrupting is the point */
	return sigaction(TAKEOVER_SIGNAL, &sa, NULL) < 0 ? -errno : 0;
}

/* Call listen() again on the socket we serve, from this process.  A
 * connecting controller learns whom to signal from SO_PEERCRED on its end
 * of the connection, and for a unix socket that names the process that last
 * called listen() on the listener: without this, the launcher that --daemon
 * leaves behind, or the controller that made the socket before
 * make_persistent passed it to us (--listen-fd).  A socket that does not
 * listen is left as it is.  The backlog is pserver_listen's.
 * Returns: 0, or -errno. */
static int claim_listener(int fd)
{
	int on = 0;
	socklen_t len = sizeof on;

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) < 0)
		return -errno;
	if (!on)
		return 0;
	return listen(fd, 64) < 0 ? -errno : 0;
}

/* --daemon, as daemon(0, 0) does it (fork, setsid, chdir to /; the caller
 * then puts /dev/null on 0-2), except that the launcher exits only when
 * the detached server writes a byte on the returned fd: once it has
 * claimed its socket (claim_listener), no controller that sees the
 * launcher gone can connect and find the launcher named as the server.
 * The launcher exits 0 on that byte, 1 if the server ended first.
 * Returns (in the detached server): the fd to write the byte on and
 * close; -errno (in the process that called it) if it could not fork. */
static int detach(void)
{
	int p[2], err;
	pid_t pid;
	ssize_t n;
	char ok;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		err = -errno;
		close(p[0]);
		close(p[1]);
		return err;
	}
	if (pid > 0) {
		close(p[1]);
		do
			n = read(p[0], &ok, 1);
		while (n < 0 && errno == EINTR);
		if (n != 1)
			fprintf(stderr, "persist-server: the detached server ended before serving\n");
		_exit(n == 1 ? 0 : 1);
	}
	close(p[0]);
	if (setsid() < 0 || chdir("/") < 0) {
		err = -errno;
		close(p[1]);
		return err;
	}
	return p[1];
}

/* 0-2 of a detached server: /dev/null, like daemon(), and no extra fd
 * (decision 18).  Returns: 0, or -errno. */
static int null_stdio(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	for (int i = 0; i <= 2 && !err; i++)
		if (fd != i && dup2(fd, i) < 0)
			err = -errno;
	if (fd > 2)
		close(fd);
	return err;
}

static void show_state(struct pserver *s, enum pserver_state st)
{
	(void)s;
	title_set((const char *const[]){ "persist-server: ", title_path,
					 st == PSERVER_IDLE ? " (idle)" : " (serving)", NULL });
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, 0, 'l' },
		{ "listen-fd", required_argument, 0, 'L' },
		{ "fd", required_argument, 0, 'f' },
		{ "keep-fd", required_argument, 0, 'k' },
		{ "allow-uid", required_argument, 0, 'u' },
		{ "daemon", no_argument, 0, 'd' },
		{ "pidfile", required_argument, 0, 'p' },
		{ "help", no_argument, 0, 'h' },
		{ "version", no_argument, 0, 'V' },
		{ 0, 0, 0, 0 },
	};
	static struct pserver srv; /* large buffers: not on the stack */
	const char *listen_path = NULL, *pidpath = NULL;
	struct pidfile pf = { .fd = -1 };
	int daemonize = 0, c, r, n_keep = 0, ready = -1, other;
	unsigned long uid;
	char why[512] = "";
	/* Every fd named on the command line fits: at most one per argument.
	 * On the stack, where argv itself is (the kernel bounds it): the
	 * server never initialises malloc, one page less in each. */
	int keep[argc + 2];

	/* --relay SOCK: a pipe to a server for ssh's stdio, not a server. */
	if (argc == 3 && strcmp(argv[1], "--relay") == 0)
		return pserver_relay(argv[2]);

	/* Our children inherit ignored signals and the signal mask across
	 * execve; start them (and us: SIGCHLD must never be ignored, or exit
	 * statuses would be lost) from the defaults, whatever we inherited.
	 * TAKEOVER_SIGNAL gets its handler below (a caught signal is reset to
	 * the default by execve, so children still start from the defaults). */
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	sigprocmask(SIG_SETMASK, &(sigset_t){ 0 }, NULL);
	r = take_stdio();
	if (r < 0) {
		/* stderr may be the very thing missing: the status must say it. */
		fprintf(stderr, "persist-server: cannot open /dev/null on fds 0-2: %s\n",
			strerror(-r));
		return 1;
	}
	title_init(argc, argv);
	pserver_init(&srv);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l': listen_path = optarg; break;
		/* Given twice, the first would be neither served nor closed. */
		case 'L':
			if (srv.listen_fd >= 0)
				die_usage("--listen-fd given twice");
			srv.listen_fd = parse_fd(optarg, "--listen-fd");
			break;
		case 'f':
			if (srv.conn_fd >= 0)
				die_usage("--fd given twice");
			srv.conn_fd = parse_fd(optarg, "--fd");
			break;
		case 'k': keep[n_keep++] = parse_keep_fd(optarg); break;
		case 'u':
			if (srv.n_uids == PSERVER_MAX_UIDS)
				die_usage("too many --allow-uid (at most %d)", PSERVER_MAX_UIDS - 1);
			if (parse_num(optarg, 0xfffffffe, &uid) < 0)
				die_usage("--allow-uid: not a uid: %s", optarg);
			srv.uids[srv.n_uids++] = (uint32_t)uid;
			break;
		case 'd': daemonize = 1; break;
		case 'p': pidpath = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V':
			printf("persist-server %s (protocol %u, %s)\n", PSERVER_VERSION,
			       NEAR_PROTO_VERSION, near_arch_name());
			return 0;
		default:
			die_usage("unknown or incomplete option: %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		die_usage("unexpected argument: %s", argv[optind]);
	if (!listen_path && srv.listen_fd < 0 && srv.conn_fd < 0)
		die_usage("nothing to serve: give --listen PATH, --listen-fd N or --fd N");
	if (listen_path && srv.listen_fd >= 0)
		die_usage("--listen and --listen-fd exclude each other");

	/* Before the pidfile and the socket we open ourselves: from here on,
	 * every fd above 2 is one we were told to keep or made. */
	if (srv.listen_fd >= 0)
		keep[n_keep++] = srv.listen_fd;
	if (srv.conn_fd >= 0)
		keep[n_keep++] = srv.conn_fd;
	r = close_inherited(keep, n_keep);
	if (r < 0) {
		fprintf(stderr, "persist-server: cannot close the fds it inherited: %s\n",
			strerror(-r));
		return 1;
	}

	if (pidpath) {
		r = pidfile_claim(&pf, pidpath, &other);
		if (r == -EEXIST) {
			fprintf(stderr, "persist-server: already running as pid %d (pidfile %s)\n",
				other, pidpath);
			return 1;
		}
		if (r < 0) {
			fprintf(stderr, "persist-server: pidfile %s: %s\n", pidpath, strerror(-r));
			return 1;
		}
	}
	if (listen_path) {
		r = pserver_listen(listen_path, why, sizeof why);
		if (r < 0) {
			fprintf(stderr, "persist-server: %s\n", why[0] ? why : strerror(-r));
			pidfile_drop(&pf);
			return 1;
		}
		srv.listen_fd = r;
		snprintf(title_path, sizeof title_path, "%s", listen_path);
	}
	if (daemonize) {
		ready = detach();
		if (ready < 0) {
			fprintf(stderr, "persist-server: cannot detach: %s\n", strerror(-ready));
			return 1;
		}
	}
	/* In the process that serves, after detach()'s fork; neither failure
	 * stops us serving, only taking over a server stuck in a syscall. */
	r = catch_takeover_signal();
	if (r == 0 && srv.listen_fd >= 0)
		r = claim_listener(srv.listen_fd);
	if (r < 0)
		fprintf(stderr, "persist-server: a controller taking over will not be able to "
			"interrupt a blocking syscall: %s\n", strerror(-r));
	if (ready >= 0) {
		r = null_stdio();
		if (r < 0) {
			fprintf(stderr, "persist-server: cannot detach: /dev/null: %s\n",
				strerror(-r));
			return 1;
		}
	}
	if (pf.fd >= 0 && (r = pidfile_put(&pf)) < 0)
		fprintf(stderr, "persist-server: pidfile %s: %s\n", pf.path, strerror(-r));
	if (ready >= 0) {
		(void)!write(ready, "", 1); /* the launcher may exit now */
		close(ready);
	}
	srv.on_state = show_state;
	srv.entry_clone = (uint64_t)(uintptr_t)near_clone;
	srv.entry_serve = (uint64_t)(uintptr_t)pserver_clone_main;
	r = pserver_run(&srv);
	pidfile_drop(&pf);
	if (r < 0) {
		fprintf(stderr, "persist-server: %s\n", strerror(-r));
		return 1;
	}
	return 0;
}
