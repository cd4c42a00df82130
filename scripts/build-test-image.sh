#!/usr/bin/env bash
# Builds a small test image into an OCI image layout, offline, from the busybox-static binary.
#
# Usage: scripts/build-test-image.sh --out DIR [--tag TAG] [--arch amd64|arm64] [--extra-mib N]
#                                    [--label K=V]...
#   --out DIR        OCI image layout to create (or add the tag to, if it already exists)
#   --tag TAG        tag inside the layout (default: latest)
#   --arch ARCH      architecture written in the image config (default: amd64). The rootfs is always
#                    the host's busybox binary: an arm64 image is only meant to be pushed and pulled,
#                    not run.
#   --extra-mib N    add a second layer holding /random.bin, N MiB streamed from /dev/urandom
#                    (incompressible: the compressed layer is about N MiB too)
#   --label K=V      add a label to the image config (repeatable)
#
# Layer 1: /bin/busybox plus a symlink per applet (sh, ls, cat, echo, ...), /etc/passwd, /tmp, /root.
# Prints the manifest digest of the tag on stdout when done.
set -euo pipefail

out="" tag="latest" arch="amd64" extra_mib=0
labels=()
while (($#)); do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --tag) tag="$2"; shift 2 ;;
    --arch) arch="$2"; shift 2 ;;
    --extra-mib) extra_mib="$2"; shift 2 ;;
    --label) labels+=("$2"); shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "build-test-image.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done
[[ -n "$out" ]] || { echo "build-test-image.sh: --out DIR is required" >&2; exit 2; }
case "$arch" in amd64|arm64) ;; *) echo "build-test-image.sh: --arch must be amd64 or arm64" >&2; exit 2 ;; esac
[[ "$extra_mib" =~ ^[0-9]+$ ]] || { echo "build-test-image.sh: --extra-mib must be a number" >&2; exit 2; }

for tool in umoci jq; do
  command -v "$tool" >/dev/null || { echo "build-test-image.sh: $tool is not installed (scripts/install-deps.sh)" >&2; exit 1; }
done
busybox_bin=""
for c in /bin/busybox /usr/bin/busybox; do
  if [[ -x "$c" ]] && file -L "$c" 2>/dev/null | grep -q 'statically linked'; then busybox_bin="$c"; break; fi
done
if [[ -z "$busybox_bin" ]]; then
  # `file` may be missing: fall back to the busybox-static package's path.
  [[ -x /bin/busybox ]] && busybox_bin=/bin/busybox
fi
[[ -n "$busybox_bin" ]] || { echo "build-test-image.sh: no static busybox (apt-get install busybox-static)" >&2; exit 1; }

scratch="$(mktemp -d "${TMPDIR:-/tmp}/berth-testimg.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT

image="$out:$tag"
[[ -f "$out/oci-layout" ]] || umoci init --layout "$out"
umoci new --image "$image"

# Layer 1: busybox rootfs.
umoci unpack --image "$image" "$scratch/bundle" >/dev/null
rootfs="$scratch/bundle/rootfs"
mkdir -p "$rootfs"/{bin,etc,tmp,root,proc,sys,dev}
chmod 1777 "$rootfs/tmp"
install -m 0755 "$busybox_bin" "$rootfs/bin/busybox"
while read -r applet; do
  applet="${applet##*/}"
  [[ -n "$applet" && "$applet" != busybox && ! -e "$rootfs/bin/$applet" ]] || continue
  ln -s busybox "$rootfs/bin/$applet"
done < <("$busybox_bin" --list)
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$rootfs/etc/passwd"
printf 'root:x:0:\n' > "$rootfs/etc/group"
umoci repack --image "$image" --history.created_by "build-test-image.sh: busybox rootfs" "$scratch/bundle"

# Layer 2 (optional): N MiB of random bytes, streamed to disk then inserted as its own layer.
if ((extra_mib > 0)); then
  dd if=/dev/urandom of="$scratch/random.bin" bs=1M count="$extra_mib" iflag=fullblock status=none
  umoci insert --image "$image" --history.created_by "build-test-image.sh: ${extra_mib} MiB random layer" \
    "$scratch/random.bin" /random.bin
  rm -f "$scratch/random.bin"
fi

config_args=(--os linux --architecture "$arch" --config.cmd /bin/sh
  --config.env PATH=/bin --config.label "org.berth.test.arch=$arch")
for l in "${labels[@]}"; do config_args+=(--config.label "$l"); done
umoci config --image "$image" --no-history "${config_args[@]}"
umoci gc --layout "$out"

jq -r --arg tag "$tag" \
  '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $tag) | .digest' \
  "$out/index.json"
