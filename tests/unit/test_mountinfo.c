/*
 * mountinfo: the top mount at a path. One mount, two stacked in either
 * listing order, a third over the two, escaped paths, a path that is
 * only a prefix of another, nothing mounted, lines cut short, and the
 * read of this process's own mountinfo.
 */
#include "test.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "spawnfs/mountinfo.h"

#define ROOT_LINE "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
#define FUSE(id, parent, minor, point)                                   \
#id " " #parent " 0:" #minor " / " point                         \
	    " rw,nosuid,nodev,relatime shared:9 - fuse.spawnfs spawnfs " \
	    "rw,user_id=0,group_id=0\n"

static void test_one_and_stacked(void **state)
{
	const char *one = ROOT_LINE FUSE(40, 22, 50, "/run/spawn");
	const char *two = ROOT_LINE FUSE(40, 22, 50, "/run/spawn")
		FUSE(41, 40, 51, "/run/spawn");
	/* Listed upper first: the parent link decides, not the order. */
	const char *upside = ROOT_LINE FUSE(41, 40, 51, "/run/spawn")
		FUSE(40, 22, 50, "/run/spawn");
	const char *three = ROOT_LINE FUSE(40, 22, 50, "/run/spawn")
		FUSE(45, 41, 52, "/run/spawn") FUSE(41, 40, 51, "/run/spawn");

	(void)state;
	assert_int_equal(mountinfo_top(one, "/run/spawn"), 40);
	assert_int_equal(mountinfo_top(two, "/run/spawn"), 41);
	assert_int_equal(mountinfo_top(upside, "/run/spawn"), 41);
	assert_int_equal(mountinfo_top(three, "/run/spawn"), 45);
	assert_int_equal(mountinfo_top(two, "/"), 22);
}

static void test_paths(void **state)
{
	const char *text = ROOT_LINE FUSE(40, 22, 50, "/run/spawn2")
		FUSE(42, 22, 53, "/tmp/a\\040b\\134c");

	(void)state;
	assert_int_equal(mountinfo_top(text, "/run/spawn"), -ENOENT);
	assert_int_equal(mountinfo_top(text, "/run/spawn2"), 40);
	assert_int_equal(mountinfo_top(text, "/tmp/a b\\c"), 42);
	assert_int_equal(mountinfo_top(text, "/tmp/a\\040b\\134c"), -ENOENT);
	assert_int_equal(mountinfo_top("", "/"), -ENOENT);
	/* Cut lines, without a newline at the end: skipped or read. */
	assert_int_equal(
		mountinfo_top("40 22 0:50 /\n41 40 0:51 / /x rw", "/x"), 41);
	assert_int_equal(mountinfo_top("40 22\n\n", "/x"), -ENOENT);
}

static void test_unescape(void **state)
{
	char s[] = "a\\040b\\011c\\012d\\134e\\8x\\04";

	(void)state;
	mountinfo_unescape(s);
	assert_string_equal(s, "a b\tc\nd\\e\\8x\\04");
}

static void test_read_own(void **state)
{
	char *text = mountinfo_read();

	(void)state;
	assert_non_null(text);
	/* Something is mounted on /, and it is on top there. */
	assert_true(mountinfo_top(text, "/") > 0);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_and_stacked),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_unescape),
		cmocka_unit_test(test_read_own),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
