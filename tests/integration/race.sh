# Racing shells against one mount, shared by t_race_*.sh and
# tests/soak.sh. Sourcing it only defines functions; the caller sets MNT
# and WORK. Every worker is bounded in rounds and in time, and each round
# of a worker bounds its own waits with timeout(1): a hung request shows
# as a round that failed, never as a hung test.

# race_round ID ROUND MIX: one round of MIX in slot r-ID; prints nothing.
# Errors are expected where rounds race (EBUSY, ESRCH, ENOENT): the
# daemon must survive them, which the caller checks.
race_round() {
	local s=$MNT/r-$1 m=$3 n
	case $m in
	echo) # mkdir, a start that exits at once, wait, rmdir
		mkdir "$s" &&
			echo 'exec /bin/echo x' >"$s/ctl" &&
			timeout 5 cat "$s/wait" >/dev/null
		rmdir "$s" ;;
	signal) # a run that is signalled, stopped or killed
		mkdir "$s" && echo 'exec sleep 5' >"$s/ctl"
		case $(($2 % 3)) in
		0) echo 'signal TERM' >"$s/ctl" ;;
		1) echo 'stop 1' >"$s/ctl" ;;
		2) echo kill >"$s/ctl" ;;
		esac
		timeout 5 cat "$s/wait" >/dev/null
		rmdir "$s" ;;
	freeze) # frozen and thawed, then killed
		mkdir "$s" && echo 'exec sleep 5' >"$s/ctl" &&
			echo freeze >"$s/ctl" && echo thaw >"$s/ctl"
		echo kill >"$s/ctl"
		timeout 5 cat "$s/wait" >/dev/null
		rmdir "$s" ;;
	orphan) # the leader exits, a grandchild lives on: rmdir kills it
		mkdir "$s" && echo 'start sleep 5 & echo $!' >"$s/ctl" &&
			timeout 5 cat "$s/wait" >/dev/null
		rmdir "$s" ;;
	clone) # a numbered slot, read half-way, removed while it runs
		n=$(cat "$MNT/clone") || return 0
		echo 'exec seq 100000' >"$MNT/$n/ctl" &&
			timeout 5 head -c 1000 "$MNT/$n/stdout" >/dev/null
		echo kill >"$MNT/$n/ctl"
		timeout 5 cat "$MNT/$n/wait" >/dev/null
		rmdir "$MNT/$n" ;;
	rmdir) # removed at once, while its start may still be going
		mkdir "$s" && echo 'exec true' >"$s/ctl"
		rmdir "$s" || { timeout 5 cat "$s/wait" >/dev/null; rmdir "$s"; } ;;
	keep) # output keep toggled under a fast writer, snapshots, a slow reader
		mkdir "$s" && printf 'output keep 256K\nexec seq 10000000\n' >"$s/ctl"
		timeout 5 head -c 100 "$s/stdout.now" >/dev/null
		echo 'output pause' >"$s/ctl"
		timeout 5 head -c 5000 "$s/stdout" >/dev/null
		echo 'output keep 512K' >"$s/ctl"
		timeout 5 cat "$s/events.now" >/dev/null
		echo kill >"$s/ctl"
		timeout 5 cat "$s/wait" >/dev/null
		rmdir "$s" ;;
	restart) # a policy restarting a failing run; stop, kill or rmdir it
		mkdir "$s" &&
			printf 'restart always\nrestart_delay 10ms\nrestart_limit 1000/1s\nstart exit 3\n' >"$s/ctl"
		case $(($2 % 3)) in
		0) echo stop >"$s/ctl" ;;
		1) echo kill >"$s/ctl" ;;
		2) timeout 2 sh -c 'until grep -q restarting "$1"; do sleep 0.01; done' \
			w "$s/status"
			rmdir "$s" ;;
		esac
		echo kill >"$s/ctl" # ends the policy whatever the state
		timeout 5 cat "$s/wait" >/dev/null
		rmdir "$s" ;;
	esac
}

RACE_MIXES="echo signal freeze orphan clone rmdir keep restart"

# race_worker ID SECONDS ROUNDS MIXES: rounds of the MIXES (a blank-
# separated list, taken in turn) until SECONDS or ROUNDS run out. Writes
# the number of rounds run to $WORK/race.ID.
race_worker() {
	local id=$1 end=$(($(date +%s) + $2)) max=$3 i=0 mixes m
	read -r -a mixes <<<"$4"
	while [ "$i" -lt "$max" ] && [ "$(date +%s)" -lt "$end" ]; do
		m=${mixes[$((i % ${#mixes[@]}))]}
		race_round "$id" "$i" "$m" 2>/dev/null || true
		i=$((i + 1))
	done
	echo "$i" >"$WORK/race.$id"
}

# race_run SHELLS SECONDS ROUNDS MIXES: SHELLS workers at once, waited
# for; each is bounded, and a worker still alive 60 s past SECONDS is
# killed (by pid) and reported. Prints the total of rounds run.
race_run() {
	local n=$1 secs=$2 rounds=$3 mixes=$4 i pids=() total=0 t=0 p
	for i in $(seq 1 "$n"); do
		race_worker "$i" "$secs" "$rounds" "$mixes" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		while kill -0 "$p" 2>/dev/null; do
			sleep 0.2
			t=$((t + 1))
			if [ "$t" -gt $(((secs + 60) * 5)) ]; then
				kill -9 "$p" 2>/dev/null
				echo "race: worker $p hung" >&2
				return 1
			fi
		done
		wait "$p" || true
	done
	for i in $(seq 1 "$n"); do
		total=$((total + $(cat "$WORK/race.$i" 2>/dev/null || echo 0)))
	done
	echo "$total"
}

# race_left: slots left on the mount (a round cut short leaves its slot
# behind; a final sweep removes them).
race_sweep() {
	local d
	for d in "$MNT"/*/; do
		[ -d "$d" ] || continue
		case $(basename "$d") in by-pid) continue ;; esac
		echo kill >"$d/ctl" 2>/dev/null || true
		timeout 10 cat "$d/wait" >/dev/null 2>&1 || true
		rmdir "$d" 2>/dev/null || true
	done
}
