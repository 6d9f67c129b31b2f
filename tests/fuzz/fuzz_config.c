/*
 * fuzz_config: arbitrary bytes as a configuration file and as single
 * settings.
 *
 * The whole input is written to one memfd and read with cfg_load_file
 * through /proc/self/fd/N, onto the defaults; a success must leave every
 * field in its documented range and loading the same file again must change
 * nothing, a failure must leave the defaults untouched and say why. A line
 * too long for inih, or a NUL byte, must always be refused.
 *
 * The input is also cut at NUL bytes into section, key and value for
 * cfg_set (two parts: no section, as for -o), and each part goes through
 * cfg_parse_size and cfg_parse_ms, compared with a straightforward model.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "spawnfs/config.h"

#include "fuzz.h"

#define DAY_MS	      86400000ULL
#define INI_READ_SIZE 200 /* inih's line buffer, NUL included */
#define MAX_PARTS     3

/* The file every input is written to; opened once per process. */
static int cfg_memfd = -1;

static bool fields_equal(const struct cfg *a, const struct cfg *b)
{
	size_t i;

	if (strcmp(a->shell, b->shell) ||
	    a->max_processes != b->max_processes ||
	    a->kill_grace_ms != b->kill_grace_ms ||
	    a->reap_after_ms != b->reap_after_ms ||
	    a->buffer_size != b->buffer_size || a->pipe_size != b->pipe_size ||
	    a->drain_timeout_ms != b->drain_timeout_ms ||
	    a->stall_timeout_ms != b->stall_timeout_ms ||
	    a->process_mode != b->process_mode ||
	    a->log_level != b->log_level || a->nenv != b->nenv)
		return false;
	for (i = 0; i < a->nenv; i++)
		if (strcmp(a->env[i], b->env[i]))
			return false;
	return true;
}

static bool env_entry_ok(const char *e)
{
	const char *p = e;

	if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
	      *p == '_'))
		return false;
	for (p++; *p && *p != '='; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return *p == '=';
}

/* Every field within what config.h and the key table allow. */
static void check_ranges(const struct cfg *c)
{
	size_t i, j;

	CHECK(c->shell && c->shell[0] == '/');
	CHECK(c->max_processes >= 1 && c->max_processes <= 1000000);
	CHECK(c->kill_grace_ms <= DAY_MS && c->reap_after_ms <= DAY_MS);
	CHECK(c->drain_timeout_ms <= DAY_MS && c->stall_timeout_ms <= DAY_MS);
	CHECK(c->buffer_size >= 4096 && c->buffer_size <= (1UL << 30));
	CHECK(c->pipe_size >= 4096 && c->pipe_size <= (1UL << 20));
	CHECK(c->process_mode <= 07777);
	CHECK(c->log_level >= CFG_LOG_ERROR && c->log_level <= CFG_LOG_DEBUG);
	CHECK(c->env && !c->env[c->nenv]);
	for (i = 0; i < c->nenv; i++) {
		size_t n = (size_t)(strchr(c->env[i], '=') - c->env[i]);

		CHECK(env_entry_ok(c->env[i]));
		for (j = 0; j < i; j++)
			CHECK(strncmp(c->env[i], c->env[j], n + 1));
	}
}

/* Some line is longer than inih can hold in one read (the last line may
 * fill the buffer when no newline follows it). */
static bool has_long_line(const uint8_t *data, size_t size)
{
	size_t start = 0, i;

	for (i = 0; i <= size; i++) {
		if (i < size && data[i] != '\n')
			continue;
		if (i - start >= INI_READ_SIZE - (i < size ? 1 : 0))
			return true;
		start = i + 1;
	}
	return false;
}

static void write_memfd(const uint8_t *data, size_t size)
{
	size_t done = 0;

	if (cfg_memfd < 0) {
		cfg_memfd = memfd_create("fuzz_config.ini", MFD_CLOEXEC);
		CHECK(cfg_memfd >= 0);
	}
	CHECK(ftruncate(cfg_memfd, 0) == 0);
	while (done < size) {
		ssize_t n = pwrite(cfg_memfd, data + done, size - done,
				   (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		CHECK(n > 0);
		done += (size_t)n;
	}
}

/* The same file loaded twice onto the defaults gives what once gave. */
static void check_reload(const char *path, const struct cfg *once)
{
	char err[CFG_ERR_MAX];
	struct cfg c;

	if (cfg_defaults(&c))
		return;
	if (cfg_load_file(&c, path, err, sizeof(err)) == 0 &&
	    cfg_load_file(&c, path, err, sizeof(err)) == 0)
		CHECK(fields_equal(&c, once));
	cfg_free(&c);
}

static void fuzz_file(const uint8_t *data, size_t size)
{
	struct cfg c, defaults;
	char path[64], err[CFG_ERR_MAX];
	int rc;

	write_memfd(data, size);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", cfg_memfd);
	if (cfg_defaults(&c))
		return;
	if (cfg_defaults(&defaults)) {
		cfg_free(&c);
		return;
	}
	err[0] = '\0';
	rc = cfg_load_file(&c, path, err, sizeof(err));
	CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMEM);
	CHECK(memchr(err, '\0', sizeof(err)));
	if (has_long_line(data, size) || memchr(data, '\0', size))
		CHECK(rc == -EINVAL);
	if (rc) {
		CHECK(err[0] && fields_equal(&c, &defaults));
	} else {
		check_ranges(&c);
		check_reload(path, &c);
	}
	cfg_free(&c);
	cfg_free(&defaults);
}

/* Digits at *s into *v, saturating at cap + 1; false without a digit. */
static bool model_digits(const char **s, unsigned long long cap,
			 unsigned __int128 *v, size_t *ndigits)
{
	const char *p = *s;

	*v = 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		*v = *v * 10 + (unsigned)(*p - '0');
		if (*v > cap)
			*v = (unsigned __int128)cap + 1;
	}
	*ndigits = (size_t)(p - *s);
	*s = p;
	return *ndigits > 0;
}

/* cfg_parse_size as config.h describes it (lower case suffixes too). */
static int model_size(const char *s, size_t *out)
{
	unsigned __int128 n, mult = 1;
	size_t nd;

	if (!model_digits(&s, UINT64_MAX, &n, &nd) || n > UINT64_MAX)
		return -EINVAL;
	if (*s == 'K' || *s == 'k')
		mult = 1ULL << 10;
	else if (*s == 'M' || *s == 'm')
		mult = 1ULL << 20;
	else if (*s == 'G' || *s == 'g')
		mult = 1ULL << 30;
	else if (*s)
		return -EINVAL;
	if (*s && s[1])
		return -EINVAL;
	if (n * mult > SIZE_MAX)
		return -EINVAL;
	*out = (size_t)(n * mult);
	return 0;
}

/* cfg_parse_ms: the exact value, which must be whole ms and at most a day
 * (up to 9 digits after the point). */
static int model_ms(const char *s, bool bare_is_seconds, unsigned *out)
{
	unsigned __int128 whole, frac = 0, scale = 1, unit, num;
	size_t nd, i;

	if (!model_digits(&s, DAY_MS, &whole, &nd))
		return -EINVAL;
	if (*s == '.') {
		s++;
		if (!model_digits(&s, UINT64_MAX, &frac, &nd) || nd > 9)
			return -EINVAL;
		for (i = 0; i < nd; i++)
			scale *= 10;
	}
	if (!*s)
		unit = bare_is_seconds ? 1000 : 1;
	else if (!strcmp(s, "ms"))
		unit = 1;
	else if (!strcmp(s, "s"))
		unit = 1000;
	else if (!strcmp(s, "m"))
		unit = 60000;
	else if (!strcmp(s, "h"))
		unit = 3600000;
	else
		return -EINVAL;
	num = (whole * scale + frac) * unit;
	if (num % scale || num / scale > DAY_MS)
		return -EINVAL;
	*out = (unsigned)(num / scale);
	return 0;
}

static void fuzz_parsers(const char *s)
{
	size_t size = 1, want_size = 2;
	unsigned ms = 1, want_ms = 2;
	int rc, want, bare;

	rc = cfg_parse_size(s, &size);
	want = model_size(s, &want_size);
	CHECK(rc == want && (rc || size == want_size));
	for (bare = 0; bare <= 1; bare++) {
		rc = cfg_parse_ms(s, bare, &ms);
		want = model_ms(s, bare, &want_ms);
		CHECK(rc == want && (rc || ms == want_ms));
	}
}

/* section NUL key NUL value, or key NUL value with no section (-o). The
 * input's length picks the message buffer's size, down to none. */
static void fuzz_set(const char **parts, size_t nparts, size_t size)
{
	static const size_t errlens[] = {0, 1, 8, 64, CFG_ERR_MAX};
	char err[CFG_ERR_MAX];
	size_t errlen = errlens[size % 5];
	struct cfg c, defaults;
	int rc;

	if (nparts < 2 || cfg_defaults(&c))
		return;
	if (cfg_defaults(&defaults)) {
		cfg_free(&c);
		return;
	}
	memset(err, 'x', sizeof(err));
	if (nparts == 2)
		rc = cfg_set(&c, NULL, parts[0], parts[1], (int)(size % 7) - 1,
			     errlen ? err : NULL, errlen);
	else
		rc = cfg_set(&c, parts[0], parts[1], parts[2],
			     (int)(size % 7) - 1, errlen ? err : NULL, errlen);
	CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMEM);
	if (errlen && rc)
		CHECK(memchr(err, '\0', errlen) && (errlen == 1 || err[0]));
	if (errlen < sizeof(err))
		CHECK(err[errlen] == 'x');
	if (rc)
		CHECK(fields_equal(&c, &defaults));
	check_ranges(&c);
	cfg_free(&c);
	cfg_free(&defaults);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *parts[MAX_PARTS];
	size_t nparts = 0, i;
	char *s;

	fuzz_file(data, size);
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	parts[nparts++] = s;
	for (i = 0; i < size && nparts < MAX_PARTS; i++)
		if (s[i] == '\0')
			parts[nparts++] = s + i + 1;
	for (i = 0; i < nparts; i++)
		fuzz_parsers(parts[i]);
	fuzz_set(parts, nparts, size);
	free(s);
	return 0;
}
