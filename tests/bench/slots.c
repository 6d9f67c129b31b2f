/*
 * slots: many process slots at once, without a process per file access.
 *
 *   slots create MNT PREFIX N LINE   mkdir MNT/PREFIXi, write LINE to ctl
 *   slots ctl    MNT PREFIX N LINE   write LINE to every ctl
 *   slots status MNT PREFIX N        read every status file
 *   slots rmdir  MNT PREFIX N        rmdir every slot
 *
 * i runs from 0 to N-1. Each prints "ms=T done=D" (wall time of the pass,
 * slots handled); status also prints "running=R paused=P retained=B":
 * slots whose state is running, slots whose stdout log is paused, and the
 * retained bytes summed over every log. At the first failed call the pass
 * stops, prints the same line plus "error=ERRNO_NAME", and exits 1; a
 * create whose ctl write failed removes that slot again.
 */
#include "bench.h"
#include <fcntl.h>
#include <sys/stat.h>

struct tally {
	long running;
	long paused;
	long long retained;
};

static int write_ctl(const char *dir, const char *line)
{
	char path[4200], buf[4096];
	int fd, rc;

	snprintf(path, sizeof(path), "%s/ctl", dir);
	snprintf(buf, sizeof(buf), "%s\n", line);
	if ((fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)) < 0)
		return -errno;
	rc = bench_write_all(fd, buf, strlen(buf));
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

static void count_status(const char *buf, struct tally *t)
{
	const char *p = buf, *out = strstr(buf, "\"stdout\":{");

	if (strstr(buf, "\"state\":\"running\""))
		t->running++;
	if (out) {
		const char *end = strchr(out, '}');
		const char *pz = strstr(out, "\"paused\":true");

		if (pz && end && pz < end)
			t->paused++;
	}
	while ((p = strstr(p, "\"retained\":")) != NULL) {
		p += strlen("\"retained\":");
		t->retained += strtoll(p, NULL, 10);
	}
}

static int read_status(const char *dir, struct tally *t)
{
	char path[4200], buf[16384];
	ssize_t n, len = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/status", dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	while (len < (ssize_t)sizeof(buf) - 1) {
		n = read(fd, buf + len, sizeof(buf) - 1 - (size_t)len);
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
	close(fd);
	buf[len] = '\0';
	count_status(buf, t);
	return 0;
}

static void report(const char *op, long long t0, long long done,
		   const struct tally *t)
{
	printf("ms=%.1f done=%lld", bench_ms_since(t0), done);
	if (strcmp(op, "status") == 0)
		printf(" running=%ld paused=%ld retained=%lld", t->running,
		       t->paused, t->retained);
}

int main(int argc, char **argv)
{
	const char *op, *line = NULL;
	struct tally t = {0, 0, 0};
	long long n, i, t0;

	if (argc < 5 || argc > 6) {
		fprintf(stderr, "usage: slots create|ctl|status|rmdir MNT "
				"PREFIX N [LINE]\n");
		return 2;
	}
	op = argv[1];
	n = bench_num(argv[4], "count");
	if (argc == 6)
		line = argv[5];
	if ((strcmp(op, "create") == 0 || strcmp(op, "ctl") == 0) != !!line)
		return 2;
	t0 = bench_now_ns();
	for (i = 0; i < n; i++) {
		char dir[4096];
		int rc = 0;

		snprintf(dir, sizeof(dir), "%s/%s%lld", argv[2], argv[3], i);
		if (strcmp(op, "create") == 0) {
			rc = mkdir(dir, 0700) < 0 ? -errno : 0;
			if (rc == 0 && (rc = write_ctl(dir, line)) < 0)
				rmdir(dir);
		} else if (strcmp(op, "ctl") == 0) {
			rc = write_ctl(dir, line);
		} else if (strcmp(op, "status") == 0) {
			rc = read_status(dir, &t);
		} else if (strcmp(op, "rmdir") == 0) {
			rc = rmdir(dir) < 0 ? -errno : 0;
		} else {
			return 2;
		}
		if (rc < 0) {
			fprintf(stderr, "slots %s %s: %s\n", op, dir,
				strerror(-rc));
			report(op, t0, i, &t);
			printf(" error=%s\n", strerrorname_np(-rc));
			return 1;
		}
	}
	report(op, t0, n, &t);
	printf("\n");
	return 0;
}
