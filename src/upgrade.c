/*
 * upgrade: the upgrade in place, from the signal to the exec (old image)
 * and from the state to serving (new image); the check a new program
 * runs on a state; and the --upgrade client. See upgrade.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "spawnfs/arena.h"
#include "spawnfs/log.h"
#include "spawnfs/state.h"
#include "spawnfs/upgrade.h"

#define UPGRADE_RETRY_MS     5	   /* while a start is under way */
#define UPGRADE_WAIT_MAX_MS  30000 /* then refused */
#define UPGRADE_CHECK_MAX_MS 30000 /* the check child's time */
#define UPGRADE_REASON_MAX   160

struct upgrade {
	struct loop *loop;
	struct fs *fs;
	struct cgroup_root *cg;
	char **argv;
	char *cwd;		/* the first image's, for relative paths */
	char program[PATH_MAX]; /* resolved at start */
	const struct rlimit *nofile;
	struct loop_timer retry;
	uint64_t asked_ms; /* the signal that is waited on; 0: none */
};

uint64_t upgrade_now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void upgrade_try(void *arg);

struct upgrade *upgrade_new(struct loop *loop, struct fs *fs,
			    struct cgroup_root *cg, char **argv,
			    const char *cwd, const struct rlimit *nofile)
{
	struct upgrade *u = calloc(1, sizeof(*u));
	ssize_t n;

	if (!u)
		return NULL;
	/* The path this program was started from: a package upgrade that
	 * replaced the file takes effect at the next upgrade. */
	n = readlink("/proc/self/exe", u->program, sizeof(u->program) - 1);
	if (n <= 0) {
		free(u);
		return NULL;
	}
	u->program[n] = '\0';
	u->loop = loop;
	u->fs = fs;
	u->cg = cg;
	u->argv = argv;
	u->cwd = cwd ? strdup(cwd) : NULL;
	u->nofile = nofile;
	loop_timer_init(&u->retry, loop, upgrade_try, u);
	return u;
}

void upgrade_free(struct upgrade *u)
{
	if (!u)
		return;
	loop_timer_stop(&u->retry);
	free(u->cwd);
	free(u);
}

static void refuse(struct upgrade *u, const char *result, const char *why)
{
	log_warn("upgrade: %s: %s", result, why);
	fs_upgrade_result(u->fs, result, why, 0);
	u->asked_ms = 0;
}

/* The whole state in a memfd (fd, or -errno), the fds to inherit in w. */
static int state_write(struct upgrade *u, struct state_w *w, uint64_t t0)
{
	const char *v = getenv("SPAWNFS_TEST_STATE_VERSION");
	size_t off = 0;
	ssize_t n;
	int fd, rc;

	state_w_init(w);
	state_begin(w, STATE_DAEMON);
	state_u64(w, t0);
	state_u64(w, u->nofile != NULL);
	state_u64(w, u->nofile ? u->nofile->rlim_cur : 0);
	state_u64(w, u->nofile ? u->nofile->rlim_max : 0);
	arena_save(w);
	cgroup_root_save(u->cg, w);
	fs_save(u->fs, w);
	state_end(w);
	rc = state_w_finish(w,
			    v ? (uint32_t)strtoul(v, NULL, 10) : STATE_VERSION);
	if (rc < 0)
		return rc;
	fd = memfd_create("spawnfs-state", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (off < w->len) {
		n = write(fd, w->buf + off, w->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			close(fd);
			return rc;
		}
		off += (size_t)n;
	}
	return fd;
}

/* Run the program on the state at fd with --check-state: 0 if it takes
 * it, else -1 with why (its first line of stderr). */
static int state_check(struct upgrade *u, int fd, char *why, size_t size)
{
	char **cargv, buf[UPGRADE_REASON_MAX], *line;
	struct pollfd pfd;
	int ep[2], pidfd, st, argc, i, rc = -1;
	ssize_t n;
	pid_t pid;

	for (argc = 0; u->argv[argc]; argc++)
		;
	cargv = calloc((size_t)argc + 3, sizeof(char *));
	if (!cargv || pipe2(ep, O_CLOEXEC) < 0) {
		free(cargv);
		snprintf(why, size, "cannot run the check: %s",
			 strerror(errno));
		return -1;
	}
	cargv[0] = u->program;
	cargv[1] = "--check-state";
	cargv[2] = "3";
	for (i = 1; i < argc; i++)
		cargv[i + 2] = u->argv[i];
	pid = fork();
	if (pid == 0) {
		/* Only the state (as 3) and a pipe for the reason go on. */
		if (dup2(ep[1], 2) < 0 || dup2(fd, 3) < 0)
			_exit(126);
		if (u->cwd && chdir(u->cwd) < 0)
			_exit(126);
		execv(u->program, cargv);
		_exit(127);
	}
	free(cargv);
	close(ep[1]);
	if (pid < 0) {
		snprintf(why, size, "cannot run the check: %s",
			 strerror(errno));
		close(ep[0]);
		return -1;
	}
	/* Watched by its pidfd and reaped here, by pid: the loop, which
	 * would take any orphan's status, does not run meanwhile. */
	pidfd = (int)pidfd_open(pid, 0);
	pfd = (struct pollfd){.fd = pidfd, .events = POLLIN};
	if (pidfd >= 0 && poll(&pfd, 1, UPGRADE_CHECK_MAX_MS) == 0) {
		kill(pid, SIGKILL);
		snprintf(why, size, "the check of %.100s did not end in %d ms",
			 u->program, UPGRADE_CHECK_MAX_MS);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (pidfd >= 0)
		close(pidfd);
	n = read(ep[0], buf, sizeof(buf) - 1);
	close(ep[0]);
	buf[n > 0 ? n : 0] = '\0';
	line = buf + strspn(buf, "\n"); /* its first line that says something */
	line[strcspn(line, "\n")] = '\0';
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		rc = 0;
	else if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		snprintf(why, size, "cannot execute %.120s", u->program);
	else if (line[0])
		snprintf(why, size, "%s", line);
	else if (!why[0])
		snprintf(why, size, "the check of %.100s failed (status %d)",
			 u->program, st);
	return rc;
}

static void cloexec(const int *fds, size_t n, bool on)
{
	size_t i;

	for (i = 0; i < n; i++)
		fcntl(fds[i], F_SETFD, on ? FD_CLOEXEC : 0);
}

static void upgrade_run(struct upgrade *u)
{
	char why[UPGRADE_REASON_MAX] = "", num[16];
	uint64_t t0 = upgrade_now_usec();
	struct state_w w;
	int fd, here, err;

	log_info("upgrade: to %s", u->program);
	fd = state_write(u, &w, t0);
	if (fd < 0) {
		snprintf(why, sizeof(why), "cannot write the state: %s",
			 strerror(-fd));
		state_w_fini(&w);
		refuse(u, "failed", why);
		return;
	}
	if (state_check(u, fd, why, sizeof(why)) < 0) {
		state_w_fini(&w);
		close(fd);
		refuse(u, "refused", why);
		return;
	}
	/* The fds the state lists, and the state, are inherited; every
	 * other one closes on exec. */
	cloexec(w.fds, w.nfds, false);
	cloexec(&fd, 1, false);
	snprintf(num, sizeof(num), "%d", fd);
	setenv(UPGRADE_ENV, num, 1);
	here = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (u->cwd && chdir(u->cwd) < 0)
		log_warn("upgrade: chdir %s: %s", u->cwd, strerror(errno));
	execv(u->program, u->argv);
	err = errno;
	if (here >= 0 && fchdir(here) < 0)
		log_warn("upgrade: back to the daemon's directory: %s",
			 strerror(errno));
	if (here >= 0)
		close(here);
	errno = err;
	snprintf(why, sizeof(why), "exec %.100s: %s", u->program,
		 strerror(errno));
	unsetenv(UPGRADE_ENV);
	cloexec(w.fds, w.nfds, true);
	close(fd);
	state_w_fini(&w);
	refuse(u, "failed", why);
}

static void upgrade_try(void *arg)
{
	struct upgrade *u = arg;
	const char *why;

	if (!u->asked_ms)
		return;
	if (!fs_upgradable(u->fs, &why)) {
		/* A start ends soon: wait for it, within bounds. */
		if (strcmp(why, "a start is under way") == 0 &&
		    loop_now_ms() - u->asked_ms < UPGRADE_WAIT_MAX_MS) {
			loop_timer_arm(&u->retry, UPGRADE_RETRY_MS);
			return;
		}
		refuse(u, "refused", why);
		return;
	}
	upgrade_run(u);
	u->asked_ms = 0;
}

void upgrade_request(struct upgrade *u)
{
	if (u->asked_ms)
		return; /* one is waited on already */
	u->asked_ms = loop_now_ms();
	if (!u->asked_ms)
		u->asked_ms = 1;
	upgrade_try(u);
}

/* ---- the next image ---- */

static int map_state(int fd, struct state_r *r, const char **why)
{
	struct stat st;
	void *p;

	if (fstat(fd, &st) < 0 || st.st_size < STATE_HEADER) {
		*why = "the state cannot be read";
		close(fd);
		return -EINVAL;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		*why = "the state cannot be mapped";
		return -errno;
	}
	if (state_r_init(r, p, (size_t)st.st_size) < 0 || state_r_walk(r) < 0) {
		*why = r->why;
		return r->err;
	}
	return 0;
}

int upgrade_load_begin(int fd, struct state_r *r, struct upgrade_head *h,
		       const char **why)
{
	int rc = map_state(fd, r, why);

	if (rc < 0)
		return rc;
	state_enter(r, STATE_DAEMON);
	h->t0_usec = state_get_u64(r);
	h->have_nofile = state_get_bool(r);
	h->nofile.rlim_cur = (rlim_t)state_get_u64(r);
	h->nofile.rlim_max = (rlim_t)state_get_u64(r);
	arena_load(r);
	*why = r->why;
	return r->err;
}

int upgrade_load_done(struct state_r *r)
{
	state_leave(r);
	munmap((void *)r->buf, r->len);
	return r->err;
}

int upgrade_check(int fd)
{
	struct state_r r;
	const char *why = "";

	if (map_state(fd, &r, &why) == 0) {
		state_enter(&r, STATE_DAEMON);
		state_get_u64(&r);
		state_get_u64(&r);
		state_get_u64(&r);
		state_get_u64(&r);
		state_skip(&r, STATE_ARENA);
		state_skip(&r, STATE_CGROUP);
		fs_check_state(&r);
		why = r.why;
	}
	if (r.err || why[0]) {
		fprintf(stderr, "spawnfs: --check-state: %s\n", why);
		return 1;
	}
	return 0;
}

/* ---- the client ---- */

struct seen {
	long pid;
	long generation;
	char result[16];
	char reason[UPGRADE_REASON_MAX];
};

/* Read MOUNTPOINT/metrics for the daemon's pid and its last upgrade. */
static int read_metrics(const char *mnt, struct seen *s)
{
	char path[PATH_MAX], line[512], *at, *out;
	FILE *f;

	snprintf(path, sizeof(path), "%s/metrics", mnt);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	memset(s, 0, sizeof(*s));
	s->pid = s->generation = -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "spawnfs_daemon_pid %ld", &s->pid) == 1 ||
		    sscanf(line, "spawnfs_upgrade_generation %ld",
			   &s->generation) == 1)
			continue;
		if (strncmp(line, "spawnfs_upgrade_last{result=\"", 29) != 0)
			continue;
		sscanf(line + 29, "%15[a-z]", s->result);
		at = strstr(line, "reason=\"");
		if (!at)
			continue;
		/* Unescape up to the closing quote. */
		for (at += 8, out = s->reason;
		     *at && *at != '"' &&
		     out < s->reason + sizeof(s->reason) - 1;
		     at++) {
			if (*at == '\\' && at[1])
				at++;
			*out++ = *at == 'n' && at[-1] == '\\' ? '\n' : *at;
		}
		*out = '\0';
	}
	fclose(f);
	return s->pid > 0 && s->generation >= 0 ? 0 : -ENOTSUP;
}

int upgrade_client(const char *mnt)
{
	struct timespec d = {0, 20 * 1000000L};
	struct seen before, now;
	uint64_t t0 = upgrade_now_usec();
	int rc = read_metrics(mnt, &before);

	if (rc < 0) {
		fprintf(stderr,
			"spawnfs: --upgrade %s: no spawnfs serves it "
			"(%s/metrics: %s)\n",
			mnt, mnt, strerror(-rc));
		return 1;
	}
	if (kill((pid_t)before.pid, SIGUSR2) < 0) {
		fprintf(stderr, "spawnfs: --upgrade %s: signal pid %ld: %s\n",
			mnt, before.pid, strerror(errno));
		return 1;
	}
	while (upgrade_now_usec() - t0 < 60 * 1000000ull) {
		nanosleep(&d, NULL);
		if (read_metrics(mnt, &now) < 0 ||
		    now.generation <= before.generation)
			continue;
		if (strcmp(now.result, "ok") == 0) {
			printf("spawnfs: %s upgraded in place (pid %ld)\n", mnt,
			       now.pid);
			return 0;
		}
		fprintf(stderr, "spawnfs: --upgrade %s: %s: %s\n", mnt,
			now.result, now.reason);
		return 1;
	}
	fprintf(stderr, "spawnfs: --upgrade %s: no result within 60 s\n", mnt);
	return 1;
}
