# Memory goes back after load: the logs' buffers (64 KiB and
# more) come from mmap and return to the system when a slot goes. After a
# thousand paused yes slots (each holding a full 256 KiB stdout log) are
# killed and removed, the daemon's RSS is back within 4 MiB of what it
# was before them. RSS means nothing under ASan (freed memory waits in
# quarantine) or valgrind (its own allocator): skipped there.
. "$(dirname "$0")/lib.sh"
if [ -n "${SPAWNFS_WRAP:-}" ] || [ -n "${SPAWNFS_SANITIZED:-}" ]; then
	echo "skip: RSS is not the daemon's own under valgrind or ASan"
	exit 77
fi
N=1000 # slots, each a yes process: bounded here, not by ulimit -u

mount_fs
s=$(slot first)
ctl "$s" 'start echo warm-up'
[ "$(timeout 10 cat "$s/wait")" = 0 ] || fail "warm-up job"
rmdir "$s"
base=$(daemon_rss_kb)

for i in $(seq 1 $N); do
	mkdir "$MNT/y$i"
	echo 'exec yes' >"$MNT/y$i/ctl"
done
paused_count() {
	awk '/^spawnfs_paused_runs / {print $2}' "$MNT/metrics"
}
until_true 60 '[ "$(paused_count)" = $N ]'
peak=$(daemon_rss_kb)
[ $((peak - base)) -gt $((N * 200)) ] ||
	fail "$N paused yes slots hold only $((peak - base)) KiB: not full logs"
for i in $(seq 1 $N); do
	echo kill >"$MNT/y$i/ctl"
done
for i in $(seq 1 $N); do
	until_true 10 "[ \"\$(cat '$MNT/y$i/wait')\" = 137 ]"
	rmdir "$MNT/y$i"
done
[ -z "$(ls "$MNT" | grep '^y')" ] || fail "slots left: $(ls "$MNT")"
# Free heap pages go back shortly after the last removal.
rss_back() {
	after=$(daemon_rss_kb)
	[ $((after - base)) -lt 4096 ]
}
for _ in $(seq 1 50); do
	! rss_back || break
	sleep 0.1
done
rss_back ||
	fail "RSS $base KiB before, $peak KiB with $N paused slots, $after KiB" \
		"after they were removed: $((after - base)) KiB kept"
ok "RSS $base KiB, $peak KiB with $N paused yes slots, $after KiB after" \
	"they were killed and removed ($((after - base)) KiB kept)"
