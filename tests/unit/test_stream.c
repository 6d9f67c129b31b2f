/* stream: reads, the first-read shift, and the back-pressure decision. */
#include "test.h"

#include <errno.h>
#include <string.h>

#include "spawnfs/stream.h"

static const struct timespec t0 = {1, 0};

/* Write n bytes whose value is their absolute offset mod 251. */
static void fill(struct stream *s, size_t n)
{
	unsigned char buf[4096];
	uint64_t off = stream_head(s);
	size_t k, chunk;

	while (n > 0) {
		chunk = n < sizeof(buf) ? n : sizeof(buf);
		for (k = 0; k < chunk; k++)
			buf[k] = (unsigned char)((off + k) % 251);
		assert_int_equal(stream_append(s, buf, chunk, &t0), 0);
		off += chunk;
		n -= chunk;
	}
}

/* Read at off and check the bytes; returns the count or -errno. */
static long rd(struct stream_reader *r, uint64_t off, size_t size,
	       uint64_t expect_abs)
{
	struct iovec iov[2];
	size_t n, k, done = 0;
	int cnt, rc, i;

	rc = stream_read(r, off, size, 0, iov, &cnt, &n);
	if (rc < 0)
		return rc;
	for (i = 0; i < cnt; i++) {
		const unsigned char *p = iov[i].iov_base;

		for (k = 0; k < iov[i].iov_len; k++, done++)
			assert_int_equal(p[k], (expect_abs + done) % 251);
	}
	assert_int_equal(done, n);
	return (long)n;
}

static size_t budget1(struct stream *s)
{
	struct stream_feed f = {s, 1, 0};

	stream_clear_paused(s);
	return stream_pipe_budget(&f, 1);
}

static void test_read_window_and_end(void **state)
{
	struct stream *s = stream_new(100);
	struct stream_reader *r = stream_reader_new(s, NULL, NULL, 0);

	(void)state;
	fill(s, 60);
	assert_int_equal(rd(r, 0, 1000, 0), 60);
	assert_int_equal(rd(r, 10, 5, 10), 5);
	assert_int_equal(rd(r, 60, 10, 60), -EAGAIN);
	assert_false(stream_readable(r, 60));
	assert_int_equal(rd(r, 500, 10, 500), -EAGAIN); /* past the end */
	stream_finish(s);
	assert_true(stream_readable(r, 60));
	assert_int_equal(rd(r, 60, 10, 60), 0); /* end of file */
	stream_reader_free(r);
	stream_free(s);
}

static void test_below_window_is_eio_but_first_read_shifts(void **state)
{
	struct stream *s = stream_new(100);
	struct stream_reader *a, *b;

	(void)state;
	fill(s, 250); /* retains 150..250 */
	a = stream_reader_new(s, NULL, NULL, 0);
	assert_int_equal(rd(a, 0, 30, 150), 30);  /* first read at 0: shift */
	assert_int_equal(rd(a, 30, 30, 180), 30); /* offsets stay shifted */
	assert_int_equal(rd(a, 100, 30, 250), -EAGAIN);
	b = stream_reader_new(s, NULL, NULL, 0);
	assert_int_equal(rd(b, 10, 5, 10), -EIO); /* not 0: no shift */
	assert_int_equal(rd(b, 0, 5, 0), -EIO);	  /* no longer the first */
	stream_reader_free(a);
	stream_reader_free(b);
	stream_free(s);
}

/* No reader: the child runs on until cap bytes wait unread. */
static void test_budget_no_reader(void **state)
{
	struct stream *s = stream_new(100);
	struct stream_reader *r;

	(void)state;
	assert_int_equal(budget1(s), 100);
	fill(s, 70);
	assert_int_equal(budget1(s), 30);
	fill(s, 30);
	assert_int_equal(budget1(s), 0);
	assert_true(stream_paused(s));
	/* A reader that read 40 bytes and left frees 40 bytes of room. */
	r = stream_reader_new(s, NULL, NULL, 0);
	assert_int_equal(rd(r, 0, 40, 0), 40);
	stream_reader_free(r);
	assert_int_equal(budget1(s), 40);
	assert_false(stream_paused(s));
	stream_free(s);
}

/* The slowest open reader paces the pipe; fast ones do not matter. */
static void test_budget_slowest_reader(void **state)
{
	struct stream *s = stream_new(100);
	struct stream_reader *slow, *fast;

	(void)state;
	slow = stream_reader_new(s, NULL, NULL, 0);
	fast = stream_reader_new(s, NULL, NULL, 0);
	fill(s, 80);
	assert_int_equal(rd(fast, 0, 80, 0), 80);
	assert_int_equal(budget1(s), 20);
	assert_int_equal(rd(slow, 0, 10, 0), 10);
	assert_int_equal(budget1(s), 30);
	fill(s, 30); /* overwrites only 0..10, which nobody needs */
	assert_int_equal(stream_tail(s), 10);
	assert_int_equal(rd(slow, 10, 100, 10), 100);
	stream_reader_free(slow);
	/* The fast reader is the only one left, at 80 of 110. */
	assert_int_equal(budget1(s), 70);
	stream_reader_free(fast);
	stream_free(s);
}

/* A reader waiting at the end (or past it) needs nothing older. */
static void test_budget_reader_waiting_at_end(void **state)
{
	struct stream *s = stream_new(100);
	struct stream_reader *r;

	(void)state;
	fill(s, 100);
	r = stream_reader_new(s, NULL, NULL,
			      0); /* opened: needs from the tail */
	assert_int_equal(budget1(s), 0);
	assert_int_equal(rd(r, 100, 10, 100), -EAGAIN);
	assert_int_equal(budget1(s), 100);
	stream_reader_free(r);
	stream_free(s);
}

/* N readers: nothing any of them still needs is overwritten. */
static void test_budget_many_readers_never_lose(void **state)
{
	struct stream *s = stream_new(64);
	struct stream_reader *r[5];
	uint64_t pos[5] = {0};
	unsigned step, i;
	size_t b;
	long n;

	(void)state;
	for (i = 0; i < 5; i++)
		r[i] = stream_reader_new(s, NULL, NULL, 0);
	for (step = 0; step < 2000; step++) {
		b = budget1(s);
		fill(s, b > 7 ? 7 : b);
		i = (step * 7 + step / 3) % 5;
		n = rd(r[i], pos[i], (step % 3 + 1) * (i + 1), pos[i]);
		assert_true(n >= 0 || n == -EAGAIN);
		if (n > 0)
			pos[i] += (uint64_t)n;
	}
	for (i = 0; i < 5; i++) {
		assert_true(pos[i] >= stream_tail(s));
		stream_reader_free(r[i]);
	}
	stream_free(s);
}

/* A pipe feeding two logs: the held ones decide; expansion counts. */
static void test_budget_across_logs(void **state)
{
	struct stream *own = stream_new(100), *ev = stream_new(1000);
	struct stream_feed f[2] = {{own, 1, 0}, {ev, 6, 100}};
	struct stream_reader *r;

	(void)state;
	/* Nobody reads: only the pipe's own log holds it. */
	assert_int_equal(stream_pipe_budget(f, 2), 100);
	/* Events is open and unread: (1000 - 100) / 6 pipe bytes. */
	r = stream_reader_new(ev, NULL, NULL, 0);
	assert_int_equal(stream_pipe_budget(f, 2), 150);
	fill(ev, 1000);
	stream_clear_paused(own);
	stream_clear_paused(ev);
	assert_int_equal(stream_pipe_budget(f, 2), 0);
	assert_true(stream_paused(ev));
	assert_false(stream_paused(own));
	/* own is not held (no reader) so its fullness does not matter. */
	fill(own, 100);
	assert_int_equal(rd(r, 0, 1000, 0), 1000);
	assert_int_equal(stream_pipe_budget(f, 2), 150);
	stream_reader_free(r);
	assert_int_equal(stream_pipe_budget(f, 2), 0);
	stream_free(own);
	stream_free(ev);
}

/* stall_timeout: an idle reader stops holding; its next read may EIO. */
static void test_stalled_reader_stops_holding(void **state)
{
	struct stream *s = stream_new(100);
	struct stream_reader *idle = stream_reader_new(s, NULL, NULL, 0);
	struct stream_reader *busy = stream_reader_new(s, NULL, NULL, 0);
	struct iovec iov[2];
	size_t n;
	int cnt;

	(void)state;
	fill(s, 100);
	assert_int_equal(stream_read(idle, 0, 10, 0, iov, &cnt, &n), 0);
	assert_int_equal(budget1(s), 0); /* busy has read nothing */
	assert_int_equal(stream_read(busy, 0, 100, 900, iov, &cnt, &n), 0);
	assert_int_equal(stream_stall(s, 1000, 500), 1); /* idle since 0 */
	assert_true(stream_holds(s));			 /* busy still holds */
	assert_int_equal(budget1(s), 100);
	fill(s, 100); /* overwrites what idle needed */
	assert_int_equal(stream_read(idle, 10, 10, 2000, iov, &cnt, &n), -EIO);
	/* idle lost its bytes: it stays stalled and holds nothing back;
	 * busy has not read since 900 and stalls too. */
	assert_int_equal(stream_stall(s, 2100, 500), 1);
	assert_false(stream_holds(s));
	assert_int_equal(stream_read(busy, 100, 100, 2200, iov, &cnt, &n), 0);
	assert_true(stream_holds(s));
	assert_int_equal(stream_room(s), 100);
	stream_reader_free(busy);
	stream_reader_free(idle);
	stream_free(s);
}

/* A lines log evicts whole lines, unless a reader still needs them. */
static void test_lines_evict_whole_lines(void **state)
{
	struct stream *s = stream_new(16);
	struct stream_reader *r;
	struct iovec iov[2];
	size_t n;
	int cnt;

	(void)state;
	stream_set_lines(s);
	assert_int_equal(stream_append(s, "aaaaa\nbbbbb\n", 12, &t0), 0);
	assert_int_equal(stream_append(s, "ccccc\n", 6, &t0), 0); /* 18 > 16 */
	assert_int_equal(stream_tail(s), 6); /* "bbbbb\n", not "aaa..." */
	assert_int_equal(stream_append(s, "dd\n", 3, &t0), 0);
	assert_int_equal(stream_tail(s), 6); /* only the '\n' at 5 went */
	/* A reader inside a line keeps what it needs. */
	r = stream_reader_new(s, NULL, NULL, 0);
	assert_int_equal(stream_read(r, 0, 2, 0, iov, &cnt, &n), 0);
	assert_int_equal(n, 2); /* at 8, inside "bbbbb" */
	assert_int_equal(stream_room(s), 3);
	assert_int_equal(stream_append(s, "ee\n", 3, &t0), 0);
	assert_int_equal(stream_tail(s), 8); /* mid-line: the reader is there */
	assert_int_equal(stream_read(r, 2, 100, 0, iov, &cnt, &n), 0);
	assert_int_equal(n, 16);
	stream_reader_free(r);
	stream_free(s);
}

/* The room the back-pressure rule gives, under random reads, closes,
 * stalls and new readers, always matches a plain recount of the lowest
 * active reader (the stream keeps that lowest position as readers move). */
static void test_room_matches_recount(void **state)
{
	enum { N = 24, CAP = 4096 };
	struct stream *s = stream_new(CAP);
	struct stream_reader *rd[N] = {0};
	uint64_t pos[N], max_read = 0, now = 1000;
	bool stalled[N] = {0};
	unsigned seed = 12345, step, i;

	(void)state;
	fill(s, 2000);
	for (step = 0; step < 20000; step++) {
		uint64_t want = UINT64_MAX, off;
		struct iovec iov[2];
		int cnt, rc, op;
		size_t n;

		seed = seed * 1103515245u + 12345u;
		i = (seed >> 8) % N;
		op = (int)((seed >> 16) % 10);
		if (!rd[i]) {
			rd[i] = stream_reader_new(s, NULL, NULL, now);
			pos[i] = stream_tail(s);
			stalled[i] = false;
		} else if (op == 0) {
			stream_reader_free(rd[i]);
			rd[i] = NULL;
		} else if (op == 1 && step % 7 == 0) {
			/* stall every reader idle since now, not at the end */
			now += 10;
			stream_stall(s, now, 5);
			for (unsigned j = 0; j < N; j++)
				if (rd[j] && pos[j] < stream_head(s))
					stalled[j] = true;
		} else {
			off = (seed >> 4) % 2100;
			rc = stream_read(rd[i], off, 64, now, iov, &cnt, &n);
			assert_true(rc == 0 || rc == -EAGAIN);
			stalled[i] = false;
			pos[i] =
				off < stream_head(s) ? off + n : stream_head(s);
			if (rc == 0 && pos[i] > max_read)
				max_read = pos[i];
		}
		for (unsigned j = 0; j < N; j++)
			if (rd[j] && !stalled[j] && pos[j] < want)
				want = pos[j];
		if (want == UINT64_MAX)
			want = max_read;
		assert_int_equal(stream_room(s), CAP - (stream_head(s) - want));
	}
	for (i = 0; i < N; i++)
		stream_reader_free(rd[i]);
	stream_free(s);
}

/* The skip ranges a stream told. */
struct skips {
	uint64_t from[8], to[8];
	unsigned n;
};

static void on_skip(void *arg, uint64_t from, uint64_t to)
{
	struct skips *k = arg;

	assert_true(k->n < 8);
	k->from[k->n] = from;
	k->to[k->n++] = to;
}

/* Keep mode at each boundary: a reader at the window's start, one byte
 * behind it, far behind it, and a pread below it. */
static void test_keep_boundaries(void **state)
{
	struct stream *s = stream_new(50);
	struct stream_reader *r = stream_reader_new(s, NULL, NULL, 0);
	struct skips k = {0};

	(void)state;
	stream_on_skip(s, on_skip, &k);
	assert_int_equal(stream_set_keep(s, 100), 0);
	assert_int_equal(stream_keep(s), 100);
	assert_int_equal(stream_cap(s), 100);
	fill(s, 100);
	assert_int_equal(rd(r, 0, 40, 0), 40);
	/* It never holds the pipe, however far behind its reader is. */
	assert_false(stream_holds(s));
	assert_int_equal(budget1(s), 100);
	/* At the window's start exactly: nothing missed. */
	fill(s, 40);
	assert_int_equal(stream_tail(s), 40);
	assert_int_equal(rd(r, 40, 10, 40), 10);
	assert_int_equal(k.n, 0);
	/* One byte behind: that byte is told, the read goes on after it. */
	fill(s, 11);
	assert_int_equal(stream_tail(s), 51);
	assert_int_equal(k.n, 0); /* told once the range ends */
	assert_int_equal(rd(r, 50, 10, 51), 10);
	assert_int_equal(k.n, 1);
	assert_int_equal(k.from[0], 50);
	assert_int_equal(k.to[0], 51);
	/* The handle's offsets stay continuous. */
	assert_int_equal(rd(r, 60, 5, 61), 5);
	/* Far behind: one range however many writes made it. */
	fill(s, 300);
	fill(s, 200);
	assert_int_equal(stream_tail(s), 551);
	/* A pread below the window is not the next read: EIO. */
	assert_int_equal(rd(r, 0, 5, 0), -EIO);
	assert_int_equal(rd(r, 10, 5, 0), -EIO);
	assert_int_equal(k.n, 1);
	assert_int_equal(rd(r, 65, 5, 551), 5);
	assert_int_equal(k.n, 2);
	assert_int_equal(k.from[1], 66);
	assert_int_equal(k.to[1], 551);
	/* Nobody read byte 50 nor [66, 551). */
	assert_int_equal(stream_dropped(s), 1 + 485);
	/* A reader that keeps up misses nothing. */
	assert_int_equal(rd(r, 70, 100, 556), 95);
	fill(s, 30);
	assert_int_equal(rd(r, 165, 100, 651), 30);
	fill(s, 100);
	assert_int_equal(rd(r, 195, 100, 681), 100);
	stream_finish(s);
	assert_int_equal(k.n, 2);
	assert_int_equal(stream_dropped(s), 1 + 485);
	/* Back to pause: the window shrinks to the first size and the
	 * reader holds the pipe again. */
	stream_reopen(s);
	assert_int_equal(stream_set_keep(s, 0), 0);
	assert_int_equal(stream_cap(s), 50);
	assert_int_equal(stream_tail(s), 731);
	assert_true(stream_holds(s));
	assert_int_equal(budget1(s), 50);
	stream_reader_free(r);
	stream_free(s);
}

/* Two readers: the ranges follow the slower; bytes the faster one read
 * are not dropped. */
static void test_keep_two_readers(void **state)
{
	struct stream *s = stream_new(100);
	struct stream_reader *a = stream_reader_new(s, NULL, NULL, 0);
	struct stream_reader *b = stream_reader_new(s, NULL, NULL, 0);
	struct skips k = {0};

	(void)state;
	stream_on_skip(s, on_skip, &k);
	assert_int_equal(stream_set_keep(s, 100), 0);
	fill(s, 100);
	assert_int_equal(rd(a, 0, 100, 0), 100);
	fill(s, 100);
	assert_int_equal(rd(a, 100, 100, 100), 100);
	assert_int_equal(stream_dropped(s), 0);
	assert_int_equal(rd(b, 0, 10, 100), 10); /* opened before, reads late */
	assert_int_equal(k.n, 1);
	assert_int_equal(k.from[0], 0);
	assert_int_equal(k.to[0], 100);
	stream_reader_free(a);
	stream_reader_free(b);
	stream_free(s);
}

/* A stop's keep: a log nobody has open is read on; an open handle still
 * holds it. */
static void test_keep_unread(void **state)
{
	struct stream *s = stream_new(100);
	struct stream_reader *r;

	(void)state;
	fill(s, 100);
	assert_int_equal(budget1(s), 0);
	stream_set_keep_unread(s, true);
	assert_int_equal(budget1(s), 100);
	fill(s, 50);
	assert_int_equal(stream_dropped(s), 50);
	r = stream_reader_new(s, NULL, NULL, 0);
	assert_true(stream_holds(s));
	assert_int_equal(budget1(s), 0);
	assert_int_equal(rd(r, 0, 30, 50), 30);
	assert_int_equal(budget1(s), 30);
	stream_reader_free(r);
	assert_int_equal(budget1(s), 100);
	stream_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keep_boundaries),
		cmocka_unit_test(test_keep_two_readers),
		cmocka_unit_test(test_keep_unread),
		cmocka_unit_test(test_read_window_and_end),
		cmocka_unit_test(
			test_below_window_is_eio_but_first_read_shifts),
		cmocka_unit_test(test_budget_no_reader),
		cmocka_unit_test(test_budget_slowest_reader),
		cmocka_unit_test(test_budget_reader_waiting_at_end),
		cmocka_unit_test(test_budget_many_readers_never_lose),
		cmocka_unit_test(test_budget_across_logs),
		cmocka_unit_test(test_stalled_reader_stops_holding),
		cmocka_unit_test(test_lines_evict_whole_lines),
		cmocka_unit_test(test_room_matches_recount),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
