#!/usr/bin/env bash
# Install what building, running and testing spawnfs needs (Debian 12).
set -euo pipefail
pkgs=(build-essential cmake pkg-config libfuse3-dev fuse3 libinih-dev
	libcmocka-dev jq valgrind procps coreutils util-linux passwd
	bubblewrap clang libclang-rt-14-dev clang-format cppcheck
	man-db groff-base bsdextrautils systemd mount diffutils
	diod munge python3-yaml)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done
# promtool (checks the metrics file) comes with the prometheus server
# package; its service must not be started by the install.
dpkg-query -W -f='${Status}' prometheus 2>/dev/null | grep -q 'ok installed' ||
	missing+=(prometheus)
if [ ${#missing[@]} -gt 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	policy=/usr/sbin/policy-rc.d
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		trap 'rm -f "$policy"' EXIT
	fi
	apt-get update -qq
	apt-get install -y -qq "${missing[@]}" >/dev/null
fi
[ -e /dev/fuse ] || modprobe fuse
