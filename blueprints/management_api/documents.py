"""The Management API's view of AppCreds' rows, in Auth0's shapes (schemas.py documents each)."""
from blueprints.credential_documents import iso
from models import AuthEvent, Client, ClientGrant
from models.auth_event import (
    CODE_ISSUED,
    CONSENT_DENIED,
    CONSENT_GIVEN,
    CONSENT_WITHDRAWN,
    DOORS,
    TOKEN_REQUEST,
    USER_LOGIN,
)
from models.auth_methods import CREDENTIAL_METHODS, JAR
from models.client_secrets import reveal_client_secret

AUTHORIZATION_REQUEST = "authorization_request"  # the event type of JAR/PAR checks at /authorize


def references(client: Client, use: str) -> list[dict]:
    return [{"id": credential.id} for credential in client.credentials if credential.usage == use]


def client_document(client: Client, with_secret: bool = False) -> dict:
    method = client.token_endpoint_auth_method
    credential_method = method in CREDENTIAL_METHODS
    document = {
        "client_id": client.client_id,
        "name": client.name,
        "description": client.description,
        "app_type": client.app_type,
        "callbacks": list(client.callback_urls),
        "grant_types": list(client.grant_types),
        # Auth0: token_endpoint_auth_method and client_authentication_methods exclude each other.
        "token_endpoint_auth_method": None if credential_method else method,
        "client_authentication_methods": (
            {method: {"credentials": references(client, method)}} if credential_method else None),
        "signed_request_object": {"required": bool(client.require_signed_request_object),
                                  "credentials": references(client, JAR)},
        "require_pushed_authorization_requests": bool(client.require_pushed_authorization_requests),
        "par_request_expiry": client.par_request_expiry,
        "require_proof_of_possession": bool(client.require_proof_of_possession),
        "require_pkce": bool(client.require_pkce),  # AppCreds' own (schemas.py REQUIRE_PKCE_DESCRIPTION)
        # Auth0's ID-token algorithm (schemas.JwtConfiguration), not APPCREDS_ACCESS_TOKEN_ALG's: no ID tokens here.
        "jwt_configuration": {"alg": "RS256"},
    }
    if with_secret and client.has_secret:
        document["client_secret"] = reveal_client_secret(client)
    return document


GRANT_ID_PREFIX = "cgr_"


def grant_document(grant: ClientGrant) -> dict:
    return {"id": f"{GRANT_ID_PREFIX}{grant.id}", "client_id": grant.client.client_id, "audience": grant.audience,
            "scope": list(grant.scopes)}


def grant_pk(grant_id: str) -> int | None:
    """The row id behind a `cgr_<n>` id, or None for anything else."""
    digits = grant_id.removeprefix(GRANT_ID_PREFIX)
    if not grant_id.startswith(GRANT_ID_PREFIX) or not digits.isascii() or not digits.isdigit() or len(digits) > 18:
        return None
    return int(digits)


# Auth0's log type codes where one fits; AppCreds' own (documented in the OpenAPI) where none does.
# A token request leaves two records: its client authentication (sce/fce) and the request as a
# whole (token_request), which carries Auth0's exchange code: seccft when a token was issued,
# feccft when it was refused for any reason, client authentication included.
GRANT_LOG_TYPES = {"client_credentials": "ccft", "authorization_code": "acft", "refresh_token": "rtft"}
ENDPOINT_LOG_TYPES = {"revocation": "rrt", "introspection": "intr", "par": "par"}
# An end user's steps: the outcome's letter (s/f) followed by this suffix.
FLOW_LOG_TYPES = {USER_LOGIN: "", CONSENT_GIVEN: "gc", CONSENT_DENIED: "dc", CONSENT_WITHDRAWN: "wc",
                  CODE_ISSUED: "aci"}
LOG_TYPES = {
    "seccft": "Success Exchange: client credentials for an access token",
    "feccft": "Failed Exchange: client credentials for an access token (the reason code is the OAuth error)",
    "seacft": "Success Exchange: authorization code for an access token",
    "feacft": "Failed Exchange: authorization code for an access token (the reason code is the OAuth error)",
    "sertft": "Success Exchange: refresh token for an access token",
    "fertft": "Failed Exchange: refresh token for an access token (the reason code is the OAuth error)",
    "fetr": "Failed Exchange: a token request with a missing or unsupported grant type (AppCreds)",
    "sce": "Success client authentication at the token endpoint, or where no endpoint was recorded (AppCreds; "
           "the token request's own record carries seccft and the like)",
    "fce": "Failed client authentication at the token endpoint, or where no endpoint was recorded (AppCreds; "
           "the token request's own record carries feccft and the like)",
    "srrt": "Success Revocation", "frrt": "Failed Revocation (client authentication)",
    "sintr": "Success client authentication for introspection (AppCreds)",
    "fintr": "Failed client authentication for introspection (AppCreds)",
    "spar": "Success client authentication for a pushed authorization request (AppCreds)",
    "fpar": "Failed client authentication for a pushed authorization request (AppCreds)",
    "sar": "Success: a signed or pushed authorization request passed its checks (AppCreds)",
    "far": "Failed: a signed or pushed authorization request was refused (AppCreds)",
    "s": "Success Login: an end user signed in",
    "f": "Failed Login: an end user's email or password was wrong, or the account may not sign in here",
    "sgc": "Success: an end user gave consent to the application (AppCreds)",
    "fdc": "Failed: an end user denied the application consent (AppCreds)",
    "swc": "Success: an end user withdrew consent; the application's tokens for them were revoked (AppCreds)",
    "saci": "Success: an authorization code was issued to the application (AppCreds)",
    "sapi": "Success API Operation: a change through the dashboard, the command line or the Management API, "
            "or a Management API token accepted (AppCreds keeps one such per application per minute)",
    "fapi": "Failed API Operation: a Management API call refused, its token included (its reason says why)",
}


def log_type(event: AuthEvent) -> str:
    outcome = "s" if event.outcome == "success" else "f"
    if event.endpoint in DOORS:
        return f"{outcome}api"
    if event.event_type == AUTHORIZATION_REQUEST:
        return f"{outcome}ar"
    if event.event_type in FLOW_LOG_TYPES:
        return outcome + FLOW_LOG_TYPES[event.event_type]
    if event.event_type == TOKEN_REQUEST:
        return f"{outcome}e{GRANT_LOG_TYPES.get(event.grant_type or '', 'tr')}"
    suffix = ENDPOINT_LOG_TYPES.get(event.endpoint or "")
    return f"{outcome}{suffix}" if suffix else f"{outcome}ce"


def log_document(event: AuthEvent, client_name: str | None) -> dict:
    return {
        "log_id": str(event.id), "date": iso(event.created_at), "type": log_type(event),
        "description": event.reason, "client_id": event.client_id_sent, "client_name": client_name,
        "ip": event.source_ip,
        "details": {"event": event.event_type, "reason_code": event.reason_code, "endpoint": event.endpoint,
                    "method": event.method, "grant_type": event.grant_type, "outcome": event.outcome,
                    "actor": event.actor},
    }
