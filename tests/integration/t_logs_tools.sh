# The logs with the tools users use: tail -f follows, tail -n / head / grep / while-read give exact
# results on a finished log, cat follows a running process to EOF.
. "$(dirname "$0")/lib.sh"
mount_fs

# consecutive FILE: the "line N" lines of FILE are N, N+1, N+2... with
# nothing else, none repeated, none missing.
consecutive() {
	awk '$1 != "line" || NF != 2 { exit 1 }
	     NR > 1 && $2 != prev + 1 { exit 1 }
	     { prev = $2 } END { if (NR == 0) exit 1 }' "$1"
}

# A running process printing a numbered line every 50 ms.
s=$(slot ticker)
ctl "$s" 'start i=0; while :; do echo "line $i"; i=$((i + 1)); sleep 0.05; done'
wait_until 5 logs_field_gt "$s" stdout bytes 100

# tail -f: the last lines, then the lines written while it ran.
b0=$(stat -c %s "$s/stdout")
last0=$(timeout 5 head -c "$b0" "$s/stdout" | tail -n 1 | cut -d' ' -f2)
rc=0
timeout 3 tail -f "$s/stdout" >"$WORK/tailf" || rc=$?
[ "$rc" = 124 ] || fail "tail -f ended by itself (status $rc)"
consecutive "$WORK/tailf" ||
	fail "tail -f output has gaps, repeats or junk: $(head -c 300 "$WORK/tailf")"
first=$(head -n 1 "$WORK/tailf" | cut -d' ' -f2)
last=$(tail -n 1 "$WORK/tailf" | cut -d' ' -f2)
ok "tail -f: line $last0 was last when it started; it printed lines $first..$last"
[ "$first" -le "$last0" ] || fail "tail -f did not start with existing lines"
[ "$last" -ge $((last0 + 20)) ] ||
	fail "tail -f did not follow: last line $last, started at $last0"

# tail -n 3 on the running log returns at once (st_size is right).
timeout 5 tail -n 3 "$s/stdout" >"$WORK/t3" || fail "tail -n 3 on a running log hung"
[ "$(wc -l <"$WORK/t3")" = 3 ] && consecutive "$WORK/t3" ||
	fail "tail -n 3 on a running log: $(cat "$WORK/t3")"
ok "tail -n 3 on a running log: $(tr '\n' ' ' <"$WORK/t3")"
ctl "$s" kill
[ "$(timeout 5 cat "$s/wait")" = 137 ] || fail "wait after kill"

# A finished log.
f=$(slot done)
ctl "$f" 'exec seq 1 1000'
[ "$(timeout 5 cat "$f/wait")" = 0 ] || fail "seq wait"
[ "$(timeout 5 tail -n 3 "$f/stdout")" = "$(seq 998 1000)" ] ||
	fail "tail -n 3: $(timeout 5 tail -n 3 "$f/stdout" | tr '\n' ' ')"
ok "tail -n 3 on a finished log: 998 999 1000"
[ "$(timeout 5 head -c 100 "$f/stdout")" = "$(seq 1 1000 | head -c 100)" ] ||
	fail "head -c 100"
[ "$(timeout 5 head -n 5 "$f/stdout")" = "$(seq 1 5)" ] || fail "head -n 5"
ok "head -c 100 and head -n 5 exact"
want=$(seq 1 1000 | grep -c 7)
got=$(timeout 5 grep -c 7 "$f/stdout") || fail "grep -c"
[ "$got" = "$want" ] || fail "grep -c 7: $got, want $want"
ok "grep -c 7: $got"
got=$(timeout 10 bash -c 'n=0; s=0; while IFS= read -r l; do
	n=$((n + 1)); s=$((s + l)); done <"$1"; echo "$n $s"' _ "$f/stdout") ||
	fail "while read loop hung or failed"
[ "$got" = "1000 500500" ] || fail "while read: count and sum '$got'"
ok "while read: 1000 lines, sum 500500"

# cat on a running process prints what is there, follows, and ends at exit.
c=$(slot follow)
ctl "$c" 'start i=0; while [ $i -lt 20 ]; do echo "line $i"; i=$((i + 1)); sleep 0.05; done'
wait_until 5 logs_field_gt "$c" stdout bytes 0
b=$(logs_field "$c" stdout bytes)
t0=$(now_ms)
timeout 10 cat "$c/stdout" >"$WORK/follow" || fail "cat did not reach EOF (status $?)"
dt=$(($(now_ms) - t0))
consecutive "$WORK/follow" && [ "$(head -n 1 "$WORK/follow")" = "line 0" ] &&
	[ "$(tail -n 1 "$WORK/follow")" = "line 19" ] ||
	fail "cat of a running process: $(tr '\n' ' ' <"$WORK/follow")"
ok "cat on a running log ($b bytes at open) followed to EOF in $dt ms: 20 lines"
[ "$(timeout 5 cat "$c/wait")" = 0 ] || fail "follow: wait"

# A restarted slot: the log goes on growing, and tail -f follows across
# the runs.
r=$(slot again)
ctl "$r" 'exec echo one'
[ "$(timeout 5 cat "$r/wait")" = 0 ] || fail "restart: first wait"
timeout 3 tail -f "$r/stdout" >"$WORK/tf" &
tf=$!
sleep 0.5
ctl "$r" 'exec echo two'
[ "$(timeout 5 cat "$r/wait")" = 0 ] || fail "restart: second wait"
[ "$(timeout 5 cat "$r/stdout")" = "$(printf 'one\ntwo')" ] ||
	fail "restart: stdout $(timeout 5 cat "$r/stdout" | tr '\n' ' ')"
[ "$(stat -c %s "$r/stdout")" = 8 ] || fail "restart: st_size"
wait "$tf" || [ $? = 124 ] || fail "restart: tail -f status"
[ "$(cat "$WORK/tf")" = "$(printf 'one\ntwo')" ] ||
	fail "restart: tail -f printed '$(tr '\n' ' ' <"$WORK/tf")'"
ok "restart: the log holds both runs; tail -f followed across them"
