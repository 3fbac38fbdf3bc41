"""Every script in examples/ against a live server seeded by `flask --app app demo seed`, so none rots.

gunicorn serves the seeded instance; the mTLS examples go through the shipped nginx edge
(deploy/nginx/appcreds-edge.conf) with the demo CA as its client CA bundle and the edge
certificate the seed issued. Each example runs as its own process with the venv's python, as a
learner would run it, and must exit 0 and print its key line.
"""
import json
import subprocess
import sys

import pytest

from tests.e2e.nginx import find_nginx, nginx_edge
from tests.servers import ROOT, flask_cli, free_port, gunicorn

pytestmark = pytest.mark.e2e
EDGE_SECRET = "an-edge-secret-for-the-examples"
needs_nginx = pytest.mark.skipif(find_nginx() is None, reason="nginx is not installed")


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    """A seeded instance served by gunicorn, ready for the edge; yields a small namespace."""
    tmp = tmp_path_factory.mktemp("examples")
    instance, demo_dir = tmp / "instance", tmp / "demo"
    port = free_port()
    issuer = {"APPCREDS_ISSUER": f"http://127.0.0.1:{port}/"}
    flask_cli(instance, "setup", env=issuer)
    seeded = flask_cli(instance, "demo", "seed", "--out", str(demo_dir), env=issuer)
    assert "examples/client_secret_basic.py" in seeded.stdout
    env = {**issuer, "APPCREDS_EDGE_SECRET": EDGE_SECRET, "APPCREDS_TRUSTED_PROXIES": "127.0.0.1/32",
           "APPCREDS_PROXY_FIX_HOPS": "1", "APPCREDS_MTLS_CA_BUNDLE": str(demo_dir / "demo-ca.crt")}
    with gunicorn(instance, port=port, env=env) as upstream:
        yield type("DemoServer", (), {"tmp": tmp, "instance": instance, "demo_dir": demo_dir, "port": port,
                                      "upstream": upstream, "issuer": issuer,
                                      "demo": json.loads((demo_dir / "demo.json").read_text())})


@pytest.fixture(scope="module")
def edge(demo_server):
    """The nginx edge in front of it, with the seed's edge certificate and the demo CA for clients."""
    if find_nginx() is None:
        pytest.skip("nginx is not installed")
    demo_dir = demo_server.demo_dir
    with nginx_edge(demo_server.tmp / "nginx", f"127.0.0.1:{demo_server.port}", demo_dir / "edge.crt",
                    demo_dir / "edge.key", demo_dir / "demo-ca.crt", EDGE_SECRET) as edge_url:
        yield edge_url


def run_example(demo_server, script, *options) -> str:
    """Run examples/SCRIPT with the seeded demo.json; returns its output, asserting exit code 0."""
    finished = subprocess.run([sys.executable, str(ROOT / "examples" / script), str(demo_server.demo_dir / "demo.json"),
                               *options], cwd=ROOT, capture_output=True, text=True, timeout=120)
    output = finished.stdout + finished.stderr
    assert finished.returncode == 0, output
    assert output.rstrip().endswith("OK"), output
    return output


@pytest.mark.parametrize("script, key_line", [
    ("client_secret_basic.py", "the demo API says client_id: {client_secret_basic}"),
    ("client_secret_post.py", "the demo API says client_id: {client_secret_post}"),
    ("authorization_code_jar_par.py", "state and iss: as expected"),
])
def test_example_runs_against_the_seeded_server(demo_server, script, key_line):
    client_ids = {role: entry["client_id"] for role, entry in demo_server.demo["applications"].items()}
    assert key_line.format(**client_ids) in run_example(demo_server, script)


def test_private_key_jwt_example_refuses_a_replay_and_rotates(demo_server):
    output = run_example(demo_server, "private_key_jwt.py")
    assert "error: invalid_client" in output  # the same assertion sent twice
    assert "both keys work" in output


def test_management_api_example_switches_its_application_and_deletes_it(demo_server):
    output = run_example(demo_server, "management_api.py")
    assert "'private_key_jwt': {'credentials': [{'id': 'cred_" in output
    created = next(line.split(": ")[1] for line in output.splitlines() if line.strip().startswith("client_id:"))
    assert f"deleted: {created}" in output
    gone = flask_cli(demo_server.instance, "clients", "delete", created, env=demo_server.issuer, check=False)
    assert gone.returncode != 0 and "no application" in gone.stderr


@needs_nginx
@pytest.mark.parametrize("script, key_line", [
    ("tls_client_auth.py", "cnf: {'x5t#S256': "),
    ("self_signed_tls_client_auth.py", "the token is bound to this certificate"),
    ("certificate_bound_token.py", "refused without the certificate"),
])
def test_mtls_example_runs_through_the_edge(demo_server, edge, script, key_line):
    edge_ca = str(demo_server.demo_dir / "demo-ca.crt")
    output = run_example(demo_server, script, "--edge-url", edge, "--edge-ca", edge_ca)
    assert key_line in output


@needs_nginx
def test_mtls_examples_read_the_edge_from_the_environment(demo_server, edge, monkeypatch):
    """APPCREDS_EDGE_URL names the edge; without APPCREDS_EDGE_CA the demo CA verifies it (it issued edge.crt)."""
    monkeypatch.setenv("APPCREDS_EDGE_URL", edge)
    monkeypatch.delenv("APPCREDS_EDGE_CA", raising=False)
    assert "the token is bound to this certificate" in run_example(demo_server, "self_signed_tls_client_auth.py")


def test_an_example_fails_with_exit_code_1_and_the_reason(demo_server, tmp_path):
    broken = json.loads((demo_server.demo_dir / "demo.json").read_text())
    broken["applications"]["client_secret_post"]["client_secret"] = "not-the-secret"
    (tmp_path / "demo.json").write_text(json.dumps(broken))
    finished = subprocess.run([sys.executable, str(ROOT / "examples" / "client_secret_post.py"),
                               str(tmp_path / "demo.json")], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert finished.returncode == 1
    assert "FAILED" in finished.stderr and "invalid_client" in finished.stderr
