#!/usr/bin/env bash
# Blob storage on S3 over HTTPS, with the certificate verified: radosgw behind an nginx TLS terminator
# whose certificate a test CA signed. With s3.ca_file naming that CA, Berth starts and skopeo round-trips
# an image through it; without it (system roots only) Berth refuses to start and names the backend.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init openssl nginx skopeo umoci
e2e_containers_env

e2e_s3_shared_start
plain_endpoint="$BERTH_S3_ENDPOINT"

step "put an HTTPS terminator with a test CA's certificate in front of it"
pki="$WORK/pki"
e2e_make_pki "$pki"
ngx="$WORK/nginx"
mkdir -p "$ngx"
tls_addr="127.0.0.1:$(free_port)"
{
  e2e_nginx_conf_head "$ngx" 1 256 off
  cat <<EOF
  server {
    listen $tls_addr ssl;
    ssl_certificate $pki/server.crt;
    ssl_certificate_key $pki/server.key;
    client_max_body_size 0;
    proxy_request_buffering off;
    proxy_buffering off;
    proxy_http_version 1.1;
    # SigV4 signs the Host header: pass the client's unchanged.
    proxy_set_header Host \$http_host;
    location / { proxy_pass $plain_endpoint; }
  }
}
EOF
} >"$ngx/nginx.conf"
e2e_nginx_run "$ngx" "https://$tls_addr/" --cacert "$pki/ca.crt"

export BERTH_STORAGE=s3
export BERTH_S3_ENDPOINT="https://$tls_addr"
export BERTH_S3_PREFIX="e2e-s3-tls-$(printf '%04x%04x' $RANDOM $RANDOM)/"

step "without the test CA, berth refuses the object store's certificate and does not start"
out="$WORK/logs/untrusted.log"
rc=0
BERTH_AUTH_ENABLED=false BERTH_S3_CA_FILE="" timeout 20 "$BERTH" serve --listen "127.0.0.1:$(free_port)" \
  --data "$WORK/untrusted-data" >"$out" 2>&1 || rc=$?
((rc != 0)) || fail "berth started (and exited 0) although the S3 endpoint's certificate is not trusted"
((rc != 124)) || fail "berth kept running for 20 s although the S3 endpoint's certificate is not trusted"
grep -q "storage (s3)" "$out" || fail "the startup error does not name the backend: $(cat "$out")"
grep -qiE 'certificate|ssl|tls|x509|verif' "$out" ||
  fail "berth refused to start, but not on the object store's certificate: $(cat "$out")"
log "refused as expected: $(grep -m1 'storage (s3)' "$out")"

step "with s3.ca_file naming the test CA, berth starts"
export BERTH_S3_CA_FILE="$pki/ca.crt"
src="$WORK/src"
src_digest="$(e2e_build_image "$src" 1.0)"
e2e_registry_start

step "skopeo round trip through HTTPS object storage"
run skopeo copy --preserve-digests --dest-tls-verify=false "oci:$src:1.0" "docker://$REG/acme/over-tls:1.0"
run skopeo copy --src-tls-verify=false "docker://$REG/acme/over-tls:1.0" "oci:$WORK/out:1.0"
assert_eq "$(oci_tag_digest "$WORK/out" 1.0)" "$src_digest" "manifest digest after the round trip"
for layer in $(oci_manifest_layers "$src" "$src_digest"); do assert_blob_ok "$WORK/out" "$layer"; done

e2e_finish
echo "PASS test_s3_tls"
