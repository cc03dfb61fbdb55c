// SPDX-License-Identifier: MIT
/* Recovery's decision: records and a kernel snapshot in, actions out.  Pure
 * (memory aside): every fact it needs, down to whether an intent's writer
 * still lives, is an input, so a table of cases tests it whole. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "recover_plan.h"

static const char *const act_names[] = {
	[PERSIST__ACT_LEAVE] = "leave",
	[PERSIST__ACT_COLLECT] = "collect",
	[PERSIST__ACT_LOST] = "lost",
	[PERSIST__ACT_COMPLETE] = "complete",
	[PERSIST__ACT_ADOPT] = "adopt",
	[PERSIST__ACT_REAP] = "reap",
	[PERSIST__ACT_IN_PROGRESS] = "in-progress",
	[PERSIST__ACT_KILL] = "kill",
};

const char *persist__act_name(enum persist__act a)
{
	return (unsigned)a < sizeof act_names / sizeof act_names[0] ? act_names[a] : NULL;
}

struct plan {
	const struct persist__plan_in *in;
	struct persist__action *a;
	size_t n, cap;
	unsigned char *claimed; /* procs a running record accounts for */
	unsigned char *taken;   /* intents a child completed */
	int busy;               /* some intent's writer still lives, and its child
				   is not known by identity yet */
};

/* The array is sized once, for the most actions there can be: one per
 * record or process. */
static struct persist__action *add(struct plan *p, enum persist__act act, enum persist_found found)
{
	struct persist__action *a;

	if (p->n == p->cap)
		return NULL;
	a = &p->a[p->n++];
	memset(a, 0, sizeof *a);
	a->act = act;
	a->found = found;
	return a;
}

static const struct persist__kproc *find(const struct persist__plan_in *in, int pid, size_t *at)
{
	size_t lo = 0, hi = in->nprocs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (in->procs[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < in->nprocs && in->procs[lo].pid == pid) {
		*at = lo;
		return &in->procs[lo];
	}
	return NULL;
}

static int zombie(const struct persist__kproc *k)
{
	return k->st.state == 'Z' || k->st.state == 'X';
}

/* Each running record against the process its pid names now. */
static int running(struct plan *p)
{
	const struct persist__plan_in *in = p->in;

	for (size_t i = 0; i < in->nrecs; i++) {
		const struct persist__rec *x = &in->recs[i];
		const struct persist__kproc *k;
		struct persist__action *a;
		size_t at;
		int child;

		if (x->state != PERSIST_CHILD_RUNNING)
			continue;
		k = find(in, x->pid, &at);
		if (!(a = add(p, PERSIST__ACT_LEAVE, PERSIST_FOUND_RUNNING)))
			return -ENOMEM;
		a->child_id = x->id;
		a->pid = x->pid;
		a->starttime = x->starttime;
		a->before = a->after = PERSIST_CHILD_RUNNING;
		a->proc = k;
		if (!k) {
			a->act = PERSIST__ACT_LOST;
			a->found = PERSIST_FOUND_GONE;
			a->after = PERSIST_CHILD_LOST;
		} else if (k->err) {
			/* Not readable: say so, change nothing. */
			a->error = k->err;
		} else if (k->st.starttime != x->starttime) {
			a->act = PERSIST__ACT_LOST;
			a->found = PERSIST_FOUND_REUSED;
			a->after = PERSIST_CHILD_LOST;
		} else {
			/* The children file may skip an entry while other
			 * children exit (proc(5)), so the parent in its own
			 * stat counts too. */
			child = in->thread_alive && (k->child || k->st.ppid == in->thread_pid);
			if (in->thread_alive && k->child)
				p->claimed[at] = 1;
			if (!child) {
				a->act = PERSIST__ACT_LOST;
				a->found = PERSIST_FOUND_NOT_CHILD;
				a->after = PERSIST_CHILD_LOST;
			} else if (zombie(k)) {
				a->act = PERSIST__ACT_COLLECT;
				a->found = PERSIST_FOUND_ZOMBIE;
				a->zombie = 1;
			}
		}
	}
	return 0;
}

/* The newest final record of this process, if any. */
static const struct persist__rec *settled(const struct persist__plan_in *in,
					  const struct persist__kproc *k)
{
	const struct persist__rec *best = NULL;

	for (size_t i = 0; i < in->nrecs; i++) {
		const struct persist__rec *x = &in->recs[i];
		if ((x->state == PERSIST_CHILD_EXITED || x->state == PERSIST_CHILD_KILLED ||
		     x->state == PERSIST_CHILD_LOST) &&
		    x->pid == k->pid && x->starttime == k->st.starttime &&
		    (!best || x->id > best->id))
			best = x;
	}
	return best;
}

static int cmp_stray(const void *a, const void *b)
{
	const struct persist__kproc *x = *(const struct persist__kproc *const *)a;
	const struct persist__kproc *y = *(const struct persist__kproc *const *)b;

	if (x->st.starttime != y->st.starttime)
		return x->st.starttime < y->st.starttime ? -1 : 1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* A zombie's cmdline is empty; its command name (the executable's base
 * name, cut to 15 bytes) is all that is left to match an intent with. */
static int comm_matches(const struct persist__kproc *k, const struct persist__rec *x)
{
	const char *base;

	if (!x->argvlen || !x->argv || !k->st.comm[0])
		return 0;
	base = strrchr(x->argv, '/');
	base = base ? base + 1 : x->argv;
	return strncmp(k->st.comm, base, 15) == 0;
}

/* The intent child k stands for: the one that recorded k's identity at
 * its birth; else the oldest of those without a birth record whose argv
 * is k's cmdline (a zombie: whose program is k's command name).  An
 * intent that knows its child's identity stands for that process only.
 * A child that never ran execve stands for no intent whose controller is
 * dead: that spawn will never finish. */
static size_t match(struct plan *p, const struct persist__kproc *k)
{
	const struct persist__plan_in *in = p->in;

	for (size_t i = 0; i < in->nrecs; i++) {
		const struct persist__rec *x = &in->recs[i];
		if (x->state == PERSIST_CHILD_INTENT && !p->taken[i] && x->born_pid &&
		    x->born_pid == k->pid && x->born_start == k->st.starttime)
			return x->owner_live || !(k->flags & PERSIST__PF_FORKNOEXEC) ? i
										: (size_t)-1;
	}
	for (size_t i = 0; i < in->nrecs; i++) {
		const struct persist__rec *x = &in->recs[i];
		if (x->state != PERSIST_CHILD_INTENT || p->taken[i] || x->born_pid ||
		    ((k->flags & PERSIST__PF_FORKNOEXEC) && !x->owner_live))
			continue;
		if (k->cmdlen ? x->argvlen == k->cmdlen && memcmp(x->argv, k->cmdline, k->cmdlen) == 0
			      : zombie(k) && comm_matches(k, x))
			return i;
	}
	return (size_t)-1;
}

/* A fork of the thread that never ran a command: the kernel sets
 * PF_FORKNOEXEC on fork and clears it on execve.  (The server's fork op
 * also leaves such a child the thread's command name, but so does
 * valgrind to every process it runs, and so would a spawned program that
 * happens to share the thread's name: the flag is the fact itself.) */
static int half_spawned(const struct persist__kproc *k)
{
	return (k->flags & PERSIST__PF_FORKNOEXEC) != 0;
}

/* Children no running record accounts for: unreaped ends of final records,
 * then, oldest first, spawns that complete an intent, half-done forks, and
 * children to adopt. */
static int strays(struct plan *p)
{
	const struct persist__plan_in *in = p->in;
	const struct persist__kproc **s = NULL;
	size_t ns = 0;
	int r = 0;

	if (!in->thread_alive)
		return 0; /* the pid's children now are not the thread's */
	if (in->nprocs && !(s = malloc(in->nprocs * sizeof *s)))
		return -ENOMEM;
	for (size_t j = 0; j < in->nprocs; j++) {
		const struct persist__kproc *k = &in->procs[j];
		const struct persist__rec *x;

		if (!k->child || p->claimed[j] || k->err)
			continue;
		if ((x = settled(in, k))) {
			/* Recorded as ended but not reaped yet (a crash between
			 * the record and the reap), or settled earlier. */
			struct persist__action *a;
			if ((x->state == PERSIST_CHILD_EXITED || x->state == PERSIST_CHILD_KILLED) &&
			    zombie(k)) {
				if (!(a = add(p, PERSIST__ACT_REAP, PERSIST_FOUND_UNREAPED))) {
					r = -ENOMEM;
					goto out;
				}
				a->child_id = x->id;
				a->pid = k->pid;
				a->starttime = k->st.starttime;
				a->before = a->after = x->state;
				a->proc = k;
			}
			continue;
		}
		s[ns++] = k;
	}
	if (ns > 1)
		qsort(s, ns, sizeof *s, cmp_stray);
	for (size_t j = 0; j < ns; j++) {
		const struct persist__kproc *k = s[j];
		size_t i = match(p, k);
		const struct persist__rec *x = i == (size_t)-1 ? NULL : &in->recs[i];
		struct persist__action *a = add(p, PERSIST__ACT_ADOPT, PERSIST_FOUND_ADOPTED);

		if (!a) {
			r = -ENOMEM;
			goto out;
		}
		a->pid = k->pid;
		a->starttime = k->st.starttime;
		a->proc = k;
		a->before = a->after = PERSIST_CHILD_RUNNING;
		if (x)
			p->taken[i] = 1;
		if ((x && x->owner_live) || (!x && p->busy)) {
			/* Its controller will record it; or, unmatched, it may
			 * be a live controller's child before its execve. */
			a->act = PERSIST__ACT_IN_PROGRESS;
			a->found = PERSIST_FOUND_IN_PROGRESS;
			a->child_id = x ? x->id : 0;
			a->owner = x ? x->owner : 0;
			if (x)
				a->before = a->after = PERSIST_CHILD_INTENT;
		} else if (x) {
			a->act = PERSIST__ACT_COMPLETE;
			a->found = PERSIST_FOUND_MATCHED;
			a->child_id = x->id;
			a->before = PERSIST_CHILD_INTENT;
			a->zombie = zombie(k);
		} else if (half_spawned(k)) {
			/* Recovery adopts spawned commands only: this one's
			 * controller died between the fork and the execve. */
			a->act = PERSIST__ACT_KILL;
			a->found = PERSIST_FOUND_HALF_SPAWNED;
			a->before = a->after = PERSIST_CHILD_KILLED;
		} else {
			a->zombie = zombie(k);
		}
	}
out:
	free(s);
	return r;
}

/* Intents no child completed. */
static int intents_left(struct plan *p)
{
	const struct persist__plan_in *in = p->in;

	for (size_t i = 0; i < in->nrecs; i++) {
		const struct persist__rec *x = &in->recs[i];
		struct persist__action *a;

		if (x->state != PERSIST_CHILD_INTENT || p->taken[i])
			continue;
		if (!(a = add(p, PERSIST__ACT_LOST, PERSIST_FOUND_NEVER_STARTED)))
			return -ENOMEM;
		a->child_id = x->id;
		a->before = PERSIST_CHILD_INTENT;
		a->after = PERSIST_CHILD_LOST;
		if (x->owner_live) {
			a->act = PERSIST__ACT_IN_PROGRESS;
			a->found = PERSIST_FOUND_IN_PROGRESS;
			a->after = PERSIST_CHILD_INTENT;
			a->owner = x->owner;
		}
	}
	return 0;
}

const char *persist__action_detail(const struct persist__plan_in *in,
				   const struct persist__action *a, char *buf, size_t len)
{
	const struct persist__kproc *k = a->proc;
	int ppid = k ? k->st.ppid : 0;

	buf[0] = 0;
	switch (a->act) {
	case PERSIST__ACT_LEAVE:
		if (a->error)
			snprintf(buf, len, "pid %d: /proc unreadable (%s)", a->pid, strerror(-a->error));
		break;
	case PERSIST__ACT_COLLECT:
		snprintf(buf, len, "pid %d ended", a->pid);
		break;
	case PERSIST__ACT_LOST:
		if (a->found == PERSIST_FOUND_GONE)
			snprintf(buf, len, "pid %d is gone", a->pid);
		else if (a->found == PERSIST_FOUND_REUSED)
			snprintf(buf, len, "pid %d now belongs to another process (start time differs)",
				 a->pid);
		else if (a->found == PERSIST_FOUND_NOT_CHILD && in->thread_alive)
			snprintf(buf, len, "pid %d is no longer a child of the thread (pid %d): its "
				 "parent is %d", a->pid, in->thread_pid, ppid);
		else if (a->found == PERSIST_FOUND_NOT_CHILD)
			snprintf(buf, len, "pid %d outlived its thread (pid %d), which is gone: its "
				 "parent is %d", a->pid, in->thread_pid, ppid);
		else if (in->thread_alive)
			snprintf(buf, len, "never started: the controller died before spawning");
		else
			snprintf(buf, len, "never started, or out of reach: the thread (pid %d) is "
				 "gone", in->thread_pid);
		break;
	case PERSIST__ACT_COMPLETE:
		snprintf(buf, len, "pid %d completes the intent (its argv matches)", a->pid);
		break;
	case PERSIST__ACT_ADOPT:
		snprintf(buf, len, "pid %d is a child of the thread that no record knew: adopted",
			 a->pid);
		break;
	case PERSIST__ACT_REAP:
		snprintf(buf, len, "pid %d was recorded as ended and is still a zombie: reaped",
			 a->pid);
		break;
	case PERSIST__ACT_IN_PROGRESS:
		if (a->pid)
			snprintf(buf, len, "pid %d: no record yet, a spawn is in flight (controller "
				 "pid %d)", a->pid, a->owner);
		else
			snprintf(buf, len, "a spawn is in flight (controller pid %d)", a->owner);
		break;
	case PERSIST__ACT_KILL:
		snprintf(buf, len, "pid %d (%s) is a fork of the thread that never ran a command "
			 "(its controller died before the execve): killed and reaped, not adopted",
			 a->pid, k ? k->st.comm : "?");
		break;
	}
	return buf;
}

int persist__recover_plan(const struct persist__plan_in *in, struct persist__action **out,
			  size_t *n)
{
	struct plan p = { .in = in };
	int r = -ENOMEM;

	*out = NULL;
	*n = 0;
	p.cap = in->nrecs + in->nprocs;
	if ((p.cap && !(p.a = malloc(p.cap * sizeof *p.a))) ||
	    (in->nprocs && !(p.claimed = calloc(in->nprocs, 1))) ||
	    (in->nrecs && !(p.taken = calloc(in->nrecs, 1))))
		goto out;
	for (size_t i = 0; i < in->nrecs; i++)
		p.busy |= in->recs[i].state == PERSIST_CHILD_INTENT && in->recs[i].owner_live &&
			  !in->recs[i].born_pid;
	if ((r = running(&p)) < 0 || (r = strays(&p)) < 0 || (r = intents_left(&p)) < 0)
		goto out;
	*out = p.a;
	*n = p.n;
	p.a = NULL;
out:
	free(p.a);
	free(p.claimed);
	free(p.taken);
	return r;
}
