/*
 * fuzz_ctl: arbitrary bytes as one write to a ctl file. The write is cut
 * into lines with ctl_next_line and each line goes through ctl_parse_line,
 * ctl_split, ctl_signal_parse and ctl_parse_size; what each returns is
 * checked against the contract in ctl.h, and everything is freed.
 *
 * An input starting with 0xff is stretched first: the rest of it is
 * repeated, as one line, to a length just below, at or just above
 * CTL_LINE_MAX, so that the -E2BIG boundary is reached in every run, not
 * only when the fuzzer happens to grow an input past 64 KiB.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spawnfs/ctl.h"

#include "fuzz.h"

#define STRETCH_MARK   0xff
#define SHORT_LINE     4096 /* longer lines only go through the parser */
#define TIMEOUT_MAX_MS 31536000000L /* a year */

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool env_name_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!(c == '_' || (c >= '0' && c <= '9') ||
		      (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
			return false;
	}
	return true;
}

static bool seconds_ok(long ms)
{
	return ms >= 0 && ms <= TIMEOUT_MAX_MS;
}

static bool size_ok(unsigned cols, unsigned rows)
{
	return cols >= 1 && cols <= 65535 && rows >= 1 && rows <= 65535;
}

/* A vector from ctl_split or an exec line: argc words, then NULL. */
static void check_argv(char **argv, size_t argc)
{
	size_t i;

	CHECK(argv && argc <= CTL_ARGV_MAX);
	for (i = 0; i < argc; i++)
		CHECK(argv[i]);
	CHECK(!argv[argc]);
}

/* What a successful parse must hold, command by command. */
static void check_parsed(const struct ctl_line *l)
{
	switch (l->cmd) {
	case CTL_START:
		CHECK(l->arg && l->arg[0] && !blank(l->arg[0]) && !l->argv);
		break;
	case CTL_EXEC:
		CHECK(l->argc >= 1 && !l->arg);
		check_argv(l->argv, l->argc);
		break;
	case CTL_CWD:
	case CTL_USER:
		CHECK(l->arg && l->arg[0] && !l->argv);
		break;
	case CTL_ENV:
		CHECK(l->arg && strchr(l->arg, '='));
		CHECK(env_name_ok(l->arg,
				  (size_t)(strchr(l->arg, '=') - l->arg)));
		break;
	case CTL_UNSET:
		CHECK(l->arg && env_name_ok(l->arg, strlen(l->arg)));
		break;
	case CTL_STDIN:
		CHECK(l->num == 0 || l->num == 1);
		break;
	case CTL_PTY:
		CHECK(l->num == 0 ||
		      (l->num == 1 && size_ok(l->cols, l->rows)));
		break;
	case CTL_RESIZE:
		CHECK(size_ok(l->cols, l->rows));
		break;
	case CTL_TIMEOUT:
		CHECK(seconds_ok(l->ms));
		break;
	case CTL_STOP:
		CHECK(l->ms == -1 || seconds_ok(l->ms));
		break;
	case CTL_SIGNAL:
		CHECK(l->num >= 1 && l->num <= 64);
		break;
	case CTL_KILL:
	case CTL_EOF:
	case CTL_ENV_CLEAR:
	case CTL_FREEZE:
	case CTL_THAW:
		CHECK(!l->arg && !l->argv);
		break;
	case CTL_MEMORY: /* 0 is max: none */
		CHECK(l->value == 0 ||
		      (l->value >= 4096 && l->value <= (4ULL << 40)));
		break;
	case CTL_CPUS: /* thousandths of a CPU */
		CHECK(l->value == 0 || (l->value >= 10 && l->value <= 1024000));
		break;
	case CTL_PIDS:
		CHECK(l->value <= 4194304);
		break;
	case CTL_OUTPUT: /* 0 is pause */
		CHECK(l->value <= (4ULL << 40) && !l->arg && !l->argv);
		break;
	case CTL_RESTART:
		CHECK(l->num >= 0 && l->num <= 2);
		break;
	case CTL_RESTART_DELAY:
		CHECK(l->ms >= 1 && seconds_ok(l->ms));
		break;
	case CTL_RESTART_LIMIT:
		CHECK(l->num >= 1 && l->num <= 10000);
		CHECK(l->ms >= 1 && seconds_ok(l->ms));
		break;
	default:
		abort();
	}
}

static void fuzz_parse(const char *line, size_t len)
{
	struct ctl_line l;
	int rc;

	rc = ctl_parse_line(line, len, &l);
	if (len > CTL_LINE_MAX)
		CHECK(rc == -E2BIG);
	if (len > 0 && memchr(line, '\0', len) && len <= CTL_LINE_MAX)
		CHECK(rc == -EINVAL);
	CHECK(rc == 0 || rc == -EINVAL || rc == -E2BIG || rc == -ENOMEM);
	if (len > 0 && line[len - 1] == '\r' && len <= CTL_LINE_MAX)
		CHECK(rc == -EINVAL);
	if (rc == 0)
		check_parsed(&l);
	else
		CHECK(!l.arg && !l.argv && l.argc == 0);
	ctl_line_free(&l);
	CHECK(!l.arg && !l.argv);
}

static void fuzz_split(const char *s, size_t len)
{
	char **argv;
	size_t argc;
	int rc;

	rc = ctl_split(s, len, &argv, &argc);
	CHECK(rc == 0 || rc == -EINVAL || rc == -E2BIG || rc == -ENOMEM);
	if (rc == 0)
		check_argv(argv, argc);
	else
		CHECK(!argv && argc == 0);
	ctl_argv_free(argv);
}

/* The NUL-terminated helpers, on a copy of the line. */
static void fuzz_words(const char *line, size_t len)
{
	char *s = strndup(line, len);
	unsigned cols = 0, rows = 0;
	const char *name;
	int sig;

	if (!s)
		return;
	sig = ctl_signal_parse(s);
	CHECK(sig == -EINVAL || (sig >= 1 && sig <= 64));
	if (sig > 0) {
		name = ctl_signal_name(sig);
		CHECK(!name || ctl_signal_parse(name) == sig);
	}
	if (ctl_parse_size(s, &cols, &rows) == 0)
		CHECK(size_ok(cols, rows));
	free(s);
}

/* Every line of the write, as the ctl file handler sees it. */
static void fuzz_write(const char *buf, size_t size)
{
	const char *line;
	size_t pos = 0, len, prev = 0;

	while (ctl_next_line(buf, size, &pos, &line, &len)) {
		CHECK(line >= buf + prev && line + len <= buf + pos);
		CHECK(pos <= size && pos > prev);
		CHECK(len > 0 && !memchr(line, '\n', len));
		prev = pos;
		fuzz_parse(line, len);
		/* Long lines reach ctl_split through the parser already. */
		if (len <= SHORT_LINE) {
			fuzz_split(line, len);
			fuzz_words(line, len);
		}
	}
	CHECK(pos == size);
}

/* The input after its first two bytes, repeated to CTL_LINE_MAX - 8 to
 * CTL_LINE_MAX + 7 bytes (the second byte picks which), newlines blanked. */
static void fuzz_stretched(const uint8_t *data, size_t size)
{
	size_t n, i;
	char *buf;

	if (size < 2)
		return;
	n = CTL_LINE_MAX - 8 + data[1] % 16;
	data += 2;
	size -= 2;
	buf = malloc(n);
	if (!buf)
		return;
	if (size == 0) {
		memset(buf, 'a', n);
	} else {
		for (i = 0; i < n; i += size)
			memcpy(buf + i, data, n - i < size ? n - i : size);
	}
	/* One line, or thousands of short ones would make a slow input. */
	for (i = 0; i < n; i++)
		if (buf[i] == '\n')
			buf[i] = ' ';
	fuzz_write(buf, n);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 0 && data[0] == STRETCH_MARK)
		fuzz_stretched(data, size);
	else
		fuzz_write((const char *)data, size);
	return 0;
}
