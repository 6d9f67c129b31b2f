# Edge cases of the logs: a read at the end resumes a paused child; an
# ended slot with unread output can be removed (and reaped); an open
# status handle reports the size of what it reads.
. "$(dirname "$0")/lib.sh"
printf '[stream]\nbuffer_size=64K\n' >"$CONF"
mount_fs

s=$(slot rearm)
ctl "$s" 'exec seq 1 100000000'
wait_until 10 jq -e '.logs.stdout.paused' "$s/status"
size=$(stat -c %s "$s/stdout")
# A fresh handle whose first read is at the end: it needs nothing older,
# so the child must resume and the read must get new bytes.
out=$(timeout 5 "$HELPERS/preadat" "$s/stdout" p "$size" 4096) ||
	fail "a read at the end of a paused log never returned"
case $out in
"p $size 4096: n="[1-9]*) ;;
*) fail "read at the end: $out" ;;
esac
ok "a read at the end resumes the paused child: $out"
ctl "$s" kill
wait_state "$s" killed

s=$(slot unread)
ctl "$s" 'start head -c 100000 /dev/zero'
wait_state "$s" exited
jq -e '.logs.stdout.paused' "$s/status" >/dev/null ||
	fail "expected unread output to hold the pipe"
rmdir "$s" || fail "rmdir of an ended slot with unread output"
[ ! -e "$s" ] || fail "slot still there"
ok "rmdir of an ended slot with unread output"

s=$(slot st)
exec 3<"$s/status"
ctl "$s" 'start echo a fairly long line to change the status size'
wait_state "$s" exited
[ "$(stat -L -c %s /dev/fd/3)" = "$(wc -c <&3)" ] ||
	fail "fstat size of an open status differs from what it reads"
exec 3<&-
ok "an open status handle's size matches its content"
