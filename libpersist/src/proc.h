/* SPDX-License-Identifier: MIT */
/* /proc, as a thread sees it: pure parsers of its files, the one test of
 * "is this still the process started then", and a reader that fetches the
 * files inside any process through its sysif, pipelined, so that what is
 * read is that process's /proc and not ours (a thread in another pid
 * namespace, or one day on another host, has other pids than we do).
 * Never installed.  Like the rest of the library, nothing here touches
 * errno: failures are negative errno values. */
#ifndef PERSIST_PROC_H
#define PERSIST_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <near/sysif.h>
#include <persist/store.h>

/* ---- pure parsers over the bytes of /proc files ---- */

/* A /proc/PID/stat line of len bytes (no NUL needed).  The command name
 * between the parentheses is whatever the process set, spaces and ')'
 * included, so the fields are counted after the LAST ')': state (3), ppid
 * (4), the kernel's task flags (9) into *flags if flags is not NULL, and
 * starttime (22).  A name longer than out->comm is cut.
 * Returns: 0; -EPROTO (not a stat line). */
int persist__parse_stat(const char *buf, size_t len, struct persist_proc_stat *out,
			unsigned long *flags);

/* The task flag the kernel sets on fork and clears on execve
 * (include/linux/sched.h; stable since Linux 2.6, not in the uapi headers):
 * a process with it in its stat flags has never run a program of its own. */
#define PERSIST__PF_FORKNOEXEC 0x00000040UL
/* Field 1 of the same line: the pid, in the pid namespace of the /proc it
 * was read from.  Returns: the pid (> 0); -EPROTO. */
int persist__parse_stat_pid(const char *buf, size_t len);

/* A growing array of pids. */
struct persist__pids {
	int *a;
	size_t n, cap;
};

/* Append x.  Returns: 0; -ENOMEM. */
int persist__pids_push(struct persist__pids *v, int x);
/* Sort and drop duplicates.  Returns: nothing. */
void persist__pids_sort(struct persist__pids *v);
/* Returns: nothing; v is empty afterwards. */
void persist__pids_free(struct persist__pids *v);

/* The pids of a /proc/PID/task/TID/children file ("12 34 56 ", spaces or
 * newlines between), appended to v.
 * Returns: how many were appended; -EPROTO (a token that is not a pid in
 * 1..INT_MAX; v keeps those before it); -ENOMEM. */
int persist__parse_pids(const char *buf, size_t len, struct persist__pids *v);

/* A /proc/PID/cmdline of len bytes as an argv blob (strings each ended by a
 * NUL, persist_argv_decode's layout) in a new buffer *blob of *bloblen
 * bytes (free()): the bytes as they are, plus the final NUL a process that
 * rewrote its argv area may have left out.  len 0 (a zombie, a kernel
 * thread) gives *blob NULL and *bloblen 0.
 * Returns: 0; -ENOMEM. */
int persist__parse_cmdline(const char *buf, size_t len, char **blob, size_t *bloblen);

/* The test every "is it still alive" in the library makes: the process
 * whose stat is ps is the one started at starttime (clock ticks since
 * boot; a reused pid has another) and has not ended (a zombie, state 'Z',
 * or a dead task, 'X', has).  Returns: 1 or 0. */
int persist__stat_alive(const struct persist_proc_stat *ps, unsigned long long starttime);

/* Whether process pid, as the /proc of sys's process shows it (sys NULL:
 * this process's /proc, for a process known to share our pid namespace),
 * is the one started at starttime and still running.
 * Returns: 1; 0 (no such process, another one with the pid, or ended); a
 * negative errno (its stat could not be read: -EACCES, the sysif's errors). */
int persist__proc_alive(struct near_sysif *sys, int pid, unsigned long long starttime);

/* The unix time (ms) at which a process with this start time began, by
 * this host's boot time.  Returns: the time. */
int64_t persist__starttime_ms(unsigned long long starttime);

/* ---- reading /proc through a sysif ---- */

/* A scratch mapping inside the sysif's process (mmap'd there on first use,
 * munmap'd by persist__procio_fini) and the pipeline that reads into it.
 * With sys NULL the calling process is used, through a local sysif, by the
 * same code. */
struct persist__procio {
	struct near_sysif *sys;
	struct near_local_sysif local;
	uint64_t base;        /* the mapping in the target; 0 until used */
	size_t size;
	char *buf;            /* our copy of it */
	struct near_request *q;
	int64_t *res;
	size_t qcap;
};

/* Returns: nothing (nothing is mapped before the first read). */
void persist__procio_init(struct persist__procio *io, struct near_sysif *sys);
/* Unmap the scratch (one syscall in the target) and free ours.
 * Returns: nothing. */
void persist__procio_fini(struct persist__procio *io);

/* Run n requests through io's sysif pipelined (all submitted before the
 * first answer is awaited; a queue that fills up, as the local sysif's
 * does, is drained and refilled), their results in order into res.
 * Returns: 0; the sysif's -errno (a connection that failed: the results
 * are not known). */
int persist__pipeline(struct persist__procio *io, const struct near_request *q, int64_t *res,
		      size_t n);

/* How a file is read. */
enum persist__pf_kind {
	PERSIST__PF_READ, /* openat + read + close */
	PERSIST__PF_DIR,  /* openat O_DIRECTORY + getdents64 + close: raw dirents */
	PERSIST__PF_LINK, /* readlinkat: the link's target */
};

/* One file to read. */
struct persist__pfile {
	char path[64];              /* in */
	enum persist__pf_kind kind; /* in */
	size_t slot;                /* in: bytes expected to be enough; more is
				       read anyway, at a few round trips' cost */
	char *data;                 /* out: the bytes, NUL after them (free());
				       NULL on failure */
	long len;                   /* out: their length, or the -errno of the
				       open, read or readlink (-ENOENT: no such
				       file) */
	uint64_t off;               /* in, PERSIST__PF_READ: read from this
				       offset (pread64) instead of the start */
	size_t max;                 /* in: at most this many bytes, the rest
				       left for a later read (0: the whole
				       file, up to 64 MiB, else -EFBIG) */
	const char *long_path;      /* in: instead of path when set, a path of
				       up to PATH_MAX: only for a read of this
				       one file (n = 1, no pre), which goes
				       alone (a log on another host) */
};

/* Read n files in io's process: the paths written with one write_mem, all
 * opens submitted at once, then all reads and closes, then one read_mem of
 * the slots, chunked by the scratch's size: about four round trips for
 * dozens of files, not three per file.  A file that fills its slot is read
 * again alone until its end.  pre (npre requests, may be 0) are submitted
 * with the first opens, results into pre_res: a free ride for requests that
 * need no memory.
 * Returns: 0 (each file's own failure is in its len); -ENOMEM; -EFBIG (a
 * slot larger than the scratch); the sysif's -errno. */
int persist__read_files(struct persist__procio *io, struct persist__pfile *f, size_t n,
			const struct near_request *pre, int64_t *pre_res, size_t npre);

/* The stat of pid as io's /proc shows it.
 * Returns: 0; -ESRCH (no such process); -EPROTO; the open/read's -errno;
 * the sysif's -errno. */
int persist__proc_stat_at(struct persist__procio *io, int pid, struct persist_proc_stat *out);

/* The children of process pid as io's /proc lists them for every thread
 * (task) of it, sorted and unique, into v; where the kernel has no
 * children files (no CONFIG_PROC_CHILDREN), every process whose parent is
 * pid.  Returns: 0; -ESRCH (no such process); -ENOMEM; the sysif's -errno. */
int persist__proc_children_at(struct persist__procio *io, int pid, struct persist__pids *v);

/* Tests only: take the no-children-file way even where the files exist. */
extern int persist__proc_force_scan;

/* ---- what recovery reads of a thread ---- */

/* One process as the thread's /proc shows it. */
struct persist__kproc {
	int pid;
	int err;           /* 0: st read; else why not (never -ESRCH: a
			      process that is gone is not in the snapshot) */
	int child;         /* the thread's /proc lists it among its children */
	struct persist_proc_stat st;
	unsigned long flags; /* the stat's task flags (PERSIST__PF_FORKNOEXEC) */
	char *cmdline;     /* children: their argv blob (persist__parse_cmdline);
			      NULL when empty (a zombie) or unreadable */
	size_t cmdlen;
	int cmd_later;     /* a child with a running record's pid: cmdline not
			      read yet (persist__snapshot_cmdlines) */
};

struct persist__snapshot {
	int alive;                /* the thread: same pid and start time, not ended */
	struct persist_proc_stat self; /* the thread's stat (when alive) */
	struct persist__kproc *procs;  /* sorted by pid */
	size_t n;
	size_t children;          /* how many of procs are children */
};

/* Read, through io, what recovery needs of thread (pid, starttime): its
 * own stat; when it is alive, its children with their stat and cmdline
 * (the cmdline of those whose pid is one of pids later: cmd_later);
 * and the stat of every pid of pids (the running records) that exists and
 * is not among them (kill(pid, 0) in the thread first: most stale pids
 * are gone, and that answer costs no path lookup).
 * Returns: 0; -EXDEV (the /proc io's process sees is not of its own pid
 * namespace: its pids would not be the thread's); -ENOMEM; the sysif's
 * -errno (nothing is known then). */
int persist__snapshot_read(struct persist__procio *io, int pid, unsigned long long starttime,
			   const int *pids, size_t npids, struct persist__snapshot *out);
/* Read, through io and in one batch, the cmdline of every child of s
 * marked cmd_later, and clear the marks.  Recovery first clears those
 * that a running record claims (same pid and start time): their argv is
 * the record's.
 * Returns: 0; -ENOMEM; the sysif's -errno. */
int persist__snapshot_cmdlines(struct persist__procio *io, struct persist__snapshot *s);
/* Returns: nothing. */
void persist__snapshot_free(struct persist__snapshot *s);

#endif
