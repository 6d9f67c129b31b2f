/* ctl: the parser of control lines (pure: no syscalls, no logging). */
#ifndef SPAWNFS_CTL_H
#define SPAWNFS_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CTL_LINE_MAX (64 * 1024) /* longer lines: -E2BIG */
#define CTL_ARGV_MAX 4096	 /* more words: -E2BIG */

enum ctl_cmd {
	CTL_START,   /* arg: the command line, verbatim */
	CTL_EXEC,    /* argv/argc: program and arguments */
	CTL_CWD,     /* arg: directory */
	CTL_ENV,     /* arg: "NAME=VALUE" */
	CTL_UNSET,   /* arg: NAME */
	CTL_STDIN,   /* num: 1 pipe, 0 null */
	CTL_PTY,     /* num: 1 on (cols, rows), 0 off */
	CTL_TIMEOUT, /* ms: lifetime limit, 0 none */
	CTL_USER,    /* arg: user name */
	CTL_SIGNAL,  /* num: signal number */
	CTL_STOP,    /* ms: grace before KILL, -1 for the configured default */
	CTL_KILL,
	CTL_EOF,
	CTL_RESIZE,	   /* cols, rows */
	CTL_ENV_CLEAR,	   /* "env -": drop the slot's env and unset lines */
	CTL_FREEZE,	   /* freeze the tree */
	CTL_THAW,	   /* thaw it */
	CTL_MEMORY,	   /* value: memory.max in bytes, 0 none */
	CTL_CPUS,	   /* value: cpu.max in thousandths of a CPU, 0 none */
	CTL_PIDS,	   /* value: pids.max, 0 none */
	CTL_OUTPUT,	   /* value: keep window in bytes, 0 pause */
	CTL_RESTART,	   /* num: 0 no, 1 on-failure, 2 always */
	CTL_RESTART_DELAY, /* ms: the first delay */
	CTL_RESTART_LIMIT, /* num starts within ms */
};

/* One parsed line; owns arg and argv. */
struct ctl_line {
	enum ctl_cmd cmd;
	char *arg;
	char **argv; /* NULL-terminated */
	size_t argc;
	int num;
	long ms;
	unsigned cols, rows;
	uint64_t value;
};

/*
 * Split s[0..len) into words like a shell without expansion: blanks
 * separate, '...' is literal, "..." allows \" \\ \$ \` escapes, a
 * backslash outside quotes escapes the next character. Returns 0 with a
 * NULL-terminated *argv of *argc words (free with ctl_argv_free), -EINVAL
 * for an unterminated quote, a trailing backslash or a NUL byte,
 * -E2BIG past CTL_ARGV_MAX words, -ENOMEM.
 *
 * Blanks are ' ' and '\t' only ('\r' and '\n' are ordinary bytes). Quoted
 * parts join the text around them (a'b'"c" is "abc"); '' and "" make an
 * empty word. Inside "...", a backslash before any other byte stays. The
 * vector and each word are separate malloc blocks (see ctl_argv_free). On
 * error *argv is NULL and *argc 0.
 */
int ctl_split(const char *s, size_t len, char ***argv, size_t *argc);

/* Free a vector from ctl_split, or any NULL-terminated malloc'd vector of
 * malloc'd strings: each string up to the first NULL, then the vector.
 * NULL is a no-op. */
void ctl_argv_free(char **argv);

/*
 * Parse one line (without its newline; a trailing '\r' is not special).
 * Returns 0 and fills *out (release with ctl_line_free), -E2BIG for a line
 * over CTL_LINE_MAX, -EINVAL for an empty or unknown command or a bad
 * argument, -ENOMEM.
 *
 * The length check comes first; then a NUL byte anywhere is -EINVAL.
 * Leading blanks are skipped and the command word (lower case, exact) is
 * split off at the next blank. "start" takes the rest after the following
 * blanks verbatim into arg (trailing blanks kept; nothing left: -EINVAL).
 * Every other command splits the rest with ctl_split (its errors are
 * passed on) and checks the words:
 *   exec PROG [ARG...]    argv/argc = the words (PROG may be "")
 *   cwd DIR, user NAME    arg, one non-empty word
 *   env NAME=VALUE        arg, NAME is [A-Za-z_][A-Za-z0-9_]*, VALUE any
 *   env -                 cmd CTL_ENV_CLEAR, no arg
 *   unset NAME            arg, NAME as for env
 *   stdin pipe|null       num 1|0
 *   pty off|COLSxROWS     num 0, or num 1 with cols and rows
 *   timeout SECONDS       ms; SECONDS is digits with an optional fraction
 *                         ("5", "0.5", ".5", "5."), at most 31536000; a
 *                         remainder under 1 ms rounds up; 0 means none
 *   signal SIG            num, see ctl_signal_parse
 *   stop [SECONDS]        ms as for timeout, -1 when absent
 *   kill, eof             no words
 *   freeze, thaw          no words
 *   memory BYTES|max      value; digits with an optional K, M, G or T
 *                         (powers of 1024), 4K to 4T; max is 0 (none)
 *   cpus CPUS|max         value in thousandths of a CPU: a decimal with
 *                         an optional fraction, 0.01 to 1024; max is 0
 *   pids N|max            value, 1 to 4194304; max is 0
 *   resize COLSxROWS      cols, rows
 * On error *out holds nothing to release.
 */
int ctl_parse_line(const char *line, size_t len, struct ctl_line *out);

/*
 * Whether the command word of line (the first word after leading blanks,
 * as ctl_parse_line takes it) names a command. *word and *wlen give that
 * word (pointing into line; *wlen may be 0), so a caller can name an
 * unknown one in its message.
 */
bool ctl_command_known(const char *line, size_t len, const char **word,
		       size_t *wlen);

/* Release what *l owns; the struct itself is the caller's. */
void ctl_line_free(struct ctl_line *l);

/*
 * Iterate over the lines of a write: from *pos, set *line and *linelen to
 * the next line (a final line without '\n' counts; empty and blank lines
 * are skipped) and advance *pos. Returns false when no line is left.
 *
 * Blank means only ' ' and '\t'. A line whose first non-blank byte is '#'
 * is a comment and skipped as well. The line excludes its '\n' but keeps
 * anything else, so a CRLF line arrives with its '\r' (for the parser to
 * reject). Long lines are returned whole: the parser says -E2BIG.
 */
bool ctl_next_line(const char *buf, size_t len, size_t *pos, const char **line,
		   size_t *linelen);

/*
 * "TERM", "SIGTERM", "term", "15" -> 15; anything else -EINVAL. Names are
 * the Linux ones (HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2
 * PIPE ALRM TERM STKFLT CHLD CONT STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM
 * PROF WINCH IO PWR SYS), with or without "SIG", ASCII case-insensitive.
 * Numbers are plain decimal digits (leading zeros allowed) from 1 to 64.
 */
int ctl_signal_parse(const char *s);

/* 15 -> "TERM"; numbers without a name (0, 32..64, ...) -> NULL, so the
 * caller prints the number. The string is static. */
const char *ctl_signal_name(int sig);

/* "80x24" -> cols 80, rows 24 (each 1..65535). 0 or -EINVAL. Only
 * decimal digits around a lower-case 'x'; leading zeros are allowed. */
int ctl_parse_size(const char *s, unsigned *cols, unsigned *rows);

#endif
