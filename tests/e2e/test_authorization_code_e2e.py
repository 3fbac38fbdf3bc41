"""The authorization-code flow against a real two-worker gunicorn, over real sockets.

Concurrency: the same code (and the same refresh token) sent by 8 threads at once, to both
workers, is redeemed exactly once - the conditional UPDATE's row count decides, not a worker's
memory. Interop: Authlib's client (OAuth2Session, code_challenge_method="S256") runs the whole
flow, refresh, revocation and introspection. The browser part is driven with `requests`.
"""
import re
import shutil
import threading
import time
from dataclasses import dataclass
from urllib.parse import urljoin

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

from tests.conftest import _make_app
from tests.oauth.flow import USER_EMAIL, USER_PASSWORD, make_user, make_web_app, pkce_pair, query_of
from tests.servers import free_port, gunicorn

pytestmark = pytest.mark.e2e

CALLBACK = "https://app.example/callback"
THREADS = 8


@dataclass
class Server:
    url: str
    issuer: str
    web_app: tuple     # (client_id, secret)
    public_app: str    # client_id
    log_path: object

    @property
    def api(self):
        return self.issuer + "api/demo/"

    @property
    def token_url(self):
        return self.url + "/oauth/token"

    def token_request_workers(self, at_least) -> set[str]:
        """The worker pids that served token requests, from gunicorn's access log (waits up to 10 s)."""
        deadline = time.monotonic() + 10
        while True:
            lines = [line for line in self.log_path.read_text().splitlines()
                     if line.startswith("served-by ") and "/oauth/token" in line]
            if len(lines) >= at_least or time.monotonic() > deadline:
                return {line.split()[1] for line in lines}
            time.sleep(0.05)


@pytest.fixture(scope="module")
def server(template_instance, tmp_path_factory):
    instance = tmp_path_factory.mktemp("authorization-code-e2e") / "instance"
    shutil.copytree(template_instance, instance)
    port = free_port()
    issuer = f"http://127.0.0.1:{port}/"
    app = _make_app(instance, APPCREDS_ISSUER=issuer)
    make_user(app)
    grant = {"grant": issuer + "api/demo/"}
    web_app = make_web_app(app, **grant)
    public_app, _ = make_web_app(app, method="none", name="SPA", **grant)
    with app.app_context():
        from models import db

        db.engine.dispose()
    access_log = "--access-logfile - --access-logformat 'served-by %(p)s %(r)s %(s)s'"
    env = {"APPCREDS_EVENT_FLUSH_SECONDS": "0", "GUNICORN_CMD_ARGS": f"--preload {access_log}"}
    with gunicorn(instance, workers=2, port=port, env=env) as url:
        yield Server(url, issuer, web_app, public_app, instance / "gunicorn.log")


def browser_callback(server, authorize_url: str) -> dict:
    """What a browser does: follow /authorize, sign in, allow; returns the callback's query."""
    browser = requests.Session()
    response = browser.get(authorize_url, allow_redirects=False, timeout=20)
    while response.status_code == 302 and not response.headers["Location"].startswith(CALLBACK):
        location = urljoin(server.url, response.headers["Location"])
        if "/account/login" in location:
            page = browser.get(location, timeout=20).text
            response = browser.post(location, allow_redirects=False, timeout=20, data={
                "email": USER_EMAIL, "password": USER_PASSWORD, "csrf_token": csrf_token(page)})
            continue
        response = browser.get(location, allow_redirects=False, timeout=20)
        if response.status_code == 200 and "wants access to your account" in response.text:
            tx = re.search(r'name="tx" type="hidden" value="([^"]+)"', response.text).group(1)
            response = browser.post(server.url + "/authorize/consent", allow_redirects=False, timeout=20,
                                    data={"tx": tx, "csrf_token": csrf_token(response.text), "allow": "Allow"})
    assert response.status_code == 302, response.text
    return query_of(response.headers["Location"])


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def authorize_url(server, client_id, challenge) -> str:
    request = requests.Request("GET", server.url + "/authorize", params={
        "response_type": "code", "client_id": client_id, "redirect_uri": CALLBACK, "scope": "read:demo",
        "state": generate_token(16), "audience": server.api, "code_challenge": challenge,
        "code_challenge_method": "S256"})
    return request.prepare().url


def all_at_once(send, count=THREADS) -> list:
    """Call send() from `count` threads released together; returns the responses."""
    barrier, responses = threading.Barrier(count), []

    def worker():
        barrier.wait()
        responses.append(send())

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return responses


# --- concurrency -------------------------------------------------------------------------------

def test_concurrent_redemptions_of_one_code_succeed_exactly_once(server):
    client_id, secret = server.web_app
    served_before = len(server.token_request_workers(0))
    winners = []
    for _ in range(3):
        verifier, challenge = pkce_pair()
        code = browser_callback(server, authorize_url(server, client_id, challenge))["code"]
        responses = all_at_once(lambda code=code, verifier=verifier: requests.post(server.token_url, timeout=30, data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
            "code_verifier": verifier}, auth=(client_id, secret)))
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] + [400] * (THREADS - 1), [r.text for r in responses]
        assert {r.json()["error"] for r in responses if r.status_code == 400} == {"invalid_grant"}
        winners.append(next(r.json() for r in responses if r.status_code == 200))
    # Both workers took part in the races.
    assert len(server.token_request_workers(served_before + 3 * THREADS)) == 2
    # A replay revokes what the code issued (RFC 6749 §4.1.2): the winner's tokens are dead too.
    for tokens in winners:
        refreshed = requests.post(server.token_url, timeout=20, auth=(client_id, secret), data={
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
        assert refreshed.json()["error"] == "invalid_grant"
        whoami = requests.get(server.url + "/api/demo/whoami", timeout=20,
                              headers={"Authorization": "Bearer " + tokens["access_token"]})
        assert whoami.status_code == 401


def test_concurrent_uses_of_one_refresh_token_succeed_at_most_once(server):
    client_id, secret = server.web_app
    verifier, challenge = pkce_pair()
    code = browser_callback(server, authorize_url(server, client_id, challenge))["code"]
    tokens = requests.post(server.token_url, timeout=20, auth=(client_id, secret), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
        "code_verifier": verifier}).json()
    responses = all_at_once(lambda: requests.post(server.token_url, timeout=30, auth=(client_id, secret), data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}))
    statuses = sorted(r.status_code for r in responses)
    # One wins; the others are reuse, which revokes the family - the winner's new token included.
    assert statuses == [200] + [400] * (THREADS - 1), [r.text for r in responses]
    new_refresh = next(r.json() for r in responses if r.status_code == 200)["refresh_token"]
    again = requests.post(server.token_url, timeout=20, auth=(client_id, secret), data={
        "grant_type": "refresh_token", "refresh_token": new_refresh})
    assert again.json()["error"] == "invalid_grant"


# --- interop: Authlib's client -----------------------------------------------------------------

def test_authlib_client_runs_the_flow_with_s256(server):
    client_id, secret = server.web_app
    with OAuth2Session(client_id, secret, scope="read:demo", redirect_uri=CALLBACK,
                       code_challenge_method="S256") as session:
        verifier = generate_token(48)
        url, state = session.create_authorization_url(server.url + "/authorize", code_verifier=verifier,
                                                      audience=server.api)
        assert "code_challenge_method=S256" in url
        callback = browser_callback(server, url)
        assert callback["state"] == state and callback["iss"] == server.issuer
        token = session.fetch_token(server.token_url, code=callback["code"], state=state, code_verifier=verifier)
        assert token["scope"] == "read:demo" and token["refresh_token"]

        refreshed = session.refresh_token(server.token_url)
        assert refreshed["refresh_token"] != token["refresh_token"]
        whoami = session.get(server.url + "/api/demo/whoami", timeout=20)
        assert whoami.status_code == 200 and whoami.json()["client_id"] == client_id

        introspected = session.introspect_token(server.url + "/oauth/introspect", token=refreshed["access_token"])
        assert introspected.json()["active"] is True
        session.revoke_token(server.url + "/oauth/revoke", token=refreshed["refresh_token"],
                             token_type_hint="refresh_token")
        introspected = session.introspect_token(server.url + "/oauth/introspect", token=refreshed["access_token"])
        assert introspected.json() == {"active": False}


def test_authlib_public_client_uses_pkce_without_a_secret(server):
    with OAuth2Session(server.public_app, scope="read:demo", redirect_uri=CALLBACK, code_challenge_method="S256",
                       token_endpoint_auth_method="none") as session:
        verifier = generate_token(48)
        url, state = session.create_authorization_url(server.url + "/authorize", code_verifier=verifier,
                                                      audience=server.api)
        callback = browser_callback(server, url)
        token = session.fetch_token(server.token_url, code=callback["code"], state=state, code_verifier=verifier)
        assert token["token_type"] == "Bearer"
        # Without the verifier the same kind of code is refused.
        url, state = session.create_authorization_url(server.url + "/authorize", code_verifier=generate_token(48),
                                                      audience=server.api)
        code = browser_callback(server, url)["code"]
        response = requests.post(server.token_url, timeout=20, data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
            "client_id": server.public_app})
        assert response.json()["error"] == "invalid_request"
