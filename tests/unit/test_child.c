/* child: exits reaped through pidfd or SIGCHLD, stops and continues, and
 * orphans reaped without taking a watched or kept child's status. */
#include "test.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawnfs/child.h"
#include "spawnfs/loop.h"

struct seen {
	struct loop *l;
	int exits, status, code;
	int stops, conts;
	bool timed_out;
};

static void on_exit_cb(void *arg, const siginfo_t *si)
{
	struct seen *s = arg;

	s->exits++;
	s->code = si->si_code;
	s->status = si->si_status;
	loop_quit(s->l);
}

static void on_stop_cb(void *arg, bool stopped)
{
	struct seen *s = arg;

	if (stopped)
		s->stops++;
	else
		s->conts++;
	loop_quit(s->l);
}

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

/* Run until a callback quits, 5 s at most. */
static void run(struct seen *s)
{
	struct loop_timer t;

	loop_timer_init(&t, s->l, on_timeout, s);
	loop_timer_arm(&t, 5000);
	loop_run(s->l);
	assert_false(s->timed_out);
	loop_timer_stop(&t);
}

static pid_t child_exiting(int code, unsigned delay_ms)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		usleep(delay_ms * 1000);
		_exit(code);
	}
	return pid;
}

static void test_exit_status(void **state)
{
	struct loop *l = loop_new();
	struct child_set *set = child_set_new(l);
	struct seen s = {.l = l};
	struct child *c;

	(void)state;
	assert_non_null(set);
	assert_int_equal(loop_signal(l, SIGCHLD, on_sigchld, set), 0);
	c = child_watch(set, child_exiting(3, 50), on_exit_cb, on_stop_cb, &s);
	assert_non_null(c);
	run(&s);
	assert_int_equal(s.exits, 1);
	assert_int_equal(s.code, CLD_EXITED);
	assert_int_equal(s.status, 3);
	/* One that exited before it was watched: child_check finds it
	 * whichever way the kernel watches. */
	s.exits = 0;
	{
		pid_t pid = child_exiting(4, 0);
		siginfo_t si;

		/* Let it become a zombie without reaping it. */
		assert_int_equal(
			waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
		c = child_watch(set, pid, on_exit_cb, on_stop_cb, &s);
		assert_non_null(c);
		child_check(c);
		if (!s.exits)
			run(&s); /* a pidfd reports it through the loop */
		assert_int_equal(s.exits, 1);
		assert_int_equal(s.status, 4);
	}
	child_set_free(set);
	loop_free(l);
}

static void test_stop_continue_kill(void **state)
{
	struct loop *l = loop_new();
	struct child_set *set = child_set_new(l);
	struct seen s = {.l = l};
	struct child *c;
	pid_t pid;

	(void)state;
	assert_int_equal(loop_signal(l, SIGCHLD, on_sigchld, set), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		for (;;)
			pause();
	}
	c = child_watch(set, pid, on_exit_cb, on_stop_cb, &s);
	assert_non_null(c);
	assert_int_equal(kill(pid, SIGSTOP), 0);
	run(&s);
	assert_int_equal(s.stops, 1);
	assert_int_equal(kill(pid, SIGCONT), 0);
	run(&s);
	assert_int_equal(s.conts, 1);
	assert_int_equal(kill(pid, SIGKILL), 0);
	run(&s);
	assert_int_equal(s.exits, 1);
	assert_int_equal(s.code, CLD_KILLED);
	assert_int_equal(s.status, SIGKILL);
	child_set_free(set);
	loop_free(l);
}

static void test_unwatch(void **state)
{
	struct loop *l = loop_new();
	struct child_set *set = child_set_new(l);
	struct seen s = {.l = l};
	struct child *c;
	pid_t pid = child_exiting(0, 0);
	int st;

	(void)state;
	c = child_watch(set, pid, on_exit_cb, on_stop_cb, &s);
	assert_non_null(c);
	child_unwatch(c);
	child_unwatch(NULL);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(s.exits, 0);
	child_set_free(set);
	loop_free(l);
}

/* The status of pid as left for its owner: it must still be there. */
static int status_left(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WEXITSTATUS(status);
}

static void test_orphans_reaped_owned_left(void **state)
{
	struct loop *l = loop_new();
	struct child_set *set = child_set_new(l);
	struct seen s = {.l = l};
	pid_t orphan, kept, watched;
	struct child *k, *c;
	siginfo_t si;

	(void)state;
	assert_non_null(set);
	/* Exited, in this order: a kept child (its owner reaps it), an
	 * orphan (nobody waits for it), a watched child. The kept one is
	 * the oldest, so the walk stops at it; unkept, the walk goes on. */
	kept = child_exiting(5, 0);
	assert_int_equal(waitid(P_PID, (id_t)kept, &si, WEXITED | WNOWAIT), 0);
	k = child_keep(set, kept);
	assert_non_null(k);
	orphan = child_exiting(6, 0);
	assert_int_equal(waitid(P_PID, (id_t)orphan, &si, WEXITED | WNOWAIT),
			 0);
	watched = child_exiting(7, 0);
	assert_int_equal(waitid(P_PID, (id_t)watched, &si, WEXITED | WNOWAIT),
			 0);
	c = child_watch(set, watched, on_exit_cb, on_stop_cb, &s);
	assert_non_null(c);
	child_set_orphans(set);
	assert_int_equal(child_set_orphans_reaped(set), 0);
	assert_int_equal(s.exits, 0);
	/* The owner takes its status; then the walk reaps the orphan and
	 * hands the watched child's status to its watch. */
	assert_int_equal(status_left(kept), 5);
	child_unwatch(k);
	child_set_sigchld(set);
	assert_int_equal(child_set_orphans_reaped(set), 1);
	assert_int_equal(s.exits, 1);
	assert_int_equal(s.status, 7);
	assert_int_equal(waitpid(orphan, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	child_set_free(set);
	loop_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_status),
		cmocka_unit_test(test_stop_continue_kill),
		cmocka_unit_test(test_unwatch),
		cmocka_unit_test(test_orphans_reaped_owned_left),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
