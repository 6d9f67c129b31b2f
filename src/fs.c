/*
 * fs: the FUSE low-level operations and the session. Each request is
 * answered from the kinds table (kind.c: inode numbers, names, modes,
 * sizes, texts), the slots (slots.c: their table, records, reaping and
 * the stop's phases) and the open handles (handle.c: reads, writes and
 * polls, parked requests, interrupts).
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <poll.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fuse_lowlevel.h>

#include "spawnfs/ctlrun.h"
#include "spawnfs/fs.h"
#include "spawnfs/fusewire.h"
#include "spawnfs/handle.h"
#include "spawnfs/kind.h"
#include "spawnfs/log.h"
#include "spawnfs/metrics.h"
#include "spawnfs/mountinfo.h"
#include "spawnfs/proc.h"
#include "spawnfs/slots.h"
#include "spawnfs/state.h"

#define FS_MAX_WRITE (1024 * 1024)

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
	struct kind_ctx kc;
	bool mounted, ended;
	bool read_only; /* -o ro: observing only, EROFS for the rest */
	char *mnt_path; /* the mount point, absolute */
	int mnt_id;	/* our mount's ID in mountinfo, -errno if unknown */
	/* an upgrade in place */
	void *init_req; /* the kernel's INIT request, as read */
	size_t init_len;
	struct fs_conn conn;	   /* what INIT negotiated (fs_init) */
	bool adopted;		   /* the device came from an older image */
	bool no_resend;		   /* a test: as if the kernel had none */
	struct metrics_upgrade up; /* the upgrades' results */
};

static struct fs *req_fs(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static struct proc *ino_proc(struct fs *fs, fuse_ino_t ino)
{
	return kind_ino_proc(&fs->kc, ino);
}

static int fs_attr(struct fs *fs, fuse_ino_t ino, struct proc *p,
		   struct stat *st)
{
	return kind_attr(&fs->kc, ino, p, st);
}

/* How long the kernel may keep a name inside a slot: each names the
 * same inode for the slot's whole life (inode numbers come from slot
 * ids, never reused), and the slot's removal drops them with it. The
 * root's names are never cached (an invalidation from the loop could
 * deadlock against a lookup waiting for it), nor any attribute (logs
 * grow). */
#define FS_SLOT_ENTRY_TIMEOUT 60.0

static void reply_entry_for(fuse_req_t req, struct fs *fs, fuse_ino_t ino,
			    struct proc *p, double entry_timeout)
{
	struct fuse_entry_param e;
	int rc;

	memset(&e, 0, sizeof(e));
	e.entry_timeout = entry_timeout;
	rc = fs_attr(fs, ino, p, &e.attr);
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	e.ino = ino;
	e.generation = 1;
	fuse_reply_entry(req, &e);
}

static void reply_entry(fuse_req_t req, struct fs *fs, fuse_ino_t ino,
			struct proc *p)
{
	reply_entry_for(req, fs, ino, p, 0);
}

static void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = req_fs(req);
	const struct kind_root *rf;
	struct proc *p;
	int k;

	if (parent == KIND_BYPID_INO) {
		p = slots_by_pid(fs->sl, name);
		if (!p)
			fuse_reply_err(req, ENOENT);
		else
			reply_entry(req, fs, kind_ino(p, KIND_PIDLINK), p);
		return;
	}
	if (parent == KIND_ROOT_INO) {
		rf = kind_root_by_name(name);
		p = rf ? NULL : slots_by_name(fs->sl, name);
		if (rf)
			reply_entry(req, fs, rf->ino, NULL);
		else if (p)
			reply_entry(req, fs, kind_ino(p, KIND_DIR), p);
		else
			fuse_reply_err(req, ENOENT);
		return;
	}
	p = ino_proc(fs, parent);
	if (!p || kind_of_ino(parent) != KIND_DIR) {
		fuse_reply_err(req, p ? ENOTDIR : ENOENT);
		return;
	}
	for (k = KIND_DIR + 1; k < KIND_NSLOT; k++) {
		if (kind_in_slot(&fs->kc, (enum kind_id)k) &&
		    strcmp(kind_ops(k)->name, name) == 0) {
			reply_entry_for(req, fs, kind_ino(p, (enum kind_id)k),
					p, FS_SLOT_ENTRY_TIMEOUT);
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
	if (ino < KIND_SLOT_INO || ino_proc(fs, ino))
		return NULL;
	return handle_find(fs->hs, kind_ino_id(ino), kind_of_ino(ino));
}

static void fs_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct fs *fs = req_fs(req);
	struct handle *h = fi ? handle_by_id(fs->hs, fi->fh) : NULL;
	enum kind_id k = kind_of_ino(ino);
	struct stat st;
	int rc;

	if (!h)
		h = handle_of_removed(fs, ino);

	rc = fs_attr(fs, ino, h && ino >= KIND_SLOT_INO ? handle_proc(h) : NULL,
		     &st);
	/* An open status reads what was rendered at open: say that size. */
	if (rc == 0 && h && ino >= KIND_SLOT_INO && handle_tag(h) == k &&
	    kind_ops(k)->sized_at_open)
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
	enum kind_id k = kind_of_ino(ino);
	struct proc *p;
	struct stat st;

	(void)fi;
	p = ino_proc(fs, ino);
	if (fs->read_only) {
		fuse_reply_err(req, p || ino < KIND_SLOT_INO ? EROFS : ENOENT);
		return;
	}
	if (p && k < KIND_N && kind_ops(k)->truncate &&
	    to_set == FUSE_SET_ATTR_SIZE && attr->st_size == 0) {
		fs_attr(fs, ino, p, &st);
		fuse_reply_attr(req, &st, 0);
		return;
	}
	fuse_reply_err(req, p || ino < KIND_SLOT_INO ? EPERM : ENOENT);
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

/* Root offsets: 1 ".", 2 "..", 3 + i for kind_root_at(i), then base +
 * slot id, base being 2 + the number of root files. */
static size_t readdir_root(fuse_req_t req, struct fs *fs, char *buf,
			   size_t size, off_t off)
{
	size_t pos = 0, i;
	uint64_t id, base;
	struct proc *p;

	if (off < 1 &&
	    !dirent_add(req, buf, size, &pos, ".", KIND_ROOT_INO, S_IFDIR, 1))
		return pos;
	if (off < 2 &&
	    !dirent_add(req, buf, size, &pos, "..", KIND_ROOT_INO, S_IFDIR, 2))
		return pos;
	for (i = 0; kind_root_at(i); i++) {
		const struct kind_root *rf = kind_root_at(i);

		if (off < (off_t)i + 3 &&
		    !dirent_add(req, buf, size, &pos, rf->name, rf->ino,
				rf->mode & S_IFMT, (off_t)i + 3))
			return pos;
	}
	base = (uint64_t)i + 2;
	id = (uint64_t)off > base ? (uint64_t)off - base : 0;
	while ((p = slots_next(fs->sl, id, &id)))
		if (!dirent_add(req, buf, size, &pos, proc_name(p),
				kind_ino(p, KIND_DIR), S_IFDIR,
				(off_t)(id + base)))
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
	    !dirent_add(req, buf, size, &pos, ".", KIND_BYPID_INO, S_IFDIR, 1))
		return pos;
	if (off < 2 &&
	    !dirent_add(req, buf, size, &pos, "..", KIND_ROOT_INO, S_IFDIR, 2))
		return pos;
	id = off > 2 ? (uint64_t)off - 2 : 0;
	while ((p = slots_next(fs->sl, id, &id))) {
		if (!kind_pidlink_live(p))
			continue;
		snprintf(name, sizeof(name), "%d", (int)proc_pid(p));
		if (!dirent_add(req, buf, size, &pos, name,
				kind_ino(p, KIND_PIDLINK), S_IFLNK,
				(off_t)(id + 2)))
			break;
	}
	return pos;
}

static void fs_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct proc *p = ino_proc(req_fs(req), ino);
	char target[SLOTS_NAME_MAX + 4];

	if (!p || kind_of_ino(ino) != KIND_PIDLINK || !kind_pidlink_live(p)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	snprintf(target, sizeof(target), "../%s", proc_name(p));
	fuse_reply_readlink(req, target);
}

static size_t readdir_slot(fuse_req_t req, struct fs *fs, struct proc *p,
			   char *buf, size_t size, off_t off)
{
	size_t pos = 0;
	int k;

	if (off < 1 && !dirent_add(req, buf, size, &pos, ".",
				   kind_ino(p, KIND_DIR), S_IFDIR, 1))
		return pos;
	if (off < 2 &&
	    !dirent_add(req, buf, size, &pos, "..", KIND_ROOT_INO, S_IFDIR, 2))
		return pos;
	for (k = KIND_DIR + 1; k < KIND_NSLOT; k++) {
		if (!kind_in_slot(&fs->kc, (enum kind_id)k) || off >= k + 2)
			continue;
		if (!dirent_add(req, buf, size, &pos, kind_ops(k)->name,
				kind_ino(p, (enum kind_id)k), S_IFREG, k + 2))
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
	if (ino != KIND_ROOT_INO && ino != KIND_BYPID_INO) {
		p = ino_proc(fs, ino);
		if (!p || kind_of_ino(ino) != KIND_DIR) {
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
		n = readdir_slot(req, fs, p, buf, size, off);
	else if (ino == KIND_BYPID_INO)
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
	if (parent != KIND_ROOT_INO) {
		fuse_reply_err(req, EPERM);
		return;
	}
	p = slot_create(fs, req, name, &err);
	if (!p)
		fuse_reply_err(req, err);
	else
		reply_entry(req, fs, kind_ino(p, KIND_DIR), p);
}

static void fs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = req_fs(req);

	if (parent != KIND_ROOT_INO) {
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

/* ctlrun applied a line to p (its owner's record is slots'). */
static void slot_touched(void *arg, struct proc *p)
{
	(void)arg;
	slots_touch(p);
}

/* The settings ctlrun edits are in slots' record too. */
static struct run_settings *slot_settings(void *arg, struct proc *p)
{
	(void)arg;
	return slots_settings(p);
}

static void fs_close(struct fs *fs, struct handle *h)
{
	struct proc *p = handle_proc(h);

	handle_free(h);
	slots_release(fs->sl, p);
}

/* Render the text h reads, for the kinds that have one. */
static int handle_render(struct fs *fs, struct handle *h, enum kind_id k,
			 fuse_req_t req)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct jbuf b;
	int rc;

	jbuf_init(&b);
	rc = kind_text(&fs->kc, k, ctx->uid, ctx->gid, handle_proc(h), &b);
	if (rc < 0) {
		jbuf_free(&b);
		return rc;
	}
	handle_set_text(h, b.data, b.len);
	return 0;
}

/* Whether the open flags fit the file. */
static int open_check(const struct fs *fs, enum kind_id k, int flags)
{
	int acc = flags & O_ACCMODE;

	if (fs->read_only &&
	    (acc != O_RDONLY || kind_ops(k)->creates || (flags & O_TRUNC)))
		return -EROFS;
	if ((flags & O_TRUNC) && !kind_ops(k)->truncate)
		return -EPERM;
	return kind_ops(k)->access < 0 || acc == kind_ops(k)->access ? 0
								     : -EACCES;
}

/* A handle of kind k on p (NULL for the root's files): its slot
 * reference is taken here. NULL with errno ENOMEM. */
static struct handle *fs_handle_new(struct fs *fs, struct proc *p,
				    enum kind_id k)
{
	struct handle *h;

	if (p)
		slots_hold(p);
	if (p && k == KIND_EVENTS)
		proc_events_sync(p); /* the reader starts after them */
	h = handle_new(fs->hs, p, kind_ops(k)->type, k, kind_ops(k)->log);
	if (!h) {
		slots_release(fs->sl, p);
		return NULL;
	}
	if (kind_ops(k)->type == HANDLE_LOG)
		proc_update(p);
	return h;
}

static void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = req_fs(req);
	const struct kind_root *rf = kind_root_by_ino(ino);
	enum kind_id k = rf ? rf->kind : kind_of_ino(ino);
	struct proc *p = ino_proc(fs, ino);
	struct handle *h;
	int rc;

	if (rf ? k == KIND_DIR : !p || !kind_in_slot(&fs->kc, k)) {
		fuse_reply_err(req, p ? EISDIR : ENOENT);
		return;
	}
	rc = open_check(fs, k, fi->flags);
	if (rc == 0 && p &&
	    handle_slot_count(fs->hs, proc_id(p)) >= fs->cfg->max_handles)
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
	fi->fh = handle_id(h);
	fi->direct_io = 1;
	fi->keep_cache = 0;
	if (fuse_reply_open(req, fi) < 0)
		fs_close(fs, h); /* interrupted: no release will come */
}

/* The open handle the kernel names by fi->fh; NULL (and EBADF answered)
 * for an id that is not open, which only a bug could send. */
static struct handle *fi_handle(fuse_req_t req, const struct fuse_file_info *fi)
{
	struct handle *h = handle_by_id(req_fs(req)->hs, fi->fh);

	if (!h)
		fuse_reply_err(req, EBADF);
	return h;
}

static void fs_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct handle *h = fi_handle(req, fi);

	(void)ino;
	if (!h)
		return;
	fs_close(req_fs(req), h);
	fuse_reply_err(req, 0);
}

static void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct handle *h = fi_handle(req, fi);

	(void)ino;
	if (h)
		handle_read(h, req, size, off, fi->flags);
}

static void fs_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	struct handle *h = fi_handle(req, fi);

	(void)ino;
	if (h)
		handle_write(h, req, buf, size, off, fi->flags);
}

static void fs_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		    struct fuse_pollhandle *ph)
{
	struct handle *h = fi_handle(req, fi);

	(void)ino;
	if (h)
		handle_poll(h, req, ph);
	else
		fuse_pollhandle_destroy(ph);
}

static void fs_init(void *userdata, struct fuse_conn_info *conn)
{
	struct fs *fs = userdata;

	/* One read may carry up to 1 MiB; the kernel caps it further. */
	conn->max_write = FS_MAX_WRITE;
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	/* What an upgrade's next image must negotiate again. */
	fs->conn = (struct fs_conn){
		conn->want,	      conn->max_write,
		conn->max_read,	      conn->max_readahead,
		conn->max_background, conn->congestion_threshold,
		conn->time_gran};
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

/* Before libfuse sees a request: its unique and poll kh go to the
 * handles, and the INIT request is kept for an upgrade's next image. */
static void fs_peek(struct fs *fs)
{
	struct fusewire_req rq;

	if ((fs->buf.flags & FUSE_BUF_IS_FD) ||
	    !fusewire_peek(fs->buf.mem, fs->buf.size, &rq))
		return;
	if (rq.init && !fs->init_req) {
		fs->init_req = malloc(fs->buf.size);
		if (fs->init_req) {
			memcpy(fs->init_req, fs->buf.mem, fs->buf.size);
			fs->init_len = fs->buf.size;
		}
	}
	handle_set_request(fs->hs, rq.unique, rq.kh);
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
		fs_peek(fs);
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
		  const struct rlimit *nofile, struct cgroup_root *cg,
		  const struct fs_hooks *hooks, void *arg)
{
	struct fs *fs = calloc(1, sizeof(*fs));

	if (!fs)
		return NULL;
	fs->read_only = flags & FS_READ_ONLY;
	fs->loop = loop;
	fs->cfg = cfg;
	fs->hooks = hooks;
	fs->arg = arg;
	clock_gettime(CLOCK_REALTIME, &fs->kc.born);
	fs->ctlrun.shell = cfg->shell;
	fs->ctlrun.touched = slot_touched;
	fs->ctlrun.settings = slot_settings;
	fs->ctlrun.keep_min = cfg->buffer_size;
	fs->ctlrun.keep_max = cfg->keep_max;
	fs->hs = handle_set_new(&fs->ctlrun, loop);
	if (!fs->hs)
		goto fail;
	fs->sl = slots_new(loop, cfg, nofile, cg, fs->hs, kind_root_names(),
			   fs_stopped, fs);
	if (!fs->sl)
		goto fail;
	fs->kc.sl = fs->sl;
	fs->kc.hs = fs->hs;
	fs->kc.cfg = cfg;
	fs->kc.read_only = fs->read_only;
	fs->kc.up = &fs->up;
	fs->kc.loop = loop;
	fs->no_resend = getenv("SPAWNFS_TEST_NO_RESEND") != NULL;
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

/* The ID of the mount on top of our mount point, or -errno. */
static int fs_top_mount(const struct fs *fs)
{
	char *text;
	int id;

	if (!fs->mnt_path || !(text = mountinfo_read()))
		return -ENOENT;
	id = mountinfo_top(text, fs->mnt_path);
	free(text);
	return id;
}

int fs_mount(struct fs *fs, const char *mountpoint)
{
	int fd;

	/* Before the mount: afterwards the path leads into this very file
	 * system, which cannot answer until the loop runs. */
	fs->mnt_path = realpath(mountpoint, NULL);
	if (fuse_session_mount(fs->se, mountpoint) != 0)
		return -EIO;
	fs->mounted = true;
	fs->mnt_id = fs_top_mount(fs);
	fd = fuse_session_fd(fs->se);
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	fs->io = loop_io_add(fs->loop, fd, EPOLLIN, fs_readable, fs);
	return fs->io ? 0 : -errno;
}

void fs_started(struct fs *fs)
{
	slots_started(fs->sl);
}

void fs_shutdown(struct fs *fs)
{
	slots_shutdown(fs->sl);
}

/* Make libfuse forget the mount without its unmount by path: the device
 * fd becomes a pipe's write end with no reader, which closes the device
 * (ending our connection) and polls POLLERR, which libfuse takes for "no
 * longer mounted". Without a pipe libfuse's copy of the path is left. */
static void fs_forget_mount(struct fs *fs)
{
	int p[2], fd = fuse_session_fd(fs->se);

	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	close(p[0]);
	if (dup2(p[1], fd) >= 0)
		fuse_session_unmount(fs->se);
	close(p[1]);
}

/* libfuse unmounts only what it mounted: a device taken over from an
 * older image is unmounted by path here, as libfuse would (lazily; by
 * fusermount3 without the privilege), unless the kernel already ended
 * the connection. */
static void fs_unmount_adopted(struct fs *fs)
{
	struct pollfd pfd = {.fd = fuse_session_fd(fs->se), .events = 0};
	char *argv[] = {"fusermount3", "-u",	     "-q", "-z",
			"--",	       fs->mnt_path, NULL};
	pid_t pid;
	int st;

	if (!fs->mnt_path || (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLERR)))
		return;
	if (umount2(fs->mnt_path, MNT_DETACH) == 0)
		return;
	if (posix_spawnp(&pid, "fusermount3", NULL, NULL, argv, environ) == 0)
		waitpid(pid, &st, 0);
}

/* Unmount by path only while the mount there is ours: after a lazy
 * unmount, or with another daemon mounted over ours, the path's mount is
 * someone else's. Ours then just loses its daemon and stays, covered,
 * until its own unmount. */
static void fs_unmount(struct fs *fs)
{
	int top = fs->mnt_id < 0 ? fs->mnt_id : fs_top_mount(fs);

	if (fs->mnt_id < 0 || top == fs->mnt_id) {
		if (fs->adopted)
			fs_unmount_adopted(fs);
		else
			fuse_session_unmount(fs->se);
		return;
	}
	if (top >= 0 && !fs->ended)
		log_warn("%s: another mount covers this one, so it is not "
			 "unmounted by path; run 'fusermount3 -u %s' once the "
			 "one above is gone",
			 fs->mnt_path, fs->mnt_path);
	fs_forget_mount(fs);
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
		fs_unmount(fs);
	fuse_session_destroy(fs->se); /* closes the device: ends ours */
	free(fs->init_req);
	free(fs->buf.mem);
	free(fs->mnt_path);
	free(fs);
}

/* ---- an upgrade in place ---- */

bool fs_upgradable(const struct fs *fs, const char **why)
{
	if (!slots_upgradable(fs->sl, why))
		return false;
	if (!fs->init_req) {
		*why = "the kernel's INIT request was not kept";
		return false;
	}
	if ((fs->no_resend ||
	     !fusewire_init_resend(fs->init_req, fs->init_len)) &&
	    handle_set_parked_any(fs->hs)) {
		*why = "requests are waiting and this kernel cannot send them "
		       "again to a new program (FUSE_NOTIFY_RESEND, Linux 6.9): "
		       "retry once no read waits";
		return false;
	}
	return true;
}

void fs_upgrade_result(struct fs *fs, const char *result, const char *reason,
		       uint64_t pause_usec)
{
	if (strcmp(result, "ok") == 0)
		fs->up.ok++;
	else if (strcmp(result, "refused") == 0)
		fs->up.refused++;
	else
		fs->up.failed++;
	fs->up.generation++;
	fs->up.last = strcmp(result, "ok") == 0	       ? "ok"
		      : strcmp(result, "refused") == 0 ? "refused"
						       : "failed";
	snprintf(fs->up.reason, sizeof(fs->up.reason), "%s",
		 reason ? reason : "");
	fs->up.pause_usec = pause_usec;
}

static void conn_save(const struct fs_conn *c, struct state_w *w)
{
	state_u64(w, c->want);
	state_u64(w, c->max_write);
	state_u64(w, c->max_read);
	state_u64(w, c->max_readahead);
	state_u64(w, c->max_background);
	state_u64(w, c->congestion_threshold);
	state_u64(w, c->time_gran);
}

static void conn_load(struct fs_conn *c, struct state_r *r)
{
	c->want = state_get_u64(r);
	c->max_write = state_get_u64(r);
	c->max_read = state_get_u64(r);
	c->max_readahead = state_get_u64(r);
	c->max_background = state_get_u64(r);
	c->congestion_threshold = state_get_u64(r);
	c->time_gran = state_get_u64(r);
}

void fs_save(const struct fs *fs, struct state_w *w)
{
	state_begin(w, STATE_FS);
	state_bytes(w, fs->init_req, fs->init_len);
	conn_save(&fs->conn, w);
	state_str(w, fs->mnt_path);
	state_i64(w, fs->mnt_id);
	state_fd(w, fuse_session_fd(fs->se));
	state_ts(w, &fs->kc.born);
	state_u64(w, fs->up.ok);
	state_u64(w, fs->up.refused);
	state_u64(w, fs->up.failed);
	state_u64(w, fs->up.generation);
	slots_save(fs->sl, w);
	handle_set_save(fs->hs, w);
	state_end(w);
}

/* The INIT request run through a session of its own over a pipe: what
 * this program negotiates for it. 0 or -errno. */
static int init_negotiate(const void *init, size_t len, struct fs_conn *out)
{
	char *fargv[] = {"spawnfs", NULL}, dev[32];
	struct fuse_args args = FUSE_ARGS_INIT(1, fargv);
	struct fuse_buf b = {.size = len};
	struct fs tmp;
	struct fuse_session *se;
	int p[2], rc = 0;

	memset(&tmp, 0, sizeof(tmp));
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	b.mem = malloc(len);
	se = b.mem ? fuse_session_new(&args, &fs_ops, sizeof(fs_ops), &tmp)
		   : NULL;
	fuse_opt_free_args(&args);
	snprintf(dev, sizeof(dev), "/dev/fd/%d", p[1]);
	if (!se || fuse_session_mount(se, dev) != 0) {
		rc = -EIO;
	} else {
		memcpy(b.mem, init, len);
		fuse_session_process_buf(se, &b);
		*out = tmp.conn;
	}
	if (se)
		fuse_session_destroy(se); /* closes p[1] once mounted */
	else
		close(p[1]);
	if (rc < 0 && se)
		close(p[1]);
	close(p[0]);
	free(b.mem);
	return rc;
}

int fs_check_state(struct state_r *r)
{
	struct fs_conn saved, now;
	const void *init;
	size_t len;

	if (!state_enter(r, STATE_FS))
		return r->err;
	init = state_get_bytes(r, &len);
	conn_load(&saved, r);
	if (r->err)
		return r->err;
	if (!init || len == 0) {
		state_fail(r, "the state holds no INIT request");
		return r->err;
	}
	if (init_negotiate(init, len, &now) < 0) {
		state_fail(r, "cannot negotiate the saved INIT request");
		return r->err;
	}
	if (memcmp(&saved, &now, sizeof(now)) != 0)
		state_fail(r,
			   "this program negotiates another connection (flags "
			   "0x%llx, max_write %llu) than the one serving "
			   "(flags 0x%llx, max_write %llu)",
			   (unsigned long long)now.want,
			   (unsigned long long)now.max_write,
			   (unsigned long long)saved.want,
			   (unsigned long long)saved.max_write);
	return r->err;
}

static struct proc *find_slot(void *arg, uint64_t id)
{
	struct fs *fs = arg;

	return slots_find(fs->sl, id);
}

static void hold_slot(void *arg, struct proc *p)
{
	(void)arg;
	slots_hold(p);
}

int fs_load(struct fs *fs, struct state_r *r)
{
	const struct handle_slots hs = {find_slot, hold_slot, fs};
	struct fuse_buf b = {0};
	struct fs_conn saved;
	const void *init;
	char dev[32];
	int fd;

	if (!state_enter(r, STATE_FS))
		return r->err;
	init = state_get_bytes(r, &fs->init_len);
	conn_load(&saved, r);
	fs->mnt_path = state_get_str(r);
	fs->mnt_id = (int)state_get_i64(r);
	fd = state_get_fd(r);
	state_get_ts(r, &fs->kc.born);
	fs->up.ok = state_get_u64(r);
	fs->up.refused = state_get_u64(r);
	fs->up.failed = state_get_u64(r);
	fs->up.generation = state_get_u64(r);
	if (r->err)
		return r->err;
	fs->init_req = malloc(fs->init_len ? fs->init_len : 1);
	if (!fs->init_req || fd < 0) {
		state_fail(r, "fs: no device or out of memory");
		return r->err;
	}
	memcpy(fs->init_req, init, fs->init_len);
	/* The device is adopted, not mounted; the kept INIT request marks
	 * the new session initialised (the kernel refuses its answer). */
	snprintf(dev, sizeof(dev), "/dev/fd/%d", fd);
	if (fuse_session_mount(fs->se, dev) != 0) {
		state_fail(r, "fs: cannot adopt the device fd %d", fd);
		return r->err;
	}
	fs->mounted = fs->adopted = true;
	b.mem = malloc(fs->init_len);
	b.size = fs->init_len;
	if (!b.mem) {
		state_fail(r, "fs: out of memory");
		return r->err;
	}
	memcpy(b.mem, fs->init_req, fs->init_len);
	fuse_session_process_buf(fs->se, &b);
	free(b.mem);
	if (memcmp(&saved, &fs->conn, sizeof(saved)) != 0)
		log_error("upgrade: the connection negotiated differs from the "
			  "one serving");
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		state_fail(r, "fs: device fd: %s", strerror(errno));
	slots_load(fs->sl, r);
	handle_set_load(fs->hs, &hs, r);
	state_leave(r);
	if (r->err)
		return r->err;
	fs->io = loop_io_add(fs->loop, fd, EPOLLIN, fs_readable, fs);
	if (!fs->io)
		state_fail(r, "fs: watch the device: %s", strerror(errno));
	return r->err;
}

void fs_resumed(struct fs *fs, uint64_t pause_usec)
{
	int fd = fuse_session_fd(fs->se), rc;
	const uint64_t *kh;
	size_t n, i;

	slots_resume(fs->sl);
	if (!fs->no_resend &&
	    fusewire_init_resend(fs->init_req, fs->init_len)) {
		rc = fusewire_notify_resend(fd);
		if (rc < 0)
			log_error("upgrade: FUSE_NOTIFY_RESEND: %s",
				  strerror(-rc));
	}
	kh = handle_set_polls(fs->hs, &n);
	for (i = 0; i < n; i++) {
		rc = fusewire_notify_poll(fd, kh[i]);
		if (rc < 0 && rc != -ENOENT)
			log_warn("upgrade: FUSE_NOTIFY_POLL: %s",
				 strerror(-rc));
	}
	fs_upgrade_result(fs, "ok", "", pause_usec);
	log_info("upgrade: serving after %llu us, %zu requests to come back, "
		 "%zu poll waiters woken",
		 (unsigned long long)pause_usec, handle_set_awaited(fs->hs), n);
}
