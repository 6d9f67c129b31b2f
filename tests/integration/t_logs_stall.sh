# The slowest open handle paces the child: an idle open handle
# holds it; with stall_timeout it stops holding after that long, and its
# next read below the window fails with EIO.
. "$(dirname "$0")/lib.sh"
# fd 7, the idle handle, is closed before the unmount, or it would keep
# the file system busy.
trap 'r=$?; set +e; exec 7<&-; (exit $r); cleanup' EXIT
printf '[stream]\nbuffer_size=64K\n' >"$CONF"
mount_fs
seq 1 100000 >"$WORK/want"
W=$(wc -c <"$WORK/want")

# idle_then_cat SLOT: open fd 7 on SLOT's stdout and a full reader in the
# background (pid in $C; 7<&- so it does not keep fd 7's handle open),
# start the run, then read 100 bytes on fd 7 and leave it idle.
idle_then_cat() {
	exec 7<"$1/stdout"
	timeout 8 cat "$1/stdout" >"$WORK/out" 7<&- &
	C=$!
	wait_until 5 logs_field_is "$1" stdout readers 2
	ctl "$1" 'exec seq 1 100000'
	[ "$(timeout 5 head -c 100 <&7)" = "$(head -c 100 "$WORK/want")" ] ||
		fail "first 100 bytes on the idle handle"
}

# stall_timeout=0: the idle handle holds the child until it is closed.
s=$(slot held)
idle_then_cat "$s"
sleep 1.5
n=$(wc -c <"$WORK/out")
ok "idle handle open: the other reader got $n of $W bytes in 1.5 s"
[ "$n" -le $((100 + 65536)) ] || fail "child ran past the idle handle's window"
state_is "$s" running || fail "child not held: $(cat "$s/status")"
logs_field_is "$s" stdout paused true || fail "status does not show paused"
exec 7<&-
wait "$C" || fail "reader status $? after the idle handle closed"
cmp -s "$WORK/out" "$WORK/want" || fail "reader lost bytes"
[ "$(timeout 5 cat "$s/wait")" = 0 ] || fail "held: wait"
ok "closing the idle handle resumed the child; the reader got every byte"
unmount_fs || fail "daemon exit status $?"

# stall_timeout=500ms: the idle handle is dropped as a holder.
printf '[stream]\nbuffer_size=64K\nstall_timeout=500ms\n' >"$CONF"
mount_fs
s=$(slot stalled)
t0=$(now_ms)
idle_then_cat "$s"
wait "$C" || fail "reader status $? with a stalled handle"
dt=$(($(now_ms) - t0))
cmp -s "$WORK/out" "$WORK/want" || fail "reader lost bytes"
[ "$(timeout 5 cat "$s/wait")" = 0 ] || fail "stalled: wait"
ok "stall_timeout 500 ms: the reader got all $W bytes in $dt ms"
[ "$dt" -lt 5000 ] || fail "stall took $dt ms"
rc=0
timeout 5 cat <&7 >/dev/null 2>"$WORK/err" || rc=$?
[ "$rc" = 1 ] && grep -q 'Input/output error' "$WORK/err" ||
	fail "stalled handle's next read: status $rc, $(cat "$WORK/err")"
exec 7<&-
ok "the stalled handle's next read fails with EIO"
