/*
 * test_ctl: the ctl line parser. Table-driven cases for the word splitter,
 * every command with good and bad arguments, the line iterator and the
 * signal table, plus random bytes through the parser for the sanitizers.
 */
#include "test.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spawnfs/ctl.h"

#define MAXW 6

/* ---- ctl_split ---- */

struct split_case {
	const char *in;
	size_t len;
	int rc;
	size_t argc;
	const char *w[MAXW];
};

#define SPLIT_OK(s, n, ...)         \
	{                           \
		s, LEN(s), 0, n,    \
		{                   \
			__VA_ARGS__ \
		}                   \
	}
#define SPLIT_ERR(s, e)          \
	{                        \
		s, LEN(s), e, 0, \
		{                \
			NULL     \
		}                \
	}

static const struct split_case split_cases[] = {
	SPLIT_OK("", 0, NULL),
	SPLIT_OK("  \t  ", 0, NULL),
	SPLIT_OK("a", 1, "a"),
	SPLIT_OK("a b  c", 3, "a", "b", "c"),
	SPLIT_OK("  lead trail  ", 2, "lead", "trail"),
	SPLIT_OK("a\tb", 2, "a", "b"),
	SPLIT_OK("a\rb c\r", 2, "a\rb", "c\r"),
	SPLIT_OK("a\nb", 1, "a\nb"),
	SPLIT_OK("'single quoted' x", 2, "single quoted", "x"),
	SPLIT_OK("'a\\b \"c\"'", 1, "a\\b \"c\""),
	SPLIT_OK("\"q \\\" \\\\ \\$ \\` \\n \\a\"", 1, "q \" \\ $ ` \\n \\a"),
	SPLIT_OK("a'b'\"c\"d", 1, "abcd"),
	SPLIT_OK("'' \"\"", 2, "", ""),
	SPLIT_OK("x '' y", 3, "x", "", "y"),
	SPLIT_OK("a\\ b", 1, "a b"),
	SPLIT_OK("\\'x \\\"y \\\\z", 3, "'x", "\"y", "\\z"),
	SPLIT_OK("\\a\\b", 1, "ab"),
	SPLIT_OK("\"it's\" 'say \"hi\"'", 2, "it's", "say \"hi\""),
	SPLIT_OK("$HOME `id` *", 3, "$HOME", "`id`", "*"),
	SPLIT_OK("h\xc3\xa9llo w\xc3\xb6rld", 2, "h\xc3\xa9llo",
		 "w\xc3\xb6rld"),
	SPLIT_OK("\"a b\"c' d'", 1, "a bc d"),
	SPLIT_ERR("'unterminated", -EINVAL),
	SPLIT_ERR("ok \"unterminated", -EINVAL),
	SPLIT_ERR("\"ends in backslash\\", -EINVAL),
	SPLIT_ERR("\"escaped quote\\\"", -EINVAL),
	SPLIT_ERR("trailing\\", -EINVAL),
	SPLIT_ERR("a'b", -EINVAL),
	SPLIT_ERR("a\0b", -EINVAL),
	SPLIT_ERR("'a\0b'", -EINVAL),
	SPLIT_ERR("\0", -EINVAL),
};

static void test_split_table(void **state)
{
	size_t i, k;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(split_cases); i++) {
		const struct split_case *c = &split_cases[i];
		char **argv = (char **)1;
		size_t argc = 99;
		int rc = ctl_split(c->in, c->len, &argv, &argc);

		EXPECT_INT(i, rc, c->rc);
		if (rc < 0) {
			EXPECT_INT(i, argv == NULL, 1);
			EXPECT_INT(i, argc, 0);
			continue;
		}
		EXPECT_INT(i, argc, c->argc);
		for (k = 0; k < argc; k++)
			EXPECT_STR(i, argv[k], c->w[k]);
		assert_null(argv[argc]);
		ctl_argv_free(argv);
	}
}

/* Only the first len bytes count, whatever follows. */
static void test_split_len(void **state)
{
	char **argv;
	size_t argc;

	(void)state;
	assert_int_equal(ctl_split("ab cd 'ef", 5, &argv, &argc), 0);
	assert_int_equal(argc, 2);
	assert_string_equal(argv[1], "cd");
	ctl_argv_free(argv);
	assert_int_equal(ctl_split(NULL, 0, &argv, &argc), 0);
	assert_int_equal(argc, 0);
	assert_null(argv[0]);
	ctl_argv_free(argv);
	ctl_argv_free(NULL);
}

/* Words are separate blocks, and any strdup'd vector frees the same way
 * (leaks show up under ASan and valgrind). */
static void test_argv_ownership(void **state)
{
	char **argv, **own = calloc(3, sizeof(char *));
	size_t argc;

	(void)state;
	assert_int_equal(ctl_split("a 'b c'", 7, &argv, &argc), 0);
	free(argv[0]);
	argv[0] = strdup("replaced");
	assert_non_null(argv[0]);
	assert_string_equal(argv[1], "b c");
	ctl_argv_free(argv);
	assert_non_null(own);
	own[0] = strdup("x");
	own[1] = strdup("y");
	ctl_argv_free(own);
}

/* prefix, then n times " " word */
static char *repeat_words(const char *prefix, size_t n, const char *word,
			  size_t *len)
{
	size_t pl = strlen(prefix), wl = strlen(word), i;
	char *s = malloc(pl + n * (wl + 1) + 1), *o;

	assert_non_null(s);
	memcpy(s, prefix, pl);
	o = s + pl;
	for (i = 0; i < n; i++) {
		*o++ = ' ';
		memcpy(o, word, wl);
		o += wl;
	}
	*o = '\0';
	*len = (size_t)(o - s);
	return s;
}

static void test_split_many(void **state)
{
	char **argv, word[32];
	size_t argc, len, i;
	char *s = malloc((CTL_ARGV_MAX + 1) * 8), *o = s;

	(void)state;
	assert_non_null(s);
	for (i = 0; i <= CTL_ARGV_MAX; i++)
		o += sprintf(o, "w%zu ", i);
	len = (size_t)(strstr(s, " w4096 ") - s);
	assert_int_equal(ctl_split(s, len, &argv, &argc), 0);
	assert_int_equal(argc, CTL_ARGV_MAX);
	for (i = 0; i < argc; i++) {
		snprintf(word, sizeof(word), "w%zu", i);
		assert_string_equal(argv[i], word);
	}
	assert_null(argv[argc]);
	ctl_argv_free(argv);
	assert_int_equal(ctl_split(s, (size_t)(o - s), &argv, &argc), -E2BIG);
	assert_null(argv);
	assert_int_equal(argc, 0);
	free(s);

	/* empty words count too */
	s = repeat_words("", CTL_ARGV_MAX, "''", &len);
	assert_int_equal(ctl_split(s, len, &argv, &argc), 0);
	assert_int_equal(argc, CTL_ARGV_MAX);
	assert_string_equal(argv[CTL_ARGV_MAX - 1], "");
	ctl_argv_free(argv);
	free(s);
	s = repeat_words("", CTL_ARGV_MAX + 1, "\"\"", &len);
	assert_int_equal(ctl_split(s, len, &argv, &argc), -E2BIG);
	free(s);
}

/* ---- ctl_parse_line ---- */

struct parse_case {
	const char *line;
	size_t len;
	int rc;
	enum ctl_cmd cmd;
	const char *arg; /* NULL: expect NULL */
	int num;
	long ms;
	unsigned cols, rows;
};

#define P_OK(s, c, a, n, m, co, ro)              \
	{                                        \
		s, LEN(s), 0, c, a, n, m, co, ro \
	}
#define P_ARG(s, c, a)		P_OK(s, c, a, 0, 0, 0, 0)
#define P_NUM(s, c, n)		P_OK(s, c, NULL, n, 0, 0, 0)
#define P_MS(s, c, m)		P_OK(s, c, NULL, 0, m, 0, 0)
#define P_SIZE(s, c, n, co, ro) P_OK(s, c, NULL, n, 0, co, ro)
#define P_ERR(s, e)                                       \
	{                                                 \
		s, LEN(s), e, CTL_START, NULL, 0, 0, 0, 0 \
	}

static const struct parse_case parse_cases[] = {
	/* start: the rest of the line, verbatim */
	P_ARG("start make -j4", CTL_START, "make -j4"),
	P_ARG("start   echo 'a  b' \"$X\"  ", CTL_START,
	      "echo 'a  b' \"$X\"  "),
	P_ARG("  start x", CTL_START, "x"),
	P_ARG("start\tls\t", CTL_START, "ls\t"),
	P_ARG("start echo \"unterminated", CTL_START, "echo \"unterminated"),
	P_ARG("start a\\", CTL_START, "a\\"),
	P_ERR("start ls\r", -EINVAL), /* a CRLF line end is refused */
	P_ERR("start", -EINVAL),
	P_ERR("start  \t ", -EINVAL),
	P_ERR("startx", -EINVAL),
	P_ERR("start a\0b", -EINVAL),
	/* cwd and user: one non-empty word */
	P_ARG("cwd /src/app", CTL_CWD, "/src/app"),
	P_ARG("cwd '/a b'", CTL_CWD, "/a b"),
	P_ARG("cwd /a\\ b", CTL_CWD, "/a b"),
	P_ERR("cwd", -EINVAL),
	P_ERR("cwd ''", -EINVAL),
	P_ERR("cwd a b", -EINVAL),
	P_ERR("cwd 'a", -EINVAL),
	P_ARG("user nobody", CTL_USER, "nobody"),
	P_ERR("user", -EINVAL),
	P_ERR("user \"\"", -EINVAL),
	P_ERR("user a b", -EINVAL),
	/* env and unset */
	P_ARG("env CFLAGS=-O2", CTL_ENV, "CFLAGS=-O2"),
	P_ARG("env _x9=", CTL_ENV, "_x9="),
	P_ARG("env A='b c'", CTL_ENV, "A=b c"),
	P_ARG("env A=b=c", CTL_ENV, "A=b=c"),
	P_ARG("env 'z=\"q\"'", CTL_ENV, "z=\"q\""),
	P_ERR("env", -EINVAL),
	P_NUM("env -", CTL_ENV_CLEAR, 0),
	P_NUM("  env\t'-' ", CTL_ENV_CLEAR, 0),
	P_ERR("env - x", -EINVAL),
	P_ERR("env --", -EINVAL),
	P_ERR("unset -", -EINVAL),
	P_ERR("env A", -EINVAL),
	P_ERR("env =x", -EINVAL),
	P_ERR("env 1A=x", -EINVAL),
	P_ERR("env A-B=1", -EINVAL),
	P_ERR("env A.B=1", -EINVAL),
	P_ERR("env A=1 B=2", -EINVAL),
	P_ERR("env 'A=1", -EINVAL),
	P_ARG("unset PATH", CTL_UNSET, "PATH"),
	P_ARG("unset _", CTL_UNSET, "_"),
	P_ERR("unset", -EINVAL),
	P_ERR("unset A=1", -EINVAL),
	P_ERR("unset 9", -EINVAL),
	P_ERR("unset A B", -EINVAL),
	P_ERR("unset ''", -EINVAL),
	/* stdin */
	P_NUM("stdin pipe", CTL_STDIN, 1),
	P_NUM("stdin null", CTL_STDIN, 0),
	P_NUM("stdin 'pipe'", CTL_STDIN, 1),
	P_ERR("stdin", -EINVAL),
	P_ERR("stdin PIPE", -EINVAL),
	P_ERR("stdin tty", -EINVAL),
	P_ERR("stdin pipe null", -EINVAL),
	/* pty and resize */
	P_SIZE("pty off", CTL_PTY, 0, 0, 0),
	P_SIZE("pty 80x24", CTL_PTY, 1, 80, 24),
	P_SIZE("pty 65535x1", CTL_PTY, 1, 65535, 1),
	P_SIZE("pty 080x024", CTL_PTY, 1, 80, 24),
	P_ERR("pty", -EINVAL),
	P_ERR("pty on", -EINVAL),
	P_ERR("pty OFF", -EINVAL),
	P_ERR("pty 0x24", -EINVAL),
	P_ERR("pty 80x0", -EINVAL),
	P_ERR("pty 65536x24", -EINVAL),
	P_ERR("pty 80X24", -EINVAL),
	P_ERR("pty 80x", -EINVAL),
	P_ERR("pty x24", -EINVAL),
	P_ERR("pty -80x24", -EINVAL),
	P_ERR("pty 80x24x1", -EINVAL),
	P_ERR("pty 80 x24", -EINVAL),
	P_ERR("pty 99999999999999999999x1", -EINVAL),
	P_SIZE("resize 132x43", CTL_RESIZE, 0, 132, 43),
	P_ERR("resize", -EINVAL),
	P_ERR("resize off", -EINVAL),
	P_ERR("resize 80x24 1", -EINVAL),
	/* timeout */
	P_MS("timeout 0", CTL_TIMEOUT, 0),
	P_MS("timeout 5", CTL_TIMEOUT, 5000),
	P_MS("timeout 007", CTL_TIMEOUT, 7000),
	P_MS("timeout 0.5", CTL_TIMEOUT, 500),
	P_MS("timeout .5", CTL_TIMEOUT, 500),
	P_MS("timeout 5.", CTL_TIMEOUT, 5000),
	P_MS("timeout 1.000", CTL_TIMEOUT, 1000),
	P_MS("timeout 1.2345", CTL_TIMEOUT, 1235),
	P_MS("timeout 0.0001", CTL_TIMEOUT, 1),
	P_MS("timeout 1.0000000000000000000001", CTL_TIMEOUT, 1001),
	P_MS("timeout 2.5000000000000000000000", CTL_TIMEOUT, 2500),
	P_MS("timeout 31536000", CTL_TIMEOUT, 31536000000L),
	P_MS("timeout 31536000.000", CTL_TIMEOUT, 31536000000L),
	P_ERR("timeout 31536000.0001", -EINVAL),
	P_ERR("timeout 31536001", -EINVAL),
	P_ERR("timeout 99999999999999999999999999", -EINVAL),
	P_ERR("timeout", -EINVAL),
	P_ERR("timeout -1", -EINVAL),
	P_ERR("timeout +1", -EINVAL),
	P_ERR("timeout 1e3", -EINVAL),
	P_ERR("timeout 0x10", -EINVAL),
	P_ERR("timeout .", -EINVAL),
	P_ERR("timeout 1.2.3", -EINVAL),
	P_ERR("timeout 1s", -EINVAL),
	P_ERR("timeout ' 1'", -EINVAL),
	P_ERR("timeout 1 2", -EINVAL),
	P_ERR("timeout inf", -EINVAL),
	/* signal */
	P_NUM("signal TERM", CTL_SIGNAL, 15),
	P_NUM("signal sigkill", CTL_SIGNAL, 9),
	P_NUM("signal 15", CTL_SIGNAL, 15),
	P_NUM("signal 64", CTL_SIGNAL, 64),
	P_ERR("signal", -EINVAL),
	P_ERR("signal 0", -EINVAL),
	P_ERR("signal 65", -EINVAL),
	P_ERR("signal BOGUS", -EINVAL),
	P_ERR("signal TERM KILL", -EINVAL),
	/* stop */
	P_MS("stop", CTL_STOP, -1),
	P_MS("stop  \t", CTL_STOP, -1),
	P_MS("stop 0", CTL_STOP, 0),
	P_MS("stop 2.5", CTL_STOP, 2500),
	P_ERR("stop x", -EINVAL),
	P_ERR("stop -1", -EINVAL),
	P_ERR("stop 1 2", -EINVAL),
	P_ERR("stop 31536001", -EINVAL),
	/* kill and eof */
	P_NUM("kill", CTL_KILL, 0),
	P_NUM("  kill  ", CTL_KILL, 0),
	P_ERR("kill now", -EINVAL),
	P_ERR("kill ''", -EINVAL),
	P_NUM("eof", CTL_EOF, 0),
	P_ERR("eof 1", -EINVAL),
	/* not commands */
	P_ERR("", -EINVAL),
	P_ERR("   ", -EINVAL),
	P_ERR("Start x", -EINVAL),
	P_ERR("KILL", -EINVAL),
	P_ERR("frobnicate", -EINVAL),
	P_ERR("kill\r", -EINVAL),
	P_ERR("start echo hi\r", -EINVAL),
	P_ERR("timeout 5\r", -EINVAL),
	P_ERR("exec a b\r", -EINVAL),
	P_ARG("start echo a\rb", CTL_START, "echo a\rb"),
	P_ERR("# comment", -EINVAL),
	P_ERR("'kill'", -EINVAL),
	P_ERR("kill\0", -EINVAL),
	P_ERR("\0kill", -EINVAL),
	/* restart policy */
	P_NUM("restart no", CTL_RESTART, 0),
	P_NUM("restart on-failure", CTL_RESTART, 1),
	P_NUM("restart always", CTL_RESTART, 2),
	P_ERR("restart", -EINVAL),
	P_ERR("restart sometimes", -EINVAL),
	P_ERR("restart always now", -EINVAL),
	P_MS("restart_delay 1s", CTL_RESTART_DELAY, 1000),
	P_MS("restart_delay 1.5", CTL_RESTART_DELAY, 1500),
	P_MS("restart_delay 250ms", CTL_RESTART_DELAY, 250),
	P_MS("restart_delay 0.5ms", CTL_RESTART_DELAY, 1),
	P_MS("restart_delay 2m", CTL_RESTART_DELAY, 120000),
	P_MS("restart_delay 1h", CTL_RESTART_DELAY, 3600000),
	P_ERR("restart_delay 0", -EINVAL),
	P_ERR("restart_delay 1d", -EINVAL),
	P_ERR("restart_delay s", -EINVAL),
	P_ERR("restart_delay -1s", -EINVAL),
	P_OK("restart_limit 5/10s", CTL_RESTART_LIMIT, NULL, 5, 10000, 0, 0),
	P_OK("restart_limit 1/500ms", CTL_RESTART_LIMIT, NULL, 1, 500, 0, 0),
	P_ERR("restart_limit 0/10s", -EINVAL),
	P_ERR("restart_limit 5", -EINVAL),
	P_ERR("restart_limit 5/", -EINVAL),
	P_ERR("restart_limit /10s", -EINVAL),
	P_ERR("restart_limit 10001/1s", -EINVAL),
};

/* The limit and freeze lines: the value each gives (0: max, none). */
static void test_parse_tree(void **state)
{
	static const struct {
		const char *line;
		int rc;
		enum ctl_cmd cmd;
		uint64_t value;
	} cases[] = {
		{"freeze", 0, CTL_FREEZE, 0},
		{"thaw", 0, CTL_THAW, 0},
		{"freeze now", -EINVAL, 0, 0},
		{"memory 4096", 0, CTL_MEMORY, 4096},
		{"memory 512M", 0, CTL_MEMORY, 512ULL << 20},
		{"memory 2g", 0, CTL_MEMORY, 2ULL << 30},
		{"memory 4T", 0, CTL_MEMORY, 4ULL << 40},
		{"memory max", 0, CTL_MEMORY, 0},
		{"memory 4095", -EINVAL, 0, 0},
		{"memory 5T", -EINVAL, 0, 0},
		{"memory 1MB", -EINVAL, 0, 0},
		{"memory 1X", -EINVAL, 0, 0},
		{"memory -1", -EINVAL, 0, 0},
		{"memory", -EINVAL, 0, 0},
		{"memory 99999999999999999999", -EINVAL, 0, 0},
		{"output pause", 0, CTL_OUTPUT, 0},
		{"output keep 1M", 0, CTL_OUTPUT, 1ULL << 20},
		{"output keep 65536", 0, CTL_OUTPUT, 65536},
		{"output keep", -EINVAL, 0, 0},
		{"output keep 1M 2M", -EINVAL, 0, 0},
		{"output pause 1M", -EINVAL, 0, 0},
		{"output drop", -EINVAL, 0, 0},
		{"output keep 0", -EINVAL, 0, 0},
		{"output keep 1Q", -EINVAL, 0, 0},
		{"cpus 0.5", 0, CTL_CPUS, 500},
		{"cpus 2", 0, CTL_CPUS, 2000},
		{"cpus .01", 0, CTL_CPUS, 10},
		{"cpus 1024", 0, CTL_CPUS, 1024000},
		{"cpus max", 0, CTL_CPUS, 0},
		{"cpus 0.009", -EINVAL, 0, 0},
		{"cpus 0", -EINVAL, 0, 0},
		{"cpus 1025", -EINVAL, 0, 0},
		{"cpus x", -EINVAL, 0, 0},
		{"pids 300", 0, CTL_PIDS, 300},
		{"pids max", 0, CTL_PIDS, 0},
		{"pids 0", -EINVAL, 0, 0},
		{"pids 4194305", -EINVAL, 0, 0},
		{"pids 1k", -EINVAL, 0, 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct ctl_line l;
		int rc = ctl_parse_line(cases[i].line, strlen(cases[i].line),
					&l);

		EXPECT_INT(i, rc, cases[i].rc);
		if (rc < 0)
			continue;
		EXPECT_INT(i, l.cmd, cases[i].cmd);
		EXPECT_INT(i, l.value == cases[i].value, 1);
		ctl_line_free(&l);
	}
}

static void test_parse_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(parse_cases); i++) {
		const struct parse_case *c = &parse_cases[i];
		struct ctl_line l;
		int rc = ctl_parse_line(c->line, c->len, &l);

		EXPECT_INT(i, rc, c->rc);
		if (rc < 0) {
			EXPECT_INT(i, l.arg == NULL && l.argv == NULL, 1);
			continue;
		}
		EXPECT_INT(i, l.cmd, c->cmd);
		if (c->arg)
			EXPECT_STR(i, l.arg, c->arg);
		else
			EXPECT_INT(i, l.arg == NULL, 1);
		EXPECT_INT(i, l.argv == NULL, 1);
		EXPECT_INT(i, l.num, c->num);
		EXPECT_INT(i, l.ms, c->ms);
		EXPECT_INT(i, l.cols, c->cols);
		EXPECT_INT(i, l.rows, c->rows);
		ctl_line_free(&l);
		assert_null(l.arg);
	}
}

struct exec_case {
	const char *line;
	int rc;
	size_t argc;
	const char *w[MAXW];
};

static const struct exec_case exec_cases[] = {
	{"exec sleep 100", 0, 2, {"sleep", "100"}},
	{"exec ls", 0, 1, {"ls"}},
	{"  exec\tls  -l  ", 0, 2, {"ls", "-l"}},
	{"exec 'my prog' \"a b\" c\\ d ''",
	 0,
	 4,
	 {"my prog", "a b", "c d", ""}},
	{"exec sh -c 'echo \"$HOME\"'", 0, 3, {"sh", "-c", "echo \"$HOME\""}},
	{"exec ''", 0, 1, {""}},
	{"exec", -EINVAL, 0, {NULL}},
	{"exec   ", -EINVAL, 0, {NULL}},
	{"exec 'x", -EINVAL, 0, {NULL}},
	{"exec x\\", -EINVAL, 0, {NULL}},
	{"Exec ls", -EINVAL, 0, {NULL}},
};

/* The command word, and whether it names a command (for the message
 * that names an unknown one). */
static void test_command_known(void **state)
{
	static const struct {
		const char *line;
		bool known;
		const char *word;
	} cases[] = {
		{"start ls", true, "start"},
		{"  env -", true, "env"},
		{"bogus x y", false, "bogus"},
		{"\tStart ls", false, "Start"},
		{"startx", false, "startx"},
		{"kill", true, "kill"},
		{"", false, ""},
		{"   ", false, ""},
	};
	const char *w;
	size_t i, n;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		bool k = ctl_command_known(cases[i].line, strlen(cases[i].line),
					   &w, &n);

		EXPECT_INT(i, k, cases[i].known);
		EXPECT_INT(i, n, strlen(cases[i].word));
		EXPECT_INT(i, memcmp(w, cases[i].word, n), 0);
	}
}

static void test_parse_exec(void **state)
{
	size_t i, k;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(exec_cases); i++) {
		const struct exec_case *c = &exec_cases[i];
		struct ctl_line l;
		int rc = ctl_parse_line(c->line, strlen(c->line), &l);

		EXPECT_INT(i, rc, c->rc);
		if (rc < 0) {
			EXPECT_INT(i, l.argv == NULL, 1);
			continue;
		}
		EXPECT_INT(i, l.cmd, CTL_EXEC);
		EXPECT_INT(i, l.arg == NULL, 1);
		EXPECT_INT(i, l.argc, c->argc);
		for (k = 0; k < l.argc; k++)
			EXPECT_STR(i, l.argv[k], c->w[k]);
		assert_null(l.argv[l.argc]);
		ctl_line_free(&l);
	}
}

static void test_parse_limits(void **state)
{
	size_t n = CTL_LINE_MAX + 1, len;
	struct ctl_line l;
	char *s = malloc(n);

	(void)state;
	assert_non_null(s);
	memcpy(s, "start ", 6);
	memset(s + 6, 'x', n - 6);
	assert_int_equal(ctl_parse_line(s, n, &l), -E2BIG);
	assert_int_equal(ctl_parse_line(s, n - 1, &l), 0);
	assert_int_equal(strlen(l.arg), CTL_LINE_MAX - 6);
	ctl_line_free(&l);
	s[10] = '\0'; /* length is checked before anything else */
	assert_int_equal(ctl_parse_line(s, n, &l), -E2BIG);
	assert_int_equal(ctl_parse_line(s, n - 1, &l), -EINVAL);
	memcpy(s, "garbage", 7);
	assert_int_equal(ctl_parse_line(s, n, &l), -E2BIG);
	free(s);

	/* too many words for exec: the splitter's E2BIG is passed on */
	s = repeat_words("exec", CTL_ARGV_MAX, "a", &len);
	assert_int_equal(ctl_parse_line(s, len, &l), 0);
	assert_int_equal(l.argc, CTL_ARGV_MAX);
	ctl_line_free(&l);
	free(s);
	s = repeat_words("exec", CTL_ARGV_MAX + 1, "a", &len);
	assert_int_equal(ctl_parse_line(s, len, &l), -E2BIG);
	assert_null(l.argv);
	free(s);
	/* the same number of words is fine for start, which does not split */
	s = repeat_words("start", CTL_ARGV_MAX + 1, "a", &len);
	assert_int_equal(ctl_parse_line(s, len, &l), 0);
	assert_int_equal(l.cmd, CTL_START);
	ctl_line_free(&l);
	free(s);
	ctl_line_free(NULL);
}

/* ---- ctl_next_line ---- */

struct lines_case {
	const char *buf;
	size_t len;
	size_t n;
	const char *lines[MAXW];
};

#define LINES(s, n, ...)            \
	{                           \
		s, LEN(s), n,       \
		{                   \
			__VA_ARGS__ \
		}                   \
	}

static const struct lines_case lines_cases[] = {
	LINES("", 0, NULL),
	LINES("\n", 0, NULL),
	LINES("a\nb\n", 2, "a", "b"),
	LINES("a\nb", 2, "a", "b"),
	LINES("kill", 1, "kill"),
	LINES("\n\n  \n\t\nx\n \n\t \t", 1, "x"),
	LINES("kill\r\nstop\r\n", 2, "kill\r", "stop\r"),
	LINES("\r\n", 1, "\r"),
	LINES("# comment\n  # indented\nkill\n\t#x", 1, "kill"),
	LINES("start echo # not a comment\n", 1, "start echo # not a comment"),
	LINES("#\nenv A=1\n#", 1, "env A=1"),
	LINES(" lead\ntrail \n", 2, " lead", "trail "),
};

static void test_next_line_table(void **state)
{
	size_t i, k;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(lines_cases); i++) {
		const struct lines_case *c = &lines_cases[i];
		const char *line;
		size_t pos = 0, len;

		for (k = 0; ctl_next_line(c->buf, c->len, &pos, &line, &len);
		     k++) {
			EXPECT_INT(i, k < c->n, 1);
			EXPECT_INT(i, len, strlen(c->lines[k]));
			EXPECT_INT(i, memcmp(line, c->lines[k], len), 0);
			EXPECT_INT(i, line >= c->buf, 1);
			EXPECT_INT(i, line + len <= c->buf + c->len, 1);
		}
		EXPECT_INT(i, k, c->n);
		EXPECT_INT(i, pos, c->len);
		assert_false(ctl_next_line(c->buf, c->len, &pos, &line, &len));
	}
}

static void test_next_line_pos(void **state)
{
	static const char buf[] = "a\0b\nsecond\n\nthird";
	const char *line;
	size_t pos = 0, len;

	(void)state;
	assert_true(ctl_next_line(buf, LEN(buf), &pos, &line, &len));
	assert_int_equal(len, 3); /* NUL bytes are the parser's business */
	assert_memory_equal(line, "a\0b", 3);
	assert_int_equal(pos, 4);
	assert_true(ctl_next_line(buf, LEN(buf), &pos, &line, &len));
	assert_int_equal(pos, 11);
	assert_true(ctl_next_line(buf, LEN(buf), &pos, &line, &len));
	assert_int_equal(len, 5);
	assert_memory_equal(line, "third", 5);
	assert_false(ctl_next_line(buf, LEN(buf), &pos, &line, &len));
	pos = 5; /* resume in the middle of a line */
	assert_true(ctl_next_line(buf, LEN(buf), &pos, &line, &len));
	assert_int_equal(len, 5);
	assert_memory_equal(line, "econd", 5);
	pos = 100;
	assert_false(ctl_next_line(buf, LEN(buf), &pos, &line, &len));
}

/* A write is parsed line by line and stops at the first bad line. */
static void test_write_sequence(void **state)
{
	static const char buf[] = "cwd /src\r\n";
	static const char good[] = "# setup\ncwd /src/app\n\nenv CFLAGS=-O2\n"
				   "start make -j4";
	static const enum ctl_cmd want[] = {CTL_CWD, CTL_ENV, CTL_START};
	struct ctl_line l;
	const char *line;
	size_t pos = 0, len, k = 0;

	(void)state;
	while (ctl_next_line(good, LEN(good), &pos, &line, &len)) {
		assert_int_equal(ctl_parse_line(line, len, &l), 0);
		assert_true(k < ARRAY_SIZE(want));
		assert_int_equal(l.cmd, want[k++]);
		ctl_line_free(&l);
	}
	assert_int_equal(k, ARRAY_SIZE(want));
	pos = 0;
	assert_true(ctl_next_line(buf, LEN(buf), &pos, &line, &len));
	/* A CRLF line end is refused, whatever the command. */
	assert_int_equal(ctl_parse_line(line, len, &l), -EINVAL);
}

/* ---- signals ---- */

static const struct {
	const char *name;
	int num;
} signal_names[] = {
	{"HUP", 1},	{"INT", 2},   {"QUIT", 3},   {"ILL", 4},   {"TRAP", 5},
	{"ABRT", 6},	{"BUS", 7},   {"FPE", 8},    {"KILL", 9},  {"USR1", 10},
	{"SEGV", 11},	{"USR2", 12}, {"PIPE", 13},  {"ALRM", 14}, {"TERM", 15},
	{"STKFLT", 16}, {"CHLD", 17}, {"CONT", 18},  {"STOP", 19}, {"TSTP", 20},
	{"TTIN", 21},	{"TTOU", 22}, {"URG", 23},   {"XCPU", 24}, {"XFSZ", 25},
	{"VTALRM", 26}, {"PROF", 27}, {"WINCH", 28}, {"IO", 29},   {"PWR", 30},
	{"SYS", 31},
};

static void lower(char *s)
{
	for (; *s; s++) {
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
	}
}

static void test_signal_names(void **state)
{
	char buf[32];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(signal_names); i++) {
		const char *name = signal_names[i].name;
		int num = signal_names[i].num;

		assert_int_equal(ctl_signal_parse(name), num);
		snprintf(buf, sizeof(buf), "SIG%s", name);
		assert_int_equal(ctl_signal_parse(buf), num);
		lower(buf);
		assert_int_equal(ctl_signal_parse(buf), num);
		assert_int_equal(ctl_signal_parse(buf + 3), num);
		snprintf(buf, sizeof(buf), "%d", num);
		assert_int_equal(ctl_signal_parse(buf), num);
		assert_non_null(ctl_signal_name(num));
		assert_string_equal(ctl_signal_name(num), name);
	}
}

static const struct {
	const char *s;
	int num;
} signal_cases[] = {
	{"SigTerm", 15},
	{"sIGkILL", 9},
	{"1", 1},
	{"64", 64},
	{"32", 32},
	{"015", 15},
	{"0", -EINVAL},
	{"00", -EINVAL},
	{"65", -EINVAL},
	{"100", -EINVAL},
	{"-1", -EINVAL},
	{"+1", -EINVAL},
	{" 15", -EINVAL},
	{"15 ", -EINVAL},
	{"1x", -EINVAL},
	{"x1", -EINVAL},
	{"", -EINVAL},
	{"SIG", -EINVAL},
	{"sig", -EINVAL},
	{"SIGSIGTERM", -EINVAL},
	{"SIG15", -EINVAL},
	{"TERMX", -EINVAL},
	{"TER", -EINVAL},
	{"SIG TERM", -EINVAL},
	{"RTMIN", -EINVAL},
	{"IOT", -EINVAL},
	{"99999999999999999999", -EINVAL},
	{"T\xc3\x89RM", -EINVAL},
};

static void test_signal_parse(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(signal_cases); i++) {
		EXPECT_INT(i, ctl_signal_parse(signal_cases[i].s),
			   signal_cases[i].num);
	}
	assert_int_equal(ctl_signal_parse(NULL), -EINVAL);
}

static void test_signal_name(void **state)
{
	static const int unnamed[] = {0,  -1,	32,	 34,	 64,
				      65, 1000, INT_MIN, INT_MAX};
	size_t i;

	(void)state;
	assert_string_equal(ctl_signal_name(15), "TERM");
	assert_string_equal(ctl_signal_name(9), "KILL");
	for (i = 0; i < ARRAY_SIZE(unnamed); i++)
		assert_null(ctl_signal_name(unnamed[i]));
}

static void test_parse_size(void **state)
{
	unsigned c = 7, r = 7;

	(void)state;
	assert_int_equal(ctl_parse_size("80x24", &c, &r), 0);
	assert_int_equal(c, 80);
	assert_int_equal(r, 24);
	assert_int_equal(ctl_parse_size("1x65535", &c, &r), 0);
	assert_int_equal(c, 1);
	assert_int_equal(r, 65535);
	c = r = 7;
	assert_int_equal(ctl_parse_size("80x24 ", &c, &r), -EINVAL);
	assert_int_equal(ctl_parse_size("", &c, &r), -EINVAL);
	assert_int_equal(ctl_parse_size("x", &c, &r), -EINVAL);
	assert_int_equal(ctl_parse_size("80x65536", &c, &r), -EINVAL);
	assert_int_equal(ctl_parse_size("4294967376x24", &c, &r), -EINVAL);
	assert_int_equal(ctl_parse_size(NULL, &c, &r), -EINVAL);
	assert_int_equal(c, 7); /* untouched on error */
	assert_int_equal(r, 7);
}

/* Random bytes through the iterator and parser: no crash, no leak. */
static void test_random_lines(void **state)
{
	static const char alphabet[] = "ab '\"\\\t\n\r#x=0.5startexeckillenv";
	uint32_t seed = 12345;
	char buf[256];
	size_t i, k;

	(void)state;
	for (i = 0; i < 20000; i++) {
		size_t n = i % sizeof(buf), pos = 0, len;
		const char *line;
		struct ctl_line l;
		char **argv;
		size_t argc;

		for (k = 0; k < n; k++) {
			seed = seed * 1103515245u + 12345u;
			buf[k] =
				(seed >> 16) & 1
					? alphabet[(seed >> 17) % LEN(alphabet)]
					: (char)(seed >> 20);
		}
		while (ctl_next_line(buf, n, &pos, &line, &len)) {
			if (ctl_parse_line(line, len, &l) == 0)
				ctl_line_free(&l);
			if (ctl_split(line, len, &argv, &argc) == 0)
				ctl_argv_free(argv);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_table),
		cmocka_unit_test(test_split_len),
		cmocka_unit_test(test_split_many),
		cmocka_unit_test(test_argv_ownership),
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_parse_exec),
		cmocka_unit_test(test_command_known),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_next_line_table),
		cmocka_unit_test(test_next_line_pos),
		cmocka_unit_test(test_write_sequence),
		cmocka_unit_test(test_signal_names),
		cmocka_unit_test(test_signal_parse),
		cmocka_unit_test(test_signal_name),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_parse_tree),
		cmocka_unit_test(test_random_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
