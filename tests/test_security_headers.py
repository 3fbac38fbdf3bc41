"""Security headers (blueprints/security_headers.py): CSP, framing, caching, sniffing, HSTS."""
import pytest

from tests.conftest import _make_app
from tests.factories import TOKEN_URL, make_app
from tests.oauth.flow import authorize_params, consent_page, make_user, make_web_app

STRICT_PARTS = ("default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'",
                "form-action 'self'", "base-uri 'none'")


def assert_html_page_is_protected(response):
    policy = response.headers["Content-Security-Policy"]
    for part in STRICT_PARTS:
        assert part in policy
    assert "unsafe-inline" not in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/login", "/account/login", "/no-such-page"])
def test_every_html_page_gets_a_strict_policy_and_cannot_be_framed(client, path):
    assert_html_page_is_protected(client.get(path))


def test_dashboard_pages_cannot_be_framed_or_cached(client, app, dashboard):
    """Issue 10 item 2: a framed confirmation page could rotate a secret with one click."""
    client_id, _ = make_app(app)
    for path in ("/", f"/applications/{client_id}/credentials", f"/applications/{client_id}/settings"):
        response = client.get(path, follow_redirects=True)
        assert response.status_code == 200, path
        assert_html_page_is_protected(response)


def test_json_endpoints_are_not_cached_or_sniffed(client, app):
    client_id, _ = make_app(app)
    for response in (client.get("/.well-known/oauth-authorization-server"),
                     client.post(TOKEN_URL, data={"grant_type": "client_credentials"}, auth=(client_id, "wrong"))):
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "Content-Security-Policy" not in response.headers


def test_hsts_only_when_the_issuer_is_https(client, instance_path):
    assert "Strict-Transport-Security" not in client.get("/login").headers
    https_app = _make_app(instance_path, APPCREDS_ISSUER="https://auth.example/")
    response = https_app.test_client().get("/login", base_url="https://auth.example")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_templates_hold_no_inline_script_or_style():
    """The CSP forbids inline code, so none may exist: every page would break in a browser."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "templates"
    inline = re.compile(r"<style|<script(?![^>]*\bsrc=)|\sstyle=|\son[a-z]+=", re.IGNORECASE)
    offenders = [str(path) for path in root.rglob("*.html") if inline.search(path.read_text())]
    assert offenders == []


def test_the_consent_form_may_end_at_the_applications_callback(client, app):
    """Browsers apply form-action to the redirect after the consent POST: the callback's origin is allowed."""
    make_user(app)
    client_id, _ = make_web_app(app)
    response = consent_page(client, authorize_params(client_id))
    assert response.status_code == 200
    assert_html_page_is_protected(response)
    assert response.headers["Content-Security-Policy"].endswith("form-action 'self' https://app.example")
