"""Where a token request's time goes, in process: N requests through Flask's test client.

    .venv/bin/python bench/profile_token.py [--requests 2000] [--top 25] [--sort cumulative]

Sets up a throwaway instance folder and a client_secret_basic application the way
bench/token_endpoint.py does, then:
1. times N requests without a profiler (the baseline per request, wall and CPU);
2. times the token path's parts one by one, without a profiler (cProfile inflates Python-heavy
   code such as SQLAlchemy several-fold next to C code such as the RSA signature);
3. runs N more requests under cProfile and prints the top entries.
No HTTP server, socket or gunicorn is involved: this is the application's own cost per
request. Log lines go to a file, as they do under gunicorn, not to the terminal.
"""
import argparse
import cProfile
import io
import json
import logging
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import token_endpoint
from token_endpoint import (
    ASSERTION_TYPE,
    SCOPE,
    basic,
    flask_cli,
    private_key_jwt_available,
    setup_private_key_jwt_client,
    write_assertions,
)
from werkzeug.test import EnvironBuilder

from models.client_secrets import check_client_secret
from models.state import app_state

ISSUER = "http://127.0.0.1:5000/"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--method", choices=("client_secret_basic", "private_key_jwt"), default="client_secret_basic")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--sort", default="cumulative", help="pstats sort key: cumulative, tottime, ...")
    parser.add_argument("--callers", action="append", metavar="REGEX",
                        help="also print who calls the functions matching REGEX (repeatable)")
    parser.add_argument("--ref", help="profile this committed revision (e.g. HEAD), exported to a temporary "
                        "folder, instead of the work tree as it is now")
    args = parser.parse_args(argv)
    if not 1 <= args.requests <= 100_000 or not 0 <= args.warmup <= 10_000:
        parser.error("--requests must be 1..100000 and --warmup 0..10000")

    with tempfile.TemporaryDirectory(prefix="appcreds-profile-") as tmp:
        workdir = Path(tmp)
        source = token_endpoint.use_revision(args.ref, workdir / "src") if args.ref else "the work tree"
        print(f"profiling {source}")
        sys.path.insert(0, str(token_endpoint.APP_ROOT))  # where `app` and its packages are imported from
        instance = workdir / "instance"
        audience = ISSUER + "api/demo/"
        flask_cli(instance, ISSUER, "setup")
        body = urlencode({"grant_type": "client_credentials", "audience": audience, "scope": SCOPE})
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        if args.method == "client_secret_basic":
            created = json.loads(flask_cli(instance, ISSUER, "clients", "create", "Profile", "--app-type",
                                           "non_interactive", "--grant", audience, "--scope", SCOPE, "--json"))
            client_id, secret = created["client_id"], created["client_secret"]
            headers = {**form, "Authorization": basic(client_id, secret)}

            def next_body():
                return body
        else:
            available, reason = private_key_jwt_available()
            if not available:
                raise SystemExit(f"private_key_jwt: {reason}")
            client_id, private_pem = setup_private_key_jwt_client(instance, ISSUER, workdir)
            secret, headers = None, form
            count = args.warmup + 2 * args.requests + 1  # +1: the environ template below takes one
            took = write_assertions(private_pem, client_id, ISSUER, count, workdir / "assertions.txt")
            print(f"(signed {count} client assertions in {took:.1f} s)")
            assertions = iter((workdir / "assertions.txt").read_text().splitlines())
            prefix = body + "&" + urlencode({"client_id": client_id, "client_assertion_type": ASSERTION_TYPE})

            def next_body():
                return f"{prefix}&client_assertion={next(assertions)}"

        # Before create_app, whose basicConfig is then a no-op: log lines to a file, like gunicorn's log.
        logging.basicConfig(filename=str(workdir / "app.log"), level=logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        from app import create_app

        app = create_app({"INSTANCE_PATH": str(instance), "APPCREDS_ISSUER": ISSUER})
        # One WSGI environ as a server builds it, copied per request with a fresh body: the app's own
        # cost, without the test client's environ building (which a server does not do in Python).
        environ = EnvironBuilder(path="/oauth/token", method="POST", base_url=ISSUER, data=next_body(),
                                 headers=headers).get_environ()

        def one():
            data = next_body().encode()
            request_environ = {**environ, "wsgi.input": io.BytesIO(data), "CONTENT_LENGTH": str(len(data)),
                               "REMOTE_ADDR": "127.0.0.1"}
            status = []
            chunks = app.wsgi_app(request_environ, lambda s, h, exc_info=None: status.append(s))
            body_bytes = b"".join(chunks)
            if hasattr(chunks, "close"):
                chunks.close()
            if not status[0].startswith("200"):
                raise SystemExit(f"token request failed: {status[0]} {body_bytes.decode()}")

        for _ in range(args.warmup):
            one()
        started, cpu_started = time.perf_counter(), time.process_time()
        for _ in range(args.requests):
            one()
        per_request = (time.perf_counter() - started) / args.requests
        cpu_per_request = (time.process_time() - cpu_started) / args.requests
        print(f"{args.method}: {args.requests} requests without profiler: {per_request * 1e6:.0f} µs wall, "
              f"{cpu_per_request * 1e6:.0f} µs CPU per request ({1 / cpu_per_request:.0f} req/s per core, in process)")
        print_breakdown(app, args.method, client_id, secret, audience, body, headers, cpu_per_request)

        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.requests):
            one()
        profiler.disable()
        app_state(app).events.flush()

        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats(args.sort).print_stats(args.top)
        print(f"\ncProfile, {args.requests} requests, top {args.top} by {args.sort} "
              f"(per-request µs = cumtime / {args.requests} x 1e6):")
        print("\n".join(line for line in out.getvalue().splitlines()
                        if line.strip() and not line.lstrip().startswith(("Ordered by", "List reduced"))))
        print_by_package(stats, args.requests)
        if args.callers:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("tottime").print_callers(*args.callers)
            print(out.getvalue())
    return 0


def package_of(filename: str) -> str:
    """'sqlalchemy' for .../site-packages/sqlalchemy/orm/x.py, 'blueprints' for our code, ..."""
    if filename.startswith("~") or filename == "<string>":
        return "builtins (C)"
    path = Path(filename)
    parts = path.parts
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1].removesuffix(".py")
    root = token_endpoint.APP_ROOT  # the work tree, or the exported revision
    if path.is_relative_to(root):
        return f"appcreds: {path.relative_to(root).parts[0]}"
    library = next((i for i, part in enumerate(parts) if part.startswith("python3")), None)
    if library is not None and library + 1 < len(parts):
        return f"stdlib: {parts[library + 1].removesuffix('.py')}"
    return f"other: {path.stem}"


def c_package_of(name: str) -> str:
    """"<method 'sign' of 'cryptography...RSAPrivateKey' objects>" -> "C: cryptography"."""
    import re

    match = re.search(r" of '([\w]+)", name) or re.search(r"built-in method ([\w]+)\.", name)
    return f"C: {match.group(1)}" if match else "C: builtins"


def print_by_package(stats: pstats.Stats, requests: int) -> None:
    """Own time (tottime) summed by the package the code lives in: which library the time goes to."""
    totals: dict[str, float] = {}
    for (filename, _, name), (_, _, tottime, _, _) in stats.stats.items():
        package = package_of(filename)
        if package == "builtins (C)":  # C functions: name them by their module, e.g. the RSA signature
            package = c_package_of(name)
        totals[package] = totals.get(package, 0.0) + tottime
    grand = sum(totals.values())
    print("\nown time by package under cProfile (µs per request; the profiler inflates Python code more than C):")
    for package, seconds in sorted(totals.items(), key=lambda item: -item[1])[:15]:
        print(f"  {seconds / requests * 1e6:8.0f} µs  {100 * seconds / grand:5.1f} %  {package}")


def cpu_microseconds(function, calls: int = 300, batches: int = 5) -> float:
    """Median CPU µs per call over `batches` batches of `calls` calls."""
    samples = []
    for _ in range(batches):
        started = time.process_time()
        for _ in range(calls):
            function()
        samples.append((time.process_time() - started) / calls * 1e6)
    return statistics.median(samples)


def print_breakdown(app, method, client_id, secret, audience, body, headers, cpu_per_request) -> None:
    """CPU µs of each part of the token path, measured alone (no profiler)."""
    import uuid

    from blueprints.oauth.client_auth import query_client, record_attempt
    from blueprints.oauth.tokens import issue_access_token

    state = app_state(app)

    def context():
        return app.test_request_context("/oauth/token", method="POST", data=body, headers=headers)

    def empty_context():
        with context():
            pass

    def query_in_fresh_context():
        # A fresh context, as each request has: session, pool checkout, query, rollback on teardown.
        with context():
            query_client(client_id)

    def query_and_credentials_in_fresh_context():
        with context():
            list(query_client(client_id).credentials)  # private_key_jwt reads the keys on every request

    # Outside any context, so that each call gets a fresh one, as a request does.
    measured = [(label, cpu_microseconds(function)) for label, function in (
        ("request + app context push/pop, no view", empty_context),
        ("  + load application and grants (query_client in a fresh context)", query_in_fresh_context),
    )]
    if method == "private_key_jwt":
        measured.append(("  + and its credentials (lazy load of client.credentials)",
                         cpu_microseconds(query_and_credentials_in_fresh_context)))
    with context():
        client = query_client(client_id)
        attempt = {"endpoint": "token", "method": method, "client_id_sent": client_id, "client": client}
        parts = [("signing key lookup (stat of signing-keys.json)", state.signing_keys.current),
                 ("sign the access token (issue_access_token, RS256)", lambda: issue_access_token(
                     client, audience, ["read:demo"], subject=f"{client_id}@clients")),
                 ("record the attempt (buffer + INFO log line)", lambda: record_attempt(
                     attempt, "success", "authenticated", f"authenticated with {method}"))]
        if method == "client_secret_basic":
            parts.insert(0, ("check secret (HMAC-SHA256, compare_digest)", lambda: check_client_secret(client, secret)))
        else:
            from blueprints.oauth.client_auth import private_key_jwt

            def record_a_jti():
                private_key_jwt.record_jti(client, {"jti": uuid.uuid4().hex, "exp": time.time() + 60})

            parts.insert(0, ("record the jti (its own write transaction)", record_a_jti))
        measured += [(label, cpu_microseconds(function)) for label, function in parts]
    total = cpu_per_request * 1e6
    print(f"\nparts of the token path, CPU µs per call, each measured alone (whole request: {total:.0f} µs):")
    for label, microseconds in measured:
        print(f"  {microseconds:8.0f} µs  {100 * microseconds / total:5.1f} %  {label}")
    loading = measured[-len(parts) - 1][1]  # the last of the fresh-context rows includes the ones above it
    print(f"  (the rest, about {total - loading - sum(m for _, m in measured[-len(parts):]):.0f} µs, is Flask "
          "routing, form parsing, Authlib's flow, the assertion checks and the JSON response)")
    state.events.flush()


if __name__ == "__main__":
    sys.exit(main())
