# Users and permissions. A root daemon with -o allow_other
# turns on default_permissions; the root is 01777, so any user may make a
# slot and only its owner (or root) may remove it; a slot belongs to the
# uid/gid that made it (mkdir or clone), with mode process_mode; its runs
# execute as that user, with its supplementary groups and its HOME, USER,
# LOGNAME and SHELL; other users get EACCES on its files. "user NAME" is
# root's alone (EPERM for others, EINVAL for an unknown user) and shows in
# status.uid. A daemon run by an ordinary user refuses slots from other
# uids (EPERM), and "user" is refused there even to root.
. "$(dirname "$0")/lib.sh"

U1=spawnfs-t$$a
U2=spawnfs-t$$b
G=spawnfs-t$$g
MADE_USERS=()
MADE_GROUP=
FUSE_CONF_ORIG= # a copy of /etc/fuse.conf, when the test changed it
FUSE_CONF_NEW=  # set when the test created /etc/fuse.conf
FUSE_DEV_MODE=  # the mode of /dev/fuse, when the test changed it
UD_DIR=$WORK/u  # the second daemon, run as $U1
UD_MNT=$UD_DIR/mnt
UD_PID=

# as USER CMD...: run CMD as USER, with USER's groups (the environment,
# and so PATH, stays this script's).
as() {
	local u=$1
	shift
	setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups -- "$@"
}


# "${put[@]}" FILE TEXT: append TEXT and a newline to FILE in one write; a
# command, not a function, so that "as USER" can run it.
# shellcheck disable=SC2016 # expanded by that bash
put=(bash -c 'printf "%s\n" "$2" >>"$1"' put)

# owner PATH: "UID GID MODE" of PATH.
owner() {
	stat -c '%u %g %a' "$1"
}

# proc_ids FILE: "uid UID... | gid GID... | groups SORTED..." from a copy
# of /proc/PID/status.
proc_ids() {
	awk '$1 == "Uid:" { u = $2 " " $3 " " $4 " " $5 }
	     $1 == "Gid:" { g = $2 " " $3 " " $4 " " $5 }
	     $1 == "Groups:" { $1 = ""; n = split($0, a, " ")
		for (i = 1; i <= n; i++) print "G", a[i] }
	     END { print "U", u; print "H", g }' "$1" |
		sort -k1,1 -k2n | awk '$1 == "U" { u = $0; sub(/^U /, "", u) }
		$1 == "H" { g = $0; sub(/^H /, "", g) }
		$1 == "G" { gs = gs " " $2 }
		END { print "uid " u " | gid " g " | groups" gs }'
}

# want_ids USER: what proc_ids shows for a process running as USER with
# USER's primary group and supplementary groups (initgroups).
want_ids() {
	local u g
	u=$(id -u "$1")
	g=$(id -g "$1")
	echo "uid $u $u $u $u | gid $g $g $g $g | groups" \
		"$(id -G "$1" | tr ' ' '\n' | sort -n | paste -sd ' ')"
}

# run_out SLOT AS LINE: start LINE as user AS (or root), wait for it to
# exit 0, and print what this run wrote to stdout (the log goes on across
# runs).
run_out() {
	local s=$1 u=$2 runner=() from
	[ "$u" = root ] || runner=(as "$u")
	from=$(($(stat -c %s "$s/stdout") + 1))
	"${runner[@]}" "${put[@]}" "$s/ctl" "$3" ||
		fail "$s: could not start '$3' as $u"
	[ "$("${runner[@]}" timeout 30 cat "$s/wait")" = 0 ] ||
		fail "$s: '$3' did not exit 0: $(cat "$s/status")"
	"${runner[@]}" timeout 10 cat "$s/stdout" | tail -c "+$from"
}

ud_mounted() {
	grep -q " $UD_MNT fuse" /proc/self/mounts
}

# ud_start: the daemon, run as $U1, on $UD_MNT with -o allow_other.
ud_start() {
	local wrap=${SPAWNFS_WRAP:-}
	case $wrap in
	*valgrind*) wrap="$wrap --log-file=$UD_DIR/valgrind.%p.log" ;;
	esac
	# Not through the "as" function: setpriv execs, so $! is the daemon.
	# shellcheck disable=SC2086
	setpriv --reuid="$U1" --regid="$(id -g "$U1")" --init-groups -- \
		$wrap "$SPAWNFS" -f -c "$UD_DIR/spawnfs.ini" -o allow_other \
		"$UD_MNT" 2>>"$UD_DIR/daemon.log" &
	UD_PID=$!
	# 60 s, however slow the daemon is made: a hang must fail well within
	# ctest's timeout, leaving the trap time to clean up.
	local t=0
	while ! ud_mounted; do
		kill -0 "$UD_PID" 2>/dev/null || fail "the user's daemon exited:
$(cat "$UD_DIR/daemon.log")"
		sleep 0.05
		t=$((t + 1))
		[ "$t" -lt 1200 ] || fail "the user's daemon: no mount in 60 s"
	done
}

# ud_stop: unmount the second daemon, reap it; non-zero if it failed.
ud_stop() {
	local rc=0 t=0 pid=$UD_PID
	[ -n "$UD_PID" ] || return 0
	if ud_mounted; then
		fusermount3 -u "$UD_MNT" 2>/dev/null ||
			fusermount3 -uz "$UD_MNT" || true
	fi
	while kill -0 "$UD_PID" 2>/dev/null; do
		sleep 0.05
		t=$((t + 1))
		if [ "$t" -gt 600 ]; then
			kill -9 "$UD_PID" 2>/dev/null || true
			echo "the user's daemon did not exit in 30 s" >&2
			break
		fi
	done
	wait "$UD_PID" 2>/dev/null || rc=$?
	UD_PID=
	if [ -f "$UD_DIR/valgrind.$pid.log" ]; then
		mv "$UD_DIR/valgrind.$pid.log" "$WORK/"
		check_valgrind "$pid" || rc=98
	fi
	[ "$rc" = 0 ] || cat "$UD_DIR/daemon.log" >&2 2>/dev/null || true
	return $rc
}

# allow_user_mounts: what an ordinary user needs for -o allow_other on
# Debian: user_allow_other in /etc/fuse.conf, and a /dev/fuse it may open
# (Debian's is 0666; this system's may be stricter). Both are put back
# exactly by the trap.
allow_user_mounts() {
	local mode
	if [ ! -e /etc/fuse.conf ]; then
		FUSE_CONF_NEW=1
		echo user_allow_other >/etc/fuse.conf || return 1
	elif ! grep -qx '[[:space:]]*user_allow_other[[:space:]]*' \
		/etc/fuse.conf; then
		cp -a /etc/fuse.conf "$WORK/fuse.conf.orig" || return 1
		FUSE_CONF_ORIG=$WORK/fuse.conf.orig
		printf '\nuser_allow_other\n' >>/etc/fuse.conf || return 1
	fi
	mode=$(stat -c %a /dev/fuse) || return 1
	if [ $((8#$mode & 8#006)) != 6 ]; then
		FUSE_DEV_MODE=$mode
		chmod o+rw /dev/fuse || return 1
	fi
}

restore_fuse() {
	local rc=0
	if [ -n "$FUSE_CONF_ORIG" ] && [ -f "$FUSE_CONF_ORIG" ]; then
		# Rewrite in place: same inode, owner and mode.
		cat "$FUSE_CONF_ORIG" >/etc/fuse.conf &&
			cmp -s "$FUSE_CONF_ORIG" /etc/fuse.conf || rc=1
		FUSE_CONF_ORIG=
	fi
	if [ -n "$FUSE_CONF_NEW" ]; then
		rm -f /etc/fuse.conf || rc=1
		FUSE_CONF_NEW=
	fi
	if [ -n "$FUSE_DEV_MODE" ]; then
		chmod "$FUSE_DEV_MODE" /dev/fuse || rc=1
		FUSE_DEV_MODE=
	fi
	[ "$rc" = 0 ] || echo "could not restore fuse.conf or /dev/fuse" >&2
	return $rc
}

# The trap: the mounts go first (the users' processes with them), then the
# users, groups and home directories, then the FUSE settings; then lib.sh's
# cleanup (with the exit status restored, see life_trap_fds).
sec_cleanup() {
	local rc=$1 drc=0 u
	cd /
	jobs -p | grep -vx -e "${DAEMON_PID:-none}" -e "${UD_PID:-none}" |
		xargs -r kill -9 2>/dev/null || true
	ud_stop || drc=$?
	unmount_fs || drc=$?
	for u in "${MADE_USERS[@]}"; do
		id "$u" >/dev/null 2>&1 || continue
		userdel -r "$u" 2>/dev/null || true
		if id "$u" >/dev/null 2>&1; then
			echo "could not remove user $u" >&2
			drc=1
		fi
	done
	if [ -n "$MADE_GROUP" ] && getent group "$MADE_GROUP" >/dev/null; then
		groupdel "$MADE_GROUP" || drc=1
	fi
	restore_fuse || drc=1
	cleanup_status "$rc" "$drc"
}
trap_cleanup sec_cleanup

# The other users must reach $WORK/mnt ($WORK is made 0700).
chmod 0755 "$WORK"
cd "$WORK" || exit 1
MADE_GROUP=$G
groupadd "$G"
MADE_USERS+=("$U1")
useradd -m -s /bin/bash -G "$G" "$U1"
MADE_USERS+=("$U2")
useradd -m -s /bin/sh "$U2"
uid1=$(id -u "$U1")
gid1=$(id -g "$U1")
uid2=$(id -u "$U2")
gid2=$(id -g "$U2")
gidg=$(getent group "$G" | cut -d: -f3)
home1=$(getent passwd "$U1" | cut -d: -f6)
[ -d "$home1" ] || fail "useradd made no home for $U1"
ok "users $U1 ($uid1, also in $G) and $U2 ($uid2)"

# --- a root daemon with allow_other
export SPAWNFS_T_SECRET=leak
mount_fs -o allow_other
unset SPAWNFS_T_SECRET
opts=$(grep " $MNT fuse" /proc/self/mounts | cut -d' ' -f4)
case ,$opts, in
*,default_permissions,*allow_other,* | *,allow_other,*default_permissions,*) ;;
*) fail "mount options '$opts' lack allow_other or default_permissions" ;;
esac
[ "$(owner "$MNT")" = "0 0 1777" ] || fail "root: $(owner "$MNT")"
ok "allow_other adds default_permissions; the root is 01777, root's"

# A slot made by U1 is U1's, mode 0700, files included.
as "$U1" mkdir "$MNT/a"
[ "$(owner "$MNT/a")" = "$uid1 $gid1 700" ] || fail "a: $(owner "$MNT/a")"
for f in ctl stdin stdout stderr events status wait; do
	[ "$(stat -c '%u %g' "$MNT/a/$f")" = "$uid1 $gid1" ] ||
		fail "a/$f: $(owner "$MNT/a/$f")"
done
n=$(as "$U1" timeout 10 cat "$MNT/clone")
[ "$(owner "$MNT/$n")" = "$uid1 $gid1 700" ] ||
	fail "clone $n: $(owner "$MNT/$n")"
setpriv --reuid="$U1" --regid="$gidg" --init-groups mkdir "$MNT/a-g"
[ "$(owner "$MNT/a-g")" = "$uid1 $gidg 700" ] ||
	fail "a-g, made with gid $gidg: $(owner "$MNT/a-g")"
ok "mkdir and clone by $U1: the slot is $uid1:$gid1 (or the maker's gid), 0700"

# Its runs are U1's: ids, groups, environment.
run_out "$MNT/a" "$U1" 'exec cat /proc/self/status' >"$WORK/a.status"
[ "$(proc_ids "$WORK/a.status")" = "$(want_ids "$U1")" ] ||
	fail "a: ids '$(proc_ids "$WORK/a.status")', want '$(want_ids "$U1")'"
[ "$(json "$MNT/a/status" .uid)" = "$uid1" ] || fail "a: status.uid"
run_out "$MNT/a" "$U1" 'exec env' >"$WORK/a.env"
[ "$(cut -d= -f1 "$WORK/a.env" | sort | tr '\n' ' ')" = \
	"HOME LOGNAME PATH SHELL USER " ] || fail "a: env: $(cat "$WORK/a.env")"
for kv in "HOME=$home1" "USER=$U1" "LOGNAME=$U1" "SHELL=/bin/bash"; do
	grep -qxF "$kv" "$WORK/a.env" ||
		fail "a: env lacks $kv: $(cat "$WORK/a.env")"
done
grep -q '^PATH=/' "$WORK/a.env" || fail "a: env has no PATH"
ok "a run of $U1's slot: uid, gid and groups ($G included) are $U1's;" \
	"env is exactly HOME USER LOGNAME SHELL PATH, from passwd"

# Another user: EACCES on U1's files, EPERM (sticky root) for rmdir.
as "$U2" mkdir "$MNT/b"
[ "$(owner "$MNT/b")" = "$uid2 $gid2 700" ] || fail "b: $(owner "$MNT/b")"
fails_with "Permission denied" as "$U2" cat "$MNT/a/status"
fails_with "Permission denied" as "$U2" cat "$MNT/a/stdout"
fails_with "Permission denied" as "$U2" ls "$MNT/a"
fails_with "Permission denied" as "$U2" "${put[@]}" "$MNT/a/ctl" 'exec true'
fails_with "Permission denied" as "$U2" "${put[@]}" "$MNT/a/stdin" 'x'
fails_with "Operation not permitted" as "$U2" rmdir "$MNT/a"
fails_with "Operation not permitted" as "$U1" rmdir "$MNT/b"
fails_with "Permission denied" as "$U1" cat "$MNT/b/status"
[ -d "$MNT/a" ] || fail "a went away"
[ -d "$MNT/b" ] || fail "b went away"
[ "$(json "$MNT/b/status" .state)" = new ] || fail "b changed"
ok "$U2 gets EACCES on $U1's files and EPERM for rmdir, and the other way"

# Root reads anyone's slot; owners and root may remove.
[ "$(json "$MNT/a/status" .state)" = exited ] || fail "root cannot read a"
as "$U1" rmdir "$MNT/a" || fail "$U1 could not remove its own slot"
rmdir "$MNT/b" || fail "root could not remove $U2's slot"
ok "the owner and root may rmdir"

# user NAME: root only.
c=$MNT/$n
fails_with "Operation not permitted" as "$U1" "${put[@]}" "$c/ctl" "user $U2"
fails_with "Operation not permitted" as "$U1" "${put[@]}" "$c/ctl" "user $U1"
fails_with "Operation not permitted" as "$U1" "${put[@]}" "$c/ctl" "user root"
[ "$(run_out "$c" "$U1" 'exec id -u')" = "$uid1" ] ||
	fail "$U1's slot ran as another user after refused user lines"
ok "user NAME written by $U1: EPERM, its runs stay its own"

r=$(slot r)
[ "$(run_out "$r" root 'exec id -u')" = 0 ] || fail "r: root's slot"
[ "$(json "$r/status" .uid)" = 0 ] ||
	fail "r: status.uid $(json "$r/status" .uid)"
fails_with "Invalid argument" "${put[@]}" "$r/ctl" "user spawnfs-nosuch-$$"
ctl "$r" "user $U1"
run_out "$r" root 'exec cat /proc/self/status' >"$WORK/r.status"
[ "$(proc_ids "$WORK/r.status")" = "$(want_ids "$U1")" ] ||
	fail "r: user $U1: ids '$(proc_ids "$WORK/r.status")'"
[ "$(json "$r/status" .uid)" = "$uid1" ] ||
	fail "r: status.uid $(json "$r/status" .uid), want $uid1"
ctl "$r" "user $U1"
run_out "$r" root 'exec env' >"$WORK/r.env"
for kv in "USER=$U1" "HOME=$home1"; do
	grep -qxF "$kv" "$WORK/r.env" ||
		fail "r: user $U1: env lacks $kv: $(cat "$WORK/r.env")"
done
ok "user $U1 by root: runs as $U1 with its groups and env, status.uid" \
	"$uid1; an unknown user: EINVAL"

# --- a daemon run by $U1 itself
if ! allow_user_mounts 2>"$WORK/fuse-conf.err"; then
	# Only when /etc or /dev cannot be changed (a read-only root).
	restore_fuse || true
	ok "SKIPPED the ordinary user's daemon: $(cat "$WORK/fuse-conf.err")"
	exit 0
fi
mkdir -p "$UD_MNT"
printf '[mount]\nprocess_mode = 0750\n' >"$UD_DIR/spawnfs.ini"
chown -R "$U1:" "$UD_DIR"
ud_start
opts=$(grep " $UD_MNT fuse" /proc/self/mounts | cut -d' ' -f4)
case ,$opts, in
*,user_id=$uid1,*) ;;
*) fail "the user's mount: options $opts" ;;
esac
fails_with "Operation not permitted" mkdir "$UD_MNT/by-root"
fails_with "Operation not permitted" as "$U2" mkdir "$UD_MNT/by-u2"
fails_with "Operation not permitted" as "$U2" cat "$UD_MNT/clone"
fails_with "Operation not permitted" cat "$UD_MNT/clone"
for e in "$UD_MNT"/*; do
	case ${e##*/} in
	clone | by-pid | metrics) ;;
	*) fail "the user's daemon made a slot: $(ls -A "$UD_MNT")" ;;
	esac
done
ok "$U1's daemon: mkdir and clone by root or $U2 fail with EPERM"

as "$U1" mkdir "$UD_MNT/own"
[ "$(owner "$UD_MNT/own")" = "$uid1 $gid1 750" ] ||
	fail "own: $(owner "$UD_MNT/own") (process_mode 0750)"
[ "$(run_out "$UD_MNT/own" "$U1" 'exec id -u')" = "$uid1" ] || fail "own: id -u"
for who in "$U1" root; do
	fails_with "Operation not permitted" as "$who" "${put[@]}" \
		"$UD_MNT/own/ctl" "user $U1"
done
as "$U1" rmdir "$UD_MNT/own" || fail "$U1 could not remove its slot"
ud_stop || fail "the user's daemon exited with status $?"
restore_fuse || fail "could not restore the FUSE settings"
ok "$U1's daemon: its own slots work (mode 0750 from process_mode);" \
	"user NAME is EPERM even from root"
