#!/usr/bin/env bash
# Starts a real S3 server on 127.0.0.1 for tests: Ceph's radosgw (Debian's ceph-mon, ceph-osd, ceph-mgr,
# radosgw) on a throwaway single-node cluster. Everything lives in one directory; nothing is installed
# system-wide and no systemd unit is used.
#
# Usage: scripts/start-s3.sh [DIR]      a private cluster in DIR (default: a new /tmp/berth-s3-XXXXXX)
#        scripts/start-s3.sh --shared     one cluster shared by every caller on this machine
# On success prints `export` lines on stdout (endpoint, credentials, bucket, region, dir) and exits 0.
# BERTH_S3_ENDPOINT (http://127.0.0.1:PORT) is for path-style requests; BERTH_S3_VHOST_ENDPOINT
# (http://localhost:PORT, same server) for virtual-hosted ones (s3.path_style: false), whose host
# BERTH_S3_BUCKET.localhost radosgw takes the bucket from.
# Progress and errors go to stderr. Exit 2: the Ceph packages are missing (scripts/install-deps.sh test).
#
# Who stops it: scripts/stop-s3.sh DIR, or the cluster itself once the process named by
# BERTH_S3_WATCH_PID has exited (private) / once no process that asked for it with BERTH_S3_WATCH_PID
# has been alive for 20 s (shared). --shared exists because ctest runs each test case of an executable
# in its own process: starting a cluster per test case would cost 15-20 s each, while the shared one
# starts once and is reused; the lock below makes concurrent callers (ctest -j) wait for one start.
#
# The cluster: one monitor (messenger v1 only, so a single port), one OSD on memstore (objects in RAM:
# no disk to prepare, nothing to clean), one manager, one radosgw with the beast frontend. Cephx is off:
# the cluster is reachable from loopback only and lives for one test run. S3 requests are still
# authenticated by radosgw with SigV4.
set -euo pipefail
umask 077  # the env file holds the S3 secret

for bin in ceph-mon ceph-osd ceph-mgr radosgw radosgw-admin ceph monmaptool curl python3; do
  command -v "$bin" >/dev/null || { echo "start-s3: $bin not found (scripts/install-deps.sh test)" >&2; exit 2; }
done

scripts="$(cd "$(dirname "$0")" && pwd)"
grace=0
if [[ ${1:-} == --shared ]]; then
  dir="/tmp/berth-s3-shared"
  grace=20
  # fd 9 holds the lock until this script exits: every daemon below is started with 9>&- so that none
  # of them keeps it.
  exec 9>"$dir.lock"
  flock -w 180 9 || { echo "start-s3: timed out waiting for $dir.lock" >&2; exit 1; }
  # A loaded machine can make a live radosgw slow to answer: give it a few chances before declaring the
  # cluster dead and starting another over it.
  alive() {
    local endpoint i
    endpoint="$(sed -n 's/^export BERTH_S3_ENDPOINT=//p' "$dir/env")"
    for i in 1 2 3; do curl -s -o /dev/null --max-time 5 "$endpoint/" && return 0; sleep 1; done
    return 1
  }
  # A cluster started by an older version of this script may lack settings the tests now rely on
  # (virtual-hosted addressing): such a one is replaced rather than reused.
  current() { grep -qx 'rgw dns name = localhost' "$dir/ceph.conf" 2>/dev/null; }
  if [[ -f $dir/env ]] && current && alive; then
    [[ -n ${BERTH_S3_WATCH_PID:-} ]] && : >"$dir/clients/$BERTH_S3_WATCH_PID"
    echo "start-s3: reusing the shared cluster in $dir" >&2
    cat "$dir/env"
    exit 0
  fi
  "$scripts/stop-s3.sh" "$dir"  # whatever is left of a cluster that no longer answers
else
  dir="${1:-$(mktemp -d /tmp/berth-s3-XXXXXX)}"
fi
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
mkdir -p "$dir"/{run,log,mon,osd,mgr,rgw,clients}

# Two free loopback ports, asked of the kernel rather than guessed.
read -r mon_port rgw_port < <(python3 - <<'EOF'
import socket
socks = []
for _ in range(2):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(*(s.getsockname()[1] for s in socks))
EOF
)

fsid="$(python3 -c 'import uuid; print(uuid.uuid4())')"
access_key="BERTHTEST$(python3 -c 'import secrets; print(secrets.token_hex(6).upper())')"
secret_key="$(python3 -c 'import secrets; print(secrets.token_urlsafe(30))')"
bucket="berth-test"
region="us-east-1"
conf="$dir/ceph.conf"

cat >"$conf" <<EOF
[global]
fsid = $fsid
mon host = [v1:127.0.0.1:$mon_port]
public addr = 127.0.0.1
ms bind ipv6 = false
ms bind msgr2 = false
auth cluster required = none
auth service required = none
auth client required = none
run dir = $dir/run
admin socket = $dir/run/\$name.asok
pid file = $dir/run/\$name.pid
log file = $dir/log/\$name.log
mon data = $dir/mon/\$id
osd data = $dir/osd/\$id
mgr data = $dir/mgr/\$id
keyring = $dir/keyring
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
osd pool default pg autoscale mode = off
osd pool default pg num = 8
osd pool default pgp num = 8
osd crush chooseleaf type = 0
# The OSD is put in the CRUSH map by this script before it starts. Left to itself it does so from its own
# init, and about one start in five that command went out before it knew the cluster's fsid ("wrong
# fsid", the OSD then exits).
osd crush update on start = false
osd class update on start = false
osd objectstore = memstore
# memstore keeps every object in RAM: room for the tests' blobs and the garbage radosgw collects later.
memstore device bytes = 6442450944
osd max object name len = 460
osd max object namespace len = 64
# radosgw deletes multipart parts and replaced objects lazily; collect quickly so memstore stays small.
rgw gc obj min wait = 5
rgw gc processor period = 5
rgw gc processor max time = 5

[client.rgw.berth]
rgw frontends = beast endpoint=127.0.0.1:$rgw_port
rgw data = $dir/rgw
rgw enable usage log = false
# The host name whose subdomains are buckets: a request with Host BUCKET.localhost:PORT is virtual-hosted
# (the bucket from the Host header, the key from the path), one with Host localhost:PORT or
# 127.0.0.1:PORT is path-style (/BUCKET/KEY). libcurl resolves localhost and *.localhost to loopback by
# itself, without DNS or /etc/hosts.
rgw dns name = localhost
EOF

log() { echo "start-s3: $*" >&2; }
fail() {
  log "$*"
  for f in "$dir"/log/*.log; do [[ -s $f ]] && { echo "--- tail $f" >&2; tail -n 20 "$f" >&2; }; done
  "$scripts/stop-s3.sh" "$dir" --keep >&2 || true
  log "stopped; logs kept in $dir"
  exit 1
}
started=$SECONDS

# An empty keyring: with cephx off nothing reads keys, but the tools insist that the file exists.
: >"$dir/keyring"

monmaptool --create --fsid "$fsid" --addv a "[v1:127.0.0.1:$mon_port]" "$dir/monmap" >/dev/null 2>&1 ||
  fail "monmaptool failed"
ceph-mon -c "$conf" --mkfs -i a --monmap "$dir/monmap" >"$dir/log/mon-mkfs.out" 2>&1 || fail "ceph-mon --mkfs failed"
ceph-mon -c "$conf" -i a 9>&- >"$dir/log/mon.out" 2>&1 || fail "ceph-mon failed to start"

cephc() { timeout 30 ceph -c "$conf" --connect-timeout 20 "$@"; }
# A monitor that has just started can answer its first commands before it knows its fsid: ask again.
mon_ok=""
for _ in 1 2 3 4 5 6 7 8 9 10; do
  cephc -s >/dev/null 2>&1 && { mon_ok=1; break; }
  sleep 1
done
[[ -n $mon_ok ]] || fail "the monitor does not answer"

osd_uuid="$(python3 -c 'import uuid; print(uuid.uuid4())')"
osd_id="$(cephc osd new "$osd_uuid" 2>/dev/null)" || fail "ceph osd new failed"
cephc osd crush add "osd.$osd_id" 1.0 root=default >/dev/null 2>&1 || fail "ceph osd crush add failed"
mkdir -p "$dir/osd/$osd_id"
ceph-osd -c "$conf" -i "$osd_id" --mkfs --osd-uuid "$osd_uuid" >"$dir/log/osd-mkfs.out" 2>&1 || fail "ceph-osd --mkfs failed"
ceph-osd -c "$conf" -i "$osd_id" 9>&- >"$dir/log/osd.out" 2>&1 || fail "ceph-osd failed to start"
mkdir -p "$dir/mgr/x"
ceph-mgr -c "$conf" -i x 9>&- >"$dir/log/mgr.out" 2>&1 || fail "ceph-mgr failed to start"

for _ in $(seq 1 120); do
  cephc osd stat -f json 2>/dev/null | grep -q '"num_up_osds":1' && break
  sleep 0.5
done
cephc osd stat -f json 2>/dev/null | grep -q '"num_up_osds":1' || fail "the OSD did not come up"
log "monitor and OSD up after $((SECONDS - started))s"

radosgw -c "$conf" -n client.rgw.berth 9>&- >"$dir/log/rgw.out" 2>&1 || fail "radosgw failed to start"

for _ in $(seq 1 240); do
  curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$rgw_port/" && break
  sleep 0.5
done
curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$rgw_port/" || fail "radosgw does not answer on 127.0.0.1:$rgw_port"

timeout 60 radosgw-admin -c "$conf" user create --uid test --display-name test \
  --access-key "$access_key" --secret "$secret_key" >"$dir/log/user.out" 2>&1 || fail "radosgw-admin user create failed"

# The bucket, through the S3 API itself. curl signs with SigV4 but does not add x-amz-content-sha256,
# which radosgw requires: given as a header, curl signs it too.
for _ in $(seq 1 60); do
  code="$(curl -s -o "$dir/log/bucket.out" -w '%{http_code}' --max-time 10 -X PUT \
    -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" --aws-sigv4 "aws:amz:$region:s3" --user "$access_key:$secret_key" "http://127.0.0.1:$rgw_port/$bucket")" || code=000
  [[ $code == 200 || $code == 409 ]] && break
  sleep 0.5
done
[[ $code == 200 || $code == 409 ]] || fail "creating bucket $bucket answered HTTP $code"
log "radosgw ready on 127.0.0.1:$rgw_port after $((SECONDS - started))s"

if [[ -n ${BERTH_S3_WATCH_PID:-} ]]; then
  : >"$dir/clients/$BERTH_S3_WATCH_PID"
  # Stops the cluster once no registered client has been alive for `grace` seconds; for the shared
  # cluster it decides under the lock, so that a caller registering at that moment is not left without.
  # Detached and holding none of our descriptors: whoever reads our stdout gets EOF when we exit.
  setsid bash -c '
    dir=$1 stop=$2 grace=$3 idle=0
    alive() { for f in "$dir"/clients/*; do [[ -e $f ]] && kill -0 "${f##*/}" 2>/dev/null && return 0; done; return 1; }
    while [[ -d $dir/run ]]; do
      if alive; then idle=0; else idle=$((idle + 2)); fi
      if ((idle > grace)); then
        [[ $grace -gt 0 ]] && { exec 9>"$dir.lock"; flock 9; }
        alive || { "$stop" "$dir"; exit 0; }
        idle=0
        exec 9>&-
      fi
      sleep 2
    done' _ "$dir" "$scripts/stop-s3.sh" "$grace" </dev/null >/dev/null 2>&1 9>&- &
fi

cat <<EOF >"$dir/env"
export BERTH_S3_ENDPOINT=http://127.0.0.1:$rgw_port
export BERTH_S3_VHOST_ENDPOINT=http://localhost:$rgw_port
export BERTH_S3_REGION=$region
export BERTH_S3_BUCKET=$bucket
export BERTH_S3_ACCESS_KEY=$access_key
export BERTH_S3_SECRET_KEY=$secret_key
export BERTH_S3_DIR=$dir
EOF
cat "$dir/env"
