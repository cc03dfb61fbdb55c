// SPDX-License-Identifier: MIT
/* A session on another host, through OpenSSH (docs/design.md, decision 12).
 *
 * The store, the controller lock and the local end of the forward stay in
 * the local state directory; the thread runs on the far host on that
 * host's own state directory.  Two ssh runs per connection at most:
 *
 *  1. when the far directory is not known yet (no option, no record of a
 *     thread of this host), a run of the setup script alone, which names
 *     it (B's PERSIST_STATE_DIR, else XDG_RUNTIME_DIR/persist, else
 *     /tmp/persist-UID, as persist_session_default_dir on B would);
 *  2. ssh -L LOCAL:FARDIR/sock with the setup script as its command (it
 *     makes FARDIR and FARDIR/logs, starts persist-server there when asked,
 *     says "persist-ready", then holds the session open with cat).  The
 *     command session and not -N: sshd turns Nagle off only for sessions,
 *     and pipelined batches would stall behind it.
 *
 * ssh is $PERSIST_SSH run by /bin/sh with the arguments after it, as git
 * runs GIT_SSH_COMMAND, so "ssh -F cfg" or a wrapper with quoting works.
 * Its stderr goes to DIR/ssh-HASH-XXXXXX.err (the session's own, as is the
 * forward's local end, DIR/ssh-HASH-XXXXXX.sock), where the messages of a failure are
 * read back for why.  Every wait here has the session's deadline; ssh is
 * killed when it passes.  The ssh process ends when we do: its stdin is
 * our pipe, and at its end the far cat ends the session. */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <asm/unistd.h>
#include <transport/mem.h>
#include "session_internal.h"

extern char **environ;

/* The far half: sh, whatever the login shell (the command line ssh sends
 * is run by it, so the script goes as one quoted argument of sh -c).
 * %s: the far directory (quoted, may be ''), the server (quoted, may be
 * ''), the name of a server shipped there (may be ''), 1 to start it, 1 if
 * it is needed (start, relay), what to do once ready. */
static const char setup_fmt[] =
	"d=%s; srv=%s; sh=%s; start=%d; need=%d; "
	"if [ -z \"$d\" ]; then "
	"if [ -n \"$PERSIST_STATE_DIR\" ]; then d=$PERSIST_STATE_DIR; "
	"elif [ -n \"$XDG_RUNTIME_DIR\" ]; then d=$XDG_RUNTIME_DIR/persist; "
	"else d=/tmp/persist-$(id -u); fi; fi; "
	"umask 077; mkdir -p \"$d/logs\" || { echo \"persist-error cannot make $d/logs\"; exit 0; }; "
	"echo \"persist-dir $d\"; "
	"[ -n \"$srv\" ] || srv=$(command -v persist-server) || "
	"{ [ -n \"$sh\" ] && [ -O \"$d\" ] && [ -O \"$d/$sh\" ] && "
	"[ -O \"$d/$sh/persist-server\" ] && [ -x \"$d/$sh/persist-server\" ] && "
	"srv=$d/$sh/persist-server; } || srv=; "
	"if [ $need = 1 ] && [ -z \"$srv\" ]; then echo persist-noserver; exit 0; fi; "
	"if [ $start = 1 ]; then "
	/* Its output to a file, not a pipe: a detached server that kept a
	 * copy of a pipe would hold $(...) and the ssh session open. */
	"\"$srv\" --listen \"$d/sock\" --daemon </dev/null >\"$d/start.log\" 2>&1 || "
	"{ m=$(head -c 300 \"$d/start.log\"); case $m in *'already listening'*) ;; "
	"*) echo \"persist-error $srv: $m\"; exit 0;; esac; }; fi; "
	"if [ $start = 0 ] && [ ! -S \"$d/sock\" ]; then echo persist-nosock; exit 0; fi; "
	"echo persist-ready; %s";

/* FNV-1a: a short file name for a destination. */
static unsigned long long hash(const char *s)
{
	unsigned long long h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* s quoted for sh into out: 'it'\''s'.  Returns: 0; -ENAMETOOLONG. */
static int sh_quote(const char *s, char *out, size_t len)
{
	size_t n = 0;

	if (len < 3)
		return -ENAMETOOLONG;
	out[n++] = '\'';
	for (; *s; s++) {
		if (n + 6 >= len)
			return -ENAMETOOLONG;
		if (*s == '\'') {
			memcpy(out + n, "'\\''", 4);
			n += 4;
		} else {
			out[n++] = *s;
		}
	}
	out[n++] = '\'';
	out[n] = 0;
	return 0;
}

/* Remove the forwards' sockets and ssh logs in dir that no live session
 * holds.  A session holds a lock (flock) on its log, ssh-HASH-XXXXXX.err,
 * from its open to its close (and so does its ssh, which writes to the
 * same open file), whatever pid namespace it is in; a log nobody holds is
 * of a session that ended or was killed, and its forward's socket
 * (ssh-HASH-XXXXXX.sock) is dead with it.  The log of a session that
 * ended stays until the next session opens: a failure's message may point
 * at it. */
static void forget_dead_forwards(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char stem[64], sockname[80];
		unsigned long long h;
		int at = 0, fd;

		if (sscanf(e->d_name, "ssh-%16llx-%*6[A-Za-z0-9].err%n", &h, &at) != 1 ||
		    e->d_name[at] || at != 31)
			continue;
		fd = openat(dirfd(d), e->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		if (fd < 0)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			snprintf(stem, sizeof stem, "%.27s", e->d_name);
			snprintf(sockname, sizeof sockname, "%s.sock", stem);
			unlinkat(dirfd(d), sockname, 0);
			unlinkat(dirfd(d), e->d_name, 0);
		}
		close(fd);
	}
	closedir(d);
}

int persist__ssh_paths(struct persist_session *s, char *why, size_t whylen)
{
	unsigned long long h = hash(s->host);
	size_t n = strlen(s->dir);
	int fd;

	/* The forward and its log are this session's alone: it keeps its ssh
	 * while a wait sleeps (persist__release), and meanwhile another
	 * controller of the host may set up its own.  Made like mkstemp's
	 * names, locked for the session's life (forget_dead_forwards). */
	if (n + sizeof "/ssh-0123456789abcdef-XXXXXX.sock" > sizeof s->sock) {
		persist__say(why, whylen, "state directory %s is too long for the local end of "
			     "the ssh forward (%zu bytes at most): choose a shorter one", s->dir,
			     sizeof s->sock - sizeof "/ssh-0123456789abcdef-XXXXXX.sock");
		return -ENAMETOOLONG;
	}
	snprintf(s->lock_path, sizeof s->lock_path, "%s/ssh-%016llx.lock", s->dir, h);
	forget_dead_forwards(s->dir);
	snprintf(s->ssh_err, sizeof s->ssh_err, "%s/ssh-%016llx-XXXXXX.err", s->dir, h);
	/* O_APPEND: each ssh's log starts at the truncated file's start. */
	fd = mkostemps(s->ssh_err, 4, O_CLOEXEC | O_APPEND);
	if (fd < 0) {
		int e = errno;
		persist__say(why, whylen, "cannot make the ssh log in %s: %s", s->dir, strerror(e));
		return -e;
	}
	flock(fd, LOCK_EX); /* new and ours: at once */
	s->ssh_err_fd = fd;
	snprintf(s->sock, sizeof s->sock, "%.*s.sock", (int)(strlen(s->ssh_err) - 4), s->ssh_err);
	return 0;
}

void persist__ssh_forget(struct persist_session *s)
{
	persist__ssh_stop(s);
	if (s->ssh_err_fd >= 0)
		close(s->ssh_err_fd); /* the log stays, for what it says, until the next open */
	s->ssh_err_fd = -1;
}

/* The last line ssh wrote on stderr, for why ("" if none). */
static void ssh_said(struct persist_session *s, char *buf, size_t len)
{
	FILE *f = fopen(s->ssh_err, "re");
	char line[512];

	*buf = 0;
	if (!f)
		return;
	while (fgets(line, sizeof line, f))
		if (line[strspn(line, " \t\r\n")]) {
			line[strcspn(line, "\r\n")] = 0;
			snprintf(buf, len, "%s", line);
		}
	fclose(f);
}

/* Reap pid within ms, SIGKILLing it then.  Returns: the signal that ended
 * it from outside (0: it exited, could not be waited for, or we killed it:
 * an ssh killed by someone else is worth another try, ours is not). */
static int reap_within(pid_t pid, int64_t ms)
{
	int64_t deadline = persist__mono_ms() + ms;

	for (;;) {
		struct timespec ts = { 0, 5 * 1000 * 1000 };
		int st = 0;
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			return WIFSIGNALED(st) ? WTERMSIG(st) : 0;
		if (w < 0 && errno != EINTR)
			return 0;
		if (persist__mono_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return 0;
		}
		nanosleep(&ts, NULL);
	}
}

void persist__ssh_stop(struct persist_session *s)
{
	if (s->ssh_in >= 0)
		close(s->ssh_in); /* the far cat ends, and the session with it */
	if (s->ssh_out >= 0)
		close(s->ssh_out);
	s->ssh_in = s->ssh_out = -1;
	if (s->ssh_pid > 0)
		s->ssh_killed = reap_within(s->ssh_pid, 2000);
	s->ssh_pid = 0;
	if (s->ssh_fwd)
		unlink(s->sock); /* ssh leaves its end of the forward behind */
	s->ssh_fwd = 0;
}

int persist__ssh_forward_alive(struct persist_session *s)
{
	int st;

	if (s->relay || s->ssh_pid <= 0 || !s->rdir[0])
		return 0;
	switch (waitpid(s->ssh_pid, &st, WNOHANG)) {
	case 0:
		return 1;
	case -1:
		st = 0; /* not ours to wait for: gone as far as we know */
	}
	/* It ended: tidy up what is left. */
	s->ssh_pid = 0;
	persist__ssh_stop(s);
	s->ssh_killed = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
	return 0;
}

/* Start ssh with args (after $PERSIST_SSH) and the far command cmd.
 * Returns: 0 with s->ssh_*; -errno. */
static int ssh_spawn(struct persist_session *s, const char *const *args, size_t nargs,
		     const char *cmd, char *why, size_t whylen)
{
	const char *ssh = getenv("PERSIST_SSH");
	char line[1024];
	const char *argv[16];
	posix_spawn_file_actions_t fa;
	int in[2], out[2], r;
	size_t n = 0;
	pid_t pid;

	if (!ssh || !*ssh)
		ssh = "ssh";
	if (snprintf(line, sizeof line, "exec %s \"$@\"", ssh) >= (int)sizeof line)
		return -ENAMETOOLONG;
	argv[n++] = "/bin/sh";
	argv[n++] = "-c";
	argv[n++] = line;
	argv[n++] = "persist-ssh";
	for (size_t i = 0; i < nargs && n < 12; i++)
		argv[n++] = args[i];
	argv[n++] = "--";
	argv[n++] = s->host;
	argv[n++] = cmd;
	argv[n] = NULL;
	if (pipe2(in, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(out, O_CLOEXEC) < 0) {
		r = -errno;
		close(in[0]);
		close(in[1]);
		return r;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, s->ssh_relay_fd >= 0 ? s->ssh_relay_fd :
					      s->ssh_ship_fd >= 0 ? s->ssh_ship_fd : in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, s->ssh_relay_fd >= 0 ? s->ssh_relay_fd : out[1], 1);
	if (ftruncate(s->ssh_err_fd, 0) < 0) {
		/* The earlier ssh's lines stay: the last one is still this one's. */
	}
	posix_spawn_file_actions_adddup2(&fa, s->ssh_err_fd, 2);
	r = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	if (r != 0) {
		close(in[1]);
		close(out[0]);
		persist__say(why, whylen, "cannot run %s: %s", ssh, strerror(r));
		return -r;
	}
	s->ssh_pid = pid;
	s->ssh_in = in[1];
	s->ssh_out = out[0];
	return 0;
}

/* What the far script said, up to "persist-ready" or its end, within the
 * deadline, into buf.  Returns: 0 (ready); -ENOENT (no persist-server on
 * the far host); -EIO (the script said what failed, in why);
 * -EHOSTUNREACH (ssh ended first: its message in why); -ETIMEDOUT. */
static int ssh_read_from(struct persist_session *s, int fd, int bytewise, int64_t deadline,
			 char *why, size_t whylen);

static int ssh_read(struct persist_session *s, int64_t deadline, char *why, size_t whylen)
{
	return ssh_read_from(s, s->ssh_out, 0, deadline, why, whylen);
}

/* bytewise: read one byte at a time, so that nothing after "persist-ready"
 * (the server's hello, on a relay) is taken. */
static int ssh_read_from(struct persist_session *s, int fd, int bytewise, int64_t deadline,
			 char *why, size_t whylen)
{
	char buf[4096], said[512], *p, *line;
	size_t len = 0;

	for (;;) {
		struct pollfd pf = { fd, POLLIN, 0 };
		int64_t left = deadline - persist__mono_ms();
		ssize_t k;

		buf[len] = 0;
		if (strstr(buf, "persist-ready\n"))
			break;
		if (left <= 0) {
			persist__say(why, whylen, "ssh %s did not set up the far side within %d s "
				     "(see %s)", s->host, PERSIST_SESSION_DEADLINE_MS / 1000,
				     s->ssh_err);
			return -ETIMEDOUT;
		}
		if (poll(&pf, 1, (int)(left > 1000 ? 1000 : left)) <= 0)
			continue;
		k = read(fd, buf + len, bytewise ? 1 : sizeof buf - 1 - len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0 || len + (size_t)k >= sizeof buf - 1) {
			buf[len > 0 ? len : 0] = 0;
			break;
		}
		len += (size_t)k;
	}
	for (line = buf; (p = strchr(line, '\n')); line = p + 1) {
		*p = 0;
		if (strncmp(line, "persist-dir ", 12) == 0 && !s->rdir[0])
			snprintf(s->rdir, sizeof s->rdir, "%s", line + 12);
		if (strcmp(line, "persist-noserver") == 0) {
			s->far_noserver = 1;
			persist__say(why, whylen, "no persist-server on %s's PATH: install persist "
				     "there (persist-server), or name its path (PERSIST_FAR_SERVER "
				     "or the host options' server)", s->host);
			return -ENOENT;
		}
		if (strcmp(line, "persist-nosock") == 0) {
			persist__say(why, whylen, "no server runs on %s in %s (start one)", s->host,
				     s->rdir);
			return -ECONNREFUSED;
		}
		if (strncmp(line, "persist-error ", 14) == 0) {
			persist__say(why, whylen, "on %s: %s", s->host, line + 14);
			return -EIO;
		}
		if (strcmp(line, "persist-ready") == 0)
			return 0;
	}
	persist__ssh_stop(s);
	ssh_said(s, said, sizeof said);
	if (!said[0] && s->ssh_killed)
		snprintf(said, sizeof said, "it was killed by signal %d before the far side was "
			 "set up", s->ssh_killed);
	persist__say(why, whylen, "ssh %s failed: %s (PERSIST_SSH='%s')", s->host,
		     said[0] ? said : "it ended before the far side was set up",
		     getenv("PERSIST_SSH") ? getenv("PERSIST_SSH") : "ssh");
	return -EHOSTUNREACH;
}

/* The far half of shipping our server: %s the far directory (quoted),
 * the directory to put it in there (ship_name), its size in bytes.  Only
 * into directories of ours (-O): in a shared /tmp another user could have
 * made the far directory first, and the setup runs what it finds there.
 * It comes on stdin, into a temporary file that becomes DIR/persist-server
 * only whole (its size checked) and once it runs there (--version): a
 * cut copy, or one for another machine, is removed and never named.
 * Temporary files that a killed ssh left there for 10 minutes go at the
 * next shipping into DIR. */
static const char ship_fmt[] =
	"b=%s; d=\"$b/%s\"; f=\"$d/persist-server\"; n=%lld; umask 077; "
	"[ -O \"$b\" ] || { echo \"persist-error $b is not ours: not shipping into it\"; exit 0; }; "
	"mkdir -p \"$d\" && [ -O \"$d\" ] || { echo \"persist-error cannot make $d\"; exit 0; }; "
	"find \"$d\" -maxdepth 1 -name '.ship.*' -mmin +10 -exec rm -f {} + 2>/dev/null; "
	"t=$(mktemp \"$d/.ship.XXXXXX\") || { echo \"persist-error cannot write in $d\"; exit 0; }; "
	"if ! cat >\"$t\"; then rm -f \"$t\"; echo \"persist-error cannot write $t (space?)\"; exit 0; fi; "
	"if ! s=$(wc -c <\"$t\") || [ \"$s\" -ne $n ]; then rm -f \"$t\"; "
	"echo \"persist-error the copy of persist-server was cut short\"; exit 0; fi; "
	"chmod 700 \"$t\"; "
	"if ! m=$(\"$t\" --version 2>&1); then rm -f \"$t\"; echo \"persist-error the persist-server "
	"shipped from here does not run there ($(uname -m)): $m\"; exit 0; fi; "
	"mv -f \"$t\" \"$f\" || { rm -f \"$t\"; echo \"persist-error cannot name $f\"; exit 0; }; "
	"echo persist-ready";

/* Where our server goes on a far host: FARDIR/ship-HASH/persist-server,
 * HASH of its bytes, so that a far host keeps one copy per build and never
 * runs another build's under our name (and ps there shows persist-server).
 * Shipping is off where PERSIST_FAR_SHIP=0 or a far server is named (the
 * host's or PERSIST_FAR_SERVER).  Returns: nothing; ship_name "" when off
 * or our server cannot be read. */
static void ship_name(struct persist_session *s, const char *srv)
{
	const char *off = getenv("PERSIST_FAR_SHIP");
	unsigned long long h = 1469598103934665603ULL;
	unsigned char buf[8192];
	int fd;
	ssize_t k;

	if (s->ship_name[0] || (srv && *srv) || (off && !strcmp(off, "0")))
		return;
	fd = open(persist_server_exe(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	while ((k = read(fd, buf, sizeof buf)) > 0 || (k < 0 && errno == EINTR))
		for (ssize_t i = 0; i < k; i++)
			h = (h ^ buf[i]) * 1099511628211ULL;
	close(fd);
	if (k == 0)
		snprintf(s->ship_name, sizeof s->ship_name, "ship-%016llx", h);
}

/* Copy our persist-server to the far directory as ship_name (ship_fmt),
 * through ssh's stdin.  Returns: 0; -errno with why set. */
static int ship(struct persist_session *s, int64_t deadline, char *why, size_t whylen)
{
	char qdir[PATH_MAX * 2], cmd[sizeof ship_fmt + 2 * PATH_MAX + 96];
	const char *exe = persist_server_exe();
	struct stat st;
	int fd, r;

	if (sh_quote(s->rdir, qdir, sizeof qdir) < 0)
		return -ENAMETOOLONG;
	fd = open(exe, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = -errno;
		if (fd >= 0)
			close(fd);
		persist__say(why, whylen, "no persist-server on %s, and ours (%s) cannot be read to "
			     "ship there: %s", s->host, exe, strerror(-r));
		return r;
	}
	snprintf(cmd, sizeof cmd, ship_fmt, qdir, s->ship_name, (long long)st.st_size);
	s->ssh_ship_fd = fd;
	r = ssh_spawn(s, NULL, 0, cmd, why, whylen);
	s->ssh_ship_fd = -1;
	close(fd);
	if (r < 0)
		return r;
	close(s->ssh_in); /* its stdin is the file */
	s->ssh_in = -1;
	r = ssh_read(s, deadline, why, whylen);
	persist__ssh_stop(s);
	if (r < 0) {
		char inner[400];
		const char *m = inner;
		size_t hl = strlen(s->host);
		snprintf(inner, sizeof inner, "%s", why && whylen ? why : strerror(-r));
		if (!strncmp(m, "on ", 3) && !strncmp(m + 3, s->host, hl) && !strncmp(m + 3 + hl, ": ", 2))
			m += 5 + hl; /* ssh_read_from's "on HOST: " */
		persist__say(why, whylen, "no persist-server on %s's PATH, and shipping ours failed: "
			     "%s (install persist there, or name its server: PERSIST_FAR_SERVER)",
			     s->host, m);
	}
	return r;
}

/* After r, a setup that said it found no server, for a start: ship ours
 * and say to try again, once a connect (*tried), where shipping is on and
 * the far directory is known.  A command that starts nothing never ships.
 * Returns: 1 (try again); 0 (r stands); -errno (shipping failed, why
 * set). */
static int shipped(struct persist_session *s, int r, int start, int *tried, int64_t deadline,
		   char *why, size_t whylen)
{
	if (r != -ENOENT || !s->far_noserver || !start || !s->ship_name[0] || *tried ||
	    s->rdir[0] != '/')
		return 0;
	*tried = 1;
	r = ship(s, deadline, why, whylen);
	return r < 0 ? r : 1;
}

static int ssh_connect_once(struct persist_session *s, int start, int64_t deadline,
			    char *why, size_t whylen);

/* A cut connection (ssh killed by a signal on the way: not a refusal,
 * which ssh reports by exiting) is tried again, within the deadline, and
 * so is a far host without persist-server once ours is shipped there. */
int persist__ssh_connect(struct persist_session *s, int start, char *why, size_t whylen)
{
	int64_t deadline = persist__mono_ms() + PERSIST_SESSION_DEADLINE_MS;
	int r, tried = 0;

	for (int tries = 0;; tries++) {
		int again;
		s->far_noserver = 0;
		r = ssh_connect_once(s, start, deadline, why, whylen);
		again = shipped(s, r, start, &tried, deadline, why, whylen);
		if (again < 0)
			return again;
		if (again)
			continue;
		if (r != -EHOSTUNREACH || !s->ssh_killed || tries >= 4 ||
		    persist__mono_ms() > deadline)
			return r;
	}
}

static int ssh_connect_once(struct persist_session *s, int start, int64_t deadline,
			    char *why, size_t whylen)
{
	char qdir[PATH_MAX * 2], qsrv[PATH_MAX * 2], cmd[sizeof setup_fmt + 4 * PATH_MAX + 128];
	char fwd[sizeof s->sock + PATH_MAX + 8];
	const char *fwd_args[] = { "-o", "StreamLocalBindUnlink=yes", "-o",
				   "ExitOnForwardFailure=yes", "-L", fwd };
	const char *srv = s->far_server[0] ? s->far_server : getenv("PERSIST_FAR_SERVER");
	int r;

	ship_name(s, srv);
	if (!s->rdir[0]) {
		/* Run 1: where the far directory is. */
		if (sh_quote(srv ? srv : "", qsrv, sizeof qsrv) < 0)
			return -ENAMETOOLONG;
		snprintf(cmd, sizeof cmd, setup_fmt, "''", qsrv, s->ship_name, start, start, "");
		r = ssh_spawn(s, NULL, 0, cmd, why, whylen);
		if (r < 0)
			return r;
		r = ssh_read(s, deadline, why, whylen);
		persist__ssh_stop(s);
		if (r < 0)
			return r; /* -ENOENT with rdir known: shipping may follow */
		if (!s->rdir[0] || s->rdir[0] != '/') {
			persist__say(why, whylen, "%s named no absolute state directory ('%s')",
				     s->host, s->rdir);
			s->rdir[0] = 0;
			return -EPROTO;
		}
	}
	if (sh_quote(s->rdir, qdir, sizeof qdir) < 0 ||
	    sh_quote(srv ? srv : "", qsrv, sizeof qsrv) < 0 ||
	    snprintf(fwd, sizeof fwd, "%s:%s/sock", s->sock, s->rdir) >= (int)sizeof fwd)
		return -ENAMETOOLONG;
	snprintf(cmd, sizeof cmd, setup_fmt, qdir, qsrv, s->ship_name, start, start,
		 "exec cat >/dev/null");
	r = ssh_spawn(s, fwd_args, sizeof fwd_args / sizeof *fwd_args, cmd, why, whylen);
	if (r < 0)
		return r;
	s->ssh_fwd = 1;
	r = ssh_read(s, deadline, why, whylen);
	if (r < 0) {
		persist__ssh_stop(s);
		return r;
	}
	return 0;
}

/* Interrupt the far server's syscall on its own host (docs/design.md,
 * decision 6: a controller that died inside a blocking syscall must not
 * lock everyone out).  The peer of our socket is ssh, so the signal goes
 * by one more ssh: to the server this store last recorded for the thread,
 * checked on B to still be that process (pid and start time) before the
 * signal, so a pid reused there is left alone.  At most once a second,
 * each ssh bounded by NUDGE_SSH_MS; errors are ignored (the connect's own
 * deadline says the rest). */
#define NUDGE_SSH_MS 10000
void persist__ssh_nudge(void *arg)
{
	struct persist_session *s = arg;
	struct persist_thread_rec rec = { 0 };
	char key[sizeof s->key], cmd[256];
	const char *ssh = getenv("PERSIST_SSH");
	char line[1024];
	const char *argv[] = { "/bin/sh", "-c", line, "persist-ssh", "--", s->host, cmd, NULL };
	posix_spawn_file_actions_t fa;
	int64_t now = persist__mono_ms();
	pid_t pid;
	int r;

	if (s->far_nudged_ms && now - s->far_nudged_ms < 1000)
		return;
	s->far_nudged_ms = now;
	if (!s->rdir[0] || snprintf(key, sizeof key, "%s:%s/sock", s->host, s->rdir) >=
				   (int)sizeof key ||
	    persist_store_thread_find(s->st, key, &rec) < 0)
		return;
	r = rec.pid > 0 ? 0 : -ESRCH;
	if (r == 0)
		snprintf(cmd, sizeof cmd, "p=%d; st=%llu; [ \"$(sed 's/.*) //' /proc/$p/stat "
			 "2>/dev/null | cut -d' ' -f20)\" = \"$st\" ] && kill -URG $p",
			 rec.pid, (unsigned long long)rec.starttime);
	persist_thread_rec_clear(&rec);
	if (r < 0)
		return;
	if (!ssh || !*ssh)
		ssh = "ssh";
	if (snprintf(line, sizeof line, "exec %s \"$@\"", ssh) >= (int)sizeof line)
		return;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	r = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		return;
	reap_within(pid, NUDGE_SSH_MS);
}

int persist__ssh_refused(struct persist_session *s, char *why, size_t whylen)
{
	char said[512];

	ssh_said(s, said, sizeof said);
	if (strstr(said, "--relay: no server answers")) {
		persist__say(why, whylen, "no server answers at %s:%s/sock", s->host, s->rdir);
		return -ECONNREFUSED;
	}
	if (!strstr(said, "open failed"))
		return 0;
	if (strstr(said, "prohibited")) {
		persist__say(why, whylen, "the sshd of %s refuses unix-socket forwarding (%s): "
			     "allow it (AllowStreamLocalForwarding yes, no 'restrict' on the key)",
			     s->host, said);
		return -EACCES;
	}
	persist__say(why, whylen, "no server answers at %s:%s/sock (%s)", s->host, s->rdir, said);
	return -ECONNREFUSED;
}

/* Up to max bytes (0: no bound) of a file of ours from offset off into a
 * new NUL-terminated buffer.  Returns: 0; -errno. */
static int read_here(const char *path, uint64_t off, size_t max, char **data, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	size_t n = 0, cap = 0, lim = max ? max : SIZE_MAX - 1;
	char *b = NULL, *nb;
	int r = 0;

	if (fd < 0)
		return -errno;
	while (n < lim) {
		ssize_t k;
		if (n + 4096 + 1 > cap) {
			cap = cap ? 2 * cap : 8192;
			if (cap > lim + 1)
				cap = lim + 1;
			if (!(nb = realloc(b, cap))) {
				r = -ENOMEM;
				break;
			}
			b = nb;
		}
		k = pread(fd, b + n, cap - n - 1, (off_t)(off + n));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			r = -errno;
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	if (r == 0 && !b && !(b = malloc(1)))
		r = -ENOMEM;
	if (r < 0) {
		free(b);
		return r;
	}
	b[n] = 0;
	*data = b;
	*len = n;
	return 0;
}

/* The whole-file and the from-offset read of a log: up to max bytes (0:
 * all) from off, here or through the thread.  Returns: as
 * persist_session_log_read_from. */
static int log_read_at(struct persist_session *s, int64_t id, int stream, uint64_t off,
		       size_t max, char **data, size_t *len)
{
	char path[PATH_MAX + 32];
	struct persist__pfile f = { "", PERSIST__PF_READ, 65536, NULL, 0, off, max, NULL };
	struct persist__procio io;
	int r;

	*data = NULL;
	*len = 0;
	if (off > INT64_MAX)
		return -EINVAL;
	r = persist_session_log_path(s, id, stream, path, sizeof path);
	if (r < 0)
		return r;
	if (!s->far)
		return read_here(path, off, max, data, len);
	if (!s->connected)
		return -ENOTCONN; /* the file is on the far host */
	/* Through the thread: openat, (p)read and close in it, in-band. */
	if (strlen(path) < sizeof f.path)
		memcpy(f.path, path, strlen(path) + 1);
	else
		f.long_path = path;
	persist__procio_init(&io, s->t.task.sysif);
	r = persist__read_files(&io, &f, 1, NULL, NULL, 0);
	persist__procio_fini(&io);
	if (r < 0)
		return r;
	if (f.len < 0)
		return (int)f.len;
	*data = f.data;
	*len = (size_t)f.len;
	return 0;
}

PERSIST_EXPORT int persist_session_log_read(struct persist_session *s, int64_t id, int stream,
					    char **data, size_t *len)
{
	return log_read_at(s, id, stream, 0, 0, data, len);
}

PERSIST_EXPORT int persist_session_log_read_from(struct persist_session *s, int64_t id,
						 int stream, uint64_t offset, char **data,
						 size_t *len)
{
	return log_read_at(s, id, stream, offset, PERSIST_SESSION_LOG_CHUNK, data, len);
}

int persist__ssh_relay(struct persist_session *s, int start, int *fd, char *why, size_t whylen)
{
	int64_t deadline = persist__mono_ms() + PERSIST_SESSION_DEADLINE_MS;
	char qdir[PATH_MAX * 2], qsrv[PATH_MAX * 2], cmd[sizeof setup_fmt + 4 * PATH_MAX + 128];
	const char *srv = s->far_server[0] ? s->far_server : getenv("PERSIST_FAR_SERVER");
	int sv[2], r, tried = 0;

	*fd = -1;
	ship_name(s, srv);
again:
	s->far_noserver = 0;
	if (sh_quote(s->rdir, qdir, sizeof qdir) < 0 ||
	    sh_quote(srv ? srv : "", qsrv, sizeof qsrv) < 0)
		return -ENAMETOOLONG;
	snprintf(cmd, sizeof cmd, setup_fmt, s->rdir[0] ? qdir : "''", qsrv, s->ship_name,
		 start, 1, "exec \"$srv\" --relay \"$d/sock\"");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	/* ssh's stdin and stdout are both its end of the pair. */
	s->ssh_relay_fd = sv[1];
	r = ssh_spawn(s, NULL, 0, cmd, why, whylen);
	s->ssh_relay_fd = -1;
	close(sv[1]);
	close(s->ssh_in);
	close(s->ssh_out);
	s->ssh_in = s->ssh_out = -1;
	if (r == 0)
		r = ssh_read_from(s, sv[0], 1, deadline, why, whylen);
	if (r < 0) {
		int again;
		close(sv[0]);
		persist__ssh_stop(s);
		again = shipped(s, r, start, &tried, deadline, why, whylen);
		if (again > 0)
			goto again;
		return again < 0 ? again : r;
	}
	*fd = sv[0];
	return 0;
}

int persist__far_unlink(struct persist_session *s, const char *path)
{
	struct transport_conn *c = s->t.conn;
	struct near_request q;
	size_t len = strlen(path) + 1;
	uint64_t at;
	int64_t res = 0;
	int r;

	if (!s->connected || !c)
		return -ENOTCONN;
	r = transport_alloc(c, len, &at);
	if (r < 0)
		return r;
	r = transport_write_mem(c, at, path, len);
	if (r == 0)
		r = transport_call(c, near_request_set(&q, __NR_unlinkat, AT_FDCWD, (int64_t)at, 0,
						       0, 0, 0), &res);
	transport_free(c, at);
	return r < 0 ? r : res < 0 ? (int)res : 0;
}
