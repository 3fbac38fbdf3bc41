"""`flask credentials ...` (blueprints/cli/credentials.py), run in-process with Flask's CLI runner."""
import datetime as dt
import json

import pytest

from models import Credential, db
from models.applications import find_application
from tests.factories import make_app, make_rsa_certificate, make_rsa_key, private_pem, public_pem

AUTH0_FIELDS = {"id", "name", "kid", "alg", "credential_type", "use", "created_at", "updated_at",
                "expires_at", "subject_dn", "thumbprint_sha256"}


@pytest.fixture
def client_id(app):
    return make_app(app)[0]


def write(tmp_path, text, name="key.pem"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def add(runner, client_id, pem_path, *options):
    return runner.invoke(args=["credentials", "add", client_id, "--use", "private_key_jwt", "--pem", pem_path,
                               *options])


def add_json(runner, client_id, tmp_path) -> dict:
    return json.loads(add(runner, client_id, write(tmp_path, public_pem(make_rsa_key())), "--json").output)


def stored_count(app):
    with app.app_context():
        return db.session.execute(db.select(db.func.count(Credential.id))).scalar_one()


def test_add_prints_the_credential_with_id_and_kid(runner, client_id, tmp_path):
    result = add(runner, client_id, write(tmp_path, public_pem(make_rsa_key())), "--name", "CI key")
    assert result.exit_code == 0, result.output
    lines = dict(line.split(":", 1) for line in result.output.splitlines())
    assert lines["id"].strip().startswith("cred_")
    assert lines["kid"].strip() and lines["alg"].strip() == "RS256" and lines["name"].strip() == "CI key"


def test_add_json_has_auth0s_credential_shape(runner, client_id, tmp_path):
    result = add(runner, client_id, write(tmp_path, public_pem(make_rsa_key())), "--alg", "PS256",
                 "--kid", "my-chosen-kid", "--expires-at", "2099-01-31T00:00:00Z", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert set(document) == AUTH0_FIELDS
    assert (document["alg"], document["kid"]) == ("PS256", "my-chosen-kid")
    assert document["credential_type"] == "public_key"
    assert document["expires_at"] == "2099-01-31T00:00:00.000Z"


def test_add_a_certificate_with_its_expiry(runner, client_id, tmp_path):
    result = add(runner, client_id, write(tmp_path, make_rsa_certificate(make_rsa_key(), days_valid=10)),
                 "--parse-expiry-from-cert", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["thumbprint_sha256"] and document["expires_at"]
    expires_at = dt.datetime.fromisoformat(document["expires_at"])
    assert dt.timedelta(days=9) < expires_at - dt.datetime.now(dt.UTC) < dt.timedelta(days=11)


def test_add_reads_the_pem_from_stdin(runner, client_id):
    result = runner.invoke(args=["credentials", "add", client_id, "--use", "private_key_jwt", "--pem", "-"],
                           input=public_pem(make_rsa_key()))
    assert result.exit_code == 0, result.output


def test_add_refuses_a_private_key_with_the_sentence_and_stores_nothing(app, runner, client_id, tmp_path):
    result = add(runner, client_id, write(tmp_path, private_pem(make_rsa_key())))
    assert result.exit_code == 1
    assert "This is a private key" in result.output and "must never leave the application" in result.output
    assert stored_count(app) == 0


@pytest.mark.parametrize("options, sentence", [
    (["--expires-at", "soon"], "is not an ISO 8601 date"),
    (["--expires-at", "2001-01-01T00:00:00Z"], "is in the past"),
    (["--kid", "short"], "10 to 64 characters"),
    (["--parse-expiry-from-cert"], "only from a certificate"),
])
def test_add_refuses_bad_options_with_a_sentence(app, runner, client_id, tmp_path, options, sentence):
    result = add(runner, client_id, write(tmp_path, public_pem(make_rsa_key())), *options)
    assert result.exit_code == 1
    assert sentence in result.output
    assert stored_count(app) == 0


def test_add_refuses_an_oversized_file(app, runner, client_id, tmp_path):
    result = add(runner, client_id, write(tmp_path, public_pem(make_rsa_key()) + "#" * 100_000))
    assert result.exit_code == 1 and "too large" in result.output


def test_add_refuses_an_unknown_application(runner, tmp_path):
    result = add(runner, "no-such-client", write(tmp_path, public_pem(make_rsa_key())))
    assert result.exit_code == 1 and "no application has client id no-such-client" in result.output


def test_add_refuses_an_unknown_use(runner, client_id, tmp_path):
    result = runner.invoke(args=["credentials", "add", client_id, "--use", "client_secret_jwt", "--pem",
                                 write(tmp_path, public_pem(make_rsa_key()))])
    assert result.exit_code == 2  # click's usage error


def test_list_shows_each_credential(runner, client_id, tmp_path):
    assert runner.invoke(args=["credentials", "list", client_id]).output.strip() == "no credentials"
    for name in ("one", "two"):
        add(runner, client_id, write(tmp_path, public_pem(make_rsa_key(name)), f"{name}.pem"), "--name", name)
    documents = json.loads(runner.invoke(args=["credentials", "list", client_id, "--json"]).output)
    assert [d["name"] for d in documents] == ["one", "two"]
    assert all(set(d) == AUTH0_FIELDS for d in documents)
    text = runner.invoke(args=["credentials", "list", client_id]).output
    assert all(d["id"] in text and d["kid"] in text for d in documents) and "current" in text


def test_the_third_key_is_refused(runner, client_id, tmp_path):
    for name in ("one", "two"):
        pem_path = write(tmp_path, public_pem(make_rsa_key(name)), f"{name}.pem")
        assert add(runner, client_id, pem_path).exit_code == 0
    result = add(runner, client_id, write(tmp_path, public_pem(make_rsa_key("three")), "three.pem"))
    assert result.exit_code == 1 and "already has 2 credentials" in result.output


def test_rename_set_expiry_clear_and_delete(app, runner, client_id, tmp_path):
    credential_id = add_json(runner, client_id, tmp_path)["id"]

    assert runner.invoke(args=["credentials", "rename", client_id, credential_id, "New name"]).exit_code == 0
    result = runner.invoke(args=["credentials", "set-expiry", client_id, credential_id,
                                 "--expires-at", "2099-06-01T12:00:00+02:00"])
    assert result.exit_code == 0 and "2099-06-01T10:00:00.000Z" in result.output
    with app.app_context():
        credential = find_application(client_id).credentials[0]
        assert credential.name == "New name"
        assert credential.expires_at == dt.datetime(2099, 6, 1, 10, tzinfo=dt.UTC)

    result = runner.invoke(args=["credentials", "set-expiry", client_id, credential_id, "--clear"])
    assert result.exit_code == 0 and "expires never" in result.output
    assert runner.invoke(args=["credentials", "set-expiry", client_id, credential_id]).exit_code == 2

    result = runner.invoke(args=["credentials", "delete", client_id, credential_id])
    assert result.exit_code == 0 and f"deleted {credential_id}" in result.output
    assert stored_count(app) == 0


def test_commands_refuse_an_unknown_credential(runner, client_id):
    for args in (["delete", client_id, "cred_nope"], ["rename", client_id, "cred_nope", "x"],
                 ["set-expiry", client_id, "cred_nope", "--clear"]):
        result = runner.invoke(args=["credentials", *args])
        assert result.exit_code == 1 and "has no credential cred_nope" in result.output


def test_a_credential_of_another_application_cannot_be_deleted(app, runner, client_id, tmp_path):
    credential_id = add_json(runner, client_id, tmp_path)["id"]
    other_id, _ = make_app(app, name="Other")
    result = runner.invoke(args=["credentials", "delete", other_id, credential_id])
    assert result.exit_code == 1
    assert stored_count(app) == 1


def test_set_method_to_private_key_jwt_after_adding_a_key(runner, client_id, tmp_path):
    refused = runner.invoke(args=["clients", "set-method", client_id, "private_key_jwt"])
    assert refused.exit_code == 1 and "register a credential" in refused.output
    add(runner, client_id, write(tmp_path, public_pem(make_rsa_key())))
    assert runner.invoke(args=["clients", "set-method", client_id, "private_key_jwt"]).exit_code == 0


def test_add_a_jar_key_and_refuse_the_same_key_for_private_key_jwt(app, runner, client_id, tmp_path):
    """RFC 9101 keys are kept apart from Private Key JWT keys: one key pair, one use."""
    pem_path = write(tmp_path, public_pem(make_rsa_key()))
    jar = runner.invoke(args=["credentials", "add", client_id, "--use", "jar", "--pem", pem_path, "--json"])
    assert jar.exit_code == 0, jar.output
    assert json.loads(jar.output)["use"] == "jar"
    again = add(runner, client_id, pem_path)
    assert again.exit_code != 0
    assert "already registered" in again.output
    assert stored_count(app) == 1
