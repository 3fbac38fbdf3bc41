"""`flask --app app setup` and the CLI, run as real subprocesses against a fresh instance folder."""
import json
import stat

import pytest
from sqlalchemy import create_engine, inspect

from tests.servers import flask_cli

pytestmark = pytest.mark.e2e


@pytest.fixture
def fresh_instance(tmp_path):
    return tmp_path / "fresh-instance"


def test_setup_creates_private_files_migrates_and_is_idempotent(fresh_instance):
    first = flask_cli(fresh_instance, "setup", env={"APPCREDS_ADMIN_EMAIL": "Boss@Example.com"})
    assert "created administrator boss@example.com" in first.stdout
    assert "password (shown once" in first.stdout
    for name in ("secret_key", "encryption.key", "signing-keys.json", "appcreds.sqlite"):
        mode = stat.S_IMODE((fresh_instance / name).stat().st_mode)
        assert mode == 0o600, f"{name} has mode {oct(mode)}"
    keys_before = (fresh_instance / "signing-keys.json").read_text()

    second = flask_cli(fresh_instance, "setup")
    assert "an administrator exists already" in second.stdout
    assert (fresh_instance / "signing-keys.json").read_text() == keys_before

    tables = set(inspect(create_engine(f"sqlite:///{fresh_instance}/appcreds.sqlite")).get_table_names())
    assert {"alembic_version", "clients", "users", "client_grants", "credentials", "auth_events"} <= tables


def test_setup_uses_the_given_admin_password(fresh_instance):
    result = flask_cli(fresh_instance, "setup", env={"APPCREDS_ADMIN_EMAIL": "a@example.com",
                                                     "APPCREDS_ADMIN_PASSWORD": "a long password"})
    assert "password (shown once" not in result.stdout


def test_clients_commands(fresh_instance):
    flask_cli(fresh_instance, "setup")
    demo = "http://127.0.0.1:5000/api/demo/"
    created = json.loads(flask_cli(fresh_instance, "clients", "create", "Nightly job", "--app-type",
                                   "non_interactive", "--grant", demo, "--scope", "read:demo", "--json").stdout)
    assert set(created) == {"client_id", "client_secret"} and len(created["client_secret"]) >= 43
    client_id = created["client_id"]

    rotated = json.loads(flask_cli(fresh_instance, "clients", "rotate-secret", client_id, "--json").stdout)
    assert rotated["client_secret"] != created["client_secret"]

    flask_cli(fresh_instance, "clients", "set-method", client_id, "client_secret_post")
    flask_cli(fresh_instance, "clients", "grant", client_id, demo, "--scope", "read:demo write:demo")
    flask_cli(fresh_instance, "clients", "update", client_id, "--name", "Renamed job")
    flask_cli(fresh_instance, "clients", "update", client_id, "--require-proof-of-possession", "on")
    engine = create_engine(f"sqlite:///{fresh_instance}/appcreds.sqlite")
    with engine.connect() as connection:
        row = connection.exec_driver_sql("SELECT name, require_proof_of_possession FROM clients").one()
    engine.dispose()
    assert tuple(row) == ("Renamed job", 1)

    refused = flask_cli(fresh_instance, "clients", "set-method", client_id, "private_key_jwt", check=False)
    assert refused.returncode != 0
    assert "register a credential for private_key_jwt" in refused.stderr

    bad_scope = flask_cli(fresh_instance, "clients", "grant", client_id, demo, "--scope", "fly:away", check=False)
    assert bad_scope.returncode != 0 and "Demo API has no scope fly:away" in bad_scope.stderr

    flask_cli(fresh_instance, "clients", "delete", client_id)
    gone = flask_cli(fresh_instance, "clients", "rotate-secret", client_id, check=False)
    assert gone.returncode != 0 and "no application has client id" in gone.stderr

    # Each change is in the event log when its command exits; the refusals left nothing.
    engine = create_engine(f"sqlite:///{fresh_instance}/appcreds.sqlite")
    with engine.connect() as connection:
        recorded = connection.exec_driver_sql(
            "SELECT event_type, actor FROM auth_events WHERE endpoint = 'cli' ORDER BY id").all()
    engine.dispose()
    assert [event_type for event_type, _ in recorded] == [
        "application_created", "api_grants_changed", "secret_rotated", "auth_method_changed", "api_grants_changed",
        "settings_changed", "proof_of_possession_changed", "application_deleted"]
    assert {actor for _, actor in recorded} == {"command line"}


def test_users_create(fresh_instance):
    flask_cli(fresh_instance, "setup")
    assert flask_cli(fresh_instance, "users", "create", "end@example.com", "--password", "long enough").returncode == 0
    duplicate = flask_cli(fresh_instance, "users", "create", "END@example.com", "--password", "long enough",
                          check=False)
    assert duplicate.returncode != 0 and "exists already" in duplicate.stderr
