/* SPDX-License-Identifier: MIT */
/* The monotonic clock and short sleeps, as the tests that time things
 * use them. */
#ifndef PERSIST_TESTS_CLOCK_H
#define PERSIST_TESTS_CLOCK_H

#include <time.h>

/* Milliseconds of CLOCK_MONOTONIC. */
static inline long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleep ms milliseconds (a signal may end it early). */
static inline void nap_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

#endif
