# Snapshot files: stdout.now, stderr.now and events.now
# copy the retained window at open and then end, whether the job runs or
# not; grep, wc and sed on a running, paused job return at once and change
# nothing of it; st_size is the window; [stream] snapshot_max bounds the
# copies (ENOMEM); no events.now with events = off.
. "$(dirname "$0")/lib.sh"
trap 'r=$?; set +e; exec 7<&-; (exit $r); cleanup' EXIT
printf '[stream]\nbuffer_size=64K\nsnapshot_max=100K\n' >"$CONF"
mount_fs

s=$(slot job)
ctl "$s" 'start echo ERROR one >&2; echo ERROR two >&2; seq 1 100000; sleep 1000'
wait_until 10 logs_field_is "$s" stdout paused true || fail "never paused"
wait_until 10 logs_field_is "$s" stderr bytes 20 || fail "stderr"
before=$(jq -c '{state, logs}' "$s/status")
[ "$(timeout 5 grep -c ERROR "$s/stderr.now")" = 2 ] || fail "grep -c"
lines=$(timeout 5 wc -l <"$s/stdout.now") || fail "wc -l hung"
bytes=$(timeout 5 wc -c <"$s/stdout.now") || fail "wc -c hung"
last=$(timeout 5 sed -n '$p' "$s/stdout.now") || fail "sed hung"
[ "$bytes" = 65536 ] || fail "stdout.now holds $bytes bytes, want 65536"
[ "$(stat -c %s "$s/stdout.now")" = 65536 ] || fail "st_size"
[ "$lines" -gt 9000 ] || fail "wc -l: $lines"
case $last in '' | *[!0-9]*) fail "last line '$last'" ;; esac
after=$(jq -c '{state, logs}' "$s/status")
[ "$before" = "$after" ] || fail "status changed: $before -> $after"
ok "running, paused job: grep -c 2, wc -l $lines, sed '\$p' $last, status unchanged"
# The snapshot is the window at open: later bytes are not in it.
exec 7<"$s/stdout.now"
timeout 5 cat "$s/stdout" >/dev/null &
C=$!
wait_until 10 logs_field_gt "$s" stdout bytes 500000 || fail "no resume"
[ "$(timeout 5 cat <&7 | wc -c)" = 65536 ] || fail "open snapshot changed"
exec 7<&-
kill "$C" 2>/dev/null || true
wait "$C" 2>/dev/null || true
ok "an open snapshot keeps what it copied"
# events.now: whole lines (the window starts at a line), and it ends.
timeout 5 cat "$s/events.now" >"$WORK/ev"
jq -c .type "$WORK/ev" >/dev/null || fail "events.now is not JSON lines"
grep -q '"type":"stdout"' "$WORK/ev" || fail "events.now has no output"

# snapshot_max: two 64K copies do not fit 100K.
exec 7<"$s/stdout.now"
fails_with 'Cannot allocate memory' cat "$s/stdout.now"
exec 7<&-
timeout 5 cat "$s/stdout.now" >/dev/null || fail "room again after close"
ok "snapshot_max: a copy past it is ENOMEM; room again after close"
ctl "$s" kill
wait_for "$s" 137 "killed"
timeout 5 cat "$s/stderr.now" | grep -q 'ERROR two' || fail "after the end"
ls "$s" | grep -qx events.now || fail "events.now not listed"
unmount_fs || fail "daemon exit status $?"

printf '[stream]\nevents=off\n' >"$CONF"
mount_fs
s=$(slot quiet)
[ ! -e "$s/events.now" ] || fail "events.now with events = off"
ls "$s" | grep -q events && fail "events listed with events = off"
ok "events = off: no events.now"
unmount_fs || fail "daemon exit status $?"
