/*
 * fs: the FUSE low-level operations. Inode numbers are synthetic: 1 is
 * the root, 2 is clone, 3 is by-pid, and a slot with id N has
 * (N << 4) | kind for its
 * directory and files; ids never repeat, so an inode never changes
 * meaning. Owns the session, the slot table and every open handle. A
 * read that must wait is parked in its handle's FIFO and answered when
 * output, an exit or an interrupt arrives; the interrupt callback only
 * marks the parked request, and the loop answers it after dispatch.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <fuse_lowlevel.h>

#include "spawnfs/ctl.h"
#include "spawnfs/ctlrun.h"
#include "spawnfs/fs.h"
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
	K_NKINDS,
	K_PIDLINK = K_NKINDS, /* by-pid/PID -> ../NAME */
	K_CLONE,	      /* only as a handle kind */
	K_METRICS,	      /* only as a handle kind */
};

struct fs_file {
	const char *name;
	mode_t mode;
};

/* Files of a slot. */
static const struct fs_file slot_files[K_NKINDS] = {
	[K_CTL] = {"ctl", S_IFREG | 0600},
	[K_STDIN] = {"stdin", S_IFREG | 0200},
	[K_STDOUT] = {"stdout", S_IFREG | 0400},
	[K_STDERR] = {"stderr", S_IFREG | 0400},
	[K_EVENTS] = {"events", S_IFREG | 0400},
	[K_STATUS] = {"status", S_IFREG | 0400},
	[K_WAIT] = {"wait", S_IFREG | 0400},
};

struct fs_park;

struct fs_handle {
	struct fs *fs;
	struct proc *p; /* a reference; NULL for clone */
	enum fs_kind kind;
	struct stream_reader *rd;
	struct fs_park *parked; /* FIFO in arrival order */
	struct fuse_pollhandle *ph;
	uint64_t next_off; /* where a sequential reader reads next */
	bool draining;	   /* in handle_drain: a hook may call it again */
	int failed; /* ctl: the errno of the first failed write, 0 if none */
	char *text;
	size_t len;
	struct fs_handle *prev, *next;	 /* the slot's handles */
	struct fs_handle *gprev, *gnext; /* every handle */
};

struct fs_park {
	struct fs_handle *h;
	fuse_req_t req;
	uint64_t off;
	size_t size;
	char *data; /* a stdin write's bytes */
	bool intr;
	struct fs_park *next;
	struct fs_park *intr_next;
};

struct fs {
	struct fuse_session *se;
	struct loop *loop;
	struct loop_io *io;
	const struct cfg *cfg;
	const struct fs_hooks *hooks;
	void *arg;
	struct proc_ctx pctx;
	struct ctlrun ctlrun;
	struct proc_hooks phooks;
	struct tab *tab;
	uint64_t next_id, next_clone;
	struct fuse_buf buf;
	struct fs_park *intr;
	struct fs_handle *handles;
	struct timespec born;
	bool mounted, stopping, ended;
	bool lingering;		       /* stopping, every run over */
	bool stopped;		       /* the stopped hook has fired */
	struct loop_timer *stop_timer; /* the bound of a stop's phase */
	struct loop_timer *trim_timer; /* give freed heap back, once */
	bool read_only; /* -o ro: observing only, EROFS for the rest */
	/* for metrics */
	uint64_t nhandles, nparked, interrupts;
	uint64_t ctl_errors[METRICS_ERRNO_MAX];
	uint64_t bytes_gone[PROC_NLOGS]; /* of the slots removed */
};

static void slot_drop(struct fs *fs, struct proc *p);

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

static bool kind_is_log(enum fs_kind k)
{
	return k == K_STDOUT || k == K_STDERR || k == K_EVENTS;
}

static enum proc_log kind_log(enum fs_kind k)
{
	return k == K_STDOUT   ? PROC_STDOUT
	       : k == K_STDERR ? PROC_STDERR
			       : PROC_EVENTS;
}

/* by-pid/PID is there while the slot's run is alive. */
static bool pidlink_live(const struct proc *p)
{
	return proc_pid(p) > 0;
}

/* Length of the text a status file holds now. */
static size_t status_size(struct proc *p)
{
	struct jbuf b;
	size_t n;

	jbuf_init(&b);
	proc_status(p, &b);
	n = b.len;
	jbuf_free(&b);
	return n;
}

static int wait_text(const struct proc *p, char *buf, size_t len)
{
	int st = proc_wait_status(p);

	return st < 0 ? 0 : snprintf(buf, len, "%d\n", st);
}

static void slot_attr(struct fs *fs, struct proc *p, enum fs_kind k,
		      struct stat *st)
{
	char tmp[16];

	st->st_ino = slot_ino(p, k);
	st->st_uid = proc_uid(p);
	st->st_gid = proc_gid(p);
	st->st_mtim = st->st_ctim = st->st_atim = fs->born;
	if (k == K_DIR) {
		st->st_mode = S_IFDIR | (fs->cfg->process_mode & 07777);
		st->st_nlink = 2;
		return;
	}
	st->st_mode = slot_files[k].mode;
	st->st_nlink = 1;
	if (kind_is_log(k)) {
		struct stream *s = proc_log(p, kind_log(k));

		st->st_size = (off_t)proc_log_bytes(p, kind_log(k));
		if (stream_mtime(s)->tv_sec)
			st->st_mtim = *stream_mtime(s);
	} else if (k == K_STATUS) {
		st->st_size = (off_t)status_size(p);
	} else if (k == K_WAIT) {
		st->st_size = wait_text(p, tmp, sizeof(tmp));
	}
}

/* Attributes of ino; p may come from an open handle of a removed slot.
 * The root is like /tmp: whoever may use the mount may make a slot there,
 * and only a slot's owner (or root) may remove it. */
static int fs_attr(struct fs *fs, fuse_ino_t ino, struct proc *p,
		   struct stat *st)
{
	static const mode_t top[] = {
		[FS_ROOT_INO] = S_IFDIR | 01777,
		[FS_CLONE_INO] = S_IFREG | 0444,
		[FS_BYPID_INO] = S_IFDIR | 0755,
		[FS_METRICS_INO] = S_IFREG | 0444,
	};
	enum fs_kind k = ino_kind(ino);

	memset(st, 0, sizeof(*st));
	if (ino < FS_SLOT_INO) {
		if (ino > FS_METRICS_INO || !top[ino])
			return -ENOENT;
		st->st_ino = ino;
		st->st_mode = top[ino];
		st->st_nlink = S_ISDIR(top[ino]) ? 2 : 1;
		st->st_uid = getuid();
		st->st_gid = getgid();
		st->st_mtim = st->st_ctim = st->st_atim = fs->born;
		return 0;
	}
	if (!p)
		p = ino_proc(fs, ino);
	if (p && k == K_PIDLINK && pidlink_live(p)) {
		st->st_ino = ino;
		st->st_mode = S_IFLNK | 0777;
		st->st_nlink = 1;
		st->st_size = (off_t)(strlen(proc_name(p)) + 3);
		st->st_uid = proc_uid(p);
		st->st_gid = proc_gid(p);
		st->st_mtim = st->st_ctim = st->st_atim = fs->born;
		return 0;
	}
	if (!p || k >= K_NKINDS || (k != K_DIR && !slot_files[k].name))
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
		if (strcmp(name, "clone") == 0 || strcmp(name, "by-pid") == 0 ||
		    strcmp(name, "metrics") == 0) {
			reply_entry(req, fs,
				    name[0] == 'c'   ? FS_CLONE_INO
				    : name[0] == 'b' ? FS_BYPID_INO
						     : FS_METRICS_INO,
				    NULL);
			return;
		}
		p = tab_by_name(fs->tab, name);
		if (!p) {
			fuse_reply_err(req, ENOENT);
			return;
		}
		reply_entry(req, fs, slot_ino(p, K_DIR), p);
		return;
	}
	p = ino_proc(fs, parent);
	if (!p || ino_kind(parent) != K_DIR) {
		fuse_reply_err(req, p ? ENOTDIR : ENOENT);
		return;
	}
	for (k = 1; k < K_NKINDS; k++) {
		if (slot_files[k].name &&
		    strcmp(slot_files[k].name, name) == 0) {
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
static struct fs_handle *handle_of_removed(struct fs *fs, fuse_ino_t ino)
{
	struct fs_handle *h, *any = NULL;

	if (ino < FS_SLOT_INO || ino_proc(fs, ino))
		return NULL;
	for (h = fs->handles; h; h = h->gnext) {
		if (!h->p || proc_id(h->p) != ino_id(ino))
			continue;
		if (h->kind == ino_kind(ino))
			return h;
		any = h;
	}
	return any;
}

static void fs_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct fs *fs = req_fs(req);
	struct fs_handle *h = fi ? (struct fs_handle *)(uintptr_t)fi->fh : NULL;
	struct stat st;
	int rc;

	if (!h)
		h = handle_of_removed(fs, ino);

	rc = fs_attr(fs, ino, h && ino >= FS_SLOT_INO ? h->p : NULL, &st);
	/* An open status reads what was rendered at open: say that size. */
	if (rc == 0 && h && h->kind == K_STATUS && ino_kind(ino) == K_STATUS)
		st.st_size = (off_t)h->len;
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
	if (p && (k == K_CTL || k == K_STDIN) && to_set == FUSE_SET_ATTR_SIZE &&
	    attr->st_size == 0) {
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

/* Root offsets: 1 ".", 2 "..", 3 "clone", 4 "by-pid", 5 "metrics", then
 * 5 + slot id. */
static size_t readdir_root(fuse_req_t req, struct fs *fs, char *buf,
			   size_t size, off_t off)
{
	size_t pos = 0;
	uint64_t id;
	struct proc *p;

	if (off < 1 &&
	    !dirent_add(req, buf, size, &pos, ".", FS_ROOT_INO, S_IFDIR, 1))
		return pos;
	if (off < 2 &&
	    !dirent_add(req, buf, size, &pos, "..", FS_ROOT_INO, S_IFDIR, 2))
		return pos;
	if (off < 3 && !dirent_add(req, buf, size, &pos, "clone", FS_CLONE_INO,
				   S_IFREG, 3))
		return pos;
	if (off < 4 && !dirent_add(req, buf, size, &pos, "by-pid", FS_BYPID_INO,
				   S_IFDIR, 4))
		return pos;
	if (off < 5 && !dirent_add(req, buf, size, &pos, "metrics",
				   FS_METRICS_INO, S_IFREG, 5))
		return pos;
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
	for (k = 1; k < K_NKINDS; k++) {
		if (!slot_files[k].name || off >= k + 2)
			continue;
		if (!dirent_add(req, buf, size, &pos, slot_files[k].name,
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
	else if (tab_by_name(fs->tab, name) || strcmp(name, "clone") == 0 ||
		 strcmp(name, "by-pid") == 0 || strcmp(name, "metrics") == 0)
		*err = EEXIST;
	else if (tab_count(fs->tab) >= fs->cfg->max_processes)
		*err = ENOSPC;
	else if (getuid() != 0 && ctx->uid != getuid())
		*err = EPERM; /* its commands would run as the daemon's user */
	if (*err)
		return NULL;
	p = proc_new(&fs->pctx, name, fs->next_id, ctx->uid, ctx->gid);
	if (!p || tab_add(fs->tab, fs->next_id, proc_name(p), p) < 0) {
		proc_unref(p);
		*err = ENOMEM;
		return NULL;
	}
	fs->next_id++;
	log_debug("slot %s: created by uid %u", name, (unsigned)ctx->uid);
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

static void slot_drop(struct fs *fs, struct proc *p)
{
	struct loop_timer **t = proc_reap_timer(p);
	int i;

	loop_timer_del(*t);
	*t = NULL;
	for (i = 0; i < PROC_NLOGS; i++)
		fs->bytes_gone[i] += proc_log_bytes(p, (enum proc_log)i);
	tab_del(fs->tab, proc_id(p));
	proc_remove(p); /* only fs_free meets a running slot here */
	if (!fs->trim_timer && !fs->stopped)
		fs->trim_timer = loop_timer_add(fs->loop, FS_TRIM_DELAY_MS,
						trim_expired, fs);
}

/* Whether reap_after may remove p: ended, drained, nobody has it open. */
static bool slot_reapable(struct fs *fs, struct proc *p)
{
	return fs->cfg->reap_after_ms && !proc_removed(p) && !proc_running(p) &&
	       proc_wait_status(p) >= 0 && !*proc_handles(p);
}

/* Whether reap_new_after may remove p: made by reading clone (a recursive
 * tool may have done that), never written to, and nobody has it open. */
static bool slot_litter(struct fs *fs, struct proc *p)
{
	return fs->cfg->reap_new_ms && proc_cloned(p) && !proc_touched(p) &&
	       !proc_removed(p) && !proc_running(p) && !*proc_handles(p);
}

static void reap_expired(void *arg)
{
	struct proc *p = arg;
	struct fs *fs = proc_owner(p);
	bool litter = slot_litter(fs, p);

	*proc_reap_timer(p) = NULL;
	if (!litter && !slot_reapable(fs, p))
		return;
	log_info("slot %s: removed after %s", proc_name(p),
		 litter ? "reap_new_after" : "reap_after");
	slot_drop(fs, p);
}

/* Arm reap_after or reap_new_after for p when one applies. The two never
 * apply at once: one needs an ended run, the other an untouched slot. */
static void reap_arm(struct fs *fs, struct proc *p)
{
	struct loop_timer **t = proc_reap_timer(p);
	unsigned ms;

	if (*t)
		return;
	if (slot_reapable(fs, p))
		ms = fs->cfg->reap_after_ms;
	else if (slot_litter(fs, p))
		ms = fs->cfg->reap_new_ms;
	else
		return;
	*t = loop_timer_add(fs->loop, ms, reap_expired, p);
}

static void handle_link(struct fs_handle *h)
{
	struct fs *fs = h->fs;
	void **head;

	h->gnext = fs->handles;
	if (fs->handles)
		fs->handles->gprev = h;
	fs->handles = h;
	fs->nhandles++;
	if (!h->p)
		return;
	++*proc_nhandles(h->p);
	head = proc_handles(h->p);
	h->next = *head;
	if (h->next)
		h->next->prev = h;
	*head = h;
}

static void handle_unlink(struct fs_handle *h)
{
	struct fs *fs = h->fs;

	if (h->gprev)
		h->gprev->gnext = h->gnext;
	else
		fs->handles = h->gnext;
	if (h->gnext)
		h->gnext->gprev = h->gprev;
	fs->nhandles--;
	if (!h->p)
		return;
	--*proc_nhandles(h->p);
	if (h->prev)
		h->prev->next = h->next;
	else
		*proc_handles(h->p) = h->next;
	if (h->next)
		h->next->prev = h->prev;
}

static void park_free(struct fs_park *pk)
{
	pk->h->fs->nparked--;
	free(pk->data);
	free(pk);
}

/* Answer every parked request of h with err (end of the session). */
static void handle_flush(struct fs_handle *h, int err)
{
	struct fs_park *pk;

	while ((pk = h->parked)) {
		h->parked = pk->next;
		fuse_reply_err(pk->req, err);
		park_free(pk);
	}
}

static void shutdown_done(struct fs *fs);

static void handle_free(struct fs_handle *h)
{
	struct fs *h_fs = h->fs;
	struct proc *p = h->p;

	handle_flush(h, EINTR);
	handle_unlink(h);
	stream_reader_free(h->rd);
	if (h->ph)
		fuse_pollhandle_destroy(h->ph);
	free(h->text);
	free(h);
	if (p) {
		proc_update(p);
		reap_arm(h_fs, p);
		proc_unref(p);
	}
	if (h_fs->lingering && h_fs->nhandles == 0)
		shutdown_done(h_fs);
}

static struct fs_handle *handle_new(struct fs *fs, struct proc *p,
				    enum fs_kind kind)
{
	struct fs_handle *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->fs = fs;
	h->kind = kind;
	h->p = p;
	if (p) {
		proc_ref(p);
		loop_timer_del(*proc_reap_timer(p));
		*proc_reap_timer(p) = NULL;
	}
	handle_link(h);
	if (kind_is_log(kind)) {
		if (kind == K_EVENTS)
			proc_events_sync(p); /* the reader starts after them */
		h->rd = stream_reader_new(proc_log(p, kind_log(kind)), h,
					  loop_now_ms());
		if (!h->rd) {
			handle_free(h);
			return NULL;
		}
		proc_update(p);
	}
	return h;
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

static void metrics_text(struct fs *fs, struct jbuf *b)
{
	struct metrics_view v;
	struct proc *p;
	uint64_t id = 0;
	int i;

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
	v.runs_started = fs->pctx.runs_started;
	v.runs_failed = fs->pctx.runs_failed;
	v.handles = fs->nhandles;
	v.parked = fs->nparked;
	v.interrupts = fs->interrupts;
	memcpy(v.ctl_errors, fs->ctl_errors, sizeof(v.ctl_errors));
	v.rss_bytes = rss_bytes();
	v.start_time = (uint64_t)fs->born.tv_sec;
	metrics_render(b, &v);
}

static int handle_text(struct fs_handle *h, fuse_req_t req)
{
	struct jbuf b;

	jbuf_init(&b);
	if (h->kind == K_STATUS) {
		proc_status(h->p, &b);
	} else if (h->kind == K_METRICS) {
		metrics_text(h->fs, &b);
	} else if (h->kind == K_CTL) {
		ctlrun_text(h->p, &b);
	} else {
		char name[32];
		struct proc *p = NULL;
		int err;

		/* clone: the first free number from the counter on */
		do
			snprintf(name, sizeof(name), "%llu",
				 (unsigned long long)h->fs->next_clone++);
		while (tab_by_name(h->fs->tab, name));
		p = slot_create(h->fs, req, name, &err);
		if (!p) {
			jbuf_free(&b);
			return -err;
		}
		proc_set_cloned(p);
		reap_arm(h->fs, p);
		jbuf_printf(&b, "%s\n", name);
	}
	if (b.oom) {
		jbuf_free(&b);
		return -ENOMEM;
	}
	h->text = b.data;
	h->len = b.len;
	return 0;
}

/* Whether the open flags fit the file. */
static int open_check(const struct fs *fs, enum fs_kind k, int flags)
{
	int acc = flags & O_ACCMODE;

	if (fs->read_only &&
	    (acc != O_RDONLY || k == K_CLONE || (flags & O_TRUNC)))
		return -EROFS;
	if ((flags & O_TRUNC) && k != K_CTL && k != K_STDIN)
		return -EPERM;
	switch (k) {
	case K_CTL:
		return 0;
	case K_STDIN:
		return acc == O_WRONLY ? 0 : -EACCES;
	default:
		return acc == O_RDONLY ? 0 : -EACCES;
	}
}

static void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = req_fs(req);
	enum fs_kind k = ino == FS_CLONE_INO	 ? K_CLONE
			 : ino == FS_METRICS_INO ? K_METRICS
						 : ino_kind(ino);
	struct proc *p = ino_proc(fs, ino);
	struct fs_handle *h;
	int rc;

	if (k != K_CLONE && k != K_METRICS &&
	    (!p || k == K_DIR || k >= K_NKINDS || !slot_files[k].name)) {
		fuse_reply_err(req, p ? EISDIR : ENOENT);
		return;
	}
	rc = open_check(fs, k, fi->flags);
	if (rc == 0 && p && k != K_CLONE && k != K_METRICS &&
	    *proc_nhandles(p) >= fs->cfg->max_handles)
		rc = -EMFILE;
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	h = handle_new(fs, k == K_CLONE || k == K_METRICS ? NULL : p, k);
	if (!h) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (k == K_STATUS || k == K_CLONE || k == K_CTL || k == K_METRICS) {
		rc = handle_text(h, req);
		if (rc < 0) {
			handle_free(h);
			fuse_reply_err(req, -rc);
			return;
		}
	}
	fi->fh = (uint64_t)(uintptr_t)h;
	fi->direct_io = 1;
	fi->keep_cache = 0;
	if (fuse_reply_open(req, fi) < 0)
		handle_free(h); /* interrupted: no release will come */
}

static void fs_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	(void)ino;
	handle_free((struct fs_handle *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

static void reply_text(fuse_req_t req, const char *text, size_t len, off_t off,
		       size_t size)
{
	size_t o = (size_t)off;

	if (off < 0 || o >= len) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	fuse_reply_buf(req, text + o, len - o < size ? len - o : size);
}

/*
 * Try to answer a read or write now. Returns true when req was answered
 * (with data, end of file, or an error), false when it must wait.
 */
static bool handle_try(struct fs_handle *h, fuse_req_t req, uint64_t off,
		       size_t size, const char *data)
{
	char tmp[16];
	struct iovec iov[2];
	size_t n;
	ssize_t w;
	int cnt, rc;

	switch (h->kind) {
	case K_STDOUT:
	case K_STDERR:
	case K_EVENTS:
		rc = stream_read(h->rd, off, size, loop_now_ms(), iov, &cnt,
				 &n);
		if (rc == -EAGAIN)
			return false;
		if (rc < 0)
			fuse_reply_err(req, -rc);
		else if (n == 0)
			fuse_reply_buf(req, NULL, 0);
		else
			fuse_reply_iov(req, iov, cnt);
		h->next_off = off + n;
		return true;
	case K_WAIT:
		if (proc_wait_status(h->p) < 0 && !proc_closed(h->p))
			return false;
		rc = wait_text(h->p, tmp, sizeof(tmp));
		reply_text(req, tmp, (size_t)rc, (off_t)off, size);
		return true;
	case K_STDIN:
		w = proc_stdin_write(h->p, data, size);
		if (w == -EAGAIN)
			return false;
		if (w < 0)
			fuse_reply_err(req, (int)-w);
		else
			fuse_reply_write(req, (size_t)w);
		return true;
	default:
		fuse_reply_err(req, EBADF);
		return true;
	}
}

static void fs_interrupted(fuse_req_t req, void *data)
{
	struct fs_park *pk = data;
	struct fs *fs = pk->h->fs;

	(void)req;
	/* Called with libfuse's lock held: only mark, the loop answers. */
	if (pk->intr)
		return;
	pk->intr = true;
	pk->intr_next = fs->intr;
	fs->intr = pk;
}

static void park(struct fs_handle *h, fuse_req_t req, uint64_t off, size_t size,
		 const char *data)
{
	struct fs_park *pk = calloc(1, sizeof(*pk)), **pp;

	if (pk && data) {
		pk->data = malloc(size ? size : 1);
		if (pk->data)
			memcpy(pk->data, data, size);
	}
	if (!pk || (data && !pk->data)) {
		free(pk);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pk->h = h;
	pk->req = req;
	pk->off = off;
	pk->size = size;
	for (pp = &h->parked; *pp; pp = &(*pp)->next)
		;
	*pp = pk;
	h->fs->nparked++;
	fuse_req_interrupt_func(req, fs_interrupted, pk);
}

static bool ctl_resume(struct fs_handle *h, struct fs_park *pk);

/* Answer h's parked requests in order while they can be answered. */
static void handle_drain(struct fs_handle *h)
{
	struct fs_park *pk;

	/* Answering may close stdin, whose hook wakes this very handle. */
	if (h->draining)
		return;
	h->draining = true;
	while ((pk = h->parked) && !pk->intr) {
		if (h->kind == K_CTL ? !ctl_resume(h, pk)
				     : !handle_try(h, pk->req, pk->off,
						   pk->size, pk->data))
			break;
		h->parked = pk->next;
		park_free(pk);
	}
	h->draining = false;
}

/* Answer the interrupted parked requests with EINTR, after dispatch. */
static void fs_answer_interrupts(struct fs *fs)
{
	struct fs_park *pk, **pp;

	while ((pk = fs->intr)) {
		fs->intr = pk->intr_next;
		for (pp = &pk->h->parked; *pp != pk; pp = &(*pp)->next)
			;
		*pp = pk->next;
		fuse_reply_err(pk->req, EINTR);
		fs->interrupts++;
		park_free(pk);
	}
}

static void handle_request(fuse_req_t req, struct fs_handle *h, off_t off,
			   size_t size, const char *data, int flags)
{
	bool now;

	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	/* A log read that would not wait is answered at once, even behind
	 * parked reads: those wait at or past the end, so it overtakes no
	 * byte (DESIGN.md §4: inside the window, never blocking). */
	now = !h->parked ||
	      (kind_is_log(h->kind) && stream_readable(h->rd, (uint64_t)off));

	if (now && handle_try(h, req, (uint64_t)off, size, data)) {
		if (h->p)
			proc_update(h->p);
		return;
	}
	/* Even a read that waits moved its reader to the end, which may be
	 * the room a paused child was waiting for. */
	if (h->p)
		proc_update(h->p);
	if (flags & O_NONBLOCK)
		fuse_reply_err(req, EAGAIN);
	else
		park(h, req, (uint64_t)off, size, data);
}

static void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct fs_handle *h = (struct fs_handle *)(uintptr_t)fi->fh;

	(void)ino;
	switch (h->kind) {
	case K_STATUS:
	case K_CLONE:
	case K_CTL:
	case K_METRICS:
		reply_text(req, h->text, h->len, off, size);
		return;
	default:
		handle_request(req, h, off, size, NULL, fi->flags);
	}
}

/* A ctl line's failure, for metrics. */
static void ctl_count(struct fs *fs, int rc)
{
	if (rc < 0 && rc != -EINPROGRESS && -rc < METRICS_ERRNO_MAX)
		fs->ctl_errors[-rc]++;
}

/* status.error for a line that does not parse; an unknown command is
 * named, so a typo shows at once. */
static void ctl_parse_error(struct proc *p, const char *line, size_t len,
			    int err)
{
	char msg[FS_NAME_MAX + 32];
	const char *w;
	size_t n;
	int k;

	if (err != EINVAL || ctl_command_known(line, len, &w, &n) || n == 0) {
		proc_set_error(p, line, len, err);
		return;
	}
	k = snprintf(msg, sizeof(msg), "unknown command \"%.*s\"",
		     (int)(n < FS_NAME_MAX ? n : FS_NAME_MAX), w);
	proc_set_error(p, msg, (size_t)k, err);
}

/* Run the lines of a ctl write in order; *used is how far it got (past
 * a start whose exec is awaited: -EINPROGRESS). */
static int ctl_apply(struct fs *fs, fuse_req_t req, struct proc *p,
		     const char *buf, size_t size, size_t *used)
{
	uid_t uid = fuse_req_ctx(req)->uid;
	struct ctl_line l;
	const char *line;
	size_t pos = 0, len;
	int rc = 0;

	if (fs->stopping)
		return -ESHUTDOWN;
	if (proc_removed(p))
		return -ENOENT;
	while (rc == 0 && ctl_next_line(buf, size, &pos, &line, &len)) {
		rc = ctl_parse_line(line, len, &l);
		if (rc < 0) {
			ctl_parse_error(p, line, len, -rc);
			break;
		}
		rc = ctlrun_line(&fs->ctlrun, p, &l, uid, line, len);
		ctl_line_free(&l);
	}
	*used = pos;
	ctl_count(fs, rc);
	return rc;
}

/*
 * A ctl write parked on a start (off: the write's size, data: its lines
 * after the start). Once the start has its answer, finish the write.
 */
static bool ctl_resume(struct fs_handle *h, struct fs_park *pk)
{
	size_t used = 0;
	int rc;

	if (proc_starting(h->p))
		return false;
	rc = proc_start_result(h->p);
	ctl_count(h->fs, rc);
	if (rc == 0)
		rc = ctl_apply(h->fs, pk->req, h->p, pk->data, pk->size, &used);
	if (rc == -EINPROGRESS) {
		memmove(pk->data, pk->data + used, pk->size - used);
		pk->size -= used;
		return false;
	}
	if (rc < 0 && !h->failed)
		h->failed = -rc;
	if (rc < 0)
		fuse_reply_err(pk->req, -rc);
	else
		fuse_reply_write(pk->req, (size_t)pk->off);
	return true;
}

static void fs_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	struct fs_handle *h = (struct fs_handle *)(uintptr_t)fi->fh;
	size_t used;
	int rc;

	(void)ino;
	if (h->kind == K_STDIN) {
		handle_request(req, h, off, size, buf, fi->flags);
		return;
	}
	if (h->kind != K_CTL) {
		fuse_reply_err(req, EBADF);
		return;
	}
	/* Fail-stop: after a failed line nothing more runs through this
	 * handle (a shell writes each line of a script on its own). */
	if (h->failed) {
		fuse_reply_err(req, h->failed);
		return;
	}
	rc = ctl_apply(h->fs, req, h->p, buf, size, &used);
	if (rc < 0 && rc != -EINPROGRESS)
		h->failed = -rc;
	if (rc == -EINPROGRESS)
		park(h, req, size, size - used, buf + used);
	else if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_write(req, size);
}

static bool handle_ready(const struct fs_handle *h)
{
	switch (h->kind) {
	case K_STDOUT:
	case K_STDERR:
	case K_EVENTS:
		return stream_readable(h->rd, h->next_off);
	case K_WAIT:
		return proc_wait_status(h->p) >= 0 || proc_closed(h->p);
	default:
		return true;
	}
}

static void fs_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		    struct fuse_pollhandle *ph)
{
	struct fs_handle *h = (struct fs_handle *)(uintptr_t)fi->fh;
	unsigned revents = 0;

	(void)ino;
	if (ph) {
		if (h->ph)
			fuse_pollhandle_destroy(h->ph);
		h->ph = ph;
	}
	if (h->kind == K_STDIN || h->kind == K_CTL)
		revents = POLLOUT | POLLWRNORM;
	if (h->kind != K_STDIN && handle_ready(h))
		revents |= POLLIN | POLLRDNORM;
	fuse_reply_poll(req, revents);
}

/* Something h waits for may have happened: answer and notify. */
static void handle_wake(struct fs_handle *h)
{
	handle_drain(h);
	if (h->ph && handle_ready(h)) {
		fuse_lowlevel_notify_poll(h->ph);
		fuse_pollhandle_destroy(h->ph);
		h->ph = NULL;
	}
}

static void hook_output(void *arg, struct proc *p, enum proc_log log)
{
	struct stream_reader *r;

	(void)arg;
	for (r = stream_first_reader(proc_log(p, log)); r;
	     r = stream_next_reader(r))
		handle_wake(stream_reader_data(r));
}

/* Wake the handles of p of one kind. */
static void wake_kind(struct proc *p, enum fs_kind kind)
{
	struct fs_handle *h;

	for (h = *proc_handles(p); h; h = h->next)
		if (h->kind == kind)
			handle_wake(h);
}

static void hook_ended(void *arg, struct proc *p)
{
	wake_kind(p, K_WAIT);
	reap_arm(arg, p);
}

static void hook_started(void *arg, struct proc *p)
{
	(void)arg;
	wake_kind(p, K_CTL);
}

static void hook_stdin(void *arg, struct proc *p)
{
	(void)arg;
	wake_kind(p, K_STDIN);
}

static void hook_done(void *arg, struct proc *p)
{
	reap_arm(arg, p);
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
		fs_answer_interrupts(fs);
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
	proc_sigchld(&fs->pctx);
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
	fs->ctlrun.shell = cfg->shell;
	fs->phooks = (struct proc_hooks){
		.output = hook_output,
		.ended = hook_ended,
		.stdin_ready = hook_stdin,
		.idle = hook_idle,
		.done = hook_done,
		.started = hook_started,
	};
	fs->pctx = (struct proc_ctx){.loop = loop,
				     .cfg = cfg,
				     .hooks = &fs->phooks,
				     .arg = fs,
				     .nofile = nofile};
	if (loop_signal(loop, SIGCHLD, fs_sigchld, fs) < 0)
		goto fail;
	fs->tab = tab_new();
	fs->pctx.children = child_set_new(loop);
	if (!fs->tab || !fs->pctx.children)
		goto fail;
	fs->se = fuse_session_new(args, &fs_ops, sizeof(fs_ops), fs);
	if (!fs->se) {
		errno = EINVAL;
		goto fail;
	}
	return fs;
fail:
	tab_free(fs->tab);
	child_set_free(fs->pctx.children);
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
		 (unsigned long long)fs->nhandles);
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
	if (fs->ended || fs->nhandles == 0) {
		shutdown_done(fs);
		return;
	}
	log_info("stopping: waiting for %llu open file(s) to close",
		 (unsigned long long)fs->nhandles);
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
	while ((p = tab_next(fs->tab, id, &id)))
		if (proc_busy(p))
			proc_end(p, PROC_END_STOP);
	if (fs->pctx.nbusy == 0) {
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
	struct proc *p;
	uint64_t id = 0;

	if (!fs)
		return;
	fs->stopped = true; /* no hook from here on */
	loop_timer_del(fs->stop_timer);
	fs->stop_timer = NULL;
	loop_timer_del(fs->trim_timer);
	fs->trim_timer = NULL;
	while (fs->handles)
		handle_free(fs->handles);
	while ((p = tab_next(fs->tab, 0, &id)))
		slot_drop(fs, p);
	tab_free(fs->tab);
	child_set_free(fs->pctx.children);
	loop_io_del(fs->io);
	if (fs->mounted)
		fuse_session_unmount(fs->se);
	fuse_session_destroy(fs->se);
	free(fs->buf.mem);
	free(fs);
}
