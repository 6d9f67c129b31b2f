/*
 * Small helpers shared by the benchmark tools: a monotonic clock, exact
 * writes, strict number parsing. Header-only so each tool is one cc call.
 */
#ifndef SPAWNFS_BENCH_H
#define SPAWNFS_BENCH_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static inline long long bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline double bench_ms_since(long long t0)
{
	return (double)(bench_now_ns() - t0) / 1e6;
}

/* Parse a non-negative integer with an optional K, M or G (powers of
 * 1024); exits with status 2 on anything else. */
static inline long long bench_num(const char *s, const char *what)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || v < 0)
		goto bad;
	switch (*end) {
	case 'K':
		v <<= 10;
		end++;
		break;
	case 'M':
		v <<= 20;
		end++;
		break;
	case 'G':
		v <<= 30;
		end++;
		break;
	}
	if (*end == '\0')
		return v;
bad:
	fprintf(stderr, "bad %s: %s\n", what, s);
	exit(2);
}

/* Write all of buf, retrying on EINTR and short writes. 0 or -errno. */
static inline int bench_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static inline void bench_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

#endif
