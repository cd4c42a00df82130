#!/usr/bin/env bash
# Installs everything Berth needs to build, run and test, from Debian 12 packages only.
# Usage: scripts/install-deps.sh [build|test]   (default: test = build + test clients/servers)
set -euo pipefail
what="${1:-test}"

build_pkgs=(
  build-essential cmake ninja-build ccache pkg-config
  libboost1.74-dev libssl-dev nlohmann-json3-dev libsqlite3-dev
  libspdlog-dev libfmt-dev libcli11-dev libyaml-cpp-dev libsodium-dev
  libcurl4-openssl-dev libpq-dev
  libgtest-dev libgmock-dev libbenchmark-dev
)
test_pkgs=(
  curl jq openssl python3 python3-nacl
  skopeo podman buildah containerd umoci busybox-static
  uidmap fuse-overlayfs slirp4netns docker-registry runc file
  postgresql-15
  ceph-mon ceph-osd ceph-mgr radosgw
  nginx iproute2 gh docker.io
)

pkgs=("${build_pkgs[@]}")
[[ "$what" == test ]] && pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  # The tests start their own servers (PostgreSQL, radosgw, dockerd): packages must not start system-wide
  # ones while they install (a dockerd of the system's would also rewrite iptables). Debian's way to say so
  # is a policy-rc.d that refuses; one is put in place for the install if the machine has none.
  policy=/usr/sbin/policy-rc.d
  added_policy=""
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null && $SUDO chmod 755 "$policy" && added_policy=1
  fi
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  if [[ -n $added_policy ]]; then $SUDO rm -f "$policy"; fi
fi
