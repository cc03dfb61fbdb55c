/* SPDX-License-Identifier: MIT */
/* Pointers to task memory: an address space, an address and a size.
 * Every access checks that the task uses that address space (-EXDEV) and
 * stays inside the range (-EFAULT), then goes through the task's sysif. */
#ifndef HANDLE_PTR_H
#define HANDLE_PTR_H

#include <handle/task.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Name size bytes at addr in t's address space.  Returns: 0. */
HANDLE_EXPORT int handle_ptr_init(struct handle_ptr *p, const struct handle_task *t,
				  uint64_t addr, size_t size);

/* The same for local memory, allowed only when t shares the caller's
 * address space (handle_task_is_local).
 * Returns: 0; -EXDEV if it does not; -errno if kcmp cannot tell. */
HANDLE_EXPORT int handle_ptr_local(struct handle_ptr *p, struct handle_task *t,
				   void *addr, size_t size);

/* The sub-range [off, off + len) of p.  Returns: 0; -EFAULT if it is not
 * inside p. */
HANDLE_EXPORT int handle_ptr_slice(struct handle_ptr *out, const struct handle_ptr *p,
				   size_t off, size_t len);

/* The raw address of p for a syscall in task t, requiring need bytes.
 * Returns: 0; -EXDEV if t uses another address space; -EFAULT if p is
 * smaller than need. */
HANDLE_EXPORT int handle_ptr_addr(const struct handle_ptr *p, const struct handle_task *t,
				  size_t need, uint64_t *addr);

/* Copy len bytes at offset off of p into dst / from src.
 * Returns: 0; -EXDEV (another address space); -EFAULT (outside p, or the
 * task's memory is not accessible there); the sysif's own failure
 * (near_sysif_failed(t->sysif) < 0, e.g. -ENOTCONN). */
HANDLE_EXPORT int handle_ptr_read(const struct handle_ptr *p, struct handle_task *t,
				  size_t off, void *dst, size_t len);
HANDLE_EXPORT int handle_ptr_write(const struct handle_ptr *p, struct handle_task *t,
				   size_t off, const void *src, size_t len);

#ifdef __cplusplus
}
#endif
#endif
