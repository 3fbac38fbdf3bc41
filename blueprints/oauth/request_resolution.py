"""Resolving an authorization request: which parameters make it, and are they acceptable -
before anyone signs in.

`resolve_authorization_request(query)` for GET /authorize, in order:
1. each parameter at most once (RFC 6749 §3.1), and client_id naming an application;
2. not both `request` and `request_uri` (RFC 9101 §5);
3. `request_uri`: only URNs our PAR endpoint issued (never fetched: no SSRF), for this client,
   unused and unexpired, claimed at once (RFC 9126 §4) - the pushed parameters are the request;
4. `request`: a valid request object (request_objects.py) - its parameters are the request;
5. the application's policy: pushed requests required (RFC 9126 §6), signed requests required
   (RFC 9101 §10.5).
Then `validate_parameters` runs Authlib's AuthorizationCodeGrant on the parameters: exact
redirect_uri match, response_type, audience and scopes, PKCE (pkce.py). The PAR endpoint runs it
too, on what it is pushed (RFC 9126 §2.1).

`validate_parameters` also bounds each parameter's length (APPCREDS_MAX_PARAMETER_LENGTH), and
`check_room_for` caps the unfinished transactions and pushed requests an application may hold,
so unauthenticated requests cannot fill the database.

Errors raised before the client and its redirect URI are verified carry no redirect_uri, so
/authorize shows them on a page instead of redirecting anywhere (RFC 6749 §4.1.2.1).
"""
from dataclasses import dataclass, field

from authlib.oauth2.rfc6749 import InvalidClientError, InvalidRequestError, OAuth2Request
from authlib.oauth2.rfc6749.errors import OAuth2Error
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from flask import current_app
from flask import request as http_request

from blueprints.oauth import inspection
from blueprints.oauth.client_auth import query_client
from blueprints.oauth.errors import LoggedOAuth2Error, TooManyRequestsError, printable
from blueprints.oauth.request_objects import AUTHORIZATION_PARAMETERS, RequestObjectError, check_request_object
from blueprints.oauth.server import authorization
from models import PendingAuthorization, PushedRequest, db
from models.authorization import claim_pushed_request, count_live, find_by_reference
from models.state import app_state

REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"  # RFC 9126 §2.2
MAX_NOTE_VALUE = 80
MAX_NOTES = 10  # notes on ignored parameters kept with a stored request


class InvalidRequestUriError(LoggedOAuth2Error):
    """RFC 9101 §7: the request_uri is not one we can use."""

    error = "invalid_request_uri"


@dataclass
class ResolvedRequest:
    client: object
    parameters: dict
    via: str                       # "query", "request object" or "pushed request"
    notes: list = field(default_factory=list)  # for the consent page's details
    signed: bool = False           # a request object, or pushed as one


class AuthorizationRequest(OAuth2Request):
    """An OAuth2Request whose parameters are the resolved ones, not the HTTP request's."""

    def __init__(self, parameters: dict):
        super().__init__(http_request.method, http_request.url, headers=http_request.headers)
        self.payload = BasicOAuth2Payload(dict(parameters))

    @property
    def args(self):
        return self.payload.data

    @property
    def form(self):
        return self.payload.data


def resolve_authorization_request(query) -> ResolvedRequest:
    """The request /authorize must act on; raises OAuth2Error (with redirect_uri only when safe)."""
    # RFC 6749 §3.1: "Request and response parameters MUST NOT be included more than once."
    for name in query:
        if len(query.getlist(name)) > 1:
            raise InvalidRequestError(f"parameter {printable(name[:40])} is included more than once")
    client_id = query.get("client_id")
    if not client_id:
        raise InvalidRequestError("client_id is required")
    client = query_client(client_id)
    if client is None:
        # RFC 6749 §4.1.2.1: an invalid client id is shown to the user, never redirected.
        raise InvalidClientError(description="no application has this client_id")
    try:
        resolved = _resolve(client, query)
    except OAuth2Error as error:
        # A failed request object or request_uri leaves its redirect URI unknown: only one
        # named and registered outside is safe (never the object's, never a guess).
        unverifiable = isinstance(error, RequestObjectError | InvalidRequestUriError)
        if unverifiable:
            record_request_failure(client, "authorize", error, inspection.failed_document(error))
        error.redirect_uri = verified_redirect_uri(client, query, allow_default=not unverifiable)
        error.state = query.get("state")
        raise
    return resolved


def _resolve(client, query) -> ResolvedRequest:
    # RFC 9101 §5: request and request_uri MUST NOT both be present.
    if "request" in query and "request_uri" in query:
        raise RequestObjectError("request_and_request_uri", "send request or request_uri, not both")
    if "request_uri" in query:
        resolved = resolve_pushed_request(client, query)
    elif "request" in query:
        parameters = check_request_object(client, query["request"], query["client_id"])
        record_request_object_checked(client, "authorize")
        resolved = ResolvedRequest(client, parameters, "request object",
                                   ignored_outside(query, parameters, ("client_id", "request")), signed=True)
    else:
        resolved = ResolvedRequest(client, _known_parameters(query), "query")
    # RFC 9126 §6 (Auth0 require_pushed_authorization_requests): only pushed requests.
    if client.require_pushed_authorization_requests and resolved.via != "pushed request":
        raise InvalidRequestError("this application must push its authorization requests to /oauth/par "
                                  "first (RFC 9126) and send the request_uri it gets")
    # RFC 9101 §10.5 (Auth0 signed_request_object.required): only signed requests.
    if client.require_signed_request_object and not resolved.signed:
        raise InvalidRequestError("this application requires signed authorization requests: send a request "
                                  "object in the request parameter (JAR, RFC 9101)")
    return resolved


def resolve_pushed_request(client, query) -> ResolvedRequest:
    request_uri = query["request_uri"]
    # Never dereferenced: only references our own PAR endpoint issued (no SSRF, RFC 9101 §10.4.1).
    if not request_uri.startswith(REQUEST_URI_PREFIX):
        raise InvalidRequestUriError("foreign_request_uri",
                                     "only request_uri values issued by this server's PAR endpoint are accepted")
    pushed = find_by_reference(PushedRequest, request_uri.removeprefix(REQUEST_URI_PREFIX))
    # RFC 9126 §4: one-time, bound to its client, before it expires; the UPDATE's row count decides.
    if pushed is None or not claim_pushed_request(pushed, client.id):
        db.session.rollback()
        raise InvalidRequestUriError("unusable_request_uri",
                                     "the request_uri is unknown, expired, already used or not this client's")
    db.session.commit()
    notes = list(pushed.notes) + ignored_outside(query, pushed.parameters, ("client_id", "request_uri"), pushed=True)
    return ResolvedRequest(client, dict(pushed.parameters), "pushed request", notes, signed=pushed.signed)


def validate_parameters(client, parameters: dict, end_user=None):
    """Authlib's checks for response_type=code; returns the grant (its redirect_uri set)."""
    parameters = {**parameters, "client_id": parameters.get("client_id") or client.client_id}
    check_parameter_lengths(parameters)
    check_reportable(client, parameters)
    request = AuthorizationRequest(parameters)
    return authorization.get_consent_grant(request=request, end_user=end_user)


def check_parameter_lengths(parameters: dict) -> None:
    """Each value at most APPCREDS_MAX_PARAMETER_LENGTH characters: stored requests stay small."""
    limit = int(current_app.config["APPCREDS_MAX_PARAMETER_LENGTH"])
    for name, value in parameters.items():
        if isinstance(value, str) and len(value) > limit:
            raise InvalidRequestError(f"{printable(name[:40])} exceeds {limit} characters")


# Which limit applies to which stored row, and how the refusal is logged.
CAPS = {
    PendingAuthorization: ("APPCREDS_MAX_PENDING_PER_CLIENT", "authorize", "too many unfinished sign-in requests"),
    PushedRequest: ("APPCREDS_MAX_PUSHED_PER_CLIENT", "par", "too many unused pushed requests"),
}


def check_room_for(model, client) -> None:
    """Refuse (429, recorded) when the application already holds its cap of live `model` rows."""
    setting, endpoint, description = CAPS[model]
    if count_live(model, client.id) < int(current_app.config[setting]):
        return
    error = TooManyRequestsError("too_many_pending", f"{description} for this application; try again later",
                                 retry_after=60)
    record_request_failure(client, endpoint, error)
    raise error


def check_reportable(client, parameters: dict) -> None:
    """Authlib quotes response_type and an unregistered redirect_uri in error_description, which
    RFC 6749 §5.2 limits to printable ASCII without quote or backslash; refuse other values first."""
    for name in ("response_type", "redirect_uri"):
        value = parameters.get(name)
        if value is None or printable(value) == value:
            continue
        if name == "redirect_uri" and client.check_redirect_uri(value):
            continue
        raise InvalidRequestError(f"{name} contains characters that are not allowed")


def verified_redirect_uri(client, query, allow_default=True) -> str | None:
    """Where errors may go: the query's redirect_uri if registered, else the only registered one."""
    redirect_uri = query.get("redirect_uri")
    if redirect_uri:
        return redirect_uri if client.check_redirect_uri(redirect_uri) else None
    return client.get_default_redirect_uri() if allow_default else None


def record_request_failure(client, endpoint: str, error: OAuth2Error, checks: dict | None = None) -> None:
    """Put a refused request object or request_uri on the application's Logs tab (`checks`: the inspector's)."""
    app_state().events.record(
        event_type="authorization_request", client_id_sent=client.client_id, client_pk=client.id,
        endpoint=endpoint, method=None, outcome="failure",
        reason_code=getattr(error, "reason_code", None) or error.error, reason=error.description or error.error,
        source_ip=http_request.remote_addr, inspection=checks)


def record_request_object_checked(client, endpoint: str) -> None:
    """Put a request object that passed every check on the Logs tab, with the inspector's record of them."""
    app_state().events.record(
        event_type="authorization_request", client_id_sent=client.client_id, client_pk=client.id,
        endpoint=endpoint, method=None, outcome="success", reason_code="request_object_verified",
        reason="the signed request object passed every check", source_ip=http_request.remote_addr,
        inspection=inspection.document())


def _known_parameters(source) -> dict:
    return {name: source[name] for name in AUTHORIZATION_PARAMETERS if name in source}


def ignored_outside(query, parameters: dict, allowed: tuple, pushed=False) -> list:
    """Notes on outside parameters that were ignored because they conflict (RFC 9101 §6.3, RFC 9126 §4)."""
    where = "the pushed request" if pushed else "the signed request object"
    notes = []
    for name in query:
        if name in allowed or (name in parameters and parameters[name] == query[name]):
            continue
        shown = query[name] if len(query[name]) <= MAX_NOTE_VALUE else query[name][:MAX_NOTE_VALUE] + "..."
        notes.append(f"{name}={shown} in the URL was ignored: only {where} counts.")
    return notes[:MAX_NOTES]

