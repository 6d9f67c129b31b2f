# Racing shells: 8 shells start, signal, freeze, orphan, clone and remove
# slots at once (bounded in rounds and in time). The daemon must survive
# (no crash, no sanitizer or valgrind report), and once every slot is
# removed and no process is left, a SIGTERM must end it within a second,
# with no run left to force ("runs still going") and nothing leaked.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/race.sh"
mount_fs

shells=${RACE_SHELLS:-8}
secs=${RACE_SECS:-$(wrap_count 10 20)}
rounds=${RACE_ROUNDS:-$(wrap_count 400 25)}
total=$(race_run "$shells" "$secs" "$rounds" "$RACE_MIXES") ||
	fail "a racing shell hung"
kill -0 "$DAEMON_PID" 2>/dev/null || fail "the daemon died under the race"
ok "$shells shells, $total rounds in ${secs} s at most; the daemon lives"

race_sweep
[ -z "$(slots)" ] || fail "slots left: $(slots)"
wait_until 20 metric_is spawnfs_processes 0 ||
	fail "processes left: $(metric spawnfs_processes)"
ok "every slot removed, no process left"

# The stop: nothing runs, so nothing to wait for.
stop_clean
ok "SIGTERM after the race: exit in $STOP_DT ms, nothing forced, nothing leaked"
