/* SPDX-License-Identifier: MIT */
/* Recovery: reconcile what the store says of a thread's children with what
 * the kernel says, trusting the kernel, and report every difference.
 *
 * A program calls it after a crash, once it holds the thread's connection
 * (so that no other controller spawns into the thread meanwhile), and
 * persistctl on every invocation.  The kernel is read through the thread
 * (ops->sysif): its /proc, its pids, its pid namespace, never the
 * caller's, which are other ones as soon as the thread lives in another
 * pid namespace.  For each child record of the thread:
 *
 *  running, pid + start time match a live child of the thread (listed in
 *      /proc/THREAD/task/N/children) -> still running, nothing changes;
 *  ... but the process is a zombie -> it ended: the status is collected
 *      with the caller's collect() (waitid WNOWAIT in the thread), recorded
 *      as exited/killed, and only THEN, after the commit, reaped with the
 *      caller's reap() (decision 8: a status is never lost);
 *  running, pid gone -> lost, "pid N is gone";
 *  running, pid alive with another start time -> lost, "pid N now belongs
 *      to another process (start time differs)";
 *  running, same process but no longer the thread's child -> lost;
 *  intent whose writer (the controller process, by pid + start time, as
 *      the caller's own /proc shows it: controllers are the caller's
 *      neighbours, not the thread's) still lives and is not the caller: a
 *      spawn in flight, not a crash.  It is left alone, and so is its
 *      child (see below);
 *  intent (no pid): a crash between the intent and the spawn's record.
 *      Children of the thread that no record knows are matched to the
 *      thread's intents: by identity to an intent that recorded its
 *      child's pid + start time at birth (persist_store_born), else by argv
 *      (/proc/PID/cmdline), oldest first, to one that did not; the intent
 *      is completed.  Intents left are lost, "never started: the
 *      controller died before spawning" (so is one whose born child never
 *      reached its execve: that child is half-spawned, below).  While a
 *      live controller's intent has no born child yet, every unrecorded
 *      child may be its spawn and is left alone;
 *  children of the thread no record knows and no intent matches are
 *      adopted: a new running record with argv and cwd from /proc; except
 *      that recovery adopts spawned commands only: such a child that never
 *      called execve (the kernel's PF_FORKNOEXEC in its /proc/PID/stat
 *      flags; the thread's fork op also leaves it the thread's command
 *      name) is a fork of the thread whose controller died mid-spawn: it
 *      is killed (SIGKILL) and reaped, never adopted, and reported as
 *      half-spawned;
 *  exited/killed and lost records are final; an exited/killed one whose
 *      process is still an unreaped zombie (a crash between record and
 *      reap) is reaped.
 *
 * If the thread itself is gone (its pid + start time no longer match), its
 * children cannot be collected nor adopted: every live record becomes lost.
 *
 * The kernel is read without any lock held; all changes are then written in
 * one transaction, each conditional on the record being unchanged since it
 * was read (a change made meanwhile by another process wins, and the entry
 * says so). */
#ifndef PERSIST_RECOVER_H
#define PERSIST_RECOVER_H

#include <persist/store.h>

#ifdef __cplusplus
extern "C" {
#endif

struct near_sysif;

struct persist_recover_ops {
	/* Collect the status of the thread's zombie child pid WITHOUT reaping
	 * it (waitid(P_PID, pid, WEXITED | WNOWAIT) in the thread).  Set *code
	 * to the exit code, or to the signal with *killed = 1.
	 * Returns: 0; a negative errno (the child stays 'running', the
	 * entry keeps the error).  NULL: zombies are reported, left
	 * 'running', with the entry's error -ENOSYS. */
	int (*collect)(void *arg, int pid, int *code, int *killed);
	/* Reap pid in the thread, called only once its status is committed.
	 * Returns: 0; a negative errno (kept in the entry).  NULL: the caller
	 * reaps the entries whose reap field is set. */
	int (*reap)(void *arg, int pid);
	void *arg;
	/* The thread's syscalls (persist_thread's task.sysif): /proc is read,
	 * and half-spawned forks killed, by syscalls issued in the thread, a
	 * few pipelined round trips in all, through a scratch mapping made
	 * there for the call.  NULL: the calling process's own /proc and
	 * kill() are used instead, which is right only when the thread is
	 * this process or is proven to share its pid namespace and /proc (a
	 * local thread); the caller vouches for that.  With ops NULL, too. */
	struct near_sysif *sysif;
};

/* What recovery found of one child. */
enum persist_found {
	PERSIST_FOUND_RUNNING,       /* alive, a child of the thread, as recorded */
	PERSIST_FOUND_ZOMBIE,        /* ended, not yet reaped */
	PERSIST_FOUND_GONE,          /* no process has the pid */
	PERSIST_FOUND_REUSED,        /* the pid belongs to another process */
	PERSIST_FOUND_NOT_CHILD,     /* alive but no longer the thread's child */
	PERSIST_FOUND_NEVER_STARTED, /* an intent that no child matches */
	PERSIST_FOUND_MATCHED,       /* an unrecorded child that completes an intent */
	PERSIST_FOUND_ADOPTED,       /* an unrecorded child, no intent: a new record */
	PERSIST_FOUND_UNREAPED,      /* recorded as ended, still a zombie: reaped */
	PERSIST_FOUND_IN_PROGRESS,   /* an intent whose controller still lives, or
					an unrecorded child that may be its spawn:
					left to that controller */
	PERSIST_FOUND_HALF_SPAWNED,  /* an unrecorded fork of the thread that never
					ran a command: killed and reaped, no record */
};

/* Returns: "running", "zombie", "gone", "reused", "not-child",
 * "never-started", "matched", "adopted", "unreaped", "in-progress",
 * "half-spawned"; NULL if bad. */
PERSIST_EXPORT const char *persist_found_name(enum persist_found f);

struct persist_recover_entry {
	int64_t child_id;
	enum persist_found found;
	int pid;                       /* 0 if none */
	unsigned long long starttime;
	enum persist_child_state before, after; /* after == before: unchanged
						   (adopted: a new record, in
						   state after; half-spawned:
						   killed, no record) */
	int exit_code, signal;         /* when after is exited / killed (half-spawned:
					  SIGKILL, or 0 if it had ended already) */
	char *detail;                  /* lost: the reason; else NULL or a note */
	int reap;                      /* the caller must reap pid (no reap op, or
					  the reap op failed: error says why) */
	int error;                     /* 0, or why this child could not be settled:
					  collect's/reap's error, or -EAGAIN if
					  another process changed the record first */
};

struct persist_recover_report {
	int thread_alive;        /* the thread's pid + start time match */
	size_t kernel_children;  /* children of the thread the kernel lists */
	size_t records;          /* intent + running records examined */
	size_t running, ended, lost, matched, adopted, reaped, errors;
	size_t in_progress;      /* entries left to a live controller's spawn */
	struct persist_recover_entry *entries; /* the records examined, then
						  every unrecorded or unreaped child */
	size_t n;
	size_t half_spawned;     /* forks of the thread killed, never adopted */
};

/* Reconcile the children of thread (as read from st: its id, pid and start
 * time) with the kernel; see above.  ops may be NULL (then nothing is
 * collected and /proc is the caller's own: see ops->sysif).  *report is
 * filled on success (free it with persist_recover_report_free) and zeroed
 * on failure, when nothing was written.
 * Returns: 0 (the report may still hold per-child errors); -EINVAL (thread
 * without id, pid or start time); -ENOMEM; -EXDEV (the /proc the thread
 * sees is not of its own pid namespace, so its pids cannot be read there);
 * another -errno reading /proc (-EACCES, -EPROTO, -ENOENT: no /proc);
 * through ops->sysif, the sysif's errors (-ECONNRESET, -ENOTCONN,
 * -ETIMEDOUT: the thread could not be read, and nothing is concluded from
 * that); store errors. */
PERSIST_EXPORT int persist_recover(struct persist_store *st, const struct persist_thread_rec *thread,
				   const struct persist_recover_ops *ops,
				   struct persist_recover_report *report);

/* Returns: nothing. */
PERSIST_EXPORT void persist_recover_report_free(struct persist_recover_report *report);

/* collect() and reap() for a thread that is the calling process itself
 * (arg unused): waitid WNOWAIT / waitid in the caller.
 * Returns: 0; -ECHILD (not our child); -EAGAIN (not ended yet). */
PERSIST_EXPORT int persist_recover_collect_local(void *arg, int pid, int *code, int *killed);
PERSIST_EXPORT int persist_recover_reap_local(void *arg, int pid);

/* The children of process pid as the calling process's /proc lists them in
 * /proc/PID/task/N/children for every thread N of it (or, on kernels
 * without that file, every process whose parent is pid), sorted, into a
 * new array *out of *n (free()).  The local view: recovery does not use it.
 * Returns: 0; -ESRCH (no such process); -ENOMEM; -EPROTO (an unreadable
 * children file); another -errno of /proc. */
PERSIST_EXPORT int persist_proc_children(int pid, int **out, size_t *n);

#ifdef __cplusplus
}
#endif
#endif
