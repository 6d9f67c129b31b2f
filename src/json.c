/*
 * json: JSON text (pure: no logging, no exit, no I/O). Everything is
 * appended to a struct jbuf, a growable byte buffer that turns an
 * allocation failure into a sticky oom flag instead of an error path in
 * every caller. Strings are escaped with invalid UTF-8 replaced by
 * U+FFFD; the events log carries output that is not valid UTF-8 as
 * base64, so that no byte is lost. The bytes of strings are checked,
 * counted and escaped by jscan.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spawnfs/jscan.h"
#include "spawnfs/json.h"

#define JBUF_MIN_CAP 64

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void jbuf_init(struct jbuf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->oom = false;
}

void jbuf_free(struct jbuf *b)
{
	free(b->data);
	jbuf_init(b);
}

/* Room for n more bytes plus the terminating NUL; false once oom. */
static bool jbuf_reserve(struct jbuf *b, size_t n)
{
	size_t need, cap;
	char *p;

	if (b->oom)
		return false;
	if (b->cap > b->len && n < b->cap - b->len)
		return true;
	/* no object may exceed PTRDIFF_MAX bytes; fail before asking */
	if (n > (size_t)PTRDIFF_MAX - 1 - b->len)
		goto fail;
	need = b->len + n + 1;
	cap = b->cap ? b->cap : JBUF_MIN_CAP;
	while (cap < need)
		cap = cap > (size_t)PTRDIFF_MAX / 2 ? need : cap * 2;
	p = realloc(b->data, cap);
	if (!p)
		goto fail;
	b->data = p;
	b->cap = cap;
	return true;
fail:
	b->oom = true;
	return false;
}

void jbuf_put(struct jbuf *b, const void *p, size_t n)
{
	if (!jbuf_reserve(b, n))
		return;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void jbuf_puts(struct jbuf *b, const char *s)
{
	jbuf_put(b, s, strlen(s));
}

void jbuf_printf(struct jbuf *b, const char *fmt, ...)
{
	va_list ap;
	size_t room;
	int n;

	if (!jbuf_reserve(b, JBUF_MIN_CAP))
		return;
	room = b->cap - b->len;
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, room, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n >= room && jbuf_reserve(b, (size_t)n)) {
		va_start(ap, fmt);
		n = vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	if (n < 0 || b->oom) {
		b->oom = true;
		b->data[b->len] = '\0';
		return;
	}
	b->len += (size_t)n;
}

void jbuf_base64(struct jbuf *b, const void *p, size_t n)
{
	const unsigned char *in = p;
	size_t olen, done;
	char *o;

	if (n > (SIZE_MAX - 4) / 4 * 3) {
		b->oom = true;
		return;
	}
	olen = (n + 2) / 3 * 4;
	if (!jbuf_reserve(b, olen))
		return;
	o = b->data + b->len;
	done = jscan_base64(o, in, n);
	o += done / 3 * 4;
	in += done;
	n -= done;
	if (n > 0) {
		unsigned char c1 = n > 1 ? in[1] : 0;

		o[0] = b64_alphabet[in[0] >> 2];
		o[1] = b64_alphabet[(in[0] & 0x03) << 4 | c1 >> 4];
		o[2] = n > 1 ? b64_alphabet[(c1 & 0x0f) << 2] : '=';
		o[3] = '=';
	}
	b->len += olen;
	b->data[b->len] = '\0';
}

/*
 * json_str, writing straight into space reserved for the worst case (6
 * output bytes per input byte): output events go through here for every
 * byte a child writes. With text, only valid UTF-8 is rendered: for other
 * bytes b is left as it was and the result is false.
 */
static bool json_str_put(struct jbuf *b, const unsigned char *p, size_t n,
			 bool text)
{
	char *o;

	if (n > (SIZE_MAX - 3 - JSCAN_SLACK) / 6 ||
	    !jbuf_reserve(b, 6 * n + 2 + JSCAN_SLACK)) {
		b->oom = true;
		return true; /* nothing more is appended anyway */
	}
	o = b->data + b->len;
	*o++ = '"';
	o = text ? jscan_put_text(o, p, n) : jscan_put(o, p, n);
	if (!o) {
		b->data[b->len] = '\0';
		return false;
	}
	*o++ = '"';
	b->len = (size_t)(o - b->data);
	b->data[b->len] = '\0';
	return true;
}

void json_str(struct jbuf *b, const char *s, size_t n)
{
	json_str_put(b, (const unsigned char *)s, n, false);
}

size_t json_str_len(const char *s, size_t n)
{
	return jscan_len((const unsigned char *)s, n) + 2;
}

/* The broken-down time json_time writes; false when it writes null. */
static bool time_tm(const struct timespec *t, struct tm *tm)
{
	return gmtime_r(&t->tv_sec, tm) && tm->tm_year >= -1900 &&
	       tm->tm_year <= 9999 - 1900;
}

void json_time(struct jbuf *b, const struct timespec *t)
{
	struct tm tm;
	long usec = 0;

	if (!time_tm(t, &tm)) {
		jbuf_puts(b, "null");
		return;
	}
	if (t->tv_nsec >= 0 && t->tv_nsec < 1000000000L)
		usec = t->tv_nsec / 1000;
	jbuf_printf(b, "\"%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ\"",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec, usec);
}

bool json_text(struct jbuf *b, const void *p, size_t n)
{
	return json_str_put(b, p, n, true);
}

bool json_text_len(const void *p, size_t n, size_t *len)
{
	if (!jscan_text_len(p, n, len))
		return false;
	*len += 2;
	return true;
}

size_t json_time_len(const struct timespec *t)
{
	struct tm tm;

	return time_tm(t, &tm) ? sizeof("\"2026-11-28T03:21:44.123456Z\"") - 1
			       : sizeof("null") - 1;
}
