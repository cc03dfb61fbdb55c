// SPDX-License-Identifier: MIT
/* Recovery's decision as a table: records and a kernel snapshot in, the
 * actions (and their words) out.  No process, no store, no /proc: each row
 * is a situation a crash can leave, written out as facts. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "recover_plan.h"

#define T 4242 /* the thread's pid */

/* Records: id > 0; a table's list ends at id 0. */
#define RUNNING(i, p, s) { .id = (i), .state = PERSIST_CHILD_RUNNING, .pid = (p), .starttime = (s) }
#define INTENT(i, blob) \
	{ .id = (i), .state = PERSIST_CHILD_INTENT, .argv = (blob), .argvlen = sizeof(blob) - 1 }
/* An intent written by controller o, alive and not us. */
#define INTENT_LIVE(i, blob, o) \
	{ .id = (i), .state = PERSIST_CHILD_INTENT, .argv = (blob), .argvlen = sizeof(blob) - 1, \
	  .owner = (o), .owner_live = 1 }
/* An intent whose controller o is dead. */
#define INTENT_DEAD(i, blob, o) \
	{ .id = (i), .state = PERSIST_CHILD_INTENT, .argv = (blob), .argvlen = sizeof(blob) - 1, \
	  .owner = (o) }
/* An intent that recorded its child's birth (pid p, start s). */
#define INTENT_BORN(i, blob, p, s) \
	{ .id = (i), .state = PERSIST_CHILD_INTENT, .argv = (blob), .argvlen = sizeof(blob) - 1, \
	  .born_pid = (p), .born_start = (s) }
#define INTENT_BORN_LIVE(i, blob, p, s, o) \
	{ .id = (i), .state = PERSIST_CHILD_INTENT, .argv = (blob), .argvlen = sizeof(blob) - 1, \
	  .born_pid = (p), .born_start = (s), .owner = (o), .owner_live = 1 }
#define FINAL(i, st, p, s) { .id = (i), .state = (st), .pid = (p), .starttime = (s) }

/* Processes: pid > 0; a list ends at pid 0.  KID: listed as the thread's
 * child; NOTKID: not listed, parent ppid.  cmd: its cmdline ("" for a
 * zombie's).  EXECD / FORKED: whether it ran execve. */
#define EXECD 0UL
#define FORKED PERSIST__PF_FORKNOEXEC
#define KID(p, state, s, comm, cmd, fl) \
	{ .pid = (p), .child = 1, .st = { comm, state, T, s }, .flags = (fl), \
	  .cmdline = (char *)(cmd), .cmdlen = sizeof(cmd) - 1 }
#define NOTKID(p, state, s, ppid) { .pid = (p), .st = { "x", state, ppid, s } }
#define UNREADABLE(p, e) { .pid = (p), .err = (e) }

struct want {
	enum persist__act act;
	enum persist_found found;
	int64_t id;
	int pid;
	enum persist_child_state after;
	int zombie;
	const char *words; /* the detail, exactly ("" for none) */
};
#define END_ACT ((enum persist__act)-1)
#define END { .act = END_ACT }

struct row {
	const char *name;
	int alive;
	struct persist__rec recs[8];
	struct persist__kproc procs[8];
	struct want want[8];
};

static const struct row rows[] = {
	{ "running as recorded: left alone", 1,
	  { RUNNING(1, 100, 500) },
	  { KID(100, 'S', 500, "sleep", "sleep\0" "9\0", EXECD) },
	  { { PERSIST__ACT_LEAVE, PERSIST_FOUND_RUNNING, 1, 100, PERSIST_CHILD_RUNNING, 0, "" },
	    END } },
	{ "running record's zombie: collect, record, reap", 1,
	  { RUNNING(1, 100, 500) },
	  { KID(100, 'Z', 500, "sleep", "", EXECD) },
	  { { PERSIST__ACT_COLLECT, PERSIST_FOUND_ZOMBIE, 1, 100, PERSIST_CHILD_RUNNING, 1,
	      "pid 100 ended" },
	    END } },
	{ "running, pid gone: lost", 1,
	  { RUNNING(1, 100, 500) },
	  { { 0 } },
	  { { PERSIST__ACT_LOST, PERSIST_FOUND_GONE, 1, 100, PERSIST_CHILD_LOST, 0,
	      "pid 100 is gone" },
	    END } },
	{ "running, pid reused: lost; the new process is adopted", 1,
	  { RUNNING(1, 100, 500) },
	  { KID(100, 'S', 501, "sleep", "sleep\0" "9\0", EXECD) },
	  { { PERSIST__ACT_LOST, PERSIST_FOUND_REUSED, 1, 100, PERSIST_CHILD_LOST, 0,
	      "pid 100 now belongs to another process (start time differs)" },
	    { PERSIST__ACT_ADOPT, PERSIST_FOUND_ADOPTED, 0, 100, PERSIST_CHILD_RUNNING, 0,
	      "pid 100 is a child of the thread that no record knew: adopted" },
	    END } },
	{ "running, reparented: lost", 1,
	  { RUNNING(1, 100, 500) },
	  { NOTKID(100, 'S', 500, 1) },
	  { { PERSIST__ACT_LOST, PERSIST_FOUND_NOT_CHILD, 1, 100, PERSIST_CHILD_LOST, 0,
	      "pid 100 is no longer a child of the thread (pid 4242): its parent is 1" },
	    END } },
	{ "running, missed by the children file but its parent is the thread", 1,
	  { RUNNING(1, 100, 500) },
	  { NOTKID(100, 'S', 500, T) },
	  { { PERSIST__ACT_LEAVE, PERSIST_FOUND_RUNNING, 1, 100, PERSIST_CHILD_RUNNING, 0, "" },
	    END } },
	{ "running, stat unreadable: unchanged, with the error", 1,
	  { RUNNING(1, 100, 500) },
	  { UNREADABLE(100, -EACCES) },
	  { { PERSIST__ACT_LEAVE, PERSIST_FOUND_RUNNING, 1, 100, PERSIST_CHILD_RUNNING, 0,
	      "pid 100: /proc unreadable (Permission denied)" },
	    END } },
	{ "thread gone: its child outlived it, an intent is out of reach, nothing adopted", 0,
	  { RUNNING(1, 100, 500), INTENT(2, "a\0") },
	  { NOTKID(100, 'S', 500, 1), KID(200, 'S', 600, "a", "a\0", EXECD) },
	  { { PERSIST__ACT_LOST, PERSIST_FOUND_NOT_CHILD, 1, 100, PERSIST_CHILD_LOST, 0,
	      "pid 100 outlived its thread (pid 4242), which is gone: its parent is 1" },
	    { PERSIST__ACT_LOST, PERSIST_FOUND_NEVER_STARTED, 2, 0, PERSIST_CHILD_LOST, 0,
	      "never started, or out of reach: the thread (pid 4242) is gone" },
	    END } },
	{ "intents completed by argv: oldest child (by start time) with oldest intent", 1,
	  { INTENT(1, "job\0" "x\0"), INTENT(2, "other\0"), INTENT(3, "job\0" "x\0") },
	  { KID(300, 'S', 700, "job", "job\0" "x\0", EXECD),
	    KID(301, 'S', 650, "job", "job\0" "x\0", EXECD) },
	  { { PERSIST__ACT_COMPLETE, PERSIST_FOUND_MATCHED, 1, 301, PERSIST_CHILD_RUNNING, 0,
	      "pid 301 completes the intent (its argv matches)" },
	    { PERSIST__ACT_COMPLETE, PERSIST_FOUND_MATCHED, 3, 300, PERSIST_CHILD_RUNNING, 0,
	      "pid 300 completes the intent (its argv matches)" },
	    { PERSIST__ACT_LOST, PERSIST_FOUND_NEVER_STARTED, 2, 0, PERSIST_CHILD_LOST, 0,
	      "never started: the controller died before spawning" },
	    END } },
	{ "a zombie completes an intent by its command name", 1,
	  { INTENT(1, "/usr/bin/zomb-match\0" "--flag\0") },
	  { KID(300, 'Z', 700, "zomb-match", "", EXECD) },
	  { { PERSIST__ACT_COMPLETE, PERSIST_FOUND_MATCHED, 1, 300, PERSIST_CHILD_RUNNING, 1,
	      "pid 300 completes the intent (its argv matches)" },
	    END } },
	{ "children no record knows: adopted, a zombie one with its status", 1,
	  { { 0 } },
	  { KID(300, 'S', 700, "srv", "srv\0", EXECD), KID(301, 'Z', 701, "job", "", EXECD) },
	  { { PERSIST__ACT_ADOPT, PERSIST_FOUND_ADOPTED, 0, 300, PERSIST_CHILD_RUNNING, 0,
	      "pid 300 is a child of the thread that no record knew: adopted" },
	    { PERSIST__ACT_ADOPT, PERSIST_FOUND_ADOPTED, 0, 301, PERSIST_CHILD_RUNNING, 1,
	      "pid 301 is a child of the thread that no record knew: adopted" },
	    END } },
	{ "a live controller's spawn in flight: its intent and every stray left alone", 1,
	  { INTENT_LIVE(1, "job\0", 77) },
	  { KID(300, 'S', 700, "persist-server", "persist-server\0", FORKED),
	    KID(301, 'S', 701, "other", "other\0", EXECD) },
	  { { PERSIST__ACT_IN_PROGRESS, PERSIST_FOUND_IN_PROGRESS, 0, 300, PERSIST_CHILD_RUNNING, 0,
	      "pid 300: no record yet, a spawn is in flight (controller pid 0)" },
	    { PERSIST__ACT_IN_PROGRESS, PERSIST_FOUND_IN_PROGRESS, 0, 301, PERSIST_CHILD_RUNNING, 0,
	      "pid 301: no record yet, a spawn is in flight (controller pid 0)" },
	    { PERSIST__ACT_IN_PROGRESS, PERSIST_FOUND_IN_PROGRESS, 1, 0, PERSIST_CHILD_INTENT, 0,
	      "a spawn is in flight (controller pid 77)" },
	    END } },
	{ "a live controller's spawn, exec'd but not recorded yet: left to it", 1,
	  { INTENT_LIVE(1, "job\0", 77) },
	  { KID(300, 'S', 700, "job", "job\0", EXECD) },
	  { { PERSIST__ACT_IN_PROGRESS, PERSIST_FOUND_IN_PROGRESS, 1, 300, PERSIST_CHILD_INTENT, 0,
	      "pid 300: no record yet, a spawn is in flight (controller pid 77)" },
	    END } },
	{ "the controller is dead: its intent is settled like any", 1,
	  { INTENT_DEAD(1, "job\0", 77) },
	  { KID(300, 'S', 700, "job", "job\0", EXECD) },
	  { { PERSIST__ACT_COMPLETE, PERSIST_FOUND_MATCHED, 1, 300, PERSIST_CHILD_RUNNING, 0,
	      "pid 300 completes the intent (its argv matches)" },
	    END } },
	{ "a half-spawned fork (never exec'd): killed, never adopted; a zombie one too", 1,
	  { INTENT(1, "job\0") },
	  { KID(300, 'S', 700, "persist-server", "persist-server\0" "--fd\0" "3\0", FORKED),
	    KID(301, 'Z', 701, "persist-server", "", FORKED) },
	  { { PERSIST__ACT_KILL, PERSIST_FOUND_HALF_SPAWNED, 0, 300, PERSIST_CHILD_KILLED, 0,
	      "pid 300 (persist-server) is a fork of the thread that never ran a command (its "
	      "controller died before the execve): killed and reaped, not adopted" },
	    { PERSIST__ACT_KILL, PERSIST_FOUND_HALF_SPAWNED, 0, 301, PERSIST_CHILD_KILLED, 0,
	      "pid 301 (persist-server) is a fork of the thread that never ran a command (its "
	      "controller died before the execve): killed and reaped, not adopted" },
	    { PERSIST__ACT_LOST, PERSIST_FOUND_NEVER_STARTED, 1, 0, PERSIST_CHILD_LOST, 0,
	      "never started: the controller died before spawning" },
	    END } },
	{ "an exec'd program named like the thread is a command: adopted", 1,
	  { { 0 } },
	  { KID(300, 'S', 700, "persist-server", "persist-server\0" "--listen\0" "/x\0", EXECD) },
	  { { PERSIST__ACT_ADOPT, PERSIST_FOUND_ADOPTED, 0, 300, PERSIST_CHILD_RUNNING, 0,
	      "pid 300 is a child of the thread that no record knew: adopted" },
	    END } },
	{ "ended and recorded, still a zombie: reaped; settled live ones: left alone", 1,
	  { FINAL(5, PERSIST_CHILD_EXITED, 300, 700), FINAL(6, PERSIST_CHILD_KILLED, 301, 701),
	    FINAL(7, PERSIST_CHILD_LOST, 302, 702), FINAL(8, PERSIST_CHILD_EXITED, 303, 703) },
	  { KID(300, 'Z', 700, "a", "", EXECD), KID(301, 'Z', 701, "b", "", EXECD),
	    KID(302, 'S', 702, "c", "c\0", EXECD), KID(303, 'S', 703, "d", "d\0", EXECD) },
	  { { PERSIST__ACT_REAP, PERSIST_FOUND_UNREAPED, 5, 300, PERSIST_CHILD_EXITED, 0,
	      "pid 300 was recorded as ended and is still a zombie: reaped" },
	    { PERSIST__ACT_REAP, PERSIST_FOUND_UNREAPED, 6, 301, PERSIST_CHILD_KILLED, 0,
	      "pid 301 was recorded as ended and is still a zombie: reaped" },
	    END } },
	{ "a final record of another start time does not hold the child back", 1,
	  { FINAL(5, PERSIST_CHILD_EXITED, 300, 699) },
	  { KID(300, 'S', 700, "a", "a\0", EXECD) },
	  { { PERSIST__ACT_ADOPT, PERSIST_FOUND_ADOPTED, 0, 300, PERSIST_CHILD_RUNNING, 0,
	      "pid 300 is a child of the thread that no record knew: adopted" },
	    END } },
	{ "a child whose stat is unreadable is neither adopted nor killed", 1,
	  { { 0 } },
	  { { .pid = 300, .child = 1, .err = -EACCES } },
	  { END } },
	{ "order: running records, then unrecorded children, then intents left", 1,
	  { INTENT(1, "never\0"), RUNNING(2, 100, 500), RUNNING(3, 101, 501) },
	  { KID(100, 'S', 500, "a", "a\0", EXECD), KID(400, 'S', 800, "u", "u\0", EXECD) },
	  { { PERSIST__ACT_LEAVE, PERSIST_FOUND_RUNNING, 2, 100, PERSIST_CHILD_RUNNING, 0, "" },
	    { PERSIST__ACT_LOST, PERSIST_FOUND_GONE, 3, 101, PERSIST_CHILD_LOST, 0,
	      "pid 101 is gone" },
	    { PERSIST__ACT_ADOPT, PERSIST_FOUND_ADOPTED, 0, 400, PERSIST_CHILD_RUNNING, 0,
	      "pid 400 is a child of the thread that no record knew: adopted" },
	    { PERSIST__ACT_LOST, PERSIST_FOUND_NEVER_STARTED, 1, 0, PERSIST_CHILD_LOST, 0,
	      "never started: the controller died before spawning" },
	    END } },
	{ "born: the intent knows its child by identity, whatever its cmdline says", 1,
	  { INTENT_BORN(1, "job\0", 300, 700), INTENT(2, "job\0") },
	  { KID(300, 'S', 700, "job", "job: worker\0", EXECD),
	    KID(301, 'S', 650, "job", "job\0", EXECD) },
	  { { PERSIST__ACT_COMPLETE, PERSIST_FOUND_MATCHED, 2, 301, PERSIST_CHILD_RUNNING, 0,
	      "pid 301 completes the intent (its argv matches)" },
	    { PERSIST__ACT_COMPLETE, PERSIST_FOUND_MATCHED, 1, 300, PERSIST_CHILD_RUNNING, 0,
	      "pid 300 completes the intent (its argv matches)" },
	    END } },
	{ "born, then its controller died before the execve: child killed, intent lost", 1,
	  { INTENT_BORN(1, "job\0", 300, 700) },
	  { KID(300, 'S', 700, "persist-server", "persist-server\0", FORKED) },
	  { { PERSIST__ACT_KILL, PERSIST_FOUND_HALF_SPAWNED, 0, 300, PERSIST_CHILD_KILLED, 0,
	      "pid 300 (persist-server) is a fork of the thread that never ran a command (its "
	      "controller died before the execve): killed and reaped, not adopted" },
	    { PERSIST__ACT_LOST, PERSIST_FOUND_NEVER_STARTED, 1, 0, PERSIST_CHILD_LOST, 0,
	      "never started: the controller died before spawning" },
	    END } },
	{ "born to a live controller: its child is its own, other children are not", 1,
	  { INTENT_BORN_LIVE(1, "job\0", 300, 700, 77) },
	  { KID(300, 'S', 700, "persist-server", "persist-server\0", FORKED),
	    KID(301, 'S', 701, "srv", "srv\0", EXECD),
	    KID(302, 'S', 702, "persist-server", "persist-server\0", FORKED) },
	  { { PERSIST__ACT_IN_PROGRESS, PERSIST_FOUND_IN_PROGRESS, 1, 300, PERSIST_CHILD_INTENT, 0,
	      "pid 300: no record yet, a spawn is in flight (controller pid 77)" },
	    { PERSIST__ACT_ADOPT, PERSIST_FOUND_ADOPTED, 0, 301, PERSIST_CHILD_RUNNING, 0,
	      "pid 301 is a child of the thread that no record knew: adopted" },
	    { PERSIST__ACT_KILL, PERSIST_FOUND_HALF_SPAWNED, 0, 302, PERSIST_CHILD_KILLED, 0,
	      "pid 302 (persist-server) is a fork of the thread that never ran a command (its "
	      "controller died before the execve): killed and reaped, not adopted" },
	    END } },
	{ "born, and the pid now names another process: no match by argv either", 1,
	  { INTENT_BORN(1, "job\0", 300, 700) },
	  { KID(300, 'S', 701, "job", "job\0", EXECD) },
	  { { PERSIST__ACT_ADOPT, PERSIST_FOUND_ADOPTED, 0, 300, PERSIST_CHILD_RUNNING, 0,
	      "pid 300 is a child of the thread that no record knew: adopted" },
	    { PERSIST__ACT_LOST, PERSIST_FOUND_NEVER_STARTED, 1, 0, PERSIST_CHILD_LOST, 0,
	      "never started: the controller died before spawning" },
	    END } },
	{ "a never-exec'd fork completes no dead controller's intent, even with its argv", 1,
	  { INTENT(1, "persist-server\0") },
	  { KID(300, 'S', 700, "persist-server", "persist-server\0", FORKED) },
	  { { PERSIST__ACT_KILL, PERSIST_FOUND_HALF_SPAWNED, 0, 300, PERSIST_CHILD_KILLED, 0,
	      "pid 300 (persist-server) is a fork of the thread that never ran a command (its "
	      "controller died before the execve): killed and reaped, not adopted" },
	    { PERSIST__ACT_LOST, PERSIST_FOUND_NEVER_STARTED, 1, 0, PERSIST_CHILD_LOST, 0,
	      "never started: the controller died before spawning" },
	    END } },
	{ "nothing at all", 1, { { 0 } }, { { 0 } }, { END } },
};

static size_t count_recs(const struct persist__rec *r)
{
	size_t n = 0;

	while (n < 8 && r[n].id)
		n++;
	return n;
}

static int cmp_kproc(const void *a, const void *b)
{
	const struct persist__kproc *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

static void run_row(const struct row *row)
{
	struct persist__kproc procs[8];
	struct persist__plan_in in = { 0 };
	struct persist__action *a;
	size_t n, nw = 0, np = 0;
	char words[256];

	while (np < 8 && row->procs[np].pid)
		np++;
	/* The plan wants them by pid, as the snapshot gives them. */
	memcpy(procs, row->procs, sizeof procs);
	qsort(procs, np, sizeof *procs, cmp_kproc);
	in.recs = row->recs;
	in.nrecs = count_recs(row->recs);
	in.thread_alive = row->alive;
	in.thread_pid = T;
	in.procs = procs;
	in.nprocs = np;
	assert_int_equal(persist__recover_plan(&in, &a, &n), 0);
	while (row->want[nw].act != END_ACT)
		nw++;
	for (size_t i = 0; i < n || i < nw; i++) {
		const struct want *w = i < nw ? &row->want[i] : NULL;

		if (i >= n || !w)
			fail_msg("%s: %zu actions, wanted %zu", row->name, n, nw);
		persist__action_detail(&in, &a[i], words, sizeof words);
		if (a[i].act != w->act || a[i].found != w->found || a[i].child_id != w->id ||
		    a[i].pid != w->pid || a[i].after != w->after || a[i].zombie != w->zombie ||
		    strcmp(words, w->words) != 0)
			fail_msg("%s: action %zu is %s/%s id %lld pid %d after %s zombie %d \"%s\";"
				 " wanted %s/%s id %lld pid %d after %s zombie %d \"%s\"", row->name,
				 i, persist__act_name(a[i].act), persist_found_name(a[i].found),
				 (long long)a[i].child_id, a[i].pid,
				 persist_child_state_name(a[i].after), a[i].zombie, words,
				 persist__act_name(w->act), persist_found_name(w->found),
				 (long long)w->id, w->pid, persist_child_state_name(w->after),
				 w->zombie, w->words);
		/* An action on a process points at it. */
		if (a[i].pid && a[i].act != PERSIST__ACT_LOST)
			assert_true(a[i].proc && a[i].proc->pid == a[i].pid);
	}
	free(a);
}

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		run_row(&rows[i]);
}

/* Every running record and every intent gets exactly one action, and every
 * child of the thread at most one, whatever the mix: the shell writes one
 * entry per action, so none may be doubled or dropped. */
static void test_one_action_each(void **state)
{
	enum { N = 600 };
	struct persist__rec *recs = calloc(N, sizeof *recs);
	struct persist__kproc *procs = calloc(N, sizeof *procs);
	struct persist__plan_in in = { .recs = recs, .thread_alive = 1, .thread_pid = T,
				       .procs = procs };
	struct persist__action *a;
	unsigned char *seen_rec = calloc(N + 1, 1), *seen_pid = calloc(2 * N + 1, 1);
	size_t n, live = 0;
	unsigned seed = 7;

	(void)state;
	assert_non_null(recs);
	assert_non_null(procs);
	for (int i = 0; i < N; i++) {
		int kind = (int)(rand_r(&seed) % 5);
		struct persist__rec *x = &recs[in.nrecs++];

		x->id = i + 1;
		x->pid = i + 1;
		x->starttime = 1000 + (unsigned)i;
		switch (kind) {
		case 0: x->state = PERSIST_CHILD_RUNNING; break;
		case 1: x->state = PERSIST_CHILD_INTENT; x->argv = "job\0"; x->argvlen = 4;
			x->pid = 0; x->owner_live = rand_r(&seed) % 7 == 0;
			if (rand_r(&seed) % 2) {
				x->born_pid = i + 1;
				x->born_start = 1000 + (unsigned)i;
			}
			break;
		case 2: x->state = PERSIST_CHILD_EXITED; break;
		default: x->state = PERSIST_CHILD_RUNNING; x->starttime++; break;
		}
		live += x->state == PERSIST_CHILD_RUNNING || x->state == PERSIST_CHILD_INTENT;
		if (rand_r(&seed) % 3) {
			struct persist__kproc *k = &procs[in.nprocs++];
			k->pid = i + 1;
			k->child = rand_r(&seed) % 4 != 0;
			k->st.ppid = k->child ? T : 1;
			k->st.starttime = 1000 + (unsigned)i;
			k->st.state = rand_r(&seed) % 4 ? 'S' : 'Z';
			k->flags = rand_r(&seed) % 5 ? 0 : PERSIST__PF_FORKNOEXEC;
			if (rand_r(&seed) % 2) {
				k->cmdline = "job\0";
				k->cmdlen = 4;
			}
		}
	}
	assert_int_equal(persist__recover_plan(&in, &a, &n), 0);
	for (size_t i = 0; i < n; i++) {
		if (a[i].child_id && a[i].act != PERSIST__ACT_REAP) {
			assert_false(seen_rec[a[i].child_id]);
			seen_rec[a[i].child_id] = 1;
		}
		if (a[i].pid && a[i].act != PERSIST__ACT_LOST) {
			assert_false(seen_pid[a[i].pid]);
			seen_pid[a[i].pid] = 1;
		}
		/* Never adopt or complete a fork that never ran a command;
		 * never kill one that did. */
		if (a[i].proc && (a[i].act == PERSIST__ACT_ADOPT || a[i].act == PERSIST__ACT_COMPLETE))
			assert_false(a[i].proc->flags & PERSIST__PF_FORKNOEXEC);
		if (a[i].act == PERSIST__ACT_KILL)
			assert_true(a[i].proc->flags & PERSIST__PF_FORKNOEXEC);
	}
	for (size_t i = 0; i < in.nrecs; i++)
		if (recs[i].state == PERSIST_CHILD_RUNNING || recs[i].state == PERSIST_CHILD_INTENT)
			assert_true(seen_rec[recs[i].id]);
	(void)live;
	free(a);
	free(recs);
	free(procs);
	free(seen_rec);
	free(seen_pid);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(persist__act_name(PERSIST__ACT_KILL), "kill");
	assert_string_equal(persist__act_name(PERSIST__ACT_LEAVE), "leave");
	assert_null(persist__act_name((enum persist__act)99));
	assert_string_equal(persist_found_name(PERSIST_FOUND_HALF_SPAWNED), "half-spawned");
	assert_null(persist_found_name((enum persist_found)99));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_one_action_each),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
