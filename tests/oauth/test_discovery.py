"""RFC 8414 metadata for issue 5: each endpoint and capability listed only as far as it is real."""
import pytest

from tests.factories import ISSUER

PATHS = ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration")


@pytest.mark.parametrize("path", PATHS)
def test_metadata_lists_the_authorization_code_flow_endpoints(client, path):
    metadata = client.get(path).json
    assert metadata["authorization_endpoint"] == ISSUER + "authorize"
    assert metadata["pushed_authorization_request_endpoint"] == ISSUER + "oauth/par"
    assert metadata["revocation_endpoint"] == ISSUER + "oauth/revoke"
    assert metadata["introspection_endpoint"] == ISSUER + "oauth/introspect"
    assert metadata["grant_types_supported"] == ["client_credentials", "authorization_code", "refresh_token"]
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["response_modes_supported"] == ["query"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]  # never plain
    assert metadata["authorization_response_iss_parameter_supported"] is True


def test_metadata_describes_jar_and_par(client):
    metadata = client.get(PATHS[0]).json
    assert metadata["request_parameter_supported"] is True
    assert metadata["request_object_signing_alg_values_supported"] == ["RS256", "RS384", "PS256"]
    assert metadata["require_signed_request_object"] is False
    assert metadata["require_pushed_authorization_requests"] is False
    # request_uri works only with URNs from our own PAR endpoint: nothing is ever fetched.
    assert metadata["request_uri_parameter_supported"] is False


def test_metadata_lists_the_methods_each_endpoint_accepts(client):
    metadata = client.get(PATHS[0]).json
    # mTLS is off without an edge secret, so its methods are listed nowhere.
    assert metadata["revocation_endpoint_auth_methods_supported"] == [
        "client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
    assert metadata["introspection_endpoint_auth_methods_supported"] == [
        "client_secret_basic", "client_secret_post", "private_key_jwt"]
    assert "none" in metadata["token_endpoint_auth_methods_supported"]


def test_metadata_lists_mtls_methods_when_the_edge_is_configured(instance_path):
    from tests.conftest import _make_app

    app = _make_app(instance_path, APPCREDS_EDGE_SECRET="edge")
    metadata = app.test_client().get(PATHS[0]).json
    assert "tls_client_auth" in metadata["revocation_endpoint_auth_methods_supported"]
    assert "self_signed_tls_client_auth" in metadata["introspection_endpoint_auth_methods_supported"]
