// SPDX-License-Identifier: MIT
/* The invariants the chaos test checks after every round and after the
 * final stop (the list is in harness.h), against the kernel's view read
 * from /proc directly (proc_view.h) and the store read through a new
 * session, whose opening is the recovery under test. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sqlite3.h>
#include <persist/session.h>
#include "chaos.h"
#include "harness.h"
#include "proc_view.h"

const char *const inv_names[NINV] = {
	"intent", "running", "recorded", "zombie", "fds", "status", "behind", "recovery",
	"server", "controller", "integrity", "stopped",
};
uint64_t inv_checks[NINV];

/* ---- what a record's command allows ---- */

enum { LONG_NO, LONG_TERM, LONG_KILL, LONG_ALONE };

/* How the command of argv may end by itself or by chaos-ctl: *code the
 * exit code (-1: it never exits), *sigs the signals chaos-ctl may send it
 * (a mask of 1 << sig), *lng which long command it is.
 * Returns: 1; 0 if chaos-ctl runs no such command. */
static int command_ends(char *const *argv, size_t argc, int *code, unsigned *sigs, int *lng)
{
	*code = -1;
	*sigs = 0;
	*lng = LONG_NO;
	if (argc == 1 && strcmp(argv[0], "true") == 0) {
		*code = 0;
		return 1;
	}
	if (argc == 3 && strcmp(argv[0], "sh") == 0 && strcmp(argv[1], "-c") == 0 &&
	    strncmp(argv[2], "exit ", 5) == 0) {
		*code = atoi(argv[2] + 5);
		return 1;
	}
	if (argc != 2 || strcmp(argv[0], "sleep") != 0)
		return 0;
	if (strncmp(argv[1], "0.0", 3) == 0 && argv[1][3] >= '1' && argv[1][3] <= '5' &&
	    !argv[1][4]) {
		*code = 0;
		*sigs = 1u << ((argv[1][3] - '0') % 2 ? SIGTERM : SIGKILL);
		return 1;
	}
	if (strcmp(argv[1], CHAOS_LONG_TERM) == 0) {
		*sigs = 1u << SIGTERM;
		*lng = LONG_TERM;
	} else if (strcmp(argv[1], CHAOS_LONG_KILL) == 0) {
		*sigs = 1u << SIGKILL;
		*lng = LONG_KILL;
	} else if (strcmp(argv[1], CHAOS_LONG_ALONE) == 0) {
		*lng = LONG_ALONE;
	} else {
		return 0;
	}
	return 1;
}

/* The same from a live process's cmdline.  Returns: as command_ends. */
static int cmdline_ends(int pid, int *lng)
{
	char buf[256], *av[4];
	size_t n = proc_cmdline(pid, buf, sizeof buf - 1), ac = 0;
	unsigned sigs;
	int code;

	if (!n || buf[n - 1])
		return 0;
	for (size_t at = 0; at < n && ac < 4; at += strlen(buf + at) + 1)
		av[ac++] = buf + at;
	if (ac == 4)
		return 0;
	av[ac] = NULL;
	return command_ends(av, ac, &code, &sigs, lng);
}

int killable(int pid, unsigned long long *start, int *alone)
{
	char st = proc_state(pid, start);
	unsigned long long again = 0;
	int lng;

	if (!st || st == 'Z' || st == 'X' || !cmdline_ends(pid, &lng))
		return 0;
	/* The cmdline is read after the start time: the same start time
	 * after it says that it was this process's. */
	if (!proc_state(pid, &again) || again != *start)
		return 0;
	*alone = lng == LONG_ALONE;
	return 1;
}

void behind_add(struct chaos *c, int pid, unsigned long long start, int sure)
{
	if (c->nbehind == c->capbehind) {
		size_t cap = c->capbehind ? c->capbehind * 2 : 64;
		struct behind *b = realloc(c->behind, cap * sizeof *b);
		if (!b)
			abort();
		c->behind = b;
		c->capbehind = cap;
	}
	c->behind[c->nbehind++] = (struct behind){ pid, start, c->round, sure, 0 };
}

static struct behind *behind_find(struct chaos *c, int pid, unsigned long long start)
{
	for (size_t i = 0; i < c->nbehind; i++)
		if (c->behind[i].pid == pid && c->behind[i].start == start)
			return &c->behind[i];
	return NULL;
}

static const char *argv_str(const struct persist_child_rec *r, char *buf, size_t len)
{
	size_t at = 0;

	buf[0] = 0;
	for (size_t i = 0; i < r->argc && at < len; i++)
		at += (size_t)snprintf(buf + at, len - at, "%s%s", i ? " " : "", r->argv[i]);
	return buf;
}

static int checked_before(struct chaos *c, int64_t id)
{
	if (id <= 0)
		return 1;
	if ((size_t)id >= c->nfinal) {
		size_t n = (size_t)id * 2 + 64;
		uint8_t *m = realloc(c->final_checked, n);
		if (!m)
			abort();
		memset(m + c->nfinal, 0, n - c->nfinal);
		c->final_checked = m;
		c->nfinal = n;
	}
	if (c->final_checked[id])
		return 1;
	c->final_checked[id] = 1;
	return 0;
}

/* A final record, checked once: its status is one its command, chaos-ctl,
 * a stop in this round, or the harness's SIGKILL could have given it. */
static void check_final(struct chaos *c, const struct persist_child_rec *r)
{
	struct behind *b = r->pid ? behind_find(c, r->pid, r->starttime) : NULL;
	char buf[256];
	unsigned sigs;
	int code, lng, ok;

	if (checked_before(c, r->id))
		return;
	if (r->state == PERSIST_CHILD_LOST) {
		/* Only a child that never had a pid may be lost: an intent
		 * whose controller died before (or during) the spawn.  One
		 * that ran has a status, and losing it is a bug. */
		expect(INV_STATUS, r->pid == 0, "child %lld (%s, pid %d) is lost: %s",
		       (long long)r->id, argv_str(r, buf, sizeof buf), r->pid,
		       r->lost_reason ? r->lost_reason : "(no reason)");
		return;
	}
	if (!expect(INV_STATUS, command_ends(r->argv, r->argc, &code, &sigs, &lng),
		    "child %lld runs '%s', which chaos-ctl never runs", (long long)r->id,
		    argv_str(r, buf, sizeof buf)))
		return;
	if (c->stop_seen)
		sigs |= 1u << SIGTERM;
	if (b)
		sigs |= 1u << SIGKILL;
	if (b && b->sure)
		ok = r->state == PERSIST_CHILD_KILLED && r->signal == SIGKILL;
	else if (r->state == PERSIST_CHILD_EXITED)
		ok = code >= 0 && r->exit_code == code;
	else
		ok = r->signal > 0 && r->signal < 32 && (sigs >> r->signal & 1);
	expect(INV_STATUS, ok, "child %lld (%s, pid %d) %s %d, which %s", (long long)r->id,
	       argv_str(r, buf, sizeof buf), r->pid, persist_child_state_name(r->state),
	       r->state == PERSIST_CHILD_EXITED ? r->exit_code : r->signal,
	       b ? "a child the harness SIGKILLed cannot end with" :
	       "neither its command nor chaos-ctl nor a stop gives");
	if (b && !b->seen) {
		b->seen = 1;
		/* Unless nothing else could have ended it first, the status
		 * check above is what holds. */
		expect(INV_BEHIND, !b->sure || (r->state == PERSIST_CHILD_KILLED &&
		       r->signal == SIGKILL), "child %lld (%s, pid %d), SIGKILLed behind the back "
		       "when nothing else signalled it, is recorded %s %d", (long long)r->id,
		       argv_str(r, buf, sizeof buf), r->pid, persist_child_state_name(r->state),
		       r->state == PERSIST_CHILD_EXITED ? r->exit_code : r->signal);
	}
}

/* Every child the harness SIGKILLed before this check has a final record
 * by now (the check's session has recovered the thread). */
static void check_behind(struct chaos *c, const struct persist_child_rec *recs, size_t n)
{
	for (size_t i = 0; i < c->nbehind; i++) {
		struct behind *b = &c->behind[i];
		int found = 0;

		if (b->seen || (b->round > c->round && c->round))
			continue;
		for (size_t k = 0; k < n && !found; k++)
			found = recs[k].pid == b->pid && recs[k].starttime == b->start &&
				recs[k].state != PERSIST_CHILD_RUNNING &&
				recs[k].state != PERSIST_CHILD_INTENT;
		b->seen = 1;
		expect(INV_BEHIND, found, "pid %d (start %llu), a child of the server SIGKILLed "
		       "behind the back in round %d, has no final record", b->pid, b->start,
		       b->round);
	}
}

/* ---- the kernel's view ---- */

/* Wait (bounded) until every short child of the server has ended, and
 * every fork of the server that lost its controller has ended itself:
 * chaos-ctl's short commands last 50 ms at most. */
static void await_quiet(struct chaos *c, int server)
{
	long deadline = now_ms() + slow(c, 2000);

	for (;;) {
		int kids[1024], busy = 0, lng;
		size_t n = proc_children(server, kids, 1024);
		for (size_t i = 0; i < n; i++) {
			char st = proc_state(kids[i], NULL);
			if (st && st != 'Z' && st != 'X' &&
			    !(cmdline_ends(kids[i], &lng) && lng != LONG_NO))
				busy++;
		}
		if (!busy || now_ms() > deadline)
			return;
		nap_us(2000);
	}
}

size_t stray_children(struct chaos *c, int *out, size_t max)
{
	int kids[256];
	size_t n = proc_children(getpid(), kids, 256), m = 0;

	for (size_t i = 0; i < n; i++) {
		char st = proc_state(kids[i], NULL);
		int ctl = 0;
		for (size_t k = 0; k < c->nctls; k++)
			ctl |= c->ctls[k] == kids[i];
		if (ctl)
			continue;
		if (st == 'Z' || st == 'X') {
			waitpid(kids[i], NULL, WNOHANG);
			continue;
		}
		if (st && m < max)
			out[m++] = kids[i];
	}
	return m;
}

/* Does fd in pid name the file kept as rec?  Returns: 1 or 0. */
static int names_kept(int pid, const struct persist_fd_rec *rec)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof path, "/proc/%d/fd/%d", pid, rec->fd);
	return rec->type && stat(path, &st) == 0 && (uint64_t)st.st_dev == rec->dev &&
	       (uint64_t)st.st_ino == rec->ino && (unsigned)(st.st_mode & S_IFMT) == rec->type;
}

/* Kept fds seen verified, with the server that held them: one that stops
 * being its file while that server runs was lost. */
static struct kept_seen {
	char name[16];
	uint64_t ino;
	int server;
} seen_kept[64];
static size_t nseen_kept;

static void check_fds(struct chaos *c, struct persist_session *s, int server)
{
	struct persist_fd_rec *recs = NULL;
	size_t n = 0, verified = 0;
	int fds = fd_count(server), r;

	r = persist_store_fd_list(persist_session_store(s), persist_session_thread_rec(s)->id,
				  &recs, &n);
	if (!expect(INV_FDS, r == 0, "cannot read the kept fds: %s", strerror(-r)))
		return;
	for (size_t i = 0; i < n; i++) {
		int ok = names_kept(server, &recs[i]), dup = 0;
		size_t k;
		for (size_t j = 0; j < i; j++)
			dup |= ok && recs[j].fd == recs[i].fd && names_kept(server, &recs[j]);
		verified += ok && !dup;
		for (k = 0; k < nseen_kept; k++)
			if (strcmp(seen_kept[k].name, recs[i].name) == 0 &&
			    seen_kept[k].ino == recs[i].ino)
				break;
		if (k < nseen_kept)
			expect(INV_FDS, ok || seen_kept[k].server != server,
			       "kept fd '%s' (fd %d) no longer names its file, and its server "
			       "(pid %d) still runs", recs[i].name, recs[i].fd, server);
		else if (ok && nseen_kept < sizeof seen_kept / sizeof seen_kept[0]) {
			snprintf(seen_kept[k].name, sizeof seen_kept[k].name, "%s", recs[i].name);
			seen_kept[k].ino = recs[i].ino;
			seen_kept[k].server = server;
			nseen_kept++;
		}
	}
	if (!expect(INV_FDS, fds == c->fds_own + (int)verified, "the server holds %d fds: its "
		    "own %d plus %zu kept fds verified (of %zu records) would be %d:", fds,
		    c->fds_own, verified, n, c->fds_own + (int)verified))
		show_fds(server);
	persist_fd_recs_free(recs, n);
}

static void check_integrity(struct chaos *c)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	char got[256] = "";
	int r = sqlite3_open_v2(c->db, &db, SQLITE_OPEN_READONLY, NULL), rows = 0;

	if (r == SQLITE_OK)
		r = sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, NULL);
	while (r == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(q, 0);
		if (!rows++)
			snprintf(got, sizeof got, "%s", t ? (const char *)t : "(null)");
	}
	expect(INV_INTEGRITY, r == SQLITE_OK && rows == 1 && strcmp(got, "ok") == 0,
	       "PRAGMA integrity_check of %s: %s%s", c->db,
	       r == SQLITE_OK ? got : sqlite3_errmsg(db), rows > 1 ? " (and more)" : "");
	sqlite3_finalize(q);
	sqlite3_close(db);
}

/* Every record of the thread against the kernel. */
static void check_records(struct chaos *c, const struct persist_child_rec *recs, size_t n,
			  int server)
{
	char buf[256];
	int kids[1024];
	size_t nk = proc_children(server, kids, 1024);

	for (size_t i = 0; i < n; i++) {
		const struct persist_child_rec *r = &recs[i];
		unsigned long long start = 0;
		int parent = 0, code, lng;
		unsigned sigs;
		char st;

		if (r->state != PERSIST_CHILD_INTENT && r->state != PERSIST_CHILD_RUNNING) {
			check_final(c, r);
			continue;
		}
		if (!expect(INV_INTENT, r->state != PERSIST_CHILD_INTENT, "child %lld (%s) is in "
			    "state intent, its controller dead", (long long)r->id,
			    argv_str(r, buf, sizeof buf)))
			continue;
		st = proc_state(r->pid, &start);
		for (size_t j = 0; j < nk; j++)
			parent |= kids[j] == r->pid;
		if (!expect(INV_RUNNING, st != 0, "child %lld (%s): pid %d does not exist",
			    (long long)r->id, argv_str(r, buf, sizeof buf), r->pid))
			continue;
		expect(INV_RUNNING, start == r->starttime, "child %lld (%s): pid %d started at "
		       "%llu, recorded %llu", (long long)r->id, argv_str(r, buf, sizeof buf),
		       r->pid, start, r->starttime);
		expect(INV_RUNNING, parent, "child %lld (%s): pid %d is not the server's child",
		       (long long)r->id, argv_str(r, buf, sizeof buf), r->pid);
		expect(INV_RUNNING, st == 'Z' || cmdline_is(r->pid, r->argv), "child %lld (%s): "
		       "pid %d's cmdline is not its argv (adopted a process that is not what it "
		       "says)", (long long)r->id, argv_str(r, buf, sizeof buf), r->pid);
		expect(INV_STATUS, command_ends(r->argv, r->argc, &code, &sigs, &lng),
		       "child %lld runs '%s', which chaos-ctl never runs", (long long)r->id,
		       argv_str(r, buf, sizeof buf));
	}
}

/* Every child of the server against the records. */
static void check_children(const struct persist_child_rec *recs, size_t n, int server)
{
	char server_cmd[1024];
	size_t sl = proc_cmdline(server, server_cmd, sizeof server_cmd);
	int kids[1024];
	size_t nk = proc_children(server, kids, 1024);

	for (size_t k = 0; k < nk; k++) {
		char comm[64] = "", cmd[1024];
		unsigned long long start = 0;
		char st = proc_state(kids[k], &start);
		size_t cl = proc_cmdline(kids[k], cmd, sizeof cmd), l;
		int known = 0;

		l = proc_file(kids[k], "comm", comm, sizeof comm - 1);
		comm[l ? l - 1 : 0] = 0;
		for (size_t i = 0; i < n; i++)
			known |= recs[i].state == PERSIST_CHILD_RUNNING && recs[i].pid == kids[k] &&
				 recs[i].starttime == start;
		expect(INV_ZOMBIE, st != 'Z', "the server's child %d (%s) is a zombie after "
		       "recovery", kids[k], comm);
		expect(INV_RECORDED, known, "the server's child %d (%s) has no running record",
		       kids[k], comm);
		expect(INV_RECORDED, strcmp(comm, "persist-server") != 0 &&
		       !(cl && cl == sl && memcmp(cmd, server_cmd, cl) == 0),
		       "the server's child %d (%s) is a fork of the server that never exec'd (a "
		       "spawn cut short)", kids[k], comm);
	}
}

/* No server runs: the last thing a controller did was a stop (or the
 * final stop).  Every record is final; nothing is left running. */
static void check_stopped(struct chaos *c)
{
	struct persist_store *st = NULL;
	struct persist_child_rec *recs = NULL;
	char err[256] = "", buf[256];
	int left[64], r;
	size_t n = 0, nl;

	r = persist_store_open(c->db, 0, &st, err, sizeof err);
	if (r == 0)
		r = persist_store_children(st, 0, &recs, &n);
	if (!expect(INV_STOPPED, r == 0, "cannot read the store %s after a stop: %s", c->db,
		    err[0] ? err : strerror(-r))) {
		persist_store_close(st);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (expect(INV_STOPPED, recs[i].state != PERSIST_CHILD_RUNNING &&
			   recs[i].state != PERSIST_CHILD_INTENT, "after a stop, child %lld (%s) is "
			   "still %s", (long long)recs[i].id, argv_str(&recs[i], buf, sizeof buf),
			   persist_child_state_name(recs[i].state)))
			check_final(c, &recs[i]);
	}
	check_behind(c, recs, n);
	nl = stray_children(c, left, 64);
	for (size_t i = 0; i < nl; i++) {
		char comm[64] = "";
		size_t l = proc_file(left[i], "comm", comm, sizeof comm - 1);
		comm[l ? l - 1 : 0] = 0;
		expect(INV_STOPPED, 0, "after a stop, process %d (%s) still runs", left[i], comm);
	}
	if (!nl)
		expect(INV_STOPPED, 1, "-");
	persist_child_recs_free(recs, n);
	persist_store_close(st);
}

/* Kill long children beyond a few, behind the back, so they do not pile
 * up over a long run; the next check sees their records. */
static void trim_long(struct chaos *c, int server)
{
	int kids[1024], lng, alone, keep = 8;
	size_t n = proc_children(server, kids, 1024);

	for (size_t i = 0; i < n; i++) {
		unsigned long long start;
		if (!cmdline_ends(kids[i], &lng) || lng == LONG_NO || keep-- > 0)
			continue;
		if (killable(kids[i], &start, &alone) && kill(kids[i], SIGKILL) == 0)
			behind_add(c, kids[i], start, 1); /* nothing else signals it now */
	}
}

void check_round(struct chaos *c, int final)
{
	struct persist_session *s = NULL;
	const struct persist_recover_report *rep;
	struct persist_child_rec *recs = NULL;
	char why[512] = "";
	int others[64], r, server;
	size_t n = 0, no;
	long deadline = now_ms() + slow(c, 5000);

	/* A server a controller started just before its end may not listen
	 * yet: a live server beside "no server" is waited for. */
	do {
		persist_session_close(s);
		s = NULL;
		r = persist_session_open(c->sdir, 0, &s, why, sizeof why);
		if (r != -ENOENT || final)
			break;
		if (!stray_children(c, others, 64))
			break;
		nap_us(10000);
	} while (now_ms() < deadline);
	if (r == -ENOENT) {
		c->server = 0;
		check_stopped(c);
		check_integrity(c);
		return;
	}
	if (!expect(INV_SERVER, r == 0, "a new session cannot open: %s (%s)", strerror(-r), why))
		return;
	server = persist_session_thread_rec(s)->pid;
	await_quiet(c, server);
	/* Recover again now that the short children have ended, so that
	 * their statuses are recorded and their zombies reaped. */
	persist_session_close(s);
	r = persist_session_open(c->sdir, 0, &s, why, sizeof why);
	if (!expect(INV_SERVER, r == 0, "a new session cannot open: %s (%s)", strerror(-r), why))
		return;
	expect(INV_SERVER, persist_session_thread_rec(s)->pid == server, "the server changed "
	       "from pid %d to %d while nobody ran", server, persist_session_thread_rec(s)->pid);
	c->server = server;
	no = stray_children(c, others, 64);
	for (size_t i = 0; i < no; i++) {
		char comm[64] = "";
		size_t l = proc_file(others[i], "comm", comm, sizeof comm - 1);
		comm[l ? l - 1 : 0] = 0;
		expect(INV_SERVER, others[i] == server, "process %d (%s) runs beside the server "
		       "(pid %d): a second server, or an orphan of a dead one", others[i], comm,
		       server);
	}
	rep = persist_session_report(s);
	for (size_t i = 0; i < rep->n; i++)
		expect(INV_RECOVERY, !rep->entries[i].error, "child %lld (pid %d, %s): %s: %s",
		       (long long)rep->entries[i].child_id, rep->entries[i].pid,
		       persist_found_name(rep->entries[i].found), strerror(-rep->entries[i].error),
		       rep->entries[i].detail ? rep->entries[i].detail : "");
	r = persist_store_children(persist_session_store(s), persist_session_thread_rec(s)->id,
				   &recs, &n);
	if (expect(INV_SERVER, r == 0, "cannot read the children: %s", strerror(-r))) {
		check_records(c, recs, n, server);
		check_behind(c, recs, n);
		check_children(recs, n, server);
		check_fds(c, s, server);
	}
	persist_child_recs_free(recs, n);
	if (!final)
		trim_long(c, server);
	persist_session_close(s);
	check_integrity(c);
}
