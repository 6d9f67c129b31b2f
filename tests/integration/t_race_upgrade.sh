# Racing shells and upgrades in place: 6 shells start, signal, freeze,
# clone, keep, restart and remove slots while the daemon is upgraded in
# place every 200 ms (bounded in count and in time). The daemon must
# survive every switch (same pid, no sanitizer report), count each
# upgrade ok (one that meets a start waits for it, none is refused),
# and stop cleanly afterwards with nothing leaked.
if [ -n "${SPAWNFS_WRAP:-}" ]; then
	echo "skip: the daemon execs itself: the wrapper would not follow it"
	exit 77
fi
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/race.sh"
mount_fs

shells=${RACE_SHELLS:-6}
secs=${RACE_SECS:-8}
rounds=${RACE_ROUNDS:-300}
pid0=$DAEMON_PID

# The upgrader: at most 40 upgrades, one at a time (each waited for).
upgrader() {
	local i=0 end=$(($(date +%s) + secs))
	while [ "$i" -lt 40 ] && [ "$(date +%s)" -lt "$end" ]; do
		timeout 70 "$SPAWNFS" --upgrade "$MNT" >/dev/null 2>>"$WORK/upgrade.err" ||
			echo "round $i: exit $?" >>"$WORK/upgrade.err"
		i=$((i + 1))
		sleep 0.2
	done
	echo "$i" >"$WORK/upgrades"
}
upgrader &
up_pid=$!
total=$(race_run "$shells" "$secs" "$rounds" "$RACE_MIXES") ||
	fail "a racing shell hung"
wait_until 80 eval '! kill -0 $up_pid 2>/dev/null' || fail "the upgrader hung"
wait "$up_pid" || true
kill -0 "$DAEMON_PID" 2>/dev/null || fail "the daemon died under the race"
[ "$DAEMON_PID" = "$pid0" ] || fail "the daemon's pid changed"
n=$(cat "$WORK/upgrades")
okn=$(metric 'spawnfs_upgrades_total{result="ok"}')
[ -s "$WORK/upgrade.err" ] && fail "an upgrade did not succeed: $(head -5 "$WORK/upgrade.err")"
[ "$n" -ge 5 ] && [ "$okn" = "$n" ] ||
	fail "$n upgrades asked, $okn ok"
ok "$shells shells, $total rounds, $n upgrades in place, every one ok; the daemon lives"

race_sweep
[ -z "$(slots)" ] || fail "slots left: $(slots)"
wait_until 20 metric_is spawnfs_processes 0 ||
	fail "processes left: $(metric spawnfs_processes)"
ok "every slot removed, no process left"
stop_clean
ok "SIGTERM after the race: exit in $STOP_DT ms, nothing forced, nothing leaked"
