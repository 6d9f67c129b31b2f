/*
 * events: JSON rendering for the events log and the status file (pure: no
 * logging, no exit, no I/O).
 *
 * Everything is appended to a struct jbuf, a growable byte buffer that
 * turns an allocation failure into a sticky oom flag instead of an error
 * path in every caller. Strings are escaped for JSON with invalid UTF-8
 * replaced by U+FFFD; output that is not valid UTF-8 is carried as base64
 * so that no byte is lost.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "spawnfs/events.h"

#define JBUF_MIN_CAP 64

static const char hexdigits[] = "0123456789abcdef";
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
	size_t olen;
	char *o;

	if (n > (SIZE_MAX - 4) / 4 * 3) {
		b->oom = true;
		return;
	}
	olen = (n + 2) / 3 * 4;
	if (!jbuf_reserve(b, olen))
		return;
	o = b->data + b->len;
	for (; n >= 3; n -= 3, in += 3, o += 4) {
		o[0] = b64_alphabet[in[0] >> 2];
		o[1] = b64_alphabet[(in[0] & 0x03) << 4 | in[1] >> 4];
		o[2] = b64_alphabet[(in[1] & 0x0f) << 2 | in[2] >> 6];
		o[3] = b64_alphabet[in[2] & 0x3f];
	}
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
 * The UTF-8 sequence at p[0..n) (n >= 1) under RFC 3629: its length 1..4
 * when complete and valid, 0 when invalid (bad lead or continuation,
 * overlong, surrogate, above U+10FFFF), or -k when the k < needed bytes
 * available are a valid start that the end of input cut short.
 */
static int utf8_seq(const unsigned char *p, size_t n)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t need, i;

	if (c < 0x80)
		return 1;
	if (c < 0xc2 || c > 0xf4)
		return 0;
	need = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
	if (c == 0xe0)
		lo = 0xa0; /* overlong */
	else if (c == 0xed)
		hi = 0x9f; /* surrogates */
	else if (c == 0xf0)
		lo = 0x90; /* overlong */
	else if (c == 0xf4)
		hi = 0x8f; /* above U+10FFFF */
	for (i = 1; i < need; i++) {
		if (i == n)
			return -(int)i;
		if (p[i] < lo || p[i] > hi)
			return 0;
		lo = 0x80;
		hi = 0xbf;
	}
	return (int)need;
}

size_t utf8_cut_tail(const unsigned char *p, size_t n)
{
	size_t k;
	int r;

	for (k = 1; k <= 3 && k <= n; k++) {
		if (p[n - k] < 0x80)
			return 0;
		if (p[n - k] >= 0xc0) {
			r = utf8_seq(p + n - k, k);
			return r < 0 ? k : 0;
		}
	}
	return 0;
}

/* Length of the ASCII run at p, eight bytes at a time. */
static size_t ascii_run(const unsigned char *p, size_t n)
{
	size_t i = 0;
	uint64_t w;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		if (w & 0x8080808080808080ULL)
			break;
	}
	while (i < n && p[i] < 0x80)
		i++;
	return i;
}

size_t utf8_valid_prefix(const unsigned char *p, size_t n, size_t *partial)
{
	size_t i = 0;
	int r = 1;

	while (i < n) {
		i += ascii_run(p + i, n - i);
		if (i == n)
			break;
		r = utf8_seq(p + i, n - i);
		if (r <= 0)
			break;
		i += (size_t)r;
	}
	if (partial)
		*partial = r < 0 ? (size_t)-r : 0;
	return i;
}

/* Bytes that go out as they are: printable ASCII but '"' and '\\'. */
static bool json_plain_ascii(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

/* Whether none of the eight bytes in w needs care: each is printable
 * ASCII and neither '"' nor '\\'. Exact as a whole-word answer (a borrow
 * or carry only spreads from a byte that is flagged anyway). */
static bool json_plain_word(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ULL;
	const uint64_t high = 0x8080808080808080ULL;
	uint64_t q = w ^ (ones * '"'), bs = w ^ (ones * '\\');
	uint64_t bad = ((w - ones * 0x20) & ~w) | /* below 0x20 */
		       ((w + ones) | w) |	  /* 0x7f and above */
		       ((q - ones) & ~q) | ((bs - ones) & ~bs);

	return !(bad & high);
}

/* Length of the run of plain bytes (printable ASCII but '"' and '\\') at
 * the start of p[0..n): sixteen bytes at a time where SSE2 is there
 * (every x86-64), else eight. */
static size_t json_plain_run(const unsigned char *p, size_t n)
{
	size_t i = 0;
	uint64_t w;

#ifdef __SSE2__
	const __m128i space = _mm_set1_epi8(0x1f), del = _mm_set1_epi8(0x7f);
	const __m128i quote = _mm_set1_epi8('"'), bsl = _mm_set1_epi8('\\');

	for (; i + 16 <= n; i += 16) {
		__m128i v =
			_mm_loadu_si128((const __m128i *)(const void *)(p + i));
		/* signed: bytes from 0x80 up are negative, so not above 0x1f */
		__m128i ok = _mm_cmpgt_epi8(v, space);
		__m128i bad =
			_mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, del),
						  _mm_cmpeq_epi8(v, quote)),
				     _mm_cmpeq_epi8(v, bsl));

		if (_mm_movemask_epi8(_mm_andnot_si128(bad, ok)) != 0xffff)
			break;
	}
#endif
	while (i + 8 <= n && (memcpy(&w, p + i, 8), json_plain_word(w)))
		i += 8;
	while (i < n && json_plain_ascii(p[i]))
		i++;
	return i;
}

/* The short escapes of JSON, by byte; 0 for none. */
static const char json_short[256] = {
	['"'] = '"',  ['\\'] = '\\', ['\n'] = 'n', ['\t'] = 't',
	['\r'] = 'r', ['\b'] = 'b',  ['\f'] = 'f',
};

/* Write the escape for one byte at o; returns its length (2 or 6). */
static size_t json_escape(char *o, unsigned char c)
{
	o[0] = '\\';
	if (json_short[c]) {
		o[1] = json_short[c];
		return 2;
	}
	if (c >= 0x80) {
		memcpy(o + 1, "ufffd", 5);
		return 6;
	}
	memcpy(o + 1, "u00", 3);
	o[4] = hexdigits[c >> 4];
	o[5] = hexdigits[c & 15];
	return 6;
}

/*
 * One pass over the input, writing straight into space reserved for the
 * worst case (6 output bytes per input byte): output events go through
 * here for every byte a child writes.
 */
void json_str(struct jbuf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	char *o;
	int r;

	if (n > (SIZE_MAX - 3) / 6 || !jbuf_reserve(b, 6 * n + 2)) {
		b->oom = true;
		return;
	}
	o = b->data + b->len;
	*o++ = '"';
	while (i < n) {
		size_t run = json_plain_run(p + i, n - i);

		/* Plain text in one copy: the common case. */
		memcpy(o, p + i, run);
		o += run;
		i += run;
		if (i == n)
			break;
		r = p[i] >= 0x80 ? utf8_seq(p + i, n - i) : 0;
		if (r > 0) {
			memcpy(o, p + i, (size_t)r);
			o += r;
			i += (size_t)r;
		} else {
			o += json_escape(o, p[i++]);
		}
	}
	*o++ = '"';
	b->len = (size_t)(o - b->data);
	b->data[b->len] = '\0';
}

size_t json_str_len(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, len = 2;
	int r;

	while (i < n) {
		size_t run = json_plain_run(p + i, n - i);

		len += run;
		i += run;
		if (i == n)
			break;
		r = p[i] >= 0x80 ? utf8_seq(p + i, n - i) : 0;
		if (r > 0) {
			len += (size_t)r;
			i += (size_t)r;
		} else {
			len += json_short[p[i]] ? 2 : 6;
			i++;
		}
	}
	return len;
}

void json_time(struct jbuf *b, const struct timespec *t)
{
	struct tm tm;
	long usec = 0;

	if (!gmtime_r(&t->tv_sec, &tm) || tm.tm_year < -1900 ||
	    tm.tm_year > 9999 - 1900) {
		jbuf_puts(b, "null");
		return;
	}
	if (t->tv_nsec >= 0 && t->tv_nsec < 1000000000L)
		usec = t->tv_nsec / 1000;
	jbuf_printf(b, "\"%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ\"",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec, usec);
}

/* A borrowed C string as a JSON string, or null for NULL. */
static void json_cstr(struct jbuf *b, const char *s)
{
	if (s)
		json_str(b, s, strlen(s));
	else
		jbuf_puts(b, "null");
}

/* ,"key":N or ,"key":null when v is negative (or zero if zero_null). */
static void json_field_int(struct jbuf *b, const char *key, long v,
			   bool zero_null)
{
	if (v < 0 || (zero_null && v == 0))
		jbuf_printf(b, ",\"%s\":null", key);
	else
		jbuf_printf(b, ",\"%s\":%ld", key, v);
}

static void status_argv(struct jbuf *b, char *const *argv)
{
	size_t i;

	if (!argv) {
		jbuf_puts(b, "null");
		return;
	}
	jbuf_puts(b, "[");
	for (i = 0; argv[i]; i++) {
		if (i > 0)
			jbuf_puts(b, ",");
		json_cstr(b, argv[i]);
	}
	jbuf_puts(b, "]");
}

/* name through stdin */
static void status_setup(struct jbuf *b, const struct status_view *v)
{
	jbuf_puts(b, "{\"name\":");
	json_cstr(b, v->name);
	jbuf_puts(b, ",\"state\":");
	json_cstr(b, v->state);
	json_field_int(b, "pid", (long)v->pid, true);
	json_field_int(b, "pgid", (long)v->pgid, true);
	jbuf_puts(b, ",\"argv\":");
	status_argv(b, v->argv);
	jbuf_puts(b, ",\"cwd\":");
	json_cstr(b, v->cwd);
	if (v->pty)
		jbuf_printf(b, ",\"pty\":{\"cols\":%u,\"rows\":%u}", v->cols,
			    v->rows);
	else
		jbuf_puts(b, ",\"pty\":null");
	jbuf_puts(b, ",\"stdin\":");
	json_cstr(b, v->stdin_mode);
}

/* uid through error */
static void status_run(struct jbuf *b, const struct status_view *v)
{
	jbuf_printf(b, ",\"uid\":%lu", (unsigned long)v->uid);
	jbuf_puts(b, ",\"start_time\":");
	if (v->started)
		json_time(b, &v->start_time);
	else
		jbuf_puts(b, "null");
	jbuf_puts(b, ",\"end_time\":");
	if (v->ended)
		json_time(b, &v->end_time);
	else
		jbuf_puts(b, "null");
	json_field_int(b, "exit_code", v->exit_code, false);
	jbuf_puts(b, ",\"signal\":");
	json_cstr(b, v->signal);
	json_field_int(b, "status", v->status, false);
	jbuf_puts(b, ",\"error\":");
	json_cstr(b, v->error);
}

static void status_logs(struct jbuf *b, const struct status_view *v)
{
	size_t i;

	jbuf_puts(b, ",\"logs\":{");
	for (i = 0; i < v->nlogs; i++) {
		const struct status_log *l = &v->logs[i];

		if (i > 0)
			jbuf_puts(b, ",");
		json_cstr(b, l->name ? l->name : "");
		jbuf_printf(b,
			    ":{\"bytes\":%" PRIu64 ",\"retained\":%" PRIu64
			    ",\"readers\":%u,\"paused\":%s}",
			    l->bytes, l->retained, l->readers,
			    l->paused ? "true" : "false");
	}
	jbuf_puts(b, "}");
}

/* processes, cpu, memory, pids: the run's tree. */
static void status_tree(struct jbuf *b, const struct status_view *v)
{
	jbuf_printf(b, ",\"processes\":%u,\"cpu\":", v->processes);
	if (v->has_cpu)
		jbuf_printf(b,
			    "{\"usage_usec\":%" PRIu64 ",\"user_usec\":%" PRIu64
			    ",\"system_usec\":%" PRIu64 "}",
			    v->cpu_usage_usec, v->cpu_user_usec,
			    v->cpu_system_usec);
	else
		jbuf_puts(b, "null");
	jbuf_puts(b, ",\"memory\":");
	if (v->has_memory)
		jbuf_printf(b, "{\"current\":%" PRIu64 ",\"peak\":%" PRIu64 "}",
			    v->memory, v->memory_peak);
	else
		jbuf_puts(b, "null");
	jbuf_puts(b, ",\"pids\":");
	if (v->has_pids)
		jbuf_printf(b, "{\"current\":%" PRIu64 "}", v->pids);
	else
		jbuf_puts(b, "null");
}

void events_render_status(struct jbuf *b, const struct status_view *v)
{
	status_setup(b, v);
	status_run(b, v);
	status_tree(b, v);
	status_logs(b, v);
	jbuf_puts(b, "}\n");
}

/* {"seq":N,"time":"...","type":"T" -- the caller adds fields and "}\n". */
static void event_begin(struct jbuf *b, uint64_t seq, const struct timespec *t,
			const char *type)
{
	jbuf_printf(b, "{\"seq\":%" PRIu64 ",\"time\":", seq);
	json_time(b, t);
	jbuf_puts(b, ",\"type\":");
	json_cstr(b, type);
}

void events_render_start(struct jbuf *b, uint64_t seq, const struct timespec *t,
			 pid_t pid, char *const *argv)
{
	size_t i;

	event_begin(b, seq, t, "start");
	jbuf_printf(b, ",\"pid\":%d,\"argv\":[", (int)pid);
	for (i = 0; argv && argv[i]; i++) {
		if (i)
			jbuf_puts(b, ",");
		json_cstr(b, argv[i]);
	}
	jbuf_puts(b, "]}\n");
}

void events_render_signal(struct jbuf *b, uint64_t seq,
			  const struct timespec *t, int sig, const char *name)
{
	event_begin(b, seq, t, "signal");
	jbuf_puts(b, ",\"signal\":");
	if (name)
		json_cstr(b, name);
	else
		jbuf_printf(b, "%d", sig);
	jbuf_puts(b, "}\n");
}

void events_render_eof(struct jbuf *b, uint64_t seq, const struct timespec *t)
{
	event_begin(b, seq, t, "eof");
	jbuf_puts(b, "}\n");
}

void events_render_end(struct jbuf *b, uint64_t seq, const struct timespec *t,
		       int exit_code, const char *signal, int status)
{
	event_begin(b, seq, t, "end");
	if (exit_code >= 0)
		jbuf_printf(b, ",\"exit_code\":%d", exit_code);
	else
		jbuf_puts(b, ",\"exit_code\":null");
	jbuf_puts(b, ",\"signal\":");
	if (signal)
		json_cstr(b, signal);
	else
		jbuf_puts(b, "null");
	jbuf_printf(b, ",\"status\":%d}\n", status);
}

void events_render_error(struct jbuf *b, uint64_t seq, const struct timespec *t,
			 const char *message)
{
	event_begin(b, seq, t, "error");
	jbuf_puts(b, ",\"error\":");
	json_cstr(b, message ? message : "");
	jbuf_puts(b, "}\n");
}

void events_render_output(struct jbuf *b, uint64_t seq,
			  const struct timespec *t, const char *type,
			  const void *p, size_t n)
{
	event_begin(b, seq, t, type);
	if (utf8_valid_prefix(p, n, NULL) == n) {
		jbuf_puts(b, ",\"data\":");
		json_str(b, p, n);
	} else {
		jbuf_puts(b, ",\"data_base64\":\"");
		jbuf_base64(b, p, n);
		jbuf_puts(b, "\"");
	}
	jbuf_puts(b, "}\n");
}

size_t events_output_len(uint64_t seq, const struct timespec *t,
			 const char *type, const void *p, size_t n)
{
	struct jbuf b;
	size_t len;

	jbuf_init(&b);
	event_begin(&b, seq, t, type);
	len = b.oom ? 0 : b.len + sizeof("}\n") - 1;
	jbuf_free(&b);
	if (len == 0)
		return 0;
	/* Plain text (the common case) is valid UTF-8 and its own length. */
	if (json_plain_run(p, n) == n)
		return len + sizeof(",\"data\":") - 1 + n + 2;
	if (utf8_valid_prefix(p, n, NULL) == n)
		return len + sizeof(",\"data\":") - 1 + json_str_len(p, n);
	return len + sizeof(",\"data_base64\":\"\"") - 1 + (n + 2) / 3 * 4;
}

/* The line without its data field, at its longest. */
#define EV_FIXED                                                              \
	(sizeof("{\"seq\":18446744073709551615,\"time\":") - 1 +              \
	 sizeof("\"2026-11-28T03:21:44.123456Z\"") - 1 +                      \
	 sizeof(",\"type\":\"\"") - 1 + 6 * EVENTS_TYPE_MAX + sizeof("}\n") - \
	 1)

size_t events_output_max(size_t n)
{
	size_t text, b64;

	if (n > (SIZE_MAX - EV_FIXED - 64) / 6)
		return SIZE_MAX;
	text = sizeof(",\"data\":\"\"") - 1 + 6 * n;
	b64 = sizeof(",\"data_base64\":\"\"") - 1 + (n + 2) / 3 * 4;
	return EV_FIXED + (text > b64 ? text : b64);
}
