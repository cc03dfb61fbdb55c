// SPDX-License-Identifier: MIT
/* The remote allocator: arenas mapped in the server with mmap through the
 * connection, carved first-fit; the blocks live in a tree keyed by address
 * (libbsd's sys/tree.h), so a free is a lookup and the gaps are walked in
 * address order. */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <asm/unistd.h>
#include "internal.h"

#define ARENA_MIN (1u << 20)
#define ALIGN 16u

static int transport__block_cmp(struct transport__block *a, struct transport__block *b)
{
	return a->addr < b->addr ? -1 : a->addr > b->addr;
}
RB_GENERATE(transport__blocks, transport__block, link, transport__block_cmp)

/* First gap of len bytes in arena a.  Returns: its address, or 0. */
static uint64_t fit(struct transport_conn *c, const struct transport__arena *a, uint64_t len)
{
	struct transport__block key = { .addr = a->base }, *b;
	uint64_t at = a->base, end = a->base + a->len;

	for (b = RB_NFIND(transport__blocks, &c->blocks, &key);
	     b && b->addr < end; b = RB_NEXT(transport__blocks, &c->blocks, b)) {
		if (b->addr - at >= len)
			return at;
		at = b->addr + b->len;
	}
	return end - at >= len ? at : 0;
}

static int map_arena(struct transport_conn *c, uint64_t len, struct transport__arena **out)
{
	uint64_t page = c->hello.page_size ? c->hello.page_size : 4096;
	uint64_t size = len < ARENA_MIN ? ARENA_MIN : (len + page - 1) / page * page;
	struct transport__arena *a = malloc(sizeof *a);
	struct near_request q;
	int64_t base;
	int r;

	/* The record first: an arena mapped in the server that we cannot
	 * record could never be reused nor unmapped. */
	if (!a)
		return -ENOMEM;
	r = transport_call(c, near_request_set(&q, __NR_mmap, 0, (int64_t)size,
					       PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
					       -1, 0), &base);
	if (r == 0 && base < 0 && transport__errno(base) != base) {
		/* No -errno, and cast to int it could have been 0. */
		transport__break(c, -EPROTO);
		r = -EPROTO;
	}
	if (r < 0 || base < 0) {
		free(a);
		return r < 0 ? r : (int)base;
	}
	/* No address either, if it is 0 (fit's "none") or overlaps an arena
	 * of ours: the same memory would be handed out twice. */
	for (struct transport__arena *o = c->arenas; o && base; o = o->next)
		if ((uint64_t)base < o->base + o->len && o->base < (uint64_t)base + size)
			base = 0;
	if (base == 0) {
		free(a);
		transport__break(c, -EPROTO);
		return -EPROTO;
	}
	a->base = (uint64_t)base;
	a->len = size;
	a->next = c->arenas;
	c->arenas = a;
	*out = a;
	return 0;
}

TRANSPORT_EXPORT int transport_alloc(struct transport_conn *c, size_t len, uint64_t *addr)
{
	struct transport__block *b;
	struct transport__arena *a;
	uint64_t at = 0, need = len ? (len + ALIGN - 1) / ALIGN * ALIGN : ALIGN;
	int r;

	if (len > ((uint64_t)1 << 46))
		return -ENOMEM;
	for (a = c->arenas; a && !at; a = a->next)
		at = fit(c, a, need);
	if (!at) {
		r = map_arena(c, need, &a);
		if (r < 0)
			return r;
		at = a->base;
	}
	b = malloc(sizeof *b);
	if (!b)
		return -ENOMEM;
	b->addr = at;
	b->len = need;
	if (RB_INSERT(transport__blocks, &c->blocks, b)) {
		free(b); /* (cannot happen with arenas that do not overlap) */
		return -EPROTO;
	}
	*addr = at;
	return 0;
}

TRANSPORT_EXPORT int transport_free(struct transport_conn *c, uint64_t addr)
{
	struct transport__block key = { .addr = addr }, *b;

	b = RB_FIND(transport__blocks, &c->blocks, &key);
	if (!b)
		return -EINVAL;
	RB_REMOVE(transport__blocks, &c->blocks, b);
	free(b);
	return 0;
}

void transport__forget_memory(struct transport_conn *c)
{
	struct transport__block *b, *nb;
	struct transport__arena *a, *na;

	RB_FOREACH_SAFE(b, transport__blocks, &c->blocks, nb) {
		RB_REMOVE(transport__blocks, &c->blocks, b);
		free(b);
	}
	for (a = c->arenas; a; a = na) {
		na = a->next;
		free(a);
	}
	c->arenas = NULL;
	c->mem = TRANSPORT_MEM_UNDECIDED;
	c->local_ok = c->pvm_ok = 0;
}
