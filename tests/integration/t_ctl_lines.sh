# ctl lines: several lines in one write, the last line without
# a newline, > and >>, the first bad line's errno, E2BIG, EBUSY, quoting,
# cwd, and the environment a run gets (nothing inherited but the basics).
. "$(dirname "$0")/lib.sh"

cat >"$CONF" <<'EOF'
[env]
CONF_VAR = from config
EOF
# The daemon's own environment must not reach its children.
export SPAWNFS_LEAK=1
export HOME=$WORK/not-home USER=not-user LOGNAME=not-user SHELL=/not/shell
mount_fs

# finish SLOT: wait (bounded) for the run to end, print its wait status.
finish() {
	timeout 10 cat "$1/wait" || fail "$1: wait did not answer"
}
out() {
	timeout 5 cat "$1/stdout" || fail "$1: stdout did not end"
}

# Several lines in one write run in order: the later env wins, cwd applies.
mkdir "$WORK/dir"
s=$(slot multi)
cat >"$s/ctl" <<EOF
cwd $WORK/dir
env A=first
env A=second
start pwd; echo "\$A"
EOF
[ "$(finish "$s")" = 0 ] || fail "multi: wait"
[ "$(out "$s")" = "$WORK/dir
second" ] || fail "multi: stdout '$(out "$s")'"
ok "heredoc of cwd, env, env, start runs in order"

# A final line without a newline counts.
s=$(slot nonl)
printf 'start echo last' >"$s/ctl"
[ "$(finish "$s")" = 0 ] || fail "nonl: wait"
[ "$(out "$s")" = last ] || fail "nonl: stdout '$(out "$s")'"
ok "a final line without a newline runs"

# > (O_TRUNC) and >> (O_APPEND) both work.
s=$(slot trunc)
echo 'start echo via-trunc' >"$s/ctl" || fail "> onto ctl"
[ "$(finish "$s")" = 0 ] && [ "$(out "$s")" = via-trunc ] ||
	fail "> onto ctl did not run"
s=$(slot append)
echo 'start echo via-append' >>"$s/ctl" || fail ">> onto ctl"
[ "$(finish "$s")" = 0 ] && [ "$(out "$s")" = via-append ] ||
	fail ">> onto ctl did not run"
ok "> and >> onto ctl"

# The write fails at the first bad line with its errno; lines before it
# took effect, lines after it did not run.
s=$(slot badline)
write_fails "Invalid argument" "$s/ctl" "cwd /tmp
env NOEQUALS
start echo ran
"
sleep 0.3
[ "$(json "$s/status" .state)" = new ] ||
	fail "a start after the bad line ran: $(cat "$s/status")"
[ "$(stat -c %s "$s/stdout")" = 0 ] || fail "badline: output appeared"
json "$s/status" .error | grep -q NOEQUALS ||
	fail "status.error does not name the bad line: $(json "$s/status" .error)"
ctl "$s" 'exec pwd'
[ "$(finish "$s")" = 0 ] && [ "$(out "$s")" = /tmp ] ||
	fail "the cwd line before the bad line was not applied"
ok "env NOEQUALS: EINVAL, later start not run, earlier cwd applied"

s=$(slot unknown)
ctl_fails "$s" "Invalid argument" 'frobnicate now'
ctl_fails "$s" "Invalid argument" 'stdin sometimes'
ctl_fails "$s" "Invalid argument" 'timeout soon'
ctl_fails "$s" "Invalid argument" 'unset 1BAD'
ctl_fails "$s" "Invalid argument" "exec printf 'unterminated"
[ "$(json "$s/status" .state)" = new ] || fail "unknown: state changed"
ok "unknown command and bad arguments: EINVAL"

# A line over 64 KiB: E2BIG. dd writes it in one write(2).
s=$(slot big)
{
	printf 'exec echo '
	head -c 71680 /dev/zero | tr '\0' a
	printf '\n'
} >"$WORK/bigline"
if msg=$(dd if="$WORK/bigline" of="$s/ctl" bs=1M iflag=fullblock \
	oflag=append conv=notrunc 2>&1); then
	fail "a 70 KiB line was accepted"
fi
case $msg in
*"Argument list too long"*) ;;
*) fail "70 KiB line: wanted E2BIG, got '$msg'" ;;
esac
sleep 0.3
[ "$(json "$s/status" .state)" = new ] || fail "the 70 KiB line ran"
ok "a 70 KiB line: E2BIG"

# Settings while running: EBUSY; so is a second start.
s=$(slot busy)
ctl "$s" 'exec sleep 100'
wait_until 10 state_is "$s" running
for line in 'env X=1' 'unset X' 'cwd /' 'stdin pipe' 'start echo again' \
	'exec echo again'; do
	ctl_fails "$s" "Device or resource busy" "$line"
done
json "$s/status" .error | grep -q 'Device or resource busy' ||
	fail "status.error after EBUSY: $(json "$s/status" .error)"
[ "$(json "$s/status" '.argv | join(" ")')" = "sleep 100" ] ||
	fail "a start while running replaced the run"
ctl "$s" kill
[ "$(finish "$s")" = 137 ] || fail "busy: kill"
ok "settings and start while running: EBUSY"

# Quoting: words split like a shell's, with no expansion.
s=$(slot quote)
cat >"$s/ctl" <<'EOF'
exec printf '%s|' 'a b' "c\"d" e\ f '$HOME' ''
EOF
[ "$(finish "$s")" = 0 ] || fail "quote: wait"
[ "$(out "$s")" = 'a b|c"d|e f|$HOME||' ] ||
	fail "quote: stdout '$(out "$s")'"
ok "quoting: 'a b' \"c\\\"d\" e\\ f, no expansion"

# env then start: the shell sees the variable.
s=$(slot envstart)
ctl "$s" 'env FOO=bar baz' 2>/dev/null && fail "env with two words accepted"
ctl "$s" 'env FOO=bar' 'start echo $FOO'
[ "$(finish "$s")" = 0 ] && [ "$(out "$s")" = bar ] ||
	fail "env FOO=bar; start echo \$FOO: '$(out "$s")'"
ok "env FOO=bar, start echo \$FOO prints bar"

# The environment of a run: PATH, HOME, USER, LOGNAME, SHELL of the run-as
# user, then [env], then the slot's env lines, less unset ones.
s=$(slot environ)
ctl "$s" 'env KEEP=yes' 'env DROP=no' 'env "SPACED=a b"' 'unset DROP' \
	'exec env'
[ "$(finish "$s")" = 0 ] || fail "exec env failed"
out "$s" >"$WORK/env"
names=$(cut -d= -f1 "$WORK/env" | sort | tr '\n' ' ')
[ "$names" = "CONF_VAR HOME KEEP LOGNAME PATH SHELL SPACED USER " ] ||
	fail "environment names: $names"
IFS=: read -r uname _ _ _ _ uhome ushell < <(getent passwd "$(id -u)")
for want in "HOME=$uhome" "USER=$uname" "LOGNAME=$uname" "SHELL=$ushell" \
	"CONF_VAR=from config" KEEP=yes "SPACED=a b"; do
	grep -qxF "$want" "$WORK/env" || fail "missing $want in: $(cat "$WORK/env")"
done
grep -q '^PATH=/' "$WORK/env" || fail "PATH: $(grep ^PATH= "$WORK/env")"
ok "environment: only the basics, [env] and env lines; unset; no leak"

s=$(slot cwd)
ctl "$s" 'cwd /tmp' 'exec pwd'
[ "$(finish "$s")" = 0 ] && [ "$(out "$s")" = /tmp ] ||
	fail "cwd /tmp; exec pwd: '$(out "$s")'"
[ "$(json "$s/status" .cwd)" = /tmp ] || fail "status.cwd"
ok "cwd /tmp, exec pwd prints /tmp"
