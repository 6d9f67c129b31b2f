# Several readers of one log: each open reader gets every byte
# in order, the slowest pacing the child like tee; fast and slow producers.
. "$(dirname "$0")/lib.sh"
mount_fs

# fanout SLOT EXPECTED LABEL: 4 cats on SLOT's stdout (the command waits
# for a line on its stdin first, sent once all are open, so all are there
# before the first byte); each file must be EXPECTED exactly.
fanout() {
	local s=$1 want=$2 i pids=()
	for i in 1 2 3 4; do
		timeout 20 cat "$s/stdout" >"$WORK/out$i" &
		pids+=($!)
	done
	wait_until 5 logs_field_is "$s" stdout readers 4
	[ "$(logs_field "$s" stdout bytes)" = 0 ] ||
		fail "$3: output began before the 4 readers were open"
	echo go >"$s/stdin"
	for i in 1 2 3 4; do
		wait "${pids[$((i - 1))]}" || fail "$3: reader $i status $?"
		cmp -s "$WORK/out$i" "$want" ||
			fail "$3: reader $i got $(wc -c <"$WORK/out$i") bytes, not the expected output"
	done
	[ "$(timeout 5 cat "$s/wait")" = 0 ] || fail "$3: wait"
	ok "$3: 4 concurrent readers, all $(wc -c <"$want") bytes identical"
}

seq 1 300000 >"$WORK/seq"
s=$(slot fast)
ctl "$s" 'stdin pipe' 'start read go; exec seq 1 300000'
fanout "$s" "$WORK/seq" "seq 1 300000"

# A slow producer: a line every 10 ms for about a second.
loop='i=0; while [ $i -lt 100 ]; do echo "line $i"; i=$((i + 1)); sleep 0.01; done'
sh -c "$loop" >"$WORK/lines"
s=$(slot slow)
ctl "$s" 'stdin pipe' "start read go; $loop"
fanout "$s" "$WORK/lines" "100 lines at 10 ms"

# One slow reader among fast ones (4 KiB reads, 1 ms apart): it paces the
# child; nobody loses a byte, the fast readers wait for it.
P=$(logs_helper preadat)
s=$(slot paced)
ctl "$s" 'stdin pipe' 'start read go; exec seq 1 300000'
pids=()
for i in 1 2 3; do
	timeout 20 cat "$s/stdout" >"$WORK/out$i" &
	pids+=($!)
done
: >"$WORK/slow"
timeout 20 "$P" -o "$WORK/slow" "$s/stdout" cat 4096 1 >"$WORK/slow.log" &
pids+=($!)
wait_until 5 logs_field_is "$s" stdout readers 4
echo go >"$s/stdin"
for i in 0 1 2 3; do
	wait "${pids[$i]}" || fail "paced: reader $((i + 1)) status $?"
done
grep -q '^cat 4096 1: n=1988895 ' "$WORK/slow.log" ||
	fail "paced: slow reader: $(cat "$WORK/slow.log")"
for f in out1 out2 out3 slow; do
	cmp -s "$WORK/$f" "$WORK/seq" || fail "paced: $f differs from seq 1 300000"
done
[ "$(timeout 5 cat "$s/wait")" = 0 ] || fail "paced: wait"
ok "seq 1 300000, one slow reader ($(cut -d' ' -f5 "$WORK/slow.log")) and 3 fast: all identical"
