# events while nobody has the events log open: output events
# then wait unrendered, and those that newer output is sure to push out of
# the log are only counted. What a late reader, status and stat see must
# be the same as if every line had been written: the retained lines are
# whole, well formed and numbered without a gap up to the end; their
# decoded output is exactly the end of the stdout/stderr logs; the size
# stat gives, status's bytes, and the offset of the first retained line
# agree; a reader that opens in the middle misses nothing after it.
. "$(dirname "$0")/lib.sh"
printf '[stream]\nbuffer_size = 16K\n' >"$CONF"
mount_fs

# seq_gapless FILE: the seq numbers of FILE's lines go up by exactly one.
seq_gapless() {
	jq -s -e '[.[].seq] as $s | [range(1; $s | length)
		| select($s[.] != $s[. - 1] + 1)] | length == 0' "$1" >/dev/null
}

# A run that writes 2 MB of numbered lines to stdout and some to stderr,
# with only a stdout reader: the 16K events log overflows many times.
s=$(slot lazy)
exec 3<"$s/stdout"
ctl "$s" "start i=0; while [ \$i -lt 20000 ]; do printf 'line %06d of text\n' \$i; [ \$((i % 1000)) = 0 ] && echo err\$i >&2; i=\$((i+1)); done; printf '\\377\\376'"
timeout 60 cat <&3 >"$WORK/lazy.out" || fail "lazy: stdout reader"
exec 3<&-
timeout 20 cat "$s/wait" >/dev/null || fail "lazy: wait"
wait_until 10 logs_field_is "$s" stdout readers 0
[ "$(wc -c <"$WORK/lazy.out")" = 400002 ] ||
	fail "lazy: stdout has $(wc -c <"$WORK/lazy.out") bytes"

bytes=$(json "$s/status" .logs.events.bytes)
retained=$(json "$s/status" .logs.events.retained)
size=$(stat -c %s "$s/events")
[ "$bytes" = "$size" ] || fail "lazy: status says $bytes bytes, stat $size"
[ "$retained" -le 16384 ] && [ "$retained" -gt 8000 ] ||
	fail "lazy: $retained bytes retained of a 16K log"
timeout 10 cat "$s/events" >"$WORK/lazy.ev" || fail "lazy: events reader"
[ "$(wc -c <"$WORK/lazy.ev")" = "$retained" ] ||
	fail "lazy: read $(wc -c <"$WORK/lazy.ev") bytes, retained $retained"
life_ev_check "$WORK/lazy.ev" >&2 || fail "lazy: malformed events"
seq_gapless "$WORK/lazy.ev" || fail "lazy: a gap in the retained seq numbers"
first=$(head -n 1 "$WORK/lazy.ev" | jq .seq)
[ "$first" -gt 10 ] || fail "lazy: nothing was pushed out (first seq $first)"
[ "$(jq -r .type "$WORK/lazy.ev" | tail -n 1)" = end ] ||
	fail "lazy: the last event is not end"
# The first retained line starts exactly at bytes - retained.
"$HELPERS/preadat" -o "$WORK/first" "$s/events" p $((bytes - retained)) 64 \
	>/dev/null || fail "lazy: pread at the tail"
head -c 64 "$WORK/lazy.ev" | cmp -s - "$WORK/first" ||
	fail "lazy: the line at the tail offset is not the first retained"
# The decoded output is the end of each log, byte for byte.
life_ev_data "$WORK/lazy.ev" stdout >"$WORK/lazy.dec" ||
	fail "lazy: bad base64"
n=$(wc -c <"$WORK/lazy.dec")
[ "$n" -gt 0 ] || fail "lazy: no stdout event retained"
tail -c "$n" "$WORK/lazy.out" | cmp -s - "$WORK/lazy.dec" ||
	fail "lazy: retained stdout events differ from the end of stdout"
tail -c 2 "$WORK/lazy.dec" | od -An -tx1 | grep -q 'ff fe' ||
	fail "lazy: the final binary bytes are missing"
ok "lazy: $bytes bytes of events, $retained retained from seq $first, gapless"

# A reader that opens in the middle of a run: from where it starts, every
# event to the end, without a gap, and the output it decodes is exactly
# the end of stdout from some point on.
s=$(slot mid)
exec 3<"$s/stdout"
ctl "$s" "start i=0; while [ \$i -lt 20000 ]; do printf 'mid %06d\n' \$i; i=\$((i+1)); done"
head -c 50000 <&3 >/dev/null # the child is now paused on its full buffer
timeout 10 cat "$s/events" >"$WORK/mid.ev" &
r=$!
wait_until 10 logs_field_is "$s" events readers 1
timeout 60 cat <&3 >/dev/null || fail "mid: stdout reader"
exec 3<&-
life_wait_pid 30 "$r" || fail "mid: the events reader failed"
life_ev_check "$WORK/mid.ev" >&2 || fail "mid: malformed events"
seq_gapless "$WORK/mid.ev" || fail "mid: a gap in the seq numbers"
[ "$(jq -r .type "$WORK/mid.ev" | tail -n 1)" = end ] ||
	fail "mid: the events reader missed the end"
timeout 10 cat "$s/stdout" >"$WORK/mid.out" || true
life_ev_data "$WORK/mid.ev" stdout >"$WORK/mid.dec" || fail "mid: bad base64"
# 20000 lines of 11 bytes: the decoded tail must end the full output.
i=0
while [ $i -lt 20000 ]; do printf 'mid %06d\n' $i; i=$((i + 1)); done >"$WORK/mid.want"
n=$(wc -c <"$WORK/mid.dec")
[ "$n" -gt 100000 ] || fail "mid: only $n bytes of output events"
tail -c "$n" "$WORK/mid.want" | cmp -s - "$WORK/mid.dec" ||
	fail "mid: output events differ from the end of the output"
ok "mid: a reader opened mid-run got $n bytes of output events to the end"
