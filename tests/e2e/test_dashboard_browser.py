"""The dashboard in a real headless Chromium against a real gunicorn, over a real socket.

Signs in, creates an application, reveals and rotates its secret, grants the demo API, gets a
token with the new secret from /oauth/token, and finds the attempts on the Logs tab.

Chromium is Debian's package (/usr/bin/chromium, `apt-get install chromium`), driven through
the Playwright Python package; Playwright's own browser downloads are never used.
"""
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.servers import ROOT, VENV_BIN, flask_cli, free_port

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
    env = {**os.environ, "APPCREDS_INSTANCE_PATH": str(instance), "APPCREDS_ISSUER": base_url + "/"}
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

    # Reveal: a POST; the secret is shown on that response only.
    page.get_by_role("button", name="Reveal secret").click()
    first_secret = page.locator("#client-secret").inner_text()
    assert len(first_secret) >= 43  # at least 256 bits, URL-safe base64
    assert first_secret not in requests.get(server + "/login", timeout=5).text

    # Rotate, after the confirmation page; the new secret is shown once.
    page.get_by_role("link", name="Rotate secret…").click()
    page.get_by_text("The old secret stops working immediately.").wait_for()
    page.get_by_role("button", name="Rotate secret").click()
    new_secret = page.locator("#client-secret").inner_text()
    assert new_secret and new_secret != first_secret

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
    first_row = rows.first.inner_text()
    assert "client_authentication" in first_row and "authenticated" in first_row and "success" in first_row
    log_text = page.locator("table.logs").inner_text()
    for expected in ("wrong_secret", "secret_rotated", "secret_revealed", "api_grants_changed",
                     "e2e-admin@example.com"):
        assert expected in log_text
    assert new_secret not in page.content() and first_secret not in page.content()

    # One picture of the Credentials tab, secret masked again, for a person to look at.
    page.get_by_role("link", name="Credentials", exact=True).click()
    assert page.locator("#client-secret").count() == 0
    page.screenshot(path=str(SCREENSHOT), full_page=True)
