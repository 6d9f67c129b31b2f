/*
 * events_speed: how fast the events log counts and renders output, against
 * memcpy of the same bytes in the same run. Every output byte a child
 * writes goes through events_output_len (nobody reads events) or
 * events_render_output, so each byte mix a child may write is timed on a
 * 64 KiB buffer: NUL bytes, newlines, Cyrillic, CJK and emoji text,
 * ANSI-coloured text, random bytes and ASCII log lines. Each figure is the
 * median of 5 runs, in GB/s of input, with its ratio to memcpy.
 *
 *   events_speed [avx2|sse2|scalar]
 *
 * times the path named, or the fastest this CPU runs when none is.
 *
 * A benchmark, not a test: it prints figures and never fails on time.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "spawnfs/events.h"

#define BUF_SIZE (64 * 1024)
#define RUNS	 5
#define MIN_NS	 20000000LL /* each run lasts at least 20 ms */

static unsigned char in[BUF_SIZE], out[BUF_SIZE];
static volatile size_t sink;

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static uint32_t lcg(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

/* Repeat text over the buffer, cut at a character boundary and padded
 * with spaces, so that it stays valid UTF-8. */
static void fill_text(const char *text)
{
	size_t len = strlen(text), n = 0;

	while (n + len <= BUF_SIZE) {
		memcpy(in + n, text, len);
		n += len;
	}
	memset(in + n, ' ', BUF_SIZE - n);
}

static void fill(const char *mix)
{
	uint32_t seed = 2026;
	size_t i;

	if (!strcmp(mix, "zeros")) {
		memset(in, 0, BUF_SIZE);
	} else if (!strcmp(mix, "newlines")) {
		memset(in, '\n', BUF_SIZE);
	} else if (!strcmp(mix, "cyrillic")) {
		fill_text("Съешь же ещё этих мягких французских булок, да "
			  "выпей чаю.\n");
	} else if (!strcmp(mix, "cjk")) {
		fill_text("我能吞下玻璃而不伤身体。私はガラスを食べられます。"
			  "\n");
	} else if (!strcmp(mix, "emoji")) {
		fill_text("😀😃😄😁 build ok ✅ 🚀🔥 tests 🎉\n");
	} else if (!strcmp(mix, "ansi")) {
		fill_text("\x1b[32mINFO\x1b[0m \x1b[1mworker\x1b[0m started "
			  "\x1b[33m(3 jobs)\x1b[0m\r\n");
	} else if (!strcmp(mix, "random")) {
		for (i = 0; i < BUF_SIZE; i++)
			in[i] = (unsigned char)lcg(&seed);
	} else {
		fill_text("2026-11-28T03:21:44.123Z INFO server: GET "
			  "/api/v1/items?page=2 200 1.42ms\n");
	}
}

enum what { MEMCPY, COUNT, RENDER };

static void once(enum what w)
{
	const struct timespec t = {1795836104, 123456789};
	struct jbuf b;

	switch (w) {
	case MEMCPY:
		memcpy(out, in, BUF_SIZE);
		sink += out[BUF_SIZE / 2];
		break;
	case COUNT:
		sink += events_output_len(1234567, &t, "stdout", in, BUF_SIZE);
		break;
	case RENDER:
		/* a fresh buffer per line, as the events feed does */
		jbuf_init(&b);
		events_render_output(&b, 1234567, &t, "stdout", in, BUF_SIZE);
		sink += b.len;
		jbuf_free(&b);
		break;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* GB/s of input, the median of RUNS runs. */
static double speed(enum what w)
{
	double gbps[RUNS];
	long long t0, dt, iters;
	int r;

	for (r = 0; r < RUNS; r++) {
		t0 = now_ns();
		iters = 0;
		do {
			once(w);
			iters++;
			dt = now_ns() - t0;
		} while (dt < MIN_NS);
		gbps[r] = (double)iters * BUF_SIZE / (double)dt;
	}
	qsort(gbps, RUNS, sizeof(gbps[0]), cmp_double);
	return gbps[RUNS / 2];
}

/* The path named on the command line; -1 when none is. */
static int path_arg(const char *name)
{
	static const char *const names[] = {
		[JSCAN_PATH_AVX2] = "avx2",
		[JSCAN_PATH_SSE2] = "sse2",
		[JSCAN_PATH_SCALAR] = "scalar",
	};
	size_t k;

	for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		if (names[k] && !strcmp(name, names[k]))
			return (int)k;
	return -1;
}

int main(int argc, char **argv)
{
	static const char *const mixes[] = {"zeros",  "newlines", "cyrillic",
					    "cjk",    "emoji",	  "ansi",
					    "random", "log"};
	int path = JSCAN_PATH_AUTO;
	size_t i;

	if (argc > 2 || (argc == 2 && (path = path_arg(argv[1])) < 0)) {
		fprintf(stderr, "usage: events_speed [avx2|sse2|scalar]\n");
		return 2;
	}
	if (jscan_force_path((enum jscan_path)path) < 0) {
		fprintf(stderr, "events_speed: no %s path here\n", argv[1]);
		return 1;
	}
	printf("| 64 KiB of | memcpy GB/s | events_output_len GB/s (x memcpy) "
	       "| events_render_output GB/s (x memcpy) |\n|---|---|---|---|\n");
	for (i = 0; i < sizeof(mixes) / sizeof(mixes[0]); i++) {
		double m, c, r;

		fill(mixes[i]);
		m = speed(MEMCPY);
		c = speed(COUNT);
		r = speed(RENDER);
		printf("| %s | %.1f | %.2f (%.3fx) | %.2f (%.3fx) |\n",
		       mixes[i], m, c, c / m, r, r / m);
	}
	return 0;
}
