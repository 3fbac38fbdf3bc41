"""Who may call the Management API: a bearer access token for `<issuer>api/v2/` with Auth0's scopes.

`require_scope("read:clients")` guards a view. The token is checked like any resource server
checks one (blueprints/resource_server.py); then the scope the view needs must be among the
token's (RFC 6750 §3.1 insufficient_scope, Auth0's 403). The calling application is kept on `g`
for the event log: every change records it as the actor.
"""
from functools import wraps

from flask import current_app, g

from blueprints.management_api.errors import ManagementApiError
from blueprints.resource_server import InvalidToken, bearer_challenge, bearer_token, validate_access_token

REALM = "appcreds-management-api"


def management_audience() -> str:
    return current_app.config["APPCREDS_ISSUER"] + "api/v2/"


def require_scope(*scopes: str):
    """Decorate a view: 401 without a valid token, 403 without every one of `scopes`."""

    def decorate(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            check_scope(*scopes)
            return view(*args, **kwargs)

        guarded.required_scopes = scopes  # openapi.py documents them
        return guarded

    return decorate


def check_scope(*scopes: str) -> None:
    """401 without a valid token; 403 (RFC 6750 §3.1 insufficient_scope) unless it has every one of `scopes`."""
    granted = set(str(authenticated_caller().get("scope") or "").split())
    missing = [scope for scope in scopes if scope not in granted]
    if missing:
        raise ManagementApiError(
            403, f"Insufficient scope, expected any of: {missing[0]}", "insufficient_scope",
            {"WWW-Authenticate": bearer_challenge(REALM, "insufficient_scope", f"requires {missing[0]}")})


def authenticated_caller() -> dict:
    """The claims of the request's valid access token for this API; 401 otherwise."""
    if "management_caller" in g:
        return g.management_caller
    token = bearer_token()
    if token is None:
        raise ManagementApiError(401, "Missing authentication: send Authorization: Bearer <access token>",
                                 "missing_authentication", {"WWW-Authenticate": bearer_challenge(REALM)})
    try:
        claims = validate_access_token(token, management_audience())
    except InvalidToken as problem:
        raise ManagementApiError(401, f"Invalid token: {problem}", "invalid_token",
                                 {"WWW-Authenticate": bearer_challenge(REALM, "invalid_token", str(problem))}) from None
    g.management_caller = claims
    return claims


def caller_has_scope(scope: str) -> bool:
    return scope in str(authenticated_caller().get("scope") or "").split()


def caller_name() -> str:
    """The actor recorded for a change: the calling application's client id."""
    return f"application {authenticated_caller().get('client_id')}"
