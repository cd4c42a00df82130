#!/usr/bin/env bash
# Blob storage on S3 over HTTPS, with the certificate verified: radosgw behind an nginx TLS terminator
# whose certificate a test CA signed. With s3.ca_file naming that CA, Berth starts and skopeo round-trips
# an image through it; without it (system roots only) Berth refuses to start and names the backend.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init openssl nginx skopeo umoci
e2e_containers_env

step "start the shared S3 server (radosgw)"
export BERTH_S3_WATCH_PID=$$
s3_env="$(timeout 240 bash "$BERTH_SOURCE_DIR/scripts/start-s3.sh" --shared 2>"$WORK/logs/start-s3.log")" ||
  fail "start-s3.sh failed: $(tail -n 20 "$WORK/logs/start-s3.log")"
eval "$s3_env"
plain_endpoint="$BERTH_S3_ENDPOINT"

step "put an HTTPS terminator with a test CA's certificate in front of it"
pki="$WORK/pki"
e2e_make_pki "$pki"
ngx="$WORK/nginx"
mkdir -p "$ngx/tmp"
tls_addr="127.0.0.1:$(free_port)"
user_line=""
[[ $(id -u) -eq 0 ]] && user_line="user root;"
cat >"$ngx/nginx.conf" <<EOF
$user_line
worker_processes 1;
pid $ngx/nginx.pid;
error_log $ngx/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path $ngx/tmp/body;
  proxy_temp_path $ngx/tmp/proxy;
  fastcgi_temp_path $ngx/tmp/fastcgi;
  uwsgi_temp_path $ngx/tmp/uwsgi;
  scgi_temp_path $ngx/tmp/scgi;
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
nginx -t -p "$ngx" -e "$ngx/error.log" -c "$ngx/nginx.conf" >"$WORK/logs/nginx-t.log" 2>&1 ||
  fail "nginx -t: $(cat "$WORK/logs/nginx-t.log")"
nginx -p "$ngx" -e "$ngx/error.log" -c "$ngx/nginx.conf" -g 'daemon off;' >"$WORK/logs/nginx.out" 2>&1 &
nginx_pid=$!
e2e_on_exit "kill -QUIT $nginx_pid 2>/dev/null; wait $nginx_pid 2>/dev/null"
for ((i = 0; i < 100; i++)); do
  curl -s -o /dev/null --cacert "$pki/ca.crt" --max-time 2 "https://$tls_addr/" && break
  kill -0 "$nginx_pid" 2>/dev/null || fail "nginx exited: $(cat "$ngx/error.log")"
  sleep 0.1
done

export BERTH_STORAGE=s3
export BERTH_S3_ENDPOINT="https://$tls_addr"
export BERTH_S3_PREFIX="e2e-s3-tls-$(printf '%04x%04x' $RANDOM $RANDOM)/"

step "without the test CA, berth refuses the object store's certificate and does not start"
out="$WORK/logs/untrusted.log"
if BERTH_AUTH_ENABLED=false BERTH_S3_CA_FILE="" timeout 20 "$BERTH" serve --listen "127.0.0.1:$(free_port)" \
  --data "$WORK/untrusted-data" >"$out" 2>&1; then
  fail "berth started although the S3 endpoint's certificate is not trusted"
fi
grep -q "storage (s3)" "$out" || fail "the startup error does not name the backend: $(cat "$out")"
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
