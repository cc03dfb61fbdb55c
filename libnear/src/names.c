// SPDX-License-Identifier: MIT
/* Lookups in the generated syscall and errno tables. */
#include <errno.h>
#include <string.h>
#include "internal.h"

int near__find_value(const struct near__name_entry *t, unsigned n, long value)
{
	unsigned lo = 0, hi = n;

	/* Lower bound, so that the first of equal values wins. */
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (t[mid].value < value)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && t[lo].value == value ? (int)lo : -1;
}

long near__find_name(const struct near__name_entry *t, unsigned n,
		     const char *name)
{
	for (unsigned i = 0; i < n; i++)
		if (strcmp(t[i].name, name) == 0)
			return t[i].value;
	return -1;
}

NEAR_EXPORT const char *near_syscall_name(long nr)
{
	int i = near__find_value(near__syscall_by_value, near__syscall_count, nr);
	return i < 0 ? NULL : near__syscall_by_value[i].name;
}

NEAR_EXPORT long near_syscall_number(const char *name)
{
	long nr;

	if (!name)
		return -EINVAL;
	if (strncmp(name, "SYS_", 4) == 0)
		name += 4;
	else if (strncmp(name, "__NR_", 5) == 0)
		name += 5;
	nr = near__find_name(near__syscall_by_value, near__syscall_count, name);
	return nr < 0 ? -ENOENT : nr;
}

NEAR_EXPORT unsigned near_syscall_count(void)
{
	return near__syscall_count;
}

NEAR_EXPORT const char *near_errno_name(long err)
{
	int i;

	if (err < 0)
		err = -err;
	i = near__find_value(near__errno_by_value, near__errno_count, err);
	return i < 0 ? NULL : near__errno_by_value[i].name;
}

NEAR_EXPORT int near_errno_number(const char *name)
{
	long v;

	if (!name)
		return -EINVAL;
	for (unsigned i = 0; i < near__errno_alias_count; i++)
		if (strcmp(near__errno_aliases[i].alias, name) == 0) {
			name = near__errno_aliases[i].name;
			break;
		}
	v = near__find_name(near__errno_by_value, near__errno_count, name);
	return v < 0 ? -ENOENT : (int)v;
}

NEAR_EXPORT const char *near_arch_name(void)
{
	return NEAR_ARCH_NAME;
}
