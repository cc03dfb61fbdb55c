/* SPDX-License-Identifier: MIT */
/* The persist-server executable's process title (title.c); never installed. */
#ifndef PSERVER_TITLE_H
#define PSERVER_TITLE_H

/* Take over the argv strings of main (and the environment strings after
 * them, copied elsewhere first) for title_set.  Call before anything keeps
 * a pointer into them that it needs after title_set.  Returns: nothing;
 * on failure titles are shorter or not set. */
void title_init(int argc, char **argv);

/* Set the title that ps shows: the strings of parts, up to a NULL, one
 * after the other (cut where the room ends).  Returns: nothing. */
void title_set(const char *const *parts);

#endif
