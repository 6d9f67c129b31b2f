/*
 * lat_reader: read the lines lat_writer writes, from FILE or from stdin,
 * and print the write-to-read delay percentiles in microseconds:
 *
 *   lat_reader COUNT [FILE]      prints "p50 p99 p99.9"
 *
 * Every line read in one read(2) gets that read's return time. Exit
 * status 1 unless exactly COUNT well-formed lines arrive before EOF.
 */
#include "bench.h"
#include <fcntl.h>

static char buf[1 << 20];

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

static double pct(const long long *v, long long n, double q)
{
	long long i = (long long)(q * (double)n + 0.999999) - 1;

	if (i < 0)
		i = 0;
	if (i >= n)
		i = n - 1;
	return (double)v[i] / 1000.0;
}

/* Take the whole lines at the front of buf; returns how many bytes they
 * used, or -1 on a malformed line. */
static long take_lines(size_t have, long long now, long long *lat,
		       long long count, long long *got)
{
	size_t start = 0;
	char *nl;

	while ((nl = memchr(buf + start, '\n', have - start)) != NULL) {
		char *end;
		long long ts = strtoll(buf + start, &end, 10);

		if (end == buf + start)
			return -1;
		if (*got < count)
			lat[*got] = now - ts;
		(*got)++;
		start = (size_t)(nl - buf) + 1;
	}
	return (long)start;
}

int main(int argc, char **argv)
{
	long long count, got = 0, *lat;
	size_t have = 0;
	int fd = STDIN_FILENO;

	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: lat_reader COUNT [FILE]\n");
		return 2;
	}
	count = bench_num(argv[1], "count");
	if (count == 0 || !(lat = calloc((size_t)count, sizeof(*lat))))
		return 2;
	if (argc == 3 && (fd = open(argv[2], O_RDONLY | O_CLOEXEC)) < 0) {
		perror(argv[2]);
		return 2;
	}
	for (;;) {
		ssize_t n = read(fd, buf + have, sizeof(buf) - have);
		long used;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			perror("lat_reader: read");
			return 1;
		}
		if (n == 0)
			break;
		have += (size_t)n;
		used = take_lines(have, bench_now_ns(), lat, count, &got);
		if (used < 0) {
			fprintf(stderr, "lat_reader: malformed line\n");
			return 1;
		}
		memmove(buf, buf + used, have - (size_t)used);
		have -= (size_t)used;
	}
	if (got != count || have != 0) {
		fprintf(stderr,
			"lat_reader: %lld lines (+%zu bytes), want %lld\n", got,
			have, count);
		return 1;
	}
	qsort(lat, (size_t)count, sizeof(*lat), cmp_ll);
	printf("%.1f %.1f %.1f\n", pct(lat, count, 0.50), pct(lat, count, 0.99),
	       pct(lat, count, 0.999));
	return 0;
}
