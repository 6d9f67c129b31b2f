/*
 * readloop: the cost of one open-read-close of small files, without a
 * process per access. COUNT times, cycling through the FILEs: open
 * O_RDONLY, read to end of file, close, each operation timed on its own
 * (after COUNT/10 untimed ones to warm up). Prints the median, the mean
 * and the 90th percentile in microseconds, and the bytes of the last read:
 *
 *   readloop COUNT FILE...
 *   median_us=M mean_us=A p90_us=P ops=COUNT bytes=B
 *
 * Exits 1 at the first failed call, naming it.
 */
#include "bench.h"
#include <fcntl.h>

static long long one(const char *path, char *buf, size_t size)
{
	long long len = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	for (;;) {
		n = read(fd, buf, size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			close(fd);
			return -e;
		}
		if (n == 0)
			break;
		len += n;
	}
	if (close(fd) < 0)
		return -errno;
	return len;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	static char buf[1 << 16];
	long long count, i, warm, t0, got = 0, sum = 0, *ns;
	int nfiles;

	if (argc < 3) {
		fprintf(stderr, "usage: readloop COUNT FILE...\n");
		return 2;
	}
	count = bench_num(argv[1], "count");
	if (count < 1)
		return 2;
	nfiles = argc - 2;
	if (!(ns = calloc((size_t)count, sizeof(*ns))))
		return 1;
	warm = count / 10;
	for (i = -warm; i < count; i++) {
		const char *path = argv[2 + (int)((i + warm) % nfiles)];

		t0 = bench_now_ns();
		got = one(path, buf, sizeof(buf));
		if (got < 0) {
			fprintf(stderr, "readloop: %s: %s\n", path,
				strerror((int)-got));
			return 1;
		}
		if (i >= 0) {
			ns[i] = bench_now_ns() - t0;
			sum += ns[i];
		}
	}
	qsort(ns, (size_t)count, sizeof(*ns), cmp_ll);
	printf("median_us=%.1f mean_us=%.1f p90_us=%.1f ops=%lld bytes=%lld\n",
	       (count % 2 ? ns[count / 2]
			  : (ns[count / 2 - 1] + ns[count / 2]) / 2) /
		       1e3,
	       (double)sum / (double)count / 1e3, ns[count * 9 / 10] / 1e3,
	       count, got);
	free(ns);
	return 0;
}
