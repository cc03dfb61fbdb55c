/* SPDX-License-Identifier: MIT */
/* What test_store and test_recover share: a store in a fresh temp dir. */
#ifndef PERSIST_TESTS_STORE_FIXTURE_H
#define PERSIST_TESTS_STORE_FIXTURE_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>
#include <persist/store.h>

struct fixture {
	char dir[64];
	char path[96];
	struct persist_store *st;
};

static int fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	char err[256] = "";

	if (!f)
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/persist-store-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof f->path, "%s/state.db", f->dir);
	if (persist_store_open(f->path, PERSIST_STORE_CREATE, &f->st, err, sizeof err) < 0) {
		fprintf(stderr, "open: %s\n", err);
		return -1;
	}
	*state = f;
	return 0;
}

static int fixture_teardown(void **state)
{
	struct fixture *f = *state;
	struct dirent *d;
	DIR *dir;
	char p[512];

	persist_store_close(f->st);
	if ((dir = opendir(f->dir))) {
		while ((d = readdir(dir)))
			if (d->d_name[0] != '.') {
				snprintf(p, sizeof p, "%s/%s", f->dir, d->d_name);
				unlink(p);
			}
		closedir(dir);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

/* A one-row, one-column answer from the file, through SQLite directly. */
static inline void raw_query(const char *path, const char *q, char *out, size_t len)
{
	sqlite3 *db;
	sqlite3_stmt *s;

	*out = 0;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_prepare_v2(db, q, -1, &s, NULL) == SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
			snprintf(out, len, "%s", (const char *)sqlite3_column_text(s, 0));
		sqlite3_finalize(s);
	}
out:
	sqlite3_close(db);
}

#endif
