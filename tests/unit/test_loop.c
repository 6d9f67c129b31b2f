/*
 * loop: timers in deadline order and only once, cancelled timers, fd
 * watches on a pipe, a watch removed by an earlier callback of the same
 * round, a watch deleted before (and, wrongly, after) its fd is closed
 * while a child holds the file, signals through the signalfd, and loop_quit.
 * Every run is bounded by a safety timer that stops the loop and fails the
 * test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawnfs/loop.h"

#define SAFETY_MS 5000

/* A timer that ends a run that would otherwise never stop. */
struct safety {
	struct loop *l;
	struct loop_timer *t;
	bool fired;
};

static void safety_cb(void *arg)
{
	struct safety *s = arg;

	s->fired = true;
	s->t = NULL; /* freed by the loop once this returns */
	loop_quit(s->l);
}

static void safety_arm(struct safety *s, struct loop *l)
{
	s->l = l;
	s->fired = false;
	s->t = loop_timer_add(l, SAFETY_MS, safety_cb, s);
	assert_non_null(s->t);
}

/* Run l until something quits it; fail if only the safety timer did. */
static void run_bounded(struct loop *l)
{
	struct safety s;

	safety_arm(&s, l);
	assert_int_equal(loop_run(l), 0);
	assert_false(s.fired);
	loop_timer_del(s.t);
}

static void quit_cb(void *arg)
{
	loop_quit(arg);
}

/* Timers record their id, in firing order, here. */
struct fired {
	int ids[16];
	int n;
};

struct mark {
	struct fired *f;
	int id;
};

static void mark_cb(void *arg)
{
	struct mark *m = arg;

	assert_true(m->f->n < 16);
	m->f->ids[m->f->n++] = m->id;
}

static void test_timers_in_deadline_order_once(void **state)
{
	struct loop *l = loop_new();
	struct fired f = {.n = 0};
	struct mark m[4] = {{&f, 30}, {&f, 10}, {&f, 20}, {&f, 21}};
	uint64_t ms[4] = {30, 10, 20, 20};
	int i;

	(void)state;
	assert_non_null(l);
	for (i = 0; i < 4; i++)
		assert_non_null(loop_timer_add(l, ms[i], mark_cb, &m[i]));
	assert_non_null(loop_timer_add(l, 80, quit_cb, l));
	run_bounded(l);
	/* Equal deadlines keep the order they were added in. */
	assert_int_equal(f.n, 4);
	assert_int_equal(f.ids[0], 10);
	assert_int_equal(f.ids[1], 20);
	assert_int_equal(f.ids[2], 21);
	assert_int_equal(f.ids[3], 30);
	/* A second run fires none of them again. */
	assert_non_null(loop_timer_add(l, 50, quit_cb, l));
	run_bounded(l);
	assert_int_equal(f.n, 4);
	loop_free(l);
}

/* A timer that cancels another one, not yet due. */
struct canceller {
	struct loop_timer *victim;
};

static void cancel_cb(void *arg)
{
	struct canceller *c = arg;

	loop_timer_del(c->victim);
	c->victim = NULL;
}

static void test_timer_del_cancels(void **state)
{
	struct loop *l = loop_new();
	struct fired f = {.n = 0};
	struct mark m[3] = {{&f, 1}, {&f, 2}, {&f, 3}};
	struct canceller c;
	struct loop_timer *t1;

	(void)state;
	assert_non_null(l);
	t1 = loop_timer_add(l, 10, mark_cb, &m[0]);
	assert_non_null(t1);
	assert_non_null(loop_timer_add(l, 20, mark_cb, &m[1]));
	c.victim = loop_timer_add(l, 40, mark_cb, &m[2]);
	assert_non_null(c.victim);
	assert_non_null(loop_timer_add(l, 15, cancel_cb, &c));
	assert_non_null(loop_timer_add(l, 80, quit_cb, l));
	loop_timer_del(t1); /* the earliest: the timerfd is re-armed later */
	loop_timer_del(NULL);
	run_bounded(l);
	assert_null(c.victim);
	assert_int_equal(f.n, 1);
	assert_int_equal(f.ids[0], 2);
	loop_free(l);
}

static void make_pipe(int fds[2])
{
	assert_int_equal(pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
}

static void put_byte(int fd, char c)
{
	assert_int_equal(write(fd, &c, 1), 1);
}

/* A watch on the read end of a pipe. */
struct watch {
	struct loop *l;
	struct loop_io *io;
	int fd;
	int calls;
	uint32_t events;
	char got;
	bool drain;	     /* read one byte per call */
	bool pause;	     /* loop_io_mod(io, 0) on the first call */
	struct watch *other; /* deleted by the first call, if set */
};

static void watch_cb(void *arg, uint32_t events)
{
	struct watch *w = arg;

	w->calls++;
	w->events = events;
	if (w->drain)
		assert_int_equal(read(w->fd, &w->got, 1), 1);
	if (w->pause)
		assert_int_equal(loop_io_mod(w->io, 0), 0);
	if (w->other && w->other->io) {
		loop_io_del(w->other->io);
		w->other->io = NULL;
	}
	if (w->drain || w->other)
		loop_quit(w->l);
}

/* A new pipe in fds whose read end w watches for EPOLLIN. */
static void watch_pipe(struct loop *l, struct watch *w, int fds[2])
{
	make_pipe(fds);
	w->fd = fds[0];
	w->io = loop_io_add(l, fds[0], EPOLLIN, watch_cb, w);
	assert_non_null(w->io);
}

static void test_io_pipe_readable(void **state)
{
	struct loop *l = loop_new();
	struct watch w = {.l = l, .drain = true};
	int fds[2];

	(void)state;
	assert_non_null(l);
	watch_pipe(l, &w, fds);
	put_byte(fds[1], 'x');
	run_bounded(l);
	assert_int_equal(w.calls, 1);
	assert_true(w.events & EPOLLIN);
	assert_int_equal(w.got, 'x');
	loop_io_del(w.io);
	loop_io_del(NULL);
	loop_free(l);
	close(fds[0]);
	close(fds[1]);
}

static void test_io_mod_zero_stops(void **state)
{
	struct loop *l = loop_new();
	struct watch w = {.l = l, .pause = true};
	int fds[2];

	(void)state;
	assert_non_null(l);
	watch_pipe(l, &w, fds);
	/* The byte is never read: level-triggered, only the pause stops the
	 * callbacks; closing the writer (a hang-up) must not wake it either. */
	put_byte(fds[1], 'x');
	assert_non_null(loop_timer_add(l, 50, quit_cb, l));
	run_bounded(l);
	assert_int_equal(w.calls, 1);
	close(fds[1]);
	assert_non_null(loop_timer_add(l, 50, quit_cb, l));
	run_bounded(l);
	assert_int_equal(w.calls, 1);
	/* Watched again, the fd calls back again. */
	w.pause = false;
	w.drain = true;
	assert_int_equal(loop_io_mod(w.io, EPOLLIN), 0);
	run_bounded(l);
	assert_int_equal(w.calls, 2);
	assert_int_equal(w.got, 'x');
	loop_io_del(w.io);
	loop_free(l);
	close(fds[0]);
}

static void test_io_del_in_same_round(void **state)
{
	struct loop *l = loop_new();
	struct watch w[2] = {{.l = l}, {.l = l}};
	int fds[2][2], i;

	(void)state;
	assert_non_null(l);
	/* Both readable before the run: one epoll_wait returns both. Which
	 * one comes first is epoll's choice, so each would delete the other;
	 * the one deleted must not be called, nor its memory touched (ASan
	 * and valgrind runs of this test check the latter). */
	w[0].other = &w[1];
	w[1].other = &w[0];
	for (i = 0; i < 2; i++) {
		watch_pipe(l, &w[i], fds[i]);
		put_byte(fds[i][1], 'x');
	}
	run_bounded(l);
	assert_int_equal(w[0].calls + w[1].calls, 1);
	assert_true(!w[0].io != !w[1].io);
	for (i = 0; i < 2; i++) {
		loop_io_del(w[i].io);
		close(fds[i][0]);
		close(fds[i][1]);
	}
	loop_free(l);
}

/* A child that holds a copy of fd (as a child between fork and exec
 * holds the daemon's pipes) until it reads a byte from its stdin pipe;
 * returns its pid, and the write end that releases it in *release. */
static pid_t hold_copy(int fd, int *release)
{
	int gate[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe2(gate, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		(void)fd; /* inherited: held until _exit */
		close(gate[1]);
		_exit(read(gate[0], &c, 1) < 0);
	}
	close(gate[0]);
	*release = gate[1];
	return pid;
}

static void test_io_close_deletes_before_close(void **state)
{
	struct loop *l = loop_new();
	struct watch w = {.l = l};
	int fds[2], release, status;
	pid_t pid;

	(void)state;
	assert_non_null(l);
	watch_pipe(l, &w, fds);
	pid = hold_copy(fds[0], &release);
	/* The writer goes: a hang-up on a file the child still holds. Had
	 * the fd been closed first, epoll would go on reporting it for a
	 * freed watch; deleted first, it is never reported. */
	loop_io_close(&w.io, &w.fd);
	assert_null(w.io);
	assert_int_equal(w.fd, -1);
	close(fds[1]);
	assert_non_null(loop_timer_add(l, 50, quit_cb, l));
	run_bounded(l);
	assert_int_equal(w.calls, 0);
	put_byte(release, 'x');
	close(release);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	loop_io_close(&w.io, &w.fd); /* both already gone: a no-op */
	loop_free(l);
}

static void test_io_del_after_close_is_kept(void **state)
{
	struct loop *l = loop_new();
	struct watch w = {.l = l};
	int fds[2], release, status;
	pid_t pid;

	(void)state;
	assert_non_null(l);
	watch_pipe(l, &w, fds);
	pid = hold_copy(fds[0], &release);
	/* The caller's bug: closed first. The delete fails (EBADF), is
	 * logged, and the record is kept, so the hang-up epoll still
	 * reports touches no freed memory (ASan, valgrind) and calls no
	 * callback. */
	close(fds[0]);
	loop_io_del(w.io);
	close(fds[1]);
	assert_non_null(loop_timer_add(l, 50, quit_cb, l));
	run_bounded(l);
	assert_int_equal(w.calls, 0);
	put_byte(release, 'x');
	close(release);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	loop_free(l);
}

struct sig {
	struct loop *l;
	int signo;
	int calls;
	bool quit;
};

static void sig_cb(void *arg, int signo)
{
	struct sig *s = arg;

	s->signo = signo;
	s->calls++;
	if (s->quit)
		loop_quit(s->l);
}

static void kill_self_cb(void *arg)
{
	assert_int_equal(kill(getpid(), *(int *)arg), 0);
}

static void test_signal_through_callback(void **state)
{
	struct loop *l = loop_new();
	struct sig one = {.l = l}, two = {.l = l, .quit = true};
	int usr2 = SIGUSR2;

	(void)state;
	assert_non_null(l);
	assert_int_equal(loop_signal(l, 0, sig_cb, &one), -EINVAL);
	assert_int_equal(loop_signal(l, SIGUSR1, sig_cb, &one), 0);
	assert_int_equal(loop_signal(l, SIGUSR2, sig_cb, &two), 0);
	/* Raised before the run: pending, not lost, and not fatal. */
	assert_int_equal(raise(SIGUSR1), 0);
	/* Sent during the run, from a timer callback. */
	assert_non_null(loop_timer_add(l, 20, kill_self_cb, &usr2));
	run_bounded(l);
	assert_int_equal(one.calls, 1);
	assert_int_equal(one.signo, SIGUSR1);
	assert_int_equal(two.calls, 1);
	assert_int_equal(two.signo, SIGUSR2);
	loop_free(l);
}

/* A loop made before fork (as fuse_daemonize forks after the mount):
 * in the child, a signal wakes it only once loop_forked made the
 * signalfd anew. The child's exit status: 0 seen, 1 not seen in time. */
static int forked_child_sees_signal(bool forked)
{
	struct loop *l = loop_new();
	struct sig one = {.l = l, .quit = true};
	int usr1 = SIGUSR1, st;
	pid_t pid;

	assert_non_null(l);
	assert_int_equal(loop_signal(l, SIGUSR1, sig_cb, &one), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if ((forked && loop_forked(l) < 0) ||
		    !loop_timer_add(l, 20, kill_self_cb, &usr1) ||
		    !loop_timer_add(l, 1000, quit_cb, l))
			_exit(2);
		loop_run(l);
		_exit(one.calls == 1 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	loop_free(l);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void test_forked_child_watches_signals(void **state)
{
	(void)state;
	/* The trap: without loop_forked the child never wakes. */
	assert_int_equal(forked_child_sees_signal(false), 1);
	assert_int_equal(forked_child_sees_signal(true), 0);
}

static void test_quit_ends_run(void **state)
{
	struct loop *l = loop_new();
	struct fired f = {.n = 0};
	struct mark late = {&f, 1};
	struct loop_timer *t;
	uint64_t t0;

	(void)state;
	assert_non_null(l);
	t = loop_timer_add(l, 2000, mark_cb, &late);
	assert_non_null(t);
	assert_non_null(loop_timer_add(l, 10, quit_cb, l));
	t0 = loop_now_ms();
	run_bounded(l);
	assert_true(loop_now_ms() - t0 < 2000);
	assert_int_equal(f.n, 0);
	loop_timer_del(t);
	loop_free(l);
	loop_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timers_in_deadline_order_once),
		cmocka_unit_test(test_timer_del_cancels),
		cmocka_unit_test(test_io_pipe_readable),
		cmocka_unit_test(test_io_mod_zero_stops),
		cmocka_unit_test(test_io_del_in_same_round),
		cmocka_unit_test(test_io_close_deletes_before_close),
		cmocka_unit_test(test_io_del_after_close_is_kept),
		cmocka_unit_test(test_signal_through_callback),
		cmocka_unit_test(test_quit_ends_run),
		cmocka_unit_test(test_forked_child_watches_signals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
