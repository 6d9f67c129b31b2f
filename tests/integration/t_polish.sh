# Everyday polish (issue: times, sizes, TERM, errors):
# - times: a slot directory and status change time with the state, wait
#   with the end of the last run, ctl with the last ctl line, the root
#   with the last slot made or removed (ls -lt, find -newer work);
# - sizes: ctl, clone, metrics, status and wait report their text's size,
#   so stat, cp and tar see whole files; stat of clone makes no slot;
# - a pty run gets TERM (pty_term), which env lines override; tput works;
# - errors say what is wrong: an unknown user, a CRLF line end; status.cwd
#   is where the run started.
. "$(dirname "$0")/lib.sh"
printf '[process]\npty_term = xterm-256color\n' >"$CONF"
mount_fs

# later A B: A's mtime is after B's (nanoseconds).
later() {
	awk -v a="$(stat -c %.9Y "$1")" -v b="$(stat -c %.9Y "$2")" \
		'BEGIN { exit !(a > b) }'
}

# --- times
touch "$WORK/t0"
sleep 0.05
s=$(slot timed)
later "$MNT" "$WORK/t0" || fail "root not newer after mkdir"
later "$s" "$WORK/t0" || fail "slot directory not newer than its making"
touch "$WORK/t1"
sleep 0.05
ctl "$s" 'env A=1'
later "$s/ctl" "$WORK/t1" || fail "ctl not newer after a ctl write"
later "$s/status" "$WORK/t1" && fail "status changed time without a state change"
ctl "$s" 'exec sleep 0.3'
wait_for "$s" 0 "timed run"
later "$s/wait" "$WORK/t1" || fail "wait not newer after the run ended"
later "$s/status" "$WORK/t1" || fail "status not newer after the state changed"
later "$s" "$WORK/t1" || fail "slot directory not newer after the state changed"
[ "$(find "$MNT" -maxdepth 1 -newer "$WORK/t1" -name timed)" = "$s" ] ||
	fail "find -newer does not see the slot"
touch "$WORK/t2"
sleep 0.05
rmdir "$s"
later "$MNT" "$WORK/t2" || fail "root not newer after rmdir"
ok "times: root, slot, status, wait and ctl follow what happened"

# --- sizes
s=$(slot sized)
ctl "$s" 'cwd /tmp' 'env X=1' 'exec true'
wait_for "$s" 0 "sized run"
[ "$(stat -c %s "$s/ctl")" = "$(cat "$s/ctl" | wc -c)" ] ||
	fail "ctl size $(stat -c %s "$s/ctl") vs $(cat "$s/ctl" | wc -c)"
[ "$(stat -c %s "$s/status")" = "$(cat "$s/status" | wc -c)" ] || fail "status size"
[ "$(stat -c %s "$s/wait")" = 2 ] || fail "wait size"
[ "$(stat -c %s "$MNT/metrics")" -gt 1000 ] || fail "metrics size"
n=$(slots)
size=$(stat -c %s "$MNT/clone")
[ "$(slots)" = "$n" ] || fail "stat of clone made a slot"
name=$(cat "$MNT/clone")
[ "$size" = $((${#name} + 1)) ] || fail "clone size $size for '$name'"
# tar copies whole files.
(cd "$MNT" && timeout 10 tar cf "$WORK/s.tar" sized/ctl sized/status sized/wait) ||
	fail "tar"
mkdir "$WORK/x"
tar xf "$WORK/s.tar" -C "$WORK/x"
cmp -s "$WORK/x/sized/ctl" "$s/ctl" || fail "tar copied ctl as $(wc -c <"$WORK/x/sized/ctl") bytes"
[ "$(cat "$WORK/x/sized/wait")" = 0 ] || fail "tar copied wait wrong"
cp "$MNT/metrics" "$WORK/m"
grep -q spawnfs_slots "$WORK/m" || fail "cp of metrics"
ok "sizes: ctl, status, wait, metrics, clone (no slot made by stat); tar and cp copy whole files"

# --- TERM on a pty
s=$(slot term)
ctl "$s" 'pty 100x30' 'start echo "T=$TERM"; tput cols; top -b -n 1 | head -n 1 | cut -c1-3'
wait_for "$s" 0 "pty run with TERM"
timeout 5 cat "$s/stdout" | tr -d '\r' >"$WORK/term"
[ "$(sed -n 1p "$WORK/term")" = T=xterm-256color ] || fail "TERM: $(sed -n 1p "$WORK/term")"
[ "$(sed -n 2p "$WORK/term")" = 100 ] || fail "tput cols: $(sed -n 2p "$WORK/term")"
[ "$(sed -n 3p "$WORK/term")" = top ] || fail "top -b: $(cat "$WORK/term")"
ctl "$s" 'env TERM=vt100' 'start echo "T=$TERM"'
wait_for "$s" 0 "pty run with env TERM"
timeout 5 cat "$s/stdout" | tr -d '\r' | tail -n 1 | grep -qx T=vt100 || fail "env TERM did not override"
s=$(slot noterm)
ctl "$s" 'start echo "T=${TERM-unset}"'
wait_for "$s" 0 "run without pty"
[ "$(timeout 5 cat "$s/stdout")" = T=unset ] || fail "TERM without a pty"
ok "pty runs get TERM=xterm-256color (tput cols 100, top -b works); env overrides; none without pty"

# --- errors and cwd
s=$(slot errs)
fails_with 'Invalid argument' ctl "$s" 'user nobdy'
json "$s/status" .error | grep -qF 'no such user "nobdy"' ||
	fail "user error: $(json "$s/status" .error)"
fails_with 'Invalid argument' ctl "$s" $'start echo hi\r'
json "$s/status" .error | grep -q 'carriage return' ||
	fail "CR error: $(json "$s/status" .error)"
fails_with 'Invalid argument' ctl "$s" $'timeout 5\r'
[ "$(json "$s/status" .state)" = new ] || fail "a CRLF start ran"
ctl "$s" 'exec pwd'
wait_for "$s" 0 "pwd"
home=$(getent passwd "$(id -u)" | cut -d: -f6)
[ -d "$home" ] || home=/
[ "$(json "$s/status" .cwd)" = "$home" ] || fail "status.cwd $(json "$s/status" .cwd), want $home"
[ "$(timeout 5 cat "$s/stdout")" = "$home" ] || fail "pwd printed $(cat "$s/stdout")"
ok "errors: no such user \"nobdy\", carriage return refused; status.cwd $home"
unmount_fs || fail "daemon exit status $?"
