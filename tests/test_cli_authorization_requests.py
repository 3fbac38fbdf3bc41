"""`flask --app app clients update` for the JAR and PAR settings (issue 5)."""
from models.applications import find_application
from tests.factories import make_rsa_key, register_key
from tests.oauth.flow import make_web_app


def stored(app, client_id):
    with app.app_context():
        client = find_application(client_id)
        return (client.require_signed_request_object, client.require_pushed_authorization_requests,
                client.par_request_expiry)


def test_turns_par_on_and_off_and_sets_its_expiry(app, runner):
    client_id, _ = make_web_app(app)
    result = runner.invoke(args=["clients", "update", client_id, "--require-par", "on", "--par-expiry", "600"])
    assert result.exit_code == 0, result.output
    assert stored(app, client_id) == (False, True, 600)
    assert runner.invoke(args=["clients", "update", client_id, "--require-par", "off"]).exit_code == 0
    assert stored(app, client_id) == (False, False, 600)


def test_requiring_signed_requests_needs_a_jar_key_first(app, runner):
    client_id, _ = make_web_app(app)
    result = runner.invoke(args=["clients", "update", client_id, "--require-signed-requests", "on"])
    assert result.exit_code != 0
    assert "register a key for signed authorization requests (JAR) before requiring them" in result.output
    assert stored(app, client_id) == (False, False, 60)
    register_key(app, client_id, make_rsa_key("jar-key-1"), "RS256", use="jar")
    assert runner.invoke(args=["clients", "update", client_id, "--require-signed-requests", "on"]).exit_code == 0
    assert stored(app, client_id)[0] is True


def test_refuses_an_expiry_outside_10_to_600_seconds_and_changes_nothing(app, runner):
    client_id, _ = make_web_app(app)
    result = runner.invoke(args=["clients", "update", client_id, "--require-par", "on", "--par-expiry", "5"])
    assert result.exit_code != 0 and "the PAR request expiry must be 10 to 600 seconds" in result.output
    assert stored(app, client_id) == (False, False, 60)
