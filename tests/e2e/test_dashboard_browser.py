"""The dashboard in a real headless Chromium against a real gunicorn, over a real socket.

Signs in, creates an application, reveals and rotates its secret, grants the demo API, gets a
token with the new secret from /oauth/token, and finds the attempts on the Logs tab.

Chromium is Debian's package (/usr/bin/chromium, `apt-get install chromium`), driven through
the Playwright Python package; Playwright's own browser downloads are never used.
"""
import json
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import jwt
import pytest
import requests

from tests.servers import E2E_SETTINGS, ROOT, VENV_BIN, flask_cli, free_port

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ADMIN = {"APPCREDS_ADMIN_EMAIL": "e2e-admin@example.com", "APPCREDS_ADMIN_PASSWORD": "e2e password, long enough"}
SCREENSHOT = Path("/tmp/dashboard.png")


@pytest.fixture(scope="module")
def sync_playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is not installed (pip install -e '.[test]')")
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium (Debian's package; no browser download)")
    return sync_playwright


def wait_until_serving(base_url, process, timeout=30.0):
    """Poll until the app answers; gunicorn accepts connections before its worker is ready."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited early with code {process.returncode}")
        try:
            requests.get(base_url + "/login", timeout=2)
            return
        except requests.RequestException:  # refused, or accepted but not answered yet
            time.sleep(0.2)
    raise TimeoutError(f"{base_url} did not answer within {timeout} s")


@pytest.fixture
def server(tmp_path):
    """A fresh instance (setup with a known admin) served by one gunicorn worker on a free loopback port."""
    instance = tmp_path / "instance"
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {**os.environ, **E2E_SETTINGS, "APPCREDS_INSTANCE_PATH": str(instance), "APPCREDS_ISSUER": base_url + "/"}
    flask_cli(instance, "setup", env={**ADMIN, "APPCREDS_ISSUER": base_url + "/"})
    with open(tmp_path / "gunicorn.log", "w") as log:
        process = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "-w", "1", "-b", f"127.0.0.1:{port}", "--graceful-timeout", "5",
             "app:create_app()"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until_serving(base_url, process)
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


@pytest.fixture
def page(sync_playwright, server):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(base_url=server, viewport={"width": 1200, "height": 900})
            context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
            page = context.new_page()
            page.set_default_timeout(15_000)
            yield page
        finally:
            browser.close()


def token_request(base_url, client_id, secret):
    return requests.post(base_url + "/oauth/token", auth=(client_id, secret), timeout=10,
                         data={"grant_type": "client_credentials", "audience": base_url + "/api/demo/"})


def test_secret_lifecycle_in_a_real_browser(page, server):
    # Sign in: the dashboard sends an anonymous visitor to the sign-in page.
    page.goto("/")
    assert "/login" in page.url
    page.get_by_label("Email").fill(ADMIN["APPCREDS_ADMIN_EMAIL"])
    page.get_by_label("Password").fill(ADMIN["APPCREDS_ADMIN_PASSWORD"])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Applications", exact=True).wait_for()

    # Create an application; it opens on its Credentials tab with the secret masked.
    page.get_by_role("link", name="Create application").click()
    page.get_by_label("Name", exact=True).fill("Browser test app")
    page.get_by_label("Application type").select_option("non_interactive")
    assert page.get_by_label("Client credentials (machine to machine)").is_checked()
    assert page.get_by_label("client_secret_basic").is_checked()
    page.get_by_role("button", name="Create application").click()
    page.get_by_role("heading", name="Client secret").wait_for()
    assert page.locator('nav.tabs a[aria-current="page"]').inner_text() == "Credentials"
    client_id = page.locator("#client-id").inner_text()
    assert page.locator(".masked").is_visible()
    assert page.locator("#client-secret").count() == 0

    # The copy button appears because static/app.js ran, and copies the client ID.
    copy = page.get_by_role("button", name="Copy client ID")
    assert copy.is_visible()
    copy.click()
    page.get_by_text("Copied").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == client_id

    # Reveal: a POST, then a redirect to the tab, which shows the secret once (post/redirect/get).
    page.get_by_role("button", name="Reveal secret").click()
    first_secret = page.locator("#client-secret").inner_text()
    assert len(first_secret) >= 43  # at least 256 bits, URL-safe base64
    assert page.url.endswith(f"/applications/{client_id}/credentials#secret-heading")
    assert first_secret not in page.url
    assert first_secret not in requests.get(server + "/login", timeout=5).text
    page.reload()  # re-sends nothing: the secret is masked again
    assert page.locator("#client-secret").count() == 0 and page.locator(".masked").is_visible()

    # Rotate, after the confirmation page; the new secret is shown once, and a reload rotates nothing.
    page.get_by_role("link", name="Rotate secret…").click()
    page.get_by_text("The old secret stops working immediately.").wait_for()
    page.get_by_role("button", name="Rotate secret").click()
    new_secret = page.locator("#client-secret").inner_text()
    assert new_secret and new_secret != first_secret
    page.reload()
    assert page.locator("#client-secret").count() == 0
    page.go_back()  # back to the confirmation page: a GET, it changes nothing
    page.get_by_text("The old secret stops working immediately.").wait_for()

    # Grant the demo API on the APIs tab.
    page.get_by_role("link", name="APIs", exact=True).click()
    page.get_by_label("Allow tokens for Demo API").check()
    page.get_by_label("read:demo: Read demo data").check()
    page.get_by_role("button", name="Save API access").click()
    page.get_by_text("API access saved.").wait_for()

    # The new secret gets a token over the real socket; the old one is refused.
    assert token_request(server, client_id, first_secret).status_code == 401
    response = token_request(server, client_id, new_secret)
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "read:demo"

    # Both attempts, and the dashboard actions, are on the Logs tab, newest first.
    page.get_by_role("link", name="Logs", exact=True).click()
    rows = page.locator("table.logs tbody tr")
    rows.first.wait_for()
    # The newest two: the token request's outcome (issued) and its client authentication.
    newest = rows.nth(0).inner_text() + rows.nth(1).inner_text()
    assert "token_request" in newest and "issued" in newest
    assert "client_authentication" in newest and "authenticated" in newest
    log_text = page.locator("table.logs").inner_text()
    for expected in ("wrong_secret", "secret_rotated", "secret_revealed", "api_grants_changed",
                     "e2e-admin@example.com"):
        assert expected in log_text
    assert rows.filter(has_text="secret_rotated").count() == 1  # the reload above rotated nothing
    assert new_secret not in page.content() and first_secret not in page.content()

    # One picture of the Credentials tab, secret masked again, for a person to look at.
    page.get_by_role("link", name="Credentials", exact=True).click()
    assert page.locator("#client-secret").count() == 0
    page.screenshot(path=str(SCREENSHOT), full_page=True)


# --- the first-use path, page by page: accessibility (axe-core) and a screenshot of each page -----

SCREENSHOTS = Path(os.environ.get("APPCREDS_SCREENSHOTS", "/tmp/appcreds-screenshots"))
SERIOUS = ("serious", "critical")
# The elements that stick out past the right edge of the page, innermost first (to explain an overflow).
WIDEST_ELEMENTS = """[...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .filter(e => ![...e.children].some(c => c.getBoundingClientRect().right > document.documentElement.clientWidth + 1))
  .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + (e.id || '') + ' ' + e.textContent.slice(0, 40))"""


@pytest.fixture(scope="module")
def axe():
    try:
        from axe_playwright_python.sync_playwright import Axe
    except ImportError:
        pytest.skip("the axe-playwright-python package is not installed (pip install -e '.[test]')")
    return Axe()


def check_page(page, axe, name):
    """Save a full-page screenshot (a test artefact, not committed) and fail on any serious or critical
    axe-core violation, naming the rule and the elements."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    results = axe.run(page)
    serious = [v for v in results.response["violations"] if v.get("impact") in SERIOUS]
    assert not serious, f"{name}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:5]}" for v in serious)


def sign_in(page):
    page.goto("/login")
    page.get_by_label("Email").fill(ADMIN["APPCREDS_ADMIN_EMAIL"])
    page.get_by_label("Password").fill(ADMIN["APPCREDS_ADMIN_PASSWORD"])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Applications", exact=True).wait_for()


def test_first_use_path_is_safe_and_accessible_on_every_page(page, server, axe):
    """Every dashboard page a new administrator meets, checked with axe-core and photographed."""
    missing = []
    page.on("response", lambda response: missing.append(response.url) if response.status == 404 else None)
    page.goto("/login")
    # The sign-in card is centred (it sat at the left of an empty page).
    card = page.locator("main > .card").bounding_box()
    assert abs(card["x"] - (1200 - card["x"] - card["width"])) < 20, card
    assert page.get_by_label("Email").get_attribute("autocomplete") == "username"
    assert page.get_by_label("Password").get_attribute("autocomplete") == "current-password"
    check_page(page, axe, "01-sign-in")
    sign_in(page)
    check_page(page, axe, "02-applications-empty")

    # Create: the defaults follow the type (static/app.js), for each type in turn.
    page.get_by_role("link", name="Create application").click()
    assert page.get_by_label("Application type").input_value() == "regular_web"
    assert page.get_by_label("Authorization code (a person signs in)").is_checked()
    page.get_by_label("Application type").select_option("spa")
    assert page.get_by_label("none", exact=True).is_checked()
    assert not page.get_by_label("Client credentials (machine to machine)").is_checked()
    page.get_by_label("Application type").select_option("non_interactive")
    assert page.get_by_label("Client credentials (machine to machine)").is_checked()
    assert not page.get_by_label("Authorization code (a person signs in)").is_checked()
    assert page.get_by_label("client_secret_basic").is_checked()
    check_page(page, axe, "03-create")
    # A public single-page application with client credentials is refused with the reason.
    page.get_by_label("Name", exact=True).fill("Browser SPA")
    page.get_by_label("Application type").select_option("spa")
    page.get_by_label("Client credentials (machine to machine)").check()
    page.get_by_label("Allowed callback URLs (one per line)").fill("https://spa.example/cb")
    page.get_by_role("button", name="Create application").click()
    page.get_by_text("cannot use the client credentials grant").wait_for()
    check_page(page, axe, "04-create-refused")
    page.get_by_label("Client credentials (machine to machine)").uncheck()
    page.get_by_role("button", name="Create application").click()
    page.get_by_role("heading", name="Client secret").wait_for()
    check_page(page, axe, "05-credentials-public")
    # A switch that issues a secret says so; a switch that deletes it asks first, then says what happened.
    page.get_by_label("client_secret_basic").check()
    page.get_by_role("button", name="Save method").click()
    page.get_by_text("A new client secret was generated for it.").wait_for()
    page.get_by_label("none", exact=True).check()
    page.get_by_role("button", name="Save method").click()
    page.get_by_text("Its client secret is deleted.").wait_for()
    check_page(page, axe, "05b-switch-confirm")
    page.get_by_role("button", name="Switch and delete the secret").click()
    page.get_by_text("Its client secret was deleted.").wait_for()
    assert page.get_by_label("none", exact=True).is_checked()

    # A machine-to-machine application, its secret revealed once.
    page.get_by_role("link", name="Applications", exact=True).first.click()
    page.get_by_role("link", name="Create application").click()
    page.get_by_label("Name", exact=True).fill("Browser M2M with a long name that wraps in the list of applications")
    page.get_by_label("Application type").select_option("non_interactive")
    page.get_by_role("button", name="Create application").click()
    client_id = page.locator("#client-id").inner_text()
    page.get_by_role("button", name="Reveal secret").click()
    page.locator("#client-secret").wait_for()
    check_page(page, axe, "06-credentials-secret-shown")
    page.get_by_role("link", name="Hide secret").click()
    assert page.locator("#client-secret").count() == 0

    # Method switches: mTLS refused while the server has no TLS edge, the selector keeps the method in force.
    page.get_by_label("tls_client_auth", exact=True).check()
    page.get_by_role("button", name="Save method").click()
    page.get_by_text("mTLS is not configured on this server").first.wait_for()
    assert page.get_by_label("client_secret_basic").is_checked()
    check_page(page, axe, "07-credentials-switch-refused")
    # A switch that keeps the secret asks nothing; one that deletes it would ask (tests/dashboard).
    page.get_by_label("client_secret_post").check()
    page.get_by_role("button", name="Save method").click()
    page.get_by_text("now authenticates with client_secret_post").wait_for()

    page.get_by_role("link", name="Rotate secret…").click()
    check_page(page, axe, "08-rotate-confirm")
    page.get_by_role("link", name="Cancel").click()

    # A section not in use is collapsed, one click away; a key added there lists its thumbprint.
    from tests.factories import make_rsa_key, public_pem

    assert not page.get_by_label("Public key or certificate (PEM)").is_visible()
    page.get_by_text("Private Key JWT keys, and the form to add one").click()
    page.get_by_label("Public key or certificate (PEM)").fill(public_pem(make_rsa_key("browser")))
    page.get_by_label("Name (optional)", exact=True).first.fill("Laptop key")
    page.get_by_role("button", name="Add key").click()
    page.get_by_text("Key “Laptop key” added.").wait_for()
    assert page.get_by_role("columnheader", name="Thumbprint (RFC 7638)").is_visible()
    page.get_by_text("Change").first.click()
    assert page.get_by_role("button", name="Rename Laptop key").is_visible()
    check_page(page, axe, "08b-credentials-with-a-key")
    page.get_by_role("link", name="Delete… Laptop key").click()
    check_page(page, axe, "08c-credential-delete-confirm")
    page.get_by_role("link", name="Cancel").click()

    # APIs: a scope without "Allow tokens for ..." is refused with what to do.
    page.get_by_role("link", name="APIs", exact=True).click()
    check_page(page, axe, "09-apis")
    page.get_by_label("read:demo: Read demo data").check()
    page.get_by_role("button", name="Save API access").click()
    page.get_by_text("You ticked scopes for Demo API").wait_for()
    check_page(page, axe, "10-apis-refused")

    page.get_by_role("link", name="Settings", exact=True).click()
    check_page(page, axe, "11-settings")
    page.get_by_role("link", name="Logs", exact=True).click()
    check_page(page, axe, "12-logs")
    page.get_by_role("link", name="Settings", exact=True).click()
    page.get_by_role("link", name="Delete application…").click()
    check_page(page, axe, "13-delete-confirm")
    page.get_by_role("link", name="Applications", exact=True).first.click()
    check_page(page, axe, "14-applications")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Endpoints").click()
    page.get_by_role("heading", name="Token-signing keys").wait_for()
    assert page.locator("#endpoint-token").inner_text() == server + "/oauth/token"
    check_page(page, axe, "15-endpoints")

    # Narrow and middling screens: the page never scrolls sideways; wide tables scroll inside their card.
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        for name, path in (("applications", "/"), ("logs", f"/applications/{client_id}/logs"),
                           ("credentials", f"/applications/{client_id}/credentials"), ("endpoints", "/endpoints")):
            page.goto(path)
            page.screenshot(path=str(SCREENSHOTS / f"width-{width}-{name}.png"), full_page=True)
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"{name} at {width} px scrolls sideways by {overflow} px: " + str(page.evaluate(
                WIDEST_ELEMENTS))
        # A client ID is one unbroken line, however narrow the screen.
        page.goto("/")
        heights = page.locator("td code.identifier").evaluate_all("codes => codes.map(c => c.getClientRects().length)")
        assert heights and set(heights) == {1}
    assert not missing, missing  # no favicon 404 (static/favicon.svg), no missing stylesheet or script



@pytest.fixture
def end_user_server(template_instance, tmp_path):
    """gunicorn with an end user and a web application granted the demo API: (url, issuer, client_id)."""
    from tests.conftest import _make_app
    from tests.oauth.flow import make_user, make_web_app
    from tests.servers import gunicorn

    instance = tmp_path / "instance"
    shutil.copytree(template_instance, instance)
    port = free_port()
    issuer = f"http://127.0.0.1:{port}/"
    app = _make_app(instance, APPCREDS_ISSUER=issuer)
    make_user(app)
    client_id, _secret = make_web_app(app, callbacks=("http://127.0.0.1:9/callback",), grant=issuer + "api/demo/",
                                      name="Photo printing")
    with app.app_context():
        from models import db

        db.engine.dispose()
    with gunicorn(instance, workers=1, port=port, env={"GUNICORN_CMD_ARGS": "--preload"}) as url:
        yield url, issuer, client_id


def test_end_user_pages_are_accessible(sync_playwright, end_user_server, axe):
    """Sign-in, consent, the account page and the error pages a person meets, checked with axe-core."""
    from urllib.parse import urlencode

    from tests.oauth.flow import USER_EMAIL, USER_PASSWORD, pkce_pair

    url, issuer, client_id = end_user_server
    _verifier, challenge = pkce_pair()
    query = {"response_type": "code", "client_id": client_id, "redirect_uri": "http://127.0.0.1:9/callback",
             "scope": "read:demo", "state": "s", "audience": issuer + "api/demo/", "code_challenge": challenge,
             "code_challenge_method": "S256"}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 800})
            page.set_default_timeout(15_000)
            page.goto(url + "/authorize?" + urlencode(query))
            page.get_by_role("heading", name="Sign in").wait_for()
            check_page(page, axe, "20-end-user-sign-in")
            page.get_by_label("Email").fill(USER_EMAIL)
            page.get_by_label("Password").fill(USER_PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.get_by_role("heading", name="Photo printing wants access to your account").wait_for()
            check_page(page, axe, "21-consent")
            page.goto(url + "/account")
            check_page(page, axe, "22-account")
            page.goto(url + "/authorize?" + urlencode({**query, "client_id": "no-such-application"}))
            check_page(page, axe, "23-authorize-error")
            page.goto(url + "/no-such-page")
            check_page(page, axe, "24-not-found")
        finally:
            browser.close()

# --- the inspector: a refused attempt's checks, without JavaScript, with no secret and no key -------
# The application and its key are made the way a user makes them (`clients create`, `keys generate`,
# `credentials add` on the command line); the token request is real HTTP from outside the server.

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def cli(server, instance, *args):
    """`flask --app app ...` on the server's instance, with its issuer (so the demo API is its own)."""
    return flask_cli(instance, *args, env={"APPCREDS_ISSUER": server + "/"})


@pytest.fixture
def browser(sync_playwright, server):  # a browser for pages with and without JavaScript
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser, server, javascript=True):
    page = browser.new_context(base_url=server, java_script_enabled=javascript,
                               viewport={"width": 1200, "height": 900}).new_page()
    page.set_default_timeout(15_000)
    return page


def test_a_refused_assertion_is_inspected_in_the_browser(browser, server, axe, tmp_path):
    instance = tmp_path / "instance"  # the `server` fixture's instance folder
    api = server + "/api/demo/"
    created = json.loads(cli(server, instance, "clients", "create", "Inspected job", "--app-type",
                             "non_interactive", "--grant", api, "--scope", "read:demo", "--json").stdout)
    client_id, secret = created["client_id"], created["client_secret"]
    cli(server, instance, "keys", "generate", "laptop-2026", "--out", str(tmp_path / "keys"))
    cli(server, instance, "credentials", "add", client_id, "--use", "private_key_jwt", "--name", "laptop-2026",
        "--pem", str(tmp_path / "keys" / "laptop-2026.pub.pem"))
    cli(server, instance, "clients", "set-method", client_id, "private_key_jwt")
    private_key = (tmp_path / "keys" / "laptop-2026.key").read_text()

    # An assertion for the wrong audience: the client is told only invalid_client.
    now = int(time.time())
    assertion = jwt.encode({"iss": client_id, "sub": client_id, "aud": "https://other.example/", "iat": now,
                            "exp": now + 60, "jti": uuid.uuid4().hex}, private_key, algorithm="RS256")
    response = requests.post(server + "/oauth/token", timeout=10, data={
        "grant_type": "client_credentials", "audience": api, "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion})
    assert response.json() == {"error": "invalid_client", "error_description": "client authentication failed"}

    # Without JavaScript: sign in, open the Logs tab, follow the refused attempt to its checks.
    page = new_page(browser, server, javascript=False)
    sign_in(page)
    page.goto(f"/applications/{client_id}/logs")
    page.get_by_role("link", name="Every check, in order").first.click()
    page.get_by_role("heading", name="Checks of the client authentication, in the order the server made them"
                     ).wait_for()
    checks = page.locator("ol.checks > li").all_inner_texts()
    assert checks[-1].startswith("✗ failed") and "aud_mismatch" in checks[-1] and "other.example" in checks[-1]
    assert all(check.startswith("✓ passed") for check in checks[:-1])
    assert any("the signature verifies" in check and "laptop-2026" in check for check in checks)
    assert not any("jti not used before" in check for check in checks)  # never reached
    page.get_by_role("heading", name="The client assertion, decoded").wait_for()
    html = page.content()
    assert assertion.split(".")[2] not in html  # never the signature
    assert "PRIVATE KEY" not in html and secret not in html

    # The tenant-wide list filters with a plain form submit, then links to the same page.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="All logs").click()
    page.get_by_label("Outcome").select_option("failure")
    page.get_by_role("button", name="Show").click()
    assert "outcome=failure" in page.url
    page.get_by_role("link", name="Every check, in order").first.click()
    assert page.locator("ol.checks > li").count() == len(checks)

    # With JavaScript, as most people see it: no serious accessibility problem on either page.
    page = new_page(browser, server)
    sign_in(page)
    page.goto("/logs")
    check_page(page, axe, "20-all-logs")
    page.get_by_role("link", name="Every check, in order").first.click()
    check_page(page, axe, "21-inspector")
