"""One authorization-code flow in a real headless Chromium, against a real gunicorn.

From the authorize URL through the end-user sign-in page and the consent page to the
application's callback - a tiny HTTP receiver on its own loopback port - then the code is
exchanged with `requests` over the real socket and the access token used at the demo API.

Chromium is Debian's package (/usr/bin/chromium), driven through Playwright; Playwright's own
browser downloads are never used.
"""
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
import requests

from tests.conftest import _make_app
from tests.e2e.test_dashboard_browser import CHROMIUM, CHROMIUM_ARGS
from tests.oauth.flow import USER_EMAIL, USER_PASSWORD, make_user, make_web_app, pkce_pair, query_of
from tests.servers import free_port, gunicorn

pytestmark = pytest.mark.e2e

SCREENSHOT = Path("/tmp/consent.png")


@pytest.fixture
def sync_playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is not installed (pip install -e '.[test]')")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium (Debian's package; no browser download)")
    return sync_playwright


@pytest.fixture
def callback_receiver():
    """An HTTP server on a free loopback port that answers every GET and remembers the paths."""
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            received.append(self.path)
            body = b"<!doctype html><title>Callback</title><h1>Back at the application</h1>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}/callback", received
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def server(template_instance, tmp_path, callback_receiver):
    instance = tmp_path / "instance"
    shutil.copytree(template_instance, instance)
    port = free_port()
    issuer = f"http://127.0.0.1:{port}/"
    app = _make_app(instance, APPCREDS_ISSUER=issuer)
    make_user(app)
    client_id, secret = make_web_app(app, callbacks=(callback_receiver[0],), grant=issuer + "api/demo/",
                                     name="Photo printing")
    with app.app_context():
        from models import db

        db.engine.dispose()
    with gunicorn(instance, workers=1, port=port, env={"GUNICORN_CMD_ARGS": "--preload"}) as url:
        yield url, issuer, client_id, secret


def test_a_person_signs_in_and_consents_in_a_real_browser(sync_playwright, server, callback_receiver):
    url, issuer, client_id, secret = server
    callback, received = callback_receiver
    verifier, challenge = pkce_pair()
    authorize_url = url + "/authorize?" + urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": callback, "scope": "read:demo",
        "state": "browser-state", "audience": issuer + "api/demo/", "code_challenge": challenge,
        "code_challenge_method": "S256"})

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 800})
            page.set_default_timeout(15_000)
            page.goto(authorize_url)
            # The end-user sign-in page, naming the application.
            page.get_by_role("heading", name="Sign in").wait_for()
            assert "to continue to Photo printing" in page.inner_text("main")
            page.get_by_label("Email").fill(USER_EMAIL)
            page.get_by_label("Password").fill(USER_PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            # The consent page names the application and the scope.
            page.get_by_role("heading", name="Photo printing wants access to your account").wait_for()
            assert "read:demo: Read demo data" in page.inner_text("main")
            page.screenshot(path=str(SCREENSHOT), full_page=True)
            page.get_by_role("button", name="Allow").click()
            page.get_by_role("heading", name="Back at the application").wait_for()
            landed = page.url
        finally:
            browser.close()

    assert landed.startswith(callback + "?")
    query = query_of(landed)
    assert (query["state"], query["iss"]) == ("browser-state", issuer)
    # The receiver got exactly that one callback (the browser may also ask it for a favicon).
    landed_parts = urlsplit(landed)
    assert [path for path in received if path.startswith("/callback")] == [
        f"{landed_parts.path}?{landed_parts.query}"]

    tokens = requests.post(url + "/oauth/token", auth=(client_id, secret), timeout=20, data={
        "grant_type": "authorization_code", "code": query["code"], "redirect_uri": callback,
        "code_verifier": verifier})
    assert tokens.status_code == 200, tokens.text
    whoami = requests.get(url + "/api/demo/whoami", timeout=20,
                          headers={"Authorization": "Bearer " + tokens.json()["access_token"]})
    assert whoami.status_code == 200 and whoami.json()["sub"].startswith("appcreds|")
