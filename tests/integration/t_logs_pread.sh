# The output-log file contract at the syscall level: pread in
# and below the window, at the end (blocking, O_NONBLOCK, EOF), the first
# read at 0, st_size, st_mtime, lseek SEEK_END and poll.
. "$(dirname "$0")/lib.sh"
P=$(logs_helper preadat)
BUF=65536
printf '[stream]\nbuffer_size=64K\n' >"$CONF"
mount_fs

# pr [PREADAT-ARGS...]: run the helper (bounded); its report is in
# $WORK/pr.log and the bytes it read in $WORK/pr.dat.
pr() {
	: >"$WORK/pr.dat"
	timeout 10 "$P" -o "$WORK/pr.dat" "$@" >"$WORK/pr.log" ||
		fail "preadat $* did not finish (status $?): $(cat "$WORK/pr.log")"
}
# has REGEX: a line of the last report matches REGEX (whole line).
has() {
	grep -qxE "$1" "$WORK/pr.log" ||
		fail "want /$1/ in: $(tr '\n' ';' <"$WORK/pr.log")"
}
# ms_of PREFIX: the ms= figure of the report line starting with PREFIX.
ms_of() {
	grep -F "$1:" "$WORK/pr.log" | sed -n 's/.* ms=\([0-9]*\)$/\1/p'
}
# dat_is TEXT: the bytes read were exactly TEXT (printf format).
dat_is() {
	# shellcheck disable=SC2059
	printf "$1" | cmp -s - "$WORK/pr.dat" ||
		fail "read '$(od -An -c "$WORK/pr.dat" | tr -s ' ')', want '$1'"
}

# --- A silent running process: the end of the log.
q=$(slot quiet)
ctl "$q" 'exec sleep 100'
wait_until 5 state_is "$q" running
pr -n "$q/stdout" p 0 4096 r 4096
has 'p 0 4096: err=EAGAIN ms=[0-9]+'
has 'r 4096: err=EAGAIN ms=[0-9]+'
[ "$(ms_of 'p 0 4096')" -lt 200 ] || fail "EAGAIN took $(ms_of 'p 0 4096') ms"
ok "O_NONBLOCK read at the end of a running log: EAGAIN in $(ms_of 'p 0 4096') ms"
pr "$q/stdout" poll 500
has 'poll 500: ret=0 revents=0 ms=[0-9]+'
[ "$(ms_of 'poll 500')" -ge 400 ] || fail "poll returned early"
ok "poll on a silent log: 0 after $(ms_of 'poll 500') ms"
ctl "$q" kill

# --- A live log with bytes in the window, then more later.
s=$(slot live)
ctl "$s" 'start echo hello; sleep 1.5; echo world; exec sleep 100'
wait_until 5 logs_field_is "$s" stdout bytes 6
[ "$(stat -c %s "$s/stdout")" = 6 ] || fail "st_size $(stat -c %s "$s/stdout"), want 6"
m1=$(stat -c %.9Y "$s/stdout")

pr "$s/stdout" p 0 4096 p 2 4096
has 'p 0 4096: n=6 ms=[0-9]+'
has 'p 2 4096: n=4 ms=[0-9]+'
dat_is 'hello\nllo\n'
[ "$(ms_of 'p 0 4096')" -lt 200 ] && [ "$(ms_of 'p 2 4096')" -lt 200 ] ||
	fail "pread inside the window waited"
ok "pread inside the window: short reads at once (6 and 4 bytes)"
pr -n "$s/stdout" p 6 10 p 0 10
has 'p 6 10: err=EAGAIN ms=[0-9]+'
has 'p 0 10: n=6 ms=[0-9]+'
ok "O_NONBLOCK: EAGAIN at the end, data inside the window"

# poll is readable exactly when a read would not wait: at 0 yes; after
# reading the 6 bytes no; then yes when "world" arrives (about 1.5 s in).
pr "$s/stdout" poll 0 r 4096 poll 300 poll 5000 r 4096 poll 300
has 'poll 0: ret=1 revents=IN ms=[0-9]+'
has 'r 4096: n=6 ms=[0-9]+'
has 'poll 300: ret=0 revents=0 ms=[0-9]+'
has 'poll 5000: ret=1 revents=IN ms=[0-9]+'
dat_is 'hello\nworld\n'
[ "$(ms_of 'poll 5000')" -ge 200 ] || fail "poll did not wait for the output"
ok "poll: IN with data, 0 at the end, IN after $(ms_of 'poll 5000') ms when output came"
[ "$(grep -c '^poll 300: ret=0' "$WORK/pr.log")" = 2 ] ||
	fail "poll readable at the end after reading world: $(cat "$WORK/pr.log")"

[ "$(stat -c %s "$s/stdout")" = 12 ] || fail "st_size after world"
m2=$(stat -c %.9Y "$s/stdout")
ok "mtime: $m1 at hello, $m2 at world"
awk -v a="$m1" -v b="$m2" 'BEGIN { exit !(b - a >= 1.0 && b - a < 3) }' ||
	fail "mtime did not follow the bytes: $m1 -> $m2"
sleep 0.3
[ "$(stat -c %.9Y "$s/stdout")" = "$m2" ] || fail "mtime moved without output"
ctl "$s" kill
[ "$(timeout 5 cat "$s/wait")" = 137 ] || fail "live: wait"

# --- A finished run that wrote more than buffer_size: the window holds
# only the newest bytes.
seq 1 40000 >"$WORK/seq"
T=$(wc -c <"$WORK/seq")
f=$(slot big)
ctl "$f" 'exec seq 1 40000'
timeout 10 cat "$f/stdout" >"$WORK/full" || fail "reader during the run"
cmp -s "$WORK/full" "$WORK/seq" || fail "reader during the run lost bytes"
[ "$(timeout 5 cat "$f/wait")" = 0 ] || fail "big: wait"
[ "$(stat -c %s "$f/stdout")" = "$T" ] ||
	fail "st_size $(stat -c %s "$f/stdout"), want $T"
R=$(logs_field "$f" stdout retained)
ok "finished log: st_size $T, retained $R"
[ "$(logs_field "$f" stdout bytes)" = "$T" ] || fail "status bytes"
[ "$R" -gt 0 ] && [ "$R" -le $BUF ] || fail "retained $R, buffer_size $BUF"
tail -c "$R" "$WORK/seq" >"$WORK/window"

pr "$f/stdout" p 1000 100
has 'p 1000 100: err=EIO ms=[0-9]+'
ok "pread below the window (first read at 1000): EIO"
pr "$f/stdout" p $((T - 10)) 100
has "p $((T - 10)) 100: n=10 ms=[0-9]+"
tail -c 10 "$WORK/seq" | cmp -s - "$WORK/pr.dat" || fail "last 10 bytes"
ok "pread of the last 10 bytes by absolute offset"

# A fresh handle's first read at 0 starts at the oldest retained byte,
# and that handle's offsets are shifted by as much.
pr "$f/stdout" p 0 100 p 100 100
has 'p 0 100: n=100 ms=[0-9]+'
has 'p 100 100: n=100 ms=[0-9]+'
head -c 200 "$WORK/window" | cmp -s - "$WORK/pr.dat" ||
	fail "first read at 0 did not start at the oldest retained byte"
timeout 5 cat "$f/stdout" | cmp -s - "$WORK/window" ||
	fail "cat of a finished log is not its retained window"
ok "first read at 0 starts at the oldest retained byte; cat gives the window"

pr "$f/stdout" s 0 END s -10 END r 100 r 100
has "s 0 END: off=$T ms=[0-9]+"
has "s -10 END: off=$((T - 10)) ms=[0-9]+"
grep -qx 'r 100: n=10 ms=[0-9]*' "$WORK/pr.log" &&
	grep -qx 'r 100: n=0 ms=[0-9]*' "$WORK/pr.log" || fail "read after SEEK_END: $(cat "$WORK/pr.log")"
tail -c 10 "$WORK/seq" | cmp -s - "$WORK/pr.dat" || fail "bytes after SEEK_END"
ok "lseek SEEK_END: $T; the last 10 bytes, then EOF"
pr -n "$f/stdout" p "$T" 10 poll 300
has "p $T 10: n=0 ms=[0-9]+"
has 'poll 300: ret=1 revents=IN(\|HUP)? ms=[0-9]+'
ok "finished log: O_NONBLOCK read at the end is EOF, poll readable"
