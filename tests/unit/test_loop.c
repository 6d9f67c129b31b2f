/*
 * loop: timers in deadline order and only once, stopped, re-armed and
 * many timers in the heap, fd
 * watches on a pipe, a watch removed by an earlier callback of the same
 * round, a watch deleted before (and, wrongly, after) its fd is closed
 * while a child holds the file, signals through the signalfd, and loop_quit.
 * Every run is bounded by a safety timer that stops the loop and fails the
 * test.
 */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>
#include <time.h>

#include "spawnfs/loop.h"

#define SAFETY_MS 5000

/* A timer that ends a run that would otherwise never stop. */
struct safety {
	struct loop *l;
	struct loop_timer t;
	bool fired;
};

static void safety_cb(void *arg)
{
	struct safety *s = arg;

	s->fired = true;
	loop_quit(s->l);
}

/* Run l until something quits it; fail if only the safety timer did. */
static void run_bounded(struct loop *l)
{
	struct safety s = {.l = l};

	loop_timer_init(&s.t, l, safety_cb, &s);
	loop_timer_arm(&s.t, SAFETY_MS);
	assert_int_equal(loop_run(l), 0);
	assert_false(s.fired);
	loop_timer_stop(&s.t);
	assert_false(loop_timer_armed(&s.t));
}

static void quit_cb(void *arg)
{
	loop_quit(arg);
}

/* A timer that quits l after ms, embedded in the caller's frame. */
static void quit_after(struct loop_timer *t, struct loop *l, uint64_t ms)
{
	loop_timer_init(t, l, quit_cb, l);
	loop_timer_arm(t, ms);
}

/* Timers record their id, in firing order, here. */
struct fired {
	int ids[64];
	int n;
};

struct mark {
	struct fired *f;
	int id;
	struct loop_timer t;
};

static void mark_cb(void *arg)
{
	struct mark *m = arg;

	assert_true(m->f->n < 64);
	m->f->ids[m->f->n++] = m->id;
}

static void mark_init(struct mark *m, struct loop *l, struct fired *f, int id)
{
	m->f = f;
	m->id = id;
	loop_timer_init(&m->t, l, mark_cb, m);
}

static void test_timers_in_deadline_order_once(void **state)
{
	struct loop *l = loop_new();
	struct fired f = {.n = 0};
	struct mark m[4];
	int ids[4] = {30, 10, 20, 21};
	uint64_t ms[4] = {30, 10, 20, 20};
	struct loop_timer q;
	int i;

	(void)state;
	assert_non_null(l);
	for (i = 0; i < 4; i++) {
		mark_init(&m[i], l, &f, ids[i]);
		loop_timer_arm(&m[i].t, ms[i]);
		assert_true(loop_timer_armed(&m[i].t));
	}
	quit_after(&q, l, 80);
	run_bounded(l);
	/* Equal deadlines keep the order they were armed in. */
	assert_int_equal(f.n, 4);
	assert_int_equal(f.ids[0], 10);
	assert_int_equal(f.ids[1], 20);
	assert_int_equal(f.ids[2], 21);
	assert_int_equal(f.ids[3], 30);
	for (i = 0; i < 4; i++)
		assert_false(loop_timer_armed(&m[i].t));
	/* A second run fires none of them again. */
	quit_after(&q, l, 50);
	run_bounded(l);
	assert_int_equal(f.n, 4);
	loop_free(l);
}

/* A timer that stops another one, not yet due. */
struct canceller {
	struct loop_timer t;
	struct loop_timer *victim;
};

static void cancel_cb(void *arg)
{
	struct canceller *c = arg;

	loop_timer_stop(c->victim);
}

static void test_timer_stop_cancels(void **state)
{
	struct loop *l = loop_new();
	struct fired f = {.n = 0};
	struct mark m[3];
	struct canceller c;
	struct loop_timer q;
	int i;

	(void)state;
	assert_non_null(l);
	for (i = 0; i < 3; i++)
		mark_init(&m[i], l, &f, i + 1);
	loop_timer_arm(&m[0].t, 10);
	loop_timer_arm(&m[1].t, 20);
	loop_timer_arm(&m[2].t, 40);
	c.victim = &m[2].t;
	loop_timer_init(&c.t, l, cancel_cb, &c);
	loop_timer_arm(&c.t, 15);
	quit_after(&q, l, 80);
	loop_timer_stop(&m[0].t); /* the earliest: the timerfd is re-armed */
	loop_timer_stop(&m[0].t); /* not armed: nothing */
	run_bounded(l);
	assert_false(loop_timer_armed(&m[2].t));
	assert_int_equal(f.n, 1);
	assert_int_equal(f.ids[0], 2);
	loop_free(l);
}

/* A timer that arms itself again, n times. */
struct again {
	struct loop_timer t;
	int left;
	int fired;
};

static void again_cb(void *arg)
{
	struct again *a = arg;

	a->fired++;
	if (--a->left > 0)
		loop_timer_arm(&a->t, 1);
}

static void test_timer_rearm(void **state)
{
	struct loop *l = loop_new();
	struct fired f = {.n = 0};
	struct again a = {.left = 3};
	struct mark m;
	struct loop_timer q;

	(void)state;
	assert_non_null(l);
	/* Armed again before it fires: its deadline moves, it fires once. */
	mark_init(&m, l, &f, 7);
	loop_timer_arm(&m.t, 5);
	loop_timer_arm(&m.t, 30);
	/* Armed from its own callback. */
	loop_timer_init(&a.t, l, again_cb, &a);
	loop_timer_arm(&a.t, 1);
	quit_after(&q, l, 20);
	run_bounded(l);
	assert_int_equal(f.n, 0); /* moved past the quit */
	assert_int_equal(a.fired, 3);
	quit_after(&q, l, 40);
	run_bounded(l);
	assert_int_equal(f.n, 1);
	loop_free(l);
}

/* A pseudo-random sequence, the same in every run. */
static unsigned next_rand(unsigned *x)
{
	*x = *x * 1103515245u + 12345u;
	return (*x >> 16) & 0x7fff;
}

static void test_timer_heap_many(void **state)
{
	struct loop *l = loop_new();
	struct fired f = {.n = 0};
	struct mark m[64];
	struct loop_timer q;
	unsigned x = 42;
	int i, armed = 0, last;

	(void)state;
	assert_non_null(l);
	/* Arm 64 with deadlines in a shuffled order, stop a third of them
	 * and move some: the rest fire in deadline order, each once. */
	for (i = 0; i < 64; i++) {
		mark_init(&m[i], l, &f, i);
		loop_timer_arm(&m[i].t, 1 + next_rand(&x) % 40);
	}
	for (i = 0; i < 64; i += 3)
		loop_timer_stop(&m[i].t);
	for (i = 1; i < 64; i += 5)
		if (i % 3)
			loop_timer_arm(&m[i].t, 1 + next_rand(&x) % 40);
	for (i = 0; i < 64; i++)
		armed += loop_timer_armed(&m[i].t);
	quit_after(&q, l, 100);
	run_bounded(l);
	assert_int_equal(f.n, armed);
	last = -1;
	for (i = 0; i < f.n; i++) {
		struct mark *t = &m[f.ids[i]];

		assert_true(f.ids[i] % 3 != 0);
		assert_false(loop_timer_armed(&t->t));
		assert_true(last < 0 || m[last].t.deadline <= t->t.deadline);
		last = f.ids[i];
	}
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
	struct loop_timer q;
	struct watch w = {.l = l, .pause = true};
	int fds[2];

	(void)state;
	assert_non_null(l);
	watch_pipe(l, &w, fds);
	/* The byte is never read: level-triggered, only the pause stops the
	 * callbacks; closing the writer (a hang-up) must not wake it either. */
	put_byte(fds[1], 'x');
	quit_after(&q, l, 50);
	run_bounded(l);
	assert_int_equal(w.calls, 1);
	close(fds[1]);
	quit_after(&q, l, 50);
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

/* Let the child of hold_copy go, and reap it. */
static void let_go(pid_t pid, int release)
{
	int status;

	put_byte(release, 'x');
	close(release);
	assert_int_equal(waitpid(pid, &status, 0), pid);
}

static void test_io_close_deletes_before_close(void **state)
{
	struct loop *l = loop_new();
	struct loop_timer q;
	struct watch w = {.l = l};
	int fds[2], release;
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
	quit_after(&q, l, 50);
	run_bounded(l);
	assert_int_equal(w.calls, 0);
	let_go(pid, release);
	loop_io_close(&w.io, &w.fd); /* both already gone: a no-op */
	loop_free(l);
}

static void test_io_del_after_close_is_kept(void **state)
{
	struct loop *l = loop_new();
	struct loop_timer q;
	struct watch w = {.l = l};
	int fds[2], release;
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
	quit_after(&q, l, 50);
	run_bounded(l);
	assert_int_equal(w.calls, 0);
	let_go(pid, release);
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
	struct loop_timer k;
	int usr2 = SIGUSR2;

	(void)state;
	assert_non_null(l);
	assert_int_equal(loop_signal(l, 0, sig_cb, &one), -EINVAL);
	assert_int_equal(loop_signal(l, SIGUSR1, sig_cb, &one), 0);
	assert_int_equal(loop_signal(l, SIGUSR2, sig_cb, &two), 0);
	/* Raised before the run: pending, not lost, and not fatal. */
	assert_int_equal(raise(SIGUSR1), 0);
	/* Sent during the run, from a timer callback. */
	loop_timer_init(&k, l, kill_self_cb, &usr2);
	loop_timer_arm(&k, 20);
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
	struct loop_timer k, q;
	int usr1 = SIGUSR1, st;
	pid_t pid;

	assert_non_null(l);
	assert_int_equal(loop_signal(l, SIGUSR1, sig_cb, &one), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (forked && loop_forked(l) < 0)
			_exit(2);
		loop_timer_init(&k, l, kill_self_cb, &usr1);
		loop_timer_arm(&k, 20);
		quit_after(&q, l, 1000);
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
	struct mark late;
	struct loop_timer q;
	uint64_t t0;

	(void)state;
	assert_non_null(l);
	mark_init(&late, l, &f, 1);
	loop_timer_arm(&late.t, 2000);
	quit_after(&q, l, 10);
	t0 = loop_now_ms();
	run_bounded(l);
	assert_true(loop_now_ms() - t0 < 2000);
	assert_int_equal(f.n, 0);
	loop_timer_stop(&late.t);
	loop_free(l);
	loop_free(NULL);
}

static void test_poll_window(void **state)
{
	uint32_t w = 0;
	int i;

	(void)state;
	/* Events soon after going idle: it grows, doubling, up to max. */
	w = loop_poll_next(w, 50, false, 30);
	assert_int_equal(w, LOOP_POLL_START_US);
	w = loop_poll_next(w, 50, false, 30);
	assert_int_equal(w, 2 * LOOP_POLL_START_US);
	w = loop_poll_next(w, 50, false, 50);
	assert_int_equal(w, 4 * LOOP_POLL_START_US);
	w = loop_poll_next(w, 50, false, 1);
	assert_int_equal(w, 50);
	w = loop_poll_next(w, 50, false, 1);
	assert_int_equal(w, 50);
	/* Caught while polling: kept. */
	assert_int_equal(loop_poll_next(w, 50, true, 0), 50);
	/* Events seldom: it halves, then stops polling. */
	w = loop_poll_next(w, 50, false, 51);
	assert_int_equal(w, 25);
	w = loop_poll_next(w, 50, false, 1000000);
	assert_int_equal(w, 12);
	w = loop_poll_next(w, 50, false, 1000000);
	assert_int_equal(w, 0);
	assert_int_equal(loop_poll_next(0, 50, false, 1000000), 0);
	/* Never past max, even one below the start; max 0 never polls. */
	assert_int_equal(loop_poll_next(0, 4, false, 1), 4);
	for (i = 0, w = 0; i < 40; i++)
		w = loop_poll_next(w, 1000, false, 10);
	assert_int_equal(w, 1000);
	assert_int_equal(loop_poll_next(30, 0, false, 1), 0);
	assert_int_equal(loop_poll_next(30, 0, true, 0), 0);
}

/* A child writes count bytes, gap_us apart, into fd. */
static pid_t trickle(int fd, int count, unsigned gap_us)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		for (int i = 0; i < count; i++) {
			struct timespec ts = {0, (long)gap_us * 1000};

			nanosleep(&ts, NULL);
			if (write(fd, "x", 1) != 1)
				_exit(1);
		}
		_exit(0);
	}
	return pid;
}

struct counted {
	struct loop *l;
	int fd, got, want;
};

static void counted_cb(void *arg, uint32_t events)
{
	struct counted *c = arg;
	char b[64];
	ssize_t n = read(c->fd, b, sizeof(b));

	(void)events;
	if (n > 0)
		c->got += (int)n;
	if (c->got >= c->want)
		loop_quit(c->l);
}

/* Busy polling delivers every event, and polls only when it is on. */
static void busy_poll_delivers(uint32_t max_us)
{
	struct loop *l = loop_new();
	struct counted c = {.l = l, .want = 200};
	struct loop_io *io;
	int fds[2], st;
	pid_t pid;

	assert_non_null(l);
	loop_set_busy_poll(l, max_us);
	make_pipe(fds);
	c.fd = fds[0];
	io = loop_io_add(l, fds[0], EPOLLIN, counted_cb, &c);
	assert_non_null(io);
	pid = trickle(fds[1], c.want, 20);
	run_bounded(l);
	assert_int_equal(c.got, c.want);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	if (!max_us)
		assert_int_equal(loop_polled_ns(l), 0);
	else /* bytes 20 us apart: the window opened, and polled in vain
		before at least one of them */
		assert_true(loop_polled_ns(l) > 0);
	loop_io_del(io);
	loop_free(l);
	close(fds[0]);
	close(fds[1]);
}

static void test_busy_poll_on(void **state)
{
	(void)state;
	busy_poll_delivers(1000);
}

static void test_busy_poll_off(void **state)
{
	(void)state;
	busy_poll_delivers(0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_poll_window),
		cmocka_unit_test(test_busy_poll_on),
		cmocka_unit_test(test_busy_poll_off),
		cmocka_unit_test(test_timers_in_deadline_order_once),
		cmocka_unit_test(test_timer_stop_cancels),
		cmocka_unit_test(test_timer_rearm),
		cmocka_unit_test(test_timer_heap_many),
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
