/* ring: absolute offsets, wrap-around, eviction and peeks. */
#include "test.h"

#include <errno.h>
#include <string.h>

#include "spawnfs/ring.h"

/* Copy what a peek describes into out; returns the byte count. */
static size_t peek_copy(struct ring *r, uint64_t off, size_t max, char *out)
{
	struct iovec iov[2];
	size_t n, done = 0;
	int cnt, i;

	cnt = ring_peek(r, off, max, iov, &n);
	assert_true(cnt >= 0);
	for (i = 0; i < cnt; i++) {
		memcpy(out + done, iov[i].iov_base, iov[i].iov_len);
		done += iov[i].iov_len;
	}
	assert_int_equal(done, n);
	return n;
}

static void test_new_rejects_zero(void **state)
{
	(void)state;
	assert_null(ring_new(0));
	assert_int_equal(errno, EINVAL);
}

static void test_empty_costs_nothing(void **state)
{
	struct ring *r = ring_new(1 << 20);
	struct iovec iov[2];
	size_t n;

	(void)state;
	assert_int_equal(ring_head(r), 0);
	assert_int_equal(ring_tail(r), 0);
	assert_int_equal(ring_peek(r, 0, 10, iov, &n), 0);
	assert_int_equal(n, 0);
	ring_free(r);
	ring_free(NULL);
}

static void test_append_and_read_back(void **state)
{
	struct ring *r = ring_new(8);
	char out[16];

	(void)state;
	assert_int_equal(ring_append(r, "abcdef", 6), 0);
	assert_int_equal(ring_head(r), 6);
	assert_int_equal(ring_tail(r), 0);
	assert_int_equal(peek_copy(r, 2, 16, out), 4);
	assert_memory_equal(out, "cdef", 4);
	ring_free(r);
}

static void test_wrap_evicts_oldest(void **state)
{
	struct ring *r = ring_new(8);
	char out[16];
	struct iovec iov[2];
	size_t n;

	(void)state;
	assert_int_equal(ring_append(r, "abcdef", 6), 0);
	assert_int_equal(ring_append(r, "ghijk", 5), 0); /* 11 bytes, cap 8 */
	assert_int_equal(ring_head(r), 11);
	assert_int_equal(ring_tail(r), 3);
	assert_int_equal(ring_peek(r, 2, 4, iov, &n), -ERANGE);
	assert_int_equal(ring_peek(r, 12, 4, iov, &n), -ERANGE);
	/* The retained bytes straddle the end of the buffer: two iovecs. */
	assert_int_equal(ring_peek(r, 3, 8, iov, &n), 2);
	assert_int_equal(peek_copy(r, 3, 16, out), 8);
	assert_memory_equal(out, "defghijk", 8);
	assert_int_equal(peek_copy(r, 9, 1, out), 1);
	assert_memory_equal(out, "j", 1);
	ring_free(r);
}

static void test_oversized_append_keeps_newest(void **state)
{
	struct ring *r = ring_new(4);
	char out[8];

	(void)state;
	assert_int_equal(ring_append(r, "0123456789", 10), 0);
	assert_int_equal(ring_head(r), 10);
	assert_int_equal(ring_tail(r), 6);
	assert_int_equal(peek_copy(r, 6, 8, out), 4);
	assert_memory_equal(out, "6789", 4);
	ring_free(r);
}

static void test_reserve_commit_in_place(void **state)
{
	struct ring *r = ring_new(8);
	struct iovec iov[2];
	char out[8];
	int cnt;

	(void)state;
	assert_int_equal(ring_append(r, "abcdef", 6), 0);
	cnt = ring_reserve(r, 100, iov); /* capped at cap */
	assert_int_equal(cnt, 2);
	assert_int_equal(iov[0].iov_len + iov[1].iov_len, 8);
	memcpy(iov[0].iov_base, "XY", 2);
	memcpy(iov[1].iov_base, "Z", 1);
	ring_commit(r, 3);
	assert_int_equal(ring_head(r), 9);
	assert_int_equal(ring_tail(r), 1);
	assert_int_equal(peek_copy(r, 1, 8, out), 8);
	assert_memory_equal(out, "bcdefXYZ", 8);
	assert_int_equal(ring_reserve(r, 0, iov), 0);
	ring_free(r);
}

/* Many writes of odd sizes: every retained byte is the one written at
 * that absolute offset. */
static void test_offsets_stay_absolute(void **state)
{
	struct ring *r = ring_new(1000);
	unsigned char buf[777], out[1000];
	uint64_t off = 0, i;
	size_t n, k;

	(void)state;
	for (i = 0; i < 500; i++) {
		n = (size_t)(i * 37 % 777) + 1;
		for (k = 0; k < n; k++)
			buf[k] = (unsigned char)((off + k) % 251);
		assert_int_equal(ring_append(r, buf, n), 0);
		off += n;
	}
	assert_int_equal(ring_head(r), off);
	assert_int_equal(ring_tail(r), off - 1000);
	n = peek_copy(r, ring_tail(r), 1000, (char *)out);
	assert_int_equal(n, 1000);
	for (k = 0; k < n; k++)
		assert_int_equal(out[k], (ring_tail(r) + k) % 251);
	ring_free(r);
}

static void test_find_and_drop(void **state)
{
	struct ring *r = ring_new(8);

	(void)state;
	/* 12 bytes in 8: "def\nghij" at 4..12; the '\n' at 2 is gone. */
	assert_int_equal(ring_append(r, "ab\ncdef\nghij", 12), 0);
	assert_int_equal(ring_find(r, 0, 12, '\n'), 7);
	assert_int_equal(ring_find(r, 4, 7, '\n'), UINT64_MAX);
	assert_int_equal(ring_find(r, 8, 100, 'h'), 9);
	ring_drop_to(r, 8);
	assert_int_equal(ring_tail(r), 8);
	ring_drop_to(r, 5); /* never backwards */
	assert_int_equal(ring_tail(r), 8);
	ring_free(r);
}

/* Growing keeps every byte at its offset; shrinking keeps the newest;
 * a ring never written stays unallocated. Every size against a wrapped
 * ring. */
static void test_resize(void **state)
{
	const char *abc = "abcdefghijklmnopqrstuvwxyz";
	size_t caps[] = {1, 3, 5, 7, 8, 9, 16, 40}, i;
	char out[64];

	(void)state;
	for (i = 0; i < ARRAY_SIZE(caps); i++) {
		struct ring *r = ring_new(7);
		size_t keep;

		assert_int_equal(ring_append(r, abc, 26), 0); /* wrapped */
		assert_int_equal(ring_tail(r), 19);
		assert_int_equal(ring_resize(r, caps[i]), 0);
		keep = caps[i] < 7 ? caps[i] : 7;
		assert_int_equal(ring_head(r), 26);
		assert_int_equal(ring_tail(r), 26 - keep);
		assert_int_equal(peek_copy(r, 26 - keep, 64, out), keep);
		assert_memory_equal(out, abc + 26 - keep, keep);
		/* It goes on wrapping at its new size. */
		assert_int_equal(ring_append(r, "123", 3), 0);
		keep = caps[i] < keep + 3 ? caps[i] : keep + 3;
		assert_int_equal(ring_tail(r), 29 - keep);
		assert_int_equal(peek_copy(r, 29 - keep, 64, out), keep);
		assert_memory_equal(out + keep - (keep < 3 ? keep : 3),
				    "123" + 3 - (keep < 3 ? keep : 3),
				    keep < 3 ? keep : 3);
		ring_free(r);
	}
	{
		struct ring *r = ring_new(4);
		struct iovec iov[2];
		size_t n;

		assert_int_equal(ring_resize(r, 1 << 20), 0);
		assert_int_equal(ring_cap(r), 1 << 20);
		assert_int_equal(ring_peek(r, 0, 1, iov, &n), 0);
		assert_int_equal(ring_resize(r, 0), -EINVAL);
		ring_free(r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_rejects_zero),
		cmocka_unit_test(test_empty_costs_nothing),
		cmocka_unit_test(test_append_and_read_back),
		cmocka_unit_test(test_wrap_evicts_oldest),
		cmocka_unit_test(test_oversized_append_keeps_newest),
		cmocka_unit_test(test_reserve_commit_in_place),
		cmocka_unit_test(test_offsets_stay_absolute),
		cmocka_unit_test(test_find_and_drop),
		cmocka_unit_test(test_resize),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
