"""Who may call the Management API: a bearer access token for `<issuer>api/v2/` with Auth0's scopes.

`require_scope("read:clients")` guards a view. The token is checked like any resource server
checks one (blueprints/resource_server.py); then the scope the view needs must be among the
token's (RFC 6750 §3.1 insufficient_scope, Auth0's 403). The calling application is kept on `g`
for the event log: every change records it as the actor.

Each use of a token is recorded (event TOKEN_USE, door management_api) with the inspector's list of
the checks made (blueprints/oauth/inspection.py): every refusal, and a success at most once per
application per APPCREDS_INSPECT_SUCCESSES_EVERY seconds.
"""
from functools import wraps

from flask import current_app, g
from flask import request as http_request

from blueprints.management_api.errors import ManagementApiError
from blueprints.oauth import inspection
from blueprints.oauth.inspection import passed
from blueprints.oauth.jws import json_object
from blueprints.resource_server import InvalidToken, bearer_challenge, bearer_token, validate_access_token
from models.auth_event import MANAGEMENT_API, TOKEN_USE
from models.state import app_state

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
    claims = authenticated_caller()
    granted = set(str(claims.get("scope") or "").split())
    missing = [scope for scope in scopes if scope not in granted]
    if missing:
        inspection.failed(InvalidToken("insufficient_scope", f"the token does not grant {missing[0]}"))
        record_token_use(claims.get("client_id"), "failure", "insufficient_scope",
                         f"the token does not grant {missing[0]}")
        raise ManagementApiError(
            403, f"Insufficient scope, expected any of: {missing[0]}", "insufficient_scope",
            {"WWW-Authenticate": bearer_challenge(REALM, "insufficient_scope", f"requires {missing[0]}")})
    passed("the token grants the scopes this operation needs (RFC 6750 §3.1)", expected=" ".join(scopes),
           saw=claims.get("scope"))
    record_token_use(claims.get("client_id"), "success", "token_accepted",
                     f"the token was accepted for {http_request.method} {http_request.path[:80]}")


def authenticated_caller() -> dict:
    """The claims of the request's valid access token for this API; 401 otherwise."""
    if "management_caller" in g:
        return g.management_caller
    inspection.begin("access token")
    token = bearer_token()
    if token is None:
        inspection.failed(InvalidToken("missing_authentication", "no Authorization: Bearer header"))
        record_token_use(None, "failure", "missing_authentication", "the request carries no bearer token")
        raise ManagementApiError(401, "Missing authentication: send Authorization: Bearer <access token>",
                                 "missing_authentication", {"WWW-Authenticate": bearer_challenge(REALM)})
    try:
        claims = validate_access_token(token, management_audience())
    except InvalidToken as problem:
        inspection.failed(problem)
        record_token_use(unverified_client_id(token), "failure", problem.reason_code, problem.reason)
        raise ManagementApiError(401, f"Invalid token: {problem}", "invalid_token",
                                 {"WWW-Authenticate": bearer_challenge(REALM, "invalid_token", str(problem))}) from None
    g.management_caller = claims
    return claims


def record_token_use(client_id: str | None, outcome: str, reason_code: str, reason: str) -> None:
    """Record one use of a token at the Management API: a refusal always, a success now and then,
    each with the inspector's checks. A refused token's client id is what it claims, unverified."""
    client = app_state().client_snapshots.find(client_id) if isinstance(client_id, str) and client_id else None
    if outcome == "success" and not inspection.keep_success(("token use", client.id if client else None)):
        return
    app_state().events.record(
        event_type=TOKEN_USE, client_id_sent=client_id[:128] if isinstance(client_id, str) else None,
        client_pk=client.id if client is not None else None, endpoint=MANAGEMENT_API, outcome=outcome,
        reason_code=reason_code, reason=reason, source_ip=http_request.remote_addr, inspection=inspection.document())


def unverified_client_id(token: str) -> str | None:
    """The client_id a token claims, read without verifying it: only to file a refusal under its application."""
    parts = token.split(".")
    claims = json_object(parts[1]) if len(parts) == 3 else None
    client_id = claims.get("client_id") if claims else None
    return client_id if isinstance(client_id, str) else None


def caller_has_scope(scope: str) -> bool:
    return scope in str(authenticated_caller().get("scope") or "").split()


def caller_name() -> str:
    """The actor recorded for a change: the calling application's client id."""
    return f"application {authenticated_caller().get('client_id')}"
