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
#include <unistd.h>

#include <fuse_lowlevel.h>

#include "spawnfs/ctlrun.h"
#include "spawnfs/fs.h"
#include "spawnfs/handle.h"
#include "spawnfs/kind.h"
#include "spawnfs/log.h"
#include "spawnfs/metrics.h"
#include "spawnfs/mountinfo.h"
#include "spawnfs/proc.h"
#include "spawnfs/slots.h"

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
			reply_entry(req, fs, kind_ino(p, (enum kind_id)k), p);
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

/* Unmount by path only while the mount there is ours: after a lazy
 * unmount, or with another daemon mounted over ours, the path's mount is
 * someone else's. Ours then just loses its daemon and stays, covered,
 * until its own unmount. */
static void fs_unmount(struct fs *fs)
{
	int top = fs->mnt_id < 0 ? fs->mnt_id : fs_top_mount(fs);

	if (fs->mnt_id < 0 || top == fs->mnt_id) {
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
	free(fs->buf.mem);
	free(fs->mnt_path);
	free(fs);
}
