# Terminals: `pty COLSxROWS` runs the next start on a pseudo-
# terminal that is the child's controlling tty, of that size; its output
# (stdout and stderr alike) goes to the stdout log, stderr stays empty;
# writes to stdin are typed on it; `resize` changes the size of the running
# child's terminal and the child gets SIGWINCH (ENOTTY without a pty);
# Ctrl-D typed on stdin, or `eof`, ends cat.
. "$(dirname "$0")/lib.sh"
mount_fs

# A shell on a 100x30 terminal.
s=$(slot tty)
ctl "$s" 'pty 100x30' \
	'start tty; stty size; echo to-stderr >&2; echo via-dev-tty >/dev/tty; exit 2'
[ "$(timeout 10 cat "$s/wait")" = 2 ] || fail "tty: wait"
timeout 5 cat "$s/stdout" | tr -d '\r' >"$WORK/tty.out"
sed -n 1p "$WORK/tty.out" | grep -qx '/dev/pts/[0-9]*' ||
	fail "tty: tty printed '$(sed -n 1p "$WORK/tty.out")'"
[ "$(sed -n 2p "$WORK/tty.out")" = "30 100" ] ||
	fail "tty: stty size printed '$(sed -n 2p "$WORK/tty.out")'"
[ "$(sed -n 3p "$WORK/tty.out")" = to-stderr ] || fail "tty: stderr not on the terminal"
[ "$(sed -n 4p "$WORK/tty.out")" = via-dev-tty ] ||
	fail "tty: /dev/tty (the controlling terminal) did not work"
timeout 5 cat "$s/stdout" | head -n 1 | grep -q $'\r$' ||
	fail "tty: no CR: the output did not pass a terminal"
[ "$(stat -c %s "$s/stderr")" = 0 ] || fail "tty: the stderr log is not empty"
jq -e '.pty == {"cols": 100, "rows": 30}' "$s/status" >/dev/null ||
	fail "tty: status pty $(json "$s/status" .pty)"
timeout 5 cat "$s/events" >"$WORK/tty.ev"
life_ev_check "$WORK/tty.ev" >&2 || fail "tty: events"
[ "$(life_ev_merged "$WORK/tty.ev")" = "start stdout end" ] ||
	fail "tty: events $(life_ev_types "$WORK/tty.ev")"
ok "pty 100x30: tty is $(sed -n 1p "$WORK/tty.out"), stty size '30 100'," \
	"/dev/tty opens, stderr goes to stdout, the stderr log is empty"

# pty off: the next run has no terminal again.
ctl "$s" 'pty off' 'start tty'
[ "$(timeout 10 cat "$s/wait")" = 1 ] || fail "pty off: tty still found a terminal"
timeout 5 cat "$s/stdout" | tr -d '\r' | tail -n 1 | grep -qx 'not a tty' ||
	fail "pty off: tty printed $(timeout 5 cat "$s/stdout" | tail -n 1)"
[ "$(json "$s/status" .pty)" = null ] || fail "pty off: status pty"
ok "pty off: tty says 'not a tty' on the next run"

# resize: a child that prints its size on SIGWINCH prints the new one.
s=$(slot winch)
line="start trap 'stty size' WINCH; stty size; i=0;"
ctl "$s" 'pty 80x24' "$line while [ \$i -lt 200 ]; do sleep 0.1; i=\$((i + 1)); done"
[ "$(timeout 5 head -c 7 "$s/stdout")" = $'24 80\r' ] ||
	fail "winch: first size $(timeout 1 cat "$s/stdout" | od -c)"
ctl "$s" 'resize 132x50'
[ "$(timeout 5 head -c 15 "$s/stdout" | tail -n 1)" = $'50 132\r' ] ||
	fail "winch: no new size $(timeout 1 cat "$s/stdout" | od -c)"
jq -e '.pty == {"cols": 132, "rows": 50}' "$s/status" >/dev/null ||
	fail "winch: status pty $(json "$s/status" .pty)"
ctl "$s" 'resize 90x10'
[ "$(timeout 5 head -c 22 "$s/stdout" | tail -n 1)" = $'10 90\r' ] ||
	fail "winch: no second size $(timeout 1 cat "$s/stdout" | od -c)"
ctl "$s" kill
[ "$(timeout 10 cat "$s/wait")" = 137 ] || fail "winch: wait"
[ "$(timeout 5 cat "$s/stdout" | tr -d '\r')" = "24 80
50 132
10 90" ] || fail "winch: output $(timeout 5 cat "$s/stdout" | od -c | head)"
ok "resize 132x50 then 90x10: the child's WINCH trap printed '50 132', '10 90'"

# resize without a pty: ENOTTY.
s=$(slot plain)
ctl "$s" 'exec sleep 100'
wait_until 10 state_is "$s" running
ctl_fails "$s" "Inappropriate ioctl for device" 'resize 100x30'
ctl "$s" kill
[ "$(timeout 10 cat "$s/wait")" = 137 ] || fail "plain: wait"
ok "resize on a run without a pty: ENOTTY"

# Ctrl-D: cat on a terminal, "hello" typed, then ^D: cat exits 0.
s=$(slot ctrld)
ctl "$s" 'pty 80x24' 'exec cat'
wait_until 10 state_is "$s" running
printf 'hello\n' >>"$s/stdin"
# the terminal echoes the line, then cat writes it back
until_true 5 '[ "$(logs_field "$s" stdout bytes)" -ge 14 ]'
[ "$(json "$s/status" .state)" = running ] || fail "ctrld: cat ended early"
printf '\004' >>"$s/stdin"
[ "$(timeout 5 cat "$s/wait")" = 0 ] || fail "ctrld: ^D did not end cat with 0"
[ "$(timeout 5 cat "$s/stdout" | tr -d '\r')" = "hello
hello" ] || fail "ctrld: output $(timeout 5 cat "$s/stdout" | od -c | head)"
ok "pty: hello typed on stdin is echoed and catted; ^D ends cat with 0"

# eof on a pty types ^D too.
s=$(slot ptyeof)
ctl "$s" 'pty 80x24' 'exec cat'
wait_until 10 state_is "$s" running
printf 'abc\n' >>"$s/stdin"
until_true 5 '[ "$(logs_field "$s" stdout bytes)" -ge 10 ]'
ctl "$s" eof
[ "$(timeout 5 cat "$s/wait")" = 0 ] || fail "ptyeof: eof did not end cat"
timeout 5 cat "$s/events" >"$WORK/ptyeof.ev"
[ "$(life_ev_merged "$WORK/ptyeof.ev")" = "start stdout eof end" ] ||
	fail "ptyeof: events $(life_ev_types "$WORK/ptyeof.ev")"
ok "pty: the eof line ends cat with 0 and writes an eof event"

# The stderr log of a pty run gets nothing, and once the run is over it
# is finished like the others: cat reaches EOF at once, with no bytes.
for n in tty-again ctrld ptyeof; do
	s=$MNT/$n
	[ "$n" != tty-again ] || {
		mkdir "$s"
		ctl "$s" 'pty 80x24' 'start echo out; echo err >&2'
		[ "$(timeout 10 cat "$s/wait")" = 0 ] || fail "$n: wait"
	}
	t0=$(now_ms)
	rc=0
	timeout 5 cat "$s/stderr" >"$WORK/$n.err" || rc=$?
	t=$(($(now_ms) - t0))
	[ "$rc" = 0 ] || fail "$n: cat stderr of an ended pty run did not reach" \
		"EOF (timeout after $t ms, rc $rc)"
	[ ! -s "$WORK/$n.err" ] || fail "$n: stderr has bytes"
done
ok "after a pty run, cat stderr reaches EOF at once with no bytes"
