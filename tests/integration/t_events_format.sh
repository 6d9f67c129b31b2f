# events: every line is one JSON object with seq, an RFC 3339
# UTC time and its type's fields; the output events, decoded (data or
# data_base64), reproduce the stdout and stderr logs byte for byte, for
# text, control characters and binary; a UTF-8 character that reaches the
# daemon one byte at a time is carried over and sent whole as data.
. "$(dirname "$0")/lib.sh"
mount_fs

# run_logged NAME LINE: make slot NAME, open a reader on its events
# before the start (so the events log holds the pipes and keeps every
# byte), write the ctl LINE and wait for the end. Leaves the events in
# $WORK/NAME.ev, the logs in $WORK/NAME.out and $WORK/NAME.err, and checks
# the events are well formed.
run_logged() {
	local name=$1 s r
	s=$(slot "$name")
	cat "$s/events" >"$WORK/$name.ev" &
	r=$!
	wait_until 5 logs_field_is "$s" events readers 1
	ctl "$s" "$2"
	timeout 20 cat "$s/wait" >/dev/null || fail "$name: wait did not answer"
	life_wait_pid 10 "$r" || fail "$name: the events reader failed"
	timeout 5 cat "$s/stdout" >"$WORK/$name.out" || fail "$name: stdout"
	timeout 5 cat "$s/stderr" >"$WORK/$name.err" || fail "$name: stderr"
	life_ev_check "$WORK/$name.ev" >&2 || fail "$name: malformed events"
}

# same_bytes NAME LOG: the decoded LOG (stdout or stderr) events of NAME
# equal the LOG file byte for byte.
same_bytes() {
	local f=$WORK/$1.$2.dec want=$WORK/$1.out
	[ "$2" = stdout ] || want=$WORK/$1.err
	life_ev_data "$WORK/$1.ev" "$2" >"$f" || fail "$1: bad base64 in $2 events"
	cmp -s "$f" "$want" ||
		fail "$1: decoded $2 events ($(wc -c <"$f") bytes) differ" \
			"from the $2 log ($(wc -c <"$want") bytes)"
}

# no_raw_controls FILE: no byte below 0x20 but newline (JSON escapes them).
no_raw_controls() {
	[ "$(LC_ALL=C tr -d '\n\040-\377' <"$1" | wc -c)" = 0 ]
}

# Text with every kind of control character, quotes, backslashes, DEL,
# multibyte characters, a long line and no final newline.
{
	printf 'plain line\n\0\001\002\033[1mbold\033[0m\r\n'
	printf '\ttab "quoted" back\\slash \177 del\f\b\v\n'
	printf '\303\251 \342\202\254 \360\237\230\200 end of utf-8\n'
	head -c 10000 /dev/zero | tr '\0' x
	printf '\nno newline at the end'
} >"$WORK/text.bin"
run_logged text "exec cat $WORK/text.bin"
cmp -s "$WORK/text.out" "$WORK/text.bin" || fail "text: stdout log differs"
same_bytes text stdout
jq 'select(.type == "stdout") | has("data_base64")' "$WORK/text.ev" |
	grep -q true && fail "text: valid UTF-8 sent as data_base64"
no_raw_controls "$WORK/text.ev" || fail "text: a raw control byte in events"
[ "$(life_ev_merged "$WORK/text.ev")" = "start stdout end" ] ||
	fail "text: events $(life_ev_types "$WORK/text.ev")"
jq -s -e 'map(select(.type == "start")) |
	length == 1 and .[0].argv == ["cat", "'"$WORK/text.bin"'"]' \
	"$WORK/text.ev" >/dev/null || fail "text: start argv"
jq -s -e 'map(select(.type == "end")) | length == 1 and
	.[0].exit_code == 0 and .[0].signal == null and .[0].status == 0' \
	"$WORK/text.ev" >/dev/null || fail "text: end event"
ok "text with control characters: $(wc -l <"$WORK/text.ev") events parse," \
	"no raw control byte, data decodes to the exact $(wc -c <"$WORK/text.bin") bytes"

# Times are RFC 3339 UTC (checked by life_ev_check) and are now.
now=$(date +%s)
jq -r '.time | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601' "$WORK/text.ev" |
	while read -r t; do
		if [ $((now - t)) -gt 120 ] || [ $((t - now)) -gt 5 ]; then
			fail "event time $t is not now ($now): not UTC?"
		fi
	done
ok "event times are UTC and current"

# Binary, on stdout and stderr.
run_logged bin 'exec head -c 4096 /dev/urandom'
[ "$(wc -c <"$WORK/bin.out")" = 4096 ] || fail "bin: stdout log size"
same_bytes bin stdout
jq 'select(.type == "stdout") | has("data_base64")' "$WORK/bin.ev" |
	grep -q true || fail "bin: random bytes never sent as data_base64"
ok "4096 random bytes: data_base64 events decode to the exact stdout"

run_logged mixed 'start printf "text\n"; head -c 100000 /dev/urandom;'\
' printf "\nmore\n"; head -c 3000 /dev/urandom >&2; echo bye >&2'
[ "$(wc -c <"$WORK/mixed.out")" = 100011 ] || fail "mixed: stdout log size"
[ "$(wc -c <"$WORK/mixed.err")" = 3004 ] || fail "mixed: stderr log size"
same_bytes mixed stdout
same_bytes mixed stderr
ok "100000 random bytes between text on stdout, 3000 on stderr: both decode exactly"

# Multibyte text far larger than one pipe read: reads end inside
# characters, which must be carried over, never sent as base64 or U+FFFD.
# shellcheck disable=SC2034
for i in $(seq 20000); do printf '\303\251\360\237\230\200ab\n'; done >"$WORK/utf8.txt"
run_logged utf8 "exec cat $WORK/utf8.txt"
cmp -s "$WORK/utf8.out" "$WORK/utf8.txt" || fail "utf8: stdout log differs"
same_bytes utf8 stdout
n=$(jq -r 'select(.type == "stdout") | has("data_base64")' "$WORK/utf8.ev" |
	grep -c true || true)
[ "$n" = 0 ] || fail "utf8: $n events split a character into data_base64"
jq -r 'select(.type == "stdout") | .data' "$WORK/utf8.ev" |
	grep -q $'\xef\xbf\xbd' && fail "utf8: U+FFFD in data"
ok "180000 bytes of multibyte text in" \
	"$(jq -r 'select(.type == "stdout") | .seq' "$WORK/utf8.ev" | wc -l)" \
	"events: all data, no U+FFFD, exact"

# One 4-byte character written a byte at a time, with pauses: each byte
# is a separate pipe read, and the events must carry the character whole.
line="start printf 'a\\360'; sleep 0.3; printf '\\237'; sleep 0.3;"
run_logged split "$line printf '\\230'; sleep 0.3; printf '\\200b\\n'"
[ "$(od -An -tx1 "$WORK/split.out" | tr -d ' \n')" = 61f09f9880620a ] ||
	fail "split: stdout log is $(od -An -tx1 "$WORK/split.out")"
same_bytes split stdout
jq 'select(.type == "stdout") | has("data_base64")' "$WORK/split.ev" |
	grep -q true && fail "split: a data_base64 event: $(grep stdout "$WORK/split.ev")"
jq -r 'select(.type == "stdout") | .data' "$WORK/split.ev" |
	grep -q $'\xef\xbf\xbd' && fail "split: U+FFFD in data"
jq -r 'select(.type == "stdout") | .data' "$WORK/split.ev" |
	grep -q $'\xf0\x9f\x98\x80' || fail "split: no event holds U+1F600 whole"
ok "U+1F600 written one byte at a time arrives whole as data:" \
	"$(jq -c -j 'select(.type == "stdout") | .data' "$WORK/split.ev" | head -c 40)"

# A character cut by the end of the run, and a cut one followed by a byte
# that cannot continue it: nothing is lost, the bytes go out as base64.
run_logged cut "start printf 'z\\360\\237'"
[ "$(od -An -tx1 "$WORK/cut.out" | tr -d ' \n')" = 7af09f ] ||
	fail "cut: stdout log is $(od -An -tx1 "$WORK/cut.out")"
same_bytes cut stdout
run_logged broken "start printf '\\342\\202'; sleep 0.3; printf 'x\\n'"
same_bytes broken stdout
ok "a character cut by the exit, or by an invalid byte, is kept as base64"
