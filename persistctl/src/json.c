// SPDX-License-Identifier: MIT
/* persistctl: JSON output.  Strings are written as valid UTF-8 JSON
 * whatever their bytes: quotes, backslashes and control characters are
 * escaped, valid UTF-8 passes through, and each byte that is not part of a
 * valid UTF-8 sequence (argv may hold any bytes) becomes U+FFFD. */
#include <string.h>
#include "ctl.h"

/* Length of the valid UTF-8 sequence at s (of at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len, i;
	unsigned char lo = 0x80, hi = 0xBF;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4;
	else
		return 0;
	if (n < len)
		return 0;
	/* No overlong forms, no surrogates, nothing above U+10FFFF. */
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	return len;
}

void json_str(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n;

	if (!s) {
		fputs("null", f);
		return;
	}
	n = strlen(str);
	fputc('"', f);
	while (n) {
		size_t len = utf8_len(s, n);
		if (len == 0) {
			fputs("\\ufffd", f);
			len = 1;
		} else if (*s == '"' || *s == '\\') {
			fputc('\\', f);
			fputc(*s, f);
		} else if (*s == '\n') {
			fputs("\\n", f);
		} else if (*s == '\t') {
			fputs("\\t", f);
		} else if (*s == '\r') {
			fputs("\\r", f);
		} else if (*s < 0x20 || *s == 0x7F) {
			fprintf(f, "\\u%04x", *s);
		} else {
			fwrite(s, 1, len, f);
		}
		s += len;
		n -= len;
	}
	fputc('"', f);
}

void json_time(FILE *f, int64_t ms)
{
	char buf[40];

	if (ms <= 0)
		fputs("null", f);
	else
		fprintf(f, "\"%s\"", ctl_iso8601(ms, buf, sizeof buf));
}

/* Characters that need no quoting in any word of sh(1); '=' is also safe
 * but in the first word, where it would make an assignment. */
static int sh_safe(unsigned char ch, int first)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       strchr("_-./:,+@%", ch) || (ch == '=' && !first);
}

void ctl_sh_quote(FILE *f, const char *str, int first)
{
	const unsigned char *s = (const unsigned char *)str;
	int plain = *s != 0;

	for (const unsigned char *p = s; *p && plain; p++)
		plain = *p < 0x80 && sh_safe(*p, first);
	if (plain) {
		fputs(str, f);
		return;
	}
	/* Single quotes keep every byte but the quote itself, which is
	 * closed, escaped and reopened: 'it'\''s'. */
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			fputs("'\\''", f);
		else
			fputc(*s < 0x20 || *s == 0x7F ? '?' : *s, f);
	}
	fputc('\'', f);
}

void json_status(FILE *f, const struct persist_child_rec *r)
{
	fprintf(f, "{\"id\": %lld, \"name\": ", (long long)r->id);
	json_str(f, r->name);
	if (r->pid > 0)
		fprintf(f, ", \"pid\": %d", r->pid);
	else
		fputs(", \"pid\": null", f);
	fputs(", \"state\": ", f);
	json_str(f, persist_child_state_name(r->state));
	if (r->state == PERSIST_CHILD_EXITED)
		fprintf(f, ", \"exit_code\": %d", r->exit_code);
	else
		fputs(", \"exit_code\": null", f);
	if (r->state == PERSIST_CHILD_KILLED)
		fprintf(f, ", \"signal\": %d", r->signal);
	else
		fputs(", \"signal\": null", f);
	fputs(", \"lost_reason\": ", f);
	json_str(f, r->state == PERSIST_CHILD_LOST ? r->lost_reason : NULL);
	fputc('}', f);
}
