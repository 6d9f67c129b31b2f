/*
 * slots: the reap rules, through the real loop and timers. reap_new_after
 * removes a slot that clone made, that no ctl line touched and that no
 * handle holds; a touched slot stays; a held one stays until its handle
 * goes, then is removed; a named slot is never litter. reap_after removes
 * an ended slot (here, a failed start) nobody holds.
 */
#include "test.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spawnfs/config.h"
#include "spawnfs/handle.h"
#include "spawnfs/loop.h"
#include "spawnfs/proc.h"
#include "spawnfs/slots.h"

struct fixture {
	struct loop *l;
	struct cfg cfg;
	struct handle_set *hs;
	struct slots *sl;
};

static void fx_init(struct fixture *x, unsigned reap_new_ms,
		    unsigned reap_after_ms)
{
	memset(x, 0, sizeof(*x));
	x->l = loop_new();
	assert_non_null(x->l);
	assert_int_equal(cfg_defaults(&x->cfg), 0);
	x->cfg.reap_new_ms = reap_new_ms;
	x->cfg.reap_after_ms = reap_after_ms;
	x->hs = handle_set_new(NULL, x->l);
	assert_non_null(x->hs);
	x->sl = slots_new(x->l, &x->cfg, NULL, NULL, x->hs, NULL, NULL, NULL);
	assert_non_null(x->sl);
}

static void fx_free(struct fixture *x)
{
	slots_free(x->sl);
	handle_set_free(x->hs);
	cfg_free(&x->cfg);
	loop_free(x->l);
}

static struct proc *cloned(struct fixture *x)
{
	int err;
	struct proc *p = slots_clone(x->sl, getuid(), getgid(), &err);

	assert_non_null(p);
	return p;
}

static bool present(struct fixture *x, uint64_t id)
{
	return slots_by_id(x->sl, id) != NULL;
}

static void test_reap_new_after(void **state)
{
	struct fixture x;
	struct proc *litter, *touched, *held, *named;
	uint64_t id_litter, id_touched, id_held, id_named;
	struct handle *h;
	int err;

	(void)state;
	fx_init(&x, 50, 0);
	litter = cloned(&x);
	touched = cloned(&x);
	held = cloned(&x);
	named = slots_create(x.sl, "named", getuid(), getgid(), &err);
	assert_non_null(named);
	id_litter = proc_id(litter);
	id_touched = proc_id(touched);
	id_held = proc_id(held);
	id_named = proc_id(named);
	slots_touch(touched);
	slots_hold(held);
	h = handle_new(x.hs, held, HANDLE_TEXT, 0, LOGS_STDOUT);
	assert_non_null(h);
	test_run_for(x.l, 150);
	assert_false(present(&x, id_litter));
	assert_true(present(&x, id_touched));
	assert_true(present(&x, id_held));
	assert_true(present(&x, id_named));
	/* The handle goes: the held slot is litter again, and goes too. */
	handle_free(h);
	slots_release(x.sl, held);
	assert_true(present(&x, id_held));
	test_run_for(x.l, 150);
	assert_false(present(&x, id_held));
	assert_true(present(&x, id_touched));
	fx_free(&x);
}

static void test_reap_after_an_ended_run(void **state)
{
	char *argv[] = {"/nonexistent/program", NULL};
	struct fixture x;
	struct proc *p;
	uint64_t id;
	int err;

	(void)state;
	fx_init(&x, 0, 50);
	p = slots_create(x.sl, "gone", getuid(), getgid(), &err);
	assert_non_null(p);
	id = proc_id(p);
	assert_int_equal(proc_start(p, slots_settings(p), argv), -EINPROGRESS);
	test_run_for(x.l, 1000); /* the report, then 50 ms */
	assert_false(present(&x, id));
	fx_free(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reap_new_after),
		cmocka_unit_test(test_reap_after_an_ended_run),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
