/*
 * ctlrun: ctl sessions and the command table, without a mount. A session
 * runs a write's lines in order; after a failed line it refuses every
 * later write with the same errno and runs nothing (fail-stop) while a
 * new session starts clean; settings read back in a fixed order; a
 * setting while a start is under way is EBUSY; a stopping daemon refuses
 * with ESHUTDOWN; failed lines are counted by errno.
 */
#include "test.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spawnfs/config.h"
#include "spawnfs/ctlrun.h"
#include "spawnfs/loop.h"
#include "spawnfs/proc.h"

struct fixture {
	struct loop *l;
	struct cfg cfg;
	struct proc_ctx *ctx;
	struct proc *p;
	struct ctlrun c;
	struct run_settings set; /* the slot's next run's */
};

static const struct proc_hooks hooks;

static struct run_settings *settings_of(void *arg, struct proc *p)
{
	(void)p;
	return &((struct fixture *)arg)->set;
}

static void fx_init(struct fixture *x)
{
	memset(x, 0, sizeof(*x));
	x->l = loop_new();
	assert_non_null(x->l);
	assert_int_equal(cfg_defaults(&x->cfg), 0);
	x->ctx = proc_ctx_new(x->l, &x->cfg, &hooks, NULL, NULL, NULL);
	assert_non_null(x->ctx);
	x->p = proc_new(x->ctx, "a", 1, getuid(), getgid(), NULL);
	assert_non_null(x->p);
	x->c.shell = "/bin/sh";
	x->c.settings = settings_of;
	x->c.arg = x;
	assert_int_equal(settings_init(&x->set), 0);
}

static void fx_free(struct fixture *x)
{
	proc_remove(x->p);
	proc_ctx_free(x->ctx);
	settings_fini(&x->set);
	cfg_free(&x->cfg);
	loop_free(x->l);
}

static int write_str(struct fixture *x, struct ctl_session *s, const char *t)
{
	return ctlrun_write(&x->c, s, x->p, getuid(), t, strlen(t));
}

/* The read-back as a string (freed by the caller). */
static char *readback(struct fixture *x)
{
	struct jbuf b;

	jbuf_init(&b);
	ctlrun_text(&x->set, &b);
	jbuf_put(&b, "", 1);
	return b.data;
}

static void test_fail_stop_per_session(void **state)
{
	struct ctl_session *s = ctlrun_session_new(), *t;
	struct metrics_view v;
	struct fixture x;
	char *text;

	(void)state;
	fx_init(&x);
	assert_non_null(s);
	/* Lines run in order; a bad one stops the write there. */
	assert_int_equal(write_str(&x, s, "env A=1\nbogus\nenv B=2\n"),
			 -EINVAL);
	/* From then on nothing runs through s, whatever the line. */
	assert_int_equal(write_str(&x, s, "env C=3\n"), -EINVAL);
	assert_int_equal(write_str(&x, s, "cwd /tmp\n"), -EINVAL);
	text = readback(&x);
	assert_string_equal(text, "env A=1\n");
	free(text);
	/* A new open starts clean; the read-back has a fixed order. */
	t = ctlrun_session_new();
	assert_non_null(t);
	assert_int_equal(write_str(&x, t, "timeout 5\nstdin pipe\ncwd /tmp"),
			 0);
	text = readback(&x);
	assert_string_equal(text,
			    "cwd /tmp\nenv A=1\nstdin pipe\ntimeout 5.000\n");
	free(text);
	/* Counted by errno: the bad line, not the refused writes. */
	memset(&v, 0, sizeof(v));
	ctlrun_metrics(&x.c, &v);
	assert_int_equal(v.ctl_errors[EINVAL], 1);
	/* A stopping daemon refuses every write. */
	x.c.stopping = true;
	assert_int_equal(write_str(&x, t, "env D=4\n"), -ESHUTDOWN);
	ctlrun_session_free(s);
	ctlrun_session_free(t);
	fx_free(&x);
}

static void test_settings_busy_while_starting(void **state)
{
	struct ctl_session *s = ctlrun_session_new();
	struct fixture x;

	(void)state;
	fx_init(&x);
	assert_non_null(s);
	/* The start is awaited: the write keeps its later lines. */
	assert_int_equal(write_str(&x, s, "exec sleep 5\nenv LATE=1\n"),
			 -EINPROGRESS);
	assert_true(proc_starting(x.p));
	/* Meanwhile any line, through any session, is EBUSY. */
	{
		struct ctl_session *t = ctlrun_session_new();

		assert_non_null(t);
		assert_int_equal(write_str(&x, t, "kill\n"), -EBUSY);
		ctlrun_session_free(t);
	}
	assert_int_equal(ctlrun_resume(&x.c, s, x.p), -EINPROGRESS);
	/* Interrupted: the kept lines are dropped, never run. */
	ctlrun_session_cancel(s);
	ctlrun_session_free(s);
	fx_free(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fail_stop_per_session),
		cmocka_unit_test(test_settings_busy_while_starting),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
