/*
 * sysop: make exact system calls on the mount and print their errno by
 * name, for the limits and hostile-input integration tests.
 *
 *   sysop mkdir PATH            mkdir(PATH, 0700)
 *   sysop rmdir PATH            rmdir(PATH)
 *   sysop truncate PATH LEN     truncate(PATH, LEN)
 *   sysop FLAGS PATH            open(PATH, FLAGS) then close
 *   sysop FLAGS PATH CMD...     open, then run the commands on that fd
 *
 * mkdir, rmdir, truncate and a bare open print "OK" or the errno name
 * (ENOSPC). With commands, a failed open prints "open:ENAME" and nothing
 * else; each command prints one line, "OK N" (bytes or offset) or "ENAME":
 *
 *   w TEXT           write(fd, TEXT)          TEXT takes \n \t \\ \0 \xHH
 *   pw OFF TEXT      pwrite(fd, TEXT, OFF)
 *   wf FILE          FILE's bytes in one write(2)
 *   wc FILE CHUNK    FILE's bytes in write(2)s of CHUNK bytes each, going
 *                    on after failures: "writes=K ok=A failed=F n=BYTES"
 *   r LEN            read(fd, LEN)
 *   p OFF LEN        pread(fd, LEN, OFF)
 *   s OFF WHENCE     lseek(fd, OFF, SET|CUR|END)
 *
 * FLAGS is a comma list of rdonly, wronly, rdwr, trunc, append, nonblock,
 * direct, creat. Numbers take 0x and may be negative (an offset of -1
 * reaches the kernel as is). The exit status is 0 once every call was
 * made, whatever it returned, and 2 on bad usage.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The largest read or write; page aligned, so that the kernel cuts a big
 * write into requests at page multiples of its start. */
static _Alignas(4096) char buf[16 << 20];

static void usage(const char *why)
{
	fprintf(stderr, "sysop: %s\n", why);
	exit(2);
}

static const char *errname(int e)
{
	const char *s = strerrorname_np(e);

	return s ? s : "UNKNOWN";
}

static long long num(const char *s)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 0);
	if (errno || *end || end == s)
		usage("bad number");
	return v;
}

static size_t len_arg(const char *s)
{
	long long v = num(s);

	if (v < 0 || (size_t)v > sizeof(buf))
		usage("bad length");
	return (size_t)v;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	usage("bad \\x escape");
	return 0;
}

/* Decode TEXT's escapes into buf; returns its length. */
static size_t unescape(const char *s)
{
	size_t n = 0;

	while (*s && n < sizeof(buf)) {
		if (*s != '\\' || !s[1]) {
			buf[n++] = *s++;
			continue;
		}
		s++;
		switch (*s) {
		case 'n':
			buf[n++] = '\n';
			break;
		case 't':
			buf[n++] = '\t';
			break;
		case '0':
			buf[n++] = '\0';
			break;
		case 'x':
			if (!s[1] || !s[2])
				usage("bad \\x escape");
			buf[n++] = (char)(hexval(s[1]) * 16 + hexval(s[2]));
			s += 2;
			break;
		default:
			buf[n++] = *s;
		}
		s++;
	}
	return n;
}

static size_t slurp(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;
	ssize_t r;

	if (fd < 0)
		usage("cannot open the data file");
	while (n < sizeof(buf) && (r = read(fd, buf + n, sizeof(buf) - n)))
		if (r > 0)
			n += (size_t)r;
		else if (errno != EINTR)
			usage("cannot read the data file");
	close(fd);
	return n;
}

static int flags_arg(const char *list)
{
	static const struct {
		const char *name;
		int flag;
	} names[] = {
		{"rdonly", O_RDONLY}, {"wronly", O_WRONLY},
		{"rdwr", O_RDWR},     {"trunc", O_TRUNC},
		{"append", O_APPEND}, {"nonblock", O_NONBLOCK},
		{"direct", O_DIRECT}, {"creat", O_CREAT},
	};
	char *copy = strdup(list), *save = NULL, *w;
	int flags = O_CLOEXEC;
	size_t i;

	if (!copy)
		usage("out of memory");
	for (w = strtok_r(copy, ",", &save); w;
	     w = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (!strcmp(w, names[i].name))
				break;
		if (i == sizeof(names) / sizeof(names[0]))
			usage("bad open flag");
		flags |= names[i].flag;
	}
	free(copy);
	return flags;
}

static void report(ssize_t n, int e)
{
	if (n < 0)
		printf("%s\n", errname(e));
	else
		printf("OK %zd\n", n);
}

/* wc: every chunk gets its own write(2), failed or not. */
static void write_chunks(int fd, size_t len, size_t chunk)
{
	long long writes = 0, good = 0, bad = 0, bytes = 0;
	size_t off, n;

	if (chunk == 0)
		usage("bad chunk size");
	for (off = 0; off < len; off += n) {
		ssize_t w;

		n = len - off < chunk ? len - off : chunk;
		w = write(fd, buf + off, n);
		writes++;
		if (w < 0) {
			bad++;
		} else {
			good++;
			bytes += w;
		}
	}
	printf("writes=%lld ok=%lld failed=%lld n=%lld\n", writes, good, bad,
	       bytes);
}

static int whence_arg(const char *s)
{
	if (!strcmp(s, "SET"))
		return SEEK_SET;
	if (!strcmp(s, "CUR"))
		return SEEK_CUR;
	if (!strcmp(s, "END"))
		return SEEK_END;
	usage("bad whence");
	return 0;
}

/* Run the command at argv[0] on fd; return how many words it used. */
static int run(int fd, int argc, char **argv)
{
	const char *c = argv[0];
	ssize_t n;
	off_t o;

	if (!strcmp(c, "w") && argc >= 2) {
		n = write(fd, buf, unescape(argv[1]));
		report(n, errno);
		return 2;
	}
	if (!strcmp(c, "pw") && argc >= 3) {
		o = (off_t)num(argv[1]);
		n = pwrite(fd, buf, unescape(argv[2]), o);
		report(n, errno);
		return 3;
	}
	if (!strcmp(c, "wf") && argc >= 2) {
		n = write(fd, buf, slurp(argv[1]));
		report(n, errno);
		return 2;
	}
	if (!strcmp(c, "wc") && argc >= 3) {
		size_t len = slurp(argv[1]);

		write_chunks(fd, len, len_arg(argv[2]));
		return 3;
	}
	if (!strcmp(c, "r") && argc >= 2) {
		n = read(fd, buf, len_arg(argv[1]));
		report(n, errno);
		return 2;
	}
	if (!strcmp(c, "p") && argc >= 3) {
		o = (off_t)num(argv[1]);
		n = pread(fd, buf, len_arg(argv[2]), o);
		report(n, errno);
		return 3;
	}
	if (!strcmp(c, "s") && argc >= 3) {
		o = lseek(fd, (off_t)num(argv[1]), whence_arg(argv[2]));
		report(o < 0 ? -1 : (ssize_t)o, errno);
		return 3;
	}
	usage("bad command");
	return 0;
}

/* mkdir, rmdir, truncate: one call on a path. */
static int path_op(int argc, char **argv)
{
	int rc;

	if (!strcmp(argv[1], "mkdir")) {
		rc = mkdir(argv[2], 0700);
	} else if (!strcmp(argv[1], "rmdir")) {
		rc = rmdir(argv[2]);
	} else {
		if (argc != 4)
			usage("usage: sysop truncate PATH LEN");
		rc = truncate(argv[2], (off_t)num(argv[3]));
	}
	printf("%s\n", rc < 0 ? errname(errno) : "OK");
	return 0;
}

int main(int argc, char **argv)
{
	int fd, i;

	if (argc < 3)
		usage("usage: sysop {mkdir|rmdir|truncate|FLAGS} PATH [...]");
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(argv[1], "mkdir") || !strcmp(argv[1], "rmdir") ||
	    !strcmp(argv[1], "truncate"))
		return path_op(argc, argv);
	fd = open(argv[2], flags_arg(argv[1]), 0600);
	if (fd < 0) {
		printf("%s%s\n", argc > 3 ? "open:" : "", errname(errno));
		return 0;
	}
	if (argc == 3)
		printf("OK\n");
	for (i = 3; i < argc;)
		i += run(fd, argc - i, argv + i);
	if (close(fd) < 0)
		printf("close:%s\n", errname(errno));
	return 0;
}
