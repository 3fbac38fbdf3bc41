"""Every change the command line makes appears in the application's event log, like a dashboard change
(blueprints/cli/common.py `record`): door "cli", actor "command line", the dashboard's event type."""
import json

import pytest

from models import Client, db
from models.state import app_state
from tests.factories import DEMO_API, events, make_app, make_rsa_key, public_pem, register_key


@pytest.fixture
def application(app):
    """An application with one Private Key JWT key: (client_id, credential_id)."""
    client_id, _ = make_app(app)
    return client_id, register_key(app, client_id, make_rsa_key("cli-events"), kid="cli-events-key")["id"]


def cli_events(app, client_id):
    """This application's events that came through the command line, oldest first."""
    app_state(app).events.flush()
    return [event for event in reversed(events(app, client_id)) if event.endpoint == "cli"]


def pem_file(tmp_path):
    path = tmp_path / "new-key.pem"
    path.write_text(public_pem(make_rsa_key("cli-events-new")))
    return str(path)


@pytest.mark.parametrize("command, event_type, reason", [
    (["clients", "update", "{client_id}", "--name", "Renamed job"], "settings_changed",
     "name changed from 'Test app' to 'Renamed job'"),
    (["clients", "update", "{client_id}", "--require-proof-of-possession", "on"], "proof_of_possession_changed",
     "require certificate-bound tokens changed from off to on"),
    (["clients", "update", "{client_id}", "--require-par", "on"], "request_policy_changed",
     "require PAR changed from off to on"),
    (["clients", "rotate-secret", "{client_id}"], "secret_rotated", "the old secret no longer works"),
    (["clients", "delete", "{client_id}"], "application_deleted", "application 'Test app' deleted"),
    (["clients", "grant", "{client_id}", DEMO_API, "--scope", "read:demo write:demo"], "api_grants_changed",
     f"granted {DEMO_API} with scopes read:demo write:demo"),
    (["clients", "set-method", "{client_id}", "private_key_jwt"], "auth_method_changed",
     "authentication method changed from client_secret_basic to private_key_jwt"),
    (["credentials", "add", "{client_id}", "--use", "private_key_jwt", "--pem", "{pem}"], "credential_added",
     "private_key_jwt credential"),
    (["credentials", "add", "{client_id}", "--use", "jar", "--pem", "{pem}"], "jar_key_added", "jar credential"),
    (["credentials", "rename", "{client_id}", "{credential_id}", "CI key"], "credential_renamed",
     "'CI key' (kid cli-events-key) renamed from"),
    (["credentials", "set-expiry", "{client_id}", "{credential_id}", "--expires-at", "2099-01-31T00:00:00Z"],
     "credential_expiry_changed", "now expires 2099-01-31T00:00:00.000Z"),
    (["credentials", "delete", "{client_id}", "{credential_id}"], "credential_deleted", "(kid cli-events-key) deleted"),
])
def test_each_change_is_recorded_with_the_dashboards_event_type(app, runner, application, tmp_path, command,
                                                                 event_type, reason):
    client_id, credential_id = application
    args = [arg.format(client_id=client_id, credential_id=credential_id, pem=pem_file(tmp_path)) for arg in command]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    [event] = cli_events(app, client_id)
    assert (event.event_type, event.actor, event.outcome) == (event_type, "command line", "success")
    assert reason in event.reason


def test_create_records_the_application_and_its_grant(app, runner):
    result = runner.invoke(args=["clients", "create", "Nightly job", "--app-type", "non_interactive",
                                 "--grant", DEMO_API, "--scope", "read:demo", "--json"])
    assert result.exit_code == 0, result.output
    recorded = cli_events(app, json.loads(result.output)["client_id"])
    assert [(e.event_type, e.reason) for e in recorded] == [
        ("application_created", "application 'Nightly job' created (non_interactive, client_secret_basic)"),
        ("api_grants_changed", f"granted {DEMO_API} with scopes read:demo"),
    ]
    assert recorded[0].client_pk is not None


def test_update_records_one_event_per_kind_of_change(app, runner, application):
    client_id, _ = application
    result = runner.invoke(args=["clients", "update", client_id, "--name", "Renamed job", "--grant-type",
                                 "client_credentials", "--require-par", "on", "--par-expiry", "600"])
    assert result.exit_code == 0, result.output
    assert [(e.event_type, e.reason) for e in cli_events(app, client_id)] == [
        ("settings_changed", "name changed from 'Test app' to 'Renamed job'"),
        ("request_policy_changed", "require PAR changed from off to on; PAR expiry changed from 60 s to 600 s"),
    ]


def test_a_refusal_or_no_change_records_nothing(app, runner, application):
    client_id, _ = application
    assert runner.invoke(args=["clients", "set-method", client_id, "tls_client_auth"]).exit_code == 1
    assert runner.invoke(args=["clients", "set-method", client_id, "client_secret_basic"]).exit_code == 0
    assert runner.invoke(args=["clients", "update", client_id, "--require-par", "off"]).exit_code == 0
    assert cli_events(app, client_id) == []


def test_the_logs_tab_shows_a_command_line_change(client, dashboard, runner, application):
    client_id, _ = application
    assert runner.invoke(args=["clients", "rotate-secret", client_id]).exit_code == 0
    html = client.get(f"/applications/{client_id}/logs").get_data(as_text=True)
    assert "secret_rotated" in html and "<td>cli</td>" in html and "<td>command line</td>" in html


def test_create_refuses_a_grant_for_an_unknown_api_and_names_the_apis(app, runner):
    """Issue 11 item 12: an audience of another issuer (a wrong port) is refused, with the APIs that exist."""
    elsewhere = DEMO_API.replace("/api/demo/", ":5077/api/demo/")
    result = runner.invoke(args=["clients", "create", "Wrong port", "--app-type", "non_interactive",
                                 "--grant", elsewhere, "--scope", "read:demo"])
    assert result.exit_code == 1
    assert f"no API has the identifier {elsewhere}; the APIs are {DEMO_API}, " in result.output
    with app.app_context():
        assert db.session.execute(db.select(Client).where(Client.name == "Wrong port")).first() is None
