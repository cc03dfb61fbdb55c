/* SPDX-License-Identifier: MIT */
/* What chaos-ctl (ctl.c) and the chaos harness (chaos.c, invariants.c)
 * agree on: the commands chaos-ctl runs and how each may end, and the
 * counters chaos-ctl keeps in a file the harness sums.
 *
 * The counters live in a small file that chaos-ctl maps shared: a count
 * written to the mapping is in the page cache at once, so it survives the
 * SIGKILL that ends chaos-ctl at a random instant, without a write(2) per
 * operation. */
#ifndef PERSIST_CHAOS_H
#define PERSIST_CHAOS_H

#include <stdint.h>

/* Operations chaos-ctl completed (success, or a failure the situation
 * allows, such as a name in use).  CHAOS_STOP_BEGUN is counted before a
 * stop is asked for: the harness then knows that SIGTERM (what stop sends)
 * may have ended any child in that round. */
enum chaos_op {
	CHAOS_OPEN,
	CHAOS_RUN,
	CHAOS_WAIT,
	CHAOS_KILL,
	CHAOS_FD_KEEP,
	CHAOS_LISTEN,
	CHAOS_FD_GET,
	CHAOS_FD_DROP,
	CHAOS_RUN_FD,
	CHAOS_LIST,
	CHAOS_STOP,
	CHAOS_CLOSE,
	CHAOS_STOP_BEGUN,
	CHAOS_NOPS
};

static const char *const chaos_op_names[CHAOS_NOPS] = {
	"open", "run", "wait", "kill", "fd_keep", "listen", "fd_get", "fd_drop", "run --fd",
	"list", "stop", "close", "(stops begun)",
};

struct chaos_counts {
	uint64_t op[CHAOS_NOPS];
};

/* The long-lived commands: `sleep 360N` never ends by itself.
 *   3601  chaos-ctl may end it with SIGTERM
 *   3602  chaos-ctl may end it with SIGKILL
 *   3603  chaos-ctl never signals it: only the harness (SIGKILL, behind
 *         the controllers' back) and stop (SIGTERM) end it
 * The short ones: `true` (exits 0), `sh -c 'exit N'` (exits N),
 * `sleep 0.0X` (exits 0; chaos-ctl may send it SIGTERM for an odd X,
 * SIGKILL for an even one), the latter also named "svc" or run with a
 * kept fd. */
#define CHAOS_LONG_TERM "3601"
#define CHAOS_LONG_KILL "3602"
#define CHAOS_LONG_ALONE "3603"

#endif
