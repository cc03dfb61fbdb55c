// SPDX-License-Identifier: MIT
/* Walking getdents64 records (<near/dirent.h>). */
#include <errno.h>
#include <string.h>
#include <near/dirent.h>

NEAR_EXPORT void near_dirent_walk_init(struct near_dirent_walk *w, const void *buf,
				       size_t len)
{
	w->buf = buf;
	w->len = len;
	w->off = 0;
}

NEAR_EXPORT int near_dirent_next(struct near_dirent_walk *w, struct near_dirent *out)
{
	const size_t head = offsetof(struct near_linux_dirent64, d_name);
	const unsigned char *rec = w->buf + w->off;
	size_t left = w->len - w->off;
	unsigned short reclen;
	const char *nul;

	if (w->off >= w->len)
		return 0;
	if (left <= head)
		return -EIO;
	/* Fields are copied out: the buffer need not be aligned. */
	memcpy(&reclen, rec + offsetof(struct near_linux_dirent64, d_reclen), sizeof reclen);
	if (reclen <= head || reclen > left)
		return -EIO;
	nul = memchr(rec + head, 0, reclen - head);
	if (!nul)
		return -EIO;
	memcpy(&out->ino, rec + offsetof(struct near_linux_dirent64, d_ino), sizeof out->ino);
	memcpy(&out->off, rec + offsetof(struct near_linux_dirent64, d_off), sizeof out->off);
	out->type = rec[offsetof(struct near_linux_dirent64, d_type)];
	out->name = (const char *)rec + head;
	out->namelen = (size_t)(nul - out->name);
	w->off += reclen;
	return 1;
}
