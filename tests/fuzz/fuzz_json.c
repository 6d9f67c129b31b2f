/*
 * fuzz_json: the JSON renderer of events.c on arbitrary bytes.
 *
 * The whole input goes through json_str, whose output is walked in step
 * with the input: every byte must come back as itself, as its escape, or
 * (only where no valid UTF-8 sequence starts) as \ufffd, with no raw
 * control byte, no raw DEL and only valid UTF-8 (RFC 3629). The UTF-8
 * helpers are compared with a decoder written here, and jbuf_base64 is
 * decoded back. The same input, read as fields (numbers, times, strings cut
 * at NUL bytes), fills every event renderer and a status view; each line
 * must be one JSON object with its keys in the documented order and a
 * single trailing newline, and an output line must fit events_output_max
 * and be as long as events_output_len counts.
 *
 * The string and UTF-8 checks run on every code path the CPU has (AVX2,
 * SSE2 and the portable one, jscan_force_path), which must render the same
 * bytes; and the input, cut into pieces at points drawn from its own
 * bytes as pipe reads would cut it, must have each piece counted exactly
 * as long as it renders.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "spawnfs/events.h"

#include "fuzz.h"

#define MAX_DEPTH   32
#define MAX_KEYS    32
#define MAX_STRINGS 64
#define MAX_ARGS    8
#define MAX_LOGS    4

/* ---- UTF-8, decoded by code point rather than by byte ranges ---- */

/* The complete sequence at p[0..n): its length if it decodes to a scalar
 * value in its shortest form, else 0. */
static size_t u8_complete(const unsigned char *p, size_t n)
{
	static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
	size_t need, i;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0)
		need = 2, cp = p[0] & 0x1f;
	else if ((p[0] & 0xf0) == 0xe0)
		need = 3, cp = p[0] & 0x0f;
	else if ((p[0] & 0xf8) == 0xf0)
		need = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (n < need)
		return 0;
	for (i = 1; i < need; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min[need] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need;
}

/* p[0..n) (n < the sequence's length) can still become a valid sequence:
 * padding it with the lowest or the highest continuation byte works. */
static bool u8_partial(const unsigned char *p, size_t n)
{
	unsigned char lo[4], hi[4];
	size_t i;

	if (n == 0 || n > 3)
		return false;
	for (i = 0; i < 4; i++) {
		lo[i] = i < n ? p[i] : 0x80;
		hi[i] = i < n ? p[i] : 0xbf;
	}
	return (u8_complete(lo, 4) > n) || (u8_complete(hi, 4) > n);
}

/* The length of the longest run of complete sequences at p. */
static size_t u8_prefix(const unsigned char *p, size_t n)
{
	size_t i = 0, k;

	while (i < n && (k = u8_complete(p + i, n - i)) > 0)
		i += k;
	return i;
}

static void check_utf8(const unsigned char *p, size_t n)
{
	size_t i = u8_prefix(p, n), k, partial = 99, want_partial = 0, tail = 0;

	if (i < n && u8_partial(p + i, n - i))
		want_partial = n - i;
	CHECK(utf8_valid_prefix(p, n, &partial) == i);
	CHECK(partial == want_partial);
	CHECK(utf8_valid_prefix(p, n, NULL) == i);
	for (k = 1; k <= 3 && k <= n; k++) {
		if (p[n - k] < 0x80 || p[n - k] >= 0xc0) {
			tail = u8_partial(p + n - k, k) ? k : 0;
			break;
		}
	}
	CHECK(utf8_cut_tail(p, n) == tail);
}

/* ---- a JSON validator that also lists an object's top-level keys ---- */

struct jv {
	const unsigned char *s;
	size_t n, i;
	int depth;
	const unsigned char *keys[MAX_KEYS]; /* top-level, raw, unquoted */
	size_t klen[MAX_KEYS], nkeys;
};

static bool jv_value(struct jv *v);

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool jv_hex4(struct jv *v, uint32_t *cp)
{
	size_t k;

	*cp = 0;
	if (v->n - v->i < 4)
		return false;
	for (k = 0; k < 4; k++) {
		int h = hexval(v->s[v->i + k]);

		if (h < 0)
			return false;
		*cp = *cp << 4 | (uint32_t)h;
	}
	v->i += 4;
	return true;
}

static bool jv_string(struct jv *v)
{
	uint32_t cp;
	size_t k;

	if (v->i >= v->n || v->s[v->i++] != '"')
		return false;
	while (v->i < v->n) {
		unsigned char c = v->s[v->i];

		if (c == '"') {
			v->i++;
			return true;
		}
		if (c < 0x20)
			return false;
		if (c == '\\') {
			if (++v->i >= v->n)
				return false;
			c = v->s[v->i++];
			if (c == 'u' && !jv_hex4(v, &cp))
				return false;
			if (c != 'u' && !strchr("\"\\/bfnrt", c))
				return false;
			continue;
		}
		k = u8_complete(v->s + v->i, v->n - v->i);
		if (k == 0)
			return false;
		v->i += k;
	}
	return false;
}

static bool jv_digits(struct jv *v)
{
	size_t start = v->i;

	while (v->i < v->n && v->s[v->i] >= '0' && v->s[v->i] <= '9')
		v->i++;
	return v->i > start;
}

static bool jv_number(struct jv *v)
{
	if (v->i < v->n && v->s[v->i] == '-')
		v->i++;
	if (v->i < v->n && v->s[v->i] == '0')
		v->i++;
	else if (!jv_digits(v))
		return false;
	if (v->i < v->n && v->s[v->i] == '.') {
		v->i++;
		if (!jv_digits(v))
			return false;
	}
	if (v->i < v->n && (v->s[v->i] == 'e' || v->s[v->i] == 'E')) {
		v->i++;
		if (v->i < v->n && (v->s[v->i] == '+' || v->s[v->i] == '-'))
			v->i++;
		if (!jv_digits(v))
			return false;
	}
	return true;
}

static bool jv_word(struct jv *v, const char *w)
{
	size_t n = strlen(w);

	if (v->n - v->i < n || memcmp(v->s + v->i, w, n))
		return false;
	v->i += n;
	return true;
}

static bool jv_peek(struct jv *v, unsigned char c)
{
	return v->i < v->n && v->s[v->i] == c;
}

static bool jv_member(struct jv *v)
{
	size_t start = v->i;

	if (!jv_string(v) || !jv_peek(v, ':'))
		return false;
	if (v->depth == 1 && v->nkeys < MAX_KEYS) {
		v->keys[v->nkeys] = v->s + start + 1;
		v->klen[v->nkeys++] = v->i - start - 2;
	}
	v->i++;
	return jv_value(v);
}

/* An object or an array; the renderer writes no whitespace. */
static bool jv_container(struct jv *v, unsigned char close)
{
	bool ok = true;

	if (++v->depth > MAX_DEPTH)
		return false;
	v->i++;
	if (jv_peek(v, close)) {
		v->i++;
		v->depth--;
		return true;
	}
	for (;;) {
		ok = close == '}' ? jv_member(v) : jv_value(v);
		if (!ok || !jv_peek(v, ','))
			break;
		v->i++;
	}
	if (!ok || !jv_peek(v, close))
		return false;
	v->i++;
	v->depth--;
	return true;
}

static bool jv_value(struct jv *v)
{
	if (v->i >= v->n)
		return false;
	switch (v->s[v->i]) {
	case '{':
		return jv_container(v, '}');
	case '[':
		return jv_container(v, ']');
	case '"':
		return jv_string(v);
	case 't':
		return jv_word(v, "true");
	case 'f':
		return jv_word(v, "false");
	case 'n':
		return jv_word(v, "null");
	default:
		return jv_number(v);
	}
}

/* b holds one JSON object and '\n', and nothing else; its top-level keys
 * are keys[] (NULL-terminated), in that order. */
static void check_line(const struct jbuf *b, const char *const *keys)
{
	struct jv v = {.s = (const unsigned char *)b->data, .n = b->len};
	size_t k;

	CHECK(!b->oom && b->data && b->data[b->len] == '\0');
	CHECK(b->len >= 2 && b->data[0] == '{' && b->data[b->len - 1] == '\n');
	v.n = b->len - 1;
	CHECK(jv_value(&v) && v.i == v.n);
	for (k = 0; keys[k]; k++) {
		CHECK(k < v.nkeys && v.klen[k] == strlen(keys[k]));
		CHECK(!memcmp(v.keys[k], keys[k], v.klen[k]));
	}
	CHECK(k == v.nkeys);
}

/* ---- json_str, walked in step with its input ---- */

static const char short_from[] = "\"\\ntrbf", short_to[] = "\"\\\n\t\r\b\f";

/* The byte a two-character escape stands for, 0 when there is none. */
static unsigned char short_escape(unsigned char e)
{
	const char *p = e ? strchr(short_from, e) : NULL;

	return p ? (unsigned char)short_to[p - short_from] : 0;
}

static bool has_short_escape(unsigned char c)
{
	return c && strchr(short_to, c);
}

static void check_str(const unsigned char *p, size_t n)
{
	struct jbuf b = {0};
	struct jv v;
	const unsigned char *o;
	size_t i = 0, j = 1, m, k;
	uint32_t cp;

	json_str(&b, (const char *)p, n);
	CHECK(!b.oom && b.data && b.data[b.len] == '\0');
	o = (const unsigned char *)b.data;
	m = b.len;
	CHECK(m >= 2 && m <= 6 * n + 2 && o[0] == '"' && o[m - 1] == '"');
	CHECK(json_str_len((const char *)p, n) == m);
	v = (struct jv){.s = o, .n = m};
	CHECK(jv_string(&v) && v.i == m);
	while (j < m - 1) {
		CHECK(i < n);
		if (o[j] == '\\' && o[j + 1] != 'u') {
			CHECK(short_escape(o[j + 1]) &&
			      short_escape(o[j + 1]) == p[i]);
			i++;
			j += 2;
		} else if (o[j] == '\\') {
			v = (struct jv){.s = o, .n = m, .i = j + 2};
			CHECK(jv_hex4(&v, &cp));
			if (cp == 0xfffd)
				CHECK(p[i] >= 0x80 &&
				      !u8_complete(p + i, n - i));
			else
				CHECK(cp == p[i] && (cp < 0x20 || cp == 0x7f) &&
				      !has_short_escape(p[i]));
			i++;
			j += 6;
		} else {
			CHECK(o[j] >= 0x20 && o[j] != 0x7f);
			k = u8_complete(o + j, m - 1 - j);
			CHECK(k > 0 && k <= n - i && !memcmp(o + j, p + i, k));
			i += k;
			j += k;
		}
	}
	CHECK(i == n);
	jbuf_free(&b);
}

/* ---- base64, decoded back ---- */

static int b64val(unsigned char c)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				"abcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c ? strchr(a, c) : NULL;

	return p ? (int)(p - a) : -1;
}

/* Decode one group of four into out; returns the bytes it holds (1 to 3)
 * or 0 when it is not canonical base64 (bad character, bad padding, or
 * bits set that no byte uses). Padding only when last. */
static size_t b64_group(const unsigned char *q, bool last, unsigned char *out)
{
	int v[4], k, nbytes = 3;

	for (k = 0; k < 4; k++)
		v[k] = b64val(q[k]);
	if (last && q[3] == '=') {
		nbytes = q[2] == '=' ? 1 : 2;
		v[3] = 0;
		if (nbytes == 1)
			v[2] = 0;
	}
	for (k = 0; k < 4; k++)
		if (v[k] < 0)
			return 0;
	if ((nbytes == 1 && (v[1] & 15)) || (nbytes == 2 && (v[2] & 3)))
		return 0;
	out[0] = (unsigned char)(v[0] << 2 | v[1] >> 4);
	out[1] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
	out[2] = (unsigned char)((v[2] & 3) << 6 | v[3]);
	return (size_t)nbytes;
}

static void check_base64(const unsigned char *p, size_t n)
{
	struct jbuf b = {0};
	unsigned char out[3];
	size_t i, o = 0, k;

	jbuf_base64(&b, p, n);
	CHECK(!b.oom && b.len == (n + 2) / 3 * 4);
	for (i = 0; i < b.len; i += 4) {
		k = b64_group((const unsigned char *)b.data + i, i + 4 == b.len,
			      out);
		CHECK(k > 0 && k <= n - o && !memcmp(out, p + o, k));
		o += k;
	}
	CHECK(o == n && (!b.data || b.data[b.len] == '\0'));
	jbuf_free(&b);
}

/* ---- the input read as fields ---- */

struct in {
	const uint8_t *p;
	size_t n;
	char *strs[MAX_STRINGS]; /* what in_str allocated */
	size_t nstrs;
};

static uint64_t in_u64(struct in *r, size_t bytes)
{
	uint64_t v = 0;
	size_t k;

	for (k = 0; k < bytes && r->n; k++, r->p++, r->n--)
		v |= (uint64_t)r->p[0] << (8 * k);
	return v;
}

static bool in_bool(struct in *r)
{
	return in_u64(r, 1) & 1;
}

/* The bytes up to the next NUL (at most max), as a C string. */
static const char *in_str(struct in *r, size_t max)
{
	size_t len = 0;
	char *s;

	while (len < r->n && len < max && r->p[len])
		len++;
	if (r->nstrs == MAX_STRINGS || !(s = malloc(len + 1)))
		return "";
	memcpy(s, r->p, len);
	s[len] = '\0';
	r->strs[r->nstrs++] = s;
	r->p += len;
	r->n -= len;
	in_u64(r, 1); /* the NUL */
	return s;
}

static const char *in_opt_str(struct in *r)
{
	return in_bool(r) ? in_str(r, SIZE_MAX) : NULL;
}

static struct timespec in_time(struct in *r)
{
	struct timespec t;

	t.tv_sec = (time_t)in_u64(r, 8);
	t.tv_nsec = (long)in_u64(r, 8);
	/* Mostly plausible times, so that the digits get exercised too. */
	if (in_bool(r))
		t.tv_sec = (time_t)((uint64_t)t.tv_sec % 253402300800ULL);
	return t;
}

static void in_argv(struct in *r, const char **argv)
{
	size_t n = in_u64(r, 1) % MAX_ARGS, i;

	for (i = 0; i < n; i++)
		argv[i] = in_str(r, SIZE_MAX);
	argv[n] = NULL;
}

static void in_free(struct in *r)
{
	while (r->nstrs)
		free(r->strs[--r->nstrs]);
}

/* json_time against gmtime_r: the quoted RFC 3339 form for years 0000 to
 * 9999, else null. */
static void check_time(const struct timespec *t)
{
	struct jbuf b = {0};
	char want[64];
	struct tm tm;
	long usec = 0;

	json_time(&b, t);
	CHECK(!b.oom && b.data);
	if (!gmtime_r(&t->tv_sec, &tm) || tm.tm_year < -1900 ||
	    tm.tm_year > 9999 - 1900) {
		CHECK(!strcmp(b.data, "null"));
		jbuf_free(&b);
		return;
	}
	if (t->tv_nsec >= 0 && t->tv_nsec < 1000000000L)
		usec = t->tv_nsec / 1000;
	snprintf(want, sizeof(want), "\"%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ\"",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, usec);
	CHECK(b.len == 29 && !strcmp(b.data, want));
	jbuf_free(&b);
}

static void fuzz_output(const uint8_t *data, size_t size)
{
	static const char *const text[] = {"seq", "time", "type", "data", NULL};
	static const char *const b64[] = {"seq", "time", "type", "data_base64",
					  NULL};
	struct in r = {.p = data, .n = size};
	struct jbuf b = {0};
	struct timespec t;
	const char *type;
	uint64_t seq;
	bool valid;

	seq = in_u64(&r, 8);
	t = in_time(&r);
	type = in_str(&r, EVENTS_TYPE_MAX);
	check_time(&t);
	valid = u8_prefix(r.p, r.n) == r.n;
	events_render_output(&b, seq, &t, type, r.p, r.n);
	check_line(&b, valid ? text : b64);
	CHECK(b.len <= events_output_max(r.n));
	/* The length counted without rendering is exactly the line's. */
	CHECK(events_output_len(seq, &t, type, r.p, r.n) == b.len);
	jbuf_free(&b);
	in_free(&r);
}

static void fuzz_events(const uint8_t *data, size_t size)
{
	static const char *const start[] = {"seq", "time", "type",
					    "pid", "argv", NULL};
	static const char *const restart[] = {"seq",  "time",	 "type", "pid",
					      "argv", "restart", NULL};
	static const char *const skip[] = {"seq",  "time", "type", "stream",
					   "from", "to",   NULL};
	static const char *const sig[] = {"seq", "time", "type", "signal",
					  NULL};
	static const char *const eof[] = {"seq", "time", "type", NULL};
	static const char *const end[] = {
		"seq", "time", "type", "exit_code", "signal", "status", NULL};
	static const char *const end_why[] = {"seq",	   "time",   "type",
					      "exit_code", "signal", "status",
					      "reason",	   NULL};
	static const char *const err[] = {"seq", "time", "type", "error", NULL};
	struct in r = {.p = data, .n = size};
	const char *argv[MAX_ARGS + 1];
	struct jbuf b = {0};
	struct timespec t = in_time(&r);
	uint64_t seq = in_u64(&r, 8);
	int n1 = (int)in_u64(&r, 4), n2 = (int)in_u64(&r, 4);

	in_argv(&r, argv);
	events_render_start(&b, seq, &t, (pid_t)n1, (char *const *)argv,
			    (uint64_t)(unsigned)n2);
	check_line(&b, n2 ? restart : start);
	jbuf_free(&b);
	events_render_skip(&b, seq, &t, in_opt_str(&r), (uint64_t)n1, seq);
	check_line(&b, skip);
	jbuf_free(&b);
	events_render_signal(&b, seq, &t, n1, in_opt_str(&r));
	check_line(&b, sig);
	jbuf_free(&b);
	events_render_eof(&b, seq, &t);
	check_line(&b, eof);
	jbuf_free(&b);
	events_render_end(&b, seq, &t, n1, in_opt_str(&r), n2,
			  n2 & 1 ? "stop" : NULL);
	check_line(&b, n2 & 1 ? end_why : end);
	jbuf_free(&b);
	events_render_error(&b, seq, &t, in_opt_str(&r));
	check_line(&b, err);
	jbuf_free(&b);
	in_free(&r);
}

static void fuzz_status(const uint8_t *data, size_t size)
{
	static const char *const keys[] = {
		"name",	    "state",	 "pid",	      "pgid",	"argv",
		"cwd",	    "pty",	 "stdin",     "uid",	"start_time",
		"end_time", "exit_code", "signal",    "status", "end_reason",
		"restart",  "error",	 "processes", "cpu",	"memory",
		"pids",	    "logs",	 NULL};
	struct in r = {.p = data, .n = size};
	struct status_log logs[MAX_LOGS];
	const char *argv[MAX_ARGS + 1];
	struct status_view v = {0};
	struct jbuf b = {0};
	size_t i;

	v.name = in_opt_str(&r);
	v.state = in_opt_str(&r);
	v.pid = (pid_t)in_u64(&r, 4);
	v.pgid = (pid_t)in_u64(&r, 4);
	in_argv(&r, argv);
	v.argv = in_bool(&r) ? (char *const *)argv : NULL;
	v.cwd = in_opt_str(&r);
	v.pty = in_bool(&r);
	v.cols = (unsigned)in_u64(&r, 4);
	v.rows = (unsigned)in_u64(&r, 4);
	v.stdin_mode = in_opt_str(&r);
	v.uid = (uid_t)in_u64(&r, 4);
	v.started = in_bool(&r);
	v.ended = in_bool(&r);
	v.start_time = in_time(&r);
	v.end_time = in_time(&r);
	v.exit_code = (int)in_u64(&r, 4);
	v.signal = in_opt_str(&r);
	v.status = (int)in_u64(&r, 4);
	v.error = in_opt_str(&r);
	v.end_reason = in_opt_str(&r);
	v.restart_policy = in_opt_str(&r);
	v.restarts = in_u64(&r, 8);
	v.restart_ended = in_opt_str(&r);
	v.nlogs = in_u64(&r, 1) % (MAX_LOGS + 1);
	for (i = 0; i < v.nlogs; i++) {
		logs[i].name = in_opt_str(&r);
		logs[i].bytes = in_u64(&r, 8);
		logs[i].retained = in_u64(&r, 8);
		logs[i].readers = (unsigned)in_u64(&r, 4);
		logs[i].paused = in_bool(&r);
		logs[i].dropped = in_u64(&r, 8);
	}
	v.logs = logs;
	events_render_status(&b, &v);
	check_line(&b, keys);
	jbuf_free(&b);
	in_free(&r);
}

/* jbuf_printf past the buffer's first allocation, and jbuf_put. */
static void fuzz_jbuf(const uint8_t *data, size_t size)
{
	struct jbuf b;
	char *s = malloc(size + 1);

	if (!s)
		return;
	memcpy(s, data, size);
	s[size] = '\0';
	jbuf_init(&b);
	jbuf_put(&b, data, size);
	jbuf_printf(&b, "%s|%zu", s, size);
	CHECK(!b.oom && b.data && b.data[b.len] == '\0');
	CHECK(!memcmp(b.data, data, size));
	CHECK(!strncmp(b.data + size, s, strlen(s)));
	jbuf_free(&b);
	CHECK(!b.data && b.len == 0 && b.cap == 0 && !b.oom);
	free(s);
}

/* ---- every path, and the input in pieces ---- */

/* The paths to run, the portable one first: the others are compared with
 * it. Those the CPU lacks are refused by jscan_force_path and skipped. */
static const enum jscan_path paths[] = {JSCAN_PATH_SCALAR, JSCAN_PATH_AVX2,
					JSCAN_PATH_SSE2};

/* What one path makes of p[0..n). */
struct rendering {
	struct jbuf str, line;
	size_t prefix, partial, cut;
};

static void render_all(struct rendering *r, const unsigned char *p, size_t n)
{
	const struct timespec t = {1795836104, 123456789};

	jbuf_init(&r->str);
	jbuf_init(&r->line);
	json_str(&r->str, (const char *)p, n);
	events_render_output(&r->line, 7, &t, "stderr", p, n);
	r->prefix = utf8_valid_prefix(p, n, &r->partial);
	r->cut = utf8_cut_tail(p, n);
	CHECK(!r->str.oom && !r->line.oom);
}

static bool same_jbuf(const struct jbuf *a, const struct jbuf *b)
{
	return a->len == b->len && !memcmp(a->data, b->data, a->len);
}

static void rendering_free(struct rendering *r)
{
	jbuf_free(&r->str);
	jbuf_free(&r->line);
}

/* Every path the CPU has and the portable one agree byte for byte. */
static void check_paths(const unsigned char *p, size_t n)
{
	struct rendering a, b;
	size_t k;

	CHECK(jscan_force_path(JSCAN_PATH_SCALAR) == 0);
	render_all(&b, p, n);
	for (k = 1; k < sizeof(paths) / sizeof(paths[0]); k++) {
		if (jscan_force_path(paths[k]) < 0)
			continue;
		render_all(&a, p, n);
		CHECK(same_jbuf(&a.str, &b.str) && same_jbuf(&a.line, &b.line));
		CHECK(a.prefix == b.prefix && a.partial == b.partial);
		CHECK(a.cut == b.cut);
		rendering_free(&a);
	}
	CHECK(jscan_force_path(JSCAN_PATH_AUTO) == 0);
	rendering_free(&b);
}

/* One piece: counted as long as it renders, as a string and as a line. */
static void check_piece(const unsigned char *p, size_t n, uint64_t seq)
{
	const struct timespec t = {(time_t)seq, 999999999};
	struct jbuf b = {0};

	json_str(&b, (const char *)p, n);
	CHECK(!b.oom && json_str_len((const char *)p, n) == b.len);
	jbuf_free(&b);
	events_render_output(&b, seq, &t, "stdout", p, n);
	CHECK(!b.oom && events_output_len(seq, &t, "stdout", p, n) == b.len);
	jbuf_free(&b);
}

/* The input cut as reads of a pipe might cut it: piece lengths of 1 to
 * 80 bytes, drawn from a hash of the input, so that pieces end anywhere
 * in a block of sixteen or thirty-two bytes or in a UTF-8 sequence. */
static void check_pieces(const unsigned char *p, size_t n)
{
	uint32_t h = 2166136261u;
	size_t i, len;

	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	for (i = 0; i < n; i += len) {
		h = h * 1103515245u + 12345u;
		len = 1 + (h >> 16) % 80;
		if (len > n - i)
			len = n - i;
		check_piece(p + i, len, i);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t k;

	for (k = 0; k < sizeof(paths) / sizeof(paths[0]); k++) {
		if (jscan_force_path(paths[k]) < 0)
			continue;
		check_str(data, size);
		check_utf8(data, size);
		fuzz_output(data, size);
		check_pieces(data, size);
	}
	CHECK(jscan_force_path(JSCAN_PATH_AUTO) == 0);
	check_paths(data, size);
	check_base64(data, size);
	fuzz_jbuf(data, size);
	fuzz_events(data, size);
	fuzz_status(data, size);
	return 0;
}
