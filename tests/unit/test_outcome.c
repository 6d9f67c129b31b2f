/*
 * outcome: the state machine's record. A new run, a start, an exit and a
 * kill, failures before exec (shell statuses and the error that names
 * the step), bounded and printable errors, the status index with
 * stopped and frozen, the state names, and the status view's fields.
 */
#include "test.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

#include "spawnfs/outcome.h"

static const struct timespec t1 = {100, 1}, t2 = {200, 2};

static void test_new_start_exit_kill(void **state)
{
	struct outcome o;
	struct status_view v;

	(void)state;
	outcome_init(&o);
	assert_int_equal(o.state, OUTCOME_NEW);
	assert_int_equal(outcome_wait_status(&o), -1);
	memset(&v, 0, sizeof(v));
	outcome_view(&o, &v);
	assert_false(v.started);
	assert_false(v.ended);
	assert_int_equal(v.exit_code, -1);
	assert_int_equal(v.status, -1);
	assert_null(v.signal);

	outcome_set_error(&o, "bad line", 8, EINVAL);
	outcome_started(&o, &t1);
	assert_int_equal(o.state, OUTCOME_RUNNING);
	assert_null(o.error); /* status tells the present */
	assert_int_equal(outcome_wait_status(&o), -1);
	assert_int_equal(o.t_start.tv_sec, 100);
	assert_int_equal(o.t_end.tv_sec, 0);

	outcome_reaped(&o, &t2, CLD_EXITED, 7);
	assert_int_equal(o.state, OUTCOME_EXITED);
	assert_int_equal(outcome_wait_status(&o), 7);
	assert_null(outcome_signal_name(&o));
	outcome_view(&o, &v);
	assert_true(v.started);
	assert_true(v.ended);
	assert_int_equal(v.exit_code, 7);
	assert_int_equal(v.end_time.tv_sec, 200);

	outcome_started(&o, &t1);
	outcome_reaped(&o, &t2, CLD_KILLED, SIGTERM);
	assert_int_equal(o.state, OUTCOME_KILLED);
	assert_int_equal(outcome_wait_status(&o), 128 + SIGTERM);
	assert_string_equal(outcome_signal_name(&o), "TERM");
	outcome_view(&o, &v);
	assert_int_equal(v.exit_code, -1);
	assert_string_equal(v.signal, "TERM");
	outcome_fini(&o);
}

static void test_spawn_failures(void **state)
{
	static const struct {
		enum spawn_step step;
		int err;
		const char *cwd;
		int status;
		const char *error;
	} cases[] = {
		{SPAWN_EXEC, ENOENT, NULL, 127,
		 "exec /bin/x: No such file or directory"},
		{SPAWN_EXEC, EACCES, NULL, 126,
		 "exec /bin/x: Permission denied"},
		{SPAWN_CWD, ENOENT, "/nope", 1,
		 "cwd /nope: No such file or directory"},
		{SPAWN_CWD, EACCES, NULL, 1, "cwd home: Permission denied"},
		{SPAWN_USER, EPERM, NULL, 1,
		 "user /bin/x: Operation not permitted"},
	};
	struct outcome o;
	struct status_view v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		outcome_init(&o);
		outcome_spawn_failed(&o, cases[i].step, cases[i].err, "/bin/x",
				     cases[i].cwd);
		assert_int_equal(o.state, OUTCOME_FAILED);
		assert_int_equal(outcome_wait_status(&o), cases[i].status);
		assert_string_equal(o.error, cases[i].error);
		memset(&v, 0, sizeof(v));
		outcome_view(&o, &v);
		assert_false(v.started);
		assert_false(v.ended);
		assert_string_equal(v.error, cases[i].error);
		outcome_fini(&o);
	}
	outcome_init(&o);
	outcome_failed(&o, 1);
	assert_int_equal(outcome_wait_status(&o), 1);
	outcome_fini(&o);
}

static void test_error_bounded_printable(void **state)
{
	char line[300];
	struct outcome o;

	(void)state;
	memset(line, 'a', sizeof(line));
	line[3] = '\n';
	line[5] = '\t';
	outcome_init(&o);
	outcome_set_error(&o, line, sizeof(line), EINVAL);
	assert_non_null(o.error);
	assert_int_equal(strlen(o.error), 200 + strlen(": Invalid argument"));
	assert_int_equal(o.error[3], '?');
	assert_int_equal(o.error[5], '?');
	assert_int_equal(o.error[4], 'a');
	outcome_set_error(&o, "x", 1, ENOENT); /* replaces */
	assert_string_equal(o.error, "x: No such file or directory");
	outcome_fini(&o);
	assert_null(o.error);
}

static void test_index_and_names(void **state)
{
	static const char *const names[] = {"new",    "running",   "exited",
					    "killed", "failed",	   "stopped",
					    "frozen", "restarting"};
	struct outcome o;
	unsigned i;

	(void)state;
	for (i = 0; i < OUTCOME_NSTATES; i++)
		assert_string_equal(outcome_state_name(i), names[i]);
	assert_null(outcome_state_name(OUTCOME_NSTATES));
	outcome_init(&o);
	outcome_started(&o, &t1);
	assert_int_equal(outcome_index(&o, false, false), OUTCOME_RUNNING);
	assert_int_equal(outcome_index(&o, false, true), OUTCOME_STOPPED);
	/* Frozen comes before stopped. */
	assert_int_equal(outcome_index(&o, true, true), OUTCOME_FROZEN);
	outcome_reaped(&o, &t2, CLD_EXITED, 0);
	assert_int_equal(outcome_index(&o, false, false), OUTCOME_EXITED);
	outcome_fini(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_start_exit_kill),
		cmocka_unit_test(test_spawn_failures),
		cmocka_unit_test(test_error_bounded_printable),
		cmocka_unit_test(test_index_and_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
