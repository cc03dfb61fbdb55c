// SPDX-License-Identifier: MIT
/* Pointers to task memory, checked against the task's address space. */
#include "internal.h"

HANDLE_EXPORT int handle_ptr_init(struct handle_ptr *p, const struct handle_task *t,
				  uint64_t addr, size_t size)
{
	p->as = t->as;
	p->addr = addr;
	p->size = size;
	return 0;
}

HANDLE_EXPORT int handle_ptr_local(struct handle_ptr *p, struct handle_task *t,
				   void *addr, size_t size)
{
	int r = handle_task_is_local(t);

	if (r < 0)
		return r;
	if (!r)
		return -EXDEV;
	return handle_ptr_init(p, t, (uint64_t)(uintptr_t)addr, size);
}

static int inside(const struct handle_ptr *p, size_t off, size_t len)
{
	return off <= p->size && len <= p->size - off;
}

HANDLE_EXPORT int handle_ptr_slice(struct handle_ptr *out, const struct handle_ptr *p,
				   size_t off, size_t len)
{
	if (!inside(p, off, len))
		return -EFAULT;
	out->as = p->as;
	out->addr = p->addr + off;
	out->size = len;
	return 0;
}

/* libfar makes the identity check: the pointer's address space by value,
 * so a pointer outliving its task is still safe to check. */
HANDLE_EXPORT int handle_ptr_addr(const struct handle_ptr *p, const struct handle_task *t,
				  size_t need, uint64_t *addr)
{
	struct far_ptr fp = { &p->as, near_addr(p->addr) };
	struct near_addr n;
	int r = far_ptr_to_near(&fp, &t->as, &n);

	if (r < 0)
		return r;
	if (need > p->size)
		return -EFAULT;
	*addr = n.addr;
	return 0;
}

static int range(const struct handle_ptr *p, const struct handle_task *t, size_t off,
		 size_t len, uint64_t *addr)
{
	int r = handle_ptr_addr(p, t, 0, addr);

	if (r < 0)
		return r;
	if (!inside(p, off, len))
		return -EFAULT;
	*addr += off;
	return 0;
}

HANDLE_EXPORT int handle_ptr_read(const struct handle_ptr *p, struct handle_task *t,
				  size_t off, void *dst, size_t len)
{
	uint64_t a;
	int r = range(p, t, off, len, &a);

	return r < 0 ? r : (int)handle__checked(t, t->sysif->ops->read_mem(t->sysif, dst, a, len));
}

HANDLE_EXPORT int handle_ptr_write(const struct handle_ptr *p, struct handle_task *t,
				   size_t off, const void *src, size_t len)
{
	uint64_t a;
	int r = range(p, t, off, len, &a);

	return r < 0 ? r : (int)handle__checked(t, t->sysif->ops->write_mem(t->sysif, a, src, len));
}
