# Every limit gives its own errno, exactly: slots
# (ENOSPC), handles per slot (EMFILE), ctl line length, argv words and env
# lines (E2BIG), slot names (ENAMETOOLONG, EINVAL, EEXIST, EPERM), and the
# refused ctl lines (EINVAL, ESRCH, EBUSY, ENOTTY). Each failed ctl line
# leaves "LINE: strerror" in status.error, and once the slots are gone the
# daemon holds no more fds, memory or children than before.
. "$(dirname "$0")/lib.sh"
SYSOP=$(logs_helper sysop)

# op WANT ARGS...: "sysop ARGS..." prints WANT, within HANG seconds.
op() {
	local want=$1 got rc=0
	shift
	got=$(timeout "$HANG" "$SYSOP" "$@") || rc=$?
	[ "$rc" = 0 ] || fail "sysop $(brief "$*"): exit $rc (hung?)"
	[ "$got" = "$want" ] ||
		fail "sysop $(brief "$*"): wanted '$want', got '$got'"
}

# brief TEXT: TEXT cut to 120 bytes, for messages.
brief() {
	local t=$1
	[ "${#t}" -le 120 ] && echo "$t" || echo "${t:0:120}..."
}

# said SLOT LINE TEXT: status.error is exactly "LINE: TEXT", the line cut
# to its first 200 bytes as the daemon keeps it.
said() {
	local e want="${2:0:200}: $3"
	e=$(json "$1/status" .error)
	[ "$e" = "$want" ] ||
		fail "status.error: wanted '$(brief "$want")', got '$(brief "$e")'"
}

# refused SLOT ERRNAME ERRTEXT LINE: writing LINE (one write(2), with its
# newline) to SLOT/ctl fails with ERRNAME, and status.error names it.
refused() {
	op "$2" wronly "$1/ctl" w "$4\n"
	said "$1" "$4" "$3"
}

# accepted SLOT LINE: writing LINE to SLOT/ctl succeeds whole.
accepted() {
	op "OK $((${#2} + 1))" wronly "$1/ctl" w "$2\n"
}

# repeat N TEXT: TEXT N times, without a separator.
repeat() {
	head -c "$1" /dev/zero | tr '\0' "$2"
}

# no_children: no child of the daemon is left (zombies included), within
# HANG seconds.
settled() {
	[ -z "$(children_of "$DAEMON_PID")" ]
}
no_children() {
	local i
	for ((i = 0; i < HANG * 20; i++)); do
		settled && return 0
		sleep 0.05
	done
	fail "children of the daemon left: $(children_of "$DAEMON_PID" |
		tr '\n' ' ') (zombies: $(zombies_of "$DAEMON_PID" | tr '\n' ' '))"
}

# fds_back N WHAT: the daemon holds N fds again (within HANG seconds:
# the kernel sends releases in the background).
fds_back() {
	local i
	for ((i = 0; i < HANG * 20; i++)); do
		[ "$(daemon_fds)" = "$1" ] && return 0
		sleep 0.05
	done
	fail "daemon fds $1 -> $(daemon_fds) after $2:
$(ls -l "/proc/$DAEMON_PID/fd")"
}

# --- Mount 1: max_processes from -o, max_handles from the file.
printf '[process]\nmax_handles = 4\n' >"$CONF"
mount_fs -o max_processes=5
fds0=$(daemon_fds)

for i in 1 2 3 4 5; do
	op OK mkdir "$MNT/p$i"
done
op ENOSPC mkdir "$MNT/p6"
op ENOSPC rdonly "$MNT/clone"
[ ! -e "$MNT/p6" ] || fail "a refused mkdir left p6"
n=$(find "$MNT" -mindepth 1 -maxdepth 1 -type d ! -name by-pid | wc -l)
[ "$n" = 5 ] || fail "$n slots listed, wanted 5"
op OK rmdir "$MNT/p3"
op OK mkdir "$MNT/p6"
op ENOSPC mkdir "$MNT/p7"
op OK rmdir "$MNT/p6"
c=$(timeout "$HANG" cat "$MNT/clone") || fail "clone with room"
[ -d "$MNT/$c" ] || fail "clone made no slot $c"
op ENOSPC rdonly "$MNT/clone"
op OK rmdir "$MNT/$c"
ok "max_processes=5: 6th mkdir and clone ENOSPC; rmdir makes room again"

# Four handles on p1 (a log, another log, status and ctl); the fifth
# open of any of its files is EMFILE, whatever the file and mode.
p1=$MNT/p1 p2=$MNT/p2
exec 3<"$p1/stdout" 4<"$p1/stderr" 5<"$p1/status" 6>>"$p1/ctl"
life_trap_fds 3 4 5 6 7 8 9
for f in stdout stderr events status wait; do
	op EMFILE rdonly "$p1/$f"
done
op EMFILE wronly "$p1/ctl"
op EMFILE wronly,trunc "$p1/ctl"
op EMFILE wronly "$p1/stdin"
if timeout "$HANG" cat "$p1/status" >/dev/null 2>&1; then
	fail "cat of a full slot's status worked"
fi
# Another slot has its own four.
exec 7<"$p2/stdout" 8<"$p2/events" 9<"$p2/wait"
op OK rdonly "$p2/status"
exec 9<&-
op OK rdonly "$p2/status"
exec 9<"$p2/wait"
op OK rdonly "$p2/stderr"
op OK rdonly "$MNT/p4/status"
# The held handles still work.
echo 'exec echo held' >&6 || fail "write through a held ctl handle"
[ "$(timeout "$HANG" cat <&3)" = held ] || fail "read through a held handle"
# Closing one of p1's makes room for exactly one.
exec 5<&-
op OK rdonly "$p1/status"
exec 5<"$p1/wait"
op EMFILE rdonly "$p1/status"
[ "$(timeout "$HANG" cat <&5)" = 0 ] || fail "wait through a held handle" \
	"(children of the daemon: $(proc_table | awk -v p="$DAEMON_PID" \
		'$2 == p' | tr '\n' ';'))"
exec 3<&- 4<&- 5<&- 6>&- 7<&- 8<&- 9<&-
wait_until 5 logs_field_is "$p1" stdout readers 0
jq -e '.error == null' "$p1/status" >/dev/null ||
	fail "EMFILE left a ctl error: $(cat "$p1/status")"
ok "max_handles=4: 5th open of a slot's file EMFILE; other slots unaffected"

for i in 1 2 4 5; do
	op OK rmdir "$MNT/p$i"
done
no_children
fds_back "$fds0" "the slot and handle limits"
unmount_fs || fail "daemon exit status $? after the first mount"
ok "first daemon exited 0"

# --- Mount 2: built-in limits.
: >"$CONF"
mount_fs
# limits_round: every built-in limit once; the slots are removed after.
limits_round() {
	# ctl lines: 64 KiB is the longest (the newline not counted).
	s=$(slot lines)
	repeat 65537 x >"$WORK/x65537"
	op E2BIG wronly "$s/ctl" wf "$WORK/x65537"
	said "$s" "$(head -c 200 "$WORK/x65537")" "Argument list too long"
	repeat 1048576 x >"$WORK/x1m"
	op E2BIG wronly "$s/ctl" wf "$WORK/x1m"
	printf '\n' >>"$WORK/x65537"
	op E2BIG wronly "$s/ctl" wf "$WORK/x65537"
	{ echo 'env BEFORE=1'; repeat 70000 y; echo; } >"$WORK/mid"
	op E2BIG wronly "$s/ctl" wf "$WORK/mid"
	said "$s" "$(repeat 200 y)" "Argument list too long"
	repeat 65536 x >"$WORK/x65536"
	op EINVAL wronly "$s/ctl" wf "$WORK/x65536"
	# An unknown command is named (its first 200 bytes, the one cap of
	# whatever status.error quotes).
	[ "$(json "$s/status" .error)" = \
		"unknown command \"$(repeat 200 x)\": Invalid argument" ] ||
		fail "status.error: $(json "$s/status" .error | head -c 80)"
	{ printf 'env A='; repeat 65530 a; } >"$WORK/envA"
	op "OK 65536" wronly "$s/ctl" wf "$WORK/envA"
	{ printf 'env B='; repeat 65530 b; echo; echo 'env C=3'; } >"$WORK/envB"
	op "OK 65545" wronly "$s/ctl" wf "$WORK/envB"
	[ "$(timeout "$HANG" cat "$s/ctl" | awk '{ print length($0) }' | sort -n |
		tail -n 1)" = 65536 ] || fail "ctl read lacks the 64 KiB env line"
	ok "ctl line of 65537 bytes and of 1 MiB: E2BIG; 65536 bytes: parsed"

	# exec argv: 4096 words at most (the program counts).
	s=$(slot argv)
	words4096="exec true$(printf ' a%.0s' $(seq 4095))"
	accepted "$s" "$words4096"
	[ "$(timeout "$HANG" cat "$s/wait")" = 0 ] || fail "exec with 4096 words"
	[ "$(jq '.argv | length' "$s/status")" = 4096 ] || fail "argv length"
	refused "$s" E2BIG "Argument list too long" "$words4096 a"
	refused "$s" E2BIG "Argument list too long" \
		"exec$(printf ' w%.0s' $(seq 5000))"
	[ "$(jq '.argv | length' "$s/status")" = 4096 ] ||
		fail "a refused exec changed argv"
	ok "exec: 4096 words run, 4097 E2BIG"

	# env: 1024 distinct names per slot, 256 KiB together.
	s=$(slot env)
	for i in $(seq 1024); do echo "env V$i=x"; done >"$WORK/env1024"
	op "OK $(stat -c %s "$WORK/env1024")" wronly "$s/ctl" wf "$WORK/env1024"
	refused "$s" E2BIG "Argument list too long" 'env V1025=x'
	refused "$s" E2BIG "Argument list too long" 'env NEW=x'
	accepted "$s" 'env V1=replaced'
	accepted "$s" 'unset V2'
	accepted "$s" 'exec printenv V1 V1024 V2'
	[ "$(timeout "$HANG" cat "$s/wait")" = 1 ] || fail "printenv exit status"
	[ "$(timeout "$HANG" cat "$s/stdout")" = $'replaced\nx' ] ||
		fail "env of a full slot: $(timeout "$HANG" cat "$s/stdout")"
	s=$(slot env1025)
	{ cat "$WORK/env1024"; echo 'env V1025=x'; echo 'env V1026=x'; } \
		>"$WORK/env1026"
	op E2BIG wronly "$s/ctl" wf "$WORK/env1026"
	said "$s" 'env V1025=x' "Argument list too long"
	[ "$(timeout "$HANG" grep -c '^env ' "$s/ctl")" = 1024 ] ||
		fail "the lines before the 1025th were not all applied"
	ok "env: 1025th name E2BIG (alone or in one write); replacing still works"

	# Bytes: each entry costs NAME=VALUE plus one; 262144 fits, not one more.
	s=$(slot envbytes)
	for i in 1 2 3 4; do
		{ printf 'env B%s=' "$i"; repeat 60000 v; echo; } >"$WORK/b$i"
		op "OK 60008" wronly "$s/ctl" wf "$WORK/b$i"
	done
	{ printf 'env B5='; repeat 22124 w; echo; } >"$WORK/b5"
	op "OK 22132" wronly "$s/ctl" wf "$WORK/b5"
	refused "$s" E2BIG "Argument list too long" 'env B6='
	{ printf 'env B5='; repeat 22125 w; echo; } >"$WORK/b5big"
	op E2BIG wronly "$s/ctl" wf "$WORK/b5big"
	said "$s" "env B5=$(repeat 193 w)" "Argument list too long"
	accepted "$s" 'env B5=short'
	accepted "$s" 'env B6='
	accepted "$s" "exec sh -c 'printf %s \"\$B1\" | wc -c; echo \"\$B5\"'"
	[ "$(timeout "$HANG" cat "$s/wait")" = 0 ] || fail "run with 256 KiB of env"
	[ "$(timeout "$HANG" cat "$s/stdout" | tr -d ' ')" = $'60000\nshort' ] ||
		fail "env of the run: $(timeout "$HANG" cat "$s/stdout")"
	ok "env: 256 KiB together fits, one byte more E2BIG, replacing too"

	# Names.
	n64=$(repeat 64 n)
	op OK mkdir "$MNT/$n64"
	op ENAMETOOLONG mkdir "$MNT/${n64}n"
	op ENAMETOOLONG mkdir "$MNT/$(repeat 255 n)"
	op ENAMETOOLONG mkdir "$MNT/$(repeat 256 n)"
	op ENAMETOOLONG mkdir "$MNT/$(repeat 2000 n)"
	# shellcheck disable=SC2016 # '$x' is a name, not an expansion
	for bad in 'a b' ' a' 'a ' .hidden ... .a 'é' 'naïve' $'a\tb' $'a\001b' \
		$'a\nb' 'a*' 'a:b' 'a\b' '$x' 'a"b' "a'b" '~a' 'a@b' $'\x7f'; do
		op EINVAL mkdir "$MNT/$bad"
	done
	for name in clone by-pid metrics "$n64" . ..; do
		op EEXIST mkdir "$MNT/$name"
	done
	op EPERM mkdir "$MNT/$n64/b"
	op EPERM mkdir "$MNT/by-pid/b"
	op EEXIST mkdir "$MNT/$n64/stdout"
	op OK mkdir "$MNT/a.b-c_D9"
	op OK mkdir "$MNT/9"
	op OK rmdir "$MNT/a.b-c_D9"
	op OK rmdir "$MNT/9"
	op OK rmdir "$MNT/$n64"
	left=$(slots)
	[ "$left" = "argv env env1025 envbytes lines " ] ||
		fail "entries after the name checks: $left"
	ok "names: 64 ok, 65+ ENAMETOOLONG, bad bytes EINVAL," \
		"reserved EEXIST, nested EPERM"

	# Refused ctl lines on a new slot, then on a running one.
	s=$(slot refuse)
	# user: only root may, on a root daemon; then an unknown name is EINVAL.
	if [ "$(id -u)" = 0 ]; then
		op EINVAL wronly "$s/ctl" w 'user no-such-user-spawnfs\n'
		said "$s" 'no such user "no-such-user-spawnfs"' "Invalid argument"
	else
		refused "$s" EPERM "Operation not permitted" 'user root'
	fi
	for sig in BOGUS SIGBOGUS 0 65 99999 -1 -9 SIG 9999999999999999999 \
		'' 'TERM KILL' 1.5 0x9 ' +9'; do
		refused "$s" EINVAL "Invalid argument" "signal $sig"
	done
	for line in 'signal TERM' 'signal 1' 'signal 64' 'signal sigkill' kill \
		stop 'stop 1' eof; do
		refused "$s" ESRCH "No such process" "$line"
	done
	refused "$s" ENOTTY "Inappropriate ioctl for device" 'resize 80x24'
	accepted "$s" 'exec sleep 100'
	wait_until 10 state_is "$s" running
	pid=$(json "$s/status" .pid)
	for line in 'cwd /' 'env A=1' 'unset A' 'stdin pipe' 'stdin null' \
		'pty 80x24' 'pty off' 'timeout 5' 'user root' 'start true' \
		'exec true'; do
		refused "$s" EBUSY "Device or resource busy" "$line"
	done
	refused "$s" ENOTTY "Inappropriate ioctl for device" 'resize 80x24'
	for sig in BOGUS 0 65 99999 -1 '' 9999999999999999999; do
		refused "$s" EINVAL "Invalid argument" "signal $sig"
	done
	if [ "$(proc_state "$pid")" != S ] || ! state_is "$s" running; then
		fail "the refused lines hurt the process ($(proc_state "$pid"))"
	fi
	# The highest number is delivered (valgrind keeps 64 for itself and
	# refuses to send it: one less there).
	top=64
	[ -z "${SPAWNFS_WRAP:-}" ] || top=63
	accepted "$s" "signal $top"
	[ "$(timeout "$HANG" cat "$s/wait")" = $((128 + top)) ] ||
		fail "signal $top: wait $(timeout "$HANG" cat "$s/wait")"
	refused "$s" ESRCH "No such process" 'signal TERM'
	ok "user, signal, resize, settings: EINVAL, ESRCH, ENOTTY, EBUSY as due"

	# The slots go; nothing of theirs may stay.
	for d in argv env env1025 envbytes lines refuse; do
		op OK rmdir "$MNT/$d"
	done
}

fds0=$(daemon_fds)
# The first round also warms the daemon up (request buffers, the
# allocator); the second must leave memory where the first did.
limits_round
no_children
fds_back "$fds0" "a round of the ctl, env and name limits"
rss1=$(daemon_rss_kb)
limits_round
no_children
fds_back "$fds0" "two rounds of the ctl, env and name limits"
rss2=$(daemon_rss_kb)
ok "daemon fds back to $fds0; rss after each round $rss1, $rss2 KiB"
rss_limit 1024 "$rss1" "$rss2" "a second round of the limits"
