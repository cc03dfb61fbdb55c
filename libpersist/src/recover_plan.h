/* SPDX-License-Identifier: MIT */
/* Recovery's decision, as a pure function: the store's records of a thread
 * and a snapshot of the kernel in, one action per record or process out.
 * No I/O, no clock, no store: tests feed it tables (test_recover_plan.c),
 * and recover.c is the shell that reads the kernel through the thread and
 * applies the actions through the store.  Never installed. */
#ifndef PERSIST_RECOVER_PLAN_H
#define PERSIST_RECOVER_PLAN_H

#include <stddef.h>
#include <stdint.h>
#include <persist/recover.h>
#include "proc.h"

/* A record of the thread's child, as read from the store. */
struct persist__rec {
	int64_t id;
	enum persist_child_state state;
	int pid;                      /* running and final records */
	unsigned long long starttime;
	const char *argv;             /* intents: the stored argv blob */
	size_t argvlen;
	int owner;                    /* intents: the controller that wrote it (0: unknown) */
	int owner_live;               /* intents: that controller still lives and is not
					 the caller (a fact the shell establishes) */
	int born_pid;                 /* intents: the child the spawn made, recorded
					 before its execve (persist_store_born); 0:
					 not known (an older writer, or not born yet) */
	unsigned long long born_start;
};

struct persist__plan_in {
	/* The intent and running records of the thread, by id; then any
	 * final record (exited, killed, lost) of the thread whose pid and
	 * start time are those of a child in procs. */
	const struct persist__rec *recs;
	size_t nrecs;
	int thread_alive;             /* pid + start time match, not ended */
	int thread_pid;
	/* By pid: the thread's children (child set) and every other process a
	 * running record names that exists.  A running record's pid that is
	 * not here is gone. */
	const struct persist__kproc *procs;
	size_t nprocs;
};

enum persist__act {
	PERSIST__ACT_LEAVE,       /* nothing to write: running as recorded, or
				     unreadable (error set) */
	PERSIST__ACT_COLLECT,     /* a running record's zombie: collect its status,
				     record it, reap after the commit */
	PERSIST__ACT_LOST,        /* an intent or running record becomes lost, for
				     the reason in detail */
	PERSIST__ACT_COMPLETE,    /* an intent gets the pid of the child that matches
				     it (zombie: collect, record, reap) */
	PERSIST__ACT_ADOPT,       /* a child no record knows: a new record with its
				     argv (zombie: collect, record, reap) */
	PERSIST__ACT_REAP,        /* recorded as ended, still a zombie: reap */
	PERSIST__ACT_IN_PROGRESS, /* a live controller's spawn: left to it */
	PERSIST__ACT_KILL,        /* a fork of the server that never ran a command:
				     kill and reap, never adopt */
};

/* Returns: the action's name ("leave", "collect", ...); NULL if bad. */
const char *persist__act_name(enum persist__act a);

struct persist__action {
	enum persist__act act;
	enum persist_found found;     /* what the report says of it */
	int64_t child_id;             /* the record; 0: none (adopt, kill, a stray
					 left in progress) */
	int pid;                      /* 0: none (an intent no child matched) */
	unsigned long long starttime;
	enum persist_child_state before, after; /* after: what the write makes it,
						   before any collected status */
	int zombie;                   /* collect before the commit, reap after it */
	int error;                    /* LEAVE of a process whose stat is unreadable */
	int owner;                    /* IN_PROGRESS: the controller's pid, if known */
	const struct persist__kproc *proc; /* the process, when there is one */
};

/* The words for a: a lost record's reason, or a note; "" when there is
 * nothing to say (a child running as recorded).  in is the plan's input.
 * Returns: buf. */
const char *persist__action_detail(const struct persist__plan_in *in,
				   const struct persist__action *a, char *buf, size_t len);

/* Decide.  *out gets a new array of *n actions (free()): one per intent and
 * running record, in this order: the running records (by id), the
 * unrecorded or unreaped children (oldest first), the intents no child
 * completed.  Final records yield an action only when their process is a
 * zombie to reap.  in->procs must be sorted by pid.
 * Returns: 0; -ENOMEM. */
int persist__recover_plan(const struct persist__plan_in *in, struct persist__action **out,
			  size_t *n);

#endif
