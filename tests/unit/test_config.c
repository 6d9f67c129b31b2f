/*
 * test_config: defaults, every key with good and bad values, sizes,
 * durations, -o style keys, env entries, and loading files (good, bad value,
 * unknown key, syntax error, long line, missing, the shipped etc/spawnfs.ini).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"

#include "spawnfs/config.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define KIB	 1024ULL
#define MIB	 (1024 * KIB)
#define GIB	 (1024 * MIB)

/* Per test: a config holding the defaults, a temp file and a message. */
struct fx {
	struct cfg c;
	char path[64];
	char err[CFG_ERR_MAX];
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (cfg_defaults(&f->c)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	if (f->path[0])
		unlink(f->path);
	cfg_free(&f->c);
	free(f);
	return 0;
}

static void check_has(const char *s, const char *sub)
{
	if (!strstr(s, sub))
		fail_msg("\"%s\" does not contain \"%s\"", s, sub);
}

static void check_prefix(const char *s, const char *pre)
{
	if (strncmp(s, pre, strlen(pre)))
		fail_msg("\"%s\" does not start with \"%s\"", s, pre);
}

/* Every field as the header documents its default. */
static void check_defaults(const struct cfg *c)
{
	assert_non_null(c->shell);
	assert_string_equal(c->shell, "/bin/sh");
	assert_int_equal(c->max_processes, 1024);
	assert_int_equal(c->kill_grace_ms, 2000);
	assert_int_equal(c->reap_after_ms, 0);
	assert_int_equal(c->reap_new_ms, 60000);
	assert_int_equal(c->buffer_size, 256 * KIB);
	assert_int_equal(c->pipe_size, 64 * KIB);
	assert_int_equal(c->drain_timeout_ms, 1000);
	assert_int_equal(c->stall_timeout_ms, 0);
	assert_int_equal(c->process_mode, 0700);
	assert_int_equal(c->busy_poll_us, 50);
	assert_int_equal(c->log_level, CFG_LOG_INFO);
	assert_non_null(c->env);
	assert_null(c->env[0]);
	assert_int_equal(c->nenv, 0);
}

/* Write text[0..len) to a fresh file under /tmp, named in f->path. */
static void write_bytes(struct fx *f, const char *text, size_t len)
{
	size_t done = 0;
	int fd;

	if (f->path[0])
		unlink(f->path);
	strcpy(f->path, "/tmp/spawnfs-cfg-XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	while (done < len) {
		ssize_t n = write(fd, text + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		assert_true(n > 0);
		done += (size_t)n;
	}
	assert_int_equal(close(fd), 0);
}

static void write_file(struct fx *f, const char *text)
{
	write_bytes(f, text, strlen(text));
}

static int load_text(struct fx *f, const char *text)
{
	write_file(f, text);
	f->err[0] = '\0';
	return cfg_load_file(&f->c, f->path, f->err, sizeof(f->err));
}

static void test_defaults(void **state)
{
	struct fx *f = *state;

	check_defaults(&f->c);
}

static void test_free_reuse(void **state)
{
	struct fx *f = *state;

	assert_int_equal(cfg_set(&f->c, "env", "A", "1", 0, NULL, 0), 0);
	cfg_free(&f->c);
	assert_null(f->c.shell);
	assert_null(f->c.env);
	assert_int_equal(f->c.nenv, 0);
	cfg_free(&f->c);
	cfg_free(NULL);
	assert_int_equal(cfg_defaults(&f->c), 0);
	check_defaults(&f->c);
}

struct size_case {
	const char *s;
	int rc;
	size_t want;
};

static void test_parse_size(void **state)
{
	static const struct size_case cases[] = {
		{"0", 0, 0},
		{"4096", 0, 4096},
		{"007", 0, 7},
		{"1K", 0, KIB},
		{"1k", 0, KIB},
		{"256K", 0, 256 * KIB},
		{"1M", 0, MIB},
		{"3m", 0, 3 * MIB},
		{"1G", 0, GIB},
		{"2g", 0, 2 * GIB},
		{"18446744073709551615", 0, SIZE_MAX},
		{"16777215G", 0, 16777215 * GIB},
		{"18446744073709551616", -EINVAL, 0},
		{"99999999999999999999999", -EINVAL, 0},
		{"17179869184G", -EINVAL, 0},
		{"18014398509481984K", -EINVAL, 0},
		{"", -EINVAL, 0},
		{"K", -EINVAL, 0},
		{"12Q", -EINVAL, 0},
		{"1.5M", -EINVAL, 0},
		{"-1", -EINVAL, 0},
		{"+1", -EINVAL, 0},
		{" 1", -EINVAL, 0},
		{"1 ", -EINVAL, 0},
		{"1 K", -EINVAL, 0},
		{"1KB", -EINVAL, 0},
		{"1KiB", -EINVAL, 0},
		{"1T", -EINVAL, 0},
		{"0x10", -EINVAL, 0},
	};
	size_t i, out;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		out = 12345;
		if (cfg_parse_size(cases[i].s, &out) != cases[i].rc)
			fail_msg("size \"%s\": want rc %d", cases[i].s,
				 cases[i].rc);
		if (cases[i].rc == 0 && out != cases[i].want)
			fail_msg("size \"%s\": got %zu", cases[i].s, out);
		if (cases[i].rc != 0 && out != 12345)
			fail_msg("size \"%s\": output written on error",
				 cases[i].s);
	}
	assert_int_equal(cfg_parse_size(NULL, &out), -EINVAL);
}

struct ms_case {
	const char *s;
	bool secs;
	int rc;
	unsigned want;
};

static void test_parse_ms(void **state)
{
	static const struct ms_case cases[] = {
		{"1500ms", false, 0, 1500},
		{"1500ms", true, 0, 1500},
		{"2s", false, 0, 2000},
		{"0.5s", false, 0, 500},
		{"0.001s", false, 0, 1},
		{"1.25s", true, 0, 1250},
		{"1500", false, 0, 1500},
		{"2", true, 0, 2000},
		{"0.5", true, 0, 500},
		{"0", false, 0, 0},
		{"0", true, 0, 0},
		{"0ms", false, 0, 0},
		{"2m", false, 0, 120000},
		{"1.5h", false, 0, 5400000},
		{"24h", false, 0, 86400000},
		{"86400s", false, 0, 86400000},
		{"86400", true, 0, 86400000},
		{"86400000", false, 0, 86400000},
		{"86400000ms", true, 0, 86400000},
		{"86400001", false, -EINVAL, 0},
		{"86401", true, -EINVAL, 0},
		{"86400.001s", false, -EINVAL, 0},
		{"25h", false, -EINVAL, 0},
		{"99999999999999999999999s", false, -EINVAL, 0},
		{"1.5ms", false, -EINVAL, 0},
		{"0.0001s", false, -EINVAL, 0},
		{"1.5", false, -EINVAL, 0},
		{"0.1234567891s", false, -EINVAL, 0},
		{"", false, -EINVAL, 0},
		{"s", false, -EINVAL, 0},
		{"ms", true, -EINVAL, 0},
		{"-1s", false, -EINVAL, 0},
		{"-1", true, -EINVAL, 0},
		{"+1s", false, -EINVAL, 0},
		{"1.s", false, -EINVAL, 0},
		{".5s", false, -EINVAL, 0},
		{"1,5s", false, -EINVAL, 0},
		{"2 s", false, -EINVAL, 0},
		{" 2s", false, -EINVAL, 0},
		{"2S", false, -EINVAL, 0},
		{"2sec", false, -EINVAL, 0},
		{"2d", false, -EINVAL, 0},
		{"1e3", false, -EINVAL, 0},
		{"abc", false, -EINVAL, 0},
	};
	size_t i;
	unsigned out;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		out = 777;
		if (cfg_parse_ms(cases[i].s, cases[i].secs, &out) !=
		    cases[i].rc)
			fail_msg("duration \"%s\" (%s): want rc %d", cases[i].s,
				 cases[i].secs ? "s" : "ms", cases[i].rc);
		if (cases[i].rc == 0 && out != cases[i].want)
			fail_msg("duration \"%s\": got %u", cases[i].s, out);
		if (cases[i].rc != 0 && out != 777)
			fail_msg("duration \"%s\": output written on error",
				 cases[i].s);
	}
	assert_int_equal(cfg_parse_ms(NULL, false, &out), -EINVAL);
}

/* A numeric field, read back by offset. */
static unsigned long long field(const struct cfg *c, size_t off, bool sz)
{
	const char *p = (const char *)c + off;

	if (sz)
		return *(const size_t *)(const void *)p;
	return *(const unsigned *)(const void *)p;
}

struct num_case {
	const char *section, *key, *value;
	size_t off;
	bool sz;
	unsigned long long want;
};

#define U(f) offsetof(struct cfg, f), false
#define Z(f) offsetof(struct cfg, f), true

static const struct num_case good_nums[] = {
	{"process", "max_processes", "1", U(max_processes), 1},
	{"process", "max_processes", "42", U(max_processes), 42},
	{"process", "max_processes", "1000000", U(max_processes), 1000000},
	{"process", "kill_grace", "0", U(kill_grace_ms), 0},
	{"process", "kill_grace", "250", U(kill_grace_ms), 250},
	{"process", "kill_grace", "250ms", U(kill_grace_ms), 250},
	{"process", "kill_grace", "3s", U(kill_grace_ms), 3000},
	{"process", "kill_grace", "24h", U(kill_grace_ms), 86400000},
	{"process", "reap_after", "0", U(reap_after_ms), 0},
	{"process", "reap_after", "10", U(reap_after_ms), 10000},
	{"process", "reap_after", "1.5", U(reap_after_ms), 1500},
	{"process", "reap_after", "10m", U(reap_after_ms), 600000},
	{"process", "reap_after", "500ms", U(reap_after_ms), 500},
	{"process", "reap_new_after", "0", U(reap_new_ms), 0},
	{"process", "reap_new_after", "300ms", U(reap_new_ms), 300},
	{"process", "reap_new_after", "60", U(reap_new_ms), 60000},
	{"stream", "buffer_size", "4K", Z(buffer_size), 4 * KIB},
	{"stream", "buffer_size", "4096", Z(buffer_size), 4096},
	{"stream", "buffer_size", "300k", Z(buffer_size), 300 * KIB},
	{"stream", "buffer_size", "1G", Z(buffer_size), GIB},
	{"stream", "buffer_size", "1024M", Z(buffer_size), GIB},
	{"stream", "pipe_size", "4K", Z(pipe_size), 4 * KIB},
	{"stream", "pipe_size", "5000", Z(pipe_size), 5000},
	{"stream", "pipe_size", "1M", Z(pipe_size), MIB},
	{"stream", "pipe_size", "1024k", Z(pipe_size), MIB},
	{"stream", "drain_timeout", "0", U(drain_timeout_ms), 0},
	{"stream", "drain_timeout", "1500", U(drain_timeout_ms), 1500},
	{"stream", "drain_timeout", "2s", U(drain_timeout_ms), 2000},
	{"stream", "stall_timeout", "5000", U(stall_timeout_ms), 5000},
	{"stream", "stall_timeout", "0.25s", U(stall_timeout_ms), 250},
	{"stream", "stall_timeout", "0", U(stall_timeout_ms), 0},
	{"mount", "process_mode", "0755", U(process_mode), 0755},
	{"mount", "process_mode", "750", U(process_mode), 0750},
	{"mount", "process_mode", "07777", U(process_mode), 07777},
	{"mount", "process_mode", "0", U(process_mode), 0},
	{"mount", "busy_poll", "20us", U(busy_poll_us), 20},
	{"mount", "busy_poll", "1000", U(busy_poll_us), 1000},
	{"mount", "busy_poll", "0", U(busy_poll_us), 0},
	{"mount", "busy_poll", "off", U(busy_poll_us), 0},
};

static void test_set_numbers(void **state)
{
	struct fx *f = *state;
	size_t i;

	for (i = 0; i < NELEM(good_nums); i++) {
		const struct num_case *t = &good_nums[i];
		int rc;

		rc = cfg_set(&f->c, t->section, t->key, t->value, 3, f->err,
			     sizeof(f->err));
		if (rc)
			fail_msg("[%s] %s = %s: rc %d: %s", t->section, t->key,
				 t->value, rc, f->err);
		if (field(&f->c, t->off, t->sz) != t->want)
			fail_msg("[%s] %s = %s: got %llu", t->section, t->key,
				 t->value, field(&f->c, t->off, t->sz));
	}
}

static void test_set_shell_level(void **state)
{
	static const char *const levels[] = {"error", "warn", "info", "debug"};
	struct fx *f = *state;
	size_t i;

	assert_int_equal(cfg_set(&f->c, "process", "shell", "/bin/bash", 1,
				 f->err, sizeof(f->err)),
			 0);
	assert_string_equal(f->c.shell, "/bin/bash");
	assert_int_equal(cfg_set(&f->c, "process", "shell", "/opt/my sh", 1,
				 f->err, sizeof(f->err)),
			 0);
	assert_string_equal(f->c.shell, "/opt/my sh");
	assert_string_equal(f->c.pty_term, "xterm-256color");
	assert_int_equal(cfg_set(&f->c, "process", "pty_term", "screen.xterm+1",
				 1, f->err, sizeof(f->err)),
			 0);
	assert_string_equal(f->c.pty_term, "screen.xterm+1");
	for (i = 0; i < NELEM(levels); i++) {
		assert_int_equal(cfg_set(&f->c, "log", "level", levels[i], 1,
					 f->err, sizeof(f->err)),
				 0);
		assert_int_equal(f->c.log_level, (int)i);
	}
	assert_int_equal(CFG_LOG_DEBUG, 3);
}

struct bad_case {
	const char *section, *key, *value;
};

static const struct bad_case bad_values[] = {
	{"process", "shell", ""},
	{"process", "shell", "sh"},
	{"process", "shell", "./sh"},
	{"process", "shell", "~/bin/sh"},
	{"process", "pty_term", ""},
	{"process", "pty_term", "xterm 256"},
	{"process", "pty_term", "vt100;rm"},
	{"process", "max_processes", "0"},
	{"process", "max_processes", "1000001"},
	{"process", "max_processes", "4294967296"},
	{"process", "max_processes", "-1"},
	{"process", "max_processes", "1e3"},
	{"process", "max_processes", "12a"},
	{"process", "max_processes", "0x10"},
	{"process", "max_processes", ""},
	{"process", "kill_grace", "86401s"},
	{"process", "kill_grace", "-5"},
	{"process", "kill_grace", "abc"},
	{"process", "kill_grace", "2 s"},
	{"process", "reap_after", "86401"},
	{"process", "reap_after", "25h"},
	{"process", "reap_new_after", "25h"},
	{"process", "reap_after", "1d"},
	{"stream", "buffer_size", "12Q"},
	{"stream", "buffer_size", "4095"},
	{"stream", "buffer_size", "3K"},
	{"stream", "buffer_size", "1025M"},
	{"stream", "buffer_size", "2G"},
	{"stream", "buffer_size", "0"},
	{"stream", "buffer_size", "1G1"},
	{"stream", "pipe_size", "1K"},
	{"stream", "pipe_size", "4095"},
	{"stream", "pipe_size", "1025K"},
	{"stream", "pipe_size", "2M"},
	{"stream", "pipe_size", "99999999999999999999G"},
	{"stream", "drain_timeout", "soon"},
	{"stream", "drain_timeout", "86400001"},
	{"stream", "stall_timeout", "-1"},
	{"stream", "stall_timeout", "1.5ms"},
	{"mount", "process_mode", "010000"},
	{"mount", "process_mode", "0800"},
	{"mount", "process_mode", "0o700"},
	{"mount", "process_mode", "rwx"},
	{"mount", "process_mode", ""},
	{"mount", "process_mode", "-0700"},
	{"mount", "busy_poll", "1001us"},
	{"mount", "busy_poll", "us"},
	{"mount", "busy_poll", "50ms"},
	{"mount", "busy_poll", "-5"},
	{"mount", "busy_poll", ""},
	{"log", "level", "verbose"},
	{"log", "level", "INFO"},
	{"log", "level", "warning"},
	{"log", "level", ""},
};

/* Each bad value is refused, named with its key and line, and changes
 * nothing. */
static void test_set_bad_values(void **state)
{
	struct fx *f = *state;
	char want[128];
	size_t i;

	for (i = 0; i < NELEM(bad_values); i++) {
		const struct bad_case *t = &bad_values[i];
		int rc;

		f->err[0] = '\0';
		rc = cfg_set(&f->c, t->section, t->key, t->value, 9, f->err,
			     sizeof(f->err));
		if (rc != -EINVAL)
			fail_msg("[%s] %s = \"%s\": rc %d, want -EINVAL",
				 t->section, t->key, t->value, rc);
		snprintf(want, sizeof(want),
			 "line 9: key \"%s\": bad value \"%s\" (", t->key,
			 t->value);
		check_prefix(f->err, want);
		check_defaults(&f->c);
	}
}

static void test_message_format(void **state)
{
	struct fx *f = *state;

	assert_int_equal(cfg_set(&f->c, "stream", "buffer_size", "12Q", 7,
				 f->err, sizeof(f->err)),
			 -EINVAL);
	assert_string_equal(
		f->err,
		"line 7: key \"buffer_size\": bad value \"12Q\" (a size from 4K to 1G such as 256K)");
	assert_int_equal(cfg_set(&f->c, "stream", "buffer_size", "12Q", 0,
				 f->err, sizeof(f->err)),
			 -EINVAL);
	check_prefix(f->err, "key \"buffer_size\": bad value \"12Q\" (");
	assert_int_equal(cfg_set(&f->c, "stream", "buffer_size", "12Q", -1,
				 f->err, sizeof(f->err)),
			 -EINVAL);
	check_prefix(f->err, "key \"buffer_size\"");
}

/* A short buffer is cut and terminated; no buffer at all is fine. */
static void test_message_buffer(void **state)
{
	struct fx *f = *state;
	char small[10];

	memset(small, 'x', sizeof(small));
	assert_int_equal(
		cfg_set(&f->c, "log", "level", "loud", 3, small, sizeof(small)),
		-EINVAL);
	assert_string_equal(small, "line 3: k");
	memset(small, 'x', sizeof(small));
	assert_int_equal(
		cfg_set(&f->c, "log", "level", "loud", 0, small, sizeof(small)),
		-EINVAL);
	assert_string_equal(small, "key \"leve");
	assert_int_equal(cfg_set(&f->c, "log", "level", "loud", 3, NULL, 0),
			 -EINVAL);
	assert_int_equal(cfg_set(&f->c, "log", "level", "debug", 3, NULL, 0),
			 0);
	assert_int_equal(f->c.log_level, CFG_LOG_DEBUG);
	assert_int_equal(
		cfg_set(&f->c, "log", "level", NULL, 3, f->err, sizeof(f->err)),
		-EINVAL);
	check_has(f->err, "level");
}

static void test_unknown(void **state)
{
	struct fx *f = *state;

	assert_int_equal(cfg_set(&f->c, "stream", "bufer_size", "1M", 3, f->err,
				 sizeof(f->err)),
			 -EINVAL);
	assert_string_equal(
		f->err,
		"line 3: unknown key \"bufer_size\" in section [stream]");
	/* A real key, but in another section. */
	assert_int_equal(cfg_set(&f->c, "stream", "shell", "/bin/sh", 4, f->err,
				 sizeof(f->err)),
			 -EINVAL);
	assert_string_equal(
		f->err, "line 4: unknown key \"shell\" in section [stream]");
	assert_int_equal(cfg_set(&f->c, "Process", "shell", "/bin/sh", 5,
				 f->err, sizeof(f->err)),
			 -EINVAL);
	assert_string_equal(
		f->err, "line 5: unknown section [Process] (key \"shell\")");
	assert_int_equal(cfg_set(&f->c, "", "shell", "/bin/sh", 1, f->err,
				 sizeof(f->err)),
			 -EINVAL);
	check_prefix(f->err, "line 1: key \"shell\"");
	check_defaults(&f->c);
}

static void test_env(void **state)
{
	struct fx *f = *state;
	struct cfg *c = &f->c;

	assert_int_equal(cfg_set(c, "env", "FOO", "bar", 1, NULL, 0), 0);
	assert_int_equal(cfg_set(c, "env", "_b2", "x=y:z", 2, NULL, 0), 0);
	assert_int_equal(cfg_set(c, "env", "FO", "", 3, NULL, 0), 0);
	assert_int_equal(cfg_set(c, "env", "FOO", "baz", 4, NULL, 0), 0);
	assert_int_equal(c->nenv, 3);
	assert_string_equal(c->env[0], "FOO=baz");
	assert_string_equal(c->env[1], "_b2=x=y:z");
	assert_string_equal(c->env[2], "FO=");
	assert_null(c->env[3]);
}

static void test_env_bad_names(void **state)
{
	static const char *const names[] = {"",	   "1A",  "A-B",     "A B",
					    "A=B", "A.B", "\xc3\x84"};
	struct fx *f = *state;
	char want[64];
	size_t i;

	for (i = 0; i < NELEM(names); i++) {
		assert_int_equal(cfg_set(&f->c, "env", names[i], "v", 6, f->err,
					 sizeof(f->err)),
				 -EINVAL);
		snprintf(want, sizeof(want), "line 6: key \"%s\"", names[i]);
		check_prefix(f->err, want);
	}
	check_defaults(&f->c);
}

/* -o key=value: no section, "section.key" and "env.NAME" forms. */
static void test_opt_style(void **state)
{
	struct fx *f = *state;
	struct cfg *c = &f->c;

	assert_int_equal(cfg_set(c, NULL, "buffer_size", "1M", 0, f->err,
				 sizeof(f->err)),
			 0);
	assert_int_equal(c->buffer_size, MIB);
	assert_int_equal(cfg_set(c, NULL, "stream.pipe_size", "128K", 0, f->err,
				 sizeof(f->err)),
			 0);
	assert_int_equal(c->pipe_size, 128 * KIB);
	assert_int_equal(cfg_set(c, NULL, "level", "warn", 0, NULL, 0), 0);
	assert_int_equal(c->log_level, CFG_LOG_WARN);
	assert_int_equal(cfg_set(c, NULL, "shell", "/bin/dash", 0, NULL, 0), 0);
	assert_string_equal(c->shell, "/bin/dash");
	assert_int_equal(cfg_set(c, NULL, "reap_after", "30", 0, NULL, 0), 0);
	assert_int_equal(c->reap_after_ms, 30000);
	assert_int_equal(cfg_set(c, NULL, "process_mode", "0711", 0, NULL, 0),
			 0);
	assert_int_equal(c->process_mode, 0711);
	assert_int_equal(cfg_set(c, NULL, "env.LANG", "C.UTF-8", 0, NULL, 0),
			 0);
	assert_int_equal(cfg_set(c, NULL, "env.LANG", "C", 0, NULL, 0), 0);
	assert_int_equal(c->nenv, 1);
	assert_string_equal(c->env[0], "LANG=C");
	assert_null(c->env[1]);
}

static void test_opt_style_bad(void **state)
{
	static const struct bad_case cases[] = {
		{NULL, "nosuch", "1"},	     {NULL, "mount.buffer_size", "1M"},
		{NULL, "foo.level", "info"}, {NULL, ".level", "info"},
		{NULL, "env", "x"},	     {NULL, "kill_grace_ms", "5"},
	};
	struct fx *f = *state;
	char want[64];
	size_t i;

	for (i = 0; i < NELEM(cases); i++) {
		assert_int_equal(cfg_set(&f->c, NULL, cases[i].key,
					 cases[i].value, 0, f->err,
					 sizeof(f->err)),
				 -EINVAL);
		snprintf(want, sizeof(want), "unknown key \"%s\"",
			 cases[i].key);
		assert_string_equal(f->err, want);
	}
	assert_int_equal(
		cfg_set(&f->c, NULL, "env.1X", "v", 0, f->err, sizeof(f->err)),
		-EINVAL);
	check_prefix(f->err, "key \"env.1X\": ");
	assert_int_equal(
		cfg_set(&f->c, NULL, "env.", "v", 0, f->err, sizeof(f->err)),
		-EINVAL);
	check_prefix(f->err, "key \"env.\": ");
	assert_int_equal(cfg_set(&f->c, NULL, "buffer_size", "12Q", 0, f->err,
				 sizeof(f->err)),
			 -EINVAL);
	check_prefix(f->err, "key \"buffer_size\": bad value \"12Q\" (");
	assert_int_equal(cfg_set(&f->c, NULL, "stream.buffer_size", "1K", 0,
				 f->err, sizeof(f->err)),
			 -EINVAL);
	check_prefix(f->err, "key \"stream.buffer_size\": bad value \"1K\"");
	check_defaults(&f->c);
}

static const char good_file[] = "; spawnfs test\n"
				"# hash comment\n"
				"\n"
				"[process]\n"
				"shell = /bin/bash\n"
				"max_processes=10\n"
				"kill_grace = 5s ; inline comment\n"
				"reap_after = 60\n"
				"[stream]\n"
				"  buffer_size   =   1M\n"
				"pipe_size = 128k\n"
				"drain_timeout = 250\n"
				"stall_timeout = 3s\n"
				"[mount]\n"
				"process_mode = 0750\n"
				"[log]\n"
				"level = debug\n"
				"[env]\n"
				"LANG = C.UTF-8\n"
				"SEARCH = /a:/b\n"
				"LANG = en_US.UTF-8\n"
				"[process]\n"
				"max_processes = 11";

static void test_load_good(void **state)
{
	struct fx *f = *state;
	struct cfg *c = &f->c;

	assert_int_equal(load_text(f, good_file), 0);
	assert_string_equal(c->shell, "/bin/bash");
	assert_int_equal(c->max_processes, 11);
	assert_int_equal(c->kill_grace_ms, 5000);
	assert_int_equal(c->reap_after_ms, 60000);
	assert_int_equal(c->buffer_size, MIB);
	assert_int_equal(c->pipe_size, 128 * KIB);
	assert_int_equal(c->drain_timeout_ms, 250);
	assert_int_equal(c->stall_timeout_ms, 3000);
	assert_int_equal(c->process_mode, 0750);
	assert_int_equal(c->log_level, CFG_LOG_DEBUG);
	assert_int_equal(c->nenv, 2);
	assert_string_equal(c->env[0], "LANG=en_US.UTF-8");
	assert_string_equal(c->env[1], "SEARCH=/a:/b");
	assert_null(c->env[2]);
}

/* A file adds to what the config holds; CRLF line ends are fine. */
static void test_load_layers(void **state)
{
	struct fx *f = *state;
	struct cfg *c = &f->c;

	assert_int_equal(cfg_set(c, NULL, "max_processes", "7", 0, NULL, 0), 0);
	assert_int_equal(cfg_set(c, NULL, "env.KEEP", "1", 0, NULL, 0), 0);
	assert_int_equal(
		load_text(f,
			  "[stream]\r\npipe_size = 8K\r\n[env]\r\nNEW = 2\r\n"),
		0);
	assert_int_equal(c->max_processes, 7);
	assert_int_equal(c->pipe_size, 8 * KIB);
	assert_int_equal(c->nenv, 2);
	assert_string_equal(c->env[0], "KEEP=1");
	assert_string_equal(c->env[1], "NEW=2");
	assert_int_equal(load_text(f, ""), 0);
	assert_int_equal(c->max_processes, 7);
	assert_int_equal(c->nenv, 2);
}

/* The first bad line is named with the file and the key; nothing from the
 * file is applied. */
static void test_load_bad_value(void **state)
{
	struct fx *f = *state;
	char want[CFG_ERR_MAX];

	assert_int_equal(load_text(f, "[process]\n"
				      "max_processes = 5\n"
				      "; comment\n"
				      "\n"
				      "[stream]\n"
				      "pipe_size = 8K\n"
				      "buffer_size = 12Q\n"
				      "drain_timeout = nonsense\n"
				      "[nope]\n"
				      "x = 1\n"),
			 -EINVAL);
	snprintf(want, sizeof(want),
		 "%s: line 7: key \"buffer_size\": bad value \"12Q\" (a size",
		 f->path);
	check_prefix(f->err, want);
	check_defaults(&f->c);
}

static void test_load_unknown(void **state)
{
	struct fx *f = *state;
	char want[CFG_ERR_MAX];

	assert_int_equal(load_text(f, "[stream]\n"
				      "buffer_size = 1M\n"
				      "\n"
				      "bufer_size = 1M\n"),
			 -EINVAL);
	snprintf(want, sizeof(want),
		 "%s: line 4: unknown key \"bufer_size\" in section [stream]",
		 f->path);
	assert_string_equal(f->err, want);

	assert_int_equal(load_text(f, "[log]\n[foo]\nx = 1\n"), -EINVAL);
	snprintf(want, sizeof(want),
		 "%s: line 3: unknown section [foo] (key \"x\")", f->path);
	assert_string_equal(f->err, want);

	assert_int_equal(load_text(f, "; top\nshell = /bin/sh\n"), -EINVAL);
	snprintf(want, sizeof(want), "%s: line 2: key \"shell\"", f->path);
	check_prefix(f->err, want);
	check_defaults(&f->c);
}

struct syntax_case {
	const char *text;
	int line;
};

static void test_load_syntax(void **state)
{
	static const struct syntax_case cases[] = {
		{"[process\nshell = /bin/sh\n", 1},
		{"[process]\nshell /bin/sh\n", 2},
		{"[log]\nlevel = info\n\njust words\nlevel = bogus\n", 4},
		{"[log]\nlevel = debug\n[stream\nbuffer_size = 1M\n", 3},
	};
	struct fx *f = *state;
	char want[CFG_ERR_MAX];
	size_t i;

	for (i = 0; i < NELEM(cases); i++) {
		assert_int_equal(load_text(f, cases[i].text), -EINVAL);
		snprintf(want, sizeof(want), "%s: line %d: syntax error",
			 f->path, cases[i].line);
		assert_string_equal(f->err, want);
		check_defaults(&f->c);
	}
	/* A bad value before a syntax error is the first error. */
	assert_int_equal(load_text(f, "[log]\nlevel = bogus\n[broken\n"),
			 -EINVAL);
	snprintf(want, sizeof(want), "%s: line 2: key \"level\"", f->path);
	check_prefix(f->err, want);
}

/* inih holds 198 characters a line; a longer one is refused, not split. */
static void test_load_long_line(void **state)
{
	struct fx *f = *state;
	char text[400], want[CFG_ERR_MAX];

	snprintf(text, sizeof(text), "[env]\nX=%0196d\n", 0);
	assert_int_equal(strlen(text), 6 + 198 + 1);
	assert_int_equal(load_text(f, text), 0);
	assert_int_equal(f->c.nenv, 1);
	assert_int_equal(strlen(f->c.env[0]), 198);

	snprintf(text, sizeof(text), "[env]\nY=%0197d\nZ=1\n", 0);
	assert_int_equal(load_text(f, text), -EINVAL);
	snprintf(want, sizeof(want), "%s: line 2: line too long", f->path);
	check_prefix(f->err, want);
	assert_int_equal(f->c.nenv, 1);
}

/*
 * A NUL byte is refused with its line. It used to hide the length of a line
 * from the long-line check, so the rest of a too-long line was read as a
 * line of its own and applied.
 */
static void test_load_nul_byte(void **state)
{
	struct fx *f = *state;
	static const char head[] = "[process]\nshell = /bin/sh"; /* NUL kept */
	static const char tail[] = "max_processes = 3\n";
	static const char junk[] = "[log]\nlevel = debug\0junk\n";
	const size_t end2 = 10 + 199; /* line 2 fills one 199-byte read */
	char text[400], want[CFG_ERR_MAX];
	size_t n = sizeof(head);

	memcpy(text, head, n);
	memset(text + n, 'x', end2 - n);
	n = end2;
	memcpy(text + n, tail, sizeof(tail) - 1);
	n += sizeof(tail) - 1;
	write_bytes(f, text, n);
	assert_int_equal(cfg_load_file(&f->c, f->path, f->err, sizeof(f->err)),
			 -EINVAL);
	snprintf(want, sizeof(want), "%s: line 2: NUL byte", f->path);
	assert_string_equal(f->err, want);
	check_defaults(&f->c);

	write_bytes(f, junk, sizeof(junk) - 1);
	assert_int_equal(cfg_load_file(&f->c, f->path, f->err, sizeof(f->err)),
			 -EINVAL);
	snprintf(want, sizeof(want), "%s: line 2: NUL byte", f->path);
	assert_string_equal(f->err, want);
	check_defaults(&f->c);
}

static void test_load_missing(void **state)
{
	struct fx *f = *state;
	char want[CFG_ERR_MAX];

	write_file(f, "");
	unlink(f->path);
	assert_int_equal(cfg_load_file(&f->c, f->path, f->err, sizeof(f->err)),
			 -ENOENT);
	snprintf(want, sizeof(want), "%s: No such file or directory", f->path);
	assert_string_equal(f->err, want);
	assert_int_equal(cfg_load_file(&f->c, f->path, NULL, 0), -ENOENT);
	f->path[0] = '\0';
	check_defaults(&f->c);
}

static void test_load_directory(void **state)
{
	struct fx *f = *state;

	assert_int_equal(cfg_load_file(&f->c, "/tmp", f->err, sizeof(f->err)),
			 -EISDIR);
	check_prefix(f->err, "/tmp: ");
	check_defaults(&f->c);
}

/* One non-default value per key, to show the shipped file sets them all. */
static const struct bad_case others[] = {
	{"process", "shell", "/bin/false"}, {"process", "max_processes", "3"},
	{"process", "kill_grace", "1ms"},   {"process", "reap_after", "1"},
	{"stream", "buffer_size", "8K"},    {"stream", "pipe_size", "8K"},
	{"stream", "drain_timeout", "1ms"}, {"stream", "stall_timeout", "1ms"},
	{"mount", "process_mode", "0"},	    {"log", "level", "error"},
};

/* Every field differs from its default (so the table above is complete). */
static void check_changed(const struct cfg *c)
{
	assert_string_not_equal(c->shell, "/bin/sh");
	assert_int_not_equal(c->max_processes, 1024);
	assert_int_not_equal(c->kill_grace_ms, 2000);
	assert_int_not_equal(c->reap_after_ms, 0);
	assert_int_not_equal(c->buffer_size, 256 * KIB);
	assert_int_not_equal(c->pipe_size, 64 * KIB);
	assert_int_not_equal(c->drain_timeout_ms, 1000);
	assert_int_not_equal(c->stall_timeout_ms, 0);
	assert_int_not_equal(c->process_mode, 0700);
	assert_int_not_equal(c->log_level, CFG_LOG_INFO);
}

static void test_load_shipped(void **state)
{
	struct fx *f = *state;
	const char *dir = getenv("SPAWNFS_SOURCE_DIR");
	char path[4096];
	size_t i;

	if (!dir)
		skip();
	snprintf(path, sizeof(path), "%s/etc/spawnfs.ini", dir);
	assert_int_equal(cfg_load_file(&f->c, path, f->err, sizeof(f->err)), 0);
	check_defaults(&f->c);

	for (i = 0; i < NELEM(others); i++)
		assert_int_equal(cfg_set(&f->c, others[i].section,
					 others[i].key, others[i].value, 0,
					 NULL, 0),
				 0);
	check_changed(&f->c);
	assert_int_equal(cfg_load_file(&f->c, path, f->err, sizeof(f->err)), 0);
	check_defaults(&f->c);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_defaults),
		T(test_free_reuse),
		T(test_parse_size),
		T(test_parse_ms),
		T(test_set_numbers),
		T(test_set_shell_level),
		T(test_set_bad_values),
		T(test_message_format),
		T(test_message_buffer),
		T(test_unknown),
		T(test_env),
		T(test_env_bad_names),
		T(test_opt_style),
		T(test_opt_style_bad),
		T(test_load_good),
		T(test_load_layers),
		T(test_load_bad_value),
		T(test_load_unknown),
		T(test_load_syntax),
		T(test_load_long_line),
		T(test_load_nul_byte),
		T(test_load_missing),
		T(test_load_directory),
		T(test_load_shipped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
