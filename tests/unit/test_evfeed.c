/* evfeed: numbering, deferral, exact counting, waiting lines, UTF-8. */
#include "test.h"

#include <stdlib.h>
#include <string.h>

#include "spawnfs/evfeed.h"

static const struct timespec t0 = {1700000000, 0};

struct fixture {
	struct stream *events, *outs[LOGS_NPIPES];
	struct evfeed *f;
	unsigned changed;
};

static void on_changed(void *arg)
{
	((struct fixture *)arg)->changed++;
}

/* Output logs of cap bytes, an events log of evcap; off: events off. */
static void fx_init3(struct fixture *x, size_t cap, size_t evcap, bool off)
{
	int i;

	memset(x, 0, sizeof(*x));
	x->events = stream_new(evcap);
	assert_non_null(x->events);
	stream_set_lines(x->events);
	for (i = 0; i < LOGS_NPIPES; i++) {
		x->outs[i] = stream_new(cap);
		assert_non_null(x->outs[i]);
	}
	x->f = evfeed_new(x->events, x->outs, cap / 16, off);
	assert_non_null(x->f);
}

static void fx_init2(struct fixture *x, size_t cap, size_t evcap)
{
	fx_init3(x, cap, evcap, false);
}

static void fx_init(struct fixture *x, size_t cap)
{
	fx_init2(x, cap, cap);
}

static void fx_free(struct fixture *x)
{
	int i;

	evfeed_free(x->f);
	stream_free(x->events);
	for (i = 0; i < LOGS_NPIPES; i++)
		stream_free(x->outs[i]);
}

/* Bytes arrive in an output log as a pipe read would put them. */
static void out_write(struct fixture *x, unsigned log, const void *p, size_t n)
{
	struct iovec iov[2];
	size_t k;
	int cnt;

	k = evfeed_before_read(x->f, log, n, n, &t0);
	assert_int_equal(k, n);
	cnt = stream_reserve(x->outs[log], n, iov);
	assert_true(cnt > 0);
	memcpy(iov[0].iov_base, p, iov[0].iov_len < n ? iov[0].iov_len : n);
	if (cnt == 2 && iov[0].iov_len < n)
		memcpy(iov[1].iov_base, (const char *)p + iov[0].iov_len,
		       n - iov[0].iov_len);
	stream_commit(x->outs[log], n, &t0);
	evfeed_output(x->f, log, &t0, false);
}

/* The whole events log read through a new reader, NUL-terminated. */
static char *events_text(struct fixture *x)
{
	struct stream_reader *r = stream_reader_new(x->events, NULL, NULL, 0);
	size_t cap = stream_head(x->events) + 1, len = 0, n;
	char *text = malloc(cap);
	struct iovec iov[2];
	int cnt, i;

	assert_non_null(r);
	assert_non_null(text);
	while (stream_read(r, len, cap - 1 - len, 0, iov, &cnt, &n) == 0 &&
	       n > 0) {
		for (i = 0; i < cnt; i++) {
			memcpy(text + len, iov[i].iov_base, iov[i].iov_len);
			len += iov[i].iov_len;
		}
	}
	text[len] = '\0';
	stream_reader_free(r);
	return text;
}

static void test_order_and_end(void **state)
{
	struct fixture x;
	char *text, *argv[] = {"sh", "-c", "x", NULL};

	struct stream_reader *r;

	(void)state;
	fx_init(&x, 64 * 1024);
	/* A reader of events is woken by the log itself as lines land. */
	r = stream_reader_new(x.events, on_changed, &x, 0);
	assert_non_null(r);
	evfeed_start(x.f, &t0, 42, argv, 0);
	out_write(&x, 0, "hello\n", 6);
	out_write(&x, 1, "oops\n", 5);
	evfeed_signal(x.f, &t0, 15, "TERM");
	evfeed_end(x.f, &t0, -1, "TERM", 143, NULL);
	assert_true(stream_finished(x.events));
	text = events_text(&x);
	assert_non_null(strstr(text, "{\"seq\":1,"));
	assert_non_null(strstr(text, "\"type\":\"start\",\"pid\":42"));
	assert_non_null(strstr(text, "{\"seq\":2,"));
	assert_non_null(strstr(text, "\"data\":\"hello\\n\""));
	assert_non_null(strstr(text, "{\"seq\":3,"));
	assert_non_null(strstr(text, "\"type\":\"stderr\""));
	assert_non_null(strstr(text, "\"data\":\"oops\\n\""));
	assert_true(strstr(text, "\"type\":\"signal\"") <
		    strstr(text, "\"type\":\"end\""));
	assert_non_null(strstr(text, "{\"seq\":5,"));
	assert_true(x.changed >= 5);
	stream_reader_free(r);
	free(text);
	fx_free(&x);
}

/* Without a reader, output events wait unrendered (the events log does
 * not grow), and sync renders exactly what rendering at once would. */
static void test_deferred_then_synced(void **state)
{
	struct fixture a, b;
	struct stream_reader *r;
	char *ta, *tb;

	(void)state;
	fx_init(&a, 64 * 1024);
	fx_init(&b, 64 * 1024);
	r = stream_reader_new(b.events, NULL, NULL, 0); /* b renders at once */
	out_write(&a, 0, "one\n", 4);
	out_write(&b, 0, "one\n", 4);
	out_write(&a, 1, "two\n", 4);
	out_write(&b, 1, "two\n", 4);
	assert_int_equal(stream_head(a.events), 0);
	assert_true(stream_head(b.events) > 0);
	evfeed_sync(a.f);
	assert_int_equal(stream_head(a.events), stream_head(b.events));
	stream_reader_free(r);
	ta = events_text(&a);
	tb = events_text(&b);
	assert_string_equal(ta, tb);
	free(ta);
	free(tb);
	fx_free(&a);
	fx_free(&b);
}

/* Far more output than the events log holds, nobody reading: events are
 * counted, not rendered, and the log's size is exactly what rendering
 * every one makes (the same feed with an events log large enough to keep
 * them all renders them). Bytes of every kind: NULs, newlines, UTF-8,
 * ANSI and invalid bytes. */
static void test_counted_size_is_exact(void **state)
{
	static const unsigned char mix[] = "a\0\n\xd0\x96\xe4\xb8\xad\xf0\x9f"
					   "\x98\x80\x1b[31m\xff\xfe\"\\ z";
	struct fixture a, b;
	unsigned char buf[1000];
	uint64_t size, head;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = mix[i % (sizeof(mix) - 1)];
	fx_init2(&a, 16 * 1024, 16 * 1024);
	fx_init2(&b, 16 * 1024, 4 * 1024 * 1024);
	for (i = 0; i < 200; i++) {
		out_write(&a, i % 2, buf, sizeof(buf) - i % 7);
		out_write(&b, i % 2, buf, sizeof(buf) - i % 7);
		/* The size is known without rendering, and exact. */
		if (i % 37 == 0) {
			assert_int_equal(evfeed_size(a.f), evfeed_size(b.f));
		}
	}
	size = evfeed_size(a.f);
	head = stream_head(a.events);
	evfeed_sync(a.f);
	evfeed_sync(b.f);
	assert_true(head < size); /* events were waiting */
	assert_int_equal(stream_head(a.events), size);
	assert_int_equal(evfeed_size(a.f), size);
	assert_int_equal(stream_head(a.events), stream_head(b.events));
	assert_true(stream_head(a.events) > 16 * 1024 * 4);
	/* a kept only its newest lines; b holds every one. */
	assert_true(stream_tail(a.events) > 0);
	assert_int_equal(stream_tail(b.events), 0);
	fx_free(&a);
	fx_free(&b);
}

/* Events off: output and the other events leave the events log empty,
 * and reads into the output logs are never limited. */
static void test_off(void **state)
{
	struct fixture x;
	struct timespec t = t0;
	char buf[4096];
	char *argv[] = {"sh", NULL};

	(void)state;
	memset(buf, 'x', sizeof(buf));
	fx_init3(&x, 16 * 1024, 16 * 1024, true);
	evfeed_start(x.f, &t, 42, argv, 0);
	for (int i = 0; i < 64; i++)
		out_write(&x, (unsigned)i % 2, buf, sizeof(buf));
	assert_false(evfeed_at_stake(x.f, 0, 64 * 1024));
	evfeed_end(x.f, &t, 0, NULL, 0, NULL);
	assert_int_equal(evfeed_size(x.f), 0);
	assert_int_equal(stream_head(x.events), 0);
	fx_free(&x);
}

/* A reader that holds a full events log: lines wait, in order, until it
 * reads; then they move in and nothing was overwritten. */
static void test_waiting_lines(void **state)
{
	struct fixture x;
	struct stream_reader *r;
	struct iovec iov[2];
	size_t n, off = 0;
	int cnt, i;
	char line[200];

	(void)state;
	fx_init(&x, 4096);
	r = stream_reader_new(x.events, NULL, NULL, 0);
	memset(line, 'x', sizeof(line));
	for (i = 0; i < 100 && !evfeed_waiting(x.f); i++)
		evfeed_error(x.f, &t0, "an error line that takes some room");
	assert_true(evfeed_waiting(x.f) > 0);
	assert_int_equal(stream_read(r, 0, 1, 0, iov, &cnt, &n), 0);
	/* The reader reads everything; the waiting lines then fit. */
	while (stream_read(r, off, 65536, 0, iov, &cnt, &n) == 0 && n > 0)
		off += n;
	evfeed_flush(x.f, &t0);
	assert_true(evfeed_waiting(x.f) < 4096);
	evfeed_end(x.f, &t0, 0, NULL, 0, NULL);
	while (!stream_finished(x.events)) {
		while (stream_read(r, off, 65536, 0, iov, &cnt, &n) == 0 &&
		       n > 0)
			off += n;
		evfeed_flush(x.f, &t0);
	}
	assert_int_equal(evfeed_waiting(x.f), 0);
	assert_int_equal(evfeed_lost(x.f), 0);
	stream_reader_free(r);
	fx_free(&x);
}

/* A UTF-8 character split across two reads stays in one event. */
static void test_utf8_carried(void **state)
{
	struct fixture x;
	struct stream_reader *r;
	char *text;

	(void)state;
	fx_init(&x, 64 * 1024);
	r = stream_reader_new(x.events, NULL, NULL, 0);
	out_write(&x, 0, "\xe4\xb8", 2);
	assert_int_equal(stream_head(x.events), 0);
	out_write(&x, 0, "\xad!", 2);
	stream_reader_free(r);
	text = events_text(&x);
	assert_non_null(strstr(text, "\"data\":\"\xe4\xb8\xad!\""));
	assert_null(strstr(text, "base64"));
	free(text);
	fx_free(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_end),
		cmocka_unit_test(test_deferred_then_synced),
		cmocka_unit_test(test_counted_size_is_exact),
		cmocka_unit_test(test_waiting_lines),
		cmocka_unit_test(test_utf8_carried),
		cmocka_unit_test(test_off),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
