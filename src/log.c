/*
 * log: one line per message, to stderr in the foreground or to syslog
 * when daemonized. The only state is the threshold and the sink.
 */
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

#include "spawnfs/log.h"

static enum cfg_level log_level = CFG_LOG_INFO;
static bool log_syslog;

void log_setup(enum cfg_level level, bool use_syslog)
{
	log_level = level;
	if (use_syslog && !log_syslog)
		openlog("spawnfs", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_syslog = use_syslog;
}

void log_msg(enum cfg_level level, const char *fmt, ...)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	if (log_syslog) {
		vsyslog(prio[level], fmt, ap);
	} else {
		fprintf(stderr, "spawnfs: %s: ", names[level]);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}
