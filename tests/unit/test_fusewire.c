/* fusewire: the raw request facts an upgrade needs (unique, a poll's kh,
 * FUSE_HAS_RESEND in INIT) and the notifications' bytes on the wire. */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <linux/fuse.h>
#include <unistd.h>

#include "spawnfs/fusewire.h"

static void test_peek(void **unused)
{
	unsigned char buf[sizeof(struct fuse_in_header) +
			  sizeof(struct fuse_poll_in)];
	struct fuse_in_header in = {.len = sizeof(buf),
				    .opcode = FUSE_POLL,
				    .unique = (1ULL << 63) | 42};
	struct fuse_poll_in poll = {
		.fh = 7, .kh = 0xabc, .flags = FUSE_POLL_SCHEDULE_NOTIFY};
	struct fusewire_req rq;

	(void)unused;
	memcpy(buf, &in, sizeof(in));
	memcpy(buf + sizeof(in), &poll, sizeof(poll));
	assert_true(fusewire_peek(buf, sizeof(buf), &rq));
	assert_int_equal(rq.opcode, FUSE_POLL);
	assert_true(rq.unique == ((1ULL << 63) | 42));
	assert_int_equal(rq.kh, 0xabc);
	assert_false(rq.init);
	/* No notify asked: no kh to keep. */
	poll.flags = 0;
	memcpy(buf + sizeof(in), &poll, sizeof(poll));
	assert_true(fusewire_peek(buf, sizeof(buf), &rq));
	assert_int_equal(rq.kh, 0);
	assert_false(fusewire_peek(buf, sizeof(in) - 1, &rq));
}

static void test_init_resend(void **unused)
{
	unsigned char buf[sizeof(struct fuse_in_header) +
			  sizeof(struct fuse_init_in)];
	struct fuse_in_header in = {.opcode = FUSE_INIT};
	struct fuse_init_in init = {.major = 7, .minor = 41};
	struct fusewire_req rq;

	(void)unused;
	memcpy(buf, &in, sizeof(in));
	init.flags = FUSE_INIT_EXT;
	init.flags2 = 1u << 7;
	memcpy(buf + sizeof(in), &init, sizeof(init));
	assert_true(fusewire_init_resend(buf, sizeof(buf)));
	assert_true(fusewire_peek(buf, sizeof(buf), &rq));
	assert_true(rq.init);
	init.flags2 = 1u << 6;
	memcpy(buf + sizeof(in), &init, sizeof(init));
	assert_false(fusewire_init_resend(buf, sizeof(buf)));
	init.flags = 0; /* flags2 means nothing without FUSE_INIT_EXT */
	init.flags2 = 1u << 7;
	memcpy(buf + sizeof(in), &init, sizeof(init));
	assert_false(fusewire_init_resend(buf, sizeof(buf)));
	assert_false(fusewire_init_resend(buf, sizeof(in) + 4));
}

/* The bytes written: a header with the notify code, unique 0, and the
 * poll's kh after it. */
static void test_notify_bytes(void **unused)
{
	struct fuse_out_header out;
	struct fuse_notify_poll_wakeup_out arg;
	unsigned char got[64];
	int p[2];

	(void)unused;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(fusewire_notify_resend(p[1]), 0);
	assert_int_equal(read(p[0], got, sizeof(got)), sizeof(out));
	memcpy(&out, got, sizeof(out));
	assert_int_equal(out.len, sizeof(out));
	assert_int_equal(out.error, 7);
	assert_int_equal(out.unique, 0);
	assert_int_equal(fusewire_notify_poll(p[1], 99), 0);
	assert_int_equal(read(p[0], got, sizeof(got)),
			 sizeof(out) + sizeof(arg));
	memcpy(&out, got, sizeof(out));
	memcpy(&arg, got + sizeof(out), sizeof(arg));
	assert_int_equal(out.error, FUSE_NOTIFY_POLL);
	assert_int_equal(arg.kh, 99);
	close(p[0]);
	assert_int_equal(fusewire_notify_resend(p[1]), -EPIPE);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_peek),
		cmocka_unit_test(test_init_resend),
		cmocka_unit_test(test_notify_bytes),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
