# Hostile input ("a clear errno, never a crash, a hang or a
# leak"): garbage ctl writes, odd slot names, bad signals, absurd offsets
# and sizes, wrong open modes and idle handles on a fast producer. Every
# call ends in time (20 s, 120 s under valgrind) with the errno it is due,
# and afterwards the
# daemon still runs a normal job exactly, holds the fds and memory it held
# before, has no zombie child, and exits 0 at unmount.
. "$(dirname "$0")/lib.sh"
SYSOP=$(logs_helper sysop)
export LC_ALL=C

# Under valgrind every request costs ~30 times more: smaller volumes, the
# same kinds of input.
if [ -n "${SPAWNFS_WRAP:-}" ]; then
	RAND=262144 SMALL=8192 BULK=2097152 NAMES=60 IDLE=40 CHURN=60
else
	RAND=1048576 SMALL=65536 BULK=5242880 NAMES=300 IDLE=200 CHURN=300
fi

# call ARGS...: sysop ARGS... within HANG seconds; prints what it printed.
call() {
	local out rc=0
	out=$(timeout "$HANG" "$SYSOP" "$@") || rc=$?
	[ "$rc" = 0 ] || fail "sysop $(brief "$*"): exit $rc (hung?)"
	printf '%s\n' "$out"
}

# op WANT ARGS...: sysop ARGS... prints exactly WANT.
op() {
	local want=$1 got
	shift
	got=$(call "$@")
	[ "$got" = "$want" ] ||
		fail "sysop $(brief "$*"): wanted '$want', got '$got'"
}

# brief TEXT: TEXT quoted and cut to 100 bytes, for messages.
brief() {
	local t=$1
	[ "${#t}" -le 100 ] && printf '%q' "$t" || printf '%q...' "${t:0:100}"
}

# repeat N CHAR: CHAR N times.
repeat() {
	head -c "$1" /dev/zero | tr '\0' "$2"
}

# sane SLOT: status and ctl render as valid UTF-8 JSON and text.
sane() {
	timeout "$HANG" cat "$1/status" >"$WORK/status.json" || fail "status of $1"
	iconv -f UTF-8 -t UTF-8 "$WORK/status.json" >/dev/null 2>&1 ||
		fail "status of $1 is not UTF-8"
	jq -e .name "$WORK/status.json" >/dev/null ||
		fail "status of $1 is not JSON: $(head -c 300 "$WORK/status.json")"
	timeout "$HANG" cat "$1/ctl" >/dev/null || fail "ctl read of $1"
}

# normal_job TAG: a fresh slot runs seq; its output and status are exact.
normal_job() {
	local s=$MNT/normal-$1
	mkdir "$s" || fail "mkdir $s"
	ctl "$s" 'exec seq 1 20000'
	[ "$(timeout "$HANG" cat "$s/wait")" = 0 ] || fail "normal job $1: wait"
	timeout "$HANG" cat "$s/stdout" | cmp -s - <(seq 1 20000) ||
		fail "normal job $1: stdout differs"
	jq -e '.state == "exited" and .exit_code == 0 and
		.logs.stdout.bytes == 108894' "$s/status" >/dev/null ||
		fail "normal job $1: status $(cat "$s/status")"
	rmdir "$s" || fail "rmdir $s"
}

mount_fs
normal_job 0
# One request of the largest size first, so that the request buffer's
# pages are in the baseline.
repeat 1048576 x >"$WORK/x1m"
mkdir "$MNT/warm"
op E2BIG wronly "$MNT/warm/ctl" wf "$WORK/x1m"
rmdir "$MNT/warm"
fds0=$(daemon_fds)
rss0=$(daemon_rss_kb)
t_start=$(now_ms)

# --- ctl garbage. Each write fails at its first bad line (or works) and
# returns in time; the slot stays usable.
g=$(slot garbage)
head -c "$RAND" /dev/urandom >"$WORK/rand"
for chunk in "$RAND" 1048576 65536 4096 1000; do
	got=$(call wronly "$g/ctl" wc "$WORK/rand" "$chunk")
	want=$(((RAND + chunk - 1) / chunk))
	case $got in
	"writes=$want "*) ;;
	*) fail "random bytes in $chunk-byte writes: $got" ;;
	esac
done
head -c "$SMALL" "$WORK/rand" >"$WORK/rand-small"
for chunk in 1 7 100; do
	if [ "$chunk" = 1 ]; then
		head -c 2048 "$WORK/rand" >"$WORK/rand-chunk"
	else
		cp "$WORK/rand-small" "$WORK/rand-chunk"
	fi
	call wronly "$g/ctl" wc "$WORK/rand-chunk" "$chunk" >/dev/null
done
sane "$g"
ok "random bytes, one write to 1000-byte writes: each answered"

# NULs anywhere in a line are EINVAL; after the line they end, too.
head -c "$SMALL" /dev/zero >"$WORK/zeros"
op EINVAL wronly "$g/ctl" wf "$WORK/zeros"
for text in '\0' 'env A=1\0' '\0env A=1' 'env A=\0B\n' 'exec\0true\n' \
	'start tr\0ue\n' 'signal T\0ERM\n'; do
	op EINVAL wronly "$g/ctl" w "$text"
done
op EINVAL wronly "$g/ctl" w 'env OK=1\nenv A=\0\n'
sane "$g"
[ "$(timeout "$HANG" grep -c '^env OK=1$' "$g/ctl")" = 1 ] ||
	fail "the line before a NUL line was not applied"
ok "NUL bytes: EINVAL, lines before them applied"

# Invalid UTF-8 is only bytes: a value takes it, junk gets EINVAL, and
# status.error stays valid JSON.
op "OK 10" wronly "$g/ctl" w 'env U=\xff\xfe\xc3\n'
op "OK 8" wronly "$g/ctl" w 'cwd /\xc0\xaf\n'
op EINVAL wronly "$g/ctl" w '\xff\xfe junk\n'
op EINVAL wronly "$g/ctl" w 'env \xe9=1\n'
op EINVAL wronly "$g/ctl" w 'signal \xed\xa0\x80\n'
sane "$g"
fffd=$'\xef\xbf\xbd'
[ "$(json "$g/status" .error)" = "signal $fffd$fffd$fffd: Invalid argument" ] ||
	fail "status.error of a non-UTF-8 line: $(json "$g/status" .error)"
ok "invalid UTF-8: taken as bytes or EINVAL, status still UTF-8 JSON"

# 1 MiB lines: with and without a newline, random or not, before a line.
op E2BIG wronly "$g/ctl" wf "$WORK/x1m"
{ printf 'env A='; repeat 1048570 a; printf '\nenv B=1\n'; } >"$WORK/a1m"
op E2BIG wronly "$g/ctl" wf "$WORK/a1m"
{ echo 'env LONG=1'; tr '\n\0' xy <"$WORK/rand"; } >"$WORK/r1m"
op E2BIG wronly "$g/ctl" wf "$WORK/r1m"
{ printf 'start '; repeat 2000000 s; } >"$WORK/s2m"
op E2BIG wronly "$g/ctl" wf "$WORK/s2m"
sane "$g"
jq -e '.state == "new"' "$g/status" >/dev/null ||
	fail "a long line started something: $(cat "$g/status")"
ok "1 MiB and 2 MB lines: E2BIG"

# 10,000 lines in one write: all valid works, junk stops it at once.
for i in $(seq 10000); do
	case $((i % 8)) in
	0) echo "env A$((i % 1000))=$i" ;;
	1) echo 'cwd /' ;;
	2) echo 'stdin pipe' ;;
	3) echo 'timeout 5' ;;
	4) echo 'pty off' ;;
	5) echo "unset A$((i % 1000))" ;;
	6) echo '# comment' ;;
	7) echo ;;
	esac
done >"$WORK/valid10k"
op "OK $(stat -c %s "$WORK/valid10k")" wronly "$g/ctl" wf "$WORK/valid10k"
awk 'NR % 10 == 5 { print "junk " NR; next } { print }' "$WORK/valid10k" \
	>"$WORK/mixed10k"
op EINVAL wronly "$g/ctl" wf "$WORK/mixed10k"
[ "$(json "$g/status" .error)" = 'unknown command "junk": Invalid argument' ] ||
	fail "10k lines: error $(json "$g/status" .error)"
awk 'NR % 2 == 0 { print "env B" NR "=1"; next } { print "bogus", NR }' \
	"$WORK/valid10k" >"$WORK/junk10k"
op EINVAL wronly "$g/ctl" wf "$WORK/junk10k"
ok "10,000 lines in one write: valid OK, junk EINVAL at its line"

# Megabytes of valid lines in one write(2). The kernel cuts it into
# requests of at most 1 MiB, each parsed alone: with 8-byte lines from a
# page-aligned buffer no line is cut and all of it works. Shifted by three
# bytes, lines straddle the cuts; that must still end in time, either way.
g2=$(slot bulk)
repeat $((BULK / 8)) '\n' | sed 's/^/env X=1/' >"$WORK/bulk"
t0=$(now_ms)
op "OK $BULK" wronly "$g2/ctl" wf "$WORK/bulk"
t1=$(now_ms)
{ printf '#x\n'; cat "$WORK/bulk"; } >"$WORK/bulk3"
got=$(call wronly "$g2/ctl" wf "$WORK/bulk3")
case $got in
"OK "[0-9]* | EINVAL) ;;
*) fail "shifted bulk write: $got" ;;
esac
ok "$BULK bytes of 'env X=1' lines: OK in $((t1 - t0)) ms;" \
	"shifted by 3: '$got' in $(($(now_ms) - t1)) ms"
sane "$g2"
ctl "$g2" 'exec printenv X'
[ "$(timeout "$HANG" cat "$g2/stdout")" = 1 ] || fail "bulk slot run"

# The garbage slot still runs a job.
ctl "$g" 'pty off' 'stdin null' 'cwd /' 'timeout 0' 'exec echo alive'
[ "$(timeout "$HANG" cat "$g/stdout")" = alive ] || fail "garbage slot run"
[ "$(timeout "$HANG" cat "$g/wait")" = 0 ] || fail "garbage slot wait"
ok "slots that took garbage still run"

# --- Names: each mkdir gives the errno its name is due; nothing else
# appears.
# name_errno NAME: what mkdir of NAME must give.
name_errno() {
	local n=$1
	if [ "${#n}" -gt 64 ]; then
		echo ENAMETOOLONG
	elif [ "$n" = . ] || [ "$n" = .. ]; then
		echo EEXIST
	elif [[ $n =~ ^[A-Za-z0-9_-][A-Za-z0-9._-]*$ ]]; then
		echo OK
	else
		echo EINVAL
	fi
}
names=('a b' 'a..b' '..a' '...' $'\t' $'a\x01b' $'a\x1b[31mb' $'a\nb' \
	'a\b' "$(repeat 65 z)" "$(repeat 255 z)" "$(repeat 256 z)" \
	"$(repeat 1024 z)" 'é' '日本' $'\xff' $'\xc3' 'A-Z_0.9' '-' '_')
for ((i = 0; i < NAMES; i++)); do
	len=$((RANDOM % 80 + 1))
	name=$(head -c 400 /dev/urandom | tr -d '/\0')
	names+=("${name:0:len}")
	name=$(head -c 2000 /dev/urandom | tr -dc 'A-Za-z0-9._-')
	names+=("${name:0:len}")
done
made=()
for n in "${names[@]}"; do
	[ -n "$n" ] || continue
	want=$(name_errno "$n")
	[ -e "$MNT/$n" ] && want=EEXIST
	op "$want" mkdir "$MNT/$n"
	[ "$want" = OK ] && made+=("$n")
done
# (the parents hold a blank, so no random name above can have made them)
for p in 'no slot/b' 'no such/x' 'no slot/../b'; do
	op ENOENT mkdir "$MNT/$p"
done
op EPERM mkdir "$MNT/garbage/x"
op EPERM mkdir "$MNT/by-pid/x"
op ENOTDIR mkdir "$MNT/garbage/stdout/x"
op ENOTDIR mkdir "$MNT/clone/x"
op EEXIST mkdir "$MNT/garbage/.."
op ENAMETOOLONG mkdir "$MNT/$(repeat 5000 q)"
for n in "${made[@]}"; do
	op OK rmdir "$MNT/$n"
done
left=$(slots)
[ "$left" = "bulk garbage " ] || fail "entries left: $left"
ok "${#names[@]} hostile names: each its errno;" \
	"${#made[@]} valid ones made and removed"

# --- Bad signals on a running process: EINVAL, the process untouched.
k=$(slot sig)
ctl "$k" 'exec sleep 100'
wait_until 10 state_is "$k" running
pid=$(json "$k/status" .pid)
# shellcheck disable=SC1003 # a trailing backslash is one of the bad lines
for line in 'signal SIGFOO' 'signal 65' "signal ''" 'signal ""' \
	'signal 9999999999999999999' 'signal 18446744073709551617' \
	"signal $(repeat 60000 9)" 'signal -1' 'signal 0' 'signal -0' \
	'signal 1e3' 'signal 0x9' 'signal SIG' 'signal SIGSIGTERM' \
	'signal TERM9' 'signal 9 9' "signal 'TERM" 'signal TERM\'; do
	printf '%s\n' "$line" >"$WORK/sigline"
	op EINVAL wronly "$k/ctl" wf "$WORK/sigline"
done
if [ "$(proc_state "$pid")" != S ] || ! state_is "$k" running; then
	fail "bad signals hurt the process"
fi
sane "$k"
ok "bad signal names and numbers: EINVAL, process still running"

# --- Offsets and sizes.
o=$(slot offsets)
ctl "$o" 'exec seq 1 1000'
[ "$(timeout "$HANG" cat "$o/wait")" = 0 ] || fail "offsets: seq"
for f in stdout events; do
	op "OK 0" rdonly "$o/$f" p $((1 << 62)) 10
	op "OK 0" rdonly "$o/$f" p $(((1 << 62) - 1)) 1048576
	op EINVAL rdonly "$o/$f" p -1 10
	# offset + size past 2^63-1: the kernel's EINVAL, size 0 is fine
	op EINVAL rdonly "$o/$f" p 9223372036854775807 10
	op EINVAL rdonly "$o/$f" p 9223372036854775800 100
	op "OK 0" rdonly "$o/$f" p 9223372036854775807 0
	op "OK 0" rdonly "$o/$f" p 0 0
	op "OK 0" rdonly "$o/$f" r 0
done
op "OK 3893" rdonly "$o/stdout" r 16777216
op "OK 3893" rdonly,nonblock "$o/stdout" p 0 16777216
sz=$(stat -c %s "$o/events")
op "OK $sz" rdonly "$o/events" r 16777216
sz=$(stat -c %s "$o/status")
op "OK $sz" rdonly "$o/status" r 16777216
op "OK 0" rdonly "$o/status" p $((1 << 62)) 10
op "OK 0" rdonly "$o/status" r 0
op EINVAL rdonly "$o/status" p -1 10
op "OK 2" rdonly "$o/wait" r 16777216
op "OK 0" rdonly "$o/wait" p $((1 << 62)) 10
op "OK 0" rdonly "$o/wait" r 0
op "OK 0" rdonly "$o/ctl" p $((1 << 62)) 10
# lseek: END is the captured size; beyond it reads end of file.
printf 'OK 3893\nOK 0\n' >"$WORK/want"
call rdonly "$o/stdout" s 0 END r 100 | cmp -s - "$WORK/want" ||
	fail "lseek END on a finished log"
printf 'OK 3883\nOK 10\n' >"$WORK/want"
call rdonly "$o/stdout" s -10 END r 100 | cmp -s - "$WORK/want" ||
	fail "lseek -10 END"
printf 'OK %s\nEINVAL\n' $((1 << 62)) >"$WORK/want"
call rdonly "$o/stdout" s $((1 << 62)) SET s -9999999 END |
	cmp -s - "$WORK/want" || fail "lseek far and before 0"
op EINVAL rdonly "$o/stdout" s 9223372036854775807 END
ok "finished logs: absurd offsets give EOF or the kernel's EINVAL;" \
	"0 and 16 MiB reads"

# On a running producer: far offsets wait (or EAGAIN), and an interrupted
# far read leaves nothing parked.
y=$(slot yes)
ctl "$y" 'exec yes'
wait_until 10 logs_field_is "$y" stdout paused true
op EAGAIN rdonly,nonblock "$y/stdout" p $((1 << 62)) 10
op EAGAIN rdonly,nonblock "$y/events" p $((1 << 62)) 10
op EAGAIN rdonly,nonblock "$y/wait" r 16
got=$(call rdonly "$y/stdout" r 16777216)
case $got in
"OK "[1-9]*) ;;
*) fail "16 MiB read of a running log: $got" ;;
esac
rc=0
timeout 1 "$SYSOP" rdonly "$y/stdout" p $((1 << 62)) 10 || rc=$?
[ "$rc" = 124 ] || fail "a far read on a running log did not wait ($rc)"
rc=0
timeout 1 "$SYSOP" rdonly "$y/wait" r 10 || rc=$?
[ "$rc" = 124 ] || fail "wait on a running slot did not wait ($rc)"
wait_until 5 logs_field_is "$y" stdout readers 0
size=$(stat -c %s "$y/stdout")
got=$(call rdonly "$y/stdout" s 0 END)
[ "${got#OK }" -ge "$size" ] || fail "lseek END on a live log: $got < $size"
ok "live log: far reads wait or EAGAIN, interrupted ones are dropped"

# Wrong modes: write-only and read-only files, O_TRUNC, truncate(2).
for f in stdout stderr events status wait; do
	op EACCES wronly "$o/$f"
	op EACCES rdwr "$o/$f"
	op EPERM rdonly,trunc "$o/$f"
	op EBADF rdonly "$o/$f" w 'x'
	op EBADF rdonly "$o/$f" pw 0 'x'
	op EPERM truncate "$o/$f" 0
	op EPERM truncate "$o/$f" 4096
done
for f in ctl stdin; do
	op OK truncate "$o/$f" 0
	op EPERM truncate "$o/$f" 1
	op EINVAL truncate "$o/$f" -1
done
op EPERM truncate "$MNT/clone" 0
op EACCES rdonly "$o/stdin"
op EACCES rdwr "$o/stdin"
op EBADF wronly "$o/stdin" r 10
op EBADF wronly "$o/ctl" r 10
op EACCES wronly "$MNT/clone"
op EPERM rdonly,trunc "$MNT/clone"
op EPERM wronly,creat "$MNT/newfile"
op EPERM wronly,creat "$o/newfile"
op "OK" wronly,trunc "$o/ctl"
op "OK" wronly,append "$o/ctl"
op "OK" rdwr "$o/ctl"
op "OK" wronly,trunc,append,nonblock "$o/stdin"
ok "wrong modes: EACCES, EBADF, EPERM for O_TRUNC and truncate(2)"

# Flag combinations on logs: the same reads.
for fl in rdonly,direct rdonly,nonblock,direct rdonly,append \
	rdonly,append,nonblock,direct; do
	op "OK 10" "$fl" "$o/stdout" p 0 10
	op "OK 0" "$fl" "$o/stdout" p 3893 10
done
op "OK 2" rdonly,direct "$o/wait" r 10
op "OK 10" rdonly,direct "$o/status" r 10
op "OK 10" rdonly,direct "$o/ctl" r 10
op "OK 10" rdonly,direct "$y/stdout" p 0 10
op EAGAIN rdonly,nonblock,direct "$y/stdout" p $((1 << 62)) 10
ok "O_DIRECT, O_APPEND and O_NONBLOCK combinations"

# stdin: pwrite offsets mean nothing on a pipe; -1 is the kernel's EINVAL.
c=$(slot cat)
ctl "$c" 'stdin pipe' 'exec cat'
wait_until 10 state_is "$c" running
printf 'OK 2\nOK 2\nOK 2\nEINVAL\nOK 2\n' >"$WORK/want"
call wronly "$c/stdin" pw $((1 << 62)) 'a\n' pw 0 'b\n' \
	pw 123456789 'c\n' pw -1 'x\n' w 'd\n' | cmp -s - "$WORK/want" ||
	fail "pwrite to stdin: $(call wronly "$c/stdin" pw -1 'x\n')"
op EINVAL wronly "$c/stdin" pw 9223372036854775807 'e\n'
op "OK 1" wronly "$c/stdin" pw 9223372036854775806 'e'
# ctl takes its lines at any offset too.
printf 'OK 12\nEINVAL\nEINVAL\n' >"$WORK/want"
call wronly "$c/ctl" pw $((1 << 62)) 'signal CONT\n' pw -1 'signal CONT\n' \
	pw 9223372036854775807 'kill\n' | cmp -s - "$WORK/want" ||
	fail "pwrite to ctl at odd offsets"
op "OK 0" wronly "$c/stdin" w ''
ctl "$c" eof
[ "$(timeout "$HANG" cat "$c/wait")" = 0 ] || fail "cat: wait"
got=$(timeout "$HANG" cat "$c/stdout" | tr -d 'e\n')
[ "$got" = abcd ] || fail "cat got '$got'"
op EPIPE wronly "$c/stdin" w 'late\n'
ok "stdin: pwrite at any offset appends, -1 EINVAL, EPIPE after the end"

# --- Handles that open and never read, on a fast producer.
b0=$(logs_field "$y" stdout bytes)
for ((i = 0; i < CHURN; i++)); do
	"$SYSOP" rdonly "$y/stdout" >/dev/null
	"$SYSOP" rdonly,nonblock "$y/events" >/dev/null
done
(
	for ((i = 0; i < IDLE; i++)); do
		exec {fd}<"$y/stdout"
		exec {fd}<"$y/events"
		exec {fd}<"$y/stderr"
	done
	: >"$WORK/held"
	exec sleep 60
) &
holder=$!
wait_until 30 life_exists "$WORK/held"
wait_until 5 logs_field_is "$y" stdout readers "$IDLE"
wait_until 5 logs_field_is "$y" stdout paused true
kill "$holder"
wait "$holder" 2>/dev/null || true
wait_until 10 logs_field_is "$y" stdout readers 0
n=$(timeout "$HANG" head -c 1048576 "$y/stdout" | wc -c)
[ "$n" = 1048576 ] || fail "reader after idle handles got $n bytes"
b1=$(logs_field "$y" stdout bytes)
[ "$b1" -gt $((b0 + 1048576 - 262144)) ] ||
	fail "the producer did not run for the reader: $b0 -> $b1"
[ "$(proc_state "$(json "$y/status" .pid)")" != gone ] || fail "yes died"
ok "$((CHURN * 2)) open-close and $((IDLE * 3)) idle handles;" \
	"the producer ran on for a reader"

# --- Afterwards: everything ends, a normal job runs, nothing is left.
ctl "$y" kill
[ "$(timeout "$HANG" cat "$y/wait")" = 137 ] || fail "yes: kill"
ctl "$k" kill
[ "$(timeout "$HANG" cat "$k/wait")" = 137 ] || fail "sleep: kill"
for d in "$g" "$g2" "$k" "$o" "$y" "$c"; do
	op OK rmdir "$d"
done
normal_job 1
i=0
while [ -n "$(children_of "$DAEMON_PID")" ]; do
	i=$((i + 1))
	[ "$i" -lt $((HANG * 20)) ] || fail "daemon children left: $(children_of \
		"$DAEMON_PID" | tr '\n' ' ') zombies: $(zombies_of "$DAEMON_PID" |
		tr '\n' ' ')"
	sleep 0.05
done
i=0
while [ "$(daemon_fds)" != "$fds0" ]; do
	i=$((i + 1))
	[ "$i" -lt $((HANG * 20)) ] || fail "daemon fds $fds0 -> $(daemon_fds):
$(ls -l "/proc/$DAEMON_PID/fd")"
	sleep 0.05
done
rss1=$(daemon_rss_kb)
ok "after $(($(now_ms) - t_start)) ms: fds $fds0 -> $(daemon_fds)," \
	"rss $rss0 -> $rss1 KiB, no child"
rss_limit 2048 "$rss0" "$rss1" "hostile input"
