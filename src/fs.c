/*
 * fs: the FUSE low-level operations. Inode numbers are synthetic: 1 is
 * the root, 2 is clone, 3 is by-pid, 4 is metrics, and a slot with id N
 * has (N << 4) | kind for its directory and files; ids never repeat, so
 * an inode never changes meaning. What each kind of file does (its size,
 * who may open it, how it reads, writes and polls) is one entry of the
 * kinds table. Owns the session; the slots (their table, their
 * records, reaping and the stop's phases) are slots.c's, the open
 * handles and the requests parked on them handle.c's.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
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
#include "spawnfs/slots.h"

#define FS_ROOT_INO    1
#define FS_CLONE_INO   2
#define FS_BYPID_INO   3
#define FS_METRICS_INO 4
#define FS_SLOT_INO    16 /* the first inode number of a slot */
#define FS_MAX_WRITE   (1024 * 1024)

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

/* The same names, for slots' check. */
static const char *const root_names[] = {"clone", "by-pid", "metrics", NULL};

struct fs {
	struct fuse_session *se;
	struct loop *loop;
	struct loop_io *io;
	const struct cfg *cfg;
	const struct fs_hooks *hooks;
	void *arg;
	struct ctlrun ctlrun;
	struct slots *sl;
	struct fuse_buf buf;
	struct handle_set *hs;
	struct timespec born;
	bool mounted, ended;
	bool read_only; /* -o ro: observing only, EROFS for the rest */
};

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
	return slots_by_id(fs->sl, ino_id(ino));
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
		p = slots_by_pid(fs->sl, name);
		if (!p)
			fuse_reply_err(req, ENOENT);
		else
			reply_entry(req, fs, slot_ino(p, K_PIDLINK), p);
		return;
	}
	if (parent == FS_ROOT_INO) {
		rf = root_file_by_name(name);
		p = rf ? NULL : slots_by_name(fs->sl, name);
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
	while ((p = slots_next(fs->sl, id, &id)))
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
	while ((p = slots_next(fs->sl, id, &id))) {
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
	char target[SLOTS_NAME_MAX + 4];

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

/* Create a slot owned by the caller. Returns it (borrowed) or NULL with
 * *err as slots_create, or EROFS. */
static struct proc *slot_create(struct fs *fs, fuse_req_t req, const char *name,
				int *err)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	if (fs->read_only) {
		*err = EROFS;
		return NULL;
	}
	return slots_create(fs->sl, name, ctx->uid, ctx->gid, err);
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

	if (parent != FS_ROOT_INO) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (fs->read_only) {
		fuse_reply_err(req, EROFS);
		return;
	}
	fuse_reply_err(req, -slots_remove(fs->sl, name));
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

static void fs_close(struct fs *fs, struct handle *h)
{
	struct proc *p = handle_proc(h);

	handle_free(h);
	slots_release(fs->sl, p);
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

	(void)req;
	(void)unused;
	memset(&v, 0, sizeof(v));
	slots_metrics(fs->sl, &v);
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
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct proc *p;
	int err;

	(void)unused;
	if (fs->read_only)
		return -EROFS;
	p = slots_clone(fs->sl, ctx->uid, ctx->gid, &err);
	if (!p)
		return -err;
	jbuf_printf(b, "%s\n", proc_name(p));
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
	struct handle_list *list = p ? slots_hold(p) : NULL;
	struct handle *h;

	if (p && k == K_EVENTS)
		proc_events_sync(p); /* the reader starts after them */
	h = handle_new(fs->hs, list, p, kinds[k].type, k, kinds[k].log);
	if (!h) {
		slots_release(fs->sl, p);
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
	if (rc == 0 && p && slots_handles(p)->count >= fs->cfg->max_handles)
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
	/* Nobody can read any more: a stop waits for no handle. */
	if (!slots_session_ended(fs->sl) && fs->hooks->ended)
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

static void fs_stopped(void *arg)
{
	struct fs *fs = arg;

	if (fs->hooks->stopped)
		fs->hooks->stopped(fs->arg);
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
	clock_gettime(CLOCK_REALTIME, &fs->born);
	fs->ctlrun.shell = cfg->shell;
	fs->hs = handle_set_new(&fs->ctlrun);
	if (!fs->hs)
		goto fail;
	fs->sl = slots_new(loop, cfg, nofile, fs->hs, root_names, fs_stopped,
			   fs);
	if (!fs->sl)
		goto fail;
	fs->se = fuse_session_new(args, &fs_ops, sizeof(fs_ops), fs);
	if (!fs->se) {
		errno = EINVAL;
		goto fail;
	}
	return fs;
fail:
	slots_free(fs->sl);
	handle_set_free(fs->hs);
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

void fs_shutdown(struct fs *fs)
{
	slots_shutdown(fs->sl);
}

void fs_free(struct fs *fs)
{
	struct handle *h;

	if (!fs)
		return;
	slots_quiet(fs->sl); /* no hook from here on */
	while ((h = handle_first(fs->hs)))
		fs_close(fs, h);
	slots_free(fs->sl);
	handle_set_free(fs->hs);
	loop_io_del(fs->io);
	if (fs->mounted)
		fuse_session_unmount(fs->se);
	fuse_session_destroy(fs->se);
	free(fs->buf.mem);
	free(fs);
}
