/*
 * waiters: N real reader processes blocked in read(2) on FILE, then all
 * killed with SIGKILL at once, to time how soon the file system frees
 * them.
 *
 *   waiters FILE N STATUS|-
 *
 * Each child opens FILE, reads until a read blocks and stays there. Once
 * every child is parked in read(2) (seen in /proc/PID/syscall) the parent
 * prints "ready opened_ms=A parked_ms=B" and waits for SIGUSR1. Then it
 * sends SIGKILL to every child, reaps them all and, when STATUS is a
 * spawnfs status file, polls it until its stdout log counts no reader. It
 * prints "killed reaped_ms=C freed_ms=D early=E" (times from the first
 * kill; D is -1 without STATUS; E counts children that ended before the
 * kill, which means a read did not wait). Exit status 1 on a failure, 3
 * when the readers count did not come back to 0 within 60 s.
 */
#include "bench.h"
#include <fcntl.h>
#include <stdbool.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define DEADLINE_NS (60 * 1000000000LL)

static void child(const char *file, int ready, pid_t parent)
{
	char buf[64];
	ssize_t n;
	int fd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		_exit(2);
	if (write(ready, "x", 1) != 1)
		_exit(3);
	do
		n = read(fd, buf, sizeof(buf));
	while (n > 0 || (n < 0 && errno == EINTR));
	_exit(4);
}

/* The stdout readers count from a status file, or -1. */
static long readers_of(const char *status)
{
	char buf[8192], *p;
	ssize_t n, len = 0;
	int fd = open(status, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while (len < (ssize_t)sizeof(buf) - 1 &&
	       (n = read(fd, buf + len, sizeof(buf) - 1 - (size_t)len)) > 0)
		len += n;
	close(fd);
	buf[len] = '\0';
	p = strstr(buf, "\"stdout\":{");
	if (!p || !(p = strstr(p, "\"readers\":")))
		return -1;
	return strtol(p + strlen("\"readers\":"), NULL, 10);
}

/* Whether pid is blocked in read(2), from /proc/PID/syscall (or, where
 * that cannot be read, from its state being S). */
static bool parked(pid_t pid)
{
	char path[64], buf[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = '\0';
			return strtol(buf, NULL, 10) == SYS_read &&
			       buf[0] >= '0' && buf[0] <= '9';
		}
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] == 'S';
}

static void kill_all(const pid_t *pids, long n)
{
	for (long i = 0; i < n; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGKILL);
}

/* Wait until every child reported its open on the ready pipe. */
static int wait_opened(int ready, long n, long long t0)
{
	char buf[4096];
	long got = 0;

	while (got < n) {
		struct pollfd p = {.fd = ready, .events = POLLIN};
		ssize_t r;

		if (bench_now_ns() - t0 > DEADLINE_NS) {
			fprintf(stderr, "waiters: %ld of %ld opened\n", got, n);
			return -1;
		}
		if (poll(&p, 1, 100) <= 0)
			continue;
		r = read(ready, buf, sizeof(buf));
		if (r <= 0) {
			fprintf(stderr, "waiters: %ld of %ld opened (%s)\n",
				got, n, r < 0 ? strerror(errno) : "EOF");
			return -1;
		}
		got += r;
	}
	return 0;
}

static int wait_parked(const pid_t *pids, long n, long long t0)
{
	long next = 0;

	while (next < n) {
		if (parked(pids[next])) {
			next++;
			continue;
		}
		if (bench_now_ns() - t0 > DEADLINE_NS) {
			fprintf(stderr, "waiters: %ld of %ld parked\n", next,
				n);
			return -1;
		}
		bench_sleep_ms(1);
	}
	return 0;
}

/* Reap all n children; returns how many ended other than by SIGKILL. */
static long reap_all(long n)
{
	long early = 0;
	int st;

	while (n > 0) {
		pid_t pid = waitpid(-1, &st, 0);

		if (pid < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
			early++;
		n--;
	}
	return early;
}

int main(int argc, char **argv)
{
	const char *file, *status;
	long n, early, readers = 0;
	long long t0, t_open, t_park, t_reap, t_free = -1;
	int ready[2];
	pid_t *pids, self = getpid();
	sigset_t usr1;
	struct timespec limit = {600, 0};

	if (argc != 4) {
		fprintf(stderr, "usage: waiters FILE N STATUS|-\n");
		return 2;
	}
	file = argv[1];
	n = (long)bench_num(argv[2], "count");
	status = strcmp(argv[3], "-") == 0 ? NULL : argv[3];
	pids = calloc((size_t)n + 1, sizeof(*pids));
	if (!pids || pipe2(ready, O_CLOEXEC) < 0)
		return 1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	t0 = bench_now_ns();
	for (long i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			child(file, ready[1], self);
		if (pids[i] < 0) {
			perror("waiters: fork");
			kill_all(pids, i);
			return 1;
		}
	}
	close(ready[1]);
	if (wait_opened(ready[0], n, t0) < 0)
		goto fail;
	t_open = bench_now_ns();
	if (wait_parked(pids, n, t0) < 0)
		goto fail;
	t_park = bench_now_ns();
	printf("ready opened_ms=%.1f parked_ms=%.1f\n", (t_open - t0) / 1e6,
	       (t_park - t0) / 1e6);
	if (sigtimedwait(&usr1, NULL, &limit) != SIGUSR1)
		goto fail;
	t0 = bench_now_ns();
	kill_all(pids, n);
	early = reap_all(n);
	t_reap = bench_now_ns();
	while (status && bench_now_ns() - t0 < DEADLINE_NS) {
		readers = readers_of(status);
		if (readers == 0) {
			t_free = bench_now_ns();
			break;
		}
		bench_sleep_ms(1);
	}
	printf("killed reaped_ms=%.1f freed_ms=%.1f early=%ld\n",
	       (t_reap - t0) / 1e6, t_free < 0 ? -1.0 : (t_free - t0) / 1e6,
	       early);
	if (status && t_free < 0) {
		fprintf(stderr, "waiters: %ld readers still counted\n",
			readers);
		return 3;
	}
	return 0;
fail:
	kill_all(pids, n);
	reap_all(n);
	return 1;
}
