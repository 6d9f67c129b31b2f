/*
 * cgroup: the daemon's cgroup v2 parent and the files of the leaves
 * below it. At start the daemon finds the cgroup2 mount (pure v2 or the
 * hybrid "unified" mount) and its own cgroup, makes
 * spawnfs-<mount point escaped as systemd does>/ there, kills and removes
 * what a dead daemon left in it, and moves itself into its "daemon"
 * leaf; each run then gets a leaf of its own beside it. The parsers of
 * /proc/self/mountinfo, /proc/self/cgroup, cgroup.events and cpu.stat
 * and the escaping are pure; the rest are the syscalls on cgroupfs.
 */
#ifndef SPAWNFS_CGROUP_H
#define SPAWNFS_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CGROUP_PATH_MAX 4096

struct cgroup_root;

/* The leaf's cpu.stat (usage, user, system, in microseconds). */
struct cgroup_cpu {
	uint64_t usage_usec, user_usec, system_usec;
};

/* ---- pure ---- */

/* The mount point of the cgroup2 file system in a mountinfo text; 0, or
 * -ENOENT if there is none, -ENAMETOOLONG. */
int cgroup_mount_parse(const char *mountinfo, char *out, size_t size);

/* The v2 path ("0::PATH") in a /proc/self/cgroup text; 0 or -ENOENT,
 * -ENAMETOOLONG. */
int cgroup_self_parse(const char *text, char *out, size_t size);

/*
 * The name of the daemon's parent for a mount point: "spawnfs-" then the
 * path escaped as systemd-escape --path does ("/" between parts becomes
 * "-", bytes other than [A-Za-z0-9:_.], and a '.' that starts the path,
 * become \xNN;
 * the root is "-"); a name longer than NAME_MAX is cut and ends in a
 * 16-digit hash of the whole path. out needs 256 bytes. 0 or -EINVAL
 * (not absolute), -ENAMETOOLONG (size).
 */
int cgroup_parent_name(const char *mountpoint, char *out, size_t size);

/* "populated N" and "frozen N" of a cgroup.events text. 0 or -EINVAL. */
int cgroup_events_parse(const char *text, bool *populated, bool *frozen);

/* usage_usec, user_usec and system_usec of a cpu.stat text. 0 or
 * -EINVAL. */
int cgroup_cpu_parse(const char *text, struct cgroup_cpu *cpu);

/* Whether the space-separated list (cgroup.controllers or
 * cgroup.subtree_control) names controller. */
bool cgroup_list_has(const char *list, const char *controller);

/* ---- the daemon's parent ---- */

/*
 * Set up the parent for mountpoint: setting is "auto" (the daemon's own
 * cgroup), "off", or a cgroup path below the cgroup2 mount. NULL when
 * off or when no writable cgroup2 is there (logged; runs then use
 * process groups). Stale leaves of a dead daemon are killed (logged)
 * and removed; if a live daemon owns the parent, a separate one is used.
 */
struct cgroup_root *cgroup_root_open(const char *setting,
				     const char *mountpoint);

/* Move the daemon back where it was and remove its leaf and the parent
 * (when empty). NULL is a no-op. */
void cgroup_root_close(struct cgroup_root *cg);

/* Whether controller is enabled for the leaves (it was already, or the
 * daemon could enable it in the parent's cgroup.subtree_control). */
bool cgroup_root_has(const struct cgroup_root *cg, const char *controller);

/* ---- leaves ---- */

/* Make leaf name below the parent; its directory fd (O_CLOEXEC) or
 * -errno. */
int cgroup_leaf_make(struct cgroup_root *cg, const char *name);

/* Remove leaf name (it must be empty). 0 or -errno. */
int cgroup_leaf_remove(struct cgroup_root *cg, const char *name);

/* The leaf's directory, opened anew (O_CLOEXEC), or -errno. */
int cgroup_leaf_open(const struct cgroup_root *cg, const char *name);

/* The path of leaf name's file below the cgroup2 mount, for inotify. */
int cgroup_leaf_file(const struct cgroup_root *cg, const char *name,
		     const char *file, char *out, size_t size);

/* Write text into file of the cgroup at dirfd. 0 or -errno. */
int cgroup_write(int dirfd, const char *file, const char *text);

/* Read file of the cgroup at dirfd into buf (NUL-terminated). Its
 * length or -errno. */
ssize_t cgroup_read(int dirfd, const char *file, char *buf, size_t size);

/* The number of processes in the cgroup at dirfd (its cgroup.procs);
 * 0 when it cannot be read. */
unsigned cgroup_count(int dirfd);

/* Send sig to every process in the cgroup at dirfd. The number
 * signalled, or -errno. */
int cgroup_signal(int dirfd, int sig);

/* An upgrade in place: the parent the runs live below (or none) and its
 * directory's fd (inherited). The daemon stays in its leaf: a loaded
 * root is the same parent, not a second one, and nothing is killed. */
struct state_w;
struct state_r;
void cgroup_root_save(const struct cgroup_root *cg, struct state_w *w);
struct cgroup_root *cgroup_root_load(struct state_r *r);

#endif
