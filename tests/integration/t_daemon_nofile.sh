# The daemon raises its open-file limit to the hard limit (each running
# slot holds three fds), and its children get the limit it started with,
# not the raised one (programs that use select() expect a small one).
. "$(dirname "$0")/lib.sh"
# skip REASON: exit 77, which ctest reports as skipped, not passed.
skip() {
	echo "skip: $TEST_NAME: $*"
	exit 77
}
[ -z "${SPAWNFS_WRAP:-}" ] ||
	skip "under SPAWNFS_WRAP (valgrind keeps fds and limits for itself)"

hard=$(ulimit -Hn)
[ "$hard" = unlimited ] || [ "$hard" -gt 300 ] ||
	skip "the hard limit ($hard) leaves nothing to raise"

ulimit -Sn 256
mount_fs
soft=$(awk '/^Max open files/ { print $4 }' "/proc/$DAEMON_PID/limits")
[ "$soft" = "$hard" ] || fail "daemon soft limit $soft, hard $hard"
s=$(slot lim)
ctl "$s" "start ulimit -n"
[ "$(timeout 10 cat "$s/wait")" = 0 ] || fail "the run failed"
[ "$(cat "$s/stdout")" = 256 ] || fail "the child's limit is $(cat "$s/stdout"), want 256"
ok "daemon limit raised to $hard; children keep 256"
