/*
 * handle: open files named by ids (the kernel's fh) with O(1) lookup:
 * unique, never reused, found after the table grows, gone once freed;
 * and the handles of each slot, counted and found by slot id.
 */
#include "test.h"

#include "spawnfs/config.h"
#include "spawnfs/handle.h"
#include "spawnfs/loop.h"
#include "spawnfs/proc.h"

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
		h[i] = handle_new(set, NULL, HANDLE_TEXT, 0, LOGS_STDOUT);
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
		h[i] = handle_new(set, NULL, HANDLE_TEXT, 0, LOGS_STDOUT);
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

static void test_slot_groups(void **state)
{
	static const struct proc_hooks hooks;
	struct loop *l = loop_new();
	struct handle_set *set = handle_set_new(NULL, l);
	struct proc_ctx *ctx;
	struct proc *a, *b;
	struct handle *ha1, *ha2, *hb;
	struct cfg cfg;

	(void)state;
	assert_int_equal(cfg_defaults(&cfg), 0);
	ctx = proc_ctx_new(l, &cfg, &hooks, NULL, NULL, NULL);
	assert_non_null(ctx);
	a = proc_new(ctx, "a", 1, 0, 0, NULL);
	b = proc_new(ctx, "b", 2, 0, 0, NULL);
	assert_non_null(a);
	assert_non_null(b);
	/* The handles of a slot are counted and found by slot id; a log
	 * handle reads its slot's log. */
	ha1 = handle_new(set, a, HANDLE_TEXT, 7, LOGS_STDOUT);
	ha2 = handle_new(set, a, HANDLE_LOG, 3, LOGS_STDOUT);
	hb = handle_new(set, b, HANDLE_WAIT, 5, LOGS_STDOUT);
	assert_non_null(ha1);
	assert_non_null(ha2);
	assert_non_null(hb);
	assert_int_equal(handle_slot_count(set, 1), 2);
	assert_int_equal(handle_slot_count(set, 2), 1);
	assert_int_equal(handle_slot_count(set, 3), 0);
	assert_ptr_equal(handle_find(set, 1, 7), ha1);
	assert_ptr_equal(handle_find(set, 1, 3), ha2);
	assert_non_null(handle_find(set, 1, 99)); /* any of the slot's */
	assert_ptr_equal(handle_find(set, 2, 99), hb);
	assert_null(handle_find(set, 3, 7));
	assert_ptr_equal(handle_proc(ha2), a);
	/* The last handle of a slot takes its group with it. */
	handle_free(ha1);
	handle_free(ha2);
	assert_int_equal(handle_slot_count(set, 1), 0);
	assert_null(handle_find(set, 1, 7));
	handle_wake_slot(set, 1, HANDLE_WAIT); /* nobody: nothing */
	handle_free(hb);
	assert_int_equal(handle_count(set), 0);
	proc_unref(a);
	proc_unref(b);
	proc_ctx_free(ctx);
	handle_set_free(set);
	cfg_free(&cfg);
	loop_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ids_found_and_never_reused),
		cmocka_unit_test(test_slot_groups),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
