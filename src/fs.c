/*
 * fs: the FUSE low-level operations. Inode numbers are synthetic: 1 is
 * the root, 2 is clone, 3 is by-pid, 4 is metrics, and a slot with id N
 * has (N << 4) | kind for its directory and files; ids never repeat, so
 * an inode never changes meaning. What each kind of file does (its size,
 * who may open it, how it reads, writes and polls) is one entry of the
 * kinds table. Owns the session, the slot table and a record per slot
 * (its handles, its reap timer); the open handles and the requests
 * parked on them are handle.c's.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <fuse_lowlevel.h>

#include "spawnfs/ctlrun.h"
#include "spawnfs/fs.h"
#include "spawnfs/handle.h"
#include "spawnfs/log.h"
#include "spawnfs/metrics.h"
#include "spawnfs/proc.h"
#include "spawnfs/tab.h"

#define FS_ROOT_INO    1
#define FS_CLONE_INO   2
#define FS_BYPID_INO   3
#define FS_METRICS_INO 4
#define FS_SLOT_INO    16 /* the first inode number of a slot */
#define FS_MAX_WRITE   (1024 * 1024)
#define FS_NAME_MAX    64
/* On a stop, runs not over this long after kill_grace + drain_timeout
 * are forced. */
#define FS_STOP_SLACK_MS 1000
/* Removed slots leave small blocks all over the heap: this long after a
 * removal, free pages go back to the system. */
#define FS_TRIM_DELAY_MS 500

enum fs_kind {
	K_DIR,
	K_CTL,
	K_STDIN,
	K_STDOUT,
	K_STDERR,
	K_EVENTS,
	K_STATUS,
	K_WAIT,
	K_NSLOT,	     /* the kinds below are the files of a slot */
	K_PIDLINK = K_NSLOT, /* by-pid/PID -> ../NAME */
	K_CLONE,	     /* the root's clone */
	K_METRICS,	     /* the root's metrics */
	K_NKINDS,
};

struct fs;

/* What fs keeps per slot; proc_data of the slot's proc. Freed once the
 * slot has left the table and its last handle is closed. */
struct fs_slot {
	struct fs *fs;
	struct proc *p;
	struct handle_list handles;
	struct loop_timer *reap_timer; /* reap_after or reap_new_after */
};

/* What a kind of file does. */
struct fs_kind_ops {
	const char *name; /* in a slot's directory; NULL: not there */
	mode_t mode;
	enum handle_type type; /* how an open handle reads, writes, polls */
	enum proc_log log;     /* HANDLE_LOG: the log it reads */
	int access;	       /* the O_ACCMODE open allows; -1: any */
	bool truncate;	       /* O_TRUNC (a size 0 setattr) is allowed */
	bool creates;	       /* opening it makes a slot: not read-only */
	bool sized_at_open;    /* an open handle's size is its text's */
	/* getattr: the size (and times) beyond what every file has */
	void (*attr)(struct proc *p, enum proc_log log, struct stat *st);
	/* the text an open handle reads, rendered at open; 0 or -errno */
	int (*text)(struct fs *fs, fuse_req_t req, struct proc *p,
		    struct jbuf *b);
};

static void log_attr(struct proc *p, enum proc_log log, struct stat *st);
static void status_attr(struct proc *p, enum proc_log log, struct stat *st);
static void wait_attr(struct proc *p, enum proc_log log, struct stat *st);
static void pidlink_attr(struct proc *p, enum proc_log log, struct stat *st);
static int ctl_text(struct fs *fs, fuse_req_t req, struct proc *p,
		    struct jbuf *b);
static int status_text(struct fs *fs, fuse_req_t req, struct proc *p,
		       struct jbuf *b);
static int clone_text(struct fs *fs, fuse_req_t req, struct proc *unused,
		      struct jbuf *b);
static int metrics_text(struct fs *fs, fuse_req_t req, struct proc *unused,
			struct jbuf *b);

/* Every kind of file; a slot's files are those with a name. clone and
 * metrics have their attributes from root_files. */
static const struct fs_kind_ops kinds[K_NKINDS] = {
	[K_DIR] = {NULL, S_IFDIR},
	[K_CTL] = {"ctl", S_IFREG | 0600, .type = HANDLE_CTL, .access = -1,
		   .truncate = true, .text = ctl_text},
	[K_STDIN] = {"stdin", S_IFREG | 0200, .type = HANDLE_STDIN,
		     .access = O_WRONLY, .truncate = true},
	[K_STDOUT] = {"stdout", S_IFREG | 0400, .type = HANDLE_LOG,
		      .log = PROC_STDOUT, .access = O_RDONLY, .attr = log_attr},
	[K_STDERR] = {"stderr", S_IFREG | 0400, .type = HANDLE_LOG,
		      .log = PROC_STDERR, .access = O_RDONLY, .attr = log_attr},
	[K_EVENTS] = {"events", S_IFREG | 0400, .type = HANDLE_LOG,
		      .log = PROC_EVENTS, .access = O_RDONLY, .attr = log_attr},
	[K_STATUS] = {"status", S_IFREG | 0400, .type = HANDLE_TEXT,
		      .access = O_RDONLY, .sized_at_open = true,
		      .attr = status_attr, .text = status_text},
	[K_WAIT] = {"wait", S_IFREG | 0400, .type = HANDLE_WAIT,
		    .access = O_RDONLY, .attr = wait_attr},
	[K_PIDLINK] = {NULL, S_IFLNK | 0777, .attr = pidlink_attr},
	[K_CLONE] = {.type = HANDLE_TEXT,
		     .access = O_RDONLY,
		     .creates = true,
		     .text = clone_text},
	[K_METRICS] = {.type = HANDLE_TEXT,
		       .access = O_RDONLY,
		       .text = metrics_text},
};

/* The names the root holds besides the slots: no slot may take them.
 * readdir gives them offsets 3, 4, 5. */
static const struct fs_root_file {
	const char *name;
	fuse_ino_t ino;
	mode_t mode;
	enum fs_kind kind; /* of a handle opened on it */
} root_files[] = {
	{"clone", FS_CLONE_INO, S_IFREG | 0444, K_CLONE},
	{"by-pid", FS_BYPID_INO, S_IFDIR | 0755, K_DIR},
	{"metrics", FS_METRICS_INO, S_IFREG | 0444, K_METRICS},
};
#define FS_NROOT (sizeof(root_files) / sizeof(root_files[0]))

struct fs {
	struct fuse_session *se;
	struct loop *loop;
	struct loop_io *io;
	const struct cfg *cfg;
	const struct fs_hooks *hooks;
	void *arg;
	struct proc_ctx *pctx;
	struct ctlrun ctlrun;
	struct proc_hooks phooks;
	struct tab *tab;
	uint64_t next_id, next_clone;
	struct fuse_buf buf;
	struct handle_set *hs;
	struct timespec born;
	bool mounted, stopping, ended;
	bool lingering;		       /* stopping, every run over */
	bool stopped;		       /* the stopped hook has fired */
	struct loop_timer *stop_timer; /* the bound of a stop's phase */
	struct loop_timer *trim_timer; /* give freed heap back, once */
	bool read_only; /* -o ro: observing only, EROFS for the rest */
	uint64_t bytes_gone[PROC_NLOGS]; /* of the slots removed: metrics */
};

static void slot_drop(struct fs *fs, struct proc *p);
static void reap_arm(struct fs_slot *s);

static struct fs *req_fs(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static uint64_t ino_id(fuse_ino_t ino)
{
	return (uint64_t)ino >> 4;
}

static enum fs_kind ino_kind(fuse_ino_t ino)
{
	return (enum fs_kind)(ino & 15);
}

static fuse_ino_t slot_ino(const struct proc *p, enum fs_kind k)
{
	return (fuse_ino_t)((proc_id(p) << 4) | (uint64_t)k);
}

static struct proc *ino_proc(struct fs *fs, fuse_ino_t ino)
{
	if (ino < FS_SLOT_INO)
		return NULL;
	return tab_by_id(fs->tab, ino_id(ino));
}

/* A file (not the directory) of a slot's directory. */
static bool kind_in_slot(enum fs_kind k)
{
	return k > K_DIR && k < K_NSLOT && kinds[k].name;
}

static const struct fs_root_file *root_file_by_name(const char *name)
{
	size_t i;

	for (i = 0; i < FS_NROOT; i++)
		if (strcmp(root_files[i].name, name) == 0)
			return &root_files[i];
	return NULL;
}

static const struct fs_root_file *root_file_by_ino(fuse_ino_t ino)
{
	size_t i;

	for (i = 0; i < FS_NROOT; i++)
		if (root_files[i].ino == ino)
			return &root_files[i];
	return NULL;
}

/* by-pid/PID is there while the slot's run is alive. */
static bool pidlink_live(const struct proc *p)
{
	return proc_pid(p) > 0;
}

static void log_attr(struct proc *p, enum proc_log log, struct stat *st)
{
	struct stream *s = proc_log(p, log);

	st->st_size = (off_t)proc_log_bytes(p, log);
	if (stream_mtime(s)->tv_sec)
		st->st_mtim = *stream_mtime(s);
}

/* Length of the text a status file holds now. */
static void status_attr(struct proc *p, enum proc_log log, struct stat *st)
{
	struct jbuf b;

	(void)log;
	jbuf_init(&b);
	proc_status(p, &b);
	st->st_size = (off_t)b.len;
	jbuf_free(&b);
}

static void wait_attr(struct proc *p, enum proc_log log, struct stat *st)
{
	char tmp[16];
	int status = proc_wait_status(p);

	(void)log;
	st->st_size =
		status < 0 ? 0 : snprintf(tmp, sizeof(tmp), "%d\n", status);
}

static void pidlink_attr(struct proc *p, enum proc_log log, struct stat *st)
{
	(void)log;
	st->st_size = (off_t)(strlen(proc_name(p)) + 3);
}

static void slot_attr(struct fs *fs, struct proc *p, enum fs_kind k,
		      struct stat *st)
{
	st->st_ino = slot_ino(p, k);
	st->st_uid = proc_uid(p);
	st->st_gid = proc_gid(p);
	st->st_mtim = st->st_ctim = st->st_atim = fs->born;
	if (k == K_DIR) {
		st->st_mode = S_IFDIR | (fs->cfg->process_mode & 07777);
		st->st_nlink = 2;
		return;
	}
	st->st_mode = kinds[k].mode;
	st->st_nlink = 1;
	if (kinds[k].attr)
		kinds[k].attr(p, kinds[k].log, st);
}

/* Attributes of ino; p may come from an open handle of a removed slot.
 * The root is like /tmp: whoever may use the mount may make a slot there,
 * and only a slot's owner (or root) may remove it. */
static int fs_attr(struct fs *fs, fuse_ino_t ino, struct proc *p,
		   struct stat *st)
{
	const struct fs_root_file *rf = root_file_by_ino(ino);
	enum fs_kind k = ino_kind(ino);

	memset(st, 0, sizeof(*st));
	if (ino < FS_SLOT_INO) {
		if (ino != FS_ROOT_INO && !rf)
			return -ENOENT;
		st->st_ino = ino;
		st->st_mode = rf ? rf->mode : S_IFDIR | 01777;
		st->st_nlink = S_ISDIR(st->st_mode) ? 2 : 1;
		st->st_uid = getuid();
		st->st_gid = getgid();
		st->st_mtim = st->st_ctim = st->st_atim = fs->born;
		return 0;
	}
	if (!p)
		p = ino_proc(fs, ino);
	if (!p || (k != K_DIR && !kind_in_slot(k) &&
		   (k != K_PIDLINK || !pidlink_live(p))))
		return -ENOENT;
	slot_attr(fs, p, k, st);
	return 0;
}
/* The live slot whose run has pid text (by-pid lookups). */
static struct proc *proc_by_pid(struct fs *fs, const char *text)
{
	struct proc *p;
	uint64_t id = 0;
	char *end;
	long pid;

	errno = 0;
	pid = strtol(text, &end, 10);
	if (errno || *end || end == text || pid <= 0)
		return NULL;
	while ((p = tab_next(fs->tab, id, &id)))
		if (proc_pid(p) == (pid_t)pid)
			return p;
	return NULL;
}

static void reply_entry(fuse_req_t req, struct fs *fs, fuse_ino_t ino,
			struct proc *p)
{
	struct fuse_entry_param e;
	int rc;

	memset(&e, 0, sizeof(e));
	rc = fs_attr(fs, ino, p, &e.attr);
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	e.ino = ino;
	e.generation = 1;
	fuse_reply_entry(req, &e);
}

static void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = req_fs(req);
	const struct fs_root_file *rf;
	struct proc *p;
	int k;

	if (parent == FS_BYPID_INO) {
		p = proc_by_pid(fs, name);
		if (!p)
			fuse_reply_err(req, ENOENT);
		else
			reply_entry(req, fs, slot_ino(p, K_PIDLINK), p);
		return;
	}
	if (parent == FS_ROOT_INO) {
		rf = root_file_by_name(name);
		p = rf ? NULL : tab_by_name(fs->tab, name);
		if (rf)
			reply_entry(req, fs, rf->ino, NULL);
		else if (p)
			reply_entry(req, fs, slot_ino(p, K_DIR), p);
		else
			fuse_reply_err(req, ENOENT);
		return;
	}
	p = ino_proc(fs, parent);
	if (!p || ino_kind(parent) != K_DIR) {
		fuse_reply_err(req, p ? ENOTDIR : ENOENT);
		return;
	}
	for (k = K_DIR + 1; k < K_NSLOT; k++) {
		if (kind_in_slot((enum fs_kind)k) &&
		    strcmp(kinds[k].name, name) == 0) {
			reply_entry(req, fs, slot_ino(p, (enum fs_kind)k), p);
			return;
		}
	}
	fuse_reply_err(req, ENOENT);
}

/*
 * An open handle on ino of a slot that left the table (rmdir), of the
 * same kind where there is one. fstat comes without a file handle (the
 * kernel's getattr of an inode), and the handle still holds the slot.
 */
static struct handle *handle_of_removed(struct fs *fs, fuse_ino_t ino)
{
	if (ino < FS_SLOT_INO || ino_proc(fs, ino))
		return NULL;
	return handle_find(fs->hs, ino_id(ino), ino_kind(ino));
}

static void fs_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct fs *fs = req_fs(req);
	struct handle *h = fi ? (struct handle *)(uintptr_t)fi->fh : NULL;
	enum fs_kind k = ino_kind(ino);
	struct stat st;
	int rc;

	if (!h)
		h = handle_of_removed(fs, ino);

	rc = fs_attr(fs, ino, h && ino >= FS_SLOT_INO ? handle_proc(h) : NULL,
		     &st);
	/* An open status reads what was rendered at open: say that size. */
	if (rc == 0 && h && ino >= FS_SLOT_INO && handle_tag(h) == k &&
	    kinds[k].sized_at_open)
		st.st_size = (off_t)handle_text_len(h);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, 0);
}

/* Only the size change that O_TRUNC on ctl and stdin makes is allowed. */
static void fs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	struct fs *fs = req_fs(req);
	enum fs_kind k = ino_kind(ino);
	struct proc *p;
	struct stat st;

	(void)fi;
	p = ino_proc(fs, ino);
	if (fs->read_only) {
		fuse_reply_err(req, p || ino < FS_SLOT_INO ? EROFS : ENOENT);
		return;
	}
	if (p && k < K_NKINDS && kinds[k].truncate &&
	    to_set == FUSE_SET_ATTR_SIZE && attr->st_size == 0) {
		fs_attr(fs, ino, p, &st);
		fuse_reply_attr(req, &st, 0);
		return;
	}
	fuse_reply_err(req, p || ino < FS_SLOT_INO ? EPERM : ENOENT);
}

/* Append one entry; false when buf is full. */
static bool dirent_add(fuse_req_t req, char *buf, size_t size, size_t *pos,
		       const char *name, fuse_ino_t ino, mode_t mode,
		       off_t next)
{
	struct stat st;
	size_t need;

	memset(&st, 0, sizeof(st));
	st.st_ino = ino;
	st.st_mode = mode;
	need = fuse_add_direntry(req, NULL, 0, name, NULL, 0);
	if (*pos + need > size)
		return false;
	fuse_add_direntry(req, buf + *pos, size - *pos, name, &st, next);
	*pos += need;
	return true;
}

/* Root offsets: 1 ".", 2 "..", 3 + i for root_files[i], then 5 + slot
 * id. */
static size_t readdir_root(fuse_req_t req, struct fs *fs, char *buf,
			   size_t size, off_t off)
{
	size_t pos = 0, i;
	uint64_t id;
	struct proc *p;

	if (off < 1 &&
	    !dirent_add(req, buf, size, &pos, ".", FS_ROOT_INO, S_IFDIR, 1))
		return pos;
	if (off < 2 &&
	    !dirent_add(req, buf, size, &pos, "..", FS_ROOT_INO, S_IFDIR, 2))
		return pos;
	for (i = 0; i < FS_NROOT; i++) {
		const struct fs_root_file *rf = &root_files[i];

		if (off < (off_t)i + 3 &&
		    !dirent_add(req, buf, size, &pos, rf->name, rf->ino,
				rf->mode & S_IFMT, (off_t)i + 3))
			return pos;
	}
	id = off > 5 ? (uint64_t)off - 5 : 0;
	while ((p = tab_next(fs->tab, id, &id)))
		if (!dirent_add(req, buf, size, &pos, proc_name(p),
				slot_ino(p, K_DIR), S_IFDIR, (off_t)(id + 5)))
			break;
	return pos;
}

/* by-pid offsets: 1 ".", 2 "..", then 2 + slot id of each live run. */
static size_t readdir_bypid(fuse_req_t req, struct fs *fs, char *buf,
			    size_t size, off_t off)
{
	char name[24];
	size_t pos = 0;
	uint64_t id;
	struct proc *p;

	if (off < 1 &&
	    !dirent_add(req, buf, size, &pos, ".", FS_BYPID_INO, S_IFDIR, 1))
		return pos;
	if (off < 2 &&
	    !dirent_add(req, buf, size, &pos, "..", FS_ROOT_INO, S_IFDIR, 2))
		return pos;
	id = off > 2 ? (uint64_t)off - 2 : 0;
	while ((p = tab_next(fs->tab, id, &id))) {
		if (!pidlink_live(p))
			continue;
		snprintf(name, sizeof(name), "%d", (int)proc_pid(p));
		if (!dirent_add(req, buf, size, &pos, name,
				slot_ino(p, K_PIDLINK), S_IFLNK,
				(off_t)(id + 2)))
			break;
	}
	return pos;
}

static void fs_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct proc *p = ino_proc(req_fs(req), ino);
	char target[FS_NAME_MAX + 4];

	if (!p || ino_kind(ino) != K_PIDLINK || !pidlink_live(p)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	snprintf(target, sizeof(target), "../%s", proc_name(p));
	fuse_reply_readlink(req, target);
}

static size_t readdir_slot(fuse_req_t req, struct proc *p, char *buf,
			   size_t size, off_t off)
{
	size_t pos = 0;
	int k;

	if (off < 1 && !dirent_add(req, buf, size, &pos, ".",
				   slot_ino(p, K_DIR), S_IFDIR, 1))
		return pos;
	if (off < 2 &&
	    !dirent_add(req, buf, size, &pos, "..", FS_ROOT_INO, S_IFDIR, 2))
		return pos;
	for (k = K_DIR + 1; k < K_NSLOT; k++) {
		if (!kind_in_slot((enum fs_kind)k) || off >= k + 2)
			continue;
		if (!dirent_add(req, buf, size, &pos, kinds[k].name,
				slot_ino(p, (enum fs_kind)k), S_IFREG, k + 2))
			break;
	}
	return pos;
}

static void fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct fs *fs = req_fs(req);
	struct proc *p = NULL;
	char *buf;
	size_t n;

	(void)fi;
	if (ino != FS_ROOT_INO && ino != FS_BYPID_INO) {
		p = ino_proc(fs, ino);
		if (!p || ino_kind(ino) != K_DIR) {
			fuse_reply_err(req, p ? ENOTDIR : ENOENT);
			return;
		}
	}
	buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (p)
		n = readdir_slot(req, p, buf, size, off);
	else if (ino == FS_BYPID_INO)
		n = readdir_bypid(req, fs, buf, size, off);
	else
		n = readdir_root(req, fs, buf, size, off);
	fuse_reply_buf(req, buf, n);
	free(buf);
}

static bool name_valid(const char *name)
{
	size_t n = strlen(name), i;

	if (n == 0 || n > FS_NAME_MAX || name[0] == '.')
		return false;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

/* A new slot record with its proc, added to the table. NULL with *err
 * ENOMEM. */
static struct proc *slot_new(struct fs *fs, const char *name, uid_t uid,
			     gid_t gid, int *err)
{
	struct fs_slot *s = calloc(1, sizeof(*s));
	struct proc *p = NULL;

	if (s) {
		s->fs = fs;
		p = proc_new(fs->pctx, name, fs->next_id, uid, gid, s);
	}
	if (!p || tab_add(fs->tab, fs->next_id, proc_name(p), p) < 0) {
		proc_unref(p);
		free(s);
		*err = ENOMEM;
		return NULL;
	}
	s->p = p;
	fs->next_id++;
	return p;
}

/* Create a slot owned by the caller. Returns it (borrowed) or NULL with
 * *err: EINVAL, EEXIST, ENOSPC, EPERM, ESHUTDOWN, ENOMEM. */
static struct proc *slot_create(struct fs *fs, fuse_req_t req, const char *name,
				int *err)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct proc *p;

	*err = 0;
	if (fs->read_only)
		*err = EROFS;
	else if (strlen(name) > FS_NAME_MAX)
		*err = ENAMETOOLONG;
	else if (!name_valid(name))
		*err = EINVAL;
	else if (fs->stopping)
		*err = ESHUTDOWN;
	else if (tab_by_name(fs->tab, name) || root_file_by_name(name))
		*err = EEXIST;
	else if (tab_count(fs->tab) >= fs->cfg->max_processes)
		*err = ENOSPC;
	else if (getuid() != 0 && ctx->uid != getuid())
		*err = EPERM; /* its commands would run as the daemon's user */
	if (*err)
		return NULL;
	p = slot_new(fs, name, ctx->uid, ctx->gid, err);
	if (p)
		log_debug("slot %s: created by uid %u", name,
			  (unsigned)ctx->uid);
	return p;
}

static void fs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	struct fs *fs = req_fs(req);
	struct proc *p;
	int err;

	(void)mode;
	if (parent != FS_ROOT_INO) {
		fuse_reply_err(req, EPERM);
		return;
	}
	p = slot_create(fs, req, name, &err);
	if (!p)
		fuse_reply_err(req, err);
	else
		reply_entry(req, fs, slot_ino(p, K_DIR), p);
}

static void fs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = req_fs(req);
	struct proc *p;

	if (parent != FS_ROOT_INO) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (fs->read_only) {
		fuse_reply_err(req, EROFS);
		return;
	}
	p = tab_by_name(fs->tab, name);
	if (!p) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (proc_running(p)) {
		fuse_reply_err(req, EBUSY);
		return;
	}
	/* Ended: output nobody read any more goes with the slot. */
	log_debug("slot %s: removed", proc_name(p));
	slot_drop(fs, p);
	fuse_reply_err(req, 0);
}

/* Creating, linking, renaming and removing files is not possible. */
static void fs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	(void)parent;
	(void)name;
	fuse_reply_err(req, EPERM);
}

static void fs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	(void)parent;
	(void)name;
	(void)newparent;
	(void)newname;
	(void)flags;
	fuse_reply_err(req, EPERM);
}

static void fs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	(void)parent;
	(void)name;
	(void)mode;
	(void)rdev;
	fuse_reply_err(req, EPERM);
}

static void fs_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	(void)parent;
	(void)name;
	(void)mode;
	(void)fi;
	fuse_reply_err(req, EPERM);
}

static void fs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	(void)link;
	(void)parent;
	(void)name;
	fuse_reply_err(req, EPERM);
}

static void fs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		    const char *newname)
{
	(void)ino;
	(void)newparent;
	(void)newname;
	fuse_reply_err(req, EPERM);
}

static void trim_expired(void *arg)
{
	struct fs *fs = arg;

	fs->trim_timer = NULL;
	malloc_trim(0);
}

/* Free s once its slot has left the table and its last handle is
 * closed; the slot's proc then has no run left to call hooks with it. */
static void slot_put(struct fs_slot *s)
{
	if (!proc_removed(s->p) || s->handles.count)
		return;
	assert(!proc_busy(s->p));
	loop_timer_del(s->reap_timer);
	free(s);
}

static void slot_drop(struct fs *fs, struct proc *p)
{
	struct fs_slot *s = proc_data(p);
	int i;

	loop_timer_del(s->reap_timer);
	s->reap_timer = NULL;
	for (i = 0; i < PROC_NLOGS; i++)
		fs->bytes_gone[i] += proc_log_bytes(p, (enum proc_log)i);
	tab_del(fs->tab, proc_id(p));
	proc_ref(p);	/* for slot_put: proc_remove drops the table's */
	proc_remove(p); /* only fs_free meets a running slot here */
	slot_put(s);
	proc_unref(p);
	if (!fs->trim_timer && !fs->stopped)
		fs->trim_timer = loop_timer_add(fs->loop, FS_TRIM_DELAY_MS,
						trim_expired, fs);
}

/* Whether reap_after may remove s: ended, drained, nobody has it open. */
static bool slot_reapable(const struct fs_slot *s)
{
	const struct proc *p = s->p;

	return s->fs->cfg->reap_after_ms && !proc_removed(p) &&
	       !proc_running(p) && proc_wait_status(p) >= 0 &&
	       !s->handles.count;
}

/* Whether reap_new_after may remove s: made by reading clone (a
 * recursive tool may have done that), never written to, and nobody has
 * it open. */
static bool slot_litter(const struct fs_slot *s)
{
	const struct proc *p = s->p;

	return s->fs->cfg->reap_new_ms && proc_cloned(p) && !proc_touched(p) &&
	       !proc_removed(p) && !proc_running(p) && !s->handles.count;
}

static void reap_expired(void *arg)
{
	struct fs_slot *s = arg;
	bool litter = slot_litter(s);

	s->reap_timer = NULL;
	if (!litter && !slot_reapable(s))
		return;
	log_info("slot %s: removed after %s", proc_name(s->p),
		 litter ? "reap_new_after" : "reap_after");
	slot_drop(s->fs, s->p);
}

/* Arm reap_after or reap_new_after for s when one applies. The two never
 * apply at once: one needs an ended run, the other an untouched slot. */
static void reap_arm(struct fs_slot *s)
{
	unsigned ms;

	if (s->reap_timer)
		return;
	if (slot_reapable(s))
		ms = s->fs->cfg->reap_after_ms;
	else if (slot_litter(s))
		ms = s->fs->cfg->reap_new_ms;
	else
		return;
	s->reap_timer = loop_timer_add(s->fs->loop, ms, reap_expired, s);
	if (!s->reap_timer)
		log_warn("slot %s: reap timer: %s", proc_name(s->p),
			 strerror(errno));
}

/* A run started: an earlier reap_after no longer applies. */
static void reap_cancel(struct fs_slot *s)
{
	loop_timer_del(s->reap_timer);
	s->reap_timer = NULL;
}

static void shutdown_done(struct fs *fs);

/* A handle's slot reference is going (it closed, or never opened). */
static void slot_release(struct fs *fs, struct proc *p)
{
	struct fs_slot *s;

	if (p) {
		s = proc_data(p);
		proc_update(p);
		reap_arm(s);
		slot_put(s);
		proc_unref(p);
	}
	if (fs->lingering && handle_count(fs->hs) == 0)
		shutdown_done(fs);
}

static void fs_close(struct fs *fs, struct handle *h)
{
	struct proc *p = handle_proc(h);

	handle_free(h);
	slot_release(fs, p);
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

static int metrics_text(struct fs *fs, fuse_req_t req, struct proc *unused,
			struct jbuf *b)
{
	struct metrics_view v;
	struct proc *p;
	uint64_t id = 0;
	int i;

	(void)req;
	(void)unused;
	memset(&v, 0, sizeof(v));
	for (i = 0; i < PROC_NLOGS; i++)
		v.bytes[i] = fs->bytes_gone[i];
	while ((p = tab_next(fs->tab, id, &id))) {
		if (proc_state_index(p) < METRICS_SLOTS_MAX)
			v.slots[proc_state_index(p)]++;
		v.paused += proc_running(p) && proc_paused(p);
		for (i = 0; i < PROC_NLOGS; i++)
			v.bytes[i] += proc_log_bytes(p, (enum proc_log)i);
	}
	proc_ctx_runs(fs->pctx, &v.runs_started, &v.runs_failed);
	handle_metrics(fs->hs, &v);
	v.rss_bytes = rss_bytes();
	v.start_time = (uint64_t)fs->born.tv_sec;
	metrics_render(b, &v);
	return 0;
}

static int status_text(struct fs *fs, fuse_req_t req, struct proc *p,
		       struct jbuf *b)
{
	(void)fs;
	(void)req;
	proc_status(p, b);
	return 0;
}

static int ctl_text(struct fs *fs, fuse_req_t req, struct proc *p,
		    struct jbuf *b)
{
	(void)fs;
	(void)req;
	ctlrun_text(p, b);
	return 0;
}

/* clone: the first free number from the counter on, as a new slot. */
static int clone_text(struct fs *fs, fuse_req_t req, struct proc *unused,
		      struct jbuf *b)
{
	char name[32];
	struct proc *p;
	int err;

	(void)unused;
	do
		snprintf(name, sizeof(name), "%llu",
			 (unsigned long long)fs->next_clone++);
	while (tab_by_name(fs->tab, name));
	p = slot_create(fs, req, name, &err);
	if (!p)
		return -err;
	proc_set_cloned(p);
	reap_arm(proc_data(p));
	jbuf_printf(b, "%s\n", name);
	return 0;
}

/* Render the text h reads, for the kinds that have one. */
static int handle_render(struct fs *fs, struct handle *h, enum fs_kind k,
			 fuse_req_t req)
{
	struct jbuf b;
	int rc;

	if (!kinds[k].text)
		return 0;
	jbuf_init(&b);
	rc = kinds[k].text(fs, req, handle_proc(h), &b);
	if (rc == 0 && b.oom)
		rc = -ENOMEM;
	if (rc < 0) {
		jbuf_free(&b);
		return rc;
	}
	handle_set_text(h, b.data, b.len);
	return 0;
}

/* Whether the open flags fit the file. */
static int open_check(const struct fs *fs, enum fs_kind k, int flags)
{
	int acc = flags & O_ACCMODE;

	if (fs->read_only &&
	    (acc != O_RDONLY || kinds[k].creates || (flags & O_TRUNC)))
		return -EROFS;
	if ((flags & O_TRUNC) && !kinds[k].truncate)
		return -EPERM;
	return kinds[k].access < 0 || acc == kinds[k].access ? 0 : -EACCES;
}

/* A handle of kind k on p (NULL for the root's files): its slot
 * reference is taken here. NULL with errno ENOMEM. */
static struct handle *fs_handle_new(struct fs *fs, struct proc *p,
				    enum fs_kind k)
{
	struct fs_slot *s = p ? proc_data(p) : NULL;
	struct handle *h;

	if (p) {
		proc_ref(p);
		reap_cancel(s);
		if (k == K_EVENTS)
			proc_events_sync(p); /* the reader starts after them */
	}
	h = handle_new(fs->hs, s ? &s->handles : NULL, p, kinds[k].type, k,
		       kinds[k].log);
	if (!h) {
		slot_release(fs, p);
		return NULL;
	}
	if (kinds[k].type == HANDLE_LOG)
		proc_update(p);
	return h;
}

static void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = req_fs(req);
	const struct fs_root_file *rf = root_file_by_ino(ino);
	enum fs_kind k = rf ? rf->kind : ino_kind(ino);
	struct proc *p = ino_proc(fs, ino);
	struct handle *h;
	int rc;

	if (rf ? k == K_DIR : !p || !kind_in_slot(k)) {
		fuse_reply_err(req, p ? EISDIR : ENOENT);
		return;
	}
	rc = open_check(fs, k, fi->flags);
	if (rc == 0 && p &&
	    ((struct fs_slot *)proc_data(p))->handles.count >=
		    fs->cfg->max_handles)
		rc = -EMFILE;
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	h = fs_handle_new(fs, p, k);
	if (!h) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	rc = handle_render(fs, h, k, req);
	if (rc < 0) {
		fs_close(fs, h);
		fuse_reply_err(req, -rc);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)h;
	fi->direct_io = 1;
	fi->keep_cache = 0;
	if (fuse_reply_open(req, fi) < 0)
		fs_close(fs, h); /* interrupted: no release will come */
}

static struct handle *fi_handle(const struct fuse_file_info *fi)
{
	return (struct handle *)(uintptr_t)fi->fh;
}

static void fs_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	(void)ino;
	fs_close(req_fs(req), fi_handle(fi));
	fuse_reply_err(req, 0);
}

static void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	(void)ino;
	handle_read(fi_handle(fi), req, size, off, fi->flags);
}

static void fs_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)ino;
	handle_write(fi_handle(fi), req, buf, size, off, fi->flags);
}

static void fs_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		    struct fuse_pollhandle *ph)
{
	(void)ino;
	handle_poll(fi_handle(fi), req, ph);
}

static void hook_output(void *arg, struct proc *p, enum proc_log log)
{
	struct stream_reader *r;

	(void)arg;
	for (r = stream_first_reader(proc_log(p, log)); r;
	     r = stream_next_reader(r))
		handle_wake(stream_reader_data(r));
}

static void hook_ended(void *arg, struct proc *p)
{
	struct fs_slot *s = proc_data(p);

	(void)arg;
	handle_wake_tag(&s->handles, K_WAIT);
	reap_arm(s);
}

static void hook_started(void *arg, struct proc *p)
{
	struct fs_slot *s = proc_data(p);

	(void)arg;
	if (proc_start_result(p) == 0)
		reap_cancel(s);
	handle_wake_tag(&s->handles, K_CTL);
}

static void hook_stdin(void *arg, struct proc *p)
{
	struct fs_slot *s = proc_data(p);

	(void)arg;
	handle_wake_tag(&s->handles, K_STDIN);
}

static void hook_done(void *arg, struct proc *p)
{
	(void)arg;
	reap_arm(proc_data(p));
}

static void shutdown_drained(struct fs *fs);

static void hook_idle(void *arg)
{
	struct fs *fs = arg;

	if (fs->stopping)
		shutdown_drained(fs);
}

static void fs_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	/* One read may carry up to 1 MiB; the kernel caps it further. */
	conn->max_write = FS_MAX_WRITE;
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
}

static const struct fuse_lowlevel_ops fs_ops = {
	.init = fs_init,
	.lookup = fs_lookup,
	.getattr = fs_getattr,
	.readlink = fs_readlink,
	.setattr = fs_setattr,
	.readdir = fs_readdir,
	.mkdir = fs_mkdir,
	.rmdir = fs_rmdir,
	.unlink = fs_unlink,
	.rename = fs_rename,
	.mknod = fs_mknod,
	.create = fs_create,
	.symlink = fs_symlink,
	.link = fs_link,
	.open = fs_open,
	.release = fs_release,
	.read = fs_read,
	.write = fs_write,
	.poll = fs_poll,
};

static void fs_session_end(struct fs *fs)
{
	if (fs->ended)
		return;
	fs->ended = true;
	loop_io_mod(fs->io, 0);
	log_info("session ended");
	/* Nobody can read any more: do not wait for the handles. */
	if (fs->lingering)
		shutdown_done(fs);
	else if (fs->hooks->ended)
		fs->hooks->ended(fs->arg);
}

static void fs_readable(void *arg, uint32_t events)
{
	struct fs *fs = arg;
	int rc;

	(void)events;
	for (;;) {
		rc = fuse_session_receive_buf(fs->se, &fs->buf);
		if (rc == -EINTR)
			continue;
		if (rc == -EAGAIN)
			return;
		if (rc <= 0) {
			if (rc < 0)
				log_error("fuse: receive: %s", strerror(-rc));
			fs_session_end(fs);
			return;
		}
		fuse_session_process_buf(fs->se, &fs->buf);
		handle_answer_interrupts(fs->hs);
		if (fuse_session_exited(fs->se)) {
			fs_session_end(fs);
			return;
		}
	}
}

static void fs_sigchld(void *arg, int signo)
{
	struct fs *fs = arg;

	(void)signo;
	proc_sigchld(fs->pctx);
}

struct fs *fs_new(struct loop *loop, const struct cfg *cfg,
		  struct fuse_args *args, unsigned flags,
		  const struct rlimit *nofile, const struct fs_hooks *hooks,
		  void *arg)
{
	struct fs *fs = calloc(1, sizeof(*fs));

	if (!fs)
		return NULL;
	fs->read_only = flags & FS_READ_ONLY;
	fs->loop = loop;
	fs->cfg = cfg;
	fs->hooks = hooks;
	fs->arg = arg;
	fs->next_id = 1;
	fs->next_clone = 1;
	clock_gettime(CLOCK_REALTIME, &fs->born);
	fs->phooks = (struct proc_hooks){
		.output = hook_output,
		.ended = hook_ended,
		.stdin_ready = hook_stdin,
		.idle = hook_idle,
		.done = hook_done,
		.started = hook_started,
	};
	fs->ctlrun.shell = cfg->shell;
	fs->pctx = proc_ctx_new(loop, cfg, &fs->phooks, fs, nofile);
	if (!fs->pctx || loop_signal(loop, SIGCHLD, fs_sigchld, fs) < 0)
		goto fail;
	fs->tab = tab_new();
	fs->hs = handle_set_new(&fs->ctlrun);
	if (!fs->tab || !fs->hs)
		goto fail;
	fs->se = fuse_session_new(args, &fs_ops, sizeof(fs_ops), fs);
	if (!fs->se) {
		errno = EINVAL;
		goto fail;
	}
	return fs;
fail:
	handle_set_free(fs->hs);
	tab_free(fs->tab);
	proc_ctx_free(fs->pctx);
	free(fs);
	return NULL;
}

int fs_mount(struct fs *fs, const char *mountpoint)
{
	int fd;

	if (fuse_session_mount(fs->se, mountpoint) != 0)
		return -EIO;
	fs->mounted = true;
	fd = fuse_session_fd(fs->se);
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	fs->io = loop_io_add(fs->loop, fd, EPOLLIN, fs_readable, fs);
	return fs->io ? 0 : -errno;
}

/* The last phase of a stop is over: main may unmount and exit. */
static void shutdown_done(struct fs *fs)
{
	if (fs->stopped)
		return;
	fs->stopped = true;
	loop_timer_del(fs->stop_timer);
	fs->stop_timer = NULL;
	if (fs->hooks->stopped)
		fs->hooks->stopped(fs->arg);
}

static void linger_expired(void *arg)
{
	struct fs *fs = arg;

	fs->stop_timer = NULL;
	log_info("stopping: %llu file(s) still open after shutdown_timeout",
		 (unsigned long long)handle_count(fs->hs));
	shutdown_done(fs);
}

/* Every run is over: end every log, so that readers get end of file and
 * wait readers the status, then wait for the handles to close. */
static void shutdown_drained(struct fs *fs)
{
	struct proc *p;
	uint64_t id = 0;

	if (fs->lingering)
		return;
	fs->lingering = true;
	loop_timer_del(fs->stop_timer);
	fs->stop_timer = NULL;
	while ((p = tab_next(fs->tab, id, &id)))
		proc_close(p);
	if (fs->ended || handle_count(fs->hs) == 0) {
		shutdown_done(fs);
		return;
	}
	log_info("stopping: waiting for %llu open file(s) to close",
		 (unsigned long long)handle_count(fs->hs));
	fs->stop_timer = loop_timer_add(fs->loop, fs->cfg->shutdown_timeout_ms,
					linger_expired, fs);
	if (!fs->stop_timer)
		shutdown_done(fs);
}

/* Runs that did not end or drain in time: KILL, reap and cut them. */
static void stop_forced(void *arg)
{
	struct fs *fs = arg;
	struct proc *p;
	uint64_t id = 0;

	fs->stop_timer = NULL;
	log_warn("stopping: runs still going, killing them");
	while ((p = tab_next(fs->tab, id, &id)))
		if (proc_busy(p))
			proc_end(p, PROC_END_KILL);
	shutdown_drained(fs);
}

void fs_shutdown(struct fs *fs)
{
	struct proc *p;
	uint64_t id = 0, ms;

	if (fs->stopping)
		return;
	fs->stopping = true;
	handle_set_stopping(fs->hs);
	while ((p = tab_next(fs->tab, id, &id)))
		if (proc_busy(p))
			proc_end(p, PROC_END_STOP);
	if (proc_ctx_busy(fs->pctx) == 0) {
		shutdown_drained(fs);
		return;
	}
	ms = (uint64_t)fs->cfg->kill_grace_ms + fs->cfg->drain_timeout_ms +
	     FS_STOP_SLACK_MS;
	fs->stop_timer = loop_timer_add(fs->loop, ms, stop_forced, fs);
	if (!fs->stop_timer)
		stop_forced(fs);
}

void fs_free(struct fs *fs)
{
	struct handle *h;
	struct proc *p;
	uint64_t id = 0;

	if (!fs)
		return;
	fs->stopped = true; /* no hook from here on */
	loop_timer_del(fs->stop_timer);
	fs->stop_timer = NULL;
	loop_timer_del(fs->trim_timer);
	fs->trim_timer = NULL;
	while ((h = handle_first(fs->hs)))
		fs_close(fs, h);
	while ((p = tab_next(fs->tab, 0, &id)))
		slot_drop(fs, p);
	tab_free(fs->tab);
	handle_set_free(fs->hs);
	proc_ctx_free(fs->pctx);
	loop_io_del(fs->io);
	if (fs->mounted)
		fuse_session_unmount(fs->se);
	fuse_session_destroy(fs->se);
	free(fs->buf.mem);
	free(fs);
}
