# metrics: the root's metrics file is Prometheus text that promtool
# accepts, over a live tree with running, paused and exited jobs, and its
# figures follow what happens: slots by state, runs started and failed,
# bytes captured (still counted after a slot is removed), open handles,
# parked reads, paused runs, ctl errors by errno, interrupts answered.
. "$(dirname "$0")/lib.sh"
mount_fs
command -v promtool >/dev/null || fail "promtool is missing (scripts/deps.sh)"

# metric NAME[{LABELS}]: the value of one sample line.
check() {
	cat "$MNT/metrics" >"$WORK/metrics.txt" || fail "metrics: read"
	promtool check metrics <"$WORK/metrics.txt" >"$WORK/promtool.out" 2>&1 ||
		fail "promtool: $(cat "$WORK/promtool.out")"
	[ ! -s "$WORK/promtool.out" ] ||
		fail "promtool warns: $(cat "$WORK/promtool.out")"
}

[ -f "$MNT/metrics" ] || fail "no metrics file at the root"
ls "$MNT" | grep -qx metrics || fail "metrics is not listed"
check
metric_is 'spawnfs_slots{state="running"}' 0 || fail "running slots at start"
ok "an empty tree's metrics pass promtool"

# paused: yes with nobody reading; running: a sleeper; exited: echo.
paused=$(slot paused)
ctl "$paused" "exec yes"
wait_until 10 logs_field_is "$paused" stdout paused true
sleeper=$(slot sleeper)
ctl "$sleeper" "exec sleep 300"
done_=$(slot done)
ctl "$done_" "exec echo hello"
timeout 10 cat "$done_/wait" >/dev/null || fail "echo did not end"
bad=$(slot bad)
ctl_fails "$bad" "No such file or directory" "exec /nonexistent/program"
ctl_fails "$bad" "Invalid argument" "bogus command"
ctl_fails "$bad" "Invalid argument" "signal NOPE"
ctl_fails "$bad" "No such process" "kill"
# A reader parked at the end of the sleeper's silent stdout.
timeout 60 cat "$sleeper/stdout" >/dev/null &
reader=$!
wait_until 10 logs_field_is "$sleeper" stdout readers 1
wait_until 10 metric_is spawnfs_parked_requests 1 ||
	fail "parked: $(metric spawnfs_parked_requests)"
check
metric_is 'spawnfs_slots{state="running"}' 2 || fail "running: $(metric 'spawnfs_slots{state="running"}')"
metric_is 'spawnfs_slots{state="exited"}' 1 || fail "exited"
metric_is 'spawnfs_slots{state="failed"}' 1 || fail "failed (the failed start)"
metric_is spawnfs_paused_runs 1 || fail "paused: $(metric spawnfs_paused_runs)"
metric_is spawnfs_runs_started_total 3 || fail "started: $(metric spawnfs_runs_started_total)"
metric_is spawnfs_runs_failed_total 1 || fail "failed: $(metric spawnfs_runs_failed_total)"
metric_is 'spawnfs_ctl_errors_total{errno="EINVAL"}' 2 || fail "EINVAL count"
metric_is 'spawnfs_ctl_errors_total{errno="ENOENT"}' 1 || fail "ENOENT count"
metric_is 'spawnfs_ctl_errors_total{errno="ESRCH"}' 1 || fail "ESRCH count"
# the reader's handle, and the metrics file's own while it is read
metric_is spawnfs_open_handles 2 || fail "handles: $(metric spawnfs_open_handles)"
out=$(metric 'spawnfs_captured_bytes_total{stream="stdout"}')
[ "$out" -ge 262144 ] || fail "stdout bytes: $out"
rss=$(metric spawnfs_resident_memory_bytes)
[ "$rss" -gt 100000 ] || fail "rss: $rss"
ok "running, paused and exited jobs: promtool passes, figures match"

# An interrupted read is counted; bytes of a removed slot still count.
kill -INT "$reader"
wait "$reader" 2>/dev/null || true
wait_until 10 metric_is spawnfs_parked_requests 0 || fail "parked after kill"
wait_until 10 metric_is spawnfs_interrupts_total 1 ||
	fail "interrupts: $(metric spawnfs_interrupts_total)"
before=$(metric 'spawnfs_captured_bytes_total{stream="stdout"}')
rmdir "$done_" || fail "rmdir done"
after=$(metric 'spawnfs_captured_bytes_total{stream="stdout"}')
[ "$after" -ge "$before" ] || fail "captured bytes fell from $before to $after"
ctl "$paused" kill
ctl "$sleeper" kill
timeout 10 cat "$paused/wait" "$sleeper/wait" >/dev/null || fail "kill"
check
metric_is 'spawnfs_slots{state="killed"}' 2 || fail "killed slots"
metric_is spawnfs_paused_runs 0 || fail "paused after the kill"
ok "interrupts counted, removed slots' bytes kept, killed jobs counted"
