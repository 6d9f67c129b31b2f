/*
 * spawn_loop: the spawn-rate baseline. posix_spawnp("true") and waitpid
 * COUNT times, then print the runs per second.
 *
 *   spawn_loop COUNT
 */
#include "bench.h"
#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

int main(int argc, char **argv)
{
	char *args[] = {"true", NULL};
	long long count, i, t0;

	if (argc != 2) {
		fprintf(stderr, "usage: spawn_loop COUNT\n");
		return 2;
	}
	count = bench_num(argv[1], "count");
	t0 = bench_now_ns();
	for (i = 0; i < count; i++) {
		pid_t pid;
		int st, rc = posix_spawnp(&pid, "true", NULL, NULL, args,
					  environ);

		if (rc != 0) {
			fprintf(stderr, "spawn_loop: %s\n", strerror(rc));
			return 1;
		}
		while (waitpid(pid, &st, 0) < 0)
			if (errno != EINTR)
				return 1;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			return 1;
	}
	printf("%.1f\n", (double)count / bench_ms_since(t0) * 1000.0);
	return 0;
}
