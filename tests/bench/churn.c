/*
 * churn: COUNT cycles of open(FILE), read(fd, 64 bytes), close. Each read
 * must return bytes (FILE holds some already). Prints cycles per second.
 *
 *   churn FILE COUNT
 */
#include "bench.h"
#include <fcntl.h>

int main(int argc, char **argv)
{
	long long count, i, t0;
	char buf[64];

	if (argc != 3) {
		fprintf(stderr, "usage: churn FILE COUNT\n");
		return 2;
	}
	count = bench_num(argv[2], "count");
	t0 = bench_now_ns();
	for (i = 0; i < count; i++) {
		int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
		ssize_t n;

		if (fd < 0) {
			perror("churn: open");
			return 1;
		}
		while ((n = read(fd, buf, sizeof(buf))) < 0 && errno == EINTR)
			;
		if (n <= 0) {
			fprintf(stderr, "churn: read returned %zd (%s)\n", n,
				n < 0 ? strerror(errno) : "EOF");
			return 1;
		}
		if (close(fd) < 0) {
			perror("churn: close");
			return 1;
		}
	}
	printf("%.1f\n", (double)count / bench_ms_since(t0) * 1000.0);
	return 0;
}
