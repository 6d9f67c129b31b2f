# Reading ctl gives lines that recreate the job: cwd, env,
# unset, stdin, pty, timeout and the last start/exec line, quoted so that
# `cat a/ctl > b/ctl` makes b run the same job with the same output.
. "$(dirname "$0")/lib.sh"
mount_fs

# run_to_end SLOT: feed "input" to the job's stdin, close it, wait.
run_to_end() {
	wait_until 10 state_is "$1" running
	printf 'input\n' >>"$1/stdin"
	ctl "$1" eof
	timeout 10 cat "$1/wait"
}

dir="$WORK/a b"
mkdir "$dir"
a=$(slot a)
ctl "$a" "cwd '$dir'" \
	"env 'MSG=say \"hi\", it'\\''s \$HOME \\ done'" \
	'env PLAIN=1' 'env GONE=x' 'unset GONE' 'unset LOGNAME' \
	'stdin pipe' \
	'start pwd; printf "%s\n" "$MSG"; echo "plain=$PLAIN gone=${GONE-unset} logname=${LOGNAME-unset}"; cat; exit 7'
[ "$(run_to_end "$a")" = 7 ] || fail "a: wait"
timeout 5 cat "$a/stdout" >"$WORK/a.out"
printf '%s\n' "$dir" "say \"hi\", it's \$HOME \\ done" \
	"plain=1 gone=unset logname=unset" input >"$WORK/want"
cmp -s "$WORK/a.out" "$WORK/want" ||
	fail "a: output differs: $(diff "$WORK/want" "$WORK/a.out")"
timeout 5 cat "$a/ctl" >"$WORK/a.ctl"
[ "$(grep -c '^start ' "$WORK/a.ctl")" = 1 ] || fail "a/ctl: not one start line"
[ "$(grep -c '^exec ' "$WORK/a.ctl")" = 0 ] || fail "a/ctl: an exec line"
ok "a: cwd with a space, env with quotes, unset, stdin pipe: output as expected"

b=$(slot b)
cat "$a/ctl" >"$b/ctl"
[ "$(run_to_end "$b")" = 7 ] || fail "b: wait"
timeout 5 cat "$b/stdout" >"$WORK/b.out"
cmp -s "$WORK/b.out" "$WORK/a.out" ||
	fail "b: output differs: $(diff "$WORK/a.out" "$WORK/b.out")"
timeout 5 cat "$b/ctl" >"$WORK/b.ctl"
cmp -s "$WORK/a.ctl" "$WORK/b.ctl" ||
	fail "b/ctl differs: $(diff "$WORK/a.ctl" "$WORK/b.ctl")"
jq -s -e '.[0].argv == .[1].argv and .[0].cwd == .[1].cwd and
	.[1].cwd == "'"$dir"'" and .[1].stdin == "pipe"' \
	"$a/status" "$b/status" >/dev/null || fail "b: status differs from a"
ok "cat a/ctl > b/ctl: b runs the same job, same output, same ctl text"

# pty and timeout are part of the job too; only the last start counts.
c=$(slot c)
ctl "$c" 'pty 90x20' 'timeout 30' 'start echo old'
[ "$(timeout 10 cat "$c/wait")" = 0 ] || fail "c: first wait"
ctl "$c" 'start stty size; sleep 0.2'
[ "$(timeout 10 cat "$c/wait")" = 0 ] || fail "c: wait"
timeout 5 cat "$c/ctl" >"$WORK/c.ctl"
grep -q 'old' "$WORK/c.ctl" && fail "c/ctl keeps the older start line"
d=$(slot d)
cat "$c/ctl" >"$d/ctl"
[ "$(timeout 10 cat "$d/wait")" = 0 ] || fail "d: wait"
[ "$(timeout 5 cat "$d/stdout" | tr -d '\r')" = "20 90" ] ||
	fail "d: stty size gave '$(timeout 5 cat "$d/stdout")'"
jq -e '.pty == {"cols": 90, "rows": 20}' "$d/status" >/dev/null ||
	fail "d: status pty"
timeout 5 cat "$d/ctl" | cmp -s - "$WORK/c.ctl" || fail "d/ctl differs from c/ctl"
# the timeout came along: a job that outlives it is stopped (TERM, 143)
e=$(slot e)
ctl "$e" 'timeout 1' 'exec sleep 100'
ctl "$e" kill
[ "$(timeout 10 cat "$e/wait")" = 137 ] || fail "e: kill"
f=$(slot f)
t0=$(now_ms)
cat "$e/ctl" >"$f/ctl"
[ "$(timeout 10 cat "$f/wait")" = 143 ] || fail "f: the cloned timeout did not stop it"
t=$(($(now_ms) - t0))
[ "$t" -ge 800 ] && [ "$t" -le 3500 ] || fail "f: stopped after $t ms"
ok "pty 90x20 and timeout 1 round-trip (clone stopped after $t ms);" \
	"only the last start line is kept"

# An exec line with awkward words.
g=$(slot g)
ctl "$g" "exec printf '<%s>' 'a b' 'c\"d' \"e'f\" 'g\\h' '' '\$HOME' '#x' '	tab' 'é😀' ';' '&&' '*'"
[ "$(timeout 10 cat "$g/wait")" = 0 ] || fail "g: wait"
want='<a b><c"d><e'"'"'f><g\h><><$HOME><#x><	tab><é😀><;><&&><*>'
[ "$(timeout 5 cat "$g/stdout")" = "$want" ] ||
	fail "g: printed '$(timeout 5 cat "$g/stdout")'"
h=$(slot h)
cat "$g/ctl" >"$h/ctl"
[ "$(timeout 10 cat "$h/wait")" = 0 ] || fail "h: wait"
[ "$(timeout 5 cat "$h/stdout")" = "$want" ] ||
	fail "h: printed '$(timeout 5 cat "$h/stdout")'; g/ctl is $(cat "$g/ctl")"
jq -s -e '.[0].argv == .[1].argv and (.[1].argv | length) == 14' \
	"$g/status" "$h/status" >/dev/null || fail "h: argv differs"
[ "$(timeout 5 cat "$h/ctl")" = "$(timeout 5 cat "$g/ctl")" ] || fail "h/ctl differs"
ok "exec with blanks, quotes, backslash, empty, \$, #, tab, UTF-8, ;, &&, *" \
	"round-trips: $(timeout 5 cat "$g/ctl")"

# A slot that never ran reads as its settings only, and they carry over.
i=$(slot i)
ctl "$i" 'env ONLY=settings' 'stdin pipe'
timeout 5 cat "$i/ctl" >"$WORK/i.ctl"
grep -qE '^(start|exec) ' "$WORK/i.ctl" && fail "i/ctl has a start line before any run"
j=$(slot j)
cat "$i/ctl" >"$j/ctl"
ctl "$j" 'start echo "$ONLY"; cat'
[ "$(run_to_end "$j")" = 0 ] || fail "j: wait"
[ "$(timeout 5 cat "$j/stdout")" = "settings
input" ] || fail "j: settings did not carry over"
ok "a never-run slot's ctl holds just its settings, which clone"
