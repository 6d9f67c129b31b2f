# Fast commands are never truncated : every byte
# written before exit is readable to EOF by a reader that opens after the
# exit; output larger than buffer_size waits, paused, for its reader.
. "$(dirname "$0")/lib.sh"

# 1.29 MB of seq must fit unread (buffer_size plus the pipe) for `wait` to
# answer before anyone reads, so this part uses a 2 MiB buffer.
printf '[stream]\nbuffer_size=2M\n' >"$CONF"
mount_fs
seq 1 200000 >"$WORK/seq200k"
runs=50

slots=()
for i in $(seq 1 $runs); do
	n=$(timeout 5 cat "$MNT/clone") || fail "clone $i"
	ctl "$MNT/$n" 'exec seq 1 200000'
	slots+=("$n")
done
for n in "${slots[@]}"; do
	[ "$(timeout 10 cat "$MNT/$n/wait")" = 0 ] || fail "slot $n: wait"
	timeout 10 cat "$MNT/$n/stdout" >"$WORK/out" || fail "slot $n: cat"
	cmp -s "$WORK/out" "$WORK/seq200k" ||
		fail "slot $n: stdout differs from seq 1 200000 ($(wc -c <"$WORK/out") bytes)"
	rmdir "$MNT/$n" || fail "rmdir $n"
done
ok "$runs x seq 1 200000 read after exit: all byte-identical"

slots=()
for i in $(seq 1 $runs); do
	mkdir "$MNT/echo$i"
	ctl "$MNT/echo$i" 'exec echo hi'
	slots+=("echo$i")
done
for n in "${slots[@]}"; do
	[ "$(timeout 10 cat "$MNT/$n/wait")" = 0 ] || fail "$n: wait"
	timeout 10 cat "$MNT/$n/stdout" >"$WORK/out" || fail "$n: cat"
	[ "$(od -An -c "$WORK/out" | tr -d ' ')" = 'hi\n' ] ||
		fail "$n: stdout is '$(cat "$WORK/out")', want 'hi\n'"
	rmdir "$MNT/$n" || fail "rmdir $n"
done
ok "$runs x echo hi read after exit: all exactly 'hi\\n'"
unmount_fs || fail "daemon exit status $?"

# Output much larger than the buffer: the command cannot finish before it
# is read. A reader that opens late still gets every byte, and the run
# then ends with status 0.
printf '[stream]\nbuffer_size=64K\n' >"$CONF"
mount_fs
seq 1 100000 >"$WORK/seq100k"
s=$(slot big)
ctl "$s" 'exec seq 1 100000'
wait_until 5 logs_field_is "$s" stdout paused true
sleep 0.3
jq -e '.state == "running" and .logs.stdout.bytes == 65536' "$s/status" \
	>/dev/null || fail "not paused at buffer_size: $(cat "$s/status")"
ok "seq 1 100000 paused at 65536 bytes with no reader"
timeout 10 cat "$s/stdout" >"$WORK/out" || fail "cat: no EOF in 10 s"
cmp -s "$WORK/out" "$WORK/seq100k" ||
	fail "stdout differs from seq 1 100000 ($(wc -c <"$WORK/out") bytes)"
[ "$(timeout 5 cat "$s/wait")" = 0 ] || fail "wait after the read"
ok "late reader got all $(wc -c <"$WORK/out") bytes, then wait gave 0"
