"""Benchmark POST /oauth/token (client_credentials) on a real gunicorn, optionally against a peer.

    .venv/bin/python bench/token_endpoint.py [--seconds 10] [--connections 16] [--workers 2] [--peer]

Makes a throwaway instance folder (`flask --app app setup`), creates a client_secret_basic
application granted the demo API, starts `gunicorn --workers N 'app:create_app()'` on a free
127.0.0.1 port, checks one token against the JWKS, warms up, then drives the endpoint with wrk
(or a bounded Python client) for a fixed time. private_key_jwt is measured too when
blueprints/oauth/client_auth/private_key_jwt.py implements it. --peer does the same against
node-oidc-provider (bench/node_peer/) and prints the ratio. --applications N also measures N
client_secret_basic applications called round-robin (bench/many_applications.py makes them),
beside the one application, and reports the workers' memory. See bench/README.md.

Every process started here is ended in a finally block by its own Popen handle.
"""
import argparse
import base64
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from urllib.parse import quote, urlencode, urljoin, urlsplit

import loadgen

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV_BIN = ROOT / ".venv" / "bin" if (ROOT / ".venv" / "bin" / "gunicorn").exists() else Path(sys.executable).parent
# The application's source: the work tree, or a committed revision exported by use_revision().
APP_ROOT = ROOT
PEER_DIR = BENCH / "node_peer"
RESULTS = BENCH / "results"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME = 280  # seconds; AppCreds (like Auth0) refuses exp - iat > 300
SCOPE = "read:demo"
# One issuer for every AppCreds server of a run, whatever its port (tokens name it, clients send to 127.0.0.1).
ISSUER = "http://127.0.0.1/"
PEER = "peer node-oidc-provider"
PEER_CLOSE = "peer, Connection: close"
PEER_PKJWT = "peer private_key_jwt"


# --- processes --------------------------------------------------------------------------------

def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, process: subprocess.Popen, timeout: float = 30.0) -> None:
    """Poll `url` until it answers with any status, at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early with code {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and all its descendants (gunicorn master + workers)."""
    children: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
        ppid, utime, stime = int(fields[1]), int(fields[11]), int(fields[12])
        children.setdefault(ppid, []).append(int(entry))
        times[int(entry)] = (utime + stime) / tick
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        total += times.get(current, 0.0)
        pending.extend(children.get(current, []))
    return total


def largest_child_rss_mb(pid: int) -> float:
    """The resident memory of the largest child of `pid` (a gunicorn or granian worker), in MB."""
    largest = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("PPid", "").strip() == str(pid) and "VmRSS" in fields:
            largest = max(largest, int(fields["VmRSS"].split()[0]))  # kB
    return largest / 1024


def use_revision(ref: str, into: Path) -> str:
    """Export the committed revision `ref` into `into` and run the application from there.

    Others may be editing the work tree while a benchmark runs; a revision is a fixed target.
    Returns the commit id. The virtualenv stays the work tree's.
    """
    global APP_ROOT
    commit = subprocess.run(["git", "rev-parse", "--verify", f"{ref}^{{commit}}"], cwd=ROOT, capture_output=True,
                            text=True, timeout=30, check=True).stdout.strip()
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", commit], cwd=ROOT, capture_output=True, timeout=120, check=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, timeout=120, check=True)
    APP_ROOT = into
    return commit


def instance_env(instance: Path) -> dict:
    """Settings an instance needs in every process: an --also-alg instance's algorithm (instance-ALG.alg)."""
    alg_file = instance.parent / f"{instance.name}.alg"
    return {"APPCREDS_ACCESS_TOKEN_ALG": alg_file.read_text().strip()} if alg_file.exists() else {}


def flask_cli(instance: Path, issuer: str, *args: str) -> str:
    env = {**os.environ, "APPCREDS_INSTANCE_PATH": str(instance), "APPCREDS_ISSUER": issuer,
           "APPCREDS_ADMIN_PASSWORD": "bench-only-password", **instance_env(instance)}
    completed = subprocess.run([str(VENV_BIN / "flask"), "--app", "app", *args], cwd=APP_ROOT, env=env,
                               capture_output=True, text=True, timeout=120, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args[:2])} failed:\n{completed.stderr.strip()}")
    return completed.stdout


def gunicorn_own_options() -> list[str]:
    """gunicorn 24+ opens a control socket at one fixed path per user; ours must not take another server's."""
    usage = subprocess.run([str(VENV_BIN / "gunicorn"), "--help"], capture_output=True, text=True, timeout=30,
                           check=False).stdout
    return ["--no-control-socket"] if "--no-control-socket" in usage else []


def start_gunicorn(instance: Path, issuer: str, port: int, workers: int, extra: list[str], log) -> subprocess.Popen:
    env = {**os.environ, "APPCREDS_INSTANCE_PATH": str(instance), "APPCREDS_ISSUER": issuer, **instance_env(instance)}
    return subprocess.Popen(
        [str(VENV_BIN / "gunicorn"), "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
         "--graceful-timeout", "5", "--config", "deploy/gunicorn.conf.py", *gunicorn_own_options(), *extra,
         "app:create_app()"],
        cwd=APP_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )


def start_granian(instance: Path, issuer: str, port: int, workers: int, extra: list[str], log) -> subprocess.Popen:
    """granian's WSGI interface, as deploy/granian.sh runs it: HTTP keep-alive, one Python thread per
    worker, no access log, app:create_worker_app. Without --blocking-threads granian starts
    backpressure/2 threads per WSGI worker (256 with its defaults), which contend for the GIL;
    `--granian-arg` may override it."""
    env = {**os.environ, "APPCREDS_INSTANCE_PATH": str(instance), "APPCREDS_ISSUER": issuer, **instance_env(instance)}
    threads = [] if any(arg.startswith("--blocking-threads") for arg in extra) else ["--blocking-threads", "1"]
    return subprocess.Popen(
        [str(VENV_BIN / "granian"), "--interface", "wsgi", "--factory", "--workers", str(workers),
         "--host", "127.0.0.1", "--port", str(port), *threads, "--no-access-log", *extra, "app:create_worker_app"],
        cwd=APP_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )


SERVERS = {"gunicorn": start_gunicorn, "granian": start_granian}


def ensure_peer_installed() -> None:
    if (PEER_DIR / "node_modules" / "oidc-provider").is_dir():
        return
    command = ["npm", "ci"] if (PEER_DIR / "package-lock.json").exists() else ["npm", "install"]
    print(f"installing the peer: {' '.join(command)} in {PEER_DIR}", flush=True)
    subprocess.run([*command, "--no-audit", "--no-fund"], cwd=PEER_DIR, check=True, timeout=600)


def start_peer_process(port: int, workers: int, client_id: str, secret: str, pkjwt_client_id: str,
                       pkjwt_jwk_file: Path, log) -> subprocess.Popen:
    return subprocess.Popen(
        ["node", "server.js", f"--port={port}", f"--workers={workers}",
         f"--client-id={client_id}", f"--client-secret={secret}",
         f"--pkjwt-client-id={pkjwt_client_id}", f"--pkjwt-jwk-file={pkjwt_jwk_file}"],
        cwd=PEER_DIR, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "NODE_ENV": "production"},
    )


# --- tokens -----------------------------------------------------------------------------------

def basic(client_id: str, secret: str) -> str:
    # RFC 6749 §2.3.1: form-urlencode each part before base64.
    pair = f"{quote(client_id, safe='')}:{quote(secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def post_form(url: str, body: str, authorization: str = "") -> tuple[int, dict]:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if authorization:
        headers["Authorization"] = authorization
    request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def check_one_token(label: str, token_url: str, body: str, authorization: str, discovery_url: str,
                    issuer: str, audience: str) -> dict:
    """One request by hand: 200, a JWT access token whose signature verifies against the JWKS."""
    from joserfc import jwt
    from joserfc.jwk import KeySet

    status, document = post_form(token_url, body, authorization)
    if status != 200 or "access_token" not in document:
        raise SystemExit(f"{label}: the first token request failed with {status}: {document}")
    # The JWKS from the server that answered (its metadata names the issuer's host, which may be another port).
    jwks_path = urlsplit(get_json(discovery_url)["jwks_uri"]).path
    jwks = get_json(urljoin(discovery_url, jwks_path))
    # Whichever algorithm the server signs with (APPCREDS_ACCESS_TOKEN_ALG, passed on from the environment).
    algorithms = sorted({key.get("alg", "RS256") for key in jwks["keys"]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # joserfc warns that the name EdDSA is deprecated (RFC 9864)
        token = jwt.decode(document["access_token"], KeySet.import_key_set(jwks), algorithms=algorithms)
    claims = token.claims
    problems = [f"{name}={claims.get(name)!r}" for name, expected in (("iss", issuer), ("aud", audience))
                if claims.get(name) != expected and [claims.get(name)] != [expected]]
    if token.header.get("typ") != "at+jwt":
        problems.append(f"typ={token.header.get('typ')!r}")
    if problems:
        raise SystemExit(f"{label}: the token is not what was asked for: {', '.join(problems)}")
    return {"header": token.header, "claims": claims}


# --- private_key_jwt --------------------------------------------------------------------------

def private_key_jwt_available() -> tuple[bool, str]:
    probe = ("import blueprints.oauth.client_auth as m;"
             "print('private_key_jwt' in getattr(m, 'CHECKS', {}))")
    completed = subprocess.run([str(VENV_BIN / "python"), "-c", probe], cwd=APP_ROOT, capture_output=True,
                               text=True, timeout=60, check=False)
    if completed.returncode != 0:
        return False, f"cannot import private_key_jwt.py: {completed.stderr.strip().splitlines()[-1:]}"
    if completed.stdout.strip() != "True":
        return False, "the client-authentication front door has no private_key_jwt check (CHECKS)"
    return True, ""


def _sign_assertions(private_pem: bytes, client_id: str, audience: str, count: int) -> list[str]:
    import uuid

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    key = serialization.load_pem_private_key(private_pem, password=None)

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "RS256", "typ": "JWT"}, separators=(",", ":")).encode())
    now = int(time.time())
    out = []
    for _ in range(count):
        claims = {"iss": client_id, "sub": client_id, "aud": audience, "iat": now,
                  "exp": now + ASSERTION_LIFETIME, "jti": str(uuid.uuid4())}
        signing_input = f"{header}.{b64(json.dumps(claims, separators=(',', ':')).encode())}"
        signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        out.append(f"{signing_input}.{b64(signature)}")
    return out


def write_assertions(private_pem: bytes, client_id: str, audience: str, count: int, path: Path) -> float:
    """Sign `count` RS256 assertions (unique jti) on every core; returns the seconds it took."""
    started = time.monotonic()
    chunks = [count // 2, count - count // 2]
    with ProcessPoolExecutor(max_workers=2) as pool:
        results = pool.map(_sign_assertions, [private_pem] * 2, [client_id] * 2, [audience] * 2, chunks)
        path.write_text("".join(a + "\n" for chunk in results for a in chunk))
    return time.monotonic() - started


def setup_private_key_jwt_client(instance: Path, issuer: str, workdir: Path) -> tuple[str, bytes]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    (workdir / "pkjwt-public.pem").write_bytes(public_pem)
    created = json.loads(flask_cli(instance, issuer, "clients", "create", "Bench private_key_jwt",
                                   "--app-type", "non_interactive", "--grant", issuer + "api/demo/",
                                   "--scope", SCOPE, "--json"))
    client_id = created["client_id"]
    flask_cli(instance, issuer, "credentials", "add", client_id, "--use", "private_key_jwt",
              "--pem", str(workdir / "pkjwt-public.pem"))
    flask_cli(instance, issuer, "clients", "set-method", client_id, "private_key_jwt")
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    return client_id, private_pem


def create_applications(instance: Path, issuer: str, count: int, workdir: Path) -> Path:
    """`count` client_secret_basic applications granted the demo API; returns their Authorization headers' file."""
    out = workdir / "authorizations.txt"
    env = {**os.environ, "APPCREDS_ISSUER": issuer}
    completed = subprocess.run(
        [str(VENV_BIN / "python"), str(BENCH / "many_applications.py"), str(instance), str(count),
         issuer + "api/demo/", SCOPE, str(out)],
        cwd=APP_ROOT, env=env, capture_output=True, text=True, timeout=3600, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"bench/many_applications.py failed:\n{completed.stderr.strip()[-2000:]}")
    print(f"  ({completed.stdout.strip()})", flush=True)
    return out


# --- measuring --------------------------------------------------------------------------------

def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (/proc/stat), to see the others' load during a run."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class Target:
    """One thing to measure: a label, the server process and how to build the next round's load."""

    def __init__(self, label: str, server: subprocess.Popen, make_load, warmup: float | None = None):
        self.label, self.server, self.make_load = label, server, make_load
        self.warmup = warmup  # seconds of the first round's warm-up; None: --warmup
        self.results: list[dict] = []


def measure(target: Target, args, round_number: int) -> dict:
    """Warm up, then one measured run; fails loudly on any non-2xx answer or assertion shortfall."""
    load = target.make_load()
    warmup = target.warmup if target.warmup and not target.results else args.warmup
    warm = loadgen.run(load, warmup, args.connections, args.generator, args.wrk_threads)
    load.offset = warm["next_offset"]
    load_average = os.getloadavg()[0]
    cpu_before, busy_before = tree_cpu_seconds(target.server.pid), machine_busy_seconds()
    result = loadgen.run(load, args.seconds, args.connections, args.generator, args.wrk_threads)
    server_cpu = tree_cpu_seconds(target.server.pid) - cpu_before
    others = machine_busy_seconds() - busy_before - server_cpu - result["generator_cpu_s"]
    for run, name in ((warm, "warm-up"), (result, "measured run")):
        if run["exhausted"]:
            raise SystemExit(f"{target.label}: {name} ran out of pre-signed assertions ({run['exhausted']} requests "
                             "without one); raise --assertions")
        if run["non_2xx"]:
            raise SystemExit(f"{target.label}: {name} got {run['non_2xx']} non-2xx answers of {run['requests']}:\n"
                             f"{run['raw']}")
    if target.server.poll() is not None:
        raise SystemExit(f"{target.label}: the server exited during the run ({target.server.returncode})")
    result.update(label=target.label, round=round_number, load_average_1m=load_average, server_cpu_s=server_cpu,
                  largest_worker_rss_mb=largest_child_rss_mb(target.server.pid),
                  server_cpu_ms_per_request=1000 * server_cpu / result["requests"] if result["requests"] else None,
                  others_cores=max(0.0, others) / result["seconds"])
    errors = {k: v for k, v in result["socket_errors"].items() if v}
    generator_cores = result["generator_cpu_s"] / result["seconds"]
    print(f"  round {round_number} {target.label}: {result['rps']:.0f} req/s ({result['requests']} requests in "
          f"{result['seconds']:.1f} s, p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, server CPU "
          f"{result['server_cpu_ms_per_request']:.2f} ms/req, load generator {generator_cores:.2f} cores, "
          f"others {result['others_cores']:.2f} cores, largest worker {result['largest_worker_rss_mb']:.0f} MB)"
          + (f", socket errors {errors}" if errors else ""), flush=True)
    target.results.append(result)
    return result


def start_appcreds(args, workdir: Path, stack: contextlib.ExitStack) -> list[Target]:
    """Instance folder, applications, then each server kind asked for on it; checks one token of each kind.

    Every server shares one instance and one issuer (not tied to a port), so the same applications,
    grants and keys serve each, and the numbers compare the servers alone. Returns the targets.
    """
    instance = workdir / "instance"
    issuer = ISSUER
    audience = issuer + "api/demo/"
    flask_cli(instance, issuer, "setup")
    created = json.loads(flask_cli(instance, issuer, "clients", "create", "Bench client_secret_basic",
                                   "--app-type", "non_interactive", "--grant", audience, "--scope", SCOPE, "--json"))
    authorizations = create_applications(instance, issuer, args.applications, workdir) if args.applications else None
    pkjwt_ok, pkjwt_reason = private_key_jwt_available()
    if pkjwt_ok:
        try:
            pkjwt_client_id, private_pem = setup_private_key_jwt_client(instance, issuer, workdir)
        except RuntimeError as error:  # the CLI half of the feature may not have landed yet
            last_line = str(error).strip().splitlines()[-1]
            pkjwt_ok, pkjwt_reason = False, f"could not register a key ({last_line})"

    kinds = ["gunicorn", "granian"] if args.server == "both" else [args.server]
    targets = []
    for kind in kinds:
        targets += start_server(kind, args, workdir, stack, instance, created,
                                (pkjwt_client_id, private_pem) if pkjwt_ok else None, pkjwt_reason, authorizations)
    for alg in args.also_alg:
        targets += start_other_algorithm(alg, kinds, args, workdir, stack)
    return targets


def start_other_algorithm(alg: str, kinds: list[str], args, workdir: Path, stack) -> list[Target]:
    """--also-alg: an instance of its own whose access tokens are signed with `alg`, and its
    client_secret_basic target on each server kind (nothing else differs from the main instance)."""
    instance = workdir / f"instance-{alg}"
    (workdir / f"instance-{alg}.alg").write_text(alg)
    flask_cli(instance, ISSUER, "setup")
    created = json.loads(flask_cli(instance, ISSUER, "clients", "create", f"Bench {alg}", "--app-type",
                                   "non_interactive", "--grant", ISSUER + "api/demo/", "--scope", SCOPE, "--json"))
    targets = []
    for kind in kinds:
        for target in start_server(kind, args, workdir, stack, instance, created, None,
                                   f"measured with {ISSUER}'s default algorithm only", None):
            if target.make_load is not None:  # its client_secret_basic target only
                target.label = target.label.replace("client_secret_basic", f"client_secret_basic {alg}")
                targets.append(target)
    return targets


def start_server(kind, args, workdir, stack, instance, created, pkjwt, pkjwt_reason,
                 authorizations: Path | None) -> list[Target]:
    """One server of `kind` on the shared instance, and its targets (labelled with the server when several).

    `authorizations`: the --applications' Authorization headers, or None.
    """
    issuer, audience = ISSUER, ISSUER + "api/demo/"
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    extra = args.gunicorn_arg if kind == "gunicorn" else args.granian_arg
    server = stack.enter_context(running(SERVERS[kind], workdir / f"{kind}.log", instance, issuer, port,
                                         args.workers, extra))
    wait_for_http(base_url + "/.well-known/jwks.json", server)
    name = "AppCreds" if args.server != "both" else f"AppCreds {kind}"
    token_url = base_url + "/oauth/token"
    discovery = base_url + "/.well-known/oauth-authorization-server"
    body = urlencode({"grant_type": "client_credentials", "audience": audience, "scope": SCOPE})
    authorization = basic(created["client_id"], created["client_secret"])
    check_one_token(name, token_url, body, authorization, discovery, issuer, audience)
    secret_target = Target(f"{name} client_secret_basic", server,
                           lambda: loadgen.Load(token_url, body, authorization, connection_close=args.close))
    targets = [secret_target]
    if authorizations is not None:
        first = authorizations.read_text().split("\n", 1)[0]
        check_one_token(f"{name} {args.applications} applications", token_url, body, first, discovery, issuer,
                        audience)
        targets.append(Target(f"{name} client_secret_basic, {args.applications} applications", server,
                              lambda: loadgen.Load(token_url, body, connection_close=args.close,
                                                   authorizations=authorizations),
                              warmup=args.applications_warmup))
    if pkjwt is None:
        print(f"{name} private_key_jwt: skipped, {pkjwt_reason}", flush=True)
        targets.append(Target(f"{name} private_key_jwt (skipped: {pkjwt_reason})", server, None))
        return targets
    pkjwt_client_id, private_pem = pkjwt

    prefix = urlencode({"grant_type": "client_credentials", "audience": audience, "scope": SCOPE,
                        "client_id": pkjwt_client_id, "client_assertion_type": ASSERTION_TYPE}) + "&client_assertion="
    one = _sign_assertions(private_pem, pkjwt_client_id, issuer, 1)[0]
    check_one_token(f"{name} private_key_jwt", token_url, prefix + one, "", discovery, issuer, audience)
    targets.append(Target(f"{name} private_key_jwt", server, assertion_loads(
        args, workdir, kind, secret_target, private_pem, pkjwt_client_id, issuer, token_url, prefix, args.close)))
    return targets


def assertion_loads(args, workdir: Path, name: str, secret_target: Target, private_pem: bytes, client_id: str,
                    audience: str, token_url: str, prefix: str, connection_close: bool = False):
    """What builds each round's private_key_jwt load: a fresh file of assertions, 1.5 x what the same
    server's client_secret_basic managed in its last round, plus a margin."""
    batches = iter(range(1_000_000))

    def load() -> loadgen.Load:
        rate = secret_target.results[-1]["rps"] if secret_target.results else 3000
        count = args.assertions or int(rate * (args.warmup + args.seconds) * 1.5) + 1000
        path = workdir / f"assertions-{name}-{next(batches)}.txt"
        took = write_assertions(private_pem, client_id, audience, count, path)
        print(f"  (signed {count} client assertions for {name} in {took:.1f} s)", flush=True)
        return loadgen.Load(token_url, prefix, "", connection_close=connection_close, assertions=path)

    return load


def start_peer(args, workdir: Path, stack: contextlib.ExitStack) -> list[Target]:
    ensure_peer_installed()
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    audience = issuer + "/api/demo/"
    client_id, secret = "bench-peer-client", os.urandom(32).hex()
    pkjwt_client_id, private_pem, public_jwk = "bench-peer-pkjwt-client", *rsa_key_pair()
    jwk_file = workdir / "peer-pkjwt.jwk.json"
    jwk_file.write_text(json.dumps(public_jwk))
    server = stack.enter_context(running(start_peer_process, workdir / "peer.log", port, args.workers,
                                         client_id, secret, pkjwt_client_id, jwk_file))
    wait_for_http(issuer + "/.well-known/openid-configuration", server)
    token_url = issuer + "/token"
    body = urlencode({"grant_type": "client_credentials", "resource": audience, "scope": SCOPE})
    authorization = basic(client_id, secret)
    sample = check_one_token("peer", token_url, body, authorization, issuer + "/.well-known/openid-configuration",
                             issuer, audience)
    print(f"peer issued a JWT that verifies against its JWKS: header {sample['header']}, "
          f"claims {sorted(sample['claims'])}", flush=True)
    targets = [Target(PEER, server, lambda: loadgen.Load(token_url, body, authorization))]
    if args.peer_close:
        targets.append(Target(PEER_CLOSE, server,
                              lambda: loadgen.Load(token_url, body, authorization, connection_close=True)))

    # private_key_jwt: node-oidc-provider 9 takes its issuer identifier as the assertion's audience.
    prefix = urlencode({"grant_type": "client_credentials", "resource": audience, "scope": SCOPE,
                        "client_id": pkjwt_client_id, "client_assertion_type": ASSERTION_TYPE}) + "&client_assertion="
    one = _sign_assertions(private_pem, pkjwt_client_id, issuer, 1)[0]
    check_one_token("peer private_key_jwt", token_url, prefix + one, "", issuer + "/.well-known/openid-configuration",
                    issuer, audience)
    targets.append(Target(PEER_PKJWT, server, assertion_loads(
        args, workdir, "peer", targets[0], private_pem, pkjwt_client_id, issuer, token_url, prefix)))
    return targets


def rsa_key_pair() -> tuple[bytes, dict]:
    """A new RSA key: its private half as PKCS#8 PEM, its public half as an RS256 JWK."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    numbers = key.public_key().public_numbers()

    def b64_int(value: int) -> str:
        return base64.urlsafe_b64encode(value.to_bytes((value.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()

    jwk = {"kty": "RSA", "n": b64_int(numbers.n), "e": b64_int(numbers.e), "alg": "RS256", "use": "sig"}
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    return private_pem, jwk


@contextlib.contextmanager
def running(start, log_path: Path, *start_args):
    """Start a server with its output in `log_path`; stop it by its handle, print its log's tail on failure."""
    log = open(log_path, "w")  # noqa: SIM115
    process = None
    try:
        process = start(*start_args, log)
        yield process
    except BaseException:
        log.flush()
        tail = log_path.read_text().splitlines()[-30:]
        print(f"{log_path.name} (last lines):\n  " + "\n  ".join(tail), file=sys.stderr)
        raise
    finally:
        stop(process)
        log.close()


def versions() -> dict:
    found = {"python": platform.python_version(), "cores": os.cpu_count(), "server_python": server_python()}
    for name, command in (("wrk", ["wrk", "--version"]), ("node", ["node", "--version"]),
                          ("gunicorn", [str(VENV_BIN / "gunicorn"), "--version"])):
        try:
            completed = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
            found[name] = (completed.stdout or completed.stderr).strip().splitlines()[0]
        except (OSError, IndexError):
            found[name] = None
    package = PEER_DIR / "node_modules" / "oidc-provider" / "package.json"
    if package.exists():
        found["oidc-provider"] = json.loads(package.read_text())["version"]
    return found


def server_python() -> str | None:
    """The interpreter that serves AppCreds: its version, path, and which of the build options that
    matter for speed its configure line names (a distribution's build may use PGO and LTO without
    naming them there: Debian's does)."""
    probe = ("import sys, sysconfig; args = sysconfig.get_config_var('CONFIG_ARGS') or ''; "
             "named = [o for o in ('--enable-optimizations', '--with-lto') if o in args]; "
             "print(sys.version.split()[0], sys.executable, *(['configured with', *named] if named else []))")
    try:
        completed = subprocess.run([str(VENV_BIN / "python"), "-c", probe], capture_output=True, text=True,
                                   timeout=30, check=False)
    except OSError:
        return None
    return completed.stdout.strip() or None


def summarize(targets: list[Target]) -> list[dict]:
    """Per target: median req/s, p50, p99, CPU ms/req over the rounds, and the ratios to the peer.

    A ratio is taken within each round (adjacent runs see about the same load from others) and
    the median of those is reported.
    """
    peer = next((t for t in targets if t.label == PEER), None)
    peer_close = next((t for t in targets if t.label == PEER_CLOSE), None)
    peer_pkjwt = next((t for t in targets if t.label == PEER_PKJWT), None)
    rows = []
    for target in targets:
        if not target.results:
            rows.append({"label": target.label})
            continue
        row = {"label": target.label, "rounds": len(target.results),
               "rps_each": [round(r["rps"]) for r in target.results]}
        for key in ("rps", "p50_ms", "p99_ms", "server_cpu_ms_per_request", "others_cores"):
            row[key] = statistics.median(r[key] for r in target.results)
        # Like with like: a private_key_jwt target is divided by the peer's private_key_jwt.
        like = peer_pkjwt if "private_key_jwt" in target.label and peer_pkjwt is not None else peer
        for name, other in (("ratio_to_peer", like), ("ratio_to_peer_close", peer_close)):
            if other is not None and other.results:
                row[name] = statistics.median(
                    mine["rps"] / theirs["rps"] for mine, theirs in zip(target.results, other.results, strict=True))
                row[name.replace("ratio", "cpu_ratio")] = statistics.median(
                    mine["server_cpu_ms_per_request"] / theirs["server_cpu_ms_per_request"]
                    for mine, theirs in zip(target.results, other.results, strict=True))
        rows.append(row)
    return rows


def print_table(rows: list[dict]) -> None:
    with_peer = any("ratio_to_peer" in row for row in rows)
    with_close = any("ratio_to_peer_close" in row for row in rows)
    width = max([30, *(len(row["label"]) for row in rows if "rps" in row)])
    header = f"{'target':<{width}} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'CPU ms/req':>10} {'others':>6}"
    header += f" {'/ peer':>7}" if with_peer else ""
    header += f" {'/ peer close':>12}" if with_close else ""
    print("\n" + header + "\n" + "-" * len(header))
    for row in rows:
        if "rps" not in row:
            print(row["label"])
            continue
        line = (f"{row['label']:<{width}} {row['rps']:>7.0f} {row['p50_ms']:>7.1f} {row['p99_ms']:>7.1f}"
                f" {row['server_cpu_ms_per_request']:>10.2f} {row['others_cores']:>6.2f}")
        line += f" {row['ratio_to_peer']:>7.2f}" if "ratio_to_peer" in row else ""
        line += f" {row['ratio_to_peer_close']:>12.2f}" if "ratio_to_peer_close" in row else ""
        print(line)
    rounds = max((row.get("rounds", 0) for row in rows), default=0)
    print(f"\n{'medians over ' + str(rounds) + ' rounds; ' if rounds > 1 else ''}"
          "req/s ratios: AppCreds / peer within a round (higher is better for AppCreds); private_key_jwt\n"
          "  rows are divided by the peer's private_key_jwt, the others by the peer's client_secret_basic.\n"
          "CPU ms/req: CPU time of the server's processes during the run / its requests (lower is better).\n"
          "others: cores busy with other work on the machine during the run (not the server, not wrk);\n"
          "  above about 0.3 the run competed for the 2 cores and its req/s is low.")
    for row in rows:
        if "cpu_ratio_to_peer" in row and not row["label"].startswith("peer"):
            print(f"{row['label']}: {row['cpu_ratio_to_peer']:.2f}x the peer's CPU per token")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured duration per target and round (max 180)")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured load before each measured run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers, and the peer's cluster workers")
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure every target this many times, alternating (medians are reported)")
    parser.add_argument("--gunicorn-arg", action="append", default=[], metavar="ARG",
                        help="pass ARG to gunicorn (repeatable), e.g. --gunicorn-arg=--worker-class=gthread")
    parser.add_argument("--server", choices=("gunicorn", "granian", "both"), default="gunicorn",
                        help="which server runs AppCreds; both: measured side by side in the same run")
    parser.add_argument("--granian-arg", action="append", default=[], metavar="ARG",
                        help="pass ARG to granian (repeatable), e.g. --granian-arg=--blocking-threads=1")
    parser.add_argument("--close", action="store_true",
                        help="send Connection: close to AppCreds (a new TCP connection per request, as behind a "
                             "proxy without upstream keep-alive); gunicorn's default sync worker closes anyway")
    parser.add_argument("--peer", action="store_true", help="also benchmark node-oidc-provider (bench/node_peer)")
    parser.add_argument("--no-peer-close", dest="peer_close", action="store_false",
                        help="skip the peer run with Connection: close (gunicorn sync workers close each connection)")
    parser.add_argument("--ref", help="benchmark this committed revision (e.g. HEAD), exported to a temporary "
                        "folder, instead of the work tree as it is now")
    parser.add_argument("--also-alg", action="append", default=[], choices=("PS256", "ES256", "EdDSA"),
                        help="also measure client_secret_basic with access tokens signed this way (its own instance)")
    parser.add_argument("--applications", type=int, default=0, metavar="N",
                        help="also measure N client_secret_basic applications called round-robin (each worker "
                             "keeps APPCREDS_CLIENT_SNAPSHOT_CAPACITY of them, 10,000 unless set)")
    parser.add_argument("--applications-warmup", type=float, default=None, metavar="SECONDS",
                        help="the --applications target's warm-up in its first round (default: --warmup); long "
                             "enough for every worker to load every application: a few times workers x N requests")
    parser.add_argument("--venv", default=None, metavar="DIR",
                        help="the virtual environment whose python, gunicorn and granian serve AppCreds (default "
                             ".venv), e.g. one on a CPython built with PGO and LTO (README, Performance)")
    parser.add_argument("--generator", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--assertions", type=int, default=0, help="private_key_jwt assertions to pre-sign per round "
                        "(default: 1.5 x the client_secret_basic rate x (warm-up + seconds) + 1000)")
    args = parser.parse_args(argv)
    if not 1 <= args.seconds <= 180 or not 0 < args.warmup <= 30 or not 1 <= args.rounds <= 10:
        parser.error("--seconds must be 1..180, --warmup 0..30 (assertions expire after 280 s), --rounds 1..10")
    if not 1 <= args.connections <= 1000 or not 1 <= args.workers <= 16:
        parser.error("--connections must be 1..1000 and --workers 1..16")
    if not 0 <= args.applications <= 1_000_000:
        parser.error("--applications must be 0..1000000")
    if args.applications_warmup is not None and not 0 < args.applications_warmup <= 1800:
        parser.error("--applications-warmup must be 0..1800 seconds")
    if args.venv is not None:
        global VENV_BIN
        VENV_BIN = Path(args.venv).resolve() / "bin"
        if not (VENV_BIN / "granian").exists() and not (VENV_BIN / "gunicorn").exists():
            parser.error(f"{args.venv} has neither gunicorn nor granian: pip install -e '.[granian]' into it first")
    if args.generator == "auto":
        args.generator = "wrk" if loadgen.have_wrk() else "python"
        if args.generator == "python":
            print("wrk not found (apt-get install -y wrk): using the Python load generator, which competes "
                  "harder for the 2 cores", file=sys.stderr)

    info = versions()
    with tempfile.TemporaryDirectory(prefix="appcreds-bench-") as tmp, contextlib.ExitStack() as stack:
        workdir = Path(tmp)
        info["source"] = use_revision(args.ref, workdir / "src") if args.ref else "work tree"
        rows, results = run_benchmark(args, info, workdir, stack)
    print_table(rows)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"token_endpoint-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps({"args": vars(args), "versions": info, "summary": rows,
                               "runs": [{k: v for k, v in r.items() if k != "raw"} for r in results]}, indent=2))
    print(f"results written to {out.relative_to(ROOT)}")
    return 0


def run_benchmark(args, info: dict, workdir: Path, stack: contextlib.ExitStack) -> tuple[list[dict], list[dict]]:
    servers = {"gunicorn": " ".join(["gunicorn", *args.gunicorn_arg]),
               "granian": " ".join(["granian", *args.granian_arg])}
    server = " and ".join(servers.values()) if args.server == "both" else servers[args.server]
    print(f"token endpoint benchmark of {info['source']}: {args.rounds} round(s) of {args.seconds:g} s per target "
          f"after {args.warmup:g} s warm-up; {args.connections} connections, {server} with {args.workers} workers, "
          f"generator {args.generator}; Python {info['server_python']}; load average "
          f"{os.getloadavg()[0]:.1f} on {info['cores']} cores", flush=True)
    targets = start_appcreds(args, workdir, stack)
    if args.peer:
        targets += start_peer(args, workdir, stack)
    for round_number in range(1, args.rounds + 1):
        for target in targets:
            if target.make_load is not None:
                measure(target, args, round_number)
    return summarize(targets), [r for t in targets for r in t.results]


if __name__ == "__main__":
    sys.exit(main())
