/*
 * kind: the kinds table, the root's names, attributes and the texts read
 * through open handles. See kind.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "spawnfs/ctlrun.h"
#include "spawnfs/kind.h"
#include "spawnfs/loop.h"
#include "spawnfs/metrics.h"

static void log_attr(struct proc *p, enum logs_id log, struct stat *st);
static void status_attr(struct proc *p, enum logs_id log, struct stat *st);
static void wait_attr(struct proc *p, enum logs_id log, struct stat *st);
static void pidlink_attr(struct proc *p, enum logs_id log, struct stat *st);
static void ctl_attr(struct proc *p, enum logs_id log, struct stat *st);
static int ctl_text(const struct kind_ctx *c, uid_t uid, gid_t gid,
		    struct proc *p, enum logs_id log, struct jbuf *b);
static int status_text(const struct kind_ctx *c, uid_t uid, gid_t gid,
		       struct proc *p, enum logs_id log, struct jbuf *b);
static int clone_text(const struct kind_ctx *c, uid_t uid, gid_t gid,
		      struct proc *unused, enum logs_id log, struct jbuf *b);
static int metrics_text(const struct kind_ctx *c, uid_t uid, gid_t gid,
			struct proc *unused, enum logs_id log, struct jbuf *b);
static void now_attr(struct proc *p, enum logs_id log, struct stat *st);
static int now_text(const struct kind_ctx *c, uid_t uid, gid_t gid,
		    struct proc *p, enum logs_id log, struct jbuf *b);

/* Every kind of file; a slot's files are those with a name. clone and
 * metrics have their attributes from root_files. */
static const struct kind_ops kinds[KIND_N] = {
	[KIND_DIR] = {NULL, S_IFDIR},
	[KIND_CTL] = {"ctl", S_IFREG | 0600, .type = HANDLE_CTL, .access = -1,
		      .truncate = true, .attr = ctl_attr, .text = ctl_text},
	[KIND_STDIN] = {"stdin", S_IFREG | 0200, .type = HANDLE_STDIN,
			.access = O_WRONLY, .truncate = true},
	[KIND_STDOUT] = {"stdout", S_IFREG | 0400, .type = HANDLE_LOG,
			 .log = LOGS_STDOUT, .access = O_RDONLY,
			 .attr = log_attr},
	[KIND_STDERR] = {"stderr", S_IFREG | 0400, .type = HANDLE_LOG,
			 .log = LOGS_STDERR, .access = O_RDONLY,
			 .attr = log_attr},
	[KIND_EVENTS] = {"events", S_IFREG | 0400, .type = HANDLE_LOG,
			 .log = LOGS_EVENTS, .access = O_RDONLY,
			 .attr = log_attr},
	[KIND_STATUS] = {"status", S_IFREG | 0400, .type = HANDLE_TEXT,
			 .access = O_RDONLY, .sized_at_open = true,
			 .attr = status_attr, .text = status_text},
	[KIND_WAIT] = {"wait", S_IFREG | 0400, .type = HANDLE_WAIT,
		       .access = O_RDONLY, .attr = wait_attr},
	[KIND_STDOUT_NOW] = {"stdout.now", S_IFREG | 0400, .type = HANDLE_TEXT,
			     .log = LOGS_STDOUT, .access = O_RDONLY,
			     .sized_at_open = true, .attr = now_attr,
			     .text = now_text},
	[KIND_STDERR_NOW] = {"stderr.now", S_IFREG | 0400, .type = HANDLE_TEXT,
			     .log = LOGS_STDERR, .access = O_RDONLY,
			     .sized_at_open = true, .attr = now_attr,
			     .text = now_text},
	[KIND_EVENTS_NOW] = {"events.now", S_IFREG | 0400, .type = HANDLE_TEXT,
			     .log = LOGS_EVENTS, .access = O_RDONLY,
			     .sized_at_open = true, .attr = now_attr,
			     .text = now_text},
	[KIND_PIDLINK] = {NULL, S_IFLNK | 0777, .attr = pidlink_attr},
	[KIND_CLONE] = {.type = HANDLE_TEXT,
			.access = O_RDONLY,
			.creates = true,
			.text = clone_text},
	[KIND_METRICS] = {.type = HANDLE_TEXT,
			  .access = O_RDONLY,
			  .text = metrics_text},
};

/* The names the root holds besides the slots: no slot may take them.
 * readdir gives them offsets 3, 4, 5. */
static const struct kind_root root_files[] = {
	{"clone", KIND_CLONE_INO, S_IFREG | 0444, KIND_CLONE},
	{"by-pid", KIND_BYPID_INO, S_IFDIR | 0755, KIND_DIR},
	{"metrics", KIND_METRICS_INO, S_IFREG | 0444, KIND_METRICS},
};
#define NROOT (sizeof(root_files) / sizeof(root_files[0]))

static const char *const root_names[] = {"clone", "by-pid", "metrics", NULL};

const struct kind_ops *kind_ops(enum kind_id k)
{
	return &kinds[k];
}

const struct kind_root *kind_root_at(size_t i)
{
	return i < NROOT ? &root_files[i] : NULL;
}

const struct kind_root *kind_root_by_name(const char *name)
{
	size_t i;

	for (i = 0; i < NROOT; i++)
		if (strcmp(root_files[i].name, name) == 0)
			return &root_files[i];
	return NULL;
}

const struct kind_root *kind_root_by_ino(fuse_ino_t ino)
{
	size_t i;

	for (i = 0; i < NROOT; i++)
		if (root_files[i].ino == ino)
			return &root_files[i];
	return NULL;
}

const char *const *kind_root_names(void)
{
	return root_names;
}

struct proc *kind_ino_proc(const struct kind_ctx *c, fuse_ino_t ino)
{
	if (ino < KIND_SLOT_INO)
		return NULL;
	return slots_by_id(c->sl, kind_ino_id(ino));
}

bool kind_in_slot(const struct kind_ctx *c, enum kind_id k)
{
	if ((k == KIND_EVENTS || k == KIND_EVENTS_NOW) && c->cfg->events_off)
		return false; /* [stream] events = off: no events file */
	return k > KIND_DIR && k < KIND_NSLOT && kinds[k].name;
}

bool kind_pidlink_live(const struct proc *p)
{
	return proc_pid(p) > 0;
}

static void log_attr(struct proc *p, enum logs_id log, struct stat *st)
{
	struct stream *s = proc_log(p, log);

	st->st_size = (off_t)proc_log_bytes(p, log);
	if (stream_mtime(s)->tv_sec)
		st->st_mtim = *stream_mtime(s);
}

/* Length of the text a status file holds now. */
static void status_attr(struct proc *p, enum logs_id log, struct stat *st)
{
	struct jbuf b;

	(void)log;
	jbuf_init(&b);
	proc_status(p, &b);
	st->st_size = (off_t)b.len;
	jbuf_free(&b);
}

/* wait: its status line; its time, the end of the last run. */
static void wait_attr(struct proc *p, enum logs_id log, struct stat *st)
{
	char tmp[16];
	int status = proc_wait_status(p);

	(void)log;
	st->st_size =
		status < 0 ? 0 : snprintf(tmp, sizeof(tmp), "%d\n", status);
	st->st_mtim = st->st_ctim = *proc_end_time(p);
}

/* ctl: its read-back's length; its time, the last ctl line applied. */
static void ctl_attr(struct proc *p, enum logs_id log, struct stat *st)
{
	struct jbuf b;

	(void)log;
	jbuf_init(&b);
	ctlrun_text(slots_settings(p), &b);
	st->st_size = (off_t)b.len;
	jbuf_free(&b);
	st->st_mtim = st->st_ctim = *slots_ctl_time(p);
}

/* A snapshot's size is what its log retains now; its time the log's. */
static void now_attr(struct proc *p, enum logs_id log, struct stat *st)
{
	struct stream *s = proc_log(p, log);

	st->st_size = (off_t)proc_retained(p, log);
	if (stream_mtime(s)->tv_sec)
		st->st_mtim = *stream_mtime(s);
}

/* stdout.now, stderr.now, events.now: the window copied at open, within
 * what [stream] snapshot_max leaves to every open text. */
static int now_text(const struct kind_ctx *c, uid_t uid, gid_t gid,
		    struct proc *p, enum logs_id log, struct jbuf *b)
{
	uint64_t used = handle_text_bytes(c->hs);
	size_t max = c->cfg->snapshot_max;

	(void)uid;
	(void)gid;
	return proc_snapshot(p, log, b, used >= max ? 0 : max - (size_t)used);
}

static void pidlink_attr(struct proc *p, enum logs_id log, struct stat *st)
{
	(void)log;
	st->st_size = (off_t)(strlen(proc_name(p)) + 3);
}

static void slot_attr(const struct kind_ctx *c, struct proc *p, enum kind_id k,
		      struct stat *st)
{
	st->st_ino = kind_ino(p, k);
	st->st_uid = proc_uid(p);
	st->st_gid = proc_gid(p);
	/* A slot's times are its last state change's, unless its kind
	 * says otherwise (logs, wait, ctl). */
	st->st_atim = c->born;
	st->st_mtim = st->st_ctim = *proc_state_time(p);
	if (k == KIND_DIR) {
		st->st_mode = S_IFDIR | (c->cfg->process_mode & 07777);
		st->st_nlink = 2;
		return;
	}
	st->st_mode = kinds[k].mode;
	st->st_nlink = 1;
	if (kinds[k].attr)
		kinds[k].attr(p, kinds[k].log, st);
}

/* The root's times: the last slot made or removed; clone's size is the
 * name it would give now, metrics' the text it would render. */
static void root_attr(const struct kind_ctx *c, const struct kind_root *rf,
		      struct stat *st)
{
	const struct timespec *t = slots_changed_time(c->sl);
	struct jbuf b;

	st->st_atim = c->born;
	st->st_mtim = st->st_ctim = t->tv_sec ? *t : c->born;
	if (rf && rf->kind == KIND_CLONE) {
		st->st_size = slots_clone_name_len(c->sl);
	} else if (rf && rf->kind == KIND_METRICS) {
		jbuf_init(&b);
		metrics_text(c, 0, 0, NULL, LOGS_STDOUT, &b);
		st->st_size = (off_t)b.len;
		jbuf_free(&b);
	}
}

/* The root is like /tmp: whoever may use the mount may make a slot there,
 * and only a slot's owner (or root) may remove it. */
int kind_attr(const struct kind_ctx *c, fuse_ino_t ino, struct proc *p,
	      struct stat *st)
{
	const struct kind_root *rf = kind_root_by_ino(ino);
	enum kind_id k = kind_of_ino(ino);

	memset(st, 0, sizeof(*st));
	if (ino < KIND_SLOT_INO) {
		if (ino != KIND_ROOT_INO && !rf)
			return -ENOENT;
		st->st_ino = ino;
		st->st_mode = rf ? rf->mode : S_IFDIR | 01777;
		st->st_nlink = S_ISDIR(st->st_mode) ? 2 : 1;
		st->st_uid = getuid();
		st->st_gid = getgid();
		root_attr(c, rf, st);
		return 0;
	}
	if (!p)
		p = kind_ino_proc(c, ino);
	if (!p || (k != KIND_DIR && !kind_in_slot(c, k) &&
		   (k != KIND_PIDLINK || !kind_pidlink_live(p))))
		return -ENOENT;
	slot_attr(c, p, k, st);
	return 0;
}

/* The daemon's resident memory, from /proc/self/statm; 0 if unknown. */
static uint64_t rss_bytes(void)
{
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "re");

	if (!f)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

static int metrics_text(const struct kind_ctx *c, uid_t uid, gid_t gid,
			struct proc *unused, enum logs_id log, struct jbuf *b)
{
	struct metrics_view v;

	(void)uid;
	(void)log;
	(void)gid;
	(void)unused;
	memset(&v, 0, sizeof(v));
	slots_metrics(c->sl, &v);
	handle_metrics(c->hs, &v);
	v.rss_bytes = rss_bytes();
	v.start_time = (uint64_t)c->born.tv_sec;
	v.pid = (uint64_t)getpid();
	v.busy_poll_usec = c->loop ? loop_polled_ns(c->loop) / 1000 : 0;
	v.up = c->up;
	metrics_render(b, &v);
	return 0;
}

static int status_text(const struct kind_ctx *c, uid_t uid, gid_t gid,
		       struct proc *p, enum logs_id log, struct jbuf *b)
{
	(void)c;
	(void)uid;
	(void)log;
	(void)gid;
	proc_status(p, b);
	return 0;
}

static int ctl_text(const struct kind_ctx *c, uid_t uid, gid_t gid,
		    struct proc *p, enum logs_id log, struct jbuf *b)
{
	(void)c;
	(void)uid;
	(void)log;
	(void)gid;
	ctlrun_text(slots_settings(p), b);
	return 0;
}

/* clone: the first free number from the counter on, as a new slot. */
static int clone_text(const struct kind_ctx *c, uid_t uid, gid_t gid,
		      struct proc *unused, enum logs_id log, struct jbuf *b)
{
	struct proc *p;
	int err;

	(void)unused;
	(void)log;
	if (c->read_only)
		return -EROFS;
	p = slots_clone(c->sl, uid, gid, &err);
	if (!p)
		return -err;
	jbuf_printf(b, "%s\n", proc_name(p));
	return 0;
}

int kind_text(const struct kind_ctx *c, enum kind_id k, uid_t uid, gid_t gid,
	      struct proc *p, struct jbuf *b)
{
	int rc;

	if (!kinds[k].text)
		return 0;
	rc = kinds[k].text(c, uid, gid, p, kinds[k].log, b);
	return rc == 0 && b->oom ? -ENOMEM : rc;
}
