/*
 * lat_writer: write COUNT lines of exactly 64 bytes, one every INTERVAL
 * microseconds (absolute deadlines on CLOCK_MONOTONIC, so a late wake-up
 * does not shift the rest). Each line starts with the CLOCK_MONOTONIC time
 * in nanoseconds taken just before its write(2); lat_reader subtracts it
 * from the time it read the line.
 *
 *   lat_writer COUNT INTERVAL_US
 */
#include "bench.h"

#define LINE 64

int main(int argc, char **argv)
{
	long long count, interval_ns, i;
	struct timespec next;
	char line[LINE + 1];

	if (argc != 3) {
		fprintf(stderr, "usage: lat_writer COUNT INTERVAL_US\n");
		return 2;
	}
	count = bench_num(argv[1], "count");
	interval_ns = bench_num(argv[2], "interval") * 1000;
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (i = 0; i < count; i++) {
		int n, rc;

		next.tv_nsec += interval_ns;
		while (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next,
				       NULL) == EINTR)
			;
		n = snprintf(line, sizeof(line), "%lld %lld", bench_now_ns(),
			     i);
		memset(line + n, ' ', LINE - 1 - (size_t)n);
		line[LINE - 1] = '\n';
		rc = bench_write_all(STDOUT_FILENO, line, LINE);
		if (rc < 0) {
			fprintf(stderr, "lat_writer: write: %s\n",
				strerror(-rc));
			return 1;
		}
	}
	return 0;
}
