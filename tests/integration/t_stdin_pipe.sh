# stdin: with "stdin pipe" the bytes written to stdin reach
# the child in order and intact, eof closes it, and a write with nowhere to
# go (stdin null, after eof, after the end) fails with EPIPE.
. "$(dirname "$0")/lib.sh"
mount_fs

# Lines come back one by one, in order, while cat runs.
s=$(slot echo)
ctl "$s" 'stdin pipe' 'exec cat'
wait_until 10 state_is "$s" running
[ "$(json "$s/status" .stdin)" = pipe ] || fail "status.stdin is not pipe"
size=0
for line in one two three; do
	echo "$line" >>"$s/stdin" || fail "echo $line >> stdin"
	size=$((size + ${#line} + 1))
	until_true 5 '[ "$(stat -c %s "$s/stdout")" = "$size" ]'
done
echo four >"$s/stdin" || fail "echo four > stdin (O_TRUNC)"
[ "$(json "$s/status" .state)" = running ] || fail "cat ended before eof"
ctl "$s" eof
[ "$(timeout 10 cat "$s/wait")" = 0 ] || fail "eof did not end cat with 0"
[ "$(timeout 5 cat "$s/stdout")" = "one
two
three
four" ] || fail "stdout: $(timeout 5 cat "$s/stdout")"
ok "echo >> stdin comes back from cat line by line, in order; eof -> 0"

# 2 MB of random bytes arrive intact while a reader drains stdout.
head -c 2097152 /dev/urandom >"$WORK/in"
s=$(slot big)
ctl "$s" 'stdin pipe' 'exec cat'
wait_until 10 state_is "$s" running
timeout 20 cat "$s/stdout" >"$WORK/out" &
reader=$!
timeout 20 dd if="$WORK/in" of="$s/stdin" bs=1M status=none ||
	fail "writing 2 MB into stdin failed"
ctl "$s" eof
[ "$(timeout 10 cat "$s/wait")" = 0 ] || fail "big: wait"
wait "$reader" || fail "big: the stdout reader failed"
in_sum=$(md5sum <"$WORK/in")
out_sum=$(md5sum <"$WORK/out")
[ "$in_sum" = "$out_sum" ] ||
	fail "2 MB through stdin: md5 differs ($(stat -c %s "$WORK/out") bytes out)"
ok "2 MB through stdin and stdout, md5 ${in_sum%% *}"

# No reader on the other side: EPIPE.
s=$(slot null)
ctl "$s" 'exec sleep 100'
wait_until 10 state_is "$s" running
[ "$(json "$s/status" .stdin)" = null ] || fail "default stdin is not null"
write_fails "Broken pipe" "$s/stdin" "x
"
ctl "$s" kill
[ "$(timeout 10 cat "$s/wait")" = 137 ] || fail "null: kill"
ok "writing when stdin is null: EPIPE"

s=$(slot closed)
ctl "$s" 'stdin pipe' 'exec sleep 100'
wait_until 10 state_is "$s" running
ctl "$s" eof
write_fails "Broken pipe" "$s/stdin" "x
"
ctl "$s" kill
[ "$(timeout 10 cat "$s/wait")" = 137 ] || fail "closed: kill"
ok "writing after eof: EPIPE"

s=$(slot ended)
ctl "$s" 'stdin pipe' 'exec cat'
echo before >>"$s/stdin"
ctl "$s" eof
[ "$(timeout 10 cat "$s/wait")" = 0 ] || fail "ended: wait"
write_fails "Broken pipe" "$s/stdin" "after
"
[ "$(timeout 5 cat "$s/stdout")" = before ] || fail "ended: stdout"
ok "writing after the process ended: EPIPE"
