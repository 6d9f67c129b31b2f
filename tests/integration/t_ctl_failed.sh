# wait answers for a failed start: state "failed"; wait gives
# 127 for exec ENOENT, 126 for other exec errors, 1 for cwd (and fork,
# user, limits); readers already parked in wait are answered; a later
# start resets it. `start nosuch` runs the shell, which exits 127.
. "$(dirname "$0")/lib.sh"
mount_fs

# failed_with SLOT STATUS: state failed, wait reads STATUS at once.
failed_with() {
	jq -e --argjson st "$2" \
		'.state == "failed" and .status == $st and .pid == null' \
		"$1/status" >/dev/null || fail "$1 status: $(cat "$1/status")"
	wait_for "$1" "$2" "$1"
}

s=$(slot enoent)
timeout "$HANG" cat "$s/wait" >"$WORK/parked" &
reader=$!
until_true 10 'grep -qx "spawnfs_parked_requests 1" "$MNT/metrics"'
ctl_fails "$s" "No such file or directory" 'exec /nonexistent/prog'
failed_with "$s" 127
life_wait_pid 10 "$reader" || fail "the parked wait reader failed"
[ "$(cat "$WORK/parked")" = 127 ] || fail "parked reader got '$(cat "$WORK/parked")'"
# The events log of a slot that never ran stays open: read what is there.
dd if="$s/events" iflag=nonblock bs=64k status=none >"$WORK/ev" 2>/dev/null || true
jq -s -e 'any(.[]; .type == "error")' "$WORK/ev" >/dev/null || fail "no error event"
ok "exec ENOENT: failed, wait 127, the parked reader answered"

printf '#!/bin/sh\necho should not run\n' >"$WORK/noexec"
chmod 0644 "$WORK/noexec"
s=$(slot eacces)
ctl_fails "$s" "Permission denied" "exec $WORK/noexec"
failed_with "$s" 126
ok "exec EACCES: wait 126"

s=$(slot badcwd)
ctl_fails "$s" "No such file or directory" 'cwd /nonexistent' 'start echo x'
failed_with "$s" 1
ok "cwd error: wait 1"

# A later start resets it; a failed restart fails again.
ctl "$s" 'cwd /' 'exec true'
wait_for "$s" 0 "after the fix"
[ "$(json "$s/status" .state)" = exited ] || fail "state: $(cat "$s/status")"
ctl_fails "$s" "No such file or directory" 'exec /nonexistent'
failed_with "$s" 127
ok "a later start resets failed; a failed restart is failed again"

s=$(slot nosuch)
ctl "$s" 'start no-such-command-here'
wait_for "$s" 127 "start nosuch"
[ "$(json "$s/status" .state)" = exited ] || fail "start nosuch: $(cat "$s/status")"
ok "start nosuch: the shell ran and exited 127"
