/* SPDX-License-Identifier: MIT */
/* Typed wrappers: memory mappings (conventions in <handle/fs.h>). */
#ifndef HANDLE_MEMORY_H
#define HANDLE_MEMORY_H

#include <handle/fd.h>
#include <handle/ptr.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Map len bytes in t (fd NULL: anonymous, -1); *out names the mapping.
 * Returns: 0, or mmap's -errno. */
HANDLE_EXPORT long handle_mmap(struct handle_ptr *out, struct handle_task *t, uint64_t hint,
			       size_t len, int prot, int flags, const struct handle_fd *fd,
			       int64_t off);
/* Unmap / protect all of p. */
HANDLE_EXPORT long handle_munmap(struct handle_task *t, const struct handle_ptr *p);
HANDLE_EXPORT long handle_mprotect(struct handle_task *t, const struct handle_ptr *p, int prot);

#ifdef __cplusplus
}
#endif
#endif
