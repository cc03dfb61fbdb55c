// SPDX-License-Identifier: MIT
/* malloc and its family for the statically linked persist-server: a bump
 * allocator over a static pool that never gives memory back.
 *
 * Why: the server calls libc only while it starts (and on the way out);
 * the loop that then runs for months calls none.  What allocates is
 * glibc's own static start-up (the executable's directory, for $ORIGIN),
 * stdio's buffer when --help or --version print, the --pidfile path, and
 * where close_range is missing the one opendir of /proc/self/fd (32 KiB):
 * well within the pool, once.  Past its end malloc fails with ENOMEM, and
 * those callers report it.  glibc's malloc would set up its arena and thread cache for
 * that, two pages more in every idle server (README, "Benchmarks"); the
 * pool's pages that nothing touches cost nothing.  glibc documents
 * replacing malloc this way ("Replacing malloc" in its manual), statically
 * linked too, as long as the whole family below is defined.
 *
 * Not linked into the dynamic (SANITIZE=1) executable, where the
 * sanitizer's allocator must stay in charge. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define POOL_SIZE (64u << 10)
#define ALIGN 16u

/* Each block starts with its size, for realloc. */
struct head {
	size_t size;
	size_t pad;
};

static unsigned char pool[POOL_SIZE] __attribute__((aligned(ALIGN)));
static size_t used;

void *memalign(size_t align, size_t n);

void *memalign(size_t align, size_t n)
{
	uintptr_t base = (uintptr_t)pool, p;
	struct head *h;

	if (align < ALIGN)
		align = ALIGN;
	if (align & (align - 1)) {
		errno = EINVAL;
		return NULL;
	}
	p = (base + used + sizeof *h + align - 1) & ~(uintptr_t)(align - 1);
	if (n > POOL_SIZE || p + n > base + POOL_SIZE) {
		errno = ENOMEM;
		return NULL;
	}
	h = (struct head *)p - 1;
	h->size = n;
	used = p + n - base;
	return (void *)p; /* never handed out before: still zero */
}

void *malloc(size_t n)
{
	return memalign(ALIGN, n);
}

void free(void *p)
{
	(void)p; /* the pool is not reused: see the top of the file */
}

void *calloc(size_t k, size_t n)
{
	if (n && k > SIZE_MAX / n) {
		errno = ENOMEM;
		return NULL;
	}
	return memalign(ALIGN, k * n);
}

void *realloc(void *old, size_t n)
{
	void *p = malloc(n);
	size_t had;

	if (p && old) {
		had = ((struct head *)old - 1)->size;
		memcpy(p, old, had < n ? had : n);
	}
	return p;
}

void *aligned_alloc(size_t align, size_t n)
{
	return memalign(align, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
	void *p;

	if (align % sizeof(void *))
		return EINVAL;
	p = memalign(align, n);
	if (!p)
		return errno;
	*out = p;
	return 0;
}

void *valloc(size_t n)
{
	return memalign(4096, n);
}

void *pvalloc(size_t n)
{
	return memalign(4096, (n + 4095) & ~(size_t)4095);
}

size_t malloc_usable_size(void *p)
{
	return p ? ((struct head *)p - 1)->size : 0;
}
