"""RFC 8414 authorization server metadata: exactly what this server supports, nothing more."""
from flask import current_app, url_for

from models.credential import KEY_ALGORITHMS
from models.signing_keys import SIGNING_ALG


def server_metadata(server) -> dict:
    issuer = current_app.config["APPCREDS_ISSUER"]
    base = issuer.rstrip("/")
    auth_methods = server.supported_token_endpoint_auth_methods()
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
    return metadata
