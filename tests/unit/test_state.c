/* state: the saved state's format (boxes, leaves, the header's checks)
 * and the arena's blocks with a ring saved and loaded over them. */
#include "test.h"

#include <errno.h>
#include <stdlib.h>

#include "spawnfs/arena.h"
#include "spawnfs/ring.h"
#include "spawnfs/state.h"

static void write_sample(struct state_w *w)
{
	struct timespec ts = {12, 345};

	state_w_init(w);
	state_begin(w, STATE_DAEMON);
	state_u64(w, 42);
	state_i64(w, -7);
	state_str(w, "name");
	state_str(w, NULL);
	state_ts(w, &ts);
	state_begin(w, STATE_SLOTS);
	state_bytes(w, "ab\0c", 4);
	state_end(w);
	state_end(w);
	assert_int_equal(state_w_finish(w, STATE_VERSION), 0);
}

static void test_round_trip(void **unused)
{
	struct state_w w;
	struct state_r r;
	struct timespec ts;
	const char *b;
	char *s;
	size_t n;

	(void)unused;
	write_sample(&w);
	assert_int_equal(state_r_init(&r, w.buf, w.len), 0);
	assert_int_equal(state_r_walk(&r), 0);
	assert_true(state_enter(&r, STATE_DAEMON));
	assert_int_equal(state_get_u64(&r), 42);
	assert_int_equal(state_get_i64(&r), -7);
	s = state_get_str(&r);
	assert_string_equal(s, "name");
	free(s);
	assert_null(state_get_str(&r));
	assert_int_equal(r.err, 0);
	state_get_ts(&r, &ts);
	assert_int_equal(ts.tv_sec, 12);
	assert_int_equal(ts.tv_nsec, 345);
	assert_true(state_more(&r));
	assert_true(state_enter(&r, STATE_SLOTS));
	b = state_get_bytes(&r, &n);
	assert_int_equal(n, 4);
	assert_memory_equal(b, "ab\0c", 4);
	assert_false(state_more(&r));
	state_leave(&r);
	state_leave(&r);
	assert_int_equal(r.err, 0);
	assert_false(state_more(&r));
	state_w_fini(&w);
}

/* Each damage is refused by the header or the walk, with a reason. */
static void test_refusals(void **unused)
{
	static const struct {
		size_t at;
		unsigned char to;
		const char *why;
	} rows[] = {
		{0, 'X', "not a spawnfs state"},
		{8, 2, "state version 2"},
		{40, 0x7f, "checksum"},
	};
	struct state_w w;
	struct state_r r;
	size_t i;

	(void)unused;
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		write_sample(&w);
		w.buf[rows[i].at] = rows[i].to;
		assert_int_not_equal(state_r_init(&r, w.buf, w.len), 0);
		if (!strstr(r.why, rows[i].why))
			fail_msg("row %zu: why is \"%s\"", i, r.why);
		state_w_fini(&w);
	}
	/* An unknown box, with a checksum that fits: the walk refuses. */
	state_w_init(&w);
	state_begin(&w, STATE_DAEMON);
	state_begin(&w, (enum state_tag)(STATE_BOX | 999));
	state_end(&w);
	state_end(&w);
	assert_int_equal(state_w_finish(&w, STATE_VERSION), 0);
	assert_int_equal(state_r_init(&r, w.buf, w.len), 0);
	assert_int_not_equal(state_r_walk(&r), 0);
	assert_non_null(strstr(r.why, "unknown record"));
	state_w_fini(&w);
	/* A reader that expects another record stops there. */
	write_sample(&w);
	assert_int_equal(state_r_init(&r, w.buf, w.len), 0);
	assert_false(state_enter(&r, STATE_SLOTS));
	assert_int_equal(state_get_u64(&r), 0);
	assert_int_not_equal(r.err, 0);
	state_w_fini(&w);
	/* Unbalanced boxes fail the writer. */
	state_w_init(&w);
	state_begin(&w, STATE_DAEMON);
	assert_int_equal(state_w_finish(&w, STATE_VERSION), -EINVAL);
	state_w_fini(&w);
}

/* A ring's block survives a save and load in place; freed blocks are
 * reused, and the arena's count follows. */
static void test_ring_in_arena(void **unused)
{
	struct state_w w;
	struct state_r r;
	struct ring *a, *b;
	struct iovec iov[2];
	uint64_t used0;
	size_t n;
	int cnt;

	(void)unused;
	used0 = arena_used();
	a = ring_new(10000);
	assert_int_equal(ring_append(a, "hello", 5), 0);
	assert_true(arena_used() >= used0 + 10000);
	state_w_init(&w);
	ring_save(a, &w);
	assert_int_equal(state_w_finish(&w, STATE_VERSION), 0);
	assert_int_equal(state_r_init(&r, w.buf, w.len), 0);
	b = ring_load(&r);
	assert_non_null(b);
	cnt = ring_peek(b, 0, 5, iov, &n);
	assert_int_equal(cnt, 1);
	assert_memory_equal(iov[0].iov_base, "hello", 5);
	assert_ptr_equal(iov[0].iov_base,
			 arena_at(arena_offset(iov[0].iov_base), 5));
	free(b); /* a shallow twin: a owns the block */
	state_w_fini(&w);
	ring_free(a);
	assert_int_equal(arena_used(), used0);
	a = ring_new(4096);
	assert_int_equal(ring_append(a, "x", 1), 0);
	b = ring_new(4096);
	assert_int_equal(ring_append(b, "y", 1), 0);
	ring_free(a);
	a = ring_new(4096);
	assert_int_equal(ring_append(a, "z", 1), 0);
	ring_free(a);
	ring_free(b);
	assert_int_equal(arena_used(), used0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_ring_in_arena),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
