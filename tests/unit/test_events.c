/*
 * test_events: JSON rendering. Hostile strings through json_str, UTF-8
 * prefixes, RFC 4648 base64 vectors, times, the byte buffer's overflow
 * handling, status objects and every event type (start, output, signal,
 * eof, end, error) compared byte for byte, and events_output_max against
 * random buffers.
 */
#include "test.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spawnfs/events.h"

/* The buffer holds exactly want (and is NUL-terminated after it). */
static void expect_buf(size_t row, const struct jbuf *b, const char *want)
{
	if (b->oom)
		fail_msg("row %zu: oom", row);
	if (b->len != strlen(want) || memcmp(b->data, want, b->len) != 0)
		fail_msg("row %zu:\n got  %.*s\n want %s", row, (int)b->len,
			 b->data ? b->data : "", want);
	if (b->data[b->len] != '\0')
		fail_msg("row %zu: not NUL-terminated", row);
}

/* ---- json_str ---- */

struct str_case {
	const char *in;
	size_t len;
	const char *out;
};

#define S(in, out)               \
	{                        \
		in, LEN(in), out \
	}

static const struct str_case str_cases[] = {
	S("", "\"\""),
	S("hello world", "\"hello world\""),
	S("a\"b", "\"a\\\"b\""),
	S("back\\slash\\", "\"back\\\\slash\\\\\""),
	S("\"\\\"", "\"\\\"\\\\\\\"\""),
	S("\n\t\r\b\f", "\"\\n\\t\\r\\b\\f\""),
	S("\x01\x1f\x7f \x7e", "\"\\u0001\\u001f\\u007f ~\""),
	S("\x1b[31mred\x1b[0m", "\"\\u001b[31mred\\u001b[0m\""),
	S("a\0b", "\"a\\u0000b\""),
	S("\0\0", "\"\\u0000\\u0000\""),
	S("\x0b\x0e\x10\x1a", "\"\\u000b\\u000e\\u0010\\u001a\""),
	S("</script> / '", "\"</script> / '\""),
	/* valid UTF-8 passes through */
	S("h\xc3\xa9llo", "\"h\xc3\xa9llo\""),
	S("\xc2\x80 \xdf\xbf", "\"\xc2\x80 \xdf\xbf\""),
	S("\xe0\xa0\x80 \xe2\x82\xac", "\"\xe0\xa0\x80 \xe2\x82\xac\""),
	S("\xed\x9f\xbf \xee\x80\x80", "\"\xed\x9f\xbf \xee\x80\x80\""),
	S("\xe2\x80\xa8", "\"\xe2\x80\xa8\""),
	S("\xef\xbf\xbd\xef\xbf\xbf", "\"\xef\xbf\xbd\xef\xbf\xbf\""),
	S("\xf0\x9f\x98\x80!", "\"\xf0\x9f\x98\x80!\""),
	S("\xf0\x90\x80\x80\xf4\x8f\xbf\xbf",
	  "\"\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\""),
	/* one U+FFFD per byte that does not start a valid sequence */
	S("\x80", "\"\\ufffd\""),
	S("a\xbf"
	  "b",
	  "\"a\\ufffdb\""),
	S("\xfe\xff", "\"\\ufffd\\ufffd\""),
	S("\xc0\xaf", "\"\\ufffd\\ufffd\""),
	S("\xc1\xbf", "\"\\ufffd\\ufffd\""),
	S("\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\""),
	S("\xe0\x9f\xbf", "\"\\ufffd\\ufffd\\ufffd\""),
	S("\xf0\x80\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""),
	S("\xf0\x8f\xbf\xbf", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""),
	S("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""),
	S("\xed\xbf\xbf", "\"\\ufffd\\ufffd\\ufffd\""),
	S("\xed\xa0\xbd\xed\xb8\x80",
	  "\"\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\""),
	S("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""),
	S("\xf5\x80\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""),
	S("\xf8\x88\x80\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\""),
	/* truncated sequences, at the end and before other bytes */
	S("\xc3", "\"\\ufffd\""),
	S("a\xe2\x82", "\"a\\ufffd\\ufffd\""),
	S("\xe2\x82"
	  "a",
	  "\"\\ufffd\\ufffda\""),
	S("\xf0\x9f\x98", "\"\\ufffd\\ufffd\\ufffd\""),
	S("\xf0\x9f\x98\n", "\"\\ufffd\\ufffd\\ufffd\\n\""),
	S("\xe2\x82\xe2\x82\xac", "\"\\ufffd\\ufffd\xe2\x82\xac\""),
	/* everything at once */
	S("\"\xff\0\\\xc3\xa9\x7f",
	  "\"\\\"\\ufffd\\u0000\\\\\xc3\xa9\\u007f\""),
};

static void test_json_str(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(str_cases); i++) {
		struct jbuf b;

		jbuf_init(&b);
		json_str(&b, str_cases[i].in, str_cases[i].len);
		expect_buf(i, &b, str_cases[i].out);
		jbuf_free(&b);
	}
}

/* Every single byte value, checked against its class. */
static void test_json_str_bytes(void **state)
{
	size_t c;

	(void)state;
	for (c = 0; c < 256; c++) {
		char in = (char)c, want[16];
		struct jbuf b = {0};

		if (c == '"' || c == '\\')
			snprintf(want, sizeof(want), "\"\\%c\"", (int)c);
		else if (c >= 0x20 && c < 0x7f)
			snprintf(want, sizeof(want), "\"%c\"", (int)c);
		else if (c >= 0x80)
			snprintf(want, sizeof(want), "\"\\ufffd\"");
		else if (strchr("\n\t\r\b\f", (int)c) && c != 0)
			snprintf(want, sizeof(want), "\"\\%c\"",
				 "ntrbf"[strchr("\n\t\r\b\f", (int)c) -
					 "\n\t\r\b\f"]);
		else
			snprintf(want, sizeof(want), "\"\\u%04zx\"", c);
		json_str(&b, &in, 1);
		expect_buf(c, &b, want);
		jbuf_free(&b);
	}
}

/* Every byte value at every position of a plain string of three sixteen-
 * byte blocks: the block-wide fast paths must hand each one to the same
 * escaping as alone. */
static void test_json_str_positions(void **state)
{
	enum { N = 48 };
	size_t c, pos;

	(void)state;
	for (c = 0; c < 256; c++) {
		struct jbuf one = {0};
		char alone = (char)c, fill[N];

		json_str(&one, &alone, 1);
		memset(fill, 'a', sizeof(fill));
		for (pos = 0; pos < N; pos++) {
			char in[N], want[N + 16];
			struct jbuf b = {0};

			memset(in, 'a', sizeof(in));
			in[pos] = (char)c;
			/* the single byte's rendering without its quotes */
			snprintf(want, sizeof(want), "\"%.*s%.*s%.*s\"",
				 (int)pos, fill, (int)(one.len - 2),
				 one.data + 1, (int)(N - 1 - pos), fill);
			json_str(&b, in, sizeof(in));
			expect_buf(c * 100 + pos, &b, want);
			jbuf_free(&b);
		}
		jbuf_free(&one);
	}
}

/* events_output_len counts exactly what events_render_output writes. */
static void test_output_len(void **state)
{
	static const char *const in[] = {
		"",
		"plain text",
		"a\"quote\\back",
		"tab\tnl\n",
		"\x01\x7f",
		"caf\xc3\xa9",
		"bad \xff byte",
		"\xe2\x82",
		"a long line of plain text that is longer than sixteen bytes\n",
		"sixteen bytes!!!sixteen bytes!!!\x1b[0m"};
	struct timespec t = {1700000000, 123456789};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(in); i++) {
		struct jbuf b;

		jbuf_init(&b);
		events_render_output(&b, 12345 + i, &t, "stderr", in[i],
				     strlen(in[i]));
		assert_int_equal(events_output_len(12345 + i, &t, "stderr",
						   in[i], strlen(in[i])),
				 b.len);
		jbuf_free(&b);
		jbuf_init(&b);
		json_str(&b, in[i], strlen(in[i]));
		assert_int_equal(json_str_len(in[i], strlen(in[i])), b.len);
		jbuf_free(&b);
	}
}

/* ---- utf8_valid_prefix ---- */

struct utf8_case {
	const char *in;
	size_t len;
	size_t prefix, partial;
};

#define U(in, p, q)               \
	{                         \
		in, LEN(in), p, q \
	}

static const struct utf8_case utf8_cases[] = {
	U("", 0, 0),
	U("abc", 3, 0),
	U("a\0b", 3, 0),
	U("\xe2\x82\xac\xe2\x82\xac", 6, 0),
	U("\xf0\x9f\x98\x80", 4, 0),
	U("\xf4\x8f\xbf\xbf", 4, 0),
	/* cut short: could still complete */
	U("ab\xc3", 2, 1),
	U("ab\xe2\x82", 2, 2),
	U("\xe2", 0, 1),
	U("\xf0", 0, 1),
	U("\xf0\x9f", 0, 2),
	U("\xf0\x9f\x98", 0, 3),
	U("\xe2\x82\xac\xe2", 3, 1),
	U("\xe0\xa0", 0, 2),
	U("\xed\x9f", 0, 2),
	U("\xf4\x8f\xbf", 0, 3),
	U("\xf1\x80\x80", 0, 3),
	/* cannot complete: invalid, not partial */
	U("ab\xc3x", 2, 0),
	U("\xe0\x80", 0, 0),
	U("\xe0\x9f", 0, 0),
	U("\xed\xa0", 0, 0),
	U("\xf0\x8f", 0, 0),
	U("\xf4\x90", 0, 0),
	U("\xf5", 0, 0),
	U("\xc0", 0, 0),
	U("\xc1", 0, 0),
	U("\xff", 0, 0),
	U("a\x80", 1, 0),
	U("a\xff"
	  "b\xc3",
	  1, 0),
	U("\xc3\xa9\xed\xa0\x80", 2, 0),
	U("\xe2\x82\xe2\x82\xac", 0, 0),
};

static void test_utf8_prefix(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(utf8_cases); i++) {
		const struct utf8_case *c = &utf8_cases[i];
		const unsigned char *p = (const unsigned char *)c->in;
		size_t partial = 99;

		EXPECT_INT(i, utf8_valid_prefix(p, c->len, &partial),
			   c->prefix);
		EXPECT_INT(i, partial, c->partial);
		EXPECT_INT(i, utf8_valid_prefix(p, c->len, NULL), c->prefix);
	}
}

/* Split a valid text anywhere: the head is a prefix plus a partial. */
static void test_utf8_split(void **state)
{
	static const char text[] = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z";
	size_t cut, partial;

	(void)state;
	for (cut = 0; cut <= LEN(text); cut++) {
		size_t n = utf8_valid_prefix((const unsigned char *)text, cut,
					     &partial);

		EXPECT_INT(cut, n + partial, cut);
		EXPECT_INT(cut, partial < 4, 1);
	}
}

/* ---- base64 ---- */

static const struct {
	const char *in;
	size_t len;
	const char *out;
} b64_cases[] = {
	/* RFC 4648, section 10 */
	{"", 0, ""},
	{"f", 1, "Zg=="},
	{"fo", 2, "Zm8="},
	{"foo", 3, "Zm9v"},
	{"foob", 4, "Zm9vYg=="},
	{"fooba", 5, "Zm9vYmE="},
	{"foobar", 6, "Zm9vYmFy"},
	/* every alphabet corner */
	{"\xff", 1, "/w=="},
	{"\xfb\xff", 2, "+/8="},
	{"\0\0\0", 3, "AAAA"},
	{"\xff\xff\xff", 3, "////"},
	{"\x00\x10\x83\x10\x51\x87\x20\x92\x8b\x30\xd3\x8f\x41\x14\x93\x51"
	 "\x55\x97\x61\x96\x9b\x71\xd7\x9f\x82\x18\xa3\x92\x59\xa7\xa2\x9a"
	 "\xab\xb2\xdb\xaf\xc3\x1c\xb3\xd3\x5d\xb7\xe3\x9e\xbb\xf3\xdf\xbf",
	 48,
	 "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"},
};

static void test_base64_vectors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(b64_cases); i++) {
		struct jbuf b;

		jbuf_init(&b);
		jbuf_puts(&b, "<");
		jbuf_base64(&b, b64_cases[i].in, b64_cases[i].len);
		jbuf_puts(&b, ">");
		EXPECT_INT(i, b.len, strlen(b64_cases[i].out) + 2);
		EXPECT_INT(i, memcmp(b.data + 1, b64_cases[i].out, b.len - 2),
			   0);
		jbuf_free(&b);
	}
}

static int b64_value(char c)
{
	const char *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			"0123456789+/";
	const char *p = c ? strchr(a, c) : NULL;

	return p ? (int)(p - a) : -1;
}

/* A reference decoder for the round trip; returns the decoded length. */
static size_t b64_decode(const char *s, size_t n, unsigned char *out)
{
	size_t i, o = 0;

	assert_int_equal(n % 4, 0);
	for (i = 0; i < n; i += 4) {
		int v[4], k;

		for (k = 0; k < 4; k++) {
			v[k] = s[i + k] == '=' ? 0 : b64_value(s[i + k]);
			assert_true(v[k] >= 0);
		}
		out[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (s[i + 2] != '=')
			out[o++] = (unsigned char)(v[1] << 4 | v[2] >> 2);
		if (s[i + 3] != '=')
			out[o++] = (unsigned char)(v[2] << 6 | v[3]);
	}
	return o;
}

static uint32_t lcg(uint32_t *seed)
{
	*seed = *seed * 1664525u + 1013904223u;
	return *seed >> 8;
}

/* On every path the build and CPU have: the vectors' 12-byte steps, the
 * tail after them and every byte value decode back. */
static void test_base64_roundtrip(void **state)
{
	static const enum jscan_path paths[] = {
		JSCAN_PATH_SCALAR, JSCAN_PATH_SSE2, JSCAN_PATH_AVX2};
	unsigned char in[200], out[200];
	uint32_t seed = 42;
	size_t i, n, k, p;

	(void)state;
	for (p = 0; p < sizeof(paths) / sizeof(paths[0]); p++) {
		if (jscan_force_path(paths[p]) < 0)
			continue;
		for (i = 0; i < 2000; i++) {
			struct jbuf b = {0};

			n = i % sizeof(in);
			for (k = 0; k < n; k++)
				in[k] = (unsigned char)lcg(&seed);
			jbuf_base64(&b, in, n);
			EXPECT_INT(i, b.len, (n + 2) / 3 * 4);
			EXPECT_INT(i,
				   b64_decode(b.data ? b.data : "", b.len, out),
				   n);
			EXPECT_INT(i, memcmp(in, out, n), 0);
			jbuf_free(&b);
		}
	}
	assert_int_equal(jscan_force_path(JSCAN_PATH_AUTO), 0);
}

/* ---- json_time ---- */

static const struct {
	time_t sec;
	long nsec;
	const char *out;
} time_cases[] = {
	{0, 0, "\"1970-01-01T00:00:00.000000Z\""},
	{1795836104, 123456789, "\"2026-11-28T03:21:44.123456Z\""},
	{1795836104, 999999999, "\"2026-11-28T03:21:44.999999Z\""},
	{951825600, 1000, "\"2000-02-29T12:00:00.000001Z\""},
	{-1, 500000000, "\"1969-12-31T23:59:59.500000Z\""},
	{253402300799, 0, "\"9999-12-31T23:59:59.000000Z\""},
	{-62167219200, 0, "\"0000-01-01T00:00:00.000000Z\""},
	{253402300800, 0, "null"},
	{-62167219201, 0, "null"},
	{0, -1, "\"1970-01-01T00:00:00.000000Z\""},
	{0, 1000000000, "\"1970-01-01T00:00:00.000000Z\""},
};

static void test_json_time(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(time_cases); i++) {
		struct timespec t = {time_cases[i].sec, time_cases[i].nsec};
		struct jbuf b;

		jbuf_init(&b);
		json_time(&b, &t);
		expect_buf(i, &b, time_cases[i].out);
		jbuf_free(&b);
	}
}

/* ---- jbuf ---- */

static void test_jbuf_grow(void **state)
{
	char big[5000];
	struct jbuf b;
	size_t i;

	(void)state;
	jbuf_init(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	jbuf_printf(&b, "%s|%d", big, 42);
	assert_int_equal(b.len, sizeof(big) + 2);
	assert_string_equal(b.data + sizeof(big) - 1, "|42");
	jbuf_put(&b, "a\0b", 3);
	assert_int_equal(b.len, sizeof(big) + 5);
	assert_memory_equal(b.data + b.len - 3, "a\0b", 4);
	for (i = 0; i < 1000; i++)
		jbuf_printf(&b, "%zu,", i % 10);
	assert_int_equal(b.len, sizeof(big) + 5 + 2000);
	assert_true(b.cap > b.len);
	assert_false(b.oom);
	jbuf_put(&b, NULL, 0);
	jbuf_printf(&b, "%s", "");
	assert_int_equal(b.len, sizeof(big) + 2005);
	jbuf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
}

/* A request that cannot be met sets oom, and nothing is appended after. */
static void test_jbuf_oom(void **state)
{
	static const char small[] = "abc";
	struct jbuf b;

	(void)state;
	jbuf_init(&b);
	jbuf_puts(&b, "ok");
	jbuf_put(&b, small, SIZE_MAX);
	assert_true(b.oom);
	assert_int_equal(b.len, 2);
	jbuf_puts(&b, "more");
	jbuf_printf(&b, "%d", 1);
	json_str(&b, "x", 1);
	jbuf_base64(&b, "x", 1);
	json_time(&b, &(struct timespec){0, 0});
	assert_int_equal(b.len, 2);
	assert_string_equal(b.data, "ok");
	jbuf_free(&b);
	assert_false(b.oom);

	jbuf_init(&b);
	jbuf_put(&b, small, SIZE_MAX - 1);
	assert_true(b.oom);
	assert_null(b.data);
	jbuf_free(&b);
	jbuf_put(&b, small, (size_t)PTRDIFF_MAX);
	assert_true(b.oom);
	jbuf_free(&b);
	jbuf_base64(&b, small, SIZE_MAX / 4 * 3 + 1);
	assert_true(b.oom);
	jbuf_free(&b);
	json_str(&b, "x", 1); /* a zeroed buffer is usable after free */
	expect_buf(0, &b, "\"x\"");
	jbuf_free(&b);
}

/* ---- status ---- */

static void test_status_full(void **state)
{
	static char *const argv[] = {"sh", "-c", "make \"all\"\t\x01", NULL};
	static const struct status_log logs[] = {
		{"stdout", 1234, 1000, 2, false, 17},
		{"stderr", 5, 5, 0, true, 0},
		{"events", 18446744073709551615u, 262144, 1, false, 0},
	};
	const struct status_view v = {
		.name = "build",
		.state = "killed",
		.pid = 4242,
		.pgid = 4241,
		.argv = argv,
		.cwd = "/src/app",
		.pty = true,
		.cols = 80,
		.rows = 24,
		.stdin_mode = "pipe",
		.uid = 1000,
		.started = true,
		.ended = true,
		.start_time = {1795836104, 123456000},
		.end_time = {1795836110, 5000},
		.exit_code = -1,
		.signal = "TERM",
		.status = 143,
		.error = "exec: No such file \"x\"\n",
		.end_reason = "stop",
		.restart_policy = "on-failure",
		.restarts = 3,
		.restart_ended = "limit",
		.logs = logs,
		.nlogs = ARRAY_SIZE(logs),
	};
	struct jbuf b;

	(void)state;
	jbuf_init(&b);
	events_render_status(&b, &v);
	expect_buf(
		0, &b,
		"{\"name\":\"build\",\"state\":\"killed\",\"pid\":4242,"
		"\"pgid\":4241,\"argv\":[\"sh\",\"-c\","
		"\"make \\\"all\\\"\\t\\u0001\"],\"cwd\":\"/src/app\","
		"\"pty\":{\"cols\":80,\"rows\":24},\"stdin\":\"pipe\","
		"\"uid\":1000,\"start_time\":\"2026-11-28T03:21:44.123456Z\","
		"\"end_time\":\"2026-11-28T03:21:50.000005Z\","
		"\"exit_code\":null,\"signal\":\"TERM\",\"status\":143,"
		"\"end_reason\":\"stop\",\"restart\":{\"policy\":"
		"\"on-failure\",\"count\":3,\"ended\":\"limit\"},"
		"\"error\":\"exec: No such file \\\"x\\\"\\n\","
		"\"processes\":0,\"cpu\":null,\"memory\":null,\"pids\":null,\"logs\":{"
		"\"stdout\":{\"bytes\":1234,\"retained\":1000,\"readers\":2,"
		"\"paused\":false,\"dropped\":17},"
		"\"stderr\":{\"bytes\":5,\"retained\":5,\"readers\":0,"
		"\"paused\":true,\"dropped\":0},"
		"\"events\":{\"bytes\":18446744073709551615,"
		"\"retained\":262144,\"readers\":1,\"paused\":false,"
		"\"dropped\":0}}}\n");
	jbuf_free(&b);
}

static void test_status_new(void **state)
{
	static const struct status_log logs[] = {
		{"stdout", 0, 0, 0, false, 0},
		{"stderr", 0, 0, 0, false, 0},
		{"events", 0, 0, 0, false, 0},
	};
	const struct status_view v = {
		.name = "7",
		.state = "new",
		.stdin_mode = "null",
		.start_time = {5, 0}, /* ignored: not started */
		.exit_code = -1,
		.status = -1,
		.cols = 80, /* ignored: no pty */
		.logs = logs,
		.nlogs = ARRAY_SIZE(logs),
	};
	struct jbuf b;

	(void)state;
	jbuf_init(&b);
	events_render_status(&b, &v);
	expect_buf(
		0, &b,
		"{\"name\":\"7\",\"state\":\"new\",\"pid\":null,"
		"\"pgid\":null,\"argv\":null,\"cwd\":null,\"pty\":null,"
		"\"stdin\":\"null\",\"uid\":0,\"start_time\":null,"
		"\"end_time\":null,\"exit_code\":null,\"signal\":null,"
		"\"status\":null,\"end_reason\":null,\"restart\":{"
		"\"policy\":\"no\",\"count\":0,\"ended\":null},\"error\":null,"
		"\"processes\":0,\"cpu\":null,\"memory\":null,\"pids\":null,\"logs\":{"
		"\"stdout\":{\"bytes\":0,\"retained\":0,\"readers\":0,"
		"\"paused\":false,\"dropped\":0},"
		"\"stderr\":{\"bytes\":0,\"retained\":0,\"readers\":0,"
		"\"paused\":false,\"dropped\":0},"
		"\"events\":{\"bytes\":0,\"retained\":0,\"readers\":0,"
		"\"paused\":false,\"dropped\":0}}}\n");
	jbuf_free(&b);
}

/* A clean exit: zeros are numbers, not null; no logs is an empty object. */
static void test_status_exited(void **state)
{
	static char *const argv[] = {NULL};
	const struct status_view v = {
		.name = "a.b-c_d",
		.state = "exited",
		.pid = 1,
		.pgid = 1,
		.argv = argv,
		.stdin_mode = "pipe",
		.uid = 4294967294u,
		.started = true,
		.ended = true,
		.start_time = {0, 0},
		.end_time = {1, 999},
		.exit_code = 0,
		.status = 0,
		.error = "bad \xff line",
	};
	struct jbuf b;

	(void)state;
	jbuf_init(&b);
	events_render_status(&b, &v);
	expect_buf(
		0, &b,
		"{\"name\":\"a.b-c_d\",\"state\":\"exited\",\"pid\":1,"
		"\"pgid\":1,\"argv\":[],\"cwd\":null,\"pty\":null,"
		"\"stdin\":\"pipe\",\"uid\":4294967294,"
		"\"start_time\":\"1970-01-01T00:00:00.000000Z\","
		"\"end_time\":\"1970-01-01T00:00:01.000000Z\","
		"\"exit_code\":0,\"signal\":null,\"status\":0,\"end_reason\":null,"
		"\"restart\":{\"policy\":\"no\",\"count\":0,\"ended\":null},"
		"\"error\":\"bad \\ufffd line\","
		"\"processes\":0,\"cpu\":null,\"memory\":null,\"pids\":null,\"logs\":{}}\n");
	jbuf_free(&b);
}

/* ---- output events ---- */

static const struct {
	uint64_t seq;
	const char *type;
	const char *data;
	size_t len;
	const char *out;
} output_cases[] = {
	{2, "stdout", "cc -O2 -c a.c\n", 14,
	 "{\"seq\":2,\"time\":\"2026-11-28T03:21:44.123456Z\","
	 "\"type\":\"stdout\",\"data\":\"cc -O2 -c a.c\\n\"}\n"},
	{3, "stderr", "\xff", 1,
	 "{\"seq\":3,\"time\":\"2026-11-28T03:21:44.123456Z\","
	 "\"type\":\"stderr\",\"data_base64\":\"/w==\"}\n"},
	{0, "stdout", "", 0,
	 "{\"seq\":0,\"time\":\"2026-11-28T03:21:44.123456Z\","
	 "\"type\":\"stdout\",\"data\":\"\"}\n"},
	{18446744073709551615u, "stdout", "\x1b[1m\"q\"\0\xc3\xa9", 10,
	 "{\"seq\":18446744073709551615,"
	 "\"time\":\"2026-11-28T03:21:44.123456Z\",\"type\":\"stdout\","
	 "\"data\":\"\\u001b[1m\\\"q\\\"\\u0000\xc3\xa9\"}\n"},
	{7, "stdout", "ok\xe2\x82", 4, /* cut UTF-8 is not valid UTF-8 */
	 "{\"seq\":7,\"time\":\"2026-11-28T03:21:44.123456Z\","
	 "\"type\":\"stdout\",\"data_base64\":\"b2vigg==\"}\n"},
	{8, "stderr", "\xed\xa0\x80", 3,
	 "{\"seq\":8,\"time\":\"2026-11-28T03:21:44.123456Z\","
	 "\"type\":\"stderr\",\"data_base64\":\"7aCA\"}\n"},
	{9, "stdout", "\xf0\x9f\x98\x80", 4,
	 "{\"seq\":9,\"time\":\"2026-11-28T03:21:44.123456Z\","
	 "\"type\":\"stdout\",\"data\":\"\xf0\x9f\x98\x80\"}\n"},
};

static void test_output_events(void **state)
{
	const struct timespec t = {1795836104, 123456789};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(output_cases); i++) {
		struct jbuf b;

		jbuf_init(&b);
		events_render_output(&b, output_cases[i].seq, &t,
				     output_cases[i].type, output_cases[i].data,
				     output_cases[i].len);
		expect_buf(i, &b, output_cases[i].out);
		EXPECT_INT(i, b.len <= events_output_max(output_cases[i].len),
			   1);
		jbuf_free(&b);
	}
}

/* Fill p[0..n) in one of several styles chosen by the row number. */
static void fill_random(unsigned char *p, size_t n, size_t style,
			uint32_t *seed)
{
	static const unsigned char utf8[] =
		"a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
	size_t k;

	for (k = 0; k < n; k++) {
		uint32_t r = lcg(seed);

		switch (style) {
		case 0: /* any byte */
			p[k] = (unsigned char)r;
			break;
		case 1: /* control characters only: the 6x worst case */
			p[k] = (unsigned char)(r % 0x20);
			break;
		case 2: /* invalid bytes only */
			p[k] = (unsigned char)(0x80 | r);
			break;
		case 3: /* valid UTF-8 pieces, sometimes cut */
			p[k] = utf8[r % LEN(utf8)];
			break;
		default: /* escapes that have a short form */
			p[k] = (unsigned char)"\"\\\n\t"[r % 4];
		}
	}
}

static void test_output_max(void **state)
{
	/* the longest type allowed, all of it escaped */
	static const char ctrl[] = "\x01\x01\x01\x01\x01\x01\x01\x01"
				   "\x01\x01\x01\x01\x01\x01\x01\x01";
	static const char *const types[] = {"stdout", "stderr", ctrl};
	const struct timespec t = {253402300799, 999999999};
	unsigned char buf[600];
	uint32_t seed = 2026;
	size_t i, n;

	(void)state;
	assert_int_equal(strlen(types[2]), EVENTS_TYPE_MAX);
	for (i = 0; i < 10000; i++) {
		struct jbuf b;

		n = lcg(&seed) % (i < 100 ? 4 : sizeof(buf));
		fill_random(buf, n, i % 5, &seed);
		jbuf_init(&b);
		events_render_output(&b, UINT64_MAX - i, &t, types[i % 3], buf,
				     n);
		EXPECT_INT(i, b.oom, 0);
		EXPECT_INT(i, b.data[b.len - 1], '\n');
		if (b.len > events_output_max(n))
			fail_msg("row %zu: %zu bytes > max %zu for n %zu", i,
				 b.len, events_output_max(n), n);
		jbuf_free(&b);
	}
}

static void test_output_max_shape(void **state)
{
	size_t n;

	(void)state;
	for (n = 0; n < 1000; n++)
		assert_true(events_output_max(n + 1) > events_output_max(n));
	assert_true(events_output_max(1000) >= 6000);
	assert_int_equal(events_output_max(SIZE_MAX), SIZE_MAX);
	assert_int_equal(events_output_max(SIZE_MAX / 6), SIZE_MAX);
}

static void test_utf8_cut_tail(void **state)
{
	static const struct {
		const char *s;
		size_t want;
	} cases[] = {
		{"abc", 0},
		{"ab\xe2", 1},
		{"ab\xe2\x82", 2},
		{"ab\xe2\x82\xac", 0},
		{"\xf0\x9f\x98", 3},
		{"\xf0\x9f\x98\x80", 0},
		{"a\x82", 0},	 /* a stray continuation cannot complete */
		{"a\xff", 0},	 /* nor an invalid lead */
		{"\xed\xa0", 0}, /* a surrogate never becomes valid */
		{"", 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(
			utf8_cut_tail((const unsigned char *)cases[i].s,
				      strlen(cases[i].s)),
			cases[i].want);
}

/* ---- the vector paths against the portable one ---- */

static const char *const path_names[] = {
	[JSCAN_PATH_AUTO] = "auto",
	[JSCAN_PATH_AVX2] = "avx2",
	[JSCAN_PATH_SSE2] = "sse2",
	[JSCAN_PATH_SCALAR] = "scalar",
};

/* The paths compared with the portable one, where there are. */
static const enum jscan_path vector_paths[] = {JSCAN_PATH_AVX2,
					       JSCAN_PATH_SSE2};

/* Everything the module says about one input, on the path in force. */
struct verdict {
	struct jbuf str, line, b64;
	size_t str_len, line_len, prefix, partial, cut;
};

static void verdict_get(struct verdict *v, const unsigned char *p, size_t n)
{
	const struct timespec t = {1795836104, 123456789};

	jbuf_init(&v->str);
	jbuf_init(&v->line);
	jbuf_init(&v->b64);
	jbuf_base64(&v->b64, p, n);
	json_str(&v->str, (const char *)p, n);
	v->str_len = json_str_len((const char *)p, n);
	events_render_output(&v->line, 42, &t, "stdout", p, n);
	v->line_len = events_output_len(42, &t, "stdout", p, n);
	v->prefix = utf8_valid_prefix(p, n, &v->partial);
	v->cut = utf8_cut_tail(p, n);
}

static void verdict_free(struct verdict *v)
{
	jbuf_free(&v->str);
	jbuf_free(&v->line);
	jbuf_free(&v->b64);
}

static void same_buf(size_t row, const char *path, const char *what,
		     const struct jbuf *a, const struct jbuf *b)
{
	if (a->oom || b->oom)
		fail_msg("row %zu: %s: %s: oom", row, path, what);
	if (a->len != b->len || memcmp(a->data, b->data, a->len))
		fail_msg("row %zu: %s differs:\n %-6s %.*s\n scalar %.*s", row,
			 what, path, (int)a->len, a->data, (int)b->len,
			 b->data);
}

/* Path a (named path) and the portable b agree, and a counts exactly
 * what it renders. */
static void same_verdict(size_t row, const char *path, const struct verdict *a,
			 const struct verdict *b)
{
	same_buf(row, path, "json_str", &a->str, &b->str);
	if (a->b64.len || b->b64.len)
		same_buf(row, path, "base64", &a->b64, &b->b64);
	same_buf(row, path, "events_render_output", &a->line, &b->line);
	EXPECT_INT(row, a->str_len, b->str_len);
	EXPECT_INT(row, a->str_len, a->str.len);
	EXPECT_INT(row, a->line_len, b->line_len);
	EXPECT_INT(row, a->line_len, a->line.len);
	EXPECT_INT(row, a->prefix, b->prefix);
	EXPECT_INT(row, a->partial, b->partial);
	EXPECT_INT(row, a->cut, b->cut);
}

/* Every path this build and CPU have gives the same bytes and figures
 * for p[0..n) as the portable one, and each counts exactly what it
 * renders. Returns the prefix they found. */
static size_t expect_same_paths(size_t row, const unsigned char *p, size_t n)
{
	struct verdict ref, v;
	size_t k, prefix;

	assert_int_equal(jscan_force_path(JSCAN_PATH_SCALAR), 0);
	verdict_get(&ref, p, n);
	EXPECT_INT(row, ref.str_len, ref.str.len);
	EXPECT_INT(row, ref.line_len, ref.line.len);
	for (k = 0; k < ARRAY_SIZE(vector_paths); k++) {
		if (jscan_force_path(vector_paths[k]) < 0)
			continue;
		verdict_get(&v, p, n);
		same_verdict(row, path_names[vector_paths[k]], &v, &ref);
		verdict_free(&v);
	}
	assert_int_equal(jscan_force_path(JSCAN_PATH_AUTO), 0);
	prefix = ref.prefix;
	verdict_free(&ref);
	return prefix;
}

/* The switch: each path is there exactly when the build and the CPU have
 * it (so that the comparisons above skip none that could run), and a
 * value that names no path is refused. */
static void test_paths_switch(void **state)
{
	bool sse2 = false, avx2 = false;
	size_t k;

	(void)state;
#ifdef __SSE2__
	sse2 = true;
#ifdef __GNUC__
	avx2 = __builtin_cpu_supports("avx2");
#endif
#endif
	assert_int_equal(jscan_force_path(JSCAN_PATH_SCALAR), 0);
	assert_int_equal(jscan_force_path(JSCAN_PATH_SSE2),
			 sse2 ? 0 : -ENOTSUP);
	assert_int_equal(jscan_force_path(JSCAN_PATH_AVX2),
			 avx2 ? 0 : -ENOTSUP);
	assert_int_equal(
		jscan_force_path((enum jscan_path)(JSCAN_PATH_SCALAR + 1)),
		-EINVAL);
	assert_int_equal(jscan_force_path(JSCAN_PATH_AUTO), 0);
	print_message("paths compared with scalar:");
	for (k = 0; k < ARRAY_SIZE(vector_paths); k++)
		if ((vector_paths[k] == JSCAN_PATH_AVX2 && avx2) ||
		    (vector_paths[k] == JSCAN_PATH_SSE2 && sse2))
			print_message(" %s", path_names[vector_paths[k]]);
	print_message("\n");
}

/* Fill p[0..n) with copies of unit, cut wherever n ends. */
static void fill_repeat(unsigned char *p, size_t n, const char *unit)
{
	size_t len = strlen(unit), k;

	for (k = 0; k < n; k++)
		p[k] = (unsigned char)unit[k % len];
}

/* Whole buffers of one kind of text, at lengths around block sizes and
 * long enough to fill every counter. */
static void test_paths_text(void **state)
{
	static const char *const units[] = {
		"\0",
		"\n",
		"\xd0\xa1\xd1\x8a\xd0\xb5\xd1\x88\xd1\x8c \xd0\xb6\xd0\xb5 ",
		"\xe6\x88\x91\xe8\x83\xbd\xe5\x90\x9e\xe4\xb8\x8b\xe7\x8e\xbb",
		"\xf0\x9f\x98\x80\xf0\x9f\x9a\x80 ok \xe2\x9c\x85",
		"\x1b[32mINFO\x1b[0m \x1b[1mworker\x1b[0m \"q\" \\ \r\n",
		"GET /api/v1/items?page=2 200 1.42ms\t\x7f\x01\x1f\n",
		"\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xf4\x8f\xbf\xbf\xf0\x90\x80"
		"\x80\xdf\xbf\xc2\x80",
	};
	static unsigned char buf[70000];
	/* past where per-lane counts must be summed up: 4080 bytes (255
	 * blocks of 16) and 8160 (255 blocks of 32) */
	static const size_t sizes[] = {0,    1,	   15,	 16,   17,   31,   32,
				       33,   47,   48,	 63,   64,   65,   95,
				       96,   97,   100,	 255,  256,  1100, 4097,
				       8159, 8160, 8161, 8192, 70000};
	size_t u, k;

	(void)state;
	for (u = 0; u < ARRAY_SIZE(units); u++) {
		for (k = 0; k < ARRAY_SIZE(sizes); k++) {
			/* "\0" has strlen 0: a buffer of NUL bytes */
			if (u == 0)
				memset(buf, 0, sizes[k]);
			else
				fill_repeat(buf, sizes[k], units[u]);
			expect_same_paths(u * 100 + k, buf, sizes[k]);
		}
	}
}

/* Sequences, valid and not, at every offset across the boundaries of
 * blocks of 16 and of 32 bytes in an ASCII text, and cut off by the end of
 * the input. */
static void test_paths_boundaries(void **state)
{
	static const struct {
		const char *s;
		int bad; /* where the valid prefix ends; -1: valid */
	} probes[] = {
		{"\xc3\xa9", -1},
		{"\xdf\xbf", -1},
		{"\xe2\x82\xac", -1},
		{"\xe0\xa0\x80", -1},
		{"\xed\x9f\xbf", -1},
		{"\xef\xbf\xbf", -1},
		{"\xf0\x90\x80\x80", -1},
		{"\xf0\x9f\x98\x80", -1},
		{"\xf4\x8f\xbf\xbf", -1},
		{"\x80", 0}, /* stray continuations */
		{"\xbf", 0},
		{"\xc3\xa9\xa9", 2},
		{"\xc0\xaf", 0}, /* overlong */
		{"\xc1\xbf", 0},
		{"\xe0\x80\xaf", 0},
		{"\xe0\x9f\xbf", 0},
		{"\xf0\x80\x80\xaf", 0},
		{"\xf0\x8f\xbf\xbf", 0},
		{"\xed\xa0\x80", 0}, /* surrogates */
		{"\xed\xbf\xbf", 0},
		{"\xf4\x90\x80\x80", 0}, /* above U+10FFFF */
		{"\xf5\x80\x80\x80", 0},
		{"\xff", 0},
		{"\xe2\x82", 0}, /* cut short */
		{"\xf0\x9f\x98", 0},
		{"\xc3", 0},
		{"\xe2\xe2\x82\xac", 0},
		{"\xe2\x82\xe2\x82\xac", 0},
	};
	unsigned char buf[112];
	size_t i, pos, len, n, prefix, row;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(probes); i++) {
		len = strlen(probes[i].s);
		for (pos = 0; pos + len <= 100; pos++) {
			row = i * 1000 + pos;
			memset(buf, 'x', sizeof(buf));
			memcpy(buf + pos, probes[i].s, len);
			/* inside the text, then at its very end */
			prefix = expect_same_paths(row, buf, sizeof(buf));
			EXPECT_INT(row, prefix,
				   probes[i].bad < 0
					   ? sizeof(buf)
					   : pos + (size_t)probes[i].bad);
			n = pos + len;
			prefix = expect_same_paths(row, buf, n);
			EXPECT_INT(row, prefix == n, probes[i].bad < 0);
		}
	}
}

/* Random bytes in the styles of fill_random, and valid text with one
 * random byte changed. */
static void test_paths_random(void **state)
{
	static unsigned char buf[700];
	uint32_t seed = 77;
	size_t i, n;

	(void)state;
	for (i = 0; i < 3000; i++) {
		n = lcg(&seed) % (i < 500 ? 40 : sizeof(buf));
		fill_random(buf, n, i % 5, &seed);
		if (i % 10 == 3 && n > 0)
			buf[lcg(&seed) % n] = (unsigned char)lcg(&seed);
		expect_same_paths(i, buf, n);
	}
}

/* A test again with another path forced, then the fastest again. */
static int scalar_on(void **state)
{
	(void)state;
	return jscan_force_path(JSCAN_PATH_SCALAR);
}

#ifdef __SSE2__
static int sse2_on(void **state)
{
	(void)state;
	return jscan_force_path(JSCAN_PATH_SSE2);
}
#endif

static int path_auto(void **state)
{
	(void)state;
	return jscan_force_path(JSCAN_PATH_AUTO);
}

/* ---- the other events ---- */

#define T0 "\"time\":\"2026-11-28T03:21:44.123456Z\""

static void test_start_events(void **state)
{
	static char *const make[] = {"sh", "-c", "make", NULL};
	static char *const hostile[] = {
		"a b", "q\"\\", "\n\x01", "\xff", "\xf0\x9f\x98\x80", "", NULL};
	static char *const empty[] = {NULL};
	static const struct {
		uint64_t seq;
		pid_t pid;
		char *const *argv;
		const char *out;
	} cases[] = {
		{1, 4242, make,
		 "{\"seq\":1," T0 ",\"type\":\"start\",\"pid\":4242,"
		 "\"argv\":[\"sh\",\"-c\",\"make\"]}\n"},
		{18446744073709551615u, 2147483647, hostile,
		 "{\"seq\":18446744073709551615," T0
		 ",\"type\":\"start\",\"pid\":2147483647,\"argv\":[\"a b\","
		 "\"q\\\"\\\\\",\"\\n\\u0001\",\"\\ufffd\","
		 "\"\xf0\x9f\x98\x80\",\"\"]}\n"},
		{0, 1, empty,
		 "{\"seq\":0," T0 ",\"type\":\"start\",\"pid\":1,"
		 "\"argv\":[]}\n"},
		{3, 7, NULL,
		 "{\"seq\":3," T0 ",\"type\":\"start\",\"pid\":7,"
		 "\"argv\":[]}\n"},
	};
	const struct timespec t = {1795836104, 123456789};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct jbuf b;

		jbuf_init(&b);
		events_render_start(&b, cases[i].seq, &t, cases[i].pid,
				    cases[i].argv, 0);
		expect_buf(i, &b, cases[i].out);
		jbuf_free(&b);
	}
}

/* The lines output keep, restart policies and end reasons add. */
static void test_keep_restart_events(void **state)
{
	const struct timespec t = {1700000000, 500000000};
	char *argv[] = {"sh", NULL};
	struct jbuf b;

	(void)state;
	jbuf_init(&b);
	events_render_skip(&b, 9, &t, "stderr", 65536, 1048576);
	jbuf_put(&b, "", 1);
	assert_non_null(strstr(b.data, "\"type\":\"skip\",\"stream\":"
				       "\"stderr\",\"from\":65536,\"to\":"
				       "1048576}\n"));
	jbuf_free(&b);
	jbuf_init(&b);
	events_render_start(&b, 1, &t, 7, argv, 2);
	jbuf_put(&b, "", 1);
	assert_non_null(strstr(b.data, "\"argv\":[\"sh\"],\"restart\":2}\n"));
	jbuf_free(&b);
	jbuf_init(&b);
	events_render_end(&b, 1, &t, -1, "TERM", 143, "stop");
	jbuf_put(&b, "", 1);
	assert_non_null(
		strstr(b.data, "\"status\":143,\"reason\":\"stop\"}\n"));
	jbuf_free(&b);
}

static void test_signal_events(void **state)
{
	static const struct {
		uint64_t seq;
		int sig;
		const char *name;
		const char *out;
	} cases[] = {
		{4, 15, "TERM",
		 "{\"seq\":4," T0
		 ",\"type\":\"signal\",\"signal\":\"TERM\"}\n"},
		{5, 9, "KILL",
		 "{\"seq\":5," T0
		 ",\"type\":\"signal\",\"signal\":\"KILL\"}\n"},
		{6, 42, NULL,
		 "{\"seq\":6," T0 ",\"type\":\"signal\",\"signal\":42}\n"},
		{7, 2, "a\"b",
		 "{\"seq\":7," T0
		 ",\"type\":\"signal\",\"signal\":\"a\\\"b\"}\n"},
	};
	const struct timespec t = {1795836104, 123456789};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct jbuf b;

		jbuf_init(&b);
		events_render_signal(&b, cases[i].seq, &t, cases[i].sig,
				     cases[i].name);
		expect_buf(i, &b, cases[i].out);
		jbuf_free(&b);
	}
}

static void test_eof_events(void **state)
{
	const struct timespec t = {1795836104, 123456789};
	const struct timespec late = {253402300800, 0}; /* year 10000 */
	struct jbuf b;

	(void)state;
	jbuf_init(&b);
	events_render_eof(&b, 9, &t);
	expect_buf(0, &b, "{\"seq\":9," T0 ",\"type\":\"eof\"}\n");
	jbuf_free(&b);
	events_render_eof(&b, 10, &late);
	expect_buf(1, &b, "{\"seq\":10,\"time\":null,\"type\":\"eof\"}\n");
	jbuf_free(&b);
}

static void test_end_events(void **state)
{
	static const struct {
		int exit_code;
		const char *signal;
		int status;
		const char *out;
	} cases[] = {
		{0, NULL, 0,
		 "{\"seq\":5," T0 ",\"type\":\"end\",\"exit_code\":0,"
		 "\"signal\":null,\"status\":0}\n"},
		{3, NULL, 3,
		 "{\"seq\":5," T0 ",\"type\":\"end\",\"exit_code\":3,"
		 "\"signal\":null,\"status\":3}\n"},
		{255, NULL, 255,
		 "{\"seq\":5," T0 ",\"type\":\"end\",\"exit_code\":255,"
		 "\"signal\":null,\"status\":255}\n"},
		{-1, "TERM", 143,
		 "{\"seq\":5," T0 ",\"type\":\"end\",\"exit_code\":null,"
		 "\"signal\":\"TERM\",\"status\":143}\n"},
		{-1, "KILL", 137,
		 "{\"seq\":5," T0 ",\"type\":\"end\",\"exit_code\":null,"
		 "\"signal\":\"KILL\",\"status\":137}\n"},
		{-7, NULL, 130,
		 "{\"seq\":5," T0 ",\"type\":\"end\",\"exit_code\":null,"
		 "\"signal\":null,\"status\":130}\n"},
	};
	const struct timespec t = {1795836104, 123456789};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct jbuf b;

		jbuf_init(&b);
		events_render_end(&b, 5, &t, cases[i].exit_code,
				  cases[i].signal, cases[i].status, NULL);
		expect_buf(i, &b, cases[i].out);
		jbuf_free(&b);
	}
}

static void test_error_events(void **state)
{
	static const struct {
		const char *message;
		const char *out;
	} cases[] = {
		{"exec /nonexistent: No such file or directory",
		 "{\"seq\":2," T0 ",\"type\":\"error\",\"error\":"
		 "\"exec /nonexistent: No such file or directory\"}\n"},
		{"cwd \"/a b\":\tbad\n\xc3",
		 "{\"seq\":2," T0 ",\"type\":\"error\",\"error\":"
		 "\"cwd \\\"/a b\\\":\\tbad\\n\\ufffd\"}\n"},
		{"", "{\"seq\":2," T0 ",\"type\":\"error\",\"error\":\"\"}\n"},
		{NULL,
		 "{\"seq\":2," T0 ",\"type\":\"error\",\"error\":\"\"}\n"},
	};
	const struct timespec t = {1795836104, 123456789};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct jbuf b;

		jbuf_init(&b);
		events_render_error(&b, 2, &t, cases[i].message);
		expect_buf(i, &b, cases[i].out);
		jbuf_free(&b);
	}
}

/* A full buffer: every renderer appends nothing and keeps oom. */
static void test_events_oom(void **state)
{
	static char *const argv[] = {"x", NULL};
	const struct timespec t = {0, 0};
	struct jbuf b;

	(void)state;
	jbuf_init(&b);
	jbuf_puts(&b, "ok");
	jbuf_put(&b, "x", SIZE_MAX);
	assert_true(b.oom);
	events_render_start(&b, 1, &t, 1, argv, 3);
	events_render_skip(&b, 1, &t, "stdout", 1, 2);
	events_render_signal(&b, 1, &t, 15, "TERM");
	events_render_eof(&b, 1, &t);
	events_render_end(&b, 1, &t, 0, NULL, 0, "exit");
	events_render_error(&b, 1, &t, "e");
	assert_int_equal(b.len, 2);
	assert_string_equal(b.data, "ok");
	jbuf_free(&b);
}

/* A test again with the portable or the SSE2 path forced (without, it
 * runs on the fastest, AVX2 where the CPU has it). */
#define SCALAR(f)                                             \
	{                                                     \
#f " (scalar)", f, scalar_on, path_auto, NULL \
	}
#define SSE2(f)                                           \
	{                                                 \
#f " (sse2)", f, sse2_on, path_auto, NULL \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_str),
		cmocka_unit_test(test_json_str_bytes),
		cmocka_unit_test(test_json_str_positions),
		cmocka_unit_test(test_output_len),
		cmocka_unit_test(test_utf8_prefix),
		cmocka_unit_test(test_utf8_split),
		cmocka_unit_test(test_base64_vectors),
		cmocka_unit_test(test_base64_roundtrip),
		cmocka_unit_test(test_json_time),
		cmocka_unit_test(test_jbuf_grow),
		cmocka_unit_test(test_jbuf_oom),
		cmocka_unit_test(test_status_full),
		cmocka_unit_test(test_status_new),
		cmocka_unit_test(test_status_exited),
		cmocka_unit_test(test_output_events),
		cmocka_unit_test(test_output_max),
		cmocka_unit_test(test_output_max_shape),
		cmocka_unit_test(test_utf8_cut_tail),
		cmocka_unit_test(test_start_events),
		cmocka_unit_test(test_signal_events),
		cmocka_unit_test(test_keep_restart_events),
		cmocka_unit_test(test_eof_events),
		cmocka_unit_test(test_end_events),
		cmocka_unit_test(test_error_events),
		cmocka_unit_test(test_events_oom),
		cmocka_unit_test(test_paths_switch),
		cmocka_unit_test(test_paths_text),
		cmocka_unit_test(test_paths_boundaries),
		cmocka_unit_test(test_paths_random),
		SCALAR(test_json_str),
		SCALAR(test_json_str_bytes),
		SCALAR(test_json_str_positions),
		SCALAR(test_output_len),
		SCALAR(test_utf8_prefix),
		SCALAR(test_utf8_split),
		SCALAR(test_output_events),
		SCALAR(test_output_max),
		SCALAR(test_utf8_cut_tail),
#ifdef __SSE2__
		SSE2(test_json_str),
		SSE2(test_json_str_bytes),
		SSE2(test_json_str_positions),
		SSE2(test_output_len),
		SSE2(test_utf8_prefix),
		SSE2(test_utf8_split),
		SSE2(test_output_events),
		SSE2(test_output_max),
		SSE2(test_utf8_cut_tail),
#endif
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
