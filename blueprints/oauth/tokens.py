"""Access tokens: JWTs in the RFC 9068 profile, signed RS256 with the server's current key.

Nothing is stored per token: a verifier needs only the published JWKS. This is what keeps
the token endpoint fast (one RSA signature is most of its cost).
"""
import secrets
import time

from flask import current_app
from joserfc import jwt

from models.signing_keys import SIGNING_ALG


def issue_access_token(client, audience: str, scopes: list[str], subject: str, confirmation=None) -> dict:
    """Sign an access token and return the RFC 6749 §5.1 token response."""
    now = int(time.time())
    lifetime = int(current_app.config["APPCREDS_ACCESS_TOKEN_LIFETIME"])
    kid, key = current_app.extensions["appcreds"].signing_keys.current()
    claims = {  # RFC 9068 §2.2
        "iss": current_app.config["APPCREDS_ISSUER"],
        "sub": subject,
        "aud": audience,
        "exp": now + lifetime,
        "iat": now,
        "jti": secrets.token_urlsafe(16),
        "client_id": client.client_id,
        "scope": " ".join(scopes),
    }
    if confirmation:
        claims["cnf"] = confirmation  # RFC 8705 §3.1 certificate binding
    # RFC 9068 §2.1: the header type is "at+jwt", so an ID token cannot pass for an access token.
    header = {"alg": SIGNING_ALG, "typ": "at+jwt", "kid": kid}
    return {
        "access_token": jwt.encode(header, claims, key, algorithms=[SIGNING_ALG]),
        "token_type": "Bearer",
        "expires_in": lifetime,
        "scope": claims["scope"],
    }
