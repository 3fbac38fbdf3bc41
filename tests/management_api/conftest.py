"""A Management API caller: an application granted <issuer>api/v2/, and its real access token."""
import base64

import pytest

from models.apis import MANAGEMENT_SCOPES
from tests.factories import ISSUER, TOKEN_URL, make_app

MANAGEMENT_API = ISSUER + "api/v2/"


def token_for(client, client_id, secret, scopes=None) -> str:
    """An access token from the token endpoint itself (client_secret_basic)."""
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    data = {"grant_type": "client_credentials", "audience": MANAGEMENT_API}
    if scopes is not None:
        data["scope"] = " ".join(scopes)
    response = client.post(TOKEN_URL, data=data, headers={"Authorization": f"Basic {basic}"})
    assert response.status_code == 200, response.json
    return response.json["access_token"]


class Api:
    """Flask's test client, with the bearer token and the /api/v2 prefix."""

    def __init__(self, client, token):
        self.client, self.token = client, token

    def call(self, method, path, token=None, **kwargs):
        headers = {"Authorization": f"Bearer {token or self.token}", **kwargs.pop("headers", {})}
        return self.client.open("/api/v2" + path, method=method, headers=headers, **kwargs)

    def get(self, path, **kwargs):
        return self.call("GET", path, **kwargs)

    def post(self, path, json=None, **kwargs):
        return self.call("POST", path, json=json, **kwargs)

    def patch(self, path, json=None, **kwargs):
        return self.call("PATCH", path, json=json, **kwargs)

    def delete(self, path, **kwargs):
        return self.call("DELETE", path, **kwargs)


@pytest.fixture
def caller(app, client):
    """(client_id, secret) of an application granted every Management API scope."""
    return make_app(app, grant=MANAGEMENT_API, scopes=tuple(MANAGEMENT_SCOPES), name="Deploy pipeline")


@pytest.fixture
def api(client, caller) -> Api:
    return Api(client, token_for(client, *caller))


def assert_error(response, status, *fragments, error_code=None):
    """Auth0's shape: statusCode, error, message (naming what is wrong), errorCode."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.json
    assert body["statusCode"] == status and isinstance(body["error"], str), body
    for fragment in fragments:
        assert fragment in body["message"], (fragment, body["message"])
    if error_code:
        assert body["errorCode"] == error_code, body
    return body
