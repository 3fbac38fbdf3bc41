"""RFC 8414 authorization server metadata: exactly what this server supports, nothing more."""
from flask import current_app, url_for

from blueprints.oauth.introspection import IntrospectionEndpoint
from blueprints.oauth.pkce import CODE_CHALLENGE_METHODS
from blueprints.oauth.revocation import RevocationEndpoint
from models.auth_methods import KEY_ALGORITHMS, MTLS_METHODS, PRIVATE_KEY_JWT
from models.state import app_state


def server_metadata(server) -> dict:
    issuer = current_app.config["APPCREDS_ISSUER"]
    base = issuer.rstrip("/")
    auth_methods = server.supported_token_endpoint_auth_methods()
    mtls_enabled = bool(current_app.config["APPCREDS_EDGE_SECRET"])
    if not mtls_enabled:  # without an edge secret no certificate is ever believed
        auth_methods = [m for m in auth_methods if m not in MTLS_METHODS]
    metadata = {
        "issuer": issuer,
        "authorization_endpoint": base + url_for("authorize.authorize"),
        "token_endpoint": base + url_for("oauth.token"),
        "jwks_uri": base + url_for("oauth.jwks"),
        "grant_types_supported": server.supported_grant_types(),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": list(CODE_CHALLENGE_METHODS),  # RFC 7636 §6.2: S256 only, never plain
        "authorization_response_iss_parameter_supported": True,  # RFC 9207
        "token_endpoint_auth_methods_supported": auth_methods,
        # Not an RFC 8414 name (none is registered for access tokens): the algorithms of the published
        # keys, current first, so the access tokens a resource server may meet now (RFC 9068 §4).
        "access_token_signing_alg_values_supported": app_state().signing_keys.published_algorithms(),
        # RFC 7009 and RFC 7662, with the methods the front door accepts there.
        "revocation_endpoint": base + url_for("oauth.revoke"),
        "revocation_endpoint_auth_methods_supported": _offered(RevocationEndpoint.CLIENT_AUTH_METHODS, auth_methods),
        "introspection_endpoint": base + url_for("oauth.introspect"),
        "introspection_endpoint_auth_methods_supported": _offered(IntrospectionEndpoint.CLIENT_AUTH_METHODS,
                                                                  auth_methods),
        # RFC 9126 §5: PAR, optional unless an application requires it.
        "pushed_authorization_request_endpoint": base + url_for("oauth.par"),
        "require_pushed_authorization_requests": False,
        # RFC 9101 §10.1 (and OpenID Discovery): request objects, signed with a registered JAR key.
        "request_parameter_supported": True,
        "request_object_signing_alg_values_supported": list(KEY_ALGORITHMS),
        "require_signed_request_object": False,
        # A request_uri is accepted only as issued by the PAR endpoint above; one hosted by the
        # client is never fetched, so the OpenID Discovery sense of this flag (default true) is false.
        "request_uri_parameter_supported": False,
    }
    if PRIVATE_KEY_JWT in auth_methods:
        metadata["token_endpoint_auth_signing_alg_values_supported"] = list(KEY_ALGORITHMS)
    if mtls_enabled:
        # RFC 8705 §3.3 and §5: tokens are bound to the certificate whenever one comes over the edge.
        metadata["tls_client_certificate_bound_access_tokens"] = True
        mtls_base = current_app.config["APPCREDS_MTLS_BASE_URL"].rstrip("/")
        if mtls_base:
            # RFC 8705 §5: the endpoints where clients authenticate, on the host that asks for certificates.
            metadata["mtls_endpoint_aliases"] = {
                "token_endpoint": mtls_base + url_for("oauth.token"),
                "revocation_endpoint": mtls_base + url_for("oauth.revoke"),
                "introspection_endpoint": mtls_base + url_for("oauth.introspect"),
                "pushed_authorization_request_endpoint": mtls_base + url_for("oauth.par"),
            }
    return metadata


def _offered(endpoint_methods, token_methods) -> list[str]:
    """An endpoint's methods that are also really usable at the token endpoint (registered, mTLS on)."""
    return [m for m in endpoint_methods if m in token_methods]
