// SPDX-License-Identifier: MIT
/* persistctl recover-store: rebuild a damaged state.db from the kernel.
 *
 * The store is only a record: the children themselves are the server's,
 * and the session's recovery already adopts every child of the server that
 * no record knows (argv and cwd from /proc; a zombie's status collected,
 * recorded, then reaped).  So rebuilding is moving the damaged file aside
 * and opening a session on a new one.  What this command adds to a plain
 * 'mv' is care: it refuses a store that reads fine (without --force), takes
 * the controller lock, refuses while another process still has the old
 * file open (it would go on writing there, or reap a child whose status it
 * recorded there), moves the file's -wal and -shm with it (so the aside
 * copy still opens with its newest transactions), moves the logs aside
 * (their files are named by the old ids, which the new store gives out
 * again), carries the kept fds over when the damaged file still yields
 * them (a session closes every fd of the server that its store does not
 * record: without their records, a service's listening socket would be
 * closed), and says what could not be rebuilt. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "ctl.h"

static const char help[] =
"Usage: persistctl [--state DIR] recover-store [--force]\n"
"\n"
"Rebuild a damaged store (DIR/state.db) from the running server.  The\n"
"children are the server's, not the store's: they run on whatever happens to\n"
"the file.  This moves DIR/state.db (with its -wal and -shm) and DIR/logs\n"
"aside, under names ending in .bad-TIME, then opens a new store the way every\n"
"persistctl does, whose recovery adopts each child of the server:\n"
"\n"
"  - a running child with its argv and cwd as /proc shows them now;\n"
"  - a child that ended while the store was bad: the server keeps every\n"
"    ended child unreaped until a controller has recorded its status, so\n"
"    that status is collected and recorded; its argv is only its program\n"
"    name (the kernel keeps no more of a zombie).\n"
"\n"
"The kept fds (see 'persistctl listen') are carried over when the damaged\n"
"file still yields their records, and each is kept only once the server shows\n"
"its number still names the same file.  Otherwise the new store's first\n"
"session closes them in the server, as it closes every fd its store does not\n"
"record (a child that was given one keeps its copy).\n"
"\n"
"What cannot be known, and stays in the old file only: the children's old\n"
"ids and names, and the children that had ended and were reaped before.\n"
"The adopted children write on into their old log files, now under\n"
"DIR/logs.bad-TIME; 'persistctl logs' of their new ids shows nothing.\n"
"With no server running, the new store is empty.\n"
"\n"
"It refuses a store that opens and reads without error, and a store that\n"
"another process still has open (a 'persistctl wait', say: end it first).\n"
"By hand, the same but for the kept fds, which are then closed: stop every\n"
"persistctl, move DIR/state.db, its -wal and -shm, and DIR/logs aside, and\n"
"run 'persistctl ps'.\n"
"\n"
"  -f, --force   move the store aside even though it reads without error\n";

/* The state directory as the session would take it: no symlink, ours, 0700.
 * Returns: an O_PATH fd; dies otherwise. */
static int open_dir(struct ctl *c, const char *dir)
{
	char self[32];
	struct stat s;
	size_t len;
	ssize_t n;
	int fd;

	snprintf(c->dir, sizeof c->dir, "%s", dir);
	for (len = strlen(c->dir); len > 1 && c->dir[len - 1] == '/';)
		c->dir[--len] = 0;
	fd = open(c->dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		ctl_die(EXIT_RUNTIME, "there is no state directory %s: nothing to recover", c->dir);
	if (fd < 0 && (errno == ELOOP || errno == ENOTDIR))
		ctl_die(EXIT_RUNTIME, "state directory %s is %s: refused", c->dir,
			errno == ELOOP ? "a symbolic link" : "not a directory");
	if (fd < 0)
		ctl_die(EXIT_RUNTIME, "cannot use the state directory %s: %s", c->dir, strerror(errno));
	if (fstat(fd, &s) < 0 || s.st_uid != geteuid() || (s.st_mode & 077))
		ctl_die(EXIT_RUNTIME, "state directory %s is not a private directory of yours: "
			"refused (see '%s --help')", c->dir, ctl_prog);
	snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
	n = readlink(self, c->dir, sizeof c->dir - 1);
	if (n < 0 || (size_t)n >= sizeof c->dir - 1)
		ctl_die(EXIT_RUNTIME, "cannot resolve the state directory %s", dir);
	c->dir[n] = 0;
	snprintf(c->db, sizeof c->db, "%s/state.db", c->dir);
	snprintf(c->sock, sizeof c->sock, "%s/sock", c->dir);
	return fd;
}

/* The kept fds of the damaged store, as far as it yields them. */
struct salvage {
	struct persist_thread_rec th; /* the thread of DIR/sock; id 0: none read */
	struct persist_fd_rec *fds;
	size_t n;
	char why[600];                /* why they could not be carried over */
};

static void salvage_read(struct ctl *c, struct salvage *sv)
{
	struct persist_store *st;
	int r = persist_store_open(c->db, 0, &st, sv->why, sizeof sv->why);

	memset(&sv->th, 0, sizeof sv->th);
	if (r < 0)
		return;
	r = persist_store_thread_find(st, c->sock, &sv->th);
	if (r == -ENOENT) {
		sv->th.id = 0; /* no thread recorded: no kept fds either */
	} else if (r == 0 && (r = persist_store_fd_list(st, sv->th.id, &sv->fds, &sv->n)) < 0) {
		persist_thread_rec_clear(&sv->th);
	}
	if (r < 0 && r != -ENOENT)
		snprintf(sv->why, sizeof sv->why, "%s", persist_store_errmsg(st));
	persist_store_close(st);
}

/* Record the salvaged thread and kept fds in the new store, before the
 * session opens it: its first connection then finds them, checks each by
 * identity, and keeps those that still name their file. */
static void salvage_write(struct ctl *c, struct salvage *sv)
{
	struct persist_thread_rec th = sv->th;
	struct persist_store *st;
	char err[512];
	int r;

	if (!sv->n)
		return;
	r = persist_store_open(c->db, PERSIST_STORE_CREATE, &st, err, sizeof err);
	if (r < 0) {
		snprintf(sv->why, sizeof sv->why, "%s", err); /* and the session says it again */
		return;
	}
	th.id = 0;
	th.socket_path = c->sock;
	if (th.pid <= 0)
		th.pid = 1; /* a damaged record: the session corrects it */
	r = persist_store_thread_put(st, &th);
	for (size_t i = 0; r == 0 && i < sv->n; i++) {
		const struct persist_fd_rec *f = &sv->fds[i];
		r = f->type ? persist_store_fd_add(st, th.id, f)
			    : persist_store_fd_put(st, th.id, f->name, f->fd, f->description);
	}
	if (r < 0) {
		/* What was recorded is still checked by identity before use. */
		snprintf(sv->why, sizeof sv->why, "recording them in the new store: %s",
			 persist_store_errmsg(st));
	}
	persist_store_close(st);
}

/* Does the store read without error?  Returns: 0 (it does); -EUCLEAN (it is
 * damaged, or not a store); dies on any other failure (that is the fault to
 * fix first: a full or read-only filesystem, say). */
static int store_health(struct ctl *c)
{
	struct persist_store *st;
	struct persist_thread_rec *th = NULL;
	struct persist_child_rec *kids = NULL;
	size_t nth = 0, nkids = 0;
	char err[512] = "";
	int r = persist_store_open(c->db, 0, &st, err, sizeof err);

	if (r == -EUCLEAN)
		return r;
	if (r < 0)
		ctl_fail(c, r, "cannot check the store: %s", err);
	r = persist_store_thread_list(st, &th, &nth);
	if (r == 0)
		r = persist_store_children(st, 0, &kids, &nkids);
	for (size_t i = 0; r == 0 && i < nth; i++) {
		struct persist_fd_rec *fds;
		size_t nfds;
		r = persist_store_fd_list(st, th[i].id, &fds, &nfds);
		if (r == 0)
			persist_fd_recs_free(fds, nfds);
	}
	snprintf(err, sizeof err, "%s", persist_store_errmsg(st));
	persist_thread_recs_free(th, nth);
	persist_child_recs_free(kids, nkids);
	persist_store_close(st);
	if (r < 0 && r != -EUCLEAN)
		ctl_fail(c, r, "cannot check the store %s: %s", c->db, err);
	return r;
}

/* The controller lock (DIR/lock, <persist/session.h>), so that no
 * controller is at work while the files move.  Returns: its fd. */
static int take_lock(struct ctl *c, int dfd)
{
	struct timespec pause = { 0, 10 * 1000 * 1000 };
	int fd = openat(dfd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0)
		ctl_fail(c, -errno, "cannot open the controller lock %s/lock: %s", c->dir,
			 strerror(errno));
	for (int waited = 0; flock(fd, LOCK_EX | LOCK_NB) < 0; waited += 10) {
		if (errno != EWOULDBLOCK && errno != EINTR)
			ctl_die(EXIT_RUNTIME, "cannot lock %s/lock: %s", c->dir, strerror(errno));
		if (waited >= PERSIST_SESSION_DEADLINE_MS)
			ctl_die(EXIT_RUNTIME, "another controller has held %s/lock for %d s: let it "
				"finish (find it with 'fuser %s/lock'), then run this again", c->dir,
				PERSIST_SESSION_DEADLINE_MS / 1000, c->dir);
		nanosleep(&pause, NULL);
	}
	return fd;
}

/* Refuse while another process has the store open: it would go on
 * recording in the old file (and reap a child whose status only the old
 * file then holds).  Only the processes we may look into are seen, which
 * are those that could write the file (it is ours, in a 0700 directory). */
static void nobody_else(struct ctl *c, int dfd)
{
	struct stat db, s;
	struct dirent *p, *f;
	DIR *procs = opendir("/proc");
	char path[300], comm[64];
	int me = getpid(), found = 0;

	if (fstatat(dfd, "state.db", &db, AT_SYMLINK_NOFOLLOW) < 0 || !procs)
		goto out;
	while ((p = readdir(procs))) {
		int pid = atoi(p->d_name);
		DIR *fds;
		if (pid <= 0 || pid == me)
			continue;
		snprintf(path, sizeof path, "/proc/%d/fd", pid);
		if (!(fds = opendir(path)))
			continue;
		while ((f = readdir(fds))) {
			if (f->d_name[0] == '.')
				continue;
			snprintf(path, sizeof path, "/proc/%d/fd/%s", pid, f->d_name);
			if (stat(path, &s) == 0 && s.st_dev == db.st_dev && s.st_ino == db.st_ino)
				break;
		}
		closedir(fds);
		if (!f)
			continue;
		comm[0] = 0;
		snprintf(path, sizeof path, "/proc/%d/comm", pid);
		FILE *cf = fopen(path, "re");
		if (cf) {
			if (fgets(comm, sizeof comm, cf))
				comm[strcspn(comm, "\n")] = 0;
			fclose(cf);
		}
		ctl_note("pid %d (%s) has %s open", pid, comm, c->db);
		found++;
	}
out:
	if (procs)
		closedir(procs);
	if (found)
		ctl_die(EXIT_RUNTIME, "%d other process%s still use%s the store: end %s (a "
			"'persistctl wait' is stopped with Ctrl-C or kill), then run this again",
			found, found == 1 ? "" : "es", found == 1 ? "s" : "", found == 1 ? "it" : "them");
}

/* Move DIR/from to DIR/from.bad-STAMP[-wal|-shm] (or with .N before any
 * suffix, if taken).  Returns: 1 moved; 0 there was nothing; dies. */
static int aside(struct ctl *c, int dfd, const char *from, const char *stamp, const char *suffix,
		 char *to, size_t tolen)
{
	char src[64];

	snprintf(src, sizeof src, "%s%s", from, suffix);
	for (int n = 0; n < 100; n++) {
		if (n)
			snprintf(to, tolen, "%s.bad-%s.%d%s", from, stamp, n, suffix);
		else
			snprintf(to, tolen, "%s.bad-%s%s", from, stamp, suffix);
		if (renameat2(dfd, src, dfd, to, RENAME_NOREPLACE) == 0)
			return 1;
		if (errno == ENOENT)
			return 0;
		if (errno != EEXIST)
			ctl_fail(c, -errno, "cannot move %s/%s aside: %s", c->dir, src, strerror(errno));
	}
	ctl_die(EXIT_RUNTIME, "cannot move %s/%s aside: %s/%s.bad-%s and the next 99 names are "
		"taken", c->dir, src, c->dir, from, stamp);
}

/* Where a running child's stdout goes, from /proc (our pid namespace). */
static void output_of(int pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof path, "/proc/%d/fd/1", pid);
	n = readlink(path, buf, len - 1);
	buf[n > 0 ? n : 0] = 0;
}

int cmd_recover_store(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, 0, 'f' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	char want[PATH_MAX], stamp[32], db_to[PATH_MAX], logs_to[PATH_MAX], x[PATH_MAX];
	const struct persist_recover_report *rep;
	const struct persist_thread_rec *th;
	struct salvage sv = { .th = { 0 }, .fds = NULL, .n = 0, .why = "" };
	struct persist_fd_rec *kept = NULL;
	size_t nkept = 0;
	struct stat s;
	int o, force = 0, dfd, lfd, moved, adopted = 0;
	time_t now = time(NULL);
	struct tm tm;

	while ((o = ctl_getopt(argc, argv, "+:fh", opts, "recover-store", help)) != -1)
		if (o == 'f')
			force = 1;
	if (optind < argc)
		ctl_usage_error("recover-store", "unexpected argument '%s'", argv[optind]);
	if (c->state_opt && !*c->state_opt)
		ctl_die(EXIT_USAGE, "--state needs a directory (see '%s --help')", ctl_prog);
	if (!c->state_opt && persist_session_default_dir(want, sizeof want) < 0)
		ctl_die(EXIT_RUNTIME, "the default state directory's name is too long");
	dfd = open_dir(c, c->state_opt ? c->state_opt : want);

	moved = fstatat(dfd, "state.db", &s, AT_SYMLINK_NOFOLLOW) == 0;
	if (moved && store_health(c) == 0 && !force)
		ctl_die(EXIT_RUNTIME, "%s opens and reads without error: nothing to recover (--force "
			"moves it aside all the same, and with it the ids, the names and the "
			"history of ended children)", c->db);
	lfd = take_lock(c, dfd);
	nobody_else(c, dfd);
	if (moved)
		salvage_read(c, &sv);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
	/* The file first: its -wal left behind alone is deleted by SQLite
	 * when it meets the new, empty file, never replayed into it. */
	moved = aside(c, dfd, "state.db", stamp, "", db_to, sizeof db_to);
	if (moved) {
		/* The same stamp (and .N) for its -wal and -shm, so SQLite finds
		 * them beside the aside copy. */
		const char *tail = db_to + strlen("state.db.bad-");
		char wal[PATH_MAX];
		snprintf(x, sizeof x, "%s", tail);
		aside(c, dfd, "state.db", x, "-wal", wal, sizeof wal);
		aside(c, dfd, "state.db", x, "-shm", wal, sizeof wal);
		printf("moved %s aside: %s/%s\n", c->db, c->dir, db_to);
	}
	if (aside(c, dfd, "logs", stamp, "", logs_to, sizeof logs_to))
		printf("moved %s/logs aside: %s/%s\n", c->dir, c->dir, logs_to);
	salvage_write(c, &sv);
	close(lfd);
	close(dfd);

	/* The rebuild is the everyday open: recovery adopts what the new
	 * store does not know. */
	c->quiet = 1;
	ctl_open(c, PERSIST_SESSION_OFFLINE);
	th = persist_session_thread_rec(c->s);
	if (!persist_session_connected(c->s)) {
		printf("no server answers at %s: the new store is empty (the children of a server "
		       "that died are out of reach)\n", c->sock);
		persist_fd_recs_free(sv.fds, sv.n);
		persist_thread_rec_clear(&sv.th);
		ctl_close(c);
		return EXIT_OK;
	}
	rep = persist_session_report(c->s);
	for (size_t i = 0; i < rep->n; i++) {
		const struct persist_recover_entry *e = &rep->entries[i];
		struct persist_child_rec r = { 0 };
		char words[600], out[PATH_MAX];

		if (e->found == PERSIST_FOUND_HALF_SPAWNED)
			printf("pid %d was a fork that never ran its command: killed and reaped\n",
			       e->pid);
		if (e->found != PERSIST_FOUND_ADOPTED || !e->child_id)
			continue;
		adopted++;
		if (persist_store_child_get(ctl_store(c), e->child_id, &r) < 0) {
			printf("child %" PRId64 ": pid %d\n", e->child_id, e->pid);
			continue;
		}
		printf("child %" PRId64 ": pid %d, %s", r.id, r.pid,
		       ctl_status_words(&r, words, sizeof words));
		if (r.state == PERSIST_CHILD_EXITED || r.state == PERSIST_CHILD_KILLED)
			printf(" (ended while the store was bad; argv is its program name only)");
		if (e->error)
			printf(" (not settled: %s)", strerror(-e->error));
		printf(":");
		for (size_t k = 0; k < r.argc; k++) { /* as ps prints it: no control bytes */
			putchar(' ');
			for (const unsigned char *p = (const unsigned char *)r.argv[k]; *p; p++)
				putchar(*p < 0x20 || *p == 0x7F ? '?' : *p);
		}
		if (r.state == PERSIST_CHILD_RUNNING) {
			output_of(r.pid, out, sizeof out);
			if (*out)
				printf("  [stdout: %s]", out);
		}
		printf("\n");
		persist_child_rec_clear(&r);
	}
	/* The kept fds carried over: each kept only if the server has just
	 * shown its number still names its file (the session closed the rest). */
	if (persist_session_fd_list(c->s, &kept, &nkept) == 0) {
		for (size_t i = 0; i < nkept; i++)
			printf("kept fd '%s' (fd %d%s%s): %s\n", kept[i].name, kept[i].fd,
			       kept[i].description ? ", " : "",
			       kept[i].description ? kept[i].description : "",
			       kept[i].verified ? "carried over" : "stale: not kept");
		persist_fd_recs_free(kept, nkept);
	}
	printf("rebuilt %s from server pid %d: %d child%s adopted\n", c->db, th->pid, adopted,
	       adopted == 1 ? "" : "ren");
	if (*sv.why)
		printf("the kept fds, if there were any, could not be carried over (%s): the "
		       "server's fds that no record names were closed\n", sv.why);
	if (moved)
		printf("not rebuilt (in %s/%s only): the old ids and names, and the children "
		       "reaped before\n", c->dir, db_to);
	persist_fd_recs_free(sv.fds, sv.n);
	persist_thread_rec_clear(&sv.th);
	ctl_close(c);
	return EXIT_OK;
}
