# Two daemons on one mount point: a daemon unmounts only its own mount.
# An unmount by path takes the topmost mount there, so a daemon stopped
# while another is mounted over it (twice started, or a new daemon after
# a lazy unmount of the old one) used to unmount the other's tree and
# leave its own. Now the one above keeps serving; the one below says so
# and leaves its mount for fusermount3 -u.
. "$(dirname "$0")/lib.sh"
UPPER=
upper_down() {
	[ -n "$UPPER" ] || return 0
	kill -TERM "$UPPER" 2>/dev/null
	timeout 30 tail --pid="$UPPER" -f /dev/null
	UPPER=
}
trap 'r=$?; set +e; upper_down; (exit $r); cleanup' EXIT

mounts_at() {
	awk -v m="$MNT" '$2 == m' /proc/self/mounts | wc -l
}
mounts_are() {
	[ "$(mounts_at)" = "$1" ]
}
# mount_upper: a second daemon over the first, its pid in UPPER.
mount_upper() {
	local n
	n=$(mounts_at)
	# shellcheck disable=SC2046
	$(daemon_wrap) "$SPAWNFS" -f -c "$CONF" "$MNT" 2>>"$WORK/upper.log" &
	UPPER=$!
	wait_until 30 mounts_are $((n + 1)) || fail "the upper mount: $(cat "$WORK/upper.log")"
}
# serves: the tree on top answers: a slot runs and its output reads.
serves() {
	local s
	s=$(slot "s$1")
	ctl "$s" "exec echo up $1"
	[ "$(timeout 10 cat "$s/stdout")" = "up $1" ] || fail "no output from $s"
	rmdir "$s" || fail "rmdir $s"
}

# 1. The lower daemon stops (SIGTERM) while another is over it.
mount_fs
mount_upper
lower=$DAEMON_PID
kill -TERM "$lower"
wait_until 30 pid_dead "$lower" || fail "the lower daemon did not exit"
unmount_rc=0
wait "$lower" || unmount_rc=$?
DAEMON_PID=
[ "$unmount_rc" = 0 ] || fail "the lower daemon exited with $unmount_rc"
check_valgrind "$lower" || fail "valgrind report for the lower daemon"
grep -q "another mount covers this one" "$DAEMON_LOG" ||
	fail "the lower daemon did not say why it left its mount"
pid_dead "$UPPER" && fail "the upper daemon died with the lower one"
mounts_are 2 || fail "$(mounts_at) mounts at $MNT, want the upper and the lower"
serves 1
ok "a lower daemon's stop leaves the upper one serving"
fusermount3 -u "$MNT" || fail "unmounting the upper tree"
wait_until 30 pid_dead "$UPPER" || fail "the upper daemon did not exit"
rc=0
wait "$UPPER" || rc=$?
[ "$rc" = 0 ] || fail "the upper daemon exited with $rc"
check_valgrind "$UPPER" || fail "valgrind report for the upper daemon"
UPPER=
if ls "$MNT" 2>"$WORK/ls.err"; then fail "the lower mount answers"; fi
grep -q "not connected" "$WORK/ls.err" || fail "ls: $(cat "$WORK/ls.err")"
fusermount3 -u "$MNT" || fail "unmounting the lower, dead, mount"
mounts_are 0 || fail "mounts left at $MNT"
ok "the upper one unmounts itself; the lower one's dead mount unmounts"

# 2. A lazily unmounted daemon, held by an open file, is released while
# a new daemon serves the mount point.
mount_fs
s=$(slot held)
# A process of its own holds it: an fd of this shell's would be
# inherited by the next daemon, which would then hold it too.
sleep 300 <"$s/stdout" &
holder=$!
first=$DAEMON_PID
fusermount3 -uz "$MNT"
DAEMON_PID=
mount_fs
serves 2
kill "$holder"
wait_until 30 pid_dead "$first" || fail "the released daemon did not exit"
rc=0
wait "$first" || rc=$?
[ "$rc" = 0 ] || fail "the released daemon exited with $rc"
check_valgrind "$first" || fail "valgrind report for the released daemon"
mounts_are 1 || fail "$(mounts_at) mounts at $MNT, want the new daemon's"
serves 3
ok "a released old daemon leaves the new daemon's mount alone"
