# output keep SIZE: a job nobody reads is never paused and
# its window holds the last SIZE bytes; a reader left behind goes on at
# the window's start and events tells what it missed, so what it got and
# the skip ranges cover the output exactly; a paused job resumes when
# keep is set; output pause comes back; bad sizes are EINVAL.
. "$(dirname "$0")/lib.sh"
trap 'r=$?; set +e; exec 7<&-; (exit $r); cleanup' EXIT
printf '[stream]\nbuffer_size=64K\nkeep_max=4M\n' >"$CONF"
mount_fs

# 20 MiB of numbered lines with nobody reading: the job finishes, memory
# stays within the window.
seq 1 2700000 >"$WORK/want"
s=$(slot big)
rss0=$(daemon_rss_kb)
ctl "$s" 'output keep 1M' 'exec seq 1 2700000'
wait_for "$s" 0 "keep job nobody reads"
rss1=$(daemon_rss_kb)
ok "20 MiB with nobody reading: wait 0; daemon RSS $rss0 -> $rss1 KiB"
rss_limit 3073 "$rss0" "$rss1" "a 1 MiB keep window"
[ "$(timeout 5 tail -n 1 "$s/stdout")" = 2700000 ] || fail "tail -n 1"
timeout 5 cat "$s/stdout" >"$WORK/win"
[ "$(wc -c <"$WORK/win")" = 1048576 ] || fail "window $(wc -c <"$WORK/win")"
# After the first (partial) line the numbers run on to the last.
first=$(sed -n 2p "$WORK/win")
tail -n +2 "$WORK/win" | cmp -s - <(seq "$first" 2700000) ||
	fail "window lines not continuous from $first"
total=$(wc -c <"$WORK/want")
[ "$(logs_field "$s" stdout dropped)" = $((total - 1048576)) ] ||
	fail "dropped $(logs_field "$s" stdout dropped), want $((total - 1048576))"
[ "$(metric 'spawnfs_dropped_bytes_total{stream="stdout"}')" -ge \
	$((total - 1048576)) ] || fail "metrics: dropped bytes"
grep -q '^output keep 1048576$' "$s/ctl" || fail "read-back: $(cat "$s/ctl")"
ok "tail -n 1, the 1 MiB window, continuous lines, dropped, read-back"

# A reader at 2 KiB/s of a job at 100 KB/s: what it got and the skip
# ranges of events cover the output exactly.
s=$(slot paced)
cat >"$WORK/paced.py" <<'EOF'
import sys, time
t0 = time.monotonic()
for i in range(5000):
    sys.stdout.write("%099d\n" % i)
    if i % 10 == 9:
        sys.stdout.flush()
        time.sleep(max(0, t0 + (i + 1) / 1000 - time.monotonic()))
EOF
python3 "$WORK/paced.py" >"$WORK/paced.want"
ctl "$s" 'output keep 64K'
exec 7<"$s/stdout"
# events holds the output too: a reader that keeps up with it sees every
# skip line (the events window is 64K as well).
timeout 30 cat "$s/events" >"$WORK/events" 7<&- &
E=$!
wait_until 5 logs_field_is "$s" events readers 1
ctl "$s" "exec python3 $WORK/paced.py"
: >"$WORK/got"
until [ "$(json "$s/status" .state)" != running ]; do
	timeout 5 dd bs=2048 count=1 iflag=fullblock <&7 >>"$WORK/got" 2>/dev/null ||
		true
	sleep 1
done
timeout 10 cat <&7 >>"$WORK/got"
exec 7<&-
wait_for "$s" 0 "paced keep job"
wait "$E" || fail "events reader status $?"
jq -c 'select(.type == "skip")' "$WORK/events" >"$WORK/skips"
[ -s "$WORK/skips" ] || fail "no skip line in events"
python3 - "$WORK/paced.want" "$WORK/got" "$WORK/skips" <<'EOF' || fail "coverage"
import json, sys
want = open(sys.argv[1], "rb").read()
got = open(sys.argv[2], "rb").read()
skips = [json.loads(l) for l in open(sys.argv[3])]
rebuilt, pos = b"", 0
for s in skips:
    assert s["stream"] == "stdout" and pos <= s["from"] < s["to"], s
    rebuilt += want[pos:s["from"]]
    pos = s["to"]
rebuilt += want[pos:]
if rebuilt != got:
    sys.exit("got %d bytes, the skips leave %d" % (len(got), len(rebuilt)))
EOF
ok "slow reader: $(wc -c <"$WORK/got") bytes and $(wc -l <"$WORK/skips") skips cover the output"

# A cat that keeps up with a keep job misses nothing.
s=$(slot kept)
ctl "$s" 'output keep 64K'
timeout 30 cat "$s/stdout" >"$WORK/cat" &
C=$!
wait_until 5 logs_field_is "$s" stdout readers 1
ctl "$s" "exec python3 $WORK/paced.py"
wait "$C" || fail "cat status $?"
cmp -s "$WORK/cat" "$WORK/paced.want" || fail "cat of a keep job lost bytes"
[ "$(logs_field "$s" stdout dropped)" = 0 ] || fail "dropped with a reader"
jq -e 'select(.type == "skip")' "$s/events" >/dev/null &&
	fail "skip lines for a reader that kept up"
ok "a reader that keeps up gets every byte (md5 $(md5sum <"$WORK/cat" | cut -c1-8))"

# A job already paused resumes once keep is set; pause comes back.
s=$(slot paused)
ctl "$s" 'exec seq 1 2700000'
wait_until 10 logs_field_is "$s" stdout paused true || fail "never paused"
ctl "$s" 'output keep 256K'
wait_for "$s" 0 "paused job after output keep"
ok "a paused job resumed and finished after output keep"
ctl "$s" 'output pause'
grep -q '^output' "$s/ctl" && fail "read-back after output pause"
ctl "$s" 'exec seq 1 2700000'
wait_until 10 logs_field_is "$s" stdout paused true ||
	fail "output pause did not pause again"
ctl "$s" kill
wait_for "$s" 137 "killed"
ok "output pause pauses again"

# Sizes: at least buffer_size, at most keep_max.
s=$(slot sizes)
fails_with 'Invalid argument' ctl "$s" 'output keep 32K'
fails_with 'Invalid argument' ctl "$s" 'output keep 5M'
fails_with 'Invalid argument' ctl "$s" 'output drop'
ctl "$s" 'output keep 64K'
ok "output keep below buffer_size, above keep_max or unknown: EINVAL"
unmount_fs || fail "daemon exit status $?"
