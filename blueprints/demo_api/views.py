"""GET /api/demo/whoami: the validated claims of the caller's access token.

The token is checked as any resource server checks it (blueprints/resource_server.py), for
this API's audience: <issuer>api/demo/.
"""
from flask import Blueprint, current_app, jsonify

from blueprints.resource_server import InvalidToken, bearer_challenge, bearer_token, validate_access_token

bp = Blueprint("demo_api", __name__, url_prefix="/api/demo")
REALM = "appcreds-demo"


def bearer_error(status: int, error: str | None, description: str):
    """RFC 6750 §3: the challenge names the error; a request with no token gets no error code."""
    response = jsonify({"error": error or "invalid_request", "error_description": description})
    response.status_code = status
    response.headers["WWW-Authenticate"] = bearer_challenge(REALM, error, description)
    return response


@bp.get("/whoami")
def whoami():
    """Who the token says the caller is: its claims, once validated."""
    token = bearer_token()
    if token is None:
        return bearer_error(401, None, "send an access token: Authorization: Bearer <token>")
    audience = current_app.config["APPCREDS_ISSUER"] + "api/demo/"
    try:
        claims = validate_access_token(token, audience)
    except InvalidToken as problem:
        return bearer_error(401, "invalid_token", str(problem))
    return jsonify(claims)
