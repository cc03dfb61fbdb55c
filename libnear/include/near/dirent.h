/* SPDX-License-Identifier: MIT */
/* Walking the records getdents64(2) writes (glibc declares no struct for
 * them).  The buffer may come from another process, so every record is
 * bounded before it is used, and it need not be aligned. */
#ifndef NEAR_DIRENT_H
#define NEAR_DIRENT_H

#include <stddef.h>
#include <stdint.h>
#include <near/export.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The layout of one record, as the kernel writes it (struct
 * linux_dirent64): d_reclen bytes, the name NUL-terminated inside them. */
struct near_linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* One entry as the walk gives it. */
struct near_dirent {
	uint64_t ino;
	int64_t off;
	unsigned char type;   /* DT_* */
	const char *name;     /* NUL-terminated, inside the walked buffer */
	size_t namelen;       /* strlen(name) */
};

/* A walk over len bytes at buf that one getdents64 call returned.
 * Fields are private. */
struct near_dirent_walk {
	const unsigned char *buf;
	size_t len, off;
};

/* Start a walk.  buf must stay valid while entries are used.
 * Returns: nothing. */
NEAR_EXPORT void near_dirent_walk_init(struct near_dirent_walk *w, const void *buf,
				       size_t len);

/* The next entry.
 * Returns: 1 with *out set; 0 at the end of the buffer; -EIO for a record
 * that does not fit (shorter than its header, longer than what is left, or
 * its name not NUL-terminated within it): the walk then stays at that
 * record, and goes on failing. */
NEAR_EXPORT int near_dirent_next(struct near_dirent_walk *w, struct near_dirent *out);

#ifdef __cplusplus
}
#endif
#endif
