# Events the daemon writes itself (here 200 signal events) never
# overwrite what an open, slow events reader still needs: they wait for
# room in order, and the child waits with them.
. "$(dirname "$0")/lib.sh"
printf '[stream]\nbuffer_size=16K\n' >"$CONF"
mount_fs

s=$(slot sig)
exec 3<"$s/events"
ctl "$s" 'exec seq 1 100000000'
head -c 100 <&3 >"$WORK/events" # read a little: events now holds
wait_until 10 jq -e '.logs.stdout.bytes > 0' "$s/status"
for _ in $(seq 200); do
	echo 'signal CONT' >"$s/ctl"
done
ctl "$s" kill
# Read the rest to the end: every byte must still be there.
timeout 60 cat <&3 >>"$WORK/events" || fail "events reader failed (EIO?)"
exec 3<&-
n=$(grep -c '"type":"signal","signal":"CONT"' "$WORK/events")
[ "$n" = 200 ] || fail "expected 200 CONT events, got $n"
tail -n 1 "$WORK/events" | jq -e '.type == "end" and .status == 137' \
	>/dev/null || fail "last event: $(tail -n 1 "$WORK/events")"
jq -s -e 'map(.seq) | . == (. | sort) and length == (. | unique | length)' \
	<"$WORK/events" >/dev/null || fail "seq not increasing"
ok "200 signal events with a slow reader: none lost, in order, end last"
