# A child that exits before its start has been fully answered is still
# reaped: 200 runs of `exec true`, each waited for with a deadline. Under
# valgrind there is no pidfd and runs are reaped on SIGCHLD, where a child
# could end before it was on the list and its signal be lost.
. "$(dirname "$0")/lib.sh"
mount_fs
s=$(slot fast)
i=0
while [ $i -lt 200 ]; do
	ctl "$s" "exec true"
	got=$(timeout 20 cat "$s/wait") ||
		fail "run $i: wait did not answer: $(cat "$s/status")"
	[ "$got" = 0 ] || fail "run $i: wait gave '$got'"
	i=$((i + 1))
done
[ -z "$(zombies_of "$DAEMON_PID")" ] || fail "zombies left: $(zombies_of "$DAEMON_PID")"
ok "200 fast runs, each reaped and waited for"
