# A writer blocked on a full stdin pipe is released with
# EPIPE when the child exits without reading, and the daemon carries on.
. "$(dirname "$0")/lib.sh"
mount_fs

# A writer blocked on a full pipe is released when the child exits.
s=$(slot exits)
ctl "$s" 'stdin pipe' 'start sleep 1'
wait_until 10 state_is "$s" running
rc=0
out=$(timeout -k 1 6 dd if=/dev/zero of="$s/stdin" bs=1M count=1 2>&1) || rc=$?
[ "$rc" != 0 ] && [ "$rc" != 124 ] && [ "$rc" != 137 ] ||
	fail "a write blocked when the child exited: exit $rc"
case $out in
*"Broken pipe"*) ;;
*) fail "blocked write after the child exited: '$out'" ;;
esac
ok "a blocked write fails with EPIPE when the child exits"
sleep 0.2
kill -0 "$DAEMON_PID" 2>/dev/null || fail "the daemon died after the EPIPE"
[ "$(timeout 10 cat "$s/wait")" = 0 ] || fail "exits: wait"
ok "the daemon survives it"

s=$(slot after)
ctl "$s" 'exec echo still serving'
[ "$(timeout 10 cat "$s/wait")" = 0 ] || fail "after: wait"
ok "the daemon still runs commands"
