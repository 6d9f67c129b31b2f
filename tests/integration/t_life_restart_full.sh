# A restart over a run whose output filled its buffer: the run wrote
# exactly buffer_size bytes that nobody read and exited, so the daemon
# had stopped reading its pipe before the end of file. The next start
# takes the rest of that pipe (nothing) and must finish the old run
# first: counted twice, it kept the slot busy for ever, so a SIGTERM
# waited out the forced stop and the slot's memory leaked.
. "$(dirname "$0")/lib.sh"
printf '[stream]\nbuffer_size = 64K\n' >"$CONF"
mount_fs

s=$(slot full)
ctl "$s" "exec head -c 65536 /dev/zero"
[ "$(timeout 20 cat "$s/wait")" = 0 ] || fail "first run: $(cat "$s/status")"
wait_until 10 logs_field_is "$s" stdout paused true ||
	fail "the full log does not hold the pipe"
ctl "$s" "exec true"
[ "$(timeout 20 cat "$s/wait")" = 0 ] || fail "second run: $(cat "$s/status")"
[ "$(timeout 20 cat "$s/stdout" | wc -c)" = 65536 ] ||
	fail "the first run's output is not all there"
ok "a restart over a full, unread log"

rmdir "$s"
stop_clean
ok "then SIGTERM: exit in $STOP_DT ms, nothing forced, nothing leaked"
