"""Security headers on every response, set in one after_request hook.

HTML pages: a strict Content-Security-Policy (scripts and styles only from our own files, no
inline code; no framing; forms post only to us), X-Frame-Options for older browsers, a Referer
for our own pages only, and `Cache-Control: no-store`, since dashboard pages show secrets and
credentials and the end-user pages are about a sign-in. JSON: `no-store` unless the view chose
otherwise. Everything: `nosniff`, and Strict-Transport-Security when the issuer is https.

Browsers apply `form-action` to the redirects that follow a form's POST too, so the end-user
pages whose forms end at an application's redirect URI add its origin (`allow_form_redirect_to`).
"""
import re
from urllib.parse import urlsplit

from flask import Flask, current_app, g, request

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'{extra}"
)
HSTS = "max-age=31536000"  # one year; includeSubDomains is the operator's choice, at the edge
# A source expression we can write into the policy unquoted: no spaces, quotes, commas or semicolons.
_SAFE_SOURCE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:(//[A-Za-z0-9.\-\[\]:]+)?$")


def init_security_headers(app: Flask) -> None:
    app.after_request(add_security_headers)


def allow_form_redirect_to(uri: str | None) -> None:
    """Let this page's forms end (after our redirects) at `uri`'s origin: an application's redirect URI."""
    if not uri:
        return
    parts = urlsplit(uri)
    source = f"{parts.scheme}://{parts.netloc}" if parts.netloc else f"{parts.scheme}:"
    if parts.scheme and _SAFE_SOURCE.match(source):
        g.setdefault("appcreds_form_sources", set()).add(source)


def add_security_headers(response):
    """The after_request hook: see the module docstring."""
    headers = response.headers
    headers["X-Content-Type-Options"] = "nosniff"
    if current_app.config["APPCREDS_ISSUER"].startswith("https://"):
        headers.setdefault("Strict-Transport-Security", HSTS)
    if request.endpoint == "static":
        return response
    if response.mimetype == "text/html":
        extra = "".join(" " + source for source in sorted(g.get("appcreds_form_sources", ())))
        headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.format(extra=extra)
        headers["X-Frame-Options"] = "DENY"
        # Not no-referrer: over https Flask-WTF's CSRF check requires a same-origin Referer.
        headers["Referrer-Policy"] = "same-origin"
        headers["Cache-Control"] = "no-store"
    elif response.is_json or response.mimetype == "application/jwt":
        headers.setdefault("Cache-Control", "no-store")
    return response
