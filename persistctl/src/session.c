// SPDX-License-Identifier: MIT
/* persistctl: the session, and the records read back from its store.
 * Everything crash-safe (the lock, the connection, recovery, the intents
 * and records, the state directory's checks) is the session's; this file
 * only opens it, says what its recovery found, and names children. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "ctl.h"

void ctl_open(struct ctl *c, unsigned flags)
{
	char why[PATH_MAX + 256] = "", want[PATH_MAX];
	const char *dir;
	int r;

	if (c->state_opt && !*c->state_opt)
		ctl_die(EXIT_USAGE, "--state needs a directory (see '%s --help')", ctl_prog);
	if (c->state_opt)
		dir = c->state_opt;
	else if (persist_session_default_dir(want, sizeof want) == 0)
		dir = want;
	else
		dir = NULL; /* too long: the session says so */
	/* Named as asked until the session resolves it: for the messages. */
	snprintf(c->dir, sizeof c->dir, "%s", dir ? dir : "");
	if (c->host_opt) {
		struct persist_host h = { c->host_opt, NULL, NULL };
		if (!*c->host_opt)
			ctl_die(EXIT_USAGE, "--host needs a destination (see '%s --help')", ctl_prog);
		r = persist_session_open_host(&h, dir, flags, &c->s, why, sizeof why);
	} else {
		r = persist_session_open(dir, flags, &c->s, why, sizeof why);
	}
	if (r < 0) {
		if (!*why)
			snprintf(why, sizeof why, "cannot open the state directory %s: %s",
				 dir ? dir : "(the default)", strerror(-r));
		ctl_fail(c, r, "%s", why);
	}
	snprintf(c->dir, sizeof c->dir, "%s", persist_session_dir(c->s));
	snprintf(c->sock, sizeof c->sock, "%s/sock", c->dir);
	snprintf(c->db, sizeof c->db, "%s/state.db", c->dir);
	if (!c->quiet)
		ctl_notes(c);
}

void ctl_close(struct ctl *c)
{
	persist_session_close(c->s);
	c->s = NULL;
	for (size_t i = 0; i < c->nsaid; i++)
		free(c->said[i]);
	free(c->said);
	c->said = NULL;
	c->nsaid = 0;
}

struct persist_store *ctl_store(struct ctl *c)
{
	return persist_session_store(c->s);
}

/* Print a note unless this invocation printed the same one already. */
__attribute__((format(printf, 2, 3)))
static void note_once(struct ctl *c, const char *fmt, ...)
{
	char line[1024], **more;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	for (size_t i = 0; i < c->nsaid; i++)
		if (strcmp(c->said[i], line) == 0)
			return;
	ctl_note("%s", line);
	more = realloc(c->said, (c->nsaid + 1) * sizeof *more);
	if (more) {
		c->said = more;
		if ((c->said[c->nsaid] = strdup(line)))
			c->nsaid++;
	}
}

void ctl_notes(struct ctl *c)
{
	const struct persist_recover_report *rep = persist_session_report(c->s);
	const char *notice = persist_session_notice(c->s);

	if (notice)
		note_once(c, "%s", notice);
	for (size_t i = 0; rep && i < rep->n; i++) {
		const struct persist_recover_entry *e = &rep->entries[i];
		const char *found = persist_found_name(e->found);
		if (e->error)
			note_once(c, "recovery: child %" PRId64 " (pid %d, %s): not settled: %s",
				  e->child_id, e->pid, found, strerror(-e->error));
		else if (e->found == PERSIST_FOUND_MATCHED)
			note_once(c, "recovery: child %" PRId64 " was spawned as pid %d before its "
				  "controller died; recorded now", e->child_id, e->pid);
		else if (e->found == PERSIST_FOUND_ADOPTED)
			note_once(c, "recovery: adopted pid %d, a child of the server no record "
				  "knew, as child %" PRId64, e->pid, e->child_id);
		else if (e->after == PERSIST_CHILD_LOST && e->before != PERSIST_CHILD_LOST)
			note_once(c, "recovery: child %" PRId64 " is lost: %s", e->child_id,
				  e->detail ? e->detail : found);
	}
}

void ctl_child(struct ctl *c, int64_t id, struct persist_child_rec *r)
{
	int e = persist_store_child_get(ctl_store(c), id, r);

	if (e == -ENOENT)
		ctl_die(EXIT_RUNTIME, "no child %" PRId64 " in %s (see '%s ps')", id, c->dir, ctl_prog);
	if (e < 0)
		ctl_fail(c, e, "cannot read child %" PRId64 " from %s: %s", id, c->db,
			persist_store_errmsg(ctl_store(c)));
}

void ctl_child_arg(const char *cmd, const char *arg, struct ctl_ref *ref)
{
	ref->name = NULL;
	ref->id = 0;
	if (!arg || !*arg)
		ctl_usage_error(cmd, "needs a child id (see 'persistctl ps')");
	if (*arg >= '0' && *arg <= '9') {
		if (ctl_parse_id(arg, &ref->id) < 0)
			ctl_usage_error(cmd, "'%s' is not a child id (a positive number, or a name)", arg);
	} else {
		ref->name = arg;
	}
}

void ctl_child_ref(struct ctl *c, const struct ctl_ref *ref, struct persist_child_rec *r)
{
	int e;

	if (!ref->name) {
		ctl_child(c, ref->id, r);
		return;
	}
	e = persist_store_child_find(ctl_store(c), 0, ref->name, r);
	if (e == -ENOENT)
		ctl_die(EXIT_RUNTIME, "no child named '%s' in %s (see '%s ps')", ref->name, c->dir,
			ctl_prog);
	if (e < 0)
		ctl_fail(c, e, "cannot read child '%s' from %s: %s", ref->name, c->db,
			persist_store_errmsg(ctl_store(c)));
}
