// SPDX-License-Identifier: MIT
/* The title ps shows for the persist-server executable, set the way
 * setproctitle(3) sets it: over the argv strings, and the environment
 * strings that follow them once those are copied elsewhere.  Here rather
 * than libbsd's so that the server links nothing but libc and libnear
 * (an idle server should cost a few pages: README, "Benchmarks"). */
#include <string.h>
#include "title.h"

extern char **environ;

/* Room enough for "persist-server: " + a socket path (at most 107 bytes)
 * + " (serving)". */
#define TITLE_MAX 160

static char *area;     /* argv[0]'s string, and what follows it */
static size_t area_len;
/* Where environment strings go to make room.  Static, not malloc'd: the
 * server then never initialises malloc, one page less in each of them. */
static char moved[2 * TITLE_MAX];

void title_init(int argc, char **argv)
{
	size_t used = 0;
	char *end;

	if (argc < 1 || !argv[0])
		return;
	end = argv[0] + strlen(argv[0]) + 1;
	for (int i = 1; i < argc && argv[i] == end; i++)
		end += strlen(argv[i]) + 1;
	/* The environment strings the kernel laid out right after argv's,
	 * as many as the title needs, move (environ's pointers are
	 * rewritten) and leave their room to it. */
	for (int i = 0; environ && environ[i] == end && end - argv[0] < TITLE_MAX; i++) {
		size_t len = strlen(end) + 1;

		if (len > sizeof moved - used)
			break;
		memcpy(moved + used, end, len);
		environ[i] = moved + used;
		used += len;
		end += len;
	}
	area = argv[0];
	area_len = (size_t)(end - area);
}

void title_set(const char *const *parts)
{
	size_t n = 0;

	if (!area || area_len < 2)
		return;
	/* No printf: its frame alone would be two more pages of stack in every
	 * idle server. */
	for (; *parts; parts++)
		for (const char *p = *parts; *p && n < area_len - 1; p++)
			area[n++] = *p;
	/* What a longer title left behind must not show. */
	memset(area + n, 0, area_len - n);
}
