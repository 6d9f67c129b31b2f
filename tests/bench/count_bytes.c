/*
 * count_bytes: read stdin until BYTES bytes arrived, EOF, or SECONDS
 * passed, then print "BYTES_READ MS_FIRST_TO_LAST TIMED_OUT LAST_US": the
 * time from the first counted byte to the last, and the wall-clock time
 * (CLOCK_REALTIME, microseconds, as bash's EPOCHREALTIME) of the last. The
 * first SKIP bytes (a client's banner) are neither counted nor timed. Used
 * for readers whose output must be counted in the same pass
 * (supervisorctl tail -f).
 *
 *   count_bytes BYTES SECONDS [SKIP]
 */
#include "bench.h"
#include <poll.h>

static char buf[1 << 20];

int main(int argc, char **argv)
{
	long long want, got = 0, t_first = 0, t_last = 0, deadline, skip = 0;
	struct timespec wall = {0, 0};
	int timed_out = 0;

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: count_bytes BYTES SECONDS [SKIP]\n");
		return 2;
	}
	want = bench_num(argv[1], "byte count");
	if (argc == 4)
		skip = bench_num(argv[3], "skip");
	deadline =
		bench_now_ns() + bench_num(argv[2], "seconds") * 1000000000LL;
	while (got < want) {
		struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
		long long left = (deadline - bench_now_ns()) / 1000000;
		ssize_t n;

		if (left <= 0) {
			timed_out = 1;
			break;
		}
		if (poll(&p, 1, (int)(left > 1000 ? 1000 : left)) <= 0)
			continue;
		n = read(STDIN_FILENO, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (skip > 0) {
			long long drop = n < skip ? n : skip;

			skip -= drop;
			n -= (ssize_t)drop;
			if (n == 0)
				continue;
		}
		if (got == 0)
			t_first = bench_now_ns();
		got += n;
		t_last = bench_now_ns();
		clock_gettime(CLOCK_REALTIME, &wall);
	}
	printf("%lld %.1f %d %lld\n", got, (double)(t_last - t_first) / 1e6,
	       timed_out,
	       (long long)wall.tv_sec * 1000000 + wall.tv_nsec / 1000);
	return 0;
}
