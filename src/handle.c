/*
 * handle: open files and the requests parked on them. A read or write
 * that must wait is parked in its handle's FIFO and answered in order
 * when the handle is woken; an interrupt only marks the parked request
 * (libfuse calls back with its lock held) and the loop answers it with
 * EINTR after dispatch. A ctl write waiting on its start is a command
 * already taken: an interrupt gives it HANDLE_CTL_GRACE_MS to get its own
 * answer (a start's result comes in milliseconds; a signal such as a
 * shell's SIGCHLD must not turn it into EINTR), and only a start that
 * hangs longer is answered EINTR, so ^C still frees the writer. Owns the
 * handles, their parked requests and the counts metrics shows; the slots and
 * their references are fs's.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "spawnfs/ctl.h"
#include "spawnfs/ctlrun.h"
#include "spawnfs/handle.h"
#include "spawnfs/idmap.h"
#include "spawnfs/log.h"
#include "spawnfs/loop.h"
#include "spawnfs/state.h"

/* How long an interrupted ctl write still waits for its start's result. */
#define HANDLE_CTL_GRACE_MS 1000

struct handle_park;

struct handle {
	struct handle_set *set;
	struct idmap_node byid;	    /* id: the kernel's fh, never reused */
	struct handle_group *group; /* the slot's handles; NULL: no slot */
	struct proc *p;		    /* borrowed: fs holds a reference */
	enum handle_type type;
	unsigned tag;
	struct stream_reader *rd;
	struct handle_park *parked; /* FIFO in arrival order */
	struct fuse_pollhandle *ph;
	uint64_t kh;	   /* the kernel's name of ph (FUSE_POLL's kh) */
	uint64_t next_off; /* where a sequential reader reads next */
	bool ready;	   /* on its set's ready list */
	struct handle *rprev, *rnext;
	struct ctl_session *ctl; /* a ctl file's writes and fail-stop */
	char *text;
	size_t len;
	struct handle *prev, *next;   /* the slot's handles */
	struct handle *gprev, *gnext; /* every handle */
};

/* A request waiting on its handle; which fields count depends on the
 * handle's type. */
struct handle_park {
	struct handle *h;
	fuse_req_t req;
	uint64_t unique; /* the request's, as the kernel numbered it */
	/* a log or wait read */
	uint64_t off;
	size_t size;
	/* a stdin write: a copy of its bytes */
	char *data;
	size_t len;
	/* a ctl write waiting on a start: the size to answer once it is
	 * done (its session keeps the lines after the start) */
	size_t ctl_size;
	bool intr;
	struct loop_timer grace; /* an interrupted ctl write's deadline */
	struct handle_park *next;
	struct handle_park *intr_next;
};

struct handle_set {
	struct ctlrun *ctlrun; /* what ctl lines do */
	struct loop *loop;
	struct handle *first;
	struct idmap byid;   /* every handle, by id */
	struct idmap groups; /* the handles of each slot, by slot id */
	uint64_t next_id;
	struct handle_park *intr;
	struct handle *ready, *ready_last; /* woken, to answer after dispatch */
	/* for metrics */
	uint64_t count, nparked, interrupts;
	uint64_t text_bytes;	     /* the texts open handles hold */
	uint64_t cur_unique, cur_kh; /* of the request being dispatched */
	/* after an upgrade in place: the requests that were parked (the
	 * kernel sends them again) and the poll handles to wake */
	uint64_t *resent;
	size_t nresent, resent_seen;
	uint64_t *polls;
	size_t npolls;
};

/* What each type does: answer a request now (true) or leave it waiting
 * (false), whether a read would not wait, and what poll reports. */
struct handle_ops {
	bool (*answer)(struct handle *h, struct handle_park *pk);
	bool (*ready)(const struct handle *h); /* NULL: always */
	bool pollin;
	unsigned pollout;
};

static bool log_answer(struct handle *h, struct handle_park *pk);
static bool log_ready(const struct handle *h);
static bool wait_answer(struct handle *h, struct handle_park *pk);
static bool wait_ready(const struct handle *h);
static bool stdin_answer(struct handle *h, struct handle_park *pk);
static bool ctl_resume(struct handle *h, struct handle_park *pk);
static void handle_run_ready(void *arg);
static void ready_del(struct handle *h);
static void wake_reader(void *h);

static const struct handle_ops type_ops[HANDLE_NTYPES] = {
	[HANDLE_TEXT] = {.pollin = true},
	[HANDLE_LOG] = {log_answer, log_ready, true, 0},
	[HANDLE_WAIT] = {wait_answer, wait_ready, true, 0},
	[HANDLE_STDIN] = {stdin_answer, NULL, false, POLLOUT | POLLWRNORM},
	[HANDLE_CTL] = {ctl_resume, NULL, true, POLLOUT | POLLWRNORM},
};

/* The open handles of one slot, made with its first and freed with its
 * last. */
struct handle_group {
	struct idmap_node node; /* the slot id */
	struct handle *first;
	unsigned count;
};

struct handle_set *handle_set_new(struct ctlrun *ctlrun, struct loop *loop)
{
	struct handle_set *set = calloc(1, sizeof(*set));

	if (!set)
		return NULL;
	if (idmap_init(&set->byid) < 0 || idmap_init(&set->groups) < 0) {
		idmap_fini(&set->byid);
		free(set);
		return NULL;
	}
	set->ctlrun = ctlrun;
	set->loop = loop;
	loop_after(loop, handle_run_ready, set);
	set->next_id = 1;
	return set;
}

void handle_set_free(struct handle_set *set)
{
	if (!set)
		return;
	loop_after(set->loop, NULL, NULL);
	free(set->resent);
	free(set->polls);
	idmap_fini(&set->byid);
	idmap_fini(&set->groups);
	free(set);
}

struct handle *handle_by_id(const struct handle_set *set, uint64_t id)
{
	struct idmap_node *n = idmap_get(&set->byid, id);

	return n ? container_of(n, struct handle, byid) : NULL;
}

static struct handle_group *group_of(const struct handle_set *set,
				     uint64_t slot)
{
	struct idmap_node *n = idmap_get(&set->groups, slot);

	return n ? container_of(n, struct handle_group, node) : NULL;
}

unsigned handle_slot_count(const struct handle_set *set, uint64_t slot)
{
	const struct handle_group *g = group_of(set, slot);

	return g ? g->count : 0;
}

uint64_t handle_id(const struct handle *h)
{
	return h->byid.id;
}

void handle_set_stopping(struct handle_set *set)
{
	if (set->ctlrun)
		set->ctlrun->stopping = true;
}

uint64_t handle_count(const struct handle_set *set)
{
	return set->count;
}

void handle_metrics(const struct handle_set *set, struct metrics_view *v)
{
	v->handles = set->count;
	v->parked = set->nparked;
	v->interrupts = set->interrupts;
	if (set->ctlrun)
		ctlrun_metrics(set->ctlrun, v);
}

/* Link h into its set and, with p, its slot's group (made for the
 * slot's first handle). 0 or -ENOMEM. */
static int handle_link(struct handle *h, uint64_t id)
{
	struct handle_set *set = h->set;
	struct handle_group *g = NULL;

	if (h->p) {
		g = group_of(set, proc_id(h->p));
		if (!g) {
			g = calloc(1, sizeof(*g));
			if (!g)
				return -ENOMEM;
			idmap_add(&set->groups, &g->node, proc_id(h->p));
		}
		g->count++;
		h->next = g->first;
		if (h->next)
			h->next->prev = h;
		g->first = h;
	}
	h->group = g;
	idmap_add(&set->byid, &h->byid, id);
	h->gnext = set->first;
	if (set->first)
		set->first->gprev = h;
	set->first = h;
	set->count++;
	return 0;
}

static void handle_unlink(struct handle *h)
{
	struct handle_set *set = h->set;
	struct handle_group *g = h->group;

	idmap_del(&set->byid, &h->byid);
	if (h->gprev)
		h->gprev->gnext = h->gnext;
	else
		set->first = h->gnext;
	if (h->gnext)
		h->gnext->gprev = h->gprev;
	set->count--;
	if (!g)
		return;
	if (h->prev)
		h->prev->next = h->next;
	else
		g->first = h->next;
	if (h->next)
		h->next->prev = h->prev;
	if (--g->count == 0) {
		idmap_del(&set->groups, &g->node);
		free(g);
	}
}

static void park_free(struct handle_park *pk)
{
	loop_timer_stop(&pk->grace);
	pk->h->set->nparked--;
	free(pk->data);
	free(pk);
}

/* Answer every parked request of h with err (end of the session). */
static void handle_flush(struct handle *h, int err)
{
	struct handle_park *pk;

	while ((pk = h->parked)) {
		h->parked = pk->next;
		fuse_reply_err(pk->req, err);
		park_free(pk);
	}
}

void handle_free(struct handle *h)
{
	if (!h)
		return;
	handle_flush(h, EINTR);
	ready_del(h);
	handle_unlink(h);
	stream_reader_free(h->rd);
	ctlrun_session_free(h->ctl);
	if (h->ph)
		fuse_pollhandle_destroy(h->ph);
	h->set->text_bytes -= h->len;
	free(h->text);
	free(h);
}

struct handle *handle_new(struct handle_set *set, struct proc *p,
			  enum handle_type type, unsigned tag, enum logs_id log)
{
	struct handle *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->set = set;
	h->p = p;
	h->type = type;
	h->tag = tag;
	if (handle_link(h, set->next_id++) < 0) {
		free(h);
		errno = ENOMEM;
		return NULL;
	}
	if (type == HANDLE_LOG)
		h->rd = stream_reader_new(proc_log(p, log), wake_reader, h,
					  loop_now_ms());
	if (type == HANDLE_CTL)
		h->ctl = ctlrun_session_new();
	if ((type == HANDLE_LOG && !h->rd) || (type == HANDLE_CTL && !h->ctl)) {
		handle_free(h);
		errno = ENOMEM;
		return NULL;
	}
	return h;
}

struct handle *handle_first(const struct handle_set *set)
{
	return set->first;
}

struct handle *handle_find(const struct handle_set *set, uint64_t id,
			   unsigned tag)
{
	const struct handle_group *g = group_of(set, id);
	struct handle *h;

	if (!g)
		return NULL;
	for (h = g->first; h; h = h->next)
		if (h->tag == tag)
			return h;
	return g->first;
}

struct proc *handle_proc(const struct handle *h)
{
	return h->p;
}

unsigned handle_tag(const struct handle *h)
{
	return h->tag;
}

void handle_set_text(struct handle *h, char *text, size_t len)
{
	h->set->text_bytes += len - h->len;
	free(h->text);
	h->text = text;
	h->len = len;
}

uint64_t handle_text_bytes(const struct handle_set *set)
{
	return set->text_bytes;
}

size_t handle_text_len(const struct handle *h)
{
	return h->len;
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

static bool log_answer(struct handle *h, struct handle_park *pk)
{
	struct iovec iov[2];
	size_t n;
	int cnt, rc;

	rc = stream_read(h->rd, pk->off, pk->size, loop_now_ms(), iov, &cnt,
			 &n);
	if (rc == -EAGAIN)
		return false;
	if (rc < 0)
		fuse_reply_err(pk->req, -rc);
	else if (n == 0)
		fuse_reply_buf(pk->req, NULL, 0);
	else
		fuse_reply_iov(pk->req, iov, cnt);
	h->next_off = pk->off + n;
	return true;
}

static bool log_ready(const struct handle *h)
{
	return stream_readable(h->rd, h->next_off);
}

static bool wait_answer(struct handle *h, struct handle_park *pk)
{
	char tmp[16];
	int st;

	if (!wait_ready(h))
		return false;
	st = proc_wait_status(h->p);
	/* No status once closed: end of file. */
	if (st < 0)
		fuse_reply_buf(pk->req, NULL, 0);
	else
		reply_text(pk->req, tmp,
			   (size_t)snprintf(tmp, sizeof(tmp), "%d\n", st),
			   (off_t)pk->off, pk->size);
	return true;
}

static bool wait_ready(const struct handle *h)
{
	return proc_wait_status(h->p) >= 0 || proc_closed(h->p);
}

static bool stdin_answer(struct handle *h, struct handle_park *pk)
{
	ssize_t w = proc_stdin_write(h->p, pk->data, pk->len);

	if (w == -EAGAIN)
		return false;
	if (w < 0)
		fuse_reply_err(pk->req, (int)-w);
	else
		fuse_reply_write(pk->req, (size_t)w);
	return true;
}

static void handle_interrupted(fuse_req_t req, void *data)
{
	struct handle_park *pk = data;
	struct handle_set *set = pk->h->set;

	(void)req;
	/* Called with libfuse's lock held: only mark, the loop answers. */
	if (pk->intr)
		return;
	pk->intr = true;
	pk->intr_next = set->intr;
	set->intr = pk;
}

static void ctl_grace_expired(void *arg);

/* Put pk (a copy of which the caller filled) at the end of h's FIFO. */
static void park(struct handle *h, const struct handle_park *tmpl)
{
	struct handle_park *pk = malloc(sizeof(*pk)), **pp;

	if (!pk) {
		free(tmpl->data);
		fuse_reply_err(tmpl->req, ENOMEM);
		return;
	}
	*pk = *tmpl;
	pk->h = h;
	pk->unique = h->set->cur_unique;
	pk->intr = false;
	loop_timer_init(&pk->grace, h->set->loop, ctl_grace_expired, pk);
	pk->next = pk->intr_next = NULL;
	for (pp = &h->parked; *pp; pp = &(*pp)->next)
		;
	*pp = pk;
	h->set->nparked++;
	fuse_req_interrupt_func(pk->req, handle_interrupted, pk);
}

/* A copy of n bytes of buf (at least one byte allocated), or NULL. */
static char *bytes_dup(const char *buf, size_t n)
{
	char *copy = malloc(n ? n : 1);

	if (copy)
		memcpy(copy, buf, n);
	return copy;
}

/* Answer h's parked requests in order while they can be answered. */
static void handle_drain(struct handle *h)
{
	const struct handle_ops *ops = &type_ops[h->type];
	struct handle_park *pk;

	if (!ops->answer)
		return;
	while ((pk = h->parked) && !pk->intr) {
		if (!ops->answer(h, pk))
			break;
		h->parked = pk->next;
		park_free(pk);
	}
}

static void ready_del(struct handle *h)
{
	struct handle_set *set = h->set;

	if (!h->ready)
		return;
	if (h->rprev)
		h->rprev->rnext = h->rnext;
	else
		set->ready = h->rnext;
	if (h->rnext)
		h->rnext->rprev = h->rprev;
	else
		set->ready_last = h->rprev;
	h->rprev = h->rnext = NULL;
	h->ready = false;
}

static bool handle_ready(const struct handle *h)
{
	const struct handle_ops *ops = &type_ops[h->type];

	return !ops->ready || ops->ready(h);
}

void handle_wake(struct handle *h)
{
	struct handle_set *set = h->set;

	if (h->ready)
		return;
	h->ready = true;
	h->rnext = NULL;
	h->rprev = set->ready_last;
	if (set->ready_last)
		set->ready_last->rnext = h;
	else
		set->ready = h;
	set->ready_last = h;
}

static void wake_reader(void *h)
{
	handle_wake(h);
}

/* Answer what the woken handles can answer, in the order they were
 * woken; answering may wake more (a closed stdin), which join the list. */
static void handle_run_ready(void *arg)
{
	struct handle_set *set = arg;
	struct handle *h;

	while ((h = set->ready)) {
		ready_del(h);
		handle_drain(h);
		if (h->ph && handle_ready(h)) {
			fuse_lowlevel_notify_poll(h->ph);
			fuse_pollhandle_destroy(h->ph);
			h->ph = NULL;
		}
	}
}

void handle_wake_slot(struct handle_set *set, uint64_t slot,
		      enum handle_type type)
{
	const struct handle_group *g = group_of(set, slot);
	struct handle *h;

	for (h = g ? g->first : NULL; h; h = h->next)
		if (h->type == type)
			handle_wake(h);
}

/* Take pk out of its handle's FIFO and answer it EINTR. */
static void park_interrupt(struct handle_park *pk)
{
	struct handle_park **pp;

	for (pp = &pk->h->parked; *pp != pk; pp = &(*pp)->next)
		;
	*pp = pk->next;
	/* An interrupted ctl write's later lines do not run. */
	if (pk->h->type == HANDLE_CTL)
		ctlrun_session_cancel(pk->h->ctl);
	fuse_reply_err(pk->req, EINTR);
	pk->h->set->interrupts++;
	park_free(pk);
}

static void ctl_grace_expired(void *arg)
{
	park_interrupt(arg);
}

void handle_answer_interrupts(struct handle_set *set)
{
	struct handle_park *pk;

	while ((pk = set->intr)) {
		set->intr = pk->intr_next;
		if (pk->h->type == HANDLE_CTL) {
			loop_timer_arm(&pk->grace, HANDLE_CTL_GRACE_MS);
			pk->intr = false; /* answered by its start */
			continue;
		}
		park_interrupt(pk);
	}
}

/* A log, wait or stdin request: answered now or parked (or EAGAIN). */
static void handle_request(struct handle *h, struct handle_park *pk, off_t off,
			   int flags)
{
	const struct handle_ops *ops = &type_ops[h->type];
	bool now;

	if (off < 0) {
		fuse_reply_err(pk->req, EINVAL);
		return;
	}
	/* A log read that would not wait is answered at once, even behind
	 * parked reads: those wait at or past the end, so it overtakes no
	 * byte (inside the window, never blocking). */
	now = !h->parked ||
	      (h->type == HANDLE_LOG && stream_readable(h->rd, (uint64_t)off));

	if (now && ops->answer(h, pk)) {
		if (h->p)
			proc_update(h->p);
		return;
	}
	/* Even a read that waits moved its reader to the end, which may be
	 * the room a paused child was waiting for. */
	if (h->p)
		proc_update(h->p);
	if (flags & O_NONBLOCK) {
		fuse_reply_err(pk->req, EAGAIN);
		return;
	}
	/* A stdin write's bytes were borrowed from the request: copy them. */
	if (h->type == HANDLE_STDIN) {
		pk->data = bytes_dup(pk->data, pk->len);
		if (!pk->data) {
			fuse_reply_err(pk->req, ENOMEM);
			return;
		}
	}
	park(h, pk);
}

void handle_read(struct handle *h, fuse_req_t req, size_t size, off_t off,
		 int flags)
{
	struct handle_park pk = {.h = h, .req = req, .size = size};

	if (h->type == HANDLE_TEXT || h->type == HANDLE_CTL) {
		reply_text(req, h->text, h->len, off, size);
		return;
	}
	pk.off = (uint64_t)off;
	handle_request(h, &pk, off, flags);
}

/* A ctl write parked on a start: once the start has its answer, run the
 * rest of its lines (the session keeps them) and answer the write. */
static bool ctl_resume(struct handle *h, struct handle_park *pk)
{
	int rc = ctlrun_resume(h->set->ctlrun, h->ctl, h->p);

	if (rc == -EINPROGRESS)
		return false;
	if (rc < 0)
		fuse_reply_err(pk->req, -rc);
	else
		fuse_reply_write(pk->req, pk->ctl_size);
	return true;
}

static void ctl_write(struct handle *h, fuse_req_t req, const char *buf,
		      size_t size)
{
	struct handle_park pk = {.h = h, .req = req, .ctl_size = size};
	int rc = ctlrun_write(h->set->ctlrun, h->ctl, h->p,
			      fuse_req_ctx(req)->uid, buf, size);

	if (rc == -EINPROGRESS)
		park(h, &pk);
	else if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_write(req, size);
}

void handle_write(struct handle *h, fuse_req_t req, const char *buf,
		  size_t size, off_t off, int flags)
{
	/* Borrowed until parked, when handle_request copies it. */
	struct handle_park pk = {
		.h = h, .req = req, .data = (char *)buf, .len = size};

	if (h->type == HANDLE_STDIN)
		handle_request(h, &pk, off, flags);
	else if (h->type == HANDLE_CTL)
		ctl_write(h, req, buf, size);
	else
		fuse_reply_err(req, EBADF);
}

void handle_poll(struct handle *h, fuse_req_t req, struct fuse_pollhandle *ph)
{
	const struct handle_ops *ops = &type_ops[h->type];
	unsigned revents = ops->pollout;

	if (ph) {
		if (h->ph)
			fuse_pollhandle_destroy(h->ph);
		h->ph = ph;
		h->kh = h->set->cur_kh;
	}
	if (ops->pollin && handle_ready(h))
		revents |= POLLIN | POLLRDNORM;
	fuse_reply_poll(req, revents);
}

void handle_set_request(struct handle_set *set, uint64_t unique, uint64_t kh)
{
	size_t i;

	set->cur_unique = unique;
	set->cur_kh = kh;
	if (!(unique & HANDLE_RESENT))
		return;
	for (i = 0; i < set->nresent; i++) {
		if (set->resent[i] != (unique & ~HANDLE_RESENT))
			continue;
		set->resent[i] = set->resent[--set->nresent];
		set->resent_seen++;
		if (set->nresent == 0)
			log_info("upgrade: all %zu parked requests came back",
				 set->resent_seen);
		return;
	}
}

/* ---- an upgrade in place ---- */

static unsigned handle_log(const struct handle *h)
{
	unsigned i;

	for (i = 0; h->rd && i < LOGS_N; i++)
		if (proc_log(h->p, i) == stream_reader_stream(h->rd))
			return i;
	return LOGS_N;
}

static void handle_save(const struct handle *h, struct state_w *w)
{
	const struct handle_park *pk;
	uint64_t n = 0;

	state_begin(w, STATE_HANDLE);
	state_u64(w, handle_id(h));
	state_u64(w, h->p ? proc_id(h->p) : UINT64_MAX);
	state_u64(w, h->type);
	state_u64(w, h->tag);
	state_u64(w, handle_log(h));
	if (h->rd)
		stream_reader_save(h->rd, w);
	state_u64(w, h->next_off);
	state_u64(w, h->ctl != NULL);
	if (h->ctl)
		ctlrun_session_save(h->ctl, w);
	state_bytes(w, h->text, h->len);
	state_u64(w, h->ph != NULL);
	state_u64(w, h->kh);
	for (pk = h->parked; pk; pk = pk->next)
		n++;
	state_u64(w, n);
	for (pk = h->parked; pk; pk = pk->next)
		state_u64(w, pk->unique);
	state_end(w);
}

void handle_set_save(const struct handle_set *set, struct state_w *w)
{
	const struct handle *h;

	state_begin(w, STATE_HANDLES);
	state_u64(w, set->next_id);
	state_u64(w, set->interrupts);
	state_u64(w, set->count);
	for (h = set->first; h; h = h->gnext)
		handle_save(h, w);
	state_end(w);
}

static bool id_push(uint64_t **v, size_t *n, uint64_t id)
{
	uint64_t *grown = realloc(*v, (*n + 1) * sizeof(**v));

	if (!grown)
		return false;
	*v = grown;
	(*v)[(*n)++] = id;
	return true;
}

static void handle_load(struct handle_set *set, const struct handle_slots *hs,
			struct state_r *r)
{
	struct handle *h;
	struct proc *p = NULL;
	uint64_t id, slot, n, i;
	unsigned log;
	const void *text;
	size_t len;
	bool polled;

	if (!state_enter(r, STATE_HANDLE))
		return;
	h = calloc(1, sizeof(*h));
	if (!h) {
		state_fail(r, "handle: out of memory");
		return;
	}
	id = state_get_u64(r);
	slot = state_get_u64(r);
	h->set = set;
	h->type = (enum handle_type)state_get_u64(r);
	h->tag = (unsigned)state_get_u64(r);
	log = (unsigned)state_get_u64(r);
	if (slot != UINT64_MAX && !r->err) {
		p = hs->find(hs->arg, slot);
		if (!p)
			state_fail(r, "handle %llu: no slot %llu",
				   (unsigned long long)id,
				   (unsigned long long)slot);
	}
	if (r->err || handle_by_id(set, id) || id >= set->next_id ||
	    h->type >= HANDLE_NTYPES ||
	    (h->type == HANDLE_LOG && (log >= LOGS_N || !p)) ||
	    handle_link((h->p = p, h), id) < 0) {
		state_fail(r, "handle %llu cannot be made again",
			   (unsigned long long)id);
		free(h);
		return;
	}
	if (p)
		hs->hold(hs->arg, p);
	if (h->type == HANDLE_LOG)
		h->rd = stream_reader_load(proc_log(p, log), wake_reader, h, r);
	h->next_off = state_get_u64(r);
	if (state_get_bool(r))
		h->ctl = ctlrun_session_load(r);
	text = state_get_bytes(r, &len);
	if (text && len) {
		char *copy = malloc(len);

		if (copy) {
			memcpy(copy, text, len);
			handle_set_text(h, copy, len);
		} else {
			state_fail(r, "handle: out of memory");
		}
	}
	polled = state_get_bool(r);
	h->kh = state_get_u64(r);
	if (polled && !id_push(&set->polls, &set->npolls, h->kh))
		state_fail(r, "handle: out of memory");
	n = state_get_u64(r);
	for (i = 0; i < n && !r->err; i++)
		if (!id_push(&set->resent, &set->nresent, state_get_u64(r)))
			state_fail(r, "handle: out of memory");
	state_leave(r);
	if (!r->err && ((h->type == HANDLE_LOG && !h->rd) ||
			(h->type == HANDLE_CTL && !h->ctl)))
		state_fail(r, "handle %llu: its reader or session is missing",
			   (unsigned long long)id);
}

int handle_set_load(struct handle_set *set, const struct handle_slots *hs,
		    struct state_r *r)
{
	uint64_t count, i;

	if (!state_enter(r, STATE_HANDLES))
		return r->err;
	set->next_id = state_get_u64(r);
	set->interrupts = state_get_u64(r);
	count = state_get_u64(r);
	for (i = 0; i < count && !r->err; i++)
		handle_load(set, hs, r);
	state_leave(r);
	return r->err;
}

const uint64_t *handle_set_polls(const struct handle_set *set, size_t *n)
{
	*n = set->npolls;
	return set->polls;
}

size_t handle_set_awaited(const struct handle_set *set)
{
	return set->nresent;
}

bool handle_set_parked_any(const struct handle_set *set)
{
	return set->nparked > 0;
}
