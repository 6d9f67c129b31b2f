/*
 * proc: the join rule of a run, through the real loop and real children
 * (process groups, no cgroup). A run is over (the done hook) only once
 * its leader is reaped AND its pipes reached end of file or were cut, in
 * either order: a grandchild that holds the output keeps the run going
 * after the leader's exit until drain_timeout cuts the pipe and the group
 * is empty; output closed before the exit ends the run at the reap.
 */
#include "test.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spawnfs/config.h"
#include "spawnfs/loop.h"
#include "spawnfs/proc.h"

struct seen {
	struct loop *l;
	struct proc_ctx *ctx;
	int started, ended, done;
	uint64_t ended_ms, done_ms;
	bool busy_at_end; /* proc_busy when the ended hook ran */
	bool timed_out;
	struct loop_timer safety;
};

static void on_started(void *arg, struct proc *p)
{
	(void)p;
	((struct seen *)arg)->started++;
}

static void on_ended(void *arg, struct proc *p)
{
	struct seen *s = arg;

	if (proc_wait_status(p) < 0 || s->done)
		return; /* a start, or the logs ended by proc_remove */
	s->ended++;
	s->ended_ms = loop_now_ms();
	s->busy_at_end = proc_busy(p);
}

static void on_done(void *arg, struct proc *p)
{
	struct seen *s = arg;

	(void)p;
	s->done++;
	s->done_ms = loop_now_ms();
	loop_quit(s->l);
}

static void on_sigchld(void *arg, int signo)
{
	(void)signo;
	proc_sigchld(((struct seen *)arg)->ctx);
}

static void on_safety(void *arg)
{
	struct seen *s = arg;

	s->timed_out = true;
	loop_quit(s->l);
}

static const struct proc_hooks hooks = {
	.ended = on_ended,
	.done = on_done,
	.started = on_started,
};

/* Run sh -c script in a fresh slot until the run is over (5 s at most). */
static void run_script(struct seen *s, struct cfg *cfg, const char *script)
{
	char *words[] = {"/bin/sh", "-c", (char *)script, NULL};
	struct run_settings set;
	struct proc *p;

	memset(s, 0, sizeof(*s));
	s->l = loop_new();
	assert_non_null(s->l);
	s->ctx = proc_ctx_new(s->l, cfg, &hooks, s, NULL, NULL);
	assert_non_null(s->ctx);
	assert_int_equal(loop_signal(s->l, SIGCHLD, on_sigchld, s), 0);
	p = proc_new(s->ctx, "t", 1, getuid(), getgid(), NULL);
	assert_non_null(p);
	assert_int_equal(settings_init(&set), 0);
	assert_int_equal(proc_start(p, &set, words), -EINPROGRESS);
	settings_fini(&set); /* the run has its own copy */
	loop_timer_init(&s->safety, s->l, on_safety, s);
	loop_timer_arm(&s->safety, 5000);
	assert_int_equal(loop_run(s->l), 0);
	loop_timer_stop(&s->safety);
	assert_false(s->timed_out);
	assert_int_equal(s->started, 1);
	assert_int_equal(proc_start_result(p), 0);
	assert_int_equal(proc_wait_status(p), 0);
	assert_false(proc_busy(p));
	proc_remove(p);
	proc_ctx_free(s->ctx);
	loop_free(s->l);
}

static void test_output_outlives_the_leader(void **state)
{
	struct cfg cfg;
	struct seen s;

	(void)state;
	assert_int_equal(cfg_defaults(&cfg), 0);
	cfg.drain_timeout_ms = 200;
	/* The leader exits at once; its grandchild holds stdout 0.5 s. */
	run_script(&s, &cfg, "sleep 0.5 & exit 0");
	assert_int_equal(s.ended, 1);
	assert_int_equal(s.done, 1);
	assert_true(s.busy_at_end); /* reaped, but not over */
	assert_true(s.done_ms >= s.ended_ms + 150);
	cfg_free(&cfg);
}

static void test_output_closed_before_the_exit(void **state)
{
	struct cfg cfg;
	struct seen s;

	(void)state;
	assert_int_equal(cfg_defaults(&cfg), 0);
	/* End of file on both pipes first, the exit 0.2 s later: over at
	 * the reap, with no drain to wait for. */
	run_script(&s, &cfg, "exec >&- 2>&-; sleep 0.2");
	assert_int_equal(s.ended, 1);
	assert_int_equal(s.done, 1);
	assert_true(s.done_ms - s.ended_ms < 800); /* drain_timeout: 1000 */
	cfg_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_output_outlives_the_leader),
		cmocka_unit_test(test_output_closed_before_the_exit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
