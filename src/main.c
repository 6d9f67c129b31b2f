/*
 * main: the command line, the configuration, logging, the mount, the
 * loop and the orderly unwind. Exit codes: 0 after a clean unmount, 1 on
 * a runtime failure, 2 for a usage or configuration error.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <fuse_lowlevel.h>

#include "spawnfs/arena.h"
#include "spawnfs/cgroup.h"
#include "spawnfs/config.h"
#include "spawnfs/fs.h"
#include "spawnfs/log.h"
#include "spawnfs/spawn.h"
#include "spawnfs/loop.h"
#include "spawnfs/state.h"
#include "spawnfs/upgrade.h"

#define EXIT_USAGE 2

struct opts {
	bool foreground, debug;
	const char *config;
	const char *mountpoint;
	const char *source; /* mount(8)'s SOURCE, the mount table's fsname */
	char *fuse_opts;    /* comma-separated mount options for libfuse */
	bool allow_other;
	bool read_only;
	const char *upgrade; /* --upgrade MOUNTPOINT: the client */
	int check_fd;	     /* --check-state FD; -1: not */
	char **argv;	     /* as given: an upgrade runs it again */
	char *cwd;	     /* where it was given (relative paths) */
};

struct daemon {
	struct loop *loop;
	struct fs *fs;
	struct cgroup_root *cg; /* the runs' cgroup parent; NULL: none */
	struct upgrade *up;
	bool stopping;
};

static const char usage_text[] =
	"usage: spawnfs [-f] [-d] [-c FILE] [-o OPT[,OPT...]] MOUNTPOINT\n"
	"       spawnfs --upgrade MOUNTPOINT\n"
	"\n"
	"  -f, --foreground  stay in the foreground\n"
	"  -d, --debug       debug logging (implies -f)\n"
	"  -c, --config FILE configuration file (default " CFG_DEFAULT_PATH
	")\n"
	"  -o OPT,...        mount options (allow_other, default_permissions,\n"
	"                    ro) and configuration keys as key=value\n"
	"  -h, --help        this help\n"
	"  -V, --version     the version\n"
	"  --upgrade MOUNTPOINT  replace the program of the daemon serving\n"
	"                    MOUNTPOINT in place (jobs, open files and\n"
	"                    waiting reads go on); exit 0 once it serves\n"
	"  --check-state FD  (used by an upgrade) check a saved state\n"
	"\n"
	"Each slot: ctl, stdin, stdout, stderr, events, status, wait, and the\n"
	"snapshots stdout.now, stderr.now, events.now (the window at open).\n"
	"ctl lines for jobs left alone: output keep SIZE (never pause, keep\n"
	"the last SIZE bytes) or output pause; restart no|on-failure|always,\n"
	"restart_delay DURATION, restart_limit N/DURATION.\n"
	"\n"
	"SIGTERM, SIGINT, SIGHUP or an unmount stop every run; readers get\n"
	"end of file, and the tree is unmounted once they close (at most\n"
	"shutdown_timeout later). SIGUSR2 upgrades in place: the daemon\n"
	"runs the program it was started from again, keeping everything.\n";

static int opts_append(char **list, const char *opt)
{
	size_t old = *list ? strlen(*list) : 0;
	char *grown = realloc(*list, old + strlen(opt) + 2);

	if (!grown)
		return -ENOMEM;
	if (old)
		grown[old++] = ',';
	strcpy(grown + old, opt);
	*list = grown;
	return 0;
}

/* Mount options from fstab that mean nothing for this tree (it keeps no
 * access times) and that libfuse would refuse: accepted and dropped. dev
 * and suid too, which mount.fuse3 adds: the tree holds neither devices
 * nor set-id programs, so it is always nosuid,nodev, as a direct mount. */
static bool opt_ignored(const char *tok)
{
	static const char *const ignored[] = {
		"relatime", "norelatime", "strictatime", "nostrictatime",
		"atime",    "noatime",	  "diratime",	 "nodiratime",
		"lazytime", "nolazytime", "mand",	 "nomand",
		"defaults", "auto",	  "noauto",	 "nofail",
		"_netdev",  "dev",	  "suid"};
	size_t i;

	if (strncmp(tok, "x-", 2) == 0)
		return true;
	for (i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		if (strcmp(tok, ignored[i]) == 0)
			return true;
	return false;
}

/* Split one -o argument: config keys go to cfg, the rest to libfuse.
 * A copy is split, so that ps still shows the options as given. */
static int opts_split(struct opts *o, struct cfg *cfg, const char *given)
{
	char err[CFG_ERR_MAX], *tok, *save = NULL, *eq, *arg = strdup(given);
	int rc = 0;

	if (!arg)
		return -ENOMEM;
	for (tok = strtok_r(arg, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		eq = strchr(tok, '=');
		if (eq && strncmp(tok, "fsname=", 7) != 0 &&
		    strncmp(tok, "subtype=", 8) != 0) {
			*eq = '\0';
			rc = cfg_set(cfg, NULL, tok, eq + 1, 0, err,
				     sizeof(err));
			if (rc < 0) {
				fprintf(stderr, "spawnfs: -o %s: %s\n", tok,
					err);
				break;
			}
			continue;
		}
		if (opt_ignored(tok))
			continue;
		if (strcmp(tok, "allow_other") == 0)
			o->allow_other = true;
		if (strcmp(tok, "ro") == 0)
			o->read_only = true;
		if (strcmp(tok, "rw") == 0)
			o->read_only = false;
		rc = opts_append(&o->fuse_opts, tok);
		if (rc < 0)
			break;
	}
	free(arg);
	return rc;
}

/* The -o overrides are applied after the file, so keep them. */
static int parse_args(int argc, char **argv, struct opts *o, char ***ovr,
		      size_t *novr)
{
	static const struct option longs[] = {
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{"foreground", no_argument, NULL, 'f'},
		{"debug", no_argument, NULL, 'd'},
		{"config", required_argument, NULL, 'c'},
		{"upgrade", required_argument, NULL, 'U'},
		{"check-state", required_argument, NULL, 'K'},
		{"spawner", required_argument, NULL, 'S'},
		{NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "fdc:o:hV", longs, NULL)) != -1) {
		switch (c) {
		case 'f':
			o->foreground = true;
			break;
		case 'd':
			o->debug = o->foreground = true;
			break;
		case 'c':
			o->config = optarg;
			break;
		case 'o':
			(*ovr)[(*novr)++] = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		case 'V':
			printf("spawnfs %s\n", SPAWNFS_VERSION);
			exit(0);
		case 'U':
			o->upgrade = optarg;
			return 0;
		case 'K':
			o->check_fd = atoi(optarg);
			break;
		case 'S': /* the daemon's spawner (see spawn.h) */
			exit(spawn_serve(atoi(optarg)));
		default:
			fputs(usage_text, stderr);
			return -EINVAL;
		}
	}
	/* mount(8) passes "SOURCE MOUNTPOINT": the source names the mount. */
	o->source = argc - optind == 2 ? argv[optind] : "spawnfs";
	if (argc - optind < 1 || argc - optind > 2) {
		fputs(usage_text, stderr);
		return -EINVAL;
	}
	o->mountpoint = argv[argc - 1];
	return 0;
}

/* The mount table shows "SOURCE MOUNTPOINT fuse.spawnfs", so mount -a
 * knows an fstab line is mounted already. A name with a comma or a
 * backslash would break the option list: it stays "spawnfs". */
static int opts_name(struct opts *o)
{
	char opt[PATH_MAX + 16];
	const char *name = strpbrk(o->source, ",\\") ? "spawnfs" : o->source;

	if ((!o->fuse_opts || !strstr(o->fuse_opts, "subtype=")) &&
	    opts_append(&o->fuse_opts, "subtype=spawnfs") < 0)
		return -ENOMEM;
	if (o->fuse_opts && strstr(o->fuse_opts, "fsname="))
		return 0;
	snprintf(opt, sizeof(opt), "fsname=%s", name);
	return opts_append(&o->fuse_opts, opt) < 0 ? -ENOMEM : 0;
}

static int load_config(struct opts *o, struct cfg *cfg, char **ovr, size_t novr)
{
	char err[CFG_ERR_MAX];
	const char *path = o->config ? o->config : CFG_DEFAULT_PATH;
	size_t i;
	int rc;

	rc = cfg_load_file(cfg, path, err, sizeof(err));
	if (rc == -ENOENT && !o->config)
		rc = 0;
	if (rc < 0) {
		fprintf(stderr, "spawnfs: %s\n", err);
		return rc;
	}
	for (i = 0; i < novr; i++) {
		rc = opts_split(o, cfg, ovr[i]);
		if (rc < 0)
			return rc;
	}
	if (o->allow_other &&
	    (!o->fuse_opts || !strstr(o->fuse_opts, "default_permissions")) &&
	    opts_append(&o->fuse_opts, "default_permissions") < 0)
		return -ENOMEM;
	return opts_name(o);
}

static void warn_request_timeouts(void)
{
	static const char *const files[] = {
		"/proc/sys/fs/fuse/max_request_timeout",
		"/proc/sys/fs/fuse/default_request_timeout"};
	unsigned long v;
	size_t i;
	FILE *f;

	for (i = 0; i < 2; i++) {
		f = fopen(files[i], "re");
		if (!f)
			continue;
		if (fscanf(f, "%lu", &v) == 1 && v != 0)
			log_warn("%s is %lu: the kernel will abort the mount "
				 "when a waiting read outlives it",
				 files[i], v);
		fclose(f);
	}
}

static void daemon_stop(struct daemon *d)
{
	if (d->stopping)
		return;
	d->stopping = true;
	log_info("stopping");
	fs_shutdown(d->fs);
}

static void on_signal(void *arg, int signo)
{
	struct daemon *d = arg;

	/* A second signal while stopping: stop waiting for the children. */
	if (d->stopping) {
		log_warn("signal %d while stopping: exiting now", signo);
		loop_quit(d->loop);
		return;
	}
	daemon_stop(d);
}

static void on_upgrade(void *arg, int signo)
{
	struct daemon *d = arg;

	(void)signo;
	upgrade_request(d->up);
}

static void on_ended(void *arg)
{
	daemon_stop(arg);
}

static void on_stopped(void *arg)
{
	struct daemon *d = arg;

	loop_quit(d->loop);
}

static const struct fs_hooks daemon_hooks = {
	.ended = on_ended,
	.stopped = on_stopped,
};

/* A daemon that died left its mount behind: say how to clear it. */
static int check_mountpoint(const char *mnt)
{
	struct stat st;

	if (stat(mnt, &st) == 0 || errno != ENOTCONN)
		return 0;
	fprintf(stderr,
		"spawnfs: %s: %s: a dead mount is in the way; "
		"run 'fusermount3 -u %s' first\n",
		mnt, strerror(ENOTCONN), mnt);
	return -ENOTCONN;
}

/* The signals that stop the daemon, watched from this process. After
 * fuse_daemonize the process is a new one: the loop's signalfd is made
 * anew in it first, or no signal would ever wake the loop. */
static int watch_signals(struct daemon *d, bool forked)
{
	if (forked && loop_forked(d->loop) < 0)
		return -1;
	if (loop_signal(d->loop, SIGTERM, on_signal, d) < 0 ||
	    loop_signal(d->loop, SIGINT, on_signal, d) < 0 ||
	    loop_signal(d->loop, SIGHUP, on_signal, d) < 0 ||
	    loop_signal(d->loop, SIGUSR2, on_upgrade, d) < 0)
		return -1;
	return 0;
}

/* The open-file limit the daemon started with, for its children. */
static struct rlimit nofile_orig;
static bool nofile_raised;

/* Raise the daemon's open-file limit to its hard limit (each running
 * slot holds its two pipes); children get the limit it started with. */
static void raise_nofile(void)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r) < 0 || r.rlim_cur >= r.rlim_max)
		return;
	nofile_orig = r;
	r.rlim_cur = r.rlim_max;
	nofile_raised = setrlimit(RLIMIT_NOFILE, &r) == 0;
}

static int serve(struct opts *o, const struct cfg *cfg)
{
	char *fargv[] = {"spawnfs", "-o", o->fuse_opts, NULL};
	struct fuse_args args = FUSE_ARGS_INIT(o->fuse_opts ? 3 : 1, fargv);
	struct daemon d = {0};
	char *abs;
	int rc = 1;

	if (check_mountpoint(o->mountpoint) < 0)
		return 1;
	rc = arena_init();
	if (rc < 0) {
		log_error("log memory (memfd): %s", strerror(-rc));
		return 1;
	}
	rc = 1;
	d.loop = loop_new();
	if (!d.loop) {
		log_error("loop: %s", strerror(errno));
		return 1;
	}
	loop_set_busy_poll(d.loop, cfg->busy_poll_us);
	/* Before any run: the leaves a dead daemon left are killed here. */
	abs = realpath(o->mountpoint, NULL);
	d.cg = cgroup_root_open(cfg->cgroup, abs ? abs : o->mountpoint);
	free(abs);
	d.fs = fs_new(d.loop, cfg, &args, o->read_only ? FS_READ_ONLY : 0,
		      nofile_raised ? &nofile_orig : NULL, d.cg, &daemon_hooks,
		      &d);
	fuse_opt_free_args(&args); /* libfuse may have grown them */
	if (!d.fs) {
		cgroup_root_close(d.cg);
		loop_free(d.loop);
		return EXIT_USAGE; /* libfuse said which option it refused */
	}
	if (fs_mount(d.fs, o->mountpoint) < 0) {
		log_error("cannot mount on %s", o->mountpoint);
		goto out;
	}
	if (!o->foreground && fuse_daemonize(0) < 0)
		goto out;
	fs_started(d.fs);
	if (watch_signals(&d, !o->foreground) < 0) {
		log_error("signals: %s", strerror(errno));
		goto out;
	}
	d.up = upgrade_new(d.loop, d.fs, d.cg, o->argv, o->cwd,
			   nofile_raised ? &nofile_orig : NULL);
	if (!d.up)
		log_warn("upgrade in place: %s", strerror(errno));
	log_info("serving %s", o->mountpoint);
	rc = loop_run(d.loop) < 0 ? 1 : 0;
out:
	upgrade_free(d.up);
	fs_free(d.fs);
	cgroup_root_close(d.cg);
	loop_free(d.loop);
	return rc;
}

/* The next image of an upgrade in place: the state at fd replaces what
 * a fresh daemon would make (mount, cgroup parent, daemonizing). A
 * state this program cannot load ends the daemon (and its runs): the
 * check before the exec is there so that this does not happen. */
static int resume(struct opts *o, const struct cfg *cfg, int fd)
{
	char *fargv[] = {"spawnfs", "-o", o->fuse_opts, NULL};
	struct fuse_args args = FUSE_ARGS_INIT(o->fuse_opts ? 3 : 1, fargv);
	struct upgrade_head h;
	struct daemon d = {0};
	struct state_r r;
	const char *why = "";
	int rc = 1;

	if (upgrade_load_begin(fd, &r, &h, &why) < 0) {
		log_error("upgrade: cannot take over: %s", why);
		return 1;
	}
	if (h.have_nofile) {
		nofile_orig = h.nofile;
		nofile_raised = true;
	}
	d.loop = loop_new();
	if (!d.loop) {
		log_error("loop: %s", strerror(errno));
		return 1;
	}
	loop_set_busy_poll(d.loop, cfg->busy_poll_us);
	d.cg = cgroup_root_load(&r);
	d.fs = fs_new(d.loop, cfg, &args, o->read_only ? FS_READ_ONLY : 0,
		      nofile_raised ? &nofile_orig : NULL, d.cg, &daemon_hooks,
		      &d);
	fuse_opt_free_args(&args);
	if (!d.fs || fs_load(d.fs, &r) < 0 || upgrade_load_done(&r) < 0) {
		log_error("upgrade: cannot take over: %s", r.why);
		goto out;
	}
	if (watch_signals(&d, false) < 0) {
		log_error("signals: %s", strerror(errno));
		goto out;
	}
	d.up = upgrade_new(d.loop, d.fs, d.cg, o->argv, o->cwd,
			   nofile_raised ? &nofile_orig : NULL);
	fs_resumed(d.fs, upgrade_now_usec() - h.t0_usec);
	fs_started(d.fs); /* a spawner if the old image had none */
	/* Started where the first image was (for its relative paths); a
	 * daemon in the background lives in / as fuse_daemonize left it. */
	if (!o->foreground && chdir("/") < 0)
		log_warn("chdir /: %s", strerror(errno));
	log_info("serving %s (upgraded in place)", o->mountpoint);
	rc = loop_run(d.loop) < 0 ? 1 : 0;
out:
	upgrade_free(d.up);
	fs_free(d.fs);
	cgroup_root_close(d.cg);
	loop_free(d.loop);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o = {.check_fd = -1, .argv = argv};
	const char *state = getenv(UPGRADE_ENV);
	int saved_fd = state ? atoi(state) : -1;
	struct cfg cfg;
	char **ovr = calloc((size_t)argc, sizeof(char *));
	size_t novr = 0;
	int rc;

	if (!ovr || cfg_defaults(&cfg) < 0) {
		free(ovr);
		return 1;
	}
	if (state)
		unsetenv(UPGRADE_ENV); /* not the runs' */
	o.cwd = getcwd(NULL, 0);
	rc = parse_args(argc, argv, &o, &ovr, &novr);
	if (rc == 0 && o.upgrade) {
		free(ovr);
		free(o.cwd);
		cfg_free(&cfg);
		return upgrade_client(o.upgrade);
	}
	if (rc == 0)
		rc = load_config(&o, &cfg, ovr, novr);
	free(ovr);
	if (rc < 0) {
		cfg_free(&cfg);
		free(o.fuse_opts);
		free(o.cwd);
		return EXIT_USAGE;
	}
	if (o.check_fd >= 0) {
		rc = upgrade_check(o.check_fd);
		cfg_free(&cfg);
		free(o.fuse_opts);
		free(o.cwd);
		return rc;
	}
	log_setup(o.debug ? CFG_LOG_DEBUG : cfg.log_level, !o.foreground);
	warn_request_timeouts();
	raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	/* Buffers of 64 KiB and more (the logs' rings) come from mmap and go
	 * back to the system when freed: glibc would otherwise raise the
	 * threshold after the first free and keep them in its heap. */
	mallopt(M_MMAP_THRESHOLD, 64 * 1024);
	rc = saved_fd >= 0 ? resume(&o, &cfg, saved_fd) : serve(&o, &cfg);
	arena_release();
	cfg_free(&cfg);
	free(o.fuse_opts);
	free(o.cwd);
	return rc;
}
