/*
 * loop: a level-triggered epoll loop. It owns the epoll fd, a timerfd
 * armed for the earliest timer, a signalfd for the signals handed to it,
 * and the watch records. A watch removed during a round is only marked;
 * it is freed once the round's events are handled, so an event already
 * fetched for it is skipped instead of touching freed memory. Timers
 * live in their owners and are the nodes of a pairing heap: arming one
 * never allocates, and a fired or stopped timer is simply not armed.
 *
 * Before it sleeps, the loop may poll for a while (loop_set_busy_poll):
 * on a VM, waking a thread on an idle CPU costs tens of microseconds,
 * several times what a request costs. The window adapts as halt polling
 * does (loop_poll_next): it grows while events come soon after the loop
 * went idle, and shrinks to nothing when they come seldom, so a daemon
 * with sparse events never polls.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "spawnfs/log.h"
#include "spawnfs/loop.h"
#include "spawnfs/state.h"

#define LOOP_EVENTS 64
#define LOOP_NSIG   65

struct loop_io {
	struct loop *l;
	int fd;
	uint32_t events;
	bool in_epoll;
	bool dead;
	loop_io_cb cb;
	void *arg;
	struct loop_io *next_dead;
};

struct loop {
	int epfd;
	struct loop_io *lost; /* left in epoll by a failed delete: kept */
	int timerfd;
	int sigfd;
	sigset_t sigmask;
	loop_signal_cb sig_cb[LOOP_NSIG];
	void *sig_arg[LOOP_NSIG];
	struct loop_timer *timers; /* the pairing heap's root: the earliest */
	uint64_t timer_seq;
	struct loop_io *dead;
	void (*after)(void *arg); /* after each dispatch */
	void *after_arg;
	bool quit;
	uint32_t poll_max_us; /* 0: never poll */
	uint32_t poll_us;     /* the window now, 0..poll_max_us */
	uint64_t polled_ns;   /* time spent polling in vain, for metrics */
};

/* Markers for the loop's own fds in epoll_event.data. */
static char loop_timer_tag, loop_signal_tag;

uint64_t loop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int epoll_add_ptr(int epfd, int fd, uint32_t events, void *ptr)
{
	struct epoll_event ev = {.events = events, .data.ptr = ptr};

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

struct loop *loop_new(void)
{
	struct loop *l = calloc(1, sizeof(*l));
	int err;

	if (!l)
		return NULL;
	l->timerfd = l->sigfd = -1;
	sigemptyset(&l->sigmask);
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0)
		goto fail;
	l->timerfd =
		timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (l->timerfd < 0)
		goto fail;
	if (epoll_add_ptr(l->epfd, l->timerfd, EPOLLIN, &loop_timer_tag) < 0)
		goto fail;
	return l;
fail:
	err = errno;
	loop_free(l);
	errno = err;
	return NULL;
}

static void loop_reap(struct loop *l)
{
	struct loop_io *io;

	while ((io = l->dead)) {
		l->dead = io->next_dead;
		free(io);
	}
}

void loop_free(struct loop *l)
{
	struct loop_io *io;

	if (!l)
		return;
	loop_reap(l);
	while ((io = l->lost)) {
		l->lost = io->next_dead;
		free(io);
	}
	l->timers = NULL; /* stopped by their owners, or forgotten */
	if (l->sigfd >= 0) {
		close(l->sigfd);
		sigprocmask(SIG_UNBLOCK, &l->sigmask, NULL);
	}
	if (l->timerfd >= 0)
		close(l->timerfd);
	if (l->epfd >= 0)
		close(l->epfd);
	free(l);
}

struct loop_io *loop_io_add(struct loop *l, int fd, uint32_t events,
			    loop_io_cb cb, void *arg)
{
	struct loop_io *io = calloc(1, sizeof(*io));
	int rc;

	if (!io)
		return NULL;
	io->l = l;
	io->fd = fd;
	io->cb = cb;
	io->arg = arg;
	rc = loop_io_mod(io, events);
	if (rc < 0) {
		free(io);
		errno = -rc;
		return NULL;
	}
	return io;
}

int loop_io_mod(struct loop_io *io, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = io};
	int op;

	if (io->in_epoll && events == io->events)
		return 0;
	if (events == 0) {
		if (io->in_epoll &&
		    epoll_ctl(io->l->epfd, EPOLL_CTL_DEL, io->fd, NULL) < 0) {
			int err = errno;

			if (err != ENOENT)
				log_error("loop: bug: fd %d closed before its "
					  "watch was deleted: %s",
					  io->fd, strerror(err));
			return -err;
		}
		io->in_epoll = false;
		io->events = 0;
		return 0;
	}
	op = io->in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(io->l->epfd, op, io->fd, &ev) < 0)
		return -errno;
	io->in_epoll = true;
	io->events = events;
	return 0;
}

void loop_io_del(struct loop_io *io)
{
	int rc;

	if (!io)
		return;
	rc = loop_io_mod(io, 0);
	io->dead = true;
	if (rc < 0 && rc != -ENOENT) {
		/* Logged as a bug: epoll may still report the file (another
		 * process holds it), so the record is never freed. */
		io->next_dead = io->l->lost;
		io->l->lost = io;
		return;
	}
	io->next_dead = io->l->dead;
	io->l->dead = io;
}

void loop_io_close(struct loop_io **io, int *fd)
{
	loop_io_del(*io);
	*io = NULL;
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* ---- timers: a pairing heap whose nodes are the timers themselves ---- */

static bool timer_before(const struct loop_timer *a, const struct loop_timer *b)
{
	return a->deadline < b->deadline ||
	       (a->deadline == b->deadline && a->seq < b->seq);
}

/* Two heaps (each a lone root, or NULL) as one; its root. */
static struct loop_timer *heap_meld(struct loop_timer *a, struct loop_timer *b)
{
	struct loop_timer *tmp;

	if (!a)
		return b;
	if (!b)
		return a;
	if (timer_before(b, a)) {
		tmp = a;
		a = b;
		b = tmp;
	}
	b->prev = a;
	b->next = a->child;
	if (a->child)
		a->child->prev = b;
	a->child = b;
	a->next = a->prev = NULL;
	return a;
}

/* A list of sibling heaps as one heap (two passes: pairs left to right,
 * then the pairs melded right to left). */
static struct loop_timer *heap_merge_pairs(struct loop_timer *first)
{
	struct loop_timer *a, *b, *pairs = NULL, *root = NULL, *next;

	while (first) {
		a = first;
		b = a->next;
		first = b ? b->next : NULL;
		a->next = a->prev = NULL;
		if (b) {
			b->next = b->prev = NULL;
			a = heap_meld(a, b);
		}
		a->next = pairs;
		pairs = a;
	}
	while (pairs) {
		next = pairs->next;
		pairs->next = NULL;
		root = heap_meld(root, pairs);
		pairs = next;
	}
	return root;
}

/* Take t, an armed timer, out of its loop's heap. */
static void heap_remove(struct loop_timer *t)
{
	struct loop *l = t->l;
	struct loop_timer *sub = heap_merge_pairs(t->child);

	if (t == l->timers) {
		l->timers = sub;
	} else {
		if (t->prev->child == t)
			t->prev->child = t->next;
		else
			t->prev->next = t->next;
		if (t->next)
			t->next->prev = t->prev;
		l->timers = heap_meld(l->timers, sub);
	}
	t->child = t->next = t->prev = NULL;
	t->armed = false;
}

static void loop_arm(struct loop *l)
{
	struct itimerspec its;
	uint64_t now, ms;

	memset(&its, 0, sizeof(its));
	if (l->timers) {
		now = loop_now_ms();
		ms = l->timers->deadline > now ? l->timers->deadline - now : 0;
		/* A zero it_value disarms, so fire "now" as 1 ns. */
		its.it_value.tv_sec = (time_t)(ms / 1000);
		its.it_value.tv_nsec = (long)(ms % 1000) * 1000000 + 1;
	}
	if (timerfd_settime(l->timerfd, 0, &its, NULL) < 0)
		log_error("loop: timerfd_settime: %s", strerror(errno));
}

void loop_timer_init(struct loop_timer *t, struct loop *l, loop_timer_cb cb,
		     void *arg)
{
	memset(t, 0, sizeof(*t));
	t->l = l;
	t->cb = cb;
	t->arg = arg;
}

void loop_timer_arm(struct loop_timer *t, uint64_t ms)
{
	loop_timer_arm_at(t, loop_now_ms() + ms);
}

void loop_timer_arm_at(struct loop_timer *t, uint64_t deadline)
{
	struct loop *l = t->l;
	struct loop_timer *first = l->timers;

	if (t->armed)
		heap_remove(t);
	t->deadline = deadline;
	t->seq = l->timer_seq++;
	t->armed = true;
	l->timers = heap_meld(l->timers, t);
	if (l->timers != first)
		loop_arm(l);
}

void loop_timer_stop(struct loop_timer *t)
{
	bool first;

	if (!t->armed)
		return;
	first = t == t->l->timers;
	heap_remove(t);
	if (first)
		loop_arm(t->l);
}

bool loop_timer_armed(const struct loop_timer *t)
{
	return t->armed;
}

static void loop_fire_timers(struct loop *l)
{
	uint64_t expirations, now = loop_now_ms();
	struct loop_timer *t;

	if (read(l->timerfd, &expirations, sizeof(expirations)) < 0 &&
	    errno != EAGAIN)
		log_error("loop: timerfd read: %s", strerror(errno));
	while ((t = l->timers) && t->deadline <= now) {
		heap_remove(t);
		t->cb(t->arg); /* it may arm t again, or free it */
	}
	loop_arm(l);
}

int loop_signal(struct loop *l, int signo, loop_signal_cb cb, void *arg)
{
	sigset_t one;
	int fd;

	if (signo <= 0 || signo >= LOOP_NSIG)
		return -EINVAL;
	sigemptyset(&one);
	sigaddset(&one, signo);
	sigaddset(&l->sigmask, signo);
	if (sigprocmask(SIG_BLOCK, &one, NULL) < 0)
		return -errno;
	fd = signalfd(l->sigfd, &l->sigmask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (l->sigfd < 0) {
		l->sigfd = fd;
		if (epoll_add_ptr(l->epfd, fd, EPOLLIN, &loop_signal_tag) < 0)
			return -errno;
	}
	l->sig_cb[signo] = cb;
	l->sig_arg[signo] = arg;
	return 0;
}

int loop_forked(struct loop *l)
{
	int fd;

	if (l->sigfd < 0)
		return 0;
	if (sigprocmask(SIG_BLOCK, &l->sigmask, NULL) < 0)
		return -errno;
	/* The old fd's wake-ups went to the parent: a new one, for us. */
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, l->sigfd, NULL);
	close(l->sigfd);
	l->sigfd = -1;
	fd = signalfd(-1, &l->sigmask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	l->sigfd = fd;
	return epoll_add_ptr(l->epfd, fd, EPOLLIN, &loop_signal_tag);
}

static void loop_fire_signals(struct loop *l)
{
	struct signalfd_siginfo si;
	int signo;

	while (read(l->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		signo = (int)si.ssi_signo;
		if (signo > 0 && signo < LOOP_NSIG && l->sig_cb[signo])
			l->sig_cb[signo](l->sig_arg[signo], signo);
	}
}

void loop_after(struct loop *l, void (*cb)(void *arg), void *arg)
{
	l->after = cb;
	l->after_arg = arg;
}

void loop_quit(struct loop *l)
{
	l->quit = true;
}

static void loop_dispatch(struct loop *l, struct epoll_event *ev)
{
	struct loop_io *io;

	if (ev->data.ptr == &loop_timer_tag) {
		loop_fire_timers(l);
		return;
	}
	if (ev->data.ptr == &loop_signal_tag) {
		loop_fire_signals(l);
		return;
	}
	io = ev->data.ptr;
	if (!io->dead)
		io->cb(io->arg, ev->events);
}

uint32_t loop_poll_next(uint32_t cur_us, uint32_t max_us, bool caught,
			uint64_t slept_us)
{
	if (caught || max_us == 0)
		return max_us ? cur_us : 0;
	if (slept_us <= max_us) /* a longer window would have caught it */
		return cur_us ? (cur_us * 2 < max_us ? cur_us * 2 : max_us)
			      : (LOOP_POLL_START_US < max_us
					 ? LOOP_POLL_START_US
					 : max_us);
	return cur_us / 2 < LOOP_POLL_START_US ? 0 : cur_us / 2;
}

void loop_set_busy_poll(struct loop *l, uint32_t max_us)
{
	l->poll_max_us = max_us;
	if (l->poll_us > max_us)
		l->poll_us = max_us;
}

uint64_t loop_polled_ns(const struct loop *l)
{
	return l->polled_ns;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* epoll_wait, polled for up to the window first; then adapt it. */
static int loop_wait(struct loop *l, struct epoll_event *evs)
{
	uint64_t t0, t1, end;
	int n;

	if (!l->poll_max_us)
		return epoll_wait(l->epfd, evs, LOOP_EVENTS, -1);
	t0 = mono_ns();
	end = t0 + (uint64_t)l->poll_us * 1000u;
	for (t1 = t0; l->poll_us && t1 < end; t1 = mono_ns()) {
		n = epoll_wait(l->epfd, evs, LOOP_EVENTS, 0);
		if (n != 0) {
			l->poll_us = loop_poll_next(l->poll_us, l->poll_max_us,
						    true, 0);
			return n;
		}
	}
	l->polled_ns += t1 - t0;
	n = epoll_wait(l->epfd, evs, LOOP_EVENTS, -1);
	if (n > 0)
		l->poll_us = loop_poll_next(l->poll_us, l->poll_max_us, false,
					    (mono_ns() - t0) / 1000u);
	return n;
}

int loop_run(struct loop *l)
{
	struct epoll_event evs[LOOP_EVENTS];
	int n, i;

	l->quit = false;
	while (!l->quit) {
		loop_reap(l);
		if (l->quit)
			break;
		n = loop_wait(l, evs);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (i = 0; i < n; i++) {
			loop_dispatch(l, &evs[i]);
			if (l->after)
				l->after(l->after_arg);
		}
	}
	loop_reap(l);
	return 0;
}

void loop_timer_save(const struct loop_timer *t, struct state_w *w)
{
	state_u64(w, t->armed ? t->deadline : UINT64_MAX);
}

void loop_timer_load(struct loop_timer *t, struct state_r *r)
{
	uint64_t deadline = state_get_u64(r);

	if (!r->err && deadline != UINT64_MAX)
		loop_timer_arm_at(t, deadline);
}
