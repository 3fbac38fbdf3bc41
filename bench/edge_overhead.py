"""What the nginx mTLS edge adds per token request: sequential requests, same gunicorn, three ways.

    .venv/bin/python bench/edge_overhead.py [--requests 400]

1. straight to gunicorn (client_secret_post, plain HTTP on loopback);
2. through nginx with TLS, same client secret, no client certificate;
3. through nginx with a self-signed client certificate (self_signed_tls_client_auth, bound token).
Each uses one keep-alive connection to its target (requests.Session), so the TLS handshake is
paid once, as a real client with many tokens would; nginx opens a new upstream connection per
request. Reported: median and 90th-percentile latency, and the difference to (1).
"""
import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models import db  # noqa: E402
from models.applications import create_application, grant_api, set_auth_method  # noqa: E402
from models.credential_registry import add_certificate_credential  # noqa: E402
from tests.certificates import make_ca, self_signed_certificate, server_certificate, trusted_ca  # noqa: E402
from tests.conftest import _make_app  # noqa: E402
from tests.e2e.nginx import find_nginx, nginx_edge  # noqa: E402
from tests.servers import flask_cli, free_port, gunicorn  # noqa: E402

EDGE_SECRET = "bench-edge-secret"


def timed(session, url, count, **kwargs) -> list[float]:
    latencies = []
    for _ in range(count):
        start = time.perf_counter()
        response = session.post(url, timeout=10, **kwargs)
        latencies.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url}: {response.status_code} {response.text}")
    return latencies


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()
    if find_nginx() is None:
        raise SystemExit("nginx is not installed (apt-get install nginx)")
    tmp = Path(tempfile.mkdtemp(prefix="appcreds-edge-bench-"))
    instance = tmp / "instance"
    flask_cli(instance, "setup")
    (tmp / "client-ca.pem").write_text(trusted_ca().pem)
    server_ca = make_ca("Bench Edge CA")
    (tmp / "server-ca.pem").write_text(server_ca.pem)
    edge_cert, edge_key = server_certificate(server_ca).write(tmp, "edge")
    port = free_port()
    issuer = f"http://127.0.0.1:{port}/"
    env = {"APPCREDS_EDGE_SECRET": EDGE_SECRET, "APPCREDS_TRUSTED_PROXIES": "127.0.0.1/32",
           "APPCREDS_PROXY_FIX_HOPS": "1"}
    app = _make_app(instance, APPCREDS_ISSUER=issuer, APPCREDS_EDGE_SECRET=EDGE_SECRET)
    certificate = self_signed_certificate("edge bench")
    with app.app_context():
        secret_app, secret = create_application("bench secret", "non_interactive", "client_secret_post")
        mtls_app, _ = create_application("bench mtls", "non_interactive", "client_secret_post")
        for client in (secret_app, mtls_app):
            grant_api(client, issuer + "api/demo/", ["read:demo"])
        add_certificate_credential(mtls_app, certificate.pem)
        db.session.flush()
        set_auth_method(mtls_app, "self_signed_tls_client_auth")
        db.session.commit()
        secret_id, mtls_id = secret_app.client_id, mtls_app.client_id
    form = {"grant_type": "client_credentials", "audience": issuer + "api/demo/"}
    cert_paths = certificate.write(tmp, "client")
    with gunicorn(instance, workers=1, port=port, env=env) as upstream, \
            nginx_edge(tmp / "nginx", f"127.0.0.1:{port}", edge_cert, edge_key, tmp / "client-ca.pem",
                       EDGE_SECRET) as edge:
        runs = {
            "direct to gunicorn, client secret": (requests.Session(), upstream + "/oauth/token",
                                                  {"data": {**form, "client_id": secret_id, "client_secret": secret}}),
            "through nginx (TLS), client secret": (requests.Session(), edge + "/oauth/token",
                                                   {"data": {**form, "client_id": secret_id, "client_secret": secret},
                                                    "verify": str(tmp / "server-ca.pem")}),
            "through nginx, mTLS certificate": (requests.Session(), edge + "/oauth/token",
                                                {"data": {**form, "client_id": mtls_id}, "cert": cert_paths,
                                                 "verify": str(tmp / "server-ca.pem")}),
        }
        results = {}
        for session, url, kwargs in runs.values():
            timed(session, url, 30, **kwargs)  # warm up (TLS handshake, worker caches)
        for _ in range(2):  # alternate, so a slow moment does not land on one target only
            for name, (session, url, kwargs) in runs.items():
                results.setdefault(name, []).extend(timed(session, url, args.requests // 2, **kwargs))
    baseline = statistics.median(results["direct to gunicorn, client secret"])
    print(f"{'path':40} {'median ms':>10} {'p90 ms':>8} {'+ median ms':>12}")
    for name, latencies in results.items():
        median = statistics.median(latencies)
        p90 = statistics.quantiles(latencies, n=10)[-1]
        print(f"{name:40} {median:10.2f} {p90:8.2f} {median - baseline:12.2f}")


if __name__ == "__main__":
    main()
