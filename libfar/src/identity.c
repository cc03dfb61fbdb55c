// SPDX-License-Identifier: MIT
/* Fd tables and address spaces: identities checked with kcmp(2). */
#include <errno.h>
#include <linux/kcmp.h>
#include <asm/unistd.h>
#include <near/syscall.h>
#include <far/far.h>

static uint64_t next_id(void)
{
	static uint64_t last;
	return __atomic_add_fetch(&last, 1, __ATOMIC_RELAXED);
}

FAR_EXPORT int far_kcmp_same(int pid1, int pid2, int type)
{
	long r = near_syscall6(__NR_kcmp, pid1, pid2, type, 0, 0, 0);

	if (r < 0)
		return (int)r;
	return r == 0 ? 0 : 1; /* kcmp orders unequal objects: 1 or 2 */
}

FAR_EXPORT int far_fd_table_init(struct far_fd_table *t, int pid)
{
	t->id = next_id();
	t->pid = pid;
	return 0;
}

FAR_EXPORT int far_address_space_init(struct far_address_space *as, int pid)
{
	as->id = next_id();
	as->pid = pid;
	return 0;
}

static int check(int known, int pid, int type)
{
	int r = far_kcmp_same(known, pid, type);

	return r == 1 ? -EXDEV : r;
}

FAR_EXPORT int far_fd_table_check(const struct far_fd_table *t, int pid)
{
	return check(t->pid, pid, KCMP_FILES);
}

FAR_EXPORT int far_address_space_check(const struct far_address_space *as, int pid)
{
	return check(as->pid, pid, KCMP_VM);
}

/* Far to near: the identity is the object's id, so two tables that happen
 * to hold the same fd number are never confused. */
FAR_EXPORT int far_fd_to_near(const struct far_fd *fd,
			      const struct far_fd_table *table,
			      struct near_fd *out)
{
	if (!fd->table || fd->table->id != table->id)
		return -EXDEV;
	*out = fd->near;
	return 0;
}

FAR_EXPORT int far_ptr_to_near(const struct far_ptr *p,
			       const struct far_address_space *as,
			       struct near_addr *out)
{
	if (!p->as || p->as->id != as->id)
		return -EXDEV;
	*out = p->near;
	return 0;
}

FAR_EXPORT int far_pid_to_near(const struct far_pid *pid,
			       const struct far_ns *pidns,
			       struct near_pid *out)
{
	if (!far_ns_equal(&pid->pidns, pidns))
		return -EXDEV;
	*out = pid->near;
	return 0;
}
