// SPDX-License-Identifier: MIT
/* Task records. */
#include <sched.h>
#include <linux/kcmp.h>
#include "internal.h"

/* pidns: the namespace of pid if known, else NULL (read from /proc). */
static int init(struct handle_task *t, struct near_sysif *sysif, int pid,
		const struct far_ns *pidns)
{
	int r;

	if (pid == 0)
		pid = (int)near_syscall0(__NR_getpid);
	if (pidns)
		t->pidns = *pidns;
	else if ((r = far_ns_of(pid, FAR_NS_PID, &t->pidns)) < 0)
		return r;
	t->pid = pid;
	t->sysif = sysif;
	t->fds_.lh_first = NULL;
	t->local_ = -1;
	return 0;
}

static int init_own(struct handle_task *t, struct near_sysif *sysif, int pid,
		    const struct far_ns *pidns)
{
	int r = init(t, sysif, pid, pidns);

	if (r < 0)
		return r;
	far_address_space_init(&t->as, t->pid);
	t->files_ = handle__table_new(t->pid, NULL);
	return t->files_ ? 0 : -ENOMEM;
}

HANDLE_EXPORT int handle_task_init(struct handle_task *t, struct near_sysif *sysif, int pid)
{
	return init_own(t, sysif, pid, NULL);
}

HANDLE_EXPORT int handle_task_init_ns(struct handle_task *t, struct near_sysif *sysif,
				      int pid, const struct far_ns *pidns)
{
	if (!pidns || pidns->kind != FAR_NS_PID || pid <= 0)
		return -EINVAL;
	return init_own(t, sysif, pid, pidns);
}

/* kcmp may be unable to tell (-EPERM across users, -ENOSYS without
 * CONFIG_KCMP): then the caller's clone flags are believed. */
static int verify(int known, int pid, int type, int shared)
{
	int r = far_kcmp_same(known, pid, type);

	if (r < 0)
		return 0;
	return (r == 0) == shared ? 0 : -EXDEV;
}

HANDLE_EXPORT int handle_task_init_child(struct handle_task *child,
					 struct handle_task *parent,
					 struct near_sysif *sysif, int pid,
					 unsigned long clone_flags)
{
	int files = !!(clone_flags & CLONE_FILES), vm = !!(clone_flags & CLONE_VM);
	int r = init(child, sysif, pid, NULL);

	if (r < 0)
		return r;
	r = verify(parent->pid, pid, KCMP_FILES, files);
	if (r == 0)
		r = verify(parent->pid, pid, KCMP_VM, vm);
	if (r < 0)
		return r;
	if (vm) {
		child->as = parent->as;
		child->local_ = parent->local_;
	} else {
		far_address_space_init(&child->as, pid);
	}
	if (files) {
		child->files_ = parent->files_;
		child->files_->tasks++;
		return 0;
	}
	child->files_ = handle__table_new(pid, parent->files_);
	return child->files_ ? 0 : -ENOMEM;
}

HANDLE_EXPORT void handle_task_close(struct handle_task *t)
{
	struct handle__fdlist *list = (struct handle__fdlist *)&t->fds_;

	while (!LIST_EMPTY(list))
		handle__fd_unbind(LIST_FIRST(list));
	if (t->files_)
		handle__table_unref(t->files_);
	t->files_ = NULL;
	t->sysif = NULL;
}

HANDLE_EXPORT int handle_task_is_local(struct handle_task *t)
{
	int self = (int)near_syscall0(__NR_getpid), r;

	if (t->local_ >= 0)
		return t->local_;
	r = t->pid == self ? 0 : far_kcmp_same(self, t->pid, KCMP_VM);
	if (r < 0)
		return r;
	t->local_ = r == 0;
	return t->local_;
}

HANDLE_EXPORT int handle_task_same_files(const struct handle_task *a,
					 const struct handle_task *b)
{
	return a->files_ && a->files_ == b->files_;
}

HANDLE_EXPORT const struct far_fd_table *handle_task_fd_table(const struct handle_task *t)
{
	return &t->files_->far;
}

HANDLE_EXPORT size_t handle_task_owned_fds(const struct handle_task *t, int *out, size_t cap)
{
	size_t n = 0;

	/* The tree is ordered by number; tombstones (no handle) are skipped. */
	for (struct handle__entry *e = handle__entry_first(t->files_); e; e = handle__entry_next(e)) {
		if (!e->refs)
			continue;
		if (n < cap)
			out[n] = e->fd;
		n++;
	}
	return n;
}
