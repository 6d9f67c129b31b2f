/*
 * poll_many: watch several spawnfs files with one poll(2), epoll(7) or
 * select(2) loop, the way an event loop that follows many jobs would.
 * Every file is opened O_RDONLY | O_NONBLOCK, so a readiness report that
 * a read contradicts (EAGAIN) shows up instead of blocking.
 *
 *   poll_many [-e | -s] [-D] drain DEADLINE_MS OUTDIR FILE...
 *   poll_many [-e | -s] [-D] once MS ROUNDS FILE...
 *
 * -e uses epoll (level-triggered, one set for the whole run), -s select,
 * the default poll. -D first reads every file until a read returns EAGAIN
 * or end of file, throwing the bytes away, as an event loop does before it
 * waits. (A FUSE poll request carries no file offset, so the daemon judges
 * readiness from where the handle last read; an lseek alone does not
 * move that.)
 *
 * drain: wait and read until every file reaches end of file. The bytes of
 * FILE number I (from 0) are written to OUTDIR/I. Each complete line read
 * is printed as "line I RECV_MS TEXT" (RECV_MS: wall clock, ms since the
 * epoch); each end of file as "eof I ms=T" (T: ms since the start). A
 * file reported readable whose read fails with EAGAIN prints "spurious I".
 * At the end "wakeups N spurious S". Exit 0 when every file reached end
 * of file with no spurious report, 3 with spurious reports, 1 when the
 * deadline passed first ("timeout"), 2 on bad usage or an error.
 *
 * once: ROUNDS times, wait up to MS, print "ret=R ms=T", then for each
 * file reported ready read once and print "I REVENTS n=N data=ESCAPED" or
 * "I REVENTS err=ERRNAME". Exit 0, or 2 on bad usage or an error.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#define MAX_FILES    64
#define LINE_MAX_LEN 4096

enum mode { M_POLL, M_EPOLL, M_SELECT };

struct watch {
	enum mode mode;
	int epfd;
	int n;
	int fd[MAX_FILES]; /* -1 once closed */
	short rev[MAX_FILES];
};

static char buf[1 << 16];

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *errname(int e)
{
	const char *s = strerrorname_np(e);

	return s ? s : "UNKNOWN";
}

static long num(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < 0) {
		fprintf(stderr, "poll_many: bad number: %s\n", s);
		exit(2);
	}
	return v;
}

static _Noreturn void die(const char *what)
{
	fprintf(stderr, "poll_many: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void watch_close(struct watch *w, int i)
{
	if (w->fd[i] < 0)
		return;
	if (w->mode == M_EPOLL &&
	    epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->fd[i], NULL) < 0)
		die("epoll_ctl del");
	close(w->fd[i]);
	w->fd[i] = -1;
}

/* Read fd until EAGAIN or end of file. */
static void skip_available(int fd)
{
	ssize_t n;

	do
		n = read(fd, buf, sizeof(buf));
	while (n > 0 || (n < 0 && errno == EINTR));
	if (n < 0 && errno != EAGAIN)
		die("read");
}

static void watch_open(struct watch *w, char **paths, int n, int skip)
{
	int i;

	w->n = n;
	w->epfd = -1;
	if (w->mode == M_EPOLL) {
		w->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (w->epfd < 0)
			die("epoll_create1");
	}
	for (i = 0; i < n; i++) {
		w->fd[i] = open(paths[i], O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (w->fd[i] < 0)
			die(paths[i]);
		if (w->mode == M_SELECT && w->fd[i] >= FD_SETSIZE) {
			fprintf(stderr, "poll_many: fd too large for select\n");
			exit(2);
		}
		if (skip)
			skip_available(w->fd[i]);
		if (w->mode == M_EPOLL) {
			struct epoll_event ev = {.events = EPOLLIN,
						 .data.u32 = (unsigned)i};

			if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->fd[i], &ev) <
			    0)
				die("epoll_ctl add");
		}
	}
}

static int wait_poll(struct watch *w, int ms)
{
	struct pollfd p[MAX_FILES];
	int i, r;

	for (i = 0; i < w->n; i++)
		p[i] = (struct pollfd){.fd = w->fd[i], .events = POLLIN};
	r = poll(p, (nfds_t)w->n, ms);
	for (i = 0; r >= 0 && i < w->n; i++)
		w->rev[i] = w->fd[i] < 0 ? 0 : p[i].revents;
	return r;
}

static int wait_epoll(struct watch *w, int ms)
{
	struct epoll_event ev[MAX_FILES];
	int i, r;

	r = epoll_wait(w->epfd, ev, MAX_FILES, ms);
	for (i = 0; r >= 0 && i < w->n; i++)
		w->rev[i] = 0;
	for (i = 0; i < r; i++) {
		unsigned k = ev[i].data.u32;

		w->rev[k] = (short)((ev[i].events & EPOLLIN ? POLLIN : 0) |
				    (ev[i].events & EPOLLHUP ? POLLHUP : 0) |
				    (ev[i].events & EPOLLERR ? POLLERR : 0));
	}
	return r;
}

static int wait_select(struct watch *w, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	fd_set rd;
	int i, r, top = -1;

	FD_ZERO(&rd);
	for (i = 0; i < w->n; i++) {
		if (w->fd[i] < 0)
			continue;
		FD_SET(w->fd[i], &rd);
		if (w->fd[i] > top)
			top = w->fd[i];
	}
	r = select(top + 1, &rd, NULL, NULL, ms < 0 ? NULL : &tv);
	for (i = 0; r >= 0 && i < w->n; i++)
		w->rev[i] =
			w->fd[i] >= 0 && FD_ISSET(w->fd[i], &rd) ? POLLIN : 0;
	return r;
}

/* Wait up to ms; fills rev[]; returns the number ready, or fails. */
static int watch_wait(struct watch *w, int ms)
{
	int r;

	do {
		if (w->mode == M_EPOLL)
			r = wait_epoll(w, ms);
		else if (w->mode == M_SELECT)
			r = wait_select(w, ms);
		else
			r = wait_poll(w, ms);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		die("wait");
	return r;
}

static const char *rev_str(short r)
{
	static char s[32];

	snprintf(s, sizeof(s), "%s%s%s%s", r & POLLIN ? "IN" : "",
		 r & POLLHUP ? "|HUP" : "", r & POLLERR ? "|ERR" : "",
		 r ? "" : "0");
	return s;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			die("write");
		p += k;
		n -= (size_t)k;
	}
}

struct partial {
	char text[LINE_MAX_LEN];
	size_t len;
};

/* Print each complete line of p[0..n) for file i, keeping the rest. */
static void emit_lines(struct partial *pl, int i, const char *p, size_t n,
		       long long now)
{
	size_t k;

	for (k = 0; k < n; k++) {
		if (p[k] != '\n') {
			if (pl->len < sizeof(pl->text) - 1)
				pl->text[pl->len++] = p[k];
			continue;
		}
		pl->text[pl->len] = '\0';
		printf("line %d %lld %s\n", i, now, pl->text);
		pl->len = 0;
	}
}

static int drain(struct watch *w, long deadline_ms, const char *outdir)
{
	static struct partial pl[MAX_FILES];
	int out[MAX_FILES], i, open_n = w->n;
	long long t0 = mono_ms(), wakeups = 0, spurious = 0;

	for (i = 0; i < w->n; i++) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/%d", outdir, i);
		out[i] = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			      0644);
		if (out[i] < 0)
			die(path);
	}
	while (open_n > 0) {
		long long left = deadline_ms - (mono_ms() - t0);

		if (left <= 0) {
			printf("timeout\nwakeups %lld spurious %lld\n", wakeups,
			       spurious);
			return 1;
		}
		if (watch_wait(w, (int)left) == 0)
			continue;
		wakeups++;
		for (i = 0; i < w->n; i++) {
			ssize_t n;

			if (w->fd[i] < 0 || !w->rev[i])
				continue;
			n = read(w->fd[i], buf, sizeof(buf));
			if (n > 0) {
				write_all(out[i], buf, (size_t)n);
				emit_lines(&pl[i], i, buf, (size_t)n,
					   wall_ms());
			} else if (n == 0) {
				printf("eof %d ms=%lld\n", i, mono_ms() - t0);
				watch_close(w, i);
				open_n--;
			} else if (errno == EAGAIN) {
				printf("spurious %d\n", i);
				spurious++;
			} else if (errno != EINTR) {
				printf("error %d %s\n", i, errname(errno));
				return 2;
			}
		}
		fflush(stdout);
	}
	printf("wakeups %lld spurious %lld\n", wakeups, spurious);
	return spurious ? 3 : 0;
}

static void print_escaped(const char *p, size_t n)
{
	size_t k;

	for (k = 0; k < n; k++) {
		unsigned char c = (unsigned char)p[k];

		if (c == '\n')
			fputs("\\n", stdout);
		else if (c == '\\')
			fputs("\\\\", stdout);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
}

static int once(struct watch *w, long ms, long rounds)
{
	long r;
	int i;

	for (r = 0; r < rounds; r++) {
		long long t0 = mono_ms();
		int ret = watch_wait(w, (int)ms);

		printf("ret=%d ms=%lld\n", ret, mono_ms() - t0);
		for (i = 0; i < w->n; i++) {
			ssize_t n;

			if (w->fd[i] < 0 || !w->rev[i])
				continue;
			n = read(w->fd[i], buf, sizeof(buf));
			printf("%d %s ", i, rev_str(w->rev[i]));
			if (n < 0) {
				printf("err=%s\n", errname(errno));
				continue;
			}
			printf("n=%zd data=", n);
			print_escaped(buf, (size_t)n);
			putchar('\n');
		}
		fflush(stdout);
	}
	return 0;
}

static _Noreturn void usage(void)
{
	fprintf(stderr,
		"usage: poll_many [-e|-s] [-D] drain DEADLINE_MS "
		"OUTDIR FILE...\n"
		"       poll_many [-e|-s] [-D] once MS ROUNDS FILE...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct watch w = {.mode = M_POLL};
	int opt, skip = 0, rc, i;

	while ((opt = getopt(argc, argv, "+esD")) != -1) {
		if (opt == 'e')
			w.mode = M_EPOLL;
		else if (opt == 's')
			w.mode = M_SELECT;
		else if (opt == 'D')
			skip = 1;
		else
			usage();
	}
	argv += optind;
	argc -= optind;
	if (argc < 4 || argc - 3 > MAX_FILES)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	watch_open(&w, argv + 3, argc - 3, skip);
	if (!strcmp(argv[0], "drain"))
		rc = drain(&w, num(argv[1]), argv[2]);
	else if (!strcmp(argv[0], "once"))
		rc = once(&w, num(argv[1]), num(argv[2]));
	else
		usage();
	for (i = 0; i < w.n; i++)
		watch_close(&w, i);
	return rc;
}
