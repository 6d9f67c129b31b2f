# mount(8) and /etc/fstab: "mount -t fuse.spawnfs spawnfs DIR
# -o allow_other" and the fstab line "spawnfs DIR fuse.spawnfs
# allow_other,nofail 0 0" with "mount DIR" both go through mount.fuse3,
# which starts "spawnfs spawnfs DIR -o OPTIONS" through /bin/sh. The
# daemon must accept what mount(8) and mount.fuse3 add (rw, dev, suid),
# detach once mounted so that mount returns, run a job, and exit when
# unmounted. The mount table must then name it as fstab does (source
# spawnfs, type fuse.spawnfs), or "mount -a" mounts it a second time.
#
# The test runs in a private mount namespace: /etc/fstab there is a bind
# of a copy with the line added, and /usr/local/bin (where cmake --install
# puts spawnfs, in the shell's default PATH, which is what mount.fuse3's
# shell uses since mount(8) clears PATH) a bind of a directory holding a
# "spawnfs" that records its arguments and runs the built binary. So the
# real /etc/fstab and /usr/local/bin are never written, even if the test is killed; the
# outer run checks that /etc/fstab is byte for byte what it was.
#
# mount(8) starts the daemon, not the harness: under SPAWNFS_WRAP (a
# valgrind run) the daemon runs without the wrapper.
set -euo pipefail
if [ -z "${SPAWNFS_OPS_NS:-}" ]; then
	: "${SPAWNFS:?path to the spawnfs binary}"
	cp -p /etc/fstab "/tmp/spawnfs-t_ops_fstab.fstab.$$"
	rc=0
	SPAWNFS_OPS_NS=1 unshare -m --propagation private bash "$0" || rc=$?
	if ! cmp -s /etc/fstab "/tmp/spawnfs-t_ops_fstab.fstab.$$"; then
		echo "FAIL: t_ops_fstab: /etc/fstab changed" >&2
		rc=1
	fi
	rm -f "/tmp/spawnfs-t_ops_fstab.fstab.$$"
	exit $rc
fi

. "$(dirname "$0")/lib.sh"
if [ -n "${SPAWNFS_WRAP:-}" ]; then
	echo "note: SPAWNFS_WRAP ignored: mount(8) starts the daemon"
	unset SPAWNFS_WRAP
fi
for t in mount umount findmnt /sbin/mount.fuse3; do
	command -v "$t" >/dev/null || fail "$t is not installed"
done
[ -d /usr/local/bin ] || fail "no /usr/local/bin to put spawnfs in PATH"
[ ! -e /usr/local/sbin/spawnfs ] || fail "a spawnfs in /usr/local/sbin would come first"
# mount(8) turns a source that names a file in the current directory
# (such as a build directory's spawnfs) into its absolute path.
cd /

# Daemons found on $MNT (mount starts them; they are not our children).
DAEMONS=
ops_cleanup() {
	local p
	cd /
	for _ in 1 2 3 4 5; do
		grep -q " $MNT fuse" /proc/self/mounts || break
		umount -l "$MNT" 2>/dev/null || true
	done
	for p in $DAEMONS $(daemon_pids); do
		kill -0 "$p" 2>/dev/null && ! pid_dead "$p" || continue
		echo "killing daemon $p left running" >&2
		kill -9 "$p" 2>/dev/null || true
	done
}
# lib.sh's cleanup reads the test's status from $?, so it is restored.
# shellcheck disable=SC2154 # ops_rc is set by the trap itself
trap 'ops_rc=$?; ops_cleanup; life_status $ops_rc || cleanup; cleanup' EXIT

# The spawnfs that mount.fuse3's shell finds: it records its arguments,
# one file per run, then runs the built binary.
mkdir "$WORK/sbin"
cat >"$WORK/sbin/spawnfs" <<EOF
#!/bin/sh
n=\$(ls "$WORK" | grep -c '^argv\\.' || true)
printf '%s\\n' "\$@" >"$WORK/argv.\$n"
exec "$SPAWNFS" "\$@"
EOF
chmod 755 "$WORK/sbin/spawnfs"
mount --bind "$WORK/sbin" /usr/local/bin
[ "$(env -i /bin/sh -c 'command -v spawnfs')" = /usr/local/bin/spawnfs ] ||
	fail "the shell's default PATH does not find /usr/local/bin/spawnfs"

# argv_of N: the arguments of the Nth run, blank-separated.
argv_of() {
	[ -f "$WORK/argv.$1" ] || fail "mount.fuse3 did not run spawnfs (run $1)"
	tr '\n' ' ' <"$WORK/argv.$1" | sed 's/ $//'
}
# opts_are N OPT...: the Nth run got "spawnfs MNT -o LIST" with exactly
# the options OPT (in any order).
opts_are() {
	local n=$1 args got want
	shift
	mapfile -t args <"$WORK/argv.$n"
	[ "${#args[@]}" = 4 ] && [ "${args[0]}" = spawnfs ] &&
		[ "${args[1]}" = "$MNT" ] && [ "${args[2]}" = -o ] ||
		fail "spawnfs was run as: $(argv_of "$n")"
	got=$(echo "${args[3]}" | tr , '\n' | sort | tr '\n' ,)
	want=$(printf '%s\n' "$@" | sort | tr '\n' ,)
	[ "$got" = "$want" ] ||
		fail "options passed: ${got%,}, wanted ${want%,} ($(argv_of "$n"))"
}

# one_daemon: the pid of the single daemon serving $MNT.
one_daemon() {
	local p
	p=$(daemon_pids)
	[ -n "$p" ] || fail "no daemon serves $MNT"
	[ "$(echo "$p" | wc -l)" = 1 ] || fail "several daemons: $p"
	echo "$p"
}

# use_tree WHAT: a job started through the tree, its output read, waited
# for.
use_tree() {
	local s
	s=$(slot "job$1")
	ctl "$s" "start echo hello from $1; exit 3"
	[ "$(timeout 10 cat "$s/wait")" = 3 ] || fail "$1: wait"
	[ "$(timeout 10 cat "$s/stdout")" = "hello from $1" ] ||
		fail "$1: stdout"
	[ "$(json "$s/status" .state)" = exited ] || fail "$1: state"
}

# unmount_and_check PID WHAT: umount, then the daemon is gone in 10 s.
unmount_and_check() {
	umount "$MNT" || fail "$2: umount failed"
	! is_mounted || fail "$2: still mounted after umount"
	wait_until 10 pid_dead "$1"
}

# --- mount -t fuse.spawnfs, with a configuration key among the options
: >"$CONF"
rc=0
timeout 20 mount -t fuse.spawnfs spawnfs "$MNT" \
	-o allow_other,process_mode=0750 2>>"$DAEMON_LOG" || rc=$?
[ "$rc" = 0 ] || fail "mount -t fuse.spawnfs: exit $rc"
is_mounted || fail "mount returned before the tree was mounted"
opts_are 0 rw allow_other process_mode=0750 dev suid
grep " $MNT fuse" /proc/self/mounts | grep -q default_permissions ||
	fail "allow_other without default_permissions: $(grep " $MNT " /proc/self/mounts)"
pid=$(one_daemon)
DAEMONS="$DAEMONS $pid"
use_tree mount
[ "$(stat -c %a "$MNT/jobmount")" = 750 ] ||
	fail "process_mode=0750 from mount -o: mode $(stat -c %a "$MNT/jobmount")"
unmount_and_check "$pid" "mount -t"
ok "mount -t fuse.spawnfs: spawnfs was run as '$(argv_of 0)'; the daemon" \
	"accepted it, ran a job, and exited on umount"

# --- /etc/fstab (the system's lines, but none of type fuse.spawnfs, which
# mount -a below would mount too)
grep -v '[[:space:]]fuse\.spawnfs[[:space:]]' /etc/fstab >"$WORK/fstab" || true
echo "spawnfs $MNT fuse.spawnfs allow_other,nofail 0 0" >>"$WORK/fstab"
mount --bind "$WORK/fstab" /etc/fstab
rc=0
timeout 20 mount "$MNT" 2>>"$DAEMON_LOG" || rc=$?
[ "$rc" = 0 ] || fail "mount $MNT from fstab: exit $rc"
is_mounted || fail "mount returned before the tree was mounted"
opts_are 1 rw allow_other dev suid
pid=$(one_daemon)
DAEMONS="$DAEMONS $pid"
use_tree fstab
ok "fstab: 'mount $MNT' ran '$(argv_of 1)' (nofail is mount's own);" \
	"a job ran through the tree"

# mount.fuse3 passes dev and suid; the tree is nosuid,nodev all the same,
# as a direct mount is.
opts=$(findmnt -n -o OPTIONS --mountpoint "$MNT" | head -n 1)
case ",$opts," in
*,nosuid,*nodev,* | *,nodev,*nosuid,*) ;;
*) fail "the fstab mount's options: $opts (want nosuid,nodev)" ;;
esac
ok "the fstab mount is nosuid,nodev ($opts)"

# The mount table names the tree as fstab does, so mount -a knows it is
# mounted and leaves it alone.
ident=$(findmnt -n -o SOURCE,FSTYPE --mountpoint "$MNT" | head -n 1 |
	tr -s ' ')
rc=0
timeout 20 mount -a -t fuse.spawnfs 2>>"$DAEMON_LOG" || rc=$?
stacked=$(grep -c " $MNT fuse" /proc/self/mounts || true)
for p in $(daemon_pids); do
	DAEMONS="$DAEMONS $p"
done
while [ "$(grep -c " $MNT fuse" /proc/self/mounts || true)" -gt 1 ]; do
	umount "$MNT" || fail "cannot unmount the stacked mounts"
done
unmount_and_check "$pid" fstab
for p in $DAEMONS; do
	wait_until 10 pid_dead "$p"
done
[ "$ident" = "spawnfs fuse.spawnfs" ] ||
	fail "the mount table shows '$ident' for $MNT, not 'spawnfs" \
		"fuse.spawnfs': the daemon sets no fsname/subtype, and" \
		"'mount -a' (exit $rc) stacked $stacked mounts on $MNT"
[ "$rc" = 0 ] && [ "$stacked" = 1 ] ||
	fail "mount -a: exit $rc, $stacked mounts on $MNT"
ok "fstab: the mount table shows 'spawnfs fuse.spawnfs'; mount -a left" \
	"it alone; umount ended the daemon"

# --- a daemon that mount(8) started (detached, as fstab starts it) stops
# on TERM: it stops its runs, unmounts and exits.
for sig in TERM INT HUP; do
	rc=0
	timeout 20 mount -t fuse.spawnfs spawnfs "$MNT" 2>>"$DAEMON_LOG" ||
		rc=$?
	[ "$rc" = 0 ] || fail "mount -t fuse.spawnfs ($sig): exit $rc"
	pid=$(one_daemon)
	DAEMONS="$DAEMONS $pid"
	s=$(slot "sig$sig")
	ctl "$s" 'exec sleep 300'
	wait_until 10 state_is "$s" running
	kid=$(json "$s/status" .pid)
	kill "-$sig" "$pid"
	wait_until 10 pid_dead "$pid"
	wait_until 10 pid_dead "$kid"
	! is_mounted || fail "SIG$sig: still mounted after the daemon exited"
	ok "mount -t fuse.spawnfs, then SIG$sig to daemon $pid: its run" \
		"$kid stopped, unmounted, exited"
done
