/* SPDX-License-Identifier: MIT */
/* What the chaos harness's driver (chaos.c) and its invariants
 * (invariants.c) share.  Not installed, not a library: one program. */
#ifndef PERSIST_CHAOS_HARNESS_H
#define PERSIST_CHAOS_HARNESS_H

#include <stddef.h>
#include <stdint.h>

/* The invariants, each named in a failure's message and in the summary. */
enum inv {
	INV_INTENT,     /* no record left in state intent (its controller is dead) */
	INV_RUNNING,    /* a running record is a live child of the server: start time, argv */
	INV_RECORDED,   /* every child of the server is a running record, none a bare fork */
	INV_ZOMBIE,     /* no child of the server is a zombie after recovery */
	INV_FDS,        /* the server's fds: its own plus its verified kept fds, exactly */
	INV_STATUS,     /* every ended child has the status its command and fate allow */
	INV_BEHIND,     /* a child the harness SIGKILLed is recorded killed by SIGKILL */
	INV_RECOVERY,   /* recovery reports no per-child error */
	INV_SERVER,     /* the server answers, and is the only one */
	INV_CONTROLLER, /* chaos-ctl met no error its situation does not allow */
	INV_INTEGRITY,  /* PRAGMA integrity_check of state.db is ok */
	INV_STOPPED,    /* after a stop: every record final, nothing left running */
	NINV
};

extern const char *const inv_names[NINV];
extern uint64_t inv_checks[NINV]; /* how many times each was checked */

/* Count one check of inv; when ok is 0, report it broken with the message.
 * Returns: ok. */
__attribute__((format(printf, 3, 4)))
int expect(enum inv inv, int ok, const char *fmt, ...);

/* A child of the server that the harness SIGKILLed behind the
 * controllers' back.  sure: nothing else could have signalled it first
 * (killed between rounds, or a sleep 3603 in a round without a stop). */
struct behind {
	int pid;
	unsigned long long start;
	int round;
	int sure;
	int seen;   /* its record was found killed by SIGKILL */
};

/* The run's shared state. */
struct chaos {
	int valgrind;
	unsigned seed;
	int round;               /* 0: the final stop */
	char base[64];           /* the run's temporary directory */
	char sdir[128];          /* base/state: the state directory */
	char db[160];            /* sdir/state.db */
	int server;              /* the server the last check found (0: none) */
	int fds_own;             /* what a server holds besides kept fds */
	int stop_seen;           /* a stop may have run this round */
	const int *ctls;         /* this round's chaos-ctl pids (not servers) */
	size_t nctls;
	struct behind *behind;   /* every child killed behind the back */
	size_t nbehind, capbehind;
	uint8_t *final_checked;  /* by child id: a final status checked once */
	size_t nfinal;
};

int slow(const struct chaos *c, int ms);
long now_ms(void);
void nap_us(long us);

/* The harness's live children other than chaos-ctl: the servers (a
 * server detaches to the nearest subreaper, the harness) and any orphan
 * of a dead one.  Zombies among them are reaped.  Returns: how many. */
size_t stray_children(struct chaos *c, int *out, size_t max);

/* After a round (and after the final stop): open a session and check
 * every invariant; then kill surplus long children behind the back so
 * that they do not pile up.  final: a stop has just ended everything. */
void check_round(struct chaos *c, int final);

/* Remember a child killed behind the back.  Returns: nothing. */
void behind_add(struct chaos *c, int pid, unsigned long long start, int sure);

/* A child of the server the harness may kill: one that has run its
 * program (a fork still being set up would make the spawn fail, which is
 * no fault of anybody's).  Returns: 1 and its start time in *start. */
int killable(int pid, unsigned long long *start, int *alone);

#endif
