# An open handle outlives rmdir for fstat as well as read:
# cat, tail and less fstat first, so `exec 7<x/stdout; rmdir x; cat <&7`
# must print what the job wrote. fstat reaches the daemon as a getattr of
# the inode without a file handle; it answers from the open handle.
. "$(dirname "$0")/lib.sh"
mount_fs

# fsize FD: st_size from fstat(2) of the test shell's fd FD.
fsize() {
	python3 -c 'import os, sys; print(os.fstat(int(sys.argv[1])).st_size)' "$1"
}

s=$(slot x)
ctl "$s" 'start echo hello; echo oops >&2'
wait_for "$s" 0 "x"
exec 7<"$s/stdout" 8<"$s/status" 9<"$s/wait"
life_trap_fds 7 8 9
st_len=$(fsize 8)
rmdir "$s"
wait_until 10 life_gone "$s"
[ "$(fsize 7)" = 6 ] || fail "fstat of stdout after rmdir: $(fsize 7 2>&1)"
[ "$(fsize 8)" = "$st_len" ] || fail "fstat of status: $(fsize 8 2>&1), want $st_len"
[ "$(fsize 9)" = 2 ] || fail "fstat of wait: $(fsize 9 2>&1)"
ok "fstat after rmdir answers from the open handles"

[ "$(timeout 5 cat <&7)" = hello ] || fail "cat <&7 after rmdir"
[ "$(timeout 5 tail -n 1 <&8 | jq -r .name)" = x ] || fail "tail of status"
[ "$(timeout 5 cat <&9)" = 0 ] || fail "cat of wait"
ok "cat and tail read the removed slot's files"
exec 7<&- 8<&- 9<&-

# A later slot of the same name is a new one: the old inode stays gone.
s=$(slot x)
[ "$(json "$s/status" .state)" = new ] || fail "new x: $(cat "$s/status")"
ok "a new slot of the same name is fresh"
