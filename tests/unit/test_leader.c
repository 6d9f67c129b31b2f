/*
 * leader: a real child through spawn_start. Its exec report arrives from
 * the loop (ok, or the failed step and errno, the child then reaped), the
 * watched leader's exit reaches the exited hook, and a cancelled start
 * is killed and reaped without any hook. Loop runs are bounded by a
 * timer.
 */
#include "test.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawnfs/leader.h"
#include "spawnfs/loop.h"

struct seen {
	struct loop *l;
	struct leader *leader;
	bool watch; /* watch the leader once exec happened */
	int launched, exited;
	bool ok;
	enum spawn_step step;
	int err, code, status;
	bool timed_out;
};

static void on_launched(void *arg, struct spawn_child *ch, bool ok,
			enum spawn_step step, int err)
{
	struct seen *s = arg;

	s->launched++;
	s->ok = ok;
	s->step = step;
	s->err = err;
	assert_false(leader_pending(s->leader));
	assert_int_equal(ch->report, -1);
	if (ok && s->watch) {
		assert_int_equal(leader_watch(s->leader, ch->pid), 0);
		leader_started(s->leader);
	}
	spawn_child_close(ch);
	loop_quit(s->l);
}

static void on_exited(void *arg, const siginfo_t *si)
{
	struct seen *s = arg;

	s->exited++;
	s->code = si->si_code;
	s->status = si->si_status;
	assert_false(leader_alive(s->leader));
	loop_quit(s->l);
}

static const struct leader_hooks hooks = {
	.launched = on_launched,
	.exited = on_exited,
};

static void on_sigchld(void *arg, int signo)
{
	(void)signo;
	child_set_sigchld(arg);
}

static void on_timeout(void *arg)
{
	struct seen *s = arg;

	s->timed_out = true;
	loop_quit(s->l);
}

/* Run until a hook quits, 5 s at most. */
static void run(struct seen *s)
{
	struct loop_timer t;

	loop_timer_init(&t, s->l, on_timeout, s);
	loop_timer_arm(&t, 5000);
	assert_int_equal(loop_run(s->l), 0);
	assert_false(s->timed_out);
	loop_timer_stop(&t);
}

/* Fork argv as spawn does for a run, stdin /dev/null. */
static void start(char *const *argv, struct spawn_child *ch)
{
	static char *none[] = {NULL};
	struct spawn_ctx c = {.pipe_size = 4096};
	struct spawn_opts o = {.env = none};
	struct spawn_user u;

	spawn_user_lookup(&o, getuid(), getgid(), &u);
	assert_int_equal(spawn_start(&c, &o, &u, argv, -1, ch), 0);
}

/* Whether pid is still a child of ours to reap. */
static bool unreaped(pid_t pid)
{
	return waitpid(pid, NULL, WNOHANG) >= 0 || errno != ECHILD;
}

static void test_exec_then_exit(void **state)
{
	char *argv[] = {"/bin/sh", "-c", "exit 3", NULL};
	struct seen s = {.l = loop_new(), .watch = true};
	struct child_set *set = child_set_new(s.l);
	struct spawn_child ch;
	pid_t pid;

	(void)state;
	assert_non_null(set);
	assert_int_equal(loop_signal(s.l, SIGCHLD, on_sigchld, set), 0);
	s.leader = leader_new(s.l, set, "t", &hooks, &s);
	assert_non_null(s.leader);
	start(argv, &ch);
	pid = ch.pid;
	assert_int_equal(leader_wait(s.leader, &ch), 0);
	assert_int_equal(ch.pid, 0); /* taken over */
	assert_int_equal(ch.report, -1);
	assert_true(leader_pending(s.leader));
	run(&s);
	assert_int_equal(s.launched, 1);
	assert_true(s.ok);
	/* Alive, unless the SIGCHLD of its exit came in the same round and
	 * the orphan walk handed it to its watch already. */
	assert_true(leader_alive(s.leader) || s.exited);
	assert_int_equal(leader_pid(s.leader), pid);
	leader_check(s.leader);
	if (!s.exited)
		run(&s);
	assert_int_equal(s.exited, 1);
	assert_int_equal(s.code, CLD_EXITED);
	assert_int_equal(s.status, 3);
	assert_false(unreaped(pid));
	leader_free(s.leader);
	child_set_free(set);
	loop_free(s.l);
}

static void test_exec_fails(void **state)
{
	char *argv[] = {"/nonexistent/spawnfs-test", NULL};
	struct seen s = {.l = loop_new()};
	struct child_set *set = child_set_new(s.l);
	struct spawn_child ch;
	pid_t pid;

	(void)state;
	s.leader = leader_new(s.l, set, "t", &hooks, &s);
	assert_non_null(s.leader);
	start(argv, &ch);
	pid = ch.pid;
	assert_int_equal(leader_wait(s.leader, &ch), 0);
	run(&s);
	assert_int_equal(s.launched, 1);
	assert_false(s.ok);
	assert_int_equal(s.step, SPAWN_EXEC);
	assert_int_equal(s.err, ENOENT);
	assert_false(leader_alive(s.leader));
	assert_false(unreaped(pid)); /* reaped with its report */
	leader_free(s.leader);
	child_set_free(set);
	loop_free(s.l);
}

static void test_cancel(void **state)
{
	char *argv[] = {"/bin/sleep", "10", NULL};
	struct seen s = {.l = loop_new()};
	struct child_set *set = child_set_new(s.l);
	struct spawn_child ch;
	struct loop_timer quiet;
	pid_t pid;

	(void)state;
	s.leader = leader_new(s.l, set, "t", &hooks, &s);
	assert_non_null(s.leader);
	start(argv, &ch);
	pid = ch.pid;
	assert_int_equal(leader_wait(s.leader, &ch), 0);
	leader_cancel(s.leader);
	assert_false(leader_pending(s.leader));
	assert_false(unreaped(pid)); /* killed and reaped */
	leader_cancel(s.leader);     /* nothing pending: nothing */
	/* No hook runs later either. */
	loop_timer_init(&quiet, s.l, on_timeout, &s);
	loop_timer_arm(&quiet, 100);
	assert_int_equal(loop_run(s.l), 0);
	assert_int_equal(s.launched, 0);
	/* A killed start still reports (the wait ends from the loop). */
	start(argv, &ch);
	pid = ch.pid;
	assert_int_equal(leader_wait(s.leader, &ch), 0);
	leader_kill(s.leader);
	s.timed_out = false;
	run(&s);
	assert_int_equal(s.launched, 1);
	spawn_reap(pid);
	leader_free(s.leader);
	child_set_free(set);
	loop_free(s.l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exec_then_exit),
		cmocka_unit_test(test_exec_fails),
		cmocka_unit_test(test_cancel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
