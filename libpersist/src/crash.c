// SPDX-License-Identifier: MIT
/* The one place where tests make a controller die: PERSIST_CRASH_AT names
 * a point (e.g. run:after-spawn), and reaching it is a SIGKILL, as abrupt
 * as a crash gets (no atexit, no cleanup, no flushing of stdio buffers). */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <asm/unistd.h>
#include <near/syscall.h>
#include "session_internal.h"

void persist__crash_point(const char *point)
{
	const char *at = getenv("PERSIST_CRASH_AT");

	if (at && strcmp(at, point) == 0) {
		near_syscall2(__NR_kill, near_syscall0(__NR_getpid), SIGKILL);
		for (;;)
			near_syscall0(__NR_pause);
	}
}
