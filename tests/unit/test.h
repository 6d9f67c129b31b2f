/*
 * What the unit tests share: cmocka and its prerequisites in the order
 * it needs them, array and literal sizes, and the checks that name the
 * table row that failed.
 */
#ifndef SPAWNFS_TEST_H
#define SPAWNFS_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "spawnfs/loop.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define LEN(s)	      (sizeof(s) - 1) /* string literal length, NULs kept */

/* Integer and string checks that name the table row on failure. */
#define EXPECT_INT(row, got, want)                                       \
	do {                                                             \
		long long g_ = (long long)(got), w_ = (long long)(want); \
		if (g_ != w_)                                            \
			fail_msg("row %zu: %s is %lld, want %lld",       \
				 (size_t)(row), #got, g_, w_);           \
	} while (0)
#define EXPECT_STR(row, got, want)                                             \
	do {                                                                   \
		const char *g_ = (got), *w_ = (want);                          \
		if (!g_ || strcmp(g_, w_) != 0)                                \
			fail_msg("row %zu: %s is \"%s\", want \"%s\"",         \
				 (size_t)(row), #got, g_ ? g_ : "(null)", w_); \
	} while (0)

static inline void test_quit_cb(void *arg)
{
	loop_quit(arg);
}

/* Run l for ms: a timer quits it (what was woken is answered after
 * each dispatch, so this also lets the ready list run). */
static inline void test_run_for(struct loop *l, uint64_t ms)
{
	struct loop_timer t;

	loop_timer_init(&t, l, test_quit_cb, l);
	loop_timer_arm(&t, ms);
	assert_int_equal(loop_run(l), 0);
}

#endif
