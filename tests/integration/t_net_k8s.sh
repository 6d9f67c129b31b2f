# The Kubernetes manifests in etc/k8s/ parse as YAML and say what the
# README says: a privileged DaemonSet with /dev/fuse from the host that
# mounts the tree on a hostPath with Bidirectional propagation, and a pod
# that sees it with HostToContainer; both name the same node path, which
# is the mount point of the systemd units' example instance (run-spawn).
# No cluster here: this checks the files, not a deployment.
. "$(dirname "$0")/lib.sh"
SRC=${SPAWNFS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
python3 -c 'import yaml' 2>/dev/null || {
	echo "SKIP: python3-yaml is not installed (bash scripts/deps.sh)"
	exit 77
}

# The mount point the units name in their examples.
inst=$(sed -n 's/.*systemctl start spawnfs@\([a-z-]*\)\.service.*/\1/p' \
	"$SRC/etc/systemd/spawnfs@.service" | head -n 1)
einst=$(sed -n 's/.*systemctl start spawnfs-export@\([a-z-]*\)\.service.*/\1/p' \
	"$SRC/etc/systemd/spawnfs-export@.service" | head -n 1)
[ -n "$inst" ] && [ "$inst" = "$einst" ] ||
	fail "the units name the instances '$inst' and '$einst'"
path=$(systemd-escape --unescape --path "$inst")
[ "$path" = /run/spawn ] || fail "instance $inst is $path"

cat >"$WORK/check.py" <<'EOF'
import glob, sys, yaml

kdir, want = sys.argv[1], sys.argv[2]
docs = {}
for f in sorted(glob.glob(kdir + "/*.yaml")):
    for d in yaml.safe_load_all(open(f)):
        if d:
            docs.setdefault(d["kind"], []).append((f, d))
assert set(docs) >= {"DaemonSet", "Pod"}, f"kinds: {sorted(docs)}"

def mounts(spec, c):
    vols = {v["name"]: v for v in spec.get("volumes", [])}
    return [(m, vols[m["name"]]) for m in c.get("volumeMounts", [])]

(f, ds), = docs["DaemonSet"]
spec = ds["spec"]["template"]["spec"]
c, = spec["containers"]
assert c["securityContext"]["privileged"] is True, "not privileged"
ms = mounts(spec, c)
fuse = [v for m, v in ms if m["mountPath"] == "/dev/fuse"]
assert fuse and fuse[0]["hostPath"] == {"path": "/dev/fuse",
                                        "type": "CharDevice"}, fuse
bidi = [(m, v) for m, v in ms if m.get("mountPropagation") == "Bidirectional"]
assert len(bidi) == 1, f"Bidirectional mounts: {bidi}"
m, v = bidi[0]
assert v["hostPath"]["path"] == want and m["mountPath"] == want, (m, v)
assert c["command"][-1].split()[-1] == want, c["command"]
assert "spawnfs -f" in " ".join(c["command"]), c["command"]

(f, pod), = docs["Pod"]
spec = pod["spec"]
h2c = [(m, v) for c in spec["containers"] for m, v in mounts(spec, c)
       if m.get("mountPropagation") == "HostToContainer"]
assert h2c, "no HostToContainer mount"
for m, v in h2c:
    assert v["hostPath"]["path"] == want, v
# A container that only watches gets the tree read-only (writing a
# slot's ctl runs commands on the host).
assert any(m.get("readOnly") is True for m, v in h2c), "no read-only watcher"
assert not any(c.get("securityContext", {}).get("privileged")
               for c in spec["containers"]), "the client is privileged"
print(f"DaemonSet {ds['metadata']['name']}, Pod {pod['metadata']['name']}")
EOF
out=$(python3 "$WORK/check.py" "$SRC/etc/k8s" "$path" 2>&1) || fail "$out"
ok "$out: both use the node path $path (spawnfs@$inst.service);" \
	"privileged with /dev/fuse and Bidirectional, client HostToContainer"

# The check can fail: a pod that names another path.
mkdir "$WORK/k8s"
cp "$SRC/etc/k8s/"*.yaml "$WORK/k8s/"
sed -i 's|path: /run/spawn$|path: /run/elsewhere|' "$WORK/k8s/spawnfs-client.yaml"
if python3 "$WORK/check.py" "$WORK/k8s" "$path" >"$WORK/bad.out" 2>&1; then
	fail "a client naming /run/elsewhere passed"
fi
grep -q elsewhere "$WORK/bad.out" || fail "the bad client: $(cat "$WORK/bad.out")"
ok "a client manifest naming another path is caught"
