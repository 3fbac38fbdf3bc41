"""Private Key JWT against a real two-worker gunicorn over real sockets.

Keys are registered with the real CLI (`flask credentials add`). Interop: assertions built by
independent clients - Authlib's client-side PrivateKeyJWT, PyJWT and jwcrypto - for each of
RS256, RS384 and PS256. Replay: the same assertion sent concurrently to both workers succeeds
exactly once (the jti store shared by the workers decides - on this SQLite file, the LMDB store
beside it - not a worker's memory).
"""
import json
import shutil
import threading
import time
import uuid
from dataclasses import dataclass

import jwt as pyjwt
import pytest
import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from jwcrypto import jwk as jwcrypto_jwk
from jwcrypto import jwt as jwcrypto_jwt

from models import db
from models.applications import find_application, set_auth_method
from tests.conftest import _make_app
from tests.factories import events, make_app, make_assertion, make_rsa_key, private_pem, public_pem
from tests.servers import flask_cli, free_port, gunicorn

pytestmark = pytest.mark.e2e

ALGS = ("RS256", "RS384", "PS256")
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
GENERIC_FAILURE = {"error": "invalid_client", "error_description": "client authentication failed"}


@dataclass
class Server:
    url: str
    issuer: str
    app: object            # an in-process app on the same database, to read the event log
    apps: dict             # alg -> (client_id, private key, kid)
    log_path: object

    def token_request_workers(self, at_least=0) -> list[str]:
        """The worker pid of each token request served so far, from gunicorn's access log.

        A worker writes the line after sending the response: wait (at most 10 s) for `at_least`.
        """
        deadline = time.monotonic() + 10
        while True:
            lines = self.log_path.read_text().splitlines()
            workers = [line.split()[1] for line in lines
                       if line.startswith("served-by ") and "/oauth/token" in line]
            if len(workers) >= at_least or time.monotonic() > deadline:
                return workers
            time.sleep(0.05)

    @property
    def token_url(self):
        return self.url + "/oauth/token"

    @property
    def api(self):
        return self.issuer + "api/demo/"


@pytest.fixture(scope="module")
def server(template_instance, tmp_path_factory):
    instance = tmp_path_factory.mktemp("private-key-jwt-e2e") / "instance"
    shutil.copytree(template_instance, instance)
    port = free_port()
    issuer = f"http://127.0.0.1:{port}/"
    app = _make_app(instance, APPCREDS_ISSUER=issuer)
    apps = {}
    for alg in ALGS:
        client_id, _ = make_app(app, grant=issuer + "api/demo/", name=f"e2e {alg}")
        key = make_rsa_key(f"e2e-{alg}")
        pem_path = instance / f"{alg}.pem"
        pem_path.write_text(public_pem(key))
        added = flask_cli(instance, "credentials", "add", client_id, "--use", "private_key_jwt",
                          "--pem", str(pem_path), "--alg", alg, "--json", env={"APPCREDS_ISSUER": issuer})
        with app.app_context():
            set_auth_method(find_application(client_id), "private_key_jwt")
            db.session.commit()
        apps[alg] = (client_id, key, json.loads(added.stdout)["kid"])
    # --preload: the app is built before gunicorn listens, so the first request is not stuck behind
    # a booting worker (servers.wait_for_http gives up on a 1 s read timeout on a loaded machine).
    # The access log names the worker (pid) that served each request.
    access_log = "--access-logfile - --access-logformat 'served-by %(p)s %(r)s %(s)s'"
    env = {"APPCREDS_EVENT_FLUSH_SECONDS": "0", "GUNICORN_CMD_ARGS": f"--preload {access_log}"}
    with gunicorn(instance, workers=2, port=port, env=env) as url:
        yield Server(url, issuer, app, apps, instance / "gunicorn.log")
    with app.app_context():
        db.engine.dispose()


def post_assertion(server, assertion, session=requests):
    return session.post(server.token_url, timeout=20, data={
        "grant_type": "client_credentials", "audience": server.api,
        "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion})


def assert_token_for(server, token_response, client_id):
    """The access token verifies against the published JWKS (PyJWT) and names the application."""
    token = token_response["access_token"]
    signing_key = pyjwt.PyJWKClient(server.url + "/.well-known/jwks.json").get_signing_key_from_jwt(token)
    claims = pyjwt.decode(token, signing_key.key, algorithms=["RS256"], audience=server.api,
                          issuer=server.issuer)
    assert claims["client_id"] == client_id


def last_reason_code(server, client_id):
    return events(server.app, client_id)[0].reason_code


# --- interop -------------------------------------------------------------------------------------

def authlib_fetch(server, alg, claims=None, auth=None):
    client_id, key, kid = server.apps[alg]
    if auth is None:
        # Authlib's quirks: it adds no kid, signs for 3600 s with aud = token URL, and writes the jti
        # into the claims dict it is given - so a fresh dict per call, with our aud and a short exp.
        claims = claims if claims is not None else {"aud": server.issuer, "exp": int(time.time()) + 60}
        auth = PrivateKeyJWT(server.token_url, claims=claims, headers={"kid": kid}, alg=alg)
    with OAuth2Session(client_id, private_pem(key), token_endpoint_auth_method=auth) as session:
        return session.fetch_token(server.token_url, grant_type="client_credentials", audience=server.api)


@pytest.mark.parametrize("alg", ALGS)
def test_authlib_private_key_jwt_client_gets_tokens(server, alg):
    client_id = server.apps[alg][0]
    for _ in range(2):  # a fresh assertion (jti) each time
        assert_token_for(server, authlib_fetch(server, alg), client_id)
    assert last_reason_code(server, client_id) == "authenticated"


def test_authlib_default_one_hour_assertion_is_refused(server):
    """Authlib signs for 3600 s by default; the limit is 5 minutes."""
    client_id = server.apps["RS256"][0]
    with pytest.raises(OAuthError) as raised:
        authlib_fetch(server, "RS256", claims={"aud": server.issuer})
    assert raised.value.error == "invalid_client"
    assert raised.value.description == "client authentication failed"
    assert last_reason_code(server, client_id) == "lifetime_too_long"


def test_authlib_default_audience_the_token_endpoint_is_refused(server):
    client_id = server.apps["RS256"][0]
    with pytest.raises(OAuthError):
        authlib_fetch(server, "RS256", claims={"exp": int(time.time()) + 60})
    assert last_reason_code(server, client_id) == "aud_mismatch"


def test_authlib_reusing_one_claims_dict_is_refused_as_a_replay(server):
    """Authlib writes the jti into the claims dict it was given, so a reused dict replays the jti."""
    client_id, _, kid = server.apps["RS256"]
    auth = PrivateKeyJWT(server.token_url, claims={"aud": server.issuer, "exp": int(time.time()) + 60},
                         headers={"kid": kid}, alg="RS256")
    authlib_fetch(server, "RS256", auth=auth)
    with pytest.raises(OAuthError):
        authlib_fetch(server, "RS256", auth=auth)
    assert last_reason_code(server, client_id) == "replayed"


def claims_for(server, client_id) -> dict:
    now = int(time.time())
    return {"iss": client_id, "sub": client_id, "aud": server.issuer, "iat": now, "exp": now + 60,
            "jti": str(uuid.uuid4())}


@pytest.mark.parametrize("alg", ALGS)
def test_pyjwt_assertion_gets_a_token(server, alg):
    client_id, key, kid = server.apps[alg]
    assertion = pyjwt.encode(claims_for(server, client_id), private_pem(key), algorithm=alg,
                             headers={"kid": kid})
    response = post_assertion(server, assertion)
    assert response.status_code == 200, response.text
    assert_token_for(server, response.json(), client_id)


@pytest.mark.parametrize("alg", ALGS)
def test_jwcrypto_assertion_gets_a_token(server, alg):
    client_id, key, kid = server.apps[alg]
    token = jwcrypto_jwt.JWT(header={"alg": alg, "kid": kid, "typ": "JWT"},
                             claims=claims_for(server, client_id))
    token.make_signed_token(jwcrypto_jwk.JWK.from_pem(private_pem(key).encode()))
    response = post_assertion(server, token.serialize())
    assert response.status_code == 200, response.text
    assert_token_for(server, response.json(), client_id)


def test_pyjwt_assertion_with_another_algorithm_than_registered_is_refused(server):
    client_id, key, kid = server.apps["RS256"]
    assertion = pyjwt.encode(claims_for(server, client_id), private_pem(key), algorithm="PS256",
                             headers={"kid": kid})
    response = post_assertion(server, assertion)
    assert (response.status_code, response.json()) == (401, GENERIC_FAILURE)
    assert "WWW-Authenticate" not in response.headers
    assert last_reason_code(server, client_id) == "alg_mismatch"


# --- replay across workers -----------------------------------------------------------------------

def send_concurrently(server, assertion, senders=8) -> list:
    """Send the same assertion from `senders` threads at once, each on its own connection."""
    barrier = threading.Barrier(senders)
    results = [None] * senders

    def send(index):
        with requests.Session() as session:
            barrier.wait(timeout=30)
            response = post_assertion(server, assertion, session)
            results[index] = (response.status_code, response.json())

    threads = [threading.Thread(target=send, args=(i,)) for i in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(result is not None for result in results), "a sender did not finish"
    return results


def test_the_same_assertion_sent_concurrently_to_two_workers_succeeds_exactly_once(server):
    """RFC 7523 §3 item 7 across processes: one (client, jti) record, so one success."""
    client_id, key, kid = server.apps["PS256"]
    served_before = len(server.token_request_workers())
    for _ in range(3):
        before = len(events(server.app, client_id))
        assertion = make_assertion(client_id, key, kid, alg="PS256", aud=server.issuer)
        results = send_concurrently(server, assertion)
        statuses = sorted(status for status, _ in results)
        assert statuses == [200] + [401] * 7, results
        assert all(body == GENERIC_FAILURE for status, body in results if status == 401)
        after = events(server.app, client_id)
        new_events = after[:len(after) - before]  # newest first
        assert sorted(e.reason_code for e in new_events) == ["authenticated"] + ["replayed"] * 7
        assert all("already used: replay refused" in e.reason for e in new_events if e.reason_code == "replayed")
    workers = server.token_request_workers(at_least=served_before + 24)[served_before:]
    assert len(workers) == 24 and len(set(workers)) == 2, f"both workers should serve the race: {workers}"
