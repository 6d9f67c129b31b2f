/*
 * producer: write BYTES bytes of 'x' to stdout in 64 KiB blocks, or write
 * forever when BYTES is 0. The throughput benchmarks run it as a slot's
 * command and through a raw pipe.
 *
 *   producer BYTES        (K, M, G suffixes accepted)
 *
 * Exit status 0 once every byte is written, 1 on a write error (EPIPE
 * included, so a reader that went away shows up), 2 on bad usage.
 */
#include "bench.h"

#define BLOCK (64 * 1024)

static char block[BLOCK];

int main(int argc, char **argv)
{
	long long total, left;

	if (argc != 2) {
		fprintf(stderr, "usage: producer BYTES (0 = forever)\n");
		return 2;
	}
	total = bench_num(argv[1], "byte count");
	memset(block, 'x', sizeof(block));
	left = total;
	while (total == 0 || left > 0) {
		size_t n = BLOCK;
		ssize_t w;

		if (total != 0 && left < BLOCK)
			n = (size_t)left;
		w = write(STDOUT_FILENO, block, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			perror("producer: write");
			return 1;
		}
		/* Every byte is the same, so a short write just counts. */
		left -= w;
	}
	return 0;
}
