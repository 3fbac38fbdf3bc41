"""`flask --app app demo seed`: the demo tenant, its files and demo.json (blueprints/cli/demo.py)."""
import json
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography import x509

from models import AuthEvent, Client, ClientGrant, Credential, User, db
from models.applications import find_application
from models.auth_methods import JAR
from tests.servers import ROOT

ISSUER = "http://127.0.0.1:5000/"  # the default issuer, which the app fixture keeps
SEEDED_METHODS = {
    "client_secret_basic": "client_secret_basic",
    "client_secret_post": "client_secret_post",
    "private_key_jwt": "private_key_jwt",
    "tls_client_auth": "tls_client_auth",
    "self_signed_tls_client_auth": "self_signed_tls_client_auth",
    "authorization_code": "client_secret_basic",
    "management_api": "client_secret_basic",
}


@pytest.fixture
def demo_dir(tmp_path):
    return tmp_path / "demo"


@pytest.fixture
def seeded(runner, demo_dir):
    """demo.json's content after one seed."""
    result = runner.invoke(args=["demo", "seed", "--out", str(demo_dir)])
    assert result.exit_code == 0, result.output
    assert "examples/client_secret_basic.py" in result.output  # what to run next
    return json.loads((demo_dir / "demo.json").read_text())


def snapshot(app, demo_dir) -> dict:
    """Row counts, every event, and each file's bytes and mode."""
    with app.app_context():
        counts = {model.__name__: db.session.query(model).count()
                  for model in (Client, Credential, ClientGrant, User, AuthEvent)}
    files = {path.name: (path.read_bytes(), stat.S_IMODE(path.stat().st_mode)) for path in demo_dir.iterdir()}
    return {"counts": counts, "files": files}


def test_seeding_twice_changes_nothing_and_says_so(app, runner, seeded, demo_dir):
    before = snapshot(app, demo_dir)
    result = runner.invoke(args=["demo", "seed", "--out", str(demo_dir)])
    assert result.exit_code == 0, result.output
    assert "nothing changed" in result.output
    assert "examples/private_key_jwt.py" in result.output
    assert snapshot(app, demo_dir) == before


def test_demo_json_has_the_documented_shape(seeded, demo_dir):
    assert set(seeded) == {"issuer", "token_endpoint", "authorization_endpoint", "par_endpoint", "demo_api",
                           "management_api", "user", "mtls", "applications"}
    assert seeded["issuer"] == ISSUER
    assert (seeded["token_endpoint"], seeded["authorization_endpoint"], seeded["par_endpoint"]) == (
        ISSUER + "oauth/token", ISSUER + "authorize", ISSUER + "oauth/par")
    assert seeded["demo_api"] == {"audience": ISSUER + "api/demo/", "scope": "read:demo"}
    assert seeded["management_api"] == {"audience": ISSUER + "api/v2/"}
    assert seeded["user"]["email"] == "demo-user@example.com" and len(seeded["user"]["password"]) >= 8
    assert seeded["mtls"]["ca_certificate"] == "demo-ca.crt"
    applications = seeded["applications"]
    assert set(applications) == set(SEEDED_METHODS)
    for role in ("client_secret_basic", "client_secret_post", "management_api"):
        assert set(applications[role]) == {"client_id", "client_secret"}
    assert [set(key) for key in applications["private_key_jwt"]["keys"]] == [{"kid", "alg", "private_key"}] * 2
    for role in ("tls_client_auth", "self_signed_tls_client_auth"):
        assert set(applications[role]) == {"client_id", "certificate", "private_key"}
    assert set(applications["authorization_code"]) == {"client_id", "client_secret", "redirect_uri", "jar_key"}
    assert applications["authorization_code"]["redirect_uri"] == "http://127.0.0.1:8976/callback"
    # demo.json holds secrets; private keys are the application's alone.
    assert stat.S_IMODE((demo_dir / "demo.json").stat().st_mode) == 0o600
    private_keys = [key["private_key"] for key in applications["private_key_jwt"]["keys"]]
    private_keys += [applications[role]["private_key"] for role in ("tls_client_auth", "self_signed_tls_client_auth")]
    private_keys.append(applications["authorization_code"]["jar_key"]["private_key"])
    for relative in private_keys:
        assert stat.S_IMODE((demo_dir / relative).stat().st_mode) == 0o600, relative
    assert not list(demo_dir.glob("demo-ca*.key")), "the CA's private key is never written"


def test_every_seeded_application_has_its_method_grant_and_credentials(app, seeded, demo_dir):
    applications = seeded["applications"]
    with app.app_context():
        clients = {role: find_application(entry["client_id"]) for role, entry in applications.items()}
        assert {role: client.token_endpoint_auth_method for role, client in clients.items()} == SEEDED_METHODS
        for role, client in clients.items():
            audience = ISSUER + ("api/v2/" if role == "management_api" else "api/demo/")
            assert [grant.audience for grant in client.grants] == [audience], role
        assert clients["client_secret_basic"].grant_for(ISSUER + "api/demo/").scopes == ["read:demo"]
        assert set(clients["management_api"].grant_for(ISSUER + "api/v2/").scopes) >= {
            "create:clients", "create:client_credentials"}
        # Private Key JWT: two keys, as demo.json names them, so an example can rotate.
        assert sorted(c.kid for c in clients["private_key_jwt"].credentials) == sorted(
            key["kid"] for key in applications["private_key_jwt"]["keys"])
        # tls_client_auth: the demo CA's certificate's subject DN, its issuer pinned.
        certificate = x509.load_pem_x509_certificate(
            (demo_dir / applications["tls_client_auth"]["certificate"]).read_bytes())
        ca = x509.load_pem_x509_certificate((demo_dir / "demo-ca.crt").read_bytes())
        [dn] = clients["tls_client_auth"].credentials
        assert (dn.subject_dn, dn.issuer_dn) == (certificate.subject.rfc4514_string(), ca.subject.rfc4514_string())
        [registered] = clients["self_signed_tls_client_auth"].credentials
        assert registered.pem.strip() == (demo_dir / applications["self_signed_tls_client_auth"]["certificate"]
                                          ).read_text().strip()
        web = clients["authorization_code"]
        assert web.app_type == "regular_web" and web.callback_urls == ["http://127.0.0.1:8976/callback"]
        jar_kid = applications["authorization_code"]["jar_key"]["kid"]
        assert [(c.usage, c.kid) for c in web.credentials] == [(JAR, jar_kid)]
        user = db.session.execute(db.select(User).where(User.email == "demo-user@example.com")).scalar_one()
        assert not user.is_admin and user.check_password(seeded["user"]["password"])
        # Every change is in the applications' logs, made through the command line.
        events = db.session.execute(db.select(AuthEvent)).scalars().all()
        assert events and {(event.endpoint, event.actor) for event in events} == {("cli", "command line")}
        assert {event.client_id_sent for event in events} == {entry["client_id"] for entry in applications.values()}


def test_a_deleted_application_is_named_with_how_to_start_over(runner, seeded, demo_dir):
    deleted = seeded["applications"]["client_secret_post"]["client_id"]
    assert runner.invoke(args=["clients", "delete", deleted]).exit_code == 0
    result = runner.invoke(args=["demo", "seed", "--out", str(demo_dir)])
    assert result.exit_code == 1
    assert f"the client_secret_post application ({deleted})" in result.output
    assert f"delete {demo_dir}" in result.output


def test_a_folder_without_demo_json_is_not_seeded_into(runner, demo_dir):
    demo_dir.mkdir()
    (demo_dir / "something.key").write_text("")
    result = runner.invoke(args=["demo", "seed", "--out", str(demo_dir)])
    assert result.exit_code == 1 and "no demo.json" in result.output
    assert [path.name for path in demo_dir.iterdir()] == ["something.key"]


def test_the_default_folder_is_demo_in_the_instance_folder(app, runner):
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    assert json.loads((Path(app.instance_path) / "demo" / "demo.json").read_text())["issuer"] == ISSUER


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_demo_sets_up_then_seeds_for_the_same_issuer():
    planned = subprocess.run(["make", "-n", "demo", "PORT=5077"], cwd=ROOT, capture_output=True, text=True,
                             check=True, env={"PATH": "/usr/bin:/bin"}).stdout
    commands = [line for line in planned.splitlines() if "flask --app app" in line]
    assert [line.split("flask --app app ")[1] for line in commands] == ["setup", "demo seed"]
    assert all(line.startswith("APPCREDS_ISSUER=http://127.0.0.1:5077/ ") for line in commands)
    assert "examples/client_secret_basic.py" in planned
