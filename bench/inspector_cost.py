"""What the inspector costs a token request, in process (no HTTP server, no network).

    .venv/bin/python bench/inspector_cost.py [--tokens 2000]

1. How many checks one token request records (`passed(...)` calls), for client_secret_basic and
   private_key_jwt, and what one call costs inside a request (timeit).
2. The CPU time per token through Flask's test client with the default setting (a success's
   inspection kept at most once a minute per application) and with every success kept
   (APPCREDS_INSPECT_SUCCESSES_EVERY=0: a JSON document built and stored with each event).
CPU time (time.process_time) rather than wall time, so another busy core matters less; the
figures are for comparing these two settings on one machine, not a throughput claim
(bench/token_endpoint.py measures that).
"""
import argparse
import sys
import tempfile
import time
import timeit
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from app import create_app  # noqa: E402
from blueprints.oauth import inspection  # noqa: E402
from models import db  # noqa: E402
from models.applications import create_application, find_application, grant_api, set_auth_method  # noqa: E402
from models.credential_registry import add_public_key_credential  # noqa: E402

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def make_app(instance: Path, successes_every: int):
    app = create_app({"INSTANCE_PATH": str(instance), "TESTING": True, "APPCREDS_EVENT_FLUSH_SECONDS": 0.5,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance}/appcreds.sqlite",
                      "APPCREDS_RATELIMIT_ENABLED": False, "APPCREDS_INSPECT_SUCCESSES_EVERY": successes_every})
    return app


def seed(app):
    """A client_secret_basic application and a private_key_jwt one, both granted the demo API."""
    with app.app_context():
        upgrade()
        audience = app.config["APPCREDS_ISSUER"] + "api/demo/"
        secret_app, secret = create_application("secret", "non_interactive", "client_secret_basic")
        grant_api(secret_app, audience, ["read:demo"])
        jwt_app, _ = create_application("jwt", "non_interactive", "client_secret_basic")
        grant_api(jwt_app, audience, ["read:demo"])
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        add_public_key_credential(jwt_app, "private_key_jwt", pem, alg="RS256")
        set_auth_method(find_application(jwt_app.client_id), "private_key_jwt")
        db.session.commit()
        return audience, (secret_app.client_id, secret), (jwt_app.client_id, key)


def assertion_for(client_id, key, issuer):
    import jwt

    now = int(time.time())
    return jwt.encode({"iss": client_id, "sub": client_id, "aud": issuer, "iat": now, "exp": now + 60,
                       "jti": uuid.uuid4().hex}, key, algorithm="RS256")


def cpu_per_token(app, audience, secret_pair, tokens: int) -> float:
    client = app.test_client()
    client_id, secret = secret_pair
    form = {"grant_type": "client_credentials", "audience": audience}
    for _ in range(50):  # warm up: snapshots, keys, the first kept inspection
        assert client.post("/oauth/token", data=form, auth=(client_id, secret)).status_code == 200
    start = time.process_time()
    for _ in range(tokens):
        client.post("/oauth/token", data=form, auth=(client_id, secret))
    return (time.process_time() - start) / tokens


def count_checks(app, audience, secret_pair, jwt_pair) -> dict:
    """passed(...) calls per request, counted by wrapping the function every module calls."""
    counts, real_passed = [], inspection.passed

    def counting(*args, **kwargs):
        counts[-1] += 1
        return real_passed(*args, **kwargs)

    modules = [m for name, m in sys.modules.items() if name.startswith("blueprints.oauth")
               and getattr(m, "passed", None) is real_passed]
    for module in modules:
        module.passed = counting
    try:
        client = app.test_client()
        counts.append(0)
        client.post("/oauth/token", data={"grant_type": "client_credentials", "audience": audience},
                    auth=secret_pair)
        counts.append(0)
        client.post("/oauth/token", data={"grant_type": "client_credentials", "audience": audience,
                                          "client_assertion_type": ASSERTION_TYPE,
                                          "client_assertion": assertion_for(*jwt_pair, app.config["APPCREDS_ISSUER"])})
    finally:
        for module in modules:
            module.passed = real_passed
    return {"client_secret_basic": counts[0], "private_key_jwt": counts[1]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=2000)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        instance = Path(folder) / "instance"
        app = make_app(instance, successes_every=60)
        audience, secret_pair, jwt_pair = seed(app)
        checks = count_checks(app, audience, secret_pair, jwt_pair)
        with app.test_request_context("/oauth/token", method="POST"):
            inspection.begin("client authentication")
            per_call = min(timeit.repeat(lambda: inspection.passed("a check", saw="x"), number=100_000,
                                         repeat=5)) / 100_000
        sampled = cpu_per_token(app, audience, secret_pair, arguments.tokens)
        every = cpu_per_token(make_app(instance, successes_every=0), audience, secret_pair, arguments.tokens)
    print(f"checks recorded per token: {checks}")
    print(f"one passed(...) call in a request: {per_call * 1e6:.2f} µs")
    for method, count in checks.items():
        print(f"  {method}: {count} calls = {count * per_call * 1e6:.1f} µs per token")
    print(f"client_secret_basic, CPU per token through the test client ({arguments.tokens} tokens):")
    print(f"  successes kept at most once a minute (default): {sampled * 1e3:.3f} ms")
    print(f"  every success kept (APPCREDS_INSPECT_SUCCESSES_EVERY=0): {every * 1e3:.3f} ms "
          f"({(every / sampled - 1) * 100:+.1f} %)")


if __name__ == "__main__":
    main()
