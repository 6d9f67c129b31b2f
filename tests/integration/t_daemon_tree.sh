# The tree refuses what it cannot mean: rmdir of a running
# slot (EBUSY), bad slot names (EINVAL), creating, removing, renaming or
# truncating files (EPERM), while ctl and stdin accept O_TRUNC.
. "$(dirname "$0")/lib.sh"
mount_fs

# refused WANT CMD...: CMD must fail and say WANT (a strerror text).
refused() {
	local want=$1 out
	shift
	if out=$("$@" 2>&1); then
		fail "$* succeeded, wanted '$want'"
	fi
	case $out in
	*"$want"*) ;;
	*) fail "$*: wanted '$want', got '$out'" ;;
	esac
}

s=$(slot busy)
ctl "$s" 'exec sleep 300'
wait_until 10 state_is "$s" running
refused "Device or resource busy" rmdir "$s"
[ -d "$s" ] && [ "$(json "$s/status" .state)" = running ] ||
	fail "the running slot was harmed by rmdir"
ctl "$s" kill
[ "$(timeout 10 cat "$s/wait")" = 137 ] || fail "busy: kill"
rmdir "$s" || fail "rmdir after the run ended"
[ ! -e "$s" ] || fail "the slot is still there"
ok "rmdir of a running slot: EBUSY; after it ended: removed"

long64=$(printf 'a%.0s' $(seq 64))
for name in .hidden 'a b' 'a*b' 'tab	x' 'ünï'; do
	refused "Invalid argument" mkdir "$MNT/$name"
	[ ! -e "$MNT/$name" ] || fail "'$name' was created"
done
refused "File name too long" mkdir "$MNT/${long64}b"
[ ! -e "$MNT/${long64}b" ] || fail "a 65-byte name was created"
for name in "$long64" a A.b_c-9 9; do
	mkdir "$MNT/$name" || fail "mkdir '$name' refused"
	rmdir "$MNT/$name" || fail "rmdir '$name'"
done
ok "mkdir: .hidden, 65 chars, 'a b', 'a*b', tab, non-ASCII -> EINVAL;" \
	"64 chars and [A-Za-z0-9._-] accepted"

s=$(slot files)
ctl "$s" 'exec echo kept'
[ "$(timeout 10 cat "$s/wait")" = 0 ] || fail "files: wait"
refused "Operation not permitted" touch "$s/newfile"
refused "Operation not permitted" sh -c ": >'$s/newfile'"
refused "Operation not permitted" touch "$MNT/newfile"
refused "Operation not permitted" rm -f "$s/stdout"
refused "Operation not permitted" mv "$s/stderr" "$s/moved"
[ ! -e "$s/newfile" ] && [ ! -e "$MNT/newfile" ] && [ ! -e "$s/moved" ] ||
	fail "a file was created"
[ -e "$s/stdout" ] && [ -e "$s/stderr" ] || fail "a file went away"
ok "creating (touch, > newfile), unlinking, renaming: EPERM"

if sh -c ": >'$s/stdout'" 2>/dev/null; then
	fail ": > stdout succeeded"
fi
if truncate -s 0 "$s/stdout" 2>/dev/null; then
	fail "truncate -s 0 stdout succeeded"
fi
[ "$(stat -c %s "$s/stdout")" = 5 ] &&
	[ "$(timeout 5 cat "$s/stdout")" = kept ] ||
	fail "stdout changed: size $(stat -c %s "$s/stdout")"
ok "truncating stdout (: >, truncate -s0) fails; the log is intact"

# O_TRUNC and O_APPEND on ctl and stdin work (shells use them).
s=$(slot shells)
ctl "$s" 'stdin pipe'
echo 'exec cat' >"$s/ctl" || fail "> ctl"
echo one >"$s/stdin" || fail "> stdin"
echo two >>"$s/stdin" || fail ">> stdin"
echo eof >>"$s/ctl" || fail ">> ctl"
[ "$(timeout 10 cat "$s/wait")" = 0 ] || fail "shells: wait"
[ "$(timeout 5 cat "$s/stdout")" = "one
two" ] || fail "shells: stdout"
ok "> and >> onto ctl and stdin work"
