#!/usr/bin/env bash
# Install, build, and mount a demo tree on ${SPAWNFS_MOUNT:-/run/spawn}
# with one job running in it. Unmount with: fusermount3 -u /run/spawn
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
mnt=${SPAWNFS_MOUNT:-/run/spawn}
bash "$top/scripts/deps.sh"
cmake -S "$top" -B "$top/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$top/build" -j"$(nproc)" --target spawnfs >/dev/null
mkdir -p "$mnt"
if grep -q " $mnt fuse" /proc/self/mounts; then
	fusermount3 -u "$mnt"
fi
"$top/build/spawnfs" -c "$top/etc/spawnfs.ini" "$mnt"
for _ in $(seq 100); do
	grep -q " $mnt fuse" /proc/self/mounts && break
	sleep 0.05
done
mkdir "$mnt/clock"
echo 'start while :; do date; sleep 1; done' >"$mnt/clock/ctl"
cat <<MSG
spawnfs is mounted on $mnt with one job, "clock". Try:
  tail -f $mnt/clock/stdout
  jq . $mnt/clock/status
  echo 'signal TERM' > $mnt/clock/ctl; cat $mnt/clock/wait
  mkdir $mnt/build; echo 'start make -j4' > $mnt/build/ctl
Unmount (stops every job): fusermount3 -u $mnt
MSG
