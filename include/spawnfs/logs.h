/*
 * logs: the numbers and names of a slot's logs, defined once. The first
 * LOGS_NPIPES are fed by a pipe each (or, on a pty, stdout by the
 * terminal); events is fed by both.
 */
#ifndef SPAWNFS_LOGS_H
#define SPAWNFS_LOGS_H

enum logs_id { LOGS_STDOUT, LOGS_STDERR, LOGS_EVENTS, LOGS_N };

#define LOGS_NPIPES 2

/* "stdout", "stderr", "events"; "?" out of range. */
static inline const char *logs_name(unsigned log)
{
	static const char *const names[LOGS_N] = {"stdout", "stderr", "events"};

	return log < LOGS_N ? names[log] : "?";
}

#endif
