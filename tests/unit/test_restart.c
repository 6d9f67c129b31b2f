/*
 * restart: the policy's arithmetic. on-failure ignores a clean exit,
 * always does not; the delay doubles after short runs up to its cap and
 * goes back to the base after a long one; the limit counts the first
 * start and ends the policy with "limit"; a stop ends it once.
 */
#include "test.h"

#include "spawnfs/restart.h"

static const struct restart_policy on_failure = {RESTART_ON_FAILURE, 100, 3,
						 5000};

static void test_on_failure_backoff_and_limit(void **state)
{
	struct restart_state r = {0};

	(void)state;
	assert_int_equal(restart_begin(&r, &on_failure, 0), 0);
	/* A clean exit is no failure. */
	assert_int_equal(restart_next(&r, &on_failure, false, 10, 10), 0);
	assert_null(r.ended);
	/* Failures: 100 ms, then 200 ms. */
	assert_int_equal(restart_next(&r, &on_failure, true, 10, 10), 100);
	restart_started(&r, 110);
	assert_int_equal(restart_next(&r, &on_failure, true, 10, 120), 200);
	restart_started(&r, 320);
	/* Three starts within 5 s already: the fourth would be too many. */
	assert_int_equal(restart_next(&r, &on_failure, true, 10, 330), 0);
	EXPECT_STR(0, r.ended, "limit");
	assert_int_equal(r.count, 2);
	/* Ended: nothing restarts it, and a stop does not rename why. */
	assert_int_equal(restart_next(&r, &on_failure, true, 10, 99999), 0);
	restart_end(&r, "stop");
	EXPECT_STR(0, r.ended, "limit");
	restart_fini(&r);
}

static void test_always_long_runs_and_cap(void **state)
{
	const struct restart_policy always = {RESTART_ALWAYS, 1000, 1000, 1000};
	struct restart_state r = {0};
	uint64_t t = 0;
	long want = 1000, got;
	int i;

	(void)state;
	assert_int_equal(restart_begin(&r, &always, t), 0);
	/* Short runs, even clean ones: 1, 2, 4 ... 32, then 60 s. */
	for (i = 0; i < 9; i++) {
		got = restart_next(&r, &always, false, 5, t);
		EXPECT_INT(i, got, want);
		t += (uint64_t)got;
		restart_started(&r, t);
		want = want * 2 > 60000 ? 60000 : want * 2;
	}
	/* A run of 10 s or more: back to the base. */
	assert_int_equal(restart_next(&r, &always, false, 10000, t), 1000);
	assert_null(r.ended);
	restart_end(&r, "stop");
	EXPECT_STR(0, r.ended, "stop");
	restart_end(&r, "kill");
	EXPECT_STR(0, r.ended, "stop");
	restart_fini(&r);
}

static void test_no_policy(void **state)
{
	const struct restart_policy no = {RESTART_NO, 1000, 5, 10000};
	struct restart_state r = {0};

	(void)state;
	assert_int_equal(restart_begin(&r, &no, 0), 0);
	assert_int_equal(restart_next(&r, &no, true, 1, 1), 0);
	restart_end(&r, "stop"); /* no policy: nothing to end */
	assert_null(r.ended);
	EXPECT_STR(0, restart_mode_name(RESTART_ON_FAILURE), "on-failure");
	restart_fini(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_on_failure_backoff_and_limit),
		cmocka_unit_test(test_always_long_runs_and_cap),
		cmocka_unit_test(test_no_policy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
