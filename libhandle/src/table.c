// SPDX-License-Identifier: MIT
/* Fd table records: an RB tree of the fd numbers some handle owns. */
#include <stdlib.h>
#include "internal.h"

static int cmp(const struct handle__entry *a, const struct handle__entry *b)
{
	return (a->fd > b->fd) - (a->fd < b->fd);
}

/* libbsd's cdefs.h leaves __unused undefined (glibc's headers use the name
 * for a struct member), but RB_GENERATE_STATIC expands to it. */
#define __unused __attribute__((unused))
RB_GENERATE_STATIC(handle__tree, handle__entry, node, cmp)
#undef __unused

struct handle_fd_table *handle__table_new(int pid, const struct handle_fd_table *parent)
{
	struct handle_fd_table *t = calloc(1, sizeof *t);

	if (!t)
		return NULL;
	far_fd_table_init(&t->far, pid);
	t->tasks = 1;
	RB_INIT(&t->tree);
	if (parent) {
		t->parent_id = parent->far.id;
		t->parent_gen = parent->gen;
	}
	return t;
}

/* Entries still here belong to handles of tasks already closed, which
 * dropped them (handle_task_close), or are tombstones. */
void handle__table_unref(struct handle_fd_table *t)
{
	struct handle__entry *e, *next;

	if (--t->tasks)
		return;
	RB_FOREACH_SAFE(e, handle__tree, &t->tree, next) {
		RB_REMOVE(handle__tree, &t->tree, e);
		free(e);
	}
	free(t);
}

struct handle__entry *handle__entry_find(struct handle_fd_table *t, int fd)
{
	struct handle__entry key = { .fd = fd };

	return RB_FIND(handle__tree, &t->tree, &key);
}

struct handle__entry *handle__entry_first(struct handle_fd_table *t)
{
	return RB_MIN(handle__tree, &t->tree);
}

struct handle__entry *handle__entry_next(struct handle__entry *e)
{
	return RB_NEXT(handle__tree, &e->table->tree, e);
}

struct handle__entry *handle__entry_get(struct handle_fd_table *t, int fd)
{
	struct handle__entry *e = handle__entry_find(t, fd);

	if (e)
		return e;
	e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	e->table = t;
	e->fd = fd;
	e->seq = ++t->gen;
	RB_INSERT(handle__tree, &t->tree, e);
	return e;
}

void handle__entry_put(struct handle__entry *e)
{
	struct handle_fd_table *t = e->table;

	if (--e->refs)
		return;
	if (t->parent_id) {
		e->copied = 0;
		return;
	}
	RB_REMOVE(handle__tree, &t->tree, e);
	free(e);
}
