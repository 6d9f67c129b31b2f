# Open-read-close churn on a live log :
# 200 short readers of a running `yes` leave the daemon's memory and fds
# where they were, and no reader behind in status.
. "$(dirname "$0")/lib.sh"
mount_fs

s=$(slot yes)
ctl "$s" 'exec yes'
wait_until 5 logs_field_is "$s" stdout paused true

# A few cycles first, so one-time allocations (request buffers, the
# allocator's arenas) are not counted as growth.
for _ in 1 2 3 4 5; do
	timeout 5 head -c 4096 "$s/stdout" >/dev/null || fail "warm-up read"
done
r0=$(daemon_rss_kb)
f0=$(daemon_fds)
b0=$(logs_field "$s" stdout bytes)
total=0
for i in $(seq 1 200); do
	n=$(timeout 5 head -c 4096 "$s/stdout" | wc -c) ||
		fail "cycle $i: head failed or hung"
	total=$((total + n))
done
r1=$(daemon_rss_kb)
f1=$(daemon_fds)
wait_until 2 logs_field_is "$s" stdout paused true
b1=$(logs_field "$s" stdout bytes)
ok "daemon rss kB over 200 cycles: $r0 -> $r1 (+$((r1 - r0)))"
ok "daemon fds over 200 cycles: $f0 -> $f1"
rss_limit 1024 "$r0" "$r1" "200 open-read-close cycles"
[ "$f1" = "$f0" ] || fail "fd count changed: $f0 -> $f1
$(ls -l "/proc/$DAEMON_PID/fd")"
wait_until 2 logs_field_is "$s" stdout readers 0
ok "status readers back to 0"
[ "$total" = $((200 * 4096)) ] || fail "the 200 readers got $total bytes"
# The readers' progress let the paused child through (by up to 4096 bytes
# a cycle: a reader that opens before the daemon refilled re-reads the
# same oldest bytes, which the contract allows).
ok "200 readers got $total bytes; log bytes $b0 -> $b1 (+$((b1 - b0)))"
[ "$b1" -gt "$b0" ] || fail "readers did not resume the paused child"

# The log is still usable afterwards, and drains to EOF after a kill.
[ "$(timeout 5 head -c 6 "$s/stdout")" = "$(printf 'y\ny\ny')" ] ||
	fail "log unusable after churn"
ctl "$s" kill
[ "$(timeout 5 cat "$s/wait")" = 137 ] || fail "wait after kill"
timeout 10 cat "$s/stdout" >/dev/null || fail "drain after kill"
ok "still readable after churn"
