"""How AppCreds' own APIs (the demo API, the Management API) check a bearer access token.

The checks any resource server makes of an RFC 9068 JWT access token, in order:
1. RFC 6750 §2.1: `Authorization: Bearer <token>`, nothing else;
2. the signature, with the published key the header's kid names, and only with the algorithm that key
   is published with (RFC 8725 §3.1; any of APPCREDS_ACCESS_TOKEN_ALG's: RS256, PS256, ES256, EdDSA);
3. RFC 9068 §4: `typ` is at+jwt, `iss` is this issuer, `aud` names this API, `exp` is in the future;
4. RFC 7009: the token was not revoked;
5. RFC 8705 §3.2: a certificate-bound token (`cnf.x5t#S256`) comes with that certificate through
   the trusted edge (blueprints/oauth/edge.py).
Each check that passes says so with `passed(...)` for the inspector (blueprints/oauth/inspection.py);
the Management API records its token checks (blueprints/management_api/access.py).
"""
import hmac
import time

from flask import current_app, request

from blueprints.oauth.edge import binding_thumbprint
from blueprints.oauth.inspection import passed
from blueprints.oauth.tokens import verify_access_token_signature
from models.tokens import is_access_token_revoked


class InvalidToken(Exception):
    """RFC 6750 §3.1 invalid_token: a description for the WWW-Authenticate header, a reason code for the log."""

    def __init__(self, reason_code: str, description: str):
        super().__init__(description)
        self.reason_code = reason_code
        self.reason = description


def bearer_token() -> str | None:
    """RFC 6750 §2.1: the token of `Authorization: Bearer <token>`, or None when there is none."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def validate_access_token(token: str, audience: str) -> dict:
    """Return the claims of a valid access token for `audience`, or raise InvalidToken."""
    decoded = verify_access_token_signature(token)
    if decoded is None:
        raise InvalidToken("bad_signature", "the token is malformed or its signature does not verify")
    header, claims = decoded.header, decoded.claims
    passed("a published key, named by the kid, verifies the signature with its own alg (RFC 8725 §3.1)",
           saw=f"kid {header.get('kid')}, {header.get('alg')}")
    # RFC 9068 §4: reject anything but an access token (typ at+jwt), from our issuer, for this API.
    if str(header.get("typ", "")).lower() not in ("at+jwt", "application/at+jwt"):
        raise InvalidToken("not_an_access_token", "the token is not an access token (typ must be at+jwt)")
    passed("typ is at+jwt (RFC 9068 §2.1)", saw=header.get("typ"))
    if claims.get("iss") != current_app.config["APPCREDS_ISSUER"]:
        raise InvalidToken("wrong_issuer", "the token was issued by another issuer")
    passed("iss is this issuer (RFC 9068 §4)", saw=claims.get("iss"))
    token_audience = claims.get("aud")
    audiences = token_audience if isinstance(token_audience, list) else [token_audience]
    if audience not in audiences:
        raise InvalidToken("wrong_audience", "the token is for another API")
    passed("aud names this API (RFC 9068 §4)", expected=audience, saw=token_audience)
    if not isinstance(claims.get("exp"), int) or claims["exp"] <= time.time():
        raise InvalidToken("expired", "the token has expired")
    passed("exp has not passed (RFC 9068 §4)", saw=f"expires in {claims['exp'] - time.time():.0f} s")
    # RFC 7009: a revoked token is refused at once (its jti is kept until exp; one indexed lookup).
    if is_access_token_revoked(claims.get("jti")):
        raise InvalidToken("revoked", "the token has been revoked")
    passed("not revoked (RFC 7009)", saw=claims.get("jti"))
    check_certificate_binding(claims)
    return claims


def check_certificate_binding(claims: dict) -> None:
    """RFC 8705 §3.2: a bound token is accepted only with the certificate it is bound to."""
    bound_to = (claims.get("cnf") or {}).get("x5t#S256")
    if bound_to is None:
        return
    presented = binding_thumbprint()
    if presented is None:
        raise InvalidToken("certificate_missing", "the token is bound to a client certificate; present it over mTLS")
    if not hmac.compare_digest(presented, bound_to):
        raise InvalidToken("certificate_mismatch", "the token is bound to another client certificate")
    passed("the certificate presented is the one the token is bound to (RFC 8705 §3.2)", saw=presented)


def bearer_challenge(realm: str, error: str | None = None, description: str | None = None) -> str:
    """RFC 6750 §3: the WWW-Authenticate value; a request with no token gets no error code."""
    challenge = f'Bearer realm="{realm}"'
    if error:
        challenge += f', error="{error}", error_description="{description}"'
    return challenge
