/*
 * jscan: the byte scanners behind JSON strings (pure). UTF-8 validation
 * (RFC 3629), the length bytes take as the inside of a JSON string, and
 * that text itself: '"', '\\', bytes below 0x20 and 0x7f escaped (\n \t
 * \r \b \f, else \u00xx), valid UTF-8 passed through, every byte that
 * starts no valid, complete sequence written as \ufffd. They look at
 * sixteen bytes at a time with SSE2, the hottest ones at thirty-two with
 * AVX2 where the CPU has it, and have a portable path that gives the same
 * results. json builds strings, events and status on them.
 */
#ifndef SPAWNFS_JSCAN_H
#define SPAWNFS_JSCAN_H

#include <stdbool.h>
#include <stddef.h>

/* jscan_put and jscan_put_text may store this far past the end of what
 * they write (eight-byte stores): the caller leaves room. */
#define JSCAN_SLACK 8

/*
 * Length of the longest prefix of p[0..n) that is valid UTF-8 and ends on
 * a character boundary. If the rest is the start of a sequence that could
 * still complete (1 to 3 bytes), *partial is set to its length, else 0.
 * partial may be NULL. So the input is entirely valid exactly when the
 * result is n.
 */
size_t utf8_valid_prefix(const unsigned char *p, size_t n, size_t *partial);

/* When p[0..n) ends with the start of a UTF-8 sequence that more bytes
 * could complete, its length (1 to 3); else 0. */
size_t utf8_cut_tail(const unsigned char *p, size_t n);

/* Write the escaped text of p[0..n) (no quotes) at o, at most 6 bytes
 * per input byte; the end of what was written. */
char *jscan_put(char *o, const unsigned char *p, size_t n);

/* jscan_put for valid UTF-8 only: NULL (o's contents undefined) when
 * p[0..n) is not. */
char *jscan_put_text(char *o, const unsigned char *p, size_t n);

/* The length jscan_put gives p[0..n). */
size_t jscan_len(const unsigned char *p, size_t n);

/* Whether p[0..n) is valid UTF-8, and then the length jscan_put gives it
 * in *len. */
bool jscan_text_len(const unsigned char *p, size_t n, size_t *len);

/* RFC 4648 base64 of the whole 3-byte groups of p[0..n): writes
 * n / 3 * 4 characters at o and returns how many bytes it encoded
 * (n / 3 * 3); the caller pads what is left. */
size_t jscan_base64(char *o, const unsigned char *p, size_t n);

/* The paths of the byte scanners; all give the same results. */
enum jscan_path {
	JSCAN_PATH_AUTO,   /* the fastest the CPU runs: the one at start */
	JSCAN_PATH_AVX2,   /* thirty-two bytes at a time, on CPUs with AVX2 */
	JSCAN_PATH_SSE2,   /* sixteen bytes at a time (every x86-64) */
	JSCAN_PATH_SCALAR, /* portable, byte by byte */
};

/*
 * For tests and benchmarks: every function here takes the given path from
 * now on. Returns 0, -ENOTSUP when this build or CPU has no such path, or
 * -EINVAL for a value that names none (the path in force is then kept).
 * Not for use while another thread calls into this module.
 */
int jscan_force_path(enum jscan_path path);

#endif
