# Read-back is complete: every setting that affects a run
# (user included) is in ctl, so `cat a/ctl > b/ctl` makes the same job.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || { echo "skip: user needs a root daemon"; exit 77; }
getent passwd nobody >/dev/null || { echo "skip: no user nobody"; exit 77; }
mount_fs

# The pty's number differs between runs: print only that it is one.
job='env | LC_ALL=C sort; pwd; id -un; tty | sed "s/[0-9]*$/N/"'
a=$(slot a)
ctl "$a" 'user nobody' 'cwd /tmp' "env 'MSG=a b'" 'env X=1' 'unset LOGNAME' \
	'stdin pipe' 'pty 100x30' 'timeout 30' "start $job"
wait_for "$a" 0 "a"
timeout 5 cat "$a/ctl" >"$WORK/a.ctl"
grep -qx 'user nobody' "$WORK/a.ctl" || fail "no user line: $(cat "$WORK/a.ctl")"

b=$(slot b)
timeout 5 cat "$a/ctl" >"$b/ctl"
wait_for "$b" 0 "b"
timeout 5 cat "$b/ctl" >"$WORK/b.ctl"
cmp -s "$WORK/a.ctl" "$WORK/b.ctl" ||
	fail "read-backs differ: $(diff "$WORK/a.ctl" "$WORK/b.ctl")"
for k in user cwd env unset stdin pty timeout start; do
	grep -q "^$k " "$WORK/a.ctl" || fail "no $k line: $(cat "$WORK/a.ctl")"
done
ok "read-back has every setting and reads back the same"

timeout 5 cat "$a/stdout" >"$WORK/a.out"
timeout 5 cat "$b/stdout" >"$WORK/b.out"
cmp -s "$WORK/a.out" "$WORK/b.out" ||
	fail "outputs differ: $(diff "$WORK/a.out" "$WORK/b.out")"
tr -d '\r' <"$WORK/a.out" >"$WORK/out"
grep -qx nobody "$WORK/out" || fail "not run as nobody: $(cat "$WORK/out")"
grep -qx /tmp "$WORK/out" || fail "not in /tmp: $(cat "$WORK/out")"
grep -qx 'MSG=a b' "$WORK/out" || fail "no MSG: $(cat "$WORK/out")"
grep -q '^LOGNAME=' "$WORK/out" && fail "LOGNAME not unset: $(cat "$WORK/out")"
grep -qx '/dev/pts/N' "$WORK/out" || fail "not on a pty: $(cat "$WORK/out")"
for s in "$a" "$b"; do
	jq -e '.uid == 65534 and .stdin == "pty" and .pty.cols == 100' \
		"$s/status" >/dev/null || fail "status of $s: $(cat "$s/status")"
done
ok "the clone runs as the same user, in the same place, with the same env"
