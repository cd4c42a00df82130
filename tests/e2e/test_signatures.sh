#!/usr/bin/env bash
# Signatures and attestations end to end, against Berth with authentication on:
#   1. a sigstore signature made with a cosign-format encrypted private key, stored IN Berth by skopeo
#      as the sigstore attachment tag `sha256-<hex>.sig` (registries.d: use-sigstore-attachments);
#   2. pulls under a policy.json with `sigstoreSigned` + `matchRepository`: the signed image is
#      accepted; an unsigned image, the signed image re-tagged into another repository (without its
#      signature, and with it) and the signed image under another key are refused;
#   3. the attachment through the plain API: tags/list lists `sha256-<hex>.sig`, and that manifest is
#      the simple-signing layer whose signature verifies (openssl) against the public key;
#   4. an SPDX SBOM and an in-toto provenance statement pushed with curl as OCI 1.1 referrers
#      (`subject`, `artifactType`, the empty config): `OCI-Subject` on the PUT, the referrers API with
#      and without the `artifactType` filter (`OCI-Filters-Applied`);
#   5. the packages API lists one version, the image: its signature, SBOM and attestation are parts of
#      it, not versions of their own.
#
# Debian 12's skopeo (1.9.3+ds1) is built with "Debian-local change: sigstore disabled": it neither
# signs (`--sign-by-sigstore-private-key`) nor verifies (`sigstoreSigned`) sigstore signatures, though
# it still reads and writes sigstore attachments and reports missing signatures. The test asks skopeo
# first; where it says exactly that, it signs offline with the same encrypted key (decrypted here, signed
# with openssl) and has skopeo push that signature from a `dir:` image, and it checks a signature skopeo
# found in Berth (and copied out to a `dir:` image) the way containers/image's sigstoreSigned does.
#
# The key file: `-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----` around base64 of the JSON
#   {"kdf":{"name":"scrypt","params":{"N":32768,"r":8,"p":1},"salt":B64},
#    "cipher":{"name":"nacl/secretbox","nonce":B64},"ciphertext":B64}
# (standard base64, Go's encoding of []byte; salt 32 bytes, nonce 24 bytes; secretbox key =
# scrypt(passphrase, salt, N, r, p, 32); ciphertext = secretbox.Seal(PKCS#8 DER of the key), that is
# the Poly1305 tag then the XSalsa20 ciphertext): go-tuf / go-securesystemslib `encrypted`, read by
# containers/image's signature/sigstore. containers/image before v5.25 (skopeo 1.9 has v5.23) accepts
# only the PEM type "ENCRYPTED COSIGN PRIVATE KEY"; "ENCRYPTED SIGSTORE PRIVATE KEY" only from v5.25.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init skopeo openssl sha256sum base64
e2e_containers_env

[[ -z "${BERTH_TEST_REGISTRY:-}" ]] || skip "needs its own Berth (authentication on, identities made with berth admin)"
[[ "${BERTH_TEST_SERVER:-berth}" == berth ]] || skip "tests Berth's referrers and packages API"
export BERTH_AUTH_ENABLED=true

# Debian's Python (PyNaCl comes from python3-nacl), whatever python3 is first on PATH.
PY=/usr/bin/python3
[[ -x "$PY" ]] || fail "$PY is not installed"
"$PY" -c 'import nacl.secret' 2>/dev/null || fail "$PY has no PyNaCl (Debian package python3-nacl; scripts/install-deps.sh)"

OCI_MANIFEST=application/vnd.oci.image.manifest.v1+json
OCI_INDEX=application/vnd.oci.image.index.v1+json
SIG_MIME=application/vnd.dev.cosign.simplesigning.v1+json
SIG_ANN=dev.cosignproject.cosign/signature
EMPTY_DIGEST=sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a

# ---------------------------------------------------------------------------------------------------
# sigtool.py: the encrypted key format, the sigstore payload, containers/image's dir: signature file,
# and a check of a dir: image's sigstore signatures as containers/image's sigstoreSigned policy with
# signedIdentity matchRepository does it.
SIGTOOL="$WORK/sigtool.py"
cat >"$SIGTOOL" <<'PYEOF'
import base64, glob, hashlib, json, os, re, subprocess, sys, tempfile, textwrap, time

PEM_TYPE = "ENCRYPTED COSIGN PRIVATE KEY"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 32768, 8, 1   # the only values go-tuf's encrypted.Decrypt accepts
SIG_MIME = "application/vnd.dev.cosign.simplesigning.v1+json"
SIG_ANN = "dev.cosignproject.cosign/signature"
SIG_TYPE = "cosign container image signature"
DIR_PREFIX = b"\x00sigstore-json\n"          # containers/image internal/signature.Blob for sigstore

def b64(b):
    return base64.b64encode(b).decode()

def box_key(passphrase, salt, n, r, p):
    return hashlib.scrypt(passphrase, salt=salt, n=n, r=r, p=p, dklen=32, maxmem=64 << 20)

def encrypt_key(der_file, pass_file):
    import nacl.secret
    der, passphrase = open(der_file, "rb").read(), open(pass_file, "rb").read()
    salt, nonce = os.urandom(32), os.urandom(24)
    key = box_key(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    ciphertext = nacl.secret.SecretBox(key).encrypt(der, nonce).ciphertext  # tag || ciphertext, as Go's Seal
    doc = {"kdf": {"name": "scrypt", "params": {"N": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P}, "salt": b64(salt)},
           "cipher": {"name": "nacl/secretbox", "nonce": b64(nonce)},
           "ciphertext": b64(ciphertext)}
    body = b64(json.dumps(doc).encode())
    sys.stdout.write(f"-----BEGIN {PEM_TYPE}-----\n" + "\n".join(textwrap.wrap(body, 64)) +
                     f"\n-----END {PEM_TYPE}-----\n")

def decrypt_key(key_file, pass_file):
    import nacl.secret
    lines = open(key_file).read().strip().splitlines()
    if lines[0] != f"-----BEGIN {PEM_TYPE}-----" or lines[-1] != f"-----END {PEM_TYPE}-----":
        sys.exit(f"not a {PEM_TYPE} PEM block")
    doc = json.loads(base64.b64decode("".join(lines[1:-1])))
    kdf, cipher = doc["kdf"], doc["cipher"]
    if kdf["name"] != "scrypt" or cipher["name"] != "nacl/secretbox":
        sys.exit("unknown kdf or cipher")
    prm = kdf["params"]
    if (prm["N"], prm["r"], prm["p"]) != (SCRYPT_N, SCRYPT_R, SCRYPT_P):
        sys.exit("unexpected kdf parameters")
    salt, nonce = base64.b64decode(kdf["salt"]), base64.b64decode(cipher["nonce"])
    if len(salt) != 32 or len(nonce) != 24:
        sys.exit("salt or nonce of the wrong size")
    key = box_key(open(pass_file, "rb").read(), salt, prm["N"], prm["r"], prm["p"])
    sys.stdout.buffer.write(nacl.secret.SecretBox(key).decrypt(base64.b64decode(doc["ciphertext"]), nonce))

def payload(docker_reference, manifest_digest):
    # containers/image signature/internal.UntrustedSigstorePayload.MarshalJSON
    sys.stdout.write(json.dumps({
        "critical": {"identity": {"docker-reference": docker_reference},
                     "image": {"docker-manifest-digest": manifest_digest},
                     "type": SIG_TYPE},
        "optional": {"creator": "berth e2e test_signatures", "timestamp": int(time.time())}},
        separators=(",", ":")))

def dir_signature(payload_file, sig_file):
    rep = {"mimeType": SIG_MIME, "payload": b64(open(payload_file, "rb").read()),
           "annotations": {SIG_ANN: b64(open(sig_file, "rb").read())}}
    sys.stdout.buffer.write(DIR_PREFIX + json.dumps(rep).encode())

def openssl_verify(pub, data, sig):
    with tempfile.TemporaryDirectory() as d:
        open(f"{d}/data", "wb").write(data)
        open(f"{d}/sig", "wb").write(sig)
        r = subprocess.run(["openssl", "dgst", "-sha256", "-verify", pub, "-signature", f"{d}/sig", f"{d}/data"],
                           capture_output=True)
        return r.returncode == 0

def repository_of(ref):
    name = ref.split("@", 1)[0]
    head, _, last = name.rpartition("/")
    return (head + "/" if head else "") + last.split(":", 1)[0]

def verify_dir(image_dir, pub, repository):
    manifest = open(f"{image_dir}/manifest.json", "rb").read()
    digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
    files = sorted(glob.glob(f"{image_dir}/signature-*"), key=lambda f: int(f.rsplit("-", 1)[1]))
    reasons, seen = [], 0
    for f in files:
        blob = open(f, "rb").read()
        if not blob.startswith(DIR_PREFIX):
            continue  # not a sigstore signature: sigstoreSigned ignores it
        seen += 1
        rep = json.loads(blob[len(DIR_PREFIX):])
        if rep.get("mimeType") != SIG_MIME:
            reasons.append(f"unexpected MIME type {rep.get('mimeType')!r}"); continue
        data = base64.b64decode(rep["payload"])
        sig = (rep.get("annotations") or {}).get(SIG_ANN)
        if not sig:
            reasons.append(f"missing {SIG_ANN} annotation"); continue
        if not openssl_verify(pub, data, base64.b64decode(sig)):
            reasons.append("cryptographic signature verification failed"); continue
        p = json.loads(data)
        if set(p) != {"critical", "optional"} or set(p["critical"]) != {"type", "image", "identity"}:
            reasons.append("invalid signature payload"); continue
        c = p["critical"]
        if c["type"] != SIG_TYPE:
            reasons.append(f"Unrecognized signature type {c['type']}"); continue
        if c["image"]["docker-manifest-digest"] != digest:
            reasons.append(f"Signature for digest {c['image']['docker-manifest-digest']} does not match {digest}"); continue
        ref = c["identity"]["docker-reference"]
        if repository_of(ref) != repository:
            reasons.append(f"Signature for identity {ref} is not accepted for {repository}"); continue
        print(f"accepted: signature {os.path.basename(f)} for {ref} ({digest})")
        return 0
    if seen == 0:
        print("refused: A signature was required, but no signature exists")
    else:
        print("refused: " + "; ".join(reasons))
    return 1

cmd, args = sys.argv[1], sys.argv[2:]
if cmd == "encrypt-key": encrypt_key(*args)
elif cmd == "decrypt-key": decrypt_key(*args)
elif cmd == "payload": payload(*args)
elif cmd == "dir-signature": dir_signature(*args)
elif cmd == "verify-dir": sys.exit(verify_dir(*args))
else: sys.exit(f"unknown command {cmd}")
PYEOF

# ---------------------------------------------------------------------------------------------------
# Helpers

# hdr FILE NAME: the value of header NAME in a curl -D dump (the last response's), CR stripped.
hdr() { awk -v n="$(tr '[:upper:]' '[:lower:]' <<<"$2"):" 'tolower($1) == n {sub(/^[^:]*:[ \t]*/, ""); v = $0} END {print v}' "$1" | tr -d '\r'; }
sha256_of() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }
size_of() { stat -c %s "$1"; }

# api METHOD PATH OUT [curl args...]: a /v2 or /api request as alice (Basic with her PAT); body to OUT,
# headers to OUT.h; sets CODE.
CODE=""
api() {
  local method="$1" path="$2" out="$3"; shift 3
  CODE="$(e2e_curl -u "alice:$PAT" -X "$method" -o "$out" -D "$out.h" -w '%{http_code}' "$@" "$REG_SCHEME://$REG$path")" ||
    fail "curl $method $path failed"
}

# tags_of REPO: the repository's tags, sorted, comma-separated.
tags_of() {
  api GET "/v2/$1/tags/list" "$WORK/tags.json"
  assert_eq "$CODE" 200 "GET /v2/$1/tags/list"
  jq -r '.tags // [] | sort | join(",")' "$WORK/tags.json"
}

# push_blob REPO FILE: a monolithic upload (POST, then PUT with the digest); asserts 201 and the digest.
push_blob() {
  local repo="$1" f="$2" d loc
  d="$(sha256_of "$f")"
  api POST "/v2/$repo/blobs/uploads/" "$WORK/upload.out"
  assert_eq "$CODE" 202 "POST /v2/$repo/blobs/uploads/"
  loc="$(hdr "$WORK/upload.out.h" Location)"
  [[ -n "$loc" ]] || fail "POST /v2/$repo/blobs/uploads/ answered no Location"
  loc="${loc#"$REG_SCHEME://$REG"}"
  api PUT "$loc$([[ "$loc" == *\?* ]] && echo '&' || echo '?')digest=$d" "$WORK/upload.out" \
    -H 'Content-Type: application/octet-stream' --data-binary "@$f"
  assert_eq "$CODE" 201 "PUT of blob $(basename "$f") ($d)"
  assert_eq "$(hdr "$WORK/upload.out.h" Docker-Content-Digest)" "$d" "Docker-Content-Digest of the uploaded blob $(basename "$f")"
}

# policy_pull REPO TAG POLICY PUBKEY OUT: pulls REG/REPO:TAG into the OCI layout OUT with skopeo under
# POLICY (sigstoreSigned with PUBKEY for REG/alice). Sets VERDICT (accepted|refused) and WHY.
# Where this skopeo cannot check sigstore signatures (Debian's), a signature it found is checked as
# sigstoreSigned does (verify-dir) on the image and signatures skopeo copies out of Berth.
VERDICT="" WHY=""
policy_pull() {
  local repo="$1" tag="$2" policy="$3" pub="$4" out="$5" rc=0 log
  E2E_RUN_N=$((E2E_RUN_N + 1))
  log="$WORK/logs/run-$E2E_RUN_N-policy-pull.log"
  timeout --kill-after=10 "$E2E_TIMEOUT" skopeo copy --policy "$policy" --registries.d "$REGD" --src-tls-verify=false \
    --remove-signatures "docker://$REG/$repo:$tag" "oci:$out:$tag" >"$log" 2>&1 || rc=$?
  ((rc != 124)) || fail "skopeo copy docker://$REG/$repo:$tag timed out"
  if ((rc == 0)); then
    VERDICT=accepted WHY="skopeo: $(tail -n 1 "$log")"
    return 0
  fi
  VERDICT=refused WHY="skopeo: $(grep -E 'level=(fatal|error)' "$log" | tail -n 1)"
  [[ "$WHY" != "skopeo: " ]] || WHY="skopeo: $(tail -n 3 "$log")"
  grep -q 'Debian-local change: sigstore disabled' "$log" || return 0
  # Debian's skopeo found at least one sigstore signature (else: "no signature exists") and may not check it.
  ((SKOPEO_SIGSTORE == 0)) || fail "skopeo signed with sigstore keys, but now says sigstore is disabled: $(tail -n 3 "$log")"
  rm -rf "$out.dir"
  run skopeo copy --policy "$POLICY_ANY" --registries.d "$REGD" --src-tls-verify=false \
    "docker://$REG/$repo:$tag" "dir:$out.dir"
  ls "$out.dir"/signature-* >/dev/null 2>&1 ||
    fail "skopeo saw a sigstore signature in $repo:$tag for the policy, but copied none to dir:"
  local v=0
  WHY="$("$PY" "$SIGTOOL" verify-dir "$out.dir" "$pub" "$REG/$repo")" || v=$?
  WHY="sigstoreSigned check (Debian's skopeo cannot): $WHY"
  if ((v == 0)); then
    VERDICT=accepted
    run skopeo copy --policy "$POLICY_ANY" --remove-signatures "dir:$out.dir" "oci:$out:$tag"
  else
    VERDICT=refused
  fi
}

# assert_refused "what" REGEX OUT TAG: the last policy_pull refused, saying REGEX; OUT has no TAG.
assert_refused() {
  [[ "$VERDICT" == refused ]] || fail "$1: the pull was accepted ($WHY)"
  grep -qiE "$2" <<<"$WHY" || fail "$1: refused, but not with /$2/: $WHY"
  [[ ! -f "$3/index.json" || -z "$(oci_tag_digest "$3" "$4")" ]] || fail "$1: the refused pull wrote $3:$4"
  log "refused as expected: $WHY"
}

# ---------------------------------------------------------------------------------------------------
step "build the test image"
src="$WORK/src"
digest="$(e2e_build_image "$src" 1.0)"
hex="${digest#sha256:}"
manifest_file="$(oci_blob "$src" "$digest")"
log "image manifest $digest"

step "identities: user alice and her PAT"
e2e_admin user create alice
PAT="$(e2e_admin token create --user alice --scopes read:packages,write:packages --name e2e-signatures)"
[[ "$PAT" =~ ^berth_pat_[A-Za-z0-9_-]+$ ]] || fail "token create printed '$PAT', not a PAT"

e2e_registry_start

step "authentication is on; skopeo logs in with the PAT"
code="$(e2e_curl -o /dev/null -w '%{http_code}' "$REG_SCHEME://$REG/v2/")"
assert_eq "$code" 401 "anonymous GET /v2/"
api GET /v2/ "$WORK/v2.json"
assert_eq "$CODE" 200 "GET /v2/ with Basic alice:PAT"
run skopeo login --tls-verify=false -u alice --password-stdin "$REG" <<<"$PAT"
jq -e --arg r "$REG" '.auths[$r].auth' "$REGISTRY_AUTH_FILE" >/dev/null || fail "skopeo login stored no credentials for $REG"

step "keys: an ECDSA P-256 key pair, the private key in cosign's encrypted format; a second key pair"
keys="$WORK/keys"
mkdir -p "$keys"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$keys/key.pem" 2>"$WORK/logs/openssl.log" ||
  fail "openssl genpkey: $(cat "$WORK/logs/openssl.log")"
openssl pkcs8 -topk8 -nocrypt -in "$keys/key.pem" -outform DER -out "$keys/key.der" 2>>"$WORK/logs/openssl.log" ||
  fail "openssl pkcs8: $(cat "$WORK/logs/openssl.log")"
openssl pkey -in "$keys/key.pem" -pubout -out "$keys/pub.pem" 2>>"$WORK/logs/openssl.log" || fail "openssl pkey -pubout"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$keys/other.pem" 2>>"$WORK/logs/openssl.log" ||
  fail "openssl genpkey: second key"
openssl pkey -in "$keys/other.pem" -pubout -out "$keys/other-pub.pem" 2>>"$WORK/logs/openssl.log" || fail "openssl pkey -pubout: second key"
printf '%s' "e2e-passphrase-$RANDOM$RANDOM" >"$keys/passphrase"
printf '%s' "not-the-passphrase" >"$keys/wrong-passphrase"
"$PY" "$SIGTOOL" encrypt-key "$keys/key.der" "$keys/passphrase" >"$keys/cosign.key" || fail "encrypting the private key"
head -n 1 "$keys/cosign.key" | grep -qx -- '-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----' ||
  fail "cosign.key does not start with the ENCRYPTED COSIGN PRIVATE KEY PEM header: $(head -n 1 "$keys/cosign.key")"
sed '1d;$d' "$keys/cosign.key" | base64 -d | jq -e '.kdf.name == "scrypt" and .kdf.params == {"N":32768,"r":8,"p":1}
  and .cipher.name == "nacl/secretbox" and (.kdf.salt | length) == 44 and (.cipher.nonce | length) == 32' >/dev/null ||
  fail "cosign.key's JSON is not the scrypt + nacl/secretbox document: $(sed '1d;$d' "$keys/cosign.key" | base64 -d)"
"$PY" "$SIGTOOL" decrypt-key "$keys/cosign.key" "$keys/passphrase" >"$keys/decrypted.der" || fail "decrypting cosign.key"
cmp -s "$keys/decrypted.der" "$keys/key.der" || fail "cosign.key decrypts to other bytes than the PKCS#8 key"
! "$PY" "$SIGTOOL" decrypt-key "$keys/cosign.key" "$keys/wrong-passphrase" >/dev/null 2>&1 ||
  fail "cosign.key decrypted with the wrong passphrase"

step "registries.d (sigstore attachments for $REG) and the policies"
REGD="$WORK/registries.d"
mkdir -p "$REGD"
cat >"$REGD/berth.yaml" <<EOF
docker:
  $REG:
    use-sigstore-attachments: true
EOF
# policy_for PUBKEY: images under REG/alice must carry a sigstore signature by PUBKEY for their
# repository; everything else from a registry is rejected; local layouts are accepted.
policy_for() {
  jq -n --arg scope "$REG/alice" --arg key "$1" '{
    default: [{type: "reject"}],
    transports: {
      docker: {($scope): [{type: "sigstoreSigned", keyPath: $key, signedIdentity: {type: "matchRepository"}}]},
      oci: {"": [{type: "insecureAcceptAnything"}]},
      dir: {"": [{type: "insecureAcceptAnything"}]}}}'
}
POLICY="$WORK/policy.json"
POLICY_OTHER="$WORK/policy-other-key.json"
POLICY_ANY="$WORK/policy-any.json"
policy_for "$keys/pub.pem" >"$POLICY"
policy_for "$keys/other-pub.pem" >"$POLICY_OTHER"
echo '{"default": [{"type": "insecureAcceptAnything"}]}' >"$POLICY_ANY"

# ---------------------------------------------------------------------------------------------------
step "1. skopeo copy --sign-by-sigstore-private-key oci:src:1.0 -> $REG/alice/app:1.0"
SKOPEO_SIGSTORE=""
sign_log="$WORK/logs/skopeo-sign.log"
rc=0
timeout --kill-after=10 "$E2E_TIMEOUT" skopeo copy --policy "$POLICY_ANY" --registries.d "$REGD" --dest-tls-verify=false \
  --preserve-digests --sign-by-sigstore-private-key "$keys/cosign.key" --sign-passphrase-file "$keys/passphrase" \
  --digestfile "$WORK/signed.digest" "oci:$src:1.0" "docker://$REG/alice/app:1.0" >"$sign_log" 2>&1 || rc=$?
((rc != 124)) || fail "skopeo copy --sign-by-sigstore-private-key timed out"
if ((rc == 0)); then
  SKOPEO_SIGSTORE=1
  grep -q 'Storing signatures' "$sign_log" || fail "skopeo signed but stored no signature: $(cat "$sign_log")"
  assert_eq "$(cat "$WORK/signed.digest")" "$digest" "digest skopeo pushed and signed"
  log "skopeo signed with the encrypted key"
elif grep -q 'Debian-local change: sigstore disabled' "$sign_log"; then
  SKOPEO_SIGSTORE=0
  log "NOTE: this skopeo ($(skopeo --version)) is built without sigstore signing and verification" \
    "('Debian-local change: sigstore disabled'): signing offline with the same key; skopeo pushes the signature"
else
  fail "skopeo copy --sign-by-sigstore-private-key failed (exit $rc): $(tail -n 5 "$sign_log")"
fi

if ((SKOPEO_SIGSTORE == 0)); then
  step "1. sign offline with the encrypted key; skopeo pushes image and signature from a dir: image"
  sig="$WORK/sig"
  mkdir -p "$sig"
  "$PY" "$SIGTOOL" decrypt-key "$keys/cosign.key" "$keys/passphrase" >"$sig/key.der" || fail "decrypting cosign.key"
  openssl pkey -inform DER -in "$sig/key.der" -out "$sig/key.pem" 2>>"$WORK/logs/openssl.log" || fail "openssl pkey -inform DER"
  # The identity containers/image signs: the destination reference, with its tag.
  "$PY" "$SIGTOOL" payload "$REG/alice/app:1.0" "$digest" >"$sig/payload.json" || fail "making the payload"
  openssl dgst -sha256 -sign "$sig/key.pem" -out "$sig/payload.sig" "$sig/payload.json" 2>>"$WORK/logs/openssl.log" ||
    fail "openssl dgst -sign: $(tail -n 3 "$WORK/logs/openssl.log")"
  run skopeo copy --policy "$POLICY_ANY" --preserve-digests "oci:$src:1.0" "dir:$WORK/signed-dir"
  assert_eq "$(sha256_of "$WORK/signed-dir/manifest.json")" "$digest" "digest of the dir: image"
  "$PY" "$SIGTOOL" dir-signature "$sig/payload.json" "$sig/payload.sig" >"$WORK/signed-dir/signature-1"
  run skopeo copy --policy "$POLICY_ANY" --registries.d "$REGD" --dest-tls-verify=false --preserve-digests \
    --digestfile "$WORK/signed.digest" "dir:$WORK/signed-dir" "docker://$REG/alice/app:1.0"
  grep -q 'Storing signatures' "$RUN_OUT" || fail "skopeo stored no signature: $(cat "$RUN_OUT")"
  assert_eq "$(cat "$WORK/signed.digest")" "$digest" "digest skopeo pushed with the signature"
fi

# ---------------------------------------------------------------------------------------------------
step "3. tags/list of alice/app lists the attachment tag sha256-<hex>.sig"
sig_tag="sha256-$hex.sig"
assert_eq "$(tags_of alice/app)" "1.0,$sig_tag" "tags of alice/app"

step "3. GET /v2/alice/app/manifests/$sig_tag is the sigstore signature manifest"
api GET "/v2/alice/app/manifests/$sig_tag" "$WORK/sig-manifest.json" -H "Accept: $OCI_MANIFEST"
assert_eq "$CODE" 200 "GET manifest $sig_tag"
sig_manifest_digest="$(sha256_of "$WORK/sig-manifest.json")"
assert_eq "$(hdr "$WORK/sig-manifest.json.h" Docker-Content-Digest)" "$sig_manifest_digest" "Docker-Content-Digest of $sig_tag"
assert_eq "$(hdr "$WORK/sig-manifest.json.h" Content-Type)" "$OCI_MANIFEST" "Content-Type of $sig_tag"
jq -e --arg m "$SIG_MIME" --arg a "$SIG_ANN" '.schemaVersion == 2 and .mediaType == "application/vnd.oci.image.manifest.v1+json"
  and (.layers | length) == 1 and .layers[0].mediaType == $m
  and (.layers[0].annotations[$a] | type) == "string" and (.layers[0].annotations[$a] | length) > 0' \
  "$WORK/sig-manifest.json" >/dev/null || fail "$sig_tag is not a simple-signing signature manifest: $(cat "$WORK/sig-manifest.json")"
log "signature manifest $sig_manifest_digest"
layer_digest="$(jq -r '.layers[0].digest' "$WORK/sig-manifest.json")"
api GET "/v2/alice/app/blobs/$layer_digest" "$WORK/sig-payload.json" -L
assert_eq "$CODE" 200 "GET the signature layer $layer_digest"
assert_eq "$(sha256_of "$WORK/sig-payload.json")" "$layer_digest" "digest of the signature layer's bytes"
jq -e --arg d "$digest" --arg r "$REG/alice/app:1.0" '.critical.type == "cosign container image signature"
  and .critical.image["docker-manifest-digest"] == $d and .critical.identity["docker-reference"] == $r' \
  "$WORK/sig-payload.json" >/dev/null || fail "the signature payload does not name $REG/alice/app:1.0 @ $digest: $(cat "$WORK/sig-payload.json")"
config_digest="$(jq -r '.config.digest' "$WORK/sig-manifest.json")"
api GET "/v2/alice/app/blobs/$config_digest" "$WORK/sig-config.json" -L
assert_eq "$CODE" 200 "GET the signature manifest's config $config_digest"
assert_eq "$(sha256_of "$WORK/sig-config.json")" "$config_digest" "digest of the signature config's bytes"

step "3. the stored signature verifies against the public key (openssl), not against another key"
jq -r --arg a "$SIG_ANN" '.layers[0].annotations[$a]' "$WORK/sig-manifest.json" | base64 -d >"$WORK/stored.sig" ||
  fail "the $SIG_ANN annotation is not base64"
openssl dgst -sha256 -verify "$keys/pub.pem" -signature "$WORK/stored.sig" "$WORK/sig-payload.json" >"$WORK/logs/verify.log" 2>&1 ||
  fail "the signature stored in Berth does not verify with the public key: $(cat "$WORK/logs/verify.log")"
! openssl dgst -sha256 -verify "$keys/other-pub.pem" -signature "$WORK/stored.sig" "$WORK/sig-payload.json" >/dev/null 2>&1 ||
  fail "the stored signature verifies with an unrelated key"

# ---------------------------------------------------------------------------------------------------
step "2. the other repositories: alice/unsigned, alice/impostor (no signature), alice/impostor-sig (signature copied)"
run skopeo copy --policy "$POLICY_ANY" --registries.d "$REGD" --dest-tls-verify=false --preserve-digests \
  "oci:$src:1.0" "docker://$REG/alice/unsigned:1.0"
assert_eq "$(tags_of alice/unsigned)" "1.0" "tags of alice/unsigned"
run skopeo copy --policy "$POLICY_ANY" --registries.d "$REGD" --src-tls-verify=false --dest-tls-verify=false \
  --remove-signatures --digestfile "$WORK/impostor.digest" "docker://$REG/alice/app:1.0" "docker://$REG/alice/impostor:1.0"
assert_eq "$(cat "$WORK/impostor.digest")" "$digest" "digest of alice/impostor:1.0"
assert_eq "$(tags_of alice/impostor)" "1.0" "tags of alice/impostor (copied without signatures)"
run skopeo copy --policy "$POLICY_ANY" --registries.d "$REGD" --src-tls-verify=false --dest-tls-verify=false \
  --digestfile "$WORK/impostor-sig.digest" "docker://$REG/alice/app:1.0" "docker://$REG/alice/impostor-sig:1.0"
grep -q 'Storing signatures' "$RUN_OUT" || fail "skopeo copied no signature to alice/impostor-sig: $(cat "$RUN_OUT")"
assert_eq "$(cat "$WORK/impostor-sig.digest")" "$digest" "digest of alice/impostor-sig:1.0"
assert_eq "$(tags_of alice/impostor-sig)" "1.0,$sig_tag" "tags of alice/impostor-sig (copied with its signature)"

step "2. the signed image is accepted under the policy"
policy_pull alice/app 1.0 "$POLICY" "$keys/pub.pem" "$WORK/out"
[[ "$VERDICT" == accepted ]] || fail "the signed alice/app:1.0 was refused under the policy: $WHY"
log "accepted: $WHY"
assert_eq "$(oci_tag_digest "$WORK/out" 1.0)" "$digest" "digest of the verified pull"
assert_blob_ok "$WORK/out" "$digest"
for d in $(oci_manifest_config "$src" "$digest") $(oci_manifest_layers "$src" "$digest"); do
  assert_blob_ok "$WORK/out" "$d"
done

step "2. the same image from a policy for another key is refused"
policy_pull alice/app 1.0 "$POLICY_OTHER" "$keys/other-pub.pem" "$WORK/out-other"
assert_refused "alice/app:1.0 under another key" 'signature|verif' "$WORK/out-other" 1.0

step "2. an unsigned image (same bytes, other repository) is refused"
policy_pull alice/unsigned 1.0 "$POLICY" "$keys/pub.pem" "$WORK/out-unsigned"
assert_refused "unsigned alice/unsigned:1.0" 'signature' "$WORK/out-unsigned" 1.0

step "2. the signed image re-tagged into alice/impostor without its signature is refused"
policy_pull alice/impostor 1.0 "$POLICY" "$keys/pub.pem" "$WORK/out-impostor"
assert_refused "alice/impostor:1.0" 'signature' "$WORK/out-impostor" 1.0

step "2. alice/impostor-sig, with alice/app's valid signature copied along, is refused (identity)"
policy_pull alice/impostor-sig 1.0 "$POLICY" "$keys/pub.pem" "$WORK/out-impostor-sig"
assert_refused "alice/impostor-sig:1.0" 'identity|signed identity|not accepted' "$WORK/out-impostor-sig" 1.0

# ---------------------------------------------------------------------------------------------------
step "4. push an SPDX SBOM and an in-toto provenance statement as referrers of $digest"
art="$WORK/artifacts"
mkdir -p "$art"
subject_size="$(size_of "$manifest_file")"
created="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
printf '%s' '{}' >"$art/empty.json"
assert_eq "$(sha256_of "$art/empty.json")" "$EMPTY_DIGEST" "digest of the empty config {}"
jq -n --arg created "$created" --arg d "$digest" '{
  spdxVersion: "SPDX-2.3", dataLicense: "CC0-1.0", SPDXID: "SPDXRef-DOCUMENT",
  name: "alice/app:1.0", documentNamespace: ("https://berth.invalid/spdx/alice/app/" + $d),
  creationInfo: {created: $created, creators: ["Tool: berth-e2e-test_signatures"]},
  packages: [{name: "busybox", SPDXID: "SPDXRef-Package-busybox", versionInfo: "1.35.0",
              downloadLocation: "NOASSERTION", filesAnalyzed: false, licenseConcluded: "GPL-2.0-only"}],
  relationships: [{spdxElementId: "SPDXRef-DOCUMENT", relationshipType: "DESCRIBES",
                   relatedSpdxElement: "SPDXRef-Package-busybox"}]}' >"$art/sbom.spdx.json"
jq -n --arg repo "$REG/alice/app" --arg hex "$hex" --arg created "$created" '{
  _type: "https://in-toto.io/Statement/v1",
  subject: [{name: $repo, digest: {sha256: $hex}}],
  predicateType: "https://slsa.dev/provenance/v1",
  predicate: {buildDefinition: {buildType: "https://berth.invalid/e2e/build-test-image@v1",
                                externalParameters: {script: "scripts/build-test-image.sh"}},
              runDetails: {builder: {id: "https://berth.invalid/e2e"}, metadata: {startedOn: $created}}}}' \
  >"$art/provenance.intoto.json"

# artifact_manifest ARTIFACT_TYPE LAYER_FILE ANNOTATIONS_JSON: an OCI 1.1 artifact manifest for the image.
artifact_manifest() {
  jq -n --arg at "$1" --arg ld "$(sha256_of "$2")" --argjson ls "$(size_of "$2")" --arg title "$(basename "$2")" \
    --arg ed "$EMPTY_DIGEST" --arg sd "$digest" --argjson ss "$subject_size" --arg smt "$OCI_MANIFEST" \
    --argjson ann "$3" '{
    schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", artifactType: $at,
    config: {mediaType: "application/vnd.oci.empty.v1+json", digest: $ed, size: 2, data: "e30="},
    layers: [{mediaType: $at, digest: $ld, size: $ls, annotations: {"org.opencontainers.image.title": $title}}],
    subject: {mediaType: $smt, digest: $sd, size: $ss},
    annotations: $ann}' | jq -c .
}
SBOM_TYPE=application/spdx+json
PROV_TYPE=application/vnd.in-toto+json
sbom_ann="$(jq -nc --arg c "$created" '{"org.opencontainers.image.created": $c, "org.example.sbom.format": "SPDX-2.3"}')"
prov_ann="$(jq -nc --arg c "$created" '{"org.opencontainers.image.created": $c, "in-toto.io/predicate-type": "https://slsa.dev/provenance/v1"}')"
artifact_manifest "$SBOM_TYPE" "$art/sbom.spdx.json" "$sbom_ann" >"$art/sbom.manifest.json"
artifact_manifest "$PROV_TYPE" "$art/provenance.intoto.json" "$prov_ann" >"$art/provenance.manifest.json"
sbom_digest="$(sha256_of "$art/sbom.manifest.json")"
prov_digest="$(sha256_of "$art/provenance.manifest.json")"

for f in empty.json sbom.spdx.json provenance.intoto.json; do push_blob alice/app "$art/$f"; done
for m in sbom provenance; do
  md="$(sha256_of "$art/$m.manifest.json")"
  api PUT "/v2/alice/app/manifests/$md" "$WORK/put-$m.out" -H "Content-Type: $OCI_MANIFEST" --data-binary "@$art/$m.manifest.json"
  assert_eq "$CODE" 201 "PUT of the $m manifest"
  assert_eq "$(hdr "$WORK/put-$m.out.h" Docker-Content-Digest)" "$md" "Docker-Content-Digest of the $m manifest"
  assert_eq "$(hdr "$WORK/put-$m.out.h" OCI-Subject)" "$digest" "OCI-Subject of the $m manifest PUT"
done
log "SBOM $sbom_digest, provenance $prov_digest"
api GET "/v2/alice/app/manifests/$sbom_digest" "$WORK/sbom.get" -H "Accept: $OCI_MANIFEST"
assert_eq "$CODE" 200 "GET the SBOM manifest by digest"
cmp -s "$WORK/sbom.get" "$art/sbom.manifest.json" || fail "the SBOM manifest read back differs from the one pushed"
api GET "/v2/alice/app/blobs/$(sha256_of "$art/sbom.spdx.json")" "$WORK/sbom-layer.get" -L
assert_eq "$CODE" 200 "GET the SBOM document blob"
cmp -s "$WORK/sbom-layer.get" "$art/sbom.spdx.json" || fail "the SBOM document read back differs"
# The push of the artifacts left the tags alone (they were pushed by digest).
assert_eq "$(tags_of alice/app)" "1.0,$sig_tag" "tags of alice/app after the referrer pushes"

step "4. GET /v2/alice/app/referrers/$digest lists both, with artifactType and annotations"
api GET "/v2/alice/app/referrers/$digest" "$WORK/referrers.json"
assert_eq "$CODE" 200 "GET referrers"
assert_eq "$(hdr "$WORK/referrers.json.h" Content-Type)" "$OCI_INDEX" "Content-Type of the referrers response"
assert_eq "$(hdr "$WORK/referrers.json.h" OCI-Filters-Applied)" "" "OCI-Filters-Applied without a filter"
jq -e '.schemaVersion == 2 and .mediaType == "application/vnd.oci.image.index.v1+json"' "$WORK/referrers.json" >/dev/null ||
  fail "the referrers response is not an OCI index: $(cat "$WORK/referrers.json")"
assert_eq "$(jq -r '[.manifests[].digest] | sort | join(",")' "$WORK/referrers.json")" \
  "$(printf '%s\n' "$sbom_digest" "$prov_digest" | sort | paste -sd,)" "digests listed by the referrers API"
# check_referrer FILE DIGEST ARTIFACT_TYPE ANNOTATIONS MANIFEST_FILE
check_referrer() {
  jq -e --arg d "$2" --arg at "$3" --argjson ann "$4" --argjson size "$(size_of "$5")" \
    '[.manifests[] | select(.digest == $d)] | length == 1 and .[0].artifactType == $at and .[0].annotations == $ann
     and .[0].mediaType == "application/vnd.oci.image.manifest.v1+json" and .[0].size == $size' "$1" >/dev/null ||
    fail "referrer $2 is not listed with artifactType $3, its size and annotations $4: $(jq -c --arg d "$2" '.manifests[] | select(.digest == $d)' "$1")"
}
check_referrer "$WORK/referrers.json" "$sbom_digest" "$SBOM_TYPE" "$sbom_ann" "$art/sbom.manifest.json"
check_referrer "$WORK/referrers.json" "$prov_digest" "$PROV_TYPE" "$prov_ann" "$art/provenance.manifest.json"

step "4. ?artifactType= filters (OCI-Filters-Applied: artifactType)"
api GET "/v2/alice/app/referrers/$digest?artifactType=$(jq -rn --arg t "$SBOM_TYPE" '$t | @uri')" "$WORK/referrers-sbom.json"
assert_eq "$CODE" 200 "GET referrers ?artifactType=$SBOM_TYPE"
assert_eq "$(hdr "$WORK/referrers-sbom.json.h" OCI-Filters-Applied)" artifactType "OCI-Filters-Applied with ?artifactType=$SBOM_TYPE"
assert_eq "$(jq -r '[.manifests[].digest] | join(",")' "$WORK/referrers-sbom.json")" "$sbom_digest" "referrers with artifactType $SBOM_TYPE"
check_referrer "$WORK/referrers-sbom.json" "$sbom_digest" "$SBOM_TYPE" "$sbom_ann" "$art/sbom.manifest.json"
api GET "/v2/alice/app/referrers/$digest?artifactType=$(jq -rn --arg t "$PROV_TYPE" '$t | @uri')" "$WORK/referrers-prov.json"
assert_eq "$CODE" 200 "GET referrers ?artifactType=$PROV_TYPE"
assert_eq "$(hdr "$WORK/referrers-prov.json.h" OCI-Filters-Applied)" artifactType "OCI-Filters-Applied with ?artifactType=$PROV_TYPE"
assert_eq "$(jq -r '[.manifests[].digest] | join(",")' "$WORK/referrers-prov.json")" "$prov_digest" "referrers with artifactType $PROV_TYPE"
api GET "/v2/alice/app/referrers/$digest?artifactType=application/x-none" "$WORK/referrers-none.json"
assert_eq "$CODE" 200 "GET referrers ?artifactType=application/x-none"
assert_eq "$(jq -r '.manifests | length' "$WORK/referrers-none.json")" 0 "referrers with an artifactType nothing has"
# The same image in alice/impostor has no referrers: they belong to a repository, not to a digest.
api GET "/v2/alice/impostor/referrers/$digest" "$WORK/referrers-impostor.json"
assert_eq "$CODE" 200 "GET referrers of the image in alice/impostor"
assert_eq "$(jq -r '.manifests | length' "$WORK/referrers-impostor.json")" 0 "referrers of the same digest in alice/impostor"

# ---------------------------------------------------------------------------------------------------
step "5. the packages API: one version (the image), with the SBOM and attestation inside it"
api GET "/api/v3/users/alice/packages/container/app/versions?per_page=100" "$WORK/versions.json" \
  -H "Accept: application/vnd.github+json"
assert_eq "$CODE" 200 "GET /api/v3/users/alice/packages/container/app/versions"
log "versions: $(jq -c '[.[] | {name, tags: .metadata.container.tags}]' "$WORK/versions.json")"
jq -e --arg d "$digest" '[.[] | select(.name == $d)] | length == 1 and (.[0].metadata.container.tags | index("1.0"))' \
  "$WORK/versions.json" >/dev/null || fail "no version $digest tagged 1.0: $(jq -c . "$WORK/versions.json")"
for r in "$sbom_digest" "$prov_digest"; do
  jq -e --arg r "$r" '[.[] | select(.name == $r)] | length == 0' "$WORK/versions.json" >/dev/null ||
    fail "the referrer $r is listed as a version of its own: $(jq -c --arg r "$r" '.[] | select(.name == $r)' "$WORK/versions.json")"
done
jq -e --arg d "$digest" --arg s "$sbom_digest" --arg p "$prov_digest" --arg st "$SBOM_TYPE" --arg pt "$PROV_TYPE" '
  [.[] | select(.name == $d)][0].metadata.container.referrers as $r
  | ([$r[] | select(.digest == $s and .artifact_type == $st and .subject == $d)] | length) == 1
  and ([$r[] | select(.digest == $p and .artifact_type == $pt and .subject == $d)] | length) == 1' "$WORK/versions.json" >/dev/null ||
  fail "the image's version does not list the SBOM and provenance as referrers: $(jq -c --arg d "$digest" '.[] | select(.name == $d) | .metadata.container.referrers' "$WORK/versions.json")"

step "5. the sigstore signature (tag $sig_tag) is not a version of its own"
jq -e --arg s "$sig_manifest_digest" '[.[] | select(.name == $s)] | length == 0' "$WORK/versions.json" >/dev/null ||
  fail "the signature manifest $sig_manifest_digest (tag $sig_tag) is listed as a separate version: $(jq -c --arg s "$sig_manifest_digest" '.[] | select(.name == $s) | {id, name, tags: .metadata.container.tags, media_type: .metadata.container.media_type}' "$WORK/versions.json")"
assert_eq "$(jq -r '[.[].name] | join(",")' "$WORK/versions.json")" "$digest" "the versions of alice/app"
api GET "/api/v3/users/alice/packages/container/app" "$WORK/package.json" -H "Accept: application/vnd.github+json"
assert_eq "$CODE" 200 "GET /api/v3/users/alice/packages/container/app"
assert_eq "$(jq -r .version_count "$WORK/package.json")" 1 "version_count of alice/app"

e2e_finish
