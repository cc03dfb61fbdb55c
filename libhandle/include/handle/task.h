/* SPDX-License-Identifier: MIT */
/* Tasks: a process (or CLONE_VM child) the controller runs syscalls in.
 *
 * A task is its sysif (how syscalls reach it), its pid, and the three
 * namespaces an identifier can belong to: its fd table, its address space
 * and its pid namespace.  Tasks that share an fd table share one table
 * record (refcounted), so a handle made for one of them is valid for the
 * others and for nobody else.
 *
 * The structs below are caller-owned (libuv style: init, use, close) and
 * must not be moved or copied while in use: handles link into their task.
 * Fields marked private are the library's. */
#ifndef HANDLE_TASK_H
#define HANDLE_TASK_H

#include <stddef.h>
#include <stdint.h>
#include <near/sysif.h>
#include <far/far.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define HANDLE_EXPORT __attribute__((visibility("default")))
#else
#define HANDLE_EXPORT
#endif

struct handle_fd_table;   /* opaque: the fd table record, shared */
struct handle__entry;     /* opaque: one fd number of a table */

struct handle_task {
	int pid;                   /* in the controller's pid namespace */
	struct near_sysif *sysif;  /* every syscall of the task goes here */
	struct far_address_space as;
	struct far_ns pidns;       /* the pid namespace the task is in */
	struct handle_fd_table *files_;                  /* private */
	struct { struct handle_fd *lh_first; } fds_;     /* private */
	int local_;  /* private: shares the caller's address space? -1 unknown */
};

/* An owned reference to one fd of a task's fd table.  All-zero is an
 * invalid handle; every use of an invalid handle returns -EBADF.
 * link_ has the layout of libbsd's LIST_ENTRY, spelled out so that this
 * header needs no <sys/queue.h> (glibc's and libbsd's clash). */
struct handle_fd {
	struct handle_task *task;  /* the task it is used in; NULL: invalid */
	int fd;                    /* its number in that task's table */
	struct handle__entry *entry_;                                   /* private */
	struct { struct handle_fd *le_next, **le_prev; } link_;         /* private */
};

/* A range of memory in one address space. */
struct handle_ptr {
	struct far_address_space as;
	uint64_t addr;
	size_t size;
};

/* Start using task pid (0: the calling process) through sysif, with an fd
 * table and address space record of its own.
 * Returns: 0; -ENOMEM; -ESRCH if pid does not exist; -errno from reading
 * /proc/PID/ns/pid. */
HANDLE_EXPORT int handle_task_init(struct handle_task *t, struct near_sysif *sysif,
				   int pid);

/* As handle_task_init, with pid's namespace already known, so nothing is
 * read from /proc: for a caller that has proven task pid the same process
 * as one whose namespace it looked up before (a pid namespace is fixed for
 * a process's life), e.g. a reconnect to the same server.
 * Returns: 0; -EINVAL if pidns is not a pid namespace or pid <= 0;
 * -ENOMEM. */
HANDLE_EXPORT int handle_task_init_ns(struct handle_task *t, struct near_sysif *sysif,
				      int pid, const struct far_ns *pidns);

/* Record a task that parent just created with clone flags clone_flags:
 * with CLONE_FILES it shares parent's fd table record, otherwise it gets a
 * record for a copy of the table (whose fds handle_fd_inherit can claim);
 * with CLONE_VM it shares parent's address space identity.  pid is the
 * child's pid in the controller's pid namespace.  When kcmp can tell, the
 * sharing claimed is checked against the kernel.
 * Returns: 0; -ENOMEM; -ESRCH; -EXDEV if the kernel says the child does not
 * share what clone_flags claims. */
HANDLE_EXPORT int handle_task_init_child(struct handle_task *child,
					 struct handle_task *parent,
					 struct near_sysif *sysif, int pid,
					 unsigned long clone_flags);

/* Stop using the task.  Its remaining fd handles become invalid WITHOUT
 * closing anything (the task may be gone); a table nobody uses any more is
 * forgotten.  The sysif is the caller's to close.  Returns: nothing. */
HANDLE_EXPORT void handle_task_close(struct handle_task *t);

/* Does the task share the calling process's address space (kcmp)?  Then
 * local addresses are valid in it.  The answer is cached until execve.
 * Returns: 1 yes, 0 no, -errno if kcmp cannot tell. */
HANDLE_EXPORT int handle_task_is_local(struct handle_task *t);

/* Do two tasks use the same fd table record?  Returns: 1 or 0. */
HANDLE_EXPORT int handle_task_same_files(const struct handle_task *a,
					 const struct handle_task *b);

/* The far identity of the task's fd table (for libfar's far_fd).
 * Returns: a pointer valid while the table record lives. */
HANDLE_EXPORT const struct far_fd_table *handle_task_fd_table(const struct handle_task *t);

/* The fd numbers that handles own in the task's fd table, ascending, each
 * once: up to cap of them into out (out may be NULL when cap is 0).
 * Returns: how many there are (more than cap: call again with a bigger
 * out). */
HANDLE_EXPORT size_t handle_task_owned_fds(const struct handle_task *t, int *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
