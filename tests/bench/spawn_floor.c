/*
 * spawn_floor: the kernel's part of one run with a cgroup leaf, without
 * the tree: COUNT times mkdir a leaf in DIR, clone3(CLONE_INTO_CGROUP)
 * into it and exec "true" (PATH searched), waitpid, rmdir the leaf. DIR
 * is a cgroup v2 directory made for this and empty. Prints the runs per
 * second. What the daemon does for one run includes all of this.
 *
 *   spawn_floor DIR COUNT
 */
#include "bench.h"
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static int one(int dir, long long i)
{
	char name[32];
	struct clone_args a;
	long pid;
	int leaf, st, rc = 0;

	snprintf(name, sizeof(name), "leaf%lld", i);
	if (mkdirat(dir, name, 0755) < 0)
		return -errno;
	leaf = openat(dir, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (leaf < 0) {
		rc = -errno;
		goto out;
	}
	memset(&a, 0, sizeof(a));
	a.flags = CLONE_INTO_CGROUP;
	a.exit_signal = SIGCHLD;
	a.cgroup = (unsigned long long)leaf;
	pid = syscall(SYS_clone3, &a, sizeof(a));
	if (pid == 0) {
		execlp("true", "true", (char *)NULL);
		_exit(127);
	}
	if (pid < 0)
		rc = -errno;
	close(leaf);
	while (pid > 0 && waitpid((pid_t)pid, &st, 0) < 0)
		if (errno != EINTR) {
			rc = -errno;
			break;
		}
	if (pid > 0 && rc == 0 && (!WIFEXITED(st) || WEXITSTATUS(st) != 0))
		rc = -ECHILD;
out:
	if (unlinkat(dir, name, AT_REMOVEDIR) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

int main(int argc, char **argv)
{
	long long count, i, t0;
	int dir, rc;

	if (argc != 3) {
		fprintf(stderr, "usage: spawn_floor DIR COUNT\n");
		return 2;
	}
	count = bench_num(argv[2], "count");
	dir = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0) {
		fprintf(stderr, "spawn_floor: %s: %s\n", argv[1],
			strerror(errno));
		return 1;
	}
	t0 = bench_now_ns();
	for (i = 0; i < count; i++) {
		rc = one(dir, i);
		if (rc < 0) {
			fprintf(stderr, "spawn_floor: run %lld: %s\n", i,
				strerror(-rc));
			return 1;
		}
	}
	printf("%.1f\n", (double)count / bench_ms_since(t0) * 1000.0);
	return 0;
}
