"""The demo API: a resource server that accepts AppCreds access tokens.

It validates a token the way any API should (RFC 9068 §4, RFC 6750, RFC 8705 §3.2):
signature with the published keys, `typ` at+jwt, issuer, audience, expiry, and - for a
certificate-bound token - the same client certificate on this request.
"""
from flask import Blueprint

bp = Blueprint("demo_api", __name__, url_prefix="/api/demo")

from blueprints.demo_api import views  # noqa: E402,F401
