# by-pid: by-pid/PID is a symlink to ../NAME for each live
# run; readlink, ls and `cd by-pid/PID` work; it goes when the run ends,
# and a restart shows the new pid.
. "$(dirname "$0")/lib.sh"
mount_fs

[ -d "$MNT/by-pid" ] || fail "no by-pid directory"
[ -z "$(ls -A "$MNT/by-pid")" ] || fail "by-pid not empty at first"

a=$(slot job.1)
b=$(slot other)
ctl "$a" 'exec sleep 100'
ctl "$b" 'start sleep 100; true'
wait_until 10 state_is "$a" running
wait_until 10 state_is "$b" running
pa=$(json "$a/status" .pid)
pb=$(json "$b/status" .pid)
link=$MNT/by-pid/$pa
[ -L "$link" ] || fail "by-pid/$pa is not a symlink"
[ "$(stat -c %F "$link")" = "symbolic link" ] || fail "by-pid/$pa type"
[ "$(readlink "$link")" = ../job.1 ] || fail "readlink gave '$(readlink "$link")'"
[ "$(readlink "$MNT/by-pid/$pb")" = ../other ] || fail "readlink other"
[ "$link" -ef "$a" ] || fail "by-pid/$pa does not resolve to the slot"
[ "$(ls "$MNT/by-pid" | sort -n | tr '\n' ' ')" = "$(printf '%s\n' "$pa" "$pb" |
	sort -n | tr '\n' ' ')" ] || fail "ls by-pid: $(ls "$MNT/by-pid" | tr '\n' ' ')"
ok "by-pid lists $pa and $pb; readlink by-pid/$pa is ../job.1"

got=$(cd "$link" && jq -r '.name + " " + (.pid | tostring)' status) ||
	fail "cd by-pid/$pa && cat status failed"
[ "$got" = "job.1 $pa" ] || fail "status through by-pid: '$got'"
got=$(cd "$link" && pwd -P)
[ "$got" = "$MNT/job.1" ] || fail "pwd -P in by-pid/$pa: $got"
(cd "$link" && ctl . 'signal TERM') || fail "ctl through by-pid"
[ "$(timeout 10 cat "$a/wait")" = 143 ] || fail "TERM through by-pid/PID/ctl"
ok "cd by-pid/$pa && cat status works (pwd -P is the slot); ctl works there"

# Gone when the run ends.
wait_until 5 life_gone "$link"
# shellcheck disable=SC2010 # readdir itself is under test
ls "$MNT/by-pid" | grep -qx "$pa" && fail "ls by-pid still lists $pa"
[ -L "$MNT/by-pid/$pb" ] || fail "the other slot's link went too"
if readlink "$link" >/dev/null 2>&1; then fail "readlink of a dead pid works"; fi
ok "after the end by-pid/$pa is gone (lookup, readlink, ls); $pb stays"

# A restart shows the new pid only.
ctl "$a" 'exec sleep 100'
wait_until 10 state_is "$a" running
pa2=$(json "$a/status" .pid)
[ "$(readlink "$MNT/by-pid/$pa2")" = ../job.1 ] || fail "restart: no link for $pa2"
life_gone "$link" || fail "restart: the old pid's link is back"

# The grandchild of a start is not a run: only the shell's pid is there.
kids=$(children_of "$pb")
[ -n "$kids" ] || fail "other: the shell has no child"
for k in $kids; do
	life_gone "$MNT/by-pid/$k" || fail "by-pid lists grandchild $k"
done
ctl "$a" kill
ctl "$b" kill
[ "$(timeout 10 cat "$a/wait")" = 137 ] || fail "a: wait"
[ "$(timeout 10 cat "$b/wait")" = 137 ] || fail "b: wait"
until_true 5 '[ -z "$(ls -A "$MNT/by-pid")" ]'
ok "a restart links only the new pid $pa2; grandchildren are not listed;" \
	"by-pid is empty when nothing runs"

# rmdir of an ended slot leaves no dangling link either.
ctl "$a" 'exec sleep 100'
wait_until 10 state_is "$a" running
pa3=$(json "$a/status" .pid)
[ -L "$MNT/by-pid/$pa3" ] || fail "no link for $pa3"
ctl "$a" kill
[ "$(timeout 10 cat "$a/wait")" = 137 ] || fail "a: third wait"
rmdir "$a"
life_gone "$MNT/by-pid/$pa3" || fail "a link to a removed slot"
ok "no link survives the slot's removal"
