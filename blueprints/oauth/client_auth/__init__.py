"""Client authentication: the one front door for every endpoint that authenticates clients.

RFC 6749 §2.3 lets a client authenticate in several ways, but it "MUST NOT use more than one
authentication method in each request". AppCreds also gives each application exactly one
method (RFC 7591 §2 `token_endpoint_auth_method`). The steps, in order:

1. find the mechanisms the request presents (MECHANISMS): an HTTP Basic header,
   `client_secret` in the body, a `client_assertion` - or, only when none of those came, a
   client certificate from the trusted edge (edge.py), or a bare `client_id` (a public client);
2. refuse two at once (RFC 6749 §2.3); then, after the rate limit below, a mechanism without a
   client id, credentials in the query string (§2.3.1), and a body client_id that names another
   client than the credential does (RFC 7521 §4.2 for assertions);
3. load the application the request names, once: unknown -> invalid_client;
4. refuse a mechanism that is not the application's method, or not allowed at this endpoint;
5. run that method's check (CHECKS: client_secret.py, private_key_jwt.py, mtls.py, none.py),
   which starts from the loaded application and verifies only its own credential;
6. record the attempt, good or bad, with its reason (models/auth_event.py) and, for the
   inspector, every check made on the way (inspection.py: each step below says `passed(...)`).

Failures are rate-limited (blueprints/rate_limits.py FailureLimits): a client id or source
with too many recent failures is refused with 429 right after it is found (step 2), before any check;
each failure is counted after it is recorded. Successes are never counted.

Step 5 goes through Authlib: each check is registered with `register_client_auth_method`.
Authlib calls a hook as hook(query_client, request), so the registered hook is a small adapter
(`authlib_hook`): the front door puts the application it loaded on the OAuth2Request as
`claimed_client`, and the adapter hands it to the check. No method file loads an application.
"""
from collections.abc import Callable
from dataclasses import dataclass

from authlib.oauth2.rfc6749 import InvalidClientError
from flask import g
from flask import request as http_request

from blueprints.oauth import inspection
from blueprints.oauth.client_auth import client_secret, mtls, none, private_key_jwt
from blueprints.oauth.errors import ClientAuthFailure, ClientRequestError, TooManyRequestsError
from blueprints.oauth.inspection import passed
from blueprints.rate_limits import failure_limits
from models.auth_methods import (
    CLIENT_SECRET_BASIC,
    CLIENT_SECRET_POST,
    MTLS_METHODS,
    NONE,
    PRIVATE_KEY_JWT,
    SELF_SIGNED_TLS_CLIENT_AUTH,
    TLS_CLIENT_AUTH,
)
from models.client_snapshots import ClientSnapshot
from models.state import app_state

# Parameters that carry a credential; RFC 6749 §2.3.1 forbids them in the request URI.
CREDENTIAL_PARAMETERS = ("client_secret", "client_assertion", "client_assertion_type")


@dataclass(frozen=True)
class Mechanism:
    """A way a request can present client credentials."""

    name: str
    # The registered methods (RFC 7591 names) this mechanism can satisfy.
    methods: tuple[str, ...]
    # Returns the client id the request names with this mechanism, or None when the
    # mechanism is absent. Raises ClientAuthFailure / ClientRequestError when it is malformed.
    find_client_id: Callable
    # Explicit credentials count towards "more than one"; the others (a certificate, a bare
    # client_id) are only a fallback when no explicit credential came.
    explicit: bool = True


# The mechanisms, in the order they are looked for; fixed in code, so one tuple serves every app.
MECHANISMS = (
    Mechanism(CLIENT_SECRET_BASIC, (CLIENT_SECRET_BASIC,), client_secret.find_basic_client_id),
    Mechanism(CLIENT_SECRET_POST, (CLIENT_SECRET_POST,), client_secret.find_post_client_id),
    Mechanism(PRIVATE_KEY_JWT, (PRIVATE_KEY_JWT,), private_key_jwt.find_client_id),
    # The fallbacks, in this order: a certificate is considered before a bare client_id.
    Mechanism("mtls", MTLS_METHODS, mtls.find_certificate_client_id, explicit=False),
    Mechanism(NONE, (NONE,), none.find_bare_client_id, explicit=False),
)

# Each method's check: check(client, request) returns the client or raises ClientAuthFailure.
CHECKS = {
    CLIENT_SECRET_BASIC: client_secret.authenticate_client_secret_basic,
    CLIENT_SECRET_POST: client_secret.authenticate_client_secret_post,
    PRIVATE_KEY_JWT: private_key_jwt.authenticate_private_key_jwt,
    TLS_CLIENT_AUTH: mtls.authenticate_tls_client_auth,
    SELF_SIGNED_TLS_CLIENT_AUTH: mtls.authenticate_self_signed_tls_client_auth,
    NONE: none.authenticate_none,
}


def query_client(client_id: str) -> ClientSnapshot | None:
    """The application with this client id: a read-only snapshot (models/client_snapshots.py),
    checked once per HTTP request: on SQLite by PRAGMA data_version, else by its version."""
    found = g.setdefault("appcreds_clients", {})
    if client_id not in found:
        found[client_id] = app_state().client_snapshots.find(client_id)
    return found[client_id]


def authenticate(request, methods, endpoint: str, run_registered_hook: Callable) -> ClientSnapshot:
    """Authenticate the client of an OAuth2Request, allowing only `methods` at `endpoint`.

    `run_registered_hook(method)` runs the hook registered with Authlib for that one method
    (see `authlib_hook`).
    """
    attempt = {"endpoint": endpoint, "method": None, "client_id_sent": None, "client": None,
               "grant_type": request.form.get("grant_type") if endpoint == "token" else None}
    request.client_auth_attempt = attempt  # the token request's own record names the same client and method
    inspection.begin("client authentication")
    try:
        client = _authenticate(request, methods, endpoint, run_registered_hook, attempt)
    except (ClientAuthFailure, ClientRequestError, TooManyRequestsError) as error:
        if isinstance(error, ClientAuthFailure):
            # RFC 6749 §5.2: a client that tried the Authorization header gets WWW-Authenticate,
            # whatever it sent there: an empty Basic value or another scheme is still an attempt.
            error.authorization_header_used = "Authorization" in request.headers
        inspection.failed(error)
        record_attempt(attempt, "failure", error.reason_code, error.reason, inspection.document())
        if isinstance(error, ClientAuthFailure):
            failure_limits.count_failure(attempt.get("client_id_sent"))
        raise
    kept = inspection.document() if inspection.keep_success(client.id) else None
    record_attempt(attempt, "success", "authenticated", f"authenticated with {attempt['method']}", kept)
    return client


def _authenticate(request, methods, endpoint, run_registered_hook, attempt) -> ClientSnapshot:
    presented = _presented_mechanisms(request, attempt)
    if not presented:
        failure_limits.check(None)
        raise ClientAuthFailure("no_client_authentication", "the request carries no client credentials",
                                description="client authentication is required")
    mechanism, client_id = presented
    attempt["method"] = mechanism.name
    attempt["client_id_sent"] = client_id
    passed("one client authentication mechanism (RFC 6749 §2.3)", saw=mechanism.name)
    failure_limits.check(client_id)  # too many recent failures: 429 before any check runs
    passed("not rate-limited after recent failures", saw=client_id)
    if not client_id:
        raise ClientRequestError("missing_client_id", f"client_id is required with {mechanism.name}")

    # RFC 6749 §2.3.1: client credentials belong in the body, never in the request URI.
    in_query = [name for name in CREDENTIAL_PARAMETERS if name in request.args]
    if in_query:
        raise ClientRequestError("credentials_in_query",
                                 f"{in_query[0]} must be sent in the request body, not the query string")
    passed("no credentials in the query string (RFC 6749 §2.3.1)")

    # A client_id in the body must name the same client as the credential (RFC 7521 §4.2 for assertions).
    body_client_id = request.form.get("client_id")
    if body_client_id is not None and body_client_id != client_id:
        raise ClientAuthFailure(
            "client_id_mismatch",
            f"body client_id {body_client_id[:64]!r} differs from the credential's {client_id[:64]!r}")
    if body_client_id is not None:
        passed("body client_id names the same client", saw=body_client_id)

    client = query_client(client_id)
    if client is None:
        raise ClientAuthFailure("unknown_client", "no application has this client id (unknown or deleted)")
    attempt["client"] = client
    passed("an application has this client id", saw=client.name)

    method = client.token_endpoint_auth_method
    if method not in mechanism.methods:
        raise ClientAuthFailure("method_not_registered",
                                f"the application authenticates with {method}, the request used {mechanism.name}")
    passed("the request uses the application's method", expected=method, saw=mechanism.name)
    if method not in methods:
        raise ClientAuthFailure("method_not_allowed_here", f"{method} is not accepted at the {endpoint} endpoint")
    passed(f"{method} is accepted at the {endpoint} endpoint")
    attempt["method"] = method

    request.claimed_client = client  # what `authlib_hook` hands the method's check
    try:
        # Authlib's registry runs exactly one hook: the one registered for this method.
        return run_registered_hook(method)
    except ClientAuthFailure:
        raise
    except InvalidClientError as error:  # a hook returned None: it found nothing to verify
        raise ClientAuthFailure("not_verified", error.description or "credential not verified") from error


def _presented_mechanisms(request, attempt):
    """Return (mechanism, client_id) for the one mechanism presented, or None."""
    explicit = []
    for mechanism in MECHANISMS:
        if not mechanism.explicit:
            continue
        try:
            client_id = mechanism.find_client_id(request)
        except ClientAuthFailure:
            attempt["method"] = mechanism.name
            raise
        if client_id is not None:
            explicit.append((mechanism, client_id))
    if len(explicit) > 1:
        attempt["method"] = "+".join(m.name for m, _ in explicit)
        attempt["client_id_sent"] = explicit[0][1]
        # RFC 6749 §2.3: "The client MUST NOT use more than one authentication method in each request."
        raise ClientRequestError("multiple_mechanisms",
                                 "client authentication must use exactly one mechanism, the request used "
                                 + " and ".join(m.name for m, _ in explicit))
    if explicit:
        return explicit[0]
    # Only when no explicit credential came: the first fallback the request presents.
    for mechanism in MECHANISMS:
        if not mechanism.explicit:
            client_id = mechanism.find_client_id(request)
            if client_id is not None:
                return mechanism, client_id
    return None


def record_attempt(attempt: dict, outcome: str, reason_code: str, reason: str, checks: dict | None = None) -> None:
    client = attempt.get("client")
    sent = attempt.get("client_id_sent")
    grant_type = attempt.get("grant_type")
    app_state().events.record(
        event_type="client_authentication",
        client_id_sent=sent[:128] if sent else None,
        client_pk=client.id if client is not None else None,
        endpoint=attempt.get("endpoint"),
        method=attempt.get("method"),
        grant_type=grant_type[:40] if grant_type else None,  # the Management API's log types use it
        outcome=outcome,
        reason_code=reason_code,
        reason=reason,
        source_ip=http_request.remote_addr,
        inspection=checks,
    )


def named_client() -> tuple[str | None, ClientSnapshot | None]:
    """The client id a request names (body or Basic header) and its application, without authenticating."""
    client_id = None
    try:
        client_id = http_request.form.get("client_id") or http_request.authorization.username
    except Exception:  # noqa: BLE001,S110 - a body we cannot even parse names no client
        pass
    return client_id, (query_client(client_id) if client_id else None)


def record_rejected_request(endpoint: str, reason_code: str, reason: str) -> None:
    """Record a request refused before client authentication could run (e.g. no grant_type)."""
    client_id, client = named_client()
    attempt = {"endpoint": endpoint, "method": None, "client_id_sent": client_id, "client": client}
    record_attempt(attempt, "failure", reason_code, reason)


def register_methods(server) -> None:
    """Register every method's check with Authlib, each through `authlib_hook`."""
    for method, check in CHECKS.items():
        server.register_client_auth_method(method, authlib_hook(check))


def authlib_hook(check: Callable) -> Callable:
    """The hook Authlib calls for one method: it gives `check` the application the front door
    loaded (step 3) instead of looking it up again with Authlib's `query_client`."""
    def hook(_query_client, request):
        return check(request.claimed_client, request)

    return hook
