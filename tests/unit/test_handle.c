/*
 * handle: open files named by ids (the kernel's fh) with O(1) lookup:
 * unique, never reused, found after the table grows, gone once freed;
 * the handles of each slot, counted and found by slot id; and, through a
 * reply sink wrapped at link time, the FIFO of parked reads answered
 * after the dispatch, EAGAIN, interrupts marked then answered EINTR, end
 * of file, and a parked read answered when its handle goes.
 */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>

#include "spawnfs/config.h"
#include "spawnfs/handle.h"
#include "spawnfs/loop.h"
#include "spawnfs/proc.h"

/* ---- the reply sink: libfuse's reply calls, wrapped at link time ---- */

struct reply {
	fuse_req_t req;
	int err; /* 0: data */
	char data[64];
	size_t len;
};

static struct reply replies[16];
static int nreplies;
static fuse_interrupt_func_t intr_func[16];
static void *intr_data[16];

static struct reply *reply_new(fuse_req_t req, int err)
{
	struct reply *r;

	assert_true(nreplies < 16);
	r = &replies[nreplies++];
	memset(r, 0, sizeof(*r));
	r->req = req;
	r->err = err;
	return r;
}

int __wrap_fuse_reply_err(fuse_req_t req, int err);
int __wrap_fuse_reply_err(fuse_req_t req, int err)
{
	reply_new(req, err);
	return 0;
}

int __wrap_fuse_reply_buf(fuse_req_t req, const char *buf, size_t size);
int __wrap_fuse_reply_buf(fuse_req_t req, const char *buf, size_t size)
{
	struct reply *r = reply_new(req, 0);

	assert_true(size <= sizeof(r->data));
	if (size)
		memcpy(r->data, buf, size);
	r->len = size;
	return 0;
}

int __wrap_fuse_reply_iov(fuse_req_t req, const struct iovec *iov, int count);
int __wrap_fuse_reply_iov(fuse_req_t req, const struct iovec *iov, int count)
{
	struct reply *r = reply_new(req, 0);
	int i;

	for (i = 0; i < count; i++) {
		assert_true(r->len + iov[i].iov_len <= sizeof(r->data));
		memcpy(r->data + r->len, iov[i].iov_base, iov[i].iov_len);
		r->len += iov[i].iov_len;
	}
	return 0;
}

void __wrap_fuse_req_interrupt_func(fuse_req_t req, fuse_interrupt_func_t func,
				    void *data);
void __wrap_fuse_req_interrupt_func(fuse_req_t req, fuse_interrupt_func_t func,
				    void *data)
{
	uintptr_t i = (uintptr_t)req;

	assert_true(i < 16);
	intr_func[i] = func;
	intr_data[i] = data;
}

/* A fake request: its number, never dereferenced by the sink. */
#define REQ(n) ((fuse_req_t)(uintptr_t)(n))

#define N 1000

static void test_ids_found_and_never_reused(void **state)
{
	struct loop *l = loop_new();
	struct handle_set *set = handle_set_new(NULL, l);
	struct handle *h[N];
	uint64_t id[N], last = 0;
	int i;

	(void)state;
	assert_non_null(set);
	for (i = 0; i < N; i++) {
		h[i] = handle_new(set, NULL, HANDLE_TEXT, 0, LOGS_STDOUT);
		assert_non_null(h[i]);
		id[i] = handle_id(h[i]);
		assert_true(id[i] > last); /* fresh, never 0 */
		last = id[i];
	}
	assert_int_equal(handle_count(set), N);
	for (i = 0; i < N; i++)
		assert_ptr_equal(handle_by_id(set, id[i]), h[i]);
	for (i = 0; i < N; i += 2)
		handle_free(h[i]);
	for (i = 0; i < N; i++)
		assert_ptr_equal(handle_by_id(set, id[i]), i % 2 ? h[i] : NULL);
	assert_null(handle_by_id(set, 0));
	assert_null(handle_by_id(set, last + 1));
	/* New handles never take a freed id. */
	for (i = 0; i < N; i += 2) {
		h[i] = handle_new(set, NULL, HANDLE_TEXT, 0, LOGS_STDOUT);
		assert_non_null(h[i]);
		assert_true(handle_id(h[i]) > last);
		last = handle_id(h[i]);
	}
	for (i = 0; i < N; i++)
		handle_free(h[i]);
	assert_int_equal(handle_count(set), 0);
	handle_set_free(set);
	loop_free(l);
}

static void test_slot_groups(void **state)
{
	static const struct proc_hooks hooks;
	struct loop *l = loop_new();
	struct handle_set *set = handle_set_new(NULL, l);
	struct proc_ctx *ctx;
	struct proc *a, *b;
	struct handle *ha1, *ha2, *hb;
	struct cfg cfg;

	(void)state;
	assert_int_equal(cfg_defaults(&cfg), 0);
	ctx = proc_ctx_new(l, &cfg, &hooks, NULL, NULL, NULL);
	assert_non_null(ctx);
	a = proc_new(ctx, "a", 1, 0, 0, NULL);
	b = proc_new(ctx, "b", 2, 0, 0, NULL);
	assert_non_null(a);
	assert_non_null(b);
	/* The handles of a slot are counted and found by slot id; a log
	 * handle reads its slot's log. */
	ha1 = handle_new(set, a, HANDLE_TEXT, 7, LOGS_STDOUT);
	ha2 = handle_new(set, a, HANDLE_LOG, 3, LOGS_STDOUT);
	hb = handle_new(set, b, HANDLE_WAIT, 5, LOGS_STDOUT);
	assert_non_null(ha1);
	assert_non_null(ha2);
	assert_non_null(hb);
	assert_int_equal(handle_slot_count(set, 1), 2);
	assert_int_equal(handle_slot_count(set, 2), 1);
	assert_int_equal(handle_slot_count(set, 3), 0);
	assert_ptr_equal(handle_find(set, 1, 7), ha1);
	assert_ptr_equal(handle_find(set, 1, 3), ha2);
	assert_non_null(handle_find(set, 1, 99)); /* any of the slot's */
	assert_ptr_equal(handle_find(set, 2, 99), hb);
	assert_null(handle_find(set, 3, 7));
	assert_ptr_equal(handle_proc(ha2), a);
	/* The last handle of a slot takes its group with it. */
	handle_free(ha1);
	handle_free(ha2);
	assert_int_equal(handle_slot_count(set, 1), 0);
	assert_null(handle_find(set, 1, 7));
	handle_wake_slot(set, 1, HANDLE_WAIT); /* nobody: nothing */
	handle_free(hb);
	assert_int_equal(handle_count(set), 0);
	proc_unref(a);
	proc_unref(b);
	proc_ctx_free(ctx);
	handle_set_free(set);
	cfg_free(&cfg);
	loop_free(l);
}

static void log_put(struct proc *p, const char *text)
{
	struct stream *s = proc_log(p, LOGS_STDOUT);
	struct timespec now = {0, 0};
	struct iovec iov[2];
	size_t n = strlen(text);

	assert_true(stream_reserve(s, n, iov) >= 1);
	assert_true(iov[0].iov_len >= n);
	memcpy(iov[0].iov_base, text, n);
	stream_commit(s, n, &now);
}

static void test_parked_reads_fifo_and_interrupts(void **state)
{
	static const struct proc_hooks hooks;
	struct loop *l = loop_new();
	struct handle_set *set = handle_set_new(NULL, l);
	struct metrics_view v;
	struct proc_ctx *ctx;
	struct handle *h;
	struct proc *p;
	struct cfg cfg;

	(void)state;
	nreplies = 0;
	assert_int_equal(cfg_defaults(&cfg), 0);
	ctx = proc_ctx_new(l, &cfg, &hooks, NULL, NULL, NULL);
	p = proc_new(ctx, "a", 1, 0, 0, NULL);
	assert_non_null(p);
	h = handle_new(set, p, HANDLE_LOG, 0, LOGS_STDOUT);
	assert_non_null(h);
	/* Nothing to read: both reads wait, in arrival order. */
	handle_read(h, REQ(1), 4, 0, 0);
	handle_read(h, REQ(2), 4, 4, 0);
	assert_int_equal(nreplies, 0);
	/* Bytes come: nothing is answered inside the commit... */
	log_put(p, "abcdefgh");
	assert_int_equal(nreplies, 0);
	/* ...but once the dispatch is over, in order. */
	test_run_for(l, 1);
	assert_int_equal(nreplies, 2);
	assert_ptr_equal(replies[0].req, REQ(1));
	assert_int_equal(replies[0].len, 4);
	assert_memory_equal(replies[0].data, "abcd", 4);
	assert_ptr_equal(replies[1].req, REQ(2));
	assert_memory_equal(replies[1].data, "efgh", 4);
	/* At the end: O_NONBLOCK gets EAGAIN at once. */
	handle_read(h, REQ(3), 4, 8, O_NONBLOCK);
	assert_int_equal(nreplies, 3);
	assert_int_equal(replies[2].err, EAGAIN);
	/* An interrupt only marks the parked read; the loop answers it. */
	handle_read(h, REQ(4), 4, 8, 0);
	handle_read(h, REQ(5), 4, 8, 0);
	assert_non_null(intr_func[4]);
	intr_func[4](REQ(4), intr_data[4]);
	assert_int_equal(nreplies, 3);
	handle_answer_interrupts(set);
	assert_int_equal(nreplies, 4);
	assert_ptr_equal(replies[3].req, REQ(4));
	assert_int_equal(replies[3].err, EINTR);
	handle_metrics(set, &v);
	assert_int_equal(v.interrupts, 1);
	assert_int_equal(v.parked, 1);
	/* The end of the log answers the other with end of file. */
	stream_finish(proc_log(p, LOGS_STDOUT));
	test_run_for(l, 1);
	assert_int_equal(nreplies, 5);
	assert_ptr_equal(replies[4].req, REQ(5));
	assert_int_equal(replies[4].err, 0);
	assert_int_equal(replies[4].len, 0);
	/* A read parked when the handle goes gets EINTR. */
	stream_reopen(proc_log(p, LOGS_STDOUT));
	handle_read(h, REQ(6), 4, 8, 0);
	handle_free(h);
	assert_int_equal(nreplies, 6);
	assert_int_equal(replies[5].err, EINTR);
	proc_unref(p);
	proc_ctx_free(ctx);
	handle_set_free(set);
	cfg_free(&cfg);
	loop_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ids_found_and_never_reused),
		cmocka_unit_test(test_slot_groups),
		cmocka_unit_test(test_parked_reads_fifo_and_interrupts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
