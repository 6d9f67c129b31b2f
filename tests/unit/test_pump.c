/*
 * pump: back-pressure through the real loop and a real pipe. With no
 * reader the pump reads until the log holds buffer_size unread bytes,
 * then stops reading (paused) and the writer blocks on its full pipe;
 * a reader that takes the bytes lets it go on; every byte arrives once,
 * in order, and end of file closes the pipe.
 */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawnfs/config.h"
#include "spawnfs/evfeed.h"
#include "spawnfs/loop.h"
#include "spawnfs/pump.h"
#include "spawnfs/stream.h"

#define CAP   (64 * 1024)
#define TOTAL (512 * 1024)

/* A child writing TOTAL bytes (byte i is i % 251) into fd, then exit. */
static pid_t writer(int fd)
{
	static unsigned char buf[TOTAL];
	pid_t pid = fork();
	size_t i, off = 0;
	ssize_t n;

	assert_true(pid >= 0);
	if (pid)
		return pid;
	for (i = 0; i < TOTAL; i++)
		buf[i] = (unsigned char)(i % 251);
	while (off < TOTAL) {
		n = write(fd, buf + off, TOTAL - off);
		if (n < 0 && errno != EINTR)
			_exit(1);
		off += n > 0 ? (size_t)n : 0;
	}
	_exit(0);
}

static void test_backpressure_then_every_byte(void **state)
{
	static const struct pump_hooks hooks;
	struct stream *logs[LOGS_N];
	struct stream_reader *r;
	struct iovec iov[2];
	struct loop *l = loop_new();
	struct evfeed *feed;
	struct pump *pm;
	struct cfg cfg;
	uint64_t got = 0, t0;
	int p[2], out, i, cnt, st;
	size_t n, k;
	pid_t pid;

	(void)state;
	assert_int_equal(cfg_defaults(&cfg), 0);
	cfg.buffer_size = CAP;
	for (i = 0; i < LOGS_N; i++) {
		logs[i] = stream_new(CAP);
		assert_non_null(logs[i]);
	}
	stream_set_lines(logs[LOGS_EVENTS]);
	feed = evfeed_new(logs[LOGS_EVENTS], logs, CAP / 16, true);
	pm = pump_new(l, &cfg, logs, feed, "t", &hooks, NULL);
	assert_non_null(pm);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(fcntl(p[0], F_SETFL, O_NONBLOCK), 0); /* ours only */
	pid = writer(p[1]);
	close(p[1]);
	out = p[0];
	i = -1;
	assert_int_equal(pump_attach(pm, &out, &i), 0);
	assert_int_equal(out, -1);
	pump_update(pm);
	/* Nobody reads: the log fills to its size, then the pipe waits. */
	t0 = loop_now_ms();
	while (stream_head(logs[LOGS_STDOUT]) < CAP) {
		assert_true(loop_now_ms() - t0 < 10000);
		test_run_for(l, 5);
	}
	assert_int_equal(stream_head(logs[LOGS_STDOUT]), CAP);
	assert_true(pump_paused(pm));
	test_run_for(l, 100);
	assert_int_equal(stream_head(logs[LOGS_STDOUT]), CAP); /* flat */
	assert_int_equal(waitpid(pid, &st, WNOHANG), 0);       /* it waits */
	/* A reader takes what is there, and the writer goes on. */
	r = stream_reader_new(logs[LOGS_STDOUT], NULL, NULL, 0);
	assert_non_null(r);
	t0 = loop_now_ms();
	while (got < TOTAL && (pump_open(pm) || stream_readable(r, got))) {
		if (loop_now_ms() - t0 >= 10000)
			fail_msg("stuck at %llu, open %d head %llu",
				 (unsigned long long)got, pump_open(pm),
				 (unsigned long long)stream_head(
					 logs[LOGS_STDOUT]));
		if (stream_read(r, got, CAP, 0, iov, &cnt, &n) == 0 && n) {
			for (i = 0, k = 0; i < cnt; i++) {
				const unsigned char *b = iov[i].iov_base;
				size_t j;

				for (j = 0; j < iov[i].iov_len; j++, k++)
					assert_int_equal(b[j], (got + k) % 251);
			}
			got += n;
			pump_update(pm);
			continue;
		}
		test_run_for(l, 5);
	}
	assert_int_equal(got, TOTAL);
	while (pump_open(pm)) { /* end of file closes the pipe */
		assert_true(loop_now_ms() - t0 < 10000);
		test_run_for(l, 5);
	}
	assert_true(stream_finished(logs[LOGS_STDOUT]));
	assert_false(pump_paused(pm));
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	stream_reader_free(r);
	pump_free(pm);
	evfeed_free(feed);
	for (i = 0; i < LOGS_N; i++)
		stream_free(logs[i]);
	cfg_free(&cfg);
	loop_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backpressure_then_every_byte),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
