// SPDX-License-Identifier: MIT
/* Typed wrappers: memory mappings. */
#include "internal.h"

HANDLE_EXPORT long handle_mmap(struct handle_ptr *out, struct handle_task *t, uint64_t hint,
			       size_t len, int prot, int flags, const struct handle_fd *fd,
			       int64_t off)
{
	struct handle__call c = { t, 0 };
	long n = fd ? handle__fdarg(&c, fd) : -1;
	long r = handle__run(&c, __NR_mmap, (long)hint, (long)len, prot, flags, n, off);

	if (r < 0 && r > -4096)
		return r;
	handle_ptr_init(out, t, (uint64_t)r, len);
	return 0;
}

HANDLE_EXPORT long handle_munmap(struct handle_task *t, const struct handle_ptr *p)
{
	struct handle__call c = { t, 0 };
	long a = handle__ptrarg(&c, p, 0);

	return handle__run(&c, __NR_munmap, a, p ? (long)p->size : 0, 0, 0, 0, 0);
}

HANDLE_EXPORT long handle_mprotect(struct handle_task *t, const struct handle_ptr *p, int prot)
{
	struct handle__call c = { t, 0 };
	long a = handle__ptrarg(&c, p, 0);

	return handle__run(&c, __NR_mprotect, a, p ? (long)p->size : 0, prot, 0, 0, 0);
}
