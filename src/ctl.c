/*
 * ctl: the parser of control lines (pure: no syscalls, no logging).
 *
 * A write to a slot's ctl file is cut into lines by ctl_next_line, and each
 * line becomes a struct ctl_line through ctl_parse_line; acting on it is the
 * caller's business. The command word is split off first: "start" keeps the
 * rest of the line verbatim, every other command splits its arguments like a
 * shell without expansion (ctl_split). Signal names come from a constant
 * table indexed by number.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spawnfs/ctl.h"

#define CTL_TIMEOUT_MAX_S 31536000ULL /* one year, in seconds */
#define CTL_SIG_MAX	  64	      /* highest signal number accepted */
#define CTL_SIZE_MAX	  65535U      /* largest pty dimension */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char ascii_upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* Case-insensitive (ASCII only, whatever the locale) compare of n bytes. */
static bool ascii_caseeq(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (ascii_upper(a[i]) != ascii_upper(b[i]))
			return false;
	}
	return true;
}

/*
 * Word splitting runs twice over the input: a counting pass (out NULL) that
 * validates and sizes, then a pass that writes the words, each followed by
 * a NUL, into one scratch buffer.
 */
struct split {
	char *out;    /* next byte of word text, NULL on the counting pass */
	size_t argc;  /* words so far */
	size_t bytes; /* word bytes so far, NULs included */
};

static void split_emit(struct split *sp, char c)
{
	if (sp->out)
		*sp->out++ = c;
	sp->bytes++;
}

static bool dquote_escapable(char c)
{
	return c == '"' || c == '\\' || c == '$' || c == '`';
}

/* s[*i] is the opening quote; on return *i is past the closing one. */
static int split_quoted(struct split *sp, const char *s, size_t len, size_t *i)
{
	char q = s[*i];
	size_t j = *i + 1;

	while (j < len && s[j] != q) {
		if (q == '"' && s[j] == '\\' && j + 1 < len &&
		    dquote_escapable(s[j + 1]))
			j++;
		split_emit(sp, s[j++]);
	}
	if (j == len)
		return -EINVAL;
	*i = j + 1;
	return 0;
}

/* s[*i] is the first byte of a word; on return *i is past its end. */
static int split_word(struct split *sp, const char *s, size_t len, size_t *i)
{
	int rc = 0;

	if (sp->argc == CTL_ARGV_MAX)
		return -E2BIG;
	sp->argc++;
	while (rc == 0 && *i < len && !is_blank(s[*i])) {
		if (s[*i] == '\'' || s[*i] == '"') {
			rc = split_quoted(sp, s, len, i);
		} else if (s[*i] == '\\') {
			if (*i + 1 == len)
				return -EINVAL;
			split_emit(sp, s[*i + 1]);
			*i += 2;
		} else {
			split_emit(sp, s[(*i)++]);
		}
	}
	split_emit(sp, '\0');
	return rc;
}

static int split_pass(struct split *sp, const char *s, size_t len)
{
	size_t i = 0;

	for (;;) {
		int rc;

		while (i < len && is_blank(s[i]))
			i++;
		if (i == len)
			return 0;
		rc = split_word(sp, s, len, &i);
		if (rc < 0)
			return rc;
	}
}

/* Fill v[0..argc) with copies of the NUL-separated words in text. */
static int split_vector(char **v, const char *text, size_t argc)
{
	size_t i;

	for (i = 0; i < argc; i++) {
		v[i] = strdup(text);
		if (!v[i])
			return -ENOMEM;
		text += strlen(text) + 1;
	}
	return 0;
}

int ctl_split(const char *s, size_t len, char ***argv, size_t *argc)
{
	struct split sp = {0};
	char *text = NULL, **v = NULL;
	int rc;

	*argv = NULL;
	*argc = 0;
	if (len > 0 && memchr(s, '\0', len))
		return -EINVAL;
	rc = split_pass(&sp, s, len);
	if (rc < 0)
		return rc;
	text = malloc(sp.bytes + 1);
	v = calloc(sp.argc + 1, sizeof(*v));
	rc = text && v ? 0 : -ENOMEM;
	if (rc == 0) {
		sp = (struct split){.out = text};
		rc = split_pass(&sp, s, len); /* same input: cannot fail */
	}
	if (rc == 0)
		rc = split_vector(v, text, sp.argc);
	free(text);
	if (rc < 0) {
		ctl_argv_free(v);
		return rc;
	}
	*argv = v;
	*argc = sp.argc;
	return 0;
}

void ctl_argv_free(char **argv)
{
	char **p;

	if (!argv)
		return;
	for (p = argv; *p; p++)
		free(*p);
	free(argv);
}

/* Parse 1 or more decimal digits at *p into 1..max; *p moves past them. */
static int parse_uint(const char **p, unsigned max, unsigned *out)
{
	const char *s = *p;
	unsigned long v = 0;

	if (!is_digit(*s))
		return -EINVAL;
	for (; is_digit(*s); s++) {
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > max)
			return -EINVAL;
	}
	if (v == 0)
		return -EINVAL;
	*p = s;
	*out = (unsigned)v;
	return 0;
}

int ctl_parse_size(const char *s, unsigned *cols, unsigned *rows)
{
	unsigned c, r;

	if (!s || parse_uint(&s, CTL_SIZE_MAX, &c) < 0 || *s++ != 'x')
		return -EINVAL;
	if (parse_uint(&s, CTL_SIZE_MAX, &r) < 0 || *s != '\0')
		return -EINVAL;
	*cols = c;
	*rows = r;
	return 0;
}

/* Fractional seconds after the '.': whole ms, and whether anything remains */
static size_t parse_fraction(const char *s, unsigned *ms, bool *rest)
{
	size_t i;

	*ms = 0;
	*rest = false;
	for (i = 0; is_digit(s[i]); i++) {
		if (i < 3)
			*ms = *ms * 10 + (unsigned)(s[i] - '0');
		else if (s[i] != '0')
			*rest = true;
	}
	for (size_t k = i; k < 3; k++)
		*ms *= 10;
	return i;
}

/*
 * "SECONDS" as a non-negative decimal with an optional fraction, at most
 * CTL_TIMEOUT_MAX_S, into milliseconds. A remainder below one millisecond
 * rounds up, so a positive value never becomes 0 ("none").
 */
static int parse_seconds(const char *s, long *out_ms)
{
	uint64_t sec = 0, ms;
	size_t i, digits;
	unsigned frac = 0;
	bool rest = false;

	for (i = 0; is_digit(s[i]); i++) {
		sec = sec * 10 + (uint64_t)(s[i] - '0');
		if (sec > CTL_TIMEOUT_MAX_S)
			return -EINVAL;
	}
	digits = i;
	if (s[i] == '.') {
		size_t n = parse_fraction(s + i + 1, &frac, &rest);

		digits += n;
		i += 1 + n;
	}
	if (digits == 0 || s[i] != '\0')
		return -EINVAL;
	ms = sec * 1000 + frac + (rest ? 1 : 0);
	if (ms > CTL_TIMEOUT_MAX_S * 1000 || ms > (uint64_t)LONG_MAX)
		return -EINVAL;
	*out_ms = (long)ms;
	return 0;
}

/* [A-Za-z_][A-Za-z0-9_]* over s[0..n) */
static bool valid_env_name(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || is_digit(s[0]))
		return false;
	for (i = 0; i < n; i++) {
		char c = ascii_upper(s[i]);

		if (!(c == '_' || is_digit(c) || (c >= 'A' && c <= 'Z')))
			return false;
	}
	return true;
}

static int take_arg(struct ctl_line *l, const char *word)
{
	l->arg = strdup(word);
	return l->arg ? 0 : -ENOMEM;
}

static int args_nonempty(struct ctl_line *l, char **argv, size_t argc)
{
	(void)argc;
	if (argv[0][0] == '\0')
		return -EINVAL;
	return take_arg(l, argv[0]);
}

static int args_env(struct ctl_line *l, char **argv, size_t argc)
{
	const char *eq = strchr(argv[0], '=');

	(void)argc;
	if (strcmp(argv[0], "-") == 0) {
		l->cmd = CTL_ENV_CLEAR;
		return 0;
	}
	if (!eq || !valid_env_name(argv[0], (size_t)(eq - argv[0])))
		return -EINVAL;
	return take_arg(l, argv[0]);
}

static int args_unset(struct ctl_line *l, char **argv, size_t argc)
{
	(void)argc;
	if (!valid_env_name(argv[0], strlen(argv[0])))
		return -EINVAL;
	return take_arg(l, argv[0]);
}

static int args_stdin(struct ctl_line *l, char **argv, size_t argc)
{
	(void)argc;
	if (strcmp(argv[0], "pipe") == 0)
		l->num = 1;
	else if (strcmp(argv[0], "null") == 0)
		l->num = 0;
	else
		return -EINVAL;
	return 0;
}

static int args_pty(struct ctl_line *l, char **argv, size_t argc)
{
	(void)argc;
	if (strcmp(argv[0], "off") == 0) {
		l->num = 0;
		return 0;
	}
	if (ctl_parse_size(argv[0], &l->cols, &l->rows) < 0)
		return -EINVAL;
	l->num = 1;
	return 0;
}

static int args_resize(struct ctl_line *l, char **argv, size_t argc)
{
	(void)argc;
	return ctl_parse_size(argv[0], &l->cols, &l->rows);
}

static int args_timeout(struct ctl_line *l, char **argv, size_t argc)
{
	(void)argc;
	return parse_seconds(argv[0], &l->ms);
}

static int args_stop(struct ctl_line *l, char **argv, size_t argc)
{
	if (argc == 0) {
		l->ms = -1;
		return 0;
	}
	return parse_seconds(argv[0], &l->ms);
}

static int args_signal(struct ctl_line *l, char **argv, size_t argc)
{
	int sig = ctl_signal_parse(argv[0]);

	(void)argc;
	if (sig < 0)
		return sig;
	l->num = sig;
	return 0;
}

#define CTL_MEMORY_MIN (4ULL << 10)
#define CTL_MEMORY_MAX (4ULL << 40)
#define CTL_CPUS_MAX   1024000ULL /* thousandths: 1024 CPUs */
#define CTL_PIDS_MAX   4194304ULL /* the kernel's pid_max at most */

/* "max" is 0: no limit. */
static bool is_max(const char *s)
{
	return strcmp(s, "max") == 0;
}

/* "N[KMGT]" bytes (binary multiples), from min to max, into *out. */
static int parse_bytes(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0, mul = 1;

	if (!is_digit(*s))
		return -EINVAL;
	for (; is_digit(*s); s++) {
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > max)
			return -EINVAL;
	}
	switch (ascii_upper(*s)) {
	case 'K':
		mul = 1ULL << 10;
		break;
	case 'M':
		mul = 1ULL << 20;
		break;
	case 'G':
		mul = 1ULL << 30;
		break;
	case 'T':
		mul = 1ULL << 40;
		break;
	case '\0':
		break;
	default:
		return -EINVAL;
	}
	if (*s && s[1])
		return -EINVAL;
	if (v > max / mul || v * mul < min)
		return -EINVAL;
	*out = v * mul;
	return 0;
}

static int args_memory(struct ctl_line *l, char **argv, size_t argc)
{
	(void)argc;
	if (is_max(argv[0]))
		return 0;
	return parse_bytes(argv[0], CTL_MEMORY_MIN, CTL_MEMORY_MAX, &l->value);
}

/* "pause" (value 0) or "keep SIZE" (value: the window in bytes). */
static int args_output(struct ctl_line *l, char **argv, size_t argc)
{
	if (argc == 1 && strcmp(argv[0], "pause") == 0)
		return 0;
	if (argc != 2 || strcmp(argv[0], "keep") != 0)
		return -EINVAL;
	return parse_bytes(argv[1], 1, CTL_MEMORY_MAX, &l->value);
}

/* "no", "on-failure" or "always": num 0, 1, 2. */
static int args_restart(struct ctl_line *l, char **argv, size_t argc)
{
	static const char *const names[] = {"no", "on-failure", "always"};
	int i;

	(void)argc;
	for (i = 0; i < 3; i++)
		if (strcmp(argv[0], names[i]) == 0) {
			l->num = i;
			return 0;
		}
	return -EINVAL;
}

/* "DURATION": a decimal number of seconds with an optional unit, ms, s,
 * m or h ("1.5s", "500ms", "2m"); at least 1 ms, at most a year. */
static int parse_duration(const char *s, long *ms)
{
	static const struct {
		const char *unit;
		long mul;
	} units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
	char num[32];
	size_t n = strspn(s, "0123456789."), i;
	long v;

	if (n == 0 || n >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, n);
	num[n] = '\0';
	if (parse_seconds(num, &v) < 0)
		return -EINVAL;
	for (i = 0; i < 4 && s[n]; i++)
		if (strcmp(s + n, units[i].unit) == 0)
			break;
	if (i == 4)
		return -EINVAL;
	if (s[n]) {
		/* v is the number in thousandths: scale to the unit. */
		if (v > (long)(CTL_TIMEOUT_MAX_S * 1000) / units[i].mul)
			return -EINVAL;
		v = units[i].mul == 1 ? (v + 999) / 1000
				      : v * units[i].mul / 1000;
	}
	if (v < 1 || (uint64_t)v > CTL_TIMEOUT_MAX_S * 1000)
		return -EINVAL;
	*ms = v;
	return 0;
}

static int args_duration(struct ctl_line *l, char **argv, size_t argc)
{
	(void)argc;
	return parse_duration(argv[0], &l->ms);
}

/* "N/DURATION": at most N starts (1 to 10000) within DURATION. */
static int args_restart_limit(struct ctl_line *l, char **argv, size_t argc)
{
	const char *s = argv[0];
	unsigned n;

	(void)argc;
	if (parse_uint(&s, 10000, &n) < 0 || n == 0 || *s != '/')
		return -EINVAL;
	l->num = (int)n;
	return parse_duration(s + 1, &l->ms);
}

static int args_cpus(struct ctl_line *l, char **argv, size_t argc)
{
	long ms;

	(void)argc;
	if (is_max(argv[0]))
		return 0;
	/* The same decimal as seconds, in thousandths. */
	if (parse_seconds(argv[0], &ms) < 0 || ms < 10 ||
	    (uint64_t)ms > CTL_CPUS_MAX)
		return -EINVAL;
	l->value = (uint64_t)ms;
	return 0;
}

static int args_pids(struct ctl_line *l, char **argv, size_t argc)
{
	const char *s = argv[0];
	unsigned n;

	(void)argc;
	if (is_max(s))
		return 0;
	if (parse_uint(&s, CTL_PIDS_MAX, &n) < 0 || *s)
		return -EINVAL;
	l->value = n;
	return 0;
}

/* Commands other than start: word counts and what the words mean. */
static const struct ctl_verb {
	const char *name;
	enum ctl_cmd cmd;
	size_t min, max; /* words after the command word */
	bool keep_argv;	 /* the words become l->argv */
	int (*parse)(struct ctl_line *l, char **argv, size_t argc);
} ctl_verbs[] = {
	{"exec", CTL_EXEC, 1, CTL_ARGV_MAX, true, NULL},
	{"cwd", CTL_CWD, 1, 1, false, args_nonempty},
	{"env", CTL_ENV, 1, 1, false, args_env},
	{"unset", CTL_UNSET, 1, 1, false, args_unset},
	{"stdin", CTL_STDIN, 1, 1, false, args_stdin},
	{"pty", CTL_PTY, 1, 1, false, args_pty},
	{"timeout", CTL_TIMEOUT, 1, 1, false, args_timeout},
	{"user", CTL_USER, 1, 1, false, args_nonempty},
	{"signal", CTL_SIGNAL, 1, 1, false, args_signal},
	{"stop", CTL_STOP, 0, 1, false, args_stop},
	{"kill", CTL_KILL, 0, 0, false, NULL},
	{"eof", CTL_EOF, 0, 0, false, NULL},
	{"resize", CTL_RESIZE, 1, 1, false, args_resize},
	{"freeze", CTL_FREEZE, 0, 0, false, NULL},
	{"thaw", CTL_THAW, 0, 0, false, NULL},
	{"memory", CTL_MEMORY, 1, 1, false, args_memory},
	{"cpus", CTL_CPUS, 1, 1, false, args_cpus},
	{"pids", CTL_PIDS, 1, 1, false, args_pids},
	{"output", CTL_OUTPUT, 1, 2, false, args_output},
	{"restart", CTL_RESTART, 1, 1, false, args_restart},
	{"restart_delay", CTL_RESTART_DELAY, 1, 1, false, args_duration},
	{"restart_limit", CTL_RESTART_LIMIT, 1, 1, false, args_restart_limit},
};

static const struct ctl_verb *verb_find(const char *w, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(ctl_verbs) / sizeof(ctl_verbs[0]); i++) {
		if (strlen(ctl_verbs[i].name) == n &&
		    memcmp(ctl_verbs[i].name, w, n) == 0)
			return &ctl_verbs[i];
	}
	return NULL;
}

static int parse_start(struct ctl_line *out, const char *rest, size_t n)
{
	if (n == 0)
		return -EINVAL;
	out->cmd = CTL_START;
	out->arg = strndup(rest, n);
	return out->arg ? 0 : -ENOMEM;
}

static int parse_words(struct ctl_line *out, const struct ctl_verb *v,
		       const char *rest, size_t n)
{
	char **argv;
	size_t argc;
	int rc;

	rc = ctl_split(rest, n, &argv, &argc);
	if (rc < 0)
		return rc;
	out->cmd = v->cmd;
	if (argc < v->min || argc > v->max)
		rc = -EINVAL;
	else if (v->parse)
		rc = v->parse(out, argv, argc);
	if (rc == 0 && v->keep_argv) {
		out->argv = argv;
		out->argc = argc;
		return 0;
	}
	ctl_argv_free(argv);
	return rc;
}

/* The command word of line: its start and length; returns where the
 * arguments begin (past the blanks after the word). */
static size_t command_word(const char *line, size_t len, const char **word,
			   size_t *wlen)
{
	size_t i = 0;

	while (i < len && is_blank(line[i]))
		i++;
	*word = line + i;
	while (i < len && !is_blank(line[i]))
		i++;
	*wlen = (size_t)(line + i - *word);
	while (i < len && is_blank(line[i]))
		i++;
	return i;
}

static bool is_start(const char *word, size_t wlen)
{
	return wlen == 5 && memcmp(word, "start", 5) == 0;
}

bool ctl_command_known(const char *line, size_t len, const char **word,
		       size_t *wlen)
{
	command_word(line, len, word, wlen);
	return is_start(*word, *wlen) || verb_find(*word, *wlen);
}

int ctl_parse_line(const char *line, size_t len, struct ctl_line *out)
{
	const struct ctl_verb *v;
	const char *word;
	size_t i, wlen;
	int rc;

	memset(out, 0, sizeof(*out));
	if (len > CTL_LINE_MAX)
		return -E2BIG;
	if (len > 0 && memchr(line, '\0', len))
		return -EINVAL;
	/* CRLF line ends: refused whatever the command, rather than a
	 * start that runs "echo hi\r". */
	if (len > 0 && line[len - 1] == '\r')
		return -EINVAL;
	i = command_word(line, len, &word, &wlen);
	v = verb_find(word, wlen);
	if (is_start(word, wlen))
		rc = parse_start(out, line + i, len - i);
	else if (v)
		rc = parse_words(out, v, line + i, len - i);
	else
		rc = -EINVAL;
	if (rc < 0)
		ctl_line_free(out);
	return rc;
}

void ctl_line_free(struct ctl_line *l)
{
	if (!l)
		return;
	free(l->arg);
	ctl_argv_free(l->argv);
	memset(l, 0, sizeof(*l));
}

/* A line that carries no command: empty, only blanks, or a '#' comment. */
static bool line_skipped(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && is_blank(s[i]))
		i++;
	return i == n || s[i] == '#';
}

bool ctl_next_line(const char *buf, size_t len, size_t *pos, const char **line,
		   size_t *linelen)
{
	while (*pos < len) {
		const char *s = buf + *pos;
		const char *nl = memchr(s, '\n', len - *pos);
		size_t n = nl ? (size_t)(nl - s) : len - *pos;

		*pos += nl ? n + 1 : n;
		if (line_skipped(s, n))
			continue;
		*line = s;
		*linelen = n;
		return true;
	}
	return false;
}

/* Linux signal names by number; holes (and 32..64) have no name. */
static const char *const ctl_signames[] = {
	[SIGHUP] = "HUP",	[SIGINT] = "INT",   [SIGQUIT] = "QUIT",
	[SIGILL] = "ILL",	[SIGTRAP] = "TRAP", [SIGABRT] = "ABRT",
	[SIGBUS] = "BUS",	[SIGFPE] = "FPE",   [SIGKILL] = "KILL",
	[SIGUSR1] = "USR1",	[SIGSEGV] = "SEGV", [SIGUSR2] = "USR2",
	[SIGPIPE] = "PIPE",	[SIGALRM] = "ALRM", [SIGTERM] = "TERM",
#ifdef SIGSTKFLT
	[SIGSTKFLT] = "STKFLT",
#endif
	[SIGCHLD] = "CHLD",	[SIGCONT] = "CONT", [SIGSTOP] = "STOP",
	[SIGTSTP] = "TSTP",	[SIGTTIN] = "TTIN", [SIGTTOU] = "TTOU",
	[SIGURG] = "URG",	[SIGXCPU] = "XCPU", [SIGXFSZ] = "XFSZ",
	[SIGVTALRM] = "VTALRM", [SIGPROF] = "PROF", [SIGWINCH] = "WINCH",
	[SIGIO] = "IO",
#ifdef SIGPWR
	[SIGPWR] = "PWR",
#endif
	[SIGSYS] = "SYS",
};

#define CTL_NSIGNAMES (sizeof(ctl_signames) / sizeof(ctl_signames[0]))

int ctl_signal_parse(const char *s)
{
	unsigned sig;
	size_t i, n;

	if (!s)
		return -EINVAL;
	if (is_digit(s[0])) {
		if (parse_uint(&s, CTL_SIG_MAX, &sig) < 0 || *s != '\0')
			return -EINVAL;
		return (int)sig;
	}
	n = strlen(s);
	if (n > 3 && ascii_caseeq(s, "SIG", 3)) {
		s += 3;
		n -= 3;
	}
	for (i = 1; i < CTL_NSIGNAMES; i++) {
		if (ctl_signames[i] && strlen(ctl_signames[i]) == n &&
		    ascii_caseeq(s, ctl_signames[i], n))
			return (int)i;
	}
	return -EINVAL;
}

const char *ctl_signal_name(int sig)
{
	if (sig <= 0 || (size_t)sig >= CTL_NSIGNAMES)
		return NULL;
	return ctl_signames[sig];
}
