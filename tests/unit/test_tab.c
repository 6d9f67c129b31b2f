/* tab: lookups by id and name, removal, ordered iteration, growth. */
#include "test.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "spawnfs/tab.h"

static void test_add_find_del(void **state)
{
	struct tab *t = tab_new();
	int a, b;

	(void)state;
	assert_int_equal(tab_add(t, 1, "a", &a), 0);
	assert_int_equal(tab_add(t, 2, "b", &b), 0);
	assert_int_equal(tab_add(t, 3, "a", &b), -EEXIST);
	assert_int_equal(tab_add(t, 2, "c", &b), -EEXIST);
	assert_ptr_equal(tab_by_id(t, 1), &a);
	assert_ptr_equal(tab_by_name(t, "b"), &b);
	assert_null(tab_by_name(t, "c"));
	assert_int_equal(tab_del(t, 1), 0);
	assert_int_equal(tab_del(t, 1), -ENOENT);
	assert_null(tab_by_name(t, "a"));
	assert_int_equal(tab_count(t), 1);
	tab_free(t);
	tab_free(NULL);
}

/* Thousands of entries, every third removed: lookups and the ordered
 * walk (readdir offsets) stay right across bucket growth. */
static void test_many_and_ordered(void **state)
{
	static char names[5000][8];
	struct tab *t = tab_new();
	uint64_t id, prev, i;
	size_t seen = 0;
	void *v;

	(void)state;
	for (i = 1; i <= 5000; i++) {
		snprintf(names[i - 1], sizeof(names[0]), "n%llu",
			 (unsigned long long)i);
		assert_int_equal(tab_add(t, i, names[i - 1], names[i - 1]), 0);
	}
	for (i = 3; i <= 5000; i += 3)
		assert_int_equal(tab_del(t, i), 0);
	assert_ptr_equal(tab_by_name(t, "n4999"), names[4998]);
	assert_null(tab_by_name(t, "n4998"));
	prev = 0;
	id = 0;
	while ((v = tab_next(t, id, &id))) {
		assert_true(id > prev);
		assert_true(id % 3 != 0);
		assert_ptr_equal(v, names[id - 1]);
		prev = id;
		seen++;
	}
	assert_int_equal(seen, tab_count(t));
	/* Resuming after a removed id continues with the next one. */
	assert_non_null(tab_next(t, 3, &id));
	assert_int_equal(id, 4);
	tab_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_find_del),
		cmocka_unit_test(test_many_and_ordered),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
