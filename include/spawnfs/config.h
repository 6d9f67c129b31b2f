/* config: daemon settings from defaults, an inih file and -o key=value. */
#ifndef SPAWNFS_CONFIG_H
#define SPAWNFS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

/* The configuration read without -c: the build sets it from the install
 * prefix (<sysconfdir>/spawnfs/spawnfs.ini). */
#ifndef CFG_DEFAULT_PATH
#define CFG_DEFAULT_PATH "/etc/spawnfs/spawnfs.ini"
#endif
#define CFG_ERR_MAX    256
#define CFG_OOM_KERNEL (-1001) /* oom_score_adj left as the kernel sets it */

enum cfg_level { CFG_LOG_ERROR, CFG_LOG_WARN, CFG_LOG_INFO, CFG_LOG_DEBUG };

/* A plain value record; every field has a default (cfg_defaults). */
struct cfg {
	char *shell;		/* [process] shell, "/bin/sh" */
	char *pty_term;		/* [process] pty_term, "xterm-256color" */
	char *cgroup;		/* [process] cgroup: "auto", "off" or a path */
	unsigned max_processes; /* [process] max_processes, 1024 */
	unsigned kill_grace_ms; /* [process] kill_grace, 2000ms */
	unsigned reap_after_ms; /* [process] reap_after, 0 (keep) */
	unsigned shutdown_timeout_ms; /* [process] shutdown_timeout, 5000ms */
	unsigned reap_new_ms;	   /* [process] reap_new_after, 60s (0 never) */
	unsigned max_handles;	   /* [process] max_handles, 16384 per slot */
	int oom_score_adj;	   /* [process] oom_score_adj, CFG_OOM_KERNEL */
	size_t buffer_size;	   /* [stream] buffer_size, 256K */
	size_t pipe_size;	   /* [stream] pipe_size, 64K */
	unsigned drain_timeout_ms; /* [stream] drain_timeout, 1000ms */
	bool events_off;	   /* [stream] events = off (default on) */
	unsigned stall_timeout_ms; /* [stream] stall_timeout, 0 (off) */
	size_t keep_max;       /* [stream] keep_max, 64M: output keep's most */
	size_t snapshot_max;   /* [stream] snapshot_max, 256M: .now copies */
	unsigned process_mode; /* [mount] process_mode, 0700 */
	unsigned busy_poll_us; /* [mount] busy_poll, 50us (0: never) */
	enum cfg_level log_level; /* [log] level, info */
	char **env;		  /* [env] "NAME=VALUE", NULL-terminated */
	size_t nenv;
};

/* Fill c with the built-in defaults (env: an empty NULL-terminated array).
 * Overwrites c without freeing it. Returns 0 or -ENOMEM. */
int cfg_defaults(struct cfg *c);

/* Release what c owns; c may then be reused with cfg_defaults. */
void cfg_free(struct cfg *c);

/*
 * Set one key. section may be NULL to search every section (for -o);
 * section "env" takes any NAME. lineno > 0 is named in the message.
 * With section NULL, key may also be "section.key" or "env.NAME".
 * Setting an env NAME again replaces its value. err may be NULL.
 * Returns 0, -EINVAL (unknown key or bad value; err holds a message naming
 * the key, the value and the line) or -ENOMEM.
 */
int cfg_set(struct cfg *c, const char *section, const char *key,
	    const char *value, int lineno, char *err, size_t errlen);

/*
 * Read an inih file into c (on top of what c holds). A missing file is
 * -ENOENT (the caller decides whether that is an error); a syntax error,
 * unknown key or bad value is -EINVAL with err naming file, line and key.
 * Stops at the first error and then leaves c as it was. A line may hold at
 * most 198 characters (inih's buffer); a longer one is -EINVAL, and so is
 * a NUL byte anywhere.
 */
int cfg_load_file(struct cfg *c, const char *path, char *err, size_t errlen);

/* Parse "256K", "1M", "4096" (suffixes K, M, G, powers of 1024). 0/-EINVAL. */
int cfg_parse_size(const char *s, size_t *out);

/* Parse a duration into milliseconds: "1500ms", "2s", "0.5s", "5m", "1h",
 * or a bare number in seconds when bare_is_seconds, else in milliseconds.
 * Values over a day, or not a whole number of ms, are -EINVAL. Returns
 * 0/-EINVAL; *out_ms is written only on success (also for sizes). */
int cfg_parse_ms(const char *s, bool bare_is_seconds, unsigned *out_ms);

#endif
