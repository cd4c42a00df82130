#!/usr/bin/env python3
"""Crash, failure-point and disk-full checks of `berth serve` (issue 13, "Make it stay fixed").

Driven by tests/e2e/test_crash_kill.sh, test_failpoints.sh and test_disk_full.sh; Python 3 standard
library only (http.client). Every mode starts and restarts the server itself, pushes through the
distribution API with a ledger of what the server acknowledged, and fails (exit 1, "FAIL: ...") on the
first broken invariant:

  * the server starts again after every kill;
  * no blob is ever served whose bytes differ from its digest (every blob GET is hashed), and every file
    of the blob store (DATA/blobs/blobs/<alg>/<xx>/<hex>) hashes to its name;
  * every blob PUT and manifest PUT that got its 201 still pulls with the right bytes, every tag names
    the last acknowledged manifest pushed to it (or one pushed after it whose answer was lost);
  * an upload interrupted by a crash resumes: GET on its URL answers 204 with a Range at or past the last
    offset the server acknowledged (and not past what was sent), and the client completes it from there
    with the right digest; or the session is gone with a clear 404 BLOB_UPLOAD_UNKNOWN (accepted only
    when the completing PUT was in flight: sessions are rows in the database and must survive);
  * any other answer (5xx, a 404 without BLOB_UPLOAD_UNKNOWN, a connection dropped while the server
    lives, a request hanging past its timeout) fails the test.

Modes:
  kill        pushes from several threads, SIGKILL at random moments, restart, check; KILLS kills
  failpoints  for every failure point: start with BERTH_FAILPOINT=<point>[:N], push until the server
              dies with 137, restart without it, check, redo the interrupted push
  diskfull    the data directory on a small tmpfs (mounted by the caller): pushes that do not fit fail
              clearly, earlier ones stay intact, nothing partial shows, pushes work again once freed
"""
import argparse
import errno
import hashlib
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time

T0 = time.monotonic()


def log(msg):
    print(f"[crash_push +{time.monotonic() - T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


class Failure(Exception):
    pass


FAILED = threading.Event()
FAIL_MSG = []


def fail(msg):
    """Records the first failure (workers run in threads) and raises."""
    if not FAILED.is_set():
        FAIL_MSG.append(msg)
        FAILED.set()
        log("FAIL: " + msg)
    raise Failure(msg)


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------------------------------
# The server process


class Instance:
    """One run of `berth serve`: a generation, its process, and whether it is known to be dead."""

    def __init__(self, gen, proc):
        self.gen = gen
        self.proc = proc
        self.ready = threading.Event()  # answered /healthz: connections to it fail only if it dies
        self.dead = threading.Event()
        self.exit_status = None


class Server:
    def __init__(self, binary, data, log_path, port=None, extra_env=None):
        self.binary = binary
        self.data = data
        self.log_path = log_path
        self.port = port or free_port()
        self.extra_env = dict(extra_env or {})
        self.gen = 0
        self.inst = None
        self.up = threading.Event()
        self.lock = threading.Lock()
        self.starts = 0

    def spawn(self, env_overrides=None):
        env = dict(os.environ)
        env.pop("BERTH_FAILPOINT", None)
        env["BERTH_AUTH_ENABLED"] = "false"
        env.update(self.extra_env)
        env.update(env_overrides or {})
        with open(self.log_path, "ab") as f:
            f.write(f"===== start {self.gen + 1} {env_overrides or ''}\n".encode())
            f.flush()
            proc = subprocess.Popen([self.binary, "serve", "--listen", f"127.0.0.1:{self.port}", "--data", self.data],
                                    stdout=f, stderr=subprocess.STDOUT, env=env)
        with self.lock:
            self.gen += 1
            self.inst = Instance(self.gen, proc)
            self.starts += 1
        return self.inst

    def wait_ready(self, timeout=30.0):
        """Waits for 200 on /healthz; fails if the process exits first or it takes longer than timeout."""
        inst = self.inst
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            st = inst.proc.poll()
            if st is not None:
                inst.exit_status = st
                inst.dead.set()
                fail(f"the server (start {inst.gen}) exited with status {st} before answering /healthz; "
                     f"log tail:\n{tail(self.log_path)}")
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/healthz")
                r = c.getresponse()
                r.read()
                c.close()
                if r.status == 200:
                    inst.ready.set()
                    self.up.set()
                    return time.monotonic()
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.01)
        fail(f"the server (start {inst.gen}) did not answer /healthz within {timeout}s; log tail:\n{tail(self.log_path)}")

    def start(self, env_overrides=None, timeout=30.0):
        self.spawn(env_overrides)
        return self.wait_ready(timeout)

    def kill(self):
        inst = self.inst
        self.up.clear()
        try:
            inst.proc.send_signal(signal.SIGKILL)
        except ProcessLookupError:
            pass
        inst.exit_status = inst.proc.wait()
        inst.dead.set()
        return inst.exit_status

    def wait_exit(self, timeout):
        """Waits for the process to exit by itself (a failure point). Returns its status or None."""
        inst = self.inst
        try:
            st = inst.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        self.up.clear()
        inst.exit_status = st
        inst.dead.set()
        return st

    def stop(self, timeout=20):
        """SIGTERM; the server must exit 0 within timeout."""
        inst = self.inst
        if inst is None or inst.dead.is_set():
            return None
        self.up.clear()
        inst.proc.send_signal(signal.SIGTERM)
        try:
            st = inst.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            inst.proc.kill()
            inst.proc.wait()
            inst.dead.set()
            fail(f"the server did not stop within {timeout}s of SIGTERM")
        inst.exit_status = st
        inst.dead.set()
        return st

    def cleanup(self):
        inst = self.inst
        if inst is not None and inst.proc.poll() is None:
            inst.proc.kill()
            inst.proc.wait()
            inst.dead.set()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def tail(path, n=25):
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - 16384))
            lines = f.read().decode(errors="replace").splitlines()
        return "\n".join(line[:400] for line in lines[-n:])
    except OSError:
        return "(no log)"


# ---------------------------------------------------------------------------------------------------
# HTTP


class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        return self.headers.get(name.lower())

    def error_codes(self):
        try:
            return [e.get("code") for e in json.loads(self.body)["errors"]]
        except (ValueError, KeyError, TypeError, AttributeError):
            return []

    def describe(self):
        return f"HTTP {self.status} {self.body[:300]!r}"


class Down(Exception):
    """The connection failed (refused, reset, closed early, timed out)."""


def request(port, method, path, body=None, headers=None, timeout=60, stream_pieces=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        if stream_pieces is not None:
            # No Content-Length: http.client sends Transfer-Encoding: chunked.
            c.request(method, path, body=stream_pieces, headers=headers or {}, encode_chunked=True)
        else:
            c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        return Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    except (OSError, http.client.HTTPException) as e:
        raise Down(f"{method} {path}: {type(e).__name__}: {e}") from None
    finally:
        c.close()


def with_digest(location, digest):
    return location + ("&" if "?" in location else "?") + "digest=" + digest


def range_end(resp):
    """Offset from a Range: 0-<last> header (Berth writes 0-0 for an empty upload; chunks here are >= 2
    bytes, so an offset of 1 never happens)."""
    v = resp.header("Range")
    if v is None or not v.startswith("0-"):
        return None
    last = int(v[2:])
    return 0 if last == 0 else last + 1


# ---------------------------------------------------------------------------------------------------
# The ledger: what the server acknowledged, and what was only attempted


class Ledger:
    def __init__(self):
        self.lock = threading.Lock()
        self.blobs = {}         # (repo, digest) -> size: got a 201
        self.blob_keys = []     # the keys of blobs, for sampling
        self.attempted = {}     # (repo, digest) -> size: sent, answer maybe lost
        self.unacked = set()    # attempted, never acknowledged
        self.manifests = {}     # (repo, digest) -> body: got a 201
        self.tags = {}          # (repo, tag) -> [last acknowledged digest or None, later attempts...]
        self.new_blobs = []     # acknowledged since the last check
        self.new_manifests = []
        self.stats = dict(blob_acks=0, manifest_acks=0, resumed=0, resumed_ahead=0, lost_after_put=0, gone_after_put=0,
                          redo_after_crash=0, interrupted=0, bytes_pushed=0, methods={})

    def attempt_blob(self, repo, digest, size):
        with self.lock:
            self.attempted[(repo, digest)] = size
            if (repo, digest) not in self.blobs:
                self.unacked.add((repo, digest))

    def ack_blob(self, repo, digest, size, method):
        with self.lock:
            if (repo, digest) not in self.blobs:
                self.blob_keys.append((repo, digest))
            self.blobs[(repo, digest)] = size
            self.unacked.discard((repo, digest))
            self.new_blobs.append((repo, digest, size))
            self.stats["blob_acks"] += 1
            self.stats["bytes_pushed"] += size
            self.stats["methods"][method] = self.stats["methods"].get(method, 0) + 1

    def attempt_manifest(self, repo, tag, digest):
        with self.lock:
            if tag is not None:
                self.tags.setdefault((repo, tag), [None]).append(digest)

    def ack_manifest(self, repo, tag, digest, body):
        with self.lock:
            self.manifests[(repo, digest)] = body
            self.new_manifests.append((repo, digest, body))
            self.stats["manifest_acks"] += 1
            if tag is not None:
                self.tags[(repo, tag)] = [digest]

    def bump(self, key, n=1):
        with self.lock:
            self.stats[key] += n

    def take_new(self):
        with self.lock:
            b, m = self.new_blobs, self.new_manifests
            self.new_blobs, self.new_manifests = [], []
            return b, m


# ---------------------------------------------------------------------------------------------------
# A client that survives the server's crashes


class Interrupted(Exception):
    """The request failed because the server process it went to died."""


class Client:
    def __init__(self, server, ledger, name, rng, stop, timeout=60):
        self.server = server
        self.ledger = ledger
        self.name = name
        self.rng = rng
        self.stop = stop
        self.timeout = timeout
        self.in_flight = None  # what this client is doing, for reports
        self.events = []  # what happened to interrupted requests, for reports
        self.op_interrupted = False

    def note(self, msg):
        self.events.append(msg)
        self.op_interrupted = True

    def wait_up(self):
        while True:
            inst = self.server.inst
            if inst.ready.wait(0.2) and not inst.dead.is_set():
                return inst
            if FAILED.is_set():
                raise Failure("stopped: another thread failed")

    def call(self, method, path, **kw):
        """One request to the current server. A connection failure is accepted only when the process
        that got the request died (killed, or a failure point): then Interrupted. While it lives, any
        connection failure (reset, early close, a request hanging past its timeout) fails the test."""
        if FAILED.is_set():
            raise Failure("stopped: another thread failed")
        inst = self.wait_up()
        try:
            return request(self.server.port, method, path, timeout=self.timeout, **kw)
        except Down as e:
            if inst.dead.wait(15):
                self.note(f"{method} {path.split('?')[0][-40:]} interrupted")
                raise Interrupted(str(e)) from None
            fail(f"{self.name}: connection failed while the server (start {inst.gen}) kept running: {e}")

    def call_retry(self, method, path, **kw):
        """An idempotent request, repeated after a crash."""
        while True:
            try:
                return self.call(method, path, **kw)
            except Interrupted:
                continue

    # ---- blobs ----

    def start_session(self, repo):
        while True:
            try:
                r = self.call("POST", f"/v2/{repo}/blobs/uploads/")
            except Interrupted:
                continue  # a session may have been created: abandoned, as a client would
            if r.status != 202 or not r.header("Location"):
                fail(f"{self.name}: POST /v2/{repo}/blobs/uploads/: expected 202 with a Location, got {r.describe()}")
            if range_end(r) != 0:
                fail(f"{self.name}: a new upload session says Range {r.header('Range')}")
            return r.header("Location")

    def expect_created(self, r, what, digest):
        if r.status != 201:
            fail(f"{self.name}: {what}: expected 201, got {r.describe()}")
        if r.header("Docker-Content-Digest") != digest:
            fail(f"{self.name}: {what}: Docker-Content-Digest {r.header('Docker-Content-Digest')} != {digest}")

    def expect_appended(self, r, what, loc, end):
        """A PATCH that must have been acknowledged up to `end`: 202 with Range 0-(end-1). The next location."""
        if r.status != 202 or range_end(r) != end:
            fail(f"{self.name}: {what}: expected 202 with Range 0-{end - 1}, got {r.describe()} Range {r.header('Range')}")
        return r.header("Location") or loc

    def session_status(self, loc, acked, sent, put_in_flight):
        """After a crash: where the session is. Returns the offset, or None when the session is gone."""
        r = self.call_retry("GET", loc)
        if r.status == 204:
            off = range_end(r)
            if off is None:
                fail(f"{self.name}: GET {loc} after a crash: 204 without a valid Range ({r.header('Range')})")
            if off < acked:
                fail(f"{self.name}: DATA LOSS: GET {loc} after a crash says offset {off}, but the server had "
                     f"acknowledged {acked} bytes of this upload")
            if off > sent:
                fail(f"{self.name}: GET {loc} after a crash says offset {off}, more than the {sent} bytes sent")
            self.ledger.bump("resumed")
            if off > acked:
                self.ledger.bump("resumed_ahead")
            self.note(f"GET upload: 204 Range 0-{max(0, off - 1)} (offset {off}, last ack {acked}): continued from it")
            return off
        if r.status == 404 and "BLOB_UPLOAD_UNKNOWN" in r.error_codes():
            if not put_in_flight:
                fail(f"{self.name}: upload session {loc} was lost across a restart (404 BLOB_UPLOAD_UNKNOWN) although "
                     f"no completing PUT was sent: sessions are stored in the database and must survive")
            self.ledger.bump("lost_after_put")
            self.note("GET upload: 404 BLOB_UPLOAD_UNKNOWN (completed before the crash?): started over")
            return None
        fail(f"{self.name}: GET {loc} after a crash: expected 204 with a Range or 404 BLOB_UPLOAD_UNKNOWN, "
             f"got {r.describe()}")

    def push_blob(self, repo, data, digest=None, method=None):
        """Pushes until a 201. Returns the method used."""
        digest = digest or sha256(data)
        method = method or self.rng.choice(["mono-post", "mono-put", "chunked", "chunked", "stream"])
        if len(data) < 2 and method in ("chunked", "stream"):
            method = "mono-put"
        self.ledger.attempt_blob(repo, digest, len(data))
        self.in_flight = f"blob {digest[:19]} ({len(data)} B, {method}) to {repo}"
        while True:
            if method == "mono-post":
                try:
                    r = self.call("POST", f"/v2/{repo}/blobs/uploads/?digest={digest}", body=data,
                                  headers={"Content-Type": "application/octet-stream"})
                except Interrupted:
                    self.ledger.bump("interrupted")
                    self.ledger.bump("redo_after_crash")
                    continue
                self.expect_created(r, f"monolithic POST of {digest}", digest)
                break
            if self.session_push(repo, data, digest, method):
                break
        self.ledger.ack_blob(repo, digest, len(data), method)
        if self.op_interrupted:
            self.events.append(f"-> 201 for blob {digest[:19]} ({len(data)} B, {method})")
            self.op_interrupted = False
        self.in_flight = None
        return method

    def session_push(self, repo, data, digest, method):
        """POST, then PATCHes / a streamed PATCH / a PUT with the body, and the completing PUT; resumes
        across crashes. Returns True on 201, False to start over (the session is gone)."""
        loc = self.start_session(repo)
        size = len(data)
        acked = 0
        chunk = max(2, self.rng.choice([size // 3 + 1, 65536, 262144, 1 << 20]))
        put_ever = False  # a completing PUT was sent in this session (its outcome maybe lost in a crash)
        sent = 0  # the furthest offset any request of this session carried bytes to
        while True:
            try:
                if method == "mono-put" and acked == 0:
                    put_ever = True
                    sent = size
                    r = self.call("PUT", with_digest(loc, digest), body=data,
                                  headers={"Content-Type": "application/octet-stream"})
                    if self.session_gone(r, loc, put_ever, acked):
                        return False
                    self.expect_created(r, f"PUT with the body of {digest}", digest)
                    return True
                if acked < size and method == "stream":
                    sent = size
                    pieces = self.stream_pieces(data, acked)
                    r = self.call("PATCH", loc, stream_pieces=pieces,
                                  headers={"Content-Type": "application/octet-stream"})
                    if self.session_gone(r, loc, put_ever, acked):
                        return False
                    loc = self.expect_appended(r, f"streamed PATCH {loc} from {acked}", loc, size)
                    acked = size
                    continue
                if acked < size:
                    end = min(size, acked + chunk)
                    piece = data[acked:end]
                    hdrs = {"Content-Type": "application/octet-stream", "Content-Range": f"{acked}-{end - 1}"}
                    sent = max(sent, end)
                    if end == size and self.rng.random() < 0.4:
                        # The last chunk with the completing PUT.
                        put_ever = True
                        r = self.call("PUT", with_digest(loc, digest), body=piece, headers=hdrs)
                        if self.session_gone(r, loc, put_ever, acked):
                            return False
                        self.expect_created(r, f"PUT with the last chunk of {digest}", digest)
                        return True
                    r = self.call("PATCH", loc, body=piece, headers=hdrs)
                    if self.session_gone(r, loc, put_ever, acked):
                        return False
                    loc = self.expect_appended(r, f"PATCH {loc} {acked}-{end - 1}", loc, end)
                    acked = end
                    continue
                put_ever = True
                r = self.call("PUT", with_digest(loc, digest), body=b"")
                if self.session_gone(r, loc, put_ever, acked):
                    return False
                self.expect_created(r, f"completing PUT of {digest}", digest)
                return True
            except Interrupted:
                self.ledger.bump("interrupted")
                off = self.session_status(loc, acked, sent, put_ever)
                if off is None:
                    self.ledger.bump("redo_after_crash")
                    return False
                acked = off
                if method == "mono-put":
                    method = "chunked"  # continue from where the server is

    def session_gone(self, r, loc, put_ever, acked):
        """A PATCH or PUT answered 404 BLOB_UPLOAD_UNKNOWN: accepted (the client starts over) only after a
        completing PUT of this session was interrupted by a crash, which may have taken the upload's data
        (renamed into the blob store) before its row was deleted. Otherwise acknowledged bytes were lost."""
        if r.status != 404 or "BLOB_UPLOAD_UNKNOWN" not in r.error_codes():
            return False
        if not put_ever:
            fail(f"{self.name}: DATA LOSS: upload {loc} answers {r.describe()} after {acked} acknowledged bytes, "
                 f"and no completing PUT was ever sent")
        self.ledger.bump("gone_after_put")
        self.ledger.bump("redo_after_crash")
        self.note("PATCH/PUT: 404 BLOB_UPLOAD_UNKNOWN (upload data gone, committed before the crash): started over")
        return True

    def stream_pieces(self, data, start):
        step = 65536
        for i in range(start, len(data), step):
            yield data[i:i + step]
            if self.rng.random() < 0.3:
                time.sleep(0.002)

    # ---- manifests ----

    def push_manifest(self, repo, ref, body, media_type):
        digest = sha256(body)
        tag = None if ref.startswith("sha256:") else ref
        self.ledger.attempt_manifest(repo, tag, digest)
        self.in_flight = f"manifest {digest[:19]} to {repo}:{ref}"
        while True:
            try:
                r = self.call("PUT", f"/v2/{repo}/manifests/{ref}", body=body, headers={"Content-Type": media_type})
            except Interrupted:
                self.ledger.bump("interrupted")
                self.ledger.bump("redo_after_crash")
                continue
            self.expect_created(r, f"PUT manifest {repo}:{ref}", digest)
            break
        self.ledger.ack_manifest(repo, tag, digest, body)
        if self.op_interrupted:
            self.events.append(f"-> 201 for manifest {digest[:19]} ({repo}:{ref[:19]})")
            self.op_interrupted = False
        self.in_flight = None
        return digest


# ---------------------------------------------------------------------------------------------------
# Workload

CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"


def blob_size(rng, big=True):
    """Mostly small and medium blobs (a kill then lands between requests as often as inside one), some of
    several chunks so that kills also land inside long PATCHes and streams."""
    x = rng.random()
    if x < 0.55:
        return rng.randint(2, 20000)
    if x < 0.95 or not big:
        return rng.randint(20000, 200000)
    return rng.randint(200000, 2 << 20)


def make_image(client, repo, shared, rng, big=True):
    """Config + 1-3 layers (one sometimes a shared one that other threads push too), then the manifest by
    tag or by digest. Returns the manifest digest."""
    layers = []
    for _ in range(rng.randint(1, 3)):
        if shared and rng.random() < 0.25:
            data = rng.choice(shared)
        else:
            data = os.urandom(blob_size(rng, big))
        d = sha256(data)
        client.push_blob(repo, data, d)
        layers.append((d, len(data)))
    config = json.dumps({"architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
                         "config": {"Labels": {"nonce": os.urandom(8).hex()}},
                         "rootfs": {"type": "layers", "diff_ids": [d for d, _ in layers]}}).encode()
    cd = sha256(config)
    client.push_blob(repo, config, cd)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": MANIFEST_TYPE,
                           "config": {"mediaType": CONFIG_TYPE, "digest": cd, "size": len(config)},
                           "layers": [{"mediaType": LAYER_TYPE, "digest": d, "size": s} for d, s in layers]},
                          indent=1).encode()
    ref = sha256(manifest) if rng.random() < 0.2 else f"{client.name}-t{rng.randint(0, 3)}"
    return client.push_manifest(repo, ref, manifest, MANIFEST_TYPE)


def worker(client, repos, shared, done_images, big=True):
    try:
        while not client.stop.is_set():
            make_image(client, client.rng.choice(repos), shared, client.rng, big)
            done_images[client.name] = done_images.get(client.name, 0) + 1
    except Failure:
        pass
    except Exception as e:  # a bug of this script is a failure too, not a silent thread death
        try:
            fail(f"{client.name}: unexpected {type(e).__name__}: {e}")
        except Failure:
            pass


# ---------------------------------------------------------------------------------------------------
# Checks


class StoreChecker:
    """Re-hashes the files of the filesystem blob store: each must hash to its name. Between full checks
    only directories whose mtime changed (a file was renamed in or removed) are listed again, and only
    files not seen before with the same size, mtime and inode are hashed."""

    def __init__(self, data):
        self.root = os.path.join(data, "blobs", "blobs")
        self.seen = {}       # path -> (size, mtime_ns, inode) of a file that hashed right
        self.dir_mtime = {}  # directory -> mtime_ns when last listed
        self.found = {}      # directory -> {digest: size}
        self.hashed_files = 0
        self.hashed_bytes = 0

    def check(self, everything=False):
        for alg in sorted(os.listdir(self.root)) if os.path.isdir(self.root) else []:
            alg_dir = os.path.join(self.root, alg)
            for xx in sorted(os.listdir(alg_dir)):
                d = os.path.join(alg_dir, xx)
                mtime = os.stat(d).st_mtime_ns
                if not everything and self.dir_mtime.get(d) == mtime:
                    continue
                self.dir_mtime[d] = mtime
                found = {}
                for name in os.listdir(d):
                    path = os.path.join(d, name)
                    try:
                        st = os.stat(path)
                    except FileNotFoundError:
                        continue
                    found[f"{alg}:{name}"] = st.st_size
                    key = (st.st_size, st.st_mtime_ns, st.st_ino)
                    if not everything and self.seen.get(path) == key:
                        continue
                    self.hash_file(path, alg, name, st.st_size)
                    self.seen[path] = key
                self.found[d] = found
        return {digest: size for files in self.found.values() for digest, size in files.items()}

    def hash_file(self, path, alg, name, size):
        h = hashlib.new(alg)
        with open(path, "rb") as f:
            while True:
                b = f.read(1 << 20)
                if not b:
                    break
                h.update(b)
        self.hashed_files += 1
        self.hashed_bytes += size
        if h.hexdigest() != name:
            fail(f"CORRUPT BLOB FILE in the store: {path} ({size} bytes) hashes to {alg}:{h.hexdigest()}")


def get_blob_checked(port, repo, digest, must_exist, size=None, what=""):
    """GET a blob: when served it must hash to its digest; when must_exist it must be served."""
    r = request_retry_plain(port, "GET", f"/v2/{repo}/blobs/{digest}")
    if r.status == 200:
        if sha256(r.body) != digest:
            fail(f"CORRUPT BLOB SERVED{what}: GET /v2/{repo}/blobs/{digest} returned {len(r.body)} bytes hashing to "
                 f"{sha256(r.body)}")
        if size is not None and len(r.body) != size:
            fail(f"GET /v2/{repo}/blobs/{digest}: {len(r.body)} bytes, expected {size}")
        return True
    if r.status == 404:
        if must_exist:
            fail(f"LOST BLOB{what}: {repo}@{digest} ({size} bytes) got its 201 but GET answers {r.describe()}")
        return False
    fail(f"GET /v2/{repo}/blobs/{digest}{what}: unexpected {r.describe()}")


def request_retry_plain(port, method, path, **kw):
    """For checks run while the server is known to be up (no kill in between)."""
    try:
        return request(port, method, path, timeout=60, **kw)
    except Down as e:
        fail(f"check request failed while the server was up: {e}")


def check_manifest(port, repo, digest, body, what=""):
    r = request_retry_plain(port, "GET", f"/v2/{repo}/manifests/{digest}", headers={"Accept": MANIFEST_TYPE})
    if r.status != 200:
        fail(f"LOST MANIFEST{what}: {repo}@{digest} got its 201 but GET answers {r.describe()}")
    if r.body != body:
        fail(f"MANIFEST BYTES DIFFER{what}: {repo}@{digest}: got {len(r.body)} bytes hashing to {sha256(r.body)}")


def check_tags(port, ledger, what=""):
    with ledger.lock:
        tags = {k: list(v) for k, v in ledger.tags.items()}
    for (repo, tag), allowed in tags.items():
        r = request_retry_plain(port, "GET", f"/v2/{repo}/manifests/{tag}", headers={"Accept": MANIFEST_TYPE})
        if r.status == 404 and allowed[0] is None:
            continue
        if r.status != 200:
            fail(f"LOST TAG{what}: {repo}:{tag} (last acknowledged {allowed[0]}) answers {r.describe()}")
        got = r.header("Docker-Content-Digest")
        if got not in allowed or sha256(r.body) != got:
            fail(f"TAG{what} {repo}:{tag} names {got}, expected the last acknowledged {allowed[0]} or one pushed "
                 f"after it {allowed[1:]}")


def quick_check(server, ledger, store, rng, sample=6):
    """After a restart: new store files re-hashed, blobs and manifests acknowledged since the last check
    pulled, a random sample of older ones, every blob attempted but not acknowledged (served => right)."""
    store.check()
    new_blobs, new_manifests = ledger.take_new()
    with ledger.lock:
        keys = rng.sample(ledger.blob_keys, min(sample, len(ledger.blob_keys)))
        old_blobs = [(k, ledger.blobs[k]) for k in keys]
        unacked = [(k, ledger.attempted[k]) for k in sorted(ledger.unacked)[:20]]
    for repo, digest, size in new_blobs:
        get_blob_checked(server.port, repo, digest, True, size, " (quick check)")
    for (repo, digest), size in old_blobs:
        get_blob_checked(server.port, repo, digest, True, size, " (quick check)")
    for (repo, digest), size in unacked[:20]:
        get_blob_checked(server.port, repo, digest, False, size, " (quick check, unacknowledged push)")
    for repo, digest, body in new_manifests:
        check_manifest(server.port, repo, digest, body, " (quick check)")


def full_check(server, ledger, store, data):
    """Everything: every store file re-hashed and fetched through the API from every repository it was
    pushed to; every acknowledged blob and manifest pulled; every tag."""
    log("full check: re-hashing every file of the blob store")
    found = store.check(everything=True)
    log(f"full check: {len(found)} blob files re-hashed; fetching every blob through the API")
    with ledger.lock:
        attempted = dict(ledger.attempted)
        acked = dict(ledger.blobs)
        manifests = dict(ledger.manifests)
    pushed = {digest for (_, digest) in attempted}
    strangers = sorted(set(found) - pushed)
    if strangers:
        log(f"full check: {len(strangers)} store files of digests never pushed here (hashed above): {strangers[:3]}")
    served = 0
    for (repo, digest), size in sorted(attempted.items()):
        must = (repo, digest) in acked
        if must and digest not in found:
            fail(f"LOST BLOB (full check): {repo}@{digest} got its 201 but has no file in the store")
        if get_blob_checked(server.port, repo, digest, must, size, " (full check)"):
            served += 1
    for (repo, digest), body in manifests.items():
        check_manifest(server.port, repo, digest, body, " (full check)")
    check_tags(server.port, ledger, " (full check)")
    ledger.take_new()
    log(f"full check ok: {len(found)} files re-hashed, {served} blobs served and hashed, {len(acked)} acknowledged blobs, "
        f"{len(manifests)} manifests, {len(ledger.tags)} tags")


def offline_checks(binary, data, logdir):
    """With the server stopped: SQLite's integrity check and `berth fsck --verify` (every blob's size and
    content against its row)."""
    import sqlite3
    db = os.path.join(data, "berth.db")
    con = sqlite3.connect(db)
    try:
        res = con.execute("PRAGMA integrity_check").fetchall()
        if res != [("ok",)]:
            fail(f"SQLite integrity_check: {res[:5]}")
        fk = con.execute("PRAGMA foreign_key_check").fetchall()
        if fk:
            fail(f"SQLite foreign_key_check: {fk[:5]}")
    finally:
        con.close()
    out = os.path.join(logdir, "fsck.log")
    with open(out, "wb") as f:
        rc = subprocess.call([binary, "fsck", "--data", data, "--verify"], stdout=f, stderr=subprocess.STDOUT,
                             env=dict(os.environ, BERTH_AUTH_ENABLED="false"), timeout=300)
    if rc != 0:
        fail(f"berth fsck --verify exited {rc}:\n{tail(out)}")
    log(f"offline checks ok: SQLite integrity_check, foreign keys, berth fsck --verify ({tail(out, 3)})")


def print_stats(ledger, store, extra=""):
    s = dict(ledger.stats)
    log(f"STATS {extra} blob 201s={s['blob_acks']} manifest 201s={s['manifest_acks']} "
        f"pushed={s['bytes_pushed'] / 1e6:.1f} MB methods={s['methods']} interrupted requests={s['interrupted']} "
        f"sessions resumed={s['resumed']} (server ahead of the last ack: {s['resumed_ahead']}) "
        f"sessions gone after an interrupted completing PUT: GET 404={s['lost_after_put']} "
        f"GET 204 but PATCH/PUT 404={s['gone_after_put']} pushes redone={s['redo_after_crash']} "
        f"store files hashed={store.hashed_files} ({store.hashed_bytes / 1e6:.1f} MB)")


# ---------------------------------------------------------------------------------------------------
# Modes


# A crash orphans the sessions whose POST answer it swallowed and those of interrupted monolithic pushes
# (~1 per 3-4 kills here): the client never learns their URLs, and they count against the open-upload
# limits (uploads.max_open_per_account, 100) until they expire. Lifted, or a few hundred kills end in 429.
NO_UPLOAD_LIMITS = {"BERTH_UPLOAD_MAX_OPEN_PER_ACCOUNT": "1000000", "BERTH_UPLOAD_MAX_OPEN_PER_ADDRESS": "1000000"}


def start_workers(server, ledger, n, seed, repos, shared, big=True):
    stop = threading.Event()
    done = {}
    clients, threads = [], []
    for i in range(n):
        c = Client(server, ledger, f"w{i}", random.Random(seed * 1000 + i), stop)
        t = threading.Thread(target=worker, args=(c, repos, shared, done, big), daemon=True)
        clients.append(c)
        threads.append(t)
        t.start()
    return stop, done, clients, threads


def stop_workers(stop, threads, timeout=120):
    stop.set()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.1, deadline - time.monotonic()))
        if t.is_alive():
            fail(f"a push thread did not finish within {timeout}s of being asked to stop")


def mode_kill(args):
    rng = random.Random(args.seed)
    log(f"kill mode: {args.kills} kills, {args.workers} push threads, seed {args.seed}")
    server = Server(args.berth, args.data, args.server_log,
                    extra_env=dict(NO_UPLOAD_LIMITS, BERTH_GC_INTERVAL_SECONDS="1", BERTH_LOG_LEVEL="warn",
                                   BERTH_ACCESS_LOG="false"))
    ledger = Ledger()
    store = StoreChecker(args.data)
    repos = [f"crash/r{i}" for i in range(4)]
    shared = [os.urandom(n) for n in (3000, 70000, 400000, 1500000)]
    try:
        server.start()
        stop, done, clients, threads = start_workers(server, ledger, args.workers, args.seed, repos, shared)
        kills = 0
        early = 0
        deadline = time.monotonic() + args.max_seconds
        uptimes = []
        while kills < args.kills:
            if FAILED.is_set():
                raise Failure(FAIL_MSG[0])
            if time.monotonic() > deadline:
                fail(f"only {kills} of {args.kills} kills within {args.max_seconds}s")
            ready_at = time.monotonic()
            target = rng.uniform(args.min_up, args.max_up)
            quick_check(server, ledger, store, rng, sample=3)
            delay = target - (time.monotonic() - ready_at)
            if delay > 0:
                time.sleep(delay)
            uptimes.append(time.monotonic() - ready_at)
            st = server.kill()
            kills += 1
            if st != -signal.SIGKILL:
                fail(f"the server exited by itself with status {st} before it was killed:\n{tail(args.server_log)}")
            if rng.random() < 0.1:
                # A kill during start (database open, migrations check, WAL recovery).
                server.spawn()
                time.sleep(rng.uniform(0.0, 0.05))
                server.kill()
                kills += 1
                early += 1
            server.start()
            if kills % 50 < 2:
                imgs = sum(done.values())
                log(f"{kills} kills, {imgs} images pushed, {ledger.stats['blob_acks']} blob 201s, "
                    f"{ledger.stats['resumed']} resumed sessions")
        log(f"{kills} kills done ({early} during start); mean uptime {sum(uptimes) / len(uptimes):.2f}s; "
            f"stopping the push threads")
        stop_workers(stop, threads)
        if FAILED.is_set():
            raise Failure(FAIL_MSG[0])
        full_check(server, ledger, store, args.data)
        st = server.stop()
        if st != 0:
            fail(f"berth exited {st} after SIGTERM (expected 0)")
        offline_checks(args.berth, args.data, os.path.dirname(args.server_log))
        print_stats(ledger, store, f"kills={kills} (during start: {early}) server starts={server.starts}")
        print(f"KILLS_SURVIVED={kills}")
        return 0
    finally:
        server.cleanup()


FAILPOINTS = [
    "upload.append.before_record",
    "upload.append.after_record",
    "blob.before_fsync",
    "blob.after_rename",
    "upload.after_blob_commit",
    "upload.after_publish",
    "manifest.before_commit",
]


def mode_failpoints(args):
    rng = random.Random(args.seed)
    points = args.points.split(",") if args.points else FAILPOINTS
    server = Server(args.berth, args.data, args.server_log, extra_env=dict(NO_UPLOAD_LIMITS, BERTH_LOG_LEVEL="warn"))
    ledger = Ledger()
    store = StoreChecker(args.data)
    repos = [f"fp/r{i}" for i in range(2)]
    shared = [os.urandom(n) for n in (5000, 300000)]
    results = []
    try:
        for round_no, point in enumerate(points):
            for nth in args.nth:
                spec = f"{point}:{nth}" if nth > 1 else point
                before = dict(ledger.stats)  # nothing is interrupted or resumed but by this round's crash
                server.start({"BERTH_FAILPOINT": spec})
                stop, done, clients, threads = start_workers(server, ledger, args.workers, args.seed + round_no * 7 + nth,
                                                             repos, shared, big=False)
                st = server.wait_exit(args.point_timeout)
                if FAILED.is_set():
                    raise Failure(FAIL_MSG[0])
                if st is None:
                    fail(f"failure point {spec}: the server did not die within {args.point_timeout}s of pushing "
                         f"(point not reached?)")
                hit_line = [line for line in tail(args.server_log, 400).splitlines() if f"failpoint {point} hit" in line]
                if st != 137 or not hit_line:
                    fail(f"failure point {spec}: the server exited {st}, expected 137 with 'failpoint {point} hit' "
                         f"in its log:\n{tail(args.server_log)}")
                interrupted = [f"{c.name}: {c.in_flight}" for c in clients if c.in_flight]
                # Restart without the point; the threads finish (redo or resume) what was interrupted.
                server.start()
                quick_check(server, ledger, store, rng, sample=20)
                stop_workers(stop, threads)
                if FAILED.is_set():
                    raise Failure(FAIL_MSG[0])
                quick_check(server, ledger, store, rng, sample=20)
                story = "; ".join(f"{c.name}: " + ", ".join(c.events) for c in clients if c.events)
                outcome = (f"exit 137 ({hit_line[-1].strip()}); in flight: {interrupted}; then: "
                           f"{story or 'nothing interrupted'}; every push completed with 201, checks ok")
                results.append((spec, outcome))
                log(f"POINT {spec}: {outcome}")
                st = server.stop()
                if st != 0:
                    fail(f"berth exited {st} after SIGTERM (expected 0)")
        server.start()
        full_check(server, ledger, store, args.data)
        st = server.stop()
        if st != 0:
            fail(f"berth exited {st} after SIGTERM (expected 0)")
        offline_checks(args.berth, args.data, os.path.dirname(args.server_log))
        print_stats(ledger, store, f"points={len(results)}")
        for spec, outcome in results:
            print(f"FAILPOINT {spec}: {outcome}")
        return 0
    finally:
        server.cleanup()


# ---- disk full ----


def space_named(resp):
    text = resp.body.decode(errors="replace").lower()
    return any(w in text for w in ("space", "insufficient storage", "disk is full", "disk full"))


def expect_space_error(resp, what):
    """A push that does not fit: 507 Insufficient Storage with an OCI error body that names the lack of
    space."""
    if resp.status < 400:
        fail(f"{what}: succeeded ({resp.describe()}) on a full disk")
    if resp.status != 507:
        fail(f"{what}: HTTP {resp.status}, not 507 Insufficient Storage: {resp.describe()}")
    if not resp.error_codes():
        fail(f"{what}: HTTP {resp.status} without an OCI error body: {resp.body[:300]!r}")
    if not space_named(resp):
        fail(f"{what}: the error does not name the lack of space: {resp.describe()}")
    log(f"{what}: {resp.describe()}")


def raw_push_attempt(port, method, path, body, headers, timeout=60):
    """Sends a request whose body the server may stop reading (disk full): returns the response if one
    arrives, else None after a dropped connection. A timeout fails the test (a hang)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        for k, v in headers.items():
            head += f"{k}: {v}\r\n"
        head += f"Content-Length: {len(body)}\r\n\r\n"
        s.sendall(head.encode())
        view = memoryview(body)
        try:
            for i in range(0, len(body), 1 << 20):
                s.sendall(view[i:i + (1 << 20)])
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered early and closed: read what it said
        buf = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
                if b"\r\n\r\n" in buf:
                    head_part, _, rest = buf.partition(b"\r\n\r\n")
                    length = 0
                    for line in head_part.split(b"\r\n")[1:]:
                        k, _, v = line.partition(b":")
                        if k.strip().lower() == b"content-length":
                            length = int(v.strip())
                    if len(rest) >= length:
                        break
        except ConnectionResetError:
            pass
        except socket.timeout:
            fail(f"{method} {path}: no answer within {timeout}s on a full disk (hang)")
        if not buf:
            return None
        head_part, _, rest = buf.partition(b"\r\n\r\n")
        lines = head_part.decode(errors="replace").split("\r\n")
        status = int(lines[0].split()[1])
        hdrs = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        return Resp(status, hdrs, rest)
    finally:
        s.close()


def fill_disk(fill_dir):
    """Writes filler files until the filesystem is full (ENOSPC), in 1 MiB, then 4 KiB, then 1-byte writes.
    Returns the files."""
    os.makedirs(fill_dir, exist_ok=True)
    files = []
    for i, size in enumerate((1 << 20, 4096, 1)):
        path = os.path.join(fill_dir, f"fill-{i}")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        except OSError as e:
            if e.errno != errno.ENOSPC:
                raise
            break
        files.append(path)
        buf = b"\0" * size
        try:
            while True:
                os.write(fd, buf)
        except OSError as e:
            if e.errno != errno.ENOSPC:
                raise
        finally:
            os.close(fd)
    return files


def uploads_bytes(data):
    d = os.path.join(data, "blobs", "uploads")
    return sum(os.path.getsize(os.path.join(d, x)) for x in os.listdir(d))


def mode_diskfull(args):
    rng = random.Random(args.seed)
    server = Server(args.berth, args.data, args.server_log)
    ledger = Ledger()
    store = StoreChecker(args.data)
    stop = threading.Event()
    client = Client(server, ledger, "df", rng, stop, timeout=60)
    repo = "full/app"
    try:
        server.start()
        log("push three images before the disk fills")
        for i in range(3):
            make_image(client, repo, [], rng, big=False)
        quick_check(server, ledger, store, rng)

        mnt_free = os.statvfs(args.data).f_bavail * os.statvfs(args.data).f_frsize
        big = os.urandom(mnt_free + (8 << 20))
        big_digest = sha256(big)
        log(f"a monolithic push of {len(big) >> 20} MiB onto {mnt_free >> 20} MiB free")
        r = raw_push_attempt(server.port, "POST", f"/v2/{repo}/blobs/uploads/?digest={big_digest}", big,
                             {"Content-Type": "application/octet-stream"})
        if r is None:
            fail("monolithic push larger than the disk: the connection closed without an answer")
        expect_space_error(r, "monolithic POST larger than the free space")

        log("a chunked push larger than the free space: the PATCH that does not fit fails")
        r = request_retry_plain(server.port, "POST", f"/v2/{repo}/blobs/uploads/")
        if r.status != 202:
            fail(f"POST (start an upload) after the failed monolithic push: {r.describe()}; upload files hold "
                 f"{uploads_bytes(args.data)} bytes: the failed push's data still fills the disk?")
        loc = r.header("Location")
        chunked = os.urandom(mnt_free + (4 << 20))
        chunked_digest = sha256(chunked)
        off = 0
        step_size = 8 << 20
        failed = None
        while off < len(chunked):
            end = min(len(chunked), off + step_size)
            r = raw_push_attempt(server.port, "PATCH", loc, chunked[off:end],
                                 {"Content-Type": "application/octet-stream", "Content-Range": f"{off}-{end - 1}"})
            if r is None:
                fail(f"PATCH {off}-{end - 1} on a filling disk: the connection closed without an answer")
            if r.status != 202:
                failed = r
                break
            off = end
        if failed is None:
            fail("a chunked push larger than the disk succeeded")
        expect_space_error(failed, f"PATCH at offset {off} on a full disk")
        # The session is still there, at the last acknowledged offset.
        st = request_retry_plain(server.port, "GET", loc)
        if st.status != 204 or range_end(st) != off:
            fail(f"GET {loc} after the failed PATCH: expected 204 with Range 0-{off - 1}, got {st.describe()} "
                 f"Range {st.header('Range')}")
        r = request_retry_plain(server.port, "DELETE", loc)
        if r.status != 204:
            fail(f"DELETE {loc}: {r.describe()}")

        log("fill the rest of the disk with filler files")
        fillers = fill_disk(args.fill_dir)
        log(f"{len(fillers)} filler files; free now {os.statvfs(args.data).f_bavail * os.statvfs(args.data).f_frsize} bytes")
        small = os.urandom(300000)
        small_digest = sha256(small)
        r = raw_push_attempt(server.port, "POST", f"/v2/{repo}/blobs/uploads/?digest={small_digest}", small,
                             {"Content-Type": "application/octet-stream"})
        if r is None:
            fail("small monolithic push on a full disk: the connection closed without an answer")
        expect_space_error(r, "monolithic POST of 300 kB on a full disk")
        # A chunked push on a full disk: starting it (a file and a row) or its first PATCH fails.
        r = request_retry_plain(server.port, "POST", f"/v2/{repo}/blobs/uploads/")
        if r.status == 202:
            r = raw_push_attempt(server.port, "PATCH", r.header("Location"), small,
                                 {"Content-Type": "application/octet-stream", "Content-Range": f"0-{len(small) - 1}"})
            if r is None:
                fail("PATCH on a full disk: the connection closed without an answer")
            expect_space_error(r, "PATCH of 300 kB on a full disk")
        else:
            expect_space_error(r, "POST (start an upload) on a full disk")

        # A manifest over stored blobs: the database may or may not find room (SQLite reuses free pages
        # and its WAL); either a clear error or a 201 that then pulls.
        with ledger.lock:
            stored = [(d, s) for (rp, d), s in ledger.blobs.items() if rp == repo]
        cfg_digest, cfg_size = stored[-1]
        manifest = json.dumps({"schemaVersion": 2, "mediaType": MANIFEST_TYPE,
                               "config": {"mediaType": CONFIG_TYPE, "digest": cfg_digest, "size": cfg_size},
                               "layers": [{"mediaType": LAYER_TYPE, "digest": d, "size": s} for d, s in stored[:2]],
                               "annotations": {"filler": "x" * 20000}}).encode()
        md = sha256(manifest)
        r = request_retry_plain(server.port, "PUT", f"/v2/{repo}/manifests/full-disk", body=manifest,
                                headers={"Content-Type": MANIFEST_TYPE})
        manifest_on_full = r.status
        if r.status == 201:
            log("manifest PUT on a full disk: 201 (the database found room)")
            ledger.ack_manifest(repo, "full-disk", md, manifest)
        else:
            expect_space_error(r, "manifest PUT on a full disk")
            ledger.attempt_manifest(repo, "full-disk", md)

        log("with the disk full: earlier images pull byte-exact, nothing partial is visible")
        if request_retry_plain(server.port, "GET", "/healthz").status != 200:
            fail("/healthz is not 200 with the disk full")
        for d in (big_digest, chunked_digest, small_digest):
            r = request_retry_plain(server.port, "HEAD", f"/v2/{repo}/blobs/{d}")
            if r.status != 404:
                fail(f"HEAD of the blob whose push failed ({d}): expected 404, got HTTP {r.status}")
        full_check(server, ledger, store, args.data)

        log("free the space: remove the filler files; the same pushes now work")
        for f in fillers:
            os.unlink(f)
        used = uploads_bytes(args.data)
        log(f"upload files left by the failed pushes hold {used} bytes")
        if used > (1 << 20):
            fail(f"the failed pushes left {used} bytes in upload files: they hold the disk until they expire")
        client.push_blob(repo, small, small_digest, method="mono-post")
        client.push_blob(repo, small, small_digest, method="chunked")
        client.push_manifest(repo, "full-disk", manifest, MANIFEST_TYPE)
        make_image(client, repo, [], rng, big=False)
        full_check(server, ledger, store, args.data)
        st = server.stop()
        if st != 0:
            fail(f"berth exited {st} after SIGTERM (expected 0)")
        offline_checks(args.berth, args.data, os.path.dirname(args.server_log))
        print(f"DISKFULL manifest_put_on_full_disk={manifest_on_full}")
        return 0
    finally:
        server.cleanup()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["kill", "failpoints", "diskfull"])
    p.add_argument("--berth", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--server-log", required=True)
    p.add_argument("--seed", type=int, default=int(time.time()) % 100000)
    p.add_argument("--kills", type=int, default=200)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--min-up", type=float, default=0.05, help="seconds the server runs before a kill (min)")
    p.add_argument("--max-up", type=float, default=0.6)
    p.add_argument("--max-seconds", type=float, default=300, help="fail if the kills take longer")
    p.add_argument("--points", default="", help="failure points, comma separated (default: all)")
    p.add_argument("--nth", type=lambda s: [int(x) for x in s.split(",")], default=[1, 4, 12],
                   help="hit numbers to try per point (comma separated)")
    p.add_argument("--point-timeout", type=float, default=60)
    p.add_argument("--fill-dir", default="")
    args = p.parse_args()
    # SIGTERM (timeout, ctest) unwinds through the finally blocks that kill the server this script started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    log(f"mode {args.mode}, seed {args.seed} (rerun with --seed {args.seed})")
    try:
        rc = {"kill": mode_kill, "failpoints": mode_failpoints, "diskfull": mode_diskfull}[args.mode](args)
    except Failure as e:
        print(f"FAIL: {FAIL_MSG[0] if FAIL_MSG else e}", file=sys.stderr)
        return 1
    if FAILED.is_set():
        print(f"FAIL: {FAIL_MSG[0]}", file=sys.stderr)
        return 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
