#!/usr/bin/env bash
# TLS: a private CA and a server certificate for 127.0.0.1/localhost; the registry serves HTTPS with
# --tls-cert/--tls-key; skopeo and podman push and pull over HTTPS trusting the CA (cert dirs); a
# client that does not trust the CA fails with a certificate error (and does not fall back to HTTP).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init openssl skopeo podman umoci runc
e2e_containers_env

step "make a CA and a server certificate (SAN IP:127.0.0.1, DNS:localhost)"
pki="$WORK/pki"
e2e_make_pki "$pki"
# Cert dirs as containers/image reads them: *.crt are CA roots.
certs="$WORK/certs"
mkdir -p "$certs"
cp "$pki/ca.crt" "$certs/ca.crt"
export E2E_CA_CERT="$pki/ca.crt"

step "build the test image"
src="$WORK/src"
src_digest="$(e2e_build_image "$src" 1.0)"

e2e_registry_start --tls "$pki/server.crt" "$pki/server.key"
[[ "$REG_SCHEME" == https ]] || fail "the registry was not started with TLS"
repo="$REG/acme/secure/busybox"
port="${REG##*:}"

step "curl: HTTPS with the CA works, plain HTTP to the TLS port does not"
code="$(e2e_curl -o /dev/null -w '%{http_code}' "https://$REG/v2/")"
assert_eq "$code" 200 "GET https://$REG/v2/ with the CA"
code="$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "http://$REG/v2/" 2>/dev/null || true)"
[[ "$code" != 200 ]] || fail "plain HTTP GET /v2/ on the TLS port answered 200"
subject="$(openssl s_client -connect "$REG" -servername localhost -CAfile "$pki/ca.crt" </dev/null 2>/dev/null |
  openssl x509 -noout -ext subjectAltName 2>/dev/null | tr -d ' \n')" || true
[[ "$subject" == *"IPAddress:127.0.0.1"* ]] || fail "the server does not present the test certificate (SAN: '$subject')"

step "skopeo push over HTTPS with --dest-cert-dir"
run skopeo copy --preserve-digests --dest-cert-dir "$certs" "oci:$src:1.0" "docker://$repo:1.0"
run skopeo inspect --cert-dir "$certs" "docker://$repo:1.0"
assert_eq "$(jq -r .Digest "$RUN_OUT")" "$src_digest" "digest seen over HTTPS"

step "skopeo pull over HTTPS with --src-cert-dir (127.0.0.1 and localhost)"
run skopeo copy --preserve-digests --src-cert-dir "$certs" "docker://$repo:1.0" "oci:$WORK/pulled:1.0"
assert_eq "$(oci_tag_digest "$WORK/pulled" 1.0)" "$src_digest" "digest pulled over HTTPS"
for d in $(oci_manifest_config "$src" "$src_digest") $(oci_manifest_layers "$src" "$src_digest"); do
  assert_blob_ok "$WORK/pulled" "$d"
done
if getent hosts localhost | grep -q '127.0.0.1'; then
  run skopeo copy --src-cert-dir "$certs" "docker://localhost:$port/acme/secure/busybox:1.0" "oci:$WORK/pulled-localhost:1.0"
  assert_eq "$(oci_tag_digest "$WORK/pulled-localhost" 1.0)" "$src_digest" "digest pulled via https://localhost:$port"
else
  log "localhost does not resolve to 127.0.0.1 here: skipped the DNS:localhost pull"
fi

step "podman push/pull over HTTPS with --cert-dir"
run podman pull -q "oci:$src:1.0"
image_id="$(tail -n 1 "$RUN_OUT")"
run podman tag "$image_id" "$repo:podman"
run podman push --cert-dir "$certs" --digestfile "$WORK/podman.digest" "$repo:podman"
run podman rmi -f "$image_id"
run podman pull --cert-dir "$certs" "$repo:podman"
run podman image inspect "$repo:podman"
assert_eq "$(jq -r '.[0].Digest' "$RUN_OUT")" "$(cat "$WORK/podman.digest")" "digest of the image podman pulled over HTTPS"

step "clients that do not trust the CA fail with a certificate error"
run_fails skopeo inspect "docker://$repo:1.0"
grep -qiE 'x509|certificate' "$RUN_OUT" || fail "skopeo without the CA failed, but not on the certificate: $(tail -n 3 "$RUN_OUT")"
run_fails skopeo copy "oci:$src:1.0" "docker://$repo:untrusted"
grep -qiE 'x509|certificate' "$RUN_OUT" || fail "skopeo push without the CA failed, but not on the certificate: $(tail -n 3 "$RUN_OUT")"
run_fails podman pull "$repo:podman"
grep -qiE 'x509|certificate' "$RUN_OUT" || fail "podman without the CA failed, but not on the certificate: $(tail -n 3 "$RUN_OUT")"
code="$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "https://$REG/v2/" 2>/dev/null || true)"
[[ "$code" == 000 ]] || fail "curl without the CA got HTTP status $code"
# The untrusted push must not have created the tag.
run skopeo list-tags --cert-dir "$certs" "docker://$repo"
assert_eq "$(jq -r '.Tags | sort | join(",")' "$RUN_OUT")" "1.0,podman" "tags after the untrusted attempts"

e2e_finish
