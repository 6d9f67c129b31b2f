/*
 * preadat: drive one open file descriptor with exact system calls, for the
 * output-log integration tests.
 *
 *   preadat [-n] [-o OUT] PATH CMD...
 *   preadat [-o OUT] -d FD CMD...
 *
 * -n opens with O_NONBLOCK; -o appends every byte read to OUT; -d uses the
 * inherited descriptor FD (so several processes share one open file,
 * one handle in the file system) instead of opening PATH. The commands
 * run in order on the one descriptor, each printing one line:
 *
 *   p OFF LEN     pread(fd, LEN, OFF)       "p OFF LEN: n=N ms=T" or "err=E"
 *   r LEN         read(fd, LEN)             "r LEN: n=N ms=T"
 *   s OFF WHENCE  lseek (WHENCE SET|CUR|END) "s OFF WHENCE: off=O ms=T"
 *   poll MS       poll(POLLIN, MS)          "poll MS: ret=R revents=IN|HUP
 * ms=T" sleep MS      pause between commands    (prints nothing) cat LEN MS
 * read(fd, LEN) to EOF, pausing MS between reads (a slow reader) "cat LEN MS:
 * n=TOTAL reads=K" or "err=E n=TOTAL"
 *
 * T is the wall time of the call in milliseconds, E the errno name. The
 * exit status is 0 once every command ran, whatever the calls returned,
 * and 2 on bad usage or a failed open (reported on stderr).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char buf[4 << 20];

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *errname(int e)
{
	const char *s = strerrorname_np(e);

	return s ? s : "UNKNOWN";
}

static long long num(const char *s)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 0);
	if (errno || *end || end == s) {
		fprintf(stderr, "preadat: bad number: %s\n", s);
		exit(2);
	}
	return v;
}

static void save(int out, ssize_t n)
{
	ssize_t off = 0;

	while (out >= 0 && off < n) {
		ssize_t w = write(out, buf + off, (size_t)(n - off));

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			perror("preadat: write");
			exit(2);
		}
		off += w;
	}
}

static void report_io(const char *what, ssize_t n, int e, long long t, int out)
{
	if (n < 0) {
		printf("%s: err=%s ms=%lld\n", what, errname(e), t);
	} else {
		printf("%s: n=%zd ms=%lld\n", what, n, t);
		save(out, n);
	}
}

static size_t len_arg(const char *s)
{
	long long v = num(s);

	if (v < 0 || (size_t)v > sizeof(buf)) {
		fprintf(stderr, "preadat: bad length: %s\n", s);
		exit(2);
	}
	return (size_t)v;
}

static int whence_arg(const char *s)
{
	if (!strcmp(s, "SET"))
		return SEEK_SET;
	if (!strcmp(s, "CUR"))
		return SEEK_CUR;
	if (!strcmp(s, "END"))
		return SEEK_END;
	fprintf(stderr, "preadat: bad whence: %s\n", s);
	exit(2);
}

static void do_poll(int fd, const char *ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	long long t0 = now_ms();
	int r = poll(&p, 1, (int)num(ms));
	int e = errno;
	long long t = now_ms() - t0;

	if (r < 0) {
		printf("poll %s: err=%s ms=%lld\n", ms, errname(e), t);
		return;
	}
	printf("poll %s: ret=%d revents=%s%s%s%s ms=%lld\n", ms, r,
	       p.revents & POLLIN ? "IN" : "",
	       p.revents & POLLHUP ? "|HUP" : "",
	       p.revents & POLLERR ? "|ERR" : "", p.revents ? "" : "0", t);
}

static void do_cat(int fd, int out, const char *len, const char *ms)
{
	size_t n = len_arg(len);
	long long pause = num(ms), total = 0, reads = 0;
	struct timespec ts;
	ssize_t r;

	for (;;) {
		r = read(fd, buf, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		save(out, r);
		total += r;
		reads++;
		ts.tv_sec = pause / 1000;
		ts.tv_nsec = (pause % 1000) * 1000000;
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
	if (r < 0)
		printf("cat %s %s: err=%s n=%lld\n", len, ms, errname(errno),
		       total);
	else
		printf("cat %s %s: n=%lld reads=%lld\n", len, ms, total, reads);
}

/* Run the command at argv[0]; return how many words it used. */
static int run(int fd, int out, int argc, char **argv)
{
	char what[128];
	long long t0;
	ssize_t n;
	int e;

	if (!strcmp(argv[0], "p") && argc >= 3) {
		snprintf(what, sizeof(what), "p %s %s", argv[1], argv[2]);
		t0 = now_ms();
		n = pread(fd, buf, len_arg(argv[2]), (off_t)num(argv[1]));
		e = errno;
		report_io(what, n, e, now_ms() - t0, out);
		return 3;
	}
	if (!strcmp(argv[0], "r") && argc >= 2) {
		snprintf(what, sizeof(what), "r %s", argv[1]);
		t0 = now_ms();
		n = read(fd, buf, len_arg(argv[1]));
		e = errno;
		report_io(what, n, e, now_ms() - t0, out);
		return 2;
	}
	if (!strcmp(argv[0], "s") && argc >= 3) {
		off_t o;

		t0 = now_ms();
		o = lseek(fd, (off_t)num(argv[1]), whence_arg(argv[2]));
		e = errno;
		if (o < 0)
			printf("s %s %s: err=%s ms=%lld\n", argv[1], argv[2],
			       errname(e), now_ms() - t0);
		else
			printf("s %s %s: off=%lld ms=%lld\n", argv[1], argv[2],
			       (long long)o, now_ms() - t0);
		return 3;
	}
	if (!strcmp(argv[0], "poll") && argc >= 2) {
		do_poll(fd, argv[1]);
		return 2;
	}
	if (!strcmp(argv[0], "cat") && argc >= 3) {
		do_cat(fd, out, argv[1], argv[2]);
		return 3;
	}
	if (!strcmp(argv[0], "sleep") && argc >= 2) {
		long long ms = num(argv[1]);
		struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		return 2;
	}
	fprintf(stderr, "preadat: bad command: %s\n", argv[0]);
	exit(2);
}

static void usage(void)
{
	fputs("usage: preadat [-n] [-o OUT] {-d FD | PATH} CMD...\n", stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	int flags = O_RDONLY | O_CLOEXEC, out = -1, opt, fd = -1, i;

	while ((opt = getopt(argc, argv, "+nd:o:")) != -1) {
		if (opt == 'n') {
			flags |= O_NONBLOCK;
		} else if (opt == 'd') {
			fd = (int)num(optarg);
		} else if (opt == 'o') {
			out = open(optarg,
				   O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
				   0644);
			if (out < 0) {
				perror(optarg);
				return 2;
			}
		} else {
			usage();
		}
	}
	if (fd < 0 && optind >= argc) {
		usage();
	}
	i = optind;
	if (fd < 0) {
		fd = open(argv[optind], flags);
		if (fd < 0) {
			fprintf(stderr, "preadat: open %s: %s\n", argv[optind],
				strerror(errno));
			return 2;
		}
		i++;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (i < argc)
		i += run(fd, out, argc - i, argv + i);
	close(fd);
	if (out >= 0)
		close(out);
	return 0;
}
