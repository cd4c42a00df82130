#!/usr/bin/env bash
# buildah: build FROM an image pulled from the registry with a RUN step, push the result, check the
# RUN step's file is in the pushed top layer; then push a two-platform index (manifest list) with
# `buildah manifest push --all` and pull both children by digest.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init buildah skopeo umoci tar
e2e_containers_env

step "build the base images"
src="$WORK/src"
e2e_build_image "$src" amd64 --arch amd64 >/dev/null
e2e_build_image "$src" arm64 --arch arm64 >/dev/null

e2e_registry_start
base="$REG/acme/base/busybox:1.0"
run skopeo copy --dest-tls-verify=false "oci:$src:amd64" "docker://$base"

step "buildah build FROM $base with a RUN step"
ctx="$WORK/ctx"
mkdir -p "$ctx"
cat >"$ctx/Containerfile" <<EOF
FROM $base
RUN echo built-by-buildah > /hello.txt && /bin/busybox ls /bin/busybox
EOF
app="$REG/acme/app/hello:1.0"
run buildah build --isolation chroot --tls-verify=false --pull-always --format oci \
  -t "$app" -f "$ctx/Containerfile" "$ctx"

step "buildah push $app"
run buildah push --tls-verify=false --digestfile "$WORK/app.digest" "$app" "docker://$app"
app_digest="$(cat "$WORK/app.digest")"
log "pushed manifest $app_digest"

step "skopeo pulls $app; /hello.txt is in the top layer"
pulled="$WORK/pulled"
run skopeo copy --src-tls-verify=false "docker://$app" "oci:$pulled:1.0"
assert_eq "$(oci_tag_digest "$pulled" 1.0)" "$app_digest" "digest of the pulled image"
mapfile -t layers < <(oci_manifest_layers "$pulled" "$app_digest")
((${#layers[@]} == 2)) || fail "expected 2 layers (base + RUN), got ${#layers[@]}: ${layers[*]}"
top="${layers[-1]}"
assert_blob_ok "$pulled" "$top"
mkdir -p "$WORK/top"
tar -xf "$(oci_blob "$pulled" "$top")" -C "$WORK/top" || fail "cannot untar the top layer $top"
assert_file "$WORK/top/hello.txt" "the RUN step's file is not in the top layer"
assert_eq "$(cat "$WORK/top/hello.txt")" built-by-buildah "content of /hello.txt"
[[ ! -e "$WORK/top/bin/busybox" ]] || fail "the top layer holds /bin/busybox: the base layer was not reused"
base_layer="$(skopeo inspect --tls-verify=false "docker://$base" | jq -r '.Layers[0]')"
log "base layer in the registry $base_layer, first layer of the app ${layers[0]}"

step "commit an amd64 and an arm64 variant"
for arch in amd64 arm64; do
  echo "$arch" >"$WORK/platform-$arch.txt"
  run buildah from --name "ctr-$arch" --arch "$arch" "oci:$src:$arch"
  run buildah copy "ctr-$arch" "$WORK/platform-$arch.txt" /platform.txt
  run buildah config --arch "$arch" --os linux --label "org.berth.test.variant=$arch" "ctr-$arch"
  run buildah commit --format oci "ctr-$arch" "localhost/multi:$arch"
  run buildah rm "ctr-$arch"
done

step "buildah manifest create/add/push --all"
multi="$REG/acme/app/multi:1.0"
run buildah manifest create localhost/multi-list
run buildah manifest add --os linux --arch amd64 localhost/multi-list containers-storage:localhost/multi:amd64
run buildah manifest add --os linux --arch arm64 localhost/multi-list containers-storage:localhost/multi:arm64
run buildah manifest push --all --tls-verify=false --digestfile "$WORK/multi.digest" \
  localhost/multi-list "docker://$multi"
multi_digest="$(cat "$WORK/multi.digest")"
log "pushed index $multi_digest"

step "skopeo inspect --raw shows an index with 2 platform manifests"
run skopeo inspect --raw --tls-verify=false "docker://$multi"
cp "$RUN_OUT" "$WORK/index.json"
assert_eq "sha256:$(sha256sum "$WORK/index.json" | cut -d' ' -f1)" "$multi_digest" "digest of the raw index"
mt="$(jq -r '.mediaType // empty' "$WORK/index.json")"
case "$mt" in
  application/vnd.oci.image.index.v1+json | application/vnd.docker.distribution.manifest.list.v2+json) ;;
  "") jq -e '.manifests' "$WORK/index.json" >/dev/null || fail "raw manifest is not an index: $(head -c 300 "$WORK/index.json")" ;;
  *) fail "raw manifest has media type $mt, not an OCI index or a Docker manifest list" ;;
esac
assert_eq "$(jq '.manifests | length' "$WORK/index.json")" 2 "number of manifests in the index"
assert_eq "$(jq -r '[.manifests[].platform | "\(.os)/\(.architecture)"] | sort | join(",")' "$WORK/index.json")" \
  "linux/amd64,linux/arm64" "platforms in the index"

step "both children are pullable by digest"
for arch in amd64 arm64; do
  child="$(jq -r --arg a "$arch" '.manifests[] | select(.platform.architecture == $a) | .digest' "$WORK/index.json")"
  run skopeo copy --src-tls-verify=false "docker://$REG/acme/app/multi@$child" "oci:$WORK/child-$arch:x"
  assert_eq "$(oci_tag_digest "$WORK/child-$arch" x)" "$child" "digest of the $arch child"
  cfg="$(oci_manifest_config "$WORK/child-$arch" "$child")"
  assert_eq "$(jq -r .architecture "$(oci_blob "$WORK/child-$arch" "$cfg")")" "$arch" "architecture in the $arch child's config"
  top="$(oci_manifest_layers "$WORK/child-$arch" "$child" | tail -n 1)"
  mkdir -p "$WORK/child-top-$arch"
  tar -xf "$(oci_blob "$WORK/child-$arch" "$top")" -C "$WORK/child-top-$arch"
  assert_eq "$(cat "$WORK/child-top-$arch/platform.txt" 2>/dev/null)" "$arch" "/platform.txt in the $arch child's top layer"
done

step "skopeo selects the arm64 child from the index by platform"
run skopeo copy --override-arch arm64 --src-tls-verify=false "docker://$multi" "oci:$WORK/by-platform:x"
arm_child="$(jq -r '.manifests[] | select(.platform.architecture == "arm64") | .digest' "$WORK/index.json")"
assert_eq "$(oci_tag_digest "$WORK/by-platform" x)" "$arm_child" "child chosen for --override-arch arm64"

e2e_finish
