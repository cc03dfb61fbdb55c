// SPDX-License-Identifier: MIT
/* Fd handles: ownership of (table, number) entries. */
#include "internal.h"

_Static_assert(sizeof(((struct handle_fd *)0)->link_) == sizeof(LIST_ENTRY(handle_fd)),
	       "link_ is a LIST_ENTRY");

static struct handle__fdlist *fdlist(struct handle_task *t)
{
	return (struct handle__fdlist *)&t->fds_;
}

void handle__fd_bind(struct handle_fd *h, struct handle_task *t, struct handle__entry *e)
{
	e->refs++;
	h->task = t;
	h->fd = e->fd;
	h->entry_ = e;
	LIST_INSERT_HEAD(fdlist(t), h, link_);
}

void handle__fd_unbind(struct handle_fd *h)
{
	LIST_REMOVE(h, link_);
	handle__entry_put(h->entry_);
	h->task = NULL;
	h->entry_ = NULL;
	h->fd = -1;
}

/* Unbind without dropping the entry's reference: the caller rebinds it. */
static struct handle__entry *detach(struct handle_fd *h)
{
	struct handle__entry *e = h->entry_;

	LIST_REMOVE(h, link_);
	e->refs--;
	h->task = NULL;
	h->entry_ = NULL;
	h->fd = -1;
	return e;
}

HANDLE_EXPORT int handle_fd_valid(const struct handle_fd *fd)
{
	return fd->task != NULL;
}

HANDLE_EXPORT int handle_fd_adopt(struct handle_fd *out, struct handle_task *t, int fd)
{
	struct handle__entry *e;

	out->task = NULL;
	if (fd < 0)
		return -EBADF;
	e = handle__entry_find(t->files_, fd);
	if (e && e->refs)
		return -EEXIST;
	if (!e && !(e = handle__entry_get(t->files_, fd)))
		return -ENOMEM;
	/* A reused tombstone: the number is new in this table now. */
	e->seq = ++t->files_->gen;
	e->copied = 0;
	handle__fd_bind(out, t, e);
	return 0;
}

HANDLE_EXPORT int handle_fd_for_task(struct handle_fd *out, const struct handle_fd *src,
				     struct handle_task *t)
{
	if (!src->task)
		return -EBADF;
	if (src->entry_->table != t->files_)
		return -EXDEV;
	handle__fd_bind(out, t, src->entry_);
	return 0;
}

HANDLE_EXPORT int handle_fd_inherit(struct handle_fd *out, const struct handle_fd *src,
				    struct handle_task *child)
{
	struct handle_fd_table *ct = child->files_;
	struct handle__entry *e;

	if (!src->task)
		return -EBADF;
	if (ct->parent_id != src->entry_->table->far.id)
		return -EXDEV;
	if (src->entry_->seq > ct->parent_gen)
		return -EBADF;
	e = handle__entry_find(ct, src->fd);
	if (e && !e->copied)
		return -EBADF;
	if (!e) {
		if (!(e = handle__entry_get(ct, src->fd)))
			return -ENOMEM;
		/* It has been in the child's table since the copy. */
		e->seq = 0;
		e->copied = 1;
	}
	handle__fd_bind(out, child, e);
	return 0;
}

HANDLE_EXPORT int handle_fd_move(struct handle_fd *out, struct handle_fd *src,
				 struct handle_task *t)
{
	if (!src->task)
		return -EBADF;
	if (src->entry_->table != t->files_)
		return -EXDEV;
	handle__fd_bind(out, t, detach(src));
	return 0;
}

static int close_last(struct handle_fd *fd)
{
	struct handle_task *t = fd->task;
	int n = fd->fd;

	handle__fd_unbind(fd);
	return (int)handle__sys(t, __NR_close, n, 0, 0, 0);
}

HANDLE_EXPORT int handle_fd_close(struct handle_fd *fd)
{
	if (!fd->task)
		return -EBADF;
	if (fd->entry_->refs > 1)
		return -EBUSY;
	return close_last(fd);
}

HANDLE_EXPORT int handle_fd_invalidate(struct handle_fd *fd)
{
	if (!fd->task)
		return -EBADF;
	if (fd->entry_->refs > 1) {
		handle__fd_unbind(fd);
		return 0;
	}
	return close_last(fd);
}

HANDLE_EXPORT int handle_fd_refs(const struct handle_fd *fd)
{
	return fd->task ? (int)fd->entry_->refs : -EBADF;
}

HANDLE_EXPORT int handle_fd_far(const struct handle_fd *fd, struct far_fd *out)
{
	if (!fd->task)
		return -EBADF;
	out->table = &fd->entry_->table->far;
	out->near = near_fd(fd->fd);
	return 0;
}
