/* idmap: records found by id through growth, deleted ones gone, and
 * equal ids found newest first. */
#include "test.h"

#include "spawnfs/idmap.h"

struct rec {
	struct idmap_node node;
	int tag;
};

static void test_add_get_del_grow(void **state)
{
	static struct rec r[5000];
	struct idmap m;
	struct idmap_node *n;
	size_t i;

	(void)state;
	assert_int_equal(idmap_init(&m), 0);
	for (i = 0; i < ARRAY_SIZE(r); i++) {
		r[i].tag = (int)i;
		/* ids as pids and counters come: spread, some far apart */
		idmap_add(&m, &r[i].node, i * 7 + (i % 3) * 100000);
	}
	assert_true(m.nb >= ARRAY_SIZE(r));
	for (i = 0; i < ARRAY_SIZE(r); i++) {
		n = idmap_get(&m, i * 7 + (i % 3) * 100000);
		assert_non_null(n);
		EXPECT_INT(i, container_of(n, struct rec, node)->tag, i);
	}
	for (i = 0; i < ARRAY_SIZE(r); i += 2)
		idmap_del(&m, &r[i].node);
	EXPECT_INT(0, m.count, ARRAY_SIZE(r) / 2);
	for (i = 0; i < ARRAY_SIZE(r); i++)
		EXPECT_INT(i, idmap_get(&m, r[i].node.id) != NULL, i % 2);
	assert_null(idmap_get(&m, 3));
	idmap_fini(&m);
}

static void test_same_id_newest_first(void **state)
{
	struct rec a = {.tag = 1}, b = {.tag = 2};
	struct idmap m;

	(void)state;
	assert_int_equal(idmap_init(&m), 0);
	idmap_add(&m, &a.node, 42);
	idmap_add(&m, &b.node, 42);
	assert_ptr_equal(idmap_get(&m, 42), &b.node);
	idmap_del(&m, &b.node);
	assert_ptr_equal(idmap_get(&m, 42), &a.node);
	idmap_del(&m, &a.node);
	assert_null(idmap_get(&m, 42));
	idmap_fini(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_get_del_grow),
		cmocka_unit_test(test_same_id_newest_first),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
