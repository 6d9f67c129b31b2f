/*
 * config: the daemon's settings. Built-in defaults, then an inih file, then
 * -o key=value overrides, all checked against one table of known keys.
 * Owns the strings in struct cfg (shell, pty_term and the env array). Makes no
 * logging calls and never exits: every failure comes back as -errno with a
 * message in the caller's buffer naming the file, the line, the key and the
 * value.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "spawnfs/config.h"

#define CFG_DAY_MS   86400000ULL
#define CFG_KIB	     1024ULL
#define CFG_MIB	     (1024ULL * CFG_KIB)
#define CFG_GIB	     (1024ULL * CFG_MIB)
#define CFG_FRAC_MAX 9 /* digits after the point in a duration */

enum cfg_type {
	CFG_T_PATH,   /* absolute path, owned string */
	CFG_T_CGROUP, /* auto, off or a cgroup path, owned string */
	CFG_T_COUNT,  /* decimal number, unsigned */
	CFG_T_MS,     /* duration, bare number in ms, unsigned ms */
	CFG_T_SEC,    /* duration, bare number in s, unsigned ms */
	CFG_T_SIZE,   /* size with K/M/G, size_t */
	CFG_T_MODE,   /* octal permission bits, unsigned */
	CFG_T_LEVEL,  /* log level name */
	CFG_T_SWITCH, /* on or off, bool (the field is "off") */
	CFG_T_OOM,    /* -1000..1000 or "kernel", int */
	CFG_T_TERM,   /* a terminal type name, owned string */
	CFG_T_US,     /* microseconds: "50us", a bare number, or "off" (0) */
};

struct cfg_key {
	const char *section;
	const char *name;
	enum cfg_type type;
	size_t off; /* of the field, for the numeric types */
	unsigned long long min, max;
	const char *hint; /* what a good value looks like */
};

/* Where a message goes and which line it names (none when <= 0). */
struct cfg_msg {
	char *buf;
	size_t len;
	int lineno;
};

/* State of one cfg_load_file: the copy being filled and the first error. */
struct cfg_load {
	struct cfg cfg;
	FILE *f;
	int line;     /* lines handed to inih so far */
	int rc;	      /* first error found by us, 0 if none */
	int err_line; /* the line of that error */
	int read_errno;
	char msg[CFG_ERR_MAX];
};

static const struct cfg_key cfg_keys[] = {
	{"process", "shell", CFG_T_PATH, 0, 0, 0,
	 "an absolute path such as /bin/sh"},
	{"process", "pty_term", CFG_T_TERM, 0, 0, 0,
	 "a terminal type such as xterm-256color"},
	{"process", "cgroup", CFG_T_CGROUP, 0, 0, 0,
	 "auto, off, or a cgroup path such as /spawnfs.slice"},
	{"process", "max_processes", CFG_T_COUNT,
	 offsetof(struct cfg, max_processes), 1, 1000000,
	 "a number from 1 to 1000000"},
	{"process", "max_handles", CFG_T_COUNT,
	 offsetof(struct cfg, max_handles), 1, 1000000,
	 "a number from 1 to 1000000"},
	{"process", "oom_score_adj", CFG_T_OOM, 0, 0, 0,
	 "kernel, or a number from -1000 to 1000"},
	{"process", "kill_grace", CFG_T_MS, offsetof(struct cfg, kill_grace_ms),
	 0, CFG_DAY_MS, "a duration such as 2000ms or 2s, at most 24h"},
	{"process", "reap_after", CFG_T_SEC,
	 offsetof(struct cfg, reap_after_ms), 0, CFG_DAY_MS,
	 "a duration such as 300 (seconds) or 5m, at most 24h, 0 to keep"},
	{"process", "shutdown_timeout", CFG_T_MS,
	 offsetof(struct cfg, shutdown_timeout_ms), 0, CFG_DAY_MS,
	 "a duration such as 5000ms or 5s, at most 24h"},
	{"process", "reap_new_after", CFG_T_SEC,
	 offsetof(struct cfg, reap_new_ms), 0, CFG_DAY_MS,
	 "a duration such as 60 (seconds) or 300ms, at most 24h, 0 for never"},
	{"stream", "buffer_size", CFG_T_SIZE, offsetof(struct cfg, buffer_size),
	 4 * CFG_KIB, CFG_GIB, "a size from 4K to 1G such as 256K"},
	{"stream", "pipe_size", CFG_T_SIZE, offsetof(struct cfg, pipe_size),
	 4 * CFG_KIB, CFG_MIB, "a size from 4K to 1M such as 64K"},
	{"stream", "drain_timeout", CFG_T_MS,
	 offsetof(struct cfg, drain_timeout_ms), 0, CFG_DAY_MS,
	 "a duration such as 1000ms or 1s, at most 24h"},
	{"stream", "keep_max", CFG_T_SIZE, offsetof(struct cfg, keep_max),
	 4 * CFG_KIB, 4 * CFG_GIB, "a size from 4K to 4G such as 64M"},
	{"stream", "snapshot_max", CFG_T_SIZE,
	 offsetof(struct cfg, snapshot_max), 4 * CFG_KIB, 64 * CFG_GIB,
	 "a size from 4K to 64G such as 256M"},
	{"stream", "stall_timeout", CFG_T_MS,
	 offsetof(struct cfg, stall_timeout_ms), 0, CFG_DAY_MS,
	 "a duration such as 5000ms or 5s, at most 24h, 0 for off"},
	{"mount", "process_mode", CFG_T_MODE,
	 offsetof(struct cfg, process_mode), 0, 07777,
	 "an octal mode such as 0700, at most 07777"},
	{"mount", "busy_poll", CFG_T_US, offsetof(struct cfg, busy_poll_us), 0,
	 1000, "a time such as 50us, at most 1000us, or off"},
	{"stream", "events", CFG_T_SWITCH, offsetof(struct cfg, events_off), 0,
	 0, "on or off"},
	{"log", "level", CFG_T_LEVEL, 0, 0, 0,
	 "one of error, warn, info, debug"},
};

#define CFG_NKEYS (sizeof(cfg_keys) / sizeof(cfg_keys[0]))

/* Indexed by enum cfg_level. */
static const char *const cfg_level_names[] = {"error", "warn", "info", "debug"};

/* Write "line N: " (when N > 0) and the message; return rc for chaining. */
static int __attribute__((format(printf, 3, 4)))
cfg_fail(struct cfg_msg *m, int rc, const char *fmt, ...)
{
	va_list ap;
	size_t n = 0;

	if (!m->buf || !m->len)
		return rc;
	m->buf[0] = '\0';
	if (m->lineno > 0) {
		int w = snprintf(m->buf, m->len, "line %d: ", m->lineno);
		if (w > 0)
			n = (size_t)w < m->len ? (size_t)w : m->len - 1;
	}
	va_start(ap, fmt);
	vsnprintf(m->buf + n, m->len - n, fmt, ap);
	va_end(ap);
	return rc;
}

int cfg_defaults(struct cfg *c)
{
	*c = (struct cfg){
		.max_processes = 1024,
		.max_handles = 16384,
		.oom_score_adj = CFG_OOM_KERNEL,
		.kill_grace_ms = 2000,
		.reap_after_ms = 0,
		.shutdown_timeout_ms = 5000,
		.reap_new_ms = 60000,
		.buffer_size = 256 * CFG_KIB,
		.pipe_size = 64 * CFG_KIB,
		.drain_timeout_ms = 1000,
		.stall_timeout_ms = 0,
		.keep_max = 64 * CFG_MIB,
		.snapshot_max = 256 * CFG_MIB,
		.process_mode = 0700,
		.busy_poll_us = 50,
		.log_level = CFG_LOG_INFO,
	};
	c->shell = strdup("/bin/sh");
	c->pty_term = strdup("xterm-256color");
	c->cgroup = strdup("auto");
	c->env = calloc(1, sizeof(*c->env));
	if (!c->shell || !c->pty_term || !c->cgroup || !c->env) {
		cfg_free(c);
		return -ENOMEM;
	}
	return 0;
}

void cfg_free(struct cfg *c)
{
	size_t i;

	if (!c)
		return;
	free(c->shell);
	c->shell = NULL;
	free(c->pty_term);
	c->pty_term = NULL;
	free(c->cgroup);
	c->cgroup = NULL;
	for (i = 0; c->env && i < c->nenv; i++)
		free(c->env[i]);
	free(c->env);
	c->env = NULL;
	c->nenv = 0;
}

/* A deep copy of src into dst, so that a failed load leaves src as it was. */
static int cfg_copy(struct cfg *dst, const struct cfg *src)
{
	size_t i;

	*dst = *src;
	dst->shell = NULL;
	dst->pty_term = NULL;
	dst->cgroup = NULL;
	dst->nenv = 0;
	dst->env = calloc(src->nenv + 1, sizeof(*dst->env));
	if (!dst->env)
		goto fail;
	if (src->shell && !(dst->shell = strdup(src->shell)))
		goto fail;
	if (src->pty_term && !(dst->pty_term = strdup(src->pty_term)))
		goto fail;
	if (src->cgroup && !(dst->cgroup = strdup(src->cgroup)))
		goto fail;
	for (i = 0; i < src->nenv; i++) {
		dst->env[i] = strdup(src->env[i]);
		if (!dst->env[i])
			goto fail;
		dst->nenv++;
	}
	return 0;
fail:
	cfg_free(dst);
	return -ENOMEM;
}

/*
 * Digits in base 8 or 10, no sign and no space; *end gets the first other
 * character. Overflow is -EINVAL.
 */
static int scan_uint(const char *s, unsigned base, const char **end,
		     uint64_t *out)
{
	uint64_t n = 0;

	if (*s < '0' || *s >= (char)('0' + base))
		return -EINVAL;
	for (; *s >= '0' && *s < (char)('0' + base); s++) {
		unsigned d = (unsigned)(*s - '0');

		if (n > (UINT64_MAX - d) / base)
			return -EINVAL;
		n = n * base + d;
	}
	*end = s;
	*out = n;
	return 0;
}

/* A whole string of digits in base 8 or 10. */
static int parse_uint(const char *s, unsigned base, uint64_t *out)
{
	const char *end;

	if (scan_uint(s, base, &end, out) || *end)
		return -EINVAL;
	return 0;
}

int cfg_parse_size(const char *s, size_t *out)
{
	const char *end;
	uint64_t n, mult = 1;

	if (!s || scan_uint(s, 10, &end, &n))
		return -EINVAL;
	switch (*end) {
	case '\0':
		break;
	case 'K':
	case 'k':
		mult = CFG_KIB;
		break;
	case 'M':
	case 'm':
		mult = CFG_MIB;
		break;
	case 'G':
	case 'g':
		mult = CFG_GIB;
		break;
	default:
		return -EINVAL;
	}
	if (*end && end[1])
		return -EINVAL;
	if (n > SIZE_MAX / mult)
		return -EINVAL;
	*out = (size_t)(n * mult);
	return 0;
}

/* Milliseconds per unit of a duration suffix; "" is the bare unit. */
static int duration_unit(const char *u, bool bare_is_seconds, uint64_t *ms)
{
	if (!*u)
		*ms = bare_is_seconds ? 1000 : 1;
	else if (!strcmp(u, "ms"))
		*ms = 1;
	else if (!strcmp(u, "s"))
		*ms = 1000;
	else if (!strcmp(u, "m"))
		*ms = 60 * 1000;
	else if (!strcmp(u, "h"))
		*ms = 3600 * 1000;
	else
		return -EINVAL;
	return 0;
}

/* The digits after a decimal point: value frac / scale. */
static int scan_frac(const char *s, const char **end, uint64_t *frac,
		     uint64_t *scale)
{
	const char *p;

	if (scan_uint(s, 10, &p, frac) || p - s > CFG_FRAC_MAX)
		return -EINVAL;
	for (*scale = 1; s < p; s++)
		*scale *= 10;
	*end = p;
	return 0;
}

int cfg_parse_ms(const char *s, bool bare_is_seconds, unsigned *out_ms)
{
	const char *p;
	uint64_t whole, frac = 0, scale = 1, unit, ms;

	if (!s || scan_uint(s, 10, &p, &whole))
		return -EINVAL;
	if (*p == '.' && scan_frac(p + 1, &p, &frac, &scale))
		return -EINVAL;
	if (duration_unit(p, bare_is_seconds, &unit))
		return -EINVAL;
	/* Every unit is at least 1 ms, so this also bounds the products. */
	if (whole > CFG_DAY_MS)
		return -EINVAL;
	/* Only whole milliseconds: "1.5ms" and "0.0001s" are refused. */
	if (frac * unit % scale)
		return -EINVAL;
	ms = whole * unit + frac * unit / scale;
	if (ms > CFG_DAY_MS)
		return -EINVAL;
	*out_ms = (unsigned)ms;
	return 0;
}

/* A copy of value in place of *field: 0 or -ENOMEM (*field kept). */
static int set_string(char **field, const char *value)
{
	char *s = strdup(value);

	if (!s)
		return -ENOMEM;
	free(*field);
	*field = s;
	return 0;
}

static int set_shell(struct cfg *c, const char *value)
{
	if (value[0] != '/' || strlen(value) >= PATH_MAX)
		return -EINVAL;
	return set_string(&c->shell, value);
}

/* A terminal type: 1 to 64 of [A-Za-z0-9._+-], as terminfo names go. */
static int set_term(struct cfg *c, const char *value)
{
	size_t n = strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"
				 "QRSTUVWXYZ0123456789._+-");

	if (n == 0 || n > 64 || value[n])
		return -EINVAL;
	return set_string(&c->pty_term, value);
}

/* auto, off, or an absolute cgroup path (below the cgroup2 mount). */
static int set_cgroup(struct cfg *c, const char *value)
{
	if (strcmp(value, "auto") != 0 && strcmp(value, "off") != 0 &&
	    (value[0] != '/' || strlen(value) >= PATH_MAX ||
	     strstr(value, "/..")))
		return -EINVAL;
	return set_string(&c->cgroup, value);
}

/* "on" or "off" into the bool at k->off, which is true for off. */
static int set_switch(struct cfg *c, const struct cfg_key *k, const char *value)
{
	bool *off = (bool *)(void *)((char *)c + k->off);

	if (!strcmp(value, "on"))
		*off = false;
	else if (!strcmp(value, "off"))
		*off = true;
	else
		return -EINVAL;
	return 0;
}

static int set_level(struct cfg *c, const char *value)
{
	size_t i;

	for (i = 0; i < sizeof(cfg_level_names) / sizeof(*cfg_level_names);
	     i++) {
		if (!strcmp(value, cfg_level_names[i])) {
			c->log_level = (enum cfg_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* "kernel" leaves the children's score alone; else -1000..1000. */
static int set_oom(struct cfg *c, const char *value)
{
	uint64_t n = 0;
	bool neg = value[0] == '-';

	if (!strcmp(value, "kernel")) {
		c->oom_score_adj = CFG_OOM_KERNEL;
		return 0;
	}
	if (parse_uint(value + (neg || value[0] == '+'), 10, &n) || n > 1000)
		return -EINVAL;
	c->oom_score_adj = neg ? -(int)n : (int)n;
	return 0;
}

/* "50us", "50" (microseconds) or "off" (0). 0/-EINVAL. */
static int parse_us(const char *value, uint64_t *n)
{
	size_t len = strlen(value);
	char num[24];

	if (!strcmp(value, "off")) {
		*n = 0;
		return 0;
	}
	if (len > 2 && !strcmp(value + len - 2, "us"))
		len -= 2;
	if (len == 0 || len >= sizeof(num))
		return -EINVAL;
	memcpy(num, value, len);
	num[len] = '\0';
	return parse_uint(num, 10, n);
}

/* Parse value by the key's type, check its range and store it. */
static int set_number(struct cfg *c, const struct cfg_key *k, const char *value)
{
	uint64_t n = 0;
	unsigned ms = 0;
	size_t sz = 0;
	int rc;

	switch (k->type) {
	case CFG_T_COUNT:
		rc = parse_uint(value, 10, &n);
		break;
	case CFG_T_MODE:
		rc = parse_uint(value, 8, &n);
		break;
	case CFG_T_SIZE:
		rc = cfg_parse_size(value, &sz);
		n = sz;
		break;
	case CFG_T_US:
		rc = parse_us(value, &n);
		break;
	default:
		rc = cfg_parse_ms(value, k->type == CFG_T_SEC, &ms);
		n = ms;
		break;
	}
	if (rc || n < k->min || n > k->max)
		return -EINVAL;
	if (k->type == CFG_T_SIZE)
		*(size_t *)(void *)((char *)c + k->off) = (size_t)n;
	else
		*(unsigned *)(void *)((char *)c + k->off) = (unsigned)n;
	return 0;
}

/* shown is the key as the user wrote it, for the message. */
static int key_set(struct cfg *c, const struct cfg_key *k, const char *shown,
		   const char *value, struct cfg_msg *m)
{
	int rc;

	if (k->type == CFG_T_PATH)
		rc = set_shell(c, value);
	else if (k->type == CFG_T_CGROUP)
		rc = set_cgroup(c, value);
	else if (k->type == CFG_T_SWITCH)
		rc = set_switch(c, k, value);
	else if (k->type == CFG_T_LEVEL)
		rc = set_level(c, value);
	else if (k->type == CFG_T_OOM)
		rc = set_oom(c, value);
	else if (k->type == CFG_T_TERM)
		rc = set_term(c, value);
	else
		rc = set_number(c, k, value);
	if (rc == -ENOMEM)
		return cfg_fail(m, rc, "key \"%.64s\": out of memory", shown);
	if (rc)
		return cfg_fail(m, rc,
				"key \"%.64s\": bad value \"%.64s\" (%s)",
				shown, value, k->hint);
	return 0;
}

/* The key called name in the section whose name is sec[0..seclen), or in
 * any section when sec is NULL. */
static const struct cfg_key *key_find(const char *sec, size_t seclen,
				      const char *name)
{
	const struct cfg_key *k;

	for (k = cfg_keys; k < cfg_keys + CFG_NKEYS; k++) {
		if (strcmp(k->name, name))
			continue;
		if (!sec || (strlen(k->section) == seclen &&
			     !strncmp(k->section, sec, seclen)))
			return k;
	}
	return NULL;
}

static bool section_known(const char *sec)
{
	size_t i;

	for (i = 0; i < CFG_NKEYS; i++)
		if (!strcmp(cfg_keys[i].section, sec))
			return true;
	return false;
}

static bool env_name_ok(const char *s)
{
	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
	      *s == '_'))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

/* Add "name=value" to c->env, replacing an entry of the same name. */
static int env_put(struct cfg *c, const char *name, const char *value)
{
	size_t nlen = strlen(name), vlen = strlen(value), i;
	char *e, **v;

	e = malloc(nlen + vlen + 2);
	if (!e)
		return -ENOMEM;
	memcpy(e, name, nlen);
	e[nlen] = '=';
	memcpy(e + nlen + 1, value, vlen + 1);
	for (i = 0; i < c->nenv; i++) {
		if (!strncmp(c->env[i], e, nlen + 1)) {
			free(c->env[i]);
			c->env[i] = e;
			return 0;
		}
	}
	v = realloc(c->env, (c->nenv + 2) * sizeof(*v));
	if (!v) {
		free(e);
		return -ENOMEM;
	}
	v[c->nenv++] = e;
	v[c->nenv] = NULL;
	c->env = v;
	return 0;
}

static int env_set(struct cfg *c, const char *name, const char *shown,
		   const char *value, struct cfg_msg *m)
{
	if (!env_name_ok(name))
		return cfg_fail(
			m, -EINVAL,
			"key \"%.64s\": bad environment name (letters, digits and _, not starting with a digit)",
			shown);
	if (env_put(c, name, value))
		return cfg_fail(m, -ENOMEM, "key \"%.64s\": out of memory",
				shown);
	return 0;
}

/* A key without a section (-o): "key", "section.key" or "env.NAME". */
static int set_any(struct cfg *c, const char *key, const char *value,
		   struct cfg_msg *m)
{
	const char *dot = strchr(key, '.');
	const struct cfg_key *k;

	if (dot && dot - key == 3 && !strncmp(key, "env", 3))
		return env_set(c, dot + 1, key, value, m);
	if (dot)
		k = key_find(key, (size_t)(dot - key), dot + 1);
	else
		k = key_find(NULL, 0, key);
	if (!k)
		return cfg_fail(m, -EINVAL, "unknown key \"%.64s\"", key);
	return key_set(c, k, key, value, m);
}

int cfg_set(struct cfg *c, const char *section, const char *key,
	    const char *value, int lineno, char *err, size_t errlen)
{
	struct cfg_msg m = {.buf = err, .len = errlen, .lineno = lineno};
	const struct cfg_key *k;

	if (!key || !value)
		return cfg_fail(&m, -EINVAL, "key \"%.64s\": no value",
				key ? key : "");
	if (!section)
		return set_any(c, key, value, &m);
	if (!strcmp(section, "env"))
		return env_set(c, key, key, value, &m);
	if (!*section)
		return cfg_fail(&m, -EINVAL,
				"key \"%.64s\": not inside a [section]", key);
	if (!section_known(section))
		return cfg_fail(&m, -EINVAL,
				"unknown section [%.32s] (key \"%.64s\")",
				section, key);
	k = key_find(section, strlen(section), key);
	if (!k)
		return cfg_fail(&m, -EINVAL,
				"unknown key \"%.64s\" in section [%.32s]", key,
				section);
	return key_set(c, k, key, value, &m);
}

/* Stop the parse at the current line, with "line N: " and the message. */
static char *__attribute__((format(printf, 2, 3)))
load_refuse(struct cfg_load *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	l->rc = -EINVAL;
	l->err_line = l->line;
	n = snprintf(l->msg, sizeof(l->msg), "line %d: ", l->line);
	va_start(ap, fmt);
	vsnprintf(l->msg + n, sizeof(l->msg) - (size_t)n, fmt, ap);
	va_end(ap);
	return NULL;
}

/*
 * inih's line reader. Counting lines here gives the handler its line number
 * (this inih is built without INI_HANDLER_LINENO); returning NULL after the
 * first error stops the parse there. A line longer than inih's buffer would
 * be split into two lines by inih, so it is refused. Bytes are counted as
 * they are read (fgets would hide a NUL byte's position, and with it the
 * length), and a NUL byte is refused.
 */
static char *load_read(char *buf, int size, void *stream)
{
	struct cfg_load *l = stream;
	size_t n = 0;
	int ch = 0;

	if (l->rc)
		return NULL;
	while (n + 1 < (size_t)size && ch != '\n' && (ch = getc(l->f)) != EOF)
		buf[n++] = (char)ch;
	buf[n] = '\0';
	if (ferror(l->f)) {
		l->read_errno = errno ? errno : EIO;
		return NULL;
	}
	if (n == 0)
		return NULL;
	l->line++;
	if (memchr(buf, '\0', n))
		return load_refuse(l, "NUL byte");
	if (n + 1 < (size_t)size || buf[n - 1] == '\n')
		return buf;
	/* A full buffer is fine only for a last line without a newline; a read
	 * error here shows on the next call, as the error flag stays set. */
	if (getc(l->f) == EOF)
		return buf;
	return load_refuse(l, "line too long (at most %d characters)",
			   size - 2);
}

/* inih's handler: nonzero is success. */
static int load_handler(void *user, const char *section, const char *name,
			const char *value)
{
	struct cfg_load *l = user;
	int rc;

	rc = cfg_set(&l->cfg, section, name, value, l->line, l->msg,
		     sizeof(l->msg));
	if (rc) {
		l->rc = rc;
		l->err_line = l->line;
		return 0;
	}
	return 1;
}

/* Run inih over l->f into l->cfg; the first error, if any, is in l->msg. */
static int load_parse(struct cfg_load *l)
{
	int r;

	r = ini_parse_stream(load_read, l, load_handler, l);
	if (r < 0) {
		snprintf(l->msg, sizeof(l->msg), "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	/* inih returns the first bad line, a syntax error or ours. */
	if (r > 0 && (!l->rc || r < l->err_line)) {
		snprintf(l->msg, sizeof(l->msg), "line %d: syntax error", r);
		return -EINVAL;
	}
	if (l->rc)
		return l->rc;
	if (l->read_errno) {
		snprintf(l->msg, sizeof(l->msg), "%s", strerror(l->read_errno));
		return -l->read_errno;
	}
	return 0;
}

int cfg_load_file(struct cfg *c, const char *path, char *err, size_t errlen)
{
	struct cfg_msg m = {.buf = err, .len = errlen};
	struct cfg_load l = {.f = NULL};
	int rc;

	if (!path)
		return cfg_fail(&m, -EINVAL, "no file name");
	l.f = fopen(path, "re");
	if (!l.f) {
		rc = -errno;
		return cfg_fail(&m, rc, "%.128s: %s", path, strerror(-rc));
	}
	rc = cfg_copy(&l.cfg, c);
	if (rc)
		snprintf(l.msg, sizeof(l.msg), "%s", strerror(-rc));
	else
		rc = load_parse(&l);
	fclose(l.f);
	if (rc) {
		cfg_free(&l.cfg);
		return cfg_fail(&m, rc, "%.128s: %s", path, l.msg);
	}
	cfg_free(c);
	*c = l.cfg;
	return 0;
}
