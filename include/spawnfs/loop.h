/*
 * loop: the one event loop. epoll over fds, one-shot timers embedded in
 * their owners (a heap on a single timerfd), signals through a signalfd,
 * and watch frees deferred to the end of a round so a callback may
 * remove sources that are pending in that round.
 */
#ifndef SPAWNFS_LOOP_H
#define SPAWNFS_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct loop;
struct loop_io;

typedef void (*loop_io_cb)(void *arg, uint32_t events);
typedef void (*loop_timer_cb)(void *arg);
typedef void (*loop_signal_cb)(void *arg, int signo);

/* A one-shot, re-armable timer that lives in its owner (the fields are
 * the loop's: a node of its pairing heap). */
struct loop_timer {
	struct loop *l;
	uint64_t deadline; /* CLOCK_MONOTONIC, ms */
	uint64_t seq;	   /* arm order, for equal deadlines */
	loop_timer_cb cb;
	void *arg;
	bool armed;
	struct loop_timer *child, *next, *prev;
};

/* NULL with errno on failure. */
struct loop *loop_new(void);

/* Free the loop; every source must have been removed. NULL: no-op. */
void loop_free(struct loop *l);

/* Watch fd (borrowed: the caller closes it after loop_io_del) for events
 * (EPOLLIN/EPOLLOUT; 0 = not watched for now). NULL with errno. */
struct loop_io *loop_io_add(struct loop *l, int fd, uint32_t events,
			    loop_io_cb cb, void *arg);

/* Change the events; 0 takes the fd out of epoll so that a hang-up on a
 * paused pipe does not wake the loop. 0 or -errno. */
int loop_io_mod(struct loop_io *io, uint32_t events);

/* Stop watching; no callback runs after this, even for an event fetched
 * in the same round. NULL is a no-op. The fd must still be open: a
 * closed fd cannot be taken out of epoll while another process (a child
 * between fork and exec) holds the same file, and epoll would go on
 * reporting it. A failed delete is logged as a bug and the record kept
 * until loop_free, so that it is never touched freed. */
void loop_io_del(struct loop_io *io);

/* Delete the watch *io, then close *fd (the order that keeps epoll
 * clean); both become NULL and -1. Either may already be NULL or -1. */
void loop_io_close(struct loop_io **io, int *fd);

/* Arm t to call cb(arg) once, ms milliseconds from now; arming an
 * armed timer moves its deadline. Timers with the same deadline fire in
 * the order they were armed. Never fails, never allocates. */
void loop_timer_arm(struct loop_timer *t, uint64_t ms);

/* Disarm t; a timer that is not armed (never armed, fired, stopped) is
 * left alone. A callback may stop or arm any timer, itself included. */
void loop_timer_stop(struct loop_timer *t);

/* Arm t for an instant of loop_now_ms's clock (CLOCK_MONOTONIC, which an
 * upgrade in place keeps: timers travel as such instants). */
void loop_timer_arm_at(struct loop_timer *t, uint64_t deadline);
struct state_w;
struct state_r;
void loop_timer_save(const struct loop_timer *t, struct state_w *w);
void loop_timer_load(struct loop_timer *t, struct state_r *r); /* re-arms */

/* Whether t is armed (waiting to fire). */
bool loop_timer_armed(const struct loop_timer *t);

/* Make t, embedded in its owner, a disarmed timer of l calling cb(arg).
 * The owner stops it before it frees it. */
void loop_timer_init(struct loop_timer *t, struct loop *l, loop_timer_cb cb,
		     void *arg);

/* Deliver signo through cb instead of its handler. 0 or -errno. */
int loop_signal(struct loop *l, int signo, loop_signal_cb cb, void *arg);

/* Call in the child after fork (daemonizing): a signalfd wakes epoll
 * only in the process that added it, so the signals are watched anew
 * from this process, with the same mask. 0 or -errno. */
int loop_forked(struct loop *l);

/* Call cb(arg) after each dispatched event (fd, timer or signal), outside
 * every callback: where work noted during a dispatch is done. One per
 * loop; cb NULL removes it. */
void loop_after(struct loop *l, void (*cb)(void *arg), void *arg);

/*
 * Busy polling: before sleeping, the loop polls its fds for up to a
 * window of at most max_us microseconds (0, the default: never). The
 * window is adapted after each wait by loop_poll_next. loop_polled_ns
 * is the time spent polling without an event coming, since the start.
 */
#define LOOP_POLL_START_US 10
void loop_set_busy_poll(struct loop *l, uint32_t max_us);
uint64_t loop_polled_ns(const struct loop *l);

/*
 * The next window (pure): kept when an event came while polling (caught);
 * else grown (doubled, from LOOP_POLL_START_US, up to max_us) when the
 * event came within max_us of going idle (slept_us), and halved, to 0
 * below LOOP_POLL_START_US, when it came later. max_us 0: always 0.
 */
uint32_t loop_poll_next(uint32_t cur_us, uint32_t max_us, bool caught,
			uint64_t slept_us);

/* Run until loop_quit. 0 or -errno from epoll. */
int loop_run(struct loop *l);
void loop_quit(struct loop *l);

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t loop_now_ms(void);

#endif
