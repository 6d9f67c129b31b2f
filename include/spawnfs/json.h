/*
 * json: JSON text (pure): a growable buffer, strings with escapes,
 * base64 and times. The bytes of strings go through jscan (UTF-8
 * validation and escaping, whose declarations come with this header).
 */
#ifndef SPAWNFS_JSON_H
#define SPAWNFS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "spawnfs/jscan.h"

/*
 * A growable byte buffer; on allocation failure it sets oom and stops
 * appending (the contents are then incomplete and must not be used). data
 * is NULL until something is appended, then NUL-terminated at len. A
 * zeroed struct is a valid empty buffer; jbuf_free releases data and leaves
 * an empty buffer.
 */
struct jbuf {
	char *data;
	size_t len, cap;
	bool oom;
};

void jbuf_init(struct jbuf *b);
void jbuf_free(struct jbuf *b);
void jbuf_put(struct jbuf *b, const void *p, size_t n);
void jbuf_puts(struct jbuf *b, const char *s);
/* Append formatted text; a vsnprintf failure also sets oom. */
void jbuf_printf(struct jbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Append the base64 of p[0..n) (RFC 4648 alphabet, '=' padding, no
 * quotes, no line breaks). */
void jbuf_base64(struct jbuf *b, const void *p, size_t n);
/* A JSON string literal (quotes included) of s[0..n), which may hold NUL
 * bytes. '"', '\\', bytes below 0x20 and 0x7f are escaped (\n \t \r \b \f,
 * else \u00xx); valid UTF-8 (RFC 3629) passes through; every byte that
 * does not start a valid, complete sequence becomes the escape \ufffd. At
 * most 6 bytes of output per input byte, plus the quotes. */
void json_str(struct jbuf *b, const char *s, size_t n);
/* RFC 3339 UTC with microseconds in quotes: "2026-11-28T03:21:44.123456Z"
 * (29 bytes). A time whose year is outside 0000..9999 renders as null; a
 * tv_nsec outside 0..999999999 counts as 0. */
void json_time(struct jbuf *b, const struct timespec *t);

/* The length json_str would give s[0..n), quotes included. */
size_t json_str_len(const char *s, size_t n);

/* json_str for valid UTF-8 only: true when p[0..n) was valid and is
 * appended, false (b unchanged) when it is not. */
bool json_text(struct jbuf *b, const void *p, size_t n);

/* Whether p[0..n) is valid UTF-8, and then the length json_text gives it
 * (quotes included) in *len. */
bool json_text_len(const void *p, size_t n, size_t *len);

/* The length json_time gives t. */
size_t json_time_len(const struct timespec *t);

#endif
