"""GET /api/demo/whoami: the validated claims of the caller's access token."""
import hmac
import time

from flask import current_app, jsonify, request
from joserfc import jwt
from joserfc.errors import JoseError

from blueprints.demo_api import bp
from blueprints.oauth.client_auth.mtls import binding_thumbprint
from models.signing_keys import SIGNING_ALG
from models.state import app_state
from models.tokens import is_access_token_revoked


class InvalidToken(Exception):
    """RFC 6750 §3.1 invalid_token, with a description for the WWW-Authenticate header."""


def validate_access_token(token: str, audience: str) -> dict:
    """Return the claims of a valid access token for `audience`, or raise InvalidToken."""
    keys = app_state().signing_keys.public_key_set()
    try:
        decoded = jwt.decode(token, keys, algorithms=[SIGNING_ALG])
    except (JoseError, ValueError):
        raise InvalidToken("the token is malformed or its signature does not verify") from None
    header, claims = decoded.header, decoded.claims
    # RFC 9068 §4: reject anything but an access token (typ at+jwt), from our issuer, for this API.
    if header.get("typ", "").lower() not in ("at+jwt", "application/at+jwt"):
        raise InvalidToken("the token is not an access token (typ must be at+jwt)")
    if claims.get("iss") != current_app.config["APPCREDS_ISSUER"]:
        raise InvalidToken("the token was issued by another issuer")
    token_audience = claims.get("aud")
    audiences = token_audience if isinstance(token_audience, list) else [token_audience]
    if audience not in audiences:
        raise InvalidToken("the token is for another API")
    if not isinstance(claims.get("exp"), int) or claims["exp"] <= time.time():
        raise InvalidToken("the token has expired")
    # RFC 7009: a revoked token is refused at once (its jti is kept until exp; one indexed lookup).
    if is_access_token_revoked(claims.get("jti")):
        raise InvalidToken("the token has been revoked")
    check_certificate_binding(claims)
    return claims


def check_certificate_binding(claims: dict) -> None:
    """RFC 8705 §3.2: a bound token is accepted only with the certificate it is bound to."""
    bound_to = (claims.get("cnf") or {}).get("x5t#S256")
    if bound_to is None:
        return
    presented = binding_thumbprint()
    if presented is None:
        raise InvalidToken("the token is bound to a client certificate; present it over mTLS")
    if not hmac.compare_digest(presented, bound_to):
        raise InvalidToken("the token is bound to another client certificate")


def bearer_error(status: int, error: str | None, description: str):
    """RFC 6750 §3: the challenge names the error; a request with no token gets no error code."""
    challenge = 'Bearer realm="appcreds-demo"'
    if error:
        challenge += f', error="{error}", error_description="{description}"'
    response = jsonify({"error": error or "invalid_request", "error_description": description})
    response.status_code = status
    response.headers["WWW-Authenticate"] = challenge
    return response


@bp.get("/whoami")
def whoami():
    """Who the token says the caller is: its claims, once validated."""
    authorization = request.headers.get("Authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return bearer_error(401, None, "send an access token: Authorization: Bearer <token>")
    audience = current_app.config["APPCREDS_ISSUER"] + "api/demo/"
    try:
        claims = validate_access_token(token.strip(), audience)
    except InvalidToken as problem:
        return bearer_error(401, "invalid_token", str(problem))
    return jsonify(claims)
