/*
 * handle: open files named by ids (the kernel's fh) with O(1) lookup:
 * unique, never reused, found after the table grows, gone once freed.
 */
#include "test.h"

#include "spawnfs/handle.h"
#include "spawnfs/loop.h"

#define N 1000

static void test_ids_found_and_never_reused(void **state)
{
	struct loop *l = loop_new();
	struct handle_set *set = handle_set_new(NULL, l);
	struct handle *h[N];
	uint64_t id[N], last = 0;
	int i;

	(void)state;
	assert_non_null(set);
	for (i = 0; i < N; i++) {
		h[i] = handle_new(set, NULL, NULL, HANDLE_TEXT, 0, PROC_STDOUT);
		assert_non_null(h[i]);
		id[i] = handle_id(h[i]);
		assert_true(id[i] > last); /* fresh, never 0 */
		last = id[i];
	}
	assert_int_equal(handle_count(set), N);
	for (i = 0; i < N; i++)
		assert_ptr_equal(handle_by_id(set, id[i]), h[i]);
	for (i = 0; i < N; i += 2)
		handle_free(h[i]);
	for (i = 0; i < N; i++)
		assert_ptr_equal(handle_by_id(set, id[i]), i % 2 ? h[i] : NULL);
	assert_null(handle_by_id(set, 0));
	assert_null(handle_by_id(set, last + 1));
	/* New handles never take a freed id. */
	for (i = 0; i < N; i += 2) {
		h[i] = handle_new(set, NULL, NULL, HANDLE_TEXT, 0, PROC_STDOUT);
		assert_non_null(h[i]);
		assert_true(handle_id(h[i]) > last);
		last = handle_id(h[i]);
	}
	for (i = 0; i < N; i++)
		handle_free(h[i]);
	assert_int_equal(handle_count(set), 0);
	handle_set_free(set);
	loop_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ids_found_and_never_reused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
