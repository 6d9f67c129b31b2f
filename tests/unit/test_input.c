/*
 * input: writes into a real pipe until it is full, the callback once the
 * reader makes room (and not before), a failed write that closes it, end
 * of input on a pipe (closed) and on a terminal (^D typed), and a free
 * that closes without the callback. Loop runs are bounded by a timer.
 */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <unistd.h>

#include "spawnfs/input.h"
#include "spawnfs/loop.h"

struct seen {
	struct loop *l;
	int ready;
	bool timed_out;
};

static void on_ready(void *arg)
{
	struct seen *s = arg;

	s->ready++;
	loop_quit(s->l);
}

static void on_timeout(void *arg)
{
	struct seen *s = arg;

	s->timed_out = true;
	loop_quit(s->l);
}

/* Run until a callback quits, or ms have passed. */
static void run_for(struct seen *s, uint64_t ms)
{
	struct loop_timer t;

	loop_timer_init(&t, s->l, on_timeout, s);
	loop_timer_arm(&t, ms);
	s->timed_out = false;
	assert_int_equal(loop_run(s->l), 0);
	loop_timer_stop(&t);
}

/* A pipe whose write end is non-blocking and one page big. */
static void make_pipe(int fds[2])
{
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	assert_true(fcntl(fds[1], F_SETPIPE_SZ, 4096) >= 4096);
	assert_int_equal(fcntl(fds[1], F_SETFL, O_NONBLOCK), 0);
}

static void test_full_then_ready(void **state)
{
	struct seen s = {.l = loop_new()};
	char buf[1024] = {0}, sink[65536];
	struct input *in;
	size_t total = 0;
	ssize_t w;
	int fds[2];

	(void)state;
	assert_non_null(s.l);
	in = input_new(s.l, on_ready, &s);
	assert_non_null(in);
	assert_int_equal(input_write(in, buf, 1), -EPIPE); /* not attached */
	make_pipe(fds);
	assert_int_equal(input_attach(in, &fds[1], false), 0);
	assert_int_equal(fds[1], -1);
	while ((w = input_write(in, buf, sizeof(buf))) > 0)
		total += (size_t)w;
	assert_int_equal(w, -EAGAIN);
	assert_true(total >= 4096);
	/* Nobody made room: no callback. */
	run_for(&s, 100);
	assert_true(s.timed_out);
	assert_int_equal(s.ready, 0);
	/* The reader drains: writable, once. */
	assert_true(read(fds[0], sink, sizeof(sink)) > 0);
	run_for(&s, 5000);
	assert_false(s.timed_out);
	assert_int_equal(s.ready, 1);
	run_for(&s, 100);
	assert_int_equal(s.ready, 1);
	assert_true(input_write(in, buf, 1) == 1);
	input_close(in);
	assert_int_equal(s.ready, 2);
	input_close(in); /* already closed: nothing */
	assert_int_equal(s.ready, 2);
	assert_int_equal(read(fds[0], sink, sizeof(sink)) > 0, 1);
	assert_int_equal(read(fds[0], sink, sizeof(sink)), 0); /* EOF */
	close(fds[0]);
	input_free(in);
	loop_free(s.l);
}

static void test_failed_write_closes(void **state)
{
	struct seen s = {.l = loop_new()};
	struct input *in = input_new(s.l, on_ready, &s);
	int fds[2];

	(void)state;
	assert_non_null(in);
	signal(SIGPIPE, SIG_IGN);
	make_pipe(fds);
	assert_int_equal(input_attach(in, &fds[1], false), 0);
	close(fds[0]);
	assert_int_equal(input_write(in, "x", 1), -EPIPE);
	assert_int_equal(s.ready, 1);
	assert_int_equal(input_write(in, "x", 1), -EPIPE);
	assert_int_equal(s.ready, 1);
	input_free(in);
	loop_free(s.l);
}

static void test_eof_pipe_and_tty(void **state)
{
	struct seen s = {.l = loop_new()};
	struct input *in = input_new(s.l, on_ready, &s);
	int fds[2];
	char c = 0;

	(void)state;
	assert_non_null(in);
	/* A pipe: end of input closes it. */
	make_pipe(fds);
	assert_int_equal(input_attach(in, &fds[1], false), 0);
	assert_int_equal(input_eof(in), 0);
	assert_int_equal(s.ready, 1);
	assert_int_equal(read(fds[0], &c, 1), 0);
	close(fds[0]);
	/* A terminal (a pipe stands in for its master): ^D, still open. */
	make_pipe(fds);
	assert_int_equal(input_attach(in, &fds[1], true), 0);
	assert_int_equal(input_eof(in), 0);
	assert_int_equal(s.ready, 1);
	assert_int_equal(read(fds[0], &c, 1), 1);
	assert_int_equal(c, 4);
	assert_int_equal(input_write(in, "y", 1), 1);
	/* Freed while open: closed, without the callback. */
	input_free(in);
	assert_int_equal(s.ready, 1);
	assert_int_equal(read(fds[0], &c, 1), 1);
	assert_int_equal(read(fds[0], &c, 1), 0);
	close(fds[0]);
	input_free(NULL);
	loop_free(s.l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_then_ready),
		cmocka_unit_test(test_failed_write_closes),
		cmocka_unit_test(test_eof_pipe_and_tty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
