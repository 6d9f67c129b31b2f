# stdin into a full pipe: a child that never reads
# makes the writer wait instead of failing; the wait is interruptible
# (SIGTERM, SIGINT); the daemon does not hold what the pipe cannot take.
. "$(dirname "$0")/lib.sh"
mount_fs

# Touch the daemon's request buffer with a 1 MB write first, so the RSS
# baseline below is not moved by that buffer's first use.
s=$(slot warm)
ctl "$s" 'stdin pipe' 'exec cat'
wait_until 10 state_is "$s" running
timeout 20 cat "$s/stdout" >/dev/null &
reader=$!
timeout 20 dd if=/dev/zero of="$s/stdin" bs=1M count=2 status=none ||
	fail "warm-up write failed"
ctl "$s" eof
[ "$(timeout 10 cat "$s/wait")" = 0 ] || fail "warm: wait"
wait "$reader" || fail "warm: reader"

# A child that never reads: the write waits, is interruptible, and the
# daemon does not buffer what the pipe cannot take.
s=$(slot full)
ctl "$s" 'stdin pipe' 'exec sleep 100'
wait_until 10 state_is "$s" running
rss0=$(daemon_rss_kb)
# blocked_write SIG: a 4 MB dd (512 KiB writes) into stdin under "timeout
# -s SIG 2" must still be blocked when timeout fires (124), and end in
# ~2 s. The daemon's RSS is sampled while it is blocked: the pipe takes
# 64 KiB, so a daemon that buffered the rest would grow by megabytes.
blocked_write() {
	local t0 t rc
	rm -f "$WORK/dd.rc"
	t0=$(now_ms)
	(
		rc=0
		timeout -s "$1" 2 dd if=/dev/zero of="$s/stdin" bs=512K count=8 \
			status=none 2>/dev/null || rc=$?
		echo "$rc" >"$WORK/dd.rc"
	) &
	sleep 1
	daemon_rss_kb >"$WORK/rss.$1"
	wait_until 8 test -s "$WORK/dd.rc" ||
		fail "a blocked write into stdin was not interruptible"
	t=$(($(now_ms) - t0))
	rc=$(cat "$WORK/dd.rc")
	[ "$rc" = 124 ] ||
		fail "4 MB into a full stdin (SIG$1): exit $rc, wanted 124 (still blocked)"
	[ "$t" -lt 3500 ] || fail "the blocked write took $t ms to interrupt"
	echo "$t"
}
t=$(blocked_write TERM)
ok "4 MB into a never-read stdin blocks; timeout (TERM) ends it in $t ms"
t=$(blocked_write INT)
ok "and with SIGINT in $t ms"
rss1=$(daemon_rss_kb)
[ "$(json "$s/status" .state)" = running ] || fail "full: the child ended"
ctl "$s" kill
[ "$(timeout 10 cat "$s/wait")" = 137 ] || fail "full: kill"
ok "the reader-less child still ran; kill -> 137"

rss_term=$(cat "$WORK/rss.TERM")
rss_int=$(cat "$WORK/rss.INT")
what="around a blocked 4 MB write (blocked: $rss_term, $rss_int; after: $rss1)"
for r in "$rss_term" "$rss_int" "$rss1"; do
	rss_limit 1024 "$rss0" "$r" "$what"
done
ok "daemon rss $rss0 KiB, $rss_term and $rss_int KiB while blocked," \
	"$rss1 KiB after"
