"""The demo API: a resource server that accepts AppCreds access tokens.

It validates a token the way any API should (RFC 9068 §4, RFC 6750, RFC 8705 §3.2), with
blueprints/resource_server.py: signature with the published keys, `typ` at+jwt, issuer,
audience, expiry, revocation, and - for a certificate-bound token - the same client certificate
on this request (read from the trusted edge, blueprints/oauth/edge.py).
"""
from blueprints.demo_api.views import bp

__all__ = ["bp"]
