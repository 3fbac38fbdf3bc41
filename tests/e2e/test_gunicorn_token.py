"""A real gunicorn over a real socket: get a token with a client secret and verify it against
the published JWKS with an independent JWT library (PyJWT)."""
import jwt as pyjwt
import pytest
import requests

from tests.servers import flask_cli, gunicorn

pytestmark = pytest.mark.e2e


def test_token_over_a_real_socket_verifies_against_jwks(tmp_path):
    instance = tmp_path / "instance"
    flask_cli(instance, "setup")
    with gunicorn(instance, workers=2) as base_url:
        issuer = base_url + "/"
        created = flask_cli(instance, "clients", "create", "Socket test", "--app-type", "non_interactive",
                            "--grant", issuer + "api/demo/", "--scope", "read:demo", "--json",
                            env={"APPCREDS_ISSUER": issuer}).stdout
        credentials = requests.models.complexjson.loads(created)
        response = requests.post(base_url + "/oauth/token", timeout=10,
                                 auth=(credentials["client_id"], credentials["client_secret"]),
                                 data={"grant_type": "client_credentials", "audience": issuer + "api/demo/"})
        assert response.status_code == 200, response.text
        token = response.json()["access_token"]

        metadata = requests.get(base_url + "/.well-known/oauth-authorization-server", timeout=5).json()
        jwks_client = pyjwt.PyJWKClient(metadata["jwks_uri"])
        signing_key = jwks_client.get_signing_key_from_jwt(token)
        claims = pyjwt.decode(token, signing_key.key, algorithms=["RS256"], audience=issuer + "api/demo/",
                              issuer=issuer)
        assert claims["client_id"] == credentials["client_id"]

        wrong = requests.post(base_url + "/oauth/token", timeout=10, auth=(credentials["client_id"], "wrong"),
                              data={"grant_type": "client_credentials", "audience": issuer + "api/demo/"})
        assert wrong.status_code == 401
        assert wrong.json() == {"error": "invalid_client", "error_description": "client authentication failed"}
