/*
 * cgroup: the daemon's cgroup v2 parent and its leaves. See cgroup.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "spawnfs/cgroup.h"
#include "spawnfs/log.h"
#include "spawnfs/state.h"
#include "spawnfs/mountinfo.h"

#define CGROUP_PREFIX	  "spawnfs-"
#define CGROUP_DAEMON	  "daemon"
#define CGROUP_STALE_WAIT 2000 /* ms for a stale leaf to empty */
#define CGROUP_RMTREE_MAX 32   /* nesting a root job may have made */
#define CGROUP_TEXT_MAX	  4096

struct cgroup_root {
	char mount[CGROUP_PATH_MAX]; /* the cgroup2 mount point */
	char base[CGROUP_PATH_MAX];  /* the daemon's cgroup, below mount */
	char path[CGROUP_PATH_MAX];  /* the parent, below mount */
	char name[NAME_MAX + 1];     /* the parent's own name */
	int dirfd;		     /* the parent */
	bool moved;		     /* the daemon is in its leaf */
	bool ctrl_memory, ctrl_cpu, ctrl_pids;
};

/* ---- pure ---- */

/* The next line of *s (without its newline) into line; false at the
 * end. */
static bool next_line(const char **s, char *line, size_t size)
{
	const char *nl;
	size_t n;

	if (!**s)
		return false;
	nl = strchr(*s, '\n');
	n = nl ? (size_t)(nl - *s) : strlen(*s);
	if (n >= size)
		n = size - 1;
	memcpy(line, *s, n);
	line[n] = '\0';
	*s = nl ? nl + 1 : *s + strlen(*s);
	return true;
}

/* Copy s into out; -ENAMETOOLONG if it does not fit. */
static int copy_out(const char *s, char *out, size_t size)
{
	if (strlen(s) >= size)
		return -ENAMETOOLONG;
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

int cgroup_mount_parse(const char *mountinfo, char *out, size_t size)
{
	char line[CGROUP_PATH_MAX + 512], *f[5], *sep, *fstype, *save;

	while (next_line(&mountinfo, line, sizeof(line))) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT ... - FSTYPE SOURCE ... */
		sep = strstr(line, " - ");
		if (!sep)
			continue;
		*sep = '\0';
		fstype = strtok_r(sep + 3, " ", &save);
		if (!fstype || strcmp(fstype, "cgroup2") != 0)
			continue;
		if (mountinfo_fields(line, f))
			return copy_out(f[4], out, size);
	}
	return -ENOENT;
}

int cgroup_self_parse(const char *text, char *out, size_t size)
{
	char line[CGROUP_PATH_MAX + 64];

	while (next_line(&text, line, sizeof(line)))
		if (strncmp(line, "0::", 3) == 0)
			return copy_out(line + 3, out, size);
	return -ENOENT;
}

/* FNV-1a, 64 bits: names a path too long to escape in full. */
static uint64_t hash64(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static bool escape_plain(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == ':' || c == '_' || c == '.';
}

int cgroup_parent_name(const char *mountpoint, char *out, size_t size)
{
	char name[CGROUP_PATH_MAX * 4 + 16];
	const char *s = mountpoint;
	size_t n, keep;
	bool first = true;

	if (size < NAME_MAX + 1)
		return -ENAMETOOLONG;
	if (s[0] != '/')
		return -EINVAL;
	n = (size_t)snprintf(name, sizeof(name), CGROUP_PREFIX);
	while (*s == '/')
		s++;
	if (!*s)
		name[n++] = '-';
	for (; *s && n + 5 < sizeof(name); s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '/') {
			while (s[1] == '/')
				s++;
			if (s[1])
				name[n++] = '-';
			first = false;
			continue;
		}
		if (escape_plain(c) && !(first && c == '.'))
			name[n++] = (char)c;
		else
			n += (size_t)snprintf(name + n, 5, "\\x%02x", c);
		first = false;
	}
	name[n] = '\0';
	if (n > NAME_MAX) {
		keep = NAME_MAX - 17;
		n = keep + (size_t)snprintf(name + keep, 18, "-%016" PRIx64,
					    hash64(mountpoint));
	}
	memcpy(out, name, n + 1);
	return 0;
}

/* The number after "key " on a line of text; -1 if absent. */
static long long key_value(const char *text, const char *key)
{
	char line[256];
	size_t k = strlen(key);
	char *end;
	long long v;

	while (next_line(&text, line, sizeof(line))) {
		if (strncmp(line, key, k) != 0 || line[k] != ' ')
			continue;
		errno = 0;
		v = strtoll(line + k + 1, &end, 10);
		if (errno || end == line + k + 1 || v < 0)
			return -1;
		return v;
	}
	return -1;
}

int cgroup_events_parse(const char *text, bool *populated, bool *frozen)
{
	long long p = key_value(text, "populated");
	long long f = key_value(text, "frozen");

	if (p < 0)
		return -EINVAL;
	*populated = p != 0;
	*frozen = f > 0;
	return 0;
}

int cgroup_cpu_parse(const char *text, struct cgroup_cpu *cpu)
{
	long long u = key_value(text, "usage_usec");
	long long us = key_value(text, "user_usec");
	long long sy = key_value(text, "system_usec");

	if (u < 0 || us < 0 || sy < 0)
		return -EINVAL;
	cpu->usage_usec = (uint64_t)u;
	cpu->user_usec = (uint64_t)us;
	cpu->system_usec = (uint64_t)sy;
	return 0;
}

bool cgroup_list_has(const char *list, const char *controller)
{
	size_t n = strlen(controller);
	const char *s = list;

	while ((s = strstr(s, controller))) {
		if ((s == list || s[-1] == ' ') &&
		    (s[n] == '\0' || s[n] == ' ' || s[n] == '\n'))
			return true;
		s += n;
	}
	return false;
}

/* ---- files ---- */

int cgroup_write(int dirfd, const char *file, const char *text)
{
	int fd = openat(dirfd, file, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int rc = 0;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	if (n < 0)
		rc = -errno;
	else if ((size_t)n != strlen(text))
		rc = -EIO;
	close(fd);
	return rc;
}

ssize_t cgroup_read(int dirfd, const char *file, char *buf, size_t size)
{
	int fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	while (len + 1 < size &&
	       (n = read(fd, buf + len, size - 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			n = -errno;
			close(fd);
			return n;
		}
		len += (size_t)n;
	}
	buf[len] = '\0';
	close(fd);
	return (ssize_t)len;
}

/* Call fn for each pid of the cgroup at dirfd; the number of pids. */
static int pids_each(int dirfd, void (*fn)(pid_t pid, void *arg), void *arg)
{
	int fd = openat(dirfd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
	FILE *f;
	long pid;
	int n = 0;

	if (fd < 0)
		return -errno;
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	while (fscanf(f, "%ld", &pid) == 1) {
		if (fn)
			fn((pid_t)pid, arg);
		n++;
	}
	fclose(f);
	return n;
}

unsigned cgroup_count(int dirfd)
{
	int n = pids_each(dirfd, NULL, NULL);

	return n < 0 ? 0 : (unsigned)n;
}

static void signal_one(pid_t pid, void *arg)
{
	kill(pid, *(int *)arg);
}

int cgroup_signal(int dirfd, int sig)
{
	return pids_each(dirfd, signal_one, &sig);
}

/* ---- the parent ---- */

static ssize_t read_path(const char *path, char *buf, size_t size)
{
	return cgroup_read(AT_FDCWD, path, buf, size);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Remove the cgroup name below dirfd and every cgroup below it, deepest
 * first. 0 or -errno. */
static int rmtree(int parent, const char *name, int depth)
{
	struct dirent *e;
	DIR *d;
	int fd, rc;

	if (unlinkat(parent, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
		return 0;
	if (errno != EBUSY || depth >= CGROUP_RMTREE_MAX)
		return -errno;
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		if (fd >= 0)
			close(fd);
		return -EBUSY;
	}
	while ((e = readdir(d)))
		if (e->d_type == DT_DIR && e->d_name[0] != '.')
			rmtree(dirfd(d), e->d_name, depth + 1);
	closedir(d);
	rc = unlinkat(parent, name, AT_REMOVEDIR);
	return rc == 0 || errno == ENOENT ? 0 : -errno;
}

/* Kill what a dead daemon left in leaf name and remove it. */
static void stale_leaf(int parent, const char *name)
{
	char text[CGROUP_TEXT_MAX];
	bool populated = true, frozen;
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	unsigned n;
	long waited = 0;

	if (fd < 0)
		return;
	n = cgroup_count(fd);
	if (cgroup_write(fd, "cgroup.kill", "1") < 0)
		cgroup_signal(fd, SIGKILL);
	while (waited < CGROUP_STALE_WAIT) {
		if (cgroup_read(fd, "cgroup.events", text, sizeof(text)) < 0 ||
		    cgroup_events_parse(text, &populated, &frozen) < 0 ||
		    !populated)
			break;
		sleep_ms(10);
		waited += 10;
	}
	close(fd);
	if (n)
		log_warn("cgroup: killed %u process(es) a dead daemon left in "
			 "%s",
			 n, name);
	if (rmtree(parent, name, 0) < 0)
		log_warn("cgroup: cannot remove stale leaf %s: %s", name,
			 strerror(errno));
}

/* Every leaf of the parent but the daemon's: a dead daemon's. */
static void stale_sweep(int parent)
{
	int fd = openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	struct dirent *e;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(d)))
		if (e->d_type == DT_DIR && e->d_name[0] != '.' &&
		    strcmp(e->d_name, CGROUP_DAEMON) != 0)
			stale_leaf(parent, e->d_name);
	closedir(d);
}

/* Whether the parent's daemon leaf holds a live process: another daemon
 * owns it. */
static bool parent_owned(int parent)
{
	int fd = openat(parent, CGROUP_DAEMON,
			O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	unsigned n;

	if (fd < 0)
		return false;
	n = cgroup_count(fd);
	close(fd);
	return n > 0;
}

/* Enable controller for the parent's leaves where it is available,
 * first in the daemon's own cgroup (which the daemon has left). */
static bool enable(struct cgroup_root *cg, int base, const char *controller)
{
	char text[CGROUP_TEXT_MAX], plus[32];

	snprintf(plus, sizeof(plus), "+%s", controller);
	if (cgroup_read(cg->dirfd, "cgroup.subtree_control", text,
			sizeof(text)) >= 0 &&
	    cgroup_list_has(text, controller))
		return true;
	if (cgroup_read(base, "cgroup.subtree_control", text, sizeof(text)) <
		    0 ||
	    !cgroup_list_has(text, controller))
		cgroup_write(base, "cgroup.subtree_control", plus);
	return cgroup_write(cg->dirfd, "cgroup.subtree_control", plus) == 0;
}

/* Open (making it if needed) the parent name below base. */
static int parent_open(int base, const char *name)
{
	int fd;

	if (mkdirat(base, name, 0755) < 0 && errno != EEXIST)
		return -errno;
	fd = openat(base, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return fd;
}

static int root_paths(struct cgroup_root *cg, const char *setting)
{
	char text[CGROUP_PATH_MAX * 4];
	int rc;

	if (read_path("/proc/self/mountinfo", text, sizeof(text)) < 0)
		return -errno;
	rc = cgroup_mount_parse(text, cg->mount, sizeof(cg->mount));
	if (rc < 0)
		return rc;
	if (strcmp(setting, "auto") != 0)
		return copy_out(setting, cg->base, sizeof(cg->base));
	if (read_path("/proc/self/cgroup", text, sizeof(text)) < 0)
		return -errno;
	return cgroup_self_parse(text, cg->base, sizeof(cg->base));
}

/* Choose, clean and enter the parent below the open base. */
static int root_enter(struct cgroup_root *cg, int base, const char *mountpoint)
{
	char name[NAME_MAX + 1], alt[NAME_MAX + 1];
	int rc, fd;

	rc = cgroup_parent_name(mountpoint, name, sizeof(name));
	fd = rc < 0 ? rc : parent_open(base, name);
	if (fd < 0)
		return fd;
	if (parent_owned(fd)) {
		/* A live daemon on the same mount point: touch nothing. */
		close(fd);
		snprintf(alt, sizeof(alt), "%.*s-%ld", NAME_MAX - 12, name,
			 (long)getpid());
		memcpy(name, alt, sizeof(name));
		log_warn("cgroup: another daemon owns this mount point's "
			 "cgroup; using %s",
			 name);
		fd = parent_open(base, name);
		if (fd < 0)
			return fd;
	} else {
		stale_sweep(fd);
	}
	cg->dirfd = fd;
	memcpy(cg->name, name, sizeof(name));
	if (snprintf(cg->path, sizeof(cg->path), "%s/%s",
		     strcmp(cg->base, "/") == 0 ? "" : cg->base,
		     name) >= (int)sizeof(cg->path))
		return -ENAMETOOLONG;
	if (mkdirat(fd, CGROUP_DAEMON, 0755) < 0 && errno != EEXIST)
		return -errno;
	fd = openat(cg->dirfd, CGROUP_DAEMON,
		    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = cgroup_write(fd, "cgroup.procs", "0");
	close(fd);
	if (rc < 0)
		return rc;
	cg->moved = true;
	cg->ctrl_memory = enable(cg, base, "memory");
	cg->ctrl_cpu = enable(cg, base, "cpu");
	cg->ctrl_pids = enable(cg, base, "pids");
	return 0;
}

struct cgroup_root *cgroup_root_open(const char *setting,
				     const char *mountpoint)
{
	struct cgroup_root *cg;
	char path[CGROUP_PATH_MAX * 2 + 2];
	int base, rc;

	if (!setting || strcmp(setting, "off") == 0)
		return NULL;
	cg = calloc(1, sizeof(*cg));
	if (!cg)
		return NULL;
	cg->dirfd = -1;
	rc = root_paths(cg, setting);
	if (rc == 0) {
		snprintf(path, sizeof(path), "%s%s", cg->mount, cg->base);
		base = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		rc = base < 0 ? -errno : root_enter(cg, base, mountpoint);
		if (base >= 0)
			close(base);
	}
	if (rc < 0) {
		log_warn("cgroup: %s; runs are contained by process groups",
			 strerror(-rc));
		cgroup_root_close(cg);
		return NULL;
	}
	log_info("cgroup: runs go below %s%s (controllers:%s%s%s%s)", cg->mount,
		 cg->path, cg->ctrl_memory ? " memory" : "",
		 cg->ctrl_cpu ? " cpu" : "", cg->ctrl_pids ? " pids" : "",
		 cg->ctrl_memory || cg->ctrl_cpu || cg->ctrl_pids ? ""
								  : " none");
	return cg;
}

void cgroup_root_close(struct cgroup_root *cg)
{
	char path[CGROUP_PATH_MAX * 2 + 2];
	int base;

	if (!cg)
		return;
	if (cg->moved) {
		snprintf(path, sizeof(path), "%s%s", cg->mount, cg->base);
		base = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (base >= 0 && cgroup_write(base, "cgroup.procs", "0") == 0) {
			unlinkat(cg->dirfd, CGROUP_DAEMON, AT_REMOVEDIR);
			unlinkat(base, cg->name, AT_REMOVEDIR);
		}
		if (base >= 0)
			close(base);
	}
	if (cg->dirfd >= 0)
		close(cg->dirfd);
	free(cg);
}

bool cgroup_root_has(const struct cgroup_root *cg, const char *controller)
{
	if (!cg)
		return false;
	if (strcmp(controller, "memory") == 0)
		return cg->ctrl_memory;
	if (strcmp(controller, "cpu") == 0)
		return cg->ctrl_cpu;
	if (strcmp(controller, "pids") == 0)
		return cg->ctrl_pids;
	return false;
}

/* ---- leaves ---- */

int cgroup_leaf_make(struct cgroup_root *cg, const char *name)
{
	int fd;

	if (mkdirat(cg->dirfd, name, 0755) < 0 && errno != EEXIST)
		return -errno;
	fd = openat(cg->dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return fd;
}

int cgroup_leaf_open(const struct cgroup_root *cg, const char *name)
{
	int fd = openat(cg->dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	return fd;
}

int cgroup_leaf_remove(struct cgroup_root *cg, const char *name)
{
	return rmtree(cg->dirfd, name, 0);
}

int cgroup_leaf_file(const struct cgroup_root *cg, const char *name,
		     const char *file, char *out, size_t size)
{
	int n = snprintf(out, size, "%s%s/%s/%s", cg->mount, cg->path, name,
			 file);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* ---- an upgrade in place ---- */

void cgroup_root_save(const struct cgroup_root *cg, struct state_w *w)
{
	state_begin(w, STATE_CGROUP);
	state_u64(w, cg != NULL);
	if (cg) {
		state_str(w, cg->mount);
		state_str(w, cg->base);
		state_str(w, cg->path);
		state_str(w, cg->name);
		state_fd(w, cg->dirfd);
		state_u64(w, cg->moved);
		state_u64(w, cg->ctrl_memory);
		state_u64(w, cg->ctrl_cpu);
		state_u64(w, cg->ctrl_pids);
	}
	state_end(w);
}

static void str_load(struct state_r *r, char *out, size_t size)
{
	char *s = state_get_str(r);

	if (s && strlen(s) < size)
		strcpy(out, s);
	else if (!r->err)
		state_fail(r, "cgroup: a path does not fit");
	free(s);
}

struct cgroup_root *cgroup_root_load(struct state_r *r)
{
	struct cgroup_root *cg = NULL;

	if (!state_enter(r, STATE_CGROUP))
		return NULL;
	if (state_get_bool(r)) {
		cg = calloc(1, sizeof(*cg));
		if (!cg) {
			state_fail(r, "cgroup: out of memory");
			return NULL;
		}
		str_load(r, cg->mount, sizeof(cg->mount));
		str_load(r, cg->base, sizeof(cg->base));
		str_load(r, cg->path, sizeof(cg->path));
		str_load(r, cg->name, sizeof(cg->name));
		cg->dirfd = state_get_fd(r);
		cg->moved = state_get_bool(r);
		cg->ctrl_memory = state_get_bool(r);
		cg->ctrl_cpu = state_get_bool(r);
		cg->ctrl_pids = state_get_bool(r);
		if (cg->dirfd >= 0)
			fcntl(cg->dirfd, F_SETFD, FD_CLOEXEC);
	}
	state_leave(r);
	if (r->err && cg) {
		cg->moved = false; /* the old image's to clean, not ours */
		cgroup_root_close(cg);
		cg = NULL;
	}
	return cg;
}
