/*
 * settings: the next run's settings as a value. A copy is deep (the run
 * keeps what it started with whatever ctl edits next), an empty value
 * has an empty env, and fini leaves nothing behind (ASan, valgrind).
 */
#include "test.h"

#include <string.h>

#include "spawnfs/ctl.h"
#include "spawnfs/settings.h"

static void test_empty(void **state)
{
	struct run_settings s;

	(void)state;
	assert_int_equal(settings_init(&s), 0);
	assert_non_null(s.opts.env);
	assert_null(s.opts.env[0]);
	assert_null(s.argv);
	assert_null(s.line);
	assert_int_equal(s.timeout_ms, 0);
	settings_fini(&s);
	settings_fini(&s); /* zeroed: a second fini is harmless */
}

static void test_copy_is_deep(void **state)
{
	char *argv[] = {"sh", "-c", "echo hi", NULL};
	struct run_settings s, c;

	(void)state;
	assert_int_equal(settings_init(&s), 0);
	assert_int_equal(spawn_env_put(&s.opts.env, &s.opts.nenv, "A=1"), 0);
	s.opts.cwd = strdup("/tmp");
	s.opts.run_name = strdup("nobody");
	s.argv = settings_argv_dup(argv, 3);
	s.line = strdup("echo hi");
	s.timeout_ms = 1500;
	s.limits.pids = 7;
	s.opts.pty = true;
	s.opts.cols = 100;
	assert_int_equal(settings_copy(&c, &s), 0);
	/* Edits of the original after the copy do not reach it. */
	s.opts.cwd[1] = 'X';
	s.argv[2][0] = 'X';
	assert_int_equal(spawn_env_put(&s.opts.env, &s.opts.nenv, "A=2"), 0);
	settings_fini(&s);
	assert_string_equal(c.opts.cwd, "/tmp");
	assert_string_equal(c.opts.run_name, "nobody");
	assert_string_equal(c.opts.env[0], "A=1");
	assert_null(c.opts.env[1]);
	assert_int_equal(c.opts.nenv, 1);
	assert_string_equal(c.argv[2], "echo hi");
	assert_null(c.argv[3]);
	assert_string_equal(c.line, "echo hi");
	assert_int_equal(c.timeout_ms, 1500);
	assert_int_equal(c.limits.pids, 7);
	assert_true(c.opts.pty);
	assert_int_equal(c.opts.cols, 100);
	settings_fini(&c);
}

static void test_argc(void **state)
{
	char *argv[] = {"a", "b", NULL};

	(void)state;
	assert_int_equal(settings_argc(argv), 2);
	assert_int_equal(settings_argc(NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_copy_is_deep),
		cmocka_unit_test(test_argc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
