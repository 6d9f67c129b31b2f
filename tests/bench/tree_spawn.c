/*
 * tree_spawn: the spawn rate through the tree, without a shell in the way.
 * COUNT times: mkdir MNT/spN, write "exec true" to its ctl, read its wait
 * (which must say "0"), rmdir it. Prints the runs per second and how many
 * rmdir calls met EBUSY and were retried.
 *
 *   tree_spawn MNT COUNT
 */
#include "bench.h"
#include <fcntl.h>
#include <sys/stat.h>

static int run_one(const char *mnt, long long i, long long *busy)
{
	char dir[4096], path[4200], st[32];
	static const char line[] = "exec true\n";
	ssize_t n;
	int fd, rc;

	snprintf(dir, sizeof(dir), "%s/sp%lld", mnt, i);
	if (mkdir(dir, 0700) < 0)
		return -errno;
	snprintf(path, sizeof(path), "%s/ctl", dir);
	if ((fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)) < 0)
		return -errno;
	rc = bench_write_all(fd, line, sizeof(line) - 1);
	close(fd);
	if (rc < 0)
		return rc;
	snprintf(path, sizeof(path), "%s/wait", dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	while ((n = read(fd, st, sizeof(st) - 1)) < 0 && errno == EINTR)
		;
	close(fd);
	if (n != 2 || memcmp(st, "0\n", 2) != 0)
		return -EPROTO;
	while (rmdir(dir) < 0) {
		if (errno != EBUSY || ++*busy > 100000)
			return -errno;
		bench_sleep_ms(1);
	}
	return 0;
}

int main(int argc, char **argv)
{
	long long count, i, t0, busy = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: tree_spawn MNT COUNT\n");
		return 2;
	}
	count = bench_num(argv[2], "count");
	t0 = bench_now_ns();
	for (i = 0; i < count; i++) {
		int rc = run_one(argv[1], i, &busy);

		if (rc < 0) {
			fprintf(stderr, "tree_spawn: run %lld: %s\n", i,
				strerror(-rc));
			return 1;
		}
	}
	printf("%.1f %lld\n", (double)count / bench_ms_since(t0) * 1000.0,
	       busy);
	return 0;
}
