// SPDX-License-Identifier: MIT
/* memcpy and memset for the libc-free loop. */
#include "internal.h"

void pserver__copy(void *dst, const void *src, unsigned long n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	while (n--)
		*d++ = *s++;
}

void pserver__zero(void *dst, unsigned long n)
{
	unsigned char *d = dst;

	while (n--)
		*d++ = 0;
}
