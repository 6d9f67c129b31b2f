/* spawn: the environment a run gets, the failure statuses, and what an
 * exec report says. */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spawnfs/ctl.h"
#include "spawnfs/spawn.h"

/* An account as getpwuid would give it. */
static void user_init(struct spawn_user *u, uid_t uid, bool found)
{
	memset(u, 0, sizeof(*u));
	u->uid = uid;
	u->gid = uid;
	u->found = found;
	u->pw.pw_name = "alice";
	u->pw.pw_dir = "/home/alice";
	u->pw.pw_shell = "/bin/bash";
}

static const char *env_get(char **env, const char *name)
{
	size_t n = strlen(name);

	for (; *env; env++)
		if (strncmp(*env, name, n) == 0 && (*env)[n] == '=')
			return *env + n + 1;
	return NULL;
}

static size_t env_count(char **env)
{
	size_t n = 0;

	while (env[n])
		n++;
	return n;
}

static void test_user_then_config_then_slot(void **state)
{
	char *cfg_env[] = {"LANG=C.UTF-8", "HOME=/srv", "TZ=UTC"};
	char *slot_env[] = {"TZ=Europe/Paris", "LANG", "X=1", NULL};
	struct spawn_ctx c = {.env = cfg_env, .nenv = 3};
	struct spawn_opts o = {.env = slot_env, .nenv = 3};
	struct spawn_user u;
	char **env;

	(void)state;
	user_init(&u, 1000, true);
	env = spawn_env_build(&c, &o, &u);
	assert_non_null(env);
	assert_string_equal(env_get(env, "PATH"),
			    "/usr/local/bin:/usr/bin:/bin");
	assert_string_equal(env_get(env, "USER"), "alice");
	assert_string_equal(env_get(env, "LOGNAME"), "alice");
	assert_string_equal(env_get(env, "SHELL"), "/bin/bash");
	/* [env] overrides the account, the slot overrides [env]. */
	assert_string_equal(env_get(env, "HOME"), "/srv");
	assert_string_equal(env_get(env, "TZ"), "Europe/Paris");
	/* An unset removes the name altogether. */
	assert_null(env_get(env, "LANG"));
	assert_string_equal(env_get(env, "X"), "1");
	assert_int_equal(env_count(env), 7);
	ctl_argv_free(env);
}

/* A pty run gets TERM before [env] and the slot's lines, which override
 * it; a run without pty gets none. */
static void test_pty_term(void **state)
{
	char *cfg_env[] = {"LANG=C"};
	char *slot_env[] = {"TERM=vt100", NULL};
	char *none[] = {NULL};
	struct spawn_ctx c = {
		.env = cfg_env, .nenv = 1, .pty_term = "xterm-256color"};
	struct spawn_opts o = {.env = none, .pty = true};
	struct spawn_user u;
	char **env;

	(void)state;
	user_init(&u, 1000, true);
	env = spawn_env_build(&c, &o, &u);
	assert_non_null(env);
	assert_string_equal(env_get(env, "TERM"), "xterm-256color");
	ctl_argv_free(env);
	o.env = slot_env;
	o.nenv = 1;
	env = spawn_env_build(&c, &o, &u);
	assert_string_equal(env_get(env, "TERM"), "vt100");
	ctl_argv_free(env);
	o.env = none;
	o.nenv = 0;
	o.pty = false;
	env = spawn_env_build(&c, &o, &u);
	assert_null(env_get(env, "TERM"));
	ctl_argv_free(env);
}

static void test_root_path_and_unknown_uid(void **state)
{
	struct spawn_ctx c = {0};
	char *none[] = {NULL};
	struct spawn_opts o = {.env = none};
	struct spawn_user u;
	char **env;

	(void)state;
	user_init(&u, 0, true);
	env = spawn_env_build(&c, &o, &u);
	assert_non_null(env);
	assert_non_null(strstr(env_get(env, "PATH"), "/usr/sbin"));
	ctl_argv_free(env);
	/* A uid with no passwd entry: PATH only, nothing invented. */
	user_init(&u, 4242, false);
	env = spawn_env_build(&c, &o, &u);
	assert_non_null(env);
	assert_int_equal(env_count(env), 1);
	assert_null(env_get(env, "HOME"));
	ctl_argv_free(env);
}

static void test_env_put_replaces_by_name(void **state)
{
	char **vec = calloc(1, sizeof(char *));
	size_t n = 0;

	(void)state;
	assert_non_null(vec);
	assert_int_equal(spawn_env_put(&vec, &n, "A=1"), 0);
	assert_int_equal(spawn_env_put(&vec, &n, "AB=2"), 0);
	assert_int_equal(spawn_env_put(&vec, &n, "A=3"), 0);
	assert_int_equal(spawn_env_put(&vec, &n, "A"), 0); /* an unset */
	assert_int_equal(n, 2);
	assert_string_equal(vec[0], "A");
	assert_string_equal(vec[1], "AB=2");
	assert_null(vec[2]);
	assert_int_equal(spawn_env_name_len("NAME=x=y"), 4);
	assert_int_equal(spawn_env_name_len("NAME"), 4);
	ctl_argv_free(vec);
}

static void test_fail_status(void **state)
{
	(void)state;
	assert_int_equal(spawn_fail_status(SPAWN_EXEC, ENOENT), 127);
	assert_int_equal(spawn_fail_status(SPAWN_EXEC, EACCES), 126);
	assert_int_equal(spawn_fail_status(SPAWN_EXEC, ENOEXEC), 126);
	assert_int_equal(spawn_fail_status(SPAWN_CWD, ENOENT), 1);
	assert_int_equal(spawn_fail_status(SPAWN_USER, EPERM), 1);
	assert_string_equal(spawn_step_name(SPAWN_CWD), "cwd");
	assert_string_equal(spawn_step_name(SPAWN_EXEC), "exec");
}

/* A child that writes bytes to the write end of a report pipe, then
 * exits (or, with die, is killed by SIGKILL first); the parent's view as
 * a spawn_child with the non-blocking read end. */
static void report_from(struct spawn_child *ch, const void *bytes, size_t n,
			bool die)
{
	int p[2];

	*ch = SPAWN_CHILD_NONE;
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	ch->pid = fork();
	assert_true(ch->pid >= 0);
	if (ch->pid == 0) {
		close(p[0]);
		if (n && write(p[1], bytes, n) != (ssize_t)n)
			_exit(2);
		if (die)
			raise(SIGKILL);
		_exit(0);
	}
	close(p[1]);
	ch->report = p[0];
}

/* spawn_report until it answers, reading blocking (the child is quick). */
static int report_read(struct spawn_child *ch, enum spawn_step *step, int *err)
{
	int rc;

	while ((rc = spawn_report(ch, step, err)) == 0)
		;
	assert_true(ch->report >= 0); /* the caller closes it */
	close(ch->report);
	return rc;
}

static void test_report_outcomes(void **state)
{
	struct {
		int step;
		int err;
	} rec = {SPAWN_EXEC, ENOENT};
	unsigned char buf[1 + sizeof(rec)];
	enum spawn_step step = 0;
	struct spawn_child ch;
	int err = 0;

	(void)state;
	/* The marker, then end of file: exec happened. */
	report_from(&ch, "x", 1, false);
	assert_int_equal(report_read(&ch, &step, &err), 1);
	spawn_reap(ch.pid);
	/* The marker and a failed exec's record. */
	buf[0] = 'x';
	memcpy(buf + 1, &rec, sizeof(rec));
	report_from(&ch, buf, sizeof(buf), false);
	assert_int_equal(report_read(&ch, &step, &err), -1);
	assert_int_equal(step, SPAWN_EXEC);
	assert_int_equal(err, ENOENT);
	/* A step before exec failed: the record alone. */
	rec.step = SPAWN_CWD;
	rec.err = EACCES;
	report_from(&ch, &rec, sizeof(rec), false);
	assert_int_equal(report_read(&ch, &step, &err), -1);
	assert_int_equal(step, SPAWN_CWD);
	assert_int_equal(err, EACCES);
	/* Killed before exec: nothing, then end of file. Not a start. */
	report_from(&ch, NULL, 0, true);
	assert_int_equal(report_read(&ch, &step, &err), -1);
	assert_int_equal(step, SPAWN_DIED);
	assert_int_equal(err, ECANCELED);
	assert_int_equal(spawn_fail_status(SPAWN_DIED, ECANCELED), 1);
	/* A truncated record: EIO, not taken for a start. */
	report_from(&ch, "x\1\2", 3, false);
	assert_int_equal(report_read(&ch, &step, &err), -1);
	assert_int_equal(step, SPAWN_SETUP);
	assert_int_equal(err, EIO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_user_then_config_then_slot),
		cmocka_unit_test(test_root_path_and_unknown_uid),
		cmocka_unit_test(test_pty_term),
		cmocka_unit_test(test_env_put_replaces_by_name),
		cmocka_unit_test(test_fail_status),
		cmocka_unit_test(test_report_outcomes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
