/* log: leveled logging to stderr (foreground) or syslog (daemon). */
#ifndef SPAWNFS_LOG_H
#define SPAWNFS_LOG_H

#include <stdbool.h>

#include "spawnfs/config.h"

/* Choose the threshold and the sink; syslog opens "spawnfs". */
void log_setup(enum cfg_level level, bool use_syslog);

void log_msg(enum cfg_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(CFG_LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(CFG_LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(CFG_LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(CFG_LOG_DEBUG, __VA_ARGS__)

#endif
