/* cgroup: the pure parts: mountinfo, /proc/self/cgroup, the parent's
 * name (systemd-style escaping, hashing), cgroup.events, cpu.stat and
 * controller lists. */
#include "test.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "spawnfs/cgroup.h"

static void test_mount_parse(void **state)
{
	/* This machine's hybrid layout, then a pure v2 one. */
	const char *hybrid =
		"30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw\n"
		"38 30 0:35 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n"
		"40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 "
		"cgroup2 rw\n";
	const char *pure = "25 1 0:22 / /sys/fs/cgroup rw,nosuid shared:4 - "
			   "cgroup2 cgroup2 rw,nsdelegate\n";
	const char *escaped = "1 1 0:9 / /mnt/a\\040b rw - cgroup2 none rw\n";
	char out[CGROUP_PATH_MAX];

	(void)state;
	assert_int_equal(cgroup_mount_parse(hybrid, out, sizeof(out)), 0);
	assert_string_equal(out, "/sys/fs/cgroup/unified");
	assert_int_equal(cgroup_mount_parse(pure, out, sizeof(out)), 0);
	assert_string_equal(out, "/sys/fs/cgroup");
	assert_int_equal(cgroup_mount_parse(escaped, out, sizeof(out)), 0);
	assert_string_equal(out, "/mnt/a b");
	assert_int_equal(cgroup_mount_parse("", out, sizeof(out)), -ENOENT);
	assert_int_equal(cgroup_mount_parse("38 30 0:35 / /x rw - cgroup "
					    "cgroup rw\n",
					    out, sizeof(out)),
			 -ENOENT);
	assert_int_equal(cgroup_mount_parse(hybrid, out, 8), -ENAMETOOLONG);
}

static void test_self_parse(void **state)
{
	char out[CGROUP_PATH_MAX];

	(void)state;
	assert_int_equal(cgroup_self_parse("9:name=systemd:/\n4:memory:/x\n"
					   "0::/system.slice/a.service\n",
					   out, sizeof(out)),
			 0);
	assert_string_equal(out, "/system.slice/a.service");
	assert_int_equal(cgroup_self_parse("0::/", out, sizeof(out)), 0);
	assert_string_equal(out, "/");
	assert_int_equal(cgroup_self_parse("1:cpu:/\n", out, sizeof(out)),
			 -ENOENT);
}

static void test_parent_name(void **state)
{
	char out[NAME_MAX + 1], other[NAME_MAX + 1], longpath[1024];
	size_t i;

	(void)state;
	assert_int_equal(cgroup_parent_name("/srv/jobs", out, sizeof(out)), 0);
	assert_string_equal(out, "spawnfs-srv-jobs");
	assert_int_equal(cgroup_parent_name("/", out, sizeof(out)), 0);
	assert_string_equal(out, "spawnfs--");
	assert_int_equal(cgroup_parent_name("//a//b/", out, sizeof(out)), 0);
	assert_string_equal(out, "spawnfs-a-b");
	/* As systemd-escape --path: not [A-Za-z0-9:_.], and a dot that
	 * starts the path, as \xNN. */
	assert_int_equal(cgroup_parent_name("/a-b/c d/.e", out, sizeof(out)),
			 0);
	assert_string_equal(out, "spawnfs-a\\x2db-c\\x20d-.e");
	assert_int_equal(cgroup_parent_name("/.x/y", out, sizeof(out)), 0);
	assert_string_equal(out, "spawnfs-\\x2ex-y");
	assert_int_equal(cgroup_parent_name("/x/cpu.max", out, sizeof(out)), 0);
	assert_string_equal(out, "spawnfs-x-cpu.max");
	assert_int_equal(cgroup_parent_name("rel", out, sizeof(out)), -EINVAL);
	assert_int_equal(cgroup_parent_name("/a", out, 16), -ENAMETOOLONG);
	/* Too long: cut, with a hash of the whole path; two paths that
	 * differ only at the end differ in the name. */
	longpath[0] = '/';
	for (i = 1; i < 600; i++)
		longpath[i] = 'a' + (char)(i % 26);
	longpath[600] = '\0';
	assert_int_equal(cgroup_parent_name(longpath, out, sizeof(out)), 0);
	assert_int_equal(strlen(out), NAME_MAX);
	longpath[599] = '_';
	assert_int_equal(cgroup_parent_name(longpath, other, sizeof(other)), 0);
	assert_int_equal(strlen(other), NAME_MAX);
	assert_string_not_equal(out, other);
	assert_memory_equal(out, other, NAME_MAX - 17);
}

static void test_events_cpu(void **state)
{
	struct cgroup_cpu cpu;
	bool populated, frozen;

	(void)state;
	assert_int_equal(cgroup_events_parse("populated 1\nfrozen 0\n",
					     &populated, &frozen),
			 0);
	assert_true(populated);
	assert_false(frozen);
	assert_int_equal(cgroup_events_parse("populated 0\nfrozen 1\n",
					     &populated, &frozen),
			 0);
	assert_false(populated);
	assert_true(frozen);
	assert_int_equal(cgroup_events_parse("frozen 1\n", &populated, &frozen),
			 -EINVAL);
	assert_int_equal(cgroup_cpu_parse("usage_usec 1200\nuser_usec 1000\n"
					  "system_usec 200\nnr_periods 0\n",
					  &cpu),
			 0);
	assert_int_equal(cpu.usage_usec, 1200);
	assert_int_equal(cpu.user_usec, 1000);
	assert_int_equal(cpu.system_usec, 200);
	assert_int_equal(cgroup_cpu_parse("usage_usec 1\n", &cpu), -EINVAL);
	assert_int_equal(cgroup_cpu_parse("usage_usecs 1\nuser_usec 1\n"
					  "system_usec 1\n",
					  &cpu),
			 -EINVAL);
}

static void test_list_has(void **state)
{
	(void)state;
	assert_true(cgroup_list_has("cpu io memory pids\n", "memory"));
	assert_true(cgroup_list_has("cpu io memory pids\n", "pids"));
	assert_true(cgroup_list_has("cpu", "cpu"));
	assert_false(cgroup_list_has("cpuset io", "cpu"));
	assert_false(cgroup_list_has("", "memory"));
	assert_false(cgroup_list_has("hugetlb rdma", "pids"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mount_parse),
		cmocka_unit_test(test_self_parse),
		cmocka_unit_test(test_parent_name),
		cmocka_unit_test(test_events_cpu),
		cmocka_unit_test(test_list_has),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
