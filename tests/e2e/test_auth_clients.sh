#!/usr/bin/env bash
# Identity and access with real clients, against Berth with authentication on:
#   1. podman login (a PAT) / push / logout / anonymous pull fails / login again / pull; a wrong token
#      cannot log in;
#   2. skopeo with --dest-creds / --creds on a private package; anonymous skopeo is refused the
#      private package and may inspect and copy a public one;
#   3. containerd (ctr, the Kubernetes pull path): pull with --user works, without fails; anonymous
#      pull of the public package works;
#   4. `berth admin pull-secret`: a valid kubernetes.io/dockerconfigjson Secret whose credentials pull
#      with ctr, and whose read-only token cannot push;
#   5. a CI token pushes to its package only, and never deletes an org-owned package;
#   6. no secret (token, Authorization header value, issued JWT) appears in the registry log;
#   7. the audit log lists the pushes (actor alice) and denied requests.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init podman skopeo containerd ctr umoci base64 python3
e2e_containers_env

[[ -z "${BERTH_TEST_REGISTRY:-}" ]] || skip "needs its own Berth (authentication on, identities made with berth admin)"
[[ "${BERTH_TEST_SERVER:-berth}" == berth ]] || skip "tests Berth's authentication"
export BERTH_AUTH_ENABLED=true
# Debug logging: the strictest setting for the "no secrets in the log" check of step 6.
export BERTH_LOG_LEVEL="${BERTH_LOG_LEVEL:-debug}"

# Every secret the test sees, for step 6 (tokens, Basic credentials, JWTs).
SECRETS=()
remember_secret() { [[ -n "$1" ]] || fail "empty secret"; SECRETS+=("$1"); }
# basic_of USER:TOKEN: the value of the Basic Authorization header a client sends.
basic_of() { printf '%s' "$1" | base64 -w0; }

# refused_with FILE REGEX "what": a failed client call's output says why (REGEX, case-insensitive).
refused_with() {
  grep -qiE "$2" "$1" || fail "$3: expected the output to match /$2/, got: $(tail -n 5 "$1")"
}

step "build the test image and load it into podman"
src="$WORK/src"
e2e_build_image "$src" 1.0 >/dev/null
digest="$(oci_tag_digest "$src" 1.0)"
[[ "$digest" == sha256:* ]] || fail "no digest for tag 1.0 in $src"
run podman pull -q "oci:$src:1.0"
image_id="$(tail -n 1 "$RUN_OUT")"
[[ "$image_id" =~ ^[0-9a-f]{64}$ ]] || fail "podman pull printed no image id: $(cat "$RUN_OUT")"

step "identities: user alice, org acme (admin alice), tokens, public package acme/pub"
e2e_admin user create alice
e2e_admin org create acme --admin alice
PAT="$(e2e_admin token create --user alice --scopes read:packages,write:packages --name e2e-rw)"
PAT_DEL="$(e2e_admin token create --user alice --scopes read:packages,write:packages,delete:packages --name e2e-rwd)"
CI="$(e2e_admin token create --ci --user alice --packages acme/ci-app --scopes read:packages,write:packages --ttl 1h)"
CI_DEL="$(e2e_admin token create --ci --user alice --packages acme/ci-app \
  --scopes read:packages,write:packages,delete:packages --ttl 1h)"
for t in "$PAT" "$PAT_DEL"; do [[ "$t" =~ ^berth_pat_[A-Za-z0-9_-]+$ ]] || fail "token create printed '$t', not only a PAT"; done
for t in "$CI" "$CI_DEL"; do [[ "$t" =~ ^berth_ci_[A-Za-z0-9_-]+$ ]] || fail "token create --ci printed '$t', not only a CI token"; done
PAT_REVOKE="$(e2e_admin token create --user alice --scopes read:packages --name e2e-revoke)"
# Well-formed tokens that are not valid: one never issued, and alice's PAT with its last character changed.
WRONG="berth_pat_$(python3 -c 'import secrets, string; print("".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(43)))')"
[[ ${#WRONG} == "${#PAT}" ]] || fail "made a wrong token of ${#WRONG} characters, PATs have ${#PAT}"
last="${PAT: -1}"
ALTERED="${PAT%?}$([[ "$last" == a ]] && echo b || echo a)"
for t in "$PAT" "$PAT_DEL" "$PAT_REVOKE" "$CI" "$CI_DEL" "$WRONG" "$ALTERED"; do
  remember_secret "$t"
  remember_secret "$(basic_of "alice:$t")"
done
e2e_admin package visibility acme/pub public

e2e_registry_start
private="$REG/acme/private-app"
pub="$REG/acme/pub"

step "the registry asks for credentials"
code="$(e2e_curl -o /dev/null -w '%{http_code}' "http://$REG/v2/")"
assert_eq "$code" 401 "anonymous GET /v2/"
hdr="$(e2e_curl -o /dev/null -D - "http://$REG/v2/" | tr -d '\r' | grep -i '^www-authenticate:' || true)"
[[ "$hdr" == *Bearer*realm=*"/token"* ]] || fail "GET /v2/ has no Bearer challenge: '$hdr'"

# ---------------------------------------------------------------------------------------------------
step "1. podman login with a wrong token fails"
run_fails podman login --tls-verify=false -u alice --password-stdin "$REG" <<<"$WRONG"
refused_with "$RUN_OUT" 'unauthorized|401|invalid username/password|authentication required' "podman login with a wrong token"

step "1. podman login with alice's PAT with one character changed fails"
run_fails podman login --tls-verify=false -u alice --password-stdin "$REG" <<<"$ALTERED"
refused_with "$RUN_OUT" 'unauthorized|401|invalid username/password|authentication required' "podman login with an altered token"

step "1. podman login with the PAT, push $private:1.0"
run podman login --tls-verify=false -u alice --password-stdin "$REG" <<<"$PAT"
refused_with "$RUN_OUT" 'Login Succeeded' "podman login"
run podman tag "$image_id" "$private:1.0"
run podman push --tls-verify=false --digestfile "$WORK/podman.digest" "$private:1.0"
pushed="$(cat "$WORK/podman.digest")"
[[ "$pushed" == sha256:* ]] || fail "podman push wrote no digest"
log "podman pushed $pushed"

step "1. podman logout; an anonymous pull of the private package fails"
run podman logout "$REG"
run podman rmi -f "$image_id"
run_fails podman image exists "$private:1.0"
run_fails podman pull --tls-verify=false "$private:1.0"
refused_with "$RUN_OUT" 'unauthorized|authentication required|401' "anonymous podman pull of a private package"
run_fails podman image exists "$private:1.0"

step "1. podman login again; the pull works"
run podman login --tls-verify=false -u alice --password-stdin "$REG" <<<"$PAT"
run podman pull --tls-verify=false "$private:1.0"
run podman image inspect "$private:1.0"
assert_eq "$(jq -r '.[0].Digest' "$RUN_OUT")" "$pushed" "digest of the image pulled after login"
assert_eq "$(jq -r '.[0].Id' "$RUN_OUT")" "$image_id" "image id after the round trip"
run podman logout "$REG"

# (Failed logins are few: five within a minute from one address block it.)
step "1. a revoked token stops working at once"
run skopeo inspect --tls-verify=false --creds "alice:$PAT_REVOKE" "docker://$private:1.0"
e2e_admin token list --user alice >"$WORK/tokens.tsv"
revoke_id="$(awk -F'\t' '$8 == "e2e-revoke" {print $1}' "$WORK/tokens.tsv")"
[[ "$revoke_id" =~ ^[0-9]+$ ]] || fail "token list shows no token named e2e-revoke: $(cat "$WORK/tokens.tsv")"
e2e_admin token revoke "$revoke_id"
run_fails skopeo inspect --tls-verify=false --creds "alice:$PAT_REVOKE" "docker://$private:1.0"
refused_with "$RUN_OUT" 'unauthorized|401|authentication required' "skopeo inspect with a revoked token"

# ---------------------------------------------------------------------------------------------------
step "2. skopeo --dest-creds pushes $private:skopeo and $pub:1.0"
run skopeo copy --preserve-digests --dest-tls-verify=false --dest-creds "alice:$PAT" --digestfile "$WORK/skopeo.digest" \
  "oci:$src:1.0" "docker://$private:skopeo"
assert_eq "$(cat "$WORK/skopeo.digest")" "$digest" "digest skopeo pushed"
run skopeo copy --preserve-digests --dest-tls-verify=false --dest-creds "alice:$PAT" "oci:$src:1.0" "docker://$pub:1.0"

step "2. skopeo --creds inspects the private package"
run skopeo inspect --tls-verify=false --creds "alice:$PAT" "docker://$private:skopeo"
assert_eq "$(jq -r .Digest "$RUN_OUT")" "$digest" "digest seen by skopeo inspect --creds"
run skopeo inspect --tls-verify=false --creds "alice:$PAT" "docker://$private:1.0"
assert_eq "$(jq -r .Digest "$RUN_OUT")" "$pushed" "digest of podman's push seen by skopeo"

step "2. anonymous skopeo inspect / copy of the private package fails"
run_fails skopeo inspect --tls-verify=false --no-creds "docker://$private:skopeo"
refused_with "$RUN_OUT" 'unauthorized|authentication required|401' "anonymous skopeo inspect of a private package"
run_fails skopeo copy --src-tls-verify=false --src-no-creds "docker://$private:skopeo" "oci:$WORK/anon-private:1.0"
refused_with "$RUN_OUT" 'unauthorized|authentication required|401' "anonymous skopeo copy of a private package"
# The answer is the same as for a package that does not exist (private packages do not leak).
run_fails skopeo inspect --tls-verify=false --no-creds "docker://$REG/acme/does-not-exist:1.0"
refused_with "$RUN_OUT" 'unauthorized|authentication required|401' "anonymous skopeo inspect of a missing package"

step "2. anonymous skopeo inspect / copy of the public package works"
run skopeo inspect --tls-verify=false --no-creds "docker://$pub:1.0"
assert_eq "$(jq -r .Digest "$RUN_OUT")" "$digest" "digest of $pub:1.0 seen anonymously"
run skopeo copy --src-tls-verify=false --src-no-creds "docker://$pub:1.0" "oci:$WORK/anon-pub:1.0"
for d in $(oci_manifest_config "$src" "$digest") $(oci_manifest_layers "$src" "$digest"); do
  assert_blob_ok "$WORK/anon-pub" "$d"
done
step "2. anonymous push to the public package is refused"
run_fails skopeo copy --dest-tls-verify=false --dest-no-creds "oci:$src:1.0" "docker://$pub:anon"
refused_with "$RUN_OUT" 'unauthorized|authentication required|denied|401|403' "anonymous push to a public package"

# ---------------------------------------------------------------------------------------------------
step "3. start a private containerd"
e2e_containerd_start
sock="$CD_SOCK"
cd_pid="$CD_PID"
run ctr --address "$sock" version
# One namespace per identity, so that no pull finds content another one fetched.
CTR_ANON=(ctr --address "$sock" --namespace anon)
CTR_PAT=(ctr --address "$sock" --namespace pat)
CTR_SECRET=(ctr --address "$sock" --namespace secret)

# check_image NAMESPACE REF DIGEST: `ctr images ls` lists REF with DIGEST, and its content is complete.
check_image() {
  run ctr --address "$sock" --namespace "$1" images ls
  local line
  line="$(awk -v r="$2" '$1 == r' "$RUN_OUT")"
  [[ -n "$line" ]] || fail "ctr images ls ($1) does not list $2: $(cat "$RUN_OUT")"
  [[ "$line" == *" $3 "* ]] || fail "ctr images ls ($1) shows $2 without digest $3: $line"
  run ctr --address "$sock" --namespace "$1" images check "name==$2"
  grep -q complete "$RUN_OUT" || fail "ctr images check ($1): $2 is not complete: $(cat "$RUN_OUT")"
}

step "3. ctr pull of the private package without --user fails"
run_fails "${CTR_ANON[@]}" images pull --plain-http "$private:1.0"
refused_with "$RUN_OUT" 'unauthorized|401|authorization|not found' "anonymous ctr pull of a private package"
run "${CTR_ANON[@]}" images ls -q
[[ ! -s "$RUN_OUT" ]] || fail "the refused anonymous pull left images: $(cat "$RUN_OUT")"

step "3. ctr images pull --plain-http --user alice:PAT $private:1.0"
run "${CTR_PAT[@]}" images pull --plain-http --user "alice:$PAT" "$private:1.0"
check_image pat "$private:1.0" "$pushed"

step "3. anonymous ctr pull of the public package works"
run "${CTR_ANON[@]}" images pull --plain-http "$pub:1.0"
check_image anon "$pub:1.0" "$digest"

# ---------------------------------------------------------------------------------------------------
step "4. berth admin pull-secret prints a valid Secret"
e2e_admin pull-secret --user alice --registry "$REG" --name regcred >"$WORK/secret.yaml"
# Exactly one YAML document, a kubernetes.io/dockerconfigjson Secret; prints the .dockerconfigjson data.
python3 - "$WORK/secret.yaml" >"$WORK/dockerconfig.b64" <<'EOF' || fail "the pull secret is not a valid Secret: $(cat "$WORK/secret.yaml")"
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d is not None]
assert len(docs) == 1, f"{len(docs)} YAML documents"
s = docs[0]
assert s.get("apiVersion") == "v1", s.get("apiVersion")
assert s.get("kind") == "Secret", s.get("kind")
assert s.get("type") == "kubernetes.io/dockerconfigjson", s.get("type")
assert s.get("metadata", {}).get("name") == "regcred", s.get("metadata")
data = s.get("data", {})
assert list(data) == [".dockerconfigjson"], list(data)
print(data[".dockerconfigjson"])
EOF
base64 -d "$WORK/dockerconfig.b64" >"$WORK/dockerconfig.json" || fail ".dockerconfigjson is not base64"
jq -e . "$WORK/dockerconfig.json" >/dev/null || fail ".dockerconfigjson is not JSON: $(cat "$WORK/dockerconfig.json")"
auth="$(jq -r --arg r "$REG" '.auths[$r].auth // empty' "$WORK/dockerconfig.json")"
[[ -n "$auth" ]] || fail ".dockerconfigjson has no auths[\"$REG\"].auth: $(jq -c '.auths | keys' "$WORK/dockerconfig.json")"
creds="$(printf '%s' "$auth" | base64 -d)" || fail "auths[\"$REG\"].auth is not base64"
[[ "$creds" =~ ^alice:berth_pat_[A-Za-z0-9_-]+$ ]] || fail "auths[\"$REG\"].auth does not decode to alice:<token>"
SECRET_TOKEN="${creds#alice:}"
remember_secret "$SECRET_TOKEN"
remember_secret "$auth"
remember_secret "$(cat "$WORK/dockerconfig.b64")"
assert_eq "$(jq -r --arg r "$REG" '.auths[$r].username' "$WORK/dockerconfig.json")" alice "username in the pull secret"
[[ "$(jq -r --arg r "$REG" '.auths[$r].password' "$WORK/dockerconfig.json")" == "$SECRET_TOKEN" ]] ||
  fail "password and auth of the pull secret differ"
e2e_admin token list --user alice >"$WORK/tokens.tsv"
grep -P '\tpat\t.*\tread:packages\t\d{4}-' "$WORK/tokens.tsv" | grep -q 'pull-secret regcred' ||
  fail "the pull secret's token is not a read-only, expiring PAT: $(cat "$WORK/tokens.tsv")"

step "4. ctr pulls the private image with the pull secret's credentials"
run "${CTR_SECRET[@]}" images pull --plain-http --user "$creds" "$private:1.0"
check_image secret "$private:1.0" "$pushed"

step "4. the pull secret's read-only token cannot push"
run_fails skopeo copy --dest-tls-verify=false --dest-creds "$creds" "oci:$src:1.0" "docker://$private:from-pull-secret"
refused_with "$RUN_OUT" 'denied|403|unauthorized|401' "push with the pull secret's read-only token"
run_fails skopeo inspect --tls-verify=false --creds "alice:$PAT" "docker://$private:from-pull-secret"
refused_with "$RUN_OUT" 'manifest unknown|not found|404' "the refused push left tag from-pull-secret"

# ---------------------------------------------------------------------------------------------------
step "5. the CI token pushes to acme/ci-app"
run skopeo copy --preserve-digests --dest-tls-verify=false --dest-creds "alice:$CI" "oci:$src:1.0" "docker://$REG/acme/ci-app:1.0"
run skopeo inspect --tls-verify=false --creds "alice:$CI" "docker://$REG/acme/ci-app:1.0"
assert_eq "$(jq -r .Digest "$RUN_OUT")" "$digest" "digest of acme/ci-app:1.0"

step "5. the CI token cannot push to acme/other, nor read the private acme/private-app"
run_fails skopeo copy --dest-tls-verify=false --dest-creds "alice:$CI" "oci:$src:1.0" "docker://$REG/acme/other:1.0"
refused_with "$RUN_OUT" 'denied|403|unauthorized|401' "CI token push outside its packages"
run_fails skopeo inspect --tls-verify=false --creds "alice:$PAT" "docker://$REG/acme/other:1.0"
refused_with "$RUN_OUT" 'manifest unknown|name unknown|not found|404' "the refused push left acme/other:1.0"
run_fails skopeo inspect --tls-verify=false --creds "alice:$CI" "docker://$private:1.0"
# (A package the token may not read answers as a missing one: manifest unknown.)
refused_with "$RUN_OUT" 'manifest unknown|name unknown|denied|403|unauthorized|401|404' "CI token read of $private:1.0"

step "5. CI tokens never delete an org-owned package (even with delete:packages)"
run_fails skopeo delete --tls-verify=false --creds "alice:$CI" "docker://$REG/acme/ci-app:1.0"
refused_with "$RUN_OUT" 'denied|403|unauthorized|401' "CI token delete"
run_fails skopeo delete --tls-verify=false --creds "alice:$CI_DEL" "docker://$REG/acme/ci-app:1.0"
refused_with "$RUN_OUT" 'denied|403|unauthorized|401' "CI token (delete:packages) delete"
run skopeo inspect --tls-verify=false --creds "alice:$PAT" "docker://$REG/acme/ci-app:1.0"
assert_eq "$(jq -r .Digest "$RUN_OUT")" "$digest" "acme/ci-app:1.0 after the refused deletes"
# The control: alice's PAT with delete:packages (she is acme's admin) may delete it.
run skopeo delete --tls-verify=false --creds "alice:$PAT_DEL" "docker://$REG/acme/ci-app:1.0"
run_fails skopeo inspect --tls-verify=false --creds "alice:$PAT" "docker://$REG/acme/ci-app:1.0"
refused_with "$RUN_OUT" 'manifest unknown|not found|404' "acme/ci-app:1.0 after alice deleted it"

# ---------------------------------------------------------------------------------------------------
step "6. secrets never appear in the registry log"
# Also a JWT from /token, used as a Bearer token, so the log has seen one.
e2e_curl -o "$WORK/token.json" -u "alice:$PAT" \
  "http://$REG/token?service=berth&scope=repository:acme/private-app:pull" || fail "GET /token failed"
JWT="$(jq -r '.token // .access_token // empty' "$WORK/token.json")"
[[ "$JWT" == ey*.*.* ]] || fail "GET /token returned no JWT: $(head -c 300 "$WORK/token.json")"
remember_secret "$JWT"
code="$(e2e_curl -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $JWT" \
  -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$REG/v2/acme/private-app/manifests/1.0")"
assert_eq "$code" 200 "GET manifest with the issued JWT"
code="$(e2e_curl -o /dev/null -w '%{http_code}' "http://$REG/v2/acme/private-app/tags/list?access_token=$PAT")"
log "GET with the PAT in the query string: $code"
kill -0 "$REG_PID" 2>/dev/null || fail "the registry died"
assert_file "$REG_LOG" "registry log"
[[ -s "$REG_LOG" ]] || fail "the registry log is empty: nothing to check"
grep -q 'access .*user=alice' "$REG_LOG" || fail "the access log shows no request by alice (is it on?)"
leaks=0
for s in "${SECRETS[@]}"; do
  if grep -qF -- "$s" "$REG_LOG"; then
    leaks=$((leaks + 1))
    log "LEAK: a secret (${s:0:12}…) is in the registry log: $(grep -nF -- "$s" "$REG_LOG" | head -n 3 | cut -c1-300)"
  fi
done
# Whatever the test did not see itself: token-shaped strings, Authorization headers, JWTs.
if grep -nE 'berth_(pat|ci)_[A-Za-z0-9]|Authorization: *(Basic|Bearer) |eyJ[A-Za-z0-9_-]{10,}\.eyJ' "$REG_LOG" >"$WORK/leaks.txt"; then
  leaks=$((leaks + 1))
  log "LEAK: secret-shaped strings in the registry log: $(head -n 3 "$WORK/leaks.txt" | cut -c1-300)"
fi
((leaks == 0)) || fail "$leaks kind(s) of secret found in the registry log $REG_LOG"
# Nor in the audit log, nor in plain text in the database (tokens are stored as hashes).
e2e_admin audit --limit 100000 >"$WORK/audit.tsv"
for s in "${SECRETS[@]}"; do
  ! grep -qF -- "$s" "$WORK/audit.tsv" || fail "a secret (${s:0:12}…) is in the audit log"
  for f in "$REG_DATA"/berth.db*; do
    [[ -f "$f" ]] || continue
    ! grep -qaF -- "$s" "$f" || fail "a secret (${s:0:12}…) is stored in plain text in $f"
  done
done
log "checked ${#SECRETS[@]} secrets against $(wc -l <"$REG_LOG") log lines"

# ---------------------------------------------------------------------------------------------------
step "7. the audit log lists alice's pushes and denied requests"
# id, time, actor, action, target, outcome, remote, detail (tab-separated).
pushes="$(awk -F'\t' '$3 == "alice" && $4 == "push" && $6 == "allowed" {print $5}' "$WORK/audit.tsv")"
for t in acme/private-app:1.0 acme/private-app:skopeo acme/pub:1.0; do
  grep -qxF "$t" <<<"$pushes" || fail "the audit log has no push of $t by alice: $(cut -f3-6 "$WORK/audit.tsv" | tail -n 30)"
done
awk -F'\t' '$4 == "push" && $5 == "acme/ci-app:1.0" && $6 == "allowed" && $3 ~ /alice/' "$WORK/audit.tsv" | grep -q . ||
  fail "the audit log has no push of acme/ci-app:1.0 by the CI token: $(cut -f3-6 "$WORK/audit.tsv" | tail -n 30)"
denied="$(awk -F'\t' '$6 != "allowed"' "$WORK/audit.tsv")"
[[ -n "$denied" ]] || fail "the audit log has no denied entry: $(cut -f3-6 "$WORK/audit.tsv" | tail -n 30)"
log "audit: $(wc -l <"$WORK/audit.tsv") events, $(wc -l <<<"$denied") not allowed; e.g. $(head -n 3 <<<"$denied" | cut -f3-6 | tr '\t\n' ' |')"
grep -qiE 'denied' <<<"$denied" || fail "no audit entry has the outcome denied: $(head -n 5 <<<"$denied")"
# The refused logins were checked against the stored tokens, not turned away for their shape.
logins="$(awk -F'\t' '$4 == "login" && $6 == "denied"' "$WORK/audit.tsv")"
(($(grep -c . <<<"$logins") >= 3)) || fail "the audit log lacks the refused logins (wrong, altered, revoked token): $logins"
! grep -q 'not an access token' <<<"$logins" || fail "a well-formed token was refused as malformed: $logins"

step "stop containerd"
e2e_containerd_stop

e2e_finish
