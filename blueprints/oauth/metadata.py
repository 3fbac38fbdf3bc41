"""RFC 8414 authorization server metadata: exactly what this server supports, nothing more."""
from flask import current_app, url_for

from models.client import MTLS_METHODS
from models.credential import KEY_ALGORITHMS
from models.signing_keys import SIGNING_ALG


def server_metadata(server) -> dict:
    issuer = current_app.config["APPCREDS_ISSUER"]
    base = issuer.rstrip("/")
    auth_methods = server.supported_token_endpoint_auth_methods()
    mtls_enabled = bool(current_app.config["APPCREDS_EDGE_SECRET"])
    if not mtls_enabled:  # without an edge secret no certificate is ever believed
        auth_methods = [m for m in auth_methods if m not in MTLS_METHODS]
    metadata = {
        "issuer": issuer,
        "token_endpoint": base + url_for("oauth.token"),
        "jwks_uri": base + url_for("oauth.jwks"),
        "grant_types_supported": server.supported_grant_types(),
        # RFC 8414 §2 makes this REQUIRED; no authorization endpoint exists yet, so no response type.
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": auth_methods,
        "access_token_signing_alg_values_supported": [SIGNING_ALG],
    }
    if "private_key_jwt" in auth_methods:
        metadata["token_endpoint_auth_signing_alg_values_supported"] = list(KEY_ALGORITHMS)
    if mtls_enabled:
        # RFC 8705 §3.3 and §5: tokens are bound to the certificate whenever one comes over the edge.
        metadata["tls_client_certificate_bound_access_tokens"] = True
        mtls_base = current_app.config["APPCREDS_MTLS_BASE_URL"].rstrip("/")
        if mtls_base:
            metadata["mtls_endpoint_aliases"] = {"token_endpoint": mtls_base + url_for("oauth.token")}
    return metadata
