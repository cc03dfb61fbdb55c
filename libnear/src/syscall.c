// SPDX-License-Identifier: MIT
/* The out-of-line raw syscall. */
#include "internal.h"

NEAR_EXPORT long near_syscall(long nr, long a, long b, long c, long d, long e,
			      long f)
{
	return near__syscall6(nr, a, b, c, d, e, f);
}
