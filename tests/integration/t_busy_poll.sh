# busy_poll: the daemon polls before it sleeps only while requests come
# back to back. A burst of small-file reads opens the window (metrics
# count time polled); an idle daemon, and one serving a job that prints a
# line every 20 ms to a tail -f, does not poll and stays near no CPU; with
# busy_poll = off nothing is polled; a bad value is refused at start.
. "$(dirname "$0")/lib.sh"

polled() {
	metric spawnfs_busy_poll_seconds_total
}

# A bad value: exit 2, the key named.
if out=$("$SPAWNFS" -f -c "$CONF" -o busy_poll=2000us "$MNT" 2>&1); then
	fail "busy_poll=2000us was taken"
fi
grep -q "busy_poll" <<<"$out" || fail "the refusal does not name the key: $out"
ok "busy_poll above 1000us is refused: $out"

mount_fs
s=$(slot s)
ctl "$s" "exec sleep 300"
wait_state "$s" running

# A burst: 300 open-read-close of status, back to back.
p0=$(polled)
for _ in $(seq "$(wrap_count 300 60)"); do
	cat "$s/status" >/dev/null
done
p1=$(polled)
if [ -n "${SPAWNFS_WRAP:-}" ]; then
	# Each request takes valgrind milliseconds: no window opens.
	ok "a burst of reads under $SPAWNFS_WRAP (polled $p0 -> $p1 s)"
else
	awk -v a="$p0" -v b="$p1" 'BEGIN { exit !(b > a) }' ||
		fail "a burst of reads polled nothing: $p0 -> $p1"
	ok "a burst of 300 status reads opened the window (polled $p0 -> $p1 s)"
fi

# Idle: no polling, no CPU. Let a window that is open close first.
sleep 0.5
p0=$(polled)
c0=$(daemon_cpu_ticks)
sleep 2
p1=$(polled)
c1=$(daemon_cpu_ticks)
# Reading metrics is itself a request: at most one window (1 ms) each.
awk -v a="$p0" -v b="$p1" 'BEGIN { exit !(b - a < 0.002) }' ||
	fail "an idle daemon polled: $p0 -> $p1"
[ $((c1 - c0)) -le $((2 * $(slow_factor))) ] || fail "an idle daemon used $((c1 - c0)) ticks in 2 s"
ok "idle for 2 s: polled $p0 -> $p1 s, $((c1 - c0)) ticks of CPU"

# A slow job with a tail -f reader: a line every 20 ms, 100 lines.
t=$(slot ticker)
ctl "$t" "exec sh -c 'i=0; while [ \$i -lt 100 ]; do echo line \$i; i=\$((i+1)); sleep 0.02; done'"
tail -n +1 -f "$t/stdout" >"$WORK/tail.out" &
tailpid=$!
p0=$(polled)
c0=$(daemon_cpu_ticks)
timeout "$((30 * $(slow_factor)))" cat "$t/wait" >/dev/null || fail "the ticker did not end"
wait_until 10 grep -q "^line 99$" "$WORK/tail.out" || fail "tail missed lines"
p1=$(polled)
c1=$(daemon_cpu_ticks)
kill "$tailpid" 2>/dev/null || true
wait "$tailpid" 2>/dev/null || true
[ "$(wc -l <"$WORK/tail.out")" = 100 ] || fail "tail saw $(wc -l <"$WORK/tail.out") lines"
# Polling every 20 ms line at the full 50 us would be 5 ms in 2 s; the
# window closes instead. Generous: a daemon stuck polling is 100%.
awk -v a="$p0" -v b="$p1" 'BEGIN { exit !(b - a < 0.02) }' ||
	fail "a line every 20 ms kept the daemon polling: $p0 -> $p1 s"
[ $((c1 - c0)) -le $((50 * $(slow_factor))) ] || fail "the daemon used $((c1 - c0)) ticks over ~2 s of a slow job"
ok "a line every 20 ms to tail -f: polled $p0 -> $p1 s, $((c1 - c0)) ticks of CPU"
ctl "$s" kill
timeout 10 cat "$s/wait" >/dev/null || fail "the sleeper did not end"
stop_clean

# Off: never polled, even by a burst.
echo "[mount]" >"$CONF"
echo "busy_poll = off" >>"$CONF"
mount_fs
s=$(slot s)
ctl "$s" "exec sleep 300"
wait_state "$s" running
for _ in $(seq "$(wrap_count 300 60)"); do
	cat "$s/status" >/dev/null
done
awk -v a="$(polled)" 'BEGIN { exit !(a == 0) }' ||
	fail "busy_poll = off polled: $(polled)"
ok "busy_poll = off: nothing polled after 300 reads"
