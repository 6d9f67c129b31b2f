/*
 * mountinfo: which mount is on top of a path, from /proc/self/mountinfo.
 * An unmount by path takes the topmost mount there, so a daemon whose
 * mount another one was mounted over (two daemons on one mount point, or
 * a new daemon after a lazy unmount of the old) would unmount the other
 * daemon's tree: fs asks here first. The parser is pure; mountinfo_read
 * is the one read of /proc.
 */
#ifndef SPAWNFS_MOUNTINFO_H
#define SPAWNFS_MOUNTINFO_H

#include <stdbool.h>

/* The mount ID of the topmost mount whose mount point is path (absolute,
 * as mountinfo shows it once its \ooo escapes are undone) in a mountinfo
 * text: the one that no other mount at path is mounted on. -ENOENT when
 * nothing is mounted there. */
int mountinfo_top(const char *text, const char *path);

/* Undo mountinfo's \ooo escapes (of space, tab, newline, backslash) in
 * place. */
void mountinfo_unescape(char *s);

/* Split a mountinfo line ("ID PARENT MAJ:MIN ROOT POINT ...") in place:
 * f[0..4] get its first five fields, POINT unescaped. false when the
 * line has fewer. */
bool mountinfo_fields(char *line, char *f[5]);

/* /proc/self/mountinfo, NUL-terminated, to free(); NULL with errno. */
char *mountinfo_read(void);

#endif
