/*
 * mountinfo: which mount is on top of a path. See mountinfo.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spawnfs/mountinfo.h"

/* Stacked mounts on one path that are told apart; more is absurd. */
#define MOUNTINFO_STACK 64

void mountinfo_unescape(char *s)
{
	char *o = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 |
				      (s[3] - '0'));
			s += 4;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
}

bool mountinfo_fields(char *line, char *f[5])
{
	char *save;
	int i;

	f[0] = strtok_r(line, " ", &save);
	for (i = 1; i < 5 && f[i - 1]; i++)
		f[i] = strtok_r(NULL, " ", &save);
	if (i < 5 || !f[4])
		return false;
	mountinfo_unescape(f[4]);
	return true;
}

/* From one line "ID PARENT MAJ:MIN ROOT POINT ...": its ID and parent,
 * and whether POINT is path. */
static bool line_at(const char *line, size_t len, const char *path, int *id,
		    int *parent)
{
	char buf[8192], *f[5];

	if (len >= sizeof(buf))
		return false;
	memcpy(buf, line, len);
	buf[len] = '\0';
	if (!mountinfo_fields(buf, f) || strcmp(f[4], path) != 0)
		return false;
	*id = atoi(f[0]);
	*parent = atoi(f[1]);
	return true;
}

int mountinfo_top(const char *text, const char *path)
{
	int ids[MOUNTINFO_STACK], parents[MOUNTINFO_STACK], n = 0, i, j;
	const char *nl;

	for (; *text; text = nl ? nl + 1 : text + strlen(text)) {
		nl = strchr(text, '\n');
		if (n < MOUNTINFO_STACK &&
		    line_at(text, nl ? (size_t)(nl - text) : strlen(text), path,
			    &ids[n], &parents[n]))
			n++;
	}
	/* The top is the one no other mount there sits on; the last such
	 * if the text is odd. */
	for (i = n - 1; i >= 0; i--) {
		for (j = 0; j < n && parents[j] != ids[i]; j++)
			;
		if (j == n)
			return ids[i];
	}
	return -ENOENT;
}

char *mountinfo_read(void)
{
	size_t len = 0, cap = 16384;
	char *text = malloc(cap), *bigger;
	ssize_t r;
	int fd;

	if (!text)
		return NULL;
	fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(text);
		return NULL;
	}
	while ((r = read(fd, text + len, cap - len - 1)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		len += (size_t)r;
		if (cap - len > 1)
			continue;
		bigger = realloc(text, cap * 2);
		if (!bigger) {
			r = -1;
			break;
		}
		text = bigger;
		cap *= 2;
	}
	close(fd);
	if (r < 0) {
		free(text);
		return NULL;
	}
	text[len] = '\0';
	return text;
}
